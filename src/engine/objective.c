/*-------------------------------------------------------------------------
 *
 * objective.c
 *	  Sweep objectives ("sort_by"): a metric name, or arithmetic over metric
 *	  names and numbers, parsed by recursive descent into a short postfix
 *	  program and evaluated on a metrics row.  Nothing is ever executed as
 *	  SQL; the syntax is fixed (bt_sweep.h):
 *
 *		expr    := term { ("+" | "-") term }
 *		term    := unary { ("*" | "/") unary }
 *		unary   := ("-" | "+") unary | primary
 *		primary := number | metric | function "(" expr [ "," expr ] ")" | "(" expr ")"
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/objective.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bt_lex.h"
#include "bt_sweep.h"

/* Nesting depth of parentheses, calls and signs the parser accepts */
#define MAX_DEPTH	32

static const struct
{
	const char *name;
	BtObjOpKind kind;
	int			nargs;
}			functions[] =
{
	{"abs", BT_OBJ_ABS, 1}, {"sqrt", BT_OBJ_SQRT, 1}, {"ln", BT_OBJ_LN, 1},
	{"exp", BT_OBJ_EXP, 1}, {"min", BT_OBJ_MIN, 2}, {"max", BT_OBJ_MAX, 2}
};

typedef struct Parser
{
	const char *text;			/* the whole objective, for messages */
	const char *p;				/* the cursor */
	int			depth;
	BtObjective *o;
	BtError    *err;
} Parser;

static bool parse_expr(Parser *ps);

/* The cursor after spaces */
static const char *
skip(Parser *ps)
{
	while (bt_lex_is_space(*ps->p))
		ps->p++;
	return ps->p;
}

/* Append a step to the program */
static bool
emit(Parser *ps, BtObjOpKind kind, int metric, double value)
{
	BtObjOp    *op;

	if (ps->o->nops >= BT_OBJ_MAX_OPS)
	{
		bt_set_error(ps->err, BT_ERR_PARAM, "sort_by \"%.100s\" is too long", ps->text);
		snprintf(ps->err->hint, sizeof(ps->err->hint),
				 "An objective has at most %d numbers, metrics and operations.", BT_OBJ_MAX_OPS);
		return false;
	}
	op = &ps->o->ops[ps->o->nops++];
	op->kind = kind;
	op->metric = metric;
	op->value = value;
	return true;
}

/* Enter one level of nesting; false (with the error set) when too deep */
static bool
enter(Parser *ps)
{
	if (++ps->depth > MAX_DEPTH)
	{
		bt_set_error(ps->err, BT_ERR_PARAM, "sort_by \"%.100s\" is too long", ps->text);
		snprintf(ps->err->hint, sizeof(ps->err->hint),
				 "An objective nests parentheses, calls and signs at most %d deep.", MAX_DEPTH);
		return false;
	}
	return true;
}

/* Error: something other than an operand where one must stand */
static bool
expected_operand(Parser *ps)
{
	const char *p = skip(ps);

	if (*p == '\0')
		bt_set_error(ps->err, BT_ERR_PARAM, "invalid sort_by \"%.100s\": an operand is missing at the end",
					 ps->text);
	else
		bt_set_error(ps->err, BT_ERR_PARAM,
					 "invalid sort_by \"%.100s\": expected a metric, a number or \"(\" at \"%.*s\"",
					 ps->text, bt_lex_token_len(p), p);
	snprintf(ps->err->hint, sizeof(ps->err->hint),
			 "Combine metrics and numbers with + - * / and parentheses, e.g. \"sharpe_ratio * sqrt(trades_count)\".");
	return false;
}

/* Expect `c` at the cursor (after spaces) and step over it */
static bool
expect_char(Parser *ps, char c, const char *what)
{
	if (*skip(ps) != c)
	{
		const char *p = ps->p;

		if (*p == '\0')
			bt_set_error(ps->err, BT_ERR_PARAM, "invalid sort_by \"%.100s\": missing %s", ps->text, what);
		else
			bt_set_error(ps->err, BT_ERR_PARAM, "invalid sort_by \"%.100s\": expected %s at \"%.*s\"",
						 ps->text, what, bt_lex_token_len(p), p);
		return false;
	}
	ps->p++;
	return true;
}

