/* One access of a scenario as a case of the bare-metal image (hw/contract/blob.h): the
 * guest walk's path at the replay's current state, one numbered table per level,
 * the path's entries with links, the leaf moved into the image's scratch region,
 * and the CPU state as case flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/npt.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "contract/layout.h"
#include "hw/hw_run.h"

#define SCRATCH_PAGES (HW_SCRATCH_SIZE / NW_PAGE_SIZE)

/* The paging geometry of a mode as the image lays it out (hw/contract/case_mode.h):
 * the mode's radix format and the root slots the image keeps for itself. */
struct geometry {
	const struct nw_pt_format *fmt; /* levels, shifts, entries (nw_paging_format) */
	int top;               /* the root's level, fmt->top */
	unsigned kernel_slots; /* root slots the image keeps for itself (hw/contract/layout.h) */
};

static struct geometry geometry_of(enum nw_paging_mode mode)
{
	const struct nw_pt_format *fmt = nw_paging_format(mode);

	switch (mode) {
	case NW_PAGING_32:
		return (struct geometry){ fmt, fmt->top, HW_KERNEL_SLOTS_32BIT };
	case NW_PAGING_PAE:
		return (struct geometry){ fmt, fmt->top, HW_KERNEL_SLOTS_PAE };
	case NW_PAGING_5LEVEL:
		return (struct geometry){ fmt, fmt->top, HW_KERNEL_SLOTS_5LEVEL };
	default:
		return (struct geometry){ fmt, fmt->top, HW_KERNEL_SLOTS_4LEVEL };
	}
}

static bool is_legacy(enum nw_paging_mode mode)
{
	return mode == NW_PAGING_32 || mode == NW_PAGING_PAE;
}

/* Whether a present entry ends the walk as a leaf: a PTE, or PS=1 where the
 * walk examines it (nw_paging_is_ps_examined): where it maps a page, or where
 * it is reserved (a PML4E or PML5E), so the walk stops there too (and the
 * image treats it as a 4 KiB leaf). */
static bool is_leaf(enum nw_paging_mode mode, const struct nw_cpu *cpu, int level, uint64_t entry)
{
	return level == NW_LEVEL_PT || ((entry & NW_PTE_PS) && nw_paging_is_ps_examined(cpu, mode, (unsigned)level));
}

/* A leaf's page: the level's size where a leaf may be, 4 KiB where PS is reserved (the image's choice). */
static uint64_t leaf_size(enum nw_paging_mode mode, int level)
{
	const struct nw_pt_format *fmt = nw_paging_format(mode);

	return fmt->level[level].leaf_ok ? nw_pt_level_size(fmt, level) : NW_PAGE_SIZE;
}

/* Why an entry's address bits cannot be carried over: the bits above the
 * scenario's MAXPHYADDR are reserved (they stay in the entry), and they must be
 * reserved on the backend too (SDM Vol. 3A §4.5, Table 4-20: bits 51:MAXPHYADDR). */
bool nw_hw_has_rsvd_bits_valid_on_backend(uint64_t entry, unsigned scenario_maxphy, unsigned backend_maxphy)
{
	return scenario_maxphy < backend_maxphy && (entry & nw_hw_bits(scenario_maxphy, backend_maxphy));
}

