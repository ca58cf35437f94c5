/* The architecture of a scenario and its AArch64 stage 2 (scenario_arm64.h). The stage 2 is VTCR_EL2 as
 * written (stage2.vtcr) or the friendly keys: ipa_bits (T0SZ = 64 - ipa_bits), granule (TG0: 4K, 16K or 64K)
 * and start_level (SL0 = 2 - start_level with 4 KiB, 3 - start_level with 16 and 64 KiB, Arm ARM D19 VTCR_EL2;
 * by default level 1 with 4 KiB, else the level that needs no concatenated table), with PS the model's PA size
 * (48 bits), inner and outer
 * Write-Back Inner Shareable table walks; without any of them 0x80023558. The model: every feature of
 * nw_arm64_s2_caps_all (48-bit PAs, FEAT_XNX, FEAT_HAFDBS, 16-bit VMIDs). */
#include <string.h>

#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s2.h>

#include "scenario/scenario_arm64.h"
#include "scenario/scenario_guest.h"
#include "scenario/scenario_keys.h"

#define DEFAULT_VTCR UINT64_C(0x80023558) /* 40-bit IPA, start at level 1 (two concatenated tables), PS 40 bits */
#define VTCR_WALK_ATTRS UINT64_C(0x3500)  /* SH0 0b11, ORGN0 0b01, IRGN0 0b01 */
#define PS_48 UINT64_C(5)

static int check_x86(struct nw_scenario *sc, char *err, size_t errlen)
{
	if (sc->stage2.format == NW_STAGE2_ARM64 || sc->stage2.format == NW_STAGE2_RISCV)
		return nw_scenario_fail(sc, sc->format_pos, err, errlen,
					"format: %s, and the scenario is x86_64 (give arch: %s)",
					sc->stage2.format == NW_STAGE2_ARM64 ? "arm64 is the AArch64 stage 2"
									     : "a RISC-V G-stage mode",
					sc->stage2.format == NW_STAGE2_ARM64 ? "aarch64" : "riscv64");
	for (size_t i = 0; i < sc->edit_count; i++)
		if (sc->edits[i].level < 1)
			return nw_scenario_fail(sc, sc->edits[i].level_pos, err, errlen,
						"level: levels are 1 (PT) to 5");
	return 0;
}

/* What an aarch64 or riscv64 scenario cannot have yet: guest.mappings and page_table_region build x86 tables (an
 * AArch64 guest's stage-1 tables are given as guest.writes), and ELF images and memory dumps are x86 machines'.
 * A trace it may name: replay reads it as the machine's architecture. */
int nw_scenario_check_guest_writes(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_scenario_pos pos = sc->mapping_count ? sc->mappings[0].pos : sc->pt_region_pos;

	if (!pos.line)
		pos = sc->elf_image_pos.line ? sc->elf_image_pos : sc->memory_dump_pos;
	if (pos.line)
		return nw_scenario_fail(sc, pos, err, errlen,
					"%s scenario gives its guest's %s as guest.writes (words at their "
					"guest-physical addresses): guest.mappings, guest.page_table_region, "
					"guest.elf_image and guest.memory_dump are not modelled for it yet",
					sc->arch == NW_SCENARIO_AARCH64 ? "an aarch64" : "a riscv64",
					sc->arch == NW_SCENARIO_AARCH64 ? "stage-1 tables" : "memory");
	return 0;
}

/* PSTATE in SPSR_EL2's layout (Arm ARM C5.2, SPSR_EL2 for an exception taken from AArch64): NZCV, DAIF
 * (neither changes a translation), PAN (bit 22, FEAT_PAN), UAO (bit 23, FEAT_UAO) and M[3:0], EL0t 0b0000,
 * EL1t 0b0100 or EL1h 0b0101: the Exception levels of the EL1&0 regime. */
#define PSTATE_NZCV UINT64_C(0xf0000000)
#define PSTATE_UAO (UINT64_C(1) << 23)
#define PSTATE_PAN (UINT64_C(1) << 22)
#define PSTATE_DAIF UINT64_C(0x3c0)
#define PSTATE_M UINT64_C(0x1f) /* M[4] 1 is AArch32 */
#define PSTATE_EL_SHIFT 2

