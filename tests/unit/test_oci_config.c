/* test_oci_config.c: proxy-oci's mapping of config.json to proxy's command line
 * (src/oci/oci_config.c), on a temporary bundle: a valid config, each invalid
 * field, and the fields a unikernel ignores. */
#include <elf.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"
#include "unit.h"

static char bundle[256], rootfs[512], data[512];
static char err[1024], got[8192], config[8192];
static struct oci_plan plan;

static void put_elf(const char *name, unsigned char osabi)
{
	char path[600];
	Elf64_Ehdr eh = {.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_OSABI] = osabi;
	snprintf(path, sizeof(path), "%s/%s", rootfs, name);
	FILE *f = fopen(path, "w");
	fwrite(&eh, sizeof(eh), 1, f);
	fclose(f);
}

static void make_bundle(void)
{
	char path[600];
	strcpy(bundle, "/tmp/test_oci_config.XXXXXX");
	if (!mkdtemp(bundle))
		abort();
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	snprintf(data, sizeof(data), "%s/data", bundle);
	mkdir(rootfs, 0755);
	mkdir(data, 0755);
	put_elf("app", 0xff);
	put_elf("linux", 0);
	snprintf(path, sizeof(path), "%s/short", rootfs);
	FILE *f = fopen(path, "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
	/* An absolute symlink: inside the root it leads to rootfs/app, never the host's. */
	snprintf(path, sizeof(path), "%s/link", rootfs);
	if (symlink("/app", path))
		abort();
}

static void remove_bundle(void)
{
	static const char *const names[] = {"rootfs/app",  "rootfs/linux", "rootfs/short",
					    "rootfs/link", "rootfs",	   "data",
					    NULL};
	char path[600];
	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", bundle, names[i]);
		if (remove(path))
			perror(path);
	}
	rmdir(bundle);
}

/* config.json text with the process and rest given, mapped; the command line
 * joined with spaces (after "proxy") in got, or the error. */
static int map(const char *process, const char *rest)
{
	snprintf(config, sizeof(config),
		 "{\"ociVersion\": \"1.0.2\", \"process\": %s, \"root\": {\"path\": "
		 "\"rootfs\"}%s%s}",
		 process, rest[0] ? ", " : "", rest);
	json_error_t e;
	json_t *j = json_loads(config, 0, &e);
	if (!j) {
		fprintf(stderr, "bad test JSON: %s: %s\n", config, e.text);
		abort();
	}
	int rc = oci_plan_build(bundle, j, "proxy", &plan, err, sizeof(err));
	json_decref(j);
	got[0] = 0;
	for (int i = 1; !rc && i < plan.argc; i++) {
		strcat(got, i > 1 ? " " : "");
		strcat(got, plan.argv[i]);
	}
	if (!rc) {
		CHECK_STR(plan.argv[0], "proxy");
		CHECK(plan.argv[plan.argc] == NULL);
	}
	return rc;
}

static const char *expect(const char *fmt)
{
	static char buf[8192];
	/* %1$s the root file system, %2$s the data directory */
	snprintf(buf, sizeof(buf), fmt, rootfs, data);
	return buf;
}

#define ARGS(...) "{\"args\": [" __VA_ARGS__ "]}"

static void test_valid(void)
{
	char rest[2048];
	snprintf(rest, sizeof(rest),
		 "\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": "
		 "\"proc\"},"
		 " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
		 " {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"%s\","
		 " \"options\": [\"rbind\", \"ro\"]},"
		 " {\"destination\": \"/rw\", \"source\": \"%s\", \"options\": [\"bind\"]}],"
		 " \"linux\": {\"resources\": {\"memory\": {\"limit\": 67108864},"
		 " \"cpu\": {\"quota\": 150000, \"period\": 100000}}}",
		 data, data);
	CHECK_EQ(map("{\"args\": [\"/app\", \"x\", \"-y z\"], \"env\": [\"A=b\", \"C=d e\"],"
		     " \"terminal\": true}",
		     rest),
		 0);
	CHECK_STR(got, expect("--mount %1$s:/ -m 67108864 -c 2 --mount %2$s:/data:ro "
			      "--mount %2$s:/rw --env A=b --env C=d e -- %1$s/app x -y z"));
	CHECK(plan.terminal);
	oci_plan_free(&plan);

	/* The minimal bundle: no resources, no mounts, no variables; a relative args[0]
	 * and an absolute symlink both stay in the root. */
	CHECK_EQ(map(ARGS("\"app\""), "\"root\": {\"path\": \"rootfs\", \"readonly\": true}"), 0);
	CHECK_STR(got, expect("--mount %1$s:/:ro -- %1$s/app"));
	CHECK(!plan.terminal);
	oci_plan_free(&plan);
	/* proxy's largest RAM passes (its limit is the same constant). */
	CHECK_EQ(map(ARGS("\"/app\""),
		     "\"linux\": {\"resources\": {\"memory\": {\"limit\": 8799582679040}}}"),
		 0);
	CHECK_STR(got, expect("--mount %1$s:/ -m 8799582679040 -- %1$s/app"));
	oci_plan_free(&plan);
	CHECK_EQ(map(ARGS("\"/link\""), ""), 0);
	CHECK_STR(got, expect("--mount %1$s:/ -- %1$s/app"));
	oci_plan_free(&plan);
}

