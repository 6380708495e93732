/*-------------------------------------------------------------------------
 *
 * load_args.c
 *	  The front end every SQL entry point shares: the source, symbol and
 *	  time range arguments of a call as a load spec, and the strategy
 *	  argument.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/load_args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/loader.h"
#include "core/params.h"

/*
 * btpg_args_time_range
 *		spec's time range from the timestamptz arguments start_arg and
 *		end_arg, both inclusive (NULL, or an argument the call does not
 *		have: unbounded).  With check, a start after the end is an error.
 */
void
btpg_args_time_range(FunctionCallInfo fcinfo, int start_arg, int end_arg, bool check,
					 BtpgLoadSpec *spec)
{
	spec->has_start = PG_NARGS() > start_arg && !PG_ARGISNULL(start_arg);
	if (spec->has_start)
		spec->start_ts = PG_GETARG_TIMESTAMPTZ(start_arg);
	spec->has_end = PG_NARGS() > end_arg && !PG_ARGISNULL(end_arg);
	if (spec->has_end)
		spec->end_ts = PG_GETARG_TIMESTAMPTZ(end_arg);
	if (check && spec->has_start && spec->has_end && spec->start_ts > spec->end_ts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_ts is after end_ts")));
}

/*
 * btpg_args_table_source
 *		A table source: the relation of argument 0 (the caller has checked
 *		it is not NULL), the symbol of symbol_arg (NULL: every row) and the
 *		checked time range of start_arg and end_arg.
 */
void
btpg_args_table_source(FunctionCallInfo fcinfo, int symbol_arg, int start_arg, int end_arg,
					   BtpgLoadSpec *spec)
{
	spec->relid = PG_GETARG_OID(0);
	spec->symbol = PG_ARGISNULL(symbol_arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(symbol_arg));
	btpg_args_time_range(fcinfo, start_arg, end_arg, true, spec);
}

/*
 * btpg_args_require_source
 *		Error unless argument 0, the source (a table or a query), is given.
 */
void
btpg_args_require_source(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source must not be NULL")));
}

/*
 * btpg_args_strategy
 *		The strategy named by argument argno: an error when it is NULL or
 *		no strategy has that name.
 */
const BtStrategyDef *
btpg_args_strategy(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies().")));
	return btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}
