#!/usr/bin/python3
"""Writes the fuzz seed corpora under tests/fuzz/corpus/<target>/.

walk and stage2 seeds are encoded here in the byte layout their targets decode
(see fuzz_walk.c and fuzz_stage2.c), the walk seeds including one per case of
tests/cases/x86_paging.cases the input can express; trace seeds are the text traces in
traces/ and FORMAT.md's examples, each also in the binary form and zstd-compressed
as `nestwalk trace convert` writes them (the project's own codec, so every version
and architecture the format has); scenario seeds are the scenario files in
scenarios/. Seeds written by hand live in tests/fuzz/seeds/<target>/ and are
copied in, so regenerating never loses them. Deterministic: the same tree gives
the same corpus, which tests/traces/test_fuzz_corpus.py checks.
Run: tests/fuzz/gen_corpus.py [--out DIR] [--nestwalk PATH] [TARGET...]
"""
import argparse
import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import struct
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
HAND = ROOT / "tests" / "fuzz" / "seeds"
OPTIONS = argparse.Namespace(nestwalk=None)

u8 = lambda v: struct.pack("<B", v & 0xFF)
u16 = lambda v: struct.pack("<H", v & 0xFFFF)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

MODE_OFF, MODE_32, MODE_PAE, MODE_4, MODE_5 = range(5)
S2_NONE, S2_EPT, S2_NPT = range(3)
LAYOUT_4K, LAYOUT_2M, LAYOUT_1G = range(3)
P, RW, US, A, D, PS = 1, 2, 4, 0x20, 0x40, 0x80


def entry(page, flags, kind=0):
    """make_entry(): kind bits 1:0 = 0 (a region page), page in bits 5:2; raw carries the flags."""
    return u8(kind | (page << 2)) + u64(flags)


def walk_seed(mode, s2, layout, tables, cr_bits=0, more=0, leaf_ps_level=None, access_type=0, cpl=0):
    """A chain CR3 -> page 0 -> 1 -> ... with index 0 at each level (selector 0)."""
    levels = {MODE_OFF: 0, MODE_32: 2, MODE_PAE: 3, MODE_4: 4, MODE_5: 5}[mode]
    out = u8(mode) + u8(cr_bits) + u8(more | (cpl << 2)) + u8(46 - 36) + u32(0) + u32(0)
    out += u8(s2) + u8(layout)
    if s2 != S2_NONE:
        if layout == LAYOUT_4K:
            out += u16(0xFFFF) + bytes(range(16))
        out += u8(0x28 if s2 == S2_EPT else 0x06) + u8(46 - 36)  # EPT: WB, 1 GiB pages; NPT: 1 GiB, NXE
        if layout == LAYOUT_2M:
            out += u16(7)
        out += u8(0)  # no raw edits
    out += u8(0)  # CR3: region page 0
    out += u8(0) if not (cr_bits & 0x80) else u16(0)
    if mode == MODE_PAE:
        out += u8(0) + entry(1, P) + entry(1, P) + entry(1, P) + entry(1, P)
    out += u8(0) + u16(0x123)  # canonical, page offset 0x123
    if mode == MODE_OFF:
        out += u32(0x1000)
    else:
        out += b"\0" * levels
    out += u16(4) + u8(access_type)
    walk_levels = levels - 1 if mode == MODE_PAE else levels
    for i in range(walk_levels):
        table = i + (1 if mode == MODE_PAE else 0)
        last = i == walk_levels - 1 or (leaf_ps_level is not None and levels - i == leaf_ps_level)
        flags = P | RW | US | (PS if last and leaf_ps_level else 0)
        out += u8(table) + u8(0) + entry(table + 1 if not last else 15, flags)
        if last:
            break
    return out + tables


def walk_seeds():
    seeds = []
    for mode in (MODE_OFF, MODE_32, MODE_PAE, MODE_4, MODE_5):
        for s2 in (S2_NONE, S2_EPT, S2_NPT):
            for layout in (LAYOUT_4K, LAYOUT_2M, LAYOUT_1G):
                if s2 == S2_NONE and layout != LAYOUT_4K:
                    continue
                seeds.append(walk_seed(mode, s2, layout, b""))
    seeds.append(walk_seed(MODE_4, S2_EPT, LAYOUT_2M, b"", leaf_ps_level=2, access_type=1))
    seeds.append(walk_seed(MODE_4, S2_NONE, LAYOUT_4K, b"", leaf_ps_level=3, access_type=2, cpl=3))
    seeds.append(walk_seed(MODE_32, S2_NONE, LAYOUT_4K, b"", cr_bits=0x02, leaf_ps_level=2))
    seeds.append(walk_seed(MODE_5, S2_NPT, LAYOUT_4K, b"", cr_bits=0x38, more=0x23, cpl=3, access_type=1))
    rng = random.Random(7)
    for _ in range(8):  # tables shared between levels, random flags
        extra = b"".join(u8(rng.randrange(16)) + u8(rng.randrange(8)) + u8(rng.randrange(256)) +
                         u64(rng.getrandbits(64)) for _ in range(6))
        seeds.append(walk_seed(rng.choice((MODE_4, MODE_5, MODE_PAE)), rng.randrange(3), rng.randrange(3), extra,
                               cr_bits=rng.randrange(256), more=rng.randrange(64)))
    return seeds + qemu_seeds() + case_file_seeds()


