"""RISC-V PMP (the pmp key of an arch: riscv64 scenario) through translate --gva and --gpa, and what the loader
refuses. Expected values derived by hand from the RISC-V privileged spec ("Physical Memory Protection"; H
extension "Trap Cause Codes", "Hypervisor Trap Value Register", htinst): PMP checks every access of a VS-mode
guest and every implicit PTE access of both stages as an S-mode access; a refusal is an access fault of the
original access type, scause 1 (fetch), 5 (load) or 7 (store/AMO), taken to HS-mode with stval the guest virtual
address, htval 0 (written only for guest-page faults) and htinst 0.

scenarios/riscv_pmp.yaml: riscv_vs.yaml's machine with vsatp Sv39 in VS-mode, level-0 tables at 0x80003000 (VA
0x400000) and 0x80004000 (VA 0x600000), RAM passed through (GPA = HPA) at 0x80000000, a lazy region at 0x81000000.
PMP: 0 the page 0x80011000 read-only, 1 the table page 0x80004000 with no rights, 2 the G-stage's level-0 table
for GPA 0x81000000 (host 0x53336000) with no rights, 3 everything RWX."""
import pytest

from test_arm64_scenarios import ROOT, gpa
from test_riscv_scenarios import gva
from test_scenarios import assert_bad_input, write

PMP = ROOT / "scenarios" / "riscv_pmp.yaml"
FETCH_AF, LOAD_AF, STORE_AF = 1, 5, 7


def access_fault(got):
    assert got["outcome"] == "access_fault", got
    return got["scause"], got["stval"], got["htval"], got["htinst"], got["vs_pte"], got["fault_gpa"]


def test_the_final_access_needs_pmp_s_right():
    # VA 0x401000 -> GPA = HPA 0x80011000, entry 0 (R only): a load passes, a store is scause 7 on the final access.
    assert gva(PMP, 0x401000, "read")["hpa"] == "0x80011000"
    assert access_fault(gva(PMP, 0x401008, "write")) == (STORE_AF, "0x401008", "0x0", "0x0", False, "0x80011008")
    # VA 0x400000 -> 0x80010000: only entry 3 matches: allowed.
    assert gva(PMP, 0x400000, "write")["outcome"] == "ok"


def test_a_vs_stage_pte_read_pmp_refuses():
    # VA 0x600000: the level-0 PTE at GPA = HPA 0x80004000 (VPN[0] 0) matches entry 1, no R: the read fails, the
    # cause the original access's (load 5, store 7, fetch 1), the GPA the PTE's.
    assert access_fault(gva(PMP, 0x600000, "read")) == (LOAD_AF, "0x600000", "0x0", "0x0", True, "0x80004000")
    assert access_fault(gva(PMP, 0x600000, "write"))[0] == STORE_AF
    assert access_fault(gva(PMP, 0x600000, "fetch"))[0] == FETCH_AF


def test_a_g_stage_pte_read_pmp_refuses():
    # VA 0x402000 -> GPA 0x81000000, whose G-stage walk reads its level-0 PTE from the table entry 2 covers.
    assert access_fault(gva(PMP, 0x402000, "read")) == (LOAD_AF, "0x402000", "0x0", "0x0", False, "0x81000000")
    # translate --gpa makes the access with the VS-stage Bare: stval is the GPA.
    got = gpa(PMP, 0x81000000, "write")
    assert (got["outcome"], got["scause"], got["stval"], got["htval"], got["htinst"]) == \
        ("access_fault", STORE_AF, "0x81000000", "0x0", "0x0")


def test_without_pmp_the_same_accesses_succeed(tmp_path):
    text = PMP.read_text()
    path = tmp_path / "no_pmp.yaml"
    path.write_text(text[:text.index("pmp:\n")] + text[text.index("guest:\n"):])
    for address, access in ((0x401008, "write"), (0x600000, "read"), (0x402000, "read")):
        assert gva(path, address, access)["outcome"] == "ok"


RV = "arch: riscv64\nstage2:\n  format: sv39x4\npmp:\n"


