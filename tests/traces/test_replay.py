"""`nestwalk replay` as a user runs it: the bundled traces (text, binary and
zstd forms), a deliberately wrong expectation, --no-tlb on the stale-TLB case,
--json, --max-mismatches, and bad input.

The bundled traces carry expectations derived by hand from the SDM and the APM
(the comment beside each says why); the checks here count what the trace files
say (records, outcome kinds, invalidations) independently of the program."""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
EPT_SCENARIO = ROOT / "scenarios" / "replay_ept.yaml"
NPT_SCENARIO = ROOT / "scenarios" / "replay_npt.yaml"
EPT_TRACE = ROOT / "traces" / "replay_ept.nwt.txt"
NPT_TRACE = ROOT / "traces" / "replay_npt.nwt.txt"
LACKEY_SCENARIO = ROOT / "traces" / "lackey" / "gzip.yaml"
LACKEY_TRACE = ROOT / "traces" / "lackey" / "gzip.nwt.zst"
ALL_OUTCOMES = ["ok", "page_fault", "ept_violation", "ept_misconfig", "general_protection", "mmio", "rom_write"]


def run(*args, timeout=120):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def records(trace):
    """The record lines of a text trace (keyword first), without the header and comments."""
    lines = []
    for line in trace.read_text().splitlines()[1:]:
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def scenario_without_trace(tmp_path, scenario):
    """A copy of a bundled scenario that names no trace, so --trace decides."""
    text = "".join(line for line in scenario.read_text().splitlines(keepends=True) if not line.startswith("trace:"))
    path = tmp_path / scenario.name
    path.write_text(text)
    return path


def replay_json(*args):
    result = run("replay", *args, "--json")
    return result, json.loads(result.stdout)


def test_bundled_ept_trace_matches_every_expectation():
    lines = records(EPT_TRACE)
    result = run("replay", EPT_SCENARIO)
    assert result.returncode == 0, result.stdout + result.stderr
    expects = [l for l in lines if l.startswith("expect ")]
    assert f"expectations  {len(expects)} checked, 0 mismatched" in result.stdout
    accesses = sum(l.startswith("access ") for l in lines)
    assert f"accesses {accesses}," in result.stdout
    # Every outcome kind an EPT machine can give appears, as the trace expects it.
    for kind in ALL_OUTCOMES:
        want = sum(f"outcome={kind} " in l + " " for l in expects)
        assert want >= 1, kind
        assert re.search(rf"\b{kind} {want}\b", result.stdout), (kind, result.stdout)
    # Every invalidation kind; one INVPCID is refused, said with its record and why: type 1 for PCID 5 with
    # CR4.PCIDE=0 is #GP (Vol. 2 INVPCID, protected-mode exceptions).
    counts = {k: sum(l.startswith(k + " ") for l in lines) for k in ("invlpg", "invpcid", "invvpid", "invept")}
    assert all(counts.values()), counts
    refused = lines.index("invpcid type=0x1 pcid=0x5 gva=0x0") + 1  # records are numbered from 1
    assert (f"invalidations invlpg {counts['invlpg']}, invpcid {counts['invpcid']}, invvpid {counts['invvpid']}, "
            f"invept {counts['invept']} (1 refused: record {refused}, invpcid type=0x1 pcid=0x5: "
            "#GP (type 0 or 1 with a PCID other than 0 while CR4.PCIDE=0))\n") in result.stdout
    assert "populated     1 lazy page(s)" in result.stdout
    assert re.search(r"throughput    \d+ accesses/s", result.stdout)
    # Piped: no progress line.
    assert result.stderr == ""


