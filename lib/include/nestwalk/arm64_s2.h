/* AArch64 stage 2 (Arm ARM D8, VMSAv8-64): the EL1&0 regime's second stage,
 * controlled from EL2 by VTCR_EL2 and VTTBR_EL2, with the 4, 16 or 64 KiB
 * granule (VTCR_EL2.TG0). Its
 * tables live in HAL frames and are built by the table engine (pt_build.h);
 * its translate is the one second-stage loop over the rules of
 * arm64_s2_rules.c.
 *
 * Levels: the Arm ARM numbers them 0..3 from the top, the library 1 = leaf up
 * to 4; Arm level n is library level 4 - n (a level-3 page is the library's
 * level 1). Results and edits take library levels; nw_arm64_s2_level() and
 * the fault reports give the Arm ARM's. With the 16 and 64 KiB granules a
 * table is 16 or 64 KiB of contiguous HAL frames (the HAL needs
 * alloc_frames), a page is the granule (library level 1) and a block is at
 * Arm level 2 only: 32 MiB or 512 MiB. */
#ifndef NESTWALK_ARM64_S2_H
#define NESTWALK_ARM64_S2_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "hal.h"
#include "pt_build.h"
#include "stage2.h"
#include "status.h"

NW_BEGIN_DECLS

/* Stage-2 block and page descriptor bits (Arm ARM D8.3, "Stage 2 attribute fields"). */
#define NW_ARM64_S2_VALID (UINT64_C(1) << 0)
#define NW_ARM64_S2_TABLE (UINT64_C(1) << 1)    /* table descriptor at levels 0-2, page at level 3; clear: block */
#define NW_ARM64_S2_MEMATTR_SHIFT 2             /* MemAttr[3:0], bits 5:2 */
#define NW_ARM64_S2_MEMATTR_MASK (UINT64_C(0xf) << NW_ARM64_S2_MEMATTR_SHIFT)
#define NW_ARM64_S2_S2AP_R (UINT64_C(1) << 6)   /* S2AP[0]: reads allowed */
#define NW_ARM64_S2_S2AP_W (UINT64_C(1) << 7)   /* S2AP[1]: writes allowed */
#define NW_ARM64_S2_SH_SHIFT 8                  /* SH[1:0], bits 9:8 */
#define NW_ARM64_S2_SH_MASK (UINT64_C(3) << NW_ARM64_S2_SH_SHIFT)
#define NW_ARM64_S2_AF (UINT64_C(1) << 10)      /* Access flag */
#define NW_ARM64_S2_DBM (UINT64_C(1) << 51)     /* Dirty Bit Modifier: S2AP[1] clear is writable-clean (HD) */
#define NW_ARM64_S2_XN_SHIFT 53                 /* XN[1:0], bits 54:53 (XN[0] only with FEAT_XNX) */
#define NW_ARM64_S2_XN0 (UINT64_C(1) << 53)
#define NW_ARM64_S2_XN1 (UINT64_C(1) << 54)
/* OA / next-level table address, bits 47:12 with the 4 KiB granule (the engine's format masks the bits below
 * a 16 or 64 KiB granule; bits 15:12 of a 64 KiB-granule descriptor are OA[51:48]) */
#define NW_ARM64_S2_ADDR_MASK UINT64_C(0x0000fffffffff000)
/* The bits nw_arm64_s2_map takes: MemAttr, S2AP, SH, AF, DBM, XN (XN[0] only with FEAT_XNX). */
#define NW_ARM64_S2_LEAF_FLAGS (NW_ARM64_S2_MEMATTR_MASK | NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | \
				NW_ARM64_S2_SH_MASK | NW_ARM64_S2_AF | NW_ARM64_S2_DBM | NW_ARM64_S2_XN0 | NW_ARM64_S2_XN1)
#define NW_ARM64_S2_RIGHTS (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | NW_ARM64_S2_XN0 | NW_ARM64_S2_XN1)

