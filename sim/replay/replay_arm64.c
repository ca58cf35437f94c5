/* Replay on an AArch64 machine (replay.h): the EL1&0 regime's registers as the trace writes them, each access
 * walked by nw_arm64_walk (stage 1 per SCTLR_EL1/TCR_EL1/TTBRn_EL1, through the scenario's stage 2 while
 * HCR_EL2.VM is set), and the TLB model of tlb_arm64.h: what it holds is used until the TLBI the Arm ARM makes
 * software issue for it (D8.13), so a missing TLBI shows the stale translation hardware may use. The record
 * loop, the split of an access into pieces and the lazy-page retries are the engine's (replay.c). */
#include <stdlib.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>

#include "replay/replay.h"

/* HCR_EL2 (Arm ARM D19): VM enables stage 2; FWB (FEAT_S2FWB) makes stage 2's MemAttr give the resulting
 * attributes, applied to the scenario's stage 2 (nw_arm64_s2_set_fwb). These change the EL1&0 translation in
 * ways the model does not follow: PTW (stage-1 walks to Device memory fault), DC (default cacheability: stage 1
 * off reads as on), TGE and E2H (the regime is no longer EL1&0 under stage 2). */
#define HCR_VM (UINT64_C(1) << 0)
#define HCR_PTW (UINT64_C(1) << 2)
#define HCR_DC (UINT64_C(1) << 12)
#define HCR_TGE (UINT64_C(1) << 27)
#define HCR_E2H (UINT64_C(1) << 34)
#define HCR_FWB (UINT64_C(1) << 46)
#define HCR_UNMODELLED (HCR_PTW | HCR_DC | HCR_TGE | HCR_E2H)
#define VTTBR_CNP UINT64_C(1) /* Common not Private: a sharing hint, no change to the translation */

static void decode_el1(struct nw_replay *r);
static bool is_stage2_on(const struct nw_replay_a64 *s);
static int write_reg(struct nw_replay *r, const struct nw_trace_regwrite *w, char *err, size_t errlen);
static const struct nw_replay_arch arm64_ops;

int nw_replay_a64_init(struct nw_replay *r, char *err, size_t errlen)
{
	const struct nw_replay_machine *m = r->machine;
	struct nw_replay_a64 *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "cannot set up the AArch64 TLB model (%zu bytes)", sizeof(*s));
		return -1;
	}
	r->a64 = s;
	r->arch = &arm64_ops;
	/* The PE the scenario's stage 2 was decoded for; stage 1 has every feature the library models. */
	s->caps = nw_arm64_s1_caps_all();
	s->caps.pa_bits = m->stage2.arm64->config.caps.pa_bits;
	/* The state the replay starts in: the scenario's guest (its EL1 registers and PSTATE, each 0 where it gives
	 * none: stage 1 off), its stage 2 on (HCR_EL2.VM=1) with its VMID, HCR_EL2.FWB as its stage2.fwb. */
	s->el1 = m->el1;
	s->vttbr = m->vttbr;
	s->hcr = HCR_VM | (m->stage2.arm64->config.fwb ? HCR_FWB : 0);
	s->no_s2 = r->config;
	s->no_s2.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_NONE };
	if (nw_a64tlb_init(&s->tlb, s->entries, sizeof(s->entries)) != NW_OK) {
		snprintf(err, errlen, "cannot set up the AArch64 TLB model");
		return -1;
	}
	write_reg(r, &(struct nw_trace_regwrite){ .reg = NW_TRACE_PSTATE, .value = m->pstate }, err,
				errlen);
	decode_el1(r); /* the scenario's loader took these registers: the library does */
	return 0;
}

void nw_replay_a64_fini(struct nw_replay *r)
{
	free(r->a64);
	r->a64 = NULL;
}

static uint16_t current_vmid(const struct nw_replay_a64 *s)
{
	return (uint16_t)(s->vttbr >> NW_TLBI_XT_ASID_SHIFT);
}

/* Stage 1 from the EL1 registers. With SCTLR_EL1.M clear nothing walks: the flat translation reads only TBI and
 * the PA size (Arm ARM D8.2, AArch64.S1DisabledOutput), so both ranges are read as not walking and their
 * granule and size fields, which may hold anything then, are not checked. */
static void decode_el1(struct nw_replay *r)
{
	struct nw_replay_a64 *s = r->a64;
	struct nw_arm64_el1_regs regs = s->el1;
	nw_status_t status;

	if (!(regs.sctlr & NW_SCTLR_M))
		regs.tcr |= NW_TCR_EPD0 | NW_TCR_EPD1;
	status = nw_arm64_s1_decode(&regs, &s->caps, &s->cpu.s1);
	if (status == NW_OK) {
		r->regs_refused = NULL;
		nw_a64tlb_load(&s->tlb, current_vmid(s), (uint16_t)s->cpu.s1.asid);
		return;
	}
	r->regs_refused = status == NW_ERR_INVALID
			     ? "a reserved encoding (TCR_EL1.IPS, TG0 or TG1) in a range that walks"
			     : "a control the model does not implement (nw_arm64_s1_decode: a granule "
			       "or TnSZ outside 16..39, TCR_EL1 HWU, TBID, E0PD or DS, SCTLR_EL1 A, EE or EPAN)";
	r->regs_refused_record = r->record;
	r->stats.refused_writes++;
}

