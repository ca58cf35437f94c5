"""RISC-V scenarios (arch: riscv64): the G-stage alone, through translate --gpa, read --gpa and mappings, and what
the loader refuses. Expected values are derived by hand from the RISC-V privileged spec (H extension, "Two-Stage
Address Translation", "Trap Cause Codes", "Hypervisor Trap Value Register"): a G-stage fault is a guest-page
fault taken to HS-mode with scause 20 (fetch), 21 (load) or 23 (store/AMO); stval is the guest virtual address,
which is the GPA since --gpa makes the access with the VS-stage Bare; htval is the GPA >> 2; htinst is 0 for an
explicit access. A PTE is V bit 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, PPN from bit 10, reserved bits 60:54, PBMT
62:61, N 63.

scenarios/riscv_gstage.yaml: Sv39x4 (GPA bits 40:0; root index GPA[40:30] in a 2048-entry root, then GPA[29:21],
GPA[20:12]); the boot ROM at 0x1000 (read, execute), the PLIC passed through at 0x0c000000 (read, write,
device), the UART as MMIO at 0x10000000, pass-through RAM 0x80000000-0x80201000 (read, write, execute),
allocated RAM 0x81000000-0x81010000 (read, write), an execute-only page at 0x81010000; Svade (adue false),
menvcfg.PBMTE set, the HS-level sstatus.MXR clear; level-0 edits: W cleared at 0x81001000, A at 0x81002000, D at
0x81003000, U at 0x81004000, bit 54 set at 0x81005000, R cleared at 0x81006000."""
import json

import pytest

from test_arm64_scenarios import ROOT, gpa, run
from test_scenarios import assert_bad_input, write

SCENARIO = ROOT / "scenarios" / "riscv_gstage.yaml"
FETCH_GPF, LOAD_GPF, STORE_GPF = 20, 21, 23


def trap(got):
    return got["outcome"], got["scause"], got["stval"], got["htval"], got["htinst"], got["fault"], got["level"]


def test_a_megapage_of_pass_through_ram():
    # 0x80000123: root entry GPA[40:30] = 2 points to a table; its entry GPA[29:21] = 0 is a level-1 leaf (the
    # aligned 2 MiB of the identical region): PTE PPN 0x80000 << 10 = 0x20000000 | D A U X W R V (0xdf); two PTEs
    # read; the library's leaf level is the spec's level + 1.
    got = gpa(SCENARIO, 0x80000123, "read")
    assert (got["outcome"], got["hpa"], got["s2_page_size"], got["level"], got["leaf_level"], got["pte"]) == \
        ("ok", "0x80000123", "0x200000", 1, 2, "0x200000df")
    assert (got["rights"], got["memory_type"], got["refs"], got["populated"]) == ("rwx-", "pma", 2, False)
    text = run("translate", SCENARIO, "--gpa", "0x80000123", "--access", "read").stdout
    assert text == "gpa 0x80000123 -> hpa 0x80000123 (level-1 PTE 0x200000df, 0x200000-byte page, rights rwx-, " \
                   "PBMT pma)\n"
    # 0x80200000, past the megapage: a level-0 PTE, PPN 0x80200 << 10 = 0x20080000 | 0xdf, three PTEs read.
    got = gpa(SCENARIO, 0x80200000, "write")
    assert (got["outcome"], got["hpa"], got["level"], got["pte"], got["refs"]) == \
        ("ok", "0x80200000", 0, "0x200800df", 3)


def test_device_memory_is_pbmt_io_and_never_executable():
    # The PLIC's leaf: PPN 0xc000 << 10 = 0x3000000 | D A U W R V (0xd7) | PBMT IO (2 << 61).
    got = gpa(SCENARIO, 0xC000010, "read")
    assert (got["outcome"], got["hpa"], got["pte"], got["memory_type"], got["rights"]) == \
        ("ok", "0xc000010", "0x40000000030000d7", "io", "rw--")
    # No X: a fetch guest-page fault, scause 20, htval 0xc000010 >> 2 = 0x3000004.
    assert trap(gpa(SCENARIO, 0xC000010, "fetch")) == \
        ("guest_page_fault", FETCH_GPF, "0xc000010", "0x3000004", "0x0", "permission", 0)


