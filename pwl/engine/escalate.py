"""Local escalation: exact affine forms of a few regions, with python-flint.

The certified float64 route (:mod:`pwl.engine.certified`) proves almost every
decision from error bounds.  The few it cannot prove (a root on a cut, two
roots closer than their bounds, a slope indistinguishable from 0, output
forms too close to compare) are settled here, for the regions concerned
only: the exact forms of a region follow from one point strictly inside it,
whose activation pattern is read off exact values, layer by layer.  The
cost of an undecided decision is therefore one region's forms through the
network (a column of an exact integer matrix product), never a recount.

Each layer is held as an integer matrix over one common denominator
(``W = Wn / d``, ``b = bn / d``; floats have power-of-two denominators).
A layer of floats keeps ``Wn`` as limbs of a few bits cut from the
mantissas by numpy shifts (:mod:`pwl.engine.exactsum`), and a batch of
regions is a few float64 BLAS products of limbs, each exact, joined per
diagonal in int64 and then once in Python integers: no Python integer per
weight, so the first escalation on a wide float network costs milliseconds,
not a conversion of every weight.  Other layers are one
:class:`flint.fmpz_mat` product per batch.
Forms are integer matrices over one denominator ``den`` per layer: column
``j`` holds the slopes of region ``j`` and column ``m + j`` its intercepts.
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import lcm
from typing import Optional, Sequence

import flint
import numpy as np

from .exact import FLOAT_EXACT
from .exactsum import MAX_SPREAD, limbs
from ..values.network import Layer, Network

__all__ = ["ExactChain", "ExactForms"]


def dyadic_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each float as ``M 2^E`` with ``M`` an odd integer (or 0): int64 arrays
    ``M``, ``E`` and the mask of nonzero entries.

    >>> m, e, nz = dyadic_parts(np.array([0.75, 0.0, -4.0]))
    >>> m.tolist(), e[nz].tolist()
    ([3, 0, -1], [-2, 2])
    """
    mant, expo = np.frexp(values)
    ints = (mant * 2.0**53).astype(np.int64)        # exact: |mant| < 1 has 53 bits
    expo = expo.astype(np.int64) - 53
    nonzero = ints != 0
    # drop each mantissa's trailing zero bits, so denominators are least
    low = ints & -ints
    tz = np.zeros_like(ints)
    tz[nonzero] = np.round(np.log2(np.abs(low[nonzero]).astype(np.float64))).astype(np.int64)
    return np.where(nonzero, ints >> tz, 0), expo + tz, nonzero


def dyadic_integers(values: np.ndarray) -> tuple[list[int], int]:
    """Floats as integers over one power-of-two denominator, exactly:
    ``values == ints / den``, with the least such ``den``.

    >>> dyadic_integers(np.array([0.5, -3.0, 0.0, 0.125]))
    ([4, -24, 0, 1], 8)
    """
    ints, den = dyadic_array(values)
    return ints.tolist(), den


