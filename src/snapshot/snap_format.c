/* snap_format.c: the checkpoint container (snap_format.h, docs/checkpoint-format.md).
 *
 * Every integer is put byte by byte in little-endian order, so the stream does not
 * depend on struct layout or padding. The writer loops until every byte is out,
 * because a pipe or a socket takes partial writes; the reader loops the same way and
 * turns each way a stream can be wrong into one message that names the stream, the
 * section and the byte, since that message is all a user sees of a failed restore.
 */
#include "snap_format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC_LEN   8
#define SECHDR_SIZE 24
#define WRITE_BATCH 64 /* iovecs per writev: well under IOV_MAX */

#define FIELD_SIZE(f) sizeof(((struct snap_header *)0)->f)
_Static_assert(MAGIC_LEN + FIELD_SIZE(version) + FIELD_SIZE(proxy_version) +
			       FIELD_SIZE(cpu_vendor) + FIELD_SIZE(features) + FIELD_SIZE(ncpus) +
			       FIELD_SIZE(kind) + FIELD_SIZE(seq) + FIELD_SIZE(parent_seq) +
			       FIELD_SIZE(mem_size) + FIELD_SIZE(mem_low_size) +
			       FIELD_SIZE(mem_limit) + FIELD_SIZE(created_ns) + 4 ==
		       SNAP_HEADER_SIZE,
	       "SNAP_HEADER_SIZE is the packed size of the header");

/* CRC-32 (IEEE, reflected 0xEDB88320) as zlib computes it, several bytes a step:
 * a byte at a time, a restore spent half its time here. */
