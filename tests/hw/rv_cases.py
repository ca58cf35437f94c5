"""RISC-V G-stage cases for the RISC-V image (hw/riscv64/, hw/contract/rv_case.h): the hand-written cases, each
with the line the image must print derived by hand from the privileged spec (below), and a seeded generator.

The access runs in VS-mode with vsatp Bare (the VS-stage off), so the guest virtual address is the GPA. A trap
from VS-mode goes to M-mode (nothing is delegated) and the image prints "trap CAUSE TVAL TVAL2 TINST GVA":
mcause, mtval, mtval2, mtinst and mstatus.GVA, which hold what scause, stval, htval, htinst and hstatus.GVA
would in HS-mode (privileged spec, H extension, "Trap Entry": mtval2/mtinst are htval/htinst's M-mode twins).
  Causes ("Trap Cause Codes"): 20 instruction guest-page fault, 21 load guest-page fault, 23 store/AMO
  guest-page fault; 1, 5, 7 the access faults.
  tval: the faulting guest virtual address (the GPA here; a fetch's is its pc, the jump's target); GVA 1 since
  tval holds a guest virtual address.
  tval2 on a guest-page fault: the guest physical address shifted right by 2 ("Guest-Page Faults"); 0 otherwise.
  tinst: 0 for the explicit load or store (the spec allows 0 or the transformed instruction; QEMU and the
  library write 0), the pseudoinstruction only for an implicit VS-stage access (none here).
G-stage PTEs (Sv39/Sv48/Sv57 PTE format): V bit 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, PPN bits 53:10 (physical
address bits 55:12), bits 60:54 reserved, PBMT 62:61 (Svpbmt), N 63 (Svnapot). The walk ("Virtual Address
Translation Process", as "Guest Physical Address Translation" adapts it: the root is 16 KiB, 2048 entries; GPA
bits above the mode's 41, 50 or 59 must be zero, else a guest-page fault): V=0, or W=1 with R=0, or a reserved
bit set, is a guest-page fault (step 3); R or X makes a leaf at any level, else a pointer (step 4) — at level 0 a
pointer is a fault; G-stage accesses are checked as U-mode ones, so a leaf without U faults (step 5 with
"Guest Physical Address Translation"); a read needs R (or X with mstatus.MXR), a write W, a fetch X; a
superpage whose PPN bits below its size are not zero is misaligned, a fault (step 6); A and D: with Svade a
leaf without A (or a store's without D) faults, with Svadu (menvcfg.ADUE) the walk sets them (step 7). In a
pointer D, A and U are reserved; PBMT and N are reserved without Svpbmt (menvcfg.PBMTE clear here) and
Svnapot (the image runs under QEMU's plain rv64, which has neither; rv_vs_cases.SVPBMT_HAND turns Svpbmt on)."""
import random

from cases import hw_run  # tools/hw-run, loaded once for every hardware test
S = hw_run.RV_SCRATCH_BASE
V, R, W, X, U, GL, A, D = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80
RWXU = R | W | X | U | A | D
SV39X4, SV48X4, SV57X4 = 8, 9, 10
LEVELS = {SV39X4: 3, SV48X4: 4, SV57X4: 5}
LOAD, STORE, FETCH = 21, 23, 20


def pte(pa, flags):
    return (pa >> 12) << 10 | flags | V


def index(gpa, level, mode):
    """The spec's level (0 = the 4 KiB page): the root's index has 2 bits more."""
    bits = 11 if level == LEVELS[mode] - 1 else 9
    return (gpa >> (12 + 9 * level)) & ((1 << bits) - 1)


# G: Sv39x4 root index 2, level-1 index 8, level-0 index 1, offset 8; its page is the scratch page S + 0x1000.
G = 0x81001008
PA = S + 0x1008


def path(leaf, leaf_level=0, gpa=G, mode=SV39X4, pointers=None):
    """(tables, entries) for gpa: pointers from the root down to leaf_level, each V (or pointers[level] as
    written, without link), then leaf (None: no entry there)."""
    entries, table = [], 0
    for level in range(LEVELS[mode] - 1, leaf_level, -1):
        given = (pointers or {}).get(level)
        if given is not None:
            entries.append((table, index(gpa, level, mode), given, None))
            return table + 1, entries
        entries.append((table, index(gpa, level, mode), V, table + 1))
        table += 1
    if leaf is not None:
        entries.append((table, index(gpa, leaf_level, mode), leaf, None))
    return table + 1, entries


