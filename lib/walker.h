/* The fast walker's state (walk.h keeps it opaque): the configuration and CPU
 * state, and what is derived from them once so a walk reads tables instead of
 * applying rules. nw_walker_set_cpu() derives the levels (walker.c, geometry
 * from the paging mode's nw_pt_format, reserved bits from walk_rules.h) and
 * the per-access tables (perm.c); nw_walker_init() the second stage's masks
 * (stage2_fast.c). */
#ifndef NESTWALK_LIB_WALKER_H
#define NESTWALK_LIB_WALKER_H

#include <nestwalk/arm64_memattr.h>
#include <nestwalk/arm64_s1.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_vs.h>
#include <nestwalk/walk.h>

#include "stage2_fast.h"

/* One guest paging level as the walk uses it under the CPU state (the
 * geometry is the format's). */
struct nw_walk_level_desc {
	uint8_t level;
	bool pse36;              /* a large leaf holds address bits 39:32 in bits 20:13 (32-bit paging, Table 4-4) */
	uint64_t ps;             /* NW_PTE_PS where PS is examined, else 0 */
	uint64_t rsvd;           /* reserved bits of a non-leaf (or PS=0) entry */
	uint64_t rsvd_large;     /* reserved bits of a large leaf; all-ones when PS is reserved here */
	uint64_t addr_mask;      /* next-table address bits */
	uint64_t large_addr_mask; /* large-page address bits */
};

/* What the walker derives per kind of access (index: type | implicit << 2)
 * from the rules of §4.6 and §4.7 under its CPU state (perm.c). */
struct nw_walk_access_kind {
	uint32_t pfec;       /* the error-code bits that describe the access (W, U, I/D) */
	uint16_t pk_keys[2]; /* per page U/S (0 supervisor, 1 user): bitmap over the keys that forbid it */
	uint8_t faults;      /* bitmap over the rights value (NW_WALK_RIGHT_*) of the pages it faults on */
	uint8_t s2_need;     /* the final stage-2 access: type, | NW_S2_NEED_USER when user-mode */
	bool user;           /* the access is user-mode */
};

/* Which copy of the walk answers the plain case (walk_fast.c). */
enum nw_walk_plain_copy {
	NW_PLAIN_OFF = 0, /* paging off, 32-bit or PAE paging: the general copy answers everything */
	NW_PLAIN_1D_4,
	NW_PLAIN_1D_5,
	NW_PLAIN_2D_4,
	NW_PLAIN_2D_5,
	NW_PLAIN_A64_1D_48, /* AArch64 stage 1, 4 KiB granule, 48-bit VAs (vmsa_formats.h), no stage 2 */
	NW_PLAIN_A64_1D_39, /* the same with 39-bit VAs */
	NW_PLAIN_A64_2D_48, /* the same two over an AArch64 stage 2 */
	NW_PLAIN_A64_2D_39,
	NW_PLAIN_RV_1D_39, /* RISC-V VS-stage Sv39 (riscv_vs_formats.h), no G-stage */
	NW_PLAIN_RV_1D_48, /* the same with Sv48 */
	NW_PLAIN_RV_2D_39, /* the same two over a RISC-V G-stage */
	NW_PLAIN_RV_2D_48,
};

/* What an AArch64 walker derives from MAIR_EL1 and the stage-2 encodings once
 * (arm64_memattr.h): the attributes of each AttrIndx and SH, and of each
 * stage-2 MemAttr and SH. */
struct nw_walker_a64 {
	struct nw_arm64_cpu cpu;
	struct nw_arm64_memattr s1_attrs[8][4];
	struct nw_arm64_memattr s2_attrs[16][4];
};

struct nw_walker {
	struct nw_walk_config config;
	struct nw_cpu cpu;
	bool arm64;              /* an AArch64 walker (nw_walker_init_arm64): a64 holds its state, cpu is unused */
	struct nw_walker_a64 a64;
	bool riscv;              /* a RISC-V VS-stage walker (nw_walker_init_riscv): rv holds its state, cpu is unused */
	struct nw_rv_vs_cpu rv;
	/* Derived by nw_walker_set_cpu(): */
	enum nw_paging_mode mode;
	const struct nw_pt_format *format; /* the mode's (gpt_formats.h); NULL with paging off */
	unsigned nlevels;
	unsigned entry_bytes;
	struct nw_walk_level_desc levels[NW_MAX_LEVELS];
	struct nw_walk_access_kind kinds[8];
	unsigned va_bits;        /* 32, 48 or 57 */
	uint64_t xd_mask;        /* NW_PTE_XD when XD is in force, else 0 */
	uint64_t cr3_mask;       /* the first table's address bits in CR3 */
	enum nw_walk_plain_copy plain;
	/* Derived by nw_walker_init() from the configuration: */
	struct nw_s2_fast s2;    /* the second stage as masks (stage2_fast.h) */
	const uint8_t *map;      /* the HAL's direct-map window (guest tables under no second stage, or their HPAs) */
	uint64_t map_size;
	uint64_t table_limit;    /* a table below it lies wholly in the window */
	enum nw_access_type table_access; /* how the second stage sees a guest-table read */
};

/* What the walker derived for an access of this type, implicit or not. */
static inline const struct nw_walk_access_kind *nw_walker_kind(const struct nw_walker *walker,
							       enum nw_access_type type, bool implicit)
{
	return &walker->kinds[(type & 3) | (implicit ? 4 : 0)];
}

/* The protection key of the leaf forbids this access (§4.6.2): one bit of
 * the keys perm.c derived, by the rules of walk_rules.h, for this kind of
 * access and the page's U/S. */
static inline bool nw_walker_is_key_forbidden(const struct nw_walk_access_kind *kind, uint32_t rights, uint64_t leaf)
{
	return (kind->pk_keys[(rights & NW_WALK_RIGHT_U) ? 1 : 0] >> nw_pte_pk(leaf)) & 1;
}

/* Derives the per-access tables (rights, protection keys, error code) from
 * the walker's CPU state by the rules of walk_rules.h (perm.c). */
void nw_perm_derive(struct nw_walker *walker);

#endif
