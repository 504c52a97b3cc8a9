/* fdt.c: the FDT reader of fdt.h and the bootargs tokenisers of the Hermit kernels.
 *
 * The walker follows the structure block token by token (BEGIN_NODE 1, END_NODE 2,
 * PROP 3, NOP 4, END 9) and never reads past totalsize: a bad blob gives "absent",
 * not a fault. The tokenisers are re-implementations of shell-words 1.1 `split`
 * (Hermit 0.10 to 0.13 and main until 2026-07) and of shlex 2.0's iterator (main
 * since 3f890334), as shared/spec/hermit-fdt-abi.md section 3.3 describes them.
 */
#include "fdt.h"

#include "rt.h"

#define TOK_BEGIN_NODE 1
#define TOK_END_NODE   2
#define TOK_PROP       3
#define TOK_NOP	       4
#define TOK_END	       9

uint32_t rt_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t rt_be64(const void *p)
{
	return (uint64_t)rt_be32(p) << 32 | rt_be32((const uint8_t *)p + 4);
}

static uint32_t field(const void *fdt, unsigned i)
{
	return rt_be32((const uint8_t *)fdt + 4 * i);
}

int rt_fdt_check(const void *fdt, uint32_t max, const char **why)
{
	uint32_t total = field(fdt, 1), st = field(fdt, 2), str = field(fdt, 3);
	if (field(fdt, 0) != RT_FDT_MAGIC)
		*why = "bad magic";
	else if (total > max || total < 0x28)
		*why = "totalsize out of range";
	else if (st >= total || field(fdt, 9) > total - st)
		*why = "structure block outside the blob";
	else if (str > total || field(fdt, 8) > total - str)
		*why = "strings block outside the blob";
	else
		return 0;
	return -1;
}

/* Offset of the first byte after the NUL-terminated name at off, padded to 4; 0 if
 * the name runs past end. */
static uint32_t skip_name(const uint8_t *b, uint32_t off, uint32_t end)
{
	while (off < end && b[off])
		off++;
	return off < end ? (off + 4) & ~3u : 0;
}

static int name_matches(const char *name, const char *want)
{
	size_t n = strlen(want);
	if (n && want[n - 1] == '@')
		return !strncmp(name, want, n) || (!strncmp(name, want, n - 1) && !name[n - 1]);
	return !strcmp(name, want);
}

/* Walks the structure block; returns the property value (or, with prop NULL, the
 * matching node's name). */
static const void *walk(const void *fdt, const char *node, const char *prop, uint32_t *len)
{
	const char *why;
	if (rt_fdt_check(fdt, 0x100000, &why))
		return NULL;
	const uint8_t *b = fdt;
	uint32_t off = field(fdt, 2), end = off + field(fdt, 9), strings = field(fdt, 3);
	uint32_t strings_end = strings + field(fdt, 8);
	int depth = 0, in_node = 0;
	while (off + 4 <= end) {
		uint32_t tok = rt_be32(b + off);
		off += 4;
		if (tok == TOK_BEGIN_NODE) {
			const char *name = (const char *)b + off;
			off = skip_name(b, off, end);
			if (!off)
				return NULL;
			depth++;
			in_node = depth == 1 ? !*node
					     : depth == 2 && *node && name_matches(name, node);
			if (in_node && !prop)
				return name;
		} else if (tok == TOK_END_NODE) {
			depth--;
			in_node = depth == 1 && !*node;
		} else if (tok == TOK_PROP) {
			if (off + 8 > end)
				return NULL;
			uint32_t plen = rt_be32(b + off), nameoff = rt_be32(b + off + 4);
			off += 8;
			if (plen > end - off)
				return NULL;
			if (in_node && prop && strings + nameoff < strings_end &&
			    !strcmp((const char *)b + strings + nameoff, prop)) {
				*len = plen;
				return b + off;
			}
			off = (off + plen + 3) & ~3u;
		} else if (tok != TOK_NOP) {
			return NULL; /* TOK_END or garbage */
		}
	}
	return NULL;
}

const void *rt_fdt_prop(const void *fdt, const char *node, const char *prop, uint32_t *len)
{
	return walk(fdt, node, prop, len);
}

const char *rt_fdt_child(const void *fdt, const char *prefix)
{
	return *prefix ? walk(fdt, prefix, NULL, NULL) : NULL;
}

/* ---- bootargs tokenisers ---- */

struct words {
	char **words;
	int n, max;
	char *pool, *cur;
	size_t left;
	int open; /* a word is being built */
};

static int start_word(struct words *w)
{
	if (w->open)
		return 0;
	if (w->n == w->max || w->left < 1)
		return -1;
	w->cur = w->pool;
	w->open = 1;
	return 0;
}

