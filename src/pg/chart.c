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
 * engine (src/engine/chart.c); this file writes the text.  Every series is
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

#include "bt_chart.h"
#include "chart.h"

PG_FUNCTION_INFO_V1(backtest_chart_svg);
PG_FUNCTION_INFO_V1(backtest_chart_svg_task);
PG_FUNCTION_INFO_V1(backtest_portfolio_chart_svg);

#define ML			72			/* margins, px */
#define MR			16
#define MB			28
#define GAP			12			/* between panels */
#define LEGEND_ROW	16
/* Trades drawn one marker each (with a tooltip); more are merged per column */
#define MAX_TRADE_MARKERS	400

#define C_UP		"#26a69a"
#define C_DOWN		"#ef5350"
#define C_BAND		"#c6dbef"
#define C_CLOSE		"#1f4e79"
#define C_EQUITY	"#1f77b4"
#define C_BH		"#9e9e9e"
#define C_DD		"#d62728"
#define C_LONG		"#1565c0"
#define C_SHORT		"#ef6c00"
#define C_WIN		"#2e7d32"
#define C_LOSS		"#c62828"

static const char *const palette[] = {
	"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#e6550d"
};

typedef struct Panel
{
	const char *id;
	const char *label;
	double		y0;
	double		h;
	double		lo;
	double		hi;
} Panel;

/* The geometry shared by every panel */
typedef struct Frame
{
	int			width;
	int			height;
	int			ncols;			/* plot width in pixels = columns */
	int64_t		t0;
	int64_t		t1;
} Frame;

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

static double
xof(const Frame *f, int64_t t)
{
	if (f->t1 == f->t0)
		return ML + f->ncols / 2.0;
	return ML + (double) (t - f->t0) / (double) (f->t1 - f->t0) * f->ncols;
}

static double
yof(const Panel *p, double v)
{
	return p->y0 + p->h - (v - p->lo) / (p->hi - p->lo) * p->h;
}

/* Widen [lo, hi] by the buckets' min and max */
static void
range_of(const BtBucket *b, int ncols, double *lo, double *hi)
{
	for (int c = 0; c < ncols; c++)
		if (b[c].count > 0)
		{
			*lo = Min(*lo, b[c].min);
			*hi = Max(*hi, b[c].max);
		}
}

/*
 * append_points
 *		The points of a downsampled line: per column its min and max in
 *		time order (minmax) or its last point, each at its own timestamp.
 */
static void
append_points(StringInfo buf, const Frame *f, const Panel *p, const BtBucket *b,
			  const int64_t *ts, bool minmax)
{
	for (int c = 0; c < f->ncols; c++)
	{
		if (b[c].count == 0)
			continue;
		if (!minmax || b[c].count == 1 || b[c].min == b[c].max)
			appendStringInfo(buf, "%.1f,%.1f ", xof(f, ts[b[c].last_i]), yof(p, b[c].last));
		else
		{
			bool		min_first = b[c].min_i < b[c].max_i;
			int64		i1 = min_first ? b[c].min_i : b[c].max_i;
			int64		i2 = min_first ? b[c].max_i : b[c].min_i;

			appendStringInfo(buf, "%.1f,%.1f %.1f,%.1f ",
							 xof(f, ts[i1]), yof(p, min_first ? b[c].min : b[c].max),
							 xof(f, ts[i2]), yof(p, min_first ? b[c].max : b[c].min));
		}
	}
}

static void
append_polyline(StringInfo buf, const Frame *f, const Panel *p, const BtBucket *b,
				const int64_t *ts, bool minmax, const char *cls, const char *color,
				const char *extra)
{
	appendStringInfo(buf, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\"%s points=\"",
					 cls, color, extra);
	append_points(buf, f, p, b, ts, minmax);
	appendStringInfoString(buf, "\"/>\n");
}

