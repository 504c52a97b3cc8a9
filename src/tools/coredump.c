/* coredump.c: write the guest as an ELF64 core file (ET_CORE, EM_X86_64) with libelf.
 *
 * Layout: the ELF header and program headers (through libelf), one PT_NOTE with
 * NT_PRPSINFO, one NT_PRSTATUS per vCPU (the vCPU that ended the VM first, so
 * GDB shows the crash site, with the failure's signal and NT_SIGINFO: GDB's
 * $_siginfo, as under the debugger) and NT_AUXV (AT_ENTRY: GDB relocates a static-PIE
 * program file by comparing it with the file's e_entry), then one PT_LOAD per mapped range of vCPU
 * 0's page tables at the guest's VIRTUAL address, with p_paddr the guest-physical one (the physical
 * view). GDB reads cores by virtual address, which is what a guest's symbols use. Ranges are
 * clipped to guest RAM and the total is capped at the RAM size (a recursive page-table slot maps
 * RAM again). All-zero pages are left as holes, so the file stays sparse: untouched guest RAM costs
 * no disk.
 */
#include "coredump.h"
#include "create_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include "debug.h"
#include "hermit_abi.h"
#include "log.h"
#include "pagewalk.h"
#include "vmctl.h"

#define CORE_PAGE 4096ULL
#define NOTE_NAME "CORE"

struct segments {
	struct pw_range *v;
	unsigned n, cap;
	uint64_t total, budget;
	bool nomem;
};

static void add_segment(struct segments *s, uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	if (s->total >= s->budget)
		return;
	if (size > s->budget - s->total)
		size = s->budget - s->total;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 64;
		struct pw_range *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->nomem = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct pw_range){va, pa, size, flags};
	s->total += size;
}

struct collect {
	struct segments *segs;
	const struct guest_mem *mem;
};

/* Keep the parts of a mapped range that are guest RAM (below the PCI hole, above 4G,
 * or where an ABI placed it). */
static int clip_to_ram(void *arg, const struct pw_range *r)
{
	struct collect *c = arg;
	struct ram_range ram[2];
	unsigned n = guest_mem_ranges(c->mem, ram);
	for (unsigned i = 0; i < n; i++) {
		uint64_t end = ram[i].gpa + ram[i].size;
		uint64_t lo = r->pa > ram[i].gpa ? r->pa : ram[i].gpa;
		uint64_t hi = r->pa + r->size < end ? r->pa + r->size : end;
		if (lo < hi)
			add_segment(c->segs, r->va + (lo - r->pa), lo, hi - lo, r->flags);
	}
	return c->segs->nomem ? -ENOMEM : 0;
}

/* The vCPU that ended the VM (vm_fail records it); vCPU 0 for a dump on request. */
static unsigned crashed_vcpu(const struct vm *vm)
{
	return vm->failed_cpu >= 0 ? (unsigned)vm->failed_cpu : 0;
}

static void to_user_regs(const struct kvm_regs *r, const struct kvm_sregs *s,
			 struct user_regs_struct *u)
{
	*u = (struct user_regs_struct){
		.r15 = r->r15,
		.r14 = r->r14,
		.r13 = r->r13,
		.r12 = r->r12,
		.rbp = r->rbp,
		.rbx = r->rbx,
		.r11 = r->r11,
		.r10 = r->r10,
		.r9 = r->r9,
		.r8 = r->r8,
		.rax = r->rax,
		.rcx = r->rcx,
		.rdx = r->rdx,
		.rsi = r->rsi,
		.rdi = r->rdi,
		.orig_rax = ~0ULL,
		.rip = r->rip,
		.cs = s->cs.selector,
		.eflags = r->rflags,
		.rsp = r->rsp,
		.ss = s->ss.selector,
		.fs_base = s->fs.base,
		.gs_base = s->gs.base,
		.ds = s->ds.selector,
		.es = s->es.selector,
		.fs = s->fs.selector,
		.gs = s->gs.selector,
	};
}

static size_t put_note(uint8_t *buf, uint32_t type, const void *desc, uint32_t size)
{
	Elf64_Nhdr h = {.n_namesz = sizeof(NOTE_NAME), .n_descsz = size, .n_type = type};
	size_t o = 0;
	memcpy(buf, &h, sizeof(h));
	o += sizeof(h);
	memcpy(buf + o, NOTE_NAME, sizeof(NOTE_NAME));
	o += (sizeof(NOTE_NAME) + 3) & ~3u;
	memcpy(buf + o, desc, size);
	return o + ((size + 3) & ~3u);
}

