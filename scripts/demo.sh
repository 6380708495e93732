#!/usr/bin/env bash
# pg_backtest demo: install everything on a fresh Debian machine, build the
# extension, start a throwaway PostgreSQL with pg_cron and pg_backtest
# preloaded, load sample K-lines and run backtests.  The cluster is dropped
# when the demo ends.  Works as root or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "demo.sh: not root and no sudo: run it as root" >&2; exit 1; }
  SUDO="sudo"
fi

scripts/install-deps.sh
. scripts/pg_config.sh
echo "== build and install"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
$SUDO make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

echo "== throwaway PostgreSQL with shared_preload_libraries = pg_cron, pg_backtest"
pg_virtualenv -v "$pgmajor" -t -c "-p ${PGDEMO_PORT:-$((20000 + RANDOM % 20000))}" \
  -o "shared_preload_libraries=pg_cron,pg_backtest" -o "cron.database_name=postgres" \
  bash scripts/demo-inner.sh
