#!/bin/bash
#
# bench.sh
#	  pg_backtest benchmark (`make bench`).  Prints figures; asserts nothing.
#
# 1. engine alone (test/bench/bench_engine): bars/s of bt_run on in-memory
#	 arrays, per-stage split, other strategies, a 10M-bar series;
# 2. in a throw-away server (pg_virtualenv, shared_preload_libraries =
#	 pg_backtest): a 1,000,000-bar table (plus 5,000 bars of a second
#	 symbol), index on (symbol, ts), VACUUM ANALYZE, then - interleaved,
#	 after warm-up, median of $BENCH_REPS repetitions -
#	   floor: SELECT count(*), sum(close) FROM t WHERE symbol = 'BENCH'
#	   SELECT * FROM backtest_run('t', 'BENCH', 'sma_cross')
#	 and diagnostics (the loader's own query shape, backtest_run_query);
# 3. backend RSS after 10 and after 1000 backtest_run calls on a 10k-bar
#	 table in one session (read from /proc/<pid>/status by a shell);
# 4. the sweep; 5. the backtest() aggregate GROUP BY symbol over 2 x 1M bars
#	 without ORDER BY, against the same GROUP BY with six sums;
# 6. every symbol at once: backtest_run_all over $BENCH_ALL_SYMBOLS symbols x
#	 $BENCH_ALL_BARS bars (an unlogged table written minute by minute, every
#	 symbol per minute, no index) against the same GROUP BY symbol with
#	 count(*) and five sums, and the backtest() aggregate GROUP BY symbol over
#	 the same table (planner's choice and serial), $BENCH_ALL_REPS interleaved
#	 rounds;
# 7. portfolio: backtest_portfolio with sma_cross and with rotation over
#	 $BENCH_PF_SYMBOLS symbols x $BENCH_PF_BARS daily bars and over
#	 $BENCH_PF_MIN_SYMBOLS x $BENCH_PF_MIN_BARS minute bars, each against the
#	 serial six-sums GROUP BY of the same rows (and sma_cross with stops).
# 8. live streams: a 10,000-row COPY into a table with one stream (three
#	 indicators) against the same COPY without; single-row INSERT latency
#	 (pgbench) with and without the stream.
# 9. optional (BENCH_EQUITY_BARS > 0, e.g. 3000000): one task over that many
#	 minute bars, then a BI tool's daily downsample of its stored curve, the
#	 GROUP BY over backtest.equity against backtest_equity_downsample.
#
# Run as root from anywhere (it cds to the repo root):  scripts/bench.sh
# Environment: BENCH_REPS (default 7), BENCH_BIG_N (engine large series,
# default 10000000, 0 skips it), BENCH_ALL_SYMBOLS (1000), BENCH_ALL_BARS
# (10000; 0 skips part 6), BENCH_ALL_REPS (3), BENCH_PF_SYMBOLS (100),
# BENCH_PF_BARS (2520; 0 skips it), BENCH_PF_MIN_SYMBOLS (20), BENCH_PF_MIN_BARS
# (100000; 0 skips it), BENCH_EQUITY_BARS (0: part 9 skipped),
# BENCH_SKIP (parts to leave out, comma-separated: engine, memory, aggregate,
# live; default none), PG_CONFIG (a PostgreSQL other than the
# one on PATH: the server then runs in a temporary instance of that
# installation, made with its initdb and pg_ctl as the postgres OS user,
# instead of pg_virtualenv), BENCH_PORT.
#
# Copyright (c) 2026, pg_backtest developers
#
# scripts/bench.sh
#
set -euo pipefail

REPS=${BENCH_REPS:-7}
BIG_N=${BENCH_BIG_N:-10000000}
NBARS=1000000
NOTHER=5000
NSMALL=10000
ALL_SYMS=${BENCH_ALL_SYMBOLS:-1000}
PF_SYMS=${BENCH_PF_SYMBOLS:-100}
PF_BARS=${BENCH_PF_BARS:-2520}
PF_MSYMS=${BENCH_PF_MIN_SYMBOLS:-20}
PF_MBARS=${BENCH_PF_MIN_BARS:-100000}
ALL_BARS=${BENCH_ALL_BARS:-10000}
ALL_REPS=${BENCH_ALL_REPS:-3}
EQ_BARS=${BENCH_EQUITY_BARS:-0}

cd "$(dirname "$0")/.."

# true when part $1 is in BENCH_SKIP (engine, memory, aggregate, live)
skipped() {
	[[ ",${BENCH_SKIP:-}," == *",$1,"* ]]
}

# ---------------------------------------------------------------------------
# Inner part: runs inside pg_virtualenv (PG* variables point at the server)
# ---------------------------------------------------------------------------
if [[ "${1:-}" == "--inner" ]]; then
	WORK=$2
	RES=$WORK/results
	PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P pager=off)

	echo "server: $(psql -X -At -c 'SELECT version()')"
	echo "        shared_preload_libraries=$(psql -X -At -c 'SHOW shared_preload_libraries')" \
		"shared_buffers=$(psql -X -At -c 'SHOW shared_buffers')" \
		"jit=$(psql -X -At -c 'SHOW jit')" \
		"max_parallel_workers_per_gather=$(psql -X -At -c 'SHOW max_parallel_workers_per_gather')"

	t0=$(date +%s.%N)
	"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_backtest;
SELECT setseed(0.42);

-- A geometric random walk (sigma 0.1% a bar), 4-decimal prices, 1-minute bars
CREATE TABLE t (
	symbol text NOT NULL,
	ts timestamptz NOT NULL,
	open double precision NOT NULL,
	high double precision NOT NULL,
	low double precision NOT NULL,
	close double precision NOT NULL,
	volume double precision NOT NULL
);
INSERT INTO t
SELECT 'BENCH', timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute',
	   o,
	   round(greatest(o, c) * (1 + 0.0005 * u1) * 10000) / 10000,
	   round(least(o, c) * (1 - 0.0005 * u2) * 10000) / 10000,
	   c, v
