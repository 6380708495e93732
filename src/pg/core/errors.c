/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Engine errors (BtError) and bad signals as ereport(ERROR).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/errors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "core/errors.h"
#include "core/timestamps.h"

/*
 * btpg_report
 *		ereport(ERROR) for an engine error.  Data errors name the bar's
 *		timestamp.
 */
void
btpg_report(const BtError *err, const int64_t *ts)
{
	int			code;

	switch (err->code)
	{
		case BT_ERR_DATA:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case BT_ERR_CANCELLED:
			code = ERRCODE_QUERY_CANCELED;
			break;
		default:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}
	if (err->code == BT_ERR_DATA && ts && err->bar >= 0)
	{
		TimestampTz t = btpg_ts_from_engine(ts[err->bar]);

		ereport(ERROR,
				(errcode(code),
				 errmsg("invalid bar at %s: %s", timestamptz_to_str(t), err->msg),
				 err->detail[0] ? errdetail("%s", err->detail) : 0,
				 err->hint[0] ? errhint("%s", err->hint) : 0));
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->msg),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/*
 * btpg_signal_nan_error
 *		ERROR for a NaN signal on the bar at t.
 */
void
btpg_signal_nan_error(TimestampTz t)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("invalid bar at %s: signal is NaN", timestamptz_to_str(t)),
			 errhint("A signal must be between -1 and 1, or NULL (NULL keeps the current position).")));
}
