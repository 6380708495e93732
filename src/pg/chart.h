/*-------------------------------------------------------------------------
 *
 * chart.h
 *	  What the SVG chart (chart.c) and the HTML report (report.c) draw:
 *	  the bars, the equity curve, the trades, the indicators asked for and
 *	  the metrics, gathered by chart_data.c from a synchronous run or from a
 *	  finished task.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CHART_H
#define BTPG_CHART_H

#include "fmgr.h"

#include "core/columns.h"
#include "core/results.h"
#include "portfolio.h"

/* One indicator of the chart's indicators argument, computed */
typedef struct BtpgChartInd
{
	const BtIndicatorDef *def;
	double		p[BT_IND_MAX_PARAMS];
	bool		own_panel;		/* oscillators: a panel of their own */
	bool		show[BT_IND_MAX_OUTPUTS];
	char	   *label;			/* "ema(20)" */
	double	   *out[BT_IND_MAX_OUTPUTS];	/* bars.n values each */
} BtpgChartInd;

typedef struct BtpgChartData
{
	int64		task_id;		/* 0: a synchronous run */
	char	   *symbol;			/* NULL: no symbol filter */
	char	   *strategy;
	char	   *params_text;	/* the params jsonb as given */
	BtConfig	cfg;			/* the configuration run (defaults filled) */
	BtSeries	bars;			/* OHLC of the source */
	/* the equity curve (the bars of the run) */
	int64		n;
	int64_t    *ts;
	double	   *close;
	double	   *equity;
	double	   *dd;				/* drawdown, percent (<= 0) */
	BtTrade    *trades;			/* closed trades, then the open one */
	int64		ntrades;
	Datum		metrics[BTPG_METRICS_NATTS];	/* a backtest_metrics row */
	bool		mnulls[BTPG_METRICS_NATTS];
	int			nind;
	BtpgChartInd *ind;
	/*
	 * A portfolio (portfolio): the account instead of one symbol's bars; a
	 * lane per symbol holds its positions and trades.
	 */
	bool		portfolio;
	int			nsym;
	char	  **sym_names;		/* the lanes (the symbols that traded), in name order */
	int		   *trade_sym;		/* per trade: its lane */
	double	   *cash;			/* n */
	int32	   *open_positions; /* n */
	Datum		pfmetrics[BTPG_PF_EXTRA_NATTS];	/* backtest_portfolio's own columns */
	bool		pfnulls[BTPG_PF_EXTRA_NATTS];
} BtpgChartData;

/*
 * Fill ci (def, p, show, label; not out) from element no (1-based, for
 * messages) of an indicators array: {"name": ..., "outputs": [...],
 * "panel": ..., <the parameters of backtest_indicator>} (also used by live
 * streams).
 */
extern void btpg_chart_parse_indicator(JsonbValue *elem, int no, BtpgChartInd *ci);

/* Check width/height (ereport naming the bad one) */
extern void btpg_chart_check_size(int width, int height);

/*
 * Fill cd from a (source, symbol, strategy, params, start_ts, end_ts) call
 * (arguments 0-5) or from the finished task task_id, read as the caller (row
 * security applies: a task the caller cannot see does not exist), with the
 * indicators of the jsonb array indicators (NULL = none) computed on the
 * bars.  Allocates in CurrentMemoryContext.
 */
extern void btpg_chart_from_args(FunctionCallInfo fcinfo, Jsonb *indicators, BtpgChartData *cd);
extern void btpg_chart_from_task(int64 task_id, Jsonb *indicators, BtpgChartData *cd);
/*
 * Fill cd from a portfolio call (the arguments 0-5 of backtest_portfolio),
 * run as backtest_portfolio runs it.
 */
extern void btpg_chart_from_portfolio_args(FunctionCallInfo fcinfo, BtpgChartData *cd);

/* Where a picture function's data come from */
typedef enum BtpgChartSource
{
	BTPG_CHART_ARGS,			/* backtest_run's arguments, then width, height, indicators */
	BTPG_CHART_TASK,			/* task_id, width, height, indicators */
	BTPG_CHART_PORTFOLIO		/* backtest_portfolio's arguments, then width, height */
} BtpgChartSource;

/* Draws gathered data as a document (chart.c's SVG, report.c's HTML) */
typedef text *(*BtpgChartRender) (BtpgChartData *cd, int width, int height);

/*
 * The body of backtest_chart_svg, backtest_report_html, their task forms
 * and the portfolio's: the arguments (or the task's stored results)
 * rendered in a memory context of their own.
 */
extern Datum btpg_chart_call(FunctionCallInfo fcinfo, BtpgChartSource src, const char *fname,
							 BtpgChartRender render);

/*
 * Reading a finished task as the caller (chart_data.c), inside SPI: run a
 * query with the task id as its one bigint parameter (returns the rows);
 * column col (1-based) of row 0 as a string in cxt (or NULL); a stored
 * float8[] or timestamptz[] (engine usecs) column of row 0 as a C array in
 * cxt (returns its length).
 */
extern uint64 btpg_task_read(const char *sql, int64 task_id);
extern char *btpg_task_read_string(MemoryContext cxt, int col);
extern int64 btpg_task_read_array(MemoryContext cxt, int col, Oid elemtype, void **out);

/* Append the chart, a complete <svg> element (no XML declaration) */
extern void btpg_chart_svg(StringInfo buf, const BtpgChartData *cd, int width, int height);


/* "YYYY-MM-DD HH:MM" (UTC; seconds when not 0) */
extern void btpg_format_ts(int64_t t, char *buf, size_t len);

/* indicator.c: the registry entry (or ereport) and its parameters from jsonb */
extern const BtIndicatorDef *btpg_lookup_indicator(const char *name);
extern void btpg_parse_indicator_params(Jsonb *params, const BtIndicatorDef *def,
										double *p, BtpgColumns *cols);

#endif							/* BTPG_CHART_H */