def case(cid, access, tables_entries, gpa=G, mode=SV39X4, flags=("adue",)):
    tables, entries = tables_entries
    return hw_run.Case(id=cid, gva=gpa, access=access, cpl=1, flags=frozenset(flags), tables=tables,
                       entries=entries, arch="riscv64", mode=mode)


def trap(cause, gpa=G):
    """A guest-page fault: tval the GPA, tval2 GPA >> 2, tinst 0, GVA 1."""
    return f"trap {cause:#x} {gpa:#x} {gpa >> 2:#x} 0x0 1"


def access_fault(cause, gpa=G):
    """An access fault: tval the GPA, tval2 and tinst 0, GVA 1."""
    return f"trap {cause:#x} {gpa:#x} 0x0 0x0 1"


LEAF = pte(S + 0x1000, RWXU)
F = G - 8  # a fetch jumps to the page's first word (its "ecall")
G1 = 0x82001008  # root index 2: a 1 GiB leaf at 0x80000000 maps it to itself
G48 = (1 << 39) | G  # Sv48x4: root index 1 (GPA bits 49:39), then as G
G57 = (1 << 48) | G  # Sv57x4: root index 1 (GPA bits 58:48)

# (id, title, case, the line the privileged spec gives).
HAND = [
    (1, "read of an RWXU page", case(1, "read", path(LEAF)), f"ok {PA:#x}"),
    (2, "write of an RWXU page", case(2, "write", path(LEAF)), f"ok {PA:#x}"),
    # No W: a store is a store/AMO guest-page fault, htval 0x81001008 >> 2 = 0x20400402.
    (3, "store to a page without W", case(3, "write", path(pte(S + 0x1000, R | U | A | D))), trap(STORE)),
    (4, "load from a page without W", case(4, "read", path(pte(S + 0x1000, R | U | A | D))), f"ok {PA:#x}"),
    # U=0: G-stage accesses are U-mode accesses.
    (5, "load from a leaf without U", case(5, "read", path(pte(S + 0x1000, RWXU & ~U))), trap(LOAD)),
    (6, "fetch from a leaf without U", case(6, "fetch", path(pte(S + 0x1000, RWXU & ~U)), gpa=F), trap(FETCH, F)),
    # W=1 with R=0 is reserved, a fault whatever the access (step 3).
    (7, "load through W without R", case(7, "read", path(pte(S + 0x1000, W | U | A | D))), trap(LOAD)),
    (8, "store through W without R", case(8, "write", path(pte(S + 0x1000, W | U | A | D))), trap(STORE)),
    (9, "fetch through W|X without R", case(9, "fetch", path(pte(S + 0x1000, W | X | U | A | D)), gpa=F),
     trap(FETCH, F)),
    # Execute-only: a load needs R, or X with the HS-level sstatus.MXR (DEVIATION_CASES: rv-gstage-mxr-hs).
    (10, "load from an execute-only page", case(10, "read", path(pte(S + 0x1000, X | U | A))), trap(LOAD)),
    (12, "fetch from a page without X", case(12, "fetch", path(pte(S + 0x1000, R | W | U | A | D)), gpa=F),
     trap(FETCH, F)),
    (13, "fetch from an X page", case(13, "fetch", path(pte(S + 0x1000, X | U | A)), gpa=F), "ok -"),
    # V=0 at the leaf, and at a pointer.
    (14, "load through an invalid leaf", case(14, "read", path(LEAF & ~V)), trap(LOAD)),
    (15, "store through an invalid level-1 pointer", case(15, "write", path(None, pointers={1: 0})), trap(STORE)),
    # A pointer (V, neither R nor X) at level 0 has no table below it (step 4: i < 0).
    (16, "load through a pointer at level 0", case(16, "read", path(pte(S + 0x1000, 0))), trap(LOAD)),
    # Superpages: a 2 MiB leaf at level 1 maps the GPA's bits 20:0; with ppn[0] != 0 it is misaligned (step 6).
    (17, "load through a 2 MiB superpage", case(17, "read", path(pte(S, RWXU), leaf_level=1)), f"ok {PA:#x}"),
    (18, "load through a misaligned 2 MiB superpage", case(18, "read", path(pte(S + 0x1000, RWXU), leaf_level=1)),
     trap(LOAD)),
    (19, "load through a 1 GiB superpage", case(19, "read", path(pte(0x80000000, RWXU), leaf_level=2, gpa=G1),
                                                 gpa=G1), f"ok {PA:#x}"),
    (20, "load through a misaligned 1 GiB superpage",
     case(20, "read", path(pte(0x80200000, RWXU), leaf_level=2, gpa=G1), gpa=G1), trap(LOAD, G1)),
    # GPA bits above 41 must be zero under Sv39x4: bit 41 set is a guest-page fault, the GPA in htval.
    (21, "GPA bit 41 under Sv39x4", case(21, "read", path(LEAF), gpa=(1 << 41) | G), trap(LOAD, (1 << 41) | G)),
    # Reserved bits: 54 (of 60:54), PBMT without menvcfg.PBMTE, N without Svnapot.
    (22, "leaf with reserved bit 54", case(22, "read", path(LEAF | 1 << 54)), trap(LOAD)),
    (23, "leaf with PBMT 1 (NC) and PBMTE clear", case(23, "read", path(LEAF | 1 << 61)), trap(LOAD)),
    (24, "leaf with N and no Svnapot", case(24, "read", path(LEAF | 1 << 63)), trap(LOAD)),
    # Svadu (the case's adue): the walk sets A and D, so a leaf without them maps; G is ignored.
    (25, "store to a leaf with A and D clear (Svadu)", case(25, "write", path(pte(S + 0x1000, R | W | U))),
     f"ok {PA:#x}"),
    (26, "load from a leaf with G set", case(26, "read", path(LEAF | GL)), f"ok {PA:#x}"),
    # Svade (no adue): the library's other switch; QEMU 7.2 has no Svade (not_deviations below).
    # Sv48x4 and Sv57x4: the same page one level (two) further down; GPA bits above 50 (59) must be zero.
    (27, "Sv48x4 load", case(27, "read", path(LEAF, gpa=G48, mode=SV48X4), gpa=G48, mode=SV48X4), f"ok {PA:#x}"),
    (28, "Sv48x4 store to a page without W", case(28, "write", path(pte(S + 0x1000, R | U | A), gpa=G48,
                                                                    mode=SV48X4), gpa=G48, mode=SV48X4),
     trap(STORE, G48)),
    (29, "Sv48x4 GPA bit 50", case(29, "read", path(LEAF, gpa=G48, mode=SV48X4), gpa=(1 << 50) | G48,
                                   mode=SV48X4), trap(LOAD, (1 << 50) | G48)),
    (30, "Sv48x4 512 GiB superpage", case(30, "read", path(pte(0, RWXU), leaf_level=3, gpa=G48 | PA,
                                                           mode=SV48X4), gpa=(1 << 39) | PA, mode=SV48X4),
     f"ok {PA:#x}"),
    (31, "Sv57x4 load", case(31, "read", path(LEAF, gpa=G57, mode=SV57X4), gpa=G57, mode=SV57X4), f"ok {PA:#x}"),
    (32, "Sv57x4 fetch without U", case(32, "fetch", path(pte(S + 0x1000, X | A), gpa=G57 - 8, mode=SV57X4),
                                        gpa=G57 - 8, mode=SV57X4), trap(FETCH, G57 - 8)),
]

