/* fuzz_snap_vm.c: a checkpoint's VM payload (snapshot/snap_vm.c: KVM clock, TSC
 * rate, irqchip records) through snap_vm_load, with a fake KVM behind it
 * (fuzz_snap_kvm.h), into a VM with the in-kernel irqchip and one with the split
 * one. Input: the payload (seeds: VM sections of real checkpoints, edge cases).
 */
#include <stdint.h>

#include "fuzz_quiet.h"
#include "fuzz_snap_kvm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static struct config cfg;
	fuzz_quiet();
	fuzz_snap_vm_init(&vm, &cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	vm.split_irqchip = false;
	snap_vm_load(&vm, data, size, err, sizeof(err));
	vm.split_irqchip = true;
	snap_vm_load(&vm, data, size, err, sizeof(err));
	return 0;
}