FROM (SELECT i, u1, u2, v, c, coalesce(lag(c) OVER (ORDER BY i), 100.0) AS o
	  FROM (SELECT i, u1, u2, v,
				   round(100.0 * exp(sum(z) OVER (ORDER BY i)) * 10000) / 10000 AS c
			FROM (SELECT i,
						 0.001 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z,
						 random() AS u1, random() AS u2,
						 floor(1000 + 9000 * random()) AS v
				  FROM generate_series(1, $NBARS) AS i) g) w) x;
-- A second symbol, so that the WHERE clause has something to filter
INSERT INTO t
SELECT 'OTHER', timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute',
	   50, 50.5, 49.5, 50 + (i % 7) * 0.01, 1000
FROM generate_series(1, $NOTHER) AS i;
CREATE INDEX t_symbol_ts ON t (symbol, ts);

-- The 10k-bar table of the memory test
CREATE TABLE t10k AS SELECT * FROM t WHERE symbol = 'BENCH' ORDER BY ts LIMIT $NSMALL;
CREATE INDEX t10k_symbol_ts ON t10k (symbol, ts);
VACUUM ANALYZE t;
VACUUM ANALYZE t10k;

-- Round-robin timing: warm-ups, then reps x (each query once), medians
-- (par[q]: max_parallel_workers_per_gather for query q, set before timing it)
CREATE FUNCTION bench_rr(names text[], queries text[], par text[], reps int, warmups int)
RETURNS TABLE (name text, median_ms float8, min_ms float8, max_ms float8, runs text)
LANGUAGE plpgsql AS \$\$
DECLARE
	nq int := array_length(queries, 1);
	t0 timestamptz;
	ms float8[] := array_fill(NULL::float8, ARRAY[nq, reps]);
BEGIN
	FOR w IN 1..warmups LOOP
		FOR q IN 1..nq LOOP
			PERFORM set_config('max_parallel_workers_per_gather', par[q], true);
			EXECUTE queries[q];
		END LOOP;
	END LOOP;
	FOR r IN 1..reps LOOP
		FOR q IN 1..nq LOOP
			PERFORM set_config('max_parallel_workers_per_gather', par[q], true);
			t0 := clock_timestamp();
			EXECUTE queries[q];
			ms[q][r] := 1000 * extract(epoch FROM clock_timestamp() - t0);
		END LOOP;
	END LOOP;
	FOR q IN 1..nq LOOP
		name := names[q];
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY u.x), min(u.x), max(u.x),
			   string_agg(to_char(u.x, 'FM999990.0'), ' ' ORDER BY u.o)
		INTO median_ms, min_ms, max_ms, runs
		FROM unnest(ms[q:q][1:reps]) WITH ORDINALITY AS u(x, o);
		RETURN NEXT;
	END LOOP;
END
\$\$;
SQL
	printf 'data: %d + %d bars generated, indexed and vacuumed in %.1f s\n' \
		"$NBARS" "$NOTHER" "$(echo "$(date +%s.%N) - $t0" | bc)"
	"${PSQL[@]}" -At -c "SELECT 'table t: ' || pg_size_pretty(pg_relation_size('t')) ||
		', index: ' || pg_size_pretty(pg_relation_size('t_symbol_ts')) ||
		', rows BENCH/OTHER: ' || count(*) FILTER (WHERE symbol = 'BENCH') || '/' ||
		count(*) FILTER (WHERE symbol = 'OTHER') FROM t"

	# ---- timings ---------------------------------------------------------
	# The loader's query for a table source (src/pg/loader.c), as text
	LOADQ="SELECT ts, open, high, low, close FROM t WHERE symbol = 'BENCH' ORDER BY ts"
	echo
	echo "== server timings: 1 warm-up round, then $REPS interleaved rounds (ms; median, min, max, each run)"
	"${PSQL[@]}" -F ' ' -At > "$WORK/timings" <<SQL
SELECT name, round(median_ms::numeric, 2), round(min_ms::numeric, 2),
	   round(max_ms::numeric, 2), runs
FROM bench_rr(
	ARRAY['floor', 'floor_serial', 'backtest_run', 'loader_scan', 'backtest_run_query',
		  'backtest_run_bh'],
	ARRAY[\$q\$SELECT count(*), sum(close) FROM t WHERE symbol = 'BENCH'\$q\$,
		  \$q\$SELECT count(*), sum(close) FROM t WHERE symbol = 'BENCH'\$q\$,
		  \$q\$SELECT * FROM backtest_run('t', 'BENCH', 'sma_cross')\$q\$,
		  \$q\$SELECT count(*), sum(close) FROM ($LOADQ) s\$q\$,
		  \$q\$SELECT * FROM backtest_run_query(\$l\$$LOADQ\$l\$, 'sma_cross')\$q\$,
		  \$q\$SELECT * FROM backtest_run('t', 'BENCH', 'buy_and_hold')\$q\$],
	ARRAY[current_setting('max_parallel_workers_per_gather'), '0',
		  current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather')],
	$REPS, 1);
SQL
	while read -r name med min max runs; do
		printf '  %-20s median %9.2f   min %9.2f   max %9.2f   [%s]\n' \
			"$name" "$med" "$min" "$max" "$runs"
		echo "${name}_ms=$med" >> "$RES"
	done < "$WORK/timings"
	cat <<'EOF'
  floor              = SELECT count(*), sum(close) FROM t WHERE symbol = 'BENCH'
                       (server defaults: a parallel plan is allowed)
  floor_serial       = the same with max_parallel_workers_per_gather = 0 (backtest_run
                       reads serially, so this is the like-for-like baseline)
  backtest_run       = SELECT * FROM backtest_run('t', 'BENCH', 'sma_cross')
  loader_scan        = count(*), sum(close) over the loader's query shape
                       (SELECT ts, open, high, low, close ... WHERE symbol = ... ORDER BY ts)
  backtest_run_query = backtest_run_query(<that query>, 'sma_cross')
  backtest_run_bh    = backtest_run('t', 'BENCH', 'buy_and_hold') (trivial strategy)
EOF
	echo
	echo "== plans (EXPLAIN ANALYZE, TIMING OFF) of the floor and of the loader's query"
	"${PSQL[@]}" -At <<SQL | sed 's/^/  /'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF)
	SELECT count(*), sum(close) FROM t WHERE symbol = 'BENCH';
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF)
	SELECT ts, open, high, low, close FROM t
	WHERE symbol OPERATOR(pg_catalog.=) CAST('BENCH' AS pg_catalog.text) ORDER BY ts;
