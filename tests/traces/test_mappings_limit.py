"""`nestwalk mappings --limit N` (scenarios/README.md): a listing holds at most N ranges (default 100000, 0: no
bound) and closes with how much it left out; exit 0, since aliases are legal and what is listed is true.

The guests below reference their own tables, written as raw guest memory. A 4-level walk (SDM Vol. 3A §4.5)
takes bits 47:39, 38:30, 29:21 and 20:12 of the address as the indexes into the PML4, PDPT, PD and PT; an entry
P|RW|US (0x7) without PS at levels 4 to 2 points to the next table, at level 1 it maps a 4 KiB page. So a PML4
entry that points to the PML4 itself is, one level down, a PDPTE pointing to the PML4 again, and so on to a PTE
mapping the PML4's own page: with k such entries the guest has k^4 pages, all at the same physical address (none
continues the one before, so each page is its own range). Every run is bounded in time and output, so the old
unbounded listing (2^28 pages, gigabytes of text) fails instead of filling the disk."""
import json
import os
import subprocess
import time

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = os.environ["NESTWALK_SOURCE_ROOT"]
PML4 = 0x1000
SELF = PML4 | 0x7  # P|RW|US, pointing to the PML4


def scenario(tmp_path, writes):
    """A 4-level guest with CR3 = 0x1000 and the given {gpa: [values]} raw writes."""
    lines = ["memory_regions:", "  - {gpa: 0x1000, size: 0x10000, flags: 0x7, type: alloc}",
             "cpu: {mode: 4level, cr0: 0x80010001, cr3: 0x1000, cr4: 0x20, efer: 0x500}", "guest:", "  writes:"]
    for gpa, values in writes.items():
        lines.append(f"    - {{gpa: {gpa:#x}, values: [{', '.join(hex(v) for v in values)}]}}")
    path = tmp_path / "guest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(tmp_path, *args, timeout=20, max_bytes=32 << 20):
    """nestwalk's exit code, stdout and stderr; fails when it runs past timeout seconds or writes past max_bytes."""
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([NESTWALK, *map(str, args)], stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline or out_path.stat().st_size > max_bytes:
                proc.kill()
                proc.wait()
                pytest.fail(f"unbounded listing: {out_path.stat().st_size} bytes after "
                            f"{timeout - (deadline - time.monotonic()):.1f} s")
            time.sleep(0.02)
    return proc.returncode, out_path.read_text(), err_path.read_text()


def text_range(va, pa=PML4, size=0x1000, rights="rwxu", flags="---"):
    """A line of the text listing: gva start-end, gpa, size, page size, rights, flags (entries 0x7: read, write,
    execute without XD, user; no G, A or D)."""
    return f"{va:016x}-{va + size:016x} {pa:016x} {size:016x} 4K   {rights}   {flags}"


HEADER = ["# page: the size of every leaf in the range; rights: r read, w write, x execute (no XD), u user (U/S=1); "
          "flags: g global, a accessed, d dirty",
          "gva-gva_end                       gpa              size             page rights flags"]


def test_table_mapping_itself_everywhere_is_cut_at_the_default_limit(tmp_path):
    # All 512 PML4 entries point to the PML4: 512^4 = 2^36 pages, the whole 48-bit space. The page with walk
    # index i (the four 9-bit indexes read as one number) sits at VA i << 12, so the first 100000 ranges are
    # VA 0 to 0x186a0000, each one page at PA 0x1000. Left out: 2^36 - 100000 = 68719376736 pages,
    # 2^48 - 100000 * 0x1000 = 0xffffe7960000 bytes.
    path = scenario(tmp_path, {PML4: [SELF] * 512})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest")
    assert status == 0, err
    lines = out.splitlines()
    cut = "listing cut at --limit 100000 ranges: 68719376736 more page(s), 0xffffe7960000 bytes, not listed"
    assert len(lines) == 2 + 100000 + 1
    assert lines[:2] == HEADER
    assert lines[2] == text_range(0)
    assert lines[3] == text_range(0x1000)
    assert lines[100001] == text_range(99999 << 12)
    assert lines[-1] == cut
    assert err == f"nestwalk mappings: {cut}\n"


def test_table_mapping_itself_json_says_it_is_truncated(tmp_path):
    path = scenario(tmp_path, {PML4: [SELF] * 512})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest", "--json", "--limit", 3)
    assert status == 0, err
    listing = json.loads(out)
    assert [(r["gva"], r["gva_end"], r["gpa"], r["rights"], r["accessed"]) for r in listing["ranges"]] == [
        ("0x0", "0x1000", "0x1000", "rwxu", False),
        ("0x1000", "0x2000", "0x1000", "rwxu", False),
        ("0x2000", "0x3000", "0x1000", "rwxu", False)]
    # 2^36 - 3 pages and 2^48 - 3 * 0x1000 bytes left out.
    assert (listing["limit"], listing["truncated"], listing["cut_pages"], listing["cut_bytes"]) == (
        3, True, 68719476733, "0xffffffffd000")
    assert err == ("nestwalk mappings: listing cut at --limit 3 ranges: 68719476733 more page(s), "
                   "0xffffffffd000 bytes, not listed\n")


# PML4[0] and PML4[1] point to the PML4: 2^4 = 16 pages, VA = a << 39 | b << 30 | c << 21 | d << 12 for each
# index a, b, c, d in {0, 1}, in that order (a varies slowest).
SIXTEEN = [a << 39 | b << 30 | c << 21 | d << 12 for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)]