NEAR_ENDS = (0, 1, 2, 3, 255, 256, 510, 511)  # fuzz_walk.c pick_index()
ADDR_MASK = 0x000FFFFFFFFFF000


NEAR_ENDS32 = (0, 1, 2, 3, 511, 512, 1022, 1023)  # pick_index() for 4-byte entries


def hw_case_seed(case, stage2=None, more_bits=0):
    """fuzz_walk's input for a 1-D hardware case (a tools/hw-run case as JSON: the rows of
    tests/fuzz/hw/qemu_1d.json, the cases of tests/cases/x86_paging.cases), in 4-/5-level, PAE ("pae") or
    32-bit ("legacy32") paging: no second stage, the case's MAXPHYADDR (40 by default), hw table n in region
    page n (a PAE PDPT's four entries given with CR3), a 4 KiB leaf pointing at page 15 and a large one at
    page 0; address bits a leaf keeps beyond its page carried by make_entry()'s kind bits (0x80: bits 21:12,
    a large leaf's reserved and PSE-36 bits; 3: bits 51:MAXPHYADDR). None when fuzz_walk's input cannot give
    the case's address: an index that is not one of the eight make_gva() draws from, or a non-canonical
    address. stage2: the input's second stage (the bytes from fuzz_walk's s2 byte to its raw edits) in place of
    none; more_bits: more bits of setup_cpu()'s third byte."""
    flags = set(case["flags"])
    mode = MODE_PAE if "pae" in flags else MODE_32 if "legacy32" in flags else MODE_5 if "la57" in flags else MODE_4
    levels, bits, top_bits = {MODE_32: (2, 10, 10), MODE_PAE: (3, 9, 2), MODE_4: (4, 9, 9), MODE_5: (5, 9, 9)}[mode]
    ends = NEAR_ENDS32 if mode == MODE_32 else NEAR_ENDS
    maxphyaddr = case.get("maxphyaddr", 40)
    gva = case["gva"]
    indices = [(gva >> (12 + bits * (level - 1))) & ((1 << (top_bits if level == levels else bits)) - 1)
               for level in range(1, levels + 1)]
    rebuilt = sum(i << (12 + bits * (level - 1)) for level, i in enumerate(indices, 1)) | (gva & 0xFFF)
    if mode in (MODE_4, MODE_5) and rebuilt >> (12 + 9 * levels - 1):
        rebuilt |= ((1 << 64) - 1) & ~((1 << (12 + 9 * levels)) - 1)  # make_gva() sign-extends
    if rebuilt != gva or any(i not in ends for i in indices + [e[1] for e in case["entries"]]):
        return None
    bit = lambda name, n: (1 << n) if name in flags else 0  # noqa: E731
    cr_bits = bit("wp", 0) | bit("pse", 1) | bit("smep", 3) | bit("smap", 4) | bit("pke", 5)
    more = bit("nxe", 0) | bit("ac", 1) | (case["cpl"] << 2) | more_bits
    out = u8(mode) + u8(cr_bits) + u8(more) + u8(maxphyaddr - 36)
    out += u32(case["pkru"]) + u32(0)
    out += (stage2 or u8(S2_NONE) + u8(LAYOUT_4K)) + u8(0) + u8(0)  # CR3: region page 0, no PWT/PCD

    def entry_bytes(k, value, link):
        large_leaf = levels - k in (2, 3) and value & PS and link is None
        page = link if link is not None else (0 if large_leaf else 15)
        high = value & ((1 << 52) - (1 << maxphyaddr)) if mode != MODE_32 else 0
        mid = value & (0x3FF000 if mode == MODE_32 else 0x1FF000) if large_leaf else 0
        raw = (value & ~ADDR_MASK) | high | mid
        return u8((page << 2) | (3 if high else 0) | (0x80 if mid else 0)) + u64(raw)

    entries = list(enumerate(case["entries"]))  # the path from the top, then any spare root entries
    if mode == MODE_PAE:  # the PDPT at CR3's offset 0: its four entries, then no more root-table triples
        pdpt = {index: (k, value, link) for k, (table, index, value, link) in entries if table == 0}
        out += u8(0) + b"".join(entry_bytes(*pdpt[i]) if i in pdpt else u8(0) + u64(0) for i in range(4))
        entries = [(k, e) for k, e in entries if e[0] != 0]
    out += u8(0) + u16(gva & 0xFFF)
    out += b"".join(u8(ends.index(i)) for i in indices)
    access, implicit = {"read": (0, 0), "write": (1, 0), "fetch": (2, 0), "implicit": (0, 1)}[case["access"]]
    # fuzz_walk reads the type as the byte mod 3, implicit from bit 2, the lookup flag from bit 3 (left 0)
    out += u16(1) + u8(next(b for b in range(8) if b % 3 == access and (b >> 2) & 1 == implicit))
    for k, (table, index, value, link) in entries:
        out += u8(table) + u8(ends.index(index)) + entry_bytes(k, value, link)
    return out


