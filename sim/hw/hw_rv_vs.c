/* A riscv64 scenario's VS-stage on the RISC-V image (hw_rv.h): a VS-stage probe as a case of contract/rv_vs.h.
 * The case's guest-physical layout is the image's own, the bits of every PTE the scenario's: the library walks
 * the scenario (nw_rv_vs_walk, as translate --gva), and each VS-stage PTE the walk reads is copied into the
 * case's table of its level (table k at GPA vt(k)), a pointer's PPN naming the next case table, the leaf's the
 * data window, where the final GPA keeps the VA's offset in the leaf; each page the walk touches in the G-stage
 * (a VS table's, the data page) gets a G-stage leaf with the R, W, X, U, A, D and PBMT bits of the scenario's
 * leaf for it, or none where the scenario's G-stage faults for another reason than the rights (the trap is the
 * same: a guest-page fault at that GPA). The library's trap is mapped into the case's addresses (htval of a
 * VS table's PTE or of the final GPA). The case's VS-stage maps the image's code at VA = GPA = HW_RV_CODE_GPA. */
#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_gstage.h>

#include "contract/rv_layout.h"
#include "hw/hw_rv.h"

#define LEAF_BITS (NW_RV_PTE_RWX | NW_RV_PTE_U | NW_RV_PTE_G | NW_RV_PTE_A | NW_RV_PTE_D | NW_RV_PTE_PBMT_MASK)
#define CODE_LEVEL 3 /* the code's VS-stage leaf: 1 GiB (library level 3, the spec's level 2) */
#define MAX_VS_TABLES 8
#define TWO_MIB (UINT64_C(1) << 21)

struct vs_case {
	const struct nw_hw_rv_scenario *s;
	const struct nw_pt_format *gfmt, *vfmt;
	struct nw_hw_case *out;
	uint64_t base;           /* the case's guest-physical window: 1 GiB at G-stage root slot 1 */
	unsigned table_a, table_b; /* the G-stage's level-2 table of the window and its level-1 table at base + 2 MiB */
	unsigned tables;         /* VS-stage tables so far */
};

/* VS-stage table k's GPA: the window's second 2 MiB. */
static uint64_t vt(const struct vs_case *v, unsigned k)
{
	return v->base + TWO_MIB + k * NW_PAGE_SIZE;
}

static bool is_pointer(uint64_t pte)
{
	return (pte & NW_RV_PTE_V) && !(pte & (NW_RV_PTE_R | NW_RV_PTE_X));
}

/* A pointer the image's code path may go through: valid, nothing reserved, no W. */
static bool is_plain_pointer(uint64_t pte)
{
	return is_pointer(pte) &&
	       !(pte & (NW_RV_PTE_W | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D | NW_RV_PTE_RSVD | NW_RV_PTE_PBMT_MASK |
			NW_RV_PTE_N));
}

static uint64_t with_ppn(uint64_t pte, uint64_t addr)
{
	return (pte & ~NW_RV_PTE_PPN_MASK) | (addr >> 12 << NW_RV_PTE_PPN_SHIFT);
}

static bool add(struct hw_blob_entry *e, uint8_t *count, unsigned table, unsigned index, uint64_t value,
		unsigned link)
{
	if (*count == NW_HW_CASE_ENTRIES)
		return false;
	e[(*count)++] = (struct hw_blob_entry){
		.table = (uint8_t)table, .index = (uint16_t)index, .link = (uint8_t)link, .value = value
	};
	return true;
}

static bool add_vs(struct vs_case *v, unsigned table, unsigned index, uint64_t value)
{
	return add(v->out->rv_vs_entries, &v->out->rv_vs.entry_count, table, index, value, 0);
}

/* The G-stage leaf bits for the scenario's gpa as the access of type sees it (V with the leaf's R, W, X, U, G, A,
 * D and PBMT), or 0 (no leaf) where the G-stage faults for another reason than the rights. */
