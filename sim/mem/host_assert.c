/* The simulator's nw_assert_fail: say which caller bug, then abort. */
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/assert.h>

_Noreturn void nw_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "nestwalk: assertion failed: %s (%s:%d)\n", expr, file, line);
	abort();
}
