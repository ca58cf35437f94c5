/* The batch decoder (trace.h, "Batches"): accesses and their expectations
 * straight from the source's buffer into compact items, each record's
 * bounds checked once. It takes only records it can see whole and that
 * are valid as they stand; anything else ends the batch untouched, for
 * nw_trace_reader_next() to read or report with its usual message. */
#include "trace/trace_codec.h"
#include "trace/trace_reader.h"

#define OUTCOME_ONLY (1u << NW_EXPECT_OUTCOME)
#define ACCESS_RECORD (NW_TRACE_RECORD_HEAD_LEN + NW_TRACE_ACCESS_LEN)
#define BATCH_MIN_BYTES 1024 /* refill below this, so a batch is not cut short by the buffer's end */

/* The first bytes of the common records, as one little-endian word: an
 * access record's tag and length (5 bytes); an outcome-only expectation's
 * tag, length and field mask: before version 3 length 3 and a 2-byte mask (7
 * bytes; its outcome is the 8th), from version 3 length 5 and a 4-byte mask
 * (the word, then the mask's last byte, 0, and the outcome). */
#define ACCESS_HEAD (NW_TRACE_ACCESS | (uint64_t)NW_TRACE_ACCESS_LEN << 8)
#define ACCESS_HEAD_MASK UINT64_C(0xffffffffff)
#define OUTCOME_HEAD_V2 (NW_TRACE_EXPECT | UINT64_C(3) << 8 | (uint64_t)OUTCOME_ONLY << 40)
#define OUTCOME_HEAD_V2_MASK UINT64_C(0xffffffffffffff)
#define OUTCOME_HEAD_V3 (NW_TRACE_EXPECT | UINT64_C(5) << 8 | (uint64_t)OUTCOME_ONLY << 40)
#define OUTCOME_RECORD_MAX 10 /* an outcome-only expectation: 8 bytes before version 3, 10 from it */

/* The outcome of an outcome-only expectation record at next (OUTCOME_RECORD_MAX bytes in view), or -1 for any
 * other record; *len its length. */
static int outcome_only(const uint8_t *next, unsigned version, size_t *len)
{
	uint64_t head = nw_le64(next);

	if (version < 3) {
		*len = 8;
		return (head & OUTCOME_HEAD_V2_MASK) == OUTCOME_HEAD_V2 ? (int)(head >> 56) : -1;
	}
	*len = 10;
	return head == OUTCOME_HEAD_V3 && next[8] == 0 ? next[9] : -1;
}

/* An access record's fields after its gva, as one little-endian word: size
 * (bits 15:0), type (23:16), CPL (31:24), flags (39:32), then the next
 * record's first bytes. */
#define META_SIZE(meta) ((uint16_t)(meta))
#define META_TYPE(meta) ((uint8_t)((meta) >> 16))
#define META_X86_REJECT UINT64_C(0xfcfc000000)     /* CPL above 3, or a flag other than implicit and ac */
#define META_AARCH64_REJECT UINT64_C(0xfbfe000000) /* EL above 1, or a flag other than unpriv */
#define META_RISCV64_REJECT UINT64_C(0xfffe000000) /* priv above 1 (VS), or any flag */

uint64_t nw_trace_batch_access_reject(enum nw_trace_arch arch)
{
	static const uint64_t reject[NW_TRACE_ARCH_COUNT] = { META_X86_REJECT, META_AARCH64_REJECT,
							      META_RISCV64_REJECT };

	return reject[arch];
}

/* An access record that decodes without a problem, as trace_binary.c, nw_trace_record_check() and
 * nw_trace_arch_check() would find it: its fixed length, size 1..4096, a defined type, and a level and flags
 * the trace's architecture allows (none of the reject bits). */
static bool is_plain_access(const uint8_t *rec, uint64_t meta, uint64_t reject)
{
	return (nw_le64(rec) & ACCESS_HEAD_MASK) == ACCESS_HEAD &&
	       (uint16_t)(META_SIZE(meta) - 1) < NW_TRACE_MAX_ACCESS && META_TYPE(meta) <= NW_ACCESS_FETCH &&
	       !(meta & reject);
}

/* Any other expectation: decoded and checked in full (its architecture's too) into expects[i], or 0
 * when it is not whole in the buffer or not valid. Its record length otherwise. */
static size_t take_full_expect(const uint8_t *rec, size_t avail, const struct nw_trace_reader *r,
			       struct nw_trace_batch *b, size_t i)
{
	struct nw_trace_record full;
	uint32_t len = nw_le32(rec + 1);

	if (len > NW_TRACE_MAX_PAYLOAD || len > avail - NW_TRACE_RECORD_HEAD_LEN)
		return 0;
	if (nw_trace_binary_decode(NW_TRACE_EXPECT, rec + NW_TRACE_RECORD_HEAD_LEN, len, r->version, &full) ||
	    nw_trace_arch_check(r->arch, &full) || nw_trace_version_check(r->version, &full))
		return 0;
	b->expects[i] = full.expect;
	b->items[i].present = full.expect.present;
	b->items[i].outcome = NW_EXPECT_HAS(&full.expect, NW_EXPECT_OUTCOME) ? (uint8_t)full.expect.outcome : 0;
	return NW_TRACE_RECORD_HEAD_LEN + len;
}

