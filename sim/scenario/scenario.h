/* Scenario files (scenarios/README.md): a VM described in YAML — memory
 * regions, second-stage options and raw edits, the simulated host, the guest
 * CPU state and guest memory contents — loaded into a struct, then built into
 * a VM on simulated memory. Every error names file, line and column. */
#ifndef NESTWALK_SIM_SCENARIO_H
#define NESTWALK_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/arm64_s1.h>
#include <nestwalk/aspace.h>
#include <nestwalk/cpu.h>
#include <nestwalk/riscv_vs.h>

#include "mem/simmem.h"
#include "scenario/cpu_features.h"

/* Where an item came from, 1-based, for messages. */
struct nw_scenario_pos {
	int line, column;
};

struct nw_scenario_region {
	struct nw_region region;
	struct nw_scenario_pos pos;
};

/* Set and clear bits of the entry at level on the path of gpa: level as written (x86: 1 = PT .. 5; aarch64: the
 * Arm ARM's 0 .. 3), table_level the library's (1 = the leaf level), set once the architecture is known. */
struct nw_scenario_edit {
	uint64_t gpa;
	int level, table_level;
	uint64_t set, clear;
	struct nw_scenario_pos pos, level_pos;
};

/* The architecture a scenario names (arch:), x86_64 when it names none. */
enum nw_scenario_arch {
	NW_SCENARIO_X86_64 = 0,
	NW_SCENARIO_AARCH64 = 1,
	NW_SCENARIO_RISCV64 = 2,
};

/* An aarch64 scenario's stage2 keys (scenario_arm64.c): VTCR_EL2 as written, or the friendly keys, and fwb
 * (HCR_EL2.FWB, 0 or 1); and its cpu keys: the EL1 system registers of stage 1 and PSTATE (in SPSR_EL2's layout),
 * as written. A key's position line 0: absent (a register absent is 0). Once loaded, vtcr is the VTCR_EL2 in
 * force, s1 the EL1 registers as the library decodes them (arm64_s1.h), el0/pan/uao PSTATE's. */
struct nw_scenario_arm64 {
	uint64_t vtcr, ipa_bits, granule, start_level, fwb;
	struct nw_scenario_pos vtcr_pos, ipa_bits_pos, granule_pos, start_level_pos, fwb_pos;
	uint64_t sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1, mair_el1, pstate;
	struct nw_scenario_pos sctlr_el1_pos, tcr_el1_pos, ttbr0_el1_pos, ttbr1_el1_pos, mair_el1_pos, pstate_pos;
	struct nw_arm64_s1 s1;
	bool el0, pan, uao;
};

/* A riscv64 scenario's stage2 keys (scenario_riscv.c): hgatp as written (its MODE and VMID), and the switches
 * as 0 or 1: menvcfg.ADUE (Svadu), menvcfg.PBMTE (Svpbmt), Svnapot and the HS-level sstatus.MXR. Line 0: absent. */
struct nw_scenario_riscv {
	uint64_t hgatp, adue, pbmt, napot, hs_mxr;
	struct nw_scenario_pos hgatp_pos, adue_pos, pbmt_pos, napot_pos, hs_mxr_pos;
	/* The cpu section: the VS-stage's registers as written (absent: 0) and privilege (0 VS, 1 VU); once loaded,
	 * vs is the hart state the VS-stage walk runs under (riscv_vs.h). */
	uint64_t vsatp, vsstatus, henvcfg, privilege;
	struct nw_scenario_pos vsatp_pos, vsstatus_pos, henvcfg_pos, privilege_pos;
	struct nw_rv_vs_cpu vs;
	unsigned mode; /* format's hgatp.MODE (NW_RV_HGATP_SV39X4 ..) when format names one */
	/* The pmp list: the PMP M-mode firmware set, its entries as pmpcfg and pmpaddr (count 0: no PMP); pmp_pos
	 * line 0: absent. */
	struct nw_rv_pmp pmp;
	struct nw_scenario_pos pmp_pos, pmp_entry_pos[NW_RV_PMP_ENTRIES];
	/* mseccfg as written (Smepmp: MML bit 0, MMWP bit 1, RLB bit 2); mseccfg_pos line 0: absent. */
	uint64_t mseccfg;
	struct nw_scenario_pos mseccfg_pos;
};

