# Crash recovery: kill -9 of a task worker (the postmaster restarts every
# process) and an immediate shutdown both leave tasks "running" in the table;
# when the launcher starts again it requeues them (attempts < max_attempts)
# and they complete.  No task is lost or left running.
use strict;
use warnings;

use PgBacktestNode qw(nap_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'crash', conf => q{
pg_backtest.max_concurrent = 2
restart_after_crash = on
});

# The tasks read through nap_query(): it sleeps as long as naptime.s says,
# which the test lowers once the workers are asleep (their snapshot keeps
# the old value), so the requeued runs are quick.
$node->create_klines('postgres');
$node->create_naptime('postgres', 300);
my $napq = nap_query();

# --- kill -9 of a worker ---------------------------------------------------

my @ids = split /\n/,
  $node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 4)");
is(scalar(@ids), 4, '4 tasks submitted');
$node->wait_sleepers(2);
is( $node->safe_psql('postgres',
		"SELECT string_agg(status, ',' ORDER BY id) FROM backtest.tasks"),
	'running,running,pending,pending',
	'two running, two pending');

my ($victim, $vpid) = split /\|/,
  $node->safe_psql(
	'postgres', q{
SELECT t.id, a.pid FROM backtest.tasks t JOIN pg_stat_activity a ON a.pid = t.worker_pid
WHERE a.backend_type = 'pg_backtest task' ORDER BY t.id LIMIT 1});
my ($other) = grep { $_ != $victim } @ids[ 0 .. 1 ];
$node->set_naptime(0);

my $log_offset = -s $node->logfile;
kill 'KILL', $vpid or die "could not kill $vpid: $!";
# both from the kill on: wait_for_log returns where the log ended when it
# matched, which may already be past the restart's "ready" line
$node->wait_for_log(qr/\(PID $vpid\) was terminated by signal 9/, $log_offset);
$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
pass("worker $vpid of task $victim killed, the server restarted");
$node->wait_for_log(qr/pg_backtest: task $victim requeued/, $log_offset);
pass('the launcher requeued the killed task');

$node->wait_done;
is( $node->safe_psql('postgres',
		"SELECT string_agg(status, ',' ORDER BY id) FROM backtest.tasks"),
	'completed,completed,completed,completed',
	'all 4 tasks completed after the crash');
is( $node->safe_psql('postgres',
		"SELECT attempts FROM backtest.tasks WHERE id = $victim"),
	'2', 'the killed task was started twice');
# the other running task's worker was killed by the restart too
is( $node->safe_psql('postgres',
		"SELECT attempts FROM backtest.tasks WHERE id = $other"),
	'2', 'so was the task running beside it');
is( $node->safe_psql('postgres',
		"SELECT string_agg(attempts::text, ',' ORDER BY id) FROM backtest.tasks WHERE id NOT IN ($victim, $other)"
	),
	'1,1',
	'the pending tasks were started once');
# each requeue recorded one system notification for the owner, high
is( $node->safe_psql(
		'postgres', qq{
SELECT string_agg(metadata->>'task_id' || ' ' || owner || ' ' || priority || ' ' || title, ',' ORDER BY id)
FROM backtest.notifications WHERE kind = 'system'}),
	join(',', map { "$_ postgres high task $_ requeued" } sort { $a <=> $b } $victim, $other),
	'one system notification per requeued task, for its owner');
like( $node->safe_psql('postgres',
		"SELECT message FROM backtest.notifications WHERE kind = 'system' AND (metadata->>'task_id')::bigint = $victim"),
	qr/^task $victim: the worker died before finishing \(attempt 1 of \d+; retrying\)$/,
	'it names the task and the reason');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM backtest.tasks t JOIN backtest.results r ON r.task_id = t.id
WHERE r.bars = 500 AND t.worker_pid IS NULL AND t.error IS NULL}),
	'4',
	'each has one results row');
$node->wait_slots_free;

# --- pg_terminate_backend of a worker ----------------------------------------

# The worker exits with FATAL (no crash restart) and, on its way out, clears
# its slot; the launcher must still notice that its task was left running.
$node->set_naptime(300);
my $term = $node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleepers(1);
$node->set_naptime(0);
my $tpid = $node->safe_psql('postgres',
	"SELECT worker_pid FROM backtest.tasks WHERE id = $term");
$log_offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($tpid)"),
	't', "terminated worker $tpid of task $term");
$node->wait_for_log(qr/pg_backtest: task $term requeued/, $log_offset);
pass('the launcher requeued the task of the terminated worker');
$node->poll_query_until('postgres',
	"SELECT status NOT IN ('pending', 'running') FROM backtest.tasks WHERE id = $term")
  or diag "task $term is stuck: "
  . $node->safe_psql('postgres',
	"SELECT status || ' attempts ' || attempts FROM backtest.tasks WHERE id = $term");
is( $node->safe_psql('postgres',
		"SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $term"),
	'completed:2',
	'it completed on its second start');
ok(!$node->log_contains(qr/database system is ready to accept connections/, $log_offset),
	'no crash restart was involved');

# --- immediate shutdown with tasks running and pending ----------------------

$node->set_naptime(300);
my @ids2 = split /\n/,
  $node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 5)");
$node->wait_sleepers(2);
$node->set_naptime(0);
my $list2 = join(',', @ids2);
is( $node->safe_psql('postgres',
		"SELECT string_agg(status, ',' ORDER BY id) FROM backtest.tasks WHERE id IN ($list2)"),
	'running,running,pending,pending,pending',
	'two of the five new tasks running, three pending');

$node->stop('immediate');
$node->start;
pass('stopped with mode immediate and started again');

$node->wait_done;
is( $node->safe_psql('postgres',
		"SELECT string_agg(status || ':' || attempts, ',' ORDER BY id) FROM backtest.tasks WHERE id IN ($list2)"
	),
	'completed:2,completed:2,completed:1,completed:1,completed:1',
	'all five completed; the two that were running were started again');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'),
	'10', 'no task lost');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.results'),
	'10', 'one results row each');

# --- a task whose worker dies every time ends failed ------------------------

$node->set_conf('pg_backtest.max_attempts', 2);
$node->set_naptime(300);
my $doomed = $node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross')");
for my $attempt (1 .. 2)
{
	$node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $doomed AND t.attempts = $attempt AND a.wait_event = 'PgSleep'})
	  or die "task $doomed did not start (attempt $attempt)";
	my $pid = $node->safe_psql('postgres',
		"SELECT worker_pid FROM backtest.tasks WHERE id = $doomed");
	$log_offset = -s $node->logfile;
	kill 'KILL', $pid or die "could not kill $pid: $!";
	$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
}
$node->wait_status($doomed, 'failed');
my ($dattempts, $derror) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT attempts, error FROM backtest.tasks WHERE id = $doomed");
is($dattempts, '2', 'a task killed max_attempts (2) times was started twice');
like($derror, qr/the worker died before finishing \(started 2 times; giving up\)/,
	'and failed with the reason');
$node->wait_done;

$node->stop;
done_testing();
