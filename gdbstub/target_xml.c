/* target_xml.c: the x86-64 register table and the target.xml built from it.
 *
 * Feature names, register names and types follow GDB's own i386 features (64bit-core,
 * 64bit-sse, 64bit-segments), which GDB's amd64 support validates by name; the system
 * registers go in a feature of our own, which GDB simply lists (cr0, cr4 and efer as
 * flag types, so GDB names their bits as it does eflags'), and orig_rax in GDB's
 * i386.linux feature (what GDB's core-file writer needs), the ymm upper halves in
 * GDB's i386.avx when the vCPU has AVX. Every <reg> carries
 * an explicit regnum, bitsize, type and group: LLDB needs them, and the regnums are
 * the order of our `g` packet. Types a feature uses are declared inside that feature,
 * because GDB looks them up per feature.
 */
#include "target_xml.h"

#include "gdb_target.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum xml_feature { FEAT_CORE, FEAT_SSE, FEAT_SEGMENTS, FEAT_SYS, FEAT_LINUX, FEAT_AVX, FEAT_COUNT };

struct xml_reg {
	const char *name;
	int bits;
	const char *type;
	const char *group;
	enum xml_feature feature;
};

/* One register set per line reads better than one entry per line. */
/* clang-format off */
#define GPR(n) {n, 64, "int64", "general", FEAT_CORE}
#define SEG(n) {n, 32, "int32", "general", FEAT_CORE}
#define ST(n)  {n, 80, "i387_ext", "float", FEAT_CORE}
#define FPC(n) {n, 32, "int", "float", FEAT_CORE}
#define XMM(n) {n, 128, "vec128", "vector", FEAT_SSE}
#define SYS(n) {n, 64, "int64", "system", FEAT_SYS}
#define YMMH(n) {n, 128, "uint128", "raw", FEAT_AVX}

static const struct xml_reg xml_regs[GDB_REG_COUNT] = {
	GPR("rax"), GPR("rbx"), GPR("rcx"), GPR("rdx"), GPR("rsi"), GPR("rdi"),
	{"rbp", 64, "data_ptr", "general", FEAT_CORE},
	{"rsp", 64, "data_ptr", "general", FEAT_CORE},
	GPR("r8"), GPR("r9"), GPR("r10"), GPR("r11"), GPR("r12"), GPR("r13"), GPR("r14"),
	GPR("r15"),
	[GDB_REG_RIP] = {"rip", 64, "code_ptr", "general", FEAT_CORE},
	[GDB_REG_EFLAGS] = {"eflags", 32, "i386_eflags", "general", FEAT_CORE},
	[GDB_REG_CS] = SEG("cs"), SEG("ss"), SEG("ds"), SEG("es"), SEG("fs"), SEG("gs"),
	[GDB_REG_ST0] = ST("st0"), ST("st1"), ST("st2"), ST("st3"), ST("st4"), ST("st5"),
	ST("st6"), ST("st7"),
	[GDB_REG_FCTRL] = FPC("fctrl"), FPC("fstat"), FPC("ftag"), FPC("fiseg"), FPC("fioff"),
	FPC("foseg"), FPC("fooff"), FPC("fop"),
	[GDB_REG_XMM0] = XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"),
	XMM("xmm5"), XMM("xmm6"), XMM("xmm7"), XMM("xmm8"), XMM("xmm9"), XMM("xmm10"),
	XMM("xmm11"), XMM("xmm12"), XMM("xmm13"), XMM("xmm14"), XMM("xmm15"),
	[GDB_REG_MXCSR] = {"mxcsr", 32, "i386_mxcsr", "vector", FEAT_SSE},
	[GDB_REG_FS_BASE] = {"fs_base", 64, "int", "general", FEAT_SEGMENTS},
	[GDB_REG_GS_BASE] = {"gs_base", 64, "int", "general", FEAT_SEGMENTS},
	[GDB_REG_K_GS_BASE] = SYS("k_gs_base"),
	[GDB_REG_CR0] = {"cr0", 64, "i386_cr0", "system", FEAT_SYS}, SYS("cr2"), SYS("cr3"),
	{"cr4", 64, "i386_cr4", "system", FEAT_SYS}, SYS("cr8"),
	{"efer", 64, "i386_efer", "system", FEAT_SYS},
	[GDB_REG_ORIG_RAX] = {"orig_rax", 64, "int", "system", FEAT_LINUX},
	[GDB_REG_YMM0H] = YMMH("ymm0h"), YMMH("ymm1h"), YMMH("ymm2h"), YMMH("ymm3h"),
	YMMH("ymm4h"), YMMH("ymm5h"), YMMH("ymm6h"), YMMH("ymm7h"), YMMH("ymm8h"), YMMH("ymm9h"),
	YMMH("ymm10h"), YMMH("ymm11h"), YMMH("ymm12h"), YMMH("ymm13h"), YMMH("ymm14h"),
	YMMH("ymm15h"),
};
/* clang-format on */

