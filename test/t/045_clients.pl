# The README's notification clients, run as written: the psycopg2 one
# (test/clients/notifications.py) and the node-postgres one
# (test/clients/notifications.js, with pg from npm at the version of
# test/clients/package-lock.json: `npm ci`).  Each prints the chart update
# it is sent and the listening role's two new notifications, read from the
# rows, not another role's (whose events it hears too), marks them read and
# exits.  The chart update comes from a live stream: the client reads the
# new bar and its indicator value back with backtest_live_bars().  The README
# shows exactly these files.
use strict;
use warnings;

use File::Copy;
use IPC::Run;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = "$ENV{TESTDIR}/clients";
my $readme = PostgreSQL::Test::Utils::slurp_file("$ENV{TESTDIR}/README.md");

# the README's blocks are the files
for my $f ([ 'notifications.py', 'client-psycopg2' ], [ 'notifications.js', 'client-node' ])
{
	my ($file, $marker) = @$f;
	my ($block) = $readme =~ /^<!-- test: \Q$marker\E[ >][^\n]*\n```\w*\n(.*?)^```$/ms;
	is($block, PostgreSQL::Test::Utils::slurp_file("$src/$file"),
		"the README's $marker block is test/clients/$file");
}

my $node = PgBacktestNode->create('clients', conf => "pg_backtest.max_concurrent = 1\n");
$node->create_klines('postgres', table => 'klines', symbols => ['SYNTH'], grant => 'PUBLIC');
$node->safe_psql('postgres',
	'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; GRANT TRIGGER ON klines TO alice;');

# the node client's packages, exactly as locked
my $dir = "$PostgreSQL::Test::Utils::tmp_check/clients";
mkdir $dir;
copy("$src/$_", "$dir/$_") or die "copy $_: $!"
  for qw(notifications.py notifications.js package.json package-lock.json);
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'npm', 'ci', '--no-audit', '--no-fund' ], '>', \$out, '2>', \$err,
	init => sub { chdir $dir or die "chdir $dir: $!"; $ENV{npm_config_cache} = "$dir/.npm"; },
	IPC::Run::timeout(600));
ok($ok, 'npm ci installs pg from the lock file') or diag "$out\n$err";
like(PostgreSQL::Test::Utils::slurp_file("$dir/node_modules/pg/package.json"),
	qr/"version": "8\.13\.1"/, 'the locked version of pg');

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';
local $ENV{PGUSER} = 'alice';

sub sql
{
	my ($sql, $user) = @_;
	return $node->safe_psql_as($user // 'postgres', $sql);
}

# alice's live stream over klines: each new bar sends a chart update
my $stream = sql(q{SELECT backtest_live_start('klines', 'SYNTH', NULL, '{}', '[{"name": "ema", "period": 5}]')},
	'alice');
my $day = 500;

for my $client ([ 'psycopg2', '/usr/bin/python3', 'notifications.py' ],
	[ 'node-postgres', 'node', 'notifications.js' ])
{
	my ($name, $interp, $file) = @$client;
	my ($cout, $cerr) = ('', '');
	my $h = IPC::Run::start([ $interp, "$dir/$file", '2' ], '>', \$cout, '2>', \$cerr,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	$h->pump until $cout =~ /^listening\n/m || !$h->pumpable;
	is($cout, "listening\n", "$name: listening") or diag $cerr;

	# bob's task first: alice's client hears its event but reads no row
	my $b = sql(q{SELECT backtest_submit('klines', 'SYNTH', 'ema_cross')}, 'bob');
	# a new bar: the stream's chart update, whose bar the client reads back
	my $ts = sql("SELECT timestamptz '2020-01-01 00:00+00' + $day * interval '1 day'");
	sql("INSERT INTO klines VALUES ('SYNTH', '$ts', 100, 102, 98, 101.25 + $day, 1000)");
	$day++;
	my $chart = sql(qq{SELECT 'chart: stream $stream SYNTH ' || ts::text || ' close ' || close || ' ' || "values"::text
FROM backtest_live_bars($stream, '$ts') WHERE symbol = 'SYNTH'}, 'alice');
	like($chart, qr/^chart: stream $stream SYNTH \S+ \S+ close [\d.]+ \{"ema\(5\)": [\d.]+\}$/,
		"$name: the new bar has its EMA");
	my $c = sql(q{SELECT backtest_submit('klines', 'SYNTH', 'sma_cross')}, 'alice');
	my $f = sql(q{SELECT backtest_submit_query('SELECT * FROM klines WHERE (SELECT ''oops'')::int > 0', 'rsi')},
		'alice');
	$h->finish;
	is($? >> 8, 0, "$name: exits 0 after two notifications") or diag $cerr;
	my $summary = sql("SELECT trades_count || ' trades, return ' || round(return_pct::numeric, 2) || '%, Sharpe '"
		  . " || round(sharpe_ratio::numeric, 3) || ', max drawdown ' || round(max_drawdown_pct::numeric, 2) || '%'"
		  . " FROM backtest.results WHERE task_id = $c");
	is( $cout,
		"listening\n"
		  . "$chart\n"
		  . "normal task_completed: Backtest $c completed: sma_cross on SYNTH: $summary  (SELECT * FROM backtest.results WHERE task_id = $c)\n"
		  . "  high task_failed: Backtest $f failed: rsi on a query: invalid input syntax for type integer: \"oops\"  (SELECT * FROM public.backtest_status($f))\n",
		"$name: the new bar of the chart update and alice's two notifications, from the rows; nothing of bob's");
	is( sql(qq{SELECT string_agg(owner || ':' || (read_at IS NOT NULL), ',' ORDER BY id) FROM backtest.notifications
WHERE (metadata->>'task_id')::bigint IN ($b, $c, $f)}),
		'bob:false,alice:true,alice:true', "$name: marked alice's read, not bob's");
}

$node->stop;
done_testing();
