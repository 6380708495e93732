/*-------------------------------------------------------------------------
 *
 * bt_sweep.h
 *	  Parameter sweeps in the engine (plain C99, no PostgreSQL headers):
 *	  grid expansion (lists, ranges, constraints, seeded random sampling)
 *	  and running many configurations over one series with indicator lines
 *	  computed once and buffers reused between runs.
 *
 * A sweep is deterministic: the combinations, their order and every metric
 * depend only on the grid, the seed and the data, never on how many
 * processes share the work or in which order they take combinations.
 *
 * Implemented in param_space.c (the parameter space), constraints.c, grid.c
 * and sweep.c (sweep contexts).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_sweep.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_SWEEP_H
#define BT_SWEEP_H

#include "bt_engine.h"

#define BT_GRID_MAX_AXES		8
#define BT_GRID_MAX_VALUES		100000	/* values on one axis */
#define BT_GRID_MAX_CONSTRAINTS	16
#define BT_GRID_MAX_ENUMERATE	INT64_C(10000000)

/*
 * Parameters are addressed in one index space: 0 .. nparams-1 are the
 * strategy's own (in its definition order), nparams .. nparams+bt_n_sim_params-1
 * the simulator's (bt_sim_params order).
 */
extern int	bt_param_space_size(const BtStrategyDef *st);
extern const BtParamDef *bt_param_space_def(const BtStrategyDef *st, int index);
extern int	bt_param_space_find(const BtStrategyDef *st, const char *name);	/* -1 if unknown */
extern double bt_config_get(const BtConfig *cfg, int index);
extern void bt_config_set(BtConfig *cfg, int index, double value);

/* One swept parameter: its values, in the order given */
typedef struct BtGridAxis
{
	int			param;			/* index in the parameter space */
	int64_t		nvalues;
	double	   *values;
} BtGridAxis;

typedef enum BtCmpOp
{
	BT_CMP_LT, BT_CMP_LE, BT_CMP_GT, BT_CMP_GE, BT_CMP_EQ, BT_CMP_NE
} BtCmpOp;

/* An operand of a constraint: a parameter (swept or not) or a number */
typedef struct BtOperand
{
	bool		is_param;
	int			param;			/* index in the parameter space, if is_param */
	double		value;			/* the number, if !is_param */
} BtOperand;

/* "lhs op rhs", e.g. fast < slow, or stop_loss <= 0.1 */
typedef struct BtConstraint
{
	BtOperand	lhs;
	BtCmpOp		op;
	BtOperand	rhs;
} BtConstraint;

/*
 * Parse a constraint written as text, "<operand> <op> <operand>", where an
 * operand is a parameter name of the strategy or simulator, or a number, and
 * op is one of < <= > >= = == != <>.  No other syntax (nothing is executed).
 * Returns false and fills err (naming the constraint) on a syntax error or
 * an unknown parameter.
 */
extern bool bt_constraint_parse(const BtStrategyDef *st, const char *text, BtConstraint *out,
								BtError *err);

/* Does cfg satisfy constraint c? */
extern bool bt_constraint_holds(const BtConstraint *c, const BtConfig *cfg);

/* ------------------------------------------------------------------------
 * Objectives: what a sweep sorts by and a walk-forward picks by
 * (objective.c).  A column of backtest_metrics, or arithmetic over metric
 * names and numbers: + - * / and unary minus, parentheses, and the
 * functions abs, sqrt, ln, exp, min(a, b), max(a, b).  Parsed into a
 * program of at most BT_OBJ_MAX_OPS steps; never executed as SQL.
 * ------------------------------------------------------------------------
 */
#define BT_OBJ_MAX_OPS		64

typedef enum BtObjOpKind
{
	BT_OBJ_NUM,					/* push value */
	BT_OBJ_METRIC,				/* push metric `metric` */
	BT_OBJ_NEG,
	BT_OBJ_ADD, BT_OBJ_SUB, BT_OBJ_MUL, BT_OBJ_DIV,
	BT_OBJ_ABS, BT_OBJ_SQRT, BT_OBJ_LN, BT_OBJ_EXP,
	BT_OBJ_MIN, BT_OBJ_MAX
} BtObjOpKind;

typedef struct BtObjOp
{
	BtObjOpKind kind;
	int			metric;			/* BT_OBJ_METRIC: index into bt_metric_defs */
	double		value;			/* BT_OBJ_NUM */
} BtObjOp;

typedef struct BtObjective
{
	int			metric;			/* >= 0: the objective is this one metric */
	bool		lower_is_better;	/* sort ascending (one metric that is lower-better) */
	int			nops;			/* the program, in postfix order (metric < 0) */
	BtObjOp		ops[BT_OBJ_MAX_OPS];
	bool		unknown_metric; /* set by a failed parse that named no metric */
} BtObjective;

/* The objective of one metric (bt_metric_defs index), sorted its own way */
extern void bt_objective_metric(BtObjective *o, int metric);

/*
 * Parse an objective: a metric name (sorted its own way: ascending when
 * lower is better) or an expression (sorted descending; negate it to
 * minimise).  Returns false and fills err (naming the text) on an unknown
 * metric or function (then o->unknown_metric is set for an unknown metric,
 * and err->hint is left empty for the caller to list the metrics) or a
 * syntax error.
 */
extern bool bt_objective_parse(const char *text, BtObjective *o, BtError *err);

/*
 * The objective's value for a metrics row: NaN when it has none (a metric
 * without a value, a division by zero, the square root of a negative).  A
 * metric on its own sorts by bt_metric_sort_key; in an expression
 * durations count in days and timestamps are refused by the parser.
 */
