/* snapshot.h: the VM's whole state out to a checkpoint stream and back in.
 *
 * A checkpoint (snap_format.h) holds, in this order: CONFIG (what built the VM),
 * VM (KVM clock, in-kernel irqchip), one VCPU section per vCPU, FILES (the guest's
 * open files), MEM sections, END. Saving needs a quiescent VM (snapshot_pause, or
 * every vCPU stopped by GDB); loading goes into a VM that has not run yet
 * (restore, migration) or into a stopped one (loadvm).
 *
 * Users: checkpoint.c (HERMIT_CHECKPOINT, --restore), migrate.c, the monitor's
 * savevm/loadvm (tools/), and main.c, which builds the VM a restore goes into.
 */
#ifndef PROXY_SNAPSHOT_H
#define PROXY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "snap_format.h"
#include "vm.h"

struct snapshot; /* vm->snap: pause state, dirty tracking, the chain, in-memory snapshots */

/* What a checkpoint says about the VM to build before its state can go in: filled
 * from the header and CONFIG section by snapshot_read_config, and copied into the
 * configuration by snapshot_apply_config. */
struct snap_config {
	struct snap_header header;
	char *image;	     /* the unikernel's path */
	int abi;	     /* enum abi_choice the VM ran with (never ABI_AUTO) */
	bool has_guest_base; /* where its RAM started (an ABI may place it: guest_base=) */
	uint64_t guest_base;
	uint64_t image_size;
	uint32_t image_crc;	   /* of the whole file: restore refuses a changed image */
	int image_fd;		   /* snapshot_check_image's open image (-1: none); main loads it */
	struct mount_spec *mounts; /* what it ran with: information, never policy */
	int nmounts;
	int guest_argc;
	char **guest_argv;
};

/* Set up vm->snap and its park hook (before the vCPU threads start). `incremental`:
 * checkpoints after the first save only what changed (KVM's dirty log and the pages
 * proxy wrote), which must be known before memory is registered. */
void snapshot_init(struct vm *vm, bool incremental);

/* All-stop of our own (no debugger needed): every vCPU parks before KVM_RUN; one in
 * a blocking hypercall counts as stopped. 0, or -1 with a message (the VM ended). */
int snapshot_pause(struct vm *vm, char *err, size_t errlen);
void snapshot_resume(struct vm *vm);

enum snap_save_kind { SAVE_FULL, SAVE_INCREMENTAL, SAVE_FULL_KEEP_LOG };
/* Write the quiescent VM to fd: a full checkpoint, or the pages changed since the
 * previous save of this chain (SAVE_INCREMENTAL falls back to full when there was
 * none). SAVE_FULL_KEEP_LOG: full, and the dirty log is left alone (savevm and
 * migration, outside the periodic chain). `seq`/`parent`: the chain's numbers. The
 * numbers of pages and bytes go to *pages and *bytes. 0, or -1 with a message. */
int snapshot_save(struct vm *vm, int fd, enum snap_save_kind kind, uint64_t seq, uint64_t parent,
		  uint64_t *pages, uint64_t *bytes, char *err, size_t errlen);

/* Read the header and CONFIG section of a checkpoint stream (fd positioned at its
 * start) into *sc; r stays positioned after them. 0, or -1 with a message. */
int snapshot_read_config(struct snap_reader *r, struct snap_config *sc, char *err, size_t errlen);
/* Make `c` describe the VM the checkpoint ran in (image, arguments, ABI, vCPUs,
 * memory); its file policy and environment stay c's own. A -c or -m that the
 * checkpoint contradicts: -1 with a message. */
int snapshot_apply_config(const struct snap_config *sc, struct config *c, char *err, size_t errlen);
void snapshot_free_config(struct snap_config *sc);
/* Open sc->image with the rights of the user proxy runs as (c->user; the file may be
 * a symbolic link, followed with those rights) and check it is the one the
 * checkpoint ran (regular, same size and CRC-32): 0 and sc->image_fd, the fd the
 * VM's image must be loaded from, or -1 with one message for every failure. */
int snapshot_check_image(struct snap_config *sc, const struct config *c, char *err, size_t errlen);

/* Load the rest of a stream (after snapshot_read_config) into a VM built from its
 * configuration that has not run: memory at once; the vCPUs, VM and files state
 * are kept and put in by snapshot_finish_load, so a chain can be loaded file by
 * file (base first). 0, or -1 with a message. */
int snapshot_load_stream(struct vm *vm, struct snap_reader *r, char *err, size_t errlen);
int snapshot_finish_load(struct vm *vm, char *err, size_t errlen);

/* The host's header for compatibility checks and new checkpoints. */
void snapshot_host_header(struct vm *vm, struct snap_header *h);

/* loadvm: the stopped, running VM takes the state of the checkpoint in fd (checked
 * whole before anything changes). 0, or -1 with a message. */
int snapshot_load_into_running(struct vm *vm, int fd, const char *name, char *err, size_t errlen);

#endif
