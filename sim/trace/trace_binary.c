/* The binary record encoding: tag, little-endian u32 payload length, payload
 * (traces/FORMAT.md, "Binary form"). */
#include <string.h>

#include "trace/trace_codec.h"

#define REG_LEN 9
#define ADDR_LEN 8
#define INV_ID_LEN 11
#define INVEPT_LEN 9
#define TLBI_LEN 9
#define FENCE_LEN 18      /* op u8, flags u8, rs1 u64, rs2 u64 */
#define FENCE_RS1_X0 0x01 /* fence flags byte: rs1 is x0 */
#define FENCE_RS2_X0 0x02 /* rs2 is x0 */
#define S2EDIT_LEN 25     /* gpa u64, level u8, clear u64, set u64 */

void nw_trace_binary_header(uint8_t out[NW_TRACE_HEADER_LEN], unsigned version, enum nw_trace_arch arch)
{
	memcpy(out, NW_TRACE_BINARY_MAGIC, NW_TRACE_BINARY_MAGIC_LEN);
	nw_le_put(out + 8, version, 2);
	nw_le_put(out + 10, arch, 2); /* version 1: flags, 0 (x86_64); from version 2: the architecture */
}

int nw_trace_binary_is_known(uint8_t tag)
{
	return (tag >= NW_TRACE_ACCESS && tag <= NW_TRACE_S2EDIT) || tag == NW_TRACE_END;
}

static size_t encode_expect(const struct nw_trace_expect *e, unsigned version, uint8_t *p)
{
	uint64_t vals[NW_EXPECT_FIELD_COUNT];
	size_t len = nw_trace_expect_mask_bytes(version);

	nw_trace_expect_get_fields(e, vals);
	nw_le_put(p, e->present, (unsigned)len);
	for (unsigned f = 0; f < NW_EXPECT_FIELD_COUNT; f++) {
		if (!NW_EXPECT_HAS(e, f))
			continue;
		nw_le_put(p + len, vals[f], nw_trace_expect_field_bytes(f));
		len += nw_trace_expect_field_bytes(f);
	}
	return len;
}

size_t nw_trace_binary_encode(const struct nw_trace_record *rec, unsigned version, uint8_t *out)
{
	uint8_t *p = out + NW_TRACE_RECORD_HEAD_LEN;
	size_t len = 0;

	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		nw_le_put(p, rec->access.gva.val, 8);
		nw_le_put(p + 8, rec->access.size, 2);
		p[10] = (uint8_t)rec->access.type;
		p[11] = rec->access.cpl;
		p[12] = (rec->access.implicit ? NW_TRACE_ACCESS_IMPLICIT : 0) |
			(rec->access.ac ? NW_TRACE_ACCESS_AC : 0) | (rec->access.unpriv ? NW_TRACE_ACCESS_UNPRIV : 0);
		len = NW_TRACE_ACCESS_LEN;
		break;
	case NW_TRACE_REG:
		p[0] = (uint8_t)rec->reg.reg;
		nw_le_put(p + 1, rec->reg.value, 8);
		len = REG_LEN;
		break;
	case NW_TRACE_GPWRITE:
		nw_le_put(p, rec->gpwrite.gpa.val, 8);
		memcpy(p + 8, rec->gpwrite.data, rec->gpwrite.len);
		len = 8 + rec->gpwrite.len;
		break;
	case NW_TRACE_INVLPG:
		nw_le_put(p, rec->inv.gva.val, 8);
		len = ADDR_LEN;
		break;
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
		p[0] = rec->inv.type;
		nw_le_put(p + 1, rec->inv.id, 2);
		nw_le_put(p + 3, rec->inv.gva.val, 8);
		len = INV_ID_LEN;
		break;
	case NW_TRACE_INVEPT:
		p[0] = rec->inv.type;
		nw_le_put(p + 1, rec->inv.eptp, 8);
		len = INVEPT_LEN;
		break;
	case NW_TRACE_TLBI:
		p[0] = (uint8_t)rec->tlbi.op;
		nw_le_put(p + 1, rec->tlbi.xt, 8);
		len = TLBI_LEN;
		break;
	case NW_TRACE_FENCE:
		p[0] = (uint8_t)rec->fence.op;
		p[1] = (rec->fence.rs1_x0 ? FENCE_RS1_X0 : 0) | (rec->fence.rs2_x0 ? FENCE_RS2_X0 : 0);
		nw_le_put(p + 2, rec->fence.rs1, 8);
		nw_le_put(p + 10, rec->fence.rs2, 8);
		len = FENCE_LEN;
		break;
	case NW_TRACE_S2EDIT:
		nw_le_put(p, rec->s2edit.gpa.val, 8);
		p[8] = rec->s2edit.level;
		nw_le_put(p + 9, rec->s2edit.clear, 8);
		nw_le_put(p + 17, rec->s2edit.set, 8);
		len = S2EDIT_LEN;
		break;
	case NW_TRACE_MARK:
		len = strlen(rec->label);
		memcpy(p, rec->label, len);
		break;
	case NW_TRACE_EXPECT:
		len = encode_expect(&rec->expect, version, p);
		break;
	case NW_TRACE_END:
		break;
	}
	out[0] = (uint8_t)rec->kind;
	nw_le_put(out + 1, len, 4);
	return NW_TRACE_RECORD_HEAD_LEN + len;
}

