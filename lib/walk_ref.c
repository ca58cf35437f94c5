/* The reference guest walker, written from the SDM text rule by rule, with no
 * tables and no shortcuts: Vol. 3A §4.3 (32-bit paging), §4.4 (PAE), §4.5
 * (4-level and 5-level), §4.6 (access rights), §4.7 (page-fault error code),
 * §4.8 (accessed and dirty flags). The access-rights and error-code rules are
 * the predicates of walk_rules.h, applied one by one; the fast walker's tables
 * are generated from the same predicates (perm.c). The fast walker
 * (walk_fast.c) must agree with it on every case. */
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "walk_internal.h"
#include "walk_rules.h"

/* The root's level: the mode's format's (0 with paging off). */
static unsigned top_level(enum nw_paging_mode mode)
{
	const struct nw_pt_format *fmt = nw_paging_format(mode);

	return fmt ? fmt->top : 0;
}

/* 4-level paging translates 48-bit linear addresses, 5-level 57-bit ones; a
 * non-canonical address is #GP (§3.3.7.1, §4.5). */
static bool is_noncanonical(enum nw_paging_mode mode, uint64_t gva)
{
	if (mode != NW_PAGING_4LEVEL && mode != NW_PAGING_5LEVEL)
		return false;
	return !nw_walk_is_canonical(gva, mode == NW_PAGING_5LEVEL ? 57 : 48);
}

/* A paging-structure entry with P=0 maps nothing; its other bits are ignored (§4.3-§4.5). */
static bool entry_is_present(uint64_t entry)
{
	return (entry & NW_PTE_P) != 0;
}

/* A PTE maps a page; so does an entry with PS=1 where PS maps one (§4.3-§4.5). */
static bool entry_maps_page(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, uint64_t entry)
{
	return level == NW_LEVEL_PT || ((entry & NW_PTE_PS) && nw_rule_ps_maps_page(cpu, mode, level));
}

/* A present entry with any reserved bit set makes the access fault with RSVD=1 (§4.7). */
static bool pte_has_rsvd_bits(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, uint64_t entry)
{
	return (entry & nw_rule_rsvd_bits(cpu, mode, level, (entry & NW_PTE_PS) != 0)) != 0;
}

/* The linear-address bits each level indexes: the mode's format (Figures 4-2, 4-5, 4-8, 4-11). */
static unsigned level_index(enum nw_paging_mode mode, unsigned level, uint64_t linear)
{
	return nw_pt_index(nw_paging_format(mode), (int)level, linear);
}

