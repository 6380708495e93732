# Sourced by the scripts that build or test against a PostgreSQL: sets
# PG_CONFIG, unless it is set already, to pg_config on PATH, else to the
# newest Debian server's /usr/lib/postgresql/<major>/bin/pg_config, and
# exports it; sets pgmajor to its major version.  Everything else (bindir,
# PGXS, the Perl test modules, pg_regress) the scripts ask pg_config.
if [ -z "${PG_CONFIG:-}" ]; then
	PG_CONFIG=$(command -v pg_config ||
		ls -1d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$PG_CONFIG" ] || ! "$PG_CONFIG" --version >/dev/null 2>&1; then
	echo "$(basename "$0"): no pg_config found (set PG_CONFIG, or install postgresql-server-dev-NN)" >&2
	exit 2
fi
export PG_CONFIG
pgmajor=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
