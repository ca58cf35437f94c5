#define _POSIX_C_SOURCE 200809L
/* Trace codecs: every record kind through both forms and zstd, byte layouts
 * derived by hand from traces/FORMAT.md, and the writer's refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "trace/trace.h"
#include "trace/trace_codec.h"

TestSuite(trace_codec, .init = fixture_setup, .fini = fixture_teardown);

static const uint8_t gp_bytes[] = { 0x07, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 };

/* One record of every kind and every register, outcome and expectation field. */
static size_t sample(struct nw_trace_record *r)
{
	size_t n = 0;

	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_MARK, .label = "boot: 4-level ~ EPT" };
	for (unsigned reg = 0; reg < NW_TRACE_FIRST_ARM64_REG; reg++)
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_REG,
						   .reg = { (enum nw_trace_reg)reg, reg >= NW_TRACE_PKRU ?
							    0x55555554u : UINT64_C(0x8000000000001000) + reg } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
					   .access = { nw_gva(0x401000), 4, NW_ACCESS_FETCH, 3, false, false } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT, .expect = {
		.present = NW_EXPECT_V2_FIELDS & ~NW_EXPECT_ARM64_FIELDS, .outcome = NW_TRACE_OUT_OK,
		.gpa = nw_gpa(0x201000),
		.hpa = nw_hpa(0x80201000), .error_code = 0x1d, .exit_qualification = 0x181,
		.fault_gpa = nw_gpa(0xfee00000), .refs = 24, .guest_page_size = NW_SIZE_4M,
		.s2_page_size = NW_SIZE_1G, .misconfig_level = 5, .gla_valid = 1 } };
	for (unsigned o = 0; o < NW_TRACE_OUT_STAGE1_ABORT; o++) {
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
						   .access = { nw_gva(UINT64_MAX - o), 4096, NW_ACCESS_WRITE, 0,
							       o & 1, o & 2 } };
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT,
						   .expect = { .present = 1u << NW_EXPECT_OUTCOME |
									 1u << NW_EXPECT_REFS,
							       .outcome = (enum nw_trace_outcome)o, .refs = o } };
	}
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
					   .access = { nw_gva(0), 1, NW_ACCESS_READ, 1, true, true } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_GPWRITE,
					   .gpwrite = { nw_gpa(0x3000), sizeof(gp_bytes), gp_bytes } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(0xffffffff81000000) } };
	for (uint8_t t = 0; t < 4; t++) {
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_INVPCID,
						   .inv = { .type = t, .id = 0xfff, .gva = nw_gva(0x7000 + t) } };
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_INVVPID,
						   .inv = { .type = t, .id = 0xffff, .gva = nw_gva(0x8000 + t) } };
	}
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_INVEPT, .inv = { .type = 1, .eptp = 0x1234505e } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_INVEPT, .inv = { .type = 2 } };
	return n;
}

/* One record of every kind an aarch64 trace holds: every AArch64 register, accesses at EL0 and EL1 with and
 * without unpriv, every TLBI with an operand where it takes one. */
static size_t sample_arm64(struct nw_trace_record *r)
{
	size_t n = 0;

	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_MARK, .label = "el1 boot" };
	for (unsigned reg = NW_TRACE_FIRST_ARM64_REG; reg < NW_TRACE_PSTATE; reg++)
		r[n++] = (struct nw_trace_record){
			.kind = NW_TRACE_REG, .reg = { (enum nw_trace_reg)reg, UINT64_C(0x8000000000001000) + reg } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_REG,
					   .reg = { NW_TRACE_PSTATE, NW_TRACE_PSTATE_BITS & ~(UINT64_C(2) << 2) } };
	for (unsigned i = 0; i < 4; i++) {
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
						   .access = { .gva = nw_gva(0xffff000000401000 + i), .size = 8,
							       .type = NW_ACCESS_WRITE, .cpl = i & 1,
							       .unpriv = i >> 1 } };
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT, .expect = {
			.present = 1u << NW_EXPECT_OUTCOME | 1u << NW_EXPECT_GPA | 1u << NW_EXPECT_REFS,
			.outcome = NW_TRACE_OUT_OK, .gpa = nw_gpa(0x40001000 + i), .refs = 24 } };
	}
	/* Each abort with its syndrome and fault address registers. */
	for (unsigned o = NW_TRACE_OUT_STAGE1_ABORT; o <= NW_TRACE_OUT_STAGE2_ABORT; o++) {
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
						   .access = { .gva = nw_gva(0x40200000), .size = 8,
							       .type = NW_ACCESS_READ, .cpl = 1 } };
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT, .expect = {
			.present = 1u << NW_EXPECT_OUTCOME | NW_EXPECT_ARM64_FIELDS,
			.outcome = (enum nw_trace_outcome)o,
			.esr = 0x9200000b + o, .far = 0x40200000, .hpfar = 0x402000 } };
	}
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_GPWRITE,
					   .gpwrite = { nw_gpa(0x40003000), sizeof(gp_bytes), gp_bytes } };
	for (unsigned op = 0; op < NW_TLBI_OP_COUNT; op++) {
		bool xt = nw_tlbi_has_operand((enum nw_tlbi_op)op);

		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_TLBI,
						   .tlbi = { (enum nw_tlbi_op)op, xt ? 0x0005000000000400 + op : 0 } };
	}
	return n;
}

