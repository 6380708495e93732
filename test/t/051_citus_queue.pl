# The queue on Citus: a coordinator and two workers on loopback, the K-line
# table distributed by symbol.  backtest_citus_distribute(k) also makes the
# result tables distributed by task_id (colocated), leaves backtest.tasks a
# table of the coordinator, and is idempotent.  A submitted backtest then
# runs on the worker holding its symbol's shard (the delegated calls in that
# worker's log, the node in the task's message); its results, trades and
# equity curve land in the distributed tables, on the workers, and equal a
# plain single node's backtest_run / backtest_trades / backtest_equity; a
# LISTENer on the coordinator sees start, progress and end; a worker refuses
# to queue (one sequence issues the ids); another role sees nothing of the
# task; a cancel interrupts the delegated call on the worker; a kill -9 of
# the worker's backend doing a task's delegated call requeues the task, which
# then completes; pg_cron's
# cleanup and backtest_delete remove the rows from every node.  Sweep and
# portfolio tasks run on the coordinator and store their rows in the
# distributed tables, equal to a single node's.
# Skipped when citus.so is not installed.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $why = PgBacktestNode::citus_missing();
plan skip_all => $why if $why;

# ---- the cluster and a single node with the same data ------------------------

my @nodes = PgBacktestNode->citus_cluster(prefix => 'q');
my ($coord, $w1, $w2) = @nodes;
my $single = PgBacktestNode->create('qsingle');

my @symbols = qw(A B C D E F);
my $setup = PgBacktestNode::klines_sql(bars => 400, symbols => \@symbols) . q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE dave LOGIN;
GRANT SELECT ON k TO alice, bob, dave;
-- dave's reads are slow (20 ms a row): a task of his can be cancelled mid-call
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_read ON k FOR SELECT USING (current_user <> 'dave' OR pg_sleep(0.02)::text = '');
};
$single->safe_psql('postgres', $setup);
(my $csetup = $setup) =~ s/(PRIMARY KEY \(symbol, ts\)\);)/$1\nSELECT create_distributed_table('k', 'symbol');/;
$coord->safe_psql('postgres', $csetup);
# the workers log every statement: where the delegated calls run
for my $w ($w1, $w2)
{
	$w->safe_psql('postgres', "ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf()");
}

my $dist = q{SELECT string_agg(logicalrelid::text || ':' || partmethod::text || ':'
                     || coalesce(column_to_column_name(logicalrelid, partkey), '-'), ' ' ORDER BY logicalrelid::text)
FROM pg_dist_partition WHERE logicalrelid::text LIKE 'backtest.%'};
is($coord->safe_psql('postgres', $dist), '', 'before distribution the backtest tables are plain tables');

# ---- the conversion ------------------------------------------------------------

my $fns = $coord->safe_psql('postgres', "SELECT backtest_citus_distribute('k')");
like($fns, qr/^backtest_run\(regclass,text,text,jsonb/m, 'backtest_citus_distribute returns the functions');
unlike($fns, qr/citus_task_node|citus_check_submit/, '... not its own helpers');
my @tables = qw(results trades equity_curves sweep_results portfolio_equity_curves);
my $want = join(' ', map { "backtest.$_:h:task_id" } sort @tables);
is($coord->safe_psql('postgres', $dist), $want,
	'the result tables are hash-distributed by task_id; tasks, seals and notifications are not');
is( $coord->safe_psql('postgres', q{
SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'backtest.%'}),
	'1', '... all in one colocation group');
is($w1->safe_psql('postgres', $dist), $want, '... and worker1 has their metadata');
my $shards = q{SELECT string_agg(DISTINCT n.nodeport::text, ',' ORDER BY n.nodeport::text) || ' ' || count(*)
FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)
WHERE s.logicalrelid::text LIKE 'backtest.%'};
my $shards_before = $coord->safe_psql('postgres', $shards);
is($shards_before, join(',', sort($w1->port, $w2->port)) . ' 160',
	'their 5 x 32 shards are on the two workers');
# the tables keep their membership in the extension on every node
is( $w2->safe_psql('postgres', q{
SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_backtest'
WHERE d.classid = 'pg_class'::regclass AND d.objid = ANY (ARRAY['backtest.results'::regclass,
      'backtest.trades', 'backtest.equity_curves', 'backtest.sweep_results', 'backtest.portfolio_equity_curves'])}),
	'5', 'on a worker the shell tables are still the extension\'s');
