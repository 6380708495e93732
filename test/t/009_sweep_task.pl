# Sweeps through the task queue: backtest_submit_sweep validates, queues and
# returns; the worker stores exactly the rows backtest_sweep returns (ranked
# in its order), reports progress as combinations done / total, completes
# with the best row's summary, and can be cancelled mid-sweep.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'sweep_task', conf => q{
# the summary and progress messages below are in the events only with
# full payloads (test/t/002_notify.pl tests the default, private events)
pg_backtest.full_payloads = on
});

$node->safe_psql(
	'postgres', q{
CREATE TABLE k (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8,
                low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO k
SELECT 'A', timestamptz '2020-01-01 00:00+00' + i * interval '1 hour', c, c * 1.002, c * 0.998, c, 1
FROM (SELECT i, 100 * exp(0.05 * sin(i / 40.0) + 0.03 * sin(i / 7.0) + i * 1e-6) AS c
      FROM generate_series(0, 19999) i) s;
});

my $grid = q{'{"fast": {"from": 2, "to": 20, "step": 2}, "slow": {"from": 10, "to": 100, "step": 10}, "constraint": "fast < slow"}'};

# the progress events of the task, collected by a listening session
my $listen = $node->progress_listener;

my $id = $node->safe_psql('postgres',
	"SELECT backtest_submit_sweep('k', 'A', 'sma_cross', $grid, '{\"fractional\": true}')");
ok($id =~ /^\d+$/, 'backtest_submit_sweep returns a task id');
is($node->safe_psql('postgres', "SELECT kind FROM backtest.tasks WHERE id = $id"),
	'sweep', 'the task is a sweep');

is($node->wait_task($id), 'completed', 'the sweep task completed');

my $sync = "SELECT * FROM backtest_sweep('k', 'A', 'sma_cross', $grid, '{\"fractional\": true}')";
is( $node->safe_psql(
		'postgres', qq{
SELECT (SELECT count(*) FROM (SELECT combo_no, params, p1, p2, equity_final, sharpe_ratio, trades_count
                              FROM backtest.sweep_results WHERE task_id = $id
                              EXCEPT SELECT combo_no, params, p1, p2, equity_final, sharpe_ratio, trades_count FROM ($sync) s) a)
     + (SELECT count(*) FROM (SELECT combo_no, params, p1, p2, equity_final, sharpe_ratio, trades_count FROM ($sync) s
                              EXCEPT SELECT combo_no, params, p1, p2, equity_final, sharpe_ratio, trades_count
                              FROM backtest.sweep_results WHERE task_id = $id) b)}),
	'0', 'the stored rows are exactly backtest_sweep\'s rows');
is( $node->safe_psql(
		'postgres', qq{
SELECT bool_and(r.combo_no = s.combo_no)
FROM (SELECT rank, combo_no FROM backtest.sweep_results WHERE task_id = $id) r
JOIN (SELECT row_number() OVER () AS rank, combo_no FROM ($sync) s) s USING (rank)}),
	't', 'rank follows backtest_sweep\'s order');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $id"),
	'93', 'one row per kept combination (100 minus 7 failing fast < slow)');

# events: running progress as combinations done / total, non-decreasing, then completed with the best row
$listen->collect();
my @events = map { $_->{p} } $listen->events($id);
ok(scalar(@events) >= 3, 'several events for the sweep (' . scalar(@events) . ')');
is($events[-1]{status}, 'completed', 'the last event is completed');
is($events[-1]{combinations}, 93, 'it says how many combinations ran');
my $best = $node->safe_psql('postgres',
	"SELECT trades_count FROM backtest.sweep_results WHERE task_id = $id AND rank = 1");
is($events[-1]{trades_count}, $best, 'its summary is the best row\'s');
my $monotonic = 1;
for my $i (1 .. $#events)
{
	$monotonic = 0 if $events[$i]{progress} < $events[ $i - 1 ]{progress};
}
ok($monotonic, 'progress never goes backwards');
ok((grep { ($_->{message} // '') =~ /^\d+ of 93 combinations$/ } @events) > 0,
	'progress messages count combinations');
$listen->quit;

# a big sweep, cancelled while it runs: cancelled, no rows
my $big = $node->safe_psql('postgres',
	q{SELECT backtest_submit_sweep('k', 'A', 'kdj', '{"period": {"from": 3, "to": 60, "step": 1}, "k_smooth": {"from": 2, "to": 20, "step": 1}, "d_smooth": [2, 3, 4, 5]}')});
$node->poll_query_until('postgres',
	"SELECT status = 'running' AND progress > 30 FROM backtest.tasks WHERE id = $big")
  or die 'the big sweep did not start';
is($node->safe_psql('postgres', "SELECT backtest_cancel($big)"), 't', 'cancel returns true');
$node->poll_query_until('postgres',
	"SELECT status <> 'running' FROM backtest.tasks WHERE id = $big")
  or die 'the cancelled sweep kept running';
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $big"),
	'cancelled', 'the sweep ends cancelled');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $big"),
	'0', 'a cancelled sweep stores no rows');

# validation before queueing
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT backtest_submit_sweep('k', 'A', 'sma_cross', '{"fats": [1, 2]}')});
like($err, qr/unknown parameter "fats"/, 'a bad grid is rejected at submit');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'), '2', 'and nothing is queued');

$node->stop;
done_testing();