def test_a_store_to_a_page_without_w():
    # W cleared at 0x81001000: a store to 0x81001008 is scause 23, stval the address, htval 0x81001008 >> 2 =
    # 0x20400402, htinst 0 (an explicit access).
    got = gpa(SCENARIO, 0x81001008, "write")
    assert trap(got) == ("guest_page_fault", STORE_GPF, "0x81001008", "0x20400402", "0x0", "permission", 0)
    assert got["refs"] == 3 and "hpa" not in got
    text = run("translate", SCENARIO, "--gpa", "0x81001008", "--access", "write").stdout
    assert text.startswith("gpa 0x81001008: guest-page fault, scause 23, stval 0x81001008, htval 0x20400402, "
                           "htinst 0x0 (permission at level 0, PTE ")
    # A load there still translates: R remains.
    got = gpa(SCENARIO, 0x81001008, "read")
    assert (got["outcome"], got["rights"], got["level"]) == ("ok", "r---", 0)


def test_svade_faults_on_a_and_d_clear():
    # A clear: every access faults under Svade (load: scause 21, htval 0x81002000 >> 2 = 0x20400800).
    assert trap(gpa(SCENARIO, 0x81002000, "read")) == \
        ("guest_page_fault", LOAD_GPF, "0x81002000", "0x20400800", "0x0", "accessed_dirty", 0)
    # D clear: a load translates, a store faults (scause 23, htval 0x81003000 >> 2 = 0x20400c00).
    assert gpa(SCENARIO, 0x81003000, "read")["outcome"] == "ok"
    assert trap(gpa(SCENARIO, 0x81003000, "write")) == \
        ("guest_page_fault", STORE_GPF, "0x81003000", "0x20400c00", "0x0", "accessed_dirty", 0)


def test_svadu_sets_a_and_d_instead(tmp_path):
    # adue true (menvcfg.ADUE, Svadu): the same leaves translate for a load and a store.
    path = write(tmp_path, SCENARIO.read_text().replace("adue: false", "adue: true"))
    assert gpa(path, 0x81002000, "read")["outcome"] == "ok"
    assert gpa(path, 0x81003000, "write")["outcome"] == "ok"


def test_u_clear_reserved_bits_and_w_without_r():
    # U clear: G-stage accesses are U-mode ones, so even a load faults (htval 0x81004000 >> 2 = 0x20401000).
    assert trap(gpa(SCENARIO, 0x81004000, "read")) == \
        ("guest_page_fault", LOAD_GPF, "0x81004000", "0x20401000", "0x0", "permission", 0)
    # Bit 54 (reserved, bits 60:54) and W without R (reserved encoding): guest-page faults, not access faults.
    assert trap(gpa(SCENARIO, 0x81005000, "read")) == \
        ("guest_page_fault", LOAD_GPF, "0x81005000", "0x20401400", "0x0", "reserved", 0)
    assert trap(gpa(SCENARIO, 0x81006000, "read")) == \
        ("guest_page_fault", LOAD_GPF, "0x81006000", "0x20401800", "0x0", "reserved", 0)


def test_execute_only_pages_and_hs_mxr(tmp_path):
    # X only: a fetch translates; a load faults with the HS-level sstatus.MXR clear (htval 0x81010000 >> 2 =
    # 0x20404000) and translates with it set.
    assert gpa(SCENARIO, 0x81010000, "fetch")["rights"] == "--x-"
    assert trap(gpa(SCENARIO, 0x81010000, "read")) == \
        ("guest_page_fault", LOAD_GPF, "0x81010000", "0x20404000", "0x0", "permission", 0)
    path = write(tmp_path, SCENARIO.read_text().replace("hs_mxr: false", "hs_mxr: true"))
    assert gpa(path, 0x81010000, "read")["outcome"] == "ok"


def test_addresses_outside_the_tables():
    # GPA bit 41 set: above Sv39x4's 41 bits, a guest-page fault without a PTE read (refs 0), htval 2^41 >> 2.
    got = gpa(SCENARIO, 1 << 41, "read")
    assert trap(got) == ("guest_page_fault", LOAD_GPF, "0x20000000000", "0x8000000000", "0x0", "translation", 2)
    assert got["refs"] == 0
    # 0x40000000: root entry 1 is not valid: the fault is at the root (level 2), one PTE read.
    got = gpa(SCENARIO, 0x40000000, "read")
    assert trap(got) == ("guest_page_fault", LOAD_GPF, "0x40000000", "0x10000000", "0x0", "translation", 2)
    assert (got["entry"], got["refs"]) == ("0x0", 1)