/* The CPU state and access the image can set up; NULL when it can. */
static const char *check_state(const struct nw_hw_backend *b, const struct nw_cpu *cpu, enum nw_paging_mode mode,
			       const struct nw_trace_access *a, char *reason, size_t len)
{
	if (mode == NW_PAGING_OFF)
		return "paging off (the image runs 32-bit, PAE, 4-level and 5-level paging)";
	if (a->cpl != 0 && a->cpl != 3) {
		snprintf(reason, len, "CPL %u (the image runs CPL 0 and 3)", (unsigned)a->cpl);
		return reason;
	}
	if (a->implicit && a->type != NW_ACCESS_READ)
		return "an implicit write (the image's implicit access is a descriptor-table read)";
	if ((a->gva.val & NW_PAGE_MASK) + (a->size ? a->size : 1) > NW_PAGE_SIZE)
		return "the access crosses a 4 KiB page boundary (the image's accesses lie within one page)";
	if (cpu->cr4 & NW_CR4_PKS)
		return "CR4.PKS (the image has no supervisor protection keys)";
	if (cpu->no_1g_pages)
		return "a CPU without 1 GiB pages (the backend has them)";
	if (is_legacy(mode) && a->implicit)
		return "an implicit access in 32-bit or PAE paging (the image runs those modes as an SVM guest, which has none)";
	if (b->nested && !is_legacy(mode)) {
		if (mode != NW_PAGING_4LEVEL)
			return "5-level paging (the SVM guest runs 4-level paging)";
		if (a->cpl != 0)
			return "CPL 3 (the SVM guest runs at CPL 0)";
		if (a->implicit)
			return "an implicit access (the SVM guest has none)";
		if (cpu->cr4 & NW_CR4_PKE)
			return "CR4.PKE (PKRU is not part of the SVM guest state)";
	}
	return NULL;
}

static uint32_t case_flags(const struct nw_cpu *cpu, enum nw_paging_mode mode, const struct nw_trace_access *a,
			   bool nested)
{
	uint32_t flags = 0;

	flags |= (cpu->cr0 & NW_CR0_WP) ? HW_CASE_WP : 0;
	flags |= (cpu->cr4 & NW_CR4_SMEP) ? HW_CASE_SMEP : 0;
	flags |= (cpu->cr4 & NW_CR4_SMAP) ? HW_CASE_SMAP : 0;
	/* Protection keys exist in 4-level and 5-level paging only (§4.6.2). */
	flags |= (cpu->cr4 & NW_CR4_PKE) && !is_legacy(mode) ? HW_CASE_PKE : 0;
	flags |= (cpu->efer & NW_EFER_NXE) ? HW_CASE_NXE : 0;
	flags |= a->ac ? HW_CASE_AC : 0;
	flags |= mode == NW_PAGING_5LEVEL ? HW_CASE_LA57 : 0;
	flags |= nested ? HW_CASE_NPT : 0;
	flags |= mode == NW_PAGING_PAE ? HW_CASE_PAE : 0;
	flags |= mode == NW_PAGING_32 ? HW_CASE_LEGACY32 : 0;
	flags |= mode == NW_PAGING_32 && (cpu->cr4 & NW_CR4_PSE) ? HW_CASE_PSE : 0;
	return flags;
}

static void add_entry(struct nw_hw_case *c, unsigned table, unsigned link, unsigned index, uint64_t value)
{
	c->entries[c->head.entry_count++] = (struct hw_blob_entry){
		.table = (uint8_t)table, .link = (uint8_t)link, .index = (uint16_t)index, .value = value,
	};
}

/* The address field of a leaf or link to replace: below the scenario's
 * MAXPHYADDR; for 32-bit paging bits 31:12, or for a 4 MiB page bits 31:22
 * and the PSE-36 bits 20:13 holding physical bits 39:32 (§4.3, Table 4-4: bits
 * (M-20):13 with M = MAXPHYADDR, at most 40). */
static uint64_t address_field(enum nw_paging_mode mode, uint64_t size, unsigned smaxphy)
{
	unsigned m = smaxphy < 40 ? smaxphy : 40;

	if (mode == NW_PAGING_32 && size == (UINT64_C(4) << 20))
		return nw_hw_bits(22, 32) | nw_hw_bits(13, m - 19);
	if (mode == NW_PAGING_32)
		return nw_hw_bits(12, 32);
	return nw_hw_bits(12, smaxphy) & ~(size - 1);
}

/* Reserved bits of the scenario's entry that would be address bits on the
 * backend (MAXPHYADDR 40): bits MAXPHYADDR..39, or a 4 MiB PDE's PSE-36 bits. */
