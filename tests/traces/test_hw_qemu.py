"""The bare-metal image under QEMU (TCG, -cpu max): every page-walk case runs on
the emulated MMU and must give the outcome the SDM prescribes (derived by hand
for the named cases, by tests/hw/sdm_model.py for the seeded random ones), or a
deviation listed in hw/DEVIATIONS.md. Four groups share one boot: 4-/5-level
paging on the image's own MMU; PAE and 32-bit paging, run as a 32-bit SVM
guest; and nested paging (hand cases and seeded random ones with nested edits
of the guest tables' pages and of the final page). The image checks its own
frame accounting and exits with a failure status on any leaked frame.
NESTWALK_FULL or NESTWALK_FULL_MATRIX runs the long form of the random sets."""
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "hw"))

import cases as hwcases  # noqa: E402
import sdm_model  # noqa: E402

hw_run = hwcases.hw_run
QEMU = shutil.which("qemu-system-x86_64")
FULL = bool(os.environ.get("NESTWALK_FULL") or os.environ.get("NESTWALK_FULL_MATRIX"))
RANDOM_COUNT = 20000 if FULL else 2000
LEGACY_COUNT = 20000 if FULL else 2000
NPT_COUNT = 30000 if FULL else 3000
SEED = 20261122


def image_path():
    if os.environ.get("NESTWALK_HW_IMAGE"):
        return os.environ["NESTWALK_HW_IMAGE"]
    build = os.path.dirname(os.path.dirname(os.path.abspath(os.environ["NESTWALK"])))
    return os.path.join(build, "hw", "nestwalk-hw.elf")


def simulator_path():
    build = os.path.dirname(os.path.dirname(os.path.abspath(os.environ["NESTWALK"])))
    return os.path.join(build, "sim", "hw", "nestwalk-hw-sim")


def simulate(cases, maxphyaddr=None):
    """The library's walkers on the same blob (sim/hw/sim_cases.c): (status, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases.blob")
        with open(path, "wb") as f:
            f.write(hw_run.pack(hw_run.batch_order(cases)))
        extra = ["--maxphyaddr", str(maxphyaddr)] if maxphyaddr else []
        proc = subprocess.run([simulator_path(), path] + extra, capture_output=True, text=True,
                              timeout=900 if FULL else 120)
    return proc.returncode, proc.stdout, proc.stderr


pytestmark = pytest.mark.usefixtures("qemu")  # conftest.py: required, never skipped


def listed_deviations():
    """Ids in the first column of hw/DEVIATIONS.md's rows for QEMU."""
    with open(os.path.join(ROOT, "hw", "DEVIATIONS.md")) as f:
        return re.findall(r"^\| `([a-z0-9-]+)` \| QEMU", f.read(), re.MULTILINE)


def maxphyaddr_of(text):
    return int(re.search(r"maxphyaddr=(\d+)", text).group(1))


def explain(case, observed, maxphy, deviations):
    """None when observed is the SDM's outcome, else the smallest set of listed
    deviations that accounts for it ("a+b"), else "unexplained"."""
    observed = normalized(observed)
    if observed == sdm_model.expect(case, maxphy):
        return None
    for size in range(1, len(deviations) + 1):
        for quirks in itertools.combinations(sorted(deviations), size):
            if observed == sdm_model.expect(case, maxphy, quirks=set(quirks)):
                return "+".join(quirks)
    return "unexplained"


def assert_clean_run(status, text):
    assert status == hw_run.EXIT_PASS, f"exit status {status}:\n{text[-3000:]}"
    assert "hw: selftest ok" in text
    assert "hw: frames live 0\n" in text, text[-2000:]


def mode_of(case):
    """The group a case counts in: "npt" (nested edits allowed), "pae", "32-bit", or "1-d"."""
    if "npt" in case.flags:
        return "npt"
    if "pae" in case.flags:
        return "pae"
    return "32-bit" if "legacy32" in case.flags else "1-d"


def normalized(outcome):
    """A guest-table #NPF's EXITINFO2 by its offset in the table page: the table's
    address is the image's (or the simulator's) own choice."""
    if outcome and outcome[0] == "npf" and outcome[1] & hwcases.TABLE:
        return (outcome[0], outcome[1], outcome[2] & 0xFFF, outcome[3])
    return outcome


HAND_ALL = hwcases.HAND + hwcases.NPT_HAND + hwcases.LEGACY_HAND + hwcases.NPT_EDIT_HAND


