/* What the AArch64 stages share of VMSAv8-64 with the 4 KiB granule (Arm ARM
 * D8.2, D8.3): the PA size encoding of ID_AA64MMFR0_EL1.PARange,
 * VTCR_EL2.PS and TCR_EL1.IPS, the bits each level resolves, and a
 * configuration's geometry as a table-engine format. Internal. */
#ifndef NESTWALK_LIB_VMSA_H
#define NESTWALK_LIB_VMSA_H

#include <nestwalk/pt_build.h>

#define NW_VMSA_GRANULE_BITS 12
#define NW_VMSA_STRIDE 9 /* 4 KiB granule, 8-byte descriptors: 512 entries a table */

/* PARange, PS and IPS share one encoding: 32, 36, 40, 42, 44, 48, 52 bits; 0 for the reserved 0b111. */
unsigned nw_vmsa_pa_size_bits(unsigned encoding);
/* A PA size the library models: one of the encodings up to 48 bits (no FEAT_LPA). */
bool nw_vmsa_is_pa_size(unsigned bits);

/* The lowest address bit the index at Arm level arm_level covers. */
static inline unsigned nw_vmsa_level_shift(int arm_level)
{
	return NW_VMSA_GRANULE_BITS + NW_VMSA_STRIDE * (unsigned)(3 - arm_level);
}

/* The geometry of a walk of va_bits from Arm level start_level: library level
 * 4 - n for Arm level n, 512 entries below the start level and as many as
 * va_bits leave at it (more than 512: concatenated tables); blocks at Arm
 * levels 1 and 2, pages at 3; table pointers are bits 1:0 0b11. */
void nw_vmsa_format(struct nw_pt_format *fmt, const char *name, unsigned va_bits, int start_level);

#endif
