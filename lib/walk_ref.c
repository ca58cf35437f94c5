/* The reference guest walker for x86 paging, written from the SDM text rule
 * by rule, with no tables and no shortcuts: Vol. 3A §4.3 (32-bit paging),
 * §4.4 (PAE), §4.5 (4-level and 5-level), §4.6 (access rights), §4.7
 * (page-fault error code), §4.8 (accessed and dirty flags). It is the x86
 * description of the one guest walk (walk_guest.h): the geometry is the
 * paging mode's format (gpt_formats.h), the rules the predicates of
 * walk_rules.h, applied one by one; the fast walker's tables are generated
 * from the same predicates (perm.c). The fast walker (walk_fast.c) must agree
 * with it on every case. */
#include <nestwalk/assert.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "walk_guest.h"
#include "walk_rules.h"

/* The x86 walk's own state beside the shared one. */
struct x86_walk {
	struct nw_gs_walk w; /* first: the description's callbacks get &x86->w */
	const struct nw_cpu *cpu;
	enum nw_paging_mode mode;
	uint32_t pfec; /* the error-code bits that describe the access (§4.7) */
};

static const struct x86_walk *x86_of(const struct nw_gs_walk *w)
{
	return (const struct x86_walk *)w;
}

/* 4-level paging translates 48-bit linear addresses, 5-level 57-bit ones; a
 * non-canonical address is #GP (§3.3.7.1, §4.5). */
static bool is_noncanonical(enum nw_paging_mode mode, uint64_t gva)
{
	if (mode != NW_PAGING_4LEVEL && mode != NW_PAGING_5LEVEL)
		return false;
	return !nw_walk_is_canonical(gva, mode == NW_PAGING_5LEVEL ? 57 : 48);
}

static bool x86_start(struct nw_gs_walk *w)
{
	struct x86_walk *x = (struct x86_walk *)w;
	const struct nw_cpu *cpu = x->cpu;
	struct nw_walk_result *res = w->ctx.res;
	uint64_t linear = w->ctx.access->gva.val;

	nw_walk_result_init(res, x->mode, w->ctx.access->gva);
	w->rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
	if (x->mode != NW_PAGING_4LEVEL && x->mode != NW_PAGING_5LEVEL)
		linear &= UINT64_C(0xffffffff); /* 32-bit linear addresses outside long mode */
	w->va = linear;
	w->fmt = nw_paging_format(x->mode);
	if (!w->fmt) {
		/* Paging off: the linear address is the guest-physical address, every right granted. */
		res->rights = w->rights;
		res->guest_page_size = NW_PAGE_SIZE;
		nw_walk_finish(&w->ctx, nw_gpa(linear));
		return false;
	}
	if (is_noncanonical(x->mode, linear)) {
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return false;
	}
	w->top = w->fmt->top;
	if (x->mode == NW_PAGING_32)
		w->table = cpu->cr3 & UINT64_C(0xfffff000);
	else
		w->table = cpu->cr3 & NW_PTE_ADDR_MASK & ~nw_rule_bits(63, nw_cpu_maxphyaddr(cpu));
	return true;
}

static bool x86_read(struct nw_gs_walk *w, unsigned level, uint64_t *entry)
{
	const struct x86_walk *x = x86_of(w);
	unsigned index = nw_pt_index(w->fmt, (int)level, w->va);
	struct nw_walk_step *step = &w->ctx.res->steps[level];

	if (!nw_paging_is_pdpte_register(x->mode, level))
		return nw_walk_read_entry(&w->ctx, nw_gpa(w->table), index, w->fmt->entry_size, (int)level, entry);
	/* The PDPTE registers, loaded at MOV CR3: no memory reference (§4.4.1). */
	*entry = x->cpu->pdpte[index];
	step->entry = *entry;
	step->index = index;
	step->table_gpa = nw_gpa(x->cpu->cr3 & NW_CR3_PAE_PDPT_MASK);
	step->read = true;
	return true;
}

/* A paging-structure entry with P=0 maps nothing; its other bits are ignored (§4.3-§4.5). */
static bool x86_is_present(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	(void)level;
	return (entry & NW_PTE_P) != 0;
}

/* A present entry with any reserved bit set makes the access fault with RSVD=1 (§4.7). */
static bool x86_has_rsvd_bits(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct x86_walk *x = x86_of(w);

	return (entry & nw_rule_rsvd_bits(x->cpu, x->mode, level, (entry & NW_PTE_PS) != 0)) != 0;
}

/* §4.6.1: R/W and U/S ANDed, XD ORed over the levels; a PAE PDPTE register grants everything. */
static uint32_t x86_rights(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct x86_walk *x = x86_of(w);

	if (nw_paging_is_pdpte_register(x->mode, level))
		return w->rights;
	return w->rights & nw_walk_entry_rights(entry, nw_rule_is_xd_in_force(x->cpu, x->mode));
}

/* A PTE maps a page; so does an entry with PS=1 where PS maps one (§4.3-§4.5). */
static bool x86_maps_page(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct x86_walk *x = x86_of(w);

	return level == NW_LEVEL_PT || ((entry & NW_PTE_PS) && nw_rule_ps_maps_page(x->cpu, x->mode, level));
}

/* Policy "as passed": the A flag of an upper entry is set as the walk goes
 * through it (the PAE PDPTE registers have none, §4.4.1). */
