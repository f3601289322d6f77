# gcscope — read a CPython process's heap from the outside.
#
#   make            build build/gcscope
#   make deps       install the system packages the build and tests need
#   make demo       run a leaky program, snapshot its core, show what is in it
#   make test       build and run every test under pytest; ends with its
#                   summary line ("== 266 passed in 418.91s (0:06:58) ==")
#   make bench      snapshot synthetic heaps of three sizes; print the figures
#   make fuzz       run each fuzz target (tests/fuzz) for FUZZ_SECONDS (600)
#   make layout-tables  write the built-in layout tables of each supported
#                   CPython version (analyzer/cpython/tables/) from the
#                   DWARF of its pyenv build
#   make clean      remove build/
#
# Knobs:
#   CC, CFLAGS, LDFLAGS   the usual; CFLAGS defaults to -g -O2 -Wall -Wextra
#   PKG_CONFIG            pkg-config to ask for libdw, libelf and sqlite3
#   SANITIZE=1            build with AddressSanitizer and UBSan into build/sanitize;
#                         a sanitizer report exits with status 86
#                         (make test SANITIZE=1 runs the suite against it)
#   V=1                   show full commands
#   PYTHON                interpreter for the tests, with pytest and pytest-xdist
#                         (/usr/bin/python3)
#   TEST_JOBS             pytest-xdist workers make test runs (2)
#   TEST_ARGS             more pytest options for make test: TEST_ARGS='-k census'
#   FUZZ_CC               compiler with libFuzzer for the fuzz targets (clang)
#   FUZZ_SECONDS          how long make fuzz runs each target
#
# Installation (make install, make uninstall):
#   PREFIX      where to install (/usr/local): PREFIX/bin/gcscope and the gdb
#               commands in PREFIX/share/gcscope/gdbext/
#   DESTDIR     a staging root prepended to every installed path (packagers)
#   GDBINITDIR  gdb's system-wide init directory, which gets gcscope.gdb, a
#               one-line script that loads the gdb commands in every gdb
#               session; by default what 'gdb --configuration' says
#               (--with-system-gdbinit-dir; Debian: /etc/gdb/gdbinit.d);
#               empty: not installed (then see README.md, "gdb commands")

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -g -O2 -Wall -Wextra
PYTHON ?= /usr/bin/python3
BUILD ?= build
# libFuzzer builds are always sanitized: one place for both kinds of run.
FUZZ_BUILD := $(BUILD)/fuzz
# A sanitized build goes beside the normal one, never mixed with it.
ifeq ($(SANITIZE),1)
BUILD := $(BUILD)/sanitize
endif

