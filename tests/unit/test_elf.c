/* ELF guest images and QEMU memory dumps (sim/scenario/elf_image.h, sim/scenario/memdump.h):
 * files written here byte by byte, as the ELF specification lays them out
 * (64-byte header, 56-byte program headers), QEMU's dump layout for the
 * note (QEMUCPUState with cr[5] at offset 392). */
#define _DEFAULT_SOURCE
#include <elf.h>
#include <nestwalk/aspace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "scenario/elf_image.h"
#include "scenario/memdump.h"

TestSuite(elf, .init = fixture_setup, .fini = fixture_teardown);

static char path[64];
static uint8_t file[0x4000];

struct segment {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

/* An ELF64 file of the given type with these program headers at offset 64. */
static size_t build(uint16_t type, uint16_t ehsize, const struct segment *segs, unsigned n)
{
	Elf64_Ehdr eh = { .e_type = type, .e_machine = EM_X86_64, .e_version = EV_CURRENT, .e_phoff = 64,
			  .e_ehsize = ehsize, .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (uint16_t)n };

	memset(file, 0, sizeof(file));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(file, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = { .p_type = segs[i].type, .p_offset = segs[i].offset, .p_paddr = segs[i].paddr,
				  .p_filesz = segs[i].filesz, .p_memsz = segs[i].memsz };

		memcpy(file + 64 + i * sizeof(ph), &ph, sizeof(ph));
	}
	return sizeof(file);
}

static void save(size_t size)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/nestwalk-elf-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, file, size), (ssize_t)size);
	close(fd);
}

Test(elf, image_segments_land_at_physical_addresses)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_region ram = { .base = nw_gpa(0), .size = 0x100000, .flags = NW_REGION_READ | NW_REGION_WRITE,
				 .type = NW_REGION_ALLOC };
	struct segment segs[] = {
		{ PT_LOAD, 0x1003, 0x10000, 5, 5 },          /* an unaligned file offset */
		{ PT_LOAD, 0x2000, 0x20ffe, 4, 0x1010 },     /* crosses a page; the rest of memsz is zeroed */
		{ PT_NOTE, 0x3000, 0, 8, 8 },                /* not loaded */
	};
	uint8_t got[0x1010], ones[0x1010];
	struct nw_aspace as;
	char err[256];

	build(ET_EXEC, sizeof(Elf64_Ehdr), segs, 3);
	memcpy(file + 0x1003, "hello", 5);
	memcpy(file + 0x2000, "\x01\x02\x03\x04", 4);
	save(sizeof(file));
	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &ram), NW_OK);
	memset(ones, 0xff, sizeof(ones));
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x20ffe), ones, sizeof(ones)), NW_OK);
	cr_assert_eq(nw_elf_image_load(path, &as, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x10000), got, 5), NW_OK);
	cr_assert_arr_eq(got, "hello", 5);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x20ffe), got, sizeof(got)), NW_OK);
	cr_assert_arr_eq(got, "\x01\x02\x03\x04", 4);
	for (size_t i = 4; i < sizeof(got); i++)
		cr_assert_eq(got[i], 0, "byte 0x%zx of the zero-filled tail", i);
	nw_aspace_destroy(&as);
	unlink(path);
}

Test(elf, image_file_range_past_the_end_names_the_header)
{
	struct segment seg = { PT_LOAD, 0x3ff0, 0x1000, 0x20, 0x20 };
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_aspace as;
	char err[256];

	build(ET_EXEC, sizeof(Elf64_Ehdr), &seg, 1);
	save(sizeof(file));
	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_elf_image_load(path, &as, err, sizeof(err)), -1);
	cr_assert(strstr(err, "offset 0x40: PT_LOAD file range 0x3ff0+0x20 runs past the end"), "%s", err);
	nw_aspace_destroy(&as);
	unlink(path);
}

