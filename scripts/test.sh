#!/usr/bin/env bash
# Run the whole pg_backtest test suite on a throwaway PostgreSQL:
#   1. engine unit tests (plain C, no server; golden indicators, trades, causality)
#   2. pg_regress tests (sql/*.sql vs expected/*.out): `make installcheck` on
#      a temporary instance with shared_preload_libraries = pg_cron, pg_backtest
#      (test/pg_backtest.conf), and `make installcheck-nopreload` on one
#      without (as root the Makefile runs pg_regress as the postgres OS user)
#   3. TAP tests under test/t (when present)
#   4. the CLI's progress line (make clitest), the version and licence
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

# Add up a TAP-style log: "ok ..." lines pass, "not ok ..." lines fail, and
# a script that failed without saying which check counts as one failure.
count_tap() {  # count_tap LOG EXIT-STATUS
  local p f
  p=$(grep -cE '^ok ' "$1" || true); f=$(grep -cE '^not ok ' "$1" || true)
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

echo "== engine unit tests"
if make -s unittest | tee "$logs/unit.log"; then :; fi
read -r up uf < <(tail -n 1 "$logs/unit.log" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')
passed=$((passed + ${up:-0})); failed=$((failed + ${uf:-1}))

echo "== CLI progress line (make clitest)"
if make -s clitest | tee "$logs/clitest.log"; then :; fi
read -r cp cf < <(tail -n 1 "$logs/clitest.log" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')
passed=$((passed + ${cp:-0})); failed=$((failed + ${cf:-1}))

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
if make -s -C "$rtree" PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee "$logs/regress.log"; then :; fi
rp=$(grep -cE '^(ok|test) .*\.\.\. ok' "$logs/regress.log" || true)
rf=$(grep -cE '^(not ok|test) .*\.\.\. FAILED' "$logs/regress.log" || true)
if ! grep -q "All [0-9]* tests passed" "$logs/regress.log"; then
  [ -f "$rout/regression.diffs" ] && cat "$rout/regression.diffs"
  [ "$rf" -gt 0 ] || rf=1
fi
passed=$((passed + rp)); failed=$((failed + rf))

echo "== without shared_preload_libraries (make installcheck-nopreload)"
if make -s -C "$rtree" PG_CONFIG="$PG_CONFIG" installcheck-nopreload 2>&1 | tee "$logs/nopreload.log"; then :; fi
if grep -q "All 1 tests passed" "$logs/nopreload.log"; then
  passed=$((passed + 1))
else
  [ -f "$rtree/tmp_check/nopreload/regression.diffs" ] && cat "$rtree/tmp_check/nopreload/regression.diffs"
  failed=$((failed + 1))
fi
[ "$rtree" = . ] || rm -rf "$rtree"

if compgen -G "test/t/*.pl" >/dev/null; then
  echo "== TAP tests"
  if PG_CONFIG="$PG_CONFIG" make -s PG_CONFIG="$PG_CONFIG" tapcheck | tee "$logs/tap.log"; then
    tp=$(grep -cE '^ok ' "$logs/tap.log" || true); passed=$((passed + tp))
  else
    failed=$((failed + 1))
  fi
  # artefacts: the browser screenshots of the chart and report (030_chart_browser.pl)
  echo "chart and report screenshots: ${PG_BACKTEST_ARTIFACTS:-/tmp/pg_backtest_artifacts}"
fi

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
