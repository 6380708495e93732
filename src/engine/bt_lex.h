/*-------------------------------------------------------------------------
 *
 * bt_lex.h
 *	  The character classes and the number scanner of the engine's small
 *	  text syntaxes: grid constraints (constraints.c) and sweep objectives
 *	  (objective.c).  ASCII only, no locale; nothing is ever executed.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_lex.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_LEX_H
#define BT_LEX_H

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static inline bool
bt_lex_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
bt_lex_is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool
bt_lex_is_ident_char(char c)
{
	return bt_lex_is_ident_start(c) || (c >= '0' && c <= '9');
}

static inline bool
bt_lex_is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* Length of the token starting at p: a run of non-space characters (at most 64) */
static inline int
bt_lex_token_len(const char *p)
{
	int			len = 0;

	while (p[len] != '\0' && !bt_lex_is_space(p[len]) && len < 64)
		len++;
	return len;
}

/*
 * A finite decimal number at p (digits, '.', an exponent; no hex, inf or
 * nan), not followed by a letter, digit, '_' or '.': sets *v and *end and
 * returns true, else false.
 */
static inline bool
bt_lex_number(const char *p, double *v, const char **end)
{
	char	   *e;
	double		x = strtod(p, &e);
	bool		ok = e > p && isfinite(x) && !bt_lex_is_ident_char(*e) && *e != '.';

	for (const char *q = p; ok && q < e; q++)
		ok = bt_lex_is_number_char(*q);
	*v = x;
	*end = e;
	return ok;
}

#endif							/* BT_LEX_H */
