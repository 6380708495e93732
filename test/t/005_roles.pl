# Roles: each role sees only its own tasks and results (row-level security on
# the backtest tables), members of backtest_admin see all; a task runs as the
# role that submitted it, with its privileges and the K-line table's
# row-level security; a task whose owner can no longer log in fails instead
# of staying "running".
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('roles', conf => 'pg_backtest.max_concurrent = 2');

# two symbols, 300 bars each; bob may only read symbol A
$node->create_klines('postgres', bars => 300, symbols => [ 'A', 'B' ], grant => 'PUBLIC');
$node->safe_psql(
	'postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
CREATE ROLE auditor LOGIN IN ROLE backtest_admin;
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_read ON k FOR SELECT USING (current_user <> 'bob' OR symbol = 'A');
-- readable by alice only
CREATE TABLE alice_k AS SELECT * FROM k WHERE symbol = 'A';
REVOKE ALL ON alice_k FROM PUBLIC;
GRANT SELECT ON alice_k TO alice;
});

sub as { return $node->safe_psql_as(@_); }

# --- each role submits ----------------------------------------------------

my $a1 = as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $a2 = as('alice', "SELECT backtest_submit('alice_k', 'A', 'sma_cross')");
my $b1 = as('bob',   "SELECT backtest_submit('k', 'A', 'sma_cross')");
# the same task as alice's second, submitted by bob: he may not read
# alice_k, so the submit refuses it
my ($rc, $o, $e) = $node->psql_as('bob', "SELECT backtest_submit('alice_k', 'A', 'sma_cross')");
like($e, qr/permission denied for table alice_k/, "bob's submit on alice's table is refused");
# ... and when he lost the privilege after submitting, the worker's read fails
# (grant, submit and revoke commit together: the task runs after the revoke)
my $b2 = $node->safe_psql('postgres', q{
BEGIN;
GRANT SELECT ON alice_k TO bob;
SET ROLE bob;
SELECT backtest_submit('alice_k', 'A', 'sma_cross');
RESET ROLE;
REVOKE SELECT ON alice_k FROM bob;
COMMIT;});
# bob's task on symbol B: the policy hides every row from him
my $b3 = as('bob', "SELECT backtest_submit('k', 'B', 'sma_cross')");
# alice's on B sees them all
my $a3 = as('alice', "SELECT backtest_submit('k', 'B', 'sma_cross')");
$node->wait_done(ids => [ $a1, $a2, $a3, $b1, $b2, $b3 ]);

is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(id || ':' || owner || ':' || status, ' ' ORDER BY id) FROM backtest.tasks"),
	"$a1:alice:completed $a2:alice:completed $b1:bob:completed $b2:bob:failed $b3:bob:completed $a3:alice:completed",
	'owners and outcomes');
like(
	$node->safe_psql('postgres', "SELECT error FROM backtest.tasks WHERE id = $b2"),
	qr/permission denied for table alice_k/,
	"bob's task on alice's table failed with permission denied");
is( $node->safe_psql('postgres',
		"SELECT task_id || ':' || bars FROM backtest.results WHERE task_id IN ($a2, $b3, $a3) ORDER BY task_id"),
	"$a2:300\n$b3:0\n$a3:300",
	"alice's task on her table read 300 bars; row-level security gave bob's task on B 0 bars, alice's 300");
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM backtest.equity WHERE task_id = $b3"),
	'0', "bob's empty run has an empty equity curve");

# --- visibility -----------------------------------------------------------

