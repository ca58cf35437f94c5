"""The QEMU recorder plugin (recorder/, README "Recording a guest") on the
bare-metal image (hw/), booted as tools/hw-run boots it (multiboot -kernel,
isa-debug-exit) under TCG with its RAM in a memfd. Each recording is bounded
(a limit, or the image's own end: under a million accesses, about a second).

What the image does is known from its source, so every recorded address can
be checked by hand:
- Multiboot enters hw_start in 32-bit protected mode with paging off (Multiboot
  0.6.96 §3.2: CR0.PG cleared), so there a linear address is the physical one
  (SDM Vol. 3A §4.1.1: paging disabled, linear = physical).
- hw/boot.S then turns on 4-level paging over its boot map: PML4[0] maps 0..4 GiB
  onto itself with 2 MiB pages, PML4[1] (0x8000000000, HW_DIRECT_MAP_BASE) the same
  4 GiB again, and it never loads another CR3 unless a case blob is given (none
  here). So every access has gpa = gva below 4 GiB, gpa = gva - 0x8000000000 in the
  direct map, and nothing else.
- The image never touches its user page (0x400000..0x5fffff) without cases, so it
  runs at CPL 0 throughout: every access is recorded at cpl 0 (QEMU's supervisor
  MMU indexes; fetches supervisor from reset, as no instruction leaves it).
  test_record_linux.py records user mode."""
import os
import re
import shutil
import struct
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..",
                                                                                   "..")), "tests", "hw"))
import cases as hwcases  # noqa: E402

NESTWALK = os.environ["NESTWALK"]
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(NESTWALK)))
PLUGIN = os.environ.get("NESTWALK_RECORDER", os.path.join(BUILD, "recorder", "nestwalk-recorder.so"))
IMAGE = os.environ.get("NESTWALK_HW_IMAGE", os.path.join(BUILD, "hw", "nestwalk-hw.elf"))
IMAGE64 = os.path.join(os.path.dirname(IMAGE), "nestwalk-hw.elf64")
DIRECT_MAP = 0x8000000000  # hw/contract/layout.h HW_DIRECT_MAP_BASE
FOUR_G = 1 << 32
RAM = "256M"
EXIT_PASS = (0x10 << 1) | 1  # isa-debug-exit status of HW_EXIT_PASS

pytestmark = pytest.mark.usefixtures("qemu")  # conftest.py: required, never skipped