/* Stage-2 MemAttr (without FEAT_S2FWB): bits 3:2 0b00 Device (bits 1:0 the
 * Device type), else outer (3:2) and inner (1:0) Normal cacheability, 0b01
 * Non-cacheable, 0b10 Write-Through, 0b11 Write-Back. With HCR_EL2.FWB:
 * bit 2 0 Device (bits 1:0 the type), else bits 1:0 0b11 stage 1's
 * attributes, 0b10 forced Write-Back, 0b0x Non-cacheable. */
#define NW_ARM64_S2_MEMATTR_DEVICE_NGNRNE 0x0u
#define NW_ARM64_S2_MEMATTR_NORMAL_NC 0x5u
#define NW_ARM64_S2_MEMATTR_NORMAL_WB 0xfu

static inline uint64_t nw_arm64_s2_memattr(unsigned memattr)
{
	return ((uint64_t)memattr << NW_ARM64_S2_MEMATTR_SHIFT) & NW_ARM64_S2_MEMATTR_MASK;
}

/* VTCR_EL2 fields (Arm ARM D19, VTCR_EL2). */
#define NW_VTCR_T0SZ_MASK UINT64_C(0x3f)
#define NW_VTCR_SL0_SHIFT 6
#define NW_VTCR_TG0_SHIFT 14 /* TG0: 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB */
#define NW_VTCR_PS_SHIFT 16
#define NW_VTCR_VS (UINT64_C(1) << 19)
#define NW_VTCR_HA (UINT64_C(1) << 21)
#define NW_VTCR_HD (UINT64_C(1) << 22)
#define NW_VTCR_RES1 (UINT64_C(1) << 31)
/* The fields the model reads: T0SZ, SL0, IRGN0/ORGN0/SH0 (the walk's own
 * cacheability, no effect on a translation), TG0, PS, VS, HA, HD and RES1.
 * Any other bit is a control it does not model (DS, SL2, HWU, NSW/NSA,
 * S2PIE, ...) or RES0: refused, never ignored. */
#define NW_VTCR_MODELLED (UINT64_C(0xfffff) | NW_VTCR_HA | NW_VTCR_HD | NW_VTCR_RES1)

/* What the modelled PE implements (ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1). */
struct nw_arm64_s2_caps {
	unsigned pa_bits; /* PARange: 32, 36, 40, 42, 44 or 48 */
	bool xnx;         /* FEAT_XNX: XN[0] tells EL1 from EL0 execution */
	bool haf;         /* FEAT_HAFDBS: the walk may set the Access flag (VTCR_EL2.HA) */
	bool hdbs;        /* FEAT_HAFDBS dirty state: the walk may set S2AP[1] of a DBM leaf (VTCR_EL2.HD) */
	bool vmid16;      /* 16-bit VMIDs (VTCR_EL2.VS) */
	bool gran16;      /* ID_AA64MMFR0_EL1.TGran16_2: the 16 KiB granule at stage 2 */
	bool gran64;      /* ID_AA64MMFR0_EL1.TGran64_2: the 64 KiB granule at stage 2 */
	bool s2fwb;       /* ID_AA64MMFR2_EL1.FWB: FEAT_S2FWB, HCR_EL2.FWB */
};

/* PA size 48, every feature, every granule. */
struct nw_arm64_s2_caps nw_arm64_s2_caps_all(void);

struct nw_arm64_s2_config {
	unsigned granule_bits; /* VTCR_EL2.TG0: 12 (4 KiB), 14 (16 KiB) or 16 (64 KiB) */
	unsigned ipa_bits;  /* 64 - VTCR_EL2.T0SZ */
	/* Arm ARM level the walk starts at (AArch64.S2StartLevel): 4 KiB 0, 1 or 2 (SL0 2, 1, 0); 16 and 64 KiB
	 * 1, 2 or 3 (SL0 2, 1, 0) */
	int start_level;
	unsigned ps_bits;   /* output address size: VTCR_EL2.PS, at most the PA size */
	bool hw_af;         /* VTCR_EL2.HA: the walk sets AF instead of faulting */
	/* VTCR_EL2.HD with HA (AArch64.GetS2TTWParams: HD is 0 while HA is 0): a write to a leaf with DBM and
	 * S2AP[1] clear sets S2AP[1] instead of faulting */
	bool hw_dirty;
	bool vmid16;        /* VTCR_EL2.VS */
	/* HCR_EL2.FWB (not a VTCR_EL2 field: off after nw_arm64_vtcr_decode, see nw_arm64_s2_set_fwb): MemAttr
	 * gives the resulting attributes (nw_arm64_memattr_fwb) instead of stage 2's own */
	bool fwb;
	struct nw_arm64_s2_caps caps;
};

