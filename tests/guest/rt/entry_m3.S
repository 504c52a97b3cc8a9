/* entry_m3.S: Hermit main (HEAD b0678ba): says 0.13.0, UHYVEIF 3 (rt/entry_fdt.S). */
#define ABI_MAJOR 0
#define ABI_MINOR 13
#define ABI_PATCH 0
#define UHYVEIF 3
#include "entry_fdt.S"
