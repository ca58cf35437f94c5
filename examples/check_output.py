#!/usr/bin/python3
"""Runs an example and compares its standard output with the expected text line by line. Lines of the expected
file that start with '#' are the derivation of the values, not output. Exit 0 on a match, 1 with the first
difference otherwise."""
import subprocess
import sys


def main():
    program, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path, encoding="utf-8") as f:
        expected = [line.rstrip("\n") for line in f if not line.startswith("#")]
    run = subprocess.run([program], capture_output=True, text=True, timeout=60)
    got = run.stdout.splitlines()
    if run.returncode != 0:
        print(f"{program} exited {run.returncode}\n{run.stdout}{run.stderr}")
        return 1
    for number, (want, line) in enumerate(zip(expected, got), 1):
        if want != line:
            print(f"output line {number}:\n  expected: {want}\n  got:      {line}")
            return 1
    if len(expected) != len(got):
        print(f"expected {len(expected)} lines, got {len(got)}:\n{run.stdout}")
        return 1
    print(run.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
