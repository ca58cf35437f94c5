"""The VMX image under Bochs (corei7_skylake_x): a minimal hypervisor built
from lib/ runs EPT cases in its guest, and every observed outcome (EPT
violation with its exit qualification, guest-physical and guest-linear
address; EPT misconfiguration; intercepted guest #PF; completed access with
where it landed; guest and EPT accessed/dirty flags read back) must equal the
simulator's answer for the same case (nestwalk-vmx-sim, the library's reference
walker on simulated memory) or a Bochs deviation listed in hw/DEVIATIONS.md.
The named cases, the group ept-vmx of tests/cases/x86_paging.cases, also carry
their outcome derived by hand from the SDM.

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
sys.path.insert(0, os.path.join(ROOT, "tests", "cases"))
import case_file  # noqa: E402
import ept_vmx  # noqa: E402

FULL = bool(os.environ.get("NESTWALK_FULL") or os.environ.get("NESTWALK_FULL_MATRIX"))
RANDOM_COUNT = 50000 if FULL else 6000
SEED = 20261122
BOOT_TIMEOUT = 600 if FULL else 120

T = bochs_run.TARGET_BASE
SCRATCH = bochs_run.SCRATCH_BASE


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


# --- Hand-written cases, each with its outcome derived from the SDM: the group ept-vmx of the case file
# (tests/cases/x86_paging.cases, which gives the derivations; tests/cases/README.md the format), read as the
# image's cases by tests/cases/ept_vmx.py. The C unit test (tests/unit/test_cases.c) walks the same cases.

def file_cases():
    """(VmxCase, the line the image prints when it follows the SDM) of every case of the group ept-vmx."""
    return [(VmxCase(**ept_vmx.vmx_fields(c)), ept_vmx.outcome_line(c)) for c in case_file.read()[0]
            if c.group == "ept-vmx"]


# The deviations' proofs: cases of the file whose SDM outcome Bochs 2.7 does not give, with what it does instead.
BOCHS_DOES = {
    # Bochs 2: EPT A/D on, read-only guest PT page: SDM R|W (0x3) | R (0x8) | 0x80 = 0x8b; Bochs 0x8a.
    40: ("bochs-ept-ad-table-read", "eptv 0x8a 0x207000 0x8000000000 0000/0000/330"),
    # Bochs: EPT A/D off, read-only guest PD page: the SDM's violation on setting the PDE's A (case 28's
    # derivation); Bochs sets A without the EPT write check.
    28: ("bochs-guest-ad-ignores-ept-write", "ok 0x2000000 1111/0000/000"),
    # Bochs 3: bit 12 of a 2 MiB / 1 GiB leaf: SDM misconfiguration; Bochs maps the page as if it were clear.
    41: ("bochs-large-leaf-bit12", "ok 0x2000000 1111/000/000"),
    42: ("bochs-large-leaf-bit12", "ok 0x2005000 1111/00/000"),
    # Bochs 1: SMAP with RFLAGS.AC = 1, an implicit read of a user page: SDM #PF P (0x1), at CPL 0 and at
    # CPL 3 alike; Bochs lets AC lift SMAP for it as for an explicit access.
    43: ("bochs-smap-implicit-ac", "ok - 1111/0000/000"),
    44: ("bochs-smap-implicit-ac", "ok - 1111/0000/000"),
}
HAND = [(c, e) for c, e in file_cases() if c.id not in BOCHS_DOES]
PROOF = [((c, e),) + BOCHS_DOES[c.id] for c, e in file_cases() if c.id in BOCHS_DOES]


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
