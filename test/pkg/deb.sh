#!/usr/bin/env bash
# Build the Debian package (debian/, pg_buildext) from a copy of the source
# tree, install it with apt, and check what it installed: the library, the
# control file and install scripts in pg_config's directories, the CLI
# in pg_config --bindir and on PATH (/usr/bin/pg_backtest), and that
# CREATE EXTENSION works from the packaged files on a throwaway cluster.
# The build happens in a temporary directory (nothing lands in the source
# tree).  Afterwards the package is removed again if it was not installed
# before, and `make install` puts the tree's own build back.
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines (scripts/test.sh
# counts them); exits non-zero if any check failed.
# Needs root or sudo (apt-get install), and scripts/install-deps.sh's packages.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
. scripts/pg_config.sh

n=0; nfail=0
check() {	# check "description" command...
	local desc=$1; shift
	n=$((n + 1))
	if "$@" >>"$log" 2>&1; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"; nfail=$((nfail + 1))
		tail -n 30 "$log" | sed 's/^/#   /'
	fi
}

pkg=postgresql-$pgmajor-pg-backtest
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" pg_backtest.control)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg_backtest_deb.XXXXXX")
log=$tmp/log
chmod 755 "$tmp"
was_installed=0
dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && was_installed=1

# A copy of the source: the files git knows (tracked, or new and not
# ignored), or the whole tree minus build outputs when this is no checkout.
copy_source() {
	mkdir -p "$tmp/pg-backtest-$version"
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$src" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar -C "$src" --null -T - -cf - | tar -C "$tmp/pg-backtest-$version" -xf -
	else
		tar -C "$src" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude=results \
			-cf - . | tar -C "$tmp/pg-backtest-$version" -xf -
	fi
}
check "copy the source tree to $tmp" copy_source

build() {
	cd "$tmp/pg-backtest-$version" && dpkg-buildpackage -us -uc -b
}
check "dpkg-buildpackage -us -uc -b (pg_buildext) builds $pkg" build
deb=$(ls "$tmp"/${pkg}_"${version}"-*_*.deb 2>/dev/null | head -n 1)
check "the .deb is named for upstream version $version" test -n "$deb"

install_deb() {
	[ -n "$deb" ] || return 1
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --reinstall "$deb"
}
check "apt-get install ./$(basename "${deb:-none.deb}")" install_deb

libdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)/extension
bindir=$("$PG_CONFIG" --bindir)
owned() {	# the package owns this file
	dpkg -S "$1" 2>/dev/null | grep -q "^$pkg:"
}
check "the package owns $libdir/pg_backtest.so" owned "$libdir/pg_backtest.so"
check "the package owns $sharedir/pg_backtest.control" owned "$sharedir/pg_backtest.control"
for f in sql/install/pg_backtest--*.sql; do	# the base script and every step script
	check "the package owns $sharedir/${f##*/}" owned "$sharedir/${f##*/}"
done
check "the package owns the CLI $bindir/pg_backtest" owned "$bindir/pg_backtest"
check "the package owns /usr/bin/pg_backtest" owned /usr/bin/pg_backtest
on_path() {	# a login shell's PATH finds the CLI, and it is this version
	local out
	out=$(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin pg_backtest --version)
	echo "pg_backtest --version: $out"
	[ "$out" = "pg_backtest $version" ]
}
check "pg_backtest on PATH reports version $version" on_path
check "the package ships the licence" test -s /usr/share/doc/$pkg/copyright

smoke() {	# CREATE EXTENSION from the packaged files, with the library preloaded
	local out
	out=$(pg_virtualenv -t -c "-p ${PGDEB_PORT:-$((20000 + RANDOM % 20000))}" \
		-o "shared_preload_libraries=pg_backtest" \
		psql -X -v ON_ERROR_STOP=1 -At -d postgres -c "CREATE EXTENSION pg_backtest" \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'pg_backtest'") || return 1
	echo "$out"
	grep -qx "$version" <<<"$out"
}
check "CREATE EXTENSION pg_backtest from the package (version $version)" smoke

# Put things back as they were: remove the package unless it was there
# before, then reinstall the tree's own build (the package's files replaced
# what make install had put in the same places).
restore() {
	if [ "$was_installed" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq "$pkg" || return 1
	fi
	$SUDO make -s -C "$src" PG_CONFIG="$PG_CONFIG" install >/dev/null
}
check "remove the package again and reinstall the tree's build" restore

if [ "$nfail" -eq 0 ] && [ -z "${KEEP_DEB_TMP:-}" ]; then
	rm -rf "$tmp"
else
	echo "# build directory kept: $tmp"
fi
echo "# $((n - nfail)) passed, $nfail failed"
[ "$nfail" -eq 0 ]
