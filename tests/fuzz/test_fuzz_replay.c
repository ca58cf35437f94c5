/* Replays a fuzz target's seed corpus and its regression inputs (crashes
 * found by fuzzing, kept in tests/fuzz/regress/<target>/) through the target,
 * in the normal and the sanitizer builds. The target aborts on any finding
 * (walker disagreement, model mismatch, leaked frame), which fails the test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"

static unsigned replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	unsigned count = 0;

	if (!d)
		return 0;
	while ((ent = readdir(d))) {
		char path[4096];
		uint8_t *data;
		long size;
		FILE *f;

		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		f = fopen(path, "rb");
		cr_assert_not_null(f, "cannot open %s", path);
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		data = malloc(size ? (size_t)size : 1);
		cr_assert_not_null(data);
		cr_assert_eq(fread(data, 1, (size_t)size, f), (size_t)size, "cannot read %s", path);
		fclose(f);
		LLVMFuzzerTestOneInput(data, (size_t)size);
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

Test(fuzz_replay, seeds_and_regressions)
{
	unsigned seeds = replay_dir(FUZZ_DIR "/corpus/" FUZZ_TARGET);
	unsigned regressions = replay_dir(FUZZ_DIR "/regress/" FUZZ_TARGET);

	cr_assert_gt(seeds, 0, "no seeds for %s", FUZZ_TARGET);
	cr_log_info("%s: %u seeds, %u regression inputs replayed", FUZZ_TARGET, seeds, regressions);
}
