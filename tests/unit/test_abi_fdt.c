/* test_abi_fdt.c: the Hermit 0.10 - main boot contract (hermit-fdt-abi.md): note
 * parsing (each note missing, malformed, byte-swapped, UHYVEIF 0 and 4, a note in
 * a second PT_NOTE), generations, bootargs against both kernel tokenisers,
 * the FDT node by node through `dtc -I dtb -O dts`, and the page tables per
 * generation to the byte. Numbers in comments are spec section 8's checklist.
 */
#include "abi_fdt.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "hermit_fdt_abi.h"
#include "unit.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[1024];

/* ---- notes ---------------------------------------------------------------- */

static size_t put_note(uint8_t *at, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	memcpy(at, &namesz, 4);
	memcpy(at + 4, &descsz, 4);
	memcpy(at + 8, &type, 4);
	memcpy(at + 12, name, namesz);
	size_t d = 12 + ((namesz + 3) & ~3u);
	memcpy(at + d, desc, descsz);
	return d + ((descsz + 3) & ~3u);
}

static size_t put_tag(uint8_t *at, uint32_t os, uint32_t ma, uint32_t mi, uint32_t pa)
{
	uint32_t d[4] = {os, ma, mi, pa}; /* little-endian host */
	return put_note(at, "GNU", 1, d, 16);
}

