"""An AArch64 guest's stage 1 over its stage 2 (scenarios/arm64_stage1.yaml): translate --gva through the
scenario's EL1 registers and PSTATE, and what the loader refuses of them. Every expected value is derived by hand
from the Arm ARM beside it (D8 VMSAv8-64; D19 ESR_EL1/ESR_EL2 with the ISS encodings for Data and Instruction
Aborts, HPFAR_EL2):

ESR = EC << 26 | IL (bit 25, 0x02000000) | S1PTW (bit 7, 0x80) | WnR (bit 6, 0x40) | DFSC/IFSC. EC: 0x24 data
abort from a lower EL (0x92000000 with IL; ESR_EL1 for an access from EL0, and every ESR_EL2), 0x25 from EL1
itself (0x96000000), 0x20 instruction abort from a lower EL (0x82000000), 0x21 from EL1 (0x86000000). The fault
status code is 0b0000LL address size, 0b0001LL translation, 0b0010LL access flag, 0b0011LL permission, LL the
level. HPFAR_EL2 holds the faulting IPA's bits 47:12 in bits 43:4 (IPA >> 12 << 4), UNKNOWN (absent) for a
permission fault. FAR is the virtual address.

The scenario's tables (their descriptors derived in the file): TCR_EL1 0x280190019, 39-bit VAs, three 4 KiB
levels from level 1. TTBR0_EL1 -> level 1 at IPA 0x40000000, entry 0 -> level 2 at 0x40001000: entry 1 a 2 MiB
block (VAs 0x200000-0x3fffff -> IPA 0x40000000, AP 0b00, UXN), entry 2 -> level 3 at 0x40002000: pages
0x400000 (AP 0b01 EL0 read/write, PXN), 0x401000 (AP 0b10 EL1 read-only, UXN, PXN, AttrIndx 1), 0x402000 (AF
clear), 0x403000 invalid, 0x404000 (IPA 0x40040000, outside stage 2), 0x405000 (IPA 2^40, at IPS), 0x406000
(IPA 0x40013000, read-only at stage 2, AttrIndx 2). TTBR1_EL1's table at IPA 0x50000000, unmapped at stage 2
(whose level-2 table for 0x40000000-0x7fffffff has only entry 0)."""
import json
import os
import pathlib
import subprocess

import pytest

from test_scenarios import write

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "arm64_stage1.yaml"
DABT_LOW, DABT_CUR, IABT_LOW, IABT_CUR = 0x92000000, 0x96000000, 0x82000000, 0x86000000
S1PTW, WNR = 0x80, 0x40
ADDR, TRANS, AF, PERM = 0x00, 0x04, 0x08, 0x0C


def run(*args, timeout=60):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def gva(address, access, *more, path=SCENARIO):
    result = run("translate", path, "--gva", hex(address), "--access", access, "--json", *more)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_page_through_three_levels_of_both_stages():
    # EL0 read of 0x400123: level-1 [0], level-2 [2], level-3 [0] -> IPA 0x40010000 + 0x123. AP 0b01 grants EL0
    # and EL1 read/write (rights rw-u), PXN takes EL1 execute away (no x), UXN clear leaves EL0's. AttrIndx 0
    # selects MAIR_EL1 byte 0 = 0xff. References: three stage-1 descriptors, each read after the three stage-2
    # levels translate its table's IPA (3 x 4), then the final IPA's three: 15.
    got = gva(0x400123, "read", "--el", "0")
    assert (got["outcome"], got["gpa"], got["guest_page_size"], got["level"], got["rights"], got["el0_execute"]) \
        == ("ok", "0x40010123", "0x1000", 3, "rw-u", True)
    assert (got["attr_index"], got["mair_attr"], got["memattr"], got["refs"], got["el"]) == (0, "0xff", "0xf", 15, 0)
    # The data the scenario wrote there (read --gpa of the same IPA gives the same host address).
    assert run("translate", SCENARIO, "--gpa", "0x40010123", "--access", "read", "--json").stdout.count(got["hpa"])


