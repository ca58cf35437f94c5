"""Several VMs on one vCPU or hart (a scenario's vms, scenarios/README.md): each further VM has its own
second-stage tables, and a trace switches to them by writing VTTBR_EL2 or hgatp with their root, as
`nestwalk mappings --roots` lists it. The hand-written traces (every expectation derived beside it from the Arm
ARM or the privileged spec) replay green in text and binary: two VMIDs mapping one IPA or GPA to different host
pages, switched back and forth with no invalidation, an s2edit of the running VM only, and a VMID reused for
the other VM's tables without invalidation answering from the old VM's page until TLBI VMALLS12E1 or
HFENCE.GVMA. Without the TLB model only the TLB's answers mismatch. Nothing leaks; bad input is named."""
import json
import os
import pathlib
import re
import subprocess

import pytest

from test_cli import check_top

NESTWALK = os.environ["NESTWALK"]
ROOT = pathlib.Path(os.environ["NESTWALK_SOURCE_ROOT"])
# arch: the scenario, its trace, the root register, VM 1's host page for the shared address (the derivation in
# the trace: `mappings --stage stage2 --vm 1`), the shared address.
CASES = {
    "aarch64": ("arm64_vms.yaml", "arm64_vms.nwt.txt", "vttbr_el2", 0x20695000, 0x40000000),
    "riscv64": ("riscv_vms.yaml", "riscv_vms.nwt.txt", "hgatp", 0x20695000, 0x80000000),
}
STALE = re.compile(r"^expect ([^#]*?)\s+# stale; fresh (.*)$")


def run(*args):
    result = subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert "leaked" not in result.stderr and "Sanitizer" not in result.stderr, result.stderr
    return result


def paths(arch):
    scenario, trace, *_ = CASES[arch]
    return ROOT / "scenarios" / scenario, ROOT / "traces" / trace


def records(trace):
    return [line.split("#", 1)[0].strip() for line in trace.read_text().splitlines()[1:]
            if line.split("#", 1)[0].strip()]


@pytest.mark.parametrize("arch", sorted(CASES))
def test_roots_are_the_values_the_trace_writes(arch):
    scenario, trace = paths(arch)
    reg = CASES[arch][2]
    got = json.loads(run("mappings", scenario, "--roots", "--json").stdout)
    check_top("mappings-roots", got)
    assert [(r["vm"], r["vmid"]) for r in got["roots"]] == [(0, 1), (1, 2)]
    values = [int(r[reg], 16) for r in got["roots"]]
    roots = [int(r["root"], 16) for r in got["roots"]]
    assert roots[0] != roots[1]
    if arch == "aarch64":  # VTTBR_EL2: VMID in bits 63:48, BADDR the root (Arm ARM D19, VTTBR_EL2)
        value = lambda vmid, root: vmid << 48 | root  # noqa: E731
    else:  # hgatp: MODE 8 (Sv39x4) in 63:60, VMID in 57:44, the root's PPN in 43:0 (privileged spec, hgatp)
        value = lambda vmid, root: 8 << 60 | vmid << 44 | root >> 12  # noqa: E731
    assert values == [value(1, roots[0]), value(2, roots[1])]
    # The trace writes exactly these, and VMID 1 with VM 1's root (the reuse).
    written = {int(r.split("=")[1], 16) for r in records(trace) if r.startswith(f"reg {reg}=")}
    assert written == set(values) | {value(1, roots[1])}
    text = run("mappings", scenario, "--roots").stdout.splitlines()
    assert text[1].split()[:3] == ["0", "1", f"0x{roots[0]:016x}"] and text[2].split()[3] == f"{reg}=0x{values[1]:x}"


@pytest.mark.parametrize("arch", sorted(CASES))
def test_each_vm_lists_its_own_second_stage(arch):
    scenario, _ = paths(arch)
    page, shared = CASES[arch][3], CASES[arch][4]
    vm0 = json.loads(run("mappings", scenario, "--stage", "stage2", "--json").stdout)["ranges"]
    vm1 = json.loads(run("mappings", scenario, "--stage", "stage2", "--vm", "1", "--json").stdout)["ranges"]
    # VM 0 passes 2 MiB through (HPA = IPA/GPA, one block or megapage); VM 1 has one allocated 4 KiB page.
    assert [(r["gpa"], r.get("hpa"), r["size"]) for r in vm0] == [(hex(shared), hex(shared), "0x200000")]
    assert [(r["gpa"], r.get("hpa"), r["size"], r["rights"][:2]) for r in vm1] == [(hex(shared), hex(page), "0x1000",
                                                                                     "rw")]
    result = run("mappings", scenario, "--stage", "stage2", "--vm", "2")
    assert result.returncode == 2 and "--vm 2: the scenario has VM 0 and 1 more (vms)" in result.stderr
    result = run("mappings", scenario, "--stage", "guest", "--vm", "1")
    assert result.returncode == 2 and "--vm" in result.stderr


