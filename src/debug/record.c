/* record.c: recording and replaying the guest for reverse execution (record.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "debug_internal.h"
#include "log.h"
#include "record.h"
#include "record_log.h"

#define RECORD_DEFAULT_MIB 64

struct recorder {
	bool on;
	struct rec_log log;
	uint8_t *shadow; /* guest RAM as of the last entry (or resync) */
	uint64_t *bits;	 /* dirty pages, one bit per 4 KiB of RAM */
	size_t words;
	uint64_t (*prev)[REC_NREGS]; /* each vCPU's registers as last logged */
	struct rec_builder b;
	pthread_mutex_t lock; /* vCPUs log one at a time */
	uint64_t insns, changed_bytes, changed_regs;
	uint64_t *cpu_insns; /* instructions logged per vCPU */
	size_t limit;
	bool own_dirty_log; /* turned KVM's dirty log on at start: off again at the end */
};

_Static_assert(sizeof(struct kvm_regs) == 18 * sizeof(uint64_t), "kvm_regs: 18 registers");

static void state_of(const struct kvm_regs *r, const struct kvm_sregs *s, uint64_t st[REC_NREGS])
{
	memcpy(st, r, sizeof(*r));
	st[REC_FS_BASE] = s->fs.base;
	st[REC_GS_BASE] = s->gs.base;
	st[REC_CR0] = s->cr0;
	st[REC_CR2] = s->cr2;
	st[REC_CR3] = s->cr3;
	st[REC_CR4] = s->cr4;
	st[REC_CR8] = s->cr8;
	st[REC_EFER] = s->efer;
	st[REC_IDT_BASE] = s->idt.base;
	st[REC_IDT_LIMIT] = s->idt.limit;
	st[REC_GDT_BASE] = s->gdt.base;
	st[REC_GDT_LIMIT] = s->gdt.limit;
}

/* The register `id` of the cache, to be changed (marked for writing back). */
static __u64 *state_field(struct regcache *c, unsigned id)
{
	struct kvm_sregs *s = &c->sregs;
	if (id < REC_FS_BASE) {
		c->dirty_regs = true;
		return &((__u64 *)&c->regs)[id];
	}
	c->dirty_sregs = true;
	switch (id) {
	case REC_FS_BASE:
		return &s->fs.base;
	case REC_GS_BASE:
		return &s->gs.base;
	case REC_CR0:
		return &s->cr0;
	case REC_CR2:
		return &s->cr2;
	case REC_CR3:
		return &s->cr3;
	case REC_CR4:
		return &s->cr4;
	case REC_CR8:
		return &s->cr8;
	case REC_EFER:
		return &s->efer;
	case REC_IDT_BASE:
		return &s->idt.base;
	default:
		return &s->gdt.base;
	}
}

static void xor_state(struct regcache *c, unsigned id, uint64_t diff)
{
	if (id == REC_IDT_LIMIT)
		c->sregs.idt.limit ^= (uint16_t)diff;
	else if (id == REC_GDT_LIMIT)
		c->sregs.gdt.limit ^= (uint16_t)diff;
	else
		*state_field(c, id) ^= diff;
	c->dirty_sregs |= id >= REC_FS_BASE;
}

/* Before the vCPUs exist: proxy's own writes into guest RAM are marked from the start
 * (a bit per page, cheap). KVM's dirty log costs the guest its huge pages, so it is
 * turned on only while recording. */
void record_prepare_memory(struct vm *vm)
{
	if (!vm->mem.host_dirty)
		guest_mem_track_host_writes(&vm->mem);
}

bool record_on(const struct debugger *d)
{
	return d->rec && d->rec->on;
}

bool record_in_past(const struct debugger *d)
{
	return record_on(d) && d->rec->log.pos < d->rec->log.count;
}

/* The pages written since the last call (by the guest or by proxy), into r->bits. */
static int take_dirty(struct vm *vm, struct recorder *r)
{
	memset(r->bits, 0, r->words * sizeof(uint64_t));
	guest_mem_take_host_dirty(&vm->mem, r->bits, true);
	return ram_take_dirty_log(vm, r->bits);
}

/* Calls fn(off) for each dirty page in r->bits. */
#define FOR_EACH_DIRTY(r, off)                                                                     \
	for (size_t w_ = 0; w_ < (r)->words; w_++)                                                 \
		for (uint64_t m_ = (r)->bits[w_]; m_; m_ &= m_ - 1)                                \
			for (uint64_t off = ((uint64_t)w_ * 64 + (unsigned)__builtin_ctzll(m_)) *  \
					    GUEST_PAGE,                                            \
				      once_ = 1;                                                   \
			     once_; once_ = 0)

