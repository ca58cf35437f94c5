/* A model of the AArch64 TLBs of the EL1&0 translation regime under EL2 (Arm ARM DDI 0487, D8.13 "Translation
 * Lookaside Buffers" and C5.5 "A64 system instructions for TLB maintenance"): one fully associative array of
 * entries, each tagged by VMID and, when non-global (nG=1), by ASID.
 *
 * An entry is of one kind: a stage-1 translation made while stage 2 was off (HCR_EL2.VM=0), a combined
 * stage-1+2 translation (VA -> PA), a stage-2-only translation (IPA -> PA), or a cached table entry of a
 * stage-1 or stage-2 walk (an intermediate level: what the last-level TLBIs may leave). Every entry carries the
 * VMID current when it was made (EL2 is enabled, so EL1&0 entries are VMID-tagged even with VM=0).
 *
 * Invalidation follows the Arm ARM's minimum: what each TLBI must invalidate and nothing it merely may, so a
 * trace that omits one sees the stale translation hardware may use. Inner Shareable forms (..IS) act on this PE
 * as the plain forms do: the model is one PE. A TLBI the model cannot express (RES0 operand bits set, a FEAT_TTL
 * level hint) is refused with NW_ERR_UNSUPPORTED and nw_tlbi_refusal() says why; nothing is invalidated then.
 *
 * Replacement is least-recently-used. Storage is the caller's; the model never allocates. */
#ifndef NESTWALK_TLB_ARM64_H
#define NESTWALK_TLB_ARM64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "status.h"
#include "tlb_tagged.h"

NW_BEGIN_DECLS

/* The TLBI operations of the EL1&0 regime, each followed by its Inner Shareable form (op | 1). These numbers
 * are also the trace format's (traces/FORMAT.md, "tlbi"). */
enum nw_tlbi_op {
	NW_TLBI_VMALLE1 = 0, /* all stage-1 entries, current VMID */
	NW_TLBI_VMALLE1IS,
	NW_TLBI_VAE1, /* by VA and ASID, all levels */
	NW_TLBI_VAE1IS,
	NW_TLBI_VALE1, /* by VA and ASID, last level */
	NW_TLBI_VALE1IS,
	NW_TLBI_ASIDE1, /* by ASID */
	NW_TLBI_ASIDE1IS,
	NW_TLBI_VAAE1, /* by VA, all ASIDs, all levels */
	NW_TLBI_VAAE1IS,
	NW_TLBI_VAALE1, /* by VA, all ASIDs, last level */
	NW_TLBI_VAALE1IS,
	NW_TLBI_IPAS2E1, /* stage-2-only entries by IPA, all levels */
	NW_TLBI_IPAS2E1IS,
	NW_TLBI_IPAS2LE1, /* stage-2-only entries by IPA, last level */
	NW_TLBI_IPAS2LE1IS,
	NW_TLBI_VMALLS12E1, /* both stages, current VMID */
	NW_TLBI_VMALLS12E1IS,
	NW_TLBI_ALLE1, /* everything of the EL1&0 regime, every VMID */
	NW_TLBI_ALLE1IS,
	NW_TLBI_OP_COUNT,
};

/* The operand register Xt as C5.5 lays it out for the operations that take one. */
#define NW_TLBI_XT_ASID_SHIFT 48 /* Xt[63:48]: ASID (VAE1, VALE1, ASIDE1) */
#define NW_TLBI_XT_ASID (UINT64_C(0xffff) << NW_TLBI_XT_ASID_SHIFT)
#define NW_TLBI_XT_TTL (UINT64_C(0xf) << 44)          /* Xt[47:44]: FEAT_TTL level hint */
#define NW_TLBI_XT_VA UINT64_C(0x00000fffffffffff)    /* Xt[43:0]: VA[55:12] */
#define NW_TLBI_XT_IPA UINT64_C(0x000000ffffffffff)   /* Xt[39:0]: IPA[51:12] (IPAS2E1, IPAS2LE1) */
#define NW_TLBI_XT_NS (UINT64_C(1) << 63)             /* Xt[63]: NS, Secure state only (IPAS2E1) */
#define NW_TLBI_VA_BITS UINT64_C(0x00fffffffffff000)  /* VA[55:12]: what a by-VA TLBI compares */
#define NW_TLBI_IPA_BITS UINT64_C(0x000ffffffffff000) /* IPA[51:12] */

/* The operations' names and the Xt fields each defines (C5.5, the instruction's "Xt" field list), by plain
 * form (op >> 1), in enum order. Data in the header, with the two readers below inline, so the trace codec
 * reads them without a call into the library (the recorder plugin links the codec alone). */
static const char *const nw_tlbi_names[NW_TLBI_OP_COUNT] = {
	"vmalle1",  "vmalle1is",  "vae1",       "vae1is",       "vale1",    "vale1is", "aside1",
	"aside1is", "vaae1",      "vaae1is",    "vaale1",       "vaale1is", "ipas2e1", "ipas2e1is",
	"ipas2le1", "ipas2le1is", "vmalls12e1", "vmalls12e1is", "alle1",    "alle1is",
};

