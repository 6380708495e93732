/*-------------------------------------------------------------------------
 *
 * portfolio_task.c
 *	  Portfolio backtests through the task queue:
 *	  backtest_submit_portfolio() and backtest_submit_portfolio_query(),
 *	  and the "portfolio" task kind a task worker runs them with
 *	  (registered from _PG_init; see queue/task_kind.h).
 *
 * A portfolio task is planned from its row like a backtest_portfolio()
 * call (btpg_portfolio_prepare: the same parsing and errors), loads every
 * symbol as the task's owner (btpg_portfolio_load), runs the engine
 * outside any transaction with the task's progress and cancel, and stores
 * exactly what backtest_portfolio, backtest_portfolio_trades and
 * backtest_portfolio_equity return: the results row with the portfolio's
 * columns, the trades with their symbol, and the account curve as one row
 * of arrays in backtest.portfolio_equity_curves.  Only this file of the
 * portfolios knows the queue.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/portfolio_task.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/loader.h"
#include "core/params.h"
#include "core/results.h"
#include "core/timestamps.h"
#include "portfolio.h"
#include "queue/task_kind.h"

PG_FUNCTION_INFO_V1(backtest_submit_portfolio);
PG_FUNCTION_INFO_V1(backtest_submit_portfolio_query);

/* backtest.results' columns of a portfolio, after the metrics (NULL-terminated) */
static const char *const pf_result_columns[BTPG_PF_EXTRA_NATTS + 1] = {
	"n_symbols", "max_positions_held", "avg_positions_held", "turnover", "entries_skipped",
	"alpha", "beta", "benchmark_return_pct", NULL
};

/*
 * Submit: the arguments of backtest_portfolio(_query), parsed and checked
 * as it checks them, each symbol's parameters where the symbols are named,
 * the source's columns and privileges without reading it; what needs the
 * rows (unknown symbols, the benchmark, the bars) fails the task in the
 * worker with backtest_portfolio's message.
 */
static Datum
submit_portfolio(FunctionCallInfo fcinfo, bool query_source)
{
	BtpgPortfolio c;
	BtConfig	cfg;
	Jsonb	   *params;

	btpg_portfolio_args(fcinfo, query_source, &c);
	if (c.maps == NULL)
		btpg_params_for_symbol(NULL, &c.base, NULL, &cfg);
	else if (c.wanted != NULL)
		for (int i = 0; i < c.nwanted; i++)
			btpg_params_for_symbol(c.maps, &c.base, c.wanted[i], &cfg);
	btpg_validate_source(&c.spec);
	params = c.params ? c.params :
		DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	PG_RETURN_INT64(btpg_insert_task_of("portfolio", c.relid, c.query, c.strategy, params,
										c.symbols, c.has_start, c.start_ts, c.has_end, c.end_ts));
}

/*
 * backtest_submit_portfolio(source regclass, strategy text, params jsonb,
 *							 symbols text[], start_ts timestamptz,
 *							 end_ts timestamptz) returns bigint
 *		Validate like backtest_portfolio, queue, and return the task id.
 */
Datum
backtest_submit_portfolio(PG_FUNCTION_ARGS)
{
	return submit_portfolio(fcinfo, false);
}

/*
 * backtest_submit_portfolio_query(query text, strategy text, params jsonb)
 *		returns bigint
 *		The query-source form; the query runs in the worker as the
 *		submitting role.
 */
Datum
backtest_submit_portfolio_query(PG_FUNCTION_ARGS)
{
	return submit_portfolio(fcinfo, true);
}

/* ---- the task kind ------------------------------------------------------- */

/* Parse the task as backtest_portfolio parses its call (BtpgTaskKind.plan_task) */
static void *
pf_task_plan(TaskRun *run, const BtpgTaskRow *row)
{
	BtpgPortfolio *c = palloc0(sizeof(BtpgPortfolio));

	c->relid = row->relid;
	c->query = row->query;
	c->strategy = row->strategy;
	c->params = row->params;
	c->symbols = row->symbols;
	c->has_start = row->has_start;
	c->start_ts = row->start_ts;
	c->has_end = row->has_end;
	c->end_ts = row->end_ts;
	btpg_portfolio_prepare(c);
	return c;
}

/* Read every symbol as the task's owner (BtpgTaskKind.load) */
static int64
pf_task_load(TaskRun *run, void *state)
{
	BtpgPortfolio *c = state;
	int64		bars = 0;

	btpg_portfolio_load(c);
	for (int i = 0; i < c->nsym; i++)
		bars += c->syms[i].s.n;
	return bars;
}

/* The engine, with the task's progress and cancel (BtpgTaskKind.execute) */
static void
pf_task_execute(TaskRun *run, void *state, const BtSeries *s)
{
	btpg_portfolio_execute((BtpgPortfolio *) state, btpg_task_progress, run);
}

