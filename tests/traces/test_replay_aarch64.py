"""`nestwalk replay` of aarch64 traces on scenarios/arm64_stage2.yaml and arm64_stage1.yaml: the bundled
hand-written traces (their expectations derived from the Arm ARM beside each record) in text, binary and zstd
forms with the TLB model on and off, the TLB trace's stale translations (which only the TLB model gives), a
deliberately wrong expectation named in both reports, and the inputs the model refuses (exit 2 with the record).

The counts checked here come from the trace files themselves, not from the program."""
import json
import os
import pathlib
import re
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "arm64_stage2.yaml"
STAGE1_SCENARIO = ROOT / "scenarios" / "arm64_stage1.yaml"
SCENARIO_64K = ROOT / "scenarios" / "arm64_stage2_64k.yaml"
TRACES = ROOT / "traces"
# The same answers with the TLB on and off: each trace with its scenario.
TLB_FREE = [("arm64_stage2.nwt.txt", SCENARIO), ("arm64_stage1.nwt.txt", SCENARIO),
            ("arm64_mmu.nwt.txt", STAGE1_SCENARIO), ("arm64_stage2_64k.nwt.txt", SCENARIO_64K)]
TLB_TRACE = TRACES / "arm64_tlb.nwt.txt"


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def records(trace):
    """The record lines of a text trace (keyword first), without the header and comments."""
    return [line.split("#", 1)[0].strip() for line in trace.read_text().splitlines()[1:]
            if line.split("#", 1)[0].strip()]


