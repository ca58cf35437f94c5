/* Differential fuzzing of the RISC-V VS-stage walk. The input writes a
 * hostile VS-stage PTE graph (tables shared between levels, self-references,
 * pointers with the bits reserved there, leaves with any R/W/X/U/A/D, W
 * without R, PBMT, N, reserved bits, misaligned superpages, addresses beyond
 * every G-stage's width) into a region of guest pages, builds an optional
 * Sv39x4 or Sv48x4 G-stage over them (aliased pages, rights, A/D, Svadu,
 * PBMT, raw edits), sets vsatp (Sv39, Sv48, Sv57 or Bare), vsstatus.SUM/MXR,
 * the HS-level sstatus.MXR, henvcfg.ADUE/PBMTE and VS or VU mode, and makes
 * one access. Then:
 * - the reference walk (nw_rv_vs_walk) and the fast walker
 *   (nw_walker_init_riscv, through a direct-map window) agree on every field,
 *   a lookup writes nothing, and a probe that answers gives the translation;
 * - the trap CSRs agree with the outcome: scause by the outcome and the
 *   original access type, stval the guest virtual address, htval the
 *   faulting guest-physical address >> 2 and hstatus.GVA for a guest-page
 *   fault only, htinst 0x3000/0x3020 for a VS-stage PTE access and 0 for the
 *   final address; a translation keeps the page offset;
 * - a walk that may write (Svadu) writes the same bytes from both.
 * Every address a PTE can name is backed (the region, the output pages), or
 * beyond every G-stage's width with one, on a strict simulated host, so a
 * read outside simulated memory aborts. Any disagreement aborts. */
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/riscv_trap.h>
#include <nestwalk/riscv_vs.h>
#include <nestwalk/walk.h>

#define FZ_NAME "fuzz_riscv"
#include "fuzz_diff.h"
#include "fuzz_input.h"

#define REGION_HPA FZ_REGION_HPA   /* claimed: backed, never allocated */
#define REGION_GPA REGION_HPA      /* the guest pages that hold VS-stage tables: their host pages without a G-stage */
#define REGION_PAGES FZ_REGION_PAGES
#define OUTPUT_GPA FZ_OUTPUT_ADDR  /* pages leaves map; claimed too, for a pointer that names one */
#define OUTPUT_PAGES FZ_OUTPUT_PAGES
#define HIGH_ADDR (UINT64_C(1) << 55)   /* beyond the host and every G-stage's width, within a PTE's PPN */
#define G_ALL (NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_X | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D)

/* The case's RISC-V state (fuzz_diff.h's fc holds its host and walk configuration). */
struct riscv_case {
	struct nw_rv_gstage g;
	struct nw_rv_vs_cpu cpu;
};

static struct riscv_case rc;

/* An address a PTE names: a region page (as a table), an output page (2 MiB and 1 GiB aligned at 0), or, over
 * a G-stage, one beyond its width (refused before any read). Without one, a pointer there would be read (an
 * access fault on a real HAL) and the strict host aborts on any such read, so the pick is an output page. */
static uint64_t pick_addr(struct fz *in)
{
	uint8_t pick = fz_u8(in);

	switch (pick >> 6) {
	case 0:
	case 1:
		return REGION_GPA + (pick % REGION_PAGES) * NW_PAGE_SIZE;
	case 2:
		return OUTPUT_GPA + (uint64_t)(pick % OUTPUT_PAGES) * NW_PAGE_SIZE;
	default:
		if (fc.config.stage2.kind != NW_STAGE2_RISCV)
			return OUTPUT_GPA + (uint64_t)(pick & 0x3f) * NW_PAGE_SIZE;
		return HIGH_ADDR | (uint64_t)(pick & 0x3f) * NW_PAGE_SIZE;
	}
}

/* One PTE (the address's PPN in bits 53:10): a pointer (A/D/U/PBMT/N, reserved there, from the kind byte), a
 * leaf (bits 9:1 from the input, PBMT and N from the kind byte), or the input's raw bits around the PPN. */
