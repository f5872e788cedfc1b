"""Forms on the regions: the state between layers (cut points, forms over
one denominator, carried magnitude bounds) and the exact operations on it
(affine maps, activations, sums), all integer arrays, one row per neuron
and one column per region."""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm
from typing import Optional

import numpy as np

from ..values.domain import Interval
from .exact import INT64_SAFE, is_object, matmul_exact_pair, maxabs, to_object
from .plans import IntAct, IntAffine


class _State:
    """The current partition: cut points ``cn / cd``, the domain's ends, and
    ``bound``, an upper bound on every ``|cn|`` and ``cd`` (None: unknown)."""

    __slots__ = ("cn", "cd", "lo", "hi", "bound")

    def __init__(self, cn: np.ndarray, cd: np.ndarray,
                 lo: Optional[tuple[int, int]], hi: Optional[tuple[int, int]],
                 bound: Optional[int] = None):
        self.cn, self.cd, self.lo, self.hi, self.bound = cn, cd, lo, hi, bound

    @property
    def regions(self) -> int:
        return len(self.cn) + 1

    def cut_bound(self) -> int:
        if self.bound is None:
            self.bound = max(maxabs(self.cn), maxabs(self.cd))
        return self.bound


@dataclass
class _Forms:
    """A node's values on every region: ``(a[i, r] * x + c[i, r]) / den`` for
    neuron ``i`` on region ``r`` (one row per neuron, so that operations run
    along the regions).  ``bound`` is an upper bound on every ``|a|`` and
    ``|c|`` entry, or None if unknown; it spares passes over the arrays."""

    a: np.ndarray
    c: np.ndarray
    den: int
    bound: Optional[int] = None

    def take(self, source: np.ndarray) -> "_Forms":
        """The forms on a refined partition: new region ``k`` lies in old
        region ``source[k]``."""
        return _Forms(_take(self.a, source), _take(self.c, source), self.den, self.bound)

    def over(self, den: int) -> "_Forms":
        """The same values over a multiple ``den`` of the denominator."""
        factor = den // self.den
        return _Forms(_scaled(self.a, factor), _scaled(self.c, factor), den,
                      None if self.bound is None else self.bound * factor)

    def max_abs(self) -> int:
        """The carried bound, or the exact largest magnitude, then carried."""
        if self.bound is None:
            self.bound = max(maxabs(self.a), maxabs(self.c))
        return self.bound

    def tight(self) -> int:
        """The exact largest magnitude (a carried bound may be loose)."""
        self.bound = max(maxabs(self.a), maxabs(self.c))
        return self.bound