static bool has_bits_valid_on_backend(enum nw_paging_mode mode, uint64_t entry, uint64_t size, unsigned smaxphy,
				      unsigned backend_maxphy)
{
	if (mode == NW_PAGING_32)
		return size == (UINT64_C(4) << 20) && smaxphy < 40 && (entry & nw_hw_bits(smaxphy - 19, 21));
	return nw_hw_has_rsvd_bits_valid_on_backend(entry & NW_PTE_ADDR_MASK, smaxphy, backend_maxphy);
}

static uint64_t leaf_gpa(enum nw_paging_mode mode, uint64_t entry, uint64_t size, uint64_t field)
{
	if (mode == NW_PAGING_32 && size == (UINT64_C(4) << 20))
		return (entry & nw_hw_bits(22, 32)) | (((entry & field & nw_hw_bits(13, 21)) >> 13) << 32);
	return entry & field;
}

/* The leaf at level moved to the scratch region: its address field replaced,
 * every other bit kept (rights, PAT, reserved bits). A 4 KiB page goes to a
 * scratch page chosen by its GPA, a 2 MiB or 4 MiB page to the scratch region
 * itself (a 4 MiB page then reaches only its first 2 MiB), a 1 GiB page to 0
 * (the image's only choice: its offset from the GVA must land in the scratch region). */
static const char *place_leaf(struct nw_hw_case *c, enum nw_paging_mode mode, int level, uint64_t entry,
			      unsigned smaxphy, uint64_t *value, char *reason, size_t len)
{
	uint64_t size = leaf_size(mode, level);
	uint64_t field = address_field(mode, size, smaxphy);
	uint64_t offset = c->run_gva & (size - 1);

	c->leaf_size = size;
	c->leaf_gpa = leaf_gpa(mode, entry, size, field);
	if (size == NW_PAGE_SIZE)
		c->leaf_pa = HW_SCRATCH_BASE + ((c->leaf_gpa >> NW_PAGE_SHIFT) % SCRATCH_PAGES) * NW_PAGE_SIZE;
	else if (size == NW_SIZE_1G)
		c->leaf_pa = 0;
	else
		c->leaf_pa = HW_SCRATCH_BASE;
	if (size == NW_SIZE_1G && (offset < HW_SCRATCH_BASE || offset >= HW_SCRATCH_BASE + HW_SCRATCH_SIZE)) {
		snprintf(reason, len,
			 "a 1 GiB page whose offset (GVA bits 29:0) lies outside 0x%x-0x%x (the image maps 1 GiB pages only "
			 "at physical 0, where its scratch region is that range)",
			 HW_SCRATCH_BASE, HW_SCRATCH_BASE + HW_SCRATCH_SIZE - 1);
		return reason;
	}
	if (size > NW_SIZE_2M && size < NW_SIZE_1G && offset >= HW_SCRATCH_SIZE)
		return "a 4 MiB page whose offset lies beyond its first 2 MiB (the image's scratch region is 2 MiB)";
	*value = (entry & ~field) | c->leaf_pa;
	c->has_leaf = true;
	return NULL;
}

/* The stage-2 view of one guest-physical page, read without side effects. */
static void s2_lookup(const struct nw_replay *r, uint64_t gpa, bool table, struct nw_s2_result *res)
{
	struct nw_s2_request req = {
		.gpa = nw_gpa(gpa), .type = NW_ACCESS_READ, .paging_structure = table, .lookup_only = true,
	};

	nw_stage2_translate(&r->config.stage2, &req, res);
}

#define S2_FULL (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X)

/* First-stage backends: the page must be mapped with full rights, or a
 * second-stage fault could decide the outcome where the backend has none. */
