/* A probe of an aarch64 scenario's stage 1 on the AArch64 image (hw_a64.h): the descriptors the guest's walk of
 * the probe's VA reads, copied into the case's stage-1 tables (contract/a64_s1.h) as the scenario writes them;
 * the scenario's stage-2 path of each stage-1 table's IPA copied with its level-3 page linked to the case's
 * frame of that table, and of the final IPA with its leaf moved into the scratch region (hw_a64.c does the
 * same for a stage-2 probe); the image's own code mapped beside them (a read-only 1 GiB block at VA = IPA
 * HW_A64_IMAGE_BLOCK through TTBR0_EL1's tables). IPAs keep their bits but for the unit of the image's IPAs (a GiB,
 * or a stage-2 start slot if larger), which the case swaps with one the walk does not use (every descriptor, TTBR
 * and the stage-2 paths alike).
 * The case is then built on the scenario's simulated memory and walked by the library as the image's twin
 * nestwalk-hw-sim walks it: its answer must be the scenario's (nw_arm64_walk, as translate --gva gives it,
 * without populating lazy pages), or the probe is not run and says why. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

#include "contract/a64_case.h"
#include "hw/hw_a64.h"

#define GIB_SHIFT 30
#define SWAP_UNITS 16 /* the units a free one is looked for in */
/* The image's code as the case's stage 1 maps it (a64_s1.h): a 1 GiB block at IPA 0x40000000, AF, SH 0b11,
 * AP[2:1] 0b11 (read-only at EL1 and EL0), UXN and PXN clear (Arm ARM D8.3). */
#define IMAGE_S1_BLOCK \
	((uint64_t)HW_A64_IMAGE_BLOCK | NW_ARM64_S1_AF | NW_ARM64_S1_SH_MASK | NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2 | \
	 NW_ARM64_S1_VALID)
#define S2_PAGE_LEVEL NW_LEVEL_PT
/* The final IPA's stage-2 page is a stage-1 table's: the image's frame of the table cannot be its scratch page. */
#define S2_CLASH "the access's IPA lies in a page of one of its own stage-1 tables (a table read as data)"
#define ARM_LEVELS 4 /* Arm level n is the walk's level 4 - n */

struct s1_build {
	const struct nw_replay_machine *m;
	const struct nw_scenario_arm64 *a;
	struct nw_hw_case *out;
	uint32_t id;
	unsigned unit_shift;            /* IPAs move in units of a GiB or of a stage-2 start-table slot if larger */
	uint64_t image_unit, free_unit; /* the image's unit, and the unit it is swapped with */
	uint64_t s1_ipa[HW_MAX_TABLES]; /* the case's stage-1 table k: the scenario's table at this IPA */
	unsigned s1_count;
	uint64_t s2_table[HW_MAX_TABLES]; /* the case's stage-2 table k + 1: the scenario's at this address */
	uint64_t final_pa;                /* where the final access lands in the scratch region */
};

/* The IPA in the case: the image's unit and the free one swapped, nothing else moved. */
static uint64_t remap(const struct s1_build *b, uint64_t ipa)
{
	uint64_t unit = (ipa & NW_ARM64_S1_ADDR_MASK) >> b->unit_shift;

	if (unit == b->image_unit || unit == b->free_unit)
		return ipa ^ ((b->image_unit ^ b->free_unit) << b->unit_shift);
	return ipa;
}

/* A TTBR or descriptor with its address field moved as its IPA. */
static uint64_t remap_field(const struct s1_build *b, uint64_t value)
{
	return (value & ~NW_ARM64_S1_ADDR_MASK) | (remap(b, value & NW_ARM64_S1_ADDR_MASK) & NW_ARM64_S1_ADDR_MASK);
}

/* A descriptor as the case holds it: an invalid one as written. */
static uint64_t remap_desc(const struct s1_build *b, uint64_t desc)
{
	return (desc & NW_ARM64_S1_VALID) ? remap_field(b, desc) : desc;
}

