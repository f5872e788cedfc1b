"""Loading a network from any supported file, chosen by suffix or ``format``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from ..errors import NetworkFormatError
from ..values.network import Network
from .files import check_input_file

__all__ = ["load", "FORMATS", "SUFFIXES"]


def _native(path: Path) -> Network:
    from .native import read_native

    return read_native(path)


def _npz(path: Path) -> Network:
    from .npz import read_npz

    return read_npz(path)


def _onnx(path: Path) -> Network:
    from .onnx_io import read_onnx

    return read_onnx(path)


def _torch(path: Path) -> Network:
    from .torch_io import read_torch

    return read_torch(path)


#: format name -> (suffixes, loader)
_LOADERS: dict[str, tuple[tuple[str, ...], Callable[[Path], Network]]] = {
    "json": ((".json",), _native),
    "npz": ((".npz",), _npz),
    "onnx": ((".onnx",), _onnx),
    "torch": ((".pt", ".pth"), _torch),
}

FORMATS = tuple(_LOADERS)

#: format name -> the suffixes that choose it, as text
SUFFIXES = {name: ", ".join(sfx) for name, (sfx, _) in _LOADERS.items()}


def load(path: str | os.PathLike[str], format: Optional[str] = None) -> Network:
    """Read a network file: the native JSON format, or another format chosen
    by ``format`` or the file's suffix (json, npz, onnx, torch).

    Native numbers are read exactly: JSON decimals as the decimal they spell
    (``0.1`` is 1/10), strings ``"p/q"``.  NaN and infinities are refused.
    Binary formats store floats, taken at their exact binary value.  Errors
    name the file and the place in it.
    """
    p = Path(path)
    if format is None:
        check_input_file(p)     # a missing file or a folder is said as such first
        if p.is_dir():
            raise NetworkFormatError(f"{p}: is a directory")
        suffix = p.suffix.lower()
        for name, (suffixes, _) in _LOADERS.items():
            if suffix in suffixes:
                format = name
                break
        else:
            known = "; ".join(f"{name}: {', '.join(sfx)}" for name, (sfx, _) in _LOADERS.items())
            raise NetworkFormatError(
                f"{p}: the suffix {suffix!r} names no network format ({known}); rename the "
                "file or give the format (--format FORMAT, load(path, format=...))"
                if suffix else
                f"{p}: no suffix to tell the format by ({known}); give the format "
                "(--format FORMAT, load(path, format=...))")
    if format not in _LOADERS:
        raise NetworkFormatError(f"{p}: unknown format {format!r} (known: {', '.join(_LOADERS)})")
    return _LOADERS[format][1](p)



def is_vision_file(path: str | os.PathLike[str], format: Optional[str] = None) -> bool:
    """Does the file hold a convolutional network?  Such files are read by
    :func:`pwl.vision.load.load_vision` (and counted along lines), not here."""
    from ..vision.load import vision_format

    return vision_format(path, format) is not None
