# started_at follows the queue even when a dispatcher is slow to launch the
# worker of a slot it reserved while a reused worker takes a later task.
#
# Deterministic, with the test hook pg_backtest.test_delay: the dispatcher
# sleeps 6 s at 'after_reserve' (a slot reserved, its worker not launched
# yet).  T1 sleeps 3 s in its query; while it sleeps T2 and T3 are
# submitted.  The dispatcher reserves the second slot for T2 and sleeps;
# T1's worker finishes and takes T3 itself (worker reuse) seconds before
# T2's worker is launched.  started_at was stamped at launch, so T3 showed
# an earlier start than T2 (001_pool.pl's FIFO check failed under load for
# this reason); it is now stamped when the slot is assigned, under the lock
# that hands slots out in queue order.
use strict;
use warnings;

use PgBacktestNode qw(sleep_query);
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PgBacktestNode->create(
	'start_order', conf => q{
pg_backtest.max_concurrent = 2
log_min_messages = debug1
});
$node->create_klines('postgres');
$node->set_conf('pg_backtest.test_delay', 'after_reserve:6000');

my $nap = sleep_query(3);
my $t1 = $node->safe_psql('postgres', "SELECT backtest_submit_query($nap, 'sma_cross')");
$node->wait_sleeping($t1);
my $t2 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
my $t3 = $node->safe_psql('postgres', "SELECT backtest_submit('k', 'A', 'sma_cross')");
is($node->wait_task($_), 'completed', "task $_ completed") for ($t1, $t2, $t3);

# the race happened: T1's worker ran T3 itself while T2's slot waited
my $log = slurp_file($node->logfile);
like($log, qr/task worker \d+ runs task $t3 next/, "T1's worker took T3 ($t3) itself");
unlike($log, qr/runs task $t2 next/, "T2 ($t2) was started by the dispatcher");

is( $node->safe_psql('postgres',
		"SELECT string_agg(id::text, ',' ORDER BY started_at, id) FROM backtest.tasks"),
	"$t1,$t2,$t3",
	'started_at is in queue order');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM backtest.tasks WHERE attempts <> 1 OR finished_at < started_at"),
	'0', 'each task ran once, and finished after it started');

$node->set_conf('pg_backtest.test_delay', '');
$node->stop;
done_testing();
