/* Paging levels, numbered as the SDM does: 1 is the page table (PTE), 2 the
 * page directory, 3 the PDPT, 4 the PML4, 5 the PML5. Defined once here for
 * every format (guest paging, EPT, NPT). */
#ifndef NESTWALK_LEVEL_H
#define NESTWALK_LEVEL_H

#include "cdefs.h"

NW_BEGIN_DECLS

enum nw_level {
	NW_LEVEL_PT = 1,
	NW_LEVEL_PD = 2,
	NW_LEVEL_PDPT = 3,
	NW_LEVEL_PML4 = 4,
	NW_LEVEL_PML5 = 5,
};

#define NW_MAX_LEVELS 5

/* Kinds of memory access, as the CPU distinguishes them. */
enum nw_access_type {
	NW_ACCESS_READ = 0,
	NW_ACCESS_WRITE = 1,
	NW_ACCESS_FETCH = 2,
};

NW_END_DECLS

#endif
