/* entry_fdt13.S: Hermit 0.13.2: UHYVEIF 1 (rt/entry_fdt.S). */
#define ABI_MAJOR 0
#define ABI_MINOR 13
#define ABI_PATCH 2
#define UHYVEIF 1
#include "entry_fdt.S"
