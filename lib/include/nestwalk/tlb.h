/* A model of the TLBs and paging-structure caches (SDM Vol. 3A §4.10, Vol. 3C
 * §29.4): set-associative arrays of 4 KiB, 2 MiB and 1 GiB translations and
 * PML4E/PDPTE/PDE caches, every entry tagged with VPID and PCID and, for the
 * combined (GVA->HPA) mappings made while EPT is in use, the EPTRTA (EPTP bits
 * 51:12). Invalidation follows the SDM's minimum: what the SDM says an
 * operation must invalidate, and nothing it merely may, so a trace that omits
 * an invalidation sees the stale translation hardware is allowed to use.
 *
 * Entries keep the guest rights as read (R/W and U/S ANDed, XD ORed, the
 * protection key), not a verdict: CR0.WP, CR4.SMEP/SMAP/PKE, EFER.NXE, PKRU and
 * the CPL are applied at each use, as the SDM's TLB does (§4.10.2.2), so
 * changing them needs no flush. An entry whose dirty flag is clear cannot
 * complete a write: the walker walks to set D (§4.8).
 *
 * Replacement is least-recently-used within a set (a per-TLB use counter).
 * Storage is the caller's; the model never allocates. */
#ifndef NESTWALK_TLB_H
#define NESTWALK_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "status.h"

NW_BEGIN_DECLS

enum nw_tlb_cache_id {
	NW_TLB_4K = 0,   /* translations of 4 KiB pages (and of larger pages cut to 4 KiB) */
	NW_TLB_2M,       /* 2 MiB (and 4 MiB pages of 32-bit paging, cut to 2 MiB) */
	NW_TLB_1G,
	NW_PSC_PDE,      /* PDE cache: linear bits 47:21 -> page-table address */
	NW_PSC_PDPTE,    /* PDPTE cache: bits 47:30 -> page-directory address */
	NW_PSC_PML4E,    /* PML4E cache: bits 47:39 (56:39 with 5-level paging) -> PDPT address */
	NW_PSC_PML5E,    /* PML5E cache: bits 56:48 -> PML4 address (5-level paging) */
	NW_TLB_CACHE_COUNT,
};

#define NW_TLB_MAX_WAYS 64
#define NW_TLB_RECENT_SLOTS 64 /* recent hits remembered in front of the arrays (a power of two, <= 64) */

/* Sets (a power of two) and ways of each array. */
struct nw_tlb_geometry {
	uint32_t sets[NW_TLB_CACHE_COUNT];
	uint32_t ways[NW_TLB_CACHE_COUNT];
};

/* A Skylake-like shape: 1536-entry 12-way 4 KiB TLB, 32 x 2 MiB, 16 x 1 GiB,
 * 32 PDE-, 4 PDPTE-, 2 PML4E- and 2 PML5E-cache entries. */
extern const struct nw_tlb_geometry nw_tlb_default_geometry;

/* Who a cached mapping belongs to (Vol. 3C §29.4.1). */
struct nw_tlb_tag {
	uint16_t vpid;
	uint16_t pcid;
	bool combined;   /* made with EPT in use: also tagged by eptrta */
	uint64_t eptrta; /* EPTP bits 51:12 (0 for a linear mapping) */
};

#define NW_TLB_EPTRTA_MASK UINT64_C(0x000ffffffffff000)
/* Bit 63 of a MOV to CR3 source: with CR4.PCIDE=1, invalidate nothing (§4.10.4.1). */
#define NW_TLB_CR3_NOFLUSH (UINT64_C(1) << 63)

struct nw_tlb_entry {
	uint64_t vpn;     /* linear address >> the array's shift */
	uint64_t stamp;   /* last use, for LRU; 0 = empty */
	nw_gpa_t gpa;     /* translation: the page's GPA base; cache: the next table's GPA */
	nw_hpa_t hpa;     /* translation: the page's HPA base; cache: the next table's HPA */
	uint64_t guest_page_size; /* translation: the guest page it came from */
	struct nw_tlb_tag tag;
	uint32_t rights;  /* the caller's guest rights, ANDed/ORed down to this level (e.g. NW_WALK_RIGHT_*) */
	uint8_t s2_rights; /* NW_S2_RIGHT_* of the second-stage leaf (combined mappings) */
	uint8_t pk;       /* protection key of the guest leaf */
	bool dirty;       /* the guest leaf's D flag was set */
	bool global;      /* G=1 with CR4.PGE=1 (§4.10.2.4) */
};

struct nw_tlb_cache {
	struct nw_tlb_entry *entries; /* sets * ways, set-major */
	uint32_t sets, ways;
	uint8_t shift;                /* linear-address bit the array's key starts at */
	uint64_t lookups, hits;       /* probes of this array by nw_tlb_lookup/psc_lookup; misses = lookups - hits */
};

struct nw_tlb_stats {
	uint64_t lookups, hits;         /* nw_tlb_lookup */
	uint64_t psc_lookups, psc_hits; /* nw_tlb_psc_lookup */
	uint64_t inserts, evictions, invalidated;
};

