/*-------------------------------------------------------------------------
 *
 * live.c
 *	  "pg_backtest live": follow a live stream (README, "Live streams"),
 *	  printing each bar with its indicator values and each signal as they
 *	  arrive.
 *
 *	  pg_backtest live SOURCE SYMBOL [--strategy S] [--params JSON]
 *						 [--indicators JSON]
 *	  pg_backtest live --stream ID
 *
 * The first form starts a stream (backtest_live_start) and stops it when
 * the client exits (Ctrl-C); the second follows an existing stream of the
 * user's and leaves it running.  Either way the client LISTENs on
 * backtest_chart and backtest_signal, but takes nothing from a payload
 * except the stream id and the first timestamp: every bar printed is read
 * with backtest_live_bars() (as the user, under the table's privileges),
 * so a forged payload can at most make it read again.  A signal is
 * printed where a bar's position differs from the previous bar's.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/live.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "libpq-fe.h"
#include "live.h"

#define LIVE_EXIT_OK		0
#define LIVE_EXIT_ERROR		3

static const char *const position_name[] = {"short", "flat", "long"};

/* Name of a position -1, 0, 1 */
static const char *
pos_name(int p)
{
	return (p >= -1 && p <= 1) ? position_name[p + 1] : "?";
}

/* Print a failed result's message; returns LIVE_EXIT_ERROR */
static int
sql_error(const char *what, PGresult *res, PGconn *conn)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);

	fprintf(stderr, "pg_backtest: error: %s: %s", what, msg && *msg ? msg : "unknown error\n");
	if (res)
		PQclear(res);
	return LIVE_EXIT_ERROR;
}

/* Run a command with text parameters; NULL (message printed) on failure */
static PGresult *
exec_params(PGconn *conn, const char *what, const char *sql, int n, const char *const *values,
			ExecStatusType want)
{
	PGresult   *res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(res) != want)
	{
		sql_error(what, res, conn);
		return NULL;
	}
	return res;
}

/*
 * print_bars
 *		The stream's bars from since on (NULL: the last one only), printed
 *		one a line; *last_pos is the position of the last bar printed
 *		(-2: none yet), *last_ts its timestamp.  Returns 0 on success.
 */
