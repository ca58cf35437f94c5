/* AArch64 stage 1 of the EL1&0 regime (Arm ARM D8, VMSAv8-64) with the 4, 16
 * and 64 KiB granules: TCR_EL1, SCTLR_EL1 and TTBR0/TTBR1_EL1 decoded once, and the guest
 * walk of a virtual address under them, every stage-1 table read and the
 * final IPA translated through the walk's second stage (an AArch64 stage 2,
 * arm64_s2.h, or none). It is the AArch64 description of the one guest walk
 * the x86 reference walker runs too; the fast walker (nw_walker_init) does
 * not serve it.
 *
 * Levels: the Arm ARM numbers them 0..3 from the top, the library 1 = leaf up
 * to 4 (Arm level n is library level 4 - n), as for stage 2. Results take
 * library levels; the fault status codes in ESR_EL1/ESR_EL2 carry the Arm
 * ARM's. */
#ifndef NESTWALK_ARM64_S1_H
#define NESTWALK_ARM64_S1_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "pt_build.h"
#include "status.h"
#include "walk.h"

NW_BEGIN_DECLS

/* Stage-1 descriptor bits (Arm ARM D8.3, "Translation table descriptor
 * formats" and "Stage 1 attribute fields"). Bits 1:0 0b11 is a table at Arm
 * levels 0-2 and a page at level 3; 0b01 a block (levels 1 and 2 with the 4
 * KiB granule, level 2 with 16 and 64 KiB). The address fields are bits 47:n
 * of the granule, page or block (no FEAT_LPA/FEAT_LPA2). */
#define NW_ARM64_S1_VALID (UINT64_C(1) << 0)
#define NW_ARM64_S1_TABLE (UINT64_C(1) << 1)
#define NW_ARM64_S1_ATTRINDX_SHIFT 2              /* AttrIndx[2:0], bits 4:2: the MAIR_EL1 byte */
#define NW_ARM64_S1_ATTRINDX_MASK (UINT64_C(7) << NW_ARM64_S1_ATTRINDX_SHIFT)
#define NW_ARM64_S1_AP1 (UINT64_C(1) << 6)        /* AP[1]: EL0 may access */
#define NW_ARM64_S1_AP2 (UINT64_C(1) << 7)        /* AP[2]: read-only */
#define NW_ARM64_S1_SH_SHIFT 8                    /* SH[1:0], bits 9:8 */
#define NW_ARM64_S1_SH_MASK (UINT64_C(3) << NW_ARM64_S1_SH_SHIFT)
#define NW_ARM64_S1_AF (UINT64_C(1) << 10)        /* Access flag */
#define NW_ARM64_S1_NG (UINT64_C(1) << 11)        /* not global: the translation is tagged with the ASID */
#define NW_ARM64_S1_DBM (UINT64_C(1) << 51)       /* Dirty Bit Modifier (with TCR_EL1.HD) */
#define NW_ARM64_S1_CONTIGUOUS (UINT64_C(1) << 52) /* a TLB hint only: ignored by the translation */
#define NW_ARM64_S1_PXN (UINT64_C(1) << 53)       /* no execution at EL1 */
#define NW_ARM64_S1_UXN (UINT64_C(1) << 54)       /* no execution at EL0 */
/* Table descriptors: hierarchical controls over every level below (ignored with TCR_EL1.HPDn). */
#define NW_ARM64_S1_PXNTABLE (UINT64_C(1) << 59)
#define NW_ARM64_S1_UXNTABLE (UINT64_C(1) << 60)
#define NW_ARM64_S1_APTABLE0 (UINT64_C(1) << 61)  /* APTable[0]: no EL0 access */
#define NW_ARM64_S1_APTABLE1 (UINT64_C(1) << 62)  /* APTable[1]: no write at any EL */
#define NW_ARM64_S1_TABLE_CONTROLS (NW_ARM64_S1_PXNTABLE | NW_ARM64_S1_UXNTABLE | NW_ARM64_S1_APTABLE0 | \
				    NW_ARM64_S1_APTABLE1)
#define NW_ARM64_S1_ADDR_MASK UINT64_C(0x0000fffffffff000) /* OA / next-level table address, bits 47:12 */

NW_STATIC_ASSERT((NW_ARM64_S1_ATTRINDX_MASK & (NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2 | NW_ARM64_S1_AF)) == 0,
		 "stage-1 attribute fields overlap");
NW_STATIC_ASSERT(((NW_ARM64_S1_DBM | NW_ARM64_S1_CONTIGUOUS | NW_ARM64_S1_PXN | NW_ARM64_S1_UXN) &
		  NW_ARM64_S1_ADDR_MASK) == 0, "upper attributes overlap the address");
NW_STATIC_ASSERT(((NW_ARM64_S1_PXNTABLE | NW_ARM64_S1_UXNTABLE | NW_ARM64_S1_APTABLE0 | NW_ARM64_S1_APTABLE1) &
		  (NW_ARM64_S1_ADDR_MASK | NW_ARM64_S1_PXN | NW_ARM64_S1_UXN)) == 0, "table controls overlap");

