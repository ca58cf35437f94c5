/* Differential fuzzing of the AArch64 guest walk. The input writes a hostile
 * stage-1 descriptor graph (tables shared between levels and ranges,
 * self-references, level-3 blocks, blocks where the granule has none,
 * hierarchical controls, AF clear, DBM, addresses above the output size) into
 * a region of guest pages, builds an optional AArch64 stage 2 over them
 * (4, 16 or 64 KiB granule, aliased pages, S2AP, XN, AF, MemAttr with or
 * without HCR_EL2.FWB, raw edits), sets SCTLR_EL1, TCR_EL1,
 * MAIR_EL1 and PSTATE, and makes one access. Then:
 * - the reference walk (nw_arm64_walk) and the fast walker
 *   (nw_walker_init_arm64, through a direct-map window) agree on every field,
 *   a lookup writes nothing, and a probe that answers gives the translation;
 * - the outcome is consistent with its syndrome: ESR_EL1/ESR_EL2 EC from the
 *   access and its Exception level, IL, WnR, S1PTW, the fault status code's
 *   class from the fault kind and its level, FAR the VA, HPFAR_EL2 the
 *   faulting IPA's page; a translation's offset and page size agree;
 * - a walk that may write (TCR_EL1.HA/HD) writes the same bytes from both.
 * Every address a descriptor can name is backed (the region), or above the
 * output size, or an output page no walk reads, on a strict simulated host,
 * so a read outside simulated memory aborts. Any disagreement aborts. */
#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s2.h>
#include <nestwalk/walk.h>

#define FZ_NAME "fuzz_arm64"
#include "fuzz_diff.h"
#include "fuzz_input.h"

#define REGION_HPA FZ_REGION_HPA   /* claimed: backed, never allocated */
#define REGION_IPA REGION_HPA      /* the guest pages that hold stage-1 tables: their host pages without a stage 2 */
#define REGION_PAGES FZ_REGION_PAGES
#define OUTPUT_IPA FZ_OUTPUT_ADDR  /* pages leaves map; claimed too, for a table pointer that names one */
#define OUTPUT_PAGES FZ_OUTPUT_PAGES
#define HIGH_ADDR (UINT64_C(1) << 47)   /* above every output size the input can choose (IPS at most 44 bits) */
#define ALL_RIGHTS (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | NW_ARM64_S2_AF)

/* The case's AArch64 state (fuzz_diff.h's fc holds its host and walk configuration). */
struct arm64_case {
	struct nw_arm64_s2 s2;
	struct nw_arm64_cpu cpu;
};

static struct arm64_case ac;

/* An address a descriptor names: a region page (as a table), an output page,
 * or one above the output size. */
static uint64_t pick_addr(struct fz *in)
{
	uint8_t pick = fz_u8(in);

	switch (pick >> 6) {
	case 0:
	case 1:
		return REGION_IPA + (pick % REGION_PAGES) * NW_PAGE_SIZE;
	case 2:
		return OUTPUT_IPA + (uint64_t)(pick % OUTPUT_PAGES) * NW_PAGE_SIZE; /* 2 MiB / 1 GiB aligned at 0 */
	default:
		return HIGH_ADDR | (uint64_t)(pick & 0x3f) * NW_PAGE_SIZE;
	}
}

/* One descriptor: a table pointer (its controls from the input), a page or
 * block (its attribute fields from the input), or the input's raw bits around
 * an address pick_addr gives. */
static uint64_t make_descriptor(struct fz *in)
{
	uint8_t kind = fz_u8(in);
	uint64_t addr = pick_addr(in), bits;

	switch (kind & 3) {
	case 0:
		return addr | NW_ARM64_S1_VALID | NW_ARM64_S1_TABLE | (uint64_t)(kind >> 4) << 59;
	case 1:
	case 2:
		bits = fz_u16(in);
		/* AttrIndx, AP[2:1], SH, AF, nG from bits 11:2; DBM, PXN, UXN from the byte's top bits. */
		return addr | (bits & 0xffc) | ((kind & 1) ? NW_ARM64_S1_TABLE : 0) | NW_ARM64_S1_VALID |
		       (uint64_t)(kind >> 5) << 51 | (uint64_t)((kind >> 2) & 1) << 53 | (uint64_t)((kind >> 3) & 1) << 54;
	default:
		return addr | (fz_u64(in) & ~NW_ARM64_S1_ADDR_MASK);
	}
}

/* The index of VA at Arm level for the walk's geometry (4 KiB granule). */
static unsigned va_index(uint64_t va, int arm_level)
{
	return (unsigned)(va >> (12 + 9 * (3 - arm_level))) & 0x1ff;
}

