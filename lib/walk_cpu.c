/* Guest CPU state: the paging mode the registers select (SDM Vol. 3A §4.1),
 * the PAE PDPTE registers loaded at MOV CR3 (§4.4.1), the linear addresses a
 * mode has, and splitting an access at page boundaries. */
#include <nestwalk/cpu.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "walk_internal.h"

enum nw_paging_mode nw_cpu_paging_mode(const struct nw_cpu *cpu)
{
	if (!(cpu->cr0 & NW_CR0_PG))
		return NW_PAGING_OFF;
	if (!(cpu->cr4 & NW_CR4_PAE))
		return NW_PAGING_32;
	if (!(cpu->efer & (NW_EFER_LME | NW_EFER_LMA)))
		return NW_PAGING_PAE;
	return (cpu->cr4 & NW_CR4_LA57) ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL;
}

void nw_cpu_set_mode(struct nw_cpu *cpu, enum nw_paging_mode mode)
{
	cpu->cr0 &= ~NW_CR0_PG;
	cpu->cr4 &= ~(NW_CR4_PAE | NW_CR4_LA57);
	cpu->efer &= ~(NW_EFER_LME | NW_EFER_LMA);
	switch (mode) {
	case NW_PAGING_OFF:
		return;
	case NW_PAGING_32:
		break;
	case NW_PAGING_PAE:
		cpu->cr4 |= NW_CR4_PAE;
		break;
	case NW_PAGING_5LEVEL:
		cpu->cr4 |= NW_CR4_LA57;
		/* fall through */
	case NW_PAGING_4LEVEL:
		cpu->cr4 |= NW_CR4_PAE;
		cpu->efer |= NW_EFER_LME | NW_EFER_LMA;
		break;
	}
	cpu->cr0 |= NW_CR0_PG;
}

unsigned nw_cpu_maxphyaddr(const struct nw_cpu *cpu)
{
	/* Values from a scenario are not trusted: outside 36..52 the nearest bound is modelled. */
	if (cpu->maxphyaddr == 0)
		return NW_MAXPHYADDR_DEFAULT;
	if (cpu->maxphyaddr < NW_MAXPHYADDR_MIN)
		return NW_MAXPHYADDR_MIN;
	return cpu->maxphyaddr > NW_MAXPHYADDR_MAX ? NW_MAXPHYADDR_MAX : cpu->maxphyaddr;
}

const char *nw_paging_mode_name(enum nw_paging_mode mode)
{
	switch (mode) {
	case NW_PAGING_OFF: return "off";
	case NW_PAGING_32: return "32-bit";
	case NW_PAGING_PAE: return "pae";
	case NW_PAGING_4LEVEL: return "4-level";
	case NW_PAGING_5LEVEL: return "5-level";
	}
	return "unknown";
}

const char *nw_outcome_name(enum nw_outcome outcome)
{
	switch (outcome) {
	case NW_OUTCOME_OK: return "ok";
	case NW_OUTCOME_PAGE_FAULT: return "page_fault";
	case NW_OUTCOME_EPT_VIOLATION: return "ept_violation";
	case NW_OUTCOME_EPT_MISCONFIG: return "ept_misconfig";
	case NW_OUTCOME_NPF: return "npf";
	case NW_OUTCOME_GP: return "general_protection";
	case NW_OUTCOME_NO_MEMORY: return "no_memory";
	case NW_OUTCOME_STAGE1_ABORT: return "stage1_abort";
	case NW_OUTCOME_STAGE2_ABORT: return "stage2_abort";
	case NW_OUTCOME_GUEST_PAGE_FAULT: return "guest_page_fault";
	case NW_OUTCOME_ACCESS_FAULT: return "access_fault";
	}
	return "unknown";
}

/* A present PAE PDPTE register must have bits 2:1, 8:5 and 63:MAXPHYADDR clear,
 * or MOV CR3 raises #GP (§4.4.1, Table 4-8). */
static bool pae_pdpte_has_rsvd_bits(uint64_t pdpte, unsigned maxphyaddr)
{
	uint64_t high = ~UINT64_C(0) << maxphyaddr;

	return (pdpte & NW_PTE_P) && (pdpte & (NW_PDPTE_PAE_RSVD_LOW | high));
}

void nw_cpu_load_cr3(const struct nw_walk_config *config, struct nw_cpu *cpu, uint64_t cr3,
		     struct nw_walk_result *res)
{
	struct nw_access access = { .type = NW_ACCESS_READ };
	struct nw_walk_ctx ctx = { .config = config, .access = &access, .res = res };
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);
	uint64_t pdpte[4];

	nw_walk_result_init(res, mode, nw_gva(0));
	if (mode != NW_PAGING_PAE) {
		cpu->cr3 = cr3;
		cpu->pdptes_loaded = false;
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (!nw_walk_read_entry(&ctx, nw_gpa(cr3 & NW_CR3_PAE_PDPT_MASK), i, 8, NW_LEVEL_PDPT, &pdpte[i]))
			return;
		if (pae_pdpte_has_rsvd_bits(pdpte[i], nw_cpu_maxphyaddr(cpu))) {
			nw_walk_general_protection(res, NW_GP_PDPTE_RSVD);
			res->fault_level = NW_LEVEL_PDPT;
			return;
		}
	}
	cpu->cr3 = cr3;
	for (unsigned i = 0; i < 4; i++)
		cpu->pdpte[i] = pdpte[i];
	cpu->pdptes_loaded = true;
}

unsigned nw_walk_split(const struct nw_access *access, struct nw_access parts[2])
{
	uint64_t size = access->size ? access->size : 1;
	uint64_t first = access->gva.val, last = first + size - 1;

	parts[0] = *access;
	if ((first >> NW_PAGE_SHIFT) == (last >> NW_PAGE_SHIFT))
		return 1;
	parts[0].size = (uint32_t)(NW_PAGE_SIZE - (first & NW_PAGE_MASK));
	parts[1] = *access;
	parts[1].gva = nw_gva((first | NW_PAGE_MASK) + 1);
	parts[1].size = (uint32_t)(size - parts[0].size);
	return 2;
}

/* Outside IA-32e mode (paging off, 32-bit and PAE paging) linear addresses are 32 bits (§4.1, §4.1.1: 32-bit and
 * PAE paging translate 32-bit linear addresses; §4.3, §4.4); 4- and 5-level paging translate 64-bit ones. */
static bool is_linear_address(enum nw_paging_mode mode, uint64_t linear)
{
	return mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL || linear <= UINT32_MAX;
}

bool nw_access_is_linear(enum nw_paging_mode mode, const struct nw_access *access)
{
	uint64_t last = access->gva.val + (access->size ? access->size : 1) - 1;

	return is_linear_address(mode, access->gva.val) && is_linear_address(mode, last);
}