@pytest.fixture(scope="module")
def qemu_run():
    cases = [c for _name, c, _exp in HAND_ALL] + hwcases.random_cases(SEED, RANDOM_COUNT)
    cases += hwcases.random_legacy_cases(SEED + 1, LEGACY_COUNT) + hwcases.random_npt_cases(SEED + 2, NPT_COUNT)
    status, text, seconds, _not_run = hw_run.boot(image_path(), cases, timeout=600 if FULL else 300)
    assert_clean_run(status, text)
    return cases, hw_run.parse_outcomes(text), text, seconds


def test_image_boots_alone_and_its_hal_leaks_nothing():
    status, text, seconds, _not_run = hw_run.boot(image_path(), None, timeout=60)
    assert status == hw_run.EXIT_PASS, text[-2000:]
    assert "hw: selftest ok, frames handed out 68, live 0" in text
    assert "la57=1 smep=1 smap=1 pku=1 nx=1 gbpages=1" in text
    assert "hw: no case blob, nothing to run" in text
    print(f"boot to exit: {seconds:.3f} s")


def test_hand_derived_expectations_are_what_the_model_says():
    for name, case, expected in HAND_ALL:
        assert sdm_model.expect(case) == expected, name


def test_hand_cases_on_qemu(qemu_run):
    _cases, observed, text, _s = qemu_run
    maxphy = maxphyaddr_of(text)
    deviations = listed_deviations()
    for name, case, expected in hwcases.HAND:
        got = observed.get(case.id)
        assert got is not None, f"{name}: no outcome"
        why = explain(case, got, maxphy, deviations)
        assert why != "unexplained", f"case {case.id} {name}: QEMU gave {got}, the SDM says {expected}"


def test_nested_paging_cases_on_qemu_svm(qemu_run):
    cases, observed, text, _s = qemu_run
    assert "svm-npt=1" in text
    nested = [c for c in cases if mode_of(c) != "1-d"]
    assert f"hw: nested-paging cases {len(nested)}\n" in text
    assert f"hw: legacy-mode cases {sum(1 for c in nested if 'pae' in c.flags or 'legacy32' in c.flags)}\n" in text
    for name, case, expected in hwcases.NPT_HAND:
        got = normalized(observed.get(case.id))
        assert got == expected, f"case {case.id} {name}: QEMU gave {got}, the APM says {expected}"


def test_pae_32bit_and_nested_edit_hand_cases_on_qemu_svm(qemu_run):
    _cases, observed, text, _s = qemu_run
    maxphy = maxphyaddr_of(text)
    deviations = listed_deviations()
    for name, case, expected in hwcases.LEGACY_HAND + hwcases.NPT_EDIT_HAND:
        got = observed.get(case.id)
        assert got is not None, f"{name}: no outcome"
        why = explain(case, got, maxphy, deviations)
        assert why != "unexplained", f"case {case.id} {name}: QEMU gave {got}, the SDM says {expected}"


def test_random_cases_on_qemu_agree_with_the_sdm(qemu_run):
    cases, observed, text, seconds = qemu_run
    maxphy = maxphyaddr_of(text)
    deviations = listed_deviations()
    counts, kinds, unexplained = {}, {}, []
    for case in cases:
        got = observed.get(case.id)
        why = explain(case, got, maxphy, deviations) if got else "unexplained"
        mode = mode_of(case)
        counts.setdefault(mode, {})
        counts[mode][why] = counts[mode].get(why, 0) + 1
        kinds.setdefault(mode, {})
        kinds[mode][got[0] if got else None] = kinds[mode].get(got[0] if got else None, 0) + 1
        if why == "unexplained":
            unexplained.append((case, got, sdm_model.expect(case, maxphy)))
    print(f"{len(cases)} cases in one boot of {seconds:.2f} s ({len(cases) / seconds:.0f} cases/s)")
    for mode in counts:
        print(f"  {mode}: {sum(counts[mode].values())} cases; outcomes {kinds[mode]}; explanations {counts[mode]}")
    assert not unexplained, "\n".join(f"{c}\n  observed {g}\n  SDM      {e}" for c, g, e in unexplained[:10])
    for mode in ("1-d", "pae", "32-bit"):
        total = sum(kinds[mode].values())
        assert kinds[mode].get("ok", 0) > total // 10 and kinds[mode].get("pf", 0) > total // 10, mode
    npt = kinds["npt"]
    assert min(npt.get("ok", 0), npt.get("pf", 0), npt.get("npf", 0)) > sum(npt.values()) // 10, npt
    built = int(re.search(r"hw: built by the library (\d+)", text).group(1))
    assert built > len(cases) // 2, "most cases should be one well-formed path the library builder makes"


