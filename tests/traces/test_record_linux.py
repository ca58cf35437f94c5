"""tools/record-linux (README "Recording a guest"): without the kernel package in its cache folder it refuses
(exit 2, naming the folder and tools/setup) before booting anything. NESTWALK_FULL=1 adds the long form: it
records a Linux boot with it (three boots, about two minutes here) and replays the recording on the scenario
it leaves with 0 mismatches, TLB on and off. In CI the recorder is checked on the bare-metal image
(test_record_plugin.py), so nothing here is skipped."""
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


def a_linux_boot_recorded_replays_with_no_mismatch(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), "--build", BUILD, "--out", str(tmp_path), "--limit",
                           "5000000"], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nestwalk: child pid" in proc.stdout and "nestwalk: a page-cache read" in proc.stdout, proc.stdout
    assert re.search(r"recording rate [0-9.]+ M accesses/s", proc.stdout), proc.stdout
    for args in ([], ["--no-tlb"]):
        replay = subprocess.run([NESTWALK, "replay", str(tmp_path / "linux.yaml")] + args, capture_output=True,
                                text=True, timeout=600)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert "expectations  5000000 checked, 0 mismatched" in replay.stdout, replay.stdout


if FULL:  # the long form: collected only with NESTWALK_FULL=1
    test_a_linux_boot_recorded_replays_with_no_mismatch = a_linux_boot_recorded_replays_with_no_mismatch
