/* The TLB model: storage, tags, lookup and insert (tlb.h). Invalidation is in tlb_inval.c. */
#include <stdalign.h>

#include <nestwalk/assert.h>
#include <nestwalk/cpu.h>
#include <nestwalk/level.h>
#include <nestwalk/mem.h>

#include "tlb_internal.h"

const struct nw_tlb_geometry nw_tlb_default_geometry = {
	.sets = { [NW_TLB_4K] = 128, [NW_TLB_2M] = 8, [NW_TLB_1G] = 4,
		  [NW_PSC_PDE] = 8, [NW_PSC_PDPTE] = 1, [NW_PSC_PML4E] = 1, [NW_PSC_PML5E] = 1 },
	.ways = { [NW_TLB_4K] = 12, [NW_TLB_2M] = 4, [NW_TLB_1G] = 4,
		  [NW_PSC_PDE] = 4, [NW_PSC_PDPTE] = 4, [NW_PSC_PML4E] = 2, [NW_PSC_PML5E] = 2 },
};

/* The lowest linear-address bit of each array's key (§4.10.2, §4.10.3.1). */
static const uint8_t cache_shift[NW_TLB_CACHE_COUNT] = {
	[NW_TLB_4K] = 12, [NW_TLB_2M] = 21, [NW_TLB_1G] = 30,
	[NW_PSC_PDE] = 21, [NW_PSC_PDPTE] = 30, [NW_PSC_PML4E] = 39, [NW_PSC_PML5E] = 48,
};

static bool is_geometry_valid(const struct nw_tlb_geometry *g)
{
	for (unsigned i = 0; i < NW_TLB_CACHE_COUNT; i++) {
		if (g->sets[i] == 0 || (g->sets[i] & (g->sets[i] - 1)) || g->sets[i] > (UINT32_C(1) << 20))
			return false;
		if (g->ways[i] == 0 || g->ways[i] > NW_TLB_MAX_WAYS)
			return false;
	}
	return true;
}

size_t nw_tlb_storage_size(const struct nw_tlb_geometry *g)
{
	size_t entries = 0;

	if (!is_geometry_valid(g))
		return 0;
	for (unsigned i = 0; i < NW_TLB_CACHE_COUNT; i++)
		entries += (size_t)g->sets[i] * g->ways[i];
	return entries * sizeof(struct nw_tlb_entry);
}

nw_status_t nw_tlb_init(struct nw_tlb *tlb, const struct nw_tlb_geometry *g, void *storage, size_t size)
{
	struct nw_tlb_entry *next = storage;
	size_t need = nw_tlb_storage_size(g);

	if (need == 0)
		return NW_ERR_INVALID;
	if (size < need)
		return NW_ERR_RANGE;
	if ((uintptr_t)storage % alignof(struct nw_tlb_entry))
		return NW_ERR_ALIGN;
	nw_mem_fill(tlb, 0, sizeof(*tlb));
	nw_mem_fill(storage, 0, need);
	for (unsigned i = 0; i < NW_TLB_CACHE_COUNT; i++) {
		tlb->caches[i] = (struct nw_tlb_cache){ next, g->sets[i], g->ways[i], cache_shift[i], 0, 0 };
		next += (size_t)g->sets[i] * g->ways[i];
	}
	for (unsigned i = 0; i < NW_TLB_RECENT_SLOTS; i++)
		tlb->recent[i].page = NW_TLB_RECENT_EMPTY;
	return NW_OK;
}

void nw_tlb_load_cpu(struct nw_tlb *tlb, uint64_t cr0, uint64_t cr3, uint64_t cr4)
{
	nw_tlb_forget_recent(tlb); /* a new tag, or paging off */
	tlb->cr0 = cr0;
	tlb->cr3 = cr3 & ~NW_TLB_CR3_NOFLUSH;
	tlb->cr4 = cr4;
}

void nw_tlb_load_vm(struct nw_tlb *tlb, uint16_t vpid, bool ept, uint64_t eptp)
{
	nw_tlb_forget_recent(tlb);
	tlb->vpid = vpid;
	tlb->ept = ept;
	tlb->eptrta = ept ? eptp & NW_TLB_EPTRTA_MASK : 0;
}