def replay_json(trace, *extra, scenario=SCENARIO):
    result = run("replay", scenario, "--trace", trace, "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout else None


def outcomes_in(lines):
    counts = {}
    for line in lines:
        match = re.match(r"expect outcome=(\w+)", line)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def binary_forms(trace, tmp_path):
    """The trace converted to binary and to zstd-compressed binary."""
    forms = []
    for name, extra in (("t.nwt", []), ("t.nwt.zst", ["--zstd"])):
        out = tmp_path / name
        conv = run("trace", "convert", trace, out, "--to", "binary", *extra)
        assert conv.returncode == 0, conv.stderr
        forms.append(out)
    return forms


@pytest.mark.parametrize("name, scenario", TLB_FREE, ids=[t[0] for t in TLB_FREE])
@pytest.mark.parametrize("tlb", [[], ["--no-tlb"]], ids=["tlb", "no-tlb"])
def test_bundled_trace_matches_every_expectation(name, scenario, tlb, tmp_path):
    trace = TRACES / name
    lines = records(trace)
    for form in [trace, *binary_forms(trace, tmp_path)]:
        result, report = replay_json(form, *tlb, scenario=scenario)
        assert result.returncode == 0, result.stdout + result.stderr
        assert report["expectations"] == sum(l.startswith("expect ") for l in lines)
        assert report["mismatches"] == 0
        assert report["accesses"] == sum(l.startswith("access ") for l in lines)
        assert report["register_writes"] == sum(l.startswith("reg ") for l in lines)
        assert report["invalidations"]["tlbi"] == sum(l.startswith("tlbi ") for l in lines)
        # Every access of these traces has an expectation naming its outcome: the counts are the file's.
        assert {k: v for k, v in report["outcomes"].items() if v} == outcomes_in(lines)
        assert report["tlb"]["enabled"] == (not tlb)


def test_tlb_trace_keeps_each_translation_until_its_tlbi(tmp_path):
    lines = records(TLB_TRACE)
    for form in [TLB_TRACE, *binary_forms(TLB_TRACE, tmp_path)]:
        result, report = replay_json(form)
        assert result.returncode == 0, result.stdout + result.stderr
        assert report["expectations"] == sum(l.startswith("expect ") for l in lines) and report["mismatches"] == 0
        assert report["invalidations"]["tlbi"] == sum(l.startswith("tlbi ") for l in lines)
    # The accesses expected to come from the TLB (refs 0) are the hits, all of them.
    hits = sum("refs=0x0" in l for l in lines if l.startswith("expect "))
    assert hits == 9 and report["tlb"]["hits"] + report["psc"]["hits"] == hits


def test_without_the_tlb_the_stale_and_cached_answers_are_the_mismatches():
    """Without the TLB model every access walks: exactly the expectations of a TLB hit (refs 0) mismatch, and
    the stale ones name the IPA the tables in memory give now."""
    lines = TLB_TRACE.read_text().splitlines()[1:]
    numbered, n = [], 0
    for line in lines:  # record numbers as replay counts them: every record line, 1-based
        body = line.split("#", 1)[0].strip()
        if body and body != "end":
            n += 1
            numbered.append((n, body))
    cached = [n for n, body in numbered if body.startswith("expect ") and "refs=0x0" in body]
    assert len(cached) == 9  # 3 stage-2, 3 VMID, 3 stage-1 hits (arm64_tlb.nwt.txt)
    result = run("replay", SCENARIO, "--trace", TLB_TRACE, "--no-tlb", "--no-explain")
    assert result.returncode == 1
    assert [int(m) for m in re.findall(r"^mismatch at record (\d+)", result.stdout, re.M)] == cached
    # The guest's remap of VA 0x200000 to IPA 0x40008000 without a TLBI: the walk sees the new IPA.
    assert "gpa: expected 0x40005008, got 0x40008008" in result.stdout


def test_wrong_expectation_names_the_field(tmp_path):
    text = (TRACES / "arm64_stage2.nwt.txt").read_text()
    # The Access flag fault's ESR_EL2 is 0x9200000b (a read: WnR 0); expect a write's 0x9200004b instead.
    assert text.count("esr=0x9200000b") == 1
    trace = tmp_path / "wrong.nwt.txt"
    trace.write_text(text.replace("esr=0x9200000b", "esr=0x9200004b"))
    result = run("replay", SCENARIO, "--trace", trace)
    assert result.returncode == 1
    assert "esr: expected 0x9200004b, got 0x9200000b" in result.stdout
    assert "read of 8 byte(s) at va 0x40200000 el 1" in result.stdout
    assert "stage-2 abort, ipa 0x40200000 (final access), ESR_EL2 0x9200000b, FAR_EL2 0x40200000" in result.stdout
    # The explanation speaks the Arm ARM's levels: the stage-2 walk starts at level 1 and faults at level 3.
    assert re.search(r"^    stage-2 level 1  table pa 0x[0-9a-f]+  descriptor ", result.stdout, re.M), result.stdout
    assert "    -> stage-2 access_flag fault at level 3\n" in result.stdout
    result, report = replay_json(trace)
    assert result.returncode == 1
    assert report["first_mismatch"]["fields"] == [{"field": "esr", "expected": "0x9200004b", "got": "0x9200000b"}]
    assert report["first_mismatch"]["walk"]["outcome"] == "stage2_abort"


def test_hpfar_far_and_the_abort_outcome_are_compared(tmp_path):
    trace = tmp_path / "fields.nwt.txt"
    # A read of 0x40402000: Address size fault, HPFAR_EL2 0x404020, FAR_EL2 0x40402000 (arm64_stage2.nwt.txt).
    trace.write_text("nestwalk-trace 2 arch=aarch64\naccess gva=0x40402000 size=0x8 type=read el=0x1\n"
                     "expect outcome=stage1_abort far=0x40402001 hpfar=0x404021\nend\n")
    result = run("replay", SCENARIO, "--trace", trace)
    assert result.returncode == 1
    for line in ("outcome: expected stage1_abort, got stage2_abort", "far: expected 0x40402001, got 0x40402000",
                 "hpfar: expected 0x404021, got 0x404020"):
        assert line in result.stdout, result.stdout


def test_replay_starts_in_the_scenario_guest_state(tmp_path):
    """arm64_stage1.yaml turns the MMU on (SCTLR_EL1.M) over its tables at EL1 with PAN clear: a trace without
    register writes translates through them (its comments derive VA 0x400000 -> IPA 0x40010000, AP 0b01)."""
    trace = tmp_path / "state.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=aarch64\naccess gva=0x400008 size=0x8 type=read el=0x1\n"
                     "expect outcome=ok gpa=0x40010008\n"
                     # PAN (bit 22) at EL1: now the EL0-accessible page faults, ESR_EL1 0x9600000f.
                     "reg pstate=0x400004\naccess gva=0x400010 size=0x8 type=read el=0x1\n"
                     "expect outcome=stage1_abort esr=0x9600000f far=0x400010\nend\n")
    result = run("replay", STAGE1_SCENARIO, "--trace", trace)
    assert result.returncode == 0, result.stdout + result.stderr


def refused(tmp_path, body, scenario=SCENARIO):
    trace = tmp_path / "bad.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=aarch64\n" + body + "end\n")
    result = run("replay", scenario, "--trace", trace)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stderr


