/*-------------------------------------------------------------------------
 *
 * bt_engine.h
 *	  The pg_backtest engine: indicators, strategies, the fill/portfolio
 *	  simulator and metrics, in plain C99 with no PostgreSQL headers.
 *
 * Data flows one way: columnar arrays in, structs out.  The engine never
 * calls malloc directly: every allocation goes through a BtAlloc supplied by
 * the caller (palloc in a per-run memory context in the server, realloc in
 * the unit tests), so an error thrown through a callback cannot leak.
 *
 * Undefined indicator values (warm-up rows, undefined rows) are NaN.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_engine.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_ENGINE_H
#define BT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BT_USECS_PER_DAY	INT64_C(86400000000)

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------
 */

/*
 * realloc_fn(ctx, NULL, size) allocates; realloc_fn(ctx, ptr, size) grows.
 * It never returns NULL (it reports out-of-memory itself).  Memory is freed
 * by the owner of ctx (a memory context in the server; the unit tests free
 * theirs with unit_free_all).
 */
typedef struct BtAlloc
{
	void	   *(*realloc_fn) (void *ctx, void *ptr, size_t size);
	void	   *ctx;
} BtAlloc;

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------
 */
typedef enum BtErrCode
{
	BT_OK = 0,
	BT_ERR_PARAM,				/* invalid parameter value */
	BT_ERR_DATA,				/* invalid bar data (NULL/NaN/inf, high<low, order) */
	BT_ERR_CANCELLED			/* progress callback asked to stop */
} BtErrCode;

typedef struct BtError
{
	BtErrCode	code;
	int64_t		bar;			/* offending bar index for BT_ERR_DATA, else -1 */
	char		msg[256];		/* lowercase, no trailing period */
	char		detail[256];	/* full sentence or "" */
	char		hint[256];		/* full sentence or "" */
} BtError;

/* ------------------------------------------------------------------------
 * Input series
 * ------------------------------------------------------------------------
 */
typedef struct BtSeries
{
	int64_t		n;
	const int64_t *ts;			/* microseconds since the Unix epoch, strictly increasing */
	const double *open;
	const double *high;
	const double *low;
	const double *close;
	const double *volume;		/* may be NULL when no strategy needs it */
	const double *signal;		/* `signal` strategy only: in [-1, 1], or NaN (= keep) */
} BtSeries;

/*
 * Supported price range: below BT_PRICE_MIN (e.g. subnormal prices) capital /
 * price overflows the position size; above BT_PRICE_MAX quantity * price can.
 */
#define BT_PRICE_MIN	1e-100
#define BT_PRICE_MAX	1e100

/*
 * Check a series before a run: every price finite, positive and within
 * [BT_PRICE_MIN, BT_PRICE_MAX], low <= high, volume finite
 * and >= 0 when present, ts strictly increasing, signal in [-1, 1] or NaN.
 * On failure fills err (code BT_ERR_DATA, bar = offending index; msg does not
 * name the timestamp, the caller adds it) and returns false.
 */
extern bool bt_validate_series(const BtSeries *s, bool need_volume, BtError *err);

/* ------------------------------------------------------------------------
 * Parameters (shared by strategies, the simulator and indicators)
 * ------------------------------------------------------------------------
 */
typedef enum BtParamType
{
	BT_PARAM_INT,				/* jsonb number with no fractional part */
	BT_PARAM_NUM,				/* jsonb number */
	BT_PARAM_BOOL,				/* jsonb boolean */
	BT_PARAM_ENUM				/* jsonb string, one of choices[] */
} BtParamType;

#define BT_MAX_CHOICES 5

typedef struct BtParamDef
{
	const char *name;
	BtParamType type;
	double		def;			/* default; for ENUM the index into choices */
	double		min;			/* inclusive bounds (INT/NUM) */
	double		max;
	bool		min_exclusive;	/* min is exclusive (e.g. size > 0) */
	const char *choices[BT_MAX_CHOICES];	/* ENUM only, NULL-terminated */
	const char *doc;
} BtParamDef;

