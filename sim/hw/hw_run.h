/* `nestwalk hw run`: a scenario's accesses compiled into cases for the
 * bare-metal image (hw/contract/blob.h), the image booted under an emulator, its outcome
 * lines (hw/runner.h) turned back into trace expectations in the scenario's
 * addresses, and that observed trace replayed by the simulator without a TLB
 * (each case runs on fresh tables after a CR3 load, so no translation is cached
 * from one case to the next). */
#ifndef NESTWALK_SIM_HW_RUN_H
#define NESTWALK_SIM_HW_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/a64_s1.h"
#include "contract/blob.h"
#include "contract/ept_case.h"
#include "contract/rv_vs.h"
#include "replay/replay.h"
#include "trace/trace.h"

enum nw_hw_backend_id {
	NW_HW_QEMU = 0,  /* QEMU TCG -cpu max: first stage only */
	NW_HW_QEMU_SVM,  /* the image's SVM guest with nested paging under QEMU TCG */
	NW_HW_KVM,       /* QEMU with -accel kvm -cpu host: first stage only */
	NW_HW_BOCHS_VMX, /* the VMX image's guest over EPT under Bochs (hw/contract/ept_case.h) */
	NW_HW_QEMU_AARCH64, /* the AArch64 image's EL1 guest over stage 2 under qemu-system-aarch64 (a64_case.h) */
	NW_HW_QEMU_RISCV64, /* the RISC-V image's VS/VU guest over the G-stage under qemu-system-riscv64 (rv_case.h) */
	NW_HW_BACKEND_COUNT,
};

struct nw_hw_backend {
	enum nw_hw_backend_id id;
	const char *name;
	const char *accel, *cpu;   /* QEMU's -accel and -cpu */
	bool nested;               /* cases run as an SVM guest over nested paging */
	bool vmx;                  /* the VMX image under Bochs */
	const char *qemu;          /* the QEMU program that boots the image; NULL for Bochs */
	bool aarch64;              /* the AArch64 image (hw/aarch64/): its blob's arch, its QEMU command */
	bool riscv64;              /* the RISC-V image (hw/riscv64/): likewise */
};

/* The blob architecture of the backend's image (enum hw_blob_arch). */
static inline uint32_t nw_hw_backend_arch(const struct nw_hw_backend *b)
{
	return b->aarch64 ? HW_BLOB_ARCH_AARCH64 : b->riscv64 ? HW_BLOB_ARCH_RISCV64 : HW_BLOB_ARCH_X86_64;
}

const struct nw_hw_backend *nw_hw_backend_find(const char *name);

#define NW_HW_CASE_ENTRIES 16  /* at most 5 table entries and 6 nested-paging edits */
#define NW_HW_LISTED 20        /* record numbers listed per reason or deviation */
#define NW_HW_DEVIATION_ROWS 8 /* rows of the deviation table, at most */

/* One access of the scenario's trace as the image runs it, and what maps the
 * image's addresses back to the scenario's. */
struct nw_hw_case {
	uint64_t record;                /* the access's record number in the scenario's trace, 1-based */
	struct nw_trace_access access;  /* as the trace gives it */
	struct hw_blob_case head;
	struct hw_blob_entry entries[NW_HW_CASE_ENTRIES];
	uint64_t run_gva;               /* the GVA the image uses: 8-byte aligned, top-level slot moved off the image's */
	bool has_leaf;                  /* the walk reached a present leaf, relocated into the scratch region */
	uint64_t leaf_pa, leaf_gpa, leaf_size; /* the image's page and the scenario's page it stands for */
	unsigned table_count;           /* tables of the path, root first (levels top .. top - count + 1) */
	uint64_t table_gpa[NW_MAX_LEVELS]; /* the scenario's table of each */
	unsigned run_offset[NW_MAX_LEVELS], offset[NW_MAX_LEVELS]; /* the entry's byte offset in the image, in the scenario */
	bool table_edited[NW_MAX_LEVELS];  /* a nested-paging edit restricts the table's page */
	/* bochs-vmx: the case in the VMX image's format, and the scenario's page its target page stands for. */
	struct vmx_case vmx;
	bool has_final;
	uint64_t final_gpa;
	/* aarch64 with head.flags HW_A64_S1: the stage-1 part and its entries, packed after the case's entries. */
	struct hw_a64_s1_part a64_s1;
	struct hw_blob_entry a64_s1_entries[NW_HW_CASE_ENTRIES];
	/* riscv64 with head.flags HW_RV_VS: the VS-stage part and its entries, packed after the case's entries. */
	struct hw_rv_vs_part rv_vs;
	struct hw_blob_entry rv_vs_entries[NW_HW_CASE_ENTRIES];
};

