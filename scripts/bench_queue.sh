#!/usr/bin/env bash
# Benchmark of the task queue (make bench-queue; part of make bench): on a
# throwaway cluster with pg_backtest preloaded, 200 submissions one at a time
# (commit -> first "running" NOTIFY latency, p50/p99), then 1000 tiny tasks
# at once (drain time, most running at once), the launcher's RSS after 10
# tasks and after all of them, and one task over 3,000,000 bars: its save
# time / compute time (target <= 0.5).  Prints figures; asserts nothing.
#
# The cluster: pg_virtualenv by default; with PGBT_OWN_CLUSTER=1 (or when
# pg_virtualenv is missing) a temporary cluster made with the initdb/pg_ctl
# of $PG_CONFIG (as the postgres OS user when run as root).  QUEUE_N, QUEUE_M
# and QUEUE_BIG_BARS (0 skips the save benchmark) size the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg_config.sh
export PATH=$("$PG_CONFIG" --bindir):$PATH
make -s PG_CONFIG="$PG_CONFIG" test/bench/bench_queue
if [[ "${1:-}" == "--inner" ]]; then
	psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE EXTENSION pg_backtest;
CREATE TABLE tiny AS
SELECT 'T'::text AS symbol, '2024-01-01'::timestamptz + i * interval '1 day' AS ts,
       100 + sin(i / 5.0) AS open, 101 + sin(i / 5.0) AS high, 99 + sin(i / 5.0) AS low,
       100 + sin(i / 5.0) AS close, 1.0::float8 AS volume
FROM generate_series(1, 100) i;
CREATE TABLE big AS
SELECT timestamptz '2000-01-01 00:00+00' + i * interval '1 minute' AS ts,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 40.0) + 4 * sin(i / 9.0) + 2 * sin(i / 2.9) AS c
      FROM generate_series(1, ${QUEUE_BIG_BARS:-3000000}) i) s;
SQL
	big=big
	[[ "${QUEUE_BIG_BARS:-3000000}" == 0 ]] && big=
	PGDATABASE=postgres test/bench/bench_queue tiny T "${QUEUE_N:-200}" "${QUEUE_M:-1000}" $big
	exit 0
fi
port=${BENCH_PORT:-$((20000 + RANDOM % 20000))}
if [[ "${PGBT_OWN_CLUSTER:-0}" != 1 ]] && command -v pg_virtualenv >/dev/null; then
	exec pg_virtualenv -v "$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')" -t -c "-p $port" \
		-o shared_preload_libraries=pg_backtest -o max_worker_processes=16 "$0" --inner
fi
bindir=$("$PG_CONFIG" --bindir)
tmp=$(mktemp -d /tmp/pg_backtest_bench.XXXXXX)
as=()
if [[ $(id -u) == 0 ]]; then
	chown postgres "$tmp"
	as=(runuser -u postgres --)
fi
trap '"${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; cp "$tmp/log" /tmp/pg_backtest_bench_server.log 2>/dev/null; rm -rf "$tmp"' EXIT
"${as[@]}" "$bindir/initdb" -D "$tmp/data" -A trust -U postgres >/dev/null
"${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
	-o "-p $port -k $tmp -c listen_addresses= -c shared_preload_libraries=pg_backtest -c max_worker_processes=16 ${BENCH_PG_OPTS:-}" \
	start >/dev/null
"${as[@]}" env PATH="$bindir:$PATH" PGHOST="$tmp" PGPORT="$port" PGUSER=postgres \
	QUEUE_N="${QUEUE_N:-200}" QUEUE_M="${QUEUE_M:-1000}" QUEUE_BIG_BARS="${QUEUE_BIG_BARS:-3000000}" \
	"$0" --inner
