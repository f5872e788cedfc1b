"""Finite-sample expressivity (Zhang et al. 2017, lecture 001), exactly.

*Theorem.* A two-layer ReLU network with ``2N + n`` weights can take any
values at any ``N`` points of ``R^n``.  With one input (``n = 1``) the
network is

    g(x) = sum_j w_j relu(a x - b_j),      a = 1,

with ``b_1 < x_1 < b_2 < x_2 < ... < b_N < x_N`` (points sorted).  The
matrix ``relu(x_i - b_j)`` is lower triangular with a positive diagonal, so
the ``w_j`` exist and are unique; :func:`zhang` finds them exactly.  Its
parameters are ``a`` (shared by the hidden units), ``b`` and ``w``:
``2N + 1``.

*Corollary.* For every ``k`` there is a depth-``k`` network of width
``O(N/k)`` with ``O(N + n)`` weights doing the same.  :func:`zhang_deep`
splits the sorted points into ``k`` blocks; hidden layer ``l`` holds the
units ``relu(x - b_j)`` of block ``l``, carries ``x`` as ``relu(x)`` and
``relu(-x)`` and the partial sum ``s`` of the blocks before as ``relu(s)``
and ``relu(-s)`` (``v = relu(v) - relu(-v)`` holds for every real ``v``), so
it computes the very same function as the shallow network, on the whole line.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from ..errors import PWLValueError
from ..values.network import Layer, Network
from ..values.numbers import Number, format_exact, to_fraction

__all__ = [
    "parse_points",
    "read_points",
    "zhang",
    "zhang_deep",
    "InterpolationReport",
    "interpolate",
    "nonzero_parameters",
    "stored_parameters",
]

#: Largest points file read (bytes).
MAX_FILE_BYTES = 64 * 2**20


def parse_points(text: str, source: str = "points") -> tuple[list[Fraction], list[Fraction]]:
    """Rows ``x,y`` of exact numbers (``3``, ``-3/7``, ``0.25``, ``1e-3``).

    Blank lines and lines starting with ``#`` are skipped; a first row
    ``x,y`` is a header.  Errors name the row (counted from 1, as an editor
    does).

    >>> parse_points("x,y\\n0,1\\n1/2, -3/7\\n")
    ([Fraction(0, 1), Fraction(1, 2)], [Fraction(1, 1), Fraction(-3, 7)])
    >>> parse_points("0,1\\n0.5\\n", "pts.csv")
    Traceback (most recent call last):
    ...
    pwl.errors.PWLValueError: pts.csv: row 2: expected 'x,y', got '0.5'
    """
    xs: list[Fraction] = []
    ys: list[Fraction] = []
    seen: dict[Fraction, int] = {}
    header_allowed = True
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or cells == [""] or cells[0].startswith("#"):
            continue
        if header_allowed and [c.lower() for c in cells] == ["x", "y"]:
            header_allowed = False
            continue
        header_allowed = False
        if len(cells) != 2:
            raise PWLValueError(f"{source}: row {number}: expected 'x,y', got "
                                f"{','.join(row)[:60]!r}")
        x = to_fraction(cells[0], f"{source}: row {number}: x")
        y = to_fraction(cells[1], f"{source}: row {number}: y")
        if x in seen:
            raise PWLValueError(f"{source}: rows {seen[x]} and {number} have the same "
                                f"x = {format_exact(x)}")
        seen[x] = number
        xs.append(x)
        ys.append(y)
    if not xs:
        raise PWLValueError(f"{source}: no points (expected rows 'x,y')")
    return xs, ys


def read_points(path: str | os.PathLike[str]) -> tuple[list[Fraction], list[Fraction]]:
    """:func:`parse_points` on a file; errors name the file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PWLValueError(f"{p}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PWLValueError(f"{p}: not a UTF-8 text file") from None
    except OSError as exc:
        raise PWLValueError(f"{p}: {exc.strerror or exc}") from None
    return parse_points(text, str(path))


def _sorted_points(xs: Sequence[Number], ys: Sequence[Number]
                   ) -> tuple[list[Fraction], list[Fraction]]:
    px = [to_fraction(x, f"xs[{i}]") for i, x in enumerate(xs)]
    py = [to_fraction(y, f"ys[{i}]") for i, y in enumerate(ys)]
    if len(px) != len(py):
        raise PWLValueError(f"ys: expected {len(px)} values (one per x), got {len(py)}")
    if not px:
        raise PWLValueError("xs: need at least one point")
    order = sorted(range(len(px)), key=px.__getitem__)
    for i, j in zip(order, order[1:]):
        if px[i] == px[j]:
            raise PWLValueError(f"xs[{i}] and xs[{j}] are both {format_exact(px[i])}")
    return [px[i] for i in order], [py[i] for i in order]


def _zhang_weights(xs: list[Fraction], ys: list[Fraction]
                   ) -> tuple[list[Fraction], list[Fraction]]:
    """Thresholds ``b`` and output weights ``w`` for sorted points.

    ``b_1 = x_1 - 1`` and ``b_j = (x_{j-1} + x_j)/2``.  Forward substitution
    in the triangular system is a recurrence along the line: ``g`` is 0 up
    to ``b_1`` and affine between consecutive thresholds, whose only data
    point is ``x_j``; so the slope there is ``S_j = (y_j - g(b_j)) /
    (x_j - b_j)`` and ``w_j = S_j - S_{j-1}``.
    """
    b = [xs[0] - 1] + [(u + v) / 2 for u, v in zip(xs, xs[1:])]
    w: list[Fraction] = []
    g_at_b = Fraction(0)
    previous = Fraction(0)
    for j, (x, y) in enumerate(zip(xs, ys)):
        slope = (y - g_at_b) / (x - b[j])
        w.append(slope - previous)
        previous = slope
        if j + 1 < len(xs):
            g_at_b = y + slope * (b[j + 1] - x)
    return b, w


def zhang(xs: Sequence[Number], ys: Sequence[Number]) -> Network:
    """Zhang et al.'s two-layer network through the points ``(xs[i], ys[i])``.

    One hidden layer of ``N`` units ``relu(x - b_j)``, an identity output.

    >>> net = zhang([0, 1, 2], [1, -1, 5])
    >>> [net.evaluate(x)[0] for x in (0, 1, 2)]
    [Fraction(1, 1), Fraction(-1, 1), Fraction(5, 1)]
    >>> net.widths
    (3,)
    """
    px, py = _sorted_points(xs, ys)
    b, w = _zhang_weights(px, py)
    hidden = Layer.make([[1]] * len(px), [-t for t in b])
    return Network.sequential([hidden, Layer.make([w], [0], "identity")])


def _blocks(n: int, k: int) -> list[range]:
    """``k`` consecutive blocks of ``range(n)``, sizes differing by at most 1."""
    q, r = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        size = q + (1 if i < r else 0)
        out.append(range(start, start + size))
        start += size
    return out


def zhang_deep(xs: Sequence[Number], ys: Sequence[Number], depth: int) -> Network:
    """A depth-``depth`` network of width at most ``ceil(N/depth) + 4`` through
    the points, computing the same function as :func:`zhang` everywhere.

    Layer ``l`` holds, in order: the block's units ``relu(x - b_j)``; then
    ``relu(x)``, ``relu(-x)`` unless it is the last layer; then ``relu(s)``,
    ``relu(-s)`` unless it is the first, where ``s`` sums ``w_j relu(x - b_j)``
    over the blocks before it.

    >>> net = zhang_deep(range(6), [0, 1, 0, 1, 0, 1], 3)
    >>> net.depth, net.widths
    (3, (4, 6, 4))
    >>> from pwl import function_of
    >>> function_of(net) == function_of(zhang(range(6), [0, 1, 0, 1, 0, 1]))
    True
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise PWLValueError(f"depth must be an integer >= 1, got {depth!r}")
    px, py = _sorted_points(xs, ys)
    if depth == 1:
        return zhang(px, py)
    n = len(px)
    if depth > n:
        raise PWLValueError(f"depth {depth} needs at least {depth} points (one block per "
                            f"hidden layer), got {n}")
    b, w = _zhang_weights(px, py)
    blocks = _blocks(n, depth)
    layers: list[Layer] = []
    # Columns of the previous layer: block units, then x+, x-, then s+, s-.
    prev_block: range = range(0)
    for level, block in enumerate(blocks):
        first, last = level == 0, level == depth - 1
        width_prev = 1 if first else len(prev_block) + 2 + (0 if level == 1 else 2)
        x_cols = None if first else (len(prev_block), len(prev_block) + 1)

        def x_row(sign: int) -> list[Fraction]:
            row = [Fraction(0)] * width_prev
            if x_cols is None:
                row[0] = Fraction(sign)
            else:
                row[x_cols[0]], row[x_cols[1]] = Fraction(sign), Fraction(-sign)
            return row

        rows: list[list[Fraction]] = []
        bias: list[Fraction] = []
        for j in block:
            rows.append(x_row(1))
            bias.append(-b[j])
        if not last:
            rows += [x_row(1), x_row(-1)]
            bias += [Fraction(0), Fraction(0)]
        if not first:
            s_row = [Fraction(0)] * width_prev
            for col, j in enumerate(prev_block):
                s_row[col] = w[j]
            if level > 1:
                s_row[len(prev_block) + 2] = Fraction(1)
                s_row[len(prev_block) + 3] = Fraction(-1)
            rows += [s_row, [-v for v in s_row]]
            bias += [Fraction(0), Fraction(0)]
        layers.append(Layer.make(rows, bias))
        prev_block = block
    # Output: the last block's units, plus s+ - s- (the last layer carries no x).
    out = [w[j] for j in prev_block] + [Fraction(1), Fraction(-1)]
    layers.append(Layer.make([out], [0], "identity"))
    return Network.sequential(layers)


def nonzero_parameters(net: Network) -> int:
    """Weights and biases of ``net`` that are not 0.

    >>> nonzero_parameters(zhang([0, 1], [1, 2]))
    5
    """
    return sum(sum(1 for row in layer.weights for v in row if v != 0)
               + sum(1 for v in layer.bias if v != 0) for layer in net.layers)


def stored_parameters(net: Network) -> int:
    """Every entry of every weight matrix and bias vector.

    >>> stored_parameters(zhang([0, 1], [1, 2]))
    7
    """
    return sum(layer.n_in * layer.n_out + layer.n_out for layer in net.layers)


@dataclass(frozen=True)
class InterpolationReport:
    """A network through the points, checked exactly at every one of them.

    ``zhang_parameters`` is the theorem's count ``2N + n`` (``a`` shared by
    the hidden units, ``b``, ``w``); ``nonzero`` and ``stored`` count the
    network as a dense file holds it.
    """

    network: Network
    xs: tuple[Fraction, ...]
    ys: tuple[Fraction, ...]
    values: tuple[Fraction, ...]
    depth: int
    widths: tuple[int, ...]
    zhang_parameters: int
    nonzero: int
    stored: int

    @property
    def points(self) -> int:
        return len(self.xs)

    @property
    def mismatches(self) -> tuple[int, ...]:
        """Indices of the points where the network misses its value (none)."""
        return tuple(i for i, (y, v) in enumerate(zip(self.ys, self.values)) if y != v)

    @property
    def exact(self) -> bool:
        return not self.mismatches


def interpolate(xs: Sequence[Number], ys: Sequence[Number], depth: int = 1
                ) -> InterpolationReport:
    """Build the network of depth ``depth`` and evaluate it exactly
    (:meth:`Network.evaluate`) at every point.

    >>> r = interpolate(["0", "1/3", "1"], [1, 0, "2/5"])
    >>> r.exact, r.zhang_parameters, r.nonzero, r.stored
    (True, 7, 9, 10)
    """
    px, py = _sorted_points(xs, ys)
    net = zhang_deep(px, py, depth)
    values = tuple(net.evaluate(x)[0] for x in px)
    return InterpolationReport(network=net, xs=tuple(px), ys=tuple(py), values=values,
                               depth=net.depth, widths=net.widths,
                               zhang_parameters=2 * len(px) + 1,
                               nonzero=nonzero_parameters(net), stored=stored_parameters(net))
