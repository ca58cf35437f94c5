"""nestwalk as one tool: every command's and subcommand's --help, one shape for a refused argument, --version,
and every JSON object checked member by member against docs/json.md (the page is parsed here, not restated).
The commands and their options come from the program's own usage tables (`nestwalk help --json`), the table
--help prints and the parser accepts; the version from meson.build."""
import json
import os
import pathlib
import re
import subprocess

import pytest

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIOS = ROOT / "scenarios"


def run(*args, timeout=120):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def run_json(*args, timeout=120):
    result = run(*args, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- the usage tables ----------------------------------------------------------------------------------------

def usage_tables():
    return run_json("help", "--json")["commands"]


USAGE = usage_tables()
COMMANDS = [u["command"] for u in USAGE]


def test_every_command_is_listed_with_its_subcommands():
    # The commands README.md documents, and the subcommands of trace and hw.
    assert {"about", "bench", "help", "hw", "hw run", "mappings", "read", "replay", "translate", "trace",
            "trace convert", "trace cat", "trace stats", "version"} == set(COMMANDS)
    top = run("--help")
    assert top.returncode == 0 and top.stderr == ""
    for command in COMMANDS:
        if " " not in command:
            assert re.search(rf"^  {re.escape(command)} +\S", top.stdout, re.M), (command, top.stdout)


@pytest.mark.parametrize("usage", USAGE, ids=COMMANDS)
def test_help_lists_every_option_one_line_each(usage):
    result = run(*usage["command"].split(), "--help")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"usage: nestwalk {usage['command']} {usage['synopsis']}"
    for option in usage["options"]:
        head = option["name"] + (" " + option["arg"] if "arg" in option else "")
        # One line: the option, its value's name, then its help.
        assert [line for line in lines if line.startswith(f"  {head} ")], (head, result.stdout)
    for sub in usage["subcommands"]:
        assert [line for line in lines if line.startswith("  " + sub.split()[-1] + " ")], (sub, result.stdout)


@pytest.mark.parametrize("usage", USAGE, ids=COMMANDS)
def test_an_unknown_option_is_refused_in_one_shape(usage):
    result = run(*usage["command"].split(), "--no-such-option")
    parent = usage["command"]
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"nestwalk {parent}: --no-such-option: unknown option", result.stderr
    assert lines[1] == f"usage: nestwalk {parent} {usage['synopsis']}"
    assert lines[2] == f"('nestwalk {parent} --help' lists the options)"


@pytest.mark.parametrize("usage, option", [(u, o) for u in USAGE for o in u["options"] if "arg" in o],
                         ids=[f"{u['command']} {o['name']}" for u in USAGE for o in u["options"] if "arg" in o])
def test_an_option_without_its_value_is_refused_in_one_shape(usage, option):
    result = run(*usage["command"].split(), option["name"])
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (f"nestwalk {usage['command']}: {option['name']}: missing its value "
                                             f"({option['arg']})"), result.stderr


def test_version_is_the_projects():
    version = re.search(r"version\s*:\s*'([^']+)'", (ROOT / "meson.build").read_text()).group(1)
    for args in (["--version"], ["version"]):
        result = run(*args)
        assert (result.returncode, result.stdout, result.stderr) == (0, f"nestwalk {version}\n", "")
    assert run_json("version", "--json")["version"] == version


# --- regression tests of the fixed behaviours ------------------------------------------------------------------

def test_translate_help_is_not_an_error():
    result = run("translate", "--help")
    assert result.returncode == 0 and "--gva ADDR" in result.stdout


def test_trace_stats_help_is_not_a_file_name():
    result = run("trace", "stats", "--help")
    assert result.returncode == 0 and "usage: nestwalk trace stats IN [--json]" in result.stdout
    assert "--help" not in result.stderr


def test_translate_gva_prints_text_by_default():
    # ok.yaml: GVA 0x400123 walks 4 guest entries over 4-level EPT with 4 KiB pages: 4 x (4 + 1) + 4 = 24
    # references (SDM Vol. 3C §29.3.2) to GPA 0x5123 (the PTE maps GPA 0x5000, pass-through: HPA = GPA).
    result = run("translate", SCENARIOS / "ok.yaml", "--gva", "0x400123", "--access", "read", "--cpl", "3")
    assert result.returncode == 0, result.stderr
    assert not result.stdout.startswith("{")
    assert "outcome ok, 24 memory references" in result.stdout
    assert "gpa 0x5123 hpa 0x5123" in result.stdout


def test_translate_text_names_an_exit_as_replay_does():
    # replay_ept.yaml: GVA 0x402000 maps GPA 0x400000, an MMIO page the EPT leaves unmapped: the CPU's EPT
    # violation on the final access becomes the exit replay and the trace format call mmio.
    result = run("translate", SCENARIOS / "replay_ept.yaml", "--gva", "0x402000", "--access", "write", "--cpl", "3",
                 "--size", "4")
    assert result.returncode == 0, result.stderr
    assert "outcome ept_violation, 24 memory references" in result.stdout
    assert "outcome mmio: the second-stage fault exits to the hypervisor" in result.stdout


def test_translate_json_explain_keeps_the_explanation():
    got = run_json("translate", SCENARIOS / "ok.yaml", "--gva", "0x400123", "--access", "read", "--cpl", "3",
                   "--json", "--explain")
    # PML4 index 0, PDPT 0, PD 2, PT 0 (bits 47:39, 38:30, 29:21, 20:12 of 0x400123).
    assert "guest L4 PML4E[0]  table gpa 0x1000" in got["explain"]
    assert "guest L2 PDE[2]  table gpa 0x3000" in got["explain"]
    assert got["outcome"] == "ok" and got["refs"] == 24


def test_trace_stats_json():
    trace = ROOT / "traces" / "replay_ept.nwt.txt"
    got = run_json("trace", "stats", trace, "--json")
    text = trace.read_text().splitlines()
    # Counted from the file itself: one record a line after the header, comments, blank lines and end aside.
    records = [line.split()[0] for line in text[1:] if line.strip() and not line.lstrip().startswith("#")
               and line.split()[0] != "end"]
    assert got["records"] == len(records)
    assert got["kinds"]["access"] == records.count("access")
    assert got["kinds"]["expect"] == records.count("expect")
    assert (got["form"], got["zstd"]) == ("text", False)


def test_translate_gpa_refuses_what_only_a_walk_has():
    # A guest-physical access has no privilege level: --cpl with --gpa was ignored, now refused.
    result = run("translate", SCENARIOS / "ok.yaml", "--gpa", "0x5123", "--access", "read", "--cpl", "3")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "nestwalk translate: --cpl: cannot be given with --gpa"


def test_bench_json_and_csv_together_are_refused():
    result = run("bench", "--json", "--csv")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "nestwalk bench: --json: cannot be given with --csv"


def test_a_walk_fault_prints_no_translation():
    # page_fault.yaml: the PTE lacks US, a user write faults (SDM Vol. 3A §4.7: P|W|U = 0x7); no GPA exists.
    got = run_json("translate", SCENARIOS / "page_fault.yaml", "--gva", "0x400123", "--access", "write", "--cpl",
                   "3", "--json")
    assert got["outcome"] == "page_fault" and got["error_code"] == "0x7"
    for key in ("gpa", "hpa", "memory_type", "rights", "guest_page_size", "s2_page_size", "exit_qualification"):
        assert key not in got, key


def test_the_old_outcome_spellings_are_still_read(tmp_path):
    trace = tmp_path / "old.nwt.txt"
    trace.write_text("nestwalk-trace 1\naccess gva=0x402000 size=0x4 type=write cpl=0x3\n"
                     "expect outcome=mmio_exit\naccess gva=0x403000 size=0x1 type=write cpl=0x3\n"
                     "expect outcome=rom_write_exit\nend\n")
    result = run("trace", "cat", trace)
    assert result.returncode == 0, result.stderr
    assert "expect outcome=mmio\n" in result.stdout and "expect outcome=rom_write\n" in result.stdout


def test_mappings_stage_names_the_second_stage_or_its_format():
    # npf.yaml's NPT maps the tables 0x1000-0x4fff and the data page 0x5000 (scenarios/npf.yaml).
    for stage in ("stage2", "npt"):
        got = run_json("mappings", SCENARIOS / "npf.yaml", "--stage", stage, "--json")
        assert got["stage"] == "npt" and got["ranges"][0]["gpa"] == "0x1000"
    result = run("mappings", SCENARIOS / "npf.yaml", "--stage", "ept")
    assert result.returncode == 2 and "its second stage is npt" in result.stderr
    assert run_json("mappings", SCENARIOS / "ok.yaml", "--stage", "stage2", "--json")["stage"] == "ept"


MIXED = """\
host: {memory: 128M, seed: 2}
memory_regions:
  - {gpa: 0, size: 64M, flags: 0x7, type: alloc, lazy: true}
  - {gpa: 0x8000000, size: 0x4000, flags: 0x7, type: alloc}
cpu: {mode: 4level, cr0: 0x80010001}
guest:
  page_table_region: {gpa: 0x100000, size: 64K}
  mappings:
    - {gva: 0x3ff000, gpa: 0x3ff000, size: 4K, flags: 0x3}
    - {gva: 0x400000, gpa: 0x400000, size: 2M, flags: 0x3}
"""


def test_a_guest_range_keeps_each_leafs_page_size(tmp_path):
    # A 4 KiB leaf at GVA 0x3ff000 and a 2 MiB leaf at 0x400000 continue each other in GVA and GPA with the same
    # flags (P|RW): two ranges, one of each page size.
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED)
    ranges = run_json("mappings", path, "--stage", "guest", "--json")["ranges"]
    assert [(r["gva"], r["gva_end"], r["page_size"], r["pages"]) for r in ranges] == [
        ("0x3ff000", "0x400000", "0x1000", 1), ("0x400000", "0x600000", "0x200000", 1)]
    text = run("mappings", path, "--stage", "guest").stdout.splitlines()
    assert [line.split()[3] for line in text[2:]] == ["4K", "2M"]


