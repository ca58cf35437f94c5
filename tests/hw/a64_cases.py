"""AArch64 stage-2 cases for the AArch64 image (hw/aarch64/, hw/contract/a64_case.h): the hand-written cases,
each with the line the image must print derived by hand from the Arm ARM (below), and a seeded generator.

ESR_EL2 of a stage-2 abort (Arm ARM D19, ESR_EL2; ISS encodings for Data Abort and Instruction Abort):
  EC bits 31:26: 0x24 data abort from a lower EL (0x90000000), 0x20 instruction abort (0x80000000);
  IL bit 25 (0x02000000);
  data aborts on the final access of the image's "ldr x1, [x0]" / "str x1, [x0]": ISV bit 24 (0x01000000),
  SAS bits 23:22 = 0b11 doubleword (0x00c00000), SRT bits 20:16 = 1 (0x00010000), SF bit 15 (0x00008000):
  together 0x93c18000 for a load, plus WnR bit 6 (0x40) for a store; a fetch 0x82000000;
  DFSC/IFSC bits 5:0: 0b0000LL address size, 0b0001LL translation, 0b0010LL access flag, 0b0011LL
  permission, LL the level (e.g. 0x0f permission level 3, 0x07 translation level 3).
FAR_EL2: the faulting VA; stage 1 is off, so the IPA. HPFAR_EL2: FIPA, IPA bits 47:12, in bits 43:4 (IPA >> 12
<< 4); UNKNOWN for a permission fault on the final access ("-": the library does not model it, the test
compares it only where the Arm ARM defines it).
Descriptors (Arm ARM D8.3): bits 1:0 0b11 a table (levels 0-2) or a page (level 3), 0b01 a block (levels 1-2);
MemAttr bits 5:2, S2AP bits 7:6 (bit 6 read, bit 7 write), SH bits 9:8, AF bit 10, XN[1:0] bits 54:53: with
FEAT_XNX 0b00 executable at EL1 and EL0, 0b01 not at EL1, 0b10 at neither, 0b11 not at EL0."""
import random

from cases import hw_run  # tools/hw-run, loaded once for every hardware test
S = hw_run.A64_SCRATCH_BASE
PS_BITS = {0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48}
AF, SH_INNER, MEMATTR_WB = 1 << 10, 3 << 8, 0xF << 2
S2AP_R, S2AP_W = 1 << 6, 1 << 7
LOAD, STORE, FETCH = 0x93C18000, 0x93C18040, 0x82000000


TG0_4K, TG0_64K, TG0_16K = 0, 1, 2
GRANULE_BITS = {TG0_4K: 12, TG0_64K: 16, TG0_16K: 14}


def vtcr(t0sz, sl0, ps, tg0=TG0_4K):
    """VTCR_EL2: T0SZ, SL0, inner and outer write-back (IRGN0 = ORGN0 = 0b01), inner shareable (SH0 0b11), TG0
    (0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB), PS, RES1 bit 31."""
    return 1 << 31 | ps << 16 | tg0 << 14 | 3 << 12 | 1 << 10 | 1 << 8 | sl0 << 6 | t0sz


VTCR_40 = vtcr(24, 1, 2)  # 0x80023558: 40-bit IPA, start at level 1 with two concatenated tables, PS 40 bits


def leaf(oa, s2ap=3, af=True, xn=0, memattr=0xF, page=True):
    return oa | xn << 53 | (AF if af else 0) | SH_INNER | s2ap << 6 | memattr << 2 | (3 if page else 1)


def hpfar(ipa):
    return ipa >> 12 << 4


# G: level-1 index 2, level-2 index 1, level-3 index 1, offset 8; its page is the scratch page at S + 0x1000.
G = (2 << 30) | (1 << 21) | (1 << 12) | 8
PA = S + 0x1008


