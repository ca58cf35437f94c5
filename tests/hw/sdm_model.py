"""Expected outcomes of the hardware cases, from the SDM text (Vol. 3A §4.5
4-/5-level paging, §4.6 access rights, §4.7 page-fault error code, §4.8 A/D),
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
