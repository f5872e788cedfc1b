"""Lecture 000's constructions: rects against their formula, the sine
approximations' pieces and rigorous errors against closed forms and
independent quadrature, Barron's table, and the zigzag that reaches
prod(n_d + 1) within a parameter budget."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from math import prod

import mpmath
import pytest
from mpmath.libmp import to_rational
import sympy
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of, propagate
import pwl
from cli.main import cli
from pwl.lectures.approx import (
    Enclosure,
    barron_table,
    budget_table,
    l1_error_sin,
    l2sq_error_sin,
    parameter_count,
    rect,
    rect_sum,
    sin_rational,
    sine_approximation,
    sine_rects,
    sine_table,
    zigzag,
)
from pwl.theory.bounds import one_input_bound
from pwl.errors import PWLValueError
from pwl.values.function import PiecewiseLinear
from pwl.lectures.interpolation import stored_parameters
from cli_helpers import run



@pytest.fixture(autouse=True)
def fifty_digits():
    """mpmath references at 50 digits, restored after each test."""
    with mpmath.workdps(50):
        yield


def mp(q: Fraction) -> mpmath.mpf:
    return mpmath.mpf(q.numerator) / q.denominator


def inside(value: mpmath.mpf, e: Enclosure, slack: Fraction = Fraction(0)) -> bool:
    """``value`` (an mpf) lies in ``e`` widened by ``slack``, compared exactly."""
    exact = Fraction(*to_rational(mpmath.mpf(value)._mpf_))
    return e.lo - slack <= exact <= e.hi + slack


# -- rects --------------------------------------------------------------------------
def relu(z: Fraction) -> Fraction:
    return max(z, Fraction(0))


def rect_formula(x: Fraction, a: Fraction, b: Fraction, h: Fraction, eps: Fraction) -> Fraction:
    """The slides' code, in Fractions."""
    return h / eps * (relu(x - a) - relu(x - (a + eps)) - relu(x - b) + relu(x - (b + eps)))


rationals = st.fractions(min_value=-4, max_value=4, max_denominator=50)


@settings(max_examples=60)
@given(a=rationals, width=st.fractions(min_value=Fraction(1, 50), max_value=3,
                                       max_denominator=50),
       h=rationals, x=rationals, eps_share=st.fractions(min_value=Fraction(1, 100), max_value=1,
                                                        max_denominator=100))
def test_rect_is_the_slides_formula(a: Fraction, width: Fraction, h: Fraction, x: Fraction,
                                    eps_share: Fraction) -> None:
    b, eps = a + width, width * eps_share
    net = rect(a, b, h, eps)
    assert net.widths == (4,)
    assert net.evaluate(x) == (rect_formula(x, a, b, h, eps),)
    f = function_of(net)
    expected = 1 if h == 0 else 4 if eps == width else 5
    assert f.num_pieces == expected == pwl.count(net).pieces


def test_three_rects_of_the_slides() -> None:
    spec = [(-1, 0, Fraction(2, 5)), (0, 1, Fraction(13, 10)), (1, 2, Fraction(4, 5))]
    net = rect_sum(spec)
    eps = Fraction(1, 10**7)
    rng = random.Random(0)
    for _ in range(50):
        x = Fraction(rng.randint(-3000, 3000), 1000)
        assert net.evaluate(x)[0] == sum(rect_formula(x, Fraction(a), Fraction(b), h, eps)
                                         for a, b, h in spec)
    assert function_of(net).num_pieces == 9


@pytest.mark.parametrize("args,message", [
    ((0, 0, 1), "must be below"),
    ((1, 0, 1), "must be below"),
    ((0, 1, 1, 0), "eps must be positive"),
    ((0, 1, 1, -1), "eps must be positive"),
    ((0, 1, 1, 2), "wider than the rect"),
    ((0, 1, 0.5), "is a float"),
    ((0, "x", 1), "not an exact number"),
])
def test_rect_errors(args: tuple, message: str) -> None:
    with pytest.raises(pwl.PWLError, match=message):
        rect(*args)


def test_rect_sum_errors() -> None:
    with pytest.raises(PWLValueError, match="at least one rect"):
        rect_sum([])
    with pytest.raises(PWLValueError, match=r"rects\[0\]: expected \(a, b, h\)"):
        rect_sum([(0, 1)])


# -- sin ------------------------------------------------------------------------------
@pytest.mark.parametrize("x", [Fraction(1, 2), Fraction(5, 3), Fraction(-7, 2), Fraction(0),
                               Fraction(355, 113)])
@pytest.mark.parametrize("digits", [1, 6, 12, 30])
def test_sin_rational_rounds_to_nearest(x: Fraction, digits: int) -> None:
    q = sin_rational(x, digits)
    assert q.denominator <= 10**digits
    assert abs(mp(q) - mpmath.sin(mp(x))) <= mpmath.mpf(10) ** -digits / 2


