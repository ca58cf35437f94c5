"""`nestwalk translate ... --explain --svg FILE`: the two-dimensional walk drawn as the grid of Bhargava et al.
(ASPLOS 2008): guest levels down, second-stage levels across, one cell per memory reference numbered in the
order the hardware makes them. The file is read back as XML (xml.etree) and each expected value is derived here
from the scenario's own tables and the SDM, never from the program's output."""
import os
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import pytest

from test_memdump import PD_KERNEL, PDPT_KERNEL, PT_KERNEL, make_dump, scenario as dump_scenario

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
SCENARIOS = ROOT / "scenarios"
SVG = "{http://www.w3.org/2000/svg}"
GVA = 0x400123


def run(*args):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)


def draw(tmp_path, scenario, *args, name="walk.svg"):
    path = tmp_path / name
    result = run("translate", scenario, *args, "--explain", "--svg", path)
    assert result.returncode == 0, result.stderr
    return ET.parse(path).getroot(), result.stdout


def classes(element):
    return element.get("class", "").split()


def walks(root):
    return [g for g in root.iter(SVG + "g") if "walk" in classes(g)]


def texts(element):
    return [t.text for t in element.iter(SVG + "text")]


class Cell:
    """One reference: its number, the lines it shows, where it is drawn and whether it is marked as the fault."""

    def __init__(self, group):
        rect = group.find(SVG + "rect")
        self.number, self.name, self.entry, self.table = texts(group)
        self.x, self.y = int(rect.get("x")), int(rect.get("y"))
        self.fault = "fault" in classes(group)
        self.id = group.get("id")


def cells(walk):
    return [Cell(g) for g in walk.iter(SVG + "g") if "cell" in classes(g)]


def unreached(walk):
    return [r for r in walk.iter(SVG + "rect") if "unreached" in classes(r)]


def write_vm(tmp_path, mode, cr4, efer, writes, ept_levels=4, region=0x1FF000):
    """A VM whose guest-physical memory from 0x1000 is passed through (HPA = GPA) with 4 KiB EPT pages, and the
    guest's tables written as (GPA, value)."""
    path = tmp_path / f"{mode}.yaml"
    lines = [f"    - {{gpa: {hex(gpa)}, values: [{hex(value)}]}}" for gpa, value in writes]
    path.write_text(f"host: {{memory: 64M, seed: 1}}\nept: {{levels: {ept_levels}}}\nmemory_regions:\n"
                    f"  - {{gpa: 0x1000, size: {hex(region)}, flags: 0x7, type: identical}}\n"
                    f"cpu: {{mode: {mode}, cr0: 0x80010001, cr3: 0x1000, cr4: {hex(cr4)}, efer: {hex(efer)}}}\n"
                    "guest:\n  writes:\n" + "\n".join(lines) + "\n")
    return path


def check_order(found, rows, columns):
    """Cells 1..N in the document in order, each where the hardware's order puts it: per guest row its `columns`
    second-stage references left to right, then the guest entry in the last column; the final row after them."""
    assert [c.number for c in found] == [str(n) for n in range(1, len(found) + 1)]
    assert [c.id for c in found] == [f"walk1-ref{n}" for n in range(1, len(found) + 1)]
    xs = sorted({c.x for c in found})
    ys = sorted({c.y for c in found})
    assert (len(xs), len(ys)) == (columns + 1, rows)
    for n, cell in enumerate(found):
        row, col = divmod(n, columns + 1)
        assert (cell.x, cell.y) == (xs[col], ys[row]), cell.id


