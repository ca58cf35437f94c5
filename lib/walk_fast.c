/* The fast guest walker: one walk body, walk() below, instantiated by
 * constant flags as KVM instantiates paging_tmpl.h per format: with a second
 * stage or not, recording the levels or not, plain or general. The plain
 * copies record and write nothing: they answer a translation that needs no
 * write (what a TLB fill mostly finds, and what nw_walker_probe() gives) and
 * decline anything else (a fault, an A/D flag to set, a second-stage entry
 * its masks do not prove, a table outside the direct-map window); the general
 * copy then walks again with every rule, and sees the same memory. Levels are
 * data (walker.c), the rights check is a lookup in the tables perm.c
 * generates from walk_rules.h, and the second stage is masks (stage2_fast.h)
 * with the full translate for what they do not prove. It must agree with
 * walk_ref.c on every case. An AArch64 walker (nw_walker_init_arm64) has
 * plain copies of the same body with the Arm ARM's rules (arm64_s1_rules.h)
 * where x86's differ: the range bit 55 selects instead of CR3, a descriptor is
 * a table by its bit 1 instead of a leaf by PS, the rights are the leaf's
 * AP/PXN/UXN; its general walk is nw_arm64_walk (arm64_s1_walk.c). A RISC-V
 * VS-stage walker (nw_walker_init_riscv) has plain copies with a constant rv
 * flag and the spec's rules (riscv_pte_rules.h, riscv_vs_rules.h): vsatp
 * gives the root, an entry with R or X is a leaf as x86's with PS, a PPN
 * points to the next table, the rights are the leaf's R/W/X/U; its general
 * walk is nw_rv_vs_walk (riscv_vs_walk.c). */
#include <nestwalk/arm64_s2.h>
#include <nestwalk/assert.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "arm64_s1_rules.h"
#include "gpt_formats.h"
#include "riscv_vs_formats.h"
#include "riscv_vs_rules.h"
#include "stage2_rules.h"
#include "stage2_fast.h"
#include "vmsa.h"
#include "vmsa_formats.h"
#include "walk_internal.h"
#include "walker.h"

#define ALL_BITS (~UINT64_C(0))

/* The walk accumulates one value, the AND of every entry with XD flipped: R/W
 * and U/S stay set only where every entry has them, XD only where none has it
 * (§4.6.1: R/W and U/S ANDed, XD ORed). */
#define ACC_FLIP NW_PTE_XD

static uint32_t rights_of(const struct nw_walker *walker, uint64_t acc)
{
	return nw_walk_entry_rights(acc ^ ACC_FLIP, walker->xd_mask != 0);
}

/* The accumulator after entries that granted rights (NW_WALK_RIGHT_*): R/W
 * and U/S where granted, the flipped XD clear where X is not. */
static uint64_t acc_of_rights(uint32_t rights)
{
	uint64_t acc = ALL_BITS;

	if (!(rights & NW_WALK_RIGHT_W))
		acc &= ~NW_PTE_RW;
	if (!(rights & NW_WALK_RIGHT_U))
		acc &= ~NW_PTE_US;
	if (!(rights & NW_WALK_RIGHT_X))
		acc &= ~ACC_FLIP;
	return acc;
}

/* What the later phases need of each level, recorded or not. */
struct fast_path {
	uint64_t entry[NW_MAX_LEVELS + 1]; /* index = SDM level */
	uint64_t gpa[NW_MAX_LEVELS + 1];   /* the entry's guest-physical address */
};

/* A present entry with a reserved bit, or a not-present one: (entry ^ P) has
 * P set for the latter, and only the reserved bits can be set for the former,
 * so one test finds both (§4.7: either makes the access fault). */
static bool is_unusable(uint64_t entry, uint64_t rsvd)
{
	return ((entry ^ NW_PTE_P) & (rsvd | NW_PTE_P)) != 0;
}

static bool is_pdpte_register(const struct nw_walker *walker, const struct nw_walk_level_desc *desc)
{
	return nw_paging_is_pdpte_register(walker->mode, desc->level);
}

/* The slow paths, out of line so the loop keeps its state in registers; they
 * take the walk context the shared helpers (walk_internal.h) use. */

/* A stage-2 translation the masks did not prove, by the full translate
 * (recorded in steps[level].s2 under NW_WALK_RECORD_S2). */
struct slow_hit {
	uint64_t hpa;
	unsigned refs;
	bool ok;
};

