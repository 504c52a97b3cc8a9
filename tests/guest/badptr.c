/* badptr.c: every hypercall with wild guest addresses; the VM must survive each.
 *
 * Where the struct itself is readable, the hypervisor reports -EFAULT in the
 * struct's result field:
 *   WRITE  -> hermit_write.len     READ   -> hermit_read.ret
 *   OPEN   -> hermit_open.ret      UNLINK -> hermit_unlink.ret
 * Where the struct is not in RAM (or CMDVAL, which has no result field) there
 * is nowhere to report, so the check is only that the guest keeps running.
 * The C HermitCore flavour has no UNLINK and checks its per-packet network
 * hypercalls instead (NETWRITE/NETREAD data beyond RAM, structs beyond RAM); the
 * Hermit 0.6 flavour has the RustyHermit ports without NETINFO (no network).
 * Exit 0 only if every check passed.
 */
#include "rt.h"

#include "c_hermit_abi.h"

#define BEYOND_RAM	0xFFFFF000ULL	  /* in the PCI hole: never RAM */
#define UNMAPPED_VA	0x700000000000ULL /* canonical, not in the page tables */
#define NONCANONICAL_VA 0x800000000000ULL
#define HUGE_LEN	(1ULL << 40)
#define PATH_MAX_LINUX	4096
#define UNANSWERED	(-38) /* sentinel: the hypervisor did not write the result */

static int failed;
static char scratch[256];
static char long_name[2 * PATH_MAX_LINUX] = {[0 ... 2 * PATH_MAX_LINUX - 1] = 'a'}; /* no NUL */
static uint64_t bad_ptr_array[HERMIT_MAX_ARGC + 1];

static void expect(const char *what, int64_t got, int64_t want, int64_t also_ok)
{
	int ok = got == want || got == also_ok;
	rt_printf("badptr: %-52s -> %ld %s\n", what, (long)got, ok ? "ok" : "FAIL");
	if (!ok)
		failed = 1;
}

static void survived(const char *what)
{
	rt_printf("badptr: %-52s -> survived ok\n", what);
}

static int64_t write_call(uint64_t buf, uint64_t len)
{
	volatile struct hermit_write a = {.fd = 1, .buf = buf, .len = len};
	rt_hypercall(HERMIT_PORT_WRITE, &a);
	return (int64_t)a.len; /* result field: len */
}

static int64_t read_call(int fd, uint64_t buf, uint64_t len)
{
	volatile struct hermit_read a = {.fd = fd, .buf = buf, .len = len, .ret = UNANSWERED};
	rt_hypercall(HERMIT_PORT_READ, &a);
	return a.ret; /* result field: ret */
}

static int64_t open_call(uint64_t name)
{
	volatile struct hermit_open a = {.name = name, .flags = RT_O_RDONLY, .ret = UNANSWERED};
	rt_hypercall(HERMIT_PORT_OPEN, &a);
	return a.ret; /* result field: ret */
}

static int64_t netio_call(uint16_t port, uint64_t data, uint64_t len)
{
	volatile struct c_hermit_netio a = {.data = data, .len = len, .ret = UNANSWERED};
	rt_hypercall(port, &a);
	return a.ret;
}

static int64_t unlink_call(uint64_t name)
{
	volatile struct hermit_unlink a = {.name = name, .ret = UNANSWERED};
	rt_hypercall(HERMIT_PORT_UNLINK, &a);
	return a.ret; /* result field: ret */
}

