#!/usr/bin/env bash
# The version is defined once, in pg_backtest.control (default_version); check
# that everything else that states it agrees: META.json (PGXN: "version" and
# provides.pg_backtest.version), debian/changelog (upstream part of the
# newest entry), the built CLI (`pg_backtest --version`), and a CHANGELOG.md
# heading.  Also: the licence is the PostgreSQL License everywhere it is
# stated, META.json is valid PGXN metadata, debian/control is up to date
# with debian/control.in.  Run after `make` (the CLI must be built).
# Prints TAP-style "ok N - ..." lines; exits non-zero if one failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

n=0; nfail=0
ok() {	# ok CONDITION-EXIT-STATUS "description" ["diagnostic"]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; nfail=$((nfail + 1)); [ -n "${3:-}" ] && echo "#   $3"; fi
}

v=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_backtest.control)
[ -n "$v" ]; ok $? "pg_backtest.control has a default_version ($v)"

meta() {	# a field of META.json, by Python expression over m
	python3 -c "import json,sys; m=json.load(open('META.json')); print($1)" 2>&1
}
mv=$(meta 'm["version"]')
[ "$mv" = "$v" ]; ok $? "META.json version ($mv) = control ($v)"
pv=$(meta 'm["provides"]["pg_backtest"]["version"]')
[ "$pv" = "$v" ]; ok $? "META.json provides.pg_backtest.version ($pv) = control ($v)"
missing=$(meta '" ".join(k for k in ("name","abstract","version","maintainer","license","provides","meta-spec") if k not in m)')
[ -z "$missing" ] && [ "$(meta 'm["name"]')" = pg_backtest ]
ok $? "META.json has PGXN's required keys" "missing: $missing"
f=$(meta 'm["provides"]["pg_backtest"]["file"]'); d=$(meta 'm["provides"]["pg_backtest"]["docfile"]')
[ -f "$f" ] && [ -f "$d" ]; ok $? "META.json's provides file and docfile exist ($f, $d)"
[ "$(meta 'm["license"]')" = postgresql ]; ok $? "META.json license is postgresql"

grep -q "^PostgreSQL License" LICENSE && grep -q "pg_backtest developers" LICENSE
ok $? "LICENSE is the PostgreSQL License, copyright pg_backtest developers"
grep -q "^License: PostgreSQL" debian/copyright; ok $? "debian/copyright states the PostgreSQL License"

dv=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
[ "${dv%-*}" = "$v" ]; ok $? "debian/changelog version ($dv) is upstream $v"

cv=$(src/cli/pg_backtest --version 2>&1)
[ "$cv" = "pg_backtest $v" ]; ok $? "src/cli/pg_backtest --version ($cv) reports $v"

grep -q "^## $v" CHANGELOG.md; ok $? "CHANGELOG.md has a \"## $v\" heading"

pg_buildext checkcontrol >/dev/null 2>&1
ok $? "debian/control is up to date with debian/control.in (pg_buildext checkcontrol)"

echo "# $((n - nfail)) passed, $nfail failed"
[ "$nfail" -eq 0 ]
