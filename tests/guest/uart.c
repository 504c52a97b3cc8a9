/* uart.c: one line to the kernel log (UART port, only when enabled) and one to stdout. */
#include "rt.h"

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	rt_uart_puts("uart: kernel log line\n");
	rt_printf("uart: stdout line\n");
	rt_printf("uart: uartport=0x%x\n", rt_uartport());
	return 0;
}
