/* The recording: accesses as the plugin observes them become trace records
 * (traces/FORMAT.md) once the trigger is met, until the limit, through the
 * simulator's own trace writer. */
#ifndef NESTWALK_RECORDER_RECORD_H
#define NESTWALK_RECORDER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/level.h>

#include "args.h"
#include "cpu_log.h"

enum nw_recorder_state {
	NW_RECORDER_WAITING = 0, /* for the trigger */
	NW_RECORDER_RECORDING,
	NW_RECORDER_DONE,        /* the trace is closed: at the limit or at exit */
	NW_RECORDER_FAILED,      /* nothing more is written; the file was removed */
};

enum nw_recorder_target {
	NW_RECORDER_RAM = 0, /* guest RAM at a known guest-physical address */
	NW_RECORDER_MMIO,    /* a device's registers at a known guest-physical address */
	NW_RECORDER_UNKNOWN, /* the guest-physical address is not known: no expectation is written */
};

struct nw_recorder_access {
	uint64_t gva;
	uint32_t size;
	enum nw_access_type type;
	enum nw_recorder_target target;
	uint64_t gpa; /* RAM and MMIO */
	uint8_t cpl;  /* 0 supervisor, 3 user (privilege.h) */
	bool ac;      /* a supervisor access checked without SMAP */
	/* Why the privilege is not known, or NULL: the recording stops rather than write the access. */
	const char *unknown_privilege;
	/* A store to RAM with store_bytes=on: the bytes it left in memory up to the end of its page (len), or
	 * NULL when they cannot be read. */
	const uint8_t *bytes;
	uint32_t len;
};

struct nw_recording {
	struct nw_recorder_args args;
	struct nw_trace_writer *writer;
	enum nw_recorder_state state;
	uint64_t skipped;                 /* accesses before the trigger */
	uint64_t written;                 /* accesses in the trace */
	uint64_t by_type[3];              /* written, by enum nw_access_type */
	uint64_t user;                    /* written at CPL 3 */
	uint64_t mmio, unknown;           /* written to MMIO; written without a guest-physical address */
	uint64_t gpwrites;                /* stores' bytes written (store_bytes=on) */
	uint64_t cut, unread;             /* stores whose bytes past their page, or all of them, are missing */
	struct nw_recorder_regs regs;     /* regs=LOG: CR0, CR3, CR4 and EFER now */
	uint64_t reg_writes;              /* reg records written */
	uint64_t invalidations;           /* INVLPG and INVPCID written as invpcid type 2 */
	uint64_t invlpgs;                 /* INVLPG written with its address */
	double started, seconds;          /* when the recording started (monotonic clock), and how long it took */
	char error[512];                  /* why the recording failed */
};

/* Opens the trace; 0, or -1 with err set. */
int nw_recording_open(struct nw_recording *rec, const struct nw_recorder_args *args, char *err, size_t errlen);
/* One access, in program order. */
void nw_recording_put(struct nw_recording *rec, const struct nw_recorder_access *access);
/* regs=LOG: the registers after an instruction that may write them, cr the control register it names (MOV to
 * CRn) or -1. Writes a reg record for that register, and one for each other register that changed (EFER.LMA
 * follows CR0.PG, a WRMSR may write another MSR: then none), once recording. */
void nw_recording_regs(struct nw_recording *rec, const struct nw_recorder_regs *next, int cr);
/* An INVLPG or INVPCID, whose operands the plugin does not see: every TLB entry of every PCID, globals too,
 * goes (invpcid type 2), which is at least what the instruction invalidated. */
void nw_recording_invalidate(struct nw_recording *rec);
/* An INVLPG of the page at gva, as the registers logged after it give its operand. */
void nw_recording_invlpg(struct nw_recording *rec, uint64_t gva);
/* Stops the recording for why, removing the trace. */
void nw_recording_fail(struct nw_recording *rec, const char *why);
/* At exit: closes the trace if it is open (or removes it when the trigger never came). 0, or -1 when no
 * complete trace was written (the reason in rec->error). */
int nw_recording_close(struct nw_recording *rec);
/* What was recorded, one line. */
void nw_recording_summary(const struct nw_recording *rec, char *out, size_t outlen);

#endif
