/* replay.c: run a harness's LLVMFuzzerTestOneInput on saved inputs, without libFuzzer.
 *
 * Usage: replay_NAME DIR_OR_FILE...  Every regular file named (directories: every file
 * in them, sorted) is read and passed once. `make check` links this with each harness
 * under GCC's ASan/UBSan, so the seed corpora and the crashes kept there are a
 * regression test that does not need clang. A sanitizer report ends the process
 * (run it with abort_on_error=1 for ASan and UBSan); the input is named first.
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* The sanitizer runtime's (weak: a build without one still links). */
void __sanitizer_set_death_callback(void (*fn)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static const char *current; /* the input being run, for the death callback */
static int report_fd = -1;  /* stderr as it was: the harness may silence stdio */
static const char *prog;    /* replay_NAME: which harness says it */

static void say(const char *what, const char *name)
{
	char line[4200];
	int n = snprintf(line, sizeof(line), "%s: %s%s\n", prog, what, name);
	if (n > 0 && write(report_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line)))
		return;
}

static void on_death(void)
{
	if (current)
		say("crashed on ", current);
	current = NULL; /* said once, whichever way the report ends */
}

/* UBSan's reports do not call the death callback: with abort_on_error=1 they end in
 * abort(), caught here. */
static void on_abort(int sig)
{
	on_death();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		say("cannot open ", path);
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		abort();
	current = path;
	LLVMFuzzerTestOneInput(buf, len);
	current = NULL;
	free(buf);
	/* A leak is this input's, as libFuzzer would say: check after each one. */
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		say("leaked memory on ", path);
		return -1;
	}
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Files of a directory, or the file itself; the count run, -1 on an error. */
static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		say("cannot find ", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) ? -1 : 1;
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, by_name), done = 0;
	bool failed = false;
	for (int i = 0; i < n; i++) {
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && !stat(child, &st) && S_ISREG(st.st_mode)) {
			if (run_file(child))
				failed = true;
			else
				done++;
		}
		free(ents[i]);
	}
	free(ents);
	return n < 0 || failed ? -1 : done;
}

int main(int argc, char **argv)
{
	report_fd = dup(2);
	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_death);
	signal(SIGABRT, on_abort);
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int total = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		int n = run_path(argv[i]);
		bad |= n <= 0; /* an empty corpus is a mistake too */
		total += n > 0 ? n : 0;
	}
	char count[32];
	snprintf(count, sizeof(count), "%d", total);
	say(bad ? "FAILED; inputs that passed: " : "ok, inputs run: ", count);
	return bad;
}
