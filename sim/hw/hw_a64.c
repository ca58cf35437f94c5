/* An aarch64 scenario's stage 2 on the AArch64 image (hw_a64.h). A case is the path of the scenario's tables
 * for one IPA: each entry the walk reads, copied in walk order (tables linked as the case's own), the leaf's
 * output address moved into the image's scratch region (an address at or above 2^PS stays: it is an Address
 * size fault, never an access); the IPA keeps its bits but for a start-level slot the image uses itself (moved
 * to the slot beside it) and for the offset in a block larger than the scratch region (32 or 512 MiB, 1 GiB: one
 * inside the region; a stage-2 outcome is the same at every offset of a leaf). */
#include <inttypes.h>
#include <stdio.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/pt_build.h>

#include "contract/a64_case.h"
#include "hw/hw_a64.h"

static const struct nw_hw_deviation ps40_level0 = {
	"a64-ps40-level0-start",
	"QEMU 7.2 refuses a level-0 start with VTCR_EL2.PS under 44 bits (the Arm ARM checks the PE's PA size)",
	NULL,
};

static const struct nw_hw_deviation oa_high_ignored = {
	"a64-64k-oa-high-ignored",
	"QEMU 7.2 ignores bits 15:12 (OA[51:48]) of a 64 KiB-granule descriptor unless PS is 52 bits",
	NULL,
};

#define OA_HIGH_64K UINT64_C(0xf000) /* bits 15:12 of a 64 KiB-granule descriptor: OA[51:48] (Arm ARM D8.3) */

static bool is_leaf_type(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	if (level == NW_LEVEL_PT)
		return entry & NW_ARM64_S2_TABLE;
	return fmt->level[level].leaf_ok && !(entry & NW_ARM64_S2_TABLE);
}

/* The leaf moved into the scratch region: where the case's IPA lands, and the IPA's offset bits for it. */
static uint64_t relocate(uint64_t size, uint32_t id, uint64_t *ipa)
{
	uint64_t base;

	if (size == NW_PAGE_SIZE) {
		*ipa &= ~UINT64_C(0xfff) | 0xff8;
		return HW_A64_SCRATCH_BASE + (1 + id % (HW_A64_SCRATCH_SIZE / NW_PAGE_SIZE - 1)) * NW_PAGE_SIZE;
	}
	if (size <= HW_A64_SCRATCH_SIZE) {
		*ipa &= ~(size - 1) | (size - 8);
		return HW_A64_SCRATCH_BASE;
	}
	/* A block larger than the region (32 or 512 MiB, 1 GiB) at the aligned address below it (0x42000000,
	 * 0x40000000): the offset of the scratch region's page id. */
	base = HW_A64_SCRATCH_BASE & ~(size - 1);
	*ipa = (*ipa & ~(size - 1)) | (HW_A64_SCRATCH_BASE - base) | (*ipa & 0xff8) |
	       (id % (HW_A64_SCRATCH_SIZE / NW_PAGE_SIZE)) * NW_PAGE_SIZE;
	return base;
}

static void add_entry(struct nw_hw_case *out, unsigned table, unsigned index, uint64_t value, unsigned link)
{
	out->entries[out->head.entry_count++] = (struct hw_blob_entry){
		.table = (uint8_t)table, .index = (uint16_t)index, .link = (uint8_t)link, .value = value
	};
}

/* The case's IPA: the scenario's, its start-level slot moved off the image's. The slot is the start table's
 * index, which an IPA beyond the input size shares with the IPA below it (the walk indexes with the input
 * bits alone). */
static uint64_t run_ipa(const struct nw_pt_format *fmt, uint64_t ipa)
{
	unsigned shift = fmt->level[fmt->top].shift;

	if (nw_pt_index(fmt, fmt->top, ipa) != nw_pt_index(fmt, fmt->top, HW_A64_IMAGE_BLOCK))
		return ipa;
	return ipa ^ (UINT64_C(1) << shift);
}

/* The answer with OA[51:48] clear in the 64 KiB-granule leaf whose Address size fault they made: the scenario's
 * entry edited for one lookup and put back. */
static void oa_high_answer(struct nw_aspace *as, const struct nw_s2_request *req, struct nw_hw_a64_expect *e)
{
	const struct nw_arm64_s2_access access = { .type = req->type };
	struct nw_hw_a64_expect_oa_high *alt = &e->oa_high;
	uint64_t old;

	if (as->arm64.config.granule_bits != 16 || e->res.fault != NW_S2_FAULT_ADDRESS_SIZE ||
	    !(e->res.entry & OA_HIGH_64K) || nw_pt_is_link(as->arm64.pt.fmt, e->res.level, e->res.entry) ||
	    nw_arm64_s2_edit(&as->arm64, req->gpa, e->res.level, OA_HIGH_64K, 0, &old, 0) != NW_OK)
		return;
	nw_stage2_translate(nw_aspace_stage2(as), req, &alt->res);
	if (nw_arm64_s2_edit(&as->arm64, req->gpa, e->res.level, 0, old & OA_HIGH_64K, 0, 0) != NW_OK)
		return;
	e->has_oa_high = true;
	if (alt->res.status == NW_S2_OK)
		return;
	alt->esr = nw_arm64_s2_esr(&alt->res, &access) | (req->type == NW_ACCESS_FETCH ? 0 : HW_A64_STUB_ISS);
	alt->has_hpfar = nw_arm64_hpfar(&alt->res, req->gpa, &access, &alt->hpfar);
}