def path(l3=None, l2=3, l1=3, ipa=G):
    """Start table (level 1) -> level-2 table -> level-3 table: entries for ipa, each entry given (the link
    bits 1:0 for a table, or the raw value), None for no entry."""
    i1, i2, i3 = (ipa >> 30) & 0x3FF, (ipa >> 21) & 0x1FF, (ipa >> 12) & 0x1FF
    entries = []
    if l1 is not None:
        entries.append((0, i1, l1, 1 if l1 == 3 else None))
    if l2 is not None and l1 == 3:
        entries.append((1, i2, l2, 2 if l2 == 3 else None))
    if l3 is not None and l1 == 3 and l2 == 3:
        entries.append((2, i3, l3, None))
    tables = 1 + (l1 == 3) + (l1 == 3 and l2 == 3)
    return tables, entries


def case(cid, access, tables_entries, ipa=G, config=VTCR_40):
    tables, entries = tables_entries
    return hw_run.Case(id=cid, gva=ipa, access=access, cpl=1, flags=frozenset({"xnx"}), tables=tables,
                       entries=entries, arch="aarch64", vtcr=config)


def abort(esr, ipa=G, hpfar_value=None):
    return f"abort {esr:#x} {ipa:#x} " + ("-" if hpfar_value is None else f"{hpfar_value:#x}")


# (id, title, case, the line the Arm ARM gives). The stage-2 walk reads the start table, the level-2 table and
# the level-3 table (or stops at a block or at the first entry that faults, whose level the FSC names).
G1 = (2 << 30) | 0x02001008  # in a 1 GiB block at 0x40000000: its byte 0x02001008 is PA
HAND = [
    (1, "read of a read/write page", case(1, "read", path(leaf(S + 0x1000))), f"ok {PA:#x}"),
    (2, "write of a read/write page", case(2, "write", path(leaf(S + 0x1000))), f"ok {PA:#x}"),
    # S2AP 0b01: read only; a store is a permission fault at level 3: 0x93c18040 | 0x0f.
    (3, "store to an S2AP read-only page", case(3, "write", path(leaf(S + 0x1000, s2ap=1))),
     abort(STORE | 0x0F)),
    (4, "load from an S2AP read-only page", case(4, "read", path(leaf(S + 0x1000, s2ap=1))), f"ok {PA:#x}"),
    # S2AP 0b00: no data access; a load is a permission fault at level 3: 0x93c18000 | 0x0f.
    (5, "load from an S2AP no-access page", case(5, "read", path(leaf(S + 0x1000, s2ap=0))), abort(LOAD | 0x0F)),
    # S2AP 0b10: write only.
    (6, "load from a write-only page", case(6, "read", path(leaf(S + 0x1000, s2ap=2))), abort(LOAD | 0x0F)),
    (7, "store to a write-only page", case(7, "write", path(leaf(S + 0x1000, s2ap=2))), f"ok {PA:#x}"),
    # An invalid (zero) level-3 entry: translation fault level 3, 0x07; HPFAR holds the IPA's page.
    (8, "load through an invalid level-3 entry", case(8, "read", path(0)), abort(LOAD | 0x07, G, hpfar(G))),
    (9, "store through an invalid level-3 entry", case(9, "write", path(0)), abort(STORE | 0x07, G, hpfar(G))),
    (10, "load through an invalid level-2 entry", case(10, "read", path(None, l2=0)),
     abort(LOAD | 0x06, G, hpfar(G))),
    (11, "load through an invalid start-table (level-1) entry", case(11, "read", path(None, l1=0)),
     abort(LOAD | 0x05, G, hpfar(G))),
    # Bits 1:0 0b01 at level 3 is reserved: translation fault level 3.
    (12, "level-3 entry with bits 1:0 = 0b01", case(12, "read", path(leaf(S + 0x1000) & ~2)),
     abort(LOAD | 0x07, G, hpfar(G))),
    # AF 0 without hardware update (VTCR_EL2.HA 0): access flag fault level 3, 0b001011.
    (13, "load from a page with AF clear", case(13, "read", path(leaf(S + 0x1000, af=False))),
     abort(LOAD | 0x0B, G, hpfar(G))),
    # Fetches at EL1: XN 0b00 and 0b11 allow it, 0b01 and 0b10 do not (permission fault level 3, IFSC 0x0f;
    # FAR_EL2 the fetched address).
    (14, "fetch from XN 0b00", case(14, "fetch", path(leaf(S + 0x1000, xn=0)), ipa=G - 8), "ok -"),
    (15, "fetch from XN 0b11 (EL0 never)", case(15, "fetch", path(leaf(S + 0x1000, xn=3)), ipa=G - 8), "ok -"),
    (16, "fetch from XN 0b10 (never)", case(16, "fetch", path(leaf(S + 0x1000, xn=2)), ipa=G - 8),
     abort(FETCH | 0x0F, G - 8)),
    (17, "fetch from XN 0b01 (EL1 never)", case(17, "fetch", path(leaf(S + 0x1000, xn=1)), ipa=G - 8),
     abort(FETCH | 0x0F, G - 8)),
    (18, "fetch through an invalid level-3 entry", case(18, "fetch", path(0), ipa=G - 8),
     abort(FETCH | 0x07, G - 8, hpfar(G - 8))),
    # A 2 MiB block at level 2 (bits 1:0 0b01): the IPA's bits 20:0 select the byte.
    (19, "load through a 2 MiB block", case(19, "read", path(None, l2=leaf(S, page=False))), f"ok {PA:#x}"),
    # A 1 GiB block at level 1 mapping 0x40000000: IPA bits 29:0 = 0x02001008 land at 0x42001008.
    (20, "load through a 1 GiB block", case(20, "read", path(None, l1=leaf(0x40000000, page=False), ipa=G1),
                                             ipa=G1), f"ok {PA:#x}"),
    # An output address at or above 2^PS (40 bits): address size fault at the leaf's level 3, 0b000011.
    (21, "page output address above PS", case(21, "read", path(leaf((1 << 40) | (S + 0x1000)))),
     abort(LOAD | 0x03, G, hpfar(G))),
    # An IPA at or above 2^(64 - T0SZ) = 2^40: translation fault level 0 (AArch64.S2Walk: the IPA is outside
    # the range the start level covers).
    (22, "IPA above the 40-bit input size", case(22, "read", path(leaf(S + 0x1000)), ipa=(1 << 40) | G),
     abort(LOAD | 0x04, (1 << 40) | G, hpfar((1 << 40) | G))),
]

