/* test_oci_state.c: proxy-oci's state (src/oci/oci_state.c): the state object
 * against the OCI runtime spec's schema for `state` (schema/state-schema.json:
 * ociVersion, id, status, bundle required; status one of creating, created,
 * running, stopped; pid an integer; annotations strings), the record on disk, the
 * status derived from the process (pid reuse, zombies), IDs and signal names. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci_cli.h"
#include "unit.h"

/* Exactly the schema's properties, each of its type; required ones present. */
static void check_schema(const json_t *j, const char *status)
{
	static const char *const keys[] = {"ociVersion", "id",	   "status",
					   "pid",	 "bundle", "annotations"};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known |= !strcmp(key, keys[i]);
		unit_result(known, __FILE__, __LINE__, key);
	}
	const char *version = json_string_value(json_object_get(j, "ociVersion"));
	CHECK(version && !strncmp(version, "1.", 2));
	CHECK(json_is_string(json_object_get(j, "id")));
	CHECK_STR(json_string_value(json_object_get(j, "status")), status);
	const char *bundle = json_string_value(json_object_get(j, "bundle"));
	CHECK(bundle && bundle[0] == '/');
	json_t *pid = json_object_get(j, "pid");
	CHECK(json_is_integer(pid));
	/* runtime.md: pid is REQUIRED when status is created or running (on Linux) */
	if (strcmp(status, "stopped"))
		CHECK(json_integer_value(pid) > 0);
	json_t *ann = json_object_get(j, "annotations");
	CHECK(json_is_object(ann));
	json_object_foreach(ann, key, v) CHECK(json_is_string(v));
}

static void test_state_json(void)
{
	struct oci_state s = {.id = "c1", .bundle = "/b", .pid = 1234, .starttime = 99};
	s.annotations = json_pack("{s:s}", "org.hermit.cpus", "2");
	static const enum oci_status all[] = {OCI_CREATED, OCI_RUNNING, OCI_STOPPED};
	static const char *const names[] = {"created", "running", "stopped"};
	for (int i = 0; i < 3; i++) {
		json_t *j = oci_state_json(&s, all[i]);
		check_schema(j, names[i]);
		CHECK_STR(json_string_value(json_object_get(j, "id")), "c1");
		CHECK_EQ(json_integer_value(json_object_get(j, "pid")), i < 2 ? 1234 : 0);
		CHECK_STR(json_string_value(json_object_get(json_object_get(j, "annotations"),
							    "org.hermit.cpus")),
			  "2");
		json_decref(j);
	}
	/* No annotations: still an object, as the schema wants. */
	json_decref(s.annotations);
	s.annotations = NULL;
	json_t *j = oci_state_json(&s, OCI_RUNNING);
	check_schema(j, "running");
	CHECK_EQ(json_object_size(json_object_get(j, "annotations")), 0);
	json_decref(j);
}

static void test_record(void)
{
	char err[256];
	struct oci_state s = {.id = "c2", .bundle = "/x/y", .pid = 42, .starttime = 123456789};
	s.annotations = json_pack("{s:s}", "k", "v");
	json_t *rec = oci_state_record(&s);
	struct oci_state back;
	CHECK_EQ(oci_state_from_record(rec, &back, err, sizeof(err)), 0);
	CHECK_STR(back.id, "c2");
	CHECK_STR(back.bundle, "/x/y");
	CHECK_EQ(back.pid, 42);
	CHECK_EQ(back.starttime, 123456789);
	CHECK_STR(json_string_value(json_object_get(back.annotations, "k")), "v");
	oci_state_free(&back);
	json_decref(rec);
	json_decref(s.annotations);
	/* No annotations (containerd gives none): an empty object, nothing leaked. */
	s.annotations = NULL;
	rec = oci_state_record(&s);
	CHECK_EQ(oci_state_from_record(rec, &back, err, sizeof(err)), 0);
	CHECK_EQ(json_object_size(back.annotations), 0);
	oci_state_free(&back);
	json_decref(rec);

	static const char *const bad[] = {
		"{}",
		"{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": 0, "
		"\"starttime\": 1}",
		"{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": \"1\", "
		"\"starttime\": 1}",
		/* 2^32 + 1 would be pid 1 once cut to a pid_t */
		"{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": 4294967297, "
		"\"starttime\": 1}",
		/* the id names the files delete removes */
		"{\"id\": \"../x\", \"bundle\": \"/b\", \"pid\": 5, "
		"\"starttime\": 1}",
		"{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": 5, "
		"\"starttime\": -1}",
		NULL};
	for (int i = 0; bad[i]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		CHECK_EQ(oci_state_from_record(j, &back, err, sizeof(err)), -1);
		CHECK(strstr(err, "state record") != NULL);
		json_decref(j);
	}
	/* A missing field is named as such (not "bad pid" from a pid never read). */
	json_t *j = json_loads("{\"bundle\": \"/b\", \"pid\": 5, \"starttime\": 1}", 0, NULL);
	CHECK_EQ(oci_state_from_record(j, &back, err, sizeof(err)), -1);
	CHECK(strstr(err, "id") && !strstr(err, "pid"));
	json_decref(j);
}

