#!/usr/bin/python3
"""Writes the table of QEMU-observed walk outcomes fuzz_walk checks its inputs against.

Generates seeded random 1-D cases (4- and 5-level paging, one path of random
rights, A/D, keys, 4 KiB and 2 MiB leaves, reserved bits now and then; control
registers, CPL, access) restricted to what fuzz_walk's input can express: the
index of every level one of the eight it draws from (0-3, 255, 256, 510, 511),
no 1 GiB leaves (the image would touch physical memory outside its scratch
region), canonical addresses. Each case runs on the bare-metal image under
QEMU (tools/hw-run); its outcome is kept with the deviation of hw/DEVIATIONS.md
that explains it when it is not the SDM's (tests/hw/sdm_model.py); unexplained
ones are left out and counted.

Output: tests/fuzz/hw/qemu_1d.json (cases and outcomes, read by gen_corpus.py
for the walk seeds) and tests/fuzz/hw/qemu_1d.h (the rows fuzz_walk.c looks up,
sorted by key). Keys: fuzz_hw.h describes them; fz_hw_key() in fuzz_walk.c and
case_key() here build the same text.

Run: tests/fuzz/gen_hw_table.py IMAGE [--count N] [--seed S]
(IMAGE: a build's hw/nestwalk-hw.elf), then tests/fuzz/gen_corpus.py walk."""
import argparse
import itertools
import json
import pathlib
import random
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hw"))

import cases as hwcases  # noqa: E402
import sdm_model  # noqa: E402

hw_run = hwcases.hw_run
OUT = ROOT / "tests" / "fuzz" / "hw"
NEAR_ENDS = (0, 1, 2, 3, 255, 256, 510, 511)  # fuzz_walk.c pick_index()
P, RW, US, A, D, PS, XD = 1, 2, 4, 0x20, 0x40, 0x80, 1 << 63
ACCESS = {"read": (0, 0), "write": (1, 0), "fetch": (2, 0), "implicit": (0, 1)}  # (nw_access_type, implicit)
DEVIATIONS = ("rsvd-without-p", "smap-implicit-ac")  # the QEMU rows of hw/DEVIATIONS.md a 1-D walk can meet
MAXPHYADDR = 40  # QEMU -cpu max


def fuzzable_case(cid, rng):
    """As tests/hw/cases.py random_case, with fuzz_walk's indices and 4 KiB / 2 MiB leaves only."""
    la57 = rng.random() < 0.3
    levels = 5 if la57 else 4
    leaf_level = rng.choices([1, 2], weights=[70, 30])[0]
    access = rng.choice(list(ACCESS))
    cpl = rng.choice([0, 3])
    flags = {f for f in ("wp", "smep", "smap", "pke", "nxe", "ac") if rng.random() < 0.5}
    if la57:
        flags.add("la57")
    indices = {level: rng.choice(NEAR_ENDS) for level in range(1, levels)}
    indices[levels] = rng.choice(NEAR_ENDS[1:] if la57 else NEAR_ENDS[2:])  # the image's own slots, as random_case
    gva = sum(indices[level] << (12 + 9 * (level - 1)) for level in indices) | rng.randrange(0, 0x1000, 8)
    if indices[levels] >= 256:
        gva |= ~((1 << (12 + 9 * levels)) - 1) & ((1 << 64) - 1)
    pa = hw_run.SCRATCH_BASE + rng.randrange(512) * 0x1000 if leaf_level == 1 else hw_run.SCRATCH_BASE
    path = hwcases.random_path(rng, levels, leaf_level)
    if rng.random() < 0.08:
        hwcases.add_random_rsvd(rng, path, levels, MAXPHYADDR, large_levels=(2,))
    pkru = rng.getrandbits(32) if "pke" in flags else 0
    return hwcases.path_case(cid, gva, path, levels=levels, leaf_pa_value=pa, cpl=cpl, access=access,
                             flags=flags, pkru=pkru)


def chain(case):
    """The entries a path-follower reads for the case's address: from the root, the entry at the address's
    index in each table, until one is not present, has PS set, or is at level 1 (fuzz_hw.h)."""
    levels = 5 if "la57" in case.flags else 4
    slots = {(t, i): (v, link) for t, i, v, link in case.entries}
    out, table = [], 0
    for level in range(levels, 0, -1):
        index = (case.gva >> (12 + 9 * (level - 1))) & 511
        value, link = slots.get((table, index), (0, None))
        out.append((level, value, link))
        if not value & P or value & PS or level == 1:
            break
        table = link
    return out