@pytest.mark.parametrize("n", [4, 10, 20, 50])
def test_sine_network_shape_pieces_and_heights(n: int) -> None:
    net = sine_rects(n)
    assert net.widths == (4 * (n - 3),)
    f = function_of(net, (0, 5))
    assert f.num_pieces == 2 * n - 3 == pwl.count(net, (0, 5)).pieces
    for i in range(2, n - 1):
        x = Fraction(5 * i, n)
        assert f(x) == sin_rational(x, 12)
    assert f(0) == 0 == f(5)


def test_sine_network_errors() -> None:
    with pytest.raises(PWLValueError, match="at least 4"):
        sine_rects(3)
    with pytest.raises(PWLValueError, match="integer >= 1"):
        sine_rects(True)


def half_closed_form() -> mpmath.mpf:
    """int_0^3 |sin x - 1/2|, roots a = pi/6 and b = 5pi/6."""
    a, b = mpmath.pi / 6, 5 * mpmath.pi / 6
    return ((a / 2 - 1 + mpmath.cos(a)) + (mpmath.cos(a) - mpmath.cos(b) - (b - a) / 2)
            + ((3 - b) / 2 - (mpmath.cos(b) - mpmath.cos(3))))


# closed forms: (g, int |sin - g|), evaluated at 50 digits inside the test
CLOSED = [
    (PiecewiseLinear.affine(0, domain=(0, 5)), lambda: 3 + mpmath.cos(5)),
    # sin x <= x, touching at 0 only
    (PiecewiseLinear.affine(1, domain=(0, 2)), lambda: 1 + mpmath.cos(2)),
    (PiecewiseLinear.affine(0, "1/2", domain=(0, 3)), half_closed_form),
    # a negative domain and one past 2 pi: only the splits at multiples of pi matter
    (PiecewiseLinear.affine(0, domain=(-2, 1)), lambda: (1 - mpmath.cos(2)) + (1 - mpmath.cos(1))),
    (PiecewiseLinear.affine(0, domain=(0, 7)), lambda: 4 + (1 - mpmath.cos(7))),
    # the exact tangencies sin = +-1
    (PiecewiseLinear.affine(0, 1, domain=(0, 3)), lambda: 3 - (1 - mpmath.cos(3))),
    (PiecewiseLinear.affine(0, -1, domain=(4, 5)), lambda: 1 + mpmath.cos(4) - mpmath.cos(5)),
]


@pytest.mark.parametrize("g,value", CLOSED)
def test_l1_error_against_closed_forms(g: PiecewiseLinear, value) -> None:
    e = l1_error_sin(g)
    assert inside(value(), e)
    assert e.width < Fraction(1, 10**30)


def test_l1_error_near_a_tangent() -> None:
    # the tangent of sin at 1, lowered by 10^-30: two roots about 10^-15 apart,
    # which the working precision of 128 bits cannot separate at first
    slope = Fraction(mpmath.nstr(mpmath.cos(1), 45))
    height = Fraction(mpmath.nstr(mpmath.sin(1), 45))
    g = PiecewiseLinear.affine(slope, height - slope - Fraction(1, 10**30), domain=(0, 2))
    e = l1_error_sin(g)
    reference = mpmath.quad(lambda x: abs(mpmath.sin(x) - mp(slope) * x - mp(g(0))), [0, 1, 2])
    assert inside(reference, e, Fraction(1, 10**20))
    assert e.width < Fraction(1, 10**25)


def reference_l1(g: PiecewiseLinear) -> mpmath.mpf:
    """int |sin - g| by quadrature between roots found independently: sign
    changes on a grid of 256 points per piece, refined by bisection."""
    total = mpmath.mpf(0)
    with mpmath.workdps(30):
        for a, b, s, c in g.pieces():
            assert a is not None and b is not None

            def d(x: mpmath.mpf, s: Fraction = s, c: Fraction = c) -> mpmath.mpf:
                return mpmath.sin(x) - mp(s) * x - mp(c)

            grid = mpmath.linspace(mp(a), mp(b), 257)
            points = [grid[0]]
            for u, v in zip(grid, grid[1:]):
                if d(u) * d(v) < 0:
                    for _ in range(90):
                        m = (u + v) / 2
                        u, v = (m, v) if d(m) * d(u) > 0 else (u, m)
                    points.append((u + v) / 2)
            points.append(grid[-1])
            total += sum(abs(mpmath.quad(d, [p, r])) for p, r in zip(points, points[1:]))
    return total


@settings(max_examples=15)
@given(st.lists(st.fractions(min_value=-2, max_value=2, max_denominator=8),
                min_size=2, max_size=6),
       st.fractions(min_value=-3, max_value=1, max_denominator=4),
       st.fractions(min_value=Fraction(1, 2), max_value=4, max_denominator=4))
