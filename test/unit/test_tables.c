/*-------------------------------------------------------------------------
 *
 * test_tables.c
 *	  Unit tests of the engine's descriptor tables: the simulator's
 *	  parameter table covers every BtSimParams field once, and set/get
 *	  through it touch exactly that field.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_tables.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"

/* Bytes a parameter's field takes, by its type (see BtSimParamDef) */
static size_t
sim_field_size(BtParamType type)
{
	switch (type)
	{
		case BT_PARAM_BOOL:
			return sizeof(bool);
		case BT_PARAM_ENUM:
		case BT_PARAM_INT:
			return sizeof(int);
		case BT_PARAM_NUM:
			return sizeof(double);
	}
	return 0;
}

/*
 * Every entry's field lies inside BtSimParams, no two overlap, and setting
 * one through the table changes that field's bytes only; get is set's
 * inverse; the fields named in the table are the struct's (spot checks
 * against direct field reads).
 */
static void
test_sim_param_table(void)
{
	unsigned char owner[sizeof(BtSimParams)];
	size_t		covered = 0;
	BtSimParams sim;

	CHECK(bt_n_sim_params == BT_N_SIM_PARAMS);
	memset(owner, 0xff, sizeof(owner));
	for (int i = 0; i < bt_n_sim_params; i++)
	{
		const BtSimParamDef *d = &bt_sim_params[i];
		size_t		sz = sim_field_size(d->def.type);
		bool		free_bytes = true;

		CHECK_MSG(sz > 0 && d->offset + sz <= sizeof(BtSimParams), "%s", d->def.name);
		for (size_t b = d->offset; b < d->offset + sz && b < sizeof(owner); b++)
		{
			free_bytes = free_bytes && owner[b] == 0xff;
			owner[b] = (unsigned char) i;
		}
		CHECK_MSG(free_bytes, "field of %s overlaps another", d->def.name);
		covered += sz;
	}
	/* every field is in the table: what is left is padding only */
	CHECK(covered <= sizeof(BtSimParams) && sizeof(BtSimParams) - covered < sizeof(double));

	for (int i = 0; i < bt_n_sim_params; i++)
	{
		const BtSimParamDef *d = &bt_sim_params[i];
		BtSimParams before,
					after;
		double		v = d->def.type == BT_PARAM_NUM ? 0.125 + i : 1;
		bool		only_that = true;

		memset(&before, 0, sizeof(before));
		bt_sim_defaults(&before);
		after = before;
		bt_sim_set(&after, i, v);
		CHECK_MSG(bt_sim_get(&after, i) == v, "%s", d->def.name);
		for (size_t b = 0; b < sizeof(BtSimParams); b++)
			if (owner[b] != (unsigned char) i && owner[b] != 0xff &&
				((unsigned char *) &before)[b] != ((unsigned char *) &after)[b])
				only_that = false;
		CHECK_MSG(only_that, "setting %s changed another field", d->def.name);
	}
	CHECK(isnan(bt_sim_get(&sim, -1)) && isnan(bt_sim_get(&sim, bt_n_sim_params)));

	/* the defaults land in the named fields */
	bt_sim_defaults(&sim);
	CHECK(sim.initial_capital == 10000 && sim.size == 1.0 && sim.lot_size == 1 &&
		  !sim.fractional && !sim.allow_short && sim.fill == BT_FILL_OPEN &&
		  sim.stamp_duty_on == BT_STAMP_SELL && sim.periods_per_year == 0);
	bt_sim_set(&sim, 5, 1);
	bt_sim_set(&sim, 10, 2);
	bt_sim_set(&sim, 4, 1);
	bt_sim_set(&sim, 16, 0.03);
	CHECK(sim.fill == BT_FILL_CLOSE && sim.stamp_duty_on == BT_STAMP_BOTH && sim.allow_short &&
		  sim.risk_free_rate == 0.03);
	CHECK(strcmp(bt_sim_params[5].def.name, "fill") == 0 &&
		  strcmp(bt_sim_params[5].def.choices[1], "close") == 0 &&
		  bt_sim_params[5].def.choices[2] == NULL &&
		  bt_sim_params[0].def.choices[0] == NULL);
}

void
test_tables(void)
{
	test_sim_param_table();
}
