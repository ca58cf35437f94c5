/* A second-stage format as a table of rules: its radix geometry (the table
 * engine's nw_pt_format), the entry layout, the rights and memory-type decodes
 * as data, and the rules that read the configuration as named predicates. The
 * one translate loop (stage2_walk.h), the fast walker's masks (stage2_fast.c),
 * the builders (ept.c, npt.c) and the address space's listing read it, so EPT
 * (SDM Vol. 3C §29.3, ept_rules.c), NPT (APM Vol. 2 §15.25, npt_rules.c),
 * AArch64 stage 2 (Arm ARM D8, arm64_s2_rules.c) and the RISC-V G-stage
 * (privileged spec, H extension, riscv_gstage_rules.c) are four tables. The
 * rules EPT and NPT share are written here once, over the format's geometry. */
#ifndef NESTWALK_LIB_STAGE2_RULES_H
#define NESTWALK_LIB_STAGE2_RULES_H

#include <nestwalk/pt_build.h>
#include <nestwalk/stage2.h>

#define NW_S2_RIGHTS 4 /* R, W, X, UX: NW_S2_RIGHT_* is 1 << index */
#define NW_S2_RIGHTS_ALL (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX)

/* A format's rights and memory-type decode, as data (each format's rules
 * hold it; the fast walker keeps a copy). An entry grants
 * right i (NW_S2_RIGHT_* == 1 << i) when it has every bit of grant_base and of
 * grant[i] and none of deny[i], and the value of its rights field
 * (entry >> field_shift) & field_mask does not name it in field_deny[value]
 * (rules no mask states: AArch64 XN[1:0] denies EL1 execution for 0b01 and
 * 0b10; RISC-V R/W/X under MXR denies reads only where R and X are clear). A leaf's
 * memory-type index is (entry >> mt_shift) & mt_field, plus 4 when its PAT bit
 * is set; its type mt_types[index]; a clear bit of mt_allowed marks a
 * reserved index. */
struct nw_s2_decode {
	uint64_t grant_base;
	uint64_t grant[4];
	uint64_t deny[4];
	unsigned field_shift;
	uint64_t field_mask;   /* 0 when the format has no such field */
	uint8_t field_deny[8]; /* NW_S2_RIGHT_* denied per field value */
	unsigned mt_shift;
	uint64_t mt_field;
	uint8_t mt_types[16];
	uint16_t mt_allowed;
};

/* What the rules read of one configuration (the CPU model and the VM's controls). */
struct nw_s2_caps {
	unsigned maxphyaddr;
	bool pages_1g;
	bool user_exec;      /* a user-mode fetch needs the user-execute right (EPT mode-based execute control) */
	bool sets_ad;        /* the walk sets accessed and dirty flags */
	uint32_t rights;     /* NW_S2_RIGHT_* the format grants at all under this configuration */
	uint64_t entry_rsvd; /* bits reserved in every entry under this configuration */
	/* A leaf with this bit may be written though its write right is clear: the write sets the write right's
	 * grant bit in it, with the accessed flag (Arm FEAT_HAFDBS: DBM with VTCR_EL2.HD); 0: none */
	uint64_t dirty_grants;
};

struct nw_s2_rules {
	const struct nw_pt_format *format4, *format5; /* 4- and 5-level geometry */
	/* Set in an entry that, with no reserved bit, is present and grants a
	 * well-formed combination of rights (EPT R, NPT P, RISC-V V). */
	uint64_t plain;
	/* Set besides plain in a leaf whose rights are well formed, clear in a
	 * table pointer (RISC-V R: R=0 with W=1 is reserved); 0 where plain says it all. */
	uint64_t plain_leaf;
	uint64_t table_clear;     /* bits a table pointer has clear: reserved ones, and PS (a leaf) */
	uint64_t accessed, dirty; /* dirty: leaves only */
	uint64_t ignore_pat;      /* leaf bit: ignore the guest's PAT; 0 when the format has none */
	/* Table entries carry no rights and no flags: the rights and accessed
	 * are the leaf's alone (VMSAv8-64 stage 2: a table descriptor's bits
	 * 11:2 are ignored). Else the rights are the AND over the path and
	 * every entry used gets accessed. */
	bool leaf_attrs_only;
	/* A leaf without accessed faults (NW_S2_FAULT_ACCESS_FLAG) unless the
	 * walk sets it (caps.sets_ad): the VMSAv8-64 Access flag, RISC-V A
	 * under Svade; dirty_faults: the same for a write's leaf without dirty
	 * (RISC-V D). flags_before_rights: that fault is checked before the
	 * rights (AArch64.S2Walk), else after them (RISC-V: step 5, then 7). */
	bool accessed_faults, dirty_faults, flags_before_rights;
	/* A table read that finds no memory is an access fault (RISC-V: "if
	 * accessing pte violates a PMA or PMP check, raise an access-fault
	 * exception"), where the other formats read an aborted bus read's ones. */
	bool unbacked_faults;
	/* With unbacked_faults: the table entry of bytes at hpa may not be read
	 * (or written, for an A/D update) either: an access fault too (RISC-V PMP,
	 * "if accessing pte violates a PMA or PMP check"). NULL: every one may. */
	bool (*table_access_denied)(const void *config, uint64_t hpa, bool write);
	/* A leaf with napot_bit maps the naturally aligned 2^napot_shift bytes
	 * around it (RISC-V Svnapot N, 64 KiB); 0 when the format has none. */
	uint64_t napot_bit;
	unsigned napot_shift;
	enum nw_s2_fault misconfig_fault; /* what is_misconfigured reports */
	/* The level a GPA above the walk's range faults at: the top when 0. */
	int out_of_range_level;
	/* The manual's number for level L is level_base + level_step * L (Arm
	 * ARM: 4 - L, level 0 the top; RISC-V: L - 1, level 0 the 4 KiB page);
	 * level_step 0 when the manual numbers levels as the library. */
	int level_base, level_step;
	struct nw_s2_decode decode; /* rights and memory type; the PAT bits are the format's */
	struct nw_s2_caps (*caps)(const void *config);
	bool (*is_present)(const void *config, int level, uint64_t entry);
	bool (*is_misconfigured)(const void *config, int level, uint64_t entry);
};