def qemu_seeds():
    """One seed per row of the QEMU table, named qemu-*: tests/fuzz/test_fuzz_hw.c finds them by name."""
    table = ROOT / "tests" / "fuzz" / "hw" / "qemu_1d.json"
    if not table.exists():
        return []
    return [("qemu-", hw_case_seed(row["case"])) for row in json.loads(table.read_text())]


def case_file_seeds():
    """One seed per case of the case file without nested paging that fuzz_walk's input can express
    (tests/cases/README.md), named case-<id>-*."""
    sys.path.insert(0, str(ROOT / "tests" / "cases"))
    import case_file
    cases, _consts = case_file.read()
    seeds = []
    for c in cases:
        if "npt" in c.flags or c.ept is not None:
            continue
        flags = set(c.flags) | {"4-level": set(), "5-level": {"la57"}, "pae": {"pae"}, "32-bit": {"legacy32"}}[c.mode]
        seed = hw_case_seed({"flags": flags, "cpl": c.cpl, "pkru": c.pkru, "gva": c.gva, "access": c.access,
                             "entries": c.entries, "maxphyaddr": c.maxphyaddr})
        if seed is not None:
            seeds.append((f"case-{c.id}-", seed))
    return seeds + ept_case_file_seeds(cases)


EPT_RWX_WB = 0x37  # the VMX image's EPT leaves, R|W|X write-back (tests/cases/ept_vmx.py RWX_WB)
EPT_OPTS = 0x38  # build_ept() options: 4 levels, write-back EPTP, execute-only, 1 GiB pages (the image's EPT)


def ept_case_seed(case):
    """fuzz_walk's input for an EPT case of the case file (tests/cases/README.md): its guest as hw_case_seed()
    lays it out (guest table n in region page n, the 4 KiB leaf at page 15) over an EPT of 4 KiB pages with the
    image's capabilities (MAXPHYADDR 40, execute-only, A/D as the case's EPTP says, A/D set once the walk
    succeeds), the case's EPT leaves of the final page and of the guest PDPT, PD and PT pages as raw edits of
    the R|W|X write-back leaf (bit 10, which EPT ignores without mode-based execute, stays as fuzz_walk maps
    it). None when the input cannot give it: a large guest or EPT leaf (the final page shares its EPT path with
    the guest tables here, not in the image), an EPT entry above a leaf the case changes, more than three
    leaves changed, or an address hw_case_seed() cannot give."""
    ept, pages = case.ept, {"final": 15, "pdpt": 1, "pd": 2, "pt": 3}
    leaves = dict(ept.tables, final=ept.final[-1])
    changed = [(pages[where], value) for where, value in leaves.items() if value != EPT_RWX_WB]
    if ept.leaf_level != 1 or len(case.path) != 4 or any(e != 7 for e in ept.final[:-1]) or len(changed) > 3 or \
            ept.final[-1] & ADDR_MASK:
        return None
    stage2 = u8(S2_EPT) + u8(LAYOUT_4K) + u16(0xFFFF) + bytes(range(16))  # every page mapped, no aliases
    stage2 += u8(EPT_OPTS | (2 if ept.ad else 0)) + u8(40 - 36) + u8(len(changed))
    stage2 += b"".join(u8(page) + u8(0) + u64(EPT_RWX_WB & ~value) + u64(value & ~EPT_RWX_WB)
                       for page, value in changed)
    return hw_case_seed({"flags": case.flags, "cpl": case.cpl, "pkru": 0, "gva": case.gva, "access": case.access,
                         "entries": case.entries, "maxphyaddr": case.maxphyaddr}, stage2, more_bits=0x20)


