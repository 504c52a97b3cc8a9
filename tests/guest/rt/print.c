/* print.c: a small printf (%d %i %u %x %X %o %s %c %p %%, flags '-' '0', width,
 * precision for %s, length l/ll/z) and the UART kernel log.
 *
 * rt_printf formats into a stack buffer and issues as few WRITE hypercalls as
 * possible: on PVM hosts each exit and each instruction is costly, and one
 * WRITE per line keeps lines from different CPUs from interleaving.
 */
#include "rt.h"

struct out {
	char *buf;
	size_t size, len; /* len counts every byte produced, even past size */
	int fd;		  /* >= 0: flush to this fd when buf fills (printf); -1: snprintf */
	size_t flushed;	  /* bytes already written to fd */
};

static void flush(struct out *o)
{
	size_t pending = o->len - o->flushed;
	if (o->fd >= 0 && pending)
		rt_write(o->fd, o->buf, pending);
	o->flushed = o->len;
}

static void put(struct out *o, char c)
{
	if (o->fd >= 0 && o->len - o->flushed == o->size)
		flush(o);
	if (o->len - o->flushed < o->size - (o->fd < 0))
		o->buf[o->len - o->flushed] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, int left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	if (!left && pad == '0' && n && (*s == '-') && fill) {
		put(o, *s++); /* sign before zero padding */
		n--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static size_t utoa(char *end, uint64_t v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return (size_t)(end - p);
}

static int format(struct out *o_, const char *fmt, va_list ap)
{
	struct out o = *o_;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		int left = 0, width = 0, prec = -1, lng = 0;
		char pad = ' ';
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*fmt == '-' ? (left = 1) : (pad = '0');
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.')
			for (prec = 0, fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		char num[24], *end = num + sizeof(num);
		uint64_t u;
		size_t n;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = v < 0 ? -(uint64_t)v : (uint64_t)v;
			n = utoa(end, u, 10, 0);
			if (v < 0)
				end[-(int)++n] = '-';
			put_padded(&o, end - n, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			n = utoa(end, u, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16, *fmt == 'X');
			put_padded(&o, end - n, n, width, left, pad);
			break;
		case 'p':
			u = (uint64_t)(uintptr_t)va_arg(ap, void *);
			n = utoa(end, u, 16, 0);
			end[-(int)++n] = 'x';
			end[-(int)++n] = '0';
			put_padded(&o, end - n, n, width, left, ' ');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n = strlen(s);
			if (prec >= 0 && (size_t)prec < n)
				n = (size_t)prec;
			put_padded(&o, s, n, width, left, ' ');
			break;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			put_padded(&o, num, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the NUL */
			break;
		default: /* unknown conversion: print it as is */
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	*o_ = o;
	return (int)o.len;
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0, -1, 0};
	int n = format(&o, fmt, ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return n;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int vdprintf_(int fd, const char *fmt, va_list ap)
{
	char buf[512];
	struct out o = {buf, sizeof(buf), 0, fd, 0};
	int n = format(&o, fmt, ap);
	flush(&o); /* one WRITE for a short line, a few for a long one */
	return n;
}

int rt_dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf_(fd, fmt, ap);
	va_end(ap);
	return n;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf_(1, fmt, ap);
	va_end(ap);
	return n;
}

void rt_uart_puts(const char *s)
{
	uint16_t port = rt_uartport();
	if (!port)
		return; /* HERMIT_VERBOSE off: the ABI says the guest logs nothing */
	for (; *s; s++)
		rt_outb(port, (uint8_t)*s);
}
