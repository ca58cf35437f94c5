"""The RISC-V image (hw/riscv64/) under qemu-system-riscv64 -M virt -cpu rv64 -bios none: each G-stage case runs
in VS-mode with vsatp Bare over tables the library built in M-mode, each VS-stage case in VS-mode or VU-mode
through VS-stage tables in guest memory the G-stage maps, and the line the hart's trap (or the access's landing
place) gives must be the one derived by hand from the privileged spec (tests/hw/rv_cases.py, rv_vs_cases.py) and
the one nestwalk-hw-sim prints from the library's answer for the same blob, up to the rows of hw/DEVIATIONS.md,
each proven here to still happen. Seeded random cases compare QEMU with the library the same way."""
import json
import os
import re
import sys

import pytest

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "hw"))

import rv_cases  # noqa: E402
import rv_vs_cases  # noqa: E402
import s2_oracle  # noqa: E402
from s2_oracle import (RANDOM_COUNT, SEED, build_dir, hw_run_cmd, hw_run_report, image_refuses,  # noqa: E402
                       sim_refuses, simulate)

hw_run = rv_cases.hw_run


def image_path():
    return s2_oracle.image_path("riscv64")


@pytest.fixture(scope="module")
def qemu_riscv64():
    s2_oracle.need("qemu-system-riscv64")


pytestmark = pytest.mark.usefixtures("qemu_riscv64")


def run_qemu(cases, cpu=None):
    return s2_oracle.run_qemu(image_path(), cases, cpu)


def test_image_boots_in_m_mode_alone():
    status, text, _seconds, _ = hw_run.boot(image_path(), None, timeout=60)
    assert status == hw_run.EXIT_PASS, text
    # misa.H set, menvcfg.ADUE read-only (no Svadu switch: the hart's G-stage A/D are what they are).
    assert re.search(r"^hw: riscv64 M-mode h 1 pbmte-writable \d adue 0$", text, re.M), text
    assert "hw: no case blob" in text


def check_hand(hand, cpu=None):
    """Each (id, title, case, the spec's line): the library's line and QEMU's (under -cpu cpu) are the spec's."""
    cases = [c for _id, _title, c, _line in hand]
    qemu, library = run_qemu(cases, cpu), simulate(cases)
    for cid, title, _case, line in hand:
        assert library[cid] == line, f"case {cid} {title}: library {library[cid]!r}, spec {line!r}"
        assert qemu[cid] == line, f"case {cid} {title}: QEMU {qemu[cid]!r}, spec {line!r}"


def test_hand_cases_are_what_the_privileged_spec_says_on_qemu_and_in_the_library():
    check_hand(rv_cases.HAND)


# Each row's proofs: (case, the spec's line, QEMU's), from the G-stage and the VS-stage cases.
DEVIATIONS = {**{row: [proof] for row, proof in rv_cases.DEVIATION_CASES.items()}, **rv_vs_cases.DEVIATION_CASES}


@pytest.mark.parametrize("row", sorted(DEVIATIONS))
def test_every_listed_deviation_still_happens(row):
    """Each row of hw/DEVIATIONS.md's RISC-V table: the library gives the spec's line, QEMU the row's."""
    with open(os.path.join(ROOT, "hw", "DEVIATIONS.md")) as f:
        rows = re.findall(r"^\| `([a-z0-9-]+)` \| `qemu-system-riscv64`", f.read(), re.MULTILINE)
    assert sorted(rows) == sorted(DEVIATIONS)  # every row proven here, every proof a row
    cases = [case for case, _spec, _observed in DEVIATIONS[row]]
    library, qemu = simulate(cases), {}
    for cpu in {rv_vs_cases.PROOF_CPU.get(case.id) for case in cases}:
        qemu.update(run_qemu([case for case in cases if rv_vs_cases.PROOF_CPU.get(case.id) == cpu], cpu))
    for case, spec, observed in DEVIATIONS[row]:
        assert library[case.id] == spec, case.id
        assert qemu[case.id] == observed != spec, case.id


