"""aarch64 traces (traces/FORMAT.md, version 2): FORMAT.md's own example encoded here by hand, both forms and
zstd through `nestwalk trace`, its statistics, the refusals of a record of the other architecture, and replay
refusing a trace of an architecture its scenario is not."""
import json
import os
import re
import struct

import pytest

from test_trace_format import record, run

ROOT = os.environ["NESTWALK_SOURCE_ROOT"]
FORMAT = os.path.join(ROOT, "traces", "FORMAT.md")


def example_text(arch="aarch64"):
    """The example of FORMAT.md's text form for arch, as the document shows it."""
    blocks = re.findall(rf"```\n(nestwalk-trace 2 arch={arch}\n.*?)```", open(FORMAT).read(), re.S)
    assert len(blocks) == 1, f"FORMAT.md has one {arch} example"
    return blocks[0]


def canonical(text):
    lines = [re.sub(r"\s*#.*$", "", line).rstrip() for line in text.splitlines()]
    return "".join(re.sub(r"\s+", " ", line) + "\n" for line in lines if line)


def example_binary():
    """FORMAT.md's aarch64 example encoded by hand from its tables: header version 2, architecture 1."""
    b = b"\x89NWTRC\r\n" + struct.pack("<HH", 2, 1)
    b += record(0x02, struct.pack("<BQ", 12, 0x1000000081000))  # vttbr_el2 is register 12
    b += record(0x02, struct.pack("<BQ", 9, 0x5000040000000))  # ttbr0_el1 is 9
    b += record(0x02, struct.pack("<BQ", 15, 0x400004))  # pstate is 15
    b += record(0x01, struct.pack("<QHBBB", 0x401000, 8, 0, 1, 0))  # read at EL1
    b += record(0x01, struct.pack("<QHBBB", 0x401008, 8, 1, 1, 4))  # write at EL1, flags bit 2 unpriv
    b += record(0x0A, struct.pack("<BQ", 3, 0x5000000000401))  # vae1is is 3
    b += record(0x0A, struct.pack("<BQ", 13, 0x40000))  # ipas2e1is is 13
    b += record(0x0A, struct.pack("<BQ", 1, 0))  # vmalle1is is 1, no register
    return b + record(0x7F, b"")


@pytest.fixture
def text_path(tmp_path):
    path = tmp_path / "a64.txt"
    path.write_text(example_text())
    return str(path)


def test_text_to_binary_matches_the_hand_encoding(tmp_path, text_path):
    out = tmp_path / "a64.nwt"
    result = run("trace", "convert", text_path, str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == example_binary()


def test_binary_to_text_is_the_canonical_text(tmp_path):
    binary = tmp_path / "a64.nwt"
    binary.write_bytes(example_binary())
    result = run("trace", "cat", str(binary))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == canonical(example_text())


@pytest.mark.parametrize("form", ["binary", "text"])
def test_zstd_round_trip(tmp_path, form):
    binary, packed, again = tmp_path / "a64.nwt", tmp_path / "a64.zst", tmp_path / "again.nwt"
    binary.write_bytes(example_binary())
    assert run("trace", "convert", str(binary), str(packed), "--to", form, "--zstd").returncode == 0
    assert packed.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    result = run("trace", "convert", str(packed), str(again), "--to", "binary")
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == example_binary()


def test_stats_name_the_architecture(tmp_path, text_path):
    result = run("trace", "stats", text_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "arch: aarch64" in out
    for kind, count in [("access", 2), ("reg", 3), ("tlbi", 3)]:
        assert re.search(rf"^\s+{kind}\s+{count}$", out, re.M), (kind, out)

    got = json.loads(run("trace", "stats", text_path, "--json").stdout)
    assert got["arch"] == "aarch64" and got["kinds"]["tlbi"] == 3
    x86 = json.loads(run("trace", "stats", os.path.join(ROOT, "traces", "replay_ept.nwt.txt"), "--json").stdout)
    assert x86["arch"] == "x86_64"


@pytest.mark.parametrize("swap, message", [
    # Each replaces one line of the example: the line number and column are the reader's.
    (("reg pstate=0x400004", "reg pstate=0x400005"), "line 4, column 1: pstate holds bits other than"),
    (("reg pstate=0x400004", "reg cr4=0x20"), "line 4, column 1: an x86 register in an aarch64 trace"),
    (("el=0x1\n", "el=0x2\n"), "line 5, column 1: el outside 0..1"),
    (("tlbi op=vmalle1is", "tlbi op=vmalle1is xt=0x0"), "line 9, column 19: this tlbi takes no register"),
    (("tlbi op=vmalle1is", "invlpg gva=0x0"), "line 9, column 1: an x86 invalidation in an aarch64 trace"),
    (("arch=aarch64", "arch=arm64"), "line 1, column 23: unknown architecture"),
])
def test_bad_text_names_line_and_column(tmp_path, swap, message):
    text = example_text().replace(*swap, 1)
    assert text != example_text()
    path = tmp_path / "bad.txt"
    path.write_text(text)
    out = tmp_path / "out.nwt"
    result = run("trace", "convert", str(path), str(out))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr.decode(), result.stderr
    assert not out.exists()


def test_bad_binary_names_the_offset(tmp_path):
    data = example_binary()
    # The first access (offset 12 + 3 * 14 = 54) at EL 2: its level byte is at 54 + 5 + 11.
    bad = bytearray(data)
    bad[54 + 16] = 2
    path = tmp_path / "bad.nwt"
    path.write_bytes(bytes(bad))
    result = run("trace", "stats", str(path))
    assert result.returncode == 2
    assert "byte offset 54: bad access record: el outside 0..1" in result.stderr.decode(), result.stderr


def test_replay_refuses_a_trace_of_another_architecture(tmp_path):
    # Scenarios are x86_64 until they name an arch: replaying an aarch64 trace on one is refused, not misread.
    path = tmp_path / "a64.nwt"
    path.write_bytes(example_binary())
    scenario = os.path.join(ROOT, "scenarios", "ok.yaml")
    result = run("replay", scenario, "--trace", str(path))
    assert result.returncode == 2, result.stdout
    assert "a trace of aarch64, and this needs x86_64" in result.stderr.decode(), result.stderr
