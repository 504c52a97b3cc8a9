# guest.mk: the freestanding test guests, included by the top Makefile.
#
#   make guests    builds one image per program and ABI flavour:
#                  build/guests/<name>.elf    RustyHermit ("path2rs") contract
#                  build/guests/c-<name>.elf  C HermitCore (libhermit) contract
#                  build/guests/entry-<name>.elf       Hermit 0.6 (hermit-entry v4),
#                                                      static PIE
#                  build/guests/entry-exec-<name>.elf  the same as ET_EXEC
#                  build/guests/<gen>-<name>.elf  the FDT-booted Hermit generations
#                     (gen = fdt10, fdt11, fdt13, m2, m3: Hermit 0.10, 0.11,
#                     0.13.2, main with uhyve-interface 2 and 3), static PIE
#                  build/guests/sse-<gen>-<name>.elf  the same compiled with SSE
#                     allowed (hardware KVM only)
#
# A guest = the ABI's entry code (rt/entry_<abi>.S) + the ABI's view of the boot
# header (rt/abi_<abi>.c) + the shared runtime (rt/) + one program, linked with
# guest.ld and stamped with OSABI 0xFF (HermitCore). The RustyHermit flavour is
# linked at 0x200000, the C flavour at 0x800000 like libhermit kernels.
# Programs in tests/guest/*.c are built for every flavour unless listed in
# GUEST_PROGS_ONLY_<abi>; tests/guest/<abi>/<name>.c is a program of that
# flavour alone (tests/guest/c/bootinfo.c gives c-bootinfo.elf). Another ABI
# adds its entry and abi files, a guest_flavour line and optionally a directory.
#
# The Hermit 0.6 ABI (abi "hermit") has two link variants, each a guest_flavour
# line of its own: hermit_pie compiles everything again with -fpie into obj-pie/
# and links -static-pie with hermit-pie.ld (ET_DYN at 0, relocated by the
# hypervisor to 0x400000), hermit_exec reuses the objects in obj/ and links
# hermit-exec.ld (ET_EXEC at 0x800000). A variant V may set GUEST_OBJ_V (object
# tree), GUEST_LINK_V (link mode and script; default: GUEST_LDFLAGS, i.e.
# guest.ld), GUEST_LDFLAGS_V (before the script) and GUEST_LDDEPS_V (scripts).
# guest.ld and the hermit scripts share their sections through INCLUDE
# (guest-text.ld, guest-data.ld), found with -L tests/guest.
#
# The FDT generations (shared/spec/hermit-fdt-abi.md) share one runtime view,
# rt/abi_fdt.c, and the Hermit 0.6 entry code (the start gate is the same); each
# has its own two-line rt/entry_<gen>.S (its notes) and rt/abi_<gen>.c (its
# generation number). They link with fdt-pie.ld (ET_DYN at 0, loaded at
# G + 0x40000, every note in one PT_NOTE) from the obj-pie objects, and share the
# programs of tests/guest/fdt/ (GUEST_DIR_<variant>: a directory other than the
# ABI's own).
#
# Guests run with ring 0 emulated on KVM-PVM hosts, where SSE/AVX end the VM:
# -mgeneral-regs-only keeps gcc to integer registers (also for struct copies).

GUEST_CC ?= $(CC)
GUEST_OUT ?= build/guests
GUEST_CFLAGS ?= -O1 -g
GUEST_SRC := tests/guest
GUEST_BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -march=x86-64 -mgeneral-regs-only -mno-red-zone -ffreestanding \
	-fno-pic -fno-pie -fno-stack-protector -fno-builtin -fno-tree-loop-distribute-patterns \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-omit-frame-pointer \
	-mcmodel=small -Iinclude -I$(GUEST_SRC)/rt -MMD -MP
# -fpie objects for the static-PIE flavour: the same flags, position independent.
GUEST_PIE_CFLAGS := $(filter-out -fno-pic -fno-pie,$(GUEST_BASE_CFLAGS)) -fpie
GUEST_LDFLAGS_ANY := -nostdlib -Wl,-L,$(GUEST_SRC) -Wl,-z,max-page-size=0x1000 \
	-Wl,--build-id=none -Wl,-z,noexecstack
