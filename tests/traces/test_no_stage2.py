"""stage2: {format: none}: guest paging alone, guest-physical = host-physical, and the section's names.

Expected values are derived by hand from the Intel SDM. scenarios/no_stage2.yaml has ok.yaml's tables
(GVA 0x400123: PML4E at 0x1000, PDPTE 0x2000, PDE 0x3010, PTE 0x4000 -> page 0x5000; PTE[1] -> 0x300000).
"""
import json
import os
import pathlib
import resource
import subprocess

from test_scenarios import assert_bad_input, write

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "no_stage2.yaml"
OK = ROOT / "scenarios" / "ok.yaml"


def run(*args, timeout=60):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def translate(path, *args):
    result = run("translate", path, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_translate_gpa_says_there_is_no_second_stage():
    # format: none: the guest-physical address is the host-physical one, no table read (refs 0, leaf level 0),
    # and a second stage that restricts nothing: every right, write-back (stage2.h's NW_S2_NONE_*). The text
    # used to call it a "level-0 leaf" of a 4 KiB page, a table that does not exist.
    result = run("translate", SCENARIO, "--gpa", 0x1000, "--access", "read")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "gpa 0x1000 -> hpa 0x1000 (no second stage: the same address, rwxu, WB)\n"
    got = translate(SCENARIO, "--gpa", 0x1000, "--access", "read")
    assert (got["hpa"], got["leaf_level"], got["refs"], got["rights"]) == ("0x1000", 0, 0, "rwxu")


def test_translate_is_the_guest_walk_alone_with_gpa_equal_to_hpa():
    # 4-level paging reads 4 entries (SDM Vol. 3A §4.5) and nothing translates their addresses: 4 references
    # (24 over a 4-level EPT). GPA = HPA.
    got = translate(SCENARIO, "--gva", 0x400123, "--access", "read", "--cpl", "3")
    assert (got["outcome"], got["gpa"], got["hpa"], got["refs"]) == ("ok", "0x5123", "0x5123", 4)
    # PTE[1] points into the alloc region: without a second stage it is the host range at its own address.
    got = translate(SCENARIO, "--gva", 0x401008, "--access", "write", "--cpl", "3")
    assert (got["outcome"], got["gpa"], got["hpa"]) == ("ok", "0x300008", "0x300008")
    # PTE[2] is 0: not present, a user write: #PF W|U = 0x6 (§4.7), CR2 the address.
    got = translate(SCENARIO, "--gva", 0x402000, "--access", "write", "--cpl", "3")
    assert (got["outcome"], got["error_code"], got["cr2"]) == ("page_fault", "0x6", "0x402000")


TRACE = """nestwalk-trace 1
access gva=0x400000 size=0x4 type=read cpl=0x3
expect outcome=ok gpa=0x5000 hpa=0x5000 refs=0x4
access gva=0x400010 size=0x4 type=read cpl=0x3
expect outcome=ok gpa=0x5010 hpa=0x5010 refs=0x0
access gva=0x401000 size=0x8 type=write cpl=0x3
expect outcome=ok gpa=0x300000 hpa=0x300000 refs=0x1
end
"""


def test_replay_without_a_second_stage(tmp_path):
    # A miss reads the 4 guest entries (4 references); the same page again hits the TLB and reads nothing
    # (§4.10.2); the next page, 0x401000, shares the first walk's PDE (linear bits 47:21), which the PDE cache
    # holds, so only its PTE is read: 1 reference (§4.10.3.1). GPA = HPA throughout.
    trace = tmp_path / "none.nwt.txt"
    trace.write_text(TRACE)
    result = run("replay", SCENARIO, "--trace", trace, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["expectations"], report["mismatches"], report["refs_per_walk"]) == (3, 0, {"1": 1, "4": 1}), report


def test_mappings_of_the_second_stage_say_there_is_none():
    for stage in ("stage2", "ept", "npt"):
        result = run("mappings", SCENARIO, "--stage", stage)
        assert result.returncode == 2, result.stdout
        # Pointing at the scenario's "format: none" (line 15, column 11).
        assert f"{SCENARIO}:15:11: stage2.format is none: there is no second stage" in result.stderr
    result = run("mappings", SCENARIO, "--stage", "guest")
    assert result.returncode == 0, result.stderr
    assert "0000000000400000-0000000000401000 0000000000005000" in result.stdout


def test_the_old_name_ept_still_loads_and_means_the_same(tmp_path):
    text = OK.read_text()
    assert "\nstage2:\n" in text
    renamed = write(tmp_path, text.replace("\nstage2:\n", "\nept:\n"))
    args = ("--gva", 0x400123, "--access", "read")
    # The 2-D walk over 4 KiB EPT pages: 4 x (1 + 4) + 4 = 24 references (SDM Vol. 3C §29.3.2), both ways.
    assert translate(OK, *args)["refs"] == 24
    assert translate(renamed, *args)["refs"] == 24


def test_both_names_or_a_bad_format_are_refused_where_written(tmp_path):
    assert_bad_input(write(tmp_path, "stage2: {format: none}\nept: {format: ept}\n"), 2, 1,
                     "the second stage is given already as stage2 (1:1)")
    assert_bad_input(write(tmp_path, "stage2:\n  format: nested\n"), 2, 11,
                     "format (ept, npt, arm64, sv39x4, sv48x4, sv57x4 or none): unknown value 'nested'")


def test_what_has_no_meaning_without_a_second_stage_is_refused(tmp_path):
    head = "stage2: {format: none}\nmemory_regions:\n"
    # An MMIO access or a ROM write exits through a second-stage fault (SDM Vol. 3C §29.3.3.2): none to exit by.
    for region, message in (("type: mmio", "mmio region: needs a second stage"),
                            ("flags: 0x5, type: rom", "rom region: needs a second stage"),
                            ("type: alloc, lazy: true", "drop lazy")):
        assert_bad_input(write(tmp_path, head + f"  - {{gpa: 0x1000, size: 4K, {region}}}\n"), 3, 6, message)
    assert_bad_input(write(tmp_path, "stage2:\n  format: none\n  levels: 4\n"), 3, 3, "levels has no meaning")
    assert_bad_input(write(tmp_path, "stage2:\n  format: none\n  edits:\n    - {gpa: 0, level: 1, set: 1}\n"), 4, 8,
                     "an edit of a second-stage entry has no meaning")
    # An alloc region is host memory at its own address, so it must lie in the simulated host (64 MiB here).
    text = "host: {memory: 64M}\n" + head + "  - {gpa: 0x4000000, size: 4K, type: alloc}\n"
    assert_bad_input(write(tmp_path, text), 4, 6, "the host range is outside the simulated host")


def test_a_32_tib_identity_region_costs_nothing_up_front(tmp_path):
    # 32 TiB of host memory at its own address, with MAXPHYADDR 46 (64 TiB). Nothing is mapped or claimed page by
    # page, so this loads at once: the timeout is generous, not a timing claim.
    text = SCENARIO.read_text().replace("memory: 64M", "memory: 32T")
    text = text.replace("{gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}",
                        "{gpa: 0x1000, size: 0x1ffffffff000, flags: 0x7, type: identical}")
    text = text.replace("  - {gpa: 0x200000, size: 0x200000, flags: 0x7, type: alloc}\n", "")
    text = text.replace("0x5007, 0x300007", "0x1ffffffff007")
    # PTE[0] now points at the last page of the region, 32 TiB - 4 KiB.
    result = run("translate", write(tmp_path, text), "--gva", 0x400123, "--access", "read", "--json", timeout=20)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["outcome"], got["gpa"], got["hpa"]) == ("ok", "0x1ffffffff123", "0x1ffffffff123")
    # A byte per host frame would be 8 GiB resident; the largest child so far stays far below 256 MiB.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 256 * 1024
