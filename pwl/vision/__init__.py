"""Convolutional networks along lines through their input space, exactly.

:class:`VisionNetwork` holds convolutions, pooling, batch normalisation,
residual additions and elementwise activations as operators (weights as
float64 arrays at their exact binary value), never as dense matrices;
:func:`count_line` counts the regions and pieces of ``t -> net(a + t (b - a))``
on ``t`` in [0, 1].  Loaders: :func:`from_torch` (``nn.Module`` trees and
custom modules through ``torch.fx``), :func:`read_onnx`.
"""

from .model import KINDS as KINDS, Op as Op, VisionNetwork as VisionNetwork
from .dense import to_dense as to_dense
from .count import (
    LINE_METHODS as LINE_METHODS,
    LineCount as LineCount,
    OpCuts as OpCuts,
    count_line as count_line,
)
from .torch import from_torch as from_torch, read_torch as read_torch
from .onnx import from_onnx as from_onnx, read_onnx as read_onnx