/* A QEMU note: namesz 5 "QEMU", type 0, QEMUCPUState of 440 bytes. */
static void put_qemu_note(size_t at, const uint64_t cr[5])
{
	uint32_t head[3] = { 5, 440, 0 }, version_size[2] = { 1, 440 };

	memcpy(file + at, head, sizeof(head));
	memcpy(file + at + 12, "QEMU", 5);
	memcpy(file + at + 20, version_size, sizeof(version_size));
	memcpy(file + at + 20 + 392, cr, 5 * sizeof(uint64_t));
}

Test(elf, dump_ranges_registers_and_warning)
{
	static const uint64_t cr[5] = { 0x80050033, 0, 0x1234, 0x1000, 0x20 };
	struct segment segs[] = {
		{ PT_NOTE, 0x100, 0, 460, 460 },
		{ PT_LOAD, 0x2001, 0x100000, 0x1000, 0x1000 }, /* listed first, higher address */
		{ PT_LOAD, 0x3001, 0x0, 0xfff, 0xfff },
	};
	struct nw_memdump dump;
	nw_hpa_t frame;
	char err[256];

	build(ET_CORE, 8, segs, 3); /* QEMU 7.2's e_ehsize */
	put_qemu_note(0x100, cr);
	file[0x2001] = 0xab;
	file[0x3001 + 0xffe] = 0xcd;
	save(sizeof(file));
	cr_assert_eq(nw_memdump_open(path, &dump, err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(dump.warning, "e_ehsize is 8, not 64"));
	cr_assert(dump.has_cpu);
	cr_assert_eq(dump.cr[0], 0x80050033);
	cr_assert_eq(dump.cr[3], 0x1000);
	cr_assert_eq(dump.cr[4], 0x20);
	cr_assert_eq(dump.range_count, 2);
	cr_assert_eq(dump.ranges[0].gpa, 0);
	cr_assert_eq(*(uint8_t *)nw_memdump_ptr(&dump, 0xffe, 1), 0xcd);
	cr_assert_null(nw_memdump_ptr(&dump, 0xffe, 2), "crosses the end of the range");
	cr_assert_null(nw_memdump_ptr(&dump, 0xfff, 1), "the hole between the ranges");
	cr_assert_eq(*(uint8_t *)nw_memdump_ptr(&dump, 0x100000, 8), 0xab);
	cr_assert_null(nw_memdump_ptr(&dump, 0x101000, 1));
	cr_assert_eq(*(uint8_t *)nw_hal_phys_to_virt(&dump.hal, nw_hpa(0x100000)), 0xab);
	cr_assert(!nw_hal_alloc_frame(&dump.hal, &frame), "a dump has no frames to give");
	nw_memdump_close(&dump);
	unlink(path);
}

Test(elf, dump_errors_name_offsets)
{
	struct segment overlap[] = {
		{ PT_LOAD, 0x1000, 0x0, 0x2000, 0x2000 },
		{ PT_LOAD, 0x3000, 0x1000, 0x100, 0x100 },
	};
	struct segment none = { PT_NOTE, 0x100, 0, 0, 0 };
	struct nw_memdump dump;
	char err[256];

	build(ET_CORE, 64, overlap, 2);
	save(sizeof(file));
	cr_assert_eq(nw_memdump_open(path, &dump, err, sizeof(err)), -1);
	cr_assert(strstr(err, "offset 0x3000: PT_LOAD at gpa 0x1000 overlaps the one at gpa 0x0"), "%s", err);
	unlink(path);
	build(ET_CORE, 64, &none, 1);
	save(sizeof(file));
	cr_assert_eq(nw_memdump_open(path, &dump, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no PT_LOAD segment"), "%s", err);
	unlink(path);
	build(ET_EXEC, 64, overlap, 1);
	save(sizeof(file));
	cr_assert_eq(nw_memdump_open(path, &dump, err, sizeof(err)), -1);
	cr_assert(strstr(err, "offset 0x10: e_type 2 is not ET_CORE"), "%s", err);
	unlink(path);
	cr_assert_eq(nw_memdump_open("/nonexistent/dump.elf", &dump, err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/dump.elf"));
}
