# Dump and restore (issue 8 item 10): the (non-superuser) database owner
# dumps a database holding the extension, with tasks of two roles
# (completed, failed, pending, running) and their results, and restores it
# into a fresh cluster that lacks one of the roles.  The restore succeeds
# without an error line; the role that exists sees its tasks and results;
# the missing role's rows are there but visible to nobody but the owner;
# no restored task runs (the seals stay behind in the old installation).
# And the database owner, who now owns the tables, cannot make a worker run
# an edited task: changing a pending task's query or owner fails it with
# the seal's message.
use strict;
use warnings;

use IPC::Run;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

# both clusters: only pg_backtest preloaded, one worker slot
my %setup = (preload => 'pg_backtest', conf => 'pg_backtest.max_concurrent = 1', extension => 0);

my $node = PgBacktestNode->create('dump_src', %setup);
$node->safe_psql('postgres', q{
CREATE ROLE dbowner LOGIN;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
ALTER DATABASE postgres OWNER TO dbowner;
CREATE EXTENSION pg_backtest;
});
$node->create_klines('postgres', bars => 300, grant => 'PUBLIC');
$node->safe_psql('postgres', 'ALTER TABLE k OWNER TO dbowner');

sub status_of
{
	my ($n, $id) = @_;
	return $n->safe_psql('postgres', "SELECT status || ': ' || coalesce(error, '') FROM backtest.tasks WHERE id = $id");
}

# --- completed and failed tasks of two roles ---------------------------------