@pytest.fixture(scope="module")
def symbols():
    """The image's symbols: hw_start, long_entry, hw_bss_start, hw_boot_stack_top."""
    out = subprocess.run([shutil.which("nm") or "nm", IMAGE64], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 3:
            table[words[2]] = int(words[0], 16)
    return table


def test_the_plugin_needs_nothing_of_the_library():
    # QEMU loads the plugin alone: it links the trace writer's plain build, which may use the library's inline
    # helpers only. A library function it calls stays an undefined symbol that breaks loading under immediate
    # binding (nw_tlbi_name did, when the writer learnt the AArch64 TLBI records).
    out = subprocess.run([shutil.which("nm") or "nm", "-D", "--undefined-only", PLUGIN], capture_output=True,
                         text=True, check=True).stdout
    assert [line.split()[-1] for line in out.splitlines() if line.split()[-1].startswith("nw_")] == []


def record(tmp_path, name, args, memfd=True, dfilter=None, blob=None):
    """Boots the image with the plugin writing tmp_path/name; (exit status, stderr, QEMU's plugin log). With
    dfilter, QEMU also logs the CPU state at those addresses (-d cpu -dfilter) and the plugin reads it (regs=);
    with blob, the image runs its cases (tools/hw-run's module)."""
    log = tmp_path / (name.replace("/", "_") + ".log")
    plugin = ",".join([PLUGIN, f"out={tmp_path / name}", f"ram={RAM}"] + args +
                      ([f"regs={log}"] if dfilter is not None else []))
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-nographic", "-no-reboot", "-m", RAM,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", IMAGE,
           "-plugin", plugin, "-d", "plugin" if dfilter is None else "plugin,cpu", "-D", str(log)]
    if dfilter is not None:
        cmd += ["-dfilter", dfilter]
    if blob is not None:
        cmd += ["-initrd", str(blob)]
    if memfd:
        cmd += ["-object", f"memory-backend-memfd,id=ram,size={RAM}", "-machine", "memory-backend=ram"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stderr, log.read_text() if log.exists() else ""


def records(path, writes=None, regs=None):
    """[(gva, size, type, cpl, outcome or None, gpa or None)] of a trace, read back by nestwalk trace convert;
    its gpwrites appended to writes as (index of the access before, gpa, bytes), none allowed without it; its reg
    records to regs as (index of the access after, register, value), none allowed without it."""
    text = subprocess.run([NESTWALK, "trace", "convert", str(path), "-", "--to", "text"], capture_output=True,
                          text=True, check=True).stdout
    out = []
    for line in text.splitlines()[1:]:
        words = line.split()
        fields = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        if words[0] == "access":
            out.append([int(fields["gva"], 16), int(fields["size"], 16), fields["type"], int(fields["cpl"], 16),
                        None, None])
        elif words[0] == "expect":
            out[-1][4], out[-1][5] = fields["outcome"], int(fields["gpa"], 16)
        elif words[0] == "gpwrite" and writes is not None:
            writes.append((len(out) - 1, int(fields["gpa"], 16), bytes.fromhex(fields["bytes"])))
        elif words[0] == "reg" and regs is not None:
            (name, value), = fields.items()
            regs.append((len(out), name, int(value, 16)))
        else:
            assert words[0] == "end", line
    return [tuple(r) for r in out]


def stats(path):
    proc = subprocess.run([NESTWALK, "trace", "stats", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def boot_map_gpa(gva):
    """The boot map's translation (module docstring): identity below 4 GiB, the direct map above."""
    if gva < FOUR_G:
        return gva
    assert DIRECT_MAP <= gva < DIRECT_MAP + FOUR_G, hex(gva)
    return gva - DIRECT_MAP


def test_every_access_from_the_entry_has_the_boot_maps_gpa(tmp_path, symbols):
    status, err, log = record(tmp_path, "boot.nwt.zst", [f"trigger_gva={symbols['hw_start']:#x}",
                                                          "limit=300000"])
    assert status == EXIT_PASS, err
    assert "300000 accesses" in log and "limit reached" in log and "0 without a known guest-physical" in log, log
    st = stats(tmp_path / "boot.nwt.zst")
    assert "(binary, zstd)" in st and re.search(r"access +300000\b", st) and re.search(r"expect +300000\b", st), st
    recs = records(tmp_path / "boot.nwt.zst")
    assert len(recs) == 300000
    # The trigger: the first access is the fetch of the entry point (paging off: gpa = gva).
    assert recs[0][0] == symbols["hw_start"] and recs[0][2] == "fetch" and recs[0][5] == symbols["hw_start"]
    # boot.S clears .bss with rep stosl from hw_bss_start up: the first store, 4 bytes, paging still off.
    first_write = next(r for r in recs if r[2] == "write")
    assert first_write == (symbols["hw_bss_start"], 4, "write", 0, "ok", symbols["hw_bss_start"])
    # call hw_main, in long mode: the return address pushed at hw_boot_stack_top - 8 through the identity map.
    push = symbols["hw_boot_stack_top"] - 8
    assert (push, 8, "write", 0, "ok", push) in recs
    for gva, size, kind, cpl, outcome, gpa in recs:
        assert cpl == 0 and outcome == "ok", (hex(gva), kind, outcome)
        assert gpa == boot_map_gpa(gva), (hex(gva), kind, hex(gpa))
    direct = [r for r in recs if r[0] >= DIRECT_MAP]
    assert direct, "no access through the direct map: the second half of the check never ran"
    kinds = {r[2] for r in recs}
    assert kinds == {"fetch", "read", "write"}, kinds


def test_fetches_once_per_block_or_for_each_instruction(tmp_path, symbols):
    entry = symbols["hw_start"]
    _, err, _ = record(tmp_path, "insn.nwt", [f"trigger_gva={entry:#x}", "limit=4", "fetch=insn",
                                              "compress=none"])
    insn = records(tmp_path / "insn.nwt")
    # hw_start: cli (FA), cld (FC), mov $hw_boot_stack_top, %esp (BC id), cmp $0x2badb002, %eax (3D id):
    # 1, 1, 5 and 5 bytes (SDM Vol. 2, the opcode tables), no memory operand among them.
    assert [(r[0] - entry, r[1], r[2]) for r in insn] == [(0, 1, "fetch"), (1, 1, "fetch"), (2, 5, "fetch"),
                                                           (7, 5, "fetch")], err
    assert all(r[5] == r[0] for r in insn)
    _, err, _ = record(tmp_path, "block.nwt", [f"trigger_gva={entry:#x}", "limit=2", "format=text",
                                               "compress=none"])
    with open(tmp_path / "block.nwt") as f:
        assert f.readline() == "nestwalk-trace 1\n"
    block = records(tmp_path / "block.nwt")
    # The block runs from the entry to the jne after the cmp (one page): its first fetch alone, then the next
    # block's, which starts after that branch, past the four instructions above.
    assert block[0][:3] == (entry, 1, "fetch") and block[1][2] == "fetch" and block[1][0] > entry + 12, block


def test_trigger_count_skips_and_the_limit_stops(tmp_path):
    # From reset: the first fetch is at linear 0xfffffff0 (SDM Vol. 3A §9.1.4: CS base 0xffff0000, EIP 0xfff0),
    # the BIOS ROM, a RAM block of QEMU's other than the guest's RAM: its guest-physical address is not known,
    # so the access has no expectation.
    status, err, log = record(tmp_path, "reset.nwt.zst", ["limit=6"])
    assert status == EXIT_PASS, err
    whole = records(tmp_path / "reset.nwt.zst")
    assert len(whole) == 6 and whole[0] == (0xfffffff0, 5, "fetch", 0, None, None), whole
    # The BIOS reads its own data next: 0xf0000..0xfffff is the BIOS ROM at reset (the i440FX's PAM registers
    # reset to 0: reads there go to ROM, not RAM), which QEMU reports past the RAM: no expectation either.
    reads = [r for r in whole if r[2] == "read"]
    assert reads and all(0xf0000 <= r[0] < 0x100000 and r[4:] == (None, None) for r in reads), whole
    assert "6 accesses" in log and "after 0 skipped, limit reached" in log, log
    _, err, log = record(tmp_path, "skip.nwt.zst", ["trigger_count=2", "limit=4"])
    assert records(tmp_path / "skip.nwt.zst") == whole[2:], err
    assert "4 accesses" in log and "after 2 skipped, limit reached" in log, log


def test_without_a_memfd_fetches_have_no_gpa_but_data_do(tmp_path, symbols):
    # regs=: the firmware's IRETs and far RETs run in real-address mode, where none changes the privilege; the
    # stack they pop CS from cannot be read without the memfd.
    _, err, log = record(tmp_path, "anon.nwt.zst", [f"trigger_gva={symbols['hw_start']:#x}", "limit=3000"],
                         memfd=False, dfilter=",".join(scan_writers(tmp_path)))
    recs = records(tmp_path / "anon.nwt.zst", regs=[])
    assert len(recs) == 3000, err
    fetches = [r for r in recs if r[2] == "fetch"]
    assert fetches and all(r[5] is None for r in fetches)
    assert all(r[5] == r[0] for r in recs if r[2] != "fetch")
    assert all(r[3] == 0 for r in recs)
    assert f"{len(fetches)} without a known guest-physical address" in log, log


def test_a_privilege_not_known_stops_the_recording(tmp_path, symbols):
    # Without regs= the recorder does not know the firmware runs in real-address mode, and without the memfd it
    # cannot read the CS the firmware's first IRET pops: it cannot tell that the
    # privilege stayed supervisor, and says so at the first access it would record, rather than write cpl 0.
    status, err, _ = record(tmp_path, "unknown.nwt.zst", [f"trigger_gva={symbols['hw_start']:#x}"], memfd=False)
    assert status == EXIT_PASS, err
    assert re.search(rf"the privilege of access 0 \(a fetch at gva {symbols['hw_start']:#x}\) is not known: the "
                     r"instruction at gva 0x[0-9a-f]+ may have left supervisor mode, and without regs=LOG the guest's "
                     r"tables cannot be read \(no trace written\)", err), err
    assert not (tmp_path / "unknown.nwt.zst").exists()


def test_mmio_has_its_guest_physical_address(tmp_path):
    # The BIOS enables the local APIC through its spurious-interrupt vector register, at 0xfee000f0: the APIC's
    # default base 0xfee00000 (SDM Vol. 3A §11.4.1) plus the register's offset 0xf0 (Table 11-1). The BIOS runs
    # with paging off (linear = physical), so that is the address the plugin must report, as MMIO.
    status, err, log = record(tmp_path, "apic.nwt.zst", ["trigger_gva=0xfee000f0", "limit=2"])
    assert status == EXIT_PASS, err
    recs = records(tmp_path / "apic.nwt.zst")
    assert recs[0] == (0xfee000f0, 4, "read", 0, "mmio", 0xfee000f0), recs
    assert "to MMIO" in log and " 0 to MMIO" not in log, log


def test_store_bytes_are_the_boot_maps_entries(tmp_path, symbols):
    # store_bytes=on: each store to RAM is followed by the bytes it left. boot.S writes its boot map with 4-byte
    # stores after clearing .bss: PDE i = (i << 21) | P | RW | PS (0x83), US (0x4) added for the user page at
    # 4 MiB (i = 2); PDPTE j = hw_boot_pd + j * 4 KiB | P | RW | US; PML4E 0 = hw_boot_pdpt | P | RW | US and
    # PML4E 1 = hw_boot_pdpt | P | RW. The last bytes stored at each entry must be those.
    status, err, log = record(tmp_path, "stores.nwt.zst", [f"trigger_gva={symbols['hw_start']:#x}",
                                                            "store_bytes=on", "limit=80000"])
    assert status == EXIT_PASS, err
    writes = []
    recs = records(tmp_path / "stores.nwt.zst", writes)
    stores = [i for i, r in enumerate(recs) if r[2] == "write"]
    assert [w[0] for w in writes] == stores, "a gpwrite after each store, and only there"
    for index, gpa, data in writes:
        assert gpa == recs[index][5] and len(data) == recs[index][1], (index, hex(gpa))
    assert f"{len(stores)} stores' bytes (0 cut at the end of their page, 0 unreadable" in log, log
    last = {gpa: data for _, gpa, data in writes}
    pd, pdpt, pml4 = symbols["hw_boot_pd"], symbols["hw_boot_pdpt"], symbols["hw_boot_pml4"]
    for i in range(2048):
        assert last[pd + 8 * i] == ((i << 21) | 0x83 | (0x4 if i == 2 else 0)).to_bytes(4, "little"), i
    for j in range(4):
        assert last[pdpt + 8 * j] == (pd + 0x1000 * j | 0x7).to_bytes(4, "little"), j
    assert last[pml4] == (pdpt | 0x7).to_bytes(4, "little") and last[pml4 + 8] == (pdpt | 0x3).to_bytes(4, "little")


def test_store_bytes_need_a_memfd(tmp_path, symbols):
    status, err, _ = record(tmp_path, "nomemfd.nwt.zst", ["store_bytes=on", "limit=10"], memfd=False)
    assert status == EXIT_PASS, err
    assert "store_bytes=on reads guest RAM through its memfd" in err and "(no trace written)" in err, err
    assert not (tmp_path / "nomemfd.nwt.zst").exists()


def scenario(tmp_path, trace):
    """The boot map (module docstring) as a scenario: 2 MiB pages, the user page at 4 MiB, both windows."""
    lines = ["memory_regions:", f"  - {{gpa: 0, size: {RAM}, type: alloc, lazy: true}}", "cpu:", "  mode: 4level",
             "  efer: 0x500", f"trace: {trace}", "guest:", "  page_table_region: {gpa: 0xf000000, size: 64K}",
             "  mappings:"]
    for base in (0, DIRECT_MAP):
        for i in range(2048):
            flags = 0x7 if base == 0 and i << 21 == 0x400000 else 0x3
            lines.append(f"    - {{gva: {base + (i << 21):#x}, gpa: {i << 21:#x}, size: 2M, flags: {flags:#x}}}")
    path = tmp_path / "hw.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_long_mode_part_replays_with_every_gpa_as_qemu_gave_it(tmp_path, symbols):
    # From long_entry on, the image runs on the boot map alone, without a register write (no case blob), to its
    # end: the whole recording replays on the scenario of that map, each GPA compared.
    status, err, log = record(tmp_path, "long.nwt.zst", [f"trigger_gva={symbols['long_entry']:#x}",
                                                          "limit=1000000"])
    assert status == EXIT_PASS, err
    count = int(re.search(r"(\d+) accesses", log).group(1))
    assert 100000 < count < 1000000 and "limit reached" not in log, log
    for args in ([], ["--no-tlb"]):
        proc = subprocess.run([NESTWALK, "replay", str(scenario(tmp_path, "long.nwt.zst"))] + args,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"expectations  {count} checked, 0 mismatched" in proc.stdout, proc.stdout
        assert f"outcomes      ok {count}\n" in proc.stdout, proc.stdout


def test_a_wrong_gpa_is_a_replay_mismatch(tmp_path, symbols):
    # The check above can fail: the same trace with one expectation moved by a page is one mismatch.
    record(tmp_path, "one.nwt", [f"trigger_gva={symbols['long_entry']:#x}", "limit=10", "format=text",
                                 "compress=none"])
    text = (tmp_path / "one.nwt").read_text()
    gpa = re.search(r"expect outcome=ok gpa=(0x[0-9a-f]+)", text).group(1)
    (tmp_path / "one.nwt").write_text(text.replace(f"gpa={gpa}", f"gpa={int(gpa, 16) + 0x1000:#x}", 1))
    proc = subprocess.run([NESTWALK, "replay", str(scenario(tmp_path, "one.nwt"))], capture_output=True, text=True)
    assert "expectations  10 checked, 1 mismatched" in proc.stdout, proc.stdout + proc.stderr


def writers_of_boot_s():
    """The instructions of hw/boot.S's 32-bit entry that write CR4, CR3, EFER (wrmsr) and CR0, in that order, as
    (register, address of the instruction after it), from the image's disassembly."""
    out = subprocess.run([shutil.which("objdump") or "objdump", "-d", IMAGE64], capture_output=True, text=True,
                         check=True).stdout
    lines = [line for line in out.splitlines() if re.match(r"^ +[0-9a-f]+:\t", line)]
    found = []
    for line, following in zip(lines, lines[1:]):
        m = re.search(r"\t(mov +%[er]ax,%(cr[034])|wrmsr)\s*$", line)
        if m:
            found.append((m.group(2) or "efer", int(following.split(":")[0], 16)))
        if found and following.split()[-1] == "hang32>:" or len(found) == 4:
            break
    assert [name for name, _ in found] == ["cr4", "cr3", "efer", "cr0"], found
    return found


def scan_writers(tmp_path, blob=None):
    """A first run's writers=PATH: the -dfilter ranges of the instruction after every register writer QEMU ran,
    the firmware's included (the registers are followed from reset)."""
    status, err, _ = record(tmp_path, "scan.nwt.zst", ["limit=1", f"writers={tmp_path / 'writers'}"], blob=blob)
    assert status == EXIT_PASS, err
    return (tmp_path / "writers").read_text().strip().split(",")


def test_register_writes_of_the_boot_in_program_order(tmp_path, symbols):
    # boot.S, from hw_start with paging off: CR4 |= PAE (0x20), CR3 = hw_boot_pml4, EFER |= LME (0x100) by wrmsr
    # with ECX = 0xc0000080, CR0 |= PG | PE (0x80000001); turning paging on with LME set makes the CPU set
    # EFER.LMA (0x400: SDM Vol. 3A §10.8.5), so the CR0 write also changes EFER. What they start from, at the
    # Multiboot entry: CR0 = PE | ET (Multiboot 0.6.96 §3.2: PE set, PG clear; ET, bit 4, is fixed at 1, SDM Vol. 3A
    # §2.5; the firmware cleared the reset value's CD and NW), CR3 = CR4 = EFER = 0 (their reset values, SDM Vol. 3A
    # Table 10-1: nothing before wrote them). First pass: the list of writers' next instructions for -dfilter.
    writers = writers_of_boot_s()
    entry = symbols["hw_start"]
    listed = scan_writers(tmp_path)
    assert all(f"{after:#x}+1" in listed for _, after in writers), listed
    status, err, log = record(tmp_path, "regs.nwt.zst", [f"trigger_gva={entry:#x}", "store_bytes=on"],
                              dfilter=",".join(listed))
    assert status == EXIT_PASS, err
    regs = []
    recs = records(tmp_path / "regs.nwt.zst", writes=[], regs=regs)
    pml4 = symbols["hw_boot_pml4"]
    assert [(name, value) for _, name, value in regs] == [
        ("efer", 0), ("cr4", 0), ("cr3", 0), ("cr0", 0x11),                   # at the trigger
        ("cr4", 0x20), ("cr3", pml4), ("efer", 0x100), ("cr0", 0x80000011), ("efer", 0x500)], regs
    assert all(index == 0 for index, _, _ in regs[:4])
    # Each write sits where it ran: after its own block's accesses, before the fetch of the instruction after it,
    # which starts the next block (QEMU ends a block at each of them).
    at = {}
    for index, name, _ in regs[4:]:
        at.setdefault(index, []).append(name)
    assert [names for names in at.values()] == [["cr4"], ["cr3"], ["efer"], ["cr0", "efer"]], at
    for (index, names), (name, after) in zip(at.items(), writers):
        assert names[0] == name and recs[index][:3] == (after, recs[index][1], "fetch"), (name, hex(recs[index][0]))
    assert "9 register writes, 0 INVLPG at their address, 0 invalidations of everything" in log, log
    # The whole boot replays from paging off through the mode switch on the guest's own tables (their bytes
    # from the stores), over bare RAM: every GPA as QEMU gave it, TLB on and off.
    path = tmp_path / "ram.yaml"
    path.write_text(f"memory_regions:\n  - {{gpa: 0, size: {RAM}, type: alloc, lazy: true}}\ntrace: regs.nwt.zst\n")
    for args in ([], ["--no-tlb"]):
        proc = subprocess.run([NESTWALK, "replay", str(path)] + args, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"expectations  {len(recs)} checked, 0 mismatched" in proc.stdout, proc.stdout
        assert "register writes 9," in proc.stdout, proc.stdout


def test_user_mode_is_recorded_at_its_privilege(tmp_path, symbols):
    # Two of the image's cases (tools/hw-run), each a read of G4 through fresh 4-level tables with every entry
    # P|RW|US (tests/cases/x86_paging.cases: G4 is PML4 slot 2, PT index 1, offset 0x10, landing at PA =
    # S + 0x3010 = 0x2003010), CR4.SMEP and SMAP set: the first from the user page at CPL 3 (hw_user_read, entered by
    # iretq with CS = the user code selector, RPL 3), the second from supervisor code with RFLAGS.AC = 1
    # (hw_kernel_read); each returns through int $0x80. The image's PML4 slot 0 maps 0..4 GiB onto itself, its user
    # page (0x400000) with U/S set at every level (hw/boot.S).
    # - hw_user_read's fetch (its block: mov (%rdi),%rax, REX.W 8B /r, 3 bytes, then int $0x80): a user-mode address
    #   with SMEP set, which only CPL 3 fetches (SDM Vol. 3A §4.6.1); its 8-byte read: QEMU's user MMU index: cpl 3.
    #   That is the first user-mode access: trigger=user starts there.
    # - After int $0x80 the handler's fetch is supervisor (cpl 0), and so is every access until the next iretq.
    # - hw_kernel_read's load: CPL 0 with AC = 1 under SMAP, QEMU's index without SMAP: cpl 0 and ac.
    # The recording replays on its snapshot with 0 mismatches, TLB on and off: the user read passes U/S, SMAP
    # does not block the AC read, and SMEP does not block the user fetch, as in QEMU.
    flags = {"smep", "smap"}
    cases = [hwcases.path_case(1, hwcases.G4, [hwcases.ALL] * 4, cpl=3, access="read", flags=flags),
             hwcases.path_case(2, hwcases.G4, [hwcases.ALL] * 4, cpl=0, access="read", flags=flags | {"ac"})]
    blob = tmp_path / "cases.blob"
    blob.write_bytes(hwcases.hw_run.pack(cases))
    listed = scan_writers(tmp_path, blob)
    snap, scen = tmp_path / "user.elf", tmp_path / "user.yaml"
    status, err, log = record(tmp_path, "user.nwt.zst", ["trigger=user", "store_bytes=on", f"snapshot={snap}",
                                                        f"scenario={scen}"], dfilter=",".join(listed), blob=blob)
    assert status == EXIT_PASS, err
    text = subprocess.run([NESTWALK, "trace", "convert", str(tmp_path / "user.nwt.zst"), "-", "--to", "text"],
                          capture_output=True, text=True, check=True).stdout
    accesses = [line for line in text.splitlines() if line.startswith("access ")]
    user_read, pa = symbols["hw_user_read"], hwcases.S + 0x3010
    assert accesses[0] == f"access gva={user_read:#x} size=0x3 type=fetch cpl=0x3", accesses[:3]
    assert accesses[1] == f"access gva={hwcases.G4:#x} size=0x8 type=read cpl=0x3", accesses[:3]
    assert f"expect outcome=ok gpa={pa:#x}" in text
    kernel_read = [a for a in accesses if a.startswith(f"access gva={hwcases.G4:#x} size=0x8 type=read cpl=0x0")]
    assert kernel_read and set(kernel_read) == {f"access gva={hwcases.G4:#x} size=0x8 type=read cpl=0x0 ac"}
    user = [a for a in accesses if "cpl=0x3" in a]
    assert user == accesses[:len(user)], "user-mode accesses after the first return to the kernel"
    assert f"; {len(user)} at CPL 3;" in log, log
    for args in ([], ["--no-tlb"]):
        proc = subprocess.run([NESTWALK, "replay", str(scen)] + args, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"expectations  {len(accesses)} checked, 0 mismatched" in proc.stdout, proc.stdout


def snapshot_bytes(path, gpa, size):
    """size bytes at gpa in an ELF core, read through its program headers (ELF-64: e_phoff at 32, e_phnum at 56;
    each PT_LOAD's p_offset, p_paddr and p_filesz)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and struct.unpack_from("<H", data, 16)[0] == 4  # ET_CORE
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for i in range(phnum):
        p_type, _, offset, _, paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        if p_type == 1 and paddr <= gpa and gpa + size <= paddr + filesz:
            return data[offset + gpa - paddr:offset + gpa - paddr + size]
    raise AssertionError(f"{gpa:#x} not in the snapshot")


def test_a_snapshot_at_the_trigger_replays_on_the_guests_own_tables(tmp_path, symbols):
    # From long_entry (paging on, after boot.S built its map) with no stores' bytes: the tables can only come from
    # the snapshot of RAM taken at the trigger, which must hold boot.S's entries (test_store_bytes_are_the_boot_
    # maps_entries derives them: PML4E 0 = hw_boot_pdpt | 0x7, PDPTE 0 = hw_boot_pd | 0x7, PDE 1 = 2 MiB | 0x83)
    # as the far jump to long_entry left them: its fetch walked PML4E 0 and PDPTE 0, which the CPU marks accessed
    # (0x20, SDM Vol. 3A §4.8), while PDE 1 (2..4 MiB) maps nothing the image touched yet (it ends below 2 MiB),
    # and the scenario the recorder writes beside it must carry the registers boot.S left (its CR0 |= PG | PE over
    # the entry's 0x11, CR3 = hw_boot_pml4, CR4 = PAE, EFER = LME | LMA).
    listed = scan_writers(tmp_path)
    snap, scen = tmp_path / "snap.elf", tmp_path / "rec.yaml"
    status, err, _ = record(tmp_path, "snap.nwt.zst", [f"trigger_gva={symbols['long_entry']:#x}",
                                                        f"snapshot={snap}", f"scenario={scen}"],
                            dfilter=",".join(listed))
    assert status == EXIT_PASS, err
    pml4, pdpt, pd = symbols["hw_boot_pml4"], symbols["hw_boot_pdpt"], symbols["hw_boot_pd"]
    assert symbols["hw_bss_end"] < 1 << 21
    assert snapshot_bytes(snap, pml4, 8) == (pdpt | 0x27).to_bytes(8, "little")
    assert snapshot_bytes(snap, pdpt, 8) == (pd | 0x27).to_bytes(8, "little")
    assert snapshot_bytes(snap, pd + 8, 8) == (1 << 21 | 0x83).to_bytes(8, "little")
    text = scen.read_text()
    assert f"cr0: 0x80000011\n  cr3: {pml4:#x}\n  cr4: 0x20\n  efer: 0x500\n" in text, text
    assert f'memory_dump: "{snap}"' in text and f'trace: "{tmp_path / "snap.nwt.zst"}"' in text, text
    count = len(records(tmp_path / "snap.nwt.zst", regs=[]))
    for args in ([], ["--no-tlb"]):
        proc = subprocess.run([NESTWALK, "replay", str(scen)] + args, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and not proc.stderr, proc.stdout + proc.stderr
        assert f"expectations  {count} checked, 0 mismatched" in proc.stdout, proc.stdout


def test_a_register_write_without_its_logged_state_fails(tmp_path, symbols):
    # The CR3 write's next instruction left out of -dfilter: its value is nowhere, so nothing is written, and the
    # error names the write (the mov to CR3, 3 bytes before the instruction after it) and where the trace stood.
    writers = dict(writers_of_boot_s())
    kept = [r for r in scan_writers(tmp_path) if r != f"{writers['cr3']:#x}+1"]
    status, err, _ = record(tmp_path, "gap.nwt.zst", [f"trigger_gva={symbols['hw_start']:#x}"],
                            dfilter=",".join(kept))
    assert status == EXIT_PASS, err
    assert f"the register write at gva {writers['cr3'] - 3:#x} (after access " in err, err
    assert f": {writers['cr3']:#x}+1, the instruction after it, is not in -dfilter with -d cpu (no trace written)" \
        in err, err
    assert not (tmp_path / "gap.nwt.zst").exists()


@pytest.mark.parametrize("args,message", [
    (["limit=0"], "argument 'limit=0': bad value"),
    (["cpl=0"], "unknown argument 'cpl'"),
    (["trigger=kernel"], "argument 'trigger=kernel': bad value"),
    (["colour=red"], "unknown argument 'colour'"),
    (["limit=5", "limit=6"], "argument 'limit' given twice"),
    (["trigger_count=1", "trigger_gva=0x1000"], "trigger, trigger_gva and trigger_count exclude each other"),
    (["below4g=512M"], "below4g=0x20000000 is more than ram=0x10000000"),
    (["fetch=page"], "argument 'fetch=page': bad value"),
    (["store_bytes=yes"], "argument 'store_bytes=yes': bad value"),
    (["regs="], "argument 'regs=': bad value"),
    (["scenario=x.yaml", "snapshot=x.elf"], "scenario=PATH needs snapshot=PATH and regs=LOG"),
])
def test_bad_arguments_stop_qemu(tmp_path, args, message):
    status, err, _ = record(tmp_path, "bad.nwt.zst", args)
    assert status != 0 and message in err, err
    assert not (tmp_path / "bad.nwt.zst").exists()


def test_an_unwritable_trace_stops_qemu(tmp_path):
    status, err, _ = record(tmp_path, "missing/t.nwt.zst", [])
    assert status != 0 and "missing/t.nwt.zst" in err and "qemu_plugin_install returned error" in err, err


def test_a_trigger_never_met_leaves_no_trace(tmp_path):
    # 0xdead0000: above the 256 MiB of RAM and nothing the BIOS or the image reaches.
    status, err, log = record(tmp_path, "never.nwt.zst", ["trigger_gva=0xdead0000"])
    assert status == EXIT_PASS, err
    assert "error: " in err and "no access at the trigger gva 0xdead0000 (no trace written)" in err, err
    assert not (tmp_path / "never.nwt.zst").exists()
