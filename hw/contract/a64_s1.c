#include "contract/a64_s1.h"

#include <nestwalk/hal.h>

#define ENTRY_BYTES 8
#define IMAGE_GIB_SHIFT 30
#define SPSR_DAIF 0x3c0u /* D, A, I, F masked */

uint64_t hw_a64_s1_size(const struct hw_a64_s1_part *p)
{
	return sizeof(*p) + (uint64_t)p->entry_count * sizeof(struct hw_blob_entry);
}

bool hw_a64_s1_tail(const struct hw_blob_case *c, const uint8_t *tail, uint64_t room, uint64_t *len)
{
	*len = 0;
	if (!(c->flags & HW_A64_S1))
		return true;
	if (room < sizeof(struct hw_a64_s1_part))
		return false;
	*len = hw_a64_s1_size((const struct hw_a64_s1_part *)tail);
	return *len <= room;
}

uint64_t hw_a64_s1_spsr(const struct hw_a64_s1_part *p)
{
	return p->pstate | SPSR_DAIF;
}

struct nw_walk_config hw_a64_s1_walk_config(struct hw_a64_vm *vm)
{
	return (struct nw_walk_config){ .hal = vm->t.hal, .stage2 = { .kind = NW_STAGE2_ARM64, .arm64 = &vm->s2 } };
}

/* An address in the GiB of the image's IPAs (the image, its frames, the scratch region). */
static int is_near_image(uint64_t addr)
{
	return (addr & NW_ARM64_S1_ADDR_MASK) >> IMAGE_GIB_SHIFT == (uint64_t)HW_A64_IMAGE_BLOCK >> IMAGE_GIB_SHIFT;
}

/* The only descriptor allowed to reach the image's GiB: a read-only block (a page there would need a table
 * descriptor above it, which may be any table of the image's). */
static int is_image_safe(uint64_t desc)
{
	return !(desc & NW_ARM64_S1_VALID) || !is_near_image(desc) ||
	       ((desc & (NW_ARM64_S1_VALID | NW_ARM64_S1_TABLE)) == NW_ARM64_S1_VALID && (desc & NW_ARM64_S1_AP2));
}

static const char *check_regs(const struct hw_a64_s1_part *p, uint8_t access)
{
	const struct nw_arm64_el1_regs regs = {
		.sctlr = p->sctlr, .tcr = p->tcr, .ttbr0 = p->ttbr0, .ttbr1 = p->ttbr1, .mair = p->mair
	};
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_arm64_s1 s1;
	uint32_t m = p->pstate & ~(HW_A64_PSTATE_PAN | HW_A64_PSTATE_UAO);

	if (p->sctlr & ~HW_A64_SCTLR_ALLOWED)
		return "SCTLR_EL1 bits besides M, WXN, SPAN and RES1";
	if (nw_arm64_s1_decode(&regs, &caps, &s1) != NW_OK)
		return "EL1 registers the library refuses";
	if (s1.ha || s1.hd)
		return "hardware Access flag or dirty state updates (the image's stores must land in scratch only)";
	if (m != 0 && m != HW_A64_PSTATE_EL1H)
		return "a PSTATE besides EL0t or EL1h with PAN and UAO";
	if (p->unprivileged > 1 || (p->unprivileged && access == HW_ACCESS_FETCH))
		return "an unprivileged fetch";
	if (is_near_image(p->ttbr0) || is_near_image(p->ttbr1))
		return "a TTBR in the GiB of the image's IPAs";
	return 0;
}

const char *hw_a64_s1_check(const struct hw_a64_s1_part *p, const struct hw_blob_entry *entries, uint8_t access)
{
	const char *why = check_regs(p, access);

	if (why)
		return why;
	if (p->table_count == 0 || p->table_count > HW_MAX_TABLES || p->entry_count > HW_MAX_ENTRIES || p->reserved)
		return "stage-1 table or entry count out of range";
	for (unsigned i = 0; i < p->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (e->table >= p->table_count || e->link || e->reserved || e->index >= NW_PAGE_SIZE / ENTRY_BYTES)
			return "a stage-1 entry outside its table, or with a link";
		if (!is_image_safe(e->value))
			return "a stage-1 descriptor into the GiB of the image's IPAs that is not a read-only block";
	}
	return 0;
}

