"""Expected outcomes of the hardware cases, from the SDM text (Vol. 3A §4.3
32-bit paging, §4.4 PAE paging, §4.5 4-/5-level paging, §4.6 access rights,
§4.7 page-fault error code, §4.8 A/D),
written independently of lib/ and of the image. The accessed-flag policy for
faulting walks is QEMU's, as hw/DEVIATIONS.md states: A is set on each upper-level entry
as the walk passes it; the leaf's A/D only when the access is allowed."""

P, RW, US, A, D, PS = 1 << 0, 1 << 1, 1 << 2, 1 << 5, 1 << 6, 1 << 7
XD = 1 << 63
ADDR = 0x000FFFFFFFFFF000

ERR_P, ERR_W, ERR_U, ERR_RSVD, ERR_ID, ERR_PK = 1, 2, 4, 8, 16, 32


def is_canonical(gva, la57):
    """§3.3.7.1: bits 63:47 (63:56 with LA57) all equal."""
    bits = 57 if la57 else 48
    top = gva >> (bits - 1)
    return top == 0 or top == (1 << (65 - bits)) - 1


def rsvd_mask(level, value, nxe, maxphyaddr, gbpages=True):
    """Reserved bits of an entry at level (Tables 4-15..4-20)."""
    mask = ((1 << 52) - 1) & ~((1 << maxphyaddr) - 1)
    if not nxe:
        mask |= XD  # XD is reserved unless EFER.NXE=1
    if level >= 4:
        mask |= PS  # no large pages in PML5E/PML4E
    elif level == 3 and value & PS:
        mask |= 0x3FFFE000 if gbpages else PS  # 1 GiB page: bits 29:13
    elif level == 2 and value & PS:
        mask |= 0x1FE000  # 2 MiB page: bits 20:13
    return mask


def permission_fault(c, user_page, writable, executable, pk_key, quirks=frozenset()):
    """(fault, pk) for an access to a translation with these effective rights (§4.6)."""
    flags = c.flags
    write = c.access == "write"
    fetch = c.access == "fetch"
    implicit = c.access == "implicit"
    user_mode = c.cpl == 3 and not implicit  # implicit accesses are supervisor-mode at any CPL
    fault = False
    if fetch:
        if not executable:
            fault = True  # XD set at some level, EFER.NXE=1
        elif user_mode and not user_page:
            fault = True
        elif not user_mode and user_page and "smep" in flags:
            fault = True  # SMEP: no supervisor fetch from user-mode pages
        return fault, False
    if user_mode:
        if not user_page or (write and not writable):
            fault = True
    else:
        ac_opens = "ac" in flags and (not implicit or ("smap-implicit-ac" in quirks and c.cpl < 3))
        if user_page and "smap" in flags and not ac_opens:
            fault = True  # SMAP: AC=1 opens user pages to explicit supervisor accesses only (§4.6.1)
        if write and not writable and "wp" in flags:
            fault = True  # CR0.WP=1: supervisor writes honour R/W
    pk = False
    if "pke" in flags and user_page:
        ad = (c.pkru >> (2 * pk_key)) & 1
        wd = (c.pkru >> (2 * pk_key + 1)) & 1
        if ad or (write and wd and (user_mode or "wp" in flags)):
            pk = True  # §4.6.2: PKRU governs data accesses to user-mode pages
    return fault or pk, pk


def expect(c, maxphyaddr=40, quirks=frozenset()):
    """The SDM's outcome for a hw_run Case: ("ok", pa, ad) | ("pf", err, cr2, ad) | ("gp", ad),
    ad being one digit (A + 2*D) per case entry, in case order. quirks names deviations of
    hw/DEVIATIONS.md to apply instead of the SDM rule (to recognise an emulator's known defects)."""
    out = expect_walk(c, maxphyaddr, quirks)
    if "kvm-shadow-ad-on-success" in quirks and out[0] == "pf":
        # KVM's shadow-paging walker sets A/D only once the whole walk has succeeded: a faulting
        # walk leaves every entry's flags as the case wrote them.
        entries = [e for e in c.entries if e[0] != EDIT_TABLE]
        out = out[:-1] + ("".join(str(((v >> 5) & 1) + 2 * ((v >> 6) & 1)) for (_t, _i, v, _l) in entries),)
    return out