static const char *check_s2_full(const struct nw_replay *r, uint64_t gpa)
{
	struct nw_s2_result res;

	if (r->config.stage2.kind == NW_STAGE2_NONE)
		return NULL;
	s2_lookup(r, gpa, false, &res);
	if (res.status == NW_S2_OK && (res.rights & S2_FULL) == S2_FULL)
		return NULL;
	return "a page of the walk without full second-stage rights (a first-stage backend cannot show a second-stage "
	       "fault)";
}

/* A reserved address bit of a nested entry that is reserved on the backend
 * too (at or above both MAXPHYADDRs, below 52: reserved in every entry, APM
 * Vol. 2 §5.3.3), as the bit number a HW_NPT_EDIT_RSVD edit sets; -1 when the
 * entry's reserved bits are of another kind. */
static int rsvd_address_bit(const struct nw_replay *r, const struct nw_s2_result *res, unsigned backend_maxphy)
{
	const struct nw_npt_config *config = &r->config.stage2.npt->config;
	unsigned low = config->caps.maxphyaddr > backend_maxphy ? config->caps.maxphyaddr : backend_maxphy;
	uint64_t bits = res->entry & nw_hw_bits(low, 52);

	if (nw_npt_rsvd(config, res->level, res->entry) != NW_NPT_RSVD_ADDR_ABOVE_MAXPHY || !bits)
		return -1;
	return 63 - __builtin_clzll(bits);
}

/* Nested-paging backends: the scenario's nested rights of a page as an edit
 * of the image's identity nested map (hw/contract/blob.h: P and U always set). */
static const char *add_npt_edit(struct nw_hw_case *c, const struct nw_replay *r, uint64_t gpa, bool table,
				unsigned link, uint64_t image_pa, unsigned backend_maxphy, bool *edited)
{
	struct nw_s2_result res;
	uint64_t flags;

	*edited = false;
	s2_lookup(r, gpa, table, &res);
	if (c->head.entry_count >= NW_HW_CASE_ENTRIES)
		return "more nested-paging edits than a case holds";
	if (res.status == NW_S2_MISCONFIG) {
		int bit = rsvd_address_bit(r, &res, backend_maxphy);

		if (bit < 0)
			return "a reserved bit in a nested entry other than an address bit above MAXPHYADDR";
		add_entry(c, HW_NPT_EDIT_TABLE, link, HW_NPT_EDIT_RSVD, image_pa | (uint64_t)bit);
		*edited = true;
		return NULL;
	}
	if (res.status == NW_S2_VIOLATION && (res.entry & NW_PTE_P)) {
		return "a nested entry without U/S (the image's nested pages are user pages)";
	}
	if (res.status == NW_S2_VIOLATION) {
		add_entry(c, HW_NPT_EDIT_TABLE, link, HW_NPT_EDIT_UNMAP, image_pa);
		*edited = true;
		return NULL;
	}
	if ((res.rights & S2_FULL) == S2_FULL)
		return NULL;
	flags = NW_PTE_P | NW_PTE_US | ((res.rights & NW_S2_RIGHT_W) ? NW_PTE_RW : 0) |
		((res.rights & NW_S2_RIGHT_X) ? 0 : NW_PTE_XD);
	add_entry(c, HW_NPT_EDIT_TABLE, link, HW_NPT_EDIT_FLAGS, image_pa | flags);
	*edited = true;
	return NULL;
}

/* Second-stage rights of the pages the walk used: checked (first-stage
 * backends) or carried over as nested-paging edits. */
