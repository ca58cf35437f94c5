/* The replay engine (replay.h): one record at a time against the walker, the
 * TLB model and the address space. */
#include <stdlib.h>
#include <string.h>

#include <nestwalk/x86_pte.h>

#include "replay/replay.h"

/* A walk touches at most 5 guest tables and the final page, each of which a
 * lazy region may populate once. */
#define MAX_RETRIES 8

int nw_replay_init(struct nw_replay *r, struct nw_replay_machine *m, const struct nw_replay_options *options,
		   char *err, size_t errlen)
{
	size_t size = nw_tlb_storage_size(&nw_tlb_default_geometry);
	struct nw_walk_result res;
	void *walker;

	*r = (struct nw_replay){ .machine = m, .options = *options, .aspace = m->aspace };
	/* The paging-structure caches take each level's table; an explanation shows every entry read. */
	r->walk_flags = (options->tlb ? NW_WALK_RECORD_STEPS : 0) | (options->no_explain ? 0 : NW_WALK_RECORD);
	if (options->record_on_mismatch)
		r->walk_flags |= NW_WALK_PLAIN_FIRST;
	r->config = (struct nw_walk_config){ .hal = m->hal, .stage2 = m->stage2, .ad_policy = NW_AD_AS_PASSED,
					     .window = m->window };
	if (m->arch == NW_TRACE_ARCH_AARCH64 || m->arch == NW_TRACE_ARCH_RISCV64) {
		if ((m->arch == NW_TRACE_ARCH_AARCH64 ? nw_replay_a64_init : nw_replay_rv_init)(r, err, errlen) == 0)
			return 0;
		nw_replay_fini(r);
		return -1;
	}
	r->tlb_storage = calloc(1, size);
	if (!r->tlb_storage || nw_tlb_init(&r->tlb, &nw_tlb_default_geometry, r->tlb_storage, size) != NW_OK) {
		free(r->tlb_storage);
		snprintf(err, errlen, "cannot set up the TLB model (%zu bytes)", size);
		return -1;
	}
	nw_tlb_load_cpu(&r->tlb, m->cpu.cr0, m->cpu.cr3, m->cpu.cr4);
	nw_tlb_load_vm(&r->tlb, NW_REPLAY_VPID, m->stage2.kind == NW_STAGE2_EPT, m->eptp);
	/* The state the scenario describes is as if CR3 had just been loaded (PAE: the PDPTE registers). */
	nw_cpu_load_cr3(&r->config, &m->cpu, m->cpu.cr3, &res);
	if (res.outcome != NW_OUTCOME_OK)
		r->stats.cr3_faults++;
	walker = malloc(nw_walker_size());
	if (!walker) {
		nw_replay_fini(r);
		snprintf(err, errlen, "cannot allocate the walker (%zu bytes)", nw_walker_size());
		return -1;
	}
	r->walker = nw_walker_init(walker, &r->config, &m->cpu);
	return 0;
}

void nw_replay_use_vm(struct nw_replay *r, struct nw_aspace *as)
{
	r->aspace = as;
	r->config.stage2 = *nw_aspace_stage2(as);
}

void nw_replay_fini(struct nw_replay *r)
{
	free(r->tlb_storage);
	r->tlb_storage = NULL;
	free(r->walker);
	r->walker = NULL;
	nw_replay_a64_fini(r);
	nw_replay_rv_fini(r);
}

const char *nw_replay_outcome_name(unsigned kind)
{
	return kind == NW_REPLAY_OUT_NO_MEMORY ? "no_memory" : nw_trace_outcome_name((enum nw_trace_outcome)kind);
}

/* A recent TLB slot's memo: the kinds of access (type x user) its entry
 * allows under the CPU state it was made in. The slots are emptied on every
 * register write, so that state is the current one. */
#define MEMO_SET 0x80

static __attribute__((noinline)) uint8_t usable_classes(const struct nw_replay *r, const struct nw_tlb_entry *e)
{
	return (uint8_t)(MEMO_SET | nw_walker_tlb_allowed(r->walker, e));
}

static bool is_s2_fault(const struct nw_walk_result *res)
{
	return res->outcome == NW_OUTCOME_EPT_VIOLATION || res->outcome == NW_OUTCOME_NPF ||
	       res->outcome == NW_OUTCOME_STAGE2_ABORT || res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT;
}

static unsigned s2_fault_kind(enum nw_outcome outcome)
{
	return outcome == NW_OUTCOME_NPF                ? NW_TRACE_OUT_NPF
	       : outcome == NW_OUTCOME_STAGE2_ABORT     ? NW_TRACE_OUT_STAGE2_ABORT
	       : outcome == NW_OUTCOME_GUEST_PAGE_FAULT ? NW_TRACE_OUT_GUEST_PAGE_FAULT
							: NW_TRACE_OUT_EPT_VIOLATION;
}