static const char *gstage_bits(const struct vs_case *v, uint64_t gpa, enum nw_access_type type, uint64_t *bits)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type, .lookup_only = true };
	struct nw_s2_result res;

	nw_rv_gstage_translate(v->s->gstage, &req, &res);
	*bits = 0;
	if (res.status != NW_S2_OK && res.fault == NW_S2_FAULT_ACCESS)
		return "a G-stage table the simulated host has no memory for";
	if (res.status != NW_S2_OK && res.fault != NW_S2_FAULT_PERMISSION)
		return NULL;
	/* A NAPOT leaf's rights are its bits' (N itself, which ties the PPN to the address, is left out). */
	*bits = (res.entry & LEAF_BITS) | NW_RV_PTE_V;
	return NULL;
}

/* The G-stage's way to the window: pointers from the root to table A (level 2), its entry 1 to table B. */
static bool start_gstage(struct vs_case *v)
{
	struct nw_hw_case *out = v->out;
	unsigned t = 0;

	for (int level = v->gfmt->top; level > 2; level--, t++)
		if (!add(out->entries, &out->head.entry_count, t, nw_pt_index(v->gfmt, level, v->base), NW_RV_PTE_V,
			 t + 2))
			return false;
	v->table_a = t;
	v->table_b = t + 1;
	out->head.table_count = (uint8_t)(t + 2);
	return add(out->entries, &out->head.entry_count, v->table_a, 1, NW_RV_PTE_V, v->table_b + 1);
}

/* VS table k's page in the G-stage: a 4 KiB leaf with the bits of the scenario's leaf for its table at gpa. */
static const char *map_table(struct vs_case *v, unsigned k, uint64_t gpa)
{
	uint64_t bits;
	const char *why = gstage_bits(v, gpa, NW_ACCESS_READ, &bits);

	if (why)
		return why;
	if (bits && !add(v->out->entries, &v->out->head.entry_count, v->table_b, k, bits, HW_CASE_PAGE_LINK + k))
		return "a G-stage longer than a case holds";
	return NULL;
}

/* The leaf's output moved into the window: where the case's final GPA lands for the scenario's leaf of size. */
static const char *place_leaf(const struct vs_case *v, uint64_t size, uint64_t gva, uint32_t id, uint64_t *base)
{
	if (size == NW_PAGE_SIZE)
		*base = v->base + (id % (TWO_MIB / NW_PAGE_SIZE)) * NW_PAGE_SIZE;
	else if (size <= (UINT64_C(1) << 30))
		*base = v->base;
	else
		return "a VS-stage leaf larger than the case's 1 GiB window";
	if (((*base + (gva & (size - 1))) - v->base) / TWO_MIB == 1)
		return "the final GPA's 2 MiB holds the case's VS-stage tables";
	return NULL;
}

/* The step's table page was read, or its read was the G-stage fault the walk stopped at. */
static bool was_reached(const struct nw_walk_result *res, int level)
{
	const struct nw_walk_step *step = &res->steps[level];

	return step->read || (res->outcome != NW_OUTCOME_OK && res->s2_on_table &&
			      (res->fault_gpa.val & ~UINT64_C(0xfff)) == (step->table_gpa.val & ~UINT64_C(0xfff)));
}

/* The scenario walk's PTEs, level by level from the root, into the case's VS-stage tables; *final the case's
 * final GPA where the walk has a leaf, *scenario_final the scenario's. */
static const char *copy_walk(struct vs_case *v, const struct nw_walk_result *res, uint64_t gva, uint32_t id,
			     uint64_t *final, uint64_t *scenario_final)
{
	const struct nw_pt_format *g = v->gfmt;
	uint64_t limit = (uint64_t)g->level[g->top].entries << g->level[g->top].shift;

	const char *why = map_table(v, 0, v->s->cpu.vsatp.root);

	v->tables = 1;
	for (int level = v->vfmt->top; !why && level >= NW_LEVEL_PT && was_reached(res, level); level--) {
		const struct nw_walk_step *step = &res->steps[level];
		unsigned k = (unsigned)(v->vfmt->top - level);
		uint64_t entry = step->entry, size = nw_pt_level_size(v->vfmt, level), base, gpa;

		if (k > 0)
			why = map_table(v, k, step->table_gpa.val);
		v->tables = k + 1;
		if (why || !step->read)
			return why;
		if (is_pointer(entry) && level > NW_LEVEL_PT) {
			if (!add_vs(v, k, step->index, with_ppn(entry, vt(v, k + 1))))
				return "a VS-stage longer than a case holds";
			continue;
		}
		if ((entry & NW_RV_PTE_V) && !is_pointer(entry)) {
			size = nw_hw_rv_leaf_size(size, entry, v->s->flags);
			gpa = (nw_pt_table_addr(v->vfmt, entry) & ~(size - 1)) + (gva & (size - 1));
			*scenario_final = gpa;
			if (gpa < limit) {
				why = place_leaf(v, size, gva, id, &base);
				if (why)
					return why;
				entry = nw_hw_rv_pte_at(entry, size, base);
				gpa = base + (gva & (size - 1));
			}
			*final = gpa;
		}
		return add_vs(v, k, step->index, entry) ? NULL : "a VS-stage longer than a case holds";
	}
	return why;
}

