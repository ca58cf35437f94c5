/* VMSAv8-64 geometry shared by the AArch64 stage 1 and stage 2 (vmsa.h). */
#include "vmsa.h"

/* Descriptor bits 1:0 of a table pointer (Arm ARM D8.3): valid, table. */
#define TABLE_BITS UINT64_C(3)
#define ADDR_MASK UINT64_C(0x0000fffffffff000) /* OA / next-level table address, bits 47:12 */

unsigned nw_vmsa_pa_size_bits(unsigned encoding)
{
	static const unsigned bits[8] = { 32, 36, 40, 42, 44, 48, 52, 0 };

	return bits[encoding & 7];
}

bool nw_vmsa_is_pa_size(unsigned bits)
{
	for (unsigned encoding = 0; encoding < 6; encoding++)
		if (nw_vmsa_pa_size_bits(encoding) == bits)
			return true;
	return false;
}

void nw_vmsa_format(struct nw_pt_format *fmt, const char *name, unsigned granule_bits, unsigned va_bits,
		    int start_level)
{
	static const char *const names[] = { [1] = "L3", [2] = "L2", [3] = "L1", [4] = "L0" };
	int top = 4 - start_level, block_top = 4 - nw_vmsa_first_block_level(granule_bits);
	uint64_t granule_mask = ADDR_MASK & ~((UINT64_C(1) << granule_bits) - 1);

	*fmt = (struct nw_pt_format){ .name = name, .entry_size = 8, .top = (uint8_t)top,
				      .table_addr_mask = granule_mask, .link_bit = UINT64_C(1) << 1 };
	for (int level = NW_LEVEL_PT; level <= top; level++) {
		unsigned shift = nw_vmsa_level_shift(granule_bits, 4 - level);
		unsigned bits = level == top ? va_bits - shift : nw_vmsa_stride(granule_bits);
		bool leaf_ok = level <= block_top;

		fmt->level[level] = (struct nw_pt_level_desc){
			.shift = (uint8_t)shift,
			.entries = UINT32_C(1) << bits,
			.leaf_ok = leaf_ok,
			.leaf_addr_mask = leaf_ok ? ADDR_MASK & ~((UINT64_C(1) << shift) - 1) : 0,
			.table_bits = TABLE_BITS,
			.name = names[level]
		};
	}
}