const char *hw_a64_s1_alloc(struct hw_a64_s1 *s1, const struct nw_hal *hal, const struct hw_a64_s1_part *p)
{
	*s1 = (struct hw_a64_s1){ .hal = hal };
	if (hw_case_pages_alloc(hal, s1->tables, p->table_count, &s1->table_count))
		return 0;
	hw_a64_s1_destroy(s1);
	return "no frame for a stage-1 table";
}

/* The image's code at VA = IPA = its own address: fetched at EL1 and EL0, a store refused at stage 1. */
static const char *check_image_path(const struct nw_walk_config *config, const struct nw_arm64_cpu *cpu)
{
	static const struct {
		enum nw_access_type type;
		bool el0, ok;
	} probes[] = { { NW_ACCESS_FETCH, false, true },
		       { NW_ACCESS_FETCH, true, true },
		       { NW_ACCESS_WRITE, false, false },
		       { NW_ACCESS_WRITE, true, false } };

	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct nw_arm64_cpu probe = *cpu;
		struct nw_access access = { .gva = nw_gva(HW_A64_LINK_BASE), .size = 4, .type = probes[i].type };
		struct nw_walk_result res;

		probe.el0 = probes[i].el0;
		nw_arm64_walk(config, &probe, &access, NW_WALK_LOOKUP, &res);
		if (probes[i].ok && (res.outcome != NW_OUTCOME_OK || res.gpa.val != HW_A64_LINK_BASE))
			return "the case's stage 1 does not run the image's code at its own address at EL1 and EL0";
		if (!probes[i].ok && res.outcome != NW_OUTCOME_STAGE1_ABORT)
			return "the case's stage 1 lets the guest write the image";
	}
	return 0;
}

const char *hw_a64_s1_fill(struct hw_a64_s1 *s1, struct hw_a64_vm *vm, const struct hw_a64_s1_part *p,
			   const struct hw_blob_entry *entries)
{
	const struct nw_arm64_el1_regs regs = {
		.sctlr = p->sctlr, .tcr = p->tcr, .ttbr0 = p->ttbr0, .ttbr1 = p->ttbr1, .mair = p->mair
	};
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_walk_config config = hw_a64_s1_walk_config(vm);

	for (unsigned i = 0; i < p->entry_count; i++)
		((uint64_t *)nw_hal_phys_to_virt(s1->hal,
						 s1->tables[entries[i].table]))[entries[i].index] = entries[i].value;
	if (nw_arm64_s1_decode(&regs, &caps, &s1->cpu.s1) != NW_OK)
		return "EL1 registers the library refuses";
	s1->cpu.el0 = (p->pstate & HW_A64_PSTATE_EL1H) == 0;
	s1->cpu.pan = (p->pstate & HW_A64_PSTATE_PAN) != 0;
	s1->cpu.uao = (p->pstate & HW_A64_PSTATE_UAO) != 0;
	return s1->cpu.s1.enabled ? check_image_path(&config, &s1->cpu) : 0;
}

void hw_a64_s1_destroy(struct hw_a64_s1 *s1)
{
	hw_case_pages_free(s1->hal, s1->tables, &s1->table_count);
}

const char *hw_a64_case_build(struct hw_a64_vm *vm, struct hw_a64_s1 *s1, const struct nw_hal *hal,
			      const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			      const struct hw_a64_s1_part *p, const struct hw_blob_entry *s1_entries)
{
	const char *why = p ? hw_a64_s1_check(p, s1_entries, c->access) : 0;

	*s1 = (struct hw_a64_s1){ .hal = hal };
	if (!why && p)
		why = hw_a64_s1_alloc(s1, hal, p);
	if (!why)
		why = hw_a64_vm_build(vm, hal, c, entries, s1->tables, s1->table_count);
	if (!why && p && (why = hw_a64_s1_fill(s1, vm, p, s1_entries)))
		hw_a64_vm_destroy(vm);
	if (why)
		hw_a64_s1_destroy(s1);
	return why;
}

void hw_a64_case_destroy(struct hw_a64_vm *vm, struct hw_a64_s1 *s1)
{
	hw_a64_vm_destroy(vm);
	hw_a64_s1_destroy(s1);
}
