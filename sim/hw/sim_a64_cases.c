/* nestwalk-hw-sim for an AArch64 blob: each case's stage 2 (and stage 1, with a stage-1 part) built on
 * simulated memory as the AArch64 image builds them (contract/a64_case.h, contract/a64_s1.h), the access
 * translated by the library, and the line the image prints (hw/aarch64/main.c) printed from the library's
 * answer: "ok PA" ("-" for a fetch, as the image sees it); "abort ESR FAR HPFAR" for a stage-2 abort, ESR_EL2
 * with the instruction syndrome of the image's load or store on a final access, FAR_EL2 the virtual address,
 * HPFAR_EL2 "-" where the Arm ARM leaves it UNKNOWN; "exc ESR_EL1 FAR_EL1" for a stage-1 abort taken to EL1. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>

#include "contract/a64_case.h"
#include "contract/a64_s1.h"
#include "hw/sim_s2.h"

static void print_abort(uint64_t esr, uint64_t far, bool has_hpfar, uint64_t hpfar)
{
	printf(" abort 0x%llx 0x%llx", (unsigned long long)esr, (unsigned long long)far);
	if (has_hpfar)
		printf(" 0x%llx\n", (unsigned long long)hpfar);
	else
		printf(" -\n");
}

static void print_ok(const struct hw_blob_case *c, uint64_t pa)
{
	if (c->access == HW_ACCESS_FETCH)
		printf(" ok -\n");
	else
		printf(" ok 0x%llx\n", (unsigned long long)pa);
}

/* Stage 1 off: the IPA through the stage 2 alone. */
static void print_case(const struct hw_blob_case *c, struct hw_a64_vm *vm)
{
	struct nw_s2_request req = { .gpa = nw_gpa(c->gva), .type = (enum nw_access_type)c->access };
	struct nw_arm64_s2_access access = { .type = req.type };
	struct nw_s2_result res;
	uint64_t hpfar = 0;
	bool has_hpfar;

	nw_arm64_s2_translate(&vm->s2, &req, &res);
	if (res.status == NW_S2_OK) {
		print_ok(c, res.hpa.val);
		return;
	}
	has_hpfar = nw_arm64_hpfar(&res, req.gpa, &access, &hpfar);
	print_abort(nw_arm64_s2_esr(&res, &access) | hw_a64_stub_iss(c), c->gva, has_hpfar, hpfar);
}

/* With a stage-1 part: the guest's walk (nw_arm64_walk) over the case's stage 2. */
static void print_s1_case(const struct hw_blob_case *c, struct hw_a64_vm *vm, const struct hw_a64_s1 *s1,
			  const struct hw_a64_s1_part *p)
{
	const struct nw_walk_config config = hw_a64_s1_walk_config(vm);
	const struct nw_access access = { .gva = nw_gva(p->va), .size = 8, .type = (enum nw_access_type)c->access,
					  .unprivileged = p->unprivileged != 0 };
	struct nw_walk_result res;

	nw_arm64_walk(&config, &s1->cpu, &access, NW_WALK_LOOKUP, &res);
	if (res.outcome == NW_OUTCOME_OK)
		print_ok(c, res.hpa.val);
	else if (res.outcome == NW_OUTCOME_STAGE1_ABORT)
		printf(" exc 0x%llx 0x%llx\n", (unsigned long long)res.esr, (unsigned long long)res.far);
	else if (res.outcome == NW_OUTCOME_STAGE2_ABORT)
		/* The instruction syndrome is the final access's: a stage-1 table read has none (ISV 0). */
		print_abort(res.esr | (res.s2_on_table ? 0 : hw_a64_stub_iss(c)), res.far, res.hpfar_valid,
			    res.hpfar);
	else
		printf(" %s\n", nw_outcome_name(res.outcome));
}

static const char *run_case(const struct nw_hal *hal, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			    const uint8_t *tail)
{
	struct hw_blob_entry s1_entries[HW_MAX_ENTRIES];
	struct hw_a64_s1_part part;
	struct hw_a64_s1 s1;
	struct hw_a64_vm vm;
	const char *why;

	if (c->flags & HW_A64_S1) {
		memcpy(&part, tail, sizeof(part));
		if (part.entry_count > HW_MAX_ENTRIES)
			return "truncated";
		memcpy(s1_entries, tail + sizeof(part), part.entry_count * sizeof(s1_entries[0]));
	}
	why = hw_a64_case_build(&vm, &s1, hal, c, entries, c->flags & HW_A64_S1 ? &part : 0, s1_entries);
	if (why)
		return why;
	printf("c %u", c->id);
	if (c->flags & HW_A64_S1)
		print_s1_case(c, &vm, &s1, &part);
	else
		print_case(c, &vm);
	hw_a64_case_destroy(&vm, &s1);
	return NULL;
}

const struct nw_hw_sim_s2 nw_hw_sim_a64 = { .tail = hw_a64_s1_tail, .run_case = run_case };
