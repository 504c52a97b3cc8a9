/* monitor_cmds_disasm.c: x/Ni and xp/Ni, N instructions from guest memory.
 *
 * Decoding is the core's capstone wrapper (disasm.h), in AT&T syntax as GDB prints
 * it. Each line shows the address, the instruction's bytes and its text, as QEMU's
 * x/i does, so a reader can check the decoding against the bytes.
 */
#include <errno.h>
#include <stdio.h>

#include "disasm.h"
#include "monitor_internal.h"

#define INSN_MAX_BYTES 15 /* the longest x86 instruction */
#define BYTES_COLUMN   24 /* room for 8 bytes; longer instructions push the text right */

static void format_bytes(char *buf, size_t len, const uint8_t *code, size_t n)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%02x", i ? " " : "", code[i]);
}

static int unreadable(const struct mon *m, uint64_t addr)
{
	return mon_fail(m, -EFAULT, "Cannot access memory at address 0x%llx",
			(unsigned long long)addr);
}

/* Print the instruction at *addr and move *addr past it. 0, or -EFAULT when the
 * memory it needs cannot be read. */
static int say_insn(const struct mon *m, const struct mon_memsrc *src, uint64_t *addr)
{
	uint8_t code[INSN_MAX_BYTES];
	size_t got = mon_read_mem(src, *addr, code, sizeof(code));
	struct disasm_insn insn;
	char bytes[3 * INSN_MAX_BYTES + 1];

	if (!disasm_one(code, got, *addr, &insn)) {
		if (got < sizeof(code) && *addr + got < *addr) /* got to 2^64: nothing after */
			return mon_fail(m, -EFAULT,
					"Cannot access memory past address 0xffffffffffffffff "
					"(the end of the address space; the instruction at 0x%llx "
					"runs into it)",
					(unsigned long long)*addr);
		if (got < sizeof(code))
			return unreadable(m, *addr + got); /* cut off, not a bad opcode */
		insn.len = 1; /* as GDB: one byte, and go on after it */
		snprintf(insn.text, sizeof(insn.text), "(bad)");
	}
	format_bytes(bytes, sizeof(bytes), code, insn.len);
	mon_say(m, "0x%llx:  %-*s  %s\n", (unsigned long long)*addr, BYTES_COLUMN, bytes,
		insn.text);
	*addr += insn.len;
	return 0;
}

int mon_disassemble(const struct mon *m, const struct mon_memsrc *src, uint64_t addr,
		    unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (say_insn(m, src, &addr))
			return -EFAULT;
	return 0;
}
