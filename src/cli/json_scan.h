/*-------------------------------------------------------------------------
 *
 * json_scan.h
 *	  Reading members of a JSON object without a JSON library: the CLI
 *	  links libpq only, and the payloads of NOTIFY backtest_progress are
 *	  small objects.  Plain C (no libpq), so test/cli/test_json_scan.c
 *	  tests it alone.
 *
 *	  The whole text is checked against the JSON grammar (RFC 8259) first:
 *	  a text that is not exactly one well-formed object (blanks around it
 *	  aside) has no members.  Only members of the top-level object are
 *	  found: a "key" inside a string, or a member of a nested object or
 *	  array, is never taken for one.  Of duplicate keys the last counts,
 *	  as in jsonb.  Nesting deeper than JSON_SCAN_MAX_DEPTH counts as
 *	  malformed.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/json_scan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_JSON_SCAN_H
#define PG_BACKTEST_JSON_SCAN_H

#include <stddef.h>

#define JSON_SCAN_MAX_DEPTH		64	/* objects and arrays inside each other */

/* What a member's value is */
typedef enum JsonScanKind
{
	JSON_SCAN_ABSENT = 0,		/* no such member, or not a well-formed object */
	JSON_SCAN_STRING,
	JSON_SCAN_NUMBER,
	JSON_SCAN_OBJECT,
	JSON_SCAN_ARRAY,
	JSON_SCAN_TRUE,
	JSON_SCAN_FALSE,
	JSON_SCAN_NULL
} JsonScanKind;

/*
 * The value of member KEY of the JSON object TEXT: its kind, and where its
 * JSON text starts in TEXT (*value) and how long it is (*len), quotes of a
 * string included.  VALUE and LEN may be NULL.  JSON_SCAN_ABSENT (and
 * *value NULL) when TEXT is not a well-formed object or has no member KEY.
 */
extern JsonScanKind json_scan_member(const char *text, const char *key,
									 const char **value, size_t *len);

/* Member KEY as a number: 1 and *out if it is a finite JSON number, else 0 */
extern int	json_scan_number(const char *text, const char *key, double *out);

/*
 * Member KEY as an integer: 1 and *out if it is a JSON number written
 * without fraction or exponent that fits a long long, else 0
 */
extern int	json_scan_integer(const char *text, const char *key, long long *out);

/*
 * Member KEY as a string, its escapes decoded (\uXXXX, surrogate pairs
 * too, as UTF-8), NUL-terminated in BUF of size LEN: returns its length in
 * bytes, or -1 if it is absent, not a string, holds \u0000 (no C string
 * can) or does not fit in LEN - 1 bytes.
 */
extern long json_scan_string(const char *text, const char *key, char *buf, size_t len);

#endif
