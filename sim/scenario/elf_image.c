/* Loading ELF guest images (elf_image.h) with libelf; every header field
 * used as an offset or size is checked against the file first. */
#define _DEFAULT_SOURCE
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "io/file_map.h"
#include "scenario/elf_image.h"

static int load_segment(const char *path, struct nw_aspace *as, const uint8_t *file, const GElf_Phdr *ph,
			uint64_t ph_off, char *err, size_t errlen)
{
	static const uint8_t zeroes[4096];
	nw_status_t status;

	if (ph->p_filesz > ph->p_memsz)
		return nw_file_fail(err, errlen, path, ph_off, "PT_LOAD p_filesz 0x%llx exceeds p_memsz 0x%llx",
			    (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return nw_file_fail(err, errlen, path, ph_off, "PT_LOAD at paddr 0x%llx size 0x%llx wraps",
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	status = nw_aspace_write(as, nw_gpa(ph->p_paddr), file + ph->p_offset, ph->p_filesz);
	for (uint64_t done = ph->p_filesz; status == NW_OK && done < ph->p_memsz;) {
		uint64_t n = ph->p_memsz - done < sizeof(zeroes) ? ph->p_memsz - done : sizeof(zeroes);

		status = nw_aspace_write(as, nw_gpa(ph->p_paddr + done), zeroes, n);
		done += n;
	}
	if (status != NW_OK)
		return nw_file_fail(err, errlen, path, ph_off, "PT_LOAD at paddr 0x%llx size 0x%llx: %s",
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			    status == NW_ERR_NOT_FOUND ? "not RAM or ROM of any memory region"
						       : nw_status_name(status));
	return 0;
}

static int load_elf(const char *path, struct nw_aspace *as, const uint8_t *file, size_t size, char *err,
		    size_t errlen)
{
	size_t phentsize, phnum, loaded = 0;
	GElf_Ehdr eh;
	Elf *elf;
	int rc = 0;

	if (size < EI_NIDENT || memcmp(file, ELFMAG, SELFMAG))
		return nw_file_fail(err, errlen, path, 0, "not an ELF file (bad magic)");
	if ((file[EI_CLASS] != ELFCLASS64 && file[EI_CLASS] != ELFCLASS32) || file[EI_DATA] != ELFDATA2LSB)
		return nw_file_fail(err, errlen, path, EI_CLASS, "not a little-endian 32- or 64-bit ELF file");
	if (size < (file[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return nw_file_fail(err, errlen, path, size, "file ends inside the ELF header");
	phentsize = file[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	elf_version(EV_CURRENT);
	/* libelf's elf_memory takes char * but only reads the image (nw_elf_image_load maps it read-only). */
	elf = elf_memory((char *)(uintptr_t)file, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum)) {
		rc = nw_file_fail(err, errlen, path, 0, "libelf cannot read it: %s", elf_errmsg(-1));
		goto out;
	}
	if (eh.e_phentsize != phentsize || phnum > size / phentsize ||
	    nw_is_past_end(eh.e_phoff, phnum * phentsize, size)) {
		rc = nw_file_fail(err, errlen, path, eh.e_phoff, "program headers (%zu of %u bytes) do not fit in the file",
			  phnum, eh.e_phentsize);
		goto out;
	}
	for (size_t i = 0; i < phnum && !rc; i++) {
		uint64_t ph_off = eh.e_phoff + i * phentsize;
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			rc = nw_file_fail(err, errlen, path, ph_off, "unreadable program header %zu", i);
		} else if (ph.p_type == PT_LOAD) {
			if (nw_is_past_end(ph.p_offset, ph.p_filesz, size))
				rc = nw_file_fail(err, errlen, path, ph_off,
					  "PT_LOAD file range 0x%llx+0x%llx runs past the end of the file "
					  "(0x%zx bytes)",
					  (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz, size);
			else
				rc = load_segment(path, as, file, &ph, ph_off, err, errlen);
			loaded++;
		}
	}
	if (!rc && !loaded)
		rc = nw_file_fail(err, errlen, path, eh.e_phoff, "no PT_LOAD segment to load");
out:
	if (elf)
		elf_end(elf);
	return rc;
}

int nw_elf_image_load(const char *path, struct nw_aspace *as, char *err, size_t errlen)
{
	void *map;
	size_t size;
	int rc;

	if (nw_file_map(path, false, &map, &size, err, errlen))
		return -1;
	rc = load_elf(path, as, map, size, err, errlen);
	munmap(map, size);
	return rc;
}

int nw_elf_image_load_buffer(const char *name, const void *image, size_t size, struct nw_aspace *as, char *err,
			     size_t errlen)
{
	return load_elf(name, as, image, size, err, errlen);
}

int nw_scenario_load_elf_image(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	char path[4096], inner[512];

	if (!sc->elf_image)
		return 0;
	if (nw_scenario_file_path(sc, sc->elf_image, path, sizeof(path))) {
		snprintf(err, errlen, "%s:%d:%d: elf_image: file name too long", sc->file, sc->elf_image_pos.line,
			 sc->elf_image_pos.column);
		return -1;
	}
	if (nw_elf_image_load(path, &vm->aspace, inner, sizeof(inner))) {
		snprintf(err, errlen, "%s:%d:%d: elf_image: %s", sc->file, sc->elf_image_pos.line,
			 sc->elf_image_pos.column, inner);
		return -1;
	}
	return 0;
}
