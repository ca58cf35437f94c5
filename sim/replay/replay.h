/* Replaying a trace (traces/FORMAT.md) on a machine: accesses go through the
 * TLB model (tlb.h) and, on a miss, the two-dimensional walk; register writes
 * change the CPU and invalidate as the SDM says; guest-physical writes change
 * guest memory without touching the TLB (so a forgotten invalidation leaves
 * the stale entry hardware would use); expectations are compared field by
 * field. One record at a time, in constant memory; runs of accesses from
 * the batch reader take a fast path for TLB hits on recently used pages.
 * On an aarch64 machine the same loop applies AArch64 register writes and
 * TLBIs, walks with nw_arm64_walk and looks up the AArch64 TLB model
 * (replay_arm64.c), with no fast path. */
#ifndef NESTWALK_SIM_REPLAY_H
#define NESTWALK_SIM_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <nestwalk/arm64_s1.h>
#include <nestwalk/aspace.h>
#include <nestwalk/tlb.h>
#include <nestwalk/riscv_vs.h>
#include <nestwalk/tlb_arm64.h>
#include <nestwalk/tlb_riscv.h>
#include <nestwalk/walk.h>

#include "scenario/machine_cpu.h"
#include "scenario/memdump.h"
#include "scenario/scenario.h"
#include "trace/trace.h"

/* The guest runs with this VPID: VPID 0 is the host's (Vol. 3C §29.1). */
#define NW_REPLAY_VPID 1

/* What a replay runs on: a scenario's VM (aspace set), or a memory dump
 * (dump set: no second stage, guest-physical = host-physical). */
struct nw_replay_machine {
	const struct nw_hal *hal;
	struct nw_hal_window window; /* host memory the walker's plain copies read (hal.h); none for a dump */
	struct nw_stage2 stage2;
	struct nw_aspace *aspace;
	struct nw_memdump *dump;
	struct nw_cpu cpu;
	uint64_t eptp; /* with EPT: tags combined TLB entries, matched by INVEPT single-context */
	enum nw_trace_arch arch;      /* the scenario's: the trace must be of it */
	uint64_t vtcr, vttbr;         /* aarch64: the scenario's VTCR_EL2 and VTTBR_EL2 (its stage 2 and VMID) ... */
	struct nw_arm64_el1_regs el1; /* ... and its guest's EL1 registers and PSTATE (in the trace's layout) */
	uint64_t pstate;
	struct nw_rv_vs_cpu rv;       /* riscv64: the scenario's VS-stage hart state ... */
	uint64_t hgatp;               /* ... and hgatp (its G-stage and VMID) */
	struct nw_aspace *vms;        /* the scenario's further VMs (vms:), vm_count of them */
	size_t vm_count;
};

/* The machine's second stages: 0 the scenario's, 1 to vm_count its further VMs; NULL past the last. */
struct nw_aspace *nw_replay_machine_vm(const struct nw_replay_machine *machine, size_t i);

/* Outcome kinds replay counts: the trace's, plus no_memory, the host's own
 * failure (a guest table in memory nothing backs, or a lazy page the simulated
 * host had no frame for), which no trace can expect. */
#define NW_REPLAY_OUT_NO_MEMORY NW_TRACE_OUT_COUNT
#define NW_REPLAY_OUT_COUNT (NW_TRACE_OUT_COUNT + 1)
#define NW_REPLAY_REFS_MAX 35 /* histogram buckets 0..35; a 5-level over 5-level walk reads 35 */

struct nw_replay_stats {
	uint64_t records, accesses, translations; /* translations: 4 KiB pieces of accesses */
	uint64_t outcomes[NW_REPLAY_OUT_COUNT];
	uint64_t walks, refs_hist[NW_REPLAY_REFS_MAX + 1];
	uint64_t tlb_lookups, tlb_hits, psc_lookups, psc_hits;
	uint64_t reg_writes, gpwrites, s2edits, marks, populated;
	uint64_t host_exhausted;    /* accesses whose lazy page the simulated host had no frame for */
	uint64_t invalidations[4];  /* INVLPG, INVPCID, INVVPID, INVEPT */
	uint64_t failed_invalidations; /* #GP or VMfail: nothing invalidated */
	uint64_t cr3_faults;        /* MOV CR0/CR3/CR4 whose PAE PDPTE load faulted (a reserved bit: #GP) */
	uint64_t tlbis;             /* aarch64 TLBI records */
	uint64_t fences;            /* riscv64 fence records */
	uint64_t refused_writes;    /* aarch64: writes after which the library refuses the EL1 registers */
	uint64_t expectations, mismatches;
};

