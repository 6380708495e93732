/*-------------------------------------------------------------------------
 *
 * main.c
 *	  Engine unit-test runner: runs every test group, prints
 *	  "N passed, N failed" and exits non-zero on any failure.
 *
 * Usage: run_unit_tests [DATA_DIR]   (default test/data)
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>
#include <time.h>
#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;
const char *unit_data_dir = "test/data";

/* ---- allocation that can be freed wholesale ---------------------------- */
typedef struct Block
{
	struct Block *next;
	struct Block *prev;
	/* payload follows, max-aligned */
	double		align[];
} Block;
static Block *blocks = NULL;

static void *
unit_realloc(void *ctx, void *ptr, size_t size)
{
	Block	   *b = ptr ? (Block *) ((char *) ptr - offsetof(Block, align)) : NULL;
	Block	   *nb;

	(void) ctx;
	if (b)
	{
		/* unlink, realloc, relink */
		if (b->prev) b->prev->next = b->next; else blocks = b->next;
		if (b->next) b->next->prev = b->prev;
	}
	nb = realloc(b, sizeof(Block) + size);
	if (!nb)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	nb->prev = NULL;
	nb->next = blocks;
	if (blocks) blocks->prev = nb;
	blocks = nb;
	return nb->align;
}

BtAlloc		unit_alloc = {unit_realloc, NULL};

void
unit_free_all(void)
{
	while (blocks)
	{
		Block	   *next = blocks->next;

		free(blocks);
		blocks = next;
	}
}

/* ---- data helpers ------------------------------------------------------- */
int64_t
unit_parse_ts(const char *s)
{
	int			y, mo, d, h = 0, mi = 0, se = 0;
	int64_t		days;

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &se) < 3)
		return INT64_MIN;
	/* days from civil (Howard Hinnant's algorithm) */
	y -= mo <= 2;
	{
		int64_t		era = (y >= 0 ? y : y - 399) / 400;
		unsigned	yoe = (unsigned) (y - era * 400);
		unsigned	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		unsigned	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + (int64_t) doe - 719468;
	}
	return ((days * 24 + h) * 60 + mi) * INT64_C(60000000) + (int64_t) se * 1000000;
}

int64_t
unit_read_csv(const char *path, int ncols, double **cols)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	int64_t		cap = 1024, n = 0;

	if (!f)
	{
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	for (int c = 0; c < ncols; c++)
		cols[c] = unit_alloc.realloc_fn(NULL, NULL, cap * sizeof(double));
	if (!fgets(line, sizeof line, f))	/* header */
	{
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof line, f))
	{
		char	   *p = line;

		if (n == cap)
		{
			cap *= 2;
			for (int c = 0; c < ncols; c++)
				cols[c] = unit_alloc.realloc_fn(NULL, cols[c], cap * sizeof(double));
		}
		for (int c = 0; c < ncols; c++)
		{
			char	   *end = strpbrk(p, ",\n\r");
			char		save = end ? *end : '\0';

			if (end)
				*end = '\0';
			if (*p == '\0')
				cols[c][n] = NAN;
			else if (strlen(p) >= 10 && p[4] == '-' && p[7] == '-')
				cols[c][n] = (double) unit_parse_ts(p);
			else
				cols[c][n] = strtod(p, NULL);
			if (!end || save != ',')
			{
				/* remaining columns, if any, are missing */
				for (c++; c < ncols; c++)
					cols[c][n] = NAN;
				break;
			}
			p = end + 1;
		}
		n++;
	}
	fclose(f);
	return n;
}

static UnitOhlcv ohlcv;

const UnitOhlcv *
unit_ohlcv(void)
{
	if (ohlcv.n == 0)
	{
		char		path[1024];
		double	   *cols[6];

		snprintf(path, sizeof path, "%s/ohlcv_synth.csv", unit_data_dir);
		ohlcv.n = unit_read_csv(path, 6, cols);
		/* keep these out of unit_free_all: copy with plain malloc */
		ohlcv.ts = malloc(ohlcv.n * sizeof(int64_t));
		for (int64_t i = 0; i < ohlcv.n; i++)
			ohlcv.ts[i] = (int64_t) cols[0][i];
		ohlcv.open = malloc(ohlcv.n * sizeof(double));
		ohlcv.high = malloc(ohlcv.n * sizeof(double));
		ohlcv.low = malloc(ohlcv.n * sizeof(double));
		ohlcv.close = malloc(ohlcv.n * sizeof(double));
		ohlcv.volume = malloc(ohlcv.n * sizeof(double));
		memcpy(ohlcv.open, cols[1], ohlcv.n * sizeof(double));
		memcpy(ohlcv.high, cols[2], ohlcv.n * sizeof(double));
		memcpy(ohlcv.low, cols[3], ohlcv.n * sizeof(double));
		memcpy(ohlcv.close, cols[4], ohlcv.n * sizeof(double));
		memcpy(ohlcv.volume, cols[5], ohlcv.n * sizeof(double));
		unit_free_all();
	}
	return &ohlcv;
}

/* The sample data as a series (no signal column) */
BtSeries
unit_sample_series(void)
{
	const UnitOhlcv *d = unit_ohlcv();
	BtSeries	s;

	memset(&s, 0, sizeof(s));
	s.n = d->n;
	s.ts = d->ts;
	s.open = d->open;
	s.high = d->high;
	s.low = d->low;
	s.close = d->close;
	s.volume = d->volume;
	return s;
}

/* ---- hand-made series -------------------------------------------------- */
void
unit_bars_init(UnitBars *b, int n, const double o[], const double h[], const double l[],
			   const double c[])
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < n; i++)
	{
		b->ts[i] = (int64_t) (16436 + i) * BT_USECS_PER_DAY;	/* 2015-01-01 + i days */
		b->o[i] = o[i];
		b->h[i] = h[i];
		b->l[i] = l[i];
		b->c[i] = c[i];
		b->v[i] = 1000;
	}
	b->s.n = n;
	b->s.ts = b->ts;
	b->s.open = b->o;
	b->s.high = b->h;
	b->s.low = b->l;
	b->s.close = b->c;
	b->s.volume = b->v;
}

BtResult
unit_sim(const UnitBars *b, const int8_t *target, const BtSimParams *p)
{
	BtResult	r;
	BtError		err;

	CHECK(bt_simulate(&b->s, target, 0, p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	bt_compute_metrics(&b->s, 0, p, &r);
	return r;
}

/* ---- the test groups ---------------------------------------------------- */
#define UNIT_GROUPS(X) \
	X(test_indicators) \
	X(test_strategies) \
	X(test_simulator) \
	X(test_orders) \
	X(test_metrics) \
	X(test_sweep) \
	X(test_fused) \
	X(test_sma_cross) \
	X(test_next_gap) \
	X(test_tables) \
	X(test_walkforward) \
	X(test_chart) \
	X(test_portfolio) \
	X(test_portfolio_orders) \
	X(test_analytics) \
	X(test_objective) \
	X(test_live)

#define DECLARE(fn) extern void fn(void);
UNIT_GROUPS(DECLARE)

int
main(int argc, char **argv)
{
	if (argc > 1)
		unit_data_dir = argv[1];
#define RUN(fn) do { int f0 = unit_failed, p0 = unit_passed; fn(); unit_free_all(); \
		printf("%-20s %d passed, %d failed\n", #fn, unit_passed - p0, unit_failed - f0); } while (0);
	UNIT_GROUPS(RUN)
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
