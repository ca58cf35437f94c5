#include "contract/rv_case.h"

#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

/* The address in a PTE's PPN (bits 53:10 hold address bits 55:12). */
static uint64_t pte_addr(uint64_t pte)
{
	return (pte & NW_RV_PTE_PPN_MASK) << (12 - NW_RV_PTE_PPN_SHIFT);
}

struct nw_rv_gstage_config hw_rv_config(const struct hw_blob_case *c)
{
	struct nw_rv_gstage_caps caps = {
		.sv39x4 = true, .sv48x4 = true, .sv57x4 = true, .vmid_bits = 14, .svadu = true, .svpbmt = true,
		.svnapot = (c->flags & HW_RV_NAPOT) != 0
	};

	return (struct nw_rv_gstage_config){ .mode = c->mode & HW_RV_MODE_MASK,
					     .adue = (c->flags & HW_RV_ADUE) != 0,
					     .pbmte = (c->flags & HW_RV_PBMTE) != 0,
					     .mxr = (c->flags & HW_RV_MXR) != 0,
					     .caps = caps };
}

uint64_t hw_rv_hgatp(const struct hw_rv_vm *vm)
{
	return (uint64_t)vm->s2.config.mode << NW_RV_HGATP_MODE_SHIFT | UINT64_C(1) << NW_RV_HGATP_VMID_SHIFT |
	       nw_rv_gstage_root(&vm->s2).val >> 12;
}

static const char *check_shape(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			       unsigned page_count)
{
	if (c->cpl != 1 || c->access > HW_ACCESS_FETCH || (c->flags & ~HW_RV_FLAGS_ALL) || (c->mode & ~HW_RV_MODE_MASK))
		return "not a VS-mode read, write or fetch with known flags";
	if (c->gva & 7)
		return "the GPA is not 8-byte aligned";
	return hw_case_tree_check(c, entries, NW_RV_PTE_PPN_MASK, page_count);
}

/* Follows the access's GPA through the case's entries as a walk could (privileged spec, "Virtual Address
 * Translation Process": V=0 stops; neither R nor X a pointer; else a leaf) and refuses what could reach
 * memory outside the scratch region: a pointer without link whose address has memory behind it, a link in a
 * leaf (its table would be the page), or a leaf whose byte for the GPA (its PPN bits, superpage bits below its
 * size taken from the GPA) is not in the scratch region. */
static const char *check_path(const struct hw_rv_vm *vm, const struct hw_blob_case *c,
			      const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;
	unsigned table = 0;

	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		const struct hw_blob_entry *e = hw_case_tree_find(c, entries, table, nw_pt_index(fmt, level, c->gva));
		uint64_t size = nw_pt_level_size(fmt, level), target;

		if (!e || !(e->value & NW_RV_PTE_V))
			return 0;
		if (e->link && (e->value & (NW_RV_PTE_R | NW_RV_PTE_X)))
			return "a link that is a leaf on the path";
		if (e->link) {
			table = e->link - 1u;
			continue;
		}
		if (!(e->value & (NW_RV_PTE_R | NW_RV_PTE_X)))
			return pte_addr(e->value) >= HW_RV_NO_MEMORY || level == NW_LEVEL_PT
				       ? 0
				       : "a pointer without link on the path";
		target = (pte_addr(e->value) & ~(size - 1)) + (c->gva & (size - 1));
		if (target < HW_RV_SCRATCH_BASE || target > HW_RV_SCRATCH_BASE + HW_RV_SCRATCH_SIZE - 8)
			return "the access's leaf maps outside the scratch region";
		return 0;
	}
	return 0;
}

static nw_status_t map_image(struct hw_rv_vm *vm)
{
	/* Not writable: a VS-stage leaf may lead a guest store here, which must fault, never land. */
	uint64_t flags = NW_RV_PTE_R | NW_RV_PTE_X | NW_RV_PTE_U | NW_RV_PTE_A;

	return nw_rv_gstage_map(&vm->s2, nw_gpa(HW_RV_CODE_GPA), nw_hpa(HW_RV_IMAGE_BASE), HW_RV_IMAGE_SIZE, flags, 0,
				0);
}

static const char *fail(struct hw_rv_vm *vm, const char *why)
{
	hw_rv_vm_destroy(vm);
	return why;
}

const char *hw_rv_vm_build(struct hw_rv_vm *vm, const struct nw_hal *hal, const struct hw_blob_case *c,
			   const struct hw_blob_entry *entries, const nw_hpa_t *pages, unsigned page_count)
{
	struct nw_rv_gstage_config config = hw_rv_config(c);
	const char *why = check_shape(c, entries, page_count);

	*vm = (struct hw_rv_vm){ .t.hal = hal, .t.table_pages = 1 };
	if (why)
		return why;
	if (nw_rv_gstage_create(&vm->s2, hal, &config) != NW_OK)
		return "an hgatp mode the library refuses, or no frames for the root";
	vm->t.count = 1;
	vm->t.tables[0] = nw_rv_gstage_root(&vm->s2);
	if (map_image(vm) != NW_OK)
		return fail(vm, "the image's superpage does not fit");
	why = hw_case_tree_check_places(vm->s2.pt.fmt, c, entries, HW_RV_CODE_GPA);
	/* Through a VS-stage the access's path is the library walk's, checked once the tables are written
	 * (rv_vs.h). */
	if (!why && !(c->flags & HW_RV_VS))
		why = check_path(vm, c, entries);
	if (why)
		return fail(vm, why);
	if (!hw_case_tables_write(&vm->t, c, entries, 12 - NW_RV_PTE_PPN_SHIFT, pages))
		return fail(vm, "no frame for a case table");
	return 0;
}

void hw_rv_vm_destroy(struct hw_rv_vm *vm)
{
	if (vm->t.count == 0)
		return;
	/* The library frees what its own entries link; the case's links are the case's to undo. */
	hw_case_tables_undo(&vm->t);
	nw_rv_gstage_destroy(&vm->s2);
}