/* The frame, grid lines and value labels of a panel, and its clip path */
static void
append_panel_frame(StringInfo buf, const Frame *f, const Panel *p, bool percent)
{
	BtTicks		t;

	bt_nice_ticks(p->lo, p->hi, Max(2, (int) (p->h / 40)), &t);
	appendStringInfo(buf, "<clipPath id=\"btc-clip-%s\"><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"/></clipPath>\n",
					 p->id, ML, p->y0, f->ncols, p->h);
	appendStringInfo(buf, "<g class=\"panel\" id=\"btc-panel-%s\">\n"
					 "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#ffffff\" stroke=\"#bdbdbd\"/>\n",
					 p->id, ML, p->y0, f->ncols, p->h);
	appendStringInfoString(buf, "<path stroke=\"#eeeeee\" d=\"");
	for (int i = 0; i < t.n; i++)
		appendStringInfo(buf, "M%d %.1fh%d", ML, yof(p, t.v[i]), f->ncols);
	appendStringInfoString(buf, "\"/>\n");
	for (int i = 0; i < t.n; i++)
		appendStringInfo(buf, "<text class=\"ylabel\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#424242\">%.*f%s</text>\n",
						 ML - 5, yof(p, t.v[i]) + 4, t.decimals, t.v[i], percent ? "%" : "");
	appendStringInfoString(buf, "<text class=\"plabel\" x=\"");
	appendStringInfo(buf, "%d\" y=\"%.1f\" fill=\"#616161\" font-weight=\"bold\">", ML + 6, p->y0 + 14);
	btpg_append_xml(buf, p->label);
	appendStringInfoString(buf, "</text>\n</g>\n");
}

/* The price panel's bars: candles, or the high/low band and close line */
static void
append_price(StringInfo buf, const Frame *f, const Panel *p, const BtSeries *s,
			 const BtBucket *pb, bool candles)
{
	appendStringInfo(buf, "<g clip-path=\"url(#btc-clip-%s)\">\n", p->id);
	if (candles)
	{
		int64		nb = 0;
		double		w;

		for (int64 i = 0; i < s->n; i++)
			nb += (s->ts[i] >= f->t0 && s->ts[i] <= f->t1);
		w = Max(1.0, 0.7 * f->ncols / Max(nb, 1));
		for (int up = 1; up >= 0; up--)
		{
			appendStringInfo(buf, "<path class=\"candles %s\" fill=\"%s\" stroke=\"%s\" d=\"",
							 up ? "up" : "down", up ? C_UP : C_DOWN, up ? C_UP : C_DOWN);
			for (int64 i = 0; i < s->n; i++)
			{
				double		x,
							yo,
							yc;

				if (s->ts[i] < f->t0 || s->ts[i] > f->t1 || (s->close[i] >= s->open[i]) != up)
					continue;
				x = xof(f, s->ts[i]);
				yo = yof(p, s->open[i]);
				yc = yof(p, s->close[i]);
				appendStringInfo(buf, "M%.1f %.1fV%.1fM%.1f %.1fh%.1fV%.1fh%.1fz",
								 x, yof(p, s->high[i]), yof(p, s->low[i]),
								 x - w / 2, Min(yo, yc), w, Max(Max(yo, yc), Min(yo, yc) + 0.5), -w);
			}
			appendStringInfoString(buf, "\"/>\n");
		}
	}
	else
	{
		bool		started = false;

		appendStringInfo(buf, "<path class=\"band\" fill=\"%s\" stroke=\"none\" d=\"", C_BAND);
		for (int c = 0; c < f->ncols; c++)
			if (pb[c].count > 0)
			{
				appendStringInfo(buf, "%s%d.5 %.1f", started ? "L" : "M", ML + c, yof(p, pb[c].max));
				started = true;
			}
		for (int c = f->ncols - 1; c >= 0; c--)
			if (pb[c].count > 0)
			{
				appendStringInfo(buf, "L%d.5 %.1f", ML + c, yof(p, pb[c].min));
			}
		appendStringInfoString(buf, "z\"/>\n");
		append_polyline(buf, f, p, pb, s->ts, false, "close", C_CLOSE, "");
	}
	appendStringInfoString(buf, "</g>\n");
}

