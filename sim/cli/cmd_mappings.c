/* `nestwalk mappings SCENARIO --stage guest|stage2|ept|npt [--json] [--limit N]`:
 * every present mapping of one stage of the scenario's VM, one line per range
 * (mappings_listing.h). Second-stage pages continuing each other in GPA with
 * the same page size, rights and memory type are one range (as QEMU's
 * `info mem` merges pages): an allocated region's frames lie anywhere in the
 * host, so the range names its first HPA only when the frames continue each
 * other too. The guest stage is cmd_mappings_guest.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>

#include "cli/cli.h"
#include "cli/translate_print.h"
#include "replay/arm64_attr_print.h"
#include "replay/guest_mappings.h"
#include "replay/mappings_listing.h"
#include "replay/replay.h"
#include "replay/walk_print.h"

enum { OPT_STAGE, OPT_VM, OPT_ROOTS, OPT_JSON, OPT_LIMIT };

static const struct nw_cli_option options[] = {
	[OPT_STAGE] = { "--stage", "STAGE",
			"guest: the guest's page tables; or the second stage: stage2, or its format (ept, npt, arm64, "
			"gstage)" },
	[OPT_VM] = { "--vm", "N",
		     "the second stage of the scenario's VM N: 0 its own (the default), 1.. those its vms list" },
	[OPT_ROOTS] = { "--roots", NULL,
			"instead of mappings, each VM's second-stage root and the register value naming it" },
	[OPT_JSON] = { "--json", NULL, "one JSON object (docs/json.md) instead of text" },
	[OPT_LIMIT] = { "--limit", "N", "list at most N ranges (default 100000; 0: no limit)" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_mappings = {
	.command = "mappings",
	.synopsis = "SCENARIO --stage guest|stage2|ept|npt|arm64|gstage [--vm N] [--json] [--limit N] | "
		    "SCENARIO --roots [--json]",
	.summary = "list a scenario's guest or second-stage mappings, merged into ranges",
	.operands = { "SCENARIO" },
	.required = 1,
	.options = options,
};

enum { STAGE_GUEST, STAGE_2, STAGE_EPT, STAGE_NPT, STAGE_ARM64, STAGE_GSTAGE };

struct range {
	bool open, hpa_continues;
	/* AArch64 and RISC-V: the fault any access through the leaves takes ("access_flag", "address_size";
	 * "reserved", "accessed_dirty") */
	const char *fault;
	uint64_t gpa, hpa, size, pages, page_size;
	uint64_t next_hpa; /* where the next page's frame continues the last */
	uint32_t rights;
	uint8_t memory_type;
};

struct printer {
	struct nw_listing listing;
	const char *(*type_name)(unsigned type); /* the memory type's (EPT, NPT) or MemAttr's (AArch64) name */
	struct range cur;
	uint64_t pages, bytes; /* every leaf visited: the library's visit cannot be stopped, so all are counted */
	/* AArch64 and RISC-V: the second stage, asked what a read of each leaf meets */
	const struct nw_stage2 *stage2;
};

/* A leaf every access through which faults although it is valid, as the second stage's walk finds it on a read
 * that sets nothing: RISC-V a guest-page fault for a reserved bit or encoding (W without R, PBMT or N the hart
 * does not take) or A clear under Svade; AArch64 AF clear (without hardware update) or an address at or above
 * the output size on its path (AArch64.S2Walk's Address size fault: OA[47:PS], a 64 KiB-granule descriptor's
 * OA[51:48]). NULL otherwise (a right missing faults some accesses only). */
static const char *leaf_fault(const struct printer *p, const struct nw_aspace_mapping *m)
{
	const struct nw_s2_request req = { .gpa = m->gpa, .type = NW_ACCESS_READ, .lookup_only = true };
	struct nw_s2_result res;

	if (!p->stage2)
		return NULL;
	nw_stage2_translate(p->stage2, &req, &res);
	if (res.fault == NW_S2_FAULT_MISCONFIG)
		return "reserved";
	if (res.fault == NW_S2_FAULT_ADDRESS_SIZE)
		return "address_size";
	if (res.fault == NW_S2_FAULT_ACCESS_FLAG)
		return p->stage2->kind == NW_STAGE2_ARM64 ? "access_flag" : "accessed_dirty";
	return NULL;
}