SQL
	echo
	echo "== result of backtest_run('t', 'BENCH', 'sma_cross')"
	"${PSQL[@]}" -x -c "SELECT bars, warmup_bars, trades_count, round(equity_final::numeric, 2) AS equity_final,
		round(return_pct::numeric, 2) AS return_pct, round(exposure_pct::numeric, 2) AS exposure_pct
		FROM backtest_run('t', 'BENCH', 'sma_cross')" | sed 's/^/  /'

	if ! skipped memory; then
	# ---- memory: one session, RSS read by a shell through /proc ----------
	echo
	echo "== memory: backend RSS after 10 and after 1000 backtest_run calls on t10k ($NSMALL bars), one session"
	"${PSQL[@]}" -At <<SQL
SELECT pg_backend_pid() AS bpid \gset
\setenv BPID :bpid
\setenv RES $RES
DO \$\$
BEGIN
	FOR i IN 1..10 LOOP
		PERFORM * FROM backtest_run('t10k', 'BENCH', 'sma_cross');
	END LOOP;
END
\$\$;
\! awk '/^VmRSS:/ {print "rss_10_kb=" \$2} /^RssAnon:/ {print "rss_anon_10_kb=" \$2} /^VmHWM:/ {print "hwm_10_kb=" \$2}' /proc/\$BPID/status >> \$RES
DO \$\$
BEGIN
	FOR i IN 11..1000 LOOP
		PERFORM * FROM backtest_run('t10k', 'BENCH', 'sma_cross');
	END LOOP;
END
\$\$;
\! awk '/^VmRSS:/ {print "rss_1000_kb=" \$2} /^RssAnon:/ {print "rss_anon_1000_kb=" \$2} /^VmHWM:/ {print "hwm_1000_kb=" \$2}' /proc/\$BPID/status >> \$RES
\! echo "backend_pid=\$BPID" >> \$RES
SQL
	# shellcheck disable=SC1090
	source "$RES"
	printf '  backend pid %s\n' "$backend_pid"
	printf '  after   10 calls: VmRSS %8d kB  RssAnon %8d kB  VmHWM %8d kB\n' \
		"$rss_10_kb" "$rss_anon_10_kb" "$hwm_10_kb"
	printf '  after 1000 calls: VmRSS %8d kB  RssAnon %8d kB  VmHWM %8d kB\n' \
		"$rss_1000_kb" "$rss_anon_1000_kb" "$hwm_1000_kb"
	printf '  growth:           VmRSS %8d kB  RssAnon %8d kB\n' \
		"$((rss_1000_kb - rss_10_kb))" "$((rss_anon_1000_kb - rss_anon_10_kb))"

	fi

	# ---- parameter sweep: 100 sma_cross combinations over the same 1M bars ----
	echo
	echo "== sweep: sma_cross fast 5..50 step 5 x slow 20..200 step 20 (100 combinations, 90 kept), $REPS rounds"
	GRID='{"fast": {"from": 5, "to": 50, "step": 5}, "slow": {"from": 20, "to": 200, "step": 20}}'
	"${PSQL[@]}" -F ' ' -At > "$WORK/sweeps" <<SQL
SET client_min_messages = warning;
SELECT name, round(median_ms::numeric, 2), round(min_ms::numeric, 2),
	   round(max_ms::numeric, 2), runs
FROM bench_rr(
	ARRAY['sweep_run', 'sweep_w1', 'sweep_w2'],
	ARRAY[\$q\$SELECT * FROM backtest_run('t', 'BENCH', 'sma_cross')\$q\$,
		  \$q\$SELECT count(*) FROM backtest_sweep('t', 'BENCH', 'sma_cross',
		       (SELECT '$GRID'::jsonb FROM (SELECT set_config('pg_backtest.sweep_workers', '1', false)) c))\$q\$,
		  \$q\$SELECT count(*) FROM backtest_sweep('t', 'BENCH', 'sma_cross',
		       (SELECT '$GRID'::jsonb FROM (SELECT set_config('pg_backtest.sweep_workers', '2', false)) c))\$q\$],
	ARRAY['0', '0', '0'], $REPS, 1);
