/* Byte helpers for a freestanding library (no <string.h>). */
#ifndef NESTWALK_MEM_H
#define NESTWALK_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

NW_BEGIN_DECLS

void nw_mem_fill(void *dst, uint8_t byte, size_t len);
void nw_mem_copy(void *dst, const void *src, size_t len);
int nw_mem_equal(const void *a, const void *b, size_t len);

NW_END_DECLS

#endif
