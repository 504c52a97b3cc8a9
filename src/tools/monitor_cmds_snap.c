/* monitor_cmds_snap.c: savevm, loadvm, delvm, info snapshots (QEMU's names) and
 * migrate, for GDB's `monitor` and the console. The snapshot module pauses the VM
 * itself; under GDB, the debugger's register cache is written back before a save
 * and dropped after a load, and GDB's next resume reports a stop at once. */
#include <errno.h>
#include <string.h>

#include "checkpoint.h"
#include "debug.h"
#include "monitor_internal.h"
#include "snap_store.h"

static int need_snapshots(const struct mon *m)
{
	if (m->vm->snap)
		return 0;
	return mon_fail(m, -ENOTSUP, "snapshots are off in this proxy\n");
}

static int report(const struct mon *m, int rc, const char *msg)
{
	if (rc)
		return mon_fail(m, rc, "%s\n", msg);
	mon_say(m, "%s\n", msg);
	return 0;
}

int cmd_savevm(struct mon *m, int argc, char **argv)
{
	(void)argc;
	char msg[768];
	if (need_snapshots(m))
		return -ENOTSUP;
	debug_before_save(m->vm);
	return report(m, snap_store_save(m->vm, argv[0], msg, sizeof(msg)), msg);
}

int cmd_loadvm(struct mon *m, int argc, char **argv)
{
	(void)argc;
	char msg[768];
	if (need_snapshots(m))
		return -ENOTSUP;
	int rc = snap_store_load(m->vm, argv[0], msg, sizeof(msg));
	if (!rc && m->vm->dbg) {
		debug_state_replaced(m->vm);
		strncat(msg, "; GDB sees it at the next stop: stepi or continue stops at once",
			sizeof(msg) - strlen(msg) - 1);
	}
	/* A failed loadvm changed nothing: GDB gets an error (a positive errno), so a
	 * script does not go on as if the state were the snapshot's. */
	rc = report(m, rc, msg);
	return rc && !m->console ? -rc : rc;
}

int cmd_delvm(struct mon *m, int argc, char **argv)
{
	(void)argc;
	char msg[256];
	if (need_snapshots(m))
		return -ENOTSUP;
	return report(m, snap_store_delete(m->vm, argv[0], msg, sizeof(msg)), msg);
}

static void say_line(void *arg, const char *text)
{
	mon_say(arg, "%s\n", text);
}

int cmd_info_snapshots(struct mon *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	if (need_snapshots(m))
		return -ENOTSUP;
	snap_store_list(m->vm, say_line, m);
	return 0;
}

int cmd_migrate(struct mon *m, int argc, char **argv)
{
	char err[768];
	if (need_snapshots(m))
		return -ENOTSUP;
	if (m->vm->dbg)
		return mon_fail(m, -ENOTSUP, "migrate does not run under GDB: detach first\n");
	if (migrate_send(m->vm, argc ? argv[0] : NULL, err, sizeof(err)))
		return mon_fail(m, -EIO, "migrate: %s; the guest goes on here\n", err);
	return 0;
}
