/* A VM's guest-physical address space (AxVisor's AddrSpace): a second-stage
 * table (EPT, AMD NPT, AArch64 stage 2 or the RISC-V G-stage) plus the memory regions that say what each GPA range
 * is. RAM comes from the HAL (MAP_ALLOC, up front or on first touch), a
 * pass-through range maps GPA = HPA (MAP_IDENTICAL), device ranges are never
 * backed (MMIO) and read-only images refuse writes (ROM).
 *
 * Nothing here calls malloc: regions live in a fixed array inside the struct
 * and the record of allocated frames lives in frames from the HAL. */
#ifndef NESTWALK_ASPACE_H
#define NESTWALK_ASPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "arm64_s2.h"
#include "cdefs.h"
#include "ept.h"
#include "npt.h"
#include "riscv_gstage.h"
#include "hal.h"
#include "level.h"
#include "stage2.h"
#include "status.h"

NW_BEGIN_DECLS

/* Region flags, AxVisor's MappingFlags bits as its VM configs write them. */
#define NW_REGION_READ (1u << 0)
#define NW_REGION_WRITE (1u << 1)
#define NW_REGION_EXEC (1u << 2)
#define NW_REGION_USER (1u << 3)     /* accepted for AxVisor configs; stage 2 has no user bit to set */
#define NW_REGION_DEVICE (1u << 4)   /* device memory: mapped uncacheable */
#define NW_REGION_UNCACHED (1u << 5) /* mapped uncacheable */
#define NW_REGION_FLAGS_ALL 0x3fu

enum nw_region_type {
	NW_REGION_ALLOC = 0,     /* frames from the HAL, zeroed */
	NW_REGION_IDENTICAL = 1, /* GPA = HPA; the caller makes the host range exist */
	NW_REGION_MMIO = 2,      /* never backed: every access is an MMIO exit */
	NW_REGION_ROM = 3,       /* frames from the HAL, mapped without write: writes exit */
};

struct nw_region {
	nw_gpa_t base;
	uint64_t size;
	uint32_t flags; /* NW_REGION_* */
	enum nw_region_type type;
	bool lazy; /* MAP_ALLOC only: populate each page on its first stage-2 fault */
};

#define NW_ASPACE_MAX_REGIONS 64

/* EPTP memory types (SDM Vol. 3C §25.6.11): the only two an EPTP may name. */
#define NW_ASPACE_MEMTYPE_UC 0
#define NW_ASPACE_MEMTYPE_WB 6

struct nw_aspace_config {
	/* NW_STAGE2_EPT, NW_STAGE2_NPT, or NW_STAGE2_NONE: no second stage, GPA = HPA, so every region is a
	 * pass-through one (NW_REGION_IDENTICAL) and levels, A/D and memory type are not used. */
	enum nw_stage2_kind format;
	unsigned levels;            /* 4 or 5 */
	bool accessed_dirty;        /* EPTP bit 6 */
	bool mode_based_execute;    /* EPT only: the mode-based execute control (SDM Vol. 3C §29.3.3.2): a region's
				     * execute right is then both X (supervisor) and UX (user, bit 10) */
	uint8_t memory_type;        /* paging-structure memory type in the EPTP: UC or WB */
	unsigned maxphyaddr;        /* 0 means 46; overrides the maxphyaddr of the caps below */
	/* What the modelled CPU supports: false means every feature (nw_ept_caps_all, nw_npt_caps_all). */
	bool has_caps;
	struct nw_ept_caps ept_caps;
	struct nw_npt_caps npt_caps;
	/* format NW_STAGE2_ARM64: VTCR_EL2 as decoded (nw_arm64_vtcr_decode), caps included; levels, A/D and
	 * memory type are not used (a region's type gives each leaf its MemAttr). */
	struct nw_arm64_s2_config arm64;
	/* format NW_STAGE2_RISCV: hgatp's mode, menvcfg.ADUE and PBMTE, the HS-level sstatus.MXR and the caps
	 * (nw_rv_gstage_create checks them); levels, A/D and memory type are not used. A region's leaves are
	 * U (G-stage accesses are U-mode ones) with A and D set, so neither Svade nor Svadu writes or faults on
	 * a first access; with PBMTE a device region is PBMT IO and an uncached one NC, without it the platform's
	 * PMAs give the memory type. Every region but MMIO needs read or execute (NW_ERR_NO_LEAF_RIGHTS). */
	struct nw_rv_gstage_config riscv;
};

