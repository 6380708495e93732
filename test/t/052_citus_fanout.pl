# Citus: backtest_run_all on a table distributed by symbol fans out over the
# shards (one query Citus pushes down to every shard, running
# backtest_run_all_symbol on the node holding each symbol), and its rows and
# NOTICEs equal a plain single node's: with a symbols filter, a time range,
# per-symbol parameters, symbols too short for the strategy, for two roles
# under row-level security and one without the privilege.  The per-symbol
# calls are counted on each worker (track_functions): each worker ran exactly
# the symbols whose shards it holds, the coordinator none.  The LATERAL form
# of the symbol-scoped functions (a sweep per symbol) is pushed down too.
# Skipped when citus.so is not installed.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $why = PgBacktestNode::citus_missing();
plan skip_all => $why if $why;

my $conf = "track_functions = 'all'\n";
my @nodes = PgBacktestNode->citus_cluster(conf => $conf);
my ($coord, $w1, $w2) = @nodes;
my $single = PgBacktestNode->create('single', conf => $conf);

# eight symbols of 400 daily bars, each its own wave (so each has its own
# results), and S with 10 bars (too few for sma_cross)
my @symbols = qw(A B C D E F G H);
my $values = join(', ', map { "('$symbols[$_]', $_)" } 0 .. $#symbols);
my $setup = qq{
CREATE TABLE k (
    symbol text NOT NULL, ts timestamptz NOT NULL,
    open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL,
    close float8 NOT NULL, volume float8 NOT NULL,
    PRIMARY KEY (symbol, ts));
--DISTRIBUTE--
INSERT INTO k
SELECT sym, timestamptz '2020-01-01 00:00+00' + i * interval '1 day', c, c + 1, c - 1, c, 1000 + i
FROM (VALUES $values) v(sym, ph),
     LATERAL (SELECT i, 100 + 10 * sin(i / (12.0 + ph) + ph) + i * 0.01 * (ph - 3) AS c
              FROM generate_series(0, 399) i) s;
INSERT INTO k
SELECT 'S', timestamptz '2020-01-01 00:00+00' + i * interval '1 day', 50, 51, 49, 50 + i, 1000
FROM generate_series(0, 9) i;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
GRANT SELECT ON k TO alice, bob;
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY k_read ON k FOR SELECT USING (current_user <> 'bob' OR symbol IN ('A', 'C', 'S'));
};
(my $ssetup = $setup) =~ s/--DISTRIBUTE--//;
(my $csetup = $setup) =~ s/--DISTRIBUTE--/SELECT create_distributed_table('k', 'symbol');/;
$single->safe_psql('postgres', $ssetup);
$coord->safe_psql('postgres', $csetup);

# the worker port holding each symbol's shard
my %holder = map {
	$_ => $coord->safe_psql('postgres', qq{
SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
WHERE p.shardid = get_shard_id_for_distribution_column('k', '$_')})
} @symbols, 'S';
my %on = ($w1->port => 0, $w2->port => 0);
$on{ $holder{$_} }++ for @symbols, 'S';
ok($on{ $w1->port } > 0 && $on{ $w2->port } > 0,
	"the symbols are spread over both workers ($on{$w1->port} and $on{$w2->port})");

# ---- the same rows and NOTICEs as one node ------------------------------------

# Run $sql as $role on both nodes: the same output, the same NOTICEs (or
# the same first ERROR line).  worker_notices => 1: the NOTICEs are not
# compared (a pushed-down call's come from the workers, in any order);
# empty => 1: no rows are expected
sub same
{
	my ($what, $role, $sql, %opts) = @_;
	my ($src, $sout, $serr) = $single->psql('postgres', "SET ROLE $role; $sql");
	my ($crc, $cout, $cerr) = $coord->psql('postgres', "SET ROLE $role; $sql");
	my ($serr1) = ($serr =~ /(ERROR:.*)$/m);
	my ($cerr1) = ($cerr =~ /(ERROR:.*)$/m);
	if (defined $serr1)
	{
		is($cerr1, $serr1, "$what as $role fails as on one node ($serr1)");
		return;
	}
	if ($opts{empty})
	{
		ok($src == 0 && $crc == 0 && $sout eq '' && $cout eq '', "$what as $role: no rows on either");
	}
	else
	{
		ok($src == 0 && $crc == 0 && length($sout) > 0, "$what as $role has rows");
	}
	is($cout, $sout, "$what as $role: the rows equal a single node's");
	is($cerr, $serr, "$what as $role: the NOTICEs equal a single node's"
		  . ($serr eq '' ? ' (none)' : ''))
	  unless $opts{worker_notices};
	return;
}

my $p520 = q{'{"fast": 5, "slow": 20}'};
my %runs = (
	'run_all' => "SELECT * FROM backtest_run_all('k', 'sma_cross', $p520)",
	'run_all, symbols (one unknown)' =>
	  "SELECT * FROM backtest_run_all('k', 'sma_cross', $p520, '{H, C, Z, A, C}')",
	'run_all, a time range' =>
	  "SELECT * FROM backtest_run_all('k', 'macd_cross', '{}', NULL, '2020-03-01', '2020-11-30')",
	'run_all, per-symbol parameters' => q{SELECT * FROM backtest_run_all('k', 'sma_cross',
	  '{"fast": {"A": 3, "D": 8, "*": 5}, "slow": {"B": 30, "*": 20}, "lot_size": {"C": 10, "*": 1}, "commission": 0.001}')},
	'run_all, a timeframe' =>
	  q{SELECT * FROM backtest_run_all('k', 'sma_cross', '{"fast": 3, "slow": 8, "timeframe": "1 week"}')},
	'run_all, no bars in the range' =>
	  "SELECT * FROM backtest_run_all('k', 'rsi', '{}', NULL, '2030-01-01', '2030-02-01')",
);
for my $role (qw(alice bob))
{
	same($_, $role, $runs{$_}, empty => /no bars/) for sort keys %runs;
}
# the checks above could pass with rows that are all alike: they are not
is($coord->safe_psql('postgres', "SET ROLE alice; SELECT count(DISTINCT equity_final) FROM ($runs{'run_all'}) r"),
	'9', 'the nine symbols have nine different final equities');
is($coord->safe_psql('postgres', "SET ROLE bob; SELECT string_agg(symbol, ',') FROM ($runs{'run_all'}) r"),
	'A,C,S', "bob's rows are his policy's symbols only (the policy holds on the workers)");
like(($coord->psql('postgres', "SET ROLE alice; $runs{'run_all'}"))[2],
	qr/NOTICE:  strategy "sma_cross" needs more bars than 1 of the 9 symbols have: "S"/,
	'one NOTICE names the short symbol, once (not once per node)');
# carol may not read k: refused on the coordinator, as on one node
same('run_all', 'carol', $runs{'run_all'});

# ---- the fan-out ran on the workers -------------------------------------------------

# calls of function $fn that node $node's statistics hold
sub calls
{
	my ($node, $fn) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = '$fn'");
}
my %before = map { $_->port => calls($_, 'backtest_run_all_symbol') } @nodes;
my ($rc, $out, $err) = $coord->psql('postgres',
	"SET ROLE alice; SET citus.log_remote_commands = on; SET client_min_messages = log; $runs{'run_all'}");
for my $w ($w1, $w2)
{
	like($err, qr/issuing SELECT .*LATERAL public\.backtest_run_all_symbol\('public\.k'::regclass, 'sma_cross'::text.*\nDETAIL:  on server alice\@127\.0\.0\.1:@{[ $w->port ]} /,
		'the coordinator sends the per-symbol calls to worker port ' . $w->port);
	# a backend flushes its statistics within a second of going idle
	my $want = $before{ $w->port } + $on{ $w->port };
	ok( $w->poll_query_until('postgres',
			"SELECT coalesce(sum(calls), 0) = $want FROM pg_stat_user_functions WHERE funcname = 'backtest_run_all_symbol'"
		),
		'worker port ' . $w->port . " ran backtest_run_all_symbol once per symbol it holds ($on{$w->port})");
}
my @issued = $err =~ /(?:LOG|NOTICE):  issuing (.*)$/mg;
ok(@issued > 0 && !grep({ !/LATERAL public\.backtest_run_all_symbol\(/ } @issued),
	'every query sent to the workers is the fan-out (' . scalar(@issued) . ' shard tasks): no bars are pulled');
is(calls($coord, 'backtest_run_all_symbol'), $before{ $coord->port }, '... and the coordinator ran none');

# ---- errors and a hostile search_path ---------------------------------------------------

# a bad bar in one symbol: the worker's error reaches the caller
$_->safe_psql('postgres', q{
INSERT INTO k VALUES ('X', '2020-01-01 00:00+00', 10, 9, 11, 10, 1), ('X', '2020-01-02 00:00+00', 10, 11, 9, 10, 1)})
  for ($single, $coord);
same('run_all with a bad bar', 'alice', $runs{'run_all'});
$_->safe_psql('postgres', "DELETE FROM k WHERE symbol = 'X'") for ($single, $coord);

# everything is qualified: a schema first on the path changes nothing
$_->safe_psql('postgres', q{
SET citus.enable_ddl_propagation = off;
CREATE SCHEMA evil;
CREATE FUNCTION evil.backtest_run_all_symbol(regclass, text, jsonb, text, timestamptz, timestamptz)
RETURNS SETOF record LANGUAGE sql AS 'SELECT NULL::record WHERE false';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.textne);
GRANT USAGE ON SCHEMA evil TO PUBLIC;}) for ($single, $coord);
same('run_all under search_path evil, public', 'alice',
	"SET search_path = evil, public; $runs{'run_all, symbols (one unknown)'}");

# ---- the LATERAL form of the symbol-scoped functions --------------------------------------

my $lateral = q{SELECT g.symbol, r.* FROM (SELECT symbol FROM k GROUP BY symbol) g,
  LATERAL backtest_sweep('k', g.symbol, 'sma_cross', '{"fast": [3, 5], "slow": [20, 30]}') r
ORDER BY 1, 2};
same('a sweep per symbol (LATERAL)', 'alice', $lateral, worker_notices => 1);
same('a sweep per symbol (LATERAL)', 'bob', $lateral, worker_notices => 1);
($rc, $out, $err) = $coord->psql('postgres',
	"SET ROLE alice; SET citus.log_remote_commands = on; SET client_min_messages = log; $lateral");
like($err, qr/issuing SELECT .*FROM public\.k_\d+ k GROUP BY k\.symbol\) g, LATERAL public\.backtest_sweep\(/,
	'the LATERAL sweep is pushed down to the shards whole');

$_->stop for (@nodes, $single);
done_testing();
