"""RISC-V VS-stage cases for the RISC-V image (hw/riscv64/, hw/contract/rv_vs.h): each access runs in VS-mode or
VU-mode through a VS-stage (vsatp Sv39, Sv48 or Sv57) whose tables live in guest memory the G-stage maps; the
hand-written cases carry the line the image must print, derived by hand from the privileged spec (below), and a
seeded generator makes hostile ones.

Nothing is delegated, so every trap reaches M-mode and the image prints "trap CAUSE TVAL TVAL2 TINST GVA"
(mcause, mtval, mtval2, mtinst, mstatus.GVA; rv_cases.py says how they stand for scause, stval, htval, htinst
and hstatus.GVA):
  A VS-stage page fault ("Virtual Address Translation Process" steps 1-7 with V=1): cause 12 fetch, 13 load,
  15 store; tval the guest virtual address; tval2 and tinst 0 (written for guest-page faults only); GVA 1 (a
  trap from V=1 writing a guest virtual address into mtval sets it: "Machine Status Registers", GVA).
  A guest-page fault (the G-stage refusing a GPA): cause 20/21/23 by the original access ("Trap Cause Codes";
  "Two-Stage Address Translation": "a guest-page fault ... for an implicit memory access during VS-stage
  translation" is reported for the original access type); tval the guest virtual address; tval2 the faulting
  GPA >> 2; tinst 0 for the explicit access, and for an implicit VS-stage PTE access the pseudoinstruction of
  the table "Special pseudoinstruction values for guest-page faults" (VSXLEN 64): 0x3000 for the PTE read,
  0x3020 for its A/D write; GVA 1.
VS-stage rules (step 5 and "Memory Privilege in sstatus" with vsstatus): VU-mode may access only U pages;
VS-mode loads and stores reach U pages only with vsstatus.SUM, and VS-mode never fetches from a U page; a load
needs R, or X with vsstatus.MXR or the HS-level sstatus.MXR (which counts for the VS-stage too); A/D as the
G-stage: Svadu here, the walk sets them (QEMU 7.2's choice). Every VS-stage PTE read is a G-stage access
checked as a U-mode load (R and U; the HS-level MXR reaches explicit loads only), its A/D write a U-mode store.

Layout of a case (Sv39x4 G-stage, hgatp VMID 1):
  data: GVA VA = 0x401008 -> GPA DG = 0x81001008 -> scratch S + 0x1008 (G-stage root 2, level-1 index 8,
    level-0 index 1);
  VS-stage table k at GPA VT(k) = 0x81200000 + k * 0x1000 (G-stage level-1 index 9, level-0 index k: a 4 KiB
    leaf onto the table's frame, rights g_tables[k], default R|W|U|A|D);
  code: VA 0xc0000000 a 1 GiB VS-stage leaf onto GPA 0xc0000000 (R|X|A, and U in VU-mode), which the
    G-stage maps to the image.
"""
import random

import rv_cases
from rv_cases import A, D, GL, R, U, V, W, X, pte
from cases import hw_run  # tools/hw-run, loaded once for every hardware test

S = hw_run.RV_SCRATCH_BASE
SV39, SV48, SV57 = 8, 9, 10
VS_LEVELS = {SV39: 3, SV48: 4, SV57: 5}
VA = 0x401008
DG = 0x81001008
PA = S + 0x1008
CODE = hw_run.RV_CODE_GPA
SUM, MXR = 1 << 18, 1 << 19
FETCH_PF, LOAD_PF, STORE_PF = 12, 13, 15
FETCH_GPF, LOAD_GPF, STORE_GPF = 20, 21, 23
PTE_READ, PTE_WRITE = 0x3000, 0x3020
RW = R | W | A | D
G_TABLE = R | W | U | A | D  # the G-stage rights of a VS-stage table's page
G_DATA = R | W | X | U | A | D


def VT(k):
    return 0x81200000 + k * 0x1000


def vpn(va, level):
    return (va >> (12 + 9 * level)) & 0x1FF


