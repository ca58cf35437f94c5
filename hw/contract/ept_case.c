/* EPT cases shared by the VMX image and its simulator twin (ept_case.h). */
#include "contract/ept_case.h"

#include <nestwalk/cpu.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "contract/layout.h"

#define TABLE_PML4 0
#define TABLE_CODE_PDPT 1
#define TABLE_CODE_PD 2
#define TABLE_CODE_PT 3
#define TABLE_TARGET_PDPT 4 /* the target's tables follow in level order: PDPT, PD, PT */

/* Address bits below MAXPHYADDR: a case may not set them itself (bits above are reserved, so fair game). */
#define LOW_ADDR_BITS (NW_PTE_ADDR_MASK & ((UINT64_C(1) << VMX_MAXPHYADDR) - 1))

/* The case's guest runs 4-level paging: its tables have that format's geometry. */
static const struct nw_pt_format *guest_format(void) { return nw_paging_format(NW_PAGING_4LEVEL); }

static uint64_t level_size(int level) { return nw_pt_level_size(guest_format(), level); }

static unsigned index_of(uint64_t addr, int level) { return nw_pt_index(guest_format(), level, addr); }

static uint64_t table_gpa(unsigned table) { return VMX_GUEST_CODE_GPA + (uint64_t)(table + 1) * NW_PAGE_SIZE; }

/* The guest table of the target's path at guest level 3, 2 or 1. */
static unsigned target_table(int level) { return TABLE_TARGET_PDPT + (unsigned)(3 - level); }

const char *vmx_blob_open(struct vmx_blob_cursor *cur, const uint8_t *data, uint64_t size)
{
	const struct vmx_blob_header *h = (const struct vmx_blob_header *)data;

	*cur = (struct vmx_blob_cursor){ .data = data, .size = size };
	if (size < sizeof(*h))
		return "shorter than its header";
	if (h->magic != VMX_BLOB_MAGIC)
		return "bad magic (not an EPT case blob)";
	if (h->version != VMX_BLOB_VERSION)
		return "unknown version";
	if (h->header_size < sizeof(*h) || h->header_size > size)
		return "bad header size";
	if (h->case_size != sizeof(struct vmx_blob_case) || h->edit_size != sizeof(struct vmx_blob_edit))
		return "unknown case or edit size";
	cur->offset = h->header_size;
	cur->count = h->case_count;
	return 0;
}

int vmx_blob_next(struct vmx_blob_cursor *cur, struct vmx_case *c, const char **why)
{
	uint64_t need;

	if (cur->next == cur->count) {
		if (cur->offset != cur->size) {
			*why = "bytes after the last case";
			return -1;
		}
		return 0;
	}
	if (cur->size - cur->offset < sizeof(c->head)) {
		*why = "case header cut short";
		return -1;
	}
	c->head = *(const struct vmx_blob_case *)(cur->data + cur->offset);
	if (c->head.edit_count > VMX_MAX_EDITS) {
		*why = "too many edits";
		return -1;
	}
	need = sizeof(c->head) + (uint64_t)c->head.edit_count * sizeof(c->edits[0]);
	if (cur->size - cur->offset < need) {
		*why = "edits cut short";
		return -1;
	}
	for (unsigned i = 0; i < c->head.edit_count; i++)
		c->edits[i] = ((const struct vmx_blob_edit *)(cur->data + cur->offset + sizeof(c->head)))[i];
	cur->offset += need;
	cur->next++;
	return 1;
}

static bool is_in_target_slot(uint64_t addr) { return addr >= VMX_TARGET_BASE && addr < VMX_TARGET_END; }

/* Bits of a guest entry at level that a case may set: all but the address of
 * what it points to below MAXPHYADDR (a large leaf's bits 12 and up to its
 * page size are PAT and reserved bits, so fair game). */
static uint64_t guest_own_bits(int level, int leaf_level)
{
	if (level == leaf_level && level > NW_LEVEL_PT)
		return ~(LOW_ADDR_BITS & ~(level_size(level) - 1)) & ~NW_PTE_PS;
	return ~LOW_ADDR_BITS;
}

