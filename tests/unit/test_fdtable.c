/* test_fdtable.c: the guest fd table: stdio, allocation, close, reference counts
 * that keep a host fd open while a hypercall still uses it, limits. */
#include "hypercall.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int host_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int open_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("/dev/null");
		exit(2);
	}
	return fd;
}

static void test_stdio_and_install(void)
{
	struct vm vm;
	memset(&vm, 0, sizeof(vm));
	fd_table_init(&vm);
	int stdio_open = host_open(0) + host_open(1) + host_open(2);

	for (int i = 0; i < 3; i++) {
		CHECK_EQ(fd_get(&vm, i), i);
		fd_put(&vm, i);
		CHECK_EQ(fd_close(&vm, i), 0);
		CHECK_EQ(fd_close(&vm, i), 0); /* stdio is never closed: again 0 */
		CHECK_EQ(fd_get(&vm, i), i);
		fd_put(&vm, i);
	}
	CHECK_EQ(host_open(0) + host_open(1) + host_open(2), stdio_open); /* none closed */

	int a = open_null(), b = open_null();
	CHECK_EQ(fd_install(&vm, a, NULL, 0), 3);
	CHECK_EQ(fd_install(&vm, b, NULL, 0), 4);
	CHECK_EQ(fd_get(&vm, 3), a);
	fd_put(&vm, 3);
	CHECK_EQ(fd_get(&vm, 4), b);
	fd_put(&vm, 4);

	CHECK_EQ(fd_close(&vm, 3), 0);
	CHECK(!host_open(a) && errno == EBADF); /* no user: closed at once */
	CHECK_EQ(fd_close(&vm, 3), -EBADF);	/* double close */
	CHECK_EQ(fd_get(&vm, 3), -EBADF);
	int c = open_null();
	CHECK_EQ(fd_install(&vm, c, NULL, 0), 3); /* the lowest free slot is reused */
	CHECK_EQ(fd_get(&vm, 3), c);
	fd_put(&vm, 3);

	CHECK_EQ(fd_close(&vm, 5), -EBADF); /* never opened */
	CHECK_EQ(fd_get(&vm, 5), -EBADF);
	CHECK_EQ(fd_close(&vm, -1), -EBADF);
	CHECK_EQ(fd_close(&vm, GUEST_FD_MAX), -EBADF);
	CHECK_EQ(fd_close(&vm, 0x7FFFFFFF), -EBADF);
	CHECK_EQ(fd_get(&vm, -1), -EBADF);
	CHECK_EQ(fd_get(&vm, GUEST_FD_MAX), -EBADF);
	CHECK_EQ(fd_get(&vm, -2147483647 - 1), -EBADF);

	fd_table_close_all(&vm);
	CHECK(!host_open(b) && !host_open(c));
	CHECK_EQ(fd_get(&vm, 4), -EBADF);
	CHECK_EQ(fd_get(&vm, 1), 1); /* stdio survives close_all */
	fd_put(&vm, 1);
}

static void test_refcount(void)
{
	struct vm vm;
	memset(&vm, 0, sizeof(vm));
	fd_table_init(&vm);
	int h = open_null();
	int g = fd_install(&vm, h, NULL, 0);
	CHECK_EQ(g, 3);

	CHECK_EQ(fd_get(&vm, g), h); /* two hypercalls use it */
	CHECK_EQ(fd_get(&vm, g), h);
	CHECK_EQ(fd_close(&vm, g), 0);
	CHECK(host_open(h));			    /* still in use */
	CHECK_EQ(fd_get(&vm, g), -EBADF);	    /* but closed for new users */
	CHECK_EQ(fd_close(&vm, g), -EBADF);	    /* and for a second close */
	CHECK_EQ(fd_install(&vm, 999, NULL, 0), 4); /* its slot is not free yet */
	fd_put(&vm, g);
	CHECK(host_open(h));
	fd_put(&vm, g);
	CHECK(!host_open(h) && errno == EBADF); /* the last user closed it */
	CHECK_EQ(fd_install(&vm, open_null(), NULL, 0), 3);
	CHECK_EQ(fd_close(&vm, 3), 0);
	vm.fds.host[4] = -1; /* 999 was never a real fd */
}

static void test_full(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	fd_table_init(vm);
	int h = open_null();
	int ok = 1;
	/* The table does not check host fds: one real fd fills every slot. */
	for (int i = 3; i < GUEST_FD_MAX; i++)
		ok &= fd_install(vm, h, NULL, 0) == i;
	CHECK(ok);
	CHECK_EQ(fd_install(vm, h, NULL, 0), -EMFILE);
	CHECK_EQ(fd_get(vm, GUEST_FD_MAX - 1), h);
	fd_put(vm, GUEST_FD_MAX - 1);
	for (int i = 3; i < GUEST_FD_MAX; i++)
		vm->fds.host[i] = -1; /* forget the copies without closing h 1021 times */
	vm->fds.host[700] = h;
	CHECK_EQ(fd_install(vm, h, NULL, 0), 3);
	CHECK_EQ(fd_close(vm, 700), 0);
	CHECK(!host_open(h));
	free(vm);
}

int main(void)
{
	test_stdio_and_install();
	test_refcount();
	test_full();
	return unit_report();
}