void record_step(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct recorder *r = vm->dbg->rec;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t cur[REC_NREGS];
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		warnx_("record: vCPU %u: cannot read its registers: %s", v->id, strerror(errno));
		return;
	}
	state_of(&regs, &sregs, cur);
	pthread_mutex_lock(&r->lock);
	if (!r->on) { /* dropped meanwhile (a detach) */
		pthread_mutex_unlock(&r->lock);
		return;
	}
	rec_builder_begin(&r->b, v->id);
	rec_diff_regs(&r->b, r->prev[v->id], cur);
	memcpy(r->prev[v->id], cur, sizeof(cur));
	if (take_dirty(vm, r))
		warnx_("record: cannot read KVM's dirty log: %s", strerror(errno));
	FOR_EACH_DIRTY(r, off)
	{
		if (off + GUEST_PAGE <= vm->mem.size)
			rec_diff_page(&r->b, off, r->shadow + off, vm->mem.host + off, GUEST_PAGE);
	}
	struct rec_entry *e = rec_builder_finish(&r->b);
	if (!e || rec_log_append(&r->log, e))
		warnx_("record: out of memory: instruction not logged");
	else {
		r->insns++;
		r->cpu_insns[v->id]++;
		r->changed_bytes += r->b.changed_bytes;
		r->changed_regs += r->b.nregs;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Each vCPU's registers as KVM has them (after the register cache was flushed, or
 * before GDB changed any: the next resume loads them again). Not through the cache,
 * which must stay invalid while the vCPUs run. */
static void load_prev(struct vm *vm, struct recorder *r)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0 &&
		    ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0)
			state_of(&regs, &sregs, r->prev[i]);
	}
}

