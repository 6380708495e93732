/*-------------------------------------------------------------------------
 *
 * json_scan.c
 *	  Reading members of a JSON object (json_scan.h): a recursive-descent
 *	  check of the whole text against the JSON grammar that notes, on the
 *	  way, where the value of the wanted top-level member is.  Nothing is
 *	  allocated; a string is decoded only when asked for.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/json_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

/*
 * Where the bytes of a string being scanned go: into BUF (of CAP bytes, the
 * NUL included) and/or compared with EXPECT (EXPECT_LEN bytes); either may
 * be NULL.  LEN counts every byte decoded, also those past CAP.
 */
typedef struct StringSink
{
	char	   *buf;
	size_t		cap;
	const char *expect;
	size_t		expect_len;
	size_t		len;
	int			differs;		/* a byte differed from EXPECT, or was past it */
	int			has_nul;		/* a \u0000 was decoded */
} StringSink;

/* The member json_scan_member looks for, and what it found */
typedef struct Wanted
{
	const char *key;
	size_t		key_len;
	const char *value;			/* the last match's value, NULL if none */
	size_t		len;
	JsonScanKind kind;
} Wanted;

static const char *scan_value(const char *p, int depth, JsonScanKind *kind);

/* P after blanks (the four JSON counts) */
static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
sink_byte(StringSink *s, unsigned char c)
{
	if (s->buf != NULL && s->len + 1 < s->cap)
		s->buf[s->len] = (char) c;
	if (s->expect != NULL &&
		(s->len >= s->expect_len || (unsigned char) s->expect[s->len] != c))
		s->differs = 1;
	s->len++;
}

/* Code point CP (at most 0x10FFFF, no surrogate) as UTF-8 */
static void
sink_code_point(StringSink *s, unsigned long cp)
{
	if (cp == 0)
		s->has_nul = 1;
	if (cp < 0x80)
		sink_byte(s, (unsigned char) cp);
	else if (cp < 0x800)
	{
		sink_byte(s, (unsigned char) (0xC0 | (cp >> 6)));
		sink_byte(s, (unsigned char) (0x80 | (cp & 0x3F)));
	}
	else if (cp < 0x10000)
	{
		sink_byte(s, (unsigned char) (0xE0 | (cp >> 12)));
		sink_byte(s, (unsigned char) (0x80 | ((cp >> 6) & 0x3F)));
		sink_byte(s, (unsigned char) (0x80 | (cp & 0x3F)));
	}
	else
	{
		sink_byte(s, (unsigned char) (0xF0 | (cp >> 18)));
		sink_byte(s, (unsigned char) (0x80 | ((cp >> 12) & 0x3F)));
		sink_byte(s, (unsigned char) (0x80 | ((cp >> 6) & 0x3F)));
		sink_byte(s, (unsigned char) (0x80 | (cp & 0x3F)));
	}
}

/* The four hex digits at P as a number, or -1 (stops at a NUL) */
static long
hex4(const char *p)
{
	long		v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		char		c = p[i];
		int			d;

		if (is_digit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * The string whose opening quote is at P: where it ends (after the closing
 * quote), or NULL if it is malformed (a control character, a bad escape, a
 * surrogate not in a high-low pair, no closing quote).  Its decoded bytes go
 * to SINK (may be NULL).  Bytes from 0x80 up are taken as they are.
 */
static const char *
scan_string(const char *p, StringSink *sink)
{
	StringSink	none = {NULL, 0, NULL, 0, 0, 0, 0};
	StringSink *s = sink ? sink : &none;

	p++;
	for (;;)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '"')
			return p + 1;
		if (c < 0x20)			/* the end of the text, or a control character */
			return NULL;
		if (c != '\\')
		{
			sink_byte(s, c);
			p++;
			continue;
		}
		p++;
		switch (*p)
		{
			case '"':
			case '\\':
			case '/':
				sink_byte(s, (unsigned char) *p);
				break;
			case 'b':
				sink_byte(s, '\b');
				break;
			case 'f':
				sink_byte(s, '\f');
				break;
			case 'n':
				sink_byte(s, '\n');
				break;
			case 'r':
				sink_byte(s, '\r');
				break;
			case 't':
				sink_byte(s, '\t');
				break;
			case 'u':
				{
					long		cp = hex4(p + 1);

					if (cp < 0)
						return NULL;
					p += 4;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						long		lo;

						if (p[1] != '\\' || p[2] != 'u')
							return NULL;
						lo = hex4(p + 3);
						if (lo < 0xDC00 || lo > 0xDFFF)
							return NULL;
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						p += 6;
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
						return NULL;	/* a low surrogate alone */
					sink_code_point(s, (unsigned long) cp);
					break;
				}
			default:
				return NULL;
		}
		p++;
	}
}

/*
 * The number at P: where it ends, or NULL if it does not follow the
 * grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static const char *
scan_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (is_digit(*p))
			p++;
	else
		return NULL;
	if (*p == '.')
	{
		p++;
		if (!is_digit(*p))
			return NULL;
		while (is_digit(*p))
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return NULL;
		while (is_digit(*p))
			p++;
	}
	return p;
}

/*
 * The object whose '{' is at P, DEPTH deep: where it ends, or NULL if it is
 * malformed.  With WANTED, its members named WANTED->key are noted there
 * (nested objects are scanned without).
 */
