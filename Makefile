# weft: one Makefile for the CLI (tracer/ store/ ui/), the preload library
# (preload/), tests and benchmarks.  `make` builds build/bin/weft and
# build/lib/weft/libweft.so; `make test` runs every test (tracer under ASan+UBSan).

VERSION    := 0.1.0
CC         ?= gcc
PREFIX     ?= /usr/local
BUILD      ?= build
OPT        ?= -O2
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -g $(OPT) -I. -DWEFT_VERSION='"$(VERSION)"' \
                 -D_GNU_SOURCE

TOOL_SRC   := $(wildcard tracer/*.c) $(filter-out tracer/cmd/gen_docs.c,$(wildcard tracer/cmd/*.c)) \
              $(wildcard store/*.c) $(wildcard ui/*.c)
# SQLite linked from Debian's own static archive (libsqlite3-dev): calls
# into it, and its calls to its own exported functions, are direct rather
# than through a shared library's PLT (perf showed sqlite3VdbeMemTooBig@plt
# among the writer's hot symbols); the writer's inserts take 8-10% less CPU
# (OpenSSL burst: weft run 2.96-3.29 s against 3.33-3.45 s, docs/DESIGN.md).
SQLITE_LIBS := -Wl,-Bstatic -lsqlite3 -Wl,-Bdynamic -lm
TOOL_LIBS  := $(SQLITE_LIBS) -lncursesw -ldw -lelf -lpthread -lm
PRELOAD_SRC := $(wildcard preload/*.c)
PRELOAD_LIBS := -ldl -lunwind -lpthread

TOOL_OBJ   = $(patsubst %.c,$(1)/obj/%.o,$(TOOL_SRC)) $(1)/obj/gen/store_sql.o

.PHONY: all deps man test bench fuzz install clean format check-format check-structure check-valgrind check-valgrind-ci test-progs \
	example hardening-bench pythons FORCE

all: deps $(BUILD)/bin/weft $(BUILD)/lib/weft/libweft.so $(BUILD)/lib/weft/weft_sqlite.so man test-progs

deps:
	@scripts/deps.sh

# CPython 3.13, 3.14 and 3.15 (Debian sid's) under /opt/weft-pythons/sid, for the tests.
pythons:
	@scripts/pythons.sh

# ---- the CLI -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

# The SQL of the schema and the views (store/sql/*.sql) is embedded as C
# strings, one per file: store/sql/NAME.sql is store_NAME_sql (store_schema.h).
STORE_SQL  := $(sort $(wildcard store/sql/*.sql))
$(BUILD)/gen/store_sql.c: $(STORE_SQL)
	@mkdir -p $(dir $@)
	{ echo '/* Generated from store/sql/ by the Makefile. */'; \
	  echo '#include "store/store_schema.h"'; \
	  for f in $(STORE_SQL); do \
	    echo "const char store_$$(basename $$f .sql)_sql[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $$f; \
	    echo ';'; done; } >$@

$(BUILD)/obj/gen/store_sql.o: $(BUILD)/gen/store_sql.c store/store_schema.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

$(BUILD)/bin/weft: $(call TOOL_OBJ,$(BUILD))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $^ -o $@ $(TOOL_LIBS)

# ---- man pages and bash completion, made from the verbs' option tables ----
# (tracer/cmd/): `man -l build/man/weft-run.1` reads one before installing.
MAN_DIR    := $(BUILD)/man
COMPLETION := $(BUILD)/completion/weft
GEN_DOCS   := $(BUILD)/gen/gen_docs

man: $(MAN_DIR)/weft.1 $(COMPLETION)

$(GEN_DOCS): tracer/cmd/gen_docs.c $(filter-out $(BUILD)/obj/tracer/main.o,$(call TOOL_OBJ,$(BUILD)))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $^ -o $@ $(TOOL_LIBS)

# One run writes every page; weft.1 stands for them all.
$(MAN_DIR)/weft.1: $(GEN_DOCS)
	@mkdir -p $(MAN_DIR)
	rm -f $(MAN_DIR)/*.1
	$(GEN_DOCS) man $(MAN_DIR)

$(COMPLETION): $(GEN_DOCS)
	@mkdir -p $(dir $@)
	$(GEN_DOCS) bash $@

# ---- the preload library (never sanitized: it runs inside the traced program)
$(BUILD)/lib/weft/libweft.so: $(PRELOAD_SRC) $(wildcard preload/*.h) $(BUILD)/gen/python_boot.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -flto=auto -fPIC -shared -fvisibility=hidden -ftls-model=initial-exec \
	    -fno-omit-frame-pointer $(PRELOAD_SRC) $(BUILD)/gen/python_boot.c -o $@ -Wl,--no-undefined \
	    -Wl,-z,nodelete $(PRELOAD_LIBS)

# ---- object_holds for any SQLite client: `.load build/lib/weft/weft_sqlite` (docs/DERIVED.md)
$(BUILD)/lib/weft/weft_sqlite.so: store/store_holdchunks.c store/store_holdchunks.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -fPIC -shared -fvisibility=hidden -DWEFT_SQLITE_EXTENSION $< -o $@

# ---- the same CLI under AddressSanitizer + UBSan, for the tests ------------
ASAN       := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(ASAN)/obj/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) -c $< -o $@

$(ASAN)/obj/gen/store_sql.o: $(BUILD)/gen/store_sql.c store/store_schema.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) -c $< -o $@

$(ASAN)/bin/weft: $(call TOOL_OBJ,$(ASAN))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(ASAN_FLAGS) $^ -o $@ $(TOOL_LIBS)

$(ASAN)/lib/weft/libweft.so: $(BUILD)/lib/weft/libweft.so
	@mkdir -p $(dir $@)
	cp $< $@

# ---- test and benchmark programs -------------------------------------------
TEST_PROGS := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/*.c)) \
	      $(patsubst tests/c/%.cpp,$(BUILD)/tests/%,$(wildcard tests/c/*.cpp))
UNIT_PROGS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
EXAMPLE_PROGS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

test-progs: $(TEST_PROGS) $(BENCH_PROGS) $(EXAMPLE_PROGS)

$(BUILD)/tests/%: tests/c/%.c preload/wire.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -g -O1 -I. -rdynamic -no-pie $< -o $@ -lpthread

# C++ programs: what users' std::mutex, std::shared_mutex and lambdas look like.
$(BUILD)/tests/%: tests/c/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++17 -Wall -Wextra -g -O1 -no-pie $< -o $@ -lpthread

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -g -O1 $< -o $@ -lpthread

# gen_trace writes traces through the store's own modules: it links them.
STORE_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard store/*.c)) $(BUILD)/obj/gen/store_sql.o
$(BUILD)/bench/gen_trace: bench/gen_trace.c $(STORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(STORE_OBJ) -o $@ -lpthread $(SQLITE_LIBS)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -g -O2 -I. $< -o $@ -lpthread $(SQLITE_LIBS)

# Unit tests link the tool's modules (minus main) under the sanitizers.
UNIT_OBJ = $(filter-out $(ASAN)/obj/tracer/main.o,$(call TOOL_OBJ,$(ASAN)))
$(BUILD)/unit/%: tests/unit/%.c $(call TOOL_OBJ,$(ASAN))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) $< $(UNIT_OBJ) -o $@ $(TOOL_LIBS)

# The test command sets up what it needs too: sid's CPython 3.13-3.15 (a failed
# download is one line; their tests are then skipped by name).
test: all $(ASAN)/bin/weft $(ASAN)/lib/weft/libweft.so $(UNIT_PROGS)
	@scripts/pythons.sh >/dev/null 2>/tmp/weft-pythons.log || \
	    echo "make test: CPython 3.13-3.15 from sid not installed (/tmp/weft-pythons.log); their tests are skipped"
	@BUILD=$(BUILD) tests/run.sh

bench: all
	@BUILD=$(BUILD) bench/run.sh

fuzz: all
	@BUILD=$(BUILD) tests/fuzz/run.sh

hardening-bench: all
	@BUILD=$(BUILD) bench/hardening_bench.sh

check-valgrind: all
	@BUILD=$(BUILD) WEFT_VALGRIND=1 tests/run.sh

# The part of check-valgrind CI runs (the whole target takes too long for its
# 90 minutes next to `make test`): every CLI verb on real, crashed, killed and
# hostile traces. Left to the full target: faults, real programs, Python
# interpreters, the viewer in tmux, hostile arguments, deadlocks.
VALGRIND_CI_TESTS ?= integration/test_trace_core integration/test_badinput \
	integration/test_fuzz_regressions integration/test_report integration/test_query \
	integration/test_export integration/test_findings

check-valgrind-ci: all
	@BUILD=$(BUILD) WEFT_VALGRIND=1 tests/run.sh $(VALGRIND_CI_TESTS)

example: all
	$(BUILD)/bin/weft run -o example.db -- $(BUILD)/examples/bank
	$(BUILD)/bin/weft report example.db

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/weft
	install -m 755 $(BUILD)/bin/weft $(DESTDIR)$(PREFIX)/bin/weft
	install -m 644 $(BUILD)/lib/weft/libweft.so $(DESTDIR)$(PREFIX)/lib/weft/libweft.so
	install -m 644 $(BUILD)/lib/weft/weft_sqlite.so $(DESTDIR)$(PREFIX)/lib/weft/weft_sqlite.so
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/weft

FORMAT_FILES = $(wildcard */*.c */*.h tracer/cmd/*.[ch] tests/*/*.c)
format:
	clang-format -i $(FORMAT_FILES)

