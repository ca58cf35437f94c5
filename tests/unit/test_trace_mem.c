#define _POSIX_C_SOURCE 200809L
/* Traces in memory (trace.h: nw_trace_reader_open_mem, _reopen_mem,
 * nw_trace_writer_open_mem): the same bytes read from memory and from a file
 * give the same records and the same errors, also when corrupted; messages
 * derived by hand from traces/FORMAT.md; the writer's bytes are the file
 * writer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "trace/trace.h"

TestSuite(trace_mem, .init = fixture_setup, .fini = fixture_teardown);

#define NAME "in memory"
#define BASE_RECORDS 1500
#define ERR_LEN 512

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64 */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static char *temp_path(void)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/nw_trace_mem_XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	return path;
}

static void write_file(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* The whole file at path, in *len bytes (caller frees). */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *bytes;
	long size;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	bytes = malloc((size_t)size + 1);
	cr_assert_not_null(bytes);
	cr_assert_eq(fread(bytes, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return bytes;
}

/* Record i of the base traces: accesses with expectations, registers, marks,
 * and every 50th a 4 KiB guest-physical write of random bytes, so the zstd
 * form is longer than one 64 KiB read of compressed input. */
static void base_record(unsigned i, uint64_t *random, struct nw_trace_record *r, uint8_t *data)
{
	if (i % 50 == 49) {
		for (unsigned k = 0; k < NW_TRACE_MAX_DATA; k++)
			data[k] = (uint8_t)next_random(random);
		*r = (struct nw_trace_record){ .kind = NW_TRACE_GPWRITE,
					       .gpwrite = { nw_gpa(i * UINT64_C(0x1000)), NW_TRACE_MAX_DATA, data } };
	} else if (i % 50 == 20) {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_MARK };
		snprintf(r->label, sizeof(r->label), "mark %u", i);
	} else if (i % 7 == 3) {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR3, i * UINT64_C(0x1000) } };
	} else if (i % 2 == 0) {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_ACCESS,
					       .access = { nw_gva(i * UINT64_C(0x1001)), 1 + i % 8,
							   (enum nw_access_type)(i % 3), (uint8_t)(i % 4), false,
							   false } };
	} else {
		*r = (struct nw_trace_record){ .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(i) } };
	}
}

/* A base trace written by the file writer; its bytes in *len (caller frees). */
static uint8_t *base_trace(enum nw_trace_form form, bool zstd, size_t *len)
{
	static uint8_t data[NW_TRACE_MAX_DATA];
	char err[ERR_LEN], *path = temp_path();
	struct nw_trace_writer *w = nw_trace_writer_open(path, NULL, form, zstd, err, sizeof(err));
	uint64_t random = 0x9e3779b97f4a7c15;
	struct nw_trace_record rec;
	uint8_t *bytes;

	cr_assert_not_null(w, "%s", err);
	for (unsigned i = 0; i < BASE_RECORDS; i++) {
		base_record(i, &random, &rec, data);
		cr_assert_eq(nw_trace_writer_put(w, &rec), 0, "%s", nw_trace_writer_error(w));
	}
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	bytes = slurp(path, len);
	unlink(path);
	return bytes;
}

/* The message after "NAME: ", which it must start with. */
static const char *after_name(const char *msg, const char *name)
{
	size_t n = strlen(name);

	cr_assert(!strncmp(msg, name, n) && msg[n] == ':' && msg[n + 1] == ' ', "'%s' does not name '%s'", msg,
		  name);
	return msg + n + 2;
}

/* Reads bytes from a file, from a fresh reader in memory and through the
 * reopened reader *reused, in step: each record and the end (or the error,
 * but for the name) must be the same. Returns the records read. */