static void write_tables(struct fz *in, uint64_t va)
{
	unsigned count = fz_u8(in) % 24;

	for (unsigned i = 0; i < count; i++) {
		uint8_t where = fz_u8(in);
		unsigned page = where % REGION_PAGES, index = (where >> 4) < 12 ? va_index(va, (where >> 4) % 4)
									 : fz_u16(in) % 512;
		uint64_t *table = host(fc.page_hpa[page]);

		table[index] = make_descriptor(in);
	}
}

static nw_status_t edit_stage2(uint64_t ipa, int level, uint64_t clear, uint64_t set)
{
	return nw_arm64_s2_edit(&ac.s2, nw_gpa(ipa), level, clear, set, 0, 0);
}

/* VTCR_EL2 (PS 40 bits but the second): 0x8002_3559 (T0SZ 25, 4 KiB, start at level 1), 0x8004_3594 (T0SZ 20,
 * 4 KiB, level 0, PS 44 bits), 0x8002_b559 (T0SZ 25, 16 KiB, level 2: eight concatenated tables) or 0x8002_7559
 * (T0SZ 25, 64 KiB, level 2: 1024 entries); HCR_EL2.FWB as the input says. The region's pages mapped (or not) a
 * stage-2 page at a time, to a page of the region (aliased or not), every output page or block (4 KiB or the
 * granule's, 2, 32 or 512 MiB) with the input's rights; VTCR_EL2.HA and HD (0x0060_0000) as the input says, and
 * DBM (bit 51) in a region page as the input says. */
static void build_stage2(struct fz *in)
{
	static const unsigned memattrs[8] = { 0x0, 0x1, 0x2, 0x3, 0x5, 0xa, 0xd, 0xf };
	static const uint64_t vtcrs[4] = { 0x80023559, 0x80043594, 0x8002b559, 0x80027559 };
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_arm64_s2_config config;
	uint8_t shape = fz_u8(in);
	uint16_t mapped = fz_u16(in);
	uint64_t page, block, alias = 0;
	unsigned per_page;

	if (nw_arm64_vtcr_decode(vtcrs[shape & 3] | (fz_bit(shape, 3) ? NW_VTCR_HA | NW_VTCR_HD : 0), &caps, &config) !=
	    NW_OK)
		fail("stage 2 set-up", shape, 0);
	config.fwb = fz_bit(shape, 2);
	if (nw_arm64_s2_create(&ac.s2, fc.hal, &config) != NW_OK)
		fail("stage 2 set-up", shape, 0);
	fc.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &ac.s2 };
	page = UINT64_C(1) << config.granule_bits;
	block = nw_pt_level_size(&ac.s2.format, NW_LEVEL_PD);
	per_page = (unsigned)(page / NW_PAGE_SIZE);
	for (unsigned i = 0; i < REGION_PAGES; i++) {
		uint8_t flags = fz_u8(in);

		/* A stage-2 page's first 4 KiB choose its target and rights for all of it. */
		if (i % per_page == 0)
			alias = fz_bit(flags, 7) ? fz_u8(in) % (REGION_PAGES / per_page) * page : i * NW_PAGE_SIZE;
		fc.page_hpa[i] = REGION_HPA + alias + (i % per_page) * NW_PAGE_SIZE;
		if (i % per_page || (!fz_bit(mapped, i) && i > 1))
			continue;
		if (nw_arm64_s2_map(&ac.s2, nw_gpa(REGION_IPA + i * NW_PAGE_SIZE), nw_hpa(fc.page_hpa[i]), page,
				    (ALL_RIGHTS & ~((uint64_t)(flags & 3) << 6) & ~(fz_bit(flags, 2) ? NW_ARM64_S2_AF : 0)) |
					    (fz_bit(flags, 3) ? NW_ARM64_S2_DBM : 0),
				    0, 0) != NW_OK)
			fail("stage 2 map of a region page", i, 0);
	}
	for (unsigned i = 0; i < 8; i++) {
		uint8_t flags = fz_u8(in);
		uint64_t size = fz_bit(flags, 7) ? block : page;
		uint64_t bits = (ALL_RIGHTS & ~((uint64_t)(flags & 3) << 6)) | (uint64_t)((flags >> 2) & 3) << 53 |
				nw_arm64_s2_memattr(memattrs[(flags >> 4) & 7]) | (uint64_t)(fz_bit(flags, 4) ? 3 : 0) << 8;
		uint64_t ipa = OUTPUT_IPA + (size == page ? i * page : (uint64_t)(i + 1) * block);

		/* The output page's host address is never read; a region page (or the block below it) all the same. */
		if (nw_arm64_s2_map(&ac.s2, nw_gpa(ipa), nw_hpa(REGION_HPA & ~(size - 1)), size, bits, 0, 0) != NW_OK)
			fail("stage 2 map of an output page", ipa, bits);
	}
	fz_raw_edits(in, NW_ARM64_S2_ADDR_MASK, edit_stage2, "stage 2 edit");
}