def test_svadu_is_qemus_choice_and_the_librarys_switch():
    """Not a deviation (the spec allows either): QEMU 7.2 sets a G-stage leaf's A and D by the walk (Svadu
    without menvcfg.ADUE); with the case's adue off the library models Svade, where a leaf without A (a store's
    without D) is a guest-page fault, and with it on the access completes as on QEMU."""
    no_a = rv_cases.pte(rv_cases.S + 0x1000, rv_cases.R | rv_cases.U)
    no_d = rv_cases.pte(rv_cases.S + 0x1000, rv_cases.R | rv_cases.W | rv_cases.U | rv_cases.A)
    svade = [rv_cases.case(301, "read", rv_cases.path(no_a), flags=()),
             rv_cases.case(302, "write", rv_cases.path(no_d), flags=())]
    svadu = [rv_cases.case(303, "read", rv_cases.path(no_a)), rv_cases.case(304, "write", rv_cases.path(no_d))]
    ok = f"ok {rv_cases.PA:#x}"
    assert simulate(svade) == {301: rv_cases.trap(rv_cases.LOAD), 302: rv_cases.trap(rv_cases.STORE)}
    assert simulate(svadu) == {303: ok, 304: ok}
    assert run_qemu(svade + svadu) == {301: ok, 302: ok, 303: ok, 304: ok}


def test_random_cases_on_qemu_agree_with_the_library():
    cases = rv_cases.random_cases(SEED, RANDOM_COUNT)
    qemu, library = run_qemu(cases), simulate(cases)
    assert len(qemu) == len(library) == len(cases)
    differ = [f"case {c.id} {c}: QEMU {qemu[c.id]!r}, library {library[c.id]!r}" for c in cases
              if library[c.id] != qemu[c.id]]
    assert not differ, "\n".join(differ[:10])
    kinds = {line.split()[0] + (line.split()[1] if line.startswith("trap") else "") for line in library.values()}
    # Success and each guest-page fault cause.
    assert {"ok", "trap0x14", "trap0x15", "trap0x17"} <= kinds, kinds


def test_vs_stage_hand_cases_are_what_the_privileged_spec_says_on_qemu_and_in_the_library():
    check_hand(rv_vs_cases.HAND)


def test_svpbmt_cases_are_what_the_privileged_spec_says_on_qemu_and_in_the_library():
    """Under "rv64,svpbmt=on", with menvcfg.PBMTE and henvcfg.PBMTE set by the case."""
    check_hand(rv_vs_cases.SVPBMT_HAND, rv_vs_cases.SVPBMT_CPU)
    # QEMU 7.2's plain rv64 has no Svpbmt, yet lets menvcfg.PBMTE be set (the spec makes it read-only zero
    # without Svpbmt, which the image would report as "unsupported Svpbmt"); PBMT stays reserved there, a fault.
    # hw/DEVIATIONS.md says so: a case asking for PBMTE runs under SVPBMT_CPU.
    assert run_qemu([rv_vs_cases.SVPBMT_HAND[0][2]])[33] == rv_cases.trap(rv_cases.LOAD)


def test_svnapot_cases_are_what_the_privileged_spec_says_on_qemu_and_in_the_library():
    """Under "rv64,svnapot=on", the model's Svnapot on (the case's napot)."""
    check_hand(rv_vs_cases.SVNAPOT_HAND, rv_vs_cases.SVNAPOT_CPU)


def test_random_vs_stage_cases_on_qemu_agree_with_the_library_up_to_listed_deviations():
    cases = rv_vs_cases.random_cases(SEED, RANDOM_COUNT)
    qemu, library = run_qemu(cases), simulate(cases)
    assert len(qemu) == len(library) == len(cases)
    explained, differ = {}, []
    for c in cases:
        if library[c.id] == qemu[c.id]:
            continue
        row = rv_vs_cases.explained(library[c.id], qemu[c.id])
        if row:
            explained[row] = explained.get(row, 0) + 1
        else:
            differ.append(f"case {c.id} {c}: QEMU {qemu[c.id]!r}, library {library[c.id]!r}")
    assert not differ, "\n".join(differ[:10])
    assert set(explained) <= set(DEVIATIONS)
    print(f"{len(cases)} VS-stage cases: {len(cases) - sum(explained.values())} agreed, explained {explained}")
    kinds = {"ok" if line.startswith("ok") else
             " ".join(line.split()[:2]) + (" implicit" if line.split()[4] == "0x3000" else "")
             for line in library.values()}
    # Success, each VS-stage page fault, each guest-page fault on the final GPA and on a PTE read.
    assert {"ok", "trap 0xc", "trap 0xd", "trap 0xf", "trap 0x14", "trap 0x15", "trap 0x17", "trap 0x14 implicit",
            "trap 0x15 implicit", "trap 0x17 implicit"} <= kinds, kinds


