# DROP DATABASE of a database whose tasks wait for a slot: its dispatcher
# stays connected while they wait, and DROP DATABASE used to fail after 5 s
# ("database ... is being accessed by other users").  Now the drop sends the
# dispatcher away first (a ProcessUtility hook, dropdb.c) and succeeds; the
# pending tasks go with the database, the launcher and the other database's
# queue carry on without an error.  A DROP DATABASE that fails (another
# session is connected; not the owner) leaves the queue as it was: the
# dispatcher comes back for the pending tasks, which then run.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dropdb');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron,pg_backtest'
cron.database_name = 'postgres'
pg_backtest.max_concurrent = 1
max_worker_processes = 16
});
$node->start;

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql($db, q{
CREATE EXTENSION pg_backtest;
CREATE TABLE k AS
SELECT 'A'::text AS symbol, timestamptz '2020-01-01 00:00+00' + i * interval '1 day' AS ts,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 15.0) AS c FROM generate_series(0, 199) i) s;
});
}

sub wait_status
{
	my ($db, $id, $want) = @_;
	$node->poll_query_until($db, "SELECT status = '$want' FROM backtest.tasks WHERE id = $id")
	  or die "task $id in $db is not $want: "
	  . $node->safe_psql($db, "SELECT status FROM backtest.tasks WHERE id = $id");
}

sub dispatcher_of
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher' AND datname = '$db'"
	);
}

setup_db('postgres');
$node->safe_psql('postgres', 'CREATE DATABASE db_b');
setup_db('db_b');
$node->safe_psql('postgres', 'CREATE ROLE mallory LOGIN');
my $launcher = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'");

# the only slot: a task of database postgres that sleeps until cancelled
my $long = q{$q$WITH nap AS MATERIALIZED (SELECT pg_sleep(300)) SELECT k.* FROM k, nap ORDER BY ts$q$};
my $blocker = $node->safe_psql('postgres', "SELECT backtest_submit_query($long, 'sma_cross')");
$node->poll_query_until(
	'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $blocker AND t.status = 'running' AND a.wait_event = 'PgSleep'})
  or die "the blocker did not start";

# two tasks of db_b wait for the slot; its dispatcher stays connected
my $b1 = $node->safe_psql('db_b', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $b2 = $node->safe_psql('db_b', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->poll_query_until('postgres', "SELECT " . q{(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher' AND datname = 'db_b') = 1})
  or die "no dispatcher for db_b";
my $disp = dispatcher_of('db_b');
is($node->safe_psql('db_b', "SELECT string_agg(status, ',') FROM backtest.tasks"),
	'pending,pending', 'the tasks of db_b are pending');

# --- a DROP DATABASE that fails leaves the queue alone ---------------------------

my ($stdout, $stderr);
$node->psql('postgres', 'DROP DATABASE db_b', stdout => \$stdout, stderr => \$stderr,
	extra_params => [ '-U', 'mallory' ]);
like($stderr, qr/must be owner of database db_b/, 'a role that does not own it cannot drop it');
is(dispatcher_of('db_b'), $disp, 'and its dispatcher was not touched');

# another session connected to db_b: the drop fails, the dispatcher comes back
my $session = $node->background_psql('db_b');
$session->query_safe('SELECT 1');
$node->psql('postgres', 'DROP DATABASE db_b', stderr => \$stderr);
like($stderr, qr/is being accessed by other users/, 'with a session connected, DROP DATABASE fails');
like($stderr, qr/There is 1 other session using the database/, 'because of that session only');
$session->quit;
$node->poll_query_until('postgres',
	"SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher' AND datname = 'db_b') = 1")
  or die "the dispatcher of db_b did not come back";
isnt(dispatcher_of('db_b'), $disp, 'after the failed drop a new dispatcher serves db_b');
is($node->safe_psql('db_b', "SELECT string_agg(status, ',') FROM backtest.tasks"),
	'pending,pending', 'its tasks are still pending');

# --- the drop succeeds while its tasks wait -----------------------------------

my $offset = -s $node->logfile;
my ($ret) = $node->psql('postgres', 'DROP DATABASE db_b', stderr => \$stderr);
is($ret, 0, 'DROP DATABASE of a database with pending tasks succeeds') or diag $stderr;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'db_b'"),
	'0', 'the database is gone, and its pending tasks with it');
is($node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'"),
	$launcher, 'the launcher runs on');

# the queue of database postgres carries on
$node->safe_psql('postgres', "SELECT backtest_cancel($blocker)");
wait_status('postgres', $blocker, 'cancelled');
my $a1 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
wait_status('postgres', $a1, 'completed');
pass('a task of database postgres runs after the drop');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/(ERROR|FATAL|PANIC):/, 'nothing errored since the drop (launcher, dispatchers, workers)');
unlike($log, qr/database \d+ (does not exist|was dropped)/, 'no process tried to connect to the dropped database');

$node->stop;
done_testing();