/* An entry of the case (twice the same is once); clash: why two values for one entry cannot run. */
static const char *add_entry(struct hw_blob_entry *list, uint8_t *count, unsigned table, unsigned index, uint64_t value,
			     unsigned link, const char *clash)
{
	for (unsigned i = 0; i < *count; i++)
		if (list[i].table == table && list[i].index == index)
			return list[i].value == value && list[i].link == link ? NULL : clash;
	if (*count == NW_HW_CASE_ENTRIES)
		return "a walk longer than a case holds";
	list[(*count)++] = (struct hw_blob_entry){
		.table = (uint8_t)table, .index = (uint16_t)index, .link = (uint8_t)link, .value = value
	};
	return NULL;
}

/* The case's stage-2 table standing for the scenario's at addr (a new one when first seen), or -1. */
static int s2_table(struct s1_build *b, uint64_t addr)
{
	for (unsigned k = 1; k < b->out->head.table_count; k++)
		if (b->s2_table[k] == addr)
			return (int)k;
	if (b->out->head.table_count == HW_MAX_TABLES)
		return -1;
	b->s2_table[b->out->head.table_count] = addr;
	return b->out->head.table_count++;
}

/* The case's stage-1 table for the scenario's at ipa (a new one when first seen), or -1. */
static int s1_table(struct s1_build *b, uint64_t ipa)
{
	for (unsigned k = 0; k < b->s1_count; k++)
		if (b->s1_ipa[k] == ipa)
			return (int)k;
	if (b->s1_count == HW_MAX_TABLES)
		return -1;
	b->s1_ipa[b->s1_count] = ipa;
	return (int)b->s1_count++;
}

/* The leaf of a stage-2 path in the case: a stage-1 table's level-3 page linked to its frame (s1 >= 0), or the
 * final access's leaf (of size bytes) moved into the scratch region. */
static const char *s2_leaf(struct s1_build *b, uint64_t size, uint64_t entry, uint64_t ipa, int s1, uint64_t *value,
			   unsigned *link)
{
	uint64_t oa;

	if (s1 >= 0) {
		*value = entry & ~NW_ARM64_S2_ADDR_MASK;
		*link = HW_A64_S1_LINK + (unsigned)s1;
		return NULL;
	}
	if (size > HW_A64_SCRATCH_SIZE)
		return "the access's IPA under a stage-2 block larger than the scratch region";
	oa = size == NW_PAGE_SIZE
		     ? HW_A64_SCRATCH_BASE + (1 + b->id % (HW_A64_SCRATCH_SIZE / NW_PAGE_SIZE - 1)) * NW_PAGE_SIZE
		     : HW_A64_SCRATCH_BASE;
	*value = (entry & ~(NW_ARM64_S2_ADDR_MASK & ~(size - 1))) | oa;
	*link = 0;
	b->final_pa = oa + (ipa & (size - 1) & ~7ull);
	return NULL;
}

/* A table the case makes of a stage-2 block: keyed by where the block's entry lies (never a table's address:
 * odd), below it by the key and index of the entry above. */
static uint64_t split_key(uint64_t key, unsigned index)
{
	return (key << 10 | (uint64_t)index << 1) | 1;
}

/* The block at level (entry) split in the case into level-3 pages of its attributes down to ipa's page, so a
 * stage-1 table in it can be a page of its own (the library's walk of the case tells whether the outcome stayed
 * the same: a fault the block raises names the block's level). */
static const char *split_block(struct s1_build *b, int level, uint64_t entry, uint64_t key, unsigned me, uint64_t ipa,
			       int s1)
{
	const struct nw_pt_format *fmt = b->m->aspace->arm64.pt.fmt;
	uint64_t run = remap(b, ipa), value;
	unsigned link;
	const char *why;

	for (; level > NW_LEVEL_PT; level--) {
		int k = s2_table(b, key);

		if (k < 0)
			return "more stage-2 tables than a case holds";
		why = add_entry(b->out->entries, &b->out->head.entry_count, me, nw_pt_index(fmt, level, run),
				NW_ARM64_S2_VALID | NW_ARM64_S2_TABLE, (unsigned)k + 1, S2_CLASH);
		if (why)
			return why;
		me = (unsigned)k;
		key = split_key(key, nw_pt_index(fmt, level - 1, ipa));
	}
	why = s2_leaf(b, NW_PAGE_SIZE, (entry & ~NW_ARM64_S2_ADDR_MASK) | NW_ARM64_S2_TABLE, ipa, s1, &value, &link);
	return why ? why
		   : add_entry(b->out->entries, &b->out->head.entry_count, me, nw_pt_index(fmt, NW_LEVEL_PT, run),
			       value, link, S2_CLASH);
}

