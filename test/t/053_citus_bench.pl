# The Citus benchmark of issue 14 (`make bench` runs it when citus.so is
# installed; a plain test run skips it: it only prints figures, it asserts
# nothing about time).  Three installations on this machine, each with the
# same 16 symbols x 200,000 minute bars (each symbol its own wave):
#   - a single node,
#   - a coordinator with one worker,
#   - a coordinator with two workers,
# the K-line table distributed by symbol and backtest_citus_distribute run on
# the two clusters.  The rows are written symbol by symbol, so that a symbol's
# bars are contiguous on the single node as they are in a shard: the figures
# then compare the distribution, not the table's layout (a table written
# minute by minute, every symbol per minute, spreads one symbol's 200,000
# bars over every page: a single node's backtest_run then took ~0.7 s here,
# against 0.13-0.16 s on the clusters, whose shards hold one symbol each).  Figures, each the median of $ENV{BENCH_CITUS_REPS}
# (default 5) rounds interleaved across the three installations:
#   - a delegated backtest_run of one symbol against the same call on the
#     single node;
#   - backtest_run_all over the 16 symbols on 1 and on 2 workers against the
#     single node;
#   - the GROUP BY symbol aggregate, likewise;
# each in a warm session (the second to fourth calls of a session) and as
# the first call of a new session (Citus then opens its connections to the
# workers).
# The servers share the machine's cores: on a 2-core machine the clusters'
# nodes compete for the same CPUs, so the figures say what the distribution
# costs here, not how it scales on separate hardware.
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'a benchmark: run by make bench (PGBT_CITUS_BENCH=1)'
  unless $ENV{PGBT_CITUS_BENCH};
my $why = PgBacktestNode::citus_missing();
plan skip_all => $why if $why;

my $reps = $ENV{BENCH_CITUS_REPS} || 5;
my $nsym = 16;
my $nbars = $ENV{BENCH_CITUS_BARS} || 200000;
my $conf = "shared_buffers = '256MB'\nmax_parallel_workers_per_gather = 0\n";

my @c1 = PgBacktestNode->citus_cluster(prefix => 'one', workers => 1, conf => $conf);
my @c2 = PgBacktestNode->citus_cluster(prefix => 'two', workers => 2, conf => $conf);
my $single = PgBacktestNode->create('single', conf => $conf);

my $values = join(', ', map { sprintf("('S%02d', %d)", $_, $_) } 1 .. $nsym);
my $setup = qq{
CREATE TABLE k (
    symbol text NOT NULL, ts timestamptz NOT NULL,
    open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL,
    close float8 NOT NULL, volume float8 NOT NULL,
    PRIMARY KEY (symbol, ts));
--DISTRIBUTE--
INSERT INTO k
SELECT sym, timestamptz '2020-01-01 00:00+00' + i * interval '1 minute', c, c * 1.001, c * 0.999, c, 1000
FROM (VALUES $values) v(sym, ph),
     LATERAL (SELECT i, 100 + 10 * sin(i / (500.0 + 7 * ph) + ph) + 3 * sin(i / (37.0 + ph)) + i * 1e-5 * ph AS c
              FROM generate_series(0, $nbars - 1) i) s
ORDER BY sym, i;
VACUUM ANALYZE k;
CREATE FUNCTION bench_ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
};
(my $ssetup = $setup) =~ s/--DISTRIBUTE--//;
(my $csetup = $setup) =~ s/--DISTRIBUTE--/SELECT create_distributed_table('k', 'symbol');/;
$single->safe_psql('postgres', $ssetup);
for my $c ($c1[0], $c2[0])
{
	$c->safe_psql('postgres', $csetup);
	$c->safe_psql('postgres', "SELECT backtest_citus_distribute('k')");
}
my %inst = (single => $single, one => $c1[0], two => $c2[0]);

my %query = (
	run => q{SELECT * FROM backtest_run('k', 'S05', 'sma_cross')},
	run_all => q{SELECT * FROM backtest_run_all('k', 'sma_cross')},
	aggregate => q{SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).*
                   FROM k GROUP BY symbol});

# the same rows everywhere (else the figures compare different work)
for my $q (sort keys %query)
{
	my $sql = "SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM ($query{$q}) r";
	my $want = $single->safe_psql('postgres', $sql);
	is($inst{$_}->safe_psql('postgres', $sql), $want, "$q: the same rows on $_ as on the single node")
	  for qw(one two);
}

if ($ENV{BENCH_CITUS_VERBOSE})
{
	diag($single->safe_psql('postgres', $_)) for (
		q{SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('shared_buffers', 'jit', 'lc_collate', 'fsync', 'log_statement', 'log_min_duration_statement', 'track_functions', 'random_page_cost')},
		q{EXPLAIN (ANALYZE, BUFFERS) SELECT ts, open, high, low, close, volume FROM k WHERE symbol = 'S05' ORDER BY ts},
		q{SELECT bench_ms('SELECT * FROM backtest_run(''k'', ''S05'', ''sma_cross'')') || ' ' || bench_ms('SELECT * FROM backtest_run(''k'', ''S05'', ''sma_cross'')')});
}

# warm up, then interleaved rounds
my %ms;
for my $round (0 .. $reps)
{
	for my $q (sort keys %query)
	{
		for my $i (qw(single one two))
		{
			(my $lit = $query{$q}) =~ s/'/''/g;
			# the first call of a session opens Citus' connections to the
			# workers (a backend forked on each); the next three reuse them
			my ($cold, @warm) = split /\|/,
			  $inst{$i}->safe_psql('postgres', "SELECT bench_ms('$lit'), bench_ms('$lit'), bench_ms('$lit'), bench_ms('$lit')");
			if ($round > 0)
			{
				push @{ $ms{$q}{$i} }, @warm;
				push @{ $ms{"$q, first call of a session"}{$i} }, $cold;
			}
		}
	}
}

sub median
{
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

diag(sprintf("Citus benchmark: %d symbols x %d minute bars, median of %d interleaved rounds (ms)",
		$nsym, $nbars, $reps));
for my $q (map { ($_, "$_, first call of a session") } qw(run run_all aggregate))
{
	my ($s, $o, $t) = map { median(@{ $ms{$q}{$_} }) } qw(single one two);
	diag("  $q rounds: " . join('; ', map { "$_ " . join(' ', map { sprintf('%.0f', $_) } @{ $ms{$q}{$_} }) } qw(single one two)))
	  if $ENV{BENCH_CITUS_VERBOSE};
	diag(sprintf("  %-32s single %9.1f   1 worker %9.1f (%.2fx)   2 workers %9.1f (%.2fx)",
			$q, $s, $o, $o / $s, $t, $t / $s));
}

$_->stop for (@c1, @c2, $single);
done_testing();
