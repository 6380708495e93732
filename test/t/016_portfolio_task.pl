# Portfolio backtests through the queue: backtest_submit_portfolio(_query)
# queues a task of kind 'portfolio'; the worker runs it as its owner and
# stores exactly backtest_portfolio's row (backtest.results, with the
# portfolio's columns), backtest_portfolio_trades' trades (backtest.trades,
# with their symbol) and backtest_portfolio_equity's account curve
# (backtest.portfolio_equity); progress events as for other tasks (private
# payloads); row-level security; cancel of a running portfolio task; and a
# hostile search_path of the submitter changes nothing and runs nothing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('portfolio_task');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_cron,pg_backtest'
cron.database_name = 'postgres'
max_worker_processes = 16
});
$node->start;

# 30 stocks of 2000 daily bars (some with gaps, some starting late) and an index
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_backtest;
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
CREATE TABLE k (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8,
                low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO k
SELECT 'S' || lpad(s::text, 2, '0'), timestamptz '2015-01-01 00:00+00' + i * interval '1 day',
       c * (1 + 0.003 * sin(i * 1.3 + s)), c * 1.01, c * 0.99, c, 1000
FROM generate_series(1, 30) s, generate_series(0, 1999) i,
     LATERAL (SELECT 50 * exp(0.2 * sin(i / (20.0 + s)) + 0.1 * sin(i / 7.0 + s) + i * s * 1e-5) AS c) p
WHERE (s % 5 <> 0 OR i % 11 <> 0) AND i >= (s % 7) * 30;
INSERT INTO k
SELECT 'IDX', timestamptz '2015-01-01 00:00+00' + i * interval '1 day', c, c, c, c, 0
FROM generate_series(0, 1999) i, LATERAL (SELECT 1000 * exp(0.1 * sin(i / 50.0) + i * 2e-5) AS c) p;
GRANT SELECT ON k TO PUBLIC;
});

sub wait_done
{
	my ($id) = @_;
	$node->poll_query_until('postgres',
		"SELECT status IN ('completed', 'failed', 'cancelled') FROM backtest.tasks WHERE id = $id")
	  or die "task $id did not finish";
	return $node->safe_psql('postgres',
		"SELECT status || coalesce(': ' || error, '') FROM backtest.tasks WHERE id = $id");
}

# the stored results of task $id against the synchronous calls
# backtest_portfolio{,_trades,_equity}$sfx($args), $sfx '' or '_query'
sub differences
{
	my ($id, $sfx, $args) = @_;
	return $node->safe_psql(
		'postgres', qq{
SELECT (SELECT to_jsonb(r) - 'task_id' - 'owner' FROM backtest.results r WHERE r.task_id = $id)
         IS NOT DISTINCT FROM (SELECT to_jsonb(p) FROM backtest_portfolio${sfx}($args) p),
       (SELECT count(*) FROM backtest.trades WHERE task_id = $id),
       (SELECT count(*) FROM ((SELECT to_jsonb(t) - 'task_id' - 'owner' FROM backtest.trades t WHERE t.task_id = $id
                               EXCEPT ALL SELECT to_jsonb(p) FROM backtest_portfolio_trades${sfx}($args) p)
                              UNION ALL
                              (SELECT to_jsonb(p) FROM backtest_portfolio_trades${sfx}($args) p
                               EXCEPT ALL SELECT to_jsonb(t) - 'task_id' - 'owner' FROM backtest.trades t WHERE t.task_id = $id)) d),
       (SELECT count(*) FROM backtest.portfolio_equity WHERE task_id = $id),
       (SELECT count(*) FROM ((SELECT to_jsonb(e) - 'task_id' FROM backtest.portfolio_equity e WHERE e.task_id = $id
                               EXCEPT ALL SELECT to_jsonb(p) FROM backtest_portfolio_equity${sfx}($args) p)
                              UNION ALL
                              (SELECT to_jsonb(p) FROM backtest_portfolio_equity${sfx}($args) p
                               EXCEPT ALL SELECT to_jsonb(e) - 'task_id' FROM backtest.portfolio_equity e WHERE e.task_id = $id)) d)},
		extra_params => [ '-U', 'alice' ]);
}