def ept_case_file_seeds(cases):
    """One seed per EPT case fuzz_walk's input can express, named ept-case-<id>-* (ids of the VMX image)."""
    seeds = [(f"ept-case-{c.id}-", ept_case_seed(c)) for c in cases if c.ept is not None]
    return [(name, seed) for name, seed in seeds if seed is not None]


def stage2_seeds():
    """opts, then ops: op byte, flags byte, size selector, then the op's own bytes."""
    def op_map(size_sel, gpa_slot, hpa_slot, flags=0x37, replace=False):
        return u8(0x80 if replace else 0) + u8(flags) + u8(size_sel) + u8(0) + u32(gpa_slot) + u32(hpa_slot)

    def op_unmap(size_sel, gpa_slot):
        return u8(2) + u8(0) + u8(size_sel) + u8(0) + u32(gpa_slot)

    def op_protect(size_sel, gpa_slot, rights):
        return u8(4) + u8(rights) + u8(size_sel) + u8(0) + u32(gpa_slot)

    def op_region(size_sel, gpa_slot, hpa_slot, coaligned=True):
        return u8(1) + u8(0xB7 if coaligned else 0x37) + u8(size_sel) + u8(0) + u32(gpa_slot) + u32(hpa_slot)

    def op_fail(nth):
        return u8(5) + u8(1 | (nth << 1)) + u8(0)

    def op_query(gpa_slot):
        return u8(6) + u8(0) + u8(0) + u8(0) + u32(gpa_slot) + u16(0x10)

    seeds = []
    for opts in (0, 1, 2, 3, 4, 6):  # EPT / NPT, 4 / 5 levels; RISC-V G-stage Sv39x4 / Sv48x4
        seeds.append(u8(opts) + op_map(5, 0, 1) + op_unmap(0, 3) + op_protect(2, 0, 1) + op_query(5))
        seeds.append(u8(opts) + op_map(2, 0, 3) + op_map(0, 5, 9, replace=True) + op_unmap(3, 0) + op_query(600))
        seeds.append(u8(opts) + op_region(3, 511, 511) + op_fail(2) + op_unmap(0, 512) + op_map(0, 512, 4))
        seeds.append(u8(opts) + op_fail(1) + op_map(0, 7, 7) + op_map(0, 7, 7) + op_protect(7, 0, 3))
    return seeds


def fail(message):
    """Bad input or a missing program: the reason, exit 2."""
    print(f"gen_corpus.py: {message}", file=sys.stderr)
    sys.exit(2)


def nestwalk_program():
    """The nestwalk program whose `trace convert` encodes the trace seeds: --nestwalk PATH, else $NESTWALK, else
    the development build's."""
    path = pathlib.Path(OPTIONS.nestwalk or os.environ.get("NESTWALK") or ROOT / "build/dev/sim/nestwalk")
    if not os.access(path, os.X_OK):
        fail(f"{path}: no nestwalk program there: build it (meson compile -C build/dev) or name it with "
             "--nestwalk PATH")
    return path


def trace_convert(text, *options):
    """text in the form `nestwalk trace convert` gives with these options (the project's one codec)."""
    done = subprocess.run([nestwalk_program(), "trace", "convert", "-", "-", *options], input=text,
                          capture_output=True)
    if done.returncode != 0:
        fail(f"nestwalk trace convert {' '.join(options)}: {done.stderr.decode().strip()}")
    return done.stdout


def trace_texts():
    """FORMAT.md's example traces, then every bundled text trace (traces/*.nwt.txt)."""
    format_md = (ROOT / "traces" / "FORMAT.md").read_text()
    examples = re.findall(r"```\n(nestwalk-trace \d.*?\n.*?)```", format_md, re.S)
    return [e.encode() for e in examples] + [p.read_bytes() for p in sorted((ROOT / "traces").glob("*.nwt.txt"))]


def trace_seeds():
    """Each trace as written, in the binary form and zstd-compressed, as `nestwalk trace convert` writes them."""
    return [seed for text in trace_texts()
            for seed in (text, trace_convert(text, "--to", "binary"), trace_convert(text, "--to", "binary", "--zstd"))]


def scenario_seeds():
    return [p.read_bytes() for p in sorted((ROOT / "scenarios").glob("*.yaml"))]