/* The scenario's VMs' stage-2 tables are the ones a VTTBR_EL2 may name (nestwalk mappings --roots lists them): one
 * of them, with any VMID VTCR_EL2.VS allows, runs that VM from now on; the TLB model keeps every VMID's entries
 * (Arm ARM D8.13: a VMID change invalidates nothing). Other tables are not modelled. */
static int write_vttbr(struct nw_replay *r, uint64_t value, char *err, size_t errlen)
{
	struct nw_replay_a64 *s = r->a64;
	const struct nw_arm64_s2 *s2 = r->machine->stage2.arm64;
	unsigned vmid = (unsigned)(value >> 48) & (s2->config.vmid16 ? 0xffffu : 0xffu);
	struct nw_aspace *as;
	uint64_t same;

	for (size_t i = 0; (as = nw_replay_machine_vm(r->machine, i)); i++)
		if (nw_arm64_s2_vttbr(nw_aspace_stage2(as)->arm64, vmid, &same) == NW_OK &&
		    (value & ~VTTBR_CNP) == same) {
			nw_replay_use_vm(r, as);
			s->vttbr = value;
			nw_a64tlb_load(&s->tlb, (uint16_t)vmid, (uint16_t)s->cpu.s1.asid);
			return 0;
		}
	snprintf(err, errlen,
		 "vttbr_el2=0x%llx: names none of the scenario's stage-2 tables (the first VM's at 0x%llx; "
		 "'nestwalk mappings SCENARIO --roots' lists each VM's), or a VMID wider than %d bits "
		 "(VTCR_EL2.VS); other stage-2 tables are not modelled",
		 (unsigned long long)value, (unsigned long long)nw_arm64_s2_root(s2).val, s2->config.vmid16 ? 16 : 8);
	return -1;
}

static int write_reg(struct nw_replay *r, const struct nw_trace_regwrite *w, char *err, size_t errlen)
{
	struct nw_replay_a64 *s = r->a64;
	uint64_t v = w->value;

	switch (w->reg) {
	case NW_TRACE_SCTLR_EL1:
		s->el1.sctlr = v;
		break;
	case NW_TRACE_TCR_EL1:
		s->el1.tcr = v;
		break;
	case NW_TRACE_TTBR0_EL1:
		s->el1.ttbr0 = v;
		break;
	case NW_TRACE_TTBR1_EL1:
		s->el1.ttbr1 = v;
		break;
	case NW_TRACE_MAIR_EL1:
		s->el1.mair = v;
		return 0; /* attributes only: the walk does not read it */
	case NW_TRACE_PSTATE:
		s->cpu.el0 = (v & NW_TRACE_PSTATE_EL) == 0;
		s->cpu.pan = (v & NW_TRACE_PSTATE_PAN) != 0;
		s->cpu.uao = (v & NW_TRACE_PSTATE_UAO) != 0;
		return 0;
	case NW_TRACE_VTTBR_EL2:
		return write_vttbr(r, v, err, errlen);
	case NW_TRACE_VTCR_EL2:
		if (v == r->machine->vtcr)
			return 0;
		snprintf(err, errlen,
			 "vtcr_el2=0x%llx: the scenario's stage 2 is built for VTCR_EL2 0x%llx; another "
			 "stage-2 geometry is not modelled",
			 (unsigned long long)v, (unsigned long long)r->machine->vtcr);
		return -1;
	case NW_TRACE_HCR_EL2:
		if (v & HCR_UNMODELLED) {
			snprintf(err, errlen,
				 "hcr_el2=0x%llx: PTW, DC, TGE and E2H change the EL1&0 translation "
				 "and are not modelled",
				 (unsigned long long)v);
			return -1;
		}
		if (nw_arm64_s2_set_fwb(r->machine->stage2.arm64, (v & HCR_FWB) != 0) != NW_OK) {
			snprintf(err, errlen, "hcr_el2=0x%llx: FWB (bit 46) and the modelled PE lacks FEAT_S2FWB",
				 (unsigned long long)v);
			return -1;
		}
		s->hcr = v;
		return 0;
	default:
		snprintf(err, errlen, "%s: not a register of an aarch64 machine", nw_trace_reg_name(w->reg));
		return -1;
	}
	decode_el1(r);
	return 0;
}

