# Progress events: a client LISTENing on backtest_progress sees, for one task,
# pending, running (worker starting), loading ..., saving results, completed,
# in order, as JSON payloads with exactly the documented fields: task id,
# status, progress, step and timings, never results, messages or errors (NOTIFY
# has no access control; another role's listener sees the same events).
# The row and the final event time the whole task, saving included (the real
# clock, not the save transaction's start).  With the superuser-only
# pg_backtest.full_payloads on, the completion event carries the stored
# metrics and a failure event the error, cut short enough for NOTIFY.
use strict;
use warnings;

use JSON::PP;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

# UTF8, so a multibyte error message can be cut in the middle of a character
my $node = PgBacktestNode->create(
	'notify',
	init => { extra => [ '--encoding=UTF8', '--locale=C' ] },
	conf => 'pg_backtest.max_concurrent = 2');

# 300000 one-minute bars: long enough for a few progress events
$node->safe_psql(
	'postgres', q{
CREATE ROLE bob LOGIN;
-- saving results takes at least a second: the timings must include it
CREATE TABLE save_log (task_id bigint, at timestamptz);
-- the worker saves as the tables' owner, pg_database_owner (not a superuser)
GRANT INSERT ON save_log TO pg_database_owner;
CREATE FUNCTION public.slow_save() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN PERFORM pg_catalog.pg_sleep(1);
          INSERT INTO public.save_log VALUES (NEW.task_id, pg_catalog.clock_timestamp());
          RETURN NULL; END$$;
CREATE TRIGGER slow_save AFTER INSERT ON backtest.equity_curves
  FOR EACH ROW EXECUTE FUNCTION public.slow_save();
CREATE TABLE big AS
SELECT timestamptz '2000-01-01 00:00+00' + i * interval '1 minute' AS ts,
       c AS open, c + 1 AS high, c - 1 AS low, c AS close, 1000.0::float8 AS volume
FROM (SELECT i, 100 + 10 * sin(i / 40.0) + 4 * sin(i / 9.0) + 2 * sin(i / 2.9) AS c
      FROM generate_series(0, 299999) i) s;
});

my @fields =
  qw(task_id status progress current_step step_index total_steps elapsed_s eta_s);
my $json = JSON::PP->new->utf8;

# A listening session: every event it receives, by task id ({ p => payload,
# raw => text }), and how many payloads or output lines were not expected
my $listener = $node->progress_listener;
# another role listening: it must learn nothing it could not read
my $bob = $node->progress_listener(role => 'bob');

# --- one successful task ---------------------------------------------------

# the sleep makes loading take longer than the 100 ms throttle, so the
# "bars loaded" event is sent
my $id = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('WITH nap AS MATERIALIZED (SELECT pg_sleep(0.3)) SELECT big.* FROM big, nap ORDER BY ts', 'sma_cross')}
);
ok($listener->wait_final($id), "task $id sent a final event");
is($listener->bad, 0, 'every notification is a JSON object');

my @ev = map { $_->{p} } $listener->events($id);
note 'events: ' . join(' | ', map { $_->{raw} } $listener->events($id));
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
ok($fields_ok, 'every event has task_id, status, progress, current_step, step_index, total_steps, elapsed_s, eta_s');
my %allowed = map { $_ => 1 } @fields;
is(join(',', sort grep { !$allowed{$_} } map { keys %$_ } @ev), '',
	'and nothing else: no message, no results, no error');
ok(!(grep { length($_->{raw}) >= 8000 } $listener->events($id)),
	'every payload is below 8000 bytes');

# the order: pending, running (worker starting), running ..., completed
is($ev[0]{status},  'pending', 'first event: pending');
is($ev[1]{status},  'running', 'second event: running');
is($ev[1]{step_index}, 0, 'worker starting is step 0');
is($ev[-1]{status}, 'completed', 'last event: completed');
my @middle = @ev[ 1 .. $#ev - 1 ];
is(scalar(grep { $_->{status} ne 'running' } @middle),
	0, 'every event between is running');
ok( (grep { $_->{current_step} eq 'loading data' && $_->{step_index} == 1 && $_->{progress} == 0 }
		  @middle),
	'a loading data event at 0%');
ok( (grep { $_->{current_step} eq 'loading data' && $_->{progress} == 30 } @middle),
	'a loading data event at 30% (bars loaded)');
ok( (grep { $_->{current_step} eq 'saving results' && $_->{step_index} == 5 } @middle),
	'a saving results event (a new step is never throttled away)');

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

# the completion event carries no results: they are in the rows
my $last = $ev[-1];
is($last->{progress},   100, 'completed at 100%');
is($last->{step_index}, 5,   'completed at step 5');
my ($trades, $bars, $status, $msg) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
SELECT r.trades_count, r.bars, t.status, t.message
FROM backtest.results r JOIN backtest.tasks t ON t.id = r.task_id WHERE r.task_id = $id});
is($status, 'completed', 'the task row says completed');
is($bars,   300000,      'all bars were read');
cmp_ok($trades, '>', 0, 'the task made trades');
is($msg, "300000 bars, $trades trades", 'the row\'s message names bars and trades');
ok(!exists $last->{total_return} && !exists $last->{sharpe_ratio} && !exists $last->{trades_count},
	'the completion event carries no results');

# timings: the real clock, saving included (the trigger made it last 1 s)
my ($fin_after_save, $el_s, $row_vs_event) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
SELECT t.finished_at >= l.at, extract(epoch FROM t.elapsed),
       abs(extract(epoch FROM t.elapsed) - $last->{elapsed_s}) < 0.001
