"""`nestwalk replay` of riscv64 traces on scenarios/riscv_vs.yaml (VS-stage Sv39 over G-stage Sv39x4) and
riscv_gstage.yaml (vsatp Bare): the bundled hand-written traces (their expectations derived from the privileged
spec beside each record) in text and binary forms with the TLB model on and off, the stale translations only the
TLB model gives (kept until HFENCE.VVMA or HFENCE.GVMA covers them), a deliberately wrong expectation named in
both reports, and the inputs the model refuses (exit 2 with the record).

The counts checked here come from the trace files themselves, not from the program."""
import json
import os
import pathlib
import re
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
VS = ROOT / "scenarios" / "riscv_vs.yaml"
GSTAGE = ROOT / "scenarios" / "riscv_gstage.yaml"
TRACES = ROOT / "traces"
VS_TRACE = TRACES / "riscv_vs.nwt.txt"
GSTAGE_TRACE = TRACES / "riscv_gstage.nwt.txt"
PMP = ROOT / "scenarios" / "riscv_pmp.yaml"
PMP_TRACE = TRACES / "riscv_pmp.nwt.txt"  # PMP-refused accesses, one on a page the TLB holds
STALE = re.compile(r"expect outcome=ok gpa=\S+ hpa=\S+\s+# stale; fresh (gpa=\S+ hpa=\S+)")


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def records(trace):
    """The record lines of a text trace (keyword first), without the header and comments."""
    return [line.split("#", 1)[0].strip() for line in pathlib.Path(trace).read_text().splitlines()[1:]
            if line.split("#", 1)[0].strip()]


