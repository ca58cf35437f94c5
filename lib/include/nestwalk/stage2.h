/* The second stage as the guest walker sees it: one call that translates a
 * guest-physical address for one access, whatever the format (Intel EPT, AMD
 * NPT, AArch64 stage 2, the RISC-V G-stage, or none). The walker composes it with the guest walk, so every fault
 * says which stage raised it.
 *
 * Dispatch is a switch on the kind, not a function pointer: the 2-D walk calls
 * this up to 24 times per access and the direct calls inline. */
#ifndef NESTWALK_STAGE2_H
#define NESTWALK_STAGE2_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "level.h"

NW_BEGIN_DECLS

enum nw_stage2_kind {
	NW_STAGE2_NONE = 0, /* no second stage: GPA = HPA (a bare-metal or unvirtualised walk) */
	NW_STAGE2_EPT,
	NW_STAGE2_NPT,
	NW_STAGE2_ARM64, /* VMSAv8-64 stage 2 of the EL1&0 regime (arm64_s2.h) */
	NW_STAGE2_RISCV, /* RISC-V G-stage, hgatp Sv39x4/Sv48x4/Sv57x4 (riscv_gstage.h) */
};

enum nw_s2_status {
	NW_S2_OK = 0,
	NW_S2_VIOLATION,  /* EPT violation, or NPF for not-present/permission */
	/* EPT misconfiguration, NPF with RSVD for an NPT reserved bit, AArch64
	 * address size fault, RISC-V reserved bit or encoding or misaligned superpage */
	NW_S2_MISCONFIG,
};

/* The kind of a fault, as the Arm ARM's fault status codes name them (the
 * x86 formats give translation for a missing entry, permission for a right
 * missing, misconfig for a reserved bit). */
enum nw_s2_fault {
	NW_S2_FAULT_NONE = 0,
	NW_S2_FAULT_TRANSLATION,  /* no valid entry, or the address outside the walk */
	/* AArch64: a leaf with AF clear and no hardware AF update; RISC-V
	 * (Svade): a leaf with A clear, or D clear for a store */
	NW_S2_FAULT_ACCESS_FLAG,
	NW_S2_FAULT_PERMISSION,
	NW_S2_FAULT_ADDRESS_SIZE, /* AArch64: an output or table address above the output size */
	NW_S2_FAULT_MISCONFIG,    /* x86, RISC-V: a reserved bit or combination */
	/* RISC-V: a table read found no memory (the PTE access fails its PMA check), or PMP refused a PTE access
	 * or the translated address */
	NW_S2_FAULT_ACCESS,
};

struct nw_s2_request {
	nw_gpa_t gpa;
	enum nw_access_type type; /* as the second stage sees it (see the walker for A/D writes) */
	bool user;                /* the guest access is a user-mode one (EPT mode-based execute, NPT, AArch64 EL0) */
	bool paging_structure;    /* a reference to a guest paging-structure entry, not the final access */
	bool lookup_only;         /* do not set the second stage's accessed/dirty flags */
	uint32_t size;            /* bytes accessed at gpa, 0 counting as 1 (RISC-V PMP checks them all) */
	/* The hypervisor's own lookup of where gpa lives, no access of the hart: RISC-V PMP does not apply. */
	bool host_lookup;
};

/* EPT rights as exit-qualification bits 3..6 shift them down: bit 0 read,
 * bit 1 write, bit 2 (supervisor) execute, bit 3 user execute. */
#define NW_S2_RIGHT_R (1u << 0)
#define NW_S2_RIGHT_W (1u << 1)
#define NW_S2_RIGHT_X (1u << 2)
#define NW_S2_RIGHT_UX (1u << 3)

/* No second stage (a bare-metal or unvirtualised walk): GPA = HPA in 4 KiB
 * pages, every right, write-back (memory type 6). Every walker finishes a
 * walk without a second stage with these. */
#define NW_S2_NONE_PAGE_SIZE NW_PAGE_SIZE
#define NW_S2_NONE_RIGHTS (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX)
#define NW_S2_NONE_MEMORY_TYPE 6

struct nw_s2_result {
	enum nw_s2_status status;
	enum nw_s2_fault fault; /* NONE when NW_S2_OK */
	nw_hpa_t hpa;         /* valid when NW_S2_OK */
	uint64_t page_size;   /* of the leaf, when NW_S2_OK */
	int level;            /* leaf level, or the level that faulted */
	uint64_t entry;       /* the leaf, or the entry that faulted */
	uint32_t rights;      /* NW_S2_RIGHT_*: AND over every entry read, the faulting one included */
	uint8_t memory_type;  /* EPT leaf memory type (0 UC .. 6 WB); AArch64: MemAttr[3:0]; RISC-V: PBMT */
	bool ignore_pat;
	unsigned refs;        /* entries read: the memory references this translation cost */
	/* Per level (index = level), for --explain: the entry read and the table's HPA;
	 * zero for levels not read. */
	uint64_t entries[NW_MAX_LEVELS + 1];
	nw_hpa_t tables[NW_MAX_LEVELS + 1];
};

/* What a second-stage query reports, EPT or NPT alike. */
struct nw_s2_mapping {
	nw_gpa_t gpa;         /* first GPA of the page */
	nw_hpa_t hpa;         /* the HPA the queried GPA maps to */
	uint64_t size;
	int level;
	uint64_t entry;
};

struct nw_ept;
struct nw_npt;
struct nw_arm64_s2;
struct nw_rv_gstage;

struct nw_stage2 {
	enum nw_stage2_kind kind;
	union {
		struct nw_ept *ept;
		struct nw_npt *npt;
		struct nw_arm64_s2 *arm64;
		struct nw_rv_gstage *riscv;
	};
};

void nw_ept_translate(struct nw_ept *ept, const struct nw_s2_request *req, struct nw_s2_result *res);
void nw_npt_translate(struct nw_npt *npt, const struct nw_s2_request *req, struct nw_s2_result *res);
void nw_arm64_s2_translate(struct nw_arm64_s2 *s2, const struct nw_s2_request *req, struct nw_s2_result *res);
void nw_rv_gstage_translate(struct nw_rv_gstage *s2, const struct nw_s2_request *req, struct nw_s2_result *res);

static inline void nw_stage2_translate(const struct nw_stage2 *s2, const struct nw_s2_request *req,
				       struct nw_s2_result *res)
{
	switch (s2->kind) {
	case NW_STAGE2_EPT:
		nw_ept_translate(s2->ept, req, res);
		return;
	case NW_STAGE2_NPT:
		nw_npt_translate(s2->npt, req, res);
		return;
	case NW_STAGE2_ARM64:
		nw_arm64_s2_translate(s2->arm64, req, res);
		return;
	case NW_STAGE2_RISCV:
		nw_rv_gstage_translate(s2->riscv, req, res);
		return;
	case NW_STAGE2_NONE:
		break;
	}
	/* Field by field, without the cost of a whole compound literal. */
	res->status = NW_S2_OK;
	res->fault = NW_S2_FAULT_NONE;
	res->hpa = nw_hpa_from_identical_gpa(req->gpa);
	res->page_size = NW_S2_NONE_PAGE_SIZE;
	res->level = 0;
	res->entry = 0;
	res->rights = NW_S2_NONE_RIGHTS;
	res->memory_type = NW_S2_NONE_MEMORY_TYPE;
	res->ignore_pat = false;
	res->refs = 0;
	for (int level = 0; level <= NW_MAX_LEVELS; level++) {
		res->entries[level] = 0;
		res->tables[level] = nw_hpa(0);
	}
}

NW_END_DECLS

#endif