/* SCTLR_EL1, TCR_EL1 (39- or 48-bit ranges of 4 KiB, IPS 32..44 bits, the input's EPD/TBI/HA/HD/HPD/A1/AS),
 * MAIR_EL1, TTBR0 = region page 0, TTBR1 = region page 1, PSTATE. False when the PE refuses the registers. */
static bool setup_cpu(struct fz *in)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	/* One value a declarator: the order the input is read in is the order written. */
	uint8_t sctlr = fz_u8(in), shape = fz_u8(in), pstate = fz_u8(in);
	uint16_t controls = fz_u16(in);
	uint64_t mair = fz_u64(in);
	uint8_t asid = fz_u8(in);
	struct nw_arm64_el1_regs regs = {
		.sctlr = (fz_bit(sctlr, 0) ? 0 : NW_SCTLR_M) | (fz_bit(sctlr, 1) ? NW_SCTLR_WXN : 0) |
			 (fz_bit(sctlr, 2) ? NW_SCTLR_I : 0),
		.tcr = (fz_bit(shape, 0) ? UINT64_C(0x80100010) : UINT64_C(0x80190019)) |
		       (uint64_t)((shape >> 1) % 5) << NW_TCR_IPS_SHIFT,
		.mair = mair,
		.ttbr0 = REGION_IPA | (uint64_t)asid << NW_TTBR_ASID_SHIFT,
		.ttbr1 = REGION_IPA + NW_PAGE_SIZE,
	};
	static const uint64_t tcr_bits[] = { NW_TCR_EPD0, NW_TCR_EPD1, NW_TCR_TBI0, NW_TCR_TBI1, NW_TCR_HA,
					     NW_TCR_HD, NW_TCR_HPD0, NW_TCR_HPD1, NW_TCR_A1, NW_TCR_AS };

	for (unsigned i = 0; i < sizeof(tcr_bits) / sizeof(tcr_bits[0]); i++)
		if (fz_bit(controls, i))
			regs.tcr |= tcr_bits[i];
	if (nw_arm64_s1_decode(&regs, &caps, &ac.cpu.s1) != NW_OK)
		return false;
	ac.cpu.el0 = fz_bit(pstate, 0);
	ac.cpu.pan = fz_bit(pstate, 1);
	ac.cpu.uao = fz_bit(pstate, 2);
	return true;
}

/* The VA: the range, a tag byte, and small indices at each level so the descriptors the input wrote are met. */
static uint64_t make_va(struct fz *in)
{
	uint8_t shape = fz_u8(in);
	uint64_t va = 0;

	for (unsigned shift = 39; shift >= 12; shift -= 9)
		va |= (uint64_t)(fz_u8(in) % 4) << shift;
	va |= fz_u16(in) & 0xfff;

	if (fz_bit(shape, 0))
		va |= ~UINT64_C(0) << (fz_bit(shape, 1) ? 39 : 48); /* the upper range (or out of it) */
	if (fz_bit(shape, 2))
		va = (va & ~(UINT64_C(0xff) << 56)) | (uint64_t)fz_u8(in) << 56; /* a tag */
	return va;
}

static void same_result(const struct nw_walk_result *ref, const struct nw_walk_result *fast)
{
	fz_same_walk(ref, fast);
	SAME(esr);
	SAME(far);
	SAME(hpfar);
	SAME(hpfar_valid);
	SAME(abort_fault);
	if (memcmp(&ref->arm64_memattr, &fast->arm64_memattr, sizeof(ref->arm64_memattr)))
		fail("walkers disagree on arm64_memattr", ref->arm64_memattr.type, fast->arm64_memattr.type);
}

/* The DFSC/IFSC class of each fault kind (ESR_ELx ISS: 0b0000LL address size, 0b0001LL translation, 0b0010LL
 * access flag, 0b0011LL permission). */
static unsigned fsc_class(enum nw_s2_fault fault)
{
	switch (fault) {
	case NW_S2_FAULT_ADDRESS_SIZE: return 0;
	case NW_S2_FAULT_TRANSLATION: return 1;
	case NW_S2_FAULT_ACCESS_FLAG: return 2;
	case NW_S2_FAULT_PERMISSION: return 3;
	default: break;
	}
	fail("an abort of no AArch64 fault kind", fault, 0);
}