/* Marker kinds, for merging markers per pixel column */
enum
{
	MK_LONG = 1, MK_SHORT = 2, MK_WIN = 4, MK_LOSS = 8
};

/* One marker path: entry triangles, exit circle/square/diamond */
static void
append_marker_shape(StringInfo buf, double x, double y, int shape)
{
	switch (shape)
	{
		case 0:				/* ▲ below the price */
			appendStringInfo(buf, "M%.1f %.1fl6 10h-12z", x, y + 2);
			break;
		case 1:				/* ▼ above the price */
			appendStringInfo(buf, "M%.1f %.1fl6 -10h-12z", x, y - 2);
			break;
		case 2:				/* signal exit: circle */
			appendStringInfo(buf, "M%.1f %.1fa4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0 -9 0z", x - 4.5, y);
			break;
		case 3:				/* stop: square */
			appendStringInfo(buf, "M%.1f %.1fh9v9h-9z", x - 4.5, y - 4.5);
			break;
		case 4:				/* take profit: diamond */
			appendStringInfo(buf, "M%.1f %.1fl5.5 5.5l-5.5 5.5l-5.5 -5.5z", x, y - 5.5);
			break;
	}
}

static int
exit_shape(const BtTrade *t)
{
	if (t->exit_reason == BT_EXIT_STOP_LOSS || t->exit_reason == BT_EXIT_TRAILING_STOP)
		return 3;
	if (t->exit_reason == BT_EXIT_TAKE_PROFIT)
		return 4;
	return 2;
}

static void
append_trades(StringInfo buf, const Frame *f, const Panel *p, const BtpgChartData *cd)
{
	bool		merge = cd->ntrades > MAX_TRADE_MARKERS;
	uint8	   *seen = merge ? palloc0(f->ncols) : NULL;
	StringInfoData kinds[4];

	for (int i = 0; i < 4 && merge; i++)
		initStringInfo(&kinds[i]);

	appendStringInfoString(buf, "<g class=\"trades\">\n");
	for (int64 k = 0; k < cd->ntrades; k++)
	{
		const BtTrade *t = &cd->trades[k];
		double		xe = xof(f, t->entry_ts),
					xx = xof(f, t->exit_ts);
		const char *ecol = t->side > 0 ? C_LONG : C_SHORT;
		const char *xcol = t->pnl >= 0 ? C_WIN : C_LOSS;
		int			shape = exit_shape(t);
		StringInfoData tip;

		if (merge)
		{
			int			ce = bt_chart_column(t->entry_ts, f->t0, f->t1, f->ncols);
			int			cx = bt_chart_column(t->exit_ts, f->t0, f->t1, f->ncols);
			int			me = t->side > 0 ? MK_LONG : MK_SHORT;
			int			mx = t->pnl >= 0 ? MK_WIN : MK_LOSS;

			/* at most one marker of a kind per column, the kinds in one path each */
			if (ce >= 0 && !(seen[ce] & me))
			{
				seen[ce] |= me;
				append_marker_shape(&kinds[t->side > 0 ? 0 : 1], xe, yof(p, t->entry_price),
									t->side > 0 ? 0 : 1);
			}
			if (cx >= 0 && !(seen[cx] & mx))
			{
				seen[cx] |= mx;
				append_marker_shape(&kinds[t->pnl >= 0 ? 2 : 3], xx, yof(p, t->exit_price), 2);
			}
			continue;
		}

		initStringInfo(&tip);
		{
			char		e[32],
						x[32];

			btpg_format_ts(t->entry_ts, e, sizeof e);
			btpg_format_ts(t->exit_ts, x, sizeof x);
			appendStringInfo(&tip, "#%lld %s %s @%.6g, %s %s @%.6g %s, P&L %.2f (%+.2f%%)",
							 (long long) k + 1, t->side > 0 ? "long" : "short", e, t->entry_price,
							 t->is_open ? "open" : "exit", x, t->exit_price,
							 bt_exit_reason_name(t->exit_reason), t->pnl, t->return_pct);
		}
		/* one tooltip for both markers of the trade */
		appendStringInfoString(buf, "<g class=\"trade\"><title>");
		btpg_append_xml(buf, tip.data);
		appendStringInfo(buf, "</title><path class=\"entry %s\" fill=\"%s\" d=\"", t->side > 0 ? "long" : "short", ecol);
		append_marker_shape(buf, xe, yof(p, t->entry_price), t->side > 0 ? 0 : 1);
		appendStringInfo(buf, "\"/><path class=\"exit %s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\" d=\"",
						 bt_exit_reason_name(t->exit_reason), t->is_open ? "none" : xcol, xcol,
						 t->is_open ? "1.5" : "0");
		append_marker_shape(buf, xx, yof(p, t->exit_price), shape);
		appendStringInfoString(buf, "\"/></g>\n");
		pfree(tip.data);
	}
	if (merge)
	{
		static const char *const kcls[4] = {"entry long", "entry short", "exit profit", "exit loss"};
		static const char *const kcol[4] = {C_LONG, C_SHORT, C_WIN, C_LOSS};

		for (int i = 0; i < 4; i++)
			appendStringInfo(buf, "<path class=\"%s merged\" fill=\"%s\" d=\"%s\"/>\n",
							 kcls[i], kcol[i], kinds[i].data);
		appendStringInfo(buf, "<text class=\"note\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#616161\">%lld trades: markers merged per pixel column</text>\n",
						 ML + f->ncols - 6, p->y0 + 14, (long long) cd->ntrades);
		pfree(seen);
	}
	appendStringInfoString(buf, "</g>\n");
}