static unsigned outcome_kind(const struct nw_walk_result *res, const struct nw_aspace_exit *exit)
{
	switch (res->outcome) {
	case NW_OUTCOME_OK: return NW_TRACE_OUT_OK;
	case NW_OUTCOME_PAGE_FAULT: return NW_TRACE_OUT_PAGE_FAULT;
	case NW_OUTCOME_EPT_MISCONFIG: return NW_TRACE_OUT_EPT_MISCONFIG;
	case NW_OUTCOME_GP: return NW_TRACE_OUT_GENERAL_PROTECTION;
	case NW_OUTCOME_NO_MEMORY: return NW_REPLAY_OUT_NO_MEMORY;
	case NW_OUTCOME_STAGE1_ABORT:
		return NW_TRACE_OUT_STAGE1_ABORT;
	case NW_OUTCOME_EPT_VIOLATION:
	case NW_OUTCOME_NPF:
	case NW_OUTCOME_STAGE2_ABORT:
	case NW_OUTCOME_GUEST_PAGE_FAULT:
		/* The host had no frame for a lazy page: its failure, not a guest fault. */
		if (exit->kind == NW_ASPACE_FAULT_NO_MEMORY)
			return NW_REPLAY_OUT_NO_MEMORY;
		/* Exits are for the final access: a guest table in device memory or a
		 * table write into ROM stays the violation the CPU reports. */
		if (!res->s2_on_table && exit->kind == NW_ASPACE_FAULT_MMIO)
			return NW_TRACE_OUT_MMIO;
		if (!res->s2_on_table && exit->kind == NW_ASPACE_FAULT_ROM_WRITE)
			return NW_TRACE_OUT_ROM_WRITE;
		return s2_fault_kind(res->outcome);
	case NW_OUTCOME_ACCESS_FAULT:
		return NW_TRACE_OUT_ACCESS_FAULT;
	}
	return NW_REPLAY_OUT_NO_MEMORY;
}

/* What a completed walk leaves in the TLB and the paging-structure caches. */
static void fill_tlb(struct nw_replay *r, const struct nw_access *a, const struct nw_walk_result *res)
{
	bool long_mode = res->mode == NW_PAGING_4LEVEL || res->mode == NW_PAGING_5LEVEL;
	struct nw_tlb_fill fill = {
		.gva = a->gva,
		.gpa = res->gpa,
		.hpa = res->hpa,
		.guest_page_size = res->guest_page_size,
		.s2_page_size = r->machine->stage2.kind == NW_STAGE2_NONE ? 0 : res->s2_page_size,
		.rights = res->rights,
		.s2_rights = (uint8_t)res->s2_rights,
		.pk = long_mode ? (uint8_t)nw_pte_pk(res->leaf_entry) : 0,
		/* The walk set D for a write it allowed (§4.8). */
		.dirty = (res->leaf_entry & NW_PTE_D) || a->type == NW_ACCESS_WRITE,
		.global = (res->leaf_entry & NW_PTE_G) != 0,
	};

	if (res->leaf_level < 1)
		return; /* paging off: nothing is cached */
	nw_tlb_insert(&r->tlb, &fill);
	if (!long_mode)
		return;
	/* PML5E, PML4E, PDPTE and PDE caches hold non-leaf entries: the next table and the rights so far
	 * (§4.10.3); a walk that went on below a cached entry read none above it. */
	for (int level = NW_MAX_LEVELS; level >= 2; level--)
		if (level > res->leaf_level && res->steps[level].read)
			nw_tlb_psc_insert(&r->tlb, a->gva, level, res->steps[level - 1].table_gpa,
					  res->steps[level - 1].table_hpa, res->steps[level].rights);
}

/* The result's fields from a walk (an access's, or a register write's PDPTE load) and the exit it became. */
static void set_walk_fields(struct nw_replay_result *out, const struct nw_walk_result *res,
			    const struct nw_aspace_exit *exit)
{
	out->kind = outcome_kind(res, exit);
	out->from_tlb = false;
	out->gpa = res->gpa.val;
	out->hpa = res->hpa.val;
	out->error_code = res->outcome == NW_OUTCOME_NPF ? res->exitinfo1 : res->error_code;
	out->exit_qualification = res->exit_qualification;
	out->fault_gpa = res->fault_gpa.val;
	out->refs = res->refs;
	out->guest_page_size = res->guest_page_size;
	out->s2_page_size = res->s2_page_size;
	/* fault_level is the EPT entry's level for a misconfiguration (walk.h). */
	out->misconfig_level = res->outcome == NW_OUTCOME_EPT_MISCONFIG ? (uint8_t)res->fault_level : 0;
	out->gla_valid = res->outcome == NW_OUTCOME_EPT_VIOLATION && res->gla_valid;
	/* An abort's syndrome and fault addresses; HPFAR_EL2 only where the Arm ARM defines it (else 0). */
	out->esr = out->kind == NW_TRACE_OUT_STAGE1_ABORT || out->kind == NW_TRACE_OUT_STAGE2_ABORT ? res->esr : 0;
	out->far = out->esr ? res->far : 0;
	out->hpfar = out->esr && res->hpfar_valid ? res->hpfar : 0;
	/* A RISC-V trap's CSRs, as translate --gva reports them (0 for any other walk): htval and htinst are those of
	 * a trap taken to HS-mode, 0 for a page fault taken to VS-mode (nw_rv_vs_walk). */
	out->rv_trap = res->rv_trap;
	out->reg_write = false;
}

