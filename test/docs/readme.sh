#!/usr/bin/env bash
# Run the README's examples exactly as the README shows them.  A fenced code
# block preceded by a line "<!-- test: NAME ... -->" is taken from README.md
# itself (so this test follows the docs), run, and its outcome checked:
#
#   load-sample   psql runs it in the source directory: the sample CSV lands
#                 in klines as SYNTH (3000 bars; sma_cross's 53 trades and
#                 final equity 11033.3188, as the README says)
#   heatmap       bash runs it in a temporary directory: heatmap.svg must be
#                 well-formed XML (xmllint) whose root is <svg>
#   psycopg2      /usr/bin/python3 runs it: exit status 0, and it printed the
#   psycopg       task's first event (pending) and its last (completed)
#
# Run inside a throwaway cluster with the library preloaded and the PG*
# variables set (scripts/test.sh: pg_virtualenv ... test/docs/readme.sh).
# Prints TAP-style "ok N - ..." lines; exits non-zero if one failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
readme=${README_MD:-$src/README.md}	# README_MD: another file, to see this test fail
export PGDATABASE=postgres		# the database whose queue the workers serve
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_readme.XXXXXX")
chmod 755 "$tmp"
PY=/usr/bin/python3				# Debian's, which has python3-psycopg(2)

n=0; nfail=0
ok() {	# ok EXIT-STATUS "description" [file whose tail explains a failure]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; nfail=$((nfail + 1))
		[ -n "${3:-}" ] && [ -f "$3" ] && tail -n 30 "$3" | sed 's/^/#   /'
	fi
}

# The code block that follows the marker <!-- test: NAME ... --> in the README
block() {
	awk -v name="$1" '
		$0 ~ "^<!-- test: " name "[ >]" { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2 { print }
	' "$readme"
}

for b in load-sample heatmap psycopg2 psycopg; do
	block "$b" > "$tmp/$b.txt"
	[ -s "$tmp/$b.txt" ]; ok $? "README.md has the block marked \"test: $b\""
done

psql_val() { psql -X -At -v ON_ERROR_STOP=1 -c "$1" 2>&1; }

# --- the quick start: load the sample CSV
psql -X -v ON_ERROR_STOP=1 -f "$tmp/load-sample.txt" > "$tmp/load-sample.log" 2>&1
ok $? "the quick start's loading commands run in psql" "$tmp/load-sample.log"
v=$(psql_val "SELECT count(*), min(ts) = '2015-01-01 00:00+00', max(ts) = '2026-07-01 00:00+00' FROM klines WHERE symbol = 'SYNTH'")
[ "$v" = "3000|t|t" ]; ok $? "klines holds the 3000 SYNTH bars, midnight UTC (got $v)"
v=$(psql_val "SELECT trades_count, round(equity_final::numeric, 4) FROM backtest_run('klines', 'SYNTH', 'sma_cross')")
[ "$v" = "53|11033.3188" ]; ok $? "backtest_run on them: 53 trades, final equity 11033.3188 as the README says (got $v)"

# --- the heatmap recipe
(cd "$tmp" && rm -f heatmap.svg && bash -euo pipefail "$tmp/heatmap.txt") > "$tmp/heatmap.log" 2>&1
ok $? "the heatmap command runs" "$tmp/heatmap.log"
xmllint --noout "$tmp/heatmap.svg" > "$tmp/xmllint.log" 2>&1
ok $? "heatmap.svg is well-formed XML (xmllint --noout)" "$tmp/xmllint.log"
root=$(xmllint --xpath 'local-name(/*)' "$tmp/heatmap.svg" 2>/dev/null)
cells=$(grep -o '<rect' "$tmp/heatmap.svg" 2>/dev/null | wc -l)
[ "$root" = svg ] && [ "$cells" -ge 100 ]
ok $? "its root element is <svg> and it has a cell per combination (root $root, $cells rects)"

# --- the Python clients
for b in psycopg2 psycopg; do
	(cd "$tmp" && timeout 300 "$PY" "$tmp/$b.txt") > "$tmp/$b.log" 2>&1
	ok $? "the $b client runs to its end, exit status 0" "$tmp/$b.log"
	grep -Eq '^ *pending ' "$tmp/$b.log" && grep -Eq '^ *completed ' "$tmp/$b.log"
	ok $? "the $b client saw its task's first event (pending) and its last (completed)" "$tmp/$b.log"
	grep -q '^trades 53, return ' "$tmp/$b.log"
	ok $? "the $b client read the results row (53 trades)" "$tmp/$b.log"
done

if [ "$nfail" -eq 0 ]; then rm -rf "$tmp"; else echo "# kept $tmp"; fi
echo "# $((n - nfail)) passed, $nfail failed"
[ "$nfail" -eq 0 ]
