"""Trace expectations that state everything an outcome has (traces/FORMAT.md): an EPT misconfiguration's level
(misconfig_level), bit 7 of an EPT violation's exit qualification (gla_valid), and the outcome of a register
write (an expectation after a `reg` record: a MOV CR3 whose PAE PDPTE has a reserved bit is #GP). Each replayed
once matching and once not; every expected value is derived from the SDM beside it."""
import json
import os
import subprocess

import pytest

from test_cli import check  # first_mismatch against docs/json.md

NESTWALK = os.environ["NESTWALK"]

# PAE paging over a 4-level EPT whose identity region covers GPA 0x1000-0x3fffff. CR3 0x1000: PDPTE[0] -> PD
# 0x2000; PDE[2] (GVA 0x400000) -> PT 0x3000, PDE[3] (GVA 0x600000) -> PT 0x4000 whose PTEs map 0x600000 ->
# 0x5000, 0x601000 -> 0x8000, 0x602000 -> 0x200000, 0x603000 -> 0x9000 (U/S=1, R/W=1) and 0x604000 -> 0xa000
# (U/S=1, read-only). Two more PDPTs:
# 0x6000 (PDPTE[0] = 0x2003: R/W, bit 1, is reserved in a PAE PDPTE, SDM Vol. 3A Table 4-8) and 0x7000
# (in no EPT page). The EPT edits break one page each.
SCENARIO = """host: {memory: 64M}
ept:
  format: ept
  levels: 4
  edits:
    - {gpa: 0x3000, level: 1, clear: 0x7}     # the PT of GVA 0x400000: not present
    - {gpa: 0x5000, level: 1, clear: 0x7}     # the page of GVA 0x600000: not present
    - {gpa: 0x7000, level: 1, clear: 0x7}     # the PDPT at 0x7000: not present
    - {gpa: 0x9000, level: 1, clear: 0x1}     # W without R in the EPT PTE
    - {gpa: 0x200000, level: 2, clear: 0x1}   # W without R in the EPT PDE (a 2 MiB leaf)
memory_regions:
  - {gpa: 0x1000, size: 0x3ff000, flags: 0x7, type: identical}
cpu: {mode: pae, cr0: 0x80010001, cr3: 0x1000, cr4: 0x20, efer: 0}
guest:
  writes:
    - {gpa: 0x1000, values: [0x2001]}
    - {gpa: 0x6000, values: [0x2003]}
    - {gpa: 0x2010, values: [0x3007, 0x4007]}
    - {gpa: 0x4000, values: [0x5007, 0x8007, 0x200007, 0x9007, 0xa005]}
"""

TRACE = """nestwalk-trace 1
# The PT read for GVA 0x400000 meets a not-present EPT entry. Exit qualification (Vol. 3C Table 28-7): bit 0
# (a read), bit 7 (the guest-linear address is valid: every EPT violation but a PDPTE load by MOV CR and
# trace-address pre-translation, 28.2.1), bit 8 clear (a paging-structure access, not the final one): 0x81.
access gva=0x400000 size=0x1 type=read cpl=0x0
expect outcome=ept_violation exit_qualification=0x81 gla_valid=0x1 fault_gpa=0x3000
# The final access to GPA 0x5000: bits 0, 7, 8 (the translation of the linear address) and, with advanced
# VM-exit information, bits 9 and 10 (the guest PTE's U/S and R/W; bit 11 XD is 0): 0x781. gla_valid is 1 too.
access gva=0x600000 size=0x1 type=read cpl=0x0
expect outcome=ept_violation exit_qualification=0x781 gla_valid=0x1 fault_gpa=0x5000
# An EPT entry with W=1 and R=0 is misconfigured (Vol. 3C 29.3.3.1): the 2 MiB EPT PDE of 0x200000 (level 2)...
access gva=0x602000 size=0x1 type=read cpl=0x0
expect outcome=ept_misconfig fault_gpa=0x200000 misconfig_level=0x2
# ... and the EPT PTE of 0x9000 (level 1).
access gva=0x603000 size=0x1 type=read cpl=0x0
expect outcome=ept_misconfig fault_gpa=0x9000 misconfig_level=0x1
# MOV CR3 loads the PDPTEs (Vol. 3A 4.4.1) from a page the EPT does not map: an EPT violation whose
# guest-linear address is not valid (bit 7 clear, 28.2.1), a read: qualification 0x1.
reg cr3=0x7000
expect outcome=ept_violation exit_qualification=0x1 fault_gpa=0x7000 gla_valid=0x0
# MOV CR3 whose PDPTE has a reserved bit set: #GP (4.4.1), and CR3 keeps 0x1000 ...
reg cr3=0x6000
expect outcome=general_protection
# ... so GVA 0x601000 still translates through the PDPTEs loaded from 0x1000.
access gva=0x601000 size=0x1 type=read cpl=0x0
expect outcome=ok gpa=0x8000
reg cr3=0x1000
expect outcome=ok
end
"""