FROM backtest.tasks t JOIN save_log l ON l.task_id = t.id WHERE t.id = $id});
is($fin_after_save, 't', 'finished_at is after the results were saved');
cmp_ok($el_s, '>=', 1.0, 'elapsed includes saving the results');
is($row_vs_event, 't', 'the final event\'s elapsed_s is the row\'s elapsed');
my ($save_ev) = grep { $_->{current_step} eq 'saving results' } @middle;
cmp_ok($last->{elapsed_s} - ($save_ev ? $save_ev->{elapsed_s} : 0), '>=', 1.0,
	'the saving results event came before the save, the final one after it');
$node->safe_psql('postgres', 'DROP TRIGGER slow_save ON backtest.equity_curves');

# a running event was committed only while the task was running: the row's
# final progress agrees with the last event
is( $node->safe_psql('postgres',
		"SELECT progress || ',' || step_index FROM backtest.tasks WHERE id = $id"),
	'100,5',
	'the task row ends at 100%, step 5');

# --- a task that fails at run time: the error stays in the row -------------

my $fid = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('SELECT ts, open, high, low, close, volume FROM big WHERE (SELECT ''secret-'' || repeat(''x'', 20000))::int > 0', 'sma_cross')}
);
ok($listener->wait_final($fid), "failing task $fid sent a final event");
my @fev = $listener->events($fid);
note 'events: ' . join(' | ', map { substr($_->{raw}, 0, 300) } @fev);
is($fev[0]{p}{status},  'pending', 'failing task: pending first');
is($fev[-1]{p}{status}, 'failed',  'failing task: failed last');
ok(!exists $fev[-1]{p}{error}, 'the failure event carries no error');
ok(!(grep { $_->{raw} =~ /secret/ } @fev), 'no payload holds the error text');
like(
	$node->safe_psql('postgres', "SELECT status || ': ' || left(error, 40) FROM backtest.tasks WHERE id = $fid"),
	qr/^failed: invalid input syntax for type integer/,
	'the task row is failed with the error');

# --- another role's listener --------------------------------------------------

$bob->collect();
my @bob_ev = map { $_->{p} } $bob->all_events;
cmp_ok(scalar(grep { $_->{task_id} == $id || $_->{task_id} == $fid } @bob_ev),
	'>=', 4, 'bob, listening, received the other role\'s events');
is(join(',', sort grep { !$allowed{$_} } map { keys %$_ } @bob_ev), '',
	'none of them holds a result, a message or an error');
ok(!(grep { /secret/ } (map { $_->{raw} } $bob->all_events), $bob->bad_lines),
	'bob never saw the error text');
$bob->quit;

# --- pg_backtest.full_payloads: superuser-only, restores the full events -----

my ($rc, $o, $err) = $node->psql_as('bob', 'SET pg_backtest.full_payloads = on');
like($err, qr/permission denied to set parameter "pg_backtest.full_payloads"/,
	'only a superuser may turn on full payloads');
$node->set_conf('pg_backtest.full_payloads', 'on');
$listener->query_safe('SET pg_backtest.full_payloads = on');

my $id2 = $node->safe_psql('postgres', q{SELECT backtest_submit('big', NULL, 'sma_cross')});
ok($listener->wait_final($id2), "task $id2 sent a final event");
my $last2 = ($listener->events($id2))[-1]{p};
my ($ret, $sharpe, $dd, $trades2) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT return_pct, sharpe_ratio, max_drawdown_pct, trades_count FROM backtest.results WHERE task_id = $id2");
for my $pair (
	[ 'total_return', $ret ],
	[ 'sharpe_ratio', $sharpe ],
	[ 'max_drawdown', $dd ])
{
	my ($k, $v) = @$pair;
	ok( exists $last2->{$k} && defined $last2->{$k}
		  && abs($last2->{$k} - $v) <= 1e-8 * (1 + abs($v)),
		"full payloads: completion event $k (" . ($last2->{$k} // 'null') . ") equals backtest.results ($v)");
}
is($last2->{trades_count}, $trades2, 'full payloads: trades_count equals backtest.results');
is($last2->{message}, "300000 bars, $trades2 trades", 'full payloads: the message');

# The error, with a multibyte message: the payload (cut to about 1000 bytes)
# must still be valid UTF-8 JSON.  'a' makes the cut fall inside a 2-byte
# character unless it is cut on a character boundary.
my $mid = $node->safe_psql('postgres',
	q{SELECT backtest_submit_query('SELECT ts, open, high, low, close, volume FROM big WHERE (SELECT ''a'' || repeat(''é'', 5000))::int > 0', 'sma_cross')}
);
my $bad_before = $listener->bad;
ok($listener->wait_final($mid), "failing task $mid (multibyte error) sent a final event");
is($listener->bad, $bad_before, 'its payloads are valid UTF-8 JSON');
my $mlast = ($listener->events($mid))[-1] // {};
is($mlast->{p}{status}, 'failed', 'and the last one says failed');
my $merr = $mlast->{p}{error} // '';
like($merr, qr/^invalid input syntax for type integer: "a\x{e9}+$/,
	'full payloads: the error in the payload is cut on a character boundary');
cmp_ok(length($merr), '<=', 1000, 'and is at most 1000 characters');
ok(!(grep { length($_->{raw}) >= 8000 } $listener->events($mid)),
	'failure payloads stay below 8000 bytes');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pg_backtest.full_payloads');
$node->reload;

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
ok($listener->wait_final($cid), "cancelled task $cid sent a final event");
is_deeply([ map { $_->{p}{status} } $listener->events($cid) ],
	[ 'pending', 'cancelled' ], 'cancelled before it ran: pending, cancelled');

is($listener->bad, 0, 'no unexpected output from the listener');
$listener->quit;
$node->stop;
done_testing();
