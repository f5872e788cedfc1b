"""Approximation with ReLU networks (lecture 000), exact networks, rigorous errors.

* :func:`rect`: the slides' four-unit bump
  ``h/eps (relu(x-a) - relu(x-(a+eps)) - relu(x-b) + relu(x-(b+eps)))``,
  and :func:`rect_sum`, a sum of bumps as one hidden layer.
* :func:`sine_rects`: the slides' approximation of ``sin`` on [0, 5] by rects
  centred on the samples ``x_i = 5i/N``.
* :func:`l1_error_sin`, :func:`l2sq_error_sin`: ``int |sin - g|`` and
  ``int (sin - g)^2`` for an exact piecewise-linear ``g``, as rigorous
  enclosures ``[lo, hi]`` (interval arithmetic with outward rounding).
* :func:`sine_table`, :func:`barron_table`: the error against the number of
  rects, and the one-hidden-layer interpolant's mean integrated squared error
  against its number of units ``q`` beside Barron's ``C_f^2 / q``.
* :func:`zigzag`, :func:`budget_table`: "for a fixed parameter budget deeper
  is better" (Montufar et al. 2014) with networks whose pieces reach
  ``prod(n_d + 1)``, counted by the engine.

``sin`` is transcendental, so the networks here carry rational heights: a
sample ``sin(x_i)`` becomes the decimal with ``digits`` places nearest to it.
The error reported is that of the network actually built, against the true
``sin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from ..engine.propagate import function_of
from ..theory.constructions import shallow_from_function
from ..errors import DomainError, PWLValueError
from ..values.function import PiecewiseLinear
from ..values.network import Layer, Network
from ..values.numbers import Number, format_decimal, format_exact, to_fraction

if TYPE_CHECKING:
    from ..counting import CountResult

__all__ = [
    "Enclosure",
    "SINE_DOMAIN",
    "BARRON_C_F",
    "rect",
    "rect_sum",
    "sine_rects",
    "sin_rational",
    "l1_error_sin",
    "l2sq_error_sin",
    "SineRow",
    "sine_approximation",
    "sine_table",
    "BarronRow",
    "sine_interpolant",
    "barron_table",
    "zigzag",
    "parameter_count",
    "BudgetRow",
    "budget_table",
]

#: The slides' interval: ``z = np.arange(0, 5, 0.001)``.
SINE_DOMAIN = (Fraction(0), Fraction(5))

#: Barron's constant ``C_f = int |w| |f^(w)| dw`` of ``sin``: its Fourier
#: transform is two point masses of weight 1/2 at ``w = +-1``.
BARRON_C_F = Fraction(1)

#: Working precision (bits) of the interval arithmetic; doubled on demand.
_BITS = 128
_MAX_BITS = 8192


# -- enclosures ---------------------------------------------------------------------
@dataclass(frozen=True)
class Enclosure:
    """A closed interval ``[lo, hi]`` with exact ends, known to hold a real value.

    >>> e = Enclosure(Fraction(1, 3), Fraction(1, 2))
    >>> Fraction(2, 5) in e, e.width
    (True, Fraction(1, 6))
    >>> str(e.rounded(3))
    '[0.333, 0.5]'
    """

    lo: Fraction
    hi: Fraction

    def __post_init__(self) -> None:
        if self.lo > self.hi:
            raise PWLValueError(f"enclosure: lo = {format_exact(self.lo)} is above "
                                f"hi = {format_exact(self.hi)}")

    def __contains__(self, value: object) -> bool:
        return self.lo <= to_fraction(value, "value") <= self.hi

    @property
    def width(self) -> Fraction:
        return self.hi - self.lo

    def __add__(self, other: "Enclosure") -> "Enclosure":
        return Enclosure(self.lo + other.lo, self.hi + other.hi)

    def scaled(self, factor: Fraction) -> "Enclosure":
        """``factor * [lo, hi]`` for ``factor >= 0``."""
        return Enclosure(self.lo * factor, self.hi * factor)

    def rounded(self, digits: int = 12) -> "Enclosure":
        """A wider enclosure whose ends are decimals with ``digits``
        significant digits (``lo`` rounded down, ``hi`` up): still rigorous."""
        return Enclosure(_round_decimal(self.lo, digits, up=False),
                         _round_decimal(self.hi, digits, up=True))

    def text(self, digits: int = 12) -> str:
        """``[lo, hi]`` rounded outward to ``digits`` significant digits."""
        r = self.rounded(digits)
        return f"[{format_decimal(r.lo, digits + 2)}, {format_decimal(r.hi, digits + 2)}]"

    def __str__(self) -> str:
        return self.text()

    def to_json(self, digits: int = 15) -> dict[str, str]:
        """``{"lo": ..., "hi": ...}``: decimals rounded outward, exact as written."""
        r = self.rounded(digits)
        return {"lo": format_decimal(r.lo, digits + 2), "hi": format_decimal(r.hi, digits + 2)}


def _round_decimal(value: Fraction, digits: int, up: bool) -> Fraction:
    """``value`` rounded to ``digits`` significant decimal digits, towards
    ``+inf`` if ``up`` else ``-inf``."""
    if value == 0:
        return value
    exponent = math.floor(math.log10(abs(value)))
    # log10 of a Fraction is a float: fix the exponent exactly.
    while abs(value) >= Fraction(10) ** (exponent + 1):
        exponent += 1
    while abs(value) < Fraction(10) ** exponent:
        exponent -= 1
    unit = Fraction(10) ** (exponent - digits + 1)
    k = value / unit
    n = math.ceil(k) if up else math.floor(k)
    return n * unit


# -- rects ------------------------------------------------------------------------
def rect(a: Number, b: Number, h: Number, eps: Number = "1e-7") -> Network:
    """The slides' bump as a network with one hidden layer of 4 ReLUs.

    ``h/eps * (relu(x - a) - relu(x - (a+eps)) - relu(x - b) + relu(x - (b+eps)))``
    is 0 left of ``a``, rises to ``h`` on ``[a, a+eps]``, stays at ``h`` up
    to ``b`` and falls back to 0 on ``[b, b+eps]``.

    Parameters
    ----------
    a, b : exact numbers
        Left and right edge, ``a < b``.
    h : exact number
        Height.
    eps : exact number
        Width of the ramps, ``0 < eps <= b - a`` (the slides use ``1e-7``,
        read here as exactly ``1/10^7``).

    Examples
    --------
    >>> net = rect(-1, 0, "0.4")
    >>> net.widths, net.evaluate("-1/2"), net.evaluate(1)
    ((4,), (Fraction(2, 5),), (Fraction(0, 1),))
    >>> function_of(net).num_pieces
    5
    """
    return rect_sum([(a, b, h)], eps)


def rect_sum(rects: Iterable[Sequence[Number]], eps: Number = "1e-7") -> Network:
    """A sum of rects ``(a, b, h)`` as one hidden layer of ``4 * len(rects)`` units.

    >>> net = rect_sum([(-1, 0, "0.4"), (0, 1, "1.3"), (1, 2, "0.8")])
    >>> net.widths, net.evaluate("1/2")
    ((12,), (Fraction(13, 10),))
    """
    e = to_fraction(eps, "eps")
    if e <= 0:
        raise PWLValueError(f"eps must be positive, got {format_exact(e)}")
    hidden: list[list[Fraction]] = []
    bias: list[Fraction] = []
    out: list[Fraction] = []
    for i, spec in enumerate(rects):
        if isinstance(spec, (str, bytes)) or len(spec) != 3:
            raise PWLValueError(f"rects[{i}]: expected (a, b, h), got {spec!r:.60}")
        a, b, h = (to_fraction(v, f"rects[{i}].{name}") for v, name in zip(spec, "abh"))
        if not a < b:
            raise PWLValueError(f"rects[{i}]: a = {format_exact(a)} must be below "
                                f"b = {format_exact(b)}")
        if e > b - a:
            raise PWLValueError(f"rects[{i}]: eps = {format_exact(e)} is wider than the "
                                f"rect [{format_exact(a)}, {format_exact(b)}]")
        for knot, sign in ((a, 1), (a + e, -1), (b, -1), (b + e, 1)):
            hidden.append([Fraction(1)])
            bias.append(-knot)
            out.append(sign * h / e)
    if not hidden:
        raise PWLValueError("rects: need at least one rect")
    return Network.sequential([Layer.make(hidden, bias),
                               Layer.make([out], [0], "identity")])


def sin_rational(x: Fraction, digits: int) -> Fraction:
    """``sin(x)`` rounded to the nearest multiple of ``10^-digits``.

    Computed from a rigorous enclosure; if the enclosure straddles a rounding
    boundary the precision is raised, so the result is the correctly rounded
    value (ties cannot occur: ``sin`` of a nonzero rational is irrational).

    >>> sin_rational(Fraction(1, 2), 6) == Fraction("0.479426")
    True
    """
    scale = 10**digits
    bits = _BITS
    while True:
        ctx = _intervals(bits + 4 * digits)
        lo, hi = ctx.bounds(ctx.iv.sin(ctx.q(x)) * scale)
        a, b = round(lo), round(hi)
        if a == b or x == 0:
            return Fraction(a, scale)
        bits *= 2
        if bits > _MAX_BITS:  # pragma: no cover - sin(x) would be a half-integer
            raise PWLValueError(f"cannot round sin({format_exact(x)}) to {digits} digits")


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PWLValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def sine_rects(n: int, digits: int = 12, eps: Number = "1e-7") -> Network:
    """The slides' sine approximation labelled ``N`` (``# 10``, ``# 20``, ...).

    ``x = np.arange(0, 5, 5/N)`` gives the samples ``x_i = 5i/N``,
    ``i = 0..N-1``; for ``i = 2..N-2`` a rect of height ``sin(x_i)`` runs
    from ``(x_{i-1} + x_i)/2`` to ``(x_i + x_{i+1})/2``.  That is ``N - 3``
    rects and ``4(N - 3)`` hidden units.  Heights are ``sin(x_i)`` rounded to
    ``digits`` decimal places.

    >>> net = sine_rects(10)
    >>> net.widths
    (28,)
    >>> function_of(net, (0, 5)).num_pieces
    17
    """
    n = _positive(n, "N")
    if n < 4:
        raise PWLValueError(f"N must be at least 4 (the slides' loop needs a rect), got {n}")
    digits = _positive(digits, "digits")
    xs = [Fraction(5 * i, n) for i in range(n)]
    rects = [((xs[i - 1] + xs[i]) / 2, (xs[i] + xs[i + 1]) / 2, sin_rational(xs[i], digits))
             for i in range(2, n - 1)]
    return rect_sum(rects, eps)


# -- rigorous integrals against sin --------------------------------------------------
class _Undecided(Exception):
    """The working precision cannot decide a sign: retry with more bits."""


class _Intervals:
    """A private mpmath interval context (outward rounding) at ``bits`` bits,
    and a plain one (``mp``) for guesses that are certified afterwards.

    Use :func:`_intervals`, which makes one per precision.
    """

    def __init__(self, bits: int) -> None:
        from mpmath.ctx_iv import MPIntervalContext
        from mpmath.ctx_mp import MPContext

        self.bits = bits
        self.iv = MPIntervalContext()
        self.iv.prec = bits
        self.mp = MPContext()
        self.mp.prec = bits

    def q(self, value: Fraction) -> Any:
        """An interval holding the rational ``value``."""
        iv = self.iv
        return iv.mpf(value.numerator) / iv.mpf(value.denominator)

    def span(self, lo: Fraction, hi: Fraction) -> Any:
        a, b = self.q(lo), self.q(hi)
        return self.iv.mpf([a.a, b.b])

    @staticmethod
    def bounds(value: Any) -> tuple[Fraction, Fraction]:
        """The exact ends of an interval (binary rationals)."""
        from mpmath.libmp import to_rational

        lo, hi = value._mpi_
        return Fraction(*to_rational(lo)), Fraction(*to_rational(hi))

    def sign(self, value: Any) -> int:
        lo, hi = self.bounds(value)
        if lo > 0:
            return 1
        if hi < 0:
            return -1
        raise _Undecided


@lru_cache(maxsize=None)
def _intervals(bits: int) -> _Intervals:
    return _Intervals(bits)


@dataclass(frozen=True)
class _Point:
    """A split point: exact (``lo == hi``) or a root enclosed in ``[lo, hi]``."""

    lo: Fraction
    hi: Fraction


class _SinMinusAffine:
    """``d(x) = sin x - (s x + c)`` with rigorous signs and antiderivatives."""

    def __init__(self, ctx: _Intervals, s: Fraction, c: Fraction) -> None:
        self.ctx, self.s, self.c = ctx, s, c

    def at(self, x: Fraction) -> Any:
        ctx = self.ctx
        return ctx.iv.sin(ctx.q(x)) - ctx.q(self.s * x + self.c)

    def over(self, lo: Fraction, hi: Fraction) -> Any:
        ctx = self.ctx
        x = ctx.span(lo, hi)
        return ctx.iv.sin(x) - (ctx.q(self.s) * x + ctx.q(self.c))

    def sign(self, x: Fraction) -> int:
        if x == 0:  # sin 0 = 0 exactly; elsewhere sin x is irrational, so d(x) != 0
            v = -self.c
            return (v > 0) - (v < 0)
        return self.ctx.sign(self.at(x))

    def slope_sign(self, x: Fraction) -> int:
        """Sign of ``d'(x) = cos x - s``."""
        if x == 0:
            v = 1 - self.s
            return (v > 0) - (v < 0)
        ctx = self.ctx
        return ctx.sign(ctx.iv.cos(ctx.q(x)) - ctx.q(self.s))

    def antiderivative(self, p: _Point) -> Any:
        """``F(x) = -cos x - s x^2/2 - c x`` at the point; for an enclosed root
        the centred form ``F(t) + d([lo, hi]) [-r, r]`` (``t`` the midpoint,
        ``r`` the radius) is second order in ``r`` since ``d`` vanishes there."""
        ctx = self.ctx
        t = (p.lo + p.hi) / 2
        value = -ctx.iv.cos(ctx.q(t)) - ctx.q(self.s * t * t / 2 + self.c * t)
        if p.lo == p.hi:
            return value
        r = (p.hi - p.lo) / 2
        return value + self.over(p.lo, p.hi) * ctx.span(-r, r)