static bool is_in_scratch(uint64_t pa) { return pa >= HW_SCRATCH_BASE && pa < HW_SCRATCH_BASE + HW_SCRATCH_SIZE; }

static const char *edit_check(const struct vmx_case *c, const struct vmx_blob_edit *e)
{
	if (e->where > VMX_EDIT_GUEST_PT)
		return "edit names no path";
	if (e->where != VMX_EDIT_TARGET) {
		/* A guest table's EPT leaf keeps its frame: the CPU writes A/D through it. */
		if (e->level != NW_LEVEL_PT)
			return "guest-table edits apply to their 4 KiB EPT leaf only";
		if ((e->clear | e->set) & LOW_ADDR_BITS)
			return "a guest-table edit may not move its frame";
		return 0;
	}
	if (e->level < c->head.ept_level || e->level > NW_LEVEL_PML4)
		return "edit level outside the target's EPT path";
	/* A moved leaf may reach beyond the scratch region: reads are harmless there, writes are not. */
	if (c->head.access == VMX_ACCESS_WRITE && ((e->clear | e->set) & LOW_ADDR_BITS))
		return "a write case may not move its EPT leaf";
	return 0;
}

const char *vmx_case_check(const struct vmx_case *c)
{
	const struct vmx_blob_case *h = &c->head;

	if (h->access > VMX_ACCESS_LAST)
		return "unknown access";
	if (h->flags & ~VMX_CASE_FLAGS_ALL)
		return "unknown flags";
	if (h->ept_level < NW_LEVEL_PT || h->ept_level > NW_LEVEL_PDPT)
		return "EPT leaf level must be 1, 2 or 3";
	if (!is_in_target_slot(h->gva) || (h->gva & 7))
		return "linear address outside PML4 slot 1 or not 8-byte aligned";
	if (!is_in_target_slot(h->gpa) || !nw_is_page_aligned(h->gpa))
		return "guest-physical page outside PML4 slot 1 or not 4 KiB aligned";
	if (h->ept_level == NW_LEVEL_PDPT && !is_in_scratch(h->gpa & (NW_SIZE_1G - 1)))
		return "a 1 GiB EPT page must reach the scratch region";
	if (h->guest_level < NW_LEVEL_PT || h->guest_level > NW_LEVEL_PDPT)
		return "guest leaf level must be 1, 2 or 3";
	if (h->cpl != 0 && h->cpl != 3)
		return "CPL must be 0 or 3";
	if (h->guest_flags & ~VMX_GUEST_FLAGS_ALL)
		return "unknown guest flags";
	if (h->reserved)
		return "reserved word not 0";
	if ((h->gva ^ h->gpa) & (level_size(h->guest_level) - 1) & ~(uint64_t)NW_PAGE_MASK)
		return "linear and guest-physical address disagree inside the guest page";
	for (int l = NW_LEVEL_PT; l < h->guest_level; l++)
		if (h->guest[l - 1])
			return "guest entry below the guest leaf";
	for (int l = h->guest_level; l <= NW_LEVEL_PML4; l++)
		if (h->guest[l - 1] & ~guest_own_bits(l, h->guest_level))
			return "guest entry bits overlap the address or PS";
	for (int l = h->guest_level + 1; l <= NW_LEVEL_PDPT; l++)
		if (h->guest[l - 1] & NW_PTE_PS)
			return "guest PS above the guest leaf would make the table a page";
	if (h->ept_leaf & (LOW_ADDR_BITS | NW_EPT_PS))
		return "EPT leaf bits overlap the address or PS";
	for (unsigned i = 0; i < h->edit_count; i++) {
		const char *why = edit_check(c, &c->edits[i]);

		if (why)
			return why;
	}
	return 0;
}

struct nw_ept_caps vmx_case_caps(void)
{
	return (struct nw_ept_caps){
		.maxphyaddr = VMX_MAXPHYADDR, .exec_only = true, .pages_1g = true, .ad = true,
	};
}

