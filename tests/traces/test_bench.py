"""nestwalk bench as CI runs it: a tiny run that must finish and emit
well-formed JSON and CSV with every case (timings are not checked)."""
import csv
import io
import json
import os
import subprocess

NESTWALK = os.environ["NESTWALK"]
ROOT = os.environ["NESTWALK_SOURCE_ROOT"]
LACKEY = ["--replay-scenario", os.path.join(ROOT, "traces/lackey/gzip.yaml"),
          "--replay-trace", os.path.join(ROOT, "traces/lackey/gzip.nwt.zst")]
# x86_64: 6 hot 1-D, 6 hot 2-D, 5 large; aarch64: 3 hot 1-D, 3 hot 2-D, 2 large; riscv64: 2 hot 1-D, 2 hot 2-D,
# 2 large
CASES = 31


def run(*args):
    return subprocess.run([NESTWALK, "bench", *args], capture_output=True, text=True, timeout=300)


def test_tiny_bench_emits_json_with_every_case():
    result = run("--tiny", "--json", *LACKEY)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    replays = {(r["trace"], r["tlb"]): r for r in data["replay"]}
    assert set(replays) == {("lackey gzip", True), ("lackey gzip", False), ("random (TLB-hostile)", True),
                            ("random (TLB-hostile)", False)}
    assert replays[("lackey gzip", True)]["accesses"] == 20000
    assert replays[("lackey gzip", False)]["tlb_hit_rate"] == 0
    assert all(r["per_second"] > 0 for r in data["replay"])
    assert [f["loads"] for f in data["floors"]] == [3, 4, 5, 15, 24, 35]
    assert len(data["walks"]) == CASES
    refs = {(w["name"], w["layout"]): w["refs"] for w in data["walks"]}
    # References per walk, from the SDM: a 1-D walk reads one entry per level down to
    # the leaf; a 2-D walk translates each guest entry and the final GPA through the EPT
    # (4-over-4 with 4 KiB EPT pages: 4 x (4 + 1) + 4 = 24; 5-over-5: 5 x 6 + 5 = 35).
    assert refs[("1D 4-level 4K", "hot")] == 4
    assert refs[("1D 4-level 2M", "hot")] == 3
    assert refs[("1D 4-level 1G", "hot")] == 2
    assert refs[("1D 5-level 4K", "hot")] == 5
    assert refs[("2D 4/4 EPT 4K", "hot")] == 24
    assert refs[("2D 5/5 EPT 4K", "hot")] == 35
    assert refs[("2D 4/4 EPT 2M", "hot")] == 4 * (3 + 1) + 3
    assert refs[("2D 4/4 EPT 1G", "hot")] == 4 * (2 + 1) + 2
    # AArch64 (Arm ARM D8): a 48-bit VA with the 4 KiB granule starts at level 0, four lookups to a page,
    # three to a level-2 block, two to a level-1 block; the 2-D rows put a four-level stage 2 (and its
    # level-2 / level-1 blocks) under every stage-1 descriptor read and the final IPA, as EPT does.
    assert refs[("1D A64 4K", "hot")] == 4
    assert refs[("1D A64 2M", "hot")] == 3
    assert refs[("1D A64 1G", "hot")] == 2
    assert refs[("2D A64 4/4 4K", "hot")] == 24
    assert refs[("2D A64 4/4 2M", "hot")] == 4 * (3 + 1) + 3
    assert refs[("2D A64 4/4 1G", "hot")] == 4 * (2 + 1) + 2
    # RISC-V (privileged spec, Sv39/Sv48 and "Two-Stage Address Translation"): Sv39 reads three PTEs to a
    # 4 KiB page, Sv48 four; each VS-stage PTE read and the final GPA go through a G-stage of as many levels:
    # 3 x (3 + 1) + 3 = 15 for Sv39 over Sv39x4, 4 x (4 + 1) + 4 = 24 for Sv48 over Sv48x4.
    assert refs[("1D RV Sv39 4K", "hot")] == 3
    assert refs[("1D RV Sv48 4K", "hot")] == 4
    assert refs[("2D RV 39/39x4 4K", "hot")] == 15
    assert refs[("2D RV 48/48x4 4K", "hot")] == 24
    assert refs[("2D RV 39/39x4 4K", "large")] == 15
    assert {w["arch"] for w in data["walks"]} == {"x86_64", "aarch64", "riscv64"}
    # Each walk's base floor is the floor of its own full depth.
    base = {(w["name"], w["layout"]): w["base_floor_loads"] for w in data["walks"]}
    assert base[("1D RV Sv39 4K", "hot")] == 3
    assert base[("2D RV 39/39x4 4K", "hot")] == 15
    assert base[("2D RV 48/48x4 4K", "large")] == 24
    assert base[("1D 5-level 1G", "hot")] == 5
    assert base[("2D 5/5 EPT 4K", "hot")] == 35
    for walk in data["walks"]:
        assert walk["fast_ns"] > 0 and walk["reference_ns"] > 0 and walk["floor_ns"] > 0
    assert data["memory"]["vm_rss_bytes"] >= 0
    assert_map_figures(data["map"], pages=4096)  # --tiny's large layout


MAP_FIGURES = ["map_fresh_ns", "unmap_ns", "map_tables_present_ns", "query_ns", "protect_ns"]


def assert_map_figures(fig, pages):
    """The "map" object: the table, its pages and ns per page for each operation, ascending and
    random (the values are timings: only their sign is checked)."""
    expected = {"table", "pages"} | set(MAP_FIGURES) | {"random_" + name for name in MAP_FIGURES}
    assert set(fig) == expected
    assert fig["table"] == "EPT 4-level" and fig["pages"] == pages
    for name in expected - {"table", "pages"}:
        assert isinstance(fig[name], float) and fig[name] > 0, name


def test_bench_map_figures_follow_large_pages():
    result = run("--tiny", "--json", "--no-replay", "--large-pages", "1024")
    assert result.returncode == 0, result.stderr
    assert_map_figures(json.loads(result.stdout)["map"], pages=1024)


def test_bench_table_prints_map_figures():
    result = run("--tiny", "--no-replay")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("map (4-level EPT, 4096 4 KiB pages"))
    assert lines[head + 1].split() == ["order", "map", "fresh", "unmap", "map", "(tables)", "query", "protect"]
    for row, order in zip(lines[head + 2:head + 4], ["ascending", "random"]):
        cells = row.split()
        assert cells[0] == order and len(cells) == 6 and all(float(c) > 0 for c in cells[1:])


def test_tiny_bench_emits_csv():
    result = run("--tiny", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == CASES
    assert rows[0]["name"] == "1D 4-level 4K" and float(rows[0]["fast_ns"]) > 0


def test_bad_option_is_bad_input():
    result = run("--large-pages", "1000")
    assert result.returncode == 2
    assert "power of two" in result.stderr
