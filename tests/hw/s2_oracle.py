"""What the second-stage oracle tests share (test_hw_aarch64.py, test_hw_riscv64.py): the image in the build
folder, its boot with a case list, nestwalk-hw-sim's lines for the same blob, the "c ID ..." lines of both, and
`nestwalk hw run`, and a blob both refuse."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from cases import hw_run  # tools/hw-run, loaded once for every hardware test

FULL = bool(os.environ.get("NESTWALK_FULL") or os.environ.get("NESTWALK_FULL_MATRIX"))
RANDOM_COUNT = 40000 if FULL else 4000  # seeded random cases per run
SEED = 20261208


def need(qemu):
    """QEMU checks never skip: without the emulator the test fails."""
    if shutil.which(qemu) is None:
        pytest.fail(f"{qemu} is not installed: run tools/setup (QEMU checks never skip)")


def build_dir():
    return os.path.dirname(os.path.dirname(os.path.abspath(os.environ["NESTWALK"])))


def image_path(arch):
    return os.path.join(build_dir(), "hw", arch, f"nestwalk-hw-{arch}.elf")


def lines(text):
    """{case id: the rest of its "c ID ..." line}."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^c (\d+) (.*)$", text, re.M)}


def run_qemu(image, cases, cpu=None):
    """The image's lines for the cases (under QEMU's -cpu cpu, None: the image's default); every case run, every
    frame given back."""
    status, text, _seconds, not_run = hw_run.boot(image, cases, timeout=120, cpu=cpu)
    assert status == hw_run.EXIT_PASS and not not_run, text
    assert "frames live 0" in text, text
    return lines(text)


def hw_run_cmd(*args):
    """`nestwalk hw run ARGS`, its output captured."""
    return subprocess.run([os.environ["NESTWALK"], "hw", "run", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def hw_run_report(scenario, backend):
    """`nestwalk hw run SCENARIO --backend BACKEND --json`, which must exit 0: its report, parsed, and the run (for
    what it says on stderr)."""
    result = hw_run_cmd(scenario, "--backend", backend, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout), result


def simulate_blob(blob):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases.blob")
        with open(path, "wb") as f:
            f.write(blob)
        return subprocess.run([os.path.join(build_dir(), "sim", "hw", "nestwalk-hw-sim"), path],
                              capture_output=True, text=True, timeout=120)


def simulate(cases):
    """nestwalk-hw-sim's lines (the library's answer) for the cases."""
    proc = simulate_blob(hw_run.pack(cases))
    assert proc.returncode == 0, proc.stderr
    return lines(proc.stdout)


BLOB_REJECTED = (0x12 << 1) | 1  # the exit status of an image that rejects its case blob (isa-debug-exit's form)


def sim_refuses(cases, *says):
    """nestwalk-hw-sim refuses the cases' blob as bad input (exit 2), its message holding each of says."""
    proc = simulate_blob(hw_run.pack(cases))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for text in says:
        assert text in proc.stderr, proc.stderr


def image_refuses(image, cases, says):
    """The image boots and rejects the cases' blob before running any, its console holding says."""
    status, text, _seconds, _ = hw_run.boot(image, cases, timeout=60)
    assert status == BLOB_REJECTED, text
    assert says in text, text
