/*-------------------------------------------------------------------------
 *
 * test_objective.c
 *	  The sweep objective ("sort_by"): values of expressions worked out by
 *	  hand on one metrics row, precedence and associativity, rows without a
 *	  value, and every parse error's exact message.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_objective.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_sweep.h"

/* Sharpe 1.5, 16 trades, max drawdown -20% lasting 2 days, no profit factor */
static BtMetrics
row(void)
{
	BtMetrics	m;

	memset(&m, 0, sizeof(m));
	m.bars = 100;
	m.sharpe_ratio = 1.5;
	m.trades_count = 16;
	m.max_drawdown_pct = -20;
	m.max_drawdown_duration = 2.0 * (double) BT_USECS_PER_DAY;
	m.profit_factor = NAN;
	return m;
}

/* The value of `text` on row(); NaN if it does not parse */
static double
value(const char *text)
{
	BtObjective o;
	BtError		err;
	BtMetrics	m = row();

	if (!bt_objective_parse(text, &o, &err))
	{
		fprintf(stderr, "parse failed: %s: %s\n", text, err.msg);
		return NAN;
	}
	return bt_objective_value(&o, &m);
}

/* Does `text` fail to parse with exactly message `msg`? */
static bool
fails_with(const char *text, const char *msg)
{
	BtObjective o;
	BtError		err;

	memset(&err, 0, sizeof(err));
	if (bt_objective_parse(text, &o, &err))
		return false;
	if (strcmp(err.msg, msg) != 0)
	{
		fprintf(stderr, "%s: got \"%s\"\n", text, err.msg);
		return false;
	}
	return err.code == BT_ERR_PARAM;
}

static void
test_values(void)
{
	BtObjective o;
	BtError		err;
	BtMetrics	m = row();

	/* the example: 1.5 * sqrt(16) - 0.1 * |-20| = 6 - 2 = 4 */
	CHECK(value("sharpe_ratio * sqrt(trades_count) - 0.1 * abs(max_drawdown_pct)") == 4);
	/* precedence, associativity, signs */
	CHECK(value("1 + 2 * 3") == 7);
	CHECK(value("(1 + 2) * 3") == 9);
	CHECK(value("2 - 3 - 4") == -5);
	CHECK(value("8 / 2 / 2") == 2);
	CHECK(value("-2 * -3") == 6);
	CHECK(value("- -2") == 2);
	CHECK(value("+2") == 2);
	CHECK(value("1e2 / .5") == 200);
	/* functions */
	CHECK(value("min(sharpe_ratio, 1)") == 1);
	CHECK(value("max(sharpe_ratio, 1)") == 1.5);
	CHECK_NEAR(value("ln(exp(2))"), 2, 1e-15);
	/* durations count in days in arithmetic */
	CHECK(value("max_drawdown_duration * 1") == 2);
	/* no value: a metric without one, / 0, sqrt or ln out of domain */
	CHECK(isnan(value("profit_factor + 1")));
	CHECK(isnan(value("sharpe_ratio / 0")));
	CHECK(isnan(value("sqrt(max_drawdown_pct)")));
	CHECK(isnan(value("ln(0)")));
	CHECK(isnan(value("min(profit_factor, 1)")));

	/* one metric: its own direction and sort key (durations in usecs) */
	CHECK(bt_objective_parse(" max_drawdown_duration ", &o, &err));
	CHECK(o.metric == bt_metric_index("max_drawdown_duration") && o.lower_is_better);
	CHECK(bt_objective_value(&o, &m) == 2.0 * (double) BT_USECS_PER_DAY);
	CHECK(bt_objective_parse("(volatility_ann_pct)", &o, &err) && o.lower_is_better && o.metric >= 0);
	CHECK(bt_objective_parse("start_ts", &o, &err) && o.metric == bt_metric_index("start_ts"));
	/* an expression sorts descending, even of a lower-is-better metric */
	CHECK(bt_objective_parse("-volatility_ann_pct", &o, &err) && !o.lower_is_better && o.metric < 0);
}

static void
test_errors(void)
{
	BtObjective o;
	BtError		err;
	char		longtext[400];

	CHECK(fails_with("sharpe", "unknown sort_by column \"sharpe\""));
	CHECK(!bt_objective_parse("sharpe", &o, &err) && o.unknown_metric);
	CHECK(fails_with("sharpe * 2", "unknown metric \"sharpe\" in sort_by \"sharpe * 2\""));
	CHECK(!bt_objective_parse("sharpe * 2", &o, &err) && o.unknown_metric && err.hint[0] == '\0');
	CHECK(fails_with("", "sort_by is empty"));
	CHECK(fails_with("   ", "sort_by is empty"));
	CHECK(fails_with("sharpe_ratio *", "invalid sort_by \"sharpe_ratio *\": an operand is missing at the end"));
	CHECK(fails_with("sharpe_ratio * )", "invalid sort_by \"sharpe_ratio * )\": expected a metric, a number or \"(\" at \")\""));
	CHECK(fails_with("(sharpe_ratio", "invalid sort_by \"(sharpe_ratio\": missing \")\""));
	CHECK(fails_with("abs(sharpe_ratio", "invalid sort_by \"abs(sharpe_ratio\": missing \")\""));
	CHECK(fails_with("sharpe_ratio sqn", "invalid sort_by \"sharpe_ratio sqn\": unexpected \"sqn\""));
	CHECK(fails_with("sharpe_ratio; DROP TABLE t", "invalid sort_by \"sharpe_ratio; DROP TABLE t\": unexpected \";\""));
	CHECK(fails_with("sharpe_ratio ^ 2", "invalid sort_by \"sharpe_ratio ^ 2\": unexpected \"^\""));
	CHECK(fails_with("1.2.3", "invalid sort_by \"1.2.3\": invalid number \"1.2.3\""));
	CHECK(fails_with("2x", "invalid sort_by \"2x\": invalid number \"2x\""));
	CHECK(fails_with("foo(1)", "unknown function \"foo\" in sort_by \"foo(1)\""));
	CHECK(!bt_objective_parse("foo(1)", &o, &err) && !o.unknown_metric);
	CHECK(fails_with("min(1)", "function \"min\" in sort_by \"min(1)\" takes 2 arguments, not 1"));
	CHECK(fails_with("abs(1, 2)", "function \"abs\" in sort_by \"abs(1, 2)\" takes 1 argument, not 2"));
	CHECK(fails_with("start_ts + 1", "metric \"start_ts\" in sort_by \"start_ts + 1\" is a timestamp"));

	/* limits: 63 steps are fine, 65 are not; 32 levels of parentheses, not 33 */
	strcpy(longtext, "1");
	for (int i = 0; i < 31; i++)
		strcat(longtext, "+1");
	CHECK(bt_objective_parse(longtext, &o, &err) && o.nops == 63);
	CHECK(bt_objective_value(&o, &(BtMetrics) {0}) == 32);
	strcat(longtext, "+1");
	CHECK(fails_with(longtext, "sort_by \"1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1\" is too long"));
	memset(longtext, '(', 33);
	strcpy(longtext + 33, "1");
	memset(longtext + 34, ')', 33);
	longtext[67] = '\0';
	CHECK(!bt_objective_parse(longtext, &o, &err) && strstr(err.msg, "is too long") != NULL);
	longtext[32] = ' ';			/* 32 levels are fine */
	longtext[66] = '\0';
	CHECK(bt_objective_parse(longtext, &o, &err) && bt_objective_value(&o, &(BtMetrics) {0}) == 1);
}

void
test_objective(void)
{
	test_values();
	test_errors();
}