def expect_walk(c, maxphyaddr=40, quirks=frozenset()):
    """expect() before the deviations that act on the whole outcome."""
    if "pae" in c.flags or "legacy32" in c.flags:
        return expect_legacy(c, maxphyaddr, quirks)
    la57 = "la57" in c.flags
    nxe = "nxe" in c.flags
    entries = [e for e in c.entries if e[0] != EDIT_TABLE]  # nested-paging edits come last
    slots = {(t, i): n for n, (t, i, _v, _l) in enumerate(entries)}
    ad = [((v >> 5) & 1) + 2 * ((v >> 6) & 1) for (_t, _i, v, _l) in entries]

    def digits():
        return "".join(str(x) for x in ad)

    nested = nested_map(c, maxphyaddr, quirks)
    code = nested and guest_code_fetch(c, nested)
    if code:
        return code + (digits(),)
    if not is_canonical(c.gva, la57):
        return ("gp", digits())
    write = c.access == "write"
    fetch = c.access == "fetch"
    user_mode = c.cpl == 3 and c.access != "implicit"
    base_err = (ERR_W if write else 0) | (ERR_U if user_mode else 0)
    if fetch and (nxe or "smep" in c.flags):
        base_err |= ERR_ID  # §4.7: I/D is reported only with NXE or SMEP

    table = 0
    user_page, writable, executable = True, True, True
    for level in range(5 if la57 else 4, 0, -1):
        index = (c.gva >> (12 + 9 * (level - 1))) & 511
        if nested:
            npf = nested.access(("table", table), index * 8, True, False, True)
            if npf:
                return ("npf", npf[0], npf[1], digits())
        n = slots.get((table, index))
        value = entries[n][2] if n is not None else 0
        if not value & P:
            return ("pf", base_err, c.gva, digits())
        if "gb-leaf-accessed-early" in quirks and level == 3 and value & PS:
            if not value & rsvd_mask(level, 0, nxe, maxphyaddr):
                ad[n] |= 1  # the 1 GiB leaf's A, set before its own checks
        if value & rsvd_mask(level, value, nxe, maxphyaddr):
            p_bit = 0 if "rsvd-without-p" in quirks else ERR_P
            return ("pf", base_err | p_bit | ERR_RSVD, c.gva, digits())
        user_page &= bool(value & US)
        writable &= bool(value & RW)
        if nxe:
            executable &= not value & XD
        leaf = level == 1 or (level in (2, 3) and value & PS)
        if not leaf:
            ad[n] |= 1  # A set as the walk passes it
            table = entries[n][3]
            continue
        size_shift = 12 + 9 * (level - 1)
        fault, pk = permission_fault(c, user_page, writable, executable, (value >> 59) & 0xF, quirks)
        if fault:
            return ("pf", base_err | ERR_P | (ERR_PK if pk else 0), c.gva, digits())
        ad[n] |= 1 | (2 if write else 0)
        page_base = value & ADDR & ~((1 << size_shift) - 1)
        gpa = page_base | (c.gva & ((1 << size_shift) - 1))
        npf = nested and nested.access(gpa & ADDR, gpa, write, fetch, False)
        if npf:
            return ("npf", npf[0], npf[1], digits())
        return ("ok", gpa, digits())
    raise AssertionError("unreachable: level 1 is always a leaf")


# Nested paging (AMD APM Vol. 2 §15.25): the image's nested map is an identity
# over 0..4 GiB (writable, executable), changed by the case's edits (table 0xFF
# entries, blob.h). Every guest page-table access goes through it as a user
# write (the walk may set A/D there); the final guest-physical address as the
# access itself. A fault is a #NPF: EXITINFO1 is a #PF-style error code (U
# always set: nested accesses are user accesses; I/D for a fetch, the host
# having EFER.NXE) plus bit 32 (final address) or bit 33 (guest table);
# EXITINFO2 the guest-physical address, given here for a guest table by its
# offset in the table's page (the image chooses the page).
NPF_FINAL, NPF_TABLE = 1 << 32, 1 << 33
NESTED_LIMIT = 1 << 32
SIZE_2M = 1 << 21
EDIT_TABLE, EDIT_UNMAP, EDIT_FLAGS, EDIT_FLAGS_2M, EDIT_RSVD = 0xFF, 0, 1, 2, 3
IDENTITY = (True, True, False)  # (writable, executable, reserved bit set)


