/* The recorder plugin's host-side parts (recorder/): its arguments, the
 * guest-physical address it gives a QEMU RAM offset, the RAM file's
 * mappings between host pointers and offsets, the instructions it decodes
 * the CPU states it reads from QEMU's log and the privilege it gives each
 * access. The `pc` machine's RAM
 * split, from QEMU's pc_piix.c (README "Recording a guest"): below 3.5 GiB
 * all RAM lies at guest-physical 0; from 3.5 GiB on, 3 GiB lie there and the
 * rest at 4 GiB, after them in QEMU's RAM address space. */
#include <criterion/criterion.h>
#include <string.h>

#include "args.h"
#include "cpu_log.h"
#include "decode.h"
#include "gpa.h"
#include "privilege.h"
#include "ram_map.h"

#define G (1ull << 30)
#define M (1ull << 20)

Test(recorder, pc_ram_split)
{
	cr_assert_eq(nw_recorder_layout_pc(256 * M).below4g, 256 * M);
	cr_assert_eq(nw_recorder_layout_pc(0xe0000000ull - 0x1000).below4g, 0xe0000000ull - 0x1000);
	cr_assert_eq(nw_recorder_layout_pc(0xe0000000ull).below4g, 3 * G);
	cr_assert_eq(nw_recorder_layout_pc(4 * G).below4g, 3 * G);
	cr_assert_eq(nw_recorder_layout_pc(4 * G).ram, 4 * G);
}

Test(recorder, ram_offsets_become_guest_physical_addresses)
{
	struct nw_recorder_layout pc4g = nw_recorder_layout_pc(4 * G);
	uint64_t gpa = 0;

	/* Below the split the offset is the address. */
	cr_assert(nw_recorder_gpa_from_ram_offset(&pc4g, 0x1000, &gpa));
	cr_assert_eq(gpa, 0x1000);
	cr_assert(nw_recorder_gpa_from_ram_offset(&pc4g, 3 * G - 1, &gpa));
	cr_assert_eq(gpa, 3 * G - 1);
	/* -m 4G: the access at 0x13ffff4b0 (1 GiB above 4 GiB, less 0xb50) comes back as offset
	 * 3 GiB + 0x3ffff4b0 = 0xfffff4b0. */
	cr_assert(nw_recorder_gpa_from_ram_offset(&pc4g, 0xfffff4b0ull, &gpa));
	cr_assert_eq(gpa, 0x13ffff4b0ull);
	cr_assert(nw_recorder_gpa_from_ram_offset(&pc4g, 3 * G, &gpa));
	cr_assert_eq(gpa, 4 * G);
	/* And back: the offsets of guest RAM's addresses, none for the hole below 4 GiB or past the end. */
	uint64_t offset = 0;

	cr_assert(nw_recorder_ram_offset_from_gpa(&pc4g, 0x13ffff4b0ull, &offset));
	cr_assert_eq(offset, 0xfffff4b0ull);
	cr_assert(nw_recorder_ram_offset_from_gpa(&pc4g, 0x1000, &offset));
	cr_assert_eq(offset, 0x1000);
	cr_assert_not(nw_recorder_ram_offset_from_gpa(&pc4g, 3 * G, &offset));
	cr_assert_not(nw_recorder_ram_offset_from_gpa(&pc4g, 5 * G, &offset));
	/* At or past the RAM's size: another block (an option ROM came back as 0x11fc60000): no address. */
	gpa = 0x5a5a;
	cr_assert_not(nw_recorder_gpa_from_ram_offset(&pc4g, 4 * G, &gpa));
	cr_assert_not(nw_recorder_gpa_from_ram_offset(&pc4g, 0x11fc60000ull, &gpa));
	cr_assert_eq(gpa, 0x5a5a);
}

