#include <nestwalk/assert.h>

/* Weak default for environments without a console: stop here so a debugger
 * shows the caller. The simulator and bare-metal image print the message. */
__attribute__((weak)) _Noreturn void nw_assert_fail(const char *expr, const char *file, int line)
{
	(void)expr;
	(void)file;
	(void)line;
	__builtin_trap();
}