/* A recent hit: what a full lookup found for one 4 KiB page. */
#define NW_TLB_RECENT_EMPTY UINT64_MAX /* no linear address has this page number */
struct nw_tlb_recent {
	uint64_t page;             /* linear address >> 12; NW_TLB_RECENT_EMPTY in an empty slot */
	struct nw_tlb_entry *entry;
	uint64_t uses;             /* hits counted by nw_tlb_recent_use() and not yet in the statistics */
	uint8_t cache;             /* enum nw_tlb_cache_id of entry */
	uint8_t memo;              /* the caller's (e.g. a verdict on the entry); 0 when the slot is filled */
};

struct nw_tlb {
	struct nw_tlb_cache caches[NW_TLB_CACHE_COUNT];
	uint64_t cr0, cr3, cr4; /* as the model last saw them; CR3 without bit 63 */
	uint16_t vpid;
	bool ept;
	uint64_t eptrta;
	uint64_t clock;
	struct nw_tlb_stats stats;
	/* Recent hits, one 4 KiB page per slot (see nw_tlb_recent()). Any
	 * operation that could change what a probe finds (insert, invalidation,
	 * a new tag) empties them, so a filled slot needs no tag comparison. */
	struct nw_tlb_recent recent[NW_TLB_RECENT_SLOTS];
	uint64_t recent_filled; /* bit per slot in use, so emptying touches only those */
};

/* Bytes of storage the geometry needs (0 for an invalid geometry). */
size_t nw_tlb_storage_size(const struct nw_tlb_geometry *geometry);
/* NW_ERR_INVALID for a bad geometry (sets not a power of two, ways 0 or above
 * NW_TLB_MAX_WAYS), NW_ERR_RANGE when storage is too small, NW_ERR_ALIGN when
 * it is not aligned for struct nw_tlb_entry. Starts empty, with CR0/CR3/CR4 0,
 * VPID 0 and EPT off. */
NW_MUST_CHECK nw_status_t nw_tlb_init(struct nw_tlb *tlb, const struct nw_tlb_geometry *geometry, void *storage,
				       size_t size);

/* Loads state without invalidating anything (reset, or a VM entry with
 * "enable VPID" = 1, Vol. 3C §29.4.3.1): later inserts and lookups use it. */
void nw_tlb_load_cpu(struct nw_tlb *tlb, uint64_t cr0, uint64_t cr3, uint64_t cr4);
void nw_tlb_load_vm(struct nw_tlb *tlb, uint16_t vpid, bool ept, uint64_t eptp);
/* The tag inserts use now: current VPID, current PCID (CR3 bits 11:0 with
 * CR4.PCIDE=1, else 0, §4.10.1), EPTRTA with EPT. */
struct nw_tlb_tag nw_tlb_current_tag(const struct nw_tlb *tlb);

/* A hit: the addresses for gva and what the entry holds. */
struct nw_tlb_hit {
	nw_gpa_t gpa;
	nw_hpa_t hpa;
	uint64_t page_size; /* of the entry: 4 KiB, 2 MiB or 1 GiB */
	enum nw_tlb_cache_id cache;
	const struct nw_tlb_entry *entry;
};

/* A translation for gva usable now (current tag; a global entry of any PCID,
 * §4.10.2.4); counts a lookup and a hit or miss, and refreshes LRU. While
 * CR0.PG=0 nothing is cached: always a miss, nothing inserted. */
bool nw_tlb_lookup(struct nw_tlb *tlb, nw_gva_t gva, struct nw_tlb_hit *hit);
/* The slot answering for gva's 4 KiB page when a recent lookup hit it, else
 * NULL: the entry nw_tlb_lookup() would find, without a probe. Counts
 * nothing until nw_tlb_recent_use(). */
static inline struct nw_tlb_recent *nw_tlb_recent(struct nw_tlb *tlb, nw_gva_t gva)
{
	uint64_t page = gva.val >> NW_PAGE_SHIFT;
	struct nw_tlb_recent *slot = &tlb->recent[page & (NW_TLB_RECENT_SLOTS - 1)];

	return slot->page == page ? slot : NULL;
}

/* The lookup nw_tlb_lookup() would count for a hit on slot, with its LRU
 * refresh; the counts reach the statistics at nw_tlb_sync(). */
static inline void nw_tlb_recent_use(struct nw_tlb *tlb, struct nw_tlb_recent *slot)
{
	slot->uses++;
	slot->entry->stamp = ++tlb->clock;
}

/* The page's first byte as the slot's entry translates it (the entry covers 4 KiB, 2 MiB or 1 GiB). */
static inline uint64_t nw_tlb_recent_gpa(const struct nw_tlb *tlb, const struct nw_tlb_recent *slot)
{
	uint64_t within = (slot->page << NW_PAGE_SHIFT) & ((UINT64_C(1) << tlb->caches[slot->cache].shift) - 1);

	return slot->entry->gpa.val | within;
}