# idempotent
is($coord->safe_psql('postgres', "SELECT backtest_citus_distribute('k')"), $fns, 'a second call returns the same');
is($coord->safe_psql('postgres', $shards), $shards_before, '... and changes no table');

# ---- a task runs on the node of its symbol ----------------------------------------

my %holder = map {
	$_ => $coord->safe_psql('postgres', qq{
SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
WHERE p.shardid = get_shard_id_for_distribution_column('k', '$_')})
} @symbols;
my ($s1) = grep { $holder{$_} == $w1->port } @symbols;
my ($s2) = grep { $holder{$_} == $w2->port } @symbols;
ok(defined $s1 && defined $s2, "symbols on each worker ($s1 on worker1, $s2 on worker2)");

my $listener = $coord->progress_listener;
my %w = ($w1->port => $w1, $w2->port => $w2);
my %offset = map { $_ => -s $w{$_}->logfile } keys %w;
my $params = q{'{"fast": 5, "slow": 20}'};
my $a1 = $coord->safe_psql_as('alice', "SELECT backtest_submit('k', '$s1', 'sma_cross', $params)");
my $a2 = $coord->safe_psql_as('alice', "SELECT backtest_submit('k', '$s2', 'macd_cross', '{}', '2020-03-01', '2020-12-31')");
my $b1 = $coord->safe_psql_as('bob', "SELECT backtest_submit('k', '$s1', 'rsi')");
is($coord->wait_task($_), 'completed', "task $_ completed") for ($a1, $a2, $b1);
my %task = ($a1 => [ $s1, 'sma_cross', $params ], $a2 => [ $s2, 'macd_cross', q{'{}', '2020-03-01', '2020-12-31'} ],
	$b1 => [ $s1, 'rsi', q{'{}'} ]);