static const struct nw_tlbi_operand {
	uint64_t fields; /* 0: no operand, Rt is 31 */
	bool ttl;        /* Xt[47:44] is a TTL hint (FEAT_TTL) rather than RES0 */
} nw_tlbi_operands[NW_TLBI_OP_COUNT / 2] = {
	{ 0, false },                                    /* VMALLE1 */
	{ NW_TLBI_XT_ASID | NW_TLBI_XT_VA, true },        /* VAE1 */
	{ NW_TLBI_XT_ASID | NW_TLBI_XT_VA, true },        /* VALE1 */
	{ NW_TLBI_XT_ASID, false },                       /* ASIDE1 */
	{ NW_TLBI_XT_VA, true },                          /* VAAE1 */
	{ NW_TLBI_XT_VA, true },                          /* VAALE1 */
	{ NW_TLBI_XT_IPA, true },                         /* IPAS2E1 */
	{ NW_TLBI_XT_IPA, true },                         /* IPAS2LE1 */
	{ 0, false },                                    /* VMALLS12E1 */
	{ 0, false },                                    /* ALLE1 */
};

/* "vmalle1", "vae1is", ...: the instruction's name in lower case; NULL outside the enum. */
static inline const char *nw_tlbi_name(enum nw_tlbi_op op)
{
	return (unsigned)op < NW_TLBI_OP_COUNT ? nw_tlbi_names[op] : NULL;
}

/* Whether the operation takes Xt (VMALLE1, VMALLS12E1 and ALLE1 and their IS forms do not: Rt is 31). */
static inline bool nw_tlbi_has_operand(enum nw_tlbi_op op)
{
	return (unsigned)op < NW_TLBI_OP_COUNT && nw_tlbi_operands[op / 2].fields != 0;
}
/* Why the model cannot perform op with this Xt (an unknown op, Xt given to an operation without one, RES0 bits
 * set, a TTL hint), NULL when it can: exactly where nw_a64tlb_tlbi() refuses. */
const char *nw_tlbi_refusal(enum nw_tlbi_op op, uint64_t xt);

enum nw_a64tlb_kind {
	NW_A64TLB_S1 = 0,  /* VA -> output address of stage 1, made with stage 2 off */
	NW_A64TLB_S12,     /* VA -> PA through both stages */
	NW_A64TLB_S2,      /* IPA -> PA, stage 2 only */
	NW_A64TLB_S1_WALK, /* a stage-1 table entry above the last level: VA range -> next table */
	NW_A64TLB_S2_WALK, /* a stage-2 table entry above the last level: IPA range -> next table */
	NW_A64TLB_KIND_COUNT,
};

/* The entries, the TLB, its statistics and a hit are the tagged TLB's (tlb_tagged.h), under this model's names:
 * an entry's addr is a VA (stage-1 and combined kinds) or an IPA (stage-2 kinds); asid is set only for a
 * non-global entry of a stage-1 kind; level is the Arm ARM lookup level (0..3); global is a stage-1 leaf with
 * nG=0. */
#define nw_a64tlb_entry nw_ttlb_entry
#define nw_a64tlb_stats nw_ttlb_stats
#define nw_a64tlb nw_ttlb
#define nw_a64tlb_hit nw_ttlb_hit

/* NW_ERR_RANGE when storage holds no entry, NW_ERR_ALIGN when it is not aligned for an entry. Starts empty,
 * VMID 0 and ASID 0. */
NW_MUST_CHECK nw_status_t nw_a64tlb_init(struct nw_a64tlb *tlb, void *storage, size_t size);
/* The tags later inserts and lookups use (a write of VTTBR_EL2 or TTBRn_EL1/TCR_EL1): invalidates nothing, as
 * the architecture does not (D8.13: a change of ASID or VMID needs no TLBI). With 8-bit ASIDs (TCR_EL1.AS=0)
 * the caller passes ASID[7:0]; a TLBI's Xt then has ASID[15:8] 0, which software must write there. */
void nw_a64tlb_load(struct nw_a64tlb *tlb, uint16_t vmid, uint16_t asid);

/* What a completed walk gives the TLB. size is a power of two, addr aligned to it, out too for a translation
 * (a table entry's out is the next table, 4 KiB-aligned); global only for the stage-1 and combined kinds.
 * Anything else is the caller's bug and asserts. */
struct nw_a64tlb_fill {
	enum nw_a64tlb_kind kind;
	uint64_t addr, out, size;
	uint8_t level;
	bool global;
	uint32_t attrs;
};

void nw_a64tlb_insert(struct nw_a64tlb *tlb, const struct nw_a64tlb_fill *fill);


/* An entry of that kind covering addr usable now: the current VMID, and the current ASID unless the entry is
 * global or of a stage-2 kind; the smallest such (the deepest walk entry). Counts a lookup and refreshes LRU. */
bool nw_a64tlb_lookup(struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint64_t addr, struct nw_a64tlb_hit *hit);
/* The same for any VMID and ASID, counting nothing: for tests and reports. */
bool nw_a64tlb_probe(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint16_t vmid, uint16_t asid, uint64_t addr,
		     struct nw_a64tlb_hit *hit);

/* A TLBI executed at EL1 or EL2 for the EL1&0 regime: invalidates exactly its scope (tlb_arm64_inval.c cites
 * each). NW_ERR_UNSUPPORTED where nw_tlbi_refusal() names a reason, with nothing invalidated. */
NW_MUST_CHECK nw_status_t nw_a64tlb_tlbi(struct nw_a64tlb *tlb, enum nw_tlbi_op op, uint64_t xt);

/* Valid entries of one kind (tests and reports). */
uint64_t nw_a64tlb_count(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind);

NW_END_DECLS

#endif
