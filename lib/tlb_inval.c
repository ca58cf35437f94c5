/* TLB and paging-structure-cache invalidation, operation by operation, as
 * SDM Vol. 3A §4.10.4.1 and Vol. 3C §29.4.3 require (tlb.h). Each operation
 * is a selection of entries (struct selection); one loop drops them. */
#include <nestwalk/cpu.h>

#include "tlb_internal.h"

#define TRANSLATIONS ((1u << NW_TLB_4K) | (1u << NW_TLB_2M) | (1u << NW_TLB_1G))
#define PAGING_CACHES ((1u << NW_PSC_PDE) | (1u << NW_PSC_PDPTE) | (1u << NW_PSC_PML4E) | (1u << NW_PSC_PML5E))
#define ALL_CACHES (TRANSLATIONS | PAGING_CACHES)

/* Which entries an operation drops: every condition given must hold. */
struct selection {
	unsigned caches;       /* bit per enum nw_tlb_cache_id */
	bool by_vpid;
	uint16_t vpid;
	bool except_vpid0;     /* INVVPID all-context spares VPID 0 */
	bool by_pcid;
	uint16_t pcid;
	bool global_any_pcid;  /* INVLPG: global entries match whatever their PCID */
	bool keep_global;
	bool combined_only;    /* INVEPT: guest-physical and combined mappings only */
	bool by_eptrta;
	uint64_t eptrta;
	bool by_addr;
	uint64_t gva;
};

static bool is_selected(const struct selection *s, const struct nw_tlb_entry *e, unsigned shift)
{
	if (s->by_vpid && e->tag.vpid != s->vpid)
		return false;
	if (s->except_vpid0 && e->tag.vpid == 0)
		return false;
	if (s->by_pcid && e->tag.pcid != s->pcid && !(s->global_any_pcid && e->global))
		return false;
	if (s->keep_global && e->global)
		return false;
	if (s->combined_only && !e->tag.combined)
		return false;
	if (s->by_eptrta && e->tag.eptrta != s->eptrta)
		return false;
	return !s->by_addr || e->vpn == s->gva >> shift;
}

static void drop(struct nw_tlb *tlb, const struct selection *s)
{
	nw_tlb_forget_recent(tlb); /* a recent slot may name a dropped entry */
	for (unsigned id = 0; id < NW_TLB_CACHE_COUNT; id++) {
		struct nw_tlb_cache *cache = &tlb->caches[id];
		struct nw_tlb_entry *e = cache->entries;
		size_t n = (size_t)cache->sets * cache->ways;

		if (!(s->caches & (1u << id)))
			continue;
		if (s->by_addr) { /* only the set the address indexes can hold it */
			e = nw_tlb_set(cache, s->gva >> cache->shift);
			n = cache->ways;
		}
		for (size_t i = 0; i < n; i++) {
			if (nw_tlb_is_valid(&e[i]) && is_selected(s, &e[i], cache->shift)) {
				e[i].stamp = 0;
				tlb->stats.invalidated++;
			}
		}
	}
}

static uint16_t current_pcid(const struct nw_tlb *tlb)
{
	return nw_tlb_current_tag(tlb).pcid;
}

/* Every mapping of the current VPID, global ones included, for all PCIDs and EPTRTAs. */
static void drop_current_vpid(struct nw_tlb *tlb)
{
	drop(tlb, &(struct selection){ .caches = ALL_CACHES, .by_vpid = true, .vpid = tlb->vpid });
}

/* Non-global translations and all cached paging-structure entries of one PCID (current VPID). */
static void drop_pcid(struct nw_tlb *tlb, uint16_t pcid)
{
	drop(tlb, &(struct selection){ .caches = ALL_CACHES, .by_vpid = true, .vpid = tlb->vpid, .by_pcid = true,
				       .pcid = pcid, .keep_global = true });
}

void nw_tlb_invlpg(struct nw_tlb *tlb, nw_gva_t gva)
{
	/* §4.10.4.1: the page's translations for the current PCID, and its global ones for any PCID ... */
	drop(tlb, &(struct selection){ .caches = TRANSLATIONS, .by_vpid = true, .vpid = tlb->vpid, .by_pcid = true,
				       .pcid = current_pcid(tlb), .global_any_pcid = true, .by_addr = true,
				       .gva = gva.val });
	/* ... and every paging-structure-cache entry of the current PCID, whatever its address. */
	drop(tlb, &(struct selection){ .caches = PAGING_CACHES, .by_vpid = true, .vpid = tlb->vpid, .by_pcid = true,
				       .pcid = current_pcid(tlb) });
}

/* INVPCID #GP conditions (Vol. 2 INVPCID): a type above 3, a PCID above 12
 * bits, and, with CR4.PCIDE=0, types 0 and 1 for a PCID other than 0. */
const char *nw_tlb_invpcid_refusal(const struct nw_tlb *tlb, unsigned type, uint32_t pcid)
{
	if (type > 3)
		return "#GP (INVPCID type above 3)";
	if (pcid > NW_CR3_PCID_MASK)
		return "#GP (a PCID above 12 bits)";
	if (!(tlb->cr4 & NW_CR4_PCIDE) && type <= 1 && pcid != 0)
		return "#GP (type 0 or 1 with a PCID other than 0 while CR4.PCIDE=0)";
	return NULL;
}