# --- alice's tasks, with the events a listener receives --------------------
my $listen = $node->background_psql('postgres');
$listen->query_safe('LISTEN backtest_progress');

my $sma_args =
  q{'k', 'sma_cross', '{"fast": 10, "slow": 40, "benchmark": "IDX", "commission": 0.001, "max_positions": 8}'};
my $rot_args =
  q{'SELECT * FROM k WHERE ts >= ''2016-01-01''', 'rotation', '{"top": 5, "period": 30, "rebalance": "weekly", "benchmark": "IDX", "stamp_duty": 0.001}'};
my $sub_args =
  q{'k', 'ema_cross', '{"fast": 5, "slow": 30, "allocation": "fixed", "position_size": 0.3, "lot_size": {"S01": 100, "*": 10}}', ARRAY['S01', 'S02', 'S03', 'S10'], '2016-01-01', '2019-12-31'};

my $sma = $node->safe_psql('postgres', "SELECT backtest_submit_portfolio($sma_args)",
	extra_params => [ '-U', 'alice' ]);
my $rot = $node->safe_psql('postgres', "SELECT backtest_submit_portfolio_query($rot_args)",
	extra_params => [ '-U', 'alice' ]);
my $sub = $node->safe_psql('postgres', "SELECT backtest_submit_portfolio($sub_args)",
	extra_params => [ '-U', 'alice' ]);
like($sma, qr/^\d+$/, 'backtest_submit_portfolio returns a task id');
is( $node->safe_psql('postgres',
		"SELECT string_agg(kind || ':' || owner || ':' || coalesce(symbols::text, '-'), ' ' ORDER BY id) FROM backtest.tasks"),
	'portfolio:alice:- portfolio:alice:- portfolio:alice:{S01,S02,S03,S10}',
	'three portfolio tasks of alice, the symbols recorded');

is(wait_done($sma), 'completed', 'the sma_cross portfolio task completed');
is(wait_done($rot), 'completed', 'the rotation portfolio task (query source) completed');
is(wait_done($sub), 'completed', 'the task over some symbols and a time range completed');

my ($same, $nt, $tdiff, $ne, $ediff) = split /\|/, differences($sma, '', $sma_args);
is($same, 't', 'sma_cross: the results row is backtest_portfolio\'s, every column');
ok($nt > 50, "sma_cross: $nt trades stored");
is($tdiff, '0', 'sma_cross: the stored trades are backtest_portfolio_trades\' exactly');
is($ne, '2000', 'sma_cross: one account row per timestamp of the union timeline');
is($ediff, '0', 'sma_cross: the account curve is backtest_portfolio_equity\'s exactly');

($same, $nt, $tdiff, $ne, $ediff) = split /\|/, differences($rot, '_query', $rot_args);
is($same, 't', 'rotation: the results row is backtest_portfolio_query\'s');
ok($nt > 50, "rotation: $nt trades stored");
is($tdiff, '0', 'rotation: the trades are exactly backtest_portfolio_trades_query\'s');
is($ediff, '0', 'rotation: the account curve is exactly backtest_portfolio_equity_query\'s');

($same, $nt, $tdiff, $ne, $ediff) = split /\|/, differences($sub, '', $sub_args);
is($same, 't', 'symbols and a range: the results row is backtest_portfolio\'s');
is($tdiff . ',' . $ediff, '0,0', 'symbols and a range: trades and account curve equal');
is( $node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT symbol, ',') || ' ' || bool_and(symbol <> 'S01' OR quantity::bigint % 100 = 0) FROM backtest.trades WHERE task_id = $sub"),
	'S01,S02,S03,S10 true', 'only the symbols asked for are traded, S01 in its own lots');
