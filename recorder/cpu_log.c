/* QEMU's log of CPU states (cpu_log.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cpu_log.h"

/* Fields of x86_cpu_dump_state()'s text (QEMU target/i386/cpu-dump.c): a state starts with its EAX= or RAX= line,
 * holds one "CR0=... CR2=... CR3=... CR4=..." line and ends with its "EFER=" line. */
#define SEEN_START 1u
#define SEEN_CR 2u

bool nw_cpu_log_parse_line(const char *line, struct nw_recorder_regs *regs, unsigned *seen)
{
	uint64_t cr0, cr2, cr3, cr4;

	if (!strncmp(line, "EAX=", 4) || !strncmp(line, "RAX=", 4)) {
		*seen = SEEN_START;
	} else if (*seen == SEEN_START && sscanf(line, "CR0=%" SCNx64 " CR2=%" SCNx64 " CR3=%" SCNx64 " CR4=%" SCNx64,
						   &cr0, &cr2, &cr3, &cr4) == 4) {
		regs->cr0 = cr0;
		regs->cr3 = cr3;
		regs->cr4 = cr4;
		*seen |= SEEN_CR;
	} else if (*seen == (SEEN_START | SEEN_CR) && sscanf(line, "EFER=%" SCNx64, &regs->efer) == 1) {
		*seen = 0;
		return true;
	}
	return false;
}

int nw_cpu_log_open(struct nw_cpu_log *log, const char *path, char *err, size_t errlen)
{
	log->file = fopen(path, "r");
	if (!log->file) {
		snprintf(err, errlen, "regs=%s: cannot read QEMU's log there (run QEMU with -d cpu -dfilter ... -D %s): %s",
			 path, path, strerror(errno));
		return -1;
	}
	return 0;
}

void nw_cpu_log_close(struct nw_cpu_log *log)
{
	if (log->file)
		fclose(log->file);
	log->file = 0;
}

void nw_cpu_log_skip(struct nw_cpu_log *log)
{
	fseek(log->file, 0, SEEK_END);
}

bool nw_cpu_log_read(struct nw_cpu_log *log, struct nw_recorder_regs *regs)
{
	struct nw_recorder_regs next;
	unsigned seen = 0;
	char line[512];

	clearerr(log->file); /* a read at the end before: QEMU has written since */
	while (fgets(line, sizeof(line), log->file)) {
		if (nw_cpu_log_parse_line(line, &next, &seen)) {
			*regs = next;
			nw_cpu_log_skip(log);
			return true;
		}
	}
	return false;
}
