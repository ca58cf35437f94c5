/* The privilege of recorded accesses (privilege.h). */
#include <inttypes.h>
#include <stdio.h>

#include <nestwalk/cpu.h>
#include <nestwalk/x86_pte.h>

#include "privilege.h"

/* Debian's QEMU 7.2 MMU indexes (privilege.h). */
enum {
	MMU_KSMAP64 = 0,
	MMU_KSMAP32,
	MMU_USER64,
	MMU_USER32,
	MMU_KNOSMAP64,
	MMU_KNOSMAP32,
};

bool nw_recorder_priv_of_mmu_index(unsigned index, struct nw_recorder_priv *priv)
{
	switch (index) {
	case MMU_KSMAP64:
	case MMU_KSMAP32:
		*priv = (struct nw_recorder_priv){ .cpl = 0, .ac = false };
		return true;
	case MMU_USER64:
	case MMU_USER32:
		*priv = (struct nw_recorder_priv){ .cpl = 3, .ac = false };
		return true;
	case MMU_KNOSMAP64:
	case MMU_KNOSMAP32:
		*priv = (struct nw_recorder_priv){ .cpl = 0, .ac = true };
		return true;
	default:
		return false;
	}
}

#define TABLE_INDEX(gva, level) (((gva) >> (12 + 9 * ((level) - 1))) & 0x1ffu)

/* A PDPTE or PDE with PS maps its page itself (§4.5, Tables 4-16, 4-18). */
static bool maps_page(unsigned level, uint64_t entry)
{
	return level == 1 || ((level == 2 || level == 3) && (entry & NW_PTE_PS));
}

int nw_recorder_fetch_cpl(const struct nw_recorder_regs *regs, uint64_t gva, nw_recorder_read64_fn read, void *ctx,
			  char *why, size_t whylen)
{
	uint64_t table = regs->cr3 & NW_PTE_ADDR_MASK, entry = 0;
	bool user = true;

	if (!(regs->cr0 & NW_CR0_PE))
		return 0;
	if (!(regs->cr0 & NW_CR0_PG) || !(regs->efer & NW_EFER_LMA)) {
		snprintf(why, whylen, "protected mode without 4- or 5-level paging");
		return -1;
	}
	for (unsigned level = (regs->cr4 & NW_CR4_LA57) ? 5 : 4;; level--) {
		uint64_t at = table + 8 * TABLE_INDEX(gva, level);

		if (!read(ctx, at, &entry)) {
			snprintf(why, whylen, "its level-%u entry at gpa 0x%" PRIx64 " is not in guest RAM", level, at);
			return -1;
		}
		if (!(entry & NW_PTE_P)) {
			snprintf(why, whylen, "its level-%u entry at gpa 0x%" PRIx64 " is not present", level, at);
			return -1;
		}
		user = user && (entry & NW_PTE_US);
		if (maps_page(level, entry))
			break;
		table = entry & NW_PTE_ADDR_MASK;
	}
	if (!user)
		return 0; /* CPL 3 fetches from user-mode addresses only */
	if (regs->cr4 & NW_CR4_SMEP)
		return 3; /* and with SMEP only CPL 3 does */
	snprintf(why, whylen, "a user-mode address with CR4.SMEP clear, where either privilege may fetch");
	return -1;
}

void nw_recorder_supervision_leave(struct nw_recorder_supervision *s, enum nw_recorder_insn_kind kind, uint64_t gva,
				   bool real_mode)
{
	if (real_mode)
		return; /* no levels; SYSRET, SYSEXIT and the VM entries are undefined there */
	s->returning = s->supervisor && (kind == NW_INSN_RETURN || kind == NW_INSN_IRET);
	s->iret = kind == NW_INSN_IRET;
	s->loads = 0;
	s->supervisor = false;
	s->left_at = gva;
}

void nw_recorder_supervision_load(struct nw_recorder_supervision *s, bool readable, uint64_t value)
{
	if (!s->returning || ++s->loads < NW_RECORDER_RETURN_CS_LOAD)
		return;
	if (s->loads == NW_RECORDER_RETURN_CS_LOAD) {
		s->supervisor = readable && nw_recorder_return_stays_supervisor(value);
		s->returning = s->supervisor && s->iret;
		return;
	}
	s->supervisor = readable && !(value & NW_RECORDER_EFLAGS_VM);
	s->returning = false;
}

int nw_recorder_supervision_fetch(struct nw_recorder_supervision *s, const struct nw_recorder_regs *regs, uint64_t gva,
				  nw_recorder_read64_fn read, void *ctx)
{
	char why[256];
	int cpl;

	s->returning = false; /* the next instruction runs: a return's loads are over */
	if (s->supervisor)
		return 0;
	if (!regs) {
		snprintf(s->why, sizeof(s->why), "the instruction at gva 0x%" PRIx64 " may have left supervisor mode, "
			 "and without regs=LOG the guest's tables cannot be read", s->left_at);
		return -1;
	}
	cpl = nw_recorder_fetch_cpl(regs, gva, read, ctx, why, sizeof(why));
	if (cpl < 0) {
		snprintf(s->why, sizeof(s->why), "the instruction at gva 0x%" PRIx64 " may have left supervisor mode, "
			 "and the guest's tables do not tell: %s", s->left_at, why);
		return -1;
	}
	s->supervisor = cpl == 0;
	return cpl;
}
