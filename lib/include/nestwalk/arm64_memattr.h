/* AArch64 memory attributes of a translation (Arm ARM B2.7 memory types and
 * attributes, D8.5 "Memory region attributes", D19 MAIR_EL1): stage 1's
 * from the leaf's AttrIndx through MAIR_EL1 (or the defaults with
 * SCTLR_EL1.M 0), stage 2's from the leaf's MemAttr and SH, and the two
 * combined as the Arm ARM's S2CombineS1MemAttrs does without FEAT_S2FWB. */
#ifndef NESTWALK_ARM64_MEMATTR_H
#define NESTWALK_ARM64_MEMATTR_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"

NW_BEGIN_DECLS

enum nw_arm64_mem_type {
	NW_ARM64_MEM_NONE = 0,        /* no translation (the walk faulted) */
	NW_ARM64_MEM_DEVICE_NGNRNE,   /* Device, non-Gathering, non-Reordering, no Early write acknowledgement */
	NW_ARM64_MEM_DEVICE_NGNRE,
	NW_ARM64_MEM_DEVICE_NGRE,
	NW_ARM64_MEM_DEVICE_GRE,
	NW_ARM64_MEM_NORMAL,
	/* An encoding the Arm ARM makes UNPREDICTABLE or leaves to a feature not
	 * modelled (a reserved MAIR_EL1 byte, FEAT_XS, FEAT_MTE2 tagged memory, a
	 * reserved stage-2 MemAttr): no attribute is claimed. */
	NW_ARM64_MEM_UNPREDICTABLE,
};

/* Normal cacheability, as MAIR_EL1 and MemAttr encode the outer and inner ones (0b01, 0b10, 0b11). */
enum nw_arm64_cacheability {
	NW_ARM64_CACHE_NONE = 0,      /* Device memory has none */
	NW_ARM64_CACHE_NC = 1,        /* Non-cacheable */
	NW_ARM64_CACHE_WT = 2,        /* Write-Through */
	NW_ARM64_CACHE_WB = 3,        /* Write-Back */
};

/* Shareability as the SH[1:0] field encodes it (D8.6; 0b01 is reserved). */
enum nw_arm64_shareability {
	NW_ARM64_SH_NON = 0,
	NW_ARM64_SH_OUTER = 2,
	NW_ARM64_SH_INNER = 3,
};

/* Allocation hints of one cache level (MAIR_EL1 R and W bits). */
#define NW_ARM64_ALLOC_W 1u /* write-allocate */
#define NW_ARM64_ALLOC_R 2u /* read-allocate */

struct nw_arm64_cache_attr {
	uint8_t cacheability;  /* enum nw_arm64_cacheability */
	uint8_t alloc;         /* NW_ARM64_ALLOC_*: stage 1's hints (stage 2 has none) */
	bool transient;
};

struct nw_arm64_memattr {
	uint8_t type;          /* enum nw_arm64_mem_type */
	struct nw_arm64_cache_attr inner, outer; /* Normal memory only */
	uint8_t shareability;  /* enum nw_arm64_shareability: Device and Normal Non-cacheable memory are Outer
				* Shareable whatever the descriptors say */
};

/* The attribute byte Attr<index> of MAIR_EL1 (D19, MAIR_EL1), with sh the
 * leaf's SH field for Normal memory. */
struct nw_arm64_memattr nw_arm64_mair_decode(uint64_t mair, unsigned index, unsigned sh);
/* Stage 1 disabled (AArch64.S1DisabledOutput, HCR_EL2.DC 0): data accesses are
 * Device-nGnRnE; fetches Normal Write-Through read-allocate with SCTLR_EL1.I (bit 12),
 * else Non-cacheable; both Outer Shareable. */
struct nw_arm64_memattr nw_arm64_s1_off_attrs(uint64_t sctlr, bool fetch);
/* A stage-2 leaf's MemAttr[3:0] and SH (D8.5.3, without FEAT_S2FWB). */
struct nw_arm64_memattr nw_arm64_s2_attrs(unsigned memattr, unsigned sh);
/* The attributes of a two-stage translation (S2CombineS1MemAttrs, without
 * FEAT_S2FWB): Device if either is, the more restrictive Device type;
 * else Normal with the lower cacheability at each level and stage 1's
 * allocation hints; the wider shareability. */
struct nw_arm64_memattr nw_arm64_memattr_combine(const struct nw_arm64_memattr *s1,
						 const struct nw_arm64_memattr *s2);

/* The attributes of a two-stage translation with FEAT_S2FWB and HCR_EL2.FWB 1
 * (AArch64.S2ApplyFWBMemAttrs): the stage-2 leaf's MemAttr[3:0] and SH say
 * what results from stage 1's attributes s1 (arm64_memattr.c). */
struct nw_arm64_memattr nw_arm64_memattr_fwb(const struct nw_arm64_memattr *s1, unsigned memattr, unsigned sh);

NW_END_DECLS

#endif