def _mp_fraction(value: Any) -> Fraction:
    """The exact binary value of an mpmath ``mpf``."""
    from mpmath.libmp import to_rational

    return Fraction(*to_rational(value._mpf_))


def _float_root(f: Any, a: float, b: float, fa: float) -> float:
    """Illinois regula falsi in floats on a bracket (a guess, certified later)."""
    fb = f(b)
    side = 0
    for _ in range(200):
        if fb == fa:
            break
        c = (a * fb - b * fa) / (fb - fa)
        if not a < c < b and not b < c < a:
            c = (a + b) / 2
        fc = f(c)
        if fc == 0 or abs(b - a) < 1e-17 * max(1.0, abs(c)):
            return c
        if (fc > 0) == (fb > 0):
            b, fb = c, fc
            if side == -1:
                fa /= 2
            side = -1
        else:
            a, fa = c, fc
            if side == 1:
                fb /= 2
            side = 1
    return (a + b) / 2


def _isolate(d: _SinMinusAffine, a: Fraction, b: Fraction, sa: int) -> _Point:
    """Enclose the single root of ``d`` in ``(a, b)``, where ``d`` has sign ``sa``
    at ``a`` and ``-sa`` at ``b``: a float guess, Newton steps at the working
    precision, then a certified sign change around it; bisection otherwise."""
    mp = d.ctx.mp
    s_f, c_f = float(d.s), float(d.c)
    t_float = _float_root(lambda x: math.sin(x) - (s_f * x + c_f), float(a), float(b),
                          math.sin(float(a)) - (s_f * float(a) + c_f))
    t = mp.mpf(t_float)
    s_m, c_m = mp.mpf(d.s.numerator) / d.s.denominator, mp.mpf(d.c.numerator) / d.c.denominator
    for _ in range(int(math.log2(d.ctx.bits)) + 2):
        slope = mp.cos(t) - s_m
        if slope == 0:
            break
        t = t - (mp.sin(t) - (s_m * t + c_m)) / slope
    radius = Fraction(1, 2 ** (d.ctx.bits // 2))
    centre = _mp_fraction(t) if mp.isfinite(t) else (a + b) / 2
    lo, hi = max(a, centre - radius), min(b, centre + radius)
    try:
        if lo < hi and (lo == a or d.sign(lo) == sa) and (hi == b or d.sign(hi) == -sa):
            return _Point(lo, hi)
    except _Undecided:
        pass
    # Bisection with certified signs: each step halves the bracket.
    lo, hi = a, b
    while hi - lo > 2 * radius:
        mid = (lo + hi) / 2
        if d.sign(mid) == sa:
            lo = mid
        else:
            hi = mid
    return _Point(lo, hi)


def _bracket_from_zero(d: _SinMinusAffine, end: Fraction, other: Fraction,
                       sign_near: int) -> Fraction:
    """A point between ``end`` (where ``d = 0``) and ``other`` where ``d`` has
    the sign ``sign_near`` it takes just beside ``end``."""
    step = other - end
    for _ in range(4 * d.ctx.bits):
        step /= 2
        x = end + step
        try:
            if d.sign(x) == sign_near:
                return x
        except _Undecided:
            continue
    raise _Undecided


def _concave_roots(d: _SinMinusAffine, a: Fraction, b: Fraction, sigma: int
                   ) -> tuple[list[_Point], int]:
    """Roots of ``d`` in the open interval ``(a, b)`` on which ``e = sigma d``
    is strictly concave, and the sign of ``d`` just right of ``a``.

    A strictly concave ``e`` has at most two roots: its superlevel set
    ``{e >= 0}`` is an interval.  With signs at the ends, the cases are

    * opposite signs: one root;
    * both positive: none;
    * both negative: two roots if ``e(m) > 0`` at some ``m``, none if the
      tangent bound ``e(x) <= e(m) + e'(m)(x - m)`` stays below 0 at both
      ends (``m`` near the maximiser, so the bound is tight).
    * ``e(a) = 0`` (only at ``a = 0``): ``e`` leaves 0 with the sign of
      ``e'(a)``, which decides as above.
    """
    ea, eb = sigma * d.sign(a), sigma * d.sign(b)
    roots: list[_Point] = []
    if ea == 0 or eb == 0:
        end, other, e_other = (a, b, eb) if ea == 0 else (b, a, ea)
        outward = 1 if end == a else -1
        # e near `end` has the sign of e'(end) * outward; e(other) decides the rest
        leaving = sigma * d.slope_sign(end) * outward
        if e_other < 0 < leaving:
            x = _bracket_from_zero(d, end, other, sigma)
            lo, hi = (x, b) if end == a else (a, x)
            roots.append(_isolate(d, lo, hi, d.sign(lo)))
            first = sigma if end == a else -sigma
        else:
            first = sigma * e_other
        return roots, first
    if ea != eb:
        roots.append(_isolate(d, a, b, sigma * ea))
    elif ea < 0:
        m = _stationary(d, a, b, sigma)
        ctx = d.ctx
        em = sigma * d.sign(m)
        if em > 0:
            roots.append(_isolate(d, a, m, sigma * ea))
            roots.append(_isolate(d, m, b, -sigma * ea))
        else:
            # e lies below its tangent at m, a line: its largest value on
            # [a, b] is at a or at b
            value = sigma * d.at(m)
            slope = (ctx.iv.cos(ctx.q(m)) - ctx.q(d.s)) * sigma
            for end in (a, b):
                if ctx.sign(value + slope * ctx.q(end - m)) >= 0:
                    raise _Undecided
    return roots, sigma * ea


def _stationary(d: _SinMinusAffine, a: Fraction, b: Fraction, sigma: int) -> Fraction:
    """A rational near the maximiser of ``sigma d`` on ``[a, b]``: the point
    with ``cos x = s``, which is unique between consecutive multiples of pi."""
    mp = d.ctx.mp
    mid = (a + b) / 2
    k = int(mp.floor(mp.mpf(mid.numerator) / mid.denominator / mp.pi))
    s = mp.mpf(d.s.numerator) / d.s.denominator
    target = s if k % 2 == 0 else -s
    if target >= 1:
        x = mp.mpf(k) * mp.pi
    elif target <= -1:
        x = mp.mpf(k + 1) * mp.pi
    else:
        x = mp.mpf(k) * mp.pi + mp.acos(target)
    return min(max(_mp_fraction(x), a), b)


def _pi_splits(ctx: _Intervals, lo: Fraction, hi: Fraction) -> list[_Point]:
    """Enclosures of the multiples of pi strictly inside ``(lo, hi)``; 0 exactly."""
    out = []
    k0 = math.floor(float(lo) / math.pi) - 1
    k1 = math.ceil(float(hi) / math.pi) + 1
    for k in range(k0, k1 + 1):
        if k == 0:
            if lo < 0 < hi:
                out.append(_Point(Fraction(0), Fraction(0)))
            continue
        p_lo, p_hi = ctx.bounds(ctx.iv.pi * k)
        if lo < p_lo and p_hi < hi:
            out.append(_Point(p_lo, p_hi))
        elif not (p_hi < lo or p_lo > hi):
            raise _Undecided
    return out


def _piece_l1(ctx: _Intervals, lo: Fraction, hi: Fraction, s: Fraction, c: Fraction
              ) -> tuple[Fraction, Fraction]:
    """Enclosure of ``int_lo^hi |sin x - (s x + c)| dx`` at this precision."""
    d = _SinMinusAffine(ctx, s, c)
    if s == 0 and abs(c) >= 1:
        # sin - c keeps the sign of -c and touches 0 where sin = c = +-1.
        # These are the only tangencies of a rational line with sin away
        # from x = 0 (where 0 is an exact split point): cos t = s rational
        # with t != 0 makes t transcendental (Lindemann), while
        # t = (sin t - c)/s would be algebraic unless s = 0.  Near-tangencies
        # only cost precision.
        part = (d.antiderivative(_Point(hi, hi)) - d.antiderivative(_Point(lo, lo))) * (
            -1 if c > 0 else 1)
        p_lo, p_hi = ctx.bounds(part)
        return max(p_lo, Fraction(0)), max(p_hi, Fraction(0))
    total_lo = total_hi = Fraction(0)
    splits = _pi_splits(ctx, lo, hi)
    edges = [lo] + [e for p in splits for e in (p.lo, p.hi)] + [hi]
    # segments between splits: sin keeps one sign there, so d'' = -sin x does
    for a, b in zip(edges[::2], edges[1::2]):
        mid = (a + b) / 2
        sigma = ctx.sign(ctx.iv.sin(ctx.q(mid)))
        roots, sign = _concave_roots(d, a, b, sigma)
        points = [_Point(a, a)] + roots + [_Point(b, b)]
        for p, r in zip(points, points[1:]):
            part = (d.antiderivative(r) - d.antiderivative(p)) * sign
            p_lo, p_hi = ctx.bounds(part)
            total_lo += max(p_lo, Fraction(0))
            total_hi += max(p_hi, Fraction(0))
            sign = -sign
    # slivers around k*pi: 0 <= int |d| <= width * max |d|
    for p in splits:
        if p.lo < p.hi:
            _, top = ctx.bounds(abs(d.over(p.lo, p.hi)))
            total_hi += (p.hi - p.lo) * top
    return total_lo, total_hi


def _piece_l2sq(ctx: _Intervals, lo: Fraction, hi: Fraction, s: Fraction, c: Fraction
                ) -> tuple[Fraction, Fraction]:
    """Enclosure of ``int_lo^hi (sin x - (s x + c))^2 dx``.

    An antiderivative is ``x/2 - sin(2x)/4 + 2 (s x + c) cos x - 2 s sin x
    + s^2 x^3/3 + s c x^2 + c^2 x``; its polynomial part is taken exactly.
    """
    iv = ctx.iv

    def transcendental(x: Fraction) -> Any:
        X = ctx.q(x)
        return -iv.sin(2 * X) / 4 + ctx.q(2 * (s * x + c)) * iv.cos(X) - ctx.q(2 * s) * iv.sin(X)

    def polynomial(x: Fraction) -> Fraction:
        return x / 2 + s * s * x**3 / 3 + s * c * x * x + c * c * x

    value = transcendental(hi) - transcendental(lo) + ctx.q(polynomial(hi) - polynomial(lo))
    v_lo, v_hi = ctx.bounds(value)
    return max(v_lo, Fraction(0)), v_hi


def _integrate(g: PiecewiseLinear, piece_rule: Any) -> Enclosure:
    if g.domain is None:
        raise DomainError("the error against sin needs a bounded domain; restrict g first")
    total_lo = total_hi = Fraction(0)
    for lo, hi, s, c in g.pieces():
        assert lo is not None and hi is not None
        bits = _BITS
        while True:
            try:
                p_lo, p_hi = piece_rule(_intervals(bits), lo, hi, s, c)
                break
            except _Undecided:
                bits *= 2
                if bits > _MAX_BITS:
                    raise PWLValueError(
                        f"could not certify the error on the piece [{format_exact(lo)}, "
                        f"{format_exact(hi)}] at {_MAX_BITS} bits") from None
        total_lo += p_lo
        total_hi += p_hi
    return Enclosure(total_lo, total_hi)


def l1_error_sin(g: PiecewiseLinear) -> Enclosure:
    """A rigorous enclosure of ``int |sin x - g(x)| dx`` over ``g``'s domain.

    On each piece ``g = s x + c``.  The domain is split at the multiples of
    pi (0 exactly, the others inside enclosures of width ``~2^-128`` whose
    contribution is bounded by width times ``max |d|``); between them
    ``d = sin - g`` is strictly concave or convex, so it has at most two
    roots, found and *counted* by the case analysis of :func:`_concave_roots`
    and enclosed by certified sign changes.  Between roots ``d`` keeps its
    sign and ``int d = F(t1) - F(t0)`` with ``F = -cos x - s x^2/2 - c x``.
    Every sign and value is an mpmath interval with outward rounding; an
    undecided sign doubles the precision.

    Examples
    --------
    ``int_0^5 |sin x| dx = 3 + cos 5``:

    >>> e = l1_error_sin(PiecewiseLinear.affine(0, domain=(0, 5)))
    >>> e.width < Fraction(1, 10**30), e.text(15)
    (True, '[3.28366218546322, 3.28366218546323]')
    """
    return _integrate(g, _piece_l1)


def l2sq_error_sin(g: PiecewiseLinear) -> Enclosure:
    """A rigorous enclosure of ``int (sin x - g(x))^2 dx`` over ``g``'s domain.

    ``int_0^1 sin^2 = 1/2 - sin(2)/4``:

    >>> l2sq_error_sin(PiecewiseLinear.affine(0, domain=(0, 1))).text(15)
    '[0.272675643293579, 0.27267564329358]'
    """
    return _integrate(g, _piece_l2sq)


# -- the slides' table ---------------------------------------------------------------
@dataclass(frozen=True)
class SineRow:
    """One sine approximation: the slides' label ``N``, its rects, hidden
    units, pieces on [0, 5] (counted by the engine) and the L1 error."""

    n: int
    rects: int
    units: int
    pieces: int
    l1: Enclosure
    function: PiecewiseLinear
    network: Network


def sine_approximation(n: int, digits: int = 12, eps: Number = "1e-7") -> SineRow:
    """Build the slides' approximation ``N``, count it and bound its L1 error.

    >>> r = sine_approximation(10)
    >>> r.rects, r.pieces, r.l1.text(10)
    (7, 17, '[1.273408971, 1.273408972]')
    """
    net = sine_rects(n, digits, eps)
    f = function_of(net, SINE_DOMAIN)
    return SineRow(n=n, rects=n - 3, units=net.widths[0], pieces=f.num_pieces,
                   l1=l1_error_sin(f), function=f, network=net)


def sine_table(ns: Sequence[int] = (10, 20, 50, 500), digits: int = 12,
               eps: Number = "1e-7", progress: Optional[Callable[[str], None]] = None
               ) -> list[SineRow]:
    """:func:`sine_approximation` for each ``N`` (the slides' 10, 20, 50, 500);
    ``progress(text)`` is called before each row."""
    rows = []
    for i, n in enumerate(ns):
        if progress is not None:
            progress(f"N = {n} (row {i + 1} of {len(ns)})")
        rows.append(sine_approximation(n, digits, eps))
    return rows


# -- one hidden layer against Barron's rate ------------------------------------------
@dataclass(frozen=True)
class BarronRow:
    """The interpolant of sin at ``q + 1`` knots on [0, 5]: a network with
    ``q`` hidden units; its mean integrated squared error
    ``(1/5) int (sin - g)^2`` beside ``C_f^2 / q``."""

    q: int
    units: int
    pieces: int
    mise: Enclosure
    barron: Fraction
    network: Network


def sine_interpolant(q: int, digits: int = 12) -> Network:
    """One hidden layer of ``q`` ReLUs interpolating sin at ``5i/q``, ``i = 0..q``
    (values rounded to ``digits`` decimal places).

    >>> sine_interpolant(4).widths
    (4,)
    """
    q = _positive(q, "q")
    xs = [Fraction(5 * i, q) for i in range(q + 1)]
    ys = [sin_rational(x, digits) for x in xs]
    return shallow_from_function(PiecewiseLinear.from_points(xs, ys))


def barron_table(qs: Sequence[int] = (1, 2, 4, 8, 16, 32, 64), digits: int = 12,
                 progress: Optional[Callable[[str], None]] = None) -> list[BarronRow]:
    """The interpolant's error for each ``q`` with Barron's ``C_f^2 / q``.

    Barron (1993) bounds the best error of ``q`` sigmoidal units by
    ``(2 r C_f)^2 / q`` (``r`` the radius of the domain); it holds in every
    dimension.  In one dimension the interpolant does far better, ``O(q^-4)``.

    >>> rows = barron_table((2, 4))
    >>> [r.pieces for r in rows], rows[1].mise.hi < rows[0].mise.lo
    ([2, 4], True)
    """
    rows = []
    length = SINE_DOMAIN[1] - SINE_DOMAIN[0]
    for i, q in enumerate(qs):
        if progress is not None:
            progress(f"q = {q} (row {i + 1} of {len(qs)})")
        net = sine_interpolant(q, digits)
        f = function_of(net, SINE_DOMAIN)
        rows.append(BarronRow(q=q, units=net.widths[0], pieces=f.num_pieces,
                              mise=l2sq_error_sin(f).scaled(1 / length),
                              barron=BARRON_C_F**2 / q, network=net))
    return rows


# -- deeper is better for a fixed budget ----------------------------------------------
def _deepest(budget: int) -> int:
    """The deepest uniform network of width 3 within ``budget`` parameters
    (parameters grow with depth: bisection)."""
    lo, hi = 1, 2
    while parameter_count([3] * hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if parameter_count([3] * mid) <= budget else (lo, mid)
    return lo


def parameter_count(widths: Sequence[int]) -> int:
    """Weights and biases of a dense one-input, one-output network.

    >>> parameter_count([3, 3])
    22
    """
    sizes = [1, *widths, 1]
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


def _zigzag_layer(n: int) -> tuple[list[Fraction], list[Fraction], list[int], Fraction]:
    """Kinks, output coefficients, unit orientations and offset of one fold.

    The fold ``phi(u) = sum_j a_j relu(o_j (u - k_j)) + beta`` has kinks
    ``k_p = p/(n+1)`` and runs 1, 0, 1, 0, ... at them (slopes ``+-(n+1)``
    between), with slope ``2(n+1)`` on the left ray and ``+-(n+1)`` on the
    right one.  So every piece, the two rays included, sweeps an interval
    holding [0, 1], which holds every kink of the next fold strictly inside:
    each region of one layer is cut into ``n + 1`` by the next, and the
    regions number ``prod (n_d + 1)``.

    A unit facing right (``o = 1``) or left (``o = -1``) changes the slope by
    ``a_j`` at its kink either way; the left ray's slope is minus the sum of
    the left-facing ``a_j``.  With slopes ``s_p = (-1)^p m_p`` the jumps are
    ``a_p = (-1)^p (m_p + m_{p-1})``; turning unit 3 left gives the left ray
    slope ``m_3 + m_2 = 2(n+1)`` as required.  No choice works for ``n = 2``.
    """
    m = [Fraction(2 * (n + 1))] + [Fraction(n + 1)] * n
    slopes = [(-1) ** p * m[p] for p in range(n + 1)]
    kinks = [Fraction(p, n + 1) for p in range(1, n + 1)]
    coef = [slopes[p] - slopes[p - 1] for p in range(1, n + 1)]
    orient = [-1 if p == 3 else 1 for p in range(1, n + 1)]
    # phi(k_1) = 1: units facing right are off at k_1; unit 3 (left) gives a_3 (k_3 - k_1)
    beta = 1 - sum(a * (k - kinks[0]) for a, k, o in zip(coef, kinks, orient) if o < 0)
    return kinks, coef, orient, beta


def zigzag(widths: Sequence[int]) -> Network:
    """Hidden layers of widths ``n_d >= 3`` whose activation regions and
    pieces on the whole line number ``prod(n_d + 1)``, the most any one-input
    network of these widths can have (:func:`pwl.theory.bounds.one_input_bound`).

    Each layer is the fold of :func:`_zigzag_layer` applied to the previous
    fold's output; every weight matrix has rank 1.

    >>> net = zigzag([3, 4])
    >>> from pwl import propagate
    >>> r = propagate(net)
    >>> r.activation_regions, r.pieces()
    (20, 20)
    """
    widths = list(widths)
    if not widths:
        raise PWLValueError("widths: need at least one hidden layer")
    for d, n in enumerate(widths):
        if isinstance(n, bool) or not isinstance(n, int) or n < 3:
            raise PWLValueError(f"widths[{d}]: the zigzag needs width >= 3, got {n!r}")
    layers = []
    prev: Optional[tuple[list[Fraction], Fraction]] = None  # phi = coef . h + beta
    for n in widths:
        kinks, coef, orient, beta = _zigzag_layer(n)
        rows, bias = [], []
        for k, o in zip(kinks, orient):
            if prev is None:
                rows.append([Fraction(o)])
                bias.append(-o * k)
            else:
                p_coef, p_beta = prev
                rows.append([o * a for a in p_coef])
                bias.append(o * (p_beta - k))
        layers.append(Layer.make(rows, bias))
        prev = (coef, beta)
    assert prev is not None
    layers.append(Layer.make([prev[0]], [prev[1]], "identity"))
    return Network.sequential(layers)


@dataclass(frozen=True)
class BudgetRow:
    """One architecture within the budget: ``depth`` hidden layers of
    ``width`` units, its parameters, the zigzag's pieces and activation
    regions on the whole line and Montufar's sawtooth's pieces on [0, 1]
    (all counted by the engine), and the bounds."""

    depth: int
    width: int
    parameters: int
    pieces: int
    activation_regions: Optional[int]
    sawtooth_pieces: int
    prod_n_plus_1: int
    bound_lecture: int
    method: str


def budget_table(budget: int = 100, max_depth: Optional[int] = None,
                 progress: Optional[Callable[[str], None]] = None) -> list[BudgetRow]:
    """For each depth ``D``, the widest uniform zigzag with at most ``budget``
    parameters, counted on the whole line, beside the sawtooth of the same
    widths on [0, 1] (``n^D`` pieces).  Depth stops where width 3 no longer fits;
    ``progress(text)`` is called before each depth.

    >>> [(r.depth, r.width, r.pieces) for r in budget_table(40)]
    [(1, 13, 14), (2, 4, 25), (3, 3, 64)]
    """
    from ..theory.constructions import sawtooth
    from ..counting import count

    budget = _positive(budget, "budget")
    if parameter_count([3]) > budget:
        raise PWLValueError(f"budget {budget} is below {parameter_count([3])}, the "
                            "parameters of the smallest zigzag (one layer of 3)")
    rows = []
    depth = 1
    last = min(_deepest(budget), max_depth) if max_depth is not None else _deepest(budget)
    while max_depth is None or depth <= max_depth:
        width = 3
        if parameter_count([width] * depth) > budget:
            break
        while parameter_count([width + 1] * depth) <= budget:
            width += 1
        if progress is not None:
            progress(f"depth {depth} of {last}, width {width}")
        net = zigzag([width] * depth)
        result: CountResult = count(net)
        folds = count(sawtooth(depth, width), (0, 1)).pieces
        rows.append(BudgetRow(depth=depth, width=width,
                              parameters=parameter_count([width] * depth),
                              pieces=result.pieces, activation_regions=result.activation_regions,
                              sawtooth_pieces=folds,
                              prod_n_plus_1=(width + 1) ** depth,
                              bound_lecture=2**depth * width**depth, method=result.method))
        depth += 1
    return rows
