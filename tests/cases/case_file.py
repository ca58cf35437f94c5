"""Reads the SDM case file (tests/cases/x86_paging.cases, format in tests/cases/README.md) into cases
every consumer shares: one CPU state, one translation path in page tables numbered from the root, one
access, and the outcome derived by hand; an EPT case adds the second stage the VMX image builds (its EPTP and
the EPT entries the walk uses). A malformed file raises CaseFileError naming its file and line."""
import ast
import os
import re
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.join(HERE, "x86_paging.cases")

MODES = ("4-level", "5-level", "pae", "32-bit")
FLAGS = ("wp", "smep", "smap", "pke", "nxe", "ac", "pse", "npt")
ACCESSES = ("read", "write", "fetch", "implicit")
EDITS = {"unmap": 0, "flags": 1, "flags2m": 2, "rsvd": 3}  # nested-map edits (hw/contract/blob.h)
OUTCOME_ARGS = {"ok": 1, "pf": 2, "gp": 0, "npf": 2, "eptv": 3, "misconfig": 1}  # operands before ad=
EPT_OUTCOMES = ("ok", "pf", "eptv", "misconfig")  # what the VMX image reports (hw/contract/ept_case.h)
BUILTINS = {"P": 1, "RW": 2, "US": 4, "PWT": 8, "PCD": 0x10, "A": 0x20, "D": 0x40, "PS": 0x80, "XD": 1 << 63,
            "ALL": 7,
            "R": 1, "W": 2, "X": 4, "IPAT": 0x40, "WB": 6 << 3}  # EPT entries (SDM Vol. 3C Tables 29-1 to 29-6)
EPT_TABLES = ("pdpt", "pd", "pt")  # the guest tables of the target's path whose EPT leaf a case may give
EPT_LEVELS = 4  # the VMX image's EPT (hw/contract/ept_case.c), and its guest's paging: 4-level
VMX_MAXPHYADDR = 40  # hw/contract/ept_case.h VMX_MAXPHYADDR
COMMENT = re.compile(r"#(?=\s|$)")  # "#" then a space or the line's end: "#GP" in a name is text
MAX_ENTRIES = 255  # hw/contract/blob.h: a case's entry count is one byte


class CaseFileError(ValueError):
    pass


@dataclass
class SdmCase:
    """entries: (table, index, value, link) in walk order, link the linked table's number or None; a leaf's
    value holds its address, a link's does not (each consumer places the tables itself). edits: (kind, value,
    table) nested-map edits. expect: ("ok", gpa, ad) | ("pf", error_code, cr2, ad) | ("gp", ad) |
    ("npf", exitinfo1, exitinfo2, ad) | ("eptv", qualification, gpa, gva, ad) | ("misconfig", gpa, ad), ad one
    digit A + 2*D per entry (an EPT case: GUEST/EPT/TABLES, README); rights: "wux" letters or None; level: the
    level the walk faulted at (pf; misconfig: the EPT level; eptv: the guest level of a table access) or of the
    leaf (ok), or None. path: the entries as written; leaf: the leaf's address when given. ept: None, or the EPT
    case's second stage (EptStage)."""
    id: int
    name: str
    group: str
    line: int
    mode: str = "4-level"
    flags: frozenset = frozenset()
    cpl: int = 0
    pkru: int = 0
    maxphyaddr: int = 40
    access: str = "read"
    gva: int = 0
    tables: int = 1
    entries: list = field(default_factory=list)
    edits: list = field(default_factory=list)
    expect: tuple = None
    rights: str = None
    level: int = None
    why: list = field(default_factory=list)
    path: list = None
    leaf: int = None
    spares: list = field(default_factory=list)
    ept: "EptStage" = None

    @property
    def levels(self):
        return {"4-level": 4, "5-level": 5, "pae": 3, "32-bit": 2}[self.mode]


@dataclass
class EptStage:
    """The EPT of an EPT case (the VMX image's, hw/contract/ept_case.c): ad the EPTP's A/D enable (bit 6); final
    the EPT entries of the final access's path from the PML4E down, the last one the leaf (PS on a large one),
    without addresses; tables the EPT leaves given for the pages holding the target's guest PDPT, PD, PT."""
    ad: bool = False
    final: list = None
    tables: dict = field(default_factory=dict)

    @property
    def leaf_level(self):
        return EPT_LEVELS - len(self.final) + 1