void record_resync(struct vm *vm)
{
	struct recorder *r = vm->dbg->rec;
	if (!record_on(vm->dbg))
		return;
	load_prev(vm, r);
	if (take_dirty(vm, r))
		warnx_("record: cannot read KVM's dirty log: %s", strerror(errno));
	FOR_EACH_DIRTY(r, off)
	{
		if (off + GUEST_PAGE <= vm->mem.size)
			memcpy(r->shadow + off, vm->mem.host + off, GUEST_PAGE);
	}
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	for (size_t i = 0; i < GUEST_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

static struct recorder *recorder_new(struct vm *vm)
{
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->words = (vm->mem.size / GUEST_PAGE + 63) / 64;
	r->bits = calloc(r->words, sizeof(uint64_t));
	r->prev = calloc(vm->ncpus, sizeof(*r->prev));
	r->cpu_insns = calloc(vm->ncpus, sizeof(*r->cpu_insns));
	/* Lazily backed: only the pages the guest touched take host memory. */
	r->shadow = mmap(NULL, vm->mem.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (!r->bits || !r->prev || !r->cpu_insns || r->shadow == MAP_FAILED) {
		if (r->shadow != MAP_FAILED)
			munmap(r->shadow, vm->mem.size);
		free(r->bits);
		free(r->prev);
		free(r->cpu_insns);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->limit = (size_t)RECORD_DEFAULT_MIB << 20;
	rec_log_init(&r->log, r->limit);
	return r;
}

static int record_start(struct vm *vm, gdb_output_fn out, void *arg)
{
	struct debugger *d = vm->dbg;
	if (vm->cfg->checkpoint_interval || vm->cfg->migrate_to) {
		out(arg, "record: not with HERMIT_CHECKPOINT or migration (they restore state the "
			 "log could not undo)\n");
		return -EBUSY;
	}
	if (!vm->mem.host_dirty) {
		out(arg, "record: proxy's writes into guest memory are not tracked in this VM\n");
		return -EOPNOTSUPP;
	}
	if (!d->rec && !(d->rec = recorder_new(vm))) {
		out(arg, "record: out of memory\n");
		return -ENOMEM;
	}
	struct recorder *r = d->rec;
	if (r->on) {
		out(arg, "record: already recording\n");
		return 0;
	}
	if (!vm->ram_dirty_log) {
		int rc = ram_set_dirty_log(vm, true);
		if (rc) {
			out(arg, "record: cannot turn on KVM's dirty log\n");
			ram_set_dirty_log(vm, false);
			return rc;
		}
		r->own_dirty_log = true;
	}
	take_dirty(vm, r); /* from here on, only what changes counts */
	for (uint64_t off = 0; off + GUEST_PAGE <= vm->mem.size; off += GUEST_PAGE)
		if (!page_is_zero(vm->mem.host + off))
			memcpy(r->shadow + off, vm->mem.host + off, GUEST_PAGE);
	load_prev(vm, r);
	r->insns = r->changed_bytes = r->changed_regs = 0;
	memset(r->cpu_insns, 0, vm->ncpus * sizeof(*r->cpu_insns));
	debug_turn_reset(d);
	r->on = true;
	out(arg, "record: recording every instruction of every vCPU\n");
	return 0;
}

static void to_stderr(void *arg, const char *text)
{
	(void)arg;
	warnx_("%.*s", (int)strcspn(text, "\n"), text);
}

void record_autostart(struct vm *vm)
{
	struct debugger *d = vm->dbg;
	if (!vm->cfg->debug_record || d->record_autostarted)
		return;
	d->record_autostarted = true;
	if (record_start(vm, to_stderr, NULL))
		die("HERMIT_DEBUG_RECORD=1: cannot record");
}

void record_drop(struct vm *vm)
{
	struct recorder *r = vm->dbg ? vm->dbg->rec : NULL;
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	rec_log_free(&r->log);
	rec_builder_free(&r->b);
	r->on = false;
	pthread_mutex_unlock(&r->lock);
	if (r->own_dirty_log && ram_set_dirty_log(vm, false) == 0)
		r->own_dirty_log = false;
}

static void apply_xor_reg(void *arg, uint32_t cpu, unsigned id, uint64_t diff)
{
	struct vm *vm = arg;
	struct vcpu *v = &vm->vcpus[cpu < vm->ncpus ? cpu : 0];
	if (!regcache_load(v))
		xor_state(&v->dbg->rc, id, diff);
}

/* The shadow follows the guest, so going live again needs no copy. */
static void apply_xor_mem(void *arg, uint64_t off, const uint8_t *diff, uint32_t len)
{
	struct vm *vm = arg;
	if (off + len > vm->mem.size)
		return;
	uint8_t *g = vm->mem.host + off, *sh = vm->dbg->rec->shadow + off;
	for (uint32_t i = 0; i < len; i++) {
		g[i] ^= diff[i];
		sh[i] = g[i];
	}
}

static struct rec_apply apply_ops(struct vm *vm)
{
	return (struct rec_apply){.xor_reg = apply_xor_reg, .xor_mem = apply_xor_mem, .arg = vm};
}

/* A watchpoint whose bytes the entry changed; its address, or false. The watched
 * range is translated through the page tables of the vCPU that wrote. */
static bool watch_hit(struct vm *vm, const struct rec_entry *e, uint64_t *addr)
{
	struct debugger *d = vm->dbg;
	struct vcpu *v = &vm->vcpus[e->cpu];
	if (regcache_load(v))
		return false;
	for (int i = 0; i < DEBUG_HW_SLOTS; i++) {
		const struct hw_slot *s = &d->hw[i];
		uint64_t gpa, left;
		if (!s->used || s->kind == GDB_BP_HW ||
		    gva_to_gpa(&vm->mem, v->dbg->rc.sregs.cr3, s->addr, &gpa, &left))
			continue;
		uint8_t *p = gpa_host(&vm->mem, gpa, 1);
		uint64_t len = s->len < left ? s->len : left;
		if (p && rec_entry_touches(e, (uint64_t)(p - vm->mem.host), len)) {
			*addr = s->addr;
			return true;
		}
	}
	return false;
}

/* After applying `e`: the stop it makes while continuing, if any. */
static bool continue_stops(struct vm *vm, const struct rec_entry *e, struct gdb_stop *out)
{
	struct vcpu *v = &vm->vcpus[e->cpu];
	uint64_t addr;
	*out = (struct gdb_stop){
		.kind = GDB_STOP_SIGNAL, .cpu = (int)e->cpu, .signal = GDB_SIGTRAP};
	if (watch_hit(vm, e, &addr)) {
		out->kind = GDB_STOP_WATCH;
		out->addr = addr;
		return true;
	}
	if (regcache_load(v))
		return false;
	uint64_t rip = v->dbg->rc.regs.rip;
	if (debug_find_sw(vm->dbg, rip) || debug_is_written_bp(v, rip)) {
		out->kind = GDB_STOP_SWBREAK;
		return true;
	}
	if (debug_find_hw_exec(vm->dbg, rip)) {
		out->kind = GDB_STOP_HWBREAK;
		return true;
	}
	return false;
}

void record_reverse(struct vm *vm, int cpu, bool step, struct gdb_stop *out)
{
	struct recorder *r = vm->dbg->rec;
	const struct rec_apply undo = apply_ops(vm);
	while (r->log.pos > 0) {
		const struct rec_entry *e = rec_log_at(&r->log, --r->log.pos);
		rec_entry_apply(e, &undo);
		if (step && (int)e->cpu == cpu) {
			*out = (struct gdb_stop){
				.kind = GDB_STOP_SIGNAL, .cpu = cpu, .signal = GDB_SIGTRAP};
			return;
		}
		if (!step && continue_stops(vm, e, out))
			return;
	}
	*out = (struct gdb_stop){.kind = GDB_STOP_NO_HISTORY, .cpu = cpu, .signal = GDB_SIGTRAP};
}

bool record_replay(struct vm *vm, const enum gdb_resume_action *actions, struct gdb_stop *out)
{
	struct recorder *r = vm->dbg->rec;
	const struct rec_apply redo = apply_ops(vm);
	int step_cpu = -1;
	if (!record_in_past(vm->dbg))
		return false;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (actions[i] == GDB_RESUME_STEP)
			step_cpu = (int)i;
	while (r->log.pos < r->log.count) {
		const struct rec_entry *e = rec_log_at(&r->log, r->log.pos++);
		rec_entry_apply(e, &redo);
		if (step_cpu >= 0 && (int)e->cpu == step_cpu) {
			*out = (struct gdb_stop){
				.kind = GDB_STOP_SIGNAL, .cpu = step_cpu, .signal = GDB_SIGTRAP};
			return true;
		}
		if (step_cpu < 0 && continue_stops(vm, e, out))
			return true;
	}
	return false;
}

static void info_record(struct vm *vm, gdb_output_fn out, void *arg)
{
	struct recorder *r = vm->dbg->rec;
	char buf[512];
	if (!record_on(vm->dbg)) {
		out(arg, "record: not recording\n");
		return;
	}
	const struct rec_log *l = &r->log;
	snprintf(buf, sizeof(buf),
		 "record: recording; %" PRIu64 " instructions logged, %zu in the log (oldest "
		 "dropped: %" PRIu64 "), at %zu of %zu%s\n"
		 "record: %" PRIu64 " bytes of memory changed, log %zu bytes of %zu MiB, %" PRIu64
		 " register values changed\n",
		 r->insns, l->count, l->dropped, l->pos, l->count,
		 l->pos < l->count ? " (replaying the past)" : " (live)", r->changed_bytes,
		 l->bytes, l->limit >> 20, r->changed_regs);
	out(arg, buf);
	size_t n = (size_t)snprintf(buf, sizeof(buf), "record: instructions per vCPU:");
	for (unsigned i = 0; i < vm->ncpus && n + 40 < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %u: %" PRIu64, i,
				      r->cpu_insns[i]);
	snprintf(buf + n, sizeof(buf) - n, "%s\n", n + 40 < sizeof(buf) ? "" : " ...");
	out(arg, buf);
}

static int record_cmd(struct vm *vm, const char *args, gdb_output_fn out, void *arg)
{
	struct debugger *d = vm->dbg;
	unsigned long mib;
	char junk;
	if (!strcmp(args, "start"))
		return record_start(vm, out, arg);
	if (!strcmp(args, "stop")) {
		record_drop(vm);
		out(arg, "record: stopped, log dropped\n");
		return 0;
	}
	if (sscanf(args, "size %lu%c", &mib, &junk) == 1 && mib > 0 && mib < (1ul << 20)) {
		if (!d->rec && !(d->rec = recorder_new(vm)))
			return -ENOMEM;
		d->rec->limit = (size_t)mib << 20;
		rec_log_set_limit(&d->rec->log, d->rec->limit);
		return 0;
	}
	out(arg, "usage: record start | record stop | record size MIB\n");
	return -EINVAL;
}

int record_monitor(struct vm *vm, const char *cmd, gdb_output_fn out, void *arg)
{
	while (*cmd == ' ')
		cmd++;
	if (!strncmp(cmd, "record ", 7))
		return record_cmd(vm, cmd + 7, out, arg);
	if (!strcmp(cmd, "record"))
		return record_cmd(vm, "", out, arg);
	if (!strcmp(cmd, "info record")) {
		info_record(vm, out, arg);
		return 0;
	}
	if (record_on(vm->dbg) && (!strncmp(cmd, "savevm", 6) || !strncmp(cmd, "migrate", 7))) {
		out(arg, "record: not while recording (monitor record stop first)\n");
		return -EBUSY;
	}
	return 1;
}