def replay_json(scenario, trace, *extra):
    result = run("replay", scenario, "--trace", trace, "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout else None


def fresh(tmp_path):
    """riscv_vs.nwt.txt with each stale expectation replaced by what the tables give (its comment's values)."""
    lines = [("expect outcome=ok " + m.group(1)) if (m := STALE.match(line)) else line
             for line in VS_TRACE.read_text().splitlines()]
    path = tmp_path / "fresh.nwt.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("scenario, trace", [(VS, VS_TRACE), (GSTAGE, GSTAGE_TRACE), (PMP, PMP_TRACE)])
@pytest.mark.parametrize("tlb", [[], ["--no-tlb"]])
@pytest.mark.parametrize("form", ["text", "binary"])
def test_the_bundled_traces_replay_green(scenario, trace, tlb, form, tmp_path):
    if tlb and trace == VS_TRACE:
        trace = fresh(tmp_path)  # without the TLB model nothing is stale
    text = trace
    if form == "binary":
        out = tmp_path / "t.nwt"
        conv = run("trace", "convert", trace, out, "--to", "binary")
        assert conv.returncode == 0, conv.stderr
        trace = out
    recs = records(text)
    result, got = replay_json(scenario, trace, *tlb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert got["accesses"] == sum(r.startswith("access ") for r in recs)
    assert got["expectations"] == sum(r.startswith("expect ") for r in recs) and got["mismatches"] == 0
    assert got["invalidations"]["fence"] == sum(r.startswith("fence ") for r in recs)
    outcomes = [r.split()[1].split("=")[1] for r in recs if r.startswith("expect ")]
    for name in set(outcomes):
        assert got["outcomes"][name] == outcomes.count(name), name


def test_stale_entries_are_the_tlb_models_alone(tmp_path):
    # With the TLB off the first stale expectation (record numbers count every record line) mismatches: the
    # tables already give the fresh translation.
    numbered = [line for line in VS_TRACE.read_text().splitlines()[1:] if line.split("#", 1)[0].strip()]
    stale_record = 1 + next(i for i, line in enumerate(numbered) if STALE.match(line))
    result = run("replay", VS, "--trace", VS_TRACE, "--no-tlb")
    assert result.returncode == 1, result.stdout
    assert f"mismatch at record {stale_record} " in result.stdout
    assert "gpa: expected 0x80010123, got 0x80012123" in result.stdout
    # With the TLB on, the fresh values mismatch there instead, and the report says the TLB answered.
    result = run("replay", VS, "--trace", fresh(tmp_path))
    assert result.returncode == 1, result.stdout
    assert f"mismatch at record {stale_record} " in result.stdout
    assert "gpa: expected 0x80012123, got 0x80010123" in result.stdout
    assert "came from the RISC-V TLB" in result.stdout


def test_a_wrong_expectation_is_named(tmp_path):
    # VA 0x400123 costs 11 references (riscv_vs.nwt.txt derives them); 12 is wrong.
    trace = tmp_path / "wrong.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=riscv64\naccess gva=0x400123 size=0x8 type=read priv=0x0\n"
                     "expect outcome=ok refs=0xc\n# VA 0x401008 is read-only: a store faults\n"
                     "access gva=0x401008 size=0x8 type=write priv=0x0\nexpect outcome=ok\nend\n")
    result = run("replay", VS, "--trace", trace)
    assert result.returncode == 1
    assert "mismatch at record 2 " in result.stdout
    assert "refs: expected 0xc, got 0xb" in result.stdout
    result, got = replay_json(VS, trace)
    assert result.returncode == 1
    first = got["first_mismatch"]
    assert first["fields"] == [{"field": "refs", "expected": "0xc", "got": "0xb"}]
    assert (first["walk"]["outcome"], first["walk"]["gpa"], first["walk"]["privilege"]) == \
        ("ok", "0x80010123", "vu")
    # The store's page fault: its trap CSRs in the walk (scause 15, stval the address).
    trace.write_text("nestwalk-trace 2 arch=riscv64\naccess gva=0x401008 size=0x8 type=write priv=0x0\n"
                     "expect outcome=ok\nend\n")
    result, got = replay_json(VS, trace)
    walk = got["first_mismatch"]["walk"]
    assert got["first_mismatch"]["fields"][0]["got"] == "page_fault"
    assert (walk["scause"], walk["stval"]) == (15, "0x401008")


@pytest.mark.parametrize("form", ["text", "binary"])
def test_a_wrong_trap_csr_is_named(form, tmp_path):
    # VA 0x600000: the G-stage refuses the VS-stage table at GPA 0x90001000 (riscv_vs.nwt.txt derives it): htval is
    # 0x90001000 >> 2 = 0x24000400 and htinst the PTE read's 0x3000; 0x24000401 and 0 are wrong. VA 0x401008's
    # store page fault has scause 15 (0xf), not 13.
    trace = tmp_path / "wrong.nwt.txt"
    trace.write_text("nestwalk-trace 3 arch=riscv64\naccess gva=0x600000 size=0x8 type=read priv=0x0\n"
                     "expect outcome=guest_page_fault scause=0x15 stval=0x600000 htval=0x24000401 htinst=0x0\n"
                     "access gva=0x401008 size=0x8 type=write priv=0x0\nexpect scause=0xd\nend\n")
    if form == "binary":
        conv = run("trace", "convert", trace, tmp_path / "wrong.nwt", "--to", "binary")
        assert conv.returncode == 0, conv.stderr
        trace = tmp_path / "wrong.nwt"
    result = run("replay", VS, "--trace", trace)
    assert result.returncode == 1
    assert "mismatch at record 2 " in result.stdout
    assert "  htval: expected 0x24000401, got 0x24000400\n  htinst: expected 0x0, got 0x3000\n" in result.stdout
    assert "scause: expected 0xd, got 0xf" in result.stdout
    result, got = replay_json(VS, trace)
    assert result.returncode == 1 and got["mismatches"] == 2
    first = got["first_mismatch"]
    assert first["fields"] == [{"field": "htval", "expected": "0x24000401", "got": "0x24000400"},
                               {"field": "htinst", "expected": "0x0", "got": "0x3000"}]
    assert (first["walk"]["htval"], first["walk"]["htinst"]) == ("0x24000400", "0x3000")


@pytest.mark.parametrize("body, message", [
    # MODE 1 is reserved (privileged spec, satp: MODE 1-7 reserved): the next access stops at the write (record 2,
    # after the priv every body starts with).
    ("reg vsatp=0x1000000000000000\naccess gva=0x400000 size=0x1 type=read priv=0x0\n",
     "vsatp as written up to record 2 (0x1000000000000000) is refused: a reserved MODE"),
    # hstatus.VTVM (bit 20) makes SFENCE.VMA in VS-mode a virtual-instruction exception.
    ("reg hstatus=0x100000\nfence op=sfence.vma rs1=x0 rs2=x0\n",
     "sfence.vma in VS-mode with hstatus.VTVM=1 raises a virtual-instruction exception (scause 22)"),
    ("reg priv=0x0\nfence op=sfence.vma rs1=x0 rs2=x0\n", "sfence.vma in VU-mode raises a virtual-instruction"),
    # rs2 of HFENCE.VVMA holds an ASID: bits above 16 are reserved, which the model refuses.
    ("fence op=hfence.vvma rs1=x0 rs2=0x10000\n", "hfence.vvma rs1=x0 rs2=0x10000: "),
    # Another G-stage root than the scenario's VMs'.
    ("reg hgatp=0x8000100000080400\n", "no VM of the scenario has that MODE and root"),
    ("reg sstatus=0x80000\n", "the G-stage is built with MXR clear (stage2.hs_mxr)"),
])
def test_what_replay_refuses(body, message, tmp_path):
    trace = tmp_path / "bad.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=riscv64\nreg priv=0x1\n" + body + "end\n")
    result = run("replay", VS, "--trace", trace)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
