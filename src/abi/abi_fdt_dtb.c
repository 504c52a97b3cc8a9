/* abi_fdt_dtb.c: the flattened device tree a Hermit 0.10 - main kernel boots
 * from (hermit-fdt-abi.md section 3), built with libfdt, and its command line.
 *
 * bootargs: each variable as uhyve writes it (` env=` + quoted name `=` quoted
 * value), then ` -- ` and every app argument single-quoted, so both of the
 * kernels' tokenisers (shell-words up to 0.13, shlex on main) give back exactly
 * what the user typed; uhyve does not quote app arguments, which loses spaces.
 */
#include "abi_fdt.h"

#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "hermit_fdt_abi.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF):
 * the kernels take bootargs as a Rust &str and see none otherwise. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s++, n;
		uint32_t cp;
		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 0; i < n; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
	}
	return true;
}

/* Characters both tokenisers keep as they are outside quotes. */
static bool bare_ok(const char *s, size_t n)
{
	static const char safe[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,:@+-";
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(safe, s[i]))
			return false;
	return n > 0;
}

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->used + n >= o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	o->buf[o->used] = 0;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* '...' with each ' as '\'' (close, escaped quote, reopen): literal in both. */
static void put_quoted(struct out *o, const char *s, size_t n)
{
	put(o, "'", 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\'')
			put_str(o, "'\\''");
		else
			put(o, s + i, 1);
	put(o, "'", 1);
}

/* shell-words' quote(): bare when nothing is special. */
static void put_word(struct out *o, const char *s, size_t n)
{
	if (bare_ok(s, n))
		put(o, s, n);
	else
		put_quoted(o, s, n);
}

int abi_fdt_bootargs(char *const *env, int argc, char *const *argv, char *out, size_t outlen,
		     char *err, size_t errlen)
{
	struct out o = {out, outlen, 0, false};
	if (outlen)
		out[0] = 0;
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			return ERR("environment entry \"%s\" is not NAME=VALUE", env[i]);
		if (!utf8_valid((const unsigned char *)env[i]))
			return ERR("the variable %.*s is not UTF-8: a Hermit 0.10 - main kernel "
				   "takes its command line as UTF-8 and would get none",
				   (int)(eq - env[i]), env[i]);
		put_str(&o, o.used ? " env=" : "env=");
		put_word(&o, env[i], (size_t)(eq - env[i]));
		put_str(&o, "=");
		put_word(&o, eq + 1, strlen(eq + 1));
	}
	/* Always `--`: bootargs is never empty (an empty one panics the kernels). */
	put_str(&o, o.used ? " --" : "--");
	for (int i = 0; i < argc; i++) {
		if (!utf8_valid((const unsigned char *)argv[i]))
			return ERR("guest argument %d is not UTF-8: a Hermit 0.10 - main kernel "
				   "takes its command line as UTF-8 and would get none",
				   i + 1);
		put_str(&o, " ");
		put_quoted(&o, argv[i], strlen(argv[i]));
	}
	if (o.full)
		return ERR("the guest's arguments and environment need more than %zu bytes of "
			   "bootargs, more than its FDT (%llu bytes at most) holds",
			   outlen, (unsigned long long)HFDT_FDT_MAX);
	return 0;
}

static void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The NUL-separated list of mounts; its length, 0 for none. */
static size_t mount_list(const char *const *mounts, char *buf, size_t len)
{
	size_t used = 0;
	for (size_t i = 0; mounts && mounts[i]; i++) {
		size_t n = strlen(mounts[i]) + 1;
		if (used + n > len)
			break;
		memcpy(buf + used, mounts[i], n);
		used += n;
	}
	return used;
}

static int build(const struct fdt_inputs *in, void *buf, size_t len)
{
	char name[32], list[4096];
	uint8_t reg[16];
	int rc = fdt_create(buf, (int)len);
	rc = rc ?: fdt_add_reservemap_entry(buf, in->image_start, in->image_end - in->image_start);
	rc = rc ?: fdt_finish_reservemap(buf);
	rc = rc ?: fdt_begin_node(buf, "");
	rc = rc ?: fdt_property_string(buf, "compatible", HFDT_COMPATIBLE);
	rc = rc ?: fdt_property_u32(buf, "#address-cells", 2);
	rc = rc ?: fdt_property_u32(buf, "#size-cells", 2);
	rc = rc ?: fdt_begin_node(buf, "chosen");
	rc = rc ?: fdt_property_string(buf, "bootargs", in->bootargs);
	rc = rc ?: fdt_end_node(buf);
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)in->g);
	be64_put(reg, in->g);
	be64_put(reg + 8, in->mem_size);
	rc = rc ?: fdt_begin_node(buf, name);
	rc = rc ?: fdt_property_string(buf, "device_type", "memory");
	rc = rc ?: fdt_property(buf, "reg", reg, sizeof(reg));
	rc = rc ?: fdt_end_node(buf);
	rc = rc ?: fdt_begin_node(buf, HFDT_TSC_NODE);
	rc = rc ?: fdt_property_u32(buf, "khz", in->tsc_khz);
	rc = rc ?: fdt_end_node(buf);
	size_t n = mount_list(in->mounts, list, sizeof(list));
	if (n) {
		rc = rc ?: fdt_begin_node(buf, HFDT_MOUNTS_NODE);
		rc = rc ?: fdt_property(buf, "mounts", list, (int)n);
		rc = rc ?: fdt_end_node(buf);
	}
	rc = rc ?: fdt_end_node(buf);
	return rc ?: fdt_finish(buf);
}

int abi_fdt_build(const struct fdt_inputs *in, void *buf, size_t len, char *err, size_t errlen)
{
	int rc = build(in, buf, len);
	if (rc == -FDT_ERR_NOSPACE)
		return ERR("the guest's FDT does not fit its %zu-byte slot (the command line has "
			   "%zu bytes): pass fewer or shorter arguments and variables",
			   len, strlen(in->bootargs));
	if (rc)
		return ERR("cannot build the guest's FDT: %s", fdt_strerror(rc));
	return (int)fdt_totalsize(buf);
}

/* The guest directory of a mount: itself for a directory, its parent for a file. */
static void mount_dir(const struct mount_spec *m, char *out, size_t len)
{
	struct stat st;
	snprintf(out, len, "%s", m->guest);
	if (!stat(m->host, &st) && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(out, '/');
		if (slash)
			slash[slash == out ? 1 : 0] = 0;
	}
}

void abi_fdt_mounts(const struct config *c, const char **out, size_t max, char *store,
		    size_t storelen)
{
	size_t n = 0, used = 0;
	for (int i = 0; i < c->nmounts && n + 1 < max; i++) {
		char dir[4096];
		mount_dir(&c->mounts[i], dir, sizeof(dir));
		bool seen = !strcmp(dir, "/");
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(out[j], dir);
		size_t len = strlen(dir) + 1;
		if (seen || used + len > storelen)
			continue;
		memcpy(store + used, dir, len);
		out[n++] = store + used;
		used += len;
	}
	out[n] = NULL;
}
