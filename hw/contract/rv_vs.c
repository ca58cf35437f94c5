#include "contract/rv_vs.h"

#include <nestwalk/hal.h>

#define PTE_BYTES 8

/* The model's hart for the VS-stage: Sv39, Sv48, Sv57, 16 ASID bits, Svadu (the case's adue switch covers
 * both stages, as QEMU 7.2 sets A and D in both), Svpbmt (the case's pbmte, likewise) and Svnapot as the
 * G-stage's. */
static struct nw_rv_vs_caps vs_caps(const struct hw_blob_case *c)
{
	return (struct nw_rv_vs_caps){ .sv39 = true, .sv48 = true, .sv57 = true, .asid_bits = 16, .svadu = true,
				       .svpbmt = true, .svnapot = (c->flags & HW_RV_NAPOT) != 0 };
}

static uint64_t part_size(const struct hw_rv_vs_part *p)
{
	return sizeof(*p) + (uint64_t)p->entry_count * sizeof(struct hw_blob_entry);
}

bool hw_rv_vs_tail(const struct hw_blob_case *c, const uint8_t *tail, uint64_t room, uint64_t *len)
{
	*len = 0;
	if (!(c->flags & HW_RV_VS))
		return true;
	if (room < sizeof(struct hw_rv_vs_part))
		return false;
	*len = part_size((const struct hw_rv_vs_part *)tail);
	return *len <= room;
}

struct nw_walk_config hw_rv_vs_walk_config(struct hw_rv_vm *vm)
{
	return (struct nw_walk_config){ .hal = vm->t.hal, .stage2 = { .kind = NW_STAGE2_RISCV, .riscv = &vm->s2 } };
}

static const char *check_part(const struct hw_blob_case *c, const struct hw_rv_vs_part *p,
			      const struct hw_blob_entry *entries)
{
	struct nw_rv_vs_caps caps = vs_caps(c);
	struct nw_rv_vsatp vsatp;

	if (nw_rv_vsatp_decode(p->vsatp, &caps, &vsatp) != NW_OK || vsatp.mode == NW_RV_SATP_BARE)
		return "a vsatp the library refuses, or Bare";
	if ((p->vsstatus & ~(NW_RV_SSTATUS_SUM | NW_RV_SSTATUS_MXR)) || p->vu > 1)
		return "vsstatus bits besides SUM and MXR, or a privilege besides VS and VU";
	if (p->table_count == 0 || p->table_count > HW_MAX_TABLES || p->entry_count > HW_MAX_ENTRIES)
		return "VS-stage table or entry count out of range";
	for (unsigned i = 0; i < sizeof(p->reserved); i++)
		if (p->reserved[i])
			return "reserved bytes of the VS-stage part set";
	for (unsigned i = 0; i < p->entry_count; i++)
		if (entries[i].table >= p->table_count || entries[i].link || entries[i].reserved ||
		    entries[i].index >= NW_PAGE_SIZE / PTE_BYTES)
			return "a VS-stage entry outside its table, or with a link";
	return 0;
}

/* The only G-stage entries a VS-stage case may hold besides invalid ones and linked tables: a leaf onto one of
 * its VS-stage tables (a page link), a leaf inside the scratch region, or a pointer the walk never follows (at
 * the last level, or to where there is no memory). So whatever a VS-stage PTE names, the walks read only the
 * case's frames and the scratch region. */
static const char *check_gstage_leaves(const struct hw_rv_vm *vm, const struct hw_blob_case *c,
				       const struct hw_blob_entry *entries)
{
	const struct nw_pt_format *fmt = vm->s2.pt.fmt;

	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		int level = fmt->top - (int)hw_case_tree_depth(c, entries, e->table);
		uint64_t addr = (e->value & NW_RV_PTE_PPN_MASK) << (12 - NW_RV_PTE_PPN_SHIFT);

		if (!(e->value & NW_RV_PTE_V) || e->link)
			continue;
		if (!(e->value & (NW_RV_PTE_R | NW_RV_PTE_X))) {
			if (level != NW_LEVEL_PT && addr < HW_RV_NO_MEMORY)
				return "a G-stage pointer without link";
			continue;
		}
		if (addr < HW_RV_SCRATCH_BASE || addr + nw_pt_level_size(fmt, level) > HW_RV_SCRATCH_BASE + HW_RV_SCRATCH_SIZE)
			return "a G-stage leaf outside the scratch region";
	}
	return 0;
}

static const char *alloc_tables(struct hw_rv_vs *vs, const struct hw_rv_vs_part *p)
{
	return hw_case_pages_alloc(vs->hal, vs->tables, p->table_count, &vs->table_count)
		       ? 0
		       : "no frame for a VS-stage table";
}

static bool is_case_frame(const struct hw_rv_vs *vs, uint64_t hpa)
{
	for (unsigned t = 0; t < vs->table_count; t++)
		if (hpa == vs->tables[t].val)
			return true;
	return false;
}

/* The walk read its PTEs from the case's VS-stage frames only. */
static bool reads_case_frames(const struct hw_rv_vs *vs, const struct nw_walk_result *res)
{
	for (unsigned level = 0; level <= NW_MAX_LEVELS; level++)
		if (res->steps[level].read && !is_case_frame(vs, res->steps[level].table_hpa.val))
			return false;
	return true;
}

static void walk(struct hw_rv_vm *vm, const struct hw_rv_vs *vs, enum nw_access_type type, uint64_t va,
		 struct nw_walk_result *res)
{
	const struct nw_walk_config config = hw_rv_vs_walk_config(vm);
	const struct nw_access access = { .gva = nw_gva(va), .size = 8, .type = type };