/* What one access gave, or one register write (reg_write: its PDPTE load, which may fault). */
struct nw_replay_result {
	unsigned kind;          /* enum nw_trace_outcome, or NW_REPLAY_OUT_NO_MEMORY */
	bool from_tlb;          /* the (first failing or last) piece came from a TLB entry, no walk */
	enum nw_tlb_cache_id cache;
	uint64_t gpa, hpa, error_code, exit_qualification, fault_gpa;
	uint32_t refs;
	uint64_t guest_page_size, s2_page_size;
	uint8_t misconfig_level;    /* an EPT misconfiguration's EPT level, else 0 */
	bool gla_valid;             /* an EPT violation's qualification bit 7, else false */
	uint64_t esr, far, hpfar;   /* an AArch64 abort's ESR_ELx and FAR_ELx, HPFAR_EL2 where defined; else 0 */
	struct nw_rv_trap rv_trap;  /* the CSRs a RISC-V trap wrote (translate --gva's), else 0 */
	uint8_t el;                 /* AArch64: the exception level the access was made at */
	bool reg_write;             /* the result of reg, not of an access */
	struct nw_trace_regwrite reg;
	struct nw_access access;    /* the piece the fields describe */
	struct nw_walk_result walk; /* its walk, when it was walked (a register write's PDPTE load) */
};

/* One field that did not match. */
struct nw_replay_mismatch {
	uint64_t record;       /* the expect record, 1-based */
	enum nw_trace_expect_field field;
	uint64_t expected, got;
};

struct nw_replay_options {
	bool tlb;               /* false: every access walks (--no-tlb) */
	bool no_explain;        /* walks record only what the TLB needs, so a mismatch cannot be explained
				 * level by level (--no-explain); with --no-tlb they record nothing */
	bool record_on_mismatch; /* a walk that wrote nothing records its stage-2 reads only when its
				  * expectation mismatches, by walking it again (NW_WALK_PLAIN_FIRST) */
};

/* An AArch64 replay's PE state (replay_arm64.c): the registers as the trace wrote them, stage 1 as the library
 * decodes them, and the TLB model. */
#define NW_REPLAY_A64TLB_ENTRIES 256

struct nw_replay_a64tlb_side {
	uint64_t ipa, guest_page_size; /* what a combined entry's hit reports beside its output */
	bool flat;                     /* made with stage 1 off (VA = IPA): not used once it is on, nor the reverse */
};

struct nw_replay_a64 {
	struct nw_arm64_el1_regs el1;
	uint64_t vttbr, hcr;
	struct nw_arm64_cpu cpu;
	struct nw_arm64_s1_caps caps;
	struct nw_walk_config no_s2; /* HCR_EL2.VM=0: the walk has no stage 2 */
	struct nw_a64tlb tlb;
	struct nw_a64tlb_entry entries[NW_REPLAY_A64TLB_ENTRIES];
	struct nw_replay_a64tlb_side side[NW_REPLAY_A64TLB_ENTRIES];
};

/* A RISC-V replay's hart state (replay_riscv.c): the VS-stage registers as the library decodes them, hgatp and
 * hstatus as written, and the TLB model of tlb_riscv.h. */
#define NW_REPLAY_RVTLB_ENTRIES 256

struct nw_replay_rv {
	struct nw_rv_vs_cpu cpu;
	uint64_t vsatp, hgatp, hstatus; /* as written */
	struct nw_rvtlb tlb;
	struct nw_ttlb_entry entries[NW_REPLAY_RVTLB_ENTRIES];
	uint64_t page_size[NW_REPLAY_RVTLB_ENTRIES]; /* a combined entry's VS-stage page size, for its hits */
};