static char *temp_path(void)
{
	static char paths[4][64];
	static unsigned next;
	char *path = paths[next++ % 4];
	int fd;

	strcpy(path, "/tmp/nw_trace_XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	return path;
}

static void write_arch(const char *path, enum nw_trace_arch arch, enum nw_trace_form form, bool zstd,
		       const struct nw_trace_record *r, size_t n)
{
	char err[256];
	struct nw_trace_writer *w = nw_trace_writer_open(path, NULL, form, zstd, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(nw_trace_writer_set_arch(w, arch), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(nw_trace_writer_put(w, &r[i]), 0, "record %zu: %s", i, nw_trace_writer_error(w));
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
}

static void write_all(const char *path, enum nw_trace_form form, bool zstd, const struct nw_trace_record *r, size_t n)
{
	write_arch(path, NW_TRACE_ARCH_X86_64, form, zstd, r, n);
}

static void read_arch(const char *path, enum nw_trace_arch arch, enum nw_trace_form form, bool zstd,
		      const struct nw_trace_record *r, size_t n)
{
	char err[256];
	struct nw_trace_reader *rd = nw_trace_reader_open(path, err, sizeof(err));
	struct nw_trace_record got;

	cr_assert_not_null(rd, "%s", err);
	cr_assert_eq(nw_trace_reader_arch(rd), arch);
	cr_assert_eq(nw_trace_reader_form(rd), form);
	cr_assert_eq(nw_trace_reader_is_compressed(rd), zstd);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(nw_trace_reader_next(rd, &got), 1, "record %zu: %s", i, nw_trace_reader_error(rd));
		cr_assert(nw_trace_record_same(&r[i], &got), "record %zu (%s) differs", i, nw_trace_kind_name(r[i].kind));
	}
	cr_assert_eq(nw_trace_reader_next(rd, &got), 0, "%s", nw_trace_reader_error(rd));
	cr_assert_eq(nw_trace_reader_next(rd, &got), 0, "stays at the end");
	cr_assert_eq(nw_trace_reader_records(rd), n);
	nw_trace_reader_close(rd);
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Written and read back in binary and text, each plain and zstd: the same records. */
static void check_four_encodings(enum nw_trace_arch arch, const struct nw_trace_record *r, size_t n)
{
	for (int form = 0; form < 2; form++) {
		for (int zstd = 0; zstd < 2; zstd++) {
			char *path = temp_path();

			write_arch(path, arch, (enum nw_trace_form)form, zstd, r, n);
			read_arch(path, arch, (enum nw_trace_form)form, zstd, r, n);
			unlink(path);
		}
	}
}

Test(trace_codec, every_record_kind_round_trips_in_all_four_encodings)
{
	struct nw_trace_record r[64];

	check_four_encodings(NW_TRACE_ARCH_X86_64, r, sample(r));
}

Test(trace_codec, every_aarch64_record_round_trips_in_all_four_encodings)
{
	struct nw_trace_record r[64];

	check_four_encodings(NW_TRACE_ARCH_AARCH64, r, sample_arm64(r));
}

/* The header and one access, laid out by hand from FORMAT.md. */
Test(trace_codec, binary_bytes_match_the_format)
{
	static const uint8_t expected[] = {
		0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 0x01, 0x00, 0x00, 0x00,       /* magic, v1, flags 0 */
		0x01, 13, 0, 0, 0,                                                  /* access, 13 bytes */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* gva */
		0x08, 0x00, 0x01, 0x03, 0x02,                   /* size 8, write, cpl 3, ac */
		0x09, 7, 0, 0, 0, 0x41, 0x00, 0x01, 0x18, 0x00, 0x00, 0x00,          /* expect outcome+refs */
		0x7f, 0, 0, 0, 0,                                                   /* end */
	};
	struct nw_trace_record r[2] = {
		{ .kind = NW_TRACE_ACCESS,
		  .access = { nw_gva(0x1122334455667788), 8, NW_ACCESS_WRITE, 3, false, true } },
		{ .kind = NW_TRACE_EXPECT,
		  .expect = { .present = 0x41, .outcome = NW_TRACE_OUT_PAGE_FAULT, .refs = 24 } },
	};
	uint8_t buf[256];
	char *path = temp_path();

	write_all(path, NW_TRACE_FORM_BINARY, false, r, 2);
	cr_assert_eq(slurp(path, buf, sizeof(buf)), sizeof(expected));
	cr_assert_arr_eq(buf, expected, sizeof(expected));
	unlink(path);
}

Test(trace_codec, text_lines_match_the_format)
{
	static const char expected[] = "nestwalk-trace 1\n"
				       "access gva=0xffff800000001000 size=0x8 type=write cpl=0x0 implicit ac\n"
				       "expect outcome=page_fault error_code=0x3 refs=0x4\n"
				       "gpwrite gpa=0x3000 bytes=0710000000000080\n"
				       "invpcid type=0x2 pcid=0x0 gva=0x0\n"
				       "invept type=0x1 eptp=0x5e\n"
				       "reg cr3=0x8000000000002001\n"
				       "mark label=\"phase 2\"\n"
				       "end\n";
	struct nw_trace_record r[] = {
		{ .kind = NW_TRACE_ACCESS,
		  .access = { nw_gva(0xffff800000001000), 8, NW_ACCESS_WRITE, 0, true, true } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 0x49, .outcome = NW_TRACE_OUT_PAGE_FAULT,
						       .error_code = 3, .refs = 4 } },
		{ .kind = NW_TRACE_GPWRITE, .gpwrite = { nw_gpa(0x3000), sizeof(gp_bytes), gp_bytes } },
		{ .kind = NW_TRACE_INVPCID, .inv = { .type = 2 } },
		{ .kind = NW_TRACE_INVEPT, .inv = { .type = 1, .eptp = 0x5e } },
		{ .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR3, 0x8000000000002001 } },
		{ .kind = NW_TRACE_MARK, .label = "phase 2" },
	};
	char buf[1024] = { 0 };
	char *path = temp_path();

	write_all(path, NW_TRACE_FORM_TEXT, false, r, sizeof(r) / sizeof(r[0]));
	slurp(path, (uint8_t *)buf, sizeof(buf) - 1);
	cr_assert_str_eq(buf, expected);
	unlink(path);
}

/* Converting record by record, as `trace convert` does. */
static void convert(const char *in, const char *out, enum nw_trace_form to)
{
	char err[256];
	struct nw_trace_reader *rd = nw_trace_reader_open(in, err, sizeof(err));
	struct nw_trace_writer *w = nw_trace_writer_open(out, NULL, to, false, err, sizeof(err));
	struct nw_trace_record rec;
	int rc;

	cr_assert(rd && w);
	cr_assert_eq(nw_trace_writer_set_arch(w, nw_trace_reader_arch(rd)), 0);
	cr_assert_eq(nw_trace_writer_set_version(w, nw_trace_reader_version(rd)), 0);
	while ((rc = nw_trace_reader_next(rd, &rec)) > 0)
		cr_assert_eq(nw_trace_writer_put(w, &rec), 0);
	cr_assert_eq(rc, 0, "%s", nw_trace_reader_error(rd));
	nw_trace_reader_close(rd);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0);
}

static void check_binary_text_binary(enum nw_trace_arch arch, const struct nw_trace_record *r, size_t n)
{
	static uint8_t a[8192], b[8192];
	size_t na, nb;
	char *bin = temp_path(), *text = temp_path(), *again = temp_path(), *text2 = temp_path();

	write_arch(bin, arch, NW_TRACE_FORM_BINARY, false, r, n);
	convert(bin, text, NW_TRACE_FORM_TEXT);
	convert(text, again, NW_TRACE_FORM_BINARY);
	na = slurp(bin, a, sizeof(a));
	nb = slurp(again, b, sizeof(b));
	cr_assert_eq(na, nb);
	cr_assert_arr_eq(a, b, na);
	convert(again, text2, NW_TRACE_FORM_TEXT);
	na = slurp(text, a, sizeof(a));
	nb = slurp(text2, b, sizeof(b));
	cr_assert_eq(na, nb);
	cr_assert_arr_eq(a, b, na);
	unlink(bin);
	unlink(text);
	unlink(again);
	unlink(text2);
}

Test(trace_codec, binary_text_binary_is_byte_identical)
{
	struct nw_trace_record r[64];

	check_binary_text_binary(NW_TRACE_ARCH_X86_64, r, sample(r));
	check_binary_text_binary(NW_TRACE_ARCH_AARCH64, r, sample_arm64(r));
}

Test(trace_codec, writer_refuses_invalid_records)
{
	static const struct { struct nw_trace_record rec; const char *why; } bad[] = {
		{ { .kind = NW_TRACE_ACCESS, .access = { .size = 0 } }, "access size" },
		{ { .kind = NW_TRACE_ACCESS, .access = { .size = 4097 } }, "access size" },
		{ { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .cpl = 4 } }, "cpl" },
		{ { .kind = NW_TRACE_REG, .reg = { NW_TRACE_PKRU, UINT64_C(1) << 32 } }, "32 bits" },
		{ { .kind = NW_TRACE_INVPCID, .inv = { .type = 4 } }, "type" },
		{ { .kind = NW_TRACE_INVPCID, .inv = { .id = 0x1000 } }, "12 bits" },
		{ { .kind = NW_TRACE_INVEPT, .inv = { .type = 0 } }, "invept type" },
		{ { .kind = NW_TRACE_MARK, .label = "" }, "empty label" },
		{ { .kind = NW_TRACE_MARK, .label = "say \"hi\"" }, "quote" },
		{ { .kind = NW_TRACE_EXPECT, .expect = { .present = 1 } }, "must follow an access" },
		{ { .kind = NW_TRACE_END }, "close" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256], *path = temp_path();
		struct nw_trace_writer *w = nw_trace_writer_open(path, NULL, NW_TRACE_FORM_BINARY, false, err, sizeof(err));

		cr_assert_eq(nw_trace_writer_put(w, &bad[i].rec), -1, "case %zu", i);
		cr_assert(strstr(nw_trace_writer_error(w), bad[i].why), "case %zu: %s", i, nw_trace_writer_error(w));
		cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), -1);
		unlink(path);
	}
}

Test(trace_codec, expectation_needs_a_known_page_size_and_outcome)
{
	struct nw_trace_record r = { .kind = NW_TRACE_EXPECT,
				     .expect = { .present = 1u << NW_EXPECT_GUEST_PAGE_SIZE,
						 .guest_page_size = 8192 } };

	cr_assert_not_null(nw_trace_record_check(&r));
	r.expect.guest_page_size = NW_SIZE_2M;
	cr_assert_null(nw_trace_record_check(&r));
	r.expect = (struct nw_trace_expect){ .present = 1, .outcome = NW_TRACE_OUT_COUNT };
	cr_assert_not_null(nw_trace_record_check(&r));
	r.expect.present = 1u << NW_EXPECT_FIELD_COUNT;
	cr_assert_not_null(nw_trace_record_check(&r));
}

/* The binary header of a version-1 (x86_64) and of an aarch64 trace. */
#define HEAD_V1 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0
#define HEAD_A64 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 2, 0, 1, 0

