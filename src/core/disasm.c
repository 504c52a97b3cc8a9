/* disasm.c: x86-64 decoding with capstone (Debian's libcapstone).
 *
 * Why capstone rather than libopcodes: a stable C API meant for embedding (one call
 * per instruction, instruction groups to tell SSE/AVX apart), where libopcodes'
 * interface changes with every binutils release and prints through fprintf
 * callbacks. A handle is opened per call: decoding is for messages and the
 * monitor, never on a hot path.
 */
#include "disasm.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

static bool is_vector(const cs_insn *in)
{
	if (!in->detail)
		return false;
	for (uint8_t i = 0; i < in->detail->groups_count; i++) {
		switch (in->detail->groups[i]) {
		case X86_GRP_SSE1:
		case X86_GRP_SSE2:
		case X86_GRP_SSE3:
		case X86_GRP_SSSE3:
		case X86_GRP_SSE41:
		case X86_GRP_SSE42:
		case X86_GRP_SSE4A:
		case X86_GRP_AVX:
		case X86_GRP_AVX2:
		case X86_GRP_AVX512:
		case X86_GRP_FMA:
			return true;
		}
	}
	return false;
}

size_t disasm_one(const uint8_t *code, size_t n, uint64_t addr, struct disasm_insn *insn)
{
	memset(insn, 0, sizeof(*insn));
	csh h;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs_option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *in = NULL;
	if (cs_disasm(h, code, n, addr, 1, &in) == 1) {
		insn->len = in->size;
		snprintf(insn->text, sizeof(insn->text), "%s%s%s", in->mnemonic,
			 in->op_str[0] ? " " : "", in->op_str);
		insn->vector = is_vector(in);
		cs_free(in, 1);
	}
	cs_close(&h);
	return insn->len;
}
