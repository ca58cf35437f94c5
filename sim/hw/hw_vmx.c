/* One access of an EPT scenario as a case of the VMX image (hw/contract/ept_case.h):
 * the guest walk's entries become the non-address bits of the image's target
 * path (guest PML4 slot 1), the scenario's EPT rights of the guest tables and
 * of the final page become the image's EPT leaf and edits, and the CPU state
 * the case's guest flags. Observed lines map back through the same case. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "contract/layout.h"
#include "hw/hw_run.h"

#define SLOT_MASK (VMX_TARGET_BASE - 1) /* address bits below PML4 slot 1 */
#define LOW_ADDR_BITS nw_hw_bits(12, VMX_MAXPHYADDR)
#define RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)

/* The VMX guest runs 4-level paging (check_state): its geometry is that format's. */
static const struct nw_pt_format *guest_format(void)
{
	return nw_paging_format(NW_PAGING_4LEVEL);
}

/* The image's guest table at level: the PML4 after the code page, the target's PDPT, PD, PT after the
 * code's three (ept_case.c). */
static uint64_t image_table_gpa(int level)
{
	unsigned table = level == 4 ? 0 : 4 + (unsigned)(3 - level);

	return VMX_GUEST_CODE_GPA + (uint64_t)(table + 1) * NW_PAGE_SIZE;
}

static const char *check_state(const struct nw_cpu *cpu, enum nw_paging_mode mode, const struct nw_trace_access *a,
			       const struct nw_replay *r)
{
	const struct nw_ept *ept = r->config.stage2.ept;

	if (mode != NW_PAGING_4LEVEL)
		return "a paging mode other than 4-level (the VMX guest runs 4-level paging)";
	if (a->cpl != 0 && a->cpl != 3)
		return "CPL 1 or 2 (the VMX guest runs CPL 0 and 3)";
	if (a->implicit && a->type != NW_ACCESS_READ)
		return "an implicit write (the image's implicit access is a descriptor-table read)";
	if ((a->gva.val & NW_PAGE_MASK) + (a->size ? a->size : 1) > NW_PAGE_SIZE)
		return "the access crosses a 4 KiB page boundary (the image's accesses lie within one page)";
	if (cpu->cr4 & (NW_CR4_PKE | NW_CR4_PKS))
		return "CR4.PKE or CR4.PKS (the VMX guest has no protection keys)";
	if (cpu->no_1g_pages)
		return "a CPU without 1 GiB pages (the backend has them)";
	if (ept->config.levels != 4)
		return "5-level EPT (the image's EPT has 4 levels)";
	if (ept->config.mbec)
		return "mode-based execute control (Bochs has none)";
	return NULL;
}

static uint8_t guest_flags(const struct nw_cpu *cpu, const struct nw_trace_access *a)
{
	unsigned f = 0;

	f |= (cpu->cr0 & NW_CR0_WP) ? VMX_GUEST_WP : 0;
	f |= (cpu->efer & NW_EFER_NXE) ? VMX_GUEST_NXE : 0;
	f |= (cpu->cr4 & NW_CR4_SMEP) ? VMX_GUEST_SMEP : 0;
	f |= (cpu->cr4 & NW_CR4_SMAP) ? VMX_GUEST_SMAP : 0;
	f |= a->ac ? VMX_GUEST_AC : 0;
	return (uint8_t)f;
}

static uint8_t access_kind(const struct nw_trace_access *a)
{
	if (a->implicit)
		return VMX_ACCESS_IMPLICIT;
	return a->type == NW_ACCESS_WRITE ? VMX_ACCESS_WRITE : a->type == NW_ACCESS_FETCH ? VMX_ACCESS_FETCH
											 : VMX_ACCESS_READ;
}

/* An entry's bits without its address below the scenario's MAXPHYADDR (from
 * bit low up); NULL, or why the bits above cannot be carried over. */