def vs_tables(levels, leaves):
    """(table count, entries) of a VS-stage holding leaves: [(va, spec level, value)], pointers from the root
    shared where the paths agree; a leaf value None leaves its slot empty. A table's address is VT(its number)."""
    tables, entries = {(): 0}, []
    for va, leaf_level, value in leaves:
        prefix = ()
        for level in range(levels - 1, leaf_level, -1):
            child = prefix + (vpn(va, level),)
            if child not in tables:
                tables[child] = len(tables)
                entries.append((tables[prefix], vpn(va, level), pte(VT(tables[child]), 0)))
            prefix = child
        if value is not None:
            entries.append((tables[prefix], vpn(va, leaf_level), value))
    return len(tables), entries


def code_leaf(vu):
    return pte(CODE, R | X | A | (U if vu else 0))


def vs_case(cid, access, leaf, *, va=VA, leaf_level=0, mode=SV39, vu=False, vsstatus=0, flags=("adue",),
            g_data=pte(S + 0x1000, G_DATA), g_tables=None, edit=None):
    """A case through the layout above. leaf: the data leaf's value at leaf_level (None: absent); edit: a
    function given the VS-stage entries to change them; g_data: the G-stage leaf of DG's page (None: absent);
    g_tables: {k: the G-stage leaf of VT(k)'s page, None for absent}."""
    count, entries = vs_tables(VS_LEVELS[mode], [(CODE, 2, code_leaf(vu)), (va, leaf_level, leaf)])
    if edit:
        entries = edit(entries)
    g = [(0, 2, V, 1), (1, 8, V, 2), (1, 9, V, 3)]
    if g_data is not None:
        g.append((2, 1, g_data, None))
    for k in range(count):
        value = (g_tables or {}).get(k, pte(0, G_TABLE))
        if value is not None:
            g.append((3, k, value, ("vs", k)))
    vsatp = mode << 60 | VT(0) >> 12
    return hw_run.Case(id=cid, gva=DG, access=access, cpl=1, flags=frozenset(flags), tables=4, entries=g,
                       arch="riscv64", mode=rv_cases.SV39X4,
                       vs={"vsatp": vsatp, "va": va, "vsstatus": vsstatus, "vu": vu, "tables": count,
                           "entries": entries})


def page_fault(cause, va=VA):
    return f"trap {cause:#x} {va:#x} 0x0 0x0 1"


def guest_fault(cause, gpa, tinst=0, va=VA):
    return f"trap {cause:#x} {va:#x} {gpa >> 2:#x} {tinst:#x} 1"


OK = f"ok {PA:#x}"
DATA = pte(0x81001000, RW)
FV = VA - 8  # a fetch jumps to the page's first word (its "ecall")
# Sv39 PTE addresses of VA's walk: the level-1 table (VT(1)) entry 2, the level-0 table (VT(2)) entry 1.
L1_PTE, L0_PTE = VT(1) + 2 * 8, VT(2) + 1 * 8
NONCANONICAL = (1 << 39) | VA  # Sv39: bits 63:39 must equal bit 38


def drop_table_entry(table, index):
    return lambda entries: [e for e in entries if (e[0], e[1]) != (table, index)]


def replace_entry(table, index, value):
    return lambda entries: [(t, i, value if (t, i) == (table, index) else v) for t, i, v in entries]


