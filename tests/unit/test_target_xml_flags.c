/* test_target_xml_flags.c: the flag types of the target description (eflags, cr0,
 * cr4, efer): each register's type is declared in the register's own feature (GDB
 * looks types up per feature), is as wide as the register, and lists its fields from
 * bit 0 up (GDB prints the set ones in that order: `[ LME LMA NXE ]`). */
#include "target_xml.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The <feature> ... </feature> text around `at`, copied (malloc'd). */
static char *feature_around(const char *xml, const char *at)
{
	const char *start = at, *end = strstr(at, "</feature>");

	while (start > xml && strncmp(start, "<feature ", 9))
		start--;
	if (!end)
		return NULL;
	return strndup(start, (size_t)(end - start));
}

/* The fields of <flags id="type" ...> in feat: ascending, within size bytes. */
static void check_flags(const char *feat, const char *type, int size, const char *first,
			const char *last)
{
	char head[96];
	const char *f, *end;
	int prev = -1, ok_order = 1, ok_range = 1;

	snprintf(head, sizeof(head), "<flags id=\"%s\" size=\"%d\">", type, size);
	f = strstr(feat, head);
	CHECK(f != NULL);
	if (!f)
		return;
	end = strstr(f, "</flags>");
	CHECK(end != NULL);
	for (const char *p = f; (p = strstr(p, "<field ")) && p < end; p++) {
		int start = -1, stop = -1;
		const char *s = strstr(p, "start=\"");

		if (s)
			sscanf(s, "start=\"%d\" end=\"%d\"", &start, &stop);
		ok_order &= start > prev && stop >= start;
		ok_range &= start >= 0 && stop < size * 8;
		prev = start;
	}
	CHECK(ok_order);
	CHECK(ok_range);
	snprintf(head, sizeof(head), "<field name=\"%s\" ", first);
	CHECK(strstr(f, head) && strstr(f, head) < end);
	snprintf(head, sizeof(head), "<field name=\"%s\" ", last);
	CHECK(strstr(f, head) && strstr(f, head) < end);
}

static void check_reg(const char *xml, const char *name, int bits, const char *type,
		      const char *first, const char *last)
{
	char want[128];
	const char *r;
	char *feat;

	snprintf(want, sizeof(want), "<reg name=\"%s\" bitsize=\"%d\" ", name, bits);
	r = strstr(xml, want);
	CHECK(r != NULL);
	if (!r)
		return;
	snprintf(want, sizeof(want), "type=\"%s\"", type);
	CHECK(strstr(r, want) && strstr(r, want) < strchr(r, '\n'));
	feat = feature_around(xml, r);
	CHECK(feat != NULL);
	if (feat)
		check_flags(feat, type, bits / 8, first, last);
	free(feat);
}

int main(void)
{
	size_t len;
	char *xml = target_xml_build(&len);

	CHECK(xml != NULL);
	if (!xml)
		return unit_report();
	check_reg(xml, "eflags", 32, "i386_eflags", "CF", "ID");
	check_reg(xml, "cr0", 64, "i386_cr0", "PE", "PG");
	check_reg(xml, "cr4", 64, "i386_cr4", "PAE", "PKE");
	check_reg(xml, "efer", 64, "i386_efer", "LME", "NXE");
	free(xml);
	return unit_report();
}
