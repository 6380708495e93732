/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  The CLI's one-line progress display, formatted to fit a width: the
 *	  bar shrinks first, then the least useful fields are dropped, so the
 *	  percentage, the ETA and the elapsed time survive on narrow terminals.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/progress.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"

/* Fields that may be dropped, in the order they are dropped */
#define DROP_MESSAGE	0x01
#define DROP_STEP_NO	0x02
#define DROP_STEP_NAME	0x04
#define DROP_BAR		0x08
#define DROP_ELAPSED	0x10
#define DROP_ETA		0x20

static const unsigned drop_order[] = {
	0,
	DROP_MESSAGE,
	DROP_MESSAGE | DROP_STEP_NO,
	DROP_MESSAGE | DROP_STEP_NO | DROP_STEP_NAME,
	DROP_MESSAGE | DROP_STEP_NO | DROP_STEP_NAME | DROP_BAR,
	DROP_MESSAGE | DROP_STEP_NO | DROP_STEP_NAME | DROP_BAR | DROP_ELAPSED,
	DROP_MESSAGE | DROP_STEP_NO | DROP_STEP_NAME | DROP_BAR | DROP_ELAPSED | DROP_ETA,
};

void
progress_format_duration(double secs, char *buf, size_t len)
{
	long		s;

	if (!(secs >= 0.0))
		secs = 0.0;
	if (secs < 60.0)
	{
		snprintf(buf, len, "%.1fs", secs);
		return;
	}
	s = (long) (secs + 0.5);
	if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, len, "%ldh%02ldm%02lds", s / 3600, (s / 60) % 60, s % 60);
}

size_t
progress_columns(const char *s)
{
	size_t		n = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Append printf output to BUF (of size LEN), truncating silently. */
static void
#ifdef __GNUC__
__attribute__((format(printf, 3, 4)))
#endif
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t		used = strlen(buf);
	va_list		ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* The line with a bar of BAR characters and the fields DROP left out */
static void
build(const ProgressLine *p, int bar, unsigned drop, char *buf, size_t len)
{
	char		dur[32];
	int			show_step_no = p->has_steps && !(drop & DROP_STEP_NO);
	int			show_step_name = p->step_name && !(drop & DROP_STEP_NAME);
	int			i;

	buf[0] = '\0';
	if (!(drop & DROP_BAR))
	{
		int			filled = (int) (p->progress * bar / 100.0);

		if (filled > bar)
			filled = bar;
		append(buf, len, "[");
		for (i = 0; i < bar; i++)
			append(buf, len, "%c", i < filled ? '#' : '-');
		append(buf, len, "] ");
	}
	append(buf, len, "%5.1f%%", p->progress);
	if (p->status)
		append(buf, len, "  %s", p->status);
	if (show_step_no)
		append(buf, len, "  step %d/%d", p->step_index, p->total_steps);
	if (show_step_name)
		append(buf, len, "%s%s", show_step_no ? " " : "  ", p->step_name);
	if (p->has_elapsed && !(drop & DROP_ELAPSED))
	{
		progress_format_duration(p->elapsed, dur, sizeof(dur));
		append(buf, len, "  elapsed %s", dur);
	}
	if (p->has_eta && !(drop & DROP_ETA))
	{
		progress_format_duration(p->eta, dur, sizeof(dur));
		append(buf, len, "  eta %s", dur);
	}
	if (p->message && p->message[0] && !(drop & DROP_MESSAGE))
		append(buf, len, "  %s", p->message);
}

void
progress_format(const ProgressLine *p, size_t max_cols, char *buf, size_t len)
{
	size_t		d;
	char	   *c;
	size_t		cols = 0;

	if (len == 0)
		return;
	if (max_cols == 0)
	{
		build(p, PROGRESS_BAR_WIDTH, 0, buf, len);
		return;
	}
	for (d = 0; d < sizeof(drop_order) / sizeof(drop_order[0]); d++)
	{
		int			bar;

		/* the bar shrinks before any field goes, and stays short after */
		for (bar = d == 0 ? PROGRESS_BAR_WIDTH : PROGRESS_BAR_MIN; bar >= PROGRESS_BAR_MIN; bar--)
		{
			build(p, bar, drop_order[d], buf, len);
			if (progress_columns(buf) <= max_cols)
				return;
			if (drop_order[d] & DROP_BAR)
				break;			/* no bar to shrink */
		}
	}
	/* still too wide (a tiny terminal, a long status): cut at a character */
	for (c = buf; *c; c++)
	{
		if (((unsigned char) *c & 0xC0) != 0x80 && cols++ == max_cols)
			break;
	}
	*c = '\0';
}