int nw_replay_a64_tlbi(struct nw_replay *r, const struct nw_trace_tlbi *t, char *err, size_t errlen)
{
	r->stats.tlbis++;
	if (nw_a64tlb_tlbi(&r->a64->tlb, t->op, t->xt) == NW_OK)
		return 0;
	snprintf(err, errlen, "tlbi %s xt=0x%llx: %s", nw_tlbi_name(t->op), (unsigned long long)t->xt,
		 nw_tlbi_refusal(t->op, t->xt));
	return -1;
}

/* The range bit 55 of the VA selects (Arm ARM D8.2): 0 TTBR0_EL1's, 1 TTBR1_EL1's. */
#define VA_RANGE_BIT 55

static int check_access(const struct nw_replay *r, const struct nw_trace_access *ta, char *err, size_t errlen)
{
	const struct nw_replay_a64 *s = r->a64;
	const struct nw_arm64_s1_range *range = &s->cpu.s1.range[(ta->gva.val >> VA_RANGE_BIT) & 1];
	uint64_t last = ta->gva.val + ta->size - 1;
	/* The page the access is translated by: stage 1's, or with stage 1 off stage 2's (the IPA is the VA). */
	unsigned granule = s->cpu.s1.enabled ? (range->walks ? range->granule_bits : NW_PAGE_SHIFT)
			   : is_stage2_on(s) ? r->machine->stage2.arm64->config.granule_bits
					     : NW_PAGE_SHIFT;
	/* Two 4 KiB pieces of one granule page: hardware translates it once, the engine's split twice. */
	bool crosses = (ta->gva.val ^ last) >> NW_PAGE_SHIFT && !((ta->gva.val ^ last) >> granule);

	if (!r->regs_refused && crosses) {
		snprintf(err, errlen,
			 "access of %u byte(s) at va 0x%llx crosses a 4 KiB boundary inside a %u KiB "
			 "page: replay splits accesses at 4 KiB, so this is not modelled",
			 ta->size, (unsigned long long)ta->gva.val, 1u << (granule - 10));
		return -1;
	}
	if (!r->regs_refused)
		return 0;
	snprintf(err, errlen,
		 "the EL1 registers as written up to record %llu (sctlr_el1=0x%llx tcr_el1=0x%llx) "
		 "are refused: %s",
		 (unsigned long long)r->regs_refused_record, (unsigned long long)s->el1.sctlr,
		 (unsigned long long)s->el1.tcr, r->regs_refused);
	return -1;
}

static void set_el(struct nw_replay *r, unsigned el)
{
	r->a64->cpu.el0 = el == 0;
}

static bool is_stage2_on(const struct nw_replay_a64 *s)
{
	return (s->hcr & HCR_VM) != 0;
}

/* An entry is used only for the kind of access its walk allowed (type, EL, LDTR/STTR, PAN, UAO: a bit each,
 * 27 in all): for any other the tables decide, as a PE may walk again rather than fault on a TLB entry. */
static uint32_t access_class(const struct nw_replay_a64 *s, const struct nw_access *a)
{
	unsigned mode = s->cpu.el0 ? 0
				   : 1 + (a->unprivileged ? 1u : 0u) + (s->cpu.pan ? 2u : 0u) + (s->cpu.uao ? 4u : 0u);

	return UINT32_C(1) << ((unsigned)a->type * 9 + mode);
}

static void hit_result(const struct nw_a64tlb_hit *hit, uint64_t ipa, uint64_t guest_page_size,
		       struct nw_replay_result *out)
{
	out->kind = NW_TRACE_OUT_OK;
	out->from_tlb = true;
	out->cache = NW_TLB_4K; /* unused: the report names the AArch64 TLB */
	out->gpa = ipa;
	out->hpa = hit->out;
	out->error_code = out->exit_qualification = out->fault_gpa = 0;
	out->esr = out->far = out->hpfar = 0;
	out->refs = 0;
	out->guest_page_size = guest_page_size;
	out->s2_page_size = 0;
	out->misconfig_level = 0;
	out->gla_valid = false;
	out->reg_write = false;
}

/* Stage 1 off: the flat IPA of a VA (AArch64.S1DisabledOutput), false when bits above the PA size make it an
 * Address size fault, which the walk reports. */
static bool flat_ipa(const struct nw_replay_a64 *s, uint64_t va, uint64_t *ipa)
{
	*ipa = va;
	return (va >> s->caps.pa_bits) == 0;
}