/* 64-bit values written to guest-physical memory from gpa on. */
struct nw_scenario_write {
	uint64_t gpa;
	uint64_t *values;
	size_t count, cap; /* cap: room for values (grow.h) */
	struct nw_scenario_pos pos;
};

/* A guest mapping to build into the guest tables: a leaf of size bytes with
 * flags (x86 entry bits), and per-level bits set/cleared on the path. */
struct nw_scenario_mapping {
	uint64_t gva, gpa, size, flags;
	uint64_t level_set[NW_MAX_LEVELS + 1], level_clear[NW_MAX_LEVELS + 1];
	struct nw_scenario_pos pos;
};

/* A further VM of the scenario (vms:, scenario_vms.c): its own second-stage tables, of the scenario's stage2
 * geometry, over its own memory regions, and the VMID it is listed with. A trace switches to it by naming its
 * tables in VTTBR_EL2 or hgatp. */
struct nw_scenario_vm {
	uint64_t vmid;
	struct nw_scenario_region *regions;
	size_t region_count, region_cap;
	struct nw_scenario_pos pos, vmid_pos;
};

/* The control registers a scenario's cpu section gives (nw_scenario.cpu_given): the
 * others come from a memory dump's CPU note or are 0, and commands say which. */
enum {
	NW_SCENARIO_GIVES_CR0 = 1u << 0,
	NW_SCENARIO_GIVES_CR3 = 1u << 1,
	NW_SCENARIO_GIVES_CR4 = 1u << 2,
	NW_SCENARIO_GIVES_EFER = 1u << 3,
};

struct nw_scenario {
	char *file;
	uint64_t host_memory; /* bytes; 0 means the default */
	struct nw_scenario_pos host_memory_pos;
	uint64_t host_seed;
	int arch; /* enum nw_scenario_arch */
	struct nw_scenario_pos arch_pos;
	struct nw_scenario_arm64 arm64;
	struct nw_scenario_riscv riscv;
	uint64_t vmid; /* VTTBR_EL2.VMID or hgatp.VMID: vmid_pos line 0, absent (0) */
	struct nw_scenario_pos vmid_pos;
	struct nw_aspace_config stage2;
	/* Of the stage2 (or ept) and host sections, and of stage2's format, levels, accessed_dirty and memory_type
	 * keys; line 0: absent. */
	struct nw_scenario_pos stage2_pos, host_pos, format_pos, levels_pos, ad_pos, memory_type_pos, mbec_pos;
	/* cpu.features (every feature when absent: has_features false), and where it and the cpu keys it is checked
	 * against are. */
	struct nw_cpu_features features;
	bool has_features;
	struct nw_scenario_pos features_pos, mode_pos, cr4_pos, maxphyaddr_pos;
	struct nw_scenario_pos cpu_pos; /* the cpu section; line 0: absent */
	struct nw_scenario_pos x86_cpu_pos; /* the cpu section's first x86 key (an aarch64 scenario refuses it) */
	/* Each list: count items in room for cap (grow.h). */
	struct nw_scenario_region *regions;
	size_t region_count, region_cap;
	struct nw_scenario_edit *edits;
	size_t edit_count, edit_cap;
	struct nw_scenario_vm *vms;
	size_t vm_count, vm_cap;
	struct nw_scenario_pos vms_pos; /* line 0: no vms section */
	struct nw_cpu cpu;
	unsigned cpu_given; /* NW_SCENARIO_GIVES_* */
	bool has_mode;
	int mode; /* enum nw_paging_mode when has_mode */
	struct nw_scenario_write *writes;
	size_t write_count, write_cap;
	struct nw_scenario_mapping *mappings;
	size_t mapping_count, mapping_cap;
	uint64_t pt_region_gpa, pt_region_size; /* where built guest tables go; size 0: none given */
	struct nw_scenario_pos pt_region_pos;
	/* Files the scenario names, as written (relative to the scenario's folder): the trace to
	 * replay, an ELF image to load (guest.elf_image), a QEMU guest-memory dump (guest.memory_dump). */
	char *trace, *elf_image, *memory_dump;
	struct nw_scenario_pos trace_pos, elf_image_pos, memory_dump_pos;
};

