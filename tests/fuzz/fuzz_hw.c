/* The hardware-outcome table and its check (fuzz_hw.h). */
#include "fuzz_hw.h"

#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "hw/qemu_1d.h"

const struct fz_hw_table fz_hw_qemu = { "QEMU 7.2 TCG -cpu max", fz_hw_qemu_1d,
					sizeof(fz_hw_qemu_1d) / sizeof(fz_hw_qemu_1d[0]) };

static int compare_key(const void *key, const void *row)
{
	return strcmp(key, ((const struct fz_hw_row *)row)->key);
}

const struct fz_hw_row *fz_hw_find(const struct fz_hw_table *table, const char *key)
{
	return bsearch(key, table->rows, table->count, sizeof(table->rows[0]), compare_key);
}

static bool is_same(const struct fz_hw_row *row, const struct fz_hw_walk *walk)
{
	if (row->kind == FZ_HW_OK)
		return !walk->page_fault;
	return walk->page_fault && walk->error_code == row->error_code;
}

/* rsvd-without-p: QEMU reports a reserved-bit #PF without P, where §4.7 sets P (the translation exists). */
static bool is_rsvd_without_p(const struct fz_hw_row *row, const struct fz_hw_walk *walk)
{
	return row->kind == FZ_HW_PF && walk->page_fault && (walk->error_code & (NW_PFEC_P | NW_PFEC_RSVD)) == (NW_PFEC_P | NW_PFEC_RSVD) &&
	       row->error_code == (walk->error_code & ~(uint64_t)NW_PFEC_P);
}

/* smap-implicit-ac: QEMU lets an implicit supervisor read of a user page through at CPL 0 with AC=1; §4.6.1
 * blocks implicit accesses whatever AC (a #PF with P alone: a supervisor read). */
static bool is_smap_implicit_ac(const struct fz_hw_row *row, const struct fz_hw_walk *walk)
{
	return row->kind == FZ_HW_OK && walk->page_fault && walk->error_code == NW_PFEC_P && walk->implicit &&
	       walk->cpl == 0 && walk->ac && walk->smap;
}

const char *fz_hw_disagreement(const struct fz_hw_row *row, const struct fz_hw_walk *walk)
{
	switch (row->deviation) {
	case FZ_HW_DEV_NONE:
		return is_same(row, walk) ? NULL : "the outcome differs from the hardware's";
	case FZ_HW_DEV_RSVD_WITHOUT_P:
		return is_rsvd_without_p(row, walk) ? NULL : "not the SDM's reserved-bit fault QEMU reports without P";
	case FZ_HW_DEV_SMAP_IMPLICIT_AC:
		return is_smap_implicit_ac(row, walk) ? NULL : "not the SMAP fault QEMU omits for implicit accesses with AC";
	}
	return "unknown deviation";
}
