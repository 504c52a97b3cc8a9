# guest.mk: the freestanding test guests, included by the top Makefile.
#
#   make guests    builds one image per program and ABI flavour:
#                  build/guests/<name>.elf    RustyHermit ("path2rs") contract
#                  build/guests/c-<name>.elf  C HermitCore (libhermit) contract
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
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_SRC)/guest.ld \
	-Wl,-z,max-page-size=0x1000 -Wl,--build-id=none -Wl,-z,noexecstack
GUEST_LDFLAGS_c := -Wl,--defsym=__guest_base=0x800000

# gdb's next/step/finish want unoptimised code in the debugger's guest.
GUEST_CFLAGS_gdbtarget := -O0 -g

GUEST_PROGS := $(basename $(notdir $(wildcard $(GUEST_SRC)/*.c)))
# bootinfo and the benchmarks (bench/bench_guest.h) read struct hermit_boot_info.
GUEST_PROGS_ONLY_rusty := bootinfo $(filter bench_%,$(GUEST_PROGS))
GUEST_COMMON_PROGS := $(filter-out $(GUEST_PROGS_ONLY_rusty),$(GUEST_PROGS))
GUEST_OWN_PROGS = $(basename $(notdir $(wildcard $(GUEST_SRC)/$(1)/*.c)))
GUEST_RT_SRCS := $(filter-out $(GUEST_SRC)/rt/entry_% $(GUEST_SRC)/rt/abi_%,\
	$(wildcard $(GUEST_SRC)/rt/*.c $(GUEST_SRC)/rt/*.S))
GUEST_RT_OBJS := $(patsubst $(GUEST_SRC)/%,$(GUEST_OUT)/obj/%.o,$(GUEST_RT_SRCS))

$(GUEST_OUT)/obj/%.c.o: $(GUEST_SRC)/%.c $(GUEST_SRC)/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_BASE_CFLAGS) $(or $(GUEST_CFLAGS_$(notdir $*)),$(GUEST_CFLAGS)) -c -o $@ $<

$(GUEST_OUT)/obj/%.S.o: $(GUEST_SRC)/%.S $(GUEST_SRC)/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_BASE_CFLAGS) $(GUEST_CFLAGS) -c -o $@ $<

# $(call guest_link,ABI): link $@ from the object prerequisites, stamp OSABI.
# GUEST_LDFLAGS_<abi> comes first: ld only sees a --defsym before -T as DEFINED.
define guest_link
$(GUEST_CC) $(GUEST_LDFLAGS_$(1)) $(GUEST_LDFLAGS) -o $@.tmp $(filter %.o,$^)
printf '\377' | dd of=$@.tmp bs=1 seek=7 conv=notrunc status=none  # EI_OSABI = HermitCore
mv $@.tmp $@
endef

# $(call guest_flavour,OUTPUT_PREFIX,ABI)
# Links $(GUEST_OUT)/<prefix><prog>.elf for every common program, the ABI's
# GUEST_PROGS_ONLY_<abi> and its own tests/guest/<abi>/*.c.
define guest_flavour
GUEST_ELFS_$(2) := $(patsubst %,$(GUEST_OUT)/$(1)%.elf,$(GUEST_COMMON_PROGS) $(GUEST_PROGS_ONLY_$(2)))
GUEST_ELFS_OWN_$(2) := $(patsubst %,$(GUEST_OUT)/$(1)%.elf,$(call GUEST_OWN_PROGS,$(2)))
GUEST_ELFS += $$(GUEST_ELFS_$(2)) $$(GUEST_ELFS_OWN_$(2))
GUEST_ABI_OBJS += $(GUEST_OUT)/obj/rt/entry_$(2).S.o $(GUEST_OUT)/obj/rt/abi_$(2).c.o \
	$(patsubst %,$(GUEST_OUT)/obj/$(2)/%.c.o,$(call GUEST_OWN_PROGS,$(2)))
$$(GUEST_ELFS_$(2)): $(GUEST_OUT)/$(1)%.elf: $(GUEST_OUT)/obj/%.c.o \
		$(GUEST_OUT)/obj/rt/entry_$(2).S.o $(GUEST_OUT)/obj/rt/abi_$(2).c.o \
		$(GUEST_RT_OBJS) $(GUEST_SRC)/guest.ld
	$$(call guest_link,$(2))
$$(GUEST_ELFS_OWN_$(2)): $(GUEST_OUT)/$(1)%.elf: $(GUEST_OUT)/obj/$(2)/%.c.o \
		$(GUEST_OUT)/obj/rt/entry_$(2).S.o $(GUEST_OUT)/obj/rt/abi_$(2).c.o \
		$(GUEST_RT_OBJS) $(GUEST_SRC)/guest.ld
	$$(call guest_link,$(2))
endef

GUEST_ELFS :=
GUEST_ABI_OBJS :=
$(eval $(call guest_flavour,,rusty))
$(eval $(call guest_flavour,c-,c))

# Keep the objects: make would delete them as intermediates of the pattern chain.
.SECONDARY: $(GUEST_RT_OBJS) $(GUEST_ABI_OBJS) $(GUEST_PROGS:%=$(GUEST_OUT)/obj/%.c.o)

guests: $(GUEST_ELFS)