struct nw_replay;

/* What the engine asks of an architecture other than x86 (replay_arm64.c, replay_riscv.c): the record loop,
 * the split into pieces and the lazy-page retries stay the engine's. */
struct nw_replay_arch {
	/* 0, or -1 with err: a write of a register the model cannot follow. */
	int (*write_reg)(struct nw_replay *replay, const struct nw_trace_regwrite *w, char *err, size_t errlen);
	/* 0, or -1 with err when the registers in force are refused by the library (naming the write) or the
	 * access cannot be translated as the engine splits it. */
	int (*check_access)(const struct nw_replay *replay, const struct nw_trace_access *access, char *err,
			    size_t errlen);
	/* The privilege of an access (its cpl field: exception level, or VU/VS). */
	void (*set_priv)(struct nw_replay *replay, unsigned cpl);
	/* A TLB hit usable for the access, as out. */
	bool (*lookup)(struct nw_replay *replay, const struct nw_access *a, struct nw_replay_result *out);
	/* The walk of one piece under the registers in force. */
	void (*walk)(const struct nw_replay *replay, const struct nw_access *a, unsigned flags,
		     struct nw_walk_result *res);
	/* What a completed walk leaves in the TLB model. */
	void (*fill)(struct nw_replay *replay, const struct nw_access *a, const struct nw_walk_result *res);
};

struct nw_replay {
	struct nw_replay_machine *machine;
	struct nw_replay_options options;
	struct nw_walk_config config;
	struct nw_aspace *aspace; /* the VM running (its second stage walks, lazy pages, gpwrite, s2edit); NULL: a dump */
	struct nw_walker *walker;
	unsigned walk_flags;    /* NW_WALK_RECORD_* the options need */
	struct nw_tlb tlb;
	void *tlb_storage;
	struct nw_replay_stats stats;
	char mark[NW_TRACE_MAX_LABEL + 1]; /* the last mark, "" before any */
	uint64_t record;                   /* records applied */
	/* The first invalidation refused (stats.failed_invalidations): its record, operands and the SDM's reason. */
	uint64_t refused_record;
	char refused[160];
	bool has_result;                   /* an access came last: an expectation may follow */
	struct nw_replay_result result;
	/* The register state the library refuses (NULL: it takes it) and the write after which it does. */
	const char *regs_refused;
	uint64_t regs_refused_record;
	const struct nw_replay_arch *arch; /* aarch64 and riscv64 machines; NULL for x86 */
	struct nw_replay_a64 *a64;         /* aarch64 machines only */
	struct nw_replay_rv *rv;           /* riscv64 machines only */
};

/* 0, or -1 with the reason in err (no memory for the TLB). */
int nw_replay_init(struct nw_replay *replay, struct nw_replay_machine *machine,
		   const struct nw_replay_options *options, char *err, size_t errlen);
void nw_replay_fini(struct nw_replay *replay);
/* Runs the VM of as from now on (a VTTBR_EL2 or hgatp naming its tables): its second stage walks, its memory
 * takes lazy pages, gpwrite and s2edit. The TLB model is the caller's: it keeps every VMID's entries. */
void nw_replay_use_vm(struct nw_replay *replay, struct nw_aspace *as);

/* Applies one record. Returns 0, the number of fields that did not match
 * (their first n written to mismatches, up to max) for an expectation, or
 * -1 with err for input that cannot be applied (a guest-physical write to
 * unbacked memory, an expectation after no access, an access with no linear
 * address in the paging mode: nw_replay_check_access()). */
int nw_replay_apply(struct nw_replay *replay, const struct nw_trace_record *rec,
		    struct nw_replay_mismatch *mismatches, unsigned max, char *err, size_t errlen);

/* Applies a run of accesses with their expectations (trace.h, "Batches"), as
 * nw_replay_apply() would the records they came from, stopping after the
 * first whose expectation does not match or that cannot be applied: returns
 * how many items were taken, with *mismatched as nw_replay_apply() returns
 * for that item (0 when none mismatched; -1 with err for an access that
 * cannot be applied, whose record number replay->record then is). expects[i]
 * is read only for items with fields besides the outcome (expects may be NULL
 * when there are none). */
