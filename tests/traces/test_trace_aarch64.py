"""aarch64 traces (traces/FORMAT.md, version 2): the statistics of FORMAT.md's own example (its encodings are
test_trace_examples.py's), the refusals of a record of the other architecture, and replay refusing a trace of an
architecture its scenario is not."""
import json
import os
import re

import pytest

from test_trace_examples import check_bad_example, aarch64_binary as example_binary, example_text
from test_trace_format import run

ROOT = os.environ["NESTWALK_SOURCE_ROOT"]


@pytest.fixture
def text_path(tmp_path):
    path = tmp_path / "a64.txt"
    path.write_text(example_text("aarch64"))
    return str(path)


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
    check_bad_example(tmp_path, "aarch64", swap, message)


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