static uint64_t make_pte(struct fz *in)
{
	uint8_t kind = fz_u8(in);
	uint64_t ppn = pick_addr(in) >> 2;

	switch (kind & 3) {
	case 0:
		return ppn | NW_RV_PTE_V | (fz_bit(kind, 7) ? (uint64_t)(kind >> 4 & 7) << 4 : 0);
	case 1:
	case 2:
		return ppn | NW_RV_PTE_V | (fz_u16(in) & 0x3fe) | (uint64_t)(kind >> 2 & 7) << 61;
	default:
		return ppn | (fz_u64(in) & ~NW_RV_PTE_PPN_MASK);
	}
}

/* The index of va at library level (1 = the 4 KiB page). */
static unsigned va_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 0x1ff;
}

static void write_tables(struct fz *in, uint64_t va)
{
	unsigned count = fz_u8(in) % 24;

	for (unsigned i = 0; i < count; i++) {
		uint8_t where = fz_u8(in);
		unsigned page = where % REGION_PAGES, index = (where >> 4) < 15 ? va_index(va, 1 + (where >> 4) % 5)
									 : fz_u16(in) % 512;
		uint64_t *table = host(fc.page_hpa[page]);

		table[index] = make_pte(in);
	}
}

/* G-stage leaf flags: every right and A/D but those the byte's bits 5:0 take away (R, W, X, U, A, D), kept a leaf
 * with no W without R (the builder refuses both: raw edits make those); PBMT from bits 7:6 under PBMTE. */
static uint64_t g_flags(uint8_t flags)
{
	uint64_t bits = G_ALL & ~((uint64_t)(flags & 0x3f) << 1);

	if (!(bits & NW_RV_PTE_R))
		bits &= ~NW_RV_PTE_W;
	if (!(bits & (NW_RV_PTE_R | NW_RV_PTE_X)))
		bits |= NW_RV_PTE_X;
	if (rc.g.config.pbmte && (flags >> 6) != 3)
		bits |= (uint64_t)(flags >> 6) << NW_RV_PTE_PBMT_SHIFT;
	return bits;
}

static nw_status_t edit_gstage(uint64_t gpa, int level, uint64_t clear, uint64_t set)
{
	return nw_rv_gstage_edit(&rc.g, nw_gpa(gpa), level, clear, set, 0, 0);
}

/* Sv39x4 or Sv48x4 with the input's ADUE, PBMTE and MXR; every region page mapped (or not) to a region page,
 * eight output pages and 2 MiB superpages with the input's flags, then raw edits. */
static void build_gstage(struct fz *in)
{
	uint8_t shape = fz_u8(in);
	uint16_t mapped = fz_u16(in);
	struct nw_rv_gstage_config config = { .mode = fz_bit(shape, 0) ? NW_RV_HGATP_SV48X4 : NW_RV_HGATP_SV39X4,
					      .adue = fz_bit(shape, 1), .pbmte = fz_bit(shape, 2),
					      .mxr = fz_bit(shape, 3), .caps = nw_rv_gstage_caps_all() };

	if (nw_rv_gstage_create(&rc.g, fc.hal, &config) != NW_OK)
		fail("G-stage set-up", shape, 0);
	fc.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &rc.g };
	for (unsigned i = 0; i < REGION_PAGES; i++) {
		uint8_t flags = fz_u8(in);

		fc.page_hpa[i] = REGION_HPA + (fz_bit(flags, 7) ? fz_u8(in) % REGION_PAGES : i) * NW_PAGE_SIZE;
		if (!fz_bit(mapped, i) && i > 0)
			continue;
		if (nw_rv_gstage_map(&rc.g, nw_gpa(REGION_GPA + i * NW_PAGE_SIZE), nw_hpa(fc.page_hpa[i]), NW_PAGE_SIZE,
				     g_flags(flags & 0x3f), 0, 0) != NW_OK)
			fail("G-stage map of a region page", i, 0);
	}
	for (unsigned i = 0; i < 8; i++) {
		uint8_t flags = fz_u8(in);
		uint64_t size = fz_bit(flags, 6) ? NW_SIZE_2M : NW_PAGE_SIZE;
		uint64_t gpa = OUTPUT_GPA + (size == NW_PAGE_SIZE ? i * NW_PAGE_SIZE : (uint64_t)(i + 1) * NW_SIZE_2M);

		/* The output page's host address is never read; a region page keeps it backed all the same. */
		if (nw_rv_gstage_map(&rc.g, nw_gpa(gpa), nw_hpa(REGION_HPA), size, g_flags(flags & 0xbf), 0, 0) != NW_OK)
			fail("G-stage map of an output page", gpa, flags);
	}
	fz_raw_edits(in, NW_RV_PTE_PPN_MASK, edit_gstage, "G-stage edit");
}

