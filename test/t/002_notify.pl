# Progress events: a client LISTENing on backtest_progress sees, for one task,
# pending, running (worker starting), loading ..., completed, in order, as
# JSON payloads with the documented fields; the completion event carries the
# stored metrics; a failure event carries the error, cut short enough for
# NOTIFY.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('notify');
# UTF8, so a multibyte error message can be cut in the middle of a character
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron,pg_backtest'
cron.database_name = 'postgres'
pg_backtest.max_concurrent = 2
max_worker_processes = 16
});
$node->start;

# 300000 one-minute bars: long enough for a few progress events
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_backtest;
CREATE TABLE big AS
SELECT timestamptz '2000-01-01 00:00+00' + i * interval '1 minute' AS ts,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 40.0) + 4 * sin(i / 9.0) + 2 * sin(i / 2.9) AS c
      FROM generate_series(0, 299999) i) s;
});

my @fields =
  qw(task_id status progress current_step step_index total_steps message elapsed_s eta_s);
my $json = JSON::PP->new->utf8;

# A LISTENing session.  psql prints the notifications that arrived after
# each command, so poll it with a trivial query.
# BackgroundPsql notes every query it runs: keep them out of the TAP output
no warnings 'redefine';
local *PostgreSQL::Test::BackgroundPsql::note = sub { };
use warnings 'redefine';
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN backtest_progress');
$listener->query_safe('SET log_statement = none');

# Every event received so far, by task id: [ { payload, raw } ... ]
my %events;
my $nevents = 0;
my $bad_lines = 0;

# Run $sql (default SELECT 1) in the listening session, record the
# notifications printed with its output, and return the other output lines.
sub collect
{
	my ($sql) = @_;
	my $out = $listener->query_safe($sql // 'SELECT 1');
	my @rest;
	for my $line (split /\n/, $out)
	{
		next if $line eq '';
		if ($line =~
			/^Asynchronous notification "backtest_progress" with payload "(.*)" received from server process with PID \d+\.$/
		  )
		{
			my $raw = $1;
			my $p = eval { $json->decode($raw) };
			if (!defined $p || ref $p ne 'HASH')
			{
				diag "not a JSON object: $raw";
				$bad_lines++;
				next;
			}
			push @{ $events{ $p->{task_id} } }, { p => $p, raw => $raw };
			$nevents++;
		}
		elsif (defined $sql)
		{
			push @rest, $line;
		}
		elsif ($line ne '1')
		{
			diag "unexpected psql output: $line";
			$bad_lines++;
		}
	}
	return join("\n", @rest);
}

# Wait (polling the listener) until task $id has sent a final event.  Gives
# up a little after the task row has finished without one (a payload that
# could not be parsed, or none sent).
sub wait_final
{
	my ($id) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my $grace;
	while (time() < $deadline)
	{
		collect();
		my $ev = $events{$id} || [];
		return 1
		  if @$ev && $ev->[-1]{p}{status} =~ /^(completed|failed|cancelled)$/;
		if (defined $grace)
		{
			return 0 if --$grace <= 0;
		}
		elsif (collect(
				"SELECT status IN ('completed', 'failed', 'cancelled') FROM backtest.tasks WHERE id = $id"
			) eq 't')
		{
			$grace = 40;
		}
		select(undef, undef, undef, 0.05);
	}
	return 0;
}

# --- one successful task ---------------------------------------------------

# the sleep makes loading take longer than the 100 ms throttle, so the
# "bars loaded" event is sent
my $id = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('WITH nap AS MATERIALIZED (SELECT pg_sleep(0.3)) SELECT big.* FROM big, nap ORDER BY ts', 'sma_cross')}
);
ok(wait_final($id), "task $id sent a final event");
is($bad_lines, 0, 'every notification is a JSON object');

my @ev = map { $_->{p} } @{ $events{$id} };
note 'events: ' . join(' | ', map { $_->{raw} } @{ $events{$id} });
cmp_ok(scalar(@ev), '>=', 5, 'at least 5 events for the task');

# every payload has the documented fields, of the right kinds
my $fields_ok = 1;
for my $p (@ev)
{
	for my $f (@fields)
	{
		if (!exists $p->{$f})
		{
			diag "missing $f in event: " . $json->encode($p);
			$fields_ok = 0;
		}
	}
	$fields_ok = 0
	  unless $p->{task_id} == $id
	  && $p->{total_steps} == 5
	  && $p->{step_index} =~ /^\d+$/
	  && $p->{progress} >= 0
	  && $p->{progress} <= 100
	  && defined $p->{elapsed_s}
	  && $p->{elapsed_s} >= 0
	  && (!defined $p->{eta_s} || $p->{eta_s} >= 0);
}
ok($fields_ok, 'every event has task_id, status, progress, current_step, step_index, total_steps, message, elapsed_s, eta_s');
ok(!(grep { length($_->{raw}) >= 8000 } @{ $events{$id} }),
	'every payload is below 8000 bytes');

