/* Guest RAM as an ELF core (snapshot.h). */
#define _POSIX_C_SOURCE 200809L
#include <elf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/file_out.h"
#include "snapshot.h"

#define PAGE 4096u

struct piece {
	uint64_t gpa, offset, size; /* guest-physical address, offset in the RAM file, bytes */
};

static bool is_zero(const uint8_t *page)
{
	static const uint8_t zero[PAGE];

	return !memcmp(page, zero, PAGE);
}

/* The piece's bytes at file offset at: non-zero pages written, zero ones skipped (a hole). */
static int put_piece(FILE *file, const uint8_t *host, uint64_t size, uint64_t at)
{
	for (uint64_t done = 0; done < size; done += PAGE) {
		uint64_t n = size - done < PAGE ? size - done : PAGE;

		if (n == PAGE && is_zero(host + done))
			continue;
		if (fseeko(file, (off_t)(at + done), SEEK_SET) || fwrite(host + done, 1, n, file) != n)
			return -1;
	}
	return 0;
}

int nw_snapshot_write(const char *path, const struct nw_ram_map *map, const struct nw_recorder_layout *layout,
		      char *err, size_t errlen)
{
	struct piece piece[2] = { { 0, 0, layout->below4g },
				  { NW_RECORDER_4G, layout->below4g, layout->ram - layout->below4g } };
	unsigned count = piece[1].size ? 2 : 1;
	uint64_t at = (sizeof(Elf64_Ehdr) + count * sizeof(Elf64_Phdr) + PAGE - 1) / PAGE * PAGE;
	Elf64_Ehdr eh = { .e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (Elf64_Half)count };
	const uint8_t *host[2];
	struct nw_file_out out;
	uint64_t end = at;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	for (unsigned i = 0; i < count; i++) {
		host[i] = nw_ram_map_host(map, piece[i].offset, piece[i].size);
		if (!host[i]) {
			snprintf(err, errlen, "snapshot %s: guest RAM at offset 0x%llx (0x%llx bytes) is not in one mapping "
				 "of its memfd (run QEMU with -object memory-backend-memfd,id=ram,size=SIZE -machine "
				 "memory-backend=ram)", path, (unsigned long long)piece[i].offset,
				 (unsigned long long)piece[i].size);
			return -1;
		}
	}
	if (nw_file_out_open(&out, path, 0, err, errlen))
		return -1;
	fwrite(&eh, sizeof(eh), 1, out.file);
	for (unsigned i = 0; i < count; i++) {
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = end,
				  .p_vaddr = 0, .p_paddr = piece[i].gpa, .p_filesz = piece[i].size,
				  .p_memsz = piece[i].size, .p_align = PAGE };

		fwrite(&ph, sizeof(ph), 1, out.file);
		end += piece[i].size;
	}
	end = at;
	for (unsigned i = 0; i < count; i++) {
		if (put_piece(out.file, host[i], piece[i].size, end)) {
			snprintf(err, errlen, "snapshot %s: write failed", path);
			nw_file_out_abandon(&out);
			return -1;
		}
		end += piece[i].size;
	}
	/* A hole at the end is not made by seeking: the file is sized to hold every piece. */
	if (fflush(out.file) || ftruncate(fileno(out.file), (off_t)end)) {
		snprintf(err, errlen, "snapshot %s: cannot size it to 0x%llx bytes", path, (unsigned long long)end);
		nw_file_out_abandon(&out);
		return -1;
	}
	return nw_file_out_commit(&out, err, errlen);
}

/* path as an absolute path, YAML-quoted: the current folder before a relative one. */
static int put_path(FILE *file, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -1;
	fputc('"', file);
	if (path[0] != '/')
		fprintf(file, "%s/", cwd);
	for (const char *c = path; *c; c++) {
		if (*c == '"' || *c == '\\')
			fputc('\\', file);
		fputc(*c, file);
	}
	fputc('"', file);
	return 0;
}

int nw_snapshot_scenario_write(const char *path, const char *snapshot, const char *trace,
			       const struct nw_recorder_regs *regs, char *err, size_t errlen)
{
	struct nw_file_out out;
	int bad;

	if (nw_file_out_open(&out, path, 0, err, errlen))
		return -1;
	fprintf(out.file, "# Guest RAM and registers at the recording's trigger, and its trace (nestwalk-recorder).\n"
		"cpu:\n  cr0: 0x%" PRIx64 "\n  cr3: 0x%" PRIx64 "\n  cr4: 0x%" PRIx64 "\n  efer: 0x%" PRIx64
		"\nguest:\n  memory_dump: ", regs->cr0, regs->cr3, regs->cr4, regs->efer);
	bad = put_path(out.file, snapshot);
	fputs("\ntrace: ", out.file);
	bad |= put_path(out.file, trace);
	fputc('\n', out.file);
	if (bad) {
		snprintf(err, errlen, "scenario %s: the current folder is unknown", path);
		nw_file_out_abandon(&out);
		return -1;
	}
	return nw_file_out_commit(&out, err, errlen);
}