/* Next table or page frame named by an entry (§4.3-§4.5 address fields). */
static uint64_t entry_address(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, uint64_t entry)
{
	if (mode == NW_PAGING_32) {
		if (level == NW_LEVEL_PD && entry_maps_page(cpu, mode, level, entry))
			return (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			       ((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
		return entry & UINT64_C(0xfffff000);
	}
	return entry & NW_PTE_ADDR_MASK & ~nw_rule_bits(63, nw_cpu_maxphyaddr(cpu));
}

/* Sets the accessed flag of every entry the walk used, and the dirty flag of
 * the leaf for a write (§4.8). The PAE PDPTE registers have no A flag. */
static bool set_accessed_dirty(struct nw_walk_ctx *ctx, enum nw_paging_mode mode, unsigned top, unsigned leaf,
			       bool upper)
{
	unsigned bytes = mode == NW_PAGING_32 ? 4 : 8;

	for (unsigned level = top; level >= leaf; level--) {
		uint64_t entry = ctx->res->steps[level].entry, want = NW_PTE_A;

		if (nw_paging_is_pdpte_register(mode, level))
			continue;
		if (level != leaf && !upper)
			continue;
		if (level == leaf && ctx->access->type == NW_ACCESS_WRITE)
			want |= NW_PTE_D;
		if ((entry & want) != want && !nw_walk_set_flags(ctx, (int)level, bytes, want))
			return false;
	}
	return true;
}

void nw_walk_reference(const struct nw_walk_config *config, const struct nw_cpu *cpu, const struct nw_access *access,
		       unsigned flags, struct nw_walk_result *res)
{
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);
	struct nw_walk_ctx ctx = {
		.config = config, .access = access, .flags = flags,
		.user = nw_rule_is_user_access(cpu->cpl, access->implicit), .linear = true, .res = res,
	};
	bool write_ad = !(flags & NW_WALK_LOOKUP);
	unsigned bytes = mode == NW_PAGING_32 ? 4 : 8;
	uint64_t linear = access->gva.val, table, entry = 0, page_size;
	uint32_t rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
	unsigned top = top_level(mode), level;
	uint32_t pfec = nw_rule_pfec_access_bits(cpu, ctx.user, access->type); /* describes the access (§4.7) */

	nw_walk_result_init(res, mode, access->gva);
	if (mode != NW_PAGING_4LEVEL && mode != NW_PAGING_5LEVEL)
		linear &= UINT64_C(0xffffffff); /* 32-bit linear addresses outside long mode */
	if (mode == NW_PAGING_OFF) {
		/* Paging off: the linear address is the guest-physical address, every right granted. */
		res->rights = rights;
		res->guest_page_size = NW_PAGE_SIZE;
		nw_walk_finish(&ctx, nw_gpa(linear));
		return;
	}
	if (is_noncanonical(mode, linear)) {
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return;
	}

	/* Phase 1: find the translation. */
	if (mode == NW_PAGING_32)
		table = cpu->cr3 & UINT64_C(0xfffff000);
	else
		table = cpu->cr3 & NW_PTE_ADDR_MASK & ~nw_rule_bits(63, nw_cpu_maxphyaddr(cpu));
	for (level = top;; level--) {
		unsigned index = level_index(mode, level, linear);

		if (nw_paging_is_pdpte_register(mode, level)) {
			/* The PDPTE registers, loaded at MOV CR3: no memory reference (§4.4.1). */
			entry = cpu->pdpte[index];
			res->steps[level].entry = entry;
			res->steps[level].index = index;
			res->steps[level].table_gpa = nw_gpa(cpu->cr3 & NW_CR3_PAE_PDPT_MASK);
			res->steps[level].read = true;
		} else if (!nw_walk_read_entry(&ctx, nw_gpa(table), index, bytes, (int)level, &entry)) {
			return;
		}
		if (!entry_is_present(entry)) {
			nw_walk_page_fault(&ctx, pfec, (int)level);
			return;
		}
		if (pte_has_rsvd_bits(cpu, mode, level, entry)) {
			nw_walk_page_fault(&ctx, pfec | NW_PFEC_RSVD | NW_PFEC_P, (int)level);
			return;
		}
		if (!nw_paging_is_pdpte_register(mode, level))
			rights &= nw_walk_entry_rights(entry, nw_rule_is_xd_in_force(cpu, mode));
		res->steps[level].rights = rights;
		if (entry_maps_page(cpu, mode, level, entry))
			break;
		/* Policy "as passed": the A flag of an upper entry is set as the walk goes through it. */
		if (write_ad && config->ad_policy == NW_AD_AS_PASSED && !nw_paging_is_pdpte_register(mode, level) &&
		    !(entry & NW_PTE_A) && !nw_walk_set_flags(&ctx, (int)level, bytes, NW_PTE_A))
			return;
		table = entry_address(cpu, mode, level, entry);
	}
	page_size = nw_pt_level_size(nw_paging_format(mode), (int)level);
	res->leaf_level = (int)level;
	res->leaf_entry = entry;
	res->rights = rights;
	res->guest_page_size = page_size;
	res->guest_pat_index = (uint8_t)nw_pte_pat_index(entry, (int)level);

	/* Phase 2: check the rights of the access (§4.6.1), then its protection key (§4.6.2). */
	{
		bool pk = nw_rule_pk_blocks(cpu, mode, ctx.user, access->type, rights, entry);
		bool lifted = nw_rule_is_smap_lifted(cpu, access->implicit);

		if (nw_rule_rights_block(cpu, ctx.user, lifted, access->type, rights) || pk) {
			nw_walk_page_fault(&ctx, pfec | NW_PFEC_P | (pk ? NW_PFEC_PK : 0), (int)level);
			return;
		}
	}

	/* Phase 3: accessed and dirty flags (§4.8). */
	if (write_ad && !set_accessed_dirty(&ctx, mode, top, level, config->ad_policy == NW_AD_ON_SUCCESS))
		return;
	nw_walk_finish(&ctx, nw_gpa((entry_address(cpu, mode, level, entry) & ~(page_size - 1)) |
				    (linear & (page_size - 1))));
}