/* What the compiler needs to know of the backend's CPU. */
struct nw_hw_target {
	const struct nw_hw_backend *backend;
	unsigned maxphyaddr;
};

/* Bits lo .. hi-1. */
static inline uint64_t nw_hw_bits(unsigned lo, unsigned hi)
{
	uint64_t below_hi = hi >= 64 ? UINT64_MAX : (UINT64_C(1) << hi) - 1;

	return below_hi & ~((UINT64_C(1) << lo) - 1);
}

/* Shared by the case compilers (hw_compile.c, hw_vmx.c). */
struct nw_access nw_hw_access(const struct nw_trace_access *a);
void nw_hw_sync_cpu(struct nw_replay *r, const struct nw_trace_access *a);
/* The lookup walk (reference walker, per-level record); NULL, or why the access cannot run anywhere. */
const char *nw_hw_walk(const struct nw_replay *r, const struct nw_access *access, struct nw_walk_result *res);
bool nw_hw_is_s2_fault(const struct nw_walk_result *res);
bool nw_hw_table_reached(const struct nw_walk_result *res, int level, bool *s2_fault);
bool nw_hw_has_rsvd_bits_valid_on_backend(uint64_t entry, unsigned scenario_maxphy, unsigned backend_maxphy);

/* Compiles the access at the replay's current state (nothing is written to
 * guest memory). NULL when it can run, else why not (a static string, or
 * reason filled in). */
const char *nw_hw_case_compile(const struct nw_hw_target *target, struct nw_replay *replay,
			       const struct nw_trace_access *access, uint64_t record, struct nw_hw_case *out,
			       char *reason, size_t reasonlen);
/* Bytes a case carries after its entries in a blob of arch (an aarch64 case's stage-1 part, a riscv64 case's
 * VS-stage part); 0 for none. */
size_t nw_hw_case_tail_bytes(const struct nw_hw_case *c, uint32_t arch);
/* The blob of cases (hw/contract/blob.h) for the image of arch (enum hw_blob_arch), malloc'ed; NULL when out of
 * memory. */
uint8_t *nw_hw_blob_pack(const struct nw_hw_case *cases, size_t count, uint32_t arch, size_t *size);

/* Booting: runs argv (argv[0] from PATH) in cwd (NULL: here) with env changes
 * ("NAME=VALUE" sets, "NAME" unsets; NULL-terminated, or NULL), stdin from
 * /dev/null, in a session and process group of its own; collects its standard
 * output and error apart (each up to a bound), and kills the group at the
 * timeout, or once stop_on (NULL: never) has appeared on standard error and the
 * program has fallen quiet. 0 with the exit status (-1 when killed: timed_out
 * or stopped set) and both texts (malloc'ed, NUL-terminated); -1 with err when
 * it could not start. */
struct nw_hw_boot_result {
	int status;
	bool timed_out;
	bool stopped;  /* stop_on appeared: killed after its report */
	char *output;  /* standard output */
	size_t output_len;
	char *errors;  /* standard error */
	size_t errors_len;
	double seconds;
};

int nw_hw_boot(char *const argv[], const char *cwd, const char *const *env, const char *stop_on, double timeout,
	       struct nw_hw_boot_result *res, char *err, size_t errlen);
void nw_hw_boot_result_free(struct nw_hw_boot_result *res);
/* Whether a program of that name is on PATH. */
bool nw_hw_program_exists(const char *name);

