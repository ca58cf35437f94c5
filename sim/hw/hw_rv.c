/* A riscv64 scenario's G-stage on the RISC-V image (hw_rv.h). A G-stage case is the path of the scenario's tables
 * for one GPA: each PTE the walk reads, copied in walk order (tables linked as the case's own), the leaf's output
 * address moved into the image's scratch region; the GPA keeps its bits but for a root slot the image uses
 * itself (moved to the slot beside it) and for a superpage larger than the scratch region, whose offset is
 * moved inside it (a G-stage outcome is the same at every offset of a leaf). The library's answer is the
 * scenario's G-stage translate (translate --gpa), its trap as it reaches M-mode. */
#include <inttypes.h>
#include <stdio.h>

#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_gstage.h>

#include "contract/rv_layout.h"
#include "hw/hw_rv.h"

#define NW_RV_NAPOT_SIZE (UINT64_C(1) << 16) /* Svnapot's one size: 64 KiB */

static const struct nw_hw_deviation implicit_cause = {
	"rv-implicit-cause",
	"QEMU 7.2 reports a guest-page fault on a VS-stage PTE read as a load's (cause 21) whatever the access",
	NULL,
};
static const struct nw_hw_deviation leaf_high_bits = {
	"rv-leaf-high-bits-unchecked",
	"with Svpbmt or Svnapot on, QEMU 7.2 leaves a leaf's bits 60:54 unchecked (with Svpbmt also PBMT 3 and N "
	"without Svnapot)",
	NULL,
};

const struct nw_hw_deviation nw_hw_rv_gstage_mxr_hs = {
	"rv-gstage-mxr-hs",
	"QEMU 7.2 reads the guest's MXR (vsstatus.MXR) for the G-stage, not the HS-level sstatus.MXR",
	NULL,
};
const struct nw_hw_deviation nw_hw_rv_vs_mxr_hs = {
	"rv-vs-mxr-hs",
	"QEMU 7.2 ignores the HS-level sstatus.MXR for the VS-stage",
	NULL,
};

static const struct nw_hw_deviation ad_write_unchecked = {
	"rv-vs-ad-write-unchecked",
	"QEMU 7.2 sets a VS-stage PTE's A/D through a G-stage page the guest may not write, and goes on to the final "
	"access",
	NULL,
};

/* rv-vs-ad-write-unchecked: the library's guest-page fault on the A/D write (htinst 0x3020), QEMU's outcome that
 * of the final access: where it lands, or its own guest-page fault (htinst 0, htval the final GPA). */
static bool is_ad_write_unchecked(const struct nw_hw_case *c, const struct nw_hw_rv_expect *e,
				  const struct nw_hw_outcome *o)
{
	if (e->trap.htinst != NW_RV_HTINST_VS_PTE_WRITE)
		return false;
	if (o->kind == NW_HW_OK)
		return c->head.access == HW_ACCESS_FETCH || o->a == e->final_pa;
	return o->kind == NW_HW_RV_TRAP && o->a == e->trap.scause && o->b == e->trap.stval &&
	       o->c == e->final_gpa >> 2 && o->d == 0 && o->e == 1;
}

bool nw_hw_rv_is_leaf_high_bits_fault(uint32_t flags, uint64_t pte)
{
	bool leaf = (pte & NW_RV_PTE_V) && (pte & (NW_RV_PTE_R | NW_RV_PTE_X));
	bool svpbmt = flags & HW_RV_PBMTE, svnapot = flags & HW_RV_NAPOT;

	if (!leaf || !(svpbmt || svnapot))
		return false;
	return (pte & NW_RV_PTE_RSVD) ||
	       (svpbmt && (((pte & NW_RV_PTE_N) && !svnapot) || (pte & NW_RV_PTE_PBMT_MASK) == NW_RV_PTE_PBMT_MASK));
}