static const char *add_s2(struct nw_hw_case *c, const struct nw_hw_target *t, const struct nw_replay *r,
			  const struct nw_walk_result *res)
{
	bool final = res->outcome == NW_OUTCOME_OK || (nw_hw_is_s2_fault(res) && !res->s2_on_table);
	uint64_t final_gpa = c->leaf_gpa + (c->access.gva.val & (c->leaf_size - 1));
	uint64_t final_pa = (c->leaf_pa + (c->run_gva & (c->leaf_size - 1))) & ~NW_PAGE_MASK;
	const char *why;

	for (unsigned i = 0; i < c->table_count; i++) {
		uint64_t gpa = c->table_gpa[i] + c->offset[i];

		/* A PAE walk reads the PDPTE registers, not memory (§4.4.1): the PDPT's page plays no part. */
		if (i == 0 && (c->head.flags & HW_CASE_PAE))
			continue;
		if (t->backend->nested)
			why = add_npt_edit(c, r, gpa, true, i + 1, 0, t->maxphyaddr, &c->table_edited[i]);
		else
			why = check_s2_full(r, gpa);
		if (why)
			return why;
	}
	if (!final || !c->has_leaf)
		return NULL;
	if (t->backend->nested) {
		bool edited;

		return add_npt_edit(c, r, final_gpa, false, 0, final_pa, t->maxphyaddr, &edited);
	}
	return check_s2_full(r, final_gpa);
}

bool nw_hw_is_s2_fault(const struct nw_walk_result *res)
{
	return res->outcome == NW_OUTCOME_NPF || res->outcome == NW_OUTCOME_EPT_VIOLATION ||
	       res->outcome == NW_OUTCOME_EPT_MISCONFIG;
}

/* Was the table at level reached: its entry read, or its page refused by the second stage? */
bool nw_hw_table_reached(const struct nw_walk_result *res, int level, bool *s2_fault)
{
	*s2_fault = res->s2_on_table && res->fault_level == level && nw_hw_is_s2_fault(res);
	return res->steps[level].read || *s2_fault;
}

/* The path's tables and entries, root first. */
static const char *add_path(struct nw_hw_case *c, const struct nw_hw_target *t, const struct nw_walk_result *res,
			    enum nw_paging_mode mode, const struct nw_cpu *cpu, char *reason, size_t len)
{
	struct geometry g = geometry_of(mode);
	unsigned smaxphy = nw_cpu_maxphyaddr(cpu);

	for (int level = g.top; level >= 1; level--) {
		const struct nw_walk_step *step = &res->steps[level];
		unsigned i = (unsigned)(g.top - level), index = step->index;
		uint64_t entry = step->entry, value = 0;
		bool s2_fault;

		if (!nw_hw_table_reached(res, level, &s2_fault))
			break;
		c->table_count = i + 1;
		c->table_gpa[i] = step->table_gpa.val;
		for (unsigned j = 0; j < i; j++)
			if ((c->table_gpa[j] ^ c->table_gpa[i]) < NW_PAGE_SIZE)
				return "the path uses one table page twice (a recursive mapping; the image's tables form a tree)";
		if (i == 0 && index < g.kernel_slots)
			index = g.kernel_slots;
		c->offset[i] = step->index * g.fmt->entry_size;
		c->run_offset[i] = index * g.fmt->entry_size;
		if (s2_fault)
			break;
		if (!(entry & NW_PTE_P)) {
			add_entry(c, i, 0, index, entry);
			break;
		}
		if (has_bits_valid_on_backend(mode, entry, is_leaf(mode, cpu, level, entry) ? leaf_size(mode, level) : 0,
					      smaxphy, t->maxphyaddr)) {
			snprintf(reason, len,
				 "a level-%d entry with bits reserved under MAXPHYADDR %u that are address bits under the "
				 "backend's MAXPHYADDR %u", level, smaxphy, t->maxphyaddr);
			return reason;
		}
		if (!is_leaf(mode, cpu, level, entry)) {
			/* A link to the next table (kept empty when the walk stops here). */
			add_entry(c, i, i + 2, index, entry & ~address_field(mode, NW_PAGE_SIZE, smaxphy));
			c->table_count = i + 2;
			continue;
		}
		if (place_leaf(c, mode, level, entry, smaxphy, &value, reason, len))
			return reason;
		add_entry(c, i, 0, index, value);
		break;
	}
	return NULL;
}

/* The GVA the image runs: 8-byte aligned (its accesses are words; the page
 * decides the outcome), and a root index the image keeps for itself moved to
 * the first free slot (every slot is walked alike). */
