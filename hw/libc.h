/* The byte functions freestanding code may be compiled into calls to (libc.c). */
#ifndef HW_LIBC_H
#define HW_LIBC_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