/* The same bad buffers for WRITE (to stdout) and READ (from the guest's own image). */
static void bad_buffers(int read_fd, uint64_t limit)
{
	const uint64_t buf = (uint64_t)(uintptr_t)scratch;
	const uint64_t wrap_len = -buf + 16; /* buf + len wraps to 16 */
	const int64_t E = -RT_EFAULT;
	expect("WRITE buf unmapped (0x700000000000)", write_call(UNMAPPED_VA, 16), E, E);
	expect("WRITE buf non-canonical (0x800000000000)", write_call(NONCANONICAL_VA, 16), E, E);
	expect("WRITE buf+len wraps around 2^64", write_call(buf, wrap_len), E, E);
	expect("WRITE len 1 TiB", write_call(buf, HUGE_LEN), E, E);
	expect("READ buf unmapped (0x700000000000)", read_call(read_fd, UNMAPPED_VA, 16), E, E);
	expect("READ buf non-canonical (0x800000000000)", read_call(read_fd, NONCANONICAL_VA, 16),
	       E, E);
	expect("READ buf+len wraps around 2^64", read_call(read_fd, buf, wrap_len), E, E);
	expect("READ len 1 TiB", read_call(read_fd, buf, HUGE_LEN), E, E);
	/* Mapped by the boot page tables (first GiB) but not RAM. */
	uint64_t past_ram = 0x3FF00000;
	if (limit < past_ram) {
		expect("WRITE buf mapped but beyond RAM (0x3ff00000)", write_call(past_ram, 16), E,
		       E);
		expect("READ buf mapped but beyond RAM (0x3ff00000)",
		       read_call(read_fd, past_ram, 16), E, E);
		expect("WRITE buf running past the end of RAM", write_call(limit - 8, 4096), E, E);
	}
}

static void bad_names(uint64_t limit)
{
	const int64_t E = -RT_EFAULT;
	const int unlink = rt_abi_has_unlink();
	expect("OPEN name beyond RAM (0xfffff000)", open_call(BEYOND_RAM), E, E);
	if (unlink)
		expect("UNLINK name beyond RAM (0xfffff000)", unlink_call(BEYOND_RAM), E, E);
	/* No NUL within PATH_MAX: -EFAULT, or -ENAMETOOLONG as Linux would say. */
	expect("OPEN name without NUL in 8 KiB", open_call((uint64_t)(uintptr_t)long_name), E,
	       -RT_ENAMETOOLONG);
	if (unlink)
		expect("UNLINK name without NUL in 8 KiB",
		       unlink_call((uint64_t)(uintptr_t)long_name), E, -RT_ENAMETOOLONG);
	if (limit <= HERMIT_IDENTITY_MAP_SIZE) {
		char *top = (char *)(uintptr_t)(limit - 4); /* "aaaa" runs into the end of RAM */
		memset(top, 'a', 4);
		expect("OPEN name running past the end of RAM", open_call(limit - 4), E, E);
		if (unlink)
			expect("UNLINK name running past the end of RAM", unlink_call(limit - 4), E,
			       E);
	}
}

/* C HermitCore's per-packet network calls: data pointers are guest-physical. */
static void bad_net_buffers(uint64_t limit)
{
	if (rt_abi_kind != RT_ABI_C)
		return;
	expect("NETWRITE data beyond RAM (0xfffff000)",
	       netio_call(C_HERMIT_PORT_NETWRITE, BEYOND_RAM, 64), -RT_EFAULT, -RT_EFAULT);
	expect("NETWRITE data running past the end of RAM",
	       netio_call(C_HERMIT_PORT_NETWRITE, limit - 8, 64), -RT_EFAULT, -RT_EFAULT);
	expect("NETWRITE len 1 TiB",
	       netio_call(C_HERMIT_PORT_NETWRITE, (uint64_t)(uintptr_t)scratch, HUGE_LEN),
	       -RT_EFAULT, -RT_EFAULT);
	expect("NETREAD data beyond RAM (0xfffff000)",
	       netio_call(C_HERMIT_PORT_NETREAD, BEYOND_RAM, 64), -1, -1);
	expect("NETREAD len 1 TiB",
	       netio_call(C_HERMIT_PORT_NETREAD, (uint64_t)(uintptr_t)scratch, HUGE_LEN), -1, -1);
}

