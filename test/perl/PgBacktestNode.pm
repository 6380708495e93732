# PgBacktestNode: the PostgreSQL::Test::Cluster of pg_backtest's TAP tests
# (test/t/*.pl), as TimescaleNode.pm is TimescaleDB's.  It holds what every
# test would otherwise copy: a node configured as the worker pool needs
# (pg_cron and pg_backtest preloaded) with the extension created, the
# K-line fixture, the sleeping source queries that keep a worker busy, the
# waits on tasks, workers and settings, and a listener that collects the
# progress events of LISTEN backtest_progress, and a Citus cluster
# (citus_cluster, citus_missing).
#
#   use PgBacktestNode qw(sleep_query);
#   my $node = PgBacktestNode->create('pool', conf => 'pg_backtest.max_concurrent = 3');
#   $node->create_klines('postgres', grant => 'PUBLIC');
#   my $id = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
#   is($node->wait_task($id), 'completed', 'the task completes');
#
# test/run_tap.sh puts test/perl on PERL5LIB.  Every wait polls for at most
# $PostgreSQL::Test::Utils::timeout_default seconds (PG_TEST_TIMEOUT_DEFAULT).
package PgBacktestNode;

use strict;
use warnings;

use parent 'PostgreSQL::Test::Cluster';

use Exporter 'import';
use PostgreSQL::Test::Utils ();
use Time::HiRes ();

our @EXPORT_OK = qw(sleep_query nap_query klines_sql notifications);

# ---- the node --------------------------------------------------------------