/* A function call: name already read, the cursor at "(" */
static bool
parse_call(Parser *ps, const char *name, int len)
{
	int			f = -1;
	int			nargs = 0;

	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if ((int) strlen(functions[i].name) == len && strncmp(functions[i].name, name, (size_t) len) == 0)
			f = (int) i;
	if (f < 0)
	{
		bt_set_error(ps->err, BT_ERR_PARAM, "unknown function \"%.*s\" in sort_by \"%.100s\"",
					 len < 64 ? len : 64, name, ps->text);
		snprintf(ps->err->hint, sizeof(ps->err->hint),
				 "The functions are abs, sqrt, ln, exp, min and max.");
		return false;
	}
	ps->p++;					/* "(" */
	if (!enter(ps))
		return false;
	for (;;)
	{
		if (!parse_expr(ps))
			return false;
		nargs++;
		if (*skip(ps) != ',')
			break;
		ps->p++;
	}
	if (!expect_char(ps, ')', "\")\""))
		return false;
	ps->depth--;
	if (nargs != functions[f].nargs)
	{
		bt_set_error(ps->err, BT_ERR_PARAM, "function \"%s\" in sort_by \"%.100s\" takes %d argument%s, not %d",
					 functions[f].name, ps->text, functions[f].nargs,
					 functions[f].nargs == 1 ? "" : "s", nargs);
		return false;
	}
	return emit(ps, functions[f].kind, -1, 0);
}

/* primary := number | metric | call | "(" expr ")" */
static bool
parse_primary(Parser *ps)
{
	const char *p = skip(ps);

	if (*p == '(')
	{
		ps->p++;
		if (!enter(ps) || !parse_expr(ps) || !expect_char(ps, ')', "\")\""))
			return false;
		ps->depth--;
		return true;
	}
	if (bt_lex_is_ident_start(*p))
	{
		char		name[64];
		int			len = 0;
		int			idx = -1;

		while (bt_lex_is_ident_char(p[len]))
			len++;
		ps->p = p + len;
		if (*skip(ps) == '(')
			return parse_call(ps, p, len);
		if (len < (int) sizeof(name))
		{
			memcpy(name, p, (size_t) len);
			name[len] = '\0';
			idx = bt_metric_index(name);
		}
		if (idx < 0)
		{
			const char *rest = ps->p;

			ps->o->unknown_metric = true;
			/* a bare name keeps the message of a plain sort_by column */
			if (p == ps->text + strspn(ps->text, " \t\n\r\f\v") && *rest == '\0')
				bt_set_error(ps->err, BT_ERR_PARAM, "unknown sort_by column \"%.*s\"",
							 len < 64 ? len : 64, p);
			else
				bt_set_error(ps->err, BT_ERR_PARAM, "unknown metric \"%.*s\" in sort_by \"%.100s\"",
							 len < 64 ? len : 64, p, ps->text);
			return false;
		}
		return emit(ps, BT_OBJ_METRIC, idx, 0);
	}
	if (bt_lex_is_number_char(*p) && *p != '+' && *p != '-')
	{
		const char *end;
		double		v;

		if (!bt_lex_number(p, &v, &end))
		{
			bt_set_error(ps->err, BT_ERR_PARAM, "invalid sort_by \"%.100s\": invalid number \"%.*s\"",
						 ps->text, bt_lex_token_len(p), p);
			return false;
		}
		ps->p = end;
		return emit(ps, BT_OBJ_NUM, -1, v);
	}
	return expected_operand(ps);
}

/* unary := ("-" | "+") unary | primary */
static bool
parse_unary(Parser *ps)
{
	char		c = *skip(ps);

	if (c == '-' || c == '+')
	{
		ps->p++;
		if (!enter(ps) || !parse_unary(ps))
			return false;
		ps->depth--;
		return c == '+' || emit(ps, BT_OBJ_NEG, -1, 0);
	}
	return parse_primary(ps);
}

/* term := unary { ("*" | "/") unary } */
static bool
parse_term(Parser *ps)
{
	if (!parse_unary(ps))
		return false;
	for (;;)
	{
		char		c = *skip(ps);

		if (c != '*' && c != '/')
			return true;
		ps->p++;
		if (!parse_unary(ps) || !emit(ps, c == '*' ? BT_OBJ_MUL : BT_OBJ_DIV, -1, 0))
			return false;
	}
}

/* expr := term { ("+" | "-") term } */
static bool
parse_expr(Parser *ps)
{
	if (!parse_term(ps))
		return false;
	for (;;)
	{
		char		c = *skip(ps);

		if (c != '+' && c != '-')
			return true;
		ps->p++;
		if (!parse_term(ps) || !emit(ps, c == '+' ? BT_OBJ_ADD : BT_OBJ_SUB, -1, 0))
			return false;
	}
}

/*
 * bt_objective_metric
 *		The objective of metric `metric` alone.
 */
void
bt_objective_metric(BtObjective *o, int metric)
{
	memset(o, 0, sizeof(*o));
	o->metric = metric;
	o->lower_is_better = bt_metric_defs[metric].lower_is_better;
	o->nops = 1;
	o->ops[0].kind = BT_OBJ_METRIC;
	o->ops[0].metric = metric;
}

