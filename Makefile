# libreplkv - plain GNU make. Every entry point lives here:
#   make            library (static + shared), replkv-cache, examples
#   make check      every test (installs missing Debian packages when root)
#   make demo       a local three-node cluster and a failover
#   make chaos      faults and partitions under two writers for CHAOS_SECONDS
#                   (default 120; CHAOS_SEED replays a run; tests/chaos/)
#   make bench      benchmarks, side by side with a real redis-server
#   make install    PREFIX=/usr/local LIBDIR=$(PREFIX)/lib DESTDIR=
#   make deps       install (as root) or name the Debian packages needed
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (tests/fuzz/README.md);
#                   make check runs the short fuzz-smoke
# SANITIZE=address,undefined builds into its own directory; WERROR=1 adds
# -Werror (CI sets it). The user's CFLAGS are appended, never overwritten.

VERSION := $(shell sed -n 's/^\#define REPLKV_VERSION_STRING "\(.*\)"/\1/p' include/replkv.h)
SOVERSION := 0

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3

DEPS_PKGS := libuv msgpack libxxhash libcrypto
DEB_BUILD := build-essential pkg-config libuv1-dev libmsgpack-dev libxxhash-dev libssl-dev
DEB_TEST := check redis-server redis-tools redis-sentinel python3-redis python3-pip python3-setuptools python3-wheel \
            clang libclang-rt-14-dev
DEB_ALL := $(DEB_BUILD) $(DEB_TEST)

comma := ,
ifeq ($(SANITIZE),)
BUILD := build
SANFLAGS :=
else
BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif

DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(DEPS_PKGS) 2>/dev/null)
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(DEPS_PKGS) 2>/dev/null) -lpthread
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC $(WARN) $(SANFLAGS) \
              -Iinclude -Ilib $(CFLAGS)
LIB_CFLAGS := -fvisibility=hidden -DREPLKV_BUILDING=1
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)