static __attribute__((noinline)) struct slow_hit translate_table_slow(struct nw_walk_ctx *ctx, uint64_t gpa, int level,
								       unsigned bytes)
{
	struct nw_walk_result *res = ctx->res;
	struct nw_s2_result local, *s2 = (ctx->flags & NW_WALK_RECORD_S2) ? &res->steps[level].s2 : &local;

	nw_walk_s2_translate(ctx, nw_gpa(gpa), NW_ACCESS_READ, true, bytes, s2);
	if (s2->status != NW_S2_OK) {
		nw_walk_s2_fault(ctx, s2, nw_gpa(gpa), true, false, level);
		return (struct slow_hit){ .refs = s2->refs };
	}
	return (struct slow_hit){ .hpa = s2->hpa.val, .refs = s2->refs, .ok = true };
}

/* The final translation by the full translate; returns its references. */
static __attribute__((noinline)) unsigned finish_slow(struct nw_walk_ctx *ctx, uint64_t gpa)
{
	struct nw_s2_result local, *s2 = (ctx->flags & NW_WALK_RECORD_S2) ? &ctx->res->final_s2 : &local;

	nw_walk_finish_into(ctx, nw_gpa(gpa), s2);
	return s2->refs;
}

static __attribute__((noinline)) void page_fault(struct nw_walk_ctx *ctx, uint32_t error_code, int level)
{
	nw_walk_page_fault(ctx, error_code, level);
}

/* A guest table entry nothing backs (the HAL found none). */
static __attribute__((noinline)) void no_memory(struct nw_walk_ctx *ctx, uint64_t gpa, int level)
{
	nw_walk_no_memory(ctx, nw_gpa(gpa), level);
}

static __attribute__((noinline)) bool set_flags(const struct nw_walker *walker, struct nw_walk_ctx *ctx, uint64_t gpa,
						int level, uint64_t set)
{
	return nw_walk_set_flags_at(ctx, nw_gpa(gpa), level, walker->entry_bytes, set);
}

/* Guest A/D (§4.8): A on every entry used (upper ones already done under
 * NW_AD_AS_PASSED), D on the leaf for a write. */
static __attribute__((noinline)) bool set_accessed_dirty(const struct nw_walker *walker, struct nw_walk_ctx *ctx,
							 const struct fast_path *path, unsigned first_index,
							 unsigned leaf_index)
{
	bool upper = walker->config.ad_policy == NW_AD_ON_SUCCESS;

	for (unsigned i = upper ? first_index : leaf_index; i <= leaf_index; i++) {
		const struct nw_walk_level_desc *desc = &walker->levels[i];
		uint64_t want = NW_PTE_A | (i == leaf_index && ctx->access->type == NW_ACCESS_WRITE ? NW_PTE_D : 0);

		if (is_pdpte_register(walker, desc) || (path->entry[desc->level] & want) == want)
			continue;
		if (!set_flags(walker, ctx, path->gpa[desc->level], desc->level, want))
			return false;
	}
	return true;
}

/* The final guest-physical address through the second stage: completes an
 * OK result or sets the stage-2 outcome; returns the references it made. */
static inline __attribute__((always_inline)) unsigned finish(const struct nw_walker *walker, struct nw_walk_ctx *ctx,
							     uint64_t gpa, unsigned s2_need, bool two_d, bool record)
{
	struct nw_walk_result *res = ctx->res;
	unsigned flags = ctx->flags;
	struct nw_s2_hit hit;

	if (record && (flags & NW_WALK_RECORD_S2))
		return finish_slow(ctx, gpa);
	if (!two_d) {
		res->gpa = nw_gpa(gpa);
		res->hpa = nw_hpa_from_identical_gpa(res->gpa);
		res->s2_page_size = NW_S2_NONE_PAGE_SIZE;
		res->memory_type = NW_S2_NONE_MEMORY_TYPE;
		res->s2_rights = NW_S2_NONE_RIGHTS;
		return 0;
	}
	if (!nw_s2_fast_translate(&walker->s2, gpa, s2_need, &hit))
		return finish_slow(ctx, gpa);
	res->gpa = nw_gpa(gpa);
	res->hpa = nw_hpa(hit.hpa);
	res->s2_page_size = hit.page_size;
	res->memory_type = nw_s2_fast_memory_type(&walker->s2, &hit);
	res->s2_rights = nw_s2_fast_rights(&walker->s2, &hit);
	return hit.refs;
}

/* The plain copies' answer: the fields of a translation, as the result would
 * hold them. */
