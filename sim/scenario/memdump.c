/* QEMU guest-memory dumps (memdump.h): validated with libelf and by hand, so
 * that a damaged file gives its offset and problem instead of a bad read. */
#define _DEFAULT_SOURCE
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/file_map.h"
#include "io/grow.h"
#include "scenario/memdump.h"

/* QEMUCPUState (QEMU target/i386/arch_dump.c): version, size, 16 GPRs, RIP,
 * RFLAGS, ten 24-byte segments (QEMUCPUSegment: selector, limit, flags, pad,
 * base; CS first), then cr[5]. */
#define QEMU_NOTE_NAME "QEMU"
#define QEMU_CPUSTATE_CS_FLAGS_OFFSET (8 + 18 * 8 + 8)
#define QEMU_CPUSTATE_CR_OFFSET (8 + 18 * 8 + 10 * 24)
#define QEMU_CPUSTATE_MIN_SIZE (QEMU_CPUSTATE_CR_OFFSET + 5 * 8)

/* Backed only when the naturally aligned 8-byte word holding pa lies in one range: the walkers read (and
 * set A/D in) a whole 4- or 8-byte entry through the pointer, and a PT_LOAD may end anywhere. */
static void *dump_phys_to_virt(void *ctx, nw_hpa_t pa)
{
	return nw_memdump_ptr(ctx, pa.val, 8 - (pa.val & 7));
}

/* A dump is memory as it was: there is nothing to allocate from. */
static bool dump_alloc_frame(void *ctx, nw_hpa_t *frame)
{
	(void)ctx;
	(void)frame;
	return false;
}

static void dump_dealloc_frame(void *ctx, nw_hpa_t frame)
{
	(void)ctx;
	(void)frame;
}

static const struct nw_hal_ops dump_hal_ops = {
	.alloc_frame = dump_alloc_frame,
	.dealloc_frame = dump_dealloc_frame,
	.phys_to_virt = dump_phys_to_virt,
};

void *nw_memdump_ptr(const struct nw_memdump *dump, uint64_t gpa, uint64_t len)
{
	size_t lo = 0, hi = dump->range_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct nw_memdump_range *r = &dump->ranges[mid];

		if (gpa < r->gpa) {
			hi = mid;
		} else if (gpa - r->gpa >= r->size) {
			lo = mid + 1;
		} else {
			if (len > r->size - (gpa - r->gpa))
				return NULL;
			return r->data + (gpa - r->gpa);
		}
	}
	return NULL;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct nw_memdump_range *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static uint64_t read_le(const uint8_t *p, unsigned bytes)
{
	uint64_t value = 0;

	for (unsigned i = 0; i < bytes; i++)
		value |= (uint64_t)p[i] << (8 * i);
	return value;
}

/* The program-header table as the raw header places it: entry size, and
 * inside the file (before libelf reads it). */
static int check_phdr_table(const char *path, const uint8_t *map, size_t size, char *err, size_t errlen)
{
	bool is64 = map[EI_CLASS] == ELFCLASS64;
	size_t at_phoff = is64 ? offsetof(Elf64_Ehdr, e_phoff) : offsetof(Elf32_Ehdr, e_phoff);
	size_t at_phentsize = is64 ? offsetof(Elf64_Ehdr, e_phentsize) : offsetof(Elf32_Ehdr, e_phentsize);
	size_t at_phnum = is64 ? offsetof(Elf64_Ehdr, e_phnum) : offsetof(Elf32_Ehdr, e_phnum);
	uint64_t phoff = read_le(map + at_phoff, is64 ? 8 : 4);
	uint64_t phentsize = read_le(map + at_phentsize, 2), phnum = read_le(map + at_phnum, 2);
	uint64_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	if (phentsize != want)
		return nw_file_fail(err, errlen, path, at_phentsize, "e_phentsize %llu, expected %llu",
			    (unsigned long long)phentsize, (unsigned long long)want);
	if (phnum == PN_XNUM)
		return nw_file_fail(err, errlen, path, at_phnum, "e_phnum is PN_XNUM: more program headers than a dump has");
	if (nw_is_past_end(phoff, phnum * phentsize, size))
		return nw_file_fail(err, errlen, path, at_phoff,
			    "program headers at 0x%llx (%llu of %llu bytes) run past the end of the file (0x%zx bytes)",
			    (unsigned long long)phoff, (unsigned long long)phnum, (unsigned long long)phentsize, size);
	return 0;
}

