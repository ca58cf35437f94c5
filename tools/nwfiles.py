"""Input and output files for the nestwalk tools, treated as the simulator
treats its own (sim/io/file_map.h, sim/io/file_out.h).

An input is a regular file: a FIFO, a device or a folder is refused, never
waited on or read without end ("-" is standard input, read as it comes). An
output is written to a temporary file in the target's folder and renamed over
the target only once it is complete and closed; on any failure the temporary
file is removed and the target is as it was. An output that is the same file
as an input is refused before anything is created. Problems are OSError with
the path as filename and the reason as strerror."""
import contextlib
import errno
import os
import stat
import sys
import tempfile

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


def identity(path):
    """(device, inode) of the file at path ("-": standard input), or None."""
    try:
        st = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def check_output(path, inputs=(), outputs=()):
    """Refuses path when it is the same file as one of inputs (only a regular file is lost by
    writing it) or names the same place as one of the command's other outputs."""
    here = identity(path) if os.path.isfile(path) else None
    for other in inputs:
        if here is not None and identity(other) == here:
            raise OSError(errno.EINVAL, f"the output is the same file as the input {other}; write it elsewhere",
                          path)
    for other in outputs:
        if os.path.realpath(other) == os.path.realpath(path):
            raise OSError(errno.EINVAL, f"the same file as the output {other}; write them to two files", path)


@contextlib.contextmanager
def atomic_output(path, mode="wb", inputs=(), outputs=(), **kwargs):
    """A file object to write path through ("-": standard output, an existing device or FIFO in
    place); the target is replaced only when the block ends without an exception."""
    check_output(path, inputs, outputs)
    if path == "-":
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(path, mode, **kwargs) as f:
            yield f
        return
    # The file a symbolic link names is replaced, not the link.
    target = os.path.realpath(path) if existing is not None else path
    folder, name = os.path.split(target)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", dir=folder or ".")
    except OSError as err:  # named as the user wrote it, not by the temporary name
        raise OSError(err.errno, f"cannot create a file in its folder: {err.strerror}", path) from None
    try:
        if existing is not None:
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, mode, **kwargs) as f:
            fd = None
            yield f
        os.replace(temp, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
