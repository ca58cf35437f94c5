"""The case file's reader (tests/cases/case_file.py, format in tests/cases/README.md) on its EPT cases: a
well-formed one becomes the VMX image's case and outcome line (tests/cases/ept_vmx.py), and each malformed
line stops the reader with the file, the line and what is wrong, before any consumer sees a case."""
import os
import sys

import pytest

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "cases"))

import case_file  # noqa: E402
import ept_vmx  # noqa: E402

HEAD = "const T 0x8000000000\ngroup ept-vmx\n"
# A user read through a 2 MiB guest page over a 2 MiB read/execute EPT page with bit 13 set, reserved in a 2 MiB
# EPT leaf (SDM Vol. 3C §29.3.3.1): a misconfiguration at EPT level 2 once the guest walk has set its A flags
# (§4.8); the guest PT page's EPT leaf is not present, which the 2 MiB guest leaf never reads. Lines 3 to 11.
GOOD = """case 7 a case
cpu 4-level wp nxe cpl=3
access read T+0x1238
path P|RW|US P|RW|US P|RW|US|PS
leaf T
eptp
ept final R|W|X R|W|X R|X|PS|WB|(1<<13)
ept pt WB
expect misconfig T+0x1238 ad=1110/000/000 level=2
"""


def read(tmp_path, text):
    path = tmp_path / "some.cases"
    path.write_text(HEAD + text)
    return case_file.read(str(path))[0], str(path)


def test_an_ept_case_becomes_the_images_case(tmp_path):
    """Entries the file gives differently from the image's EPT (every entry R|W|X, a leaf R|W|X|WB) become the
    edits that make them so; the leaf's own bits its ept_leaf; the 4 KiB page reached from leaf and GVA."""
    (case,), _ = read(tmp_path, GOOD)
    assert ept_vmx.vmx_fields(case) == dict(
        id=7, gva=0x8000001238, gpa=0x8000001000, access="read", ept_ad=False, ept_level=2,
        guest=(7, 7, 7, 0), ept_leaf=0x35, guest_level=2, cpl=3, wp=True, nxe=True, smep=False, smap=False,
        ac=False, edits=[("target", 2, 0, 0x2000), ("pt", 1, 0x7, 0)])
    assert ept_vmx.outcome_line(case) == "misconfig 0x8000001238 1110/000/000" and case.level == 2


@pytest.mark.parametrize("change, line, why", [
    (("eptp\n", ""), 8, "ept: an 'eptp' line first"),
    (("R|X|PS|WB|(1<<13)", "R|X|WB|(1<<13)"), 3, "the EPT leaf at level 2 has no PS"),
    (("P|RW|US|PS", "P|RW|US"), 3, "the guest leaf at level 2 has no PS"),
    (("leaf T\n", "leaf T+0x1000\n"), 3, "is not aligned to the guest page"),
    (("leaf T\n", ""), 3, "gives 'ept final', 'leaf'"),
    (("ad=1110/000/000", "ad=1110/0000/000"), 3, "ad= is GUEST/EPT/TABLES"),
    (("ept pt WB", "ept pt mt(8)"), 10, "memory type 8 is not 0..7"),
    (("ept pt WB", "ept pml4 WB"), 10, "ept: 'final' and 2 to 4 entries"),
    (("eptp\n", "eptp\neptp\n"), 9, "eptp [ad]: once per case"),
    (("cpu 4-level wp nxe cpl=3", "cpu 5-level wp nxe cpl=3"), 3, "an EPT case is 4-level paging"),
    (("misconfig T+0x1238 ad=1110/000/000 level=2", "npf 0x18a T+0x1238 ad=1110/000/000"), 3,
     "outcome is one of ok, pf, eptv"),
])
def test_a_malformed_ept_case_names_its_file_and_line(tmp_path, change, line, why):
    assert GOOD.count(change[0]) == 1
    with pytest.raises(case_file.CaseFileError) as err:
        read(tmp_path, GOOD.replace(change[0], change[1]))
    path = str(tmp_path / "some.cases")
    assert str(err.value).startswith(f"{path}:{line}: ") and why in str(err.value), str(err.value)


def test_an_ept_outcome_needs_an_ept(tmp_path):
    text = "case 1 a case\ncpu 4-level\naccess read T\npath ALL ALL ALL ALL\nexpect misconfig T ad=1111\n"
    with pytest.raises(case_file.CaseFileError, match=r"some.cases:3: case 1: an misconfig outcome needs an EPT"):
        read(tmp_path, text)


def test_ids_are_unique_among_one_images_cases(tmp_path):
    """The VMX image's ids are its own: an EPT case may share an id with a case of the other image, not with
    another EPT case."""
    plain = "case 7 the other image's\ncpu 4-level\naccess read T\npath ALL ALL ALL ALL\nexpect ok 0 ad=1111\n"
    cases, _ = read(tmp_path, GOOD + plain)
    assert [c.id for c in cases] == [7, 7]
    with pytest.raises(case_file.CaseFileError, match=r"some.cases:12: case id 7 used twice"):
        read(tmp_path, GOOD + GOOD)