static bool x86_pass(struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct x86_walk *x = x86_of(w);

	if ((w->ctx.flags & NW_WALK_LOOKUP) || w->ctx.config->ad_policy != NW_AD_AS_PASSED ||
	    nw_paging_is_pdpte_register(x->mode, level) || (entry & NW_PTE_A))
		return true;
	return nw_walk_set_flags(&w->ctx, (int)level, w->fmt->entry_size, NW_PTE_A);
}

/* Next table or page frame named by an entry (§4.3-§4.5 address fields). */
static uint64_t x86_address(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct x86_walk *x = x86_of(w);

	if (x->mode == NW_PAGING_32) {
		if (level == NW_LEVEL_PD && x86_maps_page(w, level, entry))
			return (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			       ((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
		return entry & UINT64_C(0xfffff000);
	}
	return entry & NW_PTE_ADDR_MASK & ~nw_rule_bits(63, nw_cpu_maxphyaddr(x->cpu));
}

static uint8_t x86_attr_index(unsigned level, uint64_t leaf)
{
	return (uint8_t)nw_pte_pat_index(leaf, (int)level);
}

/* x86 has no accessed-flag fault: the walk sets A (§4.8). */
static bool x86_is_unaccessed(const struct nw_gs_walk *w, uint64_t leaf)
{
	(void)w;
	(void)leaf;
	return false;
}

static bool x86_pk_blocks(const struct nw_gs_walk *w, uint64_t leaf)
{
	const struct x86_walk *x = x86_of(w);

	return nw_rule_pk_blocks(x->cpu, x->mode, w->ctx.user, w->ctx.access->type, w->rights, leaf);
}

/* §4.6.1 the rights of the access, then §4.6.2 its protection key. */
static bool x86_blocks(const struct nw_gs_walk *w, uint64_t leaf)
{
	const struct x86_walk *x = x86_of(w);
	bool lifted = nw_rule_is_smap_lifted(x->cpu, w->ctx.access->implicit);

	return nw_rule_rights_block(x->cpu, w->ctx.user, lifted, w->ctx.access->type, w->rights) ||
	       x86_pk_blocks(w, leaf);
}

/* #PF (§4.7): P clear for a missing entry, P|RSVD for a reserved bit, P (and PK) for the rights. */
static void x86_fault(struct nw_gs_walk *w, enum nw_gs_fault kind, unsigned level)
{
	const struct x86_walk *x = x86_of(w);
	uint32_t pfec = x->pfec;

	switch (kind) {
	case NW_GS_FAULT_MISSING:
		break;
	case NW_GS_FAULT_MALFORMED:
		pfec |= NW_PFEC_RSVD | NW_PFEC_P;
		break;
	case NW_GS_FAULT_UNACCESSED:
	case NW_GS_FAULT_PERMISSION:
		pfec |= NW_PFEC_P | (x86_pk_blocks(w, w->ctx.res->leaf_entry) ? NW_PFEC_PK : 0);
		break;
	}
	nw_walk_page_fault(&w->ctx, pfec, (int)level);
}

/* Sets the accessed flag of every entry the walk used, and the dirty flag of
 * the leaf for a write (§4.8): the upper entries here only under the policy
 * "on success" (x86_pass set them under "as passed"). The PAE PDPTE registers
 * have no A flag. */
static bool x86_set_flags(struct nw_gs_walk *w, unsigned leaf)
{
	const struct x86_walk *x = x86_of(w);
	bool upper = w->ctx.config->ad_policy == NW_AD_ON_SUCCESS;

	for (unsigned level = w->top; level >= leaf; level--) {
		uint64_t entry = w->ctx.res->steps[level].entry, want = NW_PTE_A;

		if (nw_paging_is_pdpte_register(x->mode, level))
			continue;
		if (level != leaf && !upper)
			continue;
		if (level == leaf && w->ctx.access->type == NW_ACCESS_WRITE)
			want |= NW_PTE_D;
		if ((entry & want) != want && !nw_walk_set_flags(&w->ctx, (int)level, w->fmt->entry_size, want))
			return false;
	}
	return true;
}

static const struct nw_guest_stage x86_stage = {
	.start = x86_start,
	.read = x86_read,
	.is_present = x86_is_present,
	.is_malformed = x86_has_rsvd_bits,
	.rights = x86_rights,
	.maps_page = x86_maps_page,
	.pass = x86_pass,
	.address = x86_address,
	.attr_index = x86_attr_index,
	.is_unaccessed = x86_is_unaccessed,
	.blocks = x86_blocks,
	.fault = x86_fault,
	.set_flags = x86_set_flags,
};

void nw_walk_reference(const struct nw_walk_config *config, const struct nw_cpu *cpu, const struct nw_access *access,
		       unsigned flags, struct nw_walk_result *res)
{
	bool user = nw_rule_is_user_access(cpu->cpl, access->implicit);
	struct x86_walk x = {
		.w.ctx = { .config = config, .access = access, .flags = flags, .user = user, .linear = true,
			   .res = res },
		.cpu = cpu,
		.mode = nw_cpu_paging_mode(cpu),
		.pfec = nw_rule_pfec_access_bits(cpu, user, access->type),
	};

	/* An AArch64 or RISC-V second stage under an x86 guest is a caller's mistake, not guest data. */
	NW_ASSERT(config->stage2.kind != NW_STAGE2_ARM64 && config->stage2.kind != NW_STAGE2_RISCV);
	nw_walk_guest(&x86_stage, &x.w);
}
