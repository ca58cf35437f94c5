"""The files a scenario names are reported by the path that opens them, folded: "traces/t.nwt", not
"scenarios/../traces/t.nwt" (nw_scenario_file_path). A "dir/.." is folded only where dir is a directory and not a
symbolic link: through a link the kernel goes to the parent of the link's target, so the folded path would name
another file."""
import os
import pathlib
import subprocess

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIO = ROOT / "scenarios" / "replay_ept.yaml"
TRACE = ROOT / "traces" / "replay_ept.nwt.txt"


def replay(scenario, cwd):
    return subprocess.run([NESTWALK, "replay", str(scenario)], capture_output=True, text=True, timeout=120, cwd=cwd)


def scenario_naming(path, trace):
    """The bundled EPT scenario, its trace: key replaced."""
    lines = [l for l in SCENARIO.read_text().splitlines(keepends=True) if not l.startswith("trace:")]
    path.write_text("".join(lines) + f"trace: {trace}\n")


def test_the_bundled_scenarios_trace_is_reported_folded():
    result = replay("scenarios/replay_ept.yaml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    # The scenario says trace: ../traces/replay_ept.nwt.txt; from the repository's top, scenarios/.. is the top.
    assert result.stdout.splitlines()[0] == "replay of traces/replay_ept.nwt.txt on scenarios/replay_ept.yaml (TLB on)"


def test_dot_components_fold_and_leading_dotdot_stays(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "t.nwt.txt").write_text(TRACE.read_text())
    scenario_naming(tmp_path / "a" / "s.yaml", "./../b/./t.nwt.txt")
    result = replay("a/s.yaml", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("replay of b/t.nwt.txt on a/s.yaml")
    # From inside a/: a/.. cannot fold (the path starts with ..), so ../b/t.nwt.txt.
    result = replay("s.yaml", tmp_path / "a")
    assert result.stdout.startswith("replay of ../b/t.nwt.txt on s.yaml"), result.stdout + result.stderr


def test_dotdot_after_a_symbolic_link_is_kept(tmp_path):
    # link -> real/sub: link/../t.nwt.txt is real/t.nwt.txt (the good trace); folded it would be ./t.nwt.txt, a
    # decoy whose one expectation cannot match (the first access translates to GPA 0x7000, not 0x1000).
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "t.nwt.txt").write_text(TRACE.read_text())
    decoy = TRACE.read_text().replace("expect outcome=ok gpa=0x7000", "expect outcome=ok gpa=0x1000", 1)
    assert decoy != TRACE.read_text()
    (tmp_path / "t.nwt.txt").write_text(decoy)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    scenario_naming(tmp_path / "real" / "sub" / "s.yaml", "../t.nwt.txt")
    result = replay("link/s.yaml", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("replay of link/../t.nwt.txt on link/s.yaml")
