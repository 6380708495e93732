#!/bin/sh
# Run the CLI's test binaries (make clitest) and print their output, then
# one line "N passed, N failed" summing theirs: the line scripts/test.sh
# reads.  A binary that ends without its own "N passed, N failed" line
# (a crash), or exits non-zero with no failure counted, adds one failure.
# Exit status: 0 when nothing failed.
passed=0
failed=0
for t in "$@"; do
	status=0
	out=$("$t") || status=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	last=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "$t: no \"N passed, N failed\" line (exit status $status)"
		p=0
		f=1
	elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$t: exit status $status"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