my $a1 = $node->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $a2 = $node->safe_psql_as('alice', q{SELECT backtest_submit_sweep('k', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [30]}')});
my $b1 = $node->safe_psql_as('bob', "SELECT backtest_submit('k', 'A', 'sma_cross')");
# fails at run time (division by zero), not at submit
my $b2 = $node->safe_psql_as('bob',
	q{SELECT backtest_submit_query($q$SELECT ts, open, high, low, close, volume FROM k WHERE 1 / (ts < '2000-01-01')::int = 1 ORDER BY ts$q$, 'sma_cross')});
$node->wait_done(ids => [ $a1, $a2, $b1, $b2 ]);
is( $node->safe_psql('postgres',
		"SELECT string_agg(id || ':' || owner || ':' || status, ' ' ORDER BY id) FROM backtest.tasks"),
	"$a1:alice:completed $a2:alice:completed $b1:bob:completed $b2:bob:failed",
	'two roles\' tasks: completed and failed');

# --- pending tasks behind a long one (one worker slot) --------------------

my $sleeper = $node->safe_psql_as('alice',
	q{SELECT backtest_submit_query($q$WITH nap AS MATERIALIZED (SELECT pg_sleep(600)) SELECT k.ts, k.open, k.high, k.low, k.close, k.volume FROM k, nap ORDER BY ts$q$, 'sma_cross')});
$node->wait_sleeping($sleeper);
my $ap = $node->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $bp = $node->safe_psql_as('bob', "SELECT backtest_submit('k', 'A', 'sma_cross')");
# two more for the tampering below
my $t_query = $node->safe_psql_as('bob', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $t_owner = $node->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");

# alice's notification preferences are user data too
$node->safe_psql_as('alice', "SELECT backtest_notification_settings(NULL, 'low')");

# --- the database owner dumps ------------------------------------------------

my $dump = $node->basedir . '/db.dump';
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run([ 'pg_dump', '-Fc', '-f', $dump, '-U', 'dbowner', '-d', $node->connstr('postgres') ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_dump by the database owner (not a superuser) succeeds') or diag $stderr;
is($stderr, '', '... without a warning or error');

# the dump holds the rows of both roles, the sequence, and no seals
my $script = '';
IPC::Run::run([ 'pg_restore', '-f', '-', $dump ], '>', \$script);
like($script, qr/^COPY backtest\.tasks /m, 'the dump holds the tasks');
like($script, qr/^$a1\talice\t/m, '... alice\'s');
like($script, qr/^$b2\tbob\t/m, '... and bob\'s');
like($script, qr/SELECT pg_catalog\.setval\('backtest\.tasks_id_seq'/, '... and the id sequence');
like($script, qr/COPY backtest\.results /, '... and the results');
unlike($script, qr/task_seals/, '... but not the seals');

# --- tampering: the database owner edits pending tasks ----------------------

# she owns the tables now: the edits succeed ...
$node->safe_psql_as('dbowner', qq{
UPDATE backtest.tasks SET query = 'SELECT ts, open, high, low, close, volume FROM k ORDER BY ts', source = NULL, symbol = NULL WHERE id = $t_query;
UPDATE backtest.tasks SET owner = 'bob' WHERE id = $t_owner;
});
# ... but cannot touch the seals
my ($rc, $o, $e) = $node->psql_as('dbowner', "DELETE FROM backtest.task_seals WHERE task_id = $t_query");
like($e, qr/permission denied for table task_seals/, 'the database owner cannot write the seals');

# a trigger she attaches to the tables runs as pg_database_owner, never as a
# superuser: not for the submit, the launcher's claim or the worker's writes
$node->safe_psql_as('dbowner', q{
CREATE TABLE public.spied (who name, su text, op text);
GRANT INSERT ON public.spied TO PUBLIC;
CREATE FUNCTION public.spy() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.spied VALUES (current_user, pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')::text, TG_TABLE_NAME || ' ' || TG_OP); RETURN NULL; END$$;
CREATE TRIGGER spy AFTER INSERT OR UPDATE OR DELETE ON backtest.tasks FOR EACH ROW EXECUTE FUNCTION public.spy();
CREATE TRIGGER spy AFTER INSERT ON backtest.results FOR EACH ROW EXECUTE FUNCTION public.spy();
});
my $spied = $node->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");

# a task without a seal here (as a restored one) does not run; one a
# superuser has resealed does
my $unsealed = $node->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
$node->safe_psql('postgres', "DELETE FROM backtest.task_seals WHERE task_id IN ($unsealed, $ap)");
is($node->safe_psql('postgres', "SELECT backtest_reseal($ap)"), 't', 'a superuser reseals a pending task');
is($node->safe_psql('postgres', "SELECT backtest_reseal($a1)"), 'f', '... but not a finished one');

$node->safe_psql_as('alice', "SELECT backtest_cancel($sleeper)");
$node->wait_done(ids => [ $sleeper, $ap, $bp, $t_query, $t_owner ]);
like(status_of($node, $t_query), qr/^failed: task $t_query was changed after it was submitted \(its seal does not match\)/,
	'a pending task whose query the database owner changed fails with the seal\'s message');
like(status_of($node, $t_owner), qr/^failed: task $t_owner was changed after it was submitted/,
	'... and one whose owner she changed');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id IN ($t_query, $t_owner)"),
	'0', 'neither ran');
is(status_of($node, $ap), 'completed: ', 'an untouched (resealed) pending task runs');
$node->wait_done(ids => [ $unsealed ]);
like(status_of($node, $unsealed), qr/^failed: task $unsealed was restored from another installation/,
	'a pending task without a seal fails: restored, resubmit');
$node->wait_done(ids => [ $spied ]);
is(status_of($node, $spied), 'completed: ', 'a task runs with her trigger on the tables');
is( $node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT who || ':' || su, ',') || ' ' || count(*) FILTER (WHERE op = 'results INSERT') FROM public.spied"),
	'pg_database_owner:false 3', 'her trigger ran as pg_database_owner, never as a superuser (submit, claim, progress, results)');
$node->safe_psql_as('dbowner', 'DROP TRIGGER spy ON backtest.tasks; DROP TRIGGER spy ON backtest.results');

# --- restore into a fresh cluster that has no role bob ---------------------

my $node2 = PgBacktestNode->create('dump_dst', %setup);
$node2->safe_psql('postgres', q{
CREATE ROLE dbowner LOGIN;
CREATE ROLE alice LOGIN;
ALTER DATABASE postgres OWNER TO dbowner;
});
# the extension is untrusted: a superuser creates it, the owner restores
$node2->safe_psql('postgres', 'CREATE EXTENSION pg_backtest');
($stdout, $stderr) = ('', '');
$ok = IPC::Run::run([ 'pg_restore', '-U', 'dbowner', '-d', $node2->connstr('postgres'), $dump ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore by the database owner into a cluster without role bob succeeds') or diag $stderr;
unlike($stderr, qr/ERROR|error:/, '... with no error line') or diag $stderr;

# the restored pending and running tasks never run
$node2->wait_done(ids => [ $sleeper, $ap, $bp, $t_query, $t_owner ]);
is($node2->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE status IN ('pending', 'running')"),
	'0', 'no restored task stays pending or running');
like(status_of($node2, $bp), qr/^failed: role "bob" does not exist, so the task cannot run/,
	'the missing role\'s pending task fails: its role does not exist');
like(status_of($node2, $sleeper), qr/^failed: task $sleeper was restored from another installation/,
	'alice\'s task that was running at the dump fails: restored, resubmit');
like(status_of($node2, $ap), qr/^failed: task $ap was restored from another installation/,
	'... and so does her pending one');
is($node2->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id IN ($sleeper, $bp)"),
	'0', 'neither ran');

# alice sees her tasks and results; bob's rows are there but hidden
is($node2->safe_psql_as('alice', "SELECT string_agg(id::text, ',' ORDER BY id) FROM backtest.tasks"),
	join(',', sort { $a <=> $b } ($a1, $a2, $sleeper, $ap, $t_owner)),
	'alice sees exactly her tasks after the restore');
is($node2->safe_psql_as('alice', "SELECT count(*) FROM backtest.results WHERE task_id IN ($a1, $a2)"),
	'1', '... and their results');
is($node2->safe_psql_as('alice', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $a2"),
	'2', '... and her sweep\'s rows');
cmp_ok($node2->safe_psql_as('alice', "SELECT count(*) FROM backtest.equity WHERE task_id = $a1"),
	'>', 0, '... and her equity curve');
is($node2->safe_psql_as('alice', "SELECT count(*) FROM backtest.tasks WHERE owner = 'bob'"),
	'0', 'bob\'s tasks are hidden from alice');
is( $node2->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM backtest.tasks WHERE owner = 'bob') || ',' ||
       (SELECT count(*) FROM backtest.results WHERE owner = 'bob') || ',' ||
       (SELECT count(*) > 0 FROM backtest.trades WHERE owner = 'bob')}),
	'4,1,true', 'bob\'s rows were restored (as the superuser sees)');
# the notification centre comes along: alice reads her finished tasks'
# notifications (and those of the restored tasks that failed here), not
# bob's; her preferences are restored
is( $node2->safe_psql_as('alice', qq{
SELECT string_agg(kind || ':' || (metadata->>'task_id'), ',' ORDER BY (metadata->>'task_id')::bigint)
FROM backtest.notifications WHERE (metadata->>'task_id')::bigint IN ($a1, $a2, $ap, $b1)}),
	"task_completed:$a1,sweep_completed:$a2,task_failed:$ap",
	'alice\'s notifications were restored; the restored task that failed here has one too');
is($node2->safe_psql('postgres', "SELECT count(*) FROM backtest.notifications WHERE owner = 'bob' AND (metadata->>'task_id')::bigint IN ($b1, $b2)"),
	'2', 'bob\'s notifications were restored (as the superuser sees)');
is($node2->safe_psql_as('alice', q{SELECT owner || ' ' || min_priority FROM backtest.notification_settings}),
	'alice low', 'her notification preferences were restored');
is($node2->safe_psql_as('dbowner', "SELECT count(*) FROM backtest.tasks"),
	'9', 'the database owner sees every task (she owns the tables)');

# the policies look the caller's roles up once per query (an InitPlan), not
# once per row: cheap on a big trades table
my $plan = $node2->safe_psql_as('alice', 'EXPLAIN (COSTS OFF) SELECT * FROM backtest.trades');
like($plan, qr/InitPlan/, 'the trades policy computes the roles once (InitPlan)') or diag $plan;
unlike($plan, qr/SubPlan/, '... and runs no subquery per row') or diag $plan;

# the queue works on: a new task gets a fresh id and runs
my $a_new = $node2->safe_psql_as('alice', "SELECT backtest_submit('k', 'A', 'sma_cross')");
cmp_ok($a_new, '>', $t_owner, 'a new task gets an id after the restored ones');
$node2->wait_done(ids => [ $a_new ]);
is(status_of($node2, $a_new), 'completed: ', 'and it runs');
cmp_ok($node2->safe_psql('postgres', "SELECT id FROM backtest.notifications WHERE metadata->>'task_id' = '$a_new'"),
	'>', $node2->safe_psql('postgres', "SELECT max(id) FROM backtest.notifications WHERE metadata->>'task_id' <> '$a_new'"),
	'its notification gets an id after the restored ones');
is( $node2->safe_psql('postgres', "SELECT r1.bars = r2.bars AND r1.equity_final = r2.equity_final
    FROM backtest.results r1, backtest.results r2 WHERE r1.task_id = $a1 AND r2.task_id = $a_new"),
	't', 'it computes what the restored result says');

# only a superuser may vouch for a task
($rc, $o, $e) = $node2->psql('postgres', "SELECT backtest_reseal($a_new)", extra_params => [ '-U', 'dbowner' ]);
like($e, qr/permission denied for function backtest_reseal/, 'the database owner cannot reseal a task');

done_testing();
