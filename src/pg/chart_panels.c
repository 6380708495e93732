/*-------------------------------------------------------------------------
 *
 * chart_panels.c
 *	  backtest_chart_svg()'s panels and axes: the price panel (candles or
 *	  the high/low band), downsampled lines, the equity and drawdown panels,
 *	  the time axis, the frame and the <svg> head (assembled in chart.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart_panels.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "core/xml.h"
#include "chart_svg.h"

/* Widen [lo, hi] by the buckets' min and max */
void
btpg_svg_range_of(const BtBucket *b, int ncols, double *lo, double *hi)
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

void
btpg_svg_polyline(StringInfo buf, const Frame *f, const Panel *p, const BtBucket *b,
				const int64_t *ts, bool minmax, const char *cls, const char *color,
				const char *extra)
{
	appendStringInfo(buf, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\"%s points=\"",
					 cls, color, extra);
	append_points(buf, f, p, b, ts, minmax);
	appendStringInfoString(buf, "\"/>\n");
}

/* The frame, grid lines and value labels of a panel, and its clip path */
void
btpg_svg_panel_frame(StringInfo buf, const Frame *f, const Panel *p, bool percent)
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
void
btpg_svg_price(StringInfo buf, const Frame *f, const Panel *p, const BtSeries *s,
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
		btpg_svg_polyline(buf, f, p, pb, s->ts, false, "close", C_CLOSE, "");
	}
	appendStringInfoString(buf, "</g>\n");
}

/* The frame of a chart of cd, and its title's start ("Task N: " for a task) */
void
btpg_svg_frame_init(Frame *f, const BtpgChartData *cd, int width, int height, StringInfo title)
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

/* The <svg> element's start: size, fonts, the title (tooltip and text) */
void
btpg_svg_head(StringInfo buf, const char *title, int width, int height)
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
void
btpg_svg_equity_panel(StringInfo buf, const Frame *f, Panel *eq, const BtpgChartData *cd,
					const double *second, const char *cls, const char *color)
{
	BtBucket   *pb = palloc(sizeof(BtBucket) * f->ncols);
	BtBucket   *b = palloc(sizeof(BtBucket) * f->ncols);

	eq->lo = INFINITY;
	eq->hi = -INFINITY;
	bt_chart_buckets(cd->ts, second, second, second, cd->n, f->t0, f->t1, f->ncols, b);
	btpg_svg_range_of(b, f->ncols, &eq->lo, &eq->hi);
	bt_chart_buckets(cd->ts, cd->equity, cd->equity, cd->equity, cd->n, f->t0, f->t1, f->ncols, pb);
	btpg_svg_range_of(pb, f->ncols, &eq->lo, &eq->hi);
	bt_pad_range(&eq->lo, &eq->hi, 0.06);
	btpg_svg_panel_frame(buf, f, eq, false);
	appendStringInfo(buf, "<g clip-path=\"url(#btc-clip-%s)\">\n", eq->id);
	btpg_svg_polyline(buf, f, eq, b, cd->ts, false, cls, color, " stroke-dasharray=\"4 3\"");
	btpg_svg_polyline(buf, f, eq, pb, cd->ts, true, "equity", C_EQUITY, "");
	appendStringInfoString(buf, "</g>\n");
}

/* The drawdown panel: the area under zero */
void
btpg_svg_drawdown_panel(StringInfo buf, const Frame *f, Panel *dd, const BtpgChartData *cd)
{
	BtBucket   *b = palloc(sizeof(BtBucket) * f->ncols);

	bt_chart_buckets(cd->ts, cd->dd, cd->dd, cd->dd, cd->n, f->t0, f->t1, f->ncols, b);
	dd->lo = 0;
	dd->hi = 0;
	btpg_svg_range_of(b, f->ncols, &dd->lo, &dd->hi);
	dd->lo = dd->lo < 0 ? dd->lo * 1.08 : -1;
	dd->hi = -dd->lo * 0.04;
	btpg_svg_panel_frame(buf, f, dd, true);
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
void
btpg_svg_time_axis(StringInfo buf, const Frame *f, const BtTimeTicks *tt, double top,
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
