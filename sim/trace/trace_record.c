/* Trace record names, field domains and equality (traces/FORMAT.md, "Records"). */
#include <string.h>

#include "trace/trace.h"

static const char *const kind_names[] = {
	[NW_TRACE_ACCESS] = "access", [NW_TRACE_REG] = "reg",         [NW_TRACE_GPWRITE] = "gpwrite",
	[NW_TRACE_INVLPG] = "invlpg", [NW_TRACE_INVPCID] = "invpcid", [NW_TRACE_INVVPID] = "invvpid",
	[NW_TRACE_INVEPT] = "invept", [NW_TRACE_MARK] = "mark",       [NW_TRACE_EXPECT] = "expect",
	[NW_TRACE_TLBI] = "tlbi",     [NW_TRACE_FENCE] = "fence",     [NW_TRACE_S2EDIT] = "s2edit",
};

static const char *const reg_names[NW_TRACE_REG_COUNT] = {
	"cr0",     "cr3",       "cr4",       "efer",     "rflags",    "pkru",     "pkrs",    "sctlr_el1",
	"tcr_el1", "ttbr0_el1", "ttbr1_el1", "mair_el1", "vttbr_el2", "vtcr_el2", "hcr_el2", "pstate",
	"vsatp",   "hgatp",     "vsstatus",  "sstatus",  "hstatus",   "menvcfg",  "henvcfg", "priv",
};

static const char *const arch_names[NW_TRACE_ARCH_COUNT] = { "x86_64", "aarch64", "riscv64" };

static const char *const outcome_names[NW_TRACE_OUT_COUNT] = {
	"ok", "page_fault", "ept_violation", "ept_misconfig", "npf", "general_protection", "mmio", "rom_write",
	"stage1_abort", "stage2_abort", "guest_page_fault", "access_fault",
};

/* What `nestwalk translate --gpa --json` printed for these outcomes before its names became the trace's. */
static const char *const outcome_old_names[NW_TRACE_OUT_COUNT] = {
	[NW_TRACE_OUT_MMIO] = "mmio_exit", [NW_TRACE_OUT_ROM_WRITE] = "rom_write_exit",
};

static const char *const expect_field_names[NW_EXPECT_FIELD_COUNT] = {
	"outcome", "gpa", "hpa", "error_code", "exit_qualification", "fault_gpa", "refs",
	"guest_page_size", "s2_page_size", "misconfig_level", "gla_valid", "esr", "far", "hpfar",
	"scause", "stval", "htval", "htinst",
};

const char *nw_trace_arch_name(enum nw_trace_arch arch)
{
	return (unsigned)arch < NW_TRACE_ARCH_COUNT ? arch_names[arch] : 0;
}

unsigned nw_trace_arch_version(enum nw_trace_arch arch)
{
	return arch == NW_TRACE_ARCH_X86_64 ? 1 : 2;
}

const char *nw_trace_version_check(unsigned version, const struct nw_trace_record *rec)
{
	if (version < 3 && rec->kind == NW_TRACE_EXPECT && (rec->expect.present & ~NW_EXPECT_V2_FIELDS))
		return "scause, stval, htval and htinst need version 3";
	if (version < 3 && rec->kind == NW_TRACE_S2EDIT)
		return "s2edit needs version 3";
	return 0;
}

const char *nw_trace_kind_name(enum nw_trace_kind kind)
{
	if (kind == NW_TRACE_END)
		return "end";
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return 0;
	return kind_names[kind];
}

const char *nw_trace_reg_name(enum nw_trace_reg reg)
{
	return (unsigned)reg < NW_TRACE_REG_COUNT ? reg_names[reg] : 0;
}

const char *nw_trace_outcome_old_name(enum nw_trace_outcome outcome)
{
	return (unsigned)outcome < NW_TRACE_OUT_COUNT ? outcome_old_names[outcome] : 0;
}

