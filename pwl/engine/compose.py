"""Counting through one-dimensional bottlenecks, without listing the pieces.

If the weight matrix of layer ``k`` has rank at most 1, ``W_k = u v^T``, every
pre-activation of layer ``k`` is an affine function of the one scalar
``s = v^T h_{k-1}``.  Cutting the network at each such layer writes it as a
composition of scalar piecewise-linear maps (blocks)

    y = phi_m o ... o phi_1 o phi_0 (x),

each a small network with one input and one output, analysed once by the
enumeration engine.  On an interval ``I`` of its input, ``phi_j`` splits into
pieces on which it is affine; on a piece with slope ``a != 0`` the rest of
the composition is the rest on the *image* interval, reparametrised by an
affine bijection, so

* its number of pieces is the rest's on the image (the order reversed if
  ``a < 0``), and its first and last affine forms are the rest's, composed
  with the piece;
* on a piece with slope 0 the composition is constant.

Pieces of the whole on ``I`` are the sum over the pieces of ``phi_j`` less one
for each join where the last form of one part equals the first form of the
next (the collinear merges).  Activation regions add up the same way, with
the block's own cuts as the joins, which never merge.  Results are memoised
per (block, interval); the triangle network reaches only a handful of
intervals per block, so depth 1000 costs milliseconds while ``2^1000``
pieces could never be listed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional, Sequence

from ..values.activations import get_activation
from ..values.domain import Domain, Interval
from ..errors import ResourceLimitError
from ..values.network import Layer, Network
from .propagate import propagate

if TYPE_CHECKING:
    import numpy as np

__all__ = ["bottlenecks", "applies", "compose_count", "MAX_INTERVALS"]

#: Give up (and let the caller enumerate) past this many memoised intervals.
MAX_INTERVALS = 200_000

Form = tuple[Fraction, Fraction]              # slope, intercept


def _rank1(layer: Layer) -> Optional[tuple[list[Fraction], list[Fraction]]]:
    """``(u, v)`` with ``W = u v^T`` if ``W`` has rank at most 1, else None
    (found once, kept with the layer)."""
    if "rank1" not in layer._derived:
        layer._derived["rank1"] = _factor_rank1(layer)
    found: Optional[tuple[list[Fraction], list[Fraction]]] = layer._derived["rank1"]
    return found


def _factor_rank1(layer: Layer) -> Optional[tuple[list[Fraction], list[Fraction]]]:
    if layer.floats is not None and _surely_rank2(layer.floats[0]):
        return None
    rows = layer.weights
    pivot = next(((i, j) for i, row in enumerate(rows) for j, w in enumerate(row) if w), None)
    if pivot is None:
        return [Fraction(0)] * len(rows), [Fraction(0)] * len(rows[0])
    i0, j0 = pivot
    v = list(rows[i0])
    u = [row[j0] / v[j0] for row in rows]
    if all(row[j] == u[i] * v[j] for i, row in enumerate(rows) for j in range(len(v))):
        return u, v
    return None


def _surely_rank2(w: "np.ndarray") -> bool:
    """True if the float matrix ``w`` provably has rank at least 2: a 2x2
    minor ``w[p, q] w[i, j] - w[i, q] w[p, j]`` through the largest entry
    exceeds its rounding bound (each product and the difference round once).
    A few rows ``i`` first (almost always enough), then all of them."""
    import numpy as np

    if min(w.shape) < 2:
        return False
    p, q = np.unravel_index(int(np.argmax(np.abs(w))), w.shape)
    few = [i for i in range(min(w.shape[0], 9)) if i != p][:8]
    for rows in (w[few], w):
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            # beyond the float range the comparison is False: not sure, ask Fractions
            left = w[p, q] * rows
            right = np.outer(rows[:, q], w[p, :])
            bound = 4 * 2.0**-53 * (np.abs(left) + np.abs(right)) + 1e-300
            if (np.abs(left - right) > bound).any():
                return True
    return False


def bottlenecks(net: Network) -> list[int]:
    """Indices ``k >= 1`` of the layers whose weight matrix has rank <= 1
    (computed once per network)."""
    found = net._memo.bottlenecks
    if found is None:
        found = net._memo.bottlenecks = _bottlenecks(net.layers)
    return list(found)


def _bottlenecks(layers: Sequence[Layer]) -> list[int]:
    return [k for k, layer in enumerate(layers) if k >= 1 and _rank1(layer) is not None]


def applies(net: Network) -> bool:
    """True when some hidden layer after the first is a bottleneck."""
    # the hidden layers only, each factorised once (the output layer's rank
    # does not matter here)
    return (net.is_chain and net.input_size == 1
            and any(_rank1(layer) is not None for layer in net.layers[1:-1]))


@dataclass
class _Block:
    """A scalar map on the whole line: sorted cuts, and per region the form."""

    cuts: list[Fraction]          # all cuts (activation-region boundaries)
    forms: list[Form]             # form of the block's output on each region

    @classmethod
    def of(cls, net: Network) -> "_Block":
        part = propagate(net, None)
        den = part.den
        forms = [(Fraction(int(a), den), Fraction(int(c), den))
                 for a, c in zip(part.slope_num[:, 0].tolist(), part.icpt_num[:, 0].tolist())]
        return cls(list(part.cuts()), forms)

    def value(self, s: Fraction) -> Fraction:
        a, c = self.forms[bisect_left(self.cuts, s)]
        return a * s + c

    def split(self, interval: Interval) -> list[tuple[Interval, Form]]:
        """The regions of the block inside ``interval``, with their forms."""
        lo, hi = interval
        first = 0 if lo is None else bisect_right(self.cuts, lo)
        last = len(self.cuts) if hi is None else bisect_left(self.cuts, hi)
        ends = [lo] + self.cuts[first:last] + [hi]
        return [((ends[t], ends[t + 1]), self.forms[first + t]) for t in range(len(ends) - 1)]


def _blocks(net: Network, output: int, hidden_only: bool,
            cache: Optional[dict[tuple[Layer, ...], _Block]] = None) -> list[_Block]:
    """Cut the network at its bottlenecks into scalar blocks; equal blocks
    (the triangle network repeats one) are analysed once."""
    cache = {} if cache is None else cache
    layers = list(net.layers)
    last = layers[-1]
    out_layer = Layer(last.weights[output:output + 1], last.bias[output:output + 1],
                      get_activation("identity") if hidden_only else last.activation)
    layers[-1] = out_layer
    cut_at = set(_bottlenecks(layers))
    identity = get_activation("identity")
    blocks: list[tuple[Layer, ...]] = []
    start: Optional[Layer] = None   # first layer of the current block (input s)
    body: list[Layer] = []
    for k, layer in enumerate(layers):
        if k in cut_at:
            u, v = _rank1(layer)  # type: ignore[misc]
            tail = Layer((tuple(v),), (Fraction(0),), identity)
            blocks.append(tuple(([start] if start else []) + body + [tail]))
            start = Layer(tuple((ui,) for ui in u), layer.bias, layer.activation)
            body = []
        else:
            body.append(layer)
    assert start is not None
    blocks.append(tuple([start] + body))
    for key in blocks:
        if key not in cache:
            cache[key] = _Block.of(Network.sequential(key))
    return [cache[key] for key in blocks]


def _image(interval: Interval, form: Form) -> Interval:
    a, c = form
    lo, hi = interval
    f_lo = None if lo is None else a * lo + c
    f_hi = None if hi is None else a * hi + c
    return (f_lo, f_hi) if a > 0 else (f_hi, f_lo)


def _levels(blocks: list[_Block], domain: Interval) -> list[set[Interval]]:
    """Intervals each block is asked about, level by level (forward pass)."""
    levels: list[set[Interval]] = [{domain}]
    total = 1
    for block in blocks[:-1]:
        nxt: set[Interval] = set()
        for interval in levels[-1]:
            for piece, form in block.split(interval):
                if form[0] != 0:
                    nxt.add(_image(piece, form))
        total += len(nxt)
        if total > MAX_INTERVALS:
            raise ResourceLimitError(
                f"the composition reaches more than {MAX_INTERVALS} intervals; enumerate instead")
        levels.append(nxt)
    return levels


def compose_count(net: Network, domain: Domain, output: int = 0) -> tuple[int, int]:
    """``(pieces, activation_regions)`` of output ``output`` on ``domain``.

    >>> from pwl.theory.constructions import telgarsky
    >>> compose_count(telgarsky(1000), (Fraction(0), Fraction(1)))[0] == 2**1000
    True
    """
    start: Interval = (None, None) if domain is None else domain
    cache: dict[tuple[Layer, ...], _Block] = {}
    pieces = _count_pieces(_blocks(net, output, False, cache), start)
    regions = _count_regions(_blocks(net, output, True, cache), start)
    return pieces, regions


def _count_pieces(blocks: list[_Block], start: Interval) -> int:
    levels = _levels(blocks, start)
    # rest[j][I] = (pieces, first form, last form) of blocks j.. on I, forms in
    # terms of block j's input; constant pieces need the rest's value at a point
    identity: Form = (Fraction(1), Fraction(0))
    below: dict[Interval, tuple[int, Form, Form]] = {}
    m = len(blocks)
    tail_values: list[dict[Fraction, Fraction]] = [dict() for _ in range(m + 1)]

    def rest_value(j: int, s: Fraction) -> Fraction:
        # value of blocks j.. at s; iterative, memoised per level
        path = []
        while j < m and s not in tail_values[j]:
            path.append((j, s))
            s = blocks[j].value(s)
            j += 1
        value = s if j == m else tail_values[j][s]
        for jj, ss in reversed(path):
            tail_values[jj][ss] = value
        return value

    for j in range(m - 1, -1, -1):
        current: dict[Interval, tuple[int, Form, Form]] = {}
        for interval in levels[j]:
            count = 0
            first: Optional[Form] = None
            last: Optional[Form] = None
            for piece, (a, c) in blocks[j].split(interval):
                if a == 0:
                    part: tuple[int, Form, Form]
                    const: Form = (Fraction(0), rest_value(j + 1, c))
                    part = (1, const, const)
                else:
                    n, f0, f1 = (1, identity, identity) if j == m - 1 else below[_image(piece, (a, c))]
                    if a < 0:
                        f0, f1 = f1, f0
                    part = (n, (f0[0] * a, f0[0] * c + f0[1]), (f1[0] * a, f1[0] * c + f1[1]))
                n, f0, f1 = part
                if last is not None and last == f0:
                    n -= 1
                count += n
                first = f0 if first is None else first
                last = f1
            assert first is not None and last is not None
            current[interval] = (count, first, last)
        below = current
    return below[start][0]


def _count_regions(blocks: list[_Block], start: Interval) -> int:
    levels = _levels(blocks, start)
    m = len(blocks)
    below: dict[Interval, int] = {}
    for j in range(m - 1, -1, -1):
        current: dict[Interval, int] = {}
        for interval in levels[j]:
            total = 0
            for piece, (a, c) in blocks[j].split(interval):
                if a == 0 or j == m - 1:
                    total += 1
                else:
                    total += below[_image(piece, (a, c))]
            current[interval] = total
        below = current
    return below[start]
