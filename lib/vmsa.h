/* What the AArch64 stages share of VMSAv8-64 (Arm ARM D8.2, D8.3): the PA size encoding of ID_AA64MMFR0_EL1.PARange,
 * VTCR_EL2.PS and TCR_EL1.IPS, the bits each level resolves, and a
 * configuration's geometry as a table-engine format. Internal. */
#ifndef NESTWALK_LIB_VMSA_H
#define NESTWALK_LIB_VMSA_H

#include <nestwalk/pt_build.h>

#define NW_VMSA_GRANULE_BITS 12 /* the 4 KiB granule; 16 KiB is 14, 64 KiB 16 */
#define NW_VMSA_STRIDE 9        /* 4 KiB granule, 8-byte descriptors: 512 entries a table */

/* TCR_EL1.TG0 and VTCR_EL2.TG0 (D19): 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB; the granule's log2 size, 0 for the
 * reserved 0b11. */
static inline unsigned nw_vmsa_tg0_granule_bits(unsigned tg0)
{
	static const unsigned bits[4] = { 12, 16, 14, 0 };

	return bits[tg0 & 3];
}

/* PARange, PS and IPS share one encoding: 32, 36, 40, 42, 44, 48, 52 bits; 0 for the reserved 0b111. */
unsigned nw_vmsa_pa_size_bits(unsigned encoding);
/* A PA size the library models: one of the encodings up to 48 bits (no FEAT_LPA). */
bool nw_vmsa_is_pa_size(unsigned bits);

/* D8.2: a table of one granule holds granule / 8 descriptors, so each level
 * resolves granule_bits - 3 address bits. */
static inline unsigned nw_vmsa_stride(unsigned granule_bits)
{
	return granule_bits - 3;
}

/* The lowest address bit the index at Arm level arm_level covers. */
static inline unsigned nw_vmsa_level_shift(unsigned granule_bits, int arm_level)
{
	return granule_bits + nw_vmsa_stride(granule_bits) * (unsigned)(3 - arm_level);
}

/* D8.2: each level resolves a stride of bits above the page's; the walk
 * starts at the Arm level whose index holds the top VA bit. */
static inline int nw_vmsa_start_level(unsigned granule_bits, unsigned va_bits)
{
	unsigned stride = nw_vmsa_stride(granule_bits);

	return 4 - (int)((va_bits - granule_bits + stride - 1) / stride);
}

/* A stage-1 VA size the library models: TnSZ 16..39, 48 down to 25 bits
 * (no FEAT_LVA/FEAT_LPA2 above, no FEAT_TTST below). */
static inline bool nw_vmsa_is_s1_va_size(unsigned va_bits)
{
	return va_bits >= 25 && va_bits <= 48;
}

/* D8.3: blocks from Arm level 1 with the 4 KiB granule, from level 2 with
 * 16 and 64 KiB (level-1 blocks there need FEAT_LPA2 / FEAT_LPA). */
static inline int nw_vmsa_first_block_level(unsigned granule_bits)
{
	return granule_bits == NW_VMSA_GRANULE_BITS ? 1 : 2;
}

/* D8.3 (the 64 KiB granule's descriptors) and the pseudocode's AArch64.NextTableBase and AArch64.LeafBase:
 * bits 15:12 of a 64 KiB-granule table, block or page descriptor are OA[51:48] on a PE with a 52-bit PAMax
 * (and, IMPLEMENTATION DEFINED, on others); the library takes them as such, so with an output size of at most
 * 48 bits a non-zero value is an address beyond it (AArch64.OAOutOfRange: an Address size fault). The other
 * granules hold no OA bit below the granule. */
static inline uint64_t nw_vmsa_oa_high_bits(unsigned granule_bits)
{
	return granule_bits == 16 ? UINT64_C(0xf000) : 0;
}

/* The geometry of a walk of va_bits from Arm level start_level with a
 * granule of 2^granule_bits bytes: library level 4 - n for Arm level n, a
 * granule's worth of entries below the start level and as many as va_bits
 * leave at it (more than a granule's: concatenated tables); blocks from the
 * first block level, pages at 3; table pointers are bits 1:0 0b11 and name a
 * granule-aligned table. */
void nw_vmsa_format(struct nw_pt_format *fmt, const char *name, unsigned granule_bits, unsigned va_bits,
		    int start_level);

#endif