/* SCTLR_EL1 (Arm ARM D19): M enables stage 1; WXN makes writable memory
 * execute-never; SPAN 0 sets PSTATE.PAN on an exception taken to EL1;
 * EPAN (FEAT_PAN3) is not modelled. */
#define NW_SCTLR_M (UINT64_C(1) << 0)
#define NW_SCTLR_A (UINT64_C(1) << 1) /* alignment checking: a misaligned access is an Alignment fault */
#define NW_SCTLR_I (UINT64_C(1) << 12) /* with M 0: instruction fetches Normal Write-Through (else Non-cacheable) */
#define NW_SCTLR_WXN (UINT64_C(1) << 19)
#define NW_SCTLR_SPAN (UINT64_C(1) << 23)
#define NW_SCTLR_EE (UINT64_C(1) << 25) /* big-endian EL1 data and stage-1 table walks */
#define NW_SCTLR_EPAN (UINT64_C(1) << 57)
/* SCTLR_EL1 controls that change a translation's answer and are not modelled:
 * A (Alignment faults), EE (the descriptors' byte order), EPAN (FEAT_PAN3). */
#define NW_SCTLR_UNMODELLED (NW_SCTLR_A | NW_SCTLR_EE | NW_SCTLR_EPAN)

/* TCR_EL1 (Arm ARM D19). */
#define NW_TCR_T0SZ_SHIFT 0
#define NW_TCR_EPD0 (UINT64_C(1) << 7)
#define NW_TCR_TG0_SHIFT 14   /* 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB, 0b11 reserved */
#define NW_TCR_T1SZ_SHIFT 16
#define NW_TCR_A1 (UINT64_C(1) << 22) /* the ASID is TTBR1_EL1's (else TTBR0_EL1's) */
#define NW_TCR_EPD1 (UINT64_C(1) << 23)
#define NW_TCR_TG1_SHIFT 30   /* 0b00 reserved, 0b01 16 KiB, 0b10 4 KiB, 0b11 64 KiB */
#define NW_TCR_IPS_SHIFT 32
#define NW_TCR_AS (UINT64_C(1) << 36) /* 16-bit ASIDs */
#define NW_TCR_TBI0 (UINT64_C(1) << 37)
#define NW_TCR_TBI1 (UINT64_C(1) << 38)
#define NW_TCR_HA (UINT64_C(1) << 39)
#define NW_TCR_HD (UINT64_C(1) << 40)
#define NW_TCR_HPD0 (UINT64_C(1) << 41)
#define NW_TCR_HPD1 (UINT64_C(1) << 42)
/* Fields that change translation and are not modelled: HWU (bits 50:43),
 * TBID0/1, E0PD0/1, DS. A TCR_EL1 with any of them set is refused. */
#define NW_TCR_UNMODELLED (UINT64_C(0xff) << 43 | UINT64_C(3) << 51 | UINT64_C(3) << 55 | UINT64_C(1) << 59)

#define NW_TTBR_ASID_SHIFT 48

/* What the modelled PE implements (ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1). */
struct nw_arm64_s1_caps {
	unsigned pa_bits; /* PARange: 32, 36, 40, 42, 44 or 48 */
	bool gran16;      /* TGran16: the 16 KiB granule (4 KiB is always there) */
	bool gran64;      /* TGran64: the 64 KiB granule */
	bool haf;         /* FEAT_HAFDBS: TCR_EL1.HA */
	bool hdbs;        /* FEAT_HAFDBS dirty state: TCR_EL1.HD */
	bool hpds;        /* FEAT_HPDS: TCR_EL1.HPD0/HPD1 */
	bool asid16;      /* ID_AA64MMFR0_EL1.ASIDBits 16: TCR_EL1.AS */
};

/* PA size 48, every feature. */
struct nw_arm64_s1_caps nw_arm64_s1_caps_all(void);

/* One of the two VA ranges: 0 the lower (TTBR0_EL1), 1 the upper (TTBR1_EL1). */
struct nw_arm64_s1_range {
	bool walks;          /* EPDn clear: a miss walks the tables (set: a Translation fault, level 0) */
	unsigned granule_bits; /* TGn: 12, 14 or 16 (4, 16 or 64 KiB) */
	unsigned va_bits;    /* 64 - TnSZ */
	int start_level;     /* Arm level of the first table */
	bool tbi;            /* TBIn: bits 63:56 are a tag, not address */
	bool hpd;            /* HPDn: the hierarchical controls of table descriptors are ignored */
	uint64_t table;      /* TTBRn_EL1.BADDR, aligned to the first table's size */
	struct nw_pt_format format; /* the geometry: levels from start_level, va_bits at the first */
};

