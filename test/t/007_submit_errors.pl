# Submit-time validation: bad input is rejected by backtest_submit and
# backtest_submit_query before anything is queued (no row, no event, no
# worker started).
use strict;
use warnings;

use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create('submit');
$node->create_klines('postgres', bars => 100, grant => 'PUBLIC');
$node->safe_psql(
	'postgres', q{
CREATE TABLE noclose AS SELECT symbol, ts, open, high, low, volume FROM k;
CREATE TABLE textclose AS SELECT symbol, ts, open, high, low, close::text AS close, volume FROM k;
CREATE ROLE nologin NOLOGIN;
GRANT SELECT ON k TO nologin;
CREATE ROLE erin LOGIN;
CREATE DATABASE other;
});
$node->safe_psql('other', 'CREATE EXTENSION pg_backtest');

my $count_sql = 'SELECT last_value || \',\' || (SELECT count(*) FROM backtest.tasks) FROM backtest.tasks_id_seq';

# Each case: [ description, SQL, error regexp, database, role ]
my @cases = (
	[
		'unknown strategy',
		q{SELECT backtest_submit('k', 'A', 'no_such_strategy')},
		qr/unknown strategy "no_such_strategy"/
	],
	[
		'unknown strategy (query form)',
		q{SELECT backtest_submit_query('SELECT * FROM k ORDER BY ts', 'nope')},
		qr/unknown strategy "nope"/
	],
	[
		'NULL strategy',
		q{SELECT backtest_submit('k', 'A', NULL)},
		qr/the strategy must not be NULL/
	],
	[
		'unknown parameter',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '{"no_such_param": 1}')},
		qr/unknown parameter "no_such_param"/
	],
	[
		'parameter of the wrong type',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '{"fast": "ten"}')},
		qr/parameter "fast" of strategy "sma_cross" must be a number, not string/
	],
	[
		'parameter out of range',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '{"fast": -3}')},
		qr/parameter "fast" is out of range: -3/
	],
	[
		'inconsistent parameters',
		q{SELECT backtest_submit_query('SELECT * FROM k ORDER BY ts', 'sma_cross', '{"fast": 30, "slow": 10}')},
		qr/parameter "fast" \(30\) must be less than "slow" \(10\)/
	],
	[
		'parameters not an object',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '[1, 2]')},
		qr/must be a jsonb object/
	],
	[
		'unknown key in columns',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '{"columns": {"nope": "x"}}')},
		qr/unknown key "nope" in parameter "columns"/
	],
	[
		'missing column in the table',
		q{SELECT backtest_submit('noclose', 'A', 'sma_cross')},
		qr/column "close" does not exist in relation "noclose"/
	],
	[
		'column of the wrong type',
		q{SELECT backtest_submit('textclose', 'A', 'sma_cross')},
		qr/column "close" of relation "textclose" has type text/
	],
	[
		'missing column in the query',
		q{SELECT backtest_submit_query('SELECT ts, open, high, low, volume FROM k', 'sma_cross')},
		qr/the query has no column "close"/
	],
	[
		'a query that is not a SELECT',
		q{SELECT backtest_submit_query('DELETE FROM k RETURNING *', 'sma_cross')},
		qr/must be a single SELECT/
	],
	[
		'a query that does not parse',
		q{SELECT backtest_submit_query('SELEC * FROM k', 'sma_cross')},
		qr/syntax error/
	],
	[
		'an empty query',
		q{SELECT backtest_submit_query('', 'sma_cross')},
		qr/the query source is empty/
	],
	[
		'a NULL query',
		q{SELECT backtest_submit_query(NULL, 'sma_cross')},
		qr/the query must not be NULL/
	],
	[
		'a NULL source',
		q{SELECT backtest_submit(NULL, 'A', 'sma_cross')},
		qr/the source must not be NULL/
	],
	[
		'a source that does not exist',
		q{SELECT backtest_submit('no_such_table', 'A', 'sma_cross')},
		qr/relation "no_such_table" does not exist/
	],
	[
		'start after end',
		q{SELECT backtest_submit('k', 'A', 'sma_cross', '{}', '2021-01-01', '2020-01-01')},
		qr/start_ts is after end_ts/
	],
	[
		'a role that cannot log in',
		q{SET ROLE nologin; SELECT backtest_submit('k', 'A', 'sma_cross')},
		qr/role "nologin" cannot log in, so a background worker cannot run a backtest as it/
	],
	[
		'a role that cannot log in (query form)',
		q{SET ROLE nologin; SELECT backtest_submit_query('SELECT * FROM k ORDER BY ts', 'sma_cross')},
		qr/role "nologin" cannot log in/
	],
);

my $before = $node->safe_psql('postgres', $count_sql);
my $before_other = $node->safe_psql('other', $count_sql);
for my $case (@cases)
{
	my ($what, $sql, $re, $db, $role) = @$case;
	$db //= 'postgres';
	my ($ret, $out, $err) = $node->psql($db, $sql,
		$role ? (extra_params => [ '-U', $role ]) : ());
	isnt($ret, 0, "$what: rejected");
	like($err, $re, "$what: error message");
	is($node->safe_psql($db, $count_sql),
		$db eq 'postgres' ? $before : $before_other,
		"$what: nothing queued (sequence and table unchanged)");
}

# a valid submission from another role works, and is the first row
my $id = $node->safe_psql_as('erin', q{SELECT backtest_submit('k', 'A', 'sma_cross')});
$node->wait_status($id, 'completed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'),
	'1', 'after all the rejections, one valid task was queued and completed');

# a submission rolled back with its transaction leaves nothing behind
$node->safe_psql('postgres',
	q{BEGIN; SELECT backtest_submit('k', 'A', 'sma_cross'); ROLLBACK;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM backtest.tasks'),
	'1', 'a rolled back submission is not queued');

# every database with the extension is served: a submission in database
# other runs there (0.3.0 refused it: only pg_backtest.database_name was served)
$node->safe_psql('other',
	q{CREATE TABLE k2 AS SELECT timestamptz '2020-01-01 00:00+00' + i * interval '1 day' AS ts,
	         100.0::float8 AS open, 101.0::float8 AS high, 99.0::float8 AS low,
	         (100 + i % 7)::float8 AS close, 1000.0::float8 AS volume
	  FROM generate_series(0, 99) i});
my $oid = $node->safe_psql('other', q{SELECT backtest_submit('k2', NULL, 'sma_cross')});
$node->wait_status($oid, 'completed', db => 'other');
is($node->safe_psql('other', 'SELECT count(*) FROM backtest.tasks'),
	'1', 'a submission in the other database ran there');

$node->stop;
done_testing();
