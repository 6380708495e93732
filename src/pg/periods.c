/*-------------------------------------------------------------------------
 *
 * periods.c
 *	  backtest_period_returns: one row per calendar period (day, ISO week,
 *	  month, year; UTC) with its return, closed trades and the drawdown
 *	  inside it, for BI tools' monthly-returns tables.  The arithmetic is
 *	  the engine's (bt_periods_fill); this file turns rows into tuples and
 *	  reads a finished task's stored curve.  The synchronous forms are in
 *	  run.c (they share its argument parsing).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/periods.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "core/columns.h"
#include "core/params.h"
#include "core/timestamps.h"
#include "chart.h"
#include "periods.h"
#include "portfolio.h"

PG_FUNCTION_INFO_V1(backtest_period_returns_task);

/*
 * btpg_period_arg
 *		The period of argument `arg`: "day", "week", "month" or "year".
 */
BtPeriod
btpg_period_arg(FunctionCallInfo fcinfo, int arg)
{
	BtPeriod	period = BT_PERIOD_MONTH;
	char	   *name;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the period must not be NULL"),
				 errhint("The periods are day, week, month and year.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	if (!bt_period_parse(name, &period))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown period \"%s\"", name),
				 errhint("The periods are day, week, month and year.")));
	return period;
}

/* A float8 datum, NULL when not finite */
static inline void
put_float(Datum *values, bool *nulls, int i, double x)
{
	nulls[i] = !isfinite(x);
	values[i] = nulls[i] ? (Datum) 0 : Float8GetDatum(x);
}

/*
 * btpg_period_rows
 *		Emit the period rows (see periods.h).
 */
void
btpg_period_rows(FunctionCallInfo fcinfo, const int64_t *ts, const double *equity, int64 n,
				 double base, const int64_t *exits, int64 nexits, BtPeriod period)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		nrows = bt_periods_count(ts, n, period);
	BtPeriodRow *rows = palloc_extended(sizeof(BtPeriodRow) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	Datum		values[BTPG_PERIOD_NATTS];
	bool		nulls[BTPG_PERIOD_NATTS];

	if (rsinfo->setDesc->natts != BTPG_PERIOD_NATTS)
		elog(ERROR, "backtest_period_returns returns %d columns, expected %d",
			 rsinfo->setDesc->natts, BTPG_PERIOD_NATTS);
	nrows = bt_periods_fill(ts, equity, n, base, exits, nexits, period, rows);
	for (int64 k = 0; k < nrows; k++)
	{
		const BtPeriodRow *r = &rows[k];

		memset(nulls, 0, sizeof(nulls));
		values[0] = TimestampTzGetDatum(btpg_ts_from_engine(r->start));
		values[1] = TimestampTzGetDatum(btpg_ts_from_engine(r->end));
		values[2] = Int64GetDatum(r->last_bar - r->first_bar + 1);
		put_float(values, nulls, 3, r->equity_start);
		put_float(values, nulls, 4, r->equity_end);
		put_float(values, nulls, 5, r->return_pct);
		values[6] = Int64GetDatum(r->trades);
		put_float(values, nulls, 7, r->max_drawdown_pct);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * btpg_task_curve
 *		The stored curve of completed task task_id, read as the caller (row
 *		security applies: a task the caller cannot see does not exist): its
 *		strategy, params text and the timestamps and equity of
 *		backtest.equity_curves, or of backtest.portfolio_equity_curves for
 *		a portfolio task (returns true then), into *c, allocated in cxt.
 *		Errors for a missing task, a sweep and an unfinished task (`what`
 *		starts the hint: "Period returns need a completed task").  Caller
 *		has SPI connected.
 */
bool
btpg_task_curve(MemoryContext cxt, int64 task_id, const char *what, BtpgStoredCurve *c)
{
	char	   *kind,
			   *status;
	bool		portfolio;

	if (btpg_task_read("SELECT t.kind, t.status, t.strategy, t.params FROM backtest.tasks t"
					   " WHERE t.id OPERATOR(pg_catalog.=) $1", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld does not exist", (long long) task_id)));
	kind = btpg_task_read_string(cxt, 1);
	status = btpg_task_read_string(cxt, 2);
	portfolio = strcmp(kind, "portfolio") == 0;
	if (!portfolio && strcmp(kind, "backtest") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("task %lld is a %s, not a backtest or a portfolio", (long long) task_id, kind),
				 errhint("A sweep stores no equity curve: submit its best combination as a backtest.")));
	if (strcmp(status, "completed") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task %lld is %s, not completed", (long long) task_id, status),
				 errhint("%s need a completed task; see backtest_status().", what)));
	c->strategy = btpg_task_read_string(cxt, 3);
	c->params_text = btpg_task_read_string(cxt, 4);
	if (btpg_task_read(portfolio ?
					   "SELECT c.ts, c.equity FROM backtest.portfolio_equity_curves c"
					   " WHERE c.task_id OPERATOR(pg_catalog.=) $1" :
					   "SELECT c.ts, c.equity FROM backtest.equity_curves c"
					   " WHERE c.task_id OPERATOR(pg_catalog.=) $1", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld has no stored equity curve", (long long) task_id)));
	c->n = btpg_task_read_array(cxt, 1, TIMESTAMPTZOID, (void **) &c->ts);
	if (btpg_task_read_array(cxt, 2, FLOAT8OID, (void **) &c->equity) != c->n)
		elog(ERROR, "stored equity curve of task %lld has arrays of different lengths",
			 (long long) task_id);
	return portfolio;
}

/*
 * backtest_period_returns(task_id bigint, period text)
 *		The period rows of a completed backtest or portfolio task from its
 *		stored equity (account) curve and closed trades (a portfolio's of
 *		every symbol), read as the caller (row security applies: a task the
 *		caller cannot see does not exist).  The base is the task's
 *		initial_capital.
 */
Datum
backtest_period_returns_task(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		task_id;
	BtPeriod	period;
	BtpgStoredCurve c;
	bool		portfolio;
	Jsonb	   *params;
	double		base;
	int64_t    *exits = NULL;
	int64		nexits = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the task id must not be NULL")));
	task_id = PG_GETARG_INT64(0);
	period = btpg_period_arg(fcinfo, 1);
	SetSingleFuncCall(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portfolio = btpg_task_curve(cxt, task_id, "Period returns", &c);
	/* the base: the task's initial capital (its params as run) */
	params = c.params_text ?
		DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(c.params_text))) : NULL;
	if (portfolio)
	{
		/* the account's, parsed as the portfolio task's run parsed it */
		BtpgPortfolio pc;

		memset(&pc, 0, sizeof(pc));
		pc.strategy = c.strategy;
		pc.params = params;
		btpg_portfolio_prepare(&pc);
		base = pc.p.account.initial_capital;
	}
	else
	{
		BtConfig	cfg;
		BtpgColumns	cols;

		btpg_parse_backtest_params(params, btpg_lookup_strategy(c.strategy), &cfg, &cols);
		base = cfg.sim.initial_capital;
	}
	if (btpg_task_read("SELECT pg_catalog.array_agg(t.exit_ts ORDER BY t.exit_ts)"
					   " FROM backtest.trades t WHERE t.task_id OPERATOR(pg_catalog.=) $1"
					   " AND NOT t.is_open", task_id) == 1)
	{
		bool		isnull;

		(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			nexits = btpg_task_read_array(cxt, 1, TIMESTAMPTZOID, (void **) &exits);
	}
	btpg_period_rows(fcinfo, c.ts, c.equity, c.n, base, exits, nexits, period);
	SPI_finish();
	return (Datum) 0;
}
