/* test_uhyve_if.c: the uhyve-interface 1, 2 and 3 hypercalls (hermit-fdt-abi.md
 * sections 4 and 5) against a fake VM: structs in fake RAM, page tables for the
 * guest-virtual buffers of interface 1, a --mount of a scratch directory, the
 * temporary directory for unmapped paths; Hermit's errno numbers, the getdents
 * records, FileAttr, and the temporary directory's life cycle. */
#include "hermit_abi.h"
#include "hermit_fdt_abi.h"
#include "hypercall.h"
#include "mounts.h"
#include "tempdir.h"
#include "uart.h"
#include "uhyve_if.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAM_SIZE (16ULL << 20)
#define CR3	 0x1000ULL
#define P	 (PTE_PRESENT | PTE_WRITABLE)
#define ARGS	 0x8000ULL   /* hypercall structs */
#define NAME	 0x9000ULL   /* path strings */
#define PBUF	 0x200000ULL /* physical buffers (interfaces 2, 3) */
#define ATTR	 0xA000ULL
/* Virtual 0x10000 -> 0x100000, 0x11000 -> 0x300000 (not contiguous), 0x12000 unmapped. */
#define VBUF 0x10000ULL

struct fake {
	struct config cfg;
	struct vm vm;
	struct vcpu v;
	struct kvm_run run;
	uint8_t *ram;
	struct tempdir *temp;
};

static char top[] = "/tmp/test_uhyve_if.XXXXXX";
static char data[512], tmp_base[512], kept[512];

static void set_entry(uint8_t *ram, uint64_t table, unsigned i, uint64_t val)
{
	memcpy(ram + table + 8 * i, &val, 8);
}