def test_the_ok_walk_is_24_references_in_the_hardware_order(tmp_path):
    root, _ = draw(tmp_path, SCENARIOS / "ok.yaml", "--gva", hex(GVA), "--access", "read", "--cpl", 3)
    assert root.tag == SVG + "svg" and root.get("version") == "1.1"
    [walk] = walks(root)
    found = cells(walk)
    # 4-level paging over a 4-level EPT: each of the 4 guest levels costs its table's 4-reference EPT walk and
    # the entry itself, and the final GPA one more EPT walk: 4 * (4 + 1) + 4 = 24 references.
    assert len(found) == 24
    check_order(found, rows=5, columns=4)
    assert not [c for c in found if c.fault] and not unreached(walk)
    # The guest entries are the references 5, 10, 15 and 20, each the value the scenario writes (P|RW|US = 7):
    # PML4E[0] -> PDPT 0x2000, PDPTE[0] -> PD 0x3000, PDE[2] -> PT 0x4000, PTE[0] -> page 0x5000.
    guest = {c.number: (c.name, int(c.entry, 16), c.table) for c in found if int(c.number) % 5 == 0}
    assert guest == {"5": ("PML4E", 0x2007, "table hpa 0x1000"), "10": ("PDPTE", 0x3007, "table hpa 0x2000"),
                     "15": ("PDE", 0x4007, "table hpa 0x3000"), "20": ("PTE", 0x5007, "table hpa 0x4000")}
    # The EPT leaf of each 4 KiB page of the pass-through region: its address, R|W|X (flags 0x7) and memory type
    # WB (6) in bits 5:3 (SDM Vol. 3C Table 29-6): page | 0x37. Reference 4 maps the PML4 at GPA 0x1000,
    # reference 24 the data page at 0x5000; references 1-3 and 21-23 are the EPT's upper levels.
    assert [(c.name, int(c.entry, 16)) for c in found if c.number in ("4", "24")] == [
        ("EPT PTE", 0x1037), ("EPT PTE", 0x5037)]
    assert [c.name for c in found[20:24]] == ["EPT PML4E", "EPT PDPTE", "EPT PDE", "EPT PTE"]
    # Under the grid: GPA 0x5000 + the page offset 0x123, and HPA = GPA through the pass-through region.
    assert "0x5123" in texts(root) and "gpa 0x5123" in texts(walk)
    assert [t for t in texts(walk) if t.strip().startswith("gpa 0x5123 hpa 0x5123, guest page 0x1000 at L1")]


def test_five_levels_over_five_are_35_references(tmp_path):
    # 5-level paging (CR4.PAE | LA57 = 0x1020) over a 5-level EPT: 5 * (5 + 1) + 5 = 35 references. GVA 0x400123
    # has PML5, PML4 and PDPT index 0, PD index 2, PT index 0; the tables at 0x1000..0x5000 chain with P|RW|US.
    sc = write_vm(tmp_path, "5level", 0x1020, 0x500, [(0x1000, 0x2007), (0x2000, 0x3007), (0x3000, 0x4007),
                                                      (0x4010, 0x5007), (0x5000, 0x6007)], ept_levels=5)
    root, _ = draw(tmp_path, sc, "--gva", hex(GVA), "--access", "read")
    [walk] = walks(root)
    found = cells(walk)
    assert len(found) == 35
    check_order(found, rows=6, columns=5)
    assert [(c.name, int(c.entry, 16)) for c in found[5::6]] == [
        ("PML5E", 0x2007), ("PML4E", 0x3007), ("PDPTE", 0x4007), ("PDE", 0x5007), ("PTE", 0x6007)]
    assert [c.name for c in found[:5]] == ["EPT PML5E", "EPT PML4E", "EPT PDPTE", "EPT PDE", "EPT PTE"]
    assert "0x6123" in texts(walk)


def test_pae_pdptes_are_registers_not_references(tmp_path):
    # PAE paging (SDM Vol. 3A §4.4.1): MOV CR3 loads the 4 PDPTEs, so the walk reads only the PDE and the PTE,
    # each after its table's EPT walk, then the final EPT walk: 2 * (4 + 1) + 4 = 14 references. The PDPTE
    # (0x2001: P, PD at 0x2000) is drawn as the register it is, unnumbered, with no EPT walk beside it.
    sc = write_vm(tmp_path, "pae", 0x20, 0, [(0x1000, 0x2001), (0x2010, 0x3007), (0x3000, 0x5007)])
    root, _ = draw(tmp_path, sc, "--gva", hex(GVA), "--access", "read")
    [walk] = walks(root)
    found = cells(walk)
    assert len(found) == 14
    assert [c.number for c in found] == [str(n) for n in range(1, 15)]
    assert [(c.number, c.name, int(c.entry, 16)) for c in found if not c.name.startswith("EPT")] == [
        ("5", "PDE", 0x3007), ("10", "PTE", 0x5007)]
    [register] = [g for g in walk.iter(SVG + "g") if "register" in classes(g)]
    assert texts(register)[:2] == ["PDPTE register", "0x0000000000002001"]
    assert len(unreached(walk)) == 4


def test_32bit_entries_are_4_bytes(tmp_path):
    # 32-bit paging (SDM Vol. 3A §4.3, Tables 4-5 and 4-6): GVA 0x400123 has PDE index 1 (bits 31:22), at
    # 0x1000 + 4, and PTE index 0; entries are 4 bytes, shown as 8 hex digits. 2 * (4 + 1) + 4 = 14 references.
    sc = write_vm(tmp_path, "32bit", 0, 0, [(0x1004, 0x2007), (0x2000, 0x5007)])
    root, _ = draw(tmp_path, sc, "--gva", hex(GVA), "--access", "read")
    found = cells(walks(root)[0])
    assert len(found) == 14
    assert [(c.number, c.name, c.entry) for c in found if not c.name.startswith("EPT")] == [
        ("5", "PDE", "0x00002007"), ("10", "PTE", "0x00005007")]
    assert "0x5123" in texts(root)


