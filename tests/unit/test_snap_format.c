/* test_snap_format.c: the checkpoint container: its bytes, a round trip through a
 * file, a pipe and a socket, and every refusal of a bad stream with its message.
 *
 * Short reads and writes and EINTR are made on purpose: this file defines read() and
 * writev(), which the library's calls reach instead of libc's, and while `fault` is
 * armed they move at most a few bytes a call and fail every few calls with EINTR.
 */
#include "snap_format.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

/* The interposed calls: limits while armed, and what they did. */
static struct {
	size_t max;	 /* bytes per call; 0: not armed */
	int eintr_every; /* every Nth call fails with EINTR */
	int calls, shorts, eintrs;
} fault;

/* Whether this call fails with EINTR; else *len is cut to the limit. */
static int fault_step(size_t *len)
{
	if (!fault.max)
		return 0;
	if (++fault.calls % fault.eintr_every == 0) {
		fault.eintrs++;
		errno = EINTR;
		return -1;
	}
	if (*len > fault.max) {
		*len = fault.max;
		fault.shorts++;
	}
	return 0;
}

ssize_t read(int fd, void *buf, size_t len)
{
	if (fault_step(&len) < 0)
		return -1;
	return syscall(SYS_read, fd, buf, len);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	size_t len = 0;
	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	size_t want = len;
	if (fault_step(&len) < 0)
		return -1;
	if (len == want)
		return syscall(SYS_writev, fd, iov, cnt);
	struct iovec first = iov[0]; /* a short write: part of the first non-empty piece */
	for (int i = 0; first.iov_len == 0 && i < cnt; i++)
		first = iov[i];
	first.iov_len = first.iov_len < len ? first.iov_len : len;
	return syscall(SYS_writev, fd, &first, 1);
}

static void fault_arm(size_t max, int eintr_every)
{
	fault.max = max;
	fault.eintr_every = eintr_every;
	fault.calls = fault.shorts = fault.eintrs = 0;
}

static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)(i * 131 + seed * 17 + (i >> 9));
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void sample_header(struct snap_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = SNAP_FORMAT_VERSION;
	strcpy(h->proxy_version, "0.1.0-test");
	memcpy(h->cpu_vendor, "GenuineIntel", 12);
	for (int i = 0; i < SNAP_NFEATURES; i++)
		h->features[i] = 0x80000001u + 0x11111u * (unsigned)i;
	h->ncpus = 2;
	h->kind = SNAP_INCREMENTAL;
	h->seq = 7;
	h->parent_seq = 6;
	h->mem_size = 0x100001000ULL;
	h->mem_low_size = 0xC0000000ULL;
	h->mem_limit = 0x140001000ULL;
	h->created_ns = 0x0123456789ABCDEFULL;
}

static const char config_text[] = "mem=64M\ncpus=2\n";
#define VCPU_DATA 100

/* The sample checkpoint: CONFIG, a VCPU in pieces, an empty FILES, a MEM run of
 * npages pages in pieces, END. at[i]: where section i+1 starts. */
static int write_sample(int fd, unsigned npages, uint64_t at[5])
{
	struct snap_writer w;
	struct snap_header h;
	snap_writer_init(&w, fd);
	sample_header(&h);
	uint8_t *vcpu = malloc(VCPU_DATA), *pages = malloc((size_t)npages * PAGE);
	uint64_t run[2] = {0x200000, npages}, bitmap[8] = {0};
	for (size_t i = 0; i < VCPU_DATA; i++)
		vcpu[i] = pat(i, 1);
	for (size_t i = 0; i < (size_t)npages * PAGE; i++)
		pages[i] = pat(i, 2);
	for (unsigned p = 0; p < npages; p++)
		bitmap[p / 64] |= 1ULL << (p % 64);
	struct iovec vcpu_iov[] = {{"regs", 4}, {"", 0}, {vcpu, VCPU_DATA}};
	struct iovec mem_iov[] = {
		{run, 16}, {bitmap, (npages + 63) / 64 * 8}, {pages, npages * PAGE}};
	uint64_t dummy[5];
	at = at ? at : dummy;
	snap_write_header(&w, &h);
	at[0] = w.bytes;
	snap_write_section(&w, SNAP_SEC_CONFIG, 0, config_text, strlen(config_text));
	at[1] = w.bytes;
	snap_write_sectionv(&w, SNAP_SEC_VCPU, 1, vcpu_iov, 3);
	at[2] = w.bytes;
	snap_write_section(&w, SNAP_SEC_FILES, 0, NULL, 0);
	at[3] = w.bytes;
	snap_write_sectionv(&w, SNAP_SEC_MEM, 0, mem_iov, 3);
	at[4] = w.bytes;
	int rc = snap_write_end(&w);
	free(vcpu);
	free(pages);
	return rc;
}

