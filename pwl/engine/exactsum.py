"""Exact products of float matrices and vectors, vectorised: ``W @ V`` as
rationals, through float64 BLAS.

Every float is a dyadic rational ``M 2^E`` (``M`` an integer below 2^53),
so a float matrix is an integer matrix over one power of two, ``Wn / 2^-Wmin``
with ``Wn = M << (E - Wmin)``.  Cut each such integer into limbs of ``b``
bits, ``Wn = sum_s L_s 2^(b s)`` with ``|L_s| < 2^b``, and likewise each
column of ``V``.  A product of two limbs is below 2^(2b) and a sum of ``k``
of them below 2^(2b + log2 k) <= 2^52 when ``b = (52 - log2 k) / 2``: every
limb product ``L_s @ P_t`` is computed exactly by float64 BLAS, in any
order.  The limbs come out of the float's mantissa by integer shifts in
numpy, so no Python integer is made per entry; the few limb products are
joined per row as Python integers.

This replaces a Fraction (or a big Python integer) per weight when a line
is drawn through a wide many-input model: ``W (b - a)`` and ``W a`` for the
first layer.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional

import numpy as np

__all__ = ["exact_matmul", "two_sum", "limbs", "MAX_SPREAD"]

#: Exponent spreads (bits) beyond this are left to big integers.
MAX_SPREAD = 400


def two_sum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x + y = s + e`` exactly (Knuth), elementwise, barring overflow.

    >>> s, e = two_sum(np.array([1.0]), np.array([2.0**-60]))
    >>> float(s[0]), float(e[0]) == 2.0**-60
    (1.0, True)
    """
    s = x + y
    bp = s - x
    ap = s - bp
    return s, (x - ap) + (y - bp)


def _dyadic(a: np.ndarray, axis: Optional[int]) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``a = M << shift`` times ``2^emin`` (per column if ``axis`` is 0):
    integer mantissas, shifts and the least exponents; None if the spread of
    exponents is too wide."""
    mant, expo = np.frexp(a)
    ints = (mant * 2.0**53).astype(np.int64)
    expo = expo.astype(np.int64) - 53
    big = np.iinfo(np.int64).max
    masked = np.where(ints != 0, expo, big)
    emin = masked.min(axis=axis, keepdims=axis is not None)
    emin = np.where(emin == big, 0, emin)
    shift = np.where(ints != 0, expo - emin, 0)
    if shift.size and int(shift.max()) > MAX_SPREAD:
        return None
    return ints, shift, np.asarray(emin).ravel()


def limbs(ints: np.ndarray, shift: np.ndarray, width: int) -> list[np.ndarray]:
    """The integers ``ints << shift`` as signed limbs of ``width`` bits:
    ``sum_t limb_t 2^(width t)``, each limb a float64 array below 2^width."""
    sign = np.sign(ints)
    mag = np.abs(ints)
    top = int(shift.max(initial=0)) + 53
    mask = (1 << width) - 1
    out = []
    for t in range(-(-top // width)):
        off = width * t - shift               # bit of mag that lands on this limb's bit 0
        right = (mag >> np.clip(off, 0, 63)) & mask
        up = np.clip(-off, 0, width)
        left = (mag & (mask >> up)) << up
        limb = np.where(off >= 0, right, left)
        out.append((sign * limb).astype(np.float64))
    return out


def exact_matmul(w: np.ndarray, v: np.ndarray) -> Optional[list[list[Fraction]]]:
    """``w @ v`` exactly for float arrays (``v`` of shape (k, c)): a list of
    rows of Fractions; None if the exponents spread too far for the limbs.

    >>> w = np.array([[0.1, 0.2], [1e-20, 1.0]])
    >>> v = np.array([[3.0], [-1.5]])
    >>> exact_matmul(w, v) == [[Fraction(0.1) * 3 - Fraction(0.2) * Fraction(3, 2)],
    ...                        [Fraction(1e-20) * 3 - Fraction(3, 2)]]
    True
    """
    n, k = w.shape
    cols = v.shape[1]
    dw = _dyadic(w, None)
    dv = _dyadic(v, 0)
    if dw is None or dv is None:
        return None
    width = (52 - math.ceil(math.log2(k + 1))) // 2
    if width < 8:
        return None
    wl = limbs(dw[0], dw[1], width)
    vl = limbs(dv[0], dv[1], width)
    wmin = int(dw[2][0])
    totals = [[0] * cols for _ in range(n)]
    for s, ws in enumerate(wl):
        for t, vt in enumerate(vl):
            # |limb products| < 2^(2 width) and k of them sum below 2^52: exact
            part = (ws @ vt).astype(np.int64).tolist()
            shift = width * (s + t)
            for i, row in enumerate(part):
                acc = totals[i]
                for c, x in enumerate(row):
                    if x:
                        acc[c] += x << shift
    scales = [Fraction(2) ** (wmin + int(e)) for e in dv[2]]
    return [[Fraction(x) * scales[c] for c, x in enumerate(row)] for row in totals]