# The 64 KiB granule (TG0 0b01). VTCR_EL2 0x80027558: T0SZ 24 (40-bit IPA), SL0 0b01, which with 64 KiB is
# level 2 (AArch64.S2StartLevel): level 2 resolves IPA[39:29] (2048 entries, a 16 KiB start table), level 3
# IPA[28:16] (8192 entries, a 64 KiB table); PS 40 bits. The image's 2 MiB is level-2 entry 2 (0x40000000 >> 29),
# 32 of its 64 KiB pages. Blocks are 512 MiB at level 2; there is none at level 1 without 52-bit PAs.
VTCR_64K = vtcr(24, 1, 2, TG0_64K)
# G64: level-2 index 4 (0x80000000 >> 29), level-3 index 1 ((IPA >> 16) & 0x1fff), offset 8; its page is the
# scratch region's second 64 KiB, S + 0x10000.
G64 = 0x80010008
PA64 = S + 0x10008


def path64(l3=None, l2=3, ipa=G64):
    """Start table (level 2) -> level-3 table with the 64 KiB granule: the entries for ipa."""
    i2, i3 = (ipa >> 29) & 0x7FF, (ipa >> 16) & 0x1FFF
    if l2 != 3:
        return 1, [] if l2 is None else [(0, i2, l2, None)]
    return 2, [(0, i2, 3, 1)] + ([] if l3 is None else [(1, i3, l3, None)])


