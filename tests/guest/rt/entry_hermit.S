/* entry_hermit.S: _start and the version note for the Hermit 0.6 ABI (hermit-entry
 * protocol v4, shared/spec/hermit-entry-abi.md sections 1, 6, 7).
 *
 * The hypervisor starts every vCPU here, with RDI = boot info (0x9000), RSI =
 * vCPU index (0 = boot CPU) and RSP = image start - 0x8000 (the BOTTOM of the boot
 * stack). Its start gate (CORE_COUNTER, hermit/coregate.c, else a stagger) does not
 * order them for this runtime, so each CPU waits here, like the real kernel, until
 * the guest's own cpu_online counter equals its RSI, without touching the stack
 * (every CPU has the same RSP). Then it takes the
 * stack the previous CPU left in rt_hermit_current_stack (CPU 0: the boot stack,
 * its entry RSP) and adds 0x7ff0 as the kernel does.
 *
 * The wait uses only NOT, MOV, LEA, JRCXZ, PAUSE and JMP, which leave RFLAGS
 * alone, so PUSHF still sees the entry RFLAGS. The CPU past the gate is alone
 * until rt_abi_hand_over counts it online: it records its entry registers in
 * rt_hermit_entry[RSI] and its RSI in rt_hermit_boot_id, then calls
 * rt_cstart(boot_info, rflags, rsp, rdx, rdi) as the other flavours do.
 * The offsets and sizes below are checked against rt/abi_hermit.c.
 */
#define STACK_TOP_OFFSET 0x7ff0 /* HERMIT_ENTRY_STACK_SIZE - 0x10 (kernel: add rsp,0x7ff0) */
#define MAX_CPUS	 16	/* RT_MAX_CPUS */
#define REGS_SHIFT	 6	/* sizeof(struct rt_hermit_entry_regs) == 64 */
#define REGS_RDI	 0x00
#define REGS_RSI	 0x08
#define REGS_RSP	 0x10
#define REGS_RDX	 0x18
#define REGS_RFLAGS	 0x20
#define REGS_ARRIVALS	 0x28

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	mov %rdx, %r10                          /* entry RDX */
	mov %rsi, %rax
	not %rax                                /* -RSI - 1 */
1:	mov rt_hermit_cpu_online(%rip), %ecx    /* zero-extends */
	lea 1(%rcx, %rax), %rcx                 /* cpu_online - RSI */
	jrcxz 2f
	pause
	jmp 1b
2:	mov %rsp, %r11                          /* entry RSP */
	mov rt_hermit_current_stack(%rip), %rcx /* from the previous CPU; 0 on CPU 0 */
	jrcxz 3f
	mov %rcx, %rsp
3:	lea STACK_TOP_OFFSET(%rsp), %rsp
	pushfq
	pop %r9                                 /* entry RFLAGS */
	cld
	mov %rsi, rt_hermit_boot_id(%rip)
	cmp $MAX_CPUS, %rsi                     /* only reachable for RSI <= num_cpus */
	jae 4f
	mov %rsi, %rax
	shl $REGS_SHIFT, %rax
	lea rt_hermit_entry(%rip), %rcx
	add %rax, %rcx
	mov %rdi, REGS_RDI(%rcx)
	mov %rsi, REGS_RSI(%rcx)
	mov %r11, REGS_RSP(%rcx)
	mov %r10, REGS_RDX(%rcx)
	mov %r9, REGS_RFLAGS(%rcx)
	lock incq REGS_ARRIVALS(%rcx)
4:	mov %rdi, %r8                           /* rdi: the boot info stays the header */
	mov %r10, %rcx
	mov %r11, %rdx
	mov %r9, %rsi
	xor %ebp, %ebp                          /* end of the frame chain for gdb */
#ifdef RT_ENTRY_HOOK
	RT_ENTRY_HOOK                           /* rt/entry_fdt.S: SSE on (RAX only) */
#endif
	call rt_cstart                          /* (boot_info, rflags, rsp, rdx, rdi); never returns */
5:	cli
	hlt
	jmp 5b
	.size _start, . - _start

	/* The note the hypervisor recognises the ABI by (spec section 1): an ELF note
	 * named "HERMIT" of type 0x5A00 whose one-byte desc is the entry version, 4.
	 * 24 bytes; the linker scripts give it its own PT_NOTE (p_align 4). */
	.section .note.hermit.entry-version, "a", @note
	.balign 4
	.globl rt_hermit_note
	.type rt_hermit_note, @object
rt_hermit_note:
	.long 7                                 /* n_namesz: "HERMIT" and its NUL */
	.long 1                                 /* n_descsz */
	.long 0x5A00                            /* n_type: NT_HERMIT_ENTRY_VERSION */
	.asciz "HERMIT"
	.balign 4                               /* name padded to 8 */
	.byte 4                                 /* desc: HERMIT_ENTRY_VERSION */
	.balign 4                               /* desc padded to 4 */
	.size rt_hermit_note, . - rt_hermit_note