/* One walk of a piece: the architecture's walk, or the x86 walker from CR3 or from a paging-structure-cache
 * entry. */
static void walk_once(struct nw_replay *r, const struct nw_access *a, const struct nw_walk_start *start,
		      struct nw_walk_result *res)
{
	if (r->arch)
		r->arch->walk(r, a, r->walk_flags & NW_WALK_RECORD, res);
	else if (start)
		nw_walker_translate_from(r->walker, a, r->walk_flags, start, res);
	else
		nw_walker_translate(r->walker, a, r->walk_flags, res);
}

/* start: where a paging-structure cache lets the walk go on (NULL: from CR3). */
static void walk_piece(struct nw_replay *r, const struct nw_access *a, const struct nw_walk_start *start,
		       struct nw_replay_result *out)
{
	struct nw_aspace_exit exit = { .kind = NW_ASPACE_FAULT_VIOLATION };
	struct nw_walk_result *res = &out->walk;

	for (unsigned tries = 0;; tries++) {
		walk_once(r, a, start, res);
		if (!is_s2_fault(res) || !r->aspace || tries == MAX_RETRIES)
			break;
		if (nw_aspace_resolve_fault(r->aspace, res->fault_gpa,
					    res->s2_on_table ? NW_ACCESS_READ : a->type, res->s2_on_table ? 8 : a->size,
					    &exit) != NW_OK || exit.kind != NW_ASPACE_FAULT_RETRY)
			break;
		r->stats.populated++;
	}
	set_walk_fields(out, res, &exit);
	r->stats.host_exhausted += exit.kind == NW_ASPACE_FAULT_NO_MEMORY;
	r->stats.walks++;
	r->stats.refs_hist[res->refs < NW_REPLAY_REFS_MAX ? res->refs : NW_REPLAY_REFS_MAX]++;
	if (!r->options.tlb)
		return; /* without the TLB model nothing is looked up, so nothing is filled or dropped */
	if (res->outcome == NW_OUTCOME_OK && r->arch)
		r->arch->fill(r, a, res);
	else if (res->outcome == NW_OUTCOME_OK)
		fill_tlb(r, a, res);
	else if (res->outcome == NW_OUTCOME_PAGE_FAULT)
		nw_tlb_invlpg(&r->tlb, a->gva); /* a #PF drops what the faulting address used (§4.10.4.1) */
}

static void translate_piece(struct nw_replay *r, const struct nw_access *a, struct nw_replay_result *out)
{
	struct nw_tlb_hit hit;
	struct nw_psc_hit psc;

	out->access = *a;
	if (r->arch) {
		out->el = r->a64 ? (r->a64->cpu.el0 ? 0 : 1) : (r->rv->cpu.vu ? NW_TRACE_PRIV_VU : NW_TRACE_PRIV_VS);
		if (!r->options.tlb || !r->arch->lookup(r, a, out))
			walk_piece(r, a, NULL, out);
		return;
	}
	if (r->options.tlb) {
		bool user = nw_walker_is_user_access(r->walker, a->implicit);

		r->stats.tlb_lookups++;
		if (nw_tlb_lookup(&r->tlb, a->gva, &hit) &&
		    nw_walker_tlb_allows(r->walker, hit.entry, a->type, user)) {
			r->stats.tlb_hits++;
			/* Field by field: out->walk is read only when from_tlb is false, and clearing it costs more
			 * than the rest of the hit. */
			out->kind = NW_TRACE_OUT_OK;
			out->from_tlb = true;
			out->cache = hit.cache;
			out->gpa = hit.gpa.val;
			out->hpa = hit.hpa.val;
			out->error_code = 0;
			out->exit_qualification = 0;
			out->fault_gpa = 0;
			out->refs = 0;
			out->guest_page_size = hit.entry->guest_page_size;
			out->s2_page_size = 0;
			out->misconfig_level = 0;
			out->gla_valid = false;
			out->reg_write = false;
			return;
		}
		r->stats.psc_lookups++;
		if (nw_tlb_psc_lookup(&r->tlb, a->gva, &psc)) {
			/* The processor may go on from the deepest cached entry (§4.10.3.2). */
			struct nw_walk_start start = { psc.level, psc.table_gpa, psc.table_hpa, psc.rights };

			r->stats.psc_hits++;
			walk_piece(r, a, &start, out);
			return;
		}
	}
	walk_piece(r, a, NULL, out);
}