static void test_ignored(void)
{
	/* Unknown fields, and those about Linux processes, change nothing. */
	CHECK_EQ(map("{\"args\": [\"/app\"], \"cwd\": \"/srv\", \"user\": {\"uid\": 1000, \"gid\": "
		     "1000}, \"capabilities\": {\"bounding\": [\"CAP_KILL\"]}, \"rlimits\": [],"
		     " \"noNewPrivileges\": true, \"someFutureField\": 1}",
		     "\"hostname\": \"h\", \"annotations\": {\"a\": \"b\"}, \"hooks\": {},"
		     " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}], \"seccomp\": {},"
		     " \"maskedPaths\": [\"/proc/kcore\"], \"resources\": {\"memory\":"
		     " {\"limit\": -1}, \"cpu\": {\"shares\": 1024}}}, \"x-unknown\": [1, 2]"),
		 0);
	CHECK_STR(got, expect("--mount %1$s:/ -- %1$s/app"));
	oci_plan_free(&plan);
}

static void test_cpus(void)
{
	CHECK_EQ(map(ARGS("\"/app\""), "\"annotations\": {\"org.hermit.cpus\": \"3\"},"
				       " \"linux\": {\"resources\": {\"cpu\": {\"quota\": 100000,"
				       " \"period\": 100000}}}"),
		 0);
	CHECK_STR(got, expect("--mount %1$s:/ -c 3 -- %1$s/app"));
	oci_plan_free(&plan);
	CHECK_EQ(
		map(ARGS("\"/app\""), "\"linux\": {\"resources\": {\"cpu\": {\"quota\": 200000}}}"),
		0);
	CHECK_STR(got, expect("--mount %1$s:/ -c 2 -- %1$s/app"));
	oci_plan_free(&plan);
	/* Rounded up without overflow, and within proxy's 512 vCPUs, or refused at create
	 * (not by proxy at start, and not as a negative count from a wrapped sum). */
	CHECK_EQ(map(ARGS("\"/app\""), "\"linux\": {\"resources\": {\"cpu\": {\"quota\": 51200000,"
				       " \"period\": 100000}}}"),
		 0);
	CHECK_STR(got, expect("--mount %1$s:/ -c 512 -- %1$s/app"));
	oci_plan_free(&plan);
	static const char *const quotas[] = {"51200001, \"period\": 100000",
					     "9223372036854775807, \"period\": 100000",
					     "9223372036854775807", NULL};
	for (int i = 0; quotas[i]; i++) {
		char rest[256];
		snprintf(rest, sizeof(rest),
			 "\"linux\": {\"resources\": {\"cpu\": {\"quota\": %s}}}", quotas[i]);
		CHECK_EQ(map(ARGS("\"/app\""), rest), -1);
		unit_result(strstr(err, "proxy runs at most 512") != NULL, __FILE__, __LINE__,
			    quotas[i]);
	}
	static const char *const bad[] = {"0", "x", "2x", "", "513", "100000", NULL};
	for (int i = 0; bad[i]; i++) {
		char rest[128];
		snprintf(rest, sizeof(rest), "\"annotations\": {\"org.hermit.cpus\": \"%s\"}",
			 bad[i]);
		CHECK_EQ(map(ARGS("\"/app\""), rest), -1);
		CHECK(strstr(err, "org.hermit.cpus") != NULL);
	}
}

/* Each invalid field fails with a message naming it. */
static void refused(const char *process, const char *rest, const char *message)
{
	int rc = map(process, rest);
	CHECK_EQ(rc, -1);
	if (rc)
		unit_result(strstr(err, message) != NULL, __FILE__, __LINE__, message);
	if (rc && !strstr(err, message))
		fprintf(stderr, "    got \"%s\"\n", err);
	if (!rc)
		oci_plan_free(&plan);
}

