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
  bounds; it is the same if every neuron has the same piece on both sides,
  or if a whole relu layer is off on both sides (its forms are exact
  zeros there); if neither settles a cut, exact forms on both sides
  (:func:`pwl.propagate.forms_at`, all such cuts in one pass) do.

Arrays hold one row per neuron; a neuron's slopes on the regions and its
intercepts sit side by side in one row (``[a | c]``), so each layer is one
matrix product for both.

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

from . import _jit
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


def _round_up(value: Fraction) -> float:
    """The least float at or above ``value`` (inf beyond the float range,
    which the finiteness checks then turn into Undecided)."""
    try:
        f = float(value)
    except OverflowError:
        return math.inf
    return f if Fraction(f) >= value else math.nextafter(f, math.inf)


def _end(value: Optional[Fraction]):
    """A domain end as (float, bound), the bound at least 2u|value| so that
    sums with it round safely; ``(None, None)`` for an infinite end."""
    if value is None:
        return None, None
    f, e = _float_and_error([value])
    return f, np.maximum(e, 2 * _U * np.abs(f))


class _LayerFloats:
    """A layer's weights, biases and activation slopes as floats with bounds,
    and what the propagation needs of them, computed once per network."""

    def __init__(self, layer):
        flat = [w for row in layer.weights for w in row]
        w, ew = _float_and_error(flat)
        b, eb = _float_and_error(list(layer.bias))
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise Undecided("weights beyond the float range")
        self.w = w.reshape(layer.n_out, layer.n_in)
        self.ew = ew.reshape(layer.n_out, layer.n_in)
        self.aw = np.abs(self.w)
        # every weight correctly rounded: the |a| ew terms fold into the others
        self.rounded = bool((self.ew <= 2 * _U * self.aw).all())
        self.b = b[:, None]
        self.ab = np.abs(self.b)
        self.eb = eb[:, None]
        # sum_j |w_ij| per row, rounded up: it bounds sum_j |w_ij| |v_j| by
        # this times max_j |v_j|, one product per entry instead of a matrix product
        self.row_l1 = np.array([_round_up(sum((abs(Fraction(v)) for v in row), Fraction(0)))
                                for row in self.w.tolist()], dtype=np.float64)[:, None]
        nonzero_w = self.aw[self.aw > 0]
        self.small_w = float(nonzero_w.min()) if nonzero_w.size else math.inf
        nonzero_b = self.ab[self.ab > 0]
        if nonzero_b.size and nonzero_b.min() < _SMALLEST:
            raise Undecided("values too close to the float underflow")
        n = layer.n_in + 1
        self.gamma = n * _U / (1 - n * _U)
        # the intercepts' constant terms of the bound (see _affine)
        self.b_err = self.eb * (1 + 2 * _U) + (2 * _U + 2 * self.gamma) * self.ab
        self.row_live = self.row_l1 > 0
        self.b_live = self.b_err > 0
        act = layer.activation
        self.relu = (act.kinks == (Fraction(0),) and act.slopes == (0, 1)
                     and act.intercepts == (0, 0))
        slopes = [_float_and_error([v]) for v in act.slopes]
        self.slopes = [(float(f[0]), float(e[0])) for f, e in slopes]