@pytest.mark.parametrize("limit", [0, 16])
def test_a_listing_within_the_limit_is_whole(tmp_path, limit):
    path = scenario(tmp_path, {PML4: [SELF, SELF]})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest", "--limit", limit)
    assert (status, err) == (0, "")
    assert out.splitlines() == HEADER + [text_range(va) for va in SIXTEEN]
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest", "--limit", limit, "--json")
    listing = json.loads(out)
    assert [int(r["gva"], 16) for r in listing["ranges"]] == SIXTEEN
    assert (listing["limit"], listing["truncated"], listing["cut_pages"], listing["cut_bytes"]) == (
        limit, False, 0, "0x0")


def test_one_range_past_the_limit_is_cut(tmp_path):
    path = scenario(tmp_path, {PML4: [SELF, SELF]})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest", "--limit", 15)
    cut = "listing cut at --limit 15 ranges: 1 more page(s), 0x1000 bytes, not listed"
    assert status == 0
    assert out.splitlines() == HEADER + [text_range(va) for va in SIXTEEN[:15]] + [cut]
    assert err == f"nestwalk mappings: {cut}\n"


def test_aliases_of_an_empty_table_are_not_walked(tmp_path):
    # PML4[0..510] -> PDPT 0x2000, all of whose entries -> PD 0x3000, all of whose entries -> PT 0x4000, which
    # maps nothing: 511 * 512 * 512 tables to read for no page. PML4[511] -> PDPT 0x5000 [0] -> PD 0x6000 [0] ->
    # PT 0x7000 [0] -> page 0x8000: VA 511 << 39 = 0xff8000000000, sign-extended from bit 47.
    path = scenario(tmp_path, {PML4: [0x2007] * 511 + [0x5007], 0x2000: [0x3007] * 512, 0x3000: [0x4007] * 512,
                               0x5000: [0x6007], 0x6000: [0x7007], 0x7000: [0x8007]})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest")
    assert (status, err) == (0, "")
    assert out.splitlines() == HEADER + [text_range(0xFFFFFF8000000000, pa=0x8000)]


def test_the_second_stage_listing_has_the_same_limit():
    # npf.yaml's NPT maps the tables 0x1000-0x4fff (4 pages, rwxu) and the data page 0x5000 (r-xu): two ranges.
    # With --limit 1 the second, one 4 KiB page, is left out.
    result = subprocess.run([NESTWALK, "mappings", os.path.join(ROOT, "scenarios", "npf.yaml"), "--stage", "npt",
                             "--limit", "1"], capture_output=True, text=True, timeout=20)
    cut = "listing cut at --limit 1 ranges: 1 more page(s), 0x1000 bytes, not listed"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2:] == [
        "0000000000001000-0000000000005000 0000000000001000 0000000000004000 4K   rwxu   WB", cut]
    assert result.stderr == f"nestwalk mappings: {cut}\n"
    result = subprocess.run([NESTWALK, "mappings", os.path.join(ROOT, "scenarios", "npf.yaml"), "--stage", "npt",
                             "--limit", "1", "--json"], capture_output=True, text=True, timeout=20)
    listing = json.loads(result.stdout)
    assert [r["gpa"] for r in listing["ranges"]] == ["0x1000"]
    assert (listing["limit"], listing["truncated"], listing["cut_pages"], listing["cut_bytes"]) == (
        1, True, 1, "0x1000")


@pytest.mark.parametrize("value", ["many", "-1", "0x", ""])
def test_a_bad_limit_is_bad_input(tmp_path, value):
    path = scenario(tmp_path, {PML4: [SELF]})
    status, out, err = run(tmp_path, "mappings", path, "--stage", "guest", "--limit", value)
    assert status == 2
    assert f"nestwalk mappings: --limit: '{value}' is not a number from 0 to 18446744073709551615" in err