def test_a_vs_stage_case_that_could_reach_the_image_is_refused():
    """The library's walk checks a VS-stage case before it runs: a data leaf onto the image's GPA would land
    outside the scratch region (hw/contract/rv_vs.h)."""
    bad = rv_vs_cases.vs_case(2, "read", rv_cases.pte(hw_run.RV_CODE_GPA, rv_cases.R | rv_cases.A))
    good = rv_vs_cases.HAND[0][2]
    sim_refuses([good, bad], "case #1 at offset ", "the access lands outside the scratch region")
    image_refuses(image_path(), [good, bad], "the access lands outside the scratch region")


def test_a_malformed_case_is_refused_with_its_offset():
    good = rv_cases.HAND[0][2]
    # Root index 3 maps 0xc0000000: the image's own superpage, never the case's.
    bad = hw_run.Case(**{**good.__dict__, "id": 2, "tables": 1, "entries": [(0, 3, 1, None)]})
    # The bad case after the 16-byte header, 24 + 3 * 16 bytes of the good one.
    why = "case #1 at offset 0x58: an entry in the image's slot of the root table"
    sim_refuses([good, bad], why)
    image_refuses(image_path(), [good, bad], "hw: bad case blob: " + why)


def test_the_other_images_refuse_a_riscv64_blob():
    """The blob header's arch field: the x86 and AArch64 images read their cases differently."""
    x86_image = os.path.join(build_dir(), "hw", "nestwalk-hw.elf")
    image_refuses(x86_image, [rv_cases.HAND[0][2]], "hw: bad case blob: case #0 at offset 0xc: not an x86_64 blob")
    a64_image = os.path.join(build_dir(), "hw", "aarch64", "nestwalk-hw-aarch64.elf")
    image_refuses(a64_image, [rv_cases.HAND[0][2]],
                  "hw: bad case blob: case #0 at offset 0x4: not a version-1 aarch64 blob")


# --- nestwalk hw run --backend qemu-riscv64 ---------------------------------------------------------------------

def test_hw_run_probes_the_g_stage_scenario_and_qemu_agrees_up_to_its_rows():
    """scenarios/riscv_gstage.yaml (vsatp Bare, pbmt: true so QEMU boots with Svpbmt): 6 regions, first and last
    word each (12 GPAs), the 6 edited pages (0x81001000-0x81006000), the runs of G-stage leaves alike that start
    elsewhere (0x80200000, the 4 KiB leaf after the 2 MiB one; 0x81007000, after the edited pages) and 2^41 |
    0x1000 (past Sv39x4's 41 bits): 21 GPAs, 63 accesses. Each is the library's answer on QEMU (the Svade
    edits as Svadu, QEMU's hart: said on stderr) but the load and the store at 0x81005000, whose reserved bit 54
    QEMU's Svpbmt leaves unchecked (probe 16, the fifth edit: records 49 and 50; its fetch faults for X on both)."""
    from test_cli import check_top  # the report against docs/json.md
    got, result = hw_run_report(ROOT + "/scenarios/riscv_gstage.yaml", "qemu-riscv64")
    check_top("hw-run", got)
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"], got["maxphyaddr"]) == (63, 63, 61, 0, 56)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [("rv-leaf-high-bits-unchecked", [49, 50])]
    assert "QEMU 7.2 sets A and D by the walk (Svadu)" in result.stderr