/* Static, so the lookup path inlines it (an exported function may be interposed). */
static struct nw_tlb_tag current_tag(const struct nw_tlb *tlb)
{
	uint16_t pcid = (tlb->cr4 & NW_CR4_PCIDE) ? (uint16_t)(tlb->cr3 & NW_CR3_PCID_MASK) : 0;

	return (struct nw_tlb_tag){ tlb->vpid, pcid, tlb->ept, tlb->eptrta };
}

struct nw_tlb_tag nw_tlb_current_tag(const struct nw_tlb *tlb)
{
	return current_tag(tlb);
}

/* Paging off: linear addresses are not translated, so the model caches nothing. */
static bool is_paging(const struct nw_tlb *tlb)
{
	return (tlb->cr0 & NW_CR0_PG) != 0;
}

/* The same VPID, kind and EPTRTA, and the same PCID unless the entry is global
 * (§4.10.2.4: a global translation may be used with any PCID). */
static bool is_usable(const struct nw_tlb_entry *e, const struct nw_tlb_tag *tag)
{
	return e->tag.vpid == tag->vpid && e->tag.combined == tag->combined && e->tag.eptrta == tag->eptrta &&
	       (e->tag.pcid == tag->pcid || e->global);
}

static struct nw_tlb_entry *find(const struct nw_tlb_cache *cache, const struct nw_tlb_tag *tag, uint64_t gva)
{
	uint64_t vpn = gva >> cache->shift;
	struct nw_tlb_entry *set = nw_tlb_set(cache, vpn);

	for (uint32_t w = 0; w < cache->ways; w++)
		if (nw_tlb_is_valid(&set[w]) && set[w].vpn == vpn && is_usable(&set[w], tag))
			return &set[w];
	return 0;
}

/* The entry that hit, or NULL: nw_tlb_lookup() refreshes its LRU stamp through it. */
static struct nw_tlb_entry *probe_translation(const struct nw_tlb *tlb, const struct nw_tlb_tag *tag, nw_gva_t gva,
					      struct nw_tlb_hit *hit)
{
	for (unsigned id = NW_TLB_4K; id <= NW_TLB_1G; id++) {
		const struct nw_tlb_cache *cache = &tlb->caches[id];
		struct nw_tlb_entry *e = find(cache, tag, gva.val);
		uint64_t offset = gva.val & ((UINT64_C(1) << cache->shift) - 1);

		if (!e)
			continue;
		*hit = (struct nw_tlb_hit){ nw_gpa(e->gpa.val | offset), nw_hpa(e->hpa.val | offset),
					    UINT64_C(1) << cache->shift, (enum nw_tlb_cache_id)id, e };
		return e;
	}
	return NULL;
}

bool nw_tlb_probe(const struct nw_tlb *tlb, const struct nw_tlb_tag *tag, nw_gva_t gva, struct nw_tlb_hit *hit)
{
	return probe_translation(tlb, tag, gva, hit) != NULL;
}

/* Counts each filled slot's hits as nw_tlb_lookup() does: a lookup in every
 * array up to the one that hit, a hit there. */
void nw_tlb_sync(struct nw_tlb *tlb)
{
	for (uint64_t left = tlb->recent_filled; left; left &= left - 1) {
		struct nw_tlb_recent *slot = &tlb->recent[__builtin_ctzll(left)];

		if (!slot->uses)
			continue;
		for (unsigned id = NW_TLB_4K; id <= slot->cache; id++)
			tlb->caches[id].lookups += slot->uses;
		tlb->caches[slot->cache].hits += slot->uses;
		tlb->stats.lookups += slot->uses;
		tlb->stats.hits += slot->uses;
		slot->uses = 0;
	}
}

void nw_tlb_forget_recent(struct nw_tlb *tlb)
{
	nw_tlb_sync(tlb);
	for (uint64_t left = tlb->recent_filled; left; left &= left - 1)
		tlb->recent[__builtin_ctzll(left)].page = NW_TLB_RECENT_EMPTY;
	tlb->recent_filled = 0;
}

