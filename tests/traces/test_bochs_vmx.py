"""The VMX image under Bochs (corei7_skylake_x): a minimal hypervisor built
from lib/ runs EPT cases in its guest, and every observed outcome (EPT
violation with its exit qualification, guest-physical and guest-linear
address; EPT misconfiguration; intercepted guest #PF; completed access with
where it landed; guest and EPT accessed/dirty flags read back) must equal the
simulator's answer for the same case (nestwalk-vmx-sim, the library's reference
walker on simulated memory) or a Bochs deviation listed in hw/DEVIATIONS.md.
The named cases also carry their outcome derived by hand from the SDM.

The guest side varies too: 4 KiB, 2 MiB and 1 GiB guest leaves over 4 KiB,
2 MiB and 1 GiB EPT leaves, CPL 0 and 3 (the VMCS gives the guest DPL 3
segments, VMCALL exits from ring 3), CR0.WP, CR4.SMEP, CR4.SMAP with
RFLAGS.AC, EFER.NXE with XD entries and guest reserved bits.

Three Bochs boots in all (about 2 s of CPU each, the random one about 9 s),
every one bounded by a timeout. NESTWALK_FULL or NESTWALK_FULL_MATRIX set runs
the long random form (50000 cases, about a minute of CPU)."""
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

import pytest

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
_loader = SourceFileLoader("bochs_run", os.path.join(ROOT, "tools", "bochs-run"))
bochs_run = module_from_spec(spec_from_loader("bochs_run", _loader))
_loader.exec_module(bochs_run)
VmxCase = bochs_run.VmxCase

FULL = bool(os.environ.get("NESTWALK_FULL") or os.environ.get("NESTWALK_FULL_MATRIX"))
RANDOM_COUNT = 50000 if FULL else 6000
SEED = 20261122
BOOT_TIMEOUT = 600 if FULL else 120

T = bochs_run.TARGET_BASE
SCRATCH = bochs_run.SCRATCH_BASE
# Guest tables of the target (hw/contract/ept_case.c): code page at 0x200000, then
# PML4, the code's PDPT/PD/PT, the target's PDPT/PD/PT.
GUEST_PDPT_GPA, GUEST_PD_GPA, GUEST_PT_GPA = 0x205000, 0x206000, 0x207000
RWX_WB = 0x37  # EPT R|W|X, memory type 6 (WB)


def build_dir():
    return os.path.dirname(os.path.dirname(os.path.abspath(os.environ["NESTWALK"])))


def image_path():
    return os.environ.get("NESTWALK_VMX_IMAGE", os.path.join(build_dir(), "hw", "vmx", "nestwalk-vmx.elf"))


def sim_path():
    return os.path.join(build_dir(), "sim", "hw", "nestwalk-vmx-sim")


@pytest.fixture(scope="module", autouse=True)
def bochs_installed():
    """Bochs is required, not optional: a missing piece fails these checks instead of skipping them."""
    if not bochs_run.have_bochs():
        pytest.fail("bochs, grub-mkrescue, xorriso or mtools missing: run tools/setup (Bochs checks never skip)")


def listed_deviations():
    with open(os.path.join(ROOT, "hw", "DEVIATIONS.md")) as f:
        return set(re.findall(r"^\| `([a-z0-9-]+)` \|", f.read(), re.MULTILINE))


