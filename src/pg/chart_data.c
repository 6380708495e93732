/*-------------------------------------------------------------------------
 *
 * chart_data.c
 *	  Gather what a chart or report shows (chart.h): run a backtest from
 *	  the arguments of backtest_run, or read a finished task's stored
 *	  metrics, equity curve and trades, and compute the indicators asked
 *	  for through the engine's registry exactly as backtest_indicator does.
 *
 * Everything is read through SPI as the caller, so privileges and row-level
 * security apply: a task the caller cannot see "does not exist".  The
 * queries name schema-qualified tables and qualify their operators, so the
 * caller's search_path cannot change them.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart_data.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/params.h"
#include "core/results.h"
#include "core/timestamps.h"
#include "bt_chart.h"
#include "chart.h"

/* Indicators one chart takes */
#define CHART_MAX_INDICATORS	8

/* Registry names whose outputs are prices: drawn over the price panel */
static const char *const price_overlays[] = {"sma", "ema", "wma", "bbands", "donchian"};

void
btpg_chart_check_size(int width, int height)
{
	if (width < 300 || width > 8000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("width must be between 300 and 8000 pixels, not %d", width)));
	if (height < 200 || height > 8000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("height must be between 200 and 8000 pixels, not %d", height)));
}

/* Take the equity curve, trades and metrics of a run into cd */
static void
take_result(BtpgChartData *cd, const BtSeries *s, BtResult *res)
{
	cd->n = res->n;
	cd->ts = (int64_t *) s->ts;
	cd->close = (double *) s->close;
	cd->equity = res->equity;
	cd->dd = palloc(sizeof(double) * Max(cd->n, 1));
	bt_drawdown_pct(cd->equity, cd->n, cd->dd);
	cd->trades = res->trades;
	cd->ntrades = res->ntrades;
	btpg_metrics_values(&res->metrics, cd->metrics, cd->mnulls);
}

