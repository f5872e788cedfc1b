"""Lecture 001's piece bounds, checked on random networks.

The bounds are recomputed here from the widths and the activations' kinks;
the engine's per-neuron counts are checked against the same network built a
second way, with :class:`pwl.PiecewiseLinear` algebra; and the activation
regions are recounted from activation patterns read by exact forward passes.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of, propagate
import pwl
from pwl.theory.bounds import check_bounds, lecture_bound, one_input_bound
from pwl.theory.constructions import sawtooth, telgarsky

#: kinks of each activation, from its definition
KINKS = {"relu": 1, "abs": 1, "identity": 0, "linear": 0, "hardtanh": 2, "relu6": 2}


def kinks_of(spec_layer: tuple) -> int:
    name = spec_layer[2]
    if name == "leaky_relu":
        return 0 if spec_layer[3]["alpha"] == 1 else 1
    return KINKS[name]


# -- strategies -------------------------------------------------------------------
@st.composite
def relu_specs(draw, min_depth: int = 1, max_depth: int = 3, max_width: int = 4,
               weights: Optional[st.SearchStrategy[int]] = None) -> list:
    """Depth 1-3, widths 1-4, small integer weights; relu hidden, identity out."""
    w = st.integers(-3, 3) if weights is None else weights
    depth = draw(st.integers(min_depth, max_depth))
    widths = [1] + [draw(st.integers(1, max_width)) for _ in range(depth)] + [1]
    return [([[draw(w) for _ in range(widths[k])] for _ in range(widths[k + 1])],
             [draw(w) for _ in range(widths[k + 1])],
             "identity" if k == depth else "relu")
            for k in range(depth + 1)]


@st.composite
def mixed_specs(draw, max_depth: int = 3, max_width: int = 3) -> list:
    """Any activation in any layer (with parameters), small rational weights."""
    q = st.builds(Fraction, st.integers(-4, 4), st.integers(1, 3))
    depth = draw(st.integers(0, max_depth))
    widths = [1] + [draw(st.integers(1, max_width)) for _ in range(depth)] + [1]
    spec = []
    for k in range(depth + 1):
        name = draw(st.sampled_from(["relu", "relu", "abs", "identity", "leaky_relu",
                                     "hardtanh", "relu6"]))
        params: dict = {}
        if name == "leaky_relu":
            params = {"alpha": draw(st.sampled_from([Fraction(0), Fraction(1, 10),
                                                     Fraction(1), Fraction(-2)]))}
        elif name == "hardtanh":
            lo = draw(q)
            params = {"min": lo, "max": lo + draw(q.filter(lambda v: v > 0))}
        spec.append(([[draw(q) for _ in range(widths[k])] for _ in range(widths[k + 1])],
                     [draw(q) for _ in range(widths[k + 1])], name, params))
    return spec


def build(spec: list) -> pwl.Network:
    layers = []
    for layer in spec:
        w, b, name = layer[:3]
        params = layer[3] if len(layer) > 3 else {}
        layers.append({"weights": w, "bias": b, "activation": name, **params})
    return pwl.Network.sequential(layers)


@st.composite
def domains(draw) -> Optional[tuple[Fraction, Fraction]]:
    if draw(st.booleans()):
        return None
    q = st.builds(Fraction, st.integers(-12, 12), st.integers(1, 4))
    a = draw(q)
    return (a, a + draw(q.filter(lambda v: v > 0)))


# -- independent computations -----------------------------------------------------
def neuron_functions(net: pwl.Network, dom) -> list[tuple[list, list]]:
    """Per layer, the pre- and post-activation of every neuron as
    PiecewiseLinear values, built by the function algebra (not the engine)."""
    h = [pwl.PiecewiseLinear.affine(1, 0, dom)]
    out = []
    for layer in net.layers:
        zs = []
        for row, b in zip(layer.weights, layer.bias):
            z = pwl.PiecewiseLinear.affine(0, b, dom)
            for w, f in zip(row, h):
                if w != 0:
                    z = z + w * f
            zs.append(z)
        h = [z.apply(layer.activation) for z in zs]
        out.append((zs, h))
    return out


def interior_points(cuts: tuple, dom) -> list[list[Fraction]]:
    """Three points strictly inside each interval between cuts."""
    lo, hi = (None, None) if dom is None else dom
    ends = [lo, *cuts, hi]
    pts = []
    for a, b in zip(ends, ends[1:]):
        if a is None and b is None:
            pts.append([Fraction(-3), Fraction(0), Fraction(5, 2)])
        elif a is None:
            pts.append([b - 7, b - 1, b - Fraction(1, 3)])
        elif b is None:
            pts.append([a + Fraction(1, 3), a + 1, a + 7])
        else:
            pts.append([a + (b - a) * t for t in (Fraction(1, 5), Fraction(1, 2), Fraction(4, 5))])
    return pts


def pattern(net: pwl.Network, x: Fraction) -> tuple:
    """Piece index of every hidden neuron at x (a kink counts with the piece below)."""
    h = [x]
    pat = []
    for layer in net.layers[:-1]:
        z = [sum((w * v for w, v in zip(row, h)), b) for row, b in zip(layer.weights, layer.bias)]
        pat.extend(sum(1 for t in layer.activation.kinks if v > t) for v in z)
        h = [layer.activation(v) for v in z]
    return tuple(pat)


def regions_by_patterns(net: pwl.Network, dom) -> int:
    cuts = propagate(net, dom).cuts()
    pats = []
    for pts in interior_points(cuts, dom):
        seen = {pattern(net, x) for x in pts}
        assert len(seen) == 1, "a hidden neuron changes piece between two cuts"
        pats.append(seen.pop())
    return 1 + sum(1 for p, q in zip(pats, pats[1:]) if p != q)


# -- the bounds -------------------------------------------------------------------
@settings(max_examples=120)
@given(spec=relu_specs(), dom=domains())
def test_relu_networks_obey_every_bound(spec: list, dom) -> None:
    net = build(spec)
    r = check_bounds(net, dom)
    widths = [len(layer[0]) for layer in spec[:-1]]
    D = len(widths)
    assert r.widths == tuple(widths) and r.depth == D
    assert r.bound_lecture == lecture_bound(net) == 2**D * prod(widths)
    assert r.bound_one_input == one_input_bound(net) == prod(n + 1 for n in widths)
    assert r.pieces == function_of(net, dom).num_pieces == pwl.count(net, dom).pieces
    assert r.activation_regions == regions_by_patterns(net, dom)
    assert r.pieces <= r.bound_lecture
    assert r.activation_regions <= r.bound_one_input
    assert r.pieces <= r.activation_regions
    assert r.violations == ()
    assert r.holds and r.holds_lecture and r.holds_one_input
    assert r.ratio("lecture") == Fraction(r.pieces, r.bound_lecture) <= 1
    assert r.ratio("one_input") == Fraction(r.pieces, r.bound_one_input) <= 1


@settings(max_examples=80)
@given(spec=mixed_specs(), dom=domains())
def test_any_activation_obeys_the_general_bounds(spec: list, dom) -> None:
    net = build(spec)
    r = check_bounds(net, dom)
    m = [kinks_of(layer) for layer in spec]
    widths = [len(layer[0]) for layer in spec[:-1]]
    assert r.bound_lecture == prod((mk + 1) * n for mk, n in zip(m, widths)) * (m[-1] + 1)
    assert r.bound_one_input == prod(mk * n + 1 for mk, n in zip(m, widths)) * (m[-1] + 1)
    assert r.pieces == function_of(net, dom).num_pieces
    assert r.activation_regions == regions_by_patterns(net, dom)
    assert r.violations == ()
    assert r.holds


@settings(max_examples=80)
@given(spec=mixed_specs(), dom=domains())
def test_per_neuron_counts_match_the_function_algebra(spec: list, dom) -> None:
    """The engine's kappa_pre / kappa_post, which the lemma checks read, are
    the piece counts of each neuron built with PiecewiseLinear operations; and
    the lemmas hold for those counts too."""
    net = build(spec)
    part = propagate(net, dom, per_layer=True)
    assert part.layers is not None
    algebra = neuron_functions(net, dom)
    assert len(part.layers) == len(algebra)
    previous = None
    for stats, layer, (zs, hs) in zip(part.layers, net.layers, algebra):
        assert stats.kappa_pre == tuple(z.num_pieces for z in zs)
        assert stats.kappa_post == tuple(h.num_pieces for h in hs)
        factor = len(layer.activation.kinks) + 1
        for i, (z, h) in enumerate(zip(zs, hs)):
            assert h.num_pieces <= factor * z.num_pieces
            if previous is not None:
                used = [k for k, w in zip(previous, layer.weights[i]) if w != 0]
                assert z.num_pieces <= max(sum(k.num_pieces for k in used), 1)
        previous = hs
    assert algebra[-1][1][0] == function_of(net, dom)


@settings(max_examples=60)
@given(spec=relu_specs(max_depth=2), dom=domains(), data=st.data())
def test_engine_function_matches_exact_evaluation(spec: list, dom, data) -> None:
    net = build(spec)
    f = function_of(net, dom)
    lo, hi = (Fraction(-20), Fraction(20)) if dom is None else dom
    for _ in range(6):
        x = lo + data.draw(st.fractions(0, 1, max_denominator=60)) * (hi - lo)
        assert f(x) == net.evaluate(x)[0]


# -- known values -----------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2, 3, 5, 8])
def test_telgarsky_against_the_bounds(depth: int) -> None:
    r = check_bounds(telgarsky(depth), (0, 1))
    assert r.pieces == 2**depth
    assert r.bound_lecture == 2**depth * 2**depth
    assert r.bound_one_input == 3**depth
    assert r.holds and r.violations == ()


@pytest.mark.parametrize("depth,n", [(1, 3), (2, 3), (3, 2), (2, 4)])
def test_sawtooth_against_the_bounds(depth: int, n: int) -> None:
    r = check_bounds(sawtooth(depth, n), (0, 1))
    assert r.pieces == n**depth <= r.bound_one_input == (n + 1) ** depth
    assert r.holds


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_one_hidden_layer_reaches_n_plus_1_regions(n: int) -> None:
    # relu(x - k) for k = 0..n-1, output weights alternating in sign: n kinks
    net = pwl.Network.sequential([([[1]] * n, [-k for k in range(n)]),
                                  ([[(-1) ** k * (k + 1) for k in range(n)]], [0], "identity")])
    r = check_bounds(net)
    assert r.activation_regions == r.bound_one_input == n + 1
    assert r.pieces == n + 1


def test_width_3_two_layers_reach_prod_n_plus_1_regions() -> None:
    """Widths (3, 3) with 16 = (3 + 1)(3 + 1) activation regions on the line.

    Layer 1: relu(x), relu(x - 1), relu(2 - x), kinks 0, 1, 2.  Each
    layer-2 neuron z = c - 3 relu(x) + 5/2 relu(x - 1) - relu(2 - x) has
    slopes +1, -2, +1/2, -1/2 and values c - 2, c - 4, c - 7/2 at 0, 1, 2;
    with c near 15/4 those alternate in sign, so z has a zero in each of the
    four regions, and three values of c give three distinct zeros in each.
    """
    c0 = Fraction(15, 4)
    biases = [c0 - Fraction(1, 8), c0, c0 + Fraction(1, 8)]
    row = [Fraction(-3), Fraction(5, 2), Fraction(-1)]
    net = pwl.Network.sequential([
        ([[1], [1], [-1]], [0, -1, 2]),
        ([row] * 3, biases),
        ([[1, -2, 1]], [0], "identity"),
    ])
    r = check_bounds(net)
    assert r.activation_regions == r.bound_one_input == 16
    assert r.activation_regions == regions_by_patterns(net, None)
    assert r.holds
