/* split.c: the guest's bootargs tokenisers (rt/fdt.c) against the table of
 * shared/spec/hermit-fdt-abi.md section 3.3 and the quirks of shell-words 1.1 and
 * shlex 2.0. Independent of the hypervisor: prints "split: N cases ok" or one
 * "split FAIL" line per wrong case, and exits 0 or 1.
 */
#include "rt.h"

#define ERR ((const char *)1) /* shell-words: the split fails (kernel panic) */

struct split_case {
	const char *in;
	int shlex;
	const char *want[6]; /* NULL-terminated, or {ERR} */
};

static const struct split_case cases[] = {
	{"", 0, {NULL}},
	{"", 1, {NULL}},
	{"-- a b", 0, {"--", "a", "b", NULL}},
	{"-- a b", 1, {"--", "a", "b", NULL}},
	{"env=FOO='x y' env=E='' -- a 'b c'", 0, {"env=FOO=x y", "env=E=", "--", "a", "b c", NULL}},
	{"env=FOO='x y' env=E='' -- a 'b c'", 1, {"env=FOO=x y", "env=E=", "--", "a", "b c", NULL}},
	{"-- #x y", 0, {"--", NULL}},
	{"-- #x y", 1, {"--", NULL}},
	{"-- a#b", 0, {"--", "a#b", NULL}},
	{"-- a#b", 1, {"--", "a#b", NULL}},
	{"x\n#c d\ny", 0, {"x", "y", NULL}},
	{"x\n#c d\ny", 1, {"x", "y", NULL}},
	{"-- 'a", 0, {ERR}},
	{"-- 'a", 1, {"--", NULL}},
	{"-- \"a", 0, {ERR}},
	{"-- \"a", 1, {"--", NULL}},
	{"-- a\\", 0, {"--", "a\\", NULL}},
	{"-- a\\", 1, {"--", NULL}},
	{"\"d\\\"e\" 'it'\\''s'", 0, {"d\"e", "it's", NULL}},
	{"\"d\\\"e\" 'it'\\''s'", 1, {"d\"e", "it's", NULL}},
	{"\"a\\b\" a\\ b", 0, {"a\\b", "a b", NULL}},
	{"\"a\\b\" a\\ b", 1, {"a\\b", "a b", NULL}},
	{"'' \"\" x''", 0, {"", "", "x", NULL}},
	{"'' \"\" x''", 1, {"", "", "x", NULL}},
	{"\t a\t\tb \n", 0, {"a", "b", NULL}},
	{"\t a\t\tb \n", 1, {"a", "b", NULL}},
	{"'$x' \"\\$x\" \"$x\"", 0, {"$x", "$x", "$x", NULL}},
};

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	static char pool[1024];
	char *words[16];
	int bad = 0, n = (int)(sizeof(cases) / sizeof(cases[0]));
	for (int i = 0; i < n; i++) {
		const struct split_case *c = &cases[i];
		int got = rt_fdt_split(c->in, c->shlex, words, 16, pool, sizeof(pool));
		int ok = 1;
		if (c->want[0] == ERR) {
			ok = got < 0;
		} else {
			int want = 0;
			while (c->want[want])
				want++;
			ok = got == want;
			for (int w = 0; ok && w < want; w++)
				ok = !strcmp(words[w], c->want[w]);
		}
		if (!ok) {
			rt_printf("split FAIL case %d (%s): got %d words:", i,
				  c->shlex ? "shlex" : "shell-words", got);
			for (int w = 0; w < got; w++)
				rt_printf(" [%s]", words[w]);
			rt_printf("\n");
			bad++;
		}
	}
	if (!bad)
		rt_printf("split: %d cases ok\n", n);
	return bad ? 1 : 0;
}
