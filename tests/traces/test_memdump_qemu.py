"""`nestwalk mappings --stage guest` on a real QEMU dump, compared with QEMU's
own `info tlb` of the same stopped guest. The guest is a tiny multiboot image
written here: 32-bit protected-mode code that turns on 32-bit paging with PSE
over a page directory carried in the image, then halts. Its tables hold a
4 MiB identity page, four contiguous supervisor pages, four user aliases of
one page and a read-only 4 MiB user page, so large pages, merging and aliases
all show. QEMU is required (tools/setup installs it): without it the check fails."""
import json
import os
import re
import shutil
import struct
import subprocess
import time

import pytest

NESTWALK = os.environ["NESTWALK"]
QEMU = shutil.which("qemu-system-x86_64")
pytestmark = pytest.mark.usefixtures("qemu")

BASE = 0x100000  # multiboot load address
CR4_PSE, CR0_PG = 0x10, 0x80000000


def kernel_image():
    img = bytearray(0x3000)
    magic, flags = 0x1BADB002, 0x00010000  # multiboot: the a.out address fields are valid
    struct.pack_into("<8I", img, 0, magic, flags, (-(magic + flags)) & 0xFFFFFFFF, BASE, BASE, 0, 0, BASE + 0x40)
    code = bytes.fromhex(
        "fa"                                      # cli
        "0f20e0" f"0d{CR4_PSE:08x}" "0f22e0"      # CR4 |= PSE   (immediates patched below)
        "b8" "00000000" "0f22d8"                  # CR3 = page directory
        "0f20c0" "0d00000000" "0f22c0"            # CR0 |= PG
        "f4" "ebfd")                              # hlt; jmp back to hlt
    code = bytearray(code)
    struct.pack_into("<I", code, 5, CR4_PSE)
    struct.pack_into("<I", code, 13, BASE + 0x1000)
    struct.pack_into("<I", code, 24, CR0_PG)
    img[0x40:0x40 + len(code)] = code
    pd, pt = 0x1000, 0x2000
    struct.pack_into("<I", img, pd + 4 * 0, 0x00000087)        # 0-4 MiB identity: P|RW|US|PS
    struct.pack_into("<I", img, pd + 4 * 1, (BASE + pt) | 0x7)  # PDE[1] -> the page table
    struct.pack_into("<I", img, pd + 4 * 0x300, 0x00800085)    # 0xc0000000 -> 8 MiB, P|US|PS: read-only
    for i in range(4):
        struct.pack_into("<I", img, pt + 4 * i, (0x300000 + i * 0x1000) | 0x3)  # supervisor, writable
    for i in range(6, 10):
        struct.pack_into("<I", img, pt + 4 * i, 0x5000 | 0x5)                   # user aliases, read-only
    return bytes(img)


class Qmp:
    def __init__(self, kernel):
        self.proc = subprocess.Popen(
            [QEMU, "-kernel", str(kernel), "-display", "none", "-nodefaults", "-m", "32", "-qmp", "stdio"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, command, **arguments):
        self.proc.stdin.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.proc.stdin.flush()
        while True:
            reply = json.loads(self.proc.stdout.readline())
            if "return" in reply:
                return reply["return"]
            assert "error" not in reply, reply

    def hmp(self, line):
        return self.call("human-monitor-command", **{"command-line": line})

    def close(self):
        try:
            self.call("quit")
        except (BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=30)


def qemu_pages(text):
    """info tlb: 'VA: PA XGPDACTUW' per page (QEMU target/i386/monitor.c)."""
    pages = {}
    for va, pa, flags in re.findall(r"^([0-9a-f]{16}): ([0-9a-f]{16}) ([-X][-G][-P][-D][-A][-C][-T][-U][-W])$",
                                    text.replace("\r", ""), re.MULTILINE):
        size = 0x400000 if flags[2] == "P" else 0x1000
        pages[int(va, 16)] = (int(pa, 16), size, flags[7] == "U", flags[8] == "W", flags[0] == "X",
                              flags[1] == "G", flags[4] == "A", flags[3] == "D")
    return pages


def nestwalk_pages(ranges):
    """The listing's ranges cut back into pages (upper levels here are all U/S=1, R/W=1: leaf flags = effective)."""
    pages = {}
    for r in ranges:
        va, end, pa, size = (int(r[k], 16) for k in ("gva", "gva_end", "gpa", "page_size"))
        assert size, r
        for off in range(0, end - va, size):
            # rights r, w, x (no XD), u (user), '-' where not granted (docs/json.md)
            pages[va + off] = (pa + off, size, r["rights"][3] == "u", r["rights"][1] == "w", r["rights"][2] == "-",
                               r["global"], r["accessed"], r["dirty"])
    return pages


def test_listing_matches_qemu_info_tlb(tmp_path):
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(kernel_image())
    qmp = Qmp(kernel)
    try:
        deadline = time.monotonic() + 60
        while "CR0=8" not in qmp.hmp("info registers"):  # wait for CR0.PG
            assert time.monotonic() < deadline, "the guest never turned paging on"
            time.sleep(0.2)
        qmp.call("stop")
        tlb = qmp.hmp("info tlb")
        qmp.call("dump-guest-memory", paging=False, protocol="file:" + str(tmp_path / "dump.elf"))
    finally:
        qmp.close()
    scenario = tmp_path / "dump.yaml"
    scenario.write_text("cpu:\n  efer: 0x0\nguest:\n  memory_dump: dump.elf\n")
    result = subprocess.run([NESTWALK, "mappings", scenario, "--stage", "guest", "--json"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # QEMU 7.2 writes e_ehsize = 8: the only thing said on stderr.
    assert all("e_ehsize" in line for line in result.stderr.splitlines()), result.stderr
    listing = json.loads(result.stdout)["ranges"]
    ours = nestwalk_pages(listing)
    theirs = qemu_pages(tlb)
    assert len(theirs) == 10, tlb
    assert ours == theirs
    # The four supervisor pages continue each other: one range; the aliases cannot merge.
    ranges = [(r["gva"], r["gva_end"]) for r in listing]
    assert ("0x400000", "0x404000") in ranges
    assert sum(r["gpa"] == "0x5000" for r in listing) == 4
