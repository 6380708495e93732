/*-------------------------------------------------------------------------
 *
 * watch_all.c
 *	  pg_backtest watch --all [--until-idle]
 *
 * Every task of mine (owner = current_user) as it progresses, my new
 * notifications as they arrive and the system status, one line each on
 * stdout:
 *
 *	  status: 2 pending, 1 running, 0 of 1 slots free; this database: 2 pending, 1 running; load 0.52
 *	  task 12 [####----------------]  20.0%  step 2/5 computing indicators  elapsed 0.1s
 *	  notification 31  2026-12-02 14:50:01  normal  task_completed   Backtest 12 completed: ...
 *
 * It LISTENs on backtest_progress, backtest_notifications and
 * backtest_system_status, but events only wake it up: the lines come from
 * the rows (backtest.tasks, backtest.notifications, under row-level
 * security) and backtest_system_status(), which are also re-read every
 * second, so nothing is missed where events are lost and a forged event
 * shows nothing.  A task's line is printed when it appears (one submitted
 * and finished between two looks included), when its status or step
 * changes and when its progress has advanced by 10 points; the
 * status line when the cluster's counts change.  Runs until Ctrl-C (exit
 * 130), or with --until-idle until none of my tasks is pending or running
 * (exit 0).  A lost connection is reconnected as by watch (reconnect_conn),
 * then everything is re-read at once.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/watch_all.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "notifications.h"
#include "progress.h"

/* A task of mine seen not yet finished */
typedef struct Tracked
{
	long long	id;
	char		status[16];
	int			step;
	double		progress;
} Tracked;

typedef struct WatchAll
{
	PGconn	   *conn;
	Tracked    *tasks;
	int			ntasks;
	int			cap;
	long long	last_note;		/* the newest notification id shown (or seen at start) */
	long long	last_task;		/* the highest task id seen (a newer one that finished
								 * between two looks is shown too) */
	char		last_status[128];	/* the counts of the last status line */
	char	   *status_sql;
} WatchAll;

static const char *tasks_sql =
"SELECT t.id, t.status, t.progress, t.current_step, t.step_index, t.total_steps, "
"extract(epoch FROM t.elapsed), extract(epoch FROM t.eta), t.message "
"FROM backtest.tasks t WHERE t.owner = CURRENT_USER "
"AND (t.status IN ('pending', 'running') OR t.id = ANY ($1::bigint[]) OR t.id > $2::bigint) "
"ORDER BY t.id";

/*
 * run_query() of a refresh: an error is reported, except a lost connection
 * (the loop reconnects and looks again)
 */
static PGresult *
watch_query(WatchAll *w, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = run_query(w->conn, sql, nparams, params, PGRES_TUPLES_OK, 1);

	if (res == NULL && PQstatus(w->conn) != CONNECTION_BAD)
		error_pq(NULL, PQerrorMessage(w->conn));
	return res;
}

static Tracked *
find_task(WatchAll *w, long long id)
{
	for (int i = 0; i < w->ntasks; i++)
		if (w->tasks[i].id == id)
			return &w->tasks[i];
	return NULL;
}

/* "{1,2,3}" of the tracked ids (malloc'd) */
static char *
tracked_ids(const WatchAll *w)
{
	size_t		len = 3 + (size_t) w->ntasks * 21;
	char	   *s = malloc(len);
	size_t		n = 0;

	if (s == NULL)
		return NULL;
	s[n++] = '{';
	for (int i = 0; i < w->ntasks; i++)
		n += snprintf(s + n, len - n, "%s%lld", i ? "," : "", w->tasks[i].id);
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

/* Print row ROW of tasks_sql as "task N <progress line>" */
static void
print_task(const PGresult *res, int row)
{
	ProgressLine p;
	char		line[512];
	const char *status = PQgetvalue(res, row, 1);

	memset(&p, 0, sizeof(p));
	p.progress = strtod(PQgetvalue(res, row, 2), NULL);
	p.status = strcmp(status, "running") == 0 ? NULL : status;
	p.has_steps = !PQgetisnull(res, row, 4) && !PQgetisnull(res, row, 5);
	p.step_index = atoi(PQgetvalue(res, row, 4));
	p.total_steps = atoi(PQgetvalue(res, row, 5));
	p.step_name = PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3);
	p.has_elapsed = !PQgetisnull(res, row, 6);
	p.elapsed = strtod(PQgetvalue(res, row, 6), NULL);
	p.has_eta = !PQgetisnull(res, row, 7) && strcmp(status, "running") == 0;
	p.eta = strtod(PQgetvalue(res, row, 7), NULL);
	p.message = PQgetisnull(res, row, 8) ? NULL : PQgetvalue(res, row, 8);
	progress_format(&p, 0, line, sizeof(line));
	for (char *c = line; *c; c++)
		if ((unsigned char) *c < 0x20)
			*c = ' ';
	printf("task %s %s\n", PQgetvalue(res, row, 0), line);
}

