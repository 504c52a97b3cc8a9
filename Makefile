# proxy: a GDB-debuggable KVM hypervisor for HermitCore unikernels.
#
#   make            build ./proxy and the test guests
#   make check      unit + integration + GDB tests (also an ASan/UBSan build)
#   make fault      build/fault/proxy: the test build with injectable faults
#   make bench      benchmarks (see scripts/bench)
#   make check-realkvm   the integration suite on real (SVM) KVM nested in QEMU
#   make format     clang-format every C file
#   make check-layout   the layering of src/ (src/README.md): includes and calls
#   make fuzz       the libFuzzer harnesses of tests/fuzz (clang), FUZZ_SECONDS each
#                   (default 10) on a copy of their corpus in build/fuzz; FUZZ_MERGE=1
#                   merges what they found into tests/fuzz/corpus. `make check` replays
#                   the corpora under the GCC ASan/UBSan build (make fuzz-replay).
#   make install    proxy, proxy-gdb, proxy-oci, manual pages, bash completion (PREFIX,
#                   DESTDIR); prints the podman and containerd lines for proxy-oci

VERSION := 0.1.0
CC ?= gcc
BUILD ?= build
SAN ?=
FAULT ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DPROXY_VERSION=\"$(VERSION)\" -MMD -MP

# Each folder of src/ sees the headers of its own layer and the layers below it,
# nothing above (src/README.md): the compiler keeps the architecture.
INC_core := -Iinclude -Isrc/core
INC_hypercall := $(INC_core) -Isrc/hypercall
INC_abi := $(INC_hypercall) -Isrc/abi
INC_debug := $(INC_core) -Isrc/debug -Igdbstub
INC_snapshot := $(INC_hypercall) -Isrc/snapshot
INC_tools := $(INC_abi) -Isrc/debug -Igdbstub -Isrc/snapshot -Isrc/tools
INC_sandbox := -Isrc/sandbox
INC_main := $(INC_tools) $(INC_sandbox)
INC_gdbstub := -Igdbstub
ALL_CFLAGS = $(BASE_CFLAGS) $(INC_main)
ifneq ($(SAN),)
# -DPROXY_SANITIZED: the sanitizer runtime needs ptrace (LeakSanitizer) and exec (the
# symbolizer), so that build does not confine itself (src/sandbox).
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DPROXY_SANITIZED
LDFLAGS += -fsanitize=address,undefined
endif
ifneq ($(FUZZER),)
# make fuzz's build (with SAN=1, CC=clang): coverage for libFuzzer in every object.
# clang calls the GNU idiom of struct kvm_msrs + its entries an extension, and warns
# about libseccomp's SCMP_A0() leaving a field to its default.
BASE_CFLAGS += -fsanitize=fuzzer-no-link -Wno-gnu-variable-sized-type-not-at-end \
	-Wno-missing-field-initializers
