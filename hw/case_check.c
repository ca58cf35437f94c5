#include "case_check.h"

#include <stdbool.h>

#include <nestwalk/addr.h>
#include <nestwalk/x86_pte.h>

#include "layout.h"

static bool is_canonical(uint64_t gva, bool la57)
{
	unsigned bits = la57 ? 57 : 48;
	uint64_t top = gva >> (bits - 1);

	return top == 0 || top == (UINT64_MAX >> (bits - 1));
}

static uint64_t page_size(unsigned level)
{
	return level == 2 ? NW_SIZE_2M : level == 3 ? NW_SIZE_1G : NW_PAGE_SIZE;
}

static bool in_scratch(uint64_t start, uint64_t size)
{
	return start >= HW_SCRATCH_BASE && start + size <= HW_SCRATCH_BASE + HW_SCRATCH_SIZE;
}

/* A present entry without a link is used as a leaf; whatever it maps must be
 * harmless to read, write and execute. */
static bool leaf_is_safe(uint64_t value, unsigned level, uint64_t gva, unsigned maxphyaddr)
{
	uint64_t size = page_size(level);
	uint64_t base = value & NW_PTE_ADDR_MASK & ~(size - 1);
	uint64_t offset = gva & (size - 1);

	if (base >> maxphyaddr)
		return true; /* the walk faults with RSVD before using it */
	if (in_scratch(base, size))
		return true;
	return level == 3 && base == 0 && in_scratch(offset & ~UINT64_C(7), 8);
}

const char *hw_case_missing_feature(const struct hw_blob_case *c, const struct hw_cpu_features *cpu)
{
	if ((c->flags & HW_CASE_SMEP) && !cpu->smep)
		return "SMEP";
	if ((c->flags & HW_CASE_SMAP) && !cpu->smap)
		return "SMAP";
	if ((c->flags & HW_CASE_PKE) && !cpu->pku)
		return "PKU";
	if ((c->flags & HW_CASE_LA57) && !cpu->la57)
		return "LA57";
	if ((c->flags & HW_CASE_NPT) && !cpu->svm)
		return "SVM";
	if ((c->flags & HW_CASE_NXE) && !cpu->nx)
		return "NX";
	return 0;
}

unsigned hw_case_table_entries(const struct hw_blob_case *c, const struct hw_blob_entry *entries)
{
	unsigned n = 0;

	while (n < c->entry_count && entries[n].table != HW_NPT_EDIT_TABLE)
		n++;
	return n;
}

/* Nested-paging cases: a CPL-0 guest with 4-level paging and no protection
 * keys (PKRU is not part of the VMCB); edits only after the table entries. */
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
		if (e->index > HW_NPT_EDIT_FLAGS || e->link > c->table_count || e->reserved)
			return "nested-paging edit field out of range";
		if (!e->link && (e->value & NW_PTE_ADDR_MASK) >= HW_DIRECT_MAP_SIZE)
			return "a nested-paging edit above 4 GiB";
	}
	return 0;
}

static const char *check_links(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			       unsigned levels[HW_MAX_TABLES])
{
	for (unsigned t = 0; t < HW_MAX_TABLES; t++)
		levels[t] = 0;
	levels[0] = (c->flags & HW_CASE_LA57) ? 5 : 4;
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
	unsigned kernel_slots = la57 ? HW_KERNEL_SLOTS_5LEVEL : HW_KERNEL_SLOTS_4LEVEL;
	uint64_t below_maxphy = (UINT64_C(1) << cpu->maxphyaddr) - 1;
	const char *why;

	if (c->flags & ~HW_CASE_FLAGS_ALL)
		return "unknown flag bits";
	if (c->cpl != 0 && c->cpl != 3)
		return "CPL other than 0 or 3";
	if (c->access > HW_ACCESS_IMPLICIT)
		return "unknown access kind";
	if ((c->flags & HW_CASE_NPT) &&
	    (c->cpl != 0 || c->access == HW_ACCESS_IMPLICIT || (c->flags & (HW_CASE_LA57 | HW_CASE_PKE))))
		return "a nested-paging case other than a CPL-0 read, write or fetch with 4-level paging and no PKE";
	if (c->table_count == 0 || c->table_count > HW_MAX_TABLES)
		return "table count outside 1..16";
	if (c->entry_count > HW_MAX_ENTRIES)
		return "more than 64 entries";
	if (c->gva & 7)
		return "GVA not 8-byte aligned";
	if (c->access == HW_ACCESS_IMPLICIT && !is_canonical(c->gva, la57))
		return "implicit access at a non-canonical GVA (LLDT would fault)";
	why = check_npt(c, entries);
	if (why)
		return why;
	for (unsigned i = 0; i < hw_case_table_entries(c, entries); i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (e->table >= c->table_count || e->index >= 512 || e->link > c->table_count || e->reserved)
			return "entry field out of range";
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
		if (level != 1 && !(e->value & NW_PTE_PS))
			return "a present non-leaf entry without a link";
		if (!leaf_is_safe(e->value, level, c->gva, cpu->maxphyaddr))
			return "a leaf mapping memory outside the scratch region";
	}
	return 0;
}
