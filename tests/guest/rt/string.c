/* string.c: the few libc string routines the guests need, written by hand.
 *
 * gcc emits calls to memcpy/memset for struct copies even with -fno-builtin,
 * so these names must exist. Byte loops: guests are tiny and every
 * instruction is emulated on PVM hosts, so nothing here is performance-tuned.
 */
#include "rt.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* dst = a b c, truncated to size; returns dst. For building host paths. */
char *rt_strcat3(char *dst, size_t size, const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p && n + 1 < size; p++)
			dst[n++] = *p;
	if (size)
		dst[n] = '\0';
	return dst;
}

int rt_parse_int(const char *s, int64_t *out)
{
	int neg = 0, base = 10;
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	if (*s == '-')
		neg = 1, s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int rt_parse_ipv4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		for (; *s >= '0' && *s <= '9'; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		if (!digits || v > 255 || *s != (i < 3 ? '.' : '\0'))
			return -1;
		out[i] = (uint8_t)v;
		if (i < 3)
			s++;
	}
	return 0;
}

const char *rt_arg_value(const char *key)
{
	size_t n = strlen(key);
	for (int i = 1; i < rt_argc; i++)
		if (!strncmp(rt_argv[i], key, n) && rt_argv[i][n] == '=')
			return rt_argv[i] + n + 1;
	return NULL;
}

int rt_has_arg(const char *word)
{
	for (int i = 1; i < rt_argc; i++)
		if (!strcmp(rt_argv[i], word))
			return 1;
	return 0;
}
