/* The guest paging rules (SDM Vol. 3A §4.3-§4.5) a program outside lib/ reads
 * beside the walk: listing a guest's mappings, compiling an access into a
 * hardware case. Each calls the one predicate the walkers read (lib's
 * walk_rules.h), so a rule is written once. The geometry of each mode is its
 * radix format (nw_paging_format, pt_build.h). */
#ifndef NESTWALK_PAGING_RULES_H
#define NESTWALK_PAGING_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "cpu.h"
#include "level.h"

NW_BEGIN_DECLS

/* §4.3, §4.4.2, §4.5.4: PS=1 at level maps a page (a PDE, with CR4.PSE in
 * 32-bit paging; a PDPTE in 4-/5-level paging). */
bool nw_paging_ps_maps_page(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level);
/* §4.5.4: PS=1 at level is itself a reserved bit (a PML5E, a PML4E, a PDPTE
 * without 1 GiB pages): every access through the entry faults. */
bool nw_paging_is_ps_reserved(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level);
/* A walk examines PS at level: where it maps a page or is reserved. */
bool nw_paging_is_ps_examined(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level);
/* §4.4.2, §4.5.4: XD (bit 63) forbids fetches only with IA32_EFER.NXE=1 and 64-bit entries. */
bool nw_paging_is_xd_in_force(const struct nw_cpu *cpu, enum nw_paging_mode mode);
/* §4.4.2, §4.5.4: bit 63 of a 64-bit entry when it is reserved (IA32_EFER.NXE=0), else 0. */
uint64_t nw_paging_rsvd_xd(const struct nw_cpu *cpu);
/* §4.3-§4.5: the reserved bits of a present entry at level with PS=1 (ps) or
 * not, every bit where PS=1 is itself reserved; any of them set makes every
 * access through the entry fault with RSVD=1 (§4.7). */
uint64_t nw_paging_rsvd_bits(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, bool ps);

/* §4.4.1: in PAE paging the PDPT level is the four PDPTE registers MOV CR3
 * loads: a walk makes no memory reference there, and a PDPTE has no R/W, U/S
 * or XD (Table 4-8) nor an accessed flag. */
static inline bool nw_paging_is_pdpte_register(enum nw_paging_mode mode, unsigned level)
{
	return mode == NW_PAGING_PAE && level == NW_LEVEL_PDPT;
}

NW_END_DECLS

#endif
