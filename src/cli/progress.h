/*-------------------------------------------------------------------------
 *
 * progress.h
 *	  The CLI's one-line progress display, formatted to fit a width.
 *	  Plain C (no libpq), so test/cli/test_progress.c tests it alone.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/progress.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_PROGRESS_H
#define PG_BACKTEST_PROGRESS_H

#include <stddef.h>

#define PROGRESS_BAR_WIDTH		20	/* the bar when there is room */
#define PROGRESS_BAR_MIN		10	/* narrower than this, drop a field instead */

/* What one progress line shows */
typedef struct ProgressLine
{
	double		progress;		/* 0..100 */
	const char *status;			/* shown after the percentage; NULL = running */
	int			has_steps;
	int			step_index;
	int			total_steps;
	const char *step_name;		/* NULL = none */
	int			has_elapsed;
	double		elapsed;		/* seconds */
	int			has_eta;
	double		eta;			/* seconds */
	const char *message;		/* NULL or "" = none */
} ProgressLine;

/*
 * Format P into BUF (of size LEN) in at most MAX_COLS columns (0: no limit):
 *   [#########-----------]  45.0%  step 3/5 simulating  elapsed 1.2s  eta 1.5s  message
 * When it does not fit, the bar shrinks first (down to PROGRESS_BAR_MIN),
 * then fields go in this order: the message, "step N/M", the step's name,
 * the bar, the elapsed time, the ETA; the percentage and a non-running
 * status stay (cut at MAX_COLS as a last resort).
 */
extern void progress_format(const ProgressLine *p, size_t max_cols, char *buf, size_t len);

/* A duration in seconds: 1.2s, 3m05s, 2h04m09s */
extern void progress_format_duration(double secs, char *buf, size_t len);

/* Columns the UTF-8 string S takes (one per character) */
extern size_t progress_columns(const char *s);

#endif
