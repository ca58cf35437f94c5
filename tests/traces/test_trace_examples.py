"""The version-2 examples of traces/FORMAT.md, one per architecture, and the version-3 one, each encoded here by
hand from the format's tables: the text converts to exactly those bytes, the bytes print as the canonical text,
and both forms survive zstd. The architectures' own checks (statistics, bad input, replay's refusal) are
test_trace_aarch64.py's and test_trace_riscv64.py's."""
import os
import re
import struct

import pytest

from test_trace_format import record, run

ROOT = os.environ["NESTWALK_SOURCE_ROOT"]
FORMAT = os.path.join(ROOT, "traces", "FORMAT.md")


def example_text(arch, version=2):
    """The example of FORMAT.md's text form for arch in version, as the document shows it."""
    blocks = re.findall(rf"```\n(nestwalk-trace {version} arch={arch}\n.*?)```", open(FORMAT).read(), re.S)
    assert len(blocks) == 1, f"FORMAT.md has one {arch} example of version {version}"
    return blocks[0]


def canonical(text):
    lines = [re.sub(r"\s*#.*$", "", line).rstrip() for line in text.splitlines()]
    return "".join(re.sub(r"\s+", " ", line) + "\n" for line in lines if line)


def aarch64_binary():
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


def riscv64_binary():
    """FORMAT.md's riscv64 example encoded by hand from its tables: header version 2, architecture 2."""
    b = b"\x89NWTRC\r\n" + struct.pack("<HH", 2, 2)
    b += record(0x02, struct.pack("<BQ", 17, 0x8000100000080400))  # hgatp is register 17
    b += record(0x02, struct.pack("<BQ", 23, 1))  # priv is 23: VS-mode
    b += record(0x01, struct.pack("<QHBBB", 0x401000, 8, 0, 1, 0))  # read in VS-mode, no flags
    # fence: op, flags (bit 0 rs1 is x0, bit 1 rs2 is x0), rs1, rs2
    b += record(0x0B, struct.pack("<BBQQ", 0, 2, 0x401000, 0))  # sfence.vma rs1=0x401000 rs2=x0
    b += record(0x0B, struct.pack("<BBQQ", 1, 1, 0, 5))  # hfence.vvma rs1=x0 rs2=5
    b += record(0x0B, struct.pack("<BBQQ", 2, 0, 0x80401000 >> 2, 1))  # hfence.gvma GPA >> 2, VMID 1
    return b + record(0x7F, b"")


def riscv64_v3_binary():
    """FORMAT.md's version-3 riscv64 example encoded by hand: header version 3, architecture 2; the expectation's
    field mask is a u32 from version 3."""
    b = b"\x89NWTRC\r\n" + struct.pack("<HH", 3, 2)
    b += record(0x01, struct.pack("<QHBBB", 0x600000, 8, 0, 0, 0))  # read in VU-mode
    # outcome (bit 0), scause (14), stval (15), htval (16), htinst (17): mask 0x3c001; guest_page_fault is 10
    b += record(0x09, struct.pack("<IBQQQQ", 0x3C001, 10, 0x15, 0x600000, 0x24000400, 0x3000))
    b += record(0x01, struct.pack("<QHBBB", 0x401008, 8, 1, 0, 0))  # write in VU-mode
    b += record(0x09, struct.pack("<IBQQ", 0xC001, 1, 0xF, 0x401008))  # page_fault is 1: outcome, scause, stval
    b += record(0x0C, struct.pack("<QBQQ", 0x80000000, 1, 4, 0))  # s2edit: gpa, level, clear, set
    b += record(0x0B, struct.pack("<BBQQ", 2, 0, 0x20000000, 1))  # hfence.gvma
    return b + record(0x7F, b"")


def check_bad_example(tmp_path, arch, swap, message, version=2):
    """arch's example of version with one line changed (swap: the text and its replacement) does not convert: exit
    2, the message with the reader's line and column, no output."""
    text = example_text(arch, version).replace(*swap, 1)
    assert text != example_text(arch, version)
    path = tmp_path / "bad.txt"
    path.write_text(text)
    out = tmp_path / "out.nwt"
    result = run("trace", "convert", str(path), str(out))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr.decode(), result.stderr
    assert not out.exists()


EXAMPLES = {("aarch64", 2): aarch64_binary, ("riscv64", 2): riscv64_binary, ("riscv64", 3): riscv64_v3_binary}


@pytest.fixture(params=sorted(EXAMPLES), ids=lambda key: f"{key[0]}-v{key[1]}")
def example(request):
    return request.param


def test_text_to_binary_matches_the_hand_encoding(tmp_path, example):
    text, out = tmp_path / "example.txt", tmp_path / "example.nwt"
    text.write_text(example_text(*example))
    result = run("trace", "convert", str(text), str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == EXAMPLES[example]()


def test_binary_to_text_is_the_canonical_text(tmp_path, example):
    binary = tmp_path / "example.nwt"
    binary.write_bytes(EXAMPLES[example]())
    result = run("trace", "cat", str(binary))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == canonical(example_text(*example))


@pytest.mark.parametrize("form", ["binary", "text"])
def test_zstd_round_trip(tmp_path, example, form):
    binary, packed, again = tmp_path / "example.nwt", tmp_path / "example.zst", tmp_path / "again.nwt"
    binary.write_bytes(EXAMPLES[example]())
    assert run("trace", "convert", str(binary), str(packed), "--to", form, "--zstd").returncode == 0
    assert packed.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    result = run("trace", "convert", str(packed), str(again), "--to", "binary")
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == EXAMPLES[example]()