static bool is_split(const struct s1_build *b, uint64_t key)
{
	for (unsigned k = 1; k < b->out->head.table_count; k++)
		if (b->s2_table[k] == key)
			return true;
	return false;
}

/* The scenario's stage-2 path of ipa copied into the case at its moved IPA (hw_a64.c's walk of a probe); a block
 * split into pages where a stage-1 table lies in it. */
static const char *copy_s2_path(struct s1_build *b, uint64_t ipa, int s1)
{
	const struct nw_pt *pt = &b->m->aspace->arm64.pt;
	const struct nw_pt_format *fmt = pt->fmt;
	uint64_t limit = UINT64_C(1) << b->m->aspace->arm64.config.ps_bits, table = pt->root, run = remap(b, ipa);
	unsigned me = 0;

	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		uint64_t entry = nw_pt_entry_get(fmt, nw_pt_table_ptr(pt, table), nw_pt_index(fmt, level, ipa)),
			 value = entry, key = split_key(table, nw_pt_index(fmt, level, ipa));
		unsigned index = nw_pt_index(fmt, level, run), link = 0;
		bool valid = entry & NW_ARM64_S2_VALID, is_table = entry & NW_ARM64_S2_TABLE;
		const char *why;

		if (valid && is_table && level > NW_LEVEL_PT && (entry & NW_ARM64_S2_ADDR_MASK) < limit) {
			int k = s2_table(b, entry & NW_ARM64_S2_ADDR_MASK);

			if (k < 0)
				return "more stage-2 tables than a case holds";
			why = add_entry(b->out->entries, &b->out->head.entry_count, me, index,
					entry & ~NW_ARM64_S2_ADDR_MASK, (unsigned)k + 1, S2_CLASH);
			if (why)
				return why;
			table = entry & NW_ARM64_S2_ADDR_MASK;
			me = (unsigned)k;
			continue;
		}
		/* A leaf the walk uses (a page at level 3, a block where one may be, below the output size). */
		if (!valid || !(level == NW_LEVEL_PT ? is_table : fmt->level[level].leaf_ok && !is_table) ||
		    nw_pt_leaf_addr(fmt, level, entry) >= limit)
			return add_entry(b->out->entries, &b->out->head.entry_count, me, index, value, link, S2_CLASH);
		if (level > NW_LEVEL_PT && (s1 >= 0 || is_split(b, key)))
			return split_block(b, level, entry, key, me, ipa, s1);
		why = s2_leaf(b, nw_pt_level_size(fmt, level), entry, ipa, s1, &value, &link);
		return why ? why
			   : add_entry(b->out->entries, &b->out->head.entry_count, me, index, value, link, S2_CLASH);
	}
	return NULL;
}

/* The case's stage-1 table for the scenario's at table_ipa in *k, its stage-2 path copied when it is new. */
static const char *add_s1_table(struct s1_build *b, uint64_t table_ipa, int *k)
{
	unsigned before = b->s1_count;

	*k = s1_table(b, table_ipa);
	if (*k < 0)
		return "more stage-1 tables than a case holds";
	return b->s1_count > before ? copy_s2_path(b, table_ipa, *k) : NULL;
}

/* A stage-1 descriptor (as the case holds it) in the case's table for its table's IPA, which stage 2 maps there. */
static const char *add_s1_entry(struct s1_build *b, uint64_t table_ipa, unsigned index, uint64_t desc)
{
	int k;
	const char *why = add_s1_table(b, table_ipa, &k);

	if (why)
		return why;
	return add_entry(b->out->a64_s1_entries, &b->out->a64_s1.entry_count, (unsigned)k, index, desc, 0,
			 "the probe's walk reads the stage-1 entry the image's code needs (VA 0x40080000 through "
			 "TTBR0_EL1)");
}

