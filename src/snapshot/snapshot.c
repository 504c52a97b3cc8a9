/* snapshot.c: a checkpoint's sections in order, out of the VM and back in. */
#include "snap_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

void snap_buf_put(struct snap_buf *b, const void *data, size_t len)
{
	if (b->failed || !len)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->failed = true;
			return;
		}
		b->data = d, b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void snap_buf_free(struct snap_buf *b)
{
	free(b->data);
	*b = (struct snap_buf){0};
}

void snap_put_record(struct snap_buf *b, uint32_t tag, const void *data, uint32_t len)
{
	snap_buf_put(b, &tag, 4);
	snap_buf_put(b, &len, 4);
	snap_buf_put(b, data, len);
}

bool snap_next_record(const uint8_t *p, uint64_t len, uint64_t *off, uint32_t *tag,
		      const uint8_t **data, uint32_t *rlen)
{
	if (*off > len || len - *off < 8)
		return false;
	memcpy(tag, p + *off, 4);
	memcpy(rlen, p + *off + 4, 4);
	if (*rlen > len - *off - 8)
		return false;
	*data = p + *off + 8;
	*off += 8 + (uint64_t)*rlen;
	return true;
}

void snapshot_init(struct vm *vm, bool incremental)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		die("out of memory");
	vm->snap = s;
	s->incremental = incremental;
	/* Opened now: the sandbox closes /proc later (snap_mem.c reads it). */
	s->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	snap_pause_register(vm, s);
	char err[512];
	if (snap_config_open_image(s, vm->cfg->image, vm->image.fd, err, sizeof(err)))
		die("cannot read the unikernel for its checkpoints: %s", err);
	/* Live migration needs proxy's own writes recorded from the start too: a
	 * pointer handed out before would write unseen (mig_live.c). */
	guest_mem_track_host_writes(&vm->mem);
	if (incremental)
		vm->ram_dirty_log = true; /* before any memory slot is registered */
}

static uint32_t cpuid_word(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, int reg)
{
	for (uint32_t i = 0; c && i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == fn &&
		    (e->index == idx || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))) {
			const uint32_t r[4] = {e->eax, e->ebx, e->ecx, e->edx};
			return r[reg];
		}
	}
	return 0;
}

void snapshot_host_header(struct vm *vm, struct snap_header *h)
{
	enum { A, B, C, D };
	memset(h, 0, sizeof(*h));
	h->version = SNAP_FORMAT_VERSION;
	snprintf(h->proxy_version, sizeof(h->proxy_version), "%s", PROXY_VERSION);
	uint32_t v[3] = {cpuid_word(vm->cpuid, 0, 0, B), cpuid_word(vm->cpuid, 0, 0, D),
			 cpuid_word(vm->cpuid, 0, 0, C)};
	memcpy(h->cpu_vendor, v, 12);
	const struct {
		uint32_t fn, idx;
		int reg;
	} words[SNAP_NFEATURES] = {{1, 0, C}, {1, 0, D},   {7, 0, B},	       {7, 0, C},
				   {7, 0, D}, {0xd, 1, A}, {0x80000001, 0, C}, {0x80000001, 0, D}};
	for (int i = 0; i < SNAP_NFEATURES; i++)
		h->features[i] = cpuid_word(vm->cpuid, words[i].fn, words[i].idx, words[i].reg);
	/* Bits the kernel or the guest flips at run time, not features. */
	h->features[0] &= ~((1u << 27) | (1u << 24)); /* OSXSAVE, TSC deadline (LAPIC-dependent) */
	h->ncpus = vm->ncpus;
	h->mem_size = vm->mem.size;
	h->mem_low_size = vm->mem.low_size;
	h->mem_limit = vm->mem.limit;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->created_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int write_buf_section(struct snap_writer *w, uint32_t type, uint32_t index,
			     struct snap_buf *b)
{
	int rc = snap_write_section(w, type, index, b->data, b->len);
	snap_buf_free(b);
	return rc;
}

/* Every vCPU's pending I/O finished first (snap_vcpu_complete_io), except one
 * waiting in a hypercall: it repeats the call after a restore. */
static int save_vcpus(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct snap_buf b = {0};
		int st = atomic_load(&v->state);
		if (st == VCPU_RUNNING && !snap_vcpu_blocked(vm, i) && snap_vcpu_complete_io(v)) {
			snprintf(err, errlen,
				 "vCPU %u was in the middle of an access; the next "
				 "checkpoint will try again",
				 i);
			return -1;
		}
		if (snap_vcpu_save(v, &b, err, errlen)) {
			snap_buf_free(&b);
			return -1;
		}
		if (write_buf_section(w, SNAP_SEC_VCPU, i, &b))
			return snprintf(err, errlen, "writing: %s", strerror(-w->err)), -1;
	}
	return 0;
}