static inline __attribute__((always_inline)) void hit_from(struct nw_walk_hit *hit, uint64_t gpa, int level,
							   uint64_t page, uint64_t entry, uint32_t rights,
							   unsigned refs)
{
	hit->gpa = nw_gpa(gpa);
	hit->leaf_entry = entry;
	hit->guest_page_size = page;
	hit->rights = rights;
	hit->guest_pat_index = (uint8_t)nw_pte_pat_index(entry, level);
	hit->leaf_level = (uint8_t)level;
	hit->refs = (uint8_t)refs;
}

/* AArch64 (Arm ARM D8.2): the range VA bit 55 selects, NULL when no plain
 * walk of the copy's geometry (va_bits, the 4 KiB granule) starts there (its
 * walk disabled, the address outside it, another geometry, a TTBR above the
 * output size): the reference reports those. */
static inline __attribute__((always_inline)) const struct nw_arm64_s1_range *a64_range(const struct nw_walker *walker,
											uint64_t va, unsigned va_bits)
{
	const struct nw_arm64_s1 *s1 = &walker->a64.cpu.s1;
	unsigned which = nw_a64_va_range(va);
	const struct nw_arm64_s1_range *range = &s1->range[which];

	if (!range->walks || range->granule_bits != NW_VMSA_GRANULE_BITS || range->va_bits != va_bits ||
	    nw_a64_va_is_out_of_range(range, which, va) || nw_a64_has_addr_above_ps(s1->ps_bits, range->table))
		return 0;
	return range;
}

/* AArch64: a translation the plain copy may give. Every descriptor valid
 * (bit 0 in the AND of all), the leaf a page at level 3 or a block where the
 * granule has them (D8.3), no hierarchical control on a table (APTable,
 * UXNTable, PXNTable would take rights away), no address at or above the
 * output size, AF set and no write to AP[2] memory (a fault, or the hardware
 * update of HA/HD: a write), and the access allowed (AArch64.S1CheckPermissions). */
static inline __attribute__((always_inline)) bool a64_is_plain(const struct nw_walker *walker,
							       const struct nw_access *access,
							       const struct nw_pt_format *fmt, int level, uint64_t all,
							       uint64_t tables_or, uint64_t leaf, uint32_t rights)
{
	const struct nw_arm64_cpu *cpu = &walker->a64.cpu;

	if (!(all & NW_ARM64_S1_VALID) || !(leaf & NW_ARM64_S1_AF) ||
	    (access->type == NW_ACCESS_WRITE && (leaf & NW_ARM64_S1_AP2)))
		return false;
	if (level == NW_LEVEL_PT ? !(leaf & NW_ARM64_S1_TABLE) : !fmt->level[level].leaf_ok)
		return false;
	if ((tables_or & NW_ARM64_S1_TABLE_CONTROLS) || nw_a64_has_addr_above_ps(cpu->s1.ps_bits, tables_or | leaf))
		return false;
	return !nw_a64_rights_block(cpu, access, rights);
}

/* AArch64: the final stage-2 access, EL0's when the access is checked as EL0's (FEAT_XNX tells them apart). */
static inline unsigned a64_s2_need(const struct nw_walker *walker, const struct nw_access *access)
{
	return (unsigned)access->type | (nw_a64_is_el0_checked(&walker->a64.cpu, access) ? NW_S2_NEED_USER : 0);
}

/* AArch64: the attributes of a plain translation (arm64_memattr.h), from the
 * tables the walker derived: the leaf's AttrIndx and SH, combined with the
 * stage-2 leaf's MemAttr and SH when there is one (as HCR_EL2.FWB says). */
static struct nw_arm64_memattr a64_attrs(const struct nw_walker *walker, uint64_t leaf, const struct nw_s2_hit *s2)
{
	const struct nw_arm64_memattr *s1 =
		&walker->a64.s1_attrs[nw_a64_attr_index(leaf)][(leaf >> NW_ARM64_S1_SH_SHIFT) & 3];
	unsigned memattr = (unsigned)((s2 ? s2->leaf : 0) & NW_ARM64_S2_MEMATTR_MASK) >> NW_ARM64_S2_MEMATTR_SHIFT;

	if (!s2)
		return *s1;
	if (walker->config.stage2.arm64->config.fwb)
		return nw_arm64_memattr_fwb(s1, memattr, (unsigned)(s2->leaf >> NW_ARM64_S2_SH_SHIFT) & 3);
	return nw_arm64_memattr_combine(s1, &walker->a64.s2_attrs[memattr][(s2->leaf >> NW_ARM64_S2_SH_SHIFT) & 3]);
}

