"""`nestwalk trace` as a user runs it: conversions between the binary and text
forms (traces/FORMAT.md), zstd, statistics, and corrupt traces that must give
exit 2 with the byte offset or line and column, never a crash."""
import os
import random
import re
import struct
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
DATA = os.path.join(os.environ["NESTWALK_SOURCE_ROOT"], "tests", "traces", "data")
TEXT = os.path.join(DATA, "every_record.txt")
BINARY = os.path.join(DATA, "every_record.nwt")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def run(*args, stdin=None):
    result = subprocess.run([NESTWALK, *args], input=stdin, capture_output=True, timeout=60)
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr!r}"
    assert b"Sanitizer" not in result.stderr and b"runtime error" not in result.stderr, result.stderr
    return result


def record(tag, payload):
    return struct.pack("<BI", tag, len(payload)) + payload


def header(version=1, flags=0):
    return b"\x89NWTRC\r\n" + struct.pack("<HH", version, flags)


def every_record_binary():
    """every_record.txt encoded by hand from FORMAT.md, independently of nestwalk."""
    b = header()
    b += record(0x08, b"start: 4-level guest over EPT")
    for reg, value in enumerate([0x80010033, 0x8000000000101001, 0x1606A0, 0xD01, 0x40202, 0x55555554, 0]):
        b += record(0x02, struct.pack("<BQ", reg, value))
    b += record(0x01, struct.pack("<QHBBB", 0x401000, 4, 2, 3, 0))  # fetch, CPL 3
    # outcome, gpa, hpa, refs, guest_page_size, s2_page_size: bits 0, 1, 2, 6, 7, 8
    b += record(0x09, struct.pack("<HBQQIQQ", 0x1C7, 0, 0x201000, 0x80201000, 0x18, 0x1000, 0x200000))
    b += record(0x01, struct.pack("<QHBBB", 0xFFFF888000001000, 8, 1, 0, 3))  # write, implicit + ac
    b += record(0x09, struct.pack("<HBQ", 0x009, 1, 3))  # page_fault, error code 3
    b += record(0x01, struct.pack("<QHBBB", 0x7FFFFFFFF000, 0x1000, 0, 3, 0))
    b += record(0x09, struct.pack("<HBQQ", 0x031, 2, 0x181, 0x3FF000))  # ept_violation
    b += record(0x03, struct.pack("<Q", 0x103000) + bytes.fromhex("0710300000000080"))
    b += record(0x04, struct.pack("<Q", 0x401000))
    b += record(0x05, struct.pack("<BHQ", 0, 1, 0x401000))
    b += record(0x05, struct.pack("<BHQ", 3, 0, 0))
    b += record(0x06, struct.pack("<BHQ", 1, 1, 0))
    b += record(0x07, struct.pack("<BQ", 1, 0x1234505E))
    b += record(0x07, struct.pack("<BQ", 2, 0))
    b += record(0x08, b"done")
    return b + record(0x7F, b"")


def canonical(text):
    """The text form as a writer emits it: comments, blank lines and trailing spaces dropped."""
    lines = [re.sub(r"\s*#.*$", "", line).rstrip() for line in text.splitlines()]
    return "".join(line + "\n" for line in lines if line)


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def test_bundled_binary_is_the_hand_encoding():
    assert read(BINARY) == every_record_binary()


def test_text_to_binary_matches_the_hand_encoding(tmp_path):
    out = tmp_path / "out.nwt"
    result = run("trace", "convert", TEXT, str(out))
    assert result.returncode == 0, result.stderr
    assert read(out) == every_record_binary()


def test_binary_to_text_is_the_canonical_text(tmp_path):
    out = tmp_path / "out.txt"
    result = run("trace", "convert", BINARY, str(out), "--to", "text")
    assert result.returncode == 0, result.stderr
    assert read(out, "r") == canonical(read(TEXT, "r"))


def test_binary_text_binary_is_byte_identical(tmp_path):
    text, again = tmp_path / "a.txt", tmp_path / "b.nwt"
    assert run("trace", "convert", BINARY, str(text)).returncode == 0
    assert run("trace", "convert", str(text), str(again)).returncode == 0
    assert read(again) == read(BINARY)


