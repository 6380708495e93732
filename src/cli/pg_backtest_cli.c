/*-------------------------------------------------------------------------
 *
 * pg_backtest_cli.c
 *	  pg_backtest, the command-line client for asynchronous backtests:
 *
 *	  pg_backtest [conn opts] submit SOURCE SYMBOL STRATEGY [PARAMS_JSON]
 *								[--start TS] [--end TS] [--watch]
 *	  pg_backtest [conn opts] watch|status|cancel TASK_ID
 *	  pg_backtest [conn opts] live SOURCE SYMBOL [--strategy S] [--params JSON]
 *								[--indicators JSON] | live --stream ID
 *
 * "submit" calls backtest_submit() and prints the task id; "watch" shows a
 * live progress bar until the task reaches a final state, then a summary.
 *
 * Watching LISTENs on the backtest_progress channel, but the row in
 * backtest.tasks is the source of truth: a notification for our task only
 * wakes us up to re-read the row, and the row is re-read at least once a
 * second anyway.  That also keeps watching working where notifications
 * are lost (PgBouncer transaction pooling, a reconnect).
 *
 * All user-supplied text travels as query parameters; the only thing ever
 * put into a query string is the extension's schema, read from the
 * catalog and quoted with PQescapeIdentifier().
 *
 * Exit status: 0 completed (or the command succeeded), 1 failed,
 * 2 cancelled, 3 usage, connection or SQL error, 128+N on signal N.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/pg_backtest_cli.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "json_scan.h"
#include "libpq-fe.h"
#include "cli.h"
#include "live.h"
#include "notifications.h"
#include "progress.h"

/* One reading of the task's row */
typedef struct TaskState
{
	char		status[32];
	double		progress;
	char	   *current_step;	/* NULL if SQL NULL; control chars blanked */
	int			has_steps;
	int			step_index;
	int			total_steps;
	char	   *message;		/* NULL if SQL NULL; control chars blanked */
	int			has_elapsed;
	double		elapsed;
	int			has_eta;
	double		eta;
	char	   *error;			/* NULL if SQL NULL */
} TaskState;

/* What the progress display remembers between draws */
typedef struct Display
{
	int			tty;			/* redraw one line on stderr */
	int			quiet;			/* draw nothing */
	int			drawn;			/* anything drawn yet */
	size_t		last_len;		/* TTY: length of the line on screen */
	char		last_status[32];	/* non-TTY: what the last line showed */
	int			last_step;
	char	   *last_step_name;
	double		last_progress;
} Display;

volatile sig_atomic_t interrupted = 0;
static Display *active_display = NULL;	/* the bar on screen, if any */

static const char *watch_sql =
"SELECT status, progress, current_step, step_index, total_steps, message, "
"extract(epoch from elapsed), extract(epoch from eta), error "
"FROM backtest.tasks WHERE id = $1";

/* a backtest's metrics, or a sweep's best row (rank 1) */
static const char *results_sql =
"SELECT trades_count, return_pct, sharpe_ratio, max_drawdown_pct, equity_final "
"FROM backtest.results WHERE task_id = $1 "
"UNION ALL "
"SELECT trades_count, return_pct, sharpe_ratio, max_drawdown_pct, equity_final "
"FROM backtest.sweep_results WHERE task_id = $1 AND rank = 1";


/* If a progress bar is on screen, move to a fresh line before a message. */
static void
leave_progress_line(void)
{
	if (active_display && active_display->tty && active_display->last_len > 0)
	{
		fputc('\n', stderr);
		active_display->last_len = 0;
	}
}

