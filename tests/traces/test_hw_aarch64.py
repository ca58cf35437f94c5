"""The AArch64 image (hw/aarch64/) under qemu-system-aarch64 -M virt,virtualization=on -cpu max: each stage-2
case runs at EL1 with stage 1 off over tables the library built at EL2, and the line the CPU's outcome gives
must be the one derived by hand from the Arm ARM (tests/hw/a64_cases.py) and the one nestwalk-hw-sim prints
from the library's answer for the same blob, up to the rows of hw/DEVIATIONS.md, each proven here to still
happen. Seeded random cases compare QEMU with the library the same way."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "hw"))

import a64_cases  # noqa: E402
import a64_s1_cases  # noqa: E402
import s2_oracle  # noqa: E402
from s2_oracle import (RANDOM_COUNT, SEED, build_dir, hw_run_cmd, hw_run_report, image_refuses,  # noqa: E402
                       sim_refuses, simulate)

hw_run = a64_cases.hw_run


def image_path():
    return s2_oracle.image_path("aarch64")


@pytest.fixture(scope="module")
def qemu_aarch64():
    s2_oracle.need("qemu-system-aarch64")


pytestmark = pytest.mark.usefixtures("qemu_aarch64")


def run_qemu(cases):
    return s2_oracle.run_qemu(image_path(), cases)


def agrees(library, cpu):
    """The CPU's line is the library's, an UNKNOWN HPFAR_EL2 ("-") matching whatever the CPU wrote there."""
    if library == cpu:
        return True
    lib, got = library.split(), cpu.split()
    return lib[0] == "abort" and lib[3] == "-" and lib[:3] == got[:3]


def test_image_boots_at_el2_alone():
    status, text, _seconds, _ = hw_run.boot(image_path(), None, timeout=60)
    assert status == hw_run.EXIT_PASS, text
    assert re.search(r"^hw: aarch64 EL2 parange \d+ xnx 1 ", text, re.M), text
    assert "hw: no case blob" in text


def check_hand(hand):
    """Each (id, title, case, line) of hand: the library prints the Arm ARM's line and QEMU agrees with it."""
    cases = [c for _id, _title, c, _line in hand]
    qemu, library = run_qemu(cases), simulate(cases)
    for cid, title, _case, line in hand:
        assert library[cid] == line, f"case {cid} {title}: library {library[cid]!r}, Arm ARM {line!r}"
        assert agrees(line, qemu[cid]), f"case {cid} {title}: QEMU {qemu[cid]!r}, Arm ARM {line!r}"


def test_hand_cases_are_what_the_arm_arm_says_on_qemu_and_in_the_library():
    check_hand(a64_cases.HAND)


def test_hand_cases_of_the_16k_and_64k_granules_on_qemu_and_in_the_library():
    """-cpu max implements both granules at stage 2 (ID_AA64MMFR0_EL1.TGran16_2/TGran64_2): each case's line is
    the Arm ARM's, derived in a64_cases.HAND_GRANULES, in the library and on QEMU."""
    check_hand(a64_cases.HAND_GRANULES)


@pytest.mark.parametrize("row", sorted(a64_cases.DEVIATION_CASES))
def test_every_listed_deviation_still_happens(row):
    """Each row of hw/DEVIATIONS.md's AArch64 table: the library gives the Arm ARM's line, QEMU the row's."""
    case, arm_arm, observed = a64_cases.DEVIATION_CASES[row]
    with open(os.path.join(ROOT, "hw", "DEVIATIONS.md")) as f:
        rows = re.findall(r"^\| `([a-z0-9-]+)` \| `qemu-system-aarch64`", f.read(), re.MULTILINE)
    # Every row proven here or in test_hw_aarch64_s1.py (the stage-1 rows), every proof a row.
    assert sorted(rows) == sorted([*a64_cases.DEVIATION_CASES, *a64_s1_cases.DEVIATION_CASES])
    assert simulate([case])[case.id] == arm_arm
    got = run_qemu([case])[case.id]
    assert got != arm_arm
    if observed is not None:
        assert got == observed
    else:  # an instruction abort, translation fault level 0, on the guest's first fetch inside the image
        kind, esr, far, _hpfar = got.split()
        assert (kind, int(esr, 0)) == ("abort", a64_cases.FETCH | 0x04), got
        assert hw_run.A64_IMAGE_BLOCK + 0x80000 <= int(far, 0) < hw_run.A64_IMAGE_BLOCK + 0x200000, got