unsigned nw_replay_access_pieces(struct nw_replay *r, const struct nw_trace_access *ta, struct nw_replay_result *res,
				 struct nw_replay_result pieces[2])
{
	struct nw_cpu *cpu = &r->machine->cpu;
	uint64_t rflags = ta->ac ? cpu->rflags | NW_RFLAGS_AC : cpu->rflags & ~NW_RFLAGS_AC;
	struct nw_access access = {
		.gva = ta->gva, .size = ta->size, .type = ta->type, .implicit = ta->implicit, .unprivileged = ta->unpriv
	};
	struct nw_access parts[2];
	unsigned n, done = 1;

	if (r->arch)
		r->arch->set_priv(r, ta->cpl); /* an aarch64 access's exception level, a riscv64 one's privilege */
	else if (cpu->cpl != ta->cpl || cpu->rflags != rflags) {
		cpu->cpl = ta->cpl;
		cpu->rflags = rflags;
		nw_walker_set_cpu(r->walker, cpu);
	}
	n = nw_walk_split(&access, parts);
	translate_piece(r, &parts[0], res);
	r->stats.translations++;
	if (pieces)
		pieces[0] = *res;
	if (n == 2 && res->kind == NW_TRACE_OUT_OK) {
		struct nw_replay_result local, *second = pieces ? &pieces[1] : &local;
		uint32_t first_refs = res->refs;

		translate_piece(r, &parts[1], second);
		r->stats.translations++;
		done = 2;
		if (second->kind != NW_TRACE_OUT_OK) {
			*res = *second; /* the access faults where its second page does */
			res->refs += first_refs;
		} else {
			res->refs += second->refs;
		}
	}
	r->stats.accesses++;
	r->stats.outcomes[res->kind]++;
	return done;
}

void nw_replay_access(struct nw_replay *r, const struct nw_trace_access *ta, struct nw_replay_result *res)
{
	nw_replay_access_pieces(r, ta, res, NULL);
}

int nw_replay_check_access(const struct nw_cpu *cpu, const struct nw_trace_access *ta, char *err, size_t errlen)
{
	struct nw_access access = { .gva = ta->gva, .size = ta->size, .type = ta->type, .implicit = ta->implicit };
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);

	if (nw_access_is_linear(mode, &access))
		return 0;
	snprintf(err, errlen, "access of %u byte(s) at gva 0x%llx: not a linear address with %s%s, whose linear "
		 "addresses are 32 bits (SDM Vol. 3A 4.1)", ta->size, (unsigned long long)ta->gva.val,
		 mode == NW_PAGING_OFF ? "paging off" : nw_paging_mode_name(mode), mode == NW_PAGING_OFF ? "" : " paging");
	return -1;
}

/* Whether the access can be translated: an x86 linear address, or registers the library takes. */
static int check_access(const struct nw_replay *r, const struct nw_trace_access *ta, char *err, size_t errlen)
{
	if (r->arch)
		return r->arch->check_access(r, ta, err, errlen);
	return nw_replay_check_access(&r->machine->cpu, ta, err, errlen);
}

/* MOV to CR0 or CR4 loads the PDPTE registers from CR3 when PAE paging is in use after it and it changes CR0.CD,
 * CR0.NW or CR0.PG, or CR4.PAE, CR4.PGE, CR4.PSE or CR4.SMEP (SDM Vol. 3A 4.4.1); any other write loads none. */
#define CR0_CD (UINT64_C(1) << 30)
#define CR0_NW (UINT64_C(1) << 29)
#define CR0_PDPTE_LOAD_BITS (NW_CR0_PG | CR0_CD | CR0_NW)
#define CR4_PDPTE_LOAD_BITS (NW_CR4_PAE | NW_CR4_PGE | NW_CR4_PSE | NW_CR4_SMEP)

static bool is_pdpte_load(const struct nw_cpu *old, const struct nw_cpu *next)
{
	return nw_cpu_paging_mode(next) == NW_PAGING_PAE && (((old->cr0 ^ next->cr0) & CR0_PDPTE_LOAD_BITS) ||
							      ((old->cr4 ^ next->cr4) & CR4_PDPTE_LOAD_BITS));
}

/* The PDPTE load of a MOV to CR0 or CR4 (is_pdpte_load) into next, the CPU with the new value: false when it
 * faults (a reserved bit: #GP), and then the write changes nothing. */
static bool load_pdptes_if_pae(struct nw_replay *r, const struct nw_cpu *old, struct nw_cpu *next,
			       struct nw_walk_result *res)
{
	if (is_pdpte_load(old, next))
		nw_cpu_load_cr3(&r->config, next, next->cr3, res);
	return res->outcome == NW_OUTCOME_OK;
}