uint64_t vmx_case_hpa(const struct vmx_case *c)
{
	switch (c->head.ept_level) {
	case NW_LEVEL_PT:
		return HW_SCRATCH_BASE + (c->head.gpa & (NW_SIZE_2M - 1));
	case NW_LEVEL_PD:
		return HW_SCRATCH_BASE;
	default:
		return 0; /* the 1 GiB page at 0: the GPA's offset lands in the scratch region */
	}
}

uint64_t vmx_guest_cr3(void) { return table_gpa(TABLE_PML4); }

struct vmx_guest_ctl vmx_case_guest_ctl(const struct vmx_case *c)
{
	unsigned f = c->head.guest_flags;
	struct vmx_guest_ctl g = {
		.cr0 = NW_CR0_PG | ((f & VMX_GUEST_WP) ? NW_CR0_WP : 0),
		.cr4 = NW_CR4_PAE | ((f & VMX_GUEST_SMEP) ? NW_CR4_SMEP : 0) | ((f & VMX_GUEST_SMAP) ? NW_CR4_SMAP : 0),
		.efer = NW_EFER_LME | NW_EFER_LMA | ((f & VMX_GUEST_NXE) ? NW_EFER_NXE : 0),
		.rflags = (f & VMX_GUEST_AC) ? NW_RFLAGS_AC : 0,
		.cpl = c->head.cpl,
	};

	if (c->head.access == VMX_ACCESS_IMPLICIT) {
		g.gdtr_base = c->head.gva - VMX_IMPLICIT_SEL;
		g.gdtr_limit = 2 * 8 - 1;
	}
	return g;
}

struct nw_cpu vmx_case_cpu(const struct vmx_case *c)
{
	struct vmx_guest_ctl ctl = vmx_case_guest_ctl(c);
	struct nw_cpu cpu = { .cr0 = ctl.cr0, .cr4 = ctl.cr4, .efer = ctl.efer, .rflags = ctl.rflags, .cpl = ctl.cpl,
			      .maxphyaddr = VMX_MAXPHYADDR };

	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	cpu.cr3 = vmx_guest_cr3();
	return cpu;
}

struct nw_access vmx_case_access(const struct vmx_case *c)
{
	static const enum nw_access_type types[] = { NW_ACCESS_READ, NW_ACCESS_WRITE, NW_ACCESS_FETCH, NW_ACCESS_READ };
	bool is_read = c->head.access == VMX_ACCESS_READ || c->head.access == VMX_ACCESS_IMPLICIT;

	return (struct nw_access){ .gva = nw_gva(c->head.gva), .size = is_read ? 8 : 1, .type = types[c->head.access],
				   .implicit = c->head.access == VMX_ACCESS_IMPLICIT };
}

uint64_t vmx_guest_rip(enum vmx_access access)
{
	static const uint64_t stub[] = { VMX_STUB_READ, VMX_STUB_WRITE, VMX_STUB_FETCH, VMX_STUB_IMPLICIT };

	return VMX_GUEST_CODE_GPA + stub[access];
}

static uint64_t *table_ptr(const struct vmx_vm *vm, unsigned t) { return nw_frame_ptr(&vm->tables[t]); }

static void fill_guest_tables(struct vmx_vm *vm, const struct vmx_case *c)
{
	/* Ring 3 runs the stubs, so the code's path is user-mode accessible then (else SMEP would stop ring 0). */
	uint64_t gva = c->head.gva, link = NW_PTE_P | NW_PTE_RW | (c->head.cpl ? NW_PTE_US : 0), g[4];
	int leaf = c->head.guest_level;

	for (unsigned l = 0; l < 4; l++)
		g[l] = c->head.guest[l];

	table_ptr(vm, TABLE_PML4)[0] = table_gpa(TABLE_CODE_PDPT) | link;
	table_ptr(vm, TABLE_CODE_PDPT)[index_of(VMX_GUEST_CODE_GPA, 3)] = table_gpa(TABLE_CODE_PD) | link;
	table_ptr(vm, TABLE_CODE_PD)[index_of(VMX_GUEST_CODE_GPA, 2)] = table_gpa(TABLE_CODE_PT) | link;
	table_ptr(vm, TABLE_CODE_PT)[index_of(VMX_GUEST_CODE_GPA, 1)] = VMX_GUEST_CODE_GPA | link;

	table_ptr(vm, TABLE_PML4)[index_of(gva, 4)] = table_gpa(target_table(3)) | g[3];
	for (int l = 3; l > leaf; l--)
		table_ptr(vm, target_table(l))[index_of(gva, l)] = table_gpa(target_table(l - 1)) | g[l - 1];
	table_ptr(vm, target_table(leaf))[index_of(gva, leaf)] =
		(c->head.gpa & ~(level_size(leaf) - 1)) | g[leaf - 1] | (leaf > NW_LEVEL_PT ? NW_PTE_PS : 0);
}

