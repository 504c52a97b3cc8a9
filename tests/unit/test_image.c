/* test_image.c: ELF validation, layout checks and loading, on ELF files this test
 * writes byte by byte into a temporary directory. */
#include "image.h"
#include "hermit_abi.h"
#include "unit.h"

#include <elf.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE  (16ULL << 20)
#define FILE_SIZE 0x3000

static char dir[64];
static char err[1024];
static uint8_t payload[FILE_SIZE]; /* what the segments' file bytes are made of */

struct elf_file {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
	size_t size; /* bytes written to disk (less: a truncated file) */
};

/* A valid image: PT_LOAD 0x180/0x2000 bytes at 0x200000 (file offset 0x1000), a PT_TLS
 * inside it, and PT_LOAD 0x20/0x1000 bytes at 0x400000 (file offset 0x2000). */
static struct elf_file valid_image(void)
{
	struct elf_file f = {.size = FILE_SIZE};
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_ident[EI_OSABI] = HERMIT_ELFOSABI;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_entry = 0x200010;
	f.eh.e_phoff = sizeof(Elf64_Ehdr);
	f.eh.e_ehsize = sizeof(Elf64_Ehdr);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 3;
	f.ph[0] = (Elf64_Phdr){PT_LOAD,	 PF_R | PF_X, 0x1000, 0x200000,
			       0x200000, 0x180,	      0x2000, 0x1000};
	f.ph[1] = (Elf64_Phdr){PT_TLS, PF_R, 0x1080, 0x200080, 0x200080, 0x10, 0x40, 8};
	f.ph[2] = (Elf64_Phdr){PT_LOAD,	 PF_R | PF_W, 0x2000, 0x400000,
			       0x400000, 0x20,	      0x1000, 0x1000};
	return f;
}

static const char *write_elf(const char *name, const struct elf_file *f)
{
	static char path[128];
	uint8_t buf[FILE_SIZE];
	memcpy(buf, payload, sizeof(buf));
	memcpy(buf, &f->eh, sizeof(f->eh));
	memcpy(buf + sizeof(f->eh), f->ph, sizeof(f->ph));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, f->size) != (ssize_t)f->size) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

/* err must be "<path>: ...<what>...". */
static int refused_with(const char *path, const char *what)
{
	size_t n = strlen(path);
	int ok = !strncmp(err, path, n) && !strncmp(err + n, ": ", 2) && strstr(err, what);
	if (!ok)
		fprintf(stderr, "    err \"%s\", wanted \"%s\"\n", err, what);
	return ok;
}

/* image_open must refuse f, close its fd, and say `what`. */
#define CHECK_OPEN_REFUSED(name, f, what)                                                          \
	do {                                                                                       \
		struct image img_;                                                                 \
		const char *p_ = write_elf(name, &(f));                                            \
		err[0] = 0;                                                                        \
		CHECK(image_open(&img_, p_, err, sizeof(err)) == -1 && img_.fd == -1);             \
		CHECK(refused_with(p_, what));                                                     \
	} while (0)

