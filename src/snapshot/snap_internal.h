/* snap_internal.h: what the files of src/snapshot/ share. */
#ifndef PROXY_SNAP_INTERNAL_H
#define PROXY_SNAP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "snapshot.h"

/* A growing byte buffer; `failed` once an allocation failed (later puts do nothing). */
struct snap_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};
void snap_buf_put(struct snap_buf *b, const void *data, size_t len);
void snap_buf_free(struct snap_buf *b);

/* Records of the VCPU and VM payloads: u32 tag, u32 length, `length` bytes. */
void snap_put_record(struct snap_buf *b, uint32_t tag, const void *data, uint32_t len);
/* The record at *off (advanced past it): true with its tag, data and length; false
 * at the end or at a record that claims more bytes than are left. */
bool snap_next_record(const uint8_t *p, uint64_t len, uint64_t *off, uint32_t *tag,
		      const uint8_t **data, uint32_t *rlen);

struct snapshot {
	/* snap_pause.c. op_lock: one save or load at a time (checkpoint thread,
	 * migration, the console, GDB's monitor), held from pause to resume. */
	pthread_mutex_t op_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic bool requested;
	bool *parked;  /* per vCPU, under lock */
	bool *blocked; /* per vCPU: in a blocking hypercall */
	/* Dirty tracking for incremental saves (snap_mem.c). */
	bool incremental;
	bool have_base; /* a save of the chain happened: the log holds what changed since */
	/* Loading (snapshot.c): the last of each kind of section, put in at the end. */
	void **vcpu_state;
	uint64_t *vcpu_len;
	void *vm_state, *files;
	uint64_t vm_len, files_len;
	bool files_seen;		      /* a FILES section came (empty: no files open) */
	struct snap_files_ready *files_ready; /* loadvm: `files` already reopened */
	int pagemap_fd; /* /proc/self/pagemap: which RAM the host backs (snap_mem.c) */
	bool cow_child; /* set in a background checkpoint's child (ckpt_background.c) */
	/* The monitor's savevm: in-memory checkpoints (snap_store.c). */
	struct snap_stored *stored;
	/* The VM was loaded from a checkpoint (--restore, --incoming, loadvm). */
	bool loaded;
	struct checkpointer *checkpointer; /* HERMIT_CHECKPOINT (checkpoint.c) */
	struct addrinfo *migrate_ai;	   /* --migrate-to, resolved at start (migrate.c) */
	struct mig_key *migrate_key;	   /* --migration-key (mig_transport.h); NULL: none */
	bool (*migrate_peer_ok)(int fd, void *ctx); /* a keyless target's user */
	void *migrate_peer_ctx;
	/* The image, for CONFIG (snap_config.c). */
	char *image_path;
	int image_fd;
	bool image_known; /* image_size and image_crc hold (the first save, or a restore) */
	uint64_t image_size;
	uint32_t image_crc;
};

/* snapshot.c: a full stream in parts (live migration): the header (seq 1) and
 * CONFIG; the VM, VCPU and FILES sections of the quiescent VM. 0, or -1 with a
 * message. */
int snap_save_begin(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);
int snap_save_state(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);

/* mig_live.c: a SYNC section read from `fd`: answer 'S' to the source (a socket;
 * never waits: a source that does not read its answers is broken). 0, or -1 with
 * a message (a file: SYNC belongs to migration streams only). */
int snap_answer_sync(int fd, char *err, size_t errlen);
/* snapshot.c: the header and every section before MEM (a quiescent VM). */
int snapshot_save_state(struct vm *vm, struct snap_writer *w, bool full, uint64_t seq,
			uint64_t parent, char *err, size_t errlen);

/* ckpt_background.c: a full checkpoint whose memory is written while the guest runs
 * (from a copy-on-write child process). `pages`, `bytes` as snapshot_save; the
 * guest's pause goes to *paused_ns. 0, or -1 with a message. */
int ckpt_background_save(struct vm *vm, int fd, uint64_t seq, uint64_t *pages, uint64_t *bytes,
			 uint64_t *paused_ns, char *err, size_t errlen);

/* snap_pause.c */
void snap_pause_register(struct vm *vm, struct snapshot *s);
/* snapshot_pause and snapshot_resume for a caller that holds op_lock already (live
 * migration holds it from its first round to its end). */
int snap_pause_held(struct vm *vm, char *err, size_t errlen);
void snap_resume_held(struct vm *vm);
bool snap_vcpu_blocked(struct vm *vm, unsigned id);
bool snap_any_blocked(struct vm *vm);

/* snap_vcpu.c */
int snap_vcpu_save(struct vcpu *v, struct snap_buf *b, char *err, size_t errlen);
int snap_vcpu_check(const void *payload, uint64_t len, unsigned id, char *err, size_t errlen);
int snap_vcpu_load(struct vcpu *v, const void *payload, uint64_t len, char *err, size_t errlen);
int snap_vcpu_complete_io(struct vcpu *v);
/* The saved run state (enum vcpu_state) of a VCPU payload; -1 without one. */
int snap_vcpu_saved_state(const void *payload, uint64_t len, uint32_t *state);

/* snap_vm.c: KVM clock and the in-kernel irqchip. */
int snap_vm_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen);
int snap_vm_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen);

/* snap_mem.c */
int snap_mem_save(struct vm *vm, struct snap_writer *w, bool full, bool keep_log, uint64_t *pages,
		  char *err, size_t errlen);
int snap_mem_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen);
/* What snap_mem_load would refuse, without writing RAM (loadvm checks first). */
int snap_mem_check(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen);
/* Before the first save: clear the logs so the next incremental save starts here. */
int snap_mem_reset_log(struct vm *vm, char *err, size_t errlen);
/* The pages of `bits` (one bit per 4 KiB of RAM) as partial MEM sections, a
 * zeroed page as a clear bit, or (NULL) every page the host backs as full ones:
 * live migration's rounds, each page copied before its checksum (the guest may
 * run). Their count added to *pages. 0, or -1 with a message. */
int snap_mem_save_pages(struct vm *vm, struct snap_writer *w, const uint64_t *bits, uint64_t *pages,
			char *err, size_t errlen);

/* snap_config.c */
int snap_config_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen);
/* The image the VM was built from (open as image_fd, named path), for CONFIG. */
int snap_config_open_image(struct snapshot *s, const char *path, int image_fd, char *err,
			   size_t errlen);
int snap_config_parse(const void *payload, uint64_t len, struct snap_config *sc, char *err,
		      size_t errlen);

/* snap_files.c */
int snap_files_save(struct vm *vm, struct snap_buf *b, char *err, size_t errlen);
int snap_files_load(struct vm *vm, const void *payload, uint64_t len, char *err, size_t errlen);
/* snap_files_load in two steps, so a loadvm opens every file before it changes the
 * VM: the files reopened (*out; 0) or a message (-1, nothing left open), then put
 * in the guest's table in place of what it held (f is used up). */
struct snap_files_ready;
int snap_files_open(struct vm *vm, const void *payload, uint64_t len, struct snap_files_ready **out,
		    char *err, size_t errlen);
void snap_files_install(struct vm *vm, struct snap_files_ready *f);
void snap_files_free(struct snap_files_ready *f);

#endif
