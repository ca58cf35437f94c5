"""Input files for the nestwalk tools, treated as the simulator treats its own
(sim/file_map.h).

An input is a regular file: a FIFO, a device or a folder is refused, never
waited on or read without end ("-" is standard input, read as it comes).
Problems are OSError with the path as filename and the reason as strerror."""
import errno
import os
import stat
import sys

KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(path, mode):
    kind = next((name for test, name in KINDS if test(mode)), "not a file")
    return OSError(errno.EINVAL, f"not a regular file ({kind})", path)


def open_input(path, mode="rb", **kwargs):
    """path opened for reading, as open() would; refused unless a regular file."""
    if path == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), mode, **kwargs)
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could refuse it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode_bits = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode_bits):
            raise not_regular(path, mode_bits)
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
