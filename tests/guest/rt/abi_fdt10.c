/* abi_fdt10.c: Hermit 0.10.0: no UHYVEIF note, interface 1 (rt/abi_fdt.c). */
#define RT_FDT_GEN 10
#include "abi_fdt.c"
