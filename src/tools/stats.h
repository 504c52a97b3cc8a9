/* stats.h: run statistics printed at exit (--stats, HERMIT_STATS=1). */
#ifndef PROXY_STATS_H
#define PROXY_STATS_H

#include <stdio.h>

#include "vm.h"

/* Times, VM exits by reason, hypercalls by port, per-vCPU run time; call after
 * the vCPU threads have been joined. */
void stats_print(const struct vm *vm, FILE *out);

/* "IO", "HLT", ... for a KVM exit reason. */
const char *kvm_exit_name(unsigned reason);

#endif
