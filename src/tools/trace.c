/* trace.c: one line per hypercall, strace-like, to stderr or a file.
 *
 * Decoding reads the guest's argument struct through the same checked helpers
 * the handlers use; a bad struct address prints as the raw port value. Strings
 * and buffers are quoted (at most TRACE_QUOTE bytes, non-printables escaped).
 * A line is written in one piece under a lock, so vCPUs do not interleave.
 * The kernel-log port (UART) is not traced: one line per log byte says nothing.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "c_hermit_abi.h"
#include "log.h"

#define TRACE_QUOTE 32
#define MAC_LEN	    6

struct tracer {
	FILE *out;
	bool own; /* opened by us, closed at the end */
	pthread_mutex_t lock;
	struct trace_call *calls; /* per vCPU: the call in progress (one at a time) */
};

static void observe_before(struct vcpu *v, const struct port_handler *h, uint32_t value, void *arg);
static void observe_after(struct vcpu *v, const struct port_handler *h, void *arg);

void trace_init(struct vm *vm, const char *path)
{
	struct tracer *t = calloc(1, sizeof(*t));
	if (!t || !(t->calls = calloc(vm->ncpus, sizeof(*t->calls))))
		die("out of memory");
	pthread_mutex_init(&t->lock, NULL);
	t->out = stderr;
	if (path && *path && strcmp(path, "-")) {
		t->out = fopen(path, "we");
		if (!t->out)
			die_errno("HERMIT_TRACE=%s: cannot open the trace file", path);
		t->own = true;
	}
	vm->trace = t;
	const struct exit_observer o = {.before_port = observe_before, .after_port = observe_after};
	vm_register_exit_observer(vm, &o);
}

void trace_close(struct vm *vm)
{
	struct tracer *t = vm->trace;
	if (!t)
		return;
	vm->trace = NULL;
	if (t->own)
		fclose(t->out);
	else
		fflush(t->out);
	free(t->calls);
	free(t);
}

void trace_quote(char *out, size_t outlen, const uint8_t *buf, size_t len, size_t max)
{
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < len && i < max && o + 6 < outlen; i++) {
		uint8_t c = buf[i];
		const char *esc = c == '\n'   ? "\\n"
				  : c == '\t' ? "\\t"
				  : c == '\r' ? "\\r"
				  : c == '"'  ? "\\\""
				  : c == '\\' ? "\\\\"
					      : NULL;
		if (esc)
			o += (size_t)snprintf(out + o, outlen - o, "%s", esc);
		else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	snprintf(out + o, outlen - o, "\"%s", len > max ? "..." : "");
}

void trace_open_flags(char *out, size_t outlen, int flags)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{O_CREAT, "O_CREAT"},	      {O_EXCL, "O_EXCL"},
		{O_NOCTTY, "O_NOCTTY"},	      {O_TRUNC, "O_TRUNC"},
		{O_APPEND, "O_APPEND"},	      {O_NONBLOCK, "O_NONBLOCK"},
		{O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
		{O_CLOEXEC, "O_CLOEXEC"},     {O_SYNC, "O_SYNC"},
		{O_DSYNC, "O_DSYNC"},
	};
	int acc = flags & O_ACCMODE;
	size_t o = (size_t)snprintf(out, outlen, "%s",
				    acc == O_RDONLY   ? "O_RDONLY"
				    : acc == O_WRONLY ? "O_WRONLY"
				    : acc == O_RDWR   ? "O_RDWR"
						      : "O_ACCMODE");
	int rest = flags & ~O_ACCMODE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && o < outlen; i++)
		if ((rest & names[i].bit) == names[i].bit) {
			o += (size_t)snprintf(out + o, outlen - o, "|%s", names[i].name);
			rest &= ~names[i].bit;
		}
	if (rest && o < outlen)
		snprintf(out + o, outlen - o, "|%#o", (unsigned)rest);
}

static void guest_string(struct vcpu *v, uint64_t gpa, char *out, size_t outlen)
{
	char s[PATH_MAX];
	long n = gpa_strncpy(&v->vm->mem, gpa, s, sizeof(s));
	if (n < 0)
		snprintf(out, outlen, "0x%llx", (unsigned long long)gpa);
	else
		trace_quote(out, outlen, (const uint8_t *)s, (size_t)n, 200);
}