def _affine(f: np.ndarray, e: np.ndarray, layer: _LayerFloats, regions: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts side by side (``f = [a | c]``, one row per
    neuron, bounds ``e``) through ``W f + [0 | b]``.

    The bound is ``|error| <= e'|W| + |f| eW + gamma |f||W|`` (plus ``eb``);
    when every weight is correctly rounded (``eW <= 2u |W|``), the ``|f| eW``
    and ``e' eW`` terms are folded into the others:
    ``|f| eW <= 2u |f||W|`` and ``e eW <= 2u e|W|``.
    """
    af = np.abs(f)
    z = layer.w @ f
    z[:, regions:] += layer.b
    if layer.rounded:
        # |W| e' <= |W|_1 max_j e'_j per region (column), and likewise
        # |W||f| for the 2u |f||W| of the folded terms and the 2 gamma |f||W|
        # of the products' rounding: an outer product, no matrix product
        col_e = e.max(axis=0)
        col_f = af.max(axis=0)
        col = col_e * (1 + 2 * _U)
        col += (2 * _U + 2 * layer.gamma) * col_f
        err = layer.row_l1 * col
        err[:, regions:] += layer.b_err
        err *= _SAFE
        # exact zeros: a zero row of W (exact, as the weights are correctly
        # rounded) or a column of f that is exactly 0 gives an exact 0 (plus
        # b); every other entry gets the absolute slack that covers underflow
        slack = layer.row_live & ((col_e > 0) | (col_f > 0))
        slack[:, regions:] |= layer.b_live
    else:
        mag = layer.aw @ af
        mag[:, regions:] += layer.ab
        err = layer.aw @ e + np.abs(layer.ew) @ af + layer.ew @ e
        err[:, regions:] += layer.eb
        err += 2 * layer.gamma * mag
        # an entry whose terms all vanish exactly (mag = err = 0) is an exact
        # 0; far from underflow, a product is 0 only when a factor is, so
        # that is what mag = 0 means unless a product could have underflowed
        slack = err > 0     # err >= 0 and mag >= 0: err > 0 now iff either was
        if (not slack.all()
                and np.min(af, where=af > 0, initial=np.inf) * layer.small_w < _SMALLEST):
            raise Undecided("values too close to the float underflow")
        err *= _SAFE
    np.add(err, _TINY, out=err, where=slack)
    if not err.max(initial=0.0) < np.inf:   # also False for a nan; err >= |z|'s rounding,
        raise Undecided("forms beyond the float range")   # so an inf or nan in z shows here
    return z, err


def certified_count(net: Network, domain: Domain, output: int = 0) -> tuple[int, int]:
    """``(pieces, activation_regions)``, exactly, or :class:`Undecided`.

    >>> from pwl.network import Network
    >>> net = Network.sequential([([["0.1"], ["-0.3"]], ["0.05", "0.2"]),
    ...                           ([["1.5", "0.7"]], [0], "identity")])
    >>> certified_count(net, None)
    (3, 3)
    """
    # an overflow or invalid operation gives an inf or a nan, which the
    # bounds' finiteness checks turn into Undecided: no warnings needed
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _certified_count(net, domain, output)


def _certified_count(net: Network, domain: Domain, output: int) -> tuple[int, int]:
    layers = net.layers
    if domain is None:
        lo = hi = None
    else:
        lo, hi = domain
    # cuts: floats x~ with bounds ex, sorted and certified distinct
    xs = np.zeros(0)
    ex = np.zeros(0)
    ends = (_end(lo), _end(hi))
    # one row per neuron: slopes on the regions, then intercepts
    f = np.array([[1.0, 0.0]])
    e = np.zeros((1, 2))
    hidden_regions = 1
    # per cut: are the current layer's forms exactly the same on both sides?
    same = np.zeros(0, dtype=bool)
    floats = net.cache.get("certified")
    if floats is None:
        floats = net.cache["certified"] = [_LayerFloats(layer) for layer in layers]
    for k, layer in enumerate(floats):
        regions = xs.size + 1
        f, e = _affine(f, e, layer, regions)
        if k == len(layers) - 1:
            hidden_regions = regions
            break
        if not layers[k].activation.kinks:
            f, e = _scale(f, e, *layer.slopes[0])
            continue
        refined = _refine_compiled(xs, ex, f, e, ends, same)
        xs, ex, f, e, on, same = refined if refined is not None else _refine(xs, ex, f, e,
                                                                             ends, same)
        if layer.relu:
            f *= on
            e *= on
        else:
            f, e = _apply(f, e, on, layer.slopes)
        if same.size:
            # the same forms and pieces on both sides give the same outputs,
            # and so does a layer that is off on both sides (all exact zeros)
            on = on[:, :xs.size + 1]
            same &= (on[:, 1:] == on[:, :-1]).all(axis=0)
            if layer.relu:
                dead = ~on.any(axis=0)
                same |= dead[1:] & dead[:-1]
    regions = xs.size + 1
    return _pieces(net, output, xs, ex, f[output, :regions], e[output, :regions],
                   f[output, regions:], e[output, regions:], same, *ends), hidden_regions


def _scale(f: np.ndarray, e: np.ndarray, s: float, es: float) -> tuple[np.ndarray, np.ndarray]:
    """``s * f`` with its bound (``s`` within ``es`` of the exact slope)."""
    out = f * s
    err = (e * abs(s) + np.abs(f) * es + _U * np.abs(out)) * _SAFE
    return out, err


def _apply(f: np.ndarray, e: np.ndarray, on: np.ndarray, slopes) -> tuple[np.ndarray, np.ndarray]:
    """Each neuron's slope on its piece (0: below the kink, 1: above) times its form."""
    (s0, e0), (s1, e1) = slopes
    s = np.where(on, s1, s0)
    es = np.where(on, e1, e0)
    out = f * s
    err = (e * np.abs(s) + np.abs(f) * es + _U * np.abs(out)) * _SAFE
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


def _refine_compiled(xs, ex, f, e, ends, same):
    """:func:`_refine` by the compiled kernel (:mod:`pwl._jit`): the same
    float operations in the same order, hence the same decisions; None if
    the kernel is not at hand."""
    compiled = _jit.kernels(f.size // 2)
    if compiled is None:
        return None
    (lo, elo), (hi, ehi) = ends
    bounds = np.array([-math.inf if lo is None else lo[0], 0.0 if lo is None else elo[0],
                       math.inf if hi is None else hi[0], 0.0 if hi is None else ehi[0]])
    status, nx, nex, source, on, nf, ne, new_same = compiled.refine_certified(
        f, e, xs, ex, bounds, same, _SAFE, _U, _TINY)
    if status != _jit.OK:
        raise Undecided("a decision the float bounds cannot prove")
    return nx, nex, nf, ne, np.concatenate([on, on], axis=1), new_same


def _refine(xs, ex, f, e, ends, same):
    """Cut the regions where the pre-activations cross 0; all decisions proven.

    Returns the new cuts and bounds, the forms and bounds on the new regions
    (``[a | c]`` rows), on each neuron and new region whether it is above
    the kink (a boolean array laid out like the forms), and ``same`` (per
    cut: are the forms exactly equal on both sides?) on the new cuts, where
    a new cut, inside one old region, has the same forms on both sides."""
    lo, hi = ends
    n_regions = xs.size + 1
    za, zc = f[:, :n_regions], f[:, n_regions:]
    eza, ezc = e[:, :n_regions], e[:, n_regions:]
    left, eleft = _bounds(xs, ex, lo, False)
    right, eright = _bounds(xs, ex, hi, True)
    aa = np.abs(za)
    nonzero = aa > eza
    zero_slope = None
    if not nonzero.all():
        zero_slope = (za == 0) & (eza == 0)
        if not (zero_slope | nonzero).all():
            raise Undecided("a slope indistinguishable from 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.negative(zc)
        root /= za
        # |-c/a - root| <= (ec + |c/a| ea) / (|a| - ea), plus the division's rounding
        ar = np.abs(root)
        er = ar * eza
        er += ezc
        er /= aa - eza
        er *= _SAFE
        er += 2 * _U * ar
        er += _TINY
        # zero slopes: root and bound are inf or nan, so every test below is
        # False; the zero_slope terms decide those entries
        lower = root - er
        upper = root + er
        below = upper < left - eleft        # root left of the region
        above = lower > right + eright      # root right of the region
        inside = (lower > left + eleft) & (upper < right - eright)
    decided = below | above | inside
    if zero_slope is not None:
        decided |= zero_slope
    if not decided.all():
        raise Undecided("a root on a region's end")
    # on just right of the left end: for a root left of the region, rising;
    # for a root inside or right of it, falling
    on = (za > 0) == below
    if zero_slope is not None and zero_slope.any():
        # constant pre-activations: certified sign, or exactly zero (below the kink)
        if (zero_slope & ~((np.abs(zc) > ezc) | ((zc == 0) & (ezc == 0)))).any():
            raise Undecided("a constant indistinguishable from 0")
        on = np.where(zero_slope, zc > ezc, on)
    i, r = np.nonzero(inside)
    if r.size == 0:
        return xs, ex, f, e, np.concatenate([on, on], axis=1), same
    v, ev = root[i, r], er[i, r]
    order = np.argsort(v, kind="stable")
    r, i, v, ev = r[order], i[order], v[order], ev[order]
    step = r[1:] - r[:-1]
    if (step < 0).any():
        raise Undecided("roots out of region order")
    if ((step == 0) & (v[:-1] + ev[:-1] >= v[1:] - ev[1:])).any():
        raise Undecided("two roots too close to order")
    per_region = np.bincount(r, minlength=n_regions)
    cum = np.cumsum(per_region)
    total = n_regions + r.size
    old_pos = np.arange(n_regions - 1) + cum[:-1]
    new_pos = r + np.arange(r.size)
    nx = np.empty(total - 1)
    nex = np.empty(total - 1)
    nx[old_pos], nex[old_pos] = xs, ex
    nx[new_pos], nex[new_pos] = v, ev
    new_same = np.ones(total - 1, dtype=bool)
    new_same[old_pos] = same
    source = np.repeat(np.arange(n_regions), per_region + 1)
    # each root flips its neuron from the new region right of it to the end
    # of its old region (a neuron crosses 0 at most once per region)
    on = np.take(on, source, axis=1)
    flip_rows = new_pos + 1
    lengths = r + cum[r] - flip_rows + 1
    cells = int(lengths.sum())
    rows = np.arange(cells) + np.repeat(flip_rows - (np.cumsum(lengths) - lengths), lengths)
    on[np.repeat(i, lengths), rows] ^= True
    both = np.concatenate([source, source + n_regions])
    return (nx, nex, np.take(f, both, axis=1), np.take(e, both, axis=1),
            np.concatenate([on, on], axis=1), new_same)


def _pieces(net, output, xs, ex, a, ea, c, ec, same, lo, hi) -> int:
    """Pieces of the output: 1 + cuts where its form provably changes (and
    not where ``same`` says it is provably unchanged); cuts the bounds cannot
    settle are settled by exact forms on both sides."""
    if xs.size == 0:
        return 1
    da, dc = np.abs(a[1:] - a[:-1]), np.abs(c[1:] - c[:-1])
    differ = ((da > (ea[1:] + ea[:-1]) * _SAFE + 2 * _U * da)
              | (dc > (ec[1:] + ec[:-1]) * _SAFE + 2 * _U * dc))
    equal = same | ((a[1:] == a[:-1]) & (c[1:] == c[:-1])
                    & (ea[1:] == 0) & (ea[:-1] == 0) & (ec[1:] == 0) & (ec[:-1] == 0))
    unsure = np.nonzero(~differ & ~equal)[0]
    if unsure.size > 64:
        raise Undecided("too many output forms too close to compare")
    changes = int(differ.sum())
    if unsure.size:
        from .propagate import forms_at

        # the exact output forms on both sides of each unsure cut, from a
        # rational inside each of the two regions, all in one exact pass
        left, eleft = _bounds(xs, ex, lo, False)
        right, eright = _bounds(xs, ex, hi, True)
        points = []
        for k in unsure.tolist():
            points.append(_inside(left[k], eleft[k], right[k], eright[k]))
            points.append(_inside(left[k + 1], eleft[k + 1], right[k + 1], eright[k + 1]))
        fa, fc, _ = forms_at(net, points)
        fa, fc = fa[output], fc[output]
        changes += int(((fa[0::2] != fa[1::2]) | (fc[0::2] != fc[1::2])).sum())
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
