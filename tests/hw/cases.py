"""Page-walk cases for the hardware backend: the hand-written cases of tests/cases/x86_paging.cases (each with
its outcome derived by hand) as tools/hw-run cases, a builder for one translation path, and seeded generators."""
import importlib.machinery
import importlib.util
import os
import random
import sys

import sdm_model

ROOT = os.environ.get("NESTWALK_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "cases"))

import case_file  # noqa: E402


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


MODE_FLAGS = {"4-level": set(), "5-level": {"la57"}, "pae": {"pae"}, "32-bit": {"legacy32"}}


def path_case(cid, gva, path, levels=4, leaf_pa_value=None, **kw):
    """One 4-/5-level translation path for gva: path[k] is the entry (flag bits) at level
    levels-k; the last one is the leaf and gets the leaf's physical address."""
    mode = "5-level" if levels == 5 else "4-level"
    tables, entries = case_file.build_path(mode, gva, path, leaf_pa_value, S)
    flags = set(kw.pop("flags", ())) | MODE_FLAGS[mode]
    return Case(id=cid, gva=gva, tables=tables, entries=entries, flags=frozenset(flags), **kw)


def legacy_case(cid, gva, path, mode, leaf_pa_value=None, **kw):
    """One translation path for a 32-bit gva (mode "pae" or "legacy32"): path[k] is the entry at level
    top-k (PDPTE, PDE, PTE for PAE; PDE, PTE for 32-bit); the last is the leaf."""
    mode = "pae" if mode == "pae" else "32-bit"
    tables, entries = case_file.build_path(mode, gva, path, leaf_pa_value, S)
    flags = set(kw.pop("flags", ())) | MODE_FLAGS[mode]
    return Case(id=cid, gva=gva, tables=tables, entries=entries, flags=frozenset(flags), **kw)


# Nested-paging edits of the image's nested map (hw/contract/blob.h): entries of table 0xFF.
NPT_EDIT = 0xFF
NPT_UNMAP, NPT_FLAGS, NPT_FLAGS_2M, NPT_RSVD = (case_file.EDITS[k] for k in ("unmap", "flags", "flags2m", "rsvd"))
FINAL, TABLE = 1 << 32, 1 << 33


def hw_case(sdm):
    """The tools/hw-run case of a case-file case: its entries, then its nested edits."""
    edits = [(NPT_EDIT, kind, value, table) for kind, value, table in sdm.edits]
    return Case(id=sdm.id, gva=sdm.gva, access=sdm.access, cpl=sdm.cpl,
                flags=frozenset(sdm.flags | MODE_FLAGS[sdm.mode]), pkru=sdm.pkru, tables=sdm.tables,
                entries=list(sdm.entries) + edits)


SDM_CASES, CONSTS = case_file.read()
assert CONSTS["S"] == S, "tests/cases/x86_paging.cases: S is not tools/hw-run's SCRATCH_BASE"
G4, DATA_PAGE = CONSTS["G4"], CONSTS["DATA_PAGE"]


def group(name):
    """(name, case, the outcome derived by hand) of one group of the case file."""
    return [(c.name, hw_case(c), c.expect) for c in SDM_CASES if c.group == name]


HAND = group("paging")              # 4-/5-level paging on the image's own MMU
NPT_HAND = group("nested")          # nested paging, the guest walking G4's path
LEGACY_HAND = group("legacy")       # PAE and 32-bit paging, as a 32-bit SVM guest
NPT_EDIT_HAND = group("nested-edits")
PSE36_AT_36 = group("maxphyaddr-36")  # run under QEMU -cpu max,phys-bits=36


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