static void guest_buffer(struct vcpu *v, uint64_t gva, int64_t len, char *out, size_t outlen)
{
	uint8_t data[TRACE_QUOTE];
	size_t want = len < 0 ? 0 : (size_t)len < sizeof(data) ? (size_t)len : sizeof(data);
	size_t got = vcpu_read_virt(v, gva, data, want);
	if (got < want)
		snprintf(out, outlen, "0x%llx", (unsigned long long)gva);
	else
		trace_quote(out, outlen, data, (size_t)len, TRACE_QUOTE);
}

static const char *whence_name(int w)
{
	return w == 0 ? "SEEK_SET" : w == 1 ? "SEEK_CUR" : w == 2 ? "SEEK_END" : NULL;
}

/* The network ports: the C ABI passes structs (NETSTAT, NETINFO, NETWRITE, NETREAD),
 * RustyHermit a MAC buffer (NETINFO) and nothing (NETWRITE: the frames are in the TX
 * ring), on partly the same port numbers. */
static bool c_net(const struct vm *vm)
{
	return vm->abi == &c_abi;
}

static struct hermit_net_ring *tx_ring(struct vm *vm)
{
	return gpa_ptr(&vm->mem, HERMIT_NET_TX_RING, sizeof(struct hermit_net_ring));
}

static uint32_t tx_read_index(struct vm *vm)
{
	struct hermit_net_ring *tx = tx_ring(vm);
	return tx ? (uint32_t)__atomic_load_n(&tx->read, __ATOMIC_ACQUIRE) : 0;
}

/* Arguments of the network hypercalls; false for any other port. RustyHermit's
 * NETWRITE has no argument: its port value is replaced by the TX ring's read index,
 * so that the result can say how many frames the call sent. */
static bool decode_net_args(struct vcpu *v, struct trace_call *tc, char *t, size_t n)
{
	const struct c_hermit_netio *io = tc->args;
	switch (tc->h->port) {
	case C_HERMIT_PORT_NETSTAT:
		return true;
	case C_HERMIT_PORT_NETINFO: /* = HERMIT_PORT_NETINFO */
		snprintf(t, n, "0x%x", tc->value);
		return true;
	case C_HERMIT_PORT_NETWRITE: /* = HERMIT_PORT_NETWRITE */
		if (c_net(v->vm))
			snprintf(t, n, "0x%llx, %llu", (unsigned long long)io->data,
				 (unsigned long long)io->len);
		else
			tc->value = tx_read_index(v->vm);
		return true;
	case C_HERMIT_PORT_NETREAD:
		snprintf(t, n, "0x%llx, %llu", (unsigned long long)io->data,
			 (unsigned long long)io->len);
		return true;
	}
	return false;
}

/* The arguments that do not change; buffers whose contents come back (read) wait
 * for trace_after. */
static void decode_args(struct vcpu *v, struct trace_call *tc)
{
	char *t = tc->text;
	size_t n = sizeof(tc->text);
	size_t o = (size_t)snprintf(t, n, "%s(", tc->h->name);
	char s[256];
	switch (tc->h->port) {
	case HERMIT_PORT_WRITE:
		memcpy(&tc->in.write, tc->args, sizeof(tc->in.write));
		guest_buffer(v, tc->in.write.buf, (int64_t)tc->in.write.len, s, sizeof(s));
		snprintf(t + o, n - o, "%d, %s, %llu", tc->in.write.fd, s,
			 (unsigned long long)tc->in.write.len);
		break;
	case HERMIT_PORT_READ:
		memcpy(&tc->in.read, tc->args, sizeof(tc->in.read));
		break;
	case HERMIT_PORT_OPEN: {
		struct hermit_open a;
		char flags[160];
		memcpy(&a, tc->args, sizeof(a));
		guest_string(v, a.name, s, sizeof(s));
		trace_open_flags(flags, sizeof(flags), a.flags);
		snprintf(t + o, n - o, "%s, %s, %#o", s, flags, (unsigned)a.mode);
		break;
	}
	case HERMIT_PORT_CLOSE:
		snprintf(t + o, n - o, "%d", ((struct hermit_close *)tc->args)->fd);
		break;
	case HERMIT_PORT_LSEEK: {
		memcpy(&tc->in.lseek, tc->args, sizeof(tc->in.lseek));
		const char *w = whence_name(tc->in.lseek.whence);
		snprintf(t + o, n - o, "%d, %lld, %s%.0d", tc->in.lseek.fd,
			 (long long)tc->in.lseek.offset, w ? w : "", w ? 0 : tc->in.lseek.whence);
		break;
	}
	case HERMIT_PORT_UNLINK:
		guest_string(v, ((struct hermit_unlink *)tc->args)->name, s, sizeof(s));
		snprintf(t + o, n - o, "%s", s);
		break;
	case HERMIT_PORT_EXIT:
		snprintf(t + o, n - o, "%d", ((struct hermit_exit *)tc->args)->code);
		break;
	case HERMIT_PORT_CMDSIZE:
		break;
	case HERMIT_PORT_CMDVAL: {
		struct hermit_cmdval a;
		memcpy(&a, tc->args, sizeof(a));
		snprintf(t + o, n - o, "argv=0x%llx, envp=0x%llx", (unsigned long long)a.argv,
			 (unsigned long long)a.envp);
		break;
	}
	default:
		if (!decode_net_args(v, tc, t + o, n - o))
			snprintf(t + o, n - o, "0x%x", tc->value);
	}
}