const char *nw_trace_outcome_name(enum nw_trace_outcome outcome)
{
	return (unsigned)outcome < NW_TRACE_OUT_COUNT ? outcome_names[outcome] : 0;
}

const char *nw_trace_expect_field_name(enum nw_trace_expect_field field)
{
	return (unsigned)field < NW_EXPECT_FIELD_COUNT ? expect_field_names[field] : 0;
}

unsigned nw_trace_expect_field_bytes(enum nw_trace_expect_field field)
{
	if (field == NW_EXPECT_OUTCOME || field == NW_EXPECT_MISCONFIG_LEVEL || field == NW_EXPECT_GLA_VALID)
		return 1;
	return field == NW_EXPECT_REFS ? 4 : 8;
}

void nw_trace_expect_get_fields(const struct nw_trace_expect *e, uint64_t vals[NW_EXPECT_FIELD_COUNT])
{
	vals[NW_EXPECT_OUTCOME] = e->outcome;
	vals[NW_EXPECT_GPA] = e->gpa.val;
	vals[NW_EXPECT_HPA] = e->hpa.val;
	vals[NW_EXPECT_ERROR_CODE] = e->error_code;
	vals[NW_EXPECT_EXIT_QUALIFICATION] = e->exit_qualification;
	vals[NW_EXPECT_FAULT_GPA] = e->fault_gpa.val;
	vals[NW_EXPECT_REFS] = e->refs;
	vals[NW_EXPECT_GUEST_PAGE_SIZE] = e->guest_page_size;
	vals[NW_EXPECT_S2_PAGE_SIZE] = e->s2_page_size;
	vals[NW_EXPECT_MISCONFIG_LEVEL] = e->misconfig_level;
	vals[NW_EXPECT_GLA_VALID] = e->gla_valid;
	vals[NW_EXPECT_ESR] = e->esr;
	vals[NW_EXPECT_FAR] = e->far;
	vals[NW_EXPECT_HPFAR] = e->hpfar;
	vals[NW_EXPECT_SCAUSE] = e->scause;
	vals[NW_EXPECT_STVAL] = e->stval;
	vals[NW_EXPECT_HTVAL] = e->htval;
	vals[NW_EXPECT_HTINST] = e->htinst;
}

void nw_trace_expect_set_fields(struct nw_trace_expect *e, const uint64_t vals[NW_EXPECT_FIELD_COUNT])
{
	e->outcome = (enum nw_trace_outcome)vals[NW_EXPECT_OUTCOME];
	e->gpa = nw_gpa(vals[NW_EXPECT_GPA]);
	e->hpa = nw_hpa(vals[NW_EXPECT_HPA]);
	e->error_code = vals[NW_EXPECT_ERROR_CODE];
	e->exit_qualification = vals[NW_EXPECT_EXIT_QUALIFICATION];
	e->fault_gpa = nw_gpa(vals[NW_EXPECT_FAULT_GPA]);
	e->refs = (uint32_t)vals[NW_EXPECT_REFS];
	e->guest_page_size = vals[NW_EXPECT_GUEST_PAGE_SIZE];
	e->s2_page_size = vals[NW_EXPECT_S2_PAGE_SIZE];
	e->misconfig_level = (uint8_t)vals[NW_EXPECT_MISCONFIG_LEVEL];
	e->gla_valid = (uint8_t)vals[NW_EXPECT_GLA_VALID];
	e->esr = vals[NW_EXPECT_ESR];
	e->far = vals[NW_EXPECT_FAR];
	e->hpfar = vals[NW_EXPECT_HPFAR];
	e->scause = vals[NW_EXPECT_SCAUSE];
	e->stval = vals[NW_EXPECT_STVAL];
	e->htval = vals[NW_EXPECT_HTVAL];
	e->htinst = vals[NW_EXPECT_HTINST];
}

