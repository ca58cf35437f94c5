"""tools/replay-recording (README "Recording a guest"): a recorded trace's replay, TLB on and off, with every
mismatch either explained by a named row with its count or unexplained (exit 1), never left uncounted.

scenarios/no_stage2.yaml maps GVA 0x400123 to GPA 0x5123 with 4-level paging, U/S set at every level, and has no
second stage (tests/traces/test_no_stage2.py derives it from the SDM): a CPL 3 read there is ok at 0x5123. A
recording that saw a device there expects outcome mmio at 0x5123, which replay, with no second stage to exit
through, gives as ok at the same address: the mmio row. Another address than 0x5123 is a real difference."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
NESTWALK = os.environ["NESTWALK"]
TOOL = ROOT / "tools" / "replay-recording"
READ = "access gva=0x400123 size=0x1 type=read cpl=0x3\n"


def replay(tmp_path, expects):
    trace = tmp_path / "t.nwt.txt"
    trace.write_text("nestwalk-trace 1\n" + "".join(READ + f"expect {e}\n" for e in expects) + "end\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text((ROOT / "scenarios" / "no_stage2.yaml").read_text() + f'trace: "{trace}"\n')
    return subprocess.run([sys.executable, str(TOOL), "--nestwalk", NESTWALK, str(scenario)], capture_output=True,
                          text=True, timeout=120)


def test_device_accesses_are_counted_each_in_their_row(tmp_path):
    # Twelve, more than replay lists without --max-mismatches (ten after the first): all counted, both TLB modes.
    proc = replay(tmp_path, ["outcome=ok gpa=0x5123"] + ["outcome=mmio gpa=0x5123"] * 12)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for mode in ("on", "off"):
        assert f"replay-recording: TLB {mode}: 13 expectations, 1 equal, 12 explained; mmio 12: device accesses " \
               "at the walk's address" in proc.stdout, proc.stdout
        assert f"replay-recording: TLB {mode}: 13 expectations" in proc.stdout


def test_a_device_access_at_another_address_is_unexplained(tmp_path):
    proc = replay(tmp_path, ["outcome=mmio gpa=0x5123", "outcome=mmio gpa=0x6123", "outcome=ok gpa=0x6123"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "replay-recording: TLB on: 3 expectations, 0 equal, 1 explained; mmio 1: device accesses at the " \
           "walk's address (a memory dump has no second stage to exit through); 2 unexplained" in proc.stdout
    assert "  gpa: expected 0x6123, got 0x5123" in proc.stdout, proc.stdout