/* ------------------------------------------------------------------------
 * Indicators (moving_averages.c, oscillators.c; registry: indicator_registry.c)
 *
 * Conventions: windows include the current bar and are computed only when
 * full; EMA-family values are seeded with the SMA of the first `period`
 * defined inputs (TTR convention); see test/data/golden/README.md.  All
 * outputs are arrays of length n filled with values or NaN.  Scales:
 * oscillators 0-100, ROC in percent, MACD/ATR in price units.
 * Window sums are compensated (exact ties stay ties).
 * ------------------------------------------------------------------------
 */
extern void bt_sma(const double *x, int64_t n, int period, double *out);
extern void bt_ema(const double *x, int64_t n, int period, double *out);
/* EMA with smoothing alpha, seeded with the mean of the first `period` defined values */
extern void bt_ema_alpha(const double *x, int64_t n, int period, double alpha, double *out);
extern void bt_wma(const double *x, int64_t n, int period, double *out);
extern void bt_rsi(const double *close, int64_t n, int period, double *out);
extern void bt_macd(const double *close, int64_t n, int fast, int slow, int signal,
					double *macd, double *sig, double *hist);
extern void bt_bbands(const double *close, int64_t n, int period, double k,
					  double *lower, double *middle, double *upper);
extern void bt_stoch(const double *high, const double *low, const double *close,
					 int64_t n, int k_period, int d_period, int slow_period,
					 double *fastk, double *fastd, double *slowd);
extern void bt_kdj(const double *high, const double *low, const double *close,
				   int64_t n, int period, int k_smooth, int d_smooth,
				   double *rsv, double *k, double *d, double *j);
extern void bt_atr(const double *high, const double *low, const double *close,
				   int64_t n, int period, double *tr, double *atr);
extern void bt_donchian(const double *high, const double *low, int64_t n, int period,
						double *upper, double *mid, double *lower);
extern void bt_obv(const double *close, const double *volume, int64_t n, double *out);
extern void bt_roc(const double *close, int64_t n, int period, double *out);

/*
 * Indicator registry: lets the SQL layer expose every indicator by name
 * (backtest_indicator(), window functions) without a switch per indicator.
 */
#define BT_IND_MAX_PARAMS	4
#define BT_IND_MAX_OUTPUTS	4

typedef enum BtInput
{
	BT_IN_CLOSE = 1 << 0,
	BT_IN_HIGH = 1 << 1,
	BT_IN_LOW = 1 << 2,
	BT_IN_VOLUME = 1 << 3
} BtInput;

/* A provider of indicator lines to strategies (engine-internal, bt_internal.h) */
typedef struct BtLines BtLines;

typedef struct BtIndicatorDef
{
	const char *name;			/* "sma", "macd", ... */
	int			inputs;			/* BtInput bit mask */
	int			nparams;
	BtParamDef	params[BT_IND_MAX_PARAMS];
	int			noutputs;
	const char *outputs[BT_IND_MAX_OUTPUTS];	/* "value" for single-output ones */
	const char *description;
	/* params[] values in the order of params; out[] has noutputs arrays of n */
	void		(*compute) (const BtSeries *s, const double *params, double **out);
	/*
	 * Optional: the same outputs, bit for bit, from other lines of a line
	 * provider (MACD from two EMA lines), so that a sweep's cached lines
	 * are shared.  NULL: providers use compute.
	 */
	void		(*derive) (BtLines *lines, const double *params, double **out);
} BtIndicatorDef;

/* The indicators, each by name (strategies request their lines by these) */
extern const BtIndicatorDef bt_ind_sma, bt_ind_ema, bt_ind_wma, bt_ind_rsi, bt_ind_macd,
			bt_ind_bbands, bt_ind_stoch, bt_ind_kdj, bt_ind_atr, bt_ind_donchian,
			bt_ind_obv, bt_ind_roc;

/* The registry: every indicator */
extern const BtIndicatorDef *const bt_indicators[];
extern const int bt_n_indicators;
extern const BtIndicatorDef *bt_find_indicator(const char *name);

/* ------------------------------------------------------------------------
 * Strategies (strategies.c)
 *
 * A strategy fills target[t] for each bar from data up to and including
 * bar t only: +1 long, 0 flat, -1 short (the simulator turns -1 into 0 when
 * shorts are not allowed), BT_KEEP = no change.  Before its warm-up bar it
 * emits BT_KEEP.
 * ------------------------------------------------------------------------
 */
#define BT_KEEP				((int8_t) 2)
#define BT_STRAT_MAX_PARAMS	8

