/* nestwalk-hw-sim for a RISC-V blob: each case's G-stage (and VS-stage, with a VS-stage part) built on simulated
 * memory as the RISC-V image builds them (contract/rv_case.h, contract/rv_vs.h), the access translated by the
 * library, and the line the image prints (hw/riscv64/main.c) printed from the library's answer: "ok PA" ("-"
 * for a fetch), or "trap CAUSE TVAL TVAL2 TINST GVA", the trap the hart takes from VS-mode or VU-mode into
 * M-mode (nothing is delegated): mcause, mtval, mtval2, mtinst and mstatus.GVA hold what scause, stval, htval,
 * htinst and hstatus.GVA would in HS-mode. With vsatp Bare the guest virtual address is the GPA and the
 * G-stage alone answers (nw_rv_gstage_fault); through a VS-stage nw_rv_vs_walk does. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/riscv_gstage.h>

#include "contract/rv_case.h"
#include "contract/rv_vs.h"
#include "hw/sim_s2.h"

static void print_trap(const struct nw_rv_trap *trap)
{
	printf(" trap 0x%llx 0x%llx 0x%llx 0x%llx %d\n", (unsigned long long)trap->scause,
	       (unsigned long long)trap->stval, (unsigned long long)trap->htval, (unsigned long long)trap->htinst,
	       trap->gva);
}

static void print_ok(const struct hw_blob_case *c, uint64_t pa)
{
	if (c->access == HW_ACCESS_FETCH)
		printf(" ok -\n");
	else
		printf(" ok 0x%llx\n", (unsigned long long)pa);
}

/* vsatp Bare: the GPA through the G-stage alone. */
static void print_case(const struct hw_blob_case *c, struct hw_rv_vm *vm)
{
	struct nw_s2_request req = { .gpa = nw_gpa(c->gva), .type = (enum nw_access_type)c->access };
	struct nw_rv_gstage_access access = { .type = req.type, .gva = c->gva, .gpa = req.gpa };
	struct nw_s2_result res;
	struct nw_rv_trap trap;

	nw_rv_gstage_translate(&vm->s2, &req, &res);
	if (!nw_rv_gstage_fault(&res, &access, &trap))
		print_ok(c, res.hpa.val);
	else
		print_trap(&trap);
}

/* Through the VS-stage. A VS-stage page fault, which the library gives as taken to VS-mode, reaches M-mode
 * here: the same cause and tval, mtval2 and mtinst 0 (written only for guest-page faults), and mstatus.GVA 1
 * since mtval holds a guest virtual address (privileged spec, "Machine Status Registers (mstatus)": GVA). */
static void print_vs_case(const struct hw_blob_case *c, struct hw_rv_vm *vm, const struct hw_rv_vs *vs,
			  const struct hw_rv_vs_part *p)
{
	const struct nw_walk_config config = hw_rv_vs_walk_config(vm);
	const struct nw_access access = { .gva = nw_gva(p->va), .size = 8, .type = (enum nw_access_type)c->access };
	struct nw_walk_result res;

	nw_rv_vs_walk(&config, &vs->cpu, &access, 0, &res);
	if (res.outcome == NW_OUTCOME_OK) {
		print_ok(c, res.hpa.val);
		return;
	}
	if (res.outcome == NW_OUTCOME_PAGE_FAULT)
		res.rv_trap.gva = true;
	if (res.outcome == NW_OUTCOME_PAGE_FAULT || res.outcome == NW_OUTCOME_GUEST_PAGE_FAULT ||
	    res.outcome == NW_OUTCOME_ACCESS_FAULT)
		print_trap(&res.rv_trap);
	else
		printf(" %s\n", nw_outcome_name(res.outcome));
}

static const char *run_case(const struct nw_hal *hal, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			    const uint8_t *tail)
{
	struct hw_blob_entry vs_entries[HW_MAX_ENTRIES];
	struct hw_rv_vs_part part;
	struct hw_rv_vm vm;
	struct hw_rv_vs vs;
	const char *why;

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
	if (c->flags & HW_RV_VS)
		print_vs_case(c, &vm, &vs, &part);
	else
		print_case(c, &vm);
	hw_rv_case_destroy(&vm, &vs);
	return NULL;
}

const struct nw_hw_sim_s2 nw_hw_sim_rv = { .tail = hw_rv_vs_tail, .run_case = run_case };
