"""Two-dimensional domains: convex polygons with exact vertices, and planes
through input space.

A polygon is given by its vertices in order (either orientation); repeated
vertices and vertices on the segment between their neighbours are dropped,
what remains must be a convex polygon of positive area.  It is stored
counter-clockwise.  A plane through input points ``P0, P1, P2`` is
parametrised as ``P0 + s (P1 - P0) + t (P2 - P0)``; restricting a network
to it gives a two-input network in ``(s, t)``, exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence

from ..errors import DomainError, PWLValueError
from ..engine.line import _point
from ..values.network import Layer, Network, Node
from ..values.numbers import to_fraction

__all__ = ["Polygon", "as_polygon", "box", "restrict_to_plane", "UNIT_SQUARE"]

Point = tuple[Fraction, Fraction]


def _cross(o: Point, a: Point, b: Point) -> Fraction:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


class Polygon:
    """A convex polygon of positive area, vertices exact and counter-clockwise.

    >>> p = Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])
    >>> p.vertices[0], p.area
    ((Fraction(1, 1), Fraction(0, 1)), Fraction(1, 1))
    >>> Polygon([(0, 0), (1, 1), (2, 2)])
    Traceback (most recent call last):
    ...
    pwl.errors.DomainError: polygon: the vertices are collinear (a degenerate polygon has no area)
    """

    __slots__ = ("vertices",)

    def __init__(self, points: Sequence[Sequence[object]], where: str = "polygon"):
        if isinstance(points, (str, bytes)) or not hasattr(points, "__len__"):
            raise PWLValueError(f"{where}: expected a list of points (x, y)")
        pts: list[Point] = []
        for i, p in enumerate(points):
            if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
                raise PWLValueError(f"{where}[{i}]: expected a point (x, y), got {p!r:.60}")
            pts.append((to_fraction(p[0], f"{where}[{i}][0]"),
                        to_fraction(p[1], f"{where}[{i}][1]")))
        if len(pts) < 3:
            raise DomainError(f"{where}: a polygon needs at least 3 vertices, got {len(pts)}")
        # drop repeated vertices, then vertices collinear with their neighbours
        dedup = [p for i, p in enumerate(pts) if p != pts[i - 1]]
        changed = True
        while changed and len(dedup) >= 3:
            changed = False
            for i in range(len(dedup)):
                if _cross(dedup[i - 1], dedup[i], dedup[(i + 1) % len(dedup)]) == 0:
                    del dedup[i]
                    changed = True
                    break
        if len(dedup) < 3:
            raise DomainError(f"{where}: the vertices are collinear "
                              "(a degenerate polygon has no area)")
        turns = [_cross(dedup[i - 2], dedup[i - 1], dedup[i]) for i in range(len(dedup))]
        if not (all(t > 0 for t in turns) or all(t < 0 for t in turns)):
            raise DomainError(f"{where}: the polygon is not convex (or its vertices are "
                              "not in order around it)")
        area2 = sum(dedup[i - 1][0] * dedup[i][1] - dedup[i][0] * dedup[i - 1][1]
                    for i in range(len(dedup)))
        if area2 < 0:
            dedup.reverse()
        self.vertices: tuple[Point, ...] = tuple(dedup)
        if not self._simple():
            raise DomainError(f"{where}: the vertices wind around more than once")

    def _simple(self) -> bool:
        """Convex turns and one full turn: the edge directions' angles increase
        once around (checked exactly by counting half-plane changes)."""
        n = len(self.vertices)
        dirs = [(self.vertices[(i + 1) % n][0] - self.vertices[i][0],
                 self.vertices[(i + 1) % n][1] - self.vertices[i][1]) for i in range(n)]
        # count the edges whose direction points into the upper half (y > 0,
        # or y = 0 and x > 0): a simple convex polygon has one run of them
        up = [d[1] > 0 or (d[1] == 0 and d[0] > 0) for d in dirs]
        changes = sum(1 for i in range(n) if up[i] != up[i - 1])
        return changes <= 2

    @property
    def area(self) -> Fraction:
        """The exact area (shoelace formula)."""
        v = self.vertices
        return sum((v[i - 1][0] * v[i][1] - v[i][0] * v[i - 1][1] for i in range(len(v))),
                   Fraction(0)) / 2

    def __repr__(self) -> str:
        return f"Polygon({[(str(x), str(y)) for x, y in self.vertices]})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polygon) and self.vertices == other.vertices

    def __hash__(self) -> int:
        return hash(self.vertices)


def box(x0: object, x1: object, y0: object, y1: object) -> Polygon:
    """The rectangle ``[x0, x1] x [y0, y1]``.

    >>> box(0, 2, 0, "1/2").area
    Fraction(1, 1)
    """
    fx0, fx1 = to_fraction(x0, "box X0"), to_fraction(x1, "box X1")
    fy0, fy1 = to_fraction(y0, "box Y0"), to_fraction(y1, "box Y1")
    if not (fx0 < fx1 and fy0 < fy1):
        raise DomainError(f"box: need X0 < X1 and Y0 < Y1, got [{fx0}, {fx1}] x [{fy0}, {fy1}]")
    return Polygon([(fx0, fy0), (fx1, fy0), (fx1, fy1), (fx0, fy1)], "box")


#: The default parameter domain of a plane: ``0 <= s, t <= 1``.
UNIT_SQUARE = box(0, 1, 0, 1)


def as_polygon(domain: object) -> Polygon:
    """A :class:`Polygon` from a polygon, a box ``(x0, x1, y0, y1)`` or a list of points."""
    if isinstance(domain, Polygon):
        return domain
    if domain is None:
        raise DomainError("a two-input partition needs a bounded polygon (e.g. box=(0, 1, 0, 1))")
    if isinstance(domain, (tuple, list)) and len(domain) == 4 and \
            all(not hasattr(v, "__len__") or isinstance(v, str) for v in domain):
        return box(*domain)
    return Polygon(domain)  # type: ignore[arg-type]


def restrict_to_plane(net: Network, p0: Sequence[object], p1: Sequence[object],
                      p2: Sequence[object]) -> Network:
    """The two-input network ``(s, t) -> net(P0 + s (P1 - P0) + t (P2 - P0))``.

    >>> net = Network.sequential([([[1, 1, 0], [0, 1, -1]], [0, 1]),
    ...                           ([[1, 1]], [0], "identity")])
    >>> plane = restrict_to_plane(net, [0, 0, 0], [1, 0, 0], [0, 0, 2])
    >>> plane.evaluate(["1/2", "1/4"]) == net.evaluate(["1/2", 0, "1/2"])
    True
    """
    if not net.is_chain:
        raise PWLValueError("restricting to a plane needs a chain of layers; "
                            "this network is a graph")
    n0 = net.input_size
    a = _point(p0, n0, "P0")
    b = _point(p1, n0, "P1")
    c = _point(p2, n0, "P2")
    d1 = [y - x for x, y in zip(a, b)]
    d2 = [y - x for x, y in zip(a, c)]
    # the points span a plane iff d1 and d2 are linearly independent: some
    # 2 x 2 minor is nonzero
    if not any(d1[i] * d2[j] != d1[j] * d2[i] for i in range(n0) for j in range(i + 1, n0)):
        raise DomainError("P0, P1, P2 are collinear (or repeated): they do not span a plane")
    from ..engine.line import _restricted

    first = net.layers[0]
    w1, bias = _restricted(first, a, b, d1)
    w2, _ = _restricted(first, a, c, d2)
    layer0 = Layer(tuple((r1[0], r2[0]) for r1, r2 in zip(w1, w2)), bias, first.activation)
    layers: list[Optional[Layer]] = [layer0, *net.layers[1:]]
    nodes = [Node(net.nodes[0].name, "input", (), 2)]
    for node, layer in zip(net.nodes[1:], layers):
        assert layer is not None
        nodes.append(Node(node.name, "dense", (nodes[-1].name,), layer.n_out, layer=layer))
    return Network(nodes, nodes[-1].name)
