"""AArch64 cases with a stage 1 (hw/contract/a64_s1.h) for the AArch64 image: hand cases, each with the line the
image must print derived by hand from the Arm ARM, the S1PTW deviation's case, and a seeded generator.

One layout (both stages 4 KiB granule). Stage 2: VTCR_EL2 0x80023558 (40-bit IPA, start at level 1); the case's
IPAs are in 0x80000000-0x803fffff (stage-2 start-table entry 2 -> a level-2 table): its entry 0 -> a level-3
table whose entry k maps stage-1 table k (IPA 0x80000000 + k * 0x1000, link ("s1", k)) and entry 0x100 + j the
data page IPA 0x80100000 + j * 0x1000 -> scratch page S + (j + 1) * 0x1000; its entry 1 a 2 MiB block at IPA
0x80200000 -> the whole scratch region.
Stage 1: TCR_EL1 0x2_8019_0019 (T0SZ/T1SZ 25: 39-bit VAs, three levels from level 1; TG0 4 KiB, TG1 0b10 4 KiB;
IPS 0b010 40 bits), TTBR0_EL1 = IPA 0x80000000 (stage-1 table 0, level 1), MAIR_EL1 0xff (Attr0 Normal WB),
SCTLR_EL1 M. Level 1: entry 0 -> table 1 (IPA 0x80001000, level 2); entry 1 a 1 GiB block at IPA 0x40000000,
AP[2:1] 0b11 (read-only at EL1 and EL0), UXN and PXN clear: the image's code and vectors at VA = IPA. Level 2:
entry 0 -> table 2 (IPA 0x80002000, level 3), entry 1 a 2 MiB block at IPA 0x80200000. Level 3: entry j the page
of VA j * 0x1000 -> IPA 0x80100000 + j * 0x1000.

Lines: "ok PA"; "exc ESR_EL1 FAR_EL1" for a stage-1 abort taken to EL1; "abort ESR_EL2 FAR_EL2 HPFAR_EL2" for a
stage-2 abort. ESR = EC << 26 | IL (0x02000000) | ISS: EC 0x24 data abort from a lower EL (ESR_EL1 from EL0,
every ESR_EL2: 0x92000000), 0x25 from EL1 itself (0x96000000), 0x20 / 0x21 instruction aborts (0x82000000 /
0x86000000); WnR bit 6 (0x40); S1PTW bit 7 (0x80); DFSC 0b0000LL address size, 0b0001LL translation, 0b0010LL
access flag, 0b0011LL permission. A stage-1 abort has no instruction syndrome (ISV 0); a stage-2 abort on the
final access of the image's "ldr/str/ldtr/sttr x1, [x0]" has ISV, SAS 0b11, SRT 1, SF (0x01c18000 more), one
on a stage-1 table read none. FAR the VA; HPFAR_EL2 the IPA's bits 47:12 in bits 43:4, "-" where UNKNOWN
(permission faults). Stage-1 descriptors (Arm ARM D8.3): bits 1:0 0b11 table/page, 0b01 block; AttrIndx 4:2,
AP[2:1] bits 7:6 (0b00 EL1 read/write, 0b01 EL0 and EL1 read/write, 0b10 EL1 read-only, 0b11 read-only at
both), SH 9:8, AF 10, PXN 53, UXN 54."""
import random

from a64_cases import S, VTCR_40, hw_run, leaf

TCR = 0x280190019
SCTLR_M = 1
EL1H, EL0T, PAN, UAO = 0x5, 0x0, 1 << 22, 1 << 23
S1_IPA, DATA_IPA, BLOCK_IPA = 0x80000000, 0x80100000, 0x80200000
AF, SH, PXN, UXN = 1 << 10, 3 << 8, 1 << 53, 1 << 54
IMAGE_BLOCK = 0x40000000 | AF | SH | 3 << 6 | 1  # 0x400007c1: a read-only 1 GiB block, executable
DABT_LOW, DABT_CUR, IABT_LOW, IABT_CUR = 0x92000000, 0x96000000, 0x82000000, 0x86000000
ISS = 0x01C18000
WNR, S1PTW = 0x40, 0x80


def s1_page(j, ap=0, uxn=False, pxn=False, af=True, oa=None):
    oa = DATA_IPA + j * 0x1000 if oa is None else oa
    return oa | (UXN if uxn else 0) | (PXN if pxn else 0) | (AF if af else 0) | SH | ap << 6 | 3


def hpfar(ipa):
    return ipa >> 12 << 4