def test_the_2mib_block_maps_the_tables_themselves():
    # 0x200123: level-2 [1] is a block at IPA 0x40000000, so the offset is VA bits 20:0 = 0x200123 & 0x1fffff =
    # 0x123: IPA 0x40000123 inside the level-1 table. AP 0b00: EL1 only (no u); UXN set, PXN clear: x. References:
    # two stage-1 descriptors after their tables' three stage-2 levels (2 x 4), the final IPA's three: 11.
    got = gva(0x200123, "read")
    assert (got["outcome"], got["gpa"], got["guest_page_size"], got["level"], got["rights"], got["el0_execute"],
            got["refs"]) == ("ok", "0x40000123", "0x200000", 2, "rwx-", False, 11)
    # At EL0 the block refuses: a permission fault at level 2, EC 0x24: 0x9200000e.
    got = gva(0x200123, "read", "--el", "0")
    assert (got["outcome"], got["esr_el1"], got["far_el1"], got["fault"], got["level"]) == \
        ("stage1_abort", hex(DABT_LOW | PERM | 2), "0x200123", "permission", 2)


@pytest.mark.parametrize("address, access, el, esr, fault, level", [
    # PXN at EL1: an instruction abort from EL1, IFSC permission level 3: 0x8600000f.
    (0x400123, "fetch", "1", IABT_CUR | PERM | 3, "permission", 3),
    # AP 0b10 is read-only: an EL1 store, WnR: 0x9600004f; EL0 has no access at all: 0x9200000f.
    (0x401008, "write", "1", DABT_CUR | WNR | PERM | 3, "permission", 3),
    (0x401008, "read", "0", DABT_LOW | PERM | 3, "permission", 3),
    # AF clear with TCR_EL1.HA 0: an Access flag fault at level 3: 0x9600000b.
    (0x402000, "read", "1", DABT_CUR | AF | 3, "access_flag", 3),
    # An invalid level-3 descriptor (bit 0 clear): translation, level 3: 0x96000007.
    (0x403000, "read", "1", DABT_CUR | TRANS | 3, "translation", 3),
    # Output address 2^40 with IPS 40 bits: an Address size fault at level 3: 0x96000003.
    (0x405000, "read", "1", DABT_CUR | ADDR | 3, "address_size", 3),
    # VA bit 39 set, below the upper range (bits 63:39 not all ones) and above the lower one's 39 bits: a
    # translation fault at level 0 (no table read): 0x96000004.
    (0x8000000000, "read", "1", DABT_CUR | TRANS | 0, "translation", 0),
])
def test_stage1_aborts_taken_to_el1(address, access, el, esr, fault, level):
    got = gva(address, access, "--el", el)
    assert (got["outcome"], got["esr_el1"], got["far_el1"], got["fault"], got["level"]) == \
        ("stage1_abort", hex(esr), hex(address), fault, level)
    assert "esr_el2" not in got and "gpa" not in got


def test_stage2_aborts_on_the_final_access():
    # 0x404010 -> IPA 0x40040010, past the region: stage 2's level-3 table (for 0x40000000-0x401fffff) has no
    # entry 0x40: translation level 3, ISV 0: 0x92000007; HPFAR_EL2 = 0x40040010 >> 12 << 4 = 0x400400.
    got = gva(0x404010, "read")
    assert (got["outcome"], got["esr_el2"], got["far_el2"], got["hpfar_el2"], got["fault"], got["level"],
            got["s1ptw"], got["fault_gpa"]) == \
        ("stage2_abort", hex(DABT_LOW | TRANS | 3), "0x404010", "0x400400", "translation", 3, False, "0x40040010")
    # 0x406000 -> IPA 0x40013000, S2AP[1] cleared: an EL0 store is a stage-2 permission fault at level 3, WnR:
    # 0x9200004f, HPFAR_EL2 UNKNOWN. Stage 1 allowed it (AP 0b01).
    got = gva(0x406000, "write", "--el", "0")
    assert (got["outcome"], got["esr_el2"], got["fault"], got["level"], got["s1ptw"]) == \
        ("stage2_abort", hex(DABT_LOW | WNR | PERM | 3), "permission", 3, False)
    assert "hpfar_el2" not in got