static const struct hw_blob_entry *find_vs(const struct vs_case *v, unsigned table, unsigned index)
{
	for (unsigned i = 0; i < v->out->rv_vs.entry_count; i++)
		if (v->out->rv_vs_entries[i].table == table && v->out->rv_vs_entries[i].index == index)
			return &v->out->rv_vs_entries[i];
	return NULL;
}

/* VS table k's page readable by the code's walk: its G-stage leaf valid with R and U. */
static bool is_readable(const struct vs_case *v, unsigned k)
{
	const struct hw_blob_entry *e = hw_case_tree_find(&v->out->head, v->out->entries, v->table_b, k);
	uint64_t need = NW_RV_PTE_V | NW_RV_PTE_R | NW_RV_PTE_U;

	return e && (e->value & need) == need && !(e->value & (NW_RV_PTE_RSVD | NW_RV_PTE_PBMT_MASK));
}

/* The image's code: a 1 GiB VS-stage leaf at VA = GPA = HW_RV_CODE_GPA, through the walk's pointers where the
 * paths share them (plain ones only), else through tables of its own. */
static const char *add_code(struct vs_case *v, bool vu)
{
	unsigned table = 0;
	uint64_t leaf = with_ppn(NW_RV_PTE_V | NW_RV_PTE_R | NW_RV_PTE_X | NW_RV_PTE_A | (vu ? NW_RV_PTE_U : 0),
				 HW_RV_CODE_GPA);

	for (int level = v->vfmt->top; level > CODE_LEVEL; level--) {
		unsigned index = nw_pt_index(v->vfmt, level, HW_RV_CODE_GPA);
		const struct hw_blob_entry *e = find_vs(v, table, index);

		if (!is_readable(v, table))
			return "the G-stage does not let the image's code path read a VS-stage table";
		if (e) {
			if (!is_plain_pointer(e->value))
				return "the VA shares a VS-stage pointer the image's code path cannot go through";
			table = (unsigned)((nw_pt_table_addr(v->vfmt, e->value) - vt(v, 0)) / NW_PAGE_SIZE);
			continue;
		}
		if (v->tables == MAX_VS_TABLES)
			return "a VS-stage longer than a case holds";
		if (!add_vs(v, table, index, with_ppn(NW_RV_PTE_V, vt(v, v->tables))))
			return "a VS-stage longer than a case holds";
		table = v->tables++;
		if (!add(v->out->entries, &v->out->head.entry_count, v->table_b, table,
			 NW_RV_PTE_V | NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D,
			 HW_CASE_PAGE_LINK + table))
			return "a G-stage longer than a case holds";
	}
	if (!is_readable(v, table))
		return "the G-stage does not let the image's code path read a VS-stage table";
	if (find_vs(v, table, nw_pt_index(v->vfmt, CODE_LEVEL, HW_RV_CODE_GPA)))
		return "the VA is in the GiB of the image's code";
	return add_vs(v, table, nw_pt_index(v->vfmt, CODE_LEVEL, HW_RV_CODE_GPA), leaf)
		       ? NULL
		       : "a VS-stage longer than a case holds";
}

/* The library's answer on the scenario in the case's addresses: htval names the case's VS table page or final
 * GPA where the scenario's names its own. */
