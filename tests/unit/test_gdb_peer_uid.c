/* test_gdb_peer_uid.c: the stub serves only the users it was given: the owner of a
 * loopback client found in /proc/net/tcp{,6}, and a client of another uid turned
 * away (with a second uid for real when the tests run as root). */
#include "gdbstub.h"
#include "peer_uid.h"
#include "test_gdb_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static const char table[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode\n"
	"   0: 0100007F:04D2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
	"      0 1 1 0000000000000000 100 0 0 10 0\n"
	"   1: 0100007F:A1B2 0100007F:04D2 01 00000000:00000000 00:00000000 00000000 65534  "
	"      0 2 1 0000000000000000 20 4 30 10 -1\n";

#define HEADER                                                                                     \
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "      \
	"timeout inode\n"
#define ROW(sl, loc, rem, st, uid)                                                                 \
	"  " sl ": " loc " " rem " " st " 00000000:00000000 00:00000000 00000000 " uid             \
	"        0 2 1 0000000000000000 20 4 30 10 -1\n"

static void test_table_parsing(void)
{
	CHECK_EQ(peer_uid_in_table(table, "0100007F:A1B2", "0100007F:04D2"), 65534);
	CHECK_EQ(peer_uid_in_table(table, "0100007f:a1b2", "0100007f:04d2"), 65534);
	/* The listener's row is no connection's owner. */
	CHECK_EQ(peer_uid_in_table(table, "0100007F:04D2", "00000000:0000"), PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(table, "0100007F:A1B3", "0100007F:04D2"), PEER_UID_UNKNOWN);
	CHECK_EQ(peer_uid_in_table("header only", "0100007F:A1B2", "x"), PEER_UID_UNKNOWN);
	CHECK_EQ(peer_uid_in_table("", "a", "b"), PEER_UID_UNKNOWN);
}

/* The audit's trick: a client closed first leaves a TIME_WAIT row showing uid 0 (root,
 * always trusted) with the ports of the next connection. */
