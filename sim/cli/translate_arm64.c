/* `translate --gpa` on an AArch64 stage 2 (translate_print.h): a translation with its descriptor's
 * attributes (S2AP, XN, MemAttr, Arm ARM D8.3 and D8.5), or the stage-2 abort the access is taken to EL2 as:
 * ESR_EL2 (no instruction syndrome: a guest-physical access has no instruction), HPFAR_EL2 where the Arm ARM
 * defines it, the fault kind and the Arm ARM's level. */
#include <nestwalk/arm64_s2.h>

#include "cli/translate_print.h"
#include "io/json_out.h"
#include "replay/arm64_attr_print.h"
#include "replay/walk_print.h"

/* The leaf's MemAttr by name: stage 2's own attribute, or with HCR_EL2.FWB what it does to stage 1's. */
static const char *memattr_name(unsigned memattr, bool fwb)
{
	return fwb ? nw_arm64_memattr_fwb_name(memattr) : nw_arm64_memattr_name(memattr);
}

/* Stage 2's attributes (D8.5.3): without FWB the leaf's MemAttr and SH decoded, what combines with stage 1's;
 * with FWB they exist only applied to stage 1's (translate --gva), and the JSON leaves them out. */
static void print_attrs(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool fwb)
{
	struct nw_arm64_memattr attr = nw_arm64_s2_attrs(res->memory_type,
							 (unsigned)(res->entry >> NW_ARM64_S2_SH_SHIFT) & 3);

	if (q->json) {
		fprintf(q->out, ", \"fwb\": %s", fwb ? "true" : "false");
		if (!fwb) {
			fputs(", \"attributes\": ", q->out);
			nw_arm64_attr_print_json(q->out, &attr, false);
		}
		return;
	}
	if (fwb) {
		fputs("; HCR_EL2.FWB: MemAttr says what becomes of stage 1's attributes (AArch64.S2ApplyFWBMemAttrs)",
		      q->out);
		return;
	}
	fputs("; stage-2 attributes ", q->out);
	nw_arm64_attr_print_text(q->out, &attr, false);
}

static void print_ok(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated, bool fwb)
{
	char rights[NW_RIGHTS_TEXT];
	unsigned xn = (unsigned)(res->entry >> NW_ARM64_S2_XN_SHIFT) & 3;

	nw_s2_rights_text(res->rights, rights);
	if (q->json)
		fprintf(q->out,
			"{%s\"outcome\": \"ok\", \"gpa\": \"0x%llx\", \"hpa\": \"0x%llx\", \"s2_page_size\": "
			"\"0x%llx\", \"leaf_level\": %d, \"level\": %d, \"rights\": \"%s\", \"s2ap\": \"%s\", "
			"\"xn\": %u, \"memattr\": \"0x%x\", \"memory_type\": \"%s\", \"refs\": %u, "
			"\"populated\": %s",
			q->top ? NW_JSON_SCHEMA_MEMBER : "", (unsigned long long)q->gpa,
			(unsigned long long)res->hpa.val, (unsigned long long)res->page_size, res->level,
			nw_arm64_s2_level(res->level), rights, nw_arm64_s2ap_text(res->entry), xn, res->memory_type,
			memattr_name(res->memory_type, fwb), res->refs, populated ? "true" : "false");
	else
		fprintf(q->out,
			"gpa 0x%llx -> hpa 0x%llx (level-%d %s, 0x%llx-byte page, S2AP %s, XN 0b%u%u, "
			"MemAttr 0x%x %s, rights %s%s",
			(unsigned long long)q->gpa, (unsigned long long)res->hpa.val, nw_arm64_s2_level(res->level),
			nw_arm64_s2_level(res->level) == 3 ? "page" : "block", (unsigned long long)res->page_size,
			nw_arm64_s2ap_text(res->entry), xn >> 1, xn & 1, res->memory_type,
			memattr_name(res->memory_type, fwb), rights, populated ? ", populated on first touch" : "");
	print_attrs(q, res, fwb);
	fputs(q->json ? "}\n" : ")\n", q->out);
}

void nw_gpa_print_arm64(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated, bool fwb)
{
	const struct nw_arm64_s2_access access = { .type = q->access };
	uint64_t esr, hpfar;
	bool has_hpfar;
	char hpfar_member[48] = "", hpfar_text[32] = "UNKNOWN";

	if (res->status == NW_S2_OK) {
		print_ok(q, res, populated, fwb);
		return;
	}
	esr = nw_arm64_s2_esr(res, &access);
	has_hpfar = nw_arm64_hpfar(res, nw_gpa(q->gpa), &access, &hpfar);
	if (has_hpfar) {
		snprintf(hpfar_member, sizeof(hpfar_member), ", \"hpfar_el2\": \"0x%llx\"", (unsigned long long)hpfar);
		snprintf(hpfar_text, sizeof(hpfar_text), "0x%llx", (unsigned long long)hpfar);
	}
	if (q->json)
		fprintf(q->out,
			"{%s\"outcome\": \"stage2_abort\", \"gpa\": \"0x%llx\", \"esr_el2\": \"0x%llx\"%s, "
			"\"fault\": \"%s\", \"level\": %d, \"entry\": \"0x%llx\", \"refs\": %u}\n",
			q->top ? NW_JSON_SCHEMA_MEMBER : "", (unsigned long long)q->gpa, (unsigned long long)esr,
			hpfar_member, nw_arm64_fault_name(res->fault), nw_arm64_s2_level(res->level),
			(unsigned long long)res->entry, res->refs);
	else
		fprintf(q->out,
			"gpa 0x%llx: stage-2 abort, ESR_EL2 0x%llx, HPFAR_EL2 %s (%s fault at level %d, entry "
			"0x%llx)\n",
			(unsigned long long)q->gpa, (unsigned long long)esr, hpfar_text, nw_arm64_fault_name(res->fault),
			nw_arm64_s2_level(res->level), (unsigned long long)res->entry);
}
