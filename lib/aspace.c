#include <nestwalk/aspace.h>
#include <nestwalk/assert.h>
#include <nestwalk/mem.h>

#include "aspace_ledger.h"
#include "aspace_populate.h"
#include "aspace_stage2.h"

#define DEFAULT_MAXPHYADDR 46

static bool is_x86_table(const struct nw_aspace *as)
{
	return as->config.format == NW_STAGE2_EPT || as->config.format == NW_STAGE2_NPT;
}

nw_status_t nw_aspace_init(struct nw_aspace *as, const struct nw_hal *hal, const struct nw_aspace_config *config)
{
	nw_status_t status;

	NW_ASSERT(as && hal && config);
	*as = (struct nw_aspace){ .hal = hal, .config = *config };
	if (!as->config.maxphyaddr)
		as->config.maxphyaddr = DEFAULT_MAXPHYADDR;
	if (as->config.maxphyaddr < 36 || as->config.maxphyaddr > 52)
		return NW_ERR_INVALID;
	if (as->config.format != NW_STAGE2_EPT && as->config.format != NW_STAGE2_NPT &&
	    as->config.format != NW_STAGE2_NONE && as->config.format != NW_STAGE2_ARM64 &&
	    as->config.format != NW_STAGE2_RISCV)
		return NW_ERR_INVALID;
	/* Levels and the table memory type shape the x86 tables; VTCR_EL2 shapes AArch64's, hgatp's mode
	 * RISC-V's, and without a second stage there is no table to shape. */
	if (is_x86_table(as) && as->config.levels != 4 && as->config.levels != 5)
		return NW_ERR_INVALID;
	if (is_x86_table(as) && as->config.memory_type != NW_ASPACE_MEMTYPE_UC &&
	    as->config.memory_type != NW_ASPACE_MEMTYPE_WB)
		return NW_ERR_INVALID;
	status = nw_aspace_s2_create(as);
	if (status != NW_OK)
		*as = (struct nw_aspace){ 0 };
	return status;
}

static void free_frame(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa)
{
	(void)gpa;
	nw_hal_dealloc_frame(as->hal, hpa);
}

void nw_aspace_destroy(struct nw_aspace *as)
{
	if (!as->hal)
		return;
	nw_aspace_s2_destroy(as);
	nw_ledger_drop_range(as, nw_gpa(0), UINT64_MAX, free_frame);
	NW_ASSERT(as->frame_count == 0 && as->ledger.val == 0);
	*as = (struct nw_aspace){ 0 };
}

/* Guest-physical addresses the second-stage table covers (its format's: 48
 * bits for 4 levels, 57 for 5, SDM Vol. 3C §29.3.2, APM Vol. 2 §15.25.5; the
 * IPA size 64 - VTCR_EL2.T0SZ on AArch64; 41, 50 or 59 bits for Sv39x4,
 * Sv48x4 and Sv57x4, the VA width plus the root's two bits). */
static uint64_t gpa_limit(const struct nw_aspace *as)
{
	switch (as->config.format) {
	case NW_STAGE2_NONE:
		return UINT64_C(1) << as->config.maxphyaddr; /* GPA = HPA */
	case NW_STAGE2_NPT:
		return nw_pt_va_limit(as->npt.pt.fmt);
	case NW_STAGE2_ARM64:
		return UINT64_C(1) << as->config.arm64.ipa_bits;
	case NW_STAGE2_RISCV:
		return nw_pt_va_limit(as->riscv.pt.fmt);
	case NW_STAGE2_EPT:
		break;
	}
	return nw_pt_va_limit(as->ept.pt.fmt);
}

static uint64_t region_end(const struct nw_region *region)
{
	return region->base.val + region->size;
}

static bool is_page_aligned(const struct nw_aspace *as, uint64_t addr)
{
	return (addr & (nw_aspace_page_size(as) - 1)) == 0;
}

static bool is_region_shape_valid(const struct nw_aspace *as, const struct nw_region *region)
{
	return region->size && is_page_aligned(as, region->base.val | region->size) &&
	       region->base.val < gpa_limit(as) && region->size <= gpa_limit(as) - region->base.val;
}

/* Write without read is an EPT misconfiguration (SDM Vol. 3C §29.3.3.1), so
 * no region may ask for it. */
static bool has_write_without_read(uint32_t flags)
{
	return (flags & NW_REGION_WRITE) && !(flags & NW_REGION_READ);
}

/* ROM is what the guest cannot write: its stage-2 leaves have no write right. */
static bool is_writable_rom(const struct nw_region *region)
{
	return region->type == NW_REGION_ROM && (region->flags & NW_REGION_WRITE);
}

/* Only frames the aspace allocates itself can wait for the first touch. */
static bool is_lazy_but_not_alloc(const struct nw_region *region)
{
	return region->lazy && region->type != NW_REGION_ALLOC;
}

/* A pass-through range is host memory at the same address, and host
 * addresses stop at 2^MAXPHYADDR. */
