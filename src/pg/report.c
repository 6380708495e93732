/*-------------------------------------------------------------------------
 *
 * report.c
 *	  backtest_report_html(): one standalone HTML page for a backtest — the
 *	  statistics in the order of backtesting.py's print-out, the chart
 *	  (inline SVG), monthly and annual returns, the first and last trades,
 *	  and the parameters and fill contract used.  No scripts, no fonts, no
 *	  fetches: the page can be mailed.
 *
 * The page is polyglot XHTML (well-formed XML that browsers read as HTML),
 * so the tests can check it with xpath().  Every text is escaped.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/report.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/timestamps.h"
#include "core/xml.h"
#include "bt_chart.h"
#include "chart.h"

PG_FUNCTION_INFO_V1(backtest_report_html);
PG_FUNCTION_INFO_V1(backtest_report_html_task);
PG_FUNCTION_INFO_V1(backtest_portfolio_report_html);

/* Trades listed at the start and at the end of the trade table */
#define REPORT_TRADES	10

typedef enum StatFmt
{
	SF_TS, SF_INTERVAL, SF_INT, SF_NUM2, SF_NUM3
} StatFmt;

/* The statistics: backtest_metrics column (by name), label (backtesting.py's), format */
static const struct
{
	const char *metric;
	const char *label;
	StatFmt		fmt;
}			stats[] =
{
	{"start_ts", "Start", SF_TS},
	{"end_ts", "End", SF_TS},
	{"duration", "Duration", SF_INTERVAL},
	{"exposure_pct", "Exposure Time [%]", SF_NUM2},
	{"equity_final", "Equity Final [$]", SF_NUM2},
	{"equity_peak", "Equity Peak [$]", SF_NUM2},
	{"commissions", "Commissions [$]", SF_NUM2},
	{"return_pct", "Return [%]", SF_NUM2},
	{"buy_hold_return_pct", "Buy & Hold Return [%]", SF_NUM2},
	{"return_ann_pct", "Return (Ann.) [%]", SF_NUM2},
	{"volatility_ann_pct", "Volatility (Ann.) [%]", SF_NUM2},
	{"cagr_pct", "CAGR [%]", SF_NUM2},
	{"sharpe_ratio", "Sharpe Ratio", SF_NUM3},
	{"sortino_ratio", "Sortino Ratio", SF_NUM3},
	{"calmar_ratio", "Calmar Ratio", SF_NUM3},
	{"max_drawdown_pct", "Max. Drawdown [%]", SF_NUM2},
	{"avg_drawdown_pct", "Avg. Drawdown [%]", SF_NUM2},
	{"max_drawdown_duration", "Max. Drawdown Duration", SF_INTERVAL},
	{"avg_drawdown_duration", "Avg. Drawdown Duration", SF_INTERVAL},
	{"trades_count", "# Trades", SF_INT},
	{"win_rate_pct", "Win Rate [%]", SF_NUM2},
	{"best_trade_pct", "Best Trade [%]", SF_NUM2},
	{"worst_trade_pct", "Worst Trade [%]", SF_NUM2},
	{"avg_trade_pct", "Avg. Trade [%]", SF_NUM2},
	{"max_trade_duration", "Max. Trade Duration", SF_INTERVAL},
	{"avg_trade_duration", "Avg. Trade Duration", SF_INTERVAL},
	{"profit_factor", "Profit Factor", SF_NUM3},
	{"expectancy_pct", "Expectancy [%]", SF_NUM2},
	{"sqn", "SQN", SF_NUM3},
	{"kelly_criterion", "Kelly Criterion", SF_NUM3},
	/* ours, after backtesting.py's */
	{"bars", "Bars", SF_INT},
	{"warmup_bars", "Warm-up Bars", SF_INT},
	{"open_trades", "Open Trades", SF_INT},
	{"omega_ratio", "Omega Ratio", SF_NUM3},
	{"periods_per_year", "Periods per Year", SF_NUM2}
};