for my $id ($a1, $a2)
{
	my ($sym, $strategy) = @{ $task{$id} };
	my $port = $holder{$sym};
	my ($other) = grep { $_ != $port } keys %w;
	like($coord->safe_psql('postgres', "SELECT message FROM backtest.tasks WHERE id = $id"),
		qr/ trades, on 127\.0\.0\.1:$port$/, "task $id ($sym) says it ran on the worker holding $sym");
	my $calls = qr/backtest_(run|trades|equity)\('public\.k'::regclass, '$sym'::text, '$strategy'::text/;
	my @seen = slurp_file($w{$port}->logfile, $offset{$port}) =~ /$calls/g;
	my %first;
	is(join(',', grep { !$first{$_}++ } @seen), 'run,trades,equity',
		"... where its three delegated calls ran, in this order");
	unlike(slurp_file($w{$other}->logfile, $offset{$other}), $calls, '... and not on the other worker');
}

# the stored results equal a single node's synchronous run
my $mcols = $single->safe_psql('postgres', q{
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'backtest_metrics'::regtype::oid::regclass AND attnum > 0 AND NOT attisdropped});
my $tcols = $single->safe_psql('postgres', q{
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'backtest.trades'::regclass AND attnum > 0 AND NOT attisdropped
  AND attname NOT IN ('task_id', 'owner', 'symbol')});
for my $id ($a1, $a2, $b1)
{
	my ($sym, $strategy, $args) = @{ $task{$id} };
	my $role = $id == $b1 ? 'bob' : 'alice';
	my $call = "('k', '$sym', '$strategy', $args)";
	my $m = $single->safe_psql_as($role, "SELECT $mcols FROM backtest_run$call");
	is($coord->safe_psql_as($role, "SELECT $mcols FROM backtest.results WHERE task_id = $id"), $m,
		"task $id: its results equal backtest_run on one node");
	my $t = $single->safe_psql_as($role, "SELECT $tcols FROM backtest_trades$call ORDER BY trade_no");
	ok($t ne '', "task $id has trades");
	is($coord->safe_psql_as($role, "SELECT $tcols FROM backtest.trades WHERE task_id = $id ORDER BY trade_no"),
		$t, "task $id: its trades equal backtest_trades on one node");
	my $ecols = 'ts, close, "position", equity, drawdown_pct';
	is( $coord->safe_psql_as($role, "SELECT $ecols FROM backtest.equity WHERE task_id = $id ORDER BY ts"),
		$single->safe_psql_as($role, "SELECT $ecols FROM backtest_equity$call ORDER BY ts"),
		"task $id: its equity curve equals backtest_equity on one node");
}
# a sweep task runs on the worker holding its symbol (one delegated
# backtest_sweep_batch per batch), a portfolio task on the coordinator; their
# rows land in the distributed tables and equal a single node's
my $grid = q{'{"fast": [3, 5, 8], "slow": [20, 30]}'};
%offset = map { $_ => -s $w{$_}->logfile } keys %w;
my $sw = $coord->safe_psql_as('alice', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
my $syms = "ARRAY['$s1', '$s2', 'E']";
my $pf = $coord->safe_psql_as('alice', "SELECT backtest_submit_portfolio('k', 'sma_cross', '{}', $syms)");
is($coord->wait_task($_), 'completed', "task $_ completed") for ($sw, $pf);
my $scols = $single->safe_psql('postgres', q{
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'backtest.sweep_results'::regclass AND attnum > 0 AND NOT attisdropped
  AND attname NOT IN ('task_id', 'owner', 'rank')});
my $srows = $single->safe_psql_as('alice', "SELECT $scols FROM backtest_sweep('k', '$s2', 'sma_cross', $grid)");
is(scalar(() = $srows =~ /^/mg), 6, 'the sweep has 6 rows on one node');
is($coord->safe_psql_as('alice', "SELECT $scols FROM backtest.sweep_results WHERE task_id = $sw ORDER BY rank"),
	$srows, "sweep task $sw: its rows, in rank order, equal backtest_sweep on one node");
{
	my $port = $holder{$s2};
	my ($other) = grep { $_ != $port } keys %w;
	my $batch = qr/backtest_sweep_batch\('public\.k'::regclass, '$s2'::text, 'sma_cross'::text/;
	my @seen = slurp_file($w{$port}->logfile, $offset{$port}) =~ /($batch.*?'(\d+)'::bigint, '(\d+)'::bigint)/g;
	my @from = map { $seen[3 * $_ + 1] } 0 .. @seen / 3 - 1;
	is(join(',', @from), '0,1,2,3,4,5', "sweep task $sw ran its six batches on the worker holding $s2");
	unlike(slurp_file($w{$other}->logfile, $offset{$other}), $batch, '... and not on the other worker');
}
my $pcols = 'ts, cash, positions_value, equity, drawdown_pct, open_positions';
is( $coord->safe_psql_as('alice', "SELECT $pcols FROM backtest.portfolio_equity WHERE task_id = $pf ORDER BY ts"),
	$single->safe_psql_as('alice', "SELECT $pcols FROM backtest_portfolio_equity('k', 'sma_cross', '{}', $syms) ORDER BY ts"),
	"portfolio task $pf: its account curve equals backtest_portfolio_equity on one node");

# the rows live on the workers (the coordinator holds no shard)
is( $coord->safe_psql('postgres', qq{
SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
WHERE p.shardid IN (get_shard_id_for_distribution_column('backtest.results', $a1),
                    get_shard_id_for_distribution_column('backtest.equity_curves', $a1))
  AND n.nodeport IN (@{[ $w1->port ]}, @{[ $w2->port ]})}),
	'2', "task ${a1}'s results and equity curve are stored on a worker");

# ---- progress reaches a LISTENer on the coordinator -------------------------------

ok($listener->wait_final($a1), "the coordinator's listener saw task $a1 end");
my @ev = map { $_->{p} } $listener->events($a1);
note 'events: ' . join(' | ', map { $_->{raw} } $listener->events($a1));
is( join(' ', map { "$_->{status}:$_->{progress}" } @ev),
	'pending:0 running:0 running:10 running:40 running:60 running:85 completed:100',
	'it saw queued, started, one event per delegated call, saving and completed');
is($listener->bad, 0, 'every event is a JSON object');

# ---- ids: only the coordinator queues ----------------------------------------------

my ($rc, $out, $err) = $w1->psql('postgres', "SELECT backtest_submit('k', '$s1', 'sma_cross')");
like($err, qr/ERROR:  backtest tasks are queued on the Citus coordinator\n.*\nHINT:  Connect to the coordinator/s,
	'a worker refuses to queue a task (its own id would collide)');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks') } ($w1, $w2)),
	'0,0', 'no task rows on the workers');
is( $coord->safe_psql('postgres', "SELECT count(*) = count(DISTINCT task_id) FROM backtest.results"),
	't', 'one results row per task id');

# ---- row-level security cluster-wide ------------------------------------------------

my $visible = q{SELECT (SELECT count(*) FROM backtest.tasks WHERE id = %1$d) || ','
 || (SELECT count(*) FROM backtest.results WHERE task_id = %1$d) || ','
 || (SELECT count(*) > 0 FROM backtest.trades WHERE task_id = %1$d) || ','
 || (SELECT count(*) FROM backtest.equity WHERE task_id = %1$d)};
is($coord->safe_psql_as('alice', sprintf($visible, $a1)), '1,1,true,400', 'alice sees her task and its rows');
is($coord->safe_psql_as('bob', sprintf($visible, $a1)), '0,0,false,0', 'bob sees nothing of it (the policies hold on the shards)');
is($coord->safe_psql_as('alice', sprintf($visible, $b1)), '0,0,false,0', 'alice sees nothing of bob\'s');
is($coord->safe_psql_as('bob', 'SELECT total_tasks || \',\' || completed FROM backtest_stats()'), '1,1',
	'backtest_stats counts bob\'s task only');
is($coord->safe_psql_as('bob', "SELECT status FROM backtest_status($b1)"), 'completed', 'backtest_status of his task');
like($coord->safe_psql_as('alice', "SELECT backtest_chart_svg($a1)"), qr/<svg [^>]*>.*<title>Task $a1: /s,
	'a chart of a stored task reads the distributed tables');
($rc, $out, $err) = $coord->psql_as('bob', "SELECT backtest_delete($a1)");
like($err, qr/ERROR/, 'bob cannot delete alice\'s task');

# ---- cancel: the delegated call on the worker is interrupted --------------------------

my $sd = $holder{D};
my $doff = -s $w{$sd}->logfile;
my $d1 = $coord->safe_psql_as('dave', "SELECT backtest_submit('k', 'D', 'sma_cross')");
$coord->poll_query_until('postgres', "SELECT message LIKE 'running on%' FROM backtest.tasks WHERE id = $d1")
  or die "task $d1 did not start";
$w{$sd}->wait_for_log(qr/backtest_run\('public\.k'::regclass, 'D'::text/, $doff);
is($coord->safe_psql_as('dave', "SELECT backtest_cancel($d1)"), 't', 'dave cancels his running task');
is($coord->wait_task($d1), 'cancelled', '... which ends cancelled');
$w{$sd}->wait_for_log(qr/ERROR:  canceling statement due to user request/, $doff);
ok(1, '... its delegated call was cancelled on the worker holding D');
is( $coord->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM backtest.results WHERE task_id = $d1) + (SELECT count(*) FROM backtest.equity_curves WHERE task_id = $d1)"),
	'0', '... and stored nothing');

# ---- kill -9 of the worker node's process doing a task: the task is requeued ----------

# (a retry a few seconds on, when the worker has restarted: the test clusters
# are made with restart_after_crash off, the server's default is on)
$coord->safe_psql('postgres', "ALTER SYSTEM SET pg_backtest.retry_delay = 3000; SELECT pg_reload_conf()");
$w{$sd}->safe_psql('postgres', "ALTER SYSTEM SET restart_after_crash = on; SELECT pg_reload_conf()");
$doff = -s $w{$sd}->logfile;
my $d2 = $coord->safe_psql_as('dave', "SELECT backtest_submit('k', 'D', 'sma_cross')");
$coord->poll_query_until('postgres', "SELECT message LIKE 'running on%' FROM backtest.tasks WHERE id = $d2")
  or die "task $d2 did not start";
$w{$sd}->wait_for_log(qr/backtest_run\('public\.k'::regclass, 'D'::text/, $doff);
my $victim = $w{$sd}->safe_psql('postgres', q{
SELECT pid FROM pg_stat_activity WHERE usename = 'dave' AND state = 'active' AND query LIKE '%backtest_run(%'});
like($victim, qr/^\d+$/, "the backend running task ${d2}'s delegated call on the worker holding D");
kill 'KILL', $victim;
$w{$sd}->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the worker did not restart';
$coord->poll_query_until('postgres', "SELECT attempts >= 2 FROM backtest.tasks WHERE id = $d2")
  or die "task $d2 was not retried: "
  . $coord->safe_psql('postgres', "SELECT status || ' ' || coalesce(error, message, '') FROM backtest.tasks WHERE id = $d2");
ok(1, "after a kill -9 of that backend, task $d2 is claimed a second time");
like(slurp_file($coord->logfile), qr/FATAL:  pg_backtest: task $d2 lost the Citus node it ran on: /,
	"... the coordinator's task worker said it lost the node");
like(slurp_file($coord->logfile), qr/task $d2 requeued: the worker exited before finishing .*\(attempt 1 of \d+; retrying\)/,
	'... and the dispatcher requeued the task');
is($coord->wait_task($d2), 'completed', "task $d2 then completes");
is( $coord->safe_psql_as('dave', "SELECT $mcols FROM backtest.results WHERE task_id = $d2"),
	$single->safe_psql_as('alice', "SELECT $mcols FROM backtest_run('k', 'D', 'sma_cross')"),
	'... with results equal to one node\'s, stored once');
is( $coord->safe_psql('postgres', "SELECT count(*) FROM backtest.results WHERE task_id = $d2"),
	'1', '... one results row');
$coord->safe_psql('postgres', "ALTER SYSTEM RESET pg_backtest.retry_delay; SELECT pg_reload_conf()");

# ---- deleting and cleanup remove the rows on every node -------------------------------

# rows per task in the shards themselves, on whichever node holds them
my $in_shards = q{SELECT coalesce(sum(result::bigint), 0) FROM run_command_on_shards('backtest.%s',
  $$SELECT count(*) FROM %%s WHERE task_id IN (%s)$$)};
sub rows_of
{
	my (@ids) = @_;
	return join(',', map { $coord->safe_psql('postgres', sprintf($in_shards, $_, join(',', @ids))) } qw(results trades equity_curves));
}
like(rows_of($a1), qr/^1,[1-9]\d*,1$/, "task $a1 has rows in the shards");
$coord->safe_psql_as('alice', "SELECT backtest_delete($a1)");
is($coord->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE id = $a1"), '0', 'alice deletes her task');
is(rows_of($a1), '0,0,0', '... and its rows are gone from the shards');
like(rows_of($a2, $b1), qr/^2,[1-9]\d*,2$/, 'the other tasks still have theirs');
is( $coord->safe_psql('postgres', 'SELECT (' . sprintf($in_shards, 'sweep_results', $sw) . ') + (' . sprintf($in_shards, 'portfolio_equity_curves', $pf) . ')'),
	'7', 'the sweep and portfolio tasks have rows in the shards');
# pg_cron's job on the coordinator (backtest_cleanup as the database owner)
$coord->safe_psql('postgres', "CREATE EXTENSION pg_cron; SELECT backtest_schedule_cleanup('* * * * *', '0', 0)");
$coord->poll_query_until('postgres', 'SELECT count(*) = 0 FROM backtest.tasks')
  or die 'the pg_cron job did not remove the tasks: '
  . $coord->safe_psql('postgres', "SELECT string_agg(status || ' ' || coalesce(return_message, ''), '; ') FROM cron.job_run_details");
pass("pg_cron's cleanup job on the coordinator removed the finished tasks");
$coord->safe_psql('postgres', "SELECT cron.unschedule('pg_backtest_cleanup')");
is(rows_of($a2, $b1), '0,0,0', '... and their rows from the shards on every node');
is( $coord->safe_psql('postgres', 'SELECT (' . sprintf($in_shards, 'sweep_results', $sw) . ') + (' . sprintf($in_shards, 'portfolio_equity_curves', $pf) . ')'),
	'0', '... the sweep\'s and the portfolio\'s too');

# after cleanup the queue goes on
my $a3 = $coord->safe_psql_as('alice', "SELECT backtest_submit('k', '$s2', 'sma_cross', $params)");
is($coord->wait_task($a3), 'completed', "a new task $a3 completes");
ok($a3 > $b1, '... with a new id from the coordinator\'s sequence');

$_->stop for (@nodes, $single);
done_testing();
