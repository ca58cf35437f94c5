/* nw_scenario_load_text, the in-memory loader fuzz_scenario uses: a document
 * gives the scenario it describes, errors carry the given name with line and
 * column, and only the given bytes are read (the text need not end in NUL). */
#include <criterion/criterion.h>
#include <string.h>

#include "scenario/scenario.h"

static const char mmio_yaml[] = "host:\n"
				"  memory: 256M\n"
				"  seed: 7\n"
				"memory_regions:\n"
				"  - {gpa: 0x0, size: 16M, flags: 0x7, type: alloc}\n"
				"  - {gpa: 0xfee00000, size: 4K, flags: 0x3, type: mmio}\n";

Test(scenario_text, loads_what_it_says)
{
	struct nw_scenario sc;
	char err[512] = "";

	cr_assert_eq(nw_scenario_load_text("mem/mmio.yaml", mmio_yaml, strlen(mmio_yaml), &sc, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(sc.host_memory, UINT64_C(256) << 20);
	cr_assert_eq(sc.host_seed, 7);
	cr_assert_eq(sc.region_count, 2);
	cr_assert_eq(sc.regions[0].region.size, UINT64_C(16) << 20);
	cr_assert_eq(sc.regions[1].region.base.val, 0xfee00000);
	cr_assert_eq(sc.regions[1].region.type, NW_REGION_MMIO);
	cr_assert_str_eq(sc.file, "mem/mmio.yaml");
	nw_scenario_free(&sc);
}

/* Only size bytes count: the text cut after "seed: 7" has no regions. */
Test(scenario_text, reads_size_bytes_only)
{
	struct nw_scenario sc;
	char err[512] = "";
	size_t cut = (size_t)(strstr(mmio_yaml, "memory_regions") - mmio_yaml);

	cr_assert_eq(nw_scenario_load_text("cut.yaml", mmio_yaml, cut, &sc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sc.region_count, 0);
	nw_scenario_free(&sc);
}

/* Byte 0xff is never UTF-8: line 2, column 3 of the text. */
Test(scenario_text, errors_name_the_text_with_line_and_column)
{
	static const char bad[] = "host:\n  \xff: 1\n";
	struct nw_scenario sc;
	char err[512] = "";

	cr_assert_neq(nw_scenario_load_text("in-memory.yaml", bad, sizeof(bad) - 1, &sc, err, sizeof(err)), 0);
	cr_assert(strncmp(err, "in-memory.yaml:2:3: ", 20) == 0, "%s", err);
	nw_scenario_free(&sc);
}

Test(scenario_text, empty_text_is_an_empty_scenario)
{
	struct nw_scenario sc;
	char err[512] = "";
	int rc = nw_scenario_load_text("empty.yaml", "", 0, &sc, err, sizeof(err));

	cr_assert(rc == 0 || strncmp(err, "empty.yaml:", 11) == 0, "%s", err);
	nw_scenario_free(&sc);
}