/* A VM with `data` mounted at /data and a kept temporary directory (no cleaner). */
static void fake_init(struct fake *f, const char *tempdir)
{
	memset(f, 0, sizeof(*f));
	f->vm.cfg = &f->cfg;
	f->vm.end_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	guest_mem_layout(&f->vm.mem, RAM_SIZE);
	f->vm.mem.host = f->ram;
	set_entry(f->ram, 0x1000, 0, 0x2000 | P);
	set_entry(f->ram, 0x2000, 0, 0x3000 | P);
	set_entry(f->ram, 0x3000, 0, 0x4000 | P);
	set_entry(f->ram, 0x4000, 0x10, 0x100000 | P);
	set_entry(f->ram, 0x4000, 0x11, 0x300000 | P);
	f->v.vm = &f->vm;
	f->v.fd = -1;
	f->v.run = &f->run;
	f->run.kvm_valid_regs = KVM_SYNC_X86_SREGS;
	f->run.s.regs.sregs.cr3 = CR3;
	fd_table_init(&f->vm);
	static struct mount_spec spec;
	spec = (struct mount_spec){.host = data, .guest = "/data"};
	char err[512];
	f->vm.mounts = mounts_open(&spec, 1, NULL, err, sizeof(err));
	CHECK(f->vm.mounts != NULL);
	f->temp = tempdir_create(tempdir, NULL, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(f->temp != NULL);
	mounts_attach_tempdir(f->vm.mounts, f->temp);
}

static void fake_free(struct fake *f)
{
	fd_table_close_all(&f->vm);
	mounts_close(f->vm.mounts);
	free(f->ram);
}

static void put_name(struct fake *f, const char *s)
{
	strcpy((char *)f->ram + NAME, s);
}

static void *arg(struct fake *f)
{
	return f->ram + ARGS;
}

/* ---- interface 1 ------------------------------------------------------------ */

static int v1_open(struct fake *f, const char *path, int flags, int mode)
{
	put_name(f, path);
	struct hermit_open o = {.name = NAME, .flags = flags, .mode = mode, .ret = 12345};
	memcpy(arg(f), &o, sizeof(o));
	uhyve_v1_call(&f->v, HERMIT_PORT_OPEN, ARGS);
	memcpy(&o, arg(f), sizeof(o));
	return o.ret;
}

static uint64_t v1_write(struct fake *f, int fd, uint64_t gva, uint64_t len)
{
	struct hermit_write w = {.fd = fd, .buf = gva, .len = len};
	memcpy(arg(f), &w, sizeof(w));
	uhyve_v1_call(&f->v, HERMIT_PORT_WRITE, ARGS);
	memcpy(&w, arg(f), sizeof(w));
	return w.len;
}

static int64_t v1_read(struct fake *f, int fd, uint64_t gva, uint64_t len)
{
	struct hermit_read r = {.fd = fd, .buf = gva, .len = len, .ret = 12345};
	memcpy(arg(f), &r, sizeof(r));
	uhyve_v1_call(&f->v, HERMIT_PORT_READ, ARGS);
	memcpy(&r, arg(f), sizeof(r));
	return r.ret;
}

static int64_t v1_lseek(struct fake *f, int fd, int64_t off, int whence)
{
	struct hermit_lseek l = {.fd = fd, .offset = off, .whence = whence};
	memcpy(arg(f), &l, sizeof(l));
	uhyve_v1_call(&f->v, HERMIT_PORT_LSEEK, ARGS);
	memcpy(&l, arg(f), sizeof(l));
	return l.offset;
}

static int v1_simple(struct fake *f, uint16_t port, int fd_or_name)
{
	if (port == HERMIT_PORT_CLOSE) {
		struct hermit_close c = {.fd = fd_or_name, .ret = 12345};
		memcpy(arg(f), &c, sizeof(c));
		uhyve_v1_call(&f->v, port, ARGS);
		memcpy(&c, arg(f), sizeof(c));
		return c.ret;
	}
	struct hermit_unlink u = {.name = NAME, .ret = 12345};
	memcpy(arg(f), &u, sizeof(u));
	uhyve_v1_call(&f->v, port, ARGS);
	memcpy(&u, arg(f), sizeof(u));
	return u.ret;
}

/* Checklist 16, 17, 18: a buffer over two non-contiguous pages, an unmapped one,
 * a file at an unmapped path created, written, read back, closed, unlinked. */
static void test_v1_files(void)
{
	struct fake f;
	fake_init(&f, kept);
	CHECK_EQ(v1_open(&f, "/scratch.txt", O_RDWR, 0), -HFDT_ENOENT);
	int fd = v1_open(&f, "/scratch.txt", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 3);
	memcpy(f.ram + 0x100FF0, "0123456789abcdef", 16);
	memcpy(f.ram + 0x300000, "ghijklmnopqrstuv", 16);
	CHECK_EQ(v1_write(&f, fd, VBUF + 0xFF0, 32), 32);
	/* Crossing into the unmapped page: nothing written, count 0 (WRITE has no
	 * error field: the kernel takes len back as the count). */
	CHECK_EQ(v1_write(&f, fd, VBUF + 0x1FF8, 16), 0);
	CHECK_EQ(v1_write(&f, 99, VBUF, 4), 0);
	CHECK_EQ(v1_lseek(&f, fd, 0, SEEK_END), 32);
	CHECK_EQ(v1_lseek(&f, fd, 0, SEEK_SET), 0);
	CHECK_EQ(v1_lseek(&f, 99, 0, SEEK_SET), -HFDT_EBADF);
	memset(f.ram + 0x100FF0, 0, 16);
	memset(f.ram + 0x300000, 0, 16);
	CHECK_EQ(v1_read(&f, fd, VBUF + 0xFF0, 32), 32);
	CHECK(!memcmp(f.ram + 0x100FF0, "0123456789abcdef", 16));
	CHECK(!memcmp(f.ram + 0x300000, "ghijklmnopqrstuv", 16));
	CHECK_EQ(v1_lseek(&f, fd, 0, SEEK_SET), 0);
	CHECK_EQ(v1_read(&f, fd, VBUF + 0x1FF8, 16), -HFDT_EFAULT);
	CHECK_EQ(v1_lseek(&f, fd, 0, SEEK_CUR), 0); /* nothing was read */
	/* The file is in the temporary directory, not in the mount. */
	char host[1024];
	snprintf(host, sizeof(host), "%s/1-scratch.txt", kept);
	struct stat st;
	CHECK(stat(host, &st) == 0 && st.st_size == 32);
	snprintf(host, sizeof(host), "%s/scratch.txt", data);
	CHECK(stat(host, &st) != 0);
	/* Even a mode with the setuid bit through the policy's own entry point. */
	int raw = mounts_open_path(f.vm.mounts, "/suid-temp", O_WRONLY | O_CREAT, 06777);
	CHECK(raw >= 0 && fstat(raw, &st) == 0 && (st.st_mode & 07000) == 0);
	close(raw);
	CHECK_EQ(v1_simple(&f, HERMIT_PORT_CLOSE, fd), 0);
	CHECK_EQ(v1_simple(&f, HERMIT_PORT_CLOSE, 99), -HFDT_EBADF);
	CHECK_EQ(v1_simple(&f, HERMIT_PORT_CLOSE, 1), 0); /* stdio: 0, never closed */
	/* Open again by its guest path, then unlink it. */
	fd = v1_open(&f, "/scratch.txt", O_RDONLY, 0);
	CHECK(fd >= 3);
	v1_simple(&f, HERMIT_PORT_CLOSE, fd);
	put_name(&f, "/scratch.txt");
	CHECK_EQ(v1_simple(&f, HERMIT_PORT_UNLINK, 0), 0);
	CHECK_EQ(v1_simple(&f, HERMIT_PORT_UNLINK, 0), -HFDT_ENOENT);
	CHECK_EQ(v1_open(&f, "/scratch.txt", O_RDONLY, 0), -HFDT_ENOENT);
	snprintf(host, sizeof(host), "%s/1-scratch.txt", kept);
	CHECK(stat(host, &st) != 0);
	/* A mapped path: the mount's policy, the mode masked with 0777. */
	fd = v1_open(&f, "/data/v1.txt", O_WRONLY | O_CREAT, 06777);
	CHECK(fd >= 3);
	snprintf(host, sizeof(host), "%s/v1.txt", data);
	CHECK(stat(host, &st) == 0 && (st.st_mode & 07000) == 0);
	v1_simple(&f, HERMIT_PORT_CLOSE, fd);
	CHECK_EQ(v1_open(&f, "/data/missing", O_RDONLY, 0), -HFDT_ENOENT);
	CHECK_EQ(v1_open(&f, "/data", O_CREAT | O_DIRECTORY, 0), -HFDT_EINVAL);
	fake_free(&f);
}

/* Checklist 19. */
static void test_v1_exit(void)
{
	struct fake f;
	fake_init(&f, kept);
	int32_t code = 42;
	memcpy(arg(&f), &code, 4);
	uhyve_v1_call(&f.v, HERMIT_PORT_EXIT, ARGS);
	CHECK(atomic_load(&f.vm.ending) && f.vm.exit_status == 42);
	fake_free(&f);
	fake_init(&f, kept);
	code = -1;
	memcpy(arg(&f), &code, 4);
	uhyve_v1_call(&f.v, HERMIT_PORT_EXIT, ARGS);
	CHECK_EQ(f.vm.exit_status, 255);
	fake_free(&f);
}

/* The kernel log: exactly len bytes (checklist 15, 21), on stderr under verbose. */
static void test_serial(void)
{
	struct fake f;
	fake_init(&f, kept);
	f.cfg.verbose = true;
	uart_register(&f.vm);
	char path[600];
	snprintf(path, sizeof(path), "%s/stderr", top);
	int out = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
	dup2(out, 2);
	memcpy(f.ram + PBUF, "kernel log\nXXXX", 15);
	struct hfdt_v1_serial_buffer s1 = {.buf = PBUF, .len = 11};
	memcpy(arg(&f), &s1, sizeof(s1));
	uhyve_v1_call(&f.v, HFDT_V1_PORT_SERIAL_BUFFER, ARGS);
	memcpy(f.ram + PBUF, "second\nYYYY", 11);
	struct hfdt_v2_serial_write_buf s2 = {.len = 7, .buf = PBUF};
	memcpy(arg(&f), &s2, sizeof(s2));
	uhyve_v2_call(&f.v, HFDT_V2_PORT_SERIAL_WRITE_BUF, ARGS);
	uhyve_v2_call(&f.v, HFDT_V2_PORT_SERIAL_WRITE_BYTE, 'Z');
	uhyve_v2_call(&f.v, HFDT_V2_PORT_SERIAL_WRITE_BYTE, '\n');
	s2.buf = RAM_SIZE - 2; /* not RAM: dropped */
	memcpy(arg(&f), &s2, sizeof(s2));
	uhyve_v2_call(&f.v, HFDT_V2_PORT_SERIAL_WRITE_BUF, ARGS);
	uart_flush(&f.vm);
	dup2(saved, 2);
	close(saved);
	char got[64] = "";
	CHECK(pread(out, got, sizeof(got) - 1, 0) > 0);
	CHECK_STR(got, "kernel log\nsecond\nZ\n");
	close(out);
	free(f.vm.uart); /* nothing else frees it: proxy keeps it to the end */
	fake_free(&f);
}

/* ---- interfaces 2 and 3 ---------------------------------------------------- */

static int64_t v2_rw(struct fake *f, uint16_t port, int fd, uint64_t buf, uint64_t len)
{
	struct hfdt_v2_rw a = {.len = len, .ret = 12345, .buf = buf, .fd = fd};
	memcpy(arg(f), &a, sizeof(a));
	uhyve_v2_call(&f->v, port, ARGS);
	memcpy(&a, arg(f), sizeof(a));
	CHECK_EQ(a.len, len); /* untouched */
	return a.ret;
}

static int v2_open(struct fake *f, const char *path, int flags, int mode)
{
	put_name(f, path);
	struct hermit_open o = {.name = NAME, .flags = flags, .mode = mode, .ret = 12345};
	memcpy(arg(f), &o, sizeof(o));
	uhyve_v2_call(&f->v, HFDT_V2_PORT_FILE_OPEN, ARGS);
	memcpy(&o, arg(f), sizeof(o));
	return o.ret;
}

static int v2_close(struct fake *f, int fd)
{
	struct hermit_close c = {.fd = fd, .ret = 12345};
	memcpy(arg(f), &c, sizeof(c));
	uhyve_v2_call(&f->v, HFDT_V2_PORT_FILE_CLOSE, ARGS);
	memcpy(&c, arg(f), sizeof(c));
	return c.ret;
}

static int64_t v2_lseek(struct fake *f, int fd, int64_t off, unsigned whence)
{
	struct hfdt_v2_lseek l = {.offset = off, .whence = whence, .fd = fd};
	memcpy(arg(f), &l, sizeof(l));
	uhyve_v2_call(&f->v, HFDT_V2_PORT_FILE_LSEEK, ARGS);
	memcpy(&l, arg(f), sizeof(l));
	return l.offset;
}

/* Checklist 22, 23, 24, 25. */
static void test_v2_files(void)
{
	struct fake f;
	fake_init(&f, kept);
	int fd = v2_open(&f, "/data/v2.txt", O_RDWR | O_CREAT | O_TRUNC, 0666);
	CHECK(fd >= 3);
	memcpy(f.ram + PBUF, "hello v2", 8);
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_WRITE, fd, PBUF, 8), 8); /* ret = byte count */
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_WRITE, 77, PBUF, 8), -HFDT_EBADF);
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_WRITE, fd, RAM_SIZE - 4, 8), -HFDT_EFAULT);
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_WRITE, fd, PBUF, 0), 0);
	CHECK_EQ(v2_lseek(&f, fd, 0, SEEK_END), 8); /* {0, 2, fd}: the size */
	CHECK_EQ(v2_lseek(&f, fd, 0, SEEK_SET), 0);
	CHECK_EQ(v2_lseek(&f, 55, 0, SEEK_SET), -HFDT_EBADF);
	memset(f.ram + PBUF, 0, 8);
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_READ, fd, PBUF, 64), 8);
	CHECK(!memcmp(f.ram + PBUF, "hello v2", 8));
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_READ, fd, PBUF, 64), 0);
	/* stdin (fd 0) at EOF: /dev/null for this test. */
	CHECK_EQ(v2_rw(&f, HFDT_V2_PORT_FILE_READ, 0, PBUF, 64), 0);
	CHECK_EQ(v2_close(&f, fd), 0);
	CHECK_EQ(v2_close(&f, fd), -HFDT_EBADF);
	CHECK_EQ(v2_close(&f, 0), 0);
	CHECK_EQ(v2_open(&f, "/nowhere/x", O_RDONLY, 0), -HFDT_ENOENT);
	CHECK_EQ(v2_open(&f, "/data", O_CREAT | O_DIRECTORY, 0), -HFDT_EINVAL);
	CHECK_EQ(v2_open(&f, "/data/v2.txt", O_RDONLY | O_CREAT | O_EXCL, 0), -HFDT_EEXIST);
	/* A setuid/setgid/sticky mode never reaches the host. */
	fd = v2_open(&f, "/data/suid", O_WRONLY | O_CREAT, 07777);
	char host[1024];
	snprintf(host, sizeof(host), "%s/suid", data);
	struct stat st;
	CHECK(fd >= 3 && stat(host, &st) == 0 && (st.st_mode & 07000) == 0);
	v2_close(&f, fd);
	put_name(&f, "/data/suid");
	struct hermit_unlink u = {.name = NAME, .ret = 12345};
	memcpy(arg(&f), &u, sizeof(u));
	uhyve_v2_call(&f.v, HFDT_V2_PORT_FILE_UNLINK, ARGS);
	memcpy(&u, arg(&f), sizeof(u));
	CHECK_EQ(u.ret, 0);
	CHECK(stat(host, &st) != 0);
	uhyve_v2_call(&f.v, HFDT_V2_PORT_FILE_UNLINK, ARGS);
	memcpy(&u, arg(&f), sizeof(u));
	CHECK_EQ(u.ret, -HFDT_ENOENT);
	/* The serial read buffer call reads nothing. */
	struct hfdt_v2_serial_read_buf rb = {.maxlen = 8, .len = 99, .buf = PBUF};
	memcpy(arg(&f), &rb, sizeof(rb));
	uhyve_v2_call(&f.v, HFDT_V2_PORT_SERIAL_READ_BUF, ARGS);
	memcpy(&rb, arg(&f), sizeof(rb));
	CHECK_EQ(rb.len, 0);
	/* Exit: RDI is the code, as a u32. */
	uhyve_v2_call(&f.v, HFDT_V2_PORT_EXIT, 0xFFFFFFFFULL);
	CHECK(atomic_load(&f.vm.ending) && f.vm.exit_status == 255);
	fake_free(&f);
}