/* Word stores: thousands of cases per boot make a byte-wise fill the image's main cost under emulation.
 * volatile: keep the compiler from turning the loop into a memset call. */
static void zero_table(void *table)
{
	volatile uint64_t *words = table;

	for (unsigned i = 0; i < NW_PAGE_SIZE / sizeof(uint64_t); i++)
		words[i] = 0;
}

static uint64_t edit_gpa(const struct vmx_case *c, const struct vmx_blob_edit *e)
{
	if (e->where == VMX_EDIT_TARGET)
		return c->head.gpa;
	return table_gpa(target_table(4 - e->where));
}

static nw_status_t build_ept(struct vmx_vm *vm, const struct vmx_case *c, nw_hpa_t code_hpa, const char **why)
{
	const uint64_t rwx = NW_EPT_R | NW_EPT_W | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB);
	int level = c->head.ept_level;
	uint64_t size;
	nw_status_t st;

	*why = "mapping the guest code and tables";
	st = nw_ept_map(&vm->ept, nw_gpa(VMX_GUEST_CODE_GPA), code_hpa, NW_PAGE_SIZE, rwx, 0, 0);
	for (unsigned t = 0; t < VMX_GUEST_TABLE_COUNT && st == NW_OK; t++)
		st = nw_ept_map(&vm->ept, nw_gpa(table_gpa(t)), nw_frame_paddr(&vm->tables[t]), NW_PAGE_SIZE, rwx, 0, 0);
	if (st != NW_OK)
		return st;
	*why = "mapping the target";
	size = nw_pt_level_size(vm->ept.pt.fmt, level);
	st = nw_ept_map(&vm->ept, nw_gpa(c->head.gpa & ~(size - 1)), nw_hpa(vmx_case_hpa(c)), size, rwx, 0, 0);
	if (st != NW_OK)
		return st;
	*why = "setting the target's EPT leaf";
	st = nw_ept_edit(&vm->ept, nw_gpa(c->head.gpa), level, ~(NW_EPT_ADDR_MASK | NW_EPT_PS), c->head.ept_leaf, 0, 0);
	for (unsigned i = 0; i < c->head.edit_count && st == NW_OK; i++) {
		const struct vmx_blob_edit *e = &c->edits[i];

		*why = "applying an edit";
		st = nw_ept_edit(&vm->ept, nw_gpa(edit_gpa(c, e)), e->level, e->clear, e->set, 0, 0);
	}
	return st;
}

nw_status_t vmx_vm_build(struct vmx_vm *vm, const struct nw_hal *hal, const struct vmx_case *c, nw_hpa_t code_hpa,
			 const char **why)
{
	struct nw_ept_config config = {
		.levels = 4,
		.ad = (c->head.flags & VMX_CASE_EPT_AD) != 0,
		.memory_type = NW_EPT_MT_WB,
		.caps = vmx_case_caps(),
	};
	nw_status_t st;

	for (unsigned t = 0; t < VMX_GUEST_TABLE_COUNT; t++)
		vm->tables[t] = nw_frame_uninit();
	*why = "creating the EPT";
	st = nw_ept_create(&vm->ept, hal, &config);
	if (st != NW_OK)
		return st;
	*why = "allocating guest tables";
	for (unsigned t = 0; t < VMX_GUEST_TABLE_COUNT && st == NW_OK; t++) {
		st = nw_frame_alloc(&vm->tables[t], hal);
		if (st == NW_OK)
			zero_table(nw_frame_ptr(&vm->tables[t]));
	}
	if (st == NW_OK) {
		fill_guest_tables(vm, c);
		st = build_ept(vm, c, code_hpa, why);
	}
	if (st != NW_OK)
		vmx_vm_free(vm);
	return st;
}

