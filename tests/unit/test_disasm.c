/* test_disasm.c: the decoder behind crash messages and `x/i`, loaded on first use.
 *
 * capstone is dlopen()ed by disasm.c rather than linked; these checks show that the
 * library is found (by the soname the build recorded) and decodes as GDB prints.
 */
#include "disasm.h"
#include "unit.h"

#include <string.h>

int main(void)
{
	struct disasm_insn d;
	static const uint8_t xorps[] = {0x0f, 0x57, 0xc0};
	CHECK_EQ(disasm_one(xorps, sizeof(xorps), 0x1000, &d), 3);
	CHECK_STR(d.text, "xorps %xmm0, %xmm0");
	CHECK(d.vector);

	static const uint8_t out_dx_al[] = {0xee};
	CHECK_EQ(disasm_one(out_dx_al, sizeof(out_dx_al), 0, &d), 1);
	CHECK_STR(d.text, "outb %al, %dx");
	CHECK(!d.vector);

	/* A relative call shows its absolute target, from the address given. */
	static const uint8_t call[] = {0xe8, 0x00, 0x00, 0x00, 0x00};
	CHECK_EQ(disasm_one(call, sizeof(call), 0x400000, &d), 5);
	CHECK(strcmp(d.text, "callq 0x400005") == 0 || strcmp(d.text, "call 0x400005") == 0);

	/* A truncated instruction is not decoded. */
	CHECK_EQ(disasm_one(call, 2, 0, &d), 0);
	return unit_report();
}
