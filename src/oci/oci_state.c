/* oci_state.c: a container's record and the spec's state object.
 *
 * The record keeps what `create` learnt (pid, its start time, bundle,
 * annotations); the status is never stored but derived each time from the
 * process: a pid whose start time differs belongs to someone else now, and a
 * zombie has ended, so both are "stopped" however the engine reaps.
 */
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *oci_status_name(enum oci_status st)
{
	return st == OCI_CREATED ? "created" : st == OCI_RUNNING ? "running" : "stopped";
}

/* runc's rule: letters, digits, '_', '+', '-', '.'; never "." or "..". */
bool oci_valid_id(const char *id)
{
	size_t n = strlen(id);
	if (!n || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") ==
	       n;
}

static json_t *annotations_copy(const json_t *a)
{
	return json_is_object(a) ? json_deep_copy(a) : json_object();
}

json_t *oci_state_json(const struct oci_state *s, enum oci_status st)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = json_object_set_new(o, "ociVersion", json_string(OCI_SPEC_VERSION));
	rc |= json_object_set_new(o, "id", json_string(s->id));
	rc |= json_object_set_new(o, "status", json_string(oci_status_name(st)));
	/* The spec wants the pid while the process exists, and runc shows 0 after. */
	rc |= json_object_set_new(o, "pid", json_integer(st == OCI_STOPPED ? 0 : s->pid));
	rc |= json_object_set_new(o, "bundle", json_string(s->bundle));
	rc |= json_object_set_new(o, "annotations", annotations_copy(s->annotations));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *oci_state_record(const struct oci_state *s)
{
	/* "o" takes the reference: ours to a shared object, or a new empty one. */
	json_t *ann = s->annotations ? json_incref(s->annotations) : json_object();
	return json_pack("{s:s, s:s, s:I, s:I, s:o}", "id", s->id, "bundle", s->bundle, "pid",
			 (json_int_t)s->pid, "starttime", (json_int_t)s->starttime, "annotations",
			 ann);
}

int oci_state_from_record(const json_t *rec, struct oci_state *s, char *err, size_t errlen)
{
	const char *id, *bundle;
	json_int_t pid, start;
	json_t *ann = NULL;
	json_error_t e;
	memset(s, 0, sizeof(*s));
	if (json_unpack_ex((json_t *)rec, &e, 0, "{s:s, s:s, s:I, s:I, s?o}", "id", &id, "bundle",
			   &bundle, "pid", &pid, "starttime", &start, "annotations", &ann)) {
		snprintf(err, errlen, "state record: %s", e.text);
		return -1;
	}
	/* The id names files under --root and the pid gets signals: neither is trusted. */
	const char *bad = !oci_valid_id(id)	      ? "id"
			  : pid <= 0 || pid > INT_MAX ? "pid"
			  : start < 0		      ? "starttime"
						      : NULL;
	if (bad) {
		snprintf(err, errlen, "state record: bad %s", bad);
		return -1;
	}
	s->id = strdup(id);
	s->bundle = strdup(bundle);
	s->pid = (pid_t)pid;
	s->starttime = (unsigned long long)start;
	s->annotations = annotations_copy(ann);
	if (!s->id || !s->bundle || !s->annotations) {
		oci_state_free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void oci_state_free(struct oci_state *s)
{
	free(s->id);
	free(s->bundle);
	json_decref(s->annotations);
	memset(s, 0, sizeof(*s));
}

int oci_proc_stat(pid_t pid, unsigned long long *starttime, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces and ')': the fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", state) != 1)
		return -1;
	/* p is at the space before field 3 (the state); field 22, the start time, is
	 * 20 spaces on (field 21, itrealvalue, is always 0). */
	for (int i = 0; i < 20; i++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	char *end;
	errno = 0;
	*starttime = strtoull(p + 1, &end, 10);
	return errno || end == p + 1 ? -1 : 0;
}

enum oci_status oci_status_of(const struct oci_state *s, bool waiting)
{
	unsigned long long start;
	char st;
	if (oci_proc_stat(s->pid, &start, &st) || start != s->starttime || st == 'Z' || st == 'X')
		return OCI_STOPPED;
	return waiting ? OCI_CREATED : OCI_RUNNING;
}
