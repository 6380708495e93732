/*-------------------------------------------------------------------------
 *
 * pg_backtest.h
 *	  Transitional umbrella over the glue core's headers (src/pg/core).
 *
 * New code includes the core headers it uses (core/loader.h,
 * core/params.h, ...), not this file; it stays only so that files written
 * before the core was split out still compile, and will be removed once no
 * file includes it.
 *
 * Only files under src/pg include PostgreSQL headers; the engine
 * (src/engine) never does.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/pg_backtest.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_H
#define PG_BACKTEST_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bt_engine.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "core/timestamps.h"

/*
 * Transitional: the core's types before they were named as glue types
 * (Btpg*, not the engine's Bt*).  Remove with this file.
 */
typedef BtpgColumn BtColumn;
typedef BtpgColumns BtColumns;
typedef BtpgLoadSpec BtLoadSpec;

#endif							/* PG_BACKTEST_H */
