"""Tests of :class:`pwl.values.function.PiecewiseLinear`.

Random functions are drawn as *recipes*: the points a function passes through
(and, on the whole line, the slopes of its two end rays).  A recipe evaluates
itself by plain interpolation, independently of the class, and need not be
canonical (collinear points are common), so the constructors' merging is
exercised too.  Every operation is checked against exact pointwise
arithmetic, at random rational points and at every breakpoint involved.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pwl.values.activations import get_activation
from pwl.values.domain import Domain
from pwl.errors import DomainError, PWLError, PWLTypeError, PWLValueError
from pwl.values.function import PiecewiseLinear

F = Fraction
SETTINGS = settings(deadline=None, max_examples=150)
SLOW = settings(deadline=None, max_examples=40)


# -- recipes: functions described independently of the class ------------------
@dataclass(frozen=True)
class Recipe:
    """Points ``(xs[i], ys[i])`` joined by segments; on the whole line
    (``domain is None``) rays of slope ``left`` and ``right`` beyond them."""

    xs: tuple[Fraction, ...]
    ys: tuple[Fraction, ...]
    domain: Domain
    left: Fraction = F(0)
    right: Fraction = F(0)

    def __call__(self, x: Fraction) -> Fraction:
        xs, ys = self.xs, self.ys
        if x <= xs[0]:
            return ys[0] + self.left * (x - xs[0])
        if x >= xs[-1]:
            return ys[-1] + self.right * (x - xs[-1])
        for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]):
            if x0 <= x <= x1:
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        raise AssertionError("unreachable")


def build(recipe: Recipe, via_constructor: bool) -> PiecewiseLinear:
    xs, ys = recipe.xs, recipe.ys
    inner = [(y1 - y0) / (x1 - x0) for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])]
    if recipe.domain is not None:
        if not via_constructor:
            return PiecewiseLinear.from_points(xs, ys)
        bps, slopes, starts = xs[1:-1], inner, list(zip(xs, ys))
    else:
        bps, slopes = xs, [recipe.left] + inner + [recipe.right]
        starts = [(xs[0], ys[0])] + list(zip(xs, ys))
    # Intercepts chosen so that each piece passes through its start point:
    # continuity then holds by construction.
    icpts = [y - s * x for s, (x, y) in zip(slopes, starts)]
    return PiecewiseLinear(bps, slopes, icpts, domain=recipe.domain)


small = st.builds(F, st.integers(-12, 12), st.integers(1, 4))
slope_values = st.builds(F, st.integers(-3, 3), st.integers(1, 2))
positive = st.builds(F, st.integers(1, 8), st.integers(1, 4))
bounded_domains = st.tuples(small, positive).map(lambda t: (t[0], t[0] + t[1]))
domains = st.one_of(st.none(), bounded_domains)


@st.composite
def inside(draw: st.DrawFn, domain: Domain, strict: bool = False) -> Fraction:
    """A rational point in the domain (strictly inside if ``strict``)."""
    if domain is None:
        return draw(st.builds(F, st.integers(-60, 60), st.integers(1, 7)))
    lo, hi = domain
    den = draw(st.integers(2, 12))
    num = draw(st.integers(1, den - 1) if strict else st.integers(0, den))
    return lo + (hi - lo) * F(num, den)


@st.composite
def recipes(draw: st.DrawFn, domain: Domain = None, max_points: int = 7) -> Recipe:
    if domain is None:
        xs = sorted(set(draw(st.lists(small, min_size=1, max_size=max_points))))
        ys = [draw(small) for _ in xs]
        return Recipe(tuple(xs), tuple(ys), None, draw(slope_values), draw(slope_values))
    interior = draw(st.lists(inside(domain, strict=True), max_size=max_points - 2))
    xs = [domain[0]] + sorted(set(interior)) + [domain[1]]
    ys = [draw(small) for _ in xs]
    return Recipe(tuple(xs), tuple(ys), domain)


@st.composite
def functions(draw: st.DrawFn, domain: Optional[Domain] = None,
              any_domain: bool = True) -> PiecewiseLinear:
    if any_domain and domain is None:
        domain = draw(domains)
    return build(draw(recipes(domain)), draw(st.booleans()))


@st.composite
def recipe_and_function(draw: st.DrawFn, domain_strategy: st.SearchStrategy[Domain] = domains
                        ) -> tuple[Recipe, PiecewiseLinear]:
    recipe = draw(recipes(draw(domain_strategy)))
    return recipe, build(recipe, draw(st.booleans()))


@st.composite
def overlapping(draw: st.DrawFn, domain: Domain) -> Domain:
    """A domain whose intersection with ``domain`` is an interval."""
    if domain is None:
        return draw(domains)
    lo, hi = domain
    choice = draw(st.sampled_from(["none", "same", "other"]))
    if choice == "none":
        return None
    if choice == "same":
        return domain
    lo2 = hi - draw(positive)
    return (lo2, max(lo, lo2) + draw(positive))


@st.composite
def pairs(draw: st.DrawFn) -> tuple[PiecewiseLinear, PiecewiseLinear]:
    dom_f = draw(domains)
    dom_g = draw(overlapping(dom_f))
    return (draw(functions(dom_f, any_domain=False)),
            draw(functions(dom_g, any_domain=False)))


# -- helpers ---------------------------------------------------------------------
def common_domain(*fs: PiecewiseLinear) -> Domain:
    los = [f.domain[0] for f in fs if f.domain is not None]
    his = [f.domain[1] for f in fs if f.domain is not None]
    return (max(los), min(his)) if los else None


def check_points(domain: Domain, *fs: PiecewiseLinear,
                 extra: Sequence[Fraction] = ()) -> list[Fraction]:
    """Every breakpoint of ``fs`` in the domain, the domain ends, the midpoints
    between consecutive ones and points beyond them on the whole line: two
    continuous piecewise-linear functions whose breakpoints are all here and
    that agree here are equal."""
    pts = {b for f in fs for b in f.breakpoints} | set(extra)
    if domain is not None:
        pts = {p for p in pts if domain[0] <= p <= domain[1]} | set(domain)
    ordered = sorted(pts) or [F(0)]
    mids = [(a + b) / 2 for a, b in zip(ordered, ordered[1:])]
    if domain is None:
        mids += [ordered[0] - 1, ordered[-1] + 1]
    return sorted(set(ordered) | set(mids))


def assert_canonical(h: PiecewiseLinear) -> None:
    """The stored form is canonical and continuous, and equals itself rebuilt."""
    bps, ss, cs = h.breakpoints, h.slopes, h.intercepts
    assert len(ss) == len(bps) + 1 == len(cs) == h.num_pieces
    assert all(isinstance(v, Fraction) for v in bps + ss + cs)
    assert all(a < b for a, b in zip(bps, bps[1:]))
    if h.domain is not None:
        assert all(h.domain[0] < b < h.domain[1] for b in bps)
    for i, b in enumerate(bps):
        assert (ss[i], cs[i]) != (ss[i + 1], cs[i + 1]), f"collinear pieces at {b}"
        assert ss[i] * b + cs[i] == ss[i + 1] * b + cs[i + 1], f"jump at {b}"
    assert PiecewiseLinear(bps, ss, cs, domain=h.domain) == h


def assert_matches(h: PiecewiseLinear, reference: Callable[[Fraction], Fraction],
                   domain: Domain, operands: Sequence[PiecewiseLinear],
                   extra: Sequence[Fraction] = ()) -> None:
    assert h.domain == domain
    assert_canonical(h)
    for x in check_points(domain, h, *operands, extra=extra):
        assert h(x) == reference(x), f"at x = {x}"


# -- construction and evaluation ---------------------------------------------------
@SETTINGS
@given(recipe_and_function(), st.data())
def test_evaluation_matches_recipe(rf: tuple[Recipe, PiecewiseLinear], data: st.DataObject
                                   ) -> None:
    recipe, f = rf
    assert_canonical(f)
    assert f.domain == recipe.domain
    assert set(f.breakpoints) <= set(recipe.xs)
    points = list(recipe.xs) + [data.draw(inside(f.domain)) for _ in range(5)]
    for x in check_points(f.domain, f, extra=points):
        assert f(x) == recipe(x)


@SETTINGS
@given(recipe_and_function())
def test_both_constructors_agree(rf: tuple[Recipe, PiecewiseLinear]) -> None:
    recipe, f = rf
    g, h = build(recipe, True), build(recipe, False)
    assert g == h == f
    assert hash(g) == hash(h) == hash(f)


@SETTINGS
@given(functions())
def test_pieces_describe_the_function(f: PiecewiseLinear) -> None:
    pieces = f.pieces()
    assert len(pieces) == f.num_pieces
    lo_end, hi_end = f.domain if f.domain is not None else (None, None)
    assert pieces[0][0] == lo_end and pieces[-1][1] == hi_end
    for (lo, hi, s, c), (lo2, _, _, _) in zip(pieces, pieces[1:]):
        assert hi == lo2
    for lo, hi, s, c in pieces:
        if lo is not None and hi is not None:
            mid = (lo + hi) / 2
            assert f(mid) == s * mid + c


def test_merging_collinear_pieces() -> None:
    f = PiecewiseLinear([0, 1, 2], [1, 1, 1, -1], [0, 0, 0, 4])
    assert f.breakpoints == (F(2),)
    assert f.slopes == (F(1), F(-1))
    assert f == PiecewiseLinear([2], [1, -1], [0, 4])
    assert PiecewiseLinear.from_points([0, 1, 2, 3], [0, 1, 2, 3]).num_pieces == 1


def test_affine_and_repr() -> None:
    f = PiecewiseLinear.affine("1/2", -1, domain=(0, "3/2"))
    assert f("3/2") == F(-1, 4)
    assert repr(f) == "PiecewiseLinear(pieces=1, domain=[0, 3/2])"
    assert repr(PiecewiseLinear.affine(1).abs()) == "PiecewiseLinear(pieces=2, domain=None)"


def test_evaluation_accepts_exact_text() -> None:
    f = PiecewiseLinear.from_points([0, 1], [0, 3])
    assert f("0.1") == F(3, 10)
    assert f("1/3") == 1
    assert isinstance(f(1), Fraction)


class NoFloat(Fraction):
    """A rational that refuses to become a float: catches silent conversion."""

    def __float__(self) -> float:
        raise AssertionError("converted to float")


def test_no_float_conversion_anywhere() -> None:
    g = NoFloat
    f = PiecewiseLinear([g(1, 3)], [g(1), g(-2)], [g(0), g(1)], domain=(g(-1), g(2)))
    h = PiecewiseLinear.from_points([g(0), g(1, 2), g(2)], [g(1), g(-1, 3), g(2)])
    results = [f(g(1, 2)), (f + h)(g(1)), (f * g(3, 2))(g(0)), (f / g(7))(g(2)),
               f.maximum(h)(g(1, 5)), f.relu().integral(), f.compose(h.relu() / 3)(g(1)),
               f.abs().integral_of_square(), f.sup_abs(),
               f.restrict(g(0), g(1)).join(f.restrict(g(1), g(2)))(g(3, 2))]
    assert all(isinstance(r, Fraction) for r in results)
    assert results[0] == F(0)


# -- arithmetic ----------------------------------------------------------------------
@SETTINGS
@given(pairs(), st.data())
def test_sum_and_difference(fg: tuple[PiecewiseLinear, PiecewiseLinear],
                            data: st.DataObject) -> None:
    f, g = fg
    dom = common_domain(f, g)
    pts = [data.draw(inside(dom)) for _ in range(4)]
    s, d = f + g, f - g
    assert_matches(s, lambda x: f(x) + g(x), dom, (f, g), pts)
    assert_matches(d, lambda x: f(x) - g(x), dom, (f, g), pts)
    # kappa(f + g) <= kappa(f) + kappa(g): the sum's kinks are among theirs.
    assert s.num_pieces <= f.num_pieces + g.num_pieces
    assert d.num_pieces <= f.num_pieces + g.num_pieces
    assert set(s.breakpoints) <= set(f.breakpoints) | set(g.breakpoints)
    assert f + g == g + f
    assert (f - g) + g == f + g - g


@SETTINGS
@given(functions(), small, st.data())
def test_scalar_operations(f: PiecewiseLinear, c: Fraction, data: st.DataObject) -> None:
    pts = [data.draw(inside(f.domain)) for _ in range(3)]
    cases = {
        "f + c": (f + c, lambda x: f(x) + c),
        "c + f": (c + f, lambda x: c + f(x)),
        "f - c": (f - c, lambda x: f(x) - c),
        "c - f": (c - f, lambda x: c - f(x)),
        "-f": (-f, lambda x: -f(x)),
        "c * f": (c * f, lambda x: c * f(x)),
        "f * c": (f * c, lambda x: f(x) * c),
    }
    if c != 0:
        cases["f / c"] = (f / c, lambda x: f(x) / c)
    for name, (h, ref) in cases.items():
        assert_matches(h, ref, f.domain, (f,), pts)
    if c != 0:
        assert (f * c).num_pieces == f.num_pieces
    else:
        assert (f * c).num_pieces == 1
    assert f - f == 0 * f
    assert +f is f


def test_scalar_text_is_read_exactly() -> None:
    f = PiecewiseLinear.affine(1, domain=(0, 1))
    assert (f * "0.1")(1) == F(1, 10)
    assert (f + "-3/7")(0) == F(-3, 7)
    assert sum([f, f, f]) == 3 * f


@SETTINGS
@given(pairs(), st.data())
def test_maximum_and_minimum(fg: tuple[PiecewiseLinear, PiecewiseLinear],
                             data: st.DataObject) -> None:
    f, g = fg
    dom = common_domain(f, g)
    pts = [data.draw(inside(dom)) for _ in range(4)]
    hi, lo = f.maximum(g), f.minimum(g)
    assert_matches(hi, lambda x: max(f(x), g(x)), dom, (f, g), pts)
    assert_matches(lo, lambda x: min(f(x), g(x)), dom, (f, g), pts)
    # Two cross-checks by other routes.
    assert hi + lo == f + g
    assert hi == g + (f - g).relu()
    assert hi == g.maximum(f) and lo == g.minimum(f)


ACTIVATIONS = [
    ("relu", {}, lambda z: max(z, F(0))),
    ("abs", {}, abs),
    ("identity", {}, lambda z: z),
    ("leaky_relu", {"alpha": "1/10"}, lambda z: z if z > 0 else z / 10),
    ("leaky_relu", {}, lambda z: z if z > 0 else z / 100),
    ("leaky_relu", {"alpha": "-2"}, lambda z: z if z > 0 else -2 * z),
    ("hardtanh", {}, lambda z: min(max(z, F(-1)), F(1))),
    ("hardtanh", {"min": "-1/2", "max": 2}, lambda z: min(max(z, F(-1, 2)), F(2))),
    ("relu6", {}, lambda z: min(max(z, F(0)), F(6))),
]


@pytest.mark.parametrize("name, params, reference", ACTIVATIONS,
                         ids=[f"{n}{p}" for n, p, _ in ACTIVATIONS])
@SETTINGS
@given(f=functions(), data=st.data())
def test_apply_activation(name: str, params: dict[str, object],
                          reference: Callable[[Fraction], Fraction], f: PiecewiseLinear,
                          data: st.DataObject) -> None:
    act = get_activation(name, **params)
    pts = [data.draw(inside(f.domain)) for _ in range(4)]
    h = f.apply(name, **params)
    assert_matches(h, lambda x: reference(f(x)), f.domain, (f,), pts)
    assert f.apply(act) == h
    # Each piece of f meets each kink of the activation at most once.
    assert h.num_pieces <= (len(act.kinks) + 1) * f.num_pieces


@SETTINGS
@given(functions())
def test_relu_at_most_doubles_pieces(f: PiecewiseLinear) -> None:
    r = f.relu()
    assert r.num_pieces <= 2 * f.num_pieces
    assert r == f.maximum(PiecewiseLinear.affine(0, domain=f.domain))
    assert f.abs() == f.relu() + (-f).relu()
    assert f.relu() - (-f).relu() == f


@st.composite
def compose_pairs(draw: st.DrawFn) -> tuple[PiecewiseLinear, PiecewiseLinear]:
    inner = draw(functions())
    if draw(st.booleans()):
        return draw(functions(None, any_domain=False)), inner
    # A bounded outer domain that holds inner's range (computed from its
    # vertices here, independently of the class).
    xs = list(inner.breakpoints) + (list(inner.domain) if inner.domain else [])
    if inner.domain is None:
        assume(inner.slopes[0] == 0 and inner.slopes[-1] == 0)
    values = [inner(x) for x in xs] or [inner.intercepts[0]]
    lo = min(values) - draw(st.sampled_from([F(0), F(1, 3), F(2)]))
    hi = max(values) + draw(st.sampled_from([F(0), F(1, 2), F(1)]))
    if lo == hi:
        hi += 1
    return draw(functions((lo, hi), any_domain=False)), inner


@SETTINGS
@given(compose_pairs(), st.data())
def test_compose(pair: tuple[PiecewiseLinear, PiecewiseLinear], data: st.DataObject) -> None:
    outer, inner = pair
    pts = [data.draw(inside(inner.domain)) for _ in range(4)]
    h = outer.compose(inner)
    # Where inner takes the value of an outer breakpoint, h may kink.
    assert_matches(h, lambda x: outer(inner(x)), inner.domain, (inner,),
                   pts + list(h.breakpoints))
    for x in check_points(inner.domain, inner):
        assert h(x) == outer(inner(x))
    assert h.num_pieces <= inner.num_pieces * (outer.num_pieces + 1)


def test_compose_triangle_maps() -> None:
    tri = PiecewiseLinear.from_points([0, "1/2", 1], [0, 1, 0])
    h = tri
    for depth in range(1, 9):
        assert h.num_pieces == 2 ** depth
        assert (h - F(1, 2)).abs().integral() == F(1, 4)
        assert h.breakpoints == tuple(F(k, 2 ** depth) for k in range(1, 2 ** depth))
        h = tri.compose(h)


# -- domains ------------------------------------------------------------------------------
@SETTINGS
@given(functions(), st.data())
def test_restrict_then_join(f: PiecewiseLinear, data: st.DataObject) -> None:
    if f.domain is None:
        lo = data.draw(inside(None))
        f = f.restrict(lo, lo + data.draw(positive))
    assert f.domain is not None
    cut = data.draw(inside(f.domain, strict=True))
    if f.breakpoints and data.draw(st.booleans()):
        cut = data.draw(st.sampled_from(f.breakpoints))
    left, right = f.restrict(f.domain[0], cut), f.restrict(cut, f.domain[1])
    for part in (left, right):
        assert_matches(part, f, part.domain, (f,))
    assert left.join(right) == f
    assert right.join(left) == f
    assert left.num_pieces + right.num_pieces in (f.num_pieces, f.num_pieces + 1)


@SETTINGS
@given(functions(), st.data())
def test_restrict_values(f: PiecewiseLinear, data: st.DataObject) -> None:
    a = data.draw(inside(f.domain))
    b = data.draw(inside(f.domain))
    assume(a != b)
    a, b = min(a, b), max(a, b)
    g = f.restrict(a, b)
    assert_matches(g, f, (a, b), (f,))
    assert g.restrict(a, b) == g


# -- integrals -------------------------------------------------------------------------------
def trapezoids(xs: Sequence[Fraction], ys: Sequence[Fraction]) -> Fraction:
    return sum(((x1 - x0) * (y0 + y1) / 2
                for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])), F(0))


def squares(xs: Sequence[Fraction], ys: Sequence[Fraction]) -> Fraction:
    # Simpson's rule with the midpoint value, exact for the quadratic y^2.
    return sum(((x1 - x0) * (y0 ** 2 + 4 * ((y0 + y1) / 2) ** 2 + y1 ** 2) / 6
                for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])), F(0))


@SETTINGS
@given(recipe_and_function(bounded_domains))
def test_integrals_on_bounded_domains(rf: tuple[Recipe, PiecewiseLinear]) -> None:
    recipe, f = rf
    assert f.integral() == trapezoids(recipe.xs, recipe.ys)
    assert f.integral_of_square() == squares(recipe.xs, recipe.ys)
    length = recipe.xs[-1] - recipe.xs[0]
    assert f.integral() ** 2 <= length * f.integral_of_square()  # Cauchy-Schwarz
    assert (2 * f).integral_of_square() == 4 * f.integral_of_square()


@SETTINGS
@given(recipes(None))
def test_integrals_on_the_whole_line(recipe: Recipe) -> None:
    # The same points with both ends pinned to 0 and flat zero rays.
    xs = (recipe.xs[0] - 1,) + recipe.xs + (recipe.xs[-1] + 1,)
    ys = (F(0),) + recipe.ys + (F(0),)
    f = build(Recipe(xs, ys, None), via_constructor=True)
    assert f.slopes[0] == f.slopes[-1] == 0
    assert f.integral() == trapezoids(xs, ys)
    assert f.integral_of_square() == squares(xs, ys)


def test_integral_of_square_by_sympy() -> None:
    sympy = pytest.importorskip("sympy")
    f = PiecewiseLinear.from_points([0, "1/3", 1, 2], [1, -2, "1/2", 0])
    x = sympy.Symbol("x")
    expected = sympy.integrate(f.to_sympy(x) ** 2, (x, 0, 2))
    got = f.integral_of_square()
    assert expected == sympy.Rational(got.numerator, got.denominator)


@SETTINGS
@given(recipe_and_function(bounded_domains), st.data())
def test_sup_abs(rf: tuple[Recipe, PiecewiseLinear], data: st.DataObject) -> None:
    recipe, f = rf
    assert f.sup_abs() == max(abs(y) for y in recipe.ys)
    x = data.draw(inside(f.domain))
    assert abs(f(x)) <= f.sup_abs()


def test_sup_abs_on_the_whole_line() -> None:
    clipped = PiecewiseLinear.affine(2, -1).apply("hardtanh")
    assert clipped.sup_abs() == 1
    assert PiecewiseLinear.affine(0, "-5/2").sup_abs() == F(5, 2)


# -- sympy ----------------------------------------------------------------------------------
@SLOW
@given(functions(), st.data())
def test_to_sympy_evaluates_exactly(f: PiecewiseLinear, data: st.DataObject) -> None:
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("t")
    expr = f.to_sympy(x)
    pts = check_points(f.domain, f, extra=[data.draw(inside(f.domain)) for _ in range(2)])
    for p in pts:
        value = expr.subs(x, sympy.Rational(p.numerator, p.denominator))
        assert value == sympy.Rational(f(p).numerator, f(p).denominator)
    if f.domain is not None:
        assert expr.subs(x, sympy.Rational(f.domain[1] + 1)) is sympy.nan
    if f.num_pieces > 1:
        assert isinstance(expr, sympy.Piecewise)


def test_to_sympy_symbol_and_laziness() -> None:
    sympy = pytest.importorskip("sympy")
    f = PiecewiseLinear.affine(1).abs()
    assert f.to_sympy().free_symbols == {sympy.Symbol("x")}
    assert f.to_sympy("y").free_symbols == {sympy.Symbol("y")}
    with pytest.raises(PWLTypeError):
        f.to_sympy(3)  # type: ignore[arg-type]
    import subprocess
    import sys
    code = "import sys, pwl.values.function; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


# -- value semantics --------------------------------------------------------------------------
@SETTINGS
@given(functions())
def test_value_semantics(f: PiecewiseLinear) -> None:
    assert pickle.loads(pickle.dumps(f)) == f
    assert copy.deepcopy(f) == f
    assert hash(pickle.loads(pickle.dumps(f))) == hash(f)
    assert len({f, f + 0, 1 * f}) == 1
    with pytest.raises(AttributeError):
        f.extra = 1  # type: ignore[attr-defined]


def test_equality_needs_equal_domains() -> None:
    f = PiecewiseLinear.affine(1, domain=(0, 1))
    assert f != PiecewiseLinear.affine(1, domain=(0, 2))
    assert f != PiecewiseLinear.affine(1)
    assert f.__eq__("f") is NotImplemented


def test_many_pieces_stay_linear_time() -> None:
    n = 20000
    xs = list(range(n + 1))
    f = PiecewiseLinear.from_points(xs, [k % 2 for k in xs])
    g = PiecewiseLinear.from_points(xs, [(k + 1) % 2 for k in xs])
    assert f.num_pieces == n
    assert f + g == PiecewiseLinear.affine(0, 1, domain=(0, n))
    assert f.maximum(g).num_pieces == 2 * n
    # Each valley of the zigzag becomes one flat piece: 3 pieces per period of 2.
    assert (f - F(1, 2)).relu().num_pieces == 3 * n // 2 + 1
    assert f.integral() == F(n, 2)


# -- errors -----------------------------------------------------------------------------------
LINE = PiecewiseLinear.affine(1)
UNIT = PiecewiseLinear.affine(1, domain=(0, 1))

CONSTRUCTOR_ERRORS = [
    # (breakpoints, slopes, intercepts, domain), error, message fragment
    (([0], [1, 2], [0, 1], None), PWLValueError, "not continuous at breakpoints[0] = 0"),
    (([1, 0], [0, 0, 0], [0, 0, 0], None), PWLValueError, "increase strictly"),
    (([0, 0], [0, 1, 2], [0, 0, 0], None), PWLValueError, "increase strictly"),
    (([0], [1], [0], None), PWLValueError, "slopes: expected 2"),
    (([0], [1, 1], [0], None), PWLValueError, "intercepts: expected 2"),
    (([0.5], [1, 1], [0, 0], None), PWLTypeError, "breakpoints[0]: 0.5 is a float"),
    (([], [1], ["x"], None), PWLValueError, "intercepts[0]"),
    (([2], [1, 1], [0, 0], (0, 2)), DomainError, "not strictly inside"),
    (([], [1], [0], (1, 1)), DomainError, "must be below"),
    (("12", [1, 1], [0, 0], None), PWLTypeError, "expected a sequence"),
    ((3, [1], [0], None), PWLTypeError, "expected a sequence"),
]


@pytest.mark.parametrize("args, error, fragment", CONSTRUCTOR_ERRORS)
def test_constructor_errors(args: tuple[object, ...], error: type[Exception],
                            fragment: str) -> None:
    with pytest.raises(error) as info:
        PiecewiseLinear(*args)  # type: ignore[arg-type]
    assert fragment in str(info.value)


OPERATION_ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("float scalar *", lambda: LINE * 0.5, PWLTypeError, "float"),
    ("float scalar +", lambda: LINE + 0.25, PWLTypeError, "float"),
    ("float scalar r*", lambda: 0.5 * LINE, PWLTypeError, "float"),
    ("float divisor", lambda: LINE / 2.0, PWLTypeError, "float"),
    ("divide by zero", lambda: LINE / 0, PWLValueError, "divide"),
    ("product", lambda: LINE * LINE, PWLTypeError, "not piecewise linear"),
    ("float evaluation", lambda: LINE(0.5), PWLTypeError, "float"),
    ("empty intersection", lambda: UNIT + PiecewiseLinear.affine(0, domain=(2, 3)),
     DomainError, "do not overlap"),
    ("point intersection", lambda: UNIT.maximum(PiecewiseLinear.affine(0, domain=(1, 2))),
     DomainError, "do not overlap"),
    ("outside domain", lambda: UNIT(2), DomainError, "outside the domain [0, 1]"),
    ("outside domain below", lambda: UNIT("-1/3"), DomainError, "x = -1/3"),
    ("infinite integral", lambda: LINE.relu().integral(), DomainError,
     "integral is infinite on the whole line"),
    ("infinite integral constant", lambda: PiecewiseLinear.affine(0, 1).integral(),
     DomainError, "integral is infinite"),
    ("infinite square integral", lambda: LINE.integral_of_square(), DomainError,
     "infinite on the whole line"),
    ("unbounded sup", lambda: LINE.abs().sup_abs(), DomainError, "unbounded"),
    ("restrict outside", lambda: UNIT.restrict(0, 2), DomainError, "not inside"),
    ("restrict reversed", lambda: UNIT.restrict(1, 0), DomainError, "must be below"),
    ("join apart", lambda: UNIT.join(PiecewiseLinear.affine(1, domain=(2, 3))),
     DomainError, "do not touch"),
    ("join whole line", lambda: UNIT.join(LINE), DomainError, "bounded domain"),
    ("join jump", lambda: UNIT.join(PiecewiseLinear.affine(0, domain=(1, 2))),
     PWLValueError, "disagree at 1"),
    ("compose out of range", lambda: UNIT.compose(2 * UNIT), DomainError,
     "values in [0, 2]"),
    ("compose unbounded", lambda: UNIT.compose(LINE.relu()), DomainError,
     "[0, inf]"),
    ("compose non-function", lambda: UNIT.compose(3), PWLTypeError,  # type: ignore
     "expected a PiecewiseLinear"),
    ("unknown activation", lambda: LINE.apply("softplus"), PWLValueError,
     "unknown activation"),
    ("from_points one point", lambda: PiecewiseLinear.from_points([0], [1]),
     PWLValueError, "at least 2"),
    ("from_points unsorted", lambda: PiecewiseLinear.from_points([0, 2, 1], [0, 0, 0]),
     PWLValueError, "increase strictly"),
    ("from_points lengths", lambda: PiecewiseLinear.from_points([0, 1], [0]),
     PWLValueError, "expected 2 values"),
]


@pytest.mark.parametrize("operation, error, fragment",
                         [case[1:] for case in OPERATION_ERRORS],
                         ids=[case[0] for case in OPERATION_ERRORS])
def test_operation_errors(operation: Callable[[], object], error: type[Exception],
                          fragment: str) -> None:
    with pytest.raises(error) as info:
        operation()
    assert isinstance(info.value, PWLError)
    assert fragment in str(info.value)
