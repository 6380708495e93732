# A hostile search_path changes nothing, and the queue's management
# functions act only on what the caller may manage.
#
# mallory puts her own operators (=, <, >, <=, >=, <> on bigint, integer,
# text, oid, timestamptz, interval) and functions (now, clock_timestamp,
# unnest, current_setting, ...) first on her search_path; each of them logs
# that it ran and answers "true" (or an empty set).  Then every SQL-callable
# entry point is used as mallory: no hostile function may run, results equal a
# clean session's, and backtest_cancel / backtest_delete cannot reach alice's
# tasks (0.3.0's backtest_cancel cancelled them).  Also: submit checks the
# source's privileges (defect 8, submit side), backtest_delete, a delegable
# backtest_cleanup, backtest_schedule_cleanup validating its arguments, and
# an untrustworthy pre-existing backtest_admin role refused at install.
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('hostile', conf => 'pg_backtest.max_concurrent = 1');
$node->create_klines('postgres', grant => 'PUBLIC');
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_cron;
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
CREATE ROLE maint LOGIN IN ROLE backtest_admin;
-- privileges for the submit checks
CREATE TABLE secret AS SELECT * FROM k;
CREATE TABLE partial AS SELECT * FROM k;
GRANT SELECT (symbol, ts, close) ON partial TO mallory;
CREATE VIEW secret_view AS SELECT * FROM secret;
GRANT SELECT ON secret_view TO mallory;
-- mallory's schema of hostile objects
CREATE SCHEMA evil AUTHORIZATION mallory;
CREATE TABLE public.calls (fn text, by_role name DEFAULT current_user);
GRANT INSERT, SELECT ON public.calls TO PUBLIC;
});

$node->safe_psql(
	'postgres', q{
SET ROLE mallory;
DO $do$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'text', 'oid', 'timestamptz', 'interval', 'double precision'] LOOP
        EXECUTE format($f$CREATE FUNCTION evil.%s(a %s, b %s) RETURNS boolean LANGUAGE plpgsql AS
            $b$BEGIN INSERT INTO public.calls (fn) VALUES (%L); RETURN true; END$b$ $f$,
            'op_' || replace(t, ' ', '_'), t, t, 'operator on ' || t);
        FOREACH op IN ARRAY ARRAY['=', '<', '>', '<=', '>=', '<>'] LOOP
            EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%s)',
                           op, t, t, 'op_' || replace(t, ' ', '_'));
        END LOOP;
    END LOOP;
END
$do$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('now'); RETURN '2000-01-01'; END$$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('clock_timestamp'); RETURN '2000-01-01'; END$$;
CREATE FUNCTION evil.current_setting(text) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('current_setting'); RETURN '1'; END$$;
CREATE FUNCTION evil.pg_has_role(oid, text) RETURNS boolean LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('pg_has_role'); RETURN true; END$$;
CREATE FUNCTION evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('unnest'); END$$;
CREATE FUNCTION evil.extract(text, interval) RETURNS numeric LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('extract'); RETURN 0; END$$;
CREATE FUNCTION evil.make_interval(secs double precision) RETURNS interval LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('make_interval'); RETURN '0'; END$$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
});
$node->safe_psql('postgres',
	q{ALTER ROLE mallory SET search_path = evil, pg_catalog, public});

# the hostile objects work: a query of mallory's own that uses = calls them
$node->safe_psql_as('mallory', 'SELECT 1 FROM k WHERE 1::bigint = 2::bigint LIMIT 1');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM calls'),
	't', 'the hostile operators are picked up from mallory\'s search_path');
$node->safe_psql('postgres', 'TRUNCATE calls');

sub calls
{
	return $node->safe_psql('postgres',
		q{SELECT coalesce(string_agg(DISTINCT fn, ', '), '') FROM calls});
}

# --- mallory's own task: submit, worker, bookkeeping ------------------------

