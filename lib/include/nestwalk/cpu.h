/* Guest CPU state that governs a linear-address translation (SDM Vol. 3A
 * §2.5 control registers, §4.1 paging modes, §4.6 access rights), and the
 * PAE PDPTE registers loaded at CR3 load (§4.4.1). Register bits are uint64_t
 * masks; no bitfields. */
#ifndef NESTWALK_CPU_H
#define NESTWALK_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"

NW_BEGIN_DECLS

#define NW_CR0_PE (UINT64_C(1) << 0)  /* protection enable: 0 is real-address mode */
#define NW_CR0_WP (UINT64_C(1) << 16) /* write protect: supervisor writes honour R/W (§4.6.1) */
#define NW_CR0_PG (UINT64_C(1) << 31) /* paging enable */

#define NW_CR3_PWT (UINT64_C(1) << 3)
#define NW_CR3_PCD (UINT64_C(1) << 4)
#define NW_CR3_PCID_MASK UINT64_C(0xfff) /* bits 11:0 when CR4.PCIDE=1 (§4.10.1) */
#define NW_CR3_PAE_PDPT_MASK UINT64_C(0xffffffe0) /* PAE: bits 31:5 locate the PDPT (§4.4.1) */

#define NW_CR4_PSE (UINT64_C(1) << 4)    /* 4 MiB pages with 32-bit paging */
#define NW_CR4_PAE (UINT64_C(1) << 5)
#define NW_CR4_PGE (UINT64_C(1) << 7)
#define NW_CR4_LA57 (UINT64_C(1) << 12)  /* 5-level paging */
#define NW_CR4_PCIDE (UINT64_C(1) << 17)
#define NW_CR4_SMEP (UINT64_C(1) << 20)
#define NW_CR4_SMAP (UINT64_C(1) << 21)
#define NW_CR4_PKE (UINT64_C(1) << 22)   /* protection keys for user-mode pages (PKRU) */
#define NW_CR4_PKS (UINT64_C(1) << 24)   /* protection keys for supervisor-mode pages (IA32_PKRS) */

#define NW_EFER_LME (UINT64_C(1) << 8)
#define NW_EFER_LMA (UINT64_C(1) << 10)
#define NW_EFER_NXE (UINT64_C(1) << 11)

#define NW_RFLAGS_AC (UINT64_C(1) << 18) /* alignment check / SMAP override for explicit accesses */

/* PKRU and IA32_PKRS: two bits per key, AD (access disable) then WD (write disable) (§4.6.2). */
#define NW_PKR_AD(key) (UINT32_C(1) << ((key) * 2))
#define NW_PKR_WD(key) (UINT32_C(2) << ((key) * 2))

/* IA32_PAT after power-up or reset (§11.12.4, Table 11-12): entries 0-7 WB, WT,
 * UC-, UC, WB, WT, UC-, UC. */
#define NW_PAT_POWER_ON UINT64_C(0x0007040600070406)
/* The memory type in entry i of an IA32_PAT value: bits 8i+2:8i (§11.12.2). */
#define NW_PAT_TYPE(pat, i) ((uint8_t)(((pat) >> (8 * (i))) & 7))

/* PAE PDPTE register bits (§4.4.1, Table 4-8): bits 2:1 and 8:5 are reserved,
 * as are bits 63:MAXPHYADDR. */
#define NW_PDPTE_PAE_RSVD_LOW UINT64_C(0x1e6)

#define NW_MAXPHYADDR_DEFAULT 46
#define NW_MAXPHYADDR_MIN 36
#define NW_MAXPHYADDR_MAX 52

NW_STATIC_ASSERT((NW_CR0_WP & NW_CR0_PG) == 0, "CR0 bits overlap");
NW_STATIC_ASSERT(((NW_CR4_PSE | NW_CR4_PAE | NW_CR4_PGE | NW_CR4_LA57 | NW_CR4_PCIDE) &
		(NW_CR4_SMEP | NW_CR4_SMAP | NW_CR4_PKE | NW_CR4_PKS)) == 0, "CR4 bits overlap");
NW_STATIC_ASSERT(((NW_EFER_LME | NW_EFER_LMA) & NW_EFER_NXE) == 0, "EFER bits overlap");

enum nw_paging_mode {
	NW_PAGING_OFF = 0, /* CR0.PG=0: linear = guest-physical */
	NW_PAGING_32,      /* 32-bit paging (§4.3) */
	NW_PAGING_PAE,     /* PAE paging (§4.4) */
	NW_PAGING_4LEVEL,  /* 4-level paging (§4.5) */
	NW_PAGING_5LEVEL,  /* 5-level paging (§4.5) */
};

struct nw_cpu {
	uint64_t cr0, cr3, cr4, efer, rflags;
	unsigned cpl;         /* 0..3; CPL 3 accesses are user-mode unless implicit */
	uint32_t pkru;
	uint32_t pkrs;        /* IA32_PKRS bits 31:0 */
	unsigned maxphyaddr;  /* 36..52 (others clamped); 0 means NW_MAXPHYADDR_DEFAULT */
	bool no_1g_pages;     /* CPUID.80000001H:EDX.Page1GB[bit 26] = 0: PS in a PDPTE is reserved */
	/* PAE PDPTE registers (§4.4.1), loaded by nw_cpu_load_cr3() in PAE mode; a PAE
	 * walk uses these, not memory, so a CR3 set by hand needs that call. */
	uint64_t pdpte[4];
	bool pdptes_loaded;
};

/* The paging mode the control registers select (§4.1.1, Table 4-1). EFER.LMA is
 * taken as set when CR0.PG and EFER.LME both are, as the CPU sets it. */
enum nw_paging_mode nw_cpu_paging_mode(const struct nw_cpu *cpu);
/* Sets CR0.PG, CR4.PAE/LA57 and EFER.LME/LMA so that nw_cpu_paging_mode() gives mode;
 * other bits are kept. */
void nw_cpu_set_mode(struct nw_cpu *cpu, enum nw_paging_mode mode);
unsigned nw_cpu_maxphyaddr(const struct nw_cpu *cpu);
const char *nw_paging_mode_name(enum nw_paging_mode mode);

NW_END_DECLS

#endif