typedef struct BtStrategyDef
{
	const char *name;
	int			nparams;
	BtParamDef	params[BT_STRAT_MAX_PARAMS];
	bool		needs_volume;
	bool		needs_signal;
	const char *description;
	/* cross-parameter checks (e.g. fast < slow); returns false and fills err */
	bool		(*check) (const double *p, BtError *err);
	/*
	 * The implementation: fills target[0..n-1] (n = lines->s->n) from the
	 * indicator lines it requests from `lines`; returns the warm-up bar: the
	 * first bar on which the strategy's indicators are all defined (n if
	 * never).
	 */
	int64_t		(*targets) (BtLines *lines, const double *p, int8_t *target);
} BtStrategyDef;

extern const BtStrategyDef bt_strategies[];
extern const int bt_n_strategies;
extern const BtStrategyDef *bt_find_strategy(const char *name);

/*
 * The strategy's targets over s, its lines computed into memory from a;
 * returns the warm-up bar (see BtStrategyDef.targets).
 */
extern int64_t bt_strategy_compute(const BtStrategyDef *st, const BtSeries *s, const double *p,
								   int8_t *target, const BtAlloc *a);

/* ------------------------------------------------------------------------
 * Simulator parameters (params.c; the simulator is simulator.c): common
 * to every strategy
 * ------------------------------------------------------------------------
 */
typedef enum BtFill
{
	BT_FILL_OPEN = 0,			/* decided on bar t's close, fill at bar t+1's open */
	BT_FILL_CLOSE = 1			/* fill at bar t's close */
} BtFill;

typedef enum BtStampSide
{
	BT_STAMP_SELL = 0,
	BT_STAMP_BUY = 1,
	BT_STAMP_BOTH = 2
} BtStampSide;

typedef enum BtSizing
{
	BT_SIZING_FRACTION = 0,		/* size * leverage * equity (a portfolio: its allocation) */
	BT_SIZING_QUANTITY = 1,		/* order_quantity units, in whole lots */
	BT_SIZING_VALUE = 2,		/* what order_value buys, costs included */
	BT_SIZING_RISK = 3			/* risk_fraction * equity / the stop distance */
} BtSizing;

typedef enum BtEntry
{
	BT_ENTRY_MARKET = 0,		/* at the fill of the fill contract */
	BT_ENTRY_LIMIT = 1,			/* buy entry_offset below the decision close (sell above) */
	BT_ENTRY_STOP = 2			/* buy entry_offset above the decision close (sell below) */
} BtEntry;

typedef enum BtSpreadUnit
{
	BT_SPREAD_BPS = 0,			/* spread in basis points of the price */
	BT_SPREAD_PRICE = 1			/* spread in price units */
} BtSpreadUnit;

/* The largest pyramiding: entry legs a position holds at most */
#define BT_MAX_PYRAMIDING	64

typedef struct BtSimParams
{
	double		initial_capital;	/* default 10000 */
	double		size;			/* fraction of equity per position, (0, 1] */
	double		lot_size;		/* quantity rounds down to whole lots, default 1 */
	bool		fractional;		/* quantities need not be whole lots */
	bool		allow_short;
	BtFill		fill;
	double		commission;		/* fraction of notional per order */
	double		commission_min; /* minimum of the percentage commission per order */
	double		commission_fixed;	/* added per order */
	double		stamp_duty;		/* fraction of notional */
	BtStampSide stamp_duty_on;
	BtSpreadUnit spread_unit;	/* of spread (below; here to pack the ints) */
	double		slippage_bps;	/* adverse, basis points of price */
	double		stop_loss;		/* fraction from entry, 0 = off */
	double		take_profit;	/* fraction from entry, 0 = off */
	double		trailing_stop;	/* fraction from the best price since entry, 0 = off */
	double		periods_per_year;	/* 0 = infer from bar spacing */
	double		risk_free_rate; /* annual, fraction; for Sharpe/Sortino */
	/* sizing of entries (sizing.c) */
	BtSizing	sizing;
	int			risk_atr_period;	/* the ATR's period of risk_atr */
	double		order_quantity; /* units per entry, sizing "quantity" */
	double		order_value;	/* cash per entry, sizing "value" */
	double		risk_fraction;	/* of equity lost at the stop, sizing "risk" */
	double		risk_atr;		/* stop distance in ATRs for sizing "risk"; 0: stop_loss */
	/* cost models (costs.c) */
	double		commission_per_share;	/* per unit, added to the percentage commission */
	double		commission_max; /* maximum of the commission per order, 0 = none */
	double		spread;			/* bid-ask spread: half is paid on each fill */
	double		borrow_rate;	/* annual fee on the value of a short, per bar held */
	double		leverage;		/* buying power = leverage * equity, >= 1 */
	double		maintenance_margin; /* margin call below this fraction of the position, 0 = off */
	/* entry orders (orders.c) */
	BtEntry		entry;
	int			valid_bars;		/* bars a limit or stop entry may fill on, >= 1 */
	double		entry_offset;	/* distance of its level from the decision close, fraction */
	/* pyramiding (simulator.c) */
	int			pyramiding;		/* units of size a position may hold, 1..BT_MAX_PYRAMIDING */
	/*
	 * Not parameters: the start of the trading day of the daily returns, in
	 * usecs after midnight UTC, used when day_start_known (a sweep infers it
	 * once); otherwise bt_infer_day_start of the series.
	 */
	int64_t		day_start;
	bool		day_start_known;
} BtSimParams;

