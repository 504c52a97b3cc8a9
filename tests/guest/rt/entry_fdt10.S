/* entry_fdt10.S: Hermit 0.10.0: no UHYVEIF note, interface 1 (rt/entry_fdt.S). */
#define ABI_MAJOR 0
#define ABI_MINOR 10
#define ABI_PATCH 0
#include "entry_fdt.S"