static int decode_pstate(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_scenario_arm64 *a = &sc->arm64;
	uint64_t m = a->pstate & PSTATE_M, other = a->pstate & ~(PSTATE_NZCV | PSTATE_UAO | PSTATE_PAN | PSTATE_DAIF |
								 PSTATE_M);

	if (other)
		return nw_scenario_fail(sc, a->pstate_pos, err, errlen,
					"pstate: 0x%llx: bits 0x%llx are not modelled (PSTATE in SPSR_EL2's layout "
					"takes NZCV, DAIF, PAN bit 22, UAO bit 23 and M[4:0])",
					(unsigned long long)a->pstate, (unsigned long long)other);
	if (m != 0 && m != 4 && m != 5)
		return nw_scenario_fail(sc, a->pstate_pos, err, errlen,
					"pstate: M[4:0] 0x%llx is not EL0t (0b00000), EL1t (0b00100) or EL1h "
					"(0b00101): AArch32, EL2, EL3 or reserved, outside the EL1&0 regime",
					(unsigned long long)m);
	a->el0 = (m >> PSTATE_EL_SHIFT) == 0;
	a->pan = (a->pstate & PSTATE_PAN) != 0;
	a->uao = (a->pstate & PSTATE_UAO) != 0;
	return 0;
}

/* The EL1 registers decoded by the library (nw_arm64_s1_decode), refused at the register at fault. */
static int decode_el1(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_scenario_arm64 *a = &sc->arm64;
	const struct nw_arm64_el1_regs regs = { .sctlr = a->sctlr_el1, .tcr = a->tcr_el1, .ttbr0 = a->ttbr0_el1,
						.ttbr1 = a->ttbr1_el1, .mair = a->mair_el1 };
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_scenario_pos at = sc->cpu_pos.line ? sc->cpu_pos : (struct nw_scenario_pos){ 1, 1 };
	struct nw_scenario_pos sctlr = a->sctlr_el1_pos.line ? a->sctlr_el1_pos : at;
	struct nw_scenario_pos tcr = a->tcr_el1_pos.line ? a->tcr_el1_pos : at;
	nw_status_t status;

	if (a->sctlr_el1 & NW_SCTLR_A)
		return nw_scenario_fail(sc, sctlr, err, errlen,
					"sctlr_el1: 0x%llx: A (bit 1, alignment checking) is not modelled",
					(unsigned long long)a->sctlr_el1);
	if (a->sctlr_el1 & NW_SCTLR_EE)
		return nw_scenario_fail(sc, sctlr, err, errlen,
					"sctlr_el1: 0x%llx: EE (bit 25, big-endian stage-1 descriptors) is not modelled",
					(unsigned long long)a->sctlr_el1);
	status = nw_arm64_s1_decode(&regs, &caps, &a->s1);
	if (status == NW_ERR_UNSUPPORTED && (a->sctlr_el1 & NW_SCTLR_EPAN))
		return nw_scenario_fail(sc, sctlr, err, errlen,
					"sctlr_el1: 0x%llx: EPAN (bit 57, FEAT_PAN3) is not modelled",
					(unsigned long long)a->sctlr_el1);
	if (status == NW_ERR_INVALID)
		return nw_scenario_fail(sc, tcr, err, errlen,
					"tcr_el1: 0x%llx: a reserved encoding (Arm ARM D19 TCR_EL1: IPS 0b111, TG0 0b11"
					" or TG1 0b00 in a range that walks)",
					(unsigned long long)a->tcr_el1);
	if (status != NW_OK)
		return nw_scenario_fail(sc, tcr, err, errlen,
					"tcr_el1: 0x%llx asks what is not modelled (with SCTLR_EL1.M set: T0SZ or T1SZ "
					"outside 16..39 in a range that walks; HWU, TBID0/1, E0PD0/1 or DS set)",
					(unsigned long long)a->tcr_el1);
	return decode_pstate(sc, err, errlen);
}

/* VTCR_EL2.TG0 of a granule (0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB) and its log2 size; -1 for another size. */
static int granule_tg0(uint64_t granule, unsigned *bits)
{
	*bits = granule == 0x1000 ? 12 : granule == 0x4000 ? 14 : granule == 0x10000 ? 16 : 0;
	return granule == 0x1000 ? 0 : granule == 0x10000 ? 1 : granule == 0x4000 ? 2 : -1;
}

/* The start level a walk of ipa_bits needs without concatenated tables (Arm ARM D8.2: each level resolves
 * granule_bits - 3 bits above the page's). */
static uint64_t unconcatenated_start(unsigned granule_bits, uint64_t ipa_bits)
{
	uint64_t stride = granule_bits - 3;

	return 4 - (ipa_bits - granule_bits + stride - 1) / stride;
}

/* VTCR_EL2 from the friendly keys, or refused naming the key. SL0 per AArch64.S2StartLevel: 2 - start_level
 * with the 4 KiB granule, 3 - start_level with 16 and 64 KiB. */