def test_hw_run_probes_the_vs_stage_scenario_and_qemu_agrees_up_to_its_rows():
    """scenarios/riscv_vs.yaml (Sv39 in VU-mode over Sv39x4): G-stage probes: 3 regions' first and last words
    and 2^41 | 0x10000000 (the RAM's two 2 MiB leaves are one run from its base; the lazy region maps nothing
    yet): 7 GPAs, records 1-21. VS-stage probes from vsatp's root (GPA 0x80001000): the level-0 PTEs of VA
    0x400000-0x404000 (read-write, read-only, then the lazy page, the UART and GPA 0x90000000, none continuing
    the run before it), VA 0x600000 (the level-1 PTE naming the table at GPA 0x90001000, which the G-stage does
    not map) and VA 0x8000400000 (non-canonical under Sv39): 7 VAs, records 22-42. All the library's answers on
    QEMU but the store and the fetch at 0x600000 (records 38, 39): their guest-page fault on the PTE read is
    cause 23 and 20 in the spec and the library, 21 on QEMU (rv-implicit-cause); the load (record 37) agrees."""
    got, _ = hw_run_report(ROOT + "/scenarios/riscv_vs.yaml", "qemu-riscv64")
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"]) == (42, 42, 40, 0)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [("rv-implicit-cause", [38, 39])]


