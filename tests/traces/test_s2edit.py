"""The hypervisor's edits of its second stage (s2edit, traces/FORMAT.md version 3) on each architecture: the
hand-written traces (every expectation derived beside it) replay green in text and binary with the TLB model on,
where a translation made through the old entry stays until INVEPT, TLBI IPAS2E1 + VMALLE1 or HFENCE.GVMA covers
it; with --no-tlb the tables' fresh answers hold and the stale ones mismatch, named by field. Nothing leaks, and
what the record or replay refuses is named with its line.

The counts checked here come from the trace files themselves, not from the program."""
import json
import os
import pathlib
import re
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
CASES = {
    "x86_64": (ROOT / "scenarios" / "replay_ept.yaml", ROOT / "traces" / "ept_s2edit.nwt.txt"),
    "aarch64": (ROOT / "scenarios" / "arm64_stage2.yaml", ROOT / "traces" / "arm64_s2edit.nwt.txt"),
    "riscv64": (ROOT / "scenarios" / "riscv_gstage.yaml", ROOT / "traces" / "riscv_s2edit.nwt.txt"),
}
STALE = re.compile(r"^expect ([^#]*?)\s+# stale; fresh (.*)$")


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def record_lines(text):
    """The record lines (keyword first, comments dropped), header excluded: record numbers count these."""
    return [line.split("#", 1)[0].strip() for line in text.splitlines()[1:] if line.split("#", 1)[0].strip()]


def fresh(trace, tmp_path):
    """The trace with each stale expectation replaced by the fresh one beside it."""
    lines = [("expect " + m.group(2)) if (m := STALE.match(line)) else line for line in trace.read_text().splitlines()]
    path = tmp_path / "fresh.nwt.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(scenario, trace, *extra):
    result = run("replay", scenario, "--trace", trace, "--json", *extra)
    assert "leaked" not in result.stderr, result.stderr
    return result, json.loads(result.stdout) if result.stdout else None


@pytest.mark.parametrize("arch", sorted(CASES))
@pytest.mark.parametrize("form", ["text", "binary"])
@pytest.mark.parametrize("tlb", [[], ["--no-tlb"]])
def test_edits_replay_green(arch, form, tlb, tmp_path):
    scenario, trace = CASES[arch]
    text = trace.read_text()
    assert text.startswith(f"nestwalk-trace 3 arch={arch}\n")
    if tlb:
        trace = fresh(trace, tmp_path)  # without the TLB model nothing is stale
    if form == "binary":
        out = tmp_path / "t.nwt"
        conv = run("trace", "convert", trace, out, "--to", "binary")
        assert conv.returncode == 0, conv.stderr
        assert out.read_bytes()[8:12] == bytes([3, 0, list(CASES).index(arch), 0])  # version 3, the architecture
        trace = out
    recs = record_lines(text)
    result, got = replay(scenario, trace, *tlb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert got["s2edits"] == sum(r.startswith("s2edit ") for r in recs) == 2
    assert got["expectations"] == sum(r.startswith("expect ") for r in recs) and got["mismatches"] == 0
    assert got["accesses"] == sum(r.startswith("access ") for r in recs)


# The first stale expectation's first field the tables answer otherwise: the moved page's host address on x86, a
# stage-2 abort or guest-page fault where the others allow no more store.
FIRST_FIELD = {"x86_64": ("hpa", "0x5000", "0x9000"), "aarch64": ("outcome", "ok", "stage2_abort"),
               "riscv64": ("outcome", "ok", "guest_page_fault")}


@pytest.mark.parametrize("arch", sorted(CASES))
def test_the_stale_answers_are_the_tlb_models_alone(arch, tmp_path):
    scenario, trace = CASES[arch]
    lines = [line for line in trace.read_text().splitlines()[1:] if line.split("#", 1)[0].strip()]
    stale_records = [i + 1 for i, line in enumerate(lines) if STALE.match(line)]
    assert len(stale_records) >= 3
    # Without the TLB every stale expectation mismatches, and only those: the tables already give the fresh answer.
    result, got = replay(scenario, trace, "--no-tlb", "--max-mismatches", "100")
    assert result.returncode == 1
    assert got["mismatches"] == len(stale_records)
    assert got["first_mismatch"]["record"] == stale_records[0]
    field, expected, now = FIRST_FIELD[arch]
    assert got["first_mismatch"]["fields"][0] == {"field": field, "expected": expected, "got": now}
    # With it, the fresh answers mismatch there instead, and the report says the TLB answered.
    result = run("replay", scenario, "--trace", fresh(trace, tmp_path))
    assert result.returncode == 1
    assert f"mismatch at record {stale_records[0]} " in result.stdout
    assert "came from the" in result.stdout and "TLB" in result.stdout


@pytest.mark.parametrize("arch, body, message", [
    # Each architecture numbers its levels as its manual and the scenario's edits do.
    ("x86_64", "s2edit gpa=0x5000 level=0x0 clear=0x1 set=0x0", "s2edit level outside 1 (the PTE) .. 5"),
    ("aarch64", "s2edit gpa=0x40000000 level=0x4 clear=0x80 set=0x0", "s2edit level outside the Arm ARM's 0 .. 3"),
    ("riscv64", "s2edit gpa=0x80000000 level=0x5 clear=0x4 set=0x0", "s2edit level outside the privileged spec's"),
    ("riscv64", "s2edit gpa=0x80000000 level=0x1 clear=0x0 set=0x0", "an s2edit that clears and sets nothing"),
    ("riscv64", "s2edit gpa=0x80000000 level=0x1 clear=0x4", "s2edit: missing field 'set'"),
])
def test_bad_records_are_named_by_line(arch, body, message, tmp_path):
    path = tmp_path / "bad.nwt.txt"
    path.write_text(f"nestwalk-trace 3 arch={arch}\n{body}\nend\n")
    result = run("trace", "stats", path)
    assert result.returncode == 2
    assert f"line 2, column 1: {message}" in result.stderr, result.stderr
    # Version 2 has no s2edit.
    path.write_text(f"nestwalk-trace 2 arch={arch}\ns2edit gpa=0x1000 level=0x1 clear=0x1 set=0x0\nend\n")
    result = run("trace", "stats", path)
    assert result.returncode == 2
    assert "line 2, column 1: s2edit needs version 3" in result.stderr, result.stderr


@pytest.mark.parametrize("arch, edit, message", [
    # The EPT PTE's address bits of a table pointer are the structure's: a level-2 entry (the PDE) points to a
    # table, and moving it is refused, changing nothing.
    ("x86_64", "gpa=0x5000 level=0x2 clear=0xfffff000 set=0x0", "would change a table address"),
    # No level-3 (4 KiB) descriptor under the 2 MiB block at 0x40000000.
    ("aarch64", "gpa=0x40000000 level=0x3 clear=0x80 set=0x0", "no entry at that level on the path"),
    # Clearing every bit is an unmap, not an edit.
    ("riscv64", "gpa=0x80000000 level=0x1 clear=0xffffffffffffffff set=0x0", "clear the entry to zero"),
])
def test_refused_edits_stop_the_replay_with_the_record(arch, edit, message, tmp_path):
    scenario, _ = CASES[arch]
    path = tmp_path / "bad.nwt.txt"
    path.write_text(f"nestwalk-trace 3 arch={arch}\nmark label=\"m\"\ns2edit {edit}\nend\n")
    result = run("replay", scenario, "--trace", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "record 2" in result.stderr and message in result.stderr, result.stderr
    assert "leaked" not in result.stderr
