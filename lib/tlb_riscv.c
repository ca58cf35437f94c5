/* The RISC-V TLB model's tags, lookup and insert over the tagged TLB (tlb_riscv.h); the fences are in
 * tlb_riscv_fence.c. */
#include <nestwalk/assert.h>
#include <nestwalk/tlb_riscv.h>

#define KIND(k) (UINT32_C(1) << (k))
/* The VS stage is ASID-tagged and its leaves may be global (vsatp.ASID, the PTE's G bit); G-stage translations
 * have only the VMID (hgatp.VMID). */
#define VS_KINDS (KIND(NW_RVTLB_VS) | KIND(NW_RVTLB_VSG))

nw_status_t nw_rvtlb_init(struct nw_rvtlb *tlb, void *storage, size_t size, unsigned asid_bits, unsigned vmid_bits)
{
	nw_status_t st;

	if (asid_bits > NW_RV_ASIDMAX || vmid_bits > NW_RV_VMIDMAX)
		return NW_ERR_RANGE;
	st = nw_ttlb_init(&tlb->core, storage, size, VS_KINDS, 0, VS_KINDS);
	if (st != NW_OK)
		return st;
	tlb->asid_bits = (uint8_t)asid_bits;
	tlb->vmid_bits = (uint8_t)vmid_bits;
	tlb->va_bits = 0;
	return NW_OK;
}

void nw_rvtlb_load(struct nw_rvtlb *tlb, uint16_t vmid, uint16_t asid, unsigned va_bits)
{
	NW_ASSERT(vmid >> tlb->vmid_bits == 0 && asid >> tlb->asid_bits == 0);
	NW_ASSERT(va_bits == 0 || va_bits == 39 || va_bits == 48 || va_bits == 57);
	tlb->core.vmid = vmid;
	tlb->core.asid = asid;
	tlb->va_bits = (uint8_t)va_bits;
}

void nw_rvtlb_insert(struct nw_rvtlb *tlb, const struct nw_rvtlb_fill *fill)
{
	struct nw_ttlb_fill f = { (unsigned)fill->kind, fill->addr,   fill->out,  fill->size, 0,
				  fill->level,          fill->global, fill->attrs };

	NW_ASSERT((unsigned)fill->kind < NW_RVTLB_KIND_COUNT);
	if (fill->kind == NW_RVTLB_VSG) {
		NW_ASSERT((fill->gpa & (fill->size - 1)) == 0);
		f.mid = fill->gpa;
	}
	nw_ttlb_insert(&tlb->core, &f);
}