/*
 * Re-read my unfinished tasks (and the tracked ones, to see them finish);
 * print what changed; forget the finished ones.  Returns 0 on an SQL error.
 */
static int
refresh_tasks(WatchAll *w)
{
	char	   *ids = tracked_ids(w);
	char		last[24];
	const char *params[2] = {ids, last};
	PGresult   *res;
	int			n;

	if (ids == NULL)
		return 0;
	snprintf(last, sizeof(last), "%lld", w->last_task);
	res = watch_query(w, tasks_sql, 2, params);
	free(ids);
	if (res == NULL)
		return 0;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
	{
		long long	id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		const char *status = PQgetvalue(res, i, 1);
		int			step = atoi(PQgetvalue(res, i, 4));
		double		progress = strtod(PQgetvalue(res, i, 2), NULL);
		Tracked    *t = find_task(w, id);

		if (id > w->last_task)
			w->last_task = id;

		if (t == NULL)
		{
			if (w->ntasks == w->cap)
			{
				int			cap = w->cap ? 2 * w->cap : 16;
				Tracked    *more = realloc(w->tasks, sizeof(Tracked) * cap);

				if (more == NULL)
				{
					PQclear(res);
					error_msg("out of memory");
					return 0;
				}
				w->tasks = more;
				w->cap = cap;
			}
			t = &w->tasks[w->ntasks++];
			memset(t, 0, sizeof(*t));
			t->id = id;
			t->progress = -100;
		}
		if (strcmp(t->status, status) != 0 || t->step != step || progress >= t->progress + 10.0)
		{
			print_task(res, i);
			snprintf(t->status, sizeof(t->status), "%s", status);
			t->step = step;
			t->progress = progress;
		}
	}
	PQclear(res);
	/* forget the finished ones (their last line is printed) */
	for (int i = 0; i < w->ntasks;)
		if (strcmp(w->tasks[i].status, "pending") != 0 && strcmp(w->tasks[i].status, "running") != 0)
			w->tasks[i] = w->tasks[--w->ntasks];
		else
			i++;
	fflush(stdout);
	return 1;
}

/* Print my notifications newer than the last one shown */
static int
refresh_notifications(WatchAll *w)
{
	char		sql[512];
	char		last[24];
	const char *params[1] = {last};
	PGresult   *res;

	snprintf(last, sizeof(last), "%lld", w->last_note);
	snprintf(sql, sizeof(sql),
			 "SELECT %s FROM backtest.notifications n WHERE n.owner = CURRENT_USER "
			 "AND n.id > $1::bigint ORDER BY n.id", notification_columns);
	res = watch_query(w, sql, 1, params);
	if (res == NULL)
		return 0;
	for (int i = 0; i < PQntuples(res); i++)
	{
		fputs("notification ", stdout);
		print_notification(res, i, 0);
		w->last_note = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	}
	fflush(stdout);
	PQclear(res);
	return 1;
}

/* Print the status line if the counts changed (force: anyway) */
static int
refresh_status(WatchAll *w, int force)
{
	PGresult   *res = watch_query(w, w->status_sql, 0, NULL);
	char		counts[128];
	const char *v[7];

	if (res == NULL)
		return 0;
	for (int i = 0; i < 7; i++)
		v[i] = PQgetisnull(res, 0, i) ? "?" : PQgetvalue(res, 0, i);
	snprintf(counts, sizeof(counts),
			 "%s pending, %s running, %s of %s slots free; this database: %s pending, %s running",
			 v[0], v[1], v[2], v[3], v[4], v[5]);
	if (force || strcmp(counts, w->last_status) != 0)
	{
		printf("status: %s; load %s\n", counts, v[6]);
		snprintf(w->last_status, sizeof(w->last_status), "%s", counts);
	}
	fflush(stdout);
	PQclear(res);
	return 1;
}

/*
 * Start or end the snapshot the refreshes of one look share: a task's
 * outcome and its notification commit together, so in one snapshot the
 * notification is never seen before the task has finished.
 */
