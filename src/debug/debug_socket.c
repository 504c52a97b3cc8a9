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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "debug_internal.h"
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

/* /bin/sh, spawned before the sandbox and the --user drop, in a session of its own
 * (a Ctrl-C for GDB must not end it first) and with an empty environment: it waits
 * for proxy's end (EOF on its stdin, the pipe proxy holds) and then removes the path
 * if it is still the socket proxy made (same device and inode), not a later run's. */
static void spawn_remover(const char *path, const struct stat *st)
{
	static const char script[] = "trap '' INT TERM HUP QUIT; cat >/dev/null; "
				     "[ \"$(stat -c %d:%i -- \"$1\" 2>/dev/null)\" = \"$2\" ] && "
				     "rm -f -- \"$1\"";
	char id[64];
	int p[2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;

	snprintf(id, sizeof(id), "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
	char *argv[] = {"sh", "-c", (char *)script, "proxy-socket-remover", (char *)path, id, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	if (pipe2(p, O_CLOEXEC) < 0)
		die("cannot start the remover of %s: %s", path, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the VM's descriptors stay ours */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[0]);
	if (rc)
		die("cannot start the remover of %s: /bin/sh: %s", path, strerror(rc));
	/* p[1] stays open (close-on-exec) until proxy ends: then the remover runs. */
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
	spawn_remover(c->gdb_socket, &st);
}
