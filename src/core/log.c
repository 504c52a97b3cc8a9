/* log.c: messages to stderr, prefixed with "proxy: ". */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vlog_prefixed(const char *fmt, va_list ap)
{
	fputs("proxy: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_prefixed(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(STATUS_SETUP_ERROR);
}

void die_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog_prefixed(fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	exit(STATUS_SETUP_ERROR);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_prefixed(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