/* Interrupts only: a synchronous portfolio run */
static int
chart_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/* Index of name among the sorted lanes of cd (binary search), or an error */
static int
lane_of(const BtpgChartData *cd, const char *name)
{
	int			lo = 0,
				hi = cd->nsym - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(cd->sym_names[mid], name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	elog(ERROR, "trade of symbol \"%s\" outside the portfolio", name);
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The strategy, params text and base configuration of a portfolio call c */
static void
take_portfolio_call(BtpgChartData *cd, const BtpgPortfolio *c)
{
	cd->strategy = pstrdup(c->strategy);
	cd->params_text = c->params ? JsonbToCString(NULL, &c->params->root, VARSIZE(c->params)) : "{}";
	cd->cfg = c->base;
	cd->cfg.strategy = c->st;
}

void
btpg_chart_from_portfolio_args(FunctionCallInfo fcinfo, BtpgChartData *cd)
{
	BtpgPortfolio c;
	const BtPfResult *r;

	memset(cd, 0, sizeof(*cd));
	btpg_portfolio_args(fcinfo, false, &c);
	btpg_portfolio_load(&c);
	btpg_portfolio_execute(&c, chart_progress, NULL);
	r = &c.res;
	take_portfolio_call(cd, &c);
	cd->portfolio = true;
	cd->n = r->n;
	cd->ts = r->ts;
	cd->equity = r->equity;
	cd->cash = r->cash;
	cd->open_positions = r->open_positions;
	cd->dd = palloc(sizeof(double) * Max(cd->n, 1));
	bt_drawdown_pct(cd->equity, cd->n, cd->dd);
	/* the lanes: the symbols that traded (all a task's stored results name), in name order */
	cd->ntrades = r->ntrades;
	cd->trades = palloc(sizeof(BtTrade) * Max(r->ntrades, 1));
	cd->trade_sym = palloc(sizeof(int) * Max(r->ntrades, 1));
	cd->sym_names = palloc(sizeof(char *) * Max(c.nsym, 1));
	for (int i = 0; i < c.nsym; i++)
		cd->sym_names[i] = (char *) c.syms[i].name;
	qsort(cd->sym_names, c.nsym, sizeof(char *), cmp_names);
	{
		bool	   *traded = palloc0(sizeof(bool) * Max(c.nsym, 1));
		int			k = 0;

		cd->nsym = c.nsym;
		for (int64 t = 0; t < r->ntrades; t++)
			traded[lane_of(cd, c.syms[r->trades[t].sym].name)] = true;
		for (int i = 0; i < c.nsym; i++)
			if (traded[i])
				cd->sym_names[k++] = cd->sym_names[i];
		cd->nsym = k;
	}
	for (int64 t = 0; t < r->ntrades; t++)
	{
		cd->trades[t] = r->trades[t].t;
		cd->trade_sym[t] = lane_of(cd, c.syms[r->trades[t].sym].name);
	}
	btpg_metrics_values(&r->metrics, cd->metrics, cd->mnulls);
	btpg_portfolio_values(r, cd->pfmetrics, cd->pfnulls);
}

static void parse_indicators(Jsonb *spec, BtpgChartData *cd);
static void compute_indicators(BtpgChartData *cd);
static BtExitReason exit_reason_from_name(const char *s);

/*
 * load_bars
 *		Load the bars of a backtest's source as its run did, into cd->bars,
 *		plus the volume column when an indicator of the chart needs it
 *		(the run reads it only for strategies that do).
 */
static void
load_bars(BtpgChartData *cd, BtpgLoadSpec *spec, Jsonb *params)
{
	const BtStrategyDef *st = btpg_lookup_strategy(cd->strategy);
	bool		ind_volume = false;

	btpg_parse_backtest_params(params, st, &cd->cfg, &spec->cols);
	for (int i = 0; i < cd->nind; i++)
		ind_volume |= (cd->ind[i].def->inputs & BT_IN_VOLUME) != 0;
	if (ind_volume && spec->cols.name[BTCOL_VOLUME] == NULL)
	{
		BtpgColumns	c2;
		JsonbValue	key;
		JsonbValue *v = NULL;
		const BtIndicatorDef *def = NULL;

		/* the volume column the params name (or the default) */
		btpg_columns_defaults(&c2);
		key.type = jbvString;
		key.val.string.val = "columns";
		key.val.string.len = 7;
		if (params != NULL && JB_ROOT_IS_OBJECT(params))
			v = findJsonbValueFromContainer(&params->root, JB_FOBJECT, &key);
		if (v != NULL)
			btpg_parse_columns(v, &c2);
		spec->cols.name[BTCOL_VOLUME] = c2.name[BTCOL_VOLUME];
		for (int i = 0; i < cd->nind; i++)
			if (cd->ind[i].def->inputs & BT_IN_VOLUME)
				def = cd->ind[i].def;
		if (spec->cols.name[BTCOL_VOLUME] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("indicator \"%s\" needs a volume column", def->name),
					 errhint("Name it in the backtest's \"columns\", for example {\"columns\": {\"volume\": \"qty\"}}.")));
	}
	spec->need_volume = spec->cols.name[BTCOL_VOLUME] != NULL;
	spec->need_signal = st->needs_signal;
	btpg_load_series(spec, &cd->bars);
	compute_indicators(cd);
}

void
btpg_chart_from_args(FunctionCallInfo fcinfo, Jsonb *indicators, BtpgChartData *cd)
{
	BtpgLoadSpec	spec;
	Jsonb	   *params;
	BtResult	res;

	memset(cd, 0, sizeof(*cd));
	memset(&spec, 0, sizeof(spec));
	btpg_args_require_source(fcinfo);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies().")));
	cd->strategy = text_to_cstring(PG_GETARG_TEXT_PP(2));
	params = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	cd->params_text = params ? JsonbToCString(NULL, &params->root, VARSIZE(params)) : "{}";
	btpg_args_table_source(fcinfo, 1, 4, 5, &spec);
	cd->symbol = (char *) spec.symbol;
	parse_indicators(indicators, cd);
	load_bars(cd, &spec, params);
	btpg_run_engine(&cd->bars, &cd->cfg, &res);
	take_result(cd, &cd->bars, &res);
}

/* Run a one-parameter (bigint) query as the caller; returns SPI_processed */
uint64
btpg_task_read(const char *sql, int64 task_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(task_id)};
	int			rc = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading task %lld failed: %s", (long long) task_id,
			 SPI_result_code_string(rc));
	return SPI_processed;
}