# Where the library's walker and QEMU's SVM differ without either deviating from
# the manuals: (case, simulator, QEMU). None since the nested walk treats guest
# page-table accesses as writes, as QEMU and KVM do. Every other case must give
# the model's outcome in the simulator, and the simulator's or a listed
# deviation's on QEMU, whatever its group (1-D, PAE, 32-bit, nested).
LIBRARY_DISAGREEMENTS = set()


def test_simulator_agrees_with_the_sdm_and_with_qemu(qemu_run):
    cases, observed, text, _s = qemu_run
    maxphy = maxphyaddr_of(text)
    deviations = listed_deviations()
    status, out, err = simulate(cases)
    assert status == 0, err + out[-2000:]
    assert f"hw-sim: cases {len(cases)}, walker disagreements 0, frames live 0" in out
    simulated = hw_run.parse_outcomes(out)
    same, explained, known, wrong = 0, 0, 0, []
    for case in cases:
        sim, qemu = normalized(simulated.get(case.id)), normalized(observed.get(case.id))
        if (case.id, sim, qemu) in LIBRARY_DISAGREEMENTS:
            known += 1
        elif sim != sdm_model.expect(case, maxphy):
            wrong.append(("simulator", case, sim, sdm_model.expect(case, maxphy)))
        elif qemu == sim:
            same += 1
        elif explain(case, qemu, maxphy, deviations) not in (None, "unexplained"):
            explained += 1
        else:
            wrong.append(("qemu", case, qemu, sim))
    print(f"simulator vs QEMU: {same} identical, {explained} differ by a listed deviation, "
          f"{known} by a known library disagreement")
    assert known == len(LIBRARY_DISAGREEMENTS)
    assert not wrong, "\n".join(f"{who}: {c}\n  got  {g}\n  want {w}" for who, c, g, w in wrong[:10])


def test_simulator_rejects_a_malformed_blob_with_its_offset():
    bad = hwcases.path_case(8, hwcases.G4, [hwcases.ALL] * 4)
    bad.entries.append((3, 600, hwcases.ALL, None))  # index past 511
    status, _out, err = simulate([bad])
    assert status == 2
    assert "case #0 at offset 0x10: entry field out of range" in err


@pytest.mark.parametrize("mutate, why", [
    (lambda c: c.entries.__setitem__(0, (0, 2, hwcases.ALL | (1 << 32), 1)),
     "a 32-bit paging entry with bits above 31"),
    (lambda c: setattr(c, "flags", c.flags | {"pae"}), "both PAE and 32-bit paging"),
    (lambda c: setattr(c, "flags", frozenset({"pse", "pae"})), "CR4.PSE without 32-bit paging"),
    (lambda c: setattr(c, "gva", c.gva | (1 << 32)), "a legacy-mode GVA above 4 GiB"),
    (lambda c: setattr(c, "access", "implicit"), "an implicit access in a nested-paging or legacy-mode case"),
    (lambda c: c.entries.__setitem__(0, (0, 1, hwcases.ALL, 1)),
     "entry in a top-level slot the image keeps for itself"),
    (lambda c: c.entries.append((hwcases.NPT_EDIT, 1, hwcases.P, 0)),
     "a nested-paging edit in a case without nested paging"),
])
def test_simulator_rejects_a_malformed_legacy_case(mutate, why):
    bad = hwcases.legacy_case(9, hwcases.CONSTS["G32"], [hwcases.ALL, hwcases.ALL], "legacy32")
    mutate(bad)
    status, _out, err = simulate([bad])
    assert status == 2
    assert f"case #0 at offset 0x10: {why}" in err


# Each deviation and the case that shows it still happens: a fixed emulator fails here.
PROOF = {
    "rsvd-without-p": 6,
    "smap-implicit-ac": 14,
    "gb-leaf-accessed-early": 41,
    "pae-pdpte-walked": 627,
}


# Proven at MAXPHYADDR 36 (test_pse36_at_maxphyaddr_36).
PROOF_36 = {"pse36-above-maxphyaddr": 801}


