"""Shared by the trace checks: emulators that tools/setup installs are
required, never optional. A missing one fails the checks that need it instead
of skipping them, so a green run always means they ran."""
import shutil

import pytest


@pytest.fixture(scope="module")
def qemu():
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        pytest.fail("qemu-system-x86_64 is not installed: run tools/setup (QEMU checks never skip)")
    return path
