/*-------------------------------------------------------------------------
 *
 * heatmap.c
 *	  backtest_heatmap_svg(): a parameter sweep as a picture — two swept
 *	  parameters on the axes, the objective as the colour of each cell — in
 *	  SVG a browser opens directly.
 *
 *	  SELECT backtest_heatmap_svg(array_agg(p1), array_agg(p2),
 *								  array_agg(sharpe_ratio), 'fast', 'slow',
 *								  'sharpe_ratio')
 *	  FROM backtest_sweep('klines', '0700.HK', 'sma_cross', '{...}');
 *
 * Cells: one per distinct (x, y) pair, on a grid of the distinct x values
 * (columns, ascending) by distinct y values (rows, ascending upwards).  A
 * pair given twice keeps the mean; pairs never given, or NULL/NaN values,
 * are grey.  Colours: white at 0, green for values above it and red below,
 * deeper the larger the magnitude, on one scale for both sides (the
 * largest |value| is the deepest), so +0.21 looks weaker than -0.57.  A
 * cell's value is printed in it when it fits.  Every text is XML-escaped.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/heatmap.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "core/arrays.h"
#include "core/xml.h"

PG_FUNCTION_INFO_V1(backtest_heatmap_svg);

#define CELL		36			/* cell size, px */
#define MARGIN_L	90
#define MARGIN_T	50
#define MARGIN_B	60
#define LEGEND_W	90

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Sorted distinct finite values of v; returns their count */
static int
distinct(const double *v, int n, double *out)
{
	int			m = 0;

	for (int i = 0; i < n; i++)
		if (isfinite(v[i]))
			out[m++] = v[i];
	qsort(out, m, sizeof(double), cmp_double);
	{
		int			k = 0;

		for (int i = 0; i < m; i++)
			if (k == 0 || out[i] != out[k - 1])
				out[k++] = out[i];
		return k;
	}
}