# (id, title, case, the line the privileged spec gives).
HAND = [
    (401, "VS-mode load", vs_case(401, "read", DATA), OK),
    (402, "VS-mode store", vs_case(402, "write", DATA), OK),
    (403, "VS-mode fetch from an X page", vs_case(403, "fetch", pte(0x81001000, R | X | A), va=FV), "ok -"),
    (404, "VU-mode load from a U page", vs_case(404, "read", pte(0x81001000, RW | U), vu=True), OK),
    (405, "VU-mode fetch from a U|X page", vs_case(405, "fetch", pte(0x81001000, R | X | U | A), va=FV, vu=True),
     "ok -"),
    # SUM: a VS-mode load of a U page faults without it, completes with it; a fetch from a U page faults anyway.
    (406, "VS-mode load from a U page, SUM clear", vs_case(406, "read", pte(0x81001000, RW | U)), page_fault(LOAD_PF)),
    (407, "VS-mode load from a U page, SUM set", vs_case(407, "read", pte(0x81001000, RW | U), vsstatus=SUM), OK),
    (408, "VS-mode fetch from a U page, SUM set",
     vs_case(408, "fetch", pte(0x81001000, R | X | U | A), va=FV, vsstatus=SUM), page_fault(FETCH_PF, FV)),
    (409, "VU-mode load from a page without U", vs_case(409, "read", DATA, vu=True), page_fault(LOAD_PF)),
    (410, "VS-mode store to a page without W", vs_case(410, "write", pte(0x81001000, R | A | D)),
     page_fault(STORE_PF)),
    # MXR: an execute-only page is readable with vsstatus.MXR or the HS-level sstatus.MXR.
    (411, "load from an execute-only page", vs_case(411, "read", pte(0x81001000, X | A)), page_fault(LOAD_PF)),
    (412, "load from an execute-only page, vsstatus.MXR", vs_case(412, "read", pte(0x81001000, X | A), vsstatus=MXR),
     OK),
    # (The HS-level sstatus.MXR: DEVIATION_CASES, rv-vs-mxr-hs.)
    # Step 3: V=0, W without R, reserved bits (60:54; PBMT without henvcfg.PBMTE; N without Svnapot).
    (414, "load through an invalid VS-stage leaf", vs_case(414, "read", DATA & ~V), page_fault(LOAD_PF)),
    (415, "store through W without R", vs_case(415, "write", pte(0x81001000, W | A | D)), page_fault(STORE_PF)),
    (416, "VS-stage leaf with reserved bit 54", vs_case(416, "read", DATA | 1 << 54), page_fault(LOAD_PF)),
    (417, "VS-stage leaf with PBMT and no PBMTE", vs_case(417, "read", DATA | 1 << 61), page_fault(LOAD_PF)),
    (418, "VS-stage leaf with N and no Svnapot", vs_case(418, "read", DATA | 1 << 63), page_fault(LOAD_PF)),
    # In a pointer D, A and U are reserved.
    (419, "VS-stage pointer with A", vs_case(419, "read", DATA, edit=replace_entry(1, 2, pte(VT(2), A))),
     page_fault(LOAD_PF)),
    # Step 4: a pointer at level 0 has no table below.
    (420, "VS-stage pointer at level 0", vs_case(420, "read", pte(0x81001000, 0)), page_fault(LOAD_PF)),
    # Step 1: a non-canonical VA faults before any PTE is read.
    (421, "non-canonical VA", vs_case(421, "read", DATA, va=NONCANONICAL), page_fault(LOAD_PF, NONCANONICAL)),
    # Superpages: a 2 MiB leaf at level 1 maps VA bits 20:0 onto GPA 0x81000000 + 0x1008; PPN[0] non-zero is
    # misaligned (step 6).
    (422, "VS-stage 2 MiB superpage", vs_case(422, "read", pte(0x81000000, RW), leaf_level=1), OK),
    (423, "misaligned VS-stage 2 MiB superpage", vs_case(423, "read", pte(0x81001000, RW), leaf_level=1),
     page_fault(LOAD_PF)),
    # Svadu: A (and D for a store) set by the walk, through a G-stage-writable table page.
    (424, "load through a VS-stage leaf without A", vs_case(424, "read", pte(0x81001000, R | W)), OK),
    (425, "store through a VS-stage leaf without D", vs_case(425, "write", pte(0x81001000, R | W | A)), OK),
    # Guest-page faults on the final GPA: tval2 0x81001008 >> 2, tinst 0.
    (426, "load, the final GPA unmapped", vs_case(426, "read", DATA, g_data=None), guest_fault(LOAD_GPF, DG)),
    (427, "store, the final GPA unmapped", vs_case(427, "write", DATA, g_data=None), guest_fault(STORE_GPF, DG)),
    (428, "fetch, the final GPA unmapped", vs_case(428, "fetch", pte(0x81001000, R | X | A), va=FV, g_data=None),
     guest_fault(FETCH_GPF, DG - 8, va=FV)),
    (429, "load, the final GPA's G-stage leaf without U",
     vs_case(429, "read", DATA, g_data=pte(S + 0x1000, G_DATA & ~U)), guest_fault(LOAD_GPF, DG)),
    (430, "store, the final GPA's G-stage leaf read-only",
     vs_case(430, "write", DATA, g_data=pte(S + 0x1000, R | U | A | D)), guest_fault(STORE_GPF, DG)),
    # Guest-page faults on the implicit PTE read: tval2 the PTE's GPA >> 2, tinst 0x3000.
    (431, "load, the level-0 VS table's page unmapped", vs_case(431, "read", DATA, g_tables={2: None}),
     guest_fault(LOAD_GPF, L0_PTE, PTE_READ)),
    (432, "load, the level-1 VS table's page unmapped", vs_case(432, "read", DATA, g_tables={1: None}),
     guest_fault(LOAD_GPF, L1_PTE, PTE_READ)),
    (433, "load, the VS table's G-stage leaf without U",
     vs_case(433, "read", DATA, g_tables={2: pte(0, R | W | A | D)}), guest_fault(LOAD_GPF, L0_PTE, PTE_READ)),
    (434, "load, the VS table's G-stage leaf execute-only",
     vs_case(434, "read", DATA, g_tables={2: pte(0, X | U | A)}), guest_fault(LOAD_GPF, L0_PTE, PTE_READ)),
    # A VS-stage PTE needing no A/D write reads through a read-only G-stage page.
    (435, "store, the VS table's page read-only, A and D set",
     vs_case(435, "write", DATA, g_tables={2: pte(0, R | U | A)}), OK),
    # The VS-stage fault comes before the final GPA's G-stage translation.
    (436, "invalid VS-stage leaf, the final GPA unmapped too", vs_case(436, "read", DATA & ~V, g_data=None),
     page_fault(LOAD_PF)),
    (437, "VU-mode load from a page without U, SUM set", vs_case(437, "read", DATA, vu=True, vsstatus=SUM),
     page_fault(LOAD_PF)),
    (438, "VU-mode load from an X|U page, vsstatus.MXR",
     vs_case(438, "read", pte(0x81001000, X | U | A), vu=True, vsstatus=MXR), OK),
    # A GPA above Sv39x4's 41 bits: a guest-page fault with that GPA.
    (439, "the VS-stage leaf's GPA has bit 41", vs_case(439, "read", pte(1 << 41 | 0x81001000, RW)),
     guest_fault(LOAD_GPF, 1 << 41 | DG)),
    # Sv48 and Sv57: VA's walk one and two levels longer; the level-0 PTE is in the last table (VT(3), VT(4)).
    (440, "Sv48 load", vs_case(440, "read", DATA, mode=SV48), OK),
    (441, "Sv48, the level-0 VS table's page unmapped", vs_case(441, "read", DATA, mode=SV48, g_tables={3: None}),
     guest_fault(LOAD_GPF, VT(3) + 8, PTE_READ)),
    (442, "Sv57 store", vs_case(442, "write", DATA, mode=SV57), OK),
    (443, "Sv48 non-canonical VA (bit 47 set)", vs_case(443, "read", DATA, mode=SV48, va=1 << 47 | VA),
     page_fault(LOAD_PF, 1 << 47 | VA)),
]