/* vsatp (Sv39, Sv48, Sv57 or Bare; the root region page 0, the input's ASID), vsstatus.SUM/MXR, the HS-level
 * sstatus.MXR (the G-stage's when there is one), henvcfg.ADUE/PBMTE, VS or VU mode. */
static void setup_cpu(struct fz *in)
{
	static const unsigned modes[4] = { NW_RV_SATP_SV39, NW_RV_SATP_SV48, NW_RV_SATP_SV57, NW_RV_SATP_BARE };
	/* One value a declarator: the order the input is read in is the order written. */
	uint8_t mode = fz_u8(in), state = fz_u8(in);
	uint16_t asid = fz_u16(in);
	uint64_t vsatp = modes[mode % 4] == NW_RV_SATP_BARE
				 ? 0
				 : (uint64_t)modes[mode % 4] << NW_RV_SATP_MODE_SHIFT |
					   (uint64_t)asid << NW_RV_SATP_ASID_SHIFT | REGION_GPA >> 12;

	rc.cpu.caps = nw_rv_vs_caps_all();
	if (nw_rv_vsatp_decode(vsatp, &rc.cpu.caps, &rc.cpu.vsatp) != NW_OK)
		fail("vsatp", vsatp, 0);
	rc.cpu.vu = fz_bit(state, 0);
	rc.cpu.sum = fz_bit(state, 1);
	rc.cpu.mxr = fz_bit(state, 2);
	rc.cpu.hs_mxr = fc.config.stage2.kind == NW_STAGE2_RISCV ? rc.g.config.mxr : fz_bit(state, 3);
	rc.cpu.adue = fz_bit(state, 4);
	rc.cpu.pbmte = fz_bit(state, 5);
}

/* The GVA: small indices at each level so the PTEs the input wrote are met, sign-extended from the shape's bit. */
static uint64_t make_va(struct fz *in)
{
	static const unsigned sign_bits[4] = { 0, 38, 47, 56 };
	uint8_t shape = fz_u8(in);
	uint64_t va = 0;

	for (unsigned shift = 48; shift >= 12; shift -= 9)
		va |= (uint64_t)(fz_u8(in) % 4) << shift;
	va |= fz_u16(in) & 0xfff;
	if (shape % 4)
		va |= ~UINT64_C(0) << sign_bits[shape % 4];
	if (fz_bit(shape, 2))
		va ^= UINT64_C(1) << (40 + (shape >> 3) % 24); /* an address bit above the indices flipped */
	return va;
}

static void same_result(const struct nw_walk_result *ref, const struct nw_walk_result *fast)
{
	fz_same_walk(ref, fast);
	SAME(rv_trap.scause);
	SAME(rv_trap.stval);
	SAME(rv_trap.htval);
	SAME(rv_trap.htinst);
	SAME(rv_trap.gva);
	SAME(mode);
}

static uint64_t cause_of(enum nw_access_type type, uint64_t fetch, uint64_t load, uint64_t store)
{
	return type == NW_ACCESS_FETCH ? fetch : type == NW_ACCESS_WRITE ? store : load;
}

/* The outcome against its trap CSRs, as the privileged spec writes them ("Trap Value Registers", "Hypervisor
 * Trap Value Register", "Hypervisor Trap Instruction Register", hstatus.GVA). */
