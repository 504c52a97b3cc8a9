/* disasm.h: one x86-64 instruction as text (capstone), for messages and the monitor. */
#ifndef PROXY_DISASM_H
#define PROXY_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct disasm_insn {
	size_t len;	/* bytes the instruction takes; 0: not a valid instruction */
	char text[200]; /* "xorps %xmm0, %xmm0" (AT&T syntax, as GDB prints it) */
	bool vector;	/* an SSE/AVX instruction (needs the FPU/vector unit) */
};

/* Decode the instruction at `code` (n bytes available), located at guest address
 * `addr` (for relative targets). Returns insn->len. */
size_t disasm_one(const uint8_t *code, size_t n, uint64_t addr, struct disasm_insn *insn);

#endif
