# Every database is served, with no setting: the cluster launcher starts a
# dispatcher for each database with queued work.  Tested: a database created
# after the server started runs its tasks at once; two databases share one
# cluster-wide cap and slots go to the oldest submission across databases;
# backtest_stats() shows the database's own tasks and the cluster's slots;
# DROP DATABASE is not blocked by an idle pool; DROP EXTENSION with a task
# running stops that database's dispatcher cleanly and the launcher goes on
# (0.3.0's launcher died on that error); after a crash every database is
# visited once and its tasks recovered, a database without the extension is
# skipped cleanly.
use strict;
use warnings;

use PgBacktestNode qw(nap_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'databases',
	extension => 0,
	conf      => q{
pg_backtest.max_concurrent = 1
pg_backtest.retry_delay = 100
restart_after_crash = on
});

my $napq = nap_query();

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION pg_backtest');
	$node->create_klines($db, bars => 200);
	$node->create_naptime($db, 0);
}

setup_db('postgres');
my $launcher = $node->launcher_pid;
like($launcher, qr/^\d+$/, 'the launcher runs');
is( $node->safe_psql('postgres',
		"SELECT datname IS NULL FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'"),
	't', 'the launcher is connected to no database');

# --- a database created after start is served, without a restart -------------

$node->safe_psql('postgres', 'CREATE DATABASE db_a');
setup_db('db_a');
my $id = $node->safe_psql('db_a', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
$node->wait_done(db => 'db_a');
is($node->safe_psql('db_a', "SELECT status || ':' || attempts FROM backtest.tasks WHERE id = $id"),
	'completed:1', 'CREATE EXTENSION in a new database: its submission runs, no restart');
is($node->safe_psql('db_a', "SELECT count(*) FROM backtest.results WHERE task_id = $id"),
	'1', 'its results are stored in that database');

# --- two databases share the cap; the oldest submission goes first -------------

$node->safe_psql('postgres', 'CREATE DATABASE db_b');
setup_db('db_b');

# the only slot is held by a task of database postgres
$node->set_naptime(300);
my $blocker = $node->safe_psql('postgres', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($blocker);
$node->set_naptime(0);

# a1 b1 a2 b2 a3 b3, one after the other
my @expected;
for my $n (1 .. 3)
{
	for my $db ('db_a', 'db_b')
	{
		my $t = $node->safe_psql($db, "SELECT backtest_submit('k', 'A', 'sma_cross')");
		push @expected, "$db:$t";
	}
}
# both dispatchers are up and waiting for a slot
$node->poll_query_until(
	'postgres', q{
SELECT count(*) = 2 FROM pg_stat_activity
WHERE backend_type = 'pg_backtest dispatcher' AND datname IN ('db_a', 'db_b') AND wait_event = 'Extension'})
  or die 'the dispatchers of db_a and db_b did not start';
is($node->safe_psql('db_a', "SELECT string_agg(status, ',') FROM backtest.tasks WHERE id > $id"),
	'pending,pending,pending', 'with the cluster-wide slot taken by another database, db_a waits');
is( $node->safe_psql(
		'db_a',
		'SELECT total_tasks || \',\' || pending || \',\' || running || \',\' || completed || \',\' || max_concurrent || \',\' || available_slots FROM backtest_stats()'
	),
	'4,3,0,1,1,0',
	'backtest_stats in db_a: its own tasks, and no cluster-wide slot free');

$node->safe_psql('postgres', "SELECT backtest_cancel($blocker)");
$node->wait_done(db => 'db_a');
$node->wait_done(db => 'db_b');
my @started;
for my $db ('db_a', 'db_b')
{
	for my $row (split /\n/,
		$node->safe_psql($db,
			"SELECT id || '|' || extract(epoch FROM started_at) || '|' || status || ':' || attempts FROM backtest.tasks WHERE id > "
			  . ($db eq 'db_a' ? $id : 0)))
	{
		my ($t, $at, $st) = split /\|/, $row;
		push @started, [ "$db:$t", $at, $st ];
	}
}
is(join(' ', map { $_->[0] } sort { $a->[1] <=> $b->[1] } @started),
	join(' ', @expected), 'one slot for two databases: started in submission order across them');
is(join(',', map { $_->[2] } @started), join(',', ('completed:1') x 6), 'all six completed, once each');

# --- cap of 2 shared by two databases submitting at once -------------------------

$node->set_conf('pg_backtest.max_concurrent', 2);
$node->set_naptime(0.2, $_) for ('db_a', 'db_b');
my $bs = $node->background_psql('db_b');
$bs->query_safe("SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 4)");
$node->safe_psql('db_a', "SELECT backtest_submit_query($napq, 'sma_cross') FROM generate_series(1, 4)");
my ($max, $samples) = (0, 0);
while (1)
{
	my ($workers, $open) = split /\|/, $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest task') || '|' ||
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher'
        AND datname IN ('db_a', 'db_b'))});
	$samples++;
	$max = $workers if $workers > $max;
	last
	  if $open == 0
	  && $node->safe_psql('db_a', "SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')") == 0
	  && $node->safe_psql('db_b', "SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')") == 0;
	die 'the queues did not drain' if $samples > 5000;
}
$bs->quit;
is($max, 2, 'two databases submitting at once: at most max_concurrent (2) workers in the cluster, and 2 reached');

