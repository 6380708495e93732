/*-------------------------------------------------------------------------
 *
 * params.h
 *	  A backtest's parameters from jsonb: the strategy's, the simulator's,
 *	  per-symbol maps, and the strategy lookup (params.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/params.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_PARAMS_H
#define BTPG_CORE_PARAMS_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "bt_engine.h"
#include "core/columns.h"

/* Index of a jsonb string among an enum parameter's choices (-1: none); lists them */
extern int	btpg_param_choice(const BtParamDef *def, JsonbValue *v, StringInfo choices);

/* A jsonb number as a double (huge values become infinite) */
extern double btpg_jbv_double(JsonbValue *v);

/* What btpg_jsonb_param found wrong with a value */
typedef enum BtpgValueProblem
{
	BTPG_VALUE_OK,
	BTPG_VALUE_TYPE,			/* the wrong jsonb type */
	BTPG_VALUE_CHOICE,			/* a string that is none of an enum's choices */
	BTPG_VALUE_NOT_INTEGER,		/* a fraction for an integer parameter (*d has it) */
	BTPG_VALUE_CHECK			/* out of bounds: bt_param_check's *err */
} BtpgValueProblem;

/*
 * The one conversion of a jsonb value to a parameter's double (checked
 * against its type and bounds); callers word the errors.  choices gets the
 * quoted choices of an enum parameter.
 */
extern BtpgValueProblem btpg_jsonb_param(const BtParamDef *def, JsonbValue *v, double *d,
										 StringInfo choices, BtError *err);

/*
 * Convert one jsonb value to a double for a parameter definition: checks the
 * jsonb type (number, integer, boolean, string for enums) and the bounds.
 * `what` names the context in messages, e.g. "strategy \"sma_cross\"".
 */
extern double btpg_param_value(const BtParamDef *def, JsonbValue *v, const char *what);

/*
 * Parse a backtest's params jsonb (may be NULL = '{}') for a strategy: its
 * own parameters, the simulator's, and "columns".  Errors name the key and
 * hint at the valid ones.  Runs bt_config_check.
 */
extern void btpg_parse_backtest_params(Jsonb *params, const BtStrategyDef *strategy,
									   BtConfig *cfg, BtpgColumns *cols);

/*
 * The same, for sweeps: parameters flagged in swept (parameter-space index,
 * see bt_sweep.h) may not appear in params, and the configuration is
 * checked only when check is true.
 */
extern void btpg_parse_params_ex(Jsonb *params, const BtStrategyDef *strategy, const bool *swept,
								 bool check, BtConfig *cfg, BtpgColumns *cols);

/*
 * Per-symbol parameters: any parameter may be a jsonb object mapping symbols
 * to values, "*" for the others (unlisted without "*": the parameter's
 * default), e.g. "lot_size": {"0700.HK": 100, "*": 1}.  Each value is
 * checked like a scalar; errors name the parameter and the symbol.
 */
typedef struct BtpgParamMaps BtpgParamMaps;

/*
 * btpg_parse_params_ex for a call that knows its symbol: maps resolve to
 * sym's values (sym NULL = no symbol: a map is an error, as in
 * btpg_parse_params_ex and btpg_parse_backtest_params).
 */
extern void btpg_parse_params_symbol(Jsonb *params, const BtStrategyDef *strategy,
									 const bool *swept, bool check, const char *sym,
									 BtConfig *cfg, BtpgColumns *cols);

/*
 * For calls over many symbols: parse params once, keeping the maps (*maps
 * is NULL when there are none; mapped parameters keep their defaults in
 * cfg); then btpg_params_for_symbol gives and checks each symbol's
 * configuration.  Allocates in CurrentMemoryContext.
 */
extern void btpg_parse_params_maps(Jsonb *params, const BtStrategyDef *strategy,
								   BtConfig *cfg, BtpgColumns *cols, BtpgParamMaps **maps);
extern void btpg_params_for_symbol(const BtpgParamMaps *maps, const BtConfig *base,
								   const char *sym, BtConfig *cfg);

/*
 * A parameter of the reader rather than of the simulator ("timeframe" and
 * its options): its name, type, default (jsonb text) and description, for
 * backtest_parameters()
 */
typedef struct BtpgReaderParam
{
	const char *name;
	const char *type;
	const char *default_json;
	const char *doc;
} BtpgReaderParam;

extern const BtpgReaderParam btpg_reader_params[];
extern const int btpg_n_reader_params;

/* Look up a strategy by name or ereport (hint lists the valid names) */
extern const BtStrategyDef *btpg_lookup_strategy(const char *name);

#endif							/* BTPG_CORE_PARAMS_H */
