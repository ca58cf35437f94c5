/* The region of claimed host pages a second-stage fuzz target (fuzz_arm64.c, fuzz_riscv.c) writes a case's
 * tables into, and its snapshots: taken before a walk, put back between the reference's and the fast
 * walker's, compared after each, so a lookup that writes or two walks that write different bytes are found. */
#ifndef NESTWALK_FUZZ_REGION_H
#define NESTWALK_FUZZ_REGION_H

#include <stdint.h>
#include <string.h>

#include <nestwalk/hal.h>

#define FZ_REGION_HPA NW_SIZE_1G /* host pages [1 GiB, + 16 pages) are claimed: backed, never allocated */
#define FZ_REGION_PAGES 16

struct fz_region_snap {
	uint8_t page[FZ_REGION_PAGES][NW_PAGE_SIZE];
};

static inline void *fz_region_page(const struct nw_hal *hal, unsigned i)
{
	return nw_hal_phys_to_virt(hal, nw_hpa(FZ_REGION_HPA + i * NW_PAGE_SIZE));
}

static inline void fz_region_take(const struct nw_hal *hal, struct fz_region_snap *snap)
{
	for (unsigned i = 0; i < FZ_REGION_PAGES; i++)
		memcpy(snap->page[i], fz_region_page(hal, i), NW_PAGE_SIZE);
}

static inline void fz_region_restore(const struct nw_hal *hal, const struct fz_region_snap *snap)
{
	for (unsigned i = 0; i < FZ_REGION_PAGES; i++)
		memcpy(fz_region_page(hal, i), snap->page[i], NW_PAGE_SIZE);
}

/* The host address of the first page that differs from the snapshot, 0 when none does. */
static inline uint64_t fz_region_changed(const struct nw_hal *hal, const struct fz_region_snap *snap)
{
	for (unsigned i = 0; i < FZ_REGION_PAGES; i++)
		if (memcmp(snap->page[i], fz_region_page(hal, i), NW_PAGE_SIZE))
			return FZ_REGION_HPA + i * NW_PAGE_SIZE;
	return 0;
}

#endif