/* RISC-V: the leaf's rights (step 5 reads R, W, X and U of the leaf only). */
static inline uint32_t rv_leaf_rights(uint64_t leaf)
{
	return ((leaf & NW_RV_PTE_R) ? NW_WALK_RIGHT_R : 0) | ((leaf & NW_RV_PTE_W) ? NW_WALK_RIGHT_W : 0) |
	       ((leaf & NW_RV_PTE_X) ? NW_WALK_RIGHT_X : 0) | ((leaf & NW_RV_PTE_U) ? NW_WALK_RIGHT_U : 0);
}

/* RISC-V: a translation the plain copy may give. Every PTE valid (V in the
 * AND of all), no pointer PTE with a reserved bit or one of the bits reserved
 * there (A, D, U, PBMT, N), a leaf with R or X, neither reserved bits nor the
 * W-without-R or PBMT 3 encodings, no NAPOT page (N: the reference maps its
 * 64 KiB), aligned if a superpage, A set and for a store D (else a fault under
 * Svade or a write under Svadu), and the access allowed at the privilege. */
static inline __attribute__((always_inline)) bool rv_is_plain(const struct nw_walker *walker,
							      const struct nw_access *access,
							      const struct nw_pt_format *fmt, int level, uint64_t all,
							      uint64_t tables_or, uint64_t leaf, uint32_t rights)
{
	const struct nw_rv_vs_cpu *cpu = &walker->rv;
	uint64_t ad = nw_rv_vs_ad_needed(access->type);

	if (!(all & NW_RV_PTE_V) || !(leaf & (NW_RV_PTE_R | NW_RV_PTE_X)) || (leaf & ad) != ad)
		return false;
	if ((tables_or & (NW_RV_PTE_RSVD | NW_RV_PTE_PBMT_MASK | NW_RV_PTE_N | NW_RV_PTE_A | NW_RV_PTE_D |
			  NW_RV_PTE_U)) ||
	    (leaf & nw_rv_pte_rsvd_bits(cpu->pbmte, false)))
		return false;
	if (nw_rv_pte_has_w_without_r(leaf) || nw_rv_pte_has_reserved_pbmt(leaf) ||
	    nw_s2_has_misaligned_large_page(fmt, level, leaf))
		return false;
	return !nw_rv_vs_rights_block(cpu, access->type, rights);
}

/* RISC-V: the G-stage access of the final address, VU-mode's as the walk's. */
static inline unsigned rv_s2_need(const struct nw_walker *walker, const struct nw_access *access)
{
	return (unsigned)access->type | (walker->rv.vu ? NW_S2_NEED_USER : 0);
}

/* The walk. A plain copy (plain: res unused, hit filled) returns whether it
 * answered; a general one (hit unused) always answers, in res. fmt is the
 * walker's format; a plain copy is instantiated with it constant, so the
 * loop unrolls into straight code with the shifts and index widths folded. */
