/* What the second-stage images (hw/aarch64/, hw/riscv64/) share around their own way into a guest: the scratch
 * region's tags and what a load or store left there, and the loop over the case blob (s2_image.c). */
#ifndef HW_S2_IMAGE_H
#define HW_S2_IMAGE_H

#include <stdint.h>

#include <nestwalk/hal.h>

#include "contract/case_tree.h"

struct hw_s2_image {
	uint32_t arch;        /* enum hw_blob_arch: the blobs this image runs */
	const char *not_ours; /* the refusal of any other blob */
	uint64_t blob_base, blob_max;
	uint64_t pool_base, pool_size;
	uint64_t scratch_base, scratch_size;
	uint32_t stop_insn;    /* bits 31:0 of every scratch word: the instruction that brings a fetch back */
	uint64_t write_word;   /* what a write case stores */
	hw_case_tail_fn *tail; /* what a case carries after its entries (NULL: nothing) */
	/* Builds the case's tables, runs it and undoes them, printing the rest of its "c ID" line; NULL, or why the
	 * case is malformed (nothing printed, nothing left allocated). Its tail follows the entries. */
	const char *(*run_case)(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
				const struct nw_hal *hal);
};

/* " ok PA" for a loaded scratch tag (bits 63:32 the word's address), else " raw VALUE". */
void hw_s2_put_load(const struct hw_s2_image *img, uint64_t value);
/* " ok PA" for the one scratch word holding the stored word (tagged again), else " raw -". */
void hw_s2_put_store(const struct hw_s2_image *img);
/* Tags the scratch region, runs every case of the blob at blob_base (one "c ID ..." line each, "c ID" out
 * before the case runs), prints the count and the frames still live, and exits with the passing status; a
 * malformed blob or case exits with HW_EXIT_BAD_BLOB after naming it and its offset. */
_Noreturn void hw_s2_image_run(const struct hw_s2_image *img);

#endif
