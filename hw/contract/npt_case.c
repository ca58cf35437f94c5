/* The image's nested map of a case (npt_case.h). */
#include "contract/npt_case.h"

#include <nestwalk/x86_pte.h>

#include "contract/layout.h"
#include "contract/npt_edit.h"

struct nw_npt_config hw_npt_case_config(unsigned maxphyaddr, bool pages_1g)
{
	return (struct nw_npt_config){ .levels = 4, .caps = { .maxphyaddr = maxphyaddr, .pages_1g = pages_1g, .nxe = true } };
}

nw_status_t hw_npt_case_map(struct nw_npt *npt, const struct hw_blob_entry *edits, unsigned count,
			    const uint64_t *table_pa)
{
	nw_status_t st = nw_npt_map_region(npt, nw_gpa(0), nw_hpa(0), HW_DIRECT_MAP_SIZE, NW_PTE_RW, 0);

	for (unsigned i = 0; st == NW_OK && i < count; i++) {
		const struct hw_blob_entry *e = &edits[i];
		uint64_t gpa = e->link ? table_pa[e->link - 1] : (e->value & NW_PTE_ADDR_MASK);

		st = hw_npt_edit_apply(npt, gpa, e);
	}
	return st;
}