my %mine = (alice => [ $a1, $a2, $a3 ], bob => [ $b1, $b2, $b3 ]);
for my $role ('alice', 'bob')
{
	my $other = $role eq 'alice' ? 'bob' : 'alice';
	my $ids   = join(',', sort { $a <=> $b } @{ $mine{$role} });
	is(as($role, "SELECT string_agg(id::text, ',' ORDER BY id) FROM backtest.tasks"),
		$ids, "$role sees exactly her/his own tasks");
	is( as(
			$role, qq{
SELECT (SELECT count(*) FROM backtest.tasks WHERE owner = '$other')
     + (SELECT count(*) FROM backtest.results WHERE owner = '$other')
     + (SELECT count(*) FROM backtest.trades WHERE owner = '$other')
     + (SELECT count(*) FROM backtest.equity_curves WHERE owner = '$other')
     + (SELECT count(*) FROM backtest.equity e WHERE e.task_id IN (@{[ join(',', @{ $mine{$other} }) ]}))}
		),
		'0',
		"$role sees none of $other\'s tasks, results, trades or equity rows");
	is( as(
			$role, qq{
SELECT count(*) FROM backtest.results WHERE task_id IN ($ids)}),
		scalar(grep { $_ != $b2 } @{ $mine{$role} }),
		"$role sees the results of her/his completed tasks");
	cmp_ok(
		as($role,
			"SELECT count(*) FROM backtest.equity WHERE task_id = $mine{$role}[0]"),
		'>', 0, "$role sees her/his equity rows");
	is( as($role, "SELECT total_tasks FROM backtest_stats()"),
		'3', "backtest_stats counts only $role\'s tasks");
}

# the same totals as the superuser, to show the rows exist
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM backtest.tasks) || ',' || (SELECT count(*) FROM backtest.results) || ','
    || (SELECT count(*) > 0 FROM backtest.trades WHERE owner = 'alice') || ','
    || (SELECT count(*) > 0 FROM backtest.trades WHERE owner = 'bob')}),
	'6,5,true,true',
	'the superuser sees all 6 tasks, 5 results and both roles\' trades');

# backtest_status and backtest_cancel on someone else's task
is(as('bob', "SELECT count(*) FROM backtest_status($a1)"),
	'0', "backtest_status of alice's task returns no row to bob");
is(as('bob', "SELECT owner FROM backtest_status($b1)"),
	'bob', 'backtest_status of his own task returns it');
my ($ret, $out, $err) = $node->psql_as('bob', "SELECT backtest_cancel($a1)");
isnt($ret, 0, "bob's backtest_cancel of alice's task errors");
like($err, qr/ERROR:  task $a1 does not exist/,
	'... saying the task does not exist (he cannot see it)');

# a member of backtest_admin sees everything
is( as(
		'auditor', q{
SELECT (SELECT count(*) FROM backtest.tasks) || ',' || (SELECT count(*) FROM backtest.results) || ','
    || (SELECT count(DISTINCT owner) FROM backtest.trades) || ','
    || (SELECT count(DISTINCT task_id) FROM backtest.equity)}),
	'6,5,2,4',
	'a backtest_admin member sees all tasks, results, trades and equity curves');
is(as('auditor', "SELECT owner FROM backtest_status($a1)"),
	'alice', 'and backtest_status of anyone\'s task');
is(as('auditor', "SELECT total_tasks FROM backtest_stats()"),
	'6', 'and backtest_stats counts all');

# ... and may cancel anyone's task
my $long = sleep_query(300);
my $a4 = as('alice', "SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_sleeping($a4);
is(as('auditor', "SELECT backtest_cancel($a4)"),
	't', "a backtest_admin member cancels alice's running task");
$node->wait_task($a4);
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $a4"),
	'cancelled', 'it ends cancelled');

# nobody but the extension's functions writes the tables
($ret, $out, $err) = $node->psql_as('bob', "UPDATE backtest.tasks SET status = 'cancelled' WHERE id = $b1");
like($err, qr/permission denied for table tasks/,
	'a user cannot update backtest.tasks directly');
($ret, $out, $err) = $node->psql_as('bob', "DELETE FROM backtest.results WHERE task_id = $b1");
like($err, qr/permission denied for table results/,
	'nor delete results');

