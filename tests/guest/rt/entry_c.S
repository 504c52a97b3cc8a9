/* entry_c.S: _start and the kernel header for the C HermitCore (libhermit) ABI.
 *
 * Laid out like libhermit's arch/x86_64/kernel/entry.asm: _start is byte 0 of the
 * first PT_LOAD segment and the ELF entry; it is a near `jmp start64` (E9 rel32)
 * and NOP fill, then the kernel header at 0x08-0xC3 with the kernel's image
 * defaults (boot_processor and isle 0xFFFFFFFF, possible_isles 1, disable_x2apic
 * 1, single_kernel 1, IP 10.0.5.2 / gateway 10.0.5.1 / mask 255.255.255.0). proxy
 * recognises a C image by exactly this and writes its fields (c_hermit_abi.h).
 *
 * Every vCPU enters with RSP = 0 and RDI = 0 (no pointer to anything). The
 * header is found through the symbol (= __image_start). libhermit runs every
 * core on one static boot stack, safe because the hypervisor starts one core at
 * a time; here each CPU takes its own stack by current_boot_id (0 on the boot
 * CPU, which the hypervisor wrote before starting it): a table lookup, MOVs only,
 * so the entry RFLAGS reach rt_cstart unchanged.
 */
#define STACK_SIZE 0x8000 /* HERMIT_BOOT_STACK_SIZE, checked in rt/abi_c.c */
#define MAX_CPUS 16       /* RT_MAX_CPUS, idem */
#define HDR_CURRENT_BOOT_ID 0x30

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	.byte 0xE9                              /* jmp start64, always the rel32 form */
	.long start64 - (_start + 5)
	.fill 3, 1, 0x90                        /* NOP fill up to the header */

	.org _start + 0x08
	.quad 0                                 /* 0x08 base */
	.quad 0                                 /* 0x10 limit */
	.long 0                                 /* 0x18 cpu_freq */
	.long 0xFFFFFFFF                        /* 0x1C boot_processor */
	.long 0                                 /* 0x20 cpu_online */
	.long 0                                 /* 0x24 possible_cpus */
	.quad 0                                 /* 0x28 phy_rcce_internals */
	.long 0                                 /* 0x30 current_boot_id */
	.long 0xFFFFFFFF                        /* 0x34 isle */
	.quad 0                                 /* 0x38 image_size */
	.fill 0x20, 1, 0                        /* 0x40 multi-kernel fields */
	.org _start + 0x60
	.long 1                                 /* 0x60 possible_isles */
	.quad 0                                 /* 0x64 heap_start_address */
	.quad 0                                 /* 0x6C header_start_address */
	.long 1                                 /* 0x74 disable_x2apic */
	.long 1                                 /* 0x78 single_kernel */
	.quad 0                                 /* 0x7C mb_info */
	.quad 0                                 /* 0x84 hbmem_base */
	.quad 0                                 /* 0x8C hbmem_size */
	.long 0                                 /* 0x94 uhyve */
	.quad 0                                 /* 0x98 uartport */
	.quad 0                                 /* 0xA0 cmdline */
	.quad 0                                 /* 0xA8 cmdsize */
	.org _start + 0xB0
	.byte 10, 0, 5, 2                       /* 0xB0 hcip */
	.byte 10, 0, 5, 1                       /* 0xB4 hcgateway */
	.byte 255, 255, 255, 0                  /* 0xB8 hcmask */
	.quad 0                                 /* 0xBC host_logical_addr */
	.org _start + 0xC4                      /* the assembler fails if a field is off */
	.size _start, . - _start

	.globl start64
	.type start64, @function
start64:
	mov %rdi, %r8                           /* entry RDI (the ABI says 0) */
	mov %rdx, %rcx                          /* entry RDX (the ABI says 0) */
	mov %rsp, %rdx                          /* entry RSP */
	mov $_start, %edi                       /* the header: first byte of the image */
	mov HDR_CURRENT_BOOT_ID(%rdi), %eax     /* zero-extends; MOV leaves RFLAGS alone */
	mov rt_c_stack_tops(, %rax, 8), %rsp
	pushfq
	pop %rsi                                /* entry RFLAGS */
	cld
	xor %ebp, %ebp                          /* end of the frame chain for gdb */
	call rt_cstart                          /* (header, rflags, rsp, rdx, rdi); never returns */
1:	cli
	hlt
	jmp 1b
	.size start64, . - start64

	/* Stack top per boot id: CPU 0 its own stack, CPU i rt_ap_stacks[i-1]. */
	.section .data
	.balign 8
rt_c_stack_tops:
	.quad rt_c_bsp_stack + STACK_SIZE - 0x10
	.set i, 0
	.rept MAX_CPUS - 1
	.quad rt_ap_stacks + i * STACK_SIZE + STACK_SIZE - 0x10
	.set i, i + 1
	.endr