const char *nw_hw_a64_vtcr_refusal(uint64_t vtcr)
{
	if (vtcr >> 32)
		return "VTCR_EL2 has bits above 31 the case cannot carry";
	if (vtcr & NW_VTCR_HD)
		return "VTCR_EL2.HD (bit 22, FEAT_HAFDBS dirty state at stage 2) is not compared with QEMU 7.2";
	return NULL;
}

const char *nw_hw_a64_compile(struct nw_aspace *as, uint64_t vtcr, uint64_t ipa, enum nw_access_type type, uint32_t id,
			      struct nw_hw_case *out, struct nw_hw_a64_expect *e)
{
	const struct nw_pt *pt = &as->arm64.pt;
	const struct nw_pt_format *fmt = pt->fmt;
	struct nw_s2_request req = { .gpa = nw_gpa(ipa), .type = type, .lookup_only = true };
	struct nw_arm64_s2_access access = { .type = type };
	uint64_t limit = UINT64_C(1) << as->arm64.config.ps_bits, table = pt->root, run = run_ipa(fmt, ipa & ~7ull);

	*e = (struct nw_hw_a64_expect){ .small_ps_level0 = as->arm64.config.start_level == 0 &&
							   as->arm64.config.ps_bits < 44 };
	out->head = (struct hw_blob_case){ .id = id,
					   .flags = HW_A64_XNX,
					   .vtcr = (uint32_t)vtcr,
					   .cpl = 1,
					   .access = (uint8_t)type,
					   .table_count = 1 };
	if (nw_hw_a64_vtcr_refusal(vtcr))
		return nw_hw_a64_vtcr_refusal(vtcr);
	for (int level = fmt->top; level >= NW_LEVEL_PT; level--) {
		unsigned index = nw_pt_index(fmt, level, ipa), run_index = nw_pt_index(fmt, level, run);
		uint64_t entry = nw_pt_entry_get(fmt, nw_pt_table_ptr(pt, table), index);
		unsigned me = out->head.table_count - 1;

		if (out->head.entry_count == NW_HW_CASE_ENTRIES)
			return "a path longer than a case holds";
		if ((entry & NW_ARM64_S2_VALID) && (entry & NW_ARM64_S2_TABLE) && level > NW_LEVEL_PT &&
		    (entry & NW_ARM64_S2_ADDR_MASK) < limit) {
			/* A link carries no address bits: OA[51:48] of a 64 KiB table descriptor would be lost. */
			if (as->arm64.config.granule_bits == 16 && (entry & OA_HIGH_64K))
				return "a 64 KiB-granule table descriptor with OA[51:48] (bits 15:12) set, which "
				       "a case cannot carry";
			add_entry(out, me, run_index, entry & ~NW_ARM64_S2_ADDR_MASK, me + 2);
			out->head.table_count++;
			table = entry & NW_ARM64_S2_ADDR_MASK;
			continue;
		}
		if ((entry & NW_ARM64_S2_VALID) && is_leaf_type(fmt, level, entry) &&
		    nw_pt_leaf_addr(fmt, level, entry) < limit) {
			uint64_t size = nw_pt_level_size(fmt, level), oa = relocate(size, id, &run);

			entry = (entry & ~(NW_ARM64_S2_ADDR_MASK & ~(size - 1))) | oa;
			e->pa = oa + (run & (size - 1));
			out->has_leaf = true;
			out->leaf_pa = oa;
			out->leaf_gpa = ipa & ~(size - 1);
			out->leaf_size = size;
		}
		add_entry(out, me, run_index, entry, 0);
		break;
	}
	out->run_gva = run;
	out->head.gva = run;
	e->ipa = ipa & ~7ull;
	nw_stage2_translate(nw_aspace_stage2(as), &req, &e->res);
	if (e->res.status != NW_S2_OK) {
		e->esr = nw_arm64_s2_esr(&e->res, &access) | (type == NW_ACCESS_FETCH ? 0 : HW_A64_STUB_ISS);
		e->has_hpfar = nw_arm64_hpfar(&e->res, req.gpa, &access, &e->hpfar);
		oa_high_answer(as, &req, e);
	}
	return NULL;
}

static enum nw_hw_verdict differ(char *problem, size_t len, const char *what, uint64_t got, uint64_t want)
{
	snprintf(problem, len, "%s 0x%" PRIx64 " on the CPU, 0x%" PRIx64 " in the library", what, got, want);
	return NW_HW_VERDICT_MISMATCH;
}