def table_index(mode, level, gva):
    """The index of gva in a level's table (SDM Vol. 3A §4.3 32-bit, §4.4.2 PAE, §4.5 4-/5-level)."""
    if mode == "32-bit":
        return (gva >> (12 + 10 * (level - 1))) & 1023
    if mode == "pae" and level == 3:
        return (gva >> 30) & 3
    return (gva >> (12 + 9 * (level - 1))) & 511


def default_leaf(mode, level, scratch):
    """Where a leaf points when the case names no address: a page of the scratch region (4 KiB leaf, a PML4E or
    PML5E leaf, a PAE PDPTE), the region itself (2 MiB or 4 MiB leaf), physical 0 (1 GiB leaf)."""
    if level == 2:
        return scratch
    if level == 3 and mode in ("4-level", "5-level"):
        return 0
    return scratch + 0x3000


def build_path(mode, gva, path, leaf=None, scratch=0):
    """(tables, entries) for one translation path: path[k] is the entry at level top-k, the last one the leaf
    (with the leaf's address added); each upper entry links a fresh table."""
    top = {"4-level": 4, "5-level": 5, "pae": 3, "32-bit": 2}[mode]
    leaf_level = top - len(path) + 1
    leaf = default_leaf(mode, leaf_level, scratch) if leaf is None else leaf
    entries, table, tables = [], 0, 1
    for k, value in enumerate(path):
        level = top - k
        index = table_index(mode, level, gva)
        if level == leaf_level:
            entries.append((table, index, value | leaf, None))
        else:
            entries.append((table, index, value, tables))
            table, tables = tables, tables + 1
    return tables, entries


