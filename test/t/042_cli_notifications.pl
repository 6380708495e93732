# The CLI's notification commands: `pg_backtest notifications` lists the
# caller's unread notifications (--all: read ones too, --limit), `read`
# marks some or all read; `pg_backtest watch --all` shows the caller's tasks
# as they progress, her new notifications and the status, and nothing of
# another role's; --until-idle ends it when her tasks are done, Ctrl-C
# otherwise (exit 130); a lost connection is reconnected, as by watch.  Usage errors exit 3.
use strict;
use warnings;

use IPC::Run;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('cli_notifications',
	conf => "pg_backtest.max_concurrent = 1\npg_backtest.status_interval = 200\n");
$node->create_klines('postgres', grant => 'PUBLIC');
$node->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;');

my @conn = ('-h', $node->host, '-p', $node->port, '-d', 'postgres');

# Run the CLI as $user; returns (exit status, stdout, stderr)
sub cli
{
	my ($user, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_backtest', @conn, '-U', $user, @args ], '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

sub sql
{
	my ($sql, $user) = @_;
	return $user ? $node->safe_psql_as($user, $sql) : $node->safe_psql('postgres', $sql);
}

sub wait_idle
{
	$node->wait_done;
}

# --- notifications -------------------------------------------------------------

my ($rc, $out, $err) = cli('alice', 'notifications');
is($rc, 0, 'notifications with none: exit 0');
is($out, "no unread notifications\n", '... and says so');

my $t1 = sql(q{SELECT backtest_submit('k', 'A', 'sma_cross')}, 'alice');
my $t2 = sql(q{SELECT backtest_submit_query('SELECT * FROM k WHERE (SELECT ''boom'')::int > 0', 'rsi')}, 'alice');
my $t3 = sql(q{SELECT backtest_submit('k', 'A', 'ema_cross')}, 'bob');
wait_idle();
my ($n1, $n2) = split /\n/,
  sql("SELECT id FROM backtest.notifications WHERE owner = 'alice' ORDER BY id");
my $r1 = sql("SELECT trades_count || ' trades, return ' || round(return_pct::numeric, 2) || '%, Sharpe '"
	  . " || round(sharpe_ratio::numeric, 3) || ', max drawdown ' || round(max_drawdown_pct::numeric, 2) || '%'"
	  . " FROM backtest.results WHERE task_id = $t1");
my $ts = qr/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;

($rc, $out, $err) = cli('alice', 'notifications');
is($rc, 0, 'notifications: exit 0') or diag $err;
like(
	$out,
	qr/\A$n2  $ts  high    task_failed      Backtest $t2 failed: rsi on a query: invalid input syntax for type integer: "boom"\n$n1  $ts  normal  task_completed   Backtest $t1 completed: sma_cross on A: \Q$r1\E\n\z/,
	'alice\'s two unread notifications, newest first, one a line');
($rc, $out, $err) = cli('alice', 'notifications', '--limit', '1');
like($out, qr/\A$n2 .*\n\z/, '--limit 1: the newest only');
($rc, $out, $err) = cli('bob', 'notifications');
like($out, qr/\A\d+  $ts  normal  task_completed   Backtest $t3 completed: ema_cross on A: /,
	'bob sees his own, not alice\'s');
unlike($out, qr/sma_cross|rsi/, '... nothing of hers');

($rc, $out, $err) = cli('alice', 'notifications', 'read', $n2);
is($out, "marked 1 notification read\n", 'read ID marks one');
($rc, $out, $err) = cli('alice', 'notifications');
like($out, qr/\A$n1 .*\n\z/, 'only the other is unread now');
($rc, $out, $err) = cli('alice', 'notifications', '--all');
like($out, qr/\A$n2 .*  \(read\)\n$n1 [^\n]*[^)]\n\z/, '--all shows both, the read one marked (read)');
($rc, $out, $err) = cli('bob', 'notifications', 'read', $n1);
is($out, "marked 0 notifications read\n", 'bob cannot mark alice\'s');
($rc, $out, $err) = cli('alice', 'notifications', 'read');
is($out, "marked 1 notification read\n", 'read without ids marks all the rest');
is(sql("SELECT count(*) FROM backtest.notifications WHERE owner = 'alice' AND read_at IS NULL"),
	'0', 'none of alice\'s is unread');
is(sql("SELECT count(*) FROM backtest.notifications WHERE owner = 'bob' AND read_at IS NULL"),
	'1', 'bob\'s is still unread');

for my $bad (
	[ [ 'notifications', 'read', 'x' ], qr/invalid notification id: x/ ],
	[ [ 'notifications', 'delete' ], qr/notifications takes "read" or no argument: delete/ ],
	[ [ 'notifications', 'read', '--all' ], qr/--all and --limit go with the list/ ],
	[ [ 'notifications', '--limit', '0' ], qr/invalid --limit: 0/ ],
	[ [ 'watch', '--all', '5' ], qr/watch --all takes no TASK_ID: 5/ ],
	[ [ 'watch', '5', '--until-idle' ], qr/--until-idle goes with watch --all/ ],
	[ [ 'status', '5', '--all' ], qr/--all goes with notifications and watch/ ])
{
	($rc, $out, $err) = cli('alice', @{ $bad->[0] });
	is($rc, 3, "@{ $bad->[0] }: exit 3");
	like($err, $bad->[1], "@{ $bad->[0] }: the error says why");
}

# --- watch --all -----------------------------------------------------------------

# alice's three tasks (one at a time: max_concurrent 1) and bob's one, queued
# together; alice watches until hers are done
my $nap = q{'WITH nap AS MATERIALIZED (SELECT pg_sleep(0.5)) SELECT k.* FROM k, nap ORDER BY ts'};
my @mine = split /\n/, sql(
	"SELECT backtest_submit_query($nap, 'sma_cross') FROM generate_series(1, 3)", 'alice');
my $bobs = sql("SELECT backtest_submit_query($nap, 'ema_cross')", 'bob');
($rc, $out, $err) = cli('alice', 'watch', '--all', '--until-idle');
is($rc, 0, 'watch --all --until-idle: exit 0 once her tasks are done') or diag $err;
note $out;
like($out, qr/\Awatching the tasks of alice; 0 unread notifications \(pg_backtest notifications\)\nstatus: \d+ pending, \d+ running, \d+ of 1 slots free; this database: \d+ pending, \d+ running; load [\d.]+\n/,
	'it starts with what it watches and the status');
for my $id (@mine)
{
	like($out, qr/^task $id \[#{20}\] 100\.0%  completed  step 5\/5 done  elapsed [\d.]+s  500 bars, \d+ trades$/m,
		"task $id: its completion");
	my $nid = sql("SELECT id FROM backtest.notifications WHERE metadata->>'task_id' = '$id'");
	like($out, qr/^notification $nid  $ts  normal  task_completed   Backtest $id completed: sma_cross on a query: /m,
		"task $id: its notification");
}
unlike($out, qr/^task $bobs |ema_cross/m, 'nothing of bob\'s task');
like($out, qr/^status: 0 pending, 0 running, 1 of 1 slots free|^status: \d+ pending, \d+ running/m,
	'status lines as the counts change');
my @lines = split /\n/, $out;
is(scalar(grep { !/^(watching |status: |task \d+ |notification \d+ )/ } @lines), 0,
	'every line is a status, task or notification line');
my $ordered = 1;
for my $id (@mine)
{
	my ($done) = grep { $lines[$_] =~ /^task $id .*completed/ } 0 .. $#lines;
	my ($note) = grep { $lines[$_] =~ /^notification .* Backtest $id completed/ } 0 .. $#lines;
	$ordered = 0 unless defined $done && defined $note && $done < $note;
}
ok($ordered, 'each task\'s completion comes before its notification');
wait_idle();

# without --until-idle it runs until Ctrl-C: exit 130
my ($wout, $werr) = ('', '');
my $h = IPC::Run::start([ 'pg_backtest', @conn, '-U', 'alice', 'watch', '--all' ],
	'>', \$wout, '2>', \$werr, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$h->pump until $wout =~ /^status: /m;
my $late = sql(q{SELECT backtest_submit('k', 'A', 'rsi')}, 'alice');
$h->pump until $wout =~ /^notification \d+ .* Backtest $late completed/m;
$h->signal('INT');
$h->finish;
is($? >> 8, 130, 'watch --all: Ctrl-C ends it with exit 130');
like($wout, qr/^task $late .*completed/m, 'it showed the task submitted after it started');

# a lost connection: watch --all reconnects as watch does (PQreset once a
# second, RECONNECT_TRIES times), LISTENs again and goes on
($wout, $werr) = ('', '');
$h = IPC::Run::start([ 'pg_backtest', @conn, '-U', 'alice', 'watch', '--all' ],
	'>', \$wout, '2>', \$werr, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$h->pump until $wout =~ /^status: /m;
$node->restart;
$h->pump until $werr =~ /connection lost, reconnecting\.\.\.\n/;
my $after = sql(q{SELECT backtest_submit('k', 'A', 'sma_cross')}, 'alice');
$h->pump until $wout =~ /^notification \d+ .* Backtest $after completed/m;
pass('after a server restart watch --all reconnected and showed a new task\'s notification');
like($wout, qr/^task $after .*completed/m, '... and the task');
# (libpq prints the server's FATAL, when it arrives before the socket closes)
like($werr, qr/\A(?:FATAL:  terminating connection due to administrator command\n)?pg_backtest: connection lost, reconnecting\.\.\.\n\z/,
	'stderr: the reconnect message only');
ok($h->pumpable, 'it is still running');
# the server gone for good: after the last try it gives up, exit 3
$werr = '';
$node->stop;
$h->finish;
is($? >> 8, 3, 'the server stopped: watch --all gives up with exit 3');
like($werr, qr/\A(?:FATAL:  terminating connection due to administrator command\n)?pg_backtest: connection lost, reconnecting\.\.\.\npg_backtest: error: could not reconnect/,
	'after saying it tried to reconnect');

done_testing();