def s1_case(cid, access, va, l3=None, el=EL1H, pstate=0, unprivileged=False, l2=None, l1=None, s2_table=None,
            s2_data=None, data_j=None, gva=None):
    """The layout above with the level-3 stage-1 entries l3 {index: value} (default: page 1, AP 0b00), l2 / l1
    entries replacing the defaults, s2_table {k: stage-2 leaf flags or None} for the stage-1 tables' pages and
    s2_data {j: value} for the data pages' stage-2 entries (default read/write, executable)."""
    l3 = {1: s1_page(1)} if l3 is None else l3
    l2 = {0: S1_IPA + 0x2000 | 3, 1: BLOCK_IPA | AF | SH | 1} if l2 is None else l2
    l1 = {0: S1_IPA + 0x1000 | 3, 1: IMAGE_BLOCK} if l1 is None else l1
    s1_entries = [(0, i, v) for i, v in sorted(l1.items())] + [(1, i, v) for i, v in sorted(l2.items())] + \
        [(2, i, v) for i, v in sorted(l3.items())]
    # Stage 2: start[2] -> table 1 (level 2); [0] -> table 2 (level 3); [1] a 2 MiB block over the scratch.
    entries = [(0, 2, 3, 1), (1, 0, 3, 2), (1, 1, leaf(S, page=False), None)]
    tables = {k: leaf(0) for k in range(3)}
    tables.update(s2_table or {})
    for k, value in sorted(tables.items()):
        if value is not None:
            entries.append((2, k, value, ("s1", k)))
    data = {j: leaf(S + (j + 1) * 0x1000) for j in range(4)}
    data.update(s2_data or {})
    for j, value in sorted(data.items()):
        if value is not None:
            entries.append((2, 0x100 + j, value, None))
    s1 = {"sctlr": SCTLR_M, "tcr": TCR, "ttbr0": S1_IPA, "ttbr1": 0, "mair": 0xFF, "va": va, "pstate": el | pstate,
          "unprivileged": unprivileged, "tables": 3, "entries": s1_entries}
    ipa = gva if gva is not None else DATA_IPA + (va & 0x3FFFFF)
    return hw_run.Case(id=cid, gva=ipa, access=access, cpl=1, flags=frozenset({"xnx"}), tables=3, entries=entries,
                       arch="aarch64", vtcr=VTCR_40, s1=s1)


VA = 0x1008  # level-1 [0], level-2 [0], level-3 [1], offset 8: IPA 0x80101008 -> PA S + 0x2008
PA = S + 0x2008


def ok(pa=PA):
    return f"ok {pa:#x}"


def exc(esr, va=VA):
    return f"exc {esr:#x} {va:#x}"


def abort(esr, va=VA, ipa=None):
    return f"abort {esr:#x} {va:#x} " + ("-" if ipa is None else f"{hpfar(ipa):#x}")