SELECT pg_backend_pid() AS bpid \gset
\setenv BPID :bpid
\setenv RES $RES
\! awk '/^VmHWM:/ {print "sweep_backend_hwm_kb=" \$2}' /proc/\$BPID/status >> \$RES
SQL
	while read -r name med min max runs; do
		printf '  %-20s median %9.2f   min %9.2f   max %9.2f   [%s]\n' \
			"$name" "$med" "$min" "$max" "$runs"
		echo "${name}_ms=$med" >> "$RES"
	done < "$WORK/sweeps"
	# shellcheck disable=SC1090
	source "$RES"
	printf '  sweep (2 workers) / backtest_run = %sx (target <= 2x)   1 worker: %sx   speed-up 1 -> 2 workers = %sx\n' \
		"$(echo "scale=2; $sweep_w2_ms / $sweep_run_ms" | bc)" "$(echo "scale=2; $sweep_w1_ms / $sweep_run_ms" | bc)" \
		"$(echo "scale=2; $sweep_w1_ms / $sweep_w2_ms" | bc)"
	printf '  backend peak RSS (VmHWM) after the sweeps: %s kB; bars: about %s MB (copied by each worker from the backend when they fit in sweep_cache_size, else in the shared segment)\n' \
		"$sweep_backend_hwm_kb" "$(echo "scale=1; $NBARS * 5 * 8 / 1048576" | bc)"

	if ! skipped aggregate; then
	# ---- the aggregate over a universe: 2 symbols x 1M bars, GROUP BY symbol ----
	echo
	echo "== aggregate: backtest(...) GROUP BY symbol over 2 x $NBARS bars, no ORDER BY, $REPS rounds"
	"${PSQL[@]}" <<SQL
CREATE TABLE t2 AS
SELECT symbol, ts, open, high, low, close, volume FROM t WHERE symbol = 'BENCH'
UNION ALL
SELECT 'BENCH2', ts, open, high, low, close, volume FROM t WHERE symbol = 'BENCH';
VACUUM ANALYZE t2;
SQL
	"${PSQL[@]}" -F ' ' -At > "$WORK/aggs" <<SQL
SET client_min_messages = warning;
SELECT name, round(median_ms::numeric, 2), round(min_ms::numeric, 2),
	   round(max_ms::numeric, 2), runs
FROM bench_rr(
	ARRAY['agg_six_sums', 'agg_backtest', 'agg_backtest_orderby', 'agg_six_sums_serial',
		  'agg_backtest_serial'],
	ARRAY[\$q\$SELECT symbol, count(*), sum(open), sum(high), sum(low), sum(close), sum(volume)
		       FROM t2 GROUP BY symbol\$q\$,
		  \$q\$SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).trades_count
		       FROM t2 GROUP BY symbol\$q\$,
		  \$q\$SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}' ORDER BY ts)).trades_count
		       FROM t2 GROUP BY symbol\$q\$,
		  \$q\$SELECT symbol, count(*), sum(open), sum(high), sum(low), sum(close), sum(volume)
		       FROM t2 GROUP BY symbol\$q\$,
		  \$q\$SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).trades_count
		       FROM t2 GROUP BY symbol\$q\$],
	ARRAY[current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather'), '0', '0'],
	$REPS, 1);
SQL
	while read -r name med min max runs; do
		printf '  %-20s median %9.2f   min %9.2f   max %9.2f   [%s]\n' \
			"$name" "$med" "$min" "$max" "$runs"
		echo "${name}_ms=$med" >> "$RES"
	done < "$WORK/aggs"
	# shellcheck disable=SC1090
	source "$RES"
	printf '  aggregate (no ORDER BY) / six sums = %sx (target <= 1.3x); with ORDER BY ts: %sx\n' \
		"$(echo "scale=2; $agg_backtest_ms / $agg_six_sums_ms" | bc)" \
		"$(echo "scale=2; $agg_backtest_orderby_ms / $agg_six_sums_ms" | bc)"
	printf '  both serial (max_parallel_workers_per_gather = 0): %sx\n' \
		"$(echo "scale=2; $agg_backtest_serial_ms / $agg_six_sums_serial_ms" | bc)"
	"${PSQL[@]}" -At -c "EXPLAIN (COSTS OFF) SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}') FROM t2 GROUP BY symbol" | sed 's/^/  plan: /'

	fi

	# ---- every symbol at once: backtest_run_all against GROUP BY ------------
	if ((ALL_BARS > 0)); then
		echo
		echo "== every symbol: backtest_run_all over $ALL_SYMS symbols x $ALL_BARS bars, $ALL_REPS rounds"
		t0=$(date +%s.%N)
		"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
-- one row per symbol and minute, written minute by minute (an append-only
-- feed); prices: two sines in the exponent, 4 decimals
CREATE UNLOGGED TABLE tm AS
SELECT 'S' || lpad(s::text, 4, '0') AS symbol,
	   timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute' AS ts,
	   o AS open, greatest(o, c) * 1.0005 AS high, least(o, c) * 0.9995 AS low, c AS close,
	   (1000 + (i * 7 + s) % 9000)::float8 AS volume
FROM generate_series(1, $ALL_BARS) i, generate_series(1, $ALL_SYMS) s,
	 LATERAL (SELECT round((100 + s % 50) * exp(0.03 * sin((i - 1) / (40.0 + s % 17)) + 0.01 * sin((i - 1) / 7.3 + s)) * 10000) / 10000 AS o,
					 round((100 + s % 50) * exp(0.03 * sin(i / (40.0 + s % 17)) + 0.01 * sin(i / 7.3 + s)) * 10000) / 10000 AS c) p;
VACUUM ANALYZE tm;
SQL
		printf '  data: %s rows generated in %.1f s, table %s\n' "$((ALL_SYMS * ALL_BARS))" \
			"$(echo "$(date +%s.%N) - $t0" | bc)" \
			"$("${PSQL[@]}" -At -c "SELECT pg_size_pretty(pg_relation_size('tm'))")"
		GB6="SELECT symbol, count(*), sum(open), sum(high), sum(low), sum(close), sum(volume) FROM tm GROUP BY symbol"
		# the aggregate's column is summed: an unused column of a subquery is
		# not computed at all
		AGG="SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).trades_count FROM tm GROUP BY symbol"
		"${PSQL[@]}" -F ' ' -At > "$WORK/runall" <<SQL
SET client_min_messages = warning;
SELECT name, round(median_ms::numeric, 2), round(min_ms::numeric, 2),
	   round(max_ms::numeric, 2), runs
