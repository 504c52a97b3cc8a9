/* test_snap_payload.c: the checkpoint payload parsers refuse what does not fit,
 * whatever a file whose checksums were made to match says (src/snapshot). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "snap_internal.h"
#include "unit.h"

static struct vm vm;

static void setup(void)
{
	static struct snapshot s;
	guest_mem_layout(&vm.mem, 8 << 20);
	vm.mem.host =
		mmap(NULL, vm.mem.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vm.snap = &s;
}

struct mem_head {
	uint64_t gpa;
	uint32_t npages, flags;
};

static int load(const void *p, size_t len)
{
	char err[256];
	return snap_mem_load(&vm, p, len, err, sizeof(err));
}

/* A full run of 2 pages: the first data, the second zero. */
static void test_mem_full_run(void)
{
	uint8_t buf[16 + 8 + 4096];
	struct mem_head h = {0x10000, 2, 0};
	uint64_t bitmap = 1;
	memcpy(buf, &h, 16);
	memcpy(buf + 16, &bitmap, 8);
	memset(buf + 24, 0xab, 4096);
	memset(vm.mem.host + 0x11000, 0x55, 4096); /* zeroed by the load */
	CHECK_EQ(load(buf, sizeof(buf)), 0);
	CHECK_EQ(vm.mem.host[0x10000], 0xab);
	CHECK_EQ(vm.mem.host[0x10fff], 0xab);
	CHECK_EQ(vm.mem.host[0x11000], 0);
	CHECK_EQ(vm.mem.host[0x11fff], 0);
}

/* MEM_PARTIAL: pages the section does not speak for stay as they are. */
static void test_mem_partial_run(void)
{
	uint8_t buf[16 + 8 + 8];
	struct mem_head h = {0x20000, 3, 1};
	uint64_t covered = 2, data = 0; /* page 1 became zero; pages 0, 2 untouched */
	memcpy(buf, &h, 16);
	memcpy(buf + 16, &covered, 8);
	memcpy(buf + 24, &data, 8);
	memset(vm.mem.host + 0x20000, 0x11, 3 * 4096);
	CHECK_EQ(load(buf, sizeof(buf)), 0);
	CHECK_EQ(vm.mem.host[0x20000], 0x11);
	CHECK_EQ(vm.mem.host[0x21000], 0);
	CHECK_EQ(vm.mem.host[0x22000], 0x11);
}

static void test_mem_refusals(void)
{
	uint8_t buf[16 + 8 + 4096] = {0};
	struct mem_head h;
	uint64_t one = 1;
	memcpy(buf + 16, &one, 8);
	struct {
		uint64_t gpa;
		uint32_t npages, flags;
		size_t len;
	} bad[] = {
		{0x10000, 0, 0, sizeof(buf)},		    /* no pages */
		{0x10000, 513, 0, sizeof(buf)},		    /* more than a run */
		{0x10001, 1, 0, sizeof(buf)},		    /* unaligned */
		{0x10000, 1, 4, sizeof(buf)},		    /* unknown flag */
		{0x10000, 1, 0, sizeof(buf) - 1},	    /* data short */
		{0x10000, 1, 0, 20},			    /* bitmap short */
		{(8 << 20) - 4096, 2, 0, sizeof(buf)},	    /* past the end of RAM */
		{0xfffffffffffff000ULL, 1, 0, sizeof(buf)}, /* wraps */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = (struct mem_head){bad[i].gpa, bad[i].npages, bad[i].flags};
		memcpy(buf, &h, 16);
		CHECK_EQ(load(buf, bad[i].len), -1);
	}
	CHECK_EQ(load(buf, 8), -1);
}

