# twin.mk: the conformance suite's two builds of twin.c, made by the runner as
#   make -f Makefile -f tests/gdb/conformance/twin.mk conformance-twins
# (on top of the top Makefile, so the guest gets guest.mk's flags, runtime and link).
#   build/conformance/twin.elf     a rusty-flavour test guest (shim_guest.h)
#   build/conformance/twin-native  the native Linux twin for gdbserver (shim_native.h):
#                                  the guest's code-generation flags, non-PIE, no CET
#                                  notes, so both sides have the same instructions.
CONF_DIR := tests/gdb/conformance
CONF_OUT := build/conformance
CONF_SRCS := $(CONF_DIR)/twin.c $(CONF_DIR)/twin.mk
CONF_NATIVE_CFLAGS := $(filter-out -MMD -MP -fno-pic -fno-pie -mcmodel=small -I%,$(GUEST_BASE_CFLAGS)) \
	-fno-pie -no-pie -fcf-protection=none -DTWIN_NATIVE -O0 -g

$(CONF_OUT)/twin-guest.o: $(CONF_SRCS) $(CONF_DIR)/shim_guest.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(filter-out -MMD -MP,$(GUEST_BASE_CFLAGS)) -O0 -g -c -o $@ $<

$(CONF_OUT)/twin.elf: $(CONF_OUT)/twin-guest.o $(GUEST_FLAVOUR_DEPS_rusty)
	$(call guest_link,rusty)

$(CONF_OUT)/twin-native: $(CONF_SRCS) $(CONF_DIR)/shim_native.h
	@mkdir -p $(dir $@)
	$(CC) $(CONF_NATIVE_CFLAGS) -o $@.tmp $< && mv $@.tmp $@

.PHONY: conformance-twins
conformance-twins: $(CONF_OUT)/twin.elf $(CONF_OUT)/twin-native
