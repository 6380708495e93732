# A dispatcher lingers when its queue goes idle (pg_backtest.dispatcher_linger),
# so that the next submission starts its worker at once instead of first
# waiting for a new dispatcher (0.4.0 measured 33 ms p50 and ~1 s p99 from
# commit to "running" for a lone submission).  Tested: a dispatcher that has
# started no worker (the launcher's visit at server start) does not linger;
# one that has stays, serves the next submission itself, and leaves once the
# setting is lowered by a reload (0: at once) or its time is up; DROP
# DATABASE, CREATE DATABASE ... TEMPLATE and ALTER DATABASE ... RENAME of a
# database whose dispatcher lingers succeed (the ProcessUtility hook sends it
# away) and its queue works afterwards; when a task worker cannot be
# registered for want of background worker slots, the lingering dispatchers
# of other databases give theirs back and the task runs.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

# 6 worker processes: the logical replication launcher, pg_cron's, ours, and
# three for dispatchers and task workers (the shortage case at the end needs
# exactly that)
my $node = PgBacktestNode->create(
	'linger',
	extension => 0,
	conf      => q{
pg_backtest.max_concurrent = 1
pg_backtest.dispatcher_linger = '10min'
max_worker_processes = 6
max_parallel_workers = 0
});

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION pg_backtest');
	$node->create_klines($db, bars => 200);
}

sub run_task
{
	my ($db) = @_;
	my $id = $node->safe_psql($db, "SELECT backtest_submit('k', 'A', 'sma_cross')");
	$node->wait_status($id, 'completed', db => $db);
	return $id;
}

# --- the launcher's visit at start: no worker started, no lingering ------------

setup_db('postgres');
$node->restart;
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'")
  or die 'no launcher';
# the visit of database postgres (which has the extension) ends with its dispatcher gone
ok($node->wait_dispatchers('postgres', 0), 'a dispatcher that started no worker exits at once, whatever the linger');

# --- a dispatcher that ran a task stays and serves the next one ------------------

run_task('postgres');
my $disp = $node->dispatcher_pid('postgres');
isnt($disp, '0', 'after its task completed the dispatcher of postgres is still there');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')"),
	'0', 'with its queue idle');
run_task('postgres');
is($node->dispatcher_pid('postgres'), $disp, 'the next submission is served by the same dispatcher');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher'"),
	'1', 'one dispatcher in the cluster');

# --- a reload lowering the setting makes it leave --------------------------------

$node->set_conf('pg_backtest.dispatcher_linger', 0);
ok($node->wait_dispatchers('postgres', 0), 'dispatcher_linger = 0 after a reload: the idle dispatcher leaves');
run_task('postgres');
ok($node->wait_dispatchers('postgres', 0), 'with dispatcher_linger = 0 the dispatcher exits once its task is done');

$node->set_conf('pg_backtest.dispatcher_linger', '1s');
run_task('postgres');
ok($node->wait_dispatchers('postgres', 0), 'dispatcher_linger = 1s: the dispatcher leaves after its time');

$node->set_conf('pg_backtest.dispatcher_linger', '10min');

# --- commands that need the database to themselves -------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE db_b');
setup_db('db_b');
run_task('db_b');
my $disp_b = $node->dispatcher_pid('db_b');
isnt($disp_b, '0', 'the dispatcher of db_b lingers');
my $offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE DATABASE db_copy TEMPLATE db_b');
is($ret, 0, 'CREATE DATABASE ... TEMPLATE db_b while its dispatcher lingers succeeds') or diag $err;
($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE db_b RENAME TO db_c');
is($ret, 0, 'ALTER DATABASE db_b RENAME while its dispatcher lingers succeeds') or diag $err;
my $t = run_task('db_c');
pass("the renamed database's queue runs a task ($t)");
isnt($node->dispatcher_pid('db_c'), '0', 'and its dispatcher lingers again');
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_c');
is($ret, 0, 'DROP DATABASE of a database whose dispatcher lingers succeeds') or diag $err;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'db_c'"),
	'0', 'the database is gone');
unlike(slurp_file($node->logfile, $offset), qr/is being accessed by other users/,
	'no command waited for the dispatcher');
ok($node->wait_dispatchers('db_c', 0), 'no dispatcher is left for it');

# the copy has the extension and a queue of its own
run_task('db_copy');
pass('a task of the copied database runs');

# --- short of worker processes: lingering dispatchers give theirs back -----------

# dispatchers of postgres and db_copy linger (2 of the 3 free processes); a
# third database's dispatcher takes the last one and cannot start its worker
run_task('postgres');
isnt($node->dispatcher_pid('postgres'), '0', 'the dispatcher of postgres lingers');
isnt($node->dispatcher_pid('db_copy'), '0', 'the dispatcher of db_copy lingers');
$node->safe_psql('postgres', 'CREATE DATABASE db_d');
setup_db('db_d');
$offset = -s $node->logfile;
run_task('db_d');
pass('a task of a third database runs although lingering dispatchers held the worker processes');
like(slurp_file($node->logfile, $offset), qr/no background worker slot free to run task/,
	'(its first start found no free worker process)');
ok($node->wait_dispatchers('db_copy', 0), 'the lingering dispatcher of db_copy gave its process back');
run_task('db_copy');
pass('and db_copy is served again on its next submission');

done_testing();
