"""Cutting a convex polygon layer by layer: the planar engine's hot path.

On each region of the partition after layers ``0 .. k-1`` every neuron of
layer ``k`` is an affine form ``a x + b y + c``; the layer cuts the region
by the lines where these forms cross their activation's kinks, one line at
a time, as the one-input engine cuts intervals at roots.  Polygons are held
in numpy arrays (corners in one flat array, each polygon a slice), never as
a Python object per region.

Corners are homogeneous points ``(X, Y, W)`` with ``W > 0``: the cross
product of the two lines through the corner.  The sign of a form at a
corner is the sign of ``a X + b Y + c W``, a sum of three products of
numbers that come from the weights, not from earlier corners, so errors do
not compound from cut to cut.

Arithmetic tiers (per decision, never per network):

* **exact in float64**: a form or a corner whose error bound is 0 is an
  integer below 2^52 held exactly (integer weights); the sign of a sum of
  products below 2^52 of such integers is read off the float result;
* **certified float64**: otherwise every form carries a rigorous bound on
  its coefficients' error (from the matrix products' rounding, ``gamma_n``
  of Higham's *Accuracy and Stability*, Thm. 3.5), every corner a bound on
  its coordinates' error, and a sign is taken only when the value exceeds
  its bound;
* **exact rationals** (:mod:`pwl.plane.exact`) for the rest: the region's
  exact forms from its activation pattern, the corner from its two lines.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from ..errors import PWLValueError
from ..values.network import Layer, Network
from .domain import Polygon
from .exact import ExactPlane, RowTable

__all__ = ["planar_run", "Raw"]

U = 2.0**-53
#: computed bounds are rounded themselves: inflate them by far more than
#: the few roundings made in computing them
SAFE = 1.0 + 2.0**-20
TINY = 2.0**-1000
#: integers below this stay exact through the sums of products made here
INT_EXACT = 2.0**52
#: polygons per batch pushed through the next layer together (times the width)
CHUNK_CELLS = 2**21


def _gamma(n: int) -> float:
    return n * U / (1 - n * U)


# columns of the corner array: the corner (homogeneous X, Y, W with W > 0, a
# bound EP on their errors, the ids K1 < K2 of its two lines), then the side
# from it to the next corner (its line a x + b y + c = 0 with a bound LE on
# the coefficients' errors, the line's id LAB, and SG = +1 or -1 for the
# side of that line the polygon lies on, 0 on the domain's boundary)
X, Y, W, EP, K1, K2, LA, LB, LC, LE, LAB, SG = range(12)
NCOL = 12


class Batch:
    """Polygons as slots into one corner array: polygon ``p`` has corners
    ``cr[ps[p] : ps[p] + pc[p]]`` in counter-clockwise order.  A cut
    polygon's positive half takes its slot, the negative half a new slot;
    the corner array only grows (halves are appended), and is compacted when
    most of it is no longer used.  Ids are exact in float64 (below 2^53)."""

    __slots__ = ("cr", "nc", "ps", "pc", "prow", "loc", "pat", "box", "origin")

    def __init__(self, cr: np.ndarray, ps: np.ndarray, pc: np.ndarray, prow: np.ndarray,
                 loc: np.ndarray, pat: np.ndarray, box: np.ndarray):
        self.cr = cr
        self.nc = len(cr)
        self.ps = ps
        self.pc = pc
        self.prow = prow     # the region row whose forms hold on the polygon
        self.loc = loc       # that row's index into the batch's form arrays
        self.pat = pat       # pieces of the current layer's neurons so far
        self.box = box       # x0, x1, y0, y1 of the float corners, and a bound on
                             # their distance to the exact corners
        self.origin = np.arange(len(ps))   # the polygon each descends from in this layer

    @property
    def size(self) -> int:
        return len(self.ps)

    def append(self, rows: np.ndarray) -> int:
        """Append corners; the index of the first."""
        m = len(rows)
        if self.nc + m > len(self.cr):
            live = int(self.pc.sum())
            if self.nc > 2 * live + 1024:
                self.compact_in_place()
            if self.nc + m > len(self.cr):
                grown = np.empty((max(2 * len(self.cr), self.nc + m), NCOL))
                grown[:self.nc] = self.cr[:self.nc]
                self.cr = grown
        at = self.nc
        self.cr[at:at + m] = rows
        self.nc += m
        return at

    def corner_index(self, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The corners of polygons ``polys`` in order, and where each polygon's begin."""
        cc = self.pc[polys]
        offs = np.zeros(len(polys), dtype=np.int64)
        np.cumsum(cc[:-1], out=offs[1:])
        idx = np.repeat(self.ps[polys] - offs, cc) + np.arange(int(cc.sum()))
        return idx, offs

    def compact_in_place(self) -> None:
        idx, offs = self.corner_index(np.arange(self.size))
        self.cr = self.cr[idx]
        self.nc = len(idx)
        self.ps = offs

    def polygons(self, p0: int, p1: int) -> "Batch":
        """Polygons ``p0 .. p1 - 1`` in a new batch with compact corners."""
        sel = np.arange(p0, p1)
        idx, offs = self.corner_index(sel)
        return Batch(self.cr[idx], offs, self.pc[p0:p1].copy(), self.prow[p0:p1].copy(),
                     self.loc[p0:p1], self.pat[p0:p1], self.box[p0:p1].copy())