static const char *own_bits(uint64_t entry, unsigned low, unsigned smaxphy, uint64_t *out)
{
	if (nw_hw_has_rsvd_bits_valid_on_backend(entry & NW_PTE_ADDR_MASK, smaxphy, VMX_MAXPHYADDR))
		return "address bits above the scenario's MAXPHYADDR that are address bits under the backend's 40";
	*out = entry & ~nw_hw_bits(low, smaxphy);
	return NULL;
}

/* The guest entries of the target path, and where the scenario's tables are. */
static const char *add_guest(struct nw_hw_case *c, const struct nw_cpu *cpu, const struct nw_walk_result *res,
			     unsigned smaxphy)
{
	const struct nw_pt_format *fmt = guest_format();
	struct vmx_blob_case *h = &c->vmx.head;
	const char *why;

	h->guest_level = 1;
	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		const struct nw_walk_step *step = &res->steps[level];
		bool large = nw_paging_ps_maps_page(cpu, NW_PAGING_4LEVEL, (unsigned)level);
		unsigned i = (unsigned)(fmt->top - level);
		uint64_t entry = step->entry, bits;
		bool s2_fault;

		if (!nw_hw_table_reached(res, level, &s2_fault))
			break;
		c->table_count = i + 1;
		c->table_gpa[i] = step->table_gpa.val;
		c->offset[i] = step->index * fmt->entry_size;
		c->run_offset[i] = nw_pt_index(fmt, level, c->run_gva) * fmt->entry_size;
		for (unsigned j = 0; j < i; j++)
			if ((c->table_gpa[j] ^ c->table_gpa[i]) < NW_PAGE_SIZE)
				return "the path uses one table page twice (a recursive mapping; the image's tables form a tree)";
		if (s2_fault)
			break;
		/* A large leaf keeps its PAT and reserved bits below the page size; PS comes from guest_level. */
		if ((entry & NW_PTE_P) && (entry & NW_PTE_PS) && large) {
			why = own_bits(entry, fmt->level[level].shift, smaxphy, &bits);
			if (why)
				return why;
			h->guest_level = (uint8_t)level;
			h->guest[level - 1] = bits & ~NW_PTE_PS;
			break;
		}
		/* A not-present PDE or PDPTE with PS: the image's leaf at that level says the same. */
		if (!(entry & NW_PTE_P) && (entry & NW_PTE_PS) && large)
			h->guest_level = (uint8_t)level;
		why = own_bits(entry, NW_PAGE_SHIFT, smaxphy, &bits);
		if (why)
			return why;
		h->guest[level - 1] = (entry & NW_PTE_P) ? bits : bits & ~NW_PTE_PS;
		if (!(entry & NW_PTE_P))
			break;
	}
	return NULL;
}

static uint64_t ept_rights(uint32_t s2_rights)
{
	return ((s2_rights & NW_S2_RIGHT_R) ? NW_EPT_R : 0) | ((s2_rights & NW_S2_RIGHT_W) ? NW_EPT_W : 0) |
	       ((s2_rights & NW_S2_RIGHT_X) ? NW_EPT_X : 0) | ((s2_rights & NW_S2_RIGHT_UX) ? NW_EPT_UX : 0);
}

static void s2_lookup(const struct nw_replay *r, uint64_t gpa, bool table, struct nw_s2_result *res)
{
	struct nw_s2_request req = {
		.gpa = nw_gpa(gpa), .type = NW_ACCESS_READ, .paging_structure = table, .lookup_only = true,
	};

	nw_stage2_translate(&r->config.stage2, &req, res);
}

static const char *add_edit(struct nw_hw_case *c, uint8_t where, int level, uint64_t clear, uint64_t set)
{
	if (c->vmx.head.edit_count >= VMX_MAX_EDITS)
		return "more EPT edits than a case holds";
	c->vmx.edits[c->vmx.head.edit_count++] = (struct vmx_blob_edit){
		.where = where, .level = (uint8_t)level, .clear = clear, .set = set,
	};
	return NULL;
}