def test_a_stage2_fault_on_a_stage1_table_read_sets_s1ptw():
    # 0xffffff8000001000: bits 63:39 all ones, the upper range: TTBR1_EL1's level-1 table at IPA 0x50000000,
    # whose stage-2 level-2 entry (index (0x50000000 >> 21) & 0x1ff = 0x80) is invalid: translation level 2, the
    # table walk's: S1PTW, WnR 0 (a load): 0x92000086; a store sets WnR, the instruction's direction and not the
    # walk's read (Arm ARM D24.2.46 ESR_EL2, WnR: "Abort caused by an instruction writing to a memory location"):
    # 0x920000c6; a fetch is an instruction abort: 0x82000086.
    # FAR_EL2 the VA, HPFAR_EL2 the table's IPA: 0x500000. Two references: stage 2's levels 1 and 2.
    for access, ec in (("read", DABT_LOW), ("write", DABT_LOW | WNR), ("fetch", IABT_LOW)):
        got = gva(0xffffff8000001000, access)
        assert (got["outcome"], got["esr_el2"], got["far_el2"], got["hpfar_el2"], got["fault"], got["level"],
                got["s1ptw"], got["fault_gpa"], got["refs"]) == \
            ("stage2_abort", hex(ec | S1PTW | TRANS | 2), "0xffffff8000001000", "0x500000", "translation", 2, True,
             "0x50000000", 2)
    text = run("translate", SCENARIO, "--gva", "0xffffff8000001000", "--access", "read", "--explain").stdout
    assert "stage-1 level 1 [0]  table ipa 0x50000000\n" in text
    assert "    -> stage-2 translation fault at level 2\n" in text
    assert "ESR_EL2 0x92000086 (S1PTW 1)" in text


def test_explain_lists_each_descriptor_and_its_stage2_translation():
    text = run("translate", SCENARIO, "--gva", "0x400123", "--access", "read", "--el", "0", "--explain").stdout
    for line in ("stage-1 level 1 [0]  table ipa 0x40000000 pa ", "    descriptor 0x0000000040001003",
                 "stage-1 level 2 [2]  table ipa 0x40001000 pa ", "    descriptor 0x0000000040002003",
                 "stage-1 level 3 [0]  table ipa 0x40002000 pa ", "    descriptor 0x0020000040010743",
                 "final ipa 0x40010123\n", "registers: sctlr_el1 0x30d00801 (scenario), tcr_el1 0x280190019"):
        assert line in text, line
    # Each table's IPA through stage 2's three levels (VTCR_EL2 start level 1).
    assert text.count("    stage-2 level 1  table pa") == 4 and text.count("    stage-2 level 3  table pa") == 4


def with_cpu(tmp_path, cpu, name="s1.yaml"):
    """The bundled scenario with its cpu section replaced."""
    text = SCENARIO.read_text()
    head, rest = text.split("cpu:\n", 1)
    tail = rest[rest.index("\nguest:"):]
    path = tmp_path / name
    path.write_text(head + cpu + tail)
    return path


def test_pan_refuses_el1_data_access_to_el0_memory_but_not_ldtr(tmp_path):
    # PSTATE 0x4003c5: PAN (bit 22) with EL1h. 0x400123 is EL0-accessible (AP[1] 1): an EL1 read is a permission
    # fault, 0x9600000f; LDTR (--unprivileged) is checked with EL0's permissions, which PAN does not touch: ok.
    base = SCENARIO.read_text().split("cpu:\n", 1)[1].split("\nguest:")[0]
    path = with_cpu(tmp_path, "cpu:\n" + base.replace("pstate: 0x3c5", "pstate: 0x4003c5"))
    got = gva(0x400123, "read", path=path)
    assert (got["outcome"], got["esr_el1"]) == ("stage1_abort", hex(DABT_CUR | PERM | 3))
    assert gva(0x400123, "read", "--unprivileged", path=path)["outcome"] == "ok"
    # UAO (bit 23) with PAN: LDTR at EL1 is checked as EL1 access, so PAN applies again.
    path = with_cpu(tmp_path, "cpu:\n" + base.replace("pstate: 0x3c5", "pstate: 0xc003c5"))
    got = gva(0x400123, "read", "--unprivileged", path=path)
    assert (got["outcome"], got["esr_el1"]) == ("stage1_abort", hex(DABT_CUR | PERM | 3))


