/* Geometric growth of the lists read from input files (grow.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/grow.h"

void *nw_grow(void *array, size_t *cap, size_t count, size_t size)
{
	size_t room = *cap;

	if (count >= room) {
		room = room ? room : 16;
		while (room <= count && room <= SIZE_MAX / 2)
			room *= 2;
		if (room <= count || room > SIZE_MAX / size || !(array = realloc(array, room * size))) {
			fprintf(stderr, "nestwalk: out of host memory\n");
			exit(2);
		}
		*cap = room;
	}
	memset((char *)array + count * size, 0, size);
	return array;
}
