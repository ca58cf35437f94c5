/* What every public header needs to read the same from C11 and C++: C
 * linkage for the library's symbols, and the two C11 keywords C++ spells
 * otherwise (static assertions, functions that do not return). */
#ifndef NESTWALK_CDEFS_H
#define NESTWALK_CDEFS_H

#ifdef __cplusplus
#define NW_BEGIN_DECLS extern "C" {
#define NW_END_DECLS }
#define NW_STATIC_ASSERT(cond, why) static_assert(cond, why)
#define NW_NORETURN [[noreturn]]
#else
#define NW_BEGIN_DECLS
#define NW_END_DECLS
#define NW_STATIC_ASSERT(cond, why) _Static_assert(cond, why)
#define NW_NORETURN _Noreturn
#endif

#endif
