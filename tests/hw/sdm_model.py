"""Expected outcomes of the hardware cases, from the SDM text (Vol. 3A §4.3
32-bit paging, §4.4 PAE paging, §4.5 4-/5-level paging, §4.6 access rights,
§4.7 page-fault error code, §4.8 A/D),
written independently of lib/ and of the image. The accessed-flag policy for
faulting walks follows ORACLES.md item 8: A is set on each upper-level entry
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
            fault = True  # SMAP: AC=1 opens user pages to explicit supervisor accesses only (ORACLES.md)
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
    if "pae" in c.flags or "legacy32" in c.flags:
        return expect_legacy(c, maxphyaddr, quirks)
    la57 = "la57" in c.flags
    nxe = "nxe" in c.flags
    slots = {(t, i): n for n, (t, i, _v, _l) in enumerate(c.entries)}
    ad = [((v >> 5) & 1) + 2 * ((v >> 6) & 1) for (_t, _i, v, _l) in c.entries]

    def digits():
        return "".join(str(x) for x in ad)

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
        n = slots.get((table, index))
        value = c.entries[n][2] if n is not None else 0
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
            table = c.entries[n][3]
            continue
        size_shift = 12 + 9 * (level - 1)
        fault, pk = permission_fault(c, user_page, writable, executable, (value >> 59) & 0xF, quirks)
        if fault:
            return ("pf", base_err | ERR_P | (ERR_PK if pk else 0), c.gva, digits())
        ad[n] |= 1 | (2 if write else 0)
        page_base = value & ADDR & ~((1 << size_shift) - 1)
        return ("ok", page_base | (c.gva & ((1 << size_shift) - 1)), digits())
    raise AssertionError("unreachable: level 1 is always a leaf")


# Legacy paging modes (Vol. 3A §4.3 32-bit paging, §4.4 PAE paging). The image
# runs them as an SVM guest over an identity nested map of 0..4 GiB, so a
# translation to a guest-physical address at or above 4 GiB ends in a nested
# page fault (APM Vol. 2 §15.25.6) instead of reaching memory.
NESTED_LIMIT = 1 << 32
NPF_FINAL = 1 << 32


def pae_pdpte_rsvd(maxphyaddr):
    """§4.4.1, Table 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR of a present PDPTE."""
    return 0x1E6 | (((1 << 64) - 1) & ~((1 << maxphyaddr) - 1))


def legacy_rsvd_mask(c, level, value, maxphyaddr):
    """Reserved bits of a PDE or PTE (Tables 4-4..4-6 for 32-bit, 4-9..4-11 for PAE)."""
    if "legacy32" in c.flags:
        if level == 2 and value & PS and "pse" in c.flags:
            low = min(maxphyaddr, 40) - 19
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
    slots = {(t, i): n for n, (t, i, _v, _l) in enumerate(c.entries)}
    ad = [((v >> 5) & 1) + 2 * ((v >> 6) & 1) for (_t, _i, v, _l) in c.entries]

    def digits():
        return "".join(str(x) for x in ad)

    walked = "pae-pdpte-walked" in quirks
    if pae and not walked:
        for index in range(4):
            n = slots.get((0, index))
            value = c.entries[n][2] if n is not None else 0
            if value & P and value & pae_pdpte_rsvd(maxphyaddr):
                return ("gp", digits())  # MOV CR3 (here VMRUN) loads the PDPTE registers
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
        n = slots.get((table, legacy_index(c, level, c.gva)))
        value = c.entries[n][2] if n is not None else 0
        if not value & P:
            return ("pf", base_err, c.gva, digits())
        if pae and level == 3:
            # A PDPTE register grants every right and has no accessed flag (§4.4.1).
            if walked and value & (((1 << 64) - 1) & ~((1 << maxphyaddr) - 1)):
                return ("pf", base_err | p_bit | ERR_RSVD, c.gva, digits())
            if walked:
                ad[n] |= 1
            table = c.entries[n][3]
            continue
        if value & legacy_rsvd_mask(c, level, value, maxphyaddr):
            return ("pf", base_err | p_bit | ERR_RSVD, c.gva, digits())
        user_page &= bool(value & US)
        writable &= bool(value & RW)
        if nxe:
            executable &= not value & XD
        leaf = level == 1 or (value & PS and (pae or "pse" in c.flags))
        if not leaf:
            ad[n] |= 1
            table = c.entries[n][3]
            continue
        fault, _pk = permission_fault(c, user_page, writable, executable, 0, quirks)
        if fault:
            return ("pf", base_err | ERR_P, c.gva, digits())
        ad[n] |= 1 | (2 if write else 0)
        size = 1 << ((22 if "legacy32" in c.flags else 21) if level == 2 else 12)
        gpa = legacy_leaf_base(c, level, value) | (c.gva & (size - 1))
        if gpa >= NESTED_LIMIT:
            # Past the identity nested map: the nested access is a user access, a
            # write for a write, with I/D for a fetch (host EFER.NXE is set).
            info1 = NPF_FINAL | ERR_U | (ERR_W if write else 0) | (ERR_ID if fetch else 0)
            return ("npf", info1, gpa, digits())
        return ("ok", gpa, digits())
    raise AssertionError("unreachable: level 1 is always a leaf")
