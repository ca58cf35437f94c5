/* The fast guest walker: paging levels are data derived once from the CPU
 * state (shift, index width, reserved-bit masks for table and large-page
 * entries), one loop walks them for every mode, and the rights check is a
 * lookup in tables from perm.c. The second stage is masks derived once from
 * the EPTP or nCR3 (stage2_fast.h), with the full translate only for what
 * they do not prove. The per-level record is written only when asked for.
 * It must agree with walk_ref.c on every case. */
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "stage2_fast.h"
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
		.index_mask = (1u << index_bits) - 1, .ps = large_ok ? NW_PTE_PS : 0,
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

		walker->levels[n] = level_desc(NW_LEVEL_PD, 22, 10, (cpu->cr4 & NW_CR4_PSE) != 0, 0, range(21, m32 - 19),
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
	nw_s2_fast_derive(&config->stage2, &walker->s2);
	walker->map = config->hal->direct_map;
	walker->map_size = config->hal->direct_map ? config->hal->direct_map_size : 0;
	walker->table_access = nw_walk_is_table_access_a_write(config) ? NW_ACCESS_WRITE : NW_ACCESS_READ;
	nw_walker_set_cpu(walker, cpu);
}

static uint32_t rights_of(const struct nw_walker *walker, uint64_t and_entries, uint64_t or_entries)
{
	return ((and_entries & NW_PTE_RW) ? NW_WALK_RIGHT_W : 0) | ((and_entries & NW_PTE_US) ? NW_WALK_RIGHT_U : 0) |
	       ((or_entries & walker->xd_mask) ? 0 : NW_WALK_RIGHT_X);
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
	return walker->mode == NW_PAGING_PAE && desc->level == NW_LEVEL_PDPT;
}

/* The slow paths build the walk context the shared helpers take; the loop
 * itself keeps its state in registers. */
static struct nw_walk_ctx ctx_of(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
				 struct nw_walk_result *res)
{
	return (struct nw_walk_ctx){ .config = &walker->config, .access = access, .flags = flags,
				     .user = walker->cpu.cpl == 3 && !access->implicit, .linear = true, .res = res };
}

/* A stage-2 translation the masks did not prove, by the full translate
 * (recorded in steps[level].s2 under NW_WALK_RECORD_S2). */
struct slow_hit {
	uint64_t hpa;
	unsigned refs;
	bool ok;
};

static __attribute__((noinline)) struct slow_hit translate_table_slow(const struct nw_walker *walker,
								      const struct nw_access *access, unsigned flags,
								      struct nw_walk_result *res, uint64_t gpa, int level)
{
	struct nw_walk_ctx ctx = ctx_of(walker, access, flags, res);
	struct nw_s2_result local, *s2 = (flags & NW_WALK_RECORD_S2) ? &res->steps[level].s2 : &local;

	nw_walk_s2_translate(&ctx, nw_gpa(gpa), NW_ACCESS_READ, true, s2);
	if (s2->status != NW_S2_OK) {
		nw_walk_s2_fault(&ctx, s2, nw_gpa(gpa), true, false, level);
		return (struct slow_hit){ .refs = s2->refs };
	}
	return (struct slow_hit){ .hpa = s2->hpa.val, .refs = s2->refs, .ok = true };
}

/* The final translation by the full translate; returns its references. */
static __attribute__((noinline)) unsigned finish_slow(const struct nw_walker *walker, const struct nw_access *access,
						      unsigned flags, struct nw_walk_result *res, uint64_t gpa)
{
	struct nw_walk_ctx ctx = ctx_of(walker, access, flags, res);
	struct nw_s2_result local, *s2 = (flags & NW_WALK_RECORD_S2) ? &res->final_s2 : &local;

	nw_walk_finish_into(&ctx, nw_gpa(gpa), s2);
	return s2->refs;
}

static __attribute__((noinline)) void page_fault(const struct nw_walker *walker, const struct nw_access *access,
						 unsigned flags, struct nw_walk_result *res, uint32_t error_code, int level)
{
	struct nw_walk_ctx ctx = ctx_of(walker, access, flags, res);

	nw_walk_page_fault(&ctx, error_code, level);
}

static __attribute__((noinline)) const void *unbacked_entry(const struct nw_walker *walker,
							    const struct nw_access *access, unsigned flags,
							    struct nw_walk_result *res, uint64_t gpa, uint64_t hpa,
							    int level)
{
	struct nw_walk_ctx ctx = ctx_of(walker, access, flags, res);
	const void *ptr = nw_hal_phys_to_virt(walker->config.hal, nw_hpa(hpa));

	if (!ptr)
		nw_walk_no_memory(&ctx, nw_gpa(gpa), level);
	return ptr;
}

static __attribute__((noinline)) bool set_flags(const struct nw_walker *walker, const struct nw_access *access,
						unsigned flags, struct nw_walk_result *res, uint64_t gpa, int level,
						uint64_t set)
{
	struct nw_walk_ctx ctx = ctx_of(walker, access, flags, res);

	return nw_walk_set_flags_at(&ctx, nw_gpa(gpa), level, walker->entry_bytes, set);
}

