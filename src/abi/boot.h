/* boot.h: guest memory contents every vCPU starts from (GDT, page tables) and the
 * host facts the boot headers report (CPU frequency, time of day). */
#ifndef PROXY_BOOT_H
#define PROXY_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "guest_mem.h"

/* GDT at 0x1000 and the identity map of the first 1 GiB at 0x10000 (section 3). */
void boot_write_gdt(struct guest_mem *m);
void boot_write_page_tables(struct guest_mem *m);

/* Host TSC frequency in kHz (never 0), and in MHz (never 0, fits in 16 bits).
 * vcpu_fd may be -1. */
uint32_t boot_cpu_freq_khz(int vcpu_fd);
uint32_t boot_cpu_freq_mhz(int vcpu_fd);
/* Parse "cpu MHz : 2994.375" lines; 0 when absent (exposed for tests). */
uint32_t cpu_mhz_from_cpuinfo(const char *text);

/* hermit-entry's boot info (hermit_entry_abi.h), zeroed, with what every generation
 * (Hermit 0.6 and the FDT kernels) fills alike: the kernel image and its TLS, the
 * platform (uhyve), the CPU count, `khz` and the boot time. The caller adds what
 * differs: the RAM range, the serial port, the FDT, has_pci. */
struct hermit_entry_boot_info;
struct vm;
void boot_entry_info_common(struct hermit_entry_boot_info *bi, const struct vm *vm, uint32_t khz);

uint64_t boot_gtod_us(void); /* time of day in µs (the older ABIs) */
uint64_t boot_time_ns(void); /* ... in ns since the epoch (hermit-entry) */

#endif