/* Applies a register write; res is what its PDPTE load gave (NW_OUTCOME_OK when it loads none). */
static void write_reg(struct nw_replay *r, const struct nw_trace_regwrite *w, struct nw_walk_result *res)
{
	struct nw_cpu *cpu = &r->machine->cpu;
	struct nw_cpu next = *cpu;

	switch (w->reg) {
	case NW_TRACE_CR0:
		next.cr0 = w->value;
		if (load_pdptes_if_pae(r, cpu, &next, res)) {
			*cpu = next;
			nw_tlb_write_cr0(&r->tlb, w->value);
		}
		break;
	case NW_TRACE_CR3:
		/* Bit 63 asks the TLB not to flush (PCIDE=1); CR3 itself never holds it (§4.10.4.1). */
		nw_cpu_load_cr3(&r->config, cpu, w->value & ~NW_TLB_CR3_NOFLUSH, res);
		if (res->outcome == NW_OUTCOME_OK)
			nw_tlb_write_cr3(&r->tlb, w->value);
		break;
	case NW_TRACE_CR4:
		next.cr4 = w->value;
		if (load_pdptes_if_pae(r, cpu, &next, res)) {
			*cpu = next;
			nw_tlb_write_cr4(&r->tlb, w->value);
		}
		break;
	case NW_TRACE_EFER:
		cpu->efer = w->value;
		break;
	case NW_TRACE_RFLAGS:
		cpu->rflags = w->value;
		break;
	case NW_TRACE_PKRU:
		cpu->pkru = (uint32_t)w->value;
		break;
	case NW_TRACE_PKRS:
		cpu->pkrs = (uint32_t)w->value;
		break;
	default: /* the AArch64 registers: nw_replay_apply refuses them before */
		break;
	}
	if (res->outcome != NW_OUTCOME_OK) {
		r->stats.cr3_faults++; /* the write faulted: nothing changed */
		return;
	}
	nw_walker_set_cpu(r->walker, cpu);
	nw_tlb_forget_recent(&r->tlb); /* their memos were made under the old state */
}

/* An AArch64 or RISC-V register write: an MSR or CSR write takes any value, so its result is ok; what the model
 * cannot follow is refused with err. */
static int apply_arch_reg(struct nw_replay *r, const struct nw_trace_regwrite *w, char *err, size_t errlen)
{
	const struct nw_aspace_exit exit = { .kind = NW_ASPACE_FAULT_VIOLATION };

	if (r->arch->write_reg(r, w, err, errlen))
		return -1;
	r->result.walk = (struct nw_walk_result){ .outcome = NW_OUTCOME_OK };
	set_walk_fields(&r->result, &r->result.walk, &exit);
	r->result.reg_write = true;
	r->result.reg = *w;
	r->has_result = true;
	return 0;
}

/* A register write as a result an expectation may check: its PDPTE load's outcome and fault fields. */
static void apply_reg(struct nw_replay *r, const struct nw_trace_regwrite *w)
{
	struct nw_replay_result *out = &r->result;
	const struct nw_aspace_exit exit = { .kind = NW_ASPACE_FAULT_VIOLATION };

	out->walk = (struct nw_walk_result){ .outcome = NW_OUTCOME_OK };
	write_reg(r, w, &out->walk);
	set_walk_fields(out, &out->walk, &exit);
	out->reg_write = true;
	out->reg = *w;
}

static int write_guest(struct nw_replay *r, const struct nw_trace_gpwrite *w, char *err, size_t errlen)
{
	void *dst;

	if (r->aspace) {
		nw_status_t status = nw_aspace_write(r->aspace, w->gpa, w->data, w->len);
		char why[128];

		if (status == NW_OK)
			return 0;
		nw_vm_write_error(r->aspace, status, w->gpa.val, w->len, why, sizeof(why));
		snprintf(err, errlen, "guest-physical write of %u bytes at 0x%llx: %s", w->len,
			 (unsigned long long)w->gpa.val, why);
		return -1;
	}
	dst = nw_memdump_ptr(r->machine->dump, w->gpa.val, w->len);
	if (!dst) {
		snprintf(err, errlen, "guest-physical write of %u bytes at 0x%llx: not in the memory dump", w->len,
			 (unsigned long long)w->gpa.val);
		return -1;
	}
	memcpy(dst, w->data, w->len);
	return 0;
}

/* The hypervisor's edit of its second stage (FORMAT.md, "Records"), through the library's raw edit, which allocates
 * no frame and changes nothing when it refuses. No TLB entry is touched: what was made through the old entry stays
 * until the invalidation its architecture requires (INVEPT, TLBI IPAS2E1 then VMALLE1, HFENCE.GVMA). */
