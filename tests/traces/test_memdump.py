"""QEMU guest-memory dumps and ELF guest images as a user meets them:
`nestwalk mappings SCENARIO --stage guest`, `nestwalk replay` on a dump, and
damaged files.

The dumps are written here by a small ELF writer that follows QEMU's
dump-guest-memory layout (dump/dump.c, target/i386/arch_dump.c): an ELF64 core
with e_ehsize 8 as QEMU 7.2 writes it, one PT_NOTE holding a "CORE" NT_PRSTATUS
note and a "QEMU" note with QEMUCPUState (CR0-CR4 at offset 392), then one
PT_LOAD per RAM block at unaligned file offsets. The guest page tables in them
are built from a list of mappings, and the expected listing is computed from
that list (SDM Vol. 3A ch. 4), never from the program's output."""
import hashlib
import json
import os
import pathlib
import struct
import subprocess
import time

import pytest

NESTWALK = os.environ["NESTWALK"]

P, RW, US, A, D, PS, G = 1, 2, 4, 0x20, 0x40, 0x80, 0x100
NX = 1 << 63
PAGE = 0x1000


def run(*args, timeout=120):
    return subprocess.run([NESTWALK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


class Memory:
    """Sparse guest-physical memory: 64-bit stores into 4 KiB pages."""

    def __init__(self):
        self.pages = {}

    def put(self, gpa, value):
        page = self.pages.setdefault(gpa & ~0xFFF, bytearray(PAGE))
        struct.pack_into("<Q", page, gpa & 0xFFF, value)

    def block(self, base, size):
        out = bytearray(size)
        for addr, page in self.pages.items():
            if base <= addr < base + size:
                out[addr - base:addr - base + PAGE] = page
        return bytes(out)


def qemu_cpu_state(cr, cs_flags=0):
    """QEMUCPUState version 1: version, size, 16 GPRs, RIP, RFLAGS, 10 segments (CS first; each selector, limit,
    flags, pad, base), cr[5], kernel_gs_base."""
    cs = struct.pack("<IIIIQ", 0x10, 0xFFFFFFFF, cs_flags, 0, 0)
    body = struct.pack("<II", 1, 440) + bytes(8 * 18) + cs + bytes(24 * 9) + struct.pack("<5Q", *cr) + bytes(8)
    assert len(body) == 440
    return body


def note(name, ntype, desc):
    name = name.encode() + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def write_dump(path, blocks, cr, ehsize=8, e_type=4, sparse=(), extra_note=b"", cs_flags=0):
    """blocks: [(gpa, bytes)]; sparse: [(gpa, size)] all-zero RAM left as holes in the file."""
    notes = note("CORE", 1, bytes(336)) + note("QEMU", 0, qemu_cpu_state(cr, cs_flags)) + extra_note
    loads = [(gpa, len(data), data) for gpa, data in blocks] + [(gpa, size, None) for gpa, size in sparse]
    phnum = 1 + len(loads)
    offset = 64 + 56 * phnum
    phdrs = [struct.pack("<IIQQQQQQ", 4, 0, offset, 0, 0, len(notes), len(notes), 0)]
    data_offset = offset + len(notes)  # not page aligned, as in QEMU's dumps
    for gpa, size, _ in loads:
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 0, data_offset, 0, gpa, size, size, 0))
        data_offset += size
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, 62, 1, 0, 64, 0, 0, ehsize, 56, phnum, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(header + b"".join(phdrs) + notes)
        for _, size, data in loads:
            if data is None:
                f.seek(size, os.SEEK_CUR)
            else:
                f.write(data)
        f.truncate()


# The guest: 4-level tables in the first MiB, kernel text and data at 16 MiB.
PML4, PDPT_USER, PDPT_DIRECT, PDPT_KERNEL, PD_DIRECT, PD_KERNEL, PT_KERNEL, PD_USER, PT_USER, PT_ALIAS, PML5 = (
    0x1000 * i for i in range(1, 12))
ALIAS_PDES = 40  # 40 PDEs share one table of 512 PTEs mapping the same page: 20480 aliases
ZERO_PAGE = 0xF000