is( $node->safe_psql('postgres',
		"SELECT n_symbols || ',' || (alpha IS NOT NULL) || ',' || (beta IS NOT NULL) FROM backtest.results WHERE task_id = $sma"),
	'30,true,true', 'the portfolio columns are stored (30 symbols traded, the index as benchmark)');

# events: private payloads, the steps in order, progress never backwards
my $received = $listen->query_safe('SELECT 1');
my %events;
foreach my $line (split /\n/, $received)
{
	next unless $line =~ /Asynchronous notification "backtest_progress" with payload "(.*)" received/;
	(my $json = $1) =~ s/\\"/"/g;
	my $ev = decode_json($json);
	push @{ $events{ $ev->{task_id} } }, $ev;
}
my @ev = @{ $events{$sma} // [] };
ok(@ev >= 5, 'several events for the portfolio task (' . scalar(@ev) . ')');
is($ev[0]{status}, 'pending', 'the first event says queued');
is($ev[-1]{status}, 'completed', 'the last event says completed');
is($ev[-1]{progress}, 100, 'at 100%');
my %steps = map { ($_->{current_step} // '') => 1 } @ev;
ok($steps{'loading data'} && $steps{'saving results'}, 'loading and saving steps are reported');
my $monotonic = 1;
for my $i (1 .. $#ev)
{
	$monotonic = 0 if $ev[$i]{progress} < $ev[ $i - 1 ]{progress};
}
ok($monotonic, 'progress never goes backwards');
ok(!(grep { exists $_->{total_return} || exists $_->{message} || exists $_->{error} } @ev),
	'no event carries results or messages (private payloads)');
is( $node->safe_psql('postgres', "SELECT message FROM backtest.tasks WHERE id = $sma"),
	'30 symbols, 2000 timestamps, '
	  . $node->safe_psql('postgres', "SELECT trades_count FROM backtest.results WHERE task_id = $sma")
	  . ' trades',
	'the completed task\'s message');
$listen->quit;

# --- row-level security ------------------------------------------------------
is( $node->safe_psql(
		'postgres', q{
SELECT (SELECT count(*) FROM backtest.tasks) || ',' || (SELECT count(*) FROM backtest.results) || ','
       || (SELECT count(*) FROM backtest.trades) || ',' || (SELECT count(*) FROM backtest.portfolio_equity_curves)
       || ',' || (SELECT count(*) FROM backtest.portfolio_equity)},
		extra_params => [ '-U', 'mallory' ]),
	'0,0,0,0,0', 'mallory sees none of alice\'s portfolio tasks or results');
my ($rc, $out, $err) =
  $node->psql('postgres', "SELECT backtest_delete($sma)", extra_params => [ '-U', 'mallory' ]);
like($err, qr/task $sma does not exist/, 'mallory cannot delete alice\'s portfolio task');

# --- cancel: a running portfolio task stops and stores nothing ---------------
my $long = q{$q$WITH nap AS MATERIALIZED (SELECT pg_sleep(300)) SELECT k.* FROM k, nap$q$};
my $c = $node->safe_psql('postgres', "SELECT backtest_submit_portfolio_query($long, 'sma_cross')",
	extra_params => [ '-U', 'alice' ]);
$node->poll_query_until(
	'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity a JOIN backtest.tasks t ON t.worker_pid = a.pid
WHERE t.id = $c AND t.status = 'running' AND a.wait_event = 'PgSleep'})
  or die "task $c did not start loading";
($rc, $out, $err) =
  $node->psql('postgres', "SELECT backtest_cancel($c)", extra_params => [ '-U', 'mallory' ]);
like($err, qr/task $c does not exist/, 'mallory cannot cancel it');
is($node->safe_psql('postgres', "SELECT backtest_cancel($c)", extra_params => [ '-U', 'alice' ]),
	't', 'alice cancels her running portfolio task');
is(wait_done($c), 'cancelled', 'it ends cancelled');
is( $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM backtest.results WHERE task_id = $c) + (SELECT count(*) FROM backtest.trades WHERE task_id = $c) + (SELECT count(*) FROM backtest.portfolio_equity_curves WHERE task_id = $c)"),
	'0', 'a cancelled portfolio task stores nothing');

# --- a hostile search_path --------------------------------------------------
$node->safe_psql(
	'postgres', q{
CREATE SCHEMA evil AUTHORIZATION mallory;
CREATE TABLE public.calls (fn text, by_role name DEFAULT current_user);
GRANT INSERT, SELECT ON public.calls TO PUBLIC;
SET ROLE mallory;
DO $do$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'text', 'name', 'timestamptz', 'double precision', 'text[]'] LOOP
        EXECUTE format($f$CREATE FUNCTION evil.%s(a %s, b %s) RETURNS boolean LANGUAGE plpgsql AS
            $b$BEGIN INSERT INTO public.calls (fn) VALUES (%L); RETURN true; END$b$ $f$,
            'op_' || translate(t, ' []', '_'), t, t, 'operator on ' || t);
        FOREACH op IN ARRAY ARRAY['=', '<', '>', '<=', '>=', '<>'] LOOP
            EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%s)',
                           op, t, t, 'op_' || translate(t, ' []', '_'));
        END LOOP;
    END LOOP;
END
$do$;
CREATE FUNCTION evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('unnest'); END$$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.calls (fn) VALUES ('clock_timestamp'); RETURN '2000-01-01'; END$$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
});
$node->safe_psql('postgres', q{ALTER ROLE mallory SET search_path = evil, pg_catalog, public});
$node->safe_psql('postgres', q{SELECT 1 WHERE 'a'::text = 'b'::text}, extra_params => [ '-U', 'mallory' ]);
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM calls'), 't',
	'the hostile operators are picked up from mallory\'s search_path');
