/* The EPT case blob and case builder shared by the VMX image and nestwalk-vmx-sim
 * (hw/contract/ept_case.h): parsing, the refusal rules, the guest it builds (checked
 * against the layout the header documents) and the outcome line. */
#include <criterion/criterion.h>
#include <string.h>

#include <nestwalk/x86_pte.h>

#include "contract/ept_case.h"
#include "contract/layout.h"
#include "fixture.h"

TestSuite(vmx_case, .init = fixture_setup, .fini = fixture_teardown);

#define T VMX_TARGET_BASE

static struct vmx_case plain_case(void)
{
	struct vmx_case c = { .head = {
		.id = 1, .access = VMX_ACCESS_READ, .ept_level = 1, .gva = T, .gpa = T,
		.guest = { 0x3, 0x3, 0x3, 0x3 }, .ept_leaf = 0x37, .guest_level = 1,
		.guest_flags = VMX_GUEST_WP | VMX_GUEST_NXE,
	} };

	return c;
}

/* A blob of one case with its edits, written field by field as tools/bochs-run packs it. */
static size_t pack(uint8_t *buf, const struct vmx_case *c, uint32_t count)
{
	struct vmx_blob_header h = { VMX_BLOB_MAGIC, VMX_BLOB_VERSION, sizeof(h), count, sizeof(c->head),
				     sizeof(c->edits[0]) };
	size_t n = 0;

	memcpy(buf, &h, sizeof(h));
	n += sizeof(h);
	memcpy(buf + n, &c->head, sizeof(c->head));
	n += sizeof(c->head);
	memcpy(buf + n, c->edits, c->head.edit_count * sizeof(c->edits[0]));
	return n + c->head.edit_count * sizeof(c->edits[0]);
}

Test(vmx_case, blob_parses_and_reports_offsets)
{
	struct vmx_case c = plain_case(), got;
	struct vmx_blob_cursor cur;
	uint8_t buf[512];
	const char *why;
	size_t n;

	c.head.edit_count = 2;
	c.edits[0] = (struct vmx_blob_edit){ .where = VMX_EDIT_TARGET, .level = 4, .set = 0x8 };
	c.edits[1] = (struct vmx_blob_edit){ .where = VMX_EDIT_GUEST_PT, .level = 1, .clear = 0x7 };
	n = pack(buf, &c, 1);
	cr_assert_eq(n, 16 + 72 + 2 * 24);
	cr_assert_null(vmx_blob_open(&cur, buf, n));
	cr_assert_eq(vmx_blob_next(&cur, &got, &why), 1);
	cr_assert_eq(got.head.edit_count, 2);
	cr_assert_eq(got.edits[1].clear, 0x7);
	cr_assert_eq(vmx_blob_next(&cur, &got, &why), 0);

	/* Cut inside the second edit: refused at the case's offset, 16. */
	cr_assert_null(vmx_blob_open(&cur, buf, n - 1));
	cr_assert_eq(vmx_blob_next(&cur, &got, &why), -1);
	cr_assert_str_eq(why, "edits cut short");
	cr_assert_eq(cur.offset, 16);

	/* One case promised, two present. */
	memcpy(buf + n, buf + 16, n - 16);
	cr_assert_null(vmx_blob_open(&cur, buf, 2 * n - 16));
	cr_assert_eq(vmx_blob_next(&cur, &got, &why), 1);
	cr_assert_eq(vmx_blob_next(&cur, &got, &why), -1);
	cr_assert_str_eq(why, "bytes after the last case");

	/* A case size this reader does not know (version 1's 64 bytes). */
	buf[12] = 64;
	cr_assert_str_eq(vmx_blob_open(&cur, buf, n), "unknown case or edit size");
	buf[12] = 72;
	buf[0] ^= 1;
	cr_assert_str_eq(vmx_blob_open(&cur, buf, n), "bad magic (not an EPT case blob)");
	cr_assert_str_eq(vmx_blob_open(&cur, buf, 8), "shorter than its header");
}

