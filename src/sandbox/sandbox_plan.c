/* sandbox_plan.c: which host paths proxy itself still needs after set-up.
 *
 * The guest's own reach (its file mappings) is added by the caller. Proxy's:
 * the shared-library directories (the instruction decoder is loaded on first use),
 * the place a core file goes when the guest fails, and with the debugger or the
 * monitor, the current directory and the temporary directory (where
 * `dump-guest-core FILE` and GDB's requests write) and the console's history file.
 */
#include "sandbox.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

static const char *dir_of(struct sandbox_paths *s, const char *file)
{
	if (s->nstore >= SANDBOX_MAX_STORE)
		return NULL;
	char *d = s->store[s->nstore++];
	snprintf(d, sizeof(s->store[0]), "%s", file);
	return dirname(d); /* "." for a bare name; may return a static "." or "/" */
}

void sandbox_plan(const struct sandbox_needs *n, struct sandbox_paths *s)
{
	static const char *const libs[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64"};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		sandbox_allow(s, libs[i], SANDBOX_READ_EXEC);
	sandbox_allow(s, "/etc/ld.so.cache", SANDBOX_READ);
	if (n->coredump)
		sandbox_allow(s, dir_of(s, n->coredump), SANDBOX_READ_WRITE);
	if (n->debugger) {
		sandbox_allow(s, ".", SANDBOX_READ_WRITE);
		sandbox_allow(s, n->tmpdir && *n->tmpdir ? n->tmpdir : "/tmp", SANDBOX_READ_WRITE);
		sandbox_allow(s, "/proc/net", SANDBOX_READ); /* the debug port's peer check */
	}
	/* readline rewrites the history through a file beside it. */
	if (n->history)
		sandbox_allow(s, dir_of(s, n->history), SANDBOX_READ_WRITE);
}