static size_t net_struct_size(const struct vm *vm, uint16_t port)
{
	bool c = c_net(vm);
	switch (port) {
	case C_HERMIT_PORT_NETSTAT:
		return c ? sizeof(struct c_hermit_netstat) : 0;
	case C_HERMIT_PORT_NETINFO:
		return c ? sizeof(struct c_hermit_netinfo) : MAC_LEN;
	case C_HERMIT_PORT_NETWRITE:
		return c ? sizeof(struct c_hermit_netio) : 0;
	case C_HERMIT_PORT_NETREAD:
		return c ? sizeof(struct c_hermit_netio) : 0;
	}
	return 0;
}

static size_t struct_size(const struct vm *vm, uint16_t port)
{
	switch (port) {
	case HERMIT_PORT_WRITE:
		return sizeof(struct hermit_write);
	case HERMIT_PORT_READ:
		return sizeof(struct hermit_read);
	case HERMIT_PORT_OPEN:
		return sizeof(struct hermit_open);
	case HERMIT_PORT_CLOSE:
		return sizeof(struct hermit_close);
	case HERMIT_PORT_LSEEK:
		return sizeof(struct hermit_lseek);
	case HERMIT_PORT_UNLINK:
		return sizeof(struct hermit_unlink);
	case HERMIT_PORT_EXIT:
		return sizeof(struct hermit_exit);
	case HERMIT_PORT_CMDSIZE:
		return sizeof(struct hermit_cmdsize);
	case HERMIT_PORT_CMDVAL:
		return sizeof(struct hermit_cmdval);
	default:
		return net_struct_size(vm, port); /* 0: the value is not a struct address */
	}
}

void trace_before(struct vcpu *v, const struct port_handler *h, uint32_t value,
		  struct trace_call *tc)
{
	tc->h = h;
	tc->value = value;
	tc->args = NULL;
	if (h->port == HERMIT_PORT_UART)
		return;
	size_t size = struct_size(v->vm, h->port);
	tc->args = size ? gpa_ptr(&v->vm->mem, value, size) : NULL;
	if (size && !tc->args) {
		snprintf(tc->text, sizeof(tc->text), "%s(0x%x <not guest RAM>", h->name, value);
		return;
	}
	decode_args(v, tc);
}

/* " = 3", " = -2 ENOENT" */
static void format_result(char *out, size_t len, int64_t r)
{
	const char *name = r < 0 && r > -4096 ? strerrorname_np((int)-r) : NULL;
	snprintf(out, len, " = %lld%s%s", (long long)r, name ? " " : "", name ? name : "");
}