/* A page size an expectation may name: the x86 leaf sizes (4 MiB is 32-bit paging's large page) and the
 * AArch64 16 and 64 KiB granules' pages and level-2 blocks (32 and 512 MiB; 64 KiB is also a RISC-V NAPOT
 * page). */
static bool is_page_size(uint64_t size)
{
	return size == NW_PAGE_SIZE || size == NW_SIZE_2M || size == NW_SIZE_4M || size == NW_SIZE_1G ||
	       size == UINT64_C(0x4000) || size == UINT64_C(0x10000) || size == UINT64_C(0x2000000) ||
	       size == UINT64_C(0x20000000);
}

static bool is_label_char(char c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

static const char *check_label(const char *label)
{
	size_t len = 0;

	for (; len <= NW_TRACE_MAX_LABEL && label[len]; len++)
		if (!is_label_char(label[len]))
			return "label has a character outside printable ASCII (or a quote or backslash)";
	if (len > NW_TRACE_MAX_LABEL)
		return "label longer than 255 bytes";
	if (len == 0)
		return "empty label";
	return 0;
}

static const char *check_expect(const struct nw_trace_expect *e)
{
	if (e->present == 0)
		return "expectation with no field";
	if (e->present >> NW_EXPECT_FIELD_COUNT)
		return "expectation names an unknown field";
	if (NW_EXPECT_HAS(e, NW_EXPECT_OUTCOME) && (unsigned)e->outcome >= NW_TRACE_OUT_COUNT)
		return "unknown outcome";
	if (NW_EXPECT_HAS(e, NW_EXPECT_GUEST_PAGE_SIZE) && !is_page_size(e->guest_page_size))
		return "guest_page_size is not 4, 16 or 64 KiB, 2, 4, 32 or 512 MiB or 1 GiB";
	if (NW_EXPECT_HAS(e, NW_EXPECT_S2_PAGE_SIZE) && !is_page_size(e->s2_page_size))
		return "s2_page_size is not 4, 16 or 64 KiB, 2, 4, 32 or 512 MiB or 1 GiB";
	if (NW_EXPECT_HAS(e, NW_EXPECT_MISCONFIG_LEVEL) && (e->misconfig_level < 1 || e->misconfig_level > 5))
		return "misconfig_level outside 1..5";
	if (NW_EXPECT_HAS(e, NW_EXPECT_GLA_VALID) && e->gla_valid > 1)
		return "gla_valid is not 0 or 1";
	return 0;
}

const char *nw_trace_expect_order_check(enum nw_trace_kind prev, const struct nw_trace_expect *e)
{
	if (prev == NW_TRACE_ACCESS)
		return 0;
	if (prev != NW_TRACE_REG)
		return "an expectation must follow an access or a register write";
	if (e->present & ~NW_EXPECT_REG_FIELDS)
		return "an expectation after a register write names a field only an access has (gpa, hpa or a page "
		       "size)";
	return 0;
}

const char *nw_trace_record_check(const struct nw_trace_record *rec)
{
	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		if (rec->access.size == 0 || rec->access.size > NW_TRACE_MAX_ACCESS)
			return "access size outside 1..4096";
		if ((unsigned)rec->access.type > NW_ACCESS_FETCH)
			return "access type is not read, write or fetch";
		if (rec->access.cpl > 3)
			return "cpl outside 0..3";
		return 0;
	case NW_TRACE_REG:
		if ((unsigned)rec->reg.reg >= NW_TRACE_REG_COUNT)
			return "unknown register";
		if ((rec->reg.reg == NW_TRACE_PKRU || rec->reg.reg == NW_TRACE_PKRS) && rec->reg.value >> 32)
			return "pkru/pkrs value wider than 32 bits";
		if (rec->reg.reg == NW_TRACE_PSTATE && (rec->reg.value & ~NW_TRACE_PSTATE_BITS))
			return "pstate holds bits other than EL (M[3:2]), PAN (22) and UAO (23)";
		if (rec->reg.reg == NW_TRACE_PSTATE && (rec->reg.value & NW_TRACE_PSTATE_EL) > (UINT64_C(1) << 2))
			return "pstate EL above 1: a trace is of the EL1&0 regime";
		if (rec->reg.reg == NW_TRACE_PRIV && rec->reg.value > NW_TRACE_PRIV_VS)
			return "priv is 0 (VU) or 1 (VS): a trace is of a virtual machine";
		return 0;
	case NW_TRACE_GPWRITE:
		if (rec->gpwrite.len == 0 || rec->gpwrite.len > NW_TRACE_MAX_DATA)
			return "guest-physical write of 0 or more than 4096 bytes";
		if (rec->gpwrite.gpa.val + rec->gpwrite.len - 1 < rec->gpwrite.gpa.val)
			return "guest-physical write wraps past the top of the address space";
		return 0;
	case NW_TRACE_INVLPG:
		return 0;
	case NW_TRACE_INVPCID:
		if (rec->inv.type > 3)
			return "invpcid type outside 0..3";
		if (rec->inv.id > 0xfff)
			return "pcid wider than 12 bits";
		return 0;
	case NW_TRACE_INVVPID:
		return rec->inv.type > 3 ? "invvpid type outside 0..3" : 0;
	case NW_TRACE_INVEPT:
		if (rec->inv.type != 1 && rec->inv.type != 2)
			return "invept type is not 1 (single-context) or 2 (all-context)";
		return 0;
	case NW_TRACE_TLBI:
		if (!nw_tlbi_name(rec->tlbi.op))
			return "unknown tlbi operation";
		if (!nw_tlbi_has_operand(rec->tlbi.op) && rec->tlbi.xt)
			return "this tlbi takes no register (Rt is 31), so xt must be 0";
		return 0;
	case NW_TRACE_FENCE:
		if (!nw_rvfence_name(rec->fence.op))
			return "unknown fence";
		if ((rec->fence.rs1_x0 && rec->fence.rs1) || (rec->fence.rs2_x0 && rec->fence.rs2))
			return "a fence operand is x0, which reads as 0, yet holds a value";
		return 0;
	case NW_TRACE_S2EDIT:
		return rec->s2edit.clear | rec->s2edit.set ? 0 : "an s2edit that clears and sets nothing";
	case NW_TRACE_MARK:
		return check_label(rec->label);
	case NW_TRACE_EXPECT:
		return check_expect(&rec->expect);
	case NW_TRACE_END:
		return 0;
	}
	return "unknown record kind";
}

