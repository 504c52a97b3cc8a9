/* sandbox_landlock.c: the host paths proxy may still open, with Landlock.
 *
 * Rules are per file hierarchy: a path and what may be done beneath it. Anything
 * Landlock handles and no rule grants is refused with EACCES, also to proxy's own
 * later opens, so main.c lists what proxy itself still needs (shared libraries for
 * the decoder it loads on demand, the places its own outputs go). Descriptors
 * opened before (/dev/kvm, the tap, sockets, log files) are not affected.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What ABI 1 knows, and what later ABIs add that we handle (ABI 2: REFER, ABI 3:
 * TRUNCATE). Later rights (ioctl on devices, network) are not handled: proxy's
 * devices are open before, and its sockets are listening already. */
#define FS_READ	      (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_FILE_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE)
#define FS_DIR_WRITE                                                                               \
	(LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FS_ABI1	    (FS_READ | FS_FILE_WRITE | FS_DIR_WRITE | LANDLOCK_ACCESS_FS_EXECUTE)
#define FS_REFER    (1ULL << 13) /* LANDLOCK_ACCESS_FS_REFER, ABI 2 */
#define FS_TRUNCATE (1ULL << 14) /* LANDLOCK_ACCESS_FS_TRUNCATE, ABI 3 */
/* Rights that only make sense on a directory (a rule on a file may not name them). */
#define FS_DIR_ONLY (LANDLOCK_ACCESS_FS_READ_DIR | FS_DIR_WRITE | FS_REFER)

void sandbox_allow(struct sandbox_paths *s, const char *path, enum sandbox_access access)
{
	if (path && s->n < SANDBOX_MAX_PATHS)
		s->p[s->n++] = (struct sandbox_path){path, access};
	else if (path)
		s->overflow = true;
}

int sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v > 0 ? (int)v : 0;
}

static uint64_t handled_rights(int abi)
{
	uint64_t r = FS_ABI1;
	if (abi >= 2)
		r |= FS_REFER;
	if (abi >= 3)
		r |= FS_TRUNCATE;
	return r;
}

static uint64_t rights_for(enum sandbox_access a, uint64_t handled)
{
	uint64_t r = FS_READ;
	if (a == SANDBOX_READ_EXEC)
		r |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (a == SANDBOX_READ_WRITE)
		r |= FS_FILE_WRITE | FS_DIR_WRITE | FS_REFER | FS_TRUNCATE;
	return r & handled;
}

/* One rule; a path that does not exist (an optional place) or that proxy's user
 * cannot reach (after --user) grants nothing: it could not be opened anyway. */
static int add_rule(int ruleset, const struct sandbox_path *p, uint64_t handled, char *why,
		    size_t whylen)
{
	int fd = open(p->path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == EACCES
			       ? 0
			       : (snprintf(why, whylen, "%s: %s", p->path, strerror(errno)), -1);
	struct stat st;
	uint64_t rights = rights_for(p->access, handled);
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= ~(uint64_t)FS_DIR_ONLY;
	struct landlock_path_beneath_attr attr = {.allowed_access = rights, .parent_fd = fd};
	int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
	if (rc < 0)
		snprintf(why, whylen, "landlock rule for %s: %s", p->path, strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

int sandbox_landlock(const struct sandbox_paths *paths, char *why, size_t whylen)
{
	if (paths->overflow) {
		snprintf(why, whylen, "more than %d paths to allow", SANDBOX_MAX_PATHS);
		return -1;
	}
	int abi = sandbox_landlock_abi();
	if (!abi) {
		snprintf(why, whylen, "this kernel has no Landlock (%s)",
			 errno == EOPNOTSUPP ? "disabled at boot" : "not built in");
		return 0;
	}
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled_rights(abi)};
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		snprintf(why, whylen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	int rc = 0;
	for (unsigned i = 0; !rc && i < paths->n; i++)
		rc = add_rule(ruleset, &paths->p[i], attr.handled_access_fs, why, whylen);
	/* Needed without CAP_SYS_ADMIN; it also keeps a later exec from gaining any. */
	if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, whylen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		rc = -1;
	}
	if (!rc && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		snprintf(why, whylen, "landlock_restrict_self: %s", strerror(errno));
		rc = -1;
	}
	close(ruleset);
	return rc ? -1 : abi;
}