/* Column col (1-based) of row 0 as a string copied into cxt, or NULL */
char *
btpg_task_read_string(MemoryContext cxt, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

/* A stored float8[] or timestamptz[] (column col of row 0) as a C array in cxt */
int64
btpg_task_read_array(MemoryContext cxt, int col, Oid elemtype, void **out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	MemoryContext old;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (isnull)
		elog(ERROR, "stored equity curve has a NULL array");
	old = MemoryContextSwitchTo(cxt);
	/* a copy in cxt: SPI_finish frees the row (and the detoasted value) */
	arr = DatumGetArrayTypePCopy(d);
	if (ARR_NDIM(arr) == 1 && !ARR_HASNULL(arr) && ARR_ELEMTYPE(arr) == elemtype)
	{
		/* the elements are the C array (8 bytes each, no padding): no copy */
		int64		len = ARR_DIMS(arr)[0];

		if (elemtype == TIMESTAMPTZOID)
		{
			int64_t    *v = (int64_t *) ARR_DATA_PTR(arr);

			for (int64 i = 0; i < len; i++)
				v[i] = btpg_ts_to_engine((TimestampTz) v[i]);
		}
		*out = ARR_DATA_PTR(arr);
		MemoryContextSwitchTo(old);
		return len;
	}
	deconstruct_array(arr, elemtype, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (elemtype == TIMESTAMPTZOID)
	{
		int64_t    *v = palloc(sizeof(int64_t) * Max(n, 1));

		for (int i = 0; i < n; i++)
			v[i] = btpg_ts_to_engine(DatumGetTimestampTz(elems[i]));
		*out = v;
	}
	else
	{
		double	   *v = palloc(sizeof(double) * Max(n, 1));

		for (int i = 0; i < n; i++)
			v[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
		*out = v;
	}
	MemoryContextSwitchTo(old);
	return n;
}

static BtExitReason
exit_reason_from_name(const char *s)
{
	for (int r = BT_EXIT_SIGNAL; r <= BT_EXIT_END; r++)
		if (strcmp(s, bt_exit_reason_name((BtExitReason) r)) == 0)
			return (BtExitReason) r;
	return BT_EXIT_SIGNAL;
}

/*
 * The task's results row read by sql (one bigint parameter, the task id):
 * its n columns copied into values/nulls in cxt; an error when there is none.
 */
static void
task_result_row(MemoryContext cxt, int64 task_id, const char *sql, int n, Datum *values,
				bool *nulls)
{
	if (btpg_task_read(sql, task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld has no stored results", (long long) task_id)));
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, i);
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &nulls[i]);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		values[i] = nulls[i] ? (Datum) 0 : datumCopy(d, att->attbyval, att->attlen);
		MemoryContextSwitchTo(old);
	}
}

/*
 * The stored trades of task task_id into cd (with_symbol, a portfolio's:
 * ordered by symbol, their lanes into cd->trade_sym, cd->sym_names the
 * symbols that traded).  Caller has SPI connected.
 */
static void
read_task_trades(MemoryContext cxt, int64 task_id, BtpgChartData *cd, bool with_symbol)
{
	int			o = with_symbol ? 1 : 0;
	bool		isnull;

	cd->ntrades = btpg_task_read(psprintf("SELECT %st.side, t.entry_ts, t.entry_price, t.exit_ts, t.exit_price,"
									  " t.quantity, t.pnl, t.return_pct, t.exit_reason, t.is_open, t.commission"
									  " FROM backtest.trades t WHERE t.task_id OPERATOR(pg_catalog.=) $1"
									  " ORDER BY %st.trade_no", with_symbol ? "t.symbol, " : "",
									  with_symbol ? "t.symbol COLLATE pg_catalog.\"C\", " : ""), task_id);
	cd->trades = MemoryContextAllocZero(cxt, sizeof(BtTrade) * Max(cd->ntrades, 1));
	if (with_symbol)
	{
		cd->trade_sym = MemoryContextAllocZero(cxt, sizeof(int) * Max(cd->ntrades, 1));
		cd->sym_names = MemoryContextAllocZero(cxt, sizeof(char *) * Max(cd->ntrades, 1));
	}
	for (uint64 k = 0; k < cd->ntrades; k++)
	{
		HeapTuple	tup = SPI_tuptable->vals[k];
		TupleDesc	td = SPI_tuptable->tupdesc;
		BtTrade    *t = &cd->trades[k];

		if (with_symbol)
		{
			char	   *sym = SPI_getvalue(tup, td, 1);

			if (sym == NULL)
				elog(ERROR, "a trade of portfolio task %lld has no symbol", (long long) task_id);
			if (cd->nsym == 0 || strcmp(cd->sym_names[cd->nsym - 1], sym) != 0)
				cd->sym_names[cd->nsym++] = MemoryContextStrdup(cxt, sym);
			cd->trade_sym[k] = cd->nsym - 1;
		}
		t->side = strcmp(SPI_getvalue(tup, td, o + 1), "long") == 0 ? 1 : -1;
		t->entry_ts = btpg_ts_to_engine(DatumGetTimestampTz(SPI_getbinval(tup, td, o + 2, &isnull)));
		t->entry_price = DatumGetFloat8(SPI_getbinval(tup, td, o + 3, &isnull));
		t->exit_ts = btpg_ts_to_engine(DatumGetTimestampTz(SPI_getbinval(tup, td, o + 4, &isnull)));
		t->exit_price = DatumGetFloat8(SPI_getbinval(tup, td, o + 5, &isnull));
		t->quantity = DatumGetFloat8(SPI_getbinval(tup, td, o + 6, &isnull));
		t->pnl = DatumGetFloat8(SPI_getbinval(tup, td, o + 7, &isnull));
		t->return_pct = DatumGetFloat8(SPI_getbinval(tup, td, o + 8, &isnull));
		t->exit_reason = exit_reason_from_name(SPI_getvalue(tup, td, o + 9));
		t->is_open = DatumGetBool(SPI_getbinval(tup, td, o + 10, &isnull));
		t->commission = DatumGetFloat8(SPI_getbinval(tup, td, o + 11, &isnull));
	}
}

/* A stored integer[] (column col of row 0) as a C array in cxt */
static int64
task_int_array(MemoryContext cxt, int col, int32 **out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	MemoryContext old;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (isnull)
		elog(ERROR, "stored account curve has a NULL array");
	old = MemoryContextSwitchTo(cxt);
	deconstruct_array(DatumGetArrayTypeP(d), INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(int32) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*out)[i] = nulls[i] ? 0 : DatumGetInt32(elems[i]);
	MemoryContextSwitchTo(old);
	return n;
}

/*
 * A completed portfolio task (its row's strategy and params in cd): its
 * portfolio columns, account curve and trades.  The lanes are the symbols
 * that traded (the stored results name no others).  Caller has SPI
 * connected and read the metrics.
 */
static void
portfolio_from_task(MemoryContext cxt, int64 task_id, BtpgChartData *cd)
{
	BtpgPortfolio c;
	int64		n2,
				n3;

	cd->portfolio = true;
	task_result_row(cxt, task_id, "SELECT r.n_symbols, r.max_positions_held, r.avg_positions_held,"
					" r.turnover, r.entries_skipped, r.alpha, r.beta, r.benchmark_return_pct"
					" FROM backtest.results r WHERE r.task_id OPERATOR(pg_catalog.=) $1",
					BTPG_PF_EXTRA_NATTS, cd->pfmetrics, cd->pfnulls);
	if (btpg_task_read("SELECT c.ts, c.cash, c.equity, c.open_positions FROM backtest.portfolio_equity_curves c"
				   " WHERE c.task_id OPERATOR(pg_catalog.=) $1", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld has no stored account curve", (long long) task_id)));
	cd->n = btpg_task_read_array(cxt, 1, TIMESTAMPTZOID, (void **) &cd->ts);
	n2 = btpg_task_read_array(cxt, 2, FLOAT8OID, (void **) &cd->cash);
	n3 = btpg_task_read_array(cxt, 3, FLOAT8OID, (void **) &cd->equity);
	if (task_int_array(cxt, 4, &cd->open_positions) != cd->n || n2 != cd->n || n3 != cd->n)
		elog(ERROR, "stored account curve of task %lld has arrays of different lengths",
			 (long long) task_id);
	read_task_trades(cxt, task_id, cd, true);
	/* the configuration, parsed as the task's run parsed it */
	memset(&c, 0, sizeof(c));
	c.strategy = cd->strategy;
	c.params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(cd->params_text)));
	btpg_portfolio_prepare(&c);
	cd->cfg = c.base;
	cd->cfg.strategy = c.st;
}

void
btpg_chart_from_task(int64 task_id, Jsonb *indicators, BtpgChartData *cd)
{
	MemoryContext cxt = CurrentMemoryContext;
	BtpgLoadSpec	spec;
	char	   *kind,
			   *status,
			   *source_txt;
	bool		isnull;
	Jsonb	   *params;
	int64		n2;
	StringInfoData sql;

	memset(cd, 0, sizeof(*cd));
	memset(&spec, 0, sizeof(spec));
	cd->task_id = task_id;
	parse_indicators(indicators, cd);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (btpg_task_read("SELECT t.kind, t.status, t.source, t.query, t.symbol, t.strategy, t.params,"
				   " t.start_ts, t.end_ts FROM backtest.tasks t"
				   " WHERE t.id OPERATOR(pg_catalog.=) $1", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld does not exist", (long long) task_id)));
	kind = btpg_task_read_string(cxt, 1);
	status = btpg_task_read_string(cxt, 2);
	if (strcmp(kind, "backtest") != 0 && strcmp(kind, "portfolio") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("task %lld is a %s, not a backtest", (long long) task_id, kind),
				 errhint("Draw a sweep with backtest_heatmap_svg().")));
	if (strcmp(status, "completed") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("task %lld is %s, not completed", (long long) task_id, status),
				 errhint("Charts and reports need a completed task; see backtest_status().")));
	source_txt = btpg_task_read_string(cxt, 3);
	/* the source is stored by its qualified name (a dump restores it by name) */
	spec.relid = source_txt ?
		RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(source_txt)), NoLock, false) :
		InvalidOid;
	spec.query = btpg_task_read_string(cxt, 4);
	spec.symbol = cd->symbol = btpg_task_read_string(cxt, 5);
	cd->strategy = btpg_task_read_string(cxt, 6);
	cd->params_text = btpg_task_read_string(cxt, 7);
	spec.start_ts = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8, &isnull));
	spec.has_start = !isnull;
	spec.end_ts = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 9, &isnull));
	spec.has_end = !isnull;

	/* the metrics, in the column order of backtest_metrics (bt_metric_defs) */
	initStringInfo(&sql);
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
		appendStringInfo(&sql, "%sr.%s", i ? ", " : "SELECT ", bt_metric_defs[i].name);
	appendStringInfoString(&sql, " FROM backtest.results r WHERE r.task_id OPERATOR(pg_catalog.=) $1");
	task_result_row(cxt, task_id, sql.data, BTPG_METRICS_NATTS, cd->metrics, cd->mnulls);

	if (strcmp(kind, "portfolio") == 0)
	{
		if (cd->nind > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a portfolio chart draws no indicators"),
					 errhint("Draw a portfolio task without indicators.")));
		portfolio_from_task(cxt, task_id, cd);
		SPI_finish();
		cd->dd = palloc(sizeof(double) * Max(cd->n, 1));
		bt_drawdown_pct(cd->equity, cd->n, cd->dd);
		return;
	}
	if (btpg_task_read("SELECT c.ts, c.close, c.equity FROM backtest.equity_curves c"
				   " WHERE c.task_id OPERATOR(pg_catalog.=) $1", task_id) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("task %lld has no stored equity curve", (long long) task_id)));
	cd->n = btpg_task_read_array(cxt, 1, TIMESTAMPTZOID, (void **) &cd->ts);
	n2 = btpg_task_read_array(cxt, 2, FLOAT8OID, (void **) &cd->close);
	if (btpg_task_read_array(cxt, 3, FLOAT8OID, (void **) &cd->equity) != cd->n || n2 != cd->n)
		elog(ERROR, "stored equity curve of task %lld has arrays of different lengths",
			 (long long) task_id);

	read_task_trades(cxt, task_id, cd, false);
	SPI_finish();

	cd->dd = palloc(sizeof(double) * Max(cd->n, 1));
	bt_drawdown_pct(cd->equity, cd->n, cd->dd);

	/* the bars again (OHLC and indicators), as the task's run read them */
	params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(cd->params_text)));
	load_bars(cd, &spec, params);
}