uint32_t snap_crc32(uint32_t crc, const void *data, size_t len)
{
	return (uint32_t)crc32_z(crc, data, len);
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static const uint8_t *get32(const uint8_t *p, uint32_t *v)
{
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return p + 4;
}

static const uint8_t *get64(const uint8_t *p, uint64_t *v)
{
	uint32_t lo, hi;
	p = get32(get32(p, &lo), &hi);
	*v = (uint64_t)hi << 32 | lo;
	return p;
}

static const uint8_t *get_bytes(const uint8_t *p, void *dst, size_t n)
{
	memcpy(dst, p, n);
	return p + n;
}

/* The header's bytes, CRC included. */
static void header_encode(uint8_t out[SNAP_HEADER_SIZE], const struct snap_header *h)
{
	uint8_t *p = put_bytes(out, SNAP_MAGIC, MAGIC_LEN);
	p = put32(p, h->version);
	p = put_bytes(p, h->proxy_version, sizeof(h->proxy_version));
	p = put_bytes(p, h->cpu_vendor, sizeof(h->cpu_vendor));
	for (int i = 0; i < SNAP_NFEATURES; i++)
		p = put32(p, h->features[i]);
	p = put32(p, h->ncpus);
	p = put32(p, h->kind);
	p = put64(p, h->seq);
	p = put64(p, h->parent_seq);
	p = put64(p, h->mem_size);
	p = put64(p, h->mem_low_size);
	p = put64(p, h->mem_limit);
	p = put64(p, h->created_ns);
	put32(p, snap_crc32(0, out, (size_t)(p - out)));
}

/* The fields of a header whose magic, version and CRC were checked. */
static void header_decode(const uint8_t in[SNAP_HEADER_SIZE], struct snap_header *h)
{
	const uint8_t *p = get32(in + MAGIC_LEN, &h->version);
	p = get_bytes(p, h->proxy_version, sizeof(h->proxy_version));
	p = get_bytes(p, h->cpu_vendor, sizeof(h->cpu_vendor));
	for (int i = 0; i < SNAP_NFEATURES; i++)
		p = get32(p, &h->features[i]);
	p = get32(p, &h->ncpus);
	p = get32(p, &h->kind);
	p = get64(p, &h->seq);
	p = get64(p, &h->parent_seq);
	p = get64(p, &h->mem_size);
	p = get64(p, &h->mem_low_size);
	p = get64(p, &h->mem_limit);
	get64(p, &h->created_ns);
}

/* Writing */

void snap_writer_init(struct snap_writer *w, int fd)
{
	*w = (struct snap_writer){.fd = fd};
}

static int writer_fail(struct snap_writer *w, int neg_errno)
{
	if (!w->err)
		w->err = neg_errno;
	return w->err;
}

/* Drop the first n bytes written from the front of v[0..*cnt). */
static void iov_advance(struct iovec **v, int *cnt, size_t n)
{
	while (n > 0 && *cnt > 0) {
		size_t take = n < (*v)->iov_len ? n : (*v)->iov_len;
		(*v)->iov_base = (char *)(*v)->iov_base + take;
		(*v)->iov_len -= take;
		n -= take;
		if ((*v)->iov_len == 0) {
			(*v)++;
			(*cnt)--;
		}
	}
}

/* All of v[0..cnt), however many calls a pipe or socket takes. v is consumed. */
static int write_batch(struct snap_writer *w, struct iovec *v, int cnt)
{
	while (cnt > 0) {
		if (v->iov_len == 0) {
			v++;
			cnt--;
			continue;
		}
		ssize_t n = writev(w->fd, v, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return writer_fail(w, -errno);
		if (n == 0)
			return writer_fail(w, -EIO); /* no progress and no error: give up */
		w->bytes += (uint64_t)n;
		iov_advance(&v, &cnt, (size_t)n);
	}
	return 0;
}

/* The pieces in order, in batches copied from the caller's const array. */
static int write_pieces(struct snap_writer *w, const struct iovec *iov, int iovcnt)
{
	struct iovec batch[WRITE_BATCH];
	for (int i = 0; i < iovcnt && !w->err; i += WRITE_BATCH) {
		int n = iovcnt - i < WRITE_BATCH ? iovcnt - i : WRITE_BATCH;
		memcpy(batch, iov + i, (size_t)n * sizeof(*batch));
		write_batch(w, batch, n);
	}
	return w->err;
}

static int write_bytes(struct snap_writer *w, const void *data, size_t len)
{
	struct iovec v = {.iov_base = (void *)data, .iov_len = len};
	return write_pieces(w, &v, 1);
}

int snap_write_header(struct snap_writer *w, const struct snap_header *h)
{
	uint8_t buf[SNAP_HEADER_SIZE];
	if (w->err)
		return w->err;
	header_encode(buf, h);
	return write_bytes(w, buf, sizeof(buf));
}

int snap_write_sectionv(struct snap_writer *w, uint32_t type, uint32_t index,
			const struct iovec *iov, int iovcnt)
{
	if (w->err)
		return w->err;
	if (iovcnt < 0)
		return writer_fail(w, -EINVAL);
	uint64_t len = 0;
	uint32_t crc = 0;
	for (int i = 0; i < iovcnt; i++) {
		/* Checked before the data is touched: no reader would take it. */
		if (iov[i].iov_len > SNAP_MAX_SECTION - len)
			return writer_fail(w, -EFBIG);
		len += iov[i].iov_len;
	}
	for (int i = 0; i < iovcnt; i++)
		crc = snap_crc32(crc, iov[i].iov_base, iov[i].iov_len);
	uint8_t hdr[SECHDR_SIZE];
	put32(put32(put64(put32(put32(hdr, type), index), len), crc), 0);
	if (write_bytes(w, hdr, sizeof(hdr)) < 0)
		return w->err;
	return write_pieces(w, iov, iovcnt);
}

int snap_write_section(struct snap_writer *w, uint32_t type, uint32_t index, const void *data,
		       uint64_t len)
{
	if (len > SNAP_MAX_SECTION)
		return w->err ? w->err : writer_fail(w, -EFBIG);
	struct iovec v = {.iov_base = (void *)data, .iov_len = (size_t)len};
	return snap_write_sectionv(w, type, index, &v, len ? 1 : 0);
}

int snap_write_end(struct snap_writer *w)
{
	return snap_write_sectionv(w, SNAP_SEC_END, 0, NULL, 0);
}

/* Reading */

void snap_reader_init(struct snap_reader *r, int fd, const char *name)
{
	*r = (struct snap_reader){.fd = fd, .name = name};
}

/* "<name> <what>" in r->err; -1. */
__attribute__((format(printf, 2, 3))) static int reader_fail(struct snap_reader *r, const char *fmt,
							     ...)
{
	int n = snprintf(r->err, sizeof(r->err), "%s ", r->name);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Up to len bytes: fewer only at the end of the stream. -1 (message set) on error. */
static ssize_t read_full(struct snap_reader *r, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(r->fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return reader_fail(r, "could not be read: %s (at byte %llu)",
					   strerror(errno), (unsigned long long)(r->offset + got));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->offset += got;
	return (ssize_t)got;
}

/* The magic as C would spell it, for the "not a checkpoint" message. */
static void escape_magic(char out[4 * MAGIC_LEN + 1], const uint8_t *m, size_t n)
{
	char *p = out;
	for (size_t i = 0; i < n; i++) {
		if (m[i] >= 0x20 && m[i] < 0x7F && m[i] != '"' && m[i] != '\\')
			*p++ = (char)m[i];
		else
			p += sprintf(p, "\\x%02x", m[i]);
	}
	*p = '\0';
}

static int check_magic(struct snap_reader *r, const uint8_t *buf, size_t got)
{
	if (got == MAGIC_LEN && memcmp(buf, SNAP_MAGIC, MAGIC_LEN) == 0)
		return 0;
	if (got == 0)
		return reader_fail(r, "is not a proxy checkpoint (it is empty)");
	/* The start of a checkpoint that was cut short is still one. */
	if (got < MAGIC_LEN && memcmp(buf, SNAP_MAGIC, got) == 0)
		return reader_fail(r, "is truncated (it ends inside the header, at byte %zu)", got);
	char shown[4 * MAGIC_LEN + 1];
	escape_magic(shown, buf, got);
	return reader_fail(r, "is not a proxy checkpoint (magic \"%s\", not \"%s\")", shown,
			   SNAP_MAGIC);
}

/* Whether [from, to) of the header arrived; message if not. */
static int read_header_part(struct snap_reader *r, uint8_t *buf, size_t from, size_t to)
{
	ssize_t got = read_full(r, buf + from, to - from);
	if (got < 0)
		return -1;
	if ((size_t)got < to - from)
		return reader_fail(r, "is truncated (it ends inside the header, at byte %llu)",
				   (unsigned long long)r->offset);
	return 0;
}

int snap_read_header(struct snap_reader *r, struct snap_header *h)
{
	uint8_t buf[SNAP_HEADER_SIZE];
	ssize_t got = read_full(r, buf, MAGIC_LEN);
	if (got < 0 || check_magic(r, buf, (size_t)got) < 0)
		return -1;
	/* The version before the rest: a later format may have a longer header. */
	if (read_header_part(r, buf, MAGIC_LEN, MAGIC_LEN + 4) < 0)
		return -1;
	uint32_t version;
	get32(buf + MAGIC_LEN, &version);
	if (version != SNAP_FORMAT_VERSION)
		return reader_fail(r,
				   "is a proxy checkpoint of format version %u (this proxy reads "
				   "version %u)",
				   version, SNAP_FORMAT_VERSION);
	if (read_header_part(r, buf, MAGIC_LEN + 4, SNAP_HEADER_SIZE) < 0)
		return -1;
	uint32_t crc;
	get32(buf + SNAP_HEADER_SIZE - 4, &crc);
	if (crc != snap_crc32(0, buf, SNAP_HEADER_SIZE - 4))
		return reader_fail(r, "is corrupt: header checksum mismatch");
	header_decode(buf, h);
	return 0;
}

/* The section header's bytes did not all arrive: say how far they got. */
static int section_header_truncated(struct snap_reader *r, unsigned num, const uint8_t *buf,
				    size_t got)
{
	unsigned long long at = (unsigned long long)r->offset;
	if (got == 0)
		return reader_fail(r, "is truncated (it ends before section %u, at byte %llu)", num,
				   at);
	if (got < 4)
		return reader_fail(r, "is truncated (it ends inside section %u, at byte %llu)", num,
				   at);
	uint32_t type;
	get32(buf, &type);
	return reader_fail(r, "is truncated (it ends inside section %u (type %u), at byte %llu)",
			   num, type, at);
}

uint64_t snap_section_max(uint32_t type)
{
	switch (type) {
	case SNAP_SEC_MEM:
		return SNAP_MAX_MEM_SECTION;
	case SNAP_SEC_VCPU:
	case SNAP_SEC_VM:
		return SNAP_MAX_STATE_SECTION;
	case SNAP_SEC_FILES:
		return SNAP_MAX_FILES_SECTION;
	case SNAP_SEC_CONFIG:
		return SNAP_MAX_CONFIG_SECTION;
	default:
		return 0;
	}
}

/* What a section header says, before its payload is read. */
static int check_section(struct snap_reader *r, unsigned num, const struct snap_section *s,
			 uint32_t reserved)
{
	if (s->type > SNAP_SEC_SYNC)
		return reader_fail(r, "is corrupt: section %u has an unknown type %u", num,
				   s->type);
	if (reserved != 0)
		return reader_fail(r, "is corrupt: section %u (type %u) has reserved word 0x%x",
				   num, s->type, reserved);
	if (s->type == SNAP_SEC_END && (s->index || s->length))
		return reader_fail(r, "is corrupt: the END section (section %u) is not empty", num);
	if (s->length > snap_section_max(s->type))
		return reader_fail(
			r, "is corrupt: section %u (type %u) claims %llu bytes (at most %llu)", num,
			s->type, (unsigned long long)s->length,
			(unsigned long long)snap_section_max(s->type));
	return 0;
}

/* The payload of section num into a new buffer (NULL when empty), its CRC checked. */
static int read_payload(struct snap_reader *r, unsigned num, const struct snap_section *s,
			void **data)
{
	void *buf = NULL;
	if (s->length) {
		buf = malloc(s->length);
		if (!buf)
			return reader_fail(r, "could not be read: no memory for section %u", num);
	}
	ssize_t got = read_full(r, buf, s->length);
	int rc = got < 0 ? -1 : 0;
	if (rc == 0 && (uint64_t)got < s->length)
		rc = reader_fail(r,
				 "is truncated (it ends inside section %u (type %u), at byte %llu)",
				 num, s->type, (unsigned long long)r->offset);
	else if (rc == 0 && snap_crc32(0, buf, s->length) != s->crc)
		rc = reader_fail(r, "is corrupt: checksum mismatch in section %u (type %u)", num,
				 s->type);
	if (rc < 0) {
		free(buf);
		return -1;
	}
	*data = buf;
	return 0;
}

int snap_read_section(struct snap_reader *r, struct snap_section *s, void **data)
{
	*data = NULL;
	if (r->ended) {
		snprintf(r->err, sizeof(r->err),
			 "%s: read past the end (section %u was the END "
			 "section)",
			 r->name, r->sections);
		return -1;
	}
	unsigned num = r->sections + 1;
	uint8_t buf[SECHDR_SIZE];
	ssize_t got = read_full(r, buf, sizeof(buf));
	if (got < 0)
		return -1;
	if ((size_t)got < sizeof(buf))
		return section_header_truncated(r, num, buf, (size_t)got);
	uint32_t reserved;
	get32(get32(get64(get32(get32(buf, &s->type), &s->index), &s->length), &s->crc), &reserved);
	if (check_section(r, num, s, reserved) < 0 || read_payload(r, num, s, data) < 0)
		return -1;
	r->sections = num;
	if (s->type != SNAP_SEC_END)
		return 1;
	r->ended = true;
	return 0;
}

/* Compatibility */

static const char *const feature_names[SNAP_NFEATURES] = {
	"CPUID 1.ECX",	 "CPUID 1.EDX",	    "CPUID 7.0.EBX",	    "CPUID 7.0.ECX",
	"CPUID 7.0.EDX", "CPUID 0xD.1.EAX", "CPUID 0x80000001.ECX", "CPUID 0x80000001.EDX",
};

/* snprintf at *pos, which stays within len (the message is cut, never overrun). */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t len, size_t *pos,
							 const char *fmt, ...)
{
	if (*pos >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = *pos + (size_t)n < len ? *pos + (size_t)n : len;
}

int snap_check_host(const struct snap_header *saved, const struct snap_header *host,
		    const char *name, char *err, size_t errlen)
{
	size_t pos = 0;
	if (strncmp(saved->cpu_vendor, host->cpu_vendor, sizeof(saved->cpu_vendor)) != 0) {
		append(err, errlen, &pos, "%s was taken on a %.16s host; this host is %.16s", name,
		       saved->cpu_vendor, host->cpu_vendor);
		return -1;
	}
	bool lacking = false;
	for (int i = 0; i < SNAP_NFEATURES; i++) {
		uint32_t missing = saved->features[i] & ~host->features[i];
		if (!missing)
			continue;
		if (!lacking)
			append(err, errlen, &pos, "%s needs CPU features this host lacks: ", name);
		else
			append(err, errlen, &pos, ", ");
		append(err, errlen, &pos, "%s bits 0x%x", feature_names[i], missing);
		lacking = true;
	}
	return lacking ? -1 : 0;
}
