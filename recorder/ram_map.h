/* Host pointers into guest RAM back to offsets in it: instruction fetches
 * give the plugin a host pointer (qemu_plugin_insn_haddr), not a physical
 * address. With guest RAM in a memfd (QEMU's memory-backend-memfd), the
 * process's mapping of that file, read from /proc/self/maps, gives the file
 * offset of the pointer, which is its offset in the RAM block. Without such
 * a backend nothing converts and every fetch is recorded without its
 * guest-physical address. */
#ifndef NESTWALK_RECORDER_RAM_MAP_H
#define NESTWALK_RECORDER_RAM_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define NW_RAM_MAP_MAX 16

struct nw_ram_map {
	unsigned count;
	bool ambiguous; /* mappings of more than one memfd backend: none is used */
	struct {
		uintptr_t start, end;
		uint64_t offset;
	} range[NW_RAM_MAP_MAX];
};

/* Reads the mappings again; 0, or -1 when /proc/self/maps cannot be read. */
int nw_ram_map_load(struct nw_ram_map *map);
/* true and *offset set when host lies in a mapping of the RAM file. */
bool nw_ram_map_offset(const struct nw_ram_map *map, const void *host, uint64_t *offset);
/* The host address of len bytes at offset in the RAM file, or NULL when one mapping does not hold them all. */
const uint8_t *nw_ram_map_host(const struct nw_ram_map *map, uint64_t offset, uint64_t len);

#endif
