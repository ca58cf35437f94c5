/* The guest paging rules, each once, as a named predicate citing the SDM
 * (Vol. 3A §4.3-§4.5 reserved bits, §4.6 access rights, §4.7 page-fault error
 * code, §11.12 PAT). The reference walker (walk_ref.c) applies them rule by
 * rule; the fast walker's level masks (walker.c) and per-access tables
 * (perm.c) are generated from them, as KVM's update_permission_bitmask derives
 * its bitmaps from rule code, and those tables are what walk_fast.c and the
 * TLB-hit check (walk_tlb.c) read. Internal: not installed.
 *
 * The few rules a library user may apply too are in the public headers, each
 * once: the rights of an entry and canonical addresses (walk.h), a leaf's
 * protection key and PAT index (x86_pte.h), GPA = HPA write-back without a
 * second stage (stage2.h), the power-on PAT (cpu.h). */
#ifndef NESTWALK_WALK_RULES_H
#define NESTWALK_WALK_RULES_H

#include <nestwalk/cpu.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

/* Bits high:low of an entry. */
static inline uint64_t nw_rule_bits(unsigned high, unsigned low)
{
	uint64_t from_low = low >= 64 ? 0 : ~UINT64_C(0) << low;
	uint64_t above_high = high >= 63 ? 0 : ~UINT64_C(0) << (high + 1);

	return from_low & ~above_high;
}

/* §4.4.2, §4.5.4 (Tables 4-9..4-11, 4-14..4-20): bits at or above MAXPHYADDR are
 * reserved in 64-bit entries: 62:M in PAE paging, 51:M in 4-/5-level paging. */
static inline uint64_t nw_rule_rsvd_above_maxphyaddr(const struct nw_cpu *cpu, enum nw_paging_mode mode)
{
	unsigned m = nw_cpu_maxphyaddr(cpu), top = mode == NW_PAGING_PAE ? 62 : 51;

	return m <= top ? nw_rule_bits(top, m) : 0;
}

/* §4.4.2, §4.5.4: with IA32_EFER.NXE=0 bit 63 (XD) is reserved in PAE and 4-/5-level entries. */
static inline uint64_t nw_rule_rsvd_xd(const struct nw_cpu *cpu)
{
	return (cpu->efer & NW_EFER_NXE) ? 0 : NW_PTE_XD;
}

/* §4.3, §4.4.2, §4.5.4: PS=1 maps a page in a PDE (32-bit paging: only with
 * CR4.PSE=1) and, in 4-/5-level paging, in a PDPTE; in a PTE it is the PAT bit. */
static inline bool nw_rule_ps_maps_page(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level)
{
	if (mode == NW_PAGING_32)
		return level == NW_LEVEL_PD && (cpu->cr4 & NW_CR4_PSE);
	if (mode == NW_PAGING_PAE)
		return level == NW_LEVEL_PD;
	return level == NW_LEVEL_PD || level == NW_LEVEL_PDPT;
}

/* Tables 4-14, 4-15, §4.5.4: in 4-/5-level paging PS is reserved in a PML5E and
 * a PML4E, and in a PDPTE when the CPU has no 1 GiB pages. */
static inline bool nw_rule_is_ps_reserved(const struct nw_cpu *cpu, unsigned level)
{
	return level >= NW_LEVEL_PML4 || (level == NW_LEVEL_PDPT && cpu->no_1g_pages);
}

/* Tables 4-10, 4-16, 4-18: a large page's address bits below its alignment are
 * reserved: bits 20:13 of a 2 MiB PDE, bits 29:13 of a 1 GiB PDPTE. */
static inline uint64_t nw_rule_rsvd_large_alignment(unsigned level)
{
	return level == NW_LEVEL_PD ? nw_rule_bits(20, 13) : nw_rule_bits(29, 13);
}

/* Table 4-4 (PSE-36): a 4 MiB PDE of 32-bit paging carries physical-address bits
 * (M-1):32 in bits (M-20):13, M limited to 40; bits 21:(M-19) are reserved. */
static inline uint64_t nw_rule_rsvd_pse36(const struct nw_cpu *cpu)
{
	unsigned m = nw_cpu_maxphyaddr(cpu);

	return nw_rule_bits(21, (m > 40 ? 40 : m) - 19);
}

