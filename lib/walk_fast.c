/* The fast guest walker: paging levels are data derived once from the CPU
 * state (shift, index width, reserved-bit masks for table and large-page
 * entries from the rules of walk_rules.h), one loop walks them for every mode,
 * and the rights check is a lookup in tables perm.c generates from the same
 * rules. The second stage is masks derived once from the EPTP or nCR3
 * (stage2_fast.h), with the full translate only for what they do not prove.
 * The per-level record is written only when asked for. A walk without a
 * record first asks the probe (walk_probe.h), which answers the plain case, a
 * translation with nothing to write, in fewer steps. It must agree with
 * walk_ref.c on every case. */
#include <nestwalk/walk.h>
#include <nestwalk/walk_probe.h>
#include <nestwalk/x86_pte.h>

#include "stage2_fast.h"
#include "walk_internal.h"
#include "walk_rules.h"

#define ALL_BITS (~UINT64_C(0))

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

/* A level as the rules of walk_rules.h describe it: where PS is examined, and
 * the reserved bits of its entries with PS=0 and PS=1. */
static struct nw_walk_level_desc ruled_level(const struct nw_walker *walker, uint8_t level, uint8_t shift,
					     uint8_t index_bits, uint64_t addr)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool large_ok = nw_rule_is_ps_examined(cpu, walker->mode, level);

	return level_desc(level, shift, index_bits, large_ok, nw_rule_rsvd_bits(cpu, walker->mode, level, false),
			  large_ok ? nw_rule_rsvd_bits(cpu, walker->mode, level, true) : 0, addr);
}

static void derive_levels(struct nw_walker *walker)
{
	const struct nw_cpu *cpu = &walker->cpu;
	uint64_t addr = NW_PTE_ADDR_MASK & ~nw_rule_bits(63, nw_cpu_maxphyaddr(cpu));
	unsigned n = 0;

	switch (walker->mode) {
	case NW_PAGING_OFF:
		break;
	case NW_PAGING_32:
		walker->levels[n] = ruled_level(walker, NW_LEVEL_PD, 22, 10, UINT64_C(0xfffff000));
		walker->levels[n++].pse36 = true;
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PT, 12, 10, UINT64_C(0xfffff000));
		break;
	case NW_PAGING_PAE:
		/* The PDPT level is the PDPTE registers, checked at MOV CR3. */
		walker->levels[n++] = level_desc(NW_LEVEL_PDPT, 30, 2, false, 0, 0, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PD, 21, 9, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PT, 12, 9, addr);
		break;
	case NW_PAGING_5LEVEL:
	case NW_PAGING_4LEVEL:
		if (walker->mode == NW_PAGING_5LEVEL)
			walker->levels[n++] = ruled_level(walker, NW_LEVEL_PML5, 48, 9, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PML4, 39, 9, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PDPT, 30, 9, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PD, 21, 9, addr);
		walker->levels[n++] = ruled_level(walker, NW_LEVEL_PT, 12, 9, addr);
		break;
	}
	walker->nlevels = n;
	for (unsigned i = 0; i < n; i++)
		walker->levels[i].leaf_bits = i + 1 == n ? ALL_BITS : walker->levels[i].ps;
	walker->entry_bytes = walker->mode == NW_PAGING_32 ? 4 : 8;
	walker->va_bits = walker->mode == NW_PAGING_5LEVEL ? 57 : walker->mode == NW_PAGING_4LEVEL ? 48 : 32;
	walker->xd_mask = nw_rule_is_xd_in_force(cpu, walker->mode) ? NW_PTE_XD : 0;
	walker->cr3_mask = walker->mode == NW_PAGING_32 ? UINT64_C(0xfffff000) : addr;
}

void nw_walker_set_cpu(struct nw_walker *walker, const struct nw_cpu *cpu)
{
	walker->cpu = *cpu;
	walker->mode = nw_cpu_paging_mode(cpu);
	derive_levels(walker);
	nw_perm_derive(walker);
	nw_probe_derive(walker);
}

