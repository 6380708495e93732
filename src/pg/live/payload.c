/*-------------------------------------------------------------------------
 *
 * payload.c
 *	  Live streams: formatting NOTIFY payloads (timestamps, numbers) and
 *	  whether a source is readable by everyone (live.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/payload.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#include "live.h"

/* ---- payload formatting -------------------------------------------------------------- */

/* Write n digits of v (zero-padded) at p; returns the end */
static char *
put_digits(char *p, int64 v, int n)
{
	for (int i = n - 1; i >= 0; i--)
	{
		p[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void
btpg_live_format_ts(int64_t t, char *buf, size_t len)
{
	/* civil from days (Howard Hinnant's algorithm); no time zone, no locale */
	int64		days = t >= 0 ? t / USECS_PER_DAY : -((-t + USECS_PER_DAY - 1) / USECS_PER_DAY);
	int64		us = t - days * USECS_PER_DAY;
	int64		z = days + 719468;
	int64		era = (z >= 0 ? z : z - 146096) / 146097;
	int64		doe = z - era * 146097;
	int64		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64		mp = (5 * doy + 2) / 153;
	int64		d = doy - (153 * mp + 2) / 5 + 1;
	int64		m = mp < 10 ? mp + 3 : mp - 9;
	int64		y = yoe + era * 400 + (m <= 2);
	char		tmp[40];
	char	   *p = tmp;

	if (y < 0 || y > 9999 || len < 28)
	{
		snprintf(buf, len, "%lld", (long long) t);
		return;
	}
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, us / USECS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, us / USECS_PER_MINUTE % 60, 2);
	*p++ = ':';
	p = put_digits(p, us / USECS_PER_SEC % 60, 2);
	if (us % USECS_PER_SEC != 0)
	{
		*p++ = '.';
		p = put_digits(p, us % USECS_PER_SEC, 6);
	}
	*p++ = 'Z';
	*p = '\0';
	memcpy(buf, tmp, p - tmp + 1);
}

void
btpg_live_json_num(StringInfo buf, double v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(v))
	{
		appendStringInfoString(buf, "null");
		return;
	}
	double_to_shortest_decimal_buf(v, num);
	appendStringInfoString(buf, num);
}

bool
btpg_live_public_readable(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		rls;

	if (!HeapTupleIsValid(tup))
		return false;
	rls = ((Form_pg_class) GETSTRUCT(tup))->relrowsecurity;
	ReleaseSysCache(tup);
	return !rls && pg_class_aclcheck(relid, ACL_ID_PUBLIC, ACL_SELECT) == ACLCHECK_OK;
}
