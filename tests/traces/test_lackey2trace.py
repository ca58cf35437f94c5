"""tools/lackey2trace as a user runs it: valgrind lackey output in, a trace and a
scenario out; the scenario's tables are checked with `nestwalk translate`."""
import json
import os
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = os.environ["NESTWALK_SOURCE_ROOT"]
TOOL = os.path.join(ROOT, "tools", "lackey2trace")
BUNDLED = os.path.join(ROOT, "traces", "lackey")

LACKEY = """\
==7== Lackey, an example Valgrind tool
==7== Command: demo --flag "x"
==7==
I  00401000,4
 L 00600010,8
 S 00600ff8,16
 M 00700000,4
I  00401ffe,4
==7== Counted 1 call to main()
"""

# Hand-derived from the lackey lines: M is a load then a store; every access at CPL 3
# followed by an "ok" expectation; the label's quotes become '_'.
TRACE_TEXT = """\
nestwalk-trace 1
mark label="lackey: demo --flag _x_"
access gva=0x401000 size=0x4 type=fetch cpl=0x3
expect outcome=ok
access gva=0x600010 size=0x8 type=read cpl=0x3
expect outcome=ok
access gva=0x600ff8 size=0x10 type=write cpl=0x3
expect outcome=ok
access gva=0x700000 size=0x4 type=read cpl=0x3
expect outcome=ok
access gva=0x700000 size=0x4 type=write cpl=0x3
expect outcome=ok
access gva=0x401ffe size=0x4 type=fetch cpl=0x3
expect outcome=ok
end
"""

# Pages 0x401 and 0x402 (the last fetch crosses into it) are fetched from; 0x600 is read
# and written, 0x601 written (the 16-byte store crosses), 0x700 read and written.
# Tables: 1 PML4 + 1 PDPT + 1 PD + 2 PTs (2 MiB regions 2 and 3) + 1 spare = 6 pages at
# GPA 0; the data pages follow in GVA order from GPA 0x6000.
GPA = {0x401000: 0x6000, 0x402000: 0x7000, 0x600000: 0x8000, 0x601000: 0x9000, 0x700000: 0xA000}


def run(*args, **kwargs):
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode >= 0, result.stderr
    return result


@pytest.fixture
def converted(tmp_path):
    lackey = tmp_path / "demo.lackey"
    lackey.write_text(LACKEY)
    trace, scenario = tmp_path / "demo.nwt", tmp_path / "demo.yaml"
    result = run(TOOL, str(lackey), str(trace), str(scenario))
    assert result.returncode == 0, result.stderr
    assert "6 accesses over 5 pages (2 fetched from, 3 stored to)" in result.stderr
    return trace, scenario


def translate(scenario, gva, access):
    result = run(NESTWALK, "translate", str(scenario), "--gva", hex(gva), "--access", access, "--cpl", "3", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_trace_holds_every_access_in_order(converted):
    trace, _ = converted
    result = run(NESTWALK, "trace", "cat", str(trace))
    assert result.returncode == 0, result.stderr
    assert result.stdout == TRACE_TEXT


def test_scenario_maps_every_touched_page(converted):
    _, scenario = converted
    for gva, access in [(0x401000, "fetch"), (0x600010, "read"), (0x600ff8, "write"), (0x601000, "write"),
                        (0x700000, "write"), (0x401ffe, "fetch"), (0x402001, "fetch")]:
        out = translate(scenario, gva, access)
        assert out["outcome"] == "ok", (hex(gva), out)
        assert int(out["gpa"], 16) == GPA[gva & ~0xFFF] | (gva & 0xFFF)


def test_scenario_rights_follow_use(converted):
    _, scenario = converted
    # A data page is execute-disable: user fetch is #PF P|U|I/D = 0x15 (SDM §4.7).
    assert translate(scenario, 0x600000, "fetch")["error_code"] == "0x15"
    # A code page is read-only: user write is #PF P|W|U = 0x7.
    assert translate(scenario, 0x401000, "write")["error_code"] == "0x7"
    # A page never touched is not present: user read is #PF U = 0x4.
    assert translate(scenario, 0x500000, "read")["error_code"] == "0x4"


def test_scenario_names_its_trace_so_replay_needs_no_trace_option(converted):
    _, scenario = converted
    assert 'trace: "demo.nwt"\n' in scenario.read_text()  # beside the scenario: its folder's relative path
    result = run(NESTWALK, "replay", str(scenario))
    assert result.returncode == 0, result.stdout + result.stderr
    # 6 accesses, each followed by its "ok" expectation (TRACE_TEXT)
    assert "expectations  6 checked, 0 mismatched" in result.stdout


def test_a_trace_in_another_folder_is_named_from_the_scenarios_folder(tmp_path):
    lackey = tmp_path / "demo.lackey"
    lackey.write_text(LACKEY)
    (tmp_path / "traces").mkdir()
    (tmp_path / "scenarios").mkdir()
    result = run(TOOL, str(lackey), str(tmp_path / "traces" / "demo.nwt"), str(tmp_path / "scenarios" / "demo.yaml"))
    assert result.returncode == 0, result.stderr
    assert 'trace: "../traces/demo.nwt"\n' in (tmp_path / "scenarios" / "demo.yaml").read_text()
    # Replayed from another working directory: the path is the scenario's, not the caller's.
    result = run(NESTWALK, "replay", "scenarios/demo.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expectations  6 checked, 0 mismatched" in result.stdout


def test_text_zstd_and_no_expect(tmp_path):
    lackey = tmp_path / "demo.lackey"
    lackey.write_text(LACKEY)
    trace = tmp_path / "demo.txt.zst"
    result = run(TOOL, str(lackey), str(trace), str(tmp_path / "s.yaml"), "--text", "--zstd", "--no-expect")
    assert result.returncode == 0, result.stderr
    stats = run(NESTWALK, "trace", "stats", str(trace))
    assert stats.returncode == 0, stats.stderr
    assert "(text, zstd)" in stats.stdout
    assert "records: 7" in stats.stdout


@pytest.mark.parametrize("line, message", [
    ("X 00401000,4", "demo.lackey:4: not a lackey line"),
    (" L 00401000,0", "demo.lackey:4: access size 0 outside 1..4096"),
    (" L ffff800000000000,8", "demo.lackey:4: address 0xffff800000000000 is not a user-space"),
])
def test_bad_lackey_input_exits_2(tmp_path, line, message):
    lackey = tmp_path / "demo.lackey"
    lackey.write_text("==7== Command: demo\n\n" + "I  00401000,4\n" + line + "\n")
    trace = tmp_path / "demo.nwt"
    result = run(TOOL, str(lackey), str(trace), str(tmp_path / "demo.yaml"))
    assert result.returncode == 2
    assert message in result.stderr
    assert not trace.exists()


def test_bundled_gzip_trace_reads_to_the_end():
    result = run(NESTWALK, "trace", "stats", os.path.join(BUNDLED, "gzip.nwt.zst"))
    assert result.returncode == 0, result.stderr
    assert "(binary, zstd)" in result.stdout
    assert "records: 5449465" in result.stdout  # 1 mark + 2724732 accesses, each with its expectation
    # counted in the lackey output: I lines 1999568, L 442677, S 264063, M 9212
    assert "read 451889, write 273275, fetch 1999568" in result.stdout
