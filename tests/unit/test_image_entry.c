/* test_image_entry.c: the hermit-entry parts of loading (notes, static-PIE
 * relocation), the 128-byte boot info, and which ABI each of the three image
 * shapes is detected as. The ELF files are synthetic, written into a temporary
 * directory; the boot info is written into a RAM buffer and read back by offset.
 */
#include "abi.h"
#include "c_hermit_abi.h"
#include "hermit_abi.h"
#include "hermit_entry_abi.h"
#include "image.h"
#include "unit.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#define RAM_SIZE  (16ULL << 20)
#define FILE_SIZE 0x3000
#define NOTE_OFF  0x800
#define DYN_OFF	  0x900
#define RELA_OFF  0xA00

static char dir[64];
static char err[1024];

/* A file image built in memory: header, program headers, and bytes at offsets. */
struct file {
	uint8_t b[FILE_SIZE];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

static void file_init(struct file *f, uint16_t type, uint64_t entry)
{
	memset(f->b, 0, sizeof(f->b));
	f->eh = (Elf64_Ehdr *)f->b;
	f->ph = (Elf64_Phdr *)(f->b + sizeof(Elf64_Ehdr));
	memcpy(f->eh->e_ident, ELFMAG, SELFMAG);
	f->eh->e_ident[EI_CLASS] = ELFCLASS64;
	f->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh->e_ident[EI_VERSION] = EV_CURRENT;
	f->eh->e_ident[EI_OSABI] = HERMIT_ELFOSABI;
	f->eh->e_type = type;
	f->eh->e_machine = EM_X86_64;
	f->eh->e_version = EV_CURRENT;
	f->eh->e_entry = entry;
	f->eh->e_phoff = sizeof(Elf64_Ehdr);
	f->eh->e_ehsize = sizeof(Elf64_Ehdr);
	f->eh->e_phentsize = sizeof(Elf64_Phdr);
}

static void add_phdr(struct file *f, Elf64_Phdr ph)
{
	f->ph[f->eh->e_phnum++] = ph;
}

/* One note at `off`: name, type and desc as given, padded to 4. Returns its size. */
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

static void add_note(struct file *f, const char *name, uint32_t type, const void *desc,
		     uint32_t descsz)
{
	size_t n = put_note(f->b + NOTE_OFF, name, type, desc, descsz);
	add_phdr(f, (Elf64_Phdr){PT_NOTE, PF_R, NOTE_OFF, 0, 0, n, n, 4});
}

static void add_entry_note(struct file *f, uint8_t version)
{
	add_note(f, HERMIT_NOTE_NAME, HERMIT_NOTE_ENTRY_VERSION, &version, 1);
}

/* The dynamic section at DYN_OFF with the tags given (DT_NULL appended). */
static void add_dynamic(struct file *f, const Elf64_Dyn *d, size_t n)
{
	memcpy(f->b + DYN_OFF, d, n * sizeof(*d));
	size_t size = (n + 1) * sizeof(*d);
	add_phdr(f,
		 (Elf64_Phdr){PT_DYNAMIC, PF_R | PF_W, DYN_OFF, DYN_OFF, DYN_OFF, size, size, 8});
}

static void add_rela(struct file *f, size_t i, uint64_t offset, uint32_t type, int64_t addend)
{
	Elf64_Rela r = {offset, ELF64_R_INFO(0, type), addend};
	memcpy(f->b + RELA_OFF + i * sizeof(r), &r, sizeof(r));
}

/* A static-PIE like the real images: one PT_LOAD at 0 over the whole file, the
 * entry-v4 note, two RELATIVE relocations of the words at 0x1000 and 0x1008. */
static void static_pie(struct file *f)
{
	file_init(f, ET_DYN, 0x100);
	add_phdr(f, (Elf64_Phdr){PT_LOAD, PF_R | PF_W | PF_X, 0, 0, 0, FILE_SIZE, 0x4000, 0x1000});
	add_entry_note(f, HERMIT_ENTRY_VERSION);
	add_rela(f, 0, 0x1000, R_X86_64_RELATIVE, 0x2000);
	add_rela(f, 1, 0x1008, R_X86_64_RELATIVE, 0x123);
	const Elf64_Dyn d[] = {{DT_RELA, {RELA_OFF}}, {DT_RELASZ, {48}}, {DT_RELAENT, {24}}};
	add_dynamic(f, d, 3);
}

/* An ET_EXEC at 0x200000 whose entry is inside .text (RustyHermit's shape). */
static void exec_image(struct file *f, uint64_t base, uint64_t entry)
{
	file_init(f, ET_EXEC, entry);
	add_phdr(f, (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0x1000, base, base, 0x1000, 0x2000, 0x1000});
}

static const char *write_file(const char *name, const struct file *f)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, f->b, sizeof(f->b)) != (ssize_t)sizeof(f->b)) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

