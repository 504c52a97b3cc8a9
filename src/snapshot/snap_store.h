/* snap_store.h: named in-memory snapshots for the monitor (savevm, loadvm, delvm,
 * info snapshots), QEMU's names. Each returns 0 or -errno, with what to tell the
 * user in msg either way. They pause the VM themselves (snap_pause.c), whether it
 * runs, is stopped by GDB or by the console. */
#ifndef PROXY_SNAP_STORE_H
#define PROXY_SNAP_STORE_H

#include <stddef.h>

#include "vm.h"

int snap_store_save(struct vm *vm, const char *name, char *msg, size_t msglen);
int snap_store_load(struct vm *vm, const char *name, char *msg, size_t msglen);
int snap_store_delete(struct vm *vm, const char *name, char *msg, size_t msglen);
void snap_store_list(struct vm *vm, void (*line)(void *arg, const char *text), void *arg);

#endif