# Svpbmt, under QEMU's "rv64,svpbmt=on" (SVPBMT_CPU) with the case's pbmte: menvcfg.PBMTE and henvcfg.PBMTE set.
# PBMT 1 (NC) and 2 (IO) in a leaf are memory types: the access completes; in a pointer bits 62:61 are reserved
# ("For non-leaf PTEs, bits 62-61 are reserved for future standard use").
SVPBMT_CPU = "rv64,svpbmt=on"
P = ("adue", "pbmte")
SVPBMT_HAND = [
    (33, "G-stage leaf with PBMT NC", rv_cases.case(33, "read", rv_cases.path(rv_cases.LEAF | 1 << 61), flags=P),
     f"ok {rv_cases.PA:#x}"),
    (34, "store through a G-stage leaf with PBMT IO",
     rv_cases.case(34, "write", rv_cases.path(rv_cases.LEAF | 2 << 61), flags=P), f"ok {rv_cases.PA:#x}"),
    (35, "G-stage pointer with PBMT NC",
     rv_cases.case(35, "read", (lambda te: (te[0], [(t, i, v | 1 << 61 if link == 2 else v, link)
                                                    for t, i, v, link in te[1]]))(rv_cases.path(rv_cases.LEAF)),
                   flags=P), rv_cases.trap(rv_cases.LOAD)),
    (444, "VS-stage leaf with PBMT IO", vs_case(444, "read", DATA | 2 << 61, flags=P), OK),
    (445, "VS-stage pointer with PBMT NC",
     vs_case(445, "read", DATA, flags=P, edit=replace_entry(1, 2, pte(VT(2), 0) | 1 << 61)), page_fault(LOAD_PF)),
]

