/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A tiny test harness for the engine unit tests (no server needed).
 *
 * Each test file defines functions `void test_xxx(void)` and lists them in
 * main.c.  CHECK* macros count a failure and print where it happened; the
 * runner prints "N passed, N failed" last and exits non-zero on failure.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/unit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNIT_H
#define UNIT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "bt_engine.h"

extern int	unit_passed;
extern int	unit_failed;
extern const char *unit_data_dir;	/* test/data */

#define CHECK(cond) \
	do { if (cond) unit_passed++; else { unit_failed++; \
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_MSG(cond, ...) \
	do { if (cond) unit_passed++; else { unit_failed++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* |a-b| <= tol * max(1,|b|) (relative to the expected value b) */
#define CHECK_NEAR(a, b, tol) \
	do { double _a = (a), _b = (b); \
		double _s = fabs(_b) > 1.0 ? fabs(_b) : 1.0; \
		if (fabs(_a - _b) <= (tol) * _s) unit_passed++; else { unit_failed++; \
		fprintf(stderr, "FAIL %s:%d: %s = %.17g, expected %.17g\n", \
				__FILE__, __LINE__, #a, _a, _b); } } while (0)

/* A BtAlloc over realloc whose blocks are all freed by unit_free_all() */
extern BtAlloc unit_alloc;
extern void unit_free_all(void);

/* The sample OHLCV data (test/data/ohlcv_synth.csv), loaded once */
typedef struct UnitOhlcv
{
	int64_t		n;
	int64_t    *ts;
	double	   *open, *high, *low, *close, *volume;
} UnitOhlcv;
extern const UnitOhlcv *unit_ohlcv(void);

/* The sample data as a BtSeries (arrays of unit_ohlcv) */
extern BtSeries unit_sample_series(void);

/* Parse "YYYY-MM-DD[ HH:MM:SS]" to usecs since the Unix epoch (UTC) */
extern int64_t unit_parse_ts(const char *s);

/*
 * Read a CSV with a header into columns of doubles (empty field = NaN).
 * Returns the number of data rows; *cols gets ncols arrays (column 0 is
 * the raw first field parsed with unit_parse_ts when it looks like a date).
 * Memory comes from unit_alloc.
 */
extern int64_t unit_read_csv(const char *path, int ncols, double **cols);

/* A small hand-made series: bar i on day i from 2015-01-01, volume 1000 */
#define UNIT_MAXN 16
typedef struct UnitBars
{
	int64_t		ts[UNIT_MAXN];
	double		o[UNIT_MAXN], h[UNIT_MAXN], l[UNIT_MAXN], c[UNIT_MAXN], v[UNIT_MAXN];
	BtSeries	s;
} UnitBars;

/* Fill b with n (<= UNIT_MAXN) bars of the given prices */
extern void unit_bars_init(UnitBars *b, int n, const double o[], const double h[],
						   const double l[], const double c[]);

/* bt_simulate on b's bars (warm-up 0, checked to succeed), then the metrics */
extern BtResult unit_sim(const UnitBars *b, const int8_t *target, const BtSimParams *p);

#endif
