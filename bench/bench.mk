# bench.mk: the benchmark's own binaries, included by the top Makefile (or used
# by scripts/bench with `make -f Makefile -f bench/bench.mk bench-tools`).
#
#   build/bench/floor       the raw-KVM floor program (bench/floor.c)
#   build/bench/first.elf   a guest that exits at its first instruction (bench/first.S)
#
# The bench_*.c guests are ordinary test guests (tests/guest/bench_*.c) and are
# built by guest.mk.

BENCH_OUT := $(BUILD)/bench

.PHONY: bench-tools
bench-tools: $(BENCH_OUT)/floor $(BENCH_OUT)/first.elf

$(BENCH_OUT)/floor: bench/floor.c bench/bench.mk
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -g -D_GNU_SOURCE -o $@ $< -Wl,-Bstatic -lz -Wl,-Bdynamic

$(BENCH_OUT)/first.elf: bench/first.S tests/guest/guest.ld tests/guest/guest-text.ld \
		tests/guest/guest-data.ld bench/bench.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_BASE_CFLAGS) $(GUEST_LDFLAGS) -o $@.tmp $<
	printf '\377' | dd of=$@.tmp bs=1 seek=7 conv=notrunc status=none  # EI_OSABI = HermitCore
	mv $@.tmp $@
