/* c/env.c (c-env.elf): the environment as libhermit receives it, watched closely.
 *
 * The C kernel counts the terminating NULL in envc: it allocates envc pointers,
 * hands the array to CMDVAL, and stores NULL in slot envc-1 itself. proxy must
 * report one extra, empty entry (envsz[envc-1] == 1) so no variable is lost, and
 * must never write through slot envc-1, which the guest has not initialised.
 * Here that slot points at a canary inside guest RAM, so any write through it
 * shows; the runtime already did the same with a pointer outside RAM.
 * Prints "env=<var>" per variable and "env: ok n=<count>"; exit 0 if all held.
 */
#include "rt.h"

#define CANARY_BYTE 0xCD
#define CANARY_SIZE 256
#define POOL_SIZE   (128 * 1024)

static struct hermit_cmdsize sizes;
static uint64_t env_ptrs[HERMIT_MAX_ENVC + 1];
static uint64_t argv_ptrs[HERMIT_MAX_ARGC];
static char pool[POOL_SIZE];
static uint8_t canary[CANARY_SIZE];

static int fail(const char *what, long got)
{
	rt_printf("env: FAIL %s (%ld)\n", what, got);
	return 1;
}

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv;
	rt_hypercall(HERMIT_PORT_CMDSIZE, &sizes);
	int envc = sizes.envc;
	if (envc < 1 || envc > HERMIT_MAX_ENVC + 1)
		return fail("CMDSIZE envc out of range", envc);
	if (sizes.envsz[envc - 1] != 1)
		return fail("envsz of the NULL slot is not 1", sizes.envsz[envc - 1]);
	size_t used = 0;
	for (int i = 0; i < sizes.argc; i++) { /* CMDVAL fills argv too: give it room */
		argv_ptrs[i] = (uint64_t)(uintptr_t)(pool + used);
		used += (size_t)sizes.argsz[i];
	}
	for (int i = 0; i < envc - 1; i++) {
		if (sizes.envsz[i] <= 0 || used + (size_t)sizes.envsz[i] > POOL_SIZE)
			return fail("environment does not fit", i);
		env_ptrs[i] = (uint64_t)(uintptr_t)(pool + used);
		used += (size_t)sizes.envsz[i];
	}
	memset(canary, CANARY_BYTE, sizeof(canary));
	const uint64_t slot = (uint64_t)(uintptr_t)canary;
	env_ptrs[envc - 1] = slot;
	volatile struct hermit_cmdval val = {(uint64_t)(uintptr_t)argv_ptrs,
					     (uint64_t)(uintptr_t)env_ptrs};
	rt_hypercall(HERMIT_PORT_CMDVAL, &val);
	if (env_ptrs[envc - 1] != slot)
		return fail("CMDVAL changed the NULL slot", (long)env_ptrs[envc - 1]);
	for (int i = 0; i < CANARY_SIZE; i++)
		if (canary[i] != CANARY_BYTE)
			return fail("CMDVAL wrote through the NULL slot at byte", i);
	env_ptrs[envc - 1] = 0; /* what libhermit does */
	int n = 0;
	for (; envp[n]; n++)
		if (n >= envc - 1 || strcmp(envp[n], (const char *)(uintptr_t)env_ptrs[n]))
			return fail("the runtime's environment differs at", n);
	if (n != envc - 1)
		return fail("the runtime saw a different count", n);
	for (int i = 0; i < envc - 1; i++)
		rt_printf("env=%s\n", (const char *)(uintptr_t)env_ptrs[i]);
	rt_printf("env: ok n=%d\n", envc - 1);
	return 0;
}
