#include "contract/case_check.h"

#include <stdbool.h>

#include <nestwalk/addr.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "contract/case_mode.h"
#include "contract/layout.h"


static bool in_scratch(uint64_t start, uint64_t size)
{
	return start >= HW_SCRATCH_BASE && start + size <= HW_SCRATCH_BASE + HW_SCRATCH_SIZE;
}

/* PS in a PML4E or PML5E is reserved (nw_paging_is_ps_reserved; the backends
 * have 1 GiB pages): the walk stops there, as at a leaf. */
static bool has_reserved_ps(const struct hw_blob_case *c, unsigned level, uint64_t value)
{
	struct nw_cpu cpu = { 0 };

	return (value & NW_PTE_PS) && nw_paging_is_ps_reserved(&cpu, hw_case_paging_mode(c), level);
}

/* A present entry without a link is used as a leaf; whatever the access
 * reaches through it must be harmless to read, write and execute: the case's
 * word in the scratch region (a 4 MiB or 1 GiB page is larger than the region). */
static bool leaf_is_safe(const struct hw_blob_case *c, uint64_t value, unsigned level, unsigned maxphyaddr)
{
	bool rsvd_ps = has_reserved_ps(c, level, value);
	uint64_t size = rsvd_ps ? NW_PAGE_SIZE : hw_case_leaf_size(c, level);
	uint64_t base = rsvd_ps ? value & NW_PTE_ADDR_MASK : hw_case_leaf_base(c, level, value);
	uint64_t offset = c->gva & (size - 1);

	if (base >> maxphyaddr)
		return true; /* the walk faults with RSVD before using it */
	if (hw_case_is_nested(c) && base >= HW_DIRECT_MAP_SIZE)
		return true; /* beyond the identity nested map: a #NPF */
	return in_scratch(base, size) || in_scratch((base + offset) & ~UINT64_C(7), 8);
}

/* A PDPTE with PS set is a 1 GiB leaf only where CPUID.80000001H:EDX.Page1GB[bit 26] = 1; elsewhere
 * PS is reserved there (§4.5, Table 4-17), so the case would test another rule than the one it names. */
static bool has_1g_leaf(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			const unsigned levels[HW_MAX_TABLES])
{
	for (unsigned i = 0; !hw_case_is_legacy(c) && i < hw_case_table_entries(c, entries); i++)
		if (levels[entries[i].table] == 3 && !entries[i].link && (entries[i].value & NW_PTE_PS))
			return true;
	return false;
}

const char *hw_case_missing_feature(const struct hw_blob_case *c, const struct hw_cpu_features *cpu,
				    const struct hw_blob_entry *entries, const unsigned levels[HW_MAX_TABLES])
{
	if ((c->flags & HW_CASE_SMEP) && !cpu->smep)
		return "SMEP";
	if ((c->flags & HW_CASE_SMAP) && !cpu->smap)
		return "SMAP";
	if ((c->flags & HW_CASE_PKE) && !cpu->pku)
		return "PKU";
	if ((c->flags & HW_CASE_LA57) && !cpu->la57)
		return "LA57";
	if (hw_case_is_nested(c) && !cpu->svm)
		return "SVM";
	if ((c->flags & HW_CASE_NXE) && !cpu->nx)
		return "NX";
	if (!cpu->gbpages && has_1g_leaf(c, entries, levels))
		return "1 GiB pages";
	return 0;
}

unsigned hw_case_table_entries(const struct hw_blob_case *c, const struct hw_blob_entry *entries)
{
	unsigned n = 0;

	while (n < c->entry_count && entries[n].table != HW_NPT_EDIT_TABLE)
		n++;
	return n;
}

/* Nested-paging edits only in nested-paging cases, after the table entries. */
static const char *check_npt(const struct hw_blob_case *c, const struct hw_blob_entry *entries)
{
	unsigned first = hw_case_table_entries(c, entries);

	if (first == c->entry_count)
		return 0;
	if (!(c->flags & HW_CASE_NPT))
		return "a nested-paging edit in a case without nested paging";
	for (unsigned i = first; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (e->table != HW_NPT_EDIT_TABLE)
			return "a table entry after a nested-paging edit";
		if (e->index > HW_NPT_EDIT_RSVD || e->link > c->table_count || e->reserved)
			return "nested-paging edit field out of range";
		if ((e->index == HW_NPT_EDIT_FLAGS_2M || e->index == HW_NPT_EDIT_RSVD) && !e->link &&
		    !in_scratch(e->value & NW_PTE_ADDR_MASK, NW_PAGE_SIZE))
			return "a 2 MiB nested-paging edit outside the scratch region (it could map the guest's code)";
		if (e->index == HW_NPT_EDIT_FLAGS_2M && e->link)
			return "a 2 MiB nested-paging edit of a guest table (it would cover the guest's code)";
		if (!e->link && (e->value & NW_PTE_ADDR_MASK) >= HW_DIRECT_MAP_SIZE)
			return "a nested-paging edit above 4 GiB";
	}
	return 0;
}