/* Number of fields of BtSimParams: one bt_sim_params entry each */
#define BT_N_SIM_PARAMS		34

/*
 * The simulator's parameter table: each parameter's definition and the
 * offset of its field in BtSimParams (a BT_PARAM_NUM field is a double, a
 * BT_PARAM_BOOL one a bool, a BT_PARAM_ENUM one an int-sized enum).  Its
 * order is the order parameters are listed and addressed in (the
 * parameter space, the SQL function backtest_parameters()).
 */
typedef struct BtSimParamDef
{
	BtParamDef	def;
	size_t		offset;			/* offsetof(BtSimParams, <def.name>) */
} BtSimParamDef;

extern const BtSimParamDef bt_sim_params[];
extern const int bt_n_sim_params;

/* Fill sim with the defaults of bt_sim_params */
extern void bt_sim_defaults(BtSimParams *sim);

/*
 * Set the field of bt_sim_params[idx] from a double (bools 0/1, enums
 * their index); ignored if idx is out of range.
 */
extern void bt_sim_set(BtSimParams *sim, int idx, double value);

/*
 * The field of bt_sim_params[idx] as a double (bools 0/1, enums their
 * index; NaN if idx is out of range): the inverse of bt_sim_set.
 */
extern double bt_sim_get(const BtSimParams *sim, int idx);

/* Cross-field checks of the simulator parameters */
extern bool bt_sim_check(const BtSimParams *sim, BtError *err);

/* A complete, validated run configuration */
typedef struct BtConfig
{
	const BtStrategyDef *strategy;
	double		sp[BT_STRAT_MAX_PARAMS];	/* strategy params, in def order */
	BtSimParams sim;
} BtConfig;

/* Fill cfg with the strategy's and simulator's defaults */
extern void bt_config_defaults(BtConfig *cfg, const BtStrategyDef *strategy);

/*
 * Check one parameter value against its definition (bounds, integrality,
 * enum range).  Fills err naming the parameter on failure.
 */
extern bool bt_param_check(const BtParamDef *def, double value, BtError *err);

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------
 */
typedef enum BtExitReason
{
	BT_EXIT_SIGNAL = 0,
	BT_EXIT_STOP_LOSS,
	BT_EXIT_TAKE_PROFIT,
	BT_EXIT_TRAILING_STOP,
	BT_EXIT_MARGIN_CALL,		/* equity below maintenance_margin: liquidated */
	BT_EXIT_END					/* still open at the end: marked to market */
} BtExitReason;

extern const char *bt_exit_reason_name(BtExitReason r);

