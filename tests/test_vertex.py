"""The certified route on points (:mod:`pwl.engine.vertex`): the same exact
counts as the exact engine and as the forms route, on generated float
networks, on lines through many-input networks and on networks built so
that float64 cannot decide (which leave points for the forms route, the
way back to forms), with every path of the module taken at least once."""

from __future__ import annotations

from contextlib import contextmanager
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl.engine import certified, vertex
from test_certified_adversarial import (FLOAT_DOMAINS, assert_certified_exact, exact_counts,
                                        float_layers, float_networks, lines)

F = Fraction


class Spy:
    """Counts calls of some of the module's functions (and still calls them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *names: str):
        self.calls = {name: 0 for name in names}
        for name in names:
            original = getattr(vertex, name)

            def wrapped(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
                self.calls[_name] += 1
                return _f(*args, **kwargs)

            monkeypatch.setattr(vertex, name, wrapped)


@contextmanager
def points_everywhere() -> Iterator[None]:
    """Points from the second layer, however narrow and few."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vertex, "MIN_WIDTH", 1)
        mp.setattr(vertex, "MIN_POINTS", 0.0)
        yield


@pytest.fixture
def everywhere() -> Iterator[None]:
    with points_everywhere():
        yield


def counts(net: pwl.Network, domain: Any, points: bool) -> tuple[Any, ...]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        r = certified._Run(net, domain, None, points=points).run()
    return r.pieces, r.joint_pieces, r.activation_regions, r.decisions


# -- against the oracles, points forced on every layer ------------------------------

@settings(max_examples=300, deadline=None)
@given(float_networks(max_width=6, max_depth=4), FLOAT_DOMAINS)
def test_small_float_networks_on_points(net, domain) -> None:  # type: ignore[no-untyped-def]
    with points_everywhere():
        assert_certified_exact(net, domain, reference=True)


@settings(max_examples=80, deadline=None)
@given(float_networks(max_width=40, min_width=7, max_depth=4), FLOAT_DOMAINS)
def test_wide_float_networks_on_points(net, domain) -> None:  # type: ignore[no-untyped-def]
    with points_everywhere():
        assert_certified_exact(net, domain, reference=False)


@settings(max_examples=150, deadline=None)
@given(lines(), st.sampled_from([(F(0), F(1)), None, (F(-1, 2), F(3, 2))]))
def test_lines_on_points(case, domain) -> None:  # type: ignore[no-untyped-def]
    line, small = case
    with points_everywhere():
        assert_certified_exact(line, domain, reference=small)


# -- each path taken, and the same counts as the forms route --------------------------

@pytest.mark.parametrize("domain", [None, (F(-3), F(3))])
@pytest.mark.parametrize("seed", range(4))
def test_he_networks_go_on_points(monkeypatch: pytest.MonkeyPatch, seed: int,
                                  domain: Any) -> None:
    # wide enough for points at the default threshold; no way back to forms, and the
    # output's slope changes settle what the values' bounds leave open
    spy = Spy(monkeypatch, "_cut", "_back_to_forms", "_slope_changes")
    rng = np.random.default_rng(seed)
    Ws, bs = float_layers(rng, [vertex.MIN_WIDTH] * 4, "he")
    net = pwl.Network.from_arrays(Ws, bs)
    on_points = counts(net, domain, True)
    assert spy.calls["_cut"] >= 1 and spy.calls["_back_to_forms"] == 0
    on_forms = counts(net, domain, False)
    assert on_points[:3] == on_forms[:3] == exact_counts(net, domain)
    assert on_points[3]["exact"] == 0
    # every hidden layer cut on points, and the output, are reported
    assert on_points[3]["point_layers"] == spy.calls["_cut"] + 1
    assert on_forms[3]["point_layers"] == 0


def test_slope_changes_settle_output_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    # a deep, wide network: the values at points leave some output cuts
    # open, and the slope changes across them settle them in float64
    settled = []
    original = vertex._slope_changes

    def watch(run: Any, pts: Any, cuts: Any, unsure: np.ndarray, *rest: Any) -> None:
        before = int(unsure.sum())
        original(run, pts, cuts, unsure, *rest)
        settled.append(before - int(unsure.sum()))

    monkeypatch.setattr(vertex, "_slope_changes", watch)
    rng = np.random.default_rng(7)
    Ws, bs = float_layers(rng, [256] * 6, "he")
    net = pwl.Network.from_arrays(Ws, bs)
    domain = (F(-10), F(10))
    on_points = counts(net, domain, True)
    assert sum(settled) > 0
    assert on_points[:3] == counts(net, domain, False)[:3]
    assert on_points[3]["ball"] == on_points[3]["exact"] == 0


