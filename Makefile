# proxy: a GDB-debuggable KVM hypervisor for HermitCore unikernels.
#
#   make            build ./proxy and the test guests
#   make check      unit + integration + GDB tests (also an ASan/UBSan build)
#   make bench      benchmarks (see scripts/bench)
#   make check-realkvm   the integration suite on real (SVM) KVM nested in QEMU
#   make format     clang-format every C file

VERSION := 0.1.0
CC ?= gcc
BUILD ?= build
SAN ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DPROXY_VERSION=\"$(VERSION)\" \
	-Iinclude -Isrc -Igdbstub -MMD -MP
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS := -lelf -lreadline -lpthread

LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard gdbstub/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
PROXY_BIN := $(if $(filter build,$(BUILD)),proxy,$(BUILD)/proxy)

.PHONY: all guests unit check bench check-realkvm format format-check clean
all: $(PROXY_BIN) guests unit

$(PROXY_BIN): $(BUILD)/src/main.o $(BUILD)/libproxy.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libproxy.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libproxy.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libproxy.a $(LDLIBS)

unit: $(UNIT_BINS)

include tests/guest/guest.mk
include bench/bench.mk

check: all
	@if command -v clang-format >/dev/null; then $(MAKE) --no-print-directory -s format-check \
		&& echo "format: ok"; else echo "format: clang-format not installed, not checked"; fi
	$(MAKE) --no-print-directory BUILD=build/asan SAN=1 build/asan/proxy
	tests/run-tests
	@echo "== the same integration and GDB tests against the ASan/UBSan build =="
	PROXY=$(CURDIR)/build/asan/proxy ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run-tests integration gdb

bench: all
	scripts/bench

check-realkvm: all
	scripts/check-realkvm

# scripts/realkvm/kvmprobe.c is the probe from shared/realkvm, kept as it came.
FORMAT_FILES = $(filter-out scripts/realkvm/kvmprobe.c,$(shell git ls-files '*.c' '*.h'))
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build proxy

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