static void test_config_parse(void)
{
	char err[256];
	struct snap_config sc = {0};
	const char good[] = "image=/x/app%25\nabi=rusty\narg=/x/app\narg=a%0ab\n"
			    "mount=ro\t/host\t/guest\nfuture=ignored\n";
	CHECK_EQ(snap_config_parse(good, strlen(good), &sc, err, sizeof(err)), 0);
	CHECK(sc.image && !strcmp(sc.image, "/x/app%"));
	CHECK_EQ(sc.abi, ABI_RUSTY);
	CHECK_EQ(sc.guest_argc, 2);
	CHECK(!strcmp(sc.guest_argv[1], "a\nb"));
	CHECK_EQ(sc.nmounts, 1);
	CHECK(sc.mounts[0].ro && !strcmp(sc.mounts[0].host, "/host") &&
	      !strcmp(sc.mounts[0].guest, "/guest"));
	snapshot_free_config(&sc);
	const char *bad[] = {
		"abi=rusty\narg=a\n",		      /* no image */
		"image=/a\nabi=cobol\narg=a\n",	      /* unknown ABI */
		"image=/a\nabi=c\n",		      /* no argv */
		"image=/a%zz\nabi=c\narg=a\n",	      /* bad escape */
		"image=/a\nabi=c\narg=a\nmount=ro\n", /* mount without paths */
		"no equals sign\n",
		/* Found by fuzz_migstream (LeakSanitizer): what a failed line allocated. */
		"image=/a\nimage=/b\nabi=c\narg=a\narg=%zz\n",	 /* repeated image, bad arg */
		"image=/a\nabi=c\narg=a\nmount=ro\t/h%zz\t/g\n", /* bad mount escape */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&sc, 0, sizeof(sc));
		CHECK_EQ(snap_config_parse(bad[i], strlen(bad[i]), &sc, err, sizeof(err)), -1);
		snapshot_free_config(&sc);
	}
	/* An empty CONFIG section has no payload (NULL, 0): refused, no memcpy from NULL
	 * (UBSan, found by fuzz_migstream). */
	memset(&sc, 0, sizeof(sc));
	CHECK_EQ(snap_config_parse(NULL, 0, &sc, err, sizeof(err)), -1);
	snapshot_free_config(&sc);
}

/* What fuzz_snap_config found (the ASan/UBSan build checks): an empty section
 * (a NULL payload) is refused without memcpy(NULL, 0); a repeated image= line is
 * malformed (and leaks nothing); a bad escape in an arg= or mount= line leaks nothing. */
static void test_config_parse_edges(void)
{
	char err[256];
	struct snap_config sc = {0};
	CHECK_EQ(snap_config_parse(NULL, 0, &sc, err, sizeof(err)), -1);
	snapshot_free_config(&sc);
	const char twice[] = "image=/a\nimage=/b\nabi=c\narg=a\n";
	CHECK_EQ(snap_config_parse(twice, strlen(twice), &sc, err, sizeof(err)), -1);
	snapshot_free_config(&sc);
	const char *bad[] = {"image=/a\nabi=c\narg=a\narg=%4\n",
			     "image=/a\nabi=c\narg=a\nmount=rw\t/h%\t/g\n",
			     "image=/a\nabi=c\narg=a\nmount=rw\t/h\t/g%zz\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(snap_config_parse(bad[i], strlen(bad[i]), &sc, err, sizeof(err)), -1);
		snapshot_free_config(&sc);
	}
}

/* A vCPU payload without the records KVM needs is refused before any ioctl. */
static void test_vcpu_check(void)
{
	char err[256];
	uint8_t junk[64] = {0};
	CHECK_EQ(snap_vcpu_check(junk, sizeof(junk), 0, err, sizeof(err)), -1);
	uint32_t wild[2] = {1, 0xffffffffu}; /* a record claiming 4 GiB */
	CHECK_EQ(snap_vcpu_check(wild, sizeof(wild), 0, err, sizeof(err)), -1);
	CHECK_EQ(snap_vcpu_check(NULL, 0, 3, err, sizeof(err)), -1);
	CHECK(strstr(err, "vCPU 3") != NULL);
}

int main(void)
{
	setup();
	test_mem_full_run();
	test_mem_partial_run();
	test_mem_refusals();
	test_config_parse();
	test_config_parse_edges();
	test_vcpu_check();
	return unit_report();
}
