# The launcher under stress: fewer background-worker slots than
# pg_backtest.max_concurrent (tasks wait, a WARNING names
# max_worker_processes, all complete); and a launcher that is terminated
# (it restarts; a task running meanwhile finishes, tasks submitted meanwhile
# run after the restart).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('launcher');
$node->init;
# 3 static workers (pg_cron, pg_backtest's launcher, the logical replication
# launcher) and the dispatcher of database postgres leave
# max_worker_processes - 4 = 1 slot for task workers
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron,pg_backtest'
cron.database_name = 'postgres'
pg_backtest.max_concurrent = 3
max_worker_processes = 5
max_parallel_workers_per_gather = 0
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_backtest;
CREATE TABLE k (
    symbol text NOT NULL, ts timestamptz NOT NULL,
    open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL,
    close float8 NOT NULL, volume float8 NOT NULL,
    PRIMARY KEY (symbol, ts));
INSERT INTO k
SELECT 'A', timestamptz '2020-01-01 00:00+00' + i * interval '1 day', c, c + 1, c - 1, c, 1000 + i
FROM (SELECT i, 100 + 10 * sin(i / 15.0) + i * 0.01 AS c FROM generate_series(0, 299) i) s;
CREATE TABLE naptime (s float8 NOT NULL);
INSERT INTO naptime VALUES (0.3);
});
my $napq =
  q{$q$WITH nap AS MATERIALIZED (SELECT pg_sleep(s) FROM naptime) SELECT k.* FROM k, nap ORDER BY ts$q$};

sub wait_all_done
{
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM backtest.tasks WHERE status IN ('pending', 'running')")
	  or die 'tasks left pending or running: '
	  . $node->safe_psql('postgres',
		"SELECT string_agg(id || ':' || status, ' ') FROM backtest.tasks WHERE status IN ('pending', 'running')"
	  );
}

# --- not enough background worker slots ------------------------------------

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	"SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 5)");

# BackgroundPsql notes every query it runs: keep them out of the TAP output
no warnings 'redefine';
local *PostgreSQL::Test::BackgroundPsql::note = sub { };
use warnings 'redefine';
my $session = $node->background_psql('postgres');
$session->query_safe('SET log_statement = none');
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
$node->poll_query_until('postgres', 'SELECT backtest_running_tasks() = 0')
  or die 'worker slots not released';

# --- the launcher is terminated ------------------------------------------------

$node->safe_psql('postgres', 'UPDATE naptime SET s = 300');
my $r = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->poll_query_until(
	'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $r AND a.wait_event = 'PgSleep'})
  or die "task $r did not start";
$node->safe_psql('postgres', 'UPDATE naptime SET s = 0');

my $launcher_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'");
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
$node->poll_query_until('postgres',
	"SELECT status = 'cancelled' FROM backtest.tasks WHERE id = $r")
  or die "task $r was not cancelled";
pass('a task is cancelled while the launcher is down');

# the launcher comes back (bgw_restart_time) and runs the waiting task
$node->wait_for_log(qr/pg_backtest launcher started/, $log_offset);
wait_all_done();
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $p"),
	'completed:1', 'the task submitted while the launcher was down completed after its restart');
isnt(
	$node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'"),
	$launcher_pid,
	'a new launcher runs');
$node->poll_query_until('postgres', 'SELECT backtest_running_tasks() = 0')
  or die 'worker slots not released';

# --- a worker started by a previous launcher dies without an outcome ----------
# (its task is orphaned: no handle in the new launcher, no slot in use)

$node->safe_psql('postgres', 'UPDATE naptime SET s = 300');
my $o = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->poll_query_until(
	'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $o AND a.wait_event = 'PgSleep'})
  or die "task $o did not start";
$launcher_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'");
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher_pid)");
$node->wait_for_log(qr/pg_backtest launcher started/, $log_offset);
$node->safe_psql('postgres', 'UPDATE naptime SET s = 0');
my $opid = $node->safe_psql('postgres', "SELECT worker_pid FROM backtest.tasks WHERE id = $o");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($opid)");
wait_all_done();
is($node->safe_psql('postgres', "SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $o"),
	'completed:2',
	'an orphaned task of a previous launcher is requeued by the new one and completes');

$node->stop;
done_testing();