/* A legend item: a swatch (line, or a marker shape) and its label */
typedef struct LegendItem
{
	const char *label;
	const char *color;
	int			shape;			/* -1 line, -2 area, else a marker shape */
	bool		hollow;
} LegendItem;

static void
append_legend(StringInfo buf, const LegendItem *items, int n, int width, double *bottom)
{
	double		x = ML,
				y = 36;

	appendStringInfoString(buf, "<g class=\"legend\">\n");
	for (int i = 0; i < n; i++)
	{
		double		w = 26 + 6.2 * strlen(items[i].label) + 14;

		if (x + w > width - MR && x > ML)
		{
			x = ML;
			y += LEGEND_ROW;
		}
		appendStringInfoString(buf, "<g class=\"legend-item\">");
		if (items[i].shape == -1)
			appendStringInfo(buf, "<path d=\"M%.1f %.1fh18\" stroke=\"%s\" stroke-width=\"2\"/>", x, y - 4, items[i].color);
		else if (items[i].shape == -2)
			appendStringInfo(buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"9\" fill=\"%s\" fill-opacity=\"0.4\"/>",
							 x, y - 9, items[i].color);
		else
		{
			appendStringInfo(buf, "<path fill=\"%s\" stroke=\"%s\" d=\"", items[i].hollow ? "none" : items[i].color,
							 items[i].color);
			append_marker_shape(buf, x + 9, y - (items[i].shape == 0 ? 12 : items[i].shape == 1 ? -6 : 4),
								items[i].shape);
			appendStringInfoString(buf, "\"/>");
		}
		appendStringInfo(buf, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#212121\">", x + 24, y);
		btpg_append_xml(buf, items[i].label);
		appendStringInfoString(buf, "</text></g>\n");
		x += w;
	}
	appendStringInfoString(buf, "</g>\n");
	*bottom = y + 8;
}

/* The frame of a chart of cd, and its title's start ("Task N: " for a task) */
static void
frame_init(Frame *f, const BtpgChartData *cd, int width, int height, StringInfo title)
{
	f->width = width;
	f->height = height;
	f->ncols = width - ML - MR;
	f->t0 = cd->n > 0 ? cd->ts[0] : 0;
	f->t1 = cd->n > 0 ? cd->ts[cd->n - 1] : 1;
	initStringInfo(title);
	if (cd->task_id > 0)
		appendStringInfo(title, "Task %lld: ", (long long) cd->task_id);
}

/* The legend items of the trade markers and the equity line, from items[n]; returns the count */
static int
add_trade_legend(LegendItem *items, int n)
{
	items[n++] = (LegendItem) {"long entry", C_LONG, 0, false};
	items[n++] = (LegendItem) {"short entry", C_SHORT, 1, false};
	items[n++] = (LegendItem) {"exit, profit", C_WIN, 2, false};
	items[n++] = (LegendItem) {"exit, loss", C_LOSS, 2, false};
	items[n++] = (LegendItem) {"stop-loss exit", "#616161", 3, false};
	items[n++] = (LegendItem) {"take-profit exit", "#616161", 4, false};
	items[n++] = (LegendItem) {"open at the end", "#616161", 2, true};
	items[n++] = (LegendItem) {"equity", C_EQUITY, -1, false};
	return n;
}

/* The <svg> element's start: size, fonts, the title (tooltip and text) */
static void
append_svg_head(StringInfo buf, const char *title, int width, int height)
{
	appendStringInfo(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
					 "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n<title>",
					 width, height, width, height);
	btpg_append_xml(buf, title);
	appendStringInfo(buf, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", width, height);
	appendStringInfo(buf, "<text class=\"title\" x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\"#212121\">", ML);
	btpg_append_xml(buf, title);
	appendStringInfoString(buf, "</text>\n");
}

/*
 * The equity panel: the equity line and a dashed second line (buy & hold,
 * or a portfolio's cash) of class cls, on one scale.
 */
static void
append_equity_panel(StringInfo buf, const Frame *f, Panel *eq, const BtpgChartData *cd,
					const double *second, const char *cls, const char *color)
{
	BtBucket   *pb = palloc(sizeof(BtBucket) * f->ncols);
	BtBucket   *b = palloc(sizeof(BtBucket) * f->ncols);

	eq->lo = INFINITY;
	eq->hi = -INFINITY;
	bt_chart_buckets(cd->ts, second, second, second, cd->n, f->t0, f->t1, f->ncols, b);
	range_of(b, f->ncols, &eq->lo, &eq->hi);
	bt_chart_buckets(cd->ts, cd->equity, cd->equity, cd->equity, cd->n, f->t0, f->t1, f->ncols, pb);
	range_of(pb, f->ncols, &eq->lo, &eq->hi);
	bt_pad_range(&eq->lo, &eq->hi, 0.06);
	append_panel_frame(buf, f, eq, false);
	appendStringInfo(buf, "<g clip-path=\"url(#btc-clip-%s)\">\n", eq->id);
	append_polyline(buf, f, eq, b, cd->ts, false, cls, color, " stroke-dasharray=\"4 3\"");
	append_polyline(buf, f, eq, pb, cd->ts, true, "equity", C_EQUITY, "");
	appendStringInfoString(buf, "</g>\n");
}

/* The drawdown panel: the area under zero */
static void
append_drawdown_panel(StringInfo buf, const Frame *f, Panel *dd, const BtpgChartData *cd)
{
	BtBucket   *b = palloc(sizeof(BtBucket) * f->ncols);

	bt_chart_buckets(cd->ts, cd->dd, cd->dd, cd->dd, cd->n, f->t0, f->t1, f->ncols, b);
	dd->lo = 0;
	dd->hi = 0;
	range_of(b, f->ncols, &dd->lo, &dd->hi);
	dd->lo = dd->lo < 0 ? dd->lo * 1.08 : -1;
	dd->hi = -dd->lo * 0.04;
	append_panel_frame(buf, f, dd, true);
	appendStringInfo(buf, "<g clip-path=\"url(#btc-clip-%s)\">\n", dd->id);
	if (cd->n > 0)
	{
		appendStringInfo(buf, "<polygon class=\"drawdown\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\" points=\"%.1f,%.1f ",
						 C_DD, C_DD, xof(f, f->t0), yof(dd, 0));
		for (int c = 0; c < f->ncols; c++)
			if (b[c].count > 0)
				appendStringInfo(buf, "%.1f,%.1f ", xof(f, cd->ts[b[c].min_i]), yof(dd, b[c].min));
		appendStringInfo(buf, "%.1f,%.1f\"/>\n", xof(f, f->t1), yof(dd, 0));
	}
	appendStringInfoString(buf, "</g>\n");
}

/* The time grid from y top through the last panel, labels below it */
static void
append_time_axis(StringInfo buf, const Frame *f, const BtTimeTicks *tt, double top,
				 const Panel *last)
{
	appendStringInfoString(buf, "<g class=\"xaxis\">\n<path stroke=\"#e0e0e0\" stroke-dasharray=\"2 3\" d=\"");
	for (int i = 0; i < tt->n; i++)
		appendStringInfo(buf, "M%.1f %.1fV%.1f", xof(f, tt->t[i]), top, last->y0 + last->h);
	appendStringInfoString(buf, "\"/>\n");
	for (int i = 0; i < tt->n; i++)
	{
		char		label[32];

		double		x = xof(f, tt->t[i]);
		double		half;

		bt_format_time(tt->t[i], tt->unit, label, sizeof label);
		half = 3.4 * strlen(label);
		/* a label at an edge ends (or starts) at its tick rather than being cut */
		appendStringInfo(buf, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#424242\">%s</text>\n",
						 x, last->y0 + last->h + 16,
						 x + half > f->width - 2 ? "end" : x - half < 2 ? "start" : "middle", label);
	}
	appendStringInfoString(buf, "</g>\n");
}

/*
 * The positions panel of a portfolio: one lane per symbol that traded,
 * each trade a span from its entry to its exit coloured by side, with its
 * entry and exit markers and a tooltip; over MAX_TRADE_MARKERS trades (or
 * lanes too thin for markers) each lane's spans are merged per pixel
 * column into one path per side, without markers.
 */
static void
append_positions(StringInfo buf, const Frame *f, const Panel *p, const BtpgChartData *cd)
{
	double		lh = cd->nsym > 0 ? p->h / cd->nsym : p->h;
	bool		merge = cd->ntrades > MAX_TRADE_MARKERS || lh < 14;

	appendStringInfo(buf, "<clipPath id=\"btc-clip-%s\"><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\"/></clipPath>\n",
					 p->id, ML, p->y0, f->ncols, p->h);
	appendStringInfo(buf, "<g class=\"panel\" id=\"btc-panel-%s\">\n"
					 "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#ffffff\" stroke=\"#bdbdbd\"/>\n",
					 p->id, ML, p->y0, f->ncols, p->h);
	for (int i = 0; i < cd->nsym; i++)
	{
		double		yc = p->y0 + (i + 0.5) * lh;

		if (i > 0)
			appendStringInfo(buf, "<path stroke=\"#eeeeee\" d=\"M%d %.1fh%d\"/>\n", ML, p->y0 + i * lh, f->ncols);
		appendStringInfo(buf, "<text class=\"lane\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#424242\"%s>",
						 ML - 5, yc + 4, lh < 11 ? " font-size=\"8\"" : "");
		btpg_append_xml(buf, cd->sym_names[i]);
		appendStringInfoString(buf, "</text>\n");
	}
	appendStringInfo(buf, "<text class=\"plabel\" x=\"%d\" y=\"%.1f\" fill=\"#616161\" font-weight=\"bold\">Positions</text>\n</g>\n",
					 ML + 6, p->y0 - 3);
	appendStringInfo(buf, "<g class=\"positions\" clip-path=\"url(#btc-clip-%s)\">\n", p->id);
	if (merge)
	{
		uint8	   *cover = palloc(f->ncols);

		for (int i = 0; i < cd->nsym; i++)
			for (int side = 1; side >= -1; side -= 2)
			{
				bool		any = false;

				memset(cover, 0, f->ncols);
				for (int64 k = 0; k < cd->ntrades; k++)
				{
					const BtTrade *t = &cd->trades[k];
					int			c0,
								c1;

					if (cd->trade_sym[k] != i || t->side != side)
						continue;
					c0 = bt_chart_column(t->entry_ts, f->t0, f->t1, f->ncols);
					c1 = bt_chart_column(t->exit_ts, f->t0, f->t1, f->ncols);
					for (int c = Max(c0, 0); c <= c1 && c >= 0; c++)
						cover[c] = any = true;
				}
				if (!any)
					continue;
				appendStringInfo(buf, "<path class=\"position %s merged\" fill=\"%s\" fill-opacity=\"0.45\" d=\"",
								 side > 0 ? "long" : "short", side > 0 ? C_LONG : C_SHORT);
				for (int c = 0; c < f->ncols; c++)
				{
					int			e = c;

					if (!cover[c])
						continue;
					while (e + 1 < f->ncols && cover[e + 1])
						e++;
					appendStringInfo(buf, "M%d %.1fh%dv%.1fh%dz", ML + c, p->y0 + i * lh + lh * 0.2,
									 e - c + 1, lh * 0.6, -(e - c + 1));
					c = e;
				}
				appendStringInfoString(buf, "\"/>\n");
			}
		appendStringInfo(buf, "<text class=\"note\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#616161\">%lld trades: positions merged per pixel column</text>\n",
						 ML + f->ncols - 6, p->y0 + 14, (long long) cd->ntrades);
		pfree(cover);
	}
	else
		for (int64 k = 0; k < cd->ntrades; k++)
		{
			const BtTrade *t = &cd->trades[k];
			int			i = cd->trade_sym[k];
			double		xe = xof(f, t->entry_ts),
						xx = xof(f, t->exit_ts),
						yc = p->y0 + (i + 0.5) * lh;
			const char *xcol = t->pnl >= 0 ? C_WIN : C_LOSS;
			char		e[32],
						x[32];
			StringInfoData tip;

			btpg_format_ts(t->entry_ts, e, sizeof e);
			btpg_format_ts(t->exit_ts, x, sizeof x);
			initStringInfo(&tip);
			appendStringInfo(&tip, "%s: %s %s @%.6g, %s %s @%.6g %s, quantity %.6g, P&L %.2f (%+.2f%%)",
							 cd->sym_names[i], t->side > 0 ? "long" : "short", e, t->entry_price,
							 t->is_open ? "open" : "exit", x, t->exit_price,
							 bt_exit_reason_name(t->exit_reason), t->quantity, t->pnl, t->return_pct);
			appendStringInfoString(buf, "<g class=\"trade\"><title>");
			btpg_append_xml(buf, tip.data);
			appendStringInfo(buf, "</title><rect class=\"position %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.3\"/>",
							 t->side > 0 ? "long" : "short", xe, yc - lh * 0.3, Max(xx - xe, 1.0), lh * 0.6,
							 t->side > 0 ? C_LONG : C_SHORT);
			appendStringInfo(buf, "<path class=\"entry %s\" fill=\"%s\" d=\"", t->side > 0 ? "long" : "short",
							 t->side > 0 ? C_LONG : C_SHORT);
			append_marker_shape(buf, xe, t->side > 0 ? yc - 6 : yc + 6, t->side > 0 ? 0 : 1);
			appendStringInfo(buf, "\"/><path class=\"exit %s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\" d=\"",
							 bt_exit_reason_name(t->exit_reason), t->is_open ? "none" : xcol, xcol,
							 t->is_open ? "1.5" : "0");
			append_marker_shape(buf, xx, yc, exit_shape(t));
			appendStringInfoString(buf, "\"/></g>\n");
			pfree(tip.data);
		}
	appendStringInfoString(buf, "</g>\n");
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

	frame_init(&f, cd, width, height, &title);
	appendStringInfo(&title, "portfolio, %s %s", cd->strategy, cd->params_text);
	append_svg_head(buf, title.data, width, height);

	items[nitems++] = (LegendItem) {"long position", C_LONG, -2, false};
	items[nitems++] = (LegendItem) {"short position", C_SHORT, -2, false};
	nitems = add_trade_legend(items, nitems);
	items[nitems++] = (LegendItem) {"cash", C_BH, -1, false};
	items[nitems++] = (LegendItem) {"drawdown", C_DD, -2, false};
	append_legend(buf, items, nitems, width, &top);

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
	append_positions(buf, &f, &pos, cd);
	append_equity_panel(buf, &f, &eq, cd, cd->cash, "cash", C_BH);
	append_drawdown_panel(buf, &f, &dd, cd);
	append_time_axis(buf, &f, &tt, pos.y0, &dd);
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
	frame_init(&f, cd, width, height, &title);
	appendStringInfo(&title, "%s, %s %s", cd->symbol ? cd->symbol : "(all rows)",
					 cd->strategy, cd->params_text);

	append_svg_head(buf, title.data, width, height);

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
	nitems = add_trade_legend(items, nitems);
	items[nitems++] = (LegendItem) {"buy & hold", C_BH, -1, false};
	items[nitems++] = (LegendItem) {"drawdown", C_DD, -2, false};
	append_legend(buf, items, nitems, width, &top);

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
	range_of(pb, f.ncols, &price.lo, &price.hi);
	for (int i = 0; i < cd->nind; i++)
		if (!cd->ind[i].own_panel)
			for (int o = 0; o < cd->ind[i].def->noutputs; o++)
				if (cd->ind[i].show[o])
				{
					double	   *v = cd->ind[i].out[o];

					bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
					range_of(b, f.ncols, &price.lo, &price.hi);
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

	append_panel_frame(buf, &f, &price, false);
	append_price(buf, &f, &price, &cd->bars, pb, candles);
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
				append_polyline(buf, &f, &price, b, cd->bars.ts, true, "indicator", color, "");
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
				range_of(b, f.ncols, &p->lo, &p->hi);
			}
		bt_pad_range(&p->lo, &p->hi, 0.06);
		append_panel_frame(buf, &f, p, false);
		appendStringInfo(buf, "<g class=\"oscillator\" clip-path=\"url(#btc-clip-%s)\">\n", p->id);
		for (int o = 0; o < cd->ind[i].def->noutputs; o++)
			if (cd->ind[i].show[o])
			{
				double	   *v = cd->ind[i].out[o];

				bt_chart_buckets(cd->bars.ts, v, v, v, cd->bars.n, f.t0, f.t1, f.ncols, b);
				append_polyline(buf, &f, p, b, cd->bars.ts, true, "indicator",
								palette[c0++ % lengthof(palette)], "");
			}
		appendStringInfoString(buf, "</g>\n");
	}

	/* equity and buy & hold (the first bar's equity in the asset) */
	bh = palloc(sizeof(double) * Max(cd->n, 1));
	for (int64 i = 0; i < cd->n; i++)
		bh[i] = cd->close[0] > 0 ? cd->equity[0] * cd->close[i] / cd->close[0] : NAN;
	append_equity_panel(buf, &f, &eq, cd, bh, "buyhold", C_BH);
	append_drawdown_panel(buf, &f, &dd, cd);

	/* trades over the price panel */
	append_trades(buf, &f, &price, cd);
	append_time_axis(buf, &f, &tt, price.y0, &dd);
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