static inline uint64_t nw_tlb_recent_hpa(const struct nw_tlb *tlb, const struct nw_tlb_recent *slot)
{
	uint64_t within = (slot->page << NW_PAGE_SHIFT) & ((UINT64_C(1) << tlb->caches[slot->cache].shift) - 1);

	return slot->entry->hpa.val | within;
}

/* Folds the recent slots' counts into the statistics (stats and caches[]
 * are exact after it; every operation but nw_tlb_recent_use() keeps them so). */
void nw_tlb_sync(struct nw_tlb *tlb);
/* Empties the recent slots (after nw_tlb_sync()), e.g. when the caller's memos are out of date. */
void nw_tlb_forget_recent(struct nw_tlb *tlb);

/* The same question for any tag, counting nothing: for tests and --explain. */
bool nw_tlb_probe(const struct nw_tlb *tlb, const struct nw_tlb_tag *tag, nw_gva_t gva, struct nw_tlb_hit *hit);

/* What a completed walk gives the TLB. The entry covers the smaller of the two
 * page sizes (a combined mapping, Vol. 3C §29.4), cut down to 4 KiB, 2 MiB or
 * 1 GiB (§4.10.2.3 allows smaller entries for a large page). */
struct nw_tlb_fill {
	nw_gva_t gva;
	nw_gpa_t gpa;
	nw_hpa_t hpa;
	uint64_t guest_page_size;
	uint64_t s2_page_size; /* 0 without a second stage */
	uint32_t rights;
	uint8_t s2_rights;
	uint8_t pk;
	bool dirty;
	bool global;           /* the leaf's G flag; kept only with CR4.PGE=1 */
};

void nw_tlb_insert(struct nw_tlb *tlb, const struct nw_tlb_fill *fill);

/* Paging-structure caches. level is the SDM level of the cached entry: 2 PDE,
 * 3 PDPTE, 4 PML4E, 5 PML5E; the entry holds the next table's address and the
 * rights accumulated through it. Lookup returns the deepest hit (PDE first),
 * where a walk may start (nw_walker_translate_from, §4.10.3.2). */
struct nw_psc_hit {
	int level;
	nw_gpa_t table_gpa;
	nw_hpa_t table_hpa;
	uint32_t rights;
};

bool nw_tlb_psc_lookup(struct nw_tlb *tlb, nw_gva_t gva, struct nw_psc_hit *hit);
bool nw_tlb_psc_probe(const struct nw_tlb *tlb, const struct nw_tlb_tag *tag, nw_gva_t gva, int level,
		      struct nw_psc_hit *hit);
void nw_tlb_psc_insert(struct nw_tlb *tlb, nw_gva_t gva, int level, nw_gpa_t table_gpa, nw_hpa_t table_hpa,
		       uint32_t rights);

/* Architectural operations, each invalidating what the SDM requires. The
 * guest's own (INVLPG, INVPCID, MOV CR) act for the current VPID and every
 * EPTRTA (Vol. 3C §29.4.3.1). NW_ERR_INVALID where the instruction faults or
 * fails (#GP, VMfail), with nothing invalidated. */
void nw_tlb_invlpg(struct nw_tlb *tlb, nw_gva_t gva);
NW_MUST_CHECK nw_status_t nw_tlb_invpcid(struct nw_tlb *tlb, unsigned type, uint32_t pcid, nw_gva_t gva);
NW_MUST_CHECK nw_status_t nw_tlb_invvpid(struct nw_tlb *tlb, unsigned type, uint16_t vpid, nw_gva_t gva);
NW_MUST_CHECK nw_status_t nw_tlb_invept(struct nw_tlb *tlb, unsigned type, uint64_t eptp);
/* Why each of those faults or fails with these operands under the TLB's CR4
 * (the SDM's condition: "#GP (...)" or "VMfailValid (...)"), NULL when it
 * does not: exactly where it returns NW_ERR_INVALID. */
const char *nw_tlb_invpcid_refusal(const struct nw_tlb *tlb, unsigned type, uint32_t pcid);
const char *nw_tlb_invvpid_refusal(unsigned type, uint16_t vpid);
const char *nw_tlb_invept_refusal(unsigned type);
void nw_tlb_write_cr0(struct nw_tlb *tlb, uint64_t cr0);
void nw_tlb_write_cr3(struct nw_tlb *tlb, uint64_t cr3); /* bit 63: no flush when CR4.PCIDE=1 */
void nw_tlb_write_cr4(struct nw_tlb *tlb, uint64_t cr4);
/* Power-up or reset: everything (Vol. 3C §29.4.3.1). */
void nw_tlb_flush_all(struct nw_tlb *tlb);

/* Valid entries in one array (tests and reports). */
uint64_t nw_tlb_count(const struct nw_tlb *tlb, enum nw_tlb_cache_id cache);

NW_END_DECLS

#endif
