/* AArch64 stage-1 translation tables of the EL1&0 regime (Arm ARM D8.3),
 * built by the table engine (pt_build.h) as the x86 guest tables are: one
 * VA range (the TTBR0_EL1 or the TTBR1_EL1 half) of one granule, its tables
 * in memory the caller gives (guest-physical memory behind an address space,
 * or HAL frames), descriptors with the stage-1 attribute fields of
 * arm64_s1.h. Levels are the library's (1 = the Arm level-3 page). */
#ifndef NESTWALK_ARM64_S1_TABLES_H
#define NESTWALK_ARM64_S1_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "arm64_s1.h"
#include "cdefs.h"
#include "pt_build.h"
#include "status.h"

NW_BEGIN_DECLS

/* The attribute fields a page or block takes (Arm ARM D8.3, "Stage 1
 * attribute fields"): AttrIndx, AP[2:1], SH, AF, nG, DBM, PXN, UXN. The
 * descriptor type bits are the engine's. */
#define NW_ARM64_S1_LEAF_FLAGS (NW_ARM64_S1_ATTRINDX_MASK | NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2 | NW_ARM64_S1_SH_MASK | \
				NW_ARM64_S1_AF | NW_ARM64_S1_NG | NW_ARM64_S1_DBM | NW_ARM64_S1_PXN | NW_ARM64_S1_UXN)
/* What protect changes: the access permissions and the execute-never bits. */
#define NW_ARM64_S1_RIGHTS (NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2 | NW_ARM64_S1_PXN | NW_ARM64_S1_UXN)

static inline uint64_t nw_arm64_s1_attr_index(unsigned index)
{
	return ((uint64_t)index << NW_ARM64_S1_ATTRINDX_SHIFT) & NW_ARM64_S1_ATTRINDX_MASK;
}

struct nw_arm64_s1_tables {
	struct nw_pt pt;
	struct nw_pt_format format; /* this range's geometry; pt points to it: do not move the struct */
	unsigned which;             /* 0: TTBR0_EL1's range, 1: TTBR1_EL1's */
	unsigned va_bits;           /* 64 - TnSZ */
};

/* Tables for range which (0 or 1) of va_bits (25..48, 64 - TnSZ) with a
 * granule of 2^granule_bits bytes (12, 14 or 16), as nw_arm64_s1_decode reads
 * the same TCR_EL1 fields. NW_ERR_INVALID for anything else;
 * NW_ERR_UNSUPPORTED for the 16 and 64 KiB granules, whose tables are
 * larger than 4 KiB, when mem cannot give contiguous pages (alloc_span). */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_create(struct nw_arm64_s1_tables *t, unsigned which,
						    unsigned granule_bits, unsigned va_bits, struct nw_pt_mem mem);
void nw_arm64_s1_tables_destroy(struct nw_arm64_s1_tables *t);
/* TTBRn_EL1 for these tables: BADDR the first table, ASID in bits 63:48
 * (NW_ERR_RANGE above 16 bits). */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_ttbr(const struct nw_arm64_s1_tables *t, unsigned asid,
						  uint64_t *ttbr);

/* One page or block of size bytes (a level's size where the granule has
 * leaves: 4 KiB, 2 MiB and 1 GiB with the 4 KiB granule) mapping va to ipa;
 * flags: NW_ARM64_S1_LEAF_FLAGS (the valid bit is added). SH 0b01
 * (reserved, D8.6) or another bit: NW_ERR_INVALID; va outside the range
 * (bits above va_bits not all 0 for TTBR0, not all 1 for TTBR1):
 * NW_ERR_RANGE; anything mapped there: NW_ERR_EXISTS. */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_map(struct nw_arm64_s1_tables *t, uint64_t va, nw_gpa_t ipa,
						 uint64_t size, uint64_t flags);
/* Removes every mapping in [va, va + size); blocks straddling an end are split. */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_unmap(struct nw_arm64_s1_tables *t, uint64_t va, uint64_t size);
/* Sets AP[2:1], PXN and UXN (rights: a subset of NW_ARM64_S1_RIGHTS) of every
 * leaf in the range; the range must be mapped (NW_ERR_NOT_FOUND, nothing changed). */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_protect(struct nw_arm64_s1_tables *t, uint64_t va, uint64_t size,
						     uint64_t rights);
/* Sets the hierarchical controls (a subset of NW_ARM64_S1_TABLE_CONTROLS)
 * of the table descriptor at level on va's path, replacing its previous ones. */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_restrict(struct nw_arm64_s1_tables *t, uint64_t va, int level,
						      uint64_t controls);
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_query(const struct nw_arm64_s1_tables *t, uint64_t va,
						   struct nw_pt_leaf *leaf);
/* Raw edit of the descriptor at level on va's path (see nw_pt_edit). */
NW_MUST_CHECK nw_status_t nw_arm64_s1_tables_edit(struct nw_arm64_s1_tables *t, uint64_t va, int level,
						  uint64_t clear, uint64_t set, uint64_t *old);

NW_END_DECLS

#endif