FROM bench_rr(
	ARRAY['groupby6', 'groupby6_serial', 'run_all', 'agg_all', 'agg_all_serial'],
	ARRAY[\$q\$SELECT count(*) FROM ($GB6) g\$q\$,
		  \$q\$SELECT count(*) FROM ($GB6) g\$q\$,
		  \$q\$SELECT count(*) FROM backtest_run_all('tm', 'sma_cross')\$q\$,
		  \$q\$SELECT sum(trades_count) FROM ($AGG) g\$q\$,
		  \$q\$SELECT sum(trades_count) FROM ($AGG) g\$q\$],
	ARRAY[current_setting('max_parallel_workers_per_gather'), '0',
		  current_setting('max_parallel_workers_per_gather'),
		  current_setting('max_parallel_workers_per_gather'), '0'],
	$ALL_REPS, 1);
SQL
		while read -r name med min max runs; do
			printf '  %-20s median %9.2f   min %9.2f   max %9.2f   [%s]\n' \
				"$name" "$med" "$min" "$max" "$runs"
			echo "${name}_ms=$med" >> "$RES"
		done < "$WORK/runall"
		"${PSQL[@]}" -c "DROP TABLE tm"
		# shellcheck disable=SC1090
		source "$RES"
		printf '  run_all / groupby6 = %sx (target <= 1.2x); / groupby6_serial = %sx\n' \
			"$(echo "scale=2; $run_all_ms / $groupby6_ms" | bc)" \
			"$(echo "scale=2; $run_all_ms / $groupby6_serial_ms" | bc)"
		printf '  aggregate / groupby6 = %sx (target <= 1.3x); both serial: %sx\n' \
			"$(echo "scale=2; $agg_all_ms / $groupby6_ms" | bc)" \
			"$(echo "scale=2; $agg_all_serial_ms / $groupby6_serial_ms" | bc)"
		cat <<'EOF'
  groupby6        = SELECT symbol, count(*), sum(open), sum(high), sum(low), sum(close), sum(volume)
                    FROM tm GROUP BY symbol (server defaults: a parallel plan is allowed)
  groupby6_serial = the same with max_parallel_workers_per_gather = 0
  run_all         = backtest_run_all('tm', 'sma_cross'), pg_backtest.sweep_workers at its default
  agg_all         = SELECT sum(trades_count) FROM (SELECT symbol, (backtest(ts, open, high, low,
                    close, volume, 'sma_cross', '{}')).trades_count FROM tm GROUP BY symbol) g
                    (the planner's choice; agg_all_serial: max_parallel_workers_per_gather = 0)
EOF
	fi


	# ---- portfolio: backtest_portfolio against the serial six-sums scan -----
	# two shapes: $PF_SYMS x $PF_BARS daily bars, $PF_MSYMS x $PF_MBARS minute bars
	for shape in daily minute; do
		if [[ $shape == daily ]]; then
			syms=$PF_SYMS bars=$PF_BARS step='1 day' amp=0.2 top=10 rebal=weekly
		else
			syms=$PF_MSYMS bars=$PF_MBARS step='1 minute' amp=0.03 top=5 rebal=daily
		fi
		((bars > 0)) || continue
		echo
		echo "== portfolio ($shape): backtest_portfolio over $syms symbols x $bars bars, $REPS rounds"
		"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
CREATE UNLOGGED TABLE tp AS
SELECT 'P' || lpad(s::text, 3, '0') AS symbol,
	   timestamptz '2010-01-01 00:00:00+00' + i * interval '$step' AS ts,
	   o AS open, greatest(o, c) * 1.005 AS high, least(o, c) * 0.995 AS low, c AS close,
	   (1000 + (i * 7 + s) % 9000)::float8 AS volume
FROM generate_series(1, $bars) i, generate_series(1, $syms) s,
	 LATERAL (SELECT round((100 + s % 50) * exp($amp * sin((i - 1) / (40.0 + s % 17)) + $amp / 4 * sin((i - 1) / 7.3 + s)) * 10000) / 10000 AS o,
					 round((100 + s % 50) * exp($amp * sin(i / (40.0 + s % 17)) + $amp / 4 * sin(i / 7.3 + s)) * 10000) / 10000 AS c) p;
VACUUM ANALYZE tp;
SQL
		GBP="SELECT symbol, count(*), sum(open), sum(high), sum(low), sum(close), sum(volume) FROM tp GROUP BY symbol"
		"${PSQL[@]}" -F ' ' -At > "$WORK/portfolio" <<SQL
SET client_min_messages = warning;
SELECT name, round(median_ms::numeric, 2), round(min_ms::numeric, 2),
	   round(max_ms::numeric, 2), runs
FROM bench_rr(
	ARRAY['pf_${shape}_groupby6_serial', 'pf_${shape}_sma_cross', 'pf_${shape}_rotation', 'pf_${shape}_sma_stops'],
	ARRAY[\$q\$SELECT count(*) FROM ($GBP) g\$q\$,
		  \$q\$SELECT trades_count FROM backtest_portfolio('tp', 'sma_cross', '{"max_positions": $top}')\$q\$,
		  \$q\$SELECT trades_count FROM backtest_portfolio('tp', 'rotation', '{"top": $top, "rebalance": "$rebal"}')\$q\$,
		  \$q\$SELECT trades_count FROM backtest_portfolio('tp', 'sma_cross', '{"max_positions": $top, "stop_loss": 0.02, "trailing_stop": 0.03}')\$q\$],
	ARRAY['0', '0', '0', '0'], $REPS, 1);
SQL
		while read -r name med min max runs; do
			printf '  %-28s median %9.2f   min %9.2f   max %9.2f   [%s]\n' \
				"$name" "$med" "$min" "$max" "$runs"
			echo "${name}_ms=$med" >> "$RES"
		done < "$WORK/portfolio"
		"${PSQL[@]}" -c "DROP TABLE tp"
		# shellcheck disable=SC1090
		source "$RES"
		base="pf_${shape}_groupby6_serial_ms" sma="pf_${shape}_sma_cross_ms" rot="pf_${shape}_rotation_ms"
		stops="pf_${shape}_sma_stops_ms"
		printf '  sma_cross (max_positions %s) / groupby6_serial = %sx, rotation (top %s, %s) / groupby6_serial = %sx (target <= 2.0x)\n' \
			"$top" "$(echo "scale=2; ${!sma} / ${!base}" | bc)" \
			"$top" "$rebal" "$(echo "scale=2; ${!rot} / ${!base}" | bc)"
		printf '  sma_cross with stop_loss 2%% and trailing_stop 3%% / groupby6_serial = %sx\n' \
			"$(echo "scale=2; ${!stops} / ${!base}" | bc)"
	done

	if ! skipped live; then
	# ---- live streams: COPY and single-row INSERT with a stream ------------
	# a 10,000-row COPY into a table with one live stream (three indicators)
	# against the same COPY into the same table without a stream, $REPS
	# rounds (each on fresh tables whose stream starts from one bar); then
	# single-row INSERTs, one transaction each (pgbench, prepared,
	# synchronous_commit off so the WAL flush does not hide the difference)
	echo
	echo "== live streams: 10,000-row COPY with one stream and 3 indicators / without, $REPS rounds"
	"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
	EXECUTE format('COPY (SELECT * FROM t WHERE symbol = %L ORDER BY ts LIMIT 10000) TO %L (FORMAT csv)',
				   'BENCH', current_setting('data_directory') || '/pg_backtest_bench_live.csv');
END \$\$;
CREATE FUNCTION bench_live(reps int)
RETURNS TABLE (plain_ms float8, live_ms float8)
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz;
	a float8[] := '{}';
	b float8[] := '{}';
	id bigint;
	csv text := current_setting('data_directory') || '/pg_backtest_bench_live.csv';
BEGIN
	FOR r IN 0..reps LOOP	-- round 0 warms up
		DROP TABLE IF EXISTS lv_plain, lv_live;
		CREATE TABLE lv_plain (LIKE t);
		ALTER TABLE lv_plain ADD PRIMARY KEY (symbol, ts);
		CREATE TABLE lv_live (LIKE lv_plain INCLUDING ALL);
		INSERT INTO lv_live SELECT symbol, ts - interval '1 minute', open, high, low, close, volume
		FROM t WHERE symbol = 'BENCH' ORDER BY ts LIMIT 1;
		id := backtest_live_start('lv_live', 'BENCH', NULL, '{}',
			'[{"name": "ema", "period": 20}, {"name": "rsi"}, {"name": "bbands"}]');
		t0 := clock_timestamp();
		EXECUTE format('COPY lv_plain FROM %L (FORMAT csv)', csv);
		IF r > 0 THEN a := a || 1000 * extract(epoch FROM clock_timestamp() - t0); END IF;
		t0 := clock_timestamp();
		EXECUTE format('COPY lv_live FROM %L (FORMAT csv)', csv);
		IF r > 0 THEN b := b || 1000 * extract(epoch FROM clock_timestamp() - t0); END IF;
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO plain_ms FROM unnest(a) x;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO live_ms FROM unnest(b) x;
	RETURN NEXT;
END
\$\$;
SQL
	read -r live_plain_ms live_copy_ms < <("${PSQL[@]}" -F ' ' -At -c \
		"SELECT round(plain_ms::numeric, 2), round(live_ms::numeric, 2) FROM bench_live($REPS)")
	printf '  COPY 10,000 rows: no stream %s ms, one stream %s ms = %sx (target <= 1.3x)\n' \
		"$live_plain_ms" "$live_copy_ms" "$(echo "scale=2; $live_copy_ms / $live_plain_ms" | bc)"
	echo "live_plain_ms=$live_plain_ms" >> "$RES"
	echo "live_copy_ms=$live_copy_ms" >> "$RES"
	# single-row INSERTs after the COPY: lv_plain has no stream, lv_live its one
	PGBENCH=$(dirname "$(command -v psql)")/pgbench
	[[ -x $PGBENCH ]] || PGBENCH=$(pg_config --bindir)/pgbench
	if [[ ! -x $PGBENCH ]]; then
		echo "  single-row INSERT: skipped (no pgbench)"
		"${PSQL[@]}" -c "DROP TABLE lv_plain, lv_live; DROP FUNCTION bench_live(int)"
	else
	"${PSQL[@]}" -c "CREATE SEQUENCE lv_seq"
	for tbl in lv_plain lv_live; do
		echo "INSERT INTO $tbl VALUES ('BENCH', timestamptz '2030-01-01 00:00+00' + nextval('lv_seq') * interval '1 minute', 100, 100.5, 99.5, 100 + random(), 1000);" \
			> "$WORK/ins_$tbl.sql"
	done
	ins_plain=() ins_live=()
	for r in $(seq 1 "$REPS"); do
		for tbl in lv_plain lv_live; do
			lat=$(PGOPTIONS='-c synchronous_commit=off' "$PGBENCH" -n -M prepared -t 2000 \
				-f "$WORK/ins_$tbl.sql" 2>/dev/null | awk '/latency average/ { print $4 * 1000 }')
			if [[ $tbl == lv_plain ]]; then ins_plain+=("$lat"); else ins_live+=("$lat"); fi
		done
	done
	med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	live_ins_plain_us=$(med "${ins_plain[@]}")
	live_ins_us=$(med "${ins_live[@]}")
	printf '  single-row INSERT (own transaction): no stream %s us, one stream %s us: +%s us a row (target <= 100 us)\n' \
		"$live_ins_plain_us" "$live_ins_us" "$(echo "$live_ins_us - $live_ins_plain_us" | bc)"
	echo "live_ins_plain_us=$live_ins_plain_us" >> "$RES"
	echo "live_ins_us=$live_ins_us" >> "$RES"
	"${PSQL[@]}" -c "DROP TABLE lv_plain, lv_live; DROP SEQUENCE lv_seq; DROP FUNCTION bench_live(int)"
	fi

	fi

	# ---- a BI tool downsampling a stored curve (optional) ------------------
	# one task over $BENCH_EQUITY_BARS minute bars, then its daily downsample
	# by the GROUP BY over backtest.equity and by backtest_equity_downsample,
	# interleaved, after a check that both give the same rows
	if [[ $EQ_BARS -gt 0 ]]; then
		echo
		echo "== a stored $EQ_BARS-bar curve by day: backtest.equity GROUP BY / backtest_equity_downsample, $REPS rounds"
		"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE TABLE eqb AS
SELECT timestamptz '2000-01-01 00:00+00' + i * interval '1 minute' AS ts,
	   c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 40.0) + 4 * sin(i / 9.0) + 2 * sin(i / 2.9) AS c
	  FROM generate_series(1, $EQ_BARS) i) s;