Test(recorder, ram_file_offsets_and_host_pointers)
{
	/* 256 MiB of the RAM file mapped at 0x7f0000000000 from file offset 0, 4 KiB more from offset 0x20000000
	 * at 0x7f1000000000. */
	struct nw_ram_map map = { .count = 2 };
	uint64_t offset = 0;

	map.range[0].start = 0x7f0000000000;
	map.range[0].end = 0x7f0000000000 + 256 * M;
	map.range[0].offset = 0;
	map.range[1].start = 0x7f1000000000;
	map.range[1].end = 0x7f1000001000;
	map.range[1].offset = 0x20000000;
	cr_assert(nw_ram_map_offset(&map, (const void *)(uintptr_t)0x7f0000123456, &offset));
	cr_assert_eq(offset, 0x123456);
	cr_assert(nw_ram_map_offset(&map, (const void *)(uintptr_t)0x7f1000000ff8, &offset));
	cr_assert_eq(offset, 0x20000ff8);
	cr_assert_not(nw_ram_map_offset(&map, (const void *)(uintptr_t)(0x7f0000000000 + 256 * M), &offset));
	cr_assert_eq(nw_ram_map_host(&map, 0x1000, 8), (const uint8_t *)(uintptr_t)0x7f0000001000);
	cr_assert_eq(nw_ram_map_host(&map, 256 * M - 8, 8), (const uint8_t *)(uintptr_t)(0x7f0000000000 + 256 * M - 8));
	cr_assert_null(nw_ram_map_host(&map, 256 * M - 4, 8)); /* runs past the mapping's end */
	cr_assert_eq(nw_ram_map_host(&map, 0x20000ffc, 4), (const uint8_t *)(uintptr_t)0x7f1000000ffc);
	cr_assert_null(nw_ram_map_host(&map, 0x20001000, 1));
	cr_assert_null(nw_ram_map_host(&map, 0x10000000, 1)); /* between the two */
	/* Mappings of two memfd backends: none is taken for guest RAM. */
	map.ambiguous = true;
	cr_assert_not(nw_ram_map_offset(&map, (const void *)(uintptr_t)0x7f0000123456, &offset));
	cr_assert_null(nw_ram_map_host(&map, 0x1000, 8));
}

static int parse(char *err, struct nw_recorder_args *args, const char *a, const char *b, const char *c,
		 const char *d)
{
	char *argv[4] = { (char *)(uintptr_t)a, (char *)(uintptr_t)b, (char *)(uintptr_t)c, (char *)(uintptr_t)d };
	int argc = 0;

	while (argc < 4 && argv[argc])
		argc++;
	err[0] = 0;
	return nw_recorder_args_parse(argc, argv, args, err, 512);
}

Test(recorder, arguments)
{
	struct nw_recorder_args args;
	char err[512];

	cr_assert_eq(parse(err, &args, "out=t.nwt.zst", "ram=4G", 0, 0), 0, "%s", err);
	cr_assert_str_eq(args.out, "t.nwt.zst");
	cr_assert(args.zstd && !args.text && args.limit == 0 && !args.has_trigger_gva && !args.trigger_user);
	cr_assert_eq(args.layout.ram, 4 * G);
	cr_assert_eq(args.layout.below4g, 3 * G);
	cr_assert_eq(parse(err, &args, "out=t", "ram=0x10000000", "below4g=128M", 0), 0, "%s", err);
	cr_assert_eq(args.layout.ram, 256 * M);
	cr_assert_eq(args.layout.below4g, 128 * M);
	cr_assert_eq(parse(err, &args, "out=t", "ram=1024K", "trigger_gva=0xffffffff80000000", 0), 0, "%s", err);
	cr_assert(args.has_trigger_gva && args.trigger_gva == 0xffffffff80000000ull && args.layout.ram == M);

	cr_assert_eq(parse(err, &args, "out=t", "ram=1T", 0, 0), -1);
	cr_assert_str_eq(err, "argument 'ram=1T': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=17179869184G", 0, 0), -1); /* 2^34 GiB = 2^64 bytes */
	cr_assert_str_eq(err, "argument 'ram=17179869184G': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=-1", 0, 0), -1);
	cr_assert_str_eq(err, "argument 'ram=-1': bad value");
	cr_assert_eq(parse(err, &args, "out=t", 0, 0, 0), -1);
	cr_assert(strstr(err, "ram=SIZE is required"), "%s", err);
	cr_assert_eq(parse(err, &args, "ram=1G", 0, 0, 0), -1);
	cr_assert(strstr(err, "out=PATH is required"), "%s", err);
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "trigger_count=x", 0), -1);
	cr_assert_str_eq(err, "argument 'trigger_count=x': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "quiet", 0), -1);
	cr_assert_str_eq(err, "argument 'quiet' is not KEY=VALUE");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "below4g=0x100000001", 0), -1);
	cr_assert_str_eq(err, "argument 'below4g=0x100000001': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "regs=qemu.log", 0), 0, "%s", err);
	cr_assert_str_eq(args.regs, "qemu.log");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "regs=", 0), -1);
	cr_assert_str_eq(err, "argument 'regs=': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "writers=", 0), -1);
	cr_assert_str_eq(err, "argument 'writers=': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "trigger=user", 0), 0, "%s", err);
	cr_assert(args.trigger_user && !args.has_trigger_gva && !args.trigger_count);
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "trigger=kernel", 0), -1);
	cr_assert_str_eq(err, "argument 'trigger=kernel': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "trigger=user", "trigger_count=5"), -1);
	cr_assert_str_eq(err, "trigger, trigger_gva and trigger_count exclude each other");
	/* The privilege comes from QEMU and the guest's tables now: cpl= is no argument. */
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", 0), -1);
	cr_assert(strstr(err, "unknown argument 'cpl'"), "%s", err);
}

