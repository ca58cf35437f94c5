/* The recorder's arguments: QEMU hands over each `-plugin file=...,KEY=VALUE`
 * pair as one "KEY=VALUE" string; they are read here, every one checked. */
#ifndef NESTWALK_RECORDER_ARGS_H
#define NESTWALK_RECORDER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpa.h"

enum nw_recorder_fetch {
	NW_RECORDER_FETCH_BLOCK = 0, /* a block's first instruction, and the first one on each new page */
	NW_RECORDER_FETCH_INSN,      /* every instruction */
};

struct nw_recorder_args {
	const char *out;          /* out=PATH: the trace (argv's string, which QEMU keeps) */
	bool text;                /* format=text (else binary) */
	bool zstd;                /* compress=zstd (the default) or none */
	struct nw_recorder_layout layout; /* ram=SIZE [below4g=SIZE] */
	enum nw_recorder_fetch fetch;     /* fetch=block|insn */
	bool has_trigger_gva;
	uint64_t trigger_gva;     /* trigger_gva=ADDR: start at the first access at this address */
	uint64_t trigger_count;   /* trigger_count=N: start after N accesses (0: at once) */
	bool trigger_user;        /* trigger=user: start at the first user-mode access */
	uint64_t limit;           /* limit=N: stop after N accesses (0: never) */
	bool store_bytes;         /* store_bytes=on: each store to RAM also as the gpwrite of its bytes */
	const char *regs;         /* regs=LOG: CR0/CR3/CR4/EFER writes, their values from QEMU's log (cpu_log.h) */
	const char *writers;      /* writers=PATH: at exit, the -dfilter list of the instructions after them */
	const char *snapshot;     /* snapshot=PATH: guest RAM at the trigger, as an ELF core (snapshot.h) */
	const char *scenario;     /* scenario=PATH: the replay scenario of snapshot, registers and trace */
};

/* 0, or -1 with err naming the argument and what is wrong with it. */
int nw_recorder_args_parse(int argc, char **argv, struct nw_recorder_args *args, char *err, size_t errlen);

#endif
