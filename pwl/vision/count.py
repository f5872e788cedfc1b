"""Counting a vision network along the segment between two inputs.

``count_line(net, a, b)`` counts ``t -> net(a + t (b - a))`` on ``t`` in
[0, 1]: activation regions (the intervals on which every activation and
every max pooling step stays on one piece), the pieces of each output and
of all outputs jointly, and what each nonlinear op did (its cuts, the
regions after it: which layer cuts the line most).  Three methods give the
same exact numbers:

* ``"certified"`` (default for float inputs): float64 forms with proven
  bounds, undecided regions finished exactly (:mod:`pwl.vision.certified`);
* ``"exact"``: exact integer forms from the first op to the last
  (:mod:`pwl.vision.exact`), the slow reference;
* ``"dense"``: each operator expanded into a matrix of pwl's dense
  :class:`~pwl.values.network.Network`, restricted with
  :func:`pwl.engine.line.restrict_to_line` and counted by :func:`pwl.count`
  (small networks only; an independent reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import sqrt
from typing import Callable, Optional

import numpy as np

from ..engine.propagate import propagate
from ..errors import PWLValueError
from .exact import ExactRun, _points, stages_of
from .model import VisionNetwork

__all__ = ["count_line", "LineCount", "OpCuts", "LINE_METHODS"]

#: The methods :func:`count_line` knows.
LINE_METHODS = ("certified", "exact", "dense")


@dataclass(frozen=True)
class OpCuts:
    """What one nonlinear op did along the line: the cuts it made and the
    regions of the partition after it."""

    name: str
    kind: str
    neurons: int
    cuts: int
    regions: int


@dataclass(frozen=True)
class LineCount:
    """Exact counts along the segment ``a -> b`` (``t`` in [0, 1])."""

    activation_regions: int
    regions: int
    pieces: tuple[int, ...]
    joint_pieces: int
    layers: Optional[tuple[OpCuts, ...]]
    method: str
    length_squared: Fraction
    decisions: Optional[dict[str, int]] = None
    #: region ends ``t`` and the outputs there, in float64: for drawing only
    profile: Optional[tuple[np.ndarray, np.ndarray]] = field(default=None, compare=False,
                                                             repr=False)

    @property
    def density(self) -> float:
        """Activation regions per unit Euclidean length of the segment
        (``|b - a|`` is a square root: this ratio is rounded)."""
        return self.activation_regions / sqrt(self.length_squared)

    @property
    def busiest(self) -> Optional[OpCuts]:
        """The op that cuts the line most."""
        if not self.layers:
            return None
        return max(self.layers, key=lambda s: s.cuts)


def _layers(net: VisionNetwork, cuts: dict[int, int]) -> tuple[tuple[OpCuts, ...], int, int]:
    stages = stages_of(net)
    per_op: dict[int, int] = {}
    for s, c in cuts.items():
        per_op[stages[s][0]] = per_op.get(stages[s][0], 0) + c
    out = []
    regions = 1
    last = len(net.ops) - 1
    hidden = 1
    for k, op in enumerate(net.ops):
        if not op.is_nonlinear:
            continue
        c = per_op.get(k, 0)
        regions += c
        if k < last:
            hidden += c
        out.append(OpCuts(op.name, op.kind, op.size, c, regions))
    return tuple(out), regions, hidden


def count_line(net: VisionNetwork, a: object, b: object, *, method: Optional[str] = None,
               max_regions: int = 256,
               progress: Optional[Callable[[int, int], None]] = None) -> LineCount:
    """Exact counts of ``t -> net(a + t (b - a))`` on [0, 1].

    ``a`` and ``b`` are arrays of the input's shape (floats at their exact
    binary value) or flat sequences of exact numbers.  ``method`` is one of
    :data:`LINE_METHODS`; the default is ``"certified"`` when both points
    are float arrays, else ``"exact"``.  ``max_regions`` bounds how many
    regions the certified route carries through the operators at once
    (memory).

    >>> net = VisionNetwork.build((1, 3), [
    ...     {"kind": "conv", "weight": np.array([[[1.0, -1.0]]])},
    ...     {"kind": "activation"}, {"kind": "flatten"},
    ...     {"kind": "linear", "weight": np.array([[1.0, 2.0]])}])
    >>> r = count_line(net, np.array([[0.0, 1.0, 0.0]]), np.array([[1.0, 0.0, 1.0]]))
    >>> r.activation_regions, r.pieces, r.method
    (2, (2,), 'certified')
    >>> count_line(net, [0, 1, 0], [1, 0, 1]).pieces
    (2,)
    """
    pa, pb = _points(net, a, b)
    if pa == pb:
        raise PWLValueError("a and b are the same point: the line needs two distinct points")
    floats = _float_array(a) is not None and _float_array(b) is not None
    if method is None:
        method = "certified" if floats else "exact"
    if method not in LINE_METHODS:
        raise PWLValueError(f"unknown method {method!r} (known: {', '.join(LINE_METHODS)})")
    length2 = sum(((q - p) ** 2 for p, q in zip(pa, pb)), Fraction(0))
    if method == "certified":
        from .certified import Undecided, certified_line

        fa, fb = _float_array(a), _float_array(b)
        if fa is None or fb is None:
            raise PWLValueError("the certified method needs float arrays for a and b (.npy "
                                "files); use the exact method for exact points")
        try:
            run = certified_line(net, fa, fb, max_regions=max_regions, progress=progress)
        except Undecided:
            method = "exact"
        else:
            layers, regions, hidden = _layers(net, run.cuts)
            if regions != run.regions:
                raise AssertionError(f"{run.regions} regions but {regions - 1} cuts")
            return LineCount(hidden, regions, run.pieces, run.joint_pieces, layers,
                             "certified", length2, run.decisions, run.extra.get("profile"))
    if method == "exact":
        res = ExactRun(net, pa, pb).run(ends=(Fraction(0), Fraction(1)))
        layers, regions, hidden = _layers(net, res.cuts)
        outs = res.outputs
        differ = [[outs[i][1][o] != outs[i - 1][1][o] for o in range(net.output_size)]
                  for i in range(1, len(outs))]
        pieces = tuple(1 + sum(d[o] for d in differ) for o in range(net.output_size))
        joint = 1 + sum(any(d) for d in differ)
        t = np.array([float(lo) for lo, _ in res.ends] + [1.0])
        values = np.array([[float(a_ + b_ * lo) for a_, b_ in zip(*outs[i])]
                           for i, (lo, _) in enumerate(res.ends)] +
                          [[float(a_ + b_) for a_, b_ in zip(*outs[-1])]])
        return LineCount(hidden, regions, pieces, joint, layers, "exact", length2, None,
                         (t, values))
    from ..engine.line import restrict_to_line
    from .dense import to_dense

    part = propagate(restrict_to_line(to_dense(net), pa, pb), (Fraction(0), Fraction(1)))
    return LineCount(part.activation_regions, part.regions,
                     tuple(part.pieces(k) for k in range(part.outputs)), part.joint_pieces(),
                     None, "dense", length2)


def _float_array(x: object) -> Optional[np.ndarray]:
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(np.float64).reshape(-1)
    return None