static int
snapshot(PGconn *conn, int begin)
{
	PGresult   *res = PQexec(conn, begin ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "COMMIT");
	int			ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok && PQstatus(conn) != CONNECTION_BAD)
		error_pq(NULL, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/* LISTEN on the three channels; a failure only costs latency */
static void
listen_all(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "LISTEN " PROGRESS_CHANNEL "; LISTEN " NOTIFICATIONS_CHANNEL
							 "; LISTEN " STATUS_CHANNEL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "%s: warning: LISTEN failed, polling only: %s",
				PROGNAME, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
}

/*
 * The connection is gone: reconnect as watch does (reconnect_conn) and
 * LISTEN again.  Events sent meanwhile are lost, so the caller looks at
 * everything at once: what happened while away is printed then (the rows
 * say it), nothing is missed.
 */
static int
lost(WatchAll *w)
{
	if (!reconnect_conn(w->conn))
		return 0;
	listen_all(w->conn);
	return 1;
}

int
cmd_watch_all(PGconn *conn, const Options *opt)
{
	WatchAll	w;
	PGresult   *res;
	int			rc = EXIT_ERROR;
	long long	last_poll,
				last_refresh;
	int			wake_tasks = 0,
				wake_notes = 0,
				wake_status = 0;

	memset(&w, 0, sizeof(w));
	w.conn = conn;
	w.status_sql = api_query(conn, "SELECT pending_tasks, running_tasks, free_slots, max_concurrent, "
							 "db_pending_tasks, db_running_tasks, round(load_1::numeric, 2) FROM ",
							 "backtest_system_status()");
	if (w.status_sql == NULL)
		return EXIT_ERROR;
	install_signal_handlers();
	listen_all(conn);

	/* where the notifications and new tasks start: after the newest ones now */
	res = run_query(conn, "SELECT coalesce(max(n.id), 0), count(*) FILTER (WHERE n.read_at IS NULL), "
					"(SELECT coalesce(max(t.id), 0) FROM backtest.tasks t WHERE t.owner = CURRENT_USER) "
					"FROM backtest.notifications n WHERE n.owner = CURRENT_USER",
					0, NULL, PGRES_TUPLES_OK, 0);
	if (res == NULL)
		goto done;
	w.last_note = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	w.last_task = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	printf("watching the tasks of %s; %s unread notifications (pg_backtest notifications)\n",
		   PQuser(conn), PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!refresh_status(&w, 1) || !refresh_tasks(&w))
		goto done;
	last_poll = last_refresh = now_ms();

	for (;;)
	{
		struct pollfd pfd;
		long long	now;
		long long	due;
		int			n;
		int			full = 0;
		PGnotify   *note;

		if (opt->until_idle && w.ntasks == 0)
		{
			rc = 0;
			break;
		}
		if (interrupted)
			break;
		/* an event waits: refresh soon (throttled); else at the next poll */
		now = now_ms();
		due = (wake_tasks || wake_notes || wake_status) ? last_refresh + MIN_REFRESH_MS
			: last_poll + POLL_INTERVAL_MS;
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			n = 0;
		else
			n = poll(&pfd, 1, due > now ? (int) (due - now) : 0);
		if (n < 0 && errno != EINTR)
		{
			error_msg("poll() failed: %s", strerror(errno));
			goto done;
		}
		if (interrupted)
			break;
		if (pfd.fd < 0 || (n > 0 && !PQconsumeInput(conn)))
		{
			if (!lost(&w))
				goto done;
			last_poll = last_refresh = 0;
			continue;
		}
		while ((note = PQnotifies(conn)) != NULL)
		{
			if (strcmp(note->relname, PROGRESS_CHANNEL) == 0)
				wake_tasks = 1;
			else if (strcmp(note->relname, NOTIFICATIONS_CHANNEL) == 0)
				wake_notes = 1;
			else if (strcmp(note->relname, STATUS_CHANNEL) == 0)
				wake_status = 1;
			PQfreemem(note);
		}
		now = now_ms();
		if (now >= last_poll + POLL_INTERVAL_MS)
			full = wake_tasks = wake_notes = wake_status = 1;
		if (!(wake_tasks || wake_notes || wake_status) || now < last_refresh + MIN_REFRESH_MS)
			continue;
		/* tasks first, then notifications: a task's is committed with its outcome */
		if (wake_tasks)
			wake_notes = 1;
		if (!snapshot(conn, 1) || (wake_tasks && !refresh_tasks(&w)) ||
			(wake_notes && !refresh_notifications(&w)) || (wake_status && !refresh_status(&w, 0)) ||
			!snapshot(conn, 0))
		{
			/* a lost connection: reconnect and look again at once */
			if (PQstatus(conn) != CONNECTION_BAD || !lost(&w))
				goto done;
			last_poll = last_refresh = 0;
			continue;
		}
		last_refresh = now;
		if (full)
			last_poll = now;
		wake_tasks = wake_notes = wake_status = 0;
	}
	if (interrupted)
		rc = 128 + interrupted;

done:
	free(w.status_sql);
	free(w.tasks);
	return rc;
}