/* Guest A/D (§4.8): A on every entry used (upper ones already done under
 * NW_AD_AS_PASSED), D on the leaf for a write. */
static bool set_accessed_dirty(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			       struct nw_walk_result *res, const struct fast_path *path, unsigned leaf_index)
{
	bool upper = walker->config.ad_policy == NW_AD_ON_SUCCESS;

	for (unsigned i = upper ? 0 : leaf_index; i <= leaf_index; i++) {
		const struct nw_walk_level_desc *desc = &walker->levels[i];
		uint64_t want = NW_PTE_A | (i == leaf_index && access->type == NW_ACCESS_WRITE ? NW_PTE_D : 0);

		if (is_pdpte_register(walker, desc) || (path->entry[desc->level] & want) == want)
			continue;
		if (!set_flags(walker, access, flags, res, path->gpa[desc->level], desc->level, want))
			return false;
	}
	return true;
}

/* The final guest-physical address through the second stage: completes an
 * OK result or sets the stage-2 outcome; returns the references it made. */
static inline __attribute__((always_inline)) unsigned finish(const struct nw_walker *walker,
							     const struct nw_access *access, unsigned flags,
							     struct nw_walk_result *res, uint64_t gpa, bool two_d,
							     bool record, bool user)
{
	struct nw_s2_hit hit;

	if (record && (flags & NW_WALK_RECORD_S2))
		return finish_slow(walker, access, flags, res, gpa);
	if (!two_d) {
		/* GPA = HPA, every right, write-back (as nw_stage2_translate without a second stage). */
		res->gpa = nw_gpa(gpa);
		res->hpa = nw_hpa_from_identical_gpa(res->gpa);
		res->s2_page_size = NW_PAGE_SIZE;
		res->memory_type = 6;
		res->s2_rights = NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX;
		return 0;
	}
	if (!nw_s2_fast_translate(&walker->s2, gpa, access->type | (user ? NW_S2_NEED_USER : 0),
				  !(flags & NW_WALK_LOOKUP), &hit))
		return finish_slow(walker, access, flags, res, gpa);
	res->gpa = nw_gpa(gpa);
	res->hpa = nw_hpa(hit.hpa);
	res->s2_page_size = UINT64_C(1) << walker->s2.shift[hit.level];
	res->memory_type = nw_s2_fast_memory_type(&walker->s2, &hit);
	res->s2_rights = nw_s2_fast_rights(&walker->s2, &hit);
	return hit.refs;
}

/* The walk, instantiated per (second stage or not, recording or not) so each
 * copy keeps only the work it needs: the hot ones store nothing per level
 * but the entry and its address for the A/D phase. */
