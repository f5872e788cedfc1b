"""A slow, independent, exact reference for the planar partition.

For every activation pattern of the hidden (and kinked output) neurons, the
region where the network has that pattern is the polygon cut out of the
domain by one half-plane per neuron (the pattern fixes every pre-activation's
affine form), clipped exactly with Fractions; the patterns whose polygon has
positive area are the activation regions.  Vertices, edges and adjacency are
then found by brute force over all pairs of polygon sides.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product
from typing import Sequence

Point = tuple[Fraction, Fraction]
Form = tuple[Fraction, Fraction, Fraction]


def clip(poly: list[Point], a: Fraction, b: Fraction, c: Fraction, keep_positive: bool
         ) -> list[Point]:
    """The part of a convex polygon where ``a x + b y + c >= 0`` (or ``<= 0``)."""
    sgn = 1 if keep_positive else -1
    out: list[Point] = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        vp = sgn * (a * p[0] + b * p[1] + c)
        vq = sgn * (a * q[0] + b * q[1] + c)
        if vp >= 0:
            out.append(p)
        if (vp > 0 and vq < 0) or (vp < 0 and vq > 0):
            t = vp / (vp - vq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return simplify(out)


def simplify(poly: list[Point]) -> list[Point]:
    """Drop repeated and collinear vertices."""
    pts = [p for i, p in enumerate(poly) if p != poly[i - 1]] if poly else []
    changed = True
    while changed and len(pts) >= 3:
        changed = False
        for i in range(len(pts)):
            o, a, b = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            if (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]) == 0:
                del pts[i]
                changed = True
                break
    return pts


def area(poly: Sequence[Point]) -> Fraction:
    return sum((poly[i - 1][0] * poly[i][1] - poly[i][0] * poly[i - 1][1]
                for i in range(len(poly))), Fraction(0)) / 2


def regions(net, polygon: Sequence[Point]) -> dict[tuple[int, ...], tuple[list[Point], tuple[Form, ...]]]:
    """Pattern -> (polygon, output forms) for every activation region."""
    layers = net.layers
    kinked = [k for k, layer in enumerate(layers) if layer.activation.kinks]
    # one pattern digit per neuron of each layer with kinks: its activation piece
    choices = []
    for k, layer in enumerate(layers):
        if layer.activation.kinks:
            choices.extend([range(len(layer.activation.kinks) + 1)] * layer.n_out)
    out = {}
    for pattern in product(*choices):
        poly = list(polygon)
        forms = [(Fraction(1), Fraction(0), Fraction(0)), (Fraction(0), Fraction(1), Fraction(0))]
        pos = 0
        ok = True
        for k, layer in enumerate(layers):
            act = layer.activation
            z = []
            for row, bias in zip(layer.weights, layer.bias):
                a = sum((w * f[0] for w, f in zip(row, forms)), Fraction(0))
                b = sum((w * f[1] for w, f in zip(row, forms)), Fraction(0))
                c = sum((w * f[2] for w, f in zip(row, forms)), Fraction(0)) + bias
                z.append((a, b, c))
            h = []
            for (a, b, c) in z:
                if act.kinks:
                    p = pattern[pos]
                    pos += 1
                    if a == 0 and b == 0:
                        # a constant: its piece is fixed (z > t counts, z = t does not)
                        if p != act.piece(c):
                            ok = False
                            break
                    else:
                        if p > 0:     # above kink p - 1
                            poly = clip(poly, a, b, c - act.kinks[p - 1], True)
                        if p < len(act.kinks):   # below kink p
                            poly = clip(poly, a, b, c - act.kinks[p], False)
                        if len(poly) < 3:
                            ok = False
                            break
                else:
                    p = 0
                s, t = act.slopes[p], act.intercepts[p]
                h.append((s * a, s * b, s * c + t))
            if not ok:
                break
            forms = h
        if ok and len(poly) >= 3 and area(poly) > 0:
            out[tuple(pattern)] = (poly, tuple(forms))
    return out


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if cross != 0:
        return False
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def graph(polys: list[list[Point]], domain: Sequence[Point]) -> tuple[int, int, set[tuple[int, int]]]:
    """Vertices, edges and adjacent pairs of a subdivision into convex polygons."""
    verts = sorted({p for poly in polys for p in poly})
    total = 0
    boundary = 0
    pieces: list[tuple[int, Point, Point]] = []
    for r, poly in enumerate(polys):
        for i in range(len(poly)):
            a, b = poly[i], poly[(i + 1) % len(poly)]
            on = sorted({p for p in verts if _on_segment(p, a, b)})
            # elementary segments of this side
            segs = len(on) - 1
            total += segs
            n = len(domain)
            if any(_on_segment(a, domain[j], domain[(j + 1) % n]) and
                   _on_segment(b, domain[j], domain[(j + 1) % n]) for j in range(n)):
                boundary += segs
            pieces.append((r, a, b))
    edges = (total + boundary) // 2
    adjacent: set[tuple[int, int]] = set()
    for i, (r, a, b) in enumerate(pieces):
        for s, c, d in pieces[i + 1:]:
            if r == s:
                continue
            # collinear sides overlapping with positive length
            if not (_on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d)):
                continue
            cr1 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            cr2 = (b[0] - a[0]) * (d[1] - a[1]) - (b[1] - a[1]) * (d[0] - a[0])
            if cr1 != 0 or cr2 != 0:
                continue
            ax = 0 if a[0] != b[0] else 1
            lo1, hi1 = sorted((a[ax], b[ax]))
            lo2, hi2 = sorted((c[ax], d[ax]))
            if min(hi1, hi2) > max(lo1, lo2):
                adjacent.add((min(r, s), max(r, s)))
    return len(verts), edges, adjacent


def pieces(forms: list[Form], adjacent: set[tuple[int, int]]) -> int:
    parent = list(range(len(forms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r, s in adjacent:
        if forms[r] == forms[s]:
            parent[find(r)] = find(s)
    return len({find(i) for i in range(len(forms))})