def test_random_cases_on_qemu_agree_with_the_library():
    cases = a64_cases.random_cases(SEED, RANDOM_COUNT)
    qemu, library = run_qemu(cases), simulate(cases)
    assert len(qemu) == len(library) == len(cases)
    differ = [f"case {c.id} {c}: QEMU {qemu[c.id]!r}, library {library[c.id]!r}" for c in cases
              if not agrees(library[c.id], qemu[c.id])]
    assert not differ, "\n".join(differ[:10])
    kinds = {line.split()[0] + (line.split()[1][-2:] if line.startswith("abort") else "") for line in library.values()}
    # The set covers success and each fault kind at several levels.
    assert {"ok", "abort07", "abort0f", "abort0b", "abort03", "abort04"} <= kinds, kinds


def test_a_malformed_case_is_refused_with_its_offset():
    good = a64_cases.HAND[0][2]
    # Level-1 index 1 of the start table maps 0x40000000: the image's own block, never the case's.
    bad = hw_run.Case(**{**good.__dict__, "id": 2, "tables": 1, "entries": [(0, 1, 3, None)]})
    # The bad case after the 16-byte header, 24 + 3 * 16 bytes of the good one.
    why = "case #1 at offset 0x58: an entry in the image's slot of the root table"
    sim_refuses([good, bad], why)
    image_refuses(image_path(), [good, bad], "hw: bad case blob: " + why)


def test_the_x86_image_refuses_an_aarch64_blob():
    """The blob header's arch field: the x86 image reads its cases differently and must not run these."""
    x86_image = os.path.join(build_dir(), "hw", "nestwalk-hw.elf")
    image_refuses(x86_image, [a64_cases.HAND[0][2]], "hw: bad case blob: case #0 at offset 0xc: not an x86_64 blob")


# --- nestwalk hw run --backend qemu-aarch64 ---------------------------------------------------------------------

def test_hw_run_probes_the_bundled_scenario_and_qemu_agrees():
    """scenarios/arm64_stage2.yaml: 5 regions (first and last word each: 10 addresses), 3 edited pages (3 more),
    the runs of leaves alike (each starts at a region base or an edited page: none more) and 2^40 | 0 (past the
    40-bit input size): 14 addresses, 42 accesses; QEMU's outcome is the library's for each, the AF-clear,
    read-only and above-PS pages, MMIO and ROM included. The 8 stage-2 Permission faults on the final access are
    the a64-hpfar-permission row's (the Arm ARM leaves HPFAR_EL2 UNKNOWN, QEMU fills it), not agreement: the
    stores to the ROM's first and last word (probes 0 and 1: records 2, 5), the fetches from the GIC's (no
    execute: probes 2 and 3, records 9, 12) and from the allocated RAM's (flags 0x3: probes 8 and 9, records 27,
    30), and the store and fetch at the read-only edited page 0x40401000 (probe 11: records 35, 36)."""
    from test_cli import check_top  # the report against docs/json.md
    got, _ = hw_run_report(ROOT + "/scenarios/arm64_stage2.yaml", "qemu-aarch64")
    check_top("hw-run", got)
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"], got["maxphyaddr"]) == (42, 42, 34, 0, 40)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [
        ("a64-hpfar-permission", [2, 5, 9, 12, 27, 30, 35, 36])]


def test_hw_run_probes_the_64k_scenario_and_explains_oa_high_by_its_row():
    """scenarios/arm64_stage2_64k.yaml: 6 regions (first and last word: 12 addresses, probes 0-11), 3 edited pages
    (probes 12-14), one run of leaves starting at neither (the 64 KiB page 0x60000000 after the 512 MiB block,
    probe 15) and 2^44 | 0 (probe 16): 17 addresses, 51 accesses, probe k's read, write and fetch records 3k+1 to
    3k+3. The page whose bit 12 (OA[48]) is set gives the library's Address size fault and QEMU's access: the
    allocated region's last word 0x8003fff8 (probe 9: records 28-30) and the edit 0x80030000 (probe 14: 43-45),
    the a64-64k-oa-high-ignored row. The Permission faults on the final access are the a64-hpfar-permission
    row's: stores to the ROM (probes 0, 1: records 2, 5), fetches from the GIC (XN 0b10, probes 2, 3: 9, 12) and
    from the allocated RAM (probe 8: 27), the store and fetch at the read-only edit 0x80020000 (probe 13: 41,
    42). The rest, 38, match."""
    got, _ = hw_run_report(ROOT + "/scenarios/arm64_stage2_64k.yaml", "qemu-aarch64")
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"], got["maxphyaddr"]) == (51, 51, 38, 0, 48)
    assert sorted((d["id"], d["records"]) for d in got["deviations"]) == [
        ("a64-64k-oa-high-ignored", [28, 29, 30, 43, 44, 45]), ("a64-hpfar-permission", [2, 5, 9, 12, 27, 41, 42])]