/* EPT rights of the guest tables: the root is shared with the image's code and
 * must have every right; the target's PDPT, PD and PT get their 4 KiB EPT leaf. */
static const char *add_table_rights(struct nw_hw_case *c, const struct nw_replay *r)
{
	for (unsigned i = 0; i < c->table_count; i++) {
		struct nw_s2_result res;
		const char *why;

		s2_lookup(r, c->table_gpa[i] + c->offset[i], true, &res);
		if (res.status == NW_S2_MISCONFIG)
			return "a misconfigured EPT entry for a guest table (the image edits a guest table's EPT rights only)";
		if (i == 0) {
			if (res.status != NW_S2_OK || (res.rights & (NW_S2_RIGHT_R | NW_S2_RIGHT_W)) !=
							      (NW_S2_RIGHT_R | NW_S2_RIGHT_W))
				return "the guest's root table without EPT read and write (the VMX image's guest shares its PML4)";
			continue;
		}
		why = add_edit(c, (uint8_t)i, NW_LEVEL_PT, NW_EPT_RIGHTS, ept_rights(res.rights));
		if (why)
			return why;
	}
	return NULL;
}

/* The final page's EPT path: its leaf (level, non-address bits) and edits of
 * the entries above it, or of the entry where the scenario's path stops. */
static const char *add_final_ept(struct nw_hw_case *c, const struct nw_replay *r, unsigned smaxphy)
{
	const struct nw_pt_format *fmt = r->config.stage2.ept->pt.fmt;
	struct vmx_blob_case *h = &c->vmx.head;
	struct nw_s2_result res;
	int stop, leaf = 0;
	const char *why;
	uint64_t bits;

	s2_lookup(r, c->final_gpa, false, &res);
	stop = res.level;
	if (stop >= NW_LEVEL_PT && (res.entries[stop] & RWX) && !nw_pt_is_link(fmt, stop, res.entries[stop]))
		leaf = stop;
	h->ept_level = 1;
	h->ept_leaf = RWX | ((uint64_t)NW_EPT_MT_WB << NW_EPT_MT_SHIFT);
	if (leaf) {
		/* The reserved bits of a large leaf: below its page size, above bit 11. */
		uint64_t low = res.entries[leaf] & nw_hw_bits(12, 64) & (nw_pt_level_size(fmt, leaf) - 1);

		why = own_bits(res.entries[leaf], NW_PAGE_SHIFT, smaxphy, &bits);
		if (why)
			return why;
		/* The image maps a 1 GiB EPT page only at 0: its offset must reach the scratch region. */
		h->ept_level = (uint8_t)leaf;
		if (leaf == 3 && (h->gpa & (NW_SIZE_1G - 1) & ~(uint64_t)(HW_SCRATCH_SIZE - 1)) != HW_SCRATCH_BASE) {
			if (low)
				return "a 1 GiB EPT leaf with reserved bits whose offset lies outside the image's scratch region";
			h->ept_level = 1; /* the same rights on a 4 KiB leaf */
		}
		h->ept_leaf = bits & ~(LOW_ADDR_BITS | NW_EPT_PS);
		if (low && h->ept_level > 1) {
			if (h->access == VMX_ACCESS_WRITE)
				return "a write through a large EPT leaf with reserved bits (the image keeps write cases' leaves)";
			why = add_edit(c, VMX_EDIT_TARGET, leaf, 0, low);
			if (why)
				return why;
		}
	}
	/* The entries above the leaf, or down to where the path stops, as the scenario has them. */
	for (int level = fmt->top; level >= (leaf ? leaf + 1 : stop > 1 ? stop : 1); level--) {
		why = own_bits(res.entries[level], NW_PAGE_SHIFT, smaxphy, &bits);
		if (why)
			return why;
		if (bits & LOW_ADDR_BITS)
			return "an EPT entry with address bits the image cannot carry";
		why = add_edit(c, VMX_EDIT_TARGET, level, ~(LOW_ADDR_BITS | NW_EPT_PS), bits & ~NW_EPT_PS);
		if (why)
			return why;
	}
	return NULL;
}

