"""Local escalation: exact affine forms of a few regions, with python-flint.

The certified float64 route (:mod:`pwl.certified`) proves almost every
decision from error bounds.  The few it cannot prove (a root on a cut, two
roots closer than their bounds, a slope indistinguishable from 0, output
forms too close to compare) are settled here, for the regions concerned
only: the exact forms of a region follow from one point strictly inside it,
whose activation pattern is read off exact values, layer by layer.  The
cost of an undecided decision is therefore one region's forms through the
network (a column of an exact integer matrix product), never a recount.

Each layer is held as an integer matrix over one common denominator
(``W = Wn / d``, ``b = bn / d``; floats have power-of-two denominators), so
a batch of regions is one :class:`flint.fmpz_mat` product per layer.
Forms are integer matrices over one denominator ``den`` per layer: column
``j`` holds the slopes of region ``j`` and column ``m + j`` its intercepts.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Sequence

import flint
import numpy as np

from .network import Layer, Network

__all__ = ["ExactChain", "ExactForms"]


def dyadic_integers(values: np.ndarray) -> tuple[list[int], int]:
    """Floats as integers over one power-of-two denominator, exactly:
    ``values == ints / den``, with the least such ``den``.

    >>> dyadic_integers(np.array([0.5, -3.0, 0.0, 0.125]))
    ([4, -24, 0, 1], 8)
    """
    mant, expo = np.frexp(values)
    ints = (mant * 2.0**53).astype(np.int64)        # exact: |mant| < 1 has 53 bits
    expo = expo.astype(np.int64) - 53
    nonzero = ints != 0
    if not nonzero.any():
        return [0] * values.size, 1
    # drop each mantissa's trailing zero bits, so the denominator is least
    low = ints & -ints
    tz = np.zeros_like(ints)
    tz[nonzero] = np.round(np.log2(np.abs(low[nonzero]).astype(np.float64))).astype(np.int64)
    ints = np.where(nonzero, ints >> tz, 0)
    expo = expo + tz
    emin = int(expo[nonzero].min())
    shift = np.where(nonzero, expo - min(emin, 0), 0)
    big = [int(m) << int(t) for m, t in zip(ints.tolist(), shift.tolist())]
    return big, 1 << max(-emin, 0)


class _ExactLayer:
    """One layer as ``(Wn, bn, d)`` and its one-kink activation's slopes as
    integers over ``ds`` (below the kink: ``s0 / ds``; above: ``s1 / ds``)."""

    __slots__ = ("w", "bias", "den", "n_out", "kinked", "relu", "s0", "s1", "ds", "has_bias")

    def __init__(self, layer: Layer):
        self.n_out = layer.n_out
        if layer.floats is not None:
            w, b = layer.floats
            values, self.den = dyadic_integers(np.concatenate([w.ravel(), b]))
            k = w.size
            self.w = flint.fmpz_mat(w.shape[0], w.shape[1], values[:k])
            self.bias = values[k:]
        else:
            den = 1
            for row in layer.weights:
                for v in row:
                    if v.denominator != 1:
                        den = lcm(den, v.denominator)
            for v in layer.bias:
                if v.denominator != 1:
                    den = lcm(den, v.denominator)
            self.den = den
            self.w = flint.fmpz_mat([[v.numerator * (den // v.denominator) for v in row]
                                     for row in layer.weights])
            self.bias = [v.numerator * (den // v.denominator) for v in layer.bias]
        self.has_bias = any(self.bias)
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
        self.layers = [_ExactLayer(layer) for layer in net.layers]

    def forms(self, points: Sequence[Fraction], upto: int) -> ExactForms:
        """The pre-activation forms of layers ``0..upto`` on the regions that
        contain ``points``, each point strictly inside its region (so every
        neuron not identically 0 there is off its kink at the point)."""
        m = len(points)
        pn = np.array([int(p.numerator) for p in points], dtype=object)
        pd = np.array([int(p.denominator) for p in points], dtype=object)
        h = flint.fmpz_mat(1, 2 * m, [1] * m + [0] * m)
        den = 1
        out = ExactForms()
        for k, layer in enumerate(self.layers[:upto + 1]):
            z = layer.w * h
            n = layer.n_out
            if layer.has_bias:
                rows = []
                for b in layer.bias:
                    rows.extend([0] * m)
                    rows.extend([b * den] * m)
                z = z + flint.fmpz_mat(n, 2 * m, rows)
            den *= layer.den
            arr = np.array(z.entries(), dtype=object).reshape(n, 2 * m)
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
                h = flint.fmpz_mat(n, 2 * m, arr.ravel().tolist())
                continue
            # the sign of a x + c at x = p/q is that of a p + c q (q > 0);
            # at the kink itself a neuron counts as below it (relu'(0) = 0)
            on = (za * pn + zc * pd) > 0
            on2 = np.concatenate([on, on], axis=1)
            if layer.relu:
                arr = np.where(on2, arr, 0)
            else:
                arr = arr * np.where(on2, layer.s1, layer.s0)
                den *= layer.ds
            h = flint.fmpz_mat(n, 2 * m, arr.ravel().tolist())
        return out
