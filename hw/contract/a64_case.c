#include "contract/a64_case.h"

#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

#include "contract/case_tree.h"

struct nw_arm64_s2_caps hw_a64_caps(const struct hw_blob_case *c)
{
	return (struct nw_arm64_s2_caps){
		.pa_bits = 48, .xnx = (c->flags & HW_A64_XNX) != 0, .vmid16 = true, .gran16 = true, .gran64 = true
	};
}

uint64_t hw_a64_stub_iss(const struct hw_blob_case *c)
{
	return c->access == HW_ACCESS_FETCH ? 0 : HW_A64_STUB_ISS;
}

uint64_t hw_a64_vttbr(const struct hw_a64_vm *vm)
{
	return nw_arm64_s2_root(&vm->s2).val | UINT64_C(1) << 48;
}

static const char *check_shape(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned s1_count)
{
	if (c->cpl != 1 || c->access > HW_ACCESS_FETCH || (c->flags & ~HW_A64_FLAGS_ALL))
		return "not an EL1 read, write or fetch with known flags";
	if (c->gva & 7)
		return "the IPA is not 8-byte aligned";
	return hw_case_tree_check(c, entries, NW_ARM64_S2_ADDR_MASK, s1_count);
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
		const struct hw_blob_entry *e = hw_case_tree_find(c, entries, table, nw_pt_index(fmt, level, c->gva));
		uint64_t size = nw_pt_level_size(fmt, level), target;

		if (!e || !(e->value & NW_ARM64_S2_VALID) || hw_case_is_page_link(e))
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
 * scratch region or lie at or above the output size, and a table descriptor without link must too; an entry
 * linking a stage-1 table must be a page (bits 1:0 0b11; hw_case_tree_check_places keeps it at level 3). */
static const char *check_leaves(const struct hw_a64_vm *vm, const struct hw_blob_case *c,
				const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;
	uint64_t limit = UINT64_C(1) << vm->s2.config.ps_bits;

	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		unsigned level = fmt->top - hw_case_tree_depth(c, entries, e->table);
		uint64_t size = nw_pt_level_size(fmt, (int)level), oa = e->value & NW_ARM64_S2_ADDR_MASK;
		bool table = (e->value & NW_ARM64_S2_TABLE) && level > NW_LEVEL_PT;

		if (hw_case_is_page_link(e) && !(e->value & NW_ARM64_S2_TABLE))
			return "a stage-1 table mapped by other than a level-3 page";
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

	/* One 2 MiB block with the 4 KiB granule; 16 or 64 KiB pages with the others. */
	return nw_arm64_s2_map_region(&vm->s2, nw_gpa(HW_A64_IMAGE_BLOCK), nw_hpa(HW_A64_IMAGE_BLOCK),
				      HW_A64_IMAGE_BLOCK_SIZE, flags, 0);
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

	*vm = (struct hw_a64_vm){ .t.hal = hal, .t.table_pages = 1 };
	if (why)
		return why;
	if (nw_arm64_vtcr_decode(c->vtcr, &caps, &config) != NW_OK)
		return "a VTCR_EL2 the library refuses";
	if (nw_arm64_s2_create(&vm->s2, hal, &config) != NW_OK)
		return "no frame for the start table";
	vm->t.count = 1;
	vm->t.tables[0] = nw_arm64_s2_root(&vm->s2);
	vm->t.table_pages = (unsigned)nw_pt_table_pages(vm->s2.pt.fmt, NW_LEVEL_PT);
	if (map_image(vm) != NW_OK)
		return fail(vm, "the image's block does not fit the IPA or output size");
	why = hw_case_tree_check_places(vm->s2.pt.fmt, c, entries, HW_A64_IMAGE_BLOCK);
	if (!why)
		why = check_path(vm, c, entries);
	if (!why && s1_count)
		why = check_leaves(vm, c, entries);
	if (why)
		return fail(vm, why);
	if (!hw_case_tables_write(&vm->t, c, entries, 0, s1_tables))
		return fail(vm, "no frame for a case table");
	return 0;
}

void hw_a64_vm_destroy(struct hw_a64_vm *vm)
{
	if (vm->t.count == 0)
		return;
	/* The library frees what its own entries link; the case's links are the case's to undo. */
	hw_case_tables_undo(&vm->t);
	nw_arm64_s2_destroy(&vm->s2);
}