const char *nw_hw_vmx_compile(const struct nw_hw_target *t, struct nw_replay *r, const struct nw_trace_access *a,
			      uint64_t record, struct nw_hw_case *c)
{
	const struct nw_cpu *cpu = &r->machine->cpu;
	struct nw_access access = nw_hw_access(a);
	unsigned smaxphy = nw_cpu_maxphyaddr(cpu);
	struct nw_walk_result *res;
	const char *why;

	(void)t;
	memset(c, 0, sizeof(*c));
	c->record = record;
	c->access = *a;
	nw_hw_sync_cpu(r, a);
	why = check_state(cpu, nw_cpu_paging_mode(cpu), a, r);
	if (why)
		return why;
	res = calloc(1, sizeof(*res));
	if (!res)
		return "out of memory";
	why = nw_hw_walk(r, &access, res);
	if (!why && res->outcome == NW_OUTCOME_GP)
		why = "a non-canonical GVA (the VMX image's accesses lie in its PML4 slot 1)";
	if (!why) {
		struct vmx_blob_case *h = &c->vmx.head;

		c->run_gva = VMX_TARGET_BASE | (a->gva.val & SLOT_MASK & ~UINT64_C(7));
		*h = (struct vmx_blob_case){
			.access = access_kind(a),
			.flags = r->config.stage2.ept->config.ad ? VMX_CASE_EPT_AD : 0,
			.gva = c->run_gva,
			.cpl = a->cpl,
			.guest_flags = guest_flags(cpu, a),
		};
		why = add_guest(c, cpu, res, smaxphy);
	}
	if (!why) {
		struct vmx_blob_case *h = &c->vmx.head;
		uint64_t size = nw_pt_level_size(guest_format(), h->guest_level);

		c->has_final = res->outcome == NW_OUTCOME_OK || (nw_hw_is_s2_fault(res) && !res->s2_on_table);
		if (c->has_final) {
			uint64_t leaf = res->steps[res->leaf_level].entry & NW_PTE_ADDR_MASK & nw_hw_bits(0, smaxphy);

			c->final_gpa = ((leaf & ~(size - 1)) | (a->gva.val & (size - 1))) & ~NW_PAGE_MASK;
		}
		/* The target page keeps the GVA's bits inside the guest page, as the image requires. */
		h->gpa = VMX_TARGET_BASE | ((c->has_final ? c->final_gpa : c->run_gva) & SLOT_MASK & ~NW_PAGE_MASK);
		why = add_table_rights(c, r);
		if (!why && c->has_final)
			why = add_final_ept(c, r, smaxphy);
		else if (!why)
			h->ept_level = 1, h->ept_leaf = RWX | ((uint64_t)NW_EPT_MT_WB << NW_EPT_MT_SHIFT);
	}
	if (!why)
		why = vmx_case_check(&c->vmx);
	free(res);
	return why;
}

uint8_t *nw_hw_vmx_blob_pack(const struct nw_hw_case *cases, size_t count, size_t *size)
{
	struct vmx_blob_header h = {
		.magic = VMX_BLOB_MAGIC, .version = VMX_BLOB_VERSION, .header_size = sizeof(h),
		.case_count = (uint32_t)count, .case_size = sizeof(struct vmx_blob_case),
		.edit_size = sizeof(struct vmx_blob_edit),
	};
	size_t total = sizeof(h), off;
	uint8_t *blob;

	for (size_t i = 0; i < count; i++)
		total += sizeof(struct vmx_blob_case) + cases[i].vmx.head.edit_count * sizeof(struct vmx_blob_edit);
	blob = malloc(total);
	if (!blob)
		return NULL;
	memcpy(blob, &h, sizeof(h));
	off = sizeof(h);
	for (size_t i = 0; i < count; i++) {
		size_t n = cases[i].vmx.head.edit_count * sizeof(struct vmx_blob_edit);

		memcpy(blob + off, &cases[i].vmx.head, sizeof(cases[i].vmx.head));
		off += sizeof(cases[i].vmx.head);
		memcpy(blob + off, cases[i].vmx.edits, n);
		off += n;
	}
	*size = total;
	return blob;
}

