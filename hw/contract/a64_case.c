#include "contract/a64_case.h"

#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

#define ENTRY_BYTES 8

struct nw_arm64_s2_caps hw_a64_caps(const struct hw_blob_case *c)
{
	return (struct nw_arm64_s2_caps){ .pa_bits = 48, .xnx = (c->flags & HW_A64_XNX) != 0, .vmid16 = true };
}

uint64_t hw_a64_stub_iss(const struct hw_blob_case *c)
{
	return c->access == HW_ACCESS_FETCH ? 0 : HW_A64_STUB_ISS;
}

uint64_t hw_a64_vttbr(const struct hw_a64_vm *vm)
{
	return nw_arm64_s2_root(&vm->s2).val | UINT64_C(1) << 48;
}

static bool is_s1_link(const struct hw_blob_entry *e)
{
	return e->link >= HW_A64_S1_LINK;
}

/* Links form a tree below table 0: each other table linked once, from a table numbered before it; a link to a
 * stage-1 table names one the case has. */
static const char *check_shape(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned s1_count)
{
	unsigned linked[HW_MAX_TABLES] = { 0 };

	if (c->cpl != 1 || c->access > HW_ACCESS_FETCH || (c->flags & ~HW_A64_FLAGS_ALL))
		return "not an EL1 read, write or fetch with known flags";
	if (c->table_count == 0 || c->table_count > HW_MAX_TABLES || c->entry_count > HW_MAX_ENTRIES)
		return "table or entry count out of range";
	if (c->gva & 7)
		return "the IPA is not 8-byte aligned";
	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (is_s1_link(e)) {
			if (e->table >= c->table_count || (unsigned)(e->link - HW_A64_S1_LINK) >= s1_count ||
			    e->reserved || (e->value & NW_ARM64_S2_ADDR_MASK))
				return "a link to a stage-1 table the case lacks, or with an address of its own";
			continue;
		}
		if (e->table >= c->table_count || e->link > c->table_count || e->reserved)
			return "an entry names a table out of range";
		if (e->link && (e->link - 1u <= e->table || (e->value & NW_ARM64_S2_ADDR_MASK)))
			return "a link to an earlier table, or with an address of its own";
		if (e->link)
			linked[e->link - 1]++;
	}
	for (unsigned t = 1; t < c->table_count; t++)
		if (linked[t] != 1)
			return "a table not linked exactly once";
	return 0;
}

static unsigned table_level(const struct hw_a64_vm *vm, const struct hw_blob_entry *entries, unsigned count,
			    unsigned table)
{
	unsigned level = vm->s2.format.top;

	while (table != 0) {
		for (unsigned i = 0; i < count; i++) {
			if (!is_s1_link(&entries[i]) && entries[i].link == table + 1) {
				table = entries[i].table;
				break;
			}
		}
		level--;
	}
	return level;
}

static uint64_t *entry_at(const struct hw_a64_vm *vm, unsigned table, unsigned index)
{
	return (uint64_t *)nw_hal_phys_to_virt(vm->hal, vm->tables[table]) + index;
}

/* The entries must sit where the geometry has them: inside their table, no link out of a level-3 table,
 * nothing in the start-table entry of the image's block. */
static const char *check_places(const struct hw_a64_vm *vm, const struct hw_blob_case *c,
				const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;
	unsigned image_slot = nw_pt_index(fmt, fmt->top, HW_A64_IMAGE_BLOCK), shift = fmt->level[fmt->top].shift;

	if (c->gva >> shift == (uint64_t)HW_A64_IMAGE_BLOCK >> shift)
		return "the IPA shares the image's start-table entry";
	for (unsigned i = 0; i < c->entry_count; i++) {
		unsigned level = table_level(vm, entries, c->entry_count, entries[i].table);

		if (level < NW_LEVEL_PT || entries[i].index >= fmt->level[level].entries)
			return "an entry outside its table";
		if (entries[i].link && !is_s1_link(&entries[i]) && level == NW_LEVEL_PT)
			return "a link from a level-3 table";
		if (is_s1_link(&entries[i]) && (level != NW_LEVEL_PT || !(entries[i].value & NW_ARM64_S2_TABLE)))
			return "a stage-1 table mapped by other than a level-3 page";
		if (entries[i].table == 0 && entries[i].index == image_slot)
			return "an entry in the image's start-table slot";
	}
	return 0;
}

static const struct hw_blob_entry *find_entry(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
					      unsigned table, unsigned index)
{
	for (unsigned i = 0; i < c->entry_count; i++)
		if (entries[i].table == table && entries[i].index == index)
			return &entries[i];
	return 0;
}

/* Follows the access's IPA through the case's entries as a walk could (a valid entry with bit 1 above
 * level 3 a table, without it a block; bit 1 at level 3 a page; Arm ARM D8.3) and refuses what could reach
 * memory outside the scratch region: a table descriptor without link pointing below the output size, or a
 * leaf whose byte for the IPA is not in the scratch region. An address at or above the output size is an
 * Address size fault, never an access (AArch64.S2Walk), so it is allowed. */
