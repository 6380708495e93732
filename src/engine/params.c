/*-------------------------------------------------------------------------
 *
 * params.c
 *	  Parameter tables and checks of the engine: the simulator's parameters,
 *	  per-parameter validation, run configurations, and series validation.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/params.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bt_engine.h"

/*
 * One simulator parameter: its name is the name of its BtSimParams field,
 * so a misspelt or removed field does not compile; an enum's choices come
 * last, NULL-terminated (NULL alone for the other types).
 */
#define SIM_PARAM(field, type, def, min, max, min_exclusive, doc, ...) \
	{{#field, type, def, min, max, min_exclusive, {__VA_ARGS__}, doc}, \
	 offsetof(BtSimParams, field)}

/* Compile-time check (C99 has no _Static_assert) */
#define STATIC_ASSERT(cond, name)	typedef char static_assert_##name[(cond) ? 1 : -1]

/* The simulator's parameters (see BtSimParamDef) */
const BtSimParamDef bt_sim_params[] = {
	SIM_PARAM(initial_capital, BT_PARAM_NUM, 10000, 0, 1e15, true,
	"Starting cash.", NULL),
	SIM_PARAM(size, BT_PARAM_NUM, 1.0, 0, 1, true,
	"Fraction of equity committed to each position (1 = all-in).", NULL),
	SIM_PARAM(lot_size, BT_PARAM_NUM, 1, 0, 1e12, true,
	"Quantities round down to whole lots (e.g. 100 shares for 0700.HK).", NULL),
	SIM_PARAM(fractional, BT_PARAM_BOOL, 0, 0, 1, false,
	"Allow fractional quantities (crypto); lot_size is then ignored.", NULL),
	SIM_PARAM(allow_short, BT_PARAM_BOOL, 0, 0, 1, false,
	"Take short positions on sell signals instead of going flat.", NULL),
	SIM_PARAM(fill, BT_PARAM_ENUM, BT_FILL_OPEN, 0, 1, false,
	"\"open\": a decision on bar t's close fills at bar t+1's open; \"close\": at bar t's close.", "open", "close", NULL),
	SIM_PARAM(commission, BT_PARAM_NUM, 0, 0, 0.5, false,
	"Commission as a fraction of notional per order.", NULL),
	SIM_PARAM(commission_min, BT_PARAM_NUM, 0, 0, 1e12, false,
	"Minimum of the percentage commission per order.", NULL),
	SIM_PARAM(commission_fixed, BT_PARAM_NUM, 0, 0, 1e12, false,
	"Fixed fee added to every order.", NULL),
	SIM_PARAM(stamp_duty, BT_PARAM_NUM, 0, 0, 0.5, false,
	"Stamp duty as a fraction of notional (HK: 0.001).", NULL),
	SIM_PARAM(stamp_duty_on, BT_PARAM_ENUM, BT_STAMP_SELL, 0, 2, false,
	"Which orders pay stamp duty.", "sell", "buy", "both", NULL),
	SIM_PARAM(slippage_bps, BT_PARAM_NUM, 0, 0, 10000, false,
	"Adverse slippage in basis points of the fill price.", NULL),
	SIM_PARAM(stop_loss, BT_PARAM_NUM, 0, 0, 1, false,
	"Exit when price moves this fraction against the entry (0 = off).", NULL),
	SIM_PARAM(take_profit, BT_PARAM_NUM, 0, 0, 1e6, false,
	"Exit when price moves this fraction in favour of the entry (0 = off).", NULL),
	SIM_PARAM(trailing_stop, BT_PARAM_NUM, 0, 0, 1, false,
	"Exit when price retreats this fraction from the best price since entry (0 = off).", NULL),
	SIM_PARAM(periods_per_year, BT_PARAM_NUM, 0, 0, 1e9, false,
	"Return periods per year for annualised metrics: trading days for daily and intraday bars, 52/12 for weekly/monthly (0 = infer).", NULL),
	SIM_PARAM(risk_free_rate, BT_PARAM_NUM, 0, -1, 1, false,
	"Annual risk-free rate for Sharpe and Sortino, as a fraction.", NULL),
	SIM_PARAM(sizing, BT_PARAM_ENUM, BT_SIZING_FRACTION, 0, 3, false,
	"How entries are sized: \"fraction\" of equity (size), a fixed \"quantity\" (order_quantity), a cash \"value\" (order_value), or \"risk\" (risk_fraction of equity lost at the stop).", "fraction", "quantity", "value", "risk", NULL),
	SIM_PARAM(order_quantity, BT_PARAM_NUM, 1, 0, 1e15, true,
	"Units bought or sold short per entry with sizing \"quantity\" (rounded down to whole lots).", NULL),
	SIM_PARAM(order_value, BT_PARAM_NUM, 10000, 0, 1e15, true,
	"Cash committed per entry, costs included, with sizing \"value\".", NULL),
	SIM_PARAM(risk_fraction, BT_PARAM_NUM, 0.01, 0, 1, true,
	"Fraction of equity lost if the stop is hit, with sizing \"risk\".", NULL),
	SIM_PARAM(risk_atr, BT_PARAM_NUM, 0, 0, 1e6, false,
	"Stop distance of sizing \"risk\" in ATRs at the decision bar (0 = stop_loss * entry price).", NULL),
	SIM_PARAM(risk_atr_period, BT_PARAM_INT, 14, 1, 1e6, false,
	"Period of the ATR of risk_atr.", NULL),
	SIM_PARAM(commission_per_share, BT_PARAM_NUM, 0, 0, 1e12, false,
	"Commission per unit traded, added to the percentage commission.", NULL),
	SIM_PARAM(commission_max, BT_PARAM_NUM, 0, 0, 1e12, false,
	"Maximum of the commission (percentage plus per-share) per order (0 = none).", NULL),
	SIM_PARAM(spread, BT_PARAM_NUM, 0, 0, 1e12, false,
	"Bid-ask spread, in spread_unit; half of it is paid on every fill.", NULL),
	SIM_PARAM(spread_unit, BT_PARAM_ENUM, BT_SPREAD_BPS, 0, 1, false,
	"Unit of spread: \"bps\" of the price or \"price\" units.", "bps", "price", NULL),
	SIM_PARAM(borrow_rate, BT_PARAM_NUM, 0, 0, 10, false,
	"Annual fee for borrowing the shares of a short, as a fraction of its value, accrued per bar held.", NULL),
	SIM_PARAM(leverage, BT_PARAM_NUM, 1, 1, 100, false,
	"Buying power as a multiple of equity (1 = cash account).", NULL),
	SIM_PARAM(maintenance_margin, BT_PARAM_NUM, 0, 0, 1, false,
	"Liquidate at the next open when equity falls below this fraction of the position's value (0 = never).", NULL),
	SIM_PARAM(entry, BT_PARAM_ENUM, BT_ENTRY_MARKET, 0, 2, false,
	"Entry orders: \"market\" (at the fill of the fill contract), \"limit\" (buy entry_offset below the decision bar's close, sell short above), \"stop\" (buy above, sell short below).", "market", "limit", "stop", NULL),
	SIM_PARAM(entry_offset, BT_PARAM_NUM, 0, 0, 0.99, false,
	"Distance of a limit or stop entry's level from the decision bar's close, as a fraction of it.", NULL),
	SIM_PARAM(valid_bars, BT_PARAM_INT, 1, 1, 1e6, false,
	"Bars after the decision bar a limit or stop entry may fill on; then it is cancelled.", NULL),
	SIM_PARAM(pyramiding, BT_PARAM_INT, 1, 1, BT_MAX_PYRAMIDING, false,
	"Units of size a position may hold: each repeated entry signal adds one; the signal strategy's values in [-1, 1] target that share of them.", NULL),
};
const int	bt_n_sim_params = sizeof(bt_sim_params) / sizeof(bt_sim_params[0]);

STATIC_ASSERT(sizeof(bt_sim_params) / sizeof(bt_sim_params[0]) == BT_N_SIM_PARAMS,
			  one_entry_per_simulator_field);
/* enum fields are read and written as int */
STATIC_ASSERT(sizeof(BtFill) == sizeof(int) && sizeof(BtStampSide) == sizeof(int) &&
			  sizeof(BtSizing) == sizeof(int) && sizeof(BtSpreadUnit) == sizeof(int) &&
			  sizeof(BtEntry) == sizeof(int),
			  enum_fields_are_int);

/*
 * bt_set_error
 *		Fill err with a code and a printf-style message; clears detail/hint.
 */
void
bt_set_error(BtError *err, BtErrCode code, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	err->bar = -1;
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * bt_param_check
 *		Check one value against its definition: finite, integral for INT,
 *		within [min, max] (min exclusive when so marked), enum index valid.
 */
bool
bt_param_check(const BtParamDef *def, double value, BtError *err)
{
	if (!isfinite(value))
	{
		bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" must be a finite number", def->name);
		return false;
	}
	switch (def->type)
	{
		case BT_PARAM_BOOL:
			return true;
		case BT_PARAM_ENUM:
			{
				int			nchoices = 0;

				while (nchoices < BT_MAX_CHOICES && def->choices[nchoices])
					nchoices++;
				if (value < 0 || value >= nchoices || value != floor(value))
				{
					bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" has an invalid value", def->name);
					return false;
				}
				return true;
			}
		case BT_PARAM_INT:
			if (value != floor(value))
			{
				bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" must be an integer", def->name);
				return false;
			}
			/* FALLTHROUGH */
		case BT_PARAM_NUM:
			if (value < def->min || (def->min_exclusive && value == def->min) ||
				value > def->max)
			{
				bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" is out of range: %.15g",
							 def->name, value);
				snprintf(err->hint, sizeof(err->hint),
						 "\"%s\" must be %s %.15g and at most %.15g.", def->name,
						 def->min_exclusive ? "greater than" : "at least", def->min, def->max);
				return false;
			}
			return true;
	}
	return true;
}

