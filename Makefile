# ztier — one Makefile, one set of flags.
#
# Each component directory is a static library with one public header and a
# module.mk fragment that lists its sources, programs and tests.  This file
# owns every compiler flag; the fragments only name files.
#
#   make [VARIANT=release|debug|asan]   build libraries and programs
#   make deps                           install build/test dependencies (root)
#   make test                           unit + host-kernel + VM tests (prove)
#   make unit-test                      host tests only (fast, ASan/UBSan)
#   make vm-test                        VM suite only
#   make fuzz [FUZZ_SECONDS=60]         each libFuzzer harness for that long (clang)
#   make bench | vm-bench | vm-run      benchmarks and the demo
#   make install PREFIX=/usr DESTDIR=/tmp/stage

VARIANT ?= release
PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
O       := build/$(VARIANT)

CC      ?= cc
PKGS    := liburing liblz4 libzstd libkmod libudev inih libcryptsetup smartcols
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CFLAGS_release := -O2 -g
CFLAGS_debug   := -O0 -g3
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=undefined
LDFLAGS_asan   := -fsanitize=address,undefined

CPPFLAGS := -I. -D_GNU_SOURCE -DZT_VERSION=\"$(shell cat VERSION)\" \
            -DZT_SYSCONFDIR=\"$(SYSCONFDIR)\" \
            -DZT_DATADIR=\"$(PREFIX)/share\"
CFLAGS   := -std=c11 $(WARN) $(CFLAGS_$(VARIANT)) -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  := $(LDFLAGS_$(VARIANT))
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# libFuzzer harnesses (tests/fuzz/fz_*.c): clang only, ASan+UBSan, their own
# tree (build/fuzz) since gcc's sanitizer objects do not link with clang's.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FZ           := build/fuzz
FUZZ_CFLAGS  := -std=c11 $(WARN) -O1 -g -fno-omit-frame-pointer -MMD -MP \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined

.DEFAULT_GOAL := all

# Static libraries in link order: dependents first (manager -> ublk ->
# zramctl-glue -> policy).  The fragments set SRC_<name> for each.
LIB_NAMES := ztublk ztzramctl-glue ztpolicy
LIBS      := $(foreach l,$(LIB_NAMES),$(O)/lib$(l).a)

# Filled in by the fragments.
PROGS    :=   # installed programs
TESTS_C  :=   # test sources: each becomes one TAP program (ASan build)
TESTS_REL :=  # test sources run from the release build only
TESTS_SH :=   # test scripts (executable, TAP output)
BENCHES  :=   # benchmark sources
FUZZERS  :=   # libFuzzer harness sources
MAN8     :=
MAN5     :=

include policy/module.mk zramctl-glue/module.mk ublk/module.mk manager/module.mk \
        tests/module.mk

.PHONY: run all deps test unit-test host-test vm-test bench vm-bench vm-run install clean \
        fuzz fuzz-bins
all: $(PROGS)

deps:
	.ci/install-deps

# lib_rule(name, sources[, tree]): TREE/libNAME.a from the listed sources
# (tree: build/$V, or build/fuzz for the harnesses).
define lib_rule
$(or $(3),$(O))/lib$(1).a: $(patsubst %.c,$(or $(3),$(O))/%.o,$(2))
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LIB_NAMES),$(eval $(call lib_rule,$(l),$(SRC_$(l)))))

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CFLAGS_$(<)) -c $< -o $@

# Every program and test links every library; the linker keeps what it needs.
$(O)/bin/%: $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) $(LDLIBS)

$(O)/tests/%.t: $(O)/tests/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

TEST_BINS := $(patsubst tests/%.c,$(O)/tests/%.t,$(TESTS_C))
# r_*.c tests run in the release build only (ASan defeats what they check,
# e.g. mlockall); they are built with the programs.
REL_BINS  := $(patsubst tests/%.c,build/release/tests/%.t,$(TESTS_REL))
BENCH_BINS := $(patsubst tests/%.c,$(O)/tests/%.t,$(BENCHES))

# Unit tests run in the ASan/UBSan build; the rest in release.
unit-test:
	$(MAKE) VARIANT=asan test-bins
	prove -e '' $(patsubst tests/%.c,build/asan/tests/%.t,$(TESTS_C))

test-bins: $(TEST_BINS) $(PROGS)

host-test: all $(REL_BINS)
	prove -e '' $(REL_BINS) $(filter-out tests/vm/%,$(TESTS_SH))

vm-test: all
	prove -e '' $(filter tests/vm/%,$(TESTS_SH))

# One prove run so that CI reads one summary.
test:
	$(MAKE) VARIANT=asan test-bins
	$(MAKE) all $(REL_BINS)
	prove -e '' $(patsubst tests/%.c,build/asan/tests/%.t,$(TESTS_C)) $(REL_BINS) $(TESTS_SH)

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do $$b || exit 1; done

# The harnesses link the libraries built by clang; each includes the
# manager/ source it exercises (as the unit tests do).
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FZ)/%,$(FUZZERS))
FZ_LIBS   := $(foreach l,$(LIB_NAMES),$(FZ)/lib$(l).a)
$(FZ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(CFLAGS_$(<)) -c $< -o $@
$(foreach l,$(LIB_NAMES),$(eval $(call lib_rule,$(l),$(SRC_$(l)),$(FZ))))
$(FZ)/fz_%: $(FZ)/tests/fuzz/fz_%.o $(FZ_LIBS)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $< $(FZ_LIBS) $(LDLIBS)
fuzz-bins: $(FUZZ_BINS)

# tests/fuzz/fuzz.t is also the smoke run of `make test` (a few seconds each).
fuzz: fuzz-bins
	ZT_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/fuzz.t

# The memory tables need real process memory: tests/vm/corpus dumps
# python3/perl/node heaps on the host (the guest has no interpreters).
vm-bench: all
	tests/vm/corpus build/vm/corpus.bin 256
	tests/vm/run --timeout 1800 --add tests/vm/fixtures --add tests/vm/bench-zram.sh --add tests/vm/bench-mem.sh \
		--add build/vm/corpus.bin --add build/vm/corpus.bin.txt tests/vm/bench.sh

vm-run: all
	tests/vm/run --add tests/vm/fixtures tests/vm/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	           $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/ztier/policy.d
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/)
	$(if $(MAN5),install -m 0644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	install -d $(DESTDIR)$(PREFIX)/share/ztier/examples
	install -m 0644 policy/examples/default.conf $(DESTDIR)$(PREFIX)/share/ztier/policy.d/
	install -m 0644 policy/examples/*.conf $(DESTDIR)$(PREFIX)/share/ztier/examples/
	$(INSTALL_EXTRA)

clean:
	rm -rf build

-include $(shell find build -name '*.d' -type f 2>/dev/null)

# The main job: ztierd in the foreground with the shipped settings.
run: all
	$(O)/bin/ztierd --foreground --config manager/ztier.conf \
		--policy policy/examples/default.conf
