/* Found by fuzz_memdump: a dump whose PT_LOAD ends inside a page-table entry
 * let a walk read the entry past the end of the range (past the input, under
 * ASan). The dump's HAL now backs an address only when the aligned 8-byte word
 * holding it lies in one range. The dump here: one PT_LOAD of 12 bytes at
 * guest-physical 0x1000, so 0x1000..0x1007 is a whole entry and 0x1008..0x100b
 * half of one. */
#include <criterion/criterion.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "scenario/memdump.h"

#define DATA_OFFSET (64 + 56)

static uint8_t image[DATA_OFFSET + 12];

static void put(size_t at, uint64_t value, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		image[at + i] = (uint8_t)(value >> (8 * i));
}

/* ELF64 core, x86-64, one PT_LOAD (ELF spec field offsets). */
static void build(void)
{
	memset(image, 0, sizeof(image));
	memcpy(image, "\x7f" "ELF\x02\x01\x01", 7);
	put(16, 4, 2);           /* e_type ET_CORE */
	put(18, 62, 2);          /* e_machine EM_X86_64 */
	put(20, 1, 4);           /* e_version */
	put(32, 64, 8);          /* e_phoff */
	put(52, 64, 2);          /* e_ehsize */
	put(54, 56, 2);          /* e_phentsize */
	put(56, 1, 2);           /* e_phnum */
	put(64, 1, 4);           /* p_type PT_LOAD */
	put(64 + 8, DATA_OFFSET, 8);
	put(64 + 24, 0x1000, 8); /* p_paddr */
	put(64 + 32, 12, 8);     /* p_filesz */
	put(64 + 40, 12, 8);     /* p_memsz */
	put(DATA_OFFSET, 0x2003, 8);     /* a present PML4E at 0x1000 (index 0) */
	put(DATA_OFFSET + 8, 0x3003, 4); /* the low half of the PML4E at 0x1008 (index 1) */
}

Test(memdump_edge, an_entry_cut_by_the_range_end_is_not_backed)
{
	struct nw_memdump dump;
	char err[256] = "";

	build();
	cr_assert_eq(nw_memdump_open_buffer("edge.elf", image, sizeof(image), &dump, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nw_hal_phys_to_virt(&dump.hal, nw_hpa(0x1000)), image + DATA_OFFSET);
	cr_assert_eq(nw_hal_phys_to_virt(&dump.hal, nw_hpa(0x1004)), image + DATA_OFFSET + 4, "a 4-byte entry fits");
	cr_assert_null(nw_hal_phys_to_virt(&dump.hal, nw_hpa(0x1008)), "only 4 of the word's 8 bytes are in the dump");
	cr_assert_null(nw_hal_phys_to_virt(&dump.hal, nw_hpa(0x100c)));
	nw_memdump_close(&dump);
}

/* 4-level walk of 0x8000000000 (PML4 index 1) with CR3 0x1000: its PML4E is the cut entry at 0x1008, which
 * the walk must not read; no translation exists (whatever the outcome says, never an OK). */
Test(memdump_edge, a_walk_does_not_read_past_the_range)
{
	struct nw_memdump dump;
	struct nw_walk_config config;
	struct nw_cpu cpu = { .maxphyaddr = 40, .cr3 = 0x1000 };
	struct nw_access access = { .gva = nw_gva(UINT64_C(0x8000000000)), .size = 1, .type = NW_ACCESS_READ };
	struct nw_walk_result res;
	char err[256] = "";

	build();
	cr_assert_eq(nw_memdump_open_buffer("edge.elf", image, sizeof(image), &dump, err, sizeof(err)), 0, "%s", err);
	config = (struct nw_walk_config){ .hal = &dump.hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	nw_walk_reference(&config, &cpu, &access, NW_WALK_LOOKUP, &res);
	cr_assert_neq(res.outcome, NW_OUTCOME_OK);
	cr_assert(!res.steps[4].read, "the PML4E at 0x1008 was read");
	nw_memdump_close(&dump);
}