/* The ELF identification and header fields libelf takes on trust. */
static int check_header(const char *path, const uint8_t *map, size_t size, char *err, size_t errlen)
{
	if (size < EI_NIDENT || memcmp(map, ELFMAG, SELFMAG))
		return nw_file_fail(err, errlen, path, 0, "not an ELF file (bad magic)");
	if (map[EI_CLASS] != ELFCLASS64 && map[EI_CLASS] != ELFCLASS32)
		return nw_file_fail(err, errlen, path, EI_CLASS, "unknown ELF class %u", map[EI_CLASS]);
	if (map[EI_DATA] != ELFDATA2LSB)
		return nw_file_fail(err, errlen, path, EI_DATA, "not little-endian (EI_DATA %u); x86 dumps are", map[EI_DATA]);
	if (size < (map[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return nw_file_fail(err, errlen, path, size, "file ends inside the ELF header");
	return check_phdr_table(path, map, size, err, errlen);
}

static int read_qemu_note(const char *path, struct nw_memdump *dump, Elf *elf, const GElf_Phdr *ph, char *err,
			  size_t errlen)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nhdr;

	if (!data)
		return nw_file_fail(err, errlen, path, ph->p_offset, "unreadable PT_NOTE segment: %s", elf_errmsg(-1));
	while (off < data->d_size) {
		size_t next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off);

		if (!next)
			return nw_file_fail(err, errlen, path, ph->p_offset + off, "malformed note header");
		if (nhdr.n_namesz == sizeof(QEMU_NOTE_NAME) &&
		    !memcmp((const char *)data->d_buf + name_off, QEMU_NOTE_NAME, sizeof(QEMU_NOTE_NAME))) {
			const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;
			uint32_t state_size;

			if (nhdr.n_descsz < QEMU_CPUSTATE_MIN_SIZE)
				return nw_file_fail(err, errlen, path, ph->p_offset + desc_off,
					    "QEMU note of %u bytes, too short for QEMUCPUState (%u)", nhdr.n_descsz,
					    QEMU_CPUSTATE_MIN_SIZE);
			memcpy(&state_size, desc + 4, sizeof(state_size));
			if (state_size < QEMU_CPUSTATE_MIN_SIZE || state_size > nhdr.n_descsz)
				return nw_file_fail(err, errlen, path, ph->p_offset + desc_off + 4,
					    "QEMUCPUState size field %u outside %u..%u", state_size,
					    QEMU_CPUSTATE_MIN_SIZE, nhdr.n_descsz);
			if (!dump->has_cpu) { /* the first CPU's note */
				memcpy(dump->cr, desc + QEMU_CPUSTATE_CR_OFFSET, sizeof(dump->cr));
				memcpy(&dump->cs_flags, desc + QEMU_CPUSTATE_CS_FLAGS_OFFSET, sizeof(dump->cs_flags));
				dump->has_cpu = true;
			}
		}
		off = next;
	}
	return 0;
}

static int add_load(const char *path, struct nw_memdump *dump, const GElf_Phdr *ph, size_t index, uint64_t ph_off,
		    char *err, size_t errlen)
{
	struct nw_memdump_range range;

	if (nw_is_past_end(ph->p_offset, ph->p_filesz, dump->map_size))
		return nw_file_fail(err, errlen, path, ph_off,
			    "PT_LOAD %zu: file range 0x%llx+0x%llx runs past the end of the file (0x%zx bytes)", index,
			    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, dump->map_size);
	if (ph->p_paddr + ph->p_filesz < ph->p_paddr)
		return nw_file_fail(err, errlen, path, ph_off, "PT_LOAD %zu: guest-physical range 0x%llx+0x%llx wraps", index,
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_filesz);
	if (!ph->p_filesz)
		return 0;
	dump->ranges = nw_grow(dump->ranges, &dump->range_cap, dump->range_count, sizeof(*dump->ranges));
	range = (struct nw_memdump_range){
		.gpa = ph->p_paddr, .size = ph->p_filesz, .data = dump->map + ph->p_offset, .offset = ph->p_offset
	};
	/* ELF cores align their data only as their notes happen to end (QEMU pads notes to 4 bytes). Walkers read
	 * naturally aligned 8-byte entries, so a segment whose bytes sit at another address modulo 8 is copied. */
	if (((uintptr_t)range.data ^ range.gpa) & 7) {
		void *copy = mmap(NULL, range.size + 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (copy == MAP_FAILED)
			return nw_file_fail(err, errlen, path, ph_off, "PT_LOAD %zu: no memory for an aligned copy", index);
		range.data = (uint8_t *)copy + (range.gpa & 7);
		memcpy(range.data, dump->map + ph->p_offset, range.size);
		range.copied = true;
	}
	dump->ranges[dump->range_count++] = range;
	return 0;
}

static int parse(const char *path, struct nw_memdump *dump, Elf *elf, char *err, size_t errlen)
{
	bool is64 = dump->map[EI_CLASS] == ELFCLASS64;
	size_t phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	GElf_Ehdr eh;
	size_t phnum;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return nw_file_fail(err, errlen, path, 0, "not a readable ELF file: %s", elf_errmsg(-1));
	if (eh.e_type != ET_CORE)
		return nw_file_fail(err, errlen, path, 16, "e_type %u is not ET_CORE: not a guest-memory dump", eh.e_type);
	if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386)
		return nw_file_fail(err, errlen, path, 18, "e_machine %u is not x86", eh.e_machine);
	if (eh.e_ehsize != ehsize)
		snprintf(dump->warning, sizeof(dump->warning),
			 "%s: e_ehsize is %u, not %zu (QEMU 7.2 writes 8); the header is read at its fixed size", path,
			 eh.e_ehsize, ehsize);
	if (elf_getphdrnum(elf, &phnum))
		return nw_file_fail(err, errlen, path, is64 ? 56 : 44, "unreadable program-header count: %s", elf_errmsg(-1));
	if (eh.e_phentsize != phentsize)
		return nw_file_fail(err, errlen, path, is64 ? 54 : 42, "e_phentsize %u, expected %zu", eh.e_phentsize,
			    phentsize);
	if (phnum > dump->map_size / phentsize || nw_is_past_end(eh.e_phoff, phnum * phentsize, dump->map_size))
		return nw_file_fail(err, errlen, path, is64 ? 32 : 28,
			    "program headers at 0x%llx (%zu of %zu bytes) run past the end of the file (0x%zx bytes)",
			    (unsigned long long)eh.e_phoff, phnum, phentsize, dump->map_size);
	for (size_t i = 0; i < phnum; i++) {
		uint64_t ph_off = eh.e_phoff + i * phentsize;
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return nw_file_fail(err, errlen, path, ph_off, "unreadable program header %zu: %s", i, elf_errmsg(-1));
		if (ph.p_type == PT_NOTE) {
			if (nw_is_past_end(ph.p_offset, ph.p_filesz, dump->map_size))
				return nw_file_fail(err, errlen, path, ph_off, "PT_NOTE runs past the end of the file");
			if (read_qemu_note(path, dump, elf, &ph, err, errlen))
				return -1;
		} else if (ph.p_type == PT_LOAD && add_load(path, dump, &ph, i, ph_off, err, errlen)) {
			return -1;
		}
	}
	if (!dump->range_count)
		return nw_file_fail(err, errlen, path, eh.e_phoff, "no PT_LOAD segment: the dump holds no memory");
	qsort(dump->ranges, dump->range_count, sizeof(dump->ranges[0]), compare_ranges);
	for (size_t i = 1; i < dump->range_count; i++)
		if (dump->ranges[i - 1].gpa + dump->ranges[i - 1].size > dump->ranges[i].gpa)
			return nw_file_fail(err, errlen, path, dump->ranges[i].offset,
				    "PT_LOAD at gpa 0x%llx overlaps the one at gpa 0x%llx",
				    (unsigned long long)dump->ranges[i].gpa,
				    (unsigned long long)dump->ranges[i - 1].gpa);
	return 0;
}

/* Checks and indexes the dump whose bytes dump->map holds. */
static int open_map(const char *path, struct nw_memdump *dump, char *err, size_t errlen)
{
	Elf *elf;
	int rc;

	if (check_header(path, dump->map, dump->map_size, err, errlen)) {
		nw_memdump_close(dump);
		return -1;
	}
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)dump->map, dump->map_size);
	if (!elf) {
		nw_file_fail(err, errlen, path, 0, "libelf cannot read it: %s", elf_errmsg(-1));
		nw_memdump_close(dump);
		return -1;
	}
	rc = parse(path, dump, elf, err, errlen);
	elf_end(elf);
	if (rc) {
		nw_memdump_close(dump);
		return -1;
	}
	dump->hal = (struct nw_hal){ .ops = &dump_hal_ops, .ctx = dump };
	return 0;
}

int nw_memdump_open(const char *path, struct nw_memdump *dump, char *err, size_t errlen)
{
	void *map;

	*dump = (struct nw_memdump){ 0 };
	/* Private and writable: A/D updates land in copies of the touched pages only. */
	if (nw_file_map(path, true, &map, &dump->map_size, err, errlen))
		return -1;
	dump->map = map;
	return open_map(path, dump, err, errlen);
}

int nw_memdump_open_buffer(const char *name, void *data, size_t size, struct nw_memdump *dump, char *err,
			   size_t errlen)
{
	*dump = (struct nw_memdump){ .map = data, .map_size = size, .borrowed = true };
	return open_map(name, dump, err, errlen);
}

void nw_memdump_close(struct nw_memdump *dump)
{
	if (dump->map && dump->map != MAP_FAILED && !dump->borrowed)
		munmap(dump->map, dump->map_size);
	for (size_t i = 0; i < dump->range_count; i++)
		if (dump->ranges[i].copied)
			munmap(dump->ranges[i].data - (dump->ranges[i].gpa & 7), dump->ranges[i].size + 8);
	free(dump->ranges);
	*dump = (struct nw_memdump){ 0 };
}