/* Struct addresses the hypervisor cannot read: nothing to check but survival. */
static void bad_structs(uint64_t limit)
{
	static const uint16_t rusty_ports[] = {
		HERMIT_PORT_WRITE,  HERMIT_PORT_OPEN,	HERMIT_PORT_CLOSE,
		HERMIT_PORT_READ,   HERMIT_PORT_LSEEK,	HERMIT_PORT_CMDSIZE,
		HERMIT_PORT_CMDVAL, HERMIT_PORT_UNLINK, HERMIT_PORT_NETINFO};
	static const uint16_t c_ports[] = {
		HERMIT_PORT_WRITE,     HERMIT_PORT_OPEN,      HERMIT_PORT_CLOSE,
		HERMIT_PORT_READ,      HERMIT_PORT_LSEEK,     HERMIT_PORT_CMDSIZE,
		HERMIT_PORT_CMDVAL,    C_HERMIT_PORT_NETINFO, C_HERMIT_PORT_NETWRITE,
		C_HERMIT_PORT_NETREAD, C_HERMIT_PORT_NETSTAT};
	const int c_abi = rt_abi_kind == RT_ABI_C;
	const uint16_t *ports = c_abi ? c_ports : rusty_ports;
	unsigned nports = c_abi ? sizeof(c_ports) / sizeof(c_ports[0])
				: sizeof(rusty_ports) / sizeof(rusty_ports[0]);
	if (rt_abi_kind == RT_ABI_HERMIT)
		nports--; /* the RustyHermit set without NETINFO (the last): no network */
	char what[80];
	for (unsigned i = 0; i < nports; i++) {
		rt_outl(ports[i], (uint32_t)BEYOND_RAM);
		rt_snprintf(what, sizeof(what), "port 0x%x struct beyond RAM (0xfffff000)",
			    ports[i]);
		survived(what);
		if (limit < HERMIT_PCI_HOLE_START) {
			rt_outl(ports[i], (uint32_t)(limit - 4)); /* struct straddles the end */
			rt_snprintf(what, sizeof(what), "port 0x%x struct at end of RAM - 4",
				    ports[i]);
			survived(what);
		}
	}
}

static void bad_cmdval(uint64_t limit)
{
	struct hermit_cmdsize sizes;
	rt_hypercall(HERMIT_PORT_CMDSIZE, &sizes);
	int n = sizes.argc > 0 && sizes.argc <= HERMIT_MAX_ARGC ? sizes.argc : 1;
	volatile struct hermit_cmdval v;

	v.argv = BEYOND_RAM;
	v.envp = BEYOND_RAM;
	rt_hypercall(HERMIT_PORT_CMDVAL, &v);
	survived("CMDVAL argv/envp arrays beyond RAM");

	for (int i = 0; i <= HERMIT_MAX_ARGC; i++)
		bad_ptr_array[i] = BEYOND_RAM;
	v.argv = (uint64_t)(uintptr_t)bad_ptr_array;
	v.envp = (uint64_t)(uintptr_t)bad_ptr_array;
	rt_hypercall(HERMIT_PORT_CMDVAL, &v);
	survived("CMDVAL string pointers beyond RAM");

	if (limit <= HERMIT_IDENTITY_MAP_SIZE) {
		for (int i = 0; i < n; i++)
			bad_ptr_array[i] = limit - 2; /* argv[0] is longer than 1 char */
		v.argv = (uint64_t)(uintptr_t)bad_ptr_array;
		rt_hypercall(HERMIT_PORT_CMDVAL, &v);
		survived("CMDVAL strings running past the end of RAM");
	}
	v.argv = limit - 8; /* the pointer array itself straddles the end of RAM */
	v.envp = limit - 8;
	rt_hypercall(HERMIT_PORT_CMDVAL, &v);
	survived("CMDVAL arrays at end of RAM - 8");
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)envp;
	uint64_t limit = rt_limit();
	int read_fd = rt_open(argv[0], RT_O_RDONLY, 0); /* the image: a file with data */
	if (read_fd < 0) {
		rt_printf("badptr: cannot open my image %s: %d\n", argv[0], read_fd);
		return 2;
	}
	bad_buffers(read_fd, limit);
	bad_names(limit);
	bad_net_buffers(limit);
	bad_structs(limit);
	bad_cmdval(limit);
	/* The hypervisor must still work normally after all that. */
	expect("WRITE of a good buffer afterwards", rt_write(1, "", 0), 0, 0);
	expect("close of the image fd", rt_close(read_fd), 0, 0);
	if (failed) {
		rt_printf("badptr: FAILED\n");
		return 1;
	}
	rt_printf("badptr: ok\n");
	return 0;
}