nw_status_t nw_tlb_invpcid(struct nw_tlb *tlb, unsigned type, uint32_t pcid, nw_gva_t gva)
{
	struct selection s = { .caches = ALL_CACHES, .by_vpid = true, .vpid = tlb->vpid };

	if (nw_tlb_invpcid_refusal(tlb, type, pcid))
		return NW_ERR_INVALID;
	switch (type) {
	case 0: /* individual-address: that PCID's non-global mappings used for the address */
		s.by_addr = true;
		s.gva = gva.val;
		/* fall through */
	case 1: /* single-context: all non-global mappings of the PCID */
		s.by_pcid = true;
		s.pcid = (uint16_t)pcid;
		s.keep_global = true;
		break;
	case 2: /* all-context including globals */
		break;
	case 3: /* all-context except globals */
		s.keep_global = true;
		break;
	}
	drop(tlb, &s);
	return NW_OK;
}

/* Vol. 3C INVVPID: VMfailValid for an unsupported type, or VPID 0 with types 0, 1 and 3. */
const char *nw_tlb_invvpid_refusal(unsigned type, uint16_t vpid)
{
	if (type > 3)
		return "VMfailValid (INVVPID type above 3)";
	if (type != 2 && vpid == 0)
		return "VMfailValid (VPID 0 with a type other than 2, all-context)";
	return NULL;
}

nw_status_t nw_tlb_invvpid(struct nw_tlb *tlb, unsigned type, uint16_t vpid, nw_gva_t gva)
{
	struct selection s = { .caches = ALL_CACHES, .by_vpid = true, .vpid = vpid };

	if (nw_tlb_invvpid_refusal(type, vpid))
		return NW_ERR_INVALID;
	switch (type) {
	case 0: /* individual-address: the address's mappings of that VPID, all PCIDs and EPTRTAs, globals too */
		s.by_addr = true;
		s.gva = gva.val;
		break;
	case 1: /* single-context */
		break;
	case 2: /* all-context: every VPID but 0 */
		s.by_vpid = false;
		s.except_vpid0 = true;
		break;
	case 3: /* single-context retaining globals */
		s.keep_global = true;
		break;
	}
	drop(tlb, &s);
	return NW_OK;
}

/* Vol. 3C INVEPT: VMfailValid for a type other than 1 (single-context) and 2 (all-context). */
const char *nw_tlb_invept_refusal(unsigned type)
{
	return type != 1 && type != 2 ? "VMfailValid (INVEPT type other than 1, single-context, and 2, all-context)"
				      : NULL;
}

nw_status_t nw_tlb_invept(struct nw_tlb *tlb, unsigned type, uint64_t eptp)
{
	struct selection s = { .caches = ALL_CACHES, .combined_only = true };

	/* Vol. 3C §29.4.3.1: type 1 drops the EPTRTA's combined mappings for every VPID and PCID, type 2 all. */
	if (nw_tlb_invept_refusal(type))
		return NW_ERR_INVALID;
	if (type == 1) {
		s.by_eptrta = true;
		s.eptrta = eptp & NW_TLB_EPTRTA_MASK;
	}
	drop(tlb, &s);
	return NW_OK;
}

/* §4.10.4.1: MOV to CR0 must invalidate only when it clears PG. */
static bool is_cr0_flushing(uint64_t old, uint64_t new)
{
	return (old & NW_CR0_PG) && !(new & NW_CR0_PG);
}

/* Each MOV to CR may change the tag or turn paging off: the recent slots go (struct nw_tlb). */
void nw_tlb_write_cr0(struct nw_tlb *tlb, uint64_t cr0)
{
	nw_tlb_forget_recent(tlb);
	if (is_cr0_flushing(tlb->cr0, cr0))
		drop_current_vpid(tlb);
	tlb->cr0 = cr0;
}

void nw_tlb_write_cr3(struct nw_tlb *tlb, uint64_t cr3)
{
	bool pcide = (tlb->cr4 & NW_CR4_PCIDE) != 0;

	nw_tlb_forget_recent(tlb);
	tlb->cr3 = cr3 & ~NW_TLB_CR3_NOFLUSH;
	/* §4.10.4.1: with PCIDE=1 and bit 63 set nothing need be invalidated; otherwise the
	 * new PCID's non-global translations and its paging-structure-cache entries (PCID 0 without PCIDE). */
	if (pcide && (cr3 & NW_TLB_CR3_NOFLUSH))
		return;
	drop_pcid(tlb, current_pcid(tlb));
}

/* §4.10.4.1: everything of every PCID when CR4.PGE changes or CR4.PCIDE goes 1 -> 0. */
static bool is_cr4_flushing_all(uint64_t old, uint64_t new)
{
	return ((old ^ new) & NW_CR4_PGE) || ((old & NW_CR4_PCIDE) && !(new & NW_CR4_PCIDE));
}

/* §4.10.4.1: the current PCID's mappings when CR4.PAE changes or CR4.SMEP goes 0 -> 1. */
static bool is_cr4_flushing_pcid(uint64_t old, uint64_t new)
{
	return ((old ^ new) & NW_CR4_PAE) || (!(old & NW_CR4_SMEP) && (new & NW_CR4_SMEP));
}

void nw_tlb_write_cr4(struct nw_tlb *tlb, uint64_t cr4)
{
	uint64_t old = tlb->cr4;

	nw_tlb_forget_recent(tlb);
	if (is_cr4_flushing_all(old, cr4))
		drop_current_vpid(tlb);
	else if (is_cr4_flushing_pcid(old, cr4))
		drop(tlb, &(struct selection){ .caches = ALL_CACHES, .by_vpid = true, .vpid = tlb->vpid,
					       .by_pcid = true, .pcid = current_pcid(tlb) });
	tlb->cr4 = cr4;
}

void nw_tlb_flush_all(struct nw_tlb *tlb)
{
	drop(tlb, &(struct selection){ .caches = ALL_CACHES });
}
