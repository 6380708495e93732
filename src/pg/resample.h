/*-------------------------------------------------------------------------
 *
 * resample.h
 *	  Resampling a loaded series to a coarser timeframe (resample.c):
 *	  backtest_resample and the "timeframe" parameter.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/resample.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_RESAMPLE_H
#define BTPG_RESAMPLE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "bt_engine.h"
#include "core/columns.h"
#include "core/loader.h"

/*
 * The default origin of the buckets: Monday 2000-01-03 00:00 (wall clock),
 * PostgreSQL's epoch plus two days, so days start at midnight and weeks on
 * Monday (date_bin's origin in the tests).
 */
#define BTPG_RESAMPLE_ORIGIN	((Timestamp) (2 * USECS_PER_DAY))

extern int64 btpg_resample_interval(const Interval *iv);
extern void btpg_resample_series(BtSeries *s, int64 interval, int64 origin, const char *tz,
								 int64 **bars_out);
extern void btpg_resample_groups(BtSeries *s, BtpgSymGroup *groups, int32 ngroups,
								 const BtpgColumns *cols);

#endif							/* BTPG_RESAMPLE_H */