def key_entry(level, value, maxphy=MAXPHYADDR):
    """An entry without the address bits that only say where the next table or the page is."""
    low = 21 if level == 2 and value & PS else 12
    return value & ~(((1 << maxphy) - 1) & ~((1 << low) - 1))


def case_key(case):
    flag = lambda name: 1 if name in case.flags else 0  # noqa: E731
    levels = 5 if "la57" in case.flags else 4
    access, implicit = ACCESS[case.access]
    bits = "".join(str(flag(n)) for n in ("wp", "smep", "smap", "pke")) + "0" + str(flag("nxe")) + str(flag("ac"))
    pkru = case.pkru if "pke" in case.flags else 0
    head = f"{levels}/{MAXPHYADDR}/{bits}0/{case.cpl}/{pkru:x}/0/{access}{implicit}/{case.gva:x}"
    return head + "".join(f"/{key_entry(level, value):x}" for level, value, _ in chain(case))


def explain(case, observed):
    """None when QEMU gave the SDM's outcome, else the listed deviation that accounts for it, else
    "unexplained" (as tests/traces/test_hw_qemu.py explains a run)."""
    if observed == sdm_model.expect(case, MAXPHYADDR):
        return None
    for size in range(1, len(DEVIATIONS) + 1):
        for quirks in itertools.combinations(DEVIATIONS, size):
            if observed == sdm_model.expect(case, MAXPHYADDR, quirks=set(quirks)):
                return "+".join(quirks)
    return "unexplained"


def c_header(rows, image_note):
    lines = ["/* Generated by tests/fuzz/gen_hw_table.py: walk outcomes QEMU gave on the bare-metal image",
             f" * ({image_note}). Sorted by key (fuzz_hw.h). Do not edit: regenerate. */",
             "static const struct fz_hw_row fz_hw_qemu_1d[] = {"]
    for r in rows:
        lines.append(f'\t{{ "{r["key"]}", FZ_HW_{r["kind"].upper()}, {r["error_code"]:#x}, '
                     f'FZ_HW_DEV_{(r["deviation"] or "none").upper().replace("-", "_").replace("+", "_AND_")} }},')
    lines.append("};")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [fuzzable_case(90000 + n, rng) for n in range(args.count)]
    status, text, seconds = hw_run.boot(args.image, cases, timeout=900)
    if status != hw_run.EXIT_PASS:
        sys.exit(f"gen_hw_table: the image failed (exit {status}):\n{text[-2000:]}")
    maxphy = int(re.search(r"maxphyaddr=(\d+)", text).group(1))
    if maxphy != MAXPHYADDR:
        sys.exit(f"gen_hw_table: QEMU reports MAXPHYADDR {maxphy}, the cases assume {MAXPHYADDR}")
    observed = hw_run.parse_outcomes(text)
    rows, skipped = {}, {"unexplained": 0, "no outcome": 0, "other kind": 0, "same key": 0}
    for case in cases:
        got = observed.get(case.id)
        if not got:
            skipped["no outcome"] += 1
            continue
        why = explain(case, got)
        if why == "unexplained":
            skipped["unexplained"] += 1
            continue
        if got[0] not in ("ok", "pf"):
            skipped["other kind"] += 1
            continue
        key = case_key(case)
        row = {"key": key, "kind": got[0], "error_code": got[1] if got[0] == "pf" else 0, "deviation": why,
               "case": {"id": case.id, "gva": case.gva, "access": case.access, "cpl": case.cpl,
                        "flags": sorted(case.flags), "pkru": case.pkru, "tables": case.tables,
                        "entries": case.entries}}
        if key in rows:
            skipped["same key"] += 1
            continue
        rows[key] = row
    ordered = [rows[k] for k in sorted(rows)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "qemu_1d.json").write_text(json.dumps(ordered, indent=0) + "\n")
    note = f"{len(cases)} cases, seed {args.seed}, one boot of {seconds:.1f} s"
    (OUT / "qemu_1d.h").write_text(c_header(ordered, note))
    kinds = {k: sum(1 for r in ordered if r["kind"] == k) for k in ("ok", "pf")}
    devs = {d: sum(1 for r in ordered if r["deviation"] == d) for d in {r["deviation"] for r in ordered}}
    print(f"gen_hw_table: {len(ordered)} rows ({kinds}), deviations {devs}, left out {skipped}; {note}")


if __name__ == "__main__":
    main()
