# The tallies of scripts/test.sh: each function reads the log of one stage
# and its exit status and adds to the globals passed and failed.  A stage
# that failed without saying which check failed always counts one failure,
# so "0 failed" is never printed for a run that went wrong.  Sourced by
# scripts/test.sh; test/pkg/counts.sh checks the functions on made-up logs.

# count_summary LOG STATUS: a program whose last line is "N passed, N failed"
# (make unittest, make clitest).  No such last line (it crashed, or did not
# build) or a non-zero status with no failure in it counts one failure.
count_summary() {
  local last p=0 f=1
  last=$(tail -n 1 "$1" 2>/dev/null || true)
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  fi
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

# count_tap LOG STATUS: a TAP-style log ("ok N ..." passes, "not ok N ..."
# fails); a script that failed without a "not ok" counts one failure.
count_tap() {
  local p f
  p=$(grep -cE '^ok [0-9]' "$1" || true); f=$(grep -cE '^not ok [0-9]' "$1" || true)
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

# count_prove LOG STATUS: prove -v over several TAP files (make tapcheck):
# their "ok N" and "not ok N" lines, and one failure more for each file that
# prove's summary lists as failed with "Failed: 0" (it died, or its plan
# was wrong, after its last "ok"); a failed run with nothing counted (no
# file ran) counts one.
count_prove() {
  local p f died
  p=$(grep -cE '^ok [0-9]' "$1" || true); f=$(grep -cE '^not ok [0-9]' "$1" || true)
  died=$(grep -cE '^t/[^ ]+ +\(Wstat: .*Failed: 0\)$' "$1" || true)
  f=$((f + died))
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

# count_regress LOG STATUS: pg_regress (make installcheck): a test's
# "... ok" line passes, its "... FAILED" line fails (PostgreSQL 15's
# format, and 16's "ok N - name" / "not ok N - name"); without "All N
# tests passed", or with a non-zero status, at least one failed.
count_regress() {
  local p f
  p=$(grep -cE '^(test .*\.\.\. ok|ok [0-9]+ )' "$1" || true)
  f=$(grep -cE '^(test .*\.\.\. FAILED|not ok [0-9]+ )' "$1" || true)
  if { [ "$2" -ne 0 ] || ! grep -qE 'All [0-9]+ tests passed' "$1"; } && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}