static struct hfdt_v3_getdents v3_getdents(struct fake *f, int fd, uint64_t len)
{
	struct hfdt_v3_getdents g = {.fd = fd, .buf = PBUF, .len = len, .tag = 0};
	memcpy(arg(f), &g, sizeof(g));
	uhyve_v2_call(&f->v, HFDT_V3_PORT_GETDENTS, ARGS);
	memcpy(&g, arg(f), sizeof(g));
	return g;
}

/* Whether the records in buf (n bytes) are well formed and name `want`. */
static bool records_name(const uint8_t *buf, uint64_t n, const char *want)
{
	bool found = false;
	for (uint64_t off = 0; off < n;) {
		struct hfdt_dirent64 d;
		memcpy(&d, buf + off, sizeof(d));
		const char *name = (const char *)buf + off + offsetof(struct hfdt_dirent64, d_name);
		size_t len = strlen(name);
		CHECK_EQ(d.d_reclen, (19 + len + 1 + 7) & ~7ULL); /* align8(20 + namelen) */
		if (d.d_reclen == 0)
			return false;
		found |= !strcmp(name, want) && d.d_type == DT_REG;
		off += d.d_reclen;
	}
	return found;
}

/* Checklist 26. */
static void test_v3_getdents(void)
{
	struct fake f;
	fake_init(&f, kept);
	char host[1024];
	snprintf(host, sizeof(host), "%s/listed-file", data);
	close(open(host, O_WRONLY | O_CREAT, 0644));
	int fd = v2_open(&f, "/data", O_RDONLY | O_DIRECTORY, 0);
	CHECK(fd >= 3);
	struct hfdt_v3_getdents g = v3_getdents(&f, fd, 8); /* too small for one record */
	CHECK_EQ(g.tag, HFDT_V3_GETDENTS_ERROR);
	CHECK_EQ((int32_t)g.payload, HFDT_EINVAL);
	g = v3_getdents(&f, fd, 4096);
	CHECK_EQ(g.tag, HFDT_V3_GETDENTS_OK);
	CHECK(g.payload > 0 && records_name(f.ram + PBUF, g.payload, "listed-file"));
	g = v3_getdents(&f, fd, 4096);
	CHECK_EQ(g.tag, HFDT_V3_GETDENTS_END);
	g = v3_getdents(&f, 66, 4096);
	CHECK_EQ(g.tag, HFDT_V3_GETDENTS_ERROR);
	CHECK_EQ((int32_t)g.payload, HFDT_EBADF);
	for (int std = 0; std < 3; std++) { /* stdio is not listed, as fstat refuses it */
		g = v3_getdents(&f, std, 4096);
		CHECK_EQ(g.tag, HFDT_V3_GETDENTS_ERROR);
		CHECK_EQ((int32_t)g.payload, HFDT_EBADF);
	}
	struct hfdt_v3_getdents bad = {.fd = fd, .buf = RAM_SIZE - 8, .len = 4096};
	memcpy(arg(&f), &bad, sizeof(bad));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_GETDENTS, ARGS);
	memcpy(&bad, arg(&f), sizeof(bad));
	CHECK_EQ(bad.tag, HFDT_V3_GETDENTS_ERROR);
	CHECK_EQ((int32_t)bad.payload, HFDT_EFAULT);
	v2_close(&f, fd);
	fake_free(&f);
}

