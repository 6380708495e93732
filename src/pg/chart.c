/*-------------------------------------------------------------------------
 *
 * chart.c
 *	  backtest_chart_svg(): a backtest as one SVG of stacked panels sharing
 *	  the time axis — price (candles, or a per-pixel high/low band with the
 *	  close line when there are more bars than pixels) with the trades
 *	  marked and indicator overlays, one panel per oscillator, the equity
 *	  curve with buy and hold, and the drawdown.
 *
 * What is drawn where (per-pixel buckets, ticks, labels) is computed by the
 * engine (src/engine/chart.c); this file and its pieces, chart_panels.c
 * and chart_marks.c (chart_svg.h), write the text.  Every series is
 * downsampled to at most two points per pixel column, so the size of the
 * SVG grows with its width, not with the number of bars.  Every text is
 * XML-escaped.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "chart_svg.h"

PG_FUNCTION_INFO_V1(backtest_chart_svg);
PG_FUNCTION_INFO_V1(backtest_chart_svg_task);
PG_FUNCTION_INFO_V1(backtest_portfolio_chart_svg);

static const char *const palette[] = {
	"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#e6550d"
};

void
btpg_format_ts(int64_t t, char *buf, size_t len)
{
	char		d[16],
				hm[16];

	bt_format_time(t, BT_TU_DAY, d, sizeof d);
	bt_format_time(t, BT_TU_SECOND, hm, sizeof hm);
	if (strcmp(hm + 5, ":00") == 0)
		hm[5] = '\0';
	snprintf(buf, len, "%s %s", d, hm);
}

/*
 * A portfolio's chart: the positions of every symbol that traded, the
 * account's equity with its cash, and the drawdown, on one time axis.
 */
static void
portfolio_svg(StringInfo buf, const BtpgChartData *cd, int width, int height)
{
	Frame		f;
	Panel		pos,
				eq,
				dd;
	LegendItem	items[16];
	int			nitems = 0;
	double		top,
				avail,
				units,
				y;
	BtTimeTicks tt;
	StringInfoData title;

	btpg_svg_frame_init(&f, cd, width, height, &title);
	appendStringInfo(&title, "portfolio, %s %s", cd->strategy, cd->params_text);
	btpg_svg_head(buf, title.data, width, height);

	items[nitems++] = (LegendItem) {"long position", C_LONG, -2, false};
	items[nitems++] = (LegendItem) {"short position", C_SHORT, -2, false};
	nitems = btpg_svg_trade_legend(items, nitems);
	items[nitems++] = (LegendItem) {"cash", C_BH, -1, false};
	items[nitems++] = (LegendItem) {"drawdown", C_DD, -2, false};
	btpg_svg_legend(buf, items, nitems, width, &top);

	/* panel heights: positions 5, equity 2.5, drawdown 1.5 */
	units = 5 + 2.5 + 1.5;
	top += 6;					/* room for the positions label above its panel */
	avail = height - top - MB - GAP * 2;
	if (avail < 60)
		avail = 60;
	y = top;
	pos = (Panel) {"positions", "Positions", y, avail * 5 / units, 0, 0};
	y += pos.h + GAP;
	eq = (Panel) {"equity", "Equity", y, avail * 2.5 / units, 0, 0};
	y += eq.h + GAP;
	dd = (Panel) {"drawdown", "Drawdown", y, avail * 1.5 / units, 0, 0};

	bt_time_ticks(f.t0, f.t1, Max(2, f.ncols / 110), &tt);
	btpg_svg_positions(buf, &f, &pos, cd);
	btpg_svg_equity_panel(buf, &f, &eq, cd, cd->cash, "cash", C_BH);
	btpg_svg_drawdown_panel(buf, &f, &dd, cd);
	btpg_svg_time_axis(buf, &f, &tt, pos.y0, &dd);
	if (cd->ntrades == 0)
		appendStringInfo(buf, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#616161\">no trades</text>\n",
						 ML + f.ncols / 2, pos.y0 + pos.h / 2);
	appendStringInfoString(buf, "</svg>\n");
}