def test_mmio_and_rom_become_exits():
    got = gpa(SCENARIO, 0x10000000, "write")
    assert (got["outcome"], got["fault_gpa"], got["write"]) == ("mmio", "0x10000000", True)
    assert gpa(SCENARIO, 0x1000, "write")["outcome"] == "rom_write"


def test_hgatp_as_written_selects_sv48x4(tmp_path):
    # hgatp 0x9000500000000000: MODE 9 (Sv48x4, GPA bits 49:0), VMID 5 (bits 57:44), PPN 0. GPA 2^41 is inside
    # its width now: root index GPA[49:39] = 4 is not valid, so the fault is at the root (level 3), one PTE read.
    text = SCENARIO.read_text().replace("format: sv39x4\n  vmid: 1", "hgatp: 0x9000500000000000")
    got = gpa(write(tmp_path, text), 1 << 41, "read")
    assert trap(got) == ("guest_page_fault", LOAD_GPF, "0x20000000000", "0x8000000000", "0x0", "translation", 3)
    assert got["refs"] == 1
    # The megapage is a level-1 leaf under a four-level walk: three PTEs read.
    got = gpa(write(tmp_path, text), 0x80000123, "read")
    assert (got["outcome"], got["level"], got["refs"]) == ("ok", 1, 3)


def test_read_gpa_stops_at_the_guest_page_fault():
    # 16 bytes from 0x81001ff8: the 8 of the page without W are read (a load), then A clear at 0x81002000 stops
    # the read with that page's load guest-page fault (htval 0x20400800).
    result = run("read", SCENARIO, "--gpa", "0x81001ff8", "--len", "16", "--json")
    assert result.returncode == 1, result.stderr
    got = json.loads(result.stdout)
    assert (got["outcome"], got["read"], got["bytes"]) == ("guest_page_fault", 8, "00" * 8)
    assert (got["fault"]["scause"], got["fault"]["htval"]) == (LOAD_GPF, "0x20400800")


def test_mappings_lists_the_g_stage():
    result = run("mappings", SCENARIO, "--stage", "gstage", "--json")
    assert result.returncode == 0, result.stderr
    ranges = {r["gpa"]: r for r in json.loads(result.stdout)["ranges"]}
    assert (ranges["0xc000000"]["memory_type"], ranges["0xc000000"]["rights"]) == ("io", "rw--")
    assert (ranges["0x80000000"]["page_size"], ranges["0x80000000"]["hpa"]) == ("0x200000", "0x80000000")
    # The leaves every access faults through although V is set: A clear under Svade, bit 54, W without R.
    faults = {g: r["fault"] for g, r in ranges.items() if "fault" in r}
    assert faults == {"0x81002000": "accessed_dirty", "0x81005000": "reserved", "0x81006000": "reserved"}
    assert ranges["0x81004000"]["rights"] == "----"  # U clear: nothing granted
    result = run("mappings", SCENARIO, "--stage", "ept")
    assert result.returncode == 2 and "its second stage is gstage" in result.stderr


def test_what_is_not_wired_yet_is_refused():
    result = run("read", SCENARIO, "--gva", "0x1000", "--len", "4")
    assert result.returncode == 2 and "the machine is riscv64: read --gva reads x86 guests only" in result.stderr
    result = run("mappings", SCENARIO, "--stage", "guest")
    assert result.returncode == 2 and "--stage gstage lists its G-stage" in result.stderr
    # The x86 backends refuse a riscv64 scenario by name, pointing at its backend (it said "an aarch64 scenario"
    # before). Any existing file as --image: the refusal comes before the image is read, in a build without the
    # images too.
    result = run("hw", "run", SCENARIO, "--backend", "qemu", "--image", SCENARIO)
    assert result.returncode == 2 and "a riscv64 scenario runs on --backend qemu-riscv64" in result.stderr
    result = run("hw", "run", SCENARIO, "--backend", "qemu-aarch64", "--image", SCENARIO)
    assert result.returncode == 2 and "runs aarch64 scenarios (arch: aarch64); this one is riscv64" in result.stderr


