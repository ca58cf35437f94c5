/* RISC-V physical memory protection (privileged spec, "Physical Memory
 * Protection"): the entries M-mode firmware wrote, as pmpcfg bytes and
 * pmpaddr values, and the check PMP makes of an access whose effective
 * privilege is S or U. With the H extension that is every access of a
 * VS- or VU-mode hart and every implicit access of the VS-stage and G-stage
 * walks ("PMP checks are also applied to page-table accesses for
 * virtual-address translation, for which the effective privilege mode is
 * S"): S and U are checked alike, so the walk needs no privilege here.
 * Smepmp's mseccfg.MML changes what a cfg byte grants S and U (its "Bits on
 * pmpcfg register" table); MMWP and RLB change nothing for them. */
#ifndef NESTWALK_RISCV_PMP_H
#define NESTWALK_RISCV_PMP_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "status.h"
#include "walk.h"

NW_BEGIN_DECLS

#define NW_RV_PMP_ENTRIES 64 /* pmp0cfg..pmp63cfg */

/* One pmpNcfg byte: R bit 0, W bit 1, X bit 2, A bits 4:3, bits 6:5 WARL zero, L bit 7. */
#define NW_RV_PMPCFG_R 0x01u
#define NW_RV_PMPCFG_W 0x02u
#define NW_RV_PMPCFG_X 0x04u
#define NW_RV_PMPCFG_A_SHIFT 3
#define NW_RV_PMPCFG_A_MASK 0x18u
#define NW_RV_PMPCFG_ZERO 0x60u
#define NW_RV_PMPCFG_L 0x80u

/* The A field: how pmpaddr names the region. */
#define NW_RV_PMP_OFF 0u   /* no region */
#define NW_RV_PMP_TOR 1u   /* top of range: pmpaddr[i-1] <= y < pmpaddr[i] (0 below entry 0) */
#define NW_RV_PMP_NA4 2u   /* the naturally aligned four bytes at pmpaddr */
#define NW_RV_PMP_NAPOT 3u /* a naturally aligned power of two, eight bytes or more */

/* pmpaddr for RV64: bits 53:0 hold physical address bits 55:2, bits 63:54 are WARL zero. */
#define NW_RV_PMPADDR_MASK ((UINT64_C(1) << 54) - 1)

/* The PMP of one hart. */
struct nw_rv_pmp {
	/* Entries implemented, 0..64: 0 is a hart without PMP, whose S/U accesses all succeed. */
	unsigned count;
	/* G: the smallest region is 2^(G+2) bytes. For G >= 1 NA4 is not selectable, a NAPOT
	 * pmpaddr reads bits G-2:0 as ones and an OFF or TOR one bits G-1:0 as zeros. */
	unsigned granularity;
	uint8_t cfg[NW_RV_PMP_ENTRIES];   /* pmpNcfg as written */
	uint64_t addr[NW_RV_PMP_ENTRIES]; /* pmpaddrN as written */
	/* Smepmp mseccfg.MML (machine mode lockdown): L=1 makes an entry M-mode's (S/U get nothing, but from the
	 * shared encodings), and R=0 with W=1 encodes a shared region instead of being reserved. */
	bool mml;
};

/* NW_OK, or NW_ERR_INVALID for a configuration no hart holds: more than 64
 * entries, G above 54 (regions beyond the 56-bit physical space), a cfg byte
 * with bits 6:5 set or R=0 with W=1 (reserved without MML), NA4 where G >= 1, a
 * pmpaddr with bits 63:54 set (WARL zero: it could not read back as written). */
NW_MUST_CHECK nw_status_t nw_rv_pmp_check(const struct nw_rv_pmp *pmp);

/* Whether an S- or U-mode access of size bytes (0 counts as 1) at the
 * physical address addr succeeds: the lowest-numbered entry that matches any
 * byte decides; it must match every byte, and grant R for a load, W for a
 * store or AMO, X for a fetch (without MML L changes nothing for S and U;
 * with it, the Smepmp table's S/U column). No entry
 * matching fails the access, unless no entry is implemented. pmp passed
 * nw_rv_pmp_check. A refusal is an access fault of the original access type. */
bool nw_rv_pmp_allows(const struct nw_rv_pmp *pmp, uint64_t addr, uint64_t size, enum nw_access_type type);

/* The entry that decides the access (as above), -1 when none matches. */
int nw_rv_pmp_deciding_entry(const struct nw_rv_pmp *pmp, uint64_t addr, uint64_t size);

NW_END_DECLS

#endif