static void flush(struct printer *p)
{
	const struct range *r = &p->cur;
	char rights[NW_RIGHTS_TEXT], hpa[40] = "scattered", fault[48] = ""; /* hpa: room for 16 hex digits in JSON */
	const char *separator;

	if (!r->open)
		return;
	if (r->fault)
		snprintf(fault, sizeof(fault), p->listing.json ? ", \"fault\": \"%s\"" : " faults:%s", r->fault);
	separator = nw_listing_item(&p->listing, r->pages, r->size);
	nw_s2_rights_text(p->stage2 && p->stage2->kind == NW_STAGE2_RISCV ? r->rights & ~NW_S2_RIGHT_UX : r->rights,
			  rights);
	if (r->hpa_continues)
		snprintf(hpa, sizeof(hpa), p->listing.json ? "\"hpa\": \"0x%" PRIx64 "\", " : "%016" PRIx64, r->hpa);
	if (p->listing.json)
		fprintf(p->listing.out, "%s\n  {\"gpa\": \"0x%" PRIx64 "\", \"gpa_end\": \"0x%" PRIx64
					"\", %s\"size\": \"0x%" PRIx64 "\", \"page_size\": \"0x%" PRIx64
					"\", \"pages\": %" PRIu64 ", \"rights\": \"%s\", \"memory_type\": \"%s\"%s}",
			separator, r->gpa, r->gpa + r->size, r->hpa_continues ? hpa : "", r->size, r->page_size,
			r->pages, rights, p->type_name(r->memory_type), fault);
	else
		fprintf(p->listing.out, "%016" PRIx64 "-%016" PRIx64 " %-16s %016" PRIx64 " %-4s %-6s %s%s\n", r->gpa,
			r->gpa + r->size, hpa, r->size, nw_listing_page_name(r->page_size), rights,
			p->type_name(r->memory_type), fault);
	p->cur.open = false;
}

static bool continues(const struct range *r, const struct nw_aspace_mapping *m)
{
	return r->open && r->gpa + r->size == m->gpa.val && r->page_size == m->size && r->rights == m->rights &&
	       r->memory_type == m->memory_type;
}

static bool continues_attrs(const struct printer *p, const struct nw_aspace_mapping *m)
{
	return continues(&p->cur, m) && p->cur.fault == leaf_fault(p, m);
}

static void add_page(void *ctx, const struct nw_aspace_mapping *m)
{
	struct printer *p = ctx;

	p->pages++;
	p->bytes += m->size;
	if (p->listing.cut)
		return;
	if (continues_attrs(p, m)) {
		p->cur.hpa_continues &= p->cur.next_hpa == m->hpa.val;
		p->cur.next_hpa = m->hpa.val + m->size;
		p->cur.size += m->size;
		p->cur.pages++;
		return;
	}
	flush(p);
	if (nw_listing_admit(&p->listing))
		p->cur = (struct range){ .open = true, .hpa_continues = true, .gpa = m->gpa.val, .hpa = m->hpa.val,
					 .next_hpa = m->hpa.val + m->size, .size = m->size, .pages = 1,
					 .page_size = m->size, .rights = m->rights, .memory_type = m->memory_type,
					 .fault = leaf_fault(p, m) };
}