typedef struct BtTrade
{
	int			side;			/* +1 long, -1 short */
	int64_t		entry_bar;
	int64_t		exit_bar;
	int64_t		entry_ts;
	int64_t		exit_ts;
	double		entry_price;	/* fill price, slippage included */
	double		exit_price;		/* fill price; last close for an open trade */
	double		quantity;		/* > 0 */
	double		pnl;			/* net of every cost of both legs */
	double		return_pct;		/* pnl / (entry_price * quantity) * 100 */
	double		commission;		/* all costs of both legs (commission + stamp duty) */
	BtExitReason exit_reason;
	bool		is_open;
	bool		entry_intrabar; /* entered inside entry_bar (a limit or stop order) */
	/*
	 * Excursions while the trade was open (bt_trade_excursions): the most
	 * adverse and the most favourable price reached, and the moves to them
	 * from the entry price in percent (mae_pct <= 0 <= mfe_pct).
	 */
	double		mae_price;
	double		mfe_price;
	double		mae_pct;
	double		mfe_pct;
} BtTrade;

typedef struct BtMetrics
{
	int64_t		start_ts;
	int64_t		end_ts;
	int64_t		duration;		/* usecs */
	int64_t		bars;
	int64_t		warmup_bars;	/* first bar a decision can be made on */
	double		exposure_pct;
	double		equity_final;
	double		equity_peak;
	double		commissions;
	double		return_pct;
	double		buy_hold_return_pct;
	double		return_ann_pct;
	double		volatility_ann_pct;
	double		cagr_pct;
	double		sharpe_ratio;
	double		sortino_ratio;
	double		calmar_ratio;
	double		max_drawdown_pct;	/* <= 0 */
	double		avg_drawdown_pct;	/* <= 0 */
	double		max_drawdown_duration;	/* usecs, NaN if none */
	double		avg_drawdown_duration;	/* usecs, NaN if none */
	int64_t		trades_count;	/* closed trades */
	int64_t		open_trades;	/* open entry legs at the end (0 or 1 without pyramiding) */
	double		win_rate_pct;
	double		best_trade_pct;
	double		worst_trade_pct;
	double		avg_trade_pct;
	double		max_trade_duration; /* usecs */
	double		avg_trade_duration; /* usecs */
	double		profit_factor;
	double		expectancy_pct;
	double		sqn;
	double		kelly_criterion;
	double		omega_ratio;
	double		periods_per_year;
	int64_t		max_win_streak; /* most consecutive closed trades with pnl > 0 */
	int64_t		max_loss_streak;	/* ... with pnl < 0 (pnl = 0 ends both) */
	/* ---- not metrics (bt_metric_defs ends above): run diagnostics ---- */
	/*
	 * Entry orders the simulator could not fill because not even one lot
	 * (with its costs) fit in the cash available; the first one's fill
	 * price, the cash it had (size * equity) and what the smallest order
	 * would have cost, costs included.  Set by the simulator, kept by
	 * bt_compute_metrics (like commissions).
	 */
	int64_t		entries_unfilled;
	double		unfilled_price;
	double		unfilled_cash;
	double		unfilled_cost;
} BtMetrics;

typedef struct BtResult
{
	int64_t		n;
	double	   *equity;			/* n: cash + position * close at each bar's close */
	double	   *position;		/* n: signed quantity held at each bar's close */
	double	   *cash;			/* n: cash at each bar's close (NULL: not recorded) */
	BtTrade    *trades;			/* closed trades, then the open one (if any) */
	int64_t		ntrades;
	BtMetrics	metrics;
} BtResult;

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------
 */

/* Steps reported to the progress callback */
typedef enum BtStep
{
	BT_STEP_INDICATORS = 0,
	BT_STEP_SIMULATE,
	BT_STEP_METRICS
} BtStep;

/*
 * Called between chunks of bars with done/total of the current step.
 * Return nonzero to cancel (the run then fails with BT_ERR_CANCELLED).  The
 * server's callback may also throw (CHECK_FOR_INTERRUPTS): the engine holds
 * no resource outside BtAlloc.
 */
typedef int (*BtProgressFn) (void *arg, BtStep step, int64_t done, int64_t total);

/* Bars between two progress callbacks */
#define BT_PROGRESS_CHUNK	65536

/*
 * Run one backtest.  s must have passed bt_validate_series; cfg must have
 * passed bt_config_check.  Returns BT_OK and fills out, or an error code and
 * fills err.
 */
extern BtErrCode bt_run(const BtSeries *s, const BtConfig *cfg, const BtAlloc *a,
						BtProgressFn progress, void *progress_arg,
						BtResult *out, BtError *err);

