/*-------------------------------------------------------------------------
 *
 * json_scan.h
 *	  Reading the JSON payloads of NOTIFY backtest_progress in the CLI.
 *	  Plain C (no libpq).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/json_scan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_JSON_SCAN_H
#define PG_BACKTEST_JSON_SCAN_H

/*
 * Find "KEY": in a JSON object PAYLOAD and return where its value starts
 * (after blanks), or NULL.  Enough for the flat objects the server sends.
 */
extern const char *json_value(const char *payload, const char *key);

#endif
