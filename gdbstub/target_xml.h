/* target_xml.h: the x86-64 target description served through qXfer:features:read.
 *
 * One table lists every register of enum gdb_x86_64_reg with its size, type, group and
 * feature; the XML and the register sizes the stub checks against the target both come
 * from it, so they cannot drift apart.
 */
#ifndef TARGET_XML_H
#define TARGET_XML_H

#include <stdbool.h>
#include <stddef.h>

/* Size in bytes of register `regno` as the description declares it; 0 if none. */
int target_xml_reg_size(int regno);
/* Name of register `regno` ("rax"), or NULL. */
const char *target_xml_reg_name(int regno);
/* Build the complete target.xml (no includes). Returns a malloc'd NUL-terminated
 * string and its length in *len, or NULL when out of memory. */
char *target_xml_build(size_t *len);
/* The same, with the AVX feature (ymm0h..ymm15h) only when `avx`. */
char *target_xml_build_for(size_t *len, bool avx);
/* Whether a target may leave register `regno` out (size 0): the AVX halves. */
bool target_xml_reg_optional(int regno);

#endif
