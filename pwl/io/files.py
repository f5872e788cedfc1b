"""Safe file writing: a temporary file in the target folder, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import PWLValueError

__all__ = ["write_text_atomic", "write_bytes_atomic", "check_input_file"]


def check_input_file(path: Path) -> int:
    """The size of an input file, refusing a missing, unreadable or too large
    one with a :class:`~pwl.errors.NetworkFormatError` that names it."""
    from ..errors import NetworkFormatError
    from ..network import MAX_FILE_BYTES

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NetworkFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise NetworkFormatError(f"{path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise NetworkFormatError(f"{path}: file is {size} bytes, over the limit of "
                                 f"{MAX_FILE_BYTES} (PWL_MAX_FILE_BYTES)")
    return size


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new
    one, never a partial one (also when interrupted).  The file gets the
    permissions a plain ``open(path, "w")`` would give it.

    Raises :class:`~pwl.errors.PWLValueError` when the folder does not exist
    or cannot be written.
    """
    if not str(path):
        raise PWLValueError("the output path is empty")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise PWLValueError(f"{target}: folder {folder} does not exist") from None
    except OSError as exc:
        raise PWLValueError(f"{target}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, IsADirectoryError):
            raise PWLValueError(f"{target}: is a directory") from None
        if isinstance(exc, OSError):
            raise PWLValueError(f"{target}: cannot write ({exc.strerror})") from None
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
