/* `translate --gpa` on a RISC-V G-stage (translate_print.h): the access is the guest's with the VS-stage Bare
 * (vsatp.MODE 0), so its guest virtual address is the GPA. A translation with its leaf PTE, R/W/X and Svpbmt
 * memory type; a guest-page fault as the trap into HS-mode writes it (scause 20/21/23, stval, htval = GPA >> 2,
 * htinst 0: the privileged spec, "Trap Cause Codes" and "Hypervisor Trap Value Register"); an access fault (a
 * G-stage table read that found no memory, scause 1/5/7, htval and htinst 0) as its own outcome. */
#include <nestwalk/riscv_gstage.h>

#include "cli/translate_print.h"
#include "io/json_out.h"
#include "replay/walk_print.h"

/* The fault kinds of a G-stage walk: a missing PTE or a GPA above the mode's width, A or D clear under Svade, a
 * right missing, a reserved bit or encoding or a misaligned superpage. */
static const char *fault_name(enum nw_s2_fault fault)
{
	static const char *const names[] = {
		[NW_S2_FAULT_NONE] = "none",
		[NW_S2_FAULT_TRANSLATION] = "translation",
		[NW_S2_FAULT_ACCESS_FLAG] = "accessed_dirty",
		[NW_S2_FAULT_PERMISSION] = "permission",
		[NW_S2_FAULT_ADDRESS_SIZE] = "address_size",
		[NW_S2_FAULT_MISCONFIG] = "reserved",
		[NW_S2_FAULT_ACCESS] = "access",
	};

	return names[fault];
}

const char *nw_rv_pbmt_name(unsigned pbmt)
{
	static const char *const names[] = {
		[NW_RV_PBMT_PMA] = "pma", [NW_RV_PBMT_NC] = "nc", [NW_RV_PBMT_IO] = "io", [3] = "reserved"
	};

	return names[pbmt & 3];
}

static void print_ok(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated)
{
	char rights[NW_RIGHTS_TEXT];

	/* R, W and X as the leaf grants them to the guest's access, checked as a U-mode one: no user-execute here. */
	nw_s2_rights_text(res->rights & ~NW_S2_RIGHT_UX, rights);

	if (q->json)
		fprintf(q->out,
			"{%s\"outcome\": \"ok\", \"gpa\": \"0x%llx\", \"hpa\": \"0x%llx\", \"s2_page_size\": "
			"\"0x%llx\", \"leaf_level\": %d, \"level\": %d, \"rights\": \"%s\", \"pte\": \"0x%llx\", "
			"\"memory_type\": \"%s\", \"refs\": %u, \"populated\": %s}\n",
			q->top ? NW_JSON_SCHEMA_MEMBER : "", (unsigned long long)q->gpa,
			(unsigned long long)res->hpa.val, (unsigned long long)res->page_size, res->level,
			nw_rv_gstage_level(res->level), rights, (unsigned long long)res->entry,
			nw_rv_pbmt_name(res->memory_type), res->refs, populated ? "true" : "false");
	else
		fprintf(q->out,
			"gpa 0x%llx -> hpa 0x%llx (level-%d PTE 0x%llx, 0x%llx-byte page, rights %s, PBMT %s%s)\n",
			(unsigned long long)q->gpa, (unsigned long long)res->hpa.val, nw_rv_gstage_level(res->level),
			(unsigned long long)res->entry, (unsigned long long)res->page_size, rights,
			nw_rv_pbmt_name(res->memory_type), populated ? ", populated on first touch" : "");
}

void nw_gpa_print_riscv(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated)
{
	const struct nw_rv_gstage_access access = { .type = q->access, .gva = q->gpa, .gpa = nw_gpa(q->gpa) };
	struct nw_rv_trap trap;
	const char *outcome = nw_gpa_fault_outcome(NW_STAGE2_RISCV, res);

	if (!nw_rv_gstage_fault(res, &access, &trap)) {
		print_ok(q, res, populated);
		return;
	}
	if (q->json)
		fprintf(q->out,
			"{%s\"outcome\": \"%s\", \"gpa\": \"0x%llx\", \"scause\": %llu, \"stval\": \"0x%llx\", "
			"\"htval\": \"0x%llx\", \"htinst\": \"0x%llx\", \"fault\": \"%s\", \"level\": %d, "
			"\"entry\": \"0x%llx\", \"refs\": %u}\n",
			q->top ? NW_JSON_SCHEMA_MEMBER : "", outcome, (unsigned long long)q->gpa,
			(unsigned long long)trap.scause, (unsigned long long)trap.stval, (unsigned long long)trap.htval,
			(unsigned long long)trap.htinst, fault_name(res->fault), nw_rv_gstage_level(res->level),
			(unsigned long long)res->entry, res->refs);
	else
		fprintf(q->out,
			"gpa 0x%llx: %s, scause %llu, stval 0x%llx, htval 0x%llx, htinst 0x%llx (%s at level %d, "
			"PTE 0x%llx)\n",
			(unsigned long long)q->gpa,
			res->fault == NW_S2_FAULT_ACCESS ? "access fault" : "guest-page fault",
			(unsigned long long)trap.scause, (unsigned long long)trap.stval, (unsigned long long)trap.htval,
			(unsigned long long)trap.htinst, fault_name(res->fault), nw_rv_gstage_level(res->level),
			(unsigned long long)res->entry);
}
