#!/usr/bin/env bash
# Run the whole pg_backtest test suite on a throwaway PostgreSQL:
#   1. engine unit tests (plain C, no server; golden indicators, trades, causality)
#   2. pg_regress tests (sql/*.sql vs expected/*.out): `make installcheck` on
#      a temporary instance with shared_preload_libraries = pg_cron, pg_backtest
#      (test/pg_backtest.conf), and `make installcheck-nopreload` on one
#      without (as root the Makefile runs pg_regress as the postgres OS user)
#   3. TAP tests under test/t (when present); the Citus one needs Citus,
#      which test/citus/ensure-citus.sh builds from ../shared/vendor when
#      that folder is beside the project (else that test skips, saying why)
#   4. the CLI's progress line and JSON scanner (make clitest), this
#      script's own counting (test/pkg/counts.sh), the version and licence
#      metadata (test/pkg/versions.sh), the README's examples run as written
#      on a throwaway cluster (test/docs/readme.sh), and the Debian package
#      built, installed and checked (test/pkg/deb.sh)
# Works as root (CI) or as a user with sudo.  Prints "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "test.sh: not root and no sudo: run it as root" >&2; exit 1; }
  SUDO="sudo"
fi

scripts/install-deps.sh
# PG_CONFIG and pgmajor (for pg_virtualenv); everything else comes from it
. scripts/pg_config.sh

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="${PG_CFLAGS:--Wall -Werror}" >/dev/null
$SUDO make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

passed=0; failed=0
# the logs of this run (a directory of its own: another user's run may have
# left files of the same names in /tmp)
logs=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_test.XXXXXX")
echo "== logs in $logs"

# count_summary, count_tap, count_prove, count_regress: each stage's tally
. scripts/counts.sh

echo "== engine unit tests"
st=0; make -s unittest | tee "$logs/unit.log" || st=$?
count_summary "$logs/unit.log" "$st"

echo "== the CLI's progress line and JSON scanner (make clitest)"
st=0; make -s clitest | tee "$logs/clitest.log" || st=$?
count_summary "$logs/clitest.log" "$st"

echo "== engine fuzzing smoke run (libFuzzer + ASan/UBSan, ${FUZZ_SECONDS:-20} s)"
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" > "$logs/fuzz.log" 2>&1; then
  grep -E "^Done [0-9]+ runs" "$logs/fuzz.log" || true
  passed=$((passed + 1))
else
  tail -40 "$logs/fuzz.log"
  failed=$((failed + 1))
fi

echo "== regression tests (pg_regress: make installcheck, temporary instance with preload)"
# As root pg_regress runs as the postgres OS user (initdb refuses root), who
# must read the tree: otherwise run from a copy it can read.
rtree=.
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -r "$PWD/test/pg_backtest.conf" 2>/dev/null; then
  rtree=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_regress.XXXXXX")
  chmod 755 "$rtree"
  cp -R Makefile pg_backtest.control sql expected test "$rtree"/
fi
# where pg_regress writes results/ and regression.diffs (tmp_check/ as root)
if [ "$(id -u)" -eq 0 ]; then rout=$rtree/tmp_check; else rout=$rtree; fi
rm -rf "$rout/results" "$rout/regression.diffs" "$rout/regression.out"
st=0; make -s -C "$rtree" PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee "$logs/regress.log" || st=$?
[ "$st" -eq 0 ] || [ ! -f "$rout/regression.diffs" ] || cat "$rout/regression.diffs"
count_regress "$logs/regress.log" "$st"

echo "== without shared_preload_libraries (make installcheck-nopreload)"
st=0; make -s -C "$rtree" PG_CONFIG="$PG_CONFIG" installcheck-nopreload 2>&1 | tee "$logs/nopreload.log" || st=$?
[ "$st" -eq 0 ] || [ ! -f "$rtree/tmp_check/nopreload/regression.diffs" ] || cat "$rtree/tmp_check/nopreload/regression.diffs"
count_regress "$logs/nopreload.log" "$st"
[ "$rtree" = . ] || rm -rf "$rtree"

if compgen -G "test/t/*.pl" >/dev/null; then
  # Citus for t/050_citus.pl: built from ../shared/vendor when that is beside
  # the project and Citus is missing; else the test says why it skips
  echo "== Citus for the Citus TAP test (test/citus/ensure-citus.sh)"
  PG_CONFIG="$PG_CONFIG" test/citus/ensure-citus.sh
  echo "== TAP tests (make tapcheck)"
  st=0; make -s PG_CONFIG="$PG_CONFIG" tapcheck | tee "$logs/tap.log" || st=$?
  count_prove "$logs/tap.log" "$st"
  # artefacts: the browser screenshots of the chart and report (030_chart_browser.pl)
  echo "chart and report screenshots: ${PG_BACKTEST_ARTIFACTS:-/tmp/pg_backtest_artifacts}"
fi

echo "== this script's counting, on made-up logs (test/pkg/counts.sh)"
st=0; test/pkg/counts.sh > "$logs/counts.log" 2>&1 || st=$?
cat "$logs/counts.log"; count_tap "$logs/counts.log" "$st"

echo "== version, licence and PGXN metadata agree (test/pkg/versions.sh)"
st=0; test/pkg/versions.sh > "$logs/versions.log" 2>&1 || st=$?
cat "$logs/versions.log"; count_tap "$logs/versions.log" "$st"

echo "== the README's examples, run as written (test/docs/readme.sh)"
st=0
# UTF8, as a Debian system cluster is (psycopg 3 returns bytes from SQL_ASCII databases)
pg_virtualenv -v "$pgmajor" -t -c "-p ${PGTEST_PORT3:-$((20000 + RANDOM % 20000))} -e UTF8 --locale C.UTF-8" \
  -o "shared_preload_libraries=pg_cron,pg_backtest" -o "cron.database_name=postgres" \
  test/docs/readme.sh > "$logs/readme.log" 2>&1 || st=$?
grep -vE '^(Creating|Dropping) ' "$logs/readme.log"; count_tap "$logs/readme.log" "$st"

echo "== the Debian package: build, install, check (test/pkg/deb.sh)"
st=0; PG_CONFIG="$PG_CONFIG" test/pkg/deb.sh > "$logs/deb.log" 2>&1 || st=$?
grep -E '^(ok|not ok|#) ' "$logs/deb.log"; count_tap "$logs/deb.log" "$st"

[ "$failed" -eq 0 ] && rm -rf "$logs"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