def elf_image(loads, cls=64, e_type=2):
    """A little-endian ELF with program headers only: loads = [(paddr, data, memsz)] (fuzz_elf.c's VM has lazy
    RAM at 0 and 16 MiB, ROM at 1 MiB, an MMIO page at 2 MiB)."""
    ehsize, phsize = (64, 56) if cls == 64 else (52, 32)
    offset = ehsize + phsize * len(loads)
    phdrs, blobs = b"", b""
    for paddr, data, memsz in loads:
        if cls == 64:
            phdrs += struct.pack("<IIQQQQQQ", 1, 5, offset, paddr, paddr, len(data), memsz, 0x1000)
        else:
            phdrs += struct.pack("<IIIIIIII", 1, offset, paddr, paddr, len(data), memsz, 5, 0x1000)
        offset += len(data)
        blobs += data
    ident = b"\x7fELF" + bytes([2 if cls == 64 else 1, 1, 1]) + bytes(9)
    machine = 62 if cls == 64 else 3
    if cls == 64:
        header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, 0x1000, ehsize, 0, 0, ehsize, phsize,
                                     len(loads), 0, 0, 0)
    else:
        header = ident + struct.pack("<HHIIIIIHHHHHH", e_type, machine, 1, 0x1000, ehsize, 0, 0, ehsize, phsize,
                                     len(loads), 0, 0, 0)
    return header + phdrs + blobs


def elf_seeds():
    code = bytes(range(64))
    return [
        elf_image([(0x1000, code, 0x40)]),
        elf_image([(0x1000, code, 0x40)], cls=32),
        elf_image([(0x2000, code, 0x1800), (0x100000, code[:16], 0x10), (0x1000000, b"\xcc" * 8, 0x2000)]),
        elf_image([(0xff0, code, 0x40), (0x3000, b"", 0x100)]),           # crosses a page; bss only
        elf_image([(0x200000, code, 0x40)]),                            # into the MMIO page: refused
        elf_image([(0x1000, code, 0x40), (0x1020, code, 0x40)], cls=32),  # overlapping segments
    ]


def qemu_note(cr):
    """The "QEMU" note: QEMUCPUState version 1 (QEMU target/i386/arch_dump.c), cr[5] at byte 400."""
    desc = struct.pack("<II", 1, 440) + bytes(8 * 18) + bytes(24 * 10) + struct.pack("<5Q", *cr) + bytes(8)
    name = b"QEMU\0"
    pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name), len(desc), 0) + pad(name) + pad(desc)


def memdump(blocks, cr=None, ehsize=None, cls=64):
    """A dump-guest-memory ELF core (as tests/traces/test_memdump.py writes them): a PT_NOTE with the QEMU
    note when cr is given, one PT_LOAD per (gpa, bytes) block."""
    notes = qemu_note(cr) if cr else b""
    phsize, hsize = (56, 64) if cls == 64 else (32, 52)
    ehsize = ehsize or hsize
    phnum = 1 + len(blocks)
    offset = hsize + phsize * phnum
    def ph(kind, off, paddr, size):
        if cls == 64:
            return struct.pack("<IIQQQQQQ", kind, 0, off, 0, paddr, size, size, 0)
        return struct.pack("<IIIIIIII", kind, off, 0, paddr, size, size, 0, 0)
    phdrs = ph(4, offset, 0, len(notes))
    data_offset = offset + len(notes)
    for gpa, data in blocks:
        phdrs += ph(1, data_offset, gpa, len(data))
        data_offset += len(data)
    ident = b"\x7fELF" + bytes([2 if cls == 64 else 1, 1, 1]) + bytes(9)
    if cls == 64:
        header = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, hsize, 0, 0, ehsize, phsize, phnum, 0, 0, 0)
    else:
        header = ident + struct.pack("<HHIIIIIHHHHHH", 4, 3, 1, 0, hsize, 0, 0, ehsize, phsize, phnum, 0, 0, 0)
    return header + phdrs + notes + b"".join(data for _, data in blocks)


def memdump_seeds():
    """Guest tables in the dump: 4-level CR3 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 -> page 0x5000,
    and a 2 MiB page; the last 34 bytes (fuzz_memdump.c: mode, CR bits, four linear addresses) end the
    last block."""
    mem = bytearray(0x6000)
    def put(gpa, value):
        struct.pack_into("<Q", mem, gpa, value)
    put(0x1000, 0x2000 | P | RW | US)
    put(0x2000, 0x3000 | P | RW | US)
    put(0x3000, 0x4000 | P | RW | US)
    put(0x3008, 0x200000 | P | RW | US | PS)
    put(0x4000, 0x5000 | P | RW | US)
    put(0x4008, 0x5000 | P | US)
    tail = u8(2) + u8(0x13) + u64(0x123) + u64(0x1004) + u64(0x200000 + 0x10) + u64(0xffff800000000000)
    pae_tail = u8(1) + u8(0x01) + u64(0x123) + u64(0x1004) + u64(0x40000000) + u64(0x7)
    cr = (0x80010001, 0, 0, 0x1000, 0x20)
    return [
        memdump([(0, bytes(mem)), (0x200000, bytes(0x100) + tail)], cr),
        memdump([(0, bytes(mem)), (0x200000, bytes(0x100) + pae_tail)], cr, ehsize=8),  # QEMU 7.2's e_ehsize
        memdump([(0x100000, bytes(0x40)), (0, bytes(mem[:0x2000]) + tail)]),          # no note: CR3 from the tail
        memdump([(0, bytes(mem[:0x3000])), (0x3000, bytes(mem[0x3000:]) + tail)], cr, cls=32),
    ]