static const char *expect_answer(const struct vs_case *v, const struct nw_walk_result *res, uint64_t final,
				 struct nw_hw_rv_expect *e)
{
	uint64_t fault_page = res->fault_gpa.val & ~UINT64_C(0xfff);

	uint64_t pa = HW_RV_SCRATCH_BASE + (final & (TWO_MIB - 1));

	if (res->outcome == NW_OUTCOME_OK) {
		*e = (struct nw_hw_rv_expect){ .ok = true, .pa = pa };
		return NULL;
	}
	if (res->outcome != NW_OUTCOME_PAGE_FAULT && res->outcome != NW_OUTCOME_GUEST_PAGE_FAULT)
		return res->outcome == NW_OUTCOME_ACCESS_FAULT ? "a VS-stage table where the simulated host has no memory"
							       : "an outcome no RISC-V trap describes";
	*e = (struct nw_hw_rv_expect){ .trap = res->rv_trap, .final_pa = pa, .final_gpa = final };
	e->trap.gva = true;
	e->leaf_high_bits = res->outcome == NW_OUTCOME_PAGE_FAULT && res->fault_level > 0 &&
			    nw_hw_rv_is_leaf_high_bits_fault(v->s->flags, res->steps[res->fault_level].entry);
	if (res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT && !res->s2_on_table)
		e->trap.htval = final >> 2;
	for (int level = v->vfmt->top; res->s2_on_table && level >= NW_LEVEL_PT; level--)
		if ((res->steps[level].table_gpa.val & ~UINT64_C(0xfff)) == fault_page) {
			e->trap.htval = (vt(v, (unsigned)(v->vfmt->top - level)) + (res->fault_gpa.val & 0xfff)) >> 2;
			break;
		}
	return NULL;
}

/* The data page in the G-stage: a 2 MiB leaf onto the scratch region with the bits of the scenario's leaf for its
 * final GPA gpa, where the walk has a leaf inside the window. */
static const char *map_data(struct vs_case *v, uint64_t gpa, uint64_t final, enum nw_access_type type)
{
	uint64_t bits;
	const char *why;

	if (final - v->base >= (UINT64_C(1) << 30))
		return NULL;
	why = gstage_bits(v, gpa, type, &bits);
	if (why || !bits)
		return why;
	if (!add(v->out->entries, &v->out->head.entry_count, v->table_a, (unsigned)((final - v->base) / TWO_MIB),
		 with_ppn(bits, HW_RV_SCRATCH_BASE), 0))
		return "a G-stage longer than a case holds";
	return NULL;
}

/* The library's walk of the access on the scenario. A lookup writes nothing, and so leaves out the A/D update and
 * the G-stage's check of it; where the leaf needs one, the walk runs as the access would (its G-stage A/D set as
 * the modelled Svadu hart sets them, which changes no later answer) and the leaf PTE is put back as it was. */
static void walk_scenario(const struct nw_hw_rv_scenario *s, const struct nw_access *access,
			  struct nw_walk_result *res)
{
	const struct nw_walk_step *leaf;
	uint64_t *pte;

	nw_rv_vs_walk(&s->config, &s->cpu, access, NW_WALK_LOOKUP | NW_WALK_RECORD_STEPS, res);
	/* Past the VS-stage's checks: a translation, or the final GPA's fault (the A/D write comes before it). */
	if (!(res->outcome == NW_OUTCOME_OK || (res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT && !res->s2_on_table)) ||
	    !(~res->leaf_entry & (NW_RV_PTE_A | (access->type == NW_ACCESS_WRITE ? NW_RV_PTE_D : 0))))
		return;
	nw_rv_vs_walk(&s->config, &s->cpu, access, NW_WALK_RECORD_STEPS, res);
	leaf = &res->steps[res->leaf_level];
	pte = nw_hal_phys_to_virt(s->config.hal, nw_hpa(leaf->table_hpa.val + (uint64_t)leaf->index * 8));
	if (res->leaf_level > 0 && leaf->read && pte)
		*pte = leaf->entry;
}