extern const struct nw_s2_rules nw_ept_rules;
extern const struct nw_s2_rules nw_npt_rules;
extern const struct nw_s2_rules nw_arm64_s2_rules;     /* without FEAT_XNX */
extern const struct nw_s2_rules nw_arm64_s2_xnx_rules; /* with FEAT_XNX */
extern const struct nw_s2_rules nw_rv_gstage_rules;     /* explicit loads need R */
extern const struct nw_s2_rules nw_rv_gstage_mxr_rules; /* HS-level sstatus.MXR: R or X */

struct nw_arm64_s2_config;
/* The AArch64 table a configuration walks by (with or without FEAT_XNX). */
const struct nw_s2_rules *nw_arm64_s2_rules_of(const struct nw_arm64_s2_config *config);

struct nw_rv_gstage_config;
/* The geometry of an hgatp mode (Sv39x4, Sv48x4, Sv57x4); NULL for any other. */
const struct nw_pt_format *nw_rv_gstage_format(unsigned mode);
/* The RISC-V table for an access that is (or is not) an implicit VS-stage table access. */
const struct nw_s2_rules *nw_rv_gstage_rules_of(const struct nw_rv_gstage_config *config, bool implicit);

/* The level as the format's manual numbers it. */
static inline int nw_s2_manual_level(const struct nw_s2_rules *rules, int level)
{
	return rules->level_step ? rules->level_base + rules->level_step * level : level;
}

static inline const struct nw_pt_format *nw_s2_format(const struct nw_s2_rules *rules, int levels)
{
	return levels == 5 ? rules->format5 : rules->format4;
}

/* The leaf level that maps a page of size bytes, 0 when no level does. */
static inline int nw_s2_size_level(const struct nw_pt_format *fmt, uint64_t size)
{
	for (int level = NW_LEVEL_PT; level <= fmt->top; level++)
		if (fmt->level[level].leaf_ok && nw_pt_level_size(fmt, level) == size)
			return level;
	return 0;
}

/* EPT Tables 29-3/29-5, long-mode Tables 4-16/4-18: a PTE maps a page; a PDE
 * or PDPTE with PS does; a higher entry always points to a table. Arm ARM
 * D8.3: a level-3 descriptor maps a page, a block descriptor (bit 1 clear)
 * at levels 1 and 2 a block. */
static inline bool nw_s2_is_leaf(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	return level == NW_LEVEL_PT || nw_pt_is_block(fmt, level, entry);
}

/* EPT Tables 29-1..29-7, long-mode Tables 4-15..4-20: address bits
 * 51:MAXPHYADDR are reserved in every entry. */
static inline uint64_t nw_s2_bits_above_maxphy(const struct nw_pt_format *fmt, unsigned maxphyaddr)
{
	return fmt->table_addr_mask & ~((UINT64_C(1) << maxphyaddr) - 1);
}

static inline bool nw_s2_has_addr_above_maxphy(const struct nw_pt_format *fmt, unsigned maxphyaddr, uint64_t entry)
{
	return (entry & nw_s2_bits_above_maxphy(fmt, maxphyaddr)) != 0;
}

/* EPT Tables 29-1/29-2, long-mode Tables 4-14/4-15: PS of an entry above the
 * PDPT is reserved (no 512 GiB pages: the levels where no leaf may be). */
static inline bool nw_s2_has_ps_above_pdpt(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	return level > NW_LEVEL_PT && !fmt->level[level].leaf_ok && (entry & fmt->ps_bit);
}

/* SDM §29.3.3.1, APM CPUID 8000_0001 EDX bit 26: without 1 GiB pages PS of a PDPTE is reserved. */
static inline bool nw_s2_has_unsupported_1g(const struct nw_pt_format *fmt, bool pages_1g, int level,
					    uint64_t entry)
{
	return level == NW_LEVEL_PDPT && (entry & fmt->ps_bit) && !pages_1g;
}