static int edit_stage2(struct nw_replay *r, const struct nw_trace_s2edit *e, char *err, size_t errlen)
{
	/* The trace's level in its architecture's numbering (nw_trace_arch_check), as the library counts it. */
	int level = r->a64 ? nw_arm64_s2_level(e->level) : r->rv ? e->level + 1 : e->level;
	nw_status_t status;

	if (!r->aspace) {
		snprintf(err, errlen, "s2edit of gpa 0x%llx: a memory dump has no second stage to edit",
			 (unsigned long long)e->gpa.val);
		return -1;
	}
	status = nw_aspace_edit_entry(r->aspace, e->gpa, level, e->clear, e->set);
	if (status != NW_OK) {
		snprintf(err, errlen, "s2edit of the level-%u entry for gpa 0x%llx: %s", e->level,
			 (unsigned long long)e->gpa.val, nw_vm_edit_error(r->aspace, status));
		return -1;
	}
	r->stats.s2edits++;
	return 0;
}

static void invalidate(struct nw_replay *r, const struct nw_trace_record *rec)
{
	const struct nw_trace_inv *inv = &rec->inv;
	const char *why = NULL;
	char operands[48];

	switch (rec->kind) {
	case NW_TRACE_INVLPG:
		nw_tlb_invlpg(&r->tlb, inv->gva);
		r->stats.invalidations[0]++;
		return;
	case NW_TRACE_INVPCID:
		if (nw_tlb_invpcid(&r->tlb, inv->type, inv->id, inv->gva) != NW_OK)
			why = nw_tlb_invpcid_refusal(&r->tlb, inv->type, inv->id);
		snprintf(operands, sizeof(operands), "type=0x%x pcid=0x%x", inv->type, inv->id);
		r->stats.invalidations[1]++;
		break;
	case NW_TRACE_INVVPID:
		if (nw_tlb_invvpid(&r->tlb, inv->type, inv->id, inv->gva) != NW_OK)
			why = nw_tlb_invvpid_refusal(inv->type, inv->id);
		snprintf(operands, sizeof(operands), "type=0x%x vpid=0x%x", inv->type, inv->id);
		r->stats.invalidations[2]++;
		break;
	default:
		if (nw_tlb_invept(&r->tlb, inv->type, inv->eptp) != NW_OK)
			why = nw_tlb_invept_refusal(inv->type);
		snprintf(operands, sizeof(operands), "type=0x%x", inv->type);
		r->stats.invalidations[3]++;
		break;
	}
	if (!why)
		return;
	if (r->stats.failed_invalidations++ == 0) {
		r->refused_record = r->record;
		snprintf(r->refused, sizeof(r->refused), "%s %s: %s", nw_trace_kind_name(rec->kind), operands, why);
	}
}

uint64_t nw_replay_field(const struct nw_replay_result *res, enum nw_trace_expect_field field)
{
	switch (field) {
	case NW_EXPECT_OUTCOME: return res->kind;
	case NW_EXPECT_GPA: return res->gpa;
	case NW_EXPECT_HPA: return res->hpa;
	case NW_EXPECT_ERROR_CODE: return res->error_code;
	case NW_EXPECT_EXIT_QUALIFICATION: return res->exit_qualification;
	case NW_EXPECT_FAULT_GPA: return res->fault_gpa;
	case NW_EXPECT_REFS: return res->refs;
	case NW_EXPECT_GUEST_PAGE_SIZE: return res->guest_page_size;
	case NW_EXPECT_S2_PAGE_SIZE: return res->s2_page_size;
	case NW_EXPECT_MISCONFIG_LEVEL: return res->misconfig_level;
	case NW_EXPECT_GLA_VALID: return res->gla_valid;
	case NW_EXPECT_ESR:
		return res->esr;
	case NW_EXPECT_FAR:
		return res->far;
	case NW_EXPECT_HPFAR:
		return res->hpfar;
	case NW_EXPECT_SCAUSE:
		return res->rv_trap.scause;
	case NW_EXPECT_STVAL:
		return res->rv_trap.stval;
	case NW_EXPECT_HTVAL:
		return res->rv_trap.htval;
	case NW_EXPECT_HTINST:
		return res->rv_trap.htinst;
	case NW_EXPECT_FIELD_COUNT: break;
	}
	return 0;
}