/* One outcome line of the image (hw/runner.h). */
enum nw_hw_kind {
	NW_HW_NONE = 0, /* no line for the case */
	NW_HW_OK,
	NW_HW_PF,
	NW_HW_GP,
	NW_HW_NPF,
	NW_HW_UNSUPPORTED,
	NW_HW_EPTV,     /* VMX: EPT violation (qualification, GPA, GLA) */
	NW_HW_MISCONFIG, /* VMX: EPT misconfiguration (GPA) */
	NW_HW_OTHER,    /* exc, exit, raw: nothing the simulator can be asked about */
	NW_HW_HOST_LIMIT, /* not run: the host could not run the case (why in text) */
	NW_HW_ABORT,    /* AArch64: a stage-2 abort (ESR_EL2, FAR_EL2, HPFAR_EL2) */
	NW_HW_RV_TRAP,  /* RISC-V: a trap into M-mode (mcause, mtval, mtval2, mtinst, mstatus.GVA) */
};

struct nw_hw_outcome {
	enum nw_hw_kind kind;
	uint64_t a, b, c;   /* ok: PA; pf: error code, CR2; npf: EXITINFO1, EXITINFO2; eptv: qualification, GPA, GLA;
			     * abort: ESR_EL2, FAR_EL2, HPFAR_EL2; rv trap: mcause, mtval, mtval2 */
	uint64_t d, e;      /* rv trap: mtinst, mstatus.GVA */
	unsigned unknown;   /* VMX and AArch64: bit i set when value i printed as "-" (not defined or not seen) */
	char text[128];     /* the line after the case id (for OTHER and UNSUPPORTED), or why not run */
};

/* Fills out[i] for the case with id i (i < count) from the backend's image's output: "c ID ..." lines
 * (hw/runner.h, hw/aarch64/main.c), or the VMX image's "v ID ..." lines (hw/contract/ept_case.h); the others
 * stay as they were. */
void nw_hw_outcomes_parse(const char *output, const struct nw_hw_backend *backend, struct nw_hw_outcome *out,
			  size_t count);
/* The backend's MAXPHYADDR as the image reports it; 0 when not found. */
unsigned nw_hw_output_maxphyaddr(const char *output);

/* Running the cases (hw_boots.c): as many boots as it takes. A boot's blob is
 * at most NW_HW_BOOT_BLOB_MAX bytes: the image refuses modules that reach its
 * scratch region at 32 MiB (hw/contract/layout.h), and the image itself, the multiboot
 * information and the loader's alignment take the first 2 MiB at most. */
#define NW_HW_BOOT_BLOB_MAX (16u << 20)

struct nw_hw_boots {
	const struct nw_hw_backend *backend;
	const char *image;
	const char *cpu;                /* QEMU's -cpu; NULL: the backend's */
	double timeout;                 /* per boot */
	size_t cases_per_boot;          /* at most; 0: as many as fit */
	const struct nw_hw_case *cases; /* ids 0 .. count-1 in order */
	size_t count;
	unsigned expect_maxphyaddr;     /* the compiler's; 0: no check */
	struct nw_hw_outcome *outcomes; /* count of them, NW_HW_NONE before the run */
	unsigned maxphyaddr;            /* as the image reported it; 0 when it did not */
	unsigned boots;
	double seconds;
};

/* 0 with the outcomes; 1 when the first boot reports a MAXPHYADDR other than
 * expect_maxphyaddr (in maxphyaddr: compile again); -1 after a message on stderr. */
int nw_hw_boots_run(struct nw_hw_boots *b);

/* The #PF part of both observers: false (with why in problem) when CR2 is not the access's GVA. */
bool nw_hw_observe_pf(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *expect,
		      char *problem, size_t len);
/* The observed outcome as an expectation in the scenario's addresses. false
 * when it cannot be one (why in problem). */
bool nw_hw_observe(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *expect,
		   char *problem, size_t problemlen);