SELECT backtest_submit('eqb', NULL, 'sma_cross', '{"allow_short": true}') AS eq_task \gset
DO \$\$
BEGIN
	FOR i IN 1 .. 3000 LOOP
		EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
		PERFORM pg_sleep(0.1);
	END LOOP;
END
\$\$;
SELECT CASE WHEN status = 'completed' THEN 'task ' || id || ' completed' ELSE 'task ' || id || ' ' || status || ': the figures below mean nothing' END
FROM backtest.tasks WHERE id = :eq_task;
SELECT count(*) AS differing_days FROM (
	(SELECT date_trunc('day', ts) AS day, avg(equity) AS equity_avg, min(drawdown_pct) AS dd
	 FROM backtest.equity WHERE task_id = :eq_task GROUP BY 1
	 EXCEPT ALL
	 SELECT ts, equity_avg, drawdown_pct FROM backtest_equity_downsample(:eq_task))
	UNION ALL
	(SELECT ts, equity_avg, drawdown_pct FROM backtest_equity_downsample(:eq_task)
	 EXCEPT ALL
	 SELECT date_trunc('day', ts), avg(equity), min(drawdown_pct)
	 FROM backtest.equity WHERE task_id = :eq_task GROUP BY 1)) d;
SELECT name, round(median_ms::numeric, 1) AS median_ms, round(min_ms::numeric, 1) AS min_ms,
	   round(max_ms::numeric, 1) AS max_ms, runs
