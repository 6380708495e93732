#!/usr/bin/env bash
# Install what building, testing and demonstrating pg_backtest needs on
# Debian (bookworm): PostgreSQL 15 server and headers, pg_cron, pgTAP and the
# Perl TAP tooling.  Idempotent; uses sudo when not run as root.
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
  chromium               # renders the chart and report in test/t/030_chart_browser.pl
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

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