static bool lookup(struct nw_replay *r, const struct nw_access *a, struct nw_replay_result *out)
{
	struct nw_replay_a64 *s = r->a64;
	uint32_t class = access_class(s, a);
	struct nw_a64tlb_hit hit;
	uint64_t ipa;

	r->stats.tlb_lookups++;
	if (nw_a64tlb_lookup(&s->tlb, is_stage2_on(s) ? NW_A64TLB_S12 : NW_A64TLB_S1, a->gva.val, &hit) &&
	    (hit.entry->attrs & class) && s->side[hit.entry - s->entries].flat == !s->cpu.s1.enabled) {
		const struct nw_replay_a64tlb_side *side = &s->side[hit.entry - s->entries];

		hit_result(&hit, side->ipa | (a->gva.val & (hit.entry->size - 1)), side->guest_page_size, out);
		r->stats.tlb_hits++;
		return true;
	}
	/* Stage 1 off, the IPA is the VA: a stage-2 entry translates it (the walk would use it). */
	if (s->cpu.s1.enabled || !is_stage2_on(s) || !flat_ipa(s, a->gva.val, &ipa))
		return false;
	r->stats.psc_lookups++;
	if (!nw_a64tlb_lookup(&s->tlb, NW_A64TLB_S2, ipa, &hit) || !(hit.entry->attrs & class))
		return false;
	r->stats.psc_hits++;
	hit_result(&hit, ipa, NW_PAGE_SIZE, out);
	return true;
}

/* flags: the engine's recording flags, or NW_WALK_LOOKUP | NW_WALK_RECORD for an explanation. */
static void walk(const struct nw_replay *r, const struct nw_access *a, unsigned flags, struct nw_walk_result *res)
{
	const struct nw_replay_a64 *s = r->a64;

	nw_arm64_walk(is_stage2_on(s) ? &r->config : &s->no_s2, &s->cpu, a, flags, res);
}

/* The Arm ARM lookup level of a leaf of this size: 3 a page of any granule (4, 16 or 64 KiB), 2 a block of 2,
 * 32 or 512 MiB, 1 a 1 GiB block (the 4 KiB granule's). */
static uint8_t leaf_level(uint64_t size)
{
	return size >= NW_SIZE_1G ? 1 : size >= NW_SIZE_2M ? 2 : 3;
}

/* Inserts fill, keeping the access classes an entry of the same key and output already allows. */
static void insert(struct nw_replay_a64 *s, struct nw_a64tlb_fill *fill, uint64_t ipa, uint64_t guest_page_size)
{
	uint16_t asid = fill->global || fill->kind == NW_A64TLB_S2 ? 0 : s->tlb.asid;
	struct nw_a64tlb_hit old;

	if (nw_a64tlb_probe(&s->tlb, fill->kind, s->tlb.vmid, asid, fill->addr, &old) &&
	    old.entry->addr == fill->addr && old.entry->size == fill->size && old.entry->out == fill->out &&
	    old.entry->global == fill->global && s->side[old.entry - s->entries].flat == !s->cpu.s1.enabled)
		fill->attrs |= old.entry->attrs;
	nw_a64tlb_insert(&s->tlb, fill);
	if (nw_a64tlb_probe(&s->tlb, fill->kind, s->tlb.vmid, asid, fill->addr, &old))
		s->side[old.entry - s->entries] = (struct nw_replay_a64tlb_side){ ipa, guest_page_size,
										  !s->cpu.s1.enabled };
}

static void fill(struct nw_replay *r, const struct nw_access *a, const struct nw_walk_result *res)
{
	struct nw_replay_a64 *s = r->a64;
	bool s2 = is_stage2_on(s);
	uint64_t size = s2 && res->s2_page_size < res->guest_page_size ? res->s2_page_size : res->guest_page_size;
	uint32_t class = access_class(s, a);
	/* A stage-1 leaf with nG=0 is global; with stage 1 off there is no ASID to tag by. */
	bool global = !s->cpu.s1.enabled || !(res->leaf_entry & NW_ARM64_S1_NG);
	struct nw_a64tlb_fill fill = {
		.kind = s2 ? NW_A64TLB_S12 : NW_A64TLB_S1,
		.addr = a->gva.val & ~(size - 1),
		.out = res->hpa.val & ~(size - 1),
		.size = size,
		.level = leaf_level(size),
		.global = global,
		.attrs = class,
	};

	insert(s, &fill, res->gpa.val & ~(size - 1), res->guest_page_size);
	if (!s2)
		return;
	/* The final IPA's stage-2 translation, which IPAS2E1 drops and VMALLE1 leaves. */
	fill = (struct nw_a64tlb_fill){
		.kind = NW_A64TLB_S2,
		.addr = res->gpa.val & ~(res->s2_page_size - 1),
		.out = res->hpa.val & ~(res->s2_page_size - 1),
		.size = res->s2_page_size,
		.level = leaf_level(res->s2_page_size),
		.attrs = class,
	};
	insert(s, &fill, fill.addr, res->s2_page_size);
}

static const struct nw_replay_arch arm64_ops = {
	.write_reg = write_reg,
	.check_access = check_access,
	.set_priv = set_el,
	.lookup = lookup,
	.walk = walk,
	.fill = fill,
};