GUEST_LDSCRIPTS := $(GUEST_SRC)/guest-text.ld $(GUEST_SRC)/guest-data.ld
GUEST_LDFLAGS := $(GUEST_LDFLAGS_ANY) -static -no-pie -Wl,-T,$(GUEST_SRC)/guest.ld
GUEST_LDFLAGS_c := -Wl,--defsym=__guest_base=0x800000
GUEST_OBJ_hermit_pie := $(GUEST_OUT)/obj-pie
GUEST_LINK_hermit_pie := $(GUEST_LDFLAGS_ANY) -static-pie -Wl,-T,$(GUEST_SRC)/hermit-pie.ld
GUEST_LDDEPS_hermit_pie := $(GUEST_SRC)/hermit-pie.ld
GUEST_LINK_hermit_exec := $(GUEST_LDFLAGS_ANY) -static -no-pie -Wl,-T,$(GUEST_SRC)/hermit-exec.ld
GUEST_LDDEPS_hermit_exec := $(GUEST_SRC)/hermit-exec.ld
GUEST_FDT_GENS := fdt10 fdt11 fdt13 m2 m3
$(foreach g,$(GUEST_FDT_GENS),\
	$(eval GUEST_OBJ_$(g) := $(GUEST_OBJ_hermit_pie))\
	$(eval GUEST_OBJ_sse_$(g) := $(GUEST_OUT)/obj-pie-sse)\
	$(foreach v,$(g) sse_$(g),\
		$(eval GUEST_LINK_$(v) := $(GUEST_LDFLAGS_ANY) -static-pie -Wl,-T,$(GUEST_SRC)/fdt-pie.ld)\
		$(eval GUEST_LDDEPS_$(v) := $(GUEST_SRC)/fdt-pie.ld)\
		$(eval GUEST_DIR_$(v) := fdt)))

# gdb's next/step/finish want unoptimised code in the debugger's guest.
GUEST_CFLAGS_gdbtarget := -O0 -g
GUEST_CFLAGS_revtarget := -O0 -g