def test_contiguous_allocated_pages_are_one_range(tmp_path):
    # GPA 0x8000000-0x8003fff is one allocated region of 4 pages: its frames are placed at random in the host,
    # so the range has no single HPA.
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED)
    ranges = run_json("mappings", path, "--stage", "stage2", "--json")["ranges"]
    alloc = [r for r in ranges if 0x8000000 <= int(r["gpa"], 16) < 0x8004000]
    assert len(alloc) == 1, alloc
    assert (alloc[0]["gpa_end"], alloc[0]["pages"], "hpa" in alloc[0]) == ("0x8004000", 4, False)


@pytest.mark.parametrize("stage", ["guest", "stage2"])
def test_listing_columns_line_up_under_a_legend(stage):
    lines = run("mappings", SCENARIOS / "replay_ept.yaml", "--stage", stage).stdout.splitlines()
    assert lines[0].startswith("# ") and "rights: r read, w write, x execute" in lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<= ))\S", lines[1])]
    assert len(starts) == 6, lines[1]
    for row in lines[2:]:
        assert [m.start() for m in re.finditer(r"(?:^|(?<= ))\S", row)] == starts, (lines[1], row)


# --- every JSON object against docs/json.md --------------------------------------------------------------------

def parse_doc():
    """The page's objects: {name: [(member, type, present)]}, its outcomes and its schema number."""
    text = (ROOT / "docs" / "json.md").read_text()
    schema = int(re.search(r"^# .*schema (\d+)$", text, re.M).group(1))
    outcomes = re.search(r"^\| outcome \| (.*) \|$", text, re.M).group(1).replace("`", "").split()
    objects = {}
    for match in re.finditer(r"^### object `([^`]+)`\n(.*?)(?=^### |\Z)", text, re.M | re.S):
        rows = re.findall(r"^\| (\w+) \| (\w+) \| ([^|]+) \|", match.group(2), re.M)
        objects[match.group(1)] = [(m, t, p.strip()) for m, t, p in rows if m != "member"]
    return schema, outcomes, objects


