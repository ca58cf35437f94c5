/* How `hw run --backend qemu-riscv64` judges the RISC-V image's line for a probe (sim/hw/hw_rv.h): the line parsed
 * as the command parses QEMU's output, compared with the library's answer. A line that differs in any compared
 * field is a mismatch naming it; QEMU's known departures count under their rows of hw/DEVIATIONS.md only when they
 * differ as the row says. Values (privileged spec, "Trap Cause Codes", "Special pseudoinstruction values for
 * guest-page faults"): a load, store and fetch guest-page fault are causes 21, 23, 20 (0x15, 0x17, 0x14); a load
 * page fault 13; htval the faulting GPA >> 2; htinst 0x3000 for a VS-stage PTE read, 0x3020 for its A/D write. */
#include <criterion/criterion.h>
#include <string.h>

#include "hw_line.h"
#include "hw/hw_rv.h"

/* The image's line "c 0 REST" for a read (case 0), judged against e. */
static struct judged judge(const struct nw_hw_rv_expect *e, const char *rest)
{
	const struct nw_hw_outcome o = hw_line("qemu-riscv64", rest);
	const struct nw_hw_deviation *row = NULL;
	struct nw_hw_case c = { 0 };
	struct judged j = { 0 };

	j.verdict = nw_hw_rv_compare(&c, e, &o, &row, j.problem, sizeof(j.problem));
	j.row = row ? row->id : NULL;
	return j;
}

static void assert_verdict(const struct nw_hw_rv_expect *e, const char *line, enum nw_hw_verdict verdict,
			   const char *row_or_problem)
{
	struct judged j = judge(e, line);

	cr_assert_eq(j.verdict, verdict, "%s: %s", line, j.problem);
	if (verdict == NW_HW_VERDICT_EXPLAINED)
		cr_assert_str_eq(j.row, row_or_problem);
	if (verdict == NW_HW_VERDICT_MISMATCH)
		cr_assert_str_eq(j.problem, row_or_problem);
}

/* A store through VA 0x401008 whose level-0 PTE, at GPA 0x81202008, the G-stage does not map: cause 23, htval
 * 0x81202008 >> 2 = 0x20480802, htinst 0x3000. QEMU 7.2 gives cause 21 with every other CSR the same. */
Test(hw_rv_verdict, a_store_fault_on_a_pte_read_given_as_a_load_s_is_its_row_and_nothing_else)
{
	const struct nw_hw_rv_expect e = {
		.trap = { .scause = 23, .stval = 0x401008, .htval = 0x20480802, .htinst = 0x3000, .gva = true }
	};

	assert_verdict(&e, "trap 0x17 0x401008 0x20480802 0x3000 1", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&e, "trap 0x15 0x401008 0x20480802 0x3000 1", NW_HW_VERDICT_EXPLAINED, "rv-implicit-cause");
	assert_verdict(&e, "trap 0x15 0x401008 0x20480804 0x3000 1", NW_HW_VERDICT_MISMATCH,
		       "mcause 0x15 on the CPU, 0x17 in the library");
	assert_verdict(&e, "trap 0x17 0x401008 0x20480802 0x0 1", NW_HW_VERDICT_MISMATCH,
		       "mtinst (htinst) 0x0 on the CPU, 0x3000 in the library");
}

/* A load through a VS-stage leaf without A in a table page the G-stage maps read-only: the A/D write faults, cause
 * 21, htval 0x20480802, htinst 0x3020. QEMU 7.2 writes A anyway and makes the final access: GPA 0x81001008, which
 * lands at 0x82001008, or faults there with htval 0x81001008 >> 2 = 0x20400402 and htinst 0. */