/* The architecture whose register reg is. */
static enum nw_trace_arch reg_arch(enum nw_trace_reg reg)
{
	if (reg >= NW_TRACE_FIRST_RISCV_REG)
		return NW_TRACE_ARCH_RISCV64;
	return reg >= NW_TRACE_FIRST_ARM64_REG ? NW_TRACE_ARCH_AARCH64 : NW_TRACE_ARCH_X86_64;
}

/* The fields only an x86 outcome has: #PF error code or #NPF EXITINFO1, and the EPT violation's and
 * misconfiguration's. */
#define X86_EXPECT_FIELDS \
	((1u << NW_EXPECT_ERROR_CODE) | (1u << NW_EXPECT_EXIT_QUALIFICATION) | (1u << NW_EXPECT_FAULT_GPA) | \
	 (1u << NW_EXPECT_MISCONFIG_LEVEL) | (1u << NW_EXPECT_GLA_VALID))

/* The outcomes of a trap HS-mode takes, which alone write htval and htinst: a guest-page fault (mmio and rom_write
 * are one the address space explains) and an access fault. */
#define RISCV_HS_OUTCOMES                                                                                      \
	((1u << NW_TRACE_OUT_GUEST_PAGE_FAULT) | (1u << NW_TRACE_OUT_ACCESS_FAULT) | (1u << NW_TRACE_OUT_MMIO) |  \
	 (1u << NW_TRACE_OUT_ROM_WRITE))