def test_hw_run_probes_a_scenario_with_pmp_under_the_images_own_pmp():
    """scenarios/riscv_pmp.yaml: the image keeps its PMP (entry 0 NAPOT RWX over everything) and builds each
    probe's tables where the case puts them, so the scenario's entries, which name host addresses of the
    simulated machine, cannot be run; hw run says so and the library answers without them: 11 probes (3 regions'
    first and last words and one GPA past the width; the VS-stage leaves of VA 0x400000, 0x402000 and 0x600000
    and one non-canonical VA), 33 accesses, all run and matched. Before, the library answered with the scenario's
    PMP and 3 accesses were not run."""
    result = hw_run_cmd(ROOT + "/scenarios/riscv_pmp.yaml", "--backend", "qemu-riscv64", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not the scenario's pmp; the library answers so too" in result.stderr
    got = json.loads(result.stdout)
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"]) == (33, 33, 33, 0)


def test_hw_run_explains_the_hs_level_mxr_by_its_row(tmp_path):
    """The HS-level MXR (hs_mxr: true) makes the execute-only page readable by a load in the library; QEMU 7.2
    reads the guest's MXR for the G-stage instead and gives a load guest-page fault at the GPA (rv-gstage-mxr-hs):
    explained, exactly that trap. The page's first and last word, 2^41 | its base: 3 GPAs, 9 accesses; the loads
    of the first two (records 1 and 4) are the row's, the rest match (stores: no W; fetches complete)."""
    path = tmp_path / "mxr.yaml"
    path.write_text("arch: riscv64\nstage2: {format: sv39x4, hs_mxr: true}\n"
                    "memory_regions:\n  - {gpa: 0x81010000, size: 0x1000, flags: 0x4, type: alloc}\n")
    got, _ = hw_run_report(path, "qemu-riscv64")
    assert (got["accesses"], got["run"], got["matched"], got["unexplained"]) == (9, 9, 7, 0)
    assert [(d["id"], d["records"]) for d in got["deviations"]] == [("rv-gstage-mxr-hs", [1, 4])]


def test_hw_run_refuses_what_does_not_fit_the_backend():
    result = hw_run_cmd(ROOT + "/scenarios/ok.yaml", "--backend", "qemu-riscv64")
    assert result.returncode == 2 and "runs riscv64 scenarios (arch: riscv64); this one is x86_64" in result.stderr
    result = hw_run_cmd(ROOT + "/scenarios/riscv_vs.yaml", "--backend", "qemu-riscv64", "--trace", "x.nwt")
    assert result.returncode == 2
    assert "not with qemu-riscv64: it probes the scenario's translation regime" in result.stderr


def random_vs_scenario(rng):
    """A riscv64 scenario with a hostile guest over an Sv39x4, Sv48x4 or Sv57x4 G-stage: Sv39, Sv48 or Sv57
    tables in an allocated region at GPA 0x81000000 (the G-stage's 4 KiB leaves there, some edited to lose U, W
    or R), leaves of every level onto passed-through RAM at 0x80000000 with random R/W/X/U/G/A/D and, now and
    then, a reserved bit, PBMT, N or V clear, a NAPOT leaf (Svnapot on or off), a pointer to a table the G-stage
    does not map, VS-mode or VU-mode, SUM and MXR, the HS-level MXR, Svade or Svadu."""
    levels = rng.choice([3, 3, 4, 5])
    tables = [0x81000000 + k * 0x1000 for k in range(6)]
    writes = {}

    def leaf(pa):
        flags = rng.choice([0xCF, 0xC7, 0x43, 0x4B, 0x49, 0xDF, 0xD7, 0x53, 0x5B]) | rng.choice([0, 0, 0x20])
        if rng.random() < 0.2:
            flags &= ~rng.choice([0x40, 0x80, 0xC0])
        value = (pa >> 12) << 10 | flags
        bad = rng.random()
        if bad < 0.08:
            value |= rng.choice([1 << 54, 1 << 61, 1 << 63, 0x4 | 0x2 ^ 0x2])
        elif bad < 0.14:
            value &= ~1
        return value

    # The root (tables[0]); with Sv48 and Sv57 the tables below root[0] down to the level-2 one; then level 1.
    top = levels - 3
    for i in range(top):
        writes[tables[i]] = [(tables[i + 1] >> 12) << 10 | 1]
    upper = tables[top]
    l1, l0 = tables[top + 1], tables[top + 2]
    writes[upper] = [(l1 >> 12) << 10 | 1, leaf(0x80000000)]   # [0]: level 1; [1]: a 1 GiB leaf
    writes[l1] = [0, 0, (l0 >> 12) << 10 | 1, leaf(0x80200000), (0x90001000 >> 12) << 10 | 1]
    writes[l0] = [leaf(0x80010000 + i * 0x1000) for i in range(8)] + [leaf(0x81008000), leaf(0x10000000)]
    # VA 0x410000-0x41ffff: a NAPOT leaf (N, ppn[0][3:0] 1000) onto the 64 KiB at 0x80100000, as each of its 16
    # PTEs holds it; reserved where the scenario has no Svnapot.
    writes[l0] += [0] * 6 + [leaf(0x80100000) | 8 << 10 | 1 << 63] * 16
    napot = rng.choice(["true", "false"])
    edits = [f"    - {{gpa: {page:#x}, level: 0, clear: {rng.choice([0x10, 0x4, 0x2])}}}"
             for page in (l1, l0) if rng.random() < 0.3]
    vsatp = (levels + 5) << 60 | tables[0] >> 12
    lines = ["arch: riscv64", "host: {memory: 4G, seed: 1}", "stage2:",
             f"  format: {rng.choice(['sv39x4', 'sv39x4', 'sv48x4', 'sv57x4'])}",
             f"  adue: {rng.choice(['true', 'false'])}", f"  hs_mxr: {rng.choice(['true', 'false'])}",
             f"  napot: {napot}"]
    if edits:
        lines += ["  edits:"] + edits
    lines += ["memory_regions:",
              "  - {gpa: 0x10000000, size: 0x1000, flags: 0x13, type: mmio}",
              "  - {gpa: 0x80000000, size: 0x400000, flags: 0x7, type: identical}",
              "  - {gpa: 0x81000000, size: 0x10000, flags: 0x3, type: alloc}",
              "cpu:", f"  vsatp: {vsatp:#x}", f"  privilege: {rng.choice(['vs', 'vu'])}",
              f"  vsstatus: {rng.choice([0, 1 << 18, 1 << 19, 3 << 18]):#x}",
              f"  henvcfg: {rng.choice([0, 1 << 61]):#x}", "guest:", "  writes:"]
    lines += [f"    - {{gpa: {gpa:#x}, values: [{', '.join(hex(v) for v in values)}]}}"
              for gpa, values in writes.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(24 if s2_oracle.FULL else 6))
def test_hw_run_on_random_vs_stage_scenarios_has_no_unexplained_mismatch(tmp_path, seed):
    """Each probe the case compiler can stand for runs, and QEMU gives the library's answer or a listed row's."""
    path = tmp_path / "vs.yaml"
    path.write_text(random_vs_scenario(__import__("random").Random(SEED + seed)))
    result = hw_run_cmd(path, "--backend", "qemu-riscv64", "--json")
    assert result.returncode == 0, path.read_text() + result.stdout + result.stderr
    got = json.loads(result.stdout)
    assert got["unexplained"] == 0 and got["run"] > 30, result.stdout
    assert {d["id"] for d in got["deviations"]} <= set(DEVIATIONS), result.stdout
