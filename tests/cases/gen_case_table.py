#!/usr/bin/python3
"""Writes the case file's cases as a C table (tests/cases/README.md): for tests/unit/test_cases.c every case but
the EPT ones (a nested-paging one, or one whose outcome is the image's nested map's (#NPF), marked to run over
the image's nested map and code path, hw/contract/npt_case.h and code_path.h); with "ept", for
tests/unit/test_cases_ept.c the EPT cases as the VMX image takes them (hw/contract/ept_case.h, through
ept_vmx.py). Run by meson: gen_case_table.py CASE_FILE OUTPUT [ept].
A malformed case file: its file and line on standard error, exit 2; the output is written to a temporary file
and renamed."""
import os
import sys

import case_file
import ept_vmx

MODES = {"4-level": "NW_PAGING_4LEVEL", "5-level": "NW_PAGING_5LEVEL", "pae": "NW_PAGING_PAE",
         "32-bit": "NW_PAGING_32"}
REGISTERS = {"wp": ("cr0", "NW_CR0_WP"), "pse": ("cr4", "NW_CR4_PSE"), "smep": ("cr4", "NW_CR4_SMEP"),
             "smap": ("cr4", "NW_CR4_SMAP"), "pke": ("cr4", "NW_CR4_PKE"), "nxe": ("efer", "NW_EFER_NXE"),
             "ac": ("rflags", "NW_RFLAGS_AC")}
ACCESSES = {"read": "NW_ACCESS_READ, false", "write": "NW_ACCESS_WRITE, false", "fetch": "NW_ACCESS_FETCH, false",
            "implicit": "NW_ACCESS_READ, true"}
OUTCOMES = {"ok": "NW_OUTCOME_OK", "pf": "NW_OUTCOME_PAGE_FAULT", "gp": "NW_OUTCOME_GP", "npf": "NW_OUTCOME_NPF"}
HW_MODE_FLAGS = {"4-level": "0", "5-level": "HW_CASE_LA57", "pae": "HW_CASE_PAE", "32-bit": "HW_CASE_LEGACY32"}
NPT_EDIT_TABLE = 0xFF  # hw/contract/blob.h: a nested edit is an entry of table 0xFF (tests/hw/cases.py NPT_EDIT)
RIGHTS = {"w": "NW_WALK_RIGHT_W", "u": "NW_WALK_RIGHT_U", "x": "NW_WALK_RIGHT_X"}


def is_nested(case):
    """A case whose outcome is the image's nested map's: nested paging (its edits), or an #NPF (a legacy-mode
    guest's identity map, which ends at 4 GiB)."""
    return "npt" in case.flags or case.expect[0] == "npf"


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def register(case, name):
    bits = [macro for flag, (reg, macro) in REGISTERS.items() if reg == name and flag in case.flags]
    return " | ".join(bits) or "0"


def row(case):
    kind = case.expect[0]
    gpa = case.expect[1] if kind == "ok" else 0
    error_code, cr2 = (case.expect[1], case.expect[2]) if kind == "pf" else (0, 0)
    exitinfo1, exitinfo2 = (case.expect[1], case.expect[2]) if kind == "npf" else (0, 0)
    edits = ", ".join(f"{{ .table = {NPT_EDIT_TABLE:#x}, .link = {0 if table is None else table + 1}, "
                      f".index = {kind}, .value = {value:#x}ull }}" for kind, value, table in case.edits)
    edits = f", .edits = {{ {edits} }}" if edits else ""
    nested = "true" if is_nested(case) else "false"
    rights = "-1" if case.rights is None else " | ".join([RIGHTS[r] for r in case.rights]) or "0"
    entries = ", ".join(f"{{ {t}, {i}, {-1 if link is None else link}, {v:#x}ull }}"
                        for t, i, v, link in case.entries)
    return f"""	{{ .id = {case.id}, .name = {c_string(case.name)}, .line = {case.line},
	  .mode = {MODES[case.mode]}, .cr0 = {register(case, "cr0")}, .cr4 = {register(case, "cr4")},
	  .efer = {register(case, "efer")}, .rflags = {register(case, "rflags")},
	  .cpl = {case.cpl}, .pkru = {case.pkru:#x}, .maxphyaddr = {case.maxphyaddr},
	  .access = {{ {ACCESSES[case.access]} }}, .gva = {case.gva:#x}ull, .tables = {case.tables},
	  .nentries = {len(case.entries)}, .entries = {{ {entries} }},
	  .outcome = {OUTCOMES[kind]}, .gpa = {gpa:#x}ull, .error_code = {error_code:#x}, .cr2 = {cr2:#x}ull,
	  .rights = {rights}, .level = {case.level or 0}, .ad = {c_string(case.expect[-1])},
	  .nested = {nested}, .hw = {{ .flags = {HW_MODE_FLAGS[case.mode]}, .cpl = {case.cpl} }},
	  .exitinfo1 = {exitinfo1:#x}ull, .exitinfo2 = {exitinfo2:#x}ull, .nedits = {len(case.edits)}{edits} }},
"""


VMX_ACCESSES = {"read": "VMX_ACCESS_READ", "write": "VMX_ACCESS_WRITE", "fetch": "VMX_ACCESS_FETCH",
                "implicit": "VMX_ACCESS_IMPLICIT"}