# The 16 KiB granule (TG0 0b10). VTCR_EL2 0x8002b55c: T0SZ 28 (36-bit IPA), SL0 0b01 (level 2 with 16 KiB):
# level 2 resolves IPA[35:25] (2048 entries, one 16 KiB table), level 3 IPA[24:14] (2048 entries); PS 40 bits.
# Blocks are 32 MiB at level 2 only. The image is level-2 entry 32 (0x40000000 >> 25).
VTCR_16K = vtcr(28, 1, 2, TG0_16K)
# G16: level-2 index 64 (0x80000000 >> 25), level-3 index 1 ((IPA >> 14) & 0x7ff), offset 8: scratch S + 0x4000.
G16 = 0x80004008
PA16 = S + 0x4008
# T0SZ 24 (40 bits) at level 2: IPA[39:25], 2^15 entries in 16 concatenated 16 KiB tables (0x8002b558).
VTCR_16K_CONCAT = vtcr(24, 1, 2, TG0_16K)
# IPA bit 39 set: level-2 index 0x4000, entry 0 of the ninth concatenated table.
G16C = (1 << 39) | 0x4008
# T0SZ 24 at level 1 (SL0 0b10): IPA[39:36], 16 entries, PS 48 bits (0x8005b598).
VTCR_16K_L1 = vtcr(24, 2, 5, TG0_16K)
G16L1 = (1 << 36) | G16  # level-1 index 1 (the image is index 0), level-2 index 64, level-3 index 1


def path16_l1(l3, ipa=G16L1):
    """Level 1 (IPA[39:36]) -> level 2 (IPA[35:25]) -> level 3 (IPA[24:14]) with the 16 KiB granule."""
    i1, i2, i3 = (ipa >> 36) & 0xF, (ipa >> 25) & 0x7FF, (ipa >> 14) & 0x7FF
    return 3, [(0, i1, 3, 1), (1, i2, 3, 2), (2, i3, l3, None)]


def path16(l3=None, l2=3, ipa=G16, start_mask=0x7FF):
    i2, i3 = (ipa >> 25) & start_mask, (ipa >> 14) & 0x7FF
    if l2 != 3:
        return 1, [] if l2 is None else [(0, i2, l2, None)]
    return 2, [(0, i2, 3, 1)] + ([] if l3 is None else [(1, i3, l3, None)])


def granule_case(cid, access, tables_entries, ipa, config):
    return case(cid, access, tables_entries, ipa=ipa, config=config)