# the order: pending, running (worker starting), running ..., completed
is($ev[0]{status},  'pending', 'first event: pending');
is($ev[0]{message}, 'queued',  'first event says queued');
is($ev[1]{status},  'running', 'second event: running');
is($ev[1]{message}, 'worker starting', 'second event: worker starting');
is($ev[1]{step_index}, 0, 'worker starting is step 0');
is($ev[-1]{status}, 'completed', 'last event: completed');
my @middle = @ev[ 1 .. $#ev - 1 ];
is(scalar(grep { $_->{status} ne 'running' } @middle),
	0, 'every event between is running');
ok( (grep { $_->{current_step} eq 'loading data' && $_->{step_index} == 1 && $_->{progress} == 0 }
		  @middle),
	'a loading data event at 0%');
ok( (grep { ($_->{message} // '') eq '300000 bars loaded' && $_->{progress} == 30 } @middle),
	'a "300000 bars loaded" event at 30%');

my ($mono_p, $mono_s, $mono_t) = (1, 1, 1);
for my $i (1 .. $#ev)
{
	$mono_p = 0 if $ev[$i]{progress} < $ev[ $i - 1 ]{progress};
	$mono_s = 0 if $ev[$i]{step_index} < $ev[ $i - 1 ]{step_index};
	$mono_t = 0 if $ev[$i]{elapsed_s} < $ev[ $i - 1 ]{elapsed_s} && $i > 1;
}
ok($mono_p, 'progress never decreases');
ok($mono_s, 'step_index never decreases');
ok($mono_t, 'elapsed_s never decreases (once running)');

# the completion event carries the stored results
my $last = $ev[-1];
is($last->{progress},   100, 'completed at 100%');
is($last->{step_index}, 5,   'completed at step 5');
my ($ret, $sharpe, $dd, $trades, $bars, $status) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
SELECT r.return_pct, r.sharpe_ratio, r.max_drawdown_pct, r.trades_count, r.bars, t.status
FROM backtest.results r JOIN backtest.tasks t ON t.id = r.task_id WHERE r.task_id = $id});
is($status, 'completed', 'the task row says completed');
is($bars,   300000,      'all bars were read');
for my $pair (
	[ 'total_return', $ret ],
	[ 'sharpe_ratio', $sharpe ],
	[ 'max_drawdown', $dd ])
{
	my ($k, $v) = @$pair;
	isnt($v, '', "backtest.results has a $k");
	ok( exists $last->{$k} && defined $last->{$k}
		  && abs($last->{$k} - $v) <= 1e-8 * (1 + abs($v)),
		"completion event $k (" . ($last->{$k} // 'null') . ") equals backtest.results ($v)");
}
is($last->{trades_count}, $trades,
	'completion event trades_count equals backtest.results');
cmp_ok($trades, '>', 0, 'the task made trades');
is($last->{message}, "300000 bars, $trades trades",
	'completion message names bars and trades');

# a running event was committed only while the task was running: the row's
# final progress agrees with the last event
is( $node->safe_psql('postgres',
		"SELECT progress || ',' || step_index FROM backtest.tasks WHERE id = $id"),
	'100,5',
	'the task row ends at 100%, step 5');

# --- a task that fails at run time, with a very long error message ---------

my $fid = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('SELECT ts, open, high, low, close, volume FROM big WHERE (SELECT repeat(''x'', 20000))::int > 0', 'sma_cross')}
);
ok(wait_final($fid), "failing task $fid sent a final event");
my @fev = @{ $events{$fid} };
note 'events: ' . join(' | ', map { substr($_->{raw}, 0, 300) } @fev);
is($fev[0]{p}{status},  'pending', 'failing task: pending first');
is($fev[-1]{p}{status}, 'failed',  'failing task: failed last');
like($fev[-1]{p}{error}, qr/^invalid input syntax for type integer: "x+/,
	'the failure event carries the error');
ok(!(grep { length($_->{raw}) >= 8000 } @fev),
	'failure payloads stay below 8000 bytes');
like(
	$node->safe_psql('postgres', "SELECT status || ': ' || left(error, 40) FROM backtest.tasks WHERE id = $fid"),
	qr/^failed: invalid input syntax for type integer/,
	'the task row is failed with the error');

# The same with a multibyte message: the payload (cut to about 1000 bytes)
# must still be valid UTF-8 JSON.  'a' makes the cut fall inside a 2-byte
# character unless it is cut on a character boundary.
my $mid = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('SELECT ts, open, high, low, close, volume FROM big WHERE (SELECT ''a'' || repeat(''é'', 5000))::int > 0', 'sma_cross')}
);
my $bad_before = $bad_lines;
ok(wait_final($mid), "failing task $mid (multibyte error) sent a final event");
is($bad_lines, $bad_before, 'its payloads are valid UTF-8 JSON');
is(($events{$mid} // [ {} ])->[-1]{p}{status}, 'failed', 'and the last one says failed');
my $merr = ($events{$mid} // [ {} ])->[-1]{p}{error} // '';
like($merr, qr/^invalid input syntax for type integer: "a\x{e9}+$/,
	'the error in the payload is cut on a character boundary');
cmp_ok(length($merr), '<=', 1000, 'and is at most 1000 characters');

# --- a cancelled pending task: one event, cancelled -------------------------

my $cid = $node->safe_psql(
	'postgres', q{
BEGIN;
SELECT backtest_submit_query('SELECT * FROM big ORDER BY ts', 'sma_cross') AS id \gset
SELECT backtest_cancel(:id);
COMMIT;
SELECT :id;
});
($cid) = $cid =~ /(\d+)\s*$/;
ok(wait_final($cid), "cancelled task $cid sent a final event");
is_deeply([ map { $_->{p}{status} } @{ $events{$cid} } ],
	[ 'pending', 'cancelled' ], 'cancelled before it ran: pending, cancelled');

is($bad_lines, 0, 'no unexpected output from the listener');
$listener->quit;
$node->stop;
done_testing();