VMX_GUEST_FLAGS = {"wp": "VMX_GUEST_WP", "nxe": "VMX_GUEST_NXE", "smep": "VMX_GUEST_SMEP", "smap": "VMX_GUEST_SMAP",
                   "ac": "VMX_GUEST_AC"}
VMX_WHERE = {"target": "VMX_EDIT_TARGET", "pdpt": "VMX_EDIT_GUEST_PDPT", "pd": "VMX_EDIT_GUEST_PD",
             "pt": "VMX_EDIT_GUEST_PT"}
EPT_OUTCOMES = {"ok": "NW_OUTCOME_OK", "pf": "NW_OUTCOME_PAGE_FAULT", "eptv": "NW_OUTCOME_EPT_VIOLATION",
                "misconfig": "NW_OUTCOME_EPT_MISCONFIG"}
VMX_MAX_EDITS = 16  # hw/contract/ept_case.h


def ept_row(case, source):
    """One struct tc_ept_case: the image's case (its blob fields) and the file's outcome, val[] its operands."""
    v = ept_vmx.vmx_fields(case)
    if len(v["edits"]) > VMX_MAX_EDITS:
        raise case_file.CaseFileError(f"{source}:{case.line}: case {case.id}: more than {VMX_MAX_EDITS} edits")
    pml4e, pdpte, pde, pte = v["guest"]
    flags = " | ".join(macro for flag, macro in VMX_GUEST_FLAGS.items() if v[flag]) or "0"
    edits = ", ".join(f"{{ .where = {VMX_WHERE[w]}, .level = {lvl}, .clear = {clear:#x}ull, .set = {set_bits:#x}ull }}"
                      for w, lvl, clear, set_bits in v["edits"])
    edits = f",\n\t\t.edits = {{ {edits} }}" if edits else ""
    vals = ", ".join(f"{x:#x}ull" for x in case.expect[1:-1]) or "0"
    return f"""	{{ .name = {c_string(case.name)}, .line = {case.line},
	  .c = {{ .head = {{ .id = {case.id}, .access = {VMX_ACCESSES[v["access"]]},
		.flags = {"VMX_CASE_EPT_AD" if v["ept_ad"] else "0"}, .ept_level = {v["ept_level"]},
		.edit_count = {len(v["edits"])}, .gva = {v["gva"]:#x}ull, .gpa = {v["gpa"]:#x}ull,
		.guest = {{ {pte:#x}ull, {pde:#x}ull, {pdpte:#x}ull, {pml4e:#x}ull }}, .ept_leaf = {v["ept_leaf"]:#x}ull,
		.guest_level = {v["guest_level"]}, .cpl = {v["cpl"]}, .guest_flags = {flags} }}{edits} }},
	  .outcome = {EPT_OUTCOMES[case.expect[0]]}, .val = {{ {vals} }}, .level = {case.level or 0},
	  .ad = {c_string(case.expect[-1])} }},
"""


def ept_table(cases, source):
    taken = [c for c in cases if c.ept is not None]
    return (f"/* Written by tests/cases/gen_case_table.py from {source}: its {len(taken)} EPT cases as the VMX\n"
            " * image takes them. Do not edit. */\n"
            f"#define TC_EPT_CASES {len(taken)}\n"
            f"#define TC_FILE {c_string(source)}\n"
            "static const struct tc_ept_case tc_ept_cases[TC_EPT_CASES] = {\n"
            + "".join(ept_row(c, source) for c in taken) + "};\n")


MAX_ENTRIES, MAX_TABLES, MAX_EDITS = 8, 8, 4  # test_cases.c's TC_MAX_ENTRIES, TC_MAX_TABLES, TC_MAX_EDITS


def table(cases, source):
    taken = [c for c in cases if c.ept is None]
    for c in taken:
        if len(c.entries) > MAX_ENTRIES or c.tables > MAX_TABLES or len(c.edits) > MAX_EDITS:
            raise case_file.CaseFileError(f"{source}:{c.line}: case {c.id}: more than {MAX_ENTRIES} entries, "
                                          f"{MAX_TABLES} tables or {MAX_EDITS} edits for tests/unit/test_cases.c")
    return (f"/* Written by tests/cases/gen_case_table.py from {source}: the {len(taken)} of its {len(cases)}\n"
            " * cases without EPT. Do not edit. */\n"
            f"#define TC_CASES {len(taken)}\n"
            f"#define TC_FILE_CASES {len(cases)}\n"
            f"#define TC_FILE {c_string(source)}\n"
            "static const struct tc_case tc_cases[TC_CASES] = {\n" + "".join(row(c) for c in taken) + "};\n")


def main(argv):
    if len(argv) not in (3, 4) or argv[3:] not in ([], ["ept"]):
        sys.stderr.write("usage: gen_case_table.py CASE_FILE OUTPUT [ept]\n")
        return 2
    try:
        cases, _consts = case_file.read(argv[1])
        source = os.path.relpath(argv[1], os.path.join(os.path.dirname(__file__), "..", ".."))
        text = ept_table(cases, source) if argv[3:] else table(cases, source)
    except (OSError, case_file.CaseFileError) as e:
        sys.stderr.write(f"gen_case_table: {e}\n")
        return 2
    tmp = argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
