/*-------------------------------------------------------------------------
 *
 * notifications.c
 *	  pg_backtest notifications [--all] [--limit N]
 *	  pg_backtest notifications read [ID]...
 *
 * Lists the current role's notifications (backtest_notifications(): the
 * unread ones, newest first; --all: read ones too) one a line, or marks
 * some (or, without ids, all) read with backtest_notifications_read().
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/notifications.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "notifications.h"

/* the columns print_notification reads, in its order */
const char *const notification_columns =
"n.id, pg_catalog.to_char(n.created_at, 'YYYY-MM-DD HH24:MI:SS'), n.priority, n.kind, "
"n.title, n.message, n.read_at IS NOT NULL";

/* Print one value with control characters (newlines...) as spaces */
static void
print_clean(const char *s)
{
	for (; *s; s++)
		putchar(((unsigned char) *s < 0x20 || *s == 0x7f) ? ' ' : *s);
}

void
print_notification(const PGresult *res, int row, int show_read)
{
	printf("%s  %s  %-6s  %-15s  ", PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
		   PQgetvalue(res, row, 2), PQgetvalue(res, row, 3));
	print_clean(PQgetvalue(res, row, 4));
	if (!PQgetisnull(res, row, 5))
	{
		fputs(": ", stdout);
		print_clean(PQgetvalue(res, row, 5));
	}
	if (show_read && strcmp(PQgetvalue(res, row, 6), "t") == 0)
		fputs("  (read)", stdout);
	putchar('\n');
}

/* The list, newest first */
static int
list_notifications(PGconn *conn, const Options *opt)
{
	const char *params[2];
	char		select[512];
	char	   *sql;
	PGresult   *res;
	int			n;

	params[0] = opt->all ? "false" : "true";
	params[1] = opt->limit ? opt->limit : "50";
	snprintf(select, sizeof(select), "SELECT %s FROM ", notification_columns);
	sql = api_query(conn, select,
					"backtest_notifications($1::boolean, $2::integer) n ORDER BY n.id DESC");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 2, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		print_notification(res, i, opt->all);
	if (n == 0)
		printf("no %snotifications\n", opt->all ? "" : "unread ");
	fflush(stdout);
	PQclear(res);
	return 0;
}

/* Mark the ids pos[2..] (none: all) read */
static int
mark_read(PGconn *conn, const Options *opt)
{
	char		ids[8 * 24 + 3];
	size_t		len = 0;
	const char *params[1];
	char	   *sql;
	PGresult   *res;

	ids[len++] = '{';
	for (int i = 2; i < opt->npos; i++)
	{
		char		id[24];

		if (!parse_task_id(opt->pos[i], id, sizeof(id)))
			return usage_error("invalid notification id", opt->pos[i]);
		len += snprintf(ids + len, sizeof(ids) - len, "%s%s", i > 2 ? "," : "", id);
	}
	ids[len++] = '}';
	ids[len] = '\0';
	params[0] = opt->npos > 2 ? ids : NULL;
	sql = api_query(conn, "SELECT ", "backtest_notifications_read($1::bigint[])");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 1, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;
	printf("marked %s notification%s read\n", PQgetvalue(res, 0, 0),
		   strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "" : "s");
	fflush(stdout);
	PQclear(res);
	return 0;
}

int
cmd_notifications(PGconn *conn, const Options *opt)
{
	if (opt->npos > 1 && strcmp(opt->pos[1], "read") == 0)
		return mark_read(conn, opt);
	return list_notifications(conn, opt);
}

int
check_notifications_args(const Options *opt)
{
	if (opt->npos > 1 && strcmp(opt->pos[1], "read") != 0)
		return usage_error("notifications takes \"read\" or no argument", opt->pos[1]);
	if (opt->npos > 1 && (opt->all || opt->limit))
		return usage_error("--all and --limit go with the list, not with read", NULL);
	if (opt->limit)
	{
		char		n[24];

		if (!parse_task_id(opt->limit, n, sizeof(n)))
			return usage_error("invalid --limit", opt->limit);
	}
	return -1;
}