@pytest.mark.parametrize("seed", range(6))
def test_ties_on_points_count_exactly(everywhere: None, seed: int) -> None:
    # roots exactly on cuts and equal roots, which points cannot prove
    # (the next test shows the count going back to forms for them)
    rng = np.random.default_rng(seed)
    Ws, bs = float_layers(rng, [12, 12, 12], "ties")
    net = pwl.Network.from_arrays(Ws, bs)
    for domain in (None, (F(-1), F(1))):
        assert_certified_exact(net, domain, reference=True)


def test_some_ties_go_back_to_forms(monkeypatch: pytest.MonkeyPatch, everywhere: None) -> None:
    spy = Spy(monkeypatch, "_cut", "_back_to_forms")
    for seed in range(12):
        rng = np.random.default_rng(seed)
        Ws, bs = float_layers(rng, [12, 12, 12], "ties")
        assert_certified_exact(pwl.Network.from_arrays(Ws, bs), (F(-1), F(1)), reference=False)
    assert spy.calls["_cut"] > 0 and spy.calls["_back_to_forms"] > 0


def test_points_are_not_taken_below_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch, "_cut")
    rng = np.random.default_rng(0)
    Ws, bs = float_layers(rng, [vertex.MIN_WIDTH - 1] * 3, "he")
    counts(pwl.Network.from_arrays(Ws, bs), (F(-1), F(1)), True)
    assert spy.calls["_cut"] == 0


# -- the bounds' ingredients ------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.floats(1e-100, 1e100), st.floats(0, 0.49), st.floats(1e-100, 1e100),
       st.floats(0, 0.49), st.floats(-0.49, 0.49), st.floats(-0.49, 0.49))
def test_ratio_bounds_enclose_the_exact_ratio(A, ra, B, rb, da, db) -> None:  # type: ignore[no-untyped-def]
    # t* = A* / (A* + B*) for any A*, B* within the stated bounds of A~, B~
    eA, eB = A * ra, B * rb
    t, et = vertex._ratio_bounds(np.array([A]), np.array([eA]), np.array([B]), np.array([eB]))
    a_star = F(A) + F(da) * F(eA) * 2
    b_star = F(B) + F(db) * F(eB) * 2
    exact = a_star / (a_star + b_star)
    assert abs(F(float(t[0])) - exact) <= F(float(et[0]))
    w, ew = vertex._quotient_bounds(np.array([A]), np.array([eA]), np.array([B]), np.array([eB]))
    assert abs(F(float(w[0])) - a_star / b_star) <= F(float(ew[0]))


def test_a_root_between_a_cut_and_its_float(monkeypatch: pytest.MonkeyPatch,
                                             everywhere: None) -> None:
    # the cut at 1/5 has the float 0.2000000000000000111 just right of it;
    # the next layer's neuron 1 * relu(5x - 1) - 2^-56 has its root at
    # 1/5 + 2^-56/5, between the two.  The pieces on the cut's two sides
    # have values of opposite signs at the float (-2^-56 and about 4e-17),
    # so the point's bounds (which cover both pieces) leave the sign open,
    # and the forms route finds the third region exactly
    spy = Spy(monkeypatch, "_back_to_forms")
    net = pwl.Network.from_arrays([np.array([[5.0]]), np.array([[1.0]]), np.array([[1.0]])],
                                  [np.array([-1.0]), np.array([-2.0**-56]), np.array([0.0])])
    expected = exact_counts(net, (F(0), F(1)))
    assert expected == ((2,), 2, 3)
    assert counts(net, (F(0), F(1)), True)[:3] == expected
    assert spy.calls["_back_to_forms"] == 1


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.sampled_from([(0, -1, -1), (2, 0, 1)]),
       st.integers(0, 2**32 - 1), st.sampled_from([0.0, 1e-3, 0.5]),
       st.booleans())