uint64_t nw_hw_rv_relocate(uint64_t size, uint32_t id, uint64_t *addr)
{
	uint64_t page = (id % (HW_RV_SCRATCH_SIZE / NW_PAGE_SIZE)) * NW_PAGE_SIZE;

	if (size == NW_PAGE_SIZE) {
		*addr &= ~UINT64_C(7);
		return HW_RV_SCRATCH_BASE + page;
	}
	if (size == NW_RV_NAPOT_SIZE) {
		*addr &= ~UINT64_C(7);
		return HW_RV_SCRATCH_BASE + (page & ~(NW_RV_NAPOT_SIZE - 1));
	}
	if (size <= HW_RV_SCRATCH_SIZE) {
		*addr &= ~UINT64_C(7);
		return HW_RV_SCRATCH_BASE;
	}
	/* 1 GiB and up: the leaf maps from a size-aligned address below the scratch region, the offset picks page. */
	*addr = (*addr & ~(size - 1)) | ((HW_RV_SCRATCH_BASE + page) & (size - 1)) | (*addr & 0xff8);
	return HW_RV_SCRATCH_BASE & ~(size - 1);
}

uint64_t nw_hw_rv_leaf_size(uint64_t level_size, uint64_t leaf, uint32_t flags)
{
	return level_size == NW_PAGE_SIZE && (leaf & NW_RV_PTE_N) && (flags & HW_RV_NAPOT) ? NW_RV_NAPOT_SIZE
											: level_size;
}

uint64_t nw_hw_rv_pte_at(uint64_t pte, uint64_t size, uint64_t pa)
{
	uint64_t ppn = NW_RV_PTE_PPN_MASK & ~(((size >> 12) - 1) << NW_RV_PTE_PPN_SHIFT);

	return (pte & ~ppn) | (pa >> 12 << NW_RV_PTE_PPN_SHIFT);
}

static void add_entry(struct nw_hw_case *out, unsigned table, unsigned index, uint64_t value, unsigned link)
{
	out->entries[out->head.entry_count++] = (struct hw_blob_entry){
		.table = (uint8_t)table, .index = (uint16_t)index, .link = (uint8_t)link, .value = value
	};
}

static bool is_pointer(uint64_t pte)
{
	return (pte & NW_RV_PTE_V) && !(pte & (NW_RV_PTE_R | NW_RV_PTE_X));
}

/* The case's GPA: the scenario's, its root slot moved off the image's. */
static uint64_t run_gpa(const struct nw_pt_format *fmt, uint64_t gpa)
{
	if (nw_pt_index(fmt, fmt->top, gpa) != nw_pt_index(fmt, fmt->top, HW_RV_CODE_GPA))
		return gpa;
	return gpa ^ (UINT64_C(1) << fmt->level[fmt->top].shift);
}

/* The library's trap as the image sees it (M-mode, nothing delegated); a VS-stage page fault's GVA is 1 there. */
static void expect_trap(struct nw_hw_rv_expect *e, const struct nw_rv_trap *trap)
{
	e->ok = false;
	e->trap = *trap;
	e->trap.gva = true;
}

