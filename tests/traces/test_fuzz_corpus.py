"""The fuzz seed corpora: tests/fuzz/gen_corpus.py writes a seed per bundled trace in each of its forms (text,
binary, zstd) through `nestwalk trace convert`, keeps the seeds written by hand (tests/fuzz/seeds/), and the
checked-in corpus (tests/fuzz/corpus/) is exactly what it writes from today's tree, so it cannot go stale."""
import collections
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
NESTWALK = os.environ["NESTWALK"]
GEN = ROOT / "tests" / "fuzz" / "gen_corpus.py"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BINARY_MAGIC = b"\x89NWTRC\r\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    done = subprocess.run(["/usr/bin/python3", GEN, "--out", out, "--nestwalk", NESTWALK], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return out


def trace_cat(data):
    done = subprocess.run([NESTWALK, "trace", "cat", "-"], input=data, capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def contents(folder):
    """The seeds of a corpus folder as a multiset. A zstd seed counts by what it decompresses to: libzstd may
    compress the same stream into other bytes in another version, and the seed still holds the same trace."""
    def key(data):
        if data[:4] != ZSTD_MAGIC:
            return data
        done = subprocess.run([NESTWALK, "trace", "convert", "-", "-", "--to", "binary"], input=data,
                              capture_output=True)
        assert done.returncode == 0, done.stderr
        return b"zstd:" + done.stdout
    return collections.Counter(key(p.read_bytes()) for p in folder.iterdir())


def test_a_seed_per_bundled_trace_in_each_form(generated):
    # Before, the generator stopped at the first aarch64 register ("'sctlr_el1' is not in list"): its own
    # encoder knew only version-1 x86_64 traces.
    seeds = [p.read_bytes() for p in (generated / "trace").iterdir()]
    forms = collections.defaultdict(set)  # a trace's text as trace cat prints it -> the forms it has a seed in
    for seed in seeds:
        form = "zstd" if seed[:4] == ZSTD_MAGIC else "binary" if seed[:8] == BINARY_MAGIC else "text"
        forms[trace_cat(seed)].add(form)
    bundled = sorted((ROOT / "traces").glob("*.nwt.txt"))
    assert len(bundled) >= 11
    for path in bundled:
        text = path.read_bytes()
        assert text in seeds, f"{path.name}: no text seed"
        versions = text.split(b"\n", 1)[0]
        assert forms[trace_cat(text)] == {"text", "binary", "zstd"}, (path.name, versions)
    # Every version and architecture: version 1 x86_64, version 2 aarch64 and riscv64, version 3 (s2edit).
    headers = {seed.split(b"\n", 1)[0] for seed in seeds if seed.startswith(b"nestwalk-trace")}
    assert {b"nestwalk-trace 1", b"nestwalk-trace 2 arch=aarch64", b"nestwalk-trace 2 arch=riscv64",
            b"nestwalk-trace 3 arch=x86_64", b"nestwalk-trace 3 arch=aarch64",
            b"nestwalk-trace 3 arch=riscv64"} <= headers


def test_hand_written_seeds_are_kept(generated):
    # tests/fuzz/seeds/trace/optional-records.nwt: tags 0x80 and 0xFF are optional records a reader skips
    # (FORMAT.md, "Binary form") and conversion drops, so no converted trace has them.
    hand = (ROOT / "tests" / "fuzz" / "seeds" / "trace" / "optional-records.nwt").read_bytes()
    assert b"\x80\x04\x00\x00\x00opt!" in hand
    assert hand in [p.read_bytes() for p in (generated / "trace").iterdir()]


def test_checked_in_corpus_is_what_the_generator_writes(generated):
    targets = sorted(p.name for p in generated.iterdir())
    assert targets == sorted(p.name for p in (ROOT / "tests" / "fuzz" / "corpus").iterdir())
    stale = [t for t in targets if contents(generated / t) != contents(ROOT / "tests" / "fuzz" / "corpus" / t)]
    assert not stale, f"tests/fuzz/corpus/ differs from what tests/fuzz/gen_corpus.py writes for {stale}: rerun it"


def test_generator_without_the_program_says_so(tmp_path):
    done = subprocess.run(["/usr/bin/python3", GEN, "--out", tmp_path, "--nestwalk", tmp_path / "none", "trace"],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "no nestwalk program there" in done.stderr