static int push_char(struct words *w, char c)
{
	if (start_word(w) || w->left < 2)
		return -1;
	*w->pool++ = c;
	w->left--;
	return 0;
}

/* Ends the current word, an empty one if nothing was pushed ('' or ""). */
static int end_word(struct words *w)
{
	if (start_word(w))
		return -1;
	*w->pool++ = 0;
	w->left--;
	w->words[w->n++] = w->cur;
	w->open = 0;
	return 0;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* shell-words 1.1 split(): -1 on an unterminated quote (the kernel unwraps: panic). */
static int split_shell_words(const char *s, struct words *w)
{
	enum {
		DELIM,
		BACKSLASH,
		UNQUOTED,
		UNQUOTED_BS,
		SINGLE,
		DOUBLE,
		DOUBLE_BS,
		COMMENT
	} st = DELIM;
	for (;; s++) {
		char c = *s;
		int r = 0;
		switch (st) {
		case DELIM:
			if (!c)
				return 0;
			if (c == '\'')
				r = start_word(w), st = SINGLE;
			else if (c == '"')
				r = start_word(w), st = DOUBLE;
			else if (c == '\\')
				st = BACKSLASH;
			else if (c == '#')
				st = COMMENT;
			else if (!blank(c))
				r = push_char(w, c), st = UNQUOTED;
			break;
		case BACKSLASH:
			if (!c)
				return push_char(w, '\\') || end_word(w) ? -1 : 0;
			if (c == '\n')
				st = DELIM;
			else
				r = push_char(w, c), st = UNQUOTED;
			break;
		case UNQUOTED:
			if (!c)
				return end_word(w);
			if (c == '\'')
				st = SINGLE;
			else if (c == '"')
				st = DOUBLE;
			else if (c == '\\')
				st = UNQUOTED_BS;
			else if (blank(c))
				r = end_word(w), st = DELIM;
			else
				r = push_char(w, c);
			break;
		case UNQUOTED_BS:
			if (!c)
				return push_char(w, '\\') || end_word(w) ? -1 : 0;
			if (c != '\n')
				r = push_char(w, c);
			st = UNQUOTED;
			break;
		case SINGLE:
			if (!c)
				return -1;
			if (c == '\'')
				st = UNQUOTED;
			else
				r = push_char(w, c);
			break;
		case DOUBLE:
			if (!c)
				return -1;
			if (c == '"')
				st = UNQUOTED;
			else if (c == '\\')
				st = DOUBLE_BS;
			else
				r = push_char(w, c);
			break;
		case DOUBLE_BS:
			if (!c)
				return -1;
			if (c == '$' || c == '`' || c == '"' || c == '\\')
				r = push_char(w, c);
			else if (c != '\n')
				r = push_char(w, '\\') || push_char(w, c);
			st = DOUBLE;
			break;
		case COMMENT:
			if (!c)
				return 0;
			if (c == '\n')
				st = DELIM;
			break;
		}
		if (r)
			return -1;
	}
}

/* shlex 2.0's Shlex iterator: words until the end or the first error (unterminated
 * quote, trailing backslash), which ends the list quietly. */
static int split_shlex(const char *s, struct words *w)
{
	for (;;) {
		while (blank(*s) || *s == '#') {
			if (*s == '#')
				while (*s && *s != '\n')
					s++;
			if (*s)
				s++;
		}
		if (!*s)
			return 0;
		if (start_word(w)) /* the word exists even if it stays empty */
			return -1;
		for (; *s && !blank(*s); s++) {
			char c = *s;
			if (c == '\'') {
				for (s++; *s && *s != '\''; s++)
					if (push_char(w, *s))
						return -1;
				if (!*s)
					return 0; /* error: the list ends here */
			} else if (c == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s != '\\') {
						if (push_char(w, *s))
							return -1;
						continue;
					}
					char e = *++s;
					if (!e)
						return 0;
					if (e == '$' || e == '`' || e == '"' || e == '\\') {
						if (push_char(w, e))
							return -1;
					} else if (e != '\n' &&
						   (push_char(w, '\\') || push_char(w, e))) {
						return -1;
					}
				}
				if (!*s)
					return 0;
			} else if (c == '\\') {
				char e = *++s;
				if (!e)
					return 0;
				if (e != '\n' && push_char(w, e))
					return -1;
			} else if (push_char(w, c)) {
				return -1;
			}
		}
		if (end_word(w))
			return -1;
	}
}

int rt_fdt_split(const char *s, int shlex, char **words, int max, char *pool, size_t pool_size)
{
	struct words w = {.words = words, .max = max, .pool = pool, .left = pool_size};
	int r = shlex ? split_shlex(s, &w) : split_shell_words(s, &w);
	return r ? -1 : w.n;
}
