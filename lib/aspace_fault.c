#include <nestwalk/aspace.h>
#include <nestwalk/assert.h>
#include <nestwalk/mem.h>

#include "aspace_ledger.h"
#include "aspace_populate.h"

/* The region's own rights, before any table is consulted. */
static bool is_allowed_by_region(const struct nw_region *region, enum nw_access_type type)
{
	switch (type) {
	case NW_ACCESS_READ:
		return region->flags & NW_REGION_READ;
	case NW_ACCESS_WRITE:
		return region->flags & NW_REGION_WRITE;
	case NW_ACCESS_FETCH:
		return region->flags & NW_REGION_EXEC;
	}
	return false;
}

nw_status_t nw_aspace_resolve_fault(struct nw_aspace *as, nw_gpa_t gpa, enum nw_access_type type, uint64_t size,
				    struct nw_aspace_exit *exit)
{
	const struct nw_region *region = nw_aspace_find_region(as, gpa);
	nw_hpa_t hpa;
	nw_status_t status;

	*exit = (struct nw_aspace_exit){ .kind = NW_ASPACE_FAULT_VIOLATION, .gpa = gpa, .size = size,
					 .is_write = type == NW_ACCESS_WRITE };
	if (!region)
		return NW_OK;
	if (region->type == NW_REGION_ROM && type == NW_ACCESS_WRITE) {
		exit->kind = NW_ASPACE_FAULT_ROM_WRITE;
		return NW_OK;
	}
	if (!is_allowed_by_region(region, type))
		return NW_OK;
	switch (region->type) {
	case NW_REGION_MMIO:
		/* Devices are read and written; an instruction fetch from one is
		 * not something to emulate, so it stays a violation. */
		if (type != NW_ACCESS_FETCH)
			exit->kind = NW_ASPACE_FAULT_MMIO;
		return NW_OK;
	case NW_REGION_ALLOC:
		if (!region->lazy || nw_aspace_translate(as, gpa, &hpa) == NW_OK)
			return NW_OK; /* the table denies what the region allows: a real violation */
		status = nw_aspace_populate_page(as, region, nw_gpa(gpa.val & ~NW_PAGE_MASK), &hpa);
		if (status == NW_OK)
			exit->kind = NW_ASPACE_FAULT_RETRY;
		else if (status == NW_ERR_NOMEM)
			exit->kind = NW_ASPACE_FAULT_NO_MEMORY; /* the guest did nothing wrong */
		return status;
	case NW_REGION_IDENTICAL:
	case NW_REGION_ROM:
		return NW_OK;
	}
	return NW_OK;
}

/* Host bytes behind one guest page for a loader: the region's own backing
 * (the ledger's frame, or the same address for a pass-through range), never
 * the second-stage entry, whose rights, memory type or address a scenario may
 * have edited. A lazy page not touched yet has no backing: populate makes it,
 * as the hypervisor would on the guest's first write. */
static nw_status_t loader_page(struct nw_aspace *as, nw_gpa_t gpa, bool populate, uint8_t **bytes)
{
	const struct nw_region *region = nw_aspace_find_region(as, gpa);
	nw_gpa_t page = nw_gpa(gpa.val & ~NW_PAGE_MASK);
	nw_hpa_t hpa;

	if (!region || region->type == NW_REGION_MMIO)
		return NW_ERR_NOT_FOUND;
	if (region->type == NW_REGION_IDENTICAL) {
		hpa = nw_hpa_from_identical_gpa(page);
	} else if (!nw_ledger_find_gpa(as, page, &hpa)) {
		nw_status_t status;

		if (!populate || !region->lazy)
			return NW_ERR_NOT_FOUND;
		status = nw_aspace_populate_page(as, region, page, &hpa);
		if (status != NW_OK)
			return status;
	}
	*bytes = nw_hal_phys_to_virt(as->hal, hpa);
	if (!*bytes)
		return NW_ERR_NOT_FOUND;
	*bytes += gpa.val & NW_PAGE_MASK;
	return NW_OK;
}

nw_status_t nw_aspace_write(struct nw_aspace *as, nw_gpa_t gpa, const void *src, uint64_t len)
{
	const uint8_t *from = src;

	while (len) {
		uint64_t chunk = NW_PAGE_SIZE - (gpa.val & NW_PAGE_MASK);
		uint8_t *to;
		nw_status_t status = loader_page(as, gpa, true, &to);

		if (status != NW_OK)
			return status;
		if (chunk > len)
			chunk = len;
		nw_mem_copy(to, from, (size_t)chunk);
		from += chunk;
		len -= chunk;
		gpa = nw_gpa(gpa.val + chunk);
	}
	return NW_OK;
}

nw_status_t nw_aspace_read(const struct nw_aspace *as, nw_gpa_t gpa, void *dst, uint64_t len)
{
	uint8_t *to = dst;

	while (len) {
		uint64_t chunk = NW_PAGE_SIZE - (gpa.val & NW_PAGE_MASK);
		uint8_t *from;
		/* Reading never populates, so the aspace is not changed. */
		nw_status_t status = loader_page((struct nw_aspace *)as, gpa, false, &from);

		if (status != NW_OK)
			return status;
		if (chunk > len)
			chunk = len;
		nw_mem_copy(to, from, (size_t)chunk);
		to += chunk;
		len -= chunk;
		gpa = nw_gpa(gpa.val + chunk);
	}
	return NW_OK;
}
