/*-------------------------------------------------------------------------
 *
 * test_json_scan.c
 *	  Tests of the CLI's JSON scanner (src/cli/json_scan.c): members of the
 *	  top-level object only (not of nested objects, arrays or strings), the
 *	  kinds and exact text of values, string escapes and \u escapes with
 *	  surrogate pairs decoded to UTF-8, the number grammar, integers and
 *	  their range, duplicate keys, the nesting limit, and every kind of
 *	  malformed text finding nothing.  Prints "N passed, N failed" last.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/cli/test_json_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "json_scan.h"

/* Member KEY of TEXT has kind KIND and exactly the text WANT */
static void
check_member(const char *text, const char *key, JsonScanKind kind, const char *want)
{
	const char *v = NULL;
	size_t		len = 0;
	JsonScanKind got = json_scan_member(text, key, &v, &len);

	CHECK_MSG(got == kind && v != NULL && len == strlen(want) && strncmp(v, want, len) == 0,
			  "member \"%s\" of %s: kind %d, text \"%.*s\"; want kind %d, \"%s\"",
			  key, text, (int) got, v ? (int) len : 0, v ? v : "", (int) kind, want);
}

/* TEXT has no member KEY (absent, or TEXT is malformed) */
static void
check_absent(const char *text, const char *key)
{
	const char *v = "x";
	size_t		len = 99;
	JsonScanKind got = json_scan_member(text, key, &v, &len);

	CHECK_MSG(got == JSON_SCAN_ABSENT && v == NULL && len == 0,
			  "member \"%s\" of %s: kind %d, want absent", key, text ? text : "(null)", (int) got);
}

/* Member KEY of TEXT decodes to the WANT_LEN bytes WANT */
static void
check_string(const char *text, const char *key, const char *want, long want_len)
{
	char		buf[64];
	long		n = json_scan_string(text, key, buf, sizeof(buf));

	CHECK_MSG(n == want_len && memcmp(buf, want, (size_t) want_len) == 0 && buf[n] == '\0',
			  "string \"%s\" of %s: %ld bytes \"%s\", want %ld bytes \"%s\"",
			  key, text, n, n >= 0 ? buf : "", want_len, want);
}

static void
check_number(const char *text, double want)
{
	double		d = -12345.0;

	CHECK_MSG(json_scan_number(text, "n", &d) == 1 && d == want,
			  "number of %s: %.17g, want %.17g", text, d, want);
}

static void
check_not_number(const char *text)
{
	double		d = 0;

	CHECK_MSG(json_scan_number(text, "n", &d) == 0, "%s is not a number, got %.17g", text, d);
}

static void
check_integer(const char *text, long long want)
{
	long long	n = -12345;

	CHECK_MSG(json_scan_integer(text, "n", &n) == 1 && n == want,
			  "integer of %s: %lld, want %lld", text, n, want);
}

static void
check_not_integer(const char *text)
{
	long long	n = 0;

	CHECK_MSG(json_scan_integer(text, "n", &n) == 0, "%s is not an integer, got %lld", text, n);
}

/* A progress payload as the server sends it (README, Progress events) */
static const char *payload =
"{\"task_id\": 42, \"status\": \"running\", \"progress\": 37.5, \"current_step\": \"simulating\", "
"\"step_index\": 3, \"total_steps\": 5, \"elapsed_s\": 1.25, \"eta_s\": null}";

