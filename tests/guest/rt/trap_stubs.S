/* trap_stubs.S: one 16-byte IDT stub per vector 0..63, and the common path.
 *
 * Each stub makes the frame uniform (a dummy error code where the CPU pushes
 * none), pushes its vector and joins rt_trap_common, which saves the general
 * registers as struct rt_trap_frame (rt.h) and calls rt_trap(frame). A handler
 * may change the frame (e.g. RIP); it is restored on IRETQ.
 */
	.section .text
	.globl rt_trap_stubs
	.align 16
rt_trap_stubs:
	.set vec, 0
	.rept 64
	.align 16
	/* vectors with a CPU-pushed error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp rt_trap_common
	.set vec, vec + 1
	.endr

rt_trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi          /* 22 quadwords on a 16-aligned CPU frame: RSP % 16 == 0 */
	cld
	call rt_trap
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp           /* vector and error code */
	iretq
