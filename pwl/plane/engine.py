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

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import PWLValueError
from ..network import Layer, Network
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


@dataclass
class Batch:
    """Polygons: corners ``start[p]:start[p+1]`` of polygon ``p``, in
    counter-clockwise order; side ``i`` runs from corner ``i`` to the next."""

    start: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    W: np.ndarray
    EP: np.ndarray
    K1: np.ndarray
    K2: np.ndarray
    LA: np.ndarray
    LB: np.ndarray
    LC: np.ndarray
    LE: np.ndarray
    LAB: np.ndarray
    SG: np.ndarray
    prow: np.ndarray   # the region row whose forms hold on the polygon
    loc: np.ndarray    # that row's index into the batch's form arrays
    pat: np.ndarray    # pieces of the current layer's neurons so far

    CORNER = ("X", "Y", "W", "EP", "K1", "K2", "LA", "LB", "LC", "LE", "LAB", "SG")

    @property
    def size(self) -> int:
        return len(self.start) - 1

    def polygons(self, p0: int, p1: int) -> "Batch":
        c0, c1 = int(self.start[p0]), int(self.start[p1])
        corner = {name: getattr(self, name)[c0:c1] for name in self.CORNER}
        return Batch(self.start[p0:p1 + 1] - c0, prow=self.prow[p0:p1], loc=self.loc[p0:p1],
                     pat=self.pat[p0:p1], **corner)