/* Print "pg_backtest: error: ..." and a newline to stderr. */
void PRINTF_LIKE(1, 2)
error_msg(const char *fmt, ...)
{
	va_list		ap;

	leave_progress_line();
	fprintf(stderr, "%s: error: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print a libpq message (which ends with a newline) as an error. */
void
error_pq(const char *what, const char *pqmsg)
{
	size_t		len = pqmsg ? strlen(pqmsg) : 0;

	leave_progress_line();
	fprintf(stderr, "%s: error: %s%s%s%s", PROGNAME, what ? what : "",
			what ? ": " : "", pqmsg ? pqmsg : "",
			(len == 0 || pqmsg[len - 1] != '\n') ? "\n" : "");
}

/* Print the usage error hint and return the usage exit status. */
int
usage_error(const char *msg, const char *arg)
{
	if (arg)
		fprintf(stderr, "%s: error: %s: %s\n", PROGNAME, msg, arg);
	else
		fprintf(stderr, "%s: error: %s\n", PROGNAME, msg);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", PROGNAME);
	return EXIT_ERROR;
}

/* Print --help. */
static void
print_help(void)
{
	printf("%s submits pg_backtest backtests to run in the background and watches them.\n\n"
		   "Usage:\n"
		   "  %s [OPTION]... submit SOURCE SYMBOL STRATEGY [PARAMS_JSON]\n"
		   "                        [--start TS] [--end TS] [--watch]\n"
		   "  %s [OPTION]... watch TASK_ID\n"
		   "  %s [OPTION]... status TASK_ID\n"
		   "  %s [OPTION]... cancel TASK_ID\n"
		   "  %s [OPTION]... report TASK_ID [-o FILE]\n"
		   "  %s [OPTION]... notifications [--all] [--limit N]\n"
		   "  %s [OPTION]... notifications read [ID]...\n"
		   "  %s [OPTION]... watch --all [--until-idle]\n"
		   "  %s [OPTION]... live SOURCE SYMBOL [--strategy S] [--params JSON]\n"
		   "                        [--indicators JSON]\n"
		   "  %s [OPTION]... live --stream ID\n\n",
		   PROGNAME, PROGNAME, PROGNAME, PROGNAME, PROGNAME, PROGNAME, PROGNAME, PROGNAME,
		   PROGNAME, PROGNAME, PROGNAME);
	printf("Commands:\n"
		   "  submit   queue a backtest of SYMBOL's bars in table SOURCE with STRATEGY\n"
		   "           (PARAMS_JSON: a JSON object, default {}) and print \"submitted task N\"\n"
		   "  watch    show the task's progress until it finishes, then a summary\n"
		   "  status   print the task's row as \"key: value\" lines\n"
		   "  cancel   ask the server to cancel the task\n"
		   "  report   write the completed task's HTML report (backtest_report_html)\n"
		   "           to FILE (-o, --output), or to stdout\n"
		   "  notifications  list my unread notifications, newest first (--all: read\n"
		   "           ones too; --limit N: at most N, default 50); \"read\": mark\n"
		   "           those ids (none: all of mine) read\n"
		   "  watch --all  every task of mine, my new notifications and the system\n"
		   "           status, live, until Ctrl-C (--until-idle: until none of my\n"
		   "           tasks is pending or running)\n"
		   "  live     start a live stream of SYMBOL's bars in table SOURCE and print\n"
		   "           each bar (OHLCV, indicator values, position) and each signal as\n"
		   "           they arrive, until Ctrl-C, which stops the stream; --stream ID\n"
		   "           follows an existing stream of yours and leaves it running\n\n"
		   "Submit options:\n"
		   "  --start TS          first bar to use (a timestamptz)\n"
		   "  --end TS            last bar to use (a timestamptz)\n"
		   "  --watch             watch the task after submitting it\n\n"
		   "Live options (see backtest_live_start):\n"
		   "  --strategy S        the strategy whose signals to print\n"
		   "  --params JSON       its parameters, \"columns\" (default {})\n"
		   "  --indicators JSON   e.g. '[{\"name\": \"ema\", \"period\": 20}]' (default [])\n"
		   "  --stream ID         follow stream ID instead of starting one\n\n");
	printf("Connection options:\n"
		   "  -d, --dbname=DBNAME      database name, or a conninfo string or URI\n"
		   "  -h, --host=HOSTNAME      database server host or socket directory\n"
		   "  -p, --port=PORT          database server port\n"
		   "  -U, --username=USERNAME  database user name\n"
		   "Otherwise the libpq environment variables (PGHOST, PGPORT, PGDATABASE,\n"
		   "PGUSER, PGPASSWORD, PGSERVICE, ...) and ~/.pgpass apply.\n\n"
		   "Other options:\n"
		   "  -q, --quiet              no progress display, only the summary\n"
		   "  -V, --version            print the version and exit\n"
		   "  -?, --help               print this help and exit\n\n");
	printf("Progress goes to stderr: one line redrawn in place on a terminal, otherwise\n"
		   "a line when the status or step changes or progress advances by 10%%.\n"
		   "The summary goes to stdout.  Ctrl-C stops watching only: the task keeps\n"
		   "running on the server (\"%s cancel TASK_ID\" stops it).\n\n"
		   "Exit status: 0 completed (or the command succeeded), 1 failed, 2 cancelled,\n"
		   "3 usage, connection or SQL error, 130 interrupted.\n",
		   PROGNAME);
}

/* Take an option's value: "-dX", "--dbname=X", or the next argument. */
static int
option_value(int argc, char **argv, int *i, const char *arg, size_t optlen,
			 const char **out)
{
	if (arg[optlen] == '=' && arg[1] == '-')
		*out = arg + optlen + 1;	/* --long=value */
	else if (arg[optlen] != '\0' && arg[1] != '-')
		*out = arg + optlen;	/* -xVALUE */
	else if (arg[optlen] == '\0' && *i + 1 < argc)
		*out = argv[++*i];
	else
		return 0;
	return 1;
}

/* Does ARG name the option SHORTOPT (e.g. "-d") or LONGOPT ("--dbname")?
 * Sets *len to the length of the matched option name. */
static int
is_option(const char *arg, const char *shortopt, const char *longopt,
		  size_t *len)
{
	size_t		l;

	if (longopt)
	{
		l = strlen(longopt);
		if (strncmp(arg, longopt, l) == 0 && (arg[l] == '\0' || arg[l] == '='))
		{
			*len = l;
			return 1;
		}
	}
	if (shortopt && strncmp(arg, shortopt, 2) == 0)
	{
		*len = 2;
		return 1;
	}
	return 0;
}

/*
 * Parse the command line.  Options may come anywhere (before or after the
 * command); "--" ends them.  Returns -1 to go on, or an exit status.
 */
static int
parse_args(int argc, char **argv, Options *opt)
{
	int			i;
	int			options_done = 0;

	memset(opt, 0, sizeof(*opt));
	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];
		const char **target = NULL;
		size_t		len;

		if (options_done || arg[0] != '-' || arg[1] == '\0')
		{
			if (opt->npos >= (int) (sizeof(opt->pos) / sizeof(opt->pos[0])))
				return usage_error("too many arguments", arg);
			opt->pos[opt->npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0)
		{
			options_done = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-?") == 0)
		{
			print_help();
			exit(0);
		}
		if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
		{
			printf("%s %s\n", PROGNAME, PROGVERSION);
			exit(0);
		}
		if (strcmp(arg, "--watch") == 0)
		{
			opt->watch = 1;
			continue;
		}
		if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0)
		{
			opt->quiet = 1;
			continue;
		}
		if (strcmp(arg, "--all") == 0)
		{
			opt->all = 1;
			continue;
		}
		if (strcmp(arg, "--until-idle") == 0)
		{
			opt->until_idle = 1;
			continue;
		}

		if (is_option(arg, "-d", "--dbname", &len))
			target = &opt->dbname;
		else if (is_option(arg, "-h", "--host", &len))
			target = &opt->host;
		else if (is_option(arg, "-p", "--port", &len))
			target = &opt->port;
		else if (is_option(arg, "-U", "--username", &len))
			target = &opt->username;
		else if (is_option(arg, NULL, "--start", &len))
			target = &opt->start_ts;
		else if (is_option(arg, NULL, "--end", &len))
			target = &opt->end_ts;
		else if (is_option(arg, "-o", "--output", &len))
			target = &opt->output;
		else if (is_option(arg, NULL, "--limit", &len))
			target = &opt->limit;
		else if (is_option(arg, NULL, "--strategy", &len))
			target = &opt->strategy;
		else if (is_option(arg, NULL, "--params", &len))
			target = &opt->params;
		else if (is_option(arg, NULL, "--indicators", &len))
			target = &opt->indicators;
		else if (is_option(arg, NULL, "--stream", &len))
			target = &opt->stream;
		else
			return usage_error("unrecognized option", arg);

		if (!option_value(argc, argv, &i, arg, len, target))
			return usage_error("option requires a value", arg);
	}
	return -1;
}

/* Check that S is a positive bigint; copy its canonical form to OUT. */
int
parse_task_id(const char *s, char *out, size_t outlen)
{
	const char *p;
	long long	v;
	char	   *end;

	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	if (p == s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return 0;
	snprintf(out, outlen, "%lld", v);
	return 1;
}

/* Notice processor: keep server NOTICEs from garbling the progress line. */
static void
notice_processor(void *arg, const char *message)
{
	(void) arg;
	leave_progress_line();
	fputs(message, stderr);
}

/* Connect with PQconnectdbParams (expand_dbname=1), or print why not. */
PGconn *
connect_db(const Options *opt)
{
	const char *keywords[8];
	const char *values[8];
	int			n = 0;
	PGconn	   *conn;

	/* dbname first: with expand_dbname, later keywords override it */
	if (opt->dbname)
	{
		keywords[n] = "dbname";
		values[n++] = opt->dbname;
	}
	if (opt->host)
	{
		keywords[n] = "host";
		values[n++] = opt->host;
	}
	if (opt->port)
	{
		keywords[n] = "port";
		values[n++] = opt->port;
	}
	if (opt->username)
	{
		keywords[n] = "user";
		values[n++] = opt->username;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = PROGNAME;
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL)
	{
		error_msg("out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		error_pq("could not connect", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_processor, NULL);
	return conn;
}

/*
 * Run a query with text parameters; return the result if its status is
 * EXPECT, else print the error, clear it and return NULL.
 */
PGresult *
run_query(PGconn *conn, const char *sql, int nparams,
		  const char *const *params, ExecStatusType expect, int quiet)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params,
								   NULL, NULL, 0);

	if (res != NULL && PQresultStatus(res) == expect)
		return res;
	if (!quiet)
		error_pq(NULL, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/*
 * The prefix for the extension's functions: its schema, quoted, and a dot
 * (they live where CREATE EXTENSION put them, which need not be on the
 * search_path), or "" if the extension is not found (then the search_path
 * decides).  The caller frees the result with free().
 */
static char *
api_prefix(PGconn *conn)
{
	PGresult   *res;
	char	   *prefix = NULL;

	res = run_query(conn,
					"SELECT n.nspname FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
					"WHERE e.extname = 'pg_backtest'",
					0, NULL, PGRES_TUPLES_OK, 0);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 1)
	{
		const char *nsp = PQgetvalue(res, 0, 0);
		char	   *quoted = PQescapeIdentifier(conn, nsp, strlen(nsp));

		if (quoted)
		{
			size_t		len = strlen(quoted) + 2;

			prefix = malloc(len);
			if (prefix)
				snprintf(prefix, len, "%s.", quoted);
			PQfreemem(quoted);
		}
	}
	else
		prefix = calloc(1, 1);
	PQclear(res);
	if (prefix == NULL)
		error_msg("out of memory");
	return prefix;
}

/* Build "SELECT <prefix><body>" in a malloc'd string, or NULL. */
char *
api_query(PGconn *conn, const char *select, const char *body)
{
	char	   *prefix = api_prefix(conn);
	char	   *sql;
	size_t		len;

	if (prefix == NULL)
		return NULL;
	len = strlen(select) + strlen(prefix) + strlen(body) + 1;
	sql = malloc(len);
	if (sql)
		snprintf(sql, len, "%s%s%s", select, prefix, body);
	else
		error_msg("out of memory");
	free(prefix);
	return sql;
}

/* Milliseconds on the monotonic clock. */
long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGINT/SIGTERM while watching: note it; a second one exits at once. */
static void
handle_signal(int signo)
{
	if (interrupted)
	{
		ssize_t		rc = write(STDERR_FILENO, "\n", 1);

		(void) rc;
		_exit(128 + signo);
	}
	interrupted = signo;
}

/* Install handle_signal for SIGINT and SIGTERM (without SA_RESTART). */
void
install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* strdup() a value with control characters (newlines...) blanked. */
static char *
dup_clean(const char *s)
{
	char	   *d = strdup(s);
	char	   *p;

	if (d)
		for (p = d; *p; p++)
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				*p = ' ';
	return d;
}

/* Free a TaskState's strings. */
static void
task_state_free(TaskState *st)
{
	free(st->current_step);
	free(st->message);
	free(st->error);
	st->current_step = st->message = st->error = NULL;
}

/*
 * Read the task's row into ST (freeing what it held).  Returns 1 if found,
 * 0 if there is no such row (or it is not ours), -1 on error; with
 * conn_lost set when the error is a lost connection (then nothing was
 * printed, the caller reconnects).
 */
static int
fetch_task(PGconn *conn, const char *task_id, TaskState *st, int *conn_lost)
{
	const char *params[1];
	PGresult   *res;

	*conn_lost = 0;
	params[0] = task_id;
	res = PQexecParams(conn, watch_sql, 1, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (PQstatus(conn) == CONNECTION_BAD)
			*conn_lost = 1;
		else
			error_pq(NULL, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return 0;
	}

	task_state_free(st);
	snprintf(st->status, sizeof(st->status), "%s",
			 PQgetisnull(res, 0, 0) ? "unknown" : PQgetvalue(res, 0, 0));
	st->progress = PQgetisnull(res, 0, 1) ? 0.0 : strtod(PQgetvalue(res, 0, 1), NULL);
	if (!(st->progress >= 0.0))	/* also NaN */
		st->progress = 0.0;
	if (st->progress > 100.0)
		st->progress = 100.0;
	st->current_step = PQgetisnull(res, 0, 2) ? NULL : dup_clean(PQgetvalue(res, 0, 2));
	st->has_steps = !PQgetisnull(res, 0, 3) && !PQgetisnull(res, 0, 4);
	st->step_index = st->has_steps ? atoi(PQgetvalue(res, 0, 3)) : 0;
	st->total_steps = st->has_steps ? atoi(PQgetvalue(res, 0, 4)) : 0;
	st->message = PQgetisnull(res, 0, 5) ? NULL : dup_clean(PQgetvalue(res, 0, 5));
	st->has_elapsed = !PQgetisnull(res, 0, 6);
	st->elapsed = st->has_elapsed ? strtod(PQgetvalue(res, 0, 6), NULL) : 0.0;
	st->has_eta = !PQgetisnull(res, 0, 7);
	st->eta = st->has_eta ? strtod(PQgetvalue(res, 0, 7), NULL) : 0.0;
	st->error = PQgetisnull(res, 0, 8) ? NULL : strdup(PQgetvalue(res, 0, 8));
	PQclear(res);
	return 1;
}

/* Is STATUS a final state? */
static int
is_final(const char *status)
{
	return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
		strcmp(status, "cancelled") == 0;
}

/* Format a duration in seconds: 1.2s, 3m05s, 2h04m09s. */
static void
format_duration(double secs, char *buf, size_t len)
{
	progress_format_duration(secs, buf, len);
}

/*
 * The progress line, in at most MAX_COLS columns (0: no limit; see
 * progress_format() for what gives way first):
 * [#########-----------]  45.0%  step 3/5 simulating  elapsed 1.2s  eta 1.5s
 * AGE_S is how long ago the row's elapsed/eta were read; a running task's
 * times are advanced by it so that the clock ticks between updates.
 */
static void
format_line(const TaskState *st, double age_s, size_t max_cols, char *buf, size_t len)
{
	int			running = strcmp(st->status, "running") == 0;
	ProgressLine p;

	memset(&p, 0, sizeof(p));
	p.progress = st->progress;
	p.status = running ? NULL : st->status;
	p.has_steps = st->has_steps;
	p.step_index = st->step_index;
	p.total_steps = st->total_steps;
	p.step_name = st->current_step;
	p.has_elapsed = st->has_elapsed;
	p.elapsed = st->elapsed + (running ? age_s : 0.0);
	p.has_eta = st->has_eta && running;
	p.eta = st->eta - age_s;
	p.message = st->message;
	progress_format(&p, max_cols, buf, len);
}

/* The terminal's width (for the one-line display), else $COLUMNS, else 80. */
static size_t
terminal_width(void)
{
	const char *env = getenv("COLUMNS");
	long		cols;
#ifdef TIOCGWINSZ
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
#endif
	if (env && (cols = strtol(env, NULL, 10)) > 0 && cols < 10000)
		return (size_t) cols;
	return 80;
}

/*
 * Show the task's state: on a TTY redraw the line in place; otherwise
 * print a line when the status or step changed or progress advanced by
 * 10 points since the last line.
 */
static void
draw(Display *d, const TaskState *st, double age_s)
{
	char		line[LINE_MAX_LEN];
	size_t		len;

	if (d->quiet)
		return;

	if (d->tty)
	{
		/* stay on one row: a wrapped line cannot be redrawn with \r */
		size_t		width = terminal_width();

		format_line(st, age_s, width > 1 ? width - 1 : 1, line, sizeof(line));
		len = progress_columns(line);
		fprintf(stderr, "\r%s", line);
		if (d->last_len > len)
			fprintf(stderr, "%*s", (int) (d->last_len - len), "");
		fflush(stderr);
		d->last_len = len;
	}
	else
	{
		const char *name = st->current_step ? st->current_step : "";

		format_line(st, age_s, 0, line, sizeof(line));

		if (d->drawn &&
			strcmp(d->last_status, st->status) == 0 &&
			d->last_step == st->step_index &&
			strcmp(d->last_step_name ? d->last_step_name : "", name) == 0 &&
			st->progress < d->last_progress + 10.0)
			return;
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
		snprintf(d->last_status, sizeof(d->last_status), "%s", st->status);
		d->last_step = st->step_index;
		free(d->last_step_name);
		d->last_step_name = strdup(name);
		d->last_progress = st->progress;
	}
	d->drawn = 1;
}

/* Leave the progress line (TTY): move to a fresh line. */
static void
end_line(Display *d)
{
	if (d->tty && d->last_len > 0)
		fputc('\n', stderr);
	d->last_len = 0;
}

/*
 * Is PAYLOAD about TASK_ID?  Yes if it has no readable task_id (an integer
 * member of the top-level object): the row is re-read, which is always safe.
 */
static int
payload_is_for(const char *payload, const char *task_id)
{
	long long	id;

	if (!json_scan_integer(payload, "task_id", &id))
		return 1;
	return id == strtoll(task_id, NULL, 10);
}

/*
 * Read the pending notifications; return 1 if one of them is about our
 * task (and keep a copy of its payload in *last_payload).
 */
static int
drain_notifications(PGconn *conn, const char *task_id, char **last_payload)
{
	PGnotify   *n;
	int			ours = 0;

	while ((n = PQnotifies(conn)) != NULL)
	{
		if (strcmp(n->relname, PROGRESS_CHANNEL) == 0 &&
			payload_is_for(n->extra, task_id))
		{
			ours = 1;
			if (json_scan_member(n->extra, "task_id", NULL, NULL) != JSON_SCAN_ABSENT)
			{
				free(*last_payload);
				*last_payload = strdup(n->extra);
			}
		}
		PQfreemem(n);
	}
	return ours;
}

/* LISTEN on the progress channel; a failure only costs us latency. */
static void
listen_progress(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "LISTEN " PROGRESS_CHANNEL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		leave_progress_line();
		fprintf(stderr, "%s: warning: LISTEN failed, polling only: %s",
				PROGNAME, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	}
	PQclear(res);
}

/*
 * After a lost connection: PQreset once a second, RECONNECT_TRIES times
 * (watch and watch --all).  Returns 1 when connected again (the caller
 * LISTENs again), 0 after an interrupt or the last try (reported).
 */
int
reconnect_conn(PGconn *conn)
{
	fprintf(stderr, "%s: connection lost, reconnecting...\n", PROGNAME);
	for (int i = 0; i < RECONNECT_TRIES && !interrupted; i++)
	{
		if (i > 0)
			sleep(1);
		if (interrupted)
			break;
		PQreset(conn);
		if (PQstatus(conn) == CONNECTION_OK)
			return 1;
	}
	if (!interrupted)
		error_pq("could not reconnect", PQerrorMessage(conn));
	return 0;
}

/* The same for watch: end the progress line first; LISTEN again. */
static int
reconnect(PGconn *conn, Display *d)
{
	end_line(d);
	if (!reconnect_conn(conn))
		return 0;
	listen_progress(conn);
	return 1;
}

/* Format a metric with DECIMALS decimals, or "n/a" for NULL. */
static const char *
metric(const char *text, int decimals, char *buf, size_t len)
{
	if (text == NULL)
		return "n/a";
	snprintf(buf, len, "%.*f", decimals, strtod(text, NULL));
	return buf;
}

/*
 * Print the final summary and return the exit status for the task's final
 * state.  The state and timing come from the task row and the metrics from
 * backtest.results, never from an event: NOTIFY has no access control, so
 * any role could send a forged "completed" payload (events are only a cue
 * to re-read the row).
 */
static int
summarize(PGconn *conn, const char *task_id, const TaskState *st,
		  const char *payload)
{
	char		dur[32];
	char		in[48];

	if (st->has_elapsed)
	{
		format_duration(st->elapsed, dur, sizeof(dur));
		snprintf(in, sizeof(in), " in %s", dur);
	}
	else
		in[0] = '\0';

	if (strcmp(st->status, "completed") == 0)
	{
		const char *params[1];
		PGresult   *res;
		const char *v[5] = {NULL, NULL, NULL, NULL, NULL};
		char		b[5][64];
		int			i;

		params[0] = task_id;
		res = run_query(conn, results_sql, 1, params, PGRES_TUPLES_OK, 0);
		if (res == NULL)
			return EXIT_ERROR;
		if (PQntuples(res) > 0)
		{
			for (i = 0; i < 5; i++)
				v[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
		}
		else
			fprintf(stderr, "%s: warning: task %s has no row in backtest.results\n",
					PROGNAME, task_id);
		(void) payload;
		printf("task %s completed%s: %s trades, return %s%s, sharpe %s, "
			   "max drawdown %s%s, final equity %s\n",
			   task_id, in,
			   metric(v[0], 0, b[0], sizeof(b[0])),
			   metric(v[1], 2, b[1], sizeof(b[1])), v[1] ? "%" : "",
			   metric(v[2], 3, b[2], sizeof(b[2])),
			   metric(v[3], 2, b[3], sizeof(b[3])), v[3] ? "%" : "",
			   metric(v[4], 2, b[4], sizeof(b[4])));
		fflush(stdout);
		PQclear(res);
		return EXIT_COMPLETED;
	}
	if (strcmp(st->status, "failed") == 0)
	{
		fprintf(stderr, "task %s failed%s: %s\n", task_id, in,
				st->error ? st->error : (st->message ? st->message : "(no error message)"));
		return EXIT_FAILED;
	}
	printf("task %s cancelled%s%s%s\n", task_id, in,
		   st->message ? ": " : "", st->message ? st->message : "");
	fflush(stdout);
	return EXIT_CANCELLED;
}

/*
 * watch: LISTEN, read the row, then re-read it whenever a notification
 * for the task arrives (at most every MIN_REFRESH_MS) and at least every
 * POLL_INTERVAL_MS, redrawing each time, until a final state.
 */
static int
cmd_watch(PGconn *conn, const char *task_id, const Options *opt)
{
	TaskState	st;
	Display		d;
	char	   *payload = NULL;
	int			rc = EXIT_ERROR;
	int			found;
	int			lost;
	double		last_elapsed = -1.0;
	double		last_eta = -1.0;
	long long	times_read_at;
	long long	last_fetch;
	int			wake = 0;

	memset(&st, 0, sizeof(st));
	memset(&d, 0, sizeof(d));
	d.tty = isatty(STDERR_FILENO);
	d.quiet = opt->quiet;
	active_display = &d;
	install_signal_handlers();

	listen_progress(conn);
	found = fetch_task(conn, task_id, &st, &lost);
	if (found < 0 && lost && reconnect(conn, &d))
		found = fetch_task(conn, task_id, &st, &lost);
	if (found == 0)
		error_msg("task %s not found (or not yours)", task_id);
	if (found <= 0)
		goto done;
	last_fetch = times_read_at = now_ms();
	last_elapsed = st.elapsed;
	last_eta = st.eta;
	drain_notifications(conn, task_id, &payload);
	draw(&d, &st, 0.0);

	while (!is_final(st.status))
	{
		struct pollfd pfd;
		long long	now = now_ms();
		long long	due = wake ? last_fetch + MIN_REFRESH_MS
			: last_fetch + POLL_INTERVAL_MS;
		int			timeout = due > now ? (int) (due - now) : 0;
		int			n;

		if (interrupted)
			break;
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
		{
			if (!reconnect(conn, &d))
				goto done;
			continue;
		}
		n = poll(&pfd, 1, timeout);
		if (n < 0 && errno != EINTR)
		{
			end_line(&d);
			error_msg("poll() failed: %s", strerror(errno));
			goto done;
		}
		if (n > 0)
		{
			if (!PQconsumeInput(conn))
			{
				if (!reconnect(conn, &d))
					goto done;
				wake = 1;
				continue;
			}
			if (drain_notifications(conn, task_id, &payload))
				wake = 1;
		}
		if (interrupted)
			break;

		now = now_ms();
		if (now < (wake ? last_fetch + MIN_REFRESH_MS : last_fetch + POLL_INTERVAL_MS))
			continue;

		found = fetch_task(conn, task_id, &st, &lost);
		if (found < 0 && lost)
		{
			if (!reconnect(conn, &d))
				goto done;
			found = fetch_task(conn, task_id, &st, &lost);
		}
		if (found <= 0)
		{
			end_line(&d);
			if (found == 0)
				error_msg("task %s disappeared", task_id);
			goto done;
		}
		last_fetch = now_ms();
		wake = 0;
		/* notifications that came in during the query: re-read soon */
		if (drain_notifications(conn, task_id, &payload))
			wake = 1;
		if (st.elapsed != last_elapsed || st.eta != last_eta)
		{
			times_read_at = last_fetch;
			last_elapsed = st.elapsed;
			last_eta = st.eta;
		}
		draw(&d, &st, (double) (last_fetch - times_read_at) / 1000.0);
	}

	if (interrupted)
		goto done;
	end_line(&d);
	rc = summarize(conn, task_id, &st, payload);

done:
	if (interrupted && (rc == EXIT_ERROR || !is_final(st.status)))
	{
		/* a fresh line, so the shell prompt does not land mid-line */
		if (d.tty)
			fputc('\n', stderr);
		fprintf(stderr, "%s: stopped watching task %s; it keeps running "
				"(\"%s cancel %s\" stops it)\n",
				PROGNAME, task_id, PROGNAME, task_id);
		rc = 128 + interrupted;
	}
	active_display = NULL;
	task_state_free(&st);
	free(d.last_step_name);
	free(payload);
	return rc;
}

/* submit: call backtest_submit() with parameters, print the task id. */
static int
cmd_submit(PGconn *conn, const Options *opt)
{
	const char *params[6];
	char	   *sql;
	PGresult   *res;
	char		task_id[32];
	int			rc;

	params[0] = opt->pos[1];	/* source: cast to regclass by the server */
	params[1] = opt->pos[2];
	params[2] = opt->pos[3];
	params[3] = opt->npos > 4 ? opt->pos[4] : "{}";
	params[4] = opt->start_ts;	/* NULL = SQL NULL = whole range */
	params[5] = opt->end_ts;

	sql = api_query(conn, "SELECT ",
					"backtest_submit($1::regclass, $2::text, $3::text, "
					"$4::jsonb, $5::timestamptz, $6::timestamptz)");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 6, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
		!parse_task_id(PQgetvalue(res, 0, 0), task_id, sizeof(task_id)))
	{
		error_msg("backtest_submit() did not return a task id");
		PQclear(res);
		return EXIT_ERROR;
	}
	PQclear(res);
	printf("submitted task %s\n", task_id);
	fflush(stdout);

	rc = EXIT_COMPLETED;
	if (opt->watch)
		rc = cmd_watch(conn, task_id, opt);
	return rc;
}

/* status: print backtest_status()'s row as "key: value" lines. */
static int
cmd_status(PGconn *conn, const char *task_id)
{
	const char *params[1];
	char	   *sql;
	PGresult   *res;
	int			i;
	int			idcol;
	int			found;

	params[0] = task_id;
	sql = api_query(conn, "SELECT * FROM ", "backtest_status($1::bigint)");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 1, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;

	/* no row, or the all-NULL row of a NULL composite: not found */
	found = PQntuples(res) > 0;
	if (found)
	{
		idcol = PQfnumber(res, "id");
		if (idcol >= 0)
			found = !PQgetisnull(res, 0, idcol);
		else
		{
			found = 0;
			for (i = 0; i < PQnfields(res); i++)
				if (!PQgetisnull(res, 0, i))
					found = 1;
		}
	}
	if (!found)
	{
		error_msg("task %s not found (or not yours)", task_id);
		PQclear(res);
		return EXIT_ERROR;
	}
	for (i = 0; i < PQnfields(res); i++)
		printf("%s: %s\n", PQfname(res, i),
			   PQgetisnull(res, 0, i) ? "" : PQgetvalue(res, 0, i));
	PQclear(res);
	return 0;
}

/* cancel: call backtest_cancel() and say what it answered. */
static int
cmd_cancel(PGconn *conn, const char *task_id)
{
	const char *params[1];
	char	   *sql;
	PGresult   *res;
	int			rc = 0;

	params[0] = task_id;
	sql = api_query(conn, "SELECT ", "backtest_cancel($1::bigint)");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 1, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		error_msg("task %s not found (or not yours)", task_id);
		rc = EXIT_ERROR;
	}
	else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		printf("cancel requested for task %s\n", task_id);
	else
		printf("task %s is already finished\n", task_id);
	PQclear(res);
	return rc;
}

/*
 * report: write backtest_report_html(TASK_ID) to OUTPUT (NULL: stdout).
 * The file is written to OUTPUT.tmp and renamed, so a failed report never
 * leaves a truncated page behind.
 */
static int
cmd_report(PGconn *conn, const char *task_id, const char *output)
{
	const char *params[1];
	char	   *sql;
	PGresult   *res;
	const char *html;
	size_t		len;
	FILE	   *f = stdout;
	char	   *tmp = NULL;
	int			rc = 0;

	params[0] = task_id;
	sql = api_query(conn, "SELECT ", "backtest_report_html($1::bigint)");
	if (sql == NULL)
		return EXIT_ERROR;
	res = run_query(conn, sql, 1, params, PGRES_TUPLES_OK, 0);
	free(sql);
	if (res == NULL)
		return EXIT_ERROR;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		error_msg("no report for task %s", task_id);
		PQclear(res);
		return EXIT_ERROR;
	}
	html = PQgetvalue(res, 0, 0);
	len = strlen(html);
	if (output != NULL && strcmp(output, "-") != 0)
	{
		tmp = malloc(strlen(output) + 5);
		if (tmp == NULL)
		{
			error_msg("out of memory");
			PQclear(res);
			return EXIT_ERROR;
		}
		sprintf(tmp, "%s.tmp", output);
		f = fopen(tmp, "w");
		if (f == NULL)
		{
			error_msg("could not open \"%s\": %s", tmp, strerror(errno));
			free(tmp);
			PQclear(res);
			return EXIT_ERROR;
		}
	}
	if (fwrite(html, 1, len, f) != len || fflush(f) != 0)
	{
		error_msg("could not write the report: %s", strerror(errno));
		rc = EXIT_ERROR;
	}
	if (f != stdout)
	{
		if (fclose(f) != 0 && rc == 0)
		{
			error_msg("could not write \"%s\": %s", tmp, strerror(errno));
			rc = EXIT_ERROR;
		}
		if (rc == 0 && rename(tmp, output) != 0)
		{
			error_msg("could not rename \"%s\" to \"%s\": %s", tmp, output, strerror(errno));
			rc = EXIT_ERROR;
		}
		if (rc != 0)
			unlink(tmp);
		else
			printf("wrote the report of task %s to %s (%zu bytes)\n", task_id, output, len);
		free(tmp);
	}
	PQclear(res);
	return rc;
}

/* Parse the command line, connect, run the command. */
int
main(int argc, char **argv)
{
	Options		opt;
	PGconn	   *conn;
	const char *cmd;
	char		task_id[32];
	int			rc;
	int			is_submit;

	rc = parse_args(argc, argv, &opt);
	if (rc >= 0)
		return rc;
	if (opt.npos == 0)
		return usage_error("no command given", NULL);

	cmd = opt.pos[0];
	is_submit = strcmp(cmd, "submit") == 0;
	if (is_submit)
	{
		if (opt.npos < 4)
			return usage_error("submit needs SOURCE SYMBOL STRATEGY", NULL);
		if (opt.npos > 5)
			return usage_error("too many arguments", opt.pos[5]);
	}
	else if (strcmp(cmd, "notifications") == 0)
	{
		rc = check_notifications_args(&opt);
		if (rc >= 0)
			return rc;
	}
	else if (strcmp(cmd, "watch") == 0 && opt.all)
	{
		if (opt.npos != 1)
			return usage_error("watch --all takes no TASK_ID", opt.pos[1]);
	}
	else if (strcmp(cmd, "watch") == 0 || strcmp(cmd, "status") == 0 ||
			 strcmp(cmd, "cancel") == 0 || strcmp(cmd, "report") == 0)
	{
		if (opt.npos != 2)
			return usage_error(opt.npos < 2 ? "missing TASK_ID" : "too many arguments",
							   opt.npos < 2 ? NULL : opt.pos[2]);
		if (!parse_task_id(opt.pos[1], task_id, sizeof(task_id)))
			return usage_error("invalid task id", opt.pos[1]);
	}
	else if (strcmp(cmd, "live") == 0)
	{
		if (opt.stream ? opt.npos != 1 : opt.npos != 3)
			return usage_error(opt.stream ? "--stream goes without SOURCE SYMBOL" :
							   opt.npos < 3 ? "live needs SOURCE SYMBOL, or --stream ID" :
							   "too many arguments", opt.npos > 3 ? opt.pos[3] : NULL);
		if (opt.stream && (opt.strategy || opt.params || opt.indicators))
			return usage_error("--strategy, --params and --indicators start a stream: not with --stream", NULL);
	}
	else
		return usage_error("unknown command", cmd);
	if (strcmp(cmd, "live") != 0 && (opt.strategy || opt.params || opt.indicators || opt.stream))
		return usage_error("--strategy, --params, --indicators and --stream go with live", NULL);
	if (!is_submit && (opt.start_ts || opt.end_ts || opt.watch))
		return usage_error("--start, --end and --watch go with submit", NULL);
	if (opt.output && strcmp(cmd, "report") != 0)
		return usage_error("-o goes with report", NULL);
	if ((opt.all && strcmp(cmd, "notifications") != 0 && strcmp(cmd, "watch") != 0) ||
		(opt.limit && strcmp(cmd, "notifications") != 0))
		return usage_error("--all goes with notifications and watch, --limit with notifications", NULL);
	if (opt.until_idle && !(strcmp(cmd, "watch") == 0 && opt.all))
		return usage_error("--until-idle goes with watch --all", NULL);

	conn = connect_db(&opt);
	if (conn == NULL)
		return EXIT_ERROR;

	if (is_submit)
		rc = cmd_submit(conn, &opt);
	else if (strcmp(cmd, "notifications") == 0)
		rc = cmd_notifications(conn, &opt);
	else if (strcmp(cmd, "watch") == 0 && opt.all)
		rc = cmd_watch_all(conn, &opt);
	else if (strcmp(cmd, "watch") == 0)
		rc = cmd_watch(conn, task_id, &opt);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(conn, task_id);
	else if (strcmp(cmd, "report") == 0)
		rc = cmd_report(conn, task_id, opt.output);
	else if (strcmp(cmd, "live") == 0)
	{
		LiveArgs	la;

		la.stream = opt.stream;
		la.source = opt.stream ? NULL : opt.pos[1];
		la.symbol = opt.stream ? NULL : opt.pos[2];
		la.strategy = opt.strategy;
		la.params = opt.params;
		la.indicators = opt.indicators;
		install_signal_handlers();
		rc = cli_live(conn, &la, &interrupted);
	}
	else
		rc = cmd_cancel(conn, task_id);

	PQfinish(conn);
	return rc;
}
