/* nestwalk-hw-sim for a RISC-V blob: each case's G-stage (and VS-stage, with a VS-stage part) built on simulated
 * memory as the RISC-V image builds them (contract/rv_case.h, contract/rv_vs.h), the access translated by the
 * library, and the line the image prints (hw/riscv64/main.c) printed from the library's answer: "ok PA" ("-"
 * for a fetch), or "trap CAUSE TVAL TVAL2 TINST GVA", the trap the hart takes from VS-mode or VU-mode into
 * M-mode (nothing is delegated): mcause, mtval, mtval2, mtinst and mstatus.GVA hold what scause, stval, htval,
 * htinst and hstatus.GVA would in HS-mode: hw_rv_case_answer's. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/riscv_gstage.h>

#include "contract/rv_case.h"
#include "contract/rv_vs.h"
#include "hw/sim_s2.h"

/* The library's answer as the image's line. */
static void print_answer(const struct hw_blob_case *c, bool known, const struct hw_rv_answer *a)
{
	if (!known)
		printf(" unknown\n");
	else if (a->ok && c->access == HW_ACCESS_FETCH)
		printf(" ok -\n");
	else if (a->ok)
		printf(" ok 0x%llx\n", (unsigned long long)a->hpa);
	else
		printf(" trap 0x%llx 0x%llx 0x%llx 0x%llx %d\n", (unsigned long long)a->trap.scause,
		       (unsigned long long)a->trap.stval, (unsigned long long)a->trap.htval,
		       (unsigned long long)a->trap.htinst, a->trap.gva);
}

static const char *run_case(const struct nw_hal *hal, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			    const uint8_t *tail)
{
	struct hw_blob_entry vs_entries[HW_MAX_ENTRIES];
	struct hw_rv_vs_part part;
	struct hw_rv_vm vm;
	struct hw_rv_vs vs;
	struct hw_rv_answer answer;
	const char *why;
	bool known;

	if (c->flags & HW_RV_VS) {
		memcpy(&part, tail, sizeof(part));
		if (part.entry_count > HW_MAX_ENTRIES)
			return "truncated";
		memcpy(vs_entries, tail + sizeof(part), part.entry_count * sizeof(vs_entries[0]));
	}
	why = hw_rv_case_build(&vm, &vs, hal, c, entries, c->flags & HW_RV_VS ? &part : 0, vs_entries);
	if (why)
		return why;
	printf("c %u", c->id);
	known = hw_rv_case_answer(&vm, &vs, c, c->flags & HW_RV_VS ? &part : 0, &answer);
	print_answer(c, known, &answer);
	hw_rv_case_destroy(&vm, &vs);
	return NULL;
}

const struct nw_hw_sim_s2 nw_hw_sim_rv = { .tail = hw_rv_vs_tail, .run_case = run_case };
