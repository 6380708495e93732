# pg_backtest — PGXS build.  The version lives only in pg_backtest.control.
EXTENSION  = pg_backtest
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = pg_backtest

# The engine: plain C99, no PostgreSQL headers (unit-tested without a server)
ENGINE_SRCS = $(sort $(wildcard src/engine/*.c))
# Every engine header: the unit, bench and fuzz binaries depend on all of them
ENGINE_HDRS = $(wildcard src/engine/*.h)
# The PostgreSQL glue
PG_SRCS     = $(sort $(wildcard src/pg/*.c src/pg/*/*.c))
OBJS        = $(ENGINE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# Install and upgrade scripts live in sql/install/, apart from the regression
# inputs in sql/: the first release's script pg_backtest--$(BASE_VERSION).sql
# and a step script pg_backtest--<from>--<to>.sql for every later release.
# No full script of a later version is built or shipped: CREATE EXTENSION
# finds no install script for default_version, so it runs the base script and
# then the chain of step scripts itself (as ALTER EXTENSION UPDATE does).  A
# fresh install and an upgrade thus run the same SQL, by construction.
BASE_VERSION = 0.1.0
DATA        = $(sort $(wildcard sql/install/$(EXTENSION)--*.sql))

# ---- regression tests (pg_regress) ------------------------------------------
# pg_regress's own layout, as contrib modules and pg_cron have it: inputs
# sql/<test>.sql, expected outputs expected/<test>.out, and REGRESS every
# sql/*.sql (install scripts are in sql/install/).  They need pg_backtest
# and pg_cron preloaded, so `make installcheck` does not use a running
# server: pg_regress initdbs a temporary instance with the installed binaries
# (tmp_check/preload, configured by test/pg_backtest.conf) and removes it
# afterwards.  `make installcheck-nopreload` runs test/nopreload (CREATE
# EXTENSION and backtest_run without preloading) on a temporary instance of
# its own, tmp_check/nopreload.  initdb refuses to run as root: as root,
# pg_regress runs as REGRESS_USER (postgres), which must be able to read the
# tree, and writes its results under tmp_check/ instead of the top directory.
REGRESS     = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_USER ?= postgres
ifeq ($(shell id -u),0)
regress_as  = runuser -u $(REGRESS_USER) --
regress_out = tmp_check
else
regress_out = .
endif
REGRESS_OPTS = --inputdir=. --outputdir=$(regress_out) --load-extension=$(EXTENSION) \
	--temp-instance=tmp_check/preload --temp-config=test/pg_backtest.conf
REGRESS_PREP = regress-prep

EXTRA_CLEAN = test/unit/run_unit_tests test/bench/bench_engine test/bench/bench_queue test/fuzz/fuzz_engine $(CLI_TESTS) $(CLI)

# The command-line client (libpq), installed next to psql
CLI = src/cli/pg_backtest

PG_CPPFLAGS = -I$(srcdir)/src/engine -I$(srcdir)/src/pg
PG_CFLAGS  += -std=gnu99

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies (Debian builds without --enable-depend):
# a changed header rebuilds every object, so no object keeps an old struct
# layout (BtMetrics is shared between a sweep's processes).
$(OBJS): $(ENGINE_HDRS) $(wildcard src/pg/*.h src/pg/*/*.h)

# as root, pg_regress (and so the temporary instances) run as REGRESS_USER:
# PGXS's pg_regress_installcheck (Makefile.global) with the command prefixed
ifneq ($(regress_as),)
pg_regress_installcheck = \
	echo "+++ regress install-check as $(REGRESS_USER) +++" && \
	$(regress_as) $(top_builddir)/src/test/regress/pg_regress \
	--inputdir=$(srcdir) \
	--bindir='$(bindir)' \
	$(pg_regress_locale_flags) $(EXTRA_REGRESS_OPTS)
endif

.PHONY: regress-prep installcheck-nopreload
regress-prep:
	@mkdir -p tmp_check
ifneq ($(regress_as),)
	@chown -R $(REGRESS_USER): tmp_check
	@$(regress_as) test -r $(CURDIR)/test/pg_backtest.conf -a -r $(CURDIR)/expected/backtest.out || \
		{ echo "installcheck: as root pg_regress runs as $(REGRESS_USER), who cannot read $(CURDIR)" >&2; exit 1; }
endif

installcheck-nopreload: regress-prep
	@rm -rf tmp_check/nopreload
	$(regress_as) mkdir tmp_check/nopreload
	$(pg_regress_installcheck) --inputdir=test/nopreload --outputdir=tmp_check/nopreload \
		--load-extension=$(EXTENSION) --temp-instance=tmp_check/nopreload/instance nopreload

# ---- engine unit tests (no server) --------------------------------------
UNIT_CC      ?= cc
UNIT_CFLAGS  ?= -std=c99 -O2 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L
UNIT_SRCS    = $(sort $(wildcard test/unit/*.c))

test/unit/run_unit_tests: $(ENGINE_SRCS) $(UNIT_SRCS) $(ENGINE_HDRS) test/unit/unit.h
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/engine -Itest/unit -o $@ $(ENGINE_SRCS) $(UNIT_SRCS) -lm

.PHONY: unittest bench
unittest: test/unit/run_unit_tests
	test/unit/run_unit_tests test/data

test/bench/bench_engine: $(ENGINE_SRCS) test/bench/bench_engine.c $(ENGINE_HDRS)
	$(UNIT_CC) -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Isrc/engine -o $@ $(ENGINE_SRCS) test/bench/bench_engine.c -lm

bench: test/bench/bench_engine
	scripts/bench.sh
	scripts/bench_queue.sh
	scripts/bench_citus.sh

test/bench/bench_queue: test/bench/bench_queue.c
	$(UNIT_CC) -std=c99 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I$(includedir) -o $@ $< -L$(libdir) -lpq

.PHONY: bench-queue
bench-queue:
	scripts/bench_queue.sh

# ---- fuzzing the engine (clang's libFuzzer with ASan and UBSan) -----------
FUZZ_SECONDS ?= 30
test/fuzz/fuzz_engine: $(ENGINE_SRCS) test/fuzz/fuzz_engine.c $(ENGINE_HDRS)
	clang -std=c99 -g -O1 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Isrc/engine -o $@ $(ENGINE_SRCS) test/fuzz/fuzz_engine.c -lm

.PHONY: fuzz
fuzz: test/fuzz/fuzz_engine
	test/fuzz/fuzz_engine -max_total_time=$(FUZZ_SECONDS) -max_len=20000 -seed=1 -print_final_stats=1

# ---- the pg_backtest CLI ---------------------------------------------------
all: $(CLI)

CLI_SRCS = $(sort $(wildcard src/cli/*.c))
CLI_HDRS = $(wildcard src/cli/*.h)

# the CLI reports the extension's version, taken from the control file
$(CLI): $(CLI_SRCS) $(CLI_HDRS) $(EXTENSION).control
	$(CC) $(CFLAGS) -DPG_BACKTEST_VERSION='"$(EXTVERSION)"' -I$(srcdir)/src/cli -I$(includedir) -o $@ $(CLI_SRCS) $(LDFLAGS) -L$(libdir) -lpq

# The CLI's plain-C parts, tested without a server or libpq (make clitest):
# the progress line's formatting and the JSON payload scanner.  The last
# line sums both binaries' "N passed, N failed" (scripts/test.sh reads it).
CLI_TESTS = test/cli/test_progress test/cli/test_json_scan

test/cli/test_progress: test/cli/test_progress.c test/cli/check.h src/cli/progress.c src/cli/progress.h
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/cli -Itest/cli -o $@ test/cli/test_progress.c src/cli/progress.c

test/cli/test_json_scan: test/cli/test_json_scan.c test/cli/check.h src/cli/json_scan.c src/cli/json_scan.h
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/cli -Itest/cli -o $@ test/cli/test_json_scan.c src/cli/json_scan.c

.PHONY: clitest
clitest: $(CLI_TESTS)
	@test/cli/run.sh $(CLI_TESTS)

install: install-cli
.PHONY: install-cli uninstall-cli tapcheck
install-cli: $(CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(CLI) '$(DESTDIR)$(bindir)/pg_backtest'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_backtest'

# ---- TAP tests of the worker pool (need a server they start themselves) ----
# test/t/*.pl against the installed extension (make install first), each on
# nodes of its own (test/perl/PgBacktestNode.pm).  TAP_TESTS picks some:
#   make tapcheck TAP_TESTS="t/003_cancel.pl t/009_sweep_task.pl"
# PROVE_FLAGS (e.g. -j2) and PG_TEST_TIMEOUT_DEFAULT reach prove.
TAP_TESTS ?=
tapcheck:
	PG_CONFIG='$(PG_CONFIG)' test/run_tap.sh $(TAP_TESTS)
