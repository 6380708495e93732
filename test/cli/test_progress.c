/*-------------------------------------------------------------------------
 *
 * test_progress.c
 *	  Tests of the CLI's progress line (src/cli/progress.c): the full line
 *	  when there is room; at every width from 8 to 120 columns it fits, and
 *	  what it shows degrades in the documented order (the bar shrinks
 *	  first, then the message, "step N/M", the step name, the bar, the
 *	  elapsed time and the ETA go, in that order); at 60 columns elapsed
 *	  and ETA are still there.  Prints "N passed, N failed" last.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/cli/test_progress.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "progress.h"

/* The fields a line shows, as bits, in the order they may be dropped */
#define HAS_MESSAGE		0x01
#define HAS_STEP_NO		0x02
#define HAS_STEP_NAME	0x04
#define HAS_BAR			0x08
#define HAS_ELAPSED		0x10
#define HAS_ETA			0x20

static unsigned
fields_of(const char *line, const ProgressLine *p)
{
	unsigned	f = 0;

	if (p->message && strstr(line, p->message))
		f |= HAS_MESSAGE;
	if (strstr(line, "step "))
		f |= HAS_STEP_NO;
	if (p->step_name && strstr(line, p->step_name))
		f |= HAS_STEP_NAME;
	if (line[0] == '[')
		f |= HAS_BAR;
	if (strstr(line, "elapsed "))
		f |= HAS_ELAPSED;
	if (strstr(line, "eta "))
		f |= HAS_ETA;
	return f;
}

/* Width of the bar (0 if none) */
static int
bar_of(const char *line)
{
	const char *end = strchr(line, ']');

	return (line[0] == '[' && end) ? (int) (end - line - 1) : 0;
}

/* Inside check_widths: print what failed, count it once per case */
#define WIDTH_CHECK(cond, ...) \
	do { if (!(cond)) { bad++; fprintf(stderr, "  "); fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); } } while (0)

static void
check_widths(const char *name, const ProgressLine *p)
{
	char		line[512];
	unsigned	all;
	unsigned	prev_fields = 0;
	int			prev_bar = 0;
	size_t		w;

	int			bad = 0;

	progress_format(p, 0, line, sizeof(line));
	all = fields_of(line, p);			/* what the whole line shows */

	for (w = 8; w <= 120; w++)
	{
		unsigned	f;
		unsigned	dropped;
		int			bar;
		int			k;

		progress_format(p, w, line, sizeof(line));
		f = fields_of(line, p);
		dropped = all & ~f;
		bar = bar_of(line);
		WIDTH_CHECK(progress_columns(line) <= w, "%s at %zu columns: \"%s\" is %zu wide",
				  name, w, line, progress_columns(line));
		/* the percentage is the last thing to go (it fits in 8) */
		WIDTH_CHECK(strchr(line, '%') != NULL, "%s at %zu: no percentage in \"%s\"", name, w, line);
		if (w > 8)
		{
			/* a wider terminal never shows less */
			WIDTH_CHECK((f & prev_fields) == prev_fields,
					  "%s at %zu: \"%s\" lost a field shown at %zu", name, w, line, w - 1);
			WIDTH_CHECK(!(prev_fields & HAS_BAR) || bar >= prev_bar,
					  "%s at %zu: the bar shrank from %d to %d", name, w, prev_bar, bar);
		}
		/* fields go in order: when one is dropped, every earlier one is */
		for (k = 1; k < 6; k++)
		{
			unsigned	bit = 1u << k;
			unsigned	earlier = all & (bit - 1);

			if (dropped & bit)
				WIDTH_CHECK((dropped & earlier) == earlier,
						  "%s at %zu: \"%s\" dropped field %u before an earlier one", name, w,
						  line, bit);
		}
		/* nothing is dropped while the bar can still shrink */
		if ((f & HAS_BAR) && bar > PROGRESS_BAR_MIN)
			WIDTH_CHECK(dropped == 0, "%s at %zu: \"%s\" dropped a field with a %d-wide bar",
					  name, w, line, bar);
		prev_fields = f;
		prev_bar = bar;
	}
	/* one check per case: every width passed */
	CHECK_MSG(bad == 0, "%s: %d failures over widths 8..120 (above)", name, bad);
}

