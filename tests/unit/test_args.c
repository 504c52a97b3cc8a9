/* test_args.c: CMDSIZE as the guest sees it: argv and environment sizes, the
 * 128/127 caps, and the C ABI's extra NULL slot in envc. */
#include "abi.h"
#include "hermit_abi.h"
#include "hypercall.h"
#include "unit.h"

#include <stdlib.h>

static struct vm vm;
static struct config cfg;
static struct hermit_cmdsize cs;

static void setup(char **argv, int argc, char **env)
{
	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest_argv = argv;
	cfg.guest_argc = argc;
	cfg.environ = env;
	vm.cfg = &cfg;
	memset(&cs, 0x5A, sizeof(cs)); /* stale bytes args_fill_cmdsize must clear */
}

/* argsz[from..] or envsz[from..] all 0 (packed struct: no pointers to its members). */
static int all_zero_from(int env, int from)
{
	for (int i = from; i < HERMIT_MAX_ARGC; i++)
		if (env ? cs.envsz[i] : cs.argsz[i])
			return 0;
	return 1;
}

static void test_small(void)
{
	char *argv[] = {"/path/to/app", "a", "", "bc", NULL};
	char *env[] = {"A=1", "HOME=/root", NULL};
	setup(argv, 4, env);
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.argc, 4);
	CHECK_EQ(cs.argsz[0], 13); /* sizes count the NUL */
	CHECK_EQ(cs.argsz[1], 2);
	CHECK_EQ(cs.argsz[2], 1);
	CHECK_EQ(cs.argsz[3], 3);
	CHECK(all_zero_from(0, 4));
	CHECK_EQ(cs.envc, 2);
	CHECK_EQ(cs.envsz[0], 4);
	CHECK_EQ(cs.envsz[1], 11);
	CHECK(all_zero_from(1, 2));

	setup(argv, 1, NULL); /* no environment at all */
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.argc, 1);
	CHECK_EQ(cs.envc, 0);
	CHECK(all_zero_from(1, 0));
}

static void test_caps(void)
{
	static char *argv[201], *env[201];
	static char names[200][32];
	for (int i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "V%d=%d", i, i);
		argv[i] = env[i] = names[i];
	}
	setup(argv, 200, env);
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.argc, HERMIT_MAX_ARGC);
	CHECK_EQ(cs.argsz[127], (int)strlen(names[127]) + 1);
	CHECK_EQ(cs.envc, HERMIT_MAX_ENVC);
	CHECK_EQ(cs.envsz[126], (int)strlen(names[126]) + 1);
	CHECK_EQ(cs.envsz[127], 0);

	env[127] = NULL; /* exactly 127 */
	setup(argv, 128, env);
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.argc, 128);
	CHECK_EQ(cs.envc, 127);
	env[127] = names[127];
}

static const struct guest_abi c_like = {.name = "test-c", .env_count_includes_null = 1};
static const struct guest_abi rusty_like = {.name = "test-rusty"};

static void test_null_slot(void)
{
	char *argv[] = {"app", NULL};
	char *env[] = {"A=1", "BB=2", "CCC=3", NULL};
	setup(argv, 1, env);
	vm.abi = &rusty_like;
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.envc, 3);
	CHECK_EQ(cs.envsz[3], 0);

	setup(argv, 1, env);
	vm.abi = &c_like;
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.envc, 4);
	CHECK_EQ(cs.envsz[0], 4);
	CHECK_EQ(cs.envsz[2], 6);
	CHECK_EQ(cs.envsz[3], 1); /* the NULL slot: one empty string */
	CHECK(all_zero_from(1, 4));

	setup(argv, 1, NULL);
	vm.abi = &c_like;
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.envc, 1);
	CHECK_EQ(cs.envsz[0], 1);

	/* 127 variables plus the slot still fit the 128-entry envsz. */
	static char *many[201];
	for (int i = 0; i < 200; i++)
		many[i] = "X=1";
	setup(argv, 1, many);
	vm.abi = &c_like;
	args_fill_cmdsize(&vm, &cs);
	CHECK_EQ(cs.envc, 128);
	CHECK_EQ(cs.envsz[126], 4);
	CHECK_EQ(cs.envsz[127], 1);
}

int main(void)
{
	test_small();
	test_caps();
	test_null_slot();
	return unit_report();
}
