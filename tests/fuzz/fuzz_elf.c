/* The ELF guest-image loader (sim/scenario/elf_image.c, libelf) on arbitrary bytes,
 * into a VM with lazy RAM, ROM and an MMIO hole: it must either load the image
 * or refuse it with "NAME: offset 0x...: what", never crash, read out of bounds
 * or leak a frame. A loaded image is checked against the program headers as
 * this harness reads them itself: every PT_LOAD no other one overlaps holds
 * its file bytes, then zeroes up to p_memsz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "mem/simmem.h"
#include "scenario/elf_image.h"

#define NAME "fuzz-image.elf"
/* Small regions: a segment's bytes are copied (and zero-filled to p_memsz) through the HAL, so what a region
 * can hold bounds the work of one input. */
#define RAM_SIZE (UINT64_C(256) << 10)           /* [0, 256 KiB): lazy RAM */
#define ROM_BASE (UINT64_C(1) << 20)             /* [1 MiB, +16 KiB): ROM, written as a loader would */
#define ROM_SIZE (UINT64_C(16) << 10)
#define MMIO_BASE (UINT64_C(2) << 20)            /* [2 MiB, +4 KiB): never backed */
#define HIGH_BASE (UINT64_C(16) << 20)           /* [16 MiB, +256 KiB): lazy RAM */
#define HIGH_SIZE (UINT64_C(256) << 10)

struct load {
	uint64_t offset, paddr, filesz, memsz;
};

static _Noreturn void fail(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "fuzz_elf: %s (%#llx, %#llx)\n", what, (unsigned long long)a, (unsigned long long)b);
	abort();
}

static struct nw_simmem *shared_host(void)
{
	static struct nw_simmem *sim;
	struct nw_simmem_config config = { .size = UINT64_C(1) << 30, .strict = true, .poison = true,
					   .keep_freed = true };

	if (!sim)
		sim = nw_simmem_create(&config);
	return sim;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The PT_LOAD headers straight from the bytes (ELF spec, "Program Header"): class from e_ident, e_phoff,
 * e_phnum, then each entry's fields at their offsets. Returns how many; 0 when the table is not plain
 * (extended numbering) so nothing is checked. */
static size_t read_loads(const uint8_t *d, size_t size, struct load *out, size_t max)
{
	bool is64 = d[4] == 2;
	uint64_t phoff = is64 ? le(d + 32, 8) : le(d + 28, 4);
	uint64_t phnum = le(d + (is64 ? 56 : 44), 2), entsize = is64 ? 56 : 32;
	size_t n = 0;

	if (phnum == 0xffff)
		return 0;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = d + phoff + i * entsize;

		if (phoff + (i + 1) * entsize > size)
			fail("the loader accepted program headers past the end", phoff, phnum);
		if (le(ph, 4) != 1) /* PT_LOAD */
			continue;
		if (n == max)
			return 0;
		if (is64)
			out[n++] = (struct load){ le(ph + 8, 8), le(ph + 24, 8), le(ph + 32, 8), le(ph + 40, 8) };
		else
			out[n++] = (struct load){ le(ph + 4, 4), le(ph + 12, 4), le(ph + 16, 4), le(ph + 20, 4) };
	}
	return n;
}

static bool overlaps_another(const struct load *loads, size_t n, size_t which)
{
	const struct load *a = &loads[which];

	for (size_t i = 0; i < n; i++) {
		const struct load *b = &loads[i];

		if (i != which && b->memsz && a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
			return true;
	}
	return false;
}

static void check_loaded(const struct nw_aspace *as, const uint8_t *data, size_t size)
{
	static struct load loads[64];
	static uint8_t got[4096];
	size_t n = read_loads(data, size, loads, 64);

	for (size_t i = 0; i < n; i++) {
		const struct load *l = &loads[i];

		if (overlaps_another(loads, n, i))
			continue;
		if (l->offset > size || l->filesz > size - l->offset || l->filesz > l->memsz)
			fail("the loader accepted a PT_LOAD that does not fit", l->offset, l->filesz);
		for (uint64_t done = 0; done < l->memsz;) {
			uint64_t len = l->memsz - done < sizeof(got) ? l->memsz - done : sizeof(got);

			if (nw_aspace_read(as, nw_gpa(l->paddr + done), got, len) != NW_OK)
				fail("a loaded segment cannot be read back", l->paddr, done);
			for (uint64_t j = 0; j < len; j++) {
				uint64_t at = done + j;
				uint8_t want = at < l->filesz ? data[l->offset + at] : 0;

				if (got[j] != want)
					fail("guest memory differs from the image", l->paddr + at, got[j]);
			}
			done += len;
		}
	}
}

static void add(struct nw_aspace *as, uint64_t base, uint64_t size, enum nw_region_type type, bool lazy)
{
	struct nw_region r = { .base = nw_gpa(base), .size = size, .type = type, .lazy = lazy,
			       .flags = NW_REGION_READ | NW_REGION_EXEC |
					(type == NW_REGION_ROM ? 0 : NW_REGION_WRITE) };

	if (nw_aspace_add_region(as, &r) != NW_OK)
		fail("cannot add a region", base, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_simmem *sim = shared_host();
	const struct nw_hal *hal = sim ? nw_simmem_owner(sim, "fuzz") : NULL;
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_aspace as;
	char err[512] = "";
	uint64_t leaked;

	if (!hal || nw_aspace_init(&as, hal, &config) != NW_OK)
		fail("cannot set up the VM", 0, 0);
	add(&as, 0, RAM_SIZE, NW_REGION_ALLOC, true);
	add(&as, ROM_BASE, ROM_SIZE, NW_REGION_ROM, false);
	add(&as, MMIO_BASE, 4096, NW_REGION_MMIO, false);
	add(&as, HIGH_BASE, HIGH_SIZE, NW_REGION_ALLOC, true);
	if (nw_elf_image_load_buffer(NAME, data, size, &as, err, sizeof(err)) != 0) {
		if (strncmp(err, NAME ": offset 0x", strlen(NAME ": offset 0x")) != 0) {
			fprintf(stderr, "fuzz_elf: refused without a located message: '%s'\n", err);
			abort();
		}
	} else {
		check_loaded(&as, data, size);
	}
	nw_aspace_destroy(&as);
	leaked = nw_simmem_reset(sim);
	if (leaked)
		fail("frames leaked", leaked, 0);
	return 0;
}