# replkv-cache: every file but main.c also goes into a private archive so
# that its unit tests can link the parts they test.
CACHE_SRCS := $(sort $(wildcard examples/cache/*.c))
CACHE_PART_SRCS := $(filter-out examples/cache/main.c,$(CACHE_SRCS))
CACHE_PART_OBJS := $(CACHE_PART_SRCS:%.c=$(BUILD)/%.o)
CACHE_MAIN_OBJ := $(if $(filter examples/cache/main.c,$(CACHE_SRCS)),$(BUILD)/examples/cache/main.o)

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Shared test code: helpers (tests/lib) and the simulated cluster (tests/sim)
# that the failover suites drive.
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c tests/sim/*.c))
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)

STATIC_LIB := $(BUILD)/libreplkv.a
SHARED_LIB := $(BUILD)/libreplkv.so.$(SOVERSION)
SHARED_LINK := $(BUILD)/libreplkv.so
CACHE_PARTS := $(BUILD)/libcacheparts.a
CACHE_BIN := $(if $(CACHE_MAIN_OBJ),$(BUILD)/replkv-cache)

# Keep objects between runs (make would delete them as intermediates).
.SECONDARY:

.PHONY: examples-check all lib check unit-tests integration-tests python-tests install-check \
        export-check demo chaos bench install uninstall deps deps-build clean format \
        tests fuzz fuzz-smoke fuzz-build fuzz-bins

all: lib $(CACHE_BIN) $(EXAMPLE_BINS)

lib: $(STATIC_LIB) $(SHARED_LINK)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h) include/replkv.h | deps-build
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) $(DEP_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c $(wildcard lib/*.h examples/cache/*.h tests/lib/*.h tests/sim/*.h) include/replkv.h | deps-build
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEP_CFLAGS) $(CHECK_CFLAGS) -Iexamples/cache -Itests/lib -Itests/sim -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libreplkv.so.$(SOVERSION) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(SHARED_LINK): $(SHARED_LIB)
	ln -sf libreplkv.so.$(SOVERSION) $@

$(CACHE_PARTS): $(CACHE_PART_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/replkv-cache: $(CACHE_MAIN_OBJ) $(CACHE_PARTS) $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/tests/check_cache_%: $(BUILD)/tests/unit/check_cache_%.o $(TESTLIB_OBJS) $(CACHE_PARTS) $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEP_LIBS) -lm

$(BUILD)/tests/check_%: $(BUILD)/tests/unit/check_%.o $(TESTLIB_OBJS) $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DEP_LIBS) -lm

$(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(TESTLIB_OBJS) $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(STATIC_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) -lm

tests: $(UNIT_BINS) $(TOOL_BINS)

# ------------------------------------------------------------------ tests

check: deps
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory unit-tests
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory export-check
	@$(MAKE) --no-print-directory examples-check
	@$(MAKE) --no-print-directory integration-tests
	@$(MAKE) --no-print-directory python-tests
	@$(if $(SANITIZE),echo "install-check: skipped in a SANITIZE build (it checks packaging)",$(MAKE) --no-print-directory install-check)
	@echo "make check: all passed"

# ThreadSanitizer: stop at the first report, with the suppressions that
# tests/tsan.supp explains, and no fork in Check (TSan and fork after
# threads do not mix).
ifneq ($(findstring thread,$(SANITIZE)),)
export TSAN_OPTIONS := halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp
export CK_FORK := no
TSAN_BUILD := 1
endif

unit-tests: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CK_DEFAULT_TIMEOUT=120 $$t; done

INTEGRATION_TESTS := $(sort $(wildcard tests/integration/test_*.sh))
INTEGRATION_PY := $(sort $(wildcard tests/integration/test_*.py))
integration-tests: all $(TOOL_BINS)
	@set -e; for t in $(INTEGRATION_TESTS); do echo "== $$t"; \
	    BUILD=$(BUILD) bash $$t; done; \
	for t in $(INTEGRATION_PY); do echo "== $$t"; \
	    BUILD=$(BUILD) $(PYTHON) $$t; done; \
	echo "== tests/chaos/chaos.py (CHAOS_SECONDS=60)"; \
	BUILD=$(BUILD) CHAOS_SECONDS=60 $(PYTHON) tests/chaos/chaos.py

# A sanitized library loaded by an unsanitized python needs the ASan runtime
# preloaded; python's own allocations are not ours to leak-check.
ifneq ($(findstring address,$(SANITIZE)),)
PY_SANENV := LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0
endif

python-tests: lib
	@if [ -n "$(TSAN_BUILD)" ]; then echo "python-tests: skipped in a ThreadSanitizer build (python cannot load a TSan library)"; \
	elif [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1; then \
	    echo "== python3 -m unittest (tests/python)"; \
	    $(PY_SANENV) REPLKV_LIBRARY=$(abspath $(SHARED_LIB)) PYTHONPATH=$(CURDIR)/bindings/python \
	    $(PYTHON) -m unittest discover -s tests/python -t tests/python -v; \
	fi

# Every example must build and run: they are what users copy first.
examples-check: $(EXAMPLE_BINS) lib
	@set -e; for e in $(EXAMPLE_BINS); do echo "== $$e"; $$e; done; \
	for e in $(if $(TSAN_BUILD),,$(sort $(wildcard examples/*.py))); do echo "== $$e"; \
	    $(PY_SANENV) REPLKV_LIBRARY=$(abspath $(SHARED_LIB)) PYTHONPATH=$(CURDIR)/bindings/python \
	    $(PYTHON) $$e; done

# The shared library must export replkv_* and nothing else.
export-check: $(SHARED_LIB)
	@bad=$$(nm -D --defined-only $(SHARED_LIB) | awk '$$2 ~ /[TDBRVW]/ {print $$3}' \
	        | grep -v '^replkv_' | grep -v '^_' || true); \
	if [ -n "$$bad" ]; then echo "export-check: unexpected exports: $$bad"; exit 1; fi; \
	n=$$(nm -D --defined-only $(SHARED_LIB) | grep -c ' replkv_'); \
	echo "export-check: $$n symbols, all replkv_*"

# Installs into a temporary DESTDIR and builds examples/hello.c the way a user
# would, with pkg-config, against the shared and then the static library.
install-check: lib
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install DESTDIR=$$tmp PREFIX=/usr/local >/dev/null; \
	pc=$$tmp/usr/local/lib/pkgconfig; \
	export PKG_CONFIG_PATH=$$pc PKG_CONFIG_SYSROOT_DIR=$$tmp; \
	cflags=$$($(PKG_CONFIG) --cflags replkv); libs=$$($(PKG_CONFIG) --libs replkv); \
	slibs=$$($(PKG_CONFIG) --libs --static replkv | sed 's/-lreplkv/-l:libreplkv.a/'); \
	for ex in hello replicas failover; do \
	    $(CC) -std=c11 -Wall -Werror examples/$$ex.c $$cflags $$libs -o $$tmp/$$ex-shared; \
	    LD_LIBRARY_PATH=$$tmp/usr/local/lib $$tmp/$$ex-shared >$$tmp/$$ex-out-shared \
	        || { echo "install-check: $$ex (shared) failed"; cat $$tmp/$$ex-out-shared; exit 1; }; \
	    $(CC) -std=c11 -Wall -Werror examples/$$ex.c $$cflags $$slibs -o $$tmp/$$ex-static; \
	    if ldd $$tmp/$$ex-static | grep -q libreplkv; then echo "install-check: static $$ex links libreplkv.so"; exit 1; fi; \
	    $$tmp/$$ex-static >$$tmp/$$ex-out-static \
	        || { echo "install-check: $$ex (static) failed"; cat $$tmp/$$ex-out-static; exit 1; }; \
	done; \
	grep -q 'hello' $$tmp/hello-out-shared && cmp -s $$tmp/hello-out-shared $$tmp/hello-out-static; \
	echo "install-check: pkg-config consumers (hello, replicas, failover) built and ran, shared and static"; \
	$(PYTHON) -m pip install -q --no-build-isolation --no-deps --no-index \
	    --target $$tmp/py ./bindings/python >$$tmp/pip.log 2>&1 || { cat $$tmp/pip.log; exit 1; }; \
	rm -rf bindings/python/build; \
	REPLKV_LIBRARY=$$tmp/usr/local/lib/libreplkv.so PYTHONPATH=$$tmp/py \
	    $(PYTHON) -m unittest discover -s tests/python -t tests/python >$$tmp/py.log 2>&1 \
	    || { cat $$tmp/py.log; exit 1; }; \
	echo "install-check: pip-installed binding passed its tests on the installed library ($$(tail -3 $$tmp/py.log | grep -o 'Ran [0-9]* tests'))"

# ------------------------------------------------------------------ fuzz

# libFuzzer targets, tests/fuzz/fuzz_<name>.c (see tests/fuzz/README.md).
# Built with clang against the library sources, instrumented for coverage
# with ASan and UBSan, into build/fuzz/ (never into $(BUILD)). Each target
# links the library objects it needs from an archive, and the replkv-cache
# files listed for it below.
#   make fuzz        every target for FUZZ_SECONDS (default 60) each; new
#                    inputs go to build/fuzz/corpus/<name>, crashes to
#                    build/fuzz/artifacts/<name>/
#   make fuzz-smoke  every target over its committed seeds plus
#                    FUZZ_SMOKE_SECONDS (default 8) of fuzzing
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_OPTS ?=
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -Iinclude -Ilib \
              -Iexamples/cache -Itests/fuzz $(DEP_CFLAGS)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB := $(FUZZ_DIR)/libreplkv-fuzz.a
# An empty target links when clang has no libFuzzer runtime (Debian:
# libclang-rt-14-dev); otherwise the fuzz steps skip with this message.
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
    | $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1
FUZZ_SKIP := fuzz: skipped: $(FUZZ_CC) cannot link -fsanitize=fuzzer (run 'make deps' for clang and libclang-rt-14-dev)

$(FUZZ_DIR)/%.o: %.c $(wildcard lib/*.h examples/cache/*.h tests/fuzz/*.h) include/replkv.h | deps-build
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $(filter %.o,$^) $(FUZZ_LIB) $(DEP_LIBS) -lm

# The replkv-cache parts a target needs besides the library.
$(FUZZ_DIR)/fuzz_resp: $(patsubst %,$(FUZZ_DIR)/examples/cache/%.o,resp util)
$(FUZZ_DIR)/fuzz_conf: $(patsubst %,$(FUZZ_DIR)/examples/cache/%.o,conf conf_load conf_sentinel resp util)

fuzz-build:
	@if $(FUZZ_PROBE); then $(MAKE) --no-print-directory fuzz-bins; \
	else echo "$(FUZZ_SKIP)"; fi

fuzz-bins: $(FUZZ_BINS)
	@:

# Runs each target on its scratch corpus (first directory: new inputs land
# there) and the committed seeds (read only).
fuzz: fuzz-build
	@$(FUZZ_PROBE) || exit 0; set -e; for t in $(FUZZ_NAMES); do \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ $(FUZZ_OPTS) \
	        $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t 2>$(FUZZ_DIR)/fuzz_$$t.log \
	        || { tail -60 $(FUZZ_DIR)/fuzz_$$t.log; exit 1; }; \
	    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec)|cov:' \
	        $(FUZZ_DIR)/fuzz_$$t.log | tail -3; \
	done

# Seeds first (-runs over the committed corpus alone), then a short run on
# a throw-away corpus; fails on any crash, leak or sanitizer report.
fuzz-smoke: fuzz-build
	@$(FUZZ_PROBE) || exit 0; set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for t in $(FUZZ_NAMES); do \
	    mkdir -p $$tmp/$$t; \
	    $(FUZZ_DIR)/fuzz_$$t -runs=0 -artifact_prefix=$$tmp/ tests/fuzz/corpus/$$t \
	        >$$tmp/$$t.log 2>&1 || { cat $$tmp/$$t.log; exit 1; }; \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SMOKE_SECONDS) -timeout=20 \
	        -artifact_prefix=$$tmp/ $$tmp/$$t tests/fuzz/corpus/$$t \
	        >>$$tmp/$$t.log 2>&1 || { tail -60 $$tmp/$$t.log; exit 1; }; \
	    echo "fuzz-smoke: fuzz_$$t: $$(ls tests/fuzz/corpus/$$t | wc -l) seeds," \
	        "$$(grep -o 'cov: [0-9]*' $$tmp/$$t.log | tail -1), no crash"; \
	done

# ------------------------------------------------------------------ demo, bench

# Three replkv-cache nodes with failover on: writes, a SIGKILLed primary,
# the new primary, the old one rejoining (needs redis-cli: make deps).
demo: deps $(CACHE_BIN)
	@bash tests/integration/demo.sh $(BUILD)

chaos: all $(TOOL_BINS)
	@BUILD=$(BUILD) $(PYTHON) tests/chaos/chaos.py

bench: deps all $(BENCH_BINS)
	@bash tests/bench/run.sh $(BUILD)

# ------------------------------------------------------------------ install

replkv.pc: pkgconfig/replkv.pc.in include/replkv.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@REQUIRES@|$(DEPS_PKGS)|g' $< > $(BUILD)/replkv.pc

install: lib $(CACHE_BIN)
	@$(MAKE) --no-print-directory replkv.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 644 include/replkv.h $(DESTDIR)$(INCLUDEDIR)/replkv.h
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libreplkv.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libreplkv.so.$(SOVERSION)
	ln -sf libreplkv.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libreplkv.so
	install -m 644 $(BUILD)/replkv.pc $(DESTDIR)$(PKGCONFIGDIR)/replkv.pc
	$(if $(CACHE_BIN),install -m 755 $(CACHE_BIN) $(DESTDIR)$(BINDIR)/replkv-cache)

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/replkv.h $(DESTDIR)$(LIBDIR)/libreplkv.a \
	      $(DESTDIR)$(LIBDIR)/libreplkv.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libreplkv.so \
	      $(DESTDIR)$(PKGCONFIGDIR)/replkv.pc $(DESTDIR)$(BINDIR)/replkv-cache

# ------------------------------------------------------------------ deps

# Installs the missing Debian packages when run as root; otherwise prints the
# exact command and stops.
deps:
	@missing=$$(for p in $(DEB_ALL); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || printf '%s ' $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	    echo "deps: missing Debian packages; run:"; \
	    echo "  sudo apt-get install $$missing"; exit 1; \
	fi

# Build-only prerequisites, checked cheaply before compiling anything.
deps-build:
	@$(PKG_CONFIG) --exists $(DEPS_PKGS) || { echo "missing build dependencies; run 'make deps' as root or: sudo apt-get install $(DEB_BUILD)"; exit 1; }

format:
	clang-format -i include/*.h lib/*.[ch] examples/*.c examples/cache/*.[ch] tests/*/*.[ch]

clean:
	rm -rf build