static inline __attribute__((always_inline)) void translate(const struct nw_walker *walker,
							    const struct nw_access *access, unsigned flags,
							    struct nw_walk_result *res, bool two_d, bool record)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool user = cpu->cpl == 3 && !access->implicit;
	bool write_ad = !(flags & NW_WALK_LOOKUP);
	bool set_a_passed = write_ad && walker->config.ad_policy == NW_AD_AS_PASSED;
	bool slow_s2 = record && (flags & NW_WALK_RECORD_S2);
	unsigned type = access->type, i = 0, refs = 0, bytes = walker->entry_bytes, nlevels = walker->nlevels;
	unsigned perm_index = type | (user ? NW_PERM_USER : 0) |
			      (!access->implicit && cpu->cpl < 3 && (cpu->rflags & NW_RFLAGS_AC) ? NW_PERM_AC : 0);
	uint32_t pfec = (type == NW_ACCESS_WRITE ? NW_PFEC_W : 0) | (user ? NW_PFEC_U : 0) |
			(type == NW_ACCESS_FETCH && walker->fetch_reports_id ? NW_PFEC_ID : 0);
	uint64_t linear = access->gva.val, table, entry = 0, and_entries = ALL_BITS, or_entries = 0, page;
	uint64_t map_size = walker->map_size;
	const uint8_t *map = walker->map;
	const struct nw_walk_level_desc *desc = walker->levels;
	struct fast_path path;
	uint32_t rights, pk = 0, pk_forbid;

	nw_walk_result_start(res, walker->mode, access->gva);
	if (record)
		nw_walk_record_init(res);
	if (walker->va_bits == 32) {
		linear &= UINT64_C(0xffffffff);
	} else if ((uint64_t)((int64_t)(linear << (64 - walker->va_bits)) >> (64 - walker->va_bits)) != linear) {
		/* Not sign-extended from bit 47 (or 56): #GP (§3.3.7.1). */
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return;
	}
	if (nlevels == 0) {
		res->rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
		res->guest_page_size = NW_PAGE_SIZE;
		res->refs = finish(walker, access, flags, res, linear, two_d, record, user);
		return;
	}

	table = cpu->cr3 & walker->cr3_mask;
	if (is_pdpte_register(walker, &desc[0])) {
		/* The PDPTE registers, loaded at MOV CR3 (§4.4.1): no memory reference,
		 * reserved bits already checked, no rights of their own. */
		unsigned index = (unsigned)(linear >> desc[0].shift) & desc[0].index_mask;

		entry = cpu->pdpte[index];
		if (record)
			res->steps[NW_LEVEL_PDPT] = (struct nw_walk_step){
				.entry = entry, .index = index, .read = true,
				.table_gpa = nw_gpa(cpu->cr3 & NW_CR3_PAE_PDPT_MASK) };
		if (!(entry & NW_PTE_P)) {
			page_fault(walker, access, flags, res, pfec, NW_LEVEL_PDPT);
			return;
		}
		if (record)
			res->steps[NW_LEVEL_PDPT].rights = rights_of(walker, ALL_BITS, 0);
		table = entry & desc[0].addr_mask;
		i = 1;
	}
	for (;; i++) {
		unsigned index = (unsigned)(linear >> desc[i].shift) & desc[i].index_mask;
		uint64_t gpa = table + (uint64_t)index * bytes, hpa = gpa;
		int level = desc[i].level;
		struct nw_walk_step *step = &res->steps[level];
		const void *ptr;

		if (record) {
			step->table_gpa = nw_gpa(table);
			step->index = index;
		}
		if (two_d) {
			struct nw_s2_hit hit;

			if (!slow_s2 && nw_s2_fast_translate(&walker->s2, gpa, walker->table_access, write_ad, &hit)) {
				refs += hit.refs;
				hpa = hit.hpa;
			} else {
				struct slow_hit slow = translate_table_slow(walker, access, flags, res, gpa, level);

				refs += slow.refs;
				if (!slow.ok)
					goto out;
				hpa = slow.hpa;
			}
		}
		if (record)
			step->table_hpa = nw_hpa(hpa - (gpa - table));
		if (hpa < map_size)
			ptr = map + hpa;
		else if (!(ptr = unbacked_entry(walker, access, flags, res, gpa, hpa, level)))
			goto out;
		entry = bytes == 4 ? *(const volatile uint32_t *)ptr : *(const volatile uint64_t *)ptr;
		refs++;
		if (record) {
			step->entry = entry;
			step->read = true;
		}
		if (is_unusable(entry, (entry & desc[i].ps) ? desc[i].rsvd_large : desc[i].rsvd)) {
			page_fault(walker, access, flags, res,
				   (entry & NW_PTE_P) ? pfec | NW_PFEC_RSVD | NW_PFEC_P : pfec, level);
			goto out;
		}
		and_entries &= entry;
		or_entries |= entry;
		if (record)
			step->rights = rights_of(walker, and_entries, or_entries);
		path.entry[level] = entry;
		path.gpa[level] = gpa;
		if ((entry & desc[i].ps) || i + 1 == nlevels)
			break;
		if (set_a_passed && !(entry & NW_PTE_A) && !set_flags(walker, access, flags, res, gpa, level, NW_PTE_A))
			goto out;
		table = entry & desc[i].addr_mask;
	}

	page = UINT64_C(1) << desc[i].shift;
	rights = rights_of(walker, and_entries, or_entries);
	res->leaf_level = desc[i].level;
	res->leaf_entry = entry;
	res->rights = rights;
	res->guest_page_size = page;
	res->guest_pat_index = (uint8_t)(((entry & (i + 1 == nlevels ? NW_PTE_PAT_4K : NW_PTE_PAT_LARGE)) ? 4 : 0) |
					 ((entry >> 3) & 3));
	pk_forbid = walker->pk_mask[type | (user ? NW_PERM_USER : 0) | ((rights & NW_WALK_RIGHT_U) ? NW_PK_PAGE_USER : 0)];
	if (pk_forbid) {
		uint32_t pkr = (rights & NW_WALK_RIGHT_U) ? cpu->pkru : cpu->pkrs;
		unsigned key = (unsigned)((entry & NW_PTE_PK_MASK) >> NW_PTE_PK_SHIFT);

		pk = (pkr >> (key * 2)) & pk_forbid;
	}
	if (((walker->perm[perm_index] >> rights) & 1) || pk) {
		page_fault(walker, access, flags, res, pfec | NW_PFEC_P | (pk ? NW_PFEC_PK : 0), desc[i].level);
		goto out;
	}

	if (write_ad && !set_accessed_dirty(walker, access, flags, res, &path, i))
		goto out;
	if (desc[i].pse36)
		table = (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
	else
		table = entry & desc[i].large_addr_mask;
	refs += finish(walker, access, flags, res, (table & ~(page - 1)) | (linear & (page - 1)), two_d, record, user);
out:
	res->refs = refs;
}

void nw_walker_translate(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			 struct nw_walk_result *res)
{
	if (flags & NW_WALK_RECORD)
		translate(walker, access, flags, res, walker->s2.kind != NW_STAGE2_NONE || (flags & NW_WALK_RECORD_S2),
			  true);
	else if (walker->s2.kind == NW_STAGE2_NONE)
		translate(walker, access, flags, res, false, false);
	else
		translate(walker, access, flags, res, true, false);
}
