"""Counting in float64 with proven error bounds, for weights with large
denominators (decimals with many digits, floats at their exact binary value).

Exact integer forms for such weights need big integers, which numpy can only
hold as Python objects.  Here every quantity ``q`` is a float ``q~`` with a
rigorous bound ``e`` on ``|q - q~|``, carried through every operation
(standard forward error analysis, unit roundoff ``u = 2^-53``, each bound
inflated by a safety factor).  A decision is taken only when the bounds
prove it:

* a pre-activation's slope is nonzero if ``|a~| > e_a`` (or exactly zero if
  ``a~ = e_a = 0``);
* its root ``-c/a`` lies strictly inside, left of or right of a region if
  the root's interval and the region's end intervals are disjoint;
* two roots in one region are distinct and ordered if their intervals are
  disjoint;
* an output's affine form changes across a cut if the difference exceeds the
  bounds; if the bounds cannot tell, the one cut is settled exactly by the
  exact engine on a small interval around it.

When a bound cannot prove a decision (a root on a cut, two equal roots, a
slope indistinguishable from 0), :class:`Undecided` is raised and the caller
counts with the exact engine instead.  The counts returned are therefore
exact; only the route to them uses floats.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional

import numpy as np

from .domain import Domain
from .network import Network

__all__ = ["Undecided", "certified_count", "applies"]

_U = 2.0**-53
_SAFE = 1.0 + 2.0**-30      # inflates every bound: covers rounding of the bounds themselves
_TINY = 1e-290              # absolute slack for underflow
_SMALLEST = 2.0**-900       # products below this could underflow: not decided here


class Undecided(Exception):
    """A float decision could not be proven; count exactly instead."""


def applies(net: Network) -> bool:
    """Chains whose activations all have one kink, at 0, and no intercepts
    (relu, leaky_relu, abs); the output layer is affine."""
    if not net.is_chain or net.input_size != 1:
        return False
    layers = net.layers
    if layers[-1].activation.kinks:
        return False
    for layer in layers[:-1]:
        act = layer.activation
        if act.kinks and (act.kinks != (Fraction(0),) or any(act.intercepts)):
            return False
    return True


def _float_and_error(values: list[Fraction]) -> tuple[np.ndarray, np.ndarray]:
    """Correctly rounded floats and their exact rounding errors (as upper bounds)."""
    try:
        approx = np.array([float(v) for v in values], dtype=np.float64)
    except OverflowError:
        raise Undecided("a number beyond the float range") from None
    err = np.array([float(abs(Fraction(a) - v)) for a, v in zip(approx.tolist(), values)],
                   dtype=np.float64)
    return approx, err * _SAFE + np.where(err > 0, _TINY, 0.0)


def _end(value: Optional[Fraction]):
    """A domain end as (float, bound), the bound at least 2u|value| so that
    sums with it round safely; ``(None, None)`` for an infinite end."""
    if value is None:
        return None, None
    f, e = _float_and_error([value])
    return f, np.maximum(e, 2 * _U * np.abs(f))


def _layer_floats(layer):
    flat = [w for row in layer.weights for w in row]
    w, ew = _float_and_error(flat)
    b, eb = _float_and_error(list(layer.bias))
    shape = (layer.n_out, layer.n_in)
    if not (np.isfinite(w).all() and np.isfinite(b).all()):
        raise Undecided("weights beyond the float range")
    return w.reshape(shape), ew.reshape(shape), b, eb


def _affine(a: np.ndarray, ea: np.ndarray, w: np.ndarray, ew: np.ndarray,
            b: Optional[np.ndarray] = None, eb: Optional[np.ndarray] = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """``a @ w.T (+ b)`` with a bound: |error| <= ea|w| + |a|ew + gamma |a||w| (+ eb).

    When every weight is correctly rounded (``ew <= 2u |w|``, checked), the
    ``|a| ew`` and ``ea ew`` terms are folded into the others:
    ``|a| ew <= 2u |a||w|`` and ``ea ew <= 2u ea|w|``.
    """
    n = w.shape[1] + 1
    gamma = n * _U / (1 - n * _U)
    # far from underflow, a product is 0 only when a factor is: then an entry
    # whose terms all vanish is an exact 0 (below, "mag = err = 0")
    small_a = np.abs(a[a != 0]).min(initial=np.inf)
    small_w = np.abs(w[w != 0]).min(initial=np.inf)
    if small_a * small_w < _SMALLEST or (b is not None and np.abs(b[b != 0]).min(
            initial=np.inf) < _SMALLEST):
        raise Undecided("values too close to the float underflow")
    wt, awt = w.T, np.abs(w).T
    z = a @ wt
    mag = np.abs(a) @ awt
    if (ew <= 2 * _U * np.abs(w)).all():
        err = (ea @ awt) * (1 + 2 * _U) + 2 * _U * mag
    else:
        err = ea @ awt + np.abs(a) @ ew.T + ea @ ew.T
    if b is not None:
        z = z + b
        mag = mag + np.abs(b)
        err = err + eb
    # an entry whose terms all vanish exactly (mag = err = 0) is an exact 0
    err = np.where((mag > 0) | (err > 0), (err + 2 * gamma * mag) * _SAFE + _TINY, 0.0)
    if not (np.isfinite(z).all() and np.isfinite(err).all()):
        raise Undecided("forms beyond the float range")
    return z, err


def certified_count(net: Network, domain: Domain, output: int = 0) -> tuple[int, int]:
    """``(pieces, activation_regions)``, exactly, or :class:`Undecided`.

    >>> from pwl.network import Network
    >>> net = Network.sequential([([["0.1"], ["-0.3"]], ["0.05", "0.2"]),
    ...                           ([["1.5", "0.7"]], [0], "identity")])
    >>> certified_count(net, None)
    (3, 3)
    """
    layers = net.layers
    if domain is None:
        lo = hi = None
    else:
        lo, hi = domain
    # cuts: floats x~ with bounds ex, sorted and certified distinct
    xs = np.zeros(0)
    ex = np.zeros(0)
    lo_f, lo_e = _end(lo)
    hi_f, hi_e = _end(hi)
    a = np.ones((1, 1))
    c = np.zeros((1, 1))
    ea = np.zeros((1, 1))
    ec = np.zeros((1, 1))
    hidden_regions = 1
    floats = net.cache.get("certified")
    if floats is None:
        floats = net.cache["certified"] = [_layer_floats(layer) for layer in layers]
    for k, layer in enumerate(layers):
        w, ew, b, eb = floats[k]
        za, eza = _affine(a, ea, w, ew)
        zc, ezc = _affine(c, ec, w, ew, b, eb)
        if k == len(layers) - 1:
            hidden_regions = xs.size + 1
            a, ea, c, ec = za, eza, zc, ezc
            break
        act = layer.activation
        if not act.kinks:
            s0, es0 = _float_and_error([act.slopes[0]])
            a, ea = za * s0[0], (eza * abs(s0[0]) + np.abs(za) * es0[0]
                                 + _U * np.abs(za * s0[0])) * _SAFE
            c, ec = zc * s0[0], (ezc * abs(s0[0]) + np.abs(zc) * es0[0]
                                 + _U * np.abs(zc * s0[0])) * _SAFE
            continue
        xs, ex, za, eza, zc, ezc, on = _refine(xs, ex, za, eza, zc, ezc,
                                               (lo_f, lo_e), (hi_f, hi_e))
        a, ea = _apply(za, eza, on, act)
        c, ec = _apply(zc, ezc, on, act)
    return _pieces(net, output, xs, ex, a[:, output], ea[:, output], c[:, output],
                   ec[:, output], (lo_f, lo_e), (hi_f, hi_e)), hidden_regions


def _apply(z: np.ndarray, ez: np.ndarray, on: np.ndarray, act) -> tuple[np.ndarray, np.ndarray]:
    """The activation's slope on each piece (0 below the kink, 1 above) times ``z``."""
    out = np.empty_like(z)
    err = np.empty_like(ez)
    for piece in (0, 1):
        s, es = _float_and_error([act.slopes[piece]])
        mask = on == piece
        prod = z * s[0]
        out = np.where(mask, prod, out)
        err = np.where(mask, (ez * abs(s[0]) + np.abs(z) * es[0] + _U * np.abs(prod)) * _SAFE,
                       err)
    return out, err