def dyadic_array(values: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`dyadic_integers` as an array: int64 when every integer is
    below 2^62 in magnitude, else an object array of Python ints.

    >>> ints, den = dyadic_array(np.array([0.5, -3.0, 0.0, 0.125]))
    >>> ints.tolist(), ints.dtype.name, den
    ([4, -24, 0, 1], 'int64', 8)
    """
    return dyadic_from_parts(dyadic_parts(values))


def dyadic_from_parts(parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, int]:
    """:func:`dyadic_array` from the values' :func:`dyadic_parts`."""
    ints, expo, nonzero = parts
    if not nonzero.any():
        return np.zeros(ints.size, dtype=np.int64), 1
    emin = int(expo[nonzero].min())
    shift = np.where(nonzero, expo - min(emin, 0), 0)
    den = 1 << max(-emin, 0)
    bits = np.zeros_like(ints)
    bits[nonzero] = np.ceil(np.log2(np.abs(ints[nonzero]).astype(np.float64) + 1)).astype(np.int64)
    if int((bits + shift).max()) < 62:
        return ints << shift, den       # all fit in int64
    out = np.empty(ints.size, dtype=object)
    out[:] = [int(m) << int(t) for m, t in zip(ints.tolist(), shift.tolist())]
    return out, den


def layer_dyadic_parts(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`dyadic_parts` of a float layer's weights then biases (row by
    row, then the biases), made once and kept with the layer."""
    found = layer._derived.get("dyadic")
    if found is None:
        assert layer.floats is not None
        w, b = layer.floats
        found = layer._derived["dyadic"] = dyadic_parts(np.concatenate([w.ravel(), b]))
    parts: tuple[np.ndarray, np.ndarray, np.ndarray] = found
    return parts


def rational_integers(values: Sequence[Fraction]) -> tuple[list[int], int]:
    """Rationals as integers over their least common denominator:
    ``values == ints / den``.

    >>> rational_integers([Fraction(1, 2), Fraction(-1, 3), Fraction(2)])
    ([3, -2, 12], 6)
    """
    den = 1
    for v in values:
        if v.denominator != 1:
            den = lcm(den, v.denominator)
    return [v.numerator * (den // v.denominator) for v in values], den


def _float_or_inf(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf




class _ExactLayer:
    """One layer as integers ``[Wn | bn]`` over one denominator ``d`` (the
    bias as a last column, so one product gives slopes and intercepts), and
    its one-kink activation's slopes as integers over ``ds`` (below the
    kink: ``s0 / ds``; above: ``s1 / ds``)."""

    __slots__ = ("wb", "limbs", "width", "lshift", "wb_float", "rowsum", "den", "n_out",
                 "kinked", "relu", "s0", "s1", "ds")

    def __init__(self, layer: Layer):
        self.n_out = n_out = layer.n_out
        n_in = layer.n_in
        approx = None
        values: Optional[list[int]] = None
        self.wb: Optional[flint.fmpz_mat] = None
        self.limbs: Optional[list[np.ndarray]] = None
        # limbs of 16 bits (8 for layers past 2^19 inputs): products of two
        # summed over n_in + 1 terms stay below 2^52, and digits pack into words
        room = (52 - math.ceil(math.log2(n_in + 2))) // 2
        self.width = 16 if room >= 16 else 8
        self.lshift = 0
        if layer.floats is not None:
            w, b = layer.floats
            wb = np.concatenate([w, b[:, None]], axis=1)
            ints, expo, nonzero = dyadic_parts(wb)
            emin = int(expo[nonzero].min()) if nonzero.any() else 0
            shift = np.where(nonzero, expo - emin, 0)
            if room >= 8 and emin >= -1000 and int(shift.max(initial=0)) <= MAX_SPREAD:
                # Wn = (sum_s limb_s 2^(width s)) << max(emin, 0) over den = 2^max(-emin, 0)
                self.den = 1 << max(-emin, 0)
                self.lshift = max(emin, 0)
                self.limbs = [limb.reshape(n_out, n_in + 1)
                              for limb in limbs(ints, shift, self.width)]
                approx = wb * float(self.den)
            else:       # exponents too far apart for limbs: big integers
                values, self.den = dyadic_integers(wb.ravel())
                with np.errstate(over="ignore"):
                    approx = wb * float(self.den) if self.den < 2**1000 else None
                self.wb = flint.fmpz_mat(n_out, n_in + 1, values)
        else:
            values, self.den = rational_integers(
                [v for row, c in zip(layer.weights, layer.bias) for v in row + (c,)])
            self.wb = flint.fmpz_mat(n_out, n_in + 1, values)
        # an upper bound on max_i sum_j |entries|: the floats of the integers
        # (each within a relative 2^-53), summed (relative error below n u)
        if approx is None:
            assert values is not None
            approx = np.array([_float_or_inf(v) for v in values]).reshape(self.n_out, n_in + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            top = float(np.abs(approx).sum(axis=1).max()) * (1 + (n_in + 4) * 2.0**-52)
        self.rowsum = int(math.ceil(top)) + 1 if math.isfinite(top) else 2**10000
        # small integers: exact float64 products where the bound allows
        self.wb_float = approx if self.rowsum < FLOAT_EXACT else None
        act = layer.activation
        self.kinked = bool(act.kinks)
        slopes = act.slopes
        ds = 1
        for s in slopes:
            ds = lcm(ds, s.denominator)
        self.ds = ds
        nums = [int(s * ds) for s in slopes]
        self.s0 = nums[0]
        self.s1 = nums[-1]
        self.relu = self.kinked and slopes[0] == 0 and slopes[-1] == 1

    def product(self, h: np.ndarray, hmax: int) -> tuple[np.ndarray, int]:
        """Exact ``[Wn | bn] @ h`` for an object array ``h`` of integers
        whose entries are at most ``hmax`` in magnitude, and a bound on the
        result's magnitudes."""
        if self.wb_float is not None and self.rowsum * hmax < FLOAT_EXACT:
            # every partial sum is an integer below 2^53: float64 is exact
            out = self.wb_float @ h.astype(np.float64)
            return out.astype(np.int64).astype(object), int(np.abs(out).max(initial=0.0))
        if self.limbs is not None:
            return self._limb_product(h), self.rowsum * hmax
        assert self.wb is not None
        hm = flint.fmpz_mat(h.shape[0], h.shape[1], h.ravel().tolist())
        z = self.wb * hm
        return (np.array([int(v) for v in z.entries()], dtype=object).reshape(self.n_out,
                                                                             h.shape[1]),
                self.rowsum * hmax)

    def _limb_product(self, h: np.ndarray) -> np.ndarray:
        """``Wn @ h`` exactly from the limbs of ``Wn`` and of ``h`` (an object
        array of integers): every limb is below ``2^width`` in magnitude, so
        each limb product, a sum of ``n_in + 1`` terms below ``2^(2 width)``,
        is below 2^52 and exact in float64; the products on one diagonal
        (same power of two) are summed in int64 (fewer than 64 of them, so
        below 2^58), and the diagonals joined once (:func:`_join_digits`)."""
        assert self.limbs is not None
        width = self.width
        negative = h < 0
        mag = [int(v) for v in np.where(negative, -h, h).ravel().tolist()]
        sign = np.where(negative, -1.0, 1.0)
        top = max((v.bit_length() for v in mag), default=0)
        # h's magnitudes as digits of ``width`` bits: their bytes, read by numpy
        step = width // 8
        size = -(-top // width) * step
        raw = b"".join(v.to_bytes(size, "little") for v in mag)
        digits = np.frombuffer(raw, dtype="<u2" if width == 16 else np.uint8)
        digits = digits.reshape(h.shape[0], h.shape[1], size // step)
        hl = [digits[:, :, t].astype(np.float64) * sign for t in range(size // step)]
        cols = h.shape[1]
        if not hl:
            return np.zeros((self.n_out, cols), dtype=object)
        stacked = np.concatenate(hl, axis=1)          # one product per limb of Wn
        nl = len(hl)
        diag = np.zeros((self.n_out, len(self.limbs) + nl - 1, cols), dtype=np.int64)
        for s, limb in enumerate(self.limbs):
            diag[:, s:s + nl, :] += (limb @ stacked).astype(np.int64).reshape(self.n_out, nl, cols)
        return _join_digits(diag, width, self.lshift)


def _join_digits(diag: np.ndarray, width: int, lshift: int) -> np.ndarray:
    """The integers ``(sum_d diag[:, d, :] 2^(width d)) << lshift`` as an
    object array, for ``width`` dividing 64: carries propagated in int64
    (every digit but the last brought into ``[0, 2^width)``, entries below
    2^59 throughout, in place), the low digits packed into 64-bit words and
    read as bytes, one Python integer made per entry."""
    count = diag.shape[1]
    for d in range(count - 1):
        carry = diag[:, d, :] >> width                 # floor division by 2^width
        diag[:, d, :] -= carry << width
        diag[:, d + 1, :] += carry
    rows, _, cols = diag.shape
    tops = diag[:, -1, :].ravel().tolist()
    if count == 1:
        return np.fromiter((t << lshift for t in tops), dtype=object,
                           count=rows * cols).reshape(rows, cols)
    per = 64 // width                                   # digits per word
    words = -(-(count - 1) // per)
    digits = np.zeros((rows, cols, words * per), dtype=np.uint64)
    digits[:, :, :count - 1] = diag[:, :-1, :].transpose(0, 2, 1)
    shifts = np.arange(per, dtype=np.uint64) * np.uint64(width)
    packed = np.bitwise_or.reduce(digits.reshape(rows, cols, words, per) << shifts, axis=-1)
    raw = packed.astype("<u8").tobytes()
    size = 8 * words
    base = width * (count - 1)
    values = ((int.from_bytes(raw[size * k:size * (k + 1)], "little") + (t << base)) << lshift
              for k, t in enumerate(tops))
    return np.fromiter(values, dtype=object, count=rows * cols).reshape(rows, cols)


class ExactForms:
    """Exact pre-activation forms of a batch of regions, layer by layer.

    ``a[k]`` and ``c[k]`` are object arrays (neurons x regions) of integers,
    ``den[k]`` their common positive denominator: on region ``j``, neuron
    ``i`` of layer ``k`` has pre-activation ``(a[k][i, j] x + c[k][i, j]) / den[k]``.
    """

    __slots__ = ("a", "c", "den")

    def __init__(self) -> None:
        self.a: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.den: list[int] = []

    def root(self, layer: int, neuron: int, region: int) -> Fraction:
        """The exact root ``-c/a`` of one neuron's pre-activation on one region."""
        a = int(self.a[layer][neuron, region])
        return Fraction(-int(self.c[layer][neuron, region]), a)


class ExactChain:
    """A chain network in exact integer matrices, for exact forms at points.

    >>> net = Network.sequential([([[1], [-1]], ["1/2", 0]), ([[1, 1]], [0], "identity")])
    >>> forms = ExactChain(net).forms([Fraction(-1), Fraction(1)], 1)
    >>> forms.a[1][0].tolist(), forms.c[1][0].tolist(), forms.den[1]
    ([-2, 2], [0, 1], 2)
    """

    def __init__(self, net: Network):
        self._net_layers = net.layers
        self._layers: list[Optional[_ExactLayer]] = [None] * len(net.layers)

    def layer(self, k: int) -> _ExactLayer:
        """Layer ``k`` in integers, made on first use (escalations are rare
        and mostly early, so deep layers are often never needed)."""
        built = self._layers[k]
        if built is None:
            built = self._layers[k] = _ExactLayer(self._net_layers[k])
        return built

    def forms(self, points: Sequence[Fraction], upto: int) -> ExactForms:
        """The pre-activation forms of layers ``0..upto`` on the regions that
        contain ``points``, each point strictly inside its region (so every
        neuron not identically 0 there is off its kink at the point)."""
        m = len(points)
        pn = np.array([int(p.numerator) for p in points], dtype=object)
        pd = np.array([int(p.denominator) for p in points], dtype=object)
        den = 1
        # h: slopes | intercepts per region, and a last row multiplying the bias
        arr = np.array([[1] * m + [0] * m], dtype=object)
        hmax = 1
        out = ExactForms()
        for k in range(upto + 1):
            layer = self.layer(k)
            h = np.concatenate([arr, np.array([[0] * m + [den] * m], dtype=object)], axis=0)
            arr, hmax = layer.product(h, max(hmax, den))
            den *= layer.den
            za, zc = arr[:, :m], arr[:, m:]
            out.a.append(za)
            out.c.append(zc)
            out.den.append(den)
            if k == upto:
                break
            if not layer.kinked:
                if layer.s0 != 1 or layer.ds != 1:
                    arr = arr * layer.s0
                    den *= layer.ds
                    hmax *= abs(layer.s0)
            else:
                # the sign of a x + c at x = p/q is that of a p + c q (q > 0);
                # at the kink itself a neuron counts as below it (relu'(0) = 0)
                on = (za * pn + zc * pd) > 0
                on2 = np.concatenate([on, on], axis=1).astype(bool)
                if layer.relu:
                    arr = np.where(on2, arr, 0)
                else:
                    arr = arr * np.where(on2, layer.s1, layer.s0)
                    den *= layer.ds
                    hmax *= max(abs(layer.s0), abs(layer.s1))
        return out