/* Each descriptor a recorded walk read, top level first, and the table whose read stage 2 refused. */
static const char *add_s1_walk(struct s1_build *b, const struct nw_walk_result *res)
{
	int k;

	for (int l = NW_MAX_LEVELS; l >= NW_LEVEL_PT; l--) {
		const struct nw_walk_step *s = &res->steps[l];
		const char *why;

		if (s->read && (why = add_s1_entry(b, s->table_gpa.val, s->index, remap_desc(b, s->entry))))
			return why;
	}
	if (res->outcome == NW_OUTCOME_STAGE2_ABORT && res->s2_on_table)
		return add_s1_table(b, res->steps[res->fault_level].table_gpa.val, &k);
	return NULL;
}

static void walk(const struct s1_build *b, const struct nw_arm64_cpu *cpu, const struct nw_access *access,
		 struct nw_walk_result *res)
{
	const struct nw_walk_config config = { .hal = b->m->hal, .stage2 = b->m->stage2, .window = b->m->window };

	nw_arm64_walk(&config, cpu, access, NW_WALK_LOOKUP | NW_WALK_RECORD, res);
}

/* The image's code: the scenario's TTBR0_EL1 walk of VA HW_A64_LINK_BASE down to the table of Arm level 1,
 * whose entry for it becomes the image's block. */
static const char *add_image(struct s1_build *b, const struct nw_arm64_cpu *scenario_cpu)
{
	const struct nw_arm64_s1_range *r = &scenario_cpu->s1.range[0];
	struct nw_arm64_cpu cpu = *scenario_cpu;
	const struct nw_access access = { .gva = nw_gva(HW_A64_LINK_BASE), .size = 4, .type = NW_ACCESS_FETCH };
	const int block = NW_LEVEL_PT + 2; /* Arm level 1: 1 GiB with the 4 KiB granule */
	struct nw_walk_result res;
	const char *why;

	if (!r->walks || r->granule_bits != 12 || r->va_bits <= GIB_SHIFT + 1)
		return "TTBR0_EL1 cannot map the image's code at VA 0x40080000 (EPD0 set, a granule other than 4 KiB or "
		       "T0SZ above 32)";
	cpu.el0 = false;
	walk(b, &cpu, &access, &res);
	if (!res.steps[block].read)
		return "the guest's TTBR0_EL1 tables do not reach level 1 for the image's VA 0x40080000";
	for (int l = NW_MAX_LEVELS; l > block; l--)
		if (res.steps[l].read && (why = add_s1_entry(b, res.steps[l].table_gpa.val, res.steps[l].index,
							     remap_desc(b, res.steps[l].entry))))
			return why;
	return add_s1_entry(b, res.steps[block].table_gpa.val, res.steps[block].index, IMAGE_S1_BLOCK);
}

/* The unit the image's is swapped with: one that none of the walk's IPAs lies in, below both the stage-2 input
 * size and TCR_EL1.IPS (so no address changes its Address size or Translation fault). */
static const char *choose_free_unit(struct s1_build *b, const uint64_t *ipa, unsigned count)
{
	const struct nw_arm64_s2_config *s2 = &b->m->aspace->arm64.config;
	unsigned bits = s2->ipa_bits < b->a->s1.ps_bits ? s2->ipa_bits : b->a->s1.ps_bits;
	const struct nw_pt_format *fmt = b->m->aspace->arm64.pt.fmt;

	b->unit_shift = fmt->level[fmt->top].shift > GIB_SHIFT ? fmt->level[fmt->top].shift : GIB_SHIFT;
	b->image_unit = (uint64_t)HW_A64_IMAGE_BLOCK >> b->unit_shift;
	for (uint64_t unit = 0; unit < SWAP_UNITS && (unit + 1) << b->unit_shift <= UINT64_C(1) << bits; unit++) {
		bool used = unit == b->image_unit;

		for (unsigned i = 0; i < count && !used; i++)
			used = (ipa[i] & NW_ARM64_S1_ADDR_MASK) >> b->unit_shift == unit;
		if (!used) {
			b->free_unit = unit;
			return NULL;
		}
	}
	return "no room for the image's IPAs: the walk uses each of the first GiBs (or stage-2 start slots)";
}