def test_several_refused_invalidations_name_the_first(tmp_path):
    # INVVPID type 1 (single-context) for VPID 0 fails VMfailValid (Vol. 3C, INVVPID), INVPCID type 1 for PCID 5
    # with CR4.PCIDE=0 is #GP; the report counts both and names the first, record 2 (the mark is record 1).
    trace = tmp_path / "t.nwt.txt"
    trace.write_text("nestwalk-trace 1\nmark label=\"x\"\ninvvpid type=0x1 vpid=0x0 gva=0x0\n"
                     "invpcid type=0x1 pcid=0x5 gva=0x0\nend\n")
    result = run("replay", scenario_without_trace(tmp_path, EPT_SCENARIO), "--trace", trace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("invalidations invlpg 0, invpcid 1, invvpid 1, invept 0 (2 refused, the first: record 2, "
            "invvpid type=0x1 vpid=0x0: VMfailValid (VPID 0 with a type other than 2, all-context))\n") in result.stdout


def test_bundled_npt_trace_gives_npf():
    result, report = replay_json(NPT_SCENARIO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["outcomes"]["npf"] == 2 and report["outcomes"]["ok"] == 1
    assert report["mismatches"] == 0 and report["expectations"] == 3
    # The first walk from CR3: 24 references (4 x (1 + 4) + 4 with 4 KiB nested pages); the other two go on
    # from the PDE it cached (SDM Vol. 3A Sec. 4.10.3.2): the PTE at its table's cached host address and 4
    # nested entries for the final GPA, 5 each.
    assert report["refs_per_walk"] == {"24": 1, "5": 2}
    assert report["psc"]["hits"] == 2


def test_json_report_is_one_well_formed_object():
    result, report = replay_json(EPT_SCENARIO)
    assert result.returncode == 0
    lines = records(EPT_TRACE)
    assert lines[-1] == "end" and report["records"] == len(lines) - 1  # the end record closes, it is not applied
    assert report["accesses"] == sum(l.startswith("access ") for l in lines)
    assert report["marks"] == sum(l.startswith("mark ") for l in lines)
    assert report["tlb"]["enabled"] is True
    # At least every expectation of 0 references on an ok access is a TLB hit.
    zero_ref_hits = sum(l.startswith("expect outcome=ok") and "refs=0x0" in l for l in lines)
    assert report["tlb"]["hits"] >= zero_ref_hits > 0
    assert 0 < report["tlb"]["hit_rate"] < 1
    assert sum(report["outcomes"].values()) == report["accesses"]
    assert sum(report["refs_per_walk"].values()) == report["walks"]
    assert "first_mismatch" not in report


def test_binary_and_zstd_forms_replay_the_same(tmp_path):
    scenario = scenario_without_trace(tmp_path, EPT_SCENARIO)
    _, text_report = replay_json(scenario, "--trace", EPT_TRACE)
    for name, extra in (("replay.nwt", []), ("replay.nwt.zst", ["--zstd"])):
        out = tmp_path / name
        conv = run("trace", "convert", EPT_TRACE, out, "--to", "binary", *extra)
        assert conv.returncode == 0, conv.stderr
        result, report = replay_json(scenario, "--trace", out)
        assert result.returncode == 0, result.stderr
        for key in ("records", "accesses", "outcomes", "invalidations", "refs_per_walk", "tlb", "expectations"):
            assert report[key] == text_report[key], key


def test_wrong_expectation_is_explained(tmp_path):
    lines = EPT_TRACE.read_text().splitlines(keepends=True)
    # The MMIO access really gives qualification 0x781 (read, GLA valid, final, user, writable); expect 0x783.
    index = next(i for i, l in enumerate(lines) if "exit_qualification=0x781" in l)
    lines[index] = lines[index].replace("exit_qualification=0x781", "exit_qualification=0x783")
    trace = tmp_path / "wrong.nwt.txt"
    trace.write_text("".join(lines))
    record = len(records(trace)[: records(trace).index(lines[index].split("#")[0].strip()) + 1])
    scenario = scenario_without_trace(tmp_path, EPT_SCENARIO)
    result = run("replay", scenario, "--trace", trace)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f'mismatch at record {record} (after mark "mmio"): read of 4 byte(s) at gva 0x402000 cpl 3' in result.stdout
    assert "exit_qualification: expected 0x783, got 0x781" in result.stdout
    # Explained like translate --explain: the guest levels and the stage-2 entries read.
    assert "PTE" in result.stdout and "stage-2" in result.stdout
    assert "expectations  43 checked, 1 mismatched" in result.stdout
    result, report = replay_json(scenario, "--trace", trace)
    assert result.returncode == 1
    first = report["first_mismatch"]
    assert first["record"] == record and first["mark"] == "mmio" and first["from_tlb"] is False
    assert first["fields"] == [{"field": "exit_qualification", "expected": "0x783", "got": "0x781"}]
    assert first["walk"]["outcome"] == "ept_violation"
    # --no-explain: the same mismatch and counts, without the level-by-level walk.
    result = run("replay", scenario, "--trace", trace, "--no-explain")
    assert result.returncode == 1
    assert "exit_qualification: expected 0x783, got 0x781" in result.stdout
    assert "stage-2" not in result.stdout
    assert "expectations  43 checked, 1 mismatched" in result.stdout


def test_a_walk_that_wrote_nothing_is_explained_without_the_tlb(tmp_path):
    """--no-tlb records a walk only when its expectation mismatches: the second read of a page (every A flag
    set by the first: nothing to write) is answered unrecorded, then walked again with the record for the
    explanation, which must list the same entries as the TLB run's explanation of the tables in memory."""
    trace = tmp_path / "twice.nwt.txt"
    # The bundled trace's first access really translates (GPA 0x5000); the second read expects a fault.
    trace.write_text("nestwalk-trace 1\naccess gva=0x400000 size=0x4 type=read cpl=0x3\n"
                     "access gva=0x400000 size=0x4 type=read cpl=0x3\nexpect outcome=page_fault\nend\n")
    explained = {}
    for mode, extra in (("tlb", []), ("no-tlb", ["--no-tlb"])):
        result = run("replay", EPT_SCENARIO, "--trace", trace, *extra)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "outcome: expected page_fault, got ok" in result.stdout
        lines = result.stdout.splitlines()
        start = next(i for i, l in enumerate(lines) if "outcome: expected" in l)
        explained[mode] = [l for l in lines[start + 1:] if "PTE" in l or "PML4E" in l or "stage-2" in l]
        assert explained[mode], result.stdout
    assert explained["no-tlb"] == explained["tlb"]


def test_trace_option_wins_over_the_scenario_trace(tmp_path):
    """A scenario that names its trace still replays the one --trace gives (e.g. an observed hardware trace)."""
    trace = tmp_path / "one.nwt.txt"
    # The first access of the bundled trace, expected to fault: it really translates (GPA 0x5000).
    trace.write_text("nestwalk-trace 1\naccess gva=0x400000 size=0x4 type=read cpl=0x3\n"
                     "expect outcome=page_fault\nend\n")
    result = run("replay", EPT_SCENARIO, "--trace", trace)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mismatch at record 2" in result.stdout  # the expect record
    assert "expectations  1 checked, 1 mismatched" in result.stdout


def scenarios_naming_a_trace():
    """(scenario, trace) for each bundled scenario with a top-level trace: key (relative to its folder)."""
    pairs = []
    for scenario in sorted((ROOT / "scenarios").glob("*.yaml")):
        for line in scenario.read_text().splitlines():
            if line.startswith("trace:"):
                pairs.append((scenario.name, (scenario.parent / line.split(":", 1)[1].strip()).resolve()))
    return pairs


def test_every_architecture_has_scenarios_replaying_their_bundled_trace():
    """The list below is the bundled one: an aarch64 or riscv64 scenario may name its trace (it was refused at its
    line: "trace are not modelled for it yet")."""
    assert [(name, trace.name) for name, trace in scenarios_naming_a_trace()] == [
        ("arm64_stage1.yaml", "arm64_mmu.nwt.txt"), ("arm64_stage2.yaml", "arm64_stage2.nwt.txt"),
        ("arm64_vms.yaml", "arm64_vms.nwt.txt"), ("replay_ept.yaml", "replay_ept.nwt.txt"),
        ("replay_npt.yaml", "replay_npt.nwt.txt"), ("riscv_gstage.yaml", "riscv_gstage.nwt.txt"),
        ("riscv_pmp.yaml", "riscv_pmp.nwt.txt"), ("riscv_vms.yaml", "riscv_vms.nwt.txt"),
        ("riscv_vs.yaml", "riscv_vs.nwt.txt")]


@pytest.mark.parametrize("scenario, trace", scenarios_naming_a_trace(), ids=lambda v: getattr(v, "name", v))
def test_a_scenario_naming_its_trace_replays_it_green(scenario, trace):
    """`nestwalk replay SCENARIO` without --trace replays the scenario's own trace: every expect record of the
    trace file (counted here from its text) checked, none mismatched, with the TLB model on."""
    expects = sum(line.startswith("expect ") for line in records(trace))
    result, report = replay_json(ROOT / "scenarios" / scenario)
    assert result.returncode == 0, result.stdout + result.stderr
    assert expects > 0 and (report["expectations"], report["mismatches"]) == (expects, 0)


def test_no_explain_meets_the_bundled_expectations():
    # Walks that record only what the TLB needs (or nothing, without a TLB) still give every hand-derived value.
    for scenario, trace in ((EPT_SCENARIO, EPT_TRACE), (NPT_SCENARIO, NPT_TRACE)):
        expects = sum(line.startswith("expect ") for line in records(trace))
        result, report = replay_json(scenario, "--no-explain")
        assert result.returncode == 0, result.stdout + result.stderr
        assert report["expectations"] == expects and report["mismatches"] == 0
    # Without the TLB the walk sees the edited PTE where hardware may still use the old one (GPA 0x5000).
    result = run("replay", EPT_SCENARIO, "--no-tlb", "--no-explain")
    assert result.returncode == 1
    assert "gpa: expected 0x5000, got 0x7000" in result.stdout and "stage-2" not in result.stdout


def test_no_tlb_shows_the_stale_translation():
    with_tlb = run("replay", EPT_SCENARIO)
    assert with_tlb.returncode == 0
    result = run("replay", EPT_SCENARIO, "--no-tlb")
    assert result.returncode == 1
    assert "TLB           off (--no-tlb)" in result.stdout
    # Hardware may keep using the old PTE (GPA 0x5000) until INVLPG; without a TLB the walk sees 0x7000.
    stale = result.stdout[result.stdout.index('(after mark "stale")'):]
    assert "gpa: expected 0x5000, got 0x7000" in stale
    assert "refs: expected 0x0, got 0x18" in stale
    result, report = replay_json(EPT_SCENARIO, "--no-tlb")
    assert report["tlb"] == {"enabled": False, "lookups": 0, "hits": 0, "hit_rate": 0.0}
    assert report["walks"] == report["translations"]


def test_max_mismatches_stops_the_replay():
    result = run("replay", EPT_SCENARIO, "--no-tlb", "--max-mismatches", "1")
    assert result.returncode == 1
    assert "stopping after 1 mismatching expectation(s)" in result.stdout
    assert result.stdout.count("mismatch at record") == 1


def test_lackey_trace_replays_without_a_fault():
    result, report = replay_json(LACKEY_SCENARIO, "--trace", LACKEY_TRACE)
    assert result.returncode == 0, result.stderr
    # traces/lackey/README.md: 2,724,732 accesses, each expected ok.
    assert report["accesses"] == 2724732 and report["outcomes"]["ok"] == 2724732
    assert report["expectations"] == 2724732 and report["mismatches"] == 0
    # 198 pages touched: every walk is a first touch or a write to a clean page (D=0, Sec. 4.8).
    assert 198 <= report["walks"] <= 2 * 198
    # A walk goes on below the deepest paging-structure-cache entry it finds (SDM Vol. 3A Sec. 4.10.3.2), the
    # next table read at its cached host address: from CR3 4 x (1 + 4) + 4 = 24 references; from a PML4E
    # 1 + 2 x (4 + 1) + 4 = 15; from a PDPTE 1 + (4 + 1) + 4 = 10; from a PDE 1 + 4 = 5.
    assert set(report["refs_per_walk"]) <= {"24", "15", "10", "5"}
    assert report["refs_per_walk"].get("24", 0) == report["walks"] - report["psc"]["hits"]
    assert report["psc"]["hits"] > 0
    assert report["tlb"]["hit_rate"] > 0.999


def test_bad_input_exits_2(tmp_path):
    scenario = scenario_without_trace(tmp_path, EPT_SCENARIO)
    result = run("replay", scenario)
    assert result.returncode == 2 and "names no trace" in result.stderr
    result = run("replay", scenario, "--trace", tmp_path / "missing.nwt")
    assert result.returncode == 2 and "missing.nwt" in result.stderr
    truncated = tmp_path / "truncated.nwt.txt"
    truncated.write_text("\n".join(EPT_TRACE.read_text().splitlines()[:20]) + "\n")
    result = run("replay", scenario, "--trace", truncated)
    assert result.returncode == 2 and "end" in result.stderr, result.stderr
    unbacked = tmp_path / "unbacked.nwt.txt"
    unbacked.write_text("nestwalk-trace 1\nmark label=\"x\"\ngpwrite gpa=0x900000 bytes=00\nend\n")
    result = run("replay", scenario, "--trace", unbacked)
    assert result.returncode == 2
    assert "record 2: guest-physical write of 1 bytes at 0x900000: 0x900000 is in no memory region" in result.stderr
    result = run("replay", scenario, "--trace", EPT_TRACE, "--max-mismatches", "0")
    assert result.returncode == 2
    result = run("replay")
    assert result.returncode == 2 and "usage: nestwalk replay" in result.stderr


def test_gpwrite_reaches_ram_whatever_its_ept_entry_says(tmp_path):
    """A guest-physical write goes to the region's memory, not through the EPT's rights:
    replay_ept.yaml's page 0x1f0000 is pass-through RAM whose EPT leaf has W and X without R
    (a misconfiguration, SDM Vol. 3C §29.3.3.1), and 0x601000 is a lazy RAM page never touched
    (populated by the write, as the hypervisor would on the guest's first write)."""
    scenario = scenario_without_trace(tmp_path, EPT_SCENARIO)
    trace = tmp_path / "gpwrite.nwt.txt"
    trace.write_text("nestwalk-trace 1\ngpwrite gpa=0x1f0ff8 bytes=0102030405060708\n"
                     "gpwrite gpa=0x601000 bytes=2a\nend\n")
    result = run("replay", scenario, "--trace", trace, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gpwrites"] == 2
    # Device memory and holes have nothing behind them: refused, saying which.
    for gpa, why in ((0x400010, "0x400010 is MMIO: device memory has no RAM behind it"),
                     (0x1ffffe, "0x200000 is in no memory region")):
        trace.write_text(f"nestwalk-trace 1\ngpwrite gpa={gpa:#x} bytes=01020304\nend\n")
        result = run("replay", scenario, "--trace", trace)
        assert result.returncode == 2
        assert f"record 1: guest-physical write of 4 bytes at {gpa:#x}: {why}" in result.stderr, result.stderr


def test_host_out_of_frames_is_no_memory_not_a_guest_fault(tmp_path):
    """Lazy RAM larger than the simulated host: the accesses past the host's last frame
    are no_memory (the host failed, not the guest), with a warning and exit 1."""
    scenario = tmp_path / "small_host.yaml"
    scenario.write_text("host: {memory: 1M, seed: 1}\n"
                        "ept: {format: ept, levels: 4}\n"
                        "memory_regions:\n"
                        "  - {gpa: 0x1000000, size: 16M, type: alloc, lazy: true}\n"
                        "cpu: {mode: off}\n")
    trace = tmp_path / "touch.nwt.txt"
    # Paging off: each access is its GPA (SDM Vol. 3A §4.1.1); 300 distinct lazy pages.
    trace.write_text("nestwalk-trace 1\n" + "".join(
        f"access gva={0x1000000 + i * 0x1000:#x} size=0x1 type=read cpl=0x0\n" for i in range(300)) + "end\n")
    # 1 MiB is 256 frames; frame 0 is never handed out, 4 hold the EPT tables (PML4, PDPT, PD, PT: every
    # page lies under one 2 MiB PT), 3 the live counts of the PML4, PDPT and PD (a count page each) and 1
    # the ledger of allocated frames: 247 pages get a frame.
    result = run("replay", scenario, "--trace", trace)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "outcomes      ok 247, no_memory 53\n" in result.stdout
    assert "ept_violation" not in result.stdout
    assert "warning: 53 access(es) got no_memory: the simulated host (host.memory 0x100000) had no frame left" \
        in result.stderr
    result, report = replay_json(scenario, "--trace", trace)
    assert result.returncode == 1
    assert report["outcomes"]["no_memory"] == 53 and report["outcomes"]["ept_violation"] == 0
    assert report["outcomes"]["ok"] == 247 and report["populated"] == 247 and report["host_exhausted"] == 53


def test_progress_line_only_on_a_terminal(tmp_path):
    import pty

    scenario = scenario_without_trace(tmp_path, EPT_SCENARIO)
    body = b"access gva=0x400000 size=0x1 type=read cpl=0x3\n" * 600000
    master, slave = pty.openpty()
    proc = subprocess.Popen([NESTWALK, "replay", scenario, "--trace", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=slave)
    # Fed over two seconds through standard input, so the replay runs longer than a second.
    proc.stdin.write(b"nestwalk-trace 1\n")
    for part in range(10):
        proc.stdin.write(body[part * len(body) // 10:(part + 1) * len(body) // 10])
        proc.stdin.flush()
        time.sleep(0.2)
    proc.stdin.write(b"end\n")
    proc.stdin.close()
    stdout = proc.stdout.read()
    assert proc.wait(timeout=600) == 0
    os.close(slave)
    seen = b""
    try:
        while chunk := os.read(master, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(master)
    assert re.search(rb"\rreplay: \d+ records, \d+ accesses, \d+ accesses/s", seen), seen
    assert seen.endswith(b"\r\x1b[K")  # the line is cleared before the report
    assert b"accesses 600000," in stdout and b"replay:" not in stdout