@pytest.mark.parametrize("form", ["binary", "text"])
def test_zstd_round_trip(tmp_path, form):
    packed, unpacked = tmp_path / "p.zst", tmp_path / "u.nwt"
    assert run("trace", "convert", BINARY, str(packed), "--to", form, "--zstd").returncode == 0
    assert read(packed)[:4] == ZSTD_MAGIC
    result = run("trace", "convert", str(packed), str(unpacked), "--to", "binary")
    assert result.returncode == 0, result.stderr
    assert read(unpacked) == read(BINARY)
    stats = run("trace", "stats", str(packed))
    assert f"({form}, zstd)" in stats.stdout.decode()


def test_cat_prints_text_and_reads_stdin():
    result = run("trace", "cat", "-", stdin=read(BINARY))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == canonical(read(TEXT, "r"))


def test_stats_counts_records_by_kind():
    result = run("trace", "stats", BINARY)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "(binary)" in out
    assert "records: 22" in out
    for kind, count in [("access", 3), ("reg", 7), ("gpwrite", 1), ("invlpg", 1), ("invpcid", 2),
                        ("invvpid", 1), ("invept", 2), ("mark", 2), ("expect", 3)]:
        assert re.search(rf"^\s+{kind}\s+{count}$", out, re.M), (kind, out)
    assert "read 1, write 1, fetch 1; bytes accessed 4108" in out


def test_optional_records_are_skipped_and_counted(tmp_path):
    data = every_record_binary()
    data = data[:12] + record(0xC0, b"future extension") + data[12:]
    result = run("trace", "stats", write(tmp_path / "opt.nwt", data))
    assert result.returncode == 0, result.stderr
    assert "optional records skipped: 1" in result.stdout.decode()


BIN = every_record_binary()
FIRST = 12  # offset of the first record
BINARY_CORRUPTIONS = {
    "truncated record": (BIN[:FIRST + 10], "byte offset 12: truncated record"),
    "truncated header": (BIN[:7], "bad magic"),
    "missing end": (BIN[:-5], f"byte offset {len(BIN) - 5}: trace ends without an end record"),
    "bad magic": (b"\x89NWTRX\r\n" + BIN[8:], "byte offset 0: bad magic"),
    "unsupported version": (header(version=9) + BIN[12:], "byte offset 8: unsupported version 9"),
    "header flags": (header(flags=1) + BIN[12:], "byte offset 10: unsupported header flags"),
    "unknown tag": (BIN[:FIRST] + b"\x42" + BIN[FIRST + 1:], "byte offset 12: unknown tag 0x42"),
    "absurd size": (BIN[:FIRST + 1] + struct.pack("<I", 0x7FFFFFF0) + BIN[FIRST + 5:],
                    "byte offset 12: absurd record length 2147483632"),
    "wrong fixed length": (header() + record(0x04, b"\0" * 9) + record(0x7F, b""),
                           "byte offset 12: bad invlpg record: payload length wrong"),
    "bad field value": (header() + record(0x01, struct.pack("<QHBBB", 0, 8, 3, 0, 0)) + record(0x7F, b""),
                        "byte offset 12: bad access record: access type is not read, write or fetch"),
    "undefined flag": (header() + record(0x01, struct.pack("<QHBBB", 0, 8, 0, 0, 4)) + record(0x7F, b""),
                       "access flags have undefined bits"),
    "expect without access": (header() + record(0x09, struct.pack("<HB", 1, 0)) + record(0x7F, b""),
                              "byte offset 12: bad expect record: an expectation must follow an access"),
    "expect mask vs length": (header() + record(0x01, struct.pack("<QHBBB", 0, 8, 0, 0, 0))
                              + record(0x09, struct.pack("<HBB", 1, 0, 0)) + record(0x7F, b""),
                              "byte offset 30: bad expect record: expectation length does not match"),
    "trailing garbage": (BIN + b"\0", f"byte offset {len(BIN)}: trailing garbage after the end record"),
}


@pytest.mark.parametrize("name", sorted(BINARY_CORRUPTIONS))
def test_corrupt_binary_trace_names_the_offset(tmp_path, name):
    data, message = BINARY_CORRUPTIONS[name]
    path = write(tmp_path / "bad.nwt", data)
    out = tmp_path / "out.txt"
    result = run("trace", "convert", path, str(out))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr.decode(), result.stderr
    assert not out.exists(), "a failed conversion leaves no output behind"
    assert run("trace", "stats", path).returncode == 2


