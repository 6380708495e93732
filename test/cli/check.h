/*-------------------------------------------------------------------------
 *
 * check.h
 *	  The checks of the CLI's test programs (test/cli/test_*.c): each
 *	  counts as passed or failed, a failure prints where and why on
 *	  stderr, and main prints "N passed, N failed" last (test/cli/run.sh
 *	  adds the programs' lines up).  Included by one file of each program.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/cli/check.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_CLI_CHECK_H
#define PG_BACKTEST_CLI_CHECK_H

#include <stdio.h>

static int	passed = 0;
static int	failed = 0;

#define CHECK_MSG(cond, ...) \
	do { if (cond) passed++; else { failed++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#endif
