"""The lectures' networks, checked against their definitions written out here.

Each construction is compared with an independent Fraction computation of
the function it claims to build (the triangle map, the n-fold), with exact
evaluation ``net.evaluate(x)`` at random rational points, and with the
engine's count on [0, 1].
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of
import pwl
from pwl.theory.constructions import (
    check_telgarsky,
    pad_depth,
    sawtooth,
    shallow_from_function,
    telgarsky,
)
from pwl.errors import DomainError, PWLValueError

UNIT = (Fraction(0), Fraction(1))


# -- independent definitions ------------------------------------------------------
def _relu(z: Fraction) -> Fraction:
    return z if z > 0 else Fraction(0)


def tri(x: Fraction) -> Fraction:
    """The lecture's triangle map, from its formula."""
    return _relu(_relu(2 * x) - _relu(4 * x - 2))


def tri_power(depth: int, x: Fraction) -> Fraction:
    for _ in range(depth):
        x = tri(x)
    return x


def fold(n: int, y: Fraction) -> Fraction:
    """[0, 1] onto itself n times: up on even n-ths, down on odd ones."""
    t = n * y
    k = min(floor(t), n - 1)
    r = t - k
    return r if k % 2 == 0 else 1 - r


def fold_power(depth: int, n: int, x: Fraction) -> Fraction:
    for _ in range(depth):
        x = fold(n, x)
    return x


def unit_points(draw_den: int = 97) -> st.SearchStrategy[Fraction]:
    """Rationals in [0, 1], ends and dyadic points included."""
    return st.one_of(
        st.builds(lambda d, k: Fraction(k % (d + 1), d), st.integers(1, draw_den),
                  st.integers(0, 10**6)),
        st.builds(lambda e, k: Fraction(k % (2**e + 1), 2**e), st.integers(0, 14),
                  st.integers(0, 10**6)),
        st.sampled_from([Fraction(0), Fraction(1), Fraction(1, 2)]),
    )


def small_q(max_num: int = 9, max_den: int = 5) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(-max_num, max_num), st.integers(1, max_den))


@st.composite
def pl_functions(draw, max_knots: int = 8) -> pwl.PiecewiseLinear:
    """A random continuous piecewise-linear function on a bounded domain."""
    xs = sorted(set(draw(st.lists(small_q(12, 6), min_size=2, max_size=max_knots))))
    if len(xs) < 2:
        xs = [xs[0], xs[0] + 1]
    ys = [draw(small_q()) for _ in xs]
    return pwl.PiecewiseLinear.from_points(xs, ys)


# -- telgarsky ------------------------------------------------------------------
@pytest.mark.parametrize("depth", range(1, 13))
def test_telgarsky_has_2_to_the_depth_uniform_pieces(depth: int) -> None:
    net = telgarsky(depth)
    m = 2**depth
    f = function_of(net, UNIT)
    assert net.depth == depth and net.widths == (2,) * depth
    assert f.num_pieces == m
    assert f.breakpoints == tuple(Fraction(j, m) for j in range(1, m))
    # values at the knots j / 2^D alternate 0, 1, 0, ...
    knots = [Fraction(j, m) for j in range(m + 1)]
    assert [f(x) for x in knots] == [Fraction(j % 2) for j in range(m + 1)]
    assert pwl.count(net, UNIT).pieces == m


@pytest.mark.parametrize("depth", [1, 3, 6])
@pytest.mark.parametrize("scale", [Fraction(1), Fraction(16), Fraction(-3, 7), Fraction(5, 2)])
def test_telgarsky_knot_values_alternate_between_0_and_scale(depth: int, scale: Fraction) -> None:
    net = telgarsky(depth, scale)
    m = 2**depth
    values = [net.evaluate(Fraction(j, m))[0] for j in range(m + 1)]
    assert values == [scale if j % 2 else Fraction(0) for j in range(m + 1)]
    assert function_of(net, UNIT).num_pieces == m


@settings(max_examples=100)
@given(depth=st.integers(1, 12), x=unit_points(),
       scale=st.sampled_from([Fraction(1), Fraction(16), Fraction(-2, 3)]))
def test_telgarsky_evaluates_to_the_composed_triangle_map(depth: int, x: Fraction,
                                                         scale: Fraction) -> None:
    net = telgarsky(depth, scale)
    expected = scale * tri_power(depth, x)
    assert net.evaluate(x) == (expected,)
    assert function_of(net, UNIT)(x) == expected


def test_telgarsky_refuses_bad_depth() -> None:
    for bad in (0, -1, True, "3"):
        with pytest.raises(PWLValueError):
            telgarsky(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [1, 2, 5, 9])
@pytest.mark.parametrize("scale", [1, 16, "1/3", -2])
def test_check_telgarsky_holds(depth: int, scale: object) -> None:
    c = check_telgarsky(depth, scale)
    s = pwl.to_fraction(scale)
    assert c["holds"] is True and c["periodic"] is True and c["in_range"] is True
    assert c["pieces"] == c["expected"] == 2**depth
    assert c["period"] == Fraction(1, 2 ** (depth - 1))
    assert (c["min"], c["max"]) == (min(s, 0), max(s, 0))
    # the period it reports is a period of the network, checked at random points
    f = function_of(c["network"], UNIT)
    for k in range(1, 40):
        x = Fraction(k, 41) * (1 - c["period"])
        assert f(x) == f(x + c["period"])