void
btpg_chart_svg(StringInfo buf, const BtpgChartData *cd, int width, int height)
{
	Frame		f;
	Panel		price,
				eq,
				dd;
	Panel	   *osc;
	int			nosc = 0;
	LegendItem	items[64];
	int			nitems = 0;
	int			ncolor = 0;
	BtBucket   *pb,
			   *b;
	double		top,
				avail,
				units,
				y;
	double	   *bh;
	bool		candles;
	BtTimeTicks tt;
	StringInfoData title;

	if (cd->portfolio)
	{
		portfolio_svg(buf, cd, width, height);
		return;
	}
	btpg_svg_frame_init(&f, cd, width, height, &title);
	appendStringInfo(&title, "%s, %s %s", cd->symbol ? cd->symbol : "(all rows)",
					 cd->strategy, cd->params_text);

	btpg_svg_head(buf, title.data, width, height);

	/* the legend decides where the panels start */
	items[nitems++] = (LegendItem) {"close", C_CLOSE, -1, false};
	for (int i = 0; i < cd->nind; i++)
		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			if (cd->ind[i].show[o] && nitems < 48)
			{
				const BtIndicatorDef *def = cd->ind[i].def;

				items[nitems++] = (LegendItem) {
					def->noutputs == 1 ? cd->ind[i].label
						: psprintf("%s %s", cd->ind[i].label, def->outputs[o]),
					palette[ncolor++ % lengthof(palette)], -1, false};
			}
	nitems = btpg_svg_trade_legend(items, nitems);
	items[nitems++] = (LegendItem) {"buy & hold", C_BH, -1, false};
	items[nitems++] = (LegendItem) {"drawdown", C_DD, -2, false};
	btpg_svg_legend(buf, items, nitems, width, &top);

	/* panel heights: price 5, each oscillator 2, equity 2.5, drawdown 1.5 */
	for (int i = 0; i < cd->nind; i++)
		nosc += cd->ind[i].own_panel;
	osc = palloc0(sizeof(Panel) * Max(nosc, 1));
	units = 5 + 2 * nosc + 2.5 + 1.5;
	avail = height - top - MB - GAP * (2 + nosc);
	if (avail < 60)
		avail = 60;
	y = top;
	price = (Panel) {"price", "Price", y, avail * 5 / units, 0, 0};
	y += price.h + GAP;
	for (int i = 0, k = 0; i < cd->nind; i++)
		if (cd->ind[i].own_panel)
		{
			osc[k] = (Panel) {psprintf("ind%d", i + 1), cd->ind[i].label, y, avail * 2 / units, 0, 0};
			y += osc[k++].h + GAP;
		}
	eq = (Panel) {"equity", "Equity", y, avail * 2.5 / units, 0, 0};
	y += eq.h + GAP;
	dd = (Panel) {"drawdown", "Drawdown", y, avail * 1.5 / units, 0, 0};

	/* price range: the bars and the overlays */
	pb = palloc(sizeof(BtBucket) * f.ncols);
	b = palloc(sizeof(BtBucket) * f.ncols);
	bt_chart_buckets(cd->bars.ts, cd->bars.low, cd->bars.high, cd->bars.close, cd->bars.n,
					 f.t0, f.t1, f.ncols, pb);
	{
		int64		nb = 0;

		for (int c = 0; c < f.ncols; c++)
			nb += pb[c].count;
		candles = nb <= f.ncols;
	}
	price.lo = INFINITY;
	price.hi = -INFINITY;
	btpg_svg_range_of(pb, f.ncols, &price.lo, &price.hi);
	for (int i = 0; i < cd->nind; i++)
		if (!cd->ind[i].own_panel)
			for (int o = 0; o < cd->ind[i].def->noutputs; o++)
				if (cd->ind[i].show[o])
				{
					double	   *v = cd->ind[i].out[o];

					bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
					btpg_svg_range_of(b, f.ncols, &price.lo, &price.hi);
				}
	/* trade prices too, so every marker lies inside */
	for (int64 k = 0; k < cd->ntrades; k++)
	{
		price.lo = Min(price.lo, Min(cd->trades[k].entry_price, cd->trades[k].exit_price));
		price.hi = Max(price.hi, Max(cd->trades[k].entry_price, cd->trades[k].exit_price));
	}
	bt_pad_range(&price.lo, &price.hi, 0.06);

	/* the time grid through every panel, labels below the last */
	bt_time_ticks(f.t0, f.t1, Max(2, f.ncols / 110), &tt);

	btpg_svg_panel_frame(buf, &f, &price, false);
	btpg_svg_price(buf, &f, &price, &cd->bars, pb, candles);
	ncolor = 0;
	appendStringInfo(buf, "<g class=\"overlays\" clip-path=\"url(#btc-clip-%s)\">\n", price.id);
	for (int i = 0; i < cd->nind; i++)
		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			if (cd->ind[i].show[o])
			{
				const char *color = palette[ncolor++ % lengthof(palette)];
				double	   *v = cd->ind[i].out[o];

				if (cd->ind[i].own_panel)
					continue;
				bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
				btpg_svg_polyline(buf, &f, &price, b, cd->bars.ts, true, "indicator", color, "");
			}
	appendStringInfoString(buf, "</g>\n");

	/* oscillators, each in its panel */
	ncolor = 0;
	for (int i = 0, k = 0; i < cd->nind; i++)
	{
		Panel	   *p = cd->ind[i].own_panel ? &osc[k++] : NULL;
		int			c0 = ncolor;

		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			ncolor += cd->ind[i].show[o];
		if (p == NULL)
			continue;
		p->lo = INFINITY;
		p->hi = -INFINITY;
		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			if (cd->ind[i].show[o])
			{
				double	   *v = cd->ind[i].out[o];

				bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
				btpg_svg_range_of(b, f.ncols, &p->lo, &p->hi);
			}
		bt_pad_range(&p->lo, &p->hi, 0.06);
		btpg_svg_panel_frame(buf, &f, p, false);
		appendStringInfo(buf, "<g class=\"oscillator\" clip-path=\"url(#btc-clip-%s)\">\n", p->id);
		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			if (cd->ind[i].show[o])
			{
				double	   *v = cd->ind[i].out[o];

				bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
				btpg_svg_polyline(buf, &f, p, b, cd->bars.ts, true, "indicator",
								palette[c0++ % lengthof(palette)], "");
			}
		appendStringInfoString(buf, "</g>\n");
	}

	/* equity and buy & hold (the first bar's equity in the asset) */
	bh = palloc(sizeof(double) * Max(cd->n, 1));
	for (int64 i = 0; i < cd->n; i++)
		bh[i] = cd->close[0] > 0 ? cd->equity[0] * cd->close[i] / cd->close[0] : NAN;
	btpg_svg_equity_panel(buf, &f, &eq, cd, bh, "buyhold", C_BH);
	btpg_svg_drawdown_panel(buf, &f, &dd, cd);

	/* trades over the price panel */
	btpg_svg_trades(buf, &f, &price, cd);
	btpg_svg_time_axis(buf, &f, &tt, price.y0, &dd);
	if (cd->n == 0)
		appendStringInfo(buf, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#616161\">no bars</text>\n",
						 ML + f.ncols / 2, price.y0 + price.h / 2);
	appendStringInfoString(buf, "</svg>\n");
}

/* Shared tail of both forms: the text */
static text *
chart_text(BtpgChartData *cd, int width, int height)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	btpg_chart_svg(&buf, cd, width, height);
	return cstring_to_text_with_len(buf.data, buf.len);
}

/*
 * backtest_chart_svg(source regclass, symbol text, strategy text, params
 *					  jsonb, start_ts, end_ts, width int, height int,
 *					  indicators jsonb)
 *		Run the backtest and draw it.
 */
Datum
backtest_chart_svg(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_ARGS, "backtest_chart_svg", chart_text);
}

/*
 * backtest_portfolio_chart_svg(source regclass, strategy text, params jsonb,
 *								symbols text[], start_ts, end_ts, width int,
 *								height int)
 *		Run the portfolio backtest and draw it.
 */
Datum
backtest_portfolio_chart_svg(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_PORTFOLIO, "backtest_portfolio_chart_svg", chart_text);
}

/*
 * backtest_chart_svg(task_id bigint, width int, height int, indicators jsonb)
 *		Draw a completed task from its stored results.
 */
Datum
backtest_chart_svg_task(PG_FUNCTION_ARGS)
{
	return btpg_chart_call(fcinfo, BTPG_CHART_TASK, "backtest_chart_svg", chart_text);
}