/* The IPAs the case needs: the TTBRs', each stage-1 table read by the probe's walk or the image's, the final. */
static unsigned walk_ipas(const struct nw_walk_result *res, const struct nw_walk_result *image,
			  const struct nw_arm64_cpu *cpu, uint64_t *ipa)
{
	unsigned n = 0;

	ipa[n++] = cpu->s1.range[0].table;
	ipa[n++] = cpu->s1.range[1].table;
	for (int l = NW_LEVEL_PT; l <= NW_MAX_LEVELS; l++) {
		if (res->steps[l].read)
			ipa[n++] = res->steps[l].table_gpa.val;
		if (image->steps[l].read)
			ipa[n++] = image->steps[l].table_gpa.val;
	}
	ipa[n++] = res->outcome == NW_OUTCOME_OK ? res->gpa.val : res->fault_gpa.val;
	return n;
}

static uint64_t remap_hpfar(const struct s1_build *b, uint64_t hpfar)
{
	return remap(b, hpfar >> 4 << 12) >> 12 << 4;
}

/* The scenario's answer in the case's addresses is the case's own: why not, or NULL. */
static const char *same_answer(const struct s1_build *b, const struct nw_walk_result *want,
			       const struct nw_walk_result *got)
{
	if (want->outcome != got->outcome)
		return "the case does not reproduce the scenario's walk (another outcome)";
	if (want->outcome == NW_OUTCOME_OK)
		return remap(b, want->gpa.val) == got->gpa.val && got->hpa.val == b->final_pa
			       ? NULL
			       : "the case does not reproduce the scenario's walk (another IPA)";
	if (want->esr != got->esr || want->far != got->far || want->s2_on_table != got->s2_on_table ||
	    want->hpfar_valid != got->hpfar_valid || (want->hpfar_valid && remap_hpfar(b, want->hpfar) != got->hpfar))
		return "the case does not reproduce the scenario's walk (another syndrome)";
	return NULL;
}

/* Builds the case on the scenario's simulated memory as the image builds it and walks it with the library. */
static const char *walk_case(const struct s1_build *b, struct nw_walk_result *got)
{
	const struct nw_hw_case *c = b->out;
	const struct nw_access access = { .gva = nw_gva(c->a64_s1.va),
					  .size = 8,
					  .type = (enum nw_access_type)c->head.access,
					  .unprivileged = c->a64_s1.unprivileged != 0 };
	struct hw_a64_vm vm;
	struct hw_a64_s1 s1;
	const char *why = hw_a64_case_build(&vm, &s1, b->m->hal, &c->head, c->entries, &c->a64_s1, c->a64_s1_entries);

	if (why)
		return why;
	{
		const struct nw_walk_config config = hw_a64_s1_walk_config(&vm);

		nw_arm64_walk(&config, &s1.cpu, &access, NW_WALK_LOOKUP, got);
	}
	hw_a64_case_destroy(&vm, &s1);
	return NULL;
}