# Asked when a recipe runs, not when make starts: in 'make deps demo' the
# packages are installed by the first goal, after make has read this file.
PKGS := libdw libelf sqlite3
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread $(CFLAGS) $(DEP_CFLAGS) -iquote analyzer
# A sanitizer report exits with 86 (analyzer/util/sanitize.c, which
# GCSCOPE_SANITIZE turns on), never with a status gcscope itself uses.
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DGCSCOPE_SANITIZE
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# analyzer/: one folder per stage of the pipeline (README, "Layout"), and
# the generated built-in layout tables in analyzer/cpython/tables/.
LAYOUT_TABLES := $(wildcard analyzer/cpython/tables/*.c)
SRCS := $(wildcard analyzer/*/*.c) $(LAYOUT_TABLES)
HDRS := $(wildcard analyzer/*/*.h)
OBJS := $(SRCS:analyzer/%.c=$(BUILD)/obj/%.o) $(BUILD)/schema.o
# The command line (cli/) is the program; the rest is linked into the tests.
CLI_OBJS := $(filter $(BUILD)/obj/cli/%,$(OBJS))
LIB_OBJS := $(filter-out $(CLI_OBJS),$(OBJS))
SCHEMA := $(sort $(wildcard schema/*.sql))

# tests/unit/*.c run on their own; tests/checks/*.c are driven by the
# integration tests, which hand them the interpreters' files.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*.c))
CHECKS := $(patsubst tests/checks/%.c,$(BUILD)/checks/%,$(wildcard tests/checks/*.c))

# Fuzz targets: tests/fuzz/fuzz_*.c. Each is built twice: with libFuzzer
# (clang, ASan, UBSan) into build/fuzz/NAME, and with a plain driver that
# replays files (tests/fuzz/replay.c) into $(BUILD)/fuzz-replay/NAME, which
# make test runs over the committed corpus in any build.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DGCSCOPE_SANITIZE
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread -g -O1 -Wall -Wextra \
	$(DEP_CFLAGS) -iquote analyzer -iquote tests/fuzz $(FUZZ_SAN)
FUZZ_OBJS := $(filter-out $(FUZZ_BUILD)/obj/cli/%,\
	$(SRCS:analyzer/%.c=$(FUZZ_BUILD)/obj/%.o)) $(FUZZ_BUILD)/obj/image.o
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)

all: $(BUILD)/gcscope

$(BUILD)/gcscope: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

$(BUILD)/obj/%.o: analyzer/%.c $(HDRS) | $(BUILD)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The schema is compiled in: the analyzer writes exactly what schema/ says.
$(BUILD)/schema.c: $(SCHEMA) | $(BUILD)
	@echo "  GEN     $@"
	$(Q)( echo 'const char gcscope_schema[] ='; \
	  for f in $(SCHEMA); do echo "-- @file $$f"; cat $$f; done | \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	    -e 's/^/"/' -e 's/$$/\\n"/'; \
	  echo ';' ) > $@

$(BUILD)/schema.o: $(BUILD)/schema.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

# The decoders' tests lay out objects in memory images (tests/fuzz/image.c).
$(BUILD)/tests/decode_test: tests/fuzz/image.c
$(BUILD)/tests/typecheck_test: tests/fuzz/image.c

# The command table's test links the commands, all but main().
$(BUILD)/tests/help_test: tests/unit/help_test.c \
		$(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJS)) $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

$(BUILD)/checks/%: tests/checks/%.c $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/checks
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

$(FUZZ_BUILD)/obj/%.o: analyzer/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/image.o: tests/fuzz/image.c tests/fuzz/image.h
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_OBJS) $(FUZZ_BUILD)/obj/schema.o
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEP_LIBS) -lm

$(FUZZ_BUILD)/obj/schema.o: $(BUILD)/schema.c
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/image.c \
		$(LIB_OBJS) | $(BUILD)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -iquote tests/fuzz $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

# The heap target's seeds: written by tests/fuzz/mkseed.c, committed.
$(BUILD)/fuzz-tools/mkseed: tests/fuzz/mkseed.c tests/fuzz/image.c \
		$(LIB_OBJS) | $(BUILD)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -iquote tests/fuzz $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

fuzz-seeds: $(BUILD)/fuzz-tools/mkseed
	$(Q)rm -f tests/fuzz/corpus/heap/*.img tests/fuzz/corpus/core/*.core
	$(Q)mkdir -p tests/fuzz/corpus/heap tests/fuzz/corpus/core
	$(Q)$(BUILD)/fuzz-tools/mkseed tests/fuzz/corpus

fuzz: $(FUZZ_BINS)
	@GCSCOPE_FUZZ_BUILD=$(FUZZ_BUILD) $(PYTHON) tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

$(BUILD):
	@mkdir -p $(BUILD)

# Debian packages: the build (compiler, elfutils, SQLite; clang for the
# fuzz targets), the tests (gdb for gcore, Python with its debug symbols,
# libraries with C types of their own for the healthy programs) and the
# demo (sqlite3 CLI).
DEPS := build-essential clang pkg-config libdw-dev libelf-dev libsqlite3-dev \
	sqlite3 gdb elfutils strace python3 python3-dev python3.11 python3.11-dbg \
	python3-pytest python3-pytest-xdist python3-numpy python3-lxml \
	python3-sqlalchemy python3-yaml

# The built-in layout tables, analyzer/cpython/tables/3_N.c, printed from
# the DWARF of the pyenv builds of each version gcscope supports (its
# registry, analyzer/cpython/version.c, as gcscope layout --supported says;
# needs them installed; the tests check the committed tables against every
# installed interpreter).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
# They are written by a gcscope whose tables are not checked against
# layout.h (LAYOUT_TABLES_UNCHECKED): the tables it replaces may be the
# ones that stop the normal build.
LAYOUT_GEN := $(BUILD)/layout-gen
TABLE_OBJS := $(LAYOUT_TABLES:analyzer/%.c=$(BUILD)/obj/%.o)

$(LAYOUT_GEN)/%.o: analyzer/cpython/tables/%.c $(HDRS) | $(BUILD)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -DLAYOUT_TABLES_UNCHECKED -c -o $@ $<

$(LAYOUT_GEN)/gcscope: $(filter-out $(TABLE_OBJS),$(OBJS)) \
		$(LAYOUT_TABLES:analyzer/cpython/tables/%.c=$(LAYOUT_GEN)/%.o)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm -pthread

layout-tables: $(LAYOUT_GEN)/gcscope
	$(Q)set -e; for v in $$($(LAYOUT_GEN)/gcscope layout --supported); do \
	  lib=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/lib/libpython$$v*.so.1.0 \
	    2>/dev/null | sort -V | tail -n 1); \
	  if [ -z "$$lib" ]; then \
	    echo "no pyenv build of Python $$v in $(PYENV_ROOT)" >&2; exit 1; \
	  fi; \
	  build=$$(echo $$lib | sed 's|.*/versions/\([^/]*\)/.*|\1|'); \
	  out=analyzer/cpython/tables/3_$${v#3.}.c; \
	  $(LAYOUT_GEN)/gcscope layout $$lib > $$out.new; \
	  sed -i "s|^\t\.from = \"|\t.from = \"pyenv $$build |" $$out.new; \
	  mv $$out.new $$out; \
	  echo "  GEN     $$out"; \
	done

PREFIX ?= /usr/local
GDB ?= gdb
GDBINITDIR ?= $(shell $(GDB) --configuration 2>/dev/null | \
	sed -n 's/.*--with-system-gdbinit-dir=\([^ ]*\).*/\1/p')
GDBEXT_DIR = $(PREFIX)/share/gcscope/gdbext

install: $(BUILD)/gcscope
	rm -rf $(DESTDIR)$(GDBEXT_DIR)/gcscope_gdb
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(GDBEXT_DIR)/gcscope_gdb
	install -m 755 $(BUILD)/gcscope $(DESTDIR)$(PREFIX)/bin/gcscope
	install -m 644 gdbext/gcscope.py $(DESTDIR)$(GDBEXT_DIR)/gcscope.py
	install -m 644 gdbext/gcscope_gdb/*.py $(DESTDIR)$(GDBEXT_DIR)/gcscope_gdb/
	$(Q)if [ -n "$(GDBINITDIR)" ]; then \
		install -d $(DESTDIR)$(GDBINITDIR) && \
		echo 'source $(GDBEXT_DIR)/gcscope.py' \
			> $(DESTDIR)$(GDBINITDIR)/gcscope.gdb && \
		echo "  gdb loads the py- commands by itself: $(GDBINITDIR)/gcscope.gdb"; \
	else \
		echo "  to load the py- commands in gdb, add to ~/.gdbinit:"; \
		echo "  source $(GDBEXT_DIR)/gcscope.py"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/gcscope
	rm -rf $(DESTDIR)$(PREFIX)/share/gcscope
	$(Q)if [ -n "$(GDBINITDIR)" ]; then rm -f $(DESTDIR)$(GDBINITDIR)/gcscope.gdb; fi

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get update -q && \
	$$SUDO apt-get install -y -q --no-install-recommends $(DEPS)

demo: all
	@$(PYTHON) tests/demo.py

bench: all
	@$(PYTHON) tests/bench.py $(BENCH_SIZES)

# The tests run under pytest (tests/conftest.py), in TEST_JOBS pytest-xdist
# workers; TEST_ARGS adds options, e.g. make test TEST_ARGS='-k snapshot',
# or names the tests to run in place of all of them:
# make test TEST_ARGS=tests/integration/test_live.py.
TEST_JOBS ?= 2
TEST_ARGS ?=
# The libFuzzer targets are built where clang is installed, asked when the
# recipe runs: in 'make deps test' make deps installs it first.
test: all $(UNIT_TESTS) $(CHECKS) $(REPLAY_BINS)
	$(Q)if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(FUZZ_BINS); fi
	@GCSCOPE_BUILD=$(abspath $(BUILD)) GCSCOPE_FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) FUZZ_CC=$(FUZZ_CC) \
		$(PYTHON) -m pytest -n $(TEST_JOBS) --dist loadgroup $(TEST_ARGS) \
		$(if $(filter tests/%,$(TEST_ARGS)),,tests)

clean:
	rm -rf $(BUILD)

.PHONY: all deps demo test bench clean layout-tables install uninstall \
	fuzz fuzz-seeds
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_BUILD)/obj/schema.o