size_t nw_replay_run(struct nw_replay *replay, const struct nw_trace_item *items, const struct nw_trace_expect *expects,
		     size_t n, struct nw_replay_mismatch *mismatches, unsigned max, int *mismatched, char *err,
		     size_t errlen);

/* Translates one access as the record would (for tests and --explain):
 * fills res, updates statistics and the TLB. */
void nw_replay_access(struct nw_replay *replay, const struct nw_trace_access *access, struct nw_replay_result *res);
/* The same, keeping each piece of an access that crosses a 4 KiB boundary (nw_walk_split, as hardware
 * translates it): pieces[i] is the i-th piece's own result, for the pieces translated, whose number is
 * returned (the second is not translated when the first fails). res is what nw_replay_access() gives: the
 * deciding piece's result with the references of both. */
unsigned nw_replay_access_pieces(struct nw_replay *replay, const struct nw_trace_access *access,
				 struct nw_replay_result *res, struct nw_replay_result pieces[2]);

/* 0 when every byte of the access has a linear address in the paging mode cpu
 * selects (nw_access_is_linear); else -1 with err naming the access and the mode. */
int nw_replay_check_access(const struct nw_cpu *cpu, const struct nw_trace_access *access, char *err, size_t errlen);

/* AArch64 (replay_arm64.c): nw_replay_a64_init sets replay->arch and replay->a64. */
int nw_replay_a64_init(struct nw_replay *replay, char *err, size_t errlen);
void nw_replay_a64_fini(struct nw_replay *replay);
/* 0, or -1 with err naming the TLBI and the model's reason for refusing it. */
int nw_replay_a64_tlbi(struct nw_replay *replay, const struct nw_trace_tlbi *tlbi, char *err, size_t errlen);

/* RISC-V (replay_riscv.c): nw_replay_rv_init sets replay->arch and replay->rv. */
int nw_replay_rv_init(struct nw_replay *replay, char *err, size_t errlen);
void nw_replay_rv_fini(struct nw_replay *replay);
/* 0, or -1 with err naming the fence and the model's reason for refusing it (or the trap it raises instead). */
int nw_replay_rv_fence(struct nw_replay *replay, const struct nw_rvfence *fence, char *err, size_t errlen);

/* The result's value of an expectation field. */
uint64_t nw_replay_field(const struct nw_replay_result *res, enum nw_trace_expect_field field);
const char *nw_replay_outcome_name(unsigned kind);

/* Reports (replay_report.c). */
void nw_replay_print_mismatch(FILE *out, const struct nw_replay *replay, const struct nw_replay_mismatch *m,
			      unsigned count, bool explain);
void nw_replay_print_stats(FILE *out, const struct nw_replay *replay, double seconds);
/* The first mismatch, kept for the JSON report. */
struct nw_replay_first {
	char mark[NW_TRACE_MAX_LABEL + 1];
	struct nw_replay_mismatch fields[NW_EXPECT_FIELD_COUNT];
	unsigned count;
	struct nw_replay_result result;
};

void nw_replay_print_json(FILE *out, const struct nw_replay *replay, double seconds,
			  const struct nw_replay_first *first);

/* Building the machine a scenario describes (replay_machine.c), the one path
 * every command takes: its VM, or with guest.memory_dump the dump, CR0, CR3
 * and CR4 taken from the dump's QEMU note where the scenario does not give
 * them, EFER.LME/LMA from its CS.L (machine_cpu.h); regs says where each
 * came from, and every assumption is warned of on stderr. 0, or -1 with err. */
struct nw_replay_target {
	struct nw_scenario scenario;
	struct nw_vm vm;
	bool has_vm;
	struct nw_memdump dump;
	bool has_dump;
	struct nw_replay_machine machine;
	struct nw_machine_cpu regs;
};

int nw_replay_target_open(const char *scenario_path, struct nw_replay_target *target, char *err, size_t errlen);
/* Returns the frames leaked by the VM. */
uint64_t nw_replay_target_close(struct nw_replay_target *target);

#endif