/* A portfolio's own statistics: backtest_portfolio's column (after the metrics) */
static const struct
{
	int			col;
	const char *label;
	StatFmt		fmt;
}			pf_stats[BTPG_PF_EXTRA_NATTS] =
{
	{0, "Symbols", SF_INT},
	{1, "Most Positions Held", SF_INT},
	{2, "Avg. Positions Held", SF_NUM2},
	{3, "Turnover", SF_NUM2},
	{4, "Entries Skipped", SF_INT},
	{5, "Alpha (Ann.) [%]", SF_NUM2},
	{6, "Beta", SF_NUM3},
	{7, "Benchmark Return [%]", SF_NUM2}
};

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char report_css[] =
"body{font-family:\"DejaVu Sans\",Arial,sans-serif;font-size:13px;color:#212121;margin:16px;background:#fafafa}"
"h1{font-size:18px;margin:0 0 8px}h2{font-size:15px;margin:18px 0 6px}"
"table{border-collapse:collapse;background:#fff}td,th{border:1px solid #e0e0e0;padding:3px 7px}"
"th{background:#f5f5f5;text-align:left}td.num,td.month,td.year{text-align:right}"
".cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}"
"td.none{background:#fafafa}p.note{color:#616161}";

/* Append a statistics value */
static void
append_stat(StringInfo buf, Datum d, bool isnull, StatFmt fmt)
{
	char		ts[32];

	if (isnull)
	{
		appendStringInfoString(buf, "—");
		return;
	}
	switch (fmt)
	{
		case SF_TS:
			btpg_format_ts(btpg_ts_to_engine(DatumGetTimestampTz(d)), ts, sizeof ts);
			appendStringInfoString(buf, ts);
			break;
		case SF_INTERVAL:
			{
				/* to the second, as backtesting.py prints durations */
				Interval	iv = *DatumGetIntervalP(d);

				iv.time = (iv.time + (iv.time >= 0 ? USECS_PER_SEC / 2 : -USECS_PER_SEC / 2))
					/ USECS_PER_SEC * USECS_PER_SEC;
				btpg_append_xml(buf, DatumGetCString(DirectFunctionCall1(interval_out,
																		 IntervalPGetDatum(&iv))));
			}
			break;
		case SF_INT:
			appendStringInfo(buf, "%lld", (long long) DatumGetInt64(d));
			break;
		case SF_NUM2:
			appendStringInfo(buf, "%.2f", DatumGetFloat8(d));
			break;
		case SF_NUM3:
			appendStringInfo(buf, "%.3f", DatumGetFloat8(d));
			break;
	}
}

/*
 * A background colour for a return: green for gains, red for losses, deeper
 * the larger the magnitude, on one scale for both sides (as the heatmap):
 * the largest of pos_max (>= 0) and -neg_min (neg_min <= 0) is the deepest.
 */
static void
append_return_colour(StringInfo buf, double v, double pos_max, double neg_min)
{
	double		f;
	double		scale = Max(pos_max, -neg_min);

	if (!isfinite(v) || v == 0 || scale <= 0)
	{
		appendStringInfoString(buf, "#ffffff");
		return;
	}
	f = fabs(v) / scale;
	f = Min(1.0, Max(0.0, f)) * 0.75 + 0.1;
	if (v > 0)
		appendStringInfo(buf, "rgb(%d,%d,%d)", (int) (255 - f * 200), (int) (255 - f * 80), (int) (255 - f * 200));
	else
		appendStringInfo(buf, "rgb(%d,%d,%d)", (int) (255 - f * 40), (int) (255 - f * 200), (int) (255 - f * 200));
}

