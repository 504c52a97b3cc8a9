/* fuzz_hcall_args.c: hypercall argument decoding: the CMDSIZE/CMDVAL (args.c) and
 * file (files.c: WRITE, READ, OPEN, CLOSE, LSEEK, UNLINK) handlers, reached through
 * the port table as a guest reaches them, and the guest-pointer helpers every handler
 * uses (core/guest_mem.c, pagewalk.c).
 *
 * Input: 2 bytes of selector (port, ABI, environment), 8 bytes of CR3, a 4-byte guest
 * address and a 4-byte length, all of it also guest RAM from address 0 (a small
 * guest: argument structs, pointer arrays and page tables all come from the input).
 * The handler runs on the struct at that address; then the same address and length
 * are decoded as a guest-virtual buffer and a guest string, as READ/WRITE and OPEN
 * decode theirs. No --mount is given, so OPEN and UNLINK reach no host file; the
 * guest's stdio is /dev/null (fuzz_quiet.h; its fd 2 is our fd 1), so nothing is
 * printed, read from a terminal or seeked in a log. EXIT is left out: it ends the VM.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "abi.h"
#include "fuzz_quiet.h"
#include "hermit_abi.h"
#include "hypercall.h"
#include "mounts.h"

#define FUZZ_RAM (256U << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram; /* the guest RAM, reused: allocating it per input is slow */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	ram = malloc(FUZZ_RAM);
	return ram ? 0 : -1;
}

static uint64_t get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

/* What READ/WRITE and OPEN do with a guest buffer and a guest path. */
static void decode_pointers(struct guest_mem *m, uint64_t cr3, uint64_t gva, uint64_t len)
{
	struct iovec iov[8];
	char path[PATH_MAX];
	uint8_t buf[256];
	uint64_t covered;
	gva_to_iovec(m, cr3, gva, len, iov, 8, &covered);
	gva_read(m, cr3, gva, buf, sizeof(buf));
	uint64_t gpa, left;
	gva_to_gpa(m, cr3, gva, &gpa, &left);
	gpa_strncpy(m, gva, path, sizeof(path));
	gpa_ptr(m, gva, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 18)
		return 0;
	static char *argv[] = {"/path/to/app", "a", "", "bc", NULL};
	static char *env[] = {"A=1", "HOME=/root", NULL};
	static const struct guest_abi c_like = {.name = "c", .env_count_includes_null = 1};
	static const char *const padding[] = {"X=1", "Y=1", "Z=1", "W=1"};
	static const struct guest_abi rusty_like = {
		.name = "rusty", .min_envc = 4, .env_padding = padding};
	struct config cfg = {.guest_argv = argv, .guest_argc = 4, .environ = env};
	static struct vm vm; /* large (port and hook tables): off the stack */
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	uint16_t sel = (uint16_t)get(data, 2);
	vm.abi = sel & 0x100 ? &c_like : &rusty_like;
	if (sel & 0x200)
		cfg.environ = NULL; /* the placeholder path */
	uint64_t cr3 = get(data + 2, 8);
	uint32_t gpa = (uint32_t)get(data + 10, 4);
	uint64_t len = get(data + 14, 4);
	guest_mem_layout(&vm.mem, FUZZ_RAM);
	size_t n = size < FUZZ_RAM ? size : FUZZ_RAM;
	vm.mem.host = ram;
	memcpy(ram, data, n);
	memset(ram + n, 0, FUZZ_RAM - n); /* every run starts from the same RAM */
	vm.end_fd = -1;			  /* poll() skips it: nothing ends this VM */
	fd_table_init(&vm);
	vm.fds.host[2] = 1; /* /dev/null: the guest must not write, read or seek our stderr */
	files_init(&vm);
	args_register(&vm);
	files_register(&vm);
	files_register_unlink(&vm);
	static struct kvm_run run; /* where a vCPU's CR3 comes from at an exit */
	run.kvm_valid_regs = KVM_SYNC_X86_SREGS;
	run.s.regs.sregs.cr3 = cr3;
	struct vcpu v = {.vm = &vm, .fd = -1, .run = &run};
	static const uint16_t ports[] = {HERMIT_PORT_CMDSIZE, HERMIT_PORT_CMDVAL, HERMIT_PORT_WRITE,
					 HERMIT_PORT_READ,    HERMIT_PORT_OPEN,	  HERMIT_PORT_CLOSE,
					 HERMIT_PORT_LSEEK,   HERMIT_PORT_UNLINK};
	struct port_handler *h = vm_find_port(&vm, ports[sel & 7]);
	if (h && h->fn)
		h->fn(&v, h->port, gpa);
	decode_pointers(&vm.mem, cr3, gpa, len);
	fd_table_close_all(&vm);
	mounts_close(vm.mounts);
	return 0;
}
