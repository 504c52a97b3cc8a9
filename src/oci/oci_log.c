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

/* msg made safe for one log line. text (logrus's format, msg="..."): '"' and '\\'
 * escaped, control characters as \xNN, so a message cannot end the field or the
 * line; JSON (whose strings must be UTF-8, which an ID or path given to us may not
 * be): bytes above 0x7e as \xNN. */
static void escape(const char *msg, bool text, char *out, size_t len)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < len; p++) {
		if (text && (*p == '"' || *p == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (text ? *p < 0x20 || *p == 0x7f : *p > 0x7e) {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

static void log_line(const struct oci_ctx *ctx, const char *msg)
{
	char safe[4 * 2048 + 1];
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
		if (!j) {
			escape(msg, false, safe, sizeof(safe));
			j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", safe, "time",
				      when);
		}
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (text)
			fprintf(f, "%s\n", text);
		free(text);
		json_decref(j);
	} else {
		escape(msg, true, safe, sizeof(safe));
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", when, safe);
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