# (id, title, case, the line the Arm ARM gives)
HAND = [
    (201, "EL1 read of an EL1 read/write page", s1_case(201, "read", VA), ok()),
    # AP 0b00 gives EL0 nothing: a permission fault at level 3 from EL0: 0x92000000 | 0x0f.
    (202, "EL0 read of an EL1-only page", s1_case(202, "read", VA, el=EL0T), exc(DABT_LOW | 0x0F)),
    # AP 0b10 is read-only: an EL1 store, WnR: 0x96000000 | 0x40 | 0x0f.
    (203, "EL1 store to a read-only page", s1_case(203, "write", VA, l3={1: s1_page(1, ap=2)}),
     exc(DABT_CUR | WNR | 0x0F)),
    (204, "EL0 store to an EL0 read/write page", s1_case(204, "write", VA, l3={1: s1_page(1, ap=1)}, el=EL0T),
     ok()),
    # PAN: an EL1 data access to EL0-accessible memory (AP[1] set) is a permission fault: 0x9600000f; LDTR is
    # checked with EL0's permissions, which PAN leaves alone; with UAO it is an EL1 access again.
    (205, "EL1 read of an EL0 page with PAN", s1_case(205, "read", VA, l3={1: s1_page(1, ap=1)}, pstate=PAN),
     exc(DABT_CUR | 0x0F)),
    (206, "LDTR of an EL0 page with PAN", s1_case(206, "read", VA, l3={1: s1_page(1, ap=1)}, pstate=PAN,
                                                   unprivileged=True), ok()),
    (207, "LDTR with PAN and UAO", s1_case(207, "read", VA, l3={1: s1_page(1, ap=1)}, pstate=PAN | UAO,
                                           unprivileged=True), exc(DABT_CUR | 0x0F)),
    # STTR at EL1 of an EL1-only page (AP 0b00): EL0's permissions refuse it: 0x96000000 | 0x40 | 0x0f.
    (208, "STTR of an EL1-only page", s1_case(208, "write", VA, unprivileged=True), exc(DABT_CUR | WNR | 0x0F)),
    # AF clear, TCR_EL1.HA 0: an Access flag fault at level 3: 0x9600000b.
    (209, "read of a page with AF clear", s1_case(209, "read", VA, l3={1: s1_page(1, af=False)}),
     exc(DABT_CUR | 0x0B)),
    # No level-3 descriptor: translation, level 3: 0x96000007.
    (210, "read through an invalid level-3 descriptor", s1_case(210, "read", VA, l3={}), exc(DABT_CUR | 0x07)),
    # Level-2 entry 0 invalid: translation, level 2: 0x96000006.
    (211, "read through an invalid level-2 descriptor", s1_case(211, "read", VA, l2={1: BLOCK_IPA | AF | SH | 1}),
     exc(DABT_CUR | 0x06)),
    # PXN: an EL1 fetch is an instruction abort from EL1, permission level 3: 0x8600000f; the fetched address is
    # the VA (FAR_EL1).
    (212, "EL1 fetch from a PXN page", s1_case(212, "fetch", VA, l3={1: s1_page(1, pxn=True)}),
     exc(IABT_CUR | 0x0F)),
    # EL0 fetches what UXN leaves it (the scratch word runs and is UNDEFINED at EL0: done), not a UXN page
    # (0x82000000 | 0x0f).
    (213, "EL0 fetch from an EL0 page", s1_case(213, "fetch", VA, l3={1: s1_page(1, ap=1)}, el=EL0T), "ok -"),
    (214, "EL0 fetch from a UXN page", s1_case(214, "fetch", VA, l3={1: s1_page(1, ap=1, uxn=True)}, el=EL0T),
     exc(IABT_LOW | 0x0F)),
    # Output address 2^40 with IPS 40 bits: an Address size fault at level 3: 0x96000003.
    (215, "page output address at the IPS", s1_case(215, "read", VA, l3={1: s1_page(1, oa=1 << 40)}),
     exc(DABT_CUR | 0x03)),
    # A 2 MiB stage-1 block: VA 0x200000 + 0x1238 -> IPA 0x80201238 -> the stage-2 block over the scratch:
    # S + 0x1238.
    (216, "read through a 2 MiB stage-1 block", s1_case(216, "read", 0x201238, gva=BLOCK_IPA + 0x1238),
     ok(S + 0x1238)),
    # Stage 2 on the final access: the data page's stage-2 entry invalid: translation level 3 with the load's
    # syndrome: 0x92000000 | 0x01c18000 | 0x07 = 0x93c18007; HPFAR_EL2 the IPA 0x80101008's page.
    (217, "stage-2 translation fault on the final access", s1_case(217, "read", VA, s2_data={1: None}),
     abort(DABT_LOW | ISS | 0x07, ipa=DATA_IPA + 0x1008)),
    # ... an S2AP read-only data page and an EL0 store: permission level 3, WnR: 0x93c1804f, HPFAR UNKNOWN.
    (218, "EL0 store to a stage-2 read-only page", s1_case(218, "write", VA, l3={1: s1_page(1, ap=1)}, el=EL0T,
                                                             s2_data={1: leaf(S + 0x2000, s2ap=1)}),
     abort(DABT_LOW | ISS | WNR | 0x0F)),
    # Stage 2 on the stage-1 walk: the level-3 table's page (IPA 0x80002000) has no stage-2 entry: a translation
    # fault at stage-2 level 3 while reading it: S1PTW, no syndrome, WnR 0: 0x92000087; HPFAR_EL2 0x800020. (Read
    # at stage-1 level 3 as well, so QEMU's level, a64-s1ptw-level, is the same here.)
    (219, "stage-2 fault reading the level-3 stage-1 table", s1_case(219, "read", VA, s2_table={2: None}),
     abort(DABT_LOW | S1PTW | 0x07, ipa=S1_IPA + 0x2000)),
    # ... its page S2AP 0b00 (no read): a permission fault at level 3 on the walk: 0x9200008f; HPFAR_EL2 is
    # defined for any stage-2 fault on a stage-1 table walk (Arm ARM D19 HPFAR_EL2), so 0x800020 here too.
    (220, "stage-2 no-read page under a stage-1 table", s1_case(220, "read", VA, s2_table={2: leaf(0, s2ap=0)}),
     abort(DABT_LOW | S1PTW | 0x0F, ipa=S1_IPA + 0x2000)),
    (221, "fetch over an unmapped stage-1 table", s1_case(221, "fetch", VA, s2_table={2: None}),
     abort(IABT_LOW | S1PTW | 0x07, ipa=S1_IPA + 0x2000)),
    # A store over the same unmapped table: WnR is the store instruction's direction, not the walk's read (D24.2.46
    # ESR_EL2, WnR: "Abort caused by an instruction writing to a memory location"; J1.1 AArch64.S2Translate keeps
    # the instruction's FaultRecord.write): 0x92000087 | 0x40 = 0x920000c7.
    (222, "store over an unmapped stage-1 table", s1_case(222, "write", VA, s2_table={2: None}),
     abort(DABT_LOW | S1PTW | WNR | 0x07, ipa=S1_IPA + 0x2000)),
]

