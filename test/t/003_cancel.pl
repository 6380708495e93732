# backtest_cancel: a pending task is cancelled at once and never runs; a
# running one stops (its query is interrupted), its worker exits and it
# stores no results; a finished task cannot be cancelled; another role can
# neither cancel nor see someone else's task.
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('cancel', conf => 'pg_backtest.max_concurrent = 1');
$node->create_klines('postgres', grant => 'PUBLIC');
$node->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;');

# a task that spends a long time loading (interruptible)
my $long = sleep_query(300);

# --- a pending task behind a running one ----------------------------------

my $a = $node->safe_psql('postgres',
	"SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_sleeping($a);
my $a_pid = $node->safe_psql('postgres',
	"SELECT worker_pid FROM backtest.tasks WHERE id = $a");

my $b = $node->safe_psql('postgres',
	"SELECT backtest_submit('k', 'A', 'sma_cross')");
is($node->task_status($b), 'pending', 'with the only slot busy, the second task is pending');
is($node->safe_psql('postgres', "SELECT backtest_cancel($b)"),
	't', 'cancelling the pending task returns true');
is( $node->safe_psql(
		'postgres',
		"SELECT status || ',' || attempts || ',' || (started_at IS NULL) || ',' || (finished_at IS NOT NULL) || ',' || message FROM backtest.tasks WHERE id = $b"
	),
	'cancelled,0,true,true,cancelled before it started',
	'it is cancelled at once, never started, with a finish time');
is($node->safe_psql('postgres', "SELECT backtest_cancel($b)"),
	'f', 'cancelling it again returns false');

# --- the running task -----------------------------------------------------

is($node->task_status($a), 'running', 'the first task is still running');
is($node->safe_psql('postgres', 'SELECT backtest_running_tasks()'),
	'1', 'one worker slot in use');
my $log_offset = -s $node->logfile;
# a cancel that is rolled back does not stop the worker
$node->safe_psql('postgres', "BEGIN; SELECT backtest_cancel($a); ROLLBACK;");
$node->safe_psql('postgres', "SELECT pg_sleep(0.5)");
is($node->safe_psql('postgres',
		"SELECT status || ',' || cancel_requested || ',' || (worker_pid = $a_pid) FROM backtest.tasks WHERE id = $a"),
	'running,false,true', 'a rolled-back cancel leaves the task running in the same worker');

is($node->safe_psql('postgres', "SELECT backtest_cancel($a)"),
	't', 'cancelling the running task returns true');
$node->poll_query_until('postgres',
	"SELECT status <> 'running' FROM backtest.tasks WHERE id = $a")
  or die "task $a did not stop";
is( $node->safe_psql(
		'postgres',
		"SELECT status || ',' || coalesce(message, '') || ',' || coalesce(error, '<null>') || ',' || (finished_at IS NOT NULL) || ',' || (worker_pid IS NULL) FROM backtest.tasks WHERE id = $a"
	),
	'cancelled,cancelled while running,<null>,true,true',
	'the running task ends cancelled');
$node->wait_for_log(qr/pg_backtest: task $a cancelled/, $log_offset);
$node->wait_slots_free;
$node->wait_exited($a_pid);
pass('its worker exited and released its slot');
is( $node->safe_psql(
		'postgres', qq{
SELECT (SELECT count(*) FROM backtest.results WHERE task_id = $a) + (SELECT count(*) FROM backtest.trades WHERE task_id = $a)
     + (SELECT count(*) FROM backtest.equity_curves WHERE task_id = $a)}),
	'0',
	'the cancelled task stored no results');
is($node->safe_psql('postgres', "SELECT backtest_cancel($a)"),
	'f', 'cancelling a cancelled task returns false');

# --- the pool goes on; the cancelled pending task never ran ---------------

my $c = $node->safe_psql('postgres',
	"SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->wait_status($c, 'completed');
pass('a task submitted after the cancellations completes');
is( $node->safe_psql(
		'postgres',
		"SELECT status || ',' || attempts || ',' || (started_at IS NULL) FROM backtest.tasks WHERE id = $b"
	),
	'cancelled,0,true',
	'the cancelled pending task never ran');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id = $b"),
	'0', 'and has no results');
is($node->safe_psql('postgres', "SELECT backtest_cancel($c)"),
	'f', 'cancelling a completed task returns false');
is($node->task_status($c), 'completed', 'and it stays completed');
ok(!$node->log_contains(qr/pg_backtest: task $b /),
	'no worker ever logged about the cancelled pending task');

# --- a failed task cannot be cancelled either ------------------------------

my $f = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('SELECT ts, open, high, low, close / 0 AS close, volume FROM k ORDER BY ts', 'sma_cross')}
);
$node->wait_status($f, 'failed');
is($node->safe_psql('postgres', "SELECT backtest_cancel($f)"),
	'f', 'cancelling a failed task returns false');

# --- another role's task ---------------------------------------------------

# alice's task: running and sleeping, so it could be cancelled
my $al = $node->safe_psql_as('alice',
	"SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_sleeping($al);

my ($ret, $out, $err) = $node->psql_as('bob', "SELECT backtest_cancel($al)");
isnt($ret, 0, "bob cannot cancel alice's task");
like($err, qr/ERROR:  (task $al does not exist|permission denied to cancel task $al)/,
	'the error says the task does not exist (for bob) or permission denied');
is( $node->safe_psql_as('bob', "SELECT count(*) FROM backtest.tasks WHERE id = $al"),
	'0',
	"bob does not see alice's task");
is( $node->safe_psql_as('bob', "SELECT count(*) FROM backtest_status($al)"),
	'0',
	"backtest_status shows bob nothing of it");
is( $node->safe_psql(
		'postgres',
		"SELECT status || ',' || NOT cancel_requested FROM backtest.tasks WHERE id = $al"),
	'running,true',
	"alice's task is still running, no cancel requested");

# frank, a member of alice, sees her tasks (row-level security) but may not
# cancel them: that takes the owner, a superuser or backtest_admin
$node->safe_psql('postgres', 'CREATE ROLE frank LOGIN; GRANT alice TO frank;');
is( $node->safe_psql_as('frank', "SELECT count(*) FROM backtest_status($al)"),
	'1',
	"frank, a member of alice, sees her task");
($ret, $out, $err) = $node->psql_as('frank', "SELECT backtest_cancel($al)");
isnt($ret, 0, "frank cannot cancel alice's task");
like($err, qr/ERROR:  permission denied to cancel task $al/,
	'... permission denied');
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $al"),
	'running', 'the task is still running');

# alice herself can
is( $node->safe_psql_as('alice', "SELECT backtest_cancel($al)"),
	't',
	'alice cancels her own task');
$node->wait_status($al, 'cancelled');
pass("alice's task ends cancelled");
$node->wait_slots_free;

is( $node->safe_psql('postgres',
		"SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')"),
	'0',
	'nothing left pending or running');

$node->stop;
done_testing();
