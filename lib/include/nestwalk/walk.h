/* The guest page walk: GVA -> GPA -> HPA for 32-bit, PAE, 4-level and 5-level
 * guest paging (SDM Vol. 3A ch. 4), every guest paging-structure reference and
 * the final guest-physical address translated through the second stage (EPT,
 * NPT or none; stage2.h). One access gives exactly one outcome. The AArch64
 * stage 1 (arm64_s1.h) and the RISC-V VS-stage (riscv_vs.h) are the same walk
 * over other descriptions and share these types.
 *
 * Two walkers share these types: nw_walk_reference() follows the SDM text rule
 * by rule; nw_walker_translate() uses tables derived once per control-register
 * change (nw_walker_set_cpu). They must agree on every case.
 *
 * Phases: find the translation, check the rights, then set accessed/dirty
 * flags (never on a faulting leaf; never with NW_WALK_LOOKUP). */
#ifndef NESTWALK_WALK_H
#define NESTWALK_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "arm64_memattr.h"
#include "cdefs.h"
#include "cpu.h"
#include "hal.h"
#include "level.h"
#include "riscv_trap.h"
#include "stage2.h"
#include "status.h"
#include "x86_pte.h"

NW_BEGIN_DECLS

/* One access by the guest. Whether it is user-mode comes from the CPL: CPL 3
 * is user-mode unless the access is implicit (GDT/IDT/LDT/TSS references are
 * supervisor-mode at any CPL and ignore RFLAGS.AC, §4.6). */
struct nw_access {
	nw_gva_t gva;
	uint32_t size; /* bytes; 0 counts as 1. Crossing a 4 KiB boundary needs nw_walk_split(). The bytes must
			* have linear addresses in the mode (nw_access_is_linear()). */
	enum nw_access_type type;
	bool implicit;
	bool unprivileged; /* AArch64: LDTR/STTR at EL1, EL0's permissions unless PSTATE.UAO (x86 ignores it) */
};

/* Flags for a walk. The per-level record (steps[], the stage-2 records) is
 * opt-in for nw_walker_translate(): without the flags those fields are not
 * written and hold whatever they held. nw_walk_reference() always records. */
#define NW_WALK_LOOKUP (1u << 0)       /* find and check only: write nothing (no A/D, guest or EPT) */
#define NW_WALK_RECORD_STEPS (1u << 1) /* fill steps[]: each guest level's entry, table GPA/HPA, index, rights */
#define NW_WALK_RECORD_S2 (1u << 2)    /* fill steps[].s2 and final_s2: every stage-2 entry read */
#define NW_WALK_RECORD (NW_WALK_RECORD_STEPS | NW_WALK_RECORD_S2) /* everything, for --explain and comparisons */
/* With NW_WALK_RECORD_S2, for nw_walker_translate(): record the stage-2
 * reads only of a walk that is not plain. A translation nw_walker_probe()
 * would give is answered with the guest levels alone (under
 * NW_WALK_RECORD_STEPS) and res->recorded false; it wrote nothing, so walking
 * it again at once with NW_WALK_LOOKUP and the record flags gives exactly the
 * whole record. */
#define NW_WALK_PLAIN_FIRST (1u << 3)

/* When the accessed flag of upper-level entries is set for a walk that faults
 * further down (the SDM leaves it open; real MMUs differ). Under either policy
 * the leaf's A/D are set only when the guest check passes, before the final
 * stage-2 translation (so an EPT violation on the final access finds them set). */
enum nw_ad_policy {
	NW_AD_AS_PASSED = 0, /* set A on each entry as the walk passes it (QEMU TCG: hw/DEVIATIONS.md) */
	NW_AD_ON_SUCCESS,    /* set A/D on all entries only once the guest translation succeeds (Xen) */
};

/* How the walk meets the world: host memory and the second stage. EPT A/D
 * (EPTP bit 6: guest paging-structure accesses are EPT writes) and advanced
 * VM-exit information (qualification bits 9-11) come from the EPT's own
 * configuration (ept.h); the host EFER.NXE for #NPF I/D from the NPT's. */
struct nw_walk_config {
	const struct nw_hal *hal;
	struct nw_stage2 stage2;
	enum nw_ad_policy ad_policy;
	/* Optional: where the walker's plain copies (nw_walker_probe) and its
	 * second-stage masks read tables without a call. They answer only
	 * through present entries, so an unbacked frame (zeros) makes them
	 * decline, and the walk that follows reads through the HAL and reports
	 * it. None (base NULL): the HAL's own direct map, if it has one. */
	struct nw_hal_window window;
};