# Where QEMU 7.2 departs from the privileged spec (hw/DEVIATIONS.md): the case, the spec's line, QEMU's.
# Svnapot, under QEMU's "rv64,svnapot=on" (SVNAPOT_CPU) with the case's napot (the model's Svnapot). A NAPOT leaf
# ("Svnapot": N set, ppn[0][3:0] 1000) at level 0 maps 64 KiB, ppn[0][3:0] replaced by the address's bits 15:12:
# GPA 0x81001008 (bits 15:12 1) through a G-stage NAPOT leaf at S lands at S + 0x1008; VA 0x401008 through a
# VS-stage NAPOT leaf at GPA 0x81000000 reaches GPA 0x81001008. Any other ppn[0][3:0], N above level 0, N in a
# pointer, or PBMT without Svpbmt is reserved: a (guest-)page fault.
SVNAPOT_CPU = "rv64,svnapot=on"
N = ("adue", "napot")


def napot(base, low, flags):
    """A NAPOT leaf: N, the PPN of base with ppn[0][3:0] = low."""
    return pte(base, flags) | low << 10 | 1 << 63


SVNAPOT_HAND = [
    (36, "G-stage NAPOT leaf", rv_cases.case(36, "read", rv_cases.path(napot(S, 8, rv_cases.RWXU)), flags=N),
     f"ok {rv_cases.PA:#x}"),
    (37, "G-stage N with ppn[0][3:0] 0100", rv_cases.case(37, "write", rv_cases.path(napot(S, 4, rv_cases.RWXU)),
                                                          flags=N), rv_cases.trap(rv_cases.STORE)),
    (38, "G-stage N in a 2 MiB leaf",
     rv_cases.case(38, "read", rv_cases.path(napot(S, 8, rv_cases.RWXU), leaf_level=1), flags=N),
     rv_cases.trap(rv_cases.LOAD)),
    (39, "G-stage PBMT without Svpbmt", rv_cases.case(39, "read", rv_cases.path(rv_cases.LEAF | 1 << 61), flags=N),
     rv_cases.trap(rv_cases.LOAD)),
    (446, "VS-stage NAPOT leaf", vs_case(446, "read", napot(0x81000000, 8, RW), flags=N), OK),
    (447, "VS-stage N with ppn[0][3:0] 0010", vs_case(447, "read", napot(0x81000000, 2, RW), flags=N),
     page_fault(LOAD_PF)),
    (448, "VS-stage pointer with N",
     vs_case(448, "read", DATA, flags=N, edit=replace_entry(1, 2, pte(VT(2), 0) | 1 << 63)), page_fault(LOAD_PF)),
]