/* §4.3-§4.5: the reserved bits of a present entry at level with PS=1 (ps) or
 * not, all of them where PS=1 is itself reserved; any of them set makes the
 * access fault with RSVD=1 (§4.7). 32-bit entries have none but PSE-36's. */
static inline uint64_t nw_rule_rsvd_bits(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, bool ps)
{
	bool long_mode = mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL;
	uint64_t rsvd = mode == NW_PAGING_32 ? 0 : nw_rule_rsvd_above_maxphyaddr(cpu, mode) | nw_rule_rsvd_xd(cpu);

	if (!ps || level == NW_LEVEL_PT)
		return rsvd;
	if (long_mode && nw_rule_is_ps_reserved(cpu, level))
		return ~UINT64_C(0);
	if (!nw_rule_ps_maps_page(cpu, mode, level))
		return rsvd;
	return rsvd | (mode == NW_PAGING_32 ? nw_rule_rsvd_pse36(cpu) : nw_rule_rsvd_large_alignment(level));
}

/* Whether a walker examines PS in entries at level: where it maps a page or is reserved. */
static inline bool nw_rule_is_ps_examined(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level)
{
	return nw_rule_ps_maps_page(cpu, mode, level) || nw_rule_rsvd_bits(cpu, mode, level, true) == ~UINT64_C(0);
}

/* §4.6: an access at CPL 3 is user-mode, except the implicit supervisor-mode
 * accesses (GDT, IDT, LDT, TSS), which are supervisor-mode at any CPL. */
static inline bool nw_rule_is_user_access(unsigned cpl, bool implicit)
{
	return cpl == 3 && !implicit;
}

/* §4.6.1: RFLAGS.AC=1 lifts SMAP for explicit accesses (necessarily at CPL<3);
 * implicit supervisor-mode accesses ignore AC. */
static inline bool nw_rule_is_smap_lifted(const struct nw_cpu *cpu, bool implicit)
{
	return !implicit && cpu->cpl < 3 && (cpu->rflags & NW_RFLAGS_AC);
}

/* §4.4.2, §4.5.4: XD exists only in 64-bit entries and only with IA32_EFER.NXE=1. */
static inline bool nw_rule_is_xd_in_force(const struct nw_cpu *cpu, enum nw_paging_mode mode)
{
	return mode != NW_PAGING_32 && (cpu->efer & NW_EFER_NXE);
}

/* §4.6.1, the rights one entry grants: nw_walk_entry_rights (walk.h, which the inline probe reads too). */

/* §4.6.1: a user-mode access to a supervisor-mode address (U/S=0 at some level) is never allowed. */
static inline bool nw_rule_us_blocks(bool user, uint32_t rights)
{
	return user && !(rights & NW_WALK_RIGHT_U);
}

/* §4.6.1: a user-mode write needs R/W=1 at every level; so does a supervisor-mode
 * write with CR0.WP=1 (with WP=0 it may write read-only pages). */
static inline bool nw_rule_rw_blocks(const struct nw_cpu *cpu, bool user, enum nw_access_type type, uint32_t rights)
{
	return type == NW_ACCESS_WRITE && (user || (cpu->cr0 & NW_CR0_WP)) && !(rights & NW_WALK_RIGHT_W);
}

/* §4.6.1: no instruction may be fetched through an entry with XD=1 (when in force). */
static inline bool nw_rule_xd_blocks(enum nw_access_type type, uint32_t rights)
{
	return type == NW_ACCESS_FETCH && !(rights & NW_WALK_RIGHT_X);
}

/* §4.6.1: CR4.SMEP=1: supervisor-mode fetches from user-mode addresses fault. */
static inline bool nw_rule_smep_blocks(const struct nw_cpu *cpu, bool user, enum nw_access_type type, uint32_t rights)
{
	return !user && type == NW_ACCESS_FETCH && (cpu->cr4 & NW_CR4_SMEP) && (rights & NW_WALK_RIGHT_U);
}

/* §4.6.1: CR4.SMAP=1: supervisor-mode data accesses to user-mode addresses
 * fault, unless RFLAGS.AC lifts SMAP for the access (nw_rule_is_smap_lifted). */