static size_t note_size(uint32_t desc)
{
	return sizeof(Elf64_Nhdr) + ((sizeof(NOTE_NAME) + 3) & ~3u) + ((desc + 3) & ~3u);
}

static void fill_psinfo(const struct vm *vm, struct elf_prpsinfo *p)
{
	char path[256];
	memset(p, 0, sizeof(*p));
	p->pr_sname = 'R';
	p->pr_pid = 1;
	snprintf(path, sizeof(path), "%s", vm->cfg->image);
	snprintf(p->pr_fname, sizeof(p->pr_fname), "%s", basename(path));
	size_t o = 0;
	for (int i = 0; i < vm->cfg->guest_argc && o + 1 < sizeof(p->pr_psargs); i++)
		o += (size_t)snprintf(p->pr_psargs + o, sizeof(p->pr_psargs) - o, "%s%s",
				      i ? " " : "", vm->cfg->guest_argv[i]);
}

/* The failed vCPU's signal in its NT_PRSTATUS, and its NT_SIGINFO; the note's size. */
static size_t put_failure(uint8_t *buf, const struct vcpu_fault *f, struct elf_prstatus *st)
{
	struct gdb_siginfo si;
	uint8_t raw[GDB_SIGINFO_SIZE];
	debug_fault_siginfo(f, &si);
	gdb_siginfo_layout(&si, raw);
	memcpy(&st->pr_info.si_signo, raw, sizeof(int)); /* the Linux number */
	st->pr_info.si_errno = si.error;
	st->pr_info.si_code = si.code;
	st->pr_cursig = (short)st->pr_info.si_signo;
	size_t o = put_note(buf, NT_PRSTATUS, st, sizeof(*st));
	return o + put_note(buf + o, NT_SIGINFO, raw, sizeof(raw));
}

/* NT_PRPSINFO, NT_PRSTATUS for every vCPU (the crashed one first, with NT_SIGINFO
 * when the guest failed), NT_AUXV. */
static uint8_t *build_notes(struct vm *vm, size_t *len, char *err, size_t errlen)
{
	const uint64_t auxv[4] = {AT_ENTRY, vm->image.entry, AT_NULL, 0};
	size_t cap = note_size(sizeof(struct elf_prpsinfo)) +
		     vm->ncpus * note_size(sizeof(struct elf_prstatus)) + note_size(sizeof(auxv)) +
		     note_size(GDB_SIGINFO_SIZE);
	uint8_t *buf = calloc(1, cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct elf_prpsinfo ps;
	fill_psinfo(vm, &ps);
	size_t o = put_note(buf, NT_PRPSINFO, &ps, sizeof(ps));
	unsigned first = crashed_vcpu(vm);
	bool failed = vm->exit_status >= STATUS_TRIPLE_FAULT &&
		      vm->exit_status <= STATUS_INTERNAL_ERROR && atomic_load(&vm->ending);
	for (unsigned k = 0; k < vm->ncpus; k++) {
		unsigned i = k == 0 ? first : (k <= first ? k - 1 : k);
		struct kvm_regs r;
		struct kvm_sregs s;
		struct user_regs_struct u;
		if (vcpu_get_state(&vm->vcpus[i], &r, &s)) {
			snprintf(err, errlen, "cannot read the registers of vCPU %u", i);
			free(buf);
			return NULL;
		}
		struct elf_prstatus st;
		memset(&st, 0, sizeof(st));
		st.pr_pid = (int)i + 1;
		st.pr_cursig = (k == 0 && failed) ? SIGSEGV : 0;
		to_user_regs(&r, &s, &u);
		_Static_assert(sizeof(st.pr_reg) == sizeof(u), "elf_gregset_t is user_regs_struct");
		memcpy(&st.pr_reg, &u, sizeof(u));
		if (k == 0 && failed && vm->vcpus[i].fault.valid)
			o += put_failure(buf + o, &vm->vcpus[i].fault, &st);
		else
			o += put_note(buf + o, NT_PRSTATUS, &st, sizeof(st));
	}
	o += put_note(buf + o, NT_AUXV, auxv, sizeof(auxv));
	*len = o;
	return buf;
}

/* ELF header and program headers through libelf; the layout is ours (ELF_F_LAYOUT). */
static int write_headers(int fd, const struct segments *segs, uint64_t note_off, size_t note_len,
			 uint64_t data_off, char *err, size_t errlen)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -1;
	}
	Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
	GElf_Ehdr eh;
	/* newphdr sets e_phnum: read the header after it, or the update would undo it. */
	if (!e || !gelf_newehdr(e, ELFCLASS64) || !gelf_newphdr(e, segs->n + 1) ||
	    !gelf_getehdr(e, &eh))
		goto fail;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	if (!gelf_update_ehdr(e, &eh))
		goto fail;
	GElf_Phdr note = {
		.p_type = PT_NOTE, .p_offset = note_off, .p_filesz = note_len, .p_align = 4};
	if (!gelf_update_phdr(e, 0, &note))
		goto fail;
	uint64_t off = data_off;
	for (unsigned i = 0; i < segs->n; i++) {
		const struct pw_range *r = &segs->v[i];
		GElf_Phdr ph = {
			.p_type = PT_LOAD,
			.p_offset = off,
			.p_vaddr = r->va,
			.p_paddr = r->pa,
			.p_filesz = r->size,
			.p_memsz = r->size,
			.p_align = CORE_PAGE,
			.p_flags = PF_R | (r->flags & PW_WRITE ? PF_W : 0) |
				   (r->flags & PW_EXEC ? PF_X : 0),
		};
		if (!gelf_update_phdr(e, (int)i + 1, &ph))
			goto fail;
		off += r->size;
	}
	elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT);
	if (elf_update(e, ELF_C_WRITE) < 0)
		goto fail;
	elf_end(e);
	return 0;