static struct nw_recorder_insn decode(const char *hex)
{
	uint8_t bytes[16];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
	return nw_recorder_insn_decode(bytes, n);
}

Test(recorder, register_writers_and_invalidations_decoded)
{
	/* Encodings from the SDM Vol. 2 opcode tables, as objdump shows them for hw/boot.S and runner.c. */
	cr_assert(decode("0f22e0").kind == NW_INSN_MOV_CR && decode("0f22e0").cr == 4);   /* mov %rax,%cr4 */
	cr_assert(decode("0f22d8").kind == NW_INSN_MOV_CR && decode("0f22d8").cr == 3);   /* mov %rax,%cr3 */
	cr_assert(decode("0f22c0").cr == 0);                                             /* mov %rax,%cr0 */
	cr_assert(decode("410f22e6").kind == NW_INSN_MOV_CR && decode("410f22e6").cr == 4); /* REX.B: mov %r14,%cr4 */
	cr_assert(decode("440f22c0").cr == 8);                                           /* REX.R: mov %rax,%cr8 */
	cr_assert_eq(decode("0f30").kind, NW_INSN_WRMSR);
	cr_assert_eq(decode("0f06").kind, NW_INSN_CLTS);
	cr_assert_eq(decode("0f01f0").kind, NW_INSN_LMSW);     /* lmsw %ax: ModRM 11 110 000 */
	cr_assert_eq(decode("0f013424").kind, NW_INSN_LMSW);   /* lmsw (%rsp): ModRM 00 110 100, SIB */
	cr_assert_eq(decode("0f0138").kind, NW_INSN_INVLPG);   /* invlpg (%rax): ModRM 00 111 000 */
	cr_assert_eq(decode("0f01f8").kind, NW_INSN_OTHER);    /* swapgs: /7 with mod 11 */
	cr_assert_eq(decode("0f01f9").kind, NW_INSN_OTHER);    /* rdtscp */
	cr_assert_eq(decode("660f388208").kind, NW_INSN_INVPCID); /* invpcid (%rax),%rcx */
	cr_assert_eq(decode("0f388208").kind, NW_INSN_OTHER);  /* no 66: not INVPCID */
	cr_assert_eq(decode("0f20c0").kind, NW_INSN_OTHER);    /* mov %cr0,%rax reads */
	cr_assert_eq(decode("0f32").kind, NW_INSN_OTHER);      /* rdmsr */
	cr_assert_eq(decode("0f0115").kind, NW_INSN_OTHER);    /* lgdt: /2 */
	/* Those after which the privilege may be lower (privilege.h). */
	cr_assert_eq(decode("48cf").kind, NW_INSN_IRET);     /* iretq */
	cr_assert_eq(decode("cf").kind, NW_INSN_IRET);       /* iret */
	cr_assert_eq(decode("cb").kind, NW_INSN_RETURN);       /* lret */
	cr_assert_eq(decode("ca0800").kind, NW_INSN_RETURN);   /* lret $8 */
	cr_assert_eq(decode("480f07").kind, NW_INSN_LEAVES);   /* sysretq */
	cr_assert_eq(decode("0f35").kind, NW_INSN_LEAVES);     /* sysexit */
	cr_assert_eq(decode("0f01d8").kind, NW_INSN_LEAVES);   /* vmrun */
	cr_assert_eq(decode("0f01c2").kind, NW_INSN_LEAVES);   /* vmlaunch */
	/* Those that keep or raise it but by a task switch, which the user-mode index of the new task's first load
	 * or store shows (privilege.h); and near returns. */
	cr_assert_eq(decode("cd80").kind, NW_INSN_OTHER);      /* int $0x80 */
	cr_assert_eq(decode("6566ff2e").kind, NW_INSN_OTHER);  /* ljmpw *%gs:(%esi), as QEMU's multiboot ROM has it */
	cr_assert_eq(decode("c3").kind, NW_INSN_OTHER);        /* ret */
	cr_assert_eq(decode("0faa").kind, NW_INSN_OTHER);      /* rsm: back to the privilege the SMI interrupted */
	cr_assert_eq(decode("0f05").kind, NW_INSN_OTHER);      /* syscall: enters CPL 0 */
	cr_assert_eq(decode("0f").kind, NW_INSN_OTHER);
	cr_assert_eq(decode("0f22").kind, NW_INSN_OTHER);      /* cut short: no ModRM */
}