size_t nw_trace_reader_batch(struct nw_trace_reader *r, struct nw_trace_batch *b)
{
	const uint8_t *start, *p, *end;
	size_t n = 0, expectations = 0, avail;
	uint64_t reject = r->access_reject;
	/* The outcome-only expectations the trace's architecture may name, a bit each (nw_trace_arch_check). */
	static const uint32_t arch_outcomes[NW_TRACE_ARCH_COUNT] = { NW_TRACE_X86_OUTCOMES, NW_TRACE_AARCH64_OUTCOMES,
								     NW_TRACE_RISCV64_OUTCOMES };
	uint32_t outcomes = arch_outcomes[r->arch];

	b->count = 0;
	if (r->failed || r->done || r->form != NW_TRACE_FORM_BINARY)
		return 0;
	avail = nw_trace_src_fill(&r->src, BATCH_MIN_BYTES); /* may slide the buffer: pointers after it */
	if (r->src.err[0])
		return 0;
	start = p = r->src.buf + r->src.pos;
	end = start + avail;
	/* Each access needs its record and the next record's head in view: the
	 * head says whether an expectation belongs to it. */
	while (n < NW_TRACE_BATCH && (size_t)(end - p) >= ACCESS_RECORD + OUTCOME_RECORD_MAX) {
		const uint8_t *next = p + ACCESS_RECORD;
		uint64_t meta = nw_le64(p + NW_TRACE_RECORD_HEAD_LEN + 8);
		struct nw_trace_item *item = &b->items[n];
		size_t outcome_len;
		int outcome;

		if (!is_plain_access(p, meta, reject))
			break;
		item->gva = nw_gva(nw_le64(p + NW_TRACE_RECORD_HEAD_LEN));
		item->size = META_SIZE(meta);
		item->type = META_TYPE(meta);
		/* CPL (or EL) from bits 25:24, the flags from bits 34:32 to the item's bits 4:2 */
		item->mode = (uint8_t)((meta >> 24 & NW_TRACE_ITEM_CPL) |
				       (meta >> 30 &
					(NW_TRACE_ITEM_IMPLICIT | NW_TRACE_ITEM_AC | NW_TRACE_ITEM_UNPRIV)));
		outcome = outcome_only(next, r->version, &outcome_len);
		if (outcome >= 0 && outcome < NW_TRACE_OUT_COUNT && (outcomes >> outcome & 1)) {
			item->present = OUTCOME_ONLY;
			item->outcome = (uint8_t)outcome;
			next += outcome_len;
			expectations++;
		} else if (next[0] != NW_TRACE_EXPECT) {
			item->present = 0;
			item->outcome = 0;
		} else {
			size_t len = take_full_expect(next, (size_t)(end - next), r, b, n);

			if (!len)
				break; /* the reader proper reads this access, then reports or waits for its expectation */
			next += len;
			expectations++;
		}
		n++;
		p = next;
	}
	r->records += n + expectations;
	r->src.pos += (size_t)(p - start);
	r->src.offset += (uint64_t)(p - start);
	if (n)
		r->prev = b->items[n - 1].present == 0 ? NW_TRACE_ACCESS : NW_TRACE_EXPECT;
	b->count = n;
	return n;
}

struct nw_trace_access nw_trace_item_access(const struct nw_trace_item *item)
{
	return (struct nw_trace_access){ .gva = item->gva,
					 .size = item->size,
					 .type = (enum nw_access_type)item->type,
					 .cpl = item->mode & NW_TRACE_ITEM_CPL,
					 .implicit = item->mode & NW_TRACE_ITEM_IMPLICIT,
					 .ac = item->mode & NW_TRACE_ITEM_AC,
					 .unpriv = item->mode & NW_TRACE_ITEM_UNPRIV };
}

struct nw_trace_item nw_trace_item_from_access(const struct nw_trace_access *a)
{
	return (struct nw_trace_item){ .gva = a->gva,
				       .size = (uint16_t)a->size,
				       .type = (uint8_t)a->type,
				       .mode = (uint8_t)(a->cpl | (a->implicit ? NW_TRACE_ITEM_IMPLICIT : 0) |
							 (a->ac ? NW_TRACE_ITEM_AC : 0) |
							 (a->unpriv ? NW_TRACE_ITEM_UNPRIV : 0)) };
}

bool nw_trace_item_expect(const struct nw_trace_item *item, const struct nw_trace_expect *full,
			  struct nw_trace_expect *out)
{
	if (nw_trace_item_has_full_expect(item))
		*out = *full;
	else
		*out = (struct nw_trace_expect){ .present = item->present, .outcome = (enum nw_trace_outcome)item->outcome };
	return item->present != 0;
}