/* Field 22 of /proc/self/stat read another way: the start time, never 0 for a
 * process started after boot (field 21, itrealvalue, is always 0). */
static void test_proc_stat_starttime(void)
{
	char buf[1024], st;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	unsigned long long want = 0, got = 0;
	CHECK_EQ(sscanf(strrchr(buf, ')') + 2,
			"%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			"%*s %llu",
			&want),
		 1);
	CHECK_EQ(oci_proc_stat(getpid(), &got, &st), 0);
	CHECK(want != 0);
	CHECK_EQ(got, want);
}

static void test_status(void)
{
	struct oci_state s = {.id = "me", .bundle = "/", .pid = getpid()};
	char st;
	CHECK_EQ(oci_proc_stat(s.pid, &s.starttime, &st), 0);
	CHECK_EQ(oci_status_of(&s, true), OCI_CREATED);
	CHECK_EQ(oci_status_of(&s, false), OCI_RUNNING);
	/* The same pid with another start time: a new process that reused it. */
	s.starttime++;
	CHECK_EQ(oci_status_of(&s, false), OCI_STOPPED);
	/* A zombie has ended, reaped or not. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	struct oci_state z = {.id = "z", .bundle = "/", .pid = child};
	siginfo_t info;
	CHECK_EQ(oci_proc_stat(child, &z.starttime, &st), 0);
	waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT); /* ended, still a zombie */
	CHECK_EQ(oci_status_of(&z, false), OCI_STOPPED);
	waitpid(child, NULL, 0);
	CHECK_EQ(oci_status_of(&z, false), OCI_STOPPED);
	CHECK_EQ(oci_proc_stat(child, &z.starttime, &st), -1);
}

static void test_ids_and_signals(void)
{
	CHECK(oci_valid_id("abc-DEF_1.2+3"));
	CHECK(oci_valid_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	static const char *const bad[] = {"", ".", "..", "a/b", "../x", "a b", "a\n", NULL};
	for (int i = 0; bad[i]; i++)
		unit_result(!oci_valid_id(bad[i]), __FILE__, __LINE__, bad[i]);
	CHECK_EQ(oci_parse_signal("TERM"), SIGTERM);
	CHECK_EQ(oci_parse_signal("SIGKILL"), SIGKILL);
	CHECK_EQ(oci_parse_signal("sigint"), SIGINT);
	CHECK_EQ(oci_parse_signal("15"), 15);
	CHECK_EQ(oci_parse_signal("9"), SIGKILL);
	CHECK_EQ(oci_parse_signal("0"), -1);
	CHECK_EQ(oci_parse_signal("999"), -1);
	CHECK_EQ(oci_parse_signal("BOGUS"), -1);
	CHECK_EQ(oci_parse_signal("15x"), -1);
}

int main(void)
{
	test_state_json();
	test_record();
	test_proc_stat_starttime();
	test_status();
	test_ids_and_signals();
	return unit_report();
}