static int open_file(const char *name, const struct file *f, struct image *img)
{
	err[0] = 0;
	int rc = image_open(img, write_file(name, f), err, sizeof(err));
	if (rc)
		fprintf(stderr, "    %s: %s\n", name, err);
	return rc;
}

/* image_open refuses f and says `what`. */
static int refused(const char *name, const struct file *f, const char *what)
{
	struct image img;
	err[0] = 0;
	int rc = image_open(&img, write_file(name, f), err, sizeof(err));
	int ok = rc == -1 && img.fd == -1 && strstr(err, what) && strstr(err, name);
	if (!ok)
		fprintf(stderr, "    %s: rc %d, err \"%s\", wanted \"%s\"\n", name, rc, err, what);
	return ok;
}

static void test_parse_notes(void)
{
	uint8_t buf[256] = {0};
	struct image_notes n = {-1, -1};
	const uint8_t v4 = 4, be2[4] = {0, 0, 0, 2};
	CHECK_EQ(image_parse_notes(buf, 0, 4, &n, err, sizeof(err)), 0); /* empty segment */
	CHECK(n.entry_version == -1 && n.uhyve_interface == -1);

	/* The real images' note, 24 bytes, after a GNU build-id note. */
	size_t o = put_note(buf, "GNU", NT_GNU_BUILD_ID, "0123456789abcdef", 16);
	o += put_note(buf + o, "HERMIT", HERMIT_NOTE_ENTRY_VERSION, &v4, 1);
	CHECK_EQ(o, 32 + 24);
	CHECK_EQ(image_parse_notes(buf, o, 4, &n, err, sizeof(err)), 0);
	CHECK(n.entry_version == 4 && n.uhyve_interface == -1);

	/* Another name with the same type is someone else's note. */
	n = (struct image_notes){-1, -1};
	o = put_note(buf, "HERMIX", HERMIT_NOTE_ENTRY_VERSION, &v4, 1);
	o += put_note(buf + o, "HERMI", HERMIT_NOTE_ENTRY_VERSION, &v4, 1);
	CHECK_EQ(image_parse_notes(buf, o, 4, &n, err, sizeof(err)), 0);
	CHECK_EQ(n.entry_version, -1);

	/* uhyve-interface: a big-endian u32. */
	o = put_note(buf, "HERMIT", HERMIT_NOTE_UHYVE_INTERFACE, be2, 4);
	CHECK_EQ(image_parse_notes(buf, o, 4, &n, err, sizeof(err)), 0);
	CHECK_EQ(n.uhyve_interface, 2);

	/* A note whose desc runs past the segment. */
	n = (struct image_notes){-1, -1};
	o = put_note(buf, "HERMIT", HERMIT_NOTE_ENTRY_VERSION, &v4, 1);
	uint32_t huge = 0x10000;
	memcpy(buf + 4, &huge, 4);
	CHECK_EQ(image_parse_notes(buf, o, 4, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "malformed PT_NOTE") != NULL);
	CHECK_EQ(n.entry_version, -1);
}