static uint64_t run_gva(uint64_t gva, enum nw_paging_mode mode, const struct nw_walk_result *res)
{
	struct geometry g = geometry_of(mode);
	const struct nw_pt_level_desc *root;

	gva &= ~UINT64_C(7);
	if (res->outcome == NW_OUTCOME_GP || !res->steps[g.top].read || res->steps[g.top].index >= g.kernel_slots)
		return gva;
	root = &g.fmt->level[g.top];
	return (gva & ~((uint64_t)(root->entries - 1) << root->shift)) | ((uint64_t)g.kernel_slots << root->shift);
}

static uint8_t access_kind(const struct nw_trace_access *a)
{
	if (a->implicit)
		return HW_ACCESS_IMPLICIT;
	return a->type == NW_ACCESS_WRITE ? HW_ACCESS_WRITE : a->type == NW_ACCESS_FETCH ? HW_ACCESS_FETCH
											 : HW_ACCESS_READ;
}

/* The CPU state an access runs with, as nw_replay_access() sets it. */
void nw_hw_sync_cpu(struct nw_replay *r, const struct nw_trace_access *a)
{
	struct nw_cpu *cpu = &r->machine->cpu;
	uint64_t rflags = a->ac ? cpu->rflags | NW_RFLAGS_AC : cpu->rflags & ~NW_RFLAGS_AC;

	if (cpu->cpl != a->cpl || cpu->rflags != rflags) {
		cpu->cpl = a->cpl;
		cpu->rflags = rflags;
		nw_walker_set_cpu(r->walker, cpu);
	}
}

struct nw_access nw_hw_access(const struct nw_trace_access *a)
{
	return (struct nw_access){ .gva = a->gva, .size = a->size, .type = a->type, .implicit = a->implicit };
}

/* A second-stage fault the simulated hypervisor resolves or names itself: a
 * lazy page populated on its first fault, and (for the final access) MMIO and
 * ROM exits. A backend shows the raw fault instead. */
static bool is_handled_by_hypervisor(const struct nw_replay *r, const struct nw_walk_result *res)
{
	const struct nw_region *region;

	if (!nw_hw_is_s2_fault(res) || !r->machine->aspace)
		return false;
	region = nw_aspace_find_region(r->machine->aspace, res->fault_gpa);
	if (!region)
		return false;
	if (region->lazy)
		return true;
	return !res->s2_on_table && (region->type == NW_REGION_MMIO || region->type == NW_REGION_ROM);
}

const char *nw_hw_walk(const struct nw_replay *r, const struct nw_access *access, struct nw_walk_result *res)
{
	nw_walk_reference(&r->config, &r->machine->cpu, access, NW_WALK_LOOKUP | NW_WALK_RECORD, res);
	if (res->outcome == NW_OUTCOME_NO_MEMORY)
		return "a guest table outside guest memory";
	if (is_handled_by_hypervisor(r, res))
		return "a second-stage fault the simulated hypervisor handles (lazy page, MMIO or ROM exit)";
	return NULL;
}

