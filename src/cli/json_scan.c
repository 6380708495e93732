/*-------------------------------------------------------------------------
 *
 * json_scan.c
 *	  Reading the JSON payloads of NOTIFY backtest_progress in the CLI.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/json_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "json_scan.h"

/*
 * Find "KEY": in a JSON object PAYLOAD and return where its value starts
 * (after blanks), or NULL.  Enough for the flat objects the server sends.
 */
const char *
json_value(const char *payload, const char *key)
{
	size_t		klen = strlen(key);
	const char *p = payload;

	while ((p = strchr(p, '"')) != NULL)
	{
		if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"')
		{
			const char *q = p + 2 + klen;

			while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
				q++;
			if (*q == ':')
			{
				q++;
				while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
					q++;
				return q;
			}
		}
		p++;
	}
	return NULL;
}
