"""The AArch64 image with the guest's stage 1 on (tests/hw/a64_s1_cases.py): each case's stage-1 and stage-2
tables built at EL2, the access made at EL0 or EL1 (LDTR/STTR when unprivileged), and the line the CPU's
outcome gives (ESR_EL1/FAR_EL1 for a stage-1 abort taken to the image's EL1 vectors, ESR_EL2/FAR_EL2/HPFAR_EL2
for a stage-2 abort, S1PTW included) must be the one derived by hand from the Arm ARM and the one
nestwalk-hw-sim prints from the library's walk (nw_arm64_walk) for the same blob, up to the rows of
hw/DEVIATIONS.md, each proven here to still happen. Seeded random cases compare QEMU with the library."""
import json
import os
import random
import re
import subprocess

import pytest

from test_hw_aarch64 import (ROOT, agrees, check_hand, hw_run, image_path, pytestmark,  # noqa: F401
                             qemu_aarch64, run_qemu, simulate)
import a64_s1_cases  # noqa: E402 (tests/hw, on the path test_hw_aarch64 puts it)
from s2_oracle import FULL, image_refuses, sim_refuses  # noqa: E402

RANDOM_COUNT = 20000 if FULL else 2000
SEED = 20261209


def test_hand_cases_are_what_the_arm_arm_says_on_qemu_and_in_the_library():
    check_hand(a64_s1_cases.HAND)


@pytest.mark.parametrize("row", sorted(a64_s1_cases.DEVIATION_CASES))
def test_every_listed_stage1_deviation_still_happens(row):
    case, arm_arm, observed = a64_s1_cases.DEVIATION_CASES[row]
    assert simulate([case])[case.id] == arm_arm
    assert run_qemu([case])[case.id] == observed


def test_random_stage1_cases_on_qemu_agree_with_the_library():
    cases = a64_s1_cases.random_cases(SEED, RANDOM_COUNT)
    qemu, library = run_qemu(cases), simulate(cases)
    assert len(qemu) == len(library) == len(cases)
    differ, explained = [], {}
    for c in cases:
        if agrees(library[c.id], qemu[c.id]):
            continue
        rows = a64_s1_cases.explaining_rows(library[c.id], qemu[c.id])
        if rows is None:
            differ.append(f"case {c.id} {c}: QEMU {qemu[c.id]!r}, library {library[c.id]!r}")
        for row in rows or ():
            explained[row] = explained.get(row, 0) + 1
    assert not differ, "\n".join(differ[:10])
    assert set(explained) <= set(a64_s1_cases.DEVIATION_CASES)
    kinds = {line.split()[0] + (line.split()[1][-2:] if line.split()[0] in ("abort", "exc") else "")
             for line in library.values()}
    # Success, stage-1 aborts of every kind and stage-2 aborts on the walk and the final access.
    assert {"ok", "exc0f", "exc07", "exc0b", "exc03", "abort07", "abort0f", "abort87", "abort8f"} <= kinds, kinds


def test_a_stage1_case_reaching_the_image_is_refused():
    good = a64_s1_cases.HAND[0][2]
    # A level-3 page at IPA 0x40080000 (the image's code), writable: no case may map the image but read-only.
    bad = a64_s1_cases.s1_case(2, "write", 0x1008, l3={1: a64_s1_cases.s1_page(1, oa=0x40080000)})
    why = "a stage-1 descriptor into the GiB of the image's IPAs that is not a read-only block"
    sim_refuses([good, bad], why)
    image_refuses(image_path(), [good, bad], why)



def unpaged(entries):
    """The entries with the level-3 stage-2 entry mapping stage-1 table 0 given bits 1:0 0b01 (reserved)."""
    return [(t, i, v & ~2, link) if link == ("s1", 0) else (t, i, v, link) for t, i, v, link in entries]


