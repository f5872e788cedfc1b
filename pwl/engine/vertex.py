"""The certified route on wide layers: values at the partition's points
instead of forms on its regions.

A region's pre-activations are affine in ``x``; :mod:`pwl.engine.certified`
keeps them as slope and intercept per region (``2 R`` columns per layer).
Two values per region determine them just as well, and neighbouring
regions can share one: the partition's points (each cut, and the domain's
finite ends) carry the values there, ``R + 1`` columns on a bounded domain
(a ray's end at infinity is its slope, a column without the bias).  On wide
layers the product is nearly the whole cost, so this halves it.  The cut
then reads signs at points: a neuron has a root strictly inside a region
exactly when its signs at the region's two ends differ, so roots are
computed only where a sign changes, and their order follows from the
order of the roots (no sign is decided twice).

The points are floats.  A cut's exact value is a root, known only within
``ex`` of its float ``x``; the point's column holds the values at ``x``
itself of the affine pieces on both sides of the cut (they meet at the
exact cut, and differ at ``x`` by at most their slopes' difference times
``ex``, which the column's bound covers).  So positions are exact, and the
exact cuts enter only through their distance ``ex``.

Error analysis (``u = 2^-53``; bounds as in :mod:`pwl.engine.certified`)
------------------------------------------------------------------------
Every column ``v`` carries entry bounds ``e_iv`` and a column bound
``E_v`` (2-norm) from the layer's product (:func:`certified._affine`, with
certified spectral norms on every layer: the values know a short region's
slope only to their error over its width, so looser Frobenius bounds would
leave many output cuts open).

* **Signs at the exact ends.**  On the region between points ``p`` and
  ``q`` the piece's slope is at most
  ``sigma = (|z~_q - z~_p| (1 + 2u) + e_p + e_q) (1 + 4u) / (x_q - x_p)``,
  so its value at the exact cut is within ``e_p + sigma ex_p`` of ``z~_p``:
  ``|z~_p|`` above that proves the sign, ``z~ = 0`` with a zero margin is an
  exact zero, anything else is not proven.  A ray's margin uses its slope's
  bound.  A zero at one end of a region only (a root exactly on a cut) is
  not proven either.
* **A root inside a region** (signs of opposite signs at the exact ends,
  hence at the floats too) is at ``t = A / (A + B)`` of the way between the
  floats, ``A = |z_p|``, ``B = |z_q|``: a ratio of positive numbers, no
  cancellation.  ``t*`` lies between ``(A~ - e_p) / ((A~ - e_p) + (B~ + e_q))``
  and ``(A~ + e_p) / ((A~ + e_p) + (B~ - e_q))``, each computed in three
  roundings and widened by ``1 -+ 8u``.  On a ray from point ``p`` with
  slope ``d`` the root lies ``w = A / |d|`` away, bounded likewise.  The new
  cut's float is ``x = x_p + t dx``, within
  ``et dx (1 + 2u) + 3u (|x_p| + t dx)`` of the root.  Every root's interval
  must be apart from the others' in its region and from the region's ends'
  (else the layer goes to the forms route, below).
* **A new point's values** are the region's pre-activations at the new
  float: ``z = z_p + s (z_q - z_p)`` with ``s = fl((x - x_p) / dx)``, the
  exact share of the way within ``3u s``; by convexity the column errs by
  at most ``(1 - s) E_p + s E_q + 6u s (||dz|| + E_p + E_q) + 3u ||z||``
  (a ray: ``E_p + w E_d`` plus the roundings).  The root's own neuron is
  set to 0: on one side it is 0, on the other its value at the float, at
  most ``|z~_i| + e_i`` (its entry bound), which is added to the column's.
  Only column bounds are kept for new points; the next layer's product
  reads no more.
* **Signs at new points** follow from the order: a neuron keeps its sign
  up to its own root in the region and takes the other end's after it.
* **The relu** keeps the entries of positive sign with their bounds
  (column bound: the least of the column's and the kept entries' norm);
  the others are exact zeros.  A ray's slope keeps the neurons on at its
  infinity.
* **Output pieces.**  Across the cut between regions ``L`` and ``R`` an
  output's slope changes exactly when ``D = N_L W_R - N_R W_L`` is nonzero
  (``N``: the output's change across a region, ``W``: its width; a ray has
  ``N = d``, ``W = 1``), bounded from the values' bounds and the products'
  roundings (the widths are differences of floats).  ``D`` provably
  nonzero: the output changes.  Where the values' bounds over short
  regions leave ``D`` open, the slope's change itself decides
  (:func:`_slope_changes`): the two sides share every pattern but the
  cut's neuron's, so the output's slope jumps by
  ``W_L D_(L-1) ... W_(l+1) e_i |sigma_i|``, a product of one column per
  cut through the later layers with the patterns kept at the cut's point.
  What is still open goes to the certified route's own tiers (float64
  forms of the two regions, balls, exact forms).

Where a decision on points is not proven (an exact tie: a root on a cut,
equal roots, a slope exactly 0 at a root), the count goes back to the
layer where points began and goes on with forms (:func:`_back_to_forms`),
which settle the undecided regions locally as ever.  The cost of such a
decision is the layers done on points again on forms (about 1.5 times the
forms route's work on them), never a global exact count.  Points are taken
only where that is rare: networks whose products' rounding is not expected
to reach the decisions (:func:`certified._rounding_reach` at most
:data:`certified._BLOCKED_ABOVE`, where He-initialised networks begin to
escalate on forms too).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import _jit, certified as _c

if TYPE_CHECKING:       # pragma: no cover
    from .certified import _Run

__all__ = ["MIN_POINTS", "MIN_WIDTH", "applies", "vertex_layers"]

_U = _c._U
_SAFE = _c._SAFE
_TINY = _c._TINY

#: Layers with at least this many inputs are counted on points: there the
#: product dominates; on narrower ones the forms route's compiled kernels
#: cost less than the extra numpy passes.
MIN_WIDTH = 128


#: Points are taken where there are at least this many times as many as
#: the layer's inputs ``n``: on points every layer certifies its spectral
#: norm (a Gram matrix and a Cholesky factorisation, about the cost of a
#: product with ``n`` columns), which pays only where the product's
#: halving saves about as much.
MIN_POINTS = 0.5


def applies(run: "_Run") -> bool:
    """Whether the layers from the second on can go on points (only from
    the second: there every cut is the first layer's, whose slope change
    the output test reads, :func:`_slope_changes`): the hidden layers are
    all relu, the second has at least :data:`MIN_WIDTH` inputs,
    there are at least :data:`MIN_POINTS` times as many points (cuts and
    finite ends) as inputs, the points' intervals are apart, and the
    products' rounding is not expected to reach the decisions (the run
    does not need blocked products, :func:`certified._rounding_reach`)."""
    layers = run.floats
    n_in = layers[1].w.shape[1]
    if n_in < MIN_WIDTH or run.blocked or not all(lf.relu for lf in layers[1:-1]):
        return False
    points = run.xs.size + (run.ends[0] is not None) + (run.ends[1] is not None)
    if not points or points < MIN_POINTS * n_in:
        return False
    # the points' intervals apart (exact cuts closer than an ulp are not)
    x, ex = _Points(run).positions()
    return bool((x[1:] - ex[1:] > x[:-1] + ex[:-1]).all())


class _Points:
    """The partition as points: the cuts (kept by the run, sorted) with the
    domain's finite ends, and the rays' slopes as extra columns first."""

    def __init__(self, run: "_Run"):
        self.run = run
        # a domain has both its ends or none (the whole line); the code
        # below reads the two apart, as the regions' indices do
        self.nlo = self.nhi = int(run.ends[0] is not None)
        # columns: on the whole line the left ray's slope and the right
        # ray's, then the points
        self.left_ray, self.right_ray = (-1, -1) if self.nlo else (0, 1)
        self.nd = 2 - 2 * self.nlo
        # per cut: a bound-carrying |slope| of its neuron's pre-activation
        # where it crosses (nan where unknown), for the output's slope
        # changes (:func:`_slope_changes`); per layer on points: the
        # points' positions and which neurons are on there
        self.sig = np.zeros(0)
        self.esig = np.zeros(0)
        self.hist: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Every point's position and its bound, in order."""
        run = self.run
        parts, errs = [run.xs], [run.ex]
        lo_end, hi_end = run.ends
        if lo_end is not None:
            parts.insert(0, np.array([lo_end[0]]))
            errs.insert(0, np.array([lo_end[1]]))
        if hi_end is not None:
            parts.append(np.array([hi_end[0]]))
            errs.append(np.array([hi_end[1]]))
        return np.concatenate(parts), np.concatenate(errs)


