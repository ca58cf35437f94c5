/* nestwalk-hw-sim for a RISC-V blob: each case's G-stage built on simulated memory as the RISC-V image builds
 * it (contract/rv_case.h), the access translated by the library's G-stage, and the line the image prints
 * (hw/riscv64/main.c) printed from the library's answer: "ok PA" ("-" for a fetch), or "trap CAUSE TVAL
 * TVAL2 TINST GVA" from nw_rv_gstage_fault, the trap the hart takes from VS-mode (into M-mode there: mcause,
 * mtval, mtval2, mtinst and mstatus.GVA hold what scause, stval, htval, htinst and hstatus.GVA would in
 * HS-mode). The VS-stage is Bare, so the guest virtual address is the GPA. */
#include <stdio.h>

#include <nestwalk/riscv_gstage.h>

#include "contract/rv_case.h"
#include "hw/sim_s2.h"

static void print_case(const struct hw_blob_case *c, struct hw_rv_vm *vm)
{
	struct nw_s2_request req = { .gpa = nw_gpa(c->gva), .type = (enum nw_access_type)c->access };
	struct nw_rv_gstage_access access = { .type = req.type, .gva = c->gva, .gpa = req.gpa };
	struct nw_s2_result res;
	struct nw_rv_trap trap;

	nw_rv_gstage_translate(&vm->s2, &req, &res);
	printf("c %u", c->id);
	if (!nw_rv_gstage_fault(&res, &access, &trap)) {
		if (c->access == HW_ACCESS_FETCH)
			printf(" ok -\n");
		else
			printf(" ok 0x%llx\n", (unsigned long long)res.hpa.val);
		return;
	}
	printf(" trap 0x%llx 0x%llx 0x%llx 0x%llx %d\n", (unsigned long long)trap.scause,
	       (unsigned long long)trap.stval, (unsigned long long)trap.htval, (unsigned long long)trap.htinst,
	       trap.gva);
}

static const char *run_case(const struct nw_hal *hal, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			    const uint8_t *tail)
{
	struct hw_rv_vm vm;
	const char *why = hw_rv_vm_build(&vm, hal, c, entries);

	(void)tail; /* a RISC-V case carries nothing after its entries */
	if (why)
		return why;
	print_case(c, &vm);
	hw_rv_vm_destroy(&vm);
	return NULL;
}

const struct nw_hw_sim_s2 nw_hw_sim_rv = { .tail = NULL, .run_case = run_case };
