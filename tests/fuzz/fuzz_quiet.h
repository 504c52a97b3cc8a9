/* fuzz_quiet.h: silence what the code under test prints, keep the sanitizers' reports.
 *
 * proxy's messages go through stdio (log.c); the sanitizers and libFuzzer write to
 * file descriptor 2 directly (libFuzzer took its FILE * at start-up), so pointing the
 * stdio streams at /dev/null hides the former without losing a crash report. File
 * descriptors 0 and 1 become /dev/null too (nothing reports there).
 */
#ifndef FUZZ_QUIET_H
#define FUZZ_QUIET_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void fuzz_quiet(void)
{
	FILE *null = fopen("/dev/null", "w");
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!null || in < 0)
		abort();
	stdout = null;
	stderr = null;
	dup2(in, 0);	       /* nothing under test may wait for a terminal */
	dup2(fileno(null), 1); /* nor write there (a guest's stdout) */
	close(in);
}

#endif
