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

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'dropdb',
	extension => 0,
	conf      => 'pg_backtest.max_concurrent = 1');

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION pg_backtest');
	$node->create_klines($db, bars => 200);
}

setup_db('postgres');
$node->safe_psql('postgres', 'CREATE DATABASE db_b');
setup_db('db_b');
$node->safe_psql('postgres', 'CREATE ROLE mallory LOGIN');
my $launcher = $node->launcher_pid;

# the only slot: a task of database postgres that sleeps until cancelled
my $long = sleep_query(300);
my $blocker = $node->safe_psql('postgres', "SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_sleeping($blocker);

# two tasks of db_b wait for the slot; its dispatcher stays connected
my $b1 = $node->safe_psql('db_b', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $b2 = $node->safe_psql('db_b', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->wait_dispatchers('db_b', 1) or die "no dispatcher for db_b";
my $disp = $node->dispatcher_pid('db_b');
is($node->safe_psql('db_b', "SELECT string_agg(status, ',') FROM backtest.tasks"),
	'pending,pending', 'the tasks of db_b are pending');

# --- a DROP DATABASE that fails leaves the queue alone ---------------------------

my ($stdout, $stderr);
$node->psql('postgres', 'DROP DATABASE db_b', stdout => \$stdout, stderr => \$stderr,
	extra_params => [ '-U', 'mallory' ]);
like($stderr, qr/must be owner of database db_b/, 'a role that does not own it cannot drop it');
is($node->dispatcher_pid('db_b'), $disp, 'and its dispatcher was not touched');

# another session connected to db_b: the drop fails, the dispatcher comes back
my $session = $node->background_psql('db_b');
$session->query_safe('SELECT 1');
$node->psql('postgres', 'DROP DATABASE db_b', stderr => \$stderr);
like($stderr, qr/is being accessed by other users/, 'with a session connected, DROP DATABASE fails');
like($stderr, qr/There is 1 other session using the database/, 'because of that session only');
$session->quit;
$node->wait_dispatchers('db_b', 1) or die "the dispatcher of db_b did not come back";
isnt($node->dispatcher_pid('db_b'), $disp, 'after the failed drop a new dispatcher serves db_b');
is($node->safe_psql('db_b', "SELECT string_agg(status, ',') FROM backtest.tasks"),
	'pending,pending', 'its tasks are still pending');

# --- the drop succeeds while its tasks wait -----------------------------------

my $offset = -s $node->logfile;
my ($ret) = $node->psql('postgres', 'DROP DATABASE db_b', stderr => \$stderr);
is($ret, 0, 'DROP DATABASE of a database with pending tasks succeeds') or diag $stderr;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'db_b'"),
	'0', 'the database is gone, and its pending tasks with it');
is($node->launcher_pid, $launcher, 'the launcher runs on');

# the queue of database postgres carries on
$node->safe_psql('postgres', "SELECT backtest_cancel($blocker)");
$node->wait_status($blocker, 'cancelled');
my $a1 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->wait_status($a1, 'completed');
pass('a task of database postgres runs after the drop');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/(ERROR|FATAL|PANIC):/, 'nothing errored since the drop (launcher, dispatchers, workers)');
unlike($log, qr/database \d+ (does not exist|was dropped)/, 'no process tried to connect to the dropped database');

$node->stop;
done_testing();
