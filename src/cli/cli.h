/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  What the pg_backtest CLI's files share: the command line, exit codes,
 *	  and the connection, query, error and signal helpers of
 *	  pg_backtest_cli.c.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/cli.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_CLI_H
#define PG_BACKTEST_CLI_H

#include <signal.h>
#include <stddef.h>

#include "libpq-fe.h"

#define PROGNAME			"pg_backtest"
/* the extension's version, from pg_backtest.control (the Makefile passes it) */
#ifndef PG_BACKTEST_VERSION
#error "build with -DPG_BACKTEST_VERSION=\"x.y.z\" (the Makefile takes it from pg_backtest.control)"
#endif
#define PROGVERSION			PG_BACKTEST_VERSION
#define PROGRESS_CHANNEL	"backtest_progress"

#define EXIT_COMPLETED		0
#define EXIT_FAILED			1
#define EXIT_CANCELLED		2
#define EXIT_ERROR			3

#define POLL_INTERVAL_MS	1000	/* re-read the row at least this often */
#define MIN_REFRESH_MS		100		/* ... and at most this often */
#define RECONNECT_TRIES		10		/* one a second */
#define LINE_MAX_LEN		512

#ifdef __GNUC__
#define PRINTF_LIKE(f, a)	__attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* The command line */
typedef struct Options
{
	const char *dbname;
	const char *host;
	const char *port;
	const char *username;
	const char *start_ts;
	const char *end_ts;
	const char *output;			/* report -o FILE */
	const char *limit;			/* notifications --limit N */
	const char *strategy;		/* live --strategy */
	const char *params;			/* live --params */
	const char *indicators;		/* live --indicators */
	const char *stream;			/* live --stream */
	int			watch;
	int			quiet;
	int			all;			/* notifications --all, watch --all */
	int			until_idle;		/* watch --all --until-idle */
	int			npos;
	const char *pos[8];			/* command and its arguments */
} Options;

/* Set by SIGINT/SIGTERM while watching (a second one exits at once) */
extern volatile sig_atomic_t interrupted;

extern void error_msg(const char *fmt, ...) PRINTF_LIKE(1, 2);
extern void error_pq(const char *what, const char *pqmsg);
extern int	usage_error(const char *msg, const char *arg);
extern int	parse_task_id(const char *s, char *out, size_t outlen);
extern PGconn *connect_db(const Options *opt);
extern PGresult *run_query(PGconn *conn, const char *sql, int nparams,
						   const char *const *params, ExecStatusType expect, int quiet);
extern char *api_query(PGconn *conn, const char *select, const char *body);
extern long long now_ms(void);
extern void install_signal_handlers(void);
extern int	reconnect_conn(PGconn *conn);

#endif