my ($rc, $out, $err) = $node->psql_as('mallory', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
is($rc, 0, 'mallory can submit') or diag $err;
my $m1 = $out;
is($node->wait_task($m1), 'completed', 'her task completes under her hostile search_path');
is(calls(), '', 'no hostile function ran while submitting, running and saving her task');
is( $node->safe_psql('postgres',
		"SELECT settings->>'search_path' FROM backtest.tasks WHERE id = $m1"),
	'evil, pg_catalog, public',
	'the task recorded her search_path');

# --- alice's tasks: one running (sleeps), one pending behind it -------------

my $long = sleep_query(300);
my $a_run = $node->safe_psql_as('alice', "SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_status($a_run, 'running');
my $a_pend = $node->safe_psql_as('alice', q{SELECT backtest_submit('k', 'A', 'sma_cross')});

# --- defect 2: backtest_cancel through a hostile = ---------------------------

($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_cancel($a_pend)");
isnt($rc, 0, 'mallory cannot cancel alice\'s pending task');
like($err, qr/task $a_pend does not exist/, '... it does not exist for her');
is($node->safe_psql('postgres', "SELECT status FROM backtest.tasks WHERE id = $a_pend"),
	'pending', 'alice\'s pending task is still pending');
($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_cancel($a_run)");
isnt($rc, 0, 'mallory cannot cancel alice\'s running task');
is( $node->safe_psql('postgres',
		"SELECT status || ',' || cancel_requested FROM backtest.tasks WHERE id = $a_run"),
	'running,false',
	'alice\'s running task is still running, no cancel requested');
($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_delete($a_pend)");
like($err, qr/task $a_pend does not exist/, 'mallory cannot delete alice\'s task');
is(calls(), '', 'no hostile function ran in backtest_cancel or backtest_delete');

# her own task she may cancel (it finished: false) under the same search_path
($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_cancel($m1)");
is($out, 'f', 'mallory\'s cancel of her own finished task says false');

# --- every other entry point as mallory --------------------------------------

my %clean;
my @entry = (
	[ 'backtest_run', q{SELECT trades_count, round(equity_final::numeric, 6) FROM backtest_run('k', 'A', 'sma_cross', '{}', '2020-03-01', '2021-01-01')} ],
	[ 'backtest_trades', q{SELECT count(*), round(sum(pnl)::numeric, 6) FROM backtest_trades('k', 'A', 'sma_cross', '{}', '2020-03-01', '2021-01-01')} ],
	[ 'backtest_equity', q{SELECT count(*), round(sum(equity)::numeric, 4) FROM backtest_equity('k', 'A', 'sma_cross', '{}', '2020-03-01', '2021-01-01')} ],
	[ 'backtest_sweep', q{SELECT count(*), max(trades_count) FROM backtest_sweep('k', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}', '{}', '2020-03-01', '2021-01-01')} ],
	[ 'backtest_walk_forward', q{SELECT count(*) FROM backtest_walk_forward('k', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}', '{}', '60 days', '30 days')} ],
	[ 'backtest_indicator', q{SELECT count(*), round(sum(value)::numeric, 6) FROM backtest_indicator('k', 'A', 'sma', '{"period": 5}', '2020-03-01', '2021-01-01')} ],
	[ 'backtest aggregate', q{SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}' ORDER BY ts)).trades_count FROM k} ],
	[ 'bt_sma window', q{SELECT round(sum(s)::numeric, 6) FROM (SELECT bt_sma(close, 5) OVER (ORDER BY ts) AS s FROM k) q} ],
	[ 'backtest_status', "SELECT count(*) FROM backtest_status($a_pend)" ],
	[ 'backtest_stats', q{SELECT total_tasks, pending, running FROM backtest_stats()} ],
	[ 'backtest_running_tasks', q{SELECT backtest_running_tasks()} ],
	[ 'backtest.equity view', "SELECT count(*) FROM backtest.equity WHERE task_id OPERATOR(pg_catalog.=) $m1" ],
	[ 'backtest_notifications', q{SELECT count(*), min(kind), min(title) FROM backtest_notifications(false)} ],
	[ 'backtest_notifications_read', q{SELECT backtest_notifications_read(ARRAY[-1]::bigint[])} ],
	[ 'backtest_notification_settings', q{SELECT * FROM backtest_notification_settings(ARRAY['task_failed'], 'normal')} ],
	[ 'backtest_system_status', q{SELECT db_pending_tasks, db_running_tasks, max_concurrent, live_streams IS NULL FROM backtest_system_status()} ],
);
for my $e (@entry)
{
	my ($name, $sql) = @$e;
	my $want = $node->safe_psql('postgres', "SET ROLE mallory; SET search_path = public; $sql");
	$node->safe_psql('postgres', 'TRUNCATE calls');
	my ($rc2, $got, $err2) = $node->psql_as('mallory', $sql);
	is($rc2, 0, "$name runs under the hostile search_path") or diag $err2;
	is($got, $want, "$name gives what it gives under a clean search_path");
	is(calls(), '', "$name calls no hostile function");
}

# --- defect 8 (submit side): privileges are checked at submit ---------------

for my $s (
	[ q{SELECT backtest_submit('secret', 'A', 'sma_cross')}, qr/permission denied for table secret/, 'a table she may not read' ],
	[ q{SELECT backtest_submit('partial', 'A', 'sma_cross')}, qr/permission denied for table partial/, 'a table whose open/high/low she may not read' ],
	[ q{SELECT backtest_submit_query('SELECT * FROM public.secret ORDER BY ts', 'sma_cross')}, qr/permission denied for table secret/, 'a query over a table she may not read' ],
	[ q{SELECT backtest_submit_sweep('secret', 'A', 'sma_cross', '{"fast": [5, 10]}')}, qr/permission denied for table secret/, 'a sweep of a table she may not read' ])
{
	my ($sql, $re, $what) = @$s;
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks');
	($rc, $out, $err) = $node->psql_as('mallory', $sql);
	isnt($rc, 0, "submit refuses $what");
	like($err, $re, '... with the permission error');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'),
		$before, '... and queues nothing');
}
($rc, $out, $err) = $node->psql_as('mallory',
	q{SELECT backtest_submit('partial', 'A', 'sma_cross', '{"columns": {"open": "close", "high": "close", "low": "close"}}')});
is($rc, 0, 'the columns she may read are enough') or diag $err;
($rc, $out, $err) = $node->psql_as('mallory', q{SELECT backtest_submit('secret_view', 'A', 'sma_cross')});
is($rc, 0, 'a view she may read over a table she may not (the view owner\'s rights)') or diag $err;
is(calls(), '', 'no hostile function ran in the submit checks');

# --- defect 11: backtest_delete ---------------------------------------------

($rc, $out, $err) = $node->psql_as('alice', "SELECT backtest_delete($a_pend)");
like($err, qr/task $a_pend is pending, and only a finished task can be deleted/,
	'a pending task cannot be deleted');
is(($node->psql_as('alice', "SELECT backtest_cancel($a_pend)"))[1], 't', 'alice cancels her pending task');
($rc, $out, $err) = $node->psql_as('alice', "SELECT backtest_delete($a_pend)");
is($rc, 0, 'alice deletes her own cancelled task') or diag $err;
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE id = $a_pend"),
	'0', 'the task is gone');
($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_delete($m1)");
is($rc, 0, 'mallory deletes her own completed task under her hostile search_path') or diag $err;
is( $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM backtest.tasks WHERE id = $m1) + (SELECT count(*) FROM backtest.results WHERE task_id = $m1) + (SELECT count(*) FROM backtest.equity_curves WHERE task_id = $m1)"),
	'0', 'with its results');
($rc, $out, $err) = $node->psql_as('mallory', "SELECT backtest_delete(987654)");
like($err, qr/task 987654 does not exist/, 'deleting a task that does not exist is an error');
is(calls(), '', 'no hostile function ran in backtest_delete');

# a member of backtest_admin deletes anyone's finished task
my $a_done = $node->safe_psql_as('alice', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
$node->psql_as('alice', "SELECT backtest_cancel($a_run)");
is($node->wait_task($a_run), 'cancelled', 'alice\'s long task is cancelled');
is($node->wait_task($a_done), 'completed', 'alice\'s next task completes');
($rc, $out, $err) = $node->psql_as('maint', "SELECT backtest_delete($a_done)");
is($rc, 0, 'a member of backtest_admin deletes alice\'s finished task') or diag $err;

# --- defect 11: backtest_cleanup is delegable, and deletes only what it should

my $keep = $node->safe_psql_as('alice', "SELECT backtest_submit_query($long, 'sma_cross')");
$node->wait_status($keep, 'running');
my $keep2 = $node->safe_psql_as('alice', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
($rc, $out, $err) = $node->psql_as('mallory', q{SELECT backtest_cleanup('0', 0)});
like($err, qr/permission denied for function backtest_cleanup/,
	'an ordinary role cannot run backtest_cleanup');
my $finished = $node->safe_psql('postgres',
	"SELECT count(*) FROM backtest.tasks WHERE status IN ('completed', 'failed', 'cancelled')");
cmp_ok($finished, '>', 0, 'there are finished tasks to clean up');
($rc, $out, $err) = $node->psql_as('maint', q{SELECT backtest_cleanup('0', 0)});
is($rc, 0, 'a member of backtest_admin can run backtest_cleanup') or diag $err;
is($out, $finished, '... which removes every finished task');
is( $node->safe_psql('postgres',
		"SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM backtest.tasks"),
	"$keep:running,$keep2:pending",
	'... and leaves the running and pending ones');
$node->safe_psql('postgres', q{CREATE ROLE janitor LOGIN;
GRANT EXECUTE ON FUNCTION backtest_cleanup(interval, integer) TO janitor});
($rc, $out, $err) = $node->psql_as('janitor', q{SELECT backtest_cleanup('0', 0)});
is($rc, 0, 'a role granted EXECUTE can run it too') or diag $err;
is($out, '0', '... (nothing finished is left)');
$node->psql_as('alice', "SELECT backtest_cancel($keep)");
$node->psql_as('alice', "SELECT backtest_cancel($keep2)");

# --- defect 11: scheduling validates ttl and max_tasks ------------------------

($rc, $out, $err) =
  $node->psql('postgres', q{SELECT backtest_schedule_cleanup('*/10 * * * *', '-1 hour', 100)});
like($err, qr/ttl must be a non-negative interval/, 'a negative ttl is refused at schedule time');
($rc, $out, $err) =
  $node->psql('postgres', q{SELECT backtest_schedule_cleanup('*/10 * * * *', '1 hour', -5)});
like($err, qr/max_tasks must be zero or more/, 'a negative max_tasks is refused at schedule time');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0', 'no job was scheduled');
($rc, $out, $err) =
  $node->psql('postgres', q{SELECT backtest_schedule_cleanup('*/10 * * * *', '1 hour', 100) > 0});
is($out, 't', 'valid arguments schedule the job') or diag $err;

# --- defect 11: an untrustworthy backtest_admin is refused at install -------

$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('postgres', 'ALTER ROLE backtest_admin LOGIN');
($rc, $out, $err) = $node->psql('other', 'CREATE EXTENSION pg_backtest');
isnt($rc, 0, 'CREATE EXTENSION refuses a backtest_admin with LOGIN');
like($err, qr/role "backtest_admin" exists with LOGIN, so pg_backtest will not trust it/,
	'... saying why');
like($err, qr/ALTER ROLE backtest_admin NOLOGIN/, '... with a hint');
$node->safe_psql('postgres', 'ALTER ROLE backtest_admin NOLOGIN; GRANT pg_read_all_data TO backtest_admin');
($rc, $out, $err) = $node->psql('other', 'CREATE EXTENSION pg_backtest');
like($err, qr/role "backtest_admin" is a member of pg_read_all_data/,
	'CREATE EXTENSION refuses a backtest_admin that is a member of another role');
$node->safe_psql('postgres', 'REVOKE pg_read_all_data FROM backtest_admin');
($rc, $out, $err) = $node->psql('other', 'CREATE EXTENSION pg_backtest');
is($rc, 0, 'a NOLOGIN group backtest_admin (from the first install) is accepted') or diag $err;

$node->stop;
done_testing();