def test_compiled_signs_match_numpy(width, points, rays, seed, noise, zeros) -> None:  # type: ignore[no-untyped-def]
    # the compiled kernel takes the same decisions as the numpy code, and
    # returns the same signs, crossings, values and column bounds
    pytest.importorskip("numba")
    from pwl.engine import _jit
    nd, left, right = rays
    points = max(points, 2 - nd)        # a bounded domain has both its ends
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((width, nd + points))
    if zeros:
        z[rng.random(z.shape) < 0.3] = 0.0
    ez = np.abs(rng.standard_normal(z.shape)) * noise
    ez[z == 0] = 0.0
    x = np.sort(rng.standard_normal(points)) + np.arange(points)
    ex = np.abs(rng.standard_normal(points)) * noise * 1e-3
    Ez = np.sqrt((ez * ez).sum(axis=0)) * 1.01
    compiled = vertex._point_signs(z, ez, Ez, x, ex, nd, left, right)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_jit, "kernels", lambda entries=0: None)
        plain = vertex._point_signs(z, ez, Ez, x, ex, nd, left, right)
    assert (compiled is None) == (plain is None)
    if plain is not None and compiled is not None:
        for a, b in zip(compiled[:3], plain[:3]):
            assert np.array_equal(a, b)
        assert np.allclose(compiled[3], plain[3], rtol=1e-12, atol=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(3, 12), min_size=2, max_size=3), st.integers(0, 2**32 - 1),
       st.sampled_from([None, (F(-2), F(2))]))
def test_decimal_networks_on_points(widths, seed, domain) -> None:  # type: ignore[no-untyped-def]
    # weights that are not floats (three-digit decimals): every layer's
    # floats carry their rounding, the output test's slope changes included
    rng = np.random.default_rng(seed)
    layers = []
    n_in = 1
    for k, n_out in enumerate(widths + [1]):
        w = np.round(rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), 3)
        b = np.round(rng.standard_normal(n_out) * 0.5, 3)
        spec = ([[f"{v:.3f}" for v in row] for row in w], [f"{v:.3f}" for v in b])
        layers.append(spec + ("identity",) if k == len(widths) else spec)
        n_in = n_out
    net = pwl.Network.sequential(layers)
    with points_everywhere():
        assert_certified_exact(net, domain, reference=False)


def test_networks_with_blocked_products_stay_on_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    # where the products' rounding is expected to reach the decisions, an
    # exact tie is likely somewhere, and going back from points would cost
    spy = Spy(monkeypatch, "_cut")
    rng = np.random.default_rng(1)
    Ws, bs = float_layers(rng, [vertex.MIN_WIDTH] * 3, "he")
    net = pwl.Network.from_arrays(Ws, bs)
    counts(net, (F(-10), F(10)), True)
    on_points = spy.calls["_cut"]
    assert on_points > 0
    monkeypatch.setattr(certified, "_BLOCKED_ABOVE", -1.0)
    net.forget()
    assert counts(net, (F(-10), F(10)), True)[:3] == exact_counts(net, (F(-10), F(10)))
    assert spy.calls["_cut"] == on_points


def test_a_cut_far_out_goes_back_to_forms(monkeypatch: pytest.MonkeyPatch,
                                          everywhere: None) -> None:
    # the root of 2^-700 x + 2^322 lies at -2^1022: values there come near
    # the float range's end, where no sign is proven, while forms stay far
    # within it; the count goes back to forms (and stays certified)
    spy = Spy(monkeypatch, "_back_to_forms")
    rng = np.random.default_rng(0)
    net = pwl.Network.from_arrays(
        [np.array([[1.0], [-1.0], [2.0**-700], [0.5]]), rng.standard_normal((4, 4)),
         rng.standard_normal((1, 4))],
        [np.array([0.5, 0.3, 2.0**322, -0.2]), rng.standard_normal(4), np.zeros(1)])
    result = counts(net, None, True)
    assert result[:3] == exact_counts(net, None)
    assert spy.calls["_back_to_forms"] == 1 and result[3]["point_layers"] == 0


def test_values_beyond_the_float_range_go_back_to_forms(monkeypatch: pytest.MonkeyPatch,
                                                        everywhere: None) -> None:
    # a layer on points whose values leave the float range (Undecided from
    # the bounds) sends the count back to forms rather than to enumeration
    spy = Spy(monkeypatch, "_back_to_forms")

    def overflow(*args: Any) -> None:
        raise certified.Undecided("forms beyond the float range")

    monkeypatch.setattr(vertex, "_cut", overflow)
    rng = np.random.default_rng(3)
    Ws, bs = float_layers(rng, [10, 10, 10], "he")
    net = pwl.Network.from_arrays(Ws, bs)
    result = counts(net, (F(-2), F(2)), True)
    assert result[:3] == exact_counts(net, (F(-2), F(2)))
    assert spy.calls["_back_to_forms"] == 1
