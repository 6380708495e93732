/*-------------------------------------------------------------------------
 *
 * bgworker.h
 *	  The common fill of our background workers (bgworker.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/bgworker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_BGWORKER_H
#define BTPG_CORE_BGWORKER_H

#include "postgres.h"

#include "postmaster/bgworker.h"

extern void btpg_bgworker_init(BackgroundWorker *w, const char *function, const char *name,
							   const char *type);

#endif							/* BTPG_CORE_BGWORKER_H */