GUEST_PROGS := $(basename $(notdir $(wildcard $(GUEST_SRC)/*.c)))
# bootinfo and the benchmarks (bench/bench_guest.h) read struct hermit_boot_info.
GUEST_PROGS_ONLY_rusty := bootinfo ocirun $(filter bench_%,$(GUEST_PROGS))
GUEST_COMMON_PROGS := $(filter-out $(GUEST_PROGS_ONLY_rusty),$(GUEST_PROGS))
GUEST_OWN_PROGS = $(basename $(notdir $(wildcard $(GUEST_SRC)/$(1)/*.c)))
GUEST_RT_SRCS := $(filter-out $(GUEST_SRC)/rt/entry_% $(GUEST_SRC)/rt/abi_%,\
	$(wildcard $(GUEST_SRC)/rt/*.c $(GUEST_SRC)/rt/*.S))
GUEST_RT_OBJS_IN = $(patsubst $(GUEST_SRC)/%,$(1)/%.o,$(GUEST_RT_SRCS))
GUEST_RT_OBJS := $(call GUEST_RT_OBJS_IN,$(GUEST_OUT)/obj)

# $(call guest_objects,OBJECT_TREE,CFLAGS): tests/guest/X.c -> TREE/X.c.o (.S alike).
define guest_objects
$(1)/%.c.o: $(GUEST_SRC)/%.c $(GUEST_SRC)/guest.mk
	@mkdir -p $$(dir $$@)
	$$(GUEST_CC) $(2) $$(or $$(GUEST_CFLAGS_$$(notdir $$*)),$$(GUEST_CFLAGS)) -c -o $$@ $$<

$(1)/%.S.o: $(GUEST_SRC)/%.S $(GUEST_SRC)/guest.mk
	@mkdir -p $$(dir $$@)
	$$(GUEST_CC) $(2) $$(GUEST_CFLAGS) -c -o $$@ $$<
endef
$(eval $(call guest_objects,$(GUEST_OUT)/obj,$$(GUEST_BASE_CFLAGS)))
$(eval $(call guest_objects,$(GUEST_OUT)/obj-pie,$$(GUEST_PIE_CFLAGS)))
# The FDT generations once more with SSE allowed (sse-<gen>-<prog>.elf), as real
# kernels are built: for hardware KVM only (the realkvm lane); on PVM they end at
# their first SSE instruction. rt/entry_fdt.S enables SSE under RT_SSE.
GUEST_SSE_CFLAGS := $(filter-out -mgeneral-regs-only,$(GUEST_PIE_CFLAGS)) -msse2 -DRT_SSE=1
$(eval $(call guest_objects,$(GUEST_OUT)/obj-pie-sse,$$(GUEST_SSE_CFLAGS)))

# $(call guest_link,VARIANT): link $@ from the object prerequisites, stamp OSABI.
# GUEST_LDFLAGS_<variant> comes first: ld only sees a --defsym before -T as DEFINED.
define guest_link
$(GUEST_CC) $(GUEST_LDFLAGS_$(1)) $(or $(GUEST_LINK_$(1)),$(GUEST_LDFLAGS)) -o $@.tmp $(filter %.o,$^)
printf '\377' | dd of=$@.tmp bs=1 seek=7 conv=notrunc status=none  # EI_OSABI = HermitCore
mv $@.tmp $@
endef

# $(call guest_flavour,OUTPUT_PREFIX,ABI[,VARIANT])
# Links $(GUEST_OUT)/<prefix><prog>.elf for every common program, the ABI's
# GUEST_PROGS_ONLY_<abi> and its own tests/guest/<abi>/*.c, from the objects in
# GUEST_OBJ_<variant> (default obj/); VARIANT (default ABI) names the link.
define guest_flavour
$(eval GUEST_V := $(or $(3),$(2)))
$(eval GUEST_O := $(or $(GUEST_OBJ_$(GUEST_V)),$(GUEST_OUT)/obj))
$(eval GUEST_D := $(or $(GUEST_DIR_$(GUEST_V)),$(2)))
GUEST_ELFS_$(GUEST_V) := $(patsubst %,$(GUEST_OUT)/$(1)%.elf,$(GUEST_COMMON_PROGS) $(GUEST_PROGS_ONLY_$(2)))
GUEST_ELFS_OWN_$(GUEST_V) := $(patsubst %,$(GUEST_OUT)/$(1)%.elf,$(call GUEST_OWN_PROGS,$(GUEST_D)))
GUEST_ELFS += $$(GUEST_ELFS_$(GUEST_V)) $$(GUEST_ELFS_OWN_$(GUEST_V))
GUEST_ABI_OBJS += $(GUEST_O)/rt/entry_$(2).S.o $(GUEST_O)/rt/abi_$(2).c.o \
	$(patsubst %,$(GUEST_O)/$(GUEST_D)/%.c.o,$(call GUEST_OWN_PROGS,$(GUEST_D)))
GUEST_FLAVOUR_DEPS_$(GUEST_V) := $(GUEST_O)/rt/entry_$(2).S.o $(GUEST_O)/rt/abi_$(2).c.o \
	$(call GUEST_RT_OBJS_IN,$(GUEST_O)) $(GUEST_LDSCRIPTS) \
	$(or $(GUEST_LDDEPS_$(GUEST_V)),$(GUEST_SRC)/guest.ld)
$$(GUEST_ELFS_$(GUEST_V)): $(GUEST_OUT)/$(1)%.elf: $(GUEST_O)/%.c.o $$(GUEST_FLAVOUR_DEPS_$(GUEST_V))
	$$(call guest_link,$(GUEST_V))
$$(GUEST_ELFS_OWN_$(GUEST_V)): $(GUEST_OUT)/$(1)%.elf: $(GUEST_O)/$(GUEST_D)/%.c.o $$(GUEST_FLAVOUR_DEPS_$(GUEST_V))
	$$(call guest_link,$(GUEST_V))
endef

GUEST_ELFS :=
GUEST_ABI_OBJS :=
$(eval $(call guest_flavour,,rusty))
$(eval $(call guest_flavour,c-,c))
$(eval $(call guest_flavour,entry-,hermit,hermit_pie))
$(eval $(call guest_flavour,entry-exec-,hermit,hermit_exec))
$(foreach g,$(GUEST_FDT_GENS),$(eval $(call guest_flavour,$(g)-,$(g))))
$(foreach g,$(GUEST_FDT_GENS),$(eval $(call guest_flavour,sse-$(g)-,$(g),sse_$(g))))

# Keep the objects: make would delete them as intermediates of the pattern chain.
.SECONDARY: $(GUEST_RT_OBJS) $(call GUEST_RT_OBJS_IN,$(GUEST_OBJ_hermit_pie)) $(GUEST_ABI_OBJS) \
	$(GUEST_PROGS:%=$(GUEST_OUT)/obj/%.c.o) $(GUEST_PROGS:%=$(GUEST_OBJ_hermit_pie)/%.c.o) \
	$(call GUEST_RT_OBJS_IN,$(GUEST_OUT)/obj-pie-sse) $(GUEST_PROGS:%=$(GUEST_OUT)/obj-pie-sse/%.c.o)

guests: $(GUEST_ELFS)