/* bochs-vmx (hw_vmx.c): the same jobs for the VMX image's case format. */
const char *nw_hw_vmx_compile(const struct nw_hw_target *target, struct nw_replay *replay,
			      const struct nw_trace_access *access, uint64_t record, struct nw_hw_case *out);
uint8_t *nw_hw_vmx_blob_pack(const struct nw_hw_case *cases, size_t count, size_t *size);
bool nw_hw_vmx_observe(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *expect,
		       char *problem, size_t problemlen);
/* Bochs with a GRUB rescue ISO holding the image and the blob (as tools/bochs-run does). */
int nw_hw_bochs_boot(const char *image, const uint8_t *blob, size_t size, double timeout,
		     struct nw_hw_boot_result *res, char *err, size_t errlen);

/* Known oracle deviations (hw/DEVIATIONS.md): the row that explains why the
 * backend's outcome differs from the simulator's, or NULL. */
struct nw_hw_deviation_ctx {
	const struct nw_hw_backend *backend;
	const struct nw_cpu *cpu;          /* the guest CPU at the access */
	const struct nw_stage2 *stage2;    /* the scenario's second stage, for lookups */
	const struct nw_trace_access *access;
	const struct nw_replay_result *sim;
	const struct nw_trace_expect *observed;
};

struct nw_hw_deviation {
	const char *id;           /* the row's id in hw/DEVIATIONS.md */
	const char *summary;
	bool (*explains)(const struct nw_hw_deviation_ctx *ctx);
};

const struct nw_hw_deviation *nw_hw_deviation_find(const struct nw_hw_deviation_ctx *ctx);

/* A probe's outcome against the library's (qemu-aarch64, qemu-riscv64). */
enum nw_hw_verdict {
	NW_HW_VERDICT_MATCH,
	NW_HW_VERDICT_EXPLAINED, /* a row of hw/DEVIATIONS.md */
	NW_HW_VERDICT_MISMATCH,  /* the problem says what differs */
	NW_HW_VERDICT_NOT_RUN,   /* the problem says why */
};

/* What a run found, for the text and JSON reports (hw_report.c). */
struct nw_hw_not_run {
	char reason[256];
	uint64_t count;
	uint64_t records[NW_HW_LISTED];
};

struct nw_hw_explained {
	const struct nw_hw_deviation *deviation;
	uint64_t count;
	uint64_t records[NW_HW_LISTED];
};

/* One access whose outcome differs from the simulator's without a listed deviation. */
struct nw_hw_mismatch {
	uint64_t record;
	struct nw_trace_access access;
	unsigned count;                /* fields in fields[]; 0 when problem says what went wrong */
	struct nw_replay_mismatch fields[NW_EXPECT_FIELD_COUNT]; /* expected: the backend's, got: the simulator's */
	char problem[160];
};

struct nw_hw_report {
	const char *scenario, *backend, *image;
	const char *method;  /* how the cases were compared, when not by replaying the observed trace (x86) */
	unsigned maxphyaddr; /* AArch64: the output size, VTCR_EL2.PS */
	uint64_t accesses, run, matched, explained_total;
	uint64_t not_run_total;
	struct nw_hw_not_run *not_run;   /* by reason, in order of first appearance */
	size_t not_run_count;
	struct nw_hw_explained explained[NW_HW_DEVIATION_ROWS];
	size_t explained_count;
	struct nw_hw_mismatch *mismatches;
	size_t mismatch_count;
	double boot_seconds;  /* of all boots */
	unsigned boots;
	uint64_t leaked_frames;
};

/* Adding to a report: false when out of memory. */
bool nw_hw_report_not_run(struct nw_hw_report *rep, uint64_t record, const char *reason);
void nw_hw_report_explained(struct nw_hw_report *rep, const struct nw_hw_deviation *d, uint64_t record);
bool nw_hw_report_mismatch(struct nw_hw_report *rep, const struct nw_hw_mismatch *m);
void nw_hw_report_print(FILE *out, const struct nw_hw_report *rep);
void nw_hw_report_print_json(FILE *out, const struct nw_hw_report *rep);
void nw_hw_report_free(struct nw_hw_report *rep);

#endif
