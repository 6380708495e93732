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
# cleanup and backtest_delete remove the rows from every node.  A sweep task
# runs its batches on the worker holding its symbol, a portfolio task on the
# coordinator; their rows equal a single node's.  Sweep tasks attacked: a
# hostile search_path on every node, another tenant's batches (run as him,
# under his row-level security), a grant revoked after the claim, a worker
# answering with rows that are not the batch's, a cancel mid-batch.
# Skipped when citus.so is not installed.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

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
	$w->safe_psql('postgres',
		"ALTER SYSTEM SET log_statement = 'all'; ALTER SYSTEM SET log_line_prefix = '%m [%p] %u '; SELECT pg_reload_conf()");
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

# ---- sweep tasks attacked: a hostile search_path, another tenant, a lost grant, ---
# ---- a node answering garbage ------------------------------------------------------

# alice submits from a session whose search_path puts traps first, on every
# node (the task runs under her settings): the same rows, no trap called
my $traps = q{
SET citus.enable_ddl_propagation = off;
CREATE TABLE public.evil_calls (n int);
GRANT ALL ON public.evil_calls TO PUBLIC;
CREATE SCHEMA evil;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.trap(text, text) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (1); SELECT true';
CREATE FUNCTION evil.trap(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (2); SELECT true';
CREATE FUNCTION evil.trap(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (3); SELECT true';
CREATE FUNCTION evil.plus(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (4); SELECT 0::bigint';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.trap);
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.trap);
CREATE OPERATOR evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.trap);
CREATE OPERATOR evil.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.trap);
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.plus);
CREATE FUNCTION evil.backtest_sweep_batch(regclass, text, text, jsonb, timestamptz, timestamptz, jsonb, bigint, bigint)
RETURNS TABLE (combo bigint, metrics bytea) LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (5); SELECT 0::bigint, ''\x''::bytea';
};
$_->safe_psql('postgres', $traps) for ($coord, $w1, $w2);
my $esw = $coord->safe_psql_as('alice',
	"SET search_path = evil, public, pg_catalog; SELECT public.backtest_submit_sweep('public.k', '$s2', 'sma_cross', $grid)");
is($coord->wait_task($esw), 'completed', "sweep task $esw, submitted under a hostile search_path, completed");
is($coord->safe_psql('postgres', "SELECT settings->>'search_path' FROM backtest.tasks WHERE id = $esw"),
	'evil, public, pg_catalog', '... and ran under that search_path');
is($coord->safe_psql_as('alice', "SELECT $scols FROM backtest.sweep_results WHERE task_id = $esw ORDER BY rank"),
	$srows, '... its rows equal backtest_sweep on one node');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM public.evil_calls') } ($coord, $w1, $w2)),
	'0,0,0', '... and no trap was called on any node');
$_->safe_psql('postgres', 'SET citus.enable_ddl_propagation = off; DROP SCHEMA evil CASCADE; DROP TABLE public.evil_calls')
  for ($coord, $w1, $w2);

# bob may read only the bars from 2020-06-01 on (a restrictive policy, here
# and on the single node): his sweep task's batches run as bob on the worker
# holding the symbol, under that policy
my $bob_policy = q{CREATE POLICY k_bob ON %s AS RESTRICTIVE FOR SELECT TO bob USING (ts >= '2020-06-01')};
$_->safe_psql('postgres', sprintf($bob_policy, 'k')) for ($single, $coord);
# (Citus 13.2 creates the policy on the shards as a permissive one, which
# lets bob read every row, through Citus or not: README, "Security"; so it is
# made restrictive on the shards by hand, as the README says)
$coord->safe_psql('postgres', q{SELECT run_command_on_shards('k', $$DROP POLICY k_bob ON %s$$)});
$coord->safe_psql('postgres', sprintf(q{SELECT run_command_on_shards('k', $$%s$$)}, sprintf($bob_policy, '%s')));
is($coord->safe_psql_as('bob', "SELECT count(*) FROM k WHERE symbol = '$s2'"),
	$single->safe_psql_as('bob', "SELECT count(*) FROM k WHERE symbol = '$s2'"),
	'bob reads as many rows of k through Citus as on one node');