def _bounds(xs: np.ndarray, ex: np.ndarray, end, at_right: bool):
    """Each region's end (left or right) as (value, bound); infinities for rays."""
    point, perr = end
    inf = math.inf if at_right else -math.inf
    ends = np.empty(xs.size + 1)
    errs = np.empty(xs.size + 1)
    if at_right:
        ends[:-1], errs[:-1] = xs, ex
        ends[-1], errs[-1] = (inf, 0.0) if point is None else (point[0], perr[0])
    else:
        ends[1:], errs[1:] = xs, ex
        ends[0], errs[0] = (inf, 0.0) if point is None else (point[0], perr[0])
    return ends, errs


def _refine(xs, ex, za, eza, zc, ezc, lo, hi):
    """Cut the regions where the pre-activations cross 0; all decisions proven."""
    n_regions, width = za.shape
    left, eleft = _bounds(xs, ex, lo, False)
    right, eright = _bounds(xs, ex, hi, True)
    aa = np.abs(za)
    zero_slope = (za == 0) & (eza == 0)
    nonzero = aa > eza
    if not (zero_slope | nonzero).all():
        raise Undecided("a slope indistinguishable from 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.where(nonzero, -zc / za, 0.0)
        er = np.where(nonzero, (aa * ezc + np.abs(zc) * eza) / (aa * (aa - eza)), 0.0)
        er = er * _SAFE + 2 * _U * np.abs(root) + _TINY
    lo_end = (left + eleft)[:, None]
    hi_end = (right - eright)[:, None]
    below = root + er < (left - eleft)[:, None]       # root left of the region
    above = root - er > (right + eright)[:, None]     # root right of the region
    inside = (root - er > lo_end) & (root + er < hi_end)
    if not (zero_slope | below | above | inside).all():
        raise Undecided("a root on a region's end")
    # constant pre-activations: certified sign, or exactly zero (below the kink)
    const_on = (zc > ezc)
    if (zero_slope & ~((np.abs(zc) > ezc) | ((zc == 0) & (ezc == 0)))).any():
        raise Undecided("a constant indistinguishable from 0")
    up = za > 0
    # on at the region's left part: above the kink just right of its left end
    on_left = np.where(zero_slope, const_on, np.where(below, up, np.where(above, ~up, ~up)))
    r, i = np.nonzero(inside & nonzero)
    if r.size == 0:
        return xs, ex, za, eza, zc, ezc, on_left.astype(np.int8)
    v, e = root[r, i], er[r, i]
    order = np.argsort(v, kind="stable")     # region-major already, up to float order
    r, i, v, e = r[order], i[order], v[order], e[order]
    if r.size > 1 and (np.diff(r) < 0).any():
        raise Undecided("roots out of region order")
    same = r[1:] == r[:-1]
    if (same & (v[:-1] + e[:-1] >= v[1:] - e[1:])).any():
        raise Undecided("two roots too close to order")
    per_region = np.bincount(r, minlength=n_regions)
    cum = np.cumsum(per_region)
    total = n_regions + r.size
    old_pos = np.arange(n_regions - 1) + cum[:-1]
    new_pos = r + np.arange(r.size)
    nx = np.empty(total - 1)
    nex = np.empty(total - 1)
    nx[old_pos], nex[old_pos] = xs, ex
    nx[new_pos], nex[new_pos] = v, e
    counts = per_region + 1
    first_row = np.repeat(np.arange(n_regions) + cum - per_region, counts)
    flips = np.zeros((total, width), dtype=np.int32)
    flips[new_pos + 1, i] = 1
    flips = np.cumsum(flips, axis=0)
    flips -= flips[first_row]
    on = np.repeat(on_left, counts, axis=0) ^ (flips > 0)
    rep = lambda m: np.repeat(m, counts, axis=0)  # noqa: E731
    return nx, nex, rep(za), rep(eza), rep(zc), rep(ezc), on.astype(np.int8)


def _pieces(net, output, xs, ex, a, ea, c, ec, lo, hi) -> int:
    """Pieces of the output: 1 + cuts where its form provably changes; cuts the
    bounds cannot settle are settled by the exact engine around them."""
    if xs.size == 0:
        return 1
    da, dc = np.abs(a[1:] - a[:-1]), np.abs(c[1:] - c[:-1])
    differ = ((da > (ea[1:] + ea[:-1]) * _SAFE + 2 * _U * da)
              | (dc > (ec[1:] + ec[:-1]) * _SAFE + 2 * _U * dc))
    equal = ((a[1:] == a[:-1]) & (c[1:] == c[:-1])
             & (ea[1:] == 0) & (ea[:-1] == 0) & (ec[1:] == 0) & (ec[:-1] == 0))
    unsure = np.nonzero(~differ & ~equal)[0]
    if unsure.size > 64:
        raise Undecided("too many output forms too close to compare")
    changes = int(differ.sum())
    if unsure.size:
        from .propagate import propagate

        left, eleft = _bounds(xs, ex, lo, False)
        right, eright = _bounds(xs, ex, hi, True)
        for k in unsure.tolist():
            # a rational inside region k and one inside region k + 1
            m1 = _inside(left[k], eleft[k], right[k], eright[k])
            m2 = _inside(left[k + 1], eleft[k + 1], right[k + 1], eright[k + 1])
            part = propagate(net, (m1, m2))
            changes += part.pieces(output) - 1
    return 1 + changes


def _inside(lo: float, elo: float, hi: float, ehi: float) -> Fraction:
    """A rational strictly inside the region ``(lo ± elo, hi ± ehi)``."""
    a = None if math.isinf(lo) else Fraction(lo) + Fraction(elo)
    b = None if math.isinf(hi) else Fraction(hi) - Fraction(ehi)
    if a is None:
        return Fraction(0) if b is None else b - 1
    if b is None:
        return a + 1
    if not a < b:
        raise Undecided("a region narrower than its bounds")
    return (a + b) / 2