/*
 * bt_objective_parse
 *		Parse an objective (see bt_sweep.h and the file header).
 */
bool
bt_objective_parse(const char *text, BtObjective *o, BtError *err)
{
	Parser		ps;

	memset(o, 0, sizeof(*o));
	o->metric = -1;
	if (text == NULL)
		text = "";
	ps.text = text;
	ps.p = text;
	ps.depth = 0;
	ps.o = o;
	ps.err = err;
	if (*skip(&ps) == '\0')
	{
		bt_set_error(err, BT_ERR_PARAM, "sort_by is empty");
		snprintf(err->hint, sizeof(err->hint),
				 "Give a column of backtest_metrics, e.g. \"sharpe_ratio\", or arithmetic over them.");
		return false;
	}
	if (!parse_expr(&ps))
		return false;
	if (*skip(&ps) != '\0')
	{
		bt_set_error(err, BT_ERR_PARAM, "invalid sort_by \"%.100s\": unexpected \"%.*s\"",
					 text, bt_lex_token_len(ps.p), ps.p);
		snprintf(err->hint, sizeof(err->hint),
				 "Combine metrics and numbers with + - * / and parentheses, e.g. \"sharpe_ratio * sqrt(trades_count)\".");
		return false;
	}
	if (o->nops == 1 && o->ops[0].kind == BT_OBJ_METRIC)
	{
		bt_objective_metric(o, o->ops[0].metric);
		return true;
	}
	for (int i = 0; i < o->nops; i++)
		if (o->ops[i].kind == BT_OBJ_METRIC &&
			bt_metric_defs[o->ops[i].metric].kind == BT_METRIC_TIMESTAMP)
		{
			bt_set_error(err, BT_ERR_PARAM, "metric \"%s\" in sort_by \"%.100s\" is a timestamp",
						 bt_metric_defs[o->ops[i].metric].name, text);
			snprintf(err->hint, sizeof(err->hint),
					 "Sort by a timestamp on its own; in arithmetic use duration (in days).");
			return false;
		}
	return true;
}

/* A metric's value in an expression: NaN without one, durations in days */
static double
metric_operand(const BtMetrics *m, int metric)
{
	const BtMetricDef *d = &bt_metric_defs[metric];

	if (bt_metric_is_null(m, d))
		return NAN;
	if (d->kind == BT_METRIC_DURATION)
		return bt_metric_double(m, d) / (double) BT_USECS_PER_DAY;
	return bt_metric_double(m, d);
}

/*
 * bt_objective_value
 *		Run the program on m (see bt_sweep.h).
 */
double
bt_objective_value(const BtObjective *o, const BtMetrics *m)
{
	double		stack[BT_OBJ_MAX_OPS];
	int			sp = 0;

	if (o->metric >= 0)
		return bt_metric_sort_key(m, &bt_metric_defs[o->metric]);
	for (int i = 0; i < o->nops; i++)
	{
		const BtObjOp *op = &o->ops[i];
		double		a,
					b;

		switch (op->kind)
		{
			case BT_OBJ_NUM:
				stack[sp++] = op->value;
				continue;
			case BT_OBJ_METRIC:
				stack[sp++] = metric_operand(m, op->metric);
				continue;
			case BT_OBJ_NEG:
				stack[sp - 1] = -stack[sp - 1];
				continue;
			case BT_OBJ_ABS:
				stack[sp - 1] = fabs(stack[sp - 1]);
				continue;
			case BT_OBJ_SQRT:
				stack[sp - 1] = stack[sp - 1] >= 0 ? sqrt(stack[sp - 1]) : NAN;
				continue;
			case BT_OBJ_LN:
				stack[sp - 1] = stack[sp - 1] > 0 ? log(stack[sp - 1]) : NAN;
				continue;
			case BT_OBJ_EXP:
				stack[sp - 1] = exp(stack[sp - 1]);
				continue;
			default:
				break;
		}
		/* binary: b is on top */
		b = stack[--sp];
		a = stack[sp - 1];
		switch (op->kind)
		{
			case BT_OBJ_ADD:
				a += b;
				break;
			case BT_OBJ_SUB:
				a -= b;
				break;
			case BT_OBJ_MUL:
				a *= b;
				break;
			case BT_OBJ_DIV:
				a = b != 0 ? a / b : NAN;
				break;
			case BT_OBJ_MIN:
				a = isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
				break;
			case BT_OBJ_MAX:
				a = isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
				break;
			default:
				a = NAN;		/* unreachable: every kind is handled */
				break;
		}
		stack[sp - 1] = a;
	}
	return sp == 1 && isfinite(stack[0]) ? stack[0] : NAN;
}
