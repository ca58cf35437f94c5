/* Lists read from a file (a scenario's regions, edits, writes and mappings, a
 * dump's PT_LOADs, freed table pages): room grows geometrically, so n appends
 * copy fewer than 2n items in all. Growing by one item per realloc copies
 * n^2/2 of them, and with a sanitizer's realloc (always a fresh block) 20,000
 * EPT edits took 13 s to load. */
#ifndef NESTWALK_SIM_GROW_H
#define NESTWALK_SIM_GROW_H

#include <stddef.h>

/* The array (count items of size bytes in room for *cap) with room for item
 * count, which is zeroed; *cap updated. Out of host memory ends the program
 * with exit status 2 and a message, as every allocation while reading input. */
void *nw_grow(void *array, size_t *cap, size_t count, size_t size);

#endif