static inline bool nw_rule_smap_blocks(const struct nw_cpu *cpu, bool user, bool lifted, enum nw_access_type type,
				       uint32_t rights)
{
	return !user && type != NW_ACCESS_FETCH && (cpu->cr4 & NW_CR4_SMAP) && (rights & NW_WALK_RIGHT_U) && !lifted;
}

/* §4.6.1: the access to a translation with these rights faults (protection keys aside). */
static inline bool nw_rule_rights_block(const struct nw_cpu *cpu, bool user, bool smap_lifted, enum nw_access_type type,
					uint32_t rights)
{
	return nw_rule_us_blocks(user, rights) || nw_rule_rw_blocks(cpu, user, type, rights) ||
	       nw_rule_xd_blocks(type, rights) || nw_rule_smep_blocks(cpu, user, type, rights) ||
	       nw_rule_smap_blocks(cpu, user, smap_lifted, type, rights);
}

/* §4.6.2: the register whose key bits govern a page, 0 when keys do not apply
 * to it: PKRU for user-mode pages with CR4.PKE=1, IA32_PKRS for supervisor-mode
 * pages with CR4.PKS=1, in 4- and 5-level paging only. */
static inline uint32_t nw_rule_pk_register(const struct nw_cpu *cpu, enum nw_paging_mode mode, bool user_page)
{
	if (mode != NW_PAGING_4LEVEL && mode != NW_PAGING_5LEVEL)
		return 0;
	if (user_page)
		return (cpu->cr4 & NW_CR4_PKE) ? cpu->pkru : 0;
	return (cpu->cr4 & NW_CR4_PKS) ? cpu->pkrs : 0;
}

/* The two bits of key in a PKRU/PKRS value: bit 0 AD, bit 1 WD (§4.6.2). */
#define NW_RULE_PK_AD 1u
#define NW_RULE_PK_WD 2u

static inline unsigned nw_rule_pk_bits(uint32_t pkr, unsigned key)
{
	return (pkr >> (key * 2)) & (NW_RULE_PK_AD | NW_RULE_PK_WD);
}

/* §4.6.2: which of a key's bits forbid an access: keys govern data accesses
 * only; AD forbids every one, WD writes by user-mode accesses and, with
 * CR0.WP=1, by supervisor-mode accesses. */
static inline unsigned nw_rule_pk_forbidding(const struct nw_cpu *cpu, bool user, enum nw_access_type type)
{
	if (type == NW_ACCESS_FETCH)
		return 0;
	if (type == NW_ACCESS_WRITE && (user || (cpu->cr0 & NW_CR0_WP)))
		return NW_RULE_PK_AD | NW_RULE_PK_WD;
	return NW_RULE_PK_AD;
}

/* §4.6.2: the protection key of the leaf forbids the access. */
static inline bool nw_rule_pk_blocks(const struct nw_cpu *cpu, enum nw_paging_mode mode, bool user,
				     enum nw_access_type type, uint32_t rights, uint64_t leaf)
{
	uint32_t pkr = nw_rule_pk_register(cpu, mode, (rights & NW_WALK_RIGHT_U) != 0);

	return (nw_rule_pk_bits(pkr, nw_pte_pk(leaf)) & nw_rule_pk_forbidding(cpu, user, type)) != 0;
}

/* §4.7: I/D is reported for an instruction fetch only when CR4.SMEP=1, or
 * CR4.PAE=1 (PAE or 4-/5-level paging) with IA32_EFER.NXE=1. */
static inline bool nw_rule_fetch_reports_id(const struct nw_cpu *cpu)
{
	return (cpu->cr4 & NW_CR4_SMEP) || ((cpu->cr4 & NW_CR4_PAE) && (cpu->efer & NW_EFER_NXE));
}

/* §4.7: W/R, U/S and I/D of the error code describe the access, whatever the cause. */
static inline uint32_t nw_rule_pfec_access_bits(const struct nw_cpu *cpu, bool user, enum nw_access_type type)
{
	return (type == NW_ACCESS_WRITE ? NW_PFEC_W : 0) | (user ? NW_PFEC_U : 0) |
	       (type == NW_ACCESS_FETCH && nw_rule_fetch_reports_id(cpu) ? NW_PFEC_ID : 0);
}

#endif
