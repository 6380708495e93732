/*-------------------------------------------------------------------------
 *
 * aggregate_plan.h
 *	  The planner hook of the backtest() aggregate (aggregate_plan.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate_plan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_AGGREGATE_PLAN_H
#define BTPG_AGGREGATE_PLAN_H

/* Install the planner hook (from _PG_init) */
extern void btpg_aggregate_plan_init(void);

#endif							/* BTPG_AGGREGATE_PLAN_H */
