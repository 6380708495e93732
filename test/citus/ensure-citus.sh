#!/usr/bin/env bash
# Make Citus available to the Citus TAP test (test/t/050_citus.pl) when it
# can be had: if citus.so is not in the PostgreSQL of $PG_CONFIG and the
# project sits beside a shared/vendor folder holding build-citus.sh (the
# team's CI checkout: ../shared/vendor/build-citus.sh, which builds the
# vendored Citus 13.2.2 source into Debian's PostgreSQL 15; root only; a
# no-op when it is installed), run it.  Otherwise say why the test will be
# skipped.  Never fails the run: without Citus the test skips itself.
# Nothing of the project needs ../shared at run time; users install Citus
# from Citus' own packages.
#   usage: test/citus/ensure-citus.sh      (PG_CONFIG: see scripts/pg_config.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/scripts/pg_config.sh"
libdir=$("$PG_CONFIG" --pkglibdir)
if [ -f "$libdir/citus.so" ]; then
	echo "citus: installed ($libdir/citus.so)"
	exit 0
fi
build=$(dirname "$root")/shared/vendor/build-citus.sh
if [ ! -x "$build" ] && [ ! -f "$build" ]; then
	echo "citus: not installed and no $build: the Citus TAP test is skipped"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "citus: not installed; $build needs root: the Citus TAP test is skipped"
	exit 0
fi
echo "citus: building it with $build (a few minutes)"
if ! PG_CONFIG="$PG_CONFIG" bash "$build"; then
	echo "citus: $build failed: the Citus TAP test is skipped"
fi
exit 0
