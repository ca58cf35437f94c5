/* Guest-physical addresses of RAM offsets (gpa.h). */
#include "gpa.h"

#define PC_MAX_RAM_BELOW_4G 0xe0000000ull /* 3.5 GiB: QEMU's default max-ram-below-4g */
#define PC_ALIGNED_RAM_BELOW_4G 0xc0000000ull /* 3 GiB: the split moved to a gigabyte boundary */

struct nw_recorder_layout nw_recorder_layout_pc(uint64_t ram)
{
	struct nw_recorder_layout layout = { .ram = ram, .below4g = ram };

	if (ram >= PC_MAX_RAM_BELOW_4G)
		layout.below4g = PC_ALIGNED_RAM_BELOW_4G;
	return layout;
}

bool nw_recorder_gpa_from_ram_offset(const struct nw_recorder_layout *layout, uint64_t offset, uint64_t *gpa)
{
	if (offset < layout->below4g) {
		*gpa = offset;
		return true;
	}
	if (offset < layout->ram) {
		*gpa = NW_RECORDER_4G + (offset - layout->below4g);
		return true;
	}
	return false;
}

bool nw_recorder_ram_offset_from_gpa(const struct nw_recorder_layout *layout, uint64_t gpa, uint64_t *offset)
{
	if (gpa < layout->below4g) {
		*offset = gpa;
		return true;
	}
	if (gpa >= NW_RECORDER_4G && gpa - NW_RECORDER_4G < layout->ram - layout->below4g) {
		*offset = layout->below4g + (gpa - NW_RECORDER_4G);
		return true;
	}
	return false;
}
