# pg_backtest — PGXS build.  The version lives only in pg_backtest.control.
EXTENSION  = pg_backtest
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = pg_backtest

# The engine: plain C99, no PostgreSQL headers (unit-tested without a server)
ENGINE_SRCS = $(sort $(wildcard src/engine/*.c))
# The PostgreSQL glue
PG_SRCS     = $(sort $(wildcard src/pg/*.c src/pg/worker/*.c))
OBJS        = $(ENGINE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# Install scripts.  sql/pg_backtest.sql creates the first release
# ($(BASE_VERSION)); each later release adds a step script
# sql/pg_backtest--<from>--<to>.sql.  The full script of a version is the base
# followed by every step script, so a fresh install and an upgrade create the
# same objects by construction.  (Step scripts are sorted by name: keep
# versions sortable.)
BASE_VERSION = 0.1.0
UPGRADES    = $(sort $(wildcard sql/$(EXTENSION)--*--*.sql))
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
ifneq ($(EXTVERSION),$(BASE_VERSION))
DATA_built += sql/$(EXTENSION)--$(BASE_VERSION).sql
endif
DATA        = $(UPGRADES)

# Regression tests: every sql/*.sql that is not an install or upgrade script
REGRESS     = $(sort $(filter-out $(EXTENSION) $(EXTENSION)--% nopreload,$(basename $(notdir $(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

EXTRA_CLEAN = $(DATA_built) test/unit/run_unit_tests test/bench/bench_engine test/bench/bench_queue test/fuzz/fuzz_engine $(CLI)

# The command-line client (libpq), installed next to psql
CLI = src/cli/pg_backtest

PG_CPPFLAGS = -I$(srcdir)/src/engine
PG_CFLAGS  += -std=gnu99

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql $(UPGRADES) $(EXTENSION).control
	cat sql/$(EXTENSION).sql $(UPGRADES) > $@

ifneq ($(EXTVERSION),$(BASE_VERSION))
sql/$(EXTENSION)--$(BASE_VERSION).sql: sql/$(EXTENSION).sql
	cp $< $@
endif

# ---- engine unit tests (no server) --------------------------------------
UNIT_CC      ?= cc
UNIT_CFLAGS  ?= -std=c99 -O2 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L
UNIT_SRCS    = $(sort $(wildcard test/unit/*.c))

test/unit/run_unit_tests: $(ENGINE_SRCS) $(UNIT_SRCS) $(wildcard src/engine/*.h) test/unit/unit.h
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/engine -Itest/unit -o $@ $(ENGINE_SRCS) $(UNIT_SRCS) -lm

.PHONY: unittest bench
unittest: test/unit/run_unit_tests
	test/unit/run_unit_tests test/data

test/bench/bench_engine: $(ENGINE_SRCS) test/bench/bench_engine.c src/engine/bt_engine.h
	$(UNIT_CC) -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Isrc/engine -o $@ $(ENGINE_SRCS) test/bench/bench_engine.c -lm

bench: test/bench/bench_engine
	scripts/bench.sh
	scripts/bench_queue.sh

test/bench/bench_queue: test/bench/bench_queue.c
	$(UNIT_CC) -std=c99 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I$(includedir) -o $@ $< -L$(libdir) -lpq

.PHONY: bench-queue
bench-queue:
	scripts/bench_queue.sh

# ---- fuzzing the engine (clang's libFuzzer with ASan and UBSan) -----------
FUZZ_SECONDS ?= 30
test/fuzz/fuzz_engine: $(ENGINE_SRCS) test/fuzz/fuzz_engine.c src/engine/bt_engine.h
	clang -std=c99 -g -O1 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Isrc/engine -o $@ $(ENGINE_SRCS) test/fuzz/fuzz_engine.c -lm

.PHONY: fuzz
fuzz: test/fuzz/fuzz_engine
	test/fuzz/fuzz_engine -max_total_time=$(FUZZ_SECONDS) -max_len=20000 -seed=1 -print_final_stats=1

# ---- the pg_backtest CLI ---------------------------------------------------
all: $(CLI)

$(CLI): src/cli/pg_backtest_cli.c
	$(CC) $(CFLAGS) -I$(includedir) -o $@ $< $(LDFLAGS) -L$(libdir) -lpq

install: install-cli
.PHONY: install-cli uninstall-cli tapcheck
install-cli: $(CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(CLI) '$(DESTDIR)$(bindir)/pg_backtest'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_backtest'

# ---- TAP tests of the worker pool (need a server they start themselves) ----
tapcheck:
	test/run_tap.sh
