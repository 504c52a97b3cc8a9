/* disasm.c: x86-64 decoding with capstone (Debian's libcapstone).
 *
 * Why capstone rather than libopcodes: a stable C API meant for embedding (one call
 * per instruction, instruction groups to tell SSE/AVX apart), where libopcodes'
 * interface changes with every binutils release and prints through fprintf
 * callbacks. A handle is opened per call: decoding is for messages and the
 * monitor, never on a hot path.
 *
 * The library is loaded on first use (dlopen), not linked: its decoder tables carry
 * about 77,000 relocations that the dynamic loader would apply at every start, a
 * cost larger than KVM's own part of a boot, for a decoder most runs never call.
 * Without the library decoding fails (len 0) and callers show bytes only.
 */
#include "disasm.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef CAPSTONE_SONAME
#define CAPSTONE_SONAME "libcapstone.so.4"
#endif

struct capstone_api {
	bool loaded;
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
	void (*free)(cs_insn *, size_t);
	cs_err (*close)(csh *);
};

static struct capstone_api cs;
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

static void capstone_load(void)
{
	void *lib = dlopen(CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return;
	*(void **)&cs.open = dlsym(lib, "cs_open");
	*(void **)&cs.option = dlsym(lib, "cs_option");
	*(void **)&cs.disasm = dlsym(lib, "cs_disasm");
	*(void **)&cs.free = dlsym(lib, "cs_free");
	*(void **)&cs.close = dlsym(lib, "cs_close");
	cs.loaded = cs.open && cs.option && cs.disasm && cs.free && cs.close;
}

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
	pthread_once(&cs_once, capstone_load);
	csh h;
	if (!cs.loaded || cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs.option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *in = NULL;
	if (cs.disasm(h, code, n, addr, 1, &in) == 1) {
		insn->len = in->size;
		snprintf(insn->text, sizeof(insn->text), "%s%s%s", in->mnemonic,
			 in->op_str[0] ? " " : "", in->op_str);
		insn->vector = is_vector(in);
		cs.free(in, 1);
	}
	cs.close(&h);
	return insn->len;
}