static const char *check_path(const struct hw_a64_vm *vm, const struct hw_blob_case *c,
			      const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;
	uint64_t limit = UINT64_C(1) << vm->s2.config.ps_bits;
	unsigned table = 0;

	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		const struct hw_blob_entry *e = find_entry(c, entries, table, nw_pt_index(fmt, level, c->gva));
		uint64_t size = nw_pt_level_size(fmt, level), target;

		if (!e || !(e->value & NW_ARM64_S2_VALID) || is_s1_link(e))
			return 0; /* a stage-1 table is the case's own frame */
		if (e->link) {
			table = e->link - 1u;
			continue;
		}
		if ((e->value & NW_ARM64_S2_TABLE) && level > NW_LEVEL_PT)
			return (e->value & NW_ARM64_S2_ADDR_MASK) >= limit ? 0
									   : "a table address without link on the path";
		/* A block where none may be (level 0), or bits 1:0 0b01 at level 3: reserved, a Translation fault. */
		if (!fmt->level[level].leaf_ok || (level == NW_LEVEL_PT && !(e->value & NW_ARM64_S2_TABLE)))
			return 0;
		target = (e->value & NW_ARM64_S2_ADDR_MASK & ~(size - 1)) + (c->gva & (size - 1));
		if ((e->value & NW_ARM64_S2_ADDR_MASK & ~(size - 1)) >= limit)
			return 0;
		if (target < HW_A64_SCRATCH_BASE || target > HW_A64_SCRATCH_BASE + HW_A64_SCRATCH_SIZE - 8)
			return "the access's leaf maps outside the scratch region";
		return 0;
	}
	return 0;
}

/* With a stage-1 part the access's IPA is the guest's choice: every leaf the case writes (no link) must map the
 * scratch region or lie at or above the output size, and a table descriptor without link must too. */
static const char *check_leaves(const struct hw_a64_vm *vm, const struct hw_blob_case *c,
				const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;
	uint64_t limit = UINT64_C(1) << vm->s2.config.ps_bits;

	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		unsigned level = table_level(vm, entries, c->entry_count, e->table);
		uint64_t size = nw_pt_level_size(fmt, (int)level), oa = e->value & NW_ARM64_S2_ADDR_MASK;
		bool table = (e->value & NW_ARM64_S2_TABLE) && level > NW_LEVEL_PT;

		if (e->link || !(e->value & NW_ARM64_S2_VALID) || oa >= limit)
			continue;
		if (table)
			return "a table address without link";
		oa &= ~(size - 1);
		if (oa < HW_A64_SCRATCH_BASE || oa + size > HW_A64_SCRATCH_BASE + HW_A64_SCRATCH_SIZE)
			return "a leaf mapping outside the scratch region in a case with a stage 1";
	}
	return 0;
}

static nw_status_t map_image(struct hw_a64_vm *vm)
{
	uint64_t flags = nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB) | NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W |
			 (UINT64_C(3) << NW_ARM64_S2_SH_SHIFT) | NW_ARM64_S2_AF;

	return nw_arm64_s2_map(&vm->s2, nw_gpa(HW_A64_IMAGE_BLOCK), nw_hpa(HW_A64_IMAGE_BLOCK), HW_A64_IMAGE_BLOCK_SIZE,
			       flags, 0, 0);
}

static const char *fail(struct hw_a64_vm *vm, const char *why)
{
	hw_a64_vm_destroy(vm);
	return why;
}

const char *hw_a64_vm_build(struct hw_a64_vm *vm, const struct nw_hal *hal, const struct hw_blob_case *c,
			    const struct hw_blob_entry *entries, const nw_hpa_t *s1_tables, unsigned s1_count)
{
	struct nw_arm64_s2_caps caps = hw_a64_caps(c);
	struct nw_arm64_s2_config config;
	const char *why = check_shape(c, entries, s1_count);

	*vm = (struct hw_a64_vm){ .hal = hal };
	if (why)
		return why;
	if (nw_arm64_vtcr_decode(c->vtcr, &caps, &config) != NW_OK)
		return "a VTCR_EL2 the library refuses";
	if (nw_arm64_s2_create(&vm->s2, hal, &config) != NW_OK)
		return "no frame for the start table";
	vm->table_count = 1;
	vm->tables[0] = nw_arm64_s2_root(&vm->s2);
	if (map_image(vm) != NW_OK)
		return fail(vm, "the image's block does not fit the IPA or output size");
	why = check_places(vm, c, entries);
	if (!why)
		why = check_path(vm, c, entries);
	if (!why && s1_count)
		why = check_leaves(vm, c, entries);
	if (why)
		return fail(vm, why);
	for (; vm->table_count < c->table_count; vm->table_count++) {
		if (!nw_hal_alloc_frame(hal, &vm->tables[vm->table_count]))
			return fail(vm, "no frame for a case table");
		for (unsigned i = 0; i < NW_PAGE_SIZE / ENTRY_BYTES; i++)
			*entry_at(vm, vm->table_count, i) = 0;
	}
	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		uint64_t link = is_s1_link(e) ? s1_tables[e->link - HW_A64_S1_LINK].val
				: e->link     ? vm->tables[e->link - 1].val
					      : 0;

		*entry_at(vm, e->table, e->index) = e->value | link;
		if (e->table == 0)
			vm->root_index[vm->root_count++] = e->index;
	}
	return 0;
}

void hw_a64_vm_destroy(struct hw_a64_vm *vm)
{
	if (vm->table_count == 0)
		return;
	/* The library frees what its own entries link; the case's links are the case's to undo. */
	for (unsigned i = 0; i < vm->root_count; i++)
		*entry_at(vm, 0, vm->root_index[i]) = 0;
	for (unsigned t = 1; t < vm->table_count; t++)
		nw_hal_dealloc_frame(vm->hal, vm->tables[t]);
	nw_arm64_s2_destroy(&vm->s2);
	vm->table_count = 0;
}