static void test_static_pie_loads_relocated(void)
{
	struct file f;
	struct image img;
	static_pie(&f);
	memcpy(f.b + 0x1010, "\x11\x22", 2); /* not a relocation target: copied as is */
	CHECK_EQ(open_file("pie", &f, &img), 0);
	CHECK(img.relocatable);
	CHECK_EQ(img.notes.entry_version, 4);
	CHECK_EQ(img.load_bias, HERMIT_ENTRY_LOAD_ADDR);
	CHECK_EQ(img.base, 0x400000);
	CHECK_EQ(img.end, 0x404000);
	CHECK_EQ(img.entry, 0x400100);
	CHECK_EQ(img.seg[0].paddr, 0x400000);
	CHECK_EQ(img.nrela, 2);
	CHECK_EQ(abi_detect(&img), ABI_KIND_ENTRY);

	struct guest_mem m = {0};
	guest_mem_layout(&m, RAM_SIZE);
	m.host = calloc(1, RAM_SIZE);
	CHECK_EQ(image_check_layout(&img, &m, err, sizeof(err)), 0);
	CHECK_EQ(image_load(&img, &m, err, sizeof(err)), 0);
	uint64_t w0, w1;
	memcpy(&w0, m.host + 0x401000, 8);
	memcpy(&w1, m.host + 0x401008, 8);
	CHECK_EQ(w0, 0x402000);
	CHECK_EQ(w1, 0x400123);
	CHECK_MEM(m.host + 0x401010, "\x11\x22", 2);
	CHECK_MEM(m.host + 0x400000, ELFMAG, SELFMAG); /* the first PT_LOAD covers the header */
	image_close(&img);
	free(m.host);

	/* No PT_DYNAMIC at all: a static-PIE without relocations loads as well. */
	static_pie(&f);
	f.eh->e_phnum = 2;
	CHECK_EQ(open_file("pie_no_dynamic", &f, &img), 0);
	CHECK(img.nrela == 0 && img.load_bias == HERMIT_ENTRY_LOAD_ADDR);
	image_close(&img);
}

static void test_relocation_refusals(void)
{
	struct file f;
	static_pie(&f);
	add_rela(&f, 1, 0x1008, R_X86_64_64, 0);
	CHECK(refused("reloc_type", &f, "relocation 1 has type 1"));
	static_pie(&f);
	add_rela(&f, 0, 0x3FF9, R_X86_64_RELATIVE, 0); /* 8 bytes from 0x3FF9 pass memsz */
	CHECK(refused("reloc_past_end", &f, "outside every loadable segment"));
	static_pie(&f);
	add_rela(&f, 0, 0x3FF8, R_X86_64_RELATIVE, 0); /* the last word: fine */
	struct image img;
	CHECK_EQ(open_file("reloc_last_word", &f, &img), 0);
	image_close(&img);
	static_pie(&f);
	add_rela(&f, 0, UINT64_MAX - 3, R_X86_64_RELATIVE, 0);
	CHECK(refused("reloc_wraps", &f, "outside every loadable segment"));

	static_pie(&f);
	const Elf64_Dyn needed[] = {{DT_NEEDED, {1}}};
	memcpy(f.b + DYN_OFF + 3 * sizeof(Elf64_Dyn), needed, sizeof(needed));
	f.ph[2].p_filesz = f.ph[2].p_memsz = 5 * sizeof(Elf64_Dyn);
	CHECK(refused("needed", &f, "shared library"));
	static_pie(&f);
	const Elf64_Dyn rel[] = {{DT_REL, {RELA_OFF}}};
	memcpy(f.b + DYN_OFF, rel, sizeof(rel));
	CHECK(refused("rel", &f, "REL relocations"));
	static_pie(&f);
	const Elf64_Dyn sz[] = {{DT_RELASZ, {50}}};
	memcpy(f.b + DYN_OFF + sizeof(Elf64_Dyn), sz, sizeof(sz));
	CHECK(refused("relasz", &f, "not a multiple"));
	static_pie(&f);
	const Elf64_Dyn far[] = {{DT_RELA, {0x10000}}};
	memcpy(f.b + DYN_OFF, far, sizeof(far));
	CHECK(refused("rela_outside", &f, "not in the file's loadable segments"));
}

