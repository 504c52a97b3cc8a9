/* debug_socket.c: the path of the Unix-socket debug endpoint (--gdb-socket).
 *
 * config_check made sure the directory is proxy's user's alone and that anything
 * already at the path is a socket of that user. Here: such a socket that nobody
 * answers on is a crashed run's and is replaced, a live one is refused; once
 * listening, the socket goes to the --user account (mode 0600: only it, and root, can
 * connect) and a small watcher removes it when proxy ends. The watcher is needed
 * because proxy itself may no longer unlink there by then: the sandbox (Landlock)
 * does not reach the directory, and after --user the directory may be root's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "debug_internal.h"
#include "exit_remover.h"
#include "log.h"

void debug_socket_prepare(const struct config *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (lstat(c->gdb_socket, &st) < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->gdb_socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		die("%s%s: something already listens on this socket (another proxy?): choose "
		    "another path",
		    c->gdb_socket_source, c->gdb_socket);
	if (e != ECONNREFUSED)
		die("%s%s: cannot tell whether the socket there is in use: %s",
		    c->gdb_socket_source, c->gdb_socket, strerror(e));
	if (unlink(c->gdb_socket) < 0) /* a socket of ours nobody listens on: stale */
		die("%s%s: cannot remove the stale socket: %s", c->gdb_socket_source, c->gdb_socket,
		    strerror(errno));
}

void debug_socket_settle(const struct config *c)
{
	struct stat st;

	if (lstat(c->gdb_socket, &st) < 0)
		die("%s%s: %s", c->gdb_socket_source, c->gdb_socket, strerror(errno));
	/* The socket is 0600: the account proxy becomes must be able to connect. */
	if (c->user && chown(c->gdb_socket, c->user_uid, c->user_gid) < 0)
		die("%s%s: cannot give the socket to --user %s: %s", c->gdb_socket_source,
		    c->gdb_socket, c->user, strerror(errno));
	char err[512];
	/* Only the socket proxy made (same device and inode), not a later run's. */
	if (!exit_remover_spawn(c->gdb_socket, &st, err, sizeof(err)))
		die("%s", err);
}
