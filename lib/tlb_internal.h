/* Shared between the TLB model's lookup/insert half and its invalidation half. */
#ifndef NESTWALK_TLB_INTERNAL_H
#define NESTWALK_TLB_INTERNAL_H

#include <nestwalk/tlb.h>

/* The SDM level each paging-structure cache holds, by array. */
static inline bool nw_tlb_is_psc(enum nw_tlb_cache_id id)
{
	return id >= NW_PSC_PDE;
}

static inline struct nw_tlb_entry *nw_tlb_set(const struct nw_tlb_cache *cache, uint64_t vpn)
{
	return cache->entries + (size_t)(vpn & (cache->sets - 1)) * cache->ways;
}

static inline bool nw_tlb_is_valid(const struct nw_tlb_entry *e)
{
	return e->stamp != 0;
}

#endif
