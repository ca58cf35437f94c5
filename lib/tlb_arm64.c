/* The AArch64 TLB model: its kinds on the tagged TLB (tlb_tagged.h) and the TLBI operands (tlb_arm64.h). Which
 * entries each TLBI drops is in tlb_arm64_inval.c. */
#include <nestwalk/assert.h>
#include <nestwalk/tlb_arm64.h>

#include "tlb_arm64_internal.h"

const char *nw_tlbi_refusal(enum nw_tlbi_op op, uint64_t xt)
{
	uint64_t fields;

	if ((unsigned)op >= NW_TLBI_OP_COUNT)
		return "unknown TLBI operation";
	fields = nw_tlbi_operands[op / 2].fields;
	if (!fields)
		return xt ? "this TLBI takes no register (Rt is 31), yet Xt is not 0" : NULL;
	if ((xt & NW_TLBI_XT_NS) && fields == NW_TLBI_XT_IPA)
		return "Xt[63] NS selects a Secure-state IPA space, which the model does not have";
	if ((xt & NW_TLBI_XT_TTL) && nw_tlbi_operands[op / 2].ttl)
		return "Xt[47:44] holds a TTL level hint (FEAT_TTL), which the model does not take";
	if (xt & ~fields)
		return "Xt has RES0 bits set";
	return NULL;
}

nw_status_t nw_a64tlb_init(struct nw_a64tlb *tlb, void *storage, size_t size)
{
	/* Only a stage-1 leaf has nG; table entries and stage 2 have no global form. */
	return nw_ttlb_init(tlb, storage, size, A64TLB_S1_ALL_LEVELS, A64TLB_WALKS, A64TLB_S1_LEAVES);
}

void nw_a64tlb_load(struct nw_a64tlb *tlb, uint16_t vmid, uint16_t asid)
{
	tlb->vmid = vmid;
	tlb->asid = asid;
}

bool nw_a64tlb_probe(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint16_t vmid, uint16_t asid, uint64_t addr,
		     struct nw_a64tlb_hit *hit)
{
	return nw_ttlb_probe(tlb, (unsigned)kind, vmid, asid, addr, hit);
}

bool nw_a64tlb_lookup(struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint64_t addr, struct nw_a64tlb_hit *hit)
{
	return nw_ttlb_lookup(tlb, (unsigned)kind, addr, hit);
}

void nw_a64tlb_insert(struct nw_a64tlb *tlb, const struct nw_a64tlb_fill *fill)
{
	struct nw_ttlb_fill f = { (unsigned)fill->kind, fill->addr,   fill->out,  fill->size, 0,
				  fill->level,          fill->global, fill->attrs };

	NW_ASSERT((unsigned)fill->kind < NW_A64TLB_KIND_COUNT);
	nw_ttlb_insert(tlb, &f);
}

uint64_t nw_a64tlb_count(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind)
{
	return nw_ttlb_count(tlb, (unsigned)kind);
}