Test(hw_rv_verdict, an_a_d_write_qemu_lets_through_is_its_row_when_the_final_access_is_what_follows)
{
	const struct nw_hw_rv_expect e = {
		.trap = { .scause = 21, .stval = 0x401008, .htval = 0x20480802, .htinst = 0x3020, .gva = true },
		.final_pa = 0x82001008,
		.final_gpa = 0x81001008,
	};

	assert_verdict(&e, "trap 0x15 0x401008 0x20480802 0x3020 1", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&e, "ok 0x82001008", NW_HW_VERDICT_EXPLAINED, "rv-vs-ad-write-unchecked");
	assert_verdict(&e, "trap 0x15 0x401008 0x20400402 0x0 1", NW_HW_VERDICT_EXPLAINED, "rv-vs-ad-write-unchecked");
	assert_verdict(&e, "ok 0x82002008", NW_HW_VERDICT_MISMATCH, "the CPU gave 'ok 0x82002008', the library a trap");
	assert_verdict(&e, "trap 0x15 0x401008 0x20400402 0x3000 1", NW_HW_VERDICT_MISMATCH,
		       "mtval2 (htval) 0x20400402 on the CPU, 0x20480802 in the library");
}

/* A leaf with reserved bit 54 under PBMTE: a load guest-page fault at GPA 0x81001008 in the library; QEMU 7.2 with
 * Svpbmt takes the leaf as if the bit were clear. */
Test(hw_rv_verdict, a_leaf_bit_svpbmt_leaves_unchecked_is_its_row)
{
	const struct nw_hw_rv_expect e = {
		.trap = { .scause = 21, .stval = 0x81001008, .htval = 0x20400402, .gva = true },
		.leaf_high_bits = true,
	};

	assert_verdict(&e, "trap 0x15 0x81001008 0x20400402 0x0 1", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&e, "ok 0x82001008", NW_HW_VERDICT_EXPLAINED, "rv-leaf-high-bits-unchecked");
}

/* A completed load lands where the library says; a VS-stage page fault reaches M-mode with mstatus.GVA 1. */
Test(hw_rv_verdict, a_landing_place_or_a_csr_that_differs_is_a_mismatch)
{
	const struct nw_hw_rv_expect ok = { .ok = true, .pa = 0x82001008 };
	const struct nw_hw_rv_expect pf = { .trap = { .scause = 13, .stval = 0x401008, .gva = true } };

	assert_verdict(&ok, "ok 0x82001008", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&ok, "ok 0x82001010", NW_HW_VERDICT_MISMATCH, "PA 0x82001010 on the CPU, 0x82001008 in the library");
	assert_verdict(&pf, "trap 0xd 0x401008 0x0 0x0 1", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&pf, "trap 0xd 0x401008 0x0 0x0 0", NW_HW_VERDICT_MISMATCH,
		       "mstatus.GVA 0x0 on the CPU, 0x1 in the library");
	assert_verdict(&pf, "unsupported vsatp mode", NW_HW_VERDICT_NOT_RUN, NULL);
}

/* A load from an execute-only G-stage page at GPA 0x81010000 with the HS-level MXR: the library's translation
 * lands at 0x82001000; QEMU 7.2, reading the guest's MXR, gives a load guest-page fault with htval 0x81010000 >> 2
 * = 0x20404000 (rv-gstage-mxr-hs), and only that trap is the row's. */
Test(hw_rv_verdict, the_trap_qemu_gives_where_it_reads_mxr_otherwise_is_its_row)
{
	struct nw_hw_rv_expect e = { .ok = true, .pa = 0x82001000 };

	nw_hw_rv_expect_mxr(&e, &nw_hw_rv_gstage_mxr_hs, 21, 0x81010000, 0x20404000);
	assert_verdict(&e, "ok 0x82001000", NW_HW_VERDICT_MATCH, NULL);
	assert_verdict(&e, "trap 0x15 0x81010000 0x20404000 0x0 1", NW_HW_VERDICT_EXPLAINED, "rv-gstage-mxr-hs");
	assert_verdict(&e, "trap 0x15 0x81010000 0x20404000 0x3000 1", NW_HW_VERDICT_MISMATCH,
		       "the CPU gave 'trap 0x15 0x81010000 0x20404000 0x3000 1', the library a translation");
}