/* Row 0 of the results: the metrics, then the portfolio's columns */
static void
pf_result_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	const BtPfResult *res = arg;

	btpg_metrics_values(&res->metrics, values, nulls);
	btpg_portfolio_values(res, values + BTPG_METRICS_NATTS, nulls + BTPG_METRICS_NATTS);
}

/* Row r of the trades: the symbol, then backtest_portfolio_trades' columns */
typedef struct PfTradeRows
{
	const BtpgPortfolio *c;
	int64	   *nos;			/* trade numbers, per symbol from 0 */
} PfTradeRows;

static void
pf_trade_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	const PfTradeRows *rows = arg;
	const BtPfTrade *t = &rows->c->res.trades[r];

	values[0] = CStringGetTextDatum(rows->c->syms[t->sym].name);
	nulls[0] = false;
	btpg_trade_values(&t->t, rows->nos[r], values + 1, nulls + 1);
}

/*
 * Store the results row, the trades and the account curve, and complete
 * the task (BtpgTaskKind.save)
 */
static void
pf_task_save(TaskRun *run, void *state, const BtSeries *s)
{
	BtpgPortfolio *c = state;
	const BtPfResult *r = &c->res;
	MemoryContext cxt = CurrentMemoryContext;
	int64		n = r->n;
	int64		nt = r->ntrades;

	btpg_begin_txn("pg_backtest: saving portfolio results");
	MemoryContextSwitchTo(cxt);
	{
		/* the first columns of backtest.results are backtest_metrics' */
		Oid			types[BTPG_METRICS_NATTS + BTPG_PF_EXTRA_NATTS];
		StringInfoData names;
		static const Oid pftypes[BTPG_PF_EXTRA_NATTS] = {
			INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID
		};

		initStringInfo(&names);
		if (btpg_task_table_columns("backtest.results", pf_result_columns, &names, types,
									BTPG_METRICS_NATTS) < BTPG_METRICS_NATTS)
			elog(ERROR, "backtest.results lacks the metrics columns: reinstall the extension");
		for (int i = 0; i < BTPG_PF_EXTRA_NATTS; i++)
		{
			appendStringInfo(&names, ", %s", pf_result_columns[i]);
			types[BTPG_METRICS_NATTS + i] = pftypes[i];
		}
		btpg_task_insert_rows_into(run, "backtest.results", names.data,
								   BTPG_METRICS_NATTS + BTPG_PF_EXTRA_NATTS, types, 1,
								   pf_result_row, (void *) r);
	}
	if (nt > 0)
	{
		static const char *const skip[] = {"symbol", NULL};
		Oid			types[1 + BTPG_TRADES_NATTS];
		StringInfoData names;
		PfTradeRows rows = {c, palloc(sizeof(int64) * nt)};

		/* numbered per symbol, as backtest_portfolio_trades numbers them */
		for (int64 k = 0; k < nt; k++)
			rows.nos[k] = k > 0 && r->trades[k].sym == r->trades[k - 1].sym ? rows.nos[k - 1] + 1 : 0;
		initStringInfo(&names);
		appendStringInfoString(&names, ", symbol");
		types[0] = TEXTOID;
		if (btpg_task_table_columns("backtest.trades", skip, &names, types + 1, BTPG_TRADES_NATTS)
			!= BTPG_TRADES_NATTS)
			elog(ERROR, "backtest.trades does not have the columns of backtest_trades: reinstall the extension");
		btpg_task_insert_rows_into(run, "backtest.trades", names.data, 1 + BTPG_TRADES_NATTS, types,
								   nt, pf_trade_row, &rows);
	}
	{
		/* (the drawdown is derived from equity by backtest.portfolio_equity: not stored) */
		const BtpgTaskCurveColumn cols[] = {
			{"ts", r->ts, TIMESTAMPTZOID},
			{"cash", r->cash, FLOAT8OID},
			{"positions_value", r->value, FLOAT8OID},
			{"equity", r->equity, FLOAT8OID},
			{"open_positions", r->open_positions, INT4OID},
		};

		btpg_task_save_curve(run, "backtest.portfolio_equity_curves", cols, lengthof(cols), n);
	}
	{
		StringInfoData extra;

		initStringInfo(&extra);
		btpg_task_summary_json(&extra, &r->metrics);
		btpg_task_complete(run, psprintf("%d symbols, " INT64_FORMAT " timestamps, " INT64_FORMAT " trades",
										 c->nsym, n, r->metrics.trades_count),
						   extra.data);
	}
	btpg_end_txn();
	MemoryContextSwitchTo(cxt);
}

static const BtpgTaskKind portfolio_task_kind = {
	.name = "portfolio",
	.plan_task = pf_task_plan,
	.load = pf_task_load,
	.execute = pf_task_execute,
	.save = pf_task_save
};

/*
 * btpg_portfolio_register_task_kind
 *		Register the "portfolio" task kind; from _PG_init.
 */
void
btpg_portfolio_register_task_kind(void)
{
	btpg_register_task_kind(&portfolio_task_kind);
}
