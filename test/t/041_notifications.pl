# The notification centre and the system status events.
#
# A completed, a failed (at run time, and by the dispatcher: the owner can no
# longer log in), a sweep, a task cancelled while pending and one cancelled
# while running each record exactly one notification, in the very
# transaction that records the outcome (same xmin as the task row's final
# version), and a rolled-back cancel records none.  NOTIFY
# backtest_notifications carries {"id", "kind"} and nothing else; another
# role hears the ids but reads none of the rows.  backtest_system_status
# events: off with status_interval = 0; with a long interval a dispatcher's
# life sends exactly two (its first look and its exit); with a short one
# more; payloads carry the four cluster-wide counts only.  Cleanup through
# backtest_cleanup: read notifications past the TTL, at most
# pg_backtest.max_notifications per role.
use strict;
use warnings;

use JSON::PP;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'notifications',
	conf => "pg_backtest.max_concurrent = 1\npg_backtest.status_interval = 0\n"
	  . "pg_backtest.dispatcher_linger = 0\n");
$node->create_klines('postgres', grant => 'PUBLIC');
$node->safe_psql('postgres', 'CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE carol LOGIN;');

my $json = JSON::PP->new->utf8;

# Listening sessions: the superuser and bob (who owns none of the tasks)
my %sessions;
for my $who ('postgres', 'bob')
{
	my $s = $node->quiet_session('postgres', $who eq 'postgres' ? () : (role => $who));
	$s->query_safe('LISTEN backtest_notifications');
	$s->query_safe('LISTEN backtest_system_status');
	$sessions{$who} = { psql => $s, events => { backtest_notifications => [], backtest_system_status => [] } };
}