static void test_note_refusals(void)
{
	struct file f;
	static_pie(&f);
	f.eh->e_phnum = 1; /* the PT_LOAD only: no note */
	CHECK(refused("dyn_without_note", &f, "without a hermit-entry note"));
	static_pie(&f);
	f.b[NOTE_OFF + 20] = 5;
	CHECK(refused("entry_v5", &f, "hermit-entry version 5"));
	struct file e;
	exec_image(&e, 0x200000, 0x200100);
	add_entry_note(&e, 3);
	CHECK(refused("exec_entry_v3", &e, "proxy boots version 4"));
	exec_image(&e, 0x200000, 0x200100);
	const uint8_t be3[4] = {0, 0, 0, 3};
	add_note(&e, HERMIT_NOTE_NAME, HERMIT_NOTE_UHYVE_INTERFACE, be3, 4);
	CHECK(refused("uhyve_v3", &e, "uhyve-interface version 3"));
	static_pie(&f);
	f.ph[0].p_vaddr = 0x800; /* not page aligned */
	CHECK(refused("pie_unaligned", &f, "not page aligned"));
}

/* Segments are checked where they are placed, HERMIT_ENTRY_LOAD_ADDR + p_vaddr. */
static void test_pie_placement_refusals(void)
{
	struct file f;
	static_pie(&f); /* its PT_LOAD covers [0, 0x4000) */
	/* Distinct p_paddr, overlapping p_vaddr: a static-PIE's p_paddr means nothing. */
	add_phdr(&f, (Elf64_Phdr){PT_LOAD, PF_R, 0x2000, 0x3000, 0x100000, 0x800, 0x1000, 0x1000});
	CHECK(refused("pie_overlap", &f, "[0x400000, 0x404000) and [0x403000, 0x404000) overlap"));
	/* Linked at the top: biased, it would wrap to 0x3ff000, below the image base. */
	static_pie(&f);
	add_phdr(&f, (Elf64_Phdr){PT_LOAD, PF_R, 0x2000, 0xFFFFFFFFFFFFF000ULL, 0, 0x800, 0x1000,
				  0x1000});
	CHECK(refused("pie_wraps", &f, "wraps around the address space once placed"));
}

/* The same detection a user gets: ET_EXEC with the note, RustyHermit, C HermitCore. */
static void test_detect_three_contracts(void)
{
	struct file f;
	struct image img;
	exec_image(&f, 0x800000, 0x800100);
	add_entry_note(&f, 4);
	CHECK_EQ(open_file("exec_entry", &f, &img), 0);
	CHECK(!img.relocatable && img.load_bias == 0 && img.base == 0x800000);
	CHECK_EQ(abi_detect(&img), ABI_KIND_ENTRY);
	image_close(&img);

	exec_image(&f, 0x200000, 0x200100);
	CHECK_EQ(open_file("rusty", &f, &img), 0);
	CHECK_EQ(img.notes.entry_version, -1);
	CHECK_EQ(abi_detect(&img), ABI_KIND_RUSTY);
	image_close(&img);

	/* C HermitCore: entry at the first byte, a jmp, then the header's defaults. */
	exec_image(&f, 0x800000, 0x800000);
	uint8_t *h = f.b + 0x1000;
	h[0] = 0xE9;
	uint32_t ones = 0xFFFFFFFFu, one = 1;
	memcpy(h + 0x1C, &ones, 4);
	memcpy(h + 0x34, &ones, 4);
	memcpy(h + 0x60, &one, 4);
	memcpy(h + 0x74, &one, 4);
	memcpy(h + 0x78, &one, 4);
	memcpy(h + 0xB0, "\x0a\x00\x05\x02\x0a\x00\x05\x01\xff\xff\xff\x00", 12);
	CHECK_EQ(open_file("c", &f, &img), 0);
	CHECK_EQ(abi_detect(&img), ABI_KIND_C);
	image_close(&img);
	/* ... and the note wins over that shape. */
	add_entry_note(&f, 4);
	CHECK_EQ(open_file("c_with_note", &f, &img), 0);
	CHECK_EQ(abi_detect(&img), ABI_KIND_ENTRY);
	image_close(&img);
}