static bool parse_state(const char *const *lines, struct nw_cpu_state *state)
{
	unsigned seen = 0;

	for (; *lines; lines++) {
		if (nw_cpu_log_parse_line(*lines, state, &seen))
			return true;
	}
	return false;
}

static bool parse_log(const char *const *lines, struct nw_recorder_regs *regs)
{
	struct nw_cpu_state state = { .regs = *regs };
	bool done = parse_state(lines, &state);

	*regs = state.regs;
	return done;
}

Test(recorder, cpu_states_read_from_qemus_log)
{
	/* QEMU 7.2's x86_cpu_dump_state() text, 32-bit and 64-bit forms, as -d cpu wrote it for hw/boot.S. */
	const char *const state32[] = { "EAX=0010d000 EBX=00009500 ECX=00000004 EDX=00030511\n",
		"EIP=00100095 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\n",
		"CR0=00000011 CR2=00000000 CR3=0010d000 CR4=00000020\n", "EFER=0000000000000000\n", 0 };
	const char *const state64[] = { "RAX=0000000080000011 RBX=0000000000009500\n",
		"CR0=80000011 CR2=0000000000000000 CR3=000000000010d000 CR4=00000020\n",
		"DR6=00000000ffff0ff0 DR7=0000000000000400\n", "EFER=0000000000000500\n", 0 };
	/* A state cut before its EFER line, or an EFER line without the start of a state, is no state. */
	const char *const cut[] = { "EAX=0 EBX=0\n", "CR0=00000011 CR2=00000000 CR3=0 CR4=0\n", 0 };
	const char *const stray[] = { "CR0=00000011 CR2=00000000 CR3=0 CR4=0\n", "EFER=0000000000000500\n", 0 };
	struct nw_recorder_regs regs = { 0 };

	cr_assert(parse_log(state32, &regs));
	cr_assert(regs.cr0 == 0x11 && regs.cr3 == 0x10d000 && regs.cr4 == 0x20 && regs.efer == 0);
	cr_assert(parse_log(state64, &regs));
	cr_assert(regs.cr0 == 0x80000011 && regs.cr3 == 0x10d000 && regs.cr4 == 0x20 && regs.efer == 0x500);
	cr_assert_not(parse_log(cut, &regs));
	cr_assert_not(parse_log(stray, &regs));
}

Test(recorder, mmu_indexes_give_the_privilege)
{
	struct nw_recorder_priv priv = { .cpl = 9 };

	/* QEMU's meminfo is its MemOpIdx (MemOp << 4 | MMU index) with the direction at bit 16 (store 2): an 8-byte
	 * little-endian store (MO_64 = 3) by user code (index 2) is 0x20032. */
	cr_assert_eq(NW_RECORDER_MMU_INDEX(0x20032u), 2);
	cr_assert(nw_recorder_priv_of_mmu_index(0, &priv) && priv.cpl == 0 && !priv.ac); /* supervisor, SMAP */
	cr_assert(nw_recorder_priv_of_mmu_index(1, &priv) && priv.cpl == 0 && !priv.ac); /* the same, 32-bit */
	cr_assert(nw_recorder_priv_of_mmu_index(2, &priv) && priv.cpl == 3 && !priv.ac); /* user */
	cr_assert(nw_recorder_priv_of_mmu_index(3, &priv) && priv.cpl == 3 && !priv.ac);
	cr_assert(nw_recorder_priv_of_mmu_index(4, &priv) && priv.cpl == 0 && priv.ac);  /* supervisor, no SMAP */
	cr_assert(nw_recorder_priv_of_mmu_index(5, &priv) && priv.cpl == 0 && priv.ac);
	cr_assert_not(nw_recorder_priv_of_mmu_index(6, &priv)); /* physical */
	cr_assert_not(nw_recorder_priv_of_mmu_index(7, &priv)); /* nested */
	cr_assert_not(nw_recorder_priv_of_mmu_index(15, &priv));
}

