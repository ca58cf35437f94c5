/* One record to and from its binary and text encodings (traces/FORMAT.md).
 * The reader and writer stream these; the codecs themselves keep no state. */
#ifndef NESTWALK_SIM_TRACE_CODEC_H
#define NESTWALK_SIM_TRACE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trace/trace.h"

#define NW_TRACE_HEADER_LEN 12     /* magic, version (u16), flags (u16) */
#define NW_TRACE_RECORD_HEAD_LEN 5 /* tag (u8), payload length (u32) */
#define NW_TRACE_RECORD_MAX (NW_TRACE_RECORD_HEAD_LEN + NW_TRACE_MAX_PAYLOAD)
#define NW_TRACE_ACCESS_LEN 13     /* gva u64, size u16, type u8, cpl u8, flags u8 */
#define NW_TRACE_ACCESS_IMPLICIT 0x01 /* access flags byte */
#define NW_TRACE_ACCESS_AC 0x02
#define NW_TRACE_ACCESS_UNPRIV 0x04 /* aarch64 */
#define NW_TRACE_ACCESS_FLAGS (NW_TRACE_ACCESS_IMPLICIT | NW_TRACE_ACCESS_AC | NW_TRACE_ACCESS_UNPRIV)
/* The longest text line a record formats to, newline and NUL included. */
#define NW_TRACE_TEXT_MAX (64 + 2 * NW_TRACE_MAX_DATA)

static inline uint64_t nw_le_get(const uint8_t *p, unsigned bytes)
{
	uint64_t val = 0;

	for (unsigned i = 0; i < bytes; i++)
		val |= (uint64_t)p[i] << (8 * i);
	return val;
}

static inline void nw_le_put(uint8_t *p, uint64_t val, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

/* Little-endian loads of a whole field at once (decoding is on replay's hot path). */
static inline uint64_t nw_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t nw_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint16_t nw_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The binary form's header for a trace of arch in version. */
void nw_trace_binary_header(uint8_t out[NW_TRACE_HEADER_LEN], unsigned version, enum nw_trace_arch arch);
/* Bytes of an expectation's field mask in version: 2, or 4 from version 3. */
static inline unsigned nw_trace_expect_mask_bytes(unsigned version)
{
	return version >= 3 ? 4 : 2;
}
/* Tag, length and payload of a checked record of a trace of version into out (NW_TRACE_RECORD_MAX bytes); returns
 * the length. */
size_t nw_trace_binary_encode(const struct nw_trace_record *rec, unsigned version, uint8_t *out);
/* Decodes a known tag's payload in a trace of version; NULL or the problem. gpwrite data points into payload. */
const char *nw_trace_binary_decode(uint8_t tag, const uint8_t *payload, uint32_t len, unsigned version,
				   struct nw_trace_record *rec);
/* Whether a non-optional tag is one this version defines. */
int nw_trace_binary_is_known(uint8_t tag);

/* One line for a checked record of a trace of arch, '\n'-terminated, into out (NW_TRACE_TEXT_MAX bytes); returns
 * its length. */
size_t nw_trace_text_format(const struct nw_trace_record *rec, enum nw_trace_arch arch, char *out);
/* Parses one line (no newline, NUL-terminated, may be modified): 1 with the
 * record in *rec (gpwrite bytes in data, NW_TRACE_MAX_DATA bytes; an "end" line
 * gives NW_TRACE_END), 0 for a blank or comment line, -1 with the problem and
 * its 1-based *column. An access takes the fields of arch's accesses. */
int nw_trace_text_parse(char *line, enum nw_trace_arch arch, struct nw_trace_record *rec, uint8_t *data, size_t *column,
			char *problem, size_t problem_len);

#endif
