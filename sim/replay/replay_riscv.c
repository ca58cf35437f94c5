/* Replay on a riscv64 machine (replay.h): the CSRs as the trace writes them, vsatp decoded by the library after
 * each write, each access walked by nw_rv_vs_walk through the scenario's G-stage, and the TLB model of
 * tlb_riscv.h: what it holds is used until the fence the privileged spec makes software issue for it, so a
 * missing HFENCE.VVMA or HFENCE.GVMA shows the stale translation a hart may use. The record loop, the split of
 * an access into pieces and the lazy-page retries are the engine's (replay.c). */
#include <stdlib.h>

#include "replay/replay.h"

/* hstatus.VTVM (bit 20): SFENCE.VMA in VS-mode raises a virtual-instruction exception instead of fencing
 * (privileged spec, "Hypervisor Status Register"). */
#define HSTATUS_VTVM (UINT64_C(1) << 20)
/* hgatp's VMID field; the rest (MODE, PPN) names the G-stage tables. */
#define HGATP_VMID (NW_RV_HGATP_VMID_MASK << NW_RV_HGATP_VMID_SHIFT)
/* menvcfg and henvcfg: the bits the walks read. */
#define ENVCFG_WALK_BITS (NW_RV_ENVCFG_ADUE | NW_RV_ENVCFG_PBMTE)
#define SCAUSE_VIRTUAL_INSTRUCTION 22

static const struct nw_replay_arch riscv_ops;

static unsigned va_bits(unsigned mode)
{
	return mode == NW_RV_SATP_SV39 ? 39 : mode == NW_RV_SATP_SV48 ? 48 : mode == NW_RV_SATP_SV57 ? 57 : 0;
}

static void load_tags(struct nw_replay_rv *s)
{
	nw_rvtlb_load(&s->tlb, (uint16_t)((s->hgatp & HGATP_VMID) >> NW_RV_HGATP_VMID_SHIFT),
		      (uint16_t)s->cpu.vsatp.asid, va_bits(s->cpu.vsatp.mode));
}

int nw_replay_rv_init(struct nw_replay *r, char *err, size_t errlen)
{
	const struct nw_replay_machine *m = r->machine;
	struct nw_replay_rv *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "cannot set up the RISC-V TLB model (%zu bytes)", sizeof(*s));
		return -1;
	}
	r->rv = s;
	r->arch = &riscv_ops;
	/* The state the replay starts in: the scenario's VS-stage registers and privilege over its G-stage. */
	s->cpu = m->rv;
	s->hgatp = m->hgatp;
	s->vsatp = ((uint64_t)s->cpu.vsatp.mode << NW_RV_SATP_MODE_SHIFT) |
		   ((uint64_t)s->cpu.vsatp.asid << NW_RV_SATP_ASID_SHIFT) | (s->cpu.vsatp.root >> 12);
	if (nw_rvtlb_init(&s->tlb, s->entries, sizeof(s->entries), s->cpu.caps.asid_bits,
			  m->stage2.riscv->config.caps.vmid_bits) != NW_OK) {
		snprintf(err, errlen, "cannot set up the RISC-V TLB model");
		return -1;
	}
	load_tags(s);
	return 0;
}

void nw_replay_rv_fini(struct nw_replay *r)
{
	free(r->rv);
	r->rv = NULL;
}

static void write_vsatp(struct nw_replay *r, uint64_t value)
{
	struct nw_replay_rv *s = r->rv;
	struct nw_rv_vsatp vsatp;
	nw_status_t status = nw_rv_vsatp_decode(value, &s->cpu.caps, &vsatp);

	s->vsatp = value;
	if (status == NW_OK) {
		s->cpu.vsatp = vsatp;
		r->regs_refused = NULL;
		load_tags(s);
		return;
	}
	r->regs_refused = status == NW_ERR_INVALID ? "a reserved MODE, or Bare with ASID or PPN non-zero"
			  : status == NW_ERR_RANGE ? "an ASID wider than the hart's ASIDLEN"
						   : "a MODE the hart does not implement";
	r->regs_refused_record = r->record;
	r->stats.refused_writes++;
}

