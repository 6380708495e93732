# A queued task computes what backtest_run computes in the submitting
# session: it runs under the submitter's search_path, TimeZone and DateStyle
# (0.3.0 ran it under the worker's defaults: "relation kl does not exist",
# another table, or start_ts hours away), and a sweep runs under the
# max_combinations its submit was checked with.  max_combinations and
# sweep_cache_size are superuser-only.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'context', conf => q{
pg_backtest.max_concurrent = 2
pg_backtest.max_combinations = 4
});

# data.kl: timestamp (without time zone) bars; public.kl: other prices, so
# reading the wrong one shows
$node->safe_psql(
	'postgres', q{
CREATE ROLE trader LOGIN;
CREATE SCHEMA data;
GRANT USAGE ON SCHEMA data TO trader;
CREATE TABLE data.kl AS
SELECT 'A'::text AS symbol, timestamp '2020-01-01 00:00' + i * interval '1 hour' AS ts,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 15.0) + i * 0.01 AS c FROM generate_series(0, 799) i) s;
CREATE TABLE public.kl AS
SELECT symbol, ts, open * 2 AS open, high * 2 AS high, low * 2 AS low, close * 2 + sin(extract(epoch FROM ts) / 7000) AS close, volume
FROM data.kl;
GRANT SELECT ON data.kl, public.kl TO trader;
});

my $session = q{SET search_path = data, public; SET TimeZone = 'Asia/Hong_Kong'; SET DateStyle = 'SQL, DMY';};
my $cols = 'start_ts, end_ts, bars, trades_count, round(return_pct::numeric, 8)';

# in one session: backtest_run, then the same submitted (query and table sources)
my $out = $node->safe_psql_as(
	'trader', qq{
$session
SELECT $cols FROM public.backtest_run_query('SELECT * FROM kl WHERE ts >= ''02/01/2020'' ORDER BY ts', 'sma_cross');
SELECT $cols FROM public.backtest_run('kl', 'A', 'sma_cross', '{}', '2020-01-03 00:00', '2020-01-30 00:00');
SELECT public.backtest_submit_query('SELECT * FROM kl WHERE ts >= ''02/01/2020'' ORDER BY ts', 'sma_cross');
SELECT public.backtest_submit('kl', 'A', 'sma_cross', '{}', '2020-01-03 00:00', '2020-01-30 00:00');
});
my ($run_q, $run_t, $qid, $tid) = split /\n/, $out;
is($node->wait_task($qid), 'completed', 'the query-source task completes (kl is data.kl on the submitter\'s search_path)');
is($node->wait_task($tid), 'completed', 'the table-source task completes');

# read the stored results in the same session settings, to compare like with like
my $stored = $node->safe_psql_as(
	'trader', qq{
$session
SELECT $cols FROM backtest.results WHERE task_id = $qid;
SELECT $cols FROM backtest.results WHERE task_id = $tid;
});
my ($got_q, $got_t) = split /\n/, $stored;
is($got_q, $run_q, 'query source: the task stores what backtest_run gives in the session (search_path, TimeZone, DateStyle)');
is($got_t, $run_t, 'table source: the task stores what backtest_run gives in the session (TimeZone)');
# the literal is read as 2 January (DMY); ts is a naive timestamp, which the
# engine reads as UTC wall clock, so it shows as 08:00 in Hong Kong time
like($run_q, qr/^02\/01\/2020 08:00:00 HKT\|/, 'the query read from 2 January (DMY), naive ts read as UTC');
is( $node->safe_psql('postgres',
		"SELECT settings->>'search_path' || ' / ' || (settings->>'TimeZone') || ' / ' || (settings->>'DateStyle') FROM backtest.tasks WHERE id = $qid"),
	'data, public / Asia/Hong_Kong / SQL, DMY',
	'the task row records the settings it ran under');