def test_stage1_off_is_the_identity_and_registers_default_to_0(tmp_path):
    # No cpu section: SCTLR_EL1 0, M clear: IPA = VA (a TCR_EL1 of 0 is never read for a walk); the final IPA's
    # three stage-2 levels are the only references. PSTATE 0: EL0t.
    path = with_cpu(tmp_path, "")
    got = gva(0x40010123, "read", path=path)
    assert (got["outcome"], got["gpa"], got["refs"], got["el"]) == ("ok", "0x40010123", 3, 0)
    assert "level" not in got and "attr_index" not in got
    assert got["registers"]["sctlr_el1"] == {"value": "0x0", "from": "default"}


def assert_refused(path, line, column, message):
    result = run("translate", path, "--gva", "0x400000", "--access", "read")
    assert result.returncode == 2, result.stdout
    assert f"{path}:{line}:{column}: " in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


def cpu_line(path):
    return path.read_text().split("\n").index("cpu:") + 1


@pytest.mark.parametrize("key, value, message", [
    # TG0 (bits 15:14) 0b11 is reserved (Arm ARM D19 TCR_EL1).
    ("tcr_el1", "0x28019c019", "a reserved encoding"),
    # IPS (bits 34:32) 0b111 is reserved.
    ("tcr_el1", "0x780190019", "a reserved encoding"),
    # T0SZ 12 (52-bit VAs, FEAT_LVA) with M set: not modelled.
    ("tcr_el1", "0x28019000c", "asks what is not modelled"),
    # DS (bit 59): not modelled.
    ("tcr_el1", "0x0800000280190019", "asks what is not modelled"),
    ("sctlr_el1", "0x30d00803", "A (bit 1, alignment checking) is not modelled"),
    ("sctlr_el1", "0x0200000030d00801", "EPAN (bit 57, FEAT_PAN3) is not modelled"),
    # EE (bit 25): stage-1 descriptors read big-endian.
    ("sctlr_el1", "0x32d00801", "EE (bit 25, big-endian stage-1 descriptors) is not modelled"),
    # M[3:0] 0b1001: EL2h; M[4] 1: AArch32; 0b0001: reserved.
    ("pstate", "0x9", "is not EL0t (0b00000), EL1t (0b00100) or EL1h"),
    ("pstate", "0x10", "is not EL0t (0b00000), EL1t (0b00100) or EL1h"),
    ("pstate", "0x1", "is not EL0t (0b00000), EL1t (0b00100) or EL1h"),
    # SS (bit 21): not a translation control this model has.
    ("pstate", "0x200005", "bits 0x200000 are not modelled"),
])
def test_what_the_el1_state_refuses(tmp_path, key, value, message):
    text = SCENARIO.read_text()
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {key}: "))
    lines[at] = f"  {key}: {value}"
    path = tmp_path / "bad.yaml"
    path.write_text("\n".join(lines))
    assert_refused(path, at + 1, len(key) + 5, f"{key}: ")
    assert_refused(path, at + 1, len(key) + 5, message)


def test_keys_of_the_other_architecture_are_refused(tmp_path):
    assert_refused(write(tmp_path, "cpu: {sctlr_el1: 1}\n"), 1, 18,
                   "sctlr_el1: an AArch64 cpu key, and the scenario is x86_64 (give arch: aarch64)")
    path = with_cpu(tmp_path, "cpu:\n  cr0: 0x80000001\n")
    assert_refused(path, cpu_line(path) + 1, 3, "an x86 cpu key: an aarch64 scenario's cpu takes sctlr_el1")
    text = SCENARIO.read_text().replace("guest:\n", "guest:\n  mappings: [{gva: 0, gpa: 0x40000000}]\n")
    path = tmp_path / "mappings.yaml"
    path.write_text(text)
    line = text.split("\n").index("  mappings: [{gva: 0, gpa: 0x40000000}]") + 1
    assert_refused(path, line, 15, "gives its guest's stage-1 tables as guest.writes")


