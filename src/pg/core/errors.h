/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  Engine errors and bad signals as ereport(ERROR).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/errors.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_ERRORS_H
#define BTPG_CORE_ERRORS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "bt_engine.h"

/*
 * Report an engine error with ereport(ERROR).  For BT_ERR_DATA the bar's
 * timestamp (ts[err->bar], engine epoch) is named in the message.
 */
extern void btpg_report(const BtError *err, const int64_t *ts) pg_attribute_noreturn();
/* ERROR for a NaN signal on the bar at t (NULL, not NaN, means "keep") */
extern void btpg_signal_nan_error(TimestampTz t) pg_attribute_noreturn();

#endif							/* BTPG_CORE_ERRORS_H */
