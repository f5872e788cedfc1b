"""Which files hold a convolutional network, and reading them.

An ONNX graph with a ``Conv``, ``MaxPool``, ``AveragePool`` or
``GlobalAveragePool`` is read by :func:`pwl.vision.read_onnx`; a
``torch.save(model)`` file (a pickled module, not a dict of tensors) by
:func:`pwl.vision.read_torch`.  Everything else is left to
:func:`pwl.load` (dense networks).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Optional, Sequence

from ..errors import NetworkFormatError
from .model import VisionNetwork

__all__ = ["vision_format", "load_vision"]


def _format(path: Path, format: Optional[str]) -> Optional[str]:
    if format is not None:
        return format
    suffix = path.suffix.lower()
    return "onnx" if suffix == ".onnx" else "torch" if suffix in (".pt", ".pth") else None


def vision_format(path: str | os.PathLike[str], format: Optional[str] = None) -> Optional[str]:
    """``"onnx"`` or ``"torch"`` if the file holds a convolutional network
    (or a pickled module, which only the vision loader explains), else None."""
    p = Path(path)
    fmt = _format(p, format)
    if fmt == "onnx":
        try:
            import onnx

            from .onnx import is_vision_onnx

            return "onnx" if is_vision_onnx(onnx.load(str(p))) else None
        except Exception:  # unreadable: the dense loader says why
            return None
    if fmt == "torch":
        try:
            with zipfile.ZipFile(p) as archive:
                names = archive.namelist()
                pickles = [n for n in names if n.endswith("data.pkl")]
                if not pickles or any("/code/" in f"/{n}" for n in names):
                    return None                    # TorchScript: the dense loader
                data = archive.read(pickles[0])
        except (zipfile.BadZipFile, OSError):
            return None
        # a pickled module names torch.nn classes or its own class; a dict of
        # tensors and lists names neither
        return "torch" if (b"torch.nn.modules" in data or b"__main__" in data) else None
    return None


def load_vision(path: str | os.PathLike[str], input_shape: Optional[Sequence[int]] = None,
                format: Optional[str] = None) -> VisionNetwork:
    """Read a convolutional network file; a torch file needs ``input_shape``
    (ONNX graphs carry theirs)."""
    fmt = vision_format(path, format)
    if fmt == "onnx":
        from .onnx import read_onnx

        return read_onnx(path)
    if fmt == "torch":
        if input_shape is None:
            raise NetworkFormatError(f"{path}: a torch file does not say its input shape")
        from .torch import read_torch

        return read_torch(path, input_shape)
    raise NetworkFormatError(f"{path}: not a convolutional network file (.onnx with "
                             "convolutions or pooling, or a torch.save(model) file)")
