/* entry_m2.S: Hermit main (2026-05 to 06): says 0.13.0, UHYVEIF 2 (rt/entry_fdt.S). */
#define ABI_MAJOR 0
#define ABI_MINOR 13
#define ABI_PATCH 0
#define UHYVEIF 2
#include "entry_fdt.S"
