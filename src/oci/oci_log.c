/* oci_log.c: proxy-oci's error reports.
 *
 * Errors go to stderr and, with --log, to that file too (JSON lines with
 * --log-format json, logrus-style text otherwise), where podman and containerd
 * read the message they show the user.
 */
#include "oci_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void log_line(const struct oci_ctx *ctx, const char *msg)
{
	FILE *f = fopen(ctx->log, "ae");
	if (!f)
		return;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (ctx->log_json) {
		json_t *j =
			json_pack("{s:s, s:s, s:s}", "level", "error", "msg", msg, "time", when);
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (text)
			fprintf(f, "%s\n", text);
		free(text);
		json_decref(j);
	} else {
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", when, msg);
	}
	fclose(f);
}

int oci_error(const struct oci_ctx *ctx, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "proxy-oci: %s\n", msg);
	if (ctx->log)
		log_line(ctx, msg);
	return 1;
}
