/* oci_main.c: proxy-oci's entry point: the global options, the command, the log.
 *
 * Engines call it as they call runc: `proxy-oci [global options] COMMAND ...`;
 * the global options are parsed once into struct oci_ctx, each command parses its own.
 */
#include "oci_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: proxy-oci [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...\n"
	"  create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID\n"
	"  start ID | state ID | kill ID [SIGNAL] | delete [--force] ID | features\n"
	"  --version, --help\n"
	"The OCI runtime for Hermit unikernels: runs a bundle's process.args[0] under proxy\n"
	"(see proxy-oci(1)).\n";

static int features(void)
{
	json_t *j = json_pack("{s:s, s:s, s:[], s:[s,s,s,s], s:{s:s}}", "ociVersionMin", "1.0.0",
			      "ociVersionMax", OCI_SPEC_VERSION, "hooks", "mountOptions", "bind",
			      "rbind", "ro", "rw", "annotations", "org.hermit.proxy-oci.version",
			      PROXY_VERSION);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static bool named(const char *a, size_t len, const char *name)
{
	return strlen(name) == len && !strncmp(a, name, len);
}

static bool listed(const char *a, size_t len, const char *const *names)
{
	for (; *names; names++)
		if (named(a, len, *names))
			return true;
	return false;
}

/* Global options: ours, and those of runc that engines pass and mean nothing here.
 * Returns the index of the command, or -1 after reporting. */
static int parse_globals(struct oci_ctx *ctx, int argc, char **argv)
{
	static const char *const ignored_flags[] = {"--systemd-cgroup", "--debug", NULL};
	static const char *const with_value[] = {"--root", "--log",	 "--log-format",
						 "--criu", "--rootless", NULL};
	static const char *const commands[] = {"--version", "-v", "--help", "-h", NULL};
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && !listed(argv[i], strlen(argv[i]), commands); i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		if (!eq && listed(a, len, ignored_flags))
			continue;
		if (!listed(a, len, with_value))
			return oci_error(ctx, "unknown global option %s", a), -1;
		const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!value)
			return oci_error(ctx, "option %s needs a value", a), -1;
		if (named(a, len, "--root"))
			ctx->root = value;
		else if (named(a, len, "--log"))
			ctx->log = value;
		else if (named(a, len, "--log-format") && strcmp(value, "json") &&
			 strcmp(value, "text"))
			return oci_error(ctx, "--log-format %s: expected text or json", value), -1;
		else if (named(a, len, "--log-format"))
			ctx->log_json = !strcmp(value, "json");
	}
	return i;
}

int main(int argc, char **argv)
{
	struct oci_ctx ctx = {.root = "/run/proxy-oci"};
	int i = parse_globals(&ctx, argc, argv);
	if (i < 0)
		return 1;
	if (i == argc) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[i];
	int n = argc - i;
	char **args = argv + i;
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-v") || !strcmp(cmd, "version")) {
		printf("proxy-oci version %s\nspec: %s\n", PROXY_VERSION, OCI_SPEC_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "features"))
		return features();
	static const struct {
		const char *name;
		int (*run)(const struct oci_ctx *, int, char **);
	} cmds[] = {{"create", oci_cmd_create}, {"start", oci_cmd_start},
		    {"state", oci_cmd_state},	{"kill", oci_cmd_kill},
		    {"delete", oci_cmd_delete}, {NULL, NULL}};
	for (int c = 0; cmds[c].name; c++)
		if (!strcmp(cmd, cmds[c].name))
			return cmds[c].run(&ctx, n, args);
	oci_error(&ctx, "unknown command %s", cmd);
	fputs(usage, stderr);
	return 2;
}
