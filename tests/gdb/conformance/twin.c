/* twin.c: the program the GDB conformance suite debugs, compiled two ways from
 * this one source (twin.mk): as a proxy test guest (shim_guest.h: the write is a
 * hypercall `out`) and as a native Linux program for gdbserver (shim_native.h: the
 * write is a `syscall`). Both builds use -O0 -g and general registers only, so the
 * two sides have the same lines, frames and instruction offsets.
 *
 * Lines the cases refer to carry a marker comment `L:name`; the runner turns
 * `@name` in an expectation into that line's number.
 * Arguments: `spin` waits in spin_until_flag() until the debugger sets release_flag.
 */
#ifdef TWIN_NATIVE
#include "shim_native.h"
#else
#include "shim_guest.h"
#endif

struct point {
	int x, y;
};

/* A 2-byte field at an odd offset that straddles an 8-byte boundary (item 4). */
struct odd_rec {
	char pad[7];
	short field;
} __attribute__((packed, aligned(8)));

/* 16 bytes: more than one debug register covers (item 4). */
struct wide {
	long lo, hi;
} __attribute__((aligned(16)));

volatile int counter;
volatile int stamp;
volatile int release_flag;
struct point origin = {3, 4};
struct odd_rec odd;
struct wide big;

int leaf(int x);
int compute(int x);
void spin_until_flag(void);
void store_fields(void);
int main(int argc, char **argv, char **envp);

int leaf(int x)
{				/* L:leaf_open */
	int doubled = x * 2;	/* L:leaf_first */
	return doubled / 2 + 1; /* L:leaf_return */
}

int compute(int x)
{
	int y = leaf(x); /* L:compute_call */
	return y;	 /* L:compute_return */
}

void spin_until_flag(void)
{
	while (release_flag == 0) /* L:spin_loop */
		__asm__ volatile("pause" : : : "memory");
}

void store_fields(void)
{
	stamp = 5;	    /* L:store_stamp */
	odd.field = 0x1234; /* L:store_odd */
	big.hi = 7;	    /* L:store_big */
	counter += stamp;   /* L:read_stamp */
}

static long text_length(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	return n;
}

/* "twin: <label>=<value>\n" through the one write function. */
static void say(const char *label, long value)
{
	char buf[64];
	char digits[24];
	long n = 0, d = 0;
	unsigned long v = value < 0 ? -(unsigned long)value : (unsigned long)value;
	for (const char *p = "twin: "; *p; p++)
		buf[n++] = *p;
	for (long i = 0; i < text_length(label) && n < 32; i++)
		buf[n++] = label[i];
	buf[n++] = '=';
	if (value < 0)
		buf[n++] = '-';
	do {
		digits[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (d)
		buf[n++] = digits[--d];
	buf[n++] = '\n';
	hyper_write(1, buf, n);
}

static int has_arg(int argc, char **argv, const char *word)
{
	for (int i = 1; i < argc; i++) {
		int j = 0;
		while (argv[i][j] && argv[i][j] == word[j])
			j++;
		if (argv[i][j] == 0 && word[j] == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	if (has_arg(argc, argv, "spin"))
		spin_until_flag();
	for (int i = 0; i < 3; i++)	    /* L:loop_head */
		counter = compute(counter); /* L:loop_body */
	store_fields();			    /* L:after_loop */
	say("counter", counter);
	say("origin.x", origin.x);
	say("odd.field", odd.field);
	say("big.hi", big.hi);
	return 0;
}