# Where QEMU 7.2 departs from the Arm ARM (hw/DEVIATIONS.md): case, the Arm ARM's line, QEMU's.
DEVIATION_CASES = {
    # The level-2 stage-1 table's page (IPA 0x80001000) has no stage-2 entry: a translation fault at stage-2
    # level 3 while the walk reads stage-1 level 2: the Arm ARM's DFSC names stage 2's level, 0x92000087; QEMU
    # 7.2 names the stage-1 level being read, 0x92000086.
    "a64-s1ptw-level": (s1_case(301, "read", VA, s2_table={1: None}),
                        abort(DABT_LOW | S1PTW | 0x07, ipa=S1_IPA + 0x1000),
                        abort(DABT_LOW | S1PTW | 0x06, ipa=S1_IPA + 0x1000)),
}


def random_case(rng, cid):
    """The layout with one data page j (VA j * 0x1000, or the 2 MiB block) whose stage-1 and stage-2 descriptors,
    the tables' stage-2 pages and the PE state are drawn at random."""
    j = rng.randrange(4)
    block = rng.random() < 0.15
    va = (0x200000 + rng.randrange(0, 0x200000, 8)) if block else j * 0x1000 + rng.randrange(0, 0x1000, 8)
    access = rng.choice(["read", "write", "fetch"])
    el = rng.choice([EL1H, EL0T])
    pstate = (PAN if rng.random() < 0.3 else 0) | (UAO if rng.random() < 0.2 else 0)
    unprivileged = access != "fetch" and rng.random() < 0.2
    l3 = {}
    if rng.random() < 0.9:
        oa = (1 << 40) | DATA_IPA + j * 0x1000 if rng.random() < 0.05 else None
        l3[j] = s1_page(j, ap=rng.randrange(4), uxn=rng.random() < 0.3, pxn=rng.random() < 0.3,
                        af=rng.random() < 0.85, oa=oa)
    # Hierarchical controls on the level-2 table descriptor: APTable (bits 62:61), UXNTable, PXNTable.
    controls = rng.choice([0, 0, 0, 1 << 59, 1 << 60, 1 << 61, 1 << 62])
    l2 = {0: S1_IPA + 0x2000 | 3 | controls}
    if rng.random() < 0.9:
        l2[1] = BLOCK_IPA | AF | SH | 1 | rng.randrange(4) << 6 | (UXN if rng.random() < 0.3 else 0) | \
            (PXN if rng.random() < 0.3 else 0)
    s2_table = {}
    if rng.random() < 0.1:  # not table 0's page: the image's code is reached through it
        s2_table[rng.randrange(1, 3)] = rng.choice([None, leaf(0, s2ap=0), leaf(0, af=False), leaf(0, s2ap=2)])
    s2_data = {}
    if rng.random() < 0.4:
        s2_data[j] = rng.choice([None, leaf(S + (j + 1) * 0x1000, s2ap=rng.randrange(4), xn=rng.randrange(4),
                                            af=rng.random() < 0.8)])
    gva = BLOCK_IPA + (va - 0x200000) if block else DATA_IPA + va
    return s1_case(cid, access, va, l3=l3, el=el, pstate=pstate, unprivileged=unprivileged, l2=l2,
                   s2_table=s2_table, s2_data=s2_data, gva=gva)


def random_cases(seed, count, first_id=5000):
    rng = random.Random(seed)
    return [random_case(rng, first_id + i) for i in range(count)]


def explaining_rows(library, qemu):
    """The rows of DEVIATION_CASES that together make QEMU's line out of the library's: a stage-2 fault on a
    stage-1 table read (S1PTW) whose DFSC QEMU gives the stage-1 level (a64-s1ptw-level); None when they do not
    account for the difference."""
    lib, got = library.split(), qemu.split()
    if lib[0] != "abort" or got[0] != "abort" or lib[2] != got[2] or not int(lib[1], 0) & S1PTW:
        return None
    if lib[3] != "-" and lib[3] != got[3]:
        return None
    want, have = int(lib[1], 0), int(got[1], 0)
    return {"a64-s1ptw-level"} if want & ~3 == have & ~3 and want & 3 != have & 3 else None