@pytest.mark.parametrize("why, entries", [
    # Level-2 table (table 1) entry 5 naming stage-1 table 1: a stage-1 table is only ever a level-3 page.
    ("a page linked from above the last level", lambda e: e + [(1, 5, 3, ("s1", 1))]),
    # Level-3 entry 5 naming stage-1 table 7: the case has 3.
    ("a link to a page the case lacks, or with an address of its own", lambda e: e + [(2, 5, 3, ("s1", 7))]),
    ("a stage-1 table mapped by other than a level-3 page", unpaged),
])
def test_a_misplaced_stage1_table_link_is_refused(why, entries):
    """The image and nestwalk-hw-sim refuse the case alike (hw/contract/case_tree.c, a64_case.c)."""
    good = a64_s1_cases.HAND[0][2]
    bad = hw_run.Case(**{**good.__dict__, "id": 2, "entries": entries(list(good.entries))})
    sim_refuses([good, bad], why)
    image_refuses(image_path(), [good, bad], why)

# --- nestwalk hw run --backend qemu-aarch64 on a scenario with stage 1 on -----------------------------------------

STAGE1_SCENARIO = os.path.join(ROOT, "scenarios", "arm64_stage1.yaml")
# The VAs the probes visit on arm64_stage1.yaml (each run of stage-1 leaves alike: first VA, last word, the VA
# past it, and the VA of each region edge a leaf maps; then 2^39, past T0SZ 25; then TTBR1_EL1's first VA, T1SZ 25
# with EPD1 0), derived from its descriptors: level-2 [1] the 2 MiB block at 0x200000 onto IPA 0x40000000, which
# maps the region's first word, its last (IPA 0x4003fff8: VA 0x23fff8) and the IPA past it (0x40040000: VA
# 0x240000); level-3 [0], [1], [2] pages of three kinds (PXN, UXN|PXN AP 0b10, AF clear); [3] invalid; [4] and [5]
# alike in their bits but not contiguous in output address (0x40040000, the IPA past the region, and 2^40); [6]
# AttrIndx 2; [7] on invalid.
STAGE1_VAS = [0x200000, 0x23FFF8, 0x240000, 0x3FFFF8, 0x400000, 0x400FF8, 0x401000, 0x401FF8, 0x402000,
              0x402FF8, 0x403000, 0x404000, 0x404FF8, 0x405000, 0x405FF8, 0x406000, 0x406FF8, 0x407000, 1 << 39,
              0xFFFFFF8000000000]
# Each VA's accesses, records 8k+1 .. 8k+8: EL1 read, write, fetch; EL0 read, write, fetch; EL1 LDTR, STTR.
PER_VA = 8