static bool is_identical_above_maxphyaddr(const struct nw_aspace *as, const struct nw_region *region)
{
	return region->type == NW_REGION_IDENTICAL && region_end(region) > (UINT64_C(1) << as->config.maxphyaddr);
}

/* Without a second stage a guest-physical address is the host-physical one: nothing allocates a frame for it,
 * and no access exits (MMIO, ROM writes are second-stage faults, SDM Vol. 3C §29.3.3.2, APM Vol. 2 §15.25.6). */
static bool needs_stage2(const struct nw_aspace *as, const struct nw_region *region)
{
	return as->config.format == NW_STAGE2_NONE && region->type != NW_REGION_IDENTICAL;
}

/* A RISC-V G-stage PTE without R and X points to a table (privileged spec,
 * "Virtual Address Translation Process" step 4): a leaf needs one of them,
 * so only MMIO (never mapped) may have neither. */
static bool has_no_leaf_rights(const struct nw_aspace *as, const struct nw_region *region)
{
	return as->config.format == NW_STAGE2_RISCV && region->type != NW_REGION_MMIO &&
	       !(region->flags & (NW_REGION_READ | NW_REGION_EXEC));
}

/* The first region rule the region breaks, one status per rule; NW_OK when none. */
static nw_status_t check_region(const struct nw_aspace *as, const struct nw_region *region)
{
	if (!is_region_shape_valid(as, region))
		return region->size && is_page_aligned(as, region->base.val | region->size) ? NW_ERR_RANGE
											    : NW_ERR_ALIGN;
	if (region->flags & ~NW_REGION_FLAGS_ALL)
		return NW_ERR_REGION_FLAGS;
	if (region->type != NW_REGION_ALLOC && region->type != NW_REGION_IDENTICAL &&
	    region->type != NW_REGION_MMIO && region->type != NW_REGION_ROM)
		return NW_ERR_INVALID;
	if (has_write_without_read(region->flags))
		return NW_ERR_WRITE_WITHOUT_READ;
	if (is_writable_rom(region))
		return NW_ERR_ROM_WRITABLE;
	if (is_lazy_but_not_alloc(region))
		return NW_ERR_LAZY_NOT_ALLOC;
	if (is_identical_above_maxphyaddr(as, region))
		return NW_ERR_ABOVE_MAXPHYADDR;
	if (needs_stage2(as, region))
		return NW_ERR_NEEDS_STAGE2;
	if (has_no_leaf_rights(as, region))
		return NW_ERR_NO_LEAF_RIGHTS;
	return NW_OK;
}

