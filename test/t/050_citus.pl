# Citus: a coordinator and two workers on loopback, the K-line table
# distributed by symbol, backtest_citus_distribute(k).  Every symbol-scoped
# call with a constant symbol is delegated to the worker holding that
# symbol's shard (checked from citus.log_remote_commands), and every result
# (run, trades, equity, sweep, walk-forward, indicator, the GROUP BY symbol
# aggregate, backtest_run_all) equals a plain single node's with the same
# data, for two roles under the same privileges and row-level security.
# Skipped when citus.so is not installed (test/citus/ensure-citus.sh builds
# it in CI when the vendored source is beside the project).
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $why = PgBacktestNode::citus_missing();
plan skip_all => $why if $why;

# ---- the cluster -------------------------------------------------------------

my @nodes = PgBacktestNode->citus_cluster;
my ($coord, $w1, $w2) = @nodes;
# the extension and the roles propagate to the workers
is($w1->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'pg_backtest'"),
	'1', 'CREATE EXTENSION pg_backtest on the coordinator reaches the workers');

# a plain single node with the same data, roles and policy
my $single = PgBacktestNode->create('single');

my @symbols = qw(A B C D E F);
my $setup = PgBacktestNode::klines_sql(bars => 400, symbols => \@symbols) . q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
GRANT SELECT ON k TO alice, bob;
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_read ON k FOR SELECT USING (current_user <> 'bob' OR symbol = 'A');
-- a single-series table of its own for bob's forbidden read
CREATE TABLE k_alice AS SELECT * FROM k WHERE symbol = 'B';
GRANT SELECT ON k_alice TO alice;
};
$single->safe_psql('postgres', $setup);
# on the coordinator the table is distributed before the rows go in
(my $csetup = $setup) =~ s/(PRIMARY KEY \(symbol, ts\)\);)/$1\nSELECT create_distributed_table('k', 'symbol');/;
$coord->safe_psql('postgres', $csetup);
is($coord->safe_psql('postgres', "SELECT count(*) FROM citus_shards WHERE table_name = 'k'::regclass"),
	'32', 'k is distributed (32 shards)');

# ---- backtest_citus_distribute ----------------------------------------------

my ($rc, $out, $err) = $single->psql('postgres', "SELECT backtest_citus_distribute('k')");
like($err, qr/ERROR:  Citus is not installed in database "postgres"/,
	'without Citus backtest_citus_distribute refuses');
($rc, $out, $err) = $single->psql('postgres', q{
DO $$BEGIN PERFORM backtest_citus_distribute('k');
EXCEPTION WHEN feature_not_supported THEN RAISE NOTICE 'sqlstate %', SQLSTATE; END$$});
like($err, qr/NOTICE:  sqlstate 0A000/, '... with SQLSTATE 0A000 (feature_not_supported)');

($rc, $out, $err) = $coord->psql('postgres', "SELECT backtest_citus_distribute('k_alice')");
like($err, qr/ERROR:  public\.k_alice is not distributed by its symbol column "symbol"\nDETAIL:  It is not a Citus distributed table\./,
	'a coordinator-local table is refused');
$coord->safe_psql('postgres', q{
CREATE TABLE k_by_ts (LIKE k);
SELECT create_distributed_table('k_by_ts', 'ts');});
($rc, $out, $err) = $coord->psql('postgres', "SELECT backtest_citus_distribute('k_by_ts')");
like($err, qr/DETAIL:  It is distributed by column "ts"\.\nHINT:  SELECT create_distributed_table\('public\.k_by_ts', 'symbol'\);/,
	'a table distributed by another column is refused, with the call that fixes it');

my $expected_fns = join("\n",
	'backtest_chart_svg(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone,integer,integer,jsonb)',
	'backtest_equity(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone)',
	'backtest_indicator(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone)',
	'backtest_period_returns(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone,text)',
	'backtest_report_html(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone,integer,integer,jsonb)',
	'backtest_resample(regclass,text,interval,timestamp with time zone,timestamp with time zone,timestamp without time zone,text,jsonb)',
	'backtest_run(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone)',
	'backtest_sweep(regclass,text,text,jsonb,jsonb,timestamp with time zone,timestamp with time zone)',
	'backtest_sweep_batch(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone,jsonb,bigint,bigint)',
	'backtest_trades(regclass,text,text,jsonb,timestamp with time zone,timestamp with time zone)',
	'backtest_walk_forward(regclass,text,text,jsonb,jsonb,interval,interval,boolean,timestamp with time zone,timestamp with time zone)');