# --- an owner who can no longer log in -------------------------------------

# With both slots busy, carol's task waits; she loses LOGIN before it starts.
# No worker could connect as her: the task ends failed at once, never
# started, with that cause (0.3.0 started it 3 times, each worker died of
# FATAL, and the error only said "the worker exited before finishing").
$node->set_conf('pg_backtest.max_concurrent', 1);
my $blocker = $node->safe_psql('postgres',
	"SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_sleeping($blocker);
my $c1 = as('carol', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->safe_psql('postgres', 'ALTER ROLE carol NOLOGIN');
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT backtest_cancel($blocker)");
$node->poll_query_until('postgres',
	"SELECT status NOT IN ('pending', 'running') FROM backtest.tasks WHERE id = $c1")
  or diag "task $c1 is stuck: "
  . $node->safe_psql('postgres', "SELECT status, attempts, worker_pid FROM backtest.tasks WHERE id = $c1")
  . ', slots in use: '
  . $node->safe_psql('postgres', 'SELECT backtest_running_tasks()');
my ($cstatus, $cattempts, $cerror) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT status, attempts, error FROM backtest.tasks WHERE id = $c1");
is($cstatus, 'failed', "the task of a role that lost LOGIN ends failed");
is($cerror // '', 'role "carol" cannot log in, so no background worker can run the task as it',
	'with the cause');
is($cattempts, '0', 'never started');
ok(!$node->log_contains(qr/role "carol" is not permitted to log in/, $log_offset),
	'no worker tried to connect as her');
$node->wait_slots_free;

# the pool still works
my $a5 = as('alice', "SELECT backtest_submit('k', 'B', 'sma_cross')");
$node->wait_task($a5);
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $a5"),
	'completed', 'a later task completes');

# --- search_path: the writes done as the extension owner ---------------------

# mallory owns a schema and puts it before pg_catalog in her search_path.
# Objects there must not be picked up by the SQL the extension runs as its
# owner (a superuser) on her behalf: in her session (backtest_cancel) or in
# her task's worker (which applies her role's settings).  If they were, her
# functions would run as superuser and make her one.
$node->safe_psql(
	'postgres', q{
CREATE ROLE mallory LOGIN;
CREATE SCHEMA evil AUTHORIZATION mallory;
});
as(
	'mallory', q{
CREATE FUNCTION evil.escalate() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
        EXECUTE 'ALTER ROLE mallory SUPERUSER';
    END IF;
END $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate(); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate(); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE FUNCTION evil.tsmi(timestamptz, timestamptz) RETURNS interval LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.escalate(); RETURN $1 OPERATOR(pg_catalog.-) $2; END $$;
CREATE OPERATOR evil.- (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.tsmi);
});
my $super = q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'};

# in her session: cancel a task of hers (pending, so cancelled at once)
my $m1 = as(
	'mallory', q{
SET search_path = evil, pg_catalog, public;
BEGIN;
SELECT backtest_submit('k', 'A', 'sma_cross') AS id \gset
SELECT backtest_cancel(:id);
COMMIT;
SELECT :id;
});
($m1) = $m1 =~ /(\d+)\s*$/;
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $m1"),
	'cancelled', "mallory's task is cancelled");
is($node->safe_psql('postgres', $super), 'f',
	"backtest_cancel did not run mallory's functions as superuser");
$node->safe_psql('postgres', 'ALTER ROLE mallory NOSUPERUSER');

# in her task's worker
$node->safe_psql('postgres',
	'ALTER ROLE mallory SET search_path = evil, pg_catalog, public');
my $m2 = as('mallory', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
$node->wait_task($m2);
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $m2"),
	'completed', "mallory's task completes");
is($node->safe_psql('postgres', $super), 'f',
	"the worker did not run mallory's operators as superuser");
$node->safe_psql('postgres', 'ALTER ROLE mallory NOSUPERUSER');

$node->stop;
done_testing();