static void
test_flat(void)
{
	long long	id = 0;
	double		d = 0;

	check_member(payload, "task_id", JSON_SCAN_NUMBER, "42");
	check_member(payload, "status", JSON_SCAN_STRING, "\"running\"");
	check_member(payload, "eta_s", JSON_SCAN_NULL, "null");
	check_string(payload, "current_step", "simulating", 10);
	CHECK_MSG(json_scan_integer(payload, "task_id", &id) == 1 && id == 42, "task_id %lld", id);
	CHECK_MSG(json_scan_number(payload, "progress", &d) == 1 && d == 37.5, "progress %g", d);
	check_absent(payload, "task");		/* a prefix of a key */
	check_absent(payload, "task_id ");
	check_absent(payload, "running");	/* a value, not a key */
	check_absent(payload, "");
	check_member("{\"\": 1}", "", JSON_SCAN_NUMBER, "1");
	check_absent("{}", "a");
	check_absent(" \t\r\n{ } \n", "a");
	/* every kind of value, blanks anywhere between tokens */
	{
		const char *all = " {\n\t\"s\" : \"x\" ,\"n\":-1.5e-3,\"o\": {\"a\": [1, 2]} ,"
		"\"a\":[ ], \"t\":true,\"f\" :false,\"z\": null\r\n} ";

		check_member(all, "s", JSON_SCAN_STRING, "\"x\"");
		check_member(all, "n", JSON_SCAN_NUMBER, "-1.5e-3");
		check_member(all, "o", JSON_SCAN_OBJECT, "{\"a\": [1, 2]}");
		check_member(all, "a", JSON_SCAN_ARRAY, "[ ]");
		check_member(all, "t", JSON_SCAN_TRUE, "true");
		check_member(all, "f", JSON_SCAN_FALSE, "false");
		check_member(all, "z", JSON_SCAN_NULL, "null");
	}
	/* VALUE and LEN may be NULL */
	CHECK_MSG(json_scan_member(payload, "status", NULL, NULL) == JSON_SCAN_STRING, "NULL out");
	/* duplicate keys: the last counts, as in jsonb */
	check_member("{\"a\": 1, \"b\": 2, \"a\": \"two\"}", "a", JSON_SCAN_STRING, "\"two\"");
}

