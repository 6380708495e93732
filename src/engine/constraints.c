/*-------------------------------------------------------------------------
 *
 * constraints.c
 *	  Constraints of a parameter grid, "<operand> <op> <operand>" with
 *	  operands parameter names or numbers: the parser (a fixed syntax, no
 *	  expression is ever executed) and the evaluation on a configuration.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/constraints.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_lex.h"
#include "bt_sweep.h"

/* ------------------------------------------------------------------------
 * Constraints
 * ------------------------------------------------------------------------
 */

/* A character of a comparison operator */
static bool
is_op_char(char c)
{
	return c == '<' || c == '>' || c == '=' || c == '!';
}

/*
 * parse_operand
 *		An operand at *pp (after spaces): a parameter name or a number.
 *		Advances *pp past it.  `which` is "left" or "right", for messages.
 */
static bool
parse_operand(const BtStrategyDef *st, const char *text, const char **pp, const char *which,
			  BtOperand *o, BtError *err)
{
	const char *p = *pp;

	while (bt_lex_is_space(*p))
		p++;
	if (*p == '\0')
	{
		bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": missing %s operand",
					 text, which);
		snprintf(err->hint, sizeof(err->hint),
				 "Write a constraint as \"<operand> <operator> <operand>\", e.g. \"fast < slow\".");
		return false;
	}
	if (bt_lex_is_ident_start(*p))
	{
		char		name[64];
		int			len = 0;
		int			idx;

		while (bt_lex_is_ident_char(p[len]))
			len++;
		if (len >= (int) sizeof(name))
			idx = -1;
		else
		{
			memcpy(name, p, (size_t) len);
			name[len] = '\0';
			idx = bt_param_space_find(st, name);
		}
		if (idx < 0)
		{
			int			off;

			bt_set_error(err, BT_ERR_PARAM, "unknown parameter \"%.*s\" in constraint \"%.100s\"",
						 len < 64 ? len : 64, p, text);
			off = snprintf(err->hint, sizeof(err->hint),
						   "Constraints compare numbers and parameters of the simulator or of strategy \"%s\"",
						   st->name);
			for (int i = 0; i < st->nparams && off > 0 && off < (int) sizeof(err->hint); i++)
				off += snprintf(err->hint + off, sizeof(err->hint) - (size_t) off, "%s%s",
								i == 0 ? ": " : ", ", st->params[i].name);
			if (off > 0 && off < (int) sizeof(err->hint))
				snprintf(err->hint + off, sizeof(err->hint) - (size_t) off, ".");
			return false;
		}
		o->is_param = true;
		o->param = idx;
		o->value = 0;
		*pp = p + len;
		return true;
	}
	if (bt_lex_is_number_char(*p))
	{
		const char *end;
		double		v;

		if (!bt_lex_number(p, &v, &end))
		{
			bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": invalid number \"%.*s\"",
						 text, bt_lex_token_len(p), p);
			return false;
		}
		o->is_param = false;
		o->param = -1;
		o->value = v;
		*pp = end;
		return true;
	}
	bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": unexpected \"%.*s\" in the %s operand",
				 text, bt_lex_token_len(p), p, which);
	snprintf(err->hint, sizeof(err->hint),
			 "An operand is a parameter name or a number.");
	return false;
}

/*
 * bt_constraint_parse
 *		Parse "<operand> <op> <operand>" (see bt_sweep.h).
 */
bool
bt_constraint_parse(const BtStrategyDef *st, const char *text, BtConstraint *out,
					BtError *err)
{
	static const struct
	{
		const char *text;
		BtCmpOp		op;
	}			ops[] =
	{
		{"<", BT_CMP_LT}, {"<=", BT_CMP_LE}, {">", BT_CMP_GT}, {">=", BT_CMP_GE},
		{"=", BT_CMP_EQ}, {"==", BT_CMP_EQ}, {"!=", BT_CMP_NE}, {"<>", BT_CMP_NE}
	};
	const char *p;
	int			oplen = 0;
	bool		found = false;

	if (text == NULL)
		text = "";
	p = text;
	if (!parse_operand(st, text, &p, "left", &out->lhs, err))
		return false;

	while (bt_lex_is_space(*p))
		p++;
	while (is_op_char(p[oplen]))
		oplen++;
	if (oplen == 0)
	{
		if (*p == '\0')
			bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": missing operator", text);
		else
			bt_set_error(err, BT_ERR_PARAM,
						 "invalid constraint \"%.100s\": expected an operator, found \"%.*s\"",
						 text, bt_lex_token_len(p), p);
		snprintf(err->hint, sizeof(err->hint),
				 "The operators are <, <=, >, >=, = (or ==) and != (or <>).");
		return false;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((int) strlen(ops[i].text) == oplen && strncmp(ops[i].text, p, (size_t) oplen) == 0)
		{
			out->op = ops[i].op;
			found = true;
			break;
		}
	if (!found)
	{
		bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": unknown operator \"%.*s\"",
					 text, oplen < 16 ? oplen : 16, p);
		snprintf(err->hint, sizeof(err->hint),
				 "The operators are <, <=, >, >=, = (or ==) and != (or <>).");
		return false;
	}
	p += oplen;

	if (!parse_operand(st, text, &p, "right", &out->rhs, err))
		return false;
	while (bt_lex_is_space(*p))
		p++;
	if (*p != '\0')
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "invalid constraint \"%.100s\": unexpected \"%.*s\" after the right operand",
					 text, bt_lex_token_len(p), p);
		snprintf(err->hint, sizeof(err->hint),
				 "A constraint compares two operands, e.g. \"fast < slow\"; give several constraints separately.");
		return false;
	}
	return true;
}

/* Value of an operand in a configuration */
static inline double
operand_value(const BtOperand *o, const BtConfig *cfg)
{
	return o->is_param ? bt_config_get(cfg, o->param) : o->value;
}

/* Does cfg satisfy constraint c? */
bool
bt_constraint_holds(const BtConstraint *c, const BtConfig *cfg)
{
	double		l = operand_value(&c->lhs, cfg);
	double		r = operand_value(&c->rhs, cfg);

	switch (c->op)
	{
		case BT_CMP_LT: return l < r;
		case BT_CMP_LE: return l <= r;
		case BT_CMP_GT: return l > r;
		case BT_CMP_GE: return l >= r;
		case BT_CMP_EQ: return l == r;
		case BT_CMP_NE: return l != r;
	}
	return false;
}
