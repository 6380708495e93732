/*-------------------------------------------------------------------------
 *
 * run.h
 *	  Transitional: the result rows moved to the glue core
 *	  (core/results.h).  New code includes that header; this one stays
 *	  only so that files written before the move still compile.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/run.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_RUN_H
#define BTPG_RUN_H

#include "core/results.h"

#endif							/* BTPG_RUN_H */