/* Hand-made corrupt binaries: each error names its byte offset. */
Test(trace_codec, corrupt_binary_traces_name_the_offset)
{
	static const struct { uint8_t bytes[32]; size_t len; const char *msg; } cases[] = {
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 4, 0, 0, 0, 0x7f, 0, 0, 0, 0 }, 17,
		  "byte offset 8: unsupported version 4" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 0, 0, 0, 0, 0x7f, 0, 0, 0, 0 }, 17,
		  "byte offset 8: unsupported version 0" },
		/* Version 2's header word at 10 is the architecture: 0 x86_64, 1 aarch64, 2 riscv64, nothing else. */
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 2, 0, 3, 0, 0x7f, 0, 0, 0, 0 }, 17,
		  "byte offset 10: unknown architecture 3" },
		/* A tlbi (tag 0x0a, op 2 vae1, Xt 0x400) in a version-1 trace, which is x86_64. */
		{ { HEAD_V1, 0x0a, 9, 0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0 }, 26,
		  "byte offset 12: bad tlbi record: a tlbi in an x86_64 trace" },
		/* An invlpg in an aarch64 trace. */
		{ { HEAD_A64, 0x04, 8, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0 }, 25,
		  "byte offset 12: bad invlpg record: an x86 invalidation in an aarch64 trace" },
		/* A tlbi with op 20, past alle1is. */
		{ { HEAD_A64, 0x0a, 9, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0 }, 26,
		  "byte offset 12: bad tlbi record: unknown tlbi operation" },
		/* vmalle1 (op 0) has no register: Xt must be 0. */
		{ { HEAD_A64, 0x0a, 9, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 }, 26,
		  "byte offset 12: bad tlbi record: this tlbi takes no register" },
		/* A tlbi of 8 bytes: its payload is op u8 and Xt u64, 9. */
		{ { HEAD_A64, 0x0a, 8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 }, 25,
		  "byte offset 12: bad tlbi record: payload length wrong" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x04, 8, 0, 0, 0, 1, 2 }, 19,
		  "byte offset 12: truncated record (2 of 8 payload bytes)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x04, 7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7 }, 24,
		  "byte offset 12: bad invlpg record: payload length wrong" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x90, 1, 0, 0, 0, 9, 0x33, 0, 0, 0, 0 }, 23,
		  "byte offset 18: unknown tag 0x33" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x03, 0xff, 0xff, 0, 0 }, 17,
		  "byte offset 12: absurd record length 65535" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0 }, 18,
		  "byte offset 17: trailing garbage" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0 }, 12,
		  "byte offset 12: trace ends without an end record" },
		{ { 0x89, 'N', 'W', 'X' }, 4, "byte offset 0: bad magic" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = { 0 }, *path = temp_path();
		FILE *f = fopen(path, "wb");
		struct nw_trace_reader *rd;
		struct nw_trace_record rec;

		fwrite(cases[i].bytes, 1, cases[i].len, f);
		fclose(f);
		rd = nw_trace_reader_open(path, err, sizeof(err));
		if (rd) {
			while (nw_trace_reader_next(rd, &rec) > 0)
				;
			snprintf(err, sizeof(err), "%s", nw_trace_reader_error(rd));
			nw_trace_reader_close(rd);
		}
		cr_assert(strstr(err, cases[i].msg), "case %zu: got '%s'", i, err);
		unlink(path);
	}
}

/* Record i of a long trace, from i alone: records straddle every I/O buffer boundary. */
static void long_record(unsigned i, struct nw_trace_record *r, uint8_t *data)
{
	if (i % 100 == 99) {
		for (unsigned k = 0; k < NW_TRACE_MAX_DATA; k++)
			data[k] = (uint8_t)(i + k);
		*r = (struct nw_trace_record){ .kind = NW_TRACE_GPWRITE,
					       .gpwrite = { nw_gpa(i * UINT64_C(0x1000)), NW_TRACE_MAX_DATA, data } };
	} else if (i % 1000 == 500) {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_MARK };
		snprintf(r->label, sizeof(r->label), "mark %u", i);
	} else {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
					       .access = { nw_gva(i * UINT64_C(0x1001)), 1 + i % NW_TRACE_MAX_ACCESS,
							   (enum nw_access_type)(i % 3), (uint8_t)(i % 4), i % 5 == 0,
							   i % 7 == 0 } };
	}
}

Test(trace_codec, long_trace_streams_across_buffer_boundaries)
{
	static uint8_t data[NW_TRACE_MAX_DATA];
	const unsigned count = 30000;

	for (int form = 0; form < 2; form++) {
		for (int zstd = 0; zstd < 2; zstd++) {
			char err[256], *path = temp_path();
			struct nw_trace_writer *w = nw_trace_writer_open(path, NULL, (enum nw_trace_form)form, zstd, err,
									 sizeof(err));
			struct nw_trace_reader *rd;
			struct nw_trace_record want, got;

			cr_assert_not_null(w, "%s", err);
			for (unsigned i = 0; i < count; i++) {
				long_record(i, &want, data);
				cr_assert_eq(nw_trace_writer_put(w, &want), 0);
			}
			cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
			rd = nw_trace_reader_open(path, err, sizeof(err));
			cr_assert_not_null(rd, "%s", err);
			for (unsigned i = 0; i < count; i++) {
				cr_assert_eq(nw_trace_reader_next(rd, &got), 1, "form %d zstd %d record %u: %s", form,
					     zstd, i, nw_trace_reader_error(rd));
				long_record(i, &want, data);
				cr_assert(nw_trace_record_same(&want, &got), "form %d zstd %d record %u differs", form, zstd, i);
			}
			cr_assert_eq(nw_trace_reader_next(rd, &got), 0, "%s", nw_trace_reader_error(rd));
			nw_trace_reader_close(rd);
			unlink(path);
		}
	}
}

/* The batch decoder (trace.h, "Batches"): runs of accesses with their
 * expectations as items; every other record, and the text form, left to
 * nw_trace_reader_next(), which counts everything as before. */
Test(trace_codec, batch_takes_runs_of_accesses_and_their_expectations)
{
	const struct nw_trace_record recs[] = {
		{ .kind = NW_TRACE_MARK, .label = "start" },
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x401ff8), 8, NW_ACCESS_READ, 3, false, false } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_OK } },
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x1000), 1, NW_ACCESS_WRITE, 0, true, true } },
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x2000), 4096, NW_ACCESS_FETCH, 3, false, false } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 0x9, .outcome = NW_TRACE_OUT_PAGE_FAULT,
						       .error_code = 0x15 } },
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x3000), 2, NW_ACCESS_READ, 1, false, false } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 0x2, .gpa = nw_gpa(0x5000) } },
		{ .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR3, 0x1000 } },
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x4000), 4, NW_ACCESS_READ, 3, false, false } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_MMIO } },
	};
	static struct nw_trace_batch b;

	for (int zstd = 0; zstd < 2; zstd++) {
		char err[256], *path = temp_path();
		struct nw_trace_reader *rd;
		struct nw_trace_record rec;

		write_all(path, NW_TRACE_FORM_BINARY, zstd, recs, sizeof(recs) / sizeof(recs[0]));
		rd = nw_trace_reader_open(path, err, sizeof(err));
		cr_assert_not_null(rd, "%s", err);
		cr_assert_eq(nw_trace_reader_batch(rd, &b), 0, "a mark comes first");
		cr_assert_eq(nw_trace_reader_next(rd, &rec), 1);
		cr_assert_eq(rec.kind, NW_TRACE_MARK);
		cr_assert_eq(nw_trace_reader_batch(rd, &b), 4);
		cr_assert_eq(b.count, 4);
		cr_assert_eq(b.items[0].gva.val, 0x401ff8);
		cr_assert_eq(b.items[0].size, 8);
		cr_assert_eq(b.items[0].mode, 3);
		cr_assert_eq(b.items[0].present, 1);
		cr_assert_eq(b.items[0].outcome, NW_TRACE_OUT_OK);
		cr_assert_eq(b.items[1].type, NW_ACCESS_WRITE);
		cr_assert_eq(b.items[1].mode, NW_TRACE_ITEM_IMPLICIT | NW_TRACE_ITEM_AC, "CPL 0, implicit, AC");
		cr_assert_eq(b.items[1].present, 0, "no expectation follows");
		cr_assert_eq(b.items[2].size, 4096);
		cr_assert_eq(b.items[2].present, 0x9);
		cr_assert_eq(b.items[2].outcome, NW_TRACE_OUT_PAGE_FAULT);
		cr_assert(nw_trace_item_has_full_expect(&b.items[2]));
		cr_assert_eq(b.expects[2].error_code, 0x15);
		cr_assert_eq(b.items[3].mode, 1);
		cr_assert_eq(b.items[3].present, 0x2);
		cr_assert_eq(b.items[3].outcome, 0, "no outcome field");
		cr_assert_eq(b.expects[3].gpa.val, 0x5000);
		/* Mark + 4 accesses + 3 expectations. */
		cr_assert_eq(nw_trace_reader_records(rd), 8);
		cr_assert_eq(nw_trace_reader_batch(rd, &b), 0, "a register write comes next");
		cr_assert_eq(nw_trace_reader_next(rd, &rec), 1);
		cr_assert_eq(rec.kind, NW_TRACE_REG);
		cr_assert_eq(nw_trace_reader_batch(rd, &b), 1);
		cr_assert_eq(b.items[0].outcome, NW_TRACE_OUT_MMIO);
		cr_assert_eq(nw_trace_reader_batch(rd, &b), 0, "the end record");
		cr_assert_eq(nw_trace_reader_next(rd, &rec), 0, "%s", nw_trace_reader_error(rd));
		cr_assert_eq(nw_trace_reader_records(rd), 11);
		nw_trace_reader_close(rd);
		unlink(path);
	}
}

