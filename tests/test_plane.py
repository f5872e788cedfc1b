"""The exact planar partition (pwl.plane): hand-computed partitions, the
invariants on every partition, an independent slow exact reference, the
1-D engine on segments, planes through many-input networks, bad input."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plane_reference as ref
import pwl
from pwl import Network
from pwl.errors import DomainError, PWLError
from pwl.plane import PlanarPartition, Polygon, partition2d, restrict_to_plane


# -- helpers ---------------------------------------------------------------------------
def exact_pieces(net: Network, point: tuple[Fraction, Fraction]) -> tuple[int, ...]:
    """The activation piece of every neuron of every layer at ``point``, exactly."""
    h = list(point)
    out: list[int] = []
    for layer in net.layers:
        act = layer.activation
        z = [sum((w * v for w, v in zip(row, h)), Fraction(0)) + b
             for row, b in zip(layer.weights, layer.bias)]
        out.extend(act.piece(v) for v in z)
        h = [act(v) for v in z]
    return tuple(out)


def check_invariants(p: PlanarPartition, net: Network) -> None:
    """Euler, areas, patterns and forms at exact interior points."""
    F, V, E = p.num_regions, p.num_vertices, p.num_edges
    assert V - E + F == 1, (V, E, F)
    regs = p.regions
    assert sum((r.area for r in regs), Fraction(0)) == p.polygon.area
    assert all(r.area > 0 for r in regs)
    hidden = sum(layer.n_out for layer in net.layers[:-1])
    kinked_out = bool(net.layers[-1].activation.kinks)
    for r in regs:
        c = r.centroid
        pieces = exact_pieces(net, c)
        width = hidden + (net.output_size if kinked_out else 0)
        assert r.pattern[:width] == pieces[:width]
        # the output forms: exact at the centroid and at two more interior points
        v0, v1 = r.vertices[0], r.vertices[1]
        for q in (c, ((c[0] + v0[0]) / 2, (c[1] + v0[1]) / 2),
                  ((c[0] + v1[0]) / 2, (c[1] + v1[1]) / 2)):
            y = net.evaluate(list(q))
            assert tuple(a * q[0] + b * q[1] + k for a, b, k in r.forms) == y
    assert len(set(r.pattern for r in regs)) == F     # one region per pattern
    assert p.layer_regions[-1] == F
    assert list(p.layer_regions) == sorted(p.layer_regions)


def kinked_columns(net: Network) -> list[int]:
    cols, pos = [], 0
    for layer in net.layers:
        if layer.activation.kinks:
            cols.extend(range(pos, pos + layer.n_out))
        pos += layer.n_out
    return cols


def check_against_reference(p: PlanarPartition, net: Network) -> None:
    domain = list(p.polygon.vertices)
    expect = ref.regions(net, domain)
    cols = kinked_columns(net)
    got = {tuple(r.pattern[c] for c in cols): r for r in p.regions}
    assert set(got) == set(expect)
    for pat, (poly, forms) in expect.items():
        assert set(got[pat].vertices) == set(poly)
        assert got[pat].forms == forms
    polys = [list(r.vertices) for r in p.regions]
    V, E, adjacent = ref.graph(polys, domain)
    assert (p.num_vertices, p.num_edges) == (V, E)
    assert {tuple(map(int, e)) for e in p.adjacent_pairs} == adjacent
    for k in range(net.output_size):
        assert p.pieces(k) == ref.pieces([r.forms[k] for r in p.regions], adjacent)


def crossings(p: PlanarPartition, a: tuple[Fraction, Fraction], b: tuple[Fraction, Fraction]
              ) -> tuple[int, bool]:
    """Regions the segment ``a b`` meets in a positive length, and whether it
    avoids every vertex of the partition."""
    count = 0
    for r in p.regions:
        lo, hi = Fraction(0), Fraction(1)
        v = r.vertices
        for i in range(len(v)):
            p0, p1 = v[i], v[(i + 1) % len(v)]
            ex, ey = p1[0] - p0[0], p1[1] - p0[1]
            # inside: cross(e, x - p0) >= 0 along x = a + t (b - a)
            f0 = ex * (a[1] - p0[1]) - ey * (a[0] - p0[0])
            f1 = ex * (b[1] - a[1]) - ey * (b[0] - a[0])
            if f1 == 0:
                if f0 < 0:
                    lo, hi = Fraction(1), Fraction(0)
            elif f1 > 0:
                lo = max(lo, -f0 / f1)
            else:
                hi = min(hi, -f0 / f1)
        if hi > lo:
            count += 1
    avoids = True
    for v in range(p.num_vertices):
        x, y = p.vertex(v)
        cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
        if cross == 0 and min(a[0], b[0]) <= x <= max(a[0], b[0]) and \
                min(a[1], b[1]) <= y <= max(a[1], b[1]):
            avoids = False
    return count, avoids


def product_network(net: Network) -> Network:
    """f(x) + f(y) for a one-input chain f: block-diagonal layers."""
    layers = []
    for k, layer in enumerate(net.layers):
        n, m = layer.n_out, layer.n_in
        w = [[Fraction(0)] * (2 * m) for _ in range(2 * n)]
        for i in range(n):
            for j in range(m):
                w[i][j] = layer.weights[i][j]
                w[n + i][m + j] = layer.weights[i][j]
        bias = list(layer.bias) * 2
        if k == len(net.layers) - 1:
            w = [[a + b for a, b in zip(w[i], w[n + i])] for i in range(n)]
            bias = [layer.bias[i] * 2 for i in range(n)]
        layers.append(pwl.Layer(tuple(map(tuple, w)), tuple(bias), layer.activation))
    return Network.sequential(layers)


# -- hand-computed partitions --------------------------------------------------------
def test_one_neuron_two_regions():
    net = Network.sequential([([[1, -1]], ["1/2"]), ([[1]], [0], "identity")])
    p = partition2d(net, box=(0, 1, 0, 1))
    assert (p.num_regions, p.pieces(), p.num_vertices, p.num_edges) == (2, 2, 6, 7)
    areas = sorted(r.area for r in p.regions)
    assert areas == [Fraction(1, 8), Fraction(7, 8)]
    check_invariants(p, net)
    check_against_reference(p, net)


def test_abs_sum_four_regions():
    # relu(x) + relu(-x) + relu(y) + relu(-y) = |x| + |y|: four quadrants, four pieces
    net = Network.sequential([([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0]),
                              ([[1, 1, 1, 1]], [0], "identity")])
    p = partition2d(net, box=(-1, 1, -1, 1))
    assert (p.num_regions, p.pieces(), p.num_vertices, p.num_edges) == (4, 4, 9, 12)
    for r in p.regions:
        assert r.area == 1
        assert (Fraction(0), Fraction(0)) in r.vertices
    check_invariants(p, net)
    check_against_reference(p, net)


def test_relu_of_abs_sum_level_set():
    # relu(|x| + |y| - 1): the diamond |x| + |y| = 1 cuts each quadrant once more
    net = Network.sequential([([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 0, 0, 0]),
                              ([[1, 1, 1, 1]], [-1]), ([[1]], [0], "identity")])
    p = partition2d(net, box=(-2, 2, -2, 2))
    assert p.num_regions == 8 and p.pieces() == 5     # the inside of the diamond is 0
    check_invariants(p, net)
    check_against_reference(p, net)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_triangle_wave_product(depth):
    """tri^D(x) + tri^D(y) on the unit square: the grid of the 1-D partitions."""
    from pwl.theory.constructions import telgarsky

    net1 = telgarsky(depth)
    one = pwl.count(net1, (0, 1))
    net = product_network(net1)
    p = partition2d(net, box=(0, 1, 0, 1))
    assert p.num_regions == one.activation_regions ** 2
    assert p.pieces() == one.pieces ** 2
    n = one.activation_regions
    assert (p.num_vertices, p.num_edges) == ((n + 1) ** 2, 2 * n * (n + 1))
    check_invariants(p, net)
    if depth <= 2:
        check_against_reference(p, net)


def test_polygon_domain_and_orientation():
    net = Network.sequential([([[1, 0], [0, 1], [1, 1]], [0, 0, "-1/3"]),
                              ([[1, -1, 2]], [0], "identity")])
    tri = [(0, 0), (0, 1), (1, 0)]          # clockwise: stored counter-clockwise
    p = partition2d(net, polygon=tri)
    assert p.polygon.area == Fraction(1, 2)
    check_invariants(p, net)
    check_against_reference(p, net)


# -- generated networks against the reference ----------------------------------------
entries = st.one_of(st.integers(-3, 3).map(Fraction),
                    st.builds(Fraction, st.integers(-5, 5), st.integers(1, 4)))


@st.composite
def small_networks(draw, float_weights=False):
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 3)) for _ in range(depth)]
    if sum(widths) > 7:
        widths = widths[:1]
    acts = ["relu"] * len(widths)
    if draw(st.booleans()):
        acts[-1] = draw(st.sampled_from(["leaky_relu", "hardtanh", "abs"]))
    n, specs = 2, []
    sizes = widths + [draw(st.integers(1, 2))]
    for k, w in enumerate(sizes):
        if float_weights:
            seed = draw(st.integers(0, 2**32 - 1))
            rng = np.random.default_rng(seed)
            weights = rng.normal(0, 1, (w, n)).tolist()
            bias = rng.normal(0, 0.5, w).tolist()
            specs.append(pwl.Layer.from_floats(np.array(weights), np.array(bias),
                                               acts[k] if k < len(widths) else "identity"))
        else:
            weights = [[draw(entries) for _ in range(n)] for _ in range(w)]
            if draw(st.booleans()) and w > 1:      # a repeated or scaled row
                weights[-1] = [v * draw(st.sampled_from([1, -1, 2])) for v in weights[0]]
            bias = [draw(entries) for _ in range(w)]
            specs.append({"weights": [[str(v) for v in r] for r in weights],
                          "bias": [str(v) for v in bias],
                          "activation": acts[k] if k < len(widths) else "identity"})
        n = w
    return Network.sequential(specs)


boxes = st.tuples(st.integers(-3, 0), st.integers(1, 3), st.integers(-3, 0),
                  st.integers(1, 3)).map(lambda t: tuple(Fraction(v) for v in t))


@settings(max_examples=40)
@given(small_networks(), boxes)
def test_generated_integer_networks_match_reference(net, box):
    p = partition2d(net, box=box)
    check_invariants(p, net)
    check_against_reference(p, net)


@settings(max_examples=25)
@given(small_networks(float_weights=True), boxes)
def test_generated_float_networks_match_reference(net, box):
    p = partition2d(net, box=box)
    check_invariants(p, net)
    check_against_reference(p, net)


@settings(max_examples=25)
@given(small_networks(), boxes, st.lists(st.integers(1, 10**4), min_size=4, max_size=4))
def test_segments_agree_with_the_one_input_engine(net, box, nums):
    p = partition2d(net, box=box)
    x0, x1, y0, y1 = box
    # a segment between two points inside the box, with large prime denominators
    fa = (x0 + (x1 - x0) * Fraction(nums[0], 10007), y0 + (y1 - y0) * Fraction(nums[1], 10009))
    fb = (x0 + (x1 - x0) * Fraction(nums[2], 10037), y0 + (y1 - y0) * Fraction(nums[3], 10039))
    if fa == fb:
        fb = (fb[0], fb[1] + Fraction(1, 7) * (y1 - fb[1]))
    line = pwl.restrict_to_line(net, list(fa), list(fb))
    one = pwl.count(line, (0, 1))
    crossed, avoids = crossings(p, fa, fb)
    if avoids:
        assert crossed == one.activation_regions
    else:                     # through a vertex it may skip regions that only touch it
        assert one.activation_regions <= crossed


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1))
def test_float_network_invariants(seed):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 1, (5, 2)), rng.normal(0, 0.6, (3, 5)), rng.normal(0, 0.5, (2, 3))]
    bs = [rng.normal(0, 0.3, 5), rng.normal(0, 0.3, 3), np.zeros(2)]
    net = Network.from_arrays(ws, bs)
    p = partition2d(net, box=(-2, 2, -2, 2))
    check_invariants(p, net)
    if p.num_regions < 60:
        check_against_reference(p, net)


# -- planes through many-input networks ----------------------------------------------
def test_plane_through_three_input_network():
    net = Network.sequential([([[1, 2, -1], [0, 1, 1], [1, -1, 0]], [0, "-1/2", "1/3"]),
                              ([[1, -1, 1], [2, 0, -1]], [0, 1]),
                              ([[1, 1]], [0], "identity")])
    P = ([0, 0, 0], [1, 0, 1], [0, 1, "1/2"])
    p = partition2d(net, plane=P)
    flat = restrict_to_plane(net, *P)
    check_invariants(p, flat)
    check_against_reference(p, flat)
    # the patterns are those of the original network at P0 + s (P1 - P0) + t (P2 - P0)
    pts = [[Fraction(v) for v in q] for q in P]
    for r in p.regions:
        s, t = r.centroid
        x = [a + s * (b - a) + t * (c - a) for a, b, c in zip(*pts)]
        assert exact_pieces(net, tuple(x))[:5] == r.pattern[:5]    # 3 + 2 hidden neurons
        y = net.evaluate(x)
        assert tuple(a * s + b * t + c for a, b, c in r.forms) == y


def test_plane_through_float_mlp():
    rng = np.random.default_rng(3)
    ws = [rng.normal(0, 0.2, (8, 20)), rng.normal(0, 0.4, (6, 8)), rng.normal(0, 0.4, (3, 6))]
    net = Network.from_arrays(ws, [rng.normal(0, 0.1, 8), rng.normal(0, 0.1, 6), np.zeros(3)])
    P = [rng.normal(0, 1, 20).tolist() for _ in range(3)]
    pts = [[pwl.from_float_exact(v) for v in q] for q in P]
    p = partition2d(net, plane=pts)
    check_invariants(p, restrict_to_plane(net, *pts))
    assert p.pieces(None) >= max(p.pieces(k) for k in range(3))


# -- the partition object ----------------------------------------------------------------
def test_partition_api_exports_and_graph():
    net = Network.sequential([([[1, 0], [0, 1], [1, 1]], [0, 0, -1]),
                              ([[1, 1, -1]], [0], "identity")])
    p = partition2d(net, box=(-1, 1, -1, 1))
    g = p.adjacency()
    assert g.number_of_nodes() == p.num_regions
    assert g.number_of_edges() == len(p.adjacent_pairs)
    import networkx as nx
    assert nx.is_connected(g)
    import json
    data = json.loads(p.to_json())
    assert data["regions"] == p.num_regions and len(data["regions_list"]) == p.num_regions
    first = data["regions_list"][0]
    assert [Fraction(x) for x in first["vertices"][0]] == list(p.regions[0].vertices[0])
    csv_text = p.to_csv()
    assert csv_text.count("\n") == p.num_regions + 1
    with pytest.raises(ValueError):
        p.piece_labels(0)[0] = 5          # immutable
    with pytest.raises(PWLError):
        p.pieces(3)
    with pytest.raises(AttributeError):
        p.polygon = None
    with pytest.raises(ValueError):
        p.patterns[0, 0] = 1


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"polygon": [(0, 0), (1, 1), (2, 2)]}, "collinear"),
    ({"polygon": [(0, 0), (1, 0)]}, "at least 3"),
    ({"polygon": [(0, 0), (2, 0), (0, 2), (2, 2)]}, "not convex"),
    ({"box": (1, 0, 0, 1)}, "X0 < X1"),
    ({"box": ("a", 1, 0, 1)}, "box X0"),
])
def test_bad_domains_refused(kwargs, message):
    net = Network.sequential([([[1, 1]], [0])])
    with pytest.raises(DomainError if message != "box X0" else PWLError, match=message):
        partition2d(net, **kwargs)


def test_bad_planes_and_inputs_refused():
    net3 = Network.sequential([([[1, 1, 1]], [0])])
    with pytest.raises(DomainError, match="collinear"):
        partition2d(net3, plane=([0, 0, 0], [1, 1, 1], [2, 2, 2]))
    with pytest.raises(PWLError, match="2 inputs; this one has 3"):
        partition2d(net3, box=(0, 1, 0, 1))
    with pytest.raises(PWLError, match="expected 3 coordinates"):
        partition2d(net3, plane=([0, 0], [1, 0, 0], [0, 1, 0]))
    with pytest.raises(PWLError, match="wind around more than once"):
        Polygon([(0, 3), (2, -3), (-3, 1), (3, 1), (-2, -3)])
