# Coffer -- one GNU Makefile (Redis, LMDB). Debian 12 packages only.
#   make            bin/cofferd and bin/coffer
#   make test       unit tests + end-to-end tests with real clients, on the embedded store and
#                   again on PostgreSQL metadata (the README's test command)
#   make check      unit tests only
#   make run        install missing packages, build, start cofferd on ./data
#   make lint       include arrows and cycles (scripts/check-includes.sh), then cppcheck
#   make fuzz       every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS each (clang, ASan+UBSan)
#   make fault      $(BIN)-fault/cofferd: FAULT() hooks armed at run time (src/util/fault.h)
#   SAN=1           build with ASan+UBSan into build-san/ and bin-san/

CC ?= cc
LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

# BUILD/BIN may be set to keep several builds of one tree apart (e.g. BUILD=build-x BIN=bin-x).
ifeq ($(SAN),1)
BUILD ?= build-san
BIN ?= bin-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
else
BUILD ?= build
BIN ?= bin
SANFLAGS :=
OPT := -O2
endif

# The one version string: `cofferd --version` and `coffer --version` print it.
VERSION := 0.9.0
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -g $(OPT) $(SANFLAGS) \
	-Isrc -I$(LLHTTP_INC) -I/usr/include/postgresql -pthread -DCOFFER_VERSION='"$(VERSION)"'
CFLAGS ?=
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS) -MMD -MP
LDLIBS := -luv -lssl -lcrypto -lsqlite3 -lexpat -ljansson -lqrencode -lz -lisal -lpthread -lm
LDFLAGS_ALL := $(SANFLAGS) -pthread $(LDFLAGS)

LIB_SRC := $(filter-out src/main.c src/admin/coffer.c,$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
# The web dashboard's static files (src/s3/dash/: HTML template, CSS) are built into the
# binary as byte arrays (scripts/embed.sh: od and awk, deterministic).
DASH_ASSETS := $(sort $(wildcard src/s3/dash/*))
LIB_OBJ += $(BUILD)/gen/dash_assets.o
LLHTTP_OBJ := $(BUILD)/llhttp/llhttp.o $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o
LIB := $(BUILD)/libcoffer.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test check e2e e2e-pg run deps test-deps clean bench lint fuzz fuzz-build fault
all: $(BIN)/cofferd $(BIN)/coffer

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/dash_assets.c: $(DASH_ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh dash $(DASH_ASSETS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Strict mode: no lenient parsing of chunk framing, header names or line endings.
$(BUILD)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -g $(SANFLAGS) -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -w -c $< -o $@

$(LIB): $(LIB_OBJ) $(LLHTTP_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/cofferd: $(BUILD)/main.o $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(BIN)/coffer: $(BUILD)/admin/coffer.o $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LDLIBS) -lcmocka

# Unit tests: cmocka, in-process, no sockets.
check: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Fault injection: only the files with hooks (those including util/fault.h or store/md_int.h)
# are compiled again, with -DCOFFER_FAULT, into $(BUILD)/fault/; the rest comes from the normal
# library (the linker takes these objects first, so their library twins are never pulled in).
# A few seconds instead of a second build.
FAULT_SRC := $(shell grep -l -e '"util/fault.h"' -e '"store/md_int.h"' src/*/*.c)
FAULT_OBJ := $(FAULT_SRC:src/%.c=$(BUILD)/fault/%.o)

$(BUILD)/fault/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DCOFFER_FAULT -c $< -o $@

$(BIN)-fault/cofferd: $(BUILD)/main.o $(FAULT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

fault: $(BIN)-fault/cofferd

# End-to-end: real clients against a cofferd started on free loopback ports (the fault
# binary for tests/e2e/fault_test.py).
e2e: all fault
	BIN=$(BIN) FAULT_BIN=$(BIN)-fault bash tests/e2e/run.sh

# The suite again on PostgreSQL metadata (tests/e2e/run-pg.sh starts and stops its server).
e2e-pg: all fault
	BIN=$(BIN) FAULT_BIN=$(BIN)-fault bash tests/e2e/run-pg.sh

# The README's test command: everything (installing missing packages first).
test: test-deps
	$(MAKE) check
	$(MAKE) e2e
	$(MAKE) e2e-pg

# Fuzzing: each tests/fuzz/fuzz_NAME.c is a libFuzzer target seeded from tests/fuzz/corpus/NAME/.
# The library is rebuilt with clang and coverage hooks into build-fuzz/ (kept apart from build/).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz:
	$(MAKE) CC=clang SAN=1 BUILD=build-fuzz BIN=bin-fuzz CFLAGS=-fsanitize=fuzzer-no-link fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh build-fuzz/fuzz

# Static checks: the include arrows of STYLE.md with no cycles (scripts/check-includes.sh),
# then cppcheck (Debian's) over src/; either failing fails the target.
lint:
	bash scripts/check-includes.sh
	cppcheck --error-exitcode=1 --enable=warning,portability,performance --std=c11 \
		-D_GNU_SOURCE -Isrc -I$(LLHTTP_INC) --inline-suppr --quiet -j2 src

deps:
	bash scripts/deps.sh

# The tests also need a PostgreSQL server (e2e-pg).
test-deps:
	bash scripts/deps.sh --pg

run: deps
	$(MAKE) all
	bash scripts/run.sh

bench: all
	bash bench/run.sh

clean:
	rm -rf build build-san bin bin-san build-fuzz bin-fuzz bin-fault bin-san-fault

-include $(LIB_OBJ:.o=.d) $(BUILD)/main.d $(BUILD)/admin/coffer.d $(FAULT_OBJ:.o=.d)