# Poll a listener; record its notifications by channel; returns other output
sub collect
{
	my ($who, $sql) = @_;
	my $s = $sessions{$who};
	my $out = $s->{psql}->query_safe($sql // 'SELECT 1');
	my @rest;
	for my $line (split /\n/, $out)
	{
		if ($line =~
			/^Asynchronous notification "(\w+)" with payload "(.*)" received from server process with PID \d+\.$/)
		{
			push @{ $s->{events}{$1} }, { raw => $2, p => eval { $json->decode($2) } };
		}
		elsif ($line ne '' && defined $sql)
		{
			push @rest, $line;
		}
	}
	return join("\n", @rest);
}

sub sql
{
	my ($sql, $user) = @_;
	return $user ? $node->safe_psql_as($user, $sql) : $node->safe_psql('postgres', $sql);
}

sub wait_idle
{
	$node->wait_done;
	# the dispatcher's exit (and its last status event) follows the drain
	$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher')")
	  or die 'the dispatcher did not exit';
	collect($_) for keys %sessions;
}

# --- outcomes ------------------------------------------------------------------

my $completed = sql("SELECT backtest_submit('k', 'A', 'sma_cross')", 'alice');
my $failed = sql(
	q{SELECT backtest_submit_query('SELECT * FROM k WHERE (SELECT ''secret text'')::int > 0', 'sma_cross')},
	'alice');
my $sweep = sql(
	q{SELECT backtest_submit_sweep('k', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}')},
	'alice');
my $pending_cancelled = sql(
	q{BEGIN; SELECT backtest_submit('k', 'A', 'rsi') AS id \gset
SELECT backtest_cancel(:id) \g /dev/null
COMMIT; SELECT :id;}, 'alice');
($pending_cancelled) = $pending_cancelled =~ /(\d+)\s*$/;
# a rolled-back cancel: nothing recorded, nothing sent (the task completes)
my $rolled_back = sql("SELECT backtest_submit('k', 'A', 'ema_cross')", 'alice');
sql("BEGIN; SELECT backtest_cancel($rolled_back); ROLLBACK;", 'alice');
wait_idle();

# one running task cancelled: it sleeps while loading
my $running_cancelled = sql(
	q{SELECT backtest_submit_query('WITH nap AS MATERIALIZED (SELECT pg_sleep(300)) SELECT k.* FROM k, nap ORDER BY ts', 'sma_cross')},
	'alice');
$node->poll_query_until('postgres',
	"SELECT status = 'running' FROM backtest.tasks WHERE id = $running_cancelled")
  or die 'the long task did not start';
is(sql("SELECT backtest_cancel($running_cancelled)", 'alice'), 't', 'the running task is asked to stop');
wait_idle();

# the dispatcher fails a task whose owner can no longer log in: carol
# submits, and loses LOGIN before the submission commits
my $nologin = sql(q{BEGIN; SET ROLE carol; SELECT backtest_submit('k', 'A', 'sma_cross') AS id \gset
RESET ROLE; ALTER ROLE carol NOLOGIN; COMMIT; SELECT :id;});
($nologin) = $nologin =~ /(\d+)\s*$/;
wait_idle();

my %expect = (
	$completed         => [ 'completed', 'task_completed', 'alice' ],
	$failed            => [ 'failed',    'task_failed',    'alice' ],
	$sweep             => [ 'completed', 'sweep_completed', 'alice' ],
	$pending_cancelled => [ 'cancelled', 'task_cancelled', 'alice' ],
	$running_cancelled => [ 'cancelled', 'task_cancelled', 'alice' ],
	$rolled_back       => [ 'completed', 'task_completed', 'alice' ],
	$nologin           => [ 'failed',    'task_failed',    'carol' ]);
for my $id (sort { $a <=> $b } keys %expect)
{
	my ($status, $kind, $owner) = @{ $expect{$id} };
	is( sql(qq{
SELECT t.status || ' ' || count(n.id) || ' ' || string_agg(n.kind || ' ' || n.owner, ',') || ' '
       || bool_and(n.xmin = t.xmin)
FROM backtest.tasks t LEFT JOIN backtest.notifications n ON (n.metadata->>'task_id')::bigint = t.id
WHERE t.id = $id GROUP BY t.status}),
		"$status 1 $kind $owner true",
		"task $id ($status): exactly one $kind notification for $owner, written by the outcome's transaction");
}
is(sql('SELECT count(*) FROM backtest.notifications'), scalar(keys %expect),
	'no other notification (the rolled-back cancel recorded none)');
like(sql("SELECT message FROM backtest.notifications WHERE metadata->>'task_id' = '$running_cancelled'"),
	qr/: cancelled while running$/, 'the running task\'s notification says it was cancelled while running');
like(sql("SELECT message FROM backtest.notifications WHERE metadata->>'task_id' = '$nologin'"),
	qr/carol.*cannot log in/, 'the dispatcher\'s failure names the cause');

# the NOTIFYs: one per row, {"id", "kind"} only, the row's
my @ev = @{ $sessions{postgres}{events}{backtest_notifications} };
my %rows = map { split /\|/ } split /\n/, sql('SELECT id, kind FROM backtest.notifications');
is(scalar(@ev), scalar(keys %rows), 'one backtest_notifications event per notification');
is_deeply({ map { $_->{p}{id} => $_->{p}{kind} } @ev }, \%rows, 'each event names a row: its id and kind');
is(join(',', sort keys %{ { map { map { $_ => 1 } keys %{ $_->{p} } } @ev } }), 'id,kind',
	'and carries nothing else');
ok(!(grep { $_->{raw} =~ /secret|sma_cross|alice/ } @ev), 'no payload holds an error, a strategy or an owner');

# bob hears the same ids, and reads none of them
my @bob = @{ $sessions{bob}{events}{backtest_notifications} };
is(scalar(@bob), scalar(@ev), 'bob, listening, hears every event');
is(sql('SELECT count(*) FROM backtest.notifications', 'bob'), '0', 'but reads none of the rows');
is(sql('SELECT count(*) FROM backtest_notifications(false)', 'bob'), '0', 'nor lists any');
is(sql('SELECT count(*) FROM backtest_notifications(false)', 'alice'), '6', 'alice lists her 6');

# --- cleanup: backtest_cleanup (the pg_cron job), delegated to backtest_admin ------

sql('CREATE ROLE maint LOGIN IN ROLE backtest_admin');
is(sql('SELECT backtest_notifications_read()', 'alice'), '6', 'alice marks her 6 read');
# two of them were read long ago
sql(qq{UPDATE backtest.notifications SET read_at = now() - interval '2 hours'
WHERE (metadata->>'task_id')::bigint IN ($completed, $failed)});
sql("SELECT backtest_cleanup('1 hour', 100)", 'maint');
is( sql(qq{SELECT string_agg(metadata->>'task_id', ',' ORDER BY (metadata->>'task_id')::bigint) FROM backtest.notifications}),
	join(',', grep { $_ != $completed && $_ != $failed } sort { $a <=> $b } keys %expect),
	'a backtest_admin member\'s backtest_cleanup removed the two read more than an hour ago');
my @alice_ids = split /\n/, sql("SELECT id FROM backtest.notifications WHERE owner = 'alice' ORDER BY id");
$node->set_conf('pg_backtest.max_notifications', '2');
sql("SELECT backtest_cleanup('1 hour', 100)", 'maint');
is( sql(q{SELECT string_agg(owner || ':' || n, ',' ORDER BY owner)
FROM (SELECT owner, count(*) AS n FROM backtest.notifications GROUP BY owner) c}),
	'alice:2,carol:1', 'pg_backtest.max_notifications = 2: at most 2 per role are kept');
is(sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM backtest.notifications WHERE owner = 'alice'"),
	join(',', @alice_ids[-2, -1]), '... her newest two');

# --- system status events --------------------------------------------------------

my @st = @{ $sessions{postgres}{events}{backtest_system_status} };
is(scalar(@st), 0, 'status_interval = 0: no backtest_system_status events');

sub status_events_for_batch
{
	my ($interval, $n) = @_;
	$node->set_conf('pg_backtest.status_interval', $interval);
	$sessions{$_}{events}{backtest_system_status} = [] for keys %sessions;
	# one submission: one dispatcher for the whole batch, whose tasks take
	# a few hundred ms each, one at a time
	sql(
		"SELECT backtest_submit_query('WITH nap AS MATERIALIZED (SELECT pg_sleep(1)) SELECT k.* FROM k, nap ORDER BY ts', 'sma_cross') FROM generate_series(1, $n)",
		'alice');
	wait_idle();
	return @{ $sessions{postgres}{events}{backtest_system_status} };
}

@st = status_events_for_batch('1h', 4);
note 'events: ' . join(' | ', map { $_->{raw} } @st);
is(scalar(@st), 2, 'a long interval: two events, the dispatcher\'s first look and its exit');
is_deeply($st[-1]{p}, { pending => 0, running => 0, free_slots => 1, max_concurrent => 1 },
	'the last says the cluster is idle');
is_deeply([ sort keys %{ $st[0]{p} } ], [qw(free_slots max_concurrent pending running)],
	'the payload has the four cluster-wide counts, nothing else');
is($st[0]{p}{pending} + $st[0]{p}{running}, 4, 'the first counts the batch: 4 tasks, pending or in the slot');

@st = status_events_for_batch('100ms', 4);
note 'events: ' . join(' | ', map { $_->{raw} } @st);
cmp_ok(scalar(@st), '>=', 4, 'a short interval: the changes in between are sent too');
my $consistent = 1;
for my $e (@st)
{
	$consistent = 0
	  unless $e->{p}{free_slots} == $e->{p}{max_concurrent} - $e->{p}{running}
	  && $e->{p}{running} <= 1;
}
ok($consistent, 'free_slots = max_concurrent - running in every event');
my $changed = 1;
for my $i (1 .. $#st)
{
	$changed = 0 if $st[$i]{raw} eq $st[ $i - 1 ]{raw};
}
ok($changed, 'an event is sent only when the counts changed');
is(scalar(@{ $sessions{bob}{events}{backtest_system_status} }), scalar(@st),
	'every role hears them (they hold cluster-wide counts only)');

# --- system: a task requeued after its worker died ------------------------------

# alice's task sleeps while loading; its worker is terminated (no crash
# restart, the listeners stay): the dispatcher requeues it and records one
# system notification for alice in that transaction.
$node->set_conf('pg_backtest.status_interval', '0');
$node->set_conf('pg_backtest.retry_delay', '0');
wait_idle();
$_->{events}{backtest_notifications} = [] for values %sessions;
my $before = sql('SELECT coalesce(max(id), 0) FROM backtest.notifications');
$node->create_naptime('postgres', 300, grant => 'alice');
my $napq = PgBacktestNode::nap_query();
my $requeued = sql("SELECT backtest_submit_query($napq, 'sma_cross')", 'alice');
$node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $requeued AND a.wait_event = 'PgSleep'})
  or die 'the task to requeue did not start';
# the worker's snapshot keeps 300 s; the second run reads 0
$node->set_naptime(0);
my $log_offset = -s $node->logfile;
sql("SELECT pg_terminate_backend(worker_pid) FROM backtest.tasks WHERE id = $requeued");
$node->wait_for_log(qr/pg_backtest: task $requeued requeued/, $log_offset);
wait_idle();
is(sql("SELECT status || ' ' || attempts FROM backtest.tasks WHERE id = $requeued"), 'completed 2',
	'the task of the terminated worker was requeued and completed on its second start');
is( sql(qq{SELECT string_agg(kind || ' ' || owner || ' ' || priority, ',' ORDER BY id)
FROM backtest.notifications WHERE id > $before}),
	'system alice high,task_completed alice normal',
	'the requeue recorded one system notification for alice (high), then the outcome its own');
my ($sys_id, $sys_title, $sys_msg, $sys_meta, $sys_action) = split /\|/, sql(qq{
SELECT id, title, message, metadata->>'task_id' || ' ' || (metadata->>'attempt') || ' ' || (metadata->>'reason'), action
FROM backtest.notifications WHERE id > $before AND kind = 'system'});
is($sys_title, "task $requeued requeued", 'its title names the task');
like($sys_msg, qr/^task $requeued: the worker (?:died|exited) before finishing.*\(attempt 1 of \d+; retrying\)$/,
	'its message gives the reason and the attempt');
like($sys_meta, qr/^$requeued 1 the worker (?:died|exited) before finishing/, 'metadata: task_id, attempt, reason');
like($sys_action, qr/backtest_status\($requeued\)$/, 'action: the task\'s status');
is(sql("SELECT count(*) FROM backtest.notifications WHERE kind = 'system' AND owner <> 'alice'"), '0',
	'no system notification for anyone else');
is(sql("SELECT count(*) FROM backtest_notifications(false) WHERE kind = 'system'", 'bob'), '0',
	'bob lists none');
is(sql("SELECT count(*) FROM backtest_notifications(false) WHERE kind = 'system'", 'alice'), '1',
	'alice lists hers');
my @sys_ev = grep { $_->{p}{kind} eq 'system' } @{ $sessions{bob}{events}{backtest_notifications} };
is(scalar(@sys_ev), 1, 'one system event sent');
is_deeply($sys_ev[0]{p}, { id => $sys_id, kind => 'system' }, 'its payload: the id and the kind only');

$_->{psql}->quit for values %sessions;
$node->stop;
done_testing();