# Where QEMU 7.2 departs from the privileged spec (hw/DEVIATIONS.md): the case, the spec's line, what QEMU prints.
HIGH = 0xFFFFFF0000000000 | (G & ((1 << 40) - 1))  # bits 63:40 all ones: root index (bits 40:30) 0x402
BIT40 = (1 << 40) | G  # the same root index, bits 63:41 zero
NO_MEMORY = hw_run.RV_NO_MEMORY
DEVIATION_CASES = {
    # Sv39x4 GPAs are 41 bits wide, bits 63:41 must be zero; QEMU 7.2 checks GPA bits 63:40 as a sign extension
    # of bit 39, as for a virtual address (one bit wider): all ones walk root entry 0x402 ...
    "rv-gpa-sign-extended": (case(101, "read", path(LEAF, gpa=HIGH), gpa=HIGH), trap(LOAD, HIGH), f"ok {PA:#x}"),
    # ... and bit 40 alone set, a GPA the spec maps through root entry 0x402, faults.
    "rv-gpa-bit40-unreachable": (case(102, "read", path(LEAF, gpa=BIT40), gpa=BIT40), f"ok {PA:#x}", trap(LOAD, BIT40)),
    # The HS-level sstatus.MXR (mstatus.MXR) makes execute-only G-stage pages readable; QEMU 7.2 reads vsstatus.MXR
    # for the G-stage (it swaps the S-level mstatus fields with vsstatus while V=1).
    "rv-gstage-mxr-hs": (case(103, "read", path(pte(S + 0x1000, X | U | A)), flags=("adue", "mxr")), f"ok {PA:#x}",
                         trap(LOAD)),
    # A PTE read that violates a PMA check (no memory at 2^40 on the virt machine) is an access fault of the
    # original access's type (step 2): cause 5, tval2 0; QEMU 7.2 reports a load guest-page fault.
    "rv-table-read-no-memory": (case(104, "read", path(None, pointers={1: pte(NO_MEMORY, 0)})), access_fault(5),
                                trap(LOAD)),
}