enum nw_outcome {
	NW_OUTCOME_OK = 0,
	/* x86 #PF (error_code, cr2); RISC-V: a VS-stage page fault taken to VS-mode (rv_trap: scause 12/13/15,
	 * stval the guest virtual address) */
	NW_OUTCOME_PAGE_FAULT,
	NW_OUTCOME_EPT_VIOLATION,
	NW_OUTCOME_EPT_MISCONFIG,
	NW_OUTCOME_NPF,
	NW_OUTCOME_GP,
	NW_OUTCOME_NO_MEMORY, /* a table's host address is not backed by any memory (not a CPU outcome) */
	NW_OUTCOME_STAGE1_ABORT, /* AArch64: a stage-1 fault taken to EL1 (ESR_EL1, FAR_EL1) */
	NW_OUTCOME_STAGE2_ABORT, /* AArch64: a stage-2 fault taken to EL2 (ESR_EL2, FAR_EL2, HPFAR_EL2) */
	/* RISC-V: a G-stage fault taken to HS-mode (rv_trap: scause 20/21/23, stval, htval, htinst, hstatus.GVA) */
	NW_OUTCOME_GUEST_PAGE_FAULT,
	/* RISC-V: a table read that found no memory (rv_trap: scause 1/5/7, stval; the PMA check fails) */
	NW_OUTCOME_ACCESS_FAULT,
};

enum nw_gp_reason {
	NW_GP_NONE = 0,
	NW_GP_NONCANONICAL,  /* linear address not canonical for 48- or 57-bit addressing (§3.3.7.1) */
	NW_GP_PDPTE_RSVD,    /* MOV CR3 loaded a present PAE PDPTE with a reserved bit (§4.4.1) */
};

/* Page-fault error code (§4.7, Figure 4-12). */
#define NW_PFEC_P (1u << 0)    /* 0: not present; 1: protection or reserved bit */
#define NW_PFEC_W (1u << 1)    /* the access was a write */
#define NW_PFEC_U (1u << 2)    /* the access was user-mode */
#define NW_PFEC_RSVD (1u << 3) /* a reserved bit was set in some paging-structure entry */
#define NW_PFEC_ID (1u << 4)   /* instruction fetch, reported only with SMEP or PAE+NXE */
#define NW_PFEC_PK (1u << 5)   /* protection-key violation */

/* EPT-violation exit qualification (Vol. 3C §28.2.1, Table 28-7). */
#define NW_EPTQ_READ (UINT64_C(1) << 0)
#define NW_EPTQ_WRITE (UINT64_C(1) << 1)
#define NW_EPTQ_FETCH (UINT64_C(1) << 2)
#define NW_EPTQ_RIGHTS_SHIFT 3           /* bits 6:3: EPT R, W, X, user-X of the entries used */
#define NW_EPTQ_GLA_VALID (UINT64_C(1) << 7)
#define NW_EPTQ_FINAL (UINT64_C(1) << 8) /* 1: the final translation; 0: a guest paging-structure access */
#define NW_EPTQ_USER (UINT64_C(1) << 9)  /* advanced info: the linear address is user-mode */
#define NW_EPTQ_RW (UINT64_C(1) << 10)   /* advanced info: the linear address is writable */
#define NW_EPTQ_XD (UINT64_C(1) << 11)   /* advanced info: the linear address is execute-disable */

/* AMD #NPF EXITINFO1 (APM Vol. 2 §15.25.6): a #PF-style error code plus where it hit. */
#define NW_NPF_FINAL (UINT64_C(1) << 32)      /* the final guest-physical address */
#define NW_NPF_GUEST_TABLE (UINT64_C(1) << 33) /* a guest page-table access */

/* The guest access a second-stage fault is reported for: what the exit information
 * describes beside the second stage's own result. */
struct nw_s2_fault_access {
	enum nw_access_type type; /* the guest access's kind */
	bool table;               /* a guest paging-structure access (else the final address) */
	bool table_write;         /* that table access is a write: a guest A/D update, or EPT A/D on */
	bool linear;              /* the access has a guest-linear address (false: e.g. the PAE PDPTE loads) */
	uint32_t guest_rights;    /* NW_WALK_RIGHT_* of the guest translation, for advanced exit information */
};
/* The EPT-violation exit qualification (Vol. 3C §28.2.1, Table 28-7) and the #NPF
 * EXITINFO1 (APM Vol. 2 §15.25.6) of a second-stage fault s2, for walks and for a
 * guest-physical access alike. */
