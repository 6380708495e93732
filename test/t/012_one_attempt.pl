# One live attempt per task, made deterministic with the test-only setting
# pg_backtest.test_delay (a task worker sleeps at a named point):
# - the claim: while a worker is starting, its task is still pending (0.3.0
#   committed "running" before the worker existed) and a cancel then is final;
# - a terminated worker that lingers in its exit: its task is requeued once
#   and run by one worker (0.3.0's recovery and reaping both requeued it,
#   two workers ran it, attempts were counted twice);
# - a new dispatcher's recovery leaves a live attempt alone;
# - terminal states are final;
# - a task whose owner cannot log in, or was dropped, fails at once with that
#   cause (0.3.0: three attempts, "the worker exited before finishing");
# - a genuine retry waits pg_backtest.retry_delay (0.3.0: at once).
use strict;
use warnings;

use PgBacktestNode qw(nap_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'one_attempt', conf => q{
pg_backtest.max_concurrent = 1
pg_backtest.retry_delay = 100
});
$node->create_klines('postgres', bars => 200, grant => 'PUBLIC');
$node->create_naptime('postgres', 0, grant => 'PUBLIC');
$node->safe_psql('postgres', 'CREATE ROLE dave LOGIN; CREATE ROLE eve LOGIN;');
my $napq = nap_query();

sub row
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $id");
}

# --- the claim is the worker's -----------------------------------------------

$node->set_conf('pg_backtest.test_delay', 'worker_start:3000');
my $t1 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backtest task'")
  or die 'no worker started';
is(row($t1), 'pending:0', 'while its worker is starting, the task is pending, no attempt counted');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE status = 'running'"),
	'0', 'no row is running before its worker has claimed it');
is($node->safe_psql('postgres', "SELECT backtest_cancel($t1)"), 't', 'cancel it meanwhile');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_backtest task'")
  or die 'the worker did not exit';
is( $node->safe_psql('postgres',
		"SELECT status || ':' || attempts || ':' || message || ':' || coalesce(error, '') FROM backtest.tasks WHERE id = $t1"),
	'cancelled:0:cancelled before it started:',
	'its worker found it cancelled and left it so: no attempt, no error');
my $t2 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->wait_done;
is(row($t2), 'completed:1', 'the next task ran once');

# --- a terminated worker lingering in its exit ---------------------------------

$node->set_conf('pg_backtest.test_delay', 'worker_exit:3000');
$node->set_naptime(300);
my $t3 = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($t3);
$node->set_naptime(2);
my $pid = $node->safe_psql('postgres', "SELECT worker_pid FROM backtest.tasks WHERE id = $t3");
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$node->wait_for_log(qr/test delay at worker_exit/, $log_offset);
# the second attempt sleeps 2 s: meanwhile a new dispatcher must leave it alone
$node->poll_query_until('postgres',
	"SELECT status = 'running' AND attempts = 2 FROM backtest.tasks WHERE id = $t3")
  or die "task $t3 was not started again";
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher'");
$node->set_naptime(0);
my $t4 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->wait_done;
is(row($t3), 'completed:2', 'the terminated task was started once more, and completed');
is(row($t4), 'completed:1', 'the task submitted meanwhile completed');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id = $t3"),
	'1', 'one results row');
my @requeues = (slurp_file($node->logfile) =~ /task $t3 requeued/g);
is(scalar(@requeues), 1, 'requeued exactly once');
ok(!$node->log_contains(qr/duplicate key|task $t3 failed/, $log_offset),
	'no second run collided with the first');

# --- an outcome is final ---------------------------------------------------------

my ($ret, $out, $err) =
  $node->psql('postgres', "UPDATE backtest.tasks SET status = 'pending' WHERE id = $t3");
isnt($ret, 0, 'a completed task cannot be set back to pending');
like($err, qr/task $t3 is already completed; its outcome is final/, 'the error says so');

# --- an owner that cannot log in, or was dropped -------------------------------

$node->set_conf('pg_backtest.test_delay', '');
$node->set_naptime(300);
my $blocker = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($blocker);
$node->set_naptime(0);
my $t5 = $node->safe_psql_as('dave', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $t6 = $node->safe_psql_as('eve', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->safe_psql('postgres', 'ALTER ROLE dave NOLOGIN');
$node->safe_psql('postgres', 'DROP OWNED BY eve; DROP ROLE eve');
$node->safe_psql('postgres', "SELECT backtest_cancel($blocker)");
$node->wait_done;
is( $node->safe_psql('postgres',
		"SELECT status || ':' || attempts || ':' || error FROM backtest.tasks WHERE id = $t5"),
	'failed:0:role "dave" cannot log in, so no background worker can run the task as it',
	'NOLOGIN after submit: failed at once, never started, the cause recorded');
like(
	$node->safe_psql('postgres',
		"SELECT status || ':' || attempts || ':' || error FROM backtest.tasks WHERE id = $t6"),
	qr/^failed:0:role "eve" does not exist, so the task cannot run$/,
	'a dropped owner: failed at once with that cause');

# --- a genuine retry waits --------------------------------------------------------

$node->set_conf('pg_backtest.retry_delay', '2s');
$node->set_naptime(300);
my $t7 = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($t7);
$node->set_naptime(0);
my $killed_at = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(worker_pid) FROM backtest.tasks WHERE id = $t7");
$node->wait_done;
is(row($t7), 'completed:2', 'the terminated task was retried and completed');
is( $node->safe_psql('postgres',
		"SELECT started_at >= timestamptz '$killed_at' + interval '2 seconds' FROM backtest.tasks WHERE id = $t7"),
	't', 'not before pg_backtest.retry_delay (2 s) had passed');
like(
	$node->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE status = 'running'"),
	qr/^0$/, 'nothing left running');

$node->stop;
done_testing();