/* The monthly table (years x months, then the year) and the annual table */
static void
append_returns(StringInfo buf, const BtpgChartData *cd)
{
	int64		nm,
				ny;
	BtPeriodReturn *m,
			   *y;
	double		pos = 0,
				neg = 0,
				ypos = 0,
				yneg = 0;
	int64		k = 0;

	if (cd->n == 0)
	{
		appendStringInfoString(buf, "<p class=\"note\">No bars.</p>\n");
		return;
	}
	m = palloc(sizeof(BtPeriodReturn) * bt_period_count(cd->ts[0], cd->ts[cd->n - 1], true));
	y = palloc(sizeof(BtPeriodReturn) * bt_period_count(cd->ts[0], cd->ts[cd->n - 1], false));
	nm = bt_period_returns(cd->ts, cd->equity, cd->n, true, m);
	ny = bt_period_returns(cd->ts, cd->equity, cd->n, false, y);
	for (int64 i = 0; i < nm; i++)
	{
		pos = Max(pos, m[i].return_pct);
		neg = Min(neg, m[i].return_pct);
	}
	for (int64 i = 0; i < ny; i++)
	{
		ypos = Max(ypos, y[i].return_pct);
		yneg = Min(yneg, y[i].return_pct);
	}

	appendStringInfoString(buf, "<h2>Monthly returns [%]</h2>\n<table class=\"monthly\"><tr><th>Year</th>");
	for (int i = 0; i < 12; i++)
		appendStringInfo(buf, "<th>%s</th>", month_names[i]);
	appendStringInfoString(buf, "<th>Year</th></tr>\n");
	for (int64 yi = 0; yi < ny; yi++)
	{
		appendStringInfo(buf, "<tr><th>%d</th>", y[yi].year);
		for (int mo = 1; mo <= 12; mo++)
		{
			if (k < nm && m[k].year == y[yi].year && m[k].month == mo)
			{
				appendStringInfoString(buf, "<td class=\"month\" style=\"background:");
				append_return_colour(buf, m[k].return_pct, pos, neg);
				appendStringInfo(buf, "\">%.2f</td>", m[k].return_pct);
				k++;
			}
			else
				appendStringInfoString(buf, "<td class=\"none\"></td>");
		}
		appendStringInfoString(buf, "<td class=\"year\" style=\"background:");
		append_return_colour(buf, y[yi].return_pct, ypos, yneg);
		appendStringInfo(buf, "\">%.2f</td></tr>\n", y[yi].return_pct);
	}
	appendStringInfoString(buf, "</table>\n");

	appendStringInfoString(buf, "<h2>Annual returns [%]</h2>\n<table class=\"annual\"><tr><th>Year</th><th>Return [%]</th></tr>\n");
	for (int64 yi = 0; yi < ny; yi++)
	{
		appendStringInfo(buf, "<tr><th>%d</th><td class=\"num\" style=\"background:", y[yi].year);
		append_return_colour(buf, y[yi].return_pct, ypos, yneg);
		appendStringInfo(buf, "\">%.2f</td></tr>\n", y[yi].return_pct);
	}
	appendStringInfoString(buf, "</table>\n");
}

static void
append_trade_row(StringInfo buf, const BtTrade *t, int64 k, const char *symbol)
{
	char		e[32],
				x[32];

	btpg_format_ts(t->entry_ts, e, sizeof e);
	btpg_format_ts(t->exit_ts, x, sizeof x);
	appendStringInfo(buf, "<tr class=\"trade\"><td class=\"num\">%lld</td>", (long long) k + 1);
	if (symbol)
	{
		appendStringInfoString(buf, "<td>");
		btpg_append_xml(buf, symbol);
		appendStringInfoString(buf, "</td>");
	}
	appendStringInfo(buf, "<td>%s</td><td>%s</td><td class=\"num\">%.6g</td>"
					 "<td>%s</td><td class=\"num\">%.6g</td><td class=\"num\">%.6g</td><td class=\"num\">%.2f</td>"
					 "<td class=\"num\">%.2f</td><td>%s%s</td></tr>\n",
					 t->side > 0 ? "long" : "short", e, t->entry_price, x, t->exit_price,
					 t->quantity, t->pnl, t->return_pct, bt_exit_reason_name(t->exit_reason),
					 t->is_open ? " (open)" : "");
}