/* Index of x in the sorted array a[0..n-1] (it is there) */
static int
find(const double *a, int n, double x)
{
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Colour of value z when the largest magnitude is scale (> 0, or 0 when
 * every value is 0): white at 0, red below, green above, t = |z| / scale
 * deep.  Returns t.
 */
static double
colour(double z, double scale, int *r, int *g, int *b)
{
	double		t = scale > 0 ? Min(1.0, fabs(z) / scale) : 0;

	if (z < 0)
	{
		*r = 255 - (int) (t * (255 - 215));
		*g = 255 - (int) (t * (255 - 48));
		*b = 255 - (int) (t * (255 - 39));
	}
	else
	{
		*r = 255 - (int) (t * (255 - 26));
		*g = 255 - (int) (t * (255 - 152));
		*b = 255 - (int) (t * (255 - 80));
	}
	return t;
}

/* A number for a label: integers without decimals, else 4 significant digits */
static char *
fmt_num(double x)
{
	if (x == floor(x) && fabs(x) < 1e15)
		return psprintf("%.0f", x);
	return psprintf("%.4g", x);
}

/*
 * backtest_heatmap_svg(x float8[], y float8[], value float8[],
 *						x_label text, y_label text, title text) returns text
 */
Datum
backtest_heatmap_svg(PG_FUNCTION_ARGS)
{
	int			nx_in,
				ny_in,
				nv_in;
	double	   *x = btpg_float8_array_arg(fcinfo, 0, "argument \"x\" of backtest_heatmap_svg", &nx_in, NULL);
	double	   *y = btpg_float8_array_arg(fcinfo, 1, "argument \"y\" of backtest_heatmap_svg", &ny_in, NULL);
	double	   *v = btpg_float8_array_arg(fcinfo, 2, "argument \"value\" of backtest_heatmap_svg", &nv_in, NULL);
	const char *xl = PG_ARGISNULL(3) ? "x" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	const char *yl = PG_ARGISNULL(4) ? "y" : text_to_cstring(PG_GETARG_TEXT_PP(4));
	const char *title = PG_ARGISNULL(5) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(5));
	double	   *xs,
			   *ys,
			   *sum;
	int		   *cnt;
	int			nx,
				ny,
				width,
				height;
	double		lo = INFINITY,
				hi = -INFINITY,
				scale;
	StringInfoData svg;

	if (nx_in != ny_in || nx_in != nv_in)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("x, y and value must have the same length (%d, %d, %d)", nx_in, ny_in, nv_in)));
	xs = palloc(sizeof(double) * (nx_in + 1));
	ys = palloc(sizeof(double) * (nx_in + 1));
	nx = distinct(x, nx_in, xs);
	ny = distinct(y, nx_in, ys);
	if (nx == 0 || ny == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no finite (x, y) pair to draw"),
				 errhint("Pass the two swept parameters, e.g. array_agg(p1) and array_agg(p2).")));
	if ((int64) nx * ny > 250000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a heatmap of %d x %d cells is too large to draw", nx, ny),
				 errhint("Sweep fewer values on each axis (at most 250000 cells).")));
	sum = palloc0(sizeof(double) * nx * ny);
	cnt = palloc0(sizeof(int) * nx * ny);
	for (int i = 0; i < nx_in; i++)
	{
		int			c;

		if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(v[i]))
			continue;
		c = find(ys, ny, y[i]) * nx + find(xs, nx, x[i]);
		sum[c] += v[i];
		cnt[c]++;
	}
	for (int c = 0; c < nx * ny; c++)
		if (cnt[c] > 0)
		{
			double		z = sum[c] / cnt[c];

			lo = fmin(lo, z);
			hi = fmax(hi, z);
		}
	scale = (lo <= hi) ? Max(fabs(lo), fabs(hi)) : 0;

	width = MARGIN_L + nx * CELL + LEGEND_W;
	height = MARGIN_T + ny * CELL + MARGIN_B;
	initStringInfo(&svg);
	appendStringInfo(&svg,
					 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
					 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
					 width, height, width, height);
	appendStringInfoString(&svg, "<title>");
	btpg_append_xml(&svg, title[0] ? title : "parameter sweep");
	appendStringInfoString(&svg, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
	appendStringInfo(&svg, "<text x=\"%d\" y=\"22\" font-size=\"14\" font-weight=\"bold\">", MARGIN_L);
	btpg_append_xml(&svg, title);
	appendStringInfoString(&svg, "</text>\n");

	for (int j = 0; j < ny; j++)
	{
		int			py = MARGIN_T + (ny - 1 - j) * CELL;	/* y ascends upwards */

		for (int i = 0; i < nx; i++)
		{
			int			c = j * nx + i;
			int			px = MARGIN_L + i * CELL;
			int			r = 220,
						g = 220,
						b = 220;
			double		depth = 0;

			if (cnt[c] > 0)
				depth = colour(sum[c] / cnt[c], scale, &r, &g, &b);
			appendStringInfo(&svg,
							 "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
							 "fill=\"rgb(%d,%d,%d)\" stroke=\"white\">",
							 px, py, CELL, CELL, r, g, b);
			appendStringInfoString(&svg, "<title>");
			btpg_append_xml(&svg, xl);
			appendStringInfo(&svg, "=%s, ", fmt_num(xs[i]));
			btpg_append_xml(&svg, yl);
			appendStringInfo(&svg, "=%s: %s</title></rect>\n", fmt_num(ys[j]),
							 cnt[c] > 0 ? psprintf("%.6g", sum[c] / cnt[c]) : "no value");
			/* the value in the cell, when it fits (about 6 px a character) */
			if (cnt[c] > 0)
			{
				char	   *label = psprintf("%.3g", sum[c] / cnt[c]);

				if ((int) strlen(label) * 6 <= CELL - 4)
					appendStringInfo(&svg,
									 "<text class=\"value\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
									 "font-size=\"10\" fill=\"%s\" pointer-events=\"none\">%s</text>\n",
									 px + CELL / 2, py + CELL / 2 + 4,
									 depth > 0.6 ? "white" : "#212121", label);
			}
		}
		appendStringInfo(&svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
						 MARGIN_L - 6, py + CELL / 2 + 4, fmt_num(ys[j]));
	}
	for (int i = 0; i < nx; i++)
		appendStringInfo(&svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
						 MARGIN_L + i * CELL + CELL / 2, MARGIN_T + ny * CELL + 16, fmt_num(xs[i]));
	appendStringInfo(&svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
					 MARGIN_L + nx * CELL / 2, MARGIN_T + ny * CELL + 40);
	btpg_append_xml(&svg, xl);
	appendStringInfo(&svg, "</text>\n<text x=\"20\" y=\"%d\" text-anchor=\"middle\" "
					 "transform=\"rotate(-90 20 %d)\">",
					 MARGIN_T + ny * CELL / 2, MARGIN_T + ny * CELL / 2);
	btpg_append_xml(&svg, yl);
	appendStringInfoString(&svg, "</text>\n");

	/* legend: high, zero, low */
	if (lo <= hi)
	{
		int			lx = MARGIN_L + nx * CELL + 20;
		double		stops[3] = {hi, 0, lo};

		for (int k = 0; k < 3; k++)
		{
			int			r,
						g,
						b;

			colour(stops[k], scale, &r, &g, &b);
			appendStringInfo(&svg,
							 "<rect class=\"legend\" x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" "
							 "fill=\"rgb(%d,%d,%d)\" stroke=\"#999\"/>"
							 "<text x=\"%d\" y=\"%d\">%s</text>\n",
							 lx, MARGIN_T + k * 22, r, g, b, lx + 20, MARGIN_T + k * 22 + 11,
							 psprintf("%.4g", stops[k]));
		}
	}
	appendStringInfoString(&svg, "</svg>\n");
	PG_RETURN_TEXT_P(cstring_to_text(svg.data));
}