/* Guest memory for the walks below: up to 16 entries {gpa, value}, zero elsewhere. */
struct guest_mem {
	uint64_t gpa[16], value[16];
	unsigned n;
};

static bool read_mem(void *ctx, uint64_t gpa, uint64_t *value)
{
	const struct guest_mem *mem = ctx;

	if (gpa >= 0x100000)
		return false; /* 1 MiB of RAM */
	*value = 0;
	for (unsigned i = 0; i < mem->n; i++)
		if (mem->gpa[i] == gpa)
			*value = mem->value[i];
	return true;
}

static void put_entry(struct guest_mem *mem, uint64_t gpa, uint64_t value)
{
	mem->gpa[mem->n] = gpa;
	mem->value[mem->n++] = value;
}

static int fetch_cpl(const struct nw_recorder_regs *regs, struct guest_mem *mem, uint64_t gva, char *why)
{
	why[0] = 0;
	return nw_recorder_fetch_cpl(regs, gva, read_mem, mem, why, 256);
}

Test(recorder, fetch_privilege_from_the_guests_tables)
{
	/* 4-level paging (CR0 PE|PG, CR4 PAE|SMEP, EFER LME|LMA), CR3 0x1000. Entry bits P 1, R/W 2, U/S 4, PS 0x80
	 * (SDM Vol. 3A Tables 4-15..4-20). gva 0x400000 is PML4[0] PDPT[0] PD[2] PT[0]; 0x401000 PT[1], 0x402000
	 * PT[2]; 0xffffffff81000000 is PML4[511] PDPT[510] PD[8], a 2 MiB page. */
	struct nw_recorder_regs regs = { .cr0 = 0x80000001, .cr3 = 0x1000, .cr4 = 0x100020, .efer = 0x500 };
	struct guest_mem mem = { .n = 0 };
	char why[256];

	put_entry(&mem, 0x1000, 0x2007);           /* PML4[0]: user */
	put_entry(&mem, 0x2000, 0x3007);           /* PDPT[0] */
	put_entry(&mem, 0x3000 + 8 * 2, 0x4007);   /* PD[2] */
	put_entry(&mem, 0x4000, 0x9007);           /* PT[0]: a user page */
	put_entry(&mem, 0x4000 + 8, 0xa003);       /* PT[1]: supervisor (U/S clear) */
	put_entry(&mem, 0x1000 + 8 * 511, 0x5003); /* PML4[511]: supervisor */
	put_entry(&mem, 0x5000 + 8 * 510, 0x6007);
	put_entry(&mem, 0x6000 + 8 * 8, 0x200087); /* PD[8]: a 2 MiB user leaf under a supervisor PML4E */
	/* U/S set at every level: a user-mode address, which with SMEP only CPL 3 fetches from (§4.6.1). */
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x400000, why), 3, "%s", why);
	/* U/S clear in the PTE, or only in the PML4E: a supervisor-mode address, which CPL 3 never fetches from. */
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x401000, why), 0, "%s", why);
	cr_assert_eq(fetch_cpl(&regs, &mem, 0xffffffff81000000ull, why), 0, "%s", why);
	/* Not present now (PT[2] is zero): nothing told. */
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x402000, why), -1);
	cr_assert_str_eq(why, "its level-1 entry at gpa 0x4010 is not present");
	/* Without SMEP either privilege fetches from a user-mode address. */
	regs.cr4 = 0x20;
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x400000, why), -1);
	cr_assert(strstr(why, "CR4.SMEP clear"), "%s", why);
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x401000, why), 0, "%s", why);
	/* 5-level paging (CR4.LA57): CR3 0x7000 holds the PML5, whose entry 0 leads to the PML4 above. */
	regs = (struct nw_recorder_regs){ .cr0 = 0x80000001, .cr3 = 0x7000, .cr4 = 0x101020, .efer = 0x500 };
	put_entry(&mem, 0x7000, 0x1007);
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x400000, why), 3, "%s", why);
	/* A table outside RAM. */
	regs.cr3 = 0x200000;
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x400000, why), -1);
	cr_assert_str_eq(why, "its level-5 entry at gpa 0x200000 is not in guest RAM");
	/* Real-address mode has no privilege levels: CPL 0. Protected mode without paging is not told. */
	regs = (struct nw_recorder_regs){ .cr0 = 0x60000010 };
	cr_assert_eq(fetch_cpl(&regs, &mem, 0xfff0, why), 0, "%s", why);
	regs.cr0 = 0x11;
	cr_assert_eq(fetch_cpl(&regs, &mem, 0x100000, why), -1);
	cr_assert_str_eq(why, "protected mode without 4- or 5-level paging");
}