def test_hw_run_agrees_on_a_16k_scenario(tmp_path):
    """granule 16K over 40-bit IPAs (VTCR_EL2 0x8005b598: level 1 first, no concatenation): pass-through RAM of
    a 32 MiB level-2 block and a 16 KiB page, and two allocated 16 KiB pages (read, write, execute). Probes: the
    regions' first and last words (4), the page after the block (a run starting at no base), 2^40 | 0x80000000,
    and the second allocated page where its frames do not continue the first's: at least 6 addresses, 18
    accesses. Every one QEMU runs agrees with the library, without a deviation (no permission fault, no
    OA[51:48])."""
    path = tmp_path / "g16.yaml"
    path.write_text("arch: aarch64\nstage2: {granule: 16K}\nmemory_regions:\n"
                    "  - {gpa: 0x80000000, size: 0x2004000, flags: 0x7, type: identical}\n"
                    "  - {gpa: 0x90000000, size: 0x8000, flags: 0x7, type: alloc}\n")
    got, _ = hw_run_report(path, "qemu-aarch64")
    assert got["accesses"] >= 18 and got["run"] == got["matched"] == got["accesses"], got
    assert (got["unexplained"], got["deviations"], got["maxphyaddr"]) == (0, [], 48)


def test_hw_run_explains_the_level0_start_with_a_small_ps_by_its_row(tmp_path):
    """VTCR_EL2 0x80023598 (T0SZ 24, SL0 2, PS 40 bits): every case is the a64-ps40-level0-start row, none a
    mismatch; the region's first and last word, 2^40 | its base: 3 addresses, 9 accesses."""
    path = tmp_path / "l0.yaml"
    path.write_text("arch: aarch64\nstage2: {vtcr: 0x80023598}\n"
                    "memory_regions:\n  - {gpa: 0x8000000000, size: 0x1000, flags: 0x7, type: alloc}\n")
    got, _ = hw_run_report(path, "qemu-aarch64")
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"]) == (9, 9, 0, 0)
    assert [(d["id"], d["count"]) for d in got["deviations"]] == [("a64-ps40-level0-start", 9)]


def test_hw_run_refuses_what_does_not_fit_the_backend():
    result = hw_run_cmd(ROOT + "/scenarios/ok.yaml", "--backend", "qemu-aarch64")
    assert result.returncode == 2 and "runs aarch64 scenarios (arch: aarch64); this one is x86_64" in result.stderr
    result = hw_run_cmd(ROOT + "/scenarios/arm64_stage2.yaml", "--backend", "qemu")
    assert result.returncode == 2 and "an aarch64 scenario runs on --backend qemu-aarch64" in result.stderr
    result = hw_run_cmd(ROOT + "/scenarios/arm64_stage2.yaml", "--backend", "qemu-aarch64", "--trace", "x.nwt")
    assert result.returncode == 2 and "it probes the scenario's translation regime, it does not run a trace" in result.stderr


def test_hw_run_leaves_a_stage_2_with_hd_unrun_and_says_why(tmp_path):
    """VTCR_EL2 0x80623558 sets HA and HD (bits 21, 22): the library models FEAT_HAFDBS dirty state at stage 2,
    QEMU 7.2 is not known to, so no probe runs (9 accesses: the region's first and last word, 2^40 | its base) and
    the command says so, never a false agreement."""
    path = tmp_path / "hd.yaml"
    path.write_text("arch: aarch64\nstage2: {vtcr: 0x80623558}\n"
                    "memory_regions:\n  - {gpa: 0x40000000, size: 0x1000, flags: 0x7, type: alloc}\n")
    result = hw_run_cmd(path, "--backend", "qemu-aarch64", "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("VTCR_EL2.HD (bit 22, FEAT_HAFDBS dirty state at stage 2) is not compared with QEMU 7.2 (9 access(es), "
            "record 1 first)") in result.stderr


def test_hw_run_tool_refuses_cases_of_two_architectures(tmp_path):
    """One blob has one arch in its header: a case list mixing them is bad input (exit 2), not a blob the image
    would read with the wrong layout."""
    cases = tmp_path / "mixed.json"
    cases.write_text(json.dumps([{"id": 1, "gva": 4096, "tables": 1, "entries": []},
                                 {"id": 2, "gva": 4096, "tables": 1, "entries": [], "arch": "aarch64", "cpl": 1}]))
    for extra in ([], ["--blob", str(tmp_path / "out.blob")]):
        result = subprocess.run([os.path.join(ROOT, "tools", "hw-run"), image_path(), str(cases), *extra],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "cases of several architectures in one blob: ['aarch64', 'x86_64']" in result.stderr
    assert not (tmp_path / "out.blob").exists()