uint64_t nw_ept_violation_qualification(const struct nw_ept *ept, const struct nw_s2_result *s2,
					const struct nw_s2_fault_access *access);
uint64_t nw_npf_exitinfo1(const struct nw_npt *npt, const struct nw_s2_result *s2,
			  const struct nw_s2_fault_access *access);

/* Effective rights of a guest translation: R/W and U/S ANDed, XD ORed over all levels. */
#define NW_WALK_RIGHT_W (1u << 0)
#define NW_WALK_RIGHT_U (1u << 1)
#define NW_WALK_RIGHT_X (1u << 2) /* no level has XD (or XD is not in force); AArch64: EL1 may execute (no PXN) */
#define NW_WALK_RIGHT_UX (1u << 3) /* AArch64 only: EL0 may execute (no UXN). There W is AP[2] clear, U AP[1] set;
				    * the hierarchical controls of the tables above are ANDed in */
#define NW_WALK_RIGHT_R (1u << 4) /* RISC-V only: the leaf has R (x86 and AArch64 translations always read) */

/* The rights one entry grants (SDM Vol. 3A §4.6.1): W with R/W=1, U with U/S=1,
 * X unless XD=1 is in force (PAE and 4-/5-level paging with IA32_EFER.NXE=1).
 * A translation's rights are the AND over its entries: R/W and U/S ANDed, XD
 * ORed. */
static inline uint32_t nw_walk_entry_rights(uint64_t entry, bool xd_in_force)
{
	return ((entry & NW_PTE_RW) ? NW_WALK_RIGHT_W : 0) | ((entry & NW_PTE_US) ? NW_WALK_RIGHT_U : 0) |
	       (xd_in_force && (entry & NW_PTE_XD) ? 0 : NW_WALK_RIGHT_X);
}

/* A linear address of va_bits (48 or 57) is canonical when bits 63:va_bits-1
 * all equal bit va_bits-1; an access to a non-canonical one is #GP (SDM Vol. 3A
 * §3.3.7.1, §4.5). */
static inline bool nw_walk_is_canonical(uint64_t linear, unsigned va_bits)
{
	unsigned unused = 64 - va_bits;

	return (uint64_t)((int64_t)(linear << unused) >> unused) == linear;
}

/* One guest paging-structure reference. For PAE the PDPT level is the PDPTE
 * register: no memory reference, no stage-2 translation (s2.refs = 0). */
struct nw_walk_step {
	uint64_t entry;        /* the entry as read (before any A/D update) */
	nw_gpa_t table_gpa;    /* the table's guest-physical base */
	nw_hpa_t table_hpa;    /* the table's host-physical base (valid once s2 succeeded) */
	unsigned index;        /* the entry's index in its table */
	struct nw_s2_result s2; /* translating the entry's guest-physical address */
	uint32_t rights;       /* NW_WALK_RIGHT_* accumulated down to this level */
	bool read;             /* the entry was read (the walk got this far) */
};