static void test_time_wait_is_not_root(void)
{
	static const char tw[] = HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "06", "0");
	static const char tw_then_live[] =
		HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "06", "0")
			ROW("1", "0100007F:A1B2", "0100007F:04D2", "01", "65534");
	static const char live_then_tw[] =
		HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "01", "65534")
			ROW("1", "0100007F:A1B2", "0100007F:04D2", "06", "0");
	static const char closing[] = HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "05", "0")
		ROW("1", "0100007F:A1B2", "0100007F:04D2", "08", "0");

	CHECK_EQ(peer_uid_in_table(tw, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(tw_then_live, "0100007F:A1B2", "0100007F:04D2"), 65534);
	CHECK_EQ(peer_uid_in_table(live_then_tw, "0100007F:A1B2", "0100007F:04D2"), 65534);
	CHECK_EQ(peer_uid_in_table(closing, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
}

/* Only the exact 4-tuple counts: rows that differ in one part are other connections. */
static void test_near_misses(void)
{
	static const char t[] =
		HEADER ROW("0", "0100007F:A1B2", "0100007F:04D3", "01", "0") /* other port */
		ROW("1", "0200007F:A1B2", "0100007F:04D2", "01", "0")	     /* other client */
		ROW("2", "0100007F:A1B2", "0200007F:04D2", "01", "0")	     /* other server */
		ROW("3", "0100007F:04D2", "0100007F:A1B2", "01", "0")	     /* our own end */
		ROW("4", "0100007F:A1B20", "0100007F:04D2", "01", "0");	     /* longer */

	CHECK_EQ(peer_uid_in_table(t, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNKNOWN);
	CHECK_EQ(peer_uid_in_table(t, "0100007F:A1B", "0100007F:04D2"), PEER_UID_UNKNOWN);
}

/* Two live rows of one 4-tuple with different owners, or rows that do not parse: no
 * owner is proven. */
static void test_ambiguous_or_garbled(void)
{
	static const char two[] = HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "01", "0")
		ROW("1", "0100007F:A1B2", "0100007F:04D2", "01", "65534");
	static const char cut[] = HEADER "   0: 0100007F:A1B2 0100007F:04D2 01 00000000:00000000";
	static const char junk[] =
		HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "01", "0") "garbage\n";
	static const char bad_uid[] = HEADER ROW("0", "0100007F:A1B2", "0100007F:04D2", "01", "x");

	CHECK_EQ(peer_uid_in_table(two, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(cut, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(junk, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(bad_uid, "0100007F:A1B2", "0100007F:04D2"), PEER_UID_UNPROVEN);
}

/* IPv6 rows: 32 hex digits, the same rule. */
static void test_v6_rows(void)
{
	static const char t[] = HEADER ROW("0", "0000000000000000FFFF00000100007F:A1B2",
					   "0000000000000000FFFF00000100007F:04D2", "06", "0")
		ROW("1", "00000000000000000000000001000000:A1B2",
		    "00000000000000000000000001000000:04D2", "01", "1000");

	CHECK_EQ(peer_uid_in_table(t, "0000000000000000FFFF00000100007F:A1B2",
				   "0000000000000000FFFF00000100007F:04D2"),
		 PEER_UID_UNPROVEN);
	CHECK_EQ(peer_uid_in_table(t, "00000000000000000000000001000000:A1B2",
				   "00000000000000000000000001000000:04D2"),
		 1000);
}

/* A loopback connection of family `af`; the accepted end in *accepted. */
static int loopback_pair(int af, int *client, int *accepted)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = af == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int l = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) < 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	*client = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(*client, (struct sockaddr *)&ss, len) < 0) {
		close(l);
		close(*client);
		return -1;
	}
	*accepted = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return *accepted < 0 ? -1 : 0;
}

static void test_live_owner(void)
{
	struct peer_tables t;
	int c, a;

	peer_tables_open(&t);
	CHECK(t.tcp4 >= 0);
	CHECK_EQ(loopback_pair(AF_INET, &c, &a), 0);
	CHECK_EQ(peer_uid(&t, a), (long)geteuid());
	CHECK_EQ(peer_uid(&t, a), (long)geteuid()); /* the table is read again, from 0 */
	close(c);
	close(a);
	if (t.tcp6 >= 0 && loopback_pair(AF_INET6, &c, &a) == 0) {
		CHECK_EQ(peer_uid(&t, a), (long)geteuid());
		close(c);
		close(a);
	} else {
		printf("  (no IPv6 loopback here: the tcp6 table is not checked live)\n");
	}
	peer_tables_close(&t);
}

struct events {
	int not_ours;
	char last[128];
};

static void on_event(void *arg, enum gdbstub_event ev, const char *peer)
{
	struct events *e = arg;
	if (ev == GDBSTUB_EV_NOT_OURS) {
		e->not_ours++;
		snprintf(e->last, sizeof(e->last), "%s", peer);
	}
}

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

static int connect_port(int port)
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

/* A turned-away client's first packet gets the reason, then the stub hangs up. */
static bool told_why_and_closed(int fd)
{
	static const char want[] = "+$E.proxy: this GDB stub serves only the user proxy runs as";
	char got[256];
	size_t n = 0;
	ssize_t r = 1;
	if (send(fd, "$?#3f", 5, MSG_NOSIGNAL) != 5)
		return false;
	while (r > 0 && n < sizeof(got) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		r = poll(&p, 1, 5000) == 1 ? recv(fd, got + n, sizeof(got) - 1 - n, 0) : -1;
		n += r > 0 ? (size_t)r : 0;
	}
	got[n] = 0;
	return r == 0 && strncmp(got, want, strlen(want)) == 0;
}

/* In a child that became `uid`: connect, and say whether the stub turned it away. */
static bool refused_as(unsigned uid, int port)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(2);
		int fd = connect_port(port);
		_exit(fd >= 0 && told_why_and_closed(fd) ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Serving only `allowed`: a client of ours is turned away unless we are allowed. */
static void test_stub_turns_away_other_users(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	struct events ev = {0};
	unsigned allowed[] = {geteuid() + 1};
	struct gdbstub_config cfg = {.bind_addr = "127.0.0.1",
				     .on_event = on_event,
				     .event_arg = &ev,
				     .allowed_uids = allowed,
				     .nallowed_uids = 1};
	struct served sv = {0};
	char err[256], want[64];

	fake_init(&f);
	CHECK_EQ(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)), 0);
	pthread_create(&sv.thread, NULL, serve_thread, &sv);
	int fd = connect_port(gdbstub_port(sv.stub));
	CHECK(fd >= 0);
	CHECK(told_why_and_closed(fd));
	close(fd);
	if (geteuid() == 0) {
		allowed[0] = 0; /* the stub copied the list: this changes nothing */
		CHECK(refused_as(65534, gdbstub_port(sv.stub)));
	} else {
		printf("  (not root: no second uid to try)\n");
	}
	fake_post_stop(&f, (struct gdb_stop){.kind = GDB_STOP_EXITED, .exit_code = 0});
	pthread_join(sv.thread, NULL);
	CHECK_EQ(sv.result, GDBSTUB_EXITED);
	CHECK(ev.not_ours >= 1);
	snprintf(want, sizeof(want), "(uid %u)", geteuid() == 0 ? 65534 : geteuid());
	CHECK(strstr(ev.last, want) != NULL);
	CHECK(strstr(ev.last, "127.0.0.1:") == ev.last);
	gdbstub_close(sv.stub);
	close(f.stop_fd);
}