def test_refusals_stop_the_replay_with_the_record(tmp_path):
    # A TTL hint (Xt[47:44]) is refused by the TLB model, never ignored: record 2.
    err = refused(tmp_path, "access gva=0x40000000 size=0x8 type=read el=0x1\ntlbi op=vae1 xt=0x100000000200\n")
    assert "record 2: tlbi vae1 xt=0x100000000200: " in err and "TTL" in err
    # Other stage-2 tables than the scenario's VMs' (its own at 0x7fffe000) are not modelled.
    err = refused(tmp_path, "reg vttbr_el2=0x1000000001000\n")
    assert ("record 1: vttbr_el2=0x1000000001000: names none of the scenario's stage-2 tables (the first VM's at "
            "0x7fffe000") in err
    err = refused(tmp_path, "reg vtcr_el2=0x80023559\n")
    assert "record 1: vtcr_el2=0x80023559" in err and "0x80023558" in err
    err = refused(tmp_path, "reg hcr_el2=0x1001\n")  # VM and DC
    assert "record 1: hcr_el2=0x1001" in err and "not modelled" in err
    # TG0 0b11 is reserved: with the MMU on the library refuses the registers; the write is counted, the next
    # access (record 3) stops the replay naming the write (record 2).
    err = refused(tmp_path, "reg tcr_el1=0x20080c019\nreg sctlr_el1=0x1\naccess gva=0x0 size=0x1 type=read el=0x1\n")
    assert "record 3: the EL1 registers as written up to record 2" in err and "reserved encoding" in err
    # SCTLR_EL1.A (bit 1) with stage 1 off: a misaligned load would be an Alignment fault (Arm ARM B2.5.2), which
    # the model does not give, so the write is refused and the next access (record 2) stops naming it (record 1);
    # the load at 0x40000001 was answered ok before.
    err = refused(tmp_path, "reg sctlr_el1=0x2\naccess gva=0x40000001 size=0x4 type=read el=0x1\n")
    assert "record 2: the EL1 registers as written up to record 1" in err and "SCTLR_EL1 A, EE or EPAN" in err
    # TG0 0b01 (bits 15:14): the 64 KiB granule. An access over 0x201000 stays in the page 0x200000-0x20ffff,
    # one translation on hardware, two pieces here: refused (record 3), not counted twice.
    err = refused(tmp_path, "reg tcr_el1=0x200804019\nreg sctlr_el1=0x1\n"
                            "access gva=0x200ffc size=0x8 type=read el=0x1\n")
    assert "record 3: access of 8 byte(s) at va 0x200ffc crosses a 4 KiB boundary inside a 64 KiB page" in err
    # With stage 1 off the IPA is the VA and stage 2's 64 KiB page is the one translation: 0x60000ffc-0x60001003
    # is in the page 0x60000000-0x6000ffff of scenarios/arm64_stage2_64k.yaml (record 1).
    err = refused(tmp_path, "access gva=0x60000ffc size=0x8 type=read el=0x1\n", scenario=SCENARIO_64K)
    assert "record 1: access of 8 byte(s) at va 0x60000ffc crosses a 4 KiB boundary inside a 64 KiB page" in err


@pytest.mark.parametrize("tlbi, walks, psc_hits", [
    ("", 1, 2),                             # no TLBI: the stage-2 entry of the 64 KiB page answers both
    ("tlbi op=ipas2e1 xt=0x6000f\n", 2, 1),  # IPA 0x6000f000 is in that page: the entry goes
    ("tlbi op=ipas2e1 xt=0x60010\n", 1, 2),  # IPA 0x60010000 is the next page: it stays
])
def test_ipas2e1_drops_a_64k_stage_2_entry_by_any_ipa_in_it(tmp_path, tlbi, walks, psc_hits):
    """scenarios/arm64_stage2_64k.yaml with stage 1 off: a read at 0x60000010 walks (2 references) and fills a
    combined entry of 4 KiB (the flat VA's page) and a stage-2 entry of the 64 KiB page 0x60000000; reads at
    0x60005010 and 0x6000a010 miss the combined entries and are answered by the stage-2 entry (IPA = VA) unless a
    TLBI IPAS2E1 naming any 4 KiB of that page (Xt[39:0] = IPA[51:12]) dropped it."""
    trace = tmp_path / "ipas2.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=aarch64\n" + "".join(
        f"access gva={va:#x} size=0x8 type=read el=0x1\n" for va in (0x60000010, 0x60005010)) + tlbi +
        "access gva=0x6000a010 size=0x8 type=read el=0x1\nend\n")
    result, report = replay_json(trace, scenario=SCENARIO_64K)
    assert result.returncode == 0, result.stderr
    assert (report["walks"], report["psc"]["hits"], report["invalidations"]["tlbi"]) == \
        (walks, psc_hits, 1 if tlbi else 0)


