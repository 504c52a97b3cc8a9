/* entry_fdt11.S: Hermit 0.11.0: no UHYVEIF note, interface 1 (rt/entry_fdt.S). */
#define ABI_MAJOR 0
#define ABI_MINOR 11
#define ABI_PATCH 0
#include "entry_fdt.S"