_Static_assert(GDB_REG_YMM15H == GDB_REG_COUNT - 1, "register table ends with ymm15h");

static const char *const feature_names[FEAT_COUNT] = {
	[FEAT_CORE] = "org.gnu.gdb.i386.core",
	[FEAT_SSE] = "org.gnu.gdb.i386.sse",
	[FEAT_SEGMENTS] = "org.gnu.gdb.i386.segments",
	[FEAT_SYS] = "org.hermitcore.proxy.x86_64.sys",
	/* With it GDB sets up its GNU/Linux amd64 architecture, which alone can write
	 * core files (`gcore`); without it GDB says "Can't create a corefile". */
	[FEAT_LINUX] = "org.gnu.gdb.i386.linux",
	/* GDB composes $ymm0..15 from xmm and these upper halves. */
	[FEAT_AVX] = "org.gnu.gdb.i386.avx",
};

/* The eflags bits GDB shows by name; bit 1 is the always-one reserved bit. */
static const char core_types[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/><field name=\"ID\" start=\"21\" end=\"21\"/>"
	"</flags>\n";

/* An xmm register viewed as every vector shape, as GDB's own 64bit-sse does. */
static const char sse_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
	"</union>\n"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	"<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
	"<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
	"<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
	"<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
	"<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
	"</flags>\n";

/* The control-register bits GDB shows by name (`info registers efer` gives
 * `[ LME LMA NXE ]`), with QEMU's type names. GDB prints the set fields in the order
 * listed, so they go from bit 0 up. */
static const char sys_types[] =
	"<flags id=\"i386_cr0\" size=\"8\">"
	"<field name=\"PE\" start=\"0\" end=\"0\"/><field name=\"MP\" start=\"1\" end=\"1\"/>"
	"<field name=\"EM\" start=\"2\" end=\"2\"/><field name=\"TS\" start=\"3\" end=\"3\"/>"
	"<field name=\"ET\" start=\"4\" end=\"4\"/><field name=\"NE\" start=\"5\" end=\"5\"/>"
	"<field name=\"WP\" start=\"16\" end=\"16\"/><field name=\"AM\" start=\"18\" end=\"18\"/>"
	"<field name=\"NW\" start=\"29\" end=\"29\"/><field name=\"CD\" start=\"30\" end=\"30\"/>"
	"<field name=\"PG\" start=\"31\" end=\"31\"/>"
	"</flags>\n"
	"<flags id=\"i386_cr4\" size=\"8\">"
	"<field name=\"VME\" start=\"0\" end=\"0\"/><field name=\"PVI\" start=\"1\" end=\"1\"/>"
	"<field name=\"TSD\" start=\"2\" end=\"2\"/><field name=\"DE\" start=\"3\" end=\"3\"/>"
	"<field name=\"PSE\" start=\"4\" end=\"4\"/><field name=\"PAE\" start=\"5\" end=\"5\"/>"
	"<field name=\"MCE\" start=\"6\" end=\"6\"/><field name=\"PGE\" start=\"7\" end=\"7\"/>"
	"<field name=\"PCE\" start=\"8\" end=\"8\"/>"
	"<field name=\"OSFXSR\" start=\"9\" end=\"9\"/>"
	"<field name=\"OSXMMEXCPT\" start=\"10\" end=\"10\"/>"
	"<field name=\"UMIP\" start=\"11\" end=\"11\"/>"
	"<field name=\"LA57\" start=\"12\" end=\"12\"/>"
	"<field name=\"VMXE\" start=\"13\" end=\"13\"/>"
	"<field name=\"SMXE\" start=\"14\" end=\"14\"/>"
	"<field name=\"FSGSBASE\" start=\"16\" end=\"16\"/>"
	"<field name=\"PCIDE\" start=\"17\" end=\"17\"/>"
	"<field name=\"OSXSAVE\" start=\"18\" end=\"18\"/>"
	"<field name=\"SMEP\" start=\"20\" end=\"20\"/>"
	"<field name=\"SMAP\" start=\"21\" end=\"21\"/>"
	"<field name=\"PKE\" start=\"22\" end=\"22\"/>"
	"</flags>\n"
	"<flags id=\"i386_efer\" size=\"8\">"
	"<field name=\"SCE\" start=\"0\" end=\"0\"/><field name=\"LME\" start=\"8\" end=\"8\"/>"
	"<field name=\"LMA\" start=\"10\" end=\"10\"/>"
	"<field name=\"NXE\" start=\"11\" end=\"11\"/>"
	"<field name=\"SVME\" start=\"12\" end=\"12\"/>"
	"<field name=\"LMSLE\" start=\"13\" end=\"13\"/>"
	"<field name=\"FFXSR\" start=\"14\" end=\"14\"/>"
	"<field name=\"TCE\" start=\"15\" end=\"15\"/>"
	"</flags>\n";

static const char *const feature_types[FEAT_COUNT] = {
	[FEAT_CORE] = core_types, [FEAT_SSE] = sse_types, [FEAT_SEGMENTS] = "",
	[FEAT_SYS] = sys_types,	  [FEAT_LINUX] = "",	  [FEAT_AVX] = "",
};

int target_xml_reg_size(int regno)
{
	if (regno < 0 || regno >= GDB_REG_COUNT)
		return 0;
	return xml_regs[regno].bits / 8;
}

bool target_xml_reg_optional(int regno)
{
	return regno >= 0 && regno < GDB_REG_COUNT && xml_regs[regno].feature == FEAT_AVX;
}

const char *target_xml_reg_name(int regno)
{
	if (regno < 0 || regno >= GDB_REG_COUNT)
		return NULL;
	return xml_regs[regno].name;
}

static void emit_reg(FILE *f, int regno)
{
	const struct xml_reg *r = &xml_regs[regno];

	fprintf(f, "<reg name=\"%s\" bitsize=\"%d\" regnum=\"%d\" type=\"%s\" group=\"%s\"/>\n",
		r->name, r->bits, regno, r->type, r->group);
}

/* The table lists each feature's registers contiguously, so one pass opens and closes
 * each <feature> exactly once. */
static void emit_features(FILE *f, bool avx)
{
	int open = -1;

	for (int regno = 0; regno < GDB_REG_COUNT; regno++) {
		enum xml_feature feat = xml_regs[regno].feature;

		if (feat == FEAT_AVX && !avx)
			continue;
		if ((int)feat != open) {
			if (open >= 0)
				fputs("</feature>\n", f);
			fprintf(f, "<feature name=\"%s\">\n%s", feature_names[feat],
				feature_types[feat]);
			open = (int)feat;
		}
		emit_reg(f, regno);
	}
	fputs("</feature>\n", f);
}

char *target_xml_build(size_t *len)
{
	return target_xml_build_for(len, true);
}

char *target_xml_build_for(size_t *len, bool avx)
{
	char *xml = NULL;
	FILE *f = open_memstream(&xml, len);

	if (!f)
		return NULL;
	fputs("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	      "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n",
	      f);
	emit_features(f, avx);
	fputs("</target>\n", f);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}
