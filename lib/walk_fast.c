/* The fast guest walker: paging levels are data derived once from the CPU
 * state (shift, index width, reserved-bit masks for table and large-page
 * entries), one loop walks them for every mode, and the rights check is a
 * lookup in tables from perm.c. It must agree with walk_ref.c on every case. */
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "walk_internal.h"

#define ALL_BITS (~UINT64_C(0))

static uint64_t range(unsigned high, unsigned low)
{
	uint64_t from_low = low >= 64 ? 0 : ALL_BITS << low;
	uint64_t above_high = high >= 63 ? 0 : ALL_BITS << (high + 1);

	return from_low & ~above_high;
}

/* Describes one level; rsvd_large is ALL_BITS where PS=1 is itself reserved. */
static struct nw_walk_level_desc level_desc(uint8_t level, uint8_t shift, uint8_t index_bits, bool large_ok,
					    uint64_t rsvd, uint64_t rsvd_large, uint64_t addr_mask)
{
	uint64_t page = UINT64_C(1) << shift;

	return (struct nw_walk_level_desc){
		.level = level, .shift = shift, .index_bits = index_bits, .large_ok = large_ok,
		.rsvd = rsvd, .rsvd_large = rsvd_large, .addr_mask = addr_mask,
		.large_addr_mask = addr_mask & ~(page - 1),
	};
}

static void derive_levels(struct nw_walker *walker)
{
	const struct nw_cpu *cpu = &walker->cpu;
	unsigned m = nw_cpu_maxphyaddr(cpu);
	bool nxe = cpu->efer & NW_EFER_NXE;
	uint64_t addr = NW_PTE_ADDR_MASK & ~range(63, m);
	uint64_t rsvd = 0;
	unsigned n = 0;

	switch (walker->mode) {
	case NW_PAGING_OFF:
		break;
	case NW_PAGING_32: {
		unsigned m32 = m > 40 ? 40 : m; /* PSE-36 carries at most 40 address bits (Table 4-4) */

		walker->levels[n] = level_desc(NW_LEVEL_PD, 22, 10, cpu->cr4 & NW_CR4_PSE, 0, range(21, m32 - 19),
					       UINT64_C(0xfffff000));
		walker->levels[n++].pse36 = true;
		walker->levels[n++] = level_desc(NW_LEVEL_PT, 12, 10, false, 0, 0, UINT64_C(0xfffff000));
		break;
	}
	case NW_PAGING_PAE:
		rsvd = range(62, m) | (nxe ? 0 : NW_PTE_XD);
		/* The PDPT level is the PDPTE registers, checked at MOV CR3. */
		walker->levels[n++] = level_desc(NW_LEVEL_PDPT, 30, 2, false, 0, 0, addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PD, 21, 9, true, rsvd, rsvd | range(20, 13), addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PT, 12, 9, false, rsvd, 0, addr);
		break;
	case NW_PAGING_5LEVEL:
	case NW_PAGING_4LEVEL:
		rsvd = (m < 52 ? range(51, m) : 0) | (nxe ? 0 : NW_PTE_XD);
		if (walker->mode == NW_PAGING_5LEVEL)
			walker->levels[n++] = level_desc(NW_LEVEL_PML5, 48, 9, true, rsvd, ALL_BITS, addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PML4, 39, 9, true, rsvd, ALL_BITS, addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PDPT, 30, 9, true, rsvd,
						 cpu->no_1g_pages ? ALL_BITS : rsvd | range(29, 13), addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PD, 21, 9, true, rsvd, rsvd | range(20, 13), addr);
		walker->levels[n++] = level_desc(NW_LEVEL_PT, 12, 9, false, rsvd, 0, addr);
		break;
	}
	walker->nlevels = n;
	walker->entry_bytes = walker->mode == NW_PAGING_32 ? 4 : 8;
	walker->va_bits = walker->mode == NW_PAGING_5LEVEL ? 57 : walker->mode == NW_PAGING_4LEVEL ? 48 : 32;
	walker->xd_mask = (walker->mode != NW_PAGING_32 && nxe) ? NW_PTE_XD : 0;
	walker->cr3_mask = walker->mode == NW_PAGING_32 ? UINT64_C(0xfffff000) : addr;
}

void nw_walker_set_cpu(struct nw_walker *walker, const struct nw_cpu *cpu)
{
	walker->cpu = *cpu;
	walker->mode = nw_cpu_paging_mode(cpu);
	derive_levels(walker);
	nw_perm_derive(walker);
}

void nw_walker_init(struct nw_walker *walker, const struct nw_walk_config *config, const struct nw_cpu *cpu)
{
	*walker = (struct nw_walker){ .config = *config };
	nw_walker_set_cpu(walker, cpu);
}

static uint32_t rights_of(const struct nw_walker *walker, uint64_t and_entries, uint64_t or_entries)
{
	return ((and_entries & NW_PTE_RW) ? NW_WALK_RIGHT_W : 0) | ((and_entries & NW_PTE_US) ? NW_WALK_RIGHT_U : 0) |
	       ((or_entries & walker->xd_mask) ? 0 : NW_WALK_RIGHT_X);
}

static bool is_pdpte_register(const struct nw_walker *walker, const struct nw_walk_level_desc *desc)
{
	return walker->mode == NW_PAGING_PAE && desc->level == NW_LEVEL_PDPT;
}

/* Guest A/D (§4.8): A on every entry used (upper ones already done under
 * NW_AD_AS_PASSED), D on the leaf for a write. */