# The CPU each proof below boots under, where it is not the plain rv64.
PROOF_CPU = {105: SVPBMT_CPU, 106: SVPBMT_CPU, 107: SVPBMT_CPU, 108: SVPBMT_CPU, 504: SVPBMT_CPU,
             505: SVPBMT_CPU, 109: SVNAPOT_CPU, 506: SVNAPOT_CPU}
DEVIATION_CASES = {
    # A guest-page fault on the implicit PTE read is reported for the original access type: a store's is cause
    # 23, a fetch's 20; QEMU 7.2 reports 21 (load) for every access.
    "rv-implicit-cause": [
        (vs_case(501, "write", DATA, g_tables={2: None}), guest_fault(STORE_GPF, L0_PTE, PTE_READ),
         guest_fault(LOAD_GPF, L0_PTE, PTE_READ)),
        (vs_case(502, "fetch", pte(0x81001000, R | X | A), va=FV, g_tables={2: None}),
         guest_fault(FETCH_GPF, L0_PTE, PTE_READ, va=FV), guest_fault(LOAD_GPF, L0_PTE, PTE_READ, va=FV)),
    ],
    # "Setting MXR at HS-level, however, overrides both VS-stage and G-stage execute-only permissions": a load
    # from an execute-only VS-stage page completes with the HS-level sstatus.MXR (mstatus.MXR here); QEMU 7.2
    # reads only the guest's MXR (vsstatus) while V=1.
    "rv-vs-mxr-hs": [
        (vs_case(413, "read", pte(0x81001000, X | A), flags=("adue", "mxr")), OK, page_fault(LOAD_PF)),
    ],
    # Under "rv64,svpbmt=on" (SVPBMT_CPU) or "rv64,svnapot=on" (SVNAPOT_CPU): a leaf's bits 60:54 are reserved
    # ("Sv39 page table entry": "Bits 60-54 are reserved for future standard use"), PBMT 3 is reserved, PBMT with
    # menvcfg.PBMTE clear is reserved ("Svpbmt"), and N without Svnapot: each a page fault (a guest-page fault in
    # the G-stage); QEMU 7.2 with its Svpbmt or Svnapot checks no bit 60:54 of a leaf (with Svpbmt, no PBMT or N
    # either), and the access completes as if they were clear.
    "rv-leaf-high-bits-unchecked": [
        (rv_cases.case(105, "read", rv_cases.path(rv_cases.LEAF | 1 << 54), flags=P),
         rv_cases.trap(rv_cases.LOAD), f"ok {rv_cases.PA:#x}"),
        (rv_cases.case(106, "read", rv_cases.path(rv_cases.LEAF | 3 << 61), flags=P),
         rv_cases.trap(rv_cases.LOAD), f"ok {rv_cases.PA:#x}"),
        (rv_cases.case(107, "read", rv_cases.path(rv_cases.LEAF | 1 << 63), flags=P),
         rv_cases.trap(rv_cases.LOAD), f"ok {rv_cases.PA:#x}"),
        (rv_cases.case(108, "read", rv_cases.path(rv_cases.LEAF | 1 << 61)), rv_cases.trap(rv_cases.LOAD),
         f"ok {rv_cases.PA:#x}"),
        (vs_case(504, "read", DATA | 3 << 61, flags=P), page_fault(LOAD_PF), OK),
        (vs_case(505, "read", DATA | 1 << 54, flags=P), page_fault(LOAD_PF), OK),
        # Under "rv64,svnapot=on" likewise: bit 54 in a G-stage leaf (109) and a VS-stage leaf (506).
        (rv_cases.case(109, "read", rv_cases.path(rv_cases.LEAF | 1 << 54), flags=N), rv_cases.trap(rv_cases.LOAD),
         f"ok {rv_cases.PA:#x}"),
        (vs_case(506, "read", DATA | 1 << 54, flags=N), page_fault(LOAD_PF), OK),
    ],
    # The A/D update of a VS-stage PTE is an implicit G-stage store: through a read-only G-stage page it is a
    # guest-page fault (cause by the original access, tinst 0x3020); QEMU 7.2 writes the PTE anyway.
    "rv-vs-ad-write-unchecked": [
        (vs_case(503, "read", pte(0x81001000, R | W), g_tables={2: pte(0, R | U | A)}),
         guest_fault(LOAD_GPF, L0_PTE, PTE_WRITE), OK),
    ],
}