/* Is key one of the chart's own keys of an indicator object? */
static bool
chart_key(const char *key, int len)
{
	return (len == 4 && strncmp(key, "name", 4) == 0) ||
		(len == 7 && strncmp(key, "outputs", 7) == 0) ||
		(len == 5 && strncmp(key, "panel", 5) == 0);
}

/*
 * btpg_chart_parse_indicator
 *		Fill ci from one element of the indicators array: {"name": ...,
 *		"outputs": [...], "panel": "price" | "own", <indicator parameters>}.
 */
void
btpg_chart_parse_indicator(JsonbValue *elem, int no, BtpgChartInd *ci)
{
	Jsonb	   *obj;
	JsonbValue *name;
	JsonbValue	key;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbParseState *state = NULL;
	JsonbValue *rest;
	BtpgColumns	cols;
	StringInfoData label;
	char	   *panel = NULL;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("indicator %d of indicators must be an object", no),
				 errhint("For example [{\"name\": \"ema\", \"period\": 20}].")));
	obj = JsonbValueToJsonb(elem);
	key.type = jbvString;
	key.val.string.val = "name";
	key.val.string.len = 4;
	name = findJsonbValueFromContainer(&obj->root, JB_FOBJECT, &key);
	if (name == NULL || name->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("indicator %d of indicators has no \"name\" string", no),
				 errhint("For example [{\"name\": \"ema\", \"period\": 20}].")));
	ci->def = btpg_lookup_indicator(pnstrdup(name->val.string.val, name->val.string.len));
	ci->own_panel = true;
	for (int i = 0; i < lengthof(price_overlays); i++)
		if (strcmp(ci->def->name, price_overlays[i]) == 0)
			ci->own_panel = false;
	for (int o = 0; o < ci->def->noutputs; o++)
		ci->show[o] = true;

	/* the indicator's parameters: everything but the chart's keys */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	it = JsonbIteratorInit(&obj->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue	k;

		if (tok != WJB_KEY)
			continue;
		k = v;
		tok = JsonbIteratorNext(&it, &v, true);
		if (chart_key(k.val.string.val, k.val.string.len))
		{
			if (k.val.string.len == 5 && v.type == jbvString)	/* panel */
				panel = pnstrdup(v.val.string.val, v.val.string.len);
			else if (k.val.string.len == 5)
				panel = "";
			else if (k.val.string.len == 7)	/* outputs */
			{
				JsonbIterator *it2;
				JsonbValue	e;

				if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("\"outputs\" of indicator \"%s\" must be an array of output names",
									ci->def->name)));
				for (int o = 0; o < ci->def->noutputs; o++)
					ci->show[o] = false;
				it2 = JsonbIteratorInit(v.val.binary.data);
				while ((tok = JsonbIteratorNext(&it2, &e, true)) != WJB_DONE)
				{
					int			o;
					char	   *oname;

					if (tok != WJB_ELEM)
						continue;
					oname = e.type == jbvString ? pnstrdup(e.val.string.val, e.val.string.len) : "?";
					for (o = 0; o < ci->def->noutputs; o++)
						if (strcmp(oname, ci->def->outputs[o]) == 0)
							break;
					if (o == ci->def->noutputs)
					{
						StringInfoData names;

						initStringInfo(&names);
						for (int j = 0; j < ci->def->noutputs; j++)
							appendStringInfo(&names, "%s%s", j ? ", " : "", ci->def->outputs[j]);
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("indicator \"%s\" has no output \"%s\"", ci->def->name, oname),
								 errhint("Its outputs are: %s.", names.data)));
					}
					ci->show[o] = true;
				}
			}
			continue;
		}
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	rest = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	if (panel != NULL)
	{
		if (strcmp(panel, "price") == 0)
			ci->own_panel = false;
		else if (strcmp(panel, "own") == 0)
			ci->own_panel = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"panel\" of indicator \"%s\" must be \"price\" or \"own\"",
							ci->def->name)));
	}
	btpg_parse_indicator_params(JsonbValueToJsonb(rest), ci->def, ci->p, &cols);

	initStringInfo(&label);
	appendStringInfoString(&label, ci->def->name);
	for (int i = 0; i < ci->def->nparams; i++)
		appendStringInfo(&label, "%s%g", i ? "," : "(", ci->p[i]);
	if (ci->def->nparams > 0)
		appendStringInfoChar(&label, ')');
	ci->label = label.data;
}