/* Keeps a probe's hit for gva's page (valid until the slots are emptied, see struct nw_tlb). */
static void remember(struct nw_tlb *tlb, nw_gva_t gva, struct nw_tlb_entry *entry, enum nw_tlb_cache_id cache)
{
	unsigned index = (unsigned)(gva.val >> NW_PAGE_SHIFT) & (NW_TLB_RECENT_SLOTS - 1);
	struct nw_tlb_recent *slot = &tlb->recent[index];

	if (slot->uses)
		nw_tlb_sync(tlb);
	*slot = (struct nw_tlb_recent){ .page = gva.val >> NW_PAGE_SHIFT, .entry = entry, .cache = (uint8_t)cache };
	tlb->recent_filled |= UINT64_C(1) << index;
}

bool nw_tlb_lookup(struct nw_tlb *tlb, nw_gva_t gva, struct nw_tlb_hit *hit)
{
	struct nw_tlb_tag tag = current_tag(tlb);
	struct nw_tlb_recent *slot;
	struct nw_tlb_entry *entry;
	bool found;

	if (!is_paging(tlb))
		return false;
	tlb->stats.lookups++;
	slot = nw_tlb_recent(tlb, gva);
	if (slot) {
		uint64_t offset = gva.val & NW_PAGE_MASK;

		*hit = (struct nw_tlb_hit){ nw_gpa(nw_tlb_recent_gpa(tlb, slot) | offset),
					    nw_hpa(nw_tlb_recent_hpa(tlb, slot) | offset),
					    UINT64_C(1) << tlb->caches[slot->cache].shift,
					    (enum nw_tlb_cache_id)slot->cache, slot->entry };
		entry = slot->entry;
	} else if ((entry = probe_translation(tlb, &tag, gva, hit))) {
		remember(tlb, gva, entry, hit->cache);
	}
	found = entry != NULL;
	/* The arrays are probed smallest page first; the ones before a hit (all on a miss) count a lookup. */
	for (unsigned id = NW_TLB_4K; id <= (found ? (unsigned)hit->cache : NW_TLB_1G); id++)
		tlb->caches[id].lookups++;
	if (!found)
		return false;
	tlb->stats.hits++;
	tlb->caches[hit->cache].hits++;
	entry->stamp = ++tlb->clock;
	return true;
}

/* The slot for a new entry: the one it replaces, an empty one, or the least recently used. */
static struct nw_tlb_entry *victim(struct nw_tlb *tlb, struct nw_tlb_cache *cache, const struct nw_tlb_tag *tag,
				   uint64_t vpn)
{
	struct nw_tlb_entry *set = nw_tlb_set(cache, vpn);
	struct nw_tlb_entry *empty = 0, *oldest = &set[0];

	for (uint32_t w = 0; w < cache->ways; w++) {
		struct nw_tlb_entry *e = &set[w];

		if (!nw_tlb_is_valid(e)) {
			if (!empty)
				empty = e;
			continue;
		}
		if (e->vpn == vpn && e->tag.vpid == tag->vpid && e->tag.pcid == tag->pcid &&
		    e->tag.combined == tag->combined && e->tag.eptrta == tag->eptrta)
			return e;
		if (e->stamp < oldest->stamp)
			oldest = e;
	}
	if (empty)
		return empty;
	tlb->stats.evictions++;
	return oldest;
}

/* The array for a translation: the smaller of the two page sizes, cut to a size the TLB holds. */
static enum nw_tlb_cache_id translation_cache(const struct nw_tlb_fill *fill)
{
	uint64_t size = fill->guest_page_size;

	if (fill->s2_page_size && fill->s2_page_size < size)
		size = fill->s2_page_size;
	if (size >= NW_SIZE_1G)
		return NW_TLB_1G;
	return size >= NW_SIZE_2M ? NW_TLB_2M : NW_TLB_4K;
}