static struct hfdt_v3_stat v3_stat(struct fake *f, const char *path, uint32_t kind)
{
	put_name(f, path);
	memset(f->ram + ATTR, 0xEE, sizeof(struct hfdt_file_attr));
	struct hfdt_v3_stat s = {.name = NAME, .kind = kind, .attr = ATTR};
	memcpy(arg(f), &s, sizeof(s));
	uhyve_v2_call(&f->v, HFDT_V3_PORT_FILE_STAT, ARGS);
	memcpy(&s, arg(f), sizeof(s));
	return s;
}

/* Checklist 27; FileAttr field by field; lstat; fstat; mkdir. */
static void test_v3_stat_mkdir(void)
{
	struct fake f;
	fake_init(&f, kept);
	char host[1024], link[1024];
	snprintf(host, sizeof(host), "%s/sized", data);
	int hfd = open(host, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	CHECK(write(hfd, "12345", 5) == 5);
	close(hfd);
	struct stat st;
	stat(host, &st);
	struct hfdt_v3_stat s = v3_stat(&f, "/data/sized", HFDT_V3_STAT_FOLLOW);
	CHECK_EQ(s.tag, HFDT_V3_RESULT_OK);
	struct hfdt_file_attr a;
	memcpy(&a, f.ram + ATTR, sizeof(a));
	int64_t size_at_48;
	memcpy(&size_at_48, f.ram + ATTR + 48, 8);
	CHECK_EQ(size_at_48, 5);
	CHECK(a.dev == st.st_dev && a.ino == st.st_ino && a.nlink == st.st_nlink);
	CHECK(a.mode == st.st_mode && a.uid == st.st_uid && a.gid == st.st_gid);
	CHECK(a.blksize == st.st_blksize && a.blocks == st.st_blocks && a.pad0 == 0);
	CHECK(a.mtim.sec == st.st_mtim.tv_sec && a.mtim.nsec == st.st_mtim.tv_nsec &&
	      a.mtim.pad == 0);
	s = v3_stat(&f, "/data/missing", HFDT_V3_STAT_FOLLOW);
	CHECK_EQ(s.tag, HFDT_V3_RESULT_ERROR);
	CHECK_EQ(s.err, HFDT_ENOENT);
	snprintf(link, sizeof(link), "%s/link", data);
	CHECK(symlink("sized", link) == 0);
	s = v3_stat(&f, "/data/link", HFDT_V3_STAT_NOFOLLOW);
	memcpy(&a, f.ram + ATTR, sizeof(a));
	CHECK(s.tag == HFDT_V3_RESULT_OK && S_ISLNK(a.mode));
	s = v3_stat(&f, "/data/link", HFDT_V3_STAT_FOLLOW);
	memcpy(&a, f.ram + ATTR, sizeof(a));
	CHECK(s.tag == HFDT_V3_RESULT_OK && S_ISREG(a.mode) && a.size == 5);

	/* fstat: stdio is EBADF; an open file its attributes. */
	struct hfdt_v3_fstat fs = {.fd = 1, .attr = ATTR};
	memcpy(arg(&f), &fs, sizeof(fs));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_FILE_FSTAT, ARGS);
	memcpy(&fs, arg(&f), sizeof(fs));
	CHECK(fs.tag == HFDT_V3_RESULT_ERROR && fs.err == HFDT_EBADF);
	int fd = v2_open(&f, "/data/sized", O_RDONLY, 0);
	fs = (struct hfdt_v3_fstat){.fd = fd, .attr = ATTR};
	memcpy(arg(&f), &fs, sizeof(fs));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_FILE_FSTAT, ARGS);
	memcpy(&fs, arg(&f), sizeof(fs));
	memcpy(&a, f.ram + ATTR, sizeof(a));
	CHECK(fs.tag == HFDT_V3_RESULT_OK && a.size == 5 && a.ino == st.st_ino);
	v2_close(&f, fd);

	/* mkdir: in the mount (mode 0777 & ~umask, never special bits), twice EEXIST;
	 * at an unmapped path: the temporary directory, where files below it go. */
	put_name(&f, "/data/newdir");
	struct hfdt_v3_mkdir m = {.path = NAME, .len = 12};
	memcpy(arg(&f), &m, sizeof(m));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_MKDIR, ARGS);
	memcpy(&m, arg(&f), sizeof(m));
	CHECK(m.tag == HFDT_V3_RESULT_OK && m.err == 0);
	snprintf(host, sizeof(host), "%s/newdir", data);
	CHECK(stat(host, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07000) == 0);
	memcpy(arg(&f), &m, sizeof(m));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_MKDIR, ARGS);
	memcpy(&m, arg(&f), sizeof(m));
	CHECK(m.tag == HFDT_V3_RESULT_ERROR && m.err == HFDT_EEXIST);
	put_name(&f, "/scratchdir");
	memcpy(arg(&f), &m, sizeof(m));
	uhyve_v2_call(&f.v, HFDT_V3_PORT_MKDIR, ARGS);
	memcpy(&m, arg(&f), sizeof(m));
	CHECK(m.tag == HFDT_V3_RESULT_OK);
	fd = v2_open(&f, "/scratchdir/inner", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 3);
	v2_close(&f, fd);
	s = v3_stat(&f, "/scratchdir/inner", HFDT_V3_STAT_FOLLOW);
	CHECK_EQ(s.tag, HFDT_V3_RESULT_OK);
	fd = v2_open(&f, "/scratchdir", O_RDONLY | O_DIRECTORY, 0);
	struct hfdt_v3_getdents g = v3_getdents(&f, fd, 4096);
	CHECK(g.tag == HFDT_V3_GETDENTS_OK && records_name(f.ram + PBUF, g.payload, "inner"));
	v2_close(&f, fd);
	fake_free(&f);
}

