# pg_backtest live: the CLI starts a stream, prints the last bar, then each
# new bar (its OHLCV, indicator values equal to backtest_indicator's, the
# position) and a SIGNAL line where the position changes; a forming-candle
# update reprints the bar; a forged backtest_chart payload makes it print
# no bar that is not in the table; Ctrl-C stops the stream and exits 0.
# --stream follows an existing stream and leaves it running; usage errors.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('live_cli');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron,pg_backtest'
cron.database_name = 'postgres'
max_worker_processes = 16
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_backtest;
CREATE TABLE k (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO k SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day', 10 + i % 5, 11 + i % 5,
                     9 + i % 5, 10 + i % 5, 100
FROM generate_series(0, 39) i;
});
my @conn = ('-h', $node->host, '-p', $node->port, '-d', 'postgres');

my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[
		'pg_backtest', @conn, 'live', 'k', 'A', '--strategy', 'sma_cross',
		'--params', '{"fast": 2, "slow": 4}', '--indicators', '[{"name": "ema", "period": 3}]'
	],
	'>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));

# wait until the output matches $re
sub wait_for
{
	my ($re, $what) = @_;
	my $ok = eval {
		$h->pump until $out =~ $re;
		1;
	};
	ok($ok, $what) or diag("stdout:\n$out\nstderr:\n$err");
}

wait_for(qr/2024-02-09 00:00:00 UTC .*position long\n/, 'the last bar first');
like($err, qr/following live stream 1 \(Ctrl-C to stop it\)/, 'it says which stream');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.live_streams'), 1, 'a stream was started');

$node->safe_psql('postgres', "INSERT INTO k VALUES ('A', '2024-02-10', 20, 22, 19, 21, 100)");
wait_for(qr/2024-02-10 00:00:00 UTC  O 20  H 22  L 19  C 21  V 100  \{"ema\(3\)": [0-9.]+\}  position long\n/,
	'a new bar: OHLCV, the EMA, the position');
$node->safe_psql('postgres',
	"INSERT INTO k VALUES ('A', '2024-02-11', 5, 6, 4, 5, 100), ('A', '2024-02-12', 5, 6, 4, 4, 100)");
wait_for(qr/SIGNAL A 2024-02-11 00:00:00 UTC: long -> flat at close 5\n.*2024-02-12 00:00:00 UTC/s,
	'a signal where the position changes, then the next bar');
$node->safe_psql('postgres', "UPDATE k SET close = 4.5, low = 4 WHERE ts = '2024-02-12'");
wait_for(qr/2024-02-12 00:00:00 UTC  O 5  H 6  L 4  C 4\.5 /, 'the forming candle reprinted');

# every EMA printed is backtest_indicator's
my %printed;
$printed{$1} = $2 while $out =~ /^A  (\S+) 00:00:00 UTC .*"ema\(3\)": ([0-9.e+-]+)\}/mg;
my $batch = $node->safe_psql('postgres',
	"SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'), value FROM backtest_indicator('k', 'A', 'ema', '{\"period\": 3}') WHERE ts >= '2024-02-09'");
my %want = map { split /\|/ } split /\n/, $batch;
is(scalar keys %want, 4, 'four bars since the start');
for my $d (sort keys %want)
{
	ok(abs($printed{$d} - $want{$d}) <= 1e-9, "$d: printed EMA $printed{$d} = backtest_indicator's");
}

# a forged payload names a bar that is not there: nothing is printed for it
my $before = $out;
$node->safe_psql('postgres',
	q{SELECT pg_notify('backtest_chart', '{"stream": 1, "symbol": "A", "ts": ["2030-01-01T00:00:00Z"]}')});
$node->safe_psql('postgres', "INSERT INTO k VALUES ('A', '2024-02-13', 5, 6, 4, 5, 100)");
wait_for(qr/2024-02-13 00:00:00 UTC/, 'the next real bar');
unlike($out, qr/2030-01-01/, 'the forged bar is not printed');

$h->signal('INT');
$h->finish;
is($h->result(0), 0, 'Ctrl-C: exit status 0');
like($err, qr/stopped live stream 1/, 'Ctrl-C: the stream is stopped');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.live_streams'), 0, 'no stream left');

# --stream follows an existing stream and leaves it running
my $id = $node->safe_psql('postgres', "SELECT backtest_live_start('k', 'A')");
($out, $err) = ('', '');
$h = IPC::Run::start([ 'pg_backtest', @conn, 'live', '--stream', $id ],
	'>', \$out, '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
wait_for(qr/2024-02-13 00:00:00 UTC  O 5  H 6  L 4  C 5  V 100  \{\}\n/, '--stream: the last bar, no indicators');
$h->signal('INT');
$h->finish;
is($h->result(0), 0, '--stream: exit status 0');
is($node->safe_psql('postgres', "SELECT count(*) FROM backtest.live_streams WHERE id = $id"), 1,
	'--stream: the stream keeps running');

# usage errors
for my $case (
	[ [ 'live', 'k' ], qr/live needs SOURCE SYMBOL, or --stream ID/ ],
	[ [ 'live', '--stream', '1', 'k', 'A' ], qr/--stream goes without SOURCE SYMBOL/ ],
	[ [ 'live', '--stream', $id, '--strategy', 'rsi' ], qr/not with --stream/ ],
	[ [ 'watch', '1', '--strategy', 'rsi' ], qr/go with live/ ],
	[ [ 'live', '--stream', '999' ], qr/live stream 999 does not exist/ ],
	[ [ 'live', 'k', 'A', '--strategy', 'nope' ], qr/unknown strategy "nope"/ ])
{
	my ($o, $e);
	IPC::Run::run([ 'pg_backtest', @conn, @{ $case->[0] } ], '>', \$o, '2>', \$e);
	is($? >> 8, 3, "@{$case->[0]}: exit status 3");
	like($e, $case->[1], "@{$case->[0]}: the message");
}

done_testing();