# Create, configure and start node $name, and create the extension in
# database postgres.  Options:
#   conf      postgresql.conf lines of the test, appended after the common
#             ones below (so they override them)
#   preload   shared_preload_libraries (default 'pg_cron,pg_backtest'; without
#             pg_cron, cron.database_name is not set)
#   init      a hash ref of options for PostgreSQL::Test::Cluster::init
#   extension 0: do not create the extension (the test does, e.g. after
#             setting up roles or in other databases)
sub create
{
	my ($class, $name, %opts) = @_;
	my $node = $class->new($name);
	$node->init(%{ $opts{init} // {} });
	my $preload = $opts{preload} // 'pg_cron,pg_backtest';
	my $conf = "shared_preload_libraries = '$preload'\n";
	$conf .= "cron.database_name = 'postgres'\n" if $preload =~ /\bpg_cron\b/;
	# task workers, the launcher, a dispatcher per database and pg_cron
	# each take a background worker slot
	$conf .= "max_worker_processes = 16\n";
	$node->append_conf('postgresql.conf', $conf . ($opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_backtest')
	  if $opts{extension} // 1;
	return $node;
}

# ---- a Citus cluster -----------------------------------------------------------

# Why a Citus test must be skipped (citus.so missing from the pkglibdir of
# $ENV{PG_CONFIG}, else pg_config on PATH), or undef when it can run:
#   plan skip_all => $why if my $why = PgBacktestNode::citus_missing();
sub citus_missing
{
	my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
	my $pkglibdir = `$pg_config --pkglibdir`;
	chomp $pkglibdir;
	return undef if -f "$pkglibdir/citus.so";
	return "citus is not installed ($pkglibdir/citus.so not found; "
	  . "test/citus/ensure-citus.sh builds it from ../shared/vendor when present)";
}

# A Citus coordinator and $opts{workers} (default 2) workers on loopback,
# nodes "${prefix}coordinator", "${prefix}worker1", ...: each preloads
# citus, pg_cron and pg_backtest, listens on 127.0.0.1 and has CREATE
# EXTENSION citus; the coordinator knows its host and has added every
# worker, and (unless extension => 0) CREATE EXTENSION pg_backtest on it
# has reached the workers.  Options:
#   prefix    node name prefix (default '')
#   conf      postgresql.conf lines for every node (after the common ones)
#   extension 0: do not create pg_backtest (the test does)
# Returns (coordinator, worker1, ...).  Stop them with $_->stop for @nodes.
sub citus_cluster
{
	my ($class, %opts) = @_;
	my $prefix = $opts{prefix} // '';
	my $conf = "listen_addresses = '127.0.0.1'\nmax_worker_processes = 32\n" . ($opts{conf} // '');
	my @nodes = map {
		$class->create(
			"$prefix$_",
			preload   => 'citus,pg_cron,pg_backtest',
			conf      => $conf,
			extension => 0)
	} ('coordinator', map { "worker$_" } 1 .. ($opts{workers} // 2));
	my ($coord, @workers) = @nodes;
	$_->safe_psql('postgres', 'CREATE EXTENSION citus') for @nodes;
	$coord->safe_psql('postgres',
		"SELECT citus_set_coordinator_host('127.0.0.1', " . $coord->port . ')');
	$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ')')
	  for @workers;
	$coord->safe_psql('postgres', 'CREATE EXTENSION pg_backtest')
	  if $opts{extension} // 1;
	return @nodes;
}

# ---- fixtures ----------------------------------------------------------------

# The SQL of the K-line fixture: table $opts{table} (default k) of
# $opts{bars} (default 500) daily bars from 2020-01-01 UTC for each symbol of
# $opts{symbols} (default ['A']): close 100 + 10 sin(i / 15) + i / 100 (a
# wave on a slight rise, so the crossing strategies trade), high and
# low 1 above and below, volume 1000 + i; primary key (symbol, ts).  With
# grant => 'PUBLIC' (or a list of roles) SELECT on it is granted.
sub klines_sql
{
	my (%opts) = @_;
	my $table = $opts{table} // 'k';
	my $last = ($opts{bars} // 500) - 1;
	my $symbols = join(', ', map { "('$_')" } @{ $opts{symbols} // ['A'] });
	my $sql = qq{
CREATE TABLE $table (
    symbol text NOT NULL, ts timestamptz NOT NULL,
    open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL,
    close float8 NOT NULL, volume float8 NOT NULL,
    PRIMARY KEY (symbol, ts));
INSERT INTO $table
SELECT sym, timestamptz '2020-01-01 00:00+00' + i * interval '1 day', c, c + 1, c - 1, c, 1000 + i
FROM (SELECT i, 100 + 10 * sin(i / 15.0) + i * 0.01 AS c FROM generate_series(0, $last) i) s,
     (VALUES $symbols) v(sym);
};
	$sql .= "GRANT SELECT ON $table TO $opts{grant};\n" if $opts{grant};
	return $sql;
}

# Create the K-line fixture (klines_sql's options) in database $db
sub create_klines
{
	my ($self, $db, %opts) = @_;
	$self->safe_psql($db, klines_sql(%opts));
	return;
}

# Table naptime: one row, the seconds nap_query() sleeps.  A test lowers it
# once the workers are asleep (their snapshot keeps the old value), so the
# runs that follow are quick.  grant => 'PUBLIC' grants SELECT on it.
sub create_naptime
{
	my ($self, $db, $seconds, %opts) = @_;
	$self->safe_psql($db,
		"CREATE TABLE naptime (s float8 NOT NULL); INSERT INTO naptime VALUES ($seconds);"
		  . ($opts{grant} ? " GRANT SELECT ON naptime TO $opts{grant};" : ''));
	return;
}

# Set naptime to $seconds (in database $db, default postgres)
sub set_naptime
{
	my ($self, $seconds, $db) = @_;
	$self->safe_psql($db // 'postgres', "UPDATE naptime SET s = $seconds");
	return;
}

# A query source, dollar-quoted to be pasted into SQL, that reads k after
# sleeping $seconds in pg_sleep: an interruptible wait (wait event PgSleep),
# once per run (the CTE is materialized), while loading
sub sleep_query
{
	my ($seconds) = @_;
	return
	  "\$q\$WITH nap AS MATERIALIZED (SELECT pg_sleep($seconds)) SELECT k.* FROM k, nap ORDER BY ts\$q\$";
}

# The same, sleeping as long as naptime says
sub nap_query
{
	return
	  q{$q$WITH nap AS MATERIALIZED (SELECT pg_sleep(s) FROM naptime) SELECT k.* FROM k, nap ORDER BY ts$q$};
}

# ---- notifications -------------------------------------------------------------

# The notifications psql printed in $out (psql prints those that arrived
# before each command's output), in order: ([ channel, payload ], ...)
sub notifications
{
	my ($out) = @_;
	my @n;
	for my $line (split /\n/, $out // '')
	{
		my @cp = notification_of($line);
		push @n, [@cp] if @cp;
	}
	return @n;
}

# (channel, payload) if $line is psql's line for a notification, else ()
sub notification_of
{
	my ($line) = @_;
	return $line =~
	  /^Asynchronous notification "([^"]+)" with payload "(.*)" received from server process with PID \d+\.$/
	  ? ($1, $2)
	  : ();
}

# ---- roles ---------------------------------------------------------------------

# safe_psql as $role (in $opts{db}, default postgres)
sub safe_psql_as
{
	my ($self, $role, $sql, %opts) = @_;
	return $self->safe_psql($opts{db} // 'postgres', $sql, extra_params => [ '-U', $role ]);
}

# psql as $role: in list context (exit status, stdout, stderr)
sub psql_as
{
	my ($self, $role, $sql, %opts) = @_;
	return $self->psql($opts{db} // 'postgres', $sql, extra_params => [ '-U', $role ]);
}

# ---- waits -----------------------------------------------------------------------

# Task $id's status (database $opts{db}, default postgres)
sub task_status
{
	my ($self, $id, %opts) = @_;
	return $self->safe_psql($opts{db} // 'postgres',
		"SELECT status FROM backtest.tasks WHERE id = $id");
}

# Wait until task $id has finished; returns its status, followed by
# ": <error>" if it has one
sub wait_task
{
	my ($self, $id, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	$self->poll_query_until($db,
		"SELECT status IN ('completed', 'failed', 'cancelled') FROM backtest.tasks WHERE id = $id")
	  or die "task $id in $db did not finish";
	return $self->safe_psql($db,
		"SELECT status || coalesce(': ' || error, '') FROM backtest.tasks WHERE id = $id");
}

# The used bytes of TopMemoryContext itself (not its children) in the
# process $pid, which must reach a CHECK_FOR_INTERRUPTS within 30 s: it
# logs its memory contexts (pg_log_backend_memory_contexts) and this reads
# the server log from before the call
sub top_memory_used
{
	my ($self, $pid) = @_;
	my $offset = -s $self->logfile;
	$self->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)") eq 't'
	  or die "could not signal process $pid";
	for (1 .. 300)
	{
		my $log = PostgreSQL::Test::Utils::slurp_file($self->logfile, $offset);
		return $1
		  if $log =~ /\[$pid\][^\n]*level: 0; TopMemoryContext: \d+ total in \d+ blocks; \d+ free \(\d+ chunks\); (\d+) used/;
		Time::HiRes::usleep(100_000);
	}
	die "process $pid did not log its memory contexts";
}

# The TopMemoryContext used bytes (top_memory_used) of the worker of each
# of the tasks $ids (an array ref), which one worker runs one after the
# other, pausing after each claim (pg_backtest.test_delay =
# 'after_claim:<ms>', long enough for the call): each is read during the
# pause, so at the same point of every task.  Returns the array ref and the
# number of distinct worker processes.  $start: the size of the server log
# before the tasks were submitted.
sub claim_memory
{
	my ($self, $ids, $start) = @_;
	my (@used, %pids);
	for my $i (1 .. @$ids)
	{
		my $id = $ids->[ $i - 1 ];
		for (my $n = 0;; $n++)
		{
			my $log = PostgreSQL::Test::Utils::slurp_file($self->logfile, $start);
			last if (() = $log =~ /test delay at after_claim/g) >= $i;
			die "task $id was not claimed" if $n > 600;
			Time::HiRes::usleep(50_000);
		}
		my $pid = $self->safe_psql('postgres', "SELECT worker_pid FROM backtest.tasks WHERE id = $id AND status = 'running'");
		die "task $id is not running" if $pid eq '';
		$pids{$pid} = 1;
		push @used, $self->top_memory_used($pid);
	}
	return (\@used, scalar(keys %pids));
}

# Wait until task $id has status $want; dies with the status it has
sub wait_status
{
	my ($self, $id, $want, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	$self->poll_query_until($db, "SELECT status = '$want' FROM backtest.tasks WHERE id = $id")
	  or die "task $id in $db is not $want but "
	  . $self->safe_psql($db,
		"SELECT status || coalesce(': ' || error, '') FROM backtest.tasks WHERE id = $id");
	return;
}

# Wait until no task of database $opts{db} (default postgres), or of the
# tasks $opts{ids} (an array ref), is pending or running; dies naming those
# that still are
sub wait_done
{
	my ($self, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $open = "status IN ('pending', 'running')";
	$open = 'id IN (' . join(',', @{ $opts{ids} }) . ") AND $open" if $opts{ids};
	$self->poll_query_until($db, "SELECT count(*) = 0 FROM backtest.tasks WHERE $open")
	  or die "tasks left pending or running in $db: "
	  . $self->safe_psql($db,
		"SELECT string_agg(id || ':' || status, ' ') FROM backtest.tasks WHERE $open");
	return;
}

# Wait until the workers of $n running tasks (of database $opts{db}), or of
# task $opts{id}, sleep in pg_sleep: in sleep_query's or nap_query's load
sub _wait_asleep
{
	my ($self, $n, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $which = defined $opts{id} ? " AND t.id = $opts{id}" : '';
	$self->poll_query_until(
		$db, qq{
SELECT count(*) = $n FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.status = 'running' AND a.backend_type = 'pg_backtest task' AND a.wait_event = 'PgSleep'$which})
	  or die(defined $opts{id}
		? "task $opts{id} in $db did not start sleeping"
		: "$n task workers in $db did not start sleeping");
	return;
}

# Wait until task $id runs and its worker sleeps in its query
sub wait_sleeping
{
	my ($self, $id, %opts) = @_;
	return $self->_wait_asleep(1, %opts, id => $id);
}

# Wait until exactly $n running tasks' workers sleep in their queries
sub wait_sleepers
{
	my ($self, $n, %opts) = @_;
	return $self->_wait_asleep($n, %opts);
}

# Wait until no worker slot of the pool is in use
sub wait_slots_free
{
	my ($self) = @_;
	$self->poll_query_until('postgres', 'SELECT backtest_running_tasks() = 0')
	  or die 'worker slots were not released';
	return;
}

# Wait until process $pid has exited
sub wait_exited
{
	my ($self, $pid) = @_;
	$self->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "process $pid did not exit";
	return;
}

# ALTER SYSTEM SET $name = '$value', reload, and wait until a new session
# sees the value
sub set_conf
{
	my ($self, $name, $value) = @_;
	$self->safe_psql('postgres', "ALTER SYSTEM SET $name = '$value'");
	$self->reload;
	$self->poll_query_until('postgres', "SELECT current_setting('$name') = '$value'")
	  or die "could not set $name to '$value'";
	return;
}

# The pid of the cluster's launcher (empty if none runs)
sub launcher_pid
{
	my ($self) = @_;
	return $self->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_backtest launcher'");
}

# The pid of database $db's dispatcher, 0 if none runs
sub dispatcher_pid
{
	my ($self, $db) = @_;
	return $self->safe_psql('postgres',
		"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher' AND datname = '$db'"
	);
}

# Wait until database $db has $n dispatchers (0 or 1): true if it came to
# that within the timeout
sub wait_dispatchers
{
	my ($self, $db, $n) = @_;
	return $self->poll_query_until('postgres',
		"SELECT count(*) = $n FROM pg_stat_activity WHERE backend_type = 'pg_backtest dispatcher' AND datname = '$db'"
	);
}

# ---- sessions ------------------------------------------------------------------

# A background psql session on $db (as $opts{role}, else the superuser)
# whose queries stay out of the TAP output: BackgroundPsql notes every
# query, and a test that polls a thousand times would drown its own.  From
# the first call on, no background session notes its queries.  A superuser
# session also stops logging its statements (only a superuser may).
sub quiet_session
{
	my ($self, $db, %opts) = @_;
	{
		no warnings 'redefine';
		*PostgreSQL::Test::BackgroundPsql::note = sub { };
	}
	my $session = $self->background_psql($db,
		defined $opts{role} ? (extra_params => [ '-U', $opts{role} ]) : ());
	$session->query_safe('SET log_statement = none') unless defined $opts{role};
	return $session;
}

# A session LISTENing on backtest_progress (PgBacktestNode::Listener)
sub progress_listener
{
	my ($self, %opts) = @_;
	return PgBacktestNode::Listener->new($self, %opts);
}

# ---- the progress events ---------------------------------------------------------

package PgBacktestNode::Listener;

use strict;
use warnings;

use JSON::PP;
use Test::More ();

# A quiet session on $opts{db} (default postgres) as $opts{role} that
# LISTENs on backtest_progress.  psql prints the notifications that arrived
# before each command's output, so collect() runs a command and records
# them: each as { p => the decoded payload, raw => its text }.
sub new
{
	my ($class, $node, %opts) = @_;
	my $self = bless {
		node    => $node,
		db      => $opts{db} // 'postgres',
		json    => JSON::PP->new->utf8,
		by_task => {},
		all     => [],
		bad     => [],
	}, $class;
	$self->{session} = $node->quiet_session($self->{db}, role => $opts{role});
	$self->{session}->query_safe('LISTEN backtest_progress');
	return $self;
}

# Run $sql (default SELECT 1), record the notifications printed with its
# output and return the other output lines.  A payload that is not a JSON
# object, or (without $sql) an output line other than SELECT 1's, counts
# as bad.
sub collect
{
	my ($self, $sql) = @_;
	my $out = $self->{session}->query_safe($sql // 'SELECT 1');
	my @rest;
	for my $line (split /\n/, $out)
	{
		next if $line eq '';
		my ($channel, $raw) = PgBacktestNode::notification_of($line);
		if (defined $channel && $channel eq 'backtest_progress')
		{
			my $p = eval { $self->{json}->decode($raw) };
			if (!defined $p || ref $p ne 'HASH')
			{
				Test::More::diag "not a JSON object: $raw";
				push @{ $self->{bad} }, $line;
				next;
			}
			my $ev = { p => $p, raw => $raw };
			push @{ $self->{by_task}{ $p->{task_id} } }, $ev;
			push @{ $self->{all} }, $ev;
		}
		elsif (defined $sql)
		{
			push @rest, $line;
		}
		elsif ($line ne '1')
		{
			Test::More::diag "unexpected psql output: $line";
			push @{ $self->{bad} }, $line;
		}
	}
	return join("\n", @rest);
}

# The events recorded for task $id, in order: ({ p, raw }, ...)
sub events
{
	my ($self, $id) = @_;
	return @{ $self->{by_task}{$id} // [] };
}

# Every event recorded, in order
sub all_events
{
	my ($self) = @_;
	return @{ $self->{all} };
}

# How many payloads or output lines were bad
sub bad
{
	my ($self) = @_;
	return scalar @{ $self->{bad} };
}

# The bad lines themselves
sub bad_lines
{
	my ($self) = @_;
	return @{ $self->{bad} };
}

# Collect until task $id has sent a final event (completed, failed or
# cancelled): true if it did.  Gives up a little after the task row has
# finished without one (a payload that could not be parsed, or none sent).
sub wait_final
{
	my ($self, $id) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my $grace;
	while (time() < $deadline)
	{
		$self->collect();
		my @ev = $self->events($id);
		return 1
		  if @ev && $ev[-1]{p}{status} =~ /^(completed|failed|cancelled)$/;
		if (defined $grace)
		{
			return 0 if --$grace <= 0;
		}
		elsif ($self->collect(
				"SELECT status IN ('completed', 'failed', 'cancelled') FROM backtest.tasks WHERE id = $id"
			) eq 't')
		{
			$grace = 40;
		}
		select(undef, undef, undef, 0.05);
	}
	return 0;
}

# Run $sql in the listening session (query_safe)
sub query_safe
{
	my ($self, $sql) = @_;
	return $self->{session}->query_safe($sql);
}

sub quit
{
	my ($self) = @_;
	return $self->{session}->quit;
}

1;
