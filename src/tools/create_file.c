/* create_file.c: open a host file the monitor or a crash writes, without surprises.
 *
 * A debugger client names the path, so no symbolic link is followed anywhere in it
 * (openat2 RESOLVE_NO_SYMLINKS; O_NOFOLLOW for the last component where the kernel
 * has no openat2) and an existing file is replaced only when asked.
 */
#include "create_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

int create_host_file(const char *path, bool overwrite)
{
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL);
	struct open_how how = {.flags = (unsigned)flags,
			       .mode = 0600,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		fd = open(path, flags, 0600);
	return (int)fd;
}

const char *create_host_file_error(int e)
{
	switch (e) {
	case EEXIST:
		return "the file exists (dump-guest-core -f FILE replaces it)";
	case ELOOP:
		return "a symbolic link is in the path (proxy does not follow links when "
		       "writing files)";
	default:
		return NULL;
	}
}