/* What each architecture's expectation may name, and the words for what it may not. */
static const struct {
	uint32_t outcomes;          /* a bit per enum nw_trace_outcome */
	uint32_t foreign_fields[2]; /* bits per enum nw_trace_expect_field the other architectures' outcomes have */
	const char *outcome, *field[2], *four_mib; /* four_mib NULL: 32-bit x86 paging's 4 MiB page is one */
} expect_rules[NW_TRACE_ARCH_COUNT] = {
	[NW_TRACE_ARCH_X86_64] = { NW_TRACE_X86_OUTCOMES,
				   { NW_EXPECT_ARM64_FIELDS, NW_EXPECT_RISCV_FIELDS },
				   "an aarch64 or riscv64 outcome in an x86_64 trace",
				   { "an aarch64 expectation field (esr, far, hpfar) in an x86_64 trace",
				     "a riscv64 expectation field (scause, stval, htval, htinst) in an x86_64 trace" },
				   0 },
	[NW_TRACE_ARCH_AARCH64] = { NW_TRACE_AARCH64_OUTCOMES,
				    { X86_EXPECT_FIELDS, NW_EXPECT_RISCV_FIELDS },
				    "an x86 outcome in an aarch64 trace",
				    { "an x86 expectation field in an aarch64 trace",
				      "a riscv64 expectation field (scause, stval, htval, htinst) in an aarch64 trace" },
				    "4 MiB is no AArch64 page size" },
	[NW_TRACE_ARCH_RISCV64] = { NW_TRACE_RISCV64_OUTCOMES,
				    { X86_EXPECT_FIELDS | NW_EXPECT_ARM64_FIELDS, 0 },
				    "an outcome of another architecture in a riscv64 trace (ok, mmio, rom_write, page_fault, "
				    "guest_page_fault or access_fault)",
				    { "an expectation field of another architecture in a riscv64 trace", 0 },
				    "4 MiB is no RISC-V page size" },
};

/* htval and htinst are HS-mode CSRs only a trap taken to HS-mode writes (privileged spec, "Hypervisor Trap Value
 * Register" and "Hypervisor Trap Instruction Register"): a VS-stage page fault is taken to VS-mode (vscause,
 * vstval) and leaves them as they were, a translation writes no CSR. So an expectation of them states the outcome,
 * and one HS-mode takes. */
static const char *check_expect_hs_fields(const struct nw_trace_expect *e)
{
	if (!(e->present & NW_EXPECT_HS_FIELDS))
		return 0;
	if (!NW_EXPECT_HAS(e, NW_EXPECT_OUTCOME))
		return "htval and htinst are written only by a trap taken to HS-mode: name the outcome too";
	if (!(RISCV_HS_OUTCOMES >> e->outcome & 1))
		return e->outcome == NW_TRACE_OUT_PAGE_FAULT
			       ? "a VS-stage page fault is taken to VS-mode and writes neither htval nor htinst"
			       : "htval and htinst are written only by a trap taken to HS-mode (guest_page_fault, "
				 "access_fault, mmio, rom_write)";
	return 0;
}

/* An expectation names what a translation of its trace's architecture has: an aarch64 one ok, the address
 * space's mmio and rom_write, its addresses, references and page sizes, or an abort with its syndrome and fault
 * address registers; a riscv64 one the same but the aborts; an x86_64 one no AArch64 abort or register. */