/*
 * bt_sim_set
 *		Store a value into the field of bt_sim_params[idx].
 */
void
bt_sim_set(BtSimParams *sim, int idx, double v)
{
	const BtSimParamDef *d;
	char	   *field;

	if (idx < 0 || idx >= bt_n_sim_params)
		return;
	d = &bt_sim_params[idx];
	field = (char *) sim + d->offset;
	switch (d->def.type)
	{
		case BT_PARAM_BOOL:
			*(bool *) field = v != 0;
			break;
		case BT_PARAM_ENUM:
		case BT_PARAM_INT:
			*(int *) field = (int) v;
			break;
		case BT_PARAM_NUM:
			*(double *) field = v;
			break;
	}
}

/*
 * bt_sim_get
 *		The field of bt_sim_params[idx] as a double: bools 0/1, enums their
 *		index.  The inverse of bt_sim_set; NaN if idx is out of range.
 */
double
bt_sim_get(const BtSimParams *sim, int idx)
{
	const BtSimParamDef *d;
	const char *field;

	if (idx < 0 || idx >= bt_n_sim_params)
		return NAN;
	d = &bt_sim_params[idx];
	field = (const char *) sim + d->offset;
	switch (d->def.type)
	{
		case BT_PARAM_BOOL:
			return *(const bool *) field ? 1.0 : 0.0;
		case BT_PARAM_ENUM:
		case BT_PARAM_INT:
			return (double) *(const int *) field;
		case BT_PARAM_NUM:
			return *(const double *) field;
	}
	return NAN;
}