static uint64_t sample_size(unsigned npages)
{
	return SNAP_HEADER_SIZE + 5 * 24 + strlen(config_text) + 4 + VCPU_DATA + 16 +
	       (npages + 63) / 64 * 8 + (uint64_t)npages * PAGE;
}

/* Field by field: the struct has padding after `kind`. */
static int header_equal(const struct snap_header *a, const struct snap_header *b)
{
	return a->version == b->version &&
	       memcmp(a->proxy_version, b->proxy_version, sizeof(a->proxy_version)) == 0 &&
	       memcmp(a->cpu_vendor, b->cpu_vendor, sizeof(a->cpu_vendor)) == 0 &&
	       memcmp(a->features, b->features, sizeof(a->features)) == 0 && a->ncpus == b->ncpus &&
	       a->kind == b->kind && a->seq == b->seq && a->parent_seq == b->parent_seq &&
	       a->mem_size == b->mem_size && a->mem_low_size == b->mem_low_size &&
	       a->mem_limit == b->mem_limit && a->created_ns == b->created_ns;
}

/* Reads the sample from fd and checks every field and byte of it. */
static void check_sample(int fd, unsigned npages)
{
	struct snap_reader r;
	struct snap_header h, want;
	struct snap_section s;
	void *d;
	snap_reader_init(&r, fd, "sample");
	sample_header(&want);
	CHECK_EQ(snap_read_header(&r, &h), 0);
	CHECK(header_equal(&h, &want));

	CHECK_EQ(snap_read_section(&r, &s, &d), 1);
	CHECK(s.type == SNAP_SEC_CONFIG && s.index == 0 && s.length == strlen(config_text));
	CHECK(d && memcmp(d, config_text, s.length) == 0);
	free(d);

	CHECK_EQ(snap_read_section(&r, &s, &d), 1);
	CHECK(s.type == SNAP_SEC_VCPU && s.index == 1 && s.length == 4 + VCPU_DATA);
	int vcpu_bad = !d || memcmp(d, "regs", 4) != 0;
	for (size_t i = 0; d && i < VCPU_DATA; i++)
		vcpu_bad += ((uint8_t *)d)[4 + i] != pat(i, 1);
	CHECK_EQ(vcpu_bad, 0);
	free(d);

	CHECK_EQ(snap_read_section(&r, &s, &d), 1);
	CHECK(s.type == SNAP_SEC_FILES && s.length == 0 && d == NULL);

	CHECK_EQ(snap_read_section(&r, &s, &d), 1);
	size_t bitmap = (npages + 63) / 64 * 8;
	CHECK(s.type == SNAP_SEC_MEM && s.length == 16 + bitmap + (uint64_t)npages * PAGE);
	const uint8_t *m = d;
	CHECK(m && le(m, 8) == 0x200000 && le(m + 8, 4) == npages && le(m + 12, 4) == 0);
	CHECK(m && le(m + 16, 8) == (npages >= 64 ? ~0ULL : (1ULL << npages) - 1));
	size_t page_bad = !m;
	for (size_t i = 0; m && i < (size_t)npages * PAGE; i++)
		page_bad += m[16 + bitmap + i] != pat(i, 2);
	CHECK_EQ(page_bad, 0);
	free(d);

	CHECK_EQ(snap_read_section(&r, &s, &d), 0);
	CHECK(s.type == SNAP_SEC_END && s.length == 0 && d == NULL && r.ended);
	CHECK_EQ(r.sections, 5);
	CHECK_EQ(r.offset, sample_size(npages));
	CHECK_EQ(snap_read_section(&r, &s, &d), -1);
	CHECK_STR(r.err, "sample: read past the end (section 5 was the END section)");
}

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("snap", MFD_CLOEXEC);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
		perror("memfd");
		exit(2);
	}
	return fd;
}

