/* entry_fdt.S: _start and the notes of an FDT-booted Hermit generation (Hermit
 * 0.10 to main; shared/spec/hermit-fdt-abi.md sections 1, 2.3, 2.5), included by
 * rt/entry_<gen>.S after it defined:
 *   ABI_MAJOR, ABI_MINOR, ABI_PATCH  the GNU ABI tag's kernel version (OS 6)
 *   UHYVEIF                          the uhyve-interface note's value, if any
 *
 * The start protocol is the one of Hermit 0.6 (entry_hermit.S, reused whole): all
 * vCPUs enter at once with RDI = boot info (G + 0x5000), RSI = index and
 * RSP = G + 0x38000, the bottom of the boot stack; each waits for the guest's own
 * cpu_online to reach its RSI. entry_hermit.S also emits the HERMIT entry-version
 * note (desc 4), which every generation keeps.
 */
#ifdef RT_SSE
/* The SSE build (sse-<gen>-*.elf, realkvm lane): gcc may use XMM registers in any
 * C code, so turn SSE on as the real kernels do before the first C function:
 * CR0.MP set, CR0.EM clear, CR4.OSFXSR | CR4.OSXMMEXCPT. Touches RAX only. */
#define RT_ENTRY_HOOK                      \
	mov %cr0, %rax;                    \
	and $~4, %rax;                     \
	or $2, %rax;                       \
	mov %rax, %cr0;                    \
	mov %cr4, %rax;                    \
	or $0x600, %rax;                   \
	mov %rax, %cr4;
#endif
#include "entry_hermit.S"

	/* GNU ABI tag: name "GNU", type 1, desc = 4 x u32 LITTLE-endian (spec 1). */
	.section .note.ABI-tag, "a", @note
	.balign 4
	.globl rt_fdt_abi_note
rt_fdt_abi_note:
	.long 4                                 /* n_namesz: "GNU" and its NUL */
	.long 16                                /* n_descsz */
	.long 1                                 /* n_type: NT_GNU_ABI_TAG */
	.asciz "GNU"
	.long 6                                 /* OS: Hermit */
	.long ABI_MAJOR, ABI_MINOR, ABI_PATCH

#ifdef UHYVEIF
	/* uhyve interface: name "UHYVEIF", type 0x5B00, desc one u32 BIG-endian. */
	.section .note.hermit.uhyve-interface-version, "a", @note
	.balign 4
	.globl rt_fdt_uhyveif_note
rt_fdt_uhyveif_note:
	.long 8                                 /* n_namesz: "UHYVEIF" and its NUL */
	.long 4                                 /* n_descsz */
	.long 0x5B00                            /* n_type */
	.asciz "UHYVEIF"
	.byte (UHYVEIF >> 24) & 0xff, (UHYVEIF >> 16) & 0xff, (UHYVEIF >> 8) & 0xff, UHYVEIF & 0xff
#endif