static int check(struct nw_replay *r, const struct nw_trace_expect *e, struct nw_replay_mismatch *out, unsigned max)
{
	uint64_t wanted[NW_EXPECT_FIELD_COUNT];
	int count = 0;

	r->stats.expectations++;
	nw_trace_expect_get_fields(e, wanted);
	/* Only the fields the expectation carries, lowest first. */
	for (uint32_t left = e->present; left; left &= left - 1) {
		enum nw_trace_expect_field field = (enum nw_trace_expect_field)__builtin_ctz(left);
		uint64_t want = wanted[field], got = nw_replay_field(&r->result, field);

		if (want == got)
			continue;
		if ((unsigned)count < max)
			out[count] = (struct nw_replay_mismatch){ r->record, field, want, got };
		count++;
	}
	r->stats.mismatches += count > 0;
	if (count && !r->arch && (r->walk_flags & NW_WALK_PLAIN_FIRST) && !r->result.from_tlb && !r->result.reg_write &&
	    !r->result.walk.recorded)
		/* Answered by the plain copies, which wrote nothing: the same walk, now recorded. */
		nw_walker_translate(r->walker, &r->result.access, NW_WALK_LOOKUP | NW_WALK_RECORD, &r->result.walk);
	return count;
}

int nw_replay_apply(struct nw_replay *r, const struct nw_trace_record *rec, struct nw_replay_mismatch *mismatches,
		    unsigned max, char *err, size_t errlen)
{
	bool had_result = r->has_result;

	r->record++;
	r->stats.records++;
	r->has_result = false;
	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		if (check_access(r, &rec->access, err, errlen))
			return -1;
		nw_replay_access(r, &rec->access, &r->result);
		r->has_result = true;
		return 0;
	case NW_TRACE_EXPECT:
		if (!had_result) {
			snprintf(err, errlen, "an expectation that does not follow an access or a register write");
			return -1;
		}
		return check(r, &rec->expect, mismatches, max);
	case NW_TRACE_REG:
		if (!r->arch && rec->reg.reg >= NW_TRACE_FIRST_ARM64_REG)
			break; /* an x86 machine has no AArch64 or RISC-V register: refused below */
		r->stats.reg_writes++;
		if (r->arch)
			return apply_arch_reg(r, &rec->reg, err, errlen);
		apply_reg(r, &rec->reg);
		r->has_result = true;
		return 0;
	case NW_TRACE_GPWRITE:
		r->stats.gpwrites++;
		return write_guest(r, &rec->gpwrite, err, errlen);
	case NW_TRACE_S2EDIT:
		return edit_stage2(r, &rec->s2edit, err, errlen);
	case NW_TRACE_INVLPG:
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
	case NW_TRACE_INVEPT:
		if (r->arch)
			break;
		invalidate(r, rec);
		return 0;
	case NW_TRACE_MARK:
		r->stats.marks++;
		snprintf(r->mark, sizeof(r->mark), "%s", rec->label);
		return 0;
	case NW_TRACE_END:
		return 0;
	case NW_TRACE_TLBI:
		if (r->a64)
			return nw_replay_a64_tlbi(r, &rec->tlbi, err, errlen);
		break;
	case NW_TRACE_FENCE:
		if (r->rv)
			return nw_replay_rv_fence(r, &rec->fence, err, errlen);
		break;
	}
	snprintf(err, errlen, "%s record: not of the scenario's architecture, %s (traces/FORMAT.md, \"Architectures\")",
		 nw_trace_kind_name(rec->kind), nw_trace_arch_name(r->machine->arch));
	return -1;
}

/* nw_replay_apply() of an item's access and expectation records (out of line: the fast path's loop keeps its
 * registers). */
static __attribute__((noinline)) int apply_item(struct nw_replay *r, const struct nw_trace_item *item,
						const struct nw_trace_expect *full, struct nw_replay_mismatch *mismatches,
						unsigned max, char *err, size_t errlen)
{
	struct nw_trace_access access = nw_trace_item_access(item);
	struct nw_trace_expect expect;

	r->record++;
	r->stats.records++;
	if (check_access(r, &access, err, errlen))
		return -1;
	nw_replay_access(r, &access, &r->result);
	r->has_result = true;
	if (!nw_trace_item_expect(item, full, &expect))
		return 0;
	r->record++;
	r->stats.records++;
	r->has_result = false;
	return check(r, &expect, mismatches, max);
}

/* The fast path's counts, kept in registers while a run hits and added to the statistics when it stops. */
struct hot_counts {
	uint64_t hits, expectations; /* each hit is one access record, each expectation one more */
};

static __attribute__((noinline)) void add_hot(struct nw_replay *r, const struct hot_counts *hot)
{
	r->record += hot->hits + hot->expectations;
	r->stats.records += hot->hits + hot->expectations;
	r->stats.tlb_lookups += hot->hits;
	r->stats.tlb_hits += hot->hits;
	r->stats.translations += hot->hits;
	r->stats.accesses += hot->hits;
	r->stats.outcomes[NW_TRACE_OUT_OK] += hot->hits;
	r->stats.expectations += hot->expectations;
}

/* What translate_piece() leaves for a usable hit on slot (the fast path builds it only for the last access). */
static void hit_result(const struct nw_tlb *tlb, const struct nw_trace_item *item, const struct nw_tlb_recent *slot,
		       struct nw_replay_result *out)
{
	uint64_t offset = item->gva.val & NW_PAGE_MASK;