static const char *check_expect_arch(enum nw_trace_arch arch, const struct nw_trace_expect *e)
{
	if (NW_EXPECT_HAS(e, NW_EXPECT_OUTCOME) &&
	    ((unsigned)e->outcome >= NW_TRACE_OUT_COUNT || !(expect_rules[arch].outcomes >> e->outcome & 1)))
		return expect_rules[arch].outcome;
	for (unsigned i = 0; i < 2; i++)
		if (e->present & expect_rules[arch].foreign_fields[i])
			return expect_rules[arch].field[i];
	if (expect_rules[arch].four_mib &&
	    ((NW_EXPECT_HAS(e, NW_EXPECT_GUEST_PAGE_SIZE) && e->guest_page_size == NW_SIZE_4M) ||
	     (NW_EXPECT_HAS(e, NW_EXPECT_S2_PAGE_SIZE) && e->s2_page_size == NW_SIZE_4M)))
		return expect_rules[arch].four_mib;
	return arch == NW_TRACE_ARCH_RISCV64 ? check_expect_hs_fields(e) : 0;
}

/* An access's privilege and flags as its architecture has them. */
static const char *check_access_arch(enum nw_trace_arch arch, const struct nw_trace_access *a)
{
	switch (arch) {
	case NW_TRACE_ARCH_AARCH64:
		if (a->implicit || a->ac)
			return "implicit and ac are x86_64 access flags";
		return a->cpl > 1 ? "el outside 0..1" : 0;
	case NW_TRACE_ARCH_RISCV64:
		if (a->implicit || a->ac || a->unpriv)
			return "a riscv64 access has no flags (implicit and ac are x86_64's, unpriv aarch64's)";
		return a->cpl > NW_TRACE_PRIV_VS ? "priv outside 0 (VU)..1 (VS)" : 0;
	default:
		return a->unpriv ? "access flags have undefined bits set (unpriv is an aarch64 flag)" : 0;
	}
}

/* What a register of another architecture is called in a trace of arch; below, an x86 invalidation, a tlbi and a
 * fence in a trace that cannot hold it. */
static const char *foreign_reg(enum nw_trace_arch arch, enum nw_trace_reg reg)
{
	static const char *const names[NW_TRACE_ARCH_COUNT][NW_TRACE_ARCH_COUNT] = {
		[NW_TRACE_ARCH_X86_64] = { 0, "an aarch64 register in an x86_64 trace",
					   "a riscv64 register in an x86_64 trace" },
		[NW_TRACE_ARCH_AARCH64] = { "an x86 register in an aarch64 trace", 0,
					    "a riscv64 register in an aarch64 trace" },
		[NW_TRACE_ARCH_RISCV64] = { "an x86 register in a riscv64 trace",
					    "an aarch64 register in a riscv64 trace", 0 },
	};

	return names[arch][reg_arch(reg)];
}

static const char *const x86_inv_problems[NW_TRACE_ARCH_COUNT] = {
	[NW_TRACE_ARCH_AARCH64] = "an x86 invalidation in an aarch64 trace",
	[NW_TRACE_ARCH_RISCV64] = "an x86 invalidation in a riscv64 trace",
};

static const char *const tlbi_problems[NW_TRACE_ARCH_COUNT] = {
	[NW_TRACE_ARCH_X86_64] = "a tlbi in an x86_64 trace",
	[NW_TRACE_ARCH_RISCV64] = "a tlbi in a riscv64 trace",
};

static const char *const fence_problems[NW_TRACE_ARCH_COUNT] = {
	[NW_TRACE_ARCH_X86_64] = "a fence in an x86_64 trace",
	[NW_TRACE_ARCH_AARCH64] = "a fence in an aarch64 trace",
};

/* An s2edit's level in each architecture's numbering of its second stage, as a scenario's edits take it. */
static const struct {
	uint8_t first, last;
	const char *problem;
} s2edit_levels[NW_TRACE_ARCH_COUNT] = {
	[NW_TRACE_ARCH_X86_64] = { 1, 5, "s2edit level outside 1 (the PTE) .. 5 (the PML5E)" },
	[NW_TRACE_ARCH_AARCH64] = { 0, 3, "s2edit level outside the Arm ARM's 0 .. 3 (3 = the page)" },
	[NW_TRACE_ARCH_RISCV64] = { 0, 4, "s2edit level outside the privileged spec's 0 (the 4 KiB PTE) .. 4" },
};