FROM bench_rr(
	ARRAY['view GROUP BY day', 'backtest_equity_downsample'],
	ARRAY[format('SELECT count(*) FROM (SELECT date_trunc(%L, ts), avg(equity), min(drawdown_pct) FROM backtest.equity WHERE task_id = %s GROUP BY 1) x', 'day', :eq_task),
		  format('SELECT count(*) FROM backtest_equity_downsample(%s)', :eq_task)],
	ARRAY['0', '0'], $REPS, 1);
SELECT backtest_delete(:eq_task);
DROP TABLE eqb;
SQL
	fi

	exit 0
fi

# ---------------------------------------------------------------------------
# Outer part: build, install if needed, engine benchmark, server benchmark
# ---------------------------------------------------------------------------
if [[ $(id -u) -ne 0 ]]; then
	echo "bench.sh: run as root (it installs the extension and reads /proc/<pid>/status)" >&2
	exit 1
fi
PG_CONFIG=${PG_CONFIG:-}
if [[ -n $PG_CONFIG ]]; then
	BINDIR=$("$PG_CONFIG" --bindir)
	export PATH=$BINDIR:$PATH
	cmds=(psql bc awk runuser)
else
	PG_CONFIG=pg_config
	cmds=(pg_config pg_virtualenv psql bc awk)
fi
for cmd in "${cmds[@]}"; do
	command -v "$cmd" > /dev/null || { echo "bench.sh: $cmd not found" >&2; exit 1; }
done
PGMAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')

start=$(date +%s)
make -s PG_CONFIG="$PG_CONFIG" > /dev/null
make -s PG_CONFIG="$PG_CONFIG" test/bench/bench_engine > /dev/null

# install if the installed module, control file or script differ from the build
PKGLIB=$("$PG_CONFIG" --pkglibdir)
SHARE=$("$PG_CONFIG" --sharedir)/extension
need_install=0
cmp -s pg_backtest.so "$PKGLIB/pg_backtest.so" || need_install=1
cmp -s pg_backtest.control "$SHARE/pg_backtest.control" || need_install=1
for f in sql/install/pg_backtest--*.sql; do
	cmp -s "$f" "$SHARE/$(basename "$f")" || need_install=1
done
if ((need_install)); then
	echo "installing the extension (make install)"
	make -s PG_CONFIG="$PG_CONFIG" install > /dev/null
fi

