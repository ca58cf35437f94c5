"""The nestwalk program as a user runs it: self-description and argument errors."""
import os
import subprocess

NESTWALK = os.environ["NESTWALK"]


def run(*args):
    return subprocess.run([NESTWALK, *args], capture_output=True, text=True, timeout=60)


def test_about_describes_the_build_and_leaks_nothing():
    result = run("about")
    assert result.returncode == 0, result.stderr
    assert "simulated host: 64 GiB" in result.stdout
    assert "port 0x3f8 exits: yes" in result.stdout
    assert "(outside both ranges) exits: yes" in result.stdout
    assert "frames live after teardown: 0 (high-water 4)" in result.stdout


def test_unknown_command_is_bad_input():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "nestwalk: frobnicate: unknown command" in result.stderr


def test_no_command_prints_usage_and_fails():
    result = run()
    assert result.returncode == 2
    assert "usage: nestwalk" in result.stderr
