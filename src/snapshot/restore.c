/* restore.c: a VM continued from checkpoint files or a migration stream. main.c
 * builds the VM from the first stream's configuration; this loads the streams into
 * it before any vCPU runs, so a refusal leaves nothing half-restored. */
#include "checkpoint.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mig_transport.h"
#include "snap_internal.h"

static const char *stream_name(const struct restore_source *src, int i)
{
	return src->dir ? src->names[i] : "the migration stream";
}

void restore_read_config(struct restore_source *src, struct snap_config *sc, struct config *c)
{
	char err[1024];
	if (!src->t0_ns) /* a migration's: from the stream's first byte */
		src->t0_ns = now_ns();
	snap_reader_init(&src->first, src->fds[0], stream_name(src, 0));
	if (snapshot_read_config(&src->first, sc, err, sizeof(err)))
		die("%s", err);
	if (snapshot_check_image(sc, c, err, sizeof(err)) ||
	    snapshot_apply_config(sc, c, err, sizeof(err)))
		die("%s: %s", stream_name(src, 0), err);
}

/* A later file of the chain: the same VM, the next in line. */
static void load_next(struct vm *vm, struct restore_source *src, int i, uint64_t *seq)
{
	char err[1024];
	struct snap_reader r;
	struct snap_config sc;
	snap_reader_init(&r, src->fds[i], stream_name(src, i));
	if (snapshot_read_config(&r, &sc, err, sizeof(err)))
		die("%s", err);
	if (sc.header.ncpus != vm->ncpus || sc.header.mem_size != vm->mem.size ||
	    sc.header.kind != SNAP_INCREMENTAL || sc.header.parent_seq != *seq)
		die("%s does not continue checkpoint %llu (it is of another guest or chain)",
		    stream_name(src, i), (unsigned long long)*seq);
	*seq = sc.header.seq;
	if (snapshot_load_stream(vm, &r, err, sizeof(err)))
		die("%s", err);
	snapshot_free_config(&sc);
}

/* A saved file outside this proxy's --mount policy: say what the checkpoint ran with
 * (a hint; the policy is this command line's). */
static const char *mounts_hint(const struct snap_config *sc, const struct config *c,
			       const char *err, char *hint, size_t size)
{
	if (!strstr(err, "cannot reopen the guest's file") || !sc->nmounts)
		return "";
	size_t n = (size_t)snprintf(hint, size,
				    " (give this proxy the --mount the guest "
				    "needs; the checkpoint ran with");
	for (int i = 0; i < sc->nmounts && n < size; i++)
		n += (size_t)snprintf(hint + n, size - n, " --mount %s:%s%s", sc->mounts[i].host,
				      sc->mounts[i].guest, sc->mounts[i].ro ? ":ro" : "");
	if (n < size)
		snprintf(hint + n, size - n, "%s)", c->nmounts ? "" : " and this one with none");
	return hint;
}

void restore_load(struct vm *vm, struct restore_source *src, const struct snap_config *sc)
{
	char err[1024];
	struct snap_header host;
	snapshot_host_header(vm, &host);
	if (snap_check_host(&sc->header, &host, stream_name(src, 0), err, sizeof(err)))
		die("%s", err);
	/* restore_read_config checked the image against these: no need to read it again. */
	vm->snap->image_size = sc->image_size;
	vm->snap->image_crc = sc->image_crc;
	vm->snap->image_known = true;
	if (snapshot_load_stream(vm, &src->first, err, sizeof(err)))
		die("%s", err);
	uint64_t seq = sc->header.seq;
	for (int i = 1; i < src->n; i++)
		load_next(vm, src, i, &seq);
	char hint[2048];
	if (snapshot_finish_load(vm, err, sizeof(err)))
		die("%s: %s%s", stream_name(src, src->n - 1), err,
		    mounts_hint(sc, vm->cfg, err, hint, sizeof(hint)));
	src->loaded = vm;
	src->files = src->n;
	if (!src->dir)
		return;
	/* The line names the last file (the others are closed now). */
	if (src->n > 1)
		memcpy(src->names[0], src->names[src->n - 1], sizeof(src->names[0]));
	restore_source_close(src);
}

/* Right before the vCPUs start: the time since the restore began is the guest's
 * wait for its first instruction. */
static void say_restored(struct restore_source *src)
{
	struct vm *vm = src->loaded;
	int files = src->files;
	if (!vm || !vm->cfg->verbose)
		return;
	warnx_("restored %s%s (%d file%s, %u vCPUs, %llu MiB) in %.1f ms", stream_name(src, 0),
	       src->dir ? "" : " from the source", files, files == 1 ? "" : "s", vm->ncpus,
	       (unsigned long long)(vm->mem.size >> 20), (now_ns() - src->t0_ns) / 1e6);
}

/* Wait for the source's 'G' (go) within MIG_CONFIRM_S: true when it came. */
static bool source_says_go(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char g = 0;
	int rc;
	do
		rc = poll(&p, 1, MIG_CONFIRM_S * 1000);
	while (rc < 0 && errno == EINTR);
	return rc > 0 && read(fd, &g, 1) == 1 && g == 'G';
}

void restore_confirm(struct restore_source *src)
{
	if (src->dir || src->n == 0) {
		if (src->dir)
			say_restored(src);
		return;
	}
	/* 'R': ready; the source answers 'G' and ends, or resumes its guest itself
	 * (it gave up waiting, or failed): then this copy must never run. */
	if (write(src->fds[0], "R", 1) != 1)
		die("the migration stream: cannot tell the source the guest is ready here: %s; "
		    "nothing ran here",
		    strerror(errno));
	if (!source_says_go(src->fds[0]))
		die("the migration stream: the source did not say go within %d s (it may run "
		    "the guest itself); nothing ran here",
		    MIG_CONFIRM_S);
	/* When the guest starts here, for the source's downtime (best effort: the
	 * guest is ours now whatever happens to these bytes). */
	uint8_t t[9] = {'T'};
	uint64_t now = mig_mono_ns();
	memcpy(t + 1, &now, 8);
	if (write(src->fds[0], t, sizeof(t)) != (ssize_t)sizeof(t))
		warnx_("the migration stream: cannot tell the source when the guest started");
	restore_source_close(src);
	say_restored(src);
}