$node->safe_psql('postgres', 'TRUNCATE calls');

my $m_args = q{'public.k', 'sma_cross', '{"fast": 10, "slow": 40, "benchmark": "IDX"}', ARRAY['S04', 'S05', 'S06'], '2016-01-01'};
my $m = $node->safe_psql('postgres', "SELECT public.backtest_submit_portfolio($m_args)",
	extra_params => [ '-U', 'mallory' ]);
is(wait_done($m), 'completed', 'mallory\'s portfolio task, submitted under her hostile path, completed');
is($node->safe_psql('postgres', q{SELECT coalesce(string_agg(DISTINCT fn, ', '), '') FROM calls}),
	'', 'no hostile function ran while submitting, running and saving it');
is( $node->safe_psql('postgres', "SELECT owner FROM backtest.tasks WHERE id = $m"),
	'mallory', 'the task is mallory\'s');
($same, $nt, $tdiff, $ne, $ediff) = split /\|/, $node->safe_psql(
	'postgres', qq{
SELECT (SELECT to_jsonb(r) - 'task_id' - 'owner' FROM backtest.results r WHERE r.task_id = $m)
         = (SELECT to_jsonb(p) FROM backtest_portfolio($m_args) p),
       (SELECT count(*) FROM backtest.trades WHERE task_id = $m),
       (SELECT count(*) FROM (SELECT to_jsonb(t) - 'task_id' - 'owner' FROM backtest.trades t WHERE t.task_id = $m
                              EXCEPT ALL SELECT to_jsonb(p) FROM backtest_portfolio_trades($m_args) p) d),
       (SELECT count(*) FROM backtest.portfolio_equity WHERE task_id = $m),
       (SELECT count(*) FROM (SELECT to_jsonb(e) - 'task_id' FROM backtest.portfolio_equity e WHERE e.task_id = $m
                              EXCEPT ALL SELECT to_jsonb(p) FROM backtest_portfolio_equity($m_args) p) d)});
is($same, 't', 'its results row equals a clean session\'s backtest_portfolio');
ok($nt > 0, "it has trades ($nt)");
is($tdiff . ',' . $ediff, '0,0', 'its trades and account curve equal a clean session\'s');

$node->stop;
done_testing();