def build_guest():
    mem = Memory()
    mem.put(PML4 + 8 * 0, PDPT_USER | P | RW | US)
    mem.put(PML4 + 8 * 273, PDPT_DIRECT | P | RW)     # 0xffff888000000000: PML4 index 273
    mem.put(PML4 + 8 * 511, PDPT_KERNEL | P | RW)     # 0xffffffff80000000: PML4 index 511
    mem.put(PDPT_DIRECT + 0, 0 | P | RW | A | D | PS | G | NX)              # 1 GiB page at PA 0
    mem.put(PDPT_DIRECT + 8, PD_DIRECT | P | RW)
    mem.put(PD_DIRECT + 0, 0x40000000 | P | RW | A | PS | G | NX)         # two 2 MiB pages that continue
    mem.put(PD_DIRECT + 8, 0x40200000 | P | RW | A | PS | G | NX)         # each other: one range
    mem.put(PDPT_KERNEL + 8 * 510, PD_KERNEL | P | RW)
    mem.put(PD_KERNEL + 8 * 8, PT_KERNEL | P | RW)                        # 0xffffffff81000000
    for i in range(4):                                                    # text: read-only, executable
        mem.put(PT_KERNEL + 8 * i, (0x1000000 + i * PAGE) | P | A | G)
    mem.put(PT_KERNEL + 8 * 4, 0x1004000 | P | RW | A | D | G | NX)      # data
    mem.put(PDPT_USER + 0, PD_USER | P | RW | US)
    mem.put(PD_USER + 0, PT_USER | P | RW | US)
    mem.put(PT_USER + 8 * 0x10, 0x20000 | P | RW | US | A | D)           # 0x10000
    mem.put(PT_USER + 8 * 0x11, 0x21000 | P | US | A)                    # 0x11000, read-only
    for pde in range(1, 1 + ALIAS_PDES):
        mem.put(PD_USER + 8 * pde, PT_ALIAS | P | RW | US)
    for pte in range(512):
        mem.put(PT_ALIAS + 8 * pte, ZERO_PAGE | P | US)
    mem.put(PD_USER + 8 * (1 + ALIAS_PDES), 0x8000000 | P | RW | US)     # a table no RAM backs
    mem.put(PML5 + 0, PML4 | P | RW | US)                                 # 5-level: PML5[0] and PML5[511]
    mem.put(PML5 + 8 * 511, PML4 | P | RW | US)
    return mem


def expected_ranges(top=0):
    """Each range of the listing, (va, va_end, pa, page_size, user, write, nx, global, accessed, dirty),
    written down from build_guest(): U/S and R/W ANDed over the levels, XD ORed (EFER.NXE=1)."""
    def canon(va):
        return va | ~((1 << 57) - 1) & (2**64 - 1) if va >> 56 & 1 else va

    def at(low48):
        return canon((top << 48) | low48) if top is not None else low48

    ranges = [
        (0x10000, 0x11000, 0x20000, PAGE, True, True, False, False, True, True),
        (0x11000, 0x12000, 0x21000, PAGE, True, False, False, False, True, False),
    ]
    for pde in range(1, 1 + ALIAS_PDES):
        for pte in range(512):
            va = (pde << 21) | (pte << 12)
            ranges.append((va, va + PAGE, ZERO_PAGE, PAGE, True, False, False, False, False, False))
    kernel = [
        (0x888000000000, 0x888040000000, 0, 1 << 30, False, True, True, True, True, True),
        (0x888040000000, 0x888040400000, 0x40000000, 2 << 20, False, True, True, True, True, False),
        (0xffffff81000000 & 0xffffffffffff, None, 0x1000000, PAGE, False, False, False, True, True, False),
    ]
    out = [(at(r[0]), at(r[0]) + (r[1] - r[0]), *r[2:]) for r in ranges]
    out.append((at(kernel[0][0]), at(kernel[0][0]) + (1 << 30), *kernel[0][2:]))
    out.append((at(kernel[1][0]), at(kernel[1][0]) + (4 << 20), *kernel[1][2:]))
    text = at(0xffff81000000)
    out.append((text, text + 4 * PAGE, 0x1000000, PAGE, False, False, False, True, True, False))
    out.append((text + 4 * PAGE, text + 5 * PAGE, 0x1004000, PAGE, False, True, True, True, True, True))
    return out


def canonical48(va):
    return va | 0xFFFF000000000000 if va >> 47 & 1 else va


