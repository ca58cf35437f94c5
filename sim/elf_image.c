/* Loading ELF guest images (elf_image.h) with libelf; every header field
 * used as an offset or size is checked against the file first. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_image.h"

static __attribute__((format(printf, 5, 6))) int fail(char *err, size_t errlen, const char *path, uint64_t offset,
						     const char *fmt, ...)
{
	int used = snprintf(err, errlen, "%s: offset 0x%llx: ", path, (unsigned long long)offset);
	va_list ap;

	if (used >= 0 && (size_t)used < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_past_end(uint64_t offset, uint64_t len, uint64_t size)
{
	return offset > size || len > size - offset;
}

static int load_segment(const char *path, struct nw_aspace *as, const uint8_t *file, const GElf_Phdr *ph,
			uint64_t ph_off, char *err, size_t errlen)
{
	static const uint8_t zeroes[4096];
	nw_status_t status;

	if (ph->p_filesz > ph->p_memsz)
		return fail(err, errlen, path, ph_off, "PT_LOAD p_filesz 0x%llx exceeds p_memsz 0x%llx",
			    (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return fail(err, errlen, path, ph_off, "PT_LOAD at paddr 0x%llx size 0x%llx wraps",
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	status = nw_aspace_write(as, nw_gpa(ph->p_paddr), file + ph->p_offset, ph->p_filesz);
	for (uint64_t done = ph->p_filesz; status == NW_OK && done < ph->p_memsz;) {
		uint64_t n = ph->p_memsz - done < sizeof(zeroes) ? ph->p_memsz - done : sizeof(zeroes);

		status = nw_aspace_write(as, nw_gpa(ph->p_paddr + done), zeroes, n);
		done += n;
	}
	if (status != NW_OK)
		return fail(err, errlen, path, ph_off, "PT_LOAD at paddr 0x%llx size 0x%llx: %s",
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
		return fail(err, errlen, path, 0, "not an ELF file (bad magic)");
	if ((file[EI_CLASS] != ELFCLASS64 && file[EI_CLASS] != ELFCLASS32) || file[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, path, EI_CLASS, "not a little-endian 32- or 64-bit ELF file");
	if (size < (file[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return fail(err, errlen, path, size, "file ends inside the ELF header");
	phentsize = file[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)file, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum)) {
		rc = fail(err, errlen, path, 0, "libelf cannot read it: %s", elf_errmsg(-1));
		goto out;
	}
	if (eh.e_phentsize != phentsize || phnum > size / phentsize ||
	    is_past_end(eh.e_phoff, phnum * phentsize, size)) {
		rc = fail(err, errlen, path, eh.e_phoff, "program headers (%zu of %u bytes) do not fit in the file",
			  phnum, eh.e_phentsize);
		goto out;
	}
	for (size_t i = 0; i < phnum && !rc; i++) {
		uint64_t ph_off = eh.e_phoff + i * phentsize;
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			rc = fail(err, errlen, path, ph_off, "unreadable program header %zu", i);
		} else if (ph.p_type == PT_LOAD) {
			if (is_past_end(ph.p_offset, ph.p_filesz, size))
				rc = fail(err, errlen, path, ph_off,
					  "PT_LOAD file range 0x%llx+0x%llx runs past the end of the file "
					  "(0x%zx bytes)",
					  (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz, size);
			else
				rc = load_segment(path, as, file, &ph, ph_off, err, errlen);
			loaded++;
		}
	}
	if (!rc && !loaded)
		rc = fail(err, errlen, path, eh.e_phoff, "no PT_LOAD segment to load");
out:
	if (elf)
		elf_end(elf);
	return rc;
}

int nw_elf_image_load(const char *path, struct nw_aspace *as, char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd, rc;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s: cannot open it as a non-empty regular file", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map the file", path);
		return -1;
	}
	rc = load_elf(path, as, map, (size_t)st.st_size, err, errlen);
	munmap(map, (size_t)st.st_size);
	return rc;
}

int nw_scenario_file_path(const struct nw_scenario *sc, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(sc->file, '/');
	int n;

	if (name[0] == '/' || !slash)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - sc->file), sc->file, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
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