class Flat:
    """Polygons in one flat corner array (``start``: offsets), for reading."""

    def __init__(self, cr: np.ndarray, counts: np.ndarray, prow: np.ndarray):
        self.cr = cr
        self.start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.start[1:])
        self.prow = prow
        self.X, self.Y, self.W, self.EP = cr[:, X], cr[:, Y], cr[:, W], cr[:, EP]
        self.K1, self.K2 = cr[:, K1].astype(np.int64), cr[:, K2].astype(np.int64)
        self.LA, self.LB, self.LC, self.LE = cr[:, LA], cr[:, LB], cr[:, LC], cr[:, LE]
        self.LAB, self.SG = cr[:, LAB].astype(np.int64), cr[:, SG].astype(np.int8)

    @property
    def size(self) -> int:
        return len(self.start) - 1


@dataclass
class Raw:
    """The engine's product, before vertices and pieces are derived."""

    batch: Flat
    out: np.ndarray          # regions x outputs x 3: the outputs' forms, float64
    out_err: np.ndarray      # regions x outputs: bound on their coefficients' errors
    exact: ExactPlane
    polygon: Polygon
    layer_regions: list[int] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)


def _float_entries(values: Sequence[Fraction]) -> tuple[np.ndarray, np.ndarray]:
    """Floats nearest exact values, and bounds on the errors (0 for integers
    below 2^52 held exactly, a positive bound otherwise)."""
    f = np.array([float(v) for v in values], dtype=np.float64)
    err = np.array([0.0 if Fraction(x) == v else 2 * U * abs(x) + TINY
                    for v, x in zip(values, f.tolist())])
    return f, err


class _FloatLayer:
    """A layer's weights in float64 with entrywise error bounds."""

    def __init__(self, layer: Layer):
        if layer.floats is not None:
            w, b = layer.floats
            self.w = np.asarray(w, dtype=np.float64)
            self.b = np.asarray(b, dtype=np.float64)
            self.ew = np.zeros_like(self.w)
            self.eb = np.zeros_like(self.b)
        else:
            flat = [x for row in layer.weights for x in row]
            w, ew = _float_entries(flat)
            self.w, self.ew = w.reshape(layer.n_out, layer.n_in), ew.reshape(layer.n_out,
                                                                               layer.n_in)
            self.b, self.eb = _float_entries(list(layer.bias))
        self.exact_floats = bool(self.ew.max(initial=0.0) == 0 and self.eb.max(initial=0.0) == 0)
        # integers below 2^52, held exactly: forms stay integers (error bound 0)
        self.integral = bool(self.exact_floats and np.all(self.w == np.rint(self.w))
                             and np.all(self.b == np.rint(self.b))
                             and np.abs(self.w).max() < INT_EXACT
                             and np.abs(self.b).max(initial=0) < INT_EXACT)
        self.aw = np.abs(self.w)
        self.ab = np.abs(self.b)
        act = layer.activation
        self.kinks = [float(t) for t in act.kinks]
        self.kink_err = [0.0 if Fraction(float(t)) == t else 2 * U * abs(float(t)) + TINY
                         for t in act.kinks]
        self.slopes = np.array([float(s) for s in act.slopes])
        self.icpts = np.array([float(t) for t in act.intercepts])
        self.slope_err = np.array([0.0 if Fraction(float(s)) == s else 2 * U * abs(float(s))
                                   + TINY for s in act.slopes])
        self.icpt_err = np.array([0.0 if (t.denominator == 1 and abs(t) < INT_EXACT) else
                                  2 * U * abs(float(t)) + TINY for t in act.intercepts])
        # the post-activation stays integral and exact: slopes and intercepts integers
        self.act_integral = all(s.denominator == 1 for s in act.slopes) and \
            all(t.denominator == 1 for t in act.intercepts)
        self.relu = act.is_relu