/* One G-stage is modelled, the scenario's, built for its menvcfg and HS-level sstatus.MXR: a write may change
 * hgatp's VMID, not its tables or mode, nor those switches. */
static int refuse_hs(const char *csr, uint64_t value, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s=0x%llx: %s; another G-stage configuration is not modelled", csr,
		 (unsigned long long)value, why);
	return -1;
}

/* The scenario's VMs' G-stages are the ones an hgatp may name (nestwalk mappings --roots lists them): one of them,
 * in the scenario's MODE with any VMID VMIDLEN allows, runs that VM from now on; the TLB model keeps every VMID's
 * entries (the privileged spec: a VMID change needs no fence). */
static int write_hgatp(struct nw_replay *r, uint64_t v, char *err, size_t errlen)
{
	struct nw_replay_rv *s = r->rv;
	struct nw_aspace *as;
	uint64_t hgatp;

	for (size_t i = 0; (as = nw_replay_machine_vm(r->machine, i)); i++)
		if (nw_rv_gstage_hgatp(nw_aspace_stage2(as)->riscv, 0, &hgatp) == NW_OK &&
		    (v & ~HGATP_VMID) == hgatp &&
		    !(((v & HGATP_VMID) >> NW_RV_HGATP_VMID_SHIFT) >> r->machine->stage2.riscv->config.caps.vmid_bits)) {
			nw_replay_use_vm(r, as);
			s->hgatp = v;
			load_tags(s);
			return 0;
		}
	return refuse_hs("hgatp", v, "no VM of the scenario has that MODE and root ('nestwalk mappings SCENARIO "
				     "--roots' lists them), or the VMID is wider than VMIDLEN", err, errlen);
}

static int write_reg(struct nw_replay *r, const struct nw_trace_regwrite *w, char *err, size_t errlen)
{
	struct nw_replay_rv *s = r->rv;
	const struct nw_rv_gstage_config *g = &r->machine->stage2.riscv->config;
	uint64_t v = w->value;
	uint64_t menvcfg = (g->adue ? NW_RV_ENVCFG_ADUE : 0) | (g->pbmte ? NW_RV_ENVCFG_PBMTE : 0);

	switch (w->reg) {
	case NW_TRACE_VSATP:
		write_vsatp(r, v);
		return 0;
	case NW_TRACE_VSSTATUS:
		s->cpu.sum = (v & NW_RV_SSTATUS_SUM) != 0;
		s->cpu.mxr = (v & NW_RV_SSTATUS_MXR) != 0;
		return 0;
	case NW_TRACE_SSTATUS:
		if (((v & NW_RV_SSTATUS_MXR) != 0) != g->mxr)
			return refuse_hs("sstatus", v, g->mxr ? "the G-stage is built with MXR set (stage2.hs_mxr)"
							      : "the G-stage is built with MXR clear (stage2.hs_mxr)",
					 err, errlen);
		return 0;
	case NW_TRACE_HSTATUS:
		s->hstatus = v; /* VTVM decides what an SFENCE.VMA in VS-mode does */
		return 0;
	case NW_TRACE_MENVCFG:
		if ((v & ENVCFG_WALK_BITS) != menvcfg)
			return refuse_hs("menvcfg", v, "ADUE and PBMTE differ from the scenario's stage2.adue and pbmt",
					 err, errlen);
		return 0;
	case NW_TRACE_HENVCFG:
		/* A VS-stage switch the scenario's menvcfg or the hart lacks would read as zero or be reserved. */
		if ((v & ENVCFG_WALK_BITS & ~menvcfg) || ((v & NW_RV_ENVCFG_ADUE) && !s->cpu.caps.svadu) ||
		    ((v & NW_RV_ENVCFG_PBMTE) && !s->cpu.caps.svpbmt))
			return refuse_hs("henvcfg", v, "ADUE or PBMTE set where menvcfg or the hart has it clear", err,
					 errlen);
		s->cpu.adue = (v & NW_RV_ENVCFG_ADUE) != 0;
		s->cpu.pbmte = (v & NW_RV_ENVCFG_PBMTE) != 0;
		return 0;
	case NW_TRACE_PRIV:
		s->cpu.vu = v == NW_TRACE_PRIV_VU;
		return 0;
	case NW_TRACE_HGATP:
		return write_hgatp(r, v, err, errlen);
	default:
		snprintf(err, errlen, "%s: not a register of a riscv64 machine", nw_trace_reg_name(w->reg));
		return -1;
	}
}

