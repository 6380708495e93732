/*-------------------------------------------------------------------------
 *
 * timestamps.h
 *	  Timestamps between PostgreSQL (microseconds since 2000-01-01) and the
 *	  engine (microseconds since 1970-01-01).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/timestamps.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_TIMESTAMPS_H
#define BTPG_CORE_TIMESTAMPS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

/* Unix epoch minus PostgreSQL epoch, in microseconds */
#define BTPG_EPOCH_SHIFT \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static inline int64_t
btpg_ts_to_engine(TimestampTz t)
{
	return (int64_t) t + BTPG_EPOCH_SHIFT;
}

static inline TimestampTz
btpg_ts_from_engine(int64_t t)
{
	return (TimestampTz) (t - BTPG_EPOCH_SHIFT);
}

#endif							/* BTPG_CORE_TIMESTAMPS_H */