/*
 * bt_run for callers that need no per-bar arrays: simulation and metrics in
 * one pass, without writing the equity, position and cash curves
 * (out->equity, position and cash are NULL).  The same metrics and trades
 * as bt_run, bit for bit, on a series bt_validate_series accepts (finite
 * prices), and faster.
 */
extern BtErrCode bt_run_metrics(const BtSeries *s, const BtConfig *cfg, const BtAlloc *a,
								BtProgressFn progress, void *progress_arg,
								BtResult *out, BtError *err);

/* The simulator alone, on precomputed targets (also used by bt_run) */
extern BtErrCode bt_simulate(const BtSeries *s, const int8_t *target, int64_t warmup,
							 const BtSimParams *sim, const BtAlloc *a,
							 BtProgressFn progress, void *progress_arg,
							 BtResult *out, BtError *err);

/*
 * Fill the excursions (mae_*, mfe_*) of trades[0..ntrades-1] of a run on s
 * with simulator parameters p (analytics.c; README, "backtest_trades
 * columns"): the prices considered are the entry and exit fills, the high
 * and low of every bar the position was held through from its open to its
 * close, the open of an exit bar it left during the bar (stop levels,
 * next-open exits), and for an entry inside a bar (limit and stop orders)
 * that bar's close and the extreme beyond the order's level.  bt_run does
 * not fill them (a run's metrics do not read them): callers that report
 * trades do.
 */
extern void bt_trade_excursions(const BtSeries *s, const BtSimParams *p, BtTrade *trades,
								int64_t ntrades);

/*
 * Returns by calendar period (periods.c; README, "Period returns"): UTC
 * days, ISO weeks (from Monday), months or years.
 */
typedef enum BtPeriod
{
	BT_PERIOD_DAY = 0,
	BT_PERIOD_WEEK,
	BT_PERIOD_MONTH,
	BT_PERIOD_YEAR
} BtPeriod;

typedef struct BtPeriodRow
{
	int64_t		start;			/* the period's calendar bounds [start, end), usecs UTC */
	int64_t		end;
	int64_t		first_bar;		/* its first and last bar */
	int64_t		last_bar;
	double		equity_start;	/* the previous period's last equity (the base first) */
	double		equity_end;		/* its last bar's equity */
	double		return_pct;		/* equity_end / equity_start - 1, percent (NaN: start 0) */
	int64_t		trades;			/* closed trades whose exit falls in it */
	double		max_drawdown_pct;	/* <= 0: from the running peak since equity_start */
} BtPeriodRow;

/* The period called "day", "week", "month" or "year"; false if none is */
extern bool bt_period_parse(const char *name, BtPeriod *period);

/* The number of periods with bars in ts[0..n-1] (ascending) */
extern int64_t bt_periods_count(const int64_t *ts, int64_t n, BtPeriod period);

/*
 * Fill out (bt_periods_count rows) from an equity curve starting from
 * equity `base` (the initial capital) and the ascending exit timestamps of
 * the closed trades; returns the number of rows.  The rows' returns
 * compound to equity[n-1] / base.
 */
extern int64_t bt_periods_fill(const int64_t *ts, const double *equity, int64_t n, double base,
							  const int64_t *exits, int64_t nexits, BtPeriod period,
							  BtPeriodRow *out);

/*
 * Resampling to a coarser timeframe (resample.c; README, "Resampling"):
 * bucket k holds the bars whose clock time t has floor((t - origin) /
 * interval) = its number; first open, highest high, lowest low, last close,
 * summed volume.
 */
typedef struct BtResampled
{
	int64_t		n;				/* buckets with bars */
	int64_t    *bucket;			/* n: each bucket's start, on the clock bucketed by */
	int64_t    *first_ts;		/* n: the UTC timestamp of its first bar */
	double	   *open;
	double	   *high;
	double	   *low;
	double	   *close;
	double	   *volume;			/* NULL when the input has none */
	double	   *signal;			/* the last non-NaN signal of the bucket (NaN: none),
								 * NULL when the input has none */
	int64_t    *bars;			/* n: bars in the bucket */
} BtResampled;

/*
 * Resample s (ascending ts) into buckets of `interval` (> 0) usecs from
 * `origin` on `clock` (n times to bucket by, e.g. wall-clock times in a
 * time zone; NULL = s->ts), in bucket order; arrays from a.
 */
