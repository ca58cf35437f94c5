"""An EPT case of the case file (tests/cases/README.md) as the VMX image takes it (hw/contract/ept_case.h): the
fields of tools/bochs-run's VmxCase, which the blob packs, and the line the image and nestwalk-vmx-sim print for
it. The image builds every EPT entry R|W|X (a leaf write-back) and then applies the case's leaf and edits, so an
entry the file gives differently becomes the edit that makes it so."""
import case_file

PS = case_file.BUILTINS["PS"]
RWX = case_file.BUILTINS["R"] | case_file.BUILTINS["W"] | case_file.BUILTINS["X"]
RWX_WB = RWX | case_file.BUILTINS["WB"]  # the image's EPT leaves (build_ept in hw/contract/ept_case.c)
LOW_ADDR_BITS = 0x000FFFFFFFFFF000 & ((1 << case_file.VMX_MAXPHYADDR) - 1)  # ept_case.c's LOW_ADDR_BITS
GUEST_FLAGS = ("wp", "nxe", "smep", "smap", "ac")


def page_size(level):
    return 1 << (12 + 9 * (level - 1))


def edit(where, level, default, value):
    """The (where, level, clear, set) edit that turns the image's entry into value, or None."""
    if value == default:
        return None
    return (where, level, default & ~value, value & ~default)


def vmx_fields(case):
    """VmxCase's fields (tools/bochs-run) of an EPT case: guest entries and leaf level from the path, the
    4 KiB guest-physical page the access reaches from the leaf's address and the linear address, the EPT
    leaf's own bits as ept_leaf, and every other difference from the image's EPT as an edit."""
    ept = case.ept
    guest_level = case_file.EPT_LEVELS - len(case.path) + 1
    guest = [value & ~PS if k == len(case.path) - 1 and guest_level > 1 else value
             for k, value in enumerate(case.path)]
    guest += [0] * (case_file.EPT_LEVELS - len(guest))
    leaf = ept.final[-1] & ~PS if ept.leaf_level > 1 else ept.final[-1]
    edits = [edit("target", case_file.EPT_LEVELS - k, RWX, value) for k, value in enumerate(ept.final[:-1])]
    edits.append(edit("target", ept.leaf_level, 0, leaf & LOW_ADDR_BITS))
    edits += [edit(where, 1, RWX_WB, ept.tables[where]) for where in case_file.EPT_TABLES if where in ept.tables]
    return dict(id=case.id, gva=case.gva, gpa=(case.leaf | (case.gva & (page_size(guest_level) - 1))) & ~0xFFF,
                access=case.access, ept_ad=ept.ad, ept_level=ept.leaf_level, guest=tuple(guest),
                ept_leaf=leaf & ~LOW_ADDR_BITS, edits=[e for e in edits if e is not None], guest_level=guest_level,
                cpl=case.cpl, **{flag: flag in case.flags for flag in GUEST_FLAGS})


def outcome_line(case):
    """What the image prints after "v ID " for the case when it follows the file: a completed fetch or
    implicit read lands no data the image can see, so its address prints as "-"."""
    kind, values, ad = case.expect[0], case.expect[1:-1], case.expect[-1]
    if kind == "ok" and case.access in ("fetch", "implicit"):
        return f"ok - {ad}"
    return " ".join([kind] + [hex(v) for v in values] + [ad])