HAND_GRANULES = [
    # 64 KiB: a page at level 3, read at its first and last words (one page of 64 KiB, two entries read).
    (201, "64 KiB granule: read of a page", granule_case(201, "read", path64(leaf(S + 0x10000)), G64, VTCR_64K),
     f"ok {PA64:#x}"),
    (202, "64 KiB granule: the page's last word", granule_case(202, "read", path64(leaf(S + 0x10000)),
                                                               G64 - 8 + 0xFFF8, VTCR_64K), f"ok {S + 0x1FFF8:#x}"),
    # S2AP 0b01: a store is a permission fault at level 3: 0x93c18040 | 0x0f.
    (203, "64 KiB granule: store to a read-only page",
     granule_case(203, "write", path64(leaf(S + 0x10000, s2ap=1)), G64, VTCR_64K), abort(STORE | 0x0F, G64)),
    # An invalid level-3 entry: translation level 3 (0x07); HPFAR_EL2 IPA[47:12] << 4 = 0x800100 whatever the
    # granule.
    (204, "64 KiB granule: invalid level-3 entry", granule_case(204, "read", path64(0), G64, VTCR_64K),
     abort(LOAD | 0x07, G64, hpfar(G64))),
    # The start table's entry invalid: translation level 2 (0x06).
    (205, "64 KiB granule: invalid level-2 entry", granule_case(205, "read", path64(None, l2=0), G64, VTCR_64K),
     abort(LOAD | 0x06, G64, hpfar(G64))),
    # A 512 MiB block at level 2 mapping 0x40000000: IPA 0x82001008 is its byte 0x02001008, PA S + 0x1008.
    (206, "64 KiB granule: 512 MiB block", granule_case(206, "read", path64(None, l2=leaf(0x40000000, page=False),
                                                                            ipa=0x82001008), 0x82001008, VTCR_64K),
     f"ok {S + 0x1008:#x}"),
    (207, "64 KiB granule: AF clear", granule_case(207, "read", path64(leaf(S + 0x10000, af=False)), G64,
                                                   VTCR_64K), abort(LOAD | 0x0B, G64, hpfar(G64))),
    # OA bit 40 at PS 40: an address size fault at level 3 (0x03).
    (208, "64 KiB granule: output address above PS",
     granule_case(208, "read", path64(leaf((1 << 40) | (S + 0x10000))), G64, VTCR_64K),
     abort(LOAD | 0x03, G64, hpfar(G64))),
    # An IPA at 2^40: translation level 0.
    (209, "64 KiB granule: IPA above the input size",
     granule_case(209, "read", path64(leaf(S + 0x10000)), (1 << 40) | G64, VTCR_64K),
     abort(LOAD | 0x04, (1 << 40) | G64, hpfar((1 << 40) | G64))),
    (210, "64 KiB granule: fetch from XN 0b10", granule_case(210, "fetch", path64(leaf(S + 0x10000, xn=2)),
                                                             G64 - 8, VTCR_64K), abort(FETCH | 0x0F, G64 - 8)),
    # 16 KiB: a page, a 32 MiB block (level 2 at 0x42000000: IPA 0x80001008 is its byte 0x1008), an invalid
    # level-3 entry, a read-only page.
    (211, "16 KiB granule: read of a page", granule_case(211, "read", path16(leaf(S + 0x4000)), G16, VTCR_16K),
     f"ok {PA16:#x}"),
    (212, "16 KiB granule: 32 MiB block", granule_case(212, "read", path16(None, l2=leaf(S, page=False),
                                                                           ipa=0x80001008), 0x80001008, VTCR_16K),
     f"ok {S + 0x1008:#x}"),
    (213, "16 KiB granule: invalid level-3 entry", granule_case(213, "read", path16(0), G16, VTCR_16K),
     abort(LOAD | 0x07, G16, hpfar(G16))),
    (214, "16 KiB granule: store to a read-only page",
     granule_case(214, "write", path16(leaf(S + 0x4000, s2ap=1)), G16, VTCR_16K), abort(STORE | 0x0F, G16)),
    # 16 concatenated start tables: the entry 0x4000 of the 40-bit space, in the ninth table.
    (215, "16 KiB granule: 16 concatenated level-2 tables",
     granule_case(215, "read", path16(leaf(S + 0x4000), ipa=G16C, start_mask=0x7FFF), G16C, VTCR_16K_CONCAT),
     f"ok {PA16:#x}"),
    # A level-1 start (16 entries): level 1 -> level 2 -> level 3, three entries read.
    (216, "16 KiB granule: a walk from level 1", granule_case(216, "read", path16_l1(leaf(S + 0x4000)), G16L1,
                                                              VTCR_16K_L1), f"ok {PA16:#x}"),
]

# Where QEMU 7.2 departs from the Arm ARM (hw/DEVIATIONS.md): the case, the Arm ARM's line, and what QEMU
# prints (None: computed by the test).
G0 = (1 << 39) | G  # start level 0 (SL0 2) with T0SZ 24: level-0 index 1, the image keeps index 0
VTCR_40_L0 = vtcr(24, 2, 2)  # 0x80023598


def path0(page, ipa=G0):
    t, entries = path(page, ipa=ipa & ((1 << 39) - 1))  # below level 0, level 1 is a table of 512 entries
    return t + 1, [(0, (ipa >> 39) & 1, 3, 1)] + [(tb + 1, i, v, None if ln is None else ln + 1)
                                                    for tb, i, v, ln in entries]