extern void bt_resample(const BtSeries *s, const int64_t *clock, int64_t interval,
						int64_t origin, const BtAlloc *a, BtResampled *out);

/*
 * A per-bar equity curve downsampled into the same buckets (resample.c;
 * README, "Resampling"): per bucket with bars, its start on the clock
 * bucketed by, the bars, the first / highest / lowest / last / mean equity
 * and the lowest drawdown_pct.
 */
typedef struct BtCurveBuckets
{
	int64_t		n;
	int64_t    *bucket;
	int64_t    *bars;
	double	   *first;
	double	   *high;
	double	   *low;
	double	   *last;
	double	   *mean;			/* sum in time order / bars, as SQL's avg(float8) */
	double	   *drawdown;		/* the lowest bt_drawdown_pct of the whole curve */
} BtCurveBuckets;

extern void bt_downsample_curve(const int64_t *clock, int64_t n, const double *equity,
								int64_t interval, int64_t origin, const BtAlloc *a,
								BtCurveBuckets *out);

/* Metrics from a simulated result (metrics.c) */
extern void bt_compute_metrics(const BtSeries *s, int64_t warmup, const BtSimParams *sim,
							   BtResult *res);

/*
 * Inferred annualisation factor of the returns the metrics use: 252 or 365
 * (daily returns; 365 when the market trades on weekends), 52 or 12 for
 * weekly or monthly bars (calendar.c; README, "Metrics")
 */
extern double bt_infer_periods_per_year(const int64_t *ts, int64_t n);

/*
 * Inferred start of the market's trading day, usecs after midnight UTC in
 * [-12 h, 12 h): 0 unless a session straddles midnight (24/5 FX: -2 h, its
 * day runs from 22:00 to 22:00 UTC) (calendar.c; README, "Metrics")
 */
extern int64_t bt_infer_day_start(const int64_t *ts, int64_t n);

/* Inferred bars per year of a series (calendar.c) */
extern double bt_infer_bars_per_year(const int64_t *ts, int64_t n);

/* Check a whole configuration: each parameter, then cross-parameter rules */
extern bool bt_config_check(const BtConfig *cfg, BtError *err);

/* ------------------------------------------------------------------------
 * Metric descriptors (metric_defs.c): one entry per BtMetrics field
 * ------------------------------------------------------------------------
 */
typedef enum BtMetricKind
{
	BT_METRIC_DOUBLE,			/* a number (double; NaN or infinite = no value) */
	BT_METRIC_INT64,			/* a count (int64_t; always a value) */
	BT_METRIC_TIMESTAMP,		/* usecs since the Unix epoch (int64_t; none without bars) */
	BT_METRIC_DURATION			/* usecs: int64_t (none without bars) or double (NaN = none) */
} BtMetricKind;

/* Number of fields of BtMetrics: one bt_metric_defs entry each */
#define BT_N_METRICS		37

typedef struct BtMetricDef
{
	const char *name;			/* the field's and the backtest_metrics column's name */
	size_t		offset;			/* offsetof(BtMetrics, <name>) */
	BtMetricKind kind;
	bool		is_int64;		/* the field is an int64_t, else a double */
	bool		lower_is_better;	/* sweeps sort it ascending (else descending) */
} BtMetricDef;

/* In the column order of the SQL type backtest_metrics */
extern const BtMetricDef bt_metric_defs[];

/* Position of a metric in bt_metric_defs by name, or -1 */
extern int	bt_metric_index(const char *name);

/* A metric's value: an int64_t field, or any field as a double */
extern int64_t bt_metric_int64(const BtMetrics *m, const BtMetricDef *d);
extern double bt_metric_double(const BtMetrics *m, const BtMetricDef *d);

/* Whether the metric has no value (NULL in SQL); see BtMetricKind */
extern bool bt_metric_is_null(const BtMetrics *m, const BtMetricDef *d);

/*
 * The key a sweep sorts by: NaN where the metric has no value, durations
 * in double usecs rounded to whole ones (as an interval shows them).
 */
extern double bt_metric_sort_key(const BtMetrics *m, const BtMetricDef *d);

/* Utility: error formatting */
extern void bt_set_error(BtError *err, BtErrCode code, const char *fmt,...)
#if defined(__GNUC__)
			__attribute__((format(printf, 3, 4)))
#endif
			;

#endif							/* BT_ENGINE_H */