Test(trace_codec, batch_leaves_text_traces_to_the_record_reader)
{
	const struct nw_trace_record recs[] = {
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x401000), 4, NW_ACCESS_READ, 3, false, false } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_OK } },
	};
	static struct nw_trace_batch b;
	char err[256], *path = temp_path();
	struct nw_trace_reader *rd;
	struct nw_trace_record rec;

	write_all(path, NW_TRACE_FORM_TEXT, false, recs, 2);
	rd = nw_trace_reader_open(path, err, sizeof(err));
	cr_assert_not_null(rd, "%s", err);
	cr_assert_eq(nw_trace_reader_batch(rd, &b), 0);
	cr_assert_eq(nw_trace_reader_next(rd, &rec), 1);
	cr_assert_eq(rec.kind, NW_TRACE_ACCESS);
	nw_trace_reader_close(rd);
	unlink(path);
}

/* Reads a raw binary trace by batches, falling back to records; returns the items taken and the error. */
static size_t read_batched(const uint8_t *bytes, size_t len, char *err, size_t errlen, uint64_t *skipped)
{
	static struct nw_trace_batch b;
	char *path = temp_path();
	FILE *f = fopen(path, "wb");
	struct nw_trace_reader *rd;
	struct nw_trace_record rec;
	size_t items = 0;
	int got;

	fwrite(bytes, 1, len, f);
	fclose(f);
	rd = nw_trace_reader_open(path, err, errlen);
	cr_assert_not_null(rd, "%s", err);
	for (;;) {
		size_t n = nw_trace_reader_batch(rd, &b);

		items += n;
		if (n)
			continue;
		if ((got = nw_trace_reader_next(rd, &rec)) <= 0)
			break;
	}
	snprintf(err, errlen, "%s", got < 0 ? nw_trace_reader_error(rd) : "");
	*skipped = nw_trace_reader_skipped(rd);
	nw_trace_reader_close(rd);
	unlink(path);
	return items;
}

#define HEADER 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0
/* An access record: tag, length 13, gva 0x1000, size 4, then type, CPL, flags. */
#define ACCESS(type, cpl, flags) 0x01, 13, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 4, 0, type, cpl, flags
#define EXPECT_OUTCOME(outcome) 0x09, 3, 0, 0, 0, 1, 0, outcome
#define END 0x7f, 0, 0, 0, 0

/* A bad record inside a run ends the batch before it; the record reader reports it at its offset as ever. */
Test(trace_codec, batch_leaves_bad_records_to_the_record_reader)
{
	static const struct { uint8_t bytes[96]; size_t len; size_t items; const char *msg; } cases[] = {
		/* 12 + 26: the second access, type 3. */
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(3, 3, 0), END }, 12 + 26 + 18 + 5, 1,
		  "byte offset 38: bad access record: access type is not read, write or fetch" },
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(0, 4, 0), END }, 12 + 26 + 18 + 5, 1,
		  "byte offset 38: bad access record: cpl outside 0..3" },
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(0, 3, 4), END }, 12 + 26 + 18 + 5, 1,
		  "byte offset 38: bad access record: access flags have undefined bits set" },
		/* 12 + 26 + 18: the second expectation names outcome 12 (one past access_fault); its access is read by
		 * the record reader. */
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(0, 3, 0), EXPECT_OUTCOME(12), END },
		  12 + 26 + 26 + 5, 1, "byte offset 56: bad expect record: unknown outcome" },
		/* An expectation after an expectation. */
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), EXPECT_OUTCOME(0), END }, 12 + 26 + 8 + 5, 1,
		  "byte offset 38: bad expect record: an expectation must follow an access" },
		/* Truncated right after an access. */
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(0, 3, 0) }, 12 + 26 + 18, 1,
		  "byte offset 56: trace ends without an end record" },
		/* An optional record between an access and its expectation is skipped; the expectation still belongs. */
		{ { HEADER, ACCESS(1, 0, 3), 0x90, 1, 0, 0, 0, 0xaa, EXPECT_OUTCOME(1), END }, 12 + 18 + 6 + 8 + 5, 1, "" },
		/* Outcome 8, stage1_abort, is an aarch64 trace's: the batch leaves it to the record reader, which
		 * refuses it. */
		{ { HEADER, ACCESS(0, 3, 0), EXPECT_OUTCOME(0), ACCESS(0, 3, 0), EXPECT_OUTCOME(8), END },
		  12 + 26 + 26 + 5, 1,
		  "byte offset 56: bad expect record: an aarch64 or riscv64 outcome in an x86_64 trace" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512];
		uint64_t skipped;
		size_t items = read_batched(cases[i].bytes, cases[i].len, err, sizeof(err), &skipped);

		cr_assert_eq(items, cases[i].items, "case %zu: %zu items", i, items);
		cr_assert(cases[i].msg[0] ? strstr(err, cases[i].msg) != NULL : err[0] == 0, "case %zu: got '%s'", i,
			  err);
		cr_assert_eq(skipped, i == 6, "case %zu", i);
	}
}

/* Differential: random binary traces (valid records, bad fields, misplaced
 * expectations, optional records, truncation) read record by record and by
 * batches give the same records, counts and error message. */
#define DIFF_TRACES 300
#define DIFF_RECORDS 300