/* Parse the chart's indicators argument (NULL = none) into cd->ind */
static void
parse_indicators(Jsonb *spec, BtpgChartData *cd)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	int			count;

	if (spec == NULL)
		return;
	if (!JB_ROOT_IS_ARRAY(spec) || JB_ROOT_IS_SCALAR(spec))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("indicators must be a jsonb array"),
				 errhint("For example '[{\"name\": \"ema\", \"period\": 20}, {\"name\": \"kdj\"}]'.")));
	count = JB_ROOT_COUNT(spec);
	if (count > CHART_MAX_INDICATORS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a chart takes at most %d indicators, not %d", CHART_MAX_INDICATORS, count)));
	cd->ind = palloc0(sizeof(BtpgChartInd) * Max(count, 1));
	it = JsonbIteratorInit(&spec->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		BtpgChartInd *ci;

		if (tok != WJB_ELEM)
			continue;
		ci = &cd->ind[cd->nind];
		btpg_chart_parse_indicator(&v, cd->nind + 1, ci);
		cd->nind++;
	}
}

/* Compute the parsed indicators on the loaded bars */
static void
compute_indicators(BtpgChartData *cd)
{
	for (int i = 0; i < cd->nind; i++)
	{
		BtpgChartInd *ci = &cd->ind[i];

		for (int o = 0; o < ci->def->noutputs; o++)
			ci->out[o] = MemoryContextAllocHuge(CurrentMemoryContext,
												sizeof(double) * Max(cd->bars.n, 1));
		if (cd->bars.n > 0)
			ci->def->compute(&cd->bars, ci->p, ci->out);
	}
}

