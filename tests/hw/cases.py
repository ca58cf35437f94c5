"""Page-walk cases for the hardware backend: a builder for one translation path,
hand-written cases with hand-derived expected outcomes, and a seeded generator."""
import importlib.machinery
import importlib.util
import os
import random

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
    if rng.random() < 0.06:
        k = rng.randrange(len(path))
        level = levels - k
        if level >= 4 and rng.random() < 0.5:
            path[k] |= PS
        elif level in (2, 3) and path[k] & PS:
            path[k] |= 1 << rng.randrange(13, 21 if level == 2 else 30)
        else:
            path[k] |= 1 << rng.randrange(maxphyaddr, 52)
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