static void test_open_valid(void)
{
	struct elf_file f = valid_image();
	struct image img;
	const char *path = write_elf("valid", &f);
	CHECK_EQ(image_open(&img, path, err, sizeof(err)), 0);
	CHECK(img.fd >= 0);
	CHECK_EQ(img.entry, 0x200010);
	CHECK_EQ(img.base, 0x200000);
	CHECK_EQ(img.end, 0x401000);
	CHECK_EQ(img.first_paddr, 0x200000);
	CHECK_EQ(img.tls_start, 0x200080);
	CHECK_EQ(img.tls_filesz, 0x10);
	CHECK_EQ(img.tls_memsz, 0x40);
	CHECK_EQ(img.file_size, FILE_SIZE);
	CHECK_EQ(img.nseg, 2);
	CHECK(img.seg[0].offset == 0x1000 && img.seg[0].paddr == 0x200000 &&
	      img.seg[0].filesz == 0x180 && img.seg[0].memsz == 0x2000);
	CHECK(img.seg[1].offset == 0x2000 && img.seg[1].paddr == 0x400000 &&
	      img.seg[1].filesz == 0x20 && img.seg[1].memsz == 0x1000);
	CHECK_EQ(img.head_len, 0x100);
	CHECK_MEM(img.head, payload + 0x1000, 0x100);
	image_close(&img);
	CHECK_EQ(img.fd, -1);

	/* No PT_TLS: the TLS fields stay 0. Segments in any order: base/end are extremes. */
	f.ph[1] = f.ph[0];
	f.ph[0] = f.ph[2];
	f.eh.e_phnum = 2;
	path = write_elf("no_tls", &f);
	CHECK_EQ(image_open(&img, path, err, sizeof(err)), 0);
	CHECK(img.base == 0x200000 && img.end == 0x401000 && img.first_paddr == 0x400000);
	CHECK(img.tls_start == 0 && img.tls_filesz == 0 && img.tls_memsz == 0);
	image_close(&img);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_open_refused(void)
{
	struct elf_file f = valid_image();
	struct image img;
	f.eh.e_ident[EI_CLASS] = ELFCLASS32;
	CHECK_OPEN_REFUSED("class32", f, "64-bit");
	f = valid_image();
	f.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK_OPEN_REFUSED("msb", f, "little-endian");
	f = valid_image();
	f.eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	CHECK_OPEN_REFUSED("osabi0", f, "OSABI");
	f = valid_image();
	f.eh.e_machine = EM_386;
	CHECK_OPEN_REFUSED("i386", f, "x86-64");
	f = valid_image();
	f.eh.e_type = ET_DYN;
	CHECK_OPEN_REFUSED("dyn", f, "without a hermit-entry note");
	f = valid_image();
	f.ph[2].p_filesz = 0x1001;
	CHECK_OPEN_REFUSED("filesz", f, "p_filesz");
	f = valid_image();
	f.size = 0x1100; /* the first segment needs bytes up to 0x1180 */
	CHECK_OPEN_REFUSED("truncated", f, "truncated");
	f = valid_image();
	f.ph[2].p_offset = UINT64_MAX - 0x10; /* offset + filesz wraps */
	CHECK_OPEN_REFUSED("offset_wrap", f, "truncated");
	f = valid_image();
	f.ph[2].p_paddr = UINT64_MAX - 0x100;
	CHECK_OPEN_REFUSED("paddr_wrap", f, "wraps");
	f = valid_image();
	f.ph[0].p_type = PT_NOTE;
	f.ph[2].p_memsz = 0; /* an empty PT_LOAD loads nothing */
	f.ph[2].p_filesz = 0;
	CHECK_OPEN_REFUSED("no_load", f, "PT_LOAD");
	f = valid_image();
	f.eh.e_phnum = 40;
	f.size = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr); /* headers cut short */
	CHECK_OPEN_REFUSED("short_phdrs", f, "program header");

	f = valid_image();
	f.size = 0;
	CHECK_OPEN_REFUSED("empty", f, "not an ELF");
	memcpy(f.eh.e_ident, "#!/bin/sh\n", 10);
	f.size = FILE_SIZE;
	CHECK_OPEN_REFUSED("script", f, "not an ELF");

	char path[128];
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK(image_open(&img, path, err, sizeof(err)) == -1 && refused_with(path, "cannot open"));
	CHECK(image_open(&img, dir, err, sizeof(err)) == -1 && refused_with(dir, "regular file"));

	/* A FIFO without a writer must be refused, not waited on (the alarm breaks a hang). */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) == 0) {
		alarm(2);
		CHECK(image_open(&img, path, err, sizeof(err)) == -1 &&
		      refused_with(path, "regular file"));
		alarm(0);
	}
}