SCHEMA, OUTCOMES, OBJECTS = parse_doc()
TYPES = {"number": (int, float), "hex": str, "string": str, "bool": bool, "outcome": str, "rights": str,
         "object": dict, "array": list, "map": dict}


def members(name, outcome=None, stage2=None, leave_out=()):
    """(required, allowed) member names of the object for this outcome and second-stage format."""
    required, allowed = set(), set()
    for member, _, present in OBJECTS[name]:
        if member in leave_out:
            continue
        cases = [c.strip() for c in present.split(",")]
        if "always" in cases or outcome in cases:
            required.add(member)
        if "optional" in cases or f"{outcome} ({stage2})" in cases or member in required:
            allowed.add(member)
    return required, allowed


def check(name, got, stage2=None, leave_out=(), extra=()):
    outcome = got.get("outcome")
    required, allowed = members(name, outcome, stage2, leave_out)
    assert required <= set(got) <= allowed | set(extra), (name, outcome, sorted(set(got) ^ required))
    types = {m: t for m, t, _ in OBJECTS[name]}
    for key, value in got.items():
        if key not in types:
            continue
        assert isinstance(value, TYPES[types[key]]) and not (types[key] == "number" and isinstance(value, bool)), \
            (name, key, value)
        if types[key] == "hex":
            assert re.fullmatch(r"0x[0-9a-f]+", value), (name, key, value)
        if types[key] == "outcome":
            assert value in OUTCOMES, (name, value)
        if types[key] == "rights":
            assert re.fullmatch(r"[r-][w-][x-][u-]", value), (name, value)
        nested = f"{name}.{key}"
        if nested not in OBJECTS and types[key] == "object" and key in OBJECTS:
            nested = key  # an object shared by several (attributes)
        if nested in OBJECTS and types[key] == "array":
            for item in value:
                check(nested, item, stage2)
        elif nested in OBJECTS:
            check(nested, value, stage2)


