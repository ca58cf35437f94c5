/* Guest-physical addresses from what QEMU 7.2's plugin interface gives: for
 * RAM, qemu_plugin_hwaddr_phys_addr() returns the access's offset in QEMU's
 * RAM address space (ram_addr_t), not its guest-physical address. On the `pc`
 * machine the guest's RAM is the first block there, its first below4g bytes
 * at guest-physical 0 and the rest at 4 GiB; every other block (BIOS, option
 * ROMs, video memory) lies after it, at offsets that say nothing of where the
 * guest sees it. An instruction fetch gives a host pointer instead, which a
 * RAM file mapping turns into the same offset. */
#ifndef NESTWALK_RECORDER_GPA_H
#define NESTWALK_RECORDER_GPA_H

#include <stdbool.h>
#include <stdint.h>

#define NW_RECORDER_4G 0x100000000ull

struct nw_recorder_layout {
	uint64_t ram;     /* bytes of guest RAM (-m) */
	uint64_t below4g; /* of which at guest-physical 0 (the rest starts at 4 GiB) */
};

/* The `pc` machine's split of ram bytes (QEMU's pc_piix.c, for machine types
 * with gigabyte alignment, every one since pc-i440fx-1.7): all of it below
 * 4 GiB when it is smaller than 3.5 GiB, else 3 GiB below and the rest above. */
struct nw_recorder_layout nw_recorder_layout_pc(uint64_t ram);

/* The guest-physical address of offset in the RAM address space: true and
 * *gpa set when offset lies in guest RAM, false when it lies in another block. */
bool nw_recorder_gpa_from_ram_offset(const struct nw_recorder_layout *layout, uint64_t offset, uint64_t *gpa);
/* The other way: true and *offset set when gpa lies in guest RAM. */
bool nw_recorder_ram_offset_from_gpa(const struct nw_recorder_layout *layout, uint64_t gpa, uint64_t *offset);

#endif