/* What the image can run: nested-paging cases as a CPL-0 64-bit guest or a
 * legacy-mode guest at CPL 0 or 3, neither with implicit accesses nor PKE (PKRU
 * is not part of the VMCB); legacy modes alone, 32-bit GVAs. */
static const char *check_mode(const struct hw_blob_case *c)
{
	bool legacy = hw_case_is_legacy(c);

	if ((c->flags & HW_CASE_PAE) && (c->flags & HW_CASE_LEGACY32))
		return "both PAE and 32-bit paging";
	if ((c->flags & HW_CASE_PSE) && !(c->flags & HW_CASE_LEGACY32))
		return "CR4.PSE without 32-bit paging";
	if (legacy && (c->flags & (HW_CASE_LA57 | HW_CASE_PKE)))
		return "a legacy-mode case with LA57 or PKE";
	if (legacy && (c->gva >> 32))
		return "a legacy-mode GVA above 4 GiB";
	if (hw_case_is_nested(c) && c->access == HW_ACCESS_IMPLICIT)
		return "an implicit access in a nested-paging or legacy-mode case";
	if ((c->flags & HW_CASE_NPT) && !legacy && (c->cpl != 0 || (c->flags & (HW_CASE_LA57 | HW_CASE_PKE))))
		return "a 64-bit nested-paging case other than CPL 0 with 4-level paging and no PKE";
	return 0;
}

static const char *check_links(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			       unsigned levels[HW_MAX_TABLES])
{
	for (unsigned t = 0; t < HW_MAX_TABLES; t++)
		levels[t] = 0;
	levels[0] = hw_case_top_level(c);
	/* Links point only to higher-numbered tables, so one pass in table order sees every parent first. */
	for (unsigned t = 0; t < c->table_count; t++) {
		for (unsigned i = 0; i < hw_case_table_entries(c, entries); i++) {
			const struct hw_blob_entry *e = &entries[i];

			if (e->table != t || !e->link)
				continue;
			if (!levels[t])
				return "an entry in a table that no link reaches";
			if (levels[t] == 1)
				return "a link in a page table (level 1)";
			if (levels[e->link - 1] && levels[e->link - 1] != levels[t] - 1)
				return "a table linked at two levels";
			levels[e->link - 1] = levels[t] - 1;
		}
	}
	return 0;
}

const char *hw_case_check(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			  const struct hw_cpu_features *cpu, unsigned levels[HW_MAX_TABLES])
{
	bool la57 = c->flags & HW_CASE_LA57;
	unsigned kernel_slots = hw_case_kernel_slots(c);
	uint64_t below_maxphy = (UINT64_C(1) << cpu->maxphyaddr) - 1;
	const char *why;

	if (c->flags & ~HW_CASE_FLAGS_ALL)
		return "unknown flag bits";
	if (c->cpl != 0 && c->cpl != 3)
		return "CPL other than 0 or 3";
	if (c->access > HW_ACCESS_IMPLICIT)
		return "unknown access kind";
	why = check_mode(c);
	if (why)
		return why;
	if (c->table_count == 0 || c->table_count > HW_MAX_TABLES)
		return "table count outside 1..16";
	if (c->entry_count > HW_MAX_ENTRIES)
		return "more than 64 entries";
	if (c->gva & 7)
		return "GVA not 8-byte aligned";
	if (c->access == HW_ACCESS_IMPLICIT && !nw_walk_is_canonical(c->gva, la57 ? 57 : 48))
		return "implicit access at a non-canonical GVA (LLDT would fault)";
	why = check_npt(c, entries);
	if (why)
		return why;
	for (unsigned i = 0; i < hw_case_table_entries(c, entries); i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (e->table >= c->table_count || e->index >= hw_case_table_slots(c, 1) || e->link > c->table_count ||
		    e->reserved)
			return "entry field out of range";
		if (e->table == 0 && e->index >= hw_case_table_slots(c, hw_case_top_level(c)))
			return "a PDPTE index above 3";
		if (hw_case_entry_bytes(c) == 4 && (e->value >> 32))
			return "a 32-bit paging entry with bits above 31";
		if (e->link && e->link - 1u <= e->table)
			return "a link to a table not after its own (tables form a tree in order)";
		if (e->table == 0 && e->index < kernel_slots)
			return "entry in a top-level slot the image keeps for itself";
		if (e->link && (e->value & NW_PTE_ADDR_MASK & below_maxphy))
			return "a linked entry with address bits of its own";
		for (unsigned j = 0; j < i; j++)
			if (entries[j].table == e->table && entries[j].index == e->index)
				return "two entries for one slot";
	}
	why = check_links(c, entries, levels);
	if (why)
		return why;
	for (unsigned i = 0; i < hw_case_table_entries(c, entries); i++) {
		const struct hw_blob_entry *e = &entries[i];
		unsigned level = levels[e->table];

		if (!(e->value & NW_PTE_P) || e->link)
			continue;
		if (!hw_case_is_leaf(c, level, e->value) && !has_reserved_ps(c, level, e->value))
			return "a present non-leaf entry without a link";
		if (!leaf_is_safe(c, e->value, level, cpu->maxphyaddr))
			return "a leaf mapping memory outside the scratch region";
	}
	return 0;
}
