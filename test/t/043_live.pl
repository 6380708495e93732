# Live streams: the sample K-lines arrive in a table one row at a time, in
# batches of 100 (with a server restart half-way) and all at once; a stream
# with every indicator and the sma_cross strategy, started on the first 50
# bars, sends NOTIFY backtest_chart payloads whose every value equals
# backtest_indicator's over the whole table (1e-9), and NOTIFY
# backtest_signal exactly on the bars where backtest_trades' entries and
# exits were decided (the bar before each fill).  Payloads stay below 8000
# bytes.  Then, on the finished table: a forming candle updated in place
# (recomputed from the state before it, no rebuild), an out-of-order bar and
# a delete (rebuilds, with a NOTICE, still equal to the batch values), a
# rolled-back insert (nothing sent, nothing changed), a TRUNCATE.  Each
# signal is also a 'signal' row of the notification centre.
use strict;
use warnings;

use JSON::PP;
use PgBacktestNode qw(notifications);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('live');

my $data = "$ENV{TESTDIR}/data/ohlcv_synth.csv";
$node->safe_psql(
	'postgres', qq{
CREATE TABLE src (ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
COPY src FROM '$data' WITH (FORMAT csv, HEADER);
});
my $nbars = $node->safe_psql('postgres', 'SELECT count(*) FROM src');
is($nbars, 3000, 'the sample data: 3000 bars');

# every indicator (label prefix, name, parameters, outputs)
my @ind = (
	[ 'sma(20)',       'sma',      '{"period": 20}', ['value'] ],
	[ 'ema(20)',       'ema',      '{"period": 20}', ['value'] ],
	[ 'wma(10)',       'wma',      '{"period": 10}', ['value'] ],
	[ 'rsi(14)',       'rsi',      '{}', ['value'] ],
	[ 'macd(12,26,9)', 'macd',     '{}', [qw(macd signal histogram)] ],
	[ 'bbands(20,2)',  'bbands',   '{}', [qw(lower middle upper)] ],
	[ 'stoch(14,3,3)', 'stoch',    '{}', [qw(fastk fastd slowd)] ],
	[ 'kdj(9,3,3)',    'kdj',      '{}', [qw(rsv k d j)] ],
	[ 'atr(14)',       'atr',      '{}', [qw(tr atr)] ],
	[ 'donchian(20)',  'donchian', '{}', [qw(upper mid lower)] ],
	[ 'obv',           'obv',      '{}', ['value'] ],
	[ 'roc(10)',       'roc',      '{}', ['value'] ]);
my $indicators = '['
  . join(', ',
	map {
		my $p = $_->[2];
		$p =~ s/^\{//;
		$p = ", $p" if $p ne '}';
		qq({"name": "$_->[1]"$p)
	} @ind) . ']';
my @labels;
for my $i (@ind)
{
	push @labels, map { @{ $i->[3] } == 1 ? $i->[0] : "$i->[0].$_" } @{ $i->[3] };
}

my $json = JSON::PP->new;
my $iso = q{to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')};

# Run psql, return (stdout, stderr); dies on error
sub run
{
	my ($sql) = @_;
	my ($out, $err);
	my $rc = $node->psql('postgres', $sql, stdout => \$out, stderr => \$err,
		extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
	die "psql failed: $err" if $rc != 0;
	return ($out, $err);
}

# The batch values of every indicator on a table: {ts}{label}
sub batch_values
{
	my ($table) = @_;
	my %v;
	for my $i (@ind)
	{
		my $rows = $node->safe_psql('postgres',
			"SELECT $iso, output, coalesce(value::text, 'null') FROM backtest_indicator('$table', 'SYN', '$i->[1]', '$i->[2]')");
		for (split /\n/, $rows)
		{
			my ($ts, $o, $val) = split /\|/;
			my $label = @{ $i->[3] } == 1 ? $i->[0] : "$i->[0].$o";
			$v{$ts}{$label} = $val eq 'null' ? undef : $val + 0;
		}
	}
	return \%v;
}

# Compare the bars of chart payloads with the batch values; returns the
# number of values compared (mismatches are reported, at most 5)
sub compare_bars
{
	my ($name, $bars, $batch) = @_;
	my ($n, $bad) = (0, 0);
	for my $b (@$bars)
	{
		for my $l (@labels)
		{
			my ($got, $want) = ($b->{$l}, $batch->{ $b->{ts} }{$l});
			my $ok =
			  (!defined $got || !defined $want)
			  ? (!defined $got && !defined $want)
			  : abs($got - $want) <= 1e-9 * (abs($want) > 1 ? abs($want) : 1);
			$n++;
			next if $ok;
			diag("$name: $b->{ts} $l: live " . ($got // 'null') . ', batch ' . ($want // 'null'))
			  if $bad++ < 5;
		}
	}
	is($bad, 0, "$name: every chart value equals backtest_indicator's ($n values)");
	return $n;
}

# The signals backtest_trades implies: {ts of the decision bar} = new position
sub trade_signals
{
	my ($table) = @_;
	my %bar_before;
	my @ts = split /\n/, $node->safe_psql('postgres', "SELECT $iso FROM $table ORDER BY ts");
	$bar_before{ $ts[$_] } = $ts[ $_ - 1 ] for 1 .. $#ts;
	my %s;
	for (split /\n/,
		$node->safe_psql('postgres',
			"SELECT to_char(entry_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
			  . "to_char(exit_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), is_open, side "
			  . "FROM backtest_trades('$table', 'SYN', 'sma_cross')"))
	{
		my ($entry, $exit, $open, $side) = split /\|/;
		$s{ $bar_before{$entry} } = $side eq 'long' ? 1 : -1;
		$s{ $bar_before{$exit} } = 0 if $open eq 'f';
	}
	return \%s;
}

# ---- the three ways of inserting the bars -------------------------------
my %mode = (
	rows    => sub { join '', map { "INSERT INTO %T SELECT 'SYN', * FROM src ORDER BY ts OFFSET $_ LIMIT 1;\n" } 50 .. 2999 },
	batches => sub { join '', map { "INSERT INTO %T SELECT 'SYN', * FROM src ORDER BY ts OFFSET " . (50 + 100 * $_) . " LIMIT 100;\n" } 0 .. 29 },
	all     => sub { "INSERT INTO %T SELECT 'SYN', * FROM src ORDER BY ts OFFSET 50;\n" },
);
my %stream;
for my $m (qw(rows batches all))
{
	my $t = "k_$m";
	$stream{$m} = $node->safe_psql(
		'postgres', qq{
CREATE TABLE $t (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8, low float8,
                 close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO $t SELECT 'SYN', * FROM src ORDER BY ts LIMIT 50;
SELECT backtest_live_start('$t', 'SYN', 'sma_cross', '{"payload": "full"}', '$indicators');
});
	my $ids = $node->safe_psql('postgres', "SELECT backtest_live_start('$t', 'SYN')") if $m eq 'all';

	my $sql = $mode{$m}->();
	$sql =~ s/%T/$t/g;
	my $out = '';
	if ($m eq 'batches')
	{
		# a restart half-way: the state is in a table
		my @half = split /(?<=\n)/, $sql;
		my ($o1) = run("LISTEN backtest_chart; LISTEN backtest_signal;\n" . join('', @half[ 0 .. 14 ]));
		$node->restart;
		my ($o2) = run("LISTEN backtest_chart; LISTEN backtest_signal;\n" . join('', @half[ 15 .. 29 ]));
		$out = "$o1\n$o2";
	}
	else
	{
		($out) = run("LISTEN backtest_chart; LISTEN backtest_signal;\n$sql");
	}
	my @n = notifications($out);
	my (@bars, %sig, %ids_ts, $ids_msgs, $chart_msgs, $longest, $nsig);
	$longest = 0;
	for (@n)
	{
		my ($ch, $p) = @$_;
		$longest = length $p if length $p > $longest;
		my $j = $json->decode($p);
		if ($ch eq 'backtest_chart' && $j->{stream} == $stream{$m})
		{
			$chart_msgs++;
			push @bars, @{ $j->{bars} };
		}
		elsif ($ch eq 'backtest_chart')
		{
			$ids_msgs++;
			$ids_ts{$_}++ for @{ $j->{ts} };
			is_deeply([ sort keys %$j ], [qw(stream symbol ts)], 'an ids payload has stream, symbol, ts only')
			  if $ids_msgs == 1;
		}
		elsif ($ch eq 'backtest_signal')
		{
			is($j->{stream}, $stream{$m}, "$m: the signal names its stream") if !%sig;
			is($j->{strategy}, 'sma_cross', "$m: and the strategy") if !%sig;
			$sig{ $j->{ts} } = $j->{to};
			$nsig++;
		}
	}
	is(scalar @bars, 2950, "$m: a chart bar for each of the 2950 bars inserted");
	my %seen = map { $_->{ts} => 1 } @bars;
	is(scalar keys %seen, 2950, "$m: each bar once");
	cmp_ok($longest, '<', 8000, "$m: every payload below 8000 bytes ($longest)");
	my $want_msgs = $m eq 'rows' ? 2950 : $m eq 'batches' ? 30 : 1;
	cmp_ok($chart_msgs, '>=', $want_msgs, "$m: at least one chart message per statement ($chart_msgs)");
	if ($m eq 'all')
	{
		# 2950 full bars take many payloads; their timestamps alone a few
		cmp_ok($chart_msgs, '<=', 400, "all: the full payloads of one COPY-sized insert: $chart_msgs");
		cmp_ok($ids_msgs, '<=', 12, "all: the ids stream: $ids_msgs payloads for 2950 bars");
		is(scalar keys %ids_ts, 2950, 'all: the ids payloads name every bar');
	}

	my $batch = batch_values($t);
	compare_bars($m, \@bars, $batch);

	# the positions of the payloads and the signals against backtest_trades
	my $want = trade_signals($t);
	my @ts = split /\n/, $node->safe_psql('postgres', "SELECT $iso FROM $t ORDER BY ts");
	my $first = $ts[50];
	my $last = $ts[-1];
	my %want_live = map { $_ => $want->{$_} } grep { $_ ge $first } keys %$want;
	delete $sig{$last};    # decided on the last bar: no fill yet
	is_deeply(\%sig, \%want_live,
		"$m: the signals are backtest_trades' entries and exits (" . scalar(keys %sig) . ' signals)');
	cmp_ok(scalar keys %sig, '>=', 20, "$m: there are signals");

	# each signal is also a notification of the stream's owner, with the values
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM backtest.notifications WHERE kind = 'signal' AND (metadata ->> 'stream')::bigint = $stream{$m}"),
		$nsig, "$m: a 'signal' notification for each of the $nsig signals");
	my ($fts) = sort keys %sig;
	is($node->safe_psql('postgres',
			"SELECT title, (metadata ->> 'to')::int, metadata ->> 'strategy', action FROM backtest.notifications "
			  . "WHERE kind = 'signal' AND (metadata ->> 'stream')::bigint = $stream{$m} AND metadata ->> 'ts' = '$fts'"),
		"SYN: " . ($sig{$fts} ? 'flat -> long' : 'long -> flat') . "|$sig{$fts}|sma_cross|SELECT * FROM backtest_live_bars($stream{$m}, '$fts')",
		"$m: the notification of the first signal");

	# backtest_live_bars gives the same values as the payloads
	my $lb = $node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE (\"values\" ->> 'ema(20)')::float8 IS DISTINCT FROM e.value), count(*) "
		  . "FROM backtest_live_bars($stream{$m}) b "
		  . "JOIN backtest_indicator('$t', 'SYN', 'ema', '{\"period\": 20}') e USING (ts)");
	is($lb, '0|3000', "$m: backtest_live_bars' values are the batch values");
}

# ---- on the finished table of the 'all' run --------------------------------
my $t = 'k_all';
my $s = $stream{all};
my $state = sub { $node->safe_psql('postgres', "SELECT bars, last_ts, position FROM backtest_live_streams() WHERE stream = $s") };

# a forming candle: the last bar updated three times
for my $k (1 .. 3)
{
	my ($out, $err) = run(qq{LISTEN backtest_chart;
UPDATE $t SET close = close + $k * 0.7, high = greatest(high, close + $k * 0.7) WHERE ts = (SELECT max(ts) FROM $t);
});
	my @c = grep { $_->[0] eq 'backtest_chart' } notifications($out);
	my @mine = grep { $json->decode($_->[1])->{stream} == $s } @c;
	is(scalar @mine, 1, "forming candle $k: one chart message");
	my $j = $json->decode($mine[0][1]);
	ok(!$j->{rebuilt}, "forming candle $k: recomputed, not rebuilt");
	unlike($err, qr/rebuilt/, "forming candle $k: no NOTICE");
	is(scalar @{ $j->{bars} }, 1, "forming candle $k: the bar");
	compare_bars("forming candle $k", $j->{bars}, batch_values($t));
}
like($state->(), qr/^3000\|/, 'forming candle: still 3000 bars');

# an out-of-order bar: bar 1500 deleted (a rebuild), then inserted again
my $ts1500 = $node->safe_psql('postgres', "SELECT ts FROM $t ORDER BY ts OFFSET 1500 LIMIT 1");
my ($out, $err) = run(qq{LISTEN backtest_chart;
DELETE FROM $t WHERE ts = '$ts1500';
});
like($err, qr/NOTICE:  live stream $s rebuilt its state of symbol "SYN" from the table/, 'delete: a NOTICE');
like($err, qr/DETAIL:  The state was rebuilt because bars were deleted\./, 'delete: saying why');
my @c = map { $json->decode($_->[1]) } grep { $_->[0] eq 'backtest_chart' } notifications($out);
my ($mine) = grep { $_->{stream} == $s } @c;
ok($mine->{rebuilt} && @{ $mine->{bars} } == 0, 'delete: a chart message saying rebuilt, no bars');
like($state->(), qr/^2999\|/, 'delete: 2999 bars');

($out, $err) = run(qq{LISTEN backtest_chart;
INSERT INTO $t SELECT 'SYN', * FROM src WHERE ts = '$ts1500';
});
like($err, qr/The state was rebuilt because a bar not after the last one was inserted\./,
	'out-of-order bar: a NOTICE saying why');
@c = map { $json->decode($_->[1]) } grep { $_->[0] eq 'backtest_chart' } notifications($out);
($mine) = grep { $_->{stream} == $s } @c;
ok($mine->{rebuilt}, 'out-of-order bar: rebuilt');
is(scalar @{ $mine->{bars} }, 1, 'out-of-order bar: its values sent');
compare_bars('out-of-order bar', $mine->{bars}, batch_values($t));
like($state->(), qr/^3000\|/, 'out-of-order bar: 3000 bars');
# each rebuild is a system notification (low) for the stream's owner, in the
# writing transaction: a rolled-back one leaves none
run(qq{BEGIN; DELETE FROM $t WHERE ts = '$ts1500'; ROLLBACK;});
is( $node->safe_psql(
		'postgres', qq{
SELECT string_agg(owner || ' ' || priority || ' ' || title || ' ' || (metadata->>'symbol') || ' | ' || message, ',' ORDER BY id)
FROM backtest.notifications WHERE kind = 'system' AND (metadata->>'stream')::bigint = $s}),
	"postgres low live stream $s rebuilt SYN | Live stream $s rebuilt its state of SYN from the table: bars were deleted.,"
	  . "postgres low live stream $s rebuilt SYN | Live stream $s rebuilt its state of SYN from the table: a bar not after the last one was inserted.",
	'each rebuild: one low system notification for the owner saying why; the rolled-back one none');

# a new bar after the rebuild continues from the rebuilt state
($out) = run(qq{LISTEN backtest_chart;
INSERT INTO $t SELECT 'SYN', ts + interval '1 day', open, high, low, close, volume FROM $t ORDER BY ts DESC LIMIT 1;
});
($mine) = grep { $_->{stream} == $s } map { $json->decode($_->[1]) } notifications($out);
compare_bars('after the rebuild', $mine->{bars}, batch_values($t));

# a rolled-back insert sends nothing and changes nothing
my $before = $state->();
($out) = run(qq{LISTEN backtest_chart; LISTEN backtest_signal;
BEGIN;
INSERT INTO $t SELECT 'SYN', ts + interval '1 day', open, high, low, close, volume FROM $t ORDER BY ts DESC LIMIT 1;
ROLLBACK;
SELECT 1;
});
is(scalar(notifications($out)), 0, 'rollback: nothing sent');
is($state->(), $before, 'rollback: the state is unchanged');
($out) = run(qq{LISTEN backtest_chart;
INSERT INTO $t SELECT 'SYN', ts + interval '1 day', open, high, low, close, volume FROM $t ORDER BY ts DESC LIMIT 1;
});
($mine) = grep { $_->{stream} == $s } map { $json->decode($_->[1]) } notifications($out);
compare_bars('the bar after the rollback', $mine->{bars}, batch_values($t));

# TRUNCATE drops the states; the next bars start again from the table
run("TRUNCATE $t; INSERT INTO $t SELECT 'SYN', * FROM src ORDER BY ts LIMIT 40;");
like($state->(), qr/^40\|/, 'truncate: the state starts again from the table');

# the last stream of a table removes its triggers
my @ids = split /\n/, $node->safe_psql('postgres', "SELECT id FROM backtest.live_streams WHERE source = '$t'::regclass");
$node->safe_psql('postgres', "SELECT backtest_live_stop($_)") for @ids;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_trigger WHERE tgrelid = '$t'::regclass"),
	0, 'the last stream removed the triggers');

done_testing();
