#!/usr/bin/env bash
# Benchmark of the task queue (make bench-queue; part of make bench): on a
# throwaway cluster with pg_backtest preloaded, 200 submissions one at a time
# (commit -> first "running" NOTIFY latency, p50/p99), then 1000 tiny tasks
# at once (drain time, most running at once), and the launcher's RSS after
# 10 tasks and after all of them.  Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
# PG_CONFIG, else pg_config on PATH, else Debian's PostgreSQL 15
if [[ -z "${PG_CONFIG:-}" ]]; then
	PG_CONFIG=$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)
fi
export PG_CONFIG
export PATH=$("$PG_CONFIG" --bindir):$PATH
make -s PG_CONFIG="$PG_CONFIG" test/bench/bench_queue
if [[ "${1:-}" == "--inner" ]]; then
	psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE EXTENSION pg_backtest;
CREATE TABLE tiny AS
SELECT 'T'::text AS symbol, '2024-01-01'::timestamptz + i * interval '1 day' AS ts,
       100 + sin(i / 5.0) AS open, 101 + sin(i / 5.0) AS high, 99 + sin(i / 5.0) AS low,
       100 + sin(i / 5.0) AS close, 1.0::float8 AS volume
FROM generate_series(1, 100) i;
SQL
	PGDATABASE=postgres test/bench/bench_queue tiny T "${QUEUE_N:-200}" "${QUEUE_M:-1000}"
	exit 0
fi
pg_virtualenv -v "$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')" \
	-t -c "-p ${BENCH_PORT:-$((20000 + RANDOM % 20000))}" \
	-o shared_preload_libraries=pg_backtest -o max_worker_processes=16 "$0" --inner