static uint64_t diff_rand(uint64_t *state)
{
	*state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return *state >> 16;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One record at p of a trace of arch in version, occasionally with a field out of its domain; returns its
 * length. */
static size_t diff_record(uint64_t *state, uint8_t *p, bool after_access, enum nw_trace_arch arch, unsigned version)
{
	bool arm64 = arch == NW_TRACE_ARCH_AARCH64, rv = arch == NW_TRACE_ARCH_RISCV64, non_x86 = arm64 || rv;
	static const uint64_t sizes[4] = { 0x1000, 0x200000, 0x400000, 0x40000000 };
	uint64_t r = diff_rand(state);
	unsigned pick = (unsigned)(r % 20);
	size_t len;

	if (after_access && pick < 12) { /* an expectation, mostly outcome only */
		uint32_t mask = pick < 9 ? 1 : (uint32_t)(1 + diff_rand(state) % 511);
		unsigned mask_bytes = version >= 3 ? 4 : 2;
		/* aarch64 and riscv64: mostly what their expectations may name (outcome, gpa, hpa, refs, page sizes) */
		bool arm64_fields = non_x86 && diff_rand(state) % 16;

		if (arm64_fields) /* ... and at times esr, far, hpfar (riscv64 from version 3: scause .. htinst) */
			mask = (mask & 0x1c7) | 1 |
			       (uint32_t)(rv && version >= 3 ? (r >> 40 & 15) << NW_EXPECT_SCAUSE
							       : (r >> 40 & 7) << NW_EXPECT_ESR);

		p[0] = NW_TRACE_EXPECT;
		put_le(p + 5, mask, mask_bytes);
		len = mask_bytes;
		for (unsigned f = 0; f < NW_EXPECT_FIELD_COUNT; f++) {
			if (!(mask >> f & 1))
				continue;
			uint64_t value = f >= NW_EXPECT_GUEST_PAGE_SIZE ? sizes[diff_rand(state) % 4] : diff_rand(state);
			unsigned bytes = nw_trace_expect_field_bytes((enum nw_trace_expect_field)f);

			if (f == NW_EXPECT_OUTCOME)
				/* aarch64: ok, mmio, rom_write or an abort (0, 6, 7, 8, 9) */
				value = arm64_fields ? (rv ? (uint64_t[]){ 0, 6, 7, 1, 10, 11 }[value % 6]
							   : (uint64_t[]){ 0, 6, 7, 8, 9 }[value % 5])
						     : value % 8;
			else if (f == NW_EXPECT_REFS)
				value %= 40;
			put_le(p + 5 + len, value, bytes);
			len += bytes;
		}
	} else if (pick < 15 || after_access) {
		p[0] = NW_TRACE_ACCESS;
		put_le(p + 5, diff_rand(state) << 8, 8);
		put_le(p + 13, 1 + diff_rand(state) % 4096, 2);
		p[15] = (uint8_t)(diff_rand(state) % 3);
		/* x86_64: CPL 0..3, implicit and ac; aarch64: EL 0 or 1 and unpriv, at times EL 2 or 3, an x86 flag;
		 * riscv64: VU or VS and no flag, at times priv 2 or 3, a flag */
		p[16] = (uint8_t)(diff_rand(state) % (non_x86 && diff_rand(state) % 16 ? 2 : 4));
		if (rv)
			p[17] = (uint8_t)(diff_rand(state) % 16 ? 0 : diff_rand(state) % 8);
		else
			p[17] = (uint8_t)(arm64 ? (diff_rand(state) % 16 ? diff_rand(state) % 2 * 4 :
									diff_rand(state) % 8) :
						  diff_rand(state) % 4);
		len = 13;
	} else if (pick < 17 && arm64 && pick == 16) {
		p[0] = NW_TRACE_TLBI;
		p[5] = (uint8_t)(diff_rand(state) % NW_TLBI_OP_COUNT);
		put_le(p + 6, nw_tlbi_has_operand((enum nw_tlbi_op)p[5]) ? diff_rand(state) : 0, 8);
		len = 9;
	} else if (pick == 16 && rv) { /* a fence: at times op 3 or an undefined flag */
		p[0] = NW_TRACE_FENCE;
		p[5] = (uint8_t)(diff_rand(state) % (NW_RVFENCE_OP_COUNT + 1));
		p[6] = (uint8_t)(diff_rand(state) % 5);
		put_le(p + 7, p[6] & 1 ? 0 : diff_rand(state), 8);
		put_le(p + 15, p[6] & 2 ? 0 : diff_rand(state) % 0x4000, 8);
		len = 18;
	} else if (pick < 17) {
		p[0] = NW_TRACE_REG;
		p[5] = (uint8_t)(arm64 ? NW_TRACE_FIRST_ARM64_REG + diff_rand(state) % 8
				 : rv  ? NW_TRACE_FIRST_RISCV_REG + diff_rand(state) % 7
				       : diff_rand(state) % 5);
		put_le(p + 6, diff_rand(state), 8);
		len = 9;
	} else if (pick == 17 && version >= 3) { /* an s2edit: at times level 6 or nothing to change */
		p[0] = NW_TRACE_S2EDIT;
		put_le(p + 5, diff_rand(state) << 12, 8);
		p[13] = (uint8_t)(diff_rand(state) % 7);
		put_le(p + 14, diff_rand(state) % 16 ? diff_rand(state) : 0, 8);
		put_le(p + 22, diff_rand(state) % 2 ? diff_rand(state) : 0, 8);
		len = 25;
	} else if (pick < 18) {
		p[0] = NW_TRACE_MARK;
		memcpy(p + 5, "mark", 4);
		len = 4;
	} else {
		p[0] = (uint8_t)(NW_TRACE_TAG_OPTIONAL | diff_rand(state) % 128);
		len = diff_rand(state) % 4;
		memset(p + 5, 0xee, len);
	}
	put_le(p + 1, len, 4);
	if (diff_rand(state) % 64 == 0) /* a byte out of place: a bad field, length, tag or order */
		p[diff_rand(state) % (5 + len)] ^= (uint8_t)(1 + diff_rand(state) % 255);
	return 5 + len;
}

struct diff_read {
	struct nw_trace_record recs[2 * DIFF_RECORDS];
	size_t n;
	int rc;
	char error[512];
	uint64_t records, skipped;
	size_t items; /* taken by batches */
};

static void diff_read(const char *path, bool batches, struct diff_read *out)
{
	static struct nw_trace_batch b;
	char err[512];
	struct nw_trace_reader *rd = nw_trace_reader_open(path, err, sizeof(err));

	cr_assert_not_null(rd, "%s", err);
	out->n = 0;
	out->items = 0;
	for (;;) {
		size_t n = batches ? nw_trace_reader_batch(rd, &b) : 0;

		out->items += n;
		for (size_t i = 0; i < n; i++) {
			out->recs[out->n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
									.access = nw_trace_item_access(&b.items[i]) };
			out->recs[out->n].kind = NW_TRACE_EXPECT;
			if (nw_trace_item_expect(&b.items[i], &b.expects[i], &out->recs[out->n].expect))
				out->n++;
		}
		if (n)
			continue;
		out->rc = nw_trace_reader_next(rd, &out->recs[out->n]);
		if (out->rc <= 0)
			break;
		out->n++;
	}
	snprintf(out->error, sizeof(out->error), "%s", nw_trace_reader_error(rd));
	out->records = nw_trace_reader_records(rd);
	out->skipped = nw_trace_reader_skipped(rd);
	nw_trace_reader_close(rd);
}

Test(trace_codec, batches_and_records_read_random_traces_alike)
{
	static uint8_t bytes[12 + DIFF_RECORDS * 96 + 16];
	static struct diff_read by_record, by_batch;
	uint64_t state = 0x5eed;
	unsigned errors = 0;
	size_t items = 0;

	for (unsigned t = 0; t < DIFF_TRACES; t++) {
		char *path = temp_path();
		size_t len = 12;
		bool after_access = false;
		FILE *f;

		enum nw_trace_arch arch = (enum nw_trace_arch)(t % NW_TRACE_ARCH_COUNT);
		/* each architecture in its oldest version and in version 3 (a 4-byte expectation mask) */
		unsigned version = t / NW_TRACE_ARCH_COUNT % 2 ? 3 : nw_trace_arch_version(arch);

		nw_trace_binary_header(bytes, version, arch);
		for (unsigned i = 0; i < DIFF_RECORDS; i++) {
			size_t at = len;

			len += diff_record(&state, bytes + len, after_access, arch, version);
			after_access = bytes[at] == NW_TRACE_ACCESS;
		}
		memcpy(bytes + len, "\x7f\0\0\0\0", 5);
		len += 5;
		if (t % 4 == 3) /* cut short */
			len -= 1 + diff_rand(&state) % (len - 12);
		f = fopen(path, "wb");
		fwrite(bytes, 1, len, f);
		fclose(f);
		diff_read(path, false, &by_record);
		diff_read(path, true, &by_batch);
		cr_assert_eq(by_batch.n, by_record.n, "trace %u: %zu records by batch, %zu by record", t, by_batch.n,
			     by_record.n);
		for (size_t i = 0; i < by_record.n; i++)
			cr_assert(nw_trace_record_same(&by_record.recs[i], &by_batch.recs[i]), "trace %u record %zu differs", t, i);
		cr_assert_eq(by_batch.rc, by_record.rc, "trace %u", t);
		cr_assert_str_eq(by_batch.error, by_record.error, "trace %u", t);
		cr_assert_eq(by_batch.records, by_record.records, "trace %u", t);
		cr_assert_eq(by_batch.skipped, by_record.skipped, "trace %u", t);
		errors += by_record.rc < 0;
		items += by_batch.items;
		unlink(path);
	}
	cr_assert_gt(errors, DIFF_TRACES / 8, "the corruptions reach the error paths (%u)", errors);
	cr_assert_gt(items, DIFF_TRACES * 10, "batches took part (%zu items)", items);
}

/* The n records written as a trace of arch are exactly these bytes in binary and this text. */
static void check_bytes_and_lines(enum nw_trace_arch arch, const struct nw_trace_record *r, size_t n,
				  const uint8_t *expected, size_t len, const char *text)
{
	uint8_t buf[256];
	char *path = temp_path();

	write_arch(path, arch, NW_TRACE_FORM_BINARY, false, r, n);
	cr_assert_eq(slurp(path, buf, sizeof(buf)), len);
	cr_assert_arr_eq(buf, expected, len);
	write_arch(path, arch, NW_TRACE_FORM_TEXT, false, r, n);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(slurp(path, buf, sizeof(buf) - 1), strlen(text));
	cr_assert_str_eq((char *)buf, text);
	unlink(path);
}

/* An aarch64 trace's header and records, laid out by hand from FORMAT.md. */
Test(trace_codec, aarch64_binary_bytes_match_the_format)
{
	static const uint8_t expected[] = {
		0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 0x02, 0x00, 0x01, 0x00, /* magic, v2, arch 1 aarch64 */
		0x02, 9, 0, 0, 0, 0x0f, 0x04, 0x00, 0x40, 0, 0, 0, 0, 0,         /* reg 15 pstate = EL1 | PAN */
		0x01, 13, 0, 0, 0, 0x00, 0x10, 0x40, 0x00, 0x00, 0x00, 0xff, 0xff, /* access, gva ... */
		0x08, 0x00, 0x00, 0x00, 0x04,                                     /* size 8, read, EL0, unpriv */
		0x0a, 9, 0, 0, 0, 0x03, 0x01, 0x04, 0, 0, 0, 0, 0x05, 0x00,       /* tlbi vae1is, ASID 5, VA 0x401000 */
		0x0a, 9, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,                   /* tlbi vmalle1 */
		0x7f, 0, 0, 0, 0,                                                 /* end */
	};
	const struct nw_trace_record r[] = {
		{ .kind = NW_TRACE_REG, .reg = { NW_TRACE_PSTATE, 0x400004 } },
		{ .kind = NW_TRACE_ACCESS,
		  .access = { .gva = nw_gva(0xffff000000401000), .size = 8, .type = NW_ACCESS_READ, .unpriv = true } },
		{ .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_VAE1IS, UINT64_C(0x0005000000000401) } },
		{ .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_VMALLE1, 0 } },
	};
	static const char text[] = "nestwalk-trace 2 arch=aarch64\n"
				   "reg pstate=0x400004\n"
				   "access gva=0xffff000000401000 size=0x8 type=read el=0x0 unpriv\n"
				   "tlbi op=vae1is xt=0x5000000000401\n"
				   "tlbi op=vmalle1\n"
				   "end\n";

	check_bytes_and_lines(NW_TRACE_ARCH_AARCH64, r, 4, expected, sizeof(expected), text);
}