def _convert(run: "_Run", pts: _Points, k0: int, f: np.ndarray, E: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Forms ``[a | c]`` on the regions (post-activation, column bounds
    ``E``) to values at the points and the rays' slopes, with column bounds.
    A point takes the forms of the region on its left (the first region for
    the left end), ``v = a x + c`` at its float ``x``, off from that piece by
    at most ``E_a |x| + E_c + 2u (||a|| |x| + ||v||)`` and from the piece on
    its right by at most ``(||a_L - a_R|| + E_aL + E_aR) ex`` more (the
    pieces meet at the exact cut, within ``ex`` of ``x``)."""
    regions = run.xs.size + 1
    x, ex = pts.positions()
    left = np.clip(np.arange(x.size) - pts.nlo, 0, regions - 1)
    right = np.clip(np.arange(x.size) - pts.nlo + 1, 0, regions - 1)
    a, c = f[:, left], f[:, regions + left]
    v = a * x + c
    na = _c._norm_up(a, axis=0)
    nv = _c._norm_up(v, axis=0)
    Ea, Ec = E[left], E[regions + left]
    jump = _c._norm_up(f[:, right] - a, axis=0) * (1 + 2 * _U) + Ea + E[right]
    Ev = (Ea * np.abs(x) + Ec + jump * ex + 2 * _U * (na * np.abs(x) + nv)) * _SAFE
    Ev += _TINY * math.sqrt(f.shape[0])
    cols = []
    bounds = []
    if not pts.nlo:
        cols.append(f[:, :1])
        bounds.append(E[:1])
    if not pts.nhi:
        cols.append(f[:, regions - 1:regions])
        bounds.append(E[regions - 1:regions])
    H = np.concatenate(cols + [v], axis=1)
    # a cut of the layer just done: both sides' forms are its region's,
    # times the pieces, so they differ only in the neurons whose root it
    # is; where that is its own neuron alone (no exact tie), that neuron is
    # on on one side only, with the pre-activation's slope
    C = run.xs.size
    pts.sig = np.full(C, np.nan)
    pts.esig = np.full(C, np.nan)
    mine = np.nonzero(run.origin_layer == k0 - 1)[0]
    if mine.size:
        changed = ((f[:, mine] != f[:, mine + 1])
                   | (f[:, regions + mine] != f[:, regions + mine + 1])).sum(axis=0)
        mine = mine[changed == 1]
    if mine.size:
        i = run.origin_neuron[mine]
        pts.sig[mine] = np.abs(f[i, mine] - f[i, mine + 1]) * (1 + 2 * _U)
        pts.esig[mine] = (E[mine] + E[mine + 1]) * _SAFE
    return H, np.concatenate(bounds + [Ev])


def _back_to_forms(run: "_Run", entry: tuple[Any, ...]) -> Any:
    """The layers from where points began, again on the forms route: taken
    when a decision on points is not proven (an exact tie), which the forms
    route settles locally.  The forms are the ones points began from, so
    nothing is lost in their bounds; the layers done on points are done
    again (at most half the forms route's work on them)."""
    checkpoint = run.checkpoint
    run._restore(entry)
    run.checkpoint = checkpoint
    run.points = False
    return run._layers()


def vertex_layers(run: "_Run", k0: int, f: np.ndarray, E: np.ndarray, same: np.ndarray) -> Any:
    """Layers ``k0`` to the output on points (module notes), from the
    post-activation forms ``f`` with column bounds ``E``; the count as
    :meth:`certified._Run._layers` returns it.  No guess of norms here
    (spectral norms throughout), so nothing to roll back to on points."""
    entry = run._snapshot(k0, f, np.zeros(0), E, same)
    try:
        return _layers(run, k0, f, E, same, entry)
    except _c.Undecided:
        # values beyond the float range (a cut far out, say), where forms
        # may still be within it
        return _back_to_forms(run, entry)


def _layers(run: "_Run", k0: int, f: np.ndarray, E: np.ndarray, same: np.ndarray,
            entry: tuple[Any, ...]) -> Any:
    """:func:`vertex_layers`' loop; ``entry``: the run's state where points began."""
    pts = _Points(run)
    H, E = _convert(run, pts, k0, f, E)
    layers = run.floats
    last = len(layers) - 1
    for k in range(k0, last + 1):
        # spectral norms throughout: the output's values know a region's
        # slope only to their error over its width (module notes), so the
        # Frobenius norm's looser bounds would leave many output cuts open
        z, ez, Ez, _ = _c._affine(H, E, layers[k], pts.nd, run.tails[k], True, run.blocked)
        if k == last:
            run.decisions.point_layers += 1
            pieces, joint = _pieces(run, pts, z, ez, same, last)
            return _c.CertifiedResult(pieces, joint, run.xs.size + 1, run.decisions.as_dict())
        got = _cut(run, pts, k, z, ez, Ez, same)
        if got is None:
            return _back_to_forms(run, entry)
        H, E, same = got
        run.decisions.point_layers += 1
        if run.progress is not None:
            run.progress(k, run.xs.size + 1)
    raise AssertionError("unreachable")  # pragma: no cover


# -- one layer's cut --------------------------------------------------------

def _ratio_bounds(A: np.ndarray, eA: np.ndarray, B: np.ndarray, eB: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``t~ = A / (A + B)`` and a bound on ``|t~ - t*|`` (module notes)."""
    t = A / (A + B)
    a_lo, a_hi = A - eA, A + eA
    b_lo, b_hi = B - eB, B + eB
    t_lo = a_lo / (a_lo + b_hi) * (1 - 8 * _U)
    t_hi = a_hi / (a_hi + b_lo) * (1 + 8 * _U)
    et = np.maximum(t - t_lo, t_hi - t) * _SAFE + _TINY
    return t, et


def _quotient_bounds(A: np.ndarray, eA: np.ndarray, D: np.ndarray, eD: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``w~ = A / D`` (both positive, ``D > eD``) and a bound on ``|w~ - w*|``."""
    w = A / D
    w_lo = (A - eA) / (D + eD) * (1 - 8 * _U)
    w_hi = (A + eA) / (D - eD) * (1 + 8 * _U)
    ew = np.maximum(w - w_lo, w_hi - w) * _SAFE + _TINY
    return w, ew


def _rays(pts: _Points, P: int, n_regions: int) -> list[tuple[int, int, float, int]]:
    """The rays as (slope column, column of their finite point, direction
    -1 (left) or 1 (right), region)."""
    out = []
    if not pts.nlo:
        out.append((pts.left_ray, pts.nd, -1.0, 0))
    if not pts.nhi:
        out.append((pts.right_ray, pts.nd + P - 1, 1.0, n_regions - 1))
    return out


def _decided(v: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signs (-1, 0, 1) that ``|v~ - v| <= thr`` proves, 0 for exact zeros;
    and where the sign is not proven."""
    pos = v > thr
    neg = v < -thr
    s = pos.astype(np.int8)
    s -= neg
    zero = (v == 0) & (thr == 0)
    return s, ~(pos | neg | zero)


def _point_signs(z: np.ndarray, ez: np.ndarray, Ez: np.ndarray, x: np.ndarray,
                 ex: np.ndarray, nd: int, left_ray: int, right_ray: int
                 ) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Every sign of a layer's cut on points, and its relu, or None if one
    is not proven: ``(s, cross, h, Eh)``.  ``s`` holds the signs at the
    exact cuts (point columns) and of the rays' slopes; ``cross`` marks
    the roots strictly between consecutive points (opposite signs at the
    exact ends); ``h`` the values after the relu (a ray's slope keeps the
    neurons on at its infinity) and ``Eh`` their column bounds.  A sign at
    a point is read with the margin ``(slope bound) * ex`` to the exact
    cut, on each side; a zero at one end of a region only (a root exactly
    on a cut) is not taken."""
    width, n_cols = z.shape
    compiled = _jit.kernels(z.size)
    if compiled is not None:
        status, s, cross, h, esq, emax = compiled.vertex_signs(
            z, ez, x, ex, nd, left_ray, right_ray, _SAFE, _U)
        if status != _jit.OK:
            return None
        Eh = np.minimum(Ez, _c._norm_from(esq, emax, width) * _SAFE)
        return s, cross, h, Eh
    P = n_cols - nd
    zp, ep = z[:, nd:], ez[:, nd:]
    s = np.empty((width, n_cols), dtype=np.int8)
    cross = np.zeros((width, max(P - 1, 0)), dtype=bool)
    if P > 1:
        dz = zp[:, 1:] - zp[:, :-1]
        dx = x[1:] - x[:-1]
        # a bound on each piece's slope: the margin from a point to the exact cut
        slope = (np.abs(dz) * (1 + 2 * _U) + ep[:, 1:] + ep[:, :-1]) * ((1 + 4 * _U) / dx)
        sL, uL = _decided(zp[:, :-1], (ep[:, :-1] + slope * ex[:-1]) * _SAFE)
        sR, uR = _decided(zp[:, 1:], (ep[:, 1:] + slope * ex[1:]) * _SAFE)
        if uL.any() or uR.any() or ((sL == 0) != (sR == 0)).any():
            return None
        s[:, nd:-1] = sL
        s[:, -1] = sR[:, -1]
        cross = (sL * sR) < 0
    on = np.empty((width, n_cols), dtype=bool)
    for ray, p, left in ((left_ray, nd, True), (right_ray, n_cols - 1, False)):
        if ray < 0:
            continue
        d, ed = z[:, ray], ez[:, ray]
        sd, ud = _decided(d, ed)
        sp, up = _decided(z[:, p], (ez[:, p] + (np.abs(d) + ed) * ex[p - nd]) * _SAFE)
        if ud.any() or up.any() or ((sp == 0) & (sd != 0)).any():
            return None
        if P == 1:
            s[:, p] = sp
        s[:, ray] = sd
        on[:, ray] = sd < 0 if left else sd > 0
    on[:, nd:] = s[:, nd:] > 0
    h = np.where(on, z, 0.0)
    Eh = np.minimum(Ez, _c._norm_up(np.where(on, ez, 0.0), axis=0) * _SAFE)
    return s, cross, h, Eh


def _cut(run: "_Run", pts: _Points, k: int, z: np.ndarray, ez: np.ndarray, Ez: np.ndarray,
         same: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Layer ``k``'s cut on points and its relu: the new partition's values
    at points (post-activation), their column bounds and ``same``; None,
    with nothing changed, where a decision is not proven."""
    width, n_cols = z.shape
    nd, nlo = pts.nd, pts.nlo
    P = n_cols - nd
    n_regions = run.xs.size + 1
    x, ex = pts.positions()
    got = _point_signs(z, ez, Ez, x, ex, nd, pts.left_ray, pts.right_ray)
    if got is None:
        return None
    s, cross, h_old, E_old = got
    sL, sR = s[:, nd:-1], s[:, nd + 1:]
    zp, ep = z[:, nd:], ez[:, nd:]
    rays = [(ray, p - nd, step, reg, s[:, ray], s[:, p])
            for ray, p, step, reg in _rays(pts, P, n_regions)]
    regs, neus, keys, ekeys = [], [], [], []
    # a root strictly inside a region: opposite signs at its exact ends
    ci, cq = np.nonzero(cross)
    if ci.size:
        t, et = _ratio_bounds(np.abs(zp[ci, cq]), ep[ci, cq], np.abs(zp[ci, cq + 1]),
                              ep[ci, cq + 1])
        regs.append(cq + 1 - nlo)
        neus.append(ci)
        keys.append(t)
        ekeys.append(et)
    for ray, p, step, reg, sd, sp in rays:
        # the value reaches 0 along the ray: to the left when the point's
        # value has the slope's sign, to the right when it has the other
        hit = np.nonzero((sd != 0) & (sp == (sd if step < 0 else -sd)))[0]
        if hit.size:
            w, ew = _quotient_bounds(np.abs(zp[hit, p]), ep[hit, p], np.abs(z[hit, ray]),
                                     ez[hit, ray])
            regs.append(np.full(hit.size, reg, dtype=np.int64))
            neus.append(hit)
            keys.append(step * w)      # increasing with the position
            ekeys.append(ew)
    if regs:
        region, neuron = np.concatenate(regs), np.concatenate(neus)
        key, ekey = np.concatenate(keys), np.concatenate(ekeys)
        order = np.lexsort((key, region))
        region, neuron, key, ekey = region[order], neuron[order], key[order], ekey[order]
    else:
        region = neuron = np.zeros(0, dtype=np.int64)
        key = ekey = np.zeros(0)
    new = _new_points(pts, z, ez, Ez, x, ex, sL, sR, rays, n_regions, region, neuron,
                      key, ekey)
    if new is None:
        return None
    run.decisions.float64 += width * n_cols
    return _splice(run, pts, k, s, h_old, E_old, same, new)


class _New:
    """A layer's new points, sorted by region and position: the region each
    cuts, the neuron whose root it is, the float position and the bound on
    the root's distance to it, the region's pre-activations there with
    column bounds, and the signs there (0 for the root's neuron)."""

    def __init__(self, region: np.ndarray, neuron: np.ndarray, width: int):
        size = region.size
        self.region, self.neuron = region, neuron
        self.x = np.zeros(size)
        self.ex = np.zeros(size)
        self.z = np.zeros((width, size))
        self.E = np.zeros(size)
        self.s = np.zeros((width, size), dtype=np.int8)
        self.sig = np.zeros(size)
        self.esig = np.zeros(size)


def _new_points(pts: _Points, z: np.ndarray, ez: np.ndarray, Ez: np.ndarray, x: np.ndarray,
                ex: np.ndarray, sL: np.ndarray, sR: np.ndarray,
                rays: list[Any], n_regions: int, region: np.ndarray, neuron: np.ndarray,
                key: np.ndarray, ekey: np.ndarray) -> Optional[_New]:
    """The new points (module notes), or None if two roots, or a root and
    an end, are too close to order.  Only column bounds are kept for the
    new points' values (the relu after them needs no more), and the entry
    bound of the root's own neuron."""
    width = z.shape[0]
    nd, nlo = pts.nd, pts.nlo
    new = _New(region, neuron, width)
    M = region.size
    if not M:
        return new
    zp, ep, Ep = z[:, nd:], ez[:, nd:], Ez[nd:]
    sqrt_n = math.sqrt(width)
    # positions first: the roots' intervals apart from each other and from
    # their regions' ends, or nothing more to do
    lend, rend = np.full(M, -np.inf), np.full(M, np.inf)
    finite = (region >= 1 - nlo) & (region <= n_regions - 2 + pts.nhi)
    fi = np.nonzero(finite)[0]
    q = region[fi] - 1 + nlo                 # each finite region's left point
    dxq = x[q + 1] - x[q]
    on_ray = {reg: np.nonzero(region == reg)[0] for _, _, _, reg, _, _ in rays}
    if fi.size:
        t, et = key[fi], ekey[fi]
        new.x[fi] = x[q] + t * dxq
        new.ex[fi] = (et * dxq * (1 + 2 * _U) + 3 * _U * (np.abs(x[q]) + t * dxq)) * _SAFE + _TINY
        lend[fi], rend[fi] = x[q] + ex[q], x[q + 1] - ex[q + 1]
    for ray, p, step, reg, sd, sp in rays:
        ri = on_ray[reg]
        if ri.size:
            w = np.abs(key[ri])
            new.x[ri] = x[p] + step * w
            new.ex[ri] = (ekey[ri] + 2 * _U * (abs(x[p]) + w)) * _SAFE + _TINY
            if step < 0:
                rend[ri] = x[p] - ex[p]
            else:
                lend[ri] = x[p] + ex[p]
    lower, upper = new.x - new.ex, new.x + new.ex
    same_region = region[1:] == region[:-1]
    if not ((lower > lend).all() and (upper < rend).all()
            and not (same_region & (upper[:-1] >= lower[1:])).any()):
        return None
    own = np.empty(M)
    beyond = np.empty(M, dtype=np.int8)
    if fi.size:
        # the region's pre-activations at the float point: its exact share
        # of the way, (xr - x_q) / dx, rounded thrice
        ts = np.clip((new.x[fi] - x[q]) / dxq, 0.0, 1.0)
        d = zp[:, q + 1] - zp[:, q]
        out = zp[:, q] + ts * d
        new.z[:, fi] = out
        El, Er = Ep[q], Ep[q + 1]
        new.E[fi] = ((1 - ts) * El + ts * Er + 6 * _U * ts * (_c._norm_up(d, axis=0) + El + Er)
                     + 3 * _U * _c._norm_up(out, axis=0)) * _SAFE + _TINY * sqrt_n
        i, cols = neuron[fi], np.arange(fi.size)
        el, er, di, zi = ep[i, q], ep[i, q + 1], d[i, cols], out[i, cols]
        own[fi] = np.abs(zi) + ((1 - ts) * el + ts * er + 6 * _U * ts * (np.abs(di) + el + er)
                                + 3 * _U * np.abs(zi)) * _SAFE + _TINY
        # each region's sign just right of its left end; past its root, its
        # neuron's sign at the right end
        a, b = sL[:, q], sR[:, q]
        new.s[:, fi] = np.where(a != 0, a, b)
        beyond[fi] = sR[i, q]
        # the root's neuron's slope: (A + B) / dx, no cancellation
        AB = np.abs(zp[i, q]) + np.abs(zp[i, q + 1])
        new.sig[fi] = AB / dxq
        new.esig[fi] = ((el + er) / dxq * (1 + 2 * _U) + 4 * _U * new.sig[fi]) * _SAFE
    for ray, p, step, reg, sd, sp in rays:
        ri = on_ray[reg]
        if not ri.size:
            continue
        ws = np.abs(new.x[ri] - x[p])
        d = z[:, ray:ray + 1]
        out = zp[:, p:p + 1] + (step * ws) * d
        new.z[:, ri] = out
        nd_ = float(_c._norm_up(d, axis=0)[0])
        new.E[ri] = (Ep[p] + ws * Ez[ray] + 2 * _U * ws * (nd_ + Ez[ray])
                     + 3 * _U * (ws * nd_ + _c._norm_up(out, axis=0))) * _SAFE + _TINY * sqrt_n
        i = neuron[ri]
        di, edi, zi = np.abs(z[i, ray]), ez[i, ray], out[i, np.arange(ri.size)]
        own[ri] = np.abs(zi) + (ep[i, p] + ws * edi + 2 * _U * ws * (di + edi)
                                + 3 * _U * (ws * di + np.abs(zi))) * _SAFE + _TINY
        if step < 0:
            # from minus infinity: the sign there, then the point's past the root
            new.s[:, ri] = np.where(sd != 0, -sd, sp)[:, None]
            beyond[ri] = sp[i]
        else:
            # from the point: its sign, then the slope's past the root
            new.s[:, ri] = np.where(sp != 0, sp, sd)[:, None]
            beyond[ri] = sd[i]
        # the root's neuron's slope: the ray's
        new.sig[ri] = di
        new.esig[ri] = edi
    # past its root, a neuron has the sign beyond it at the region's later points
    idx = np.arange(M)
    later = np.searchsorted(region, region, side="right") - idx - 1
    total = int(later.sum())
    if total:
        rows = np.repeat(neuron, later)
        starts = np.cumsum(later) - later
        cols = np.repeat(idx + 1, later) + (np.arange(total) - np.repeat(starts, later))
        new.s[rows, cols] = np.repeat(beyond, later)
    # the root's neuron: 0 here on one side, its small value on the other
    new.s[neuron, idx] = 0
    new.z[neuron, idx] = 0.0
    new.E += own
    return new


def _splice(run: "_Run", pts: _Points, k: int, s: np.ndarray, h_old: np.ndarray,
            E_old: np.ndarray, same: np.ndarray, new: _New
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The new partition: the run's cuts, their bounds, origins and exact
    values; the values at all points after the relu (the old points' from
    :func:`_point_signs`), and ``same``."""
    width, n_cols = s.shape
    nd, nlo = pts.nd, pts.nlo
    P = n_cols - nd
    C = run.xs.size
    n_regions = C + 1
    M = new.region.size
    per_region = np.bincount(new.region, minlength=n_regions)
    cum = np.cumsum(per_region)
    old_pos = np.arange(C) + cum[:-1]
    new_pos = new.region + np.arange(M)
    total = C + M
    nx, nex = np.empty(total), np.empty(total)
    nx[old_pos], nex[old_pos] = run.xs, run.ex
    nx[new_pos], nex[new_pos] = new.x, new.ex
    layer_of = np.empty(total, dtype=np.int64)
    neuron_of = np.empty(total, dtype=np.int64)
    layer_of[old_pos], neuron_of[old_pos] = run.origin_layer, run.origin_neuron
    layer_of[new_pos], neuron_of[new_pos] = k, new.neuron
    exact_cuts = {int(old_pos[c]): v for c, v in run.exact_cuts.items()}
    # the same forms on both sides of an old cut stay the same after the
    # relu unless a neuron is exactly 0 there (then it may change sides)
    same = same & ~(s[:, nd + nlo:nd + nlo + C] == 0).any(axis=0)
    on = s[:, nd:] > 0
    on_new = new.s > 0
    h_new, E_new = np.where(on_new, new.z, 0.0), new.E
    P_new = P + M
    H = np.empty((width, nd + P_new))
    E = np.empty(nd + P_new)
    H[:, :nd], E[:nd] = h_old[:, :nd], E_old[:nd]
    # old points' places: the ends stay first and last
    place = np.empty(P, dtype=np.int64)
    place[nlo:nlo + C] = nlo + old_pos
    if nlo:
        place[0] = 0
    if pts.nhi:
        place[P - 1] = P_new - 1
    H[:, nd + place], E[nd + place] = h_old[:, nd:], E_old[nd:]
    H[:, nd + nlo + new_pos], E[nd + nlo + new_pos] = h_new, E_new
    # a region off on both sides of a cut: the same (constant) forms after it
    dead_pt = np.empty(P_new, dtype=bool)
    dead_pt[place] = ~on.any(axis=0)
    dead_pt[nlo + new_pos] = False      # the root's neuron is on on one side
    dead = np.empty(total + 1, dtype=bool)
    dead[1 - nlo:total + pts.nhi] = dead_pt[:-1] & dead_pt[1:]
    if not nlo:
        dead[0] = dead_pt[0] and not h_old[:, pts.left_ray].any()
    if not pts.nhi:
        dead[total] = dead_pt[-1] and not h_old[:, pts.right_ray].any()
    new_same = np.zeros(total, dtype=bool)
    new_same[old_pos] = same
    new_same |= dead[:-1] & dead[1:]
    run.xs, run.ex = nx, nex
    run.origin_layer, run.origin_neuron = layer_of, neuron_of
    run.exact_cuts = exact_cuts
    sig, esig = np.empty(total), np.empty(total)
    sig[old_pos], esig[old_pos] = pts.sig, pts.esig
    sig[new_pos], esig[new_pos] = new.sig, new.esig
    pts.sig, pts.esig = sig, esig
    on_pts = np.empty((width, P_new), dtype=bool)
    on_pts[:, place] = on
    on_pts[:, nlo + new_pos] = on_new
    pts.hist[k] = (pts.positions()[0], on_pts)
    return H, E, new_same


def _pieces(run: "_Run", pts: _Points, z: np.ndarray, ez: np.ndarray, same: np.ndarray,
            last: int) -> tuple[tuple[int, ...], int]:
    """Pieces of every output and jointly, from the output's values at the
    points: a cut changes an output where ``D = N_L W_R - N_R W_L`` is
    provably nonzero (module notes)."""
    C = run.xs.size
    outputs = z.shape[0]
    if C == 0:
        return (1,) * outputs, 1
    nd = pts.nd
    x, _ = pts.positions()
    zp, ep = z[:, nd:], ez[:, nd:]
    N = zp[:, 1:] - zp[:, :-1]
    eN = ep[:, 1:] + ep[:, :-1] + 2 * _U * np.abs(N)
    W = x[1:] - x[:-1]
    eW = 2 * _U * np.abs(W)
    Ns, eNs, Ws, eWs = [N], [eN], [W], [eW]
    one, zero = np.ones(1), np.zeros(1)
    if not pts.nlo:
        r = pts.left_ray
        Ns.insert(0, z[:, r:r + 1])
        eNs.insert(0, ez[:, r:r + 1])
        Ws.insert(0, one)
        eWs.insert(0, zero)
    if not pts.nhi:
        r = pts.right_ray
        Ns.append(z[:, r:r + 1])
        eNs.append(ez[:, r:r + 1])
        Ws.append(one)
        eWs.append(zero)
    Na, eNa = np.concatenate(Ns, axis=1), np.concatenate(eNs, axis=1)
    Wa, eWa = np.concatenate(Ws), np.concatenate(eWs)
    NL, NR, eNL, eNR = Na[:, :-1], Na[:, 1:], eNa[:, :-1], eNa[:, 1:]
    WL, WR, eWL, eWR = Wa[:-1], Wa[1:], eWa[:-1], eWa[1:]
    p1, p2 = NL * WR, NR * WL
    D = p1 - p2
    bound = ((eNL * (WR + eWR) + np.abs(NL) * eWR + eNR * (WL + eWL) + np.abs(NR) * eWL)
             * _SAFE + 3 * _U * (np.abs(p1) + np.abs(p2)) + _TINY)
    differ = np.abs(D) > bound
    equal = np.broadcast_to(same[None, :], differ.shape)
    unsure = ~differ & ~equal
    cuts = np.nonzero(unsure.any(axis=0))[0]
    if cuts.size:
        _slope_changes(run, pts, cuts, unsure, differ, last)
    return run._settle_outputs(differ, unsure, last)


def _slope_changes(run: "_Run", pts: _Points, cuts: np.ndarray, unsure: np.ndarray,
                   differ: np.ndarray, last: int) -> None:
    """Settles unsure output cuts (in place) from the change of the
    output's slope across them.  The two regions at a cut share their
    pattern but for the cut's own neuron ``i`` of layer ``l``, whose slope
    jumps by ``|sigma|`` (its pre-activation's slope there); the output's
    slope then jumps by ``W_L D_(L-1) ... D_(l+1) W_(l+1) e_i |sigma|``,
    products with the patterns at the cut's point, bounded as
    :func:`certified._affine` bounds a layer.  The output changes where
    that jump is provably nonzero and not where it is an exact zero."""
    layer_of = run.origin_layer[cuts]
    for l in np.unique(layer_of).tolist():
        group = cuts[(layer_of == l) & np.isfinite(pts.sig[cuts])]
        if not group.size or any(j not in pts.hist for j in range(l + 1, last)):
            continue
        nxt = run.floats[l + 1]
        w = nxt.w[:, run.origin_neuron[group]]
        sig, esig = pts.sig[group], pts.esig[group]
        dz = w * sig
        # a rounded layer's weights err by at most ||dW||_F per column as well
        wrong = nxt.dfro * (sig + esig)
        ez = (np.abs(w) * esig + wrong + _U * np.abs(dz)) * _SAFE
        Ez = (_c._norm_up(w, axis=0) * esig + wrong + _U * _c._norm_up(dz, axis=0)) * _SAFE
        x = run.xs[group]
        m = group.size
        dh, Eh = dz, Ez
        for j in range(l + 1, last + 1):
            if j > l + 1:
                dz, ez, Ez, _ = _c._affine(dh, Eh, run.floats[j], m, run.tails[j], True, True)
            if j == last:
                break
            # every cut is a point from its layer on, at the same float
            xpos, on_pts = pts.hist[j]
            on = on_pts[:, np.searchsorted(xpos, x)]
            dh = np.where(on, dz, 0.0)
            Eh = np.minimum(Ez, _c._norm_up(np.where(on, ez, 0.0), axis=0) * _SAFE)
        for t, cut in enumerate(group.tolist()):
            for o in np.nonzero(unsure[:, cut])[0].tolist():
                if abs(dz[o, t]) > ez[o, t]:
                    differ[o, cut] = True
                elif dz[o, t] == 0 and ez[o, t] == 0:
                    differ[o, cut] = False
                else:
                    continue
                unsure[o, cut] = False
