/* A riscv64 scenario's G-stage (scenario_arm64.h, scenarios/README.md): hgatp.MODE as format (sv39x4, sv48x4 or
 * sv57x4) or hgatp as written, never both; the VMID (the vmid key or hgatp's); and the switches the privileged spec
 * leaves to the platform, each asked where it changes an answer:
 * - adue (menvcfg.ADUE: Svadu when true, Svade when false): the regions' leaves have A and D set, so only an edit
 *   clearing A or D makes the choice visible;
 * - pbmt (menvcfg.PBMTE): a device or uncached region's leaf is PBMT IO or NC with it, the platform's PMA without,
 *   and PBMT bits an edit writes are a memory type or reserved;
 * - napot (Svnapot): an N bit an edit sets is a 64 KiB page or reserved;
 * - hs_mxr (the HS-level sstatus.MXR): a load from an execute-only page (a region with exec and no read, or an edit
 *   taking R away or giving X) succeeds or faults.
 * With the VS-stage walking (a paged vsatp in cpu), hs_mxr and napot are asked too: the walk reads them for every
 * guest PTE. Where none can matter the switch is off and nothing reports it. The model: every mode, VMIDLEN 14
 * (the widest hgatp.VMID for HSXLEN 64), Svadu and Svpbmt present. */
#include <nestwalk/riscv_gstage.h>

#include "scenario/scenario_arm64.h"
#include "scenario/scenario_guest.h"

#define VMID_BITS 14

/* hgatp.MODE from hgatp as written, or refused at it. */
static int decode_hgatp(struct nw_scenario *sc, unsigned *mode, char *err, size_t errlen)
{
	const struct nw_scenario_riscv *rv = &sc->riscv;
	struct nw_rv_gstage_caps caps = nw_rv_gstage_caps_all();
	unsigned long long value = (unsigned long long)rv->hgatp;
	struct nw_rv_hgatp hgatp;
	nw_status_t status = nw_rv_hgatp_decode(rv->hgatp, &caps, &hgatp);

	if (status == NW_OK && hgatp.mode == NW_RV_HGATP_BARE)
		return nw_scenario_fail(sc, rv->hgatp_pos, err, errlen,
					"hgatp: 0x%llx: MODE Bare turns the G-stage off; a riscv64 scenario models "
					"Sv39x4, Sv48x4 or Sv57x4 (MODE 8, 9 or 10)",
					value);
	if (status == NW_ERR_INVALID)
		return nw_scenario_fail(sc, rv->hgatp_pos, err, errlen,
					"hgatp: 0x%llx: a reserved MODE (bits 63:60: 0 Bare, 8 Sv39x4, 9 Sv48x4, 10 "
					"Sv57x4), bits 59:58 set, or Bare with other fields set (the privileged spec: "
					"they must be zero)",
					value);
	if (status == NW_ERR_ALIGN || (status == NW_OK && hgatp.root))
		return nw_scenario_fail(sc, rv->hgatp_pos, err, errlen,
					"hgatp: 0x%llx: PPN 0x%llx names the root table, which the simulator places in "
					"its host memory: give PPN 0 (a scenario's hgatp is its MODE and VMID)",
					value, value & NW_RV_HGATP_PPN_MASK);
	if (status != NW_OK)
		return nw_scenario_fail(sc, rv->hgatp_pos, err, errlen, "hgatp: 0x%llx: %s", value,
					nw_status_name(status));
	if (sc->vmid_pos.line)
		return nw_scenario_fail(sc, sc->vmid_pos, err, errlen,
					"vmid: hgatp (%d:%d) gives the VMID already (bits 57:44): give one",
					rv->hgatp_pos.line, rv->hgatp_pos.column);
	*mode = hgatp.mode;
	sc->vmid = hgatp.vmid;
	return 0;
}

/* The mode from format or hgatp, exactly one of them. */
static int decode_mode(struct nw_scenario *sc, unsigned *mode, char *err, size_t errlen)
{
	const struct nw_scenario_riscv *rv = &sc->riscv;

	if (sc->format_pos.line && sc->stage2.format != NW_STAGE2_RISCV)
		return nw_scenario_fail(sc, sc->format_pos, err, errlen,
					"format: a riscv64 scenario's G-stage is sv39x4, sv48x4 or sv57x4");
	if (sc->format_pos.line && rv->hgatp_pos.line)
		return nw_scenario_fail(sc, rv->hgatp_pos, err, errlen,
					"give hgatp.MODE as format (%d:%d) or in hgatp, not both", sc->format_pos.line,
					sc->format_pos.column);
	if (rv->hgatp_pos.line)
		return decode_hgatp(sc, mode, err, errlen);
	if (!sc->format_pos.line)
		return nw_scenario_fail(sc, sc->stage2_pos.line ? sc->stage2_pos : (struct nw_scenario_pos){ 1, 1 },
					err, errlen,
					"stage2: a riscv64 scenario names its G-stage mode: format sv39x4, sv48x4 or "
					"sv57x4, or hgatp");
	*mode = rv->mode;
	if (sc->vmid >> VMID_BITS)
		return nw_scenario_fail(sc, sc->vmid_pos, err, errlen, "vmid: %llu does not fit hgatp.VMID (%d bits)",
					(unsigned long long)sc->vmid, VMID_BITS);
	return 0;
}