static uint64_t at64(const uint8_t *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, 8);
	return v;
}

static void test_boot_info_bytes(void)
{
	static struct vm vm;
	static struct config cfg;
	struct vcpu cpus[3] = {{.fd = -1}, {.fd = -1}, {.fd = -1}};
	vm.cfg = &cfg;
	vm.ncpus = 3;
	vm.vcpus = cpus;
	guest_mem_layout(&vm.mem, RAM_SIZE);
	vm.mem.host = malloc(RAM_SIZE);
	memset(vm.mem.host, 0xEE, RAM_SIZE);
	vm.image.base = 0x400000;
	vm.image.end = 0x49C600;
	vm.image.tls_start = 0x4906F8;
	vm.image.tls_filesz = 0x20;
	vm.image.tls_memsz = 0x81;
	vm.image.tls_align = 8;
	struct timeval before, after;
	gettimeofday(&before, NULL);
	entry_abi.write_boot_info(&vm);
	gettimeofday(&after, NULL);

	const uint8_t *b = vm.mem.host + 0x9000;
	uint8_t zero[8] = {0};
	CHECK_EQ(at64(b, 0), 0);
	CHECK_EQ(at64(b, 8), RAM_SIZE);
	CHECK(b[16] == 0x00 && b[17] == 0x08); /* serial 0x800, never 0 */
	CHECK_MEM(b + 18, zero, 6);
	CHECK_EQ(at64(b, 24), 0); /* no device tree */
	CHECK_EQ(at64(b, 32), 0x400000);
	CHECK_EQ(at64(b, 40), 0x49C600);
	CHECK_EQ(at64(b, 48), 0x4906F8);
	CHECK_EQ(at64(b, 56), 0x20);
	CHECK_EQ(at64(b, 64), 0x81);
	CHECK_EQ(at64(b, 72), 8);
	CHECK_MEM(b + 80, "\x01\x00\x00\x00", 4); /* platform Uhyve */
	CHECK_MEM(b + 84, zero, 4);
	CHECK_EQ(b[88], 0); /* has_pci */
	CHECK_MEM(b + 89, zero, 7);
	CHECK_EQ(at64(b, 96), 3);
	uint32_t khz;
	memcpy(&khz, b + 104, 4);
	CHECK(khz >= 1000); /* kHz, not MHz: any real TSC is above 1 MHz */
	CHECK_MEM(b + 108, zero, 4);
	uint64_t ns = at64(b, 112);
	CHECK(ns >= (uint64_t)before.tv_sec * 1000000000ULL &&
	      ns <= ((uint64_t)after.tv_sec + 1) * 1000000000ULL);
	CHECK_EQ(at64(b, 120), 0); /* the i128's high half */
	CHECK_EQ(b[128], 0xEE);	   /* exactly 128 bytes */

	/* Start registers: RSI = vCPU index, RSP = bottom of the boot stack. */
	uint64_t rsp = 0, rsi = 0;
	entry_abi.start_stack(&vm, 2, &rsp, &rsi);
	CHECK_EQ(rsp, 0x400000 - 0x8000);
	CHECK_EQ(rsi, 2);
	/* The start gate (section 16): the counter inspect_image found, or the stagger;
	 * the gate writes no boot id into this kernel. */
	vm.abi_gate_gpa = 0x8d5448;
	CHECK_EQ(entry_abi.cpu_online_gpa(&vm), 0x8d5448);
	CHECK_EQ(entry_abi.start_stagger_ms, 50);
	CHECK(entry_abi.boot_id_gpa == NULL);
	CHECK_EQ(entry_abi.boot_rdi, 0x9000);
	free(vm.mem.host);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_image_entry.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_parse_notes();
	test_static_pie_loads_relocated();
	test_relocation_refusals();
	test_note_refusals();
	test_pie_placement_refusals();
	test_detect_three_contracts();
	test_boot_info_bytes();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_report();
}