def arm64_seed(va_idx=(0, 1, 2, 3), tables=(), two_d=False, sctlr=0, shape=0, pstate=0, controls=0,
               mair=0xFF, access=0, va_shape=0, tag=None, s2_out=0x70, s2_shape=0):
    """fuzz_arm64.c's layout: registers, the stage-2 choice (s2_shape: bits 1:0 the VTCR_EL2, 2 and 3 the 16
    and 64 KiB granules, bit 2 HCR_EL2.FWB; all region pages mapped with every right, the output pages with
    s2_out), the VA from its indices (level 0, 1, 2, 3) and offset 0x123, the descriptors (region page, Arm
    level of the VA's index, kind, address pick, attribute bits), the access byte."""
    out = u8(sctlr) + u8(shape) + u8(pstate) + u16(controls) + u64(mair) + u8(0)
    out += u8(1 if two_d else 0)
    if two_d:
        out += u8(s2_shape) + u16(0xFFFF) + b"\0" * 16 + u8(s2_out) * 8 + u8(0)
    out += u8(va_shape) + b"".join(u8(i) for i in va_idx) + u16(0x123)
    if va_shape & 4:
        out += u8(tag)
    out += u8(len(tables))
    for page, arm_level, kind, pick, bits in tables:
        out += u8(page | arm_level << 4) + u8(kind) + u8(pick)
        if kind & 3 in (1, 2):
            out += u16(bits)
        elif kind & 3 == 3:
            out += u64(bits)
    return out + u8(access)


def arm64_seeds():
    """A 39-bit TTBR0 chain page 0 -> 2 -> 3 -> output page 5 (AF, AP[1]), with and without a stage 2; the
    same faulting at each check; a 48-bit TTBR1 2 MiB block; HA/HD updates; random inputs."""
    AF, AP1, AP2 = 0x400, 0x40, 0x80
    OUT = 0x80  # pick: the output pages

    def chain(leaf_kind=1, leaf_bits=AF | AP1, table_kind=0):
        return [(0, 1, table_kind, 2, 0), (2, 2, 0, 3, 0), (3, 3, leaf_kind, OUT | 5, leaf_bits)]

    seeds = []
    for two_d in (False, True):
        seeds += [
            arm64_seed(tables=chain(), two_d=two_d),
            arm64_seed(tables=chain(), two_d=two_d, access=1),                     # write
            arm64_seed(tables=chain(), two_d=two_d, access=2, pstate=1),           # EL0 fetch
            arm64_seed(tables=chain(leaf_bits=AP1), two_d=two_d),                  # AF clear: access flag fault
            arm64_seed(tables=chain(leaf_bits=AP1), two_d=two_d, controls=1 << 4),  # HA sets it
            arm64_seed(tables=chain(leaf_kind=1 | 0x20, leaf_bits=AF | AP2), two_d=two_d, access=1,
                       controls=3 << 4),                                           # HD: DBM write clears AP[2]
            arm64_seed(tables=chain(leaf_bits=AF | AP1), two_d=two_d, pstate=2),   # PAN
            arm64_seed(tables=chain(table_kind=0x20 << 1), two_d=two_d, pstate=1),  # APTable[0] on level 1
            arm64_seed(tables=chain(leaf_kind=2), two_d=two_d),                    # a level-3 block: invalid
            arm64_seed(tables=chain()[:2] + [(3, 3, 1, 0xC0 | 5, AF)], two_d=two_d),  # output above IPS
            arm64_seed(tables=chain(), two_d=two_d, sctlr=1),                      # stage 1 off
            arm64_seed(tables=chain(), two_d=two_d, controls=1),                   # EPD0
            arm64_seed(tables=chain(), two_d=two_d, va_shape=4, tag=0x5A, controls=1 << 2),  # TBI0
        ]
        # TTBR1 (region page 1), 48-bit ranges: level 0 index 0 -> page 4, level 1 index 1 -> page 6, a 2 MiB
        # block at level 2 index 2.
        seeds.append(arm64_seed(va_idx=(0, 1, 2, 3), va_shape=1, shape=1 | 4 << 1, two_d=two_d,
                                tables=[(1, 0, 0, 4, 0), (4, 1, 0, 6, 0), (6, 2, 2, OUT, AF | 0x300)]))
    seeds.append(arm64_seed(tables=chain(), two_d=True, s2_out=0x03))  # stage 2 refuses read and write
    # The 16 and 64 KiB stage-2 granules (the output pages their pages, or with s2_out bit 7 their level-2
    # blocks), one with HCR_EL2.FWB.
    for s2_shape, s2_out in ((2, 0x70), (3, 0x70), (3, 0xF0), (2 | 4, 0x70), (3, 0x03)):
        seeds.append(arm64_seed(tables=chain(), two_d=True, s2_shape=s2_shape, s2_out=s2_out))
        seeds.append(arm64_seed(tables=chain(), two_d=True, s2_shape=s2_shape, s2_out=s2_out, access=1))
    rng = random.Random(17)
    seeds += [bytes(rng.randrange(256) for _ in range(rng.randrange(16, 160))) for _ in range(16)]
    return seeds


