/* snap_store.c: the monitor's savevm/loadvm/delvm/info snapshots: named
 * checkpoints held in memory (a memfd each) for the life of proxy, in the same
 * format as the files, so loadvm checks them as a restore checks a file. */
#include "snap_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snap_internal.h"

#define NAME_MAX_LEN 63

struct snap_stored {
	char name[NAME_MAX_LEN + 1];
	int fd;
	uint64_t bytes, pages, created_ns;
	uint64_t rip; /* vCPU 0's, for the listing */
	struct snap_stored *next;
};

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= NAME_MAX_LEN &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-") == n;
}

static struct snap_stored **find(struct snapshot *s, const char *name)
{
	struct snap_stored **p = &s->stored;
	while (*p && strcmp((*p)->name, name))
		p = &(*p)->next;
	return p;
}

static void drop(struct snap_stored **p)
{
	struct snap_stored *e = *p;
	*p = e->next;
	close(e->fd);
	free(e);
}

int snap_store_save(struct vm *vm, const char *name, char *msg, size_t msglen)
{
	struct snapshot *s = vm->snap;
	if (!valid_name(name))
		return snprintf(msg, msglen,
				"a snapshot name is 1 to %d letters, digits, '_', '.' "
				"or '-'",
				NAME_MAX_LEN),
		       -EINVAL;
	int fd = memfd_create("proxy-savevm", MFD_CLOEXEC);
	if (fd < 0)
		return snprintf(msg, msglen, "memfd_create: %s", strerror(errno)), -errno;
	char err[512];
	uint64_t pages = 0, bytes = 0, t0 = now_ns();
	struct snap_stored *e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return snprintf(msg, msglen, "out of memory"), -ENOMEM;
	}
	if (snapshot_pause(vm, err, sizeof(err))) { /* also the list's lock, until resume */
		close(fd);
		free(e);
		return snprintf(msg, msglen, "savevm %s: %s", name, err), -EIO;
	}
	struct kvm_regs regs = {0};
	int rc = snapshot_save(vm, fd, SAVE_FULL_KEEP_LOG, 1, 0, &pages, &bytes, err, sizeof(err));
	ioctl(vm->vcpus[0].fd, KVM_GET_REGS, &regs);
	if (!rc) {
		struct snap_stored **p = find(s, name);
		if (*p)
			drop(p); /* as QEMU: the same name replaces the old snapshot */
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->fd = fd, e->bytes = bytes, e->pages = pages, e->created_ns = now_ns();
		e->rip = regs.rip;
		*find(s, name) = e;
	}
	snapshot_resume(vm);
	if (rc) {
		close(fd);
		free(e);
		return snprintf(msg, msglen, "savevm %s: %s", name, err), -EIO;
	}
	snprintf(msg, msglen, "saved snapshot %s: %u vCPUs, %llu pages, %llu KiB in %.1f ms", name,
		 vm->ncpus, (unsigned long long)pages, (unsigned long long)(bytes >> 10),
		 (now_ns() - t0) / 1e6);
	return 0;
}

int snap_store_load(struct vm *vm, const char *name, char *msg, size_t msglen)
{
	char err[512];
	if (snapshot_pause(vm, err, sizeof(err))) /* also the list's lock, until resume */
		return snprintf(msg, msglen, "loadvm %s: %s", name, err), -EIO;
	struct snap_stored **p = find(vm->snap, name);
	int rc = *p ? snapshot_load_into_running(vm, (*p)->fd, name, err, sizeof(err)) : -ENOENT;
	uint64_t rip = *p ? (*p)->rip : 0;
	snapshot_resume(vm);
	if (rc == -ENOENT)
		return snprintf(msg, msglen, "no snapshot %s (info snapshots lists them)", name),
		       -ENOENT;
	if (rc && atomic_load(&vm->ending))
		return snprintf(msg, msglen, "loadvm %s: %s; the VM ends", name, err), -EIO;
	if (rc)
		return snprintf(msg, msglen, "loadvm %s: %s; the VM is as it was", name, err), -EIO;
	snprintf(msg, msglen, "loaded snapshot %s: vCPU 0 at RIP 0x%llx", name,
		 (unsigned long long)rip);
	return 0;
}

int snap_store_delete(struct vm *vm, const char *name, char *msg, size_t msglen)
{
	pthread_mutex_lock(&vm->snap->op_lock);
	struct snap_stored **p = find(vm->snap, name);
	bool found = *p != NULL;
	if (found)
		drop(p);
	pthread_mutex_unlock(&vm->snap->op_lock);
	if (!found)
		return snprintf(msg, msglen, "no snapshot %s (info snapshots lists them)", name),
		       -ENOENT;
	snprintf(msg, msglen, "deleted snapshot %s", name);
	return 0;
}

void snap_store_list(struct vm *vm, void (*line)(void *arg, const char *text), void *arg)
{
	char text[256];
	unsigned n = 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&vm->snap->op_lock);
	for (struct snap_stored *e = vm->snap->stored; e; e = e->next, n++) {
		if (!n)
			line(arg, "name                              size KiB   pages      age s  "
				  "vCPU 0 RIP");
		snprintf(text, sizeof(text), "%-32s %9llu %7llu %10.1f  0x%llx", e->name,
			 (unsigned long long)(e->bytes >> 10), (unsigned long long)e->pages,
			 (now - e->created_ns) / 1e9, (unsigned long long)e->rip);
		line(arg, text);
	}
	pthread_mutex_unlock(&vm->snap->op_lock);
	if (!n)
		line(arg, "no snapshots (savevm NAME takes one; they live as long as proxy)");
}
