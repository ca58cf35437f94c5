/* Assertions are for caller bugs only (never for guest-controlled data). The
 * library carries a weak nw_assert_fail that traps; an environment with a
 * console (the simulator, the bare-metal image) overrides it to say why. */
#ifndef NESTWALK_ASSERT_H
#define NESTWALK_ASSERT_H

#include "cdefs.h"

NW_BEGIN_DECLS

NW_NORETURN void nw_assert_fail(const char *expr, const char *file, int line);

#define NW_ASSERT(cond) ((cond) ? (void)0 : nw_assert_fail(#cond, __FILE__, __LINE__))

NW_END_DECLS

#endif