	nw_rv_vs_walk(&config, &vs->cpu, &access, NW_WALK_LOOKUP | NW_WALK_RECORD_STEPS, res);
}

/* The guest's code at VA = GPA = HW_RV_CODE_GPA, fetched at the case's privilege through one leaf covering the
 * image; the access's walk reading the case's frames only and, completed, landing in the scratch region. */
static const char *check_walks(struct hw_rv_vm *vm, const struct hw_rv_vs *vs, const struct hw_blob_case *c,
			       const struct hw_rv_vs_part *p)
{
	struct nw_walk_result res;

	walk(vm, vs, NW_ACCESS_FETCH, HW_RV_CODE_GPA, &res);
	if (res.outcome != NW_OUTCOME_OK || res.gpa.val != HW_RV_CODE_GPA || res.guest_page_size < HW_RV_IMAGE_SIZE ||
	    !reads_case_frames(vs, &res))
		return "the case's VS-stage does not run the image's code at its own address";
	walk(vm, vs, (enum nw_access_type)c->access, p->va, &res);
	if (!reads_case_frames(vs, &res))
		return "the access's walk reads a PTE outside the case's VS-stage tables";
	if (res.outcome == NW_OUTCOME_OK &&
	    (res.hpa.val < HW_RV_SCRATCH_BASE || res.hpa.val > HW_RV_SCRATCH_BASE + HW_RV_SCRATCH_SIZE - 8))
		return "the access lands outside the scratch region";
	return 0;
}

static const char *fill(struct hw_rv_vs *vs, const struct hw_rv_vm *vm, const struct hw_blob_case *c,
			const struct hw_rv_vs_part *p, const struct hw_blob_entry *entries)
{
	struct nw_rv_vs_caps caps = vs_caps(c);

	for (unsigned i = 0; i < p->entry_count; i++)
		((uint64_t *)nw_hal_phys_to_virt(vs->hal, vs->tables[entries[i].table]))[entries[i].index] =
			entries[i].value;
	vs->cpu.vu = p->vu != 0;
	vs->cpu.sum = (p->vsstatus & NW_RV_SSTATUS_SUM) != 0;
	vs->cpu.mxr = (p->vsstatus & NW_RV_SSTATUS_MXR) != 0;
	vs->cpu.hs_mxr = vm->s2.config.mxr;
	vs->cpu.adue = vm->s2.config.adue;
	vs->cpu.pbmte = vm->s2.config.pbmte;
	vs->cpu.caps = caps;
	return nw_rv_vsatp_decode(p->vsatp, &caps, &vs->cpu.vsatp) == NW_OK ? 0 : "a vsatp the library refuses";
}


const char *hw_rv_case_build(struct hw_rv_vm *vm, struct hw_rv_vs *vs, const struct nw_hal *hal,
			     const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			     const struct hw_rv_vs_part *p, const struct hw_blob_entry *vs_entries)
{
	const char *why = p ? check_part(c, p, vs_entries) : 0;

	*vs = (struct hw_rv_vs){ .hal = hal };
	if (!why && p)
		why = alloc_tables(vs, p);
	if (!why)
		why = hw_rv_vm_build(vm, hal, c, entries, vs->tables, vs->table_count);
	if (why) {
		hw_case_pages_free(vs->hal, vs->tables, &vs->table_count);
		return why;
	}
	if (p) {
		why = check_gstage_leaves(vm, c, entries);
		if (!why)
			why = fill(vs, vm, c, p, vs_entries);
		if (!why)
			why = check_walks(vm, vs, c, p);
		if (why)
			hw_rv_case_destroy(vm, vs);
	}
	return why;
}

void hw_rv_case_destroy(struct hw_rv_vm *vm, struct hw_rv_vs *vs)
{
	hw_rv_vm_destroy(vm);
	hw_case_pages_free(vs->hal, vs->tables, &vs->table_count);
}

/* vsatp Bare: the GPA through the G-stage alone. */
static void gstage_answer(struct hw_rv_vm *vm, const struct hw_blob_case *c, struct hw_rv_answer *out)
{
	struct nw_s2_request req = { .gpa = nw_gpa(c->gva), .type = (enum nw_access_type)c->access };
	struct nw_rv_gstage_access access = { .type = req.type, .gva = c->gva, .gpa = req.gpa };
	struct nw_s2_result res;

	nw_rv_gstage_translate(&vm->s2, &req, &res);
	out->ok = !nw_rv_gstage_fault(&res, &access, &out->trap);
	out->hpa = res.hpa.val;
}

bool hw_rv_case_answer(struct hw_rv_vm *vm, const struct hw_rv_vs *vs, const struct hw_blob_case *c,
		       const struct hw_rv_vs_part *p, struct hw_rv_answer *out)
{
	const struct nw_walk_config config = hw_rv_vs_walk_config(vm);
	struct nw_access access = { .size = 8, .type = (enum nw_access_type)c->access };
	struct nw_walk_result res;

	*out = (struct hw_rv_answer){ .ok = false };
	if (!p) {
		gstage_answer(vm, c, out);
		return true;
	}
	access.gva = nw_gva(p->va);
	nw_rv_vs_walk(&config, &vs->cpu, &access, 0, &res);
	out->ok = res.outcome == NW_OUTCOME_OK;
	out->hpa = res.hpa.val;
	out->trap = res.rv_trap;
	if (res.outcome == NW_OUTCOME_PAGE_FAULT)
		out->trap.gva = true;
	return out->ok || res.outcome == NW_OUTCOME_PAGE_FAULT || res.outcome == NW_OUTCOME_GUEST_PAGE_FAULT ||
	       res.outcome == NW_OUTCOME_ACCESS_FAULT;
}