/*
 * bt_sim_defaults
 *		Every simulator field at its documented default.
 */
void
bt_sim_defaults(BtSimParams *sim)
{
	memset(sim, 0, sizeof(*sim));
	for (int i = 0; i < bt_n_sim_params; i++)
		bt_sim_set(sim, i, bt_sim_params[i].def.def);
}

/*
 * bt_sim_check
 *		Cross-field rules of the simulator parameters.
 */
bool
bt_sim_check(const BtSimParams *sim, BtError *err)
{
	if (sim->stop_loss >= 1.0 && !sim->allow_short)
	{
		/* a long position cannot fall more than 100% */
		bt_set_error(err, BT_ERR_PARAM, "parameter \"stop_loss\" must be less than 1");
		return false;
	}
	if (sim->commission_max > 0 && sim->commission_min > sim->commission_max)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "parameter \"commission_min\" (%.15g) exceeds \"commission_max\" (%.15g)",
					 sim->commission_min, sim->commission_max);
		snprintf(err->hint, sizeof(err->hint),
				 "Set commission_max to 0 for no maximum, or at least commission_min.");
		return false;
	}
	if (sim->sizing == BT_SIZING_RISK && sim->risk_atr == 0 && sim->stop_loss == 0)
	{
		bt_set_error(err, BT_ERR_PARAM, "sizing \"risk\" needs a stop distance");
		snprintf(err->hint, sizeof(err->hint),
				 "Set stop_loss (a fraction of the entry price) or risk_atr (a multiple of the ATR).");
		return false;
	}
	if (sim->maintenance_margin > 0 && sim->maintenance_margin * sim->leverage >= 1)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "parameter \"maintenance_margin\" (%.15g) must be below the initial margin 1/leverage (%.15g)",
					 sim->maintenance_margin, 1.0 / sim->leverage);
		snprintf(err->hint, sizeof(err->hint),
				 "A position bought with all the buying power would be liquidated at once.");
		return false;
	}
	return true;
}

/*
 * bt_config_defaults
 *		A configuration with the strategy's and the simulator's defaults.
 */
void
bt_config_defaults(BtConfig *cfg, const BtStrategyDef *strategy)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->strategy = strategy;
	for (int i = 0; i < strategy->nparams; i++)
		cfg->sp[i] = strategy->params[i].def;
	bt_sim_defaults(&cfg->sim);
}

