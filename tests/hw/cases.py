"""Page-walk cases for the hardware backend: a builder for one translation path,
hand-written cases with hand-derived expected outcomes, and a seeded generator."""
import importlib.machinery
import importlib.util
import os
import random

import sdm_model

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))


def load_tool(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


hw_run = load_tool("hw_run", os.path.join(ROOT, "tools", "hw-run"))
Case = hw_run.Case
S = hw_run.SCRATCH_BASE

P, RW, US, A, D, PS = 1 << 0, 1 << 1, 1 << 2, 1 << 5, 1 << 6, 1 << 7
XD = 1 << 63
ALL = P | RW | US


def pk(key):
    return key << 59


def leaf_pa(level, page=3):
    """Where a leaf at level points: a scratch page (4 KiB), the scratch region
    (2 MiB), or physical 0 (1 GiB, reached at an offset inside the scratch region).
    A PML4E/PML5E "leaf" (PS set: reserved) points at a scratch page too."""
    return {2: S, 3: 0}.get(level, S + page * 0x1000)


def path_case(cid, gva, path, levels=4, leaf_pa_value=None, **kw):
    """One translation path for gva: path[k] is the entry (flag bits) at level
    levels-k; the last one is the leaf and gets the leaf's physical address."""
    leaf_level = levels - len(path) + 1
    if leaf_pa_value is None:
        leaf_pa_value = leaf_pa(leaf_level)
    entries, table, tables = [], 0, 1
    for k, value in enumerate(path):
        level = levels - k
        index = (gva >> (12 + 9 * (level - 1))) & 511
        if level == leaf_level:
            entries.append((table, index, value | leaf_pa_value, None))
        else:
            entries.append((table, index, value, tables))
            table, tables = tables, tables + 1
    flags = set(kw.pop("flags", ()))
    if levels == 5:
        flags.add("la57")
    return Case(id=cid, gva=gva, tables=tables, entries=entries, flags=frozenset(flags), **kw)


# GVAs of the hand-written cases: PML4 slot 2 (the image keeps 0 and 1).
G4 = (2 << 39) | (1 << 12) | 0x10             # 4 KiB page, PT index 1, offset 0x10
G2 = (2 << 39) | 0x12340                      # 2 MiB page at PD index 0
G1 = (3 << 39) | (S + 0x1230)                 # 1 GiB page at physical 0
G5 = (1 << 48) | (2 << 39) | (1 << 12) | 0x18  # 5-level: PML5 slot 1
NONCANON4 = (1 << 48) | (1 << 47) | (1 << 12) | 0x20  # 48:47 set, 63:49 clear: canonical only with LA57
PA4 = S + 0x3010

# (name, case, the SDM's outcome derived by hand from §4.5-§4.8). Ids from 1.
HAND = [
    ("user read", path_case(1, G4, [ALL] * 4, cpl=3), ("ok", PA4, "1111")),
    ("user write sets D", path_case(2, G4, [ALL] * 4, cpl=3, access="write"), ("ok", PA4, "1113")),
    ("PTE not present, user write", path_case(3, G4, [ALL] * 3 + [RW | US], cpl=3, access="write"),
     ("pf", 0x6, G4, "1110")),
    ("PDE not present, supervisor read", path_case(4, G4, [ALL, ALL, RW, ALL]), ("pf", 0x0, G4, "1100")),
    ("XD with NXE, supervisor fetch", path_case(5, G4, [ALL] * 3 + [ALL | XD], access="fetch", flags={"nxe"}),
     ("pf", 0x11, G4, "1110")),
    ("XD without NXE is reserved", path_case(6, G4, [ALL] * 3 + [ALL | XD]), ("pf", 0x9, G4, "1110")),
    ("WP=1 supervisor write to read-only", path_case(7, G4, [ALL] * 3 + [P], access="write", flags={"wp"}),
     ("pf", 0x3, G4, "1110")),
    ("WP=0 supervisor write to read-only", path_case(8, G4, [ALL] * 3 + [P], access="write"), ("ok", PA4, "1113")),
    ("SMEP blocks supervisor fetch from user page", path_case(9, G4, [ALL] * 4, access="fetch", flags={"smep"}),
     ("pf", 0x11, G4, "1110")),
    ("supervisor fetch from user page without SMEP", path_case(10, G4, [ALL] * 4, access="fetch"),
     ("ok", PA4, "1111")),
    ("SMAP, AC=0: supervisor read of user page", path_case(11, G4, [ALL] * 4, flags={"smap"}),
     ("pf", 0x1, G4, "1110")),
    ("SMAP, AC=1: explicit supervisor read allowed", path_case(12, G4, [ALL] * 4, flags={"smap", "ac"}),
     ("ok", PA4, "1111")),
    ("SMAP, implicit access at CPL 3 with AC=1", path_case(13, G4, [ALL] * 4, cpl=3, access="implicit",
                                                         flags={"smap", "ac"}), ("pf", 0x1, G4, "1110")),
    ("SMAP, implicit access at CPL 0 with AC=1", path_case(14, G4, [ALL] * 4, access="implicit",
                                                         flags={"smap", "ac"}), ("pf", 0x1, G4, "1110")),
    ("SMAP, implicit access at CPL 0 with AC=0", path_case(15, G4, [ALL] * 4, access="implicit", flags={"smap"}),
     ("pf", 0x1, G4, "1110")),
    ("PKU AD: user read", path_case(16, G4, [ALL] * 3 + [ALL | pk(1)], cpl=3, flags={"pke"}, pkru=1 << 2),
     ("pf", 0x25, G4, "1110")),
    ("PKU WD: user write", path_case(17, G4, [ALL] * 3 + [ALL | pk(1)], cpl=3, access="write", flags={"pke"},
                                     pkru=2 << 2), ("pf", 0x27, G4, "1110")),
    ("PKU WD: user read allowed", path_case(18, G4, [ALL] * 3 + [ALL | pk(1)], cpl=3, flags={"pke"}, pkru=2 << 2),
     ("ok", PA4, "1111")),
    ("PKU WD, WP=1: supervisor write", path_case(19, G4, [ALL] * 3 + [ALL | pk(1)], access="write",
                                                 flags={"pke", "wp"}, pkru=2 << 2), ("pf", 0x23, G4, "1110")),
    ("PKU WD, WP=0: supervisor write allowed", path_case(20, G4, [ALL] * 3 + [ALL | pk(1)], access="write",
                                                         flags={"pke"}, pkru=2 << 2), ("ok", PA4, "1113")),
    ("PKU does not govern fetches", path_case(21, G4, [ALL] * 3 + [ALL | pk(1)], cpl=3, access="fetch",
                                              flags={"pke"}, pkru=3 << 2), ("ok", PA4, "1111")),
    ("A and D already set stay set", path_case(22, G4, [ALL | A] * 3 + [ALL | A | D]), ("ok", PA4, "1113")),
    ("PDE bit 51 reserved", path_case(23, G4, [ALL, ALL, ALL | (1 << 51), ALL]), ("pf", 0x9, G4, "1100")),
    ("2 MiB PDE bit 13 reserved, user read", path_case(24, G2, [ALL, ALL, ALL | PS | (1 << 13)], cpl=3),
     ("pf", 0xD, G2, "110")),
    ("2 MiB page", path_case(25, G2, [ALL, ALL, ALL | PS], cpl=3), ("ok", S + 0x12340, "111")),
    ("1 GiB page", path_case(26, G1, [ALL, ALL | PS], cpl=3), ("ok", S + 0x1230, "11")),
    ("1 GiB PDPTE bit 13 reserved", path_case(27, G1, [ALL, ALL | PS | (1 << 13)]), ("pf", 0x9, G1, "10")),
    ("PS in a PML4E is reserved", path_case(28, G4, [ALL | PS]), ("pf", 0x9, G4, "0")),
    ("5-level read", path_case(29, G5, [ALL] * 5, levels=5, cpl=3), ("ok", S + 0x3018, "11111")),
    ("non-canonical with 4-level paging", path_case(30, NONCANON4, [ALL] * 4), ("gp", "0000")),
    ("the same GVA is canonical with 5-level paging", path_case(31, NONCANON4, [ALL] * 5, levels=5),
     ("ok", S + 0x3020, "11111")),
    ("user write to read-only page", path_case(32, G4, [ALL] * 3 + [P | US], cpl=3, access="write"),
     ("pf", 0x7, G4, "1110")),
    ("user read of supervisor page", path_case(33, G4, [ALL, ALL, P | RW, ALL], cpl=3), ("pf", 0x5, G4, "1110")),
    ("WP=0 supervisor write to read-only user page", path_case(34, G4, [ALL] * 3 + [P | US], access="write"),
     ("ok", PA4, "1113")),
    ("user fetch with NXE, no XD", path_case(35, G4, [ALL] * 4, cpl=3, access="fetch", flags={"nxe"}),
     ("ok", PA4, "1111")),
    ("reserved bit on a fetch with NXE", path_case(36, G4, [ALL, ALL | (1 << 45), ALL, ALL], access="fetch",
                                                   flags={"nxe"}), ("pf", 0x19, G4, "1000")),
    ("5-level, PML5E not present", path_case(37, G5, [RW | US], levels=5), ("pf", 0x0, G5, "0")),
    ("XD in an upper level with NXE, user fetch", path_case(38, G4, [ALL, ALL | XD, ALL, ALL], cpl=3,
                                                            access="fetch", flags={"nxe"}), ("pf", 0x15, G4, "1110")),
    ("SMAP with a supervisor page: no effect", path_case(39, G4, [ALL, ALL, P | RW, ALL], flags={"smap"}),
     ("ok", PA4, "1111")),
    ("SMAP, AC=1, WP=1: supervisor write to read-only user page",
     path_case(40, G4, [ALL] * 3 + [P | US], access="write", flags={"smap", "ac", "wp"}), ("pf", 0x3, G4, "1110")),
    ("1 GiB page, user read of a supervisor page", path_case(41, G1, [ALL, P | RW | PS], cpl=3),
     ("pf", 0x5, G1, "10")),
    ("2 MiB page, user read of a supervisor page", path_case(42, G2, [ALL, ALL, P | RW | PS], cpl=3),
     ("pf", 0x5, G2, "110")),
]


def random_path(rng, levels, leaf_level):
    """Random 4-/5-level entries from the root down to a leaf at leaf_level (PS set on a large leaf)."""
    path = []
    for level in range(levels, leaf_level - 1, -1):
        value = P if rng.random() < 0.95 else 0
        value |= RW if rng.random() < 0.75 else 0
        value |= US if rng.random() < 0.75 else 0
        value |= A if rng.random() < 0.3 else 0
        value |= XD if rng.random() < 0.1 else 0
        if level == leaf_level:
            value |= D if rng.random() < 0.3 else 0
            value |= pk(rng.randrange(16)) if rng.random() < 0.6 else 0
            if leaf_level > 1:
                value |= PS
        path.append(value)
    return path


def add_random_rsvd(rng, path, levels, maxphyaddr, large_levels):
    """One reserved bit in one random entry: PS where it is reserved (PML4E/PML5E), a large leaf's
    bits above the PAT bit (levels in large_levels), or an address bit at or above MAXPHYADDR."""
    k = rng.randrange(len(path))
    level = levels - k
    if level >= 4 and rng.random() < 0.5:
        path[k] |= PS
    elif level in large_levels and path[k] & PS:
        path[k] |= 1 << rng.randrange(13, 21 if level == 2 else 30)
    else:
        path[k] |= 1 << rng.randrange(maxphyaddr, 52)


def random_case(cid, rng, maxphyaddr=40):
    """A seeded random case: one path with random rights, A/D, keys, page size,
    paging mode, control registers, CPL and access; now and then a reserved bit,
    a missing entry or a non-canonical address."""
    la57 = rng.random() < 0.3
    levels = 5 if la57 else 4
    leaf_level = rng.choices([1, 2, 3], weights=[65, 25, 10])[0]
    access = rng.choice(["read", "write", "fetch", "implicit"])
    cpl = rng.choice([0, 3])
    flags = {f for f in ("wp", "smep", "smap", "pke", "nxe", "ac") if rng.random() < 0.5}
    if la57:
        flags.add("la57")
    top = rng.randrange(1 if la57 else 2, 512)
    gva = top << (12 + 9 * (levels - 1))
    for level in range(levels - 1, leaf_level, -1):
        gva |= rng.randrange(512) << (12 + 9 * (level - 1))
    if leaf_level == 1:
        gva |= rng.randrange(0, 0x1000, 8)
        pa = S + rng.randrange(512) * 0x1000
    elif leaf_level == 2:
        gva |= rng.randrange(0, 0x200000, 8)
        pa = S
    else:
        gva |= S + rng.randrange(0, hw_run.SCRATCH_SIZE, 8)
        pa = 0
    if top >= 256:
        gva |= ~((1 << (12 + 9 * levels)) - 1) & ((1 << 64) - 1)  # sign-extend: the upper half
    noncanonical = access != "implicit" and rng.random() < 0.03

    path = random_path(rng, levels, leaf_level)
    if rng.random() < 0.06:
        add_random_rsvd(rng, path, levels, maxphyaddr, large_levels=(2, 3))
    pkru = rng.getrandbits(32) if "pke" in flags else 0
    case = path_case(cid, gva, path, levels=levels, leaf_pa_value=pa, cpl=cpl, access=access, flags=flags, pkru=pkru)
    if noncanonical:
        case.gva ^= 1 << (12 + 9 * levels - 1)  # flip the top bit only, after the path is built
    return case


def random_cases(seed, count, first_id=1000, maxphyaddr=40):
    rng = random.Random(seed)
    return [random_case(first_id + n, rng, maxphyaddr) for n in range(count)]


# Nested-paging cases: a CPL-0 SVM guest walking the 4-level path of G4 (all P|RW|US,
# A clear) over the library's nested tables, identity over 0..4 GiB, with edits
# (table 0xFF entries) to one 4 KiB nested page: the data page or a guest table.
NPT_EDIT = 0xFF
NPT_UNMAP, NPT_FLAGS = 0, 1
DATA_PAGE = S + 0x3000


def npt_case(cid, edits, access="read", path=None, flags=()):
    case = path_case(cid, G4, path or [ALL] * 4, access=access, flags=set(flags) | {"npt"})
    case.entries += [(NPT_EDIT, kind, value, table) for kind, value, table in edits]
    return case


# EXITINFO1 (APM Vol. 2 §15.25.6): the #PF error-code bits of the nested access
# (U always set: nested accesses are user accesses), bit 32 for the final
# guest-physical address, bit 33 for a guest page-table access; EXITINFO2 the
# guest-physical address. Guest page-table accesses count as writes (the walk may
# have to set A/D), as QEMU and KVM's nested walker treat them. For table faults
# EXITINFO2 is compared by its offset in the table page (the table's address is
# the image's own choice).
FINAL, TABLE = 1 << 32, 1 << 33
NPT_HAND = [
    ("nested: read through", npt_case(501, []), ("ok", PA4, "1111")),
    ("nested: data page not present", npt_case(502, [(NPT_UNMAP, DATA_PAGE, None)]),
     ("npf", FINAL | 0x4, PA4, "1111")),
    ("nested: write to a read-only data page", npt_case(503, [(NPT_FLAGS, DATA_PAGE | P, None)], access="write"),
     ("npf", FINAL | 0x7, PA4, "1113")),
    ("nested: fetch from an NX data page", npt_case(504, [(NPT_FLAGS, DATA_PAGE | P | RW | XD, None)],
                                                    access="fetch"), ("npf", FINAL | 0x15, PA4, "1111")),
    ("nested: guest page table not present", npt_case(505, [(NPT_UNMAP, 0, 3)]), ("npf", TABLE | 0x6, 0x8, "1110")),
    ("nested: guest page table read-only", npt_case(506, [(NPT_FLAGS, P, 3)]), ("npf", TABLE | 0x7, 0x8, "1110")),
    ("nested: write through", npt_case(507, [], access="write"), ("ok", PA4, "1113")),
    ("nested: fetch through", npt_case(508, [], access="fetch"), ("ok", PA4, "1111")),
    ("nested: guest #PF is intercepted", npt_case(509, [], path=[ALL] * 3 + [RW | US]), ("pf", 0x0, G4, "1110")),
    ("nested: guest page directory read-only", npt_case(510, [(NPT_FLAGS, P, 2)], access="write"),
     ("npf", TABLE | 0x7, 0x0, "1100")),
]


# Legacy paging modes (flags "pae" or "legacy32", "pse" for CR4.PSE): run by the
# image as a 32-bit SVM guest over an identity nested map of 0..4 GiB.
def legacy_index(mode, level, gva):
    if mode == "legacy32":
        return (gva >> (12 + 10 * (level - 1))) & 1023
    return (gva >> 30) & 3 if level == 3 else (gva >> (12 + 9 * (level - 1))) & 511


def legacy_case(cid, gva, path, mode, leaf_pa_value=None, **kw):
    """One translation path for a 32-bit gva: path[k] is the entry at level
    top-k (PDPTE, PDE, PTE for PAE; PDE, PTE for 32-bit); the last is the leaf."""
    top = 3 if mode == "pae" else 2
    leaf_level = top - len(path) + 1
    if leaf_pa_value is None:
        leaf_pa_value = S if leaf_level == 2 else S + 0x3000
    entries, table, tables = [], 0, 1
    for k, value in enumerate(path):
        level = top - k
        index = legacy_index(mode, level, gva)
        if level == leaf_level:
            entries.append((table, index, value | leaf_pa_value, None))
        else:
            entries.append((table, index, value, tables))
            table, tables = tables, tables + 1
    flags = set(kw.pop("flags", ())) | {mode}
    return Case(id=cid, gva=gva, tables=tables, entries=entries, flags=frozenset(flags), **kw)


G32 = (2 << 22) | (1 << 12) | 0x10     # 32-bit: PDE 2, PTE 1, offset 0x10
G32L = (8 << 22) | 0x12340             # 32-bit: 4 MiB page at PDE 8
GP3 = (1 << 30) | (1 << 21) | (1 << 12) | 0x10  # PAE: PDPTE 1, PDE 1, PTE 1
GP2 = (2 << 30) | (3 << 21) | 0x12340  # PAE: 2 MiB page at PDPTE 2, PDE 3
PA32 = S + 0x3010
FINAL_NPF = 1 << 32


def l32(cid, path, **kw):
    return legacy_case(cid, G32 if len(path) == 2 else G32L, path, "legacy32", **kw)


def pae(cid, path, **kw):
    return legacy_case(cid, GP2 if len(path) == 2 else GP3, path, "pae", **kw)


def pae_with_spare_pdpte(cid, spare, **kw):
    """A well-formed PAE path plus PDPTE 3, linked to an empty page directory,
    with the value spare: the access never uses it."""
    case = pae(cid, [P, ALL, ALL], **kw)
    case.entries.append((0, 3, spare, case.tables))
    case.tables += 1
    return case


# (name, case, the SDM's outcome derived by hand from §4.3, §4.4.1, §4.6-§4.8).
# A/D digits: PAE PDPTEs have no accessed flag (their bits 8:5 are reserved).
LEGACY_HAND = [
    ("32-bit: user read", l32(601, [ALL, ALL], cpl=3), ("ok", PA32, "11")),
    ("32-bit: user write sets D", l32(602, [ALL, ALL], cpl=3, access="write"), ("ok", PA32, "13")),
    ("32-bit: user read of a supervisor page", l32(603, [ALL, P | RW], cpl=3), ("pf", 0x5, G32, "10")),
    ("32-bit: WP=1 supervisor write to read-only", l32(604, [ALL, P | US], access="write", flags={"wp"}),
     ("pf", 0x3, G32, "10")),
    ("32-bit: WP=0 supervisor write to read-only", l32(605, [ALL, P | US], access="write"), ("ok", PA32, "13")),
    ("32-bit: SMEP blocks a supervisor fetch from a user page", l32(606, [ALL, ALL], access="fetch", flags={"smep"}),
     ("pf", 0x11, G32, "10")),
    ("32-bit: fetch fault without SMEP has no I/D, even with EFER.NXE",
     l32(607, [ALL, RW | US], access="fetch", flags={"nxe"}), ("pf", 0x0, G32, "10")),
    ("32-bit: SMAP, AC=0: supervisor read of a user page", l32(608, [ALL, ALL], flags={"smap"}),
     ("pf", 0x1, G32, "10")),
    ("32-bit: SMAP, AC=1: supervisor read allowed", l32(609, [ALL, ALL], flags={"smap", "ac"}), ("ok", PA32, "11")),
    ("32-bit: PS without CR4.PSE is ignored", l32(610, [ALL | PS, ALL], cpl=3), ("ok", PA32, "11")),
    ("32-bit PSE: 4 MiB page", l32(611, [ALL | PS], cpl=3, flags={"pse"}), ("ok", S + 0x12340, "1")),
    ("32-bit PSE: 4 MiB page write sets D", l32(612, [ALL | PS], access="write", flags={"pse"}),
     ("ok", S + 0x12340, "3")),
    ("PSE-36: PDE bit 13 is physical bit 32 (past the nested map)", l32(613, [ALL | PS | (1 << 13)], flags={"pse"}),
     ("npf", FINAL_NPF | 0x4, (1 << 32) | S + 0x12340, "1")),
    ("PSE-36: PDE bits 20:13 all set reach physical bit 39 (MAXPHYADDR 40)",
     l32(614, [ALL | PS | (0xFF << 13)], access="write", flags={"pse"}),
     ("npf", FINAL_NPF | 0x6, (0xFF << 32) | S + 0x12340, "3")),
    ("PSE: PDE bit 21 is reserved at MAXPHYADDR 40", l32(615, [ALL | PS | (1 << 21)], flags={"pse"}),
     ("pf", 0x9, G32L, "0")),
    ("32-bit: PDE not present", l32(616, [RW | US, ALL], cpl=3), ("pf", 0x4, G32, "00")),
    ("32-bit PSE: user read of a supervisor 4 MiB page", l32(617, [P | RW | PS], cpl=3, flags={"pse"}),
     ("pf", 0x5, G32L, "0")),
    ("PAE: user read; the PDPTE gets no A", pae(621, [P, ALL, ALL], cpl=3), ("ok", PA32, "011")),
    ("PAE: user write sets D", pae(622, [P, ALL, ALL], cpl=3, access="write"), ("ok", PA32, "013")),
    ("PAE: XD with NXE, supervisor fetch", pae(623, [P, ALL, ALL | XD], access="fetch", flags={"nxe"}),
     ("pf", 0x11, GP3, "010")),
    ("PAE: XD without NXE is reserved", pae(624, [P, ALL, ALL | XD]), ("pf", 0x9, GP3, "010")),
    ("PAE: XD in the PDE with NXE, user fetch", pae(625, [P, ALL | XD, ALL], cpl=3, access="fetch", flags={"nxe"}),
     ("pf", 0x15, GP3, "010")),
    ("PAE: user fetch with NXE, no XD", pae(626, [P, ALL, ALL], cpl=3, access="fetch", flags={"nxe"}),
     ("ok", PA32, "011")),
    ("PAE: PDPTE bit 1 reserved: #GP at the CR3 load", pae(627, [P | RW, ALL, ALL]), ("gp", "000")),
    ("PAE: PDPTE bit 45 reserved at MAXPHYADDR 40: #GP", pae(628, [P | (1 << 45), ALL, ALL]), ("gp", "000")),
    ("PAE: a reserved bit in a PDPTE the access does not use: #GP all the same",
     pae_with_spare_pdpte(629, P | (1 << 5)), ("gp", "0001")),
    ("PAE: a PDPTE that is not present may hold reserved bits", pae_with_spare_pdpte(630, RW | (1 << 45)),
     ("ok", PA32, "0110")),
    ("PAE: PDPTE not present", pae(631, [RW | US]), ("pf", 0x0, GP3, "0")),
    ("PAE: 2 MiB page", pae(632, [P, ALL | PS], cpl=3), ("ok", S + 0x12340, "01")),
    ("PAE: 2 MiB PDE bit 13 reserved", pae(633, [P, ALL | PS | (1 << 13)]), ("pf", 0x9, GP2, "00")),
    ("PAE: PTE bit 62 reserved (bits 62:MAXPHYADDR)", pae(634, [P, ALL, ALL | (1 << 62)]), ("pf", 0x9, GP3, "010")),
    ("PAE: a leaf above 4 GiB is past the nested identity map",
     pae(635, [P, ALL, ALL], leaf_pa_value=(1 << 32) | 0x3000), ("npf", FINAL_NPF | 0x4, (1 << 32) | 0x3010, "011")),
    ("PAE: SMEP blocks a supervisor fetch from a user page", pae(636, [P, ALL, ALL], access="fetch", flags={"smep"}),
     ("pf", 0x11, GP3, "010")),
    ("PAE: WP=1 supervisor write to read-only", pae(637, [P, ALL, P | US], access="write", flags={"wp"}),
     ("pf", 0x3, GP3, "010")),
    ("PAE: user write to read-only", pae(638, [P, ALL, P | US], cpl=3, access="write"), ("pf", 0x7, GP3, "010")),
    ("PAE: SMAP, AC=1, user page read at CPL 0", pae(639, [P, ALL, ALL], flags={"smap", "ac"}), ("ok", PA32, "011")),
]


def random_legacy_case(cid, rng, maxphyaddr=40):
    """A seeded random 32-bit or PAE case: one path with random rights, A/D,
    page size, control registers, CPL and access; now and then a reserved bit
    (PDPTE bits included), a missing entry, or a leaf beyond 4 GiB."""
    mode = rng.choice(["pae", "legacy32"])
    flags = {f for f in ("wp", "smep", "smap", "nxe", "ac") if rng.random() < 0.5}
    if mode == "legacy32" and rng.random() < 0.6:
        flags.add("pse")
    large = rng.random() < 0.3 and (mode == "pae" or "pse" in flags)
    access = rng.choice(["read", "write", "fetch"])
    cpl = rng.choice([0, 3])
    if mode == "pae":
        gva = rng.randrange(1, 4) << 30
        gva |= rng.randrange(512) << 21
        gva |= rng.randrange(0, 0x200000, 8) if large else (rng.randrange(512) << 12) | rng.randrange(0, 0x1000, 8)
    else:
        gva = rng.randrange(2, 1024) << 22
        gva |= rng.randrange(0, 0x200000, 8) if large else (rng.randrange(1024) << 12) | rng.randrange(0, 0x1000, 8)
    if large:
        pa = S
    else:
        pa = S + rng.randrange(512) * 0x1000
    if mode == "pae" and rng.random() < 0.03:
        pa |= rng.randrange(1, 256) << 32  # past the nested identity map
    path = []
    levels = (3 if mode == "pae" else 2) - (1 if large else 0)
    for k in range(levels):
        level = (3 if mode == "pae" else 2) - k
        if mode == "pae" and level == 3:
            path.append(P if rng.random() < 0.97 else rng.choice([0, RW]))
            continue
        value = P if rng.random() < 0.95 else 0
        value |= RW if rng.random() < 0.75 else 0
        value |= US if rng.random() < 0.75 else 0
        value |= A if rng.random() < 0.3 else 0
        if mode == "pae":
            value |= XD if rng.random() < 0.1 else 0
        if k == levels - 1:
            value |= D if rng.random() < 0.3 else 0
            value |= PS if large else 0
        elif mode == "legacy32" and rng.random() < 0.1:
            value |= PS  # ignored without CR4.PSE; with it this entry would be a leaf
            if "pse" in flags:
                value &= ~PS
        path.append(value)
    if large and mode == "legacy32":
        if rng.random() < 0.08:
            path[-1] |= rng.randrange(1, 256) << 13  # PSE-36: physical bits 39:32
        if rng.random() < 0.05:
            path[-1] |= 1 << 21  # reserved at MAXPHYADDR 40
    if rng.random() < 0.08:
        k = rng.randrange(len(path))
        level = (3 if mode == "pae" else 2) - k
        if mode == "pae" and level == 3:
            path[k] |= rng.choice([1 << 1, 1 << 2, 1 << 5, 1 << 6, 1 << 8, 1 << rng.randrange(maxphyaddr, 64)])
        elif mode == "pae":
            path[k] |= 1 << rng.choice([rng.randrange(maxphyaddr, 63), rng.randrange(13, 21) if path[k] & PS else 62])
    pkru = 0
    return legacy_case(cid, gva, path, mode, leaf_pa_value=pa, cpl=cpl, access=access, flags=flags, pkru=pkru)


def random_legacy_cases(seed, count, first_id=30000, maxphyaddr=40):
    rng = random.Random(seed)
    return [random_legacy_case(first_id + n, rng, maxphyaddr) for n in range(count)]


# Seeded random nested-paging cases: a guest path (4-level at CPL 0, or PAE or
# 32-bit paging at CPL 0 or 3) and up to three nested edits, each of the page
# of one guest table or of the final page: not present, read-only, NX, a
# reserved bit (an address bit at or above MAXPHYADDR; bits 20:13 of a 2 MiB
# nested leaf), or the whole 2 MiB nested page of the final page as one leaf.
NPT_FLAGS_2M, NPT_RSVD = 2, 3


def random_npt_case(cid, rng, maxphyaddr=40):
    kind = rng.choices(["4level", "pae", "legacy32"], weights=[50, 25, 25])[0]
    if kind == "4level":
        while True:
            case = random_case(cid, rng, maxphyaddr)
            if "la57" not in case.flags and case.access != "implicit":
                break
        case.cpl, case.pkru = 0, 0
        case.flags = frozenset(case.flags - {"pke"})
    else:
        while True:
            case = random_legacy_case(cid, rng, maxphyaddr)
            if kind in case.flags:
                break
    case.flags = frozenset(case.flags | {"npt"})
    plain = sdm_model.expect(case, maxphyaddr)
    in_scratch = plain[0] == "ok" and S <= plain[1] < S + hw_run.SCRATCH_SIZE
    data = plain[1] & ~0xFFF if in_scratch else S + rng.randrange(512) * 0x1000
    data_2m = False
    for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        on_table = rng.random() < 0.5
        what = rng.choices(["unmap", "flags", "flags2m", "rsvd"], weights=[25, 45, 10, 20])[0]
        flags = P | (RW if rng.random() < 0.6 else 0) | (XD if rng.random() < 0.3 else 0)
        if on_table:
            table = rng.randrange(case.tables)
            if what == "rsvd" and sdm_model.NestedMap(case, maxphyaddr).state(("table", table)) is None:
                what = "flags"  # the library sets a bit only in a present leaf
            if what == "unmap":
                case.entries.append((NPT_EDIT, NPT_UNMAP, 0, table))
            elif what == "rsvd":
                case.entries.append((NPT_EDIT, NPT_RSVD, rng.randrange(maxphyaddr, 52), table))
            else:
                case.entries.append((NPT_EDIT, NPT_FLAGS, flags, table))
        elif what == "unmap":
            case.entries.append((NPT_EDIT, NPT_UNMAP, data, None))
        elif what == "flags2m":
            case.entries.append((NPT_EDIT, NPT_FLAGS_2M, data | flags, None))
            data_2m = True
        elif what == "rsvd" and sdm_model.NestedMap(case, maxphyaddr).state(data) is None:
            case.entries.append((NPT_EDIT, NPT_FLAGS, data | flags, None))
            data_2m = False
        elif what == "rsvd" and data_2m and rng.random() < 0.5:
            # bits 20:13 of the 2 MiB leaf: the last data edit (a split would move the pages)
            case.entries.append((NPT_EDIT, NPT_RSVD, data | rng.randrange(13, 21), None))
            break
        elif what == "rsvd":
            case.entries.append((NPT_EDIT, NPT_RSVD, data | rng.randrange(maxphyaddr, 52), None))
        else:
            case.entries.append((NPT_EDIT, NPT_FLAGS, data | flags, None))
            data_2m = False
    return case


def random_npt_cases(seed, count, first_id=60000, maxphyaddr=40):
    rng = random.Random(seed)
    return [random_npt_case(first_id + n, rng, maxphyaddr) for n in range(count)]


# At MAXPHYADDR 36 (QEMU -cpu max,phys-bits=36), Table 4-4 makes bits 21:17 of
# a 4 MiB PDE reserved and leaves bits 16:13 for physical bits 35:32.
PSE36_AT_36 = [
    ("PSE-36 at MAXPHYADDR 36: bit 17 (physical bit 36) is reserved",
     l32(801, [ALL | PS | (1 << 17)], flags={"pse"}), ("pf", 0x9, G32L, "0")),
    ("PSE-36 at MAXPHYADDR 36: bit 20 (physical bit 39) is reserved",
     l32(802, [ALL | PS | (1 << 20)], access="write", flags={"pse"}), ("pf", 0xB, G32L, "0")),
    ("PSE-36 at MAXPHYADDR 36: bit 16 is physical bit 35 (past the nested map)",
     l32(803, [ALL | PS | (1 << 16)], flags={"pse"}), ("npf", FINAL_NPF | 0x4, (1 << 35) | S + 0x12340, "1")),
    ("PAE at MAXPHYADDR 36: PTE bit 36 is reserved", pae(804, [P, ALL, ALL | (1 << 36)]), ("pf", 0x9, GP3, "010")),
]


def with_edits(case, edits):
    case.entries += [(NPT_EDIT, kind, value, table) for kind, value, table in edits]
    return case


# Nested edits beyond not-present and read-only, and the PAE guest's PDPT under
# nested paging; the APM's outcomes (§15.25.6), derived by hand. The final page
# lies in the scratch region's 2 MiB nested page, a guest table outside it.
RSVD_ADDR_BIT = 45  # at or above MAXPHYADDR 40: reserved in a nested entry
NPT_EDIT_HAND = [
    ("nested: reserved address bit in the data page's leaf",
     npt_case(521, [(NPT_RSVD, DATA_PAGE | RSVD_ADDR_BIT, None)]), ("npf", FINAL | 0xD, PA4, "1111")),
    ("nested: reserved address bit in the guest page table's leaf",
     npt_case(522, [(NPT_RSVD, RSVD_ADDR_BIT, 3)]), ("npf", TABLE | 0xF, 0x8, "1110")),
    ("nested: 2 MiB nested leaf, read-only, write", npt_case(523, [(NPT_FLAGS_2M, DATA_PAGE | P, None)],
                                                             access="write"), ("npf", FINAL | 0x7, PA4, "1113")),
    ("nested: 2 MiB nested leaf, NX, fetch", npt_case(524, [(NPT_FLAGS_2M, DATA_PAGE | P | RW | XD, None)],
                                                      access="fetch"), ("npf", FINAL | 0x15, PA4, "1111")),
    ("nested: bit 13 of a 2 MiB nested leaf is reserved",
     npt_case(525, [(NPT_FLAGS_2M, DATA_PAGE | P | RW, None), (NPT_RSVD, DATA_PAGE | 13, None)]),
     ("npf", FINAL | 0xD, PA4, "1111")),
    ("nested: a 4 KiB edit inside a 2 MiB nested leaf keeps the rest of it",
     npt_case(526, [(NPT_FLAGS_2M, DATA_PAGE | P, None), (NPT_FLAGS, S | P | RW, None)], access="write"),
     ("npf", FINAL | 0x7, PA4, "1113")),
    ("nested: the guest's root table read-only stops its own code fetch",
     npt_case(527, [(NPT_FLAGS, P, 0)]), ("npf", TABLE | 0x7, 0x0, "0000")),
    ("nested PAE: PDPT page not present: #NPF at the CR3 load, PDPTE 0 first",
     with_edits(pae(528, [P, ALL, ALL], flags={"npt"}), [(NPT_UNMAP, 0, 0)]), ("npf", TABLE | 0x6, 0x0, "000")),
    ("nested PAE: page directory read-only", with_edits(pae(529, [P, ALL, ALL], flags={"npt"}), [(NPT_FLAGS, P, 1)]),
     ("npf", TABLE | 0x7, 0x8, "000")),
    ("nested 32-bit, CPL 3: page table not present",
     with_edits(l32(530, [ALL, ALL], cpl=3, flags={"npt"}), [(NPT_UNMAP, 0, 1)]), ("npf", TABLE | 0x6, 0x4, "10")),
]