void nw_tlb_insert(struct nw_tlb *tlb, const struct nw_tlb_fill *fill)
{
	struct nw_tlb_tag tag = current_tag(tlb);
	enum nw_tlb_cache_id id = translation_cache(fill);
	struct nw_tlb_cache *cache = &tlb->caches[id];
	uint64_t base_mask = ~((UINT64_C(1) << cache->shift) - 1);
	uint64_t vpn = fill->gva.val >> cache->shift;
	struct nw_tlb_entry *e;

	if (!is_paging(tlb))
		return;
	nw_tlb_forget_recent(tlb); /* the new entry may now be the one a probe finds first */
	e = victim(tlb, cache, &tag, vpn);
	*e = (struct nw_tlb_entry){
		.vpn = vpn, .stamp = ++tlb->clock,
		.gpa = nw_gpa(fill->gpa.val & base_mask), .hpa = nw_hpa(fill->hpa.val & base_mask),
		.guest_page_size = fill->guest_page_size, .tag = tag,
		.rights = fill->rights, .s2_rights = fill->s2_rights, .pk = fill->pk, .dirty = fill->dirty,
		/* §4.10.2.4: a translation is global only if CR4.PGE=1 and its leaf has G=1 */
		.global = fill->global && (tlb->cr4 & NW_CR4_PGE),
	};
	tlb->stats.inserts++;
}

/* The paging-structure cache holding entries of an SDM level (2..5), or -1. */
static int psc_for_level(int level)
{
	switch (level) {
	case NW_LEVEL_PD:
		return NW_PSC_PDE;
	case NW_LEVEL_PDPT:
		return NW_PSC_PDPTE;
	case NW_LEVEL_PML4:
		return NW_PSC_PML4E;
	case NW_LEVEL_PML5:
		return NW_PSC_PML5E;
	default:
		return -1;
	}
}

bool nw_tlb_psc_probe(const struct nw_tlb *tlb, const struct nw_tlb_tag *tag, nw_gva_t gva, int level,
		      struct nw_psc_hit *hit)
{
	int id = psc_for_level(level);
	const struct nw_tlb_entry *e;

	if (id < 0)
		return false;
	e = find(&tlb->caches[id], tag, gva.val);
	if (!e)
		return false;
	*hit = (struct nw_psc_hit){ level, e->gpa, e->hpa, e->rights };
	return true;
}

bool nw_tlb_psc_lookup(struct nw_tlb *tlb, nw_gva_t gva, struct nw_psc_hit *hit)
{
	struct nw_tlb_tag tag = current_tag(tlb);

	if (!is_paging(tlb))
		return false;
	tlb->stats.psc_lookups++;
	for (int level = NW_LEVEL_PD; level <= NW_LEVEL_PML5; level++) {
		int id = psc_for_level(level);
		struct nw_tlb_entry *e = find(&tlb->caches[id], &tag, gva.val);

		tlb->caches[id].lookups++;
		if (!e)
			continue;
		*hit = (struct nw_psc_hit){ level, e->gpa, e->hpa, e->rights };
		e->stamp = ++tlb->clock;
		tlb->caches[id].hits++;
		tlb->stats.psc_hits++;
		return true;
	}
	return false;
}

void nw_tlb_psc_insert(struct nw_tlb *tlb, nw_gva_t gva, int level, nw_gpa_t table_gpa, nw_hpa_t table_hpa,
		       uint32_t rights)
{
	struct nw_tlb_tag tag = current_tag(tlb);
	int id = psc_for_level(level);
	struct nw_tlb_cache *cache;
	struct nw_tlb_entry *e;
	uint64_t vpn;

	NW_ASSERT(id >= 0);
	if (!is_paging(tlb))
		return;
	cache = &tlb->caches[id];
	vpn = gva.val >> cache->shift;
	e = victim(tlb, cache, &tag, vpn);
	*e = (struct nw_tlb_entry){ .vpn = vpn, .stamp = ++tlb->clock, .gpa = table_gpa, .hpa = table_hpa,
				    .tag = tag, .rights = rights };
	tlb->stats.inserts++;
}

uint64_t nw_tlb_count(const struct nw_tlb *tlb, enum nw_tlb_cache_id id)
{
	const struct nw_tlb_cache *cache = &tlb->caches[id];
	uint64_t n = 0;

	for (size_t i = 0; i < (size_t)cache->sets * cache->ways; i++)
		n += nw_tlb_is_valid(&cache->entries[i]);
	return n;
}
