/* coredump.h: the guest as an ELF core file that `gdb APP CORE` can read. */
#ifndef PROXY_COREDUMP_H
#define PROXY_COREDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct coredump_info {
	unsigned segments; /* PT_LOAD segments written */
	uint64_t bytes;	   /* guest memory they cover */
};

/* Write the core of a VM whose vCPUs are not running (stopped, or their threads
 * joined) to a new file at path (an existing one only with overwrite; never through
 * a symbolic link). 0, or -1 with a message in err. */
int coredump_write(struct vm *vm, const char *path, bool overwrite, struct coredump_info *info,
		   char *err, size_t errlen);

#endif