/* Where a switch changes an answer: the first place that makes it matter, line 0 where none does. */
static struct nw_scenario_pos edit_touching(const struct nw_scenario *sc, uint64_t clear, uint64_t set)
{
	for (size_t i = 0; i < sc->edit_count; i++)
		if ((sc->edits[i].clear & clear) || (sc->edits[i].set & set))
			return sc->edits[i].pos;
	return (struct nw_scenario_pos){ 0, 0 };
}

static struct nw_scenario_pos region_with(const struct nw_scenario *sc, uint32_t any, uint32_t without)
{
	for (size_t i = 0; i < sc->region_count; i++) {
		const struct nw_region *r = &sc->regions[i].region;

		if (r->type != NW_REGION_MMIO && (r->flags & any) && !(r->flags & without))
			return sc->regions[i].pos;
	}
	return (struct nw_scenario_pos){ 0, 0 };
}

/* A switch the input must give because of what at is, or 0. */
static int need_switch(struct nw_scenario *sc, struct nw_scenario_pos given, struct nw_scenario_pos at, const char *key,
		       const char *what, const char *because, char *err, size_t errlen)
{
	if (given.line || !at.line)
		return 0;
	return nw_scenario_fail(sc, sc->stage2_pos.line ? sc->stage2_pos : at, err, errlen,
				"stage2: give %s (%s): %s at %d:%d, and the privileged spec leaves it to the "
				"platform",
				key, what, because, at.line, at.column);
}

static int check_switches(struct nw_scenario *sc, char *err, size_t errlen)
{
	const struct nw_scenario_riscv *rv = &sc->riscv;
	struct nw_scenario_pos pbmt = region_with(sc, NW_REGION_DEVICE | NW_REGION_UNCACHED, 0),
			       mxr = region_with(sc, NW_REGION_EXEC, NW_REGION_READ);

	if (!pbmt.line)
		pbmt = edit_touching(sc, NW_RV_PTE_PBMT_MASK, NW_RV_PTE_PBMT_MASK);
	if (!mxr.line)
		mxr = edit_touching(sc, NW_RV_PTE_R, NW_RV_PTE_X);
	return need_switch(sc, rv->adue_pos, edit_touching(sc, NW_RV_PTE_A | NW_RV_PTE_D, 0), "adue",
			   "menvcfg.ADUE: true, Svadu, the walk sets A and D; false, Svade, it faults",
			   "an edit clears A or D", err, errlen) ||
	       need_switch(sc, rv->pbmt_pos, pbmt, "pbmt", "menvcfg.PBMTE: PBMT is a memory type, or reserved",
			   "a device or uncached region's PBMT, or an edit of PBMT", err, errlen) ||
	       need_switch(sc, rv->napot_pos, edit_touching(sc, 0, NW_RV_PTE_N), "napot",
			   "Svnapot: N makes a 64 KiB page, or is reserved", "an edit sets N", err, errlen) ||
	       need_switch(sc, rv->hs_mxr_pos, mxr, "hs_mxr",
			   "the HS-level sstatus.MXR: a load may read an execute-only page", "an execute-only page",
			   err, errlen);
}

/* The VS-stage state of the cpu section (riscv_vs.h): vsatp decoded, refused at its line; with a paged vsatp
 * the privilege, and the switches the VS-stage walk reads too (the HS-level sstatus.MXR, Svnapot for its N bits),
 * must be given. vsstatus gives SUM (bit 18) and MXR (bit 19), henvcfg ADUE (bit 61) and PBMTE (bit 62); their
 * other bits change no translation. */
