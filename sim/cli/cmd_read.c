/* `nestwalk read SCENARIO (--gva ADDR [--cpl N] [--ac] [--implicit] | --gpa ADDR) --len N [--json]`: the
 * bytes a guest would read there, QEMU's monitor `x` (--gva) and `xp` (--gpa) for a scenario, an ELF image or
 * a memory dump. Each 4 KiB piece is translated as a read of that piece's bytes, as translate and replay
 * translate an access (--gva: the two-dimensional walk; --gpa: the second stage alone). At the first piece
 * that does not translate the read stops, as gdb's `x` does: the bytes before it are shown, then the
 * outcome exactly as translate prints it for that piece, and the exit status is 1. */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "cli/cli.h"
#include "cli/translate_print.h"
#include "replay/replay.h"

#define READ_MAX_LEN 0x100000 /* 1 MiB: a dump to look at, not a copy of guest memory */
#define LINE_BYTES 16

enum { OPT_GVA, OPT_GPA, OPT_LEN, OPT_CPL, OPT_AC, OPT_IMPLICIT, OPT_JSON };

static const struct nw_cli_option options[] = {
	[OPT_GVA] = { "--gva", "ADDR", "a guest-virtual address: read through the two-dimensional walk" },
	[OPT_GPA] = { "--gpa", "ADDR", "a guest-physical address: read through the second stage alone" },
	[OPT_LEN] = { "--len", "N", "bytes to read, 1 to 0x100000 (1 MiB; required)" },
	[OPT_CPL] = { "--cpl", "N", "the privilege level of a --gva read, 0 to 3 (default 0)" },
	[OPT_AC] = { "--ac", NULL, "RFLAGS.AC set for the --gva read (SMAP)" },
	[OPT_IMPLICIT] = { "--implicit", NULL, "an implicit supervisor-mode --gva read (GDT, IDT, TSS)" },
	[OPT_JSON] = { "--json", NULL, "one JSON object (docs/json.md) instead of a hex dump" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_read = {
	.command = "read",
	.synopsis = "SCENARIO (--gva ADDR [--cpl N] [--ac] [--implicit] | --gpa ADDR) --len N [--json]",
	.summary = "print the bytes a guest reads at a GVA or GPA, or the fault that stops the read",
	.operands = { "SCENARIO" },
	.required = 1,
	.options = options,
};

struct read_req {
	const char *scenario;
	bool gpa, json, ac, implicit;
	uint64_t addr, len;
	unsigned cpl;
};

/* 0, or -1 refused (cli.h's one shape). */
static int parse_req(const struct nw_cli_args *a, struct read_req *req)
{
	/* A guest-physical read has no privilege level or RFLAGS.AC. */
	static const unsigned gva_only[] = { OPT_CPL, OPT_AC, OPT_IMPLICIT };
	const struct nw_cli_usage *u = &nw_usage_read;
	uint64_t cpl = 0;

	*req = (struct read_req){ .scenario = a->operand[0], .gpa = a->value[OPT_GPA] != NULL,
				  .json = a->value[OPT_JSON], .ac = a->value[OPT_AC],
				  .implicit = a->value[OPT_IMPLICIT] };
	if (nw_cli_conflict(u, a, OPT_GPA, OPT_GVA))
		return -1;
	if (!a->value[OPT_GPA] && !a->value[OPT_GVA]) {
		nw_cli_fail(u, "--gpa or --gva", "missing");
		return -1;
	}
	if (!a->value[OPT_LEN]) {
		nw_cli_fail(u, "--len", "missing");
		return -1;
	}
	for (unsigned i = 0; i < sizeof(gva_only) / sizeof(gva_only[0]); i++)
		if (nw_cli_conflict(u, a, gva_only[i], OPT_GPA))
			return -1;
	if (nw_cli_number(u, a, req->gpa ? OPT_GPA : OPT_GVA, 0, UINT64_MAX, &req->addr) ||
	    nw_cli_number(u, a, OPT_LEN, 1, READ_MAX_LEN, &req->len) ||
	    (a->value[OPT_CPL] && nw_cli_number(u, a, OPT_CPL, 0, 3, &cpl)))
		return -1;
	if (req->addr + (req->len - 1) < req->addr) {
		nw_cli_fail(u, req->gpa ? "--gpa" : "--gva", "0x%llx + 0x%llx bytes wraps past the top of the address "
			    "space", (unsigned long long)req->addr, (unsigned long long)req->len);
		return -1;
	}
	req->cpl = (unsigned)cpl;
	return 0;
}

/* What the read found: the bytes of the pieces translated, and where it stopped. */
struct read_out {
	uint8_t *bytes;
	uint64_t done;    /* bytes read */
	FILE *fault;      /* the stopping piece's answer (translate's text or object), written by the reader */
	char *fault_text;
	size_t fault_len;
	const char *outcome; /* "ok", or the stopping piece's outcome */
};

/* The piece of the read at offset: up to the end of its 4 KiB page. */
static uint64_t piece_size(const struct read_req *req, uint64_t offset)
{
	uint64_t left = req->len - offset, room = NW_PAGE_SIZE - ((req->addr + offset) & NW_PAGE_MASK);

	return left < room ? left : room;
}

/* size bytes of host memory at hpa into dst; false when the host has nothing there. */
static bool copy_host(const struct nw_replay_machine *m, uint64_t hpa, uint64_t size, uint8_t *dst)
{
	const void *src = m->dump ? nw_memdump_ptr(m->dump, hpa, size) : nw_hal_phys_to_virt(m->hal, nw_hpa(hpa));

	if (!src)
		return false;
	memcpy(dst, src, size);
	return true;
}

static void no_host_memory(const struct read_req *req, struct read_out *out, uint64_t offset, uint64_t hpa)
{
	out->outcome = "no_memory";
	if (req->json)
		fprintf(out->fault, "{\"outcome\": \"no_memory\", \"%s\": \"0x%llx\", \"hpa\": \"0x%llx\"}",
			req->gpa ? "gpa" : "gva", (unsigned long long)(req->addr + offset), (unsigned long long)hpa);
	else
		fprintf(out->fault, "%s 0x%llx: no host memory at hpa 0x%llx (no_memory)\n", req->gpa ? "gpa" : "gva",
			(unsigned long long)(req->addr + offset), (unsigned long long)hpa);
}

/* The translate text's first line for a --gva access (cmd_translate.c), so a fault reads as translate's. */
static void print_piece_head(FILE *out, const struct read_req *req, uint64_t offset, uint64_t size)
{
	fprintf(out, "gva 0x%llx: read of %llu byte(s) at cpl %u\n", (unsigned long long)(req->addr + offset),
		(unsigned long long)size, req->cpl);
}

static void gva_fault(const struct read_req *req, struct read_out *out, const struct nw_replay_result *res,
		      uint64_t offset, uint64_t size)
{
	out->outcome = nw_replay_outcome_name(res->kind);
	if (req->json) {
		nw_access_print_json(out->fault, res, size, false, "");
		return;
	}
	print_piece_head(out->fault, req, offset, size);
	nw_access_print_text(out->fault, res, false);
}

/* --gva: piece by piece as replay translates an access record, the TLB off (as translate). 0, or -1 refused. */
static int read_gva(const struct read_req *req, struct nw_replay_target *t, struct read_out *out)
{
	struct nw_replay_options ropt = { .tlb = false, .no_explain = true };
	struct nw_replay_machine *m = &t->machine;
	struct nw_replay_result res = { .kind = NW_TRACE_OUT_OK };
	struct nw_replay replay;
	struct nw_cpu cpu = m->cpu;
	char err[256];

	/* The pieces, their linear-address check and their fault reports are x86's. */
	if (m->arch != NW_TRACE_ARCH_X86_64) {
		fprintf(stderr,
			"nestwalk read: %s: the machine is %s: read --gva reads x86 guests only for now "
			"(translate --gva walks its guest's %s, replay runs its traces)\n",
			req->scenario, nw_trace_arch_name(m->arch),
			m->arch == NW_TRACE_ARCH_AARCH64 ? "stage 1" : "VS-stage");
		return -1;
	}
	if (nw_replay_init(&replay, m, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk read: %s\n", err);
		return -1;
	}
	/* MOV CR3 loads the PAE PDPTE registers: a reserved bit in one is the #GP the walk never gets to. */
	nw_cpu_load_cr3(&replay.config, &cpu, m->cpu.cr3, &res.walk);
	if (res.walk.outcome != NW_OUTCOME_OK) {
		res.kind = res.walk.outcome == NW_OUTCOME_NO_MEMORY ? NW_REPLAY_OUT_NO_MEMORY : (unsigned)res.walk.outcome;
		res.refs = res.walk.refs;
		gva_fault(req, out, &res, 0, piece_size(req, 0));
	}
	while (!out->outcome && out->done < req->len) {
		uint64_t size = piece_size(req, out->done);
		struct nw_trace_access ta = { .gva = nw_gva(req->addr + out->done), .size = (uint32_t)size,
					      .type = NW_ACCESS_READ, .cpl = (uint8_t)req->cpl,
					      .implicit = req->implicit, .ac = req->ac };

		if (nw_replay_check_access(&m->cpu, &ta, err, sizeof(err))) {
			fprintf(stderr, "nestwalk read: %s: %s\n", req->scenario, err);
			nw_replay_fini(&replay);
			return -1;
		}
		nw_replay_access(&replay, &ta, &res);
		if (res.kind != NW_TRACE_OUT_OK)
			gva_fault(req, out, &res, out->done, size);
		else if (!copy_host(m, res.hpa, size, out->bytes + out->done))
			no_host_memory(req, out, out->done, res.hpa);
		else
			out->done += size;
	}
	nw_replay_fini(&replay);
	return 0;
}

/* --gpa: piece by piece through the second stage alone (as translate --gpa); a memory dump has none
 * (guest-physical = host-physical). 0, or -1 refused. */
static int read_gpa(const struct read_req *req, struct nw_replay_target *t, struct read_out *out)
{
	struct nw_aspace *aspace = t->machine.aspace;

	while (out->done < req->len) {
		uint64_t size = piece_size(req, out->done), gpa = req->addr + out->done;
		const struct nw_gpa_query q = { .out = out->fault, .gpa = gpa, .access = NW_ACCESS_READ,
						.json = req->json };
		struct nw_aspace_exit exit;
		struct nw_s2_result res = { .status = NW_S2_OK, .hpa = nw_hpa(gpa) };
		bool populated = false;
		char err[128];
		int rc = aspace ? nw_gpa_translate(aspace, gpa, NW_ACCESS_READ, size, &res, &exit, &populated, err,
						   sizeof(err))
				: 0;

		if (rc < 0) {
			fprintf(stderr, "nestwalk read: %s\n", err);
			return -1;
		}
		if (rc > 0) {
			out->outcome = exit.kind == NW_ASPACE_FAULT_MMIO ? "mmio" : "rom_write";
			nw_gpa_print_exit(&q, &exit, populated);
			return 0;
		}
		if (res.status != NW_S2_OK) {
			out->outcome = nw_gpa_fault_outcome(aspace->config.format, &res);
			nw_gpa_print_result(&q, aspace, &res, populated);
			return 0;
		}
		if (!copy_host(&t->machine, res.hpa.val, size, out->bytes + out->done)) {
			no_host_memory(req, out, out->done, res.hpa.val);
			return 0;
		}
		out->done += size;
	}
	return 0;
}

static bool is_printable(uint8_t c)
{
	return c >= 0x20 && c < 0x7f;
}

/* xxd's layout: the guest address, 16 bytes in pairs, then the bytes as ASCII ('.' for the others). */
static void print_dump(const struct read_req *req, const struct read_out *out)
{
	for (uint64_t line = 0; line < out->done; line += LINE_BYTES) {
		uint64_t n = out->done - line < LINE_BYTES ? out->done - line : LINE_BYTES;

		printf("%016llx:", (unsigned long long)(req->addr + line));
		for (uint64_t i = 0; i < LINE_BYTES; i++) {
			if (i % 2 == 0)
				putchar(' ');
			if (i < n)
				printf("%02x", out->bytes[line + i]);
			else
				fputs("  ", stdout);
		}
		fputs("  ", stdout);
		for (uint64_t i = 0; i < n; i++)
			putchar(is_printable(out->bytes[line + i]) ? out->bytes[line + i] : '.');
		putchar('\n');
	}
}

static void print_json(const struct read_req *req, const struct read_out *out)
{
	printf("{\"schema\": %d, \"outcome\": \"%s\", \"%s\": \"0x%llx\", \"len\": %llu, \"read\": %llu, "
	       "\"bytes\": \"", NW_JSON_SCHEMA, out->outcome ? out->outcome : "ok", req->gpa ? "gpa" : "gva",
	       (unsigned long long)req->addr, (unsigned long long)req->len, (unsigned long long)out->done);
	for (uint64_t i = 0; i < out->done; i++)
		printf("%02x", out->bytes[i]);
	putchar('"');
	if (out->outcome) {
		size_t len = out->fault_len;

		while (len && out->fault_text[len - 1] == '\n')
			len--; /* translate's object ends its line */
		printf(", \"fault\": %.*s", (int)len, out->fault_text);
	}
	printf("}\n");
}

static int read_target(const struct read_req *req, struct nw_replay_target *t)
{
	struct read_out out = { .bytes = malloc(req->len) };
	int rc;

	out.fault = open_memstream(&out.fault_text, &out.fault_len);
	if (!out.bytes || !out.fault) {
		fprintf(stderr, "nestwalk read: out of memory\n");
		if (out.fault)
			fclose(out.fault);
		free(out.fault_text);
		free(out.bytes);
		return NW_EXIT_BAD_INPUT;
	}
	rc = req->gpa ? read_gpa(req, t, &out) : read_gva(req, t, &out);
	fclose(out.fault);
	if (rc == 0 && req->json) {
		print_json(req, &out);
	} else if (rc == 0) {
		print_dump(req, &out);
		fputs(out.fault_text, stdout);
	}
	free(out.fault_text);
	free(out.bytes);
	if (rc)
		return NW_EXIT_BAD_INPUT;
	return out.outcome ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}

int nw_cmd_read(int argc, char **argv)
{
	struct nw_replay_target target;
	struct nw_cli_args args;
	struct read_req req;
	char err[1024];
	int rc = nw_cli_parse(&nw_usage_read, argc, argv, &args);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (parse_req(&args, &req))
		return NW_EXIT_BAD_INPUT;
	/* The machine every command builds from a scenario (replay.h): its VM, or its memory dump. */
	if (nw_replay_target_open(req.scenario, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk read: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	rc = read_target(&req, &target);
	if (nw_replay_target_close(&target) && rc == NW_EXIT_OK)
		rc = NW_EXIT_MISMATCH;
	return rc;
}