	out->access = (struct nw_access){ .gva = item->gva, .size = item->size, .type = (enum nw_access_type)item->type,
					  .implicit = item->mode & NW_TRACE_ITEM_IMPLICIT };
	out->kind = NW_TRACE_OUT_OK;
	out->from_tlb = true;
	out->cache = (enum nw_tlb_cache_id)slot->cache;
	out->gpa = nw_tlb_recent_gpa(tlb, slot) | offset;
	out->hpa = nw_tlb_recent_hpa(tlb, slot) | offset;
	out->error_code = 0;
	out->exit_qualification = 0;
	out->fault_gpa = 0;
	out->refs = 0;
	out->guest_page_size = slot->entry->guest_page_size;
	out->s2_page_size = 0;
	out->misconfig_level = 0;
	out->gla_valid = false;
	out->reg_write = false;
}

/* CPL and RFLAGS.AC in an item's mode bits, to see whether an access would change the CPU (nw_replay_access()). */
#define STATE_MASK (NW_TRACE_ITEM_CPL | NW_TRACE_ITEM_AC)

static unsigned cpu_state(const struct nw_cpu *cpu)
{
	return cpu->cpl | ((cpu->rflags & NW_RFLAGS_AC) ? NW_TRACE_ITEM_AC : 0);
}

/* Whether an explicit (bit 0) and an implicit (bit 1) access is user-mode in the current CPU state, as the
 * walker derived it (from the CPL and the implicit flag, whatever the type): kept in a register while the fast
 * path runs in that state. */
static unsigned user_modes(const struct nw_replay *r)
{
	return (nw_walker_is_user_access(r->walker, false) ? 1u : 0u) |
	       (nw_walker_is_user_access(r->walker, true) ? 2u : 0u);
}

/* The item's access class bit (see usable_classes()), in the current CPU state (the item's: is_plain). */
static unsigned item_class_bit(unsigned users, const struct nw_trace_item *item)
{
	bool user = (users >> ((item->mode & NW_TRACE_ITEM_IMPLICIT) ? 1 : 0)) & 1;

	return NW_TLB_ALLOWS_BIT(item->type, user);
}

/* An access within one page, in the current CPU state, expected to succeed or with no expectation. */
static bool is_plain(const struct nw_trace_item *item, unsigned state)
{
	return (item->mode & STATE_MASK) == state && (item->gva.val & NW_PAGE_MASK) + item->size <= NW_PAGE_SIZE &&
	       item->present <= 1u << NW_EXPECT_OUTCOME && item->outcome == NW_TRACE_OUT_OK;
}

size_t nw_replay_run(struct nw_replay *r, const struct nw_trace_item *items, const struct nw_trace_expect *expects,
		     size_t n, struct nw_replay_mismatch *mismatches, unsigned max, int *mismatched, char *err,
		     size_t errlen)
{
	struct hot_counts hot = { 0 };
	const struct nw_tlb_recent *last = NULL;
	unsigned state, users;
	size_t i;

	*mismatched = 0;
	if (r->arch) { /* no fast path: each item as its records */
		for (i = 0; i < n && !*mismatched; i++)
			*mismatched = apply_item(r, &items[i], expects ? &expects[i] : NULL, mismatches, max, err,
						 errlen);
		return i;
	}
	state = cpu_state(&r->machine->cpu);
	users = user_modes(r);
	for (i = 0; i < n; i++) {
		const struct nw_trace_item *item = &items[i];
		/* Without the TLB no lookup is made, so no slot is ever filled. */
		struct nw_tlb_recent *slot = nw_tlb_recent(&r->tlb, item->gva);

		/* The fast path: a plain access to a page a lookup hit recently, usable as the slot's memo says;
		 * counted, refreshed and (for the last) given its result as translate_piece() would. */
		if (slot && is_plain(item, state)) {
			uint8_t memo = slot->memo ? slot->memo : (slot->memo = usable_classes(r, slot->entry));

			if (memo & item_class_bit(users, item)) {
				nw_tlb_recent_use(&r->tlb, slot);
				hot.hits++;
				hot.expectations += item->present; /* 0 or 1 in a plain access */
				last = slot;
				continue;
			}
		}
		add_hot(r, &hot);
		hot = (struct hot_counts){ 0 };
		last = NULL;
		*mismatched = apply_item(r, item, expects ? &expects[i] : NULL, mismatches, max, err, errlen);
		state = cpu_state(&r->machine->cpu);
		users = user_modes(r);
		if (*mismatched) {
			i++;
			break;
		}
	}
	add_hot(r, &hot);
	if (last) {
		hit_result(&r->tlb, &items[i - 1], last, &r->result);
		r->has_result = items[i - 1].present == 0;
	}
	return i;
}