struct nw_walk_result {
	enum nw_outcome outcome;
	enum nw_paging_mode mode;   /* x86; NW_PAGING_OFF in an AArch64 walk */
	nw_gva_t gva;
	nw_gpa_t gpa;               /* outcome OK: the guest-physical address */
	nw_hpa_t hpa;               /* outcome OK: the host-physical address */
	uint64_t guest_page_size;   /* 4 KiB, 2 MiB, 4 MiB or 1 GiB (paging off: 4 KiB) */
	uint64_t s2_page_size;
	uint32_t rights;            /* NW_WALK_RIGHT_* of the guest translation */
	uint32_t s2_rights;         /* outcome OK: NW_S2_RIGHT_* of the final stage-2 translation */
	uint64_t leaf_entry;        /* the guest leaf as read (before A/D), once found; 0 before */
	uint8_t memory_type;        /* the stage-2 leaf's memory type (6 WB without a second stage) */
	uint8_t guest_pat_index;    /* PAT:PCD:PWT of the guest leaf (§11.12.3); AArch64: its AttrIndx */
	int leaf_level;             /* the guest leaf's level; 0 with paging off */
	int fault_level;            /* level that faulted: guest level for #PF and guest-table stage-2
				     * faults, stage-2 level for misconfigurations; 0 for the final access */
	uint32_t error_code;        /* #PF error code */
	uint64_t cr2;               /* #PF: the faulting linear address */
	uint64_t exit_qualification; /* EPT violation */
	nw_gpa_t fault_gpa;         /* EPT violation / misconfiguration / NPF: the guest-physical address */
	bool gla_valid;             /* EPT violation: the guest-linear address field is valid */
	uint64_t exitinfo1, exitinfo2; /* NPF */
	enum nw_gp_reason gp_reason;
	bool s2_on_table;           /* a stage-2 fault hit a guest paging-structure access, not the final one */
	/* RISC-V (riscv_vs.h): what the trap of a page fault, guest-page fault or access fault writes. */
	struct nw_rv_trap rv_trap;
	/* AArch64 aborts (arm64_s1.h): the fault kind, ESR_EL1 and FAR_EL1 of a
	 * stage-1 abort, ESR_EL2, FAR_EL2 and HPFAR_EL2 (when the architecture
	 * fills it) of a stage-2 abort. */
	enum nw_s2_fault abort_fault;
	uint64_t esr, far, hpfar;
	bool hpfar_valid;
	/* AArch64, outcome OK: the memory attributes of the translation, stage 1's
	 * (MAIR_EL1) combined with stage 2's (MemAttr) as the Arm ARM combines
	 * them without FEAT_S2FWB (arm64_memattr.h); type NONE otherwise. */
	struct nw_arm64_memattr arm64_memattr;
	unsigned refs;              /* memory references read: guest entries + stage-2 entries (24 for 4-over-4) */
	unsigned ad_writes;         /* guest entries whose A/D flags were written (each an extra stage-2
				     * write check, not counted in refs) */
	bool recorded;              /* every record the flags asked for was filled by this walk */
	int start_level;            /* the walk went on below a paging-structure-cache entry of this level
				     * (nw_walker_translate_from); 0: from CR3 */
	/* The per-level record (NW_WALK_RECORD_STEPS, NW_WALK_RECORD_S2). Recorded
	 * steps of levels not reached are zero, and so are the refs of unused
	 * stage-2 records. */
	struct nw_walk_step steps[NW_MAX_LEVELS + 1]; /* index = SDM level */
	struct nw_s2_result final_s2; /* translating the final guest-physical address */
};

/* The fast walker: the configuration, the CPU state, and the tables derived
 * from them. Opaque: it lives in storage the caller provides, of
 * nw_walker_size() bytes aligned to NW_WALKER_ALIGN (malloc's alignment will
 * do), and owns nothing else, so freeing the storage ends it. The modelled
 * CPU's architectural state is copied; the walker keeps no pointer to it.
 * What it derives from the second stage (levels, root, A/D, mode-based
 * execute, MAXPHYADDR, 1 GiB pages) is taken at init: initialise it again
 * after changing that configuration. */
struct nw_walker;

#define NW_WALKER_ALIGN 16
size_t nw_walker_size(void);
/* Returns the walker built in storage; NULL when storage is NULL or not aligned, or
 * for an AArch64 or RISC-V second stage (an x86 guest does not run over them; an
 * AArch64 guest's fast walker is nw_walker_init_arm64, arm64_s1.h, a RISC-V
 * guest's nw_walker_init_riscv, riscv_vs.h). */
struct nw_walker *nw_walker_init(void *storage, const struct nw_walk_config *config, const struct nw_cpu *cpu);
/* Call after any control-register, EFER, RFLAGS, CPL, PKRU or PKRS change: re-derives the tables. */
void nw_walker_set_cpu(struct nw_walker *walker, const struct nw_cpu *cpu);
void nw_walker_translate(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			 struct nw_walk_result *res);

/* A paging-structure-cache entry a walk may go on from instead of CR3 (SDM
 * Vol. 3A §4.10.3.2): the entry of level (2 PDE .. 5 PML5E) cached for the
 * linear address, with the next table's guest-physical and host-physical
 * address and the rights accumulated down to it (NW_WALK_RIGHT_*). */
struct nw_walk_start {
	int level;
	nw_gpa_t table_gpa;
	nw_hpa_t table_hpa;
	uint32_t rights;
};

/* nw_walker_translate() going on below start (4- and 5-level paging; start's
 * level at most the root's): the cached levels are not read again and their
 * accessed flags not set again (the processor used them when it cached them),
 * and with a second stage the next table is read at its cached host address
 * (a combined mapping, Vol. 3C §29.4.2). What the cached entry says wins over
 * memory: a stale entry gives the stale answer, as the SDM allows until the
 * software invalidates (§4.10.4). */
void nw_walker_translate_from(const struct nw_walker *walker, const struct nw_access *access, unsigned flags,
			      const struct nw_walk_start *start, struct nw_walk_result *res);

/* A translation as a TLB fill needs it (the fields of nw_walk_result of the
 * same names): what nw_walker_probe() gives. */