@pytest.mark.parametrize("depth", [1, 4])
def test_check_telgarsky_fails_for_scale_zero(depth: int) -> None:
    c = check_telgarsky(depth, 0)
    assert c["holds"] is False
    assert c["pieces"] == 1 != c["expected"]


# -- sawtooth -------------------------------------------------------------------
@pytest.mark.parametrize("depth,n", [(d, n) for d in (1, 2, 3) for n in (1, 2, 3, 4, 5)])
def test_sawtooth_has_n_to_the_depth_pieces(depth: int, n: int) -> None:
    net = sawtooth(depth, n)
    f = function_of(net, UNIT)
    m = n**depth
    assert net.depth == depth and net.widths == (n,) * depth
    assert f.num_pieces == m
    assert f.breakpoints == tuple(Fraction(j, m) for j in range(1, m))
    knots = [Fraction(j, m) for j in range(m + 1)]
    assert [f(x) for x in knots] == [fold_power(depth, n, x) for x in knots]


@settings(max_examples=100)
@given(depth=st.integers(1, 3), n=st.integers(1, 6), x=unit_points())
def test_sawtooth_evaluates_to_the_composed_fold(depth: int, n: int, x: Fraction) -> None:
    net = sawtooth(depth, n)
    assert net.evaluate(x) == (fold_power(depth, n, x),)


# -- shallow_from_function --------------------------------------------------------
@settings(max_examples=100)
@given(f=pl_functions(), data=st.data())
def test_shallow_from_function_reproduces_the_function(f: pwl.PiecewiseLinear,
                                                       data: st.DataObject) -> None:
    net = shallow_from_function(f)
    assert f.domain is not None
    lo, hi = f.domain
    assert net.depth == 1 and net.widths == (f.num_pieces,)
    assert function_of(net, f.domain) == f
    for _ in range(5):
        t = data.draw(st.fractions(0, 1, max_denominator=50))
        x = lo + t * (hi - lo)
        assert net.evaluate(x) == (f(x),)


def test_shallow_from_function_needs_a_bounded_domain() -> None:
    with pytest.raises(DomainError):
        shallow_from_function(pwl.PiecewiseLinear.affine(1).relu())


# -- pad_depth ------------------------------------------------------------------
@st.composite
def relu_specs(draw, max_depth: int = 3, max_width: int = 3) -> list:
    """Relu hidden layers; the output activation is often not the identity."""
    depth = draw(st.integers(0, max_depth))
    widths = [1] + [draw(st.integers(1, max_width)) for _ in range(depth)] + [1]
    q = small_q(4, 3)
    layers = []
    for k in range(depth + 1):
        act = (draw(st.sampled_from(["identity", "relu", "abs", "relu6"])) if k == depth
               else "relu")
        layers.append(([[draw(q) for _ in range(widths[k])] for _ in range(widths[k + 1])],
                       [draw(q) for _ in range(widths[k + 1])], act))
    return layers


@st.composite
def bounded_domains(draw) -> tuple[Fraction, Fraction]:
    a = draw(small_q(6, 4))
    return (a, a + draw(small_q(6, 4).filter(lambda v: v > 0)))


@settings(max_examples=100)
@given(spec=relu_specs(), extra=st.integers(0, 3), dom=bounded_domains(), data=st.data())
def test_pad_depth_keeps_the_function_and_reaches_the_depth(spec: list, extra: int,
                                                             dom: tuple, data: st.DataObject) -> None:
    net = pwl.Network.sequential(spec)
    target = max(net.depth + extra, 1)
    padded = pad_depth(net, target, dom)
    assert padded.depth == max(target, net.depth)
    assert function_of(padded, dom) == function_of(net, dom)
    lo, hi = dom
    for _ in range(4):
        x = lo + data.draw(st.fractions(0, 1, max_denominator=30)) * (hi - lo)
        assert padded.evaluate(x) == net.evaluate(x)


def test_pad_depth_keeps_an_output_activation() -> None:
    """pad_depth must keep ``relu(relu(x) - 1)`` on [-2, 2]; the output relu
    matters there (the pre-activation is -1 on [-2, 0])."""
    net = pwl.Network.sequential([([[1]], [0]), ([[1]], [-1], "relu")])
    dom = (Fraction(-2), Fraction(2))
    padded = pad_depth(net, 3, dom)
    assert padded.depth == 3
    assert padded.evaluate(-1) == net.evaluate(-1) == (Fraction(0),)
    assert function_of(padded, dom) == function_of(net, dom)


def test_pad_depth_needs_a_bounded_domain() -> None:
    with pytest.raises(DomainError):
        pad_depth(telgarsky(2), 4, None)
