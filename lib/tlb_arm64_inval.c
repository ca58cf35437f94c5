/* The TLBI operations of the EL1&0 regime, each the scope the Arm ARM gives it (DDI 0487, C5.5 "A64 system
 * instructions for TLB maintenance"; D8.13 for what an entry is tagged with). Each operation is a selection of
 * entries (struct scope); the tagged TLB's one loop drops them. */
#include <nestwalk/tlb_arm64.h>

#include "tlb_arm64_internal.h"

#define ALL_KINDS (A64TLB_S1_ALL_LEVELS | A64TLB_S2_ALL_LEVELS)

/* Which entries an operation drops: every condition given must hold. */
struct scope {
	unsigned kinds;    /* bit per enum nw_a64tlb_kind */
	bool current_vmid; /* only the current VMID's (every TLBI here but ALLE1) */
	bool by_asid;      /* only non-global entries of Xt's ASID ... */
	bool global_too;   /* ... or global ones (by VA: "global entries, or non-global for the ASID") */
	bool by_va;        /* only entries whose VA range holds Xt's VA[55:12] */
	bool by_ipa;       /* only entries whose IPA range holds Xt's IPA[51:12] */
};

/* By plain form (op >> 1); the IS form has the same scope on this one PE. The quoted scope is C5.5's. */
static const struct scope scopes[NW_TLBI_OP_COUNT / 2] = {
	/* VMALLE1: "all stage 1 translations used at EL1&0 ... for the current VMID", any level, any ASID;
	 * stage-2-only entries are not stage 1 translations and stay. */
	[NW_TLBI_VMALLE1 / 2] = { .kinds = A64TLB_S1_ALL_LEVELS, .current_vmid = true },
	/* VAE1: "translation table entries from any level" for the VA, current VMID, matching the ASID if
	 * non-global, and global entries whatever their ASID. */
	[NW_TLBI_VAE1 / 2] = { .kinds = A64TLB_S1_ALL_LEVELS,
			       .current_vmid = true,
			       .by_asid = true,
			       .global_too = true,
			       .by_va = true },
	/* VALE1: the same, "only ... the last level of the translation table walk": cached table entries stay. */
	[NW_TLBI_VALE1 / 2] = { .kinds = A64TLB_S1_LEAVES,
				.current_vmid = true,
				.by_asid = true,
				.global_too = true,
				.by_va = true },
	/* ASIDE1: non-global entries of that ASID, any level, current VMID; global entries stay. */
	[NW_TLBI_ASIDE1 / 2] = { .kinds = A64TLB_S1_ALL_LEVELS, .current_vmid = true, .by_asid = true },
	/* VAAE1: by VA "for all ASID values", any level, current VMID. */
	[NW_TLBI_VAAE1 / 2] = { .kinds = A64TLB_S1_ALL_LEVELS, .current_vmid = true, .by_va = true },
	/* VAALE1: by VA for all ASIDs, last level only. */
	[NW_TLBI_VAALE1 / 2] = { .kinds = A64TLB_S1_LEAVES, .current_vmid = true, .by_va = true },
	/* IPAS2E1: "stage 2 only translations" by IPA, any level, current VMID. Combined stage 1+2 entries stay:
	 * the architecture makes software follow it with VMALLE1 to remove them. */
	[NW_TLBI_IPAS2E1 / 2] = { .kinds = A64TLB_S2_ALL_LEVELS, .current_vmid = true, .by_ipa = true },
	/* IPAS2LE1: the same, last level only: cached stage-2 table entries stay. */
	[NW_TLBI_IPAS2LE1 / 2] = { .kinds = A64TLB_KIND(NW_A64TLB_S2), .current_vmid = true, .by_ipa = true },
	/* VMALLS12E1: "all stage 1 and stage 2 translations" of the EL1&0 regime for the current VMID. */
	[NW_TLBI_VMALLS12E1 / 2] = { .kinds = ALL_KINDS, .current_vmid = true },
	/* ALLE1: every entry of the EL1&0 regime, every VMID. */
	[NW_TLBI_ALLE1 / 2] = { .kinds = ALL_KINDS },
};

/* Whether an entry's range holds addr in the bits the operand gives (a range of a 16 or 64 KiB granule or a
 * block ignores the operand's bits below its size). */
static bool range_holds(const struct nw_a64tlb_entry *e, uint64_t addr, uint64_t bits)
{
	return ((addr ^ e->addr) & bits & ~(e->size - 1)) == 0;
}

struct tlbi {
	const struct scope *scope;
	uint16_t vmid; /* the current VMID */
	uint64_t xt;
};

static bool is_in_scope(const struct nw_a64tlb_entry *e, const void *ctx)
{
	const struct tlbi *t = ctx;
	const struct scope *s = t->scope;
	uint16_t asid = (uint16_t)(t->xt >> NW_TLBI_XT_ASID_SHIFT);

	if (!(s->kinds & A64TLB_KIND(e->kind)))
		return false;
	if (s->current_vmid && e->vmid != t->vmid)
		return false;
	if (s->by_asid && !(e->global ? s->global_too : e->asid == asid))
		return false;
	if (s->by_va && !range_holds(e, (t->xt & NW_TLBI_XT_VA) << 12, NW_TLBI_VA_BITS))
		return false;
	return !s->by_ipa || range_holds(e, (t->xt & NW_TLBI_XT_IPA) << 12, NW_TLBI_IPA_BITS);
}

nw_status_t nw_a64tlb_tlbi(struct nw_a64tlb *tlb, enum nw_tlbi_op op, uint64_t xt)
{
	struct tlbi t;

	if (nw_tlbi_refusal(op, xt))
		return NW_ERR_UNSUPPORTED;
	t = (struct tlbi){ &scopes[op / 2], tlb->vmid, xt };
	nw_ttlb_drop(tlb, is_in_scope, &t);
	return NW_OK;
}
