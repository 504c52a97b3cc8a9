/* exit_remover.c: remove a path when proxy ends, however it ends.
 *
 * By the time proxy exits it may no longer be allowed to unlink what it made (the
 * sandbox's Landlock rules do not reach the parent directory, a --user drop may
 * have taken the right away) and it may end by a fatal signal. So a /bin/sh is
 * spawned during set-up, outside the sandbox and before the drop, in a session of
 * its own with every signal blocked (the terminal's ^C that ends proxy or reaches
 * GDB does not end it): it waits for EOF on a pipe whose only writer is proxy and
 * then removes the path. posix_spawn (vfork-like) leaves guest RAM unshared: a fork
 * would make every later guest write a copy-on-write fault.
 *
 * At a normal exit (or die()) proxy closes the pipe itself and waits for the
 * shell's end (the "ack" pipe's EOF), so the path is gone when proxy's status is.
 */
#include "exit_remover.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct exit_remover {
	int go_fd, ack_fd; /* -1: finished */
};

/* $1 the path, $2 "dev:ino" (or empty: remove whatever is there, recursively). */
static const char remover_script[] =
	"cat >/dev/null; "
	"if [ -z \"$2\" ]; then rm -rf -- \"$1\"; "
	"elif [ \"$(stat -c %d:%i -- \"$1\" 2>/dev/null)\" = \"$2\" ]; then rm -f -- \"$1\"; fi";

static void finish_at_exit(int status, void *arg)
{
	(void)status;
	exit_remover_finish(arg);
}

struct exit_remover *exit_remover_spawn(const char *path, const struct stat *same, char *err,
					size_t errlen)
{
	struct exit_remover *r = malloc(sizeof(*r));
	int go[2], ack[2];
	if (!r || pipe2(go, O_CLOEXEC)) {
		snprintf(err, errlen, "cannot start the remover of %s: %s", path,
			 r ? strerror(errno) : "out of memory");
		free(r);
		return NULL;
	}
	if (pipe2(ack, O_CLOEXEC)) {
		snprintf(err, errlen, "cannot start the remover of %s: %s", path, strerror(errno));
		close(go[0]);
		close(go[1]);
		free(r);
		return NULL;
	}
	char id[64] = "";
	if (same)
		snprintf(id, sizeof(id), "%lu:%lu", (unsigned long)same->st_dev,
			 (unsigned long)same->st_ino);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all;
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, go[0], 0);
	posix_spawn_file_actions_adddup2(&fa, ack[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the VM's descriptors stay ours */
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
	char *argv[] = {"sh", "-c", (char *)remover_script, "proxy-remover", (char *)path,
			id,   NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(go[0]);
	close(ack[1]);
	if (rc) {
		close(go[1]);
		close(ack[0]);
		free(r);
		snprintf(err, errlen, "cannot start /bin/sh to remove %s at exit: %s", path,
			 strerror(rc));
		return NULL;
	}
	r->go_fd = go[1];
	r->ack_fd = ack[0];
	on_exit(finish_at_exit, r); /* lives as long as the process */
	return r;
}

void exit_remover_finish(struct exit_remover *r)
{
	if (!r || r->go_fd < 0)
		return;
	close(r->go_fd);
	r->go_fd = -1;
	char byte;
	for (;;) {
		ssize_t n = read(r->ack_fd, &byte, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	close(r->ack_fd);
	r->ack_fd = -1;
}