# Each fault marks exactly its reference, derived from the scenario:
FAULTS = [
    # PTE[0] = 0x5003 (U/S = 0): a user write faults at the guest PTE, the 20th reference (#PF P|W|U = 0x7).
    ("page_fault.yaml", "write", 20, "PTE", 0x5003, "#PF at guest L1, cr2 0x400123, error code 0x7 (P W U)"),
    # The data page is read-only at the second stage (flags 0x1, write-back: R | 6 << 3 = 0x31): the final
    # access's EPT PTE, the 24th reference, refuses the write.
    ("ept_violation.yaml", "write", 24, "EPT PTE", 0x5031, "gpa 0x5123 (final access), qualification 0x"),
    # The EPT leaf 0x5037 with R cleared (W | X | WB = 0x36): a misconfiguration at reference 24.
    ("ept_misconfig.yaml", "read", 24, "EPT PTE", 0x5036, "EPT entry at L1"),
    # NPT: the data page is present, user, not writable (P|US = 0x5): the nested PTE at reference 24, #NPF.
    ("npf.yaml", "write", 24, "NPT PTE", 0x5005, "EXITINFO2 0x5123"),
]


@pytest.mark.parametrize("name, access, number, level, entry, caption", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_marks_exactly_its_reference(tmp_path, name, access, number, level, entry, caption):
    root, _ = draw(tmp_path, SCENARIOS / name, "--gva", hex(GVA), "--access", access, "--cpl", 3)
    [walk] = walks(root)
    found = cells(walk)
    assert len(found) == number
    assert [(c.number, c.name, int(c.entry, 16)) for c in found if c.fault] == [(str(number), level, entry)]
    assert [t for t in texts(walk) if caption in t], texts(walk)
    # After a fault at the final row's last reference nothing is left; after one at the guest PTE, the final
    # address's 4 EPT references.
    assert len(unreached(walk)) == 24 - number


def test_a_guest_table_the_second_stage_does_not_map(tmp_path):
    # The region ends at 0x4000, where PDE[2] puts the PT: the EPT walk of the PT's GPA 0x4000 finds a
    # not-present EPT PTE (0), reference 4 * 4 + 3 = 19. Exit qualification (SDM Vol. 3C Table 28-7): a read
    # (bit 0), EPT rights of that entry none (bits 6:3 = 0), linear address valid (bit 7), a guest paging-structure
    # access (bit 8 clear): 0x81. Not reached: the guest PTE and the final address's 4 EPT references.
    sc = write_vm(tmp_path, "4level", 0x20, 0x500, [(0x1000, 0x2007), (0x2000, 0x3007), (0x3010, 0x4007)],
                  region=0x3000)
    root, _ = draw(tmp_path, sc, "--gva", hex(GVA), "--access", "read")
    [walk] = walks(root)
    found = cells(walk)
    assert len(found) == 19
    assert [(c.number, c.name, int(c.entry, 16)) for c in found if c.fault] == [("19", "EPT PTE", 0)]
    assert len(unreached(walk)) == 5
    assert [t for t in texts(walk) if "gpa 0x4000 (guest paging structure), qualification 0x81 " in t]


def test_a_walk_without_a_second_stage_is_one_column(tmp_path):
    # A memory dump is guest-physical = host-physical. PML4[511] -> PDPT_KERNEL[510] -> PD_KERNEL[8] ->
    # PT_KERNEL[0] (test_memdump.build_guest): P|RW = 3 on the tables, the text page 0x1000000 | P|A|G = 0x121.
    make_dump(tmp_path)
    root, _ = draw(tmp_path, dump_scenario(tmp_path, "guest.elf"), "--gva", hex(0xFFFFFFFF81000000), "--access",
                   "fetch")
    [walk] = walks(root)
    found = cells(walk)
    assert [(c.number, c.name, int(c.entry, 16)) for c in found] == [
        ("1", "PML4E", PDPT_KERNEL | 3), ("2", "PDPTE", PD_KERNEL | 3), ("3", "PDE", PT_KERNEL | 3),
        ("4", "PTE", 0x1000121)]
    assert len({c.x for c in found}) == 1
    assert not [t for t in texts(walk) if "EPT" in t or "NPT" in t]
    assert "0x1000000" in texts(walk)


def test_an_access_crossing_a_page_draws_each_piece(tmp_path):
    # 8 bytes at 0x400ffc: 4 in the page PTE[0] maps (24 references), 4 at 0x401000, whose PTE[1] is 0 (the
    # scenario writes none): #PF at the guest PTE, reference 20 of the second grid.
    root, _ = draw(tmp_path, SCENARIOS / "ok.yaml", "--gva", "0x400ffc", "--size", 8, "--access", "read")
    first, second = walks(root)
    assert (len(cells(first)), len(cells(second))) == (24, 20)
    assert [(c.id, c.name, int(c.entry, 16)) for c in cells(second) if c.fault] == [("walk2-ref20", "PTE", 0)]
    assert "piece 2 of 2: gva 0x401000, 4 byte(s)" in texts(second)
    ids = [g.get("id") for g in root.iter() if g.get("id")]
    assert len(ids) == len(set(ids))


def test_text_is_escaped(tmp_path):
    # The scenario's path is in the title: '&' and '<' must not break the XML.
    folder = tmp_path / "a&b<c"
    folder.mkdir()
    sc = folder / "ok.yaml"
    sc.write_text((SCENARIOS / "ok.yaml").read_text())
    root, _ = draw(tmp_path, sc, "--gva", hex(GVA), "--access", "read")
    assert root.find(SVG + "title").text.startswith(str(sc) + ": gva 0x400123")


def test_the_answer_on_standard_output_is_unchanged(tmp_path):
    args = ["--gva", hex(GVA), "--access", "read", "--cpl", 3, "--explain"]
    plain = run("translate", SCENARIOS / "ok.yaml", *args)
    _, drawn = draw(tmp_path, SCENARIOS / "ok.yaml", *args[:-1])
    assert plain.returncode == 0 and drawn == plain.stdout


def test_an_unwritable_path_is_bad_input_and_leaves_no_file(tmp_path):
    # The target is a folder: the temporary file beside it is written, the rename fails, nothing is left.
    (tmp_path / "walk.svg").mkdir()
    result = run("translate", SCENARIOS / "ok.yaml", "--gva", hex(GVA), "--access", "read", "--explain", "--svg",
                 tmp_path / "walk.svg")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"nestwalk translate: --svg: {tmp_path / 'walk.svg'}: "), result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["walk.svg"] and not list((tmp_path / "walk.svg").iterdir())
    # A folder that does not exist.
    result = run("translate", SCENARIOS / "ok.yaml", "--gva", hex(GVA), "--access", "read", "--explain", "--svg",
                 tmp_path / "none" / "walk.svg")
    assert (result.returncode, result.stdout) == (2, "") and "cannot create a file in its folder" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--gva", hex(GVA)], "nestwalk translate: --svg: draws the walk --explain lists: give --explain too"),
    (["--gpa", "0x5123"], "nestwalk translate: --svg: cannot be given with --gpa"),
], ids=["without --explain", "with --gpa"])
def test_svg_is_refused_where_there_is_no_walk_to_draw(tmp_path, args, message):
    result = run("translate", SCENARIOS / "ok.yaml", *args, "--access", "read", "--svg", tmp_path / "walk.svg")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == message
    assert not list(tmp_path.iterdir())


def test_standard_output_is_refused(tmp_path):
    result = run("translate", SCENARIOS / "ok.yaml", "--gva", hex(GVA), "--access", "read", "--explain", "--svg",
                 "-")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "nestwalk translate: --svg: standard output carries the answer: name a file"


def test_the_readme_picture_is_what_its_command_draws(tmp_path):
    # README.md shows docs/walk-2d.svg and the command that makes it; run from the root, as written there.
    command = "nestwalk translate scenarios/ok.yaml --gva 0x400123 --access read --cpl 3 --explain --svg "
    assert command + "docs/walk-2d.svg" in (ROOT / "README.md").read_text()
    assert "![The 24 memory references of a 4-level guest walk over a 4-level EPT](docs/walk-2d.svg)" in (
        ROOT / "README.md").read_text()
    result = subprocess.run([NESTWALK, *command.split()[1:], tmp_path / "walk.svg"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # The EPT's frames come from the simulated host's allocator: a change there changes the picture too.
    assert (tmp_path / "walk.svg").read_bytes() == (ROOT / "docs" / "walk-2d.svg").read_bytes(), (
        "docs/walk-2d.svg is out of date: run `" + command + "docs/walk-2d.svg` from the source root")
