/* abi_fdt13.c: Hermit 0.13.2: UHYVEIF 1 (rt/abi_fdt.c). */
#define RT_FDT_GEN 13
#include "abi_fdt.c"
