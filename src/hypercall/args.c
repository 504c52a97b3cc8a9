/* args.c: CMDSIZE and CMDVAL, the guest's argv and environment.
 *
 * The guest asks for the sizes first, allocates buffers, then hands us arrays of
 * guest-physical pointers to fill. argv[0] is the image path; the host
 * environment is forwarded (at most 128 arguments and 127 variables). Every
 * pointer is checked; a bad one is skipped, never written through.
 */
#include <string.h>

#include "guest_abi.h"
#include "hermit_abi.h"
#include "hypercall.h"

static int count_env(char **env)
{
	int n = 0;
	while (env && env[n] && n < HERMIT_MAX_ENVC)
		n++;
	return n;
}

#define ENV_PAD_MAX 8 /* the most any ABI pads to (guest_abi.h min_envc) */

/* The environment the guest gets: the configured one, or for an ABI whose guests
 * cannot live with a short one, that padded (in the caller's array) to its
 * min_envc variables. */
static char **guest_env(const struct vm *vm, char *padded[ENV_PAD_MAX], int *n)
{
	char **env = vm->cfg->environ;
	int min = vm->abi && vm->abi->min_envc <= ENV_PAD_MAX ? vm->abi->min_envc : 0;
	*n = count_env(env);
	if (*n >= min)
		return env;
	for (int i = 0; i < min; i++)
		padded[i] = i < *n ? env[i] : (char *)vm->abi->env_padding[i - *n];
	*n = min;
	return padded;
}

void args_fill_cmdsize(const struct vm *vm, struct hermit_cmdsize *cs)
{
	const struct config *cfg = vm->cfg;
	memset(cs, 0, sizeof(*cs));
	int argc = cfg->guest_argc < HERMIT_MAX_ARGC ? cfg->guest_argc : HERMIT_MAX_ARGC;
	cs->argc = argc;
	for (int i = 0; i < argc; i++)
		cs->argsz[i] = (int32_t)strlen(cfg->guest_argv[i]) + 1;
	int envc;
	char *padded[ENV_PAD_MAX];
	char **env = guest_env(vm, padded, &envc);
	cs->envc = envc;
	for (int i = 0; i < envc; i++)
		cs->envsz[i] = (int32_t)strlen(env[i]) + 1;
	/* C HermitCore counts the terminating NULL slot in envc: report one more, empty,
	 * so its last real variable is not lost. */
	if (vm->abi && vm->abi->env_count_includes_null) {
		cs->envsz[envc] = 1;
		cs->envc = envc + 1;
	}
}

static void hc_cmdsize(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct hermit_cmdsize *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_cmdsize cs;
	args_fill_cmdsize(v->vm, &cs);
	memcpy(a, &cs, sizeof(cs));
}

/* Copy strings[i] into the guest buffer that ptrs[i] (guest-physical) names. */
static void copy_strings(struct vm *vm, uint64_t array_gpa, char **strings, int n)
{
	const uint64_t *ptrs = gpa_ptr(&vm->mem, array_gpa, (uint64_t)n * 8);
	if (!ptrs)
		return;
	for (int i = 0; i < n; i++) {
		uint64_t p;
		memcpy(&p, &ptrs[i], 8);
		size_t len = strlen(strings[i]) + 1;
		char *dst = gpa_ptr(&vm->mem, p, len);
		if (dst)
			memcpy(dst, strings[i], len);
	}
}

static void hc_cmdval(struct vcpu *v, uint16_t port, uint32_t gpa)
{
	(void)port;
	struct vm *vm = v->vm;
	struct hermit_cmdval *a = hc_struct(v, gpa, sizeof(*a));
	if (!a)
		return;
	struct hermit_cmdval cv;
	memcpy(&cv, a, sizeof(cv));
	int argc = vm->cfg->guest_argc < HERMIT_MAX_ARGC ? vm->cfg->guest_argc : HERMIT_MAX_ARGC;
	copy_strings(vm, cv.argv, vm->cfg->guest_argv, argc);
	/* For the C ABI the extra NULL slot is the guest's own: never written. */
	int envc;
	char *padded[ENV_PAD_MAX];
	char **env = guest_env(vm, padded, &envc);
	copy_strings(vm, cv.envp, env, envc);
}

void args_register(struct vm *vm)
{
	vm_register_port(vm, HERMIT_PORT_CMDSIZE, "cmdsize", hc_cmdsize);
	vm_register_port(vm, HERMIT_PORT_CMDVAL, "cmdval", hc_cmdval);
}
