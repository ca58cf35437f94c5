"""The repository speaks of itself only: every Markdown file a source, script or page names is one the repository
holds (by its path from the top or its file name), and nothing points into a folder beside the repository. A
reference to a document a reader cannot open (a design note kept elsewhere) fails here."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(os.environ.get("NESTWALK_SOURCE_ROOT", pathlib.Path(__file__).parents[2]))
MARKDOWN = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_]\.md\b")
OUTSIDE = re.compile(r"\.\./shared\b|/work/")


def tracked():
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in names.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file() and not path.is_symlink():
            yield name, path


def text_lines(path):
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []
    return data.decode("utf-8", "replace").splitlines()


def test_every_named_markdown_file_is_in_the_repository():
    files = dict(tracked())
    basenames = {pathlib.PurePath(name).name for name in files}
    missing = []
    for name, path in files.items():
        for number, line in enumerate(text_lines(path), 1):
            for ref in MARKDOWN.findall(line):
                ref = ref.lstrip("./")
                if ref not in files and pathlib.PurePath(ref).name not in basenames:
                    missing.append(f"{name}:{number}: {ref}")
    assert not missing, "documents the repository does not hold:\n" + "\n".join(missing)


def test_nothing_points_outside_the_repository():
    here = "tests/traces/test_self_contained.py"
    found = [f"{name}:{number}: {line.strip()}" for name, path in tracked() if name != here
             for number, line in enumerate(text_lines(path), 1) if OUTSIDE.search(line)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)