/* The largest scenario file: its lines and columns fit an int. */
#define NW_SCENARIO_MAX_BYTES (64 << 20)

/* 0 on success; otherwise -1 with "file:line:col: what" in err, or "file: what" when the file cannot
 * be read (missing, not a regular file, larger than NW_SCENARIO_MAX_BYTES). */
int nw_scenario_load(const char *path, struct nw_scenario *scenario, char *err, size_t errlen);
/* The same for size bytes of text in memory (need not end in NUL), called name in messages; files the
 * scenario names are found relative to name's folder. */
int nw_scenario_load_text(const char *name, const char *text, size_t size, struct nw_scenario *scenario,
			  char *err, size_t errlen);
void nw_scenario_free(struct nw_scenario *scenario);

/* A scenario-relative file name made usable from the current directory: path
 * as is when absolute, else joined to the scenario file's folder. Returns 0,
 * or -1 when it does not fit in out. */
int nw_scenario_file_path(const struct nw_scenario *scenario, const char *name, char *out, size_t outlen);
/* The trace a command replays: given (--trace) when not NULL, so a user's trace (e.g. one `hw run
 * --observed` wrote) replays on a scenario that names its own; else the scenario's trace. 0, or -1
 * with err saying why (no trace at all, a path too long). */
int nw_scenario_trace_path(const struct nw_scenario *scenario, const char *given, char *out, size_t outlen,
			   char *err, size_t errlen);

/* A scenario built: a simulated host, the VM's address space on it, the CPU, and the address spaces of its
 * further VMs (vms: the scenario's vms, in order) on the same host. */
struct nw_vm {
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	struct nw_aspace aspace;
	struct nw_cpu cpu;
	struct nw_aspace *vms;
	size_t vm_count;
};

/* The scenario as its further VM i is built and checked: the scenario's geometry and switches with that VM's
 * regions, and no edits, guest contents or tables (they are the first VM's). Owns nothing. */
struct nw_scenario nw_scenario_vm_view(const struct nw_scenario *scenario, size_t i);
/* The vms section checked once the architecture is known (scenario_vms.c): 0, or -1 with the reason in err. */
int nw_scenario_check_vms(const struct nw_scenario *scenario, char *err, size_t errlen);

/* 0 on success; otherwise -1 with "file:line:col: what" in err and nothing
 * left allocated. */
int nw_vm_build(const struct nw_scenario *scenario, struct nw_vm *vm, char *err, size_t errlen);
/* Why a loader write (nw_aspace_write) of len bytes at gpa failed with
 * status, for an error message: the first address in no region or in MMIO,
 * or a lazy page the simulated host had no frame for. */
void nw_vm_write_error(const struct nw_aspace *as, nw_status_t status, uint64_t gpa, uint64_t len, char *out,
		       size_t outlen);
/* Why a raw second-stage edit (nw_aspace_edit_entry) failed with status, for an error message. */
const char *nw_vm_edit_error(const struct nw_aspace *as, nw_status_t status);
/* Tears the VM built from scenario down; returns the frames still live
 * afterwards (leaks). */
uint64_t nw_vm_destroy(const struct nw_scenario *scenario, struct nw_vm *vm);

/* "0x1000", "4096", "4K", "2M", "1G": 0 on success, -1 when not a number
 * or out of range. Shared by the YAML loader and the command lines. */
int nw_scenario_parse_u64(const char *text, size_t len, uint64_t *out);

#endif