static inline __attribute__((always_inline)) bool walk(const struct nw_walker *walker, const struct nw_access *access,
						       unsigned flags, struct nw_walk_result *res,
						       struct nw_walk_hit *hit, const struct nw_pt_format *fmt,
						       const struct nw_walk_start *start, bool two_d, bool record,
						       bool plain, bool a64, bool rv)
{
	const struct nw_cpu *cpu = &walker->cpu;
	const struct nw_walk_access_kind *kind = nw_walker_kind(walker, access->type, access->implicit);
	struct nw_walk_ctx ctx = {
		.config = &walker->config, .access = access, .flags = flags, .user = kind->user, .linear = true,
		.res = res,
	};
	bool write_ad = !plain && !(flags & NW_WALK_LOOKUP);
	/* Plain: every stage-2 A/D flag the walk would set is already set. */
	unsigned set_ad = plain || write_ad ? NW_S2_NEED_SET_AD : 0;
	bool upper_ad = write_ad && walker->config.ad_policy == NW_AD_ON_SUCCESS;
	uint64_t passed_a = write_ad && !upper_ad ? NW_PTE_A : 0; /* A set as the walk passes an entry */
	bool slow_s2 = record && (flags & NW_WALK_RECORD_S2);
	unsigned bytes = plain ? 8 : walker->entry_bytes, refs = 0;
	uint64_t linear = access->gva.val, table, entry = 0, acc = ALL_BITS, page, leaf_gpa = 0;
	uint64_t map_size = walker->map_size;
	const uint8_t *map = walker->map;
	const struct nw_walk_level_desc *desc = walker->levels, *first;
	unsigned va_bits = plain ? (unsigned)__builtin_ctzll(nw_pt_va_limit(fmt)) : walker->va_bits;
	const struct nw_arm64_s1_range *range = a64 ? a64_range(walker, linear, va_bits) : 0;
	unsigned s2_need = a64 ? a64_s2_need(walker, access) : rv ? rv_s2_need(walker, access) : kind->s2_need;
	int top, level;
	uint64_t tables_or = 0; /* plain: the OR of the table entries */
	uint64_t leaf_ad = NW_PTE_A | (access->type == NW_ACCESS_WRITE ? NW_PTE_D : 0);
	struct fast_path path;
	uint32_t rights;
	bool pk, is_leaf;

	if (!plain)
		nw_walk_result_start(res, walker->mode, access->gva);
	if (record)
		nw_walk_record_init(res);
	if (a64) {
		if (!range)
			return false;
	} else if (va_bits == 32) {
		linear &= UINT64_C(0xffffffff);
	} else if (!nw_walk_is_canonical(linear, va_bits)) {
		if (plain)
			return false;
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return true;
	}
	if (!plain && walker->nlevels == 0) {
		res->rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
		res->guest_page_size = NW_PAGE_SIZE;
		res->refs = finish(walker, &ctx, linear, s2_need | set_ad, two_d, record);
		return true;
	}

	table = a64 ? range->table : rv ? walker->rv.vsatp.root : cpu->cr3 & walker->cr3_mask;
	if (!plain && is_pdpte_register(walker, desc)) {
		/* The PDPTE registers, loaded at MOV CR3 (§4.4.1): no memory reference,
		 * reserved bits already checked, no rights of their own. */
		unsigned index = nw_pt_index(fmt, NW_LEVEL_PDPT, linear);

		entry = cpu->pdpte[index];
		if (record)
			res->steps[NW_LEVEL_PDPT] = (struct nw_walk_step){
				.entry = entry, .index = index, .read = true,
				.table_gpa = nw_gpa(cpu->cr3 & NW_CR3_PAE_PDPT_MASK) };
		if (!(entry & NW_PTE_P)) {
			if (plain)
				return false;
			page_fault(&ctx, kind->pfec, NW_LEVEL_PDPT);
			return true;
		}
		if (record)
			res->steps[NW_LEVEL_PDPT].rights = rights_of(walker, ALL_BITS);
		table = entry & desc->addr_mask;
		desc++;
	}
	first = desc;
	top = plain ? fmt->top : desc->level;
	if (start) {
		/* Below a paging-structure-cache entry (§4.10.3.2): the walk goes on
		 * at the next table with the rights cached down to it; the cached
		 * levels are not read again, nor is the next table's own
		 * second-stage translation (a combined mapping, Vol. 3C §29.4.2). */
		top = start->level - 1;
		first = &walker->levels[walker->levels[0].level - top];
		table = start->table_gpa.val;
		acc = acc_of_rights(start->rights);
		res->start_level = start->level;
	}
#pragma GCC unroll 5
	for (level = top; level >= NW_LEVEL_PT; level--) {
		unsigned index = nw_pt_index(fmt, level, linear);
		uint64_t gpa = table + (uint64_t)index * bytes, hpa = gpa, rsvd, ps, link;
		struct nw_walk_step *step = record ? &res->steps[level] : 0;
		const void *ptr;

		desc = first + (top - level);
		/* 4- and 5-level paging examine PS at every level above the PT
		 * (walker.c: reserved where it cannot map a page; in a PTE the bit
		 * is PAT), so a plain copy tests the format's bit there. */
		ps = plain ? (level > NW_LEVEL_PT ? fmt->ps_bit : 0) : desc->ps;
		/* AArch64 (D8.3): above level 3 a descriptor with bit 1 clear is a block. */
		link = a64 && level > NW_LEVEL_PT ? NW_ARM64_S1_TABLE : 0;
		if (record) {
			step->table_gpa = nw_gpa(table);
			step->index = index;
		}
		if (start && level == top) {
			hpa = start->table_hpa.val + (uint64_t)index * bytes;
		} else if (two_d) {
			struct nw_s2_hit s2;

			if (!slow_s2 && nw_s2_fast_translate(&walker->s2, gpa, walker->table_access | set_ad, &s2)) {
				refs += s2.refs;
				hpa = s2.hpa;
			} else if (plain) {
				return false;
			} else {
				struct slow_hit slow = translate_table_slow(&ctx, gpa, level, bytes);

				refs += slow.refs;
				if (!slow.ok)
					goto out;
				hpa = slow.hpa;
			}
		}
		if (record)
			step->table_hpa = nw_hpa(hpa - (gpa - table));
		if (plain && !two_d) {
			/* The window and every table are page-aligned, so OR-ing the
			 * entry's offset into the window's base gives its slot in any
			 * table: only the table address waits for the last load. */
			if (table >= walker->table_limit)
				return false;
			ptr = (const uint8_t *)(((uintptr_t)map | index * 8u) + table);
		} else if (plain) {
			if (hpa >= map_size)
				return false;
			ptr = map + hpa;
		} else if (!(ptr = nw_hal_phys_to_virt(walker->config.hal, nw_hpa(hpa)))) {
			no_memory(&ctx, gpa, level);
			goto out;
		}
		entry = bytes == 4 ? *(const volatile uint32_t *)ptr : *(const volatile uint64_t *)ptr;
		if (two_d || !plain)
			refs++;
		if (record) {
			step->entry = entry;
			step->read = true;
		}
		is_leaf = level == NW_LEVEL_PT || (entry & ps) || (~entry & link);
		if (plain) {
			if (!is_leaf)
				tables_or |= entry; /* a table entry: its reserved bits are tested after the leaf */
		} else if (is_unusable(entry, rsvd = (entry & ps) ? desc->rsvd_large : desc->rsvd)) {
			page_fault(&ctx, (entry & NW_PTE_P) ? kind->pfec | NW_PFEC_RSVD | NW_PFEC_P : kind->pfec,
				   level);
			goto out;
		}
		acc &= entry ^ ACC_FLIP;
		if (record)
			step->rights = rights_of(walker, acc);
		if (is_leaf) {
			leaf_gpa = gpa;
			break;
		}
		if (upper_ad) {
			path.entry[level] = entry;
			path.gpa[level] = gpa;
		}
		if ((~entry & passed_a) && !set_flags(walker, &ctx, gpa, level, NW_PTE_A))
			goto out;
		table = rv ? nw_pt_table_addr(fmt, entry) : entry & (a64 ? fmt->table_addr_mask : desc->addr_mask);
	}

	if (!two_d && plain)
		refs = (unsigned)(top - level) + 1; /* one reference per level read */
	page = nw_pt_level_size(fmt, level);
	rights = a64  ? nw_a64_leaf_rights(&walker->a64.cpu.s1, entry)
		 : rv ? rv_leaf_rights(entry)
		      : rights_of(walker, acc);
	pk = !a64 && !rv && nw_walker_is_key_forbidden(kind, rights, entry);
	if (a64)
		table = entry & fmt->level[level].leaf_addr_mask;
	else if (rv)
		table = (entry & fmt->level[level].leaf_addr_mask) << fmt->addr_shift;
	else if (desc->pse36)
		table = (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
	else
		table = entry & desc->large_addr_mask;
	table = (table & ~(page - 1)) | (linear & (page - 1)); /* the final guest-physical address */
	if (plain) {
		uint64_t leaf_rsvd = level == NW_LEVEL_PT ? desc->rsvd : desc->rsvd_large;
		struct nw_s2_hit s2;

		/* Every entry present and accessed (§4.7; §4.8: the walk sets A on
		 * each entry it uses, so one without it needs a write) and no
		 * reserved bit, tested once after the leaf: a stray table read on the
		 * way costs less than a branch per level, and the window bounds it.
		 * A table entry's reserved bits are the same at every level
		 * (nw_rule_rsvd_bits with PS=0 does not depend on it). */
		if (a64   ? !a64_is_plain(walker, access, fmt, level, acc, tables_or, entry, rights)
		    : rv  ? !rv_is_plain(walker, access, fmt, level, acc, tables_or, entry, rights)
			: (acc & (NW_PTE_P | NW_PTE_A)) != (NW_PTE_P | NW_PTE_A) ||
				  ((tables_or & walker->levels[0].rsvd) | (entry & leaf_rsvd)) ||
				  ((kind->faults >> rights) & 1) || pk || (entry & leaf_ad) != leaf_ad)
			return false;
		if (two_d) {
			if (!nw_s2_fast_translate(&walker->s2, table, s2_need | NW_S2_NEED_SET_AD, &s2))
				return false;
			hit->hpa = nw_hpa(s2.hpa);
			hit->s2_page_size = s2.page_size;
			hit->memory_type = nw_s2_fast_memory_type(&walker->s2, &s2);
			hit->s2_rights = nw_s2_fast_rights(&walker->s2, &s2);
			refs += s2.refs;
		} else {
			hit->hpa = nw_hpa_from_identical_gpa(nw_gpa(table));
			hit->s2_page_size = NW_S2_NONE_PAGE_SIZE;
			hit->memory_type = NW_S2_NONE_MEMORY_TYPE;
			hit->s2_rights = NW_S2_NONE_RIGHTS;
		}
		hit_from(hit, table, level, page, entry, rights, refs);
		if (a64) {
			hit->guest_pat_index = (uint8_t)nw_a64_attr_index(entry);
			hit->arm64_memattr = a64_attrs(walker, entry, two_d ? &s2 : 0);
		}
		if (rv)
			hit->guest_pat_index = (uint8_t)((entry & NW_RV_PTE_PBMT_MASK) >> NW_RV_PTE_PBMT_SHIFT);
		return true;
	}
	res->leaf_level = level;
	res->leaf_entry = entry;
	res->rights = rights;
	res->guest_page_size = page;
	res->guest_pat_index = (uint8_t)nw_pte_pat_index(entry, level);
	if (((kind->faults >> rights) & 1) || pk) {
		page_fault(&ctx, kind->pfec | NW_PFEC_P | (pk ? NW_PFEC_PK : 0), level);
		goto out;
	}
	if (write_ad && (upper_ad || (entry & leaf_ad) != leaf_ad)) {
		path.entry[level] = entry;
		path.gpa[level] = leaf_gpa;
		if (!set_accessed_dirty(walker, &ctx, &path, (unsigned)(first - walker->levels),
					(unsigned)(desc - walker->levels)))
			goto out;
	}
	refs += finish(walker, &ctx, table, s2_need | set_ad, two_d, record);
out:
	res->refs = refs;
	return true;
}

/* The general copy: every case, recorded when asked. */
static __attribute__((noinline)) void walk_general(const struct nw_walker *walker, const struct nw_access *access,
						   unsigned flags, const struct nw_walk_start *start,
						   struct nw_walk_result *res)
{
	walk(walker, access, flags, res, 0, walker->format, start,
	     walker->s2.kind != NW_STAGE2_NONE || (flags & NW_WALK_RECORD_S2), (flags & NW_WALK_RECORD) != 0, false,
	     false, false);
}

/* The plain copies: 4- and 5-level paging, with and without a second stage.
 * Inlined where they are asked (nw_walker_probe, nw_walker_translate), so the
 * access and the answer stay in registers. */
/* steps: record each guest level in res->steps (NW_WALK_RECORD_STEPS, no
 * stage-2 records), as a TLB fill with paging-structure caches needs. */
static inline __attribute__((always_inline)) bool walk_plain(const struct nw_walker *walker,
							     const struct nw_access *access, bool steps,
							     struct nw_walk_result *res, struct nw_walk_hit *hit)
{
	unsigned flags = steps ? NW_WALK_RECORD_STEPS : 0;

	switch (walker->plain) {
	case NW_PLAIN_1D_4:
		return walk(walker, access, flags, res, hit, &nw_gpt_fmt_4level, 0, false, steps, true, false, false);
	case NW_PLAIN_1D_5:
		return walk(walker, access, flags, res, hit, &nw_gpt_fmt_5level, 0, false, steps, true, false, false);
	case NW_PLAIN_2D_4:
		return walk(walker, access, flags, res, hit, &nw_gpt_fmt_4level, 0, true, steps, true, false, false);
	case NW_PLAIN_2D_5:
		return walk(walker, access, flags, res, hit, &nw_gpt_fmt_5level, 0, true, steps, true, false, false);
	case NW_PLAIN_A64_1D_48:
		return !steps && walk(walker, access, 0, res, hit, &nw_vmsa_fmt_4k_48, 0, false, false, true, true,
					  false);
	case NW_PLAIN_A64_1D_39:
		return !steps && walk(walker, access, 0, res, hit, &nw_vmsa_fmt_4k_39, 0, false, false, true, true,
					  false);
	case NW_PLAIN_A64_2D_48:
		return !steps && walk(walker, access, 0, res, hit, &nw_vmsa_fmt_4k_48, 0, true, false, true, true,
					  false);
	case NW_PLAIN_A64_2D_39:
		return !steps && walk(walker, access, 0, res, hit, &nw_vmsa_fmt_4k_39, 0, true, false, true, true,
					  false);
	case NW_PLAIN_RV_1D_39:
		return !steps && walk(walker, access, 0, res, hit, &nw_rv_vs_fmt_sv39, 0, false, false, true, false,
					  true);
	case NW_PLAIN_RV_1D_48:
		return !steps && walk(walker, access, 0, res, hit, &nw_rv_vs_fmt_sv48, 0, false, false, true, false,
					  true);
	case NW_PLAIN_RV_2D_39:
		return !steps && walk(walker, access, 0, res, hit, &nw_rv_vs_fmt_sv39, 0, true, false, true, false,
					  true);
	case NW_PLAIN_RV_2D_48:
		return !steps && walk(walker, access, 0, res, hit, &nw_rv_vs_fmt_sv48, 0, true, false, true, false,
					  true);
	case NW_PLAIN_OFF:
		break;
	}
	return false;
}

bool nw_walker_probe(const struct nw_walker *walker, const struct nw_access *access, struct nw_walk_hit *hit)
{
	return walk_plain(walker, access, false, 0, hit);
}

/* A translation the plain copy answered: the fields a walk fills, every fault field zero. */
static void result_from_hit(const struct nw_walker *walker, const struct nw_access *access,
			    const struct nw_walk_hit *hit, struct nw_walk_result *res)
{
	nw_walk_result_start(res, walker->mode, access->gva);
	res->gpa = hit->gpa;
	res->hpa = hit->hpa;
	res->guest_page_size = hit->guest_page_size;
	res->s2_page_size = hit->s2_page_size;
	res->rights = hit->rights;
	res->s2_rights = hit->s2_rights;
	res->leaf_entry = hit->leaf_entry;
	res->memory_type = hit->memory_type;
	res->guest_pat_index = hit->guest_pat_index;
	res->leaf_level = hit->leaf_level;
	res->refs = hit->refs;
}

/* AArch64: the plain copy for a walk that records nothing, else the reference walk (which records everything). */
static void translate_arm64(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			    struct nw_walk_result *res)
{
	struct nw_walk_hit hit;

	if (!(flags & NW_WALK_RECORD) && walk_plain(walker, access, false, 0, &hit)) {
		result_from_hit(walker, access, &hit, res);
		res->arm64_memattr = hit.arm64_memattr;
		return;
	}
	nw_arm64_walk(&walker->config, &walker->a64.cpu, access, flags, res);
}

/* RISC-V: the same, the reference walk nw_rv_vs_walk. */
static void translate_riscv(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			    struct nw_walk_result *res)
{
	struct nw_walk_hit hit;

	if (!(flags & NW_WALK_RECORD) && walk_plain(walker, access, false, 0, &hit)) {
		result_from_hit(walker, access, &hit, res);
		return;
	}
	nw_rv_vs_walk(&walker->config, &walker->rv, access, flags, res);
}

void nw_walker_translate(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			 struct nw_walk_result *res)
{
	unsigned record = flags & NW_WALK_RECORD;
	struct nw_walk_hit hit;

	if (walker->arm64) {
		translate_arm64(walker, access, flags, res);
		return;
	}
	if (walker->riscv) {
		translate_riscv(walker, access, flags, res);
		return;
	}

	/* The plain copies record the guest levels, never the stage-2 reads; both the copies that record
	 * them (a TLB fill's) and those that record nothing are instantiated here with it constant. */
	if ((record == 0 || record == NW_WALK_RECORD_STEPS || (flags & NW_WALK_PLAIN_FIRST)) &&
	    ((flags & NW_WALK_RECORD_STEPS) ? walk_plain(walker, access, true, res, &hit)
					    : walk_plain(walker, access, false, 0, &hit))) {
		result_from_hit(walker, access, &hit, res);
		res->recorded = record == NW_WALK_RECORD_STEPS;
		return;
	}
	walk_general(walker, access, flags, 0, res);
}

void nw_walker_translate_from(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			      const struct nw_walk_start *start, struct nw_walk_result *res)
{
	/* Paging-structure caches of IA-32e paging hold PML5E..PDE entries (§4.10.3.1). */
	NW_ASSERT(walker->mode == NW_PAGING_4LEVEL || walker->mode == NW_PAGING_5LEVEL);
	NW_ASSERT(start->level >= NW_LEVEL_PD && start->level <= walker->levels[0].level);
	walk_general(walker, access, flags, start, res);
}