BASE = "arch: riscv64\nhost: {memory: 4G}\n"
REGION = "memory_regions:\n  - {gpa: 0x80000000, size: 0x1000, flags: 0x3, type: alloc}\n"


@pytest.mark.parametrize("text, line, column, message", [
    # Line 3 is stage2; a switch the scenario must give is asked there, naming what makes it matter.
    (BASE + "stage2:\n  format: sv39x4\n  hgatp: 0x8000000000000000\n", 5, 10,
     "give hgatp.MODE as format (4:11) or in hgatp, not both"),
    (BASE + "stage2:\n  vmid: 1\n", 3, 1, "names its G-stage mode: format sv39x4, sv48x4 or sv57x4, or hgatp"),
    # PPN 4 (the root at 0x4000): the simulator places the root.
    (BASE + "stage2:\n  hgatp: 0x8000000000000004\n", 4, 10, "PPN 0x4 names the root table"),
    # MODE 5 is reserved.
    (BASE + "stage2:\n  hgatp: 0x5000000000000000\n", 4, 10, "a reserved MODE"),
    (BASE + "stage2:\n  hgatp: 0\n", 4, 10, "MODE Bare turns the G-stage off"),
    (BASE + "stage2:\n  hgatp: 0x8000100000000000\n  vmid: 2\n", 5, 9, "hgatp (4:10) gives the VMID already"),
    # VMIDLEN 14: 0x4000 needs 15 bits.
    (BASE + "stage2:\n  format: sv39x4\n  vmid: 0x4000\n", 5, 9, "does not fit hgatp.VMID (14 bits)"),
    (BASE + "stage2:\n  format: sv39x4\n  edits:\n    - {gpa: 0x80000000, level: 0, clear: 0x40}\n" + REGION, 3,
     1, "give adue (menvcfg.ADUE: true, Svadu, the walk sets A and D; false, Svade, it faults): an edit clears A or D "
     "at 6:8"),
    (BASE + "stage2:\n  format: sv39x4\n" + REGION.replace("0x3", "0x4"), 3, 1,
     "give hs_mxr (the HS-level sstatus.MXR: a load may read an execute-only page): an execute-only page at 6:6"),
    (BASE + "stage2:\n  format: sv39x4\n" + REGION.replace("0x3", "0x13"), 3, 1, "give pbmt"),
    (BASE + "stage2:\n  format: sv39x4\n  edits:\n    - {gpa: 0x80000000, level: 0, set: 0x8000000000000000}\n" +
     REGION, 3, 1, "give napot"),
    # Sv39x4 has levels 0 to 2.
    (BASE + "stage2:\n  format: sv39x4\n  edits:\n    - {gpa: 0x80000000, level: 3, set: 0x100}\n" + REGION, 6,
     32, "levels of Sv39x4 are 0 (the 4 KiB page's PTE) to 2 (the root)"),
    (BASE + "stage2:\n  format: arm64\n", 4, 11, "a riscv64 scenario's G-stage is sv39x4, sv48x4 or sv57x4"),
    (BASE + "stage2:\n  format: sv39x4\n  vtcr: 0x80023558\n", 5, 9,
     "vtcr: an AArch64 stage-2 key, and the scenario is riscv64 (give arch: aarch64)"),
    (BASE + "stage2:\n  format: sv39x4\n  levels: 4\n", 5, 3,
     "levels: an EPT/NPT key, and the scenario is riscv64 (give arch: x86_64)"),
    # vsatp MODE 5 is reserved; a paged vsatp needs the privilege, then hs_mxr and napot (the walk reads them).
    (BASE + "stage2:\n  format: sv39x4\ncpu:\n  vsatp: 0x5000000000000000\n", 6, 10, "vsatp: 0x5000000000000000: a "
     "reserved MODE or Bare with fields set"),
    (BASE + "stage2:\n  format: sv39x4\ncpu:\n  vsatp: 0x8000000000080001\n", 6, 10,
     "give cpu.privilege (vs or vu)"),
    (BASE + "stage2:\n  format: sv39x4\ncpu:\n  vsatp: 0x8000000000080001\n  privilege: vu\n", 3, 1,
     "give hs_mxr (the HS-level sstatus.MXR, which the VS-stage walk reads too)"),
    (BASE + "stage2:\n  format: sv39x4\ncpu:\n  privilege: hs\n", 6, 14, "privilege: unknown value 'hs'"),
    (BASE + "stage2:\n  format: sv39x4\ncpu:\n  cr3: 0\n", 6, 3, "an x86 cpu key: a riscv64 scenario's cpu takes"),
    (BASE + "stage2:\n  format: sv39x4\nguest:\n  mappings:\n    - {gva: 0, gpa: 0x80000000, size: 4K}\n", 7, 8,
     "guest.mappings, guest.page_table_region"),
])
def test_what_a_riscv64_scenario_refuses(tmp_path, text, line, column, message):
    assert_bad_input(write(tmp_path, text), line, column, message)


