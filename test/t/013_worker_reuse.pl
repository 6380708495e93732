# A task worker that finishes a task runs the next pending task of the same
# owner and database instead of exiting (issue 10 item 5), and only that:
# with owners interleaved each task runs as its own owner (row-level
# security shows each role other bars); each task runs under the settings
# its submitter had (search_path, TimeZone), not the previous task's; a
# cancel of the second task of a reused worker stops that task only, and
# the worker goes on with the next; pg_backtest.tasks_per_worker bounds the
# tasks one worker runs.  The worker logs (DEBUG1) "runs task N next" for
# each task it takes itself, which the test counts.
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'reuse', conf => q{
pg_backtest.max_concurrent = 1
log_min_messages = debug1
});

# k: bars of symbol A owned by alice (200) and by bob (150); RLS shows each
# role its own.  s1.kq / s2.kq: naive timestamps, 120 and 80 bars.
$node->safe_psql(
	'postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE TABLE k (
    who name NOT NULL, symbol text NOT NULL, ts timestamptz NOT NULL,
    open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL,
    close float8 NOT NULL, volume float8 NOT NULL);
INSERT INTO k
SELECT w, 'A', timestamptz '2020-01-01 00:00+00' + i * interval '1 day', c, c + 1, c - 1, c, 1000 + i
FROM (VALUES ('alice', 200), ('bob', 150)) v(w, n),
     LATERAL (SELECT i, 100 + 10 * sin(i / 15.0) + i * 0.01 AS c FROM generate_series(0, n - 1) i) s;
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON k USING (who = current_user);
GRANT SELECT ON k TO alice, bob;
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE TABLE s1.kq AS
SELECT 'A'::text AS symbol, timestamp '2020-01-01 00:00' + i * interval '1 day' AS tsn,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 15.0) AS c FROM generate_series(0, 119) i) s;
CREATE TABLE s2.kq AS SELECT * FROM s1.kq WHERE tsn < timestamp '2020-01-01' + interval '80 days';
GRANT USAGE ON SCHEMA s1, s2 TO alice;
GRANT SELECT ON s1.kq, s2.kq TO alice;
});

my $long = sleep_query(300);

# the only slot: a task of the superuser that sleeps until cancelled
sub block
{
	my $id = $node->safe_psql('postgres', "SELECT backtest_submit_query($long, 'sma_cross')");
	$node->wait_sleeping($id);
	return $id;
}

sub unblock
{
	my ($id) = @_;
	$node->safe_psql('postgres', "SELECT backtest_cancel($id)");
	is($node->wait_task($id), 'cancelled', "blocker $id cancelled");
}

sub submit_as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', "SET ROLE $role; $sql");
}

# the tasks logged as taken by a worker that had run another before
sub reused_since
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @ids = ($log =~ /pg_backtest: task worker \d+ runs task (\d+) next/g);
	return join(',', sort { $a <=> $b } @ids);
}

# --- owners interleaved: each task as its own owner ---------------------------

my $offset = -s $node->logfile;
my $blocker = block();
my @tasks;
for my $role ('alice', 'alice', 'bob', 'bob', 'alice')
{
	push @tasks, [ $role, submit_as($role, "SELECT backtest_submit('k', 'A', 'sma_cross')") ];
}
unblock($blocker);
for my $t (@tasks)
{
	is($node->wait_task($t->[1]), 'completed', "task $t->[1] of $t->[0] completed");
}
my $bars = join(' ',
	map { $node->safe_psql('postgres', "SELECT bars FROM backtest.results WHERE task_id = $_->[1]") }
	  @tasks);
is($bars, '200 200 150 150 200',
	'each task read the bars its own owner may see (RLS), whichever worker ran it');
is( $node->safe_psql('postgres',
		'SELECT string_agg(owner::text, \' \' ORDER BY task_id) FROM backtest.results WHERE task_id >= '
		  . $tasks[0][1]),
	'alice alice bob bob alice',
	'and its results belong to its owner');
is(reused_since($offset), "$tasks[1][1],$tasks[3][1]",
	'the second task of each owner ran in the worker of the first; a task of another owner never did');

# --- settings: re-applied per task, not left over from the previous one --------

