# backtest_cleanup: deletes finished tasks older than the TTL and, beyond
# max_tasks, the oldest finished ones, with their results (cascade); never
# pending or running tasks; returns the count; not executable by PUBLIC.
# backtest_schedule_cleanup registers one named pg_cron job, idempotently,
# and pg_cron really runs it.
use strict;
use warnings;

use PgBacktestNode qw(nap_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'cleanup', conf => q{
cron.use_background_workers = on
pg_backtest.max_concurrent = 1
});
$node->create_klines('postgres', bars => 300, grant => 'PUBLIC');
$node->create_naptime('postgres', 300, grant => 'PUBLIC');
$node->safe_psql('postgres', 'CREATE ROLE dave LOGIN');

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Submit $n tasks and wait for them; returns their ids
sub run_tasks
{
	my ($n) = @_;
	my @ids = split /\n/,
	  sql("SELECT backtest_submit('k', 'A', 'sma_cross') FROM generate_series(1, $n)");
	$node->wait_done;
	return @ids;
}

# Rows of task $id in results, trades and equity_curves
sub result_rows
{
	my ($ids) = @_;
	return sql(
		"SELECT (SELECT count(*) FROM backtest.results WHERE task_id IN ($ids)) || ','
             || (SELECT count(*) FROM backtest.trades WHERE task_id IN ($ids)) || ','
             || (SELECT count(*) FROM backtest.equity_curves WHERE task_id IN ($ids))");
}

# --- finished tasks of every kind --------------------------------------------

my @t = run_tasks(6);
my $f = sql("SELECT backtest_submit_query('SELECT ts, open, high, low, close / 0 AS close, volume FROM k ORDER BY ts', 'sma_cross')"
);
$node->wait_done;
my $c = sql(
	"BEGIN; SELECT backtest_submit('k', 'A', 'sma_cross') AS id \\gset\nSELECT backtest_cancel(:id);\nCOMMIT;\nSELECT :id;"
);
($c) = $c =~ /(\d+)\s*$/;
is( sql("SELECT string_agg(status, ',' ORDER BY id) FROM backtest.tasks"),
	'completed,completed,completed,completed,completed,completed,failed,cancelled',
	'six completed, one failed, one cancelled task');
my ($res, $trades, $eq) = split /,/, result_rows(join(',', @t[ 0, 1 ]));
is($res, 2, 'the two oldest have results');
cmp_ok($trades, '>', 0, 'and trades');
is($eq, 2, 'and equity curves');

# finish times: t1, t2 two hours ago; the rest within the hour, in order
sql(qq{
UPDATE backtest.tasks SET finished_at = now() - interval '2 hours' WHERE id IN ($t[0], $t[1]);
UPDATE backtest.tasks SET finished_at = now() - interval '50 minutes' WHERE id = $t[2];
UPDATE backtest.tasks SET finished_at = now() - interval '40 minutes' WHERE id = $t[3];
UPDATE backtest.tasks SET finished_at = now() - interval '30 minutes' WHERE id = $t[4];
UPDATE backtest.tasks SET finished_at = now() - interval '20 minutes' WHERE id = $t[5];
UPDATE backtest.tasks SET finished_at = now() - interval '10 minutes' WHERE id = $f;
UPDATE backtest.tasks SET finished_at = now() - interval '5 minutes' WHERE id = $c;
});

# --- TTL -----------------------------------------------------------------------

is(sql("SELECT backtest_cleanup('1 hour', 100)"), '2',
	'cleanup with a 1 hour TTL removes the 2 older tasks');
is( sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM backtest.tasks"),
	join(',', @t[ 2 .. 5 ], $f, $c),
	'the others remain');
is(result_rows(join(',', @t[ 0, 1 ])), '0,0,0',
	'their results, trades and equity curves are gone too');
is(sql("SELECT count(*) FROM backtest.equity WHERE task_id IN ($t[0], $t[1])"),
	'0', 'and backtest.equity shows none of them');
($res, $trades, $eq) = split /,/, result_rows(join(',', @t[ 2 .. 5 ]));
is("$res,$eq", '4,4', 'the remaining completed tasks keep their results');
is(sql("SELECT backtest_cleanup('1 hour', 100)"), '0',
	'a second run removes nothing');

# --- max_tasks -------------------------------------------------------------------

is(sql("SELECT backtest_cleanup('1 day', 3)"), '3',
	'max_tasks 3 removes the 3 oldest of 6 finished tasks');
is( sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM backtest.tasks"),
	join(',', $t[5], $f, $c),
	'the 3 most recently finished remain (completed, failed, cancelled)');
is(result_rows(join(',', @t[ 2 .. 4 ])), '0,0,0',
	'the removed ones\' results are gone');

# --- pending and running tasks are never removed ------------------------------

my $r = sql("SELECT backtest_submit_query(" . nap_query() . ", 'sma_cross')");
$node->wait_sleeping($r);
my $p = sql("SELECT backtest_submit('k', 'A', 'sma_cross')");
is(sql("SELECT status FROM backtest.tasks WHERE id = $p"),
	'pending', 'a task waits behind the running one');
# even with timestamps that would make them look old
sql("UPDATE backtest.tasks SET submitted_at = now() - interval '3 days', started_at = now() - interval '3 days' WHERE id IN ($r, $p)"
);

is(sql("SELECT backtest_cleanup('0', 0)"), '3',
	'TTL 0 and max_tasks 0 remove every finished task (3)');
is( sql("SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM backtest.tasks"),
	"$r:running,$p:pending",
	'but not the running or the pending one');
$node->set_naptime(0);
sql("SELECT backtest_cancel($r)");
$node->wait_done;
is(sql("SELECT string_agg(status, ',' ORDER BY id) FROM backtest.tasks"),
	'cancelled,completed', 'they finish normally afterwards');

# --- bad arguments ---------------------------------------------------------------

my ($ret, $out, $err) = $node->psql('postgres', "SELECT backtest_cleanup('-1 hour', 10)");
like($err, qr/ttl must be a non-negative interval/, 'a negative TTL is rejected');
($ret, $out, $err) = $node->psql('postgres', "SELECT backtest_cleanup('1 hour', -1)");
like($err, qr/max_tasks must be zero or more/, 'a negative max_tasks is rejected');

# --- privileges ------------------------------------------------------------------

($ret, $out, $err) = $node->psql_as('dave', 'SELECT backtest_cleanup()');
isnt($ret, 0, 'a role without EXECUTE cannot run backtest_cleanup');
like($err, qr/permission denied for function backtest_cleanup/,
	'... permission denied');
($ret, $out, $err) = $node->psql_as('dave', 'SELECT backtest_schedule_cleanup()');
like($err, qr/permission denied for function backtest_schedule_cleanup/,
	'nor backtest_schedule_cleanup');
is(sql("SELECT count(*) FROM backtest.tasks"), '2', 'nothing was deleted');

# --- pg_cron -----------------------------------------------------------------------

($ret, $out, $err) = $node->psql('postgres', 'SELECT backtest_schedule_cleanup()');
like($err, qr/pg_cron is not installed in this database/,
	'without pg_cron, backtest_schedule_cleanup says so');

sql('CREATE EXTENSION pg_cron');
my $cronver = sql("SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'");
my ($maj, $min) = $cronver =~ /^(\d+)\.(\d+)/;
my $seconds = ($maj > 1 || ($maj == 1 && $min >= 5));
my $schedule = $seconds ? '1 seconds' : '* * * * *';
note "pg_cron $cronver: schedule '$schedule'";

my $job1 = sql("SELECT backtest_schedule_cleanup('*/10 * * * *', '1 hour', 100)");
my $job2 = sql("SELECT backtest_schedule_cleanup('$schedule', '1 hour', 100)");
is($job2, $job1, 'scheduling twice returns the same job');
is( sql("SELECT count(*) || ',' || min(schedule) || ',' || min(database) FROM cron.job WHERE jobname = 'pg_backtest_cleanup'"
	),
	"1,$schedule,postgres",
	'one job named pg_backtest_cleanup, with the latest schedule, in this database');
is(sql("SELECT count(*) FROM cron.job"), '1', 'and no other job');
like(sql("SELECT command FROM cron.job WHERE jobname = 'pg_backtest_cleanup'"),
	qr/backtest_cleanup\('01:00:00', 100\)/,
	'the job runs backtest_cleanup with the given TTL and max_tasks');

# expired tasks for the job to remove
my @e = run_tasks(2);
sql("UPDATE backtest.tasks SET finished_at = now() - interval '2 hours' WHERE id IN ($e[0], $e[1])");
my $keep = (run_tasks(1))[0];
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM backtest.tasks WHERE id IN ($e[0], $e[1])")
  or die 'the pg_cron job did not remove the expired tasks: '
  . sql("SELECT string_agg(status || ' ' || coalesce(return_message, ''), '; ') FROM cron.job_run_details");
pass('the pg_cron job removed the expired tasks');
is(result_rows("$e[0], $e[1]"), '0,0,0', 'with their results');
is(sql("SELECT count(*) FROM backtest.tasks WHERE id = $keep"),
	'1', 'a recent task is kept');
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM cron.job_run_details WHERE jobid = $job1 AND status = 'succeeded'")
  or die 'no succeeded run in cron.job_run_details';
pass('cron.job_run_details records a succeeded run');

# --- backtest_delete and TRUNCATE take the trades and sweep rows along -------
# (a statement-level trigger on backtest.tasks since 0.5.0, no foreign key)

my $d1 = (run_tasks(1))[0];
my $sw = sql("SELECT backtest_submit_sweep('k', 'A', 'sma_cross', '{\"fast\": [5, 10], \"slow\": [20, 30]}')");
$node->wait_done;
cmp_ok(sql("SELECT count(*) FROM backtest.trades WHERE task_id = $d1"), '>', 0, 'a task with trades');
is(sql("SELECT count(*) FROM backtest.sweep_results WHERE task_id = $sw"), '4', 'a sweep task with 4 rows');
sql("SELECT backtest_delete($d1)");
sql("SELECT backtest_delete($sw)");
is(result_rows($d1), '0,0,0', 'backtest_delete removes its results, trades and equity curve');
is(sql("SELECT count(*) FROM backtest.sweep_results WHERE task_id = $sw"), '0',
	'and a sweep task\'s rows');
run_tasks(1);
sql("TRUNCATE backtest.tasks CASCADE");
is( sql("SELECT (SELECT count(*) FROM backtest.trades) + (SELECT count(*) FROM backtest.sweep_results)"),
	'0', 'TRUNCATE backtest.tasks CASCADE empties trades and sweep_results too');

$node->stop;
done_testing();
