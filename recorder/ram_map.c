/* Host pointers into a memfd-backed guest RAM (ram_map.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ram_map.h"

/* The name QEMU gives the memfd of a memory-backend-memfd object, as /proc/self/maps shows it. */
#define MEMFD_NAME "/memfd:memory-backend-memfd"

int nw_ram_map_load(struct nw_ram_map *map)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long long inode, first_inode = 0;
	char line[512];

	*map = (struct nw_ram_map){ 0 };
	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		uintptr_t start, end;
		uint64_t offset;
		int path_at = 0;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %" SCNx64 " %*s %llu %n", &start, &end, &offset, &inode,
			   &path_at) != 4 || !path_at || strncmp(line + path_at, MEMFD_NAME, strlen(MEMFD_NAME)))
			continue;
		if (map->count && inode != first_inode)
			map->ambiguous = true;
		if (map->count == NW_RAM_MAP_MAX) {
			map->ambiguous = true;
			break;
		}
		first_inode = map->count ? first_inode : inode;
		map->range[map->count].start = start;
		map->range[map->count].end = end;
		map->range[map->count].offset = offset;
		map->count++;
	}
	fclose(maps);
	return 0;
}

const uint8_t *nw_ram_map_host(const struct nw_ram_map *map, uint64_t offset, uint64_t len)
{
	if (map->ambiguous)
		return 0;
	for (unsigned i = 0; i < map->count; i++) {
		uint64_t size = map->range[i].end - map->range[i].start;

		if (offset >= map->range[i].offset && offset - map->range[i].offset <= size &&
		    len <= size - (offset - map->range[i].offset))
			return (const uint8_t *)(map->range[i].start + (offset - map->range[i].offset));
	}
	return 0;
}

bool nw_ram_map_offset(const struct nw_ram_map *map, const void *host, uint64_t *offset)
{
	uintptr_t at = (uintptr_t)host;

	if (map->ambiguous)
		return false;
	for (unsigned i = 0; i < map->count; i++) {
		if (at >= map->range[i].start && at < map->range[i].end) {
			*offset = map->range[i].offset + (at - map->range[i].start);
			return true;
		}
	}
	return false;
}
