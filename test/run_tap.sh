#!/usr/bin/env bash
# Run the TAP tests of test/t (the worker pool, NOTIFY, cancel, crash
# recovery, roles, cleanup, submit errors) against the installed extension.
#
#   test/run_tap.sh                      every test/t/*.pl
#   test/run_tap.sh t/003_cancel.pl      some of them (test/t/003_cancel.pl and
#                                        003_cancel.pl work too)
#
# Needs: `make install` done, postgresql-server-dev-NN (PostgreSQL::Test::*
# and pg_regress), libipc-run-perl, pg_cron installed.  PostgreSQL refuses to
# run as root, so as root the tests are copied to a fresh temporary directory
# owned by the `postgres` OS user and run there as that user.
#
# Environment: PG_CONFIG (default: pg_config on PATH, else the newest
# /usr/lib/postgresql/*/bin/pg_config, scripts/pg_config.sh; the binaries,
# the Perl modules and pg_regress are found from it), PROVE_FLAGS (extra prove options, e.g. -j2),
# PG_TEST_TIMEOUT_DEFAULT (seconds a poll waits, default 180), KEEP_TAP_TMP=1
# to keep the temporary directory (it is always kept when a test fails).
# Exit status: prove's (non-zero if any test failed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

. "$here/../scripts/pg_config.sh"
bindir=$("$PG_CONFIG" --bindir)
pgxsdir=$(dirname "$("$PG_CONFIG" --pgxs)")/..	# .../lib/pgxs/src
perldir=$(cd "$pgxsdir/test/perl" && pwd)
pg_regress=$(cd "$pgxsdir/test/regress" && pwd)/pg_regress

for f in "$perldir/PostgreSQL/Test/Cluster.pm" "$pg_regress"; do
	if [ ! -e "$f" ]; then
		echo "run_tap.sh: $f not found (install postgresql-server-dev-$pgmajor)" >&2
		exit 2
	fi
done
if ! perl -MIPC::Run -e 1 2>/dev/null; then
	echo "run_tap.sh: the Perl module IPC::Run is missing (install libipc-run-perl)" >&2
	exit 2
fi

# The tests to run (relative to the test directory)
if [ $# -gt 0 ]; then
	tests=()
	for f in "$@"; do
		# accept t/NNN.pl, test/t/NNN.pl, an absolute path or a bare name
		tests+=("t/$(basename "$f")")
	done
else
	tests=()
	for f in "$here"/t/*.pl; do
		tests+=("t/$(basename "$f")")
	done
fi

# A fresh working directory: the tests, their Perl module (test/perl:
# PgBacktestNode.pm), the sample data, tmp_check (logs)
work=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_tap.XXXXXX")
cp -R "$here/t" "$work/t"
cp -R "$here/perl" "$work/perl"
[ -d "$here/data" ] && cp -R "$here/data" "$work/data"
# the README's clients (045_clients.pl installs their npm packages afresh)
if [ -d "$here/clients" ]; then
	mkdir "$work/clients"
	cp "$here"/clients/*.* "$work/clients/"
fi
cp "$here/../README.md" "$work/README.md"
chmod -R u+w "$work"

envvars=(
	"PATH=$bindir:$PATH"
	"PERL5LIB=$work/perl:$perldir${PERL5LIB:+:$PERL5LIB}"
	"PG_REGRESS=$pg_regress"
	"TESTDIR=$work"
	"PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-180}"
	# the Citus benchmark (scripts/bench_citus.sh), skipped unless set
	"PGBT_CITUS_BENCH=${PGBT_CITUS_BENCH:-}"
	"BENCH_CITUS_REPS=${BENCH_CITUS_REPS:-}"
	"BENCH_CITUS_BARS=${BENCH_CITUS_BARS:-}"
	"BENCH_CITUS_VERBOSE=${BENCH_CITUS_VERBOSE:-}"
)
# shellcheck disable=SC2206
prove_cmd=(prove -v ${PROVE_FLAGS:-} "${tests[@]}")

status=0
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$work"
	chmod 700 "$work"
	(cd "$work" && runuser -u postgres -- env "${envvars[@]}" "${prove_cmd[@]}") || status=$?
else
	(cd "$work" && env "${envvars[@]}" "${prove_cmd[@]}") || status=$?
fi

if [ $status -ne 0 ]; then
	echo
	echo "run_tap.sh: tests failed (prove exit status $status)."
	echo "Test logs:   $work/tmp_check/log/regress_log_*"
	echo "Server logs: $work/tmp_check/log/*.log"
	for f in "$work"/tmp_check/log/*.log; do
		[ -e "$f" ] || continue
		echo "==== last 40 lines of $f"
		tail -n 40 "$f"
	done
elif [ -z "${KEEP_TAP_TMP:-}" ]; then
	rm -rf "$work"
else
	echo "run_tap.sh: kept $work"
fi
exit $status