/* QEMU 7.2 reads only the guest's MXR while V=1 (hw/DEVIATIONS.md): with the HS-level MXR alone, a load from an
 * execute-only VS-stage leaf is a load page fault (rv-vs-mxr-hs), and from an execute-only G-stage page a load
 * guest-page fault (rv-gstage-mxr-hs); with vsstatus.MXR alone, the latter completes. */
static void expect_qemu_mxr(const struct vs_case *v, const struct nw_walk_result *res, enum nw_access_type type,
			    uint64_t scenario_final, uint64_t final, struct nw_hw_rv_expect *e)
{
	const struct nw_rv_vs_cpu *cpu = &v->s->cpu;
	uint64_t bits = 0, rx = NW_RV_PTE_R | NW_RV_PTE_X;
	bool past_vs = res->outcome == NW_OUTCOME_OK || (res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT && !res->s2_on_table);

	if (type != NW_ACCESS_READ || !past_vs || cpu->mxr == cpu->hs_mxr)
		return;
	if (cpu->hs_mxr && (res->leaf_entry & rx) == NW_RV_PTE_X) {
		nw_hw_rv_expect_mxr(e, &nw_hw_rv_vs_mxr_hs, NW_RV_CAUSE_LOAD_PAGE_FAULT, res->gva.val, 0);
		return;
	}
	if (gstage_bits(v, scenario_final, type, &bits) || (bits & rx) != NW_RV_PTE_X)
		return;
	if (cpu->hs_mxr) {
		nw_hw_rv_expect_mxr(e, &nw_hw_rv_gstage_mxr_hs, NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT, res->gva.val, final >> 2);
	} else {
		e->mxr_row = &nw_hw_rv_gstage_mxr_hs;
		e->mxr_ok = true;
		e->final_pa = HW_RV_SCRATCH_BASE + (final & (TWO_MIB - 1));
	}
}

const char *nw_hw_rv_compile_gva(const struct nw_hw_rv_scenario *s, uint64_t gva, enum nw_access_type type,
				 uint32_t id, struct nw_hw_case *out, struct nw_hw_rv_expect *e)
{
	struct nw_access access = { .gva = nw_gva(gva & ~UINT64_C(7)), .size = 8, .type = type };
	struct vs_case v = { .s = s, .gfmt = s->gstage->pt.fmt, .vfmt = nw_rv_vs_format(s->cpu.vsatp.mode), .out = out };
	struct nw_walk_result res;
	uint64_t final = 0, scenario_final = 0;
	const char *why;

	v.base = UINT64_C(1) << v.gfmt->level[v.gfmt->top].shift;
	out->head = (struct hw_blob_case){ .id = id, .flags = s->flags | HW_RV_VS, .mode = s->gstage->config.mode,
					   .cpl = 1, .access = (uint8_t)type };
	out->rv_vs = (struct hw_rv_vs_part){ .entry_count = 0 };
	out->run_gva = access.gva.val;
	walk_scenario(s, &access, &res);
	if (!start_gstage(&v))
		return "a G-stage longer than a case holds";
	why = copy_walk(&v, &res, access.gva.val, id, &final, &scenario_final);
	if (!why)
		why = map_data(&v, scenario_final, final, type);
	if (!why)
		why = add_code(&v, s->cpu.vu);
	if (!why)
		why = expect_answer(&v, &res, final, e);
	if (why)
		return why;
	expect_qemu_mxr(&v, &res, type, scenario_final, final, e);
	out->head.gva = final - v.base < (UINT64_C(1) << 30) ? final : v.base;
	out->rv_vs = (struct hw_rv_vs_part){
		.vsatp = (uint64_t)s->cpu.vsatp.mode << NW_RV_SATP_MODE_SHIFT |
			 (uint64_t)s->cpu.vsatp.asid << NW_RV_SATP_ASID_SHIFT | vt(&v, 0) >> 12,
		.va = access.gva.val,
		.vsstatus = (s->cpu.sum ? NW_RV_SSTATUS_SUM : 0) | (s->cpu.mxr ? NW_RV_SSTATUS_MXR : 0),
		.vu = s->cpu.vu,
		.table_count = (uint8_t)v.tables,
		.entry_count = out->rv_vs.entry_count,
	};
	return NULL;
}
