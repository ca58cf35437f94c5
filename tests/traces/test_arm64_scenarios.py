"""AArch64 scenarios (arch: aarch64): the stage 2 alone, through translate --gpa, mappings and read, and what the
loader refuses. Expected values are derived by hand from the Arm ARM beside each: ESR_EL2 (D19, ISS for Data and
Instruction Aborts) is EC 0x24 << 26 = 0x90000000 for a data abort from a lower EL or 0x20 << 26 = 0x80000000
for an instruction abort, plus IL (bit 25, 0x02000000), WnR (bit 6, 0x40) for a write, and DFSC/IFSC 0b0000LL
address size, 0b0001LL translation, 0b0010LL access flag, 0b0011LL permission with LL the level; ISV is 0 (a
guest-physical access has no instruction). HPFAR_EL2 is the IPA's bits 47:12 in bits 43:4, UNKNOWN (absent)
for a permission fault.

scenarios/arm64_stage2.yaml: VTCR_EL2 0x80023558 (T0SZ 24: 40-bit IPA; SL0 1: the walk starts at level 1, whose
1024 entries span two concatenated tables; PS 0b010: 40-bit output); ROM at 0 (read, execute), a pass-through
device page at 0x08000000, MMIO at 0x09000000, pass-through RAM 0x40000000-0x40201000 (read, write, execute),
allocated RAM 0x40400000-0x40410000 (read, write); edits: AF cleared at 0x40200000, S2AP[1] cleared at
0x40401000, output-address bit 40 set at 0x40402000.

scenarios/arm64_stage2_64k.yaml: VTCR_EL2 0x80057554 (T0SZ 20: 44-bit IPA; TG0 0b01: the 64 KiB granule; SL0 1:
with it the walk starts at level 2, IPA bits 43:29, 2^15 entries in four concatenated tables; level 3 bits 28:16;
PS 0b101: 48-bit output); ROM at 0, a device page at 0x08000000, MMIO at 0x09000000, pass-through RAM
0x40000000-0x60010000 (a 512 MiB block and a 64 KiB page), allocated RAM 0x80000000-0x80040000 and lazy RAM at
0x90000000; edits: AF cleared at 0x80010000, S2AP[1] at 0x80020000, bit 12 (OA[48] with 64 KiB) at 0x80030000."""
import json
import os
import pathlib
import subprocess

from test_scenarios import assert_bad_input, write

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "arm64_stage2.yaml"
SCENARIO_64K = ROOT / "scenarios" / "arm64_stage2_64k.yaml"
DABT, IABT, WNR = 0x92000000, 0x82000000, 0x40


def run(*args, timeout=60):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def gpa(path, address, access, *more):
    result = run("translate", path, "--gpa", hex(address), "--access", access, "--json", *more)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_block_of_pass_through_ram_with_its_attributes():
    # 0x40001234: level-1 entry 1 -> level-2 table, entry 0: the aligned 2 MiB of the identical region is one
    # block (bits 1:0 0b01) at 0x40000000: S2AP 0b11, XN 0b00, MemAttr 0b1111 (Normal Write-Back); 2 entries read.
    got = gpa(SCENARIO, 0x40001234, "fetch")
    assert (got["outcome"], got["hpa"], got["s2_page_size"], got["level"], got["leaf_level"]) == \
        ("ok", "0x40001234", "0x200000", 2, 2)
    assert (got["s2ap"], got["xn"], got["memattr"], got["memory_type"], got["rights"], got["refs"]) == \
        ("rw", 0, "0xf", "Normal-WB", "rwxu", 2)
    # Stage 2's own attributes (D8.5.3): MemAttr[3:2] 0b11 outer and [1:0] 0b11 inner Write-Back, SH 0b11 (the
    # builder's) Inner Shareable; stage 2 carries no allocation hints.
    assert (got["fwb"], got["attributes"]) == \
        (False, {"type": "Normal", "inner": "WB", "outer": "WB", "shareability": "inner"})
    text = run("translate", SCENARIO, "--gpa", "0x40001234", "--access", "fetch").stdout
    assert text == ("gpa 0x40001234 -> hpa 0x40001234 (level-2 block, 0x200000-byte page, S2AP rw, XN 0b00, "
                    "MemAttr 0xf Normal-WB, rights rwxu; stage-2 attributes Normal, inner Write-Back, outer "
                    "Write-Back, Inner Shareable)\n")


