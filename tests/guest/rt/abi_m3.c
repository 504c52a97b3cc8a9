/* abi_m3.c: Hermit main (HEAD b0678ba): says 0.13.0, UHYVEIF 3 (rt/abi_fdt.c). */
#define RT_FDT_GEN 103
#include "abi_fdt.c"