const char *nw_hw_case_compile(const struct nw_hw_target *t, struct nw_replay *r, const struct nw_trace_access *a,
			       uint64_t record, struct nw_hw_case *c, char *reason, size_t len)
{
	const struct nw_cpu *cpu = &r->machine->cpu;
	struct nw_access access = nw_hw_access(a);
	struct nw_walk_result *res;
	enum nw_paging_mode mode;
	const char *why;

	memset(c, 0, sizeof(*c));
	c->record = record;
	c->access = *a;
	nw_hw_sync_cpu(r, a);
	mode = nw_cpu_paging_mode(cpu);
	why = check_state(t->backend, cpu, mode, a, reason, len);
	if (why)
		return why;
	res = calloc(1, sizeof(*res));
	if (!res)
		return "out of memory";
	why = nw_hw_walk(r, &access, res);
	if (!why && res->outcome == NW_OUTCOME_GP && a->implicit)
		why = "an implicit access at a non-canonical GVA (the image's LLDT would fault first)";
	if (!why && res->outcome == NW_OUTCOME_GP && res->gp_reason != NW_GP_NONCANONICAL)
		why = "a #GP other than a non-canonical address";
	if (!why) {
		c->run_gva = run_gva(a->gva.val, mode, res);
		c->head = (struct hw_blob_case){
			.flags = case_flags(cpu, mode, a, t->backend->nested),
			.pkru = (cpu->cr4 & NW_CR4_PKE) ? cpu->pkru : 0,
			.cpl = a->cpl,
			.access = access_kind(a),
			.table_count = 1,
			.gva = c->run_gva,
		};
		if (res->outcome != NW_OUTCOME_GP)
			why = add_path(c, t, res, mode, cpu, reason, len);
		if (!why && res->outcome != NW_OUTCOME_GP)
			why = add_s2(c, t, r, res);
		if (c->table_count > c->head.table_count)
			c->head.table_count = (uint8_t)c->table_count;
	}
	free(res);
	return why;
}

/* What an aarch64 case (its stage-1 part, contract/a64_s1.h) or a riscv64 case (its VS-stage part,
 * contract/rv_vs.h) carries after its entries: the part and its entries; false for none. */
static bool case_part(const struct nw_hw_case *c, uint32_t arch, const void **part, size_t *part_size,
		      const struct hw_blob_entry **entries, size_t *count)
{
	if (arch == HW_BLOB_ARCH_AARCH64 && (c->head.flags & HW_A64_S1)) {
		*part = &c->a64_s1;
		*part_size = sizeof(c->a64_s1);
		*entries = c->a64_s1_entries;
		*count = c->a64_s1.entry_count;
		return true;
	}
	if (arch == HW_BLOB_ARCH_RISCV64 && (c->head.flags & HW_RV_VS)) {
		*part = &c->rv_vs;
		*part_size = sizeof(c->rv_vs);
		*entries = c->rv_vs_entries;
		*count = c->rv_vs.entry_count;
		return true;
	}
	return false;
}

size_t nw_hw_case_tail_bytes(const struct nw_hw_case *c, uint32_t arch)
{
	const struct hw_blob_entry *entries;
	const void *part;
	size_t size, count;

	return case_part(c, arch, &part, &size, &entries, &count) ? size + count * sizeof(*entries) : 0;
}

uint8_t *nw_hw_blob_pack(const struct nw_hw_case *cases, size_t count, uint32_t arch, size_t *size)
{
	struct hw_blob_header h = {
		.magic = HW_BLOB_MAGIC, .version = HW_BLOB_VERSION, .header_size = sizeof(h), .case_count = (uint32_t)count,
		.arch = arch,
	};
	size_t total = sizeof(h), off, part_size;
	const struct hw_blob_entry *part_entries;
	const void *part;
	uint8_t *blob;

	for (size_t i = 0; i < count; i++)
		total += sizeof(cases[i].head) + cases[i].head.entry_count * sizeof(struct hw_blob_entry) +
			 nw_hw_case_tail_bytes(&cases[i], arch);
	blob = malloc(total);
	if (!blob)
		return NULL;
	memcpy(blob, &h, sizeof(h));
	off = sizeof(h);
	for (size_t i = 0; i < count; i++) {
		size_t n = cases[i].head.entry_count * sizeof(struct hw_blob_entry);

		memcpy(blob + off, &cases[i].head, sizeof(cases[i].head));
		off += sizeof(cases[i].head);
		memcpy(blob + off, cases[i].entries, n);
		off += n;
		if (case_part(&cases[i], arch, &part, &part_size, &part_entries, &n)) {
			memcpy(blob + off, part, part_size);
			off += part_size;
			n *= sizeof(struct hw_blob_entry);
			memcpy(blob + off, part_entries, n);
			off += n;
		}
	}
	*size = total;
	return blob;
}