const char *nw_trace_arch_check(enum nw_trace_arch arch, const struct nw_trace_record *rec)
{
	if ((unsigned)arch >= NW_TRACE_ARCH_COUNT)
		return "unknown architecture";
	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		return check_access_arch(arch, &rec->access);
	case NW_TRACE_REG:
		return foreign_reg(arch, rec->reg.reg);
	case NW_TRACE_INVLPG:
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
	case NW_TRACE_INVEPT:
		return x86_inv_problems[arch];
	case NW_TRACE_TLBI:
		return tlbi_problems[arch];
	case NW_TRACE_FENCE:
		return fence_problems[arch];
	case NW_TRACE_S2EDIT:
		return rec->s2edit.level < s2edit_levels[arch].first || rec->s2edit.level > s2edit_levels[arch].last
			       ? s2edit_levels[arch].problem
			       : 0;
	case NW_TRACE_EXPECT:
		return check_expect_arch(arch, &rec->expect);
	case NW_TRACE_GPWRITE:
	case NW_TRACE_MARK:
	case NW_TRACE_END:
		return 0;
	}
	return 0;
}

/* The same fields present, each equal (the values of absent fields are not part of the record). */
static bool expect_same(const struct nw_trace_expect *a, const struct nw_trace_expect *b)
{
	uint64_t va[NW_EXPECT_FIELD_COUNT], vb[NW_EXPECT_FIELD_COUNT];

	if (a->present != b->present)
		return false;
	nw_trace_expect_get_fields(a, va);
	nw_trace_expect_get_fields(b, vb);
	for (unsigned f = 0; f < NW_EXPECT_FIELD_COUNT; f++)
		if (NW_EXPECT_HAS(a, f) && va[f] != vb[f])
			return false;
	return true;
}

bool nw_trace_record_same(const struct nw_trace_record *a, const struct nw_trace_record *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case NW_TRACE_ACCESS:
		return a->access.gva.val == b->access.gva.val && a->access.size == b->access.size &&
		       a->access.type == b->access.type && a->access.cpl == b->access.cpl &&
		       a->access.implicit == b->access.implicit && a->access.ac == b->access.ac &&
		       a->access.unpriv == b->access.unpriv;
	case NW_TRACE_REG:
		return a->reg.reg == b->reg.reg && a->reg.value == b->reg.value;
	case NW_TRACE_GPWRITE:
		return a->gpwrite.gpa.val == b->gpwrite.gpa.val && a->gpwrite.len == b->gpwrite.len &&
		       !memcmp(a->gpwrite.data, b->gpwrite.data, a->gpwrite.len);
	case NW_TRACE_INVLPG:
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
	case NW_TRACE_INVEPT:
		return a->inv.type == b->inv.type && a->inv.id == b->inv.id && a->inv.gva.val == b->inv.gva.val &&
		       a->inv.eptp == b->inv.eptp;
	case NW_TRACE_TLBI:
		return a->tlbi.op == b->tlbi.op && a->tlbi.xt == b->tlbi.xt;
	case NW_TRACE_FENCE:
		return a->fence.op == b->fence.op && a->fence.rs1_x0 == b->fence.rs1_x0 &&
		       a->fence.rs2_x0 == b->fence.rs2_x0 && a->fence.rs1 == b->fence.rs1 &&
		       a->fence.rs2 == b->fence.rs2;
	case NW_TRACE_S2EDIT:
		return a->s2edit.gpa.val == b->s2edit.gpa.val && a->s2edit.level == b->s2edit.level &&
		       a->s2edit.clear == b->s2edit.clear && a->s2edit.set == b->s2edit.set;
	case NW_TRACE_MARK:
		return !strcmp(a->label, b->label);
	case NW_TRACE_EXPECT:
		return expect_same(&a->expect, &b->expect);
	case NW_TRACE_END:
		return true;
	}
	return false;
}