static int save_section(struct vm *vm, struct snap_writer *w, uint32_t type,
			int (*fn)(struct vm *, struct snap_buf *, char *, size_t), char *err,
			size_t errlen)
{
	struct snap_buf b = {0};
	if (fn(vm, &b, err, errlen)) {
		snap_buf_free(&b);
		return -1;
	}
	if (write_buf_section(w, type, 0, &b))
		return snprintf(err, errlen, "writing: %s", strerror(-w->err)), -1;
	return 0;
}

int snap_save_state(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	return save_section(vm, w, SNAP_SEC_VM, snap_vm_save, err, errlen) ||
			       save_vcpus(vm, w, err, errlen) ||
			       save_section(vm, w, SNAP_SEC_FILES, snap_files_save, err, errlen)
		       ? -1
		       : 0;
}

static int save_header_config(struct vm *vm, struct snap_writer *w, bool full, uint64_t seq,
			      uint64_t parent, char *err, size_t errlen)
{
	struct snap_header h;
	snapshot_host_header(vm, &h);
	h.kind = full ? SNAP_FULL : SNAP_INCREMENTAL;
	h.seq = seq;
	h.parent_seq = full ? 0 : parent;
	if (snap_write_header(w, &h))
		return snprintf(err, errlen, "writing: %s", strerror(-w->err)), -1;
	return save_section(vm, w, SNAP_SEC_CONFIG, snap_config_save, err, errlen);
}

int snap_save_begin(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	return save_header_config(vm, w, true, 1, 0, err, errlen);
}

int snapshot_save_state(struct vm *vm, struct snap_writer *w, bool full, uint64_t seq,
			uint64_t parent, char *err, size_t errlen)
{
	return save_header_config(vm, w, full, seq, parent, err, errlen) ||
			       snap_save_state(vm, w, err, errlen)
		       ? -1
		       : 0;
}

int snapshot_save(struct vm *vm, int fd, enum snap_save_kind kind, uint64_t seq, uint64_t parent,
		  uint64_t *pages, uint64_t *bytes, char *err, size_t errlen)
{
	struct snapshot *s = vm->snap;
	bool full = kind != SAVE_INCREMENTAL || !s->have_base || !s->incremental;
	bool keep_log = kind == SAVE_FULL_KEEP_LOG;
	struct snap_writer w;
	snap_writer_init(&w, fd);
	*pages = 0;
	if (snapshot_save_state(vm, &w, full, seq, parent, err, errlen) ||
	    snap_mem_save(vm, &w, full, keep_log, pages, err, errlen))
		return -1;
	if (snap_write_end(&w))
		return snprintf(err, errlen, "writing: %s", strerror(-w.err)), -1;
	if (!keep_log)
		s->have_base = true;
	*bytes = w.bytes;
	return 0;
}

static int read_config(struct snap_reader *r, struct snap_config *sc, char *err, size_t errlen)
{
	if (snap_read_header(r, &sc->header))
		return snprintf(err, errlen, "%s", r->err), -1;
	struct snap_section sec;
	void *data = NULL;
	int rc = snap_read_section(r, &sec, &data);
	if (rc < 0)
		return snprintf(err, errlen, "%s", r->err), -1;
	if (rc == 0 || sec.type != SNAP_SEC_CONFIG) {
		free(data);
		return snprintf(err, errlen,
				"%s is corrupt: it does not start with its "
				"configuration",
				r->name),
		       -1;
	}
	char why[256];
	rc = snap_config_parse(data, sec.length, sc, why, sizeof(why));
	free(data);
	if (rc)
		return snprintf(err, errlen, "%s: %s", r->name, why), -1;
	if (sc->header.ncpus < 1 || sc->header.ncpus > CONFIG_MAX_CPUS ||
	    sc->header.mem_size < CONFIG_MIN_MEM || sc->header.mem_size > CONFIG_MAX_MEM ||
	    sc->header.mem_size % GUEST_PAGE)
		return snprintf(err, errlen, "%s is corrupt: %u vCPUs, %llu bytes of memory",
				r->name, sc->header.ncpus, (unsigned long long)sc->header.mem_size),
		       -1;
	return 0;
}