static size_t read_three_ways(const uint8_t *bytes, size_t len, struct nw_trace_reader **reused, const char *what)
{
	char *path = temp_path();
	char err[3][ERR_LEN] = { "", "", "" };
	struct nw_trace_reader *rd[3];
	struct nw_trace_record rec[3];
	size_t n = 0;
	int rc[3];

	write_file(path, bytes, len);
	rd[0] = nw_trace_reader_open(path, err[0], sizeof(err[0]));
	rd[1] = nw_trace_reader_open_mem(NAME, bytes, len, err[1], sizeof(err[1]));
	if (!*reused)
		rd[2] = *reused = nw_trace_reader_open_mem(NAME, bytes, len, err[2], sizeof(err[2]));
	else
		rd[2] = nw_trace_reader_reopen_mem(*reused, NAME, bytes, len, err[2], sizeof(err[2])) ? 0 : *reused;
	cr_assert_eq(!rd[0], !rd[1], "%s: open: file '%s', memory '%s'", what, err[0], err[1]);
	cr_assert_eq(!rd[0], !rd[2], "%s: open: file '%s', reopened '%s'", what, err[0], err[2]);
	if (!rd[0]) {
		cr_assert_str_eq(after_name(err[0], path), after_name(err[1], NAME), "%s", what);
		cr_assert_str_eq(after_name(err[0], path), after_name(err[2], NAME), "%s", what);
		if (*reused)
			cr_assert_str_eq(nw_trace_reader_error(*reused), err[2], "%s", what);
		nw_trace_reader_close(rd[1]);
		unlink(path);
		return 0;
	}
	cr_assert_eq(nw_trace_reader_form(rd[0]), nw_trace_reader_form(rd[1]), "%s", what);
	cr_assert_eq(nw_trace_reader_is_compressed(rd[0]), nw_trace_reader_is_compressed(rd[2]), "%s", what);
	for (;;) {
		for (int k = 0; k < 3; k++)
			rc[k] = nw_trace_reader_next(rd[k], &rec[k]);
		cr_assert(rc[0] == rc[1] && rc[0] == rc[2], "%s: record %zu: file %d, memory %d, reopened %d", what, n,
			  rc[0], rc[1], rc[2]);
		if (rc[0] != 1)
			break;
		cr_assert(nw_trace_record_same(&rec[0], &rec[1]) && nw_trace_record_same(&rec[0], &rec[2]), "%s: record %zu differs",
			  what, n);
		n++;
	}
	if (rc[0] < 0) {
		const char *want = after_name(nw_trace_reader_error(rd[0]), path);

		cr_assert_str_eq(after_name(nw_trace_reader_error(rd[1]), NAME), want, "%s", what);
		cr_assert_str_eq(after_name(nw_trace_reader_error(rd[2]), NAME), want, "%s", what);
	}
	cr_assert_eq(nw_trace_reader_records(rd[0]), nw_trace_reader_records(rd[2]), "%s", what);
	cr_assert_eq(nw_trace_reader_skipped(rd[0]), nw_trace_reader_skipped(rd[2]), "%s", what);
	nw_trace_reader_close(rd[0]);
	nw_trace_reader_close(rd[1]);
	unlink(path);
	return n;
}

/* Every base trace (both forms, plain and zstd) whole, cut short at many
 * points (at and around the 64 KiB read boundaries too), with bytes changed
 * at random (to NUL, newline, anything) and with bytes appended; one reader
 * is reopened on all of them. */
Test(trace_mem, corrupted_traces_read_alike_from_memory_and_from_a_file)
{
	static const size_t boundaries[] = { 0, 1, 4, 8, 12, 13, 17, 65535, 65536, 65537, 65539, 65540, 65541 };
	struct nw_trace_reader *reused = 0;
	uint64_t random = 42;
	unsigned errors = 0;

	for (int form = 0; form < 2; form++) {
		for (int zstd = 0; zstd < 2; zstd++) {
			size_t len;
			uint8_t *base = base_trace((enum nw_trace_form)form, zstd, &len);
			uint8_t *bytes = malloc(len + 64);
			char what[128];

			cr_assert_not_null(bytes);
			cr_assert_gt(len, 65541 + 64, "the trace crosses a read boundary");
			snprintf(what, sizeof(what), "form %d zstd %d whole", form, zstd);
			cr_assert_eq(read_three_ways(base, len, &reused, what), BASE_RECORDS);
			for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
				snprintf(what, sizeof(what), "form %d zstd %d cut at %zu", form, zstd, boundaries[i]);
				read_three_ways(base, boundaries[i], &reused, what);
			}
			for (unsigned k = 1; k < 24; k++) {
				size_t cut = len * k / 24;

				snprintf(what, sizeof(what), "form %d zstd %d cut at %zu", form, zstd, cut);
				read_three_ways(base, cut, &reused, what);
				snprintf(what, sizeof(what), "form %d zstd %d cut at %zu", form, zstd, len - k);
				read_three_ways(base, len - k, &reused, what);
			}
			for (unsigned k = 0; k < 48; k++) {
				/* half of them among the first records, before any guest-physical write */
				size_t at = (size_t)(next_random(&random) % (k % 2 ? 2000 : len));
				uint8_t value = k % 3 == 0 ? 0 : k % 3 == 1 ? '\n' : (uint8_t)next_random(&random);

				memcpy(bytes, base, len);
				bytes[at] = bytes[at] == value ? (uint8_t)~value : value;
				snprintf(what, sizeof(what), "form %d zstd %d byte %zu = 0x%02x", form, zstd, at,
					 bytes[at]);
				read_three_ways(bytes, len, &reused, what);
				errors += nw_trace_reader_error(reused)[0] != 0;
			}
			for (unsigned k = 0; k < 4; k++) {
				memcpy(bytes, base, len);
				for (unsigned b = 0; b < 64; b++)
					bytes[len + b] = (uint8_t)(k == 0 ? '\n' : k == 1 ? 0 : next_random(&random));
				snprintf(what, sizeof(what), "form %d zstd %d 64 bytes appended (%u)", form, zstd, k);
				read_three_ways(bytes, len + 64, &reused, what);
			}
			free(bytes);
			free(base);
		}
	}
	cr_assert_gt(errors, 48, "the changed bytes are often errors (%u of 192)", errors);
	nw_trace_reader_close(reused);
}