static size_t put_uhyveif(uint8_t *at, uint32_t v)
{
	uint8_t d[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return put_note(at, "UHYVEIF", 0x5B00, d, 4);
}

static size_t put_entry(uint8_t *at)
{
	uint8_t v = HERMIT_ENTRY_VERSION;
	return put_note(at, "HERMIT", 0x5A00, &v, 1);
}

static int parse(const uint8_t *b, size_t n, struct abi_notes *out)
{
	*out = (struct abi_notes){.entry_version = -1};
	err[0] = 0;
	return abi_parse_notes(b, n, 4, out, err, sizeof(err));
}

static void test_real_0_11_bytes(void)
{
	/* The PT_NOTE of uhyve's data/0.11.0/arm64/hello_world (spec section 1). */
	static const uint8_t b[] = {4,	 0, 0,	 0,   16,  0,	0,   0,	  1, 0, 0,  0, 'G', 'N',
				    'U', 0, 6,	 0,   0,   0,	0,   0,	  0, 0, 11, 0, 0,   0,
				    0,	 0, 0,	 0,   7,   0,	0,   0,	  1, 0, 0,  0, 0,   0x5a,
				    0,	 0, 'H', 'E', 'R', 'M', 'I', 'T', 0, 0, 4,  0, 0,   0};
	struct abi_notes n;
	CHECK_EQ(parse(b, sizeof(b), &n), 0);
	CHECK(n.has_tag);
	CHECK_EQ(n.major, 0);
	CHECK_EQ(n.minor, 11);
	CHECK_EQ(n.patch, 0);
	CHECK_EQ(n.entry_version, 4);
	CHECK(!n.has_uhyveif);
	CHECK_EQ(abi_fdt_interface(&n, err, sizeof(err)), 1); /* 2: no UHYVEIF -> 1 */
	CHECK_EQ(abi_fdt_generation(&n, 1), GEN_G11);
}

static void test_uhyveif_values(void)
{
	uint8_t b[256];
	struct abi_notes n;
	for (uint32_t v = 0; v <= 4; v++) {
		size_t len = put_tag(b, 6, 0, 13, 0);
		len += put_uhyveif(b + len, v);
		len += put_entry(b + len);
		CHECK_EQ(parse(b, len, &n), 0);
		CHECK(n.has_uhyveif);
		CHECK_EQ(n.uhyveif, v);
		unsigned ifv = abi_fdt_interface(&n, err, sizeof(err));
		if (v >= 1 && v <= 3) {
			CHECK_EQ(ifv, v);
		} else { /* 1: refused, the message names the value */
			char want[32];
			snprintf(want, sizeof(want), "uhyve-interface %u ", v);
			CHECK_EQ(ifv, 0);
			CHECK(strstr(err, want) != NULL);
			CHECK(strstr(err, "1, 2 and 3") != NULL);
		}
	}
	/* The spec's bytes of a UHYVEIF 3 note. */
	static const uint8_t three[] = {8,   0,	  0,   0,   4,	 0,   0,   0, 0, 0x5b, 0, 0,
					'U', 'H', 'Y', 'V', 'E', 'I', 'F', 0, 0, 0,    0, 3};
	CHECK_EQ(parse(three, sizeof(three), &n), 0);
	CHECK_EQ(n.uhyveif, 3);
	CHECK_EQ(abi_fdt_generation(&n, 3), GEN_MAIN);
}

static void test_endianness_mixups(void)
{
	uint8_t b[128];
	struct abi_notes n;
	/* UHYVEIF written little-endian: 0x03000000, refused with the hint. */
	uint32_t le3 = 3;
	size_t len = put_note(b, "UHYVEIF", 0x5B00, &le3, 4);
	CHECK_EQ(parse(b, len, &n), 0);
	CHECK_EQ(n.uhyveif, 0x03000000u);
	CHECK_EQ(abi_fdt_interface(&n, err, sizeof(err)), 0);
	CHECK(strstr(err, "50331648") != NULL);
	CHECK(strstr(err, "big-endian") != NULL);
	/* ABI tag written big-endian: refused, not mistaken for another OS. */
	len = put_tag(b, 0x06000000, 0, 0x0d000000, 0);
	CHECK_EQ(parse(b, len, &n), -1);
	CHECK(strstr(err, "big-endian") != NULL);
	/* Another OS's tag (GNU/Linux, OS 0): not a Hermit kernel. */
	len = put_tag(b, 0, 3, 2, 0);
	CHECK_EQ(parse(b, len, &n), 0);
	CHECK(!n.has_tag);
}

static void test_malformed_and_missing(void)
{
	uint8_t b[128];
	struct abi_notes n;
	uint32_t d[2] = {6, 0};
	size_t len = put_note(b, "GNU", 1, d, 8); /* tag with 8 bytes */
	CHECK_EQ(parse(b, len, &n), -1);
	CHECK(strstr(err, "ABI-tag") != NULL);
	uint16_t two = 3;
	len = put_note(b, "UHYVEIF", 0x5B00, &two, 2);
	CHECK_EQ(parse(b, len, &n), -1);
	CHECK(strstr(err, "UHYVEIF") != NULL);
	len = put_tag(b, 6, 0, 12, 0);
	CHECK_EQ(parse(b, len - 4, &n), -1); /* runs past the segment */
	CHECK(strstr(err, "runs past") != NULL);
	CHECK_EQ(parse(b, 0, &n), 0); /* empty: nothing */
	CHECK(!n.has_tag && !n.has_uhyveif && n.entry_version == -1);
	len = put_tag(b, 6, 0, 10, 0); /* tag without entry note or UHYVEIF */
	CHECK_EQ(parse(b, len, &n), 0);
	CHECK(n.has_tag && n.entry_version == -1 && !n.has_uhyveif);
	CHECK_EQ(abi_fdt_generation(&n, 1), GEN_G10);
	len = put_uhyveif(b, 2); /* UHYVEIF without tag */
	CHECK_EQ(parse(b, len, &n), 0);
	CHECK(!n.has_tag && n.has_uhyveif);
}

/* 2: a UHYVEIF note in a second PT_NOTE segment is still found. */
static void test_second_pt_note(void)
{
	uint8_t f[0x1000] = {0};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	size_t a = put_tag(f + 0x400, 6, 0, 13, 2);
	a += put_entry(f + 0x400 + a);
	size_t b = put_uhyveif(f + 0x800, 3);
	ph[0] = (Elf64_Phdr){PT_NOTE, PF_R, 0x400, 0, 0, a, a, 4};
	ph[1] = (Elf64_Phdr){PT_NOTE, PF_R, 0x800, 0, 0, b, b, 4};
	char path[] = "/tmp/test_abi_fdt_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, f, sizeof(f)) == (ssize_t)sizeof(f));
	struct image img = {.path = path, .fd = fd, .file_size = sizeof(f)};
	struct abi_notes n;
	CHECK_EQ(abi_read_notes(&img, &n, err, sizeof(err)), 0);
	CHECK(n.has_tag && n.minor == 13 && n.patch == 2 && n.entry_version == 4);
	CHECK(n.has_uhyveif && n.uhyveif == 3);
	close(fd);
	unlink(path);
}

static void test_generations(void)
{
	struct abi_notes n = {.has_tag = true};
	n.minor = 10;
	CHECK_EQ(abi_fdt_generation(&n, 1), GEN_G10);
	n.minor = 12;
	CHECK_EQ(abi_fdt_generation(&n, 1), GEN_G12);
	n.minor = 13, n.patch = 2;
	CHECK_EQ(abi_fdt_generation(&n, 1), GEN_G13);
	CHECK_EQ(abi_fdt_generation(&n, 2), GEN_MAIN); /* main says 0.13.0: UHYVEIF decides */
	CHECK_STR(abi_fdt_generation_name(GEN_MAIN), "main");
	CHECK_STR(abi_fdt_generation_name(GEN_G10), "G10");
}

/* ---- bootargs against the kernels' tokenisers ------------------------------ */

/* shell-words 1.1 split (G10 - G13, main before 3f890334) and shlex 2.0 split
 * (main): blanks space, tab, newline; '...' literal; in "..." a backslash escapes
 * $ ` " \ and newline only; an unquoted \x is x; a word starting with # comments
 * out the rest of the line. They differ only in errors: an unterminated quote is
 * an error under both (G10-G13 panic, shlex ends the list), a trailing lone
 * backslash is kept by shell-words and an error under shlex. Returns the word
 * count, -1 on error. */
static int split(const char *s, bool shlex, char words[][256], int max)
{
	enum { DELIM, UNQ, SQ, DQ, COMMENT } st = DELIM;
	int n = 0;
	size_t w = 0;
	for (;; s++) {
		char c = *s;
		switch (st) {
		case DELIM:
		case UNQ:
			if (!c || ((c == ' ' || c == '\t' || c == '\n'))) {
				if (st == UNQ) {
					if (n >= max)
						return -1;
					words[n++][w] = 0;
				}
				if (!c)
					return n;
				st = DELIM;
				continue;
			}
			if (st == DELIM && c == '#') {
				st = COMMENT;
				continue;
			}
			if (st == DELIM)
				w = 0;
			st = UNQ;
			if (c == '\'')
				st = SQ;
			else if (c == '"')
				st = DQ;
			else if (c == '\\') {
				if (!s[1]) {
					if (shlex)
						return -1;
					words[n][w++] = '\\';
					continue;
				}
				s++;
				if (*s != '\n')
					words[n][w++] = *s;
			} else
				words[n][w++] = c;
			break;
		case SQ:
			if (!c)
				return -1;
			if (c == '\'')
				st = UNQ;
			else
				words[n][w++] = c;
			break;
		case DQ:
			if (!c)
				return -1;
			if (c == '"') {
				st = UNQ;
			} else if (c == '\\') {
				char d = s[1];
				if (!d)
					return -1;
				s++;
				if (d == '$' || d == '`' || d == '"' || d == '\\')
					words[n][w++] = d;
				else if (d != '\n') {
					words[n][w++] = '\\';
					words[n][w++] = d;
				}
			} else
				words[n][w++] = c;
			break;
		case COMMENT:
			if (!c)
				return n;
			if (c == '\n')
				st = DELIM;
			break;
		}
		if (w >= 255)
			return -1;
	}
}

/* The kernel's reading of the words (hermit-fdt-abi.md 3.3): after `--` app
 * arguments, before it `env=K=V`. */
struct kernel_view {
	int argc, envc;
	char argv[32][256], env[16][256];
};

static int kernel_parse(const char *bootargs, bool shlex, struct kernel_view *k)
{
	char words[40][256];
	int n = split(bootargs, shlex, words, 40);
	if (n < 0)
		return -1;
	k->argc = k->envc = 0;
	bool args = false;
	for (int i = 0; i < n; i++) {
		if (args)
			strcpy(k->argv[k->argc++], words[i]);
		else if (!strcmp(words[i], "--"))
			args = true;
		else if (!strncmp(words[i], "env=", 4))
			strcpy(k->env[k->envc++], words[i] + 4);
	}
	return 0;
}

static void test_bootargs_round_trip(void)
{
	char *argv[] = {"a",   "b c",	    "d'e",     "",	 "\"",	   "\\", "#x",
			"--",  "x y\tz\nw", "$HOME",   "`cmd`",	 "a\\\\b", "'",	 "''",
			"é ü", "-- a",	    "env=X=Y", "\\'\"#", " ",	   "\\n"};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	char *env[] = {"FOO=x y", "E=",	     "B=back\\slash", "Q=it's", "H=#hash",
		       "M=a=b",	  "P=plain", "D=\"dq\"",      NULL};
	char out[4096];
	CHECK_EQ(abi_fdt_bootargs(env, argc, argv, out, sizeof(out), err, sizeof(err)), 0);
	for (int shlex = 0; shlex < 2; shlex++) {
		struct kernel_view k;
		CHECK_EQ(kernel_parse(out, shlex, &k), 0);
		CHECK_EQ(k.argc, argc);
		for (int i = 0; i < argc && i < k.argc; i++)
			CHECK_STR(k.argv[i], argv[i]);
		CHECK_EQ(k.envc, 8);
		for (int i = 0; i < 8 && i < k.envc; i++)
			CHECK_STR(k.env[i], env[i]);
	}
	/* 14: `proxy app a 'b c'` -> [a, "b c"]; nothing -> `--` (never empty, 11). */
	char *two[] = {"a", "b c"};
	CHECK_EQ(abi_fdt_bootargs(NULL, 2, two, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_STR(out, "-- 'a' 'b c'");
	CHECK_EQ(abi_fdt_bootargs(NULL, 0, NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_STR(out, "--");
	char *fooxy[] = {"FOO=x y", "PLAIN=v", NULL};
	CHECK_EQ(abi_fdt_bootargs(fooxy, 0, NULL, out, sizeof(out), err, sizeof(err)), 0);
	CHECK_STR(out, "env=FOO='x y' env=PLAIN=v --");
}

static void test_bootargs_refused(void)
{
	char out[64];
	char *bad[] = {"\xff\xfe"};
	CHECK_EQ(abi_fdt_bootargs(NULL, 1, bad, out, sizeof(out), err, sizeof(err)), -1);
	CHECK(strstr(err, "UTF-8") != NULL);
	char *badenv[] = {"V=\xc0\xaf", NULL}; /* overlong '/' */
	CHECK_EQ(abi_fdt_bootargs(badenv, 0, NULL, out, sizeof(out), err, sizeof(err)), -1);
	CHECK(strstr(err, "V is not UTF-8") != NULL);
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	char *bigv[] = {big};
	CHECK_EQ(abi_fdt_bootargs(NULL, 1, bigv, out, sizeof(out), err, sizeof(err)), -1);
	CHECK(strstr(err, "bytes of bootargs") != NULL);
}

/* ---- the FDT, node by node --------------------------------------------------- */

static int dtc_dts(const void *blob, size_t n, char *dts, size_t len)
{
	char bin[] = "/tmp/test_abi_fdt_dtb_XXXXXX";
	int fd = mkstemp(bin);
	if (fd < 0 || write(fd, blob, n) != (ssize_t)n)
		return -1;
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts %s", bin);
	FILE *p = popen(cmd, "r");
	size_t got = p ? fread(dts, 1, len - 1, p) : 0;
	int rc = p ? pclose(p) : -1;
	dts[got] = 0;
	unlink(bin);
	return rc;
}

static void test_fdt_nodes(void)
{
	static uint8_t blob[HFDT_FDT_MAX];
	const char *mounts[] = {"/data", "/root", NULL};
	struct fdt_inputs in = {
		.g = 0x100000000ULL,
		.mem_size = 64ULL << 20,
		.image_start = 0x100040000ULL,
		.image_end = 0x100123456ULL,
		.tsc_khz = 2000000,
		.bootargs = "env=FOO='x y' -- 'a' 'b c'",
		.mounts = mounts,
	};
	int n = abi_fdt_build(&in, blob, sizeof(blob) - 1, err, sizeof(err));
	CHECK(n > 0 && n < 0x4000); /* 8 */
	CHECK_EQ(blob[0], 0xD0);
	CHECK_EQ(blob[3], 0xED);
	CHECK_EQ(blob[23], 17); /* version */
	char dts[4096];
	CHECK_EQ(dtc_dts(blob, (size_t)n, dts, sizeof(dts)), 0);
	static const char want[] = "/dts-v1/;\n"
				   "\n"
				   "/memreserve/\t0x0000000100040000 0x00000000000e3456;\n"
				   "/ {\n"
				   "\tcompatible = \"hermit,uhyve\";\n"
				   "\t#address-cells = <0x02>;\n"
				   "\t#size-cells = <0x02>;\n"
				   "\n"
				   "\tchosen {\n"
				   "\t\tbootargs = \"env=FOO='x y' -- 'a' 'b c'\";\n"
				   "\t};\n"
				   "\n"
				   "\tmemory@100000000 {\n"
				   "\t\tdevice_type = \"memory\";\n"
				   "\t\treg = <0x01 0x00 0x00 0x4000000>;\n"
				   "\t};\n"
				   "\n"
				   "\thermit,tsc {\n"
				   "\t\tkhz = <0x1e8480>;\n"
				   "\t};\n"
				   "\n"
				   "\tuhyve,mounts {\n"
				   "\t\tmounts = \"/data\\0/root\";\n"
				   "\t};\n"
				   "};\n";
	CHECK_STR(dts, want);
	/* 13: no mapping -> no node. */
	in.mounts = NULL;
	in.g = 0;
	in.image_start = 0x40000;
	in.image_end = 0x50000;
	n = abi_fdt_build(&in, blob, sizeof(blob) - 1, err, sizeof(err));
	CHECK_EQ(dtc_dts(blob, (size_t)n, dts, sizeof(dts)), 0);
	CHECK(strstr(dts, "uhyve,mounts") == NULL);
	CHECK(strstr(dts, "memory@0 {") != NULL);
	/* A blob past its 16 KiB slot is refused with a message. */
	static char huge[20000];
	memset(huge, 'a', sizeof(huge) - 1);
	in.bootargs = huge;
	CHECK_EQ(abi_fdt_build(&in, blob, sizeof(blob) - 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "does not fit") != NULL);
}

static void test_mounts_list(void)
{
	char dir[] = "/tmp/test_abi_fdt_mnt_XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char file[128];
	snprintf(file, sizeof(file), "%s/x", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	struct mount_spec m[] = {
		{file, "/data/x", false}, /* 13: a mapped file -> its parent */
		{dir, "/data", false},	  /* the same again: once */
		{dir, "/", false},	  /* never "/" */
		{dir, "/srv/www", true},
	};
	struct config c = {.mounts = m, .nmounts = 4};
	const char *out[8];
	char store[256];
	abi_fdt_mounts(&c, out, 8, store, sizeof(store));
	CHECK_STR(out[0], "/data");
	CHECK_STR(out[1], "/srv/www");
	CHECK(out[2] == NULL);
	unlink(file);
	rmdir(dir);
}

/* ---- page tables per generation ------------------------------------------------ */

static uint64_t entry_at(struct guest_mem *m, uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, gpa_host(m, gpa, 8), 8);
	return v;
}

/* The 2 MiB leaf mapping virtual address va, 0 when not present. */
static uint64_t leaf(struct guest_mem *m, uint64_t g, uint64_t va)
{
	uint64_t e = entry_at(m, g + HFDT_PML4_OFF + ((va >> 39) & 511) * 8);
	if (!(e & PTE_PRESENT))
		return 0;
	e = entry_at(m, (e & PTE_ADDR_MASK) + ((va >> 30) & 511) * 8);
	if (!(e & PTE_PRESENT) || (e & PTE_PAGE_SIZE))
		return e & PTE_PAGE_SIZE ? ~0ULL : 0; /* a 1 GiB leaf: wrong */
	return entry_at(m, (e & PTE_ADDR_MASK) + ((va >> 21) & 511) * 8);
}

static void check_tables(uint64_t g, uint64_t end, unsigned pages)
{
	struct guest_mem m;
	guest_mem_layout_at(&m, g, 32ULL << 20);
	m.host = calloc(1, m.size);
	memset(m.host, 0xAA, 0x40000); /* stale bytes in the table pool are cleared */
	CHECK_EQ(abi_fdt_write_tables(&m, g, end), 0);
	uint64_t pml4 = g + HFDT_PML4_OFF;
	/* 5: PML4[511] = PML4 | P | W */
	CHECK_EQ(entry_at(&m, pml4 + 511 * 8), pml4 | 3);
	/* 6: every 2 MiB page from G to the one holding the end, identity, P|W|PS. */
	for (unsigned i = 0; i < pages; i++) {
		uint64_t va = g + i * (2ULL << 20);
		CHECK_EQ(leaf(&m, g, va), va | PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE);
	}
	CHECK_EQ(leaf(&m, g, g + pages * (2ULL << 20)), 0); /* and not beyond */
	/* Only [0] and [511] in the PML4; the first tables come from the pool. */
	for (unsigned i = 1; i < 511; i++)
		if (entry_at(&m, pml4 + i * 8) != 0 && ((g >> 39) & 511) != i)
			CHECK(!"stray PML4 entry");
	CHECK_EQ(entry_at(&m, pml4 + ((g >> 39) & 511) * 8),
		 (g + HFDT_PT_POOL_OFF) | PTE_PRESENT | PTE_WRITABLE);
	/* The GDT at G. */
	CHECK_EQ(entry_at(&m, g), 0);
	CHECK_EQ(entry_at(&m, g + 8), HERMIT_GDT_CODE);
	CHECK_EQ(entry_at(&m, g + 16), HERMIT_GDT_DATA);
	free(m.host);
}

static void test_page_tables(void)
{
	/* G10-G13 (interface 1, G = 0): a kernel ending inside its second 2 MiB page. */
	check_tables(0, 0x340000, 2);
	/* An end exactly on a 2 MiB boundary maps one page more (uhyve's <=). */
	check_tables(0, 0x400000, 3);
	/* main (interfaces 2/3, G = 4 GiB). */
	check_tables(0x100000000ULL, 0x100000000ULL + 0x123456, 1);
	/* --aslr's G just below a 1 GiB boundary: the map crosses into a second PD. */
	check_tables(0x13FE00000ULL, 0x13FE00000ULL + 0x300000, 2);
}

static void test_min_mem(void)
{
	/* A 1 MiB kernel at G + 0x40000: rounded end 2 MiB, + 1.25 MiB + 6 MiB. */
	CHECK_EQ(abi_fdt_min_mem(0, 0x140000), 0x200000 + 0x140000 + (6 << 20));
	CHECK_EQ(abi_fdt_min_mem(0x100000000ULL, 0x100140000ULL), 0x200000 + 0x140000 + (6 << 20));
}

int main(void)
{
	test_real_0_11_bytes();
	test_uhyveif_values();
	test_endianness_mixups();
	test_malformed_and_missing();
	test_second_pt_note();
	test_generations();
	test_bootargs_round_trip();
	test_bootargs_refused();
	test_fdt_nodes();
	test_mounts_list();
	test_page_tables();
	test_min_mem();
	return unit_report();
}