TXT = read(TEXT, "r")
TEXT_CORRUPTIONS = {
    "bad keyword": (TXT.replace("invlpg gva", "invlgp gva"), "line 20, column 1: unknown record keyword"),
    "bad magic": ("nestwalk-trac 1\nend\n", "byte offset 0: bad magic"),
    "unsupported version": ("nestwalk-trace 4\nend\n", "line 1, column 16: unsupported version 4"),
    "bad number": (TXT.replace("size=0x4 ", "size=4 "), "line 13, column 21: bad number"),
    "bad hex digit": (TXT.replace("gva=0x401000 size", "gva=0x40g000 size"), "line 13, column 8: bad number"),
    "too wide": (TXT.replace("gva=0x401000 size", "gva=0x10000000000000000 size"), "number wider than 64 bits"),
    "missing field": (TXT.replace(" cpl=0x3\n", "\n", 1), "line 13, column 1: access: missing field 'cpl'"),
    "unknown field": (TXT.replace("invlpg gva=0x401000", "invlpg gva=0x401000 pcid=0x1"),
                      "line 20, column 21: unknown field"),
    "repeated field": (TXT.replace("invlpg gva=0x401000", "invlpg gva=0x401000 gva=0x2"),
                       "line 20, column 21: field given twice"),
    "bad type": (TXT.replace("type=fetch", "type=execute"), "line 13, column 30: unknown value"),
    "out of range": (TXT.replace("cpl=0x3\n", "cpl=0x4\n", 1), "line 13, column 1: cpl outside 0..3"),
    "odd bytes": (TXT.replace("bytes=0710", "bytes=071"), "bytes must be an even number"),
    "unterminated label": (TXT.replace('label="done"', 'label="done'), "line 26, column 12: unterminated quoted"),
    "expect without access": (TXT.replace("invlpg gva=0x401000", "expect refs=0x1"),
                              "line 20, column 1: an expectation must follow an access"),
    "missing end": (TXT.replace("\nend\n", "\n"), "line 27: trace ends without an 'end' line"),
    "trailing garbage": (TXT + "access gva=0x0 size=0x1 type=read cpl=0x0\n",
                         "line 28: trailing garbage after the 'end' line"),
    "line too long": (TXT.replace("# One", "#" + "x" * 20000), "line 2, column 16385: line longer than 16384"),
    "non-ascii": (TXT.replace("done", "d\u00f6ne"), "line 26, column 14: a character outside printable ASCII"),
}


@pytest.mark.parametrize("name", sorted(TEXT_CORRUPTIONS))
def test_corrupt_text_trace_names_line_and_column(tmp_path, name):
    text, message = TEXT_CORRUPTIONS[name]
    path = write(tmp_path / "bad.txt", text.encode())
    result = run("trace", "convert", path, str(tmp_path / "out.nwt"))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr.decode(), result.stderr


