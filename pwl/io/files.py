"""Safe file writing: a temporary file in the target folder, then a rename.

What a path names decides how it is written:

* ``-`` is standard output (as are ``/dev/stdout``, ``/dev/stderr`` and
  ``/dev/fd/N``, which name open descriptors);
* a regular file, or a name that does not exist yet, is written to a
  temporary file with a unique name in the same folder, flushed to disk,
  then renamed over the name: readers, and other processes writing the same
  name at the same time, see one complete file, never a mix or a part;
* a symbolic link is followed: its final target is written that way, in
  the target's folder, and the link stays;
* a named pipe, a device or another special file (anything under ``/dev``)
  is opened and written directly, never renamed over.

A failed write (no space left, a disk quota, a folder that cannot be
written) is a :class:`~pwl.errors.PWLValueError` in one line; the
temporary file is removed, and a previous file of that name is untouched.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Optional

from ..errors import PWLValueError

__all__ = ["write_text_atomic", "write_bytes_atomic", "check_input_file", "file_limit", "STDOUT"]

#: The path that means standard output.
STDOUT = "-"

_FD_PATH = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")

#: Input files larger than this (bytes) are refused unless
#: ``PWL_MAX_FILE_BYTES`` in the environment says otherwise.
DEFAULT_MAX_FILE_BYTES = 256 * 2**20


def file_limit() -> int:
    """The largest input file read, in bytes: ``PWL_MAX_FILE_BYTES`` when it
    is a positive integer, else :data:`DEFAULT_MAX_FILE_BYTES`; read at each
    call, so a change of the environment takes effect at once."""
    text = os.environ.get("PWL_MAX_FILE_BYTES", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_FILE_BYTES



def check_input_file(path: Path) -> int:
    """The size of an input file, refusing a missing, unreadable or too large
    one with a :class:`~pwl.errors.NetworkFormatError` that names it."""
    from ..errors import NetworkFormatError

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NetworkFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise NetworkFormatError(f"{path}: {exc.strerror}") from None
    limit = file_limit()
    if size > limit:
        raise NetworkFormatError(f"{path}: file is {size} bytes, over the limit of "
                                 f"{limit} (PWL_MAX_FILE_BYTES)")
    return size


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EDQUOT:
        return "over the disk quota"
    return exc.strerror or str(exc)


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _standard_stream(text: str) -> Optional[int]:
    """The descriptor a path such as ``/dev/stdout`` names, if it names one."""
    if text in (STDOUT, "/dev/stdout"):
        return 1
    if text == "/dev/stderr":
        return 2
    match = _FD_PATH.fullmatch(text)
    return int(match.group(1)) if match else None


def _write_stream(fd: int, data: bytes) -> None:
    """To standard output or error through Python's stream (which a caller
    may have replaced, as click's test runner does); to other descriptors
    directly."""
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd)
    if stream is not None and hasattr(stream, "buffer"):
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()
    elif stream is not None:
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()
    else:
        _write_all(fd, data)


def _write_special(target: Path, data: bytes) -> None:
    """A pipe or a device: open it and write, no temporary file, no rename."""
    fd = os.open(target, os.O_WRONLY)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_replacing(target: Path, data: bytes, mode: int) -> None:
    """A temporary file with a unique name beside ``target``, flushed to
    disk, then renamed over ``target`` (atomic on POSIX filesystems)."""
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise PWLValueError(f"{target}: folder {folder} does not exist") from None
    except OSError as exc:
        raise PWLValueError(f"{target}: cannot write there ({_why(exc)})") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)   # a full disk or a quota may show only here
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:   # the rename itself, on disk
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new
    one, never a partial one (also when interrupted, out of space, or when
    another process writes the same path at the same time).  ``-`` is
    standard output; a symbolic link is followed; pipes and devices are
    written directly (see the module notes).  A new file gets the
    permissions a plain ``open(path, "w")`` would give it, a replaced one
    keeps its own.

    Raises :class:`~pwl.errors.PWLValueError` when the folder does not exist
    or cannot be written, or the write fails (no space left, a quota).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_bytes_atomic(folder / "a.txt", b"one")
    >>> (folder / "link.txt").symlink_to(folder / "a.txt")
    >>> write_bytes_atomic(folder / "link.txt", b"two")
    >>> (folder / "a.txt").read_bytes(), (folder / "link.txt").is_symlink()
    (b'two', True)
    """
    text = os.fspath(path)
    if not text:
        raise PWLValueError("the output path is empty")
    stream = _standard_stream(text)
    target = Path(os.path.realpath(text)) if stream is None else Path(text)
    try:
        if stream is not None:
            _write_stream(stream, data)
            return
        try:
            info: Optional[os.stat_result] = os.stat(target)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise PWLValueError(f"{text}: is a directory")
        if (info is not None and not stat.S_ISREG(info.st_mode)) or \
                str(target).startswith(("/dev/", "/proc/")):
            _write_special(target, data)
            return
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        _write_replacing(target, data, mode)
    except IsADirectoryError:
        raise PWLValueError(f"{text}: is a directory") from None
    except OSError as exc:
        shown = text if str(target) == os.path.abspath(text) else f"{text} (-> {target})"
        raise PWLValueError(f"{shown}: cannot write ({_why(exc)})") from None


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """``text`` in UTF-8 to ``path``, as :func:`write_bytes_atomic` does."""
    write_bytes_atomic(path, text.encode("utf-8"))