/* The outcome against its syndrome, as the Arm ARM composes it (D19, ESR_ELx ISS for Data and Instruction
 * Aborts; HPFAR_EL2). */
static void check_syndrome(const struct nw_access *access, const struct nw_walk_result *res)
{
	bool fetch = access->type == NW_ACCESS_FETCH, write = access->type == NW_ACCESS_WRITE;
	unsigned ec = (unsigned)(res->esr >> NW_ESR_EC_SHIFT), fsc = (unsigned)(res->esr & NW_ESR_FSC_MASK);

	switch (res->outcome) {
	case NW_OUTCOME_OK:
		if ((res->gpa.val ^ access->gva.val) & 0xfff || res->esr)
			fail("translation offset or syndrome", res->gpa.val, access->gva.val);
		if (res->guest_page_size != NW_PAGE_SIZE << (9 * (res->leaf_level ? res->leaf_level - 1 : 0)))
			fail("page size against leaf level", res->guest_page_size, (uint64_t)res->leaf_level);
		return;
	case NW_OUTCOME_STAGE1_ABORT:
		if (ec != (fetch ? (ac.cpu.el0 ? NW_ESR_EC_IABT_LOW : NW_ESR_EC_IABT_CUR)
				 : (ac.cpu.el0 ? NW_ESR_EC_DABT_LOW : NW_ESR_EC_DABT_CUR)))
			fail("ESR_EL1 EC", ec, access->type);
		if (fsc != (fsc_class(res->abort_fault) << 2 | (unsigned)(4 - res->fault_level)) ||
		    !!(res->esr & NW_ESR_WNR) != write || (res->esr & NW_ESR_S1PTW) || res->hpfar_valid)
			fail("ESR_EL1 ISS", res->esr, (uint64_t)res->fault_level);
		break;
	case NW_OUTCOME_STAGE2_ABORT:
		if (fc.config.stage2.kind != NW_STAGE2_ARM64 ||
		    ec != (fetch ? NW_ESR_EC_IABT_LOW : NW_ESR_EC_DABT_LOW))
			fail("ESR_EL2 EC", ec, access->type);
		if ((fsc >> 2) != fsc_class(res->abort_fault) || !!(res->esr & NW_ESR_S1PTW) != res->s2_on_table ||
		    (!res->s2_on_table && !!(res->esr & NW_ESR_WNR) != write))
			fail("ESR_EL2 ISS", res->esr, res->s2_on_table);
		/* HPFAR_EL2.FIPA: the faulting IPA's bits 47:12 in bits 43:4; always filled for a stage-1 walk. */
		if ((res->hpfar_valid && res->hpfar != (res->fault_gpa.val >> 12) << 4) ||
		    (res->s2_on_table && !res->hpfar_valid))
			fail("HPFAR_EL2", res->hpfar, res->fault_gpa.val);
		break;
	default:
		fail("an outcome no AArch64 walk gives", res->outcome, 0);
	}
	if (res->far != access->gva.val || (res->esr & NW_ESR_IL) == 0)
		fail("FAR or IL", res->far, access->gva.val);
}

static struct nw_walker *init_fast(void *storage, const struct nw_walk_config *config)
{
	return nw_walker_init_arm64(storage, config, &ac.cpu);
}

static void walk_ref(const struct nw_access *access, unsigned flags, struct nw_walk_result *res)
{
	nw_arm64_walk(&fc.config, &ac.cpu, access, flags, res);
}

static const struct fz_walks arm64_walks = { .no_walker = "no AArch64 walker", .init_fast = init_fast,
					     .walk_ref = walk_ref, .check = check_syndrome, .same = same_result };

static void teardown(void)
{
	if (fc.config.stage2.kind == NW_STAGE2_ARM64)
		nw_arm64_s2_destroy(&ac.s2);
	fz_case_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_start(data, size);
	struct nw_access access;
	uint8_t access_byte;
	uint64_t va;

	memset(&ac, 0, sizeof(ac));
	fz_case_start(); /* without a stage 2: IPA = HPA */
	if (!setup_cpu(&in)) {
		teardown();
		return 0;
	}
	if (fz_bit(fz_u8(&in), 0))
		build_stage2(&in);
	va = make_va(&in);
	write_tables(&in, va);
	access_byte = fz_u8(&in);
	access = (struct nw_access){ .gva = nw_gva(va), .size = 1, .type = (enum nw_access_type)(access_byte % 3),
				     .unprivileged = fz_bit(access_byte, 2) && access_byte % 3 != NW_ACCESS_FETCH };
	fz_walk_both(&arm64_walks, &access);
	teardown();
	return 0;
}
