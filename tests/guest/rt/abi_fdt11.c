/* abi_fdt11.c: Hermit 0.11.0: no UHYVEIF note, interface 1 (rt/abi_fdt.c). */
#define RT_FDT_GEN 11
#include "abi_fdt.c"