extern double bt_objective_value(const BtObjective *o, const BtMetrics *m);

typedef struct BtGrid
{
	int			naxes;
	BtGridAxis	axes[BT_GRID_MAX_AXES];
	int			nconstraints;
	BtConstraint constraints[BT_GRID_MAX_CONSTRAINTS];
	int64_t		sample;			/* 0 = every combination; else a random subset of this size */
	uint64_t	seed;			/* for sample */
} BtGrid;

/*
 * Fill a range axis: from, from+step, ... <= to (with a tolerance of 1e-9
 * step so 0.1 steps reach their end).  Each value from + k*step is rounded
 * to 15 significant digits, so 0.1 steps give 0.3, not 0.30000000000000004.
 * axis->values comes from a.  Returns false (err names the parameter) if
 * step <= 0, from > to, a bound or the step is not finite, a value is
 * invalid for the parameter (bounds, integrality; 0 or 1 for a boolean), or
 * there are more than BT_GRID_MAX_VALUES values.
 */
extern bool bt_grid_range(const BtStrategyDef *st, int param, double from, double to,
						  double step, const BtAlloc *a, BtGridAxis *axis, BtError *err);

/* Number of raw combinations (product of axis sizes); -1 on overflow */
extern int64_t bt_grid_size(const BtGrid *g);

/*
 * Expand the grid into configurations.  Combination order: axes in the
 * order given, the first axis varying slowest (so a sweep over fast x slow
 * lists fast=5 with every slow, then fast=10 ...).  Each combination is the
 * base configuration with the swept values set; combinations failing a
 * constraint, or the strategy's own checks (e.g. fast < slow), or a
 * parameter's bounds, are skipped and counted.  With g->sample > 0, a
 * seeded random subset of that many of the kept combinations is taken (all
 * of them if fewer), returned in combination order.
 *
 * *nskipped counts the combinations skipped by those rules (not those left
 * out by sampling).  The sample is uniform over the kept combinations and a
 * pure function of the kept combinations and g->seed.  *combos comes from a
 * (NULL when *ncombos is 0).
 *
 * Limits (BT_ERR_PARAM, err says how many and hints at the limit): without
 * sampling, the raw product may not exceed max_combos; with sampling, the
 * sample may not exceed max_combos and the raw product (which is enumerated
 * to apply the constraints) may not exceed BT_GRID_MAX_ENUMERATE.  The grid
 * itself is checked too (BT_ERR_PARAM): at most BT_GRID_MAX_AXES axes on
 * distinct parameters, at most BT_GRID_MAX_VALUES values each, valid
 * parameter indexes, sample >= 0.
 * Returns BT_OK with *ncombos = 0 when everything was skipped.
 */
extern BtErrCode bt_grid_expand(const BtGrid *g, const BtConfig *base, int64_t max_combos,
								const BtAlloc *a, BtConfig **combos, int64_t *ncombos,
								int64_t *nskipped, BtError *err);

/*
 * A sweep context: one per process taking part in a sweep.  It keeps the
 * indicator lines computed so far (keyed by indicator and parameters, so the
 * SMA(10) of every combination with fast=10 is computed once per process;
 * least recently used lines are dropped beyond cache_bytes) and reuses its
 * simulation buffers between runs, so a run allocates nothing in steady
 * state.  All memory comes from the BtAlloc; it is released with the
 * allocator's context (there is no destroy function).
 *
 * The context keeps pointers to s's arrays (not copies): they must outlive
 * it.  Memory: about n * 9 bytes of run buffers, plus line arrays of
 * n * 8 bytes up to cache_bytes; the lines one run uses are never evicted
 * during that run, so when they do not fit in cache_bytes (cache_bytes = 0
 * included) the context holds one run's lines beyond it (at most 5 arrays
 * for the built-in strategies), recycled from then on.
 */
typedef struct BtSweepCtx BtSweepCtx;

extern BtSweepCtx *bt_sweep_ctx_create(const BtSeries *s, const BtAlloc *a, size_t cache_bytes);

/*
 * Run one configuration, metrics only (no trades or equity curve are
 * returned).  Gives exactly the metrics bt_run gives for the same input,
 * whatever ran before on the context.  progress may be NULL; it is called
 * as in bt_run.  Returns BT_ERR_PARAM if cfg fails bt_config_check or its
 * strategy needs a signal column the series lacks; the series must have
 * passed bt_validate_series.
 */
extern BtErrCode bt_sweep_run(BtSweepCtx *ctx, const BtConfig *cfg,
							  BtProgressFn progress, void *progress_arg,
							  BtMetrics *out, BtError *err);

/*
 * Indicator lines computed and reused so far (for tests and benchmarks).  A
 * line is one indicator with one set of parameters, all its outputs (the
 * three MACD lines are one line, computed from two cached EMA lines); it is
 * counted as reused once per run that finds it in the cache.
 */
extern void bt_sweep_ctx_stats(const BtSweepCtx *ctx, int64_t *computed, int64_t *reused);

/*
 * An order in which to run combos[0..n-1] (all of strategy st) on one sweep
 * context whose cache holds cache_arrays line arrays (cache_bytes / (8 *
 * bars)), so that its lines are computed as few times as possible: order[]
 * receives a permutation of 0..n-1 (the identity when every line fits).
 * Running in any order gives the same metrics per combination; only the
 * number of lines computed changes.  Scratch memory comes from a (freed with
 * its context).  Deterministic.
 */
extern void bt_sweep_order(const BtStrategyDef *st, const BtConfig *combos, int64_t n,
						   int64_t cache_arrays, const BtAlloc *a, int64_t *order);

#endif							/* BT_SWEEP_H */
