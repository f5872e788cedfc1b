"""The exact tier of the planar engine: lines, vertices and signs in rationals.

Every line of the partition is named by an integer id.  A negative id
``-(s + 1)`` is side ``s`` of the domain polygon.  A non-negative id
``row * stride + j * m + k`` is the line where neuron ``j`` of layer
``level(row)`` crosses the ``k``-th kink of its activation, on the region
``row`` of the region tree (:class:`RowTable`): there the neuron's
pre-activation is an affine form ``a x + b y + c`` that depends only on the
activation pattern of the region's ancestors, so the exact form follows
from the weights and that pattern (one rational matrix product per layer,
python-flint ``fmpq_mat``).  A vertex is named by the two lines it lies
on; its exact homogeneous coordinates are their cross product.

The float tier (:mod:`pwl.plane.engine`) decides almost every sign; this
module settles the rest, and makes the exact vertices a user asks for.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from ..values.network import Layer
from .domain import Polygon

__all__ = ["RowTable", "ExactPlane", "Line"]

Line = tuple[Fraction, Fraction, Fraction]


class RowTable:
    """The region tree: one row per region of each level (level ``k``: the
    regions after the cuts of layers ``0 .. k-1``), with its parent row and
    its activation pieces on layer ``k - 1``.  Growable numpy arrays, one
    pattern array per level."""

    def __init__(self, widths: Sequence[int]):
        self._n = 0
        self.level = np.zeros(1024, dtype=np.int32)
        self.parent = np.zeros(1024, dtype=np.int64)
        self.index = np.zeros(1024, dtype=np.int64)
        self._pats: list[np.ndarray] = [np.zeros((0, 0), dtype=np.uint8)] + [
            np.zeros((256, w), dtype=np.uint8) for w in widths]
        self._counts = [0] * (len(widths) + 1)

    def __len__(self) -> int:
        return self._n

    def add(self, level: int, parents: np.ndarray, pats: Optional[np.ndarray]) -> np.ndarray:
        """Append rows at ``level`` (``pats``: pieces of layer ``level - 1``); their ids."""
        m = len(parents)
        while self._n + m > len(self.level):
            size = 2 * len(self.level)
            for name in ("level", "parent", "index"):
                old = getattr(self, name)
                new = np.zeros(size, dtype=old.dtype)
                new[:self._n] = old[:self._n]
                setattr(self, name, new)
        ids = np.arange(self._n, self._n + m, dtype=np.int64)
        self.level[self._n:self._n + m] = level
        self.parent[self._n:self._n + m] = parents
        start = self._counts[level]
        self.index[self._n:self._n + m] = np.arange(start, start + m)
        if level > 0:
            assert pats is not None
            store = self._pats[level]
            if start + m > len(store):
                grown = np.zeros((max(2 * len(store), start + m), store.shape[1]), dtype=np.uint8)
                grown[:start] = store[:start]
                self._pats[level] = store = grown
            store[start:start + m] = pats
        self._counts[level] = start + m
        self._n += m
        return ids

    def pattern(self, row: int) -> np.ndarray:
        """The pieces of layer ``level(row) - 1`` on region ``row``."""
        return self._pats[int(self.level[row])][int(self.index[row])]

    def patterns(self, rows: np.ndarray) -> np.ndarray:
        """The same for rows all of one level, as a 2-D array."""
        level = int(self.level[rows[0]])
        return self._pats[level][self.index[rows]]

    def path(self, row: int) -> list[int]:
        """The rows from the root to ``row``."""
        out = [row]
        while self.level[out[-1]] > 0:
            out.append(int(self.parent[out[-1]]))
        return out[::-1]


class ExactPlane:
    """Exact lines, vertices and forms of one planar computation."""

    def __init__(self, layers: Sequence[Layer], polygon: Polygon, rows: RowTable, stride: int):
        import flint

        self._flint = flint
        self.layers = tuple(layers)
        self.polygon = polygon
        self.rows = rows
        self.stride = stride
        self._mats: dict[int, tuple[object, object]] = {}
        self._forms: dict[int, object] = {}
        self._lines: dict[int, Line] = {}
        v = polygon.vertices
        n = len(v)
        self._sides: list[Line] = []
        for i in range(n):
            (x0, y0), (x1, y1) = v[i], v[(i + 1) % n]
            a, b = y0 - y1, x1 - x0
            self._sides.append((a, b, -(a * x0 + b * y0)))

    # -- forms --------------------------------------------------------------
    def _matrix(self, k: int) -> tuple[object, object]:
        got = self._mats.get(k)
        if got is None:
            flint = self._flint
            layer = self.layers[k]
            w = flint.fmpq_mat(layer.n_out, layer.n_in,
                               [flint.fmpq(x.numerator, x.denominator)
                                for row in layer.weights for x in row])
            b = flint.fmpq_mat(layer.n_out, 3, [flint.fmpq(x.numerator, x.denominator)
                                                if j == 2 else 0
                                                for x in layer.bias for j in range(3)])
            got = self._mats[k] = (w, b)
        return got

    def forms(self, row: int) -> object:
        """The exact pre-activation forms of layer ``level(row)`` on region
        ``row``: an ``fmpq_mat`` with one row ``(a, b, c)`` per neuron."""
        got = self._forms.get(row)
        if got is not None:
            return got
        flint = self._flint
        level = int(self.rows.level[row])
        w, b = self._matrix(level)
        if level == 0:
            eye = flint.fmpq_mat(2, 3, [1, 0, 0, 0, 1, 0])
            got = w * eye + b
        else:
            parent = int(self.rows.parent[row])
            prev = self.forms(parent)
            pat = self.rows.pattern(row)
            act = self.layers[level - 1].activation
            n = len(pat)
            entries = prev.entries()  # type: ignore[attr-defined]
            h = []
            for i in range(n):
                p = int(pat[i])
                s, t = act.slopes[p], act.intercepts[p]
                fs = flint.fmpq(s.numerator, s.denominator)
                h.append(entries[3 * i] * fs)
                h.append(entries[3 * i + 1] * fs)
                h.append(entries[3 * i + 2] * fs + flint.fmpq(t.numerator, t.denominator))
            got = w * flint.fmpq_mat(n, 3, h) + b
        self._forms[row] = got
        return got

    def output_form(self, row: int, output: int) -> Line:
        """Output ``output``'s exact affine form on a final region ``row``."""
        level = int(self.rows.level[row])
        last = len(self.layers) - 1
        act = self.layers[last].activation
        if level == last:        # the output layer has no kinks: no cut was made by it
            f = self.forms(row)
            p = 0
        else:
            f = self.forms(int(self.rows.parent[row]))
            p = int(self.rows.pattern(row)[output])
        s, t = act.slopes[p], act.intercepts[p]
        a, b, c = (_frac(f[output, j]) for j in range(3))  # type: ignore[index]
        return (s * a, s * b, s * c + t)

    # -- lines and points -----------------------------------------------------
    def line(self, lid: int) -> Line:
        """The exact coefficients ``(a, b, c)`` of line ``lid``."""
        if lid < 0:
            return self._sides[-lid - 1]
        got = self._lines.get(lid)
        if got is None:
            row, rest = divmod(lid, self.stride)
            level = int(self.rows.level[row])
            kinks = self.layers[level].activation.kinks
            j, k = divmod(rest, len(kinks))
            f = self.forms(row)
            a, b, c = (_frac(f[j, i]) for i in range(3))  # type: ignore[index]
            got = self._lines[lid] = (a, b, c - kinks[k])
        return got

    def homogeneous(self, k1: int, k2: int) -> tuple[Fraction, Fraction, Fraction]:
        """The cross product of two lines, scaled so that its last entry is positive."""
        a1, b1, c1 = self.line(k1)
        a2, b2, c2 = self.line(k2)
        x, y, w = b1 * c2 - c1 * b2, c1 * a2 - a1 * c2, a1 * b2 - b1 * a2
        if w < 0:
            return -x, -y, -w
        return x, y, w

    def point(self, k1: int, k2: int) -> tuple[Fraction, Fraction]:
        """The exact intersection of two lines."""
        x, y, w = self.homogeneous(k1, k2)
        return x / w, y / w

    def sign(self, lid: int, k1: int, k2: int) -> int:
        """The sign of line ``lid``'s form at the vertex of lines ``k1``, ``k2``."""
        a, b, c = self.line(lid)
        x, y, w = self.homogeneous(k1, k2)
        v = a * x + b * y + c * w
        return (v > 0) - (v < 0)

    def w_sign(self, k1: int, k2: int) -> int:
        """The sign of ``a1 b2 - b1 a2``: orientation of the cross product."""
        a1, b1, _ = self.line(k1)
        a2, b2, _ = self.line(k2)
        w = a1 * b2 - b1 * a2
        return (w > 0) - (w < 0)


def _frac(q: object) -> Fraction:
    return Fraction(int(q.p), int(q.q))  # type: ignore[attr-defined]