def check_top(name, got, stage2=None):
    assert got["schema"] == SCHEMA
    check(name, got, stage2)


def check_walk(got, stage2, top=True):
    """translate --gva's object; its pieces are walk objects of their own outcomes."""
    pieces = got.get("pieces", [])
    walk = {k: v for k, v in got.items() if k != "pieces"}
    if top:
        check_top("translate-gva", walk, stage2)
    for piece in pieces:
        if piece["translated"]:
            check("translate-gva", piece, stage2, leave_out=("schema", "registers", "cpu_model", "explain", "pieces"),
                  extra=("translated",))
        else:
            check("translate-gva.pieces", piece)


def test_the_doc_names_every_outcome_of_the_trace_format():
    # traces/FORMAT.md's expectation outcomes (the AArch64 aborts and the RISC-V traps among them), then replay's
    # no_memory.
    fmt = (ROOT / "traces" / "FORMAT.md").read_text()
    codes = re.search(r"\| `outcome` \| u8 \| (.*?) \|", fmt).group(1)
    assert re.findall(r"\d+ (\w+)", codes) + ["no_memory"] == OUTCOMES


def test_version_and_help_objects():
    check_top("version", run_json("version", "--json"))
    check_top("help", run_json("help", "--json"))
    about = run_json("about", "--json")
    check_top("about", about)
    # As the text says (test_about.py): 64 GiB, both intercepts exit, nothing left after teardown.
    assert (about["simulated_host_gib"], about["port_3f8_exits"], about["frames_live"]) == (64, True, 0)


# (scenario, arguments, outcome, second stage): each bundled scenario's outcome (scenarios/README.md).
GPA_CASES = [
    ("ok.yaml", ["--gpa", "0x5123", "--access", "read"], "ok", "ept"),
    ("ept_violation.yaml", ["--gpa", "0x5123", "--access", "write"], "ept_violation", "ept"),
    ("ept_misconfig.yaml", ["--gpa", "0x5123", "--access", "read"], "ept_misconfig", "ept"),
    ("npf.yaml", ["--gpa", "0x5123", "--access", "write"], "npf", "npt"),
    ("mmio.yaml", ["--gpa", "0xfee000b0", "--access", "write", "--size", "4"], "mmio", "ept"),
    ("rom.yaml", ["--gpa", "0xffff0", "--access", "write"], "rom_write", "ept"),
    ("arm64_stage2.yaml", ["--gpa", "0x40001234", "--access", "fetch"], "ok", "arm64"),
    ("arm64_stage2.yaml", ["--gpa", "0x40200010", "--access", "read"], "stage2_abort", "arm64"),
    ("arm64_stage2.yaml", ["--gpa", "0x40401008", "--access", "write"], "stage2_abort", "arm64"),
    ("arm64_stage2.yaml", ["--gpa", "0x9000000", "--access", "write"], "mmio", "arm64"),
    ("arm64_stage2_64k.yaml", ["--gpa", "0x40001234", "--access", "fetch"], "ok", "arm64"),
    ("arm64_stage2_64k.yaml", ["--gpa", "0x80030000", "--access", "read"], "stage2_abort", "arm64"),
    ("riscv_gstage.yaml", ["--gpa", "0xc000010", "--access", "read"], "ok", "riscv"),
    ("riscv_gstage.yaml", ["--gpa", "0x81001008", "--access", "write"], "guest_page_fault", "riscv"),
    ("riscv_gstage.yaml", ["--gpa", "0x20000000000", "--access", "fetch"], "guest_page_fault", "riscv"),
    ("riscv_gstage.yaml", ["--gpa", "0x10000000", "--access", "write"], "mmio", "riscv"),
    ("riscv_pmp.yaml", ["--gpa", "0x80011000", "--access", "write"], "access_fault", "riscv"),
]


