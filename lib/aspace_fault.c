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

/* The frame behind one guest page for a loader: the region's own backing (the
 * ledger's frame, or the same address for a pass-through range), never the
 * second-stage entry, whose rights, memory type or address a scenario may have
 * edited. A lazy page not touched yet has none: NW_ERR_NOT_FOUND with *lazy set
 * to its region. */
static nw_status_t loader_frame(const struct nw_aspace *as, nw_gpa_t page, const struct nw_region **lazy, nw_hpa_t *hpa)
{
	const struct nw_region *region = nw_aspace_find_region(as, page);

	*lazy = NULL;
	if (!region || region->type == NW_REGION_MMIO)
		return NW_ERR_NOT_FOUND;
	if (region->type == NW_REGION_IDENTICAL) {
		*hpa = nw_hpa_from_identical_gpa(page);
		return NW_OK;
	}
	if (nw_ledger_find_gpa(as, page, hpa))
		return NW_OK;
	if (region->lazy)
		*lazy = region;
	return NW_ERR_NOT_FOUND;
}

/* Host bytes at gpa in the frame behind its page. */
static nw_status_t loader_bytes(const struct nw_aspace *as, nw_hpa_t frame, nw_gpa_t gpa, uint8_t **bytes)
{
	*bytes = nw_hal_phys_to_virt(as->hal, frame);
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
		nw_gpa_t page = nw_gpa(gpa.val & ~NW_PAGE_MASK);
		const struct nw_region *lazy;
		nw_hpa_t frame;
		uint8_t *to;
		nw_status_t status = loader_frame(as, page, &lazy, &frame);

		/* A lazy page is populated as the hypervisor would on the guest's first write. */
		if (status == NW_ERR_NOT_FOUND && lazy)
			status = nw_aspace_populate_page(as, lazy, page, &frame);
		if (status == NW_OK)
			status = loader_bytes(as, frame, gpa, &to);
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
		const struct nw_region *lazy; /* reading never populates */
		nw_hpa_t frame;
		uint8_t *from;
		nw_status_t status = loader_frame(as, nw_gpa(gpa.val & ~NW_PAGE_MASK), &lazy, &frame);

		if (status == NW_OK)
			status = loader_bytes(as, frame, gpa, &from);
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