Test(vmx_case, refusal_rules)
{
	struct vmx_case c = plain_case();

	cr_assert_null(vmx_case_check(&c));
	c.head.gva = T - 8; /* PML4 slot 0 holds the guest's code */
	cr_assert_not_null(vmx_case_check(&c));
	c = plain_case();
	c.head.gva = T + 4;
	cr_assert_not_null(vmx_case_check(&c));
	c = plain_case();
	c.head.ept_level = 3; /* a 1 GiB page at HPA 0 must put the GPA's offset in the scratch region */
	cr_assert_not_null(vmx_case_check(&c));
	c.head.gpa = T + HW_SCRATCH_BASE + 0x3000;
	cr_assert_null(vmx_case_check(&c));
	c = plain_case();
	c.head.guest[1] |= NW_PTE_PS;
	cr_assert_not_null(vmx_case_check(&c));
	c = plain_case();
	c.head.guest[0] |= UINT64_C(1) << 45; /* above MAXPHYADDR 40: a reserved bit, allowed */
	cr_assert_null(vmx_case_check(&c));
	c.head.guest[0] |= UINT64_C(1) << 20; /* address bits: refused */
	cr_assert_not_null(vmx_case_check(&c));
	c = plain_case();
	c.head.access = VMX_ACCESS_WRITE;
	c.head.ept_level = 2;
	c.head.edit_count = 1;
	c.edits[0] = (struct vmx_blob_edit){ .where = VMX_EDIT_TARGET, .level = 2, .set = 0x1000 };
	cr_assert_not_null(vmx_case_check(&c)); /* a moved leaf may not take a write */
	c.head.access = VMX_ACCESS_READ;
	cr_assert_null(vmx_case_check(&c));
	c.edits[0] = (struct vmx_blob_edit){ .where = VMX_EDIT_GUEST_PD, .level = 2, .clear = 0x2 };
	cr_assert_not_null(vmx_case_check(&c));
	c.edits[0].level = 1;
	cr_assert_null(vmx_case_check(&c));

	/* A 2 MiB guest leaf: no PTE, gva and gpa agree in bits 20:12, bits 20:13 (reserved) and PAT allowed. */
	c = plain_case();
	c.head.guest_level = 2;
	cr_assert_not_null(vmx_case_check(&c)); /* a PTE below the leaf */
	c.head.guest[0] = 0;
	cr_assert_null(vmx_case_check(&c));
	c.head.gva = T + 0x3000;
	cr_assert_not_null(vmx_case_check(&c));
	c.head.gpa = T + 0x403000;
	cr_assert_null(vmx_case_check(&c));
	c.head.guest[1] |= NW_PTE_PAT_LARGE | (UINT64_C(1) << 20);
	cr_assert_null(vmx_case_check(&c));
	c.head.guest[1] |= UINT64_C(1) << 21; /* the page's address */
	cr_assert_not_null(vmx_case_check(&c));
	c = plain_case();
	c.head.cpl = 1;
	cr_assert_not_null(vmx_case_check(&c));
	c.head.cpl = 3;
	c.head.guest_flags = VMX_GUEST_FLAGS_ALL;
	cr_assert_null(vmx_case_check(&c));
	c.head.guest_flags = 0x20;
	cr_assert_not_null(vmx_case_check(&c));
}

Test(vmx_case, guest_state_of_a_case)
{
	struct vmx_case c = plain_case();
	struct vmx_guest_ctl g = vmx_case_guest_ctl(&c);

	/* SDM Vol. 3A §2.5: CR0.PG bit 31, CR0.WP bit 16, CR4.PAE bit 5, SMEP bit 20, SMAP bit 21;
	 * §2.2.1: EFER.LME bit 8, LMA bit 10, NXE bit 11; §2.3: RFLAGS.AC bit 18. */
	cr_assert_eq(g.cr0, 0x80010000);
	cr_assert_eq(g.cr4, 0x20);
	cr_assert_eq(g.efer, 0xd00);
	cr_assert_eq(g.rflags, 0);
	cr_assert_eq(g.cpl, 0);
	c.head.guest_flags = VMX_GUEST_SMEP | VMX_GUEST_SMAP | VMX_GUEST_AC;
	c.head.cpl = 3;
	g = vmx_case_guest_ctl(&c);
	cr_assert_eq(g.cr0, 0x80000000);
	cr_assert_eq(g.cr4, 0x300020);
	cr_assert_eq(g.efer, 0x500);
	cr_assert_eq(g.rflags, 0x40000);
	cr_assert_eq(g.cpl, 3);
	cr_assert_eq(g.gdtr_base, 0);
	/* An implicit read: GDT entry 1 (selector 8) is the target, so the GDT starts 8 bytes before it. */
	c.head.access = VMX_ACCESS_IMPLICIT;
	c.head.gva = T + 0x100;
	cr_assert_null(vmx_case_check(&c));
	g = vmx_case_guest_ctl(&c);
	cr_assert_eq(g.gdtr_base, T + 0xf8);
	cr_assert_eq(g.gdtr_limit, 15);
	cr_assert_eq(vmx_guest_rip(VMX_ACCESS_IMPLICIT), 0x200030);
	c.head.access = 4;
	cr_assert_not_null(vmx_case_check(&c));
}