# --- issue 15: sizing, cost models and entry orders in a queued task --------
# risk sizing on the ATR, leverage with margin calls, shorts paying a borrow
# fee, per-share commission with a minimum and a maximum, a spread, limit
# entries: the task stores what backtest_run gives, trade by trade
my $orders = q{{"sizing": "risk", "risk_fraction": 0.05, "risk_atr": 1.5, "risk_atr_period": 7, "leverage": 3, "maintenance_margin": 0.3, "allow_short": true, "borrow_rate": 0.2, "commission_per_share": 0.01, "commission_min": 1, "commission_max": 3, "spread": 0.2, "spread_unit": "price", "entry": "limit", "entry_offset": 0.002, "valid_bars": 3}};
my $tcols = q{count(*) || ':' || string_agg(exit_reason || '/' || quantity || '/' || round(pnl::numeric, 8) || '/' || round(commission::numeric, 8), ',' ORDER BY trade_no)};
my $sync_o = $node->safe_psql('postgres', qq{
SELECT $cols, round(commissions::numeric, 8) FROM backtest_run('data.kl', 'A', 'sma_cross', '$orders');
SELECT $tcols FROM backtest_trades('data.kl', 'A', 'sma_cross', '$orders');
SELECT backtest_submit('data.kl', 'A', 'sma_cross', '$orders');});
my ($run_o, $trades_o, $oid) = split /\n/, $sync_o;
is($node->wait_task($oid), 'completed', 'a task with the sizing and cost parameters of issue 15 completes');
is($node->safe_psql('postgres', "SELECT $cols, round(commissions::numeric, 8) FROM backtest.results WHERE task_id = $oid"),
	$run_o, 'its results equal backtest_run\'s');
is($node->safe_psql('postgres', "SELECT $tcols FROM backtest.trades WHERE task_id = $oid"),
	$trades_o, 'and so do its trades');
like($trades_o, qr/^[1-9][0-9]*:/, 'the run makes trades');

# pyramiding: rsi repeats its entry signal, so positions hold several legs,
# one trade row each; the task stores the same rows
my $pyr = q{{"size": 0.3, "pyramiding": 3, "commission_per_share": 0.01, "commission_min": 1}};
my $sync_p = $node->safe_psql('postgres', qq{
SELECT $tcols FROM backtest_trades('data.kl', 'A', 'rsi', '$pyr');
SELECT count(*) FILTER (WHERE legs > 1) FROM (SELECT count(*) OVER (PARTITION BY exit_ts) AS legs FROM backtest_trades('data.kl', 'A', 'rsi', '$pyr')) t;
SELECT backtest_submit('data.kl', 'A', 'rsi', '$pyr');});
my ($trades_p, $scaled_p, $pid) = split /\n/, $sync_p;
is($node->wait_task($pid), 'completed', 'a task with pyramiding completes');
is($node->safe_psql('postgres', "SELECT $tcols FROM backtest.trades WHERE task_id = $pid"),
	$trades_p, 'its trade rows (one per entry leg) equal backtest_trades\'');
cmp_ok($scaled_p, '>', 0, 'some positions hold several legs');

# --- defect 6: limits --------------------------------------------------------

my ($rc, $o, $err) = $node->psql_as('trader', 'SET pg_backtest.max_combinations = 10000000');
like($err, qr/permission denied to set parameter "pg_backtest.max_combinations"/,
	'an ordinary role cannot lift max_combinations');
($rc, $o, $err) = $node->psql_as('trader', 'SET pg_backtest.sweep_cache_size = \'10GB\'');
like($err, qr/permission denied to set parameter "pg_backtest.sweep_cache_size"/,
	'an ordinary role cannot change sweep_cache_size');
($rc, $o, $err) = $node->psql_as('trader',
	q{SELECT backtest_submit_sweep('kl', 'A', 'sma_cross', '{"fast": [3, 5, 7], "slow": [20, 30]}')});
like($err, qr/the grid has 6 combinations, more than pg_backtest.max_combinations \(4\)/,
	'the server\'s limit applies at submit');

# a superuser raises it for the session: the worker applies the same value
my $sid = $node->safe_psql('postgres', q{
SET pg_backtest.max_combinations = 6;
SELECT backtest_submit_sweep('kl', 'A', 'sma_cross', '{"fast": [3, 5, 7], "slow": [20, 30]}');});
is($node->wait_task($sid), 'completed', 'a sweep the submit accepted under a raised limit completes in the worker');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $sid"),
	'6', 'with all its rows');

$node->stop;
done_testing();