def test_every_listed_deviation_still_happens(qemu_run):
    _cases, observed, text, _s = qemu_run
    maxphy = maxphyaddr_of(text)
    hand = {case.id: case for _n, case, _e in HAND_ALL}
    assert sorted(listed_deviations()) == sorted(list(PROOF) + list(PROOF_36))
    for dev, cid in PROOF.items():
        case = hand[cid]
        sdm = sdm_model.expect(case, maxphy)
        quirk = sdm_model.expect(case, maxphy, quirks={dev})
        assert sdm != quirk
        assert observed[cid] == quirk, f"{dev}: case {cid} now gives {observed[cid]} (SDM {sdm}); update DEVIATIONS.md"


def test_pse36_at_maxphyaddr_36():
    """-cpu max,phys-bits=36: the simulator (--maxphyaddr 36) gives Table 4-4's
    outcomes, QEMU those or a listed deviation; the PSE-36 one is proven here."""
    cases = [c for _n, c, _e in hwcases.PSE36_AT_36]
    status, text, _s, _nr = hw_run.boot(image_path(), cases, timeout=60, cpu="max,phys-bits=36")
    assert_clean_run(status, text)
    assert maxphyaddr_of(text) == 36
    observed = hw_run.parse_outcomes(text)
    status, out, err = simulate(cases, maxphyaddr=36)
    assert status == 0, err + out[-2000:]
    simulated = hw_run.parse_outcomes(out)
    deviations = listed_deviations()
    for name, case, expected in hwcases.PSE36_AT_36:
        assert sdm_model.expect(case, 36) == expected, name
        assert simulated[case.id] == expected, f"{name}: simulator gave {simulated[case.id]}"
        why = explain(case, observed[case.id], 36, deviations)
        assert why != "unexplained", f"{name}: QEMU gave {observed[case.id]}, the SDM says {expected}"
    for dev, cid in PROOF_36.items():
        case = next(c for _n, c, _e in hwcases.PSE36_AT_36 if c.id == cid)
        sdm, quirk = sdm_model.expect(case, 36), sdm_model.expect(case, 36, quirks={dev})
        assert sdm != quirk
        assert observed[cid] == quirk, f"{dev}: case {cid} now gives {observed[cid]} (SDM {sdm}); update DEVIATIONS.md"


def test_a_malformed_blob_is_rejected_with_its_offset():
    bad = hwcases.path_case(7, hwcases.G4, [hwcases.ALL] * 4)
    bad.entries.append((0, 1, hwcases.ALL, None))  # PML4 slot 1 is the image's direct map
    good = hwcases.path_case(6, hwcases.G4, [hwcases.ALL] * 4)
    status, text, _s, _nr = hw_run.boot(image_path(), [good, bad], timeout=60)
    assert status == hw_run.EXIT_BAD_BLOB, text[-2000:]
    # The good case (24 + 4*16 bytes after the 16-byte header) ran; the bad one starts at 0x68.
    assert "c 6 ok 0x2003010 1111" in text
    assert "hw: bad case blob: case #1 at offset 0x68: entry in a top-level slot the image keeps for itself" in text
    assert "hw: frames live 0\n" in text


FAKE_KVM_QEMU = """#!/bin/sh
# Boot 1 stops in case 6 as QEMU does after a KVM internal error: its report on
# stderr, then paused (here: asleep) for good. Boot 2 runs the rest.
n=$(cat "$DIR/boots" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$DIR/boots"
while [ $# -gt 0 ]; do [ "$1" = -initrd ] && cp "$2" "$DIR/blob.$n"; shift; done
if [ $n = 1 ]; then
  printf 'hw: cpu maxphyaddr=40\\nc 5 ok 0x2003010 1111\\nc 6'
  printf 'KVM internal error. Suberror: 1\\nextra data[0]: 0x1\\nemulation failure\\n' >&2
  printf 'RAX=0000000000000001 RBX=0000008000403380\\nRIP=0000000000104177 RFL=00000002\\n' >&2
  exec sleep 600
fi
printf 'hw: cpu maxphyaddr=40\\nc 7 ok 0x2003010 1111\\nhw: frames live 0\\n'
exit 33
"""


