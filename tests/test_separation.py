"""Depth separation (lecture 001): no shallow network is close to 16 tri^D.

Each report is checked against a second computation: kappa(g) by the
counting front end, the L1 distance by exact evaluation at the knots of both
functions, the lower bounds from their formulas.  The least-squares
competitor is checked for optimality exactly (its residual is orthogonal to
every hat function on its knots).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of
import pwl
from pwl.theory.constructions import telgarsky
from pwl.theory.distances import distance
from pwl.errors import PWLValueError
from pwl.theory.separation import COMPETITORS, competitor, min_width, separation

UNIT = (Fraction(0), Fraction(1))
STEPS = 15  # gradient steps for "trained": enough to move, cheap to run


def target(depth: int) -> pwl.PiecewiseLinear:
    return function_of(telgarsky(depth, 16), UNIT)


# -- independent computations --------------------------------------------------------
def knots_of(*functions: pwl.PiecewiseLinear) -> list[Fraction]:
    return sorted({Fraction(0), Fraction(1), *(b for f in functions for b in f.breakpoints)})


def l1_by_evaluation(depth: int, g: pwl.Network) -> Fraction:
    """int_0^1 |16 tri^D - g| from exact forward passes at the knots of both,
    after checking by evaluation that both are affine between those knots."""
    f = telgarsky(depth, 16)
    xs = knots_of(function_of(f, UNIT), function_of(g, UNIT))
    d = [f.evaluate(x)[0] - g.evaluate(x)[0] for x in xs]
    total = Fraction(0)
    for x0, x1, u, v in zip(xs, xs[1:], d, d[1:]):
        mid = (x0 + x1) / 2
        assert f.evaluate(mid)[0] - g.evaluate(mid)[0] == (u + v) / 2
        h = x1 - x0
        if u * v >= 0:
            total += h * (abs(u) + abs(v)) / 2
        else:
            total += h * (u * u + v * v) / (2 * (abs(u) + abs(v)))
    return total


def product_integral(f: pwl.PiecewiseLinear, g: pwl.PiecewiseLinear) -> Fraction:
    """int f g over [0, 1] for functions on [0, 1] (Simpson: exact on quadratics)."""
    xs = knots_of(f, g)
    return sum(((b - a) * (f(a) * g(a) + 4 * f((a + b) / 2) * g((a + b) / 2) + f(b) * g(b)) / 6
                for a, b in zip(xs, xs[1:])), Fraction(0))


def hats(xs: list[Fraction]) -> list[pwl.PiecewiseLinear]:
    """The hat function of every knot (1 there, 0 at the other knots)."""
    return [pwl.PiecewiseLinear.from_points(xs, [Fraction(int(i == j)) for j in range(len(xs))])
            for i in range(len(xs))]


def check_report(r, depth: int, width: int, layers: int, name: str) -> None:
    m = 2**depth
    g = r.network
    assert (r.depth, r.width, r.layers, r.competitor) == (depth, width, layers, name)
    assert g.depth == layers and g.widths == (width,) * layers and g.output_size == 1
    # kappa(g): the report against the counting front end, every method
    assert r.kappa_g == pwl.count(g, UNIT).pieces
    assert r.kappa_g == pwl.count(g, UNIT, method="enumerate").pieces
    assert r.kappa_g == function_of(g, UNIT).num_pieces
    # ... and against the architecture: kappa(g) <= 2^k n^k and <= (n + 1)^k
    assert r.kappa_g <= min(2**layers * width**layers, (width + 1) ** layers)
    # the distance, two ways
    assert r.l1 == distance(telgarsky(depth, 16), g, UNIT)
    assert r.l1 == l1_by_evaluation(depth, g)
    # the bounds, from their formulas
    assert r.bound_lecture == 1 - Fraction(r.kappa_g, m)
    assert r.bound_sharp == 2 * r.bound_lecture
    assert r.bound_arch_lecture == 1 - Fraction(2**layers * width**layers, m)
    assert r.bound_arch_one_input == 1 - Fraction((width + 1) ** layers, m)
    # the theorem
    assert r.holds is True
    assert r.l1 >= r.bound_sharp
    assert r.l1 >= r.bound_arch_lecture and r.l1 >= r.bound_arch_one_input
    if r.bound_lecture >= 0:
        assert r.bound_sharp >= r.bound_lecture


def widths_for(depth: int) -> list[int]:
    """Widths with n < 2^D (one that divides it, an odd one) and n > 2^D."""
    m = 2**depth
    return sorted({1, 2, 3, m // 2 + 1, m + 1})


TABLE = ([(d, n, 1, name) for d in range(2, 7) for n in widths_for(d) for name in COMPETITORS]
         + [(d, n, 2, name) for d in (2, 4, 6) for n in (1, 3) for name in ("interp", "lstsq")])


@pytest.mark.parametrize("depth,width,layers,name", TABLE)
def test_separation_report(depth: int, width: int, layers: int, name: str) -> None:
    r = separation(depth, width, layers, name, seed=depth + width, steps=STEPS)
    check_report(r, depth, width, layers, name)


@pytest.mark.parametrize("name", ["random", "trained"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("width", [1, 3])
def test_separation_report_two_float_layers(name: str, seed: int, width: int) -> None:
    """Two hidden layers of float weights (taken at their exact binary value):
    the forms' integers pass 2^63, the engine's Python-integer fallback."""
    r = separation(3, width, 2, name, seed=seed, steps=STEPS)
    check_report(r, 3, width, 2, name)


@settings(max_examples=25)
@given(depth=st.integers(2, 6), width=st.integers(1, 9), seed=st.integers(0, 2**32 - 1),
       name=st.sampled_from(["random", "trained"]))
def test_seeded_competitors(depth: int, width: int, seed: int, name: str) -> None:
    r = separation(depth, width, 1, name, seed=seed, steps=STEPS)
    check_report(r, depth, width, 1, name)
    # seeded: the same seed builds the same network
    assert competitor(name, depth, width, 1, seed, STEPS) == r.network


def test_a_given_network_is_used_as_is() -> None:
    g = pwl.Network.sequential([([[1]], [0]), ([[8]], [0], "identity")])
    r = separation(3, 1, network=g)
    assert r.network is g and r.kappa_g == 1
    assert r.l1 == distance(telgarsky(3, 16), g, UNIT) == l1_by_evaluation(3, g)
    assert r.holds


# -- the competitors themselves ---------------------------------------------------
@pytest.mark.parametrize("depth", [2, 3, 4, 5, 6])
def test_interp_interpolates_at_knots_that_alternate(depth: int) -> None:
    f = target(depth)
    m = 2**depth
    for n in widths_for(depth):
        g = function_of(competitor("interp", depth, n), UNIT)
        xs = knots_of(g)
        assert [g(x) for x in xs] == [f(x) for x in xs]
        # every knot is a multiple of 1 / 2^D, and with n < 2^D there are n
        # pieces whose knots alternate between zeros and peaks of f (but for
        # the last one, 1, where f is 0)
        assert all((x * m).denominator == 1 for x in xs)
        assert g.num_pieces == min(n, m)
        if n < m:
            assert len(xs) == n + 1
            assert [f(x) for x in xs[:-1]] == [16 * (i % 2) for i in range(n)]
            assert f(xs[-1]) == 0
        else:
            assert g == f


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_lstsq_is_the_l2_projection(depth: int) -> None:
    """lstsq g on the interp knots: int (f - g) phi = 0 for every hat phi,
    hence no function on those knots (interp included) is closer in L2."""
    f = target(depth)
    for n in widths_for(depth):
        interp = competitor("interp", depth, n)
        lstsq = competitor("lstsq", depth, n)
        xs = knots_of(function_of(interp, UNIT))
        g = function_of(lstsq, UNIT)
        assert set(g.breakpoints) <= set(xs)
        residual = f - g
        for phi in hats(xs):
            assert product_integral(residual, phi) == 0
        e_lstsq = distance(f, lstsq, UNIT, "l2sq")
        e_interp = distance(f, interp, UNIT, "l2sq")
        assert e_lstsq <= e_interp
        # Pythagoras: |f - interp|^2 = |f - g|^2 + |g - interp|^2
        assert e_interp == e_lstsq + distance(g, interp, UNIT, "l2sq")
        if n >= 2**depth:
            assert e_lstsq == 0 == e_interp


@settings(max_examples=25)
@given(depth=st.integers(2, 5), n=st.integers(1, 8), data=st.data())
def test_lstsq_beats_every_perturbation(depth: int, n: int, data) -> None:
    f = target(depth)
    lstsq = function_of(competitor("lstsq", depth, n), UNIT)
    xs = knots_of(function_of(competitor("interp", depth, n), UNIT))
    ys = [lstsq(x) + data.draw(st.fractions(-2, 2, max_denominator=7)) for x in xs]
    other = pwl.PiecewiseLinear.from_points(xs, ys)
    assert distance(f, lstsq, UNIT, "l2sq") <= distance(f, other, UNIT, "l2sq")


def test_unknown_competitor_and_bad_sizes_are_refused() -> None:
    with pytest.raises(PWLValueError, match="nearest"):
        competitor("nearest", 3, 2)
    for width, layers in ((0, 1), (2, 0)):
        with pytest.raises(PWLValueError):
            competitor("interp", 3, width, layers)
    with pytest.raises(PWLValueError):
        separation(0, 2)


# -- min_width --------------------------------------------------------------------
def allowed(depth: int, n: int, epsilon: Fraction, layers: int) -> bool:
    """Do the bounds allow L1 error epsilon with `layers` layers of width n?
    The sharp bound with kappa(g) at its largest for the architecture."""
    kappa_max = min(2**layers * n**layers, (n + 1) ** layers)
    return 2 * (1 - Fraction(kappa_max, 2**depth)) <= epsilon


EPSILONS = [Fraction(0), Fraction(1, 100), Fraction(1, 4), Fraction(1, 2), Fraction(1),
            Fraction(3, 2), Fraction(2), Fraction(7)]


@pytest.mark.parametrize("depth", range(1, 9))
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_min_width_is_the_smallest_allowed(depth: int, layers: int) -> None:
    for eps in EPSILONS:
        n = min_width(depth, eps, layers)
        assert n >= 1
        assert allowed(depth, n, eps, layers)
        if n > 1:
            assert not allowed(depth, n - 1, eps, layers)


@pytest.mark.parametrize("depth,eps", [(3, Fraction(1, 2)), (4, Fraction(1, 2)),
                                       (4, Fraction(0)), (5, Fraction(1))])
def test_min_width_agrees_with_the_reported_bounds(depth: int, eps: Fraction) -> None:
    """The reports' architecture bounds rule out n - 1 and allow n."""
    n = min_width(depth, eps)

    def arch_allows(w: int) -> bool:
        r = separation(depth, w)
        return 2 * max(r.bound_arch_lecture, r.bound_arch_one_input) <= eps

    assert arch_allows(n)
    assert n == 1 or not arch_allows(n - 1)


def test_min_width_lecture_value_and_bad_epsilon() -> None:
    # lecture: one hidden layer needs n + 1 >= 2^D (1 - eps / 2)
    for depth in range(1, 10):
        m = 2**depth
        assert min_width(depth, Fraction(0)) == max(1, m - 1)
    with pytest.raises(PWLValueError):
        min_width(4, Fraction(-1, 2))
