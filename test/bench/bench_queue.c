/*-------------------------------------------------------------------------
 *
 * bench_queue.c
 *	  Benchmark of the task queue (libpq client; prints figures, asserts
 *	  nothing):
 *	  1. latency from backtest_submit's commit to the task's first
 *		 "running" NOTIFY at a LISTENing client, p50/p99 over N submissions
 *		 made one at a time, each on an idle server (after the previous task
 *		 finished);
 *	  2. M tiny tasks submitted at once: drain time and the most tasks seen
 *		 running at the same time (sampled with backtest_running_tasks());
 *	  3. the launcher's RSS after the first 10 tasks and after all of them;
 *		 the dispatcher's (it does the per-task work of the queue, and lives
 *		 while its database has work) once 10 of the M tasks are done and at
 *		 the last sample before they drained; the largest task worker's
 *		 (a worker runs up to pg_backtest.tasks_per_worker tasks);
 *	  4. with BIG_TABLE given: one task over its bars (3M in make bench-queue),
 *		 the time it spends saving its results (from its "saving results"
 *		 event to its final one) against the time it spent computing
 *		 (start to "saving results"), from the events' elapsed_s (the
 *		 row's elapsed, on the real clock).  Target: save <= 0.5 x compute.
 *
 * Usage: bench_queue TABLE SYMBOL N M [BIG_TABLE]   (libpq environment)
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/bench/bench_queue.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "libpq-fe.h"

/* Monotonic time in milliseconds */
static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Run a query returning one value; exits on error */
static char *
one_value(PGconn *c, const char *sql)
{
	PGresult   *r = PQexec(c, sql);
	char	   *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
	{
		fprintf(stderr, "query failed: %s: %s", sql, PQerrorMessage(c));
		exit(1);
	}
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/*
 * The private memory (RssAnon, kB; VmRSS also counts shared buffers it
 * touched) of the process of backend_type `type` (the newest one), or -1
 * (reads /proc; the benchmark runs on the server host)
 */
static long
process_rss(PGconn *c, const char *type)
{
	char		q[256];
	char	   *pid;
	char		path[64],
				line[256];
	long		kb = -1;
	FILE	   *f;

	snprintf(q, sizeof q, "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = '%s'",
			 type);
	pid = one_value(c, q);
	snprintf(path, sizeof path, "/proc/%s/status", pid);
	free(pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "RssAnon:", 8) == 0)
			kb = atol(line + 8);
	fclose(f);
	return kb;
}