# under a hostile search_path: the function qualifies everything
is( $coord->safe_psql('postgres',
		"CREATE SCHEMA evil; SET search_path = evil, public; SELECT backtest_citus_distribute('k')"),
	$expected_fns,
	'backtest_citus_distribute distributes every read-only (source, symbol, ...) function');
is($coord->safe_psql('postgres', "SELECT backtest_citus_distribute('public.k')"),
	$expected_fns, '... and is idempotent');
is( $coord->safe_psql(
		'postgres', q{
SELECT string_agg(p.proname || ':' || d.distribution_argument_index || ':' || d.force_delegation
                  || ':' || (d.colocationid = (SELECT colocationid FROM pg_dist_partition
                                               WHERE logicalrelid = 'k'::regclass)), ' ' ORDER BY 1)
FROM pg_dist_object d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
WHERE p.proname LIKE 'backtest%'}),
	join(' ', map { "$_:1:true:true" } qw(backtest_chart_svg backtest_equity backtest_indicator
		  backtest_period_returns backtest_report_html backtest_resample backtest_run backtest_sweep backtest_sweep_batch
		  backtest_trades backtest_walk_forward)),
	'each is distributed by its symbol argument, force-delegated, colocated with k');
is( $coord->safe_psql('postgres', q{
SELECT count(*) FROM pg_dist_object d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
WHERE p.proname IN ('backtest_submit', 'backtest_submit_sweep', 'backtest_live_start', 'backtest_run_all')}),
	'0', 'the queue, live streams and backtest_run_all stay on the coordinator');

# ---- the same results, delegated ---------------------------------------------------

# the worker port that holds each symbol's shard
my %holder = map {
	$_ => $coord->safe_psql('postgres', qq{
SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
WHERE p.shardid = get_shard_id_for_distribution_column('k', '$_')})
} @symbols;
my %ports = map { $_ => 1 } values %holder;
is_deeply([ sort keys %ports ], [ sort($w1->port, $w2->port) ],
	'the six symbols are spread over both workers');

