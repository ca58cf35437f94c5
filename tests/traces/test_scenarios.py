"""Scenario files as a user runs them: `nestwalk translate` and `nestwalk mappings`
on the bundled scenarios, scenarios written on the spot, bad input, and the
AxVisor TOML importer.

The expected values below are derived by hand from the Intel SDM and the AMD
APM, as the comment beside each says; they are not copied from the tool's output.
Every bundled guest uses the same tables (scenarios/ok.yaml): GVA 0x400123 has
PML4 index 0, PDPT index 0, PD index 2, PT index 0 (bits 47:39, 38:30, 29:21,
20:12), so it walks PML4E 0x1000, PDPTE 0x2000, PDE 0x3010, PTE 0x4000 to the
page at GPA 0x5000, offset 0x123. Guest-physical memory there is pass-through
(type identical), so each HPA equals its GPA.
"""
import json
import os
import pathlib
import re
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIOS = ROOT / "scenarios"
IMPORTER = ROOT / "tools" / "axvisor-import"


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=60)


def translate_json(*args):
    result = run("translate", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_fields(got, expected):
    """Hex strings compare as numbers; everything else as is."""
    for key, want in expected.items():
        assert key in got, f"{key} missing from {got}"
        value = got[key]
        if isinstance(want, int) and not isinstance(want, bool) and isinstance(value, str):
            value = int(value, 16)
        assert value == want, f"{key}: got {got[key]!r}, want {want!r}"


GVA = 0x400123

# (scenario, translate arguments, expected fields, why)
OUTCOMES = [
    ("ok.yaml", ["--gva", GVA, "--access", "read", "--cpl", "3"],
     # All four guest entries are P|RW|US, so a user read succeeds. The EPT maps the
     # range with 4 KiB pages (it starts at 0x1000), so each guest-physical reference
     # costs 4 EPT entries: 4 guest entries x (4 + 1) + 4 for the final GPA = 24
     # references (SDM Vol. 3C §29.3.2, the 2-D walk).
     {"outcome": "ok", "gva": GVA, "gpa": 0x5123, "hpa": 0x5123, "refs": 24}),
    ("page_fault.yaml", ["--gva", GVA, "--access", "write", "--cpl", "3"],
     # The PTE is P|RW without US: a user-mode write to a supervisor page. SDM Vol. 3A
     # §4.7: P=1 (protection, not not-present), W/R=1 (write), U/S=1 (user) -> 0x7;
     # CR2 holds the linear address.
     {"outcome": "page_fault", "error_code": 0x7, "cr2": GVA}),
    ("ept_violation.yaml", ["--gva", GVA, "--access", "write", "--cpl", "0"],
     # The final GPA 0x5123 sits in a read-only region; the guest allowed the write.
     # Exit qualification (SDM Vol. 3C Table 28-7): bit 1 write access; bits 5:3 the
     # AND of R/W/X over the EPT entries = R only -> bit 3; bit 6 is 0 without
     # mode-based execute control; bit 7 linear address valid; bit 8 final access
     # (not a paging-structure access); advanced VM-exit information, which the
     # modelled CPU reports: bit 9 user-mode linear address (US=1 at every level),
     # bit 10 writable (RW=1 at every level), bit 11 clear (no XD).
     # 0x2 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400 = 0x78a.
     {"outcome": "ept_violation", "exit_qualification": 0x78A, "fault_gpa": 0x5123, "gla_valid": True,
      "s2_on_table": False}),
    ("ept_misconfig.yaml", ["--gva", GVA, "--access", "read", "--cpl", "0"],
     # The EPT PTE for 0x5000 has W and X without R: a misconfiguration (SDM Vol. 3C
     # §29.3.3.1, "bit 0 is clear and bit 1 is set"), met at EPT level 1 when the
     # final GPA is translated.
     {"outcome": "ept_misconfig", "fault_gpa": 0x5123, "fault_level": 1, "s2_on_table": False}),
    ("npf.yaml", ["--gva", GVA, "--access", "write", "--cpl", "0"],
     # The nested PTE for 0x5000 is present without RW. APM Vol. 2 §15.25.6: EXITINFO1
     # is a #PF error code, P=1 (present), W=1 (write), U=1 (nested accesses are user
     # accesses, §15.25.5), plus bit 32 (fault on the final guest-physical address);
     # EXITINFO2 is the faulting GPA.
     {"outcome": "npf", "exitinfo1": 0x100000007, "exitinfo2": 0x5123}),
    ("general_protection.yaml", ["--gva", 0x800000000000, "--access", "read", "--cpl", "0"],
     # Bit 47 set with bits 63:48 clear is not canonical for 48-bit linear addresses
     # (SDM Vol. 1 §3.3.7.1): #GP before any paging-structure reference.
     {"outcome": "general_protection", "gp_reason": "noncanonical", "refs": 0}),
    ("mmio.yaml", ["--gpa", 0xFEE000B0, "--access", "write", "--size", 4],
     # 0xfee00000-0xfee00fff is an MMIO region: never mapped, so the access exits to
     # the device model with its GPA, size and direction.
     {"outcome": "mmio", "fault_gpa": 0xFEE000B0, "size": 4, "write": True}),
    ("rom.yaml", ["--gpa", 0xFFFF0, "--access", "write"],
     # 0xf0000-0xfffff is ROM (flags 0x5, read+execute): writes exit, the bytes stay.
     {"outcome": "rom_write", "fault_gpa": 0xFFFF0, "write": True}),
]


@pytest.mark.parametrize("scenario,args,expected", OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_bundled_scenario_outcome(scenario, args, expected):
    assert_fields(translate_json(SCENARIOS / scenario, *args), expected)


def test_every_outcome_kind_has_a_bundled_scenario():
    kinds = {expected["outcome"] for _, _, expected in OUTCOMES}
    assert kinds == {"ok", "page_fault", "ept_violation", "ept_misconfig", "npf", "general_protection",
                     "mmio", "rom_write"}


def test_gpa_translation_of_a_pass_through_page():
    # Stage 2 only: GPA 0x5123 -> HPA 0x5123, a 4 KiB EPT leaf (level 1), reached
    # through PML4E, PDPTE, PDE and PTE: 4 references; RWX from flags 0x7, WB.
    got = translate_json(SCENARIOS / "ok.yaml", "--gpa", 0x5123, "--access", "write")
    assert_fields(got, {"outcome": "ok", "hpa": 0x5123, "leaf_level": 1, "s2_page_size": 0x1000, "refs": 4,
                        "rights": "rwx-", "memory_type": "WB"})


def test_gpa_ept_violation_has_no_linear_address_bits():
    # A GPA-only write to the read-only page: bit 1 (write) | bit 3 (readable) = 0xa;
    # bit 7 is 0 (no guest-linear address), so bits 8-11 are 0 too (Table 28-7).
    got = translate_json(SCENARIOS / "ept_violation.yaml", "--gpa", 0x5008, "--access", "write")
    assert_fields(got, {"outcome": "ept_violation", "exit_qualification": 0xA, "fault_gpa": 0x5008})


def test_gpa_ept_misconfiguration_names_level_and_entry():
    got = translate_json(SCENARIOS / "ept_misconfig.yaml", "--gpa", 0x5000, "--access", "read")
    assert_fields(got, {"outcome": "ept_misconfig", "fault_level": 1})
    # The leaf: address 0x5000, W|X (bits 1, 2), memory type WB (6 << 3); R cleared.
    assert int(got["entry"], 16) == 0x5000 | 0x6 | 0x30


def test_edit_sets_reserved_address_bits_of_a_table_pointer(tmp_path):
    # MAXPHYADDR 46 (the default): bits 51:46 of the PDPTE pointing at GPA 0x5000's page directory
    # are reserved, not its address (SDM Vol. 3C §29.3.2): a misconfiguration at level 3.
    text = (SCENARIOS / "ok.yaml").read_text().replace(
        "  memory_type: wb\n", "  memory_type: wb\n  edits:\n    - {gpa: 0x5000, level: 3, set: 0x4000000000000}\n")
    got = translate_json(write(tmp_path, text), "--gpa", 0x5000, "--access", "read")
    assert_fields(got, {"outcome": "ept_misconfig", "fault_level": 3})
    assert int(got["entry"], 16) >> 50 & 1
    # Bit 45 is below MAXPHYADDR: part of the table's address, so the edit is refused.
    assert_bad_input(write(tmp_path, text.replace("0x4000000000000", "0x200000000000")), 17, 8,
                     "would change a table address (bits below MAXPHYADDR)")


def test_npt_gpa_fetch_of_a_non_executable_page():
    # The data page 0x5000 is read+execute in the nested table (no RW, no XD): a fetch
    # succeeds; a write is #NPF with P|W|U and bit 32 (APM Vol. 2 §15.25.6).
    assert_fields(translate_json(SCENARIOS / "npf.yaml", "--gpa", 0x5000, "--access", "fetch"), {"outcome": "ok"})
    assert_fields(translate_json(SCENARIOS / "npf.yaml", "--gpa", 0x5000, "--access", "write"),
                  {"outcome": "npf", "exitinfo1": 0x100000007, "exitinfo2": 0x5000})


def test_lazy_page_is_populated_on_first_touch():
    got = translate_json(SCENARIOS / "mmio.yaml", "--gpa", 0xF0001234, "--access", "read")
    assert_fields(got, {"outcome": "ok", "populated": True, "leaf_level": 1})
    assert int(got["hpa"], 16) & 0xFFF == 0x234


def test_rom_read_and_fetch_are_mapped():
    for access in ("read", "fetch"):
        assert_fields(translate_json(SCENARIOS / "rom.yaml", "--gpa", 0xFFFF0, "--access", access),
                      {"outcome": "ok", "rights": "r-x-"})


def test_mappings_merge_a_pass_through_range_into_one_line():
    # 0x1000-0x1fffff identical: 511 contiguous 4 KiB leaves, same rights and type.
    result = run("mappings", SCENARIOS / "ok.yaml", "--stage", "ept")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("# "), result.stdout
    assert lines[2].split() == ["0000000000001000-0000000000200000", "0000000000001000", "00000000001ff000", "4K",
                                "rwx-", "WB"]


def test_mappings_json_splits_where_rights_change():
    result = run("mappings", SCENARIOS / "npf.yaml", "--stage", "npt", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert (listing["limit"], listing["truncated"], listing["cut_pages"], listing["cut_bytes"]) == (
        100000, False, 0, "0x0")
    ranges = listing["ranges"]
    # Tables 0x1000-0x4fff RW and executable; data 0x5000 read+execute (no RW bit).
    assert [(int(r["gpa"], 16), int(r["size"], 16), r["rights"]) for r in ranges] == [
        (0x1000, 0x4000, "rwxu"), (0x5000, 0x1000, "r-xu")]


GUEST_MAPPINGS = """\
host: {memory: 128M, seed: 2}
memory_regions:
  - {gpa: 0, size: 64M, flags: 0x7, type: alloc, lazy: true}
cpu: {mode: 4level, cr0: 0x80010001}
guest:
  page_table_region: {gpa: 0x100000, size: 64K}
  mappings:
    - {gva: 0x400000, gpa: 0x200000, size: 4K, flags: 0x7}
    - {gva: 0x40000000, gpa: 0x400000, size: 2M, flags: 0x3}
    - {gva: 0x7f0000000000, gpa: 0x1000, size: 4K, flags: 0x7, levels: [{level: 4, clear: 0x4}]}
    - {gva: 0xffff800000000000, gpa: 0x2000, size: 4K, flags: 0x3}
"""


def test_guest_mappings_are_built_into_tables(tmp_path):
    path = tmp_path / "guest.yaml"
    path.write_text(GUEST_MAPPINGS)
    # A 4 KiB user mapping: a user write goes through to GPA 0x200010.
    assert_fields(translate_json(path, "--gva", 0x400010, "--access", "write", "--cpl", "3"),
                  {"outcome": "ok", "gpa": 0x200010, "guest_page_size": 0x1000})
    # A 2 MiB supervisor mapping (PDE with PS): supervisor read is fine, the offset
    # within the large page carries over; a user read is #PF P|U = 0x5 (§4.7).
    assert_fields(translate_json(path, "--gva", 0x40012345, "--access", "read", "--cpl", "0"),
                  {"outcome": "ok", "gpa": 0x412345, "guest_page_size": 0x200000})
    assert_fields(translate_json(path, "--gva", 0x40012345, "--access", "read", "--cpl", "3"),
                  {"outcome": "page_fault", "error_code": 0x5})
    # The level-4 override cleared US on the PML4E: user access denied (U/S is ANDed
    # over all levels, §4.6), #PF P|U = 0x5.
    assert_fields(translate_json(path, "--gva", 0x7F0000000000, "--access", "read", "--cpl", "3"),
                  {"outcome": "page_fault", "error_code": 0x5})
    # An upper-half canonical address (bits 63:47 all ones) indexes PML4 entry 256.
    assert_fields(translate_json(path, "--gva", 0xFFFF800000000010, "--access", "write", "--cpl", "0"),
                  {"outcome": "ok", "gpa": 0x2010})


def test_guest_override_sets_reserved_address_bits_of_a_table_pointer(tmp_path):
    # MAXPHYADDR 46 (the default): bit 50 of the PML4E is reserved, not the PDPT's address
    # (SDM Vol. 3A §4.5.4). The walk stops there: #PF P|RSVD = 0x9 for a supervisor read (§4.7).
    text = GUEST_MAPPINGS + ("    - {gva: 0x7e8000000000, gpa: 0x3000, size: 4K, flags: 0x3,"
                             " levels: [{level: 4, set: 0x4000000000000}]}\n")
    path = tmp_path / "guest.yaml"
    path.write_text(text)
    assert_fields(translate_json(path, "--gva", 0x7E8000000000, "--access", "read", "--cpl", "0"),
                  {"outcome": "page_fault", "error_code": 0x9})
    # Bit 45 is below MAXPHYADDR: the PDPT's address, which the builder keeps.
    path.write_text(text.replace("0x4000000000000", "0x200000000000"))
    result = run("translate", path, "--gva", 0x7E8000000000, "--access", "read")
    assert result.returncode == 2
    assert "level-4 override: may not change a table address (bits below MAXPHYADDR)" in result.stderr


def test_gva_access_to_mmio_is_an_exit_after_the_walk(tmp_path):
    text = GUEST_MAPPINGS.replace("memory_regions:\n", "memory_regions:\n"
                                  "  - {gpa: 0xfee00000, size: 4K, flags: 0x3, type: mmio}\n")
    text += "    - {gva: 0x500000, gpa: 0xfee00000, size: 4K, flags: 0x3}\n"
    path = tmp_path / "mmio.yaml"
    path.write_text(text)
    # The CPU reports an EPT violation on the final access (nothing maps the page);
    # the address space names it an MMIO exit, the outcome replay and traces name "mmio".
    # Qualification (SDM Vol. 3C Table 28-7): write 0x2, no rights (bits 5:3 clear), linear address valid 0x80, final
    # access 0x100, advanced information: supervisor page (bit 9 clear), writable
    # 0x400, not execute-disable (bit 11 clear) -> 0x582.
    got = translate_json(path, "--gva", 0x5000B0, "--access", "write", "--cpl", "0", "--size", 4)
    assert_fields(got, {"outcome": "mmio", "size": 4, "write": True,
                        "fault_gpa": 0xFEE000B0, "exit_qualification": 0x582})


def test_page_crossing_access_is_translated_in_two_pieces_as_replay_does(tmp_path):
    """ok.yaml maps only GVA 0x400000 (PTE[0] at GPA 0x4000); PTE[1] is 0. A user read of 8 bytes at
    0x400ffc is two translations (SDM Vol. 3A §4.10.2.3, an access that crosses a page is translated per page):
    0x400ffc-0x400fff in the mapped page, 0x401000-0x401003 through PTE[1], not present: #PF with U = 0x4
    (P=0: not present, read, CPL 3), CR2 = 0x401000. References over 4-level EPT: the first piece reads 4 guest
    entries, each through 4 EPT entries, and 4 EPT entries for the final GPA: 4 + 16 + 4 = 24; the second piece
    stops at the PTE: 4 + 16 = 20; the access 44."""
    args = ("--gva", 0x400FFC, "--size", 8, "--access", "read", "--cpl", 3)
    got = translate_json(SCENARIOS / "ok.yaml", *args)
    assert_fields(got, {"outcome": "page_fault", "gva": 0x401000, "cr2": 0x401000, "error_code": 0x4,
                        "refs": 44, "size": 8})
    first, second = got["pieces"]
    assert_fields(first, {"translated": True, "outcome": "ok", "gva": 0x400FFC, "size": 4, "gpa": 0x5FFC,
                          "refs": 24})
    assert_fields(second, {"translated": True, "outcome": "page_fault", "gva": 0x401000, "size": 4,
                           "error_code": 0x4, "refs": 20})
    # The text listing walks both pieces and says where the access faulted.
    text = run("translate", SCENARIOS / "ok.yaml", *args, "--explain")
    assert text.returncode == 0, text.stderr
    assert "piece 1 of 2: gva 0x400ffc, 4 byte(s)" in text.stdout
    assert "piece 2 of 2: gva 0x401000, 4 byte(s)" in text.stdout
    assert ("access of 8 byte(s) at gva 0x400ffc crosses a page boundary: page_fault at piece 2, "
            "44 memory references in all") in text.stdout
    # replay of the same access gives the same answer.
    trace = tmp_path / "cross.nwt.txt"
    trace.write_text("nestwalk-trace 1\naccess gva=0x400ffc size=0x8 type=read cpl=0x3\n"
                     "expect outcome=page_fault error_code=0x4 refs=0x2c\nend\n")
    result = run("replay", SCENARIOS / "ok.yaml", "--trace", trace, "--no-tlb")
    assert result.returncode == 0, result.stdout
    # A first piece that faults ends the access there: the second is not translated (CR2 is the first's).
    got = translate_json(SCENARIOS / "ok.yaml", "--gva", 0x3FFFFC, "--size", 8, "--access", "read", "--cpl", 3)
    assert_fields(got, {"outcome": "page_fault", "cr2": 0x3FFFFC})
    assert got["pieces"][1] == {"gva": "0x400000", "size": 4, "translated": False}


@pytest.mark.parametrize("scenario, mode, gva, size", [
    # PAE paging: PDPTE[0] -> PD 0x2000, PD[2] -> PT 0x3000, PTE[0] maps GVA 0x400000; 0x100400000 would walk
    # the same entries if its bits 63:32 were dropped, but PAE paging translates 32-bit linear addresses
    # (SDM Vol. 3A 4.1, 4.4): no such address exists there.
    ("hw/pae.yaml", "pae", 0x100400000, 4),
    # An access whose last byte lies past 4 GiB (0xfffffffe + 4 - 1 = 0x100000001) has no linear address either.
    ("hw/pae.yaml", "pae", 0xFFFFFFFE, 4),
    # 32-bit paging: PDE[1] -> PT 0x2000, PTE[0] maps GVA 0x400000 (4.3: 32-bit linear addresses).
    ("hw/legacy32.yaml", "32-bit", 0x8000400000, 1),
])
def test_address_above_4g_is_refused_in_32_bit_modes(tmp_path, scenario, mode, gva, size):
    result = run("translate", SCENARIOS / scenario, "--gva", gva, "--size", size, "--access", "read", "--cpl", 0,
                 "--json")
    assert result.returncode == 2, result.stdout
    assert (f"access of {size} byte(s) at gva {gva:#x}: not a linear address with {mode} paging, whose linear "
            "addresses are 32 bits") in result.stderr, result.stderr
    assert result.stdout == ""
    # In a replay trace the access record is refused with its number, whether the record reader (text) or
    # the batch reader (binary) delivers it: record 1 is the good access, 2 its expectation, 3 the bad one.
    text = tmp_path / "above.nwt.txt"
    text.write_text("nestwalk-trace 1\n"
                    "access gva=0x400000 size=0x4 type=read cpl=0x0\nexpect outcome=ok gpa=0x5000\n"
                    f"access gva={gva:#x} size={size:#x} type=read cpl=0x0\nend\n")
    binary = tmp_path / "above.nwt"
    assert run("trace", "convert", text, binary, "--to", "binary").returncode == 0
    for trace in (text, binary):
        result = run("replay", SCENARIOS / scenario, "--trace", trace)
        assert result.returncode == 2, result.stdout
        assert f"record 3: access of {size} byte(s) at gva {gva:#x}: not a linear address with {mode} paging" \
            in result.stderr, result.stderr


def test_address_above_4g_is_a_linear_address_in_4_level_paging():
    # 4-level paging translates 48-bit canonical addresses: 0x100400000 is one; ok.yaml leaves PML4E[0] ->
    # PDPTE[4] empty, so the walk reaches the PDPT and faults not-present (#PF error code 0: supervisor read).
    assert_fields(translate_json(SCENARIOS / "ok.yaml", "--gva", 0x100400000, "--access", "read", "--cpl", 0),
                  {"outcome": "page_fault", "error_code": 0, "cr2": 0x100400000, "fault_level": 3})


XD_GUEST = """\
host: {memory: 64M, seed: 3}
memory_regions:
  - {gpa: 0, size: 16M, flags: 0x7, type: alloc, lazy: true}
cpu: {mode: 4level, cr0: 0x80010001%s}
guest:
  page_table_region: {gpa: 0x100000, size: 64K}
  mappings:
    - {gva: 0x400000, gpa: 0x200000, size: 4K, flags: 0x8000000000000007}
    - {gva: 0x401000, gpa: 0x201000, size: 4K, flags: 0x7}
"""


def guest_listing(path):
    result = run("mappings", path, "--stage", "guest", "--json")
    assert result.returncode == 0, result.stderr
    # rights r, w, x, u: x is '-' for an execute-disable page (docs/json.md)
    ranges = json.loads(result.stdout)["ranges"]
    return [(int(r["gva"], 16), int(r["gva_end"], 16), r["rights"][2] == "-") for r in ranges], result.stderr


# Guest mappings in the two 32-bit-address modes, derived from the scenarios' writes. Columns: gva range, gpa,
# size, page, rights (r read, w write, x execute: no XD, u user), flags (g global, a accessed, d dirty).
# scenarios/hw/legacy32.yaml, 32-bit paging with CR4.PSE (SDM Vol. 3A §4.3, Tables 4-4..4-6: 1024 4-byte entries,
# GVA bits 31:22 index the PD, 21:12 the PT): PDE[1] -> PT 0x2000 maps GVA 0x400000 + i * 4K: PTE[0] 0x5007 (P RW
# US), PTE[1] 0x6005 (P US: read-only), PTE[3] 0x9007; PDE[3] 0x800087 (PS) is a 4 MiB page at 0x800000 for GVA 3 <<
# 22 = 0xc00000; PDE[5] 0xe00087 sets bit 21, reserved in a 4 MiB PDE (Table 4-4: bits 21:(M-19), M = MAXPHYADDR
# 46 taken as 40), so a walk through it faults and it maps nothing.
# scenarios/hw/pae.yaml, PAE paging with NXE (§4.4, Tables 4-8..4-11: 4 PDPTEs, then 512 8-byte entries; GVA bits
# 31:30, 29:21, 20:12): PDPTE[0] 0x2001 has no R/W or U/S (the levels below decide); PDE[2] -> PT 0x3000 maps GVA
# 2 << 21 = 0x400000 + i * 4K: PTE[0] 0x5007, PTE[1] 0x6007 with XD (bit 63), PTE[2] 0x7005 read-only, PTE[3]
# 0x9007; PDE[3] 0x800087 is a 2 MiB page at 0x800000 for GVA 3 << 21 = 0x600000.
@pytest.mark.parametrize("scenario, rows, reserved", [
    ("hw/legacy32.yaml", [("0000000000400000-0000000000401000", "0000000000005000", "4K", "rwxu"),
                          ("0000000000401000-0000000000402000", "0000000000006000", "4K", "r-xu"),
                          ("0000000000403000-0000000000404000", "0000000000009000", "4K", "rwxu"),
                          ("0000000000c00000-0000000001000000", "0000000000800000", "4M", "rwxu")], 1),
    ("hw/pae.yaml", [("0000000000400000-0000000000401000", "0000000000005000", "4K", "rwxu"),
                     ("0000000000401000-0000000000402000", "0000000000006000", "4K", "rw-u"),
                     ("0000000000402000-0000000000403000", "0000000000007000", "4K", "r-xu"),
                     ("0000000000403000-0000000000404000", "0000000000009000", "4K", "rwxu"),
                     ("0000000000600000-0000000000800000", "0000000000800000", "2M", "rwxu")], 0),
])
def test_guest_mappings_of_32bit_and_pae_paging(scenario, rows, reserved):
    result = run("mappings", SCENARIOS / scenario, "--stage", "guest")
    assert result.returncode == 0, result.stderr
    got = [line.split() for line in result.stdout.splitlines()[2:]]
    assert [(r[0], r[1], r[3], r[4]) for r in got] == rows, result.stdout
    assert (f"{reserved} paging entries have a reserved bit set" in result.stderr) == (reserved > 0), result.stderr


def test_mappings_and_walks_agree_on_xd_whatever_efer_says(tmp_path):
    """cpu.mode 4level sets EFER.LME|LMA; without cpu.efer NXE is 0 (said on stderr), and then bit 63 of a
    4-level entry is reserved (SDM Vol. 3A 4.5.4, Table 4-19): the walk faults P|U|RSVD = 0xd for a user read
    (4.7), and mappings must not call that page mapped, let alone executable."""
    path = tmp_path / "xd.yaml"
    path.write_text(XD_GUEST % "")
    ranges, stderr = guest_listing(path)
    assert ranges == [(0x401000, 0x402000, False)]
    assert "1 paging entries have bit 63 (XD) set while EFER.NXE=0" in stderr, stderr
    assert "cpu.efer is not given: EFER.NXE taken as 0" in stderr
    got = translate_json(path, "--gva", 0x400000, "--access", "read", "--cpl", 3)
    assert_fields(got, {"outcome": "page_fault", "error_code": 0xD, "fault_level": 1})
    assert got["registers"]["efer"] == {"value": "0x500", "from": "scenario"}  # LME|LMA from cpu.mode
    assert got["registers"]["cr3"]["from"] == "scenario"  # the root of the tables guest.mappings built
    assert got["registers"]["cr4"] == {"value": "0x20", "from": "scenario"}  # PAE from cpu.mode
    # With EFER.NXE (0xd00) the page is mapped execute-disable: a read succeeds, a fetch is #PF P|U|I/D = 0x15.
    path.write_text(XD_GUEST % ", efer: 0xd00")
    ranges, stderr = guest_listing(path)
    assert ranges == [(0x400000, 0x401000, True), (0x401000, 0x402000, False)]
    assert stderr == ""
    assert_fields(translate_json(path, "--gva", 0x400000, "--access", "read", "--cpl", 3),
                  {"outcome": "ok", "gpa": 0x200000})
    assert_fields(translate_json(path, "--gva", 0x400000, "--access", "fetch", "--cpl", 3),
                  {"outcome": "page_fault", "error_code": 0x15})


RSVD_GUEST = """\
host: {memory: 64M, seed: 3}
memory_regions:
  - {gpa: 0, size: 16M, flags: 0x7, type: identical}
cpu: {mode: 4level, cr0: 0x80010001, cr3: 0x1000, maxphyaddr: 46}
guest:
  writes:
    - {gpa: 0x1000, values: [0x2007, 0x2087]}
    - {gpa: 0x2000, values: [0x3007]}
    - {gpa: 0x3000, values: [0x4007]}
    - {gpa: 0x4000, values: [0x5007, 0x0008000000006007]}
"""


def test_mappings_and_walks_agree_on_reserved_bits(tmp_path):
    """4-level paging from CR3 0x1000: PML4E[0] 0x2007 and PML4E[1] 0x2087 both point to the PDPT at 0x2000,
    then PD 0x3000, PT 0x4000 (GVA bits 47:39, 38:30, 29:21, 20:12). PS (bit 7) is reserved in a PML4E (SDM Vol.
    3A Table 4-15), and PTE[1] 0x0008000000006007 sets bit 51, reserved at or above MAXPHYADDR 46 (Table 4-20,
    bits 51:M). A walk through either faults P|RSVD = 0x9 for a supervisor read (4.7), so neither maps anything:
    only GVA 0 -> 0x5000 is mapped; the PS=1 PML4E's four-level descent (GVA 1 << 39) and the PTE are not."""
    path = tmp_path / "rsvd.yaml"
    path.write_text(RSVD_GUEST)
    ranges, stderr = guest_listing(path)
    assert ranges == [(0x0, 0x1000, False)], ranges
    assert "2 paging entries have a reserved bit set" in stderr, stderr
    assert_fields(translate_json(path, "--gva", 0x8000000000, "--access", "read"),
                  {"outcome": "page_fault", "error_code": 0x9, "fault_level": 4})
    assert_fields(translate_json(path, "--gva", 0x1000, "--access", "read"),
                  {"outcome": "page_fault", "error_code": 0x9, "fault_level": 1})
    assert_fields(translate_json(path, "--gva", 0x0, "--access", "read"), {"outcome": "ok", "gpa": 0x5000})


def test_translate_on_an_exhausted_host_is_no_memory_as_in_replay(tmp_path):
    """1 MiB of host is 256 frames: frame 0 is never handed out, 4 hold the EPT tables (every page lies under
    one 2 MiB PT), 3 the live counts of the tables above the PT (one count page each) and 1 the frame
    ledger, so the 247 pages of the first region take the rest and the lazy page at 0x10f7000 finds no
    frame: the host failed, not the guest (replay says no_memory and exits 1)."""
    path = tmp_path / "small_host.yaml"
    path.write_text("host: {memory: 1M, seed: 1}\n"
                    "memory_regions:\n"
                    "  - {gpa: 0x1000000, size: 0xf7000, type: alloc}\n"
                    "  - {gpa: 0x10f7000, size: 0x6000, type: alloc, lazy: true}\n"
                    "cpu: {mode: off}\n")
    result = run("translate", path, "--gva", 0x10F7000, "--access", "read", "--json")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["outcome"] == "no_memory"
    assert "no frame left for a lazy page" in result.stderr


def test_guest_mapping_errors_name_the_mapping(tmp_path):
    text = GUEST_MAPPINGS + "    - {gva: 0x800000000000, gpa: 0x3000}\n"
    assert_bad_input(write(tmp_path, text), 12, 8, "not canonical")
    text = GUEST_MAPPINGS + "    - {gva: 0x400000, gpa: 0x3000}\n"
    assert_bad_input(write(tmp_path, text), 12, 8, "overlaps")
    text = GUEST_MAPPINGS.replace("size: 64K", "size: 8K")
    assert_bad_input(write(tmp_path, text), 8, 8, "page_table_region is full")


def write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def assert_bad_input(path, line, column, message):
    result = run("translate", path, "--gpa", 0, "--access", "read")
    assert result.returncode == 2, result.stdout
    assert f"{path}:{line}:{column}: " in result.stderr, result.stderr
    assert message in result.stderr


def test_unknown_key_names_its_line_and_column(tmp_path):
    assert_bad_input(write(tmp_path, "host:\n  memory: 64M\n  colour: blue\n"), 3, 3, "unknown key 'colour'")


def test_unknown_top_level_key(tmp_path):
    assert_bad_input(write(tmp_path, "host: {seed: 1}\nmemory_region: []\n"), 2, 1, "unknown key 'memory_region'")


def test_bad_number(tmp_path):
    assert_bad_input(write(tmp_path, "host:\n  memory: 64Q\n"), 2, 11, "'64Q' is not a number")


def test_number_too_large(tmp_path):
    assert_bad_input(write(tmp_path, "memory_regions:\n  - {gpa: 0x1ffffffffffffffff, size: 4K, type: mmio}\n"),
                     2, 11, "not a number")


def test_bad_enum(tmp_path):
    assert_bad_input(write(tmp_path, "memory_regions:\n  - {gpa: 0, size: 4K, type: ram}\n"), 2, 30,
                     "unknown value 'ram'")


def test_malformed_yaml(tmp_path):
    result = run("translate", write(tmp_path, "memory_regions: [ {gpa: 0, size: 4K\nhost: {}\n"), "--gpa", 0,
                 "--access", "read")
    assert result.returncode == 2
    assert re.search(r"bad\.yaml:\d+:\d+: YAML: ", result.stderr), result.stderr


def test_duplicate_key(tmp_path):
    assert_bad_input(write(tmp_path, "host: {memory: 64M, memory: 32M}\n"), 1, 21, "duplicate key")


def test_overlapping_regions_point_at_the_second(tmp_path):
    text = "memory_regions:\n  - {gpa: 0, size: 8K, type: alloc}\n  - {gpa: 4K, size: 4K, type: mmio}\n"
    assert_bad_input(write(tmp_path, text), 3, 6, "overlaps")


def test_each_broken_region_rule_is_named(tmp_path):
    """The address space refuses a region by rule, and the loader says which rule at the region."""
    def one(region):
        return "memory_regions:\n  - {gpa: 0x100000, size: 4K, type: alloc}\n  - " + region + "\n"

    # Flags 0x2 (write, no read): R=0 W=1 is an EPT misconfiguration (SDM Vol. 3C §29.3.3.1).
    assert_bad_input(write(tmp_path, one("{gpa: 0x200000, size: 4K, type: alloc, flags: 0x2}")), 3, 6,
                     "write without read")
    # ROM is mapped without W (writes exit), so flags 0x3 (read, write) contradict it.
    assert_bad_input(write(tmp_path, one("{gpa: 0x200000, size: 4K, type: rom, flags: 0x3}")), 3, 6,
                     "a ROM region may not have the write flag")
    # A pass-through range is the host's own memory: nothing to populate on first touch.
    assert_bad_input(write(tmp_path, one("{gpa: 0x200000, size: 4K, type: identical, lazy: true}")), 3, 6,
                     "only an alloc region may be lazy")


def test_the_65th_region_is_over_the_region_limit(tmp_path):
    # 64 one-page MMIO regions fill every slot; the 65th (line 66) is refused for that, not for memory.
    regions = "".join(f"  - {{gpa: {i * 0x1000:#x}, size: 4K, type: mmio}}\n" for i in range(65))
    path = write(tmp_path, "memory_regions:\n" + regions)
    assert_bad_input(path, 66, 6, "all 64 region slots of the address space are in use")
    assert "out of frames" not in run("translate", path, "--gpa", 0, "--access", "read").stderr
    # 64 are fine.
    path = write(tmp_path, "memory_regions:\n" + regions[:regions.rindex("  - ")])
    assert run("translate", path, "--gpa", 0, "--access", "read").returncode == 0


def test_host_memory_above_maxphyaddr_is_refused(tmp_path):
    # MAXPHYADDR 36: host-physical addresses stop at 2^36 = 64 GiB (SDM Vol. 3A §4.1.4), so a
    # 128 GiB host would hold frames, the EPT's own tables among them, that no entry can address.
    text = "host:\n  memory: 128G\nmemory_regions:\n  - {gpa: 0x1000, size: 4K, type: alloc}\n" \
           "cpu: {maxphyaddr: 36}\n"
    assert_bad_input(write(tmp_path, text), 2, 11, "memory: 0x2000000000 bytes reach above 2^MAXPHYADDR "
                     "(0x1000000000, cpu.maxphyaddr 36)")
    # Exactly 2^36 bytes: every frame is below 2^36, and a read of the RAM page translates
    # through a 4 KiB EPT leaf (PML4E, PDPTE, PDE, PTE: 4 references).
    got = translate_json(write(tmp_path, text.replace("128G", "64G")), "--gpa", 0x1000, "--access", "read")
    assert_fields(got, {"outcome": "ok", "leaf_level": 1, "refs": 4})
    assert int(got["hpa"], 16) < 1 << 36


def test_wrong_shape(tmp_path):
    assert_bad_input(write(tmp_path, "host:\n  memory: [1, 2]\n"), 2, 12, "expected a scalar")
    assert_bad_input(write(tmp_path, "- a\n- b\n"), 1, 3, "expected a mapping")


def test_missing_required_region_key(tmp_path):
    assert_bad_input(write(tmp_path, "memory_regions:\n  - {gpa: 0, size: 4K}\n"), 2, 6, "needs gpa, size and type")


def test_edit_off_the_path(tmp_path):
    text = "ept:\n  edits:\n    - {gpa: 0x5000, level: 1, set: 0x4}\nmemory_regions: []\n"
    assert_bad_input(write(tmp_path, text), 3, 8, "no entry at that level")


def test_missing_file_and_bad_arguments(tmp_path):
    result = run("translate", tmp_path / "none.yaml", "--gpa", 0, "--access", "read")
    assert result.returncode == 2 and "cannot open" in result.stderr
    for args in (["--gpa", 0, "--access", "read"], [SCENARIOS / "ok.yaml", "--gpa", "zz", "--access", "read"],
                 [SCENARIOS / "ok.yaml", "--gpa", 0, "--access", "peek"],
                 [SCENARIOS / "ok.yaml", "--gpa", 0, "--gva", 0, "--access", "read"]):
        assert run("translate", *args).returncode == 2, args
    assert run("mappings", SCENARIOS / "ok.yaml").returncode == 2


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_every_truncation_of_a_bundled_scenario_is_handled(tmp_path, scenario):
    """Cut a good file after each line: the result is a VM (exit 0) or a clear
    error with its position (exit 2), never a crash (the suite also runs under
    ASan+UBSan)."""
    lines = (SCENARIOS / scenario).read_text().splitlines(keepends=True)
    path = tmp_path / "cut.yaml"
    # Every line in the long form (NESTWALK_FULL_MATRIX), every third otherwise.
    for n in range(0, len(lines), 1 if os.environ.get("NESTWALK_FULL_MATRIX") else 3):
        path.write_text("".join(lines[:n]) + lines[n][: len(lines[n]) // 2])
        result = run("mappings", path, "--stage", "stage2")
        assert result.returncode in (0, 2), (n, result.stderr)
        if result.returncode == 2:
            assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", result.stderr), (n, result.stderr)


AXVISOR_TOML = """\
# A guest as AxVisor's configs/vms/*.toml describe one.
[base]
id = 1
name = "linux-qemu"
vm_type = 1
cpu_num = 1
phys_cpu_ids = [0]

[kernel]
entry_point = 0x8020_0000
image_location = "fs"
kernel_path = "linux.bin"
kernel_load_addr = 0x8020_0000
memory_regions = [
    [0x8000_0000, 0x400_0000, 0x7, 0],  # System RAM, MAP_ALLOC
    [0x0c00_0000, 0x20_0000, 0x13, 1],  # PLIC, MAP_IDENTICAL, device
    [0x1000_0000, 0x1000, 0x13, 2],     # UART, reserved -> MMIO
]
"""


def test_axvisor_toml_imports_and_maps(tmp_path):
    toml = tmp_path / "vm.toml"
    toml.write_text(AXVISOR_TOML)
    out = tmp_path / "vm.yaml"
    result = subprocess.run(["/usr/bin/python3", IMPORTER, toml, "--arch", "x86_64", "-o", out], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "# name: linux-qemu" in text and "# entry_point: 0x80200000" in text
    result = run("mappings", out, "--stage", "ept", "--json")
    assert result.returncode == 0, result.stderr
    ranges = json.loads(result.stdout)["ranges"]
    # The identical PLIC range maps GPA = HPA with one 2 MiB page, uncached (device
    # flag 0x10), read+write (0x3); the MMIO range maps nothing; RAM is WB, RWX.
    plic = [r for r in ranges if int(r["gpa"], 16) == 0x0C000000]
    assert len(plic) == 1
    assert_fields(plic[0], {"hpa": 0x0C000000, "size": 0x200000, "page_size": 0x200000, "rights": "rw--",
                            "memory_type": "UC"})
    assert not [r for r in ranges if 0x10000000 <= int(r["gpa"], 16) < 0x10001000]
    ram = [r for r in ranges if 0x80000000 <= int(r["gpa"], 16) < 0x84000000]
    assert sum(int(r["size"], 16) for r in ram) == 0x4000000
    assert {r["rights"] for r in ram} == {"rwx-"} and {r["memory_type"] for r in ram} == {"WB"}
    assert_fields(translate_json(out, "--gpa", 0x10000000, "--access", "write", "--size", 1),
                  {"outcome": "mmio", "write": True})


def test_axvisor_sample_imports(tmp_path):
    out = tmp_path / "sample.yaml"
    result = subprocess.run(["/usr/bin/python3", IMPORTER, SCENARIOS / "axvisor" / "arceos-x86_64.toml", "-o", out],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    result = run("mappings", out, "--stage", "ept")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) >= 3


def import_sample(tmp_path, name, *options):
    out = tmp_path / "sample.yaml"
    result = subprocess.run(["/usr/bin/python3", IMPORTER, SCENARIOS / "axvisor" / name, *options, "-o", out],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def stage2_ranges(scenario, stage):
    result = run("mappings", scenario, "--stage", stage, "--json")
    assert result.returncode == 0, result.stderr
    return {int(r["gpa"], 16): r for r in json.loads(result.stdout)["ranges"]}


def test_axvisor_aarch64_sample_imports(tmp_path):
    # The file name names aarch64: an arch aarch64 scenario over the default stage 2 (scenarios/README.md).
    out = import_sample(tmp_path, "arceos-aarch64.toml")
    assert "arch: aarch64\n" in out.read_text() and "  format: arm64\n" in out.read_text()
    ranges = stage2_ranges(out, "arm64")
    # The GIC distributor (flags 0x13: read, write, device) passed through: GPA = HPA, Device-nGnRE, S2AP rw, XN
    # 0b10 (rights rw--); System RAM (0x7) Normal-WB, executable at EL1 and EL0 (rwxu), 128 MiB in all.
    assert_fields(ranges[0x08000000], {"hpa": 0x08000000, "size": 0x10000, "rights": "rw--",
                                       "memory_type": "Device-nGnRE"})
    ram = [r for g, r in ranges.items() if 0x40000000 <= g < 0x48000000]
    assert sum(int(r["size"], 16) for r in ram) == 0x8000000
    assert {r["rights"] for r in ram} == {"rwxu"} and {r["memory_type"] for r in ram} == {"Normal-WB"}
    # The PL011 (map_type 2, reserved) is never mapped: an access is an MMIO exit.
    assert 0x09000000 not in ranges
    assert_fields(translate_json(out, "--gpa", 0x09000000, "--access", "write"), {"outcome": "mmio"})


def test_axvisor_riscv64_sample_imports(tmp_path):
    # A riscv64 config names no G-stage mode: --gstage gives it; PBMT off (AxVisor's RISC-V PTEs have none).
    result = subprocess.run(["/usr/bin/python3", IMPORTER, SCENARIOS / "axvisor" / "arceos-riscv64.toml"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "give --gstage sv39x4, sv48x4 or sv57x4" in result.stderr
    out = import_sample(tmp_path, "arceos-riscv64.toml", "--gstage", "sv39x4")
    assert "arch: riscv64\n" in out.read_text() and "  format: sv39x4\n" in out.read_text()
    ranges = stage2_ranges(out, "gstage")
    # The PLIC (4 MiB at 0x0c000000, 2 MiB-aligned, passed through): two 2 MiB leaves, R and W, PBMT PMA.
    assert_fields(ranges[0x0C000000], {"hpa": 0x0C000000, "size": 0x400000, "page_size": 0x200000,
                                       "rights": "rw--", "memory_type": "pma"})
    ram = [r for g, r in ranges.items() if 0x80000000 <= g < 0x88000000]
    assert sum(int(r["size"], 16) for r in ram) == 0x8000000 and {r["rights"] for r in ram} == {"rwx-"}
    # A fetch from the PLIC: no X, a fetch guest-page fault, scause 20, htval 0x0c000010 >> 2 = 0x3000004.
    assert_fields(translate_json(out, "--gpa", 0x0C000010, "--access", "fetch"),
                  {"outcome": "guest_page_fault", "scause": 20, "htval": 0x3000004})
    assert_fields(translate_json(out, "--gpa", 0x10000000, "--access", "read"), {"outcome": "mmio"})


def test_axvisor_import_needs_the_architecture(tmp_path):
    toml = tmp_path / "vm.toml"
    toml.write_text(AXVISOR_TOML)
    result = subprocess.run(["/usr/bin/python3", IMPORTER, toml], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "does not name its architecture: give --arch x86_64, aarch64 or riscv64" in result.stderr
    result = subprocess.run(["/usr/bin/python3", IMPORTER, SCENARIOS / "axvisor" / "arceos-aarch64.toml", "--gstage",
                             "sv39x4"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--gstage is the RISC-V G-stage's mode, and the config is aarch64" in \
        result.stderr


def test_axvisor_bad_toml_is_bad_input(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text("[kernel]\nmemory_regions = [[0x1000, 0x1000, 7]]\n")
    result = subprocess.run(["/usr/bin/python3", IMPORTER, toml], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "bad.toml" in result.stderr and "memory_regions[0]" in result.stderr
