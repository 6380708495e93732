# The launcher under stress: fewer background-worker slots than
# pg_backtest.max_concurrent (tasks wait, a WARNING names
# max_worker_processes, all complete); and a launcher that is terminated
# (it restarts; a task running meanwhile finishes, tasks submitted meanwhile
# run after the restart).
use strict;
use warnings;

use PgBacktestNode qw(nap_query);
use PostgreSQL::Test::Utils;
use Test::More;

# 3 static workers (pg_cron, pg_backtest's launcher, the logical replication
# launcher) and the dispatcher of database postgres leave
# max_worker_processes - 4 = 1 slot for task workers
my $node = PgBacktestNode->create(
	'launcher', conf => q{
pg_backtest.max_concurrent = 3
max_worker_processes = 5
max_parallel_workers_per_gather = 0
});
$node->create_klines('postgres', bars => 300);
$node->create_naptime('postgres', 0.3);
my $napq = nap_query();

# --- not enough background worker slots ------------------------------------

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 5)");

my $session = $node->quiet_session('postgres');
my $max_running = 0;
my $deadline    = time() + $PostgreSQL::Test::Utils::timeout_default;
while (1)
{
	my ($running, $open) = split /,/,
	  $session->query_safe(
		q{SELECT count(*) FILTER (WHERE status = 'running') || ',' ||
                 count(*) FILTER (WHERE status IN ('pending', 'running')) FROM backtest.tasks});
	$max_running = $running if $running > $max_running;
	last if $open == 0;
	die 'the queue did not drain' if time() > $deadline;
	select(undef, undef, undef, 0.01);
}
$session->quit;
is($max_running, 1, 'with one free background worker slot, one task runs at a time');
is( $node->safe_psql('postgres',
		"SELECT string_agg(status || ':' || attempts, ',' ORDER BY id) FROM backtest.tasks"),
	'completed:1,completed:1,completed:1,completed:1,completed:1',
	'all 5 tasks completed, each started once');
ok( $node->log_contains(
		qr/WARNING:  pg_backtest: no background worker slot free to run task \d+/, $log_offset),
	'a WARNING says no background worker slot was free');
ok($node->log_contains(qr/HINT:  Raise max_worker_processes \(now 5\)/, $log_offset),
	'its hint names max_worker_processes');
$node->wait_slots_free;

# --- the launcher is terminated ------------------------------------------------

$node->set_naptime(300);
my $r = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($r);
$node->set_naptime(0);

my $launcher_pid = $node->launcher_pid;
like($launcher_pid, qr/^\d+$/, 'the launcher runs');
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher_pid)");
$node->wait_for_log(qr/background worker "pg_backtest launcher" \(PID $launcher_pid\) exited/,
	$log_offset);
pass('the launcher was terminated');

# while it is down: the running task goes on, a new task waits
my $p = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $r"),
	'running', 'the running task is still running');

# let the running task finish: cancel it (its worker does not need the launcher)
$node->safe_psql('postgres', "SELECT backtest_cancel($r)");
$node->wait_status($r, 'cancelled');
pass('a task is cancelled while the launcher is down');

# the launcher comes back (bgw_restart_time) and runs the waiting task
$node->wait_for_log(qr/pg_backtest launcher started/, $log_offset);
$node->wait_done;
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $p"),
	'completed:1', 'the task submitted while the launcher was down completed after its restart');
isnt($node->launcher_pid, $launcher_pid, 'a new launcher runs');
$node->wait_slots_free;

# --- a worker started by a previous launcher dies without an outcome ----------
# (its task is orphaned: no handle in the new launcher, no slot in use)

$node->set_naptime(300);
my $o = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($o);
$launcher_pid = $node->launcher_pid;
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher_pid)");
$node->wait_for_log(qr/pg_backtest launcher started/, $log_offset);
$node->set_naptime(0);
my $opid = $node->safe_psql('postgres', "SELECT worker_pid FROM backtest.tasks WHERE id = $o");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($opid)");
$node->wait_done;
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $o"),
	'completed:2',
	'an orphaned task of a previous launcher is requeued by the new one and completes');

$node->stop;
done_testing();