static bool set_accessed_dirty(const struct nw_walker *walker, struct nw_walk_ctx *ctx, unsigned leaf_index)
{
	bool upper = walker->config.ad_policy == NW_AD_ON_SUCCESS;

	for (unsigned i = upper ? 0 : leaf_index; i <= leaf_index; i++) {
		const struct nw_walk_level_desc *desc = &walker->levels[i];
		uint64_t want = NW_PTE_A | (i == leaf_index && ctx->access->type == NW_ACCESS_WRITE ? NW_PTE_D : 0);

		if (is_pdpte_register(walker, desc) || (ctx->res->steps[desc->level].entry & want) == want)
			continue;
		if (!nw_walk_set_flags(ctx, desc->level, walker->entry_bytes, want))
			return false;
	}
	return true;
}

void nw_walker_translate(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			 struct nw_walk_result *res)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool user = cpu->cpl == 3 && !access->implicit;
	struct nw_walk_ctx ctx = {
		.config = &walker->config, .access = access, .flags = flags, .user = user, .linear = true, .res = res,
	};
	bool write_ad = !(flags & NW_WALK_LOOKUP);
	unsigned type = access->type, i;
	unsigned perm_index = type | (user ? NW_PERM_USER : 0) |
			      (!access->implicit && cpu->cpl < 3 && (cpu->rflags & NW_RFLAGS_AC) ? NW_PERM_AC : 0);
	uint32_t pfec = (type == NW_ACCESS_WRITE ? NW_PFEC_W : 0) | (user ? NW_PFEC_U : 0) |
			(type == NW_ACCESS_FETCH && walker->fetch_reports_id ? NW_PFEC_ID : 0);
	uint64_t linear = access->gva.val, table, entry = 0, and_entries = ALL_BITS, or_entries = 0, page;
	const struct nw_walk_level_desc *desc = walker->levels;
	uint32_t rights, pk = 0, pk_forbid;

	nw_walk_result_init(res, walker->mode, access->gva);
	if (walker->va_bits == 32) {
		linear &= UINT64_C(0xffffffff);
	} else if ((uint64_t)((int64_t)(linear << (64 - walker->va_bits)) >> (64 - walker->va_bits)) != linear) {
		/* Not sign-extended from bit 47 (or 56): #GP (§3.3.7.1). */
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return;
	}
	if (walker->nlevels == 0) {
		res->rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
		res->guest_page_size = NW_PAGE_SIZE;
		nw_walk_finish(&ctx, nw_gpa(linear));
		return;
	}

	table = cpu->cr3 & walker->cr3_mask;
	for (i = 0;; i++) {
		unsigned index = (unsigned)(linear >> desc[i].shift) & ((1u << desc[i].index_bits) - 1);
		struct nw_walk_step *step = &res->steps[desc[i].level];
		bool large;

		if (is_pdpte_register(walker, &desc[i])) {
			entry = cpu->pdpte[index];
			*step = (struct nw_walk_step){ .entry = entry, .index = index, .read = true,
						       .table_gpa = nw_gpa(cpu->cr3 & NW_CR3_PAE_PDPT_MASK) };
		} else if (!nw_walk_read_entry(&ctx, nw_gpa(table), index, walker->entry_bytes, desc[i].level, &entry)) {
			return;
		}
		if (!(entry & NW_PTE_P)) {
			nw_walk_page_fault(&ctx, pfec, desc[i].level);
			return;
		}
		large = desc[i].large_ok && (entry & NW_PTE_PS);
		if (entry & (large ? desc[i].rsvd_large : desc[i].rsvd)) {
			nw_walk_page_fault(&ctx, pfec | NW_PFEC_RSVD | NW_PFEC_P, desc[i].level);
			return;
		}
		if (!is_pdpte_register(walker, &desc[i])) {
			and_entries &= entry;
			or_entries |= entry;
		}
		step->rights = rights_of(walker, and_entries, or_entries);
		if (large || i + 1 == walker->nlevels)
			break;
		if (write_ad && walker->config.ad_policy == NW_AD_AS_PASSED && !is_pdpte_register(walker, &desc[i]) &&
		    !(entry & NW_PTE_A) && !nw_walk_set_flags(&ctx, desc[i].level, walker->entry_bytes, NW_PTE_A))
			return;
		table = entry & desc[i].addr_mask;
	}

	page = UINT64_C(1) << desc[i].shift;
	rights = rights_of(walker, and_entries, or_entries);
	res->leaf_level = desc[i].level;
	res->rights = rights;
	res->guest_page_size = page;
	res->guest_pat_index = (uint8_t)(((entry & (i + 1 == walker->nlevels ? NW_PTE_PAT_4K : NW_PTE_PAT_LARGE)) ? 4 : 0) |
					 ((entry >> 3) & 3));
	pk_forbid = walker->pk_mask[type | (user ? NW_PERM_USER : 0) | ((rights & NW_WALK_RIGHT_U) ? NW_PK_PAGE_USER : 0)];
	if (pk_forbid) {
		uint32_t pkr = (rights & NW_WALK_RIGHT_U) ? cpu->pkru : cpu->pkrs;
		unsigned key = (unsigned)((entry & NW_PTE_PK_MASK) >> NW_PTE_PK_SHIFT);

		pk = (pkr >> (key * 2)) & pk_forbid;
	}
	if (((walker->perm[perm_index] >> rights) & 1) || pk) {
		nw_walk_page_fault(&ctx, pfec | NW_PFEC_P | (pk ? NW_PFEC_PK : 0), desc[i].level);
		return;
	}

	if (write_ad && !set_accessed_dirty(walker, &ctx, i))
		return;
	if (desc[i].pse36)
		table = (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
	else
		table = entry & desc[i].large_addr_mask;
	nw_walk_finish(&ctx, nw_gpa((table & ~(page - 1)) | (linear & (page - 1))));
}
