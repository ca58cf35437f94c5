"""riscv64 traces (traces/FORMAT.md, versions 2 and 3, issue #18): the statistics of FORMAT.md's own example (its
encodings are test_trace_examples.py's), bad input in both forms named by line or offset, the trap CSRs' rules
(version 3 only, htval and htinst only with an outcome taken to HS-mode), and replay refusing a riscv64 trace on a
scenario of another architecture."""
import json
import os

import pytest

from test_trace_examples import check_bad_example, example_text, riscv64_binary as example_binary, riscv64_v3_binary
from test_trace_format import run

ROOT = os.environ["NESTWALK_SOURCE_ROOT"]


@pytest.fixture
def text_path(tmp_path):
    path = tmp_path / "rv.txt"
    path.write_text(example_text("riscv64"))
    return str(path)


def test_stats_name_the_architecture(text_path):
    got = json.loads(run("trace", "stats", text_path, "--json").stdout)
    assert got["arch"] == "riscv64"
    assert (got["kinds"]["access"], got["kinds"]["reg"], got["kinds"]["fence"]) == (1, 2, 3)


@pytest.mark.parametrize("swap, message", [
    # Each replaces one line of the example: the line number and column are the reader's.
    (("reg priv=0x1", "reg priv=0x2"), "line 3, column 1: priv is 0 (VU) or 1 (VS)"),
    (("reg priv=0x1", "reg pstate=0x0"), "line 3, column 1: an aarch64 register in a riscv64 trace"),
    (("read priv=0x1", "read priv=0x3"), "line 4, column 1: priv outside 0 (VU)..1 (VS)"),
    (("rs2=x0", "rs2=xzr"), "line 5, column 34: bad number"),
    (("op=hfence.vvma rs1=x0 rs2=0x5", "op=hfence.vvma rs1=x0"), "line 6, column 1: fence: missing field 'rs2'"),
    (("op=hfence.gvma", "op=hinval.gvma"), "line 7, column 7: unknown value for this field"),
    (("fence op=sfence.vma rs1=0x401000 rs2=x0", "tlbi op=vmalle1"), "line 5, column 1: a tlbi in a riscv64 trace"),
    (("arch=riscv64", "arch=rv64"), "line 1, column 23: unknown architecture"),
])
def test_bad_text_names_line_and_column(tmp_path, swap, message):
    check_bad_example(tmp_path, "riscv64", swap, message)


@pytest.mark.parametrize("swap, message", [
    # A VS-stage page fault is taken to VS-mode: HS-mode's htval and htinst keep what they held (privileged spec,
    # "Hypervisor Trap Value Register"), so no value of them is its.
    (("stval=0x401008", "stval=0x401008 htval=0x0"),
     "line 5, column 1: a VS-stage page fault is taken to VS-mode and writes neither htval nor htinst"),
    (("outcome=page_fault scause=0xf", "scause=0xf htinst=0x0"),
     "line 5, column 1: htval and htinst are written only by a trap taken to HS-mode: name the outcome too"),
    # A translation takes no trap at all.
    (("outcome=page_fault scause=0xf stval=0x401008", "outcome=ok htval=0x0"),
     "line 5, column 1: htval and htinst are written only by a trap taken to HS-mode (guest_page_fault"),
    # Version 2's mask has no room for them.
    (("nestwalk-trace 3", "nestwalk-trace 2"), "line 3, column 1: scause, stval, htval and htinst need version 3"),
])
def test_trap_fields_only_where_the_trap_writes_them(tmp_path, swap, message):
    check_bad_example(tmp_path, "riscv64", swap, message, version=3)


def test_trap_fields_are_riscv64s_alone(tmp_path):
    for arch, level in [("x86_64", "cpl"), ("aarch64", "el")]:
        message = f"a riscv64 expectation field (scause, stval, htval, htinst) in an {arch} trace"
        path = tmp_path / "t.txt"
        path.write_text(f"nestwalk-trace 3 arch={arch}\naccess gva=0x1000 size=0x1 type=read {level}=0x0\n"
                        "expect outcome=ok stval=0x0\nend\n")
        result = run("trace", "stats", str(path))
        assert result.returncode == 2
        assert f"line 3, column 1: {message}" in result.stderr.decode(), result.stderr


def test_a_version_2_binary_mask_is_16_bits(tmp_path):
    # The version-3 example's bytes with the header saying version 2: its first expectation's mask is read as the
    # u16 0xc001 (outcome, scause, stval), whose fields version 2 cannot hold, at the record's offset (12 + 18).
    bad = bytearray(riscv64_v3_binary())
    bad[8] = 2
    path = tmp_path / "bad.nwt"
    path.write_bytes(bytes(bad))
    result = run("trace", "stats", str(path))
    assert result.returncode == 2
    assert "byte offset 30: bad expect record: " in result.stderr.decode(), result.stderr


@pytest.mark.parametrize("offset, byte, message", [
    # The first fence's record starts at 12 + 2 * 14 + 18 = 58; its flags byte is at 58 + 5 + 1. Flags 6 sets
    # the undefined bit 2; flags 3 makes rs1 x0 while it holds 0x401000.
    (64, 6, "byte offset 58: bad fence record: fence flags have undefined bits set"),
    (64, 3, "byte offset 58: bad fence record: a fence operand is x0, which reads as 0, yet holds a value"),
    # Its op byte at 63: 3 is past hfence.gvma.
    (63, 3, "byte offset 58: bad fence record: unknown fence"),
    # The access at 40, its priv byte at 40 + 5 + 11: 2 is HS-mode.
    (56, 2, "byte offset 40: bad access record: priv outside 0 (VU)..1 (VS)"),
])
def test_bad_binary_names_the_offset(tmp_path, offset, byte, message):
    bad = bytearray(example_binary())
    bad[offset] = byte
    path = tmp_path / "bad.nwt"
    path.write_bytes(bytes(bad))
    result = run("trace", "stats", str(path))
    assert result.returncode == 2
    assert message in result.stderr.decode(), result.stderr


def test_replay_refuses_a_riscv64_trace_on_an_x86_scenario(tmp_path):
    path = tmp_path / "rv.nwt"
    path.write_bytes(example_binary())
    result = run("replay", os.path.join(ROOT, "scenarios", "ok.yaml"), "--trace", str(path))
    assert result.returncode == 2, result.stdout
    assert "a trace of riscv64, and this needs x86_64" in result.stderr.decode(), result.stderr


def test_replay_takes_a_riscv64_trace_only_on_a_riscv64_scenario(tmp_path):
    # A riscv64 scenario's traces are riscv64 ones: an x86_64 trace is refused by its architecture, and a riscv64
    # trace passes the reader and replays (before, the scenario was taken for x86_64 and its own architecture's
    # trace refused as "this needs x86_64"). FORMAT.md's example writes hgatp with VMID 1 and a root at 0x80400000,
    # which is not the scenario's G-stage: refused at that record, exit 2.
    scenario = os.path.join(ROOT, "scenarios", "riscv_vs.yaml")
    x86 = run("replay", scenario, "--trace", os.path.join(ROOT, "traces", "replay_ept.nwt.txt"))
    assert x86.returncode == 2 and "a trace of x86_64, and this needs riscv64" in x86.stderr.decode(), x86.stderr
    path = tmp_path / "rv.nwt"
    path.write_bytes(example_binary())
    result = run("replay", scenario, "--trace", str(path))
    assert result.returncode == 2, result.stdout
    assert "hgatp=0x8000100000080400: no VM of the scenario has that MODE and root" in result.stderr.decode()