/* Reads bytes from memory to the end; the error, "" for a clean end. */
static void mem_error(const void *bytes, size_t len, char *err, size_t errlen)
{
	struct nw_trace_reader *rd = nw_trace_reader_open_mem(NAME, bytes, len, err, errlen);
	struct nw_trace_record rec;

	if (!rd)
		return;
	while (nw_trace_reader_next(rd, &rec) > 0)
		;
	snprintf(err, errlen, "%s", nw_trace_reader_error(rd));
	nw_trace_reader_close(rd);
}

/* Hand-made binaries (FORMAT.md): the whole message, named by the name given. */
Test(trace_mem, corrupt_binaries_in_memory_name_the_offset)
{
	static const struct { uint8_t bytes[32]; size_t len; const char *msg; } cases[] = {
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 4, 0, 0, 0, 0x7f, 0, 0, 0, 0 }, 17,
		  NAME ": byte offset 8: unsupported version 4 (this reader knows 1 to 3)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 2, 0, 3, 0, 0x7f, 0, 0, 0, 0 }, 17,
		  NAME ": byte offset 10: unknown architecture 3 (0 x86_64, 1 aarch64, 2 riscv64)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x04, 8, 0, 0, 0, 1, 2 }, 19,
		  NAME ": byte offset 12: truncated record (2 of 8 payload bytes)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x90, 1, 0, 0, 0, 9, 0x33, 0, 0, 0, 0 }, 23,
		  NAME ": byte offset 18: unknown tag 0x33" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0 }, 18,
		  NAME ": byte offset 17: trailing garbage after the end record" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0 }, 12,
		  NAME ": byte offset 12: trace ends without an end record (truncated)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0 }, 11,
		  NAME ": byte offset 11: truncated header (11 of 12 bytes)" },
		{ { 0x89, 'N', 'W', 'X' }, 4,
		  NAME ": byte offset 0: bad magic: neither a binary nor a text nestwalk trace (nor zstd)" },
		{ { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x7f, 0, 0, 0, 0 }, 17, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERR_LEN] = "";

		mem_error(cases[i].bytes, cases[i].len, err, sizeof(err));
		cr_assert_str_eq(err, cases[i].msg, "case %zu", i);
	}
}

Test(trace_mem, empty_memory_is_a_bad_magic)
{
	char err[ERR_LEN] = "";

	mem_error(NULL, 0, err, sizeof(err));
	cr_assert_str_eq(err, NAME ": byte offset 0: bad magic: neither a binary nor a text nestwalk trace (nor zstd)");
}

/* A zstd trace cut inside its frame: the offset is where the input ends. */
Test(trace_mem, truncated_zstd_in_memory_names_the_compressed_offset)
{
	size_t len;
	uint8_t *bytes = base_trace(NW_TRACE_FORM_BINARY, true, &len);
	size_t cuts[] = { len - 1, len / 2, 70000 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char err[ERR_LEN] = "", want[ERR_LEN];

		mem_error(bytes, cuts[i], err, sizeof(err));
		snprintf(want, sizeof(want), NAME ": compressed stream truncated at compressed byte offset %zu", cuts[i]);
		cr_assert_str_eq(err, want);
	}
	free(bytes);
}

/* A text line over 16384 bytes (FORMAT.md) is too long even when a NUL
 * follows past that length, wherever the 64 KiB read buffer happens to end:
 * here the line starts 17000 bytes before it ends and its NUL lies after. A
 * NUL within the length is reported as such. */