struct nw_arm64_s2 {
	struct nw_pt pt;
	struct nw_arm64_s2_config config;
	struct nw_pt_format format; /* this configuration's geometry; pt points to it: do not move the struct */
};

/* VTCR_EL2 as the PE reads it: NW_ERR_INVALID for a reserved PS or TG0, an
 * SL0 and T0SZ that do not agree (Arm ARM AArch64.S2InconsistentSL: the
 * start level must resolve at least one bit and at most 16 concatenated
 * tables), an IPA wider than the PA size, an SL0 AArch64.S2InvalidSL refuses
 * (4 KiB: level 0 with a PA size under 44 bits; 16 KiB: level 1 under 42
 * bits, level 0 without FEAT_LPA2; 64 KiB: level 1 under 44 bits, SL0 3),
 * RES1 bit 31 clear; NW_ERR_UNSUPPORTED for what is not modelled (4 KiB SL0 3,
 * FEAT_TTST; a granule, HA, HD or VS the caps lack; a bit
 * outside NW_VTCR_MODELLED). HD with HA clear reads as HD clear. PS above the PA size reads
 * as the PA size, as the Arm ARM says. */
NW_MUST_CHECK nw_status_t nw_arm64_vtcr_decode(uint64_t vtcr, const struct nw_arm64_s2_caps *caps,
					       struct nw_arm64_s2_config *config);

NW_MUST_CHECK nw_status_t nw_arm64_s2_create(struct nw_arm64_s2 *s2, const struct nw_hal *hal,
					     const struct nw_arm64_s2_config *config);
void nw_arm64_s2_destroy(struct nw_arm64_s2 *s2);
nw_hpa_t nw_arm64_s2_root(const struct nw_arm64_s2 *s2);
/* VTTBR_EL2: BADDR (the start table) and VMID in bits 55:48 (63:48 with
 * VS); NW_ERR_RANGE for a VMID the configuration cannot hold. */
NW_MUST_CHECK nw_status_t nw_arm64_s2_vttbr(const struct nw_arm64_s2 *s2, unsigned vmid, uint64_t *vttbr);

/* HCR_EL2.FWB as written: NW_ERR_UNSUPPORTED when the caps lack FEAT_S2FWB. It changes the attributes a
 * translation gives and which MemAttr values the builder takes, not what is mapped. */
NW_MUST_CHECK nw_status_t nw_arm64_s2_set_fwb(struct nw_arm64_s2 *s2, bool fwb);

/* Arm ARM level of a library level, and back. */
int nw_arm64_s2_level(int level);

/* One page or block of a size the granule has (4 KiB: 4 KiB, 2 MiB, 1 GiB; 16 KiB: 16 KiB, 32 MiB; 64 KiB:
 * 64 KiB, 512 MiB), at addresses aligned to it; flags:
 * NW_ARM64_S2_LEAF_FLAGS (the descriptor type bits are the engine's). A
 * reserved MemAttr (none is with FWB) or SH, XN[0] without FEAT_XNX: NW_ERR_INVALID; an output
 * address beyond the output size: NW_ERR_RANGE. *flush (when not NULL) is
 * set when a TLBI IPAS2E1 for the range is due. */
NW_MUST_CHECK nw_status_t nw_arm64_s2_map(struct nw_arm64_s2 *s2, nw_gpa_t ipa, nw_hpa_t pa, uint64_t size,
					  uint64_t flags, unsigned map_flags, bool *flush);