/* A record a writer of arch must refuse, and a part of the reason it gives. */
struct arch_refusal {
	enum nw_trace_arch arch;
	struct nw_trace_record rec;
	const char *why;
};

/* Each record put to a fresh writer of its architecture (an expectation after an access) is refused with its
 * reason, and the writer's close fails. */
static void check_refused_by_writer(const struct arch_refusal *bad, size_t n)
{
	static const struct nw_trace_record access = { .kind = NW_TRACE_ACCESS, .access = { .size = 1 } };

	for (size_t i = 0; i < n; i++) {
		char err[256], *path = temp_path();
		struct nw_trace_writer *w = nw_trace_writer_open(path, NULL, (enum nw_trace_form)(i % 2), false, err,
								 sizeof(err));

		cr_assert_eq(nw_trace_writer_set_arch(w, bad[i].arch), 0);
		if (bad[i].rec.kind == NW_TRACE_EXPECT)
			cr_assert_eq(nw_trace_writer_put(w, &access), 0);
		cr_assert_eq(nw_trace_writer_put(w, &bad[i].rec), -1, "case %zu", i);
		cr_assert(strstr(nw_trace_writer_error(w), bad[i].why), "case %zu: %s", i, nw_trace_writer_error(w));
		cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), -1);
		unlink(path);
	}
}

Test(trace_codec, writer_refuses_records_of_another_architecture)
{
	static const struct arch_refusal bad[] = {
#define A64 NW_TRACE_ARCH_AARCH64
#define X86 NW_TRACE_ARCH_X86_64
		{ X86, { .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_ALLE1, 0 } }, "tlbi in an x86_64" },
		{ X86, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_TTBR0_EL1, 0 } }, "aarch64 register" },
		{ X86, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .unpriv = true } }, "unpriv" },
		{ X86, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_STAGE2_ABORT } },
		  "aarch64 or riscv64 outcome in an x86_64" },
		{ X86, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_FAR } },
		  "aarch64 expectation field" },
		{ A64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR3, 0 } }, "x86 register" },
		{ A64, { .kind = NW_TRACE_INVLPG }, "x86 invalidation" },
		{ A64, { .kind = NW_TRACE_INVEPT, .inv = { .type = 1 } }, "x86 invalidation" },
		{ A64, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .cpl = 2 } }, "el outside 0..1" },
		{ A64, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .ac = true } }, "x86_64 access" },
		{ A64, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .implicit = true } }, "x86_64" },
		/* PSTATE: M[3:2] = 2 is EL2; bit 0 (SPSel) and bit 21 are not fields a trace carries. */
		{ A64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_PSTATE, 0x8 } }, "EL above 1" },
		{ A64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_PSTATE, 0x5 } }, "bits other than" },
		{ A64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_PSTATE, 1u << 21 } }, "bits other" },
		{ A64, { .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_VMALLS12E1IS, 1 } }, "no register" },
		{ A64, { .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_OP_COUNT, 0 } }, "unknown tlbi" },
		/* Expectations (after an access, the first record): x86 outcomes and fields, 32-bit paging's 4 MiB. */
		{ A64, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1,
			.outcome = NW_TRACE_OUT_PAGE_FAULT } }, "x86 outcome" },
		{ A64, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_GLA_VALID } },
		  "x86 expectation field" },
		{ A64, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_S2_PAGE_SIZE,
			.s2_page_size = NW_SIZE_4M } }, "4 MiB" },
#undef A64
#undef X86
	};

	check_refused_by_writer(bad, sizeof(bad) / sizeof(bad[0]));
}

Test(trace_codec, the_architecture_is_set_before_the_first_record)
{
	struct nw_trace_record mark = { .kind = NW_TRACE_MARK, .label = "m" };
	struct nw_trace_mem out = { 0 };
	char err[256];
	struct nw_trace_writer *w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_TEXT, false, err, sizeof(err));

	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_COUNT), -1);
	cr_assert_eq(nw_trace_writer_put(w, &mark), 0);
	/* The header is out: a trace cannot change its architecture. */
	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_AARCH64), -1);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0);
	cr_assert_eq(out.len, strlen("nestwalk-trace 1\nmark label=\"m\"\nend\n"));
	cr_assert_arr_eq(out.data, "nestwalk-trace 1\nmark label=\"m\"\nend\n", out.len);
	/* A writer given no record still writes its header, then the end. */
	out.len = 0;
	w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_TEXT, false, err, sizeof(err));
	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_AARCH64), 0);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0);
	cr_assert_eq(out.len, strlen("nestwalk-trace 2 arch=aarch64\nend\n"));
	cr_assert_arr_eq(out.data, "nestwalk-trace 2 arch=aarch64\nend\n", out.len);
	free(out.data);
}

/* Version 3 (FORMAT.md, "Binary form"): a writer writes the version it is given, by default its architecture's
 * lowest; the RISC-V trap CSRs need version 3, whose expectation mask is a u32. */
Test(trace_codec, the_version_is_the_writers_and_holds_its_fields)
{
	struct nw_trace_record recs[] = {
		{ .kind = NW_TRACE_ACCESS, .access = { nw_gva(0x600000), 8, NW_ACCESS_READ, NW_TRACE_PRIV_VU } },
		{ .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_OUTCOME | 1u << NW_EXPECT_HTINST,
						       .outcome = NW_TRACE_OUT_GUEST_PAGE_FAULT, .htinst = 0x3000 } },
	};
	/* header version 3, riscv64; the access; the expect: tag, length 4 + 1 + 8, mask 0x20001 (bits 0 and 17),
	 * outcome 10, htinst 0x3000; the end */
	static const uint8_t v3[] = {
		0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 3, 0, 2, 0,
		0x01, 13, 0, 0, 0, 0x00, 0x00, 0x60, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0,
		0x09, 13, 0, 0, 0, 0x01, 0x00, 0x02, 0x00, 10, 0x00, 0x30, 0, 0, 0, 0, 0, 0,
		0x7f, 0, 0, 0, 0,
	};
	struct nw_trace_mem out = { 0 };
	char err[256];
	struct nw_trace_writer *w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_BINARY, false, err, sizeof(err));

	/* riscv64 is written as version 2 unless told: htinst does not fit its 16-bit mask. */
	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_RISCV64), 0);
	cr_assert_eq(nw_trace_writer_put(w, &recs[0]), 0);
	cr_assert_eq(nw_trace_writer_put(w, &recs[1]), -1);
	cr_assert(strstr(nw_trace_writer_error(w), "scause, stval, htval and htinst need version 3"), "%s",
		  nw_trace_writer_error(w));
	nw_trace_writer_abandon(w);
	out.len = 0;
	w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_BINARY, false, err, sizeof(err));
	cr_assert_eq(nw_trace_writer_set_version(w, 0), -1);
	cr_assert_eq(nw_trace_writer_set_version(w, NW_TRACE_VERSION + 1), -1);
	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_RISCV64), 0);
	cr_assert_eq(nw_trace_writer_set_version(w, 3), 0);
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(nw_trace_writer_put(w, &recs[i]), 0, "%s", nw_trace_writer_error(w));
	cr_assert_eq(nw_trace_writer_set_version(w, 2), -1); /* the header is out */
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.len, sizeof(v3));
	cr_assert_arr_eq(out.data, v3, sizeof(v3));
	/* Version 1 is x86_64's alone: an aarch64 trace cannot be written in it. */
	out.len = 0;
	w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_TEXT, false, err, sizeof(err));
	cr_assert_eq(nw_trace_writer_set_arch(w, NW_TRACE_ARCH_AARCH64), 0);
	cr_assert_eq(nw_trace_writer_set_version(w, 1), 0);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a trace of aarch64 needs version 2"), "%s", err);
	/* x86_64 in version 3 names its architecture. */
	out.len = 0;
	w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_TEXT, false, err, sizeof(err));
	cr_assert_eq(nw_trace_writer_set_version(w, 3), 0);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.len, strlen("nestwalk-trace 3 arch=x86_64\nend\n"));
	cr_assert_arr_eq(out.data, "nestwalk-trace 3 arch=x86_64\nend\n", out.len);
	free(out.data);
}

