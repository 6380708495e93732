/*-------------------------------------------------------------------------
 *
 * chart_marks.c
 *	  backtest_chart_svg()'s marks: trade markers (one each, or merged per
 *	  pixel column), a portfolio's position lanes, and the legend
 *	  (assembled in chart.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart_marks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "core/xml.h"
#include "chart_svg.h"

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

void
btpg_svg_trades(StringInfo buf, const Frame *f, const Panel *p, const BtpgChartData *cd)
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


void
btpg_svg_legend(StringInfo buf, const LegendItem *items, int n, int width, double *bottom)
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

/* The legend items of the trade markers and the equity line, from items[n]; returns the count */
int
btpg_svg_trade_legend(LegendItem *items, int n)
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

/*
 * The positions panel of a portfolio: one lane per symbol that traded,
 * each trade a span from its entry to its exit coloured by side, with its
 * entry and exit markers and a tooltip; over MAX_TRADE_MARKERS trades (or
 * lanes too thin for markers) each lane's spans are merged per pixel
 * column into one path per side, without markers.
 */
void
btpg_svg_positions(StringInfo buf, const Frame *f, const Panel *p, const BtpgChartData *cd)
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
