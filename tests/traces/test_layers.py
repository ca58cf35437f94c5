"""The folders' include direction (README.md, "Layout"): imports only go down.

sim/ is in layers, each folder one library: cli (the program) on hw (host side of the hardware backends) on
replay, on scenario and trace, on io and mem; bench sits beside hw. A folder includes its own headers and those of
the folders below it, always named from sim/ ("trace/trace.h"), never by a relative path. The bare-metal images
(hw/, hw/vmx/ reading hw/'s headers too) and the host share only hw/contract/, and the contract includes
nothing of either side."""
import os
import pathlib
import re

ROOT = pathlib.Path(os.environ.get("NESTWALK_SOURCE_ROOT", pathlib.Path(__file__).parents[2]))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SIM_BELOW = {
    "mem": set(),
    "io": set(),
    "trace": {"io", "mem"},
    "scenario": {"io", "mem"},
    "replay": {"scenario", "trace", "io", "mem"},
    "hw": {"replay", "scenario", "trace", "io", "mem"},
    "cli": {"hw", "replay", "scenario", "trace", "io", "mem"},
}
BENCH_BELOW = {"replay", "scenario", "trace", "io", "mem"}
GENERATED = {"hw_image_path.h", "nw_version.h"}  # sim/cli/meson.build writes them into the build folder


def sources(folder):
    return sorted(p for p in folder.rglob("*") if p.suffix in (".c", ".h", ".S"))


def includes(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = INCLUDE.match(line)
        if m:
            yield number, m.group(1)


def sim_include_problem(folder, name):
    """Why sim/<folder> may not include name, or None."""
    if name in GENERATED and folder == "cli":
        return None
    if name == "bench.h":
        return None if folder == "cli" else "only the program links bench"
    top, sep, rest = name.partition("/")
    if not sep or ".." in name.split("/"):
        return "not named from sim/ or hw/ (\"<folder>/<file>\")"
    if top == "contract":
        return None if folder == "hw" and (ROOT / "hw" / name).is_file() else "only sim/hw reads the images' contract"
    if top != folder and top not in SIM_BELOW.get(folder, set()):
        return f"sim/{top} is not below sim/{folder}"
    if not (ROOT / "sim" / name).is_file():
        return "no such file in sim/"
    return None


def problems():
    found = []
    for path in sources(ROOT / "sim"):
        folder = path.relative_to(ROOT / "sim").parts[0]
        if folder not in SIM_BELOW:
            found.append(f"{path.relative_to(ROOT)}: sim/{folder} is not a known layer")
            continue
        for number, name in includes(path):
            why = sim_include_problem(folder, name)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{number}: \"{name}\": {why}")
    for path in sources(ROOT / "bench"):
        for number, name in includes(path):
            top, sep, _ = name.partition("/")
            ok = name == "bench.h" or (sep and top in BENCH_BELOW and (ROOT / "sim" / name).is_file())
            if not ok:
                found.append(f"{path.relative_to(ROOT)}:{number}: \"{name}\": bench reads sim's libraries below hw")
    for path in sources(ROOT / "hw"):
        in_contract = path.parent == ROOT / "hw" / "contract"
        for number, name in includes(path):
            if name.startswith("contract/") and (ROOT / "hw" / name).is_file():
                continue
            own = not in_contract and "/" not in name and any((d / name).is_file() for d in (path.parent, ROOT / "hw"))
            if not own:
                found.append(f"{path.relative_to(ROOT)}:{number}: \"{name}\": hw/ reads its own folder and hw/contract/"
                             + (" only" if not in_contract else "; the contract reads only itself"))
    return found


def test_includes_only_go_down():
    assert problems() == []


def test_every_layer_has_sources():
    """The check reads real folders: each layer named above exists and has C sources."""
    for folder in SIM_BELOW:
        assert [p for p in sources(ROOT / "sim" / folder) if p.suffix == ".c"], folder
    assert sources(ROOT / "bench") and sources(ROOT / "hw" / "contract")


def test_no_relative_include_anywhere():
    """No source reaches another folder by a relative path ("../bench/bench.h" was one)."""
    found = []
    for top in ("lib", "sim", "hw", "bench", "tests"):
        for path in sources(ROOT / top):
            found += [f"{path.relative_to(ROOT)}:{n}: {name}" for n, name in includes(path) if "../" in name]
    assert found == []


def test_no_build_file_compiles_another_folders_sources():
    """Each folder's meson.build builds its own sources; another folder's code comes as that folder's library
    (sim compiled ../hw/vmx/ept_case.c and ../bench/*.c, a unit test ../../sim/walk_print.c)."""
    found = []
    for path in sorted(ROOT.glob("*/**/meson.build")):
        if path.parts[len(ROOT.parts)] == "build":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"'(\.\./)+[^']*\.[chS]'|/ '[a-z]+' / '[^']*\.[chS]'", line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