/* Hand-made text traces of both architectures: each error names its line and column. */
Test(trace_codec, text_traces_of_the_wrong_architecture_name_the_line)
{
#define A64 "nestwalk-trace 2 arch=aarch64\n"
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "nestwalk-trace 2\nend\n", "line 1, column 17: version 2 names its architecture" },
		{ "nestwalk-trace 2 arch=arm\nend\n", "line 1, column 23: unknown architecture" },
		{ "nestwalk-trace 2 arch=aarch64 x\nend\n", "line 1, column 31: text after the architecture" },
		{ "nestwalk-trace 1 arch=aarch64\nend\n", "line 1, column 18: version 1 is x86_64" },
		{ A64 "reg cr3=0x1000\nend\n", "line 2, column 1: an x86 register in an aarch64 trace" },
		{ A64 "invlpg gva=0x0\nend\n", "line 2, column 1: an x86 invalidation in an aarch64 trace" },
		{ A64 "access gva=0x0 size=0x1 type=read cpl=0x0\nend\n",
		  "line 2, column 1: access: missing field 'el'" },
		{ A64 "access gva=0x0 size=0x1 type=read el=0x2\nend\n", "line 2, column 1: el outside 0..1" },
		{ A64 "access gva=0x0 size=0x1 type=read el=0x0 implicit\nend\n",
		  "line 2, column 42: unknown field for this record" },
		{ A64 "tlbi op=vmalle1 xt=0x1\nend\n", "line 2, column 17: this tlbi takes no register" },
		{ A64 "tlbi op=vae1\nend\n", "line 2, column 1: tlbi: missing field 'xt'" },
		{ A64 "tlbi op=vae2 xt=0x0\nend\n", "line 2, column 6: unknown value for this field" },
		{ A64 "reg pstate=0x8\nend\n", "line 2, column 1: pstate EL above 1" },
		{ A64 "access gva=0x0 size=0x1 type=read el=0x0\nexpect outcome=npf\nend\n",
		  "line 3, column 1: an x86 outcome in an aarch64 trace" },
		{ A64 "access gva=0x0 size=0x1 type=read el=0x0\nexpect outcome=ok error_code=0x0\nend\n",
		  "line 3, column 1: an x86 expectation field in an aarch64 trace" },
		{ "nestwalk-trace 1\ntlbi op=vmalle1\nend\n", "line 2, column 1: a tlbi in an x86_64 trace" },
		{ "nestwalk-trace 2 arch=x86_64\nreg sctlr_el1=0x1\nend\n",
		  "line 2, column 1: an aarch64 register in an x86_64 trace" },
		{ "nestwalk-trace 1\naccess gva=0x0 size=0x1 type=read cpl=0x0 unpriv\nend\n",
		  "line 2, column 43: unknown field for this record" },
	};
#undef A64

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = { 0 };
		struct nw_trace_reader *rd = nw_trace_reader_open_mem("t", cases[i].text, strlen(cases[i].text), err,
								      sizeof(err));
		struct nw_trace_record rec;

		if (rd) {
			while (nw_trace_reader_next(rd, &rec) > 0)
				;
			snprintf(err, sizeof(err), "%s", nw_trace_reader_error(rd));
			nw_trace_reader_close(rd);
		}
		cr_assert(strstr(err, cases[i].msg), "case %zu: got '%s'", i, err);
	}
}

Test(trace_codec, a_reader_for_one_architecture_refuses_the_other)
{
	static const char text[] = "nestwalk-trace 2 arch=aarch64\nend\n";
	char err[256], *path = temp_path();
	FILE *f = fopen(path, "wb");
	struct nw_trace_reader *rd;

	fwrite(text, 1, strlen(text), f);
	fclose(f);
	cr_assert_null(nw_trace_reader_open_arch(path, NW_TRACE_ARCH_X86_64, err, sizeof(err)));
	cr_assert(strstr(err, ": a trace of aarch64, and this needs x86_64"), "%s", err);
	rd = nw_trace_reader_open_arch(path, NW_TRACE_ARCH_AARCH64, err, sizeof(err));
	cr_assert_not_null(rd, "%s", err);
	nw_trace_reader_close(rd);
	unlink(path);
}

/* riscv64 traces (issue #18): one record of every kind such a trace holds, every RISC-V register, accesses at VU
 * and VS, and each fence with each of its operands x0 or a register. */
static size_t sample_riscv(struct nw_trace_record *r)
{
	size_t n = 0;

	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_MARK, .label = "vs boot" };
	for (unsigned reg = NW_TRACE_FIRST_RISCV_REG; reg < NW_TRACE_PRIV; reg++)
		r[n++] = (struct nw_trace_record){
			.kind = NW_TRACE_REG, .reg = { (enum nw_trace_reg)reg, UINT64_C(0x8000000000001000) + reg } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_REG, .reg = { NW_TRACE_PRIV, NW_TRACE_PRIV_VS } };
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_REG, .reg = { NW_TRACE_PRIV, NW_TRACE_PRIV_VU } };
	for (unsigned i = 0; i < 2; i++) {
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
						   .access = { .gva = nw_gva(0xffffffc000401000 + i), .size = 8,
							       .type = NW_ACCESS_WRITE, .cpl = (uint8_t)i } };
		r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT, .expect = {
			.present = 1u << NW_EXPECT_OUTCOME | 1u << NW_EXPECT_GPA | 1u << NW_EXPECT_REFS,
			.outcome = NW_TRACE_OUT_OK, .gpa = nw_gpa(0x80001000 + i), .refs = 15 } };
	}
	r[n++] = (struct nw_trace_record){ .kind = NW_TRACE_GPWRITE,
					   .gpwrite = { nw_gpa(0x80003000), sizeof(gp_bytes), gp_bytes } };
	for (unsigned op = 0; op < NW_RVFENCE_OP_COUNT; op++)
		for (unsigned x0 = 0; x0 < 4; x0++)
			r[n++] = (struct nw_trace_record){
				.kind = NW_TRACE_FENCE,
				.fence = { (enum nw_rvfence_op)op, x0 & 1, x0 >> 1, x0 & 1 ? 0 : 0x401000 + op,
					   x0 >> 1 ? 0 : op } };
	return n;
}

Test(trace_codec, every_riscv64_record_round_trips_in_all_four_encodings)
{
	struct nw_trace_record r[64];
	size_t n = sample_riscv(r);

	check_four_encodings(NW_TRACE_ARCH_RISCV64, r, n);
	check_binary_text_binary(NW_TRACE_ARCH_RISCV64, r, n);
}

/* FORMAT.md's riscv64 example, its bytes laid out by hand: hgatp Sv39x4 (MODE 8 in bits 63:60) with VMID 1 (bits
 * 57:44) and root PPN 0x80400; priv VS; a VS-mode load; the three fences. */
Test(trace_codec, riscv64_bytes_and_lines_match_the_format)
{
	static const uint8_t expected[] = {
		0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 0x02, 0x00, 0x02, 0x00, /* magic, v2, arch 2 riscv64 */
		0x02, 9, 0, 0, 0, 0x11, 0x00, 0x04, 0x08, 0x00, 0x00, 0x10, 0x00, 0x80, /* reg 17 hgatp */
		0x02, 9, 0, 0, 0, 0x17, 0x01, 0, 0, 0, 0, 0, 0, 0,                     /* reg 23 priv = VS */
		0x01, 13, 0, 0, 0, 0x00, 0x10, 0x40, 0, 0, 0, 0, 0,                    /* access, gva 0x401000 ... */
		0x08, 0x00, 0x00, 0x01, 0x00,                                          /* size 8, read, VS, no flags */
		0x0b, 18, 0, 0, 0, 0x00, 0x02, 0x00, 0x10, 0x40, 0, 0, 0, 0, 0,        /* sfence.vma, rs2 x0, rs1 ... */
		0, 0, 0, 0, 0, 0, 0, 0,                                                /* ... rs2 0 */
		0x0b, 18, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,                 /* hfence.vvma, rs1 x0 ... */
		0x05, 0, 0, 0, 0, 0, 0, 0,                                             /* ... rs2 ASID 5 */
		0x0b, 18, 0, 0, 0, 0x02, 0x00, 0x00, 0x04, 0x10, 0x20, 0, 0, 0, 0,     /* hfence.gvma 0x20100400 ... */
		0x01, 0, 0, 0, 0, 0, 0, 0,                                             /* ... VMID 1 */
		0x7f, 0, 0, 0, 0,                                                      /* end */
	};
	const struct nw_trace_record r[] = {
		{ .kind = NW_TRACE_REG, .reg = { NW_TRACE_HGATP, UINT64_C(0x8000100000080400) } },
		{ .kind = NW_TRACE_REG, .reg = { NW_TRACE_PRIV, NW_TRACE_PRIV_VS } },
		{ .kind = NW_TRACE_ACCESS,
		  .access = { .gva = nw_gva(0x401000), .size = 8, .type = NW_ACCESS_READ, .cpl = NW_TRACE_PRIV_VS } },
		{ .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_SFENCE_VMA, false, true, 0x401000, 0 } },
		{ .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_HFENCE_VVMA, true, false, 0, 5 } },
		/* rs1 = GPA 0x80401000 >> 2 = 0x20100400 */
		{ .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_HFENCE_GVMA, false, false, 0x20100400, 1 } },
	};
	static const char text[] = "nestwalk-trace 2 arch=riscv64\n"
				   "reg hgatp=0x8000100000080400\n"
				   "reg priv=0x1\n"
				   "access gva=0x401000 size=0x8 type=read priv=0x1\n"
				   "fence op=sfence.vma rs1=0x401000 rs2=x0\n"
				   "fence op=hfence.vvma rs1=x0 rs2=0x5\n"
				   "fence op=hfence.gvma rs1=0x20100400 rs2=0x1\n"
				   "end\n";

	check_bytes_and_lines(NW_TRACE_ARCH_RISCV64, r, 6, expected, sizeof(expected), text);
}