/* TCR_EL1, SCTLR_EL1 and TTBR0/TTBR1_EL1 as the walk reads them. */
struct nw_arm64_s1 {
	bool enabled;        /* SCTLR_EL1.M */
	bool wxn;            /* SCTLR_EL1.WXN */
	uint64_t sctlr;      /* SCTLR_EL1 as written (I: the attributes of fetches with M 0) */
	uint64_t mair;       /* MAIR_EL1: the attributes AttrIndx selects */
	unsigned ps_bits;    /* TCR_EL1.IPS, at most the PA size: the output (intermediate physical) address size */
	bool ha, hd;         /* hardware Access flag and dirty state updates */
	unsigned asid;       /* TTBR0_EL1.ASID, or TTBR1_EL1's with TCR_EL1.A1; 8 bits without TCR_EL1.AS */
	struct nw_arm64_s1_range range[2];
	struct nw_arm64_s1_caps caps;
};

/* The EL1 system registers of the translation. */
struct nw_arm64_el1_regs {
	uint64_t sctlr, tcr, ttbr0, ttbr1, mair;
};

/* Decodes regs as the PE reads them: NW_ERR_INVALID for a reserved IPS or
 * granule encoding in a range that walks; NW_ERR_UNSUPPORTED for what is
 * not modelled (a granule the caps lack, TnSZ outside 16..39 (FEAT_TTST,
 * FEAT_LVA), NW_SCTLR_UNMODELLED (with M 0 too), NW_TCR_UNMODELLED, HA/HD/HPD/AS the caps lack,
 * HD without HA). IPS above the PA size reads as the PA size; TTBRn bits
 * below the first table's alignment read as zero (the Arm ARM leaves either
 * reading to the implementation), CnP is ignored. With SCTLR_EL1.M 0 no
 * table is walked: a range that could not be walked is not refused, only
 * marked as not walking. */
NW_MUST_CHECK nw_status_t nw_arm64_s1_decode(const struct nw_arm64_el1_regs *regs,
					     const struct nw_arm64_s1_caps *caps, struct nw_arm64_s1 *s1);

/* PSTATE.PAN after an exception taken to EL1: set when SCTLR_EL1.SPAN is 0,
 * kept otherwise (Arm ARM D1, "PSTATE.PAN"). */
static inline bool nw_arm64_pan_on_el1_entry(uint64_t sctlr, bool pan)
{
	return !(sctlr & NW_SCTLR_SPAN) || pan;
}

/* The PE state one walk runs under. */
struct nw_arm64_cpu {
	struct nw_arm64_s1 s1;
	bool el0;            /* PSTATE.EL is 0 (else 1) */
	bool pan;            /* PSTATE.PAN (FEAT_PAN) */
	bool uao;            /* PSTATE.UAO (FEAT_UAO): LDTR/STTR at EL1 are checked as EL1 accesses */
};

/* ESR_EL1 (Arm ARM D19, ESR_EL1; ISS encodings for Data Abort and
 * Instruction Abort): EC 0x20/0x21 instruction abort from EL0/EL1,
 * 0x24/0x25 data abort from EL0/EL1. The IL, WnR and fault status bits are
 * ESR_EL2's (arm64_s2.h). */
#define NW_ESR_EC_IABT_CUR 0x21u
#define NW_ESR_EC_DABT_CUR 0x25u

/* The walk of access under cpu (access->unprivileged: an LDTR/STTR-class
 * access at EL1, checked with EL0's permissions and not subject to PAN unless
 * PSTATE.UAO). The
 * outcome is OK (GPA = the IPA, HPA), NW_OUTCOME_STAGE1_ABORT (esr = ESR_EL1,
 * far = FAR_EL1) or, with an AArch64 stage 2, NW_OUTCOME_STAGE2_ABORT (esr =
 * ESR_EL2, far = FAR_EL2, hpfar = HPFAR_EL2 when hpfar_valid, s2_on_table
 * for a stage-1 table walk: S1PTW). fault_level is the library level;
 * abort_fault the kind. The Access flag is set (HA) and AP[2] cleared (HD
 * with DBM) only once the access is allowed, never with NW_WALK_LOOKUP;
 * NW_AD_AS_PASSED does not apply (table descriptors have no Access flag). */
void nw_arm64_walk(const struct nw_walk_config *config, const struct nw_arm64_cpu *cpu,
		   const struct nw_access *access, unsigned flags, struct nw_walk_result *res);

/* The fast walker (walk.h) for AArch64: nw_walker_translate() and
 * nw_walker_probe() answer a plain stage-1 walk of the 4 KiB granule (every
 * descriptor valid, no hierarchical control, the leaf's AF set, the access
 * allowed, every address within the output size, and over a stage 2 what its
 * masks prove plain) from the one fast walk body, and give everything else,
 * and every walk that records, to nw_arm64_walk. The second stage is an
 * AArch64 one or none (else NULL), the storage as for nw_walker_init. The
 * x86-only calls (nw_walker_set_cpu, nw_walker_translate_from,
 * nw_walker_tlb_allows and their kin) do not apply to it. */
struct nw_walker *nw_walker_init_arm64(void *storage, const struct nw_walk_config *config,
				       const struct nw_arm64_cpu *cpu);
/* Call after any change of the EL1 registers or PSTATE the walk reads. */
void nw_walker_set_arm64_cpu(struct nw_walker *walker, const struct nw_arm64_cpu *cpu);

NW_END_DECLS

#endif
