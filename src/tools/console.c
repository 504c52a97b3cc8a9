/* console.c: the readline front end of the monitor, in its own thread.
 *
 * On a terminal readline runs in callback mode, so one poll() waits for both a
 * key and the end of the VM (vm->end_fd stays readable once the VM ends): the
 * thread then restores the terminal and saves the history before the process
 * exits. Readline is process-global state, hence the one static console.
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monitor.h"

#define PROMPT		"(proxy) "
#define HISTORY_LINES	1000
#define SCRIPT_LINE_MAX 4096

struct console {
	struct vm *vm;
	pthread_t thread;
	bool tty;
	bool done; /* EOF on stdin */
};

static struct console the_console;

static void console_out(void *arg, const char *text)
{
	(void)arg;
	fputs(text, stderr);
	fflush(stderr);
}

static void run_command(struct console *c, const char *line)
{
	monitor_run_console(c->vm, line, console_out, c);
}

/* ---- terminal: readline ---------------------------------------------------- */

static int completion_start;

/* Complete the word at completion_start against the words of the command names. */
static char *complete_command(const char *text, int state)
{
	static size_t i;
	size_t typed = (size_t)completion_start, tlen = strlen(text);
	if (!state)
		i = 0;
	for (const char *name; (name = monitor_command_name(i));) {
		i++;
		if (strlen(name) < typed + tlen || strncmp(name, rl_line_buffer, typed) ||
		    (typed && name[typed - 1] != ' ') || strncmp(name + typed, text, tlen))
			continue;
		return strndup(name + typed, strcspn(name + typed, " "));
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	if (!strncmp(rl_line_buffer, "dump-guest-core ", 16))
		return NULL; /* its argument is a file name: readline's default */
	completion_start = start;
	rl_attempted_completion_over = 1;
	return rl_completion_matches(text, complete_command);
}

static void on_line(char *line)
{
	struct console *c = &the_console;
	if (!line) {
		c->done = true;
		fputs("\nproxy: console closed; the guest runs on (Ctrl-C ends it)\n", stderr);
		rl_callback_handler_remove();
		return;
	}
	size_t n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = 0; /* completion leaves a space; keep the history clean */
	if (*line) {
		add_history(line);
		run_command(c, line);
	}
	free(line);
}

static void run_tty(struct console *c)
{
	const char *hist = c->vm->cfg->monitor_history;
	rl_instream = stdin;
	rl_outstream = stderr;
	rl_readline_name = "proxy";
	rl_attempted_completion_function = complete;
	using_history();
	stifle_history(HISTORY_LINES);
	if (hist)
		read_history(hist);
	rl_callback_handler_install(PROMPT, on_line);
	while (!c->done) {
		struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				      {.fd = c->vm->end_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents || atomic_load(&c->vm->ending)) {
			rl_callback_handler_remove();
			fputc('\n', stderr);
			break;
		}
		if (p[0].revents)
			rl_callback_read_char();
	}
	if (hist && (write_history(hist) == 0))
		history_truncate_file(hist, HISTORY_LINES);
}

/* ---- no terminal: one command per line ------------------------------------- */

static void run_script_line(struct console *c, char *line)
{
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[n - 1] = 0;
	fprintf(stderr, PROMPT "%s\n", line); /* the transcript shows what ran */
	run_command(c, line);
}

static void run_script(struct console *c)
{
	char buf[SCRIPT_LINE_MAX];
	size_t len = 0;
	while (!atomic_load(&c->vm->ending)) {
		struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				      {.fd = c->vm->end_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		ssize_t n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n')) && !atomic_load(&c->vm->ending)) {
			*nl = 0;
			run_script_line(c, start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1) { /* a line longer than the buffer: run what came */
			buf[len] = 0;
			run_script_line(c, buf);
			len = 0;
		}
	}
	if (len && !atomic_load(&c->vm->ending)) { /* last line without a newline */
		buf[len] = 0;
		run_script_line(c, buf);
	}
}

static void *console_thread(void *arg)
{
	struct console *c = arg;
	if (c->tty)
		run_tty(c);
	else
		run_script(c);
	return NULL;
}

void console_start(struct vm *vm)
{
	struct console *c = &the_console;
	c->vm = vm;
	c->tty = isatty(STDIN_FILENO);
	int rc = pthread_create(&c->thread, NULL, console_thread, c);
	if (rc)
		die("cannot start the console thread: %s", strerror(rc));
}

void console_join(struct vm *vm)
{
	(void)vm;
	if (the_console.vm)
		pthread_join(the_console.thread, NULL);
}