def riscv_seed(va_idx=(0, 0, 1, 2, 3), tables=(), two_d=False, g_shape=0, g_region=0, g_out=0, mode=0, state=0,
               access=0, va_shape=0):
    """fuzz_riscv.c's layout: the G-stage choice (every region page mapped with the flags g_region takes
    away, the output pages with g_out's), vsatp's mode byte (0 Sv39, 1 Sv48, 2 Sv57, 3 Bare) and the state
    byte (VU, SUM, MXR, HS MXR, ADUE, PBMTE), the VA from its indices (levels 5 to 1) and offset 0x123, the PTEs
    (region page, library level, kind, address pick, bits), the access byte."""
    out = u8(1 if two_d else 0)
    if two_d:
        out += u8(g_shape) + u16(0xFFFF) + u8(g_region) * 16 + u8(g_out) * 8 + u8(0)
    out += u8(mode) + u8(state) + u16(0)
    out += u8(va_shape) + b"".join(u8(i) for i in va_idx) + u16(0x123)
    out += u8(len(tables))
    for page, level, kind, pick, bits in tables:
        out += u8(page | (level - 1) << 4) + u8(kind) + u8(pick)
        if kind & 3 in (1, 2):
            out += u16(bits)
        elif kind & 3 == 3:
            out += u64(bits)
    return out + u8(access)