# Random cases: the layout above with a G-stage 2 MiB leaf onto the scratch region at 0x81000000 (or the 4 KiB
# page of DG), the VS-stage's data leaf at any level onto a page of it (or past the G-stage's width, or where it
# maps nothing), hostile bits in that leaf and in the pointers only the access's walk uses, and the G-stage
# rights of the data page and of each VS table's page. Left out, as the rows of hw/DEVIATIONS.md they would
# meet: the HS-level MXR (rv-gstage-mxr-hs, rv-vs-mxr-hs); an execute-only G-stage page with vsstatus.MXR
# (rv-gstage-mxr-hs: QEMU 7.2 reads the guest's MXR for the G-stage); an A/D write through a VS table page the
# G-stage does not let the guest write (rv-vs-ad-write-unchecked); GPA bit 40 (rv-gpa-bit40-unreachable).
# rv-implicit-cause is met (every store or fetch whose PTE read faults in the G-stage) and recognised by
# explained().
DATA_BASE = 0x81000000  # GPA of the G-stage 2 MiB leaf onto S
PPN_MASK = 0x003FFFFFFFFFFC00
LEAF_FLIPS = rv_cases.LEAF_FLIPS
POINTER_FLIPS = [V, W, U, GL, A, D, 1 << 8, 1 << 54, 1 << 57, 1 << 60, 1 << 61, 1 << 62, 1 << 63]
G_RIGHTS = [G_DATA, G_DATA, R | U | A | D, R | W | U | A | D, X | U | A, R | X | U | A, G_DATA & ~U, R | W | X | U]
G_READABLE = [G_DATA, R | U | A | D, R | W | U | A | D, R | X | U | A]


def _size(level):
    return 1 << (12 + 9 * level)