static const char *compile(struct s1_build *b, const struct nw_hw_a64_probe *p, struct nw_hw_a64_expect *e)
{
	const struct nw_scenario_arm64 *a = b->a;
	const struct nw_arm64_cpu cpu = { .s1 = a->s1, .el0 = p->el0, .pan = a->pan, .uao = a->uao };
	const struct nw_access access = {
		.gva = nw_gva(p->va), .size = 8, .type = p->type, .unprivileged = p->unprivileged
	};
	struct nw_walk_result res, image, got;
	const struct nw_access image_access = { .gva = nw_gva(HW_A64_LINK_BASE), .size = 4, .type = NW_ACCESS_FETCH };
	struct nw_arm64_cpu image_cpu = cpu;
	uint64_t ipa[2 * NW_MAX_LEVELS + 6];
	const char *why;
	bool final;

	walk(b, &cpu, &access, &res);
	image_cpu.el0 = false;
	walk(b, &image_cpu, &image_access, &image);
	if (res.outcome != NW_OUTCOME_OK && res.outcome != NW_OUTCOME_STAGE1_ABORT &&
	    res.outcome != NW_OUTCOME_STAGE2_ABORT)
		return "the library's walk reads memory nothing backs";
	if ((why = choose_free_unit(b, ipa, walk_ipas(&res, &image, &cpu, ipa))))
		return why;
	if ((why = add_image(b, &cpu)) || (why = add_s1_walk(b, &res)))
		return why;
	final = res.outcome == NW_OUTCOME_OK || (res.outcome == NW_OUTCOME_STAGE2_ABORT && !res.s2_on_table);
	if (final && (why = copy_s2_path(b, res.outcome == NW_OUTCOME_OK ? res.gpa.val : res.fault_gpa.val, -1)))
		return why;
	b->out->a64_s1 = (struct hw_a64_s1_part){ .sctlr = a->sctlr_el1,
						  .tcr = a->tcr_el1,
						  .ttbr0 = remap_field(b, a->ttbr0_el1),
						  .ttbr1 = remap_field(b, a->ttbr1_el1),
						  .mair = a->mair_el1,
						  .va = p->va,
						  .pstate = (p->el0 ? 0 : HW_A64_PSTATE_EL1H) |
							    (a->pan ? HW_A64_PSTATE_PAN : 0) |
							    (a->uao ? HW_A64_PSTATE_UAO : 0),
						  .unprivileged = p->unprivileged,
						  .table_count = (uint8_t)b->s1_count,
						  .entry_count = b->out->a64_s1.entry_count };
	/* The IPA the access is expected to reach; a walk that stops before it names its first table's. */
	b->out->head.gva = remap(b, final ? (res.outcome == NW_OUTCOME_OK ? res.gpa.val : res.fault_gpa.val) & ~7ull
					  : b->s1_ipa[0]);
	if ((why = walk_case(b, &got)) || (why = same_answer(b, &res, &got)))
		return why;
	e->s1 = true;
	e->fetch = p->type == NW_ACCESS_FETCH;
	e->outcome = got.outcome;
	e->far = got.far;
	e->pa = got.hpa.val;
	e->esr = got.esr |
		 (got.outcome == NW_OUTCOME_STAGE2_ABORT && !got.s2_on_table ? hw_a64_stub_iss(&b->out->head) : 0);
	e->has_hpfar = got.hpfar_valid;
	e->hpfar = got.hpfar;
	/* The Arm level of the stage-1 table whose read stage 2 refused (fault_level is the walk's SDM-style level). */
	e->s1ptw_level = got.s2_on_table ? ARM_LEVELS - res.fault_level : -1;
	return NULL;
}

const char *nw_hw_a64_s1_compile(const struct nw_replay_machine *m, const struct nw_scenario_arm64 *a,
				 const struct nw_hw_a64_probe *p, uint32_t id, struct nw_hw_case *out,
				 struct nw_hw_a64_expect *e)
{
	struct s1_build b = { .m = m, .a = a, .out = out, .id = id };

	*e = (struct nw_hw_a64_expect){ .small_ps_level0 = m->aspace->arm64.config.start_level == 0 &&
							   m->aspace->arm64.config.ps_bits < 44 };
	out->head = (struct hw_blob_case){ .id = id,
					   .flags = HW_A64_XNX | HW_A64_S1,
					   .vtcr = (uint32_t)m->vtcr,
					   .cpl = 1,
					   .access = (uint8_t)p->type,
					   .table_count = 1 };
	out->a64_s1.entry_count = 0;
	if (nw_hw_a64_vtcr_refusal(m->vtcr))
		return nw_hw_a64_vtcr_refusal(m->vtcr);
	if (nw_pt_level_size(m->aspace->arm64.pt.fmt, NW_LEVEL_PT) != NW_PAGE_SIZE)
		return "a stage-2 granule other than 4 KiB under a stage 1 (the image links stage-1 tables as 4 KiB pages)";
	return compile(&b, p, e);
}

