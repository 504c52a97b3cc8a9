/* fuzz_snap_vcpu.c: a checkpoint's VCPU payload (snapshot/snap_vcpu.c: tagged
 * records of registers, MSRs, LAPIC, events) through snap_vcpu_check,
 * snap_vcpu_saved_state and snap_vcpu_load into a vCPU at the start gate and one
 * that ran, with a fake KVM behind them (fuzz_snap_kvm.h). Input: the payload
 * (seeds: VCPU sections of real checkpoints, and edge cases).
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
	static struct config cfg = {.verbose = true}; /* the skipped-MSR message too */
	fuzz_quiet();
	fuzz_snap_vm_init(&vm, &cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	uint32_t state;
	snap_vcpu_saved_state(data, size, &state);
	if (snap_vcpu_check(data, size, 0, err, sizeof(err)))
		return 0;
	atomic_store(&vm.vcpus[0].state, VCPU_GATED);
	atomic_store(&vm.vcpus[1].state, VCPU_RUNNING);
	snap_vcpu_load(&vm.vcpus[0], data, size, err, sizeof(err));
	snap_vcpu_load(&vm.vcpus[1], data, size, err, sizeof(err));
	return 0;
}