def listing(result):
    assert result.returncode == 0, result.stderr
    # rights: r, w, x (no XD), u (user), '-' where not granted (docs/json.md)
    return [(int(r["gva"], 16), int(r["gva_end"], 16), int(r["gpa"], 16), int(r["page_size"], 16),
             r["rights"][3] == "u", r["rights"][1] == "w", r["rights"][2] == "-", r["global"], r["accessed"],
             r["dirty"]) for r in json.loads(result.stdout)["ranges"]]


def make_dump(tmp_path, cr4=0xA0, cr3=PML4, name="guest.elf", **kwargs):
    mem = build_guest()
    text = bytearray(5 * PAGE)
    text[0:4] = b"\x0f\x0b\x90\x90"
    path = tmp_path / name
    write_dump(path, [(0, mem.block(0, 0x100000)), (0x1000000, bytes(text))], [0x80050033, 0, 0, cr3, cr4], **kwargs)
    return path


def scenario(tmp_path, dump_name, extra=""):
    path = tmp_path / ("scenario-" + dump_name + ".yaml")
    # EFER is not in a dump: LME | LMA | NXE from the scenario; CR0/CR3/CR4 from the QEMU note.
    path.write_text(f"cpu:\n  efer: 0xd00\n{extra}guest:\n  memory_dump: {dump_name}\n")
    return path


def test_four_level_guest_listing_matches_its_tables(tmp_path):
    make_dump(tmp_path)
    sc = scenario(tmp_path, "guest.elf")
    start = time.monotonic()
    result = run("mappings", sc, "--stage", "guest", "--json")
    elapsed = time.monotonic() - start
    want = sorted((canonical48(r[0]), canonical48(r[0]) + (r[1] - r[0]), *r[2:]) for r in expected_ranges(None))
    assert listing(result) == want
    assert len(want) == 2 + ALIAS_PDES * 512 + 4
    assert elapsed < 10, elapsed
    # QEMU 7.2's e_ehsize = 8 is accepted with a warning; the unbacked table is reported.
    assert "e_ehsize is 8, not 64" in result.stderr
    assert "512 table entries lie in memory nothing backs" in result.stderr  # the missing table's entries