def test_a_kvm_internal_error_stops_the_boot_and_the_next_starts_after_the_case(tmp_path, monkeypatch):
    """QEMU pauses the VM after a KVM internal error and waits (issue #12 item A:
    the KVM tests hung until their timeout). tools/hw-run must stop that boot
    as soon as the report ends, name the case the image left without an outcome
    ("c 6"), and boot again with the cases after it. A stand-in QEMU plays both
    boots, so this holds on any host."""
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text(FAKE_KVM_QEMU)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv("DIR", str(tmp_path))
    cases = [hwcases.path_case(cid, hwcases.G4, [hwcases.ALL] * 4) for cid in (5, 6, 7)]
    status, text, seconds, not_run = hw_run.boot(image_path(), cases, accel="kvm", timeout=60)
    assert status == hw_run.EXIT_PASS
    assert seconds < 10, f"{seconds:.1f} s: the paused boot was not stopped at the end of QEMU's report"
    assert not_run == {6: "KVM internal error (host KVM could not emulate the instruction at RIP 0x104177)"}
    assert sorted(hw_run.parse_outcomes(text)) == [5, 7]
    # Boot 2's blob holds case 7 alone: a 16-byte header, then one case (24 bytes) with its 4 entries (16 each).
    assert (tmp_path / "boots").read_text() == "2\n"
    blob = (tmp_path / "blob.2").read_bytes()
    assert len(blob) == 16 + 24 + 4 * 16 and int.from_bytes(blob[16:20], "little") == 7


def host_maxphyaddr():
    """The host's MAXPHYADDR, which KVM's -cpu host passes on (/proc/cpuinfo "address sizes")."""
    with open("/proc/cpuinfo") as f:
        return int(re.search(r"address sizes\s*:\s*(\d+) bits physical", f.read()).group(1))


def kvm_deviations():
    """Ids of hw/DEVIATIONS.md's rows for KVM."""
    with open(os.path.join(ROOT, "hw", "DEVIATIONS.md")) as f:
        return re.findall(r"^\| `([a-z0-9-]+)` \| KVM", f.read(), re.MULTILINE)


# Where the row shows on this host: kvm_pvm, a paravirtual KVM whose guests run on shadow page tables.
KVM_PROOF = {"kvm-shadow-ad-on-success": 3}  # "PTE not present, user write": SDM A/D 1110, observed 0000
SHADOW_PAGING_KVM = os.path.exists("/sys/module/kvm_pvm")


def test_kvm_runs_the_hand_cases_where_it_exists():
    """Every hand case KVM can run gives the SDM's outcome or a KVM row's; a case
    the host cannot run is named with why (a KVM internal error stops a boot,
    the next starts after the case; a refused return from CPL 3), and the rest
    of the cases still run and are compared."""
    if not os.path.exists("/dev/kvm"):
        pytest.skip("/dev/kvm is absent: no KVM run on this host (the TCG runs above still check every case)")
    maxphy = host_maxphyaddr()
    # The hand outcomes are derived at MAXPHYADDR 40; those that change at the host's test other address bits.
    hand = [(n, c, e) for n, c, e in hwcases.HAND if sdm_model.expect(c, maxphy) == e]
    assert len(hand) >= 30
    status, text, _s, not_run = hw_run.boot(image_path(), [c for _n, c, _e in hand], accel="kvm", timeout=60)
    assert_clean_run(status, text)
    assert maxphyaddr_of(text) == maxphy
    observed = hw_run.parse_outcomes(text)
    deviations, compared, limited = kvm_deviations(), 0, 0
    for name, case, expected in hand:
        if case.id in not_run:
            assert not_run[case.id].startswith("KVM internal error (host KVM could not emulate"), not_run[case.id]
            assert case.id not in observed, f"case {case.id} {name} was not run yet has an outcome"
            limited += 1
            continue
        got = observed[case.id]
        if got[0] == "unsupported" or hw_run.ring3_return_refused(case, got):
            limited += got[0] != "unsupported"
            continue
        why = explain(case, got, maxphy, deviations)
        assert why != "unexplained", f"case {case.id} {name}: KVM gave {got}, SDM {expected}"
        compared += 1
    print(f"KVM: {compared} of {len(hand)} hand cases compared, {limited} not run by a host limitation")
    if compared == 0:
        pytest.skip(f"host KVM ran none of the {len(hand)} hand cases to an outcome ({limited} host limitations, "
                    f"the rest unsupported features)")
    for dev, cid in KVM_PROOF.items():
        case = next(c for _n, c, _e in hand if c.id == cid)
        quirk = sdm_model.expect(case, maxphy, quirks={dev})
        assert quirk != sdm_model.expect(case, maxphy)
        if SHADOW_PAGING_KVM:
            assert observed[cid] == quirk, f"{dev}: case {cid} now gives {observed[cid]}; update DEVIATIONS.md"
