/*-------------------------------------------------------------------------
 *
 * fuzz_engine.c
 *	  libFuzzer target for the engine: arbitrary bytes become a series (with
 *	  NaN, infinities, zeros, equal and backward timestamps), a strategy and
 *	  parameters (in and out of range).  The engine must reject what
 *	  bt_validate_series / bt_config_check reject, run everything else
 *	  without crashing (ASan/UBSan watch), and keep its books: final equity
 *	  equals initial capital plus every trade's pnl, equity stays finite, a
 *	  long-only run never holds a short position, no trade fills before the
 *	  bar after its decision could be made.
 *
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/fuzz/fuzz_engine.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_engine.h"

#define MAX_BARS 1500

/* An allocator whose blocks are freed after each input */
static void *blocks[4096];
static int	nblocks;

static void *
fz_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *p;

	(void) ctx;
	if (ptr)
	{
		for (int i = 0; i < nblocks; i++)
			if (blocks[i] == ptr)
			{
				p = realloc(ptr, size);
				if (!p)
					abort();
				blocks[i] = p;
				return p;
			}
		abort();				/* realloc of a pointer we never gave out */
	}
	p = malloc(size);
	if (!p || nblocks == 4096)
		abort();
	blocks[nblocks++] = p;
	return p;
}

static void
fz_free_all(void)
{
	while (nblocks > 0)
		free(blocks[--nblocks]);
}

/* A tiny reader over the input bytes */
typedef struct Reader
{
	const uint8_t *p;
	size_t		n;
} Reader;

static uint32_t
rd_u32(Reader *r)
{
	uint32_t	v = 0;

	for (int i = 0; i < 4; i++)
	{
		v = (v << 8) | (r->n ? *r->p : 0);
		if (r->n)
		{
			r->p++;
			r->n--;
		}
	}
	return v;
}

static uint8_t
rd_u8(Reader *r)
{
	uint8_t		v = r->n ? *r->p : 0;

	if (r->n)
	{
		r->p++;
		r->n--;
	}
	return v;
}

/* A price-like value, sometimes pathological */
static double
rd_price(Reader *r, double prev)
{
	uint8_t		k = rd_u8(r);

	switch (k)
	{
		case 0:
			return NAN;
		case 1:
			return INFINITY;
		case 2:
			return 0.0;
		case 3:
			return -prev;
		case 4:
			return prev;		/* flat bars: exact ties */
		default:
			return prev * (1.0 + ((double) k - 128.0) / 2000.0);
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r = {data, size};
	static int64_t ts[MAX_BARS];
	static double o[MAX_BARS], h[MAX_BARS], l[MAX_BARS], c[MAX_BARS], v[MAX_BARS], sig[MAX_BARS];
	int64_t		n;
	const BtStrategyDef *st;
	BtConfig	cfg;
	BtSeries	s;
	BtResult	res;
	BtError		err;
	BtAlloc		a = {fz_realloc, NULL};
	double		prev = 100.0;
	int64_t		t = 0;

	n = rd_u32(&r) % MAX_BARS;
	st = &bt_strategies[rd_u8(&r) % bt_n_strategies];
	bt_config_defaults(&cfg, st);

	/* strategy parameters: near the defaults, sometimes wild */
	for (int i = 0; i < st->nparams; i++)
	{
		uint8_t		k = rd_u8(&r);

		if (k < 200)
			cfg.sp[i] = st->params[i].type == BT_PARAM_BOOL ? (k & 1) :
				st->params[i].type == BT_PARAM_INT ? 1 + k % 60 : (double) k / 2.0;
		else
			cfg.sp[i] = (double) (int32_t) rd_u32(&r) / 7.0;
	}
	/* simulator parameters */
	for (int i = 0; i < bt_n_sim_params; i++)
	{
		uint8_t		k = rd_u8(&r);

		if (k >= 128)
			continue;			/* keep the default */
		switch (bt_sim_params[i].def.type)
		{
			case BT_PARAM_BOOL:
				bt_sim_set(&cfg.sim, i, k & 1);
				break;
			case BT_PARAM_ENUM:
				bt_sim_set(&cfg.sim, i, k % 3);
				break;
			default:
				bt_sim_set(&cfg.sim, i, (double) k / 100.0 * bt_sim_params[i].def.max);
				break;
		}
	}

	for (int64_t i = 0; i < n; i++)
	{
		uint8_t		step = rd_u8(&r);

		t += step < 5 ? (int64_t) step - 1 : (int64_t) step * 60000000;	/* dupes, backwards */
		ts[i] = t;
		o[i] = rd_price(&r, prev);
		c[i] = rd_price(&r, o[i]);
		h[i] = fmax(o[i], c[i]) * (1.0 + rd_u8(&r) / 5000.0);
		l[i] = fmin(o[i], c[i]) * (1.0 - rd_u8(&r) / 5000.0);
		if (rd_u8(&r) == 7)
			h[i] = l[i] - 1;	/* high below low */
		v[i] = rd_u8(&r);
		sig[i] = (double) (rd_u8(&r) % 4) - 1.0;
		if (sig[i] == 2.0)
			sig[i] = NAN;
		if (isfinite(c[i]) && c[i] > 0)
			prev = c[i];
	}
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = ts;
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	s.volume = v;
	s.signal = st->needs_signal ? sig : NULL;

	/* the indicators alone, on whatever data (must not crash) */
	for (int k = 0; k < bt_n_indicators; k++)
	{
		const BtIndicatorDef *ind = bt_indicators[k];
		double		p[BT_IND_MAX_PARAMS];
		double	   *out[BT_IND_MAX_OUTPUTS];

		for (int j = 0; j < ind->nparams; j++)
			p[j] = ind->params[j].def;
		for (int j = 0; j < ind->noutputs; j++)
			out[j] = fz_realloc(NULL, NULL, sizeof(double) * (n > 0 ? n : 1));
		ind->compute(&s, p, out);
	}

	if (bt_validate_series(&s, st->needs_volume, &err) && bt_config_check(&cfg, &err))
	{
		double		sum = 0;

		if (bt_run(&s, &cfg, &a, NULL, NULL, &res, &err) != BT_OK)
			abort();
		for (int64_t k = 0; k < res.ntrades; k++)
		{
			const BtTrade *tr = &res.trades[k];

			sum += tr->pnl;
			if (tr->entry_bar > tr->exit_bar || tr->quantity <= 0 || !isfinite(tr->pnl))
				abort();
			/* no look-ahead: a next-open fill is at least one bar after warm-up */
			if (cfg.sim.fill == BT_FILL_OPEN ? tr->entry_bar <= res.metrics.warmup_bars :
				tr->entry_bar < res.metrics.warmup_bars)
				abort();
			if (!cfg.sim.allow_short && tr->side < 0)
				abort();
		}
		for (int64_t i = 0; i < n; i++)
			if (!isfinite(res.equity[i]) || (!cfg.sim.allow_short && res.position[i] < 0))
				abort();
		if (n > 0 && fabs(res.metrics.equity_final - (cfg.sim.initial_capital + sum)) >
			1e-6 * fmax(1.0, fabs(cfg.sim.initial_capital) + fabs(sum)))
		{
			fprintf(stderr, "books do not balance: %.17g vs %.17g\n",
					res.metrics.equity_final, cfg.sim.initial_capital + sum);
			abort();
		}
	}
	fz_free_all();
	return 0;
}