static void format_mac(char *out, size_t len, const uint8_t *m)
{
	snprintf(out, len, " = %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* RustyHermit's NETWRITE: how many frames of the TX ring this call sent. */
static void format_frames_sent(char *out, size_t len, uint32_t n)
{
	snprintf(out, len, " = %u frame%s sent", n, n == 1 ? "" : "s");
}

/* The C ABI's MAC: "xx:xx:xx:xx:xx:xx" and its NUL, quoted as the guest got it. */
static void format_mac_string(char *out, size_t len, const struct c_hermit_netinfo *info)
{
	char quoted[64];
	trace_quote(quoted, sizeof(quoted), (const uint8_t *)info->mac_str,
		    strnlen(info->mac_str, sizeof(info->mac_str)), sizeof(info->mac_str));
	snprintf(out, len, " = %s", quoted);
}

/* C NETWRITE/NETREAD: the frame's length, or why there was none. */
static void format_netio(char *out, size_t len, const struct c_hermit_netio *io, bool read)
{
	if (io->ret == 0)
		format_result(out, len, (int64_t)io->len);
	else if (read)
		snprintf(out, len, " = -1 (no frame)");
	else
		format_result(out, len, io->ret);
}

static void decode_net_result(struct vcpu *v, struct trace_call *tc, char *res, size_t len)
{
	switch (tc->h->port) {
	case C_HERMIT_PORT_NETSTAT: /* 1: a NIC exists */
		format_result(res, len, ((struct c_hermit_netstat *)tc->args)->status);
		break;
	case C_HERMIT_PORT_NETINFO:
		if (c_net(v->vm))
			format_mac_string(res, len, tc->args);
		else
			format_mac(res, len, tc->args);
		break;
	case C_HERMIT_PORT_NETWRITE:
		if (c_net(v->vm))
			format_netio(res, len, tc->args, false);
		else
			format_frames_sent(res, len, tx_read_index(v->vm) - tc->value);
		break;
	case C_HERMIT_PORT_NETREAD:
		format_netio(res, len, tc->args, true);
		break;
	}
}

static void decode_result(struct vcpu *v, struct trace_call *tc, char *res, size_t len)
{
	res[0] = 0;
	if (tc->h->port == C_HERMIT_PORT_NETWRITE && !c_net(v->vm)) {
		decode_net_result(v, tc, res, len); /* no struct, the ring */
		return;
	}
	if (!tc->args)
		return;
	switch (tc->h->port) {
	case HERMIT_PORT_WRITE:
		format_result(res, len, (int64_t)((struct hermit_write *)tc->args)->len);
		break;
	case HERMIT_PORT_READ: {
		int64_t r = ((struct hermit_read *)tc->args)->ret;
		char data[160] = "";
		size_t o = strlen(tc->text);
		if (r >= 0)
			guest_buffer(v, tc->in.read.buf, r, data, sizeof(data));
		else
			snprintf(data, sizeof(data), "0x%llx", (unsigned long long)tc->in.read.buf);
		snprintf(tc->text + o, sizeof(tc->text) - o, "%d, %s, %llu", tc->in.read.fd, data,
			 (unsigned long long)tc->in.read.len);
		format_result(res, len, r);
		break;
	}
	case HERMIT_PORT_OPEN:
		format_result(res, len, ((struct hermit_open *)tc->args)->ret);
		break;
	case HERMIT_PORT_CLOSE:
		format_result(res, len, ((struct hermit_close *)tc->args)->ret);
		break;
	case HERMIT_PORT_LSEEK:
		format_result(res, len, ((struct hermit_lseek *)tc->args)->offset);
		break;
	case HERMIT_PORT_UNLINK:
		format_result(res, len, ((struct hermit_unlink *)tc->args)->ret);
		break;
	case HERMIT_PORT_CMDSIZE: {
		const struct hermit_cmdsize *c = tc->args;
		snprintf(res, len, " = {argc=%d, envc=%d}", c->argc, c->envc);
		break;
	}
	default:
		decode_net_result(v, tc, res, len);
	}
}

void trace_after(struct vcpu *v, struct trace_call *tc)
{
	struct tracer *t = v->vm->trace;
	if (tc->h->port == HERMIT_PORT_UART || !t)
		return;
	char res[96];
	decode_result(v, tc, res, sizeof(res));
	/* Every line has a result, as strace's do: EXIT never returns (`= ?`); calls
	 * with nothing to report back (CMDVAL, the PCI ports' writes) succeeded. */
	if (!res[0])
		snprintf(res, sizeof(res), " = %s", tc->h->port == HERMIT_PORT_EXIT ? "?" : "0");
	pthread_mutex_lock(&t->lock);
	fprintf(t->out, "[vCPU %u] %s)%s\n", v->id, tc->text, res);
	fflush(t->out);
	pthread_mutex_unlock(&t->lock);
}

/* The exit observer around every port handler call. */
static void observe_before(struct vcpu *v, const struct port_handler *h, uint32_t value, void *arg)
{
	(void)arg;
	if (v->vm->trace)
		trace_before(v, h, value, &v->vm->trace->calls[v->id]);
}

static void observe_after(struct vcpu *v, const struct port_handler *h, void *arg)
{
	(void)h, (void)arg;
	if (v->vm->trace)
		trace_after(v, &v->vm->trace->calls[v->id]);
}