/* The host page the image maps the target page to (vmx_case_hpa). */
static uint64_t target_hpa_page(const struct nw_hw_case *c)
{
	uint64_t gpa = c->vmx.head.gpa;

	if (c->vmx.head.ept_level == 3)
		return gpa & (NW_SIZE_1G - 1);
	return HW_SCRATCH_BASE + (gpa & (NW_SIZE_2M - 1));
}

/* The scenario's GPA of an image guest-physical address: the target page, or
 * an entry of one of the path's tables. */
static bool scenario_gpa(const struct nw_hw_case *c, uint64_t gpa, uint64_t *out)
{
	if ((gpa & ~NW_PAGE_MASK) == c->vmx.head.gpa && c->has_final) {
		*out = c->final_gpa + (gpa & NW_PAGE_MASK) + (c->access.gva.val & 7);
		return true;
	}
	for (unsigned i = 0; i < c->table_count; i++) {
		if (gpa == image_table_gpa(4 - (int)i) + c->run_offset[i]) {
			*out = c->table_gpa[i] + c->offset[i];
			return true;
		}
	}
	return false;
}

bool nw_hw_vmx_observe(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *e,
		       char *problem, size_t len)
{
	uint64_t gpa;

	*e = (struct nw_trace_expect){ .present = 1u << NW_EXPECT_OUTCOME };
	switch (o->kind) {
	case NW_HW_OK:
		e->outcome = NW_TRACE_OUT_OK;
		if (o->unknown & 1)
			return true; /* a fetch or an implicit read: it arrived, the image cannot say where */
		if ((o->a & ~NW_PAGE_MASK) != target_hpa_page(c) || !c->has_final) {
			snprintf(problem, len, "completed at physical 0x%" PRIx64 ", outside the case's target page", o->a);
			return false;
		}
		e->gpa = nw_gpa(c->final_gpa + (o->a & NW_PAGE_MASK) + (c->access.gva.val & 7));
		e->present |= 1u << NW_EXPECT_GPA;
		return true;
	case NW_HW_PF:
		return nw_hw_observe_pf(c, o, e, problem, len);
	case NW_HW_EPTV:
	case NW_HW_MISCONFIG: {
		uint64_t image_gpa = o->kind == NW_HW_EPTV ? o->b : o->a;

		if (!scenario_gpa(c, image_gpa, &gpa)) {
			snprintf(problem, len, "EPT exit at guest-physical 0x%" PRIx64 ", no page of the case", image_gpa);
			return false;
		}
		if (o->kind == NW_HW_EPTV && !(o->unknown & 4) && o->c != c->run_gva) {
			snprintf(problem, len, "EPT violation with guest-linear 0x%" PRIx64 " where the access was at 0x%"
				 PRIx64, o->c, c->run_gva);
			return false;
		}
		e->outcome = o->kind == NW_HW_EPTV ? NW_TRACE_OUT_EPT_VIOLATION : NW_TRACE_OUT_EPT_MISCONFIG;
		e->fault_gpa = nw_gpa(gpa);
		e->present |= 1u << NW_EXPECT_FAULT_GPA;
		if (o->kind == NW_HW_EPTV) {
			e->exit_qualification = o->a;
			e->present |= 1u << NW_EXPECT_EXIT_QUALIFICATION;
		}
		return true;
	}
	case NW_HW_NONE:
		snprintf(problem, len, "no outcome line for the case");
		return false;
	case NW_HW_GP:
	case NW_HW_NPF:
	case NW_HW_UNSUPPORTED:
	case NW_HW_HOST_LIMIT:
	case NW_HW_ABORT:
	case NW_HW_RV_TRAP:
	case NW_HW_OTHER:
		break;
	}
	snprintf(problem, len, "the backend reported '%s'", o->text);
	return false;
}