/* QEMU 7.2's refusal of a level-0 start with a small PS: the guest's first fetch, in the image's block, is an
 * instruction abort with a translation fault at level 0 (hw/DEVIATIONS.md). */
static bool is_ps40_level0(const struct nw_hw_a64_expect *e, const struct nw_hw_outcome *o)
{
	return e->small_ps_level0 && o->kind == NW_HW_ABORT &&
	       o->a == (((uint64_t)NW_ESR_EC_IABT_LOW << NW_ESR_EC_SHIFT) | NW_ESR_IL | 0x04) &&
	       o->b - HW_A64_IMAGE_BLOCK < HW_A64_IMAGE_BLOCK_SIZE;
}

/* The outcome against one answer of a stage-2 probe: the library's (res, esr, hpfar), with the case's
 * addresses; *deviation the a64-hpfar-permission row's where it explains HPFAR_EL2. */
static enum nw_hw_verdict compare_answer(const struct nw_hw_case *c, const struct nw_hw_a64_expect *e,
					 const struct nw_s2_result *res, uint64_t esr, bool has_hpfar, uint64_t hpfar,
					 const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
					 char *problem, size_t len)
{
	bool ok = res->status == NW_S2_OK;

	if (o->kind != (ok ? NW_HW_OK : NW_HW_ABORT)) {
		snprintf(problem, len, "the CPU gave '%s', the library %s", o->text,
			 ok ? "a translation" : "a stage-2 abort");
		return NW_HW_VERDICT_MISMATCH;
	}
	if (ok)
		return c->head.access == HW_ACCESS_FETCH || o->a == e->pa ? NW_HW_VERDICT_MATCH
									  : differ(problem, len, "PA", o->a, e->pa);
	if (o->a != esr)
		return differ(problem, len, "ESR_EL2", o->a, esr);
	if (o->b != c->run_gva)
		return differ(problem, len, "FAR_EL2", o->b, c->run_gva);
	/* HPFAR_EL2 holds the case's IPA page (bits 47:12 in 43:4). */
	return nw_hw_a64_hpfar_verdict(has_hpfar, hpfar - (e->ipa >> 12 << 4) + (c->run_gva >> 12 << 4), o, deviation,
				       problem, len);
}

enum nw_hw_verdict nw_hw_a64_compare(const struct nw_hw_case *c, const struct nw_hw_a64_expect *e,
				     const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
				     char *problem, size_t len)
{
	const struct nw_hw_a64_expect_oa_high *alt = &e->oa_high;
	const struct nw_hw_deviation *alt_deviation = NULL;
	enum nw_hw_verdict verdict, alt_verdict;
	char ignored[8];

	if (o->kind == NW_HW_UNSUPPORTED || o->kind == NW_HW_NONE) {
		snprintf(problem, len, "%s", o->kind == NW_HW_NONE ? "the image printed no outcome" : o->text);
		return o->kind == NW_HW_NONE ? NW_HW_VERDICT_MISMATCH : NW_HW_VERDICT_NOT_RUN;
	}
	if (is_ps40_level0(e, o)) {
		*deviation = &ps40_level0;
		return NW_HW_VERDICT_EXPLAINED;
	}
	if (e->s1)
		return nw_hw_a64_s1_verdict(e, o, deviation, problem, len);
	verdict = compare_answer(c, e, &e->res, e->esr, e->has_hpfar, e->hpfar, o, deviation, problem, len);
	if (verdict != NW_HW_VERDICT_MISMATCH || !e->has_oa_high)
		return verdict;
	alt_verdict = compare_answer(c, e, &alt->res, alt->esr, alt->has_hpfar, alt->hpfar, o, &alt_deviation, ignored,
				     sizeof(ignored));
	if (alt_verdict == NW_HW_VERDICT_MISMATCH)
		return verdict;
	*deviation = &oa_high_ignored;
	return NW_HW_VERDICT_EXPLAINED;
}

static const struct nw_hw_deviation hpfar_permission = {
	"a64-hpfar-permission",
	"QEMU 7.2 fills HPFAR_EL2 on a stage-2 Permission fault on the final access, which the Arm ARM leaves UNKNOWN",
	NULL,
};

enum nw_hw_verdict nw_hw_a64_hpfar_verdict(bool has, uint64_t want, const struct nw_hw_outcome *o,
					   const struct nw_hw_deviation **deviation, char *problem, size_t len)
{
	if (has && ((o->unknown & 4) || o->c != want))
		return differ(problem, len, "HPFAR_EL2 (in the case's IPA)", o->c, want);
	if (!has && !(o->unknown & 4)) {
		*deviation = &hpfar_permission;
		return NW_HW_VERDICT_EXPLAINED;
	}
	return NW_HW_VERDICT_MATCH;
}