/* s2 points into the struct itself: an address space is used where it was
 * initialised, never copied. */
struct nw_aspace {
	const struct nw_hal *hal;
	struct nw_aspace_config config;
	struct nw_stage2 s2;
	union {
		struct nw_ept ept; /* config.format NW_STAGE2_EPT */
		struct nw_npt npt; /* config.format NW_STAGE2_NPT */
		struct nw_arm64_s2 arm64; /* config.format NW_STAGE2_ARM64 */
		struct nw_rv_gstage riscv; /* config.format NW_STAGE2_RISCV */
	};
	struct nw_region regions[NW_ASPACE_MAX_REGIONS]; /* sorted by base, never overlapping */
	unsigned region_count;
	nw_hpa_t ledger;     /* newest page of the allocated-frame record; 0 when empty */
	uint64_t frame_count; /* data frames the aspace holds (MAP_ALLOC and ROM) */
};

NW_MUST_CHECK nw_status_t nw_aspace_init(struct nw_aspace *as, const struct nw_hal *hal,
					 const struct nw_aspace_config *config);
/* Frees every data frame and every table frame. */
void nw_aspace_destroy(struct nw_aspace *as);

/* The second stage's smallest page, the unit of a region and of a MAP_ALLOC
 * frame run: 4 KiB, or the AArch64 stage 2's granule (16 or 64 KiB). */
uint64_t nw_aspace_page_size(const struct nw_aspace *as);

/* Adds a region: aligned to nw_aspace_page_size(), non-empty, not overlapping another one, flags
 * a stage 2 can express. Each broken rule has its status: NW_ERR_ALIGN,
 * NW_ERR_RANGE (beyond the table), NW_ERR_REGION_FLAGS (unknown bits),
 * NW_ERR_INVALID (unknown type), NW_ERR_WRITE_WITHOUT_READ, NW_ERR_ROM_WRITABLE,
 * NW_ERR_LAZY_NOT_ALLOC (lazy only for MAP_ALLOC), NW_ERR_ABOVE_MAXPHYADDR
 * (a pass-through range past 2^MAXPHYADDR), NW_ERR_EXISTS (overlap),
 * NW_ERR_REGION_SLOTS (all NW_ASPACE_MAX_REGIONS slots used), NW_ERR_NOMEM
 * (no frame), NW_ERR_NEEDS_STAGE2 (without a second stage, a region that is
 * not a pass-through one), NW_ERR_NO_LEAF_RIGHTS (over a RISC-V G-stage, a
 * region other than MMIO without read or execute). On any failure nothing changes and nothing leaks. */
NW_MUST_CHECK nw_status_t nw_aspace_add_region(struct nw_aspace *as, const struct nw_region *region);
/* Removes the region starting at base: unmaps it and frees its frames. */
NW_MUST_CHECK nw_status_t nw_aspace_remove_region(struct nw_aspace *as, nw_gpa_t base);
/* The region holding gpa, or NULL. */
const struct nw_region *nw_aspace_find_region(const struct nw_aspace *as, nw_gpa_t gpa);

/* GPA -> HPA through the second stage, without touching its A/D flags;
 * NW_ERR_NOT_FOUND when nothing is mapped there (MMIO, a lazy page not yet
 * touched, a hole). */