struct nw_walk_hit {
	nw_gpa_t gpa;
	nw_hpa_t hpa;
	uint64_t leaf_entry;        /* the guest leaf as read */
	uint64_t guest_page_size;
	uint64_t s2_page_size;
	uint32_t rights;            /* NW_WALK_RIGHT_* */
	uint32_t s2_rights;         /* NW_S2_RIGHT_* of the final stage-2 translation */
	uint8_t memory_type;
	uint8_t guest_pat_index;
	uint8_t leaf_level;
	uint8_t refs;               /* memory references read */
	struct nw_arm64_memattr arm64_memattr; /* an AArch64 walker's: the translation's attributes */
};

/* Whether an access is user-mode under the walker's CPU state: CPL 3 and not
 * implicit (§4.6), whatever its type. */
bool nw_walker_is_user_access(const struct nw_walker *walker, bool implicit);

struct nw_tlb_entry;

/* Whether a TLB entry (tlb.h) filled from this walker's translations surely
 * allows an access of type, user-mode or not, under the walker's CPU state:
 * only then may it be used without a walk. On a refusal a processor may walk
 * the tables again before faulting (SDM Vol. 3A §4.10.2.3), and the walk
 * decides from memory. */
bool nw_walker_tlb_allows(const struct nw_walker *walker, const struct nw_tlb_entry *entry, enum nw_access_type type,
			  bool user);

/* nw_walker_tlb_allows() for every kind of access at once: bit NW_TLB_ALLOWS_BIT(type, user) is set when the
 * entry surely allows that access. */
#define NW_TLB_ALLOWS_BIT(type, user) (1u << (2 * (unsigned)(type) + ((user) ? 1u : 0u)))
unsigned nw_walker_tlb_allowed(const struct nw_walker *walker, const struct nw_tlb_entry *entry);

/* The walk a TLB fill does, with every check nw_walker_translate() makes
 * (canonical address, P and reserved bits per level, U/S, R/W with CR0.WP,
 * XD, SMEP, SMAP with AC, protection keys, the second stage's rules), but
 * writing nothing: true with hit filled only when the access translates with
 * every guest and stage-2 A (and for a write D) flag it needs already set;
 * then nw_walker_translate() with flags 0 gives the same fields and writes
 * nothing. False for anything else (a fault, a flag to set, 32-bit paging or
 * paging off, a second-stage entry its masks do not prove plain, a table
 * outside the direct-map window): the caller then takes nw_walker_translate(),
 * which tries this first itself. */
bool nw_walker_probe(const struct nw_walker *walker, const struct nw_access *access, struct nw_walk_hit *hit);

/* The reference walker: the same contract, rules applied one by one from the SDM text. The second stage is
 * EPT, NPT or none (an AArch64 stage 2 or a RISC-V G-stage under an x86 guest is a caller's mistake: asserted). */
void nw_walk_reference(const struct nw_walk_config *config, const struct nw_cpu *cpu, const struct nw_access *access,
		       unsigned flags, struct nw_walk_result *res);

/* MOV CR3 in PAE mode: loads the four PDPTE registers from guest-physical
 * memory (through the second stage). res is NW_OUTCOME_OK (cpu->cr3 and
 * cpu->pdpte[] updated), NW_OUTCOME_GP with NW_GP_PDPTE_RSVD (cpu unchanged), or a
 * stage-2 outcome. Outside PAE mode it only sets CR3. */
void nw_cpu_load_cr3(const struct nw_walk_config *config, struct nw_cpu *cpu, uint64_t cr3,
		     struct nw_walk_result *res);

/* An access that crosses a 4 KiB boundary is two translations, as on hardware:
 * fills parts[0..n) with the pieces and returns n (1 or 2). */
unsigned nw_walk_split(const struct nw_access *access, struct nw_access parts[2]);

/* Whether every byte of access has a linear address in the paging mode: outside
 * IA-32e mode (paging off, 32-bit and PAE paging) linear addresses are 32 bits
 * (SDM Vol. 3A §4.1, §4.3, §4.4), so an address above 4 GiB, or an access that
 * runs past it, names nothing there and is refused before any walk (the walkers
 * would translate the low 32 bits). In 4- and 5-level paging every address is one
 * (a non-canonical address is the walk's #GP, §3.3.7.1). */
bool nw_access_is_linear(enum nw_paging_mode mode, const struct nw_access *access);

const char *nw_outcome_name(enum nw_outcome outcome);

NW_END_DECLS

#endif
