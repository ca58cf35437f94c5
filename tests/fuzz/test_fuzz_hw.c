/* fuzz_walk's hardware check (fuzz_hw.h): every QEMU seed (corpus/walk/qemu-*,
 * one per row of the QEMU table) finds its row and agrees with it; and the check
 * bites: with the table's outcomes doctored, or a deviation row's deviation
 * taken away, a seed aborts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_hw.h"
#include "fuzz_target.h"

#define WALK_CORPUS FUZZ_DIR "/corpus/walk"

static void run_file(const char *name)
{
	char path[4096];
	uint8_t data[4096];
	size_t size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", WALK_CORPUS, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	size = fread(data, 1, sizeof(data), f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
}

/* Runs every QEMU seed; returns how many there were. */
static unsigned run_qemu_seeds(bool each_checked)
{
	DIR *d = opendir(WALK_CORPUS);
	struct dirent *ent;
	unsigned count = 0;

	cr_assert_not_null(d);
	while ((ent = readdir(d))) {
		unsigned long before = fz_walk_hw_checked;

		if (strncmp(ent->d_name, "qemu-", 5) != 0)
			continue;
		run_file(ent->d_name);
		if (each_checked)
			cr_assert_eq(fz_walk_hw_checked, before + 1, "%s: its case is not in the table", ent->d_name);
		count++;
	}
	closedir(d);
	return count;
}

/* A copy of the QEMU table with every row changed by edit. */
static void use_doctored(void (*edit)(struct fz_hw_row *row))
{
	struct fz_hw_row *rows = malloc(fz_hw_qemu.count * sizeof(*rows));
	static struct fz_hw_table table;

	cr_assert_not_null(rows);
	memcpy(rows, fz_hw_qemu.rows, fz_hw_qemu.count * sizeof(*rows));
	for (size_t i = 0; i < fz_hw_qemu.count; i++)
		edit(&rows[i]);
	table = (struct fz_hw_table){ "doctored", rows, fz_hw_qemu.count };
	fz_walk_hw_table = &table;
}

Test(fuzz_hw, every_qemu_seed_meets_its_row)
{
	unsigned seeds = run_qemu_seeds(true);

	cr_assert_eq(seeds, fz_hw_qemu.count, "one seed per row: %u seeds, %zu rows", seeds, fz_hw_qemu.count);
	cr_log_info("%u QEMU cases: walkers agree with QEMU", seeds);
}

static void flip_outcome(struct fz_hw_row *row)
{
	row->kind = row->kind == FZ_HW_OK ? FZ_HW_PF : FZ_HW_OK;
	row->deviation = FZ_HW_DEV_NONE;
}

Test(fuzz_hw, a_doctored_outcome_aborts, .signal = SIGABRT)
{
	use_doctored(flip_outcome);
	run_qemu_seeds(false);
}

static void other_error_code(struct fz_hw_row *row)
{
	if (row->kind == FZ_HW_PF && row->deviation == FZ_HW_DEV_NONE)
		row->error_code ^= 0x2; /* W */
}

Test(fuzz_hw, a_doctored_error_code_aborts, .signal = SIGABRT)
{
	use_doctored(other_error_code);
	run_qemu_seeds(false);
}

/* Without its deviation, a row holding QEMU's reserved-bit code without P disagrees with the walkers' SDM code. */
static void drop_rsvd_deviation(struct fz_hw_row *row)
{
	if (row->deviation == FZ_HW_DEV_RSVD_WITHOUT_P)
		row->deviation = FZ_HW_DEV_NONE;
}

Test(fuzz_hw, a_deviation_is_needed_to_explain_a_difference, .signal = SIGABRT)
{
	use_doctored(drop_rsvd_deviation);
	run_qemu_seeds(false);
}

/* A deviation named where QEMU followed the SDM does not excuse agreement: the walkers must differ exactly so. */
static void add_deviation(struct fz_hw_row *row)
{
	if (row->deviation == FZ_HW_DEV_NONE && row->kind == FZ_HW_PF)
		row->deviation = FZ_HW_DEV_RSVD_WITHOUT_P;
}

Test(fuzz_hw, a_deviation_does_not_excuse_the_sdm_outcome, .signal = SIGABRT)
{
	use_doctored(add_deviation);
	run_qemu_seeds(false);
}