const char *nw_hw_rv_compile_gpa(const struct nw_hw_rv_scenario *s, uint64_t gpa, enum nw_access_type type,
				 uint32_t id, struct nw_hw_case *out, struct nw_hw_rv_expect *e)
{
	const struct nw_pt *pt = &s->gstage->pt;
	const struct nw_pt_format *fmt = pt->fmt;
	struct nw_s2_request req = { .gpa = nw_gpa(gpa & ~UINT64_C(7)), .type = type, .lookup_only = true };
	struct nw_rv_gstage_access access = { .type = type, .gva = req.gpa.val, .gpa = req.gpa };
	uint64_t table = pt->root, run = run_gpa(fmt, req.gpa.val), pa = 0;
	struct nw_s2_result res;
	struct nw_rv_trap trap;

	out->head = (struct hw_blob_case){ .id = id, .flags = s->flags, .mode = s->gstage->config.mode, .cpl = 1,
					   .access = (uint8_t)type, .table_count = 1 };
	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		unsigned index = nw_pt_index(fmt, level, req.gpa.val), run_index = nw_pt_index(fmt, level, run);
		const void *ptr = nw_pt_table_ptr(pt, table);
		uint64_t entry, size = nw_pt_level_size(fmt, level);
		unsigned me = out->head.table_count - 1;

		if (!ptr)
			return "a G-stage table the simulated host has no memory for";
		entry = nw_pt_entry_get(fmt, ptr, index);
		if (out->head.entry_count == NW_HW_CASE_ENTRIES)
			return "a path longer than a case holds";
		if (gpa >> fmt->level[fmt->top].shift >= fmt->level[fmt->top].entries)
			break; /* past the mode's width: no PTE is read */
		if (is_pointer(entry) && level > NW_LEVEL_PT) {
			add_entry(out, me, run_index, entry & ~NW_RV_PTE_PPN_MASK, me + 2);
			out->head.table_count++;
			table = nw_pt_table_addr(fmt, entry);
			continue;
		}
		if ((entry & NW_RV_PTE_V) && !is_pointer(entry)) {
			size = nw_hw_rv_leaf_size(size, entry, s->flags);
			pa = nw_hw_rv_relocate(size, id, &run);
			entry = nw_hw_rv_pte_at(entry, size, pa);
			pa += run & (size - 1);
		}
		add_entry(out, me, run_index, entry, 0);
		break;
	}
	out->run_gva = run;
	out->head.gva = run;
	nw_rv_gstage_translate(s->gstage, &req, &res);
	if (!nw_rv_gstage_fault(&res, &access, &trap)) {
		*e = (struct nw_hw_rv_expect){ .ok = true, .pa = pa };
		/* An execute-only leaf read through the HS-level MXR: QEMU, with the VS-stage's MXR clear, faults. */
		if (type == NW_ACCESS_READ && (res.entry & (NW_RV_PTE_R | NW_RV_PTE_X)) == NW_RV_PTE_X)
			nw_hw_rv_expect_mxr(e, &nw_hw_rv_gstage_mxr_hs, NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT, run, run >> 2);
		return NULL;
	}
	if (trap.htval)
		trap.htval = run >> 2;
	trap.stval = run;
	expect_trap(e, &trap);
	e->leaf_high_bits = res.fault == NW_S2_FAULT_MISCONFIG && nw_hw_rv_is_leaf_high_bits_fault(s->flags, res.entry);
	return NULL;
}

void nw_hw_rv_expect_mxr(struct nw_hw_rv_expect *e, const struct nw_hw_deviation *row, uint64_t cause,
			 uint64_t tval, uint64_t htval)
{
	e->mxr_row = row;
	e->mxr_ok = false;
	e->mxr_trap = (struct nw_rv_trap){ .scause = cause, .stval = tval, .htval = htval, .gva = true };
}

/* QEMU's outcome where it reads MXR otherwise, exactly. */
static bool is_mxr_row(const struct nw_hw_case *c, const struct nw_hw_rv_expect *e, const struct nw_hw_outcome *o)
{
	if (!e->mxr_row)
		return false;
	if (e->mxr_ok)
		return o->kind == NW_HW_OK && (c->head.access == HW_ACCESS_FETCH || o->a == e->final_pa);
	return o->kind == NW_HW_RV_TRAP && o->a == e->mxr_trap.scause && o->b == e->mxr_trap.stval &&
	       o->c == e->mxr_trap.htval && o->d == e->mxr_trap.htinst && o->e == 1;
}

static enum nw_hw_verdict differ(char *problem, size_t len, const char *what, uint64_t got, uint64_t want)
{
	snprintf(problem, len, "%s 0x%" PRIx64 " on the CPU, 0x%" PRIx64 " in the library", what, got, want);
	return NW_HW_VERDICT_MISMATCH;
}

/* rv-implicit-cause: the library's store or fetch guest-page fault on a PTE read (htinst 0x3000) given by QEMU
 * as a load's, every other CSR the same. */