# .ci/run: every C file as .clang-format wants it (tables and SQL sit in clang-format off).
check-format:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "check-format: $(words $(FORMAT_FILES)) files formatted"

# .ci/run: no two files that call each other, no function over 150 lines
# (docs/ARCHITECTURE.md), read from the tool's objects and the preload's sources.
check-structure: $(call TOOL_OBJ,$(BUILD))
	@scripts/check-structure.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# The Python bootstrap is embedded into libweft.so as a C string, and as
# code compiled by each CPython found here (Debian's, pyenv's 3.10-3.13,
# scripts/pythons.sh's 3.14 and 3.15, python3 on PATH): a traced
# interpreter with a matching magic number loads that instead of compiling
# the source at every start (0.2 ms against 15).
BOOT_PYTHONS = $(sort $(wildcard /usr/bin/python3.1[0-9] /opt/weft-pythons/sid/bin/python3.1[0-9] $(shell pyenv root 2>/dev/null)/versions/3.1[0-9]*/bin/python3.1[0-9]) $(shell command -v python3 2>/dev/null))
# The interpreters found, as a file that changes only when they do: one
# installed after a build (scripts/pythons.sh) gets its blob at the next
# make, not the 15 ms compile at every start it would otherwise cost.
$(BUILD)/gen/boot_pythons: FORCE
	@mkdir -p $(dir $@)
	@echo '$(BOOT_PYTHONS)' | cmp -s - $@ || echo '$(BOOT_PYTHONS)' >$@
FORCE:
$(BUILD)/gen/python_boot.c: preload/python_boot.py preload/boot_blob.py $(BUILD)/gen/boot_pythons
	@mkdir -p $(dir $@)
	{ echo '/* Generated from preload/python_boot.py by the Makefile. */'; \
	  echo 'const char weft_python_boot[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; \
	  echo '#include "preload/preload.h"'; \
	  echo 'const struct weft_boot_blob weft_boot_blobs[] = {'; \
	  seen=; for py in $(BOOT_PYTHONS); do \
	    m=$$($$py -c 'import importlib._bootstrap_external as e; print(int.from_bytes(e.MAGIC_NUMBER, "little"))' 2>/dev/null) || continue; \
	    case " $$seen " in *" $$m "*) continue;; esac; seen="$$seen $$m"; \
	    $$py preload/boot_blob.py $< 2>/dev/null || true; done; \
	  echo '	{0, 0, 0}};'; } >$@