/* Only the top-level object's members are found */
static void
test_nesting(void)
{
	long long	id = 0;
	char		deep[2 * JSON_SCAN_MAX_DEPTH + 64];
	int			i;
	size_t		n;

	/*
	 * 0.4.0's scanner took the first "task_id": anywhere: here the nested
	 * one (9), and in the array and the string below a task_id at all
	 */
	CHECK_MSG(json_scan_integer("{\"params\": {\"task_id\": 9}, \"task_id\": 7}", "task_id", &id) == 1
			  && id == 7, "nested task_id taken: %lld", id);
	check_absent("{\"a\": [{\"task_id\": 1}], \"b\": {\"c\": {\"task_id\": 2}}}", "task_id");
	check_absent("{\"message\": \"{\\\"task_id\\\": 5}\"}", "task_id");
	check_absent("{\"message\": \"task_id\", \"x\": 1}", "task_id");
	check_member("{\"o\": {\"o\": {\"o\": 1}}, \"k\": [[\"o\"], {\"o\": 2}]}", "o",
				 JSON_SCAN_OBJECT, "{\"o\": {\"o\": 1}}");
	check_member("{\"k\": [[], [[]], {}, [{}], \"]\", \"}\"], \"z\": 0}", "k",
				 JSON_SCAN_ARRAY, "[[], [[]], {}, [{}], \"]\", \"}\"]");
	check_member("{\"k\": [[], [[]], {}, [{}], \"]\", \"}\"], \"z\": 0}", "z",
				 JSON_SCAN_NUMBER, "0");

	/* JSON_SCAN_MAX_DEPTH levels in all (the top-level object is the first) */
	for (int depth = JSON_SCAN_MAX_DEPTH; depth <= JSON_SCAN_MAX_DEPTH + 1; depth++)
	{
		n = (size_t) snprintf(deep, sizeof(deep), "{\"z\": 1, \"d\": ");
		for (i = 1; i < depth; i++)
			deep[n++] = '[';
		deep[n++] = '0';
		for (i = 1; i < depth; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = '\0';
		if (depth == JSON_SCAN_MAX_DEPTH)
			check_member(deep, "z", JSON_SCAN_NUMBER, "1");
		else
			check_absent(deep, "z");
	}
}

static void
test_escapes(void)
{
	check_string("{\"s\": \"a\\\"b\\\\c\\/d\"}", "s", "a\"b\\c/d", 7);
	check_string("{\"s\": \"\\b\\f\\n\\r\\t\"}", "s", "\b\f\n\r\t", 5);
	check_string("{\"s\": \"\"}", "s", "", 0);
	/* the member's text keeps its escapes */
	check_member("{\"s\": \"a\\\"}\"}", "s", JSON_SCAN_STRING, "\"a\\\"}\"");
	/* an escaped key is the key it decodes to */
	check_member("{\"task\\u005fid\": 3}", "task_id", JSON_SCAN_NUMBER, "3");
	check_member("{\"a\\\"b\": 4}", "a\"b", JSON_SCAN_NUMBER, "4");
	/* bad escapes make the whole text malformed */
	check_absent("{\"s\": \"\\x\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\u12g4\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\u12\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\U00e9\", \"t\": 1}", "t");
	/* a raw control character; a DEL (0x7f) is allowed */
	check_absent("{\"s\": \"a\nb\", \"t\": 1}", "t");
	check_absent("{\"s\": \"a\tb\", \"t\": 1}", "t");
	check_string("{\"s\": \"a\x7f\"}", "s", "a\x7f", 2);
	/* the buffer: the string and its NUL must fit */
	{
		char		buf[4];

		CHECK_MSG(json_scan_string("{\"s\": \"abc\"}", "s", buf, 4) == 3 && strcmp(buf, "abc") == 0,
				  "abc fits in 4 bytes");
		CHECK_MSG(json_scan_string("{\"s\": \"abcd\"}", "s", buf, 4) == -1 && buf[0] == '\0',
				  "abcd does not fit in 4 bytes");
		CHECK_MSG(json_scan_string("{\"s\": \"\\u00e9\\u00e9\"}", "s", buf, 4) == -1,
				  "two 2-byte characters do not fit in 4 bytes");
		CHECK_MSG(json_scan_string("{\"s\": 5}", "s", buf, 4) == -1, "a number is not a string");
		CHECK_MSG(json_scan_string("{\"s\": \"a\"}", "t", buf, 4) == -1, "absent");
		CHECK_MSG(json_scan_string("{\"s\": \"a\"}", "s", buf, 0) == -1, "no buffer");
	}
}

static void
test_unicode(void)
{
	char		buf[8];

	check_string("{\"s\": \"\\u0041\\u00e9\\u00E9\"}", "s", "A\xc3\xa9\xc3\xa9", 5);
	check_string("{\"s\": \"\\u20ac\"}", "s", "\xe2\x82\xac", 3);
	check_string("{\"s\": \"\\u07ff\\u0800\\uffff\"}", "s", "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8);
	/* a surrogate pair: U+1F600 */
	check_string("{\"s\": \"\\ud83d\\ude00!\"}", "s", "\xf0\x9f\x98\x80!", 5);
	/* U+10FFFF, the last code point */
	check_string("{\"s\": \"\\udbff\\udfff\"}", "s", "\xf4\x8f\xbf\xbf", 4);
	/* UTF-8 in the text passes through as it is */
	check_string("{\"s\": \"caf\xc3\xa9 \xe2\x82\xac\"}", "s", "caf\xc3\xa9 \xe2\x82\xac", 9);
	check_member("{\"\xc3\xa9t\xc3\xa9\": 1}", "\xc3\xa9t\xc3\xa9", JSON_SCAN_NUMBER, "1");
	/* surrogates not in a high-low pair */
	check_absent("{\"s\": \"\\ud83d\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\ud83dx\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\ud83d\\u0041\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\ud83d\\ud83d\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\ude00\\ud83d\", \"t\": 1}", "t");
	check_absent("{\"s\": \"\\ude00\", \"t\": 1}", "t");
	/* \u0000 is valid JSON but no C string: the member is there, not readable */
	check_member("{\"s\": \"a\\u0000b\"}", "s", JSON_SCAN_STRING, "\"a\\u0000b\"");
	CHECK_MSG(json_scan_string("{\"s\": \"a\\u0000b\"}", "s", buf, sizeof(buf)) == -1,
			  "a string holding \\u0000 is not read");
	check_absent("{\"a\\u0000\": 1}", "a");
}

static void
test_numbers(void)
{
	check_number("{\"n\": 0}", 0.0);
	check_number("{\"n\": -0}", 0.0);
	check_number("{\"n\": 12}", 12.0);
	check_number("{\"n\": -12.5e3}", -12500.0);
	check_number("{\"n\": 1E2}", 100.0);
	check_number("{\"n\": 1e+2}", 100.0);
	check_number("{\"n\": 25e-2}", 0.25);
	check_number("{\"n\": 0.125}", 0.125);
	check_number("{\"n\": 1.7976931348623157e308}", 1.7976931348623157e308);
	check_not_number("{\"n\": 1e999}");		/* not finite */
	check_not_number("{\"n\": \"5\"}");		/* a string */
	check_not_number("{\"n\": null}");
	check_not_number("{\"n\": true}");
	check_not_number("{\"m\": 5}");
	/* not JSON numbers: the whole text is malformed */
	check_not_number("{\"n\": 01}");
	check_not_number("{\"n\": +1}");
	check_not_number("{\"n\": .5}");
	check_not_number("{\"n\": 1.}");
	check_not_number("{\"n\": 1.e3}");
	check_not_number("{\"n\": 1e}");
	check_not_number("{\"n\": 1e+}");
	check_not_number("{\"n\": -}");
	check_not_number("{\"n\": --1}");
	check_not_number("{\"n\": 0x10}");
	check_not_number("{\"n\": NaN}");
	check_not_number("{\"n\": Infinity}");
	check_not_number("{\"n\": 1 2}");

	check_integer("{\"n\": 0}", 0);
	check_integer("{\"n\": -0}", 0);
	check_integer("{\"n\": 42}", 42);
	check_integer("{\"n\": -17}", -17);
	check_integer("{\"n\": 9223372036854775807}", 9223372036854775807LL);
	check_integer("{\"n\": -9223372036854775808}", -9223372036854775807LL - 1);
	check_not_integer("{\"n\": 9223372036854775808}");
	check_not_integer("{\"n\": -9223372036854775809}");
	check_not_integer("{\"n\": 5.0}");
	check_not_integer("{\"n\": 1e3}");
	check_not_integer("{\"n\": 1E3}");
	check_not_integer("{\"n\": \"12\"}");
	check_not_integer("{\"n\": 012}");
}

/* Texts that are not exactly one well-formed object find nothing */
static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"null",
		"\"a\"",
		"[{\"a\": 1}]",
		"{",
		"{\"a\": 1",
		"{\"a\": 1,",
		"{\"a\": 1,}",
		"{\"a\": 1 \"b\": 2}",
		"{\"a\" 1}",
		"{\"a\":}",
		"{\"a\"}",
		"{a: 1}",
		"{'a': 1}",
		"{\"a\": 'x'}",
		"{\"a\": \"x}",
		"{\"a\": 1}}",
		"{\"a\": 1} x",
		"{\"a\": 1}{}",
		"{\"a\": 1}\f",
		"{,\"a\": 1}",
		"{\"a\": 1,, \"b\": 2}",
		"{\"a\": [1, 2}",
		"{\"a\": [1, 2,]}",
		"{\"a\": [1 2]}",
		"{\"a\": {\"b\": 1]}",
		"{\"a\": tru}",
		"{\"a\": truex}",
		"{\"a\": nul}",
		"{\"a\": nulls}",
		"{\"a\": False}",
		"{\"a\": 1}\x01",
		"\xef\xbb\xbf{\"a\": 1}",	/* a byte order mark */
		"{\"a\"\x0b: 1}",			/* a vertical tab is no JSON blank */
	};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_absent(bad[i], "a");
	check_absent(NULL, "a");
	CHECK_MSG(json_scan_member("{\"a\": 1}", NULL, NULL, NULL) == JSON_SCAN_ABSENT, "NULL key");
	/* the same texts made well-formed are found */
	check_member("{\"a\": 1}\n", "a", JSON_SCAN_NUMBER, "1");
	check_member("{\"a\": [1, 2]}", "a", JSON_SCAN_ARRAY, "[1, 2]");
}

int
main(void)
{
	test_flat();
	test_nesting();
	test_escapes();
	test_unicode();
	test_numbers();
	test_malformed();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
