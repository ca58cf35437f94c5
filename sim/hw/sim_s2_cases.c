/* nestwalk-hw-sim for the second-stage blobs (AArch64, RISC-V): each case read from the blob (with what its
 * architecture carries after the entries) and handed to its architecture's half, which builds it as the image
 * does and prints the image's line from the library's answer. */
#include <stdio.h>
#include <string.h>

#include "hw/sim_s2.h"

int nw_hw_sim_s2_run(const uint8_t *data, size_t size, const struct nw_hal *hal, uint32_t case_count,
		     const struct nw_hw_sim_s2 *arch)
{
	size_t off = sizeof(struct hw_blob_header);

	for (uint32_t n = 0; n < case_count; n++) {
		struct hw_blob_case c;
		struct hw_blob_entry entries[HW_MAX_ENTRIES];
		uint64_t len = 0, tail_len = 0;
		const char *why = NULL;

		if (size - off < sizeof(c)) {
			why = "truncated";
		} else {
			memcpy(&c, data + off, sizeof(c));
			len = sizeof(c) + c.entry_count * sizeof(entries[0]);
			if (c.entry_count > HW_MAX_ENTRIES || size - off < len ||
			    (arch->tail && !arch->tail(&c, data + off + len, size - off - len, &tail_len)))
				why = "truncated";
		}
		if (!why) {
			memcpy(entries, data + off + sizeof(c), c.entry_count * sizeof(entries[0]));
			why = arch->run_case(hal, &c, entries, data + off + len);
		}
		if (why) {
			fprintf(stderr, "nestwalk-hw-sim: case #%u at offset 0x%zx: %s\n", n, off, why);
			return 2;
		}
		off += len + tail_len;
	}
	if (off != size) {
		fprintf(stderr, "nestwalk-hw-sim: offset 0x%zx: bytes after the last case\n", off);
		return 2;
	}
	return 0;
}
