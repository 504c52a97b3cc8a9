/* test_start_gate.c: what the hermit-entry start gate is built from (hermit-entry-abi.md
 * section 16): finding a symbol by its name's start in an ELF this test writes byte by
 * byte, the gate's checks on the address found, and the panic line the UART reports. */
#include "abi.h"
#include "image.h"
#include "uart.h"
#include "unit.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define PREFIX	     "_ZN6hermit15synch_all_cores12CORE_COUNTER17h"
#define COUNTER_NAME PREFIX "0123456789abcdefE"

static char dir[64];

/* Section headers only (no program headers: image_find_symbol reads no more):
 * .strtab at 0x100, .symtab at 0x200 (4 symbols), .shstrtab at 0x2a0, headers at 0x300. */
struct sym_file {
	uint8_t bytes[0x400];
	size_t size;
};

static struct sym_file symbol_file(void)
{
	static const char strtab[] = "\0other\0" COUNTER_NAME "\0";
	static const char shstrtab[] = "\0.symtab\0.strtab\0.shstrtab";
	const uint32_t other = 1, counter = 7;
	struct sym_file f = {.size = sizeof(f.bytes)};
	Elf64_Ehdr eh = {.e_type = ET_DYN,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_shoff = 0x300,
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_shentsize = sizeof(Elf64_Shdr),
			 .e_shnum = 4,
			 .e_shstrndx = 3};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(f.bytes, &eh, sizeof(eh));
	memcpy(f.bytes + 0x100, strtab, sizeof(strtab));
	Elf64_Sym syms[4] = {
		{0},
		{.st_name = other,
		 .st_info = STT_OBJECT,
		 .st_shndx = 1,
		 .st_value = 0x1000,
		 .st_size = 8},
		/* an undefined symbol of the same name comes first: not the counter */
		{.st_name = counter, .st_info = STT_OBJECT, .st_shndx = SHN_UNDEF},
		{.st_name = counter,
		 .st_info = STT_OBJECT,
		 .st_shndx = 1,
		 .st_value = 0x5000,
		 .st_size = 4},
	};
	memcpy(f.bytes + 0x200, syms, sizeof(syms));
	memcpy(f.bytes + 0x2a0, shstrtab, sizeof(shstrtab));
	Elf64_Shdr sh[4] = {
		{0},
		{.sh_name = 1,
		 .sh_type = SHT_SYMTAB,
		 .sh_offset = 0x200,
		 .sh_size = sizeof(syms),
		 .sh_link = 2,
		 .sh_entsize = sizeof(Elf64_Sym),
		 .sh_addralign = 8},
		{.sh_name = 9,
		 .sh_type = SHT_STRTAB,
		 .sh_offset = 0x100,
		 .sh_size = sizeof(strtab),
		 .sh_addralign = 1},
		{.sh_name = 17,
		 .sh_type = SHT_STRTAB,
		 .sh_offset = 0x2a0,
		 .sh_size = sizeof(shstrtab),
		 .sh_addralign = 1},
	};
	memcpy(f.bytes + 0x300, sh, sizeof(sh));
	return f;
}

static Elf64_Shdr *shdr(struct sym_file *f, int i)
{
	return (Elf64_Shdr *)(f->bytes + 0x300 + i * sizeof(Elf64_Shdr));
}

/* image_find_symbol on f's bytes, with the given load bias. */
static int find(const struct sym_file *f, const char *prefix, uint64_t bias, uint64_t *addr,
		uint64_t *size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/image", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, f->bytes, f->size) != (ssize_t)f->size) {
		perror(path);
		exit(2);
	}
	close(fd);
	struct image img = {.path = path, .fd = open(path, O_RDONLY), .load_bias = bias};
	int rc = image_find_symbol(&img, prefix, addr, size);
	close(img.fd);
	return rc;
}

