# The worker pool: never more than pg_backtest.max_concurrent tasks at once,
# the cap is reached, tasks start oldest first, every task stores its results,
# and a task that fails (its owner may not read the source) does not stop the
# pool.
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('pool', conf => 'pg_backtest.max_concurrent = 3');
$node->create_klines('postgres', grant => 'PUBLIC');
$node->safe_psql(
	'postgres', q{
-- the same bars, readable only by the superuser
CREATE TABLE secret AS SELECT * FROM k;
REVOKE ALL ON secret FROM PUBLIC;
CREATE ROLE carol LOGIN;
});

is($node->safe_psql('postgres', 'SELECT backtest_running_tasks()'),
	'0', 'no task runs before any is submitted');

# Each task's query sleeps while loading (a materialized CTE runs the sleep
# once), so the runs overlap and the cap is what limits them.
my $sleepy = sleep_query(0.6);
my $first = $node->safe_psql('postgres',
	"SELECT min(backtest_submit_query($sleepy, 'sma_cross')) FROM generate_series(1, 10)");

# carol may log in but not read "secret": her submit is refused, and a task
# she submitted before losing the privilege fails in the worker (grant,
# submit and revoke commit together, so it runs after the revoke)
my ($rc, $o, $e) = $node->psql_as('carol', "SELECT backtest_submit('secret', 'A', 'sma_cross')");
like($e, qr/permission denied for table secret/, "carol's submit on a table she may not read is refused");
my $bad = $node->safe_psql('postgres', q{
BEGIN;
GRANT SELECT ON secret TO carol;
SET ROLE carol;
SELECT backtest_submit('secret', 'A', 'sma_cross');
RESET ROLE;
REVOKE SELECT ON secret FROM carol;
COMMIT;});

$node->safe_psql('postgres',
	"SELECT backtest_submit_query($sleepy, 'sma_cross') FROM generate_series(1, 10)");
is( $node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'),
	'21', '21 tasks queued');

# Sample the pool while it works, until the queue is empty (a quiet
# session: the thousands of samples stay out of the output)
my $session = $node->quiet_session('postgres');
my ($max_rows, $max_slots, $samples) = (0, 0, 0);
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
while (1)
{
	my $out = $session->query_safe(
		q{SELECT count(*) FILTER (WHERE status = 'running') || ',' ||
                 backtest_running_tasks() || ',' ||
                 count(*) FILTER (WHERE status IN ('pending', 'running'))
          FROM backtest.tasks});
	my ($rows, $slots, $open) = split /,/, $out;
	$samples++;
	$max_rows  = $rows  if $rows > $max_rows;
	$max_slots = $slots if $slots > $max_slots;
	last if $open == 0;
	die "the queue did not drain" if time() > $deadline;
	select(undef, undef, undef, 0.005);
}
$session->quit;
note "samples: $samples, max running rows: $max_rows, max slots in use: $max_slots";
cmp_ok($samples, '>=', 10, 'sampled the pool while it worked');
cmp_ok($max_rows, '<=', 3, 'never more than 3 tasks running (task rows)');
cmp_ok($max_slots, '<=', 3, 'never more than 3 worker slots in use');
is($max_rows, 3, 'the cap of 3 running tasks was reached');

# The pool is idle again
$node->wait_slots_free;
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest task'}),
	'0',
	'no task worker left');

is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(status, ',' ORDER BY id) FROM (SELECT DISTINCT status, min(id) AS id FROM backtest.tasks GROUP BY status) s"
	),
	'completed,failed',
	'only completed and failed tasks');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM backtest.tasks WHERE status = 'completed' AND id <> $bad"),
	'20',
	'all 20 readable tasks completed');

# carol's task failed with the permission error, and the ones after it ran
my ($bstatus, $berror, $bowner) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT status, error, owner FROM backtest.tasks WHERE id = $bad");
is($bstatus, 'failed', "carol's task failed");
like($berror, qr/permission denied for table secret/,
	'its error is the permission error');
is($bowner, 'carol', 'it is owned by carol');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM backtest.tasks WHERE id > $bad AND status = 'completed'"),
	'10',
	'the 10 tasks queued after the failed one completed');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM backtest.results WHERE task_id = $bad"),
	'0',
	'the failed task has no results');

# FIFO: the launcher started the tasks in id order, each once
is( $node->safe_psql(
		'postgres',
		'SELECT string_agg(id::text, \',\' ORDER BY started_at, id) FROM backtest.tasks'),
	$node->safe_psql('postgres',
		'SELECT string_agg(id::text, \',\' ORDER BY id) FROM backtest.tasks'),
	'tasks started in submission (id) order');
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM backtest.tasks WHERE attempts <> 1 OR started_at IS NULL OR finished_at < started_at OR worker_pid IS NOT NULL'
	),
	'0',
	'each task started once, finished after it started, no worker_pid left');
# a later task never started before an earlier one (strictly, by timestamp)
is( $node->safe_psql(
		'postgres',
		'SELECT count(*) FROM backtest.tasks a JOIN backtest.tasks b ON b.id > a.id WHERE b.started_at < a.started_at'
	),
	'0',
	'no task started before an older one');

# Every completed task has its results: one results row, trades_count closed
# trades plus open_trades open ones, one equity row per bar; and they match a
# synchronous run.
my $sync = $node->safe_psql('postgres',
	q{SELECT bars || ',' || trades_count || ',' || equity_final
      FROM backtest_run_query('SELECT * FROM k ORDER BY ts', 'sma_cross')});
my ($sbars, $strades, $sequity) = split /,/, $sync;
# backtest_trades lists the closed trades (trades_count) and the open one
my $strows = $node->safe_psql('postgres',
	q{SELECT count(*) FROM backtest_trades_query('SELECT * FROM k ORDER BY ts', 'sma_cross')});
is($sbars, '500', 'the synchronous run reads 500 bars');
cmp_ok($strades, '>', 0, 'the synchronous run trades');

is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM backtest.tasks t
JOIN backtest.results r ON r.task_id = t.id
WHERE t.status = 'completed'
  AND r.bars = $sbars
  AND r.trades_count = $strades
  AND r.equity_final = $sequity
  AND r.owner = t.owner
  AND r.trades_count = (SELECT count(*) FROM backtest.trades x WHERE x.task_id = t.id AND NOT x.is_open)
  AND r.open_trades = (SELECT count(*) FROM backtest.trades x WHERE x.task_id = t.id AND x.is_open)
  AND (SELECT count(*) FROM backtest.trades x WHERE x.task_id = t.id) = $strows
  AND r.bars = (SELECT count(*) FROM backtest.equity e WHERE e.task_id = t.id)
  AND t.progress = 100 AND t.step_index = 5
}),
	'20',
	'each completed task has results, trades and equity matching a synchronous run');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM backtest.equity e
JOIN backtest.equity_curves c USING (task_id)
WHERE e.task_id = $first AND e.equity IS NULL}),
	'0',
	'equity rows are complete');
is( $node->safe_psql(
		'postgres',
		"SELECT total_tasks || ',' || completed || ',' || failed || ',' || running || ',' || max_concurrent || ',' || available_slots FROM backtest_stats()"
	),
	'21,20,1,0,3,3',
	'backtest_stats agrees');

# The log names each failure
ok( $node->log_contains(
		qr/pg_backtest: task $bad failed: permission denied for table secret/),
	'the failure is logged');

$node->stop;
done_testing();