static const struct nw_hw_deviation s1ptw_level = {
	"a64-s1ptw-level",
	"QEMU 7.2 gives a stage-2 fault on a stage-1 table read the level of that stage-1 lookup, not stage 2's",
	NULL,
};

static enum nw_hw_verdict differ(char *problem, size_t len, const char *what, uint64_t got, uint64_t want)
{
	snprintf(problem, len, "%s 0x%" PRIx64 " on the CPU, 0x%" PRIx64 " in the library", what, got, want);
	return NW_HW_VERDICT_MISMATCH;
}

static enum nw_hw_verdict other_kind(char *problem, size_t len, const struct nw_hw_outcome *o, const char *want)
{
	snprintf(problem, len, "the CPU gave '%s', the library %s", o->text, want);
	return NW_HW_VERDICT_MISMATCH;
}

/* A stage-1 abort taken to the guest's EL1 vectors: the image's "exc ESR_EL1 FAR_EL1". */
static enum nw_hw_verdict stage1_verdict(const struct nw_hw_a64_expect *e, const struct nw_hw_outcome *o, char *problem,
					 size_t len)
{
	uint64_t esr, far;

	if (o->kind != NW_HW_OTHER || sscanf(o->text, "exc %" SCNx64 " %" SCNx64, &esr, &far) != 2)
		return other_kind(problem, len, o, "a stage-1 abort taken to EL1");
	if (esr != e->esr)
		return differ(problem, len, "ESR_EL1", esr, e->esr);
	return far == e->far ? NW_HW_VERDICT_MATCH : differ(problem, len, "FAR_EL1", far, e->far);
}

/* A stage-2 abort taken to EL2: ESR_EL2, FAR_EL2, HPFAR_EL2 where the Arm ARM defines it; QEMU's DFSC level on a
 * stage-1 table read and its HPFAR_EL2 where the Arm ARM leaves it UNKNOWN are their rows, never agreement. */
static enum nw_hw_verdict stage2_verdict(const struct nw_hw_a64_expect *e, const struct nw_hw_outcome *o,
					 const struct nw_hw_deviation **deviation, char *problem, size_t len)
{
	enum nw_hw_verdict hpfar;

	if (o->kind != NW_HW_ABORT)
		return other_kind(problem, len, o, "a stage-2 abort");
	if (o->b != e->far)
		return differ(problem, len, "FAR_EL2", o->b, e->far);
	hpfar = nw_hw_a64_hpfar_verdict(e->has_hpfar, e->hpfar, o, deviation, problem, len);
	if (hpfar == NW_HW_VERDICT_MISMATCH || o->a == e->esr)
		return hpfar;
	if (e->s1ptw_level < 0 || (o->a & ~UINT64_C(3)) != (e->esr & ~UINT64_C(3)) ||
	    (o->a & 3) != (uint64_t)e->s1ptw_level)
		return differ(problem, len, "ESR_EL2", o->a, e->esr);
	*deviation = &s1ptw_level; /* an S1PTW fault's HPFAR_EL2 is always defined: no other row applies */
	return NW_HW_VERDICT_EXPLAINED;
}

enum nw_hw_verdict nw_hw_a64_s1_verdict(const struct nw_hw_a64_expect *e, const struct nw_hw_outcome *o,
					const struct nw_hw_deviation **deviation, char *problem, size_t len)
{
	switch (e->outcome) {
	case NW_OUTCOME_OK:
		if (o->kind != NW_HW_OK)
			return other_kind(problem, len, o, "a translation");
		if (e->fetch)
			return (o->unknown & 1) ? NW_HW_VERDICT_MATCH : other_kind(problem, len, o, "a fetch ('ok -')");
		return o->a == e->pa ? NW_HW_VERDICT_MATCH : differ(problem, len, "PA", o->a, e->pa);
	case NW_OUTCOME_STAGE1_ABORT:
		return stage1_verdict(e, o, problem, len);
	default:
		return stage2_verdict(e, o, deviation, problem, len);
	}
}
