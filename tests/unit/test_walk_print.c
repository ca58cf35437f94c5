/* The outcome printers: JSON keys and values a script relies on, and the
 * --explain listing of a two-dimensional walk. */
#define _POSIX_C_SOURCE 200809L

#include <nestwalk/ept.h>
#include <nestwalk/walk.h>
#include <stdio.h>
#include <stdlib.h>

#include "replay/walk_print.h"
#include "test_walk_util.h"

TestSuite(walk_print, .init = tw_setup, .fini = tw_teardown);

#define GVA UINT64_C(0x00007f1234567abc) /* PML4 254, PDPT 72, PD 418, PT 359 */

static char *print(void (*fn)(FILE *, const struct nw_walk_result *), const struct nw_walk_result *res)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	cr_assert_not_null(out);
	fn(out, res);
	fclose(out);
	return text;
}

static void assert_has(const char *text, const char *needle)
{
	cr_assert_not_null(strstr(text, needle), "missing \"%s\" in:\n%s", needle, text);
}

Test(walk_print, json_of_a_page_fault)
{
	uint64_t tables[NW_MAX_LEVELS + 1];
	struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);
	struct nw_walk_result res;
	char *text;

	tw_map_4k(4, GVA, UINT64_C(0x123456000), NW_PTE_P | NW_PTE_RW | NW_PTE_US, NW_PTE_P | NW_PTE_RW, tables);
	tw.cpu.cpl = 3;
	tw_walk(&access, 0, &res);
	text = print(nw_walk_print_json, &res);
	assert_has(text, "\"outcome\": \"page_fault\"");
	assert_has(text, "\"gva\": \"0x7f1234567abc\"");
	assert_has(text, "\"error_code\": \"0x7\"");
	assert_has(text, "\"cr2\": \"0x7f1234567abc\"");
	assert_has(text, "\"refs\": 4");
	assert_has(text, "\"mode\": \"4-level\"");
	/* A fault has no translation: no gpa, hpa, page size, rights or memory type (docs/json.md). */
	cr_assert_null(strstr(text, "\"gpa\""), "%s", text);
	cr_assert_null(strstr(text, "\"hpa\""), "%s", text);
	cr_assert_null(strstr(text, "page_size"), "%s", text);
	cr_assert_null(strstr(text, "rights"), "%s", text);
	cr_assert_null(strstr(text, "memory_type"), "%s", text);
	cr_assert_eq(text[0], '{');
	cr_assert_eq(text[strlen(text) - 1], '}');
	free(text);
}

Test(walk_print, json_and_explain_of_a_2d_translation)
{
	struct nw_ept ept;
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);
	struct nw_walk_result res;
	uint64_t gpas[] = { 0x5000, 0x4000, 0x3000, 0x2000, 0x1000 }; /* page, PT, PD, PDPT, PML4 */
	uint64_t hpas[5];
	char *text;

	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	for (int i = 0; i < 5; i++) {
		hpas[i] = tw_frame();
		cr_assert_eq(nw_ept_map(&ept, nw_gpa(gpas[i]), nw_hpa(hpas[i]), NW_PAGE_SIZE,
					NW_EPT_R | NW_EPT_W | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB), 0, NULL), NW_OK);
	}
	tw_set(hpas[4], 254, 0x2000 | NW_PTE_P | NW_PTE_RW, 8);
	tw_set(hpas[3], 72, 0x3000 | NW_PTE_P | NW_PTE_RW, 8);
	tw_set(hpas[2], 418, 0x4000 | NW_PTE_P | NW_PTE_RW, 8);
	tw_set(hpas[1], 359, 0x5000 | NW_PTE_P | NW_PTE_RW, 8);
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_4LEVEL);
	tw.cpu.cr3 = 0x1000;
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &ept };
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);

	text = print(nw_walk_print_json, &res);
	assert_has(text, "\"outcome\": \"ok\"");
	assert_has(text, "\"gpa\": \"0x5abc\"");
	assert_has(text, "\"refs\": 24");
	assert_has(text, "\"memory_type\": \"WB\"");
	assert_has(text, "\"rights\": \"rwx-\""); /* read, write, execute, supervisor (docs/json.md) */
	free(text);

	text = print(nw_walk_print_explain, &res);
	assert_has(text, "guest L4 PML4E[254]  table gpa 0x1000");
	assert_has(text, "guest L1 PTE[359]  table gpa 0x4000");
	assert_has(text, "stage-2 L4");
	assert_has(text, "final gpa 0x5abc");
	assert_has(text, "outcome ok, 24 memory references");
	free(text);
	nw_ept_destroy(&ept);
}