NW_MUST_CHECK nw_status_t nw_aspace_translate(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *hpa);
/* HPA -> GPA: the guest-physical address whose data lives at hpa, for frames
 * the aspace allocated and for pass-through ranges. */
NW_MUST_CHECK nw_status_t nw_aspace_reverse(const struct nw_aspace *as, nw_hpa_t hpa, nw_gpa_t *gpa);

/* The second stage, as the guest walker takes it. */
static inline const struct nw_stage2 *nw_aspace_stage2(const struct nw_aspace *as) { return &as->s2; }

/* One present second-stage leaf as nw_aspace_visit_mappings() reports it. */
struct nw_aspace_mapping {
	nw_gpa_t gpa;
	nw_hpa_t hpa;
	uint64_t size;
	int level;
	uint32_t rights;     /* NW_S2_RIGHT_* */
	uint8_t memory_type; /* EPT: the leaf's type; NPT: the default PAT's type for PAT:PCD:PWT (7 = UC-) */
	uint64_t entry;
};

/* Calls visit for every present leaf in GPA order. */
void nw_aspace_visit_mappings(const struct nw_aspace *as,
			      void (*visit)(void *ctx, const struct nw_aspace_mapping *mapping), void *ctx);

/* Raw edit of the second-stage entry at level on the path of gpa (scenarios
 * that build broken tables on purpose); the table structure is protected
 * (nw_pt_edit). */
NW_MUST_CHECK nw_status_t nw_aspace_edit_entry(struct nw_aspace *as, nw_gpa_t gpa, int level, uint64_t clear,
					       uint64_t set);

/* What a stage-2 fault (EPT violation, NPF) means for this VM. */
enum nw_aspace_fault {
	NW_ASPACE_FAULT_RETRY,     /* a lazy page was populated: run the access again */
	NW_ASPACE_FAULT_MMIO,      /* an access to an MMIO region: emulate the device */
	NW_ASPACE_FAULT_ROM_WRITE, /* a write to ROM: the data stays as it was */
	NW_ASPACE_FAULT_VIOLATION, /* a real violation: reflect it, the regions do not explain it */
	NW_ASPACE_FAULT_NO_MEMORY, /* a lazy page the host had no frame for: the host's failure, not the guest's */
};

struct nw_aspace_exit {
	enum nw_aspace_fault kind;
	nw_gpa_t gpa;
	uint64_t size;   /* bytes of the access */
	bool is_write;   /* MMIO and ROM exits: write (true) or read (false) */
};

/* Resolves a stage-2 fault at gpa for an access of size bytes. Only a lazy
 * population allocates; NW_ERR_NOMEM (exit kind NW_ASPACE_FAULT_NO_MEMORY)
 * then leaves everything unchanged. */
NW_MUST_CHECK nw_status_t nw_aspace_resolve_fault(struct nw_aspace *as, nw_gpa_t gpa, enum nw_access_type type,
						  uint64_t size, struct nw_aspace_exit *exit);

/* Loader writes (a VM image, guest page tables, a guest's own writes in a
 * trace): copies len bytes into guest memory at gpa through each region's own
 * backing (the frame recorded for the page, or the same address for a
 * pass-through range), whatever rights, memory type or address the
 * second-stage entry holds; populates a lazy page not touched yet, as the
 * hypervisor would on the guest's first write; writes ROM as its loader would.
 * NW_ERR_NOT_FOUND when part of the range is in no region or in MMIO,
 * NW_ERR_NOMEM when a lazy page finds no frame; the bytes before that point
 * may have been written. nw_aspace_read never populates: a lazy page not
 * touched yet is NW_ERR_NOT_FOUND. */
NW_MUST_CHECK nw_status_t nw_aspace_write(struct nw_aspace *as, nw_gpa_t gpa, const void *src, uint64_t len);
NW_MUST_CHECK nw_status_t nw_aspace_read(const struct nw_aspace *as, nw_gpa_t gpa, void *dst, uint64_t len);

NW_END_DECLS

#endif
