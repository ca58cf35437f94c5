"""tools/record-linux (README "Recording a guest"): without the kernel package in its cache folder it refuses
(exit 2, naming the folder and tools/setup) before booting anything. NESTWALK_FULL=1 adds the long form: it
records a whole Linux boot, from the kernel's first block at its virtual address to the power-off (three boots,
about six minutes here), and replays it on the scenario it leaves with every expectation equal or explained by a
named row (tools/replay-recording), TLB on and off (about ten minutes more). In CI the recorder is checked on the
bare-metal image (test_record_plugin.py) and the bundled recording replayed (test_record_bundle.py), so nothing
here is skipped."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("NESTWALK_SOURCE_ROOT", Path(__file__).resolve().parents[2]))
NESTWALK = os.environ["NESTWALK"]
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(NESTWALK)))
TOOL = ROOT / "tools" / "record-linux"
FULL = bool(os.environ.get("NESTWALK_FULL"))

pytestmark = pytest.mark.usefixtures("qemu")


def test_without_the_packages_it_refuses(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), "--build", BUILD, "--cache", str(tmp_path / "empty"),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"no linux-image-[0-9]*-amd64_*.deb in {tmp_path / 'empty'}: run tools/setup" in proc.stderr, proc.stderr
    assert not (tmp_path / "linux.nwt.zst").exists()


def a_whole_linux_boot_recorded_replays_with_nothing_unexplained(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), "--build", BUILD, "--out", str(tmp_path), "--limit", "0",
                           "--timeout", "3600"], capture_output=True, text=True, timeout=4 * 3600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nestwalk: child pid" in proc.stdout and "nestwalk: a page-cache read" in proc.stdout, proc.stdout
    assert re.search(r"recording rate [0-9.]+ M accesses/s", proc.stdout), proc.stdout
    counts = re.search(r": (\d+) accesses \(.*; (\d+) at CPL 3;.*; (\d+) register writes, (\d+) INVLPG", proc.stdout)
    accesses, user, writes, invlpgs = map(int, counts.groups())
    assert accesses >= 100_000_000 and user > 0 and writes > 1000 and invlpgs > 0, proc.stdout
    assert ", limit reached" not in proc.stdout  # recorded to the power-off
    replay = subprocess.run([sys.executable, str(ROOT / "tools" / "replay-recording"), "--nestwalk", NESTWALK,
                             str(tmp_path / "linux.yaml")], capture_output=True, text=True, timeout=4 * 3600)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    for mode in ("on", "off"):
        assert f"replay-recording: TLB {mode}: {accesses} expectations, " in replay.stdout, replay.stdout
    assert replay.stdout.count("; 0 unexplained") == 2, replay.stdout
    print(proc.stdout + replay.stdout)  # the figures README gives, with pytest -s


if FULL:  # the long form: collected only with NESTWALK_FULL=1
    test_a_whole_linux_boot_recorded_replays_with_nothing_unexplained = \
        a_whole_linux_boot_recorded_replays_with_nothing_unexplained