Test(walk_print, explain_decodes_an_ept_violation)
{
	struct nw_walk_result res = {
		.outcome = NW_OUTCOME_EPT_VIOLATION, .mode = NW_PAGING_4LEVEL, .exit_qualification = 0x8b,
		.fault_gpa = { 0x3000 }, .s2_on_table = true,
	};
	char *text = print(nw_walk_print_explain, &res);

	assert_has(text, "access read write, entry rights r---, linear address valid, guest paging structure");
	free(text);
	text = print(nw_walk_print_json, &res);
	assert_has(text, "\"outcome\": \"ept_violation\"");
	assert_has(text, "\"exit_qualification\": \"0x8b\"");
	assert_has(text, "\"fault_gpa\": \"0x3000\"");
	cr_assert_null(strstr(text, "\"gpa\""), "%s", text);
	cr_assert_null(strstr(text, "memory_type"), "%s", text);
	cr_assert_null(strstr(text, "error_code"), "%s", text);
	free(text);
}

Test(walk_print, summary_of_aarch64_aborts)
{
	struct nw_walk_result res = { .outcome = NW_OUTCOME_STAGE1_ABORT };
	char *text;

	/* A stage-1 Permission fault at Arm level 3 (library level 1) of an EL1 read: ESR_EL1 0x9600000f. */
	res.fault_level = 1;
	res.esr = 0x9600000f;
	res.far = 0x40201123;
	text = print(nw_walk_print_summary, &res);
	assert_has(text, "outcome stage1_abort");
	assert_has(text, "stage-1 abort at guest L1, ESR_EL1 0x9600000f, FAR_EL1 0x40201123");
	free(text);
	/* A stage-2 Translation fault on a stage-1 table read: ESR_EL2 0x92000087 (S1PTW), the descriptor's IPA. */
	res.outcome = NW_OUTCOME_STAGE2_ABORT;
	res.esr = 0x92000087;
	res.fault_gpa = nw_gpa(0x41002008);
	res.s2_on_table = true;
	text = print(nw_walk_print_summary, &res);
	assert_has(text, "outcome stage2_abort");
	assert_has(text, "stage-2 abort, ipa 0x41002008 (stage-1 table walk), ESR_EL2 0x92000087, FAR_EL2 0x40201123");
	free(text);
}

Test(walk_print, summary_of_risc_v_traps)
{
	struct nw_walk_result res = { .outcome = NW_OUTCOME_PAGE_FAULT, .fault_level = 1 };
	char *text;

	/* A VS-stage load page fault (scause 13) at the leaf, stval the guest virtual address. */
	res.rv_trap = (struct nw_rv_trap){ .scause = 13, .stval = 0x40201123 };
	text = print(nw_walk_print_summary, &res);
	assert_has(text, "outcome page_fault");
	assert_has(text, "page fault at guest L1, scause 13, stval 0x40201123");
	free(text);
	/* A load guest-page fault (21) on the VS-stage PTE at GPA 0x8000_1008: htval 0x8000_1008 >> 2, htinst 0x3000. */
	res.outcome = NW_OUTCOME_GUEST_PAGE_FAULT;
	res.fault_gpa = nw_gpa(0x80001008);
	res.s2_on_table = true;
	res.rv_trap = (struct nw_rv_trap){ .scause = 21, .stval = 0x40201123, .htval = 0x20000402, .htinst = 0x3000,
					   .gva = true };
	text = print(nw_walk_print_summary, &res);
	assert_has(text, "outcome guest_page_fault");
	assert_has(text, "guest-page fault, gpa 0x80001008 (VS-stage table access), scause 21, stval 0x40201123, "
			 "htval 0x20000402, htinst 0x3000");
	free(text);
	/* A load access fault (5). */
	res.outcome = NW_OUTCOME_ACCESS_FAULT;
	res.rv_trap = (struct nw_rv_trap){ .scause = 5, .stval = 0x40201123, .gva = true };
	text = print(nw_walk_print_summary, &res);
	assert_has(text, "outcome access_fault");
	assert_has(text, "access fault, scause 5, stval 0x40201123");
	free(text);
}
