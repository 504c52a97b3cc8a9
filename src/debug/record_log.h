/* record_log.h: the reverse-execution log, without KVM (unit-tested on its own).
 *
 * One entry per recorded instruction: the vCPU, the registers that changed (old and
 * new value) and the runs of guest-memory bytes that changed (offsets into the RAM
 * mapping, old and new bytes). Undoing an entry writes the old values back, redoing
 * it the new ones. The log keeps at most `limit` bytes: the oldest entries go first.
 */
#ifndef PROXY_RECORD_LOG_H
#define PROXY_RECORD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The register state vector: KVM's kvm_regs order first, then what sregs add. */
enum rec_reg {
	REC_RAX,
	REC_RBX,
	REC_RCX,
	REC_RDX,
	REC_RSI,
	REC_RDI,
	REC_RSP,
	REC_RBP,
	REC_R8,
	REC_R15 = REC_R8 + 7,
	REC_RIP,
	REC_RFLAGS,
	REC_FS_BASE,
	REC_GS_BASE,
	REC_CR0,
	REC_CR2,
	REC_CR3,
	REC_CR4,
	REC_CR8,
	REC_EFER,
	REC_IDT_BASE,
	REC_IDT_LIMIT,
	REC_GDT_BASE,
	REC_GDT_LIMIT,
	REC_NREGS
};

/* An entry holds differences, not values: for each changed register and memory run
 * the XOR of its old and new value. Applied to the state after the instruction it
 * gives the state before, and the other way round, so one copy serves undo and
 * redo at half the size. Packed, read with memcpy. */
struct rec_entry {
	uint16_t cpu;
	uint16_t nregs;
	uint32_t nruns;
	uint32_t size;	/* bytes of the whole entry, header included */
	uint8_t data[]; /* nregs x (u8 id, u64 xor), then nruns x (u64 off, u32 len, xor[len]) */
};

#define REC_REG_BYTES 9	 /* id + XOR */
#define REC_RUN_HEAD  12 /* off + len */

struct rec_regchg {
	unsigned id;
	uint64_t old, new;
};

/* Builds one entry: memory runs into a growing buffer, registers on the side. */
struct rec_builder {
	uint8_t *mem;
	size_t len, cap;
	uint32_t nruns, nregs;
	uint32_t cpu;
	bool oom;
	struct rec_regchg regs[REC_NREGS];
	uint64_t changed_bytes; /* bytes that really differed (runs may span equal bytes) */
};

void rec_builder_begin(struct rec_builder *b, uint32_t cpu);
void rec_builder_free(struct rec_builder *b);
/* Registers whose value differs between old and cur. */
void rec_diff_regs(struct rec_builder *b, const uint64_t old[REC_NREGS],
		   const uint64_t cur[REC_NREGS]);
/* The bytes of one page (or any range) at `off` that differ between shadow and cur,
 * as runs (close runs merged: a run header costs more than a few equal bytes); the
 * shadow is brought up to date. Returns how many bytes differed. */
size_t rec_diff_page(struct rec_builder *b, uint64_t off, uint8_t *shadow, const uint8_t *cur,
		     size_t len);
/* The entry built (malloc'd), or NULL when memory ran out. */
struct rec_entry *rec_builder_finish(struct rec_builder *b);

/* Undo or redo an entry (the same: XOR its differences in) through the callbacks:
 * xor_reg XORs a value into a register, xor_mem bytes into memory. */
struct rec_apply {
	void (*xor_reg)(void *arg, uint32_t cpu, unsigned id, uint64_t diff);
	void (*xor_mem)(void *arg, uint64_t off, const uint8_t *diff, uint32_t len);
	void *arg;
};
void rec_entry_apply(const struct rec_entry *e, const struct rec_apply *a);
/* Whether the entry changed a byte of [off, off + len). */
bool rec_entry_touches(const struct rec_entry *e, uint64_t off, uint64_t len);
/* How the entry changed a register (old XOR new); false when it did not. */
bool rec_entry_reg(const struct rec_entry *e, unsigned id, uint64_t *diff);

struct rec_log {
	struct rec_entry **ring;
	size_t cap, head, count; /* entries [head, head + count) modulo cap */
	size_t pos;		 /* entries applied: count means the present */
	size_t bytes, limit;
	uint64_t dropped; /* entries dropped at the front */
};

void rec_log_init(struct rec_log *l, size_t limit);
void rec_log_free(struct rec_log *l);
/* Append at the present (pos == count), dropping the oldest entries while over the
 * limit. -ENOMEM (the entry is freed) or 0. */
int rec_log_append(struct rec_log *l, struct rec_entry *e);
struct rec_entry *rec_log_at(const struct rec_log *l, size_t i);
void rec_log_set_limit(struct rec_log *l, size_t limit);

#endif