/* A fence operand as the trace writes it: x0, or the register's value. */
static const char *operand(bool x0, uint64_t value, char text[20])
{
	if (x0)
		return "x0";
	snprintf(text, 20, "0x%llx", (unsigned long long)value);
	return text;
}

int nw_replay_rv_fence(struct nw_replay *r, const struct nw_rvfence *f, char *err, size_t errlen)
{
	struct nw_replay_rv *s = r->rv;
	char rs1[20], rs2[20];
	const char *why;

	r->stats.fences++;
	/* SFENCE.VMA at V=1 traps as a virtual instruction in VU-mode, and in VS-mode when hstatus.VTVM=1. */
	if (f->op == NW_RVFENCE_SFENCE_VMA && (s->cpu.vu || (s->hstatus & HSTATUS_VTVM))) {
		snprintf(err, errlen,
			 "sfence.vma in %s raises a virtual-instruction exception (scause %d), not a fence; the trap "
			 "is not modelled",
			 s->cpu.vu ? "VU-mode" : "VS-mode with hstatus.VTVM=1", SCAUSE_VIRTUAL_INSTRUCTION);
		return -1;
	}
	if (nw_rvtlb_fence(&s->tlb, f) == NW_OK)
		return 0;
	why = nw_rvfence_refusal(&s->tlb, f);
	snprintf(err, errlen, "%s rs1=%s rs2=%s: %s", nw_rvfence_name(f->op), operand(f->rs1_x0, f->rs1, rs1),
		 operand(f->rs2_x0, f->rs2, rs2), why ? why : "refused by the TLB model");
	return -1;
}

static int check_access(const struct nw_replay *r, const struct nw_trace_access *ta, char *err, size_t errlen)
{
	(void)ta;
	if (!r->regs_refused)
		return 0;
	snprintf(err, errlen, "vsatp as written up to record %llu (0x%llx) is refused: %s",
		 (unsigned long long)r->regs_refused_record, (unsigned long long)r->rv->vsatp, r->regs_refused);
	return -1;
}

static void set_priv(struct nw_replay *r, unsigned priv)
{
	r->rv->cpu.vu = priv == NW_TRACE_PRIV_VU;
}

static bool is_bare(const struct nw_replay_rv *s)
{
	return s->cpu.vsatp.mode == NW_RV_SATP_BARE;
}

/* An entry is used only for the kind of access its walk allowed (type, VU, vsstatus.SUM and MXR: a bit each, 24
 * in all); for any other the tables decide, as a hart may walk again rather than fault on a TLB entry. */
static uint32_t access_class(const struct nw_replay_rv *s, const struct nw_access *a)
{
	unsigned mode = (s->cpu.vu ? 1u : 0u) | (s->cpu.sum ? 2u : 0u) | (s->cpu.mxr ? 4u : 0u);

	return UINT32_C(1) << ((unsigned)a->type * 8 + mode);
}

/* vsatp Bare: the guest virtual address is the guest-physical one, which G-stage-only entries translate;
 * otherwise combined entries. */
static unsigned entry_kind(const struct nw_replay_rv *s)
{
	return is_bare(s) ? NW_RVTLB_G : NW_RVTLB_VSG;
}