# Random cases: every hgatp mode, GPAs below bit width-1 (QEMU 7.2 treats the top bit as a sign: the
# rv-gpa-* rows), the case's adue on (QEMU 7.2 sets A and D by the walk), no MXR (rv-gstage-mxr-hs).
WIDTH = {SV39X4: 41, SV48X4: 50, SV57X4: 59}
CODE_SLOT = {mode: index(hw_run.RV_CODE_GPA, LEVELS[mode] - 1, mode) for mode in LEVELS}
# Bits a flip may set or clear: in a pointer all but R and X (which would make its linked table the page);
# in a leaf any.
POINTER_FLIPS = [V, W, U, GL, A, D, 1 << 8, 1 << 9, 1 << 54, 1 << 57, 1 << 60, 1 << 61, 1 << 62, 1 << 63]
LEAF_FLIPS = POINTER_FLIPS + [R, X]


def level_size(level):
    return 1 << (12 + 9 * level)


def random_case(rng, cid):
    mode = rng.choice([SV39X4, SV39X4, SV48X4, SV57X4])
    top = LEVELS[mode] - 1
    leaf_level = rng.choice([0, 0, 0, 1, 1, 2] + ([3] if top >= 3 else []) + ([4] if top >= 4 else []))
    access = rng.choice(["read", "write", "fetch"])
    size = level_size(leaf_level)
    # The leaf's output and the GPA's bits below it: the byte within the scratch region, 8-byte aligned.
    if size > hw_run.RV_SCRATCH_SIZE:
        oa = S & ~(size - 1)
        low = (S - oa) + rng.randrange(0, hw_run.RV_SCRATCH_SIZE, 8)
    elif leaf_level == 1:
        oa, low = S, rng.randrange(0, size, 8)
    else:
        oa, low = S + rng.randrange(0, 512) * 4096, rng.randrange(0, 4096, 8)
    while True:
        gpa = rng.randrange(0, 1 << (WIDTH[mode] - 1)) >> (12 + 9 * leaf_level) << (12 + 9 * leaf_level) | low
        if index(gpa, top, mode) != CODE_SLOT[mode]:
            break
    flags = rng.choice([RWXU, RWXU, R | U | A | D, X | U | A, R | X | U | A | D, R | W | U | A | D])
    flags |= rng.choice([0, 0, GL, 0x300])
    if rng.random() < 0.15:
        flags &= ~rng.choice([A, D, A | D])
    value = pte(oa, flags)
    fault = rng.choice(["none"] * 4 + ["flip_leaf", "flip_pointer", "invalid", "misaligned", "gpa_size"])
    fault_level = rng.randrange(leaf_level, top + 1)
    if fault == "flip_leaf":
        value ^= rng.choice(LEAF_FLIPS)
        if value & V and not value & (R | X) and leaf_level > 0:
            value |= R  # not a pointer into the scratch region (its words would be read as PTEs)
    if fault == "misaligned" and leaf_level > 0:
        value |= (1 << 10) << rng.randrange(0, 9 * leaf_level)
    entries, table = [], 0
    for level in range(top, leaf_level - 1, -1):
        i = index(gpa, level, mode)
        if fault == "invalid" and level == fault_level:
            entries.append((table, i, rng.choice([0, 0xFE, LEAF & ~V]), None))
            break
        if level > leaf_level:
            link = V ^ (rng.choice(POINTER_FLIPS) if fault == "flip_pointer" and level == fault_level else 0)
            entries.append((table, i, link, table + 1))
            table += 1
            continue
        entries.append((table, i, value, None))
    if fault == "gpa_size":
        gpa |= 1 << rng.randrange(WIDTH[mode], 64)
    return hw_run.Case(id=cid, gva=gpa, access=access, cpl=1, flags=frozenset({"adue"}), tables=table + 1,
                       entries=entries, arch="riscv64", mode=mode)


def random_cases(seed, count, first_id=1000):
    rng = random.Random(seed)
    return [random_case(rng, first_id + i) for i in range(count)]
