/*-------------------------------------------------------------------------
 *
 * chart_svg.h
 *	  Declarations shared between the SVG chart's files only: the layout
 *	  constants and colours, a panel's and the frame's geometry, and the
 *	  pieces chart.c assembles: panels and axes (chart_panels.c), trade
 *	  markers, position lanes and the legend (chart_marks.c).
 *	  Include after postgres.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/chart_svg.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CHART_SVG_H
#define BTPG_CHART_SVG_H

#include "lib/stringinfo.h"

#include "bt_chart.h"
#include "chart.h"

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

/* A legend item: a swatch (line, or a marker shape) and its label */
typedef struct LegendItem
{
	const char *label;
	const char *color;
	int			shape;			/* -1 line, -2 area, else a marker shape */
	bool		hollow;
} LegendItem;

static inline double
xof(const Frame *f, int64_t t)
{
	if (f->t1 == f->t0)
		return ML + f->ncols / 2.0;
	return ML + (double) (t - f->t0) / (double) (f->t1 - f->t0) * f->ncols;
}

static inline double
yof(const Panel *p, double v)
{
	return p->y0 + p->h - (v - p->lo) / (p->hi - p->lo) * p->h;
}

extern void btpg_svg_range_of(const BtBucket *b, int ncols, double *lo, double *hi);
extern void btpg_svg_polyline(StringInfo buf, const Frame *f, const Panel *p, const BtBucket *b,
							  const int64_t *ts, bool minmax, const char *cls, const char *color,
							  const char *extra);
extern void btpg_svg_panel_frame(StringInfo buf, const Frame *f, const Panel *p, bool percent);
extern void btpg_svg_price(StringInfo buf, const Frame *f, const Panel *p, const BtSeries *s,
						   const BtBucket *pb, bool candles);
extern void btpg_svg_frame_init(Frame *f, const BtpgChartData *cd, int width, int height,
								StringInfo title);
extern void btpg_svg_head(StringInfo buf, const char *title, int width, int height);
extern void btpg_svg_equity_panel(StringInfo buf, const Frame *f, Panel *eq,
								  const BtpgChartData *cd, const double *second, const char *cls,
								  const char *color);
extern void btpg_svg_drawdown_panel(StringInfo buf, const Frame *f, Panel *dd,
									const BtpgChartData *cd);
extern void btpg_svg_time_axis(StringInfo buf, const Frame *f, const BtTimeTicks *tt, double top,
							   const Panel *last);
extern void btpg_svg_trades(StringInfo buf, const Frame *f, const Panel *p,
							const BtpgChartData *cd);
extern void btpg_svg_legend(StringInfo buf, const LegendItem *items, int n, int width,
							double *bottom);
extern int btpg_svg_trade_legend(LegendItem *items, int n);
extern void btpg_svg_positions(StringInfo buf, const Frame *f, const Panel *p,
							   const BtpgChartData *cd);

#endif							/* BTPG_CHART_SVG_H */