def test_l1_error_against_quadrature(ys: list, lo: Fraction, length: Fraction) -> None:
    xs = [lo + length * i / (len(ys) - 1) for i in range(len(ys))]
    g = PiecewiseLinear.from_points(xs, ys)
    e = l1_error_sin(g)
    assert e.lo <= e.hi and e.width < Fraction(1, 10**25)
    assert inside(reference_l1(g), e, Fraction(1, 10**15))


@pytest.mark.parametrize("slope,icpt,lo,hi", [(0, 0, 0, 1), (1, 0, 0, 2), ("-1/3", "1/2", -1, 4),
                                               ("10000000", "-7500000", "3/4", "7500001/10000000")])
def test_l2sq_error_against_sympy(slope, icpt, lo, hi) -> None:
    g = PiecewiseLinear.affine(slope, icpt, domain=(lo, hi))
    x = sympy.Symbol("x")
    s, c = sympy.Rational(str(slope)), sympy.Rational(str(icpt))
    exact = sympy.integrate((sympy.sin(x) - s * x - c) ** 2,
                            (x, sympy.Rational(str(lo)), sympy.Rational(str(hi))))
    value = mpmath.mpf(str(sympy.N(exact, 60)))
    assert inside(value, l2sq_error_sin(g))


def test_errors_need_a_bounded_domain() -> None:
    with pytest.raises(pwl.DomainError, match="bounded domain"):
        l1_error_sin(PiecewiseLinear.affine(0))


def test_sine_error_falls_like_one_over_n() -> None:
    rows = sine_table((10, 20, 50))
    for r in rows:
        assert r.l1.width < Fraction(1, 10**25)
        assert r.pieces == 2 * r.n - 3
        assert 11 < r.n * r.l1.lo and r.n * r.l1.hi < 13
    assert rows[0].l1.lo > rows[1].l1.hi > rows[1].l1.lo > rows[2].l1.hi


def test_sine_row_error_is_the_function_error() -> None:
    r = sine_approximation(12)
    assert r.l1 == l1_error_sin(function_of(r.network, (0, 5)))
    assert r.rects == 9 and r.units == 36


# -- Barron ---------------------------------------------------------------------------
def test_barron_table() -> None:
    rows = barron_table((1, 2, 4, 8, 16))
    for r in rows:
        assert r.units == r.q == r.pieces
        assert r.barron == Fraction(1, r.q)
        assert r.mise.width < Fraction(1, 10**25)
    # Barron's rate holds with room to spare; the interpolant's is q^-4
    assert all(r.mise.hi < r.barron for r in rows)
    for a, b in zip(rows[2:], rows[3:]):
        ratio = a.mise.lo / b.mise.hi
        assert 14 < ratio < 17


# -- depth against a budget ------------------------------------------------------------
def fold(n: int, u: Fraction) -> Fraction:
    """The zigzag fold from its description: 1, 0, 1, ... at p/(n+1), slope
    2(n+1) on the left ray, n+1 on the right one."""
    kinks = [Fraction(p, n + 1) for p in range(1, n + 1)]
    values = [Fraction((p + 1) % 2) for p in range(n)]  # 1 at k_1, 0 at k_2, ...
    if u <= kinks[0]:
        return 1 + 2 * (n + 1) * (u - kinks[0])
    if u >= kinks[-1]:
        sign = 1 if values[-1] == 0 else -1
        return values[-1] + sign * (n + 1) * (u - kinks[-1])
    p = max(i for i, k in enumerate(kinks) if k <= u)
    t = (u - kinks[p]) * (n + 1)
    return values[p] + (t if values[p] == 0 else -t)


@settings(max_examples=25)
@given(st.lists(st.integers(min_value=3, max_value=6), min_size=1, max_size=3),
       st.lists(st.fractions(min_value=-2, max_value=3, max_denominator=97), min_size=1,
                max_size=5))
def test_zigzag_reaches_the_one_input_bound(widths: list, xs: list) -> None:
    net = zigzag(widths)
    part = propagate(net)
    assert part.activation_regions == prod(n + 1 for n in widths) == one_input_bound(net)
    assert part.pieces() == part.activation_regions == pwl.count(net).pieces
    for x in xs:
        u = x
        for n in widths:
            u = fold(n, u)
        assert net.evaluate(x) == (u,)


@pytest.mark.parametrize("widths", [[], [2], [3, 2], [3, True]])
def test_zigzag_needs_width_three(widths: list) -> None:
    with pytest.raises(PWLValueError):
        zigzag(widths)


