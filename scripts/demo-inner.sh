#!/usr/bin/env bash
# The part of the demo that runs inside the throwaway cluster (PG* set by
# pg_virtualenv): synchronous backtests in psql, then a background backtest
# over three million minute bars watched live with the pg_backtest CLI.
set -euo pipefail
export PATH="$(pg_config --bindir):$PATH"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f scripts/demo.sql

echo
echo "== a background backtest: 3,000,000 one-minute bars, watched live by the CLI"
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE TABLE minute_bars AS
SELECT 'BTC-USDT'::text AS symbol, ts, open, greatest(open, close) * 1.0005 AS high,
       least(open, close) * 0.9995 AS low, close, 1.0::float8 AS volume
FROM (SELECT '2020-01-01'::timestamptz + i * interval '1 minute' AS ts,
             30000 * exp(0.0008 * sin(i / 3000.0) + 1e-7 * i + 0.002 * sin(i / 97.0)) AS open,
             30000 * exp(0.0008 * sin((i + 1) / 3000.0) + 1e-7 * (i + 1) + 0.002 * sin((i + 1) / 97.0)) AS close
      FROM generate_series(1, 3000000) i) s;
CREATE INDEX ON minute_bars (symbol, ts);
ANALYZE minute_bars;
SQL
pg_backtest -d postgres submit minute_bars BTC-USDT ema_cross \
  '{"fast": 50, "slow": 200, "fractional": true, "commission": 0.001}' --watch

echo
echo "== the task and its results, as a BI tool reads them"
psql -X -d postgres <<'SQL'
\pset footer off
SELECT id, owner, strategy, status, progress, attempts, elapsed FROM backtest.tasks ORDER BY id;
SELECT task_id, bars, trades_count, round(return_pct::numeric, 2) AS return_pct,
       round(max_drawdown_pct::numeric, 2) AS max_dd_pct, round(sharpe_ratio::numeric, 3) AS sharpe
FROM backtest.results;
SELECT * FROM backtest_stats();
-- pg_cron removes finished tasks older than an hour, every ten minutes
SELECT backtest_schedule_cleanup('*/10 * * * *', '1 hour', 100) AS cron_job_id;
SELECT jobname, schedule, command FROM cron.job;
SQL
