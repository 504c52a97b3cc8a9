/* entry_rusty.S: _start for the RustyHermit ("path2rs") boot ABI.
 *
 * Every vCPU enters here in 64-bit mode with RDI = boot info (0x9000) and
 * RSP = 0, so the stack must come from boot_info->current_stack_address before
 * anything is pushed. Only LEA/MOV run before PUSHF so the entry RFLAGS can be
 * reported unchanged. The C HermitCore flavour has its own entry_c.S; both
 * call rt_cstart(header, rflags, rsp, rdx, rdi) and share the rest of rt/.
 */
#define BI_CURRENT_STACK_ADDRESS 0x38 /* offsetof(struct hermit_boot_info, ...) */
#define STACK_TOP_OFFSET 0x7ff0       /* HERMIT_BOOT_STACK_SIZE - 0x10 */

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	mov %rdi, %r8                           /* entry RDI (the boot info) */
	mov %rdx, %rcx                          /* entry RDX */
	mov %rsp, %rdx                          /* entry RSP, for the bootinfo check */
	mov BI_CURRENT_STACK_ADDRESS(%rdi), %rsp
	lea STACK_TOP_OFFSET(%rsp), %rsp        /* LEA: leaves RFLAGS alone */
	pushfq
	pop %rsi                                /* entry RFLAGS */
	cld
	xor %ebp, %ebp                          /* end of the frame chain for gdb */
	call rt_cstart                          /* (boot_info, rflags, rsp, rdx, rdi); never returns */
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start