@dataclass
class Raw:
    """The engine's product, before vertices and pieces are derived."""

    batch: Batch
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
    err = np.array([0.0 if (v.denominator == 1 and abs(v) < INT_EXACT) else
                    (TINY if Fraction(x) == v else 2 * U * abs(x) + TINY)
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
            integral = bool(np.all(self.w == np.rint(self.w)) and np.all(self.b == np.rint(self.b))
                            and np.abs(self.w).max() < INT_EXACT
                            and np.abs(self.b).max(initial=0) < INT_EXACT)
            if not integral:
                self.ew += TINY
                self.eb += TINY
        else:
            flat = [x for row in layer.weights for x in row]
            w, ew = _float_entries(flat)
            self.w, self.ew = w.reshape(layer.n_out, layer.n_in), ew.reshape(layer.n_out,
                                                                               layer.n_in)
            self.b, self.eb = _float_entries(list(layer.bias))
            integral = bool(self.ew.max() == 0 and self.eb.max(initial=0) == 0)
        self.integral = integral
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


def _activate(fl: _FloatLayer, F: np.ndarray, E: np.ndarray, loc: np.ndarray,
              pat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The post-activation forms ``s_p F + t_p`` on each polygon, with bounds."""
    s = fl.slopes[pat]
    Fl = F[loc]
    El = E[loc]
    H = Fl * s[:, :, None]
    H[:, :, 2] += fl.icpts[pat]
    absF = np.abs(Fl).max(axis=2)
    EH = np.abs(s) * El + fl.slope_err[pat] * (absF + El) + fl.icpt_err[pat]
    if not fl.act_integral:
        EH = EH + 2 * U * np.abs(H).max(axis=2) + TINY
    return H, EH


def _next_forms(fl: _FloatLayer, H: np.ndarray, EH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W H + b`` for every region at once, and bounds on its errors."""
    n = fl.w.shape[1]
    F = np.matmul(H.transpose(0, 2, 1), fl.w.T).transpose(0, 2, 1).copy()
    F[:, :, 2] += fl.b
    absH = np.abs(H).max(axis=2)
    mag = absH @ fl.aw.T + fl.ab
    gamma = _gamma(n + 2)
    E = (EH @ fl.aw.T + (absH + EH) @ fl.ew.T + fl.eb + gamma * mag) * SAFE
    if fl.integral:
        row_exact = (EH.max(axis=1) == 0) & np.all(H == np.rint(H), axis=(1, 2))
        exact = row_exact[:, None] & (mag < INT_EXACT)
        E = np.where(exact, 0.0, E + TINY)
    else:
        E = E + TINY
    bad = ~np.isfinite(F).all(axis=2) | ~np.isfinite(E)
    if bad.any():
        E[bad] = np.inf
    return F, E


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


class _Cutter:
    def __init__(self, exact: ExactPlane):
        self.exact = exact
        self.float_decisions = 0
        self.exact_decisions = 0

    def signs(self, b: Batch, pid: np.ndarray, fa: np.ndarray, fb: np.ndarray, fc: np.ndarray,
              fe: np.ndarray, lid: np.ndarray) -> np.ndarray:
        a, bb, c, e = fa[pid], fb[pid], fc[pid], fe[pid]
        ax, by, cw = a * b.X, bb * b.Y, c * b.W
        v = ax + by + cw
        mag = np.abs(ax) + np.abs(by) + np.abs(cw)
        bound = (e * (np.abs(b.X) + np.abs(b.Y) + np.abs(b.W))
                 + b.EP * (np.abs(a) + np.abs(bb) + np.abs(c)) + 3 * e * b.EP
                 + _gamma(3) * mag) * SAFE
        exact0 = (e == 0) & (b.EP == 0) & (mag < INT_EXACT)
        decided = exact0 | (np.abs(v) > bound + TINY)
        s = np.sign(v).astype(np.int8)
        undecided = np.flatnonzero(~decided)
        self.float_decisions += len(v) - len(undecided)
        if len(undecided):
            self.exact_decisions += len(undecided)
            ex = self.exact
            lids = lid[pid[undecided]].tolist()
            k1 = b.K1[undecided].tolist()
            k2 = b.K2[undecided].tolist()
            s[undecided] = [ex.sign(int(l), int(p), int(q)) for l, p, q in zip(lids, k1, k2)]
        return s

    def cut(self, b: Batch, fa: np.ndarray, fb: np.ndarray, fc: np.ndarray, fe: np.ndarray,
            lid: np.ndarray) -> tuple[Batch, np.ndarray]:
        """Cut every polygon of ``b`` by its line ``fa x + fb y + fc = 0`` (id
        ``lid``); the new batch and, for each polygon left whole, whether the
        form is positive on it (cut polygons' halves follow the whole ones)."""
        R = b.size
        counts = np.diff(b.start)
        pid = np.repeat(np.arange(R), counts)
        s = self.signs(b, pid, fa, fb, fc, fe, lid)
        first = b.start[:-1]
        pos = np.logical_or.reduceat(s > 0, first)
        neg = np.logical_or.reduceat(s < 0, first)
        cut = pos & neg
        if not cut.any():
            return b, pos
        keep = ~cut
        cm = cut[pid]
        ci = np.flatnonzero(cm)
        nxt = np.arange(1, len(s) + 1)
        nxt[b.start[1:] - 1] = first
        nx = nxt[ci]
        si, sn = s[ci], s[nx]
        cross = (si.astype(np.int16) * sn) < 0
        cp = pid[ci]
        # the line's form and id on each corner's polygon
        la, lb, lc, le, ll = fa[cp], fb[cp], fc[cp], fe[cp], lid[cp]
        # new corners where a side crosses the line: cross products with the side's line
        xi = np.flatnonzero(cross)
        ga, gb, gc, ge = b.LA[ci[xi]], b.LB[ci[xi]], b.LC[ci[xi]], b.LE[ci[xi]]
        X, Y, W, EP = _cross_product(la[xi], lb[xi], lc[xi], le[xi], ga, gb, gc, ge)
        wsign = np.sign(W)
        unsure = np.flatnonzero(~((np.abs(W) > EP) | ((EP == 0) & (W != 0))))
        if len(unsure):
            g = b.LAB[ci[xi]]
            self.exact_decisions += len(unsure)
            wsign[unsure] = [self.exact.w_sign(int(ll[xi[u]]), int(g[u])) for u in unsure]
        X, Y, W = X * wsign, Y * wsign, W * wsign
        gl = b.LAB[ci[xi]]
        K1 = np.minimum(ll[xi], gl)
        K2 = np.maximum(ll[xi], gl)
        m = len(ci)
        # item 2i: corner ci[i]; item 2i+1: the crossing on side ci[i]
        items: dict[str, np.ndarray] = {}
        for name in ("X", "Y", "W", "EP", "K1", "K2"):
            col = np.empty(2 * m, dtype=getattr(b, name).dtype)
            col[0::2] = getattr(b, name)[ci]
            items[name] = col
        for name, val in (("X", X), ("Y", Y), ("W", W), ("EP", EP), ("K1", K1), ("K2", K2)):
            items[name][2 * xi + 1] = val
        ipoly = np.repeat(cp, 2)
        halves = []
        for side in (1, -1):
            if side == 1:
                keep_items = np.empty(2 * m, dtype=bool)
                keep_items[0::2] = si >= 0
                keep_items[1::2] = cross
                corner_on_line = (si == 0) & (sn < 0)
                cross_on_line = si > 0
            else:
                keep_items = np.empty(2 * m, dtype=bool)
                keep_items[0::2] = si <= 0
                keep_items[1::2] = cross
                corner_on_line = (si == 0) & (sn > 0)
                cross_on_line = si < 0
            on_line = np.empty(2 * m, dtype=bool)
            on_line[0::2] = corner_on_line
            on_line[1::2] = cross_on_line
            sel = np.flatnonzero(keep_items)
            src = ci[sel // 2]            # the original side each item's side lies on
            ol = on_line[sel]
            half = {name: items[name][sel] for name in ("X", "Y", "W", "EP", "K1", "K2")}
            oi = np.flatnonzero(ol)
            j = sel[oi] // 2
            for name, line_val in (("LA", la), ("LB", lb), ("LC", lc), ("LE", le)):
                col = getattr(b, name)[src].copy()
                col[oi] = line_val[j]
                half[name] = col
            lab = b.LAB[src].copy()
            lab[oi] = ll[j]
            half["LAB"] = lab
            sg = b.SG[src].copy()
            sg[oi] = side
            half["SG"] = sg
            halves.append((half, ipoly[sel]))
        # reassemble: whole polygons, then the positive halves, then the negative ones
        corner_keep = ~cm
        cut_ids = np.flatnonzero(cut)
        keep_ids = np.flatnonzero(keep)
        parts_counts = [counts[keep_ids]]
        cols: dict[str, list[np.ndarray]] = {name: [getattr(b, name)[corner_keep]]
                                             for name in Batch.CORNER}
        for half, poly in halves:
            parts_counts.append(np.bincount(poly, minlength=R)[cut_ids])
            for name in Batch.CORNER:
                cols[name].append(half[name])
        allc = np.concatenate(parts_counts)
        start = np.zeros(len(allc) + 1, dtype=np.int64)
        np.cumsum(allc, out=start[1:])
        order = np.concatenate([keep_ids, cut_ids, cut_ids])
        new = Batch(start, prow=b.prow[order], loc=b.loc[order], pat=b.pat[order],
                    **{name: np.concatenate(cols[name]) for name in Batch.CORNER})
        newpos = np.concatenate([pos[keep_ids], np.ones(len(cut_ids), dtype=bool),
                                 np.zeros(len(cut_ids), dtype=bool)])
        return new, newpos


def _root(polygon: Polygon, exact: ExactPlane, width0: int) -> Batch:
    n = len(polygon.vertices)
    xs, ys, ws, eps = [], [], [], []
    for x, y in polygon.vertices:
        d = lcm(x.denominator, y.denominator)
        X, Y = x * d, y * d
        if max(abs(X), abs(Y), Fraction(d)) < INT_EXACT:
            xs.append(float(X)); ys.append(float(Y)); ws.append(float(d)); eps.append(0.0)
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
    return Batch(np.array([0, n], dtype=np.int64), np.array(xs), np.array(ys), np.array(ws),
                 np.array(eps), np.minimum(k_prev, k_here).astype(np.int64),
                 np.maximum(k_prev, k_here).astype(np.int64), np.array(la), np.array(lb),
                 np.array(lc), np.array(le), -(ids + 1).astype(np.int64),
                 np.zeros(n, dtype=np.int8), np.zeros(1, dtype=np.int64),
                 np.zeros(1, dtype=np.int64), np.zeros((1, width0), dtype=np.uint8))


def _concat(batches: list[Batch], width: int) -> Batch:
    if not batches:
        raise AssertionError("no polygons")
    counts = np.concatenate([np.diff(b.start) for b in batches])
    start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return Batch(start, prow=np.concatenate([b.prow for b in batches]),
                 loc=np.concatenate([b.loc for b in batches]),
                 pat=np.concatenate([b.pat for b in batches]) if width else
                 np.zeros((len(counts), 0), dtype=np.uint8),
                 **{name: np.concatenate([getattr(b, name) for b in batches])
                    for name in Batch.CORNER})


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
    F0 = np.stack([fl0.w[:, 0], fl0.w[:, 1], fl0.b], axis=1)[None]
    E0 = np.maximum(np.maximum(fl0.ew[:, 0], fl0.ew[:, 1]), fl0.eb)[None]
    last = K - 1

    def process(batch: Batch, k: int, F: np.ndarray, E: np.ndarray) -> None:
        fl = flayers[k]
        nk = len(fl.kinks)
        with np.errstate(all="ignore"):
            for j in range(widths[k]):
                for q in range(nk):
                    fa = F[:, j, 0][batch.loc]
                    fb = F[:, j, 1][batch.loc]
                    fc = F[:, j, 2][batch.loc] - fl.kinks[q]
                    ferr = E[:, j][batch.loc]
                    if fl.kinks[q] != 0:
                        # c - t is exact for an integer kink and an exact integer c
                        widen = (ferr > 0) | (np.abs(fc) >= INT_EXACT) | \
                            (fl.kinks[q] != round(fl.kinks[q])) | (fl.kink_err[q] > 0)
                        ferr = ferr + np.where(widen, fl.kink_err[q] + 2 * U * np.abs(fc)
                                               + TINY, 0.0)
                    lid = batch.prow * stride + (j * nk + q)
                    batch, pos = cutter.cut(batch, fa, fb, fc, ferr, lid)
                    batch.pat[:, j] += pos
        counts[k] += batch.size
        if progress is not None:
            progress(k, counts[k])
        if k == last:
            with np.errstate(all="ignore"):
                H, EH = _activate(fl, F, E, batch.loc, batch.pat)
            if nk:
                batch.prow = rows.add(k + 1, batch.prow, batch.pat)
            finals.append(batch)
            outs.append(H)
            out_errs.append(np.where(np.isfinite(EH), EH, np.inf))
            return
        newrows = rows.add(k + 1, batch.prow, batch.pat)
        batch.prow = newrows
        step = max(1, CHUNK_CELLS // max(widths[k + 1], widths[k]))
        for p0 in range(0, batch.size, step):
            p1 = min(batch.size, p0 + step)
            sub = batch.polygons(p0, p1)
            with np.errstate(all="ignore"):
                H, EH = _activate(fl, F, E, sub.loc, sub.pat)
                F1, E1 = _next_forms(flayers[k + 1], H, EH)
            sub.loc = np.arange(p1 - p0)
            sub.pat = np.zeros((p1 - p0, widths[k + 1]), dtype=np.uint8)
            process(sub, k + 1, F1, E1)

    process(root, 0, F0, E0)
    final = _concat(finals, widths[-1])
    return Raw(final, np.concatenate(outs), np.concatenate(out_errs), exact, polygon, counts,
               {"float64": cutter.float_decisions, "exact": cutter.exact_decisions})
