#!/usr/bin/env bash
# scripts/test.sh's tallies (scripts/counts.sh) on made-up logs of each
# kind of stage: what passes, what fails, and that a stage that went wrong
# without saying which check failed counts one failure (a crash before the
# summary line, a TAP file that died after its last "ok", a prove run that
# ran nothing, pg_regress without "All N tests passed").
# Prints TAP-style "ok N - ..." lines; exits non-zero if one failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/counts.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_counts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0; nfail=0

# expect FUNCTION STATUS "PASSED FAILED" "description" < log
expect() {
	local fn=$1 st=$2 want=$3 desc=$4 got
	cat > "$tmp/log"
	passed=0; failed=0
	"$fn" "$tmp/log" "$st"
	got="$passed $failed"
	n=$((n + 1))
	if [ "$got" = "$want" ]; then echo "ok $n - $fn: $desc"; else
		echo "not ok $n - $fn: $desc: counted $got, want $want"; nfail=$((nfail + 1)); fi
}

expect count_summary 0 "12 0" 'the last line of a clean run' <<'LOG'
test_a               5 passed, 0 failed
test_b               7 passed, 0 failed
12 passed, 0 failed
LOG
expect count_summary 1 "10 2" 'the failures it counts' <<'LOG'
FAIL test/unit/test_a.c:10: 1 != 2
10 passed, 2 failed
LOG
expect count_summary 2 "0 1" 'no summary line: it did not build' <<'LOG'
make: *** [Makefile:101: test/unit/run_unit_tests] Error 1
LOG
expect count_summary 139 "0 1" 'a crash after some output, before the summary' <<'LOG'
test_a               5 passed, 0 failed
Segmentation fault
LOG
expect count_summary 1 "5 1" 'a non-zero exit with "0 failed"' <<'LOG'
5 passed, 0 failed
LOG
expect count_summary 0 "0 1" 'an empty log' < /dev/null

expect count_tap 0 "3 0" 'ok lines' <<'LOG'
ok 1 - a
ok 2 - b
# a comment
ok 3 - c
LOG
expect count_tap 1 "1 1" 'a not ok line' <<'LOG'
ok 1 - a
not ok 2 - b
LOG
expect count_tap 3 "2 1" 'a script that died without a not ok' <<'LOG'
ok 1 - a
ok 2 - b
LOG

expect count_prove 0 "4 0" 'every file passed' <<'LOG'
t/001_a.pl ..
ok 1 - a
ok 2 - b
1..2
ok
t/002_b.pl ..
ok 1 - c
    ok 1 - a subtest line is not counted
ok 2 - d
1..2
ok
All tests successful.
Files=2, Tests=4,  3 wallclock secs
Result: PASS
LOG
expect count_prove 1 "3 2" 'a not ok, and a file that died after its last ok' <<'LOG'
t/001_a.pl ..
ok 1 - a
not ok 2 - b
1..2
Dubious, test returned 1 (wstat 256, 0x100)
Failed 1/2 subtests
t/002_b.pl ..
ok 1 - c
ok 2 - d
Dubious, test returned 255 (wstat 65280, 0xff00)
All 2 subtests passed

Test Summary Report
-------------------
t/001_a.pl (Wstat: 256 (exited 1) Tests: 2 Failed: 1)
  Failed test:  2
  Non-zero exit status: 1
t/002_b.pl (Wstat: 65280 (exited 255) Tests: 2 Failed: 0)
  Non-zero exit status: 255
  Parse errors: No plan found in TAP output
Files=2, Tests=4,  3 wallclock secs
Result: FAIL
LOG
expect count_prove 1 "1 1" 'a wrong plan' <<'LOG'
t/001_a.pl ..
1..2
ok 1 - a
Failed 1/2 subtests

Test Summary Report
-------------------
t/001_a.pl (Wstat: 0 Tests: 1 Failed: 0)
  Parse errors: Bad plan.  You planned 2 tests but ran 1.
Result: FAIL
LOG
expect count_prove 2 "0 1" 'nothing ran (run_tap.sh found no Perl modules)' <<'LOG'
run_tap.sh: the Perl module IPC::Run is missing (install libipc-run-perl)
LOG

expect count_regress 0 "2 0" 'PostgreSQL 15: all passed' <<'LOG'
test aggregate                    ... ok         1192 ms
test backtest                     ... ok          101 ms
=====================
 All 2 tests passed.
=====================
LOG
expect count_regress 2 "1 1" 'PostgreSQL 15: one failed' <<'LOG'
test aggregate                    ... ok         1192 ms
test backtest                     ... FAILED      101 ms
======================
 1 of 2 tests failed.
======================
LOG
expect count_regress 0 "2 0" 'PostgreSQL 16: all passed' <<'LOG'
ok 1         - aggregate                                1192 ms
ok 2         - backtest                                  101 ms
1..2
# All 2 tests passed.
LOG
expect count_regress 2 "1 1" 'PostgreSQL 16: one failed' <<'LOG'
ok 1         - aggregate                                1192 ms
not ok 2     - backtest                                  101 ms
1..2
# 1 of 2 tests failed.
LOG
expect count_regress 2 "0 1" 'the temporary instance did not start' <<'LOG'
============== creating temporary instance            ==============
pg_regress: initdb failed
LOG

exit $((nfail > 0))
