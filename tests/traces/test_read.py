"""`nestwalk read`: the bytes a guest reads at a GVA or GPA, as QEMU's monitor x/xp and gdb's x show them, and
the outcome that stops the read. Every expected byte is one the scenario (or the dump) itself placed, or an
accessed flag the SDM says the walk sets; every fault's code is derived from the SDM beside it."""
import json
import os
import pathlib
import struct
import subprocess

import pytest

from test_cli import check, check_top  # the objects against docs/json.md
from test_memdump import make_dump, scenario as dump_scenario, write_image

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
EPT = ROOT / "scenarios" / "replay_ept.yaml"
A = 0x20  # accessed (SDM Vol. 3A Table 4-19/4-20)


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def read_json(*args, rc=0):
    result = run("read", *args, "--json")
    assert result.returncode == rc, result.stderr
    got = json.loads(result.stdout)
    check_top("read", got)
    return got


def xxd(addr, data):
    """xxd's layout, offset column = the guest address: 16 bytes a line in pairs, then ASCII."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at:at + 16]
        pairs = " ".join(chunk[i:i + 2].hex() for i in range(0, 16, 2) if chunk[i:i + 2])
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{addr + at:016x}: {pairs:<39}  {ascii_}")
    return lines


# replay_ept.yaml's PT at GPA 0x4000, as its guest.writes place them (PTE[0..7]).
EPT_PTES = [0x5007, 0x6005, 0x400007, 0x500007, 0x600007, 0x800007, 0x1F0007, 0x8107]


def test_gpa_read_shows_the_table_the_scenario_wrote():
    result = run("read", EPT, "--gpa", "0x4000", "--len", "0x40")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    want = struct.pack("<8Q", *EPT_PTES)
    assert result.stdout.splitlines() == xxd(0x4000, want)
    # One line written out: 0x5007 little-endian is 07 50 00 .., 0x6005 is 05 60 00 ..
    assert result.stdout.splitlines()[0] == ("0000000000004000: 0750 0000 0000 0000 0560 0000 0000 0000"
                                             "  .P.......`......")
    got = read_json(EPT, "--gpa", "0x4000", "--len", "0x40")
    assert (got["outcome"], got["gpa"], got["len"], got["read"], got["bytes"]) == ("ok", "0x4000", 64, 64, want.hex())


def self_mapped(tmp_path):
    """4-level tables at GPA 0x1000-0x4000 where GVA 0x400000 maps the PT itself (PTE[0] -> 0x4000) and
    0x401000 maps the PD (PTE[1] -> 0x3000); PTE[2] is not present; PTE[511] = 0x7005."""
    path = tmp_path / "self.yaml"
    path.write_text(
        "host: {memory: 64M}\n"
        "ept: {format: ept, levels: 4}\n"
        "memory_regions:\n  - {gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}\n"
        "cpu: {mode: 4level, cr0: 0x80010001, cr3: 0x1000, cr4: 0x20, efer: 0x500}\n"
        "guest:\n  writes:\n"
        "    - {gpa: 0x1000, values: [0x2007]}\n"
        "    - {gpa: 0x2000, values: [0x3007]}\n"
        "    - {gpa: 0x3010, values: [0x4007]}\n"
        "    - {gpa: 0x4000, values: [0x4007, 0x3007]}\n"
        "    - {gpa: 0x4ff8, values: [0x7005]}\n")
    return path


def test_gva_read_sees_the_accessed_flag_its_own_walk_set(tmp_path):
    sc = self_mapped(tmp_path)
    # The walk of 0x400000 sets A in every entry it uses before the access reads (SDM Vol. 3A 4.8), so the
    # PTE read through the page it maps is 0x4007 | A; PTE[1] was not used: 0x3007.
    got = read_json(sc, "--gva", "0x400000", "--len", "0x10")
    assert (got["outcome"], got["gva"], got["read"]) == ("ok", "0x400000", 16)
    assert got["bytes"] == struct.pack("<2Q", 0x4007 | A, 0x3007).hex()


def test_a_read_across_a_page_is_two_translations(tmp_path):
    sc = self_mapped(tmp_path)
    # 0x400ff8: PTE[511] = 0x7005 (the PT page); 0x401000: PD[0], PD[1] = 0 and PD[2] = 0x4007 | A (the first
    # piece's walk used PDE[2] and set its A flag, 4.8).
    got = read_json(sc, "--gva", "0x400ff8", "--len", "0x20")
    assert got["bytes"] == struct.pack("<4Q", 0x7005, 0, 0, 0x4007 | A).hex()
    result = run("read", sc, "--gva", "0x400ff8", "--len", "0x20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == xxd(0x400FF8, struct.pack("<4Q", 0x7005, 0, 0, 0x4007 | A))


def test_a_read_stops_at_the_page_that_faults_keeping_the_bytes_before(tmp_path):
    sc = self_mapped(tmp_path)
    # 0x401ff8..0x401fff is PD[511] = 0; 0x402000 has PTE[2] = 0: not present. #PF error code (4.7): P=0
    # (not present), W/R=0 (read), U/S=0 (CPL 0): 0x0, CR2 the first byte of the piece.
    result = run("read", sc, "--gva", "0x401ff8", "--len", "0x10")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == xxd(0x401FF8, bytes(8))[0]
    # Then the outcome as translate prints it for that piece: 4 guest entries read, each through 4 EPT
    # entries, no final access: 20 references; no A/D write, since the first piece's walk set A in the
    # PML4E, PDPTE and PDE already (translate on a fresh machine writes those 3).
    piece = run("translate", sc, "--gva", "0x402000", "--access", "read", "--size", "8").stdout.splitlines()
    assert lines[1] == piece[0] == "gva 0x402000: read of 8 byte(s) at cpl 0"
    assert lines[2] == "outcome page_fault, 20 memory references, 0 A/D writes", result.stdout
    assert piece[1] == "outcome page_fault, 20 memory references, 3 A/D writes" and lines[3:] == piece[2:]
    assert "error code 0x0" in lines[3], result.stdout
    got = read_json(sc, "--gva", "0x401ff8", "--len", "0x10", rc=1)
    assert (got["outcome"], got["read"], got["bytes"]) == ("page_fault", 8, "00" * 8)
    fault = got["fault"]
    check("translate-gva", fault, "ept", leave_out=("schema", "registers", "cpu_model", "explain", "pieces"))
    assert (fault["error_code"], fault["cr2"], fault["gva"], fault["size"]) == ("0x0", "0x402000", "0x402000", 8)


def test_a_user_read_of_a_missing_page_is_a_user_page_fault():
    # replay_ept.yaml's PTE[8] is 0: GVA 0x408000 not present. At CPL 3 the error code is U/S (bit 2): 0x4.
    got = read_json(EPT, "--gva", "0x408000", "--len", "4", "--cpl", "3", rc=1)
    assert (got["outcome"], got["read"], got["fault"]["error_code"], got["fault"]["cr2"]) == (
        "page_fault", 0, "0x4", "0x408000")


def test_an_ept_violation_stops_the_read():
    # GVA 0x405000 -> GPA 0x800000, in no region: no EPT entry. Exit qualification (Vol. 3C Table 28-7): bit 0
    # read, bits 3-5 the entry's rights (none), bit 7 the linear address is valid, bit 8 the access is the
    # translation's final one, not a guest-table read; bits 9 and 10 the guest page's U/S and R/W (PTE 0x800007,
    # advanced VM-exit information): 0x1 | 0x80 | 0x100 | 0x200 | 0x400 = 0x781.
    got = read_json(EPT, "--gva", "0x405000", "--len", "4", rc=1)
    fault = got["fault"]
    assert (got["outcome"], fault["exit_qualification"], fault["gla_valid"], fault["fault_gpa"]) == (
        "ept_violation", "0x781", True, "0x800000")
    # --gpa: the second stage alone, no linear address: read only, 0x1.
    got = read_json(EPT, "--gpa", "0x800000", "--len", "4", rc=1)
    check("translate-gpa", got["fault"], leave_out=("schema",))
    assert (got["outcome"], got["fault"]["exit_qualification"], got["fault"]["fault_gpa"]) == (
        "ept_violation", "0x1", "0x800000")


def test_a_gpa_read_of_a_misconfigured_page_and_of_mmio():
    # GPA 0x1f0000's EPT leaf has R cleared but W set: a misconfiguration (Vol. 3C 28.3.3.1) at level 1.
    result = run("read", EPT, "--gpa", "0x1f0000", "--len", "4")
    assert result.returncode == 1
    assert result.stdout.startswith("gpa 0x1f0000: EPT misconfiguration at the level-1 entry"), result.stdout
    # An MMIO page has no bytes to show: the read is the exit to the hypervisor.
    got = read_json(EPT, "--gpa", "0x400000", "--len", "4", rc=1)
    assert (got["outcome"], got["read"], got["fault"]["fault_gpa"]) == ("mmio", 0, "0x400000")


def test_dump_and_elf_image_scenarios(tmp_path):
    make_dump(tmp_path)
    sc = dump_scenario(tmp_path, "guest.elf")
    # make_dump puts 0f 0b 90 90 (ud2; nop; nop) at GPA 0x1000000, mapped at 0xffffffff81000000 (test_memdump).
    got = read_json(sc, "--gva", "0xffffffff81000000", "--len", "4")
    assert got["bytes"] == "0f0b9090"
    # A dump has no second stage: --gpa reads its memory as it is.
    assert read_json(sc, "--gpa", "0x1000000", "--len", "4")["bytes"] == "0f0b9090"
    got = read_json(sc, "--gpa", "0x40000000", "--len", "4", rc=1)
    assert (got["outcome"], got["fault"]["hpa"]) == ("no_memory", "0x40000000")
    tables = bytearray(4 * 0x1000)
    for at, value in ((0x0000, 0x2007), (0x1000, 0x3007), (0x2010, 0x4007), (0x3000, 0x5007)):
        struct.pack_into("<Q", tables, at, value)
    write_image(tmp_path / "image.elf", [(0x1000, bytes(tables), 0x4000), (0x5000, b"nestwalk", 0x2000)])
    image = tmp_path / "image.yaml"
    image.write_text("memory_regions:\n  - {gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}\n"
                     "cpu:\n  mode: 4level\n  cr0: 0x80010001\n  cr3: 0x1000\n  cr4: 0x20\n  efer: 0x500\n"
                     "guest:\n  elf_image: image.elf\n")
    result = run("read", image, "--gva", "0x400000", "--len", "0xa")
    assert result.stdout.splitlines() == ["0000000000400000: 6e65 7374 7761 6c6b 0000"
                                          + " " * 15 + "  nestwalk.."], result.stdout


@pytest.mark.parametrize("args, message", [
    (["--gva", "0x400000", "--len", "0"], "--len: "),
    (["--gva", "0x400000", "--len", "0x100001"], "--len: "),
    (["--gva", "0x400000"], "--len: missing"),
    (["--len", "4"], "--gpa or --gva: missing"),
    (["--gpa", "0x4000", "--cpl", "3", "--len", "4"], "--cpl"),
    (["--gpa", "0x4000", "--gva", "0x4000", "--len", "4"], "--gpa"),
    (["--gva", "0xfffffffffffffff8", "--len", "16"], "wraps past the top of the address space"),
])
def test_bad_arguments_are_refused(args, message):
    result = run("read", EPT, *args)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert result.stderr.startswith("nestwalk read: ") and message in result.stderr.splitlines()[0], result.stderr


def test_a_nested_page_fault_stops_the_read():
    # replay_npt.yaml: GVA 0x400000 -> GPA 0x5000 (nested: read/execute), GVA 0x401000 -> GPA 0x9000, which the
    # nested tables do not map. EXITINFO1 (APM Vol. 2 15.25.6): bit 0 clear (not present), bit 1 clear (a read),
    # bit 2 set (nested walks are user accesses), bit 32 (the final guest-physical address): 0x100000004;
    # EXITINFO2 the GPA.
    npt = ROOT / "scenarios" / "replay_npt.yaml"
    got = read_json(npt, "--gva", "0x400ffc", "--len", "8", rc=1)
    assert (got["outcome"], got["read"], got["bytes"]) == ("npf", 4, "00" * 4)
    check("translate-gva", got["fault"], "npt", leave_out=("schema", "registers", "cpu_model", "explain", "pieces"))
    assert (got["fault"]["exitinfo1"], got["fault"]["exitinfo2"]) == ("0x100000004", "0x9000")
    # --gpa: the same EXITINFO1 for the nested walk alone.
    got = read_json(npt, "--gpa", "0x9000", "--len", "1", rc=1)
    assert (got["outcome"], got["fault"]["exitinfo1"], got["fault"]["exitinfo2"]) == ("npf", "0x100000004", "0x9000")
