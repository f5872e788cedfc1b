"""Exact distances: metric axioms, facts from the lecture, and a second
computation from exact evaluation ``net.evaluate(x)`` at the knots."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of
import pwl
from pwl.theory.constructions import telgarsky
from pwl.theory.distances import METRICS, distance
from pwl.errors import DomainError, PWLValueError

UNIT = (Fraction(0), Fraction(1))
HALF = pwl.PiecewiseLinear.affine(0, Fraction(1, 2))


# -- strategies -------------------------------------------------------------------
def small_q(max_num: int = 4, max_den: int = 3) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(-max_num, max_num), st.integers(1, max_den))


@st.composite
def networks(draw, max_depth: int = 2, max_width: int = 3) -> pwl.Network:
    depth = draw(st.integers(0, max_depth))
    widths = [1] + [draw(st.integers(1, max_width)) for _ in range(depth)] + [1]
    q = small_q()
    return pwl.Network.sequential([
        ([[draw(q) for _ in range(widths[k])] for _ in range(widths[k + 1])],
         [draw(q) for _ in range(widths[k + 1])],
         "identity" if k == depth else draw(st.sampled_from(["relu", "relu", "abs", "hardtanh"])))
        for k in range(depth + 1)])


@st.composite
def bounded_domains(draw) -> tuple[Fraction, Fraction]:
    a = draw(small_q(8, 4))
    return (a, a + draw(small_q(8, 4).filter(lambda v: v > 0)))


# -- an independent computation ---------------------------------------------------
def knots(f: pwl.Network, g: pwl.Network, dom: tuple[Fraction, Fraction]) -> list[Fraction]:
    """The domain ends and every breakpoint of f or g.  Between two knots both
    networks must be affine; this is checked by exact evaluation at interior
    points, so a breakpoint the engine missed fails the test."""
    lo, hi = dom
    xs = sorted({lo, hi, *function_of(f, dom).breakpoints, *function_of(g, dom).breakpoints})
    for net in (f, g):
        for a, b in zip(xs, xs[1:]):
            ya, yb = net.evaluate(a)[0], net.evaluate(b)[0]
            for t in (Fraction(1, 3), Fraction(1, 2), Fraction(5, 7)):
                assert net.evaluate(a + t * (b - a))[0] == ya + t * (yb - ya)
    return xs


def by_evaluation(f: pwl.Network, g: pwl.Network, dom: tuple[Fraction, Fraction],
                  metric: str) -> Fraction:
    xs = knots(f, g, dom)
    d = [f.evaluate(x)[0] - g.evaluate(x)[0] for x in xs]
    if metric == "sup":
        return max(abs(v) for v in d)
    total = Fraction(0)
    for x0, x1, u, v in zip(xs, xs[1:], d, d[1:]):
        h = x1 - x0
        if metric == "l2sq":
            total += h * (u * u + u * v + v * v) / 3
        elif u * v >= 0:
            total += h * (abs(u) + abs(v)) / 2
        else:  # the line crosses 0 at the fraction |u| / (|u| + |v|) of the interval
            total += h * (u * u + v * v) / (2 * (abs(u) + abs(v)))
    return total


# -- facts from the lecture ------------------------------------------------------------
@pytest.mark.parametrize("depth", range(1, 9))
def test_triangle_wave_is_a_quarter_from_one_half(depth: int) -> None:
    """int_0^1 |tri^D - 1/2| = 1/4: each of the 2^D pieces runs from 0 to 1."""
    assert distance(telgarsky(depth, 1), HALF, UNIT) == Fraction(1, 4)
    assert distance(HALF, telgarsky(depth, 1), UNIT) == Fraction(1, 4)
    # the same for l2sq (1/12) and sup (1/2), from the same reasoning
    assert distance(telgarsky(depth, 1), HALF, UNIT, "l2sq") == Fraction(1, 12)
    assert distance(telgarsky(depth, 1), HALF, UNIT, "sup") == Fraction(1, 2)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_triangle_wave_distance_by_evaluation(depth: int) -> None:
    const = pwl.Network.sequential([([[0]], ["1/2"], "identity")])
    for metric in METRICS:
        assert distance(telgarsky(depth), const, UNIT, metric) == \
            by_evaluation(telgarsky(depth), const, UNIT, metric)


def test_scaled_triangle_wave_distance_scales() -> None:
    # |16 f - 16 g| = 16 |f - g|: int |16 tri^D - 8| = 16 / 4
    eight = pwl.PiecewiseLinear.affine(0, 8)
    for depth in (1, 3, 6):
        assert distance(telgarsky(depth, 16), eight, UNIT) == 4


# -- metric axioms ---------------------------------------------------------------
@settings(max_examples=40)
@given(f=networks(), dom=bounded_domains(), metric=st.sampled_from(METRICS))
def test_distance_to_itself_is_zero(f: pwl.Network, dom, metric: str) -> None:
    assert distance(f, f, dom, metric) == 0
    assert distance(f, function_of(f, dom), dom, metric) == 0


@settings(max_examples=40)
@given(f=networks(), g=networks(), dom=bounded_domains(), metric=st.sampled_from(METRICS))
def test_distance_is_symmetric_and_nonnegative(f, g, dom, metric: str) -> None:
    d = distance(f, g, dom, metric)
    assert d == distance(g, f, dom, metric) >= 0
    # networks and their functions give the same distance
    assert d == distance(function_of(f, dom), function_of(g, dom), dom, metric)
    assert d == distance(function_of(f, dom), function_of(g, dom), None, metric)


@settings(max_examples=40)
@given(f=networks(), g=networks(), h=networks(), dom=bounded_domains(),
       metric=st.sampled_from(["l1", "sup"]))
def test_triangle_inequality(f, g, h, dom, metric: str) -> None:
    assert distance(f, h, dom, metric) <= distance(f, g, dom, metric) + distance(g, h, dom, metric)


@settings(max_examples=40)
@given(f=networks(), g=networks(), h=networks(), dom=bounded_domains())
def test_triangle_inequality_for_the_l2_norm(f, g, h, dom) -> None:
    # sqrt(a) <= sqrt(b) + sqrt(c)  <=>  a <= b + c + 2 sqrt(bc), checked in rationals
    a, b, c = (distance(f, h, dom, "l2sq"), distance(f, g, dom, "l2sq"),
               distance(g, h, dom, "l2sq"))
    slack = a - b - c
    assert slack <= 0 or slack * slack <= 4 * b * c


@settings(max_examples=40)
@given(f=networks(), g=networks(), dom=bounded_domains())
def test_norms_are_ordered(f, g, dom) -> None:
    """On [lo, hi] of length L: l1 <= L sup, l2sq <= L sup^2, l1^2 <= L l2sq."""
    length = dom[1] - dom[0]
    l1, l2sq, sup = (distance(f, g, dom, m) for m in ("l1", "l2sq", "sup"))
    assert l1 <= length * sup
    assert l2sq <= length * sup * sup
    assert l1 * l1 <= length * l2sq


# -- against exact evaluation -----------------------------------------------------------
@settings(max_examples=50)
@given(f=networks(), g=networks(), dom=bounded_domains(), metric=st.sampled_from(METRICS))
def test_distance_matches_exact_evaluation(f, g, dom, metric: str) -> None:
    assert distance(f, g, dom, metric) == by_evaluation(f, g, dom, metric)


@settings(max_examples=40)
@given(f=networks(), g=networks(), dom=bounded_domains(), data=st.data())
def test_restricting_a_function_first_changes_nothing(f, g, dom, data) -> None:
    """distance(F, G, [a, b]) for functions on a larger domain [lo, hi]."""
    lo, hi = dom
    a = lo + data.draw(st.fractions(0, Fraction(1, 2), max_denominator=9)) * (hi - lo)
    b = hi - data.draw(st.fractions(0, Fraction(1, 2) - Fraction(1, 10),
                                    max_denominator=9)) * (hi - lo)
    for metric in METRICS:
        assert distance(function_of(f, dom), function_of(g, dom), (a, b), metric) == \
            distance(f, g, (a, b), metric)


# -- the whole line ---------------------------------------------------------------------
HAT = pwl.Network.sequential([([[1], [1], [1]], [0, -1, -2]),
                              ([[1, -2, 1]], [0], "identity")])
ZERO = pwl.Network.sequential([([[0]], [0], "identity")])


def test_finite_distance_on_the_whole_line() -> None:
    # the hat relu(x) - 2 relu(x - 1) + relu(x - 2) vanishes outside [0, 2]
    assert distance(HAT, ZERO) == 1
    assert distance(HAT, ZERO, None, "l2sq") == Fraction(2, 3)
    assert distance(HAT, ZERO, None, "sup") == 1
    for metric in METRICS:
        assert distance(HAT, ZERO, None, metric) == by_evaluation(HAT, ZERO, (-1, 3), metric)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("other", [
    pwl.Network.sequential([([[1]], [0], "identity")]),          # x: slope on both rays
    pwl.Network.sequential([([[1]], [0]), ([[1]], [0], "identity")]),  # relu(x): one ray
    pwl.Network.sequential([([[0]], [1], "identity")]),          # a nonzero constant
])
def test_infinite_distance_on_the_whole_line_raises(metric: str, other: pwl.Network) -> None:
    if metric == "sup" and other.evaluate(5) == other.evaluate(-5) == (1,):
        # a constant gap: sup is finite, the integrals are not
        assert distance(HAT, other, None, metric) == 1
        return
    with pytest.raises(DomainError):
        distance(HAT, other, None, metric)


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(PWLValueError, match="l3"):
        distance(HAT, ZERO, UNIT, "l3")


@pytest.mark.parametrize("dom", [(1, 0), (0, 0), ("a", 1)])
def test_bad_domain_is_refused(dom) -> None:
    with pytest.raises(pwl.PWLError):
        distance(HAT, ZERO, dom)


def test_no_float_reaches_the_computation() -> None:
    class Guard(Fraction):
        """A number whose float conversion is an error."""

        def __float__(self) -> float:
            raise AssertionError("float conversion")

    dom: Optional[tuple] = (Guard(0), Guard(3, 2))
    for metric in METRICS:
        assert distance(HAT, ZERO, dom, metric) == by_evaluation(HAT, ZERO, (0, Fraction(3, 2)), metric)