/* Tasks pending or running now */
static long
active_tasks(PGconn *c)
{
	char	   *v = one_value(c, "SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')");
	long		k = atol(v);

	free(v);
	return k;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* Wait (up to 10 s) for a NOTIFY whose payload has task id and "running" */
static double
wait_running(PGconn *listen, const char *id)
{
	char		want[64];
	double		deadline = now_ms() + 10000;

	snprintf(want, sizeof want, "{\"task_id\": %s, \"status\": \"running\"", id);
	while (now_ms() < deadline)
	{
		PGnotify   *n;
		fd_set		fds;
		struct timeval tv = {0, 100000};
		int			sock = PQsocket(listen);

		PQconsumeInput(listen);
		while ((n = PQnotifies(listen)) != NULL)
		{
			int			hit = strncmp(n->extra, want, strlen(want)) == 0;

			PQfreemem(n);
			if (hit)
				return now_ms();
		}
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		select(sock + 1, &fds, NULL, NULL, &tv);
	}
	return -1;
}

/* The number after "key": in a JSON payload, or -1 */
static double
json_num(const char *payload, const char *key)
{
	char		k[64];
	const char *p;

	snprintf(k, sizeof k, "\"%s\": ", key);
	p = strstr(payload, k);
	return p ? strtod(p + strlen(k), NULL) : -1;
}

/*
 * 4. One task over BIG_TABLE: seconds computing (to the "saving results"
 * event) and saving (from it to the final event).
 */
static void
bench_save(PGconn *submit, PGconn *listen, const char *big)
{
	char		sql[512];
	char		want[64];
	char	   *id;
	double		at_save = -1,
				at_end = -1,
				deadline = now_ms() + 600000;
	char	   *bars;

	snprintf(sql, sizeof sql, "SELECT backtest_submit('%s', NULL, 'sma_cross')", big);
	id = one_value(submit, sql);
	snprintf(want, sizeof want, "{\"task_id\": %s,", id);
	while (at_end < 0 && now_ms() < deadline)
	{
		PGnotify   *n;
		fd_set		fds;
		struct timeval tv = {0, 100000};
		int			sock = PQsocket(listen);

		PQconsumeInput(listen);
		while ((n = PQnotifies(listen)) != NULL)
		{
			if (strncmp(n->extra, want, strlen(want)) == 0)
			{
				if (strstr(n->extra, "\"current_step\": \"saving results\""))
					at_save = json_num(n->extra, "elapsed_s");
				else if (strstr(n->extra, "\"status\": \"completed\"") ||
						 strstr(n->extra, "\"status\": \"failed\""))
					at_end = json_num(n->extra, "elapsed_s");
			}
			PQfreemem(n);
		}
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		select(sock + 1, &fds, NULL, NULL, &tv);
	}
	snprintf(sql, sizeof sql,
			 "SELECT status || ' ' || coalesce((SELECT bars FROM backtest.results WHERE task_id = %s)::text, '?') "
			 "|| ' ' || extract(epoch FROM elapsed)::numeric(10, 3) FROM backtest.tasks WHERE id = %s", id, id);
	bars = one_value(submit, sql);
	if (at_save < 0 || at_end < 0)
	{
		printf("save benchmark: no saving/final event for task %s (%s)\n", id, bars);
		return;
	}
	printf("one task over %s (status, bars, row elapsed s: %s): compute %.3f s, save %.3f s, "
		   "save / compute = %.2f (target <= 0.50)\n",
		   big, bars, at_save, at_end - at_save, (at_end - at_save) / at_save);
	printf("SAVE_S=%.3f\nCOMPUTE_S=%.3f\nSAVE_OVER_COMPUTE=%.3f\n",
		   at_end - at_save, at_save, (at_end - at_save) / at_save);
	free(bars);
	free(id);
}

int
main(int argc, char **argv)
{
	PGconn	   *submit,
			   *listen,
			   *poll;
	const char *table,
			   *symbol;
	int			n,
				m;
	double	   *lat;
	char		sql[512];
	long		rss10 = -1,
				rss_all,
				disp10 = -1,
				disp_last = -1,
				worker_max = -1;
	double		last_sample = 0;
	int			max_running = 0;
	double		t0,
				drain;
	char	   *first_id;

	if (argc != 5 && argc != 6)
	{
		fprintf(stderr, "usage: %s TABLE SYMBOL N M [BIG_TABLE]\n", argv[0]);
		return 2;
	}
	table = argv[1];
	symbol = argv[2];
	n = atoi(argv[3]);
	m = atoi(argv[4]);
	submit = PQconnectdb("");
	listen = PQconnectdb("");
	poll = PQconnectdb("");
	if (PQstatus(submit) != CONNECTION_OK || PQstatus(listen) != CONNECTION_OK ||
		PQstatus(poll) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(submit));
		return 1;
	}
	PQclear(PQexec(listen, "LISTEN backtest_progress"));

	/* 1. latency, one submission at a time */
	lat = malloc(sizeof(double) * n);
	snprintf(sql, sizeof sql, "SELECT backtest_submit('%s', '%s', 'sma_cross')", table, symbol);
	for (int i = 0; i < n; i++)
	{
		char	   *id;
		double		t_commit,
					t_run;

		id = one_value(submit, sql);	/* autocommit: returns after the commit */
		t_commit = now_ms();
		t_run = wait_running(listen, id);
		lat[i] = t_run < 0 ? 1e9 : t_run - t_commit;
		/* an idle server for the next one: wait until this task is done */
		while (active_tasks(poll) > 0)
			;
		if (i == 9)
		{
			/* let the 10th finish, then read the launcher's RSS */
			while (active_tasks(poll) > 0)
				;
			rss10 = process_rss(poll, "pg_backtest launcher");
		}
		free(id);
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("submit commit -> first \"running\" NOTIFY, %d submissions: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		   n, lat[n / 2], lat[(int) (n * 0.99) < n ? (int) (n * 0.99) : n - 1], lat[n - 1]);
	printf("LATENCY_P50_MS=%.3f\nLATENCY_P99_MS=%.3f\n", lat[n / 2],
		   lat[(int) (n * 0.99) < n ? (int) (n * 0.99) : n - 1]);

	/* wait for the latency tasks to finish */
	while (active_tasks(poll) > 0)
		;

	/* 2. M tasks at once: drain time and the most running at a time */
	snprintf(sql, sizeof sql,
			 "SELECT min(backtest_submit('%s', '%s', 'sma_cross')) FROM generate_series(1, %d)",
			 table, symbol, m);
	t0 = now_ms();
	first_id = one_value(submit, sql);
	for (;;)
	{
		char	   *v = one_value(poll, "SELECT backtest_running_tasks()::text || ' ' || "
								  "(SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running'))");
		int			running = 0;
		long		left = 0;

		sscanf(v, "%d %ld", &running, &left);
		free(v);
		if (running > max_running)
			max_running = running;
		if (left == 0)
			break;
		if (now_ms() - last_sample >= 100 || (disp10 < 0 && m - left >= 10))
		{
			long		d = process_rss(poll, "pg_backtest dispatcher");
			long		w = process_rss(poll, "pg_backtest task");

			if (disp10 < 0 && m - left >= 10)
				disp10 = d;
			if (d > 0)
				disp_last = d;
			if (w > worker_max)
				worker_max = w;
			last_sample = now_ms();
		}
		/* sample, don't spin: the poll must not take a core from the queue */
		{
			struct timespec ms1 = {0, 1000000};

			nanosleep(&ms1, NULL);
		}
	}
	drain = now_ms() - t0;
	rss_all = process_rss(poll, "pg_backtest launcher");
	snprintf(sql, sizeof sql,
			 "SELECT count(*) FILTER (WHERE status = 'completed') || '/' || count(*) "
			 "FROM backtest.tasks WHERE id >= %s", first_id);
	printf("%d tasks submitted at once: drained in %.0f ms (%.1f tasks/s), completed %s, "
		   "most running at once %d (pg_backtest.max_concurrent = %s)\n",
		   m, drain, m / (drain / 1000.0), one_value(poll, sql), max_running,
		   one_value(poll, "SHOW pg_backtest.max_concurrent"));
	printf("launcher RssAnon: %ld kB after 10 tasks, %ld kB after %d (growth %ld kB)\n",
		   rss10, rss_all, n + m, rss_all - rss10);
	printf("dispatcher RssAnon: %ld kB after 10 of the %d tasks, %ld kB at the last sample "
		   "(growth %ld kB); largest task worker seen: %ld kB (pg_backtest.tasks_per_worker = %s)\n",
		   disp10, m, disp_last, disp_last - disp10, worker_max,
		   one_value(poll, "SELECT coalesce(current_setting('pg_backtest.tasks_per_worker', true), 'n/a')"));
	printf("DRAIN_MS=%.0f\nTASKS_PER_S=%.1f\nMAX_RUNNING=%d\nLAUNCHER_RSS_10_KB=%ld\nLAUNCHER_RSS_ALL_KB=%ld\n"
		   "DISPATCHER_RSS_10_KB=%ld\nDISPATCHER_RSS_LAST_KB=%ld\nWORKER_RSS_MAX_KB=%ld\n",
		   drain, m / (drain / 1000.0), max_running, rss10, rss_all, disp10, disp_last, worker_max);
	if (argc == 6)
		bench_save(submit, listen, argv[5]);
	PQfinish(submit);
	PQfinish(listen);
	PQfinish(poll);
	return 0;
}