fail:
	snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
	if (e)
		elf_end(e);
	return -1;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

/* Segment contents page by page; zero pages stay holes. */
static int write_memory(int fd, const struct vm *vm, const struct segments *segs, uint64_t off)
{
	for (unsigned i = 0; i < segs->n; i++) {
		const struct pw_range *r = &segs->v[i];
		for (uint64_t done = 0; done < r->size; done += CORE_PAGE) {
			uint64_t n = r->size - done < CORE_PAGE ? r->size - done : CORE_PAGE;
			const uint8_t *p = gpa_ptr(&vm->mem, r->pa + done, n);
			if (p && !all_zero(p, n) && pwrite_all(fd, p, n, off + done))
				return -1;
		}
		off += r->size;
	}
	return ftruncate(fd, (off_t)off);
}

static int collect_segments(struct vm *vm, struct segments *segs, char *err, size_t errlen)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (vcpu_get_state(&vm->vcpus[0], &r, &s)) {
		snprintf(err, errlen, "cannot read the registers of vCPU 0");
		return -1;
	}
	*segs = (struct segments){.budget = vm->mem.size};
	struct collect c = {segs, &vm->mem};
	bool nx = s.efer & (1ULL << 11);
	if ((s.cr0 & (1ULL << 31)) &&
	    pw_for_each_range(&vm->mem, s.cr3, nx, clip_to_ram, &c) == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		free(segs->v);
		return -1;
	}
	return 0;
}

int coredump_write(struct vm *vm, const char *path, bool overwrite, struct coredump_info *info,
		   char *err, size_t errlen)
{
	struct segments segs;
	size_t note_len;
	if (collect_segments(vm, &segs, err, errlen))
		return -1;
	uint8_t *notes = build_notes(vm, &note_len, err, errlen);
	if (!notes) {
		free(segs.v);
		return -1;
	}
	int rc = -1;
	int fd = create_host_file(path, overwrite);
	const char *why = fd < 0 ? create_host_file_error(errno) : NULL;
	uint64_t note_off = sizeof(Elf64_Ehdr) + (segs.n + 1) * sizeof(Elf64_Phdr);
	uint64_t data_off = (note_off + note_len + CORE_PAGE - 1) & ~(CORE_PAGE - 1);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", path, why ? why : strerror(errno));
	else if (!write_headers(fd, &segs, note_off, note_len, data_off, err, errlen)) {
		if (pwrite_all(fd, notes, note_len, note_off) ||
		    write_memory(fd, vm, &segs, data_off))
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			rc = 0;
	}
	if (fd >= 0)
		close(fd);
	info->segments = segs.n;
	info->bytes = segs.total;
	free(notes);
	free(segs.v);
	return rc;
}