@pytest.mark.parametrize("args, message", [
    (["--cpl", "3"], "--cpl does not apply to an aarch64 scenario"),
    (["--implicit"], "--implicit does not apply to an aarch64 scenario"),
    (["--size", "8", "--gva", "0x400ffc"], "cross a 4 KiB boundary: two translations, not modelled on aarch64 yet"),
])
def test_options_of_the_other_architecture_are_refused(args, message):
    gva_args = [] if "--gva" in args else ["--gva", "0x400000"]
    result = run("translate", SCENARIO, *gva_args, "--access", "read", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_el_and_unprivileged_are_refused_on_x86_and_for_a_fetch():
    result = run("translate", ROOT / "scenarios" / "ok.yaml", "--gva", "0x400123", "--access", "read", "--el", "0")
    assert result.returncode == 2 and "--el does not apply to an x86_64 scenario" in result.stderr
    result = run("translate", SCENARIO, "--gva", "0x400123", "--access", "fetch", "--unprivileged")
    assert result.returncode == 2 and "LDTR/STTR are loads and stores" in result.stderr


def test_what_walks_x86_guests_only_refuses_an_aarch64_machine(tmp_path):
    """read --gva reads x86 guests piece by piece (x86 linear addresses and fault reports): it crashed on an
    aarch64 scenario (SIGSEGV, exit -11) and now refuses it; replay runs aarch64 traces there
    (test_replay_aarch64.py) and refuses an x86 one; mappings --stage guest read x86 tables (and blamed CR0.PG)
    and now refuses too."""
    for path in (SCENARIO, ROOT / "scenarios" / "arm64_stage2.yaml"):
        result = run("read", path, "--gva", "0x400000", "--len", "8")
        assert result.returncode == 2 and "read --gva reads x86 guests only for now" in result.stderr, \
            (result.returncode, result.stderr)
    trace = tmp_path / "t.nwt.txt"
    trace.write_text("nestwalk-trace 1\naccess gva=0x400000 size=0x1 type=read cpl=0x0\nend\n")
    result = run("replay", SCENARIO, "--trace", trace)
    assert result.returncode == 2 and "a trace of x86_64, and this needs aarch64" in result.stderr
    result = run("mappings", SCENARIO, "--stage", "guest")
    assert result.returncode == 2 and "an aarch64 guest's stage 1 is not listed yet" in result.stderr
    assert result.stdout == ""


def test_a_final_access_to_mmio_is_its_exit_and_a_lazy_page_is_populated(tmp_path):
    """The region made lazy and an MMIO page added at IPA 0x40040000 (where 0x404000's page points): the store's
    stage-2 translation fault (no stage-2 page: level 3, WnR: 0x92000047; HPFAR_EL2 0x400400) is the address
    space's MMIO exit, keeping the abort's members. The page at IPA 0x40011000 (VA 0x401000, EL1 read-only) is
    one no guest write touched, so nothing backs it until the load's stage-2 fault populates it and the walk is
    retried: it translates (without the retry: a stage-2 translation fault)."""
    from test_cli import check_top
    text = SCENARIO.read_text().replace(
        "  - {gpa: 0x40000000, size: 0x40000, flags: 0x7, type: alloc}",
        "  - {gpa: 0x40000000, size: 0x40000, flags: 0x7, type: alloc, lazy: true}\n"
        "  - {gpa: 0x40040000, size: 0x1000, flags: 0x3, type: mmio}")
    path = tmp_path / "mmio.yaml"
    path.write_text(text)
    got = gva(0x404010, "write", path=path)
    check_top("translate-gva-aarch64", got)
    assert (got["outcome"], got["esr_el2"], got["hpfar_el2"], got["fault_gpa"], got["write"], got["s1ptw"]) == \
        ("mmio", hex(DABT_LOW | WNR | TRANS | 3), "0x400400", "0x40040010", True, False)
    got = gva(0x401008, "read", path=path)
    assert (got["outcome"], got["gpa"]) == ("ok", "0x40011008")