def _take(arr: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``arr[:, source]``; row by row on long rows, where that is faster."""
    if arr.shape[0] > 16 or source.size < 4096 or arr.dtype == object:
        return np.take(arr, source, axis=1)
    out = np.empty((arr.shape[0], source.size), dtype=arr.dtype)
    for row, dest in zip(arr, out):
        np.take(row, source, out=dest)
    return out


_IOTA = np.arange(1 << 16)


def _iota(n: int) -> np.ndarray:
    """``np.arange(n)`` as a read-only view of a cached array."""
    global _IOTA
    if n > _IOTA.size:
        grown = np.arange(max(n, 2 * _IOTA.size))
        grown.flags.writeable = False
        _IOTA = grown
    return _IOTA[:n]


_IOTA.flags.writeable = False


def _initial_state(domain: Optional[Interval]) -> _State:
    empty = np.zeros(0, dtype=np.int64)
    lo, hi = (None, None) if domain is None else domain
    return _State(empty, empty.copy(),
                  None if lo is None else (lo.numerator, lo.denominator),
                  None if hi is None else (hi.numerator, hi.denominator), 0)


def _affine(h: _Forms, layer: IntAffine) -> _Forms:
    """Pre-activation forms over ``h.den * scale``."""
    h_max = h.max_abs()
    za, zc = matmul_exact_pair(layer.a, h.a, h.c, layer.a_rowsum, h_max, layer.a_float)
    bound = h_max * layer.a_rowsum + h.den * layer.b_max
    if layer.b_max:
        if bound >= INT64_SAFE and not is_object(za, zc, layer.b_array):
            bound = max(maxabs(za), maxabs(zc) + h.den * layer.b_max)
        if is_object(zc, layer.b_array) or bound >= INT64_SAFE:
            zc = to_object(zc) + np.array([[h.den * v] for v in layer.b], dtype=object)
        elif h.den == 1:
            zc += layer.b_column
        else:
            zc += layer.b_column * np.int64(h.den)
    return _Forms(za, zc, h.den * layer.scale, bound)


def _scalar_array(value: int, like: np.ndarray) -> np.ndarray:
    """``value`` as a 0-d array matching ``like``'s integer kind."""
    if is_object(like) or abs(value) >= INT64_SAFE:
        return np.array(value, dtype=object)
    return np.array(value, dtype=np.int64)


def _scaled(arr: np.ndarray, factor: int, shift: int = 0, bound: Optional[int] = None
            ) -> np.ndarray:
    """Exact ``arr * factor + shift``, int64 when the result provably fits;
    ``bound``, if given, bounds ``maxabs(arr)``."""
    if factor == 1 and shift == 0:
        return arr
    if not is_object(arr):
        if bound is None or bound * abs(factor) + abs(shift) >= INT64_SAFE:
            bound = maxabs(arr)
        if bound * abs(factor) + abs(shift) < INT64_SAFE:
            return arr * np.int64(factor) + np.int64(shift)
    return to_object(arr) * factor + shift


def _activate(z: _Forms, pieces: np.ndarray, act: IntAct, owned: bool = False) -> _Forms:
    """Apply each neuron's activation piece to its pre-activation form
    (``pieces``: booleans for one kink, piece indices otherwise); ``owned``:
    ``z``'s arrays are not shared and may be overwritten."""
    za, zc, zden = z.a, z.c, z.den
    if act.is_relu:
        if is_object(za, zc):
            zero = np.zeros((), dtype=object)
            return _Forms(np.where(pieces, za, zero), np.where(pieces, zc, zero), zden, z.bound)
        if owned:
            np.multiply(za, pieces, out=za)
            np.multiply(zc, pieces, out=zc)
            return _Forms(za, zc, zden, z.bound)
        return _Forms(za * pieces, zc * pieces, zden, z.bound)
    if len(act.slope_num) == 1:    # no kinks: one affine map for every neuron
        return _affine_scalar(z, act.slope_num[0], act.icpt_num[0], act.act_den, owned)
    index = pieces.astype(np.intp)
    slope = np.array(act.slope_num, dtype=object)[index]
    icpt = np.array(act.icpt_num, dtype=object)[index] * zden
    z_max = z.max_abs()
    bound = (max(abs(v) for v in act.slope_num) * z_max
             + max(abs(v) for v in act.icpt_num) * zden)
    if bound < INT64_SAFE and not is_object(za, zc):
        slope64, icpt64 = slope.astype(np.int64), icpt.astype(np.int64)
        return _Forms(slope64 * za, slope64 * zc + icpt64, zden * act.act_den, bound)
    return _Forms(slope * to_object(za), slope * to_object(zc) + icpt, zden * act.act_den)


def _affine_scalar(z: _Forms, slope: int, icpt: int, den: int, owned: bool) -> _Forms:
    """``(slope * z + icpt) / den`` for integers, over ``z.den * den``."""
    if slope == 1 and icpt == 0 and den == 1:
        return z
    z_max = z.max_abs()
    shift = icpt * z.den
    bound = abs(slope) * z_max + abs(shift)
    if bound < INT64_SAFE and not is_object(z.a, z.c):
        za = z.a * np.int64(slope)
        zc = z.c * np.int64(slope)
        if shift:
            zc += np.int64(shift)
        return _Forms(za, zc, z.den * den, bound)
    return _Forms(to_object(z.a) * slope, to_object(z.c) * slope + shift, z.den * den)


def _common(forms: list[_Forms]) -> list[_Forms]:
    """The forms over one common denominator."""
    den = lcm(*(f.den for f in forms))
    return [f.over(den) for f in forms]


def _sum(a: np.ndarray, b: np.ndarray, sign: int = 1) -> np.ndarray:
    """Exact ``a + sign * b``, int64 when the result provably fits."""
    if not is_object(a, b) and maxabs(a) + maxabs(b) < INT64_SAFE:
        return a + b if sign > 0 else a - b
    return to_object(a) + to_object(b) if sign > 0 else to_object(a) - to_object(b)


def _where(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if is_object(a, b):
        return np.where(cond, to_object(a), to_object(b))
    return np.where(cond, a, b)
