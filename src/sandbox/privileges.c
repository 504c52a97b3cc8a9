/* privileges.c: --user: give up root once the privileged opens are done.
 *
 * /dev/kvm and a tap device may need root to open, nothing after does: the
 * descriptors stay valid after setuid. Groups go first (setgid after setuid would
 * be refused), then the ids, all three of each, so nothing can switch back.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "sandbox.h"

int sandbox_drop_privileges(const char *name, unsigned uid, unsigned gid, char *why, size_t whylen)
{
	if (geteuid() == uid && getuid() == uid)
		return 0; /* already that user: nothing to give up */
	if (initgroups(name, gid) < 0 && setgroups(1, &(gid_t){gid}) < 0) {
		snprintf(why, whylen, "cannot set the groups of %s: %s", name, strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		snprintf(why, whylen, "cannot become %s (uid %u, gid %u): %s", name, uid, gid,
			 strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(why, whylen, "could switch back to root after becoming %s", name);
		return -1;
	}
	return 0;
}