int snapshot_read_config(struct snap_reader *r, struct snap_config *sc, char *err, size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	sc->image_fd = -1;
	int rc = read_config(r, sc, err, errlen);
	if (rc)
		snapshot_free_config(sc); /* what a malformed section left half parsed */
	return rc;
}

/* Keep the last section of a kind (a chain's later files replace earlier state). */
static void keep(void **slot, uint64_t *slot_len, void *data, uint64_t len)
{
	free(*slot);
	*slot = data;
	*slot_len = len;
}

static int take_section(struct vm *vm, const struct snap_section *sec, void *data, char *err,
			size_t errlen)
{
	struct snapshot *s = vm->snap;
	switch (sec->type) {
	case SNAP_SEC_MEM: {
		int rc = snap_mem_load(vm, data, sec->length, err, errlen);
		free(data);
		return rc;
	}
	case SNAP_SEC_VCPU:
		if (sec->index >= vm->ncpus) {
			free(data);
			return snprintf(err, errlen, "state for vCPU %u of %u", sec->index,
					vm->ncpus),
			       -1;
		}
		if (snap_vcpu_check(data, sec->length, sec->index, err, errlen)) {
			free(data);
			return -1;
		}
		keep(&s->vcpu_state[sec->index], &s->vcpu_len[sec->index], data, sec->length);
		return 0;
	case SNAP_SEC_VM:
		keep(&s->vm_state, &s->vm_len, data, sec->length);
		return 0;
	case SNAP_SEC_FILES:
		keep(&s->files, &s->files_len, data, sec->length);
		s->files_seen = true;
		return 0;
	default:
		free(data);
		return snprintf(err, errlen, "an unexpected section (type %u)", sec->type), -1;
	}
}

int snapshot_load_stream(struct vm *vm, struct snap_reader *r, char *err, size_t errlen)
{
	struct snapshot *s = vm->snap;
	if (!s->vcpu_state) {
		s->vcpu_state = calloc(vm->ncpus, sizeof(void *));
		s->vcpu_len = calloc(vm->ncpus, sizeof(uint64_t));
		if (!s->vcpu_state || !s->vcpu_len)
			return snprintf(err, errlen, "out of memory"), -1;
	}
	for (;;) {
		struct snap_section sec;
		void *data = NULL;
		int rc = snap_read_section(r, &sec, &data);
		if (rc < 0)
			return snprintf(err, errlen, "%s", r->err), -1;
		if (rc == 0)
			return 0;
		char why[384];
		if (sec.type == SNAP_SEC_SYNC ? snap_answer_sync(r->fd, why, sizeof(why))
					      : take_section(vm, &sec, data, why, sizeof(why)))
			return snprintf(err, errlen, "%s: %s", r->name, why), -1;
	}
}

int snapshot_finish_load(struct vm *vm, char *err, size_t errlen)
{
	struct snapshot *s = vm->snap;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (!s->vcpu_state[i])
			return snprintf(err, errlen, "the checkpoint has no state for vCPU %u", i),
			       -1;
	if (s->vm_state && snap_vm_load(vm, s->vm_state, s->vm_len, err, errlen))
		return -1;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (snap_vcpu_load(&vm->vcpus[i], s->vcpu_state[i], s->vcpu_len[i], err, errlen))
			return -1;
	if (s->files_ready) /* loadvm reopened them before it changed anything */
		snap_files_install(vm, s->files_ready);
	else if (s->files_seen && snap_files_load(vm, s->files, s->files_len, err, errlen))
		return -1;
	s->files_ready = NULL;
	s->files_seen = false;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		free(s->vcpu_state[i]);
		s->vcpu_state[i] = NULL;
	}
	keep(&s->vm_state, &s->vm_len, NULL, 0);
	keep(&s->files, &s->files_len, NULL, 0);
	s->loaded = true;
	s->have_base = false; /* the next periodic checkpoint starts a new chain */
	return 0;
}

/* What take_section and snapshot_finish_load would refuse in a section, found
 * before the VM changes (a loadvm that fails then leaves it as it was). */
static int check_content(struct vm *vm, const struct snap_section *sec, const void *data, char *err,
			 size_t errlen)
{
	switch (sec->type) {
	case SNAP_SEC_MEM:
		return snap_mem_check(vm, data, sec->length, err, errlen);
	case SNAP_SEC_VCPU:
		if (sec->index >= vm->ncpus)
			return snprintf(err, errlen, "state for vCPU %u of %u", sec->index,
					vm->ncpus),
			       -1;
		return snap_vcpu_check(data, sec->length, sec->index, err, errlen);
	case SNAP_SEC_SYNC:
		return snprintf(err, errlen, "a migration's SYNC section in a checkpoint"), -1;
	default:
		return 0;
	}
}