class _Reader:
    def __init__(self, path):
        self.path = path
        self.consts = dict(BUILTINS)
        self.cases = []
        self.group = None
        self.lineno = 0

    def fail(self, message, line=None):
        raise CaseFileError(f"{self.path}:{line or self.lineno}: {message}")

    def value(self, text):
        """An integer expression over numbers, named constants, | & ^ << >> + - * ~ and pk(key)."""
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError:
            self.fail(f"not an expression: {text!r}")
        return self.evaluate(tree.body, text)

    def evaluate(self, node, text):
        ops = {ast.BitOr: lambda a, b: a | b, ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b,
               ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b, ast.Add: lambda a, b: a + b,
               ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.consts:
                self.fail(f"unknown name {node.id!r} in {text!r}")
            return self.consts[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](self.evaluate(node.left, text), self.evaluate(node.right, text))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return ~self.evaluate(node.operand, text) & ((1 << 64) - 1)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "pk" \
                and len(node.args) == 1 and not node.keywords:
            key = self.evaluate(node.args[0], text)
            if not 0 <= key < 16:
                self.fail(f"protection key {key} is not 0..15")
            return key << 59  # bits 62:59 of a 4-/5-level leaf (§4.6.2)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "mt" \
                and len(node.args) == 1 and not node.keywords:
            memory_type = self.evaluate(node.args[0], text)
            if not 0 <= memory_type < 8:
                self.fail(f"memory type {memory_type} is not 0..7")
            return memory_type << 3  # bits 5:3 of an EPT leaf (Vol. 3C §29.3.7)
        self.fail(f"not an integer expression of the case file: {text!r}")

    def u64(self, text):
        v = self.value(text)
        if not 0 <= v < 1 << 64:
            self.fail(f"{text!r} is not a 64-bit value")
        return v

    def read(self):
        with open(self.path) as f:
            lines = f.read().splitlines()
        case = None
        for self.lineno, raw in enumerate(lines, 1):
            line = COMMENT.split(raw, 1)[0].strip()
            if not line:
                continue
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            if word == "const":
                name, _, expr = rest.partition(" ")
                if not name.isidentifier() or name in self.consts or name in ("pk", "mt"):
                    self.fail(f"const {name!r}: not a new name")
                self.consts[name] = self.u64(expr.strip())
            elif word == "group":
                self.finish(case)
                case = None
                self.group = rest
            elif word == "case":
                self.finish(case)
                case = self.start(rest)
            elif case is None:
                self.fail(f"{word!r} outside a case")
            elif word == "why":
                case.why.append(rest)
            else:
                self.field(case, word, rest.split())
        self.lineno = len(lines)
        self.finish(case)
        return self.cases

    def start(self, rest):
        number, _, name = rest.partition(" ")
        if not number.isdigit() or not name.strip():
            self.fail("a case starts 'case ID NAME'")
        cid = int(number)
        if self.group is None:
            self.fail("a case before any 'group' line")
        return SdmCase(id=cid, name=name.strip(), group=self.group, line=self.lineno)

    def field(self, case, word, args):
        if word == "cpu":
            if not args or args[0] not in MODES:
                self.fail(f"cpu: the paging mode first, one of {', '.join(MODES)}")
            case.mode, flags = args[0], set()
            for arg in args[1:]:
                key, eq, val = arg.partition("=")
                if eq and key in ("cpl", "pkru", "maxphyaddr"):
                    setattr(case, key, self.u64(val))
                elif not eq and arg in FLAGS:
                    flags.add(arg)
                else:
                    self.fail(f"cpu: {arg!r} is not a flag ({' '.join(FLAGS)}) or cpl=, pkru=, maxphyaddr=")
            case.flags = frozenset(flags)
            if case.cpl not in (0, 3) or not 36 <= case.maxphyaddr <= 52 or case.pkru >> 32:
                self.fail("cpu: cpl is 0 or 3, maxphyaddr 36..52, pkru 32 bits")
        elif word == "access":
            if len(args) != 2 or args[0] not in ACCESSES:
                self.fail(f"access: TYPE GVA, TYPE one of {', '.join(ACCESSES)}")
            case.access, case.gva = args[0], self.u64(args[1])
        elif word == "path":
            case.path = [self.u64(a) for a in args]
        elif word == "leaf":
            case.leaf = self.u64(" ".join(args))
        elif word == "spare":
            if len(args) != 2:
                self.fail("spare: INDEX VALUE (a root-table entry linking an empty table)")
            case.spares.append((self.u64(args[0]), self.u64(args[1])))
        elif word == "edit":
            if len(args) not in (2, 3) or args[0] not in EDITS or (len(args) == 3 and not args[2].startswith("table=")):
                self.fail(f"edit: KIND VALUE [table=N], KIND one of {', '.join(EDITS)}")
            table = self.u64(args[2][6:]) if len(args) == 3 else None
            case.edits.append((EDITS[args[0]], self.u64(args[1]), table))
        elif word == "eptp":
            if case.ept is not None or any(a != "ad" for a in args):
                self.fail("eptp [ad]: once per case, before its ept lines")
            case.ept = EptStage(ad="ad" in args)
        elif word == "ept":
            self.ept(case, args)
        elif word == "expect":
            self.expect(case, args)
        else:
            self.fail(f"unknown field {word!r}")

    def ept(self, case, args):
        if case.ept is None:
            self.fail("ept: an 'eptp' line first")
        if args[:1] == ["final"] and 3 <= len(args) <= EPT_LEVELS + 1 and case.ept.final is None:
            case.ept.final = [self.u64(a) for a in args[1:]]
        elif len(args) == 2 and args[0] in EPT_TABLES and args[0] not in case.ept.tables:
            case.ept.tables[args[0]] = self.u64(args[1])
        else:
            self.fail(f"ept: 'final' and 2 to {EPT_LEVELS} entries (a 4 KiB, 2 MiB or 1 GiB leaf), or one of "
                      f"{', '.join(EPT_TABLES)} and its leaf; each once")

    def expect(self, case, args):
        if not args or args[0] not in OUTCOME_ARGS:
            self.fail(f"expect: one of {', '.join(OUTCOME_ARGS)} first")
        count = OUTCOME_ARGS[args[0]]
        keyed = dict(a.partition("=")[::2] for a in args[1 + count:])
        if len(args) < 1 + count or not set(keyed) <= {"ad", "rights", "level"} or "ad" not in keyed or \
                any("=" in a for a in args[1:1 + count]):
            self.fail(f"expect {args[0]}: {count} value(s), then ad=DIGITS [rights=LETTERS] [level=N]")
        ad = keyed["ad"]
        if not ad or any(d not in "0123/" for d in ad):
            self.fail(f"expect: ad={ad!r} is not one digit 0..3 per entry")
        rights = keyed.get("rights")
        if rights is not None and (rights != "-" and (not set(rights) <= set("wux") or len(set(rights)) < len(rights))):
            self.fail(f"expect: rights={rights!r} is letters of 'wux', or '-' for none")
        case.expect = (args[0],) + tuple(self.u64(a) for a in args[1:1 + count]) + (ad,)
        case.rights = None if rights is None else rights.replace("-", "")
        if "level" in keyed:
            case.level = self.u64(keyed["level"])
            if not 1 <= case.level <= 5 or args[0] not in ("ok", "pf", "eptv", "misconfig"):
                self.fail("expect: level=1..5, for an ok, pf, eptv or misconfig outcome")

    def finish(self, case):
        if case is None:
            return
        for needed in ("path", "expect"):
            if getattr(case, needed) is None:
                self.fail(f"case {case.id} has no '{needed}' line", case.line)
        if not 1 <= len(case.path) <= case.levels:
            self.fail(f"case {case.id}: a {case.mode} path has 1 to {case.levels} entries", case.line)
        if case.mode in ("pae", "32-bit") and ("pke" in case.flags or case.pkru):
            self.fail(f"case {case.id}: protection keys exist only with 4-/5-level paging (§4.6.2)", case.line)
        case.tables, case.entries = build_path(case.mode, case.gva, case.path, case.leaf, self.consts.get("S", 0))
        for index, value in case.spares:
            case.entries.append((0, index, value, case.tables))
            case.tables += 1
        if case.ept is not None:
            self.finish_ept(case)
        elif case.expect[0] not in ("ok", "pf", "gp", "npf"):
            self.fail(f"case {case.id}: an {case.expect[0]} outcome needs an EPT ('eptp' and 'ept' lines)", case.line)
        elif len(case.expect[-1]) != len(case.entries) or "/" in case.expect[-1]:
            self.fail(f"case {case.id}: ad= has {len(case.expect[-1])} digits for {len(case.entries)} entries",
                      case.line)
        if len(case.entries) > MAX_ENTRIES:
            self.fail(f"case {case.id}: more than {MAX_ENTRIES} entries", case.line)
        # ids are the image's case ids: the EPT cases are the VMX image's, numbered apart from the others
        if any(c.id == case.id and (c.ept is None) == (case.ept is None) for c in self.cases):
            self.fail(f"case id {case.id} used twice", case.line)
        self.cases.append(case)

    def finish_ept(self, case):
        """An EPT case runs as the VMX image's guest (hw/contract/ept_case.h): 4-level paging at MAXPHYADDR 40
        with CR0.WP, CR4.SMEP/SMAP, EFER.NXE, RFLAGS.AC and the CPL its own, a guest leaf of 4 KiB, 2 MiB or
        1 GiB whose guest-physical address the case gives, an EPT leaf of the same three sizes."""
        fail = lambda message: self.fail(f"case {case.id}: {message}", case.line)  # noqa: E731
        ept, guest_leaf = case.ept, EPT_LEVELS - len(case.path) + 1
        if case.mode != "4-level" or case.flags - {"wp", "smep", "smap", "nxe", "ac"} or case.pkru or \
                case.maxphyaddr != VMX_MAXPHYADDR or case.spares or case.edits:
            fail(f"an EPT case is 4-level paging at maxphyaddr {VMX_MAXPHYADDR}, flags of wp smep smap nxe ac, "
                 "no spare or edit line")
        if ept.final is None or case.leaf is None or len(case.path) < 2:
            fail("an EPT case gives 'ept final', 'leaf' (the guest leaf's guest-physical address) and a guest "
                 "leaf of 4 KiB, 2 MiB or 1 GiB (a path of 2 to 4 entries)")
        for level, entry, what in ((guest_leaf, case.path[-1], "guest"), (ept.leaf_level, ept.final[-1], "EPT")):
            if level > 1 and not entry & BUILTINS["PS"]:
                fail(f"the {what} leaf at level {level} has no PS")
        if case.leaf & ((1 << (12 + 9 * (guest_leaf - 1))) - 1):
            fail(f"leaf {case.leaf:#x} is not aligned to the guest page")
        if case.expect[0] not in EPT_OUTCOMES:
            fail(f"an EPT case's outcome is one of {', '.join(EPT_OUTCOMES)}")
        ad = case.expect[-1].split("/")
        if [len(part) for part in ad] != [EPT_LEVELS, len(ept.final), len(EPT_TABLES)]:
            fail(f"ad= is GUEST/EPT/TABLES: {EPT_LEVELS} guest digits, one per 'ept final' entry, "
                 f"{len(EPT_TABLES)} table digits")


def read(path=DEFAULT_FILE):
    """(cases, constants) of a case file."""
    reader = _Reader(path)
    cases = reader.read()
    return cases, reader.consts
