#!/usr/bin/env bash
# Run the whole pg_backtest test suite on a throwaway PostgreSQL:
#   1. engine unit tests (plain C, no server; golden indicators, trades, causality)
#   2. pg_regress tests (sql/*.sql vs expected/*.out) on a pg_virtualenv cluster
#      with shared_preload_libraries = pg_cron, pg_backtest
#   3. TAP tests under test/t (when present)
# Works as root (CI) or as a user with sudo.  Prints "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

scripts/install-deps.sh
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

echo "== build"
make -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="${PG_CFLAGS:--Wall -Werror}" >/dev/null
$SUDO make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

passed=0; failed=0

echo "== engine unit tests"
if make -s unittest | tee /tmp/pg_backtest_unit.log; then :; fi
read -r up uf < <(tail -n 1 /tmp/pg_backtest_unit.log | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')
passed=$((passed + ${up:-0})); failed=$((failed + ${uf:-1}))

echo "== engine fuzzing smoke run (libFuzzer + ASan/UBSan, ${FUZZ_SECONDS:-20} s)"
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}" > /tmp/pg_backtest_fuzz.log 2>&1; then
  grep -E "^Done [0-9]+ runs" /tmp/pg_backtest_fuzz.log || true
  passed=$((passed + 1))
else
  tail -40 /tmp/pg_backtest_fuzz.log
  failed=$((failed + 1))
fi

echo "== regression tests (pg_regress)"
# pg_virtualenv makes a throwaway cluster, runs the command with PG* set, drops it
rm -rf results regression.diffs regression.out
if pg_virtualenv -t -c "-p ${PGTEST_PORT:-$((20000 + RANDOM % 20000))}" \
     -o "shared_preload_libraries=pg_cron,pg_backtest" -o "cron.database_name=postgres" \
     make -s PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee /tmp/pg_backtest_regress.log; then :; fi
rp=$(grep -cE '^(ok|test) .*\.\.\. ok' /tmp/pg_backtest_regress.log || true)
rf=$(grep -cE '^(not ok|test) .*\.\.\. FAILED' /tmp/pg_backtest_regress.log || true)
if ! grep -q "All [0-9]* tests passed" /tmp/pg_backtest_regress.log; then
  [ -f regression.diffs ] && cat regression.diffs
  [ "$rf" -gt 0 ] || rf=1
fi
passed=$((passed + rp)); failed=$((failed + rf))

echo "== without shared_preload_libraries (CREATE EXTENSION and backtest_run work)"
rm -rf results regression.diffs
if pg_virtualenv -t -c "-p ${PGTEST_PORT2:-$((20000 + RANDOM % 20000))}" \
     make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS=nopreload 2>&1 | tee /tmp/pg_backtest_nopreload.log; then :; fi
if grep -q "All 1 tests passed" /tmp/pg_backtest_nopreload.log; then
  passed=$((passed + 1))
else
  [ -f regression.diffs ] && cat regression.diffs
  failed=$((failed + 1))
fi

if compgen -G "test/t/*.pl" >/dev/null; then
  echo "== TAP tests"
  if PG_CONFIG="$PG_CONFIG" make -s PG_CONFIG="$PG_CONFIG" tapcheck | tee /tmp/pg_backtest_tap.log; then
    tp=$(grep -cE '^ok ' /tmp/pg_backtest_tap.log || true); passed=$((passed + tp))
  else
    failed=$((failed + 1))
  fi
  # artefacts: the browser screenshots of the chart and report (030_chart_browser.pl)
  echo "chart and report screenshots: ${PG_BACKTEST_ARTIFACTS:-/tmp/pg_backtest_artifacts}"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