def test_what_an_x86_scenario_refuses(tmp_path):
    assert_bad_input(write(tmp_path, "stage2:\n  hgatp: 0x8000000000000000\n"), 2, 10,
                     "hgatp: a RISC-V G-stage key, and the scenario is x86_64 (give arch: riscv64)")
    assert_bad_input(write(tmp_path, "stage2:\n  adue: true\n"), 2, 9,
                     "adue: a RISC-V G-stage key, and the scenario is x86_64 (give arch: riscv64)")
    assert_bad_input(write(tmp_path, "stage2:\n  format: sv48x4\n"), 2, 11,
                     "format: a RISC-V G-stage mode, and the scenario is x86_64 (give arch: riscv64)")
    assert_bad_input(write(tmp_path, "arch: aarch64\nstage2:\n  hgatp: 0x8000000000000000\n"), 3, 10,
                     "hgatp: a RISC-V G-stage key, and the scenario is aarch64 (give arch: riscv64)")


# --- the VS-stage (translate --gva) -------------------------------------------------------------------------------
# scenarios/riscv_vs.yaml: vsatp Sv39 (VA bits 38:0; VPN[2] = VA[38:30], VPN[1] = VA[29:21], VPN[0] = VA[20:12];
# PTE address = table + VPN[i] * 8), root 0x80001000 -> level-1 table 0x80002000 -> level-0 table 0x80003000 for
# VA 0x400000-0x5fffff (level-1 entry 2), a level-1 entry 3 (VA 0x600000) naming a table at GPA 0x90001000 the
# G-stage does not map. The G-stage maps RAM 0x80000000-0x80400000 in two 2 MiB leaves (root index 2, level-1
# index 0 or 1: two G-stage PTEs read per translation), so GPA = HPA there. A VS-stage page fault is taken to
# VS-mode: scause 12 fetch, 13 load, 15 store; stval the VA. A guest-page fault on a VS-stage PTE read has htinst
# 0x3000 (the spec's pseudoinstruction for an implicit 64-bit read), 0 on the final access.
VS = ROOT / "scenarios" / "riscv_vs.yaml"
LOAD_PF, STORE_PF = 13, 15


