#!/usr/bin/env bash
# Install what building, testing and demonstrating pg_backtest needs on
# Debian (bookworm): PostgreSQL 15 server and headers, pg_cron, pgTAP, the
# Perl TAP tooling, the Debian packaging tools (the .deb built by
# test/pkg/deb.sh) and what the README's examples are tested with (psycopg 2
# and 3, xmllint, Node.js and npm).  Idempotent; uses sudo when not run as root.
set -euo pipefail

PKGS=(
  build-essential
  postgresql-15
  postgresql-server-dev-15
  libkrb5-dev            # Debian's server headers include krb5 headers
  postgresql-15-cron
  postgresql-15-pgtap
  postgresql-common      # pg_virtualenv: throwaway clusters
  libpq-dev              # the libpq client
  libipc-run-perl        # PostgreSQL::Test TAP tests
  clang                  # libFuzzer for the engine fuzz target
  libclang-rt-14-dev     # libFuzzer and sanitizer runtimes
  debhelper              # the .deb: dpkg-buildpackage with debian/rules
  postgresql-server-dev-all  # pg_buildext (debian/rules) and its Build-Depends
  dpkg-dev
  fakeroot
  libxml2-utils          # xmllint: the README's heatmap recipe makes valid SVG
  python3-psycopg2       # the README's Python clients, tested as written
  python3-psycopg
  chromium               # renders the chart and report in test/t/030_chart_browser.pl
  nodejs                 # the README's node-postgres client (test/t/045_clients.pl)
)
# npm installs that client's pg package: Debian's npm package, unless an npm
# is there already (a Node.js from elsewhere bundles its own, and Debian's
# npm would conflict with it)
command -v npm >/dev/null || PKGS+=(npm)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: not root and no sudo: run it as root" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "== dependencies present: ${PKGS[*]}"