def _absmax3(H: np.ndarray) -> np.ndarray:
    """``max(|a|, |b|, |c|)`` of forms held as ``(regions, 3, neurons)``."""
    return np.maximum(np.maximum(np.abs(H[:, 0]), np.abs(H[:, 1])), np.abs(H[:, 2]))


def _activate(fl: _FloatLayer, F: np.ndarray, E: np.ndarray, loc: np.ndarray,
              pat: np.ndarray, absF: Optional[np.ndarray] = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The post-activation forms ``s_p F + t_p`` on each polygon, bounds on
    their errors, and ``max(|a|, |b|, |c|)`` of each.  Forms are
    ``(regions, 3, neurons)``: rows ``a``, ``b``, ``c``."""
    if fl.relu:
        # slopes 0 and 1, intercepts 0: a mask, exact
        on = pat.astype(np.float64)
        if absF is None:
            absF = _absmax3(F)
        H = np.take(F, loc, axis=0)
        H *= on[:, None, :]
        EH = np.take(E, loc, axis=0)
        EH *= on
        AH = np.take(absF, loc, axis=0)
        AH *= on
        return H, EH, AH
    s = fl.slopes[pat]
    Fl = F[loc]
    El = E[loc]
    H = Fl * s[:, None, :]
    H[:, 2] += fl.icpts[pat]
    EH = np.abs(s) * El + fl.slope_err[pat] * (_absmax3(Fl) + El) + fl.icpt_err[pat]
    if not fl.act_integral:
        EH = EH + 2 * U * _absmax3(H) + TINY
    return H, EH, _absmax3(H)


def _next_forms(fl: _FloatLayer, H: np.ndarray, EH: np.ndarray,
                absH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W H + b`` for every region at once, and bounds on its errors:
    ``|W~| EH`` (errors carried), ``eW (|H| + EH) + eb`` (weights not
    floats) and ``gamma_(n+2) (|W~| |H| + |b|)`` for the products' rounding
    (Higham, Thm. 3.5; any summation order)."""
    n = fl.w.shape[1]
    R = H.shape[0]
    F = (H.reshape(R * 3, n) @ fl.w.T).reshape(R, 3, -1)
    F[:, 2] += fl.b
    gamma = _gamma(n + 2)
    E = ((EH + gamma * absH) @ fl.aw.T + gamma * fl.ab) * SAFE
    if not fl.exact_floats:
        E += ((absH + EH) @ fl.ew.T + fl.eb) * SAFE
    if fl.integral:
        mag = absH @ fl.aw.T + fl.ab
        row_exact = (EH.max(axis=1) == 0) & np.all(H == np.rint(H), axis=(1, 2))
        exact = row_exact[:, None] & (mag < INT_EXACT)
        E = np.where(exact, 0.0, E + TINY)
    else:
        E += TINY
    bad = ~(np.isfinite(F[:, 0]) & np.isfinite(F[:, 1]) & np.isfinite(F[:, 2]) & np.isfinite(E))
    if bad.any():
        E[bad] = np.inf
    return F, E


def _boxes(X: np.ndarray, Y: np.ndarray, W: np.ndarray, EP: np.ndarray,
           first: np.ndarray) -> np.ndarray:
    """Bounding boxes of polygons (corners from ``first[p]`` on), enlarged by a
    bound on the distance of the float corners to the exact ones."""
    x, y = X / W, Y / W
    den = W - EP
    err = np.where(den > 0, (EP + np.maximum(np.abs(x), np.abs(y)) * EP) / den, np.inf) \
        + 2 * U * np.maximum(np.abs(x), np.abs(y))
    box = np.empty((len(first), 5))
    box[:, 0] = np.minimum.reduceat(x, first)
    box[:, 1] = np.maximum.reduceat(x, first)
    box[:, 2] = np.minimum.reduceat(y, first)
    box[:, 3] = np.maximum.reduceat(y, first)
    box[:, 4] = np.maximum.reduceat(err, first) * SAFE + TINY
    box[~np.isfinite(box).all(axis=1), 4] = np.inf
    return box


def _cross_product(a1: np.ndarray, b1: np.ndarray, c1: np.ndarray, e1: np.ndarray,
                   a2: np.ndarray, b2: np.ndarray, c2: np.ndarray, e2: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Homogeneous intersection of two lines with a bound on each coordinate's error."""
    X = b1 * c2 - c1 * b2
    Y = c1 * a2 - a1 * c2
    W = a1 * b2 - b1 * a2
    s1 = np.abs(a1) + np.abs(b1) + np.abs(c1)
    s2 = np.abs(a2) + np.abs(b2) + np.abs(c2)
    mag = s1 * s2
    ep = (e1 * s2 + e2 * s1 + 2 * e1 * e2 + _gamma(2) * mag) * SAFE
    ep = np.where((e1 == 0) & (e2 == 0) & (mag < INT_EXACT), 0.0, ep + TINY)
    ep = np.where(np.isfinite(ep) & np.isfinite(X) & np.isfinite(Y) & np.isfinite(W),
                  ep, np.inf)
    return X, Y, W, ep


def box_test(box: np.ndarray, fa: np.ndarray, fb: np.ndarray, fc: np.ndarray,
             fe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For polygons in boxes ``box`` and forms ``fa x + fb y + fc`` (errors
    within ``fe``): whether the boxes prove the sign on the whole polygon,
    and whether it is positive.  Broadcasts: ``box`` is ``(R, 5)``; the
    forms ``(R,)`` or ``(R, n)`` (then ``box`` is broadcast along ``n``)."""
    if fa.ndim == 2:
        box = box[:, :, None]
    cx = 0.5 * (box[:, 0] + box[:, 1])
    cy = 0.5 * (box[:, 2] + box[:, 3])
    hx = 0.5 * (box[:, 1] - box[:, 0]) * (1 + 4 * U) + U * np.abs(cx) + box[:, 4]
    hy = 0.5 * (box[:, 3] - box[:, 2]) * (1 + 4 * U) + U * np.abs(cy) + box[:, 4]
    v = fa * cx + fb * cy + fc
    ra, rb = np.abs(fa), np.abs(fb)
    # |f(q) - fl(f(c))| <= |a| hx + |b| hy + e (|q|_1 + 1) + rounding, for q in the box
    rad = (ra * hx + rb * hy + fe * (np.abs(cx) + np.abs(cy) + hx + hy + 1)
           + _gamma(4) * (ra * np.abs(cx) + rb * np.abs(cy) + np.abs(fc) + ra * hx
                          + rb * hy)) * SAFE + TINY
    sure = np.abs(v) > rad
    return sure, sure & (v > 0)


class _Cutter:
    def __init__(self, exact: ExactPlane):
        self.exact = exact
        self.float_decisions = 0
        self.exact_decisions = 0

    def signs(self, b: Batch, idx: np.ndarray, pid: np.ndarray, fa: np.ndarray,
              fb: np.ndarray, fc: np.ndarray, fe: np.ndarray, lid: np.ndarray) -> np.ndarray:
        """Signs of each polygon's form at corners ``idx`` (of polygons ``pid``)."""
        a, bb, c, e = fa[pid], fb[pid], fc[pid], fe[pid]
        cr = b.cr[idx]
        PX, PY, PW, PE = cr[:, X], cr[:, Y], cr[:, W], cr[:, EP]
        ax, by, cw = a * PX, bb * PY, c * PW
        v = ax + by + cw
        mag = np.abs(ax) + np.abs(by) + np.abs(cw)
        # |a X + b Y + c W - exact| <= e |P|_1 + EP |f|_1 + 3 e EP + gamma_3 sum |terms|
        bound = (e * (np.abs(PX) + np.abs(PY) + np.abs(PW))
                 + PE * (np.abs(a) + np.abs(bb) + np.abs(c)) + 3 * e * PE
                 + _gamma(3) * mag) * SAFE
        exact0 = (e == 0) & (PE == 0) & (mag < INT_EXACT)
        decided = exact0 | (np.abs(v) > bound + TINY)
        s = np.sign(v).astype(np.int8)
        undecided = np.flatnonzero(~decided)
        self.float_decisions += len(v) - len(undecided)
        if len(undecided):
            self.exact_decisions += len(undecided)
            ex = self.exact
            lids = lid[pid[undecided]].tolist()
            k1 = cr[undecided, K1].tolist()
            k2 = cr[undecided, K2].tolist()
            s[undecided] = [ex.sign(int(l_), int(p), int(q)) for l_, p, q in zip(lids, k1, k2)]
        return s

    def cut(self, b: Batch, cand: np.ndarray, fa: np.ndarray, fb: np.ndarray,
            fc: np.ndarray, fe: np.ndarray, lid: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Cut the polygons ``cand`` of ``b`` (in place) by their lines
        ``fa x + fb y + fc = 0`` (ids ``lid``; arrays aligned with ``cand``);
        ``pos`` holds, for every polygon, whether the form is positive on it
        (settled for those outside ``cand``).  Returns it for the polygons
        after the cut."""
        # polygons proven on one side by their own boxes: |f(centre)| beyond
        # the form's variation over the box plus every error
        sure, above = box_test(b.box[cand], fa, fb, fc, fe)
        pos[cand[sure]] = above[sure]
        self.float_decisions += int(sure.sum())
        keep = np.flatnonzero(~sure)
        if len(keep) == 0:
            return pos
        cand = cand[keep]
        fa, fb, fc, fe, lid = fa[keep], fb[keep], fc[keep], fe[keep], lid[keep]
        idx, offs = b.corner_index(cand)
        cc = b.pc[cand]
        pid_sub = np.repeat(np.arange(len(cand)), cc)
        s_sub = self.signs(b, idx, pid_sub, fa, fb, fc, fe, lid)
        pos_c = np.logical_or.reduceat(s_sub > 0, offs)
        neg_c = np.logical_or.reduceat(s_sub < 0, offs)
        pos[cand] = pos_c
        cutc = pos_c & neg_c
        if not cutc.any():
            return pos
        cut_ids = cand[cutc]
        # the cut polygons' corners, their signs, and the next corner's
        sub = np.flatnonzero(np.repeat(cutc, cc))
        ck = cc[cutc]
        koffs = np.zeros(len(ck), dtype=np.int64)
        np.cumsum(ck[:-1], out=koffs[1:])
        ci = idx[sub]
        si = s_sub[sub]
        nloc = np.arange(1, len(sub) + 1)
        nloc[koffs + ck - 1] = koffs
        sn = si[nloc]
        cross = (si.astype(np.int16) * sn) < 0
        cp = np.repeat(np.flatnonzero(cutc), ck)     # positions in cand
        crc = b.cr[ci]
        # the line's form and id on each corner's polygon
        la, lb, lc, le, ll = fa[cp], fb[cp], fc[cp], fe[cp], lid[cp]
        # new corners where a side crosses the line: cross products with the side's line
        xi = np.flatnonzero(cross)
        g = crc[xi]
        PX, PY, PW, PE = _cross_product(la[xi], lb[xi], lc[xi], le[xi],
                                        g[:, LA], g[:, LB], g[:, LC], g[:, LE])
        wsign = np.sign(PW)
        unsure = np.flatnonzero(~((np.abs(PW) > PE) | ((PE == 0) & (PW != 0))))
        if len(unsure):
            self.exact_decisions += len(unsure)
            wsign[unsure] = [self.exact.w_sign(int(ll[xi[u]]), int(g[u, LAB])) for u in unsure]
        m = len(ci)
        # item 2i: corner ci[i]; item 2i+1: the crossing on side ci[i]
        items = np.empty((2 * m, NCOL))
        items[0::2] = crc
        items[1::2, LA:] = crc[:, LA:]
        new = items[2 * xi + 1]
        new[:, X], new[:, Y], new[:, W], new[:, EP] = PX * wsign, PY * wsign, PW * wsign, PE
        new[:, K1] = np.minimum(ll[xi], g[:, LAB])
        new[:, K2] = np.maximum(ll[xi], g[:, LAB])
        items[2 * xi + 1] = new
        line = np.stack([la, lb, lc, le, ll.astype(np.float64)], axis=1)
        halves = []
        for side in (1, -1):
            keep_items = np.empty(2 * m, dtype=bool)
            keep_items[1::2] = cross
            on_line = np.empty(2 * m, dtype=bool)
            if side == 1:
                keep_items[0::2] = si >= 0
                on_line[0::2] = (si == 0) & (sn < 0)
                on_line[1::2] = si > 0
            else:
                keep_items[0::2] = si <= 0
                on_line[0::2] = (si == 0) & (sn > 0)
                on_line[1::2] = si < 0
            sel = np.flatnonzero(keep_items)
            half = items[sel]
            oi = np.flatnonzero(on_line[sel])
            half[oi, LA:LAB + 1] = line[sel[oi] // 2]
            half[oi, SG] = side
            hc = np.bincount(sel // 2, minlength=m)
            counts = np.add.reduceat(hc, koffs)
            hfirst = np.zeros(len(counts), dtype=np.int64)
            np.cumsum(counts[:-1], out=hfirst[1:])
            halves.append((half, counts, hfirst))
        (hp, cpos, fpos), (hn, cneg, fneg) = halves
        both = np.concatenate([hp, hn])
        at = b.append(both)
        boxes = _boxes(both[:, X], both[:, Y], both[:, W], both[:, EP],
                       np.concatenate([fpos, fneg + len(hp)]))
        bp, bn = boxes[:len(fpos)], boxes[len(fpos):]
        b.ps[cut_ids] = at + fpos
        b.pc[cut_ids] = cpos
        b.box[cut_ids] = bp
        b.ps = np.concatenate([b.ps, at + len(hp) + fneg])
        b.pc = np.concatenate([b.pc, cneg])
        b.box = np.concatenate([b.box, bn])
        b.prow = np.concatenate([b.prow, b.prow[cut_ids]])
        b.loc = np.concatenate([b.loc, b.loc[cut_ids]])
        b.pat = np.concatenate([b.pat, b.pat[cut_ids]])
        b.origin = np.concatenate([b.origin, b.origin[cut_ids]])
        pos[cut_ids] = True
        return np.concatenate([pos, np.zeros(len(cut_ids), dtype=bool)])


def _root(polygon: Polygon, exact: ExactPlane, width0: int) -> Batch:
    n = len(polygon.vertices)
    xs, ys, ws, eps = [], [], [], []
    for x, y in polygon.vertices:
        d = lcm(x.denominator, y.denominator)
        hx, hy = x * d, y * d
        if max(abs(hx), abs(hy), Fraction(d)) < INT_EXACT:
            xs.append(float(hx)); ys.append(float(hy)); ws.append(float(d)); eps.append(0.0)
        else:
            xs.append(float(x)); ys.append(float(y)); ws.append(1.0)
            eps.append(2 * U * max(abs(float(x)), abs(float(y))) + TINY)
    la, lb, lc, le = [], [], [], []
    for a, b, c in exact._sides:
        d = lcm(a.denominator, b.denominator, c.denominator)
        ia, ib, ic = a * d, b * d, c * d
        if max(abs(ia), abs(ib), abs(ic)) < INT_EXACT:
            la.append(float(ia)); lb.append(float(ib)); lc.append(float(ic)); le.append(0.0)
        else:
            g = max(abs(ia), abs(ib), abs(ic))
            fa, fb, fc = float(ia / g), float(ib / g), float(ic / g)
            la.append(fa); lb.append(fb); lc.append(fc)
            le.append(2 * U + TINY)
    ids = np.arange(n)
    k_prev = -((ids - 1) % n + 1)
    k_here = -(ids + 1)
    cr = np.zeros((n, NCOL))
    cr[:, X], cr[:, Y], cr[:, W], cr[:, EP] = xs, ys, ws, eps
    cr[:, K1], cr[:, K2] = np.minimum(k_prev, k_here), np.maximum(k_prev, k_here)
    cr[:, LA], cr[:, LB], cr[:, LC], cr[:, LE] = la, lb, lc, le
    cr[:, LAB] = -(ids + 1)
    return Batch(cr, np.zeros(1, dtype=np.int64), np.array([n]), np.zeros(1, dtype=np.int64),
                 np.zeros(1, dtype=np.int64), np.zeros((1, width0), dtype=np.uint8),
                 _boxes(cr[:, X], cr[:, Y], cr[:, W], cr[:, EP], np.zeros(1, dtype=np.int64)))


def _flatten(batches: list[Batch]) -> Flat:
    crs, counts, rows = [], [], []
    for b in batches:
        idx, _ = b.corner_index(np.arange(b.size))
        crs.append(b.cr[idx])
        counts.append(b.pc)
        rows.append(b.prow)
    return Flat(np.concatenate(crs), np.concatenate(counts), np.concatenate(rows))


def _shifted(fl: _FloatLayer, q: int, fc: np.ndarray, fe: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The intercepts ``c - t_q`` for kink ``q``, and their error bounds."""
    t = fl.kinks[q]
    if t == 0:
        return fc, fe
    out = fc - t
    # c - t is exact for an integer kink and an exact integer c
    widen = (fe > 0) | (np.abs(out) >= INT_EXACT) | (t != round(t)) | (fl.kink_err[q] > 0)
    return out, fe + np.where(widen, fl.kink_err[q] + 2 * U * np.abs(out) + TINY, 0.0)


@contextmanager
def _single_thread_blas() -> Iterator[None]:
    """One BLAS thread while cutting: the engine makes thousands of small
    products, and a threaded OpenBLAS product waits for busy cores (15 ms a
    call on a loaded machine, against 0.3 ms on one thread).  Best effort:
    nothing changes if numpy's OpenBLAS is not found."""
    setter = getter = None
    try:
        import ctypes
        import glob
        import os

        folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in glob.glob(os.path.join(folder, "*openblas*")):
            lib = ctypes.CDLL(path)
            for suffix in ("64_", ""):
                for prefix in ("scipy_openblas", "openblas"):
                    if hasattr(lib, f"{prefix}_set_num_threads{suffix}"):
                        setter = getattr(lib, f"{prefix}_set_num_threads{suffix}")
                        getter = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                        break
                if setter is not None:
                    break
            if setter is not None:
                break
    except OSError:
        setter = None
    if setter is None or getter is None:
        yield
        return
    before = int(getter())
    setter(1)
    try:
        yield
    finally:
        setter(before)


def check_network(net: Network) -> None:
    if not net.is_chain:
        raise PWLValueError("the planar partition needs a chain of layers; this network is a graph")
    if net.input_size != 2:
        raise PWLValueError(f"the planar partition needs a network with 2 inputs; this one has "
                            f"{net.input_size} (restrict it to a plane: --plane P0 P1 P2)")


def planar_run(net: Network, polygon: Polygon,
               progress: Optional[Callable[[int, int], None]] = None) -> Raw:
    """Cut ``polygon`` by every layer of ``net`` (2 inputs, a chain)."""
    check_network(net)
    layers = net.layers
    widths = [layer.n_out for layer in layers]
    stride = max(layer.n_out * max(1, len(layer.activation.kinks)) for layer in layers) + 1
    rows = RowTable(widths)
    exact = ExactPlane(layers, polygon, rows, stride)
    flayers = [_FloatLayer(layer) for layer in layers]
    cutter = _Cutter(exact)
    K = len(layers)
    counts = [0] * K
    finals: list[Batch] = []
    outs: list[np.ndarray] = []
    out_errs: list[np.ndarray] = []
    root_row = rows.add(0, np.array([-1]), None)
    root = _root(polygon, exact, widths[0])
    root.prow = root_row
    # forms of layer 0 on the root: the weights themselves
    fl0 = flayers[0]
    F0 = np.stack([fl0.w[:, 0], fl0.w[:, 1], fl0.b], axis=0)[None]
    E0 = np.maximum(np.maximum(fl0.ew[:, 0], fl0.ew[:, 1]), fl0.eb)
    if not fl0.integral:
        E0 = E0 + TINY      # an error bound of 0 marks exact integers only
    E0 = E0[None]
    last = K - 1

    def process(batch: Batch, k: int, F: np.ndarray, E: np.ndarray) -> None:
        fl = flayers[k]
        nk = len(fl.kinks)
        with np.errstate(all="ignore"):
            # every neuron against every polygon's box at once: a polygon proven
            # on one side of a line keeps that proof in all its parts
            batch.origin = np.arange(batch.size)
            FA, FB, FC = (np.take(F[:, i], batch.loc, axis=0) for i in range(3))
            FE = np.take(E, batch.loc, axis=0)
            tests = []
            for q in range(nk):
                fcq, feq = _shifted(fl, q, FC, FE)
                tests.append(box_test(batch.box, FA, FB, fcq, feq))
            for j in range(widths[k]):
                for q in range(nk):
                    sure0, above0 = tests[q]
                    o = batch.origin
                    pos = above0[o, j]
                    cand = np.flatnonzero(~sure0[o, j])
                    cutter.float_decisions += batch.size - len(cand)
                    if len(cand):
                        oc = o[cand]
                        fcq, feq = _shifted(fl, q, FC[oc, j], FE[oc, j])
                        lid = batch.prow[cand] * stride + (j * nk + q)
                        pos = cutter.cut(batch, cand, FA[oc, j], FB[oc, j], fcq, feq, lid, pos)
                    batch.pat[:, j] += pos
        del FA, FB, FC, FE, tests
        batch.compact_in_place()        # drop the corners of polygons that were cut
        counts[k] += batch.size
        if progress is not None:
            progress(k, counts[k])
        if k == last:
            with np.errstate(all="ignore"):
                H, EH, _ = _activate(fl, F, E, batch.loc, batch.pat)
            if nk:
                batch.prow = rows.add(k + 1, batch.prow, batch.pat)
            finals.append(batch)
            outs.append(H.transpose(0, 2, 1))
            out_errs.append(np.where(np.isfinite(EH), EH, np.inf))
            return
        newrows = rows.add(k + 1, batch.prow, batch.pat)
        batch.prow = newrows
        step = max(1, CHUNK_CELLS // max(widths[k + 1], widths[k]))
        absF = _absmax3(F) if fl.relu else None
        for p0 in range(0, batch.size, step):
            p1 = min(batch.size, p0 + step)
            sub = batch.polygons(p0, p1)
            with np.errstate(all="ignore"):
                H, EH, absH = _activate(fl, F, E, sub.loc, sub.pat, absF)
                F1, E1 = _next_forms(flayers[k + 1], H, EH, absH)
            sub.loc = np.arange(p1 - p0)
            sub.pat = np.zeros((p1 - p0, widths[k + 1]), dtype=np.uint8)
            sub.prow = sub.prow.copy()
            process(sub, k + 1, F1, E1)

    with _single_thread_blas():
        process(root, 0, F0, E0)
    final = _flatten(finals)
    return Raw(final, np.concatenate(outs), np.concatenate(out_errs), exact, polygon, counts,
               {"float64": cutter.float_decisions, "exact": cutter.exact_decisions})
