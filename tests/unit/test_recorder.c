/* The recorder plugin's host-side parts (recorder/): its arguments, the
 * guest-physical address it gives a QEMU RAM offset, the RAM file's
 * mappings between host pointers and offsets, the instructions it decodes
 * and the CPU states it reads from QEMU's log. The `pc` machine's RAM
 * split, from QEMU's pc_piix.c (README "Recording a guest"): below 3.5 GiB
 * all RAM lies at guest-physical 0; from 3.5 GiB on, 3 GiB lie there and the
 * rest at 4 GiB, after them in QEMU's RAM address space. */
#include <criterion/criterion.h>
#include <string.h>

#include "args.h"
#include "cpu_log.h"
#include "decode.h"
#include "gpa.h"
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

	cr_assert_eq(parse(err, &args, "out=t.nwt.zst", "ram=4G", "cpl=3", 0), 0, "%s", err);
	cr_assert_str_eq(args.out, "t.nwt.zst");
	cr_assert(args.zstd && !args.text && args.cpl == 3 && args.limit == 0 && !args.has_trigger_gva);
	cr_assert_eq(args.layout.ram, 4 * G);
	cr_assert_eq(args.layout.below4g, 3 * G);
	cr_assert_eq(parse(err, &args, "out=t", "ram=0x10000000", "cpl=0", "below4g=128M"), 0, "%s", err);
	cr_assert_eq(args.layout.ram, 256 * M);
	cr_assert_eq(args.layout.below4g, 128 * M);
	cr_assert_eq(parse(err, &args, "out=t", "ram=1024K", "cpl=0", "trigger_gva=0xffffffff80000000"), 0, "%s", err);
	cr_assert(args.has_trigger_gva && args.trigger_gva == 0xffffffff80000000ull && args.layout.ram == M);

	cr_assert_eq(parse(err, &args, "out=t", "ram=1T", "cpl=0", 0), -1);
	cr_assert_str_eq(err, "argument 'ram=1T': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=17179869184G", "cpl=0", 0), -1); /* 2^34 GiB = 2^64 bytes */
	cr_assert_str_eq(err, "argument 'ram=17179869184G': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=-1", "cpl=0", 0), -1);
	cr_assert_str_eq(err, "argument 'ram=-1': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "cpl=0", 0, 0), -1);
	cr_assert(strstr(err, "ram=SIZE is required"), "%s", err);
	cr_assert_eq(parse(err, &args, "ram=1G", "cpl=0", 0, 0), -1);
	cr_assert(strstr(err, "out=PATH is required"), "%s", err);
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "trigger_count=x"), -1);
	cr_assert_str_eq(err, "argument 'trigger_count=x': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "quiet"), -1);
	cr_assert_str_eq(err, "argument 'quiet' is not KEY=VALUE");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "below4g=0x100000001"), -1);
	cr_assert_str_eq(err, "argument 'below4g=0x100000001': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "regs=qemu.log"), 0, "%s", err);
	cr_assert_str_eq(args.regs, "qemu.log");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "regs="), -1);
	cr_assert_str_eq(err, "argument 'regs=': bad value");
	cr_assert_eq(parse(err, &args, "out=t", "ram=1G", "cpl=0", "writers="), -1);
	cr_assert_str_eq(err, "argument 'writers=': bad value");
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
	cr_assert_eq(decode("0f").kind, NW_INSN_OTHER);
	cr_assert_eq(decode("0f22").kind, NW_INSN_OTHER);      /* cut short: no ModRM */
}

static bool parse_log(const char *const *lines, struct nw_recorder_regs *regs)
{
	unsigned seen = 0;

	for (; *lines; lines++) {
		if (nw_cpu_log_parse_line(*lines, regs, &seen))
			return true;
	}
	return false;
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
