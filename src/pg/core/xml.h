/*-------------------------------------------------------------------------
 *
 * xml.h
 *	  Escaping text for SVG and HTML (xml.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/xml.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_XML_H
#define BTPG_CORE_XML_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Append s escaped for XML/HTML text and attribute values */
extern void btpg_append_xml(StringInfo buf, const char *s);

#endif							/* BTPG_CORE_XML_H */