def random_case(rng, cid):
    mode = rng.choice([SV39, SV39, SV48, SV57])
    levels = VS_LEVELS[mode]
    vu = rng.random() < 0.4
    access = rng.choice(["read", "write", "fetch"])
    vsstatus = rng.choice([0, 0, SUM, MXR, SUM | MXR])
    leaf_level = rng.choice([0, 0, 0, 1, 1, 2] + ([3] if levels > 3 else []))
    size = _size(leaf_level)
    page = rng.randrange(0, 512)  # the scratch page the access is meant to reach
    off = rng.randrange(0, 4096, 8) if access != "fetch" else 0
    target = DATA_BASE + page * 4096 + off  # the GPA
    while True:  # a canonical VA in the lower half, off the code's GiB
        va = (rng.randrange(0, 1 << (12 + 9 * levels - 1)) & ~(size - 1)) | (target & (size - 1))
        if va >> 30 != CODE >> 30:
            break
    flags = rng.choice([R | W | X | A | D, R | W | A | D, R | A, X | A, R | X | A, W | R | D | A])
    flags |= U if rng.random() < (0.8 if vu else 0.3) else 0
    if rng.random() < 0.15:
        flags &= ~rng.choice([A, D, A | D])
    leaf = pte(target & ~(size - 1), flags)
    fault = rng.choice(["none"] * 3 + ["flip_leaf", "flip_pointer", "invalid", "misaligned", "gpa_size",
                                       "gpa_unmapped", "noncanonical", "g_rights"])
    if fault == "flip_leaf":
        leaf ^= rng.choice(LEAF_FLIPS)
        if leaf & V and not leaf & (R | X) and leaf_level > 0:
            leaf |= R  # a pointer into the scratch region would have its words read as PTEs
    elif fault == "misaligned" and leaf_level > 0:
        leaf |= (1 << 10) << rng.randrange(0, 9 * leaf_level)
    elif fault == "gpa_size":
        leaf |= (1 << rng.randrange(41, 56)) >> 2
    elif fault == "gpa_unmapped":  # a GPA below 0x80000000 (G-stage root slots 0 and 1 map nothing)
        leaf = leaf & ~PPN_MASK | (rng.randrange(0, 0x80000000) & ~(size - 1)) >> 12 << 10
    elif fault == "noncanonical":
        va |= 1 << rng.randrange(12 + 9 * levels, 64) if rng.random() < 0.5 else 0
        va ^= 1 << (12 + 9 * levels - 1)  # bit VA-1 set, the bits above clear (or one of them set)
    code_entries = {(t, i) for t, i, _v in vs_tables(levels, [(CODE, 2, code_leaf(vu))])[1]}
    count, entries = vs_tables(levels, [(CODE, 2, code_leaf(vu)), (va, leaf_level, leaf)])
    data_pointers = [(t, i) for t, i, v in entries if (t, i) not in code_entries and v & (R | X) == 0 and
                     (t, i) != entries[-1][:2]]
    if fault == "flip_pointer" and data_pointers:
        where = rng.choice(data_pointers)
        bit = rng.choice(POINTER_FLIPS + ["gpa"])
        entries = [(t, i, (v ^ bit if bit != "gpa" else v | (1 << rng.randrange(41, 56)) >> 2)
                    if (t, i) == where else v) for t, i, v in entries]
    if fault == "invalid" and data_pointers:
        where = rng.choice(data_pointers)
        entries = [(t, i, v & ~V if (t, i) == where else v) for t, i, v in entries]
    code_tables = {t for t, _i in code_entries}
    mxr = vsstatus & MXR
    g_tables = {}
    for k in range(count):
        choices = G_READABLE if k in code_tables else G_RIGHTS + ([None] if fault == "g_rights" else [])
        g = rng.choice(choices) if fault == "g_rights" or rng.random() < 0.2 else G_TABLE
        if g is not None and mxr and g & X and not g & R:
            g = G_TABLE
        g_tables[k] = None if g is None else pte(0, g)
    # A/D writes only through VS table pages the guest may write (rv-vs-ad-write-unchecked).
    table, index, value = entries[-1]  # the data leaf, vs_tables's last entry
    gt = g_tables.get(table)
    if (gt is None or (gt & (R | W | U)) != (R | W | U)) and value & V and value & (R | X):
        entries[-1] = (table, index, value | A | D)
    g_data_rights = rng.choice(G_RIGHTS) if fault == "g_rights" else G_DATA
    if mxr and g_data_rights & X and not g_data_rights & R:
        g_data_rights = G_DATA
    g_data = pte(S, g_data_rights)
    vsatp = mode << 60 | VT(0) >> 12
    g = [(0, 2, V, 1), (1, 8, g_data, None), (1, 9, V, 2)]
    g += [(2, k, v, ("vs", k)) for k, v in g_tables.items() if v is not None]
    return hw_run.Case(id=cid, gva=DG, access=access, cpl=1, flags=frozenset({"adue"}), tables=3, entries=g,
                       arch="riscv64", mode=rv_cases.SV39X4,
                       vs={"vsatp": vsatp, "va": va, "vsstatus": vsstatus, "vu": vu, "tables": count,
                           "entries": entries})


def random_cases(seed, count, first_id=20000):
    rng = random.Random(seed)
    return [random_case(rng, first_id + i) for i in range(count)]


def explained(library, qemu):
    """The row of hw/DEVIATIONS.md that explains QEMU's line where the library's differs, or None:
    rv-implicit-cause, a store's or fetch's guest-page fault on a PTE read given as a load's."""
    lib, got = library.split(), qemu.split()
    if (len(lib) == len(got) == 6 and lib[0] == got[0] == "trap" and lib[1] in ("0x17", "0x14") and
            got[1] == "0x15" and lib[2:] == got[2:] and lib[4] == f"{PTE_READ:#x}"):
        return "rv-implicit-cause"
    return None
