/* The RISC-V fences on the TLB model, each the scope the privileged spec gives it ("Supervisor Memory-Management
 * Fence Instruction" for SFENCE.VMA's operands, "Hypervisor Memory-Management Fence Instructions" for what V=1
 * and the two HFENCEs act on): what a fence must flush and nothing more. */
#include <nestwalk/tlb_riscv.h>

/* SFENCE.VMA executed with V=1 and HFENCE.VVMA act on VS-stage translations: rs1 a guest virtual address, rs2
 * an ASID. HFENCE.GVMA acts on G-stage translations: rs1 a guest physical address >> 2, rs2 a VMID. */
static bool is_vs_fence(enum nw_rvfence_op op)
{
	return op != NW_RVFENCE_HFENCE_GVMA;
}

/* "When rs2≠x0, bits SXLEN-1:ASIDMAX of the value held in rs2 are reserved for future standard use" (and for
 * HFENCE.GVMA bits HSXLEN-1:VMIDMAX): a later extension may give them a meaning the model cannot know. */
static bool has_reserved_rs2_bits(const struct nw_rvfence *f)
{
	unsigned max = is_vs_fence(f->op) ? NW_RV_ASIDMAX : NW_RV_VMIDMAX;

	return !f->rs2_x0 && f->rs2 >> max != 0;
}

const char *nw_rvfence_refusal(const struct nw_rvtlb *tlb, const struct nw_rvfence *f)
{
	if ((unsigned)f->op >= NW_RVFENCE_OP_COUNT)
		return "unknown fence";
	if ((f->rs1_x0 && f->rs1) || (f->rs2_x0 && f->rs2))
		return "an operand is x0, which reads as 0, yet holds a value";
	if (has_reserved_rs2_bits(f))
		return is_vs_fence(f->op) ? "rs2 has bits 63:16 set, above ASIDMAX: reserved for future standard use"
					  : "rs2 has bits 63:14 set, above VMIDMAX: reserved for future standard use";
	if (is_vs_fence(f->op) && !f->rs1_x0 && tlb->va_bits == 0)
		return "vsatp is Bare: whether rs1 is a valid virtual address is not defined";
	if (!is_vs_fence(f->op) && !f->rs1_x0 && f->rs1 >> 62)
		return "rs1 << 2 is a guest physical address beyond 64 bits";
	return NULL;
}

/* "If the value held in rs1 is not a valid virtual address, then the SFENCE.VMA instruction has no effect": valid
 * under the current vsatp mode is bits 63:va_bits-1 all equal (the rule the VS-stage walk applies). */
static bool is_valid_va(const struct nw_rvtlb *tlb, uint64_t va)
{
	uint64_t top = va >> (tlb->va_bits - 1);

	return top == 0 || top == UINT64_MAX >> (tlb->va_bits - 1);
}

/* The fence's operands as compared: the implementation ignores ASID bits ASIDMAX-1:ASIDLEN and VMID bits
 * VMIDMAX-1:VMIDLEN of rs2 ("shall ignore"). */
struct scope {
	const struct nw_rvtlb *tlb;
	const struct nw_rvfence *f;
	uint64_t addr; /* rs1 as an address: the GVA, or the GPA rs1 << 2 */
	uint16_t tag;  /* rs2 as an ASID or a VMID */
};

static bool range_holds(uint64_t base, uint64_t size, uint64_t addr)
{
	return ((addr ^ base) & ~(size - 1)) == 0;
}

/* SFENCE.VMA (V=1) and HFENCE.VVMA: VS-stage translations, alone or combined, of the current VMID ("only when
 * hgatp.VMID is the same as when the SFENCE.VMA executed"); G-stage-only entries are not VS-stage translations.
 * rs1≠x0: only the leaf for that address. rs2≠x0: only that ASID, and "accesses to global mappings are not
 * ordered": global entries stay. rs2=x0: every ASID, global entries too. */
static bool is_in_vs_scope(const struct nw_ttlb_entry *e, const void *ctx)
{
	const struct scope *s = ctx;

	if (e->kind == NW_RVTLB_G || e->vmid != s->tlb->core.vmid)
		return false;
	if (!s->f->rs2_x0 && (e->global || e->asid != s->tag))
		return false;
	return s->f->rs1_x0 || range_holds(e->addr, e->size, s->addr);
}

/* HFENCE.GVMA: G-stage translations of the VMID in rs2 (every VMID for x0). "HFENCE.GVMA need not flush" the
 * guest-virtual to guest-physical cache, so VS-stage-only entries stay; "any entry whose guest virtual address
 * maps to a guest physical address that matches the HFENCE.GVMA's address and VMID arguments must be flushed":
 * combined entries by the GPA they went through. */
static bool is_in_g_scope(const struct nw_ttlb_entry *e, const void *ctx)
{
	const struct scope *s = ctx;

	if (e->kind == NW_RVTLB_VS || (!s->f->rs2_x0 && e->vmid != s->tag))
		return false;
	if (s->f->rs1_x0)
		return true;
	return range_holds(e->kind == NW_RVTLB_VSG ? e->mid : e->addr, e->size, s->addr);
}

nw_status_t nw_rvtlb_fence(struct nw_rvtlb *tlb, const struct nw_rvfence *f)
{
	struct scope s = { tlb, f, f->rs1, 0 };

	if (nw_rvfence_refusal(tlb, f))
		return NW_ERR_UNSUPPORTED;
	if (is_vs_fence(f->op)) {
		if (!f->rs1_x0 && !is_valid_va(tlb, f->rs1))
			return NW_OK;
		s.tag = (uint16_t)(f->rs2 & ((UINT64_C(1) << tlb->asid_bits) - 1));
		nw_ttlb_drop(&tlb->core, is_in_vs_scope, &s);
		return NW_OK;
	}
	s.addr = f->rs1 << 2;
	s.tag = (uint16_t)(f->rs2 & ((UINT64_C(1) << tlb->vmid_bits) - 1));
	nw_ttlb_drop(&tlb->core, is_in_g_scope, &s);
	return NW_OK;
}
