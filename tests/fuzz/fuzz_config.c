/* fuzz_config.c: the configuration parser (core/config.c, config_policy.c,
 * config_check.c) on arbitrary environments and command lines.
 *
 * The input is NUL-separated strings: those before the first empty one are the
 * environment (HERMIT_*=...), the rest the arguments after argv[0] ("proxy"). What the
 * parser checks on the host (paths of --mount, the core file's directory) it only
 * reads. Host names are resolved numerically only (getaddrinfo below): a fuzzer must
 * not send DNS queries, and their answers would make runs differ.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_quiet.h"

#define MAX_STRINGS 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* config_check.c's getaddrinfo, made numeric-only: libc's does the work. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	struct addrinfo h = hints ? *hints : (struct addrinfo){0};
	h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	return real ? real(node, service, &h, res) : EAI_FAIL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet(); /* --help and --version print */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *env[MAX_STRINGS + 1], *argv[MAX_STRINGS + 2];
	int nenv = 0, argc = 1;
	bool in_env = true;
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = 0;
	argv[0] = "proxy";
	for (char *p = copy; p < copy + size && argc <= MAX_STRINGS; p += strlen(p) + 1) {
		if (in_env && !*p)
			in_env = false;
		else if (in_env && nenv < MAX_STRINGS)
			env[nenv++] = p;
		else if (!in_env)
			argv[argc++] = p;
	}
	env[nenv] = NULL;
	argv[argc] = NULL;
	struct config c;
	char err[4096];
	config_parse(&c, argc, argv, env, err, sizeof(err));
	config_release(&c);
	free(copy);
	return 0;
}