Test(recorder, invlpg_operands_from_the_logged_registers)
{
	/* QEMU 7.2's 64-bit x86_cpu_dump_state() text, as -d cpu wrote it for hw/boot.S's long_entry, with the
	 * registers an INVLPG's operand is computed from set: RAX, RCX, R12, and the GS base. */
	const char *const log[] = {
		"RAX=ffff888000123000 RBX=0000000000009500 RCX=0000000000000003 RDX=0000000000000000\n",
		"RSI=0000000000009500 RDI=000000000010e000 RBP=0000000000000000 RSP=000000000011c000\n",
		"R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000\n",
		"R12=00007f0000001000 R13=0000000000000000 R14=0000000000000000 R15=0000000000000000\n",
		"RIP=00000000001000bf RFL=00000086 [--S--P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\n",
		"CS =0008 0000000000000000 ffffffff 00af9a00 DPL=0 CS64 [-R-]\n",
		"FS =0010 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n",
		"GS =0010 ffff88801fc00000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n",
		"CR0=80000011 CR2=0000000000000000 CR3=000000000010e000 CR4=00000020\n",
		"EFER=0000000000000500\n", 0 };
	struct nw_cpu_state state = { .long64 = false };
	struct nw_recorder_insn insn;

	cr_assert(parse_state(log, &state));
	cr_assert(state.long64 && state.gpr[0] == 0xffff888000123000ull && state.gpr[1] == 3 && state.gpr[3] == 0x9500);
	cr_assert(state.gpr[4] == 0x11c000 && state.gpr[7] == 0x10e000 && state.gpr[12] == 0x7f0000001000ull);
	cr_assert(state.fs_base == 0 && state.gs_base == 0xffff88801fc00000ull && state.regs.efer == 0x500);
	/* Each as objdump shows it; the next instruction at 0x1000 for the RIP-relative one. */
	insn = decode("0f0138"); /* invlpg (%rax) */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0xffff888000123000ull);
	insn = decode("410f017c2408"); /* invlpg 0x8(%r12): REX.B, SIB base 100 + 8 = r12, disp8 */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0x7f0000001008ull);
	insn = decode("0f013d10000000"); /* invlpg 0x10(%rip) */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0x1010);
	insn = decode("0f013c88"); /* invlpg (%rax,%rcx,4) */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0xffff88800012300cull);
	insn = decode("650f013c2500100000"); /* invlpg %gs:0x1000: SIB without base or index, disp32 */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0xffff88801fc01000ull);
	insn = decode("670f0138"); /* invlpg (%eax): 32-bit address */
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0x00123000);
	insn = decode("0f01b8f0ffffff"); /* invlpg -0x10(%rax) */
	cr_assert_eq(insn.kind, NW_INSN_INVLPG);
	cr_assert_eq(nw_recorder_mem_address(&insn.mem, &state, 0x1000), 0xffff888000122ff0ull);
	/* Cut short: a SIB or displacement missing is no INVLPG operand. */
	cr_assert_eq(decode("0f013c").kind, NW_INSN_OTHER);
	cr_assert_eq(decode("0f01b8f0ff").kind, NW_INSN_OTHER);
}

