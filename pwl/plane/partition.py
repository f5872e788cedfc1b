"""The exact planar partition: regions, vertices, edges, adjacency, pieces.

Regions come from the engine (:mod:`pwl.plane.engine`) as convex polygons
whose corners are named by the two lines through them.  From them:

* **vertices**: the distinct corner points.  Corners named by the same two
  lines are the same point; others are the same point only if their
  certified float boxes overlap, and then exact rationals decide.
* **edges**: each line of the partition carries one segment, tiled from
  both sides by region sides; its distinct vertices, in order along the
  line (floats where their bounds separate them, rationals otherwise), cut
  it into ``m - 1`` edges of the planar graph.
* **adjacency**: two regions are adjacent when they cover the same edge from
  the two sides of its line (an edge of positive length; touching at a
  vertex is not adjacency).
* **pieces**: connected components of adjacent regions on which the output's
  affine form is identical (certified float comparison, exact where the
  bounds cannot tell).
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..values.numbers import format_exact
from .domain import Polygon
from .engine import Raw

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["PlanarPartition", "Region"]

U = 2.0**-53
Point = tuple[Fraction, Fraction]
Form = tuple[Fraction, Fraction, Fraction]


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected component labels (the smallest member) of a graph on ``n`` nodes."""
    lab = np.arange(n)
    if len(u) == 0:
        return lab
    while True:
        m = np.minimum(lab[u], lab[v])
        new = lab.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, lab):
            return lab
        lab = new


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct pairs ``(a[i], b[i])`` in lexicographic order, the first
    index of each, and each index's pair number (as ``np.unique(..., axis=0)``,
    through one integer code per pair)."""
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    code = ia.reshape(-1).astype(np.int64) * len(ub) + ib.reshape(-1)
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    pairs = np.stack([a[first], b[first]], axis=1)
    return pairs, first, inverse.reshape(-1)


def _along(a: np.ndarray, b: np.ndarray, e_line: np.ndarray, X: np.ndarray, Y: np.ndarray,
           W: np.ndarray, EP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``t = (-b X + a Y) / W`` of corners along the line ``a x + b y + c = 0``
    (coefficients within ``e_line``), and bounds on their errors."""
    with np.errstate(all="ignore"):
        t = (-b * X + a * Y) / W
        mag = (np.abs(b * X) + np.abs(a * Y)) / W
        den = W - EP
        et = np.where(den > 0,
                      ((np.abs(a) + np.abs(b) + 2 * e_line) * EP
                       + e_line * (np.abs(X) + np.abs(Y)) + np.abs(t) * EP) / den, np.inf)
        et = (et + 4 * U * (mag + np.abs(t))) * (1 + 2.0**-20) + 2.0**-1000
    bad = ~np.isfinite(et) | ~np.isfinite(t)
    et[bad] = np.inf
    t = np.where(np.isfinite(t), t, 0.0)
    return t, et


class Region:
    """One activation region: an exact convex polygon, its activation
    pattern (the piece of every hidden neuron's activation, layer by layer)
    and the exact affine form ``(a, b, c)`` of every output on it."""

    __slots__ = ("index", "vertices", "pattern", "forms")

    def __init__(self, index: int, vertices: tuple[Point, ...], pattern: tuple[int, ...],
                 forms: tuple[Form, ...]):
        self.index = index
        self.vertices = vertices
        self.pattern = pattern
        self.forms = forms

    @property
    def area(self) -> Fraction:
        v = self.vertices
        return sum((v[i - 1][0] * v[i][1] - v[i][0] * v[i - 1][1] for i in range(len(v))),
                   Fraction(0)) / 2

    @property
    def centroid(self) -> Point:
        """The mean of the vertices: a point strictly inside (the polygon is convex)."""
        n = len(self.vertices)
        return (sum((p[0] for p in self.vertices), Fraction(0)) / n,
                sum((p[1] for p in self.vertices), Fraction(0)) / n)

    def __repr__(self) -> str:
        return f"Region({self.index}, {len(self.vertices)} vertices)"