Test(vmx_case, builds_a_large_guest_leaf)
{
	NW_SCOPED_FRAME code = nw_frame_uninit();
	struct vmx_case c = plain_case();
	const uint64_t *pdpt, *pml4;
	struct vmx_vm vm;
	const char *why;

	/* A 1 GiB guest page at CPL 3: the PDPTE maps GPA T + 1 GiB with PS; the code's path is user-mode. */
	c.head.guest_level = 3;
	c.head.cpl = 3;
	c.head.guest[0] = c.head.guest[1] = 0;
	c.head.guest[2] = 0x7;
	c.head.gva = T + 0x40201008;
	c.head.gpa = T + 0x40201000;
	cr_assert_null(vmx_case_check(&c));
	cr_assert_eq(nw_frame_alloc(&code, hal), NW_OK);
	cr_assert_eq(vmx_vm_build(&vm, hal, &c, nw_frame_paddr(&code), &why), NW_OK, "%s", why);
	pml4 = nw_frame_ptr(&vm.tables[0]);
	pdpt = nw_frame_ptr(&vm.tables[4]);
	cr_assert_eq(pml4[0], 0x202000 | 0x7);
	cr_assert_eq(pdpt[1], T + 0x40000000 + 0x87);
	cr_assert_eq(((const uint64_t *)nw_frame_ptr(&vm.tables[5]))[1], 0);
	vmx_vm_free(&vm);
}

Test(vmx_case, builds_the_documented_guest)
{
	NW_SCOPED_FRAME code = nw_frame_uninit();
	struct vmx_case c = plain_case();
	struct nw_s2_mapping m;
	char ad[VMX_AD_LEN];
	const uint64_t *pml4;
	struct vmx_vm vm;
	const char *why;

	c.head.gva = T + 0x40201008; /* PDPT index 1, PD index 1, PT index 1 */
	c.head.gpa = T + 0x123000;
	cr_assert_eq(nw_frame_alloc(&code, hal), NW_OK);
	cr_assert_eq(vmx_vm_build(&vm, hal, &c, nw_frame_paddr(&code), &why), NW_OK, "%s", why);
	/* Guest CR3: the table after the code page; its slot 1 points at the target's PDPT, table 4, at 0x205000. */
	cr_assert_eq(vmx_guest_cr3(), 0x201000);
	pml4 = nw_frame_ptr(&vm.tables[0]);
	cr_assert_eq(pml4[1], 0x205000 | 0x3);
	cr_assert_eq(pml4[0], 0x202000 | 0x3);
	cr_assert_eq(((const uint64_t *)nw_frame_ptr(&vm.tables[6]))[1], T + 0x123000 + 0x3);
	/* EPT: the target's 4 KiB page lands in the scratch region at the GPA's offset in its 2 MiB. */
	cr_assert_eq(nw_ept_query(&vm.ept, nw_gpa(T + 0x123000), &m), NW_OK);
	cr_assert_eq(m.hpa.val, HW_SCRATCH_BASE + 0x123000);
	cr_assert_eq(m.entry & 0xfff, 0x37);
	cr_assert_eq(nw_ept_query(&vm.ept, nw_gpa(VMX_GUEST_CODE_GPA), &m), NW_OK);
	cr_assert_eq(m.hpa.val, nw_frame_paddr(&code).val);
	cr_assert_eq(nw_ept_query(&vm.ept, nw_gpa(0x207000), &m), NW_OK);
	cr_assert_eq(m.hpa.val, nw_frame_paddr(&vm.tables[6]).val);
	cr_assert_eq(vmx_guest_rip(VMX_ACCESS_FETCH), 0x200020);
	vmx_vm_read_ad(&vm, &c, ad);
	cr_assert_str_eq(ad, "0000/0000/000");
	vmx_vm_free(&vm);
}

Test(vmx_case, refused_build_frees_everything)
{
	NW_SCOPED_FRAME code = nw_frame_uninit();
	struct vmx_case c = plain_case();
	struct vmx_vm vm;
	const char *why;

	c.head.edit_count = 1; /* PS may not change through an edit */
	c.edits[0] = (struct vmx_blob_edit){ .where = VMX_EDIT_TARGET, .level = 2, .set = 0x80 };
	cr_assert_eq(nw_frame_alloc(&code, hal), NW_OK);
	cr_assert_neq(vmx_vm_build(&vm, hal, &c, nw_frame_paddr(&code), &why), NW_OK);
	cr_assert_str_eq(why, "applying an edit");
}

Test(vmx_case, outcome_line)
{
	struct vmx_outcome o = { .kind = "eptv", .count = 3, .val = { 0x181, T, 0 }, .unknown = 4 };
	char line[VMX_LINE_LEN];

	vmx_outcome_format(7, &o, "0000/0000/000", line);
	cr_assert_str_eq(line, "v 7 eptv 0x181 0x8000000000 - 0000/0000/000");
	o = (struct vmx_outcome){ .kind = "ok", .count = 1, .unknown = 1 };
	vmx_outcome_format(4294967295u, &o, "1111/00/000", line);
	cr_assert_str_eq(line, "v 4294967295 ok - 1111/00/000");
}