/* Index of the first region whose end is above gpa: the one holding gpa if any. */
static unsigned first_ending_above(const struct nw_aspace *as, uint64_t gpa)
{
	unsigned lo = 0, hi = as->region_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (region_end(&as->regions[mid]) <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct nw_region *nw_aspace_find_region(const struct nw_aspace *as, nw_gpa_t gpa)
{
	unsigned i = first_ending_above(as, gpa.val);

	if (i < as->region_count && as->regions[i].base.val <= gpa.val)
		return &as->regions[i];
	return 0;
}

/* Unmapping one of the aspace's own pages (the page holding gpa) needs no
 * table frame (raw edits cannot change the table structure), so it cannot
 * fail; a page already unmapped stays so. */
static void unmap_page(struct nw_aspace *as, nw_gpa_t gpa)
{
	uint64_t page = nw_aspace_page_size(as);
	nw_status_t status = nw_aspace_s2_unmap(as, nw_gpa(gpa.val & ~(page - 1)), page);

	NW_ASSERT(status == NW_OK);
}

/* The ledger holds each 4 KiB frame of a page: the first of them unmaps the page, each frees itself. */
static void unmap_and_free(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa)
{
	unmap_page(as, gpa);
	nw_hal_dealloc_frame(as->hal, hpa);
}

static void forget_frame(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa)
{
	(void)as;
	(void)gpa;
	(void)hpa;
}

/* A zeroed run of frames for one page, aligned to its size. */
static bool alloc_page(struct nw_aspace *as, uint64_t size, nw_hpa_t *first)
{
	uint8_t *bytes;

	if (!(size == NW_PAGE_SIZE ? nw_hal_alloc_frame(as->hal, first)
				   : nw_hal_alloc_frames(as->hal, size / NW_PAGE_SIZE, first)))
		return false;
	NW_ASSERT(first->val != 0 && (first->val & (size - 1)) == 0);
	bytes = nw_hal_phys_to_virt(as->hal, *first);
	NW_ASSERT(bytes != 0);
	nw_mem_fill(bytes, 0, size);
	return true;
}

nw_status_t nw_aspace_populate_page(struct nw_aspace *as, const struct nw_region *region, nw_gpa_t gpa,
				    nw_hpa_t *frame)
{
	uint64_t size = nw_aspace_page_size(as), added = 0;
	nw_gpa_t page = nw_gpa(gpa.val & ~(size - 1));
	nw_hpa_t first;
	nw_status_t status;

	if (!alloc_page(as, size, &first))
		return NW_ERR_NOMEM;
	status = nw_aspace_s2_map(as, page, first, size, region->flags);
	for (; status == NW_OK && added < size; added += NW_PAGE_SIZE)
		status = nw_ledger_add(as, nw_gpa(page.val + added), nw_hpa(first.val + added));
	if (status == NW_OK) {
		*frame = nw_hpa(first.val + ((gpa.val & (size - 1)) & ~NW_PAGE_MASK));
		return NW_OK;
	}
	if (added) {
		nw_ledger_drop_range(as, page, size, forget_frame);
		unmap_page(as, page);
	}
	for (uint64_t off = 0; off < size; off += NW_PAGE_SIZE)
		nw_hal_dealloc_frame(as->hal, nw_hpa(first.val + off));
	return status;
}

static nw_status_t back_region(struct nw_aspace *as, const struct nw_region *region)
{
	nw_status_t status = NW_OK;
	nw_hpa_t frame;

	switch (region->type) {
	case NW_REGION_IDENTICAL:
		return nw_aspace_s2_map(as, region->base, nw_hpa_from_identical_gpa(region->base), region->size,
					region->flags);
	case NW_REGION_MMIO:
		return NW_OK;
	case NW_REGION_ALLOC:
	case NW_REGION_ROM:
		if (region->lazy)
			return NW_OK;
		for (uint64_t off = 0; off < region->size && status == NW_OK; off += nw_aspace_page_size(as))
			status = nw_aspace_populate_page(as, region, nw_gpa(region->base.val + off), &frame);
		if (status != NW_OK)
			nw_ledger_drop_range(as, region->base, region->size, unmap_and_free);
		return status;
	}
	return NW_ERR_INVALID;
}

nw_status_t nw_aspace_add_region(struct nw_aspace *as, const struct nw_region *region)
{
	unsigned at;
	nw_status_t status;

	status = check_region(as, region);
	if (status != NW_OK)
		return status;
	at = first_ending_above(as, region->base.val);
	if (at < as->region_count && as->regions[at].base.val < region_end(region))
		return NW_ERR_EXISTS;
	if (as->region_count == NW_ASPACE_MAX_REGIONS)
		return NW_ERR_REGION_SLOTS;
	status = back_region(as, region);
	if (status != NW_OK)
		return status;
	for (unsigned i = as->region_count; i > at; i--)
		as->regions[i] = as->regions[i - 1];
	as->regions[at] = *region;
	as->region_count++;
	return NW_OK;
}

nw_status_t nw_aspace_remove_region(struct nw_aspace *as, nw_gpa_t base)
{
	const struct nw_region *found = nw_aspace_find_region(as, base);
	struct nw_region region;
	unsigned at;

	if (!found || found->base.val != base.val)
		return NW_ERR_NOT_FOUND;
	region = *found;
	at = (unsigned)(found - as->regions);
	if (region.type == NW_REGION_IDENTICAL) {
		nw_status_t status = nw_aspace_s2_unmap(as, region.base, region.size);

		/* Splitting a hand-made large page can need a table frame. */
		if (status != NW_OK)
			return status;
	}
	nw_ledger_drop_range(as, region.base, region.size, unmap_and_free);
	for (unsigned i = at; i + 1 < as->region_count; i++)
		as->regions[i] = as->regions[i + 1];
	as->region_count--;
	return NW_OK;
}

nw_status_t nw_aspace_translate(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *hpa)
{
	/* Read finds every mapped page but an execute-only one; fetch finds that. */
	static const enum nw_access_type probes[] = { NW_ACCESS_READ, NW_ACCESS_FETCH };

	if (as->config.format == NW_STAGE2_NONE)
		return nw_aspace_s2_none_translate(as, gpa, hpa);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct nw_s2_request req = { .gpa = gpa, .type = probes[i], .lookup_only = true, .host_lookup = true };
		struct nw_s2_result res;

		nw_stage2_translate(&as->s2, &req, &res);
		if (res.status == NW_S2_OK) {
			*hpa = res.hpa;
			return NW_OK;
		}
	}
	return NW_ERR_NOT_FOUND;
}

nw_status_t nw_aspace_reverse(const struct nw_aspace *as, nw_hpa_t hpa, nw_gpa_t *gpa)
{
	if (nw_ledger_find_hpa(as, hpa, gpa))
		return NW_OK;
	for (unsigned i = 0; i < as->region_count; i++) {
		const struct nw_region *region = &as->regions[i];

		if (region->type == NW_REGION_IDENTICAL && hpa.val >= region->base.val &&
		    hpa.val < region_end(region)) {
			*gpa = nw_gpa(hpa.val);
			return NW_OK;
		}
	}
	return NW_ERR_NOT_FOUND;
}
