/* first.S: a guest whose first instruction leads straight to the EXIT hypercall.
 *
 * Booting it measures proxy's boot to the first guest instruction (plus one
 * exit): no runtime, no IDT, no command line. Entry for the RustyHermit ABI
 * (RDI = boot info, RSP = 0); nothing here needs a stack.
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	mov $exit_args, %eax
	mov $0x540, %dx                 /* HERMIT_PORT_EXIT */
	out %eax, %dx
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.data
	.balign 8
exit_args:
	.long 0                         /* struct hermit_exit: code 0 */