Test(recorder, supervision_follows_the_instructions_that_leave_supervisor_mode)
{
	/* The tables of fetch_privilege_from_the_guests_tables, reduced: gva 0x400000 a user-mode address, 0x401000 a
	 * supervisor-mode one; 4-level paging with SMEP. */
	struct nw_recorder_regs regs = { .cr0 = 0x80000001, .cr3 = 0x1000, .cr4 = 0x100020, .efer = 0x500 };
	struct nw_recorder_supervision s = { .supervisor = true };
	struct guest_mem mem = { .n = 0 };

	put_entry(&mem, 0x1000, 0x2007);
	put_entry(&mem, 0x2000, 0x3007);
	put_entry(&mem, 0x3000 + 8 * 2, 0x4007);
	put_entry(&mem, 0x4000, 0x9007);
	put_entry(&mem, 0x4000 + 8, 0xa003);
	/* From reset, no table is read: supervisor even at a user-mode address (none left it). */
	cr_assert_eq(nw_recorder_supervision_fetch(&s, &regs, 0x400000, read_mem, &mem), 0);
	/* An iretq popping RIP, then CS 0x33 (RPL 3): user mode, the next fetch from the tables: CPL 3. */
	nw_recorder_supervision_leave(&s, NW_INSN_IRET, 0xffffffff81c00000ull, false);
	nw_recorder_supervision_load(&s, true, 0x400000);
	nw_recorder_supervision_load(&s, true, 0x33);
	cr_assert_not(s.supervisor);
	cr_assert_eq(nw_recorder_supervision_fetch(&s, &regs, 0x400000, read_mem, &mem), 3);
	/* A syscall or interrupt later the code fetches from a supervisor-mode address: CPL 0, known again. */
	cr_assert_eq(nw_recorder_supervision_fetch(&s, &regs, 0x401000, read_mem, &mem), 0);
	cr_assert(s.supervisor);
	/* An iretq popping CS 0x10 (RPL 0) and EFLAGS without VM: stays supervisor, no table read (regs NULL). */
	nw_recorder_supervision_leave(&s, NW_INSN_IRET, 0xffffffff81c00000ull, false);
	nw_recorder_supervision_load(&s, true, 0xffffffff81000000ull);
	nw_recorder_supervision_load(&s, true, 0x10);
	nw_recorder_supervision_load(&s, true, 0x246);
	cr_assert_eq(nw_recorder_supervision_fetch(&s, 0, 0x400000, read_mem, &mem), 0);
	/* A 32-bit iret to CS 0xf000 (RPL 0) with EFLAGS.VM: virtual-8086 mode, CPL 3: not known without regs. */
	nw_recorder_supervision_leave(&s, NW_INSN_IRET, 0x1000, false);
	nw_recorder_supervision_load(&s, true, 0x100);
	nw_recorder_supervision_load(&s, true, 0xf000);
	nw_recorder_supervision_load(&s, true, 0x20202);
	cr_assert_eq(nw_recorder_supervision_fetch(&s, 0, 0x1100, read_mem, &mem), -1);
	cr_assert_str_eq(s.why, "the instruction at gva 0x1000 may have left supervisor mode, and without regs=LOG the "
			 "guest's tables cannot be read");
	/* A far RET whose CS cannot be read, and SYSRET: left. In real-address mode neither changes anything. */
	s.supervisor = true;
	nw_recorder_supervision_leave(&s, NW_INSN_RETURN, 0x2000, false);
	nw_recorder_supervision_load(&s, true, 0x100);
	nw_recorder_supervision_load(&s, false, 0);
	cr_assert_not(s.supervisor);
	s.supervisor = true;
	nw_recorder_supervision_leave(&s, NW_INSN_LEAVES, 0x3000, false);
	cr_assert_not(s.supervisor);
	s.supervisor = true;
	nw_recorder_supervision_leave(&s, NW_INSN_RETURN, 0xfd014, true);
	nw_recorder_supervision_leave(&s, NW_INSN_LEAVES, 0xfd014, true);
	cr_assert(s.supervisor);
	/* Loads after the return's are not its: a fetch (the next instruction) ends it. */
	nw_recorder_supervision_leave(&s, NW_INSN_RETURN, 0x2000, false);
	cr_assert_eq(nw_recorder_supervision_fetch(&s, &regs, 0x401000, read_mem, &mem), 0);
	nw_recorder_supervision_load(&s, true, 0x100);
	nw_recorder_supervision_load(&s, true, 0x33);
	cr_assert(s.supervisor);
}