static void
append_trades_table(StringInfo buf, const BtpgChartData *cd)
{
	appendStringInfo(buf, "<h2>Trades (%lld)</h2>\n", (long long) cd->ntrades);
	if (cd->ntrades == 0)
	{
		appendStringInfoString(buf, "<p class=\"note\">No trades.</p>\n");
		return;
	}
	appendStringInfo(buf, "<table class=\"trades\"><tr><th>#</th>%s<th>Side</th><th>Entry</th><th>Entry price</th>",
					 cd->portfolio ? "<th>Symbol</th>" : "");
	appendStringInfoString(buf, ""
						   "<th>Exit</th><th>Exit price</th><th>Quantity</th><th>P&amp;L</th><th>Return [%]</th>"
						   "<th>Exit reason</th></tr>\n");
	for (int64 k = 0; k < cd->ntrades; k++)
	{
		if (k == REPORT_TRADES && cd->ntrades > 2 * REPORT_TRADES)
		{
			appendStringInfo(buf, "<tr class=\"gap\"><td colspan=\"%d\">… %lld more trades …</td></tr>\n",
							 cd->portfolio ? 11 : 10, (long long) (cd->ntrades - 2 * REPORT_TRADES));
			k = cd->ntrades - REPORT_TRADES;
		}
		append_trade_row(buf, &cd->trades[k], k,
						 cd->portfolio ? cd->sym_names[cd->trade_sym[k]] : NULL);
	}
	appendStringInfoString(buf, "</table>\n");
}

/* A parameter value as text: numbers, booleans, enum choices */
static void
append_param(StringInfo buf, const BtParamDef *def, double v)
{
	switch (def->type)
	{
		case BT_PARAM_BOOL:
			appendStringInfoString(buf, v != 0 ? "true" : "false");
			break;
		case BT_PARAM_ENUM:
			btpg_append_xml(buf, def->choices[(int) v]);
			break;
		default:
			appendStringInfo(buf, "%.10g", v);
			break;
	}
}

static void
append_params(StringInfo buf, const BtpgChartData *cd)
{
	const BtStrategyDef *st = cd->cfg.strategy;

	appendStringInfoString(buf, "<section id=\"params\"><h2>Parameters</h2>\n<table class=\"params\">");
	appendStringInfoString(buf, "<tr><th>strategy</th><td>");
	btpg_append_xml(buf, cd->strategy);
	appendStringInfoString(buf, "</td></tr>\n<tr><th>params (as given)</th><td>");
	btpg_append_xml(buf, cd->params_text);
	appendStringInfoString(buf, "</td></tr>\n");
	for (int i = 0; i < st->nparams; i++)
	{
		appendStringInfo(buf, "<tr><th>%s</th><td class=\"num\">", st->params[i].name);
		append_param(buf, &st->params[i], cd->cfg.sp[i]);
		appendStringInfoString(buf, "</td></tr>\n");
	}
	appendStringInfoString(buf, "</table>\n<h2>Fill contract</h2>\n<table class=\"contract\">");
	for (int i = 0; i < bt_n_sim_params; i++)
	{
		double		v = bt_sim_get(&cd->cfg.sim, i);

		if (isnan(v))
			continue;
		appendStringInfo(buf, "<tr><th title=\"");
		btpg_append_xml(buf, bt_sim_params[i].def.doc ? bt_sim_params[i].def.doc : "");
		appendStringInfo(buf, "\">%s</th><td class=\"num\">", bt_sim_params[i].def.name);
		append_param(buf, &bt_sim_params[i].def, v);
		appendStringInfoString(buf, "</td></tr>\n");
	}
	appendStringInfoString(buf, "</table>\n<p class=\"note\">Orders decided on a bar's close fill ");
	appendStringInfoString(buf, cd->cfg.sim.fill == BT_FILL_OPEN ? "at the next bar's open" : "at that bar's close");
	appendStringInfoString(buf, "; costs and slippage are included in every P&amp;L.</p>\n</section>\n");
}

