/* snap_format.h: proxy's checkpoint container, format version 1 (docs/checkpoint-format.md).
 *
 * One stream, the same on disk and on a migration socket: a file header, then
 * sections, each with its own length and CRC-32, then an END section, whose
 * presence is what makes a checkpoint complete. All integers little-endian (x86-64
 * only). The payloads (vCPU state, memory pages, files, configuration) are laid out
 * by their producers (snap_config.c, snap_vcpu.c, snap_vm.c, snap_files.c, snap_mem.c); this file
 * knows only the container.
 */
#ifndef PROXY_SNAP_FORMAT_H
#define PROXY_SNAP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SNAP_MAGIC	    "PROXYCKP" /* 8 bytes, no NUL */
#define SNAP_FORMAT_VERSION 1
#define SNAP_MAX_SECTION    (64u << 20) /* a reader refuses larger sections */
#define SNAP_NFEATURES	    8
/* What a reader takes of each type at most (the rest is corrupt): a restore keeps
 * every VCPU section, the VM and FILES ones until the end, so its memory stays
 * near the guest's RAM plus a few MiB, not SNAP_MAX_SECTION per vCPU. */
#define SNAP_MAX_MEM_SECTION	((2u << 20) + 4096u) /* 512 pages and their bitmaps */
#define SNAP_MAX_STATE_SECTION	(256u << 10)	     /* VCPU, VM */
#define SNAP_MAX_FILES_SECTION	(8u << 20)	     /* 1024 fds with paths < 4 KiB */
#define SNAP_MAX_CONFIG_SECTION (8u << 20)	     /* 128 arguments of the command line */

enum snap_kind { SNAP_FULL = 1, SNAP_INCREMENTAL = 2 };

/* The file header. On disk: these fields in this order, packed, then a CRC-32 of
 * the bytes before it (SNAP_HEADER_SIZE bytes in all). */
struct snap_header {
	uint32_t version;		   /* SNAP_FORMAT_VERSION */
	char proxy_version[32];		   /* NUL-padded */
	char cpu_vendor[16];		   /* CPUID 0 vendor string, NUL-padded */
	uint32_t features[SNAP_NFEATURES]; /* the guest's CPUID feature words: */
	/* 1.ECX, 1.EDX, 7.0.EBX, 7.0.ECX, 7.0.EDX, 0xD.1.EAX, 0x80000001.ECX, 0x80000001.EDX */
	uint32_t ncpus;
	uint32_t kind;	     /* enum snap_kind */
	uint64_t seq;	     /* 1, 2, ... within a chain */
	uint64_t parent_seq; /* the checkpoint an incremental one applies on; 0: full */
	uint64_t mem_size, mem_low_size, mem_limit; /* struct guest_mem's layout */
	uint64_t created_ns;			    /* CLOCK_REALTIME */
};
#define SNAP_HEADER_SIZE 152 /* 8 magic + 140 of fields + 4 CRC */

enum snap_section_type {
	SNAP_SEC_END = 0,
	SNAP_SEC_CONFIG = 1, /* key=value lines (snap_config.c) */
	SNAP_SEC_VCPU = 2,   /* index: vCPU number */
	SNAP_SEC_VM = 3,     /* clock, irqchip */
	SNAP_SEC_FILES = 4,  /* the guest's open files */
	SNAP_SEC_MEM = 5,    /* a run of pages */
	SNAP_SEC_SYNC = 6,   /* empty; live migration: the target answers 'S' (mig_live.c) */
};

/* Section header on disk: u32 type, u32 index, u64 length, u32 crc32 (payload), u32 0. */
struct snap_section {
	uint32_t type, index;
	uint64_t length;
	uint32_t crc;
};

/* Writing: to a file, a pipe or a socket; every call returns 0 or -errno (w->err
 * keeps the first one, as -errno, and later calls do nothing but return it). A
 * section longer than SNAP_MAX_SECTION is refused with -EFBIG. */
struct snap_writer {
	int fd;
	uint64_t bytes; /* written so far */
	int err;
};
void snap_writer_init(struct snap_writer *w, int fd);
int snap_write_header(struct snap_writer *w, const struct snap_header *h);
int snap_write_section(struct snap_writer *w, uint32_t type, uint32_t index, const void *data,
		       uint64_t len);
/* One section from several pieces (the CRC covers them in order). */
int snap_write_sectionv(struct snap_writer *w, uint32_t type, uint32_t index,
			const struct iovec *iov, int iovcnt);
int snap_write_end(struct snap_writer *w);

/* Reading. `name` (a path, or "the migration stream") starts every message. Each
 * call returns 0 or -1 with a message in r->err naming the problem:
 *   "<name> is not a proxy checkpoint (magic ...)"
 *   "<name> is a proxy checkpoint of format version N (this proxy reads version 1)"
 *   "<name> is truncated (it ends inside the header | section N (type T), at byte B)"
 *     (or "before section N, at byte B": no END section)
 *   "<name> is corrupt: header checksum mismatch" / "...: checksum mismatch in section N (type T)"
 *   "<name> is corrupt: section N (type T) claims L bytes (at most ...)" (the
 *     type's snap_section_max)
 *   "<name> is corrupt: section N has an unknown type T" (and a non-empty END, a
 *     non-zero reserved word), "<name> could not be read: <strerror>",
 *   "<name>: read past the end (section N was the END section)" */
struct snap_reader {
	int fd;
	const char *name;
	uint64_t offset;   /* bytes consumed */
	unsigned sections; /* read so far */
	bool ended;	   /* the END section was read */
	char err[512];
};
void snap_reader_init(struct snap_reader *r, int fd, const char *name);
/* The most a reader accepts in a section of this type (SNAP_MAX_*_SECTION). */
uint64_t snap_section_max(uint32_t type);
int snap_read_header(struct snap_reader *r, struct snap_header *h);
/* The next section: 1 with *data (malloc'ed, length s->length, caller frees; NULL
 * for an empty payload), 0 at the END section, -1 on error. */
int snap_read_section(struct snap_reader *r, struct snap_section *s, void **data);

/* Whether this host can continue a guest saved with header `saved`: the same CPU
 * vendor, and every feature bit the guest had is on this host (`host`: the
 * features this host would give a new guest). 0, or -1 with a message:
 *   "<name> was taken on a GenuineIntel host; this host is AuthenticAMD"
 *   "<name> needs CPU features this host lacks: CPUID 1.ECX bits 0x..., ..." */
int snap_check_host(const struct snap_header *saved, const struct snap_header *host,
		    const char *name, char *err, size_t errlen);

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len); /* start with 0 */

#endif