DEVIATION_CASES = {
    # HPFAR_EL2 is UNKNOWN for a permission fault on the final access; QEMU writes the IPA's page there.
    "a64-hpfar-permission": (case(101, "write", path(leaf(S + 0x1000, s2ap=1))), abort(STORE | 0x0F),
                             abort(STORE | 0x0F, G, hpfar(G))),
    # PS 40 bits with a level-0 start (SL0 2, T0SZ 24): the Arm ARM checks the start level against the PE's
    # PA size (52 here), so the walk is valid; QEMU 7.2 faults at level 0 on the guest's first instruction
    # fetch (the image's code at 0x40080000 and up): an instruction abort, translation level 0.
    "a64-ps40-level0-start": (case(102, "read", path0(leaf(S + 0x1000)), ipa=G0, config=VTCR_40_L0),
                              f"ok {PA:#x}", None),
    # Bit 12 of a 64 KiB page descriptor is OA[48] on a PE with 52-bit PAs (QEMU's -cpu max: PARange 0b0110):
    # AArch64.LeafBase takes descriptor<15:12> as OA[51:48], and at PS 40 bits that is an Address size fault at
    # level 3 (0x03). QEMU 7.2 reads bits 15:12 only when PS is 52 bits and ignores them otherwise.
    "a64-64k-oa-high-ignored": (case(103, "read", path64(leaf(S + 0x10000) | 1 << 12), ipa=G64, config=VTCR_64K),
                                abort(LOAD | 0x03, G64, hpfar(G64)), f"ok {PA64:#x}"),
    # A block descriptor at level 1 with the 16 KiB granule (a 64 GiB block): AArch64.BlockDescSupported allows
    # it only with VTCR_EL2.DS (FEAT_LPA2), so it is a Translation fault at level 1 (0x05); QEMU 7.2 maps the
    # block. Its output address 0 and the IPA's bits 35:0 put the byte at S + 0x4008.
    "a64-16k-level1-block": (case(104, "read", (1, [(0, 1, leaf(0, page=False), None)]), ipa=(1 << 36) | PA16,
                                  config=VTCR_16K_L1),
                             abort(LOAD | 0x05, (1 << 36) | PA16, hpfar((1 << 36) | PA16)), f"ok {PA16:#x}"),
}

# Random cases: VTCR_EL2 configurations (T0SZ, SL0, PS, TG0) the Arm ARM and QEMU 7.2 agree on: the start level
# (2 - SL0 with 4 KiB, 3 - SL0 with 16 and 64 KiB) with T0SZ resolving 1 to 4 concatenated-table bits or fewer,
# PS at least the IPA size (PS 48 for a level-0 start with 4 KiB, a64-ps40-level0-start, and for a level-1 start
# with 16 and 64 KiB, which QEMU 7.2 checks against PS too). 64 KiB: 40 bits from level 2 (2048 entries), 42
# (8192), 45 (8 concatenated tables: a blob entry's index is 16 bits), 44 from level 1; 16 KiB: 36 and 40 bits
# (16 tables) from level 2, 40 and 47 from level 1. Nothing in bits 15:12 of a 64 KiB descriptor
# (a64-64k-oa-high-ignored), no 16 KiB block at level 1 (a64-16k-level1-block) and no 64 KiB block at level 1
# (QEMU's PE has 52-bit PAs, where it is one; the model's 48 make it a Translation fault).
CONFIGS = [(24, 1, 2, 0), (25, 1, 2, 0), (28, 1, 2, 0), (32, 0, 1, 0), (30, 0, 2, 0), (16, 2, 5, 0), (20, 2, 5, 0),
           (24, 1, 2, TG0_64K), (22, 1, 5, TG0_64K), (19, 1, 5, TG0_64K), (20, 2, 5, TG0_64K),
           (28, 1, 2, TG0_16K), (24, 1, 2, TG0_16K), (24, 2, 5, TG0_16K), (17, 2, 5, TG0_16K)]