static bool lookup(struct nw_replay *r, const struct nw_access *a, struct nw_replay_result *out)
{
	struct nw_replay_rv *s = r->rv;
	struct nw_ttlb_hit hit;
	uint64_t offset;

	r->stats.tlb_lookups++;
	if (!nw_ttlb_lookup(&s->tlb.core, entry_kind(s), a->gva.val, &hit) || !(hit.entry->attrs & access_class(s, a)))
		return false;
	/* PMP is checked on the access itself, not cached with the page: bytes of one page may differ (a 4-byte NA4
	 * entry), so an access PMP refuses goes to the walk, which reports it. The walk's own PTE accesses were
	 * checked at the fill; the scenario's PMP is fixed for the trace, so they stay allowed. */
	if (!nw_rv_pmp_allows(&r->config.stage2.riscv->config.pmp, hit.out, a->size, a->type))
		return false;
	r->stats.tlb_hits++;
	offset = a->gva.val & (hit.entry->size - 1);
	*out = (struct nw_replay_result){
		.access = *a,
		.el = out->el,
		.kind = NW_TRACE_OUT_OK,
		.from_tlb = true,
		.gpa = is_bare(s) ? a->gva.val : hit.entry->mid + offset,
		.hpa = hit.out,
		.guest_page_size = s->page_size[hit.entry - s->entries],
	};
	return true;
}

static void walk(const struct nw_replay *r, const struct nw_access *a, unsigned flags, struct nw_walk_result *res)
{
	nw_rv_vs_walk(&r->config, &r->rv->cpu, a, flags, res);
}

/* The library level of a leaf of this size (1 the 4 KiB page, 2 a megapage, up). */
static uint8_t leaf_level(uint64_t size)
{
	uint8_t level = 1;

	for (uint64_t s = NW_PAGE_SIZE; s < size; s <<= 9)
		level++;
	return level;
}

/* Inserts the completed walk, keeping the access classes an entry of the same key and output already allows. */
static void fill(struct nw_replay *r, const struct nw_access *a, const struct nw_walk_result *res)
{
	struct nw_replay_rv *s = r->rv;
	uint64_t size = is_bare(s) || res->s2_page_size < res->guest_page_size ? res->s2_page_size
										 : res->guest_page_size;
	/* A VS-stage leaf with G set is global (no ASID tag); under Bare there is no VS-stage leaf. */
	bool global = !is_bare(s) && (res->leaf_entry & NW_RV_PTE_G);
	struct nw_rvtlb_fill f = {
		.kind = entry_kind(s),
		.addr = a->gva.val & ~(size - 1),
		.out = res->hpa.val & ~(size - 1),
		.size = size,
		.gpa = res->gpa.val & ~(size - 1),
		.level = leaf_level(size),
		.global = global,
		.attrs = access_class(s, a),
	};
	uint16_t asid = global || is_bare(s) ? 0 : s->tlb.core.asid;
	struct nw_ttlb_hit old;

	if (nw_ttlb_probe(&s->tlb.core, f.kind, s->tlb.core.vmid, asid, f.addr, &old) && old.entry->addr == f.addr &&
	    old.entry->size == f.size && old.entry->out == f.out && old.entry->mid == (is_bare(s) ? 0 : f.gpa) &&
	    old.entry->global == f.global)
		f.attrs |= old.entry->attrs;
	nw_rvtlb_insert(&s->tlb, &f);
	if (nw_ttlb_probe(&s->tlb.core, f.kind, s->tlb.core.vmid, asid, f.addr, &old))
		s->page_size[old.entry - s->entries] = res->guest_page_size;
}

static const struct nw_replay_arch riscv_ops = {
	.write_reg = write_reg,
	.check_access = check_access,
	.set_priv = set_priv,
	.lookup = lookup,
	.walk = walk,
	.fill = fill,
};