def test_dump_data_at_an_offset_of_4_mod_8_lists_the_same(tmp_path):
    """Notes are padded to 4 bytes only, so a core's memory may start at 4 mod 8; the page-table
    entries are then copied to aligned memory (sanitizer builds catch a misaligned read)."""
    make_dump(tmp_path)
    make_dump(tmp_path, name="odd.elf", extra_note=note("NWPAD", 0, b""))  # 12 + 8 bytes
    odd = (tmp_path / "odd.elf").read_bytes()
    first_load = struct.unpack_from("<Q", odd, 64 + 56 + 8)[0]  # p_offset of the PT_LOAD after PT_NOTE
    assert first_load % 8 == 4
    want = listing(run("mappings", scenario(tmp_path, "guest.elf"), "--stage", "guest", "--json"))
    assert listing(run("mappings", scenario(tmp_path, "odd.elf"), "--stage", "guest", "--json")) == want
    # The walker reads the same entries too (a replay walks them; mappings does not use the walker).
    trace = tmp_path / "odd.nwt.txt"
    trace.write_text("nestwalk-trace 1\n"
                     "access gva=0xffffffff81000000 size=0x4 type=fetch cpl=0x0\n"
                     "expect outcome=ok gpa=0x1000000 hpa=0x1000000 refs=0x4 guest_page_size=0x1000\n"
                     "end\n")
    result = run("replay", scenario(tmp_path, "odd.elf"), "--trace", trace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expectations  1 checked, 0 mismatched" in result.stdout


def test_text_listing_explains_its_letters(tmp_path):
    make_dump(tmp_path)
    result = run("mappings", scenario(tmp_path, "guest.elf"), "--stage", "guest")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# ") and "flags: g global, a accessed, d dirty" in lines[0]
    assert lines[1].split()[-2:] == ["rights", "flags"]
    # The direct map: supervisor, writable, execute-disable, global, accessed, dirty.
    assert "ffff888000000000-ffff888040000000 0000000000000000 0000000040000000 1G   rw--   gad" in lines
    # Kernel text: supervisor, read-only, executable, global, accessed.
    assert "ffffffff81000000-ffffffff81004000 0000000001000000 0000000000004000 4K   r-x-   ga-" in lines


def test_five_level_guest(tmp_path):
    make_dump(tmp_path, cr4=0x10A0, cr3=PML5)  # CR4.LA57
    result = run("mappings", scenario(tmp_path, "guest.elf"), "--stage", "guest", "--json")
    want = sorted(expected_ranges(0) + expected_ranges(511))
    assert listing(result) == want


def test_scenario_registers_win_over_the_note(tmp_path):
    make_dump(tmp_path, cr3=0x0)  # the note's CR3 would list nothing
    sc = scenario(tmp_path, "guest.elf", extra=f"  cr3: {PML4:#x}\n")
    assert len(listing(run("mappings", sc, "--stage", "guest", "--json"))) == 2 + ALIAS_PDES * 512 + 4


# A 64-bit kernel code segment as QEMU keeps its flags (the descriptor's high dword): G (bit 23), L (bit 21),
# P (bit 15), S (bit 12), type 0xb (execute/read, accessed) in bits 11:8.
CS64 = 0x00A09B00


def dump_scenario(tmp_path, text):
    path = tmp_path / "dump.yaml"
    path.write_text(text + "guest:\n  memory_dump: guest.elf\n")
    return path


def registers(result):
    assert result.returncode == 0, result.stderr
    return {name: (int(r["value"], 16), r["from"]) for name, r in json.loads(result.stdout)["registers"].items()}


def test_long_mode_is_taken_from_the_dump_cs_l(tmp_path):
    """A dump does not hold EFER. CS.L=1 (a 64-bit code segment) exists only in IA-32e mode, so with CR0.PG and
    CR4.PAE from the note the guest used 4-level paging (CR4.LA57=0): EFER.LME|LMA = 0x500, derived. NXE is
    beyond what the dump says: taken as 0 with a warning, and then bit 63 of an entry is reserved (SDM Vol. 3A
    4.4.2, 4.5.4), so mappings leaves the XD entries out and a walk through one faults, alike."""
    make_dump(tmp_path, cs_flags=CS64)
    sc = dump_scenario(tmp_path, "")
    result = run("mappings", sc, "--stage", "guest", "--json")
    # The entries with XD (build_guest): the 1 GiB and two 2 MiB direct-map pages and the kernel data page.
    want = sorted((canonical48(r[0]), canonical48(r[0]) + (r[1] - r[0]), *r[2:]) for r in expected_ranges(None)
                  if not r[6])
    assert listing(result) == want
    assert "4 paging entries have bit 63 (XD) set while EFER.NXE=0" in result.stderr, result.stderr
    assert "cpu.efer is not given: EFER.NXE taken as 0" in result.stderr
    # The kernel data page, PTE 0x1004000|P|RW|A|D|G|XD: a supervisor read meets the reserved bit: #PF with
    # P|RSVD = 0x9 at level 1 (4.7).
    result = run("translate", sc, "--gva", 0xFFFFFFFF81004000, "--access", "read", "--json")
    got = json.loads(result.stdout)
    assert (got["outcome"], got["mode"], got["error_code"], got["fault_level"]) == ("page_fault", "4-level", "0x9", 1)
    # CR0 0x80050033, CR3 PML4, CR4 0xa0 as the note has them (make_dump).
    assert registers(result) == {"cr0": (0x80050033, "dump"), "cr3": (PML4, "dump"), "cr4": (0xA0, "dump"),
                                 "efer": (0x500, "derived")}
    text = run("translate", sc, "--gva", 0xFFFFFFFF81004000, "--access", "read", "--explain")
    assert ("registers: cr0 0x80050033 (dump), cr3 0x1000 (dump), cr4 0xa0 (dump), efer 0x500 (derived)"
            in text.stdout), text.stdout
    # Given EFER.NXE (0xd00 = LME|LMA|NXE) the same read succeeds and the page is listed execute-disable.
    sc = dump_scenario(tmp_path, "cpu:\n  efer: 0xd00\n")
    result = run("translate", sc, "--gva", 0xFFFFFFFF81004000, "--access", "read", "--json")
    got = json.loads(result.stdout)
    # rights r, w, x, u (docs/json.md): readable, writable, execute-disable, supervisor.
    assert (got["outcome"], got["gpa"], got["rights"]) == ("ok", "0x1004000", "rw--")
    assert registers(result)["efer"] == (0xD00, "scenario")
    assert [line for line in result.stderr.splitlines() if "e_ehsize" not in line] == []  # nothing assumed
    result = run("mappings", sc, "--stage", "guest", "--json")
    assert (canonical48(0xFFFF81004000), canonical48(0xFFFF81005000), 0x1004000, PAGE, False, True, True, True,
            True, True) in listing(result)
    # The scenario's registers win over the note's, even a 0.
    sc = dump_scenario(tmp_path, "cpu:\n  efer: 0xd00\n  cr3: 0x0\n")
    result = run("translate", sc, "--gva", 0xFFFFFFFF81004000, "--access", "read", "--json")
    assert registers(result) == {"cr0": (0x80050033, "dump"), "cr3": (0, "scenario"), "cr4": (0xA0, "dump"),
                                 "efer": (0xD00, "scenario")}


def test_dump_without_cs_l_is_taken_as_pae_paging_aloud(tmp_path):
    """CS.L=0 with CR0.PG and CR4.PAE: PAE paging, or IA-32e compatibility mode; the dump cannot tell."""
    make_dump(tmp_path)  # CS flags 0
    result = run("translate", dump_scenario(tmp_path, ""), "--gva", 0x10000, "--access", "read", "--json")
    assert json.loads(result.stdout)["mode"] == "pae"
    assert registers(result)["efer"] == (0, "default")
    assert "the dump's CS.L is 0: taken as PAE paging" in result.stderr, result.stderr


def test_replay_on_a_dump_leaves_the_file_alone(tmp_path):
    dump = make_dump(tmp_path)
    before = hashlib.sha256(dump.read_bytes()).hexdigest()
    trace = tmp_path / "dump.nwt.txt"
    # No second stage on a dump: a walk reads guest entries only (4 for a 4 KiB page, 2 for a 1 GiB one).
    trace.write_text(
        "nestwalk-trace 1\n"
        "access gva=0xffffffff81000000 size=0x4 type=fetch cpl=0x0\n"
        "expect outcome=ok gpa=0x1000000 hpa=0x1000000 refs=0x4 guest_page_size=0x1000\n"
        # Supervisor write to read-only text with CR0.WP=1: #PF P|W (Sec. 4.6.1, 4.7). The TLB entry refuses
        # the write (Sec. 4.10.2.3) and the walk goes on from the PDE the first walk cached (Sec. 4.10.3.2):
        # the PTE alone, 1 reference.
        "access gva=0xffffffff81000000 size=0x4 type=write cpl=0x0\n"
        "expect outcome=page_fault error_code=0x3 refs=0x1\n"
        "access gva=0xffff888000001000 size=0x8 type=read cpl=0x0\n"
        "expect outcome=ok gpa=0x1000 refs=0x2 guest_page_size=0x40000000\n"
        # User read of a supervisor page: #PF P|U (Sec. 4.6.1).
        "access gva=0xffff888000001000 size=0x8 type=read cpl=0x3\n"
        "expect outcome=page_fault error_code=0x5\n"
        "gpwrite gpa=0x20000 bytes=2a\n"
        "end\n")
    result = run("replay", scenario(tmp_path, "guest.elf"), "--trace", trace, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["expectations"] == 4 and report["mismatches"] == 0
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == before


def test_a_dump_on_a_cpu_model_without_ept_needs_no_second_stage(tmp_path):
    """A dump has no second stage, so the default one (EPT) is not asked of the CPU model: an AMD Zen 4 (no EPT)
    walks the dump's tables as every feature does (4 guest entries, GPA = HPA 0x1000000, as below)."""
    make_dump(tmp_path)
    sc = scenario(tmp_path, "guest.elf", extra="  features: zen4\n")
    result = run("translate", sc, "--gva", 0xFFFFFFFF81000000, "--access", "fetch", "--cpl", 0, "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["outcome"], got["hpa"], got["refs"]) == ("ok", "0x1000000", 4)


def test_translate_reads_the_dump_as_replay_and_mappings_do(tmp_path):
    """translate builds its machine the way replay and mappings do: on a dump scenario it walks the dump's
    tables with the note's CR0/CR3/CR4 (4-level paging), not an empty VM with paging off."""
    make_dump(tmp_path)
    sc = scenario(tmp_path, "guest.elf")
    # PML4[511] -> PDPT_KERNEL[510] -> PD_KERNEL[8] -> PT_KERNEL[0] = 0x1000000 | P | A | G: a supervisor fetch
    # from the read-only text page is allowed (no XD anywhere on the path), 4 guest entries read, no second stage.
    result = run("translate", sc, "--gva", 0xFFFFFFFF81000000, "--access", "fetch", "--cpl", 0, "--json")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["outcome"], got["mode"], got["gpa"], got["hpa"], got["refs"]) == (
        "ok", "4-level", "0x1000000", "0x1000000", 4)
    # The same write as in test_replay_on_a_dump_leaves_the_file_alone: CR0.WP=1 and R/W=0 give #PF with
    # error code P|W = 0x3 (Sec. 4.6.1, 4.7).
    result = run("translate", sc, "--gva", 0xFFFFFFFF81000000, "--access", "write", "--cpl", 0, "--json")
    got = json.loads(result.stdout)
    assert (got["outcome"], got["error_code"], got["cr2"]) == ("page_fault", "0x3", "0xffffffff81000000")
    # A dump has no second stage: the questions about one are refused, not answered from an empty VM.
    result = run("translate", sc, "--gpa", 0x1000, "--access", "read")
    assert result.returncode == 2 and "a memory dump has none" in result.stderr, result.stderr
    result = run("mappings", sc, "--stage", "ept")
    assert result.returncode == 2 and "a memory dump has no second stage" in result.stderr, result.stderr


@pytest.mark.parametrize("extra, given", [
    ("memory_regions:\n  - {gpa: 0, size: 1M, type: alloc}\n", "memory_regions"),
    ("ept:\n  levels: 5\n", "a stage2 (ept) section"),  # the dump has no second stage to give 5 levels to
    ("host:\n  memory: 1G\n", "a host section"),  # the dump is read in place, on no simulated host
    ("guest_image", "guest.elf_image"),
])
def test_dump_beside_other_guest_memory_is_refused_by_every_command(tmp_path, extra, given):
    """A dump is the guest's whole memory: regions, second-stage or host options, or an image beside it
    would be dropped unseen."""
    make_dump(tmp_path)
    write_image(tmp_path / "image.elf", [(0x5000, b"\x90" * 16, 16)])
    guest = "guest:\n  memory_dump: guest.elf\n"
    if extra == "guest_image":
        guest += "  elf_image: image.elf\n"
        extra = ""
    sc = tmp_path / "both.yaml"
    sc.write_text("cpu:\n  efer: 0xd00\n" + extra + guest)
    trace = tmp_path / "one.nwt.txt"
    trace.write_text("nestwalk-trace 1\naccess gva=0x10000 size=0x1 type=read cpl=0x0\nend\n")
    line = 6 if extra else 4  # where the memory_dump value stands (column 16)
    for args in (["translate", sc, "--gva", 0x10000, "--access", "read"], ["mappings", sc, "--stage", "guest"],
                 ["mappings", sc, "--stage", "ept"], ["replay", sc, "--trace", trace]):
        result = run(*args)
        assert result.returncode == 2, (args, result.stdout)
        assert f"both.yaml:{line}:16: memory_dump:" in result.stderr and given in result.stderr, result.stderr


def test_large_dump_is_mapped_not_copied(tmp_path):
    mem = build_guest()
    path = tmp_path / "big.elf"
    write_dump(path, [(0, mem.block(0, 0x100000))], [0x80050033, 0, 0, PML4, 0xA0],
               sparse=[(0x10000000, 256 << 20)])
    assert path.stat().st_size > 256 << 20
    # A fresh Python whose only child is nestwalk reports that child's peak resident size (KiB).
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run(["/usr/bin/python3", "-c", probe, NESTWALK, "mappings", scenario(tmp_path, "big.elf"),
                             "--stage", "guest"], capture_output=True, text=True, timeout=120)
    status, maxrss = map(int, result.stdout.split())
    assert status == 0
    assert maxrss < 64 * 1024  # far below the dump's 256 MiB: mapped, not copied


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"GARBAGE!" * 64, "offset 0x0: not an ELF file (bad magic)"),
    (lambda b: b[:0x100000], "runs past the end of the file"),
    (lambda b: b[:54] + struct.pack("<H", 3) + b[56:], "offset 0x36: e_phentsize 3"),
    (lambda b: b[:56] + struct.pack("<H", 0xFFF0) + b[58:], "offset 0x20: program headers"),
    (lambda b: b[:16] + struct.pack("<H", 2) + b[18:], "offset 0x10: e_type 2 is not ET_CORE"),
    (lambda b: b[:5] + b"\x02" + b[6:], "offset 0x5: not little-endian"),
    (lambda b: b[:40], "file ends inside the ELF header"),
])
def test_damaged_dump_is_bad_input(tmp_path, damage, message):
    good = make_dump(tmp_path).read_bytes()
    (tmp_path / "bad.elf").write_bytes(damage(good))
    result = run("mappings", scenario(tmp_path, "bad.elf"), "--stage", "guest")
    assert result.returncode == 2, result.stdout
    assert "memory_dump:" in result.stderr and "bad.elf" in result.stderr
    assert message in result.stderr, result.stderr


