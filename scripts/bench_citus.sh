#!/bin/bash
#
# bench_citus.sh
#	  The Citus figures of `make bench` (issue 14): test/t/053_citus_bench.pl
#	  (a single node, a coordinator with one worker and one with two, 16
#	  symbols x 200,000 minute bars each; a delegated backtest_run,
#	  backtest_run_all and the GROUP BY aggregate, each over the single
#	  node's time).  Prints figures; asserts nothing about time.  Skipped,
#	  saying why, when citus.so is not installed (users install Citus from
#	  its packages; test/citus/ensure-citus.sh builds it from ../shared/vendor).
#
# Run as root after the extension is installed (bench.sh installs it).
# Environment: PG_CONFIG, BENCH_CITUS (0 skips it), BENCH_CITUS_REPS (5),
# BENCH_CITUS_BARS (200000).
#
# Copyright (c) 2026, pg_backtest developers
#
# scripts/bench_citus.sh
#
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${BENCH_CITUS:-1} == 0 ]]; then
	echo "== Citus: skipped (BENCH_CITUS=0)"
	exit 0
fi
. scripts/pg_config.sh
if [[ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]]; then
	echo "== Citus: skipped (citus.so is not installed in $("$PG_CONFIG" --pkglibdir))"
	exit 0
fi
echo "== Citus: a single node, 1 worker, 2 workers (test/t/053_citus_bench.pl)"
PGBT_CITUS_BENCH=1 PROVE_FLAGS=${PROVE_FLAGS:-} test/run_tap.sh t/053_citus_bench.pl 2>&1 |
	sed -n 's/^# //p'