/* The whole page */
static text *
report_text(BtpgChartData *cd, int width, int height)
{
	StringInfoData buf;
	StringInfoData title;


	initStringInfo(&title);
	if (cd->task_id > 0)
		appendStringInfo(&title, "Task %lld: ", (long long) cd->task_id);
	if (cd->portfolio)
		appendStringInfo(&title, "portfolio, %s", cd->strategy);
	else
		appendStringInfo(&title, "%s, %s", cd->symbol ? cd->symbol : "(all rows)", cd->strategy);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n"
						   "<head><meta charset=\"utf-8\"/><title>Backtest report: ");
	btpg_append_xml(&buf, title.data);
	appendStringInfo(&buf, "</title>\n<style>%s</style></head>\n<body>\n<h1>", report_css);
	btpg_append_xml(&buf, title.data);
	appendStringInfoString(&buf, "</h1>\n<section id=\"chart\">\n");
	btpg_chart_svg(&buf, cd, width, height);
	appendStringInfoString(&buf, "</section>\n<div class=\"cols\">\n<section id=\"stats\"><h2>Statistics</h2>\n<table class=\"stats\">\n");
	for (int i = 0; i < lengthof(stats); i++)
	{
		int			col = bt_metric_index(stats[i].metric);

		if (col < 0)
			elog(ERROR, "the report names the unknown metric \"%s\"", stats[i].metric);
		appendStringInfoString(&buf, "<tr><th>");
		btpg_append_xml(&buf, stats[i].label);
		appendStringInfoString(&buf, "</th><td class=\"num\">");
		append_stat(&buf, cd->metrics[col], cd->mnulls[col], stats[i].fmt);
		appendStringInfoString(&buf, "</td></tr>\n");
	}
	for (int i = 0; cd->portfolio && i < lengthof(pf_stats); i++)
	{
		appendStringInfoString(&buf, "<tr class=\"portfolio\"><th>");
		btpg_append_xml(&buf, pf_stats[i].label);
		appendStringInfoString(&buf, "</th><td class=\"num\">");
		append_stat(&buf, cd->pfmetrics[pf_stats[i].col], cd->pfnulls[pf_stats[i].col], pf_stats[i].fmt);
		appendStringInfoString(&buf, "</td></tr>\n");
	}
	appendStringInfoString(&buf, "</table></section>\n");
	append_params(&buf, cd);
	appendStringInfoString(&buf, "<section id=\"returns\">\n");
	append_returns(&buf, cd);
	appendStringInfoString(&buf, "</section>\n</div>\n<section id=\"trades\">\n");
	append_trades_table(&buf, cd);
	appendStringInfoString(&buf, "</section>\n<p class=\"note\">Times are UTC. Made by pg_backtest.</p>\n</body>\n</html>\n");
	return cstring_to_text_with_len(buf.data, buf.len);
}

/*
 * backtest_report_html(source, symbol, strategy, params, start_ts, end_ts,
 *						width, height, indicators)
 *		Run the backtest and report it as one HTML page.
 */
Datum
backtest_report_html(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_ARGS, "backtest_report_html", report_text);
}

/*
 * backtest_report_html(task_id, width, height, indicators)
 *		Report a completed task (one the caller can see) from its stored
 *		results.
 */
Datum
backtest_report_html_task(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_TASK, "backtest_report_html", report_text);
}

/*
 * backtest_portfolio_report_html(source, strategy, params, symbols,
 *								  start_ts, end_ts, width, height)
 *		Run the portfolio backtest and report it as one HTML page.
 */
Datum
backtest_portfolio_report_html(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_PORTFOLIO, "backtest_portfolio_report_html", report_text);
}
