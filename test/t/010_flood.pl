# The queue under a flood: 20 connections submit 30 tiny tasks each (600) at
# once with pg_backtest.max_concurrent = 3.  Sampled while they run: never
# more than 3 rows running, and never a running row without a live task
# worker (0.3.0 claimed a task before its worker existed and let a worker
# that read its row too early cancel it or burn an attempt).  At the end
# every task completed, each started exactly once.  A role that submitted
# nothing LISTENs on backtest_progress meanwhile: no payload it receives may
# carry a result or an error.
use strict;
use warnings;

use IPC::Run;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $nconn  = 20;
my $ntasks = 30;
my $total  = $nconn * $ntasks;

my $node = PgBacktestNode->create(
	'flood', conf => q{
pg_backtest.max_concurrent = 3
max_connections = 60
});
$node->create_klines('postgres', bars => 300);
$node->safe_psql(
	'postgres', q{
CREATE ROLE submitter LOGIN;
CREATE ROLE watcher LOGIN;
GRANT SELECT ON k TO submitter;
ALTER ROLE submitter SET log_statement = none;
});

# the listener: another role, which may read none of the submitter's rows
my $listener = $node->progress_listener(role => 'watcher');

my $sampler = $node->quiet_session('postgres');

# the submitters: 20 psql processes, 30 submissions each, all at once
my $script = "$PostgreSQL::Test::Utils::tmp_check/flood_submit.sql";
open my $fh, '>', $script or die $!;
print $fh "SELECT backtest_submit('k', 'A', 'sma_cross', '{\"fast\": 5, \"slow\": 20}');\n"
  for 1 .. $ntasks;
close $fh;
my @procs;
my $t0 = time();
for my $c (1 .. $nconn)
{
	my ($out, $err) = ('', '');
	push @procs,
	  [
		IPC::Run::start(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'submitter', '-d',
				$node->connstr('postgres'), '-f', $script ],
			'>', \$out, '2>', \$err),
		\$out, \$err
	  ];
}

# sample until every submitter is done and the queue is drained
my ($samples, $max_running, $over_cap, $orphan_running) = (0, 0, 0, 0);
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
my $pids_sql =
  q{SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE backend_type = 'pg_backtest task'};
while (1)
{
	# live workers before and after the task snapshot: a running row's
	# worker is alive at the snapshot, so it shows in one of the two
	my %live = map { $_ => 1 } grep { $_ ne '' } split /,/, $sampler->query_safe($pids_sql);
	my ($running, $open, $all, $pids) = split /\|/,
	  $sampler->query_safe(
		q{SELECT count(*) FILTER (WHERE status = 'running') || '|' ||
                 count(*) FILTER (WHERE status IN ('pending', 'running')) || '|' || count(*) || '|' ||
                 coalesce(string_agg(worker_pid::text, ',') FILTER (WHERE status = 'running'), '')
          FROM backtest.tasks});
	$live{$_} = 1 for grep { $_ ne '' } split /,/, $sampler->query_safe($pids_sql);
	$samples++;
	$max_running = $running if $running > $max_running;
	$over_cap++ if $running > 3;
	for my $p (grep { $_ ne '' } split /,/, $pids // '')
	{
		$orphan_running++ unless $live{$p};
	}
	$orphan_running++ if $running > scalar(keys %live);
	$listener->collect() if $samples % 10 == 0;
	my $busy = grep { $_->[0]->pumpable } @procs;
	last if !$busy && $all == $total && $open == 0;
	if (!$busy && $all < $total)
	{
		diag "the submitters stopped after $all tasks";
		last;
	}
	if (time() > $deadline)
	{
		diag "timeout: $all tasks, $open open";
		last;
	}
	$_->[0]->pump_nb for grep { $_->[0]->pumpable } @procs;
}
my $elapsed = time() - $t0;
my $failed_submitters = 0;
for my $p (@procs)
{
	next if $p->[0]->finish;
	$failed_submitters++;
	diag ${ $p->[2] };
}
is($failed_submitters, 0, "all $nconn submitters succeeded");
$listener->collect();
note sprintf('%d tasks in %.1f s; %d samples, max running %d', $total, $elapsed, $samples,
	$max_running);
diag sprintf('flood: %d tasks in %.1f s; %d samples; max running rows %d', $total, $elapsed,
	$samples, $max_running);

ok($samples > 10, "sampled the queue ($samples times)");
is($over_cap, 0, 'never more than max_concurrent (3) rows running');
is($max_running, 3, 'the cap was reached');
is($orphan_running, 0, 'never a running row without a live task worker');
is( $node->safe_psql('postgres',
		"SELECT status || ':' || attempts || ':' || count(*) FROM backtest.tasks GROUP BY status, attempts ORDER BY 1"),
	"completed:1:$total",
	"all $total tasks completed, each started once");
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.results'),
	$total, 'one results row per task');

# the events the other role saw
my @payloads = $listener->all_events;
my $npayloads = @payloads;
my @leaks = map { $_->{raw} }
  grep { my $p = $_->{p}; grep { exists $p->{$_} } qw(total_return sharpe_ratio max_drawdown trades_count error) }
  @payloads;
my @messages = map { $_->{raw} } grep { defined $_->{p}{message} && $_->{p}{message} ne '' } @payloads;
ok($npayloads > 0, "the other role received events ($npayloads)");
is($listener->bad, 0, 'every payload is a JSON object');
is(scalar(@leaks), 0, 'no payload seen by another role carries a result or an error')
  or diag 'e.g. ' . $leaks[0];
is(scalar(@messages), 0, 'no payload seen by another role carries message text')
  or diag 'e.g. ' . $messages[0];

$listener->quit;
$sampler->quit;
$node->stop;
done_testing();