# Run $sql (with %s standing for a symbol) as $role on both; the coordinator's
# call must be delegated whole to the holder of $sym, and its output (or its
# error's first line) equal the single node's
sub same
{
	my ($what, $role, $sql, $sym, %opts) = @_;
	(my $q = $sql) =~ s/%s/$sym/g;
	my ($src, $sout, $serr) = $single->psql('postgres', "SET ROLE $role; $q");
	my ($crc, $cout, $cerr) = $coord->psql('postgres',
		"SET ROLE $role; SET citus.log_remote_commands = on; SET client_min_messages = log; $q");
	my ($fn) = $q =~ /FROM (backtest_\w+)\(/;
	if ($opts{local})
	{
		unlike($cerr, qr/issuing SELECT .*public\.$fn\(/, "$what: $role/$sym runs on the coordinator");
	}
	else
	{
		like($cerr, qr/issuing SELECT .*public\.$fn\('public\.k'::regclass, '$sym'.*\nDETAIL:  on server $role\@127\.0\.0\.1:$holder{$sym} /,
			"$what: $role/$sym is delegated to the worker holding $sym");
	}
	my ($serr1) = ($serr =~ /(ERROR:.*)$/m);
	my ($cerr1) = ($cerr =~ /(ERROR:.*)$/m);
	if (defined $serr1)
	{
		is($cerr1, $serr1, "$what: $role/$sym fails as on one node ($serr1)");
	}
	else
	{
		ok(length($sout) > 0 && $src == 0 && $crc == 0, "$what: $role/$sym has rows");
		is($cout, $sout, "$what: $role/$sym equals a single node");
	}
	return;
}

my $grid = q{'{"fast": [3, 5, 8], "slow": [20, 30]}'};
for my $sym (qw(A D))
{
	same('backtest_run', 'alice',
		"SELECT * FROM backtest_run('k', '%s', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')", $sym);
	same('backtest_trades', 'alice',
		"SELECT * FROM backtest_trades('k', '%s', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')", $sym);
	same('backtest_equity', 'alice',
		"SELECT * FROM backtest_equity('k', '%s', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')", $sym);
	same('backtest_sweep', 'alice',
		"SELECT * FROM backtest_sweep('k', '%s', 'sma_cross', $grid) ORDER BY 1::text", $sym);
	same('backtest_walk_forward', 'alice',
		"SELECT * FROM backtest_walk_forward('k', '%s', 'sma_cross', $grid, '{}', '90 days', '30 days')",
		$sym);
	same('backtest_indicator', 'alice',
		"SELECT * FROM backtest_indicator('k', '%s', 'rsi', '{\"period\": 14}')", $sym);
	same('backtest_period_returns', 'alice',
		"SELECT * FROM backtest_period_returns('k', '%s', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')", $sym);
	same('backtest_resample', 'alice', "SELECT * FROM backtest_resample('k', '%s', '1 week')", $sym);
}
# a time window, and a call inside a transaction block (force_delegation)
same('backtest_run window', 'alice',
	"SELECT * FROM backtest_run('k', '%s', 'macd_cross', '{}', '2020-03-01', '2020-09-30')", 'C');
same('backtest_run in BEGIN', 'alice',
	"BEGIN; SELECT * FROM backtest_run('k', '%s', 'rsi', '{}'); COMMIT", 'E');

# from plpgsql too (force_delegation)
my $do = q{DO $$DECLARE r record; BEGIN
SELECT * INTO r FROM backtest_run('k', 'F', 'sma_cross'); RAISE NOTICE 'equity %', r.equity_final; END$$};
($rc, $out, $err) = $coord->psql('postgres',
	"SET citus.log_remote_commands = on; SET client_min_messages = log; $do");
like($err, qr/issuing SELECT .*public\.backtest_run\('public\.k'::regclass, 'F'.*\nDETAIL:  on server \w+\@127\.0\.0\.1:$holder{F} /,
	'a call from plpgsql is delegated to the worker holding F');
my ($ceq) = $err =~ /NOTICE:  (equity \S+)/;
($rc, $out, $err) = $single->psql('postgres', $do);
my ($seq) = $err =~ /NOTICE:  (equity \S+)/;
ok(defined $seq && $ceq eq $seq, "... with the single node's final equity ($seq)");

# ---- two roles: privileges and row-level security hold ------------------------

# bob's policy lets him read symbol A only
same('backtest_run', 'bob', "SELECT * FROM backtest_run('k', '%s', 'sma_cross')", 'A');
same('backtest_run', 'bob', "SELECT * FROM backtest_run('k', '%s', 'sma_cross')", 'D');
same('backtest_sweep', 'bob', "SELECT * FROM backtest_sweep('k', '%s', 'sma_cross', $grid)", 'F');
# carol may not read k at all: refused as on one node
same('backtest_run', 'carol', "SELECT * FROM backtest_run('k', '%s', 'sma_cross')", 'A');
# bob may not read k_alice at all; a local table is read on the coordinator
# through the _query form (backtest_run itself would be delegated)
same('backtest_run_query', 'alice',
	"SELECT * FROM backtest_run_query('SELECT * FROM k_alice WHERE symbol = ''%s'' ORDER BY ts', 'sma_cross')",
	'B', local => 1);
same('backtest_run_query', 'bob',
	"SELECT * FROM backtest_run_query('SELECT * FROM k_alice WHERE symbol = ''%s'' ORDER BY ts', 'sma_cross')",
	'B', local => 1);

# ---- a delegated call reads the local shard ------------------------------------------

# on a worker, a symbol whose shard it holds is read from the shard itself
# (no Citus local execution of a shard query); a symbol held by the other
# worker is read through Citus (the (f()).col form is not delegated)
my ($here) = grep { $holder{$_} == $w1->port } @symbols;
my ($there) = grep { $holder{$_} == $w2->port } @symbols;
my $logsql = "SET citus.log_local_commands = on; SET citus.log_remote_commands = on;"
  . " SET client_min_messages = log; SET ROLE alice;";
my %q = (
	$here  => "SELECT * FROM backtest_run('k', '$here', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')",
	$there => "SELECT (backtest_run('k', '$there', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')).equity_final");
my ($wrc, $wout, $werr) = $w1->psql('postgres', "$logsql $q{$here}");
is($wout, $single->safe_psql('postgres', "SET ROLE alice; $q{$here}"),
	"on worker1, $here (its own shard) equals a single node");
unlike($werr, qr/executing the command locally|issuing /,
	'... read from the shard directly, not through Citus');
# a table named as the shard earlier on alice's search_path is not the shard
my $shard = $w1->safe_psql('postgres', "SELECT shard_name('k', get_shard_id_for_distribution_column('k', '$here'))");
$w1->safe_psql('postgres', qq{
SET citus.enable_ddl_propagation = off;
CREATE SCHEMA decoy AUTHORIZATION alice;
CREATE TABLE decoy.$shard AS
SELECT '$here'::text AS symbol, timestamptz '2020-01-01 00:00+00' + i * interval '1 day' AS ts,
       50 + i % 7 AS open, 51 + i % 7 AS high, 49 + i % 7 AS low, 50 + i % 7 AS close, 1000 AS volume
FROM generate_series(0, 399) i;
GRANT SELECT ON decoy.$shard TO alice;});
isnt($w1->safe_psql('postgres', "SET ROLE alice; SELECT * FROM backtest_run('decoy.$shard', '$here', 'sma_cross', '{\"fast\": 5, \"slow\": 20}')"),
	$single->safe_psql('postgres', "SET ROLE alice; $q{$here}"), 'the decoy has other results');
is( $w1->safe_psql('postgres', "SET ROLE alice; SET search_path = decoy, public; $q{$here}"),
	$single->safe_psql('postgres', "SET ROLE alice; $q{$here}"),
	"... also with a decoy table named $shard first on the search_path");
($wrc, $wout, $werr) = $w1->psql('postgres', "$logsql $q{$there}");
is($wout, $single->safe_psql('postgres', "SET ROLE alice; $q{$there}"),
	"on worker1, $there (worker2's shard) equals a single node");
like($werr, qr/issuing SELECT .* FROM public\.k_\d+ k WHERE .*\nDETAIL:  on server alice\@127\.0\.0\.1:@{[ $w2->port ]} /,
	'... read through Citus from worker2 (not from a shard of worker1)');

# ---- whole-market forms ------------------------------------------------------------

my $agg = q{SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).*
FROM k GROUP BY symbol ORDER BY symbol};
my $all = q{SELECT * FROM backtest_run_all('k', 'sma_cross', '{"fast": 5, "slow": 20}') ORDER BY symbol};
for my $role (qw(alice bob))
{
	for ([ 'the GROUP BY symbol aggregate', $agg ], [ 'backtest_run_all', $all ])
	{
		my ($what, $q) = @$_;
		# backtest_run_all reads k through Citus on the coordinator (it
		# crashed there before the loader passed no empty parameter list)
		my $s = $single->safe_psql('postgres', "SET ROLE $role; $q");
		is($coord->safe_psql('postgres', "SET ROLE $role; $q"), $s, "$what as $role equals a single node");
	}
}
is($coord->safe_psql('postgres', "SET ROLE bob; SELECT string_agg(symbol, ',') FROM ($agg) a"),
	'A', "bob's aggregate on the cluster has symbol A only (the policy holds on the shards)");
isnt(
	$coord->safe_psql('postgres', "SET ROLE bob; SELECT * FROM backtest_run('k', 'D', 'sma_cross')"),
	$coord->safe_psql('postgres', "SET ROLE alice; SELECT * FROM backtest_run('k', 'D', 'sma_cross')"),
	"bob's delegated run on D differs from alice's (the policy holds on the worker)");
like($coord->safe_psql('postgres', "EXPLAIN (COSTS OFF) $agg"),
	qr/Task Count: 32.*GroupAggregate|Task Count: 32.*HashAggregate/s,
	'the aggregate is pushed down to the shards whole');

# ---- a local table after distribution -------------------------------------------------

# force_delegation routes by the symbol alone: the worker has no k_alice
($rc, $out, $err) = $coord->psql('postgres', "SELECT * FROM backtest_run('k_alice', 'B', 'sma_cross')");
like($err, qr/ERROR:  relation "public\.k_alice" does not exist/,
	'a coordinator-local table through a distributed function fails on the worker (documented)');
# a reference table is on every node: delegated and equal
$coord->safe_psql('postgres', "SELECT create_reference_table('k_alice')");
my $q = "SELECT * FROM backtest_run('k_alice', 'B', 'sma_cross')";
is($coord->safe_psql('postgres', "SET ROLE alice; $q"),
	$single->safe_psql('postgres', "SET ROLE alice; $q"),
	'a reference table works through the distributed function, with the same result');

$_->stop for (@nodes, $single);
done_testing();