my $bob_bars = $single->safe_psql_as('bob', "SELECT count(*) FROM k WHERE symbol = '$s2'");
ok($bob_bars > 0 && $bob_bars < 400, "bob sees $bob_bars of the 400 bars of $s2");
%offset = map { $_ => -s $w{$_}->logfile } keys %w;
my $bsw = $coord->safe_psql_as('bob', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
is($coord->wait_task($bsw), 'completed', "bob's sweep task $bsw completed");
is($coord->safe_psql_as('bob', "SELECT DISTINCT bars FROM backtest.sweep_results WHERE task_id = $bsw"),
	$bob_bars, '... over the bars he may see');
is($coord->safe_psql_as('bob', "SELECT $scols FROM backtest.sweep_results WHERE task_id = $bsw ORDER BY rank"),
	$single->safe_psql_as('bob', "SELECT $scols FROM backtest_sweep('k', '$s2', 'sma_cross', $grid)"),
	'... its rows equal backtest_sweep as bob on one node');
is($coord->safe_psql_as('bob', "SELECT $scols FROM backtest.sweep_results WHERE task_id = $bsw ORDER BY rank"),
	$single->safe_psql_as('alice', "SELECT $scols FROM backtest_sweep('k', '$s2', 'sma_cross', $grid, '{}', '2020-06-01')"),
	'... and alice\'s sweep of the bars from 2020-06-01');
{
	my $log = slurp_file($w{ $holder{$s2} }->logfile, $offset{ $holder{$s2} });
	my @users = $log =~ /\] (\S*) LOG:  [^\n]*SELECT combo, metrics FROM public\.backtest_sweep_batch\('public\.k'::regclass, '$s2'::text/g;
	is(join(',', @users), join(',', ('bob') x 6), '... its six batches ran as bob on the worker holding ' . $s2);
}
is($coord->safe_psql_as('alice', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $bsw"),
	'0', 'alice sees none of bob\'s sweep rows');
$_->safe_psql('postgres', 'DROP POLICY k_bob ON k') for ($single, $coord);
$coord->safe_psql_as('bob', "SELECT backtest_delete($bsw)");
is($coord->safe_psql('postgres', "SELECT count(*) FROM backtest.tasks WHERE id = $bsw"), '0', 'bob deletes his sweep task');

# a role without SELECT on the source cannot submit; one whose grant is
# revoked after the submit (the task worker waits after its claim) fails the
# task with the permission error of the worker node
$coord->safe_psql('postgres', 'CREATE ROLE carol LOGIN');
my ($crc, $cout, $cerr) = $coord->psql_as('carol', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
like($cerr, qr/ERROR:  permission denied for table k/, 'carol, without SELECT on k, cannot submit a sweep');
$coord->safe_psql('postgres', 'GRANT SELECT ON k TO carol');
$coord->safe_psql('postgres', "ALTER SYSTEM SET pg_backtest.test_delay = 'after_claim:3000'; SELECT pg_reload_conf()");
my $csw = $coord->safe_psql_as('carol', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
$coord->poll_query_until('postgres', "SELECT status = 'running' FROM backtest.tasks WHERE id = $csw")
  or die "task $csw did not start";
$coord->safe_psql('postgres', 'REVOKE SELECT ON k FROM carol');
like($coord->wait_task($csw), qr/^failed: permission denied for table k\b/,
	"carol's sweep task $csw, her grant revoked after the claim, failed with the permission error");
$coord->safe_psql('postgres', "ALTER SYSTEM RESET pg_backtest.test_delay; SELECT pg_reload_conf()");
is($coord->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $csw"),
	'0', '... and stored nothing');

# the worker holding the symbol answers with metrics that are not a batch's
# (a node of another build, or broken): the task fails cleanly, storing
# nothing (the real function back afterwards)
my $holder2 = $w{ $holder{$s2} };
# (40 combinations: batches of 2, so a batch can repeat one)
my $grid40 = q{'{"fast": {"from": 2, "to": 11, "step": 1}, "slow": [20, 25, 30, 35]}'};
my $sig = 'source regclass, symbol text, strategy text, params jsonb, start_ts timestamptz, end_ts timestamptz, '
  . 'grid jsonb, combo_from bigint, combo_count bigint';
my %forged = (
	'a bad header' => q{SELECT g, '\x7773746208000000'::bytea FROM generate_series(combo_from, combo_from + combo_count - 1) g},
	'one combination repeated' => q{SELECT combo_from, b.metrics
FROM public.bt_real_sweep_batch(source, symbol, strategy, params, start_ts, end_ts, grid, combo_from, 1) b,
     generate_series(1, combo_count)},
	'too few rows' => q{SELECT * FROM public.bt_real_sweep_batch(source, symbol, strategy, params, start_ts, end_ts, grid, combo_from, 0)},
	'a combination of another batch' => q{SELECT b.combo + combo_count, b.metrics
FROM public.bt_real_sweep_batch(source, symbol, strategy, params, start_ts, end_ts, grid, combo_from, combo_count) b});
$holder2->safe_psql('postgres', qq{SET citus.enable_ddl_propagation = off;
CREATE FUNCTION public.bt_real_sweep_batch($sig) RETURNS TABLE (combo bigint, metrics bytea)
LANGUAGE C STABLE AS '\$libdir/pg_backtest', 'backtest_sweep_batch'});
for my $how (sort keys %forged)
{
	$holder2->safe_psql('postgres', qq{SET citus.enable_ddl_propagation = off;
CREATE OR REPLACE FUNCTION public.backtest_sweep_batch($sig) RETURNS TABLE (combo bigint, metrics bytea)
LANGUAGE sql AS \$\$$forged{$how}\$\$});
	my $fsw = $coord->safe_psql_as('alice', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid40)");
	like($coord->wait_task($fsw),
		qr/^failed: the node 127\.0\.0\.1:$holder{$s2} returned (metrics this server cannot read|\d+ rows for \d+ combinations|combination \d+ twice)/,
		"a node answering with $how fails sweep task $fsw");
	is($coord->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $fsw"),
		'0', '... which stored nothing');
}
$holder2->safe_psql('postgres', qq{SET citus.enable_ddl_propagation = off;
CREATE OR REPLACE FUNCTION public.backtest_sweep_batch($sig) RETURNS TABLE (combo bigint, metrics bytea)
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100 AS '\$libdir/pg_backtest', 'backtest_sweep_batch';
DROP FUNCTION public.bt_real_sweep_batch($sig)});
my $rsw = $coord->safe_psql_as('alice', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
is($coord->wait_task($rsw), 'completed', "with the real function back, sweep task $rsw completes");
is($coord->safe_psql_as('alice', "SELECT $scols FROM backtest.sweep_results WHERE task_id = $rsw ORDER BY rank"),
	$srows, '... with one node\'s rows');

# the batches expand the grid on the worker, under the worker's
# pg_backtest.max_combinations (README: raise it there too)
$holder2->safe_psql('postgres', "ALTER SYSTEM SET pg_backtest.max_combinations = 5; SELECT pg_reload_conf()");
my $lsw = $coord->safe_psql_as('alice', "SELECT backtest_submit_sweep('k', '$s2', 'sma_cross', $grid)");
is($coord->wait_task($lsw), 'failed: the grid has 6 combinations, more than pg_backtest.max_combinations (5)',
	"sweep task $lsw fails under the worker's lower pg_backtest.max_combinations");
$holder2->safe_psql('postgres', "ALTER SYSTEM RESET pg_backtest.max_combinations; SELECT pg_reload_conf()");

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

# a sweep task of his: the cancel interrupts the batch running on the worker
# (its one batch of one combination reads 400 rows at 20 ms each: 8 s)
$doff = -s $w{$sd}->logfile;
my $d3 = $coord->safe_psql_as('dave', "SELECT backtest_submit_sweep('k', 'D', 'sma_cross', '{\"fast\": [5]}')");
$w{$sd}->wait_for_log(qr/backtest_sweep_batch\('public\.k'::regclass, 'D'::text/, $doff);
my $t0 = Time::HiRes::time();
is($coord->safe_psql_as('dave', "SELECT backtest_cancel($d3)"), 't', 'dave cancels his running sweep task');
is($coord->wait_task($d3), 'cancelled', '... which ends cancelled');
my $took = Time::HiRes::time() - $t0;
ok($took < 6, sprintf('... %.1f s after the cancel, mid-batch (the batch takes 8 s)', $took));
$w{$sd}->wait_for_log(qr/ERROR:  canceling statement due to user request/, $doff);
ok(1, '... its batch was cancelled on the worker holding D');
is($coord->safe_psql('postgres', "SELECT count(*) FROM backtest.sweep_results WHERE task_id = $d3"),
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

# --- a reused worker's own memory stays flat over delegated tasks.
# btpg_task_delegated_call used to leave TopMemoryContext current after its
# transaction, so what a delegated task allocated next (progress messages,
# the next call's arguments) stayed there for the worker's life, up to
# pg_backtest.tasks_per_worker tasks.  Eight tasks of one owner run in one
# worker (max_concurrent 1); at each claim the test has the worker log its
# memory contexts and reads TopMemoryContext's own used bytes
# (claim_memory).  Local tasks: t/013.
$coord->set_conf('pg_backtest.max_concurrent', '1');
$coord->set_conf('pg_backtest.test_delay', 'after_claim:1500');
my $moffset = -s $coord->logfile;
my @mt = map { $coord->safe_psql_as('alice', "SELECT backtest_submit('k', '$s1', 'sma_cross', $params)") } 1 .. 8;
my ($mused, $mworkers) = $coord->claim_memory(\@mt, $moffset);
my @used = @$mused;
is($coord->wait_task($mt[-1]), 'completed', 'eight delegated tasks of one owner complete');
is($mworkers, 1, '... all in one reused worker');
note("TopMemoryContext used at each claim: @used");
cmp_ok($used[-1] - $used[2], '<=', 0,
	"... whose TopMemoryContext does not grow from the third task to the eighth (@used[2 .. 7] bytes)");
$coord->safe_psql('postgres', "ALTER SYSTEM RESET pg_backtest.test_delay; ALTER SYSTEM RESET pg_backtest.max_concurrent; SELECT pg_reload_conf()");

$_->stop for (@nodes, $single);
done_testing();