Test(trace_mem, long_text_lines_fail_alike_wherever_the_buffer_ends)
{
	static const size_t nul_columns[] = { 18000, 100 };
	static const char *const msgs[] = { "line 51, column 16385: line longer than 16384 bytes",
					    "line 51, column 100: NUL byte" };
	const size_t start = 65536 - 17000, line = 20000;
	char *text = malloc(start + line + 16);

	cr_assert_not_null(text);
	for (size_t c = 0; c < sizeof(nul_columns) / sizeof(nul_columns[0]); c++) {
		struct nw_trace_reader *reused = 0;
		char *path = temp_path();
		char err[2][ERR_LEN] = { "", "" };
		size_t len = 0;

		len += (size_t)sprintf(text, "nestwalk-trace 1\n");
		while (len < start) {
			size_t take = start - len > 1000 ? 1000 : start - len;

			memset(text + len, 'c', take);
			text[len] = '#';
			text[len + take - 1] = '\n';
			len += take;
		}
		cr_assert_eq(len, start);
		memset(text + len, 'a', line);
		text[len + nul_columns[c] - 1] = 0;
		len += line;
		len += (size_t)sprintf(text + len, "\nend\n");
		write_file(path, text, len);
		mem_error(text, len, err[1], sizeof(err[1]));
		{
			struct nw_trace_reader *rd = nw_trace_reader_open(path, err[0], sizeof(err[0]));
			struct nw_trace_record rec;

			cr_assert_not_null(rd, "%s", err[0]);
			while (nw_trace_reader_next(rd, &rec) > 0)
				;
			snprintf(err[0], sizeof(err[0]), "%s", nw_trace_reader_error(rd));
			nw_trace_reader_close(rd);
		}
		cr_assert_str_eq(after_name(err[0], path), msgs[c]);
		cr_assert_str_eq(after_name(err[1], NAME), msgs[c]);
		read_three_ways((const uint8_t *)text, len, &reused, msgs[c]);
		nw_trace_reader_close(reused);
		unlink(path);
	}
	free(text);
}

/* The writer into memory gives the file writer's bytes, in every encoding;
 * a reused buffer is written from its start again without growing. */
Test(trace_mem, writer_into_memory_writes_the_file_writers_bytes)
{
	static uint8_t data[NW_TRACE_MAX_DATA];
	struct nw_trace_mem out = { 0 };

	for (int form = 0; form < 2; form++) {
		for (int zstd = 0; zstd < 2; zstd++) {
			size_t len, cap = 0;
			uint8_t *want = base_trace((enum nw_trace_form)form, zstd, &len);

			for (int round = 0; round < 2; round++) {
				char err[ERR_LEN];
				struct nw_trace_writer *w;
				uint64_t random = 0x9e3779b97f4a7c15;
				struct nw_trace_record rec;

				out.len = 0;
				w = nw_trace_writer_open_mem(&out, (enum nw_trace_form)form, zstd, err, sizeof(err));
				cr_assert_not_null(w, "%s", err);
				for (unsigned i = 0; i < BASE_RECORDS; i++) {
					base_record(i, &random, &rec, data);
					cr_assert_eq(nw_trace_writer_put(w, &rec), 0, "%s", nw_trace_writer_error(w));
				}
				cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
				cr_assert_eq(out.len, len, "form %d zstd %d: %zu bytes, the file has %zu", form, zstd,
					     out.len, len);
				cr_assert(!memcmp(out.data, want, len), "form %d zstd %d: the bytes differ", form, zstd);
				if (round)
					cr_assert_eq(out.cap, cap, "the reused buffer did not grow");
				cap = out.cap;
			}
			free(want);
		}
	}
	free(out.data);
}

/* An empty trace, byte for byte (FORMAT.md): the binary header (magic,
 * version 1, flags 0) and the end record (tag 0x7f, length 0); the text
 * header line and "end". A writer appends after what the buffer holds. */
Test(trace_mem, empty_traces_in_memory_match_the_format)
{
	static const uint8_t binary[] = { 0x89, 'N', 'W', 'T', 'R', 'C', '\r', '\n', 1, 0, 0, 0, 0x7f, 0, 0, 0, 0 };
	static const char text[] = "nestwalk-trace 1\nend\n";
	struct nw_trace_mem out = { 0 };
	char err[ERR_LEN];
	struct nw_trace_writer *w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_BINARY, false, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.len, sizeof(binary));
	cr_assert(!memcmp(out.data, binary, sizeof(binary)));
	w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_TEXT, false, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.len, sizeof(binary) + strlen(text));
	cr_assert(!memcmp(out.data, binary, sizeof(binary)));
	cr_assert(!memcmp(out.data + sizeof(binary), text, strlen(text)));
	free(out.data);
}

/* An abandoned writer leaves a partial trace, which a reader rejects as truncated. */
Test(trace_mem, abandoned_writer_leaves_a_truncated_trace)
{
	struct nw_trace_record rec = { .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(0x1000) } };
	struct nw_trace_mem out = { 0 };
	char err[ERR_LEN] = "";
	struct nw_trace_writer *w = nw_trace_writer_open_mem(&out, NW_TRACE_FORM_BINARY, false, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(nw_trace_writer_put(w, &rec), 0);
	nw_trace_writer_abandon(w);
	cr_assert_eq(out.len, 12 + 5 + 8, "header, and the invlpg record (head and gva)");
	mem_error(out.data, out.len, err, sizeof(err));
	cr_assert_str_eq(err, NAME ": byte offset 25: trace ends without an end record (truncated)");
	free(out.data);
}
