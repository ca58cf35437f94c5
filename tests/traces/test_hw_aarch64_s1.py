"""The AArch64 image with the guest's stage 1 on (tests/hw/a64_s1_cases.py): each case's stage-1 and stage-2
tables built at EL2, the access made at EL0 or EL1 (LDTR/STTR when unprivileged), and the line the CPU's
outcome gives (ESR_EL1/FAR_EL1 for a stage-1 abort taken to the image's EL1 vectors, ESR_EL2/FAR_EL2/HPFAR_EL2
for a stage-2 abort, S1PTW included) must be the one derived by hand from the Arm ARM and the one
nestwalk-hw-sim prints from the library's walk (nw_arm64_walk) for the same blob, up to the rows of
hw/DEVIATIONS.md, each proven here to still happen. Seeded random cases compare QEMU with the library."""
import json
import os
import subprocess

import pytest

from test_hw_aarch64 import (ROOT, agrees, check_hand, hw_run, image_path, pytestmark,  # noqa: F401
                             qemu_aarch64, run_qemu, simulate, simulate_blob)
import a64_s1_cases  # noqa: E402 (tests/hw, on the path test_hw_aarch64 puts it)
from s2_oracle import FULL  # noqa: E402

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
    proc = simulate_blob(hw_run.pack([good, bad]))
    assert proc.returncode == 2, proc.stdout
    assert "a stage-1 descriptor into the GiB of the image's IPAs that is not a read-only block" in proc.stderr
    status, text, _seconds, _ = hw_run.boot(image_path(), [good, bad], timeout=60)
    assert status == (0x12 << 1) | 1, text
    assert "a stage-1 descriptor into the GiB of the image's IPAs that is not a read-only block" in text



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
    proc = simulate_blob(hw_run.pack([good, bad]))
    assert proc.returncode == 2 and why in proc.stderr, proc.stdout + proc.stderr
    status, text, _seconds, _ = hw_run.boot(image_path(), [good, bad], timeout=60)
    assert status == (0x12 << 1) | 1 and why in text, text

def test_hw_run_on_a_scenario_with_stage1_probes_its_stage2_and_says_so():
    """scenarios/arm64_stage1.yaml: one region at IPA 0x40000000 (first and last word), the edited page 0x40013000,
    the run of leaves after it (0x40014000: the edit split the region's rights) and 2^40 | 0x40000000 past the
    40-bit input size: 5 probes, 15 accesses, all QEMU's as the library's. The last one's start-table index (IPA
    bits 39:30) is the image's own, 1: the case moves it off that slot, as it does the IPAs below 2^40 (before,
    the image refused the case blob). Its stage 1 is not probed yet, and the command says so."""
    result = subprocess.run([os.environ["NESTWALK"], "hw", "run", os.path.join(ROOT, "scenarios", "arm64_stage1.yaml"),
                             "--backend", "qemu-aarch64", "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    got = json.loads(result.stdout)
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"]) == (15, 15, 15, 0)
    assert "its stage 1 (SCTLR_EL1.M set) is not probed yet, only its stage 2" in result.stderr