class NestedMap:
    """Rights of each nested page after the case's edits, applied in order as
    the library applies them (hw/contract/npt_edit.c): a 4 KiB edit inside a 2 MiB leaf
    splits it (the other pages keep its rights); a 2 MiB edit drops the 4 KiB
    pages below; a reserved bit lands on the page's own leaf, a 1 GiB identity
    leaf being split to a fresh writable, executable 4 KiB page first — for a
    guest table's page, any larger leaf (the table gets a 4 KiB leaf of its own).
    All edits lie in the first GiB, so after the first one its 1 GiB leaf is
    2 MiB leaves, and a reserved bit for a scratch page with no leaf of its own
    lands on the 2 MiB identity leaf of its region."""

    def __init__(self, case, maxphyaddr, quirks=frozenset()):
        self.maxphyaddr = maxphyaddr
        self.p_bit = 0 if "rsvd-without-p" in quirks else ERR_P
        self.pages, self.large, self.split = {}, {}, set()
        self.edited = False
        for table, kind, value, link in case.entries:
            if table == EDIT_TABLE:
                self.apply(kind, value, link)
                self.edited = True

    @staticmethod
    def key(value, link):
        return ("table", link) if link is not None else value & ADDR

    def state(self, key):
        if key in self.pages:
            return self.pages[key]
        if isinstance(key, int):
            if key >= NESTED_LIMIT:
                return None
            if key & ~(SIZE_2M - 1) in self.large:
                return self.large[key & ~(SIZE_2M - 1)]
        return IDENTITY

    def reserved_bit(self, bit, large):
        return self.maxphyaddr <= bit <= 51 or (large and 13 <= bit <= 20)

    def apply(self, kind, value, link):
        key = self.key(value, link)
        base = key & ~(SIZE_2M - 1) if isinstance(key, int) else None
        rights = (bool(value & RW), not value & XD, False)
        if kind == EDIT_UNMAP:
            self.pages[key] = None
        elif kind == EDIT_FLAGS:
            self.pages[key] = rights
        elif kind == EDIT_FLAGS_2M:
            self.pages = {k: v for k, v in self.pages.items() if not isinstance(k, int) or k & ~(SIZE_2M - 1) != base}
            self.large[base] = rights
            self.split.discard(base)
            return
        elif kind == EDIT_RSVD:
            bit = value & 63
            if base is not None and key not in self.pages and base not in self.split and \
                    (base in self.large or self.edited):
                w, x, r = self.large.get(base, IDENTITY)
                self.large[base] = (w, x, r or self.reserved_bit(bit, True))
                return
            w, x, r = self.state(key)
            self.pages[key] = (w, x, r or self.reserved_bit(bit, False))
        if base in self.large:
            self.split.add(base)

    def access(self, key, gpa, write, fetch, table):
        """None when the nested map allows the access, else (EXITINFO1, EXITINFO2)."""
        state = self.state(key)
        info1 = (NPF_TABLE if table else NPF_FINAL) | ERR_U | (ERR_W if write else 0) | (ERR_ID if fetch else 0)
        if state is None:
            return (info1, gpa)
        writable, executable, reserved = state
        if reserved:
            return (info1 | self.p_bit | ERR_RSVD, gpa)
        if (write and not writable) or (fetch and not executable):
            return (info1 | ERR_P, gpa)
        return None


def guest_code_fetch(c, nested, walked=False):
    """The guest's first access is the fetch of its own code, whose walk reads
    the root table's slot the image keeps (layout.h): PML4E 0, 32-bit PDE 1, or
    with the PDPTE read in the walk, PDPTE 0. None, or the #NPF it causes."""
    if "legacy32" in c.flags:
        offset = 4
    elif "pae" in c.flags and not walked:
        return None  # a PDPTE register: no memory access
    else:
        offset = 0
    npf = nested.access(("table", 0), offset, True, False, True)
    return ("npf", npf[0], npf[1]) if npf else None


def nested_map(c, maxphyaddr, quirks=frozenset()):
    """The case's nested map: every nested-paging case, and every legacy-mode
    case (the image runs those only as an SVM guest); None for a 1-D case."""
    if "npt" in c.flags or "pae" in c.flags or "legacy32" in c.flags:
        return NestedMap(c, maxphyaddr, quirks)
    return None


def pae_pdpte_rsvd(maxphyaddr):
    """§4.4.1, Table 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR of a present PDPTE."""
    return 0x1E6 | (((1 << 64) - 1) & ~((1 << maxphyaddr) - 1))


def legacy_rsvd_mask(c, level, value, maxphyaddr, quirks=frozenset()):
    """Reserved bits of a PDE or PTE (Tables 4-4..4-6 for 32-bit, 4-9..4-11 for PAE)."""
    if "legacy32" in c.flags:
        if level == 2 and value & PS and "pse" in c.flags:
            low = min(maxphyaddr, 40) - 19
            if "pse36-above-maxphyaddr" in quirks:
                low = 21  # every one of bits 20:13 taken as an address bit
            return ((1 << 22) - 1) & ~((1 << low) - 1)  # 4 MiB page: bits 21:(M-19)
        return 0  # no reserved bits otherwise
    mask = ((1 << 63) - 1) & ~((1 << maxphyaddr) - 1)  # bits 62:M
    if "nxe" not in c.flags:
        mask |= XD
    if level == 2 and value & PS:
        mask |= 0x1FE000  # 2 MiB page: bits 20:13
    return mask