static int
print_bars(PGconn *conn, const char *stream, const char *since, int *last_pos, char *last_ts,
		   size_t last_ts_len)
{
	const char *values[2] = {stream, since};
	PGresult   *res;
	int			n;

	if (since != NULL)
		res = exec_params(conn, "reading the stream's bars",
						  "SELECT coalesce(symbol, ''), to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
						  "open, high, low, close, coalesce(volume::text, ''), \"values\"::text, "
						  "coalesce(position::text, ''), ts::text "
						  "FROM backtest_live_bars($1::bigint, $2::timestamptz) ORDER BY symbol, ts",
						  2, values, PGRES_TUPLES_OK);
	else
		res = exec_params(conn, "reading the stream's bars",
						  "SELECT coalesce(b.symbol, ''), to_char(b.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
						  "b.open, b.high, b.low, b.close, coalesce(b.volume::text, ''), b.\"values\"::text, "
						  "coalesce(b.position::text, ''), b.ts::text "
						  "FROM backtest_live_streams() s, "
						  "LATERAL backtest_live_bars(s.stream, s.last_ts) b "
						  "WHERE s.stream = $1::bigint AND b.ts = s.last_ts "
						  "AND b.symbol IS NOT DISTINCT FROM s.symbol ORDER BY 1",
						  1, values, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
	{
		const char *pos = PQgetvalue(res, i, 8);

		printf("%s%s%s UTC  O %s  H %s  L %s  C %s%s%s  %s",
			   PQgetvalue(res, i, 0), *PQgetvalue(res, i, 0) ? "  " : "",
			   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
			   PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
			   *PQgetvalue(res, i, 6) ? "  V " : "", PQgetvalue(res, i, 6),
			   PQgetvalue(res, i, 7));
		if (*pos)
		{
			int			p = atoi(pos);

			printf("  position %s", pos_name(p));
			if (*last_pos != -2 && p != *last_pos)
				printf("\nSIGNAL %s%s%s UTC: %s -> %s at close %s", PQgetvalue(res, i, 0),
					   *PQgetvalue(res, i, 0) ? " " : "", PQgetvalue(res, i, 1),
					   pos_name(*last_pos), pos_name(p), PQgetvalue(res, i, 5));
			*last_pos = p;
		}
		putchar('\n');
		snprintf(last_ts, last_ts_len, "%s", PQgetvalue(res, i, 9));
	}
	fflush(stdout);
	PQclear(res);
	return 0;
}

/*
 * payload_since
 *		The first timestamp of a backtest_chart payload of stream id into
 *		buf (a JSON string's text); 0 if the payload is not one of ours or
 *		names no bar.
 */
static int
payload_since(const char *payload, long long id, char *buf, size_t len)
{
	long long	stream;
	const char *v;
	size_t		vlen;
	const char *p;
	const char *q;

	if (!json_scan_integer(payload, "stream", &stream) || stream != id)
		return 0;
	if (json_scan_member(payload, "ts", &v, &vlen) == JSON_SCAN_ARRAY)
		p = v;
	else if (json_scan_member(payload, "bars", &v, &vlen) == JSON_SCAN_ARRAY)
		p = strstr(v, "\"ts\"") ? strstr(v, "\"ts\"") + 4 : NULL;
	else
		return 0;
	/* the first string after p: an ISO timestamp has no escapes */
	if (p == NULL || (p = strchr(p, '"')) == NULL || p >= v + vlen ||
		(q = strchr(p + 1, '"')) == NULL || (size_t) (q - p - 1) >= len)
		return 0;
	memcpy(buf, p + 1, q - p - 1);
	buf[q - p - 1] = '\0';
	return 1;
}

int
cli_live(PGconn *conn, const LiveArgs *a, volatile sig_atomic_t *interrupted)
{
	char		stream[32];
	long long	id;
	PGresult   *res;
	int			started = 0;
	int			rc = LIVE_EXIT_OK;
	int			last_pos = -2;
	char		last_ts[64] = "";

	if (a->stream != NULL)
	{
		char	   *end;

		id = strtoll(a->stream, &end, 10);
		if (*a->stream == '\0' || *end != '\0' || id <= 0)
		{
			fprintf(stderr, "pg_backtest: error: invalid stream id \"%s\"\n", a->stream);
			return LIVE_EXIT_ERROR;
		}
		snprintf(stream, sizeof stream, "%lld", id);
		{
			const char *v[1] = {stream};

			res = exec_params(conn, "looking up the stream",
							  "SELECT 1 FROM backtest_live_streams() WHERE stream = $1::bigint",
							  1, v, PGRES_TUPLES_OK);
			if (res == NULL)
				return LIVE_EXIT_ERROR;
			if (PQntuples(res) == 0)
			{
				fprintf(stderr, "pg_backtest: error: live stream %s does not exist\n", stream);
				PQclear(res);
				return LIVE_EXIT_ERROR;
			}
			PQclear(res);
		}
	}
	else
	{
		const char *v[5] = {a->source, a->symbol, a->strategy,
		a->params ? a->params : "{}", a->indicators ? a->indicators : "[]"};

		res = exec_params(conn, "starting the stream",
						  "SELECT backtest_live_start($1::regclass, $2, $3, $4::jsonb, $5::jsonb)",
						  5, v, PGRES_TUPLES_OK);
		if (res == NULL)
			return LIVE_EXIT_ERROR;
		snprintf(stream, sizeof stream, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		id = atoll(stream);
		started = 1;
	}
	res = PQexec(conn, "LISTEN backtest_chart; LISTEN backtest_signal");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		rc = sql_error("LISTEN", res, conn);
		goto stop;
	}
	PQclear(res);
	fprintf(stderr, "following live stream %s (Ctrl-C to %s)\n", stream,
			started ? "stop it" : "leave; it keeps running");
	/* the last bar so far, then every new one */
	if (print_bars(conn, stream, NULL, &last_pos, last_ts, sizeof last_ts) != 0)
	{
		rc = LIVE_EXIT_ERROR;
		goto stop;
	}

	while (!*interrupted)
	{
		struct pollfd pfd;
		PGnotify   *n;
		char		since[64] = "";
		int			got = 0;

		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
		{
			fprintf(stderr, "pg_backtest: error: lost the connection\n");
			rc = LIVE_EXIT_ERROR;
			break;
		}
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
		{
			fprintf(stderr, "pg_backtest: error: poll() failed: %s\n", strerror(errno));
			rc = LIVE_EXIT_ERROR;
			break;
		}
		if (*interrupted)
			break;
		if (!PQconsumeInput(conn))
		{
			rc = sql_error("reading notifications", NULL, conn);
			break;
		}
		while ((n = PQnotifies(conn)) != NULL)
		{
			char		ts[64];

			/* the earliest bar any payload names; signals come with their bar */
			if (strcmp(n->relname, "backtest_chart") == 0 &&
				payload_since(n->extra, id, ts, sizeof ts) &&
				(!got || strcmp(ts, since) < 0))
			{
				snprintf(since, sizeof since, "%s", ts);
				got = 1;
			}
			PQfreemem(n);
		}
		if (got && print_bars(conn, stream, since, &last_pos, last_ts, sizeof last_ts) != 0)
		{
			rc = LIVE_EXIT_ERROR;
			break;
		}
	}

stop:
	if (started)
	{
		const char *v[1] = {stream};

		res = exec_params(conn, "stopping the stream", "SELECT backtest_live_stop($1::bigint)",
						  1, v, PGRES_TUPLES_OK);
		if (res == NULL)
			rc = LIVE_EXIT_ERROR;
		else
		{
			fprintf(stderr, "stopped live stream %s\n", stream);
			PQclear(res);
		}
	}
	return rc;
}