def test_device_memory_is_device_ngnre_and_never_executable():
    # A device region: MemAttr 0b0001 (Device-nGnRE), XN 0b10 (no execute at EL1 or EL0), a level-3 page.
    got = gpa(SCENARIO, 0x8000000, "read")
    assert (got["outcome"], got["hpa"], got["level"], got["memory_type"], got["xn"], got["rights"]) == \
        ("ok", "0x8000000", 3, "Device-nGnRE", 2, "rw--")
    # The fetch: permission fault, level 3: IABT | 0x0f; no HPFAR_EL2.
    got = gpa(SCENARIO, 0x8000000, "fetch")
    assert (got["outcome"], got["esr_el2"], got["fault"], got["level"]) == \
        ("stage2_abort", hex(IABT | 0x0F), "permission", 3)
    assert "hpfar_el2" not in got


def test_each_fault_kind_with_its_esr_and_hpfar():
    # AF clear, no hardware update: access flag fault at level 3, DFSC 0b001011.
    got = gpa(SCENARIO, 0x40200010, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"]) == \
        (hex(DABT | 0x0B), "0x402000", "access_flag", 3)
    # S2AP 0b01 (read only): a write is a permission fault at level 3, WnR; HPFAR_EL2 UNKNOWN, so absent.
    got = gpa(SCENARIO, 0x40401008, "write")
    assert (got["esr_el2"], got["fault"], got["level"]) == (hex(DABT | WNR | 0x0F), "permission", 3)
    assert "hpfar_el2" not in got
    assert gpa(SCENARIO, 0x40401008, "read")["outcome"] == "ok"
    # Allocated RAM without execute: XN 0b10, the fetch a permission fault at level 3.
    assert gpa(SCENARIO, 0x40400000, "fetch")["esr_el2"] == hex(IABT | 0x0F)
    # 0x50000000: level-1 entry 1 is the table above; level-2 entry 0x80 is invalid: translation fault, level 2.
    got = gpa(SCENARIO, 0x50000000, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"]) == \
        (hex(DABT | 0x06), "0x500000", "translation", 2)
    # An IPA at 2^40 is beyond the 40-bit input size: translation fault at level 0 (AArch64.S2Walk), whatever
    # the start level; nothing read.
    got = gpa(SCENARIO, 1 << 40, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"], got["refs"]) == \
        (hex(DABT | 0x04), "0x100000000", "translation", 0, 0)
    # Output address bit 40 with PS 40 bits: address size fault at the leaf's level 3, DFSC 0b000011.
    got = gpa(SCENARIO, 0x40402000, "write")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"]) == \
        (hex(DABT | WNR | 0x03), "0x404020", "address_size", 3)
    text = run("translate", SCENARIO, "--gpa", "0x40401008", "--access", "write").stdout
    assert text.startswith("gpa 0x40401008: stage-2 abort, ESR_EL2 0x9200004f, HPFAR_EL2 UNKNOWN (permission "
                           "fault at level 3, entry 0x")


def test_mmio_and_rom_faults_are_the_hypervisors_exits():
    assert gpa(SCENARIO, 0x9000000, "write", "--size", "4")["outcome"] == "mmio"
    assert gpa(SCENARIO, 0x8, "write")["outcome"] == "rom_write"


def mapping_rows(path):
    """mappings --stage stage2's rows: (gpa range, page, rights, MemAttr, the fault every access takes)."""
    result = run("mappings", path, "--stage", "stage2")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[2:]]
    return [(r[0], r[3], r[4], r[5], r[6] if len(r) > 6 else "") for r in rows]


def test_mappings_list_the_ranges_with_their_attributes_and_faults():
    # ROM read+execute; the device page; the 2 MiB block; its AF-clear page; the allocated pages: one, the
    # read-only one, the one above PS, the rest.
    assert mapping_rows(SCENARIO) == [
        ("0000000000000000-0000000000010000", "4K", "r-xu", "Normal-WB", ""),
        ("0000000008000000-0000000008001000", "4K", "rw--", "Device-nGnRE", ""),
        ("0000000040000000-0000000040200000", "2M", "rwxu", "Normal-WB", ""),
        ("0000000040200000-0000000040201000", "4K", "rwxu", "Normal-WB", "faults:access_flag"),
        ("0000000040400000-0000000040401000", "4K", "rw--", "Normal-WB", ""),
        ("0000000040401000-0000000040402000", "4K", "r---", "Normal-WB", ""),
        ("0000000040402000-0000000040403000", "4K", "rw--", "Normal-WB", "faults:address_size"),
        ("0000000040403000-0000000040410000", "4K", "rw--", "Normal-WB", ""),
    ]
    # The page above PS has a 41-bit HPA: the JSON member keeps its closing quote and separator (the buffer once
    # held 24 characters, cutting "hpa" at 11 hex digits).
    text = run("mappings", SCENARIO, "--stage", "arm64", "--json").stdout
    ranges = json.loads(text)["ranges"]
    assert ranges[6]["hpa"].startswith("0x100") and len(ranges[6]["hpa"]) == 13
    assert f'"hpa": "{ranges[6]["hpa"]}", "size"' in text
    assert run("mappings", SCENARIO, "--stage", "ept").returncode == 2


def test_read_through_the_stage_2():
    got = json.loads(run("read", SCENARIO, "--gpa", "0x40001000", "--len", "8", "--json").stdout)
    assert (got["outcome"], got["read"]) == ("ok", 8)
    got = json.loads(run("read", SCENARIO, "--gpa", "0x40200000", "--len", "8", "--json").stdout)
    assert (got["outcome"], got["read"], got["fault"]["esr_el2"]) == ("stage2_abort", 0, hex(DABT | 0x0B))


BASE = """arch: aarch64
memory_regions:
  - {gpa: 0x40000000, size: 0x200000, flags: 0x7, type: identical}
"""


DBM_BLOCK = BASE + """stage2:
  vtcr: VTCR
  edits:
    - {gpa: 0x40000000, level: 2, clear: 0x80, set: 0x8000000000000}
"""


def test_a_write_to_a_dirty_bit_modifier_block_with_hd(tmp_path):
    # 0x80623558 is the default with HA (bit 21) and HD (bit 22). The edit clears S2AP[1] (bit 7) of the 2 MiB
    # block at 0x40000000 and sets DBM (bit 51): writable-clean (Arm ARM D8.4.6). A read is allowed without the
    # write right; a write is allowed, the walk setting S2AP[1] (rights rwxu).
    path = write(tmp_path, DBM_BLOCK.replace("VTCR", "0x80623558"))
    got = gpa(path, 0x40000010, "read")
    assert (got["outcome"], got["rights"], got["level"]) == ("ok", "r-xu", 2)
    got = gpa(path, 0x40000010, "write")
    assert (got["outcome"], got["hpa"], got["rights"], got["level"]) == ("ok", "0x40000010", "rwxu", 2)
    # HA without HD (0x80223558): the same write is a Permission fault at level 2, DFSC 0b001110 with WnR.
    got = gpa(write(tmp_path, DBM_BLOCK.replace("VTCR", "0x80223558")), 0x40000010, "write")
    assert (got["fault"], got["esr_el2"]) == ("permission", hex(DABT | WNR | 0x0E))


def test_the_friendly_keys_make_the_vtcr_and_the_default_is_stated(tmp_path):
    # ipa_bits 48, start_level 0: T0SZ 16, SL0 2, PS 48 bits (the model's PA size): 0x80053510 | 0x3500 walk
    # attributes. 0x40000000 is level-0 entry 0, level-1 entry 1, level-2 entry 0: a block, 3 entries read.
    path = write(tmp_path, BASE + "stage2: {ipa_bits: 48, granule: 4K, start_level: 0}\n")
    got = gpa(path, 0x40000008, "read")
    assert (got["outcome"], got["level"], got["refs"]) == ("ok", 2, 3)
    # The IPA 2^47 is inside a 48-bit IPA space: a translation fault at level 0 for the missing entry, not for
    # the range (1 entry read).
    got = gpa(path, 1 << 47, "read")
    assert (got["fault"], got["level"], got["refs"]) == ("translation", 0, 1)
    # Without keys: 0x80023558, a 40-bit IPA starting at level 1.
    path = write(tmp_path, BASE)
    assert gpa(path, 0x40000008, "read")["refs"] == 2
    assert gpa(path, 1 << 40, "read")["level"] == 0


def test_what_an_aarch64_scenario_refuses(tmp_path):
    assert_bad_input(write(tmp_path, BASE + "stage2: {vtcr: 0x80023558, ipa_bits: 40}\n"), 4, 38,
                     "give VTCR_EL2 as vtcr (4:16) or as ipa_bits, granule and start_level, not both")
    assert_bad_input(write(tmp_path, BASE + "stage2: {granule: 8K}\n"), 4, 19, "granule: 4K, 16K or 64K")
    # TG0 (bits 15:14) 0b11 is reserved.
    assert_bad_input(write(tmp_path, BASE + "stage2: {vtcr: 0x8002f558}\n"), 4, 16, "is not a valid configuration")
    # 64 KiB, T0SZ 24, SL0 0b10: level 1 (shift 42) needs 43 bits at least: AArch64.S2InconsistentSL.
    assert_bad_input(write(tmp_path, BASE + "stage2: {vtcr: 0x80027598}\n"), 4, 16, "is not a valid configuration")
    # 16 KiB with 48 bits needs level 0 without concatenation, FEAT_LPA2's; the key says so.
    assert_bad_input(write(tmp_path, BASE + "stage2: {granule: 16K, ipa_bits: 48}\n"), 4, 34,
                     "start_level: level 0 with the 16 KiB granule needs FEAT_LPA2")
    assert_bad_input(write(tmp_path, BASE + "stage2: {granule: 64K, start_level: 0}\n"), 4, 37,
                     "start_level: level 0 with the 64 KiB granule does not exist without FEAT_LPA2")
    # The 64 KiB granule over 40 bits starts at level 2: there is no level-1 entry to edit (nor a level-0 one with
    # the default 4 KiB stage 2, which starts at level 1).
    assert_bad_input(write(tmp_path, BASE + "stage2:\n  granule: 64K\n  edits:\n    - {gpa: 0x40000000, level: 1, "
                                            "set: 1}\n"), 7, 32,
                     "level: 1 is above the level the stage 2 starts at, 2 (VTCR_EL2.SL0 with the 64 KiB granule)")
    assert_bad_input(write(tmp_path, BASE + "stage2:\n  edits:\n    - {gpa: 0x40000000, level: 0, set: 1}\n"), 6, 32,
                     "level: 0 is above the level the stage 2 starts at, 1 (VTCR_EL2.SL0 with the 4 KiB granule)")
    # A region of 4 KiB under the 64 KiB granule: the address space's page is the granule.
    assert_bad_input(write(tmp_path, "arch: aarch64\nstage2: {granule: 64K}\nmemory_regions:\n"
                                     "  - {gpa: 0x40000000, size: 0x1000, flags: 0x7, type: identical}\n"), 4, 6,
                     "base and size must be multiples of the second stage's page, 0x10000 bytes")
    # 0x180023558 is the default with DS (bit 32, FEAT_LPA2's 52-bit descriptors): refused, never read without it.
    assert_bad_input(write(tmp_path, BASE + "stage2: {vtcr: 0x180023558}\n"), 4, 16,
                     "VTCR_EL2 0x180023558 asks what is not modelled (SL0 3 with the 4 KiB granule, FEAT_TTST; or a "
                     "bit other than T0SZ, SL0, IRGN0, ORGN0, SH0, TG0, PS, VS, HA, HD and RES1 bit 31: bits "
                     "0x100000000)")
    # T0SZ 24 with SL0 0 (start at level 2): 40 - 21 = 19 bits at level 2, more than 16 concatenated tables.
    assert_bad_input(write(tmp_path, BASE + "stage2: {vtcr: 0x80023518}\n"), 4, 16, "is not a valid configuration")
    assert_bad_input(write(tmp_path, BASE + "stage2: {levels: 4}\n"), 4, 10, "levels: an EPT/NPT key")
    assert_bad_input(write(tmp_path, BASE + "stage2: {format: ept}\n"), 4, 18, "an aarch64 scenario's stage 2 is arm64")
    # VTCR_EL2.VS (bit 19) is 0 in the default 0x80023558: 8-bit VMIDs; with VS 16 bits.
    assert_bad_input(write(tmp_path, BASE + "stage2: {vmid: 0x100}\n"), 4, 16,
                     "vmid: 256 does not fit VTTBR_EL2.VMID (8 bits)")
    path = write(tmp_path, BASE + "stage2: {vmid: 0x100, vtcr: 0x800a3558}\n")
    assert gpa(path, 0x40000000, "read")["outcome"] == "ok"
    assert_bad_input(write(tmp_path, BASE + "cpu: {mode: 4level}\n"), 4, 7,
                     "an x86 cpu key: an aarch64 scenario's cpu takes sctlr_el1, tcr_el1")
    assert_bad_input(write(tmp_path, BASE + "stage2:\n  edits:\n    - {gpa: 0x40000000, level: 4, set: 1}\n"), 6, 32,
                     "level: the Arm ARM's levels are 0 to 3")
    # 0x80003560: PS 32 bits (0b000), T0SZ 32, SL0 1: a 4 GiB host fits, a bigger one reaches above the output
    # size.
    assert_bad_input(write(tmp_path, BASE + "host: {memory: 8G}\nstage2: {vtcr: 0x80003560}\n"), 4, 16,
                     "reaches above the output size (VTCR_EL2.PS: 32 bits)")


def test_what_an_x86_scenario_refuses(tmp_path):
    assert_bad_input(write(tmp_path, "stage2: {vtcr: 0x80023558}\n"), 1, 16,
                     "vtcr: an AArch64 stage-2 key, and the scenario is x86_64 (give arch: aarch64)")
    assert_bad_input(write(tmp_path, "stage2: {format: arm64}\n"), 1, 18, "format: arm64 is the AArch64 stage 2")
    assert_bad_input(write(tmp_path, "arch: sparc\n"), 1, 7, "arch (x86_64, aarch64 or riscv64): unknown value 'sparc'")
    # Level 0 is an Arm level only: the x86 levels stay 1 (PT) to 5.
    assert_bad_input(write(tmp_path, "stage2:\n  edits:\n    - {gpa: 0, level: 0, set: 1}\n"), 3, 23,
                     "level: levels are 1 (PT) to 5")


def test_the_64k_granule_scenario_translates_as_its_descriptors_say():
    # 0x40001234: level-2 index 2 is the 512 MiB block 0x400007fd; one entry read.
    got = gpa(SCENARIO_64K, 0x40001234, "fetch")
    assert (got["outcome"], got["hpa"], got["s2_page_size"], got["level"], got["refs"], got["rights"]) == \
        ("ok", "0x40001234", "0x20000000", 2, 1, "rwxu")
    # 0x60000008: level-2 index 3 -> level-3 table, index 0: the 64 KiB page 0x600007ff; two entries read.
    got = gpa(SCENARIO_64K, 0x60000008, "read")
    assert (got["outcome"], got["hpa"], got["s2_page_size"], got["level"], got["refs"]) == \
        ("ok", "0x60000008", "0x10000", 3, 2)
    # The device page: XN 0b10, Device-nGnRE (MemAttr 0b0001).
    got = gpa(SCENARIO_64K, 0x800fff8, "read")
    assert (got["hpa"], got["memory_type"], got["xn"], got["rights"]) == ("0x800fff8", "Device-nGnRE", 2, "rw--")
    # Device memory is Outer Shareable whatever SH says (B2.7.2, EffectiveShareability).
    assert got["attributes"] == {"type": "Device-nGnRE", "shareability": "outer"}
    text = run("translate", SCENARIO_64K, "--gpa", "0x60000008", "--access", "read").stdout
    assert text == ("gpa 0x60000008 -> hpa 0x60000008 (level-3 page, 0x10000-byte page, S2AP rw, XN 0b00, "
                    "MemAttr 0xf Normal-WB, rights rwxu; stage-2 attributes Normal, inner Write-Back, outer "
                    "Write-Back, Inner Shareable)\n")


def test_the_64k_granule_scenario_faults_with_arm_levels_and_hpfar():
    # AF clear at level 3: DFSC 0b001011; HPFAR_EL2 = IPA[47:12] << 4 whatever the granule: 0x80010 << 4.
    got = gpa(SCENARIO_64K, 0x80010010, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"]) == \
        (hex(DABT | 0x0B), "0x800100", "access_flag", 3)
    # S2AP 0b01: a write is a permission fault at level 3 with WnR, no HPFAR_EL2.
    got = gpa(SCENARIO_64K, 0x80020008, "write")
    assert (got["esr_el2"], got["fault"], got["level"]) == (hex(DABT | WNR | 0x0F), "permission", 3)
    assert "hpfar_el2" not in got
    # Bit 12 of a 64 KiB page descriptor is OA[48], at or above PS 48: an Address size fault at level 3.
    got = gpa(SCENARIO_64K, 0x8003fff8, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["fault"], got["level"]) == \
        (hex(DABT | 0x03), "0x8003f0", "address_size", 3)
    # Allocated RAM has XN 0b10: a fetch is an Instruction Abort, permission, level 3.
    assert gpa(SCENARIO_64K, 0x80000000, "fetch")["esr_el2"] == hex(IABT | 0x0F)
    # Level-2 index 1 (0x20000000) is invalid: translation fault at level 2.
    got = gpa(SCENARIO_64K, 0x20000000, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["level"]) == (hex(DABT | 0x06), "0x200000", 2)
    # 2^44 is beyond the 44-bit IPA: translation fault at level 0, HPFAR 2^44 >> 12 << 4 = 2^36.
    got = gpa(SCENARIO_64K, 1 << 44, "read")
    assert (got["esr_el2"], got["hpfar_el2"], got["level"], got["refs"]) == \
        (hex(DABT | 0x04), hex(1 << 36), 0, 0)


def test_the_64k_granule_scenario_exits_and_populates_whole_pages():
    assert gpa(SCENARIO_64K, 0x9000000, "write", "--size", "4")["outcome"] == "mmio"
    assert gpa(SCENARIO_64K, 0x8, "write")["outcome"] == "rom_write"
    # The lazy page at 0x90000000 is populated on first touch: 16 frames at once, the offset kept.
    got = gpa(SCENARIO_64K, 0x9000f008, "read")
    assert (got["outcome"], got["s2_page_size"], int(got["hpa"], 16) & 0xFFFF) == ("ok", "0x10000", 0xF008)


def test_the_64k_granule_scenario_mappings():
    # ROM read+execute (S2AP 0b01); the device page; the 512 MiB block and the page after it; the allocated
    # pages: one, the AF-clear one, the read-only one, the one whose OA[48] is set (the walk's Address size
    # fault). The lazy pages are not there until touched.
    assert mapping_rows(SCENARIO_64K) == [
        ("0000000000000000-0000000000010000", "64K", "r-xu", "Normal-WB", ""),
        ("0000000008000000-0000000008010000", "64K", "rw--", "Device-nGnRE", ""),
        ("0000000040000000-0000000060000000", "512M", "rwxu", "Normal-WB", ""),
        ("0000000060000000-0000000060010000", "64K", "rwxu", "Normal-WB", ""),
        ("0000000080000000-0000000080010000", "64K", "rw--", "Normal-WB", ""),
        ("0000000080010000-0000000080020000", "64K", "rw--", "Normal-WB", "faults:access_flag"),
        ("0000000080020000-0000000080030000", "64K", "r---", "Normal-WB", ""),
        ("0000000080030000-0000000080040000", "64K", "rw--", "Normal-WB", "faults:address_size"),
    ]


def test_the_16k_granule_from_the_friendly_keys(tmp_path):
    # granule 16K, ipa_bits 40 and no start_level: the level that needs no concatenation, 4 - ceil((40 - 14) /
    # 11) = 1 (SL0 = 3 - 1 = 2): VTCR_EL2 0x80000000 | PS 0b101 << 16 | TG0 0b10 << 14 | 0x3500 | 2 << 6 | 24
    # = 0x8005b598. Level 1 resolves bits 39:36 (16 entries), level 2 bits 35:25, level 3 bits 24:14; the 32 MiB
    # at 0x40000000 is one level-2 block, two entries read.
    path = write(tmp_path, "arch: aarch64\nstage2: {granule: 16K}\nmemory_regions:\n"
                           "  - {gpa: 0x40000000, size: 0x2004000, flags: 0x7, type: identical}\n")
    got = gpa(path, 0x41234567, "read")
    assert (got["outcome"], got["s2_page_size"], got["level"], got["refs"]) == ("ok", "0x2000000", 2, 2)
    got = gpa(path, 0x42003ffc, "read")
    assert (got["outcome"], got["s2_page_size"], got["level"], got["refs"]) == ("ok", "0x4000", 3, 3)
    rows = run("mappings", path, "--stage", "arm64").stdout.splitlines()[2:]
    assert [r.split()[3] for r in rows] == ["32M", "16K"]