Test(trace_codec, writer_refuses_records_a_riscv64_trace_cannot_hold)
{
	static const struct arch_refusal bad[] = {
#define RV NW_TRACE_ARCH_RISCV64
		{ RV, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR3, 0 } }, "an x86 register in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_TTBR0_EL1, 0 } }, "an aarch64 register in a riscv64" },
		{ RV, { .kind = NW_TRACE_INVLPG }, "an x86 invalidation in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_TLBI, .tlbi = { NW_TLBI_ALLE1, 0 } }, "a tlbi in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .cpl = 2 } }, "priv outside 0 (VU)..1 (VS)" },
		{ RV, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .unpriv = true } }, "has no flags" },
		{ RV, { .kind = NW_TRACE_ACCESS, .access = { .size = 1, .ac = true } }, "has no flags" },
		/* priv 2 would be HS-mode, 3 M-mode: a trace is of the virtual machine. */
		{ RV, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_PRIV, 2 } }, "priv is 0 (VU) or 1 (VS)" },
		{ RV, { .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_SFENCE_VMA, true, true, 0x1000, 0 } }, "x0" },
		{ RV, { .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_HFENCE_GVMA, true, true, 0, 1 } }, "x0" },
		{ RV, { .kind = NW_TRACE_FENCE, .fence = { NW_RVFENCE_OP_COUNT, true, true, 0, 0 } }, "unknown fence" },
		{ RV, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_NPF } },
		  "an outcome of another architecture in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_ERROR_CODE } },
		  "an expectation field of another architecture in a riscv64 trace" },
		/* The AArch64 aborts and their registers are no RISC-V trap. */
		{ RV, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1, .outcome = NW_TRACE_OUT_STAGE2_ABORT } },
		  "an outcome of another architecture in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_ESR } },
		  "an expectation field of another architecture in a riscv64 trace" },
		{ RV, { .kind = NW_TRACE_EXPECT, .expect = { .present = 1u << NW_EXPECT_GUEST_PAGE_SIZE,
			.guest_page_size = NW_SIZE_4M } }, "4 MiB is no RISC-V page size" },
		{ NW_TRACE_ARCH_X86_64, { .kind = NW_TRACE_FENCE, .fence = { .rs1_x0 = true, .rs2_x0 = true } },
		  "a fence in an x86_64 trace" },
		{ NW_TRACE_ARCH_AARCH64, { .kind = NW_TRACE_FENCE, .fence = { .rs1_x0 = true, .rs2_x0 = true } },
		  "a fence in an aarch64 trace" },
		{ NW_TRACE_ARCH_AARCH64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_VSATP, 0 } },
		  "a riscv64 register in an aarch64 trace" },
		{ NW_TRACE_ARCH_X86_64, { .kind = NW_TRACE_REG, .reg = { NW_TRACE_HGATP, 0 } },
		  "a riscv64 register in an x86_64 trace" },
#undef RV
	};

	check_refused_by_writer(bad, sizeof(bad) / sizeof(bad[0]));
}

/* Bad riscv64 input in both forms: each error names its line and column, or its byte offset. */
Test(trace_codec, bad_riscv64_input_names_the_line_or_offset)
{
#define RVT "nestwalk-trace 2 arch=riscv64\n"
#define HEAD_RV 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 2, 0, 2, 0
	static const struct {
		const char *text;
		const char *msg;
	} texts[] = {
		{ "nestwalk-trace 2 arch=riscv\nend\n",
		  "line 1, column 23: unknown architecture (x86_64, aarch64 or riscv64)" },
		{ "nestwalk-trace 2 riscv64\nend\n", "line 1, column 18: version 2 names its architecture" },
		{ RVT "access gva=0x0 size=0x1 type=read el=0x1\nend\n",
		  "line 2, column 1: access: missing field 'priv'" },
		{ RVT "access gva=0x0 size=0x1 type=read priv=0x2\nend\n",
		  "line 2, column 1: priv outside 0 (VU)..1 (VS)" },
		{ RVT "access gva=0x0 size=0x1 type=read priv=0x0 unpriv\nend\n",
		  "line 2, column 44: unknown field for this record" },
		{ RVT "reg priv=0x3\nend\n", "line 2, column 1: priv is 0 (VU) or 1 (VS)" },
		{ RVT "reg pstate=0x0\nend\n", "line 2, column 1: an aarch64 register in a riscv64 trace" },
		{ RVT "fence op=sfence.vma rs1=x0\nend\n", "line 2, column 1: fence: missing field 'rs2'" },
		{ RVT "fence op=sfence.vma rs1=x1 rs2=x0\nend\n", "line 2, column 21: bad number" },
		{ RVT "fence op=hfence.bvma rs1=x0 rs2=x0\nend\n", "line 2, column 7: unknown value for this field" },
		{ RVT "fence op=sfence.vma rs1=x0 rs2=x0 rs1=0x0\nend\n", "line 2, column 35: field given twice" },
		{ RVT "tlbi op=vmalle1\nend\n", "line 2, column 1: a tlbi in a riscv64 trace" },
		{ "nestwalk-trace 2 arch=aarch64\nfence op=sfence.vma rs1=x0 rs2=x0\nend\n",
		  "line 2, column 1: a fence in an aarch64 trace" },
	};
	static const struct { uint8_t bytes[40]; size_t len; const char *msg; } bins[] = {
		/* A fence whose flags byte has bit 2 set: only bits 0 (rs1 x0) and 1 (rs2 x0) are defined. */
		{ { HEAD_RV, 0x0b, 18, 0, 0, 0, 0, 0x04 }, 35,
		  "byte offset 12: bad fence record: fence flags have undefined" },
		/* rs2 is x0 (flags 2) yet holds 1. */
		{ { HEAD_RV, 0x0b, 18, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 35,
		  "byte offset 12: bad fence record: a fence operand is x0, which reads as 0, yet holds a value" },
		/* op 3 is past hfence.gvma. */
		{ { HEAD_RV, 0x0b, 18, 0, 0, 0, 3, 0x03 }, 35, "byte offset 12: bad fence record: unknown fence" },
		{ { HEAD_RV, 0x0b, 17, 0, 0, 0, 0, 0x03 }, 34,
		  "byte offset 12: bad fence record: payload length wrong" },
		/* An access at priv 2 (HS), and one with the unpriv flag (bit 2). */
		{ { HEAD_RV, 0x01, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0 }, 30,
		  "byte offset 12: bad access record: priv outside 0 (VU)..1 (VS)" },
		{ { HEAD_RV, 0x01, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 4 }, 30,
		  "byte offset 12: bad access record: a riscv64 access has no flags" },
	};
#undef RVT
#undef HEAD_RV

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]) + sizeof(bins) / sizeof(bins[0]); i++) {
		bool text = i < sizeof(texts) / sizeof(texts[0]);
		size_t b = i - (text ? 0 : sizeof(texts) / sizeof(texts[0]));
		const void *data = text ? (const void *)texts[i].text : (const void *)bins[b].bytes;
		size_t len = text ? strlen(texts[i].text) : bins[b].len;
		const char *msg = text ? texts[i].msg : bins[b].msg;
		char err[512] = { 0 };
		struct nw_trace_reader *rd = nw_trace_reader_open_mem("t", data, len, err, sizeof(err));
		struct nw_trace_record rec;

		if (rd) {
			while (nw_trace_reader_next(rd, &rec) > 0)
				;
			snprintf(err, sizeof(err), "%s", nw_trace_reader_error(rd));
			nw_trace_reader_close(rd);
		}
		cr_assert(strstr(err, msg), "case %zu: got '%s'", i, err);
	}
}