int
main(void)
{
	char		line[512];
	ProgressLine running = {
		.progress = 61.25, .status = NULL, .has_steps = 1, .step_index = 3, .total_steps = 5,
		.step_name = "simulating", .has_elapsed = 1, .elapsed = 0.84, .has_eta = 1, .eta = 0.53,
		.message = NULL
	};
	ProgressLine sweep = running;
	ProgressLine pending = {
		.progress = 0, .status = "pending", .has_steps = 0, .step_name = NULL,
		.has_elapsed = 0, .has_eta = 0, .message = NULL
	};
	ProgressLine utf8 = running;

	sweep.progress = 44.4;
	sweep.step_name = "running combinations";
	sweep.elapsed = 754.0;
	sweep.eta = 3725.0;
	sweep.message = "40 of 90 combinations";
	utf8.step_name = "\xc3\xa9tape \xc3\xa9l\xc3\xa9" "mentaire";	/* "étape élémentaire" */

	/* no limit (a log file) and a wide terminal: the whole line */
	progress_format(&running, 0, line, sizeof(line));
	CHECK_MSG(strcmp(line, "[############--------]  61.2%  step 3/5 simulating  elapsed 0.8s  eta 0.5s") == 0,
			  "unlimited: \"%s\"", line);
	progress_format(&running, 79, line, sizeof(line));
	CHECK_MSG(strcmp(line, "[############--------]  61.2%  step 3/5 simulating  elapsed 0.8s  eta 0.5s") == 0,
			  "80 columns: \"%s\"", line);

	/* 60 columns (59 usable): elapsed and ETA stay, a shorter bar and no "step 3/5" */
	progress_format(&running, 59, line, sizeof(line));
	CHECK_MSG(strstr(line, "elapsed 0.8s") && strstr(line, "eta 0.5s"), "60 columns: \"%s\"", line);
	CHECK_MSG(strstr(line, "simulating") != NULL, "60 columns keeps the step name: \"%s\"", line);
	CHECK_MSG(strlen(line) <= 59, "60 columns: %zu wide", strlen(line));
	CHECK_MSG(bar_of(line) >= PROGRESS_BAR_MIN && bar_of(line) < PROGRESS_BAR_WIDTH,
			  "60 columns: bar %d", bar_of(line));

	/* 40 columns: percentage, elapsed and ETA */
	progress_format(&running, 39, line, sizeof(line));
	CHECK_MSG(strcmp(line, " 61.2%  elapsed 0.8s  eta 0.5s") == 0, "40 columns: \"%s\"", line);

	/* 20 columns: percentage and ETA */
	progress_format(&running, 19, line, sizeof(line));
	CHECK_MSG(strcmp(line, " 61.2%  eta 0.5s") == 0, "20 columns: \"%s\"", line);

	/* a non-running state stays next to the percentage */
	progress_format(&pending, 0, line, sizeof(line));
	CHECK_MSG(strcmp(line, "[--------------------]   0.0%  pending") == 0, "pending: \"%s\"", line);
	progress_format(&pending, 15, line, sizeof(line));
	CHECK_MSG(strcmp(line, "  0.0%  pending") == 0, "pending at 16 columns: \"%s\"", line);

	/* a sweep: the message goes first, then the bar stays at its minimum */
	progress_format(&sweep, 0, line, sizeof(line));
	CHECK_MSG(strcmp(line, "[########------------]  44.4%  step 3/5 running combinations  "
					 "elapsed 12m34s  eta 1h02m05s  40 of 90 combinations") == 0,
			  "sweep: \"%s\"", line);
	progress_format(&sweep, 79, line, sizeof(line));
	CHECK_MSG(strstr(line, "40 of 90") == NULL && strstr(line, "eta 1h02m05s") &&
			  bar_of(line) == PROGRESS_BAR_MIN, "sweep at 80 columns: \"%s\"", line);

	/* UTF-8 names: counted in characters, never cut inside one */
	progress_format(&utf8, 0, line, sizeof(line));
	CHECK_MSG(progress_columns(line) + 3 == strlen(line), "utf8 columns of \"%s\"", line);
	{
		size_t		w;
		int			ok = 1;

		for (w = 1; w <= 8; w++)
		{
			ProgressLine tiny = utf8;

			tiny.status = "\xc3\xa9" "chou\xc3\xa9";	/* forces a cut */
			tiny.has_elapsed = tiny.has_eta = 0;
			progress_format(&tiny, w, line, sizeof(line));
			if (progress_columns(line) > w ||
				(strlen(line) > 0 && ((unsigned char) line[strlen(line) - 1] & 0xC0) == 0xC0))
				ok = 0;
		}
		CHECK_MSG(ok, "cutting at 1..8 columns splits a character or overflows");
	}

	check_widths("running", &running);
	check_widths("sweep", &sweep);
	check_widths("pending", &pending);
	check_widths("utf8", &utf8);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