/* The program header table's shape, overlapping segments and a split entry point. */
static void test_open_refused_shape(void)
{
	struct elf_file f = valid_image();
	struct image img;
	f.eh.e_phentsize = 64;
	CHECK_OPEN_REFUSED("phentsize", f, "are 64 bytes (e_phentsize), expected 56");
	f = valid_image();
	f.eh.e_phoff = sizeof(Elf64_Ehdr) + 4;
	CHECK_OPEN_REFUSED("phoff", f, "(e_phoff) is not 8-byte aligned");

	f = valid_image();
	f.ph[2].p_paddr = 0x201FFF; /* the last byte of the first segment */
	f.ph[2].p_vaddr = 0x201FFF;
	CHECK_OPEN_REFUSED("overlap", f, "[0x200000, 0x202000) and [0x201fff, 0x202fff) overlap");
	f.ph[2].p_paddr = 0x1FF001; /* the second ends inside the first */
	CHECK_OPEN_REFUSED("overlap_below", f, "overlap");
	f.ph[2].p_paddr = 0x202000; /* adjacent: fine */
	CHECK_EQ(image_open(&img, write_elf("adjacent", &f), err, sizeof(err)), 0);
	image_close(&img);
	f.ph[2].p_paddr = 0x200100; /* an empty PT_LOAD loads nothing, overlaps nothing */
	f.ph[2].p_memsz = f.ph[2].p_filesz = 0;
	CHECK_EQ(image_open(&img, write_elf("empty_inside", &f), err, sizeof(err)), 0);
	image_close(&img);

	/* Loaded by p_paddr, linked in the higher half: the entry is a virtual address. */
	f = valid_image();
	f.ph[0].p_vaddr = 0xFFFFFFFF80200000ULL;
	f.ph[1].p_vaddr = 0xFFFFFFFF80200080ULL;
	CHECK_OPEN_REFUSED("entry_physical", f,
			   "entry point 0x200010 lies outside every PT_LOAD segment's virtual");
	f.eh.e_entry = 0xFFFFFFFF80202000ULL; /* one past the end */
	CHECK_OPEN_REFUSED("entry_past_end", f, "outside every PT_LOAD");
	f.eh.e_entry = 0xFFFFFFFF80200010ULL;
	CHECK_EQ(image_open(&img, write_elf("entry_virtual", &f), err, sizeof(err)), 0);
	CHECK(img.entry == 0xFFFFFFFF80200010ULL && img.seg[0].paddr == 0x200000);
	image_close(&img);
	/* p_vaddr = p_paddr: the ABI check (abi.c) reports an entry outside, as before. */
	f = valid_image();
	f.eh.e_entry = 0x100;
	CHECK_EQ(image_open(&img, write_elf("entry_identity", &f), err, sizeof(err)), 0);
	image_close(&img);
}

/* The real images under ../shared/guests/<guest>/ (outside the repository, run from
 * its root as run-tests does) must still open; files that are not ELF are skipped. */
static void test_real_guests(void)
{
	glob_t g;
	int found = 0;
	if (glob("../shared/guests/*/*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char magic[SELFMAG] = {0};
			int fd = open(g.gl_pathv[i], O_RDONLY);
			bool elf = fd >= 0 && read(fd, magic, SELFMAG) == SELFMAG &&
				   !memcmp(magic, ELFMAG, SELFMAG);
			if (fd >= 0)
				close(fd);
			if (!elf)
				continue;
			struct image img;
			found++;
			int rc = image_open(&img, g.gl_pathv[i], err, sizeof(err));
			CHECK_EQ(rc, 0);
			if (rc)
				fprintf(stderr, "    %s\n", err);
			image_close(&img);
		}
		globfree(&g);
	}
	if (found)
		printf("opened %d real guest image(s) under ../shared/guests\n", found);
	else
		printf("skipped the real guest images: none under ../shared/guests\n");
}

