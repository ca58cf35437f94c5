/* The host's model of the guest's code path (code_path.h). */
#include "contract/code_path.h"

#include <nestwalk/x86_pte.h>

#include "contract/layout.h"

nw_status_t hw_case_code_path(const struct hw_blob_case *c, const struct nw_hal *hal, void *root,
			      struct nw_frame frames[HW_CODE_PATH_FRAMES], unsigned *count)
{
	uint64_t upper = NW_PTE_P | NW_PTE_RW | NW_PTE_US;
	uint64_t user = HW_GUEST32_USER_PAGE | NW_PTE_P | NW_PTE_US, super = HW_GUEST32_PAGE | NW_PTE_P;
	unsigned n = (c->flags & HW_CASE_LEGACY32) ? 1 : (c->flags & HW_CASE_PAE) ? 2 : 3;
	uint64_t *pd;

	*count = 0;
	for (unsigned i = 0; i < n; i++) {
		nw_status_t st = nw_frame_alloc_zero(&frames[i], hal);

		if (st != NW_OK) {
			while (i--)
				nw_frame_free(&frames[i]);
			return st;
		}
	}
	*count = n;
	if (c->flags & HW_CASE_LEGACY32) {
		uint32_t *pt = nw_frame_ptr(&frames[0]);

		pt[0] = (uint32_t)user;
		pt[1] = (uint32_t)super;
		((uint32_t *)root)[1] = (uint32_t)(nw_frame_paddr(&frames[0]).val | upper);
		return NW_OK;
	}
	((uint64_t *)nw_frame_ptr(&frames[0]))[0] = user;
	((uint64_t *)nw_frame_ptr(&frames[0]))[1] = super;
	pd = nw_frame_ptr(&frames[1]);
	pd[HW_GUEST32_USER_PAGE >> 21] = nw_frame_paddr(&frames[0]).val | upper;
	if (c->flags & HW_CASE_PAE) {
		((uint64_t *)root)[0] = nw_frame_paddr(&frames[1]).val | NW_PTE_P; /* a PDPTE has no R/W, U/S */
		return NW_OK;
	}
	((uint64_t *)nw_frame_ptr(&frames[2]))[0] = nw_frame_paddr(&frames[1]).val | upper;
	((uint64_t *)root)[0] = nw_frame_paddr(&frames[2]).val | upper;
	return NW_OK;
}

struct nw_access hw_case_code_fetch(const struct hw_blob_case *c)
{
	return (struct nw_access){
		.gva = nw_gva(c->cpl == 3 ? HW_GUEST32_USER_PAGE : HW_GUEST32_PAGE), .size = 2, .type = NW_ACCESS_FETCH,
	};
}
