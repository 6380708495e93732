# Live streams under concurrent writers, deterministically: while one
# transaction has inserted a bar (its trigger holds the symbol's state row),
# a second writer of the same symbol waits for it (seen in pg_stat_activity)
# and, once the first commits, advances the state the first left, so both
# bars are in it and the values equal backtest_indicator's.  A second
# symbol does not wait.  Starting a stream waits for an open insert and
# includes its bar once it commits.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('live_concurrency');
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
CREATE TABLE k (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8,
                PRIMARY KEY (symbol, ts));
INSERT INTO k SELECT s, '2024-01-01'::timestamptz + i * interval '1 day', 10 + i % 7, 11 + i % 7,
                     9 + i % 7, 10 + i % 5, 100
FROM generate_series(0, 29) i, (VALUES ('A'), ('B')) v(s);
SELECT backtest_live_start('k', NULL, NULL, '{}', '[{"name": "ema", "period": 5}]');
});

no warnings 'redefine';
local *PostgreSQL::Test::BackgroundPsql::note = sub { };
use warnings 'redefine';
my $s1 = $node->background_psql('postgres');
my $s2 = $node->background_psql('postgres');

my $state = sub {
	$node->safe_psql('postgres',
		"SELECT bars, to_char(last_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM backtest_live_streams() WHERE symbol = '$_[0]' AND stream = 1");
};

# session 1 inserts A's next bar and keeps its transaction open
$s1->query_safe("BEGIN; INSERT INTO k VALUES ('A', '2024-01-31', 20, 21, 19, 20, 100)");
# session 2 inserts the bar after it: its trigger waits for A's state row
$s2->query_until(qr/started/, q{\echo started
INSERT INTO k VALUES ('A', '2024-02-01', 21, 22, 20, 21, 100);
});
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) > 0 FROM pg_stat_activity
		  WHERE query LIKE 'INSERT INTO k VALUES (''A'', ''2024-02-01''%' AND wait_event_type = 'Lock'}),
	'the second writer of A waits for the first');
# meanwhile B's bars go through (another state row)
$node->safe_psql('postgres', "INSERT INTO k VALUES ('B', '2024-01-31', 20, 21, 19, 20, 100)");
like($state->('B'), qr/^31\|/, 'a writer of B does not wait');
like($state->('A'), qr/^30\|/, 'A: the first writer has not committed');

$s1->query_safe('COMMIT');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE 'INSERT INTO k VALUES (''A'', ''2024-02-01''%' AND state = 'active'}),
	'the second writer went on');
like($state->('A'), qr/^32\|2024-02-01/, 'A: both bars are in the state');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FILTER (WHERE (b."values" ->> 'ema(5)')::float8 IS DISTINCT FROM e.value), count(*)
FROM backtest_live_bars(1) b
JOIN backtest_indicator('k', 'A', 'ema', '{"period": 5}') e USING (ts) WHERE b.symbol = 'A'}),
	'0|32', 'A: every value equals backtest_indicator\'s');

# the state itself, not a rebuild, holds both: the next bar is advanced incrementally
my ($rc, $out, $err) = $node->psql('postgres', "INSERT INTO k VALUES ('A', '2024-02-02', 22, 23, 21, 22, 100)");
unlike($err, qr/rebuilt/, 'A: the next bar needs no rebuild');
like($state->('A'), qr/^33\|2024-02-02/, 'A: and advances the state');

# starting a stream waits for an open insert and then sees its bar
$s1->query_safe("BEGIN; INSERT INTO k VALUES ('B', '2024-02-01', 20, 21, 19, 20, 100)");
$s2->query_until(qr/started/, q{\echo started
SELECT backtest_live_start('k', 'B');
});
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) > 0 FROM pg_stat_activity
		  WHERE query LIKE 'SELECT backtest_live_start(''k'', ''B'')%' AND wait_event_type = 'Lock'}),
	'starting a stream waits for the open insert');
$s1->query_safe('COMMIT');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM backtest.live_streams}),
	'the stream started after it');
is( $node->safe_psql(
		'postgres', q{SELECT st.bars, to_char(st.last_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM backtest.live_state st WHERE st.stream = 2}),
	'32|2024-02-01', 'the new stream includes the bar committed while it waited');

$s1->quit;
$s2->quit;
done_testing();