static int friendly_vtcr(struct nw_scenario *sc, uint64_t *vtcr, char *err, size_t errlen)
{
	const struct nw_scenario_arm64 *a = &sc->arm64;
	unsigned granule_bits = 12;
	int tg0 = a->granule_pos.line ? granule_tg0(a->granule, &granule_bits) : 0;
	uint64_t ipa_bits = a->ipa_bits_pos.line ? a->ipa_bits : 40, start, lowest = granule_bits == 12 ? 2 : 3;

	if (tg0 < 0)
		return nw_scenario_fail(sc, a->granule_pos, err, errlen, "granule: 4K, 16K or 64K");
	if (ipa_bits < 25 || ipa_bits > 48)
		return nw_scenario_fail(sc, a->ipa_bits_pos, err, errlen,
					"ipa_bits: 25 to 48 (T0SZ 16 to 39; 52-bit IPAs are FEAT_LPA's, not modelled)");
	start = a->start_level_pos.line ? a->start_level
		: granule_bits == 12    ? 1
					: unconcatenated_start(granule_bits, ipa_bits);
	if (granule_bits == 12 && start == 3)
		return nw_scenario_fail(
			sc, a->start_level_pos, err, errlen,
			"start_level: a walk starting at level 3 with the 4 KiB granule (SL0 3, FEAT_TTST) "
			"is not modelled");
	if (granule_bits != 12 && start == 0)
		return nw_scenario_fail(sc, a->start_level_pos.line ? a->start_level_pos : a->ipa_bits_pos, err, errlen,
					"start_level: level 0 with the %s KiB granule %s; give start_level 1 to 3",
					granule_bits == 14 ? "16" : "64",
					granule_bits == 14 ? "needs FEAT_LPA2 (VTCR_EL2.DS), not modelled"
							   : "does not exist without FEAT_LPA2");
	if (start > lowest)
		return nw_scenario_fail(sc, a->start_level_pos, err, errlen, "start_level: %s",
					granule_bits == 12 ? "0, 1 or 2" : "1, 2 or 3");
	*vtcr = NW_VTCR_RES1 | PS_48 << NW_VTCR_PS_SHIFT | VTCR_WALK_ATTRS | (uint64_t)tg0 << NW_VTCR_TG0_SHIFT |
		(lowest - start) << NW_VTCR_SL0_SHIFT | (64 - ipa_bits);
	return 0;
}

/* stage2.fwb: HCR_EL2.FWB (bit 46), FEAT_S2FWB's: the stage-2 MemAttr then gives the resulting attributes
 * (AArch64.S2ApplyFWBMemAttrs), set before any descriptor is built (with FWB no MemAttr is reserved). A PE
 * without FEAT_S2FWB has the bit RES0: refused. */
static int apply_fwb(struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_arm64_s2_config *cfg = &sc->stage2.arm64;

	if (!sc->arm64.fwb)
		return 0;
	if (!cfg->caps.s2fwb)
		return nw_scenario_fail(sc, sc->arm64.fwb_pos, err, errlen,
					"fwb: the modelled PE lacks FEAT_S2FWB (HCR_EL2.FWB is RES0)");
	cfg->fwb = true;
	return 0;
}

static int decode(struct nw_scenario *sc, char *err, size_t errlen)
{
	const struct nw_scenario_arm64 *a = &sc->arm64;
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_scenario_pos pos = a->vtcr_pos.line          ? a->vtcr_pos
				     : a->ipa_bits_pos.line    ? a->ipa_bits_pos
				     : a->granule_pos.line     ? a->granule_pos
				     : a->start_level_pos.line ? a->start_level_pos
							       : sc->stage2_pos;
	const char *given = a->vtcr_pos.line ? "vtcr" : "ipa_bits, granule and start_level";
	uint64_t vtcr = a->vtcr_pos.line ? a->vtcr : DEFAULT_VTCR;
	nw_status_t status;

	if (!pos.line)
		pos = (struct nw_scenario_pos){ 1, 1 };
	if (!a->vtcr_pos.line && (a->ipa_bits_pos.line || a->granule_pos.line || a->start_level_pos.line) &&
	    friendly_vtcr(sc, &vtcr, err, errlen))
		return -1;
	status = nw_arm64_vtcr_decode(vtcr, &caps, &sc->stage2.arm64);
	if (status == NW_ERR_UNSUPPORTED)
		return nw_scenario_fail(sc, pos, err, errlen,
					"%s: VTCR_EL2 0x%llx asks what is not modelled (SL0 3 with the 4 KiB granule, "
					"FEAT_TTST; or a bit other than T0SZ, SL0, IRGN0, ORGN0, SH0, TG0, PS, VS, HA, HD "
					"and RES1 bit 31: bits 0x%llx)",
					given, (unsigned long long)vtcr, (unsigned long long)(vtcr & ~NW_VTCR_MODELLED));
	if (status != NW_OK)
		return nw_scenario_fail(
			sc, pos, err, errlen,
			"%s: VTCR_EL2 0x%llx is not a valid configuration (Arm ARM D19 VTCR_EL2: RES1 bit 31, a PS "
			"encoding, TG0 not 0b11, an IPA size within the PA size, and a start level (SL0, read per "
			"granule) that resolves at least one bit and at most 16 concatenated tables for T0SZ and that "
			"AArch64.S2InvalidSL allows: no level 0 with 16 or 64 KiB)",
			given, (unsigned long long)vtcr);
	if (apply_fwb(sc, err, errlen))
		return -1;
	sc->stage2.format = NW_STAGE2_ARM64;
	sc->arm64.vtcr = vtcr; /* the one in force, given or made (hw run's image writes it) */
	return 0;
}