void vmx_vm_free(struct vmx_vm *vm)
{
	for (unsigned t = 0; t < VMX_GUEST_TABLE_COUNT; t++)
		nw_frame_free(&vm->tables[t]);
	nw_ept_destroy(&vm->ept);
}

/* The EPT entry at level on gpa's path, read as the CPU left it; 0 past a missing table. */
static uint64_t ept_entry(const struct vmx_vm *vm, uint64_t gpa, int level)
{
	uint64_t table = nw_ept_root(&vm->ept).val, entry = 0;

	for (int l = NW_LEVEL_PML4; l >= level; l--) {
		if (table == 0)
			return 0;
		entry = ((const uint64_t *)nw_pt_table_ptr(&vm->ept.pt, table))[nw_pt_index(vm->ept.pt.fmt, l, gpa)];
		table = nw_pt_is_link(vm->ept.pt.fmt, l, entry) ? nw_pt_link_addr(&vm->ept.pt, entry) : 0;
	}
	return entry;
}

static char ad_digit(uint64_t entry, uint64_t a, uint64_t d)
{
	return (char)('0' + ((entry & a) ? 1 : 0) + ((entry & d) ? 2 : 0));
}

void vmx_vm_read_ad(const struct vmx_vm *vm, const struct vmx_case *c, char ad[VMX_AD_LEN])
{
	uint64_t gva = c->head.gva;
	unsigned n = 0;

	ad[n++] = ad_digit(table_ptr(vm, TABLE_PML4)[index_of(gva, 4)], NW_PTE_A, NW_PTE_D);
	for (int l = 3; l >= 1; l--)
		ad[n++] = ad_digit(table_ptr(vm, target_table(l))[index_of(gva, l)], NW_PTE_A, NW_PTE_D);
	ad[n++] = '/';
	for (int l = NW_LEVEL_PML4; l >= c->head.ept_level; l--)
		ad[n++] = ad_digit(ept_entry(vm, c->head.gpa, l), NW_EPT_A, NW_EPT_D);
	ad[n++] = '/';
	for (int l = 3; l >= 1; l--)
		ad[n++] = ad_digit(ept_entry(vm, table_gpa(target_table(l)), NW_LEVEL_PT), NW_EPT_A, NW_EPT_D);
	ad[n] = 0;
}

static unsigned put_str(char *line, unsigned n, const char *s)
{
	while (*s && n < VMX_LINE_LEN - 1)
		line[n++] = *s++;
	line[n] = 0;
	return n;
}

static unsigned put_num(char *line, unsigned n, uint64_t val, bool hex)
{
	char buf[24];
	unsigned k = 0;

	do {
		buf[k++] = "0123456789abcdef"[hex ? val & 0xf : val % 10];
		val = hex ? val >> 4 : val / 10;
	} while (val);
	if (hex)
		n = put_str(line, n, "0x");
	while (k && n < VMX_LINE_LEN - 1)
		line[n++] = buf[--k];
	line[n] = 0;
	return n;
}

void vmx_outcome_format(uint32_t id, const struct vmx_outcome *o, const char *ad, char line[VMX_LINE_LEN])
{
	unsigned n = put_str(line, 0, "v ");

	n = put_num(line, n, id, false);
	n = put_str(line, n, " ");
	n = put_str(line, n, o->kind);
	for (unsigned i = 0; i < o->count && i < 3; i++) {
		n = put_str(line, n, " ");
		n = (o->unknown & (1u << i)) ? put_str(line, n, "-") : put_num(line, n, o->val[i], true);
	}
	n = put_str(line, n, " ");
	put_str(line, n, ad);
}