@pytest.mark.parametrize("scenario, args, outcome, stage2", GPA_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[1][1]}" for c in GPA_CASES])
def test_translate_gpa_objects(scenario, args, outcome, stage2):
    got = run_json("translate", SCENARIOS / scenario, *args, "--json")
    assert got["outcome"] == outcome
    check_top("translate-gpa", got, stage2)


GVA_CASES = [
    ("ok.yaml", ["--gva", "0x400123", "--access", "read", "--cpl", "3"], "ok", "ept"),
    ("ok.yaml", ["--gva", "0x400ffc", "--access", "read", "--cpl", "3", "--size", "8"], "page_fault", "ept"),
    ("page_fault.yaml", ["--gva", "0x400123", "--access", "write", "--cpl", "3"], "page_fault", "ept"),
    ("ept_violation.yaml", ["--gva", "0x400123", "--access", "write"], "ept_violation", "ept"),
    ("ept_misconfig.yaml", ["--gva", "0x400123", "--access", "read", "--explain"], "ept_misconfig", "ept"),
    ("npf.yaml", ["--gva", "0x400123", "--access", "write"], "npf", "npt"),
    ("general_protection.yaml", ["--gva", "0x800000000000", "--access", "read"], "general_protection", "ept"),
    ("replay_ept.yaml", ["--gva", "0x402000", "--access", "write", "--cpl", "3", "--size", "4"], "mmio", "ept"),
    ("replay_ept.yaml", ["--gva", "0x403000", "--access", "write", "--cpl", "3"], "rom_write", "ept"),
]


@pytest.mark.parametrize("scenario, args, outcome, stage2", GVA_CASES,
                         ids=[f"{c[0]}-{c[2]}-{len(c[1])}" for c in GVA_CASES])
def test_translate_gva_objects(scenario, args, outcome, stage2):
    got = run_json("translate", SCENARIOS / scenario, *args, "--json")
    assert got["outcome"] == outcome
    check_walk(got, stage2)


# translate --gva on an aarch64 and a riscv64 scenario: each outcome its object has (test_arm64_stage1.py and
# test_riscv_scenarios.py derive the values).
ARCH_GVA_CASES = [
    ("arm64_stage1.yaml", ["--gva", "0x400123", "--access", "read", "--el", "0", "--explain"], "ok"),
    ("arm64_stage1.yaml", ["--gva", "0x401008", "--access", "write"], "stage1_abort"),
    ("arm64_stage1.yaml", ["--gva", "0x404010", "--access", "read"], "stage2_abort"),
    ("arm64_stage1.yaml", ["--gva", "0x406000", "--access", "write", "--el", "0"], "stage2_abort"),
    ("arm64_stage1.yaml", ["--gva", "0xffffff8000001000", "--access", "fetch"], "stage2_abort"),
    ("riscv_vs.yaml", ["--gva", "0x400123", "--access", "read"], "ok"),
    ("riscv_vs.yaml", ["--gva", "0x401008", "--access", "write"], "page_fault"),
    ("riscv_vs.yaml", ["--gva", "0x600000", "--access", "read"], "guest_page_fault"),
    ("riscv_vs.yaml", ["--gva", "0x403000", "--access", "write"], "mmio"),
    ("riscv_pmp.yaml", ["--gva", "0x600000", "--access", "read"], "access_fault"),
    ("riscv_pmp.yaml", ["--gva", "0x401008", "--access", "write"], "access_fault"),
]


