/* test_fd_may_block.c: which guest descriptors get a poll() before their I/O.
 *
 * A READ or WRITE on a descriptor that can wait forever (pipe, terminal, socket)
 * waits in poll() for it or the VM's end; one that cannot (regular file, block
 * device, the memory devices null, zero, full, random and urandom) goes straight
 * to the system call, saving one per hypercall.
 */
#include "hypercall.h"
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct vm vm;

/* Install a host fd, return whether the table says it may block (-1: not opened). */
static int may_block(int fd)
{
	if (fd < 0)
		return -1;
	int guest_fd = fd_install(&vm, fd, NULL, 0);
	CHECK(guest_fd >= 3);
	int r = fd_may_block(&vm, guest_fd);
	fd_close(&vm, guest_fd);
	return r;
}

static int open_dev(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

int main(void)
{
	fd_table_init(&vm);
	CHECK_EQ(may_block(open_dev("/dev/null")), 0);
	CHECK_EQ(may_block(open_dev("/dev/zero")), 0);
	CHECK_EQ(may_block(open_dev("/dev/full")), 0);
	CHECK_EQ(may_block(open("/dev/urandom", O_RDONLY | O_CLOEXEC)), 0);
	CHECK_EQ(may_block(open("/dev/random", O_RDONLY | O_CLOEXEC)), 0);
	char path[] = "/tmp/proxy-test-may-block-XXXXXX";
	int file = mkstemp(path);
	CHECK(file >= 0);
	unlink(path);
	CHECK_EQ(may_block(file), 0);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK_EQ(may_block(p[0]), 1);
	CHECK_EQ(may_block(p[1]), 1);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK_EQ(may_block(sv[0]), 1);
	close(sv[1]);
	int kmsg = open("/dev/kmsg", O_RDONLY | O_CLOEXEC); /* a memory device whose reads wait */
	if (kmsg >= 0)
		CHECK_EQ(may_block(kmsg), 1);
	fd_table_close_all(&vm);
	return unit_report();
}