/* ---- errno, registration, platform ports ---------------------------------------- */

static void test_errno(void)
{
	CHECK_EQ(uhyve_errno(ENOENT), HFDT_ENOENT);
	CHECK_EQ(uhyve_errno(EACCES), 13);
	CHECK_EQ(uhyve_errno(ENOTEMPTY), 39);
	CHECK_EQ(uhyve_errno(EHWPOISON), 133);
	CHECK_EQ(uhyve_errno(41), HFDT_EIO);  /* not in Hermit's Errno */
	CHECK_EQ(uhyve_errno(58), HFDT_EIO);  /* not in Hermit's Errno */
	CHECK_EQ(uhyve_errno(134), HFDT_EIO); /* past its list */
	CHECK_EQ(uhyve_errno(512), HFDT_EIO); /* kernel-internal */
	CHECK_EQ(uhyve_errno(0), HFDT_EIO);
}

static bool has_port(struct vm *vm, uint16_t port)
{
	return vm_find_port(vm, port) != NULL;
}

static void test_register(void)
{
	struct fake f;
	fake_init(&f, kept);
	f.cfg.guest_tempdir = kept;
	CHECK_EQ(uhyve_if_register(&f.vm, 0), -1);
	CHECK_EQ(uhyve_if_register(&f.vm, 4), -1);
	CHECK_EQ(f.vm.nports, 0);
	CHECK_EQ(uhyve_if_register(&f.vm, 2), 0);
	CHECK(has_port(&f.vm, 0x1010) && has_port(&f.vm, 0x1150) && !has_port(&f.vm, 0x1160));
	CHECK(!has_port(&f.vm, 0x880) && !has_port(&f.vm, 0x1200));
	struct port_handler *pci = vm_find_port(&f.vm, 0xCFC);
	CHECK(pci && pci->read && pci->read(&f.v, 0xCFC, 4) == 0xFFFFFFFFu);
	CHECK(vm_find_port(&f.vm, 0xCF8) && vm_find_port(&f.vm, 0xCF8)->fn);
	CHECK_STR(uhyve_if_tempdir(&f.vm), kept);
	fake_free(&f);

	fake_init(&f, kept);
	f.cfg.guest_tempdir = kept;
	CHECK_EQ(uhyve_if_register(&f.vm, 3), 0);
	CHECK(has_port(&f.vm, 0x1160) && has_port(&f.vm, 0x1190));
	CHECK_EQ(f.vm.nhooks, 1); /* the MP-area reads: every interface */
	fake_free(&f);

	fake_init(&f, kept);
	f.cfg.guest_tempdir = kept;
	CHECK_EQ(uhyve_if_register(&f.vm, 1), 0);
	CHECK(has_port(&f.vm, 0x880) && has_port(&f.vm, 0x840) && !has_port(&f.vm, 0x1010));
	/* Checklist 29: MP-table search reads outside RAM give zeros. */
	CHECK_EQ(f.vm.nhooks, 1);
	f.run.exit_reason = KVM_EXIT_MMIO;
	f.run.mmio.phys_addr = 0xF0010;
	f.run.mmio.len = 4;
	f.run.mmio.is_write = 0;
	memset(f.run.mmio.data, 0xAB, sizeof(f.run.mmio.data));
	CHECK_EQ(f.vm.hooks[0].fn(&f.v, NULL), HOOK_HANDLED);
	CHECK(f.run.mmio.data[0] == 0 && f.run.mmio.data[3] == 0);
	f.run.mmio.phys_addr = 0xE0000;
	CHECK_EQ(f.vm.hooks[0].fn(&f.v, NULL), HOOK_NOT_MINE);
	f.run.mmio.phys_addr = 0x9F000;
	f.run.mmio.is_write = 1;
	CHECK_EQ(f.vm.hooks[0].fn(&f.v, NULL), HOOK_NOT_MINE);
	fake_free(&f);
}

