/* test_gdb_stub.c: the public gdbstub API over real sockets: open (TCP, Unix, errors),
 * one client at a time, a VM that ends before any client. */
#include "gdbstub.h"
#include "test_gdb_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

struct served {
	struct gdbstub *stub;
	pthread_t thread;
	int result;
};

static void *serve_thread(void *arg)
{
	struct served *sv = arg;

	sv->result = gdbstub_serve(sv->stub);
	return NULL;
}

static int connect_tcp(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A client on `fd` wrapped in a harness-like reader (no session thread of its own). */
static const char *ask(int fd, const char *payload, char *buf, size_t cap)
{
	struct rsp_decoder *d = malloc(sizeof(*d));
	uint8_t frame[256];
	size_t n = rsp_frame(frame, sizeof(frame), payload, strlen(payload));
	const char *r = NULL;
	uint8_t c;

	rsp_decoder_init(d);
	if (send(fd, frame, n, MSG_NOSIGNAL) != (ssize_t)n)
		goto out;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 2000) <= 0 || recv(fd, &c, 1, 0) != 1)
			goto out;
		if (rsp_decoder_feed(d, c) == RSP_EV_PACKET && d->len < cap) {
			memcpy(buf, d->buf, d->len + 1);
			r = buf;
			goto out;
		}
	}
out:
	free(d);
	return r;
}

static bool closed_by_peer(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	return poll(&p, 1, 2000) == 1 && recv(fd, &c, 1, 0) == 0;
}

static void test_tcp_one_client(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	struct gdbstub_config cfg = {.port = 0};
	struct served sv = {0};
	char err[256], buf[256];
	int a, b;

	fake_init(&f);
	CHECK_EQ(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)), 0);
	CHECK(gdbstub_port(sv.stub) > 0);
	pthread_create(&sv.thread, NULL, serve_thread, &sv);
	a = connect_tcp(gdbstub_port(sv.stub));
	CHECK(a >= 0);
	CHECK_STR(ask(a, "qC", buf, sizeof(buf)), "QC1");
	b = connect_tcp(gdbstub_port(sv.stub));
	CHECK(b >= 0);
	/* the second client is turned away, told why: its first packet gets the reason */
	const char *r = ask(b, "qSupported:multiprocess+", buf, sizeof(buf));
	CHECK(r && strncmp(r, "E.proxy: another debugger is attached", 37) == 0);
	CHECK(closed_by_peer(b));
	close(b);
	b = connect_tcp(gdbstub_port(sv.stub)); /* one that hangs up unanswered */
	CHECK(b >= 0);
	close(b);
	CHECK_STR(ask(a, "m1000,2", buf, sizeof(buf)), "0001"); /* the first goes on */
	CHECK_STR(ask(a, "D", buf, sizeof(buf)), "OK");
	pthread_join(sv.thread, NULL);
	CHECK_EQ(sv.result, GDBSTUB_DETACHED);
	CHECK_EQ(f.detached, 1);
	close(a);
	gdbstub_close(sv.stub);
	close(f.stop_fd);
}

static void test_vm_ends_without_client(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	struct gdbstub_config cfg = {.bind_addr = "127.0.0.1", .port = 0};
	struct gdbstub *stub;
	char err[256];

	fake_init(&f);
	CHECK_EQ(gdbstub_open(&stub, &cfg, tgt, err, sizeof(err)), 0);
	fake_post_stop(&f, (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 0});
	CHECK_EQ(gdbstub_serve(stub), GDBSTUB_EXITED);
	gdbstub_close(stub);
	close(f.stop_fd);
}

static void test_unix_socket(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	char path[64], err[256], buf[64];
	struct gdbstub_config cfg = {.unix_path = path};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct served sv = {0};
	int fd;

	fake_init(&f);
	snprintf(path, sizeof(path), "/tmp/gdbstub-test-%d.sock", (int)getpid());
	CHECK_EQ(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)), 0);
	CHECK_EQ(gdbstub_port(sv.stub), 0);
	pthread_create(&sv.thread, NULL, serve_thread, &sv);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_STR(ask(fd, "qAttached", buf, sizeof(buf)), "1");
	close(fd); /* a vanished client is a detach */
	pthread_join(sv.thread, NULL);
	CHECK_EQ(sv.result, GDBSTUB_DETACHED);
	gdbstub_close(sv.stub);
	CHECK(access(path, F_OK) != 0); /* removed at close */
	close(f.stop_fd);
}

static int bad_reg_size(void *ctx, int regno)
{
	(void)ctx;
	return regno == GDB_REG_EFLAGS ? 8 : target_xml_reg_size(regno);
}

static void test_open_errors(void)
{
	struct fake f;
	struct gdb_target_ops ops = fake_ops;
	struct gdb_target tgt = {&ops, &f};
	struct gdbstub_config cfg = {.port = 0};
	struct gdbstub *stub, *other;
	char err[256];

	fake_init(&f);
	ops.reg_size = bad_reg_size;
	CHECK_EQ(gdbstub_open(&stub, &cfg, tgt, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "eflags"));
	CHECK(stub == NULL);
	ops.reg_size = fake_reg_size;
	cfg.bind_addr = "not-an-address";
	CHECK_EQ(gdbstub_open(&stub, &cfg, tgt, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not-an-address"));
	cfg.bind_addr = NULL;
	CHECK_EQ(gdbstub_open(&stub, &cfg, tgt, err, sizeof(err)), 0);
	cfg.port = gdbstub_port(stub); /* the same port again: in use */
	CHECK_EQ(gdbstub_open(&other, &cfg, tgt, err, sizeof(err)), -EADDRINUSE);
	CHECK(strstr(err, "127.0.0.1:") && strstr(err, "in use"));
	cfg.port = 70000;
	CHECK_EQ(gdbstub_open(&other, &cfg, tgt, err, sizeof(err)), -EINVAL);
	gdbstub_close(stub);
	gdbstub_close(NULL);
	close(f.stop_fd);
}

int main(void)
{
	test_tcp_one_client();
	test_vm_ends_without_client();
	test_unix_socket();
	test_open_errors();
	return unit_report();
}