void nw_walker_init(struct nw_walker *walker, const struct nw_walk_config *config, const struct nw_cpu *cpu)
{
	*walker = (struct nw_walker){ .config = *config };
	nw_s2_fast_derive(&config->stage2, &walker->s2);
	walker->map = config->hal->direct_map;
	walker->map_size = config->hal->direct_map ? config->hal->direct_map_size : 0;
	walker->table_access = nw_walk_is_table_access_a_write(config, true) ? NW_ACCESS_WRITE : NW_ACCESS_READ;
	nw_walker_set_cpu(walker, cpu);
}

/* The walk accumulates one value, the AND of every entry with XD flipped: R/W
 * and U/S stay set only where every entry has them, XD only where none has it
 * (§4.6.1: R/W and U/S ANDed, XD ORed). */
#define ACC_FLIP NW_PTE_XD

static uint32_t rights_of(const struct nw_walker *walker, uint64_t acc)
{
	return nw_walk_entry_rights(acc ^ ACC_FLIP, walker->xd_mask != 0);
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

/* The slow paths, out of line so the loop keeps its state in registers; they
 * take the walk context the shared helpers (walk_internal.h) use. */

/* A stage-2 translation the masks did not prove, by the full translate
 * (recorded in steps[level].s2 under NW_WALK_RECORD_S2). */
struct slow_hit {
	uint64_t hpa;
	unsigned refs;
	bool ok;
};

static __attribute__((noinline)) struct slow_hit translate_table_slow(struct nw_walk_ctx *ctx, uint64_t gpa, int level)
{
	struct nw_walk_result *res = ctx->res;
	struct nw_s2_result local, *s2 = (ctx->flags & NW_WALK_RECORD_S2) ? &res->steps[level].s2 : &local;

	nw_walk_s2_translate(ctx, nw_gpa(gpa), NW_ACCESS_READ, true, s2);
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

/* A guest table entry outside the direct-map window: the HAL's own lookup. */
static __attribute__((noinline)) const void *unbacked_entry(const struct nw_walker *walker, struct nw_walk_ctx *ctx,
							    uint64_t gpa, uint64_t hpa, int level)
{
	const void *ptr = nw_hal_phys_to_virt(walker->config.hal, nw_hpa(hpa));

	if (!ptr)
		nw_walk_no_memory(ctx, nw_gpa(gpa), level);
	return ptr;
}

static __attribute__((noinline)) bool set_flags(const struct nw_walker *walker, struct nw_walk_ctx *ctx, uint64_t gpa,
						int level, uint64_t set)
{
	return nw_walk_set_flags_at(ctx, nw_gpa(gpa), level, walker->entry_bytes, set);
}

/* Guest A/D (§4.8): A on every entry used (upper ones already done under
 * NW_AD_AS_PASSED), D on the leaf for a write. */
static __attribute__((noinline)) bool set_accessed_dirty(const struct nw_walker *walker, struct nw_walk_ctx *ctx,
							 const struct fast_path *path, unsigned leaf_index)
{
	bool upper = walker->config.ad_policy == NW_AD_ON_SUCCESS;

	for (unsigned i = upper ? 0 : leaf_index; i <= leaf_index; i++) {
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

static __attribute__((noinline)) void translate_any(const struct nw_walker *walker, const struct nw_access *access,
						    unsigned flags, struct nw_walk_result *res);

/* The walk, instantiated three times so each copy keeps only the work it
 * needs. The two hot copies (8-byte entries, no record, A set as passed;
 * with and without a second stage) take only the plain path: anything else before the leaf (a
 * fault, an A flag to set, a stage-2 translation or a table the masks do not
 * prove) starts the walk again in the general copy, which handles every case.
 * They have written nothing by then, so the restart sees the same memory. */
static inline __attribute__((always_inline)) void translate(const struct nw_walker *walker,
							    const struct nw_access *access, unsigned flags,
							    struct nw_walk_result *res, bool two_d, bool record,
							    unsigned bytes, bool hot)
{
	const struct nw_cpu *cpu = &walker->cpu;
	const struct nw_walk_access_kind *kind = nw_walker_kind(walker, access->type, access->implicit);
	struct nw_walk_ctx ctx = {
		.config = &walker->config, .access = access, .flags = flags, .user = kind->user, .linear = true,
		.res = res,
	};
	bool write_ad = !(flags & NW_WALK_LOOKUP);
	unsigned set_ad = write_ad ? NW_S2_NEED_SET_AD : 0;
	bool upper_ad = !hot && walker->config.ad_policy == NW_AD_ON_SUCCESS; /* hot copies: NW_AD_AS_PASSED */
	uint64_t passed_a = write_ad && !upper_ad ? NW_PTE_A : 0; /* A set as the walk passes an entry */
	bool slow_s2 = record && (flags & NW_WALK_RECORD_S2);
	unsigned refs = 0;
	uint64_t linear = access->gva.val, table, entry = 0, acc = ALL_BITS, page, leaf_gpa = 0;
	uint64_t map_size = walker->map_size;
	const uint8_t *map = walker->map;
	const struct nw_walk_level_desc *desc = walker->levels, *first;
	uint64_t leaf_ad = NW_PTE_A | (access->type == NW_ACCESS_WRITE ? NW_PTE_D : 0);
	struct fast_path path;
	uint32_t rights;
	bool pk;

	nw_walk_result_start(res, walker->mode, access->gva);
	if (record)
		nw_walk_record_init(res);
	if (walker->va_bits == 32) {
		linear &= UINT64_C(0xffffffff);
	} else if (!nw_walk_is_canonical(linear, walker->va_bits)) {
		nw_walk_general_protection(res, NW_GP_NONCANONICAL);
		return;
	}
	if (walker->nlevels == 0) {
		res->rights = NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X;
		res->guest_page_size = NW_PAGE_SIZE;
		res->refs = finish(walker, &ctx, linear, kind->s2_need | set_ad, two_d, record);
		return;
	}

	table = cpu->cr3 & walker->cr3_mask;
	if (is_pdpte_register(walker, desc)) {
		/* The PDPTE registers, loaded at MOV CR3 (§4.4.1): no memory reference,
		 * reserved bits already checked, no rights of their own. */
		unsigned index = (unsigned)(linear >> desc->shift) & desc->index_mask;

		entry = cpu->pdpte[index];
		if (record)
			res->steps[NW_LEVEL_PDPT] = (struct nw_walk_step){
				.entry = entry, .index = index, .read = true,
				.table_gpa = nw_gpa(cpu->cr3 & NW_CR3_PAE_PDPT_MASK) };
		if (!(entry & NW_PTE_P)) {
			page_fault(&ctx, kind->pfec, NW_LEVEL_PDPT);
			return;
		}
		if (record)
			res->steps[NW_LEVEL_PDPT].rights = rights_of(walker, ALL_BITS);
		table = entry & desc->addr_mask;
		desc++;
	}
	first = desc;
	for (;; desc++) {
		unsigned index = (unsigned)(linear >> desc->shift) & desc->index_mask;
		uint64_t gpa = table + (uint64_t)index * bytes, hpa = gpa;
		struct nw_walk_step *step = &res->steps[desc->level];
		const void *ptr;

		if (record) {
			step->table_gpa = nw_gpa(table);
			step->index = index;
		}
		if (two_d) {
			struct nw_s2_hit hit;

			if (!slow_s2 && nw_s2_fast_translate(&walker->s2, gpa, walker->table_access | set_ad, &hit)) {
				refs += hit.refs;
				hpa = hit.hpa;
			} else if (hot) {
				goto restart;
			} else {
				struct slow_hit slow = translate_table_slow(&ctx, gpa, desc->level);

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
		else if (hot)
			goto restart;
		else if (!(ptr = unbacked_entry(walker, &ctx, gpa, hpa, desc->level)))
			goto out;
		entry = bytes == 4 ? *(const volatile uint32_t *)ptr : *(const volatile uint64_t *)ptr;
		if (two_d || !hot)
			refs++;
		if (record) {
			step->entry = entry;
			step->read = true;
		}
		if (is_unusable(entry, (entry & desc->ps) ? desc->rsvd_large : desc->rsvd)) {
			if (hot)
				goto restart;
			page_fault(&ctx, (entry & NW_PTE_P) ? kind->pfec | NW_PFEC_RSVD | NW_PFEC_P : kind->pfec,
				   desc->level);
			goto out;
		}
		acc &= entry ^ ACC_FLIP;
		if (record)
			step->rights = rights_of(walker, acc);
		if (entry & desc->leaf_bits) {
			leaf_gpa = gpa;
			break;
		}
		if (upper_ad) {
			path.entry[desc->level] = entry;
			path.gpa[desc->level] = gpa;
		}
		if (~entry & passed_a) {
			if (hot)
				goto restart;
			if (!set_flags(walker, &ctx, gpa, desc->level, NW_PTE_A))
				goto out;
		}
		table = entry & desc->addr_mask;
	}

	if (!two_d && hot)
		refs = (unsigned)(desc - first) + 1; /* one reference per level read */
	page = UINT64_C(1) << desc->shift;
	rights = rights_of(walker, acc);
	res->leaf_level = desc->level;
	res->leaf_entry = entry;
	res->rights = rights;
	res->guest_page_size = page;
	res->guest_pat_index = (uint8_t)nw_pte_pat_index(entry, desc->level);
	pk = nw_probe_is_key_forbidden(kind, rights, entry);
	if (((kind->faults >> rights) & 1) || pk) {
		page_fault(&ctx, kind->pfec | NW_PFEC_P | (pk ? NW_PFEC_PK : 0), desc->level);
		goto out;
	}

	if (write_ad && (upper_ad || (entry & leaf_ad) != leaf_ad)) {
		path.entry[desc->level] = entry;
		path.gpa[desc->level] = leaf_gpa;
		if (!set_accessed_dirty(walker, &ctx, &path, (unsigned)(desc - walker->levels)))
			goto out;
	}
	if (desc->pse36)
		table = (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
			((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32;
	else
		table = entry & desc->large_addr_mask;
	refs += finish(walker, &ctx, (table & ~(page - 1)) | (linear & (page - 1)), kind->s2_need | set_ad, two_d,
		       record);
out:
	res->refs = refs;
	return;
restart:
	translate_any(walker, access, flags, res);
}

static __attribute__((noinline)) void translate_1d(const struct nw_walker *walker, const struct nw_access *access,
						   unsigned flags, struct nw_walk_result *res)
{
	translate(walker, access, flags, res, false, false, 8, true);
}

static __attribute__((noinline)) void translate_2d(const struct nw_walker *walker, const struct nw_access *access,
						   unsigned flags, struct nw_walk_result *res)
{
	translate(walker, access, flags, res, true, false, 8, true);
}

static __attribute__((noinline)) void translate_any(const struct nw_walker *walker, const struct nw_access *access,
						    unsigned flags, struct nw_walk_result *res)
{
	translate(walker, access, flags, res, walker->s2.kind != NW_STAGE2_NONE || (flags & NW_WALK_RECORD_S2),
		  (flags & NW_WALK_RECORD) != 0, walker->entry_bytes, false);
}

/* A translation with nothing to write, as the probe found it: the fields a
 * walk fills, every fault field zero. */
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

void nw_walker_translate(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			 struct nw_walk_result *res)
{
	struct nw_walk_hit hit;

	/* The plain case first: the probe answers it with the same fields, and has written nothing. */
	if (!(flags & NW_WALK_RECORD) && nw_walker_probe(walker, access, &hit)) {
		result_from_hit(walker, access, &hit, res);
		return;
	}
	if ((flags & NW_WALK_RECORD) || walker->entry_bytes != 8 || walker->config.ad_policy != NW_AD_AS_PASSED)
		translate_any(walker, access, flags, res);
	else if (walker->s2.kind == NW_STAGE2_NONE)
		translate_1d(walker, access, flags, res);
	else
		translate_2d(walker, access, flags, res);
}