/* The sample's bytes (npages pages of memory); at[]: where its sections start. */
static uint8_t *sample_bytes(unsigned npages, size_t *len, uint64_t at[5])
{
	int fd = memfd_with("", 0);
	if (write_sample(fd, npages, at) != 0)
		exit(2);
	*len = (size_t)lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc(*len);
	if (pread(fd, b, *len, 0) != (ssize_t)*len)
		exit(2);
	close(fd);
	return b;
}

/* Reads a whole stream of n bytes; its message, "" when it is complete. */
static const char *read_stream(const uint8_t *b, size_t n, char out[512])
{
	struct snap_reader r;
	struct snap_header h;
	struct snap_section s;
	void *d;
	int fd = memfd_with(b, n), rc;
	snap_reader_init(&r, fd, "t.ckp");
	rc = snap_read_header(&r, &h);
	while (rc == 0 && (rc = snap_read_section(&r, &s, &d)) == 1) {
		free(d);
		rc = 0;
	}
	close(fd);
	strcpy(out, rc == 0 ? "" : r.err);
	return out;
}

#define CHECK_REFUSAL(bytes, n, want)                                                              \
	do {                                                                                       \
		char msg_[512];                                                                    \
		CHECK_STR(read_stream(bytes, n, msg_), want);                                      \
	} while (0)

static void test_crc(void)
{
	CHECK_EQ(snap_crc32(0, "123456789", 9), 0xCBF43926u);
	CHECK_EQ(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
	CHECK_EQ(snap_crc32(0, NULL, 0), 0);
	CHECK_EQ(snap_crc32(0, "a", 1), 0xE8B7BE43u);
}

static void test_bytes(void)
{
	size_t len;
	uint64_t at[5];
	uint8_t *b = sample_bytes(2, &len, at);
	CHECK_EQ(len, sample_size(2));
	CHECK_MEM(b, "PROXYCKP", 8);
	CHECK_EQ(le(b + 8, 4), 1);
	CHECK_STR((char *)b + 12, "0.1.0-test");
	CHECK_MEM(b + 44, "GenuineIntel\0\0\0\0", 16);
	CHECK_EQ(le(b + 60, 4), 0x80000001u);
	CHECK_EQ(le(b + 88, 4), 0x80000001u + 7 * 0x11111u);
	CHECK_EQ(le(b + 92, 4), 2);
	CHECK_EQ(le(b + 96, 4), SNAP_INCREMENTAL);
	CHECK_EQ(le(b + 100, 8), 7);
	CHECK_EQ(le(b + 108, 8), 6);
	CHECK_EQ(le(b + 116, 8), 0x100001000LL);
	CHECK_EQ(le(b + 124, 8), 0xC0000000LL);
	CHECK_EQ(le(b + 132, 8), 0x140001000LL);
	CHECK_MEM(b + 140, "\xEF\xCD\xAB\x89\x67\x45\x23\x01", 8);
	CHECK_EQ(le(b + 148, 4), snap_crc32(0, b, 148));
	CHECK_EQ(SNAP_HEADER_SIZE, 152);

	CHECK_EQ(at[1], SNAP_HEADER_SIZE + 24 + strlen(config_text));
	const uint8_t *s = b + SNAP_HEADER_SIZE; /* the CONFIG section */
	CHECK_EQ(le(s, 4), SNAP_SEC_CONFIG);
	CHECK_EQ(le(s + 4, 4), 0);
	CHECK_EQ(le(s + 8, 8), strlen(config_text));
	CHECK_EQ(le(s + 16, 4), snap_crc32(0, config_text, strlen(config_text)));
	CHECK_EQ(le(s + 20, 4), 0);
	CHECK_MEM(s + 24, config_text, strlen(config_text));
	s = b + at[1]; /* the VCPU section, written in pieces: one CRC over them */
	CHECK_EQ(le(s + 4, 4), 1);
	CHECK_EQ(le(s + 16, 4), snap_crc32(0, s + 24, 4 + VCPU_DATA));
	static const uint8_t zero[24];
	CHECK_MEM(b + at[4], zero, 24); /* END: all zero, its CRC (of nothing) too */
	CHECK_EQ(at[4] + 24, len);
	free(b);
}

static void test_round_trip_file(void)
{
	int fd = memfd_with("", 0);
	CHECK_EQ(write_sample(fd, 3, NULL), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), sample_size(3));
	lseek(fd, 0, SEEK_SET);
	check_sample(fd, 3);
	close(fd);
}