static int decode_vs(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_scenario_riscv *rv = &sc->riscv;
	struct nw_rv_vs_cpu *vs = &rv->vs;
	struct nw_scenario_pos at = sc->cpu_pos.line ? sc->cpu_pos : (struct nw_scenario_pos){ 1, 1 };
	nw_status_t status;

	*vs = (struct nw_rv_vs_cpu){ .vu = rv->privilege == 1,
				     .sum = (rv->vsstatus & NW_RV_SSTATUS_SUM) != 0,
				     .mxr = (rv->vsstatus & NW_RV_SSTATUS_MXR) != 0,
				     .hs_mxr = rv->hs_mxr,
				     .adue = (rv->henvcfg & NW_RV_ENVCFG_ADUE) != 0,
				     .pbmte = (rv->henvcfg & NW_RV_ENVCFG_PBMTE) != 0,
				     .caps = nw_rv_vs_caps_all() };
	vs->caps.svnapot = rv->napot;
	status = nw_rv_vsatp_decode(rv->vsatp, &vs->caps, &vs->vsatp);
	if (status != NW_OK)
		return nw_scenario_fail(
			sc, rv->vsatp_pos, err, errlen,
			"vsatp: 0x%llx: %s (MODE bits 63:60: 0 Bare, 8 Sv39, 9 Sv48, 10 Sv57, the others "
			"reserved; Bare with other fields set is refused)",
			(unsigned long long)rv->vsatp,
			status == NW_ERR_INVALID ? "a reserved MODE or Bare with fields set" : nw_status_name(status));
	if (vs->vsatp.mode == NW_RV_SATP_BARE)
		return 0;
	if (!rv->privilege_pos.line)
		return nw_scenario_fail(sc, rv->vsatp_pos, err, errlen,
					"vsatp: the VS-stage walks, so give cpu.privilege (vs or vu): the U rules "
					"depend on it");
	return need_switch(sc, rv->hs_mxr_pos, at, "hs_mxr",
			   "the HS-level sstatus.MXR, which the VS-stage walk reads too", "the VS-stage walks (cpu)",
			   err, errlen) ||
	       need_switch(sc, rv->napot_pos, at, "napot", "Svnapot: N in a VS-stage PTE", "the VS-stage walks (cpu)",
			   err, errlen);
}

/* The PMP with mseccfg: MML (Smepmp) gives R=0 with W=1 a meaning; without it the encoding is reserved. */
static int check_pmp(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_scenario_riscv *rv = &sc->riscv;

	if (rv->mseccfg_pos.line && !rv->pmp_pos.line)
		return nw_scenario_fail(sc, rv->mseccfg_pos, err, errlen,
					"mseccfg: Smepmp's configuration of a PMP, and the scenario gives no pmp");
	rv->pmp.mml = (rv->mseccfg & 1) != 0;
	for (unsigned i = 0; i < rv->pmp.count; i++)
		if (!rv->pmp.mml && (rv->pmp.cfg[i] & (NW_RV_PMPCFG_R | NW_RV_PMPCFG_W)) == NW_RV_PMPCFG_W)
			return nw_scenario_fail(sc, rv->pmp_entry_pos[i], err, errlen,
						"pmp: cfg %#x: R=0 with W=1 is reserved (the privileged spec) unless "
						"mseccfg.MML (Smepmp) is set",
						rv->pmp.cfg[i]);
	return 0;
}

int nw_scenario_check_riscv(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_rv_gstage_config *cfg = &sc->stage2.riscv;
	const struct nw_scenario_riscv *rv = &sc->riscv;
	unsigned mode = 0, levels;

	if (nw_scenario_check_guest_writes(sc, err, errlen))
		return -1;
	if (sc->x86_cpu_pos.line)
		return nw_scenario_fail(sc, sc->x86_cpu_pos, err, errlen,
					"an x86 cpu key: a riscv64 scenario's cpu takes vsatp, vsstatus, henvcfg and "
					"privilege");
	if (decode_mode(sc, &mode, err, errlen) || check_switches(sc, err, errlen) || decode_vs(sc, err, errlen) ||
	    check_pmp(sc, err, errlen))
		return -1;
	levels = mode - NW_RV_HGATP_SV39X4 + 3;
	for (size_t i = 0; i < sc->edit_count; i++) {
		if ((unsigned)sc->edits[i].level >= levels)
			return nw_scenario_fail(sc, sc->edits[i].level_pos, err, errlen,
						"level: the privileged spec's levels of Sv%ux4 are 0 (the 4 KiB page's "
						"PTE) to %u (the root)",
						39 + 9 * (levels - 3), levels - 1);
		sc->edits[i].table_level = sc->edits[i].level + 1;
	}
	sc->stage2.format = NW_STAGE2_RISCV;
	*cfg = (struct nw_rv_gstage_config){
		.mode = mode, .adue = rv->adue, .pbmte = rv->pbmt, .mxr = rv->hs_mxr, .caps = nw_rv_gstage_caps_all()
	};
	cfg->caps.vmid_bits = VMID_BITS;
	cfg->caps.svnapot = rv->napot;
	cfg->pmp = rv->pmp; /* each entry checked at its line (check_pmp); granularity 0 */
	return 0;
}