def legacy_leaf_base(c, level, value):
    if "legacy32" in c.flags and level == 2:
        return (value & 0xFFC00000) | (((value >> 13) & 0xFF) << 32)  # PSE-36 (Table 4-4)
    if "legacy32" in c.flags:
        return value & 0xFFFFF000
    return value & ADDR & ~((1 << (12 + 9 * (level - 1))) - 1)


def legacy_index(c, level, gva):
    if "legacy32" in c.flags:
        return (gva >> (12 + 10 * (level - 1))) & 1023
    if level == 3:
        return (gva >> 30) & 3
    return (gva >> (12 + 9 * (level - 1))) & 511


def expect_legacy(c, maxphyaddr=40, quirks=frozenset()):
    """The SDM's outcome for a 32-bit or PAE paging case, as expect() gives it.
    Quirk "pae-pdpte-walked" (hw/DEVIATIONS.md) reads the PDPTE during the walk
    as an ordinary entry: no #GP at the CR3 load, bits 63:M reserved there, bits
    2:1 and 8:5 ignored, bit 5 (A) set as the walk passes it."""
    pae = "pae" in c.flags
    nxe = pae and "nxe" in c.flags  # XD exists only with PAE (§4.4)
    entries = [e for e in c.entries if e[0] != EDIT_TABLE]  # nested-paging edits come last
    slots = {(t, i): n for n, (t, i, _v, _l) in enumerate(entries)}
    ad = [((v >> 5) & 1) + 2 * ((v >> 6) & 1) for (_t, _i, v, _l) in entries]

    def digits():
        return "".join(str(x) for x in ad)

    walked = "pae-pdpte-walked" in quirks
    nested = nested_map(c, maxphyaddr, quirks)
    entry_bytes = 8 if pae else 4
    if pae and not walked:
        # The CR3 load reads the PDPT (offset 0 first) through the nested map.
        npf = nested.access(("table", 0), 0, True, False, True)
        if npf:
            return ("npf", npf[0], npf[1], digits())
        for index in range(4):
            n = slots.get((0, index))
            value = entries[n][2] if n is not None else 0
            if value & P and value & pae_pdpte_rsvd(maxphyaddr):
                return ("gp", digits())  # MOV CR3 (here VMRUN) loads the PDPTE registers
    code = guest_code_fetch(c, nested, walked)
    if code:
        return code + (digits(),)
    write = c.access == "write"
    fetch = c.access == "fetch"
    user_mode = c.cpl == 3
    base_err = (ERR_W if write else 0) | (ERR_U if user_mode else 0)
    if fetch and (nxe or "smep" in c.flags):
        base_err |= ERR_ID  # §4.7: I/D needs PAE with NXE, or SMEP
    p_bit = 0 if "rsvd-without-p" in quirks else ERR_P

    table = 0
    user_page, writable, executable = True, True, True
    for level in range(3 if pae else 2, 0, -1):
        index = legacy_index(c, level, c.gva)
        if not (pae and level == 3 and not walked):
            npf = nested.access(("table", table), index * entry_bytes, True, False, True)
            if npf:
                return ("npf", npf[0], npf[1], digits())
        n = slots.get((table, index))
        value = entries[n][2] if n is not None else 0
        if not value & P:
            return ("pf", base_err, c.gva, digits())
        if pae and level == 3:
            # A PDPTE register grants every right and has no accessed flag (§4.4.1).
            if walked and value & (((1 << 64) - 1) & ~((1 << maxphyaddr) - 1)):
                return ("pf", base_err | p_bit | ERR_RSVD, c.gva, digits())
            if walked:
                ad[n] |= 1
            table = entries[n][3]
            continue
        if value & legacy_rsvd_mask(c, level, value, maxphyaddr, quirks):
            return ("pf", base_err | p_bit | ERR_RSVD, c.gva, digits())
        user_page &= bool(value & US)
        writable &= bool(value & RW)
        if nxe:
            executable &= not value & XD
        leaf = level == 1 or (value & PS and (pae or "pse" in c.flags))
        if not leaf:
            ad[n] |= 1
            table = entries[n][3]
            continue
        fault, _pk = permission_fault(c, user_page, writable, executable, 0, quirks)
        if fault:
            return ("pf", base_err | ERR_P, c.gva, digits())
        ad[n] |= 1 | (2 if write else 0)
        size = 1 << ((22 if "legacy32" in c.flags else 21) if level == 2 else 12)
        gpa = legacy_leaf_base(c, level, value) | (c.gva & (size - 1))
        npf = nested.access(gpa & ADDR, gpa, write, fetch, False)
        if npf:
            return ("npf", npf[0], npf[1], digits())
        return ("ok", gpa, digits())
    raise AssertionError("unreachable: level 1 is always a leaf")
