/* How `hw run --backend qemu-aarch64` judges the AArch64 image's line for a stage-1 probe (sim/hw/hw_a64.h): the
 * line parsed as the command parses QEMU's output, compared with the library's answer. A line that differs in any
 * compared field is a mismatch naming it; QEMU's two known departures count under their rows of hw/DEVIATIONS.md
 * only when they differ exactly as the row says. ESR values: EC << 26 | IL (bit 25) | ISS (Arm ARM D24.2.40
 * ESR_EL1 / D24.2.46 ESR_EL2: EC 0x24 data abort from a lower EL, 0x25 from the same EL; WnR bit 6; S1PTW bit 7;
 * DFSC 0b0001LL translation, 0b0011LL permission, LL the level). */
#include <criterion/criterion.h>
#include <string.h>

#include "hw_line.h"
#include "hw/hw_a64.h"

/* The image's line "c 0 REST" for case 0, judged against e. */
static struct judged judge(const struct nw_hw_a64_expect *e, const char *rest)
{
	const struct nw_hw_outcome o = hw_line("qemu-aarch64", rest);
	const struct nw_hw_deviation *row = NULL;
	struct nw_hw_case c = { 0 };
	struct judged j = { 0 };

	j.verdict = nw_hw_a64_compare(&c, e, &o, &row, j.problem, sizeof(j.problem));
	j.row = row ? row->id : NULL;
	return j;
}

static void assert_mismatch(const struct nw_hw_a64_expect *e, const char *line, const char *problem)
{
	struct judged j = judge(e, line);

	cr_assert_eq(j.verdict, NW_HW_VERDICT_MISMATCH, "%s", line);
	cr_assert_str_eq(j.problem, problem);
}

static void assert_row(const struct nw_hw_a64_expect *e, const char *line, const char *row)
{
	struct judged j = judge(e, line);

	cr_assert_eq(j.verdict, NW_HW_VERDICT_EXPLAINED, "%s: %s", line, j.problem);
	cr_assert_str_eq(j.row, row);
}

static void assert_match(const struct nw_hw_a64_expect *e, const char *line)
{
	struct judged j = judge(e, line);

	cr_assert_eq(j.verdict, NW_HW_VERDICT_MATCH, "%s: %s", line, j.problem);
}

/* An EL1 store to an EL1 read-only page (AP[2:1] 0b10): Permission fault, stage-1 level 3, taken to EL1 itself:
 * 0x96000000 | WnR 0x40 | 0x0f = 0x9600004f, FAR_EL1 the VA. */
Test(hw_a64_verdict, a_stage1_abort_is_compared_field_by_field)
{
	const struct nw_hw_a64_expect e = {
		.s1 = true, .outcome = NW_OUTCOME_STAGE1_ABORT, .esr = 0x9600004f, .far = 0x400000, .s1ptw_level = -1
	};

	assert_match(&e, "exc 0x9600004f 0x400000");
	/* The same fault without WnR (a load's syndrome): a wrong library answer or a wrong CPU, caught. */
	assert_mismatch(&e, "exc 0x9600000f 0x400000", "ESR_EL1 0x9600000f on the CPU, 0x9600004f in the library");
	assert_mismatch(&e, "exc 0x9600004f 0x400008", "FAR_EL1 0x400008 on the CPU, 0x400000 in the library");
	assert_mismatch(&e, "ok 0x42001000", "the CPU gave 'ok 0x42001000', the library a stage-1 abort taken to EL1");
	assert_mismatch(&e, "abort 0x9200004f 0x400000 0x400130",
			"the CPU gave 'abort 0x9200004f 0x400000 0x400130', the library a stage-1 abort taken to EL1");
}

/* A load whose level-1 stage-1 table (IPA 0x50000000) stage 2 does not map, its level-2 entry invalid: a
 * Translation fault at stage-2 level 2 on a stage-1 table read: 0x92000000 | S1PTW 0x80 | 0x06 = 0x92000086,
 * HPFAR_EL2 0x50000000 >> 12 << 4 = 0x500000. QEMU 7.2 names the stage-1 lookup's level 1 (0x92000085). */
Test(hw_a64_verdict, an_s1ptw_level_is_its_row_only_when_it_is_the_stage1_level)
{
	const struct nw_hw_a64_expect e = { .s1 = true,
					    .outcome = NW_OUTCOME_STAGE2_ABORT,
					    .esr = 0x92000086,
					    .far = 0xffffff8000000000,
					    .has_hpfar = true,
					    .hpfar = 0x500000,
					    .s1ptw_level = 1 };

	assert_match(&e, "abort 0x92000086 0xffffff8000000000 0x500000");
	assert_row(&e, "abort 0x92000085 0xffffff8000000000 0x500000", "a64-s1ptw-level");
	/* Level 0 is neither the Arm ARM's level nor the stage-1 lookup's. */
	assert_mismatch(&e, "abort 0x92000084 0xffffff8000000000 0x500000",
			"ESR_EL2 0x92000084 on the CPU, 0x92000086 in the library");
	/* The row says FAR_EL2 and HPFAR_EL2 are the Arm ARM's: another HPFAR_EL2 is a mismatch even then. */
	assert_mismatch(&e, "abort 0x92000085 0xffffff8000000000 0x510000",
			"HPFAR_EL2 (in the case's IPA) 0x510000 on the CPU, 0x500000 in the library");
	assert_mismatch(&e, "abort 0x92000086 0x0 0x500000",
			"FAR_EL2 0x0 on the CPU, 0xffffff8000000000 in the library");
}

/* A store at a page stage 2 makes read-only: Permission fault, stage-2 level 3, on the final access with the
 * image's store syndrome (ISV, SAS 0b11, SRT 1, SF: 0x01c18000): 0x92000000 | 0x01c18000 | WnR 0x40 | 0x0f =
 * 0x93c1804f; HPFAR_EL2 UNKNOWN in the Arm ARM, so the library has none. */
Test(hw_a64_verdict, a_hpfar_where_the_arm_arm_has_none_is_its_row)
{
	const struct nw_hw_a64_expect e = {
		.s1 = true, .outcome = NW_OUTCOME_STAGE2_ABORT, .esr = 0x93c1804f, .far = 0x406000, .s1ptw_level = -1
	};

	assert_match(&e, "abort 0x93c1804f 0x406000 -");
	assert_row(&e, "abort 0x93c1804f 0x406000 0x130", "a64-hpfar-permission");
	assert_mismatch(&e, "abort 0x93c1800f 0x406000 0x130",
			"ESR_EL2 0x93c1800f on the CPU, 0x93c1804f in the library");
}

Test(hw_a64_verdict, a_translation_is_where_the_access_landed)
{
	struct nw_hw_a64_expect e = { .s1 = true, .outcome = NW_OUTCOME_OK, .pa = 0x42001008, .s1ptw_level = -1 };

	assert_match(&e, "ok 0x42001008");
	assert_mismatch(&e, "ok 0x42002008", "PA 0x42002008 on the CPU, 0x42001008 in the library");
	assert_mismatch(&e, "exc 0x9600000f 0x400000",
			"the CPU gave 'exc 0x9600000f 0x400000', the library a translation");
	e.fetch = true; /* the image sees a fetch only as having run the scratch word: "ok -" */
	assert_match(&e, "ok -");
}