def test_corrupt_zstd_stream(tmp_path):
    packed = tmp_path / "p.zst"
    assert run("trace", "convert", BINARY, str(packed), "--zstd", "--to", "binary").returncode == 0
    data = read(packed)
    result = run("trace", "stats", write(tmp_path / "cut.zst", data[:len(data) // 2]))
    assert result.returncode == 2
    assert b"compressed stream truncated at compressed byte offset" in result.stderr
    result = run("trace", "stats", write(tmp_path / "junk.zst", data + b"junk"))
    assert result.returncode == 2
    assert b"zstd:" in result.stderr


def test_random_corruption_never_crashes(tmp_path):
    """Flipped bytes anywhere: a clean result or exit 2 with an offset, never a crash."""
    rng = random.Random(5)
    for i in range(30):
        data = bytearray(BIN)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        result = run("trace", "stats", write(tmp_path / f"r{i}.nwt", bytes(data)))
        assert result.returncode in (0, 2), result.stderr
        if result.returncode == 2:
            assert re.search(rb"byte offset \d+", result.stderr), result.stderr


@pytest.mark.parametrize("args", [["trace"], ["trace", "convert", TEXT], ["trace", "convert", TEXT, "x", "--to", "xml"],
                                  ["trace", "stats"], ["trace", "frobnicate", TEXT]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert b"usage: nestwalk trace" in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = run("trace", "stats", str(tmp_path / "nope.nwt"))
    assert result.returncode == 2
    assert b"No such file" in result.stderr


# misconfig_level (bit 9) and gla_valid (bit 10), one byte each on disk, and an expectation after a register
# write (FORMAT.md): the text below and its binary form, encoded here by hand.
NEW_FIELDS_TEXT = """nestwalk-trace 1
access gva=0x400000 size=0x1 type=read cpl=0x0
expect outcome=ept_misconfig fault_gpa=0x200000 misconfig_level=0x2
access gva=0x600000 size=0x1 type=read cpl=0x0
expect outcome=ept_violation exit_qualification=0x81 gla_valid=0x1
reg cr3=0x7000
expect outcome=ept_violation exit_qualification=0x1 fault_gpa=0x7000 gla_valid=0x0
reg cr3=0x6000
expect outcome=general_protection
end
"""


def new_fields_binary():
    b = header()
    b += record(0x01, struct.pack("<QHBBB", 0x400000, 1, 0, 0, 0))
    b += record(0x09, struct.pack("<HBQB", 0x221, 3, 0x200000, 2))  # bits 0, 5, 9
    b += record(0x01, struct.pack("<QHBBB", 0x600000, 1, 0, 0, 0))
    b += record(0x09, struct.pack("<HBQB", 0x411, 2, 0x81, 1))  # bits 0, 4, 10
    b += record(0x02, struct.pack("<BQ", 1, 0x7000))
    b += record(0x09, struct.pack("<HBQQB", 0x431, 2, 0x1, 0x7000, 0))  # bits 0, 4, 5, 10
    b += record(0x02, struct.pack("<BQ", 1, 0x6000))
    b += record(0x09, struct.pack("<HB", 0x001, 5))
    return b + record(0x7F, b"")


def test_new_expectation_fields_round_trip(tmp_path):
    text = write(tmp_path / "new.txt", NEW_FIELDS_TEXT.encode())
    binary = tmp_path / "new.nwt"
    assert run("trace", "convert", text, str(binary), "--to", "binary").returncode == 0
    assert read(binary) == new_fields_binary()
    back = tmp_path / "back.txt"
    assert run("trace", "convert", str(binary), str(back), "--to", "text").returncode == 0
    assert read(back, "r") == NEW_FIELDS_TEXT


@pytest.mark.parametrize("line, message", [
    ("expect misconfig_level=0x6", "line 3, column 1: misconfig_level outside 1..5"),
    ("expect misconfig_level=0x0", "line 3, column 1: misconfig_level outside 1..5"),
    ("expect gla_valid=0x2", "line 3, column 1: gla_valid is not 0 or 1"),
    ("expect gla_valid=0x100", "line 3, column 8: value out of range for this field"),
])
def test_new_expectation_fields_out_of_range(tmp_path, line, message):
    path = write(tmp_path / "bad.txt", f"nestwalk-trace 1\naccess gva=0x0 size=0x1 type=read cpl=0x0\n{line}\nend\n"
                 .encode())
    result = run("trace", "convert", path, str(tmp_path / "out.nwt"))
    assert result.returncode == 2 and message in result.stderr.decode(), result.stderr


def test_an_expectation_after_a_register_write_names_no_address(tmp_path):
    # A register write translates nothing: gpa, hpa and page sizes are refused after it, in either form.
    path = write(tmp_path / "bad.txt", b"nestwalk-trace 1\nreg cr3=0x1000\nexpect gpa=0x1000\nend\n")
    result = run("trace", "convert", path, str(tmp_path / "out.nwt"))
    assert result.returncode == 2, result.stdout
    assert "line 3, column 1: an expectation after a register write names a field only an access has" in \
        result.stderr.decode(), result.stderr
    data = header() + record(0x02, struct.pack("<BQ", 1, 0x1000)) + record(0x09, struct.pack("<HQ", 0x080, 0x1000))
    result = run("trace", "convert", write(tmp_path / "bad.nwt", data + record(0x7F, b"")), str(tmp_path / "o.txt"))
    assert result.returncode == 2 and "byte offset 26: bad expect record: an expectation after a register write" \
        in result.stderr.decode(), result.stderr
