"""The bundled recording, traces/linux (traces/linux/README.md): a Linux guest's accesses as QEMU's CPU made them,
from its first user-mode process, as tools/demo replays it. Unpacked as tools/demo unpacks it, it replays with every
expectation equal or in a named row (tools/replay-recording), TLB on and off: every GPA QEMU gave, at the privilege
it used, through the guest's own tables, including the tables of the processes forked and executed after the
trigger (their CR3 loads), user-mode accesses under U/S, SMAP and SMEP. Its files fit in 20 MB."""
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
NESTWALK = os.environ["NESTWALK"]
BUNDLE = ROOT / "traces" / "linux"


def test_the_bundled_linux_recording_replays_with_nothing_unexplained(tmp_path):
    assert sum(f.stat().st_size for f in BUNDLE.iterdir()) <= 20 * 1000 * 1000
    subprocess.run(["zstd", "-d", "-q", str(BUNDLE / "linux.elf.zst"), "-o", str(tmp_path / "linux.elf")], check=True)
    for name in ("linux.yaml", "linux.nwt.zst"):
        shutil.copyfile(BUNDLE / name, tmp_path / name)
    convert = subprocess.Popen([NESTWALK, "trace", "convert", str(tmp_path / "linux.nwt.zst"), "-", "--to", "text"],
                               stdout=subprocess.PIPE, text=True)
    accesses, cpl, cr3 = 0, set(), set()
    for line in convert.stdout:
        if line.startswith("access "):
            accesses += 1
            cpl.add(line.split(" cpl=")[1][:3])
        elif line.startswith("reg cr3="):
            cr3.add(line)
    assert convert.wait() == 0
    assert cpl == {"0x0", "0x3"}, cpl
    assert len(cr3) >= 3, cr3  # the process at the trigger, a child forked and the program it executed
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "replay-recording"), "--nestwalk", NESTWALK,
                           str(tmp_path / "linux.yaml")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for mode in ("on", "off"):
        assert f"replay-recording: TLB {mode}: {accesses} expectations, " in proc.stdout, proc.stdout
    assert proc.stdout.count("; 0 unexplained") == 2, proc.stdout