static int layout_of(const char *name, const struct elf_file *f, const struct guest_mem *m)
{
	struct image img;
	const char *path = write_elf(name, f);
	if (image_open(&img, path, err, sizeof(err))) {
		fprintf(stderr, "    %s: %s\n", name, err);
		return -2;
	}
	err[0] = 0;
	int rc = image_check_layout(&img, m, err, sizeof(err));
	image_close(&img);
	return rc;
}

static void test_layout(void)
{
	struct guest_mem m = {0};
	struct elf_file f = valid_image();
	guest_mem_layout(&m, RAM_SIZE);
	m.host = malloc(RAM_SIZE);
	char path[128];

	CHECK_EQ(layout_of("valid", &f, &m), 0);
	f.ph[2].p_paddr = RAM_SIZE - 0x800; /* half in RAM */
	CHECK_EQ(layout_of("above_ram", &f, &m), -1);
	snprintf(path, sizeof(path), "%s/above_ram", dir);
	CHECK(refused_with(path, "outside guest memory"));

	f = valid_image();
	f.ph[0].p_paddr = 0x1000;
	CHECK_EQ(layout_of("base_0x1000", &f, &m), -1);
	CHECK(strstr(err, "fixed area") != NULL);
	/* The boot stack [base - 0x8000, base) would cover the page tables at 0x12000. */
	f.ph[0].p_paddr = 0x18000;
	CHECK_EQ(layout_of("stack_on_tables", &f, &m), -1);
	CHECK(strstr(err, "fixed area") && strstr(err, "boot stack"));
	f.ph[0].p_paddr = 0x1B000; /* stack = [0x13000, 0x1B000): just clear */
	CHECK_EQ(layout_of("lowest_base", &f, &m), 0);
	free(m.host);

	/* 2 GiB of RAM (an untouched reservation): the boot tables map only the first GiB. */
	uint64_t big = 2ULL << 30;
	void *res = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return;
	guest_mem_layout(&m, big);
	m.host = res;
	f = valid_image();
	f.ph[2].p_paddr = (1ULL << 30) - 0x800;
	CHECK_EQ(layout_of("above_1g", &f, &m), -1);
	CHECK(strstr(err, "first 1 GiB") != NULL);
	f.ph[2].p_paddr = (1ULL << 30) - 0x1000;
	CHECK_EQ(layout_of("below_1g", &f, &m), 0);
	munmap(res, big);
}

static void test_load(void)
{
	struct guest_mem m = {0};
	struct elf_file f = valid_image();
	struct image img;
	guest_mem_layout(&m, RAM_SIZE);
	m.host = calloc(1, RAM_SIZE); /* fresh RAM is zero, like the anonymous mapping */
	uint8_t *ram = m.host, zero[0x2000] = {0};

	CHECK_EQ(image_open(&img, write_elf("valid", &f), err, sizeof(err)), 0);
	CHECK_EQ(image_load(&img, &m, err, sizeof(err)), 0);
	CHECK_MEM(ram + 0x200000, payload + 0x1000, 0x180);
	CHECK_MEM(ram + 0x200180, zero, 0x2000 - 0x180);
	CHECK_MEM(ram + 0x400000, payload + 0x2000, 0x20);
	CHECK_MEM(ram + 0x400020, zero, 0x1000 - 0x20);
	CHECK_MEM(ram + 0x1FF000, zero, 0x1000); /* nothing below the image */
	image_close(&img);

	/* image_load checks the range itself too. */
	f.ph[2].p_paddr = RAM_SIZE;
	const char *path = write_elf("above_ram", &f);
	CHECK_EQ(image_open(&img, path, err, sizeof(err)), 0);
	CHECK_EQ(image_load(&img, &m, err, sizeof(err)), -1);
	CHECK(refused_with(path, "does not fit"));
	image_close(&img);
	free(m.host);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 5);
	snprintf(dir, sizeof(dir), "/tmp/test_image.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_open_valid();
	test_open_refused();
	test_open_refused_shape();
	test_real_guests();
	test_layout();
	test_load();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return unit_report();
}