/* Our own uid is served. */
static void test_stub_serves_its_user(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	struct events ev = {0};
	unsigned allowed[] = {geteuid()};
	struct gdbstub_config cfg = {.on_event = on_event,
				     .event_arg = &ev,
				     .allowed_uids = allowed,
				     .nallowed_uids = 1};
	struct served sv = {0};
	char err[256];

	fake_init(&f);
	CHECK_EQ(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)), 0);
	pthread_create(&sv.thread, NULL, serve_thread, &sv);
	int fd = connect_port(gdbstub_port(sv.stub));
	CHECK(fd >= 0);
	/* Served: `?` gets its reply (the client's row is still ESTABLISHED when the stub
	 * looks: a client that closed first would be refused). */
	char reply[64];
	CHECK(send(fd, "$?#3f", 5, 0) == 5);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK(poll(&p, 1, 5000) == 1 && recv(fd, reply, sizeof(reply), 0) > 0);
	close(fd); /* then gone: a detach */
	pthread_join(sv.thread, NULL);
	CHECK_EQ(sv.result, GDBSTUB_DETACHED);
	CHECK_EQ(ev.not_ours, 0);
	gdbstub_close(sv.stub);
	close(f.stop_fd);
}

/* On a Unix socket: whatever is at the path stays (gdbstub_open fails), and the owner
 * comes from SO_PEERCRED: another uid is turned away, ours served. */
static void test_unix_socket_peers(void)
{
	struct fake f;
	struct gdb_target tgt = {&fake_ops, &f};
	struct events ev = {0};
	char dir[] = "/tmp/test-peer-uid-XXXXXX", path[64], err[256], reply[64];
	unsigned allowed[] = {geteuid()};
	struct gdbstub_config cfg = {.unix_path = path,
				     .on_event = on_event,
				     .event_arg = &ev,
				     .allowed_uids = allowed,
				     .nallowed_uids = 1};
	struct served sv = {0};

	fake_init(&f);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	FILE *file = fopen(path, "w");
	CHECK(file != NULL && fputs("keep\n", file) >= 0);
	fclose(file);
	CHECK(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)) < 0);
	CHECK(strstr(err, "cannot listen on") != NULL);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);
	unlink(path);

	CHECK_EQ(gdbstub_open(&sv.stub, &cfg, tgt, err, sizeof(err)), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	pthread_create(&sv.thread, NULL, serve_thread, &sv);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (geteuid() == 0) {
		/* Past the file permissions on purpose: SO_PEERCRED alone must refuse. */
		CHECK(chmod(dir, 0711) == 0 && chmod(path, 0666) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
			    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				_exit(2);
			_exit(told_why_and_closed(fd) ? 0 : 1);
		}
		int status = -1;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK(strstr(ev.last, "(uid 65534)") != NULL);
	} else {
		printf("  (not root: no second uid to try)\n");
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK(send(fd, "$?#3f", 5, 0) == 5);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK(poll(&p, 1, 5000) == 1 && recv(fd, reply, sizeof(reply), 0) > 0);
	close(fd);
	pthread_join(sv.thread, NULL);
	CHECK_EQ(sv.result, GDBSTUB_DETACHED);
	gdbstub_close(sv.stub);
	CHECK(access(path, F_OK) != 0);
	rmdir(dir);
	close(f.stop_fd);
}

int main(void)
{
	test_table_parsing();
	test_time_wait_is_not_root();
	test_near_misses();
	test_ambiguous_or_garbled();
	test_v6_rows();
	test_live_owner();
	test_stub_turns_away_other_users();
	test_stub_serves_its_user();
	test_unix_socket_peers();
	return unit_report();
}
