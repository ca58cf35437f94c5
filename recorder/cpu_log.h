/* The control registers as QEMU's own log shows them: run with `-d cpu
 * -dfilter ADDR+1,... -D LOG`, QEMU writes the CPU state into LOG before each
 * block that starts at a filtered address, and flushes it there at once. An
 * instruction that writes a control register or an MSR ends its block, so
 * the next block starts at the instruction after it, from QEMU's main loop,
 * which logs it: read right after, the log's newest state is the one the
 * write left. */
#ifndef NESTWALK_RECORDER_CPU_LOG_H
#define NESTWALK_RECORDER_CPU_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct nw_recorder_regs {
	uint64_t cr0, cr3, cr4, efer;
};

/* The state after RESET (SDM Vol. 3A §10.1.1, Table 10-1): CR0 60000010H, CR3, CR4 and EFER 0. */
#define NW_RECORDER_REGS_RESET ((struct nw_recorder_regs){ .cr0 = 0x60000010 })

/* A state as logged: the control registers, and in 64-bit mode what an instruction's memory operand is computed from
 * (decode.h): the general registers by number (RAX 0, RCX 1, RDX 2, RBX 3, RSP 4, RBP 5, RSI 6, RDI 7, R8-R15),
 * and the FS and GS bases. */
struct nw_cpu_state {
	struct nw_recorder_regs regs;
	bool long64;       /* the 64-bit form (RAX= first) with a 64-bit code segment (CS64) */
	uint64_t gpr[16];
	uint64_t fs_base, gs_base;
};

struct nw_cpu_log {
	FILE *file;
};

/* Opens the log for reading (QEMU creates it at start); 0, or -1 with err set. */
int nw_cpu_log_open(struct nw_cpu_log *log, const char *path, char *err, size_t errlen);
void nw_cpu_log_close(struct nw_cpu_log *log);
/* Passes over everything logged so far. */
void nw_cpu_log_skip(struct nw_cpu_log *log);
/* The first CPU state logged since the last skip or read, then passes over the rest: true with *state set, or
 * false when no complete state was logged. */
bool nw_cpu_log_read(struct nw_cpu_log *log, struct nw_cpu_state *state);
/* One line of the log into the state being put together in *state (*seen: how far, 0 at first): true when the
 * line completes it. */
bool nw_cpu_log_parse_line(const char *line, struct nw_cpu_state *state, unsigned *seen);

#endif
