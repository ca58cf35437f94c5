/* QEMU's log of CPU states (cpu_log.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cpu_log.h"

/* Fields of x86_cpu_dump_state()'s text (QEMU target/i386/cpu-dump.c): a state starts with its EAX= or RAX= line,
 * holds one "CR0=... CR2=... CR3=... CR4=..." line and ends with its "EFER=" line. The 64-bit form gives the general
 * registers four to a line (RAX RBX RCX RDX, RSI RDI RBP RSP, R8 R9 R10 R11, R12 R13 R14 R15, "R8 =" padded) and
 * each segment as "FS =selector base limit flags", with "CS64" on a 64-bit code segment's line. */
#define SEEN_START 1u
#define SEEN_CR 2u

static const char *const gpr_names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
					   "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15" };

/* The "NAME=value" fields of a line of general registers. */
static void parse_gprs(const char *line, struct nw_cpu_state *state)
{
	for (const char *at = line; (at = strchr(at, '=')); at++) {
		for (unsigned i = 0; i < 16; i++) {
			if (at - line >= 3 && !strncmp(at - 3, gpr_names[i], 3))
				sscanf(at + 1, "%" SCNx64, &state->gpr[i]);
		}
	}
}

bool nw_cpu_log_parse_line(const char *line, struct nw_cpu_state *state, unsigned *seen)
{
	struct nw_recorder_regs *regs = &state->regs;
	uint64_t cr0, cr2, cr3, cr4;
	unsigned selector;

	if (!strncmp(line, "EAX=", 4) || !strncmp(line, "RAX=", 4)) {
		*seen = SEEN_START;
		state->long64 = false;
		parse_gprs(line, state);
	} else if (*seen == SEEN_START && (!strncmp(line, "RSI=", 4) || !strncmp(line, "R8 =", 4) ||
					   !strncmp(line, "R12=", 4))) {
		parse_gprs(line, state);
	} else if (*seen == SEEN_START && !strncmp(line, "CS =", 4)) {
		state->long64 = strstr(line, " CS64 ") != NULL;
	} else if (*seen == SEEN_START && !strncmp(line, "FS =", 4)) {
		sscanf(line + 4, "%x %" SCNx64, &selector, &state->fs_base);
	} else if (*seen == SEEN_START && !strncmp(line, "GS =", 4)) {
		sscanf(line + 4, "%x %" SCNx64, &selector, &state->gs_base);
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

bool nw_cpu_log_read(struct nw_cpu_log *log, struct nw_cpu_state *state)
{
	struct nw_cpu_state next = { .long64 = false };
	unsigned seen = 0;
	char line[512];

	clearerr(log->file); /* a read at the end before: QEMU has written since */
	while (fgets(line, sizeof(line), log->file)) {
		if (nw_cpu_log_parse_line(line, &next, &seen)) {
			*state = next;
			nw_cpu_log_skip(log);
			return true;
		}
	}
	return false;
}