@pytest.mark.parametrize("text, line, column, message", [
    (RV + "  - {cfg: 0x1a, addr: 0}\n", 5, 6, "R=0 with W=1 is reserved"),
    (RV + "  - {cfg: 0x7f, addr: 0}\n", 5, 6, "bits 6:5 are WARL zero"),
    (RV + "  - {cfg: 0x1f}\n", 5, 6, "needs addr"),
    (RV + "  - {cfg: 0x1f, addr: 0x40000000000000}\n", 5, 23, "above the largest allowed value"),
    (RV + "  - {cfg: 0x1f, addr: 0, r: true}\n", 5, 6, "one of the two"),
    (RV + "  - {mode: napot, base: 0x1000, size: 0x1800}\n", 5, 6, "a power of two of 8 bytes or more"),
    (RV + "  - {mode: napot, base: 0x1800, size: 0x1000}\n", 5, 6, "base aligned to it"),
    (RV + "  - {mode: na4, base: 0x1000, size: 8}\n", 5, 6, "size 4"),
    (RV + "  - {mode: tor, base: 0x1000, size: 8}\n", 5, 6, "names its region once"),
    (RV + "  - {mode: tor, top: 0x1002}\n", 5, 6, "a multiple of 4"),
    (RV + "  - {mode: tor, top: 0x1000, colour: red}\n", 5, 30, "unknown key 'colour'"),
    (RV + "  - {mode: cone}\n", 5, 12, "unknown value 'cone'"),
    (RV + "  []\n", 4, 1, "an empty list"),
])
def test_what_a_pmp_entry_refuses(tmp_path, text, line, column, message):
    assert_bad_input(write(tmp_path, text), line, column, message)


def test_pmp_belongs_to_riscv64(tmp_path):
    assert_bad_input(write(tmp_path, "pmp:\n  - {cfg: 0x1f, addr: 0}\n"), 1, 1,
                     "pmp: the PMP of a RISC-V hart's M-mode, and the scenario is x86_64 (give arch: riscv64)")
    assert_bad_input(write(tmp_path, "arch: aarch64\npmp:\n  - {cfg: 0x1f, addr: 0}\n"), 2, 1,
                     "and the scenario is aarch64")


ENTRY0 = "  - {mode: napot, base: 0x80011000, size: 0x1000, r: true}\n"


def with_entry0(tmp_path, entry, mseccfg=None):
    """riscv_pmp.yaml with PMP entry 0 (the 4 KiB at 0x80011000: pmpaddr 0x200045ff) as given, and mseccfg."""
    text = PMP.read_text()
    assert ENTRY0 in text
    text = text.replace(ENTRY0, f"  - {entry}\n")
    if mseccfg is not None:
        text = text.replace("pmp:\n", f"mseccfg: {mseccfg}\npmp:\n", 1)
    path = tmp_path / "smepmp.yaml"
    path.write_text(text)
    return path


def test_smepmp_mml_reads_the_cfg_bits_by_its_table(tmp_path):
    # Smepmp's "Bits on pmpcfg register" table, S/U column. L=1 R W X (cfg 0x9f with NAPOT): without MML S/U get
    # R, W and X (L binds M-mode too); with MML (mseccfg bit 0) a locked shared data region, read only on both:
    # a store is an access fault (scause 7), a load passes.
    locked = "{cfg: 0x9f, addr: 0x200045ff}"
    assert gva(with_entry0(tmp_path, locked), 0x401008, "write")["outcome"] == "ok"
    path = with_entry0(tmp_path, locked, "0x1")
    assert access_fault(gva(path, 0x401008, "write"))[:4] == (STORE_AF, "0x401008", "0x0", "0x0")
    assert gva(path, 0x401008, "read")["outcome"] == "ok"
    # L=0 R=0 W=1 X=0 (cfg 0x1a): reserved without MML, refused at its entry; with MML a shared data region,
    # read-only for S/U. MMWP (bit 1) and RLB (bit 2) change nothing for S and U.
    line = PMP.read_text().splitlines().index(ENTRY0.rstrip("\n")) + 1  # the entry's first key: column 6
    assert_bad_input(with_entry0(tmp_path, "{cfg: 0x1a, addr: 0x200045ff}"), line, 6,
                     "R=0 with W=1 is reserved (the privileged spec) unless mseccfg.MML (Smepmp) is set")
    path = with_entry0(tmp_path, "{cfg: 0x1a, addr: 0x200045ff}", "0x7")
    assert access_fault(gva(path, 0x401008, "write"))[0] == STORE_AF
    assert gva(path, 0x401008, "read")["outcome"] == "ok"


def test_what_mseccfg_refuses(tmp_path):
    assert_bad_input(write(tmp_path, "arch: riscv64\nstage2:\n  format: sv39x4\nmseccfg: 1\n"), 4, 1,
                     "mseccfg: Smepmp's configuration of a PMP, and the scenario gives no pmp")
    assert_bad_input(write(tmp_path, RV.replace("pmp:\n", "mseccfg: 8\npmp:\n") + "  - {cfg: 0x1f, addr: 0}\n"),
                     4, 10, "above the largest allowed value 0x7")
    assert_bad_input(write(tmp_path, "mseccfg: 1\n"), 1, 1,
                     "mseccfg: the PMP of a RISC-V hart's M-mode, and the scenario is x86_64 (give arch: riscv64)")