/* The second stage of the scenario's VM, when --stage names it (stage2, or its own format). */
static int list_stage2(const char *path, unsigned stage, uint64_t vm, bool json, uint64_t limit)
{
	static const char *const stage_names[] = {
		[STAGE_EPT] = "ept", [STAGE_NPT] = "npt", [STAGE_ARM64] = "arm64", [STAGE_GSTAGE] = "gstage"
	};
	static const char x86_legend[] = "page: the size of every leaf in the range; hpa: scattered when the frames do "
					 "not continue each other; rights: r read, w write, x execute, u user-mode "
					 "execute (MBEC); type: memory type";
	static const char arm64_legend[] = "page: the size of every leaf in the range; hpa: scattered when the frames "
					   "do not continue each other; rights: r read, w write (S2AP), x EL1 execute, "
					   "u EL0 execute (XN[1:0]); type: MemAttr; faults: the fault every access "
					   "takes (access_flag: AF clear; address_size: output address at or above "
					   "2^PS)";
	/* With HCR_EL2.FWB MemAttr names what it does to stage 1's attributes (nw_arm64_memattr_fwb_name). */
	static const char arm64_fwb_legend[] = "page: the size of every leaf in the range; hpa: scattered when the "
					       "frames do not continue each other; rights: r read, w write (S2AP), x EL1 "
					       "execute, u EL0 execute (XN[1:0]); type: MemAttr under HCR_EL2.FWB "
					       "(stage-1: stage 1's attributes; Normal-WB, Normal-NC, Device: what "
					       "stage 1's become); faults: the fault every access takes (access_flag: "
					       "AF clear; address_size: output address at or above 2^PS)";
	static const char gstage_legend[] = "page: the size of every leaf in the range; hpa: scattered when the frames "
					    "do not continue each other; rights: r read, w write, x execute (a leaf "
					    "without U grants none); type: Svpbmt PBMT (pma: the platform's PMAs); "
					    "faults: the guest-page fault every access takes (reserved: a reserved bit "
					    "or encoding; accessed_dirty: A clear under Svade)";
	static const char *const legends[] = { [STAGE_EPT] = x86_legend,
					       [STAGE_NPT] = x86_legend,
					       [STAGE_ARM64] = arm64_legend,
					       [STAGE_GSTAGE] = gstage_legend };
	struct printer printer = { .type_name = nw_memory_type_name };
	struct nw_replay_target target;
	struct nw_aspace *as;
	unsigned format;
	uint64_t leaked;
	char columns[128], err[1024];

	/* The machine every command builds from a scenario (replay.h). */
	if (nw_replay_target_open(path, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (!target.machine.aspace) {
		fprintf(stderr, "nestwalk mappings: %s: a memory dump has no second stage (guest-physical = "
				"host-physical): --stage guest lists its mappings\n", path);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	as = nw_replay_machine_vm(&target.machine, vm);
	if (!as) {
		fprintf(stderr, "nestwalk mappings: %s: --vm %" PRIu64 ": the scenario has VM 0 and %zu more (vms)\n",
			path, vm, target.machine.vm_count);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	if (as->config.format == NW_STAGE2_NONE) {
		fprintf(stderr, "nestwalk mappings: %s:%d:%d: stage2.format is none: there is no second stage "
				"(guest-physical = host-physical): --stage guest lists its mappings\n", path,
			target.scenario.format_pos.line, target.scenario.format_pos.column);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	format = as->config.format == NW_STAGE2_NPT     ? STAGE_NPT
		 : as->config.format == NW_STAGE2_ARM64 ? STAGE_ARM64
		 : as->config.format == NW_STAGE2_RISCV ? STAGE_GSTAGE
									   : STAGE_EPT;
	if (format == STAGE_ARM64) {
		printer.type_name = as->arm64.config.fwb ? nw_arm64_memattr_fwb_name
									     : nw_arm64_memattr_name;
		printer.stage2 = nw_aspace_stage2(as);
	}
	if (format == STAGE_GSTAGE) {
		printer.type_name = nw_rv_pbmt_name;
		printer.stage2 = nw_aspace_stage2(as);
	}
	if (stage != STAGE_2 && stage != format) {
		fprintf(stderr, "nestwalk mappings: %s: --stage %s, but its second stage is %s (--stage stage2 lists "
				"either)\n", path, stage_names[stage], stage_names[format]);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	snprintf(columns, sizeof(columns), "%-33s %-16s %-16s %-4s %-6s %s", "gpa-gpa_end", "hpa", "size", "page",
		 "rights", "type");
	nw_listing_begin(&printer.listing, stdout, json, limit, stage_names[format],
			 format == STAGE_ARM64 && as->arm64.config.fwb ? arm64_fwb_legend
											   : legends[format],
			 columns);
	nw_aspace_visit_mappings(as, add_page, &printer);
	flush(&printer);
	nw_listing_end(&printer.listing, printer.pages, printer.bytes);
	leaked = nw_replay_target_close(&target);
	return leaked ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}

int nw_cmd_mappings(int argc, char **argv)
{
	static const char *const stages[] = { "guest", "stage2", "ept", "npt", "arm64", "gstage" };
	const struct nw_cli_usage *u = &nw_usage_mappings;
	struct nw_cli_args a;
	uint64_t limit = NW_LISTING_DEFAULT_LIMIT;
	uint64_t vm = 0;
	unsigned stage;
	int rc = nw_cli_parse(u, argc, argv, &a);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (a.value[OPT_ROOTS] && (a.value[OPT_STAGE] || a.value[OPT_VM] || a.value[OPT_LIMIT]))
		return nw_cli_fail(u, "--roots", "lists every VM's root: it takes no --stage, --vm or --limit");
	if (a.value[OPT_ROOTS])
		return nw_mappings_roots_command(a.operand[0], a.value[OPT_JSON]);
	if (!a.value[OPT_STAGE])
		return nw_cli_fail(u, "--stage", "missing");
	if (nw_cli_choice(u, &a, OPT_STAGE, stages, 6, &stage) ||
	    (a.value[OPT_LIMIT] && nw_cli_number(u, &a, OPT_LIMIT, 0, UINT64_MAX, &limit)) ||
	    (a.value[OPT_VM] && nw_cli_number(u, &a, OPT_VM, 0, UINT64_MAX, &vm)))
		return NW_EXIT_BAD_INPUT;
	if (stage == STAGE_GUEST && a.value[OPT_VM])
		return nw_cli_fail(u, "--vm", "names a second stage: the guest's tables are the first VM's");
	if (stage == STAGE_GUEST)
		return nw_guest_mappings_command(a.operand[0], a.value[OPT_JSON], limit);
	return list_stage2(a.operand[0], stage, vm, a.value[OPT_JSON], limit);
}