/* On-disk bytes of each expectation field (nw_trace_expect_field_bytes, as a table for the decoder). */
static const uint8_t expect_field_bytes[NW_EXPECT_FIELD_COUNT] = {
	[NW_EXPECT_OUTCOME] = 1, [NW_EXPECT_GPA] = 8, [NW_EXPECT_HPA] = 8, [NW_EXPECT_ERROR_CODE] = 8,
	[NW_EXPECT_EXIT_QUALIFICATION] = 8, [NW_EXPECT_FAULT_GPA] = 8, [NW_EXPECT_REFS] = 4,
	[NW_EXPECT_GUEST_PAGE_SIZE] = 8, [NW_EXPECT_S2_PAGE_SIZE] = 8, [NW_EXPECT_MISCONFIG_LEVEL] = 1,
	[NW_EXPECT_GLA_VALID] = 1, [NW_EXPECT_ESR] = 8, [NW_EXPECT_FAR] = 8, [NW_EXPECT_HPFAR] = 8,
	[NW_EXPECT_SCAUSE] = 8, [NW_EXPECT_STVAL] = 8, [NW_EXPECT_HTVAL] = 8, [NW_EXPECT_HTINST] = 8,
};

static uint64_t le_field(const uint8_t *p, unsigned bytes)
{
	return bytes == 8 ? nw_le64(p) : bytes == 4 ? nw_le32(p) : p[0];
}

static const char *decode_expect(const uint8_t *p, uint32_t len, unsigned version, struct nw_trace_expect *e)
{
	uint64_t vals[NW_EXPECT_FIELD_COUNT] = { 0 };
	uint32_t at = nw_trace_expect_mask_bytes(version);

	if (len < at)
		return "expectation shorter than its field mask";
	e->present = at == 4 ? nw_le32(p) : nw_le16(p);
	if (e->present >> NW_EXPECT_FIELD_COUNT)
		return "expectation names an unknown field";
	for (uint32_t left = e->present; left; left &= left - 1) {
		unsigned f = (unsigned)__builtin_ctz(left);
		unsigned bytes = expect_field_bytes[f];

		if (len - at < bytes)
			return "expectation length does not match its field mask";
		vals[f] = le_field(p + at, bytes);
		at += bytes;
	}
	if (at != len)
		return "expectation length does not match its field mask";
	nw_trace_expect_set_fields(e, vals);
	return 0;
}