def hw_run_json(path, stderr=None):
    result = subprocess.run([os.environ["NESTWALK"], "hw", "run", str(path), "--backend", "qemu-aarch64", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == (stderr or ""), result.stderr
    return json.loads(result.stdout)


def records(va, *accesses):
    return [STAGE1_VAS.index(va) * PER_VA + j + 1 for j in accesses]


# VTCR_EL2 (T0SZ bits 5:0, SL0 7:6, IRGN0/ORGN0/SH0 0x3500, PS 18:16, RES1 bit 31): the bundled 0x80023558 (40-bit
# IPA, SL0 0b01: start at level 1); 0x80053590 (48-bit IPA, SL0 0b10: level 0, PS 0b101 48 bits, so no
# a64-ps40-level0-start); 0x80023520 (32-bit IPA, SL0 0b00: level 2, four concatenated tables). The image's IPAs
# are swapped with an unused GiB, or with a whole 512 GiB start slot at level 0 (the image's own level-0 entry
# covers the first), and every IPA of the walk lies below 2^32 and in the first slot, so each gives the same
# outcomes: IPA 0x50000000 (TTBR1_EL1's table) is a Translation fault at stage-2 level 2 in each.
VTCRS = ["0x80023558", "0x80053590", "0x80023520"]


@pytest.mark.parametrize("vtcr", VTCRS)
def test_hw_run_probes_the_bundled_stage1_scenario_through_its_stage1(vtcr, tmp_path):
    """scenarios/arm64_stage1.yaml, stage 1 on: 20 VAs, 160 accesses, each through the guest's own descriptors and
    its stage 2 on QEMU, compared with the library's walk (translate --gva). Before, the command probed its stage 2
    alone (15 accesses) and said its stage 1 was not probed.
    Not run: VA 0x200000 at EL1 (records 1-3): its 2 MiB block maps IPA 0x40000000, the page of the guest's own
    level-1 table, which the case cannot make both the table's frame and a scratch page (EL0 and LDTR/STTR fault at
    stage 1 before reaching it: AP 0b00, and run).
    Explained by hw/DEVIATIONS.md rows, never agreement:
    - a64-hpfar-permission: the stores to VAs 0x406000 and 0x406ff8 (IPA 0x40013000, read-only at stage 2: a
      Permission fault on the final access, HPFAR_EL2 UNKNOWN in the Arm ARM, filled by QEMU): EL1 store, EL0 store,
      STTR of each, 6 records.
    - a64-s1ptw-level: every access to TTBR1_EL1's first VA reads its level-1 table at IPA 0x50000000, where stage 2
      has a level-1 table entry and an invalid level-2 entry: a Translation fault at stage-2 level 2 with S1PTW,
      DFSC 0x06 in the Arm ARM, 0x05 (the stage-1 lookup's level 1) from QEMU: 8 records.
    The other 143 agree exactly (among them VA 0x23fff8, the region's last word through the block, and VA
    0x240000 past it: a stage-2 Translation fault on the final access at EL1, HPFAR_EL2 0x400400). The same with
    the stage 2 starting at levels 0 and 2 (VTCRS)."""
    path = STAGE1_SCENARIO
    if vtcr != VTCRS[0]:
        path = tmp_path / "vtcr.yaml"
        with open(STAGE1_SCENARIO) as f:
            path.write_text(f.read().replace("vtcr: 0x80023558", f"vtcr: {vtcr}").replace(
                "trace: ../traces/arm64_mmu.nwt.txt\n", ""))
    # The bundled scenario names its trace, which replay runs and this backend does not: said on stderr.
    got = hw_run_json(path, None if vtcr != VTCRS[0] else
                      f"nestwalk hw run: note: {path} names a trace (../traces/arm64_mmu.nwt.txt); --backend "
                      "qemu-aarch64 runs probes of its translation regime, not a trace (nestwalk replay runs it)\n")
    assert got["accesses"] == len(STAGE1_VAS) * PER_VA == 160
    assert (got["run"], got["matched"], got["explained"], got["unexplained"], got["leaked_frames"]) == \
        (157, 143, 14, 0, 0)
    assert [(r["reason"], r["records"]) for r in got["not_run_reasons"]] == [
        ("the access's IPA lies in a page of one of its own stage-1 tables (a table read as data)", [1, 2, 3])]
    assert {d["id"]: d["records"] for d in got["deviations"]} == {
        "a64-hpfar-permission": records(0x406000, 1, 4, 7) + records(0x406FF8, 1, 4, 7),
        "a64-s1ptw-level": records(0xFFFFFF8000000000, *range(PER_VA)),
    }


def test_hw_run_splits_a_stage2_block_holding_the_guests_stage1_tables(tmp_path):
    """The scenario's RAM passed through as one 2 MiB region (type identical: a level-2 stage-2 block, rwx at EL1
    and EL0, at IPA = PA 0x40000000; the read-only edit goes, as there is no page to edit): the guest's stage-1
    tables at IPAs 0x40000000-0x40002fff lie in the block, and the image maps a stage-1 table with a level-3 page
    of its own, so the case splits the block into pages of its attributes where a table lies (before, every
    probe was not run: "a stage-1 table under a stage-2 block"). VAs: those of STAGE1_VAS but 0x23fff8 and
    0x240000 (the region's last word, IPA 0x401ffff8, is the block's last, VA 0x3ffff8; the IPA past it is no
    leaf's): 18, 144 accesses. VA 0x200000 at EL1 is still its own level-1 table's page (3 not run); the S1PTW
    fault of TTBR1_EL1's first VA is as before (a64-s1ptw-level, 8); nothing is read-only at stage 2 now, so no
    HPFAR_EL2 row; the other 133 agree."""
    path = tmp_path / "identical.yaml"
    with open(STAGE1_SCENARIO) as f:
        text = f.read()
    edit = ("  edits:\n    - {gpa: 0x40013000, level: 3, clear: 0x80}  # S2AP[1] (bit 7): the page is read-only at "
            "stage 2\n")
    region = "  - {gpa: 0x40000000, size: 0x40000, flags: 0x7, type: alloc}"
    assert edit in text and region in text
    path.write_text(text.replace(edit, "").replace(region, "  - {gpa: 0x40000000, size: 0x200000, flags: 0x7, "
                                                          "type: identical}").replace("memory: 1G", "memory: 2G")
                    .replace("trace: ../traces/arm64_mmu.nwt.txt\n", ""))
    got = hw_run_json(path)
    assert (got["accesses"], got["run"], got["matched"], got["explained"], got["unexplained"]) == \
        (144, 141, 133, 8, 0)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [("a64-s1ptw-level", list(range(137, 145)))]
    assert [(r["reason"], r["records"]) for r in got["not_run_reasons"]] == [
        ("the access's IPA lies in a page of one of its own stage-1 tables (a table read as data)", [1, 2, 3])]


def translate_gva(path, va, access, *extra):
    result = subprocess.run([os.environ["NESTWALK"], "translate", str(path), "--gva", hex(va), "--access", access,
                             "--json", *extra], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_hw_run_probes_the_vas_under_a_stage1_table_stage2_forbids_reading(tmp_path):
    """The edit moved to the guest's level-3 table's page (IPA 0x40002000), clearing S2AP[0] (bit 6): stage 2 gives
    no read of it. Its descriptors are still the scenario's, so the same 20 VAs are probed (before, the VAs below
    the table were left out: the table was read through stage 2's rights); each of the 14 at or below it (0x400000
    to 0x407000) faults reading the table: a Permission fault at stage-2 level 3 with S1PTW, no instruction
    syndrome, WnR the instruction's: a load 0x92000000 | 0x80 | 0x0f = 0x9200008f, HPFAR_EL2 0x40002000 >> 12 << 4
    = 0x400020 (defined for a fault on a stage-1 table walk), and the table is read at stage-1 level 3, so QEMU's
    level is the Arm ARM's here. The TTBR1_EL1 VA keeps its row (8), VA 0x200000 at EL1 is not run (3), the
    other 149 agree."""
    path = tmp_path / "noread.yaml"
    with open(STAGE1_SCENARIO) as f:
        text = f.read()
    edit = "{gpa: 0x40013000, level: 3, clear: 0x80}"
    assert edit in text
    path.write_text(text.replace(edit, "{gpa: 0x40002000, level: 3, clear: 0x40}").replace(
        "trace: ../traces/arm64_mmu.nwt.txt\n", ""))
    load = translate_gva(path, 0x400000, "read")
    assert (load["outcome"], load["esr_el2"], load["far_el2"], load["hpfar_el2"]) == \
        ("stage2_abort", "0x9200008f", "0x400000", "0x400020")
    got = hw_run_json(path)
    assert (got["accesses"], got["run"], got["matched"], got["explained"], got["unexplained"]) == \
        (160, 157, 149, 8, 0)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [
        ("a64-s1ptw-level", records(0xFFFFFF8000000000, *range(PER_VA)))]


def test_hw_run_agrees_on_a_stage1_permission_fault_the_test_writes(tmp_path):
    """The scenario with its level-3 descriptor [0] (VA 0x400000) made EL1 read-only: AP[2:1] 0b01 -> 0b10
    (0x0020000040010743 -> 0x0020000040010783). An EL1 store there is a Permission fault at stage-1 level 3 taken
    to EL1 (Arm ARM D24.2.40 ESR_EL1: EC 0x25, a data abort from the current EL; IL 1; WnR 1; DFSC 0b001111):
    ESR_EL1 0x9600004f, FAR_EL1 0x400000; an EL0 load one from a lower EL (EC 0x24, WnR 0): 0x9200000f. The library
    says so, and QEMU agrees with it on every access of the VA (records 33-40): none is a mismatch or not run, and
    the run's figures are the bundled scenario's (the EL0 accesses of 0x400000 and 0x400ff8 fault now and still
    agree)."""
    path = tmp_path / "s1_edit.yaml"
    with open(STAGE1_SCENARIO) as f:
        text = f.read()
    assert text.count("0x0020000040010743, ") == 1
    path.write_text(text.replace("0x0020000040010743, ", "0x0020000040010783, ").replace(
        "trace: ../traces/arm64_mmu.nwt.txt\n", ""))
    store = translate_gva(path, 0x400000, "write")
    assert (store["outcome"], store["esr_el1"], store["far_el1"]) == ("stage1_abort", "0x9600004f", "0x400000")
    load0 = translate_gva(path, 0x400000, "read", "--el", "0")
    assert (load0["outcome"], load0["esr_el1"]) == ("stage1_abort", "0x9200000f")
    got = hw_run_json(path)
    assert (got["accesses"], got["run"], got["matched"], got["explained"], got["unexplained"]) == \
        (160, 157, 143, 14, 0)
    assert records(0x400000, 0) == [33]
    assert not set(records(0x400000, *range(PER_VA))) & {r for d in got["deviations"] for r in d["records"]}


def test_hw_run_says_why_a_stage1_it_cannot_run_does_not_run(tmp_path):
    """T0SZ 34 (TCR_EL1 0x2_8019_0022: 30-bit VAs from TTBR0_EL1, its walk starting at level 1 still): the image's
    code at VA 0x40080000 lies past TTBR0_EL1's range, so no probe can run: bad input (exit 2) with the reason, not
    a run of nothing reported as passing."""
    path = tmp_path / "t0sz34.yaml"
    with open(STAGE1_SCENARIO) as f:
        text = f.read()
    path.write_text(text.replace("tcr_el1: 0x280190019", "tcr_el1: 0x280190022").replace(
        "trace: ../traces/arm64_mmu.nwt.txt\n", ""))
    result = subprocess.run([os.environ["NESTWALK"], "hw", "run", str(path), "--backend", "qemu-aarch64"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"nothing of {path} can run on qemu-aarch64" in result.stderr
    assert "TTBR0_EL1 cannot map the image's code at VA 0x40080000" in result.stderr


SCENARIO_SEED = 20261210
RANDOM_SCENARIOS = 60 if FULL else 8


def random_stage1_scenario(rng):
    """arm64_stage1.yaml with its level-3 stage-1 table (12 descriptors: AP[2:1], AttrIndx, AF, PXN, UXN drawn, a few
    invalid, past the region or at 2^40), its level-2 block's AP/UXN/PXN, the hierarchical controls of the level-2
    table descriptor (PXNTable, UXNTable, APTable), PSTATE.PAN and UAO, and stage-2 edits of the data pages and of
    the level-3 table's page (S2AP, XN, AF) drawn at random."""
    af, sh = 1 << 10, 3 << 8
    l3 = []
    for j in range(12):
        oa = rng.choice([0x40010000 + j * 0x1000] * 8 + [0x40040000 + j * 0x1000, 1 << 40])
        l3.append(0 if rng.random() < 0.15 else
                  oa | rng.randrange(4) << 6 | (af if rng.random() < 0.85 else 0) | sh | 3 | rng.randrange(3) << 2 |
                  (1 << 53 if rng.random() < 0.3 else 0) | (1 << 54 if rng.random() < 0.3 else 0))
    controls = rng.choice([0, 0, 1 << 59, 1 << 60, 1 << 61, 1 << 62])
    block = 0x40000000 | rng.randrange(4) << 6 | af | sh | 1 | (1 << 54 if rng.random() < 0.5 else 0) | \
        (1 << 53 if rng.random() < 0.3 else 0)
    pstate = 0x3C5 | (1 << 22 if rng.random() < 0.4 else 0) | (1 << 23 if rng.random() < 0.2 else 0)
    # S2AP[1] write, S2AP[0] read, AF, XN[1:0] (bits 54:53).
    kinds = ["clear: 0x80", "clear: 0x40", "clear: 0x400", "set: 0x40000000000000", "set: 0x20000000000000"]
    edits = [f"    - {{gpa: {0x40010000 + j * 0x1000:#x}, level: 3, {rng.choice(kinds)}}}" for j in range(12)
             if rng.random() < 0.25]
    if rng.random() < 0.15:
        edits.append(f"    - {{gpa: 0x40002000, level: 3, {rng.choice(kinds[1:3])}}}")
    with open(STAGE1_SCENARIO) as f:
        text = f.read().replace("trace: ../traces/arm64_mmu.nwt.txt\n", "")
    text = re.sub(r"    - \{gpa: 0x40013000, level: 3, clear: 0x80\}.*\n", "".join(e + "\n" for e in edits), text)
    if not edits:
        text = text.replace("  edits:\n", "")
    text = text.replace("pstate: 0x3c5", f"pstate: {pstate:#x}")
    text = text.replace("values: [0x0040000040000701, 0x40002003]", f"values: [{block:#x}, {0x40002003 | controls:#x}]")
    return re.sub(r"- gpa: 0x40002000\n      values: \[[^\]]*\]",
                  "- gpa: 0x40002000\n      values: [" + ", ".join(f"{v:#x}" for v in l3) + "]", text)


def test_hw_run_on_seeded_random_stage1_scenarios_agrees_with_the_library(tmp_path):
    """Each scenario's probes on QEMU agree with the library's walk up to the rows of hw/DEVIATIONS.md; at most the
    VA 0x200000 family and those whose final IPA is a stage-1 table's page are not run, and never because the
    case failed to reproduce the scenario's walk."""
    rng = random.Random(SCENARIO_SEED)
    totals = {"accesses": 0, "run": 0, "matched": 0}
    for i in range(RANDOM_SCENARIOS):
        path = tmp_path / f"random{i}.yaml"
        path.write_text(random_stage1_scenario(rng))
        got = hw_run_json(path)
        assert got["unexplained"] == 0 and got["leaked_frames"] == 0, (i, got["mismatches"][:3])
        assert {d["id"] for d in got["deviations"]} <= {"a64-s1ptw-level", "a64-hpfar-permission"}
        assert {r["reason"] for r in got["not_run_reasons"]} <= {
            "the access's IPA lies in a page of one of its own stage-1 tables (a table read as data)"}, i
        for key in totals:
            totals[key] += got[key]
    assert totals["run"] >= 0.95 * totals["accesses"] and totals["matched"] >= 0.8 * totals["run"], totals


def test_hw_run_says_the_image_leaves_fwb_clear(tmp_path):
    """scenarios/arm64_memattr.yaml with stage2.fwb: the image does not set HCR_EL2.FWB, which changes the memory
    attributes alone (AArch64.S2ApplyFWBMemAttrs), never a fault or where an access lands: said on stderr, and every
    probe agrees with the library."""
    with open(os.path.join(ROOT, "scenarios", "arm64_memattr.yaml")) as f:
        text = f.read()
    path = tmp_path / "fwb.yaml"
    path.write_text(text.replace("\n  vmid: 1\n", "\n  vmid: 1\n  fwb: true\n"))
    got = hw_run_json(path, f"nestwalk hw run: note: {path}: stage2.fwb: the image runs with HCR_EL2.FWB clear; FWB "
                            "changes only the memory attributes, which the probes do not compare\n")
    assert (got["run"], got["unexplained"], got["leaked_frames"]) == (got["accesses"], 0, 0)
    assert got["matched"] == got["accesses"] > 0