class PlanarPartition:
    """The exact partition of a convex polygon by a two-input network.

    Counts are exact; vertices and forms are exact rationals, made when
    first asked for.  Do not modify the arrays it returns.

    >>> from pwl import Network
    >>> net = Network.sequential([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0], "identity")])
    >>> from pwl import partition2d
    >>> p = partition2d(net, box=(-1, 1, -1, 1))
    >>> p.num_regions, p.pieces(), p.num_vertices, p.num_edges
    (4, 4, 9, 12)
    """

    def __init__(self, raw: Raw, widths: Sequence[int], outputs: int):
        self._raw = raw
        self.polygon: Polygon = raw.polygon
        self.widths = tuple(widths)
        self.outputs = outputs
        b = raw.batch
        self._b = b
        self._counts = np.diff(b.start)
        self._pid = np.repeat(np.arange(b.size), self._counts)
        nxt = np.arange(1, len(b.X) + 1)
        nxt[b.start[1:] - 1] = b.start[:-1]
        self._nxt = nxt
        self._vid: Optional[np.ndarray] = None
        self._nv = 0
        self._graph_data: Optional[tuple[int, np.ndarray, np.ndarray]] = None
        self._pieces: dict[Any, np.ndarray] = {}
        self._vertex_cache: dict[int, Point] = {}
        self._regions: Optional[tuple[Region, ...]] = None
        self._patterns: Optional[np.ndarray] = None
        self._ready = True

    def __setattr__(self, name: str, value: Any) -> None:
        # a value: its public attributes are set once (private caches fill lazily)
        if not name.startswith("_") and getattr(self, "_ready", False):
            raise AttributeError(f"PlanarPartition is immutable: cannot set {name!r}")
        object.__setattr__(self, name, value)

    # -- counts ---------------------------------------------------------------
    @property
    def num_regions(self) -> int:
        """Activation regions (the output layer's kinks included, if it has any)."""
        return self._b.size

    @property
    def layer_regions(self) -> tuple[int, ...]:
        """Regions after each layer (the last entry is :attr:`num_regions`)."""
        return tuple(self._raw.layer_regions)

    @property
    def decisions(self) -> dict[str, int]:
        """Sign decisions taken by certified float64 and exactly."""
        return dict(self._raw.decisions)

    @property
    def num_vertices(self) -> int:
        self._vertices()
        return self._nv

    @property
    def num_edges(self) -> int:
        return self._graph()[0]

    def pieces(self, output: Optional[int] = 0) -> int:
        """Linear pieces of output ``output`` (None: of all outputs jointly):
        connected unions of adjacent regions with the same affine form."""
        return int(len(np.unique(self.piece_labels(output))))

    def piece_labels(self, output: Optional[int] = 0) -> np.ndarray:
        """For each region, the index of its piece (pieces numbered from 0)."""
        key = output
        got = self._pieces.get(key)
        if got is None:
            if output is not None and not 0 <= output < self.outputs:
                from ..errors import PWLValueError

                raise PWLValueError(f"output {output}: the network has {self.outputs} "
                                    f"output(s), numbered from 0")
            got = self._piece_labels(output)
            got.setflags(write=False)
            self._pieces[key] = got
        return got

    # -- vertices ---------------------------------------------------------------
    def _exact_point(self, i: int) -> Point:
        """The exact point of corner ``i``."""
        b = self._b
        if b.EP[i] == 0:
            return (Fraction(int(b.X[i]), int(b.W[i])), Fraction(int(b.Y[i]), int(b.W[i])))
        return self._raw.exact.point(int(b.K1[i]), int(b.K2[i]))

    def _vertices(self) -> np.ndarray:
        if self._vid is not None:
            return self._vid
        b = self._b
        keys, first, inverse = _unique_pairs(b.K1, b.K2)
        m = len(first)
        X, Y, W, EP = b.X[first], b.Y[first], b.W[first], b.EP[first]
        with np.errstate(all="ignore"):
            x, y = X / W, Y / W
            den = W - EP
            ex = np.where(den > 0, (EP + np.abs(x) * EP) / den, np.inf) + 2 * U * np.abs(x)
            ey = np.where(den > 0, (EP + np.abs(y) * EP) / den, np.inf) + 2 * U * np.abs(y)
            ex = ex * (1 + 2.0**-20) + 2.0**-1000
            ey = ey * (1 + 2.0**-20) + 2.0**-1000
        ex[~np.isfinite(ex) | ~np.isfinite(x)] = np.inf
        ey[~np.isfinite(ey) | ~np.isfinite(y)] = np.inf
        label = np.arange(m)
        u_list: list[np.ndarray] = []
        v_list: list[np.ndarray] = []
        # exactly held points: equal iff their reduced integer triples are
        exact_pts = np.flatnonzero(EP == 0)
        if len(exact_pts):
            ix = X[exact_pts].astype(np.int64)
            iy = Y[exact_pts].astype(np.int64)
            iw = W[exact_pts].astype(np.int64)
            g = np.gcd(np.gcd(ix, iy), iw)
            trip = np.stack([ix // g, iy // g, iw // g], axis=1)
            _, tfirst, tinv = np.unique(trip, axis=0, return_index=True, return_inverse=True)
            tinv = tinv.reshape(-1)
            u_list.append(exact_pts)
            v_list.append(exact_pts[tfirst[tinv]])
        # candidates: boxes that overlap, found along x; exact pairs are settled above
        wide = ~(np.isfinite(ex) & np.isfinite(ey))
        finite = np.flatnonzero(~wide)
        order = finite[np.argsort(x[finite], kind="stable")]
        xs = x[order]
        rmax = float(ex[order].max(initial=0.0))
        hi = np.searchsorted(xs, xs + 2 * rmax, side="right")
        lens = hi - np.arange(len(xs)) - 1
        total = int(lens.sum())
        cand_u: list[int] = []
        cand_v: list[int] = []
        if total:
            ii = np.repeat(np.arange(len(xs)), lens)
            jj = ii + 1 + (np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens))
            pu, pv = order[ii], order[jj]
            ok = (np.abs(x[pu] - x[pv]) <= ex[pu] + ex[pv]) & \
                (np.abs(y[pu] - y[pv]) <= ey[pu] + ey[pv]) & ~((EP[pu] == 0) & (EP[pv] == 0))
            cand_u.extend(pu[ok].tolist())
            cand_v.extend(pv[ok].tolist())
        wide_ids = np.flatnonzero(wide)
        for w_ in wide_ids.tolist():
            # a point with no useful float box: its exact place, then the boxes holding it
            px, py = self._exact_point(int(first[w_]))
            fx, fy = float(px), float(py)
            with np.errstate(all="ignore"):
                near = (np.abs(x - fx) <= ex + 4 * U * abs(fx) + 2.0**-1000) & \
                    (np.abs(y - fy) <= ey + 4 * U * abs(fy) + 2.0**-1000)
            near[wide_ids] = True
            near[w_] = False
            others = np.flatnonzero(near)
            cand_u.extend([w_] * len(others))
            cand_v.extend(others.tolist())
        if cand_u:
            eq_u, eq_v = [], []
            proven = self._same_by_continuity(cand_u, cand_v, keys, inverse)
            for p, q, known in zip(cand_u, cand_v, proven):
                if known or self._exact_point(int(first[p])) == self._exact_point(int(first[q])):
                    eq_u.append(p)
                    eq_v.append(q)
            if eq_u:
                u_list.append(np.array(eq_u, dtype=np.int64))
                v_list.append(np.array(eq_v, dtype=np.int64))
        if u_list:
            label = _components(m, np.concatenate(u_list), np.concatenate(v_list))
        uniq, compact = np.unique(label, return_inverse=True)
        self._nv = len(uniq)
        self._vid = compact.reshape(-1)[inverse]
        self._vrep = first[uniq]      # a corner of each distinct vertex
        return self._vid

    def _same_by_continuity(self, cand_u: list[int], cand_v: list[int], keys: np.ndarray,
                            inverse: np.ndarray) -> np.ndarray:
        """Corner pairs proven to be one point without rationals.

        Corners ``L1 & G`` and ``L2 & G`` on a common line ``G``, where
        ``L1`` and ``L2`` are the same neuron's line on two regions ``p``,
        ``p'`` of the same level: if a side along ``G`` from each corner, in
        the same direction, overlap in a segment of positive length (proven
        by floats), then ``p`` and ``p'`` share that segment; the neuron's
        pre-activation is continuous, so its forms on ``p`` and ``p'`` agree
        on the segment, hence on all of ``G``, and their zeros on ``G`` (the
        two corners) coincide."""
        b = self._b
        rows = self._raw.exact.rows
        stride = self._raw.exact.stride
        cu = np.asarray(cand_u, dtype=np.int64)
        cv = np.asarray(cand_v, dtype=np.int64)
        a1, a2 = keys[cu, 0], keys[cu, 1]
        b1, b2 = keys[cv, 0], keys[cv, 1]
        # the common line g and the other lines l1 (of u) and l2 (of v)
        g = np.full(len(cu), np.iinfo(np.int64).min)
        l1 = np.zeros(len(cu), dtype=np.int64)
        l2 = np.zeros(len(cu), dtype=np.int64)
        for ga, oa, gb, ob in ((a1, a2, b1, b2), (a1, a2, b2, b1), (a2, a1, b1, b2),
                               (a2, a1, b2, b1)):
            hit = (ga == gb) & (g == np.iinfo(np.int64).min)
            g[hit], l1[hit], l2[hit] = ga[hit], oa[hit], ob[hit]
        ok = (g != np.iinfo(np.int64).min) & (l1 >= 0) & (l2 >= 0) & (l1 != l2)
        r1, n1 = np.divmod(np.where(ok, l1, 0), stride)
        r2, n2 = np.divmod(np.where(ok, l2, 0), stride)
        ok &= (n1 == n2) & (rows.level[r1] == rows.level[r2])
        out = np.zeros(len(cu), dtype=bool)
        todo = np.flatnonzero(ok)
        if len(todo) == 0:
            return out
        # incidences (corner, line) -> position of the corner along the line,
        # direction and length of the side from it, error bound
        nxt = self._nxt
        kid = inverse
        t0, e0 = _along(b.LA, b.LB, b.LE, b.X, b.Y, b.W, b.EP)
        t1, e1 = _along(b.LA, b.LB, b.LE, b.X[nxt], b.Y[nxt], b.W[nxt], b.EP[nxt])
        ik = np.concatenate([kid, kid[nxt]])
        il = np.concatenate([b.LAB, b.LAB])
        it = np.concatenate([t0, t1])
        idt = np.concatenate([t1 - t0, t0 - t1])
        ie = np.concatenate([e0 + e1, e0 + e1])
        labs, lab_idx = np.unique(il, return_inverse=True)
        code = ik * len(labs) + lab_idx.reshape(-1)
        order = np.argsort(code, kind="stable")
        code = code[order]
        gi = np.searchsorted(labs, g[todo])
        found = (gi < len(labs)) & (labs[np.minimum(gi, len(labs) - 1)] == g[todo])
        todo, gi = todo[found], gi[found]
        want_u = cu[todo] * len(labs) + gi
        want_v = cv[todo] * len(labs) + gi
        su, eu_ = np.searchsorted(code, want_u), np.searchsorted(code, want_u, side="right")
        sv, ev_ = np.searchsorted(code, want_v), np.searchsorted(code, want_v, side="right")
        proven = np.zeros(len(todo), dtype=bool)
        for i in range(4):
            iu = su + i
            okiu = iu < eu_
            pu = order[np.minimum(iu, len(order) - 1)]
            for j in range(4):
                jv = sv + j
                okjv = jv < ev_
                pv = order[np.minimum(jv, len(order) - 1)]
                du, dv = idt[pu], idt[pv]
                overlap = np.minimum(np.abs(du), np.abs(dv)) - np.abs(it[pu] - it[pv])
                proven |= okiu & okjv & (du * dv > 0) & (overlap > 2 * (ie[pu] + ie[pv]))
        out[todo] = proven
        return out

    def vertex(self, v: int) -> Point:
        """The exact coordinates of distinct vertex ``v``."""
        got = self._vertex_cache.get(v)
        if got is None:
            self._vertices()
            got = self._vertex_cache[v] = self._exact_point(int(self._vrep[v]))
        return got

    # -- edges and adjacency ------------------------------------------------------
    def _graph(self) -> tuple[int, np.ndarray, np.ndarray]:
        if self._graph_data is not None:
            return self._graph_data
        b = self._b
        vid = self._vertices()
        nxt = self._nxt
        C = len(vid)
        lab2 = np.concatenate([b.LAB, b.LAB])
        v2 = np.concatenate([vid, vid[nxt]])
        side2 = np.concatenate([np.arange(C), np.arange(C)])
        pairs, pfirst, pinv = _unique_pairs(lab2, v2)
        P = len(pairs)
        plab = pairs[:, 0]
        rep_side = side2[pfirst]
        rep_corner = np.where(pfirst < C, pfirst, nxt[pfirst % C])
        t, et = _along(b.LA[rep_side], b.LB[rep_side], b.LE[rep_side], b.X[rep_corner],
                       b.Y[rep_corner], b.W[rep_corner], b.EP[rep_corner])
        order = np.lexsort((t, plab))
        slab, st, se = plab[order], t[order], et[order]
        same = slab[1:] == slab[:-1]
        unsure = same & (st[1:] - st[:-1] <= se[1:] + se[:-1])
        if unsure.any():
            ex = self._raw.exact
            # runs of positions the floats cannot order: sort them exactly
            idx = np.flatnonzero(unsure)
            runs: list[list[int]] = []
            for i in idx.tolist():
                if runs and runs[-1][-1] == i:
                    runs[-1].append(i + 1)
                else:
                    runs.append([i, i + 1])
            for run in runs:
                lid = int(slab[run[0]])
                la, lb, _ = ex.line(lid)
                keyed = []
                for pos in run:
                    px, py = self.vertex(int(pairs[order[pos], 1]))
                    keyed.append((-lb * px + la * py, int(order[pos])))
                keyed.sort()
                order[run] = [k for _, k in keyed]
        rank = np.empty(P, dtype=np.int64)
        group_start = np.ones(P, dtype=bool)
        group_start[1:] = ~same
        gid = np.cumsum(group_start) - 1
        gfirst = np.flatnonzero(group_start)
        rank[order] = np.arange(P) - gfirst[gid]
        ngroups = len(gfirst)
        edges = P - ngroups
        # each side covers the elementary edges between its ends' ranks
        r0 = rank[pinv[:C]]
        r1 = rank[pinv[C:]]
        lo, hi = np.minimum(r0, r1), np.maximum(r0, r1)
        goff = np.zeros(P, dtype=np.int64)
        goff[order] = gfirst[gid] - gid      # elementary edges before this group
        base = goff[pinv[:C]]
        lens = hi - lo
        seg = np.repeat(base + lo, lens) + (np.arange(int(lens.sum()))
                                            - np.repeat(np.cumsum(lens) - lens, lens))
        sg = np.repeat(b.SG, lens)
        poly = np.repeat(self._pid, lens)
        plus = sg > 0
        minus = sg < 0
        a_seg, a_poly = seg[plus], poly[plus]
        b_seg, b_poly = seg[minus], poly[minus]
        ia, ib = np.argsort(a_seg, kind="stable"), np.argsort(b_seg, kind="stable")
        if not np.array_equal(a_seg[ia], b_seg[ib]):
            raise AssertionError("planar partition: an interior edge is not covered once "
                                 "from each side (an engine bug)")
        u, v = a_poly[ia], b_poly[ib]
        if len(u):
            uv, _, _ = _unique_pairs(np.minimum(u, v), np.maximum(u, v))
            u, v = uv[:, 0], uv[:, 1]
        self._graph_data = (edges, u, v)
        return self._graph_data

    @property
    def adjacent_pairs(self) -> np.ndarray:
        """Pairs ``(p, q)``, ``p < q``, of regions sharing an edge of positive length."""
        _, u, v = self._graph()
        return np.stack([u, v], axis=1)

    def adjacency(self) -> "nx.Graph":
        """The regions' adjacency as a networkx graph (node = region index;
        edge attribute ``same_form``: the outputs' forms agree across it)."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.num_regions))
        _, u, v = self._graph()
        same = self._same_forms(u, v, None)
        g.add_edges_from((int(p), int(q), {"same_form": bool(s)}) for p, q, s in zip(u, v, same))
        return g

    # -- pieces -------------------------------------------------------------------
    def _same_forms(self, u: np.ndarray, v: np.ndarray, output: Optional[int]) -> np.ndarray:
        raw = self._raw
        outs = range(self.outputs) if output is None else [output]
        same = np.ones(len(u), dtype=bool)
        unsure = np.zeros(len(u), dtype=bool)
        for k in outs:
            fu, fv = raw.out[u, k], raw.out[v, k]
            eu, ev = raw.out_err[u, k], raw.out_err[v, k]
            with np.errstate(all="ignore"):
                diff = np.abs(fu - fv).max(axis=1)
                bound = (eu + ev) * (1 + 2.0**-20)
            differ = diff > bound
            exact = (eu == 0) & (ev == 0)
            same &= ~differ
            unsure |= ~differ & ~exact
        todo = np.flatnonzero(same & unsure)
        if len(todo):
            ex = raw.exact
            prow = self._b.prow
            for i in todo.tolist():
                p, q = int(prow[u[i]]), int(prow[v[i]])
                same[i] = all(ex.output_form(p, k) == ex.output_form(q, k) for k in outs)
        return same

    def _piece_labels(self, output: Optional[int]) -> np.ndarray:
        _, u, v = self._graph()
        same = self._same_forms(u, v, output)
        lab = _components(self.num_regions, u[same], v[same])
        _, compact = np.unique(lab, return_inverse=True)
        return compact.reshape(-1)

    # -- regions --------------------------------------------------------------------
    @property
    def patterns(self) -> np.ndarray:
        """Regions x hidden neurons: each neuron's activation piece (0 below the
        kink, 1 above, for relu), layers in order; the output layer's
        pieces last if it has kinks."""
        if self._patterns is None:
            rows = self._raw.exact.rows
            cur = self._b.prow.copy()
            parts = []
            while len(cur) and rows.level[cur[0]] > 0:
                parts.append(rows.patterns(cur))
                cur = rows.parent[cur]
            pats = np.concatenate(parts[::-1], axis=1) if parts else \
                np.zeros((len(cur), 0), dtype=np.uint8)
            pats.setflags(write=False)
            self._patterns = pats
        return self._patterns

    def region(self, r: int) -> Region:
        """Region ``r`` with its exact vertices, pattern and output forms."""
        vid = self._vertices()
        s0, s1 = int(self._b.start[r]), int(self._b.start[r + 1])
        verts = tuple(self.vertex(int(v)) for v in vid[s0:s1])
        ex = self._raw.exact
        row = int(self._b.prow[r])
        forms = tuple(ex.output_form(row, k) for k in range(self.outputs))
        return Region(r, verts, tuple(int(p) for p in self.patterns[r]), forms)

    @property
    def regions(self) -> tuple[Region, ...]:
        """Every region, exactly (costly for large partitions: rationals per vertex)."""
        if self._regions is None:
            self._regions = tuple(self.region(r) for r in range(self.num_regions))
        return self._regions

    def float_polygons(self) -> list[np.ndarray]:
        """Each region's corners as a float64 array (k x 2), for drawing only."""
        b = self._b
        with np.errstate(all="ignore"):
            xy = np.stack([b.X / b.W, b.Y / b.W], axis=1)
        return np.split(xy, b.start[1:-1])

    # -- export ---------------------------------------------------------------------
    def summary(self, output: Optional[int] = 0) -> dict[str, Any]:
        return {"regions": self.num_regions, "pieces": self.pieces(output),
                "vertices": self.num_vertices, "edges": self.num_edges,
                "layer_regions": list(self.layer_regions)}

    def to_json(self, output: Optional[int] = 0) -> str:
        """Every region's exact polygon, pattern and forms as JSON (numbers "p/q")."""
        labels = self.piece_labels(output)
        regions = []
        for reg in self.regions:
            regions.append({
                "region": reg.index, "piece": int(labels[reg.index]),
                "vertices": [[format_exact(x), format_exact(y)] for x, y in reg.vertices],
                "pattern": list(reg.pattern),
                "outputs": [[format_exact(c) for c in f] for f in reg.forms]})
        payload = {"polygon": [[format_exact(x), format_exact(y)] for x, y in
                               self.polygon.vertices], **self.summary(output),
                   "regions_list": regions}
        return json.dumps(payload)

    def to_csv(self, output: Optional[int] = 0) -> str:
        """One line per region: index, piece, exact vertices ``x y;x y;...``,
        pattern as a string of digits, output forms ``a b c;...``."""
        labels = self.piece_labels(output)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["region", "piece", "vertices", "pattern", "outputs"])
        for reg in self.regions:
            w.writerow([reg.index, int(labels[reg.index]),
                        ";".join(f"{format_exact(x)} {format_exact(y)}" for x, y in reg.vertices),
                        "".join(map(str, reg.pattern)),
                        ";".join(" ".join(format_exact(c) for c in f) for f in reg.forms)])
        return buf.getvalue()

    def __repr__(self) -> str:
        return (f"PlanarPartition({self.num_regions} regions, widths={list(self.widths)}, "
                f"polygon of {len(self.polygon.vertices)} vertices)")