static const char *
scan_object(const char *p, int depth, Wanted *wanted)
{
	if (depth > JSON_SCAN_MAX_DEPTH)
		return NULL;
	p = skip_blanks(p + 1);
	if (*p == '}')
		return p + 1;
	for (;;)
	{
		StringSink	name = {NULL, 0, NULL, 0, 0, 0, 0};
		const char *value;
		JsonScanKind kind;

		if (*p != '"')
			return NULL;
		if (wanted != NULL)
		{
			name.expect = wanted->key;
			name.expect_len = wanted->key_len;
		}
		p = scan_string(p, &name);
		if (p == NULL)
			return NULL;
		p = skip_blanks(p);
		if (*p != ':')
			return NULL;
		value = skip_blanks(p + 1);
		p = scan_value(value, depth, &kind);
		if (p == NULL)
			return NULL;
		if (wanted != NULL && !name.differs && name.len == wanted->key_len)
		{
			wanted->value = value;
			wanted->len = (size_t) (p - value);
			wanted->kind = kind;
		}
		p = skip_blanks(p);
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_blanks(p + 1);
	}
}

/* The array whose '[' is at P, DEPTH deep: where it ends, or NULL */
static const char *
scan_array(const char *p, int depth)
{
	JsonScanKind kind;

	if (depth > JSON_SCAN_MAX_DEPTH)
		return NULL;
	p = skip_blanks(p + 1);
	if (*p == ']')
		return p + 1;
	for (;;)
	{
		p = scan_value(p, depth, &kind);
		if (p == NULL)
			return NULL;
		p = skip_blanks(p);
		if (*p == ']')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_blanks(p + 1);
	}
}

/*
 * The value at P (blanks skipped), inside DEPTH objects or arrays: where it
 * ends, or NULL if it is malformed; its kind in *KIND.  A literal or number
 * ending in a letter or digit ("truex", "01") ends where the grammar does:
 * the caller then finds no ',', '}' or ']' there and fails.
 */
static const char *
scan_value(const char *p, int depth, JsonScanKind *kind)
{
	switch (*p)
	{
		case '"':
			*kind = JSON_SCAN_STRING;
			return scan_string(p, NULL);
		case '{':
			*kind = JSON_SCAN_OBJECT;
			return scan_object(p, depth + 1, NULL);
		case '[':
			*kind = JSON_SCAN_ARRAY;
			return scan_array(p, depth + 1);
		case 't':
			*kind = JSON_SCAN_TRUE;
			return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
		case 'f':
			*kind = JSON_SCAN_FALSE;
			return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
		case 'n':
			*kind = JSON_SCAN_NULL;
			return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
		default:
			*kind = JSON_SCAN_NUMBER;
			return scan_number(p);
	}
}

JsonScanKind
json_scan_member(const char *text, const char *key, const char **value, size_t *len)
{
	Wanted		wanted;
	const char *p;

	if (value != NULL)
		*value = NULL;
	if (len != NULL)
		*len = 0;
	if (text == NULL || key == NULL)
		return JSON_SCAN_ABSENT;
	wanted.key = key;
	wanted.key_len = strlen(key);
	wanted.value = NULL;
	wanted.len = 0;
	wanted.kind = JSON_SCAN_ABSENT;

	p = skip_blanks(text);
	if (*p != '{')
		return JSON_SCAN_ABSENT;
	p = scan_object(p, 1, &wanted);
	if (p == NULL || *skip_blanks(p) != '\0' || wanted.value == NULL)
		return JSON_SCAN_ABSENT;
	if (value != NULL)
		*value = wanted.value;
	if (len != NULL)
		*len = wanted.len;
	return wanted.kind;
}

int
json_scan_number(const char *text, const char *key, double *out)
{
	const char *v;
	size_t		len;
	char	   *end;
	double		d;

	if (json_scan_member(text, key, &v, &len) != JSON_SCAN_NUMBER)
		return 0;
	d = strtod(v, &end);
	if (end != v + len || !isfinite(d))
		return 0;
	*out = d;
	return 1;
}

int
json_scan_integer(const char *text, const char *key, long long *out)
{
	const char *v;
	size_t		len;
	char	   *end;
	long long	n;

	if (json_scan_member(text, key, &v, &len) != JSON_SCAN_NUMBER)
		return 0;
	if (memchr(v, '.', len) || memchr(v, 'e', len) || memchr(v, 'E', len))
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end != v + len)
		return 0;
	*out = n;
	return 1;
}

long
json_scan_string(const char *text, const char *key, char *buf, size_t len)
{
	const char *v;
	StringSink	s = {NULL, 0, NULL, 0, 0, 0, 0};

	if (buf == NULL || len == 0)
		return -1;
	buf[0] = '\0';
	if (json_scan_member(text, key, &v, NULL) != JSON_SCAN_STRING)
		return -1;
	s.buf = buf;
	s.cap = len;
	(void) scan_string(v, &s);	/* well-formed: json_scan_member checked it */
	if (s.has_nul || s.len + 1 > len)
	{
		buf[0] = '\0';
		return -1;
	}
	buf[s.len] = '\0';
	return (long) s.len;
}