/* Fixed-size payloads by tag (0: variable). */
static uint32_t fixed_len(uint8_t tag)
{
	switch (tag) {
	case NW_TRACE_ACCESS:
		return NW_TRACE_ACCESS_LEN;
	case NW_TRACE_REG:
		return REG_LEN;
	case NW_TRACE_INVLPG:
		return ADDR_LEN;
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
		return INV_ID_LEN;
	case NW_TRACE_INVEPT:
		return INVEPT_LEN;
	case NW_TRACE_TLBI:
		return TLBI_LEN;
	case NW_TRACE_FENCE:
		return FENCE_LEN;
	case NW_TRACE_S2EDIT:
		return S2EDIT_LEN;
	default:
		return 0;
	}
}

const char *nw_trace_binary_decode(uint8_t tag, const uint8_t *p, uint32_t len, unsigned version,
				   struct nw_trace_record *rec)
{
	/* Accesses and expectations, nearly every record, set their whole member: no need to clear the union. */
	if (tag != NW_TRACE_ACCESS && tag != NW_TRACE_EXPECT)
		memset(rec, 0, sizeof(*rec));
	rec->kind = (enum nw_trace_kind)tag;
	if (fixed_len(tag) && len != fixed_len(tag))
		return "payload length wrong for this record kind";
	switch (tag) {
	case NW_TRACE_ACCESS:
		rec->access = (struct nw_trace_access){
			.gva = nw_gva(nw_le64(p)),
			.size = nw_le16(p + 8),
			.type = (enum nw_access_type)p[10],
			.cpl = p[11],
			.implicit = p[12] & NW_TRACE_ACCESS_IMPLICIT,
			.ac = p[12] & NW_TRACE_ACCESS_AC,
			.unpriv = p[12] & NW_TRACE_ACCESS_UNPRIV,
		};
		if (p[12] & ~NW_TRACE_ACCESS_FLAGS)
			return "access flags have undefined bits set";
		break;
	case NW_TRACE_REG:
		rec->reg = (struct nw_trace_regwrite){ (enum nw_trace_reg)p[0], nw_le_get(p + 1, 8) };
		break;
	case NW_TRACE_GPWRITE:
		if (len < 9)
			return "guest-physical write without data";
		rec->gpwrite = (struct nw_trace_gpwrite){ nw_gpa(nw_le_get(p, 8)), len - 8, p + 8 };
		break;
	case NW_TRACE_INVLPG:
		rec->inv.gva = nw_gva(nw_le_get(p, 8));
		break;
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
		rec->inv.type = p[0];
		rec->inv.id = (uint16_t)nw_le_get(p + 1, 2);
		rec->inv.gva = nw_gva(nw_le_get(p + 3, 8));
		break;
	case NW_TRACE_INVEPT:
		rec->inv.type = p[0];
		rec->inv.eptp = nw_le_get(p + 1, 8);
		break;
	case NW_TRACE_TLBI:
		rec->tlbi = (struct nw_trace_tlbi){ (enum nw_tlbi_op)p[0], nw_le64(p + 1) };
		break;
	case NW_TRACE_FENCE:
		if (p[1] & ~(FENCE_RS1_X0 | FENCE_RS2_X0))
			return "fence flags have undefined bits set";
		rec->fence = (struct nw_rvfence){ (enum nw_rvfence_op)p[0], p[1] & FENCE_RS1_X0, p[1] & FENCE_RS2_X0,
						  nw_le64(p + 2), nw_le64(p + 10) };
		break;
	case NW_TRACE_S2EDIT:
		rec->s2edit = (struct nw_trace_s2edit){ nw_gpa(nw_le64(p)), p[8], nw_le64(p + 9), nw_le64(p + 17) };
		break;
	case NW_TRACE_MARK:
		if (len > NW_TRACE_MAX_LABEL)
			return "label longer than 255 bytes";
		if (memchr(p, 0, len))
			return "label contains a NUL byte";
		memcpy(rec->label, p, len);
		rec->label[len] = 0;
		break;
	case NW_TRACE_EXPECT: {
		const char *problem;

		rec->expect = (struct nw_trace_expect){ 0 };
		problem = decode_expect(p, len, version, &rec->expect);

		if (problem)
			return problem;
		break;
	}
	case NW_TRACE_END:
		if (len)
			return "end record with a payload";
		return 0;
	default:
		return "unknown tag";
	}
	return nw_trace_record_check(rec);
}