IMAGE = hw_run.A64_IMAGE_BLOCK


def level_shift(level, granule=12):
    return granule + (granule - 3) * (3 - level)


def leaf_target(rng, level, granule):
    """A leaf's output address at level and the IPA's bits below it, so that the byte lands in the scratch
    region, 8-byte aligned: 1 GiB and 512 MiB blocks map 0x40000000, 2 and 32 MiB blocks the region's start,
    pages one of its pages."""
    size = 1 << level_shift(level, granule)
    if size >= 1 << 29:
        return 0x40000000, (S - 0x40000000) + rng.randrange(0, hw_run.A64_SCRATCH_SIZE, 8)
    if size >= 1 << 21:
        return S, rng.randrange(0, hw_run.A64_SCRATCH_SIZE, 8)
    return S + rng.randrange(0, hw_run.A64_SCRATCH_SIZE // size) * size, rng.randrange(0, size, 8)


def random_case(rng, cid):
    t0sz, sl0, ps, tg0 = rng.choice(CONFIGS)
    granule = GRANULE_BITS[tg0]
    ipa_bits, start, ps_bits = 64 - t0sz, (2 if tg0 == TG0_4K else 3) - sl0, PS_BITS[ps]
    leaf_levels = [lv for lv in ((1, 2, 3) if tg0 == TG0_4K else (2, 3)) if lv >= start]
    leaf_level = rng.choice(leaf_levels)
    shift = level_shift(leaf_level, granule)
    access = rng.choice(["read", "write", "fetch"])
    oa, low = leaf_target(rng, leaf_level, granule)
    start_shift = level_shift(start, granule)
    while True:
        ipa = rng.randrange(0, 1 << ipa_bits) >> shift << shift | low
        if ipa >> start_shift != IMAGE >> start_shift:
            break
    memattr = 0xF if access == "fetch" else rng.choice([0xF, 0xF, 0x5, 0xA, 0x0])
    value = leaf(oa, s2ap=rng.randrange(4), af=rng.random() < 0.8, xn=rng.randrange(4), memattr=memattr,
                 page=leaf_level == 3)
    entries, table = [], 0
    # What may go wrong on the way (at most one thing): an invalid entry at some level, a reserved level-3 type,
    # an output or table address above PS, an IPA above the input size.
    fault = rng.choice(["none"] * 5 + ["invalid", "type", "oa_size", "table_size", "ipa_size"])
    fault_level = rng.randrange(start, leaf_level + 1)
    for level in range(start, leaf_level + 1):
        width = ipa_bits - level_shift(level, granule) if level == start else granule - 3
        index = (ipa >> level_shift(level, granule)) & ((1 << width) - 1)
        if fault == "invalid" and level == fault_level:
            entries.append((table, index, rng.choice([0, 2, 0x3FC]), None))
            break
        if level < leaf_level:
            if fault == "table_size" and level == fault_level and ps_bits < 48:
                entries.append((table, index, (1 << ps_bits) | 3, None))
                break
            entries.append((table, index, 3, table + 1))
            table += 1
            continue
        if fault == "type" and level == 3:
            value &= ~2
        if fault == "oa_size" and ps_bits < 48:
            value |= 1 << ps_bits
        entries.append((table, index, value, None))
    if fault == "ipa_size" and ipa_bits < 48:
        ipa |= 1 << ipa_bits
    return hw_run.Case(id=cid, gva=ipa, access=access, cpl=1, flags=frozenset({"xnx"}), tables=table + 1,
                       entries=entries, arch="aarch64", vtcr=vtcr(t0sz, sl0, ps, tg0))


def random_cases(seed, count, first_id=1000):
    rng = random.Random(seed)
    return [random_case(rng, first_id + i) for i in range(count)]