endif
ifneq ($(FAULT),)
# The test build: monitor commands that inject faults (src/tools/monitor_cmds_fault.c).
BASE_CFLAGS += -DPROXY_FAULT_INJECTION
endif
# libelf, zlib (libelf's), readline and its libtinfo, libseccomp and libfdt are linked in (Debian ships
# their archives): the dynamic loader's work on shared libraries is a measurable part
# of a boot. capstone is loaded only when an instruction is decoded (disasm.c: its
# tables carry 77,000 relocations), and GnuTLS only when a migration key is given
# (mig_transport.c: linked, it and its libraries cost every boot about 1.5 ms, and
# Debian's libgnutls.a needs p11-kit, which has no archive). proxy stays PIE, so ASLR
# covers its own code.
# libc stays shared: its NSS modules (getaddrinfo for --gdb-addr host names,
# readline's getpwnam) only work with the libc they were built for. The sanitizer
# build links dynamically (ASan does not support static libraries' interposition).
CAPSTONE_SONAME := $(shell objdump -p /usr/lib/$(shell $(CC) -print-multiarch)/libcapstone.so 2>/dev/null | sed -n 's/.*SONAME *//p')
BASE_CFLAGS += $(if $(CAPSTONE_SONAME),-DCAPSTONE_SONAME=\"$(CAPSTONE_SONAME)\")
ifeq ($(SAN),)
LDLIBS := -Wl,-Bstatic -lelf -lz -lreadline -ltinfo -lseccomp -lfdt -Wl,-Bdynamic -ldl -lpthread
else
LDLIBS := -lelf -lz -lreadline -lseccomp -lfdt -ldl -lpthread
endif

SRC_LAYERS := core hypercall abi debug snapshot tools sandbox
LIB_SRCS := $(foreach l,$(SRC_LAYERS),$(wildcard src/$(l)/*.c)) $(wildcard gdbstub/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
PROXY_BIN := $(if $(filter build,$(BUILD)),proxy,$(BUILD)/proxy)

# proxy-oci (src/oci/): the OCI runtime, a program of its own that execs proxy; it
# uses none of proxy's layers. Its library part (all but oci_main.c) is what the unit
# tests link. jansson parses config.json (linked statically, as proxy's libraries).
OCI_BIN := $(if $(filter build,$(BUILD)),proxy-oci,$(BUILD)/proxy-oci)
OCI_LIB_SRCS := $(filter-out src/oci/oci_main.c,$(wildcard src/oci/*.c))
OCI_LIB_OBJS := $(OCI_LIB_SRCS:%.c=$(BUILD)/%.o)
INC_oci := -Iinclude -Isrc/oci
ifeq ($(SAN),)
OCI_LDLIBS := -Wl,-Bstatic -ljansson -Wl,-Bdynamic
else
OCI_LDLIBS := -ljansson
endif

.PHONY: all guests unit fault check check-layout bench check-realkvm conformance-twins-built format format-check clean \
	fuzz fuzz-replay
all: $(PROXY_BIN) $(OCI_BIN) guests unit

$(PROXY_BIN): $(BUILD)/src/main.o $(BUILD)/libproxy.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libproxy.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OCI_BIN): $(BUILD)/src/oci/oci_main.o $(BUILD)/liboci.a
	$(CC) $(LDFLAGS) -o $@ $^ $(OCI_LDLIBS)

$(BUILD)/liboci.a: $(OCI_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# src/<layer>/x.c and src/main.c: the include path of that layer.
$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(INC_$(firstword $(subst /, ,$*))) -c -o $@ $<

$(BUILD)/gdbstub/%.o: gdbstub/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(INC_gdbstub) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libproxy.a $(BUILD)/liboci.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(INC_oci) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libproxy.a \
		$(BUILD)/liboci.a $(LDLIBS) $(OCI_LDLIBS)

unit: $(UNIT_BINS)

# tests/fuzz: each harness fuzz_NAME.c, linked with replay.c (any compiler) or with
# libFuzzer (clang, make fuzz). README.md and tests/fuzz/README.md say more.
FUZZ_NAMES := rsp elf config hcall_args migstream snap_format snap_config snap_files snap_mem \
	snap_vcpu snap_vm
FUZZ_SECONDS ?= 10
FUZZ_INC := -Itests/unit -Itests/fuzz
FUZZ_DEPS = tests/fuzz/fuzz_quiet.h tests/fuzz/fuzz_snap.h tests/fuzz/fuzz_snap_kvm.h \
	tests/unit/test_gdb_fake.h $(BUILD)/libproxy.a

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_INC) $(LDFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c \
		$(BUILD)/libproxy.a $(LDLIBS)

$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_INC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libproxy.a \
		$(LDLIBS)

# Every input of every corpus once; the first crash fails, naming its input.
fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)
	@for n in $(FUZZ_NAMES); do \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 $(BUILD)/tests/fuzz/replay_$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang and its libFuzzer runtime" \
		"(Debian: apt-get install clang libclang-rt-14-dev; see scripts/setup)" >&2; exit 1; }
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang SAN=1 FUZZER=1 \
		$(FUZZ_NAMES:%=build/fuzz/tests/fuzz/fuzz_%)
	tests/fuzz/run build/fuzz/tests/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

# build/fault/proxy: the test build with faults to inject (the sandbox tests use it).
fault:
	$(MAKE) --no-print-directory BUILD=build/fault FAULT=1 build/fault/proxy

include tests/guest/guest.mk
include bench/bench.mk

check: all fault
	@if command -v clang-format >/dev/null; then $(MAKE) --no-print-directory -s format-check \
		&& echo "format: ok"; else echo "format: clang-format not installed, not checked"; fi
	scripts/check-layout $(BUILD)
	$(MAKE) --no-print-directory BUILD=build/asan SAN=1 build/asan/proxy build/asan/proxy-oci unit
	$(MAKE) --no-print-directory BUILD=build/asan SAN=1 fuzz-replay
	tests/run-tests
	@echo "== the same unit, integration and GDB tests against the ASan/UBSan build =="
	PROXY=$(CURDIR)/build/asan/proxy UNIT_BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 tests/run-tests unit integration gdb

check-layout: all
	scripts/check-layout $(BUILD)

bench: all
	scripts/bench

# The GDB conformance suite's twins (tests/gdb/conformance/twin.mk; the suite builds
# them itself too): the realkvm lane sees the tree read-only, so they come first.
conformance-twins-built: all
	$(MAKE) -s --no-print-directory -f Makefile -f tests/gdb/conformance/twin.mk conformance-twins

check-realkvm: all fault conformance-twins-built
	scripts/check-realkvm

# scripts/realkvm/kvmprobe.c is the probe from shared/realkvm, kept as it came.
FORMAT_FILES = $(filter-out scripts/realkvm/kvmprobe.c,$(shell git ls-files '*.c' '*.h'))
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

# make install / make uninstall, honouring PREFIX (default /usr/local) and DESTDIR:
# proxy, proxy-gdb and proxy-oci, their manual pages, bash completion, the README and
# the checkpoint format (proxy(1) names it), laid out
# as a Debian tool. proxy needs no data files, so it runs from any directory.
PREFIX ?= /usr/local
INSTALL ?= install
BINDIR = $(PREFIX)/bin
MAN1DIR = $(PREFIX)/share/man/man1
COMPLETIONDIR = $(PREFIX)/share/bash-completion/completions
DOCDIR = $(PREFIX)/share/doc/proxy
INSTALLED_FILES = $(BINDIR)/proxy $(BINDIR)/proxy-gdb $(BINDIR)/proxy-oci $(MAN1DIR)/proxy.1 \
	$(MAN1DIR)/proxy-gdb.1 $(MAN1DIR)/proxy-oci.1 $(COMPLETIONDIR)/proxy \
	$(COMPLETIONDIR)/proxy-gdb $(DOCDIR)/README.md $(DOCDIR)/checkpoint-format.md

.PHONY: install uninstall
install: $(PROXY_BIN) $(OCI_BIN)
	$(INSTALL) -D -m 755 $(PROXY_BIN) $(DESTDIR)$(BINDIR)/proxy
	$(INSTALL) -D -m 755 scripts/proxy-gdb $(DESTDIR)$(BINDIR)/proxy-gdb
	$(INSTALL) -D -m 755 $(OCI_BIN) $(DESTDIR)$(BINDIR)/proxy-oci
	$(INSTALL) -D -m 644 doc/proxy.1 $(DESTDIR)$(MAN1DIR)/proxy.1
	$(INSTALL) -D -m 644 doc/proxy-gdb.1 $(DESTDIR)$(MAN1DIR)/proxy-gdb.1
	$(INSTALL) -D -m 644 doc/proxy-oci.1 $(DESTDIR)$(MAN1DIR)/proxy-oci.1
	$(INSTALL) -D -m 644 scripts/bash-completion/proxy $(DESTDIR)$(COMPLETIONDIR)/proxy
	$(INSTALL) -D -m 644 scripts/bash-completion/proxy $(DESTDIR)$(COMPLETIONDIR)/proxy-gdb
	$(INSTALL) -D -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(INSTALL) -D -m 644 docs/checkpoint-format.md $(DESTDIR)$(DOCDIR)/checkpoint-format.md
	@printf '%s\n' "" \
		"proxy-oci: the OCI runtime (README \"Running under container engines\")." \
		"podman: in /etc/containers/containers.conf, [engine.runtimes]:" \
		"  proxy-oci = [\"$(BINDIR)/proxy-oci\"]" \
		"  then: podman run --runtime proxy-oci IMAGE" \
		"containerd: in /etc/containerd/config.toml:" \
		"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hermit]" \
		"    runtime_type = \"io.containerd.runc.v2\"" \
		"    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.hermit.options]" \
		"      BinaryName = \"$(BINDIR)/proxy-oci\"" \
		"  or: ctr run --runc-binary $(BINDIR)/proxy-oci IMAGE ID" \
		"Kubernetes: a RuntimeClass with handler: hermit (example in the README)."

# Exactly the files above (and share/doc/proxy itself once it is empty).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	rm -rf build proxy proxy-oci

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