@pytest.mark.parametrize("arch", sorted(CASES))
@pytest.mark.parametrize("form", ["text", "binary"])
def test_switching_vms_replays_green(arch, form, tmp_path):
    scenario, trace = paths(arch)
    recs = records(trace)
    if form == "binary":
        out = tmp_path / "t.nwt"
        assert run("trace", "convert", trace, out, "--to", "binary").returncode == 0
        trace = out
    result = run("replay", scenario, "--trace", trace, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    got = json.loads(result.stdout)
    assert got["mismatches"] == 0 and got["expectations"] == sum(r.startswith("expect ") for r in recs) == 10
    assert got["s2edits"] == 1 and got["register_writes_refused"] == 0


@pytest.mark.parametrize("arch", sorted(CASES))
def test_without_the_tlb_only_its_answers_mismatch(arch, tmp_path):
    scenario, trace = paths(arch)
    page, shared = CASES[arch][3], CASES[arch][4]
    result = run("replay", scenario, "--trace", trace, "--no-tlb")
    assert result.returncode == 1
    # Every answer the trace expects from the TLB (refs 0) walks instead; the VMID reuse's stale page is VM 0's,
    # the tables VM 1's.
    cached = sum(r.startswith("expect ") and "refs=0x0" in r for r in records(trace))
    assert re.search(rf"expectations +10 checked, {cached} mismatched", result.stdout), result.stdout
    assert f"hpa: expected {hex(shared + 0x38)}, got {hex(page + 0x38)}" in result.stdout
    # The fresh values beside the stale expectation are the tables': only the other TLB answers mismatch.
    fresh = tmp_path / "fresh.nwt.txt"
    fresh.write_text("\n".join(("expect " + m.group(2)) if (m := STALE.match(line)) else line
                               for line in trace.read_text().splitlines()) + "\n")
    result = run("replay", scenario, "--trace", fresh, "--no-tlb")
    assert re.search(rf"expectations +10 checked, {cached - 1} mismatched", result.stdout), result.stdout
    assert f"hpa: expected {hex(shared + 0x38)}" not in result.stdout


@pytest.mark.parametrize("arch", sorted(CASES))
def test_hw_run_says_it_probes_the_first_vm_alone(arch):
    """hw run's probes are of the scenario's own second stage, VM 0's region (its first and last word, and one
    address past the input size or the mode's width: 3 addresses, 9 accesses), and it says it leaves VM 1 out;
    QEMU agrees with the library on each."""
    scenario, _ = paths(arch)
    backend = "qemu-aarch64" if arch == "aarch64" else "qemu-riscv64"
    result = run("hw", "run", scenario, "--backend", backend, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"lists 1 further VM(s) (vms); --backend {backend} probes the scenario's own VM (VM 0)" in result.stderr
    got = json.loads(result.stdout)
    assert (got["accesses"], got["run"], got["unexplained"]) == (9, 9, 0)


REFUSED = {
    # VM 1's root with CnP (bit 0) kept, a root no VM has, hgatp in Sv48x4 (MODE 9) over VM 1's root.
    "aarch64": ("nestwalk-trace 2 arch=aarch64\nreg vttbr_el2=0x20000{:08x}\nend\n", 0x1000,
                "names none of the scenario's stage-2 tables"),
    "riscv64": ("nestwalk-trace 2 arch=riscv64\nreg hgatp=0x90002{:011x}\nend\n", 0,
                "no VM of the scenario has that MODE and root"),
}


@pytest.mark.parametrize("arch", sorted(CASES))
def test_a_root_no_vm_has_is_refused(arch, tmp_path):
    scenario, _ = paths(arch)
    got = json.loads(run("mappings", scenario, "--roots", "--json").stdout)["roots"][1]
    text, delta, message = REFUSED[arch]
    root = int(got["root"], 16) + delta if arch == "aarch64" else int(got["root"], 16) >> 12
    trace = tmp_path / "bad.nwt.txt"
    trace.write_text(text.format(root))
    result = run("replay", scenario, "--trace", trace)
    assert result.returncode == 2 and "record 1: " in result.stderr and message in result.stderr, result.stderr


BASE = """arch: aarch64
host: {memory: 2G, seed: 1}
stage2: {format: arm64, vtcr: 0x80023558, vmid: 1}
memory_regions:
  - {gpa: 0x40000000, size: 0x200000, flags: 0x7, type: identical}
"""
BAD = [
    (BASE + "vms:\n  - {memory_regions: []}\n", "7:6: a VM (vms entry) needs vmid and memory_regions"),
    (BASE + "vms:\n  - {vmid: 2, memory_regions: [], root: 0x1000}\n", "7:35: unknown key 'root' in a VM"),
    # VTCR_EL2.VS (bit 19) is 0: 8-bit VMIDs.
    (BASE + "vms:\n  - {vmid: 256, memory_regions: []}\n", "7:12: vmid: 256 does not fit VTTBR_EL2.VMID (8 bits)"),
    # Both VMs given host 0x40000000: a host range is one VM's.
    (BASE + "vms:\n  - vmid: 2\n    memory_regions: [{gpa: 0x40000000, size: 0x1000, flags: 0x3, type: identical}]\n",
     "the host range is outside the simulated host (host.memory) or given to another region"),
    # VTCR_EL2 0x80057554: TG0 0b01, the 64 KiB granule: a VM's regions are in its pages, as the scenario's are.
    (BASE.replace("0x80023558", "0x80057554").replace("0x200000", "0x10000") +
     "vms:\n  - vmid: 2\n    memory_regions: [{gpa: 0x40000000, size: 0x1000, flags: 0x3, type: alloc}]\n",
     "8:23: memory region 0x40000000+0x1000: base and size must be multiples of the second stage's page, 0x10000"),
    ("memory_regions: []\nvms:\n  - {vmid: 2, memory_regions: []}\n",
     "2:1: vms: further VMs are for aarch64 and riscv64 scenarios"),
]


@pytest.mark.parametrize("text, message", BAD, ids=range(len(BAD)))
def test_bad_vms_are_named(text, message, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    result = run("mappings", scenario, "--roots")
    assert result.returncode == 2 and message in result.stderr, result.stderr