/* ---- the temporary directory ------------------------------------------------------ */

static void test_tempdir_life(void)
{
	char err[512];
	struct tempdir *t = tempdir_create(NULL, tmp_base, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(t != NULL);
	if (!t)
		return;
	char path[1024];
	snprintf(path, sizeof(path), "%s", tempdir_path(t));
	CHECK(!strncmp(path, tmp_base, strlen(tmp_base)));
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
	int fd = tempdir_open(t, "/a/b/file", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_mkdir(t, "/d"), 0);
	fd = tempdir_open(t, "/d/../d/./inner", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_stat(t, "//d/inner", true, &st), 0);
	CHECK_EQ(tempdir_unlink(t, "/d"), -EISDIR);
	CHECK_EQ(tempdir_mkdir(t, "/d"), -EEXIST);
	CHECK_EQ(tempdir_open(t, "/", O_WRONLY | O_CREAT, 0600), -EISDIR);
	CHECK_EQ(tempdir_open(t, "/d/../../../etc/passwd", O_RDONLY, 0), -ENOENT);
	tempdir_finish(t); /* what exit does: gone with its content when it returns */
	CHECK(stat(path, &st) != 0 && errno == ENOENT);
	tempdir_finish(t); /* twice: nothing */

	/* A kept one (made if missing, 0700) stays, files and all. */
	char keep[600];
	snprintf(keep, sizeof(keep), "%s/kept-new", top);
	struct tempdir *k = tempdir_create(keep, NULL, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(k != NULL);
	CHECK(stat(keep, &st) == 0 && (st.st_mode & 07777) == 0700);
	fd = tempdir_open(k, "/out.txt", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	tempdir_finish(k);
	snprintf(path, sizeof(path), "%s/1-out.txt", keep);
	CHECK(stat(path, &st) == 0);
	/* A second run's file never reuses an old one's name. */
	struct tempdir *k2 = tempdir_create(keep, NULL, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	fd = tempdir_open(k2, "/out.txt", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/2-out.txt", keep);
	CHECK(stat(path, &st) == 0);
	snprintf(path, sizeof(path), "%s/not/there", top);
	CHECK(tempdir_create(path, NULL, (uid_t)-1, (gid_t)-1, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not/there") != NULL);
	tempdir_close(t);
	tempdir_close(k);
	tempdir_close(k2);
}

/* How many names the directory at `path` holds (without . and ..). */
static int count_names(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

/* Creates of unknown paths stop at the registry's limit with ENOSPC (nothing made on
 * the host); paths below a registered directory take no entry; an unlink frees one. */
static void test_tempdir_limit(void)
{
	char err[512];
	struct tempdir *t = tempdir_create(NULL, tmp_base, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(t != NULL);
	if (!t)
		return;
	tempdir_set_limit(t, 3);
	CHECK_EQ(tempdir_mkdir(t, "/scratch"), 0);
	int fd = tempdir_open(t, "/one", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	fd = tempdir_open(t, "/two", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_open(t, "/three", O_WRONLY | O_CREAT, 0600), -ENOSPC);
	CHECK_EQ(tempdir_mkdir(t, "/dir"), -ENOSPC);
	CHECK_EQ(count_names(tempdir_path(t)), 3);
	CHECK_EQ(tempdir_open(t, "/three", O_RDONLY, 0), -ENOENT);
	/* Below /scratch: the host directory holds it, no entry needed. */
	CHECK_EQ(tempdir_mkdir(t, "/scratch/sub"), 0);
	fd = tempdir_open(t, "/scratch/sub/a", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	/* Opening a registered path is no create either. */
	fd = tempdir_open(t, "/one", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_unlink(t, "/two"), 0);
	fd = tempdir_open(t, "/three", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_open(t, "/four", O_WRONLY | O_CREAT, 0600), -ENOSPC);
	tempdir_close(t);
}

/* Many entries (the table grows), every other one unlinked: each path still finds
 * its own file; directory prefixes resolve to the longest registered directory. */
static void test_tempdir_registry(void)
{
	char err[512];
	struct tempdir *t = tempdir_create(NULL, tmp_base, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(t != NULL);
	if (!t)
		return;
	enum { N = 2000 };
	char path[PATH_MAX];
	struct stat st;
	int bad = 0;
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/many/f%d", i);
		int fd = tempdir_open(t, path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		bad += fd < 0 || write(fd, &i, sizeof(i)) != sizeof(i);
		close(fd);
	}
	CHECK_EQ(bad, 0);
	for (int i = 0; i < N; i += 2) {
		snprintf(path, sizeof(path), "/many/f%d", i);
		bad += tempdir_unlink(t, path) != 0;
	}
	CHECK_EQ(bad, 0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/many/./f%d", i);
		int fd = tempdir_open(t, path, O_RDONLY, 0), got = -1;
		if (i % 2)
			bad += fd < 0 || read(fd, &got, sizeof(got)) != sizeof(got) || got != i;
		else
			bad += fd != -ENOENT || tempdir_unlink(t, path) != -ENOENT;
		if (fd >= 0)
			close(fd);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(count_names(tempdir_path(t)), N / 2);

	/* A made directory covers the paths below it, at any depth. */
	CHECK_EQ(tempdir_mkdir(t, "/scratch"), 0);
	int fd = tempdir_open(t, "/scratch/a", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_stat(t, "/scratch/a", true, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(tempdir_mkdir(t, "/scratch/b"), 0);
	CHECK_EQ(tempdir_mkdir(t, "/scratch/b"), -EEXIST);
	fd = tempdir_open(t, "/scratch/b/c", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(tempdir_stat(t, "/scratch/b/c", true, &st), 0);
	CHECK_EQ(tempdir_unlink(t, "/scratch/a"), 0);
	CHECK_EQ(tempdir_stat(t, "/scratch/a", true, &st), -ENOENT);
	/* A file's path is no directory prefix: below it is a new entry. */
	CHECK_EQ(tempdir_stat(t, "/many/f1/x", true, &st), -ENOENT);
	/* The longest registered directory wins: /p/q made before /p. */
	CHECK_EQ(tempdir_mkdir(t, "/p/q"), 0);
	CHECK_EQ(tempdir_mkdir(t, "/p"), 0);
	fd = tempdir_open(t, "/p/q/z", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/%d-q/z", tempdir_path(t), N + 2);
	CHECK(stat(path, &st) == 0);
	fd = tempdir_open(t, "/p/r", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/%d-p/r", tempdir_path(t), N + 3);
	CHECK(stat(path, &st) == 0);
	tempdir_close(t);
}

/* In a child: a private directory with a file in it; its path goes to `out`. Then
 * the child exits (status 3) or is killed. */
static pid_t child_with_tempdir(int out, bool killed)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char err[512];
	struct tempdir *t = tempdir_create(NULL, tmp_base, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	if (!t)
		_exit(2);
	close(tempdir_open(t, "/left-behind", O_WRONLY | O_CREAT, 0600));
	dprintf(out, "%s\n", tempdir_path(t));
	if (killed)
		raise(SIGKILL);
	exit(3); /* exit's handlers remove it before the status is known */
}

static bool child_dir(int rd, char *path, size_t size)
{
	ssize_t n = read(rd, path, size - 1);
	if (n <= 1)
		return false;
	path[n - 1] = '\0';
	return true;
}

static void test_tempdir_at_exit(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = child_with_tempdir(p[1], false);
	int status;
	char path[1024];
	struct stat st;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(child_dir(p[0], path, sizeof(path)));
	CHECK(stat(path, &st) != 0 && errno == ENOENT);

	/* Killed: the cleaner, outside it, still removes it (soon after: wait for it). */
	pid = child_with_tempdir(p[1], true);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	CHECK(child_dir(p[0], path, sizeof(path)));
	bool gone = false;
	for (int i = 0; i < 1000 && !gone; i++) { /* up to 10 s on a loaded machine */
		gone = stat(path, &st) != 0;
		if (!gone)
			usleep(10000);
	}
	CHECK(gone);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(data, sizeof(data), "%s/data", top);
	snprintf(tmp_base, sizeof(tmp_base), "%s/tmp", top);
	snprintf(kept, sizeof(kept), "%s/kept", top);
	mkdir(data, 0755);
	mkdir(tmp_base, 0755);
	mkdir(kept, 0700);
	int null = open("/dev/null", O_RDONLY);
	dup2(null, 0); /* stdin at EOF */
	close(null);
	umask(022);
	test_errno();
	test_v1_files();
	test_v1_exit();
	test_serial();
	test_v2_files();
	test_v3_getdents();
	test_v3_stat_mkdir();
	test_register();
	test_tempdir_life();
	test_tempdir_limit();
	test_tempdir_registry();
	test_tempdir_at_exit();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return unit_report();
}