def gva(path, address, access):
    result = run("translate", path, "--gva", hex(address), "--access", access, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_vu_load_through_three_levels():
    # VA 0x400123: VPN[2] 0, VPN[1] 2, VPN[0] 0: level-0 PTE 0x200040d7 (PPN 0x80010, D A U W R V); GPA
    # 0x80010123 = HPA. References: 3 VS-stage PTEs, each behind 2 G-stage PTEs, and 2 for the final GPA: 11.
    got = gva(VS, 0x400123, "read")
    assert (got["outcome"], got["gpa"], got["hpa"], got["level"], got["pte"], got["rights"]) == \
        ("ok", "0x80010123", "0x80010123", 0, "0x200040d7", "rw-u")
    assert (got["guest_page_size"], got["s2_page_size"], got["refs"], got["ad_writes"]) == ("0x1000", "0x200000", 11, 0)
    assert got["registers"]["vsatp"] == {"value": "0x8000100000080001", "from": "scenario"}
    text = run("translate", VS, "--gva", "0x400123", "--access", "read").stdout
    assert text == ("gva 0x400123: read of 1 byte(s) in VU-mode, vsatp Sv39\n-> gpa 0x80010123 -> hpa 0x80010123 "
                    "(VS-stage level-0 PTE 0x200040d7 of 0x1000 bytes, rights rw-u; G-stage leaf of 0x200000 bytes)\n")


def test_vs_stage_page_faults():
    # A store to the read-only page (level-0 entry 1, PTE 0x20004453: no W): store page fault, 9 references.
    got = gva(VS, 0x401008, "write")
    assert (got["outcome"], got["scause"], got["stval"], got["refs"]) == ("page_fault", STORE_PF, "0x401008", 9)
    assert "htval" not in got
    # VA 0x8000000000: bit 39 set and bits 63:40 clear, not a sign extension of bit 38: a load page fault before
    # any PTE is read.
    got = gva(VS, 0x8000000000, "read")
    assert (got["outcome"], got["scause"], got["stval"], got["refs"]) == ("page_fault", LOAD_PF, "0x8000000000", 0)


def test_vs_mode_and_sum(tmp_path):
    # In VS-mode a load from a U page faults unless vsstatus.SUM (bit 18) is set.
    text = VS.read_text().replace("privilege: vu", "privilege: vs")
    got = gva(write(tmp_path, text), 0x400123, "read")
    assert (got["outcome"], got["scause"], got["stval"], got["privilege"]) == ("page_fault", LOAD_PF, "0x400123", "vs")
    got = gva(write(tmp_path, text.replace("privilege: vs", "privilege: vs\n  vsstatus: 0x40000")), 0x400123, "read")
    assert (got["outcome"], got["registers"]["vsstatus"]["value"]) == ("ok", "0x40000")


def test_guest_page_faults_of_the_two_stages():
    # The final GPA 0x90000000 (level-0 entry 4) is in no region: a load guest-page fault on the final access,
    # htval 0x90000000 >> 2 = 0x24000000, htinst 0; the G-stage walk stops at its level-1 entry 0x80 (GPA[29:21]):
    # 9 + 2 references.
    got = gva(VS, 0x404000, "read")
    assert (got["outcome"], got["scause"], got["stval"], got["htval"], got["htinst"], got["vs_pte"]) == \
        ("guest_page_fault", LOAD_GPF, "0x404000", "0x24000000", "0x0", False)
    assert (got["fault_gpa"], got["refs"]) == ("0x90000000", 11)
    # VA 0x600000: level-1 entry 3 names a table at GPA 0x90001000; reading its entry 0 is refused by the G-stage:
    # htval 0x90001000 >> 2 = 0x24000400, htinst 0x3000 (an implicit PTE read); the cause follows the original
    # access, 21 for a load and 23 for a store. References: 2 VS PTEs (3 each) and 2 G-stage PTEs: 8.
    for access, cause in (("read", LOAD_GPF), ("write", STORE_GPF)):
        got = gva(VS, 0x600000, access)
        assert (got["outcome"], got["scause"], got["htval"], got["htinst"], got["vs_pte"], got["refs"]) == \
            ("guest_page_fault", cause, "0x24000400", "0x3000", True, 8)


def test_lazy_pages_and_mmio_through_the_vs_stage():
    # Level-0 entry 2 maps the lazy region: its page is populated on the first touch and the walk retried, one
    # G-stage level more (a 4 KiB G-stage leaf): 9 + 3 references.
    got = gva(VS, 0x402010, "read")
    assert (got["outcome"], got["gpa"], got["s2_page_size"], got["refs"]) == ("ok", "0x81000010", "0x1000", 12)
    # Level-0 entry 3 maps the UART: a store is the MMIO exit, keeping the guest-page fault's CSRs (scause 23,
    # htval 0x10000000 >> 2); the G-stage stops at its root entry 0: 9 + 1 references.
    got = gva(VS, 0x403000, "write")
    assert (got["outcome"], got["scause"], got["htval"], got["fault_gpa"], got["write"], got["refs"]) == \
        ("mmio", STORE_GPF, "0x4000000", "0x10000000", True, 10)


def test_gva_options_of_other_architectures_are_refused():
    result = run("translate", VS, "--gva", "0x400123", "--access", "read", "--cpl", "3")
    assert result.returncode == 2 and "--cpl does not apply to a riscv64 scenario" in result.stderr
    result = run("translate", VS, "--gva", "0x400ffc", "--access", "read", "--size", "8")
    assert result.returncode == 2 and "cross a 4 KiB boundary: two translations, not modelled on riscv64" in \
        result.stderr
