/* The privilege of each recorded access, which QEMU 7.2's plugin interface
 * does not name (README "Recording a guest" has the measurements).
 *
 * A load or store: the meminfo word of QEMU's memory callback is its
 * MemOpIdx, the memory operation in bits 15:4 and in bits 3:0 the MMU index
 * QEMU checked the access with, shifted under the direction in bits 17:16.
 * Debian's 7.2 numbers the indexes as QEMU 8.1 does (supervisor with SMAP,
 * 64-bit 0 and 32-bit 1; user 2 and 3; supervisor without SMAP 4 and 5;
 * physical 6, nested 7), not as upstream 7.2.0: QEMU picks the user index
 * for CPL 3, a supervisor one for CPL < 3 and for implicit supervisor-mode
 * accesses (SDM Vol. 3A §4.6), and the one without SMAP where CR4.SMAP is
 * clear or RFLAGS.AC lets an explicit access through.
 *
 * A fetch carries no index, but one QEMU completed tells its privilege
 * through the guest's tables (§4.6.1): CPL 3 fetches only from user-mode
 * addresses (U/S set at every level), and with CR4.SMEP set CPL < 3 fetches
 * only from supervisor-mode addresses. In real-address mode there are no
 * privilege levels (QEMU runs it at CPL 0).
 *
 * Paging tells CPL 0, 1 and 2 apart nowhere, and neither do the indexes: a
 * supervisor access is written cpl 0. */
#ifndef NESTWALK_RECORDER_PRIVILEGE_H
#define NESTWALK_RECORDER_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_log.h"
#include "decode.h"

/* The MMU index in a meminfo word. */
#define NW_RECORDER_MMU_INDEX(meminfo) ((unsigned)(meminfo) & 0xfu)

struct nw_recorder_priv {
	uint8_t cpl; /* 0 supervisor, 3 user */
	bool ac;     /* a supervisor access QEMU checked without SMAP: RFLAGS.AC set, or CR4.SMAP clear */
};

/* true with *priv set for the index of a CPU's access; false for the physical and nested indexes and any other. */
bool nw_recorder_priv_of_mmu_index(unsigned index, struct nw_recorder_priv *priv);

/* IRET and far RET pop the instruction pointer, then CS, and IRET then EFLAGS (SDM Vol. 2A IRET, RET: QEMU's helpers
 * load them in that order; the loads numbered from 1). They continue at the privilege of that CS's RPL (a lower RPL
 * faults, at the old privilege), or for an IRET with EFLAGS.VM set outside IA-32e mode in virtual-8086 mode, at
 * CPL 3. */
#define NW_RECORDER_RETURN_CS_LOAD 2
#define NW_RECORDER_IRET_EFLAGS_LOAD 3
#define NW_RECORDER_EFLAGS_VM (UINT64_C(1) << 17)
static inline bool nw_recorder_return_stays_supervisor(uint64_t cs)
{
	return (cs & 3) == 0;
}

/* What the recorder knows of the code's privilege as the guest runs: supervisor from reset (set supervisor) until
 * an instruction that may leave it runs (decode.h: NW_INSN_LEAVES, a far RET or IRET whose popped CS or EFLAGS says
 * so; none in real-address mode), then from each fetch's tables until one proves supervisor again. */
struct nw_recorder_supervision {
	bool supervisor; /* known to run in supervisor mode */
	uint64_t left_at; /* the latest instruction that may have left it */
	bool returning;   /* a far RET or IRET from supervisor mode runs: its loads tell where it returns */
	bool iret;
	unsigned loads;   /* the return's loads so far */
	char why[400];    /* why a fetch's privilege is not known */
};

/* An instruction of kind (NW_INSN_LEAVES, _RETURN or _IRET) at gva is about to run, in real-address mode or not. */
void nw_recorder_supervision_leave(struct nw_recorder_supervision *s, enum nw_recorder_insn_kind kind, uint64_t gva,
				   bool real_mode);
/* A load by the instruction running: its value, or !readable where it cannot be read. */
void nw_recorder_supervision_load(struct nw_recorder_supervision *s, bool readable, uint64_t value);

/* Reads the 8 bytes at gpa; false when they are not in guest RAM. */
typedef bool (*nw_recorder_read64_fn)(void *ctx, uint64_t gpa, uint64_t *value);

/* The CPL (0 or 3) of a fetch at gva that QEMU completed with the registers regs, from the guest's tables as read
 * through read; or -1 with why set when they do not tell: protected mode without 4- or 5-level paging, a user-mode
 * address with CR4.SMEP clear (either privilege may fetch there), an entry not present or not in RAM. */
int nw_recorder_fetch_cpl(const struct nw_recorder_regs *regs, uint64_t gva, nw_recorder_read64_fn read, void *ctx,
			  char *why, size_t whylen);

/* The CPL of a fetch at gva, the next instruction: 0 while supervisor is known, else from the guest's tables with
 * regs (NULL: not followed, regs=LOG not given); -1 with s->why set when neither tells. */
int nw_recorder_supervision_fetch(struct nw_recorder_supervision *s, const struct nw_recorder_regs *regs, uint64_t gva,
				  nw_recorder_read64_fn read, void *ctx);

#endif