/*
 * bt_config_check
 *		Check a whole configuration: each strategy parameter against its
 *		definition, the strategy's cross-parameter rules, and the simulator's.
 *		(Simulator fields are checked one by one where they are parsed.)
 */
bool
bt_config_check(const BtConfig *cfg, BtError *err)
{
	const BtStrategyDef *st = cfg->strategy;

	for (int i = 0; i < st->nparams; i++)
		if (!bt_param_check(&st->params[i], cfg->sp[i], err))
			return false;
	if (st->check && !st->check(cfg->sp, err))
		return false;
	return bt_sim_check(&cfg->sim, err);
}

/*
 * bt_exit_reason_name
 *		The name a trade's exit reason is reported under.
 */
const char *
bt_exit_reason_name(BtExitReason r)
{
	switch (r)
	{
		case BT_EXIT_SIGNAL: return "signal";
		case BT_EXIT_STOP_LOSS: return "stop_loss";
		case BT_EXIT_TAKE_PROFIT: return "take_profit";
		case BT_EXIT_TRAILING_STOP: return "trailing_stop";
		case BT_EXIT_MARGIN_CALL: return "margin_call";
		case BT_EXIT_END: return "end";
	}
	return "unknown";
}

/* Report bad data at bar i; the caller names the timestamp */
static bool
data_error(BtError *err, int64_t i, const char *msg, const char *hint)
{
	bt_set_error(err, BT_ERR_DATA, "%s", msg);
	err->bar = i;
	if (hint)
		snprintf(err->hint, sizeof(err->hint), "%s", hint);
	return false;
}

/*
 * bt_validate_series
 *		Check bars before a run.  Fills err with the first offending bar.
 */
bool
bt_validate_series(const BtSeries *s, bool need_volume, BtError *err)
{
	for (int64_t i = 0; i < s->n; i++)
	{
		double		o = s->open[i],
					h = s->high[i],
					l = s->low[i],
					c = s->close[i];

		if (!isfinite(o) || !isfinite(h) || !isfinite(l) || !isfinite(c))
		{
			const char *col = !isfinite(o) ? "open" : !isfinite(h) ? "high" :
			!isfinite(l) ? "low" : "close";
			char		msg[64];

			snprintf(msg, sizeof(msg), "%s price is NaN or infinite", col);
			return data_error(err, i, msg,
							  "Remove or repair the bar, or exclude it with a query source.");
		}
		if (h < l)
			return data_error(err, i, "high is below low", NULL);
		if (o <= 0 || h <= 0 || l <= 0 || c <= 0)
			return data_error(err, i, "prices must be positive",
							  "Returns and sizing are undefined for zero or negative prices.");
		if (o < BT_PRICE_MIN || h < BT_PRICE_MIN || l < BT_PRICE_MIN || c < BT_PRICE_MIN ||
			o > BT_PRICE_MAX || h > BT_PRICE_MAX || l > BT_PRICE_MAX || c > BT_PRICE_MAX)
		{
			/* subnormal or huge: capital / price or quantity * price overflows */
			static const char *const names[] = {"open", "high", "low", "close"};
			double		px[4] = {o, h, l, c};
			int			k = 0;
			char		msg[96];

			while (k < 3 && px[k] >= BT_PRICE_MIN && px[k] <= BT_PRICE_MAX)
				k++;
			snprintf(msg, sizeof(msg), "%s price %g is outside the supported range",
					 names[k], px[k]);
			return data_error(err, i, msg,
							  "Prices must lie between 1e-100 and 1e+100: beyond them position sizes and equity overflow. Rescale the prices (quote them in another unit).");
		}
		if (need_volume && s->volume && (!isfinite(s->volume[i]) || s->volume[i] < 0))
			return data_error(err, i, "volume is negative, NaN or infinite", NULL);
		if (s->signal && !isnan(s->signal[i]) && !(s->signal[i] >= -1 && s->signal[i] <= 1))
			return data_error(err, i, "signal must be between -1 and 1, or NULL",
							  "The signal is the target exposure: 1 long, -1 short, 0 flat, 0.5 half long, NULL keep.");
		if (i > 0 && s->ts[i] <= s->ts[i - 1])
			return data_error(err, i,
							  s->ts[i] == s->ts[i - 1] ? "duplicate timestamp" :
							  "timestamps are not in ascending order",
							  "A backtest needs one bar per timestamp in ascending order; "
							  "filter the source to one symbol and ORDER BY the timestamp.");
	}
	return true;
}