def test_bad_qemu_note_size_names_its_offset(tmp_path):
    dump = bytearray(make_dump(tmp_path).read_bytes())
    at = dump.index(b"QEMU\0") + 8 + 4  # name padded to 8, then version; size follows
    struct.pack_into("<I", dump, at, 12)
    (tmp_path / "note.elf").write_bytes(bytes(dump))
    result = run("mappings", scenario(tmp_path, "note.elf"), "--stage", "guest")
    assert result.returncode == 2
    assert f"offset {at:#x}: QEMUCPUState size field 12" in result.stderr


def write_image(path, segments):
    """An ELF64 executable whose PT_LOADs are (paddr, data, memsz)."""
    offset = 64 + 56 * len(segments)
    phdrs, blobs = [], b""
    for paddr, data, memsz in segments:
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 5, offset + len(blobs), paddr, paddr, len(data), memsz, PAGE))
        blobs += data
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, len(segments), 0, 0, 0)
    path.write_bytes(header + b"".join(phdrs) + blobs)


def test_elf_image_loads_at_physical_addresses(tmp_path):
    # The image carries 4-level tables mapping GVA 0x400000 to GPA 0x5000 (PML4E, PDPTE, PDE[2], PTE[0]).
    tables = bytearray(4 * PAGE)
    struct.pack_into("<Q", tables, 0x0000, 0x2007)
    struct.pack_into("<Q", tables, 0x1000, 0x3007)
    struct.pack_into("<Q", tables, 0x2010, 0x4007)
    struct.pack_into("<Q", tables, 0x3000, 0x5007)
    write_image(tmp_path / "image.elf", [(0x1000, bytes(tables), 4 * PAGE), (0x5000, b"\x90" * 16, 2 * PAGE)])
    sc = tmp_path / "image.yaml"
    sc.write_text("memory_regions:\n  - {gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}\n"
                  "cpu:\n  mode: 4level\n  cr0: 0x80010001\n  cr3: 0x1000\n  cr4: 0x20\n  efer: 0x500\n"
                  "guest:\n  elf_image: image.elf\n")
    result = run("mappings", sc, "--stage", "guest", "--json")
    assert listing(result) == [(0x400000, 0x401000, 0x5000, PAGE, True, True, False, False, False, False)]
    result = run("translate", sc, "--gva", "0x400004", "--access", "read", "--cpl", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hpa"] == "0x5004"


def test_elf_image_outside_guest_memory_is_bad_input(tmp_path):
    write_image(tmp_path / "far.elf", [(0x40000000, b"\x90" * 16, 16)])
    sc = tmp_path / "far.yaml"
    sc.write_text("memory_regions:\n  - {gpa: 0x1000, size: 0x1ff000, flags: 0x7, type: identical}\n"
                  "guest:\n  elf_image: far.elf\n")
    result = run("translate", sc, "--gpa", "0x1000", "--access", "read")
    assert result.returncode == 2
    assert "elf_image:" in result.stderr and "offset 0x40: PT_LOAD at paddr 0x40000000" in result.stderr
    (tmp_path / "far.elf").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(20))
    result = run("translate", sc, "--gpa", "0x1000", "--access", "read")
    assert result.returncode == 2 and "file ends inside the ELF header" in result.stderr