def riscv_seeds():
    """An Sv39 chain region page 0 -> 2 -> 3 -> output page 5 (R/W/X, A, D), with and without a G-stage; the
    same faulting at each check; an Sv48 chain with a 2 MiB superpage; Svadu updates; G-stage refusals of a PTE
    read and of the final address; random inputs."""
    R, W, X, U, A, D = 0x2, 0x4, 0x8, 0x10, 0x40, 0x80
    OUT = 0x80  # pick: the output pages
    RWXAD = R | W | X | A | D

    def chain(leaf_bits=RWXAD, leaf_kind=1, leaf_pick=OUT | 5, table_kind=0):
        return [(0, 3, table_kind, 2, 0), (2, 2, 0, 3, 0), (3, 1, leaf_kind, leaf_pick, leaf_bits)]

    seeds = []
    for two_d in (False, True):
        seeds += [
            riscv_seed(tables=chain(), two_d=two_d),
            riscv_seed(tables=chain(), two_d=two_d, access=1),                        # store
            riscv_seed(tables=chain(), two_d=two_d, access=2),                        # fetch
            riscv_seed(tables=chain(leaf_bits=RWXAD), two_d=two_d, state=1),          # VU on an S page: fault
            riscv_seed(tables=chain(leaf_bits=RWXAD | U), two_d=two_d, state=1),      # VU on a U page
            riscv_seed(tables=chain(leaf_bits=RWXAD | U), two_d=two_d),               # VS on U without SUM
            riscv_seed(tables=chain(leaf_bits=RWXAD | U), two_d=two_d, state=2),      # with SUM
            riscv_seed(tables=chain(leaf_bits=X | A), two_d=two_d, state=4),          # MXR reads X-only
            riscv_seed(tables=chain(leaf_bits=R | W | X), two_d=two_d),               # A clear under Svade
            riscv_seed(tables=chain(leaf_bits=R | W | X | A), two_d=two_d, state=0x10, access=1),  # Svadu: A, D
            riscv_seed(tables=chain(leaf_bits=W | A | D), two_d=two_d),               # W without R
            riscv_seed(tables=chain(leaf_kind=1 | 4 << 2), two_d=two_d),              # N on page 5: bad NAPOT
            riscv_seed(tables=chain(leaf_kind=1 | 1 << 2), two_d=two_d, state=0x20),  # PBMT NC with PBMTE
            riscv_seed(tables=chain(table_kind=0x80 | 1 << 4), two_d=two_d),         # A in a pointer: reserved
            riscv_seed(tables=chain(leaf_pick=0xC0 | 5), two_d=two_d),  # beyond the G-stage width (1-D: a page)
            riscv_seed(tables=chain(), two_d=two_d, va_shape=4 | 5 << 3),             # bit 45 flipped
            riscv_seed(tables=chain(), two_d=two_d, mode=3),                          # Bare
            # A 2 MiB superpage at level 2 (output page 0, aligned), then a misaligned one (page 5).
            riscv_seed(tables=chain()[:1] + [(2, 2, 1, OUT, RWXAD)], two_d=two_d),
            riscv_seed(tables=chain()[:1] + [(2, 2, 1, OUT | 5, RWXAD)], two_d=two_d),
            # Sv48: page 0 (level 4) -> 4 -> 2 -> 3 -> page 5; and Sv57 over the same five levels.
            riscv_seed(tables=[(0, 4, 0, 4, 0), (4, 3, 0, 2, 0)] + chain()[1:], mode=1, two_d=two_d,
                       va_idx=(0, 0, 0, 2, 3)),
            riscv_seed(tables=[(0, 5, 0, 6, 0), (6, 4, 0, 4, 0), (4, 3, 0, 2, 0)] + chain()[1:], mode=2,
                       two_d=two_d, va_idx=(0, 0, 0, 2, 3)),
        ]
    seeds += [
        riscv_seed(tables=chain(), two_d=True, g_out=0x08),                  # G-stage leaf without U: final GPA
        riscv_seed(tables=chain(), two_d=True, g_region=0x01 | 0x02),        # a table page without R: PTE read
        riscv_seed(tables=chain(), two_d=True, g_out=0x10, g_shape=2),       # G-stage A clear, Svadu sets it
        riscv_seed(tables=chain(leaf_bits=X | A), two_d=True, g_out=0x03, g_shape=8, state=8),  # HS MXR
        riscv_seed(tables=chain(), two_d=True, g_shape=1),                   # Sv48x4
    ]
    rng = random.Random(18)
    seeds += [bytes(rng.randrange(256) for _ in range(rng.randrange(16, 160))) for _ in range(16)]
    return seeds


def hand_seeds(target):
    """The seeds written by hand for a target (tests/fuzz/seeds/<target>/): inputs no generator makes, copied
    into the corpus so that regenerating it keeps them."""
    folder = HAND / target
    return [p.read_bytes() for p in sorted(folder.iterdir())] if folder.is_dir() else []


def write(out, target, seeds):
    """Replaces out/<target> with the seeds, each named by its SHA-1 (prefixed where the generator says so): written
    beside it first, so an interrupted run leaves the old corpus whole."""
    folder, fresh = out / target, out / f".{target}.new"
    if fresh.exists():
        shutil.rmtree(fresh)
    fresh.mkdir(parents=True)
    for seed in seeds:
        prefix, seed = seed if isinstance(seed, tuple) else ("", seed)
        (fresh / (prefix + hashlib.sha1(seed).hexdigest())).write_bytes(seed)
    if folder.exists():
        shutil.rmtree(folder)
    fresh.rename(folder)
    print(f"{target}: {len(seeds)} seeds")


GENERATORS = {"walk": walk_seeds, "arm64": arm64_seeds, "riscv": riscv_seeds, "stage2": stage2_seeds,
              "trace": trace_seeds,
              "scenario": scenario_seeds,
              "elf": elf_seeds, "memdump": memdump_seeds}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Writes the fuzz seed corpora (tests/fuzz/corpus/<target>/).")
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="the targets to write (default: all): " + ", ".join(GENERATORS))
    parser.add_argument("--out", type=pathlib.Path, default=CORPUS, help="the corpus folder (default: %(default)s)")
    parser.add_argument("--nestwalk", help="the nestwalk program that encodes the trace seeds "
                        "(default: $NESTWALK, else build/dev/sim/nestwalk)")
    OPTIONS = parser.parse_args()
    for name in OPTIONS.targets:
        if name not in GENERATORS:
            parser.error(f"no target {name!r} (the targets: {', '.join(GENERATORS)})")
    for name in OPTIONS.targets or GENERATORS:
        write(OPTIONS.out, name, GENERATORS[name]() + hand_seeds(name))