$offset = -s $node->logfile;
$blocker = block();
my $q = q{$q$SELECT symbol, tsn::timestamptz AS ts, open, high, low, close, volume FROM kq ORDER BY tsn$q$};
my $hk = submit_as('alice',
	"SET search_path = s1, public; SET TimeZone = 'Asia/Hong_Kong'; SELECT backtest_submit_query($q, 'sma_cross')");
my $utc = submit_as('alice',
	"SET search_path = s2, public; SET TimeZone = 'UTC'; SELECT backtest_submit_query($q, 'sma_cross')");
unblock($blocker);
is($node->wait_task($hk),  'completed', 'the Hong Kong task completed');
is($node->wait_task($utc), 'completed', 'the UTC task completed');
is(reused_since($offset), $utc, 'one worker ran both');
is( $node->safe_psql(
		'postgres', qq{
SELECT string_agg(bars || ' ' || to_char(start_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ' | ' ORDER BY task_id)
FROM backtest.results WHERE task_id IN ($hk, $utc)}),
	'120 2019-12-31 16:00 | 80 2020-01-01 00:00',
	'each ran under its own search_path (s1.kq, s2.kq) and TimeZone (naive times in HK, then UTC)');

# --- cancel of the second task of a reused worker -------------------------------

$offset = -s $node->logfile;
$blocker = block();
my $c1 = submit_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $c2 = submit_as('alice', "SELECT backtest_submit_query($long, 'sma_cross')");
my $c3 = submit_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
unblock($blocker);
is($node->wait_task($c1), 'completed', 'the first task completed');
$node->wait_sleeping($c2);
is( $node->safe_psql(
		'postgres', qq{
SELECT a.backend_start < c1.finished_at FROM backtest.tasks c2
JOIN pg_stat_activity a ON a.pid = c2.worker_pid, backtest.tasks c1
WHERE c2.id = $c2 AND c1.id = $c1}),
	't', 'the second task runs in the worker that ran the first (started before the first finished)');
is(submit_as('alice', "SELECT backtest_cancel($c2)"), 't', 'its owner cancels it');
is($node->wait_task($c2), 'cancelled', 'the second task is cancelled');
is($node->safe_psql('postgres', "SELECT message FROM backtest.tasks WHERE id = $c2"),
	'cancelled while running', 'while it ran');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id = $c2"),
	'0', 'it stored no results');
is($node->wait_task($c3), 'completed', 'the third task completed after it');
is(reused_since($offset), "$c2,$c3", 'in the same worker: the cancel stopped only the task it named');
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $c1"),
	'completed', 'the first task stays completed');

# --- the bound: pg_backtest.tasks_per_worker -----------------------------------

$node->set_conf('pg_backtest.tasks_per_worker', 2);
$offset = -s $node->logfile;
$blocker = block();
my @b;
push @b, submit_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')") for 1 .. 5;
unblock($blocker);
is($node->wait_task($_), 'completed', "task $_ completed") for @b;
is(reused_since($offset), "$b[1],$b[3]",
	'with tasks_per_worker = 2 each worker ran two tasks at most (1-2, 3-4, 5)');
is( $node->safe_psql(
		'postgres', "SELECT string_agg(attempts::text, ',') FROM backtest.tasks WHERE id >= $b[0]"),
	'1,1,1,1,1', 'each task once');

# --- a reused worker's own memory stays flat ----------------------------------
# Each transaction of a worker used to end in TopMemoryContext, so what a
# task allocated after one (its progress messages: "N bars loaded") stayed
# there for the worker's life.  Eight tasks in one worker; at each claim
# the test reads TopMemoryContext's own used bytes (claim_memory).
$node->set_conf('pg_backtest.tasks_per_worker', 100);
$node->set_conf('pg_backtest.test_delay', 'after_claim:1500');
$offset = -s $node->logfile;
my @m = map { submit_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')") } 1 .. 8;
my ($used, $workers) = $node->claim_memory(\@m, $offset);
is($node->wait_task($m[-1]), 'completed', 'eight tasks of one owner complete');
is($workers, 1, '... all in one reused worker');
note("TopMemoryContext used at each claim: @$used");
cmp_ok($used->[-1] - $used->[2], '<=', 0,
	"... whose TopMemoryContext does not grow from the third task to the eighth (@$used[2 .. 7] bytes)");
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pg_backtest.test_delay; SELECT pg_reload_conf()');

$node->stop;
done_testing();