static void check_trap(const struct nw_access *access, const struct nw_walk_result *res)
{
	const struct nw_rv_trap *t = &res->rv_trap;
	enum nw_access_type type = access->type;

	switch (res->outcome) {
	case NW_OUTCOME_OK:
		if (t->scause || t->stval || t->htval || t->htinst || t->gva)
			fail("a translation with trap CSRs", t->scause, 0);
		if ((res->gpa.val ^ access->gva.val) & (res->guest_page_size - 1) ||
		    (res->guest_page_size != NW_PAGE_SIZE << (9 * (res->leaf_level ? res->leaf_level - 1 : 0)) &&
		     !(res->leaf_entry & NW_RV_PTE_N)))
			fail("translation offset or page size", res->gpa.val, res->guest_page_size);
		return;
	case NW_OUTCOME_PAGE_FAULT:
		if (t->scause != cause_of(type, NW_RV_CAUSE_FETCH_PAGE_FAULT, NW_RV_CAUSE_LOAD_PAGE_FAULT,
					  NW_RV_CAUSE_STORE_PAGE_FAULT) ||
		    t->htval || t->htinst || t->gva)
			fail("page fault CSRs", t->scause, t->htval);
		break;
	case NW_OUTCOME_GUEST_PAGE_FAULT:
		if (fc.config.stage2.kind != NW_STAGE2_RISCV ||
		    t->scause != cause_of(type, NW_RV_CAUSE_FETCH_GUEST_PAGE_FAULT, NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT,
					  NW_RV_CAUSE_STORE_GUEST_PAGE_FAULT) ||
		    !t->gva || t->htval != res->fault_gpa.val >> 2)
			fail("guest-page fault CSRs", t->scause, t->htval);
		if (res->s2_on_table ? !(t->htinst == NW_RV_HTINST_VS_PTE_READ ||
					 (t->htinst == NW_RV_HTINST_VS_PTE_WRITE && rc.cpu.adue))
				     : t->htinst != 0)
			fail("htinst", t->htinst, res->s2_on_table);
		break;
	case NW_OUTCOME_ACCESS_FAULT:
		if (t->scause != cause_of(type, NW_RV_CAUSE_FETCH_ACCESS, NW_RV_CAUSE_LOAD_ACCESS,
					  NW_RV_CAUSE_STORE_ACCESS) ||
		    t->htval || t->htinst)
			fail("access fault CSRs", t->scause, t->htval);
		break;
	default:
		fail("an outcome no RISC-V walk gives", res->outcome, 0);
	}
	if (t->stval != access->gva.val)
		fail("stval", t->stval, access->gva.val);
}

static struct nw_walker *init_fast(void *storage, const struct nw_walk_config *config)
{
	return nw_walker_init_riscv(storage, config, &rc.cpu);
}

static void walk_ref(const struct nw_access *access, unsigned flags, struct nw_walk_result *res)
{
	nw_rv_vs_walk(&fc.config, &rc.cpu, access, flags, res);
}

static const struct fz_walks riscv_walks = { .no_walker = "no RISC-V walker", .init_fast = init_fast,
					     .walk_ref = walk_ref, .check = check_trap, .same = same_result };

static void teardown(void)
{
	if (fc.config.stage2.kind == NW_STAGE2_RISCV)
		nw_rv_gstage_destroy(&rc.g);
	fz_case_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_start(data, size);
	struct nw_access access;
	uint64_t va;

	memset(&rc, 0, sizeof(rc));
	fz_case_start(); /* without a G-stage: GPA = HPA */
	if (fz_bit(fz_u8(&in), 0))
		build_gstage(&in);
	setup_cpu(&in);
	va = make_va(&in);
	write_tables(&in, va);
	access = (struct nw_access){ .gva = nw_gva(va), .size = 1, .type = (enum nw_access_type)(fz_u8(&in) % 3) };
	fz_walk_both(&riscv_walks, &access);
	teardown();
	return 0;
}