@pytest.mark.parametrize("widths", [[1], [3], [5, 7], [3, 3, 3]])
def test_parameter_count_is_the_dense_entries(widths: list) -> None:
    from pwl.theory.constructions import sawtooth

    net = sawtooth(len(widths), widths[0]) if len(set(widths)) == 1 else zigzag(widths)
    assert parameter_count(net.widths) == stored_parameters(net)


@pytest.mark.parametrize("budget", [10, 40, 100, 250])
def test_budget_table(budget: int) -> None:
    rows = budget_table(budget)
    assert rows and [r.depth for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert r.parameters <= budget < parameter_count([r.width + 1] * r.depth)
        assert r.pieces == r.activation_regions == r.prod_n_plus_1 == (r.width + 1) ** r.depth
        assert r.pieces <= r.bound_lecture
        assert r.sawtooth_pieces == r.width**r.depth
    # deeper is better: the deepest row has the most pieces, the shallowest the fewest
    # (in between, a drop of the uniform width can cost some)
    assert max(r.pieces for r in rows) == rows[-1].pieces
    assert min(r.pieces for r in rows) == rows[0].pieces
    assert parameter_count([3] * (len(rows) + 1)) > budget


def test_budget_below_the_smallest_zigzag() -> None:
    with pytest.raises(PWLValueError, match="below 10"):
        budget_table(9)


# -- Enclosure ----------------------------------------------------------------------------
@given(st.fractions(min_value=-10**6, max_value=10**6), st.fractions(min_value=0, max_value=10),
       st.integers(min_value=1, max_value=20))
def test_rounding_outward_keeps_the_value(lo: Fraction, width: Fraction, digits: int) -> None:
    e = Enclosure(lo, lo + width)
    r = e.rounded(digits)
    assert r.lo <= e.lo and e.hi <= r.hi
    for end in (r.lo, r.hi):
        if end:
            assert len(str(abs(end.numerator)).rstrip("0")) <= digits + 1


def test_enclosure_rejects_reversed_ends() -> None:
    with pytest.raises(PWLValueError, match="above"):
        Enclosure(Fraction(1), Fraction(0))


# -- the commands -----------------------------------------------------------------------------
def invoke(runner: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    return run(runner, *args)


def test_cli_sin_json(runner: CliRunner) -> None:
    result = invoke(runner, "approx", "sin", "-N", "10", "-N", "20", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [r["N"] for r in out["rows"]] == [10, 20]
    assert [r["pieces"] for r in out["rows"]] == [17, 37]
    lo, hi = Fraction(out["rows"][0]["l1"]["lo"]), Fraction(out["rows"][0]["l1"]["hi"])
    e = sine_approximation(10).l1
    assert lo <= e.lo <= e.hi <= hi and hi - lo < Fraction(1, 10**12)


def test_cli_sin_text_and_plot(runner: CliRunner, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "sine.png"
    result = invoke(runner, "approx", "sin", "-N", "10", "--plot", str(path))
    assert result.exit_code == 0
    assert "[1.27340897115, 1.27340897116]" in result.stdout
    assert path.stat().st_size > 1000


def test_cli_rect_barron_budget(runner: CliRunner, tmp_path) -> None:
    out = json.loads(invoke(runner, "approx", "rect", "--rect", "-1", "0", "0.4",
                            "--save", str(tmp_path / "r.json"), "--json").stdout)
    assert out["pieces"] == 5 and out["units"] == 4
    assert pwl.load(tmp_path / "r.json").evaluate("-1/2") == (Fraction(2, 5),)
    out = json.loads(invoke(runner, "approx", "barron", "-q", "2", "-q", "4", "--json").stdout)
    assert [r["pieces"] for r in out["rows"]] == [2, 4]
    out = json.loads(invoke(runner, "approx", "budget", "--params", "40", "--json").stdout)
    assert [(r["depth"], r["pieces"]) for r in out["rows"]] == [(1, 14), (2, 25), (3, 64)]


@pytest.mark.parametrize("args,status,text", [
    (["approx", "rect", "--rect", "1", "0", "1"], 1, "must be below"),
    (["approx", "rect", "--rect", "0", "1", "1", "--eps", "0"], 1, "eps must be positive"),
    (["approx", "rect"], 2, "Missing option"),
    (["approx", "sin", "-N", "3"], 2, "3 is not in the range"),
    (["approx", "sin", "-N", "10", "--plot", "x.jpg"], 1, "unsupported figure format"),
    (["approx", "budget", "--params", "5"], 2, "not in the range"),
])
def test_cli_errors(runner: CliRunner, args: list, status: int, text: str) -> None:
    result = invoke(runner, *args)
    assert result.exit_code == status
    assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_rect_text(runner: CliRunner) -> None:
    result = invoke(runner, "approx", "rect", "--rect", "0", "1", "2", "--eps", "1/2")
    assert result.exit_code == 0
    assert "breakpoints               0, 1/2, 1, 3/2" in result.stdout