def test_hcr_fwb_is_taken_with_feat_s2fwb(tmp_path):
    # HCR_EL2.FWB (bit 46) with VM: the modelled PE has FEAT_S2FWB (nw_arm64_s2_caps_all); the translation is
    # the same (FWB changes attributes only), and FWB off again is taken too.
    trace = tmp_path / "fwb.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=aarch64\nreg hcr_el2=0x400000000001\n"
                     "access gva=0x40000000 size=0x8 type=read el=0x1\nexpect outcome=ok gpa=0x40000000\n"
                     "reg hcr_el2=0x1\naccess gva=0x40001000 size=0x8 type=read el=0x1\n"
                     "expect outcome=ok gpa=0x40001000\nend\n")
    result, report = replay_json(trace)
    assert result.returncode == 0, result.stderr
    assert (report["register_writes"], report["mismatches"]) == (2, 0)


def test_register_writes_refused_are_counted_until_taken(tmp_path):
    trace = tmp_path / "tcr.nwt.txt"
    # The reserved TG0 with the MMU on, then a valid TCR_EL1 before any access: the replay goes on.
    trace.write_text("nestwalk-trace 2 arch=aarch64\nreg sctlr_el1=0x1\nreg tcr_el1=0x20080c019\n"
                     "reg tcr_el1=0x200800019\nreg sctlr_el1=0x0\naccess gva=0x40000000 size=0x8 type=read el=0x1\n"
                     "expect outcome=ok gpa=0x40000000\nend\n")
    result, report = replay_json(trace)
    assert result.returncode == 0, result.stderr
    # sctlr_el1=0x1 with TCR_EL1 0 (TG1 0b00 reserved, EPD1 clear) and tcr_el1=0x20080c019: two refused states.
    assert report["register_writes_refused"] == 2


def test_architectures_must_match(tmp_path):
    x86 = tmp_path / "x86.nwt.txt"
    x86.write_text("nestwalk-trace 1\naccess gva=0x1000 size=0x1 type=read cpl=0x0\nend\n")
    result = run("replay", SCENARIO, "--trace", x86)
    assert result.returncode == 2 and "aarch64" in result.stderr
    result = run("replay", ROOT / "scenarios" / "replay_ept.yaml", "--trace", TRACES / "arm64_stage2.nwt.txt")
    assert result.returncode == 2 and "x86_64" in result.stderr
    # The AArch64 outcomes and fields belong to aarch64 traces only.
    x86.write_text("nestwalk-trace 1\naccess gva=0x1000 size=0x1 type=read cpl=0x0\nexpect esr=0x1\nend\n")
    result = run("replay", ROOT / "scenarios" / "replay_ept.yaml", "--trace", x86)
    assert result.returncode == 2 and "line 3" in result.stderr and "aarch64 expectation field" in result.stderr


DBM_SCENARIO = """arch: aarch64
memory_regions:
  - {gpa: 0x40000000, size: 0x200000, flags: 0x7, type: identical}
stage2:
  vtcr: VTCR
  edits:
    - {gpa: 0x40000000, level: 2, clear: 0x80, set: 0x8000000000000}
"""


@pytest.mark.parametrize("vtcr, write, walks, hits", [
    # HA and HD (bits 21, 22): the write walks again (the read's entry is for reads), sets S2AP[1] and is
    # allowed; the second write is answered by the first's entry.
    ("0x80623558", "expect outcome=ok gpa=ADDR", 2, 1),
    # HA alone: each write walks and takes the Permission fault at level 2, DFSC 0b001110 with WnR:
    # 0x92000000 | 0x40 | 0x0e = 0x9200004e; none is answered by the read's entry.
    ("0x80223558", "expect outcome=stage2_abort esr=0x9200004e far=ADDR", 3, 0),
])
def test_a_read_entry_of_a_clean_dbm_block_does_not_answer_a_write(tmp_path, vtcr, write, walks, hits):
    """The 2 MiB block at 0x40000000 with DBM (bit 51) set and S2AP[1] cleared, stage 1 off: a read fills a TLB
    entry for reads only (S2AP[1] clear); a write must walk, where HD (Arm ARM D8.4.6) makes the block
    writable-clean."""
    scenario = tmp_path / "dbm.yaml"
    scenario.write_text(DBM_SCENARIO.replace("VTCR", vtcr))
    trace = tmp_path / "dbm.nwt.txt"
    trace.write_text("nestwalk-trace 2 arch=aarch64\naccess gva=0x40000010 size=0x8 type=read el=0x1\n"
                     "expect outcome=ok gpa=0x40000010\n" + "".join(
                         f"access gva={va} size=0x8 type=write el=0x1\n" + write.replace("ADDR", va) + "\n"
                         for va in ("0x40000020", "0x40000030")) + "end\n")
    result, report = replay_json(trace, scenario=scenario)
    assert result.returncode == 0, result.stderr
    assert (report["walks"], report["tlb"]["hits"], report["mismatches"]) == (walks, hits, 0)
    # Every walk reads 2 descriptors: levels 1 and 2 (the block).
    assert report["refs_per_walk"] == {"2": walks}