/* Read the whole stream once for its checksums and shape before touching the VM;
 * the last FILES section's payload goes to *files (NULL: none). */
static int verify(struct vm *vm, int fd, const char *name, struct snap_buf *files, bool *files_seen,
		  char *err, size_t errlen)
{
	struct snap_reader r;
	struct snap_config sc;
	snap_reader_init(&r, fd, name);
	if (snapshot_read_config(&r, &sc, err, errlen)) {
		snapshot_free_config(&sc);
		return -1;
	}
	bool other = sc.header.ncpus != vm->ncpus || sc.header.mem_size != vm->mem.size;
	if (other)
		snprintf(err, errlen, "%s is of another VM (%u vCPUs, %llu MiB)", name,
			 sc.header.ncpus, (unsigned long long)(sc.header.mem_size >> 20));
	snapshot_free_config(&sc);
	if (other)
		return -1;
	for (;;) {
		struct snap_section sec;
		void *data = NULL;
		int rc = snap_read_section(&r, &sec, &data);
		uint32_t state = VCPU_RUNNING;
		bool before_start = rc > 0 && sec.type == SNAP_SEC_VCPU && sec.index < vm->ncpus &&
				    !snap_vcpu_saved_state(data, sec.length, &state) &&
				    state == VCPU_GATED &&
				    atomic_load(&vm->vcpus[sec.index].state) != VCPU_GATED;
		char why[384];
		if (rc > 0 && check_content(vm, &sec, data, why, sizeof(why))) {
			free(data);
			return snprintf(err, errlen, "%s: %s", name, why), -1;
		}
		if (rc > 0 && sec.type == SNAP_SEC_FILES) {
			snap_buf_free(files);
			snap_buf_put(files, data, sec.length);
			*files_seen = true;
		}
		free(data);
		if (files->failed)
			return snprintf(err, errlen, "out of memory"), -1;
		if (rc < 0)
			return snprintf(err, errlen, "%s", r.err), -1;
		if (before_start) /* its thread has passed the start gate: it cannot go back */
			return snprintf(err, errlen, "%s is from before vCPU %u started", name,
					sec.index),
			       -1;
		if (rc == 0)
			return 0;
	}
}

/* verify, then the guest's files of the snapshot opened (vm->snap->files_ready): a
 * file that is gone refuses the load while the VM is still as it was. */
static int prepare_files(struct vm *vm, int fd, const char *name, char *err, size_t errlen)
{
	struct snap_buf files = {0};
	bool seen = false;
	int rc = verify(vm, fd, name, &files, &seen, err, errlen);
	if (!rc && seen) {
		char why[512];
		rc = snap_files_open(vm, files.data, files.len, &vm->snap->files_ready, why,
				     sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: %s", name, why);
	}
	snap_buf_free(&files);
	return rc;
}

int snapshot_load_into_running(struct vm *vm, int fd, const char *name, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (snap_vcpu_blocked(vm, i))
			return snprintf(err, errlen,
					"vCPU %u waits in a blocking hypercall: load a "
					"snapshot when every vCPU is in guest code",
					i),
			       -1;
	if (lseek(fd, 0, SEEK_SET) < 0 || prepare_files(vm, fd, name, err, errlen) ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		snap_files_free(vm->snap->files_ready);
		vm->snap->files_ready = NULL;
		return -1;
	}
	/* Pending I/O would otherwise complete into the loaded state. */
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (atomic_load(&vm->vcpus[i].state) == VCPU_RUNNING)
			snap_vcpu_complete_io(&vm->vcpus[i]);
	/* RAM the snapshot does not mention is zero in it: drop ours first. */
	madvise(vm->mem.host, vm->mem.size, MADV_DONTNEED);
	struct snap_reader r;
	struct snap_config sc;
	snap_reader_init(&r, fd, name);
	int rc = snapshot_read_config(&r, &sc, err, errlen);
	snapshot_free_config(&sc);
	if (rc || snapshot_load_stream(vm, &r, err, errlen) ||
	    snapshot_finish_load(vm, err, errlen)) {
		snap_files_free(vm->snap->files_ready);
		vm->snap->files_ready = NULL;
		/* Checked above; a failure now is the host's (KVM refused a state), and the
		 * VM is half loaded: it ends, saying why where the user sees it. */
		warnx_("loadvm %s: %s; the VM ends", name, err);
		vm_end(vm, STATUS_SETUP_ERROR);
		return -1;
	}
	return 0;
}