/* A NOT NULL integer argument */
static int
int_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_INT32(argno);
}

/*
 * btpg_chart_call
 *		The body of the picture functions: gather the data of a run (the
 *		arguments source, symbol, strategy, params, start_ts, end_ts, width,
 *		height, indicators), of a finished task (task_id, width, height,
 *		indicators) or of a portfolio (backtest_portfolio's arguments, width,
 *		height), render it, and return the text.  Everything but the
 *		result is allocated in a context of its own (identified by fname, a
 *		constant string), deleted before returning.
 */
Datum
btpg_chart_call(FunctionCallInfo fcinfo, BtpgChartSource src, const char *fname,
				BtpgChartRender render)
{
	bool		from_task = src == BTPG_CHART_TASK;
	int			w = from_task ? 1 : 6;	/* the width argument; height follows */
	int			width = int_arg(fcinfo, w, "width");
	int			height = int_arg(fcinfo, w + 1, "height");
	Jsonb	   *indicators;
	int64		task_id = 0;
	MemoryContext cxt;
	MemoryContext old;
	BtpgChartData cd;
	text	   *t;
	text	   *result;

	if (from_task)
	{
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("task_id must not be null")));
		task_id = PG_GETARG_INT64(0);
	}
	btpg_chart_check_size(width, height);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest picture", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSetIdentifier(cxt, fname);
	old = MemoryContextSwitchTo(cxt);
	/* a portfolio's call has no indicators argument */
	indicators = src == BTPG_CHART_PORTFOLIO || PG_ARGISNULL(w + 2) ? NULL : PG_GETARG_JSONB_P(w + 2);
	if (src == BTPG_CHART_TASK)
		btpg_chart_from_task(task_id, indicators, &cd);
	else if (src == BTPG_CHART_PORTFOLIO)
		btpg_chart_from_portfolio_args(fcinfo, &cd);
	else
		btpg_chart_from_args(fcinfo, indicators, &cd);
	t = render(&cd, width, height);
	MemoryContextSwitchTo(old);
	result = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(t));
	MemoryContextDelete(cxt);
	PG_RETURN_TEXT_P(result);
}
