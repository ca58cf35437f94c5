"""The memory attributes translate shows for an AArch64 translation (scenarios/arm64_memattr.yaml): stage 1's
MAIR_EL1 attribute combined with stage 2's MemAttr (Arm ARM D8.5, S2CombineS1MemAttrs), and with stage2.fwb
(HCR_EL2.FWB, FEAT_S2FWB) the stage-2 MemAttr applied to stage 1's (AArch64.S2ApplyFWBMemAttrs). Every page's
expectation is derived by hand in the scenario beside its descriptor and restated here in short:

MAIR_EL1 0x020c47bb004404ff: Attr0 0xff Normal WB RW non-transient, Attr1 0x04 Device-nGnRE, Attr4 0xbb Normal WT
RW non-transient, Attr5 0x47 outer NC inner WB RW transient, Attr6 0x0c Device-GRE, Attr7 0x02 UNPREDICTABLE.
Stage-2 MemAttr (D8.5.3) bits 3:2 outer, 1:0 inner: 0b00 Device (1:0 the type), 0b01 NC, 0b10 WT, 0b11 WB."""
import json
import os
import pathlib
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "arm64_memattr.yaml"


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def attributes(scenario, va):
    result = run("translate", scenario, "--gva", hex(va), "--access", "read", "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["outcome"] == "ok", got
    return got


@pytest.fixture(scope="module")
def fwb_scenario(tmp_path_factory):
    """The same scenario with HCR_EL2.FWB set (stage2.fwb: true)."""
    path = tmp_path_factory.mktemp("fwb") / "arm64_memattr_fwb.yaml"
    text = SCENARIO.read_text()
    assert "\n  vmid: 1\n" in text
    path.write_text(text.replace("\n  vmid: 1\n", "\n  vmid: 1\n  fwb: true\n"))
    return path


def normal(inner, outer, share, inner_hints=None, outer_hints=None):
    """An attributes object of Normal memory; hints (allocate, transient) only for a cacheable level."""
    got = {"type": "Normal", "inner": inner, "outer": outer, "shareability": share}
    for level, hints in (("inner", inner_hints), ("outer", outer_hints)):
        if hints:
            got[f"{level}_allocate"], got[f"{level}_transient"] = hints
    return got


RW = ("rw", False)          # read- and write-allocate, non-transient
RW_TRANSIENT = ("rw", True)
NC_OUTER = normal("NC", "NC", "outer")  # Non-cacheable at both levels: Outer Shareable (EffectiveShareability)


def device(kind):
    return {"type": f"Device-{kind}", "shareability": "outer"}


UNPREDICTABLE = {"type": "UNPREDICTABLE"}

# page i (VA 0x400000 + i * 0x1000): (without FWB, with FWB)
PAGES = [
    # Attr0 WB x S2 WB: WB at both levels, stage 1's hints, inner and inner shareable -> inner. FWB 0b11: stage 1's.
    (normal("WB", "WB", "inner", RW, RW), normal("WB", "WB", "inner", RW, RW)),
    # Attr0 WB x S2 NC: the lower cacheability, NC, no hints. FWB 0b0101 [1:0] 0b01: NC.
    (NC_OUTER, NC_OUTER),
    # Attr0 WB x S2 WT: WT with stage 1's hints. FWB 0b1010 has [2] 0: Device of type 0b10, nGRE.
    (normal("WT", "WT", "inner", RW, RW), device("nGRE")),
    # Attr1 Device-nGnRE x S2 WB: Device wins. FWB 0b1111: stage 1's.
    (device("nGnRE"), device("nGnRE")),
    # Attr1 Device-nGnRE x S2 Device-nGnRnE: the more restrictive, both ways.
    (device("nGnRnE"), device("nGnRnE")),
    # Attr6 Device-GRE x S2 Device-nGRE: the more restrictive, nGRE, both ways.
    (device("nGRE"), device("nGRE")),
    # Attr0 WB x S2 Device-nGnRE: Device wins, both ways.
    (device("nGnRE"), device("nGnRE")),
    # Attr4 WT (SH 0b00) x S2 0b1101 oWB iNC: inner NC, outer WT with hints, inner shareable (stage 2's SH 0b11).
    # FWB 0b1101 [1:0] 0b01: NC.
    (normal("NC", "WT", "inner", None, RW), NC_OUTER),
    # Attr5 oNC iWB transient x S2 WB: stage 1's levels stand. FWB 0b1111: stage 1's.
    (normal("WB", "NC", "inner", RW_TRANSIENT), normal("WB", "NC", "inner", RW_TRANSIENT)),
    # Attr7 reserved: UNPREDICTABLE, both ways.
    (UNPREDICTABLE, UNPREDICTABLE),
    # Attr0 x S2 0b0100: reserved without FWB; with FWB [2] 1, [1:0] 0b00: NC.
    (UNPREDICTABLE, NC_OUTER),
    # Attr1 Device-nGnRE x S2 0b0110 (oNC iWT): Device wins. FWB [1:0] 0b10: forced WB at both levels, RW
    # non-transient (stage 1 is not Normal), shareability Outer (stage 1's Device one is the wider).
    (device("nGnRE"), normal("WB", "WB", "outer", RW, RW)),
    # Attr4 WT x S2 0b0110: inner WT with hints, outer NC. FWB: forced WB keeping stage 1's hints.
    (normal("WT", "NC", "inner", RW), normal("WB", "WB", "inner", RW, RW)),
]


@pytest.mark.parametrize("page", range(len(PAGES)))
def test_each_page_combines_as_the_arm_arm_says(page):
    got = attributes(SCENARIO, 0x400000 + page * 0x1000)
    assert (got["fwb"], got["attributes"]) == (False, PAGES[page][0])


@pytest.mark.parametrize("page", range(len(PAGES)))
def test_with_fwb_stage_2_memattr_applies_to_stage_1(page, fwb_scenario):
    got = attributes(fwb_scenario, 0x400000 + page * 0x1000)
    assert (got["fwb"], got["attributes"]) == (True, PAGES[page][1])


def test_the_text_says_the_attributes_and_how_they_came():
    # Page 7: Attr4 (0xbb) with SH 0b00, stage-2 MemAttr 0b1101 with SH 0b11.
    text = run("translate", SCENARIO, "--gva", "0x407000", "--access", "read", "--explain").stdout
    assert ("attributes, stage 1: AttrIndx 4 -> MAIR_EL1.Attr4 0xbb, SH 0b00 -> Normal, inner Write-Through "
            "(read-allocate, write-allocate, non-transient), outer Write-Through (read-allocate, write-allocate, "
            "non-transient), Non-shareable\n") in text
    assert ("attributes, stage 2: MemAttr 0xd, SH 0b11 -> Normal, inner Non-cacheable, outer Write-Back, "
            "Inner Shareable\n") in text
    assert text.endswith("attributes (stage 1's and stage 2's combined, S2CombineS1MemAttrs): Normal, inner "
                         "Non-cacheable, outer Write-Through (read-allocate, write-allocate, non-transient), "
                         "Inner Shareable\n")
    # Page 9: Attr7 0x02 is reserved: said, not guessed.
    text = run("translate", SCENARIO, "--gva", "0x409000", "--access", "read").stdout
    assert text.endswith("attributes (stage 1's and stage 2's combined, S2CombineS1MemAttrs): UNPREDICTABLE "
                         "(a reserved or unmodelled encoding: the Arm ARM gives no attributes)\n")


def test_with_fwb_the_text_says_fwb_decided(fwb_scenario):
    # Page 2: MemAttr 0b1010 under FWB is Device-nGRE whatever stage 1 says.
    text = run("translate", fwb_scenario, "--gva", "0x402000", "--access", "read", "--explain").stdout
    assert "MemAttr 0xa Device-nGRE)\n" in text
    assert "attributes, stage 2: MemAttr 0xa, SH 0b11 -> Device-nGRE under HCR_EL2.FWB\n" in text
    assert text.endswith("attributes (HCR_EL2.FWB: stage 2's MemAttr applied to stage 1's, "
                         "AArch64.S2ApplyFWBMemAttrs): Device-nGRE, Outer Shareable\n")


@pytest.mark.parametrize("ipa, without, with_fwb", [
    # MemAttr 0b1111: Normal-WB alone; with FWB stage 1's attributes.
    (0x40010000, "Normal-WB", "stage-1"),
    # 0b1010: Normal Write-Through alone; with FWB [2] 0: Device-nGRE.
    (0x40012000, "Normal-WT", "Device-nGRE"),
    # 0b0110: outer NC, inner WT alone; with FWB forced Write-Back.
    (0x4001b000, "Normal-oNC-iWT", "Normal-WB"),
    # 0b0100: reserved alone; with FWB Non-cacheable.
    (0x4001a000, "reserved", "Normal-NC"),
])
def test_translate_gpa_names_memattr_as_fwb_makes_it(ipa, without, with_fwb, fwb_scenario):
    got = json.loads(run("translate", SCENARIO, "--gpa", hex(ipa), "--access", "read", "--json").stdout)
    assert (got["fwb"], got["memory_type"]) == (False, without)
    got = json.loads(run("translate", fwb_scenario, "--gpa", hex(ipa), "--access", "read", "--json").stdout)
    # With FWB, MemAttr has no attributes of its own: only applied to stage 1's.
    assert (got["fwb"], got["memory_type"], "attributes" in got) == (True, with_fwb, False)


def test_translate_gpa_gives_stage_2s_own_attributes():
    # 0x40017000: MemAttr 0b1101 outer WB, inner NC, SH 0b11 Inner Shareable; stage 2 has no hints.
    got = json.loads(run("translate", SCENARIO, "--gpa", "0x40017000", "--access", "read", "--json").stdout)
    assert got["attributes"] == normal("NC", "WB", "inner")
    # 0x40014000: MemAttr 0b0000 Device-nGnRnE.
    got = json.loads(run("translate", SCENARIO, "--gpa", "0x40014000", "--access", "read", "--json").stdout)
    assert got["attributes"] == device("nGnRnE")


def test_mappings_name_memattr_as_fwb_makes_it(fwb_scenario):
    # The page at IPA 0x40012000 (MemAttr 0b1010) lists as Normal-WT, with FWB as Device-nGRE; the legend says so.
    def line(scenario):
        out = run("mappings", scenario, "--stage", "arm64").stdout
        return next(l for l in out.splitlines() if l.startswith("0000000040012000-"))
    assert "Normal-WT" in line(SCENARIO) and "Device-nGRE" in line(fwb_scenario)
    assert "type: MemAttr under HCR_EL2.FWB" in run("mappings", fwb_scenario, "--stage", "arm64").stdout


def test_a_traces_hcr_el2_write_turns_fwb_off(fwb_scenario, tmp_path):
    """Replay starts with the scenario's FWB in HCR_EL2; writing HCR_EL2 with VM alone (0x1) clears it: page 2 is
    then Normal WT (the combination), not FWB's Device-nGRE. refs=0x63 is wrong on purpose, for the walk."""
    trace = tmp_path / "t.nwt.txt"
    for prefix, want in (("", device("nGRE")), ("reg hcr_el2=0x1\n", normal("WT", "WT", "inner", RW, RW))):
        trace.write_text(f"nestwalk-trace 2 arch=aarch64\n{prefix}access gva=0x402000 size=0x8 type=read el=0x1\n"
                         "expect refs=0x63\nend\n")
        result = run("replay", fwb_scenario, "--trace", trace, "--json")
        assert result.returncode == 1, result.stderr
        assert json.loads(result.stdout)["first_mismatch"]["walk"]["attributes"] == want


@pytest.mark.parametrize("text, where, message", [
    ("fwb: 2", "stage2", "fwb"),
    ("fwb: true", "x86", "fwb: an AArch64 stage-2 key"),
])
def test_fwb_is_refused_where_it_has_no_meaning(text, where, message, tmp_path):
    path = tmp_path / "bad.yaml"
    if where == "stage2":
        path.write_text(SCENARIO.read_text().replace("\n  vmid: 1\n", f"\n  vmid: 1\n  {text}\n"))
    else:
        path.write_text(f"stage2:\n  {text}\nmemory_regions:\n"
                        "  - {gpa: 0x0, size: 0x1000, flags: 0x7, type: alloc}\n")
    result = run("translate", path, "--gpa", "0x0", "--access", "read")
    assert result.returncode == 2 and message in result.stderr, result.stderr