# --- DROP DATABASE of an idle database is not blocked -------------------------

my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_b');
is($ret, 0, 'DROP DATABASE of a database whose queue is idle succeeds') or diag $err;

# --- DROP EXTENSION with a task running -----------------------------------------

$node->set_naptime(300, 'db_a');
my $r = $node->safe_psql('db_a', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($r, db => 'db_a');
my $wpid = $node->safe_psql('db_a', "SELECT worker_pid FROM backtest.tasks WHERE id = $r");
my $log_offset = -s $node->logfile;
$node->safe_psql('db_a', 'DROP EXTENSION pg_backtest CASCADE');
$node->wait_dispatchers('db_a', 0) or die 'the dispatcher of db_a did not exit';
pass('DROP EXTENSION: the dispatcher of that database exits');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)");
$node->wait_exited($wpid);
ok( !$node->log_contains(
		qr/background worker "pg_backtest (launcher|dispatcher)" \(PID \d+\) exited with exit code 1/,
		$log_offset),
	'neither the launcher nor a dispatcher died of an error');
my @errs = (slurp_file($node->logfile) =~ /ERROR: .*\n.*?CONTEXT:.*dispatcher|ERROR:  relation "backtest.tasks" does not exist/g);
ok(@errs <= 1, 'no error loop after DROP EXTENSION');
is($node->launcher_pid, $launcher, 'the launcher lives on');

$node->safe_psql('db_a', 'CREATE EXTENSION pg_backtest');
$id = $node->safe_psql('db_a', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
$node->wait_done(db => 'db_a');
is($node->safe_psql('db_a', "SELECT status FROM backtest.tasks WHERE id = $id"),
	'completed', 'the extension created again: its tasks run');

# --- a crash: every database is visited once and its tasks recovered -------------

$node->safe_psql('postgres', 'CREATE DATABASE db_plain');    # no extension
$node->set_conf('pg_backtest.max_concurrent', 1);
$node->set_naptime(300, 'db_a');
my $running = $node->safe_psql('db_a', "SELECT backtest_submit_query($napq, 'sma_cross')");
$node->wait_sleeping($running, db => 'db_a');
$node->set_naptime(0, 'db_a');
my $pending = $node->safe_psql('db_a', "SELECT backtest_submit_query($napq, 'sma_cross')");
is($node->safe_psql('db_a', "SELECT status FROM backtest.tasks WHERE id = $pending"),
	'pending', 'before the crash: one task running, one pending');
$node->stop('immediate');
$log_offset = -s $node->logfile;
$node->start;
$node->wait_done(db => 'db_a');
is( $node->safe_psql('db_a',
		"SELECT string_agg(status || ':' || attempts, ',' ORDER BY id) FROM backtest.tasks WHERE id IN ($running, $pending)"),
	'completed:2,completed:1',
	'after the restart, with no new submission, the running and the pending task of db_a ran');
ok(!$node->log_contains(qr/ERROR/, $log_offset),
	'the database without the extension (and every other) was visited without an error');

$node->stop;
done_testing();