static void test_find_symbol(void)
{
	struct sym_file f = symbol_file();
	uint64_t addr = 0, size = 0;
	CHECK_EQ(find(&f, PREFIX, 0, &addr, &size), 0);
	CHECK_EQ(addr, 0x5000);
	CHECK_EQ(size, 4);
	CHECK_EQ(find(&f, PREFIX, 0x400000, &addr, &size), 0); /* static-PIE: relocated */
	CHECK_EQ(addr, 0x405000);
	CHECK_EQ(find(&f, "other", 0, &addr, &size), 0);
	CHECK(addr == 0x1000 && size == 8);
	CHECK_EQ(find(&f, "_ZN6hermit9scheduler5spawn12CORE_COUNTER", 0, &addr, &size), -1);

	/* No section headers (a stripped image): none, and no complaint. */
	struct sym_file g = f;
	((Elf64_Ehdr *)g.bytes)->e_shnum = 0;
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	/* The symbol table past the end of the file, a string table index out of range,
	 * a name offset past its table, a zero entry size, a truncated file: none. */
	g = f;
	shdr(&g, 1)->sh_offset = 0x10000;
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	g = f;
	shdr(&g, 1)->sh_link = 99;
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	g = f;
	shdr(&g, 2)->sh_size = 8; /* the counter's name starts at 7: cut off */
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	g = f;
	shdr(&g, 1)->sh_entsize = 0;
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	g = f;
	g.size = 0x250;
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
	g = f;
	g.size = 10; /* not even an ELF header */
	CHECK_EQ(find(&g, PREFIX, 0, &addr, &size), -1);
}

/* The gate reads a u32 inside a loaded segment, at its guest-physical address. */
static void test_gate_address(void)
{
	struct image img = {.nseg = 2};
	img.seg[0] = (struct image_segment){.vaddr = 0x400000, .paddr = 0x400000, .memsz = 0x6000};
	img.seg[1] = (struct image_segment){
		.vaddr = 0xffff800000800000ULL, .paddr = 0x800000, .memsz = 0x1000};
	CHECK_EQ(entry_gate_gpa(&img, 0x405000, 4), 0x405000);
	CHECK_EQ(entry_gate_gpa(&img, 0x400000, 4), 0x400000);
	CHECK_EQ(entry_gate_gpa(&img, 0x405ffc, 4), 0x405ffc); /* the last u32 of the segment */
	CHECK_EQ(entry_gate_gpa(&img, 0x406000, 4), 0);	       /* just past it */
	CHECK_EQ(entry_gate_gpa(&img, 0x3ffffc, 4), 0);	       /* just before it */
	CHECK_EQ(entry_gate_gpa(&img, 0x405002, 4), 0);	       /* unaligned */
	CHECK_EQ(entry_gate_gpa(&img, 0x405000, 8), 0);	       /* not a u32 */
	CHECK_EQ(entry_gate_gpa(&img, 0x405000, 0), 0);
	CHECK_EQ(entry_gate_gpa(&img, 0xffff800000800010ULL, 4), 0x800010); /* vaddr != paddr */
	CHECK_EQ(entry_gate_gpa(&img, 0xfffffffffffffffcULL, 4), 0);
	img.nseg = 0;
	CHECK_EQ(entry_gate_gpa(&img, 0x405000, 4), 0);
}

#define PANIC_LINE(s) uart_is_panic_line(s, sizeof(s) - 1)

static void test_panic_line(void)
{
	CHECK(PANIC_LINE("[1][PANIC] panicked at src/scheduler/mod.rs:934:4:\n"));
	CHECK(PANIC_LINE("[0][PANIC] x"));
	CHECK(PANIC_LINE("[15][!!!PANIC!!!] panicked at 'x', src/lib.rs:1:1\n"));
	CHECK(!PANIC_LINE("[0][WARN] Try to use default APIC address\n"));
	CHECK(!PANIC_LINE("[0][INFO] [PANIC] \n"));
	CHECK(!PANIC_LINE("[][PANIC] x\n"));
	CHECK(!PANIC_LINE("[x][PANIC] x\n"));
	CHECK(!PANIC_LINE(" [0][PANIC] x\n"));
	CHECK(!PANIC_LINE("[0][PANIC]"));
	CHECK(!PANIC_LINE("[0][PANI"));
	CHECK(!PANIC_LINE("[0"));
	CHECK(!PANIC_LINE("["));
	CHECK(!PANIC_LINE("thread 'main' panicked at src/main.rs:2:5:\n"));
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_start_gate.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_find_symbol();
	test_gate_address();
	test_panic_line();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_report();
}