/* [ipa, ipa + size) to [pa, pa + size), granule-aligned, largest blocks first (4 KiB granule: 1 GiB at Arm
 * level 1 where the walk starts at or above it, 2 MiB, 4 KiB; 16 KiB: 32 MiB, 16 KiB; 64 KiB: 512 MiB,
 * 64 KiB), flags as nw_arm64_s2_map's; on failure nothing changes. */
NW_MUST_CHECK nw_status_t nw_arm64_s2_map_region(struct nw_arm64_s2 *s2, nw_gpa_t ipa, nw_hpa_t pa, uint64_t size,
						 uint64_t flags, bool *flush);
NW_MUST_CHECK nw_status_t nw_arm64_s2_unmap(struct nw_arm64_s2 *s2, nw_gpa_t ipa, uint64_t size, bool *flush);
/* Sets S2AP and XN (a subset of NW_ARM64_S2_RIGHTS) of every page in the range; the range must be mapped. */
NW_MUST_CHECK nw_status_t nw_arm64_s2_protect(struct nw_arm64_s2 *s2, nw_gpa_t ipa, uint64_t size, uint64_t rights,
					      bool *flush);
NW_MUST_CHECK nw_status_t nw_arm64_s2_query(const struct nw_arm64_s2 *s2, nw_gpa_t ipa,
					    struct nw_s2_mapping *mapping);
/* Raw edit of the entry at (library) level on ipa's path (see nw_pt_edit). */
NW_MUST_CHECK nw_status_t nw_arm64_s2_edit(struct nw_arm64_s2 *s2, nw_gpa_t ipa, int level, uint64_t clear,
					   uint64_t set, uint64_t *old, bool *flush);
uint64_t nw_arm64_s2_table_count(const struct nw_arm64_s2 *s2);

/* ESR_EL2 of a stage-2 abort (Arm ARM D19, ESR_EL2; ISS encodings for Data
 * Abort and Instruction Abort): EC 0x20 for a fetch, 0x24 for a data access
 * (from a lower Exception level), IL 1, S1PTW when the access was a stage-1
 * table walk, WnR for a store instruction (on a stage-1 walk too), DFSC/IFSC: 0b0000LL address size, 0b0001LL
 * translation, 0b0010LL access flag, 0b0011LL permission, LL the Arm level.
 * ISV 0: the instruction syndrome is not known here. */
#define NW_ESR_EC_SHIFT 26
#define NW_ESR_EC_IABT_LOW 0x20u
#define NW_ESR_EC_DABT_LOW 0x24u
#define NW_ESR_IL (UINT64_C(1) << 25)
#define NW_ESR_S1PTW (UINT64_C(1) << 7)
#define NW_ESR_WNR (UINT64_C(1) << 6)
#define NW_ESR_FSC_MASK UINT64_C(0x3f)

struct nw_arm64_s2_access {
	enum nw_access_type type; /* the guest's access: a fetch (or its stage-1 walk) is an instruction abort */
	bool s1ptw;               /* the fault was on a stage-1 translation table walk for it */
};

/* DFSC/IFSC of a fault of this kind at Arm level arm_level (0..3), either
 * stage; 0xff for a kind that is no AArch64 fault. */
unsigned nw_arm64_fsc(enum nw_s2_fault fault, int arm_level);
/* The fault status code of a stage-2 fault; 0xff for a result that is no AArch64 fault. */
unsigned nw_arm64_s2_fsc(const struct nw_s2_result *s2);
uint64_t nw_arm64_s2_esr(const struct nw_s2_result *s2, const struct nw_arm64_s2_access *access);
/* HPFAR_EL2: FIPA, IPA bits 47:12, in bits 43:4, whatever the granule. The Arm ARM fills it for
 * translation, access flag and address size faults and for any fault on a
 * stage-1 walk; for a permission fault on the final access it is UNKNOWN:
 * false then. */
bool nw_arm64_hpfar(const struct nw_s2_result *s2, nw_gpa_t ipa, const struct nw_arm64_s2_access *access,
		    uint64_t *hpfar);

NW_END_DECLS

#endif