static bool is_implicit_cause(const struct nw_hw_rv_expect *e, const struct nw_hw_outcome *o)
{
	return e->trap.htinst == NW_RV_HTINST_VS_PTE_READ && o->a == NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT &&
	       (e->trap.scause == NW_RV_CAUSE_STORE_GUEST_PAGE_FAULT ||
		e->trap.scause == NW_RV_CAUSE_FETCH_GUEST_PAGE_FAULT) &&
	       o->b == e->trap.stval && o->c == e->trap.htval && o->d == e->trap.htinst && o->e == 1;
}

enum nw_hw_verdict nw_hw_rv_compare(const struct nw_hw_case *c, const struct nw_hw_rv_expect *e,
				    const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
				    char *problem, size_t len)
{
	const uint64_t want[] = { e->trap.scause, e->trap.stval, e->trap.htval, e->trap.htinst, e->trap.gva };
	const uint64_t got[] = { o->a, o->b, o->c, o->d, o->e };
	static const char *const names[] = { "mcause", "mtval", "mtval2 (htval)", "mtinst (htinst)", "mstatus.GVA" };

	if (o->kind == NW_HW_UNSUPPORTED || o->kind == NW_HW_NONE) {
		snprintf(problem, len, "%s", o->kind == NW_HW_NONE ? "the image printed no outcome" : o->text);
		return o->kind == NW_HW_NONE ? NW_HW_VERDICT_MISMATCH : NW_HW_VERDICT_NOT_RUN;
	}
	if (e->leaf_high_bits && (o->kind != NW_HW_RV_TRAP || o->a != e->trap.scause)) {
		*deviation = &leaf_high_bits;
		return NW_HW_VERDICT_EXPLAINED;
	}
	if (is_mxr_row(c, e, o)) {
		*deviation = e->mxr_row;
		return NW_HW_VERDICT_EXPLAINED;
	}
	if (!e->ok && is_ad_write_unchecked(c, e, o)) {
		*deviation = &ad_write_unchecked;
		return NW_HW_VERDICT_EXPLAINED;
	}
	if (o->kind != (e->ok ? NW_HW_OK : NW_HW_RV_TRAP)) {
		snprintf(problem, len, "the CPU gave '%s', the library %s", o->text, e->ok ? "a translation" : "a trap");
		return NW_HW_VERDICT_MISMATCH;
	}
	if (e->ok)
		return c->head.access == HW_ACCESS_FETCH || o->a == e->pa ? NW_HW_VERDICT_MATCH
									  : differ(problem, len, "PA", o->a, e->pa);
	if (is_implicit_cause(e, o)) {
		*deviation = &implicit_cause;
		return NW_HW_VERDICT_EXPLAINED;
	}
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (got[i] != want[i])
			return differ(problem, len, names[i], got[i], want[i]);
	return NW_HW_VERDICT_MATCH;
}

const char *nw_hw_rv_rehearse(const struct nw_hal *hal, const struct nw_hw_case *c, const struct nw_hw_rv_expect *e)
{
	const struct hw_rv_vs_part *p = c->head.flags & HW_RV_VS ? &c->rv_vs : NULL;
	struct hw_rv_answer a;
	struct hw_rv_vm vm;
	struct hw_rv_vs vs;
	const char *why = hw_rv_case_build(&vm, &vs, hal, &c->head, c->entries, p, c->rv_vs_entries);
	bool known;

	if (why)
		return why;
	known = hw_rv_case_answer(&vm, &vs, &c->head, p, &a);
	hw_rv_case_destroy(&vm, &vs);
	if (known && a.ok == e->ok &&
	    (e->ok ? c->head.access == HW_ACCESS_FETCH || a.hpa == e->pa
		   : a.trap.scause == e->trap.scause && a.trap.stval == e->trap.stval &&
			     a.trap.htval == e->trap.htval && a.trap.htinst == e->trap.htinst && a.trap.gva == e->trap.gva))
		return NULL;
	return "the case built for the image does not give the library's answer on the scenario";
}
