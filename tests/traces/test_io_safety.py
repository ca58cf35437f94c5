"""No user file is lost and no answer is silently incomplete (issue #12).

Outputs: an output that is the same file as an input is refused with the input
untouched; a failed write leaves no temporary file and the old output as it
was; a command whose standard output could not be written exits 2 naming it.
Inputs: every loader refuses a path that is not a regular file (a character
device that never ends, a FIFO no one writes, a directory) with a message
naming it, instead of reading forever or waiting. Every run has a timeout, so
a hang fails the check instead of stalling it."""
import os
import pathlib
import resource
import shutil
import signal
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ.get("NESTWALK_SOURCE_ROOT", pathlib.Path(__file__).parents[2]))
LACKEY2TRACE = ROOT / "tools" / "lackey2trace"
AXVISOR_IMPORT = ROOT / "tools" / "axvisor-import"
HW = ROOT / "scenarios" / "hw"
# 665 KB of zstd (70 MB of records), ten times the trace reader's 64 KiB buffer: the
# old convert had not read it all when opening the output truncated it.
BIG_TRACE = ROOT / "traces" / "lackey" / "gzip.nwt.zst"
TIMEOUT = 20


def run(*args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([NESTWALK, *map(str, args)], text=True, timeout=TIMEOUT, **kwargs)


def tool(path, *args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([str(path), *map(str, args)], text=True, timeout=TIMEOUT, **kwargs)


def names(folder):
    return sorted(os.listdir(folder))


def file_size_limit(limit):
    """A child whose writes past limit bytes of a file fail with EFBIG (SIGXFSZ ignored, as
    an ignored signal stays ignored across exec)."""
    def limit_child():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_child


# ---- an output that is an input ----

@pytest.mark.parametrize("spell", ["same path", "dot path", "hard link", "symbolic link"])
def test_convert_onto_its_input_is_refused(tmp_path, spell):
    trace = tmp_path / "in.nwt.zst"
    shutil.copyfile(BIG_TRACE, trace)
    out = {"same path": trace, "dot path": tmp_path / "." / "in.nwt.zst",
           "hard link": tmp_path / "link.nwt", "symbolic link": tmp_path / "sym.nwt"}[spell]
    if spell == "hard link":
        os.link(trace, out)
    if spell == "symbolic link":
        os.symlink(trace, out)
    before = names(tmp_path)
    result = run("trace", "convert", trace, out, "--to", "binary")
    assert result.returncode == 2
    assert f"{out}: the output is the same file as the input {trace}" in result.stderr
    assert trace.read_bytes() == BIG_TRACE.read_bytes()
    assert names(tmp_path) == before


def test_hw_observed_onto_its_trace_is_refused(tmp_path):
    trace = tmp_path / "first_stage.nwt.txt"
    shutil.copyfile(HW / "first_stage.nwt.txt", trace)
    result = run("hw", "run", HW / "first_stage.yaml", "--backend", "qemu", "--trace", trace, "--observed", trace)
    assert result.returncode == 2
    assert f"{trace}: the output is the same file as the input {trace}" in result.stderr
    assert trace.read_bytes() == (HW / "first_stage.nwt.txt").read_bytes()


def test_axvisor_import_onto_its_config_is_refused(tmp_path):
    config = tmp_path / "vm.toml"
    shutil.copyfile(ROOT / "scenarios" / "axvisor" / "arceos-x86_64.toml", config)
    result = tool(AXVISOR_IMPORT, config, "--arch", "x86_64", "-o", config)
    assert result.returncode == 2
    assert f"{config}: the output is the same file as the input {config}" in result.stderr
    assert config.read_bytes() == (ROOT / "scenarios" / "axvisor" / "arceos-x86_64.toml").read_bytes()


def test_lackey2trace_onto_its_input_or_twice_onto_one_file_is_refused(tmp_path):
    lackey = tmp_path / "run.lackey"
    lackey.write_text("I  00400000,4\n L 00601000,8\n")
    result = tool(LACKEY2TRACE, lackey, lackey, tmp_path / "run.yaml")
    assert result.returncode == 2 and "the output is the same file as the input" in result.stderr
    assert lackey.read_text() == "I  00400000,4\n L 00601000,8\n"
    result = tool(LACKEY2TRACE, lackey, tmp_path / "one", tmp_path / "one")
    assert result.returncode == 2 and "write them to two files" in result.stderr
    assert names(tmp_path) == ["run.lackey"]


# ---- a failed write keeps the old output ----

def test_convert_failing_to_write_keeps_the_old_output(tmp_path):
    out = tmp_path / "out.nwt"
    out.write_bytes(b"the old output\n")
    # 70 MB of records against a 64 KiB file size limit: a write fails part way.
    result = run("trace", "convert", BIG_TRACE, out, "--to", "binary", preexec_fn=file_size_limit(64 << 10))
    assert result.returncode == 2
    assert f"{out}: write error: File too large" in result.stderr
    assert out.read_bytes() == b"the old output\n"
    assert names(tmp_path) == ["out.nwt"]


def test_convert_of_a_damaged_trace_keeps_the_old_output(tmp_path):
    damaged = tmp_path / "damaged.nwt.zst"
    damaged.write_bytes(BIG_TRACE.read_bytes()[:200000])  # a zstd stream cut short
    out = tmp_path / "out.nwt"
    out.write_bytes(b"the old output\n")
    result = run("trace", "convert", damaged, out)
    assert result.returncode == 2 and "compressed stream truncated" in result.stderr
    assert out.read_bytes() == b"the old output\n"
    assert names(tmp_path) == ["damaged.nwt.zst", "out.nwt"]


def test_bench_report_failing_to_write_keeps_the_old_report(tmp_path):
    (tmp_path / "bench.json").write_text("{}\n")
    result = run("bench", "--tiny", "--no-replay", "--report", tmp_path, preexec_fn=file_size_limit(16))
    assert result.returncode == 2
    assert f"{tmp_path}/bench.json: write error: File too large" in result.stderr
    assert (tmp_path / "bench.json").read_text() == "{}\n"
    assert names(tmp_path) == ["bench.json"]


def test_lackey2trace_on_bad_input_keeps_the_old_trace(tmp_path):
    lackey = tmp_path / "run.lackey"
    lackey.write_text("I  00400000,4\nnot lackey\n")
    (tmp_path / "run.nwt").write_bytes(b"the old trace\n")
    result = tool(LACKEY2TRACE, lackey, tmp_path / "run.nwt", tmp_path / "run.yaml")
    assert result.returncode == 2 and f"{lackey}:2: not a lackey line" in result.stderr
    assert (tmp_path / "run.nwt").read_bytes() == b"the old trace\n"
    assert names(tmp_path) == ["run.lackey", "run.nwt"]


def test_lackey2trace_keeps_the_old_pair_when_the_scenario_cannot_be_written(tmp_path):
    # The scenario's folder does not exist: the new trace is complete, but a new trace beside the old
    # scenario would be a pair that does not belong together, so the old trace stays too.
    lackey = tmp_path / "run.lackey"
    lackey.write_text("I  00400000,4\n")
    (tmp_path / "run.nwt").write_bytes(b"the old trace\n")
    result = tool(LACKEY2TRACE, lackey, tmp_path / "run.nwt", tmp_path / "missing" / "run.yaml")
    assert result.returncode == 2 and "missing/run.yaml" in result.stderr, result.stderr
    assert (tmp_path / "run.nwt").read_bytes() == b"the old trace\n"
    assert names(tmp_path) == ["run.lackey", "run.nwt"]


def test_a_new_output_gets_the_usual_mode_and_a_replaced_one_keeps_its_own(tmp_path):
    # 0666 less the umask for a new file (as open(2) with O_CREAT would give), not mkstemp's 0600.
    out = tmp_path / "new.nwt"
    assert run("trace", "convert", ROOT / "traces" / "replay_ept.nwt.txt", out, preexec_fn=lambda: os.umask(0o022)
               ).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o644
    out.chmod(0o640)
    assert run("trace", "convert", ROOT / "traces" / "replay_ept.nwt.txt", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o640


# ---- standard output on a full device ----

STDOUT_COMMANDS = {
    "about": ["about"],
    "help": ["--help"],
    "bench": ["bench", "--tiny", "--no-replay"],
    "trace cat": ["trace", "cat", ROOT / "traces" / "replay_ept.nwt.txt"],
    "trace stats": ["trace", "stats", ROOT / "traces" / "replay_ept.nwt.txt"],
    "trace convert to -": ["trace", "convert", ROOT / "traces" / "replay_ept.nwt.txt", "-"],
    "replay": ["replay", ROOT / "scenarios" / "replay_ept.yaml"],
    "mappings": ["mappings", ROOT / "scenarios" / "replay_ept.yaml", "--stage", "ept"],
    "translate": ["translate", ROOT / "scenarios" / "replay_ept.yaml", "--gpa", "0x1000", "--access", "read"],
    "read": ["read", ROOT / "scenarios" / "replay_ept.yaml", "--gpa", "0x4000", "--len", "0x40"],
    "hw run": ["hw", "run", HW / "first_stage.yaml", "--backend", "qemu", "--trace", HW / "first_stage.nwt.txt"],
}


@pytest.mark.parametrize("command", STDOUT_COMMANDS)
def test_every_command_to_a_full_device_exits_2(request, command):
    if command == "hw run":
        request.getfixturevalue("qemu")
    with open("/dev/full", "w") as full:
        result = run(*STDOUT_COMMANDS[command], stdout=full)
    assert result.returncode == 2, result.stderr
    assert "standard output: write error: No space left on device" in result.stderr
    assert result.stderr.count("standard output") == 1, result.stderr


def test_axvisor_import_to_a_full_device_exits_2():
    with open("/dev/full", "w") as full:
        result = tool(AXVISOR_IMPORT, ROOT / "scenarios" / "axvisor" / "arceos-x86_64.toml", stdout=full)
    assert result.returncode == 2
    assert "axvisor-import: standard output: No space left on device" in result.stderr


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
