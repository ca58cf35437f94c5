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
CASES = 17  # 6 hot 1-D, 6 hot 2-D, 5 large


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
    assert [f["loads"] for f in data["floors"]] == [4, 5, 24, 35]
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
    for walk in data["walks"]:
        assert walk["fast_ns"] > 0 and walk["reference_ns"] > 0 and walk["floor_ns"] > 0
    assert data["memory"]["vm_rss_bytes"] >= 0


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