WORK=$(mktemp -d -t pg_backtest_bench.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
RES=$WORK/results
: > "$RES"

engine_warm=""
if ! skipped engine; then
	echo "== engine alone (test/bench/bench_engine $REPS $BIG_N)"
	test/bench/bench_engine "$REPS" "$BIG_N" | tee "$WORK/engine"
	sed -n 's/^ENGINE_BARS_PER_S=/engine_bars_per_s=/p' "$WORK/engine" >> "$RES"
	awk '/sma_cross bt_run(_metrics)?, reused arena/ && /n=1000000 / {print "engine_reused_mbars=" $(NF-2)}' \
		"$WORK/engine" >> "$RES"
	engine_warm=$(awk '/ bt_run(_metrics)?, reused arena/ && /n=1000000 / && !seen[$1]++ {printf " %s %s", $1, $(NF-2)}' "$WORK/engine")
	echo
fi

SERVER_OPTS=(shared_preload_libraries=pg_backtest shared_buffers=512MB max_worker_processes=16)
PORT=${BENCH_PORT:-$((20000 + RANDOM % 20000))}
if [[ $PG_CONFIG == pg_config ]]; then
	# -t: a temporary cluster even as root (does not clash with a "regress"
	# cluster someone else's pg_virtualenv may have); shared_buffers large
	# enough for the table and its index, so that warm runs read no file.
	pg_virtualenv -v "$PGMAJOR" -t -c "-p $PORT" "${SERVER_OPTS[@]/#/-o}" "$0" --inner "$WORK"
else
	# a temporary instance of $PG_CONFIG's installation, as the postgres OS
	# user, reached through a socket in its own directory
	PGDIR=$(mktemp -d -t pg_backtest_bench_pg.XXXXXX)
	chown postgres "$PGDIR"
	trap 'runuser -u postgres -- pg_ctl -D "$PGDIR/data" -m immediate -w stop > /dev/null 2>&1 || true; rm -rf "$WORK" "$PGDIR"' EXIT
	runuser -u postgres -- initdb -D "$PGDIR/data" -A trust -U postgres > /dev/null
	{
		printf '%s\n' "${SERVER_OPTS[@]}"
		printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n" "$PORT" "$PGDIR"
	} >> "$PGDIR/data/postgresql.conf"
	runuser -u postgres -- pg_ctl -D "$PGDIR/data" -l "$PGDIR/log" -w start > /dev/null
	PGHOST=$PGDIR PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres "$0" --inner "$WORK"
	runuser -u postgres -- pg_ctl -D "$PGDIR/data" -m fast -w stop > /dev/null
fi

# shellcheck disable=SC1090
source "$RES"
ratio=$(echo "scale=2; $backtest_run_ms / $floor_ms" | bc)
ratio_serial=$(echo "scale=2; $backtest_run_ms / $floor_serial_ms" | bc)
growth=$((${rss_1000_kb:-0} - ${rss_10_kb:-0}))

echo
echo "== summary (medians; targets: ratio <= 1.5x, engine >= 200M bars/s on warm buffers, rss growth <= 1024 kB)"
printf '  floor_ms=%s  backtest_run_ms=%s  ratio=%sx  engine_bars_per_s=%s  rss_10_kb=%s  rss_1000_kb=%s  rss_growth_kb=%s\n' \
	"$floor_ms" "$backtest_run_ms" "$ratio" "${engine_bars_per_s:-}" "${rss_10_kb:-}" "${rss_1000_kb:-}" "$growth"
printf '  floor_serial_ms=%s  ratio_serial=%sx  (floor without parallel workers, like backtest_run'"'"'s read)\n' \
	"$floor_serial_ms" "$ratio_serial"
printf '  (engine_bars_per_s: fresh arena per run, page faults included; reused arena: %s M bars/s)\n' \
	"${engine_reused_mbars:-}"
printf '  sweep (100 combos, 90 run) / backtest_run (%s ms): 2 workers %s ms = %sx (target <= 2x); 1 worker %s ms = %sx\n' \
	"$sweep_run_ms" "$sweep_w2_ms" "$(echo "scale=2; $sweep_w2_ms / $sweep_run_ms" | bc)" \
	"$sweep_w1_ms" "$(echo "scale=2; $sweep_w1_ms / $sweep_run_ms" | bc)"
printf '  engine, warm buffers (reused arena), M bars/s:%s\n' "$engine_warm"
if [[ -n "${run_all_ms:-}" ]]; then
	printf '  backtest_run_all (%s symbols x %s bars): %s ms = %sx the six-sums GROUP BY (%s ms; target <= 1.2x)\n' \
		"$ALL_SYMS" "$ALL_BARS" "$run_all_ms" "$(echo "scale=2; $run_all_ms / $groupby6_ms" | bc)" "$groupby6_ms"
	printf '    serial: %sx the serial six-sums GROUP BY (%s ms)\n' \
		"$(echo "scale=2; $run_all_ms / $groupby6_serial_ms" | bc)" "$groupby6_serial_ms"
	printf '  aggregate over %s symbols x %s bars, no ORDER BY: %s ms = %sx the six-sums GROUP BY (target <= 1.3x); serial %s ms = %sx\n' \
		"$ALL_SYMS" "$ALL_BARS" "$agg_all_ms" "$(echo "scale=2; $agg_all_ms / $groupby6_ms" | bc)" \
		"$agg_all_serial_ms" "$(echo "scale=2; $agg_all_serial_ms / $groupby6_serial_ms" | bc)"
fi
if [[ -n "${agg_backtest_ms:-}" ]]; then
	printf '  aggregate over 2 x 1M bars, no ORDER BY: %s ms = %sx the six-sums GROUP BY (%s ms); with ORDER BY ts %s ms; serial %sx\n' \
		"$agg_backtest_ms" "$(echo "scale=2; $agg_backtest_ms / $agg_six_sums_ms" | bc)" "$agg_six_sums_ms" \
		"$agg_backtest_orderby_ms" "$(echo "scale=2; $agg_backtest_serial_ms / $agg_six_sums_serial_ms" | bc)"
fi
if [[ -n "${live_copy_ms:-}" && -n "${live_ins_us:-}" ]]; then
	printf '  live stream: 10,000-row COPY %s ms / %s ms without = %sx (target <= 1.3x); single-row INSERT +%s us (%s vs %s us; target <= 100 us)\n' \
		"$live_copy_ms" "$live_plain_ms" "$(echo "scale=2; $live_copy_ms / $live_plain_ms" | bc)" \
		"$(echo "$live_ins_us - $live_ins_plain_us" | bc)" "$live_ins_us" "$live_ins_plain_us"
fi
echo "  total time: $(($(date +%s) - start)) s"
