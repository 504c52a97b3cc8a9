/* abi_m2.c: Hermit main (2026-05 to 06): says 0.13.0, UHYVEIF 2 (rt/abi_fdt.c). */
#define RT_FDT_GEN 102
#include "abi_fdt.c"
