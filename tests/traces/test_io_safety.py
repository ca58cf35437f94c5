"""No user file is lost and no answer is silently incomplete (issue #12).

Inputs: every loader refuses a path that is not a regular file (a character
device that never ends, a FIFO no one writes, a directory) with a message
naming it, instead of reading forever or waiting. Every run has a timeout, so
a hang fails the check instead of stalling it."""
import os
import pathlib
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ.get("NESTWALK_SOURCE_ROOT", pathlib.Path(__file__).parents[2]))
LACKEY2TRACE = ROOT / "tools" / "lackey2trace"
AXVISOR_IMPORT = ROOT / "tools" / "axvisor-import"
TIMEOUT = 20


def run(*args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([NESTWALK, *map(str, args)], text=True, timeout=TIMEOUT, **kwargs)


def tool(path, *args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([str(path), *map(str, args)], text=True, timeout=TIMEOUT, **kwargs)


# ---- inputs that are not regular files ----

@pytest.fixture(params=["character device", "FIFO", "directory"])
def not_regular(request, tmp_path):
    """(path, kind): /dev/zero never ends, a FIFO no one writes blocks its opener, a directory."""
    if request.param == "character device":
        return "/dev/zero", request.param
    path = tmp_path / request.param.lower()
    if request.param == "FIFO":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path, request.param


def refused(result, path, kind):
    assert result.returncode == 2, result.stderr
    assert f"{path}: " in result.stderr and f"not a regular file (a {kind})" in result.stderr, result.stderr


def test_scenario_must_be_a_regular_file(not_regular):
    path, kind = not_regular
    refused(run("mappings", path, "--stage", "ept"), path, kind)
    refused(run("translate", path, "--gpa", "0x1000", "--access", "read"), path, kind)


def test_trace_must_be_a_regular_file(not_regular):
    path, kind = not_regular
    refused(run("trace", "stats", path), path, kind)
    refused(run("replay", ROOT / "scenarios" / "replay_ept.yaml", "--trace", path), path, kind)


def test_elf_image_must_be_a_regular_file(tmp_path, not_regular):
    path, kind = not_regular
    scenario = tmp_path / "image.yaml"
    scenario.write_text("memory_regions:\n  - {gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}\n"
                        f"guest:\n  elf_image: {path}\n")
    result = run("translate", scenario, "--gpa", "0x1000", "--access", "read")
    refused(result, path, kind)
    assert f"{scenario}:4:14: elf_image:" in result.stderr  # line 4, the value after "  elf_image: "


def test_memory_dump_must_be_a_regular_file(tmp_path, not_regular):
    path, kind = not_regular
    scenario = tmp_path / "dump.yaml"
    scenario.write_text(f"cpu:\n  efer: 0xd00\nguest:\n  memory_dump: {path}\n")
    result = run("mappings", scenario, "--stage", "guest")
    refused(result, path, kind)
    assert f"{scenario}:4:16: memory_dump:" in result.stderr  # line 4, the value after "  memory_dump: "


def test_axvisor_config_must_be_a_regular_file(not_regular):
    path, kind = not_regular
    refused(tool(AXVISOR_IMPORT, path), path, kind)


def test_lackey_output_must_be_a_regular_file(tmp_path, not_regular):
    path, kind = not_regular
    refused(tool(LACKEY2TRACE, path, tmp_path / "out.nwt", tmp_path / "out.yaml"), path, kind)
    assert not (tmp_path / "out.nwt").exists()


def test_scenario_larger_than_the_limit_is_refused_unread(tmp_path):
    # A sparse 3 GiB file: read whole, its one line's column count passed INT_MAX
    # (signed overflow); the 64 MiB limit refuses it from its size.
    scenario = tmp_path / "huge.yaml"
    with open(scenario, "wb") as f:
        f.truncate(3 << 30)
    result = run("mappings", scenario, "--stage", "ept")
    assert result.returncode == 2
    assert f"{scenario}: larger than {64 << 20} bytes" in result.stderr