/* 2 MiB through a pipe, the writer a child, the reader here taking short reads. */
static void test_round_trip_pipe(void)
{
	int p[2];
	if (pipe(p) < 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(write_sample(p[1], 512, NULL) == 0 ? 0 : 1);
	}
	close(p[1]);
	fault_arm(1000, 7);
	check_sample(p[0], 512);
	CHECK(fault.shorts > 1000 && fault.eintrs > 100);
	fault_arm(0, 0);
	close(p[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The writer here taking short writes and EINTR, the reader a child on a socket. */
static void test_socket_short_writes(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		exit(2);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		check_sample(sv[1], 100);
		_exit(unit_counts.failed ? 1 : 0);
	}
	close(sv[1]);
	fault_arm(777, 5);
	CHECK_EQ(write_sample(sv[0], 100, NULL), 0);
	CHECK(fault.shorts > 300 && fault.eintrs > 50);
	fault_arm(0, 0);
	close(sv[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_not_a_checkpoint(void)
{
	CHECK_REFUSAL((const uint8_t *)"\x7f"
				       "ELF\x02\x01\x01\x00\x00\x00",
		      10,
		      "t.ckp is not a proxy checkpoint (magic \"\\x7fELF\\x02\\x01\\x01\\x00\", "
		      "not \"PROXYCKP\")");
	CHECK_REFUSAL((const uint8_t *)"abc", 3,
		      "t.ckp is not a proxy checkpoint (magic \"abc\", not \"PROXYCKP\")");
	CHECK_REFUSAL((const uint8_t *)"", 0, "t.ckp is not a proxy checkpoint (it is empty)");
	CHECK_REFUSAL((const uint8_t *)"PROX", 4,
		      "t.ckp is truncated (it ends inside the header, at byte 4)");
	CHECK_REFUSAL((const uint8_t *)"proxyckp", 8,
		      "t.ckp is not a proxy checkpoint (magic \"proxyckp\", not \"PROXYCKP\")");
}

static void test_version(void)
{
	size_t len;
	uint8_t *b = sample_bytes(1, &len, NULL);
	const char *v2 =
		"t.ckp is a proxy checkpoint of format version 2 (this proxy reads version 1)";
	b[8] = 2; /* the CRC not updated: the version is looked at first */
	CHECK_REFUSAL(b, len, v2);
	CHECK_REFUSAL(b, 12, v2); /* a newer header may be of any length */
	CHECK_REFUSAL(b, 10, "t.ckp is truncated (it ends inside the header, at byte 10)");
	b[8] = 0;
	b[11] = 1;
	CHECK_REFUSAL(b, len,
		      "t.ckp is a proxy checkpoint of format version 16777216 (this proxy "
		      "reads version 1)");
	free(b);
}

static void test_truncated(void)
{
	size_t len;
	uint64_t at[5];
	uint8_t *b = sample_bytes(2, &len, at);
	char want[200];
	CHECK_REFUSAL(b, len, "");
	CHECK_REFUSAL(b, 100, "t.ckp is truncated (it ends inside the header, at byte 100)");
	CHECK_REFUSAL(b, 151, "t.ckp is truncated (it ends inside the header, at byte 151)");
	CHECK_REFUSAL(b, 152, "t.ckp is truncated (it ends before section 1, at byte 152)");
	CHECK_REFUSAL(b, 154, "t.ckp is truncated (it ends inside section 1, at byte 154)");
	CHECK_REFUSAL(b, 162,
		      "t.ckp is truncated (it ends inside section 1 (type 1), at byte 162)");
	CHECK_REFUSAL(b, 180,
		      "t.ckp is truncated (it ends inside section 1 (type 1), at byte 180)");
	snprintf(want, sizeof(want),
		 "t.ckp is truncated (it ends inside section 4 (type 5), at byte %llu)",
		 (unsigned long long)at[3] + 24 + 5000);
	CHECK_REFUSAL(b, at[3] + 24 + 5000, want);
	snprintf(want, sizeof(want), "t.ckp is truncated (it ends before section 5, at byte %llu)",
		 (unsigned long long)at[4]);
	CHECK_REFUSAL(b, at[4], want); /* everything but END: not a whole checkpoint */
	snprintf(want, sizeof(want),
		 "t.ckp is truncated (it ends inside section 5 (type 0), at byte %llu)",
		 (unsigned long long)at[4] + 23);
	CHECK_REFUSAL(b, len - 1, want);
	free(b);
}

/* A copy of the sample with one change: bit `bit` of byte `at` flipped. */
static void check_flip(const uint8_t *b, size_t len, size_t at, int bit, const char *want)
{
	uint8_t *c = malloc(len);
	memcpy(c, b, len);
	c[at] ^= (uint8_t)(1 << bit);
	CHECK_REFUSAL(c, len, want);
	free(c);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_corrupt(void)
{
	size_t len;
	uint64_t at[5];
	uint8_t *b = sample_bytes(2, &len, at);
	check_flip(b, len, at[1] + 24 + 50, 3,
		   "t.ckp is corrupt: checksum mismatch in section 2 (type 2)");
	check_flip(b, len, at[3] + 24 + 16 + 8 + 8191, 7,
		   "t.ckp is corrupt: checksum mismatch in section 4 (type 5)");
	check_flip(b, len, at[2] + 16, 0, /* the empty FILES section's CRC */
		   "t.ckp is corrupt: checksum mismatch in section 3 (type 4)");
	check_flip(b, len, 120, 5, "t.ckp is corrupt: header checksum mismatch");
	check_flip(b, len, 20, 0, "t.ckp is corrupt: header checksum mismatch");
	check_flip(b, len, 149, 1, "t.ckp is corrupt: header checksum mismatch");
	check_flip(b, len, 152, 3, "t.ckp is corrupt: section 1 has an unknown type 9");
	check_flip(b, len, 152, 7, "t.ckp is corrupt: section 1 has an unknown type 129");
	check_flip(b, len, 152 + 21, 0,
		   "t.ckp is corrupt: section 1 (type 1) has reserved word 0x100");
	check_flip(b, len, at[4] + 8, 0,
		   "t.ckp is corrupt: the END section (section 5) is not empty");
	check_flip(b, len, at[4] + 4, 0,
		   "t.ckp is corrupt: the END section (section 5) is not empty");

	uint8_t *c = malloc(len);
	memcpy(c, b, len);
	/* Each type has its own bound (a restore keeps VCPU sections until the end). */
	put_le(c + at[3] + 8, SNAP_MAX_MEM_SECTION + 1ULL, 8);
	CHECK_REFUSAL(
		c, len,
		"t.ckp is corrupt: section 4 (type 5) claims 2101249 bytes (at most 2101248)");
	put_le(c + at[3] + 8, ~0ULL, 8);
	CHECK_REFUSAL(c, len,
		      "t.ckp is corrupt: section 4 (type 5) claims 18446744073709551615 bytes (at "
		      "most 2101248)");
	put_le(c + at[1] + 8, SNAP_MAX_STATE_SECTION + 1ULL, 8);
	CHECK_REFUSAL(c, len,
		      "t.ckp is corrupt: section 2 (type 2) claims 262145 bytes (at most 262144)");
	memcpy(c, b, len);
	put_le(c + at[2] + 8, SNAP_MAX_FILES_SECTION + 1ULL, 8);
	CHECK_REFUSAL(
		c, len,
		"t.ckp is corrupt: section 3 (type 4) claims 8388609 bytes (at most 8388608)");
	memcpy(c, b, len);
	put_le(c + at[3] + 8, SNAP_MAX_MEM_SECTION, 8); /* allowed, but the stream is shorter */
	char want[200];
	snprintf(want, sizeof(want),
		 "t.ckp is truncated (it ends inside section 4 (type 5), at byte %zu)", len);
	CHECK_REFUSAL(c, len, want);
	free(c);
	free(b);
}

static void test_writer_errors(void)
{
	struct snap_writer w;
	struct snap_header h;
	sample_header(&h);
	int p[2];
	if (pipe(p) < 0)
		exit(2);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN); /* as proxy's main() does */
	snap_writer_init(&w, p[1]);
	CHECK_EQ(snap_write_header(&w, &h), -EPIPE);
	CHECK_EQ(w.err, -EPIPE);
	CHECK_EQ(snap_write_section(&w, SNAP_SEC_CONFIG, 0, "x", 1), -EPIPE);
	CHECK_EQ(snap_write_end(&w), -EPIPE);
	CHECK_EQ(w.bytes, 0);
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);

	int fd = memfd_with("", 0);
	char small[8] = {0};
	snap_writer_init(&w, fd);
	CHECK_EQ(snap_write_section(&w, SNAP_SEC_MEM, 0, small, SNAP_MAX_SECTION + 1ULL), -EFBIG);
	CHECK_EQ(w.bytes, 0);
	CHECK_EQ(snap_write_header(&w, &h), -EFBIG); /* the first error stays */
	CHECK_EQ(w.bytes, 0);
	snap_writer_init(&w, fd);
	struct iovec two[] = {{small, SNAP_MAX_SECTION}, {small, 1}};
	CHECK_EQ(snap_write_sectionv(&w, SNAP_SEC_MEM, 0, two, 2), -EFBIG);
	char *big = calloc(1, SNAP_MAX_SECTION);
	snap_writer_init(&w, fd);
	CHECK_EQ(snap_write_section(&w, SNAP_SEC_MEM, 0, big, SNAP_MAX_SECTION), 0); /* the limit */
	CHECK_EQ(w.bytes, 24 + SNAP_MAX_SECTION);
	free(big);
	close(fd);
	snap_writer_init(&w, fd);
	CHECK_EQ(snap_write_end(&w), -EBADF);

	struct snap_reader r;
	fd = open("/", O_RDONLY | O_DIRECTORY);
	snap_reader_init(&r, fd, "/");
	CHECK_EQ(snap_read_header(&r, &h), -1);
	CHECK_STR(r.err, "/ could not be read: Is a directory (at byte 0)");
	close(fd);
}

static void test_check_host(void)
{
	struct snap_header saved, host;
	char err[512];
	sample_header(&saved);
	host = saved;
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, sizeof(err)), 0);
	for (int i = 0; i < SNAP_NFEATURES; i++)
		host.features[i] |= 0x00F00000u; /* a host with more is fine */
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, sizeof(err)), 0);

	memcpy(host.cpu_vendor, "AuthenticAMD", 12);
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, sizeof(err)), -1);
	CHECK_STR(err, "t.ckp was taken on a GenuineIntel host; this host is AuthenticAMD");
	memcpy(host.cpu_vendor, saved.cpu_vendor, sizeof(host.cpu_vendor));

	host.features[0] &= ~0x80000001u; /* 1.ECX */
	host.features[5] &= ~0x00011110u; /* 0xD.1.EAX: only some of saved's */
	host.features[7] = 0;		  /* 0x80000001.EDX */
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, sizeof(err)), -1);
	CHECK_STR(err, "t.ckp needs CPU features this host lacks: CPUID 1.ECX bits 0x80000001, "
		       "CPUID 0xD.1.EAX bits 0x11110, CPUID 0x80000001.EDX bits 0x80077778");

	memset(host.features, 0, sizeof(host.features)); /* every word, named */
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, sizeof(err)), -1);
	CHECK_STR(err, "t.ckp needs CPU features this host lacks: CPUID 1.ECX bits 0x80000001, "
		       "CPUID 1.EDX bits 0x80011112, CPUID 7.0.EBX bits 0x80022223, "
		       "CPUID 7.0.ECX bits 0x80033334, CPUID 7.0.EDX bits 0x80044445, "
		       "CPUID 0xD.1.EAX bits 0x80055556, CPUID 0x80000001.ECX bits 0x80066667, "
		       "CPUID 0x80000001.EDX bits 0x80077778");

	memset(err, 'x', sizeof(err));
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, 20), -1);
	CHECK_EQ(strlen(err), 19); /* cut, never past errlen */
	CHECK_EQ(err[20], 'x');
	CHECK_EQ(snap_check_host(&saved, &host, "t.ckp", err, 0), -1);
}

int main(void)
{
	test_crc();
	test_bytes();
	test_round_trip_file();
	test_round_trip_pipe();
	test_socket_short_writes();
	test_not_a_checkpoint();
	test_version();
	test_truncated();
	test_corrupt();
	test_writer_errors();
	test_check_host();
	return unit_report();
}
