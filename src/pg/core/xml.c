/*-------------------------------------------------------------------------
 *
 * xml.c
 *	  Escaping text for the SVG and HTML pg_backtest writes (the chart, the
 *	  report, the heatmap).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/xml.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/xml.h"

/*
 * btpg_append_xml
 *		Append s to buf escaped for XML/HTML text and attribute values (the
 *		five special characters; a control character XML 1.0 does not
 *		allow becomes a space).
 */
void
btpg_append_xml(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&#39;");
				break;
			default:
				/* XML 1.0 allows no control characters but tab, LF, CR */
				appendStringInfoChar(buf, (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ' ' : c);
				break;
		}
	}
}