def simulate(cases):
    """{id: outcome} from nestwalk-vmx-sim for the cases."""
    with tempfile.NamedTemporaryFile(suffix=".blob") as f:
        f.write(bochs_run.pack(cases))
        f.flush()
        proc = subprocess.run([sim_path(), f.name], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return bochs_run.parse_outcomes(proc.stdout)


class Boot:
    """One Bochs boot of the image with cases; keeps wall and CPU time."""

    def __init__(self, cases):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.passed, self.text, self.seconds = bochs_run.boot(image_path(), cases, timeout=BOOT_TIMEOUT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.outcomes = bochs_run.parse_outcomes(self.text)

    def check(self):
        assert self.passed is not None, f"Bochs gave no end marker within {BOOT_TIMEOUT} s:\n{self.text[-3000:]}"
        assert self.passed, f"the image failed:\n{self.text[-3000:]}"
        assert "vmx: frames live 0" in self.text


# --- Deviations: each a case transformation and/or an outcome transformation
# that turns the SDM's answer into what Bochs 2.7 does (hw/DEVIATIONS.md).

def ept_ad_table_read(case, sim_line):
    """Bochs 2: with EPT A/D on, a guest paging-structure access that violates
    EPT reports qualification bit 1 only; the SDM sets bits 0 and 1."""
    words = sim_line.split()
    if not case.ept_ad or words[0] != "eptv":
        return None
    qual = int(words[1], 16)
    if qual & 0x100 or (qual & 3) != 3:
        return None
    return " ".join([words[0], hex(qual & ~1)] + words[2:])


def has_large_leaf_bit12(case):
    return case.ept_level > 1 and any(w == "target" and lvl == case.ept_level and s & 0x1000
                                      for w, lvl, _c, s in case.edits)


def without_large_leaf_bit12(case):
    """Bochs 3: bit 12 of a 2 MiB / 1 GiB EPT leaf is ignored; the SDM makes it a misconfiguration."""
    edits = [(w, lvl, c, s & ~0x1000 if w == "target" and lvl == case.ept_level else s)
             for w, lvl, c, s in case.edits]
    return replace(case, edits=edits)


def has_read_only_guest_table(case):
    return not case.ept_ad and any(w != "target" and c & 0x2 and not c & 0x1 for w, _l, c, _s in case.edits)


def with_writable_guest_tables(case):
    """Bochs: with EPT A/D off, the accessed/dirty writes of the guest walk ignore EPT's W bit."""
    edits = [(w, lvl, c & ~0x2 if w != "target" and not c & 0x1 else c, s) for w, lvl, c, s in case.edits]
    return replace(case, edits=edits)


def has_smap_implicit_ac(case):
    return case.access == "implicit" and case.smap and case.ac


def without_smap(case):
    """Bochs 1: an implicit supervisor read under SMAP with RFLAGS.AC = 1 is treated as if SMAP were
    off; the SDM blocks implicit reads of user-mode pages whatever AC."""
    return replace(case, smap=False)


def variant(case):
    """The case as Bochs treats it when case-level deviations apply, and their names (else None, None)."""
    names = []
    if has_smap_implicit_ac(case):
        case, names = without_smap(case), names + ["bochs-smap-implicit-ac"]
    if has_large_leaf_bit12(case):
        case, names = without_large_leaf_bit12(case), names + ["bochs-large-leaf-bit12"]
    if has_read_only_guest_table(case):
        case, names = with_writable_guest_tables(case), names + ["bochs-guest-ad-ignores-ept-write"]
    return (case, "+".join(names)) if names else (None, None)


def explain(case, sim_line, bochs_line, variant_line):
    """None when Bochs agrees with the simulator, else the deviation that
    accounts for the difference, else "unexplained"."""
    if bochs_line == sim_line:
        return None
    if ept_ad_table_read(case, sim_line) == bochs_line:
        return "bochs-ept-ad-table-read"
    if variant_line is not None:
        name = variant(case)[1]
        if variant_line == bochs_line:
            return name
        if ept_ad_table_read(case, variant_line) == bochs_line:
            return name + "+bochs-ept-ad-table-read"
    return "unexplained"


def compare(cases, observed):
    """(agreements, {deviation: count}, [unexplained lines])."""
    sim = simulate(cases)
    variants = [v for v, _ in map(variant, cases) if v is not None]
    variant_sim = simulate(variants) if variants else {}
    agree, deviations, bad = 0, {}, []
    for c in cases:
        assert c.id in observed, f"case {c.id}: no outcome from Bochs"
        why = explain(c, sim[c.id], observed[c.id], variant_sim.get(c.id))
        if why is None:
            agree += 1
        elif why == "unexplained":
            bad.append(f"case {c.id} {c}: simulator {sim[c.id]!r}, Bochs {observed[c.id]!r}")
        else:
            deviations[why] = deviations.get(why, 0) + 1
    return agree, deviations, bad


# --- Hand-written cases, each with its outcome derived from the SDM (Vol. 3C
# §28.2.1 Table 28-7 for the qualification: bit 0 read, 1 write, 2 fetch, 5:3
# the R/W/X AND of the EPT entries used, 7 linear address valid, 8 final
# translation; §29.3.3.1 for misconfigurations; Vol. 3A §4.7 for #PF error
# codes) and the accessed/dirty digits (A + 2*D) of: guest PML4E PDPTE PDE PTE /
# the target's EPT path from the PML4E down / the EPT leaves of the guest PDPT,
# PD and PT. Guest A/D are set once the guest walk succeeds, before the final
# guest-physical access is translated; a faulting guest walk sets none.

def hand(id, expect, **kw):
    kw.setdefault("gva", T)
    kw.setdefault("gpa", T)
    return VmxCase(id=id, **kw), expect


HAND = [
    hand(1, "ok 0x2000000 1111/0000/000"),
    hand(2, "ok 0x2000008 1113/0000/000", gva=T + 8, access="write"),
    hand(3, "ok - 1111/0000/000", access="fetch"),
    # Write to a read/execute page: W (0x2) | R,X rights (0x8|0x20) | 0x80 | 0x100.
    hand(4, "eptv 0x1aa 0x8000000000 0x8000000000 1113/0000/000", access="write", ept_leaf=0x35),
    # Fetch from a read/write page: X (0x4) | R,W (0x18) | 0x180.
    hand(5, "eptv 0x19c 0x8000000000 0x8000000000 1111/0000/000", access="fetch", ept_leaf=0x33),
    # Execute-only (IA32_VMX_EPT_VPID_CAP bit 0): a read violates, a fetch completes.
    hand(6, "eptv 0x1a1 0x8000000000 0x8000000000 1111/0000/000", ept_leaf=0x34),
    hand(7, "ok - 1111/0000/000", access="fetch", ept_leaf=0x34),
    # Not present (R=W=X=0): R (0x1) | no rights | 0x180.
    hand(8, "eptv 0x181 0x8000000018 0x8000000018 1111/0000/000", gva=T + 0x18, ept_leaf=0x30),
    # Write without read is a misconfiguration (§29.3.3.1), at the leaf and above.
    hand(9, "misconfig 0x8000000000 1111/0000/000", ept_leaf=0x32),
    hand(10, "misconfig 0x8000000000 1111/0000/000", edits=[("target", 3, 0x1, 0)]),
    # Reserved memory types 2, 3 and 7 in a leaf.
    hand(11, "misconfig 0x8000000000 1111/0000/000", ept_leaf=0x17),
    hand(12, "misconfig 0x8000000000 1111/0000/000", ept_leaf=0x1f),
    hand(13, "misconfig 0x8000000000 1111/0000/000", ept_leaf=0x3f),
    # Reserved bits 7:3 of a non-leaf: PML4E bit 3, PML4E bit 7, PDPTE bit 6, PDE bit 4.
    hand(14, "misconfig 0x8000000000 1111/0000/000", edits=[("target", 4, 0, 0x8)]),
    hand(15, "misconfig 0x8000000000 1111/0000/000", edits=[("target", 4, 0, 0x80)]),
    hand(16, "misconfig 0x8000000000 1111/0000/000", edits=[("target", 3, 0, 0x40)]),
    hand(17, "misconfig 0x8000000000 1111/0000/000", edits=[("target", 2, 0, 0x10)]),
    # A non-leaf without rights ends the translation there: a violation with rights 0.
    hand(18, "eptv 0x181 0x8000000000 0x8000000000 1111/0000/000", edits=[("target", 3, 0x7, 0)]),
    # A read-only PDE above a RWX leaf: rights are ANDed over the path, R only (0x8).
    hand(19, "eptv 0x18a 0x8000000000 0x8000000000 1113/0000/000", access="write",
         edits=[("target", 2, 0x6, 0)]),
    # 2 MiB and 1 GiB EPT pages: the GPA's offset in the page is kept.
    hand(20, "ok 0x2000238 1111/000/000", gva=T + 0x1238, ept_level=2),
    hand(21, "ok 0x2005010 1111/00/000", gva=T + 0x10, gpa=T + SCRATCH + 0x5000, ept_level=3),
    # Address bits 20:12 of a 2 MiB leaf and 29:12 of a 1 GiB leaf are reserved (§29.3.3.1).
    hand(22, "misconfig 0x8000000000 1111/000/000", ept_level=2, edits=[("target", 2, 0, 0x2000)]),
    hand(23, "misconfig 0x8002005000 1111/00/000", gpa=T + SCRATCH + 0x5000, ept_level=3,
         edits=[("target", 3, 0, 0x100000)]),
    # EPT A/D on (EPTP bit 6): A on every EPT entry used, D on the leaf of a write, and the
    # guest tables' EPT leaves get A and D (guest paging-structure accesses are writes).
    hand(24, "ok 0x2000000 1111/1111/333", ept_ad=True),
    hand(25, "ok 0x2000000 1113/1113/333", access="write", ept_ad=True),
    hand(26, "ok 0x2000000 1111/111/333", ept_level=2, ept_ad=True),
    # A guest paging-structure access that violates EPT: bit 8 = 0, GPA = the guest entry.
    # Not present PT page, A/D off: R (0x1) | 0x80.
    hand(27, "eptv 0x81 0x207000 0x8000000000 0000/0000/000", edits=[("pt", 1, 0x7, 0)]),
    # Guest #PF (intercepted through exception bitmap bit 14; CR2 in the qualification).
    hand(29, "pf 0x0 0x8000000000 0000/0000/000", guest=(0x3, 0x3, 0x3, 0x2)),
    hand(30, "pf 0x3 0x8000000000 0000/0000/000", access="write", guest=(0x3, 0x3, 0x3, 0x1)),
    hand(31, "pf 0x11 0x8000000000 0000/0000/000", access="fetch", guest=(0x3, 0x3, 0x3, 0x8000000000000003)),
    # Bit 45 lies above MAXPHYADDR (40): reserved, P | RSVD.
    hand(32, "pf 0x9 0x8000000000 0000/0000/000", guest=(0x3, 0x3, 0x200000000003, 0x3)),
    # A guest #PF comes before any EPT check of the final access.
    hand(33, "pf 0x3 0x8000000000 0000/0000/000", access="write", guest=(0x3, 0x1, 0x3, 0x3), ept_leaf=0x30),

    # Guest large pages (Vol. 3A §4.5, Tables 4-17 and 4-15): a PDE with PS maps 2 MiB, a PDPTE with
    # PS 1 GiB; the GVA's low 21 / 30 bits are the offset. The A/D digit of an entry below the leaf is 0.
    # 2 MiB guest page over a 4 KiB EPT page: GPA T + 0x1238, its EPT page lands at scratch + 0x1000.
    hand(50, "ok 0x2001238 1110/0000/000", gva=T + 0x1238, gpa=T + 0x1000, guest_level=2,
         guest=(0x3, 0x3, 0x3, 0)),
    # ... over a 2 MiB EPT page (at HPA scratch): a write sets D in the guest PDE.
    hand(51, "ok 0x2001238 1130/000/000", access="write", gva=T + 0x1238, gpa=T + 0x1000, guest_level=2,
         ept_level=2, guest=(0x3, 0x3, 0x3, 0)),
    # 1 GiB guest page over a 1 GiB EPT page (HPA 0): the offset 0x2005010 lies in the scratch region.
    hand(52, "ok 0x2005010 1100/00/000", gva=T + SCRATCH + 0x5010, gpa=T + SCRATCH + 0x5000, guest_level=3,
         ept_level=3, guest=(0x3, 0x3, 0, 0)),
    # 1 GiB guest page (second one, GPA T + 1 GiB) over a 4 KiB EPT page: scratch + 0x123000 + 0x458.
    hand(53, "ok 0x2123458 1100/0000/000", gva=T + 0x40123458, gpa=T + 0x40123000, guest_level=3,
         guest=(0x3, 0x3, 0, 0)),
    # Bits 20:13 of a 2 MiB leaf and 29:13 of a 1 GiB leaf are reserved (Tables 4-17, 4-15): P | RSVD.
    hand(54, "pf 0x9 0x8000001238 0000/0000/000", gva=T + 0x1238, gpa=T + 0x1000, guest_level=2,
         guest=(0x3, 0x3, 0x2003, 0)),
    hand(55, "pf 0x9 0x8002005010 0000/00/000", gva=T + SCRATCH + 0x5010, gpa=T + SCRATCH + 0x5000,
         guest_level=3, ept_level=3, guest=(0x3, 0x20000003, 0, 0)),
    # Bit 12 of a large leaf is PAT, not reserved: the access completes.
    hand(56, "ok 0x2001238 1110/0000/000", gva=T + 0x1238, gpa=T + 0x1000, guest_level=2,
         guest=(0x3, 0x3, 0x1003, 0)),
    # A 2 MiB user page read at CPL 3.
    hand(57, "ok 0x2001238 1110/0000/000", gva=T + 0x1238, gpa=T + 0x1000, guest_level=2, cpl=3,
         guest=(0x7, 0x7, 0x7, 0)),
    # EPT violation on the final access through a 2 MiB guest page: the GPA keeps the page offset.
    hand(58, "eptv 0x181 0x8000001238 0x8000001238 1110/0000/000", gva=T + 0x1238, gpa=T + 0x1000,
         guest_level=2, guest=(0x3, 0x3, 0x3, 0), ept_leaf=0x30),
    # A 1 GiB page, CPL 3 write, read-only PDPTE: P | W | U.
    hand(59, "pf 0x7 0x8002000000 0000/00/000", access="write", gva=T + SCRATCH, gpa=T + SCRATCH,
         guest_level=3, ept_level=3, cpl=3, guest=(0x7, 0x5, 0, 0)),

    # CPL 3 (§4.6.1): a user-mode access needs U/S = 1 in every entry; writes need R/W = 1 in every entry.
    hand(60, "ok 0x2000000 1111/0000/000", cpl=3, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(61, "pf 0x5 0x8000000000 0000/0000/000", cpl=3, guest=(0x7, 0x7, 0x7, 0x3)),
    hand(62, "pf 0x7 0x8000000000 0000/0000/000", access="write", cpl=3, guest=(0x7, 0x7, 0x7, 0x5)),
    hand(63, "pf 0x7 0x8000000000 0000/0000/000", access="write", cpl=3, guest=(0x7, 0x7, 0x3, 0x7)),
    hand(64, "ok - 1111/0000/000", access="fetch", cpl=3, guest=(0x7, 0x7, 0x7, 0x7)),
    # Fetch from an XD page at CPL 3: P | U | I.
    hand(65, "pf 0x15 0x8000000000 0000/0000/000", access="fetch", cpl=3,
         guest=(0x7, 0x7, 0x7, 0x8000000000000007)),
    # EPT rights do not depend on the CPL: a CPL 3 write to a read-only EPT page, W | R | 0x180.
    hand(66, "eptv 0x18a 0x8000000000 0x8000000000 1113/0000/000", access="write", cpl=3,
         guest=(0x7, 0x7, 0x7, 0x7), ept_leaf=0x31),
    # A guest-table access at CPL 3 is a supervisor access to EPT all the same: R | 0x80.
    hand(67, "eptv 0x81 0x207000 0x8000000000 0000/0000/000", cpl=3, guest=(0x7, 0x7, 0x7, 0x7),
         edits=[("pt", 1, 0x7, 0)]),

    # CR0.WP (§4.6.1): with WP = 0 a supervisor write ignores R/W, to supervisor and user pages alike.
    hand(70, "ok 0x2000000 1113/0000/000", access="write", wp=False, guest=(0x3, 0x3, 0x3, 0x1)),
    hand(71, "ok 0x2000000 1113/0000/000", access="write", wp=False, guest=(0x7, 0x5, 0x7, 0x7)),
    # CR4.SMEP (§4.6.1): no supervisor fetch from a user-mode page (U/S = 1 in every entry): P | I.
    hand(72, "pf 0x11 0x8000000000 0000/0000/000", access="fetch", smep=True, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(73, "ok - 1111/0000/000", access="fetch", guest=(0x7, 0x7, 0x7, 0x7)),
    # A page with U/S = 0 in any entry is a supervisor-mode page: SMEP does not apply.
    hand(74, "ok - 1111/0000/000", access="fetch", smep=True, guest=(0x7, 0x3, 0x7, 0x7)),
    # A 2 MiB user page fetched at CPL 0 under SMEP.
    hand(75, "pf 0x11 0x8000001238 0000/0000/000", access="fetch", smep=True, gva=T + 0x1238, gpa=T + 0x1000,
         guest_level=2, guest=(0x7, 0x7, 0x7, 0)),
    # CR4.SMAP (§4.6.1): explicit supervisor data accesses to user-mode pages need RFLAGS.AC = 1.
    hand(76, "pf 0x1 0x8000000000 0000/0000/000", smap=True, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(77, "ok 0x2000000 1111/0000/000", smap=True, ac=True, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(78, "pf 0x3 0x8000000000 0000/0000/000", access="write", smap=True, guest=(0x7, 0x7, 0x7, 0x7)),
    # With AC = 1 a write to a read-only user page follows WP: allowed with WP = 0, P | W with WP = 1.
    hand(79, "ok 0x2000000 1113/0000/000", access="write", smap=True, ac=True, wp=False,
         guest=(0x7, 0x7, 0x7, 0x5)),
    hand(80, "pf 0x3 0x8000000000 0000/0000/000", access="write", smap=True, ac=True,
         guest=(0x7, 0x7, 0x7, 0x5)),
    # SMAP is about supervisor accesses: CPL 3 reads its user page; a supervisor page at CPL 3 is U/S.
    hand(81, "ok 0x2000000 1111/0000/000", cpl=3, smap=True, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(82, "pf 0x5 0x8000000000 0000/0000/000", cpl=3, smap=True, ac=True, guest=(0x7, 0x7, 0x3, 0x7)),
    # EFER.NXE = 0 (Table 4-19 and §4.7): XD (bit 63) is reserved in every entry: P | RSVD.
    hand(83, "pf 0x9 0x8000000000 0000/0000/000", nxe=False, guest=(0x3, 0x3, 0x3, 0x8000000000000003)),
    hand(84, "pf 0x9 0x8000000000 0000/0000/000", nxe=False, guest=(0x8000000000000003, 0x3, 0x3, 0x3)),
    hand(85, "ok - 1111/0000/000", access="fetch", nxe=False),
    # With NXE = 1, XD in a non-leaf entry forbids fetches from the whole range: P | I.
    hand(86, "pf 0x11 0x8000000000 0000/0000/000", access="fetch", guest=(0x3, 0x3, 0x8000000000000003, 0x3)),
    # Guest A/D already set stay set; a read of a page with A clear and D set sets A only.
    hand(87, "ok 0x2000000 1113/0000/000", access="write", guest=(0x23, 0x23, 0x23, 0x63)),
    hand(88, "ok 0x2000000 1113/0000/000", guest=(0x3, 0x3, 0x3, 0x43)),
    # Implicit supervisor reads (§4.6: a descriptor read is a supervisor-mode access at any CPL): the
    # DS load gets a system descriptor there, so its #GP says the read completed ("ok -").
    hand(90, "ok - 1111/0000/000", access="implicit"),
    hand(91, "ok - 1111/0000/000", access="implicit", cpl=3, guest=(0x3, 0x3, 0x3, 0x3)),
    # Its #PF has U/S = 0 at CPL 3 too (§4.7).
    hand(92, "pf 0x0 0x8000000000 0000/0000/000", access="implicit", cpl=3, guest=(0x3, 0x3, 0x3, 0x2)),
    # SMAP blocks implicit reads of user-mode pages whatever RFLAGS.AC (§4.6.1); here AC = 0.
    hand(93, "pf 0x1 0x8000000000 0000/0000/000", access="implicit", smap=True, guest=(0x7, 0x7, 0x7, 0x7)),
    hand(94, "pf 0x1 0x8000000000 0000/0000/000", access="implicit", cpl=3, smap=True,
         guest=(0x7, 0x7, 0x7, 0x7)),
    # Without SMAP the implicit read of a user page is allowed.
    hand(95, "ok - 1111/0000/000", access="implicit", cpl=3, guest=(0x7, 0x7, 0x7, 0x7)),
    # An execute-only EPT page: the implicit read violates EPT as any read, R | X | 0x180.
    hand(96, "eptv 0x1a1 0x8000000000 0x8000000000 1111/0000/000", access="implicit", ept_leaf=0x34),
]

# The deviations' proofs: the SDM's outcome, and what Bochs 2.7 does instead.
PROOF = [
    # Bochs 2: EPT A/D on, read-only guest PT page: SDM R|W (0x3) | R (0x8) | 0x80 = 0x8b; Bochs 0x8a.
    (hand(40, "eptv 0x8b 0x207000 0x8000000000 0000/0000/330", ept_ad=True, edits=[("pt", 1, 0x6, 0)]),
     "bochs-ept-ad-table-read", "eptv 0x8a 0x207000 0x8000000000 0000/0000/330"),
    # Bochs: EPT A/D off, read-only guest PD page. Setting the PDE's accessed
    # flag (§4.8: the processor sets A when it uses the entry) writes guest-physical memory, so
    # EPT must allow the write (§29.3.3.2); the update is a read-modify-write: R|W (0x3) | R
    # (0x8) | 0x80 = 0x8b, after the PML4E and PDPTE got their A. Bochs sets A without the check.
    (hand(28, "eptv 0x8b 0x206000 0x8000000000 1100/0000/000", edits=[("pd", 1, 0x6, 0)]),
     "bochs-guest-ad-ignores-ept-write", "ok 0x2000000 1111/0000/000"),
    # Bochs 3: bit 12 of a 2 MiB leaf: SDM misconfiguration; Bochs maps the page as if it were clear.
    (hand(41, "misconfig 0x8000000000 1111/000/000", ept_level=2, edits=[("target", 2, 0, 0x1000)]),
     "bochs-large-leaf-bit12", "ok 0x2000000 1111/000/000"),
    (hand(42, "misconfig 0x8002005000 1111/00/000", gpa=T + SCRATCH + 0x5000, ept_level=3,
          edits=[("target", 3, 0, 0x1000)]),
     "bochs-large-leaf-bit12", "ok 0x2005000 1111/00/000"),
    # Bochs 1: SMAP with RFLAGS.AC = 1, an implicit read of a user page: SDM #PF P (0x1), at CPL 0
    # and at CPL 3 alike; Bochs lets AC lift SMAP for it as for an explicit access.
    (hand(43, "pf 0x1 0x8000000000 0000/0000/000", access="implicit", smap=True, ac=True,
          guest=(0x7, 0x7, 0x7, 0x7)),
     "bochs-smap-implicit-ac", "ok - 1111/0000/000"),
    (hand(44, "pf 0x1 0x8000000000 0000/0000/000", access="implicit", cpl=3, smap=True, ac=True,
          guest=(0x7, 0x7, 0x7, 0x7)),
     "bochs-smap-implicit-ac", "ok - 1111/0000/000"),
]


# --- Seeded random cases.

def random_guest_entry(rng, level, leaf, cpl):
    entry = 0x1 if rng.random() < 0.97 else 0
    entry |= 0x2 if rng.random() < 0.85 else 0
    entry |= 0x4 if rng.random() < (0.85 if cpl == 3 else 0.5) else 0
    if rng.random() < 0.12:
        entry |= 1 << 63  # XD: a rule with EFER.NXE, a reserved bit without
    if rng.random() < 0.02:
        entry |= 1 << rng.randrange(40, 52)  # above MAXPHYADDR: reserved
    if level == 4 and rng.random() < 0.02:
        entry |= 0x80  # PS in a PML4E: reserved
    if level == leaf and level > 1:
        if rng.random() < 0.1:
            entry |= 0x1000  # PAT of a large leaf: not reserved
        if rng.random() < 0.05:
            entry |= 1 << rng.randrange(13, 21 if level == 2 else 30)  # reserved bits of a large leaf
    if rng.random() < 0.1:
        entry |= 0x20  # already accessed
    if level == leaf and rng.random() < 0.05:
        entry |= 0x40  # already dirty
    return entry


def random_ept_leaf(rng):
    rights = rng.choice([7, 7, 7, 7, 1, 3, 5, 4, 0, 2, 6])
    mt = rng.choice([6, 6, 6, 6, 0, 1, 4, 5, 2, 3, 7])
    ipat = 0x40 if rng.random() < 0.2 else 0
    return rights | (mt << 3) | ipat


def random_edits(rng, level, access):
    edits = []
    for lvl in range(4, level, -1):  # the target's non-leaf entries
        r = rng.random()
        if r < 0.04:
            edits.append(("target", lvl, 0, 1 << rng.choice([3, 4, 5, 6] + ([7] if lvl == 4 else []))))
        elif r < 0.10:
            edits.append(("target", lvl, rng.choice([1, 2, 4, 3, 5, 6, 7]), 0))
    if level > 1 and access != "write" and rng.random() < 0.1:
        top = 20 if level == 2 else 29
        edits.append(("target", level, 0, 1 << rng.randrange(12, top + 1)))
    for where in ("pdpt", "pd", "pt"):
        if rng.random() < 0.05:
            edits.append((where, 1, rng.choice([1, 2, 4, 6, 7, 3]), 0))
    return edits


def random_case(rng, id):
    """EPT leaf level and guest leaf level chosen apart (every pair of 4 KiB, 2 MiB
    and 1 GiB); the GVA takes the GPA's bits inside the guest page; CPL, WP,
    NXE, SMEP, SMAP and AC vary per case."""
    access = rng.choice(["read", "read", "write", "fetch", "implicit"])
    level = rng.choice([1, 1, 1, 2, 2, 3])
    guest_level = rng.choice([1, 1, 2, 3])
    cpl = 3 if rng.random() < 0.35 else 0
    if level == 3:
        gpa = T + (rng.randrange(0, 512) << 30) + SCRATCH + (rng.randrange(0, SCRATCH_SIZE_PAGES) << 12)
    else:
        gpa = T + (rng.randrange(0, 1 << 39) & ~0xfff)
    inside = (1 << (12 + 9 * (guest_level - 1))) - 1
    gva = ((T + (rng.randrange(0, 1 << 39) & ~7)) & ~(inside & ~0xfff)) | (gpa & inside & ~0xfff)
    guest = tuple(random_guest_entry(rng, lvl, guest_level, cpl) if lvl >= guest_level else 0
                  for lvl in (4, 3, 2, 1))
    return VmxCase(id=id, gva=gva, gpa=gpa, access=access, ept_ad=rng.random() < 0.5, ept_level=level,
                   guest=guest, ept_leaf=random_ept_leaf(rng), edits=random_edits(rng, level, access),
                   guest_level=guest_level, cpl=cpl, wp=rng.random() < 0.7, nxe=rng.random() < 0.85,
                   smep=rng.random() < 0.4, smap=rng.random() < 0.4, ac=rng.random() < 0.4)


SCRATCH_SIZE_PAGES = bochs_run.SCRATCH_SIZE >> 12


def random_cases(seed, count, first_id):
    rng = random.Random(seed)
    return [random_case(rng, first_id + i) for i in range(count)]


# --- The tests.

def test_hand_cases_follow_the_sdm_in_the_simulator():
    """The simulator gives the hand-derived SDM outcome for every named case."""
    cases = [c for c, _ in HAND] + [p[0][0] for p in PROOF]
    expect = {c.id: e for c, e in HAND}
    expect.update({p[0][0].id: p[0][1] for p in PROOF})
    sim = simulate(cases)
    wrong = [f"case {i}: SDM {expect[i]!r}, simulator {sim[i]!r}" for i in expect if sim[i] != expect[i]]
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def hand_boot():
    cases = [c for c, _ in HAND] + [p[0][0] for p in PROOF]
    boot = Boot(cases)
    boot.check()
    return boot


def test_hand_cases_on_bochs(hand_boot):
    """Bochs gives the hand-derived SDM outcome for every named case that no deviation touches."""
    wrong = [f"case {c.id}: SDM {e!r}, Bochs {hand_boot.outcomes.get(c.id)!r}"
             for c, e in HAND if hand_boot.outcomes.get(c.id) != e]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("proof", PROOF, ids=lambda p: f"{p[1]}-{p[0][0].id}")
def test_bochs_deviation_still_happens(hand_boot, proof):
    """Each listed deviation shows as documented; when Bochs is fixed this fails and its row must go."""
    (case, sdm), dev, observed = proof
    assert dev in listed_deviations(), f"{dev} is not in hw/DEVIATIONS.md"
    assert observed != sdm
    assert hand_boot.outcomes.get(case.id) == observed, \
        f"case {case.id}: SDM {sdm!r}, documented Bochs {observed!r}, now {hand_boot.outcomes.get(case.id)!r}"


def test_image_reports_the_modelled_ept(hand_boot):
    """The CPU model offers what the simulator models (vmx_case_caps in hw/contract/ept_case.c)."""
    assert "vmx: ept maxphyaddr=40 exec_only=1 1g=1 ad=1 5level=0 mbec=0 advexit=0" in hand_boot.text


def coverage_gaps(cases, outcomes):
    """What the random mix failed to reach: a completed access for every pair of
    guest and EPT leaf sizes and at CPL 3, and the guest #PF error codes of
    each rule (U/S, R/W, RSVD, SMEP or XD at CPL 0 and 3, SMAP)."""
    done, codes = set(), set()
    for c in cases:
        words = outcomes.get(c.id, "").split()
        if words and words[0] == "ok":
            done.add((c.guest_level, c.ept_level))
            done.add(("cpl", c.cpl))
        elif words and words[0] == "pf":
            codes.add(int(words[1], 16))
    want = {(g, e) for g in (1, 2, 3) for e in (1, 2, 3)} | {("cpl", 0), ("cpl", 3)}
    return sorted(map(str, want - done)) + [hex(e) for e in sorted({0x1, 0x3, 0x5, 0x7, 0x9, 0x11, 0x15} - codes)]


def test_random_cases_agree_with_the_simulator(capsys):
    """Seeded random cases over EPT rights, memory types, misconfigurations at
    every level, large pages on both stages, A/D on and off, guest-table
    violations, CPL 0 and 3, WP, SMEP, SMAP with AC, NXE and guest reserved
    bits: Bochs and the simulator agree on every one, up to listed deviations."""
    cases = random_cases(SEED, RANDOM_COUNT, 1000)
    boot = Boot(cases)
    boot.check()
    agree, deviations, bad = compare(cases, boot.outcomes)
    unlisted = set(d for key in deviations for d in key.split("+")) - listed_deviations()
    kinds = {}
    for line in boot.outcomes.values():
        kinds[line.split()[0]] = kinds.get(line.split()[0], 0) + 1
    with capsys.disabled():
        print(f"\nbochs-vmx: {len(cases)} random cases in one boot, {boot.seconds:.1f} s wall, {boot.cpu:.1f} s CPU"
              f" ({len(cases) / boot.cpu:.0f} cases per CPU-second with the boot);"
              f" outcomes {dict(sorted(kinds.items()))}; agree {agree}, deviations {deviations}")
    assert not unlisted, f"deviations not in hw/DEVIATIONS.md: {unlisted}"
    assert not bad, f"{len(bad)} unexplained mismatches:\n" + "\n".join(bad[:20])
    assert kinds.get("eptv", 0) and kinds.get("misconfig", 0) and kinds.get("pf", 0) and kinds.get("ok", 0)
    assert not coverage_gaps(cases, boot.outcomes), f"the random mix missed {coverage_gaps(cases, boot.outcomes)}"


def test_bad_blob_fails_clearly():
    """A blob cut inside a case is refused by the image with its offset, and by the simulator."""
    blob = bochs_run.pack([HAND[0][0]])[:-5]
    passed, text, _ = bochs_run.boot(image_path(), blob=blob, timeout=BOOT_TIMEOUT)
    assert passed is False, text
    assert "vmx: blob offset 16: case header cut short" in text
    with tempfile.NamedTemporaryFile(suffix=".blob") as f:
        f.write(blob)
        f.flush()
        proc = subprocess.run([sim_path(), f.name], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "offset 16: case header cut short" in proc.stderr


def bochs_without_its_stdout(tmp_path):
    """A PATH whose bochs is the real one with its standard output thrown away:
    what a driver gets where Bochs's term display owns that output (issue #12
    item 17: without a pseudo-terminal, the first case line was lost among the
    display's escape sequences). Case lines must not travel there."""
    wrapper = tmp_path / "bochs"
    wrapper.write_text(f"#!/bin/sh\nexec {shutil.which('bochs')} \"$@\" >/dev/null\n")
    wrapper.chmod(0o755)
    return f"{tmp_path}:{os.environ['PATH']}"


def test_every_case_line_arrives_whatever_bochs_does_with_its_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", bochs_without_its_stdout(tmp_path))
    cases = [c for c, _ in HAND[:8]]
    boot = Boot(cases)
    boot.check()
    assert sorted(boot.outcomes) == sorted(c.id for c in cases)
    for c, expected in HAND[:8]:
        assert boot.outcomes[c.id] == expected, f"case {c.id}"
