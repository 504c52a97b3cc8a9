/* panic.c: what a Hermit 0.10+ kernel does when it panics: its panic line and
 * message through the generation's serial-buffer hypercall (0x880 or 0x1030), then
 * exit 1. proxy must name the panic on stderr even without HERMIT_VERBOSE.
 */
#include "rt.h"

int main(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	static const char line[] = "[0][PANIC] panicked at src/fs/uhyve.rs:42:9:\n"
				   "called `Result::unwrap()` on an `Err` value: EIO\n";
	rt_fdt_log(line, sizeof(line) - 1);
	return 1;
}