@pytest.mark.parametrize("scenario, args, outcome", ARCH_GVA_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[1][1]}" for c in ARCH_GVA_CASES])
def test_translate_gva_arch_objects(scenario, args, outcome):
    got = run_json("translate", SCENARIOS / scenario, *args, "--json")
    assert got["outcome"] == outcome
    check_top("translate-gva-aarch64" if scenario.startswith("arm64") else "translate-gva-riscv64", got)


@pytest.mark.parametrize("scenario", ["replay_ept.yaml", "replay_npt.yaml"])
def test_replay_objects(scenario, tmp_path):
    got = run_json("replay", SCENARIOS / scenario, "--json")
    check_top("replay", got)
    assert set(got["outcomes"]) == set(OUTCOMES)
    # A wrong expectation: replay reports the first mismatch with its walk.
    trace = tmp_path / "wrong.nwt.txt"
    trace.write_text("nestwalk-trace 1\naccess gva=0x400000 size=0x1 type=read cpl=0x3\nexpect outcome=page_fault\n"
                     "end\n")
    result = run("replay", SCENARIOS / scenario, "--trace", trace, "--json")
    assert result.returncode == 1, result.stderr
    got = json.loads(result.stdout)
    check_top("replay", got)
    walk = got["first_mismatch"]["walk"]
    check("translate-gva", walk, "ept" if "ept" in scenario else "npt",
          leave_out=("schema", "size", "write", "registers", "cpu_model", "explain", "pieces"))


@pytest.mark.parametrize("va, access, el, outcome", [
    ("0x400000", "read", "0x0", "ok"), ("0x401000", "write", "0x1", "stage1_abort"),
    ("0x404000", "read", "0x1", "stage2_abort")])
def test_replay_aarch64_objects(va, access, el, outcome, tmp_path):
    """An aarch64 trace's first mismatch carries translate-gva-aarch64's walk members for each outcome: on
    arm64_stage1.yaml VA 0x400000 translates at EL0, 0x401000 is a stage-1 permission fault for an EL1 write,
    0x404000 a stage-2 translation fault on the final IPA (its comments derive them); 99 references is wrong."""
    trace = tmp_path / "wrong.nwt.txt"
    body = f"access gva={va} size=0x8 type={access} el={el}\nexpect refs=0x63\n"
    trace.write_text("nestwalk-trace 2 arch=aarch64\n" + body + "end\n")
    result = run("replay", SCENARIOS / "arm64_stage1.yaml", "--trace", trace, "--json")
    assert result.returncode == 1, result.stderr
    got = json.loads(result.stdout)
    check_top("replay", got)
    assert set(got["outcomes"]) == set(OUTCOMES)
    walk = got["first_mismatch"]["walk"]
    assert walk["outcome"] == outcome
    check("translate-gva-aarch64", walk, leave_out=("schema", "size", "fwb", "write", "registers", "explain"))
    assert "mair_attr" not in walk


@pytest.mark.parametrize("scenario, stage, name", [
    ("replay_ept.yaml", "guest", "mappings-guest"), ("replay_ept.yaml", "stage2", "mappings-stage2"),
    ("npf.yaml", "npt", "mappings-stage2"), ("rom.yaml", "ept", "mappings-stage2"),
    ("arm64_stage2.yaml", "arm64", "mappings-stage2"), ("arm64_stage2_64k.yaml", "arm64", "mappings-stage2"),
    ("riscv_gstage.yaml", "gstage", "mappings-stage2")])
def test_mappings_objects(scenario, stage, name):
    got = run_json("mappings", SCENARIOS / scenario, "--stage", stage, "--json")
    assert got["ranges"]
    check_top(name, got)


def test_trace_stats_object():
    check_top("trace-stats", run_json("trace", "stats", ROOT / "traces" / "replay_ept.nwt.txt", "--json"))


def test_bench_object():
    check_top("bench", run_json("bench", "--tiny", "--no-replay", "--json", timeout=600))