/* EPT Tables 29-3/29-5 (bits 29:12, 20:12), long-mode Tables 4-16/4-18 (bits
 * 29:13, 20:13: bit 12 is PAT): the address bits below a large page's
 * alignment are reserved. */
static inline uint64_t nw_s2_large_rsvd(const struct nw_pt_format *fmt, int level)
{
	return fmt->table_addr_mask & ~fmt->level[level].leaf_addr_mask & ~fmt->pat_large_bit;
}

static inline bool nw_s2_has_misaligned_large_page(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	return level > NW_LEVEL_PT && nw_s2_is_leaf(fmt, level, entry) && (entry & nw_s2_large_rsvd(fmt, level));
}

/* The PAT bit of a leaf at level, 0 when the format has none. */
static inline uint64_t nw_s2_pat_bit(const struct nw_pt_format *fmt, int level)
{
	return level == NW_LEVEL_PT ? fmt->pat_small_bit : fmt->pat_large_bit;
}

/* The memory-type index of a leaf whose PAT bit is pat (see struct nw_s2_decode). */
static inline unsigned nw_s2_memory_type_index(const struct nw_s2_decode *decode, uint64_t pat, uint64_t entry)
{
	return (unsigned)((entry >> decode->mt_shift) & decode->mt_field) | ((entry & pat) ? 4u : 0u);
}

static inline uint8_t nw_s2_memory_type(const struct nw_s2_rules *rules, const struct nw_pt_format *fmt, int level,
					uint64_t entry)
{
	return rules->decode.mt_types[nw_s2_memory_type_index(&rules->decode, nw_s2_pat_bit(fmt, level), entry)];
}

/* SDM §29.3.3.1: a leaf's memory type 2, 3 or 7 is reserved (EPT mt_allowed). */
static inline bool nw_s2_has_reserved_memory_type(const struct nw_s2_rules *rules, const struct nw_pt_format *fmt,
						  int level, uint64_t entry)
{
	unsigned index = nw_s2_memory_type_index(&rules->decode, nw_s2_pat_bit(fmt, level), entry);

	return nw_s2_is_leaf(fmt, level, entry) && !((rules->decode.mt_allowed >> index) & 1);
}

/* The rights a path grants, all being the AND of its entries and any their
 * OR (one entry: both are the entry): right i where no bit of grant_base or
 * grant[i] is missing from all and no bit of deny[i] is in any. Branch-free:
 * the fast walker decodes every final translation. */
static inline uint32_t nw_s2_path_rights(const struct nw_s2_decode *decode, uint64_t all, uint64_t any)
{
	uint64_t base = decode->grant_base;
	uint32_t rights = 0;

	for (unsigned i = 0; i < NW_S2_RIGHTS; i++) {
		uint64_t missing = (~all & (base | decode->grant[i])) | (any & decode->deny[i]);

		rights |= (uint32_t)(missing == 0) << i;
	}
	return rights & ~(uint32_t)decode->field_deny[(any >> decode->field_shift) & decode->field_mask];
}

/* The bits of the rights field when some value of it denies right (0 when none does). */
static inline uint64_t nw_s2_field_bits_denying(const struct nw_s2_decode *decode, uint32_t right)
{
	for (unsigned value = 0; value <= decode->field_mask; value++)
		if (decode->field_deny[value] & right)
			return decode->field_mask << decode->field_shift;
	return 0;
}

/* The flags a leaf needs for an access unless the walk sets them: accessed,
 * and dirty for a write, where the format faults without them. */
static inline uint64_t nw_s2_flags_needed(const struct nw_s2_rules *rules, enum nw_access_type type)
{
	return (rules->accessed_faults ? rules->accessed : 0) |
	       (rules->dirty_faults && type == NW_ACCESS_WRITE ? rules->dirty : 0);
}

/* SDM §29.3.3.2: reads need R, writes W, fetches X, a user-mode fetch under
 * mode-based execute control UX; APM §15.25.5 the same with X for every fetch. */
static inline uint32_t nw_s2_right_needed(const struct nw_s2_caps *caps, enum nw_access_type type, bool user)
{
	switch (type) {
	case NW_ACCESS_READ:
		return NW_S2_RIGHT_R;
	case NW_ACCESS_WRITE:
		return NW_S2_RIGHT_W;
	case NW_ACCESS_FETCH:
		break;
	}
	return caps->user_exec && user ? NW_S2_RIGHT_UX : NW_S2_RIGHT_X;
}

static inline unsigned nw_s2_right_index(uint32_t right)
{
	return right == NW_S2_RIGHT_R ? 0 : right == NW_S2_RIGHT_W ? 1 : right == NW_S2_RIGHT_X ? 2 : 3;
}

/* One second stage as the rules see it. */
struct nw_s2_view {
	const struct nw_s2_rules *rules;
	const void *config;
	const struct nw_pt *pt;
};

/* false for NW_STAGE2_NONE. */
bool nw_s2_view_of(const struct nw_stage2 *s2, struct nw_s2_view *view);

#endif