def replay(tmp_path, trace, *args):
    (tmp_path / "pae.yaml").write_text(SCENARIO)
    (tmp_path / "t.nwt.txt").write_text(trace)
    return subprocess.run([NESTWALK, "replay", str(tmp_path / "pae.yaml"), "--trace", str(tmp_path / "t.nwt.txt"),
                           *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("form", ["text", "binary"])
def test_every_field_matches(tmp_path, form):
    result = replay(tmp_path, TRACE)
    if form == "binary":  # the same records in the binary form (the fields' one-byte encodings)
        subprocess.run([NESTWALK, "trace", "convert", str(tmp_path / "t.nwt.txt"), str(tmp_path / "t.nwt"), "--to",
                        "binary"], check=True)
        result = subprocess.run([NESTWALK, "replay", str(tmp_path / "pae.yaml"), "--trace", str(tmp_path / "t.nwt")],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expectations  8 checked, 0 mismatched" in result.stdout
    # Two register writes faulted (the EPT violation and the #GP): counted, and nothing changed.
    assert "CR3 loads     2 refused" in result.stdout


@pytest.mark.parametrize("old, new, field, expected, got", [
    ("misconfig_level=0x2", "misconfig_level=0x1", "misconfig_level", "0x1", "0x2"),
    ("exit_qualification=0x781 gla_valid=0x1", "exit_qualification=0x781 gla_valid=0x0", "gla_valid", "0x0", "0x1"),
    ("fault_gpa=0x7000 gla_valid=0x0", "fault_gpa=0x7000 gla_valid=0x1", "gla_valid", "0x1", "0x0"),
    ("expect outcome=general_protection", "expect outcome=ok", "outcome", "ok", "general_protection"),
])
def test_a_field_that_differs_is_named(tmp_path, old, new, field, expected, got):
    assert TRACE.count(old) == 1
    result = replay(tmp_path, TRACE.replace(old, new))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"  {field}: expected {expected}, got {got}" in result.stdout, result.stdout
    assert "expectations  8 checked, 1 mismatched" in result.stdout
    report = json.loads(replay(tmp_path, TRACE.replace(old, new), "--json").stdout)["first_mismatch"]
    check("replay.first_mismatch", report)
    assert report["fields"] == [{"field": field, "expected": expected, "got": got}]


def test_a_register_write_mismatch_names_the_write(tmp_path):
    result = replay(tmp_path, TRACE.replace("expect outcome=general_protection", "expect outcome=ok"))
    assert "mismatch at record 12 (after mark \"(none)\"): write of 0x6000 to cr3\n" in result.stdout, result.stdout
    # The PDPTE load's outcome, as translate names it.
    assert "outcome general_protection" in result.stdout, result.stdout
    report = json.loads(replay(tmp_path, TRACE.replace("expect outcome=general_protection", "expect outcome=ok"),
                               "--json").stdout)["first_mismatch"]
    assert (report["record"], report["register"], report["value"], report["walk"]["gp_reason"]) == (
        12, "cr3", "0x6000", "pdpte_reserved")


# A MOV to CR0 loads the PDPTE registers only when it changes CR0.CD, NW or PG (Vol. 3A 4.4.1), and one whose
# load faults changes nothing.
CR0_TRACE = """nestwalk-trace 1
# PDPTE[0] at 0x1000 gains R/W (bit 1), reserved in a PAE PDPTE; the PDPTE registers keep what was loaded.
gpwrite gpa=0x1000 bytes=0320000000000000
# Setting CR0.CD (bit 30) loads the PDPTEs: #GP, so CR0 keeps WP ...
reg cr0=0xc0000001
expect outcome=general_protection
# ... and a supervisor write to the read-only page is a #PF: P (bit 0) | W/R (bit 1) = 0x3 (4.7, 4.6.1).
access gva=0x604000 size=0x1 type=write cpl=0x0
expect outcome=page_fault error_code=0x3
# Clearing CR0.WP alone loads no PDPTE: ok, and the same write is now allowed (4.6.1).
reg cr0=0x80000001
expect outcome=ok
access gva=0x604000 size=0x1 type=write cpl=0x0
expect outcome=ok gpa=0xa000
end
"""


def test_a_faulting_cr0_write_changes_nothing_and_only_some_writes_load_pdptes(tmp_path):
    result = replay(tmp_path, CR0_TRACE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expectations  4 checked, 0 mismatched" in result.stdout
    assert "CR3 loads     1 refused" in result.stdout, result.stdout