static int check_aarch64(struct nw_scenario *sc, char *err, size_t errlen)
{
	const struct nw_scenario_arm64 *a = &sc->arm64;
	const struct nw_arm64_s2_config *cfg = &sc->stage2.arm64;
	uint64_t host = sc->host_memory ? sc->host_memory : UINT64_C(4) << 30;

	if (sc->format_pos.line && sc->stage2.format != NW_STAGE2_ARM64)
		return nw_scenario_fail(sc, sc->format_pos, err, errlen,
					"format: an aarch64 scenario's stage 2 is arm64");
	if (a->vtcr_pos.line && (a->ipa_bits_pos.line || a->granule_pos.line || a->start_level_pos.line)) {
		struct nw_scenario_pos pos = a->ipa_bits_pos.line  ? a->ipa_bits_pos
					     : a->granule_pos.line ? a->granule_pos
								   : a->start_level_pos;

		return nw_scenario_fail(sc, pos, err, errlen,
					"give VTCR_EL2 as vtcr (%d:%d) or as ipa_bits, granule and "
					"start_level, not both",
					a->vtcr_pos.line, a->vtcr_pos.column);
	}
	if (nw_scenario_check_guest_writes(sc, err, errlen))
		return -1;
	if (sc->x86_cpu_pos.line)
		return nw_scenario_fail(sc, sc->x86_cpu_pos, err, errlen,
					"an x86 cpu key: an aarch64 scenario's cpu takes sctlr_el1, tcr_el1, "
					"ttbr0_el1, ttbr1_el1, mair_el1 and pstate");
	if (decode(sc, err, errlen) || decode_el1(sc, err, errlen))
		return -1;
	if (sc->vmid >> (cfg->vmid16 ? 16 : 8))
		return nw_scenario_fail(sc, sc->vmid_pos, err, errlen,
					"vmid: %llu does not fit VTTBR_EL2.VMID (%d bits)",
					(unsigned long long)sc->vmid, cfg->vmid16 ? 16 : 8);
	if (host > UINT64_C(1) << cfg->ps_bits)
		return nw_scenario_fail(
			sc, sc->host_memory_pos.line ? sc->host_memory_pos : sc->stage2_pos, err, errlen,
			"host memory of 0x%llx bytes reaches above the output size (VTCR_EL2.PS: %u bits): "
			"stage-2 output addresses stop there (give host.memory)",
			(unsigned long long)host, cfg->ps_bits);
	for (size_t i = 0; i < sc->edit_count; i++) {
		if (sc->edits[i].level > 3)
			return nw_scenario_fail(sc, sc->edits[i].level_pos, err, errlen,
						"level: the Arm ARM's levels are "
						"0 to 3");
		/* Above the start level the walk has no table: nothing to edit there. */
		if (sc->edits[i].level < cfg->start_level)
			return nw_scenario_fail(sc, sc->edits[i].level_pos, err, errlen,
						"level: %d is above the level the stage 2 starts at, %d (VTCR_EL2.SL0 "
						"with the %u KiB granule)",
						sc->edits[i].level, cfg->start_level, 1u << (cfg->granule_bits - 10));
		sc->edits[i].table_level = nw_arm64_s2_level(sc->edits[i].level);
	}
	return 0;
}

int nw_scenario_check_arch(struct nw_scenario *sc, char *err, size_t errlen)
{
	if (nw_scenario_check_keys(sc, err, errlen))
		return -1;
	if (sc->arch == NW_SCENARIO_RISCV64)
		return nw_scenario_check_riscv(sc, err, errlen);
	return sc->arch == NW_SCENARIO_AARCH64 ? check_aarch64(sc, err, errlen) : check_x86(sc, err, errlen);
}