static void test_invalid(void)
{
	char rest[1024];
	refused("{}", "", "process.args: missing");
	refused(ARGS(""), "", "process.args: missing");
	refused(ARGS("1"), "", "process.args[0]: not a string");
	refused(ARGS("\"/app\", 2"), "", "process.args[1]: not a string");
	refused(ARGS("\"\""), "", "process.args[0]: empty");
	refused(ARGS("\"/nothing\""), "", "/nothing: no such file in the image");
	/* .. cannot climb out of the root: the host's file is not found in the image */
	refused(ARGS("\"../../../../../../etc/passwd\""), "", "no such file in the image");
	refused(ARGS("\"/linux\""), "", "/linux is not a Hermit image: ELF OSABI is 0x00");
	refused(ARGS("\"/short\""), "", "/short is not a Hermit image: not an ELF file");
	refused(ARGS("\"/\""), "", "/ is not a regular file");
	refused(ARGS("\"/app\""), "\"ociVersion\": \"2.0.0\"", "ociVersion 2.0.0");
	refused(ARGS("\"/app\""), "\"root\": {}", "root.path: missing");
	refused(ARGS("\"/app\""), "\"root\": {\"path\": \"/no/such/root\"}", "/no/such/root");
	refused("{\"args\": [\"/app\"], \"env\": [\"NOEQUALS\"]}", "", "process.env[0]");
	refused("{\"args\": [\"/app\"], \"env\": [\"=x\"]}", "", "process.env[0]");
	refused("{\"args\": [\"/app\"], \"env\": \"A=b\"}", "", "process.env: not an array");
	refused(ARGS("\"/app\""), "\"linux\": {\"resources\": {\"memory\": {\"limit\": 1048576}}}",
		"memory.limit 1048576 is too small");
	/* Above proxy's ceiling: refused at create, not by proxy at start. */
	refused(ARGS("\"/app\""),
		"\"linux\": {\"resources\": {\"memory\": {\"limit\": 9223372036854775807}}}",
		"memory.limit 9223372036854775807 is too large: proxy maps at most 8195 GiB");
	refused(ARGS("\"/app\""), "\"linux\": {\"resources\": {\"memory\": {\"limit\": \"1G\"}}}",
		"memory.limit: not an integer");
	refused(ARGS("\"/app\""), "\"hooks\": {\"prestart\": [{\"path\": \"/bin/true\"}]}",
		"hooks.prestart: hooks are not supported");
	refused(ARGS("\"/app\""), "\"mounts\": {}", "mounts: not an array");
	refused(ARGS("\"/app\""),
		"\"mounts\": [{\"destination\": \"/n\", \"type\": \"nfs\", \"source\": \"h:/x\"}]",
		"mount type nfs is not supported");
	refused(ARGS("\"/app\""),
		"\"mounts\": [{\"destination\": \"/n\", \"source\": \"/dev/sda\"}]",
		"mount type (none) is not supported");
	refused(ARGS("\"/app\""), "\"mounts\": [{\"type\": \"bind\", \"source\": \"/tmp\"}]",
		"mounts[0]: destination must be an absolute path");
	refused(ARGS("\"/app\""),
		"\"mounts\": [{\"destination\": \"/d\", \"type\": \"bind\", \"source\": "
		"\"/no/such\"}]",
		"bind mount source /no/such");
	refused(ARGS("\"/app\""),
		"\"mounts\": [{\"destination\": \"/d\", \"type\": \"bind\", \"source\": \"rel\"}]",
		"not an absolute path");
	snprintf(
		rest, sizeof(rest),
		"\"mounts\": [{\"destination\": \"/a:b\", \"type\": \"bind\", \"source\": \"%s\"}]",
		data);
	refused(ARGS("\"/app\""), rest, "paths with ':' or ','");
	/* The guest ABI's limits and proxy's on mappings, refused at create, not later. */
	static char big[40000];
	int n = snprintf(big, sizeof(big), "{\"args\": [\"/app\"], \"env\": [");
	for (int i = 0; i < 128; i++)
		n += snprintf(big + n, sizeof(big) - n, "%s\"V%d=x\"", i ? ", " : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	refused(big, "", "process.env: 128 variables; a Hermit guest takes at most 127");
	n = snprintf(big, sizeof(big), "{\"args\": [\"/app\"");
	for (int i = 0; i < 128; i++)
		n += snprintf(big + n, sizeof(big) - n, ", \"a%d\"", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	refused(big, "", "process.args: 129 arguments; a Hermit guest takes at most 128");
	n = snprintf(big, sizeof(big), "\"mounts\": [");
	for (int i = 0; i < 32; i++)
		n += snprintf(
			big + n, sizeof(big) - n,
			"%s{\"destination\": \"/m%d\", \"type\": \"bind\", \"source\": \"%s\"}",
			i ? ", " : "", i, data);
	snprintf(big + n, sizeof(big) - n, "]");
	refused(ARGS("\"/app\""), big,
		"mounts: 32 bind mounts and the root; proxy maps at most 32");
}

static void test_not_an_object(void)
{
	json_t *j = json_array();
	CHECK_EQ(oci_plan_build(bundle, j, "proxy", &plan, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a JSON object") != NULL);
	json_decref(j);
}

int main(void)
{
	make_bundle();
	test_valid();
	test_ignored();
	test_cpus();
	test_invalid();
	test_not_an_object();
	remove_bundle();
	return unit_report();
}
