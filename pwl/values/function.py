"""Exact continuous piecewise-linear functions of one variable.

A :class:`PiecewiseLinear` is a value: immutable, exact (every number an
``int`` or a :class:`~fractions.Fraction`) and canonical, so that ``==``
compares functions.  Canonical means

* the breakpoints increase strictly and lie strictly inside the domain;
* neighbouring pieces differ (collinear neighbours are merged), so every
  breakpoint is a true kink and ``num_pieces`` is the number of linear pieces
  ``kappa(f)`` of the lecture notes.

Every operation keeps this form and costs time linear in the number of pieces
of its operands and its result (binary operations merge the two sorted lists
of breakpoints; composition adds a binary search per piece of the inner
function).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from fractions import Fraction
from numbers import Rational
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Optional, Sequence, Union, overload

import numpy as np

from .activations import Activation, get_activation
from .domain import Domain, DomainLike, Interval, as_domain
from ..errors import DomainError, PWLTypeError, PWLValueError
from .numbers import Number, format_exact, to_fraction

if TYPE_CHECKING:
    import sympy

__all__ = ["PiecewiseLinear", "Piece"]

_ZERO = Fraction(0)

class Piece(NamedTuple):
    """One linear piece: ``slope * x + intercept`` on ``[lo, hi]``; ``None``
    for an infinite end.

    >>> Piece(Fraction(0), Fraction(1, 2), Fraction(2), Fraction(0))
    Piece(lo=0, hi=1/2, slope=2, intercept=0)
    """

    lo: Optional[Fraction]
    hi: Optional[Fraction]
    slope: Fraction
    intercept: Fraction

    def __repr__(self) -> str:
        lo = "-inf" if self.lo is None else format_exact(self.lo)
        hi = "inf" if self.hi is None else format_exact(self.hi)
        return (f"Piece(lo={lo}, hi={hi}, slope={format_exact(self.slope)}, "
                f"intercept={format_exact(self.intercept)})")


def _operand(value: object, what: str) -> Optional[Fraction]:
    """An exact number to combine with a function, or None for a type the
    operator does not know (it then returns NotImplemented, as
    :class:`fractions.Fraction` does).  Floats are known, and refused."""
    if isinstance(value, (int, Rational, str, float)) and not isinstance(value, bool):
        return to_fraction(value, what)
    if isinstance(value, np.generic) and isinstance(value, (np.integer, np.floating)):
        return to_fraction(value.item(), what)
    return None


def _fmt(value: Optional[Fraction]) -> str:
    return "inf" if value is None else format_exact(value)


def _fmt_domain(domain: Domain) -> str:
    if domain is None:
        return "the whole line"
    return f"[{format_exact(domain[0])}, {format_exact(domain[1])}]"


def _fractions(values: object, name: str) -> tuple[Fraction, ...]:
    """A sequence of exact numbers, each through :func:`to_fraction`."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise PWLTypeError(f"{name}: expected a sequence of numbers, got {values!r:.60}")
    return tuple(to_fraction(v, f"{name}[{i}]") for i, v in enumerate(values))


def _merge_collinear(breakpoints: Sequence[Fraction], slopes: Sequence[Fraction],
                     intercepts: Sequence[Fraction]
                     ) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...], tuple[Fraction, ...]]:
    """Drop every breakpoint whose two neighbouring pieces are the same line."""
    kb: list[Fraction] = []
    ks = [slopes[0]]
    kc = [intercepts[0]]
    for b, s, c in zip(breakpoints, slopes[1:], intercepts[1:]):
        if s == ks[-1] and c == kc[-1]:
            continue
        kb.append(b)
        ks.append(s)
        kc.append(c)
    return tuple(kb), tuple(ks), tuple(kc)


def _intersect(first: Domain, second: Domain) -> Domain:
    if first is None:
        return second
    if second is None:
        return first
    lo, hi = max(first[0], second[0]), min(first[1], second[1])
    if not lo < hi:
        raise DomainError(f"the domains {_fmt_domain(first)} and {_fmt_domain(second)} "
                          "do not overlap in an interval")
    return (lo, hi)


def _inner_span(breakpoints: Sequence[Fraction], domain: Domain) -> tuple[int, int]:
    """Indices ``i0, i1`` with ``breakpoints[i0:i1]`` the ones strictly inside
    ``domain``; piece ``i0`` is the one just right of the domain's left end."""
    if domain is None:
        return 0, len(breakpoints)
    return bisect_right(breakpoints, domain[0]), bisect_left(breakpoints, domain[1])


class PiecewiseLinear:
    """An exact continuous piecewise-linear function of one variable.

    Piece ``p`` is ``slopes[p] * x + intercepts[p]`` between
    ``breakpoints[p - 1]`` and ``breakpoints[p]``; the end pieces reach the
    ends of the domain (they are rays on the whole line).

    Parameters
    ----------
    breakpoints : sequence of exact numbers
        Strictly increasing, strictly inside ``domain``.
    slopes, intercepts : sequences of exact numbers
        One more than the breakpoints each.
    domain : None or (lo, hi)
        ``None`` is the whole real line.

    Raises
    ------
    PWLTypeError
        For a number that is not exact (a float, say).
    PWLValueError
        For unsorted breakpoints, wrong lengths, or a jump at a breakpoint.
    DomainError
        For a reversed domain or a breakpoint outside it.

    Notes
    -----
    The constructor merges collinear neighbours, so the stored breakpoints are
    the true kinks and ``f == g`` holds exactly when ``f`` and ``g`` are the
    same function on the same domain.

    Examples
    --------
    >>> f = PiecewiseLinear([0, 1, 2], [0, 1, 1, 0], [0, 0, 0, 2])
    >>> f
    PiecewiseLinear(pieces=3, domain=None)
    >>> f.breakpoints        # 1 was not a kink: its neighbours are one line
    (Fraction(0, 1), Fraction(2, 1))
    >>> f("3/2"), f(-5), f(7)
    (Fraction(3, 2), Fraction(0, 1), Fraction(2, 1))
    """

    __slots__ = ("_domain", "_breakpoints", "_slopes", "_intercepts", "_hash")

    _domain: Domain
    _breakpoints: tuple[Fraction, ...]
    _slopes: tuple[Fraction, ...]
    _intercepts: tuple[Fraction, ...]
    _hash: Optional[int]

    def __init__(self, breakpoints: Iterable[Number], slopes: Iterable[Number],
                 intercepts: Iterable[Number], domain: DomainLike = None) -> None:
        dom = as_domain(domain)
        bps = _fractions(breakpoints, "breakpoints")
        ss = _fractions(slopes, "slopes")
        cs = _fractions(intercepts, "intercepts")
        if len(ss) != len(bps) + 1:
            raise PWLValueError(f"slopes: expected {len(bps) + 1} (one more than the "
                                f"{len(bps)} breakpoints), got {len(ss)}")
        if len(cs) != len(ss):
            raise PWLValueError(f"intercepts: expected {len(ss)} (one per slope), got {len(cs)}")
        for i in range(1, len(bps)):
            if not bps[i - 1] < bps[i]:
                raise PWLValueError(
                    f"breakpoints must increase strictly: breakpoints[{i}] = "
                    f"{format_exact(bps[i])} is not above breakpoints[{i - 1}] = "
                    f"{format_exact(bps[i - 1])}")
        if dom is not None and bps and not (dom[0] < bps[0] and bps[-1] < dom[1]):
            i, b = (0, bps[0]) if not dom[0] < bps[0] else (len(bps) - 1, bps[-1])
            raise DomainError(f"breakpoints[{i}] = {format_exact(b)} is not strictly "
                              f"inside the domain {_fmt_domain(dom)}")
        for i, b in enumerate(bps):
            left = ss[i] * b + cs[i]
            right = ss[i + 1] * b + cs[i + 1]
            if left != right:
                raise PWLValueError(
                    f"not continuous at breakpoints[{i}] = {format_exact(b)}: the piece "
                    f"on the left gives {format_exact(left)}, the one on the right "
                    f"{format_exact(right)}")
        self._domain = dom
        self._breakpoints, self._slopes, self._intercepts = _merge_collinear(bps, ss, cs)
        self._hash = None

    # -- constructors -------------------------------------------------------
    @classmethod
    def _from_canonical(cls, domain: Domain, breakpoints: tuple[Fraction, ...],
                        slopes: tuple[Fraction, ...], intercepts: tuple[Fraction, ...]
                        ) -> PiecewiseLinear:
        """Trust the data: already validated, continuous and merged."""
        self = object.__new__(cls)
        self._domain = domain
        self._breakpoints = breakpoints
        self._slopes = slopes
        self._intercepts = intercepts
        self._hash = None
        return self

    @classmethod
    def _merged(cls, domain: Domain, breakpoints: Sequence[Fraction],
                slopes: Sequence[Fraction], intercepts: Sequence[Fraction]
                ) -> PiecewiseLinear:
        """Trust continuity and order, but merge collinear neighbours."""
        return cls._from_canonical(domain, *_merge_collinear(breakpoints, slopes, intercepts))

    @classmethod
    def affine(cls, slope: Number, intercept: Number = 0,
               domain: DomainLike = None) -> PiecewiseLinear:
        """The affine function ``slope * x + intercept``.

        >>> PiecewiseLinear.affine("1/2", 1, domain=(0, 4))(3)
        Fraction(5, 2)
        """
        return cls._from_canonical(as_domain(domain), (),
                                   (to_fraction(slope, "slope"),),
                                   (to_fraction(intercept, "intercept"),))

    @classmethod
    def from_points(cls, xs: Iterable[Number], ys: Iterable[Number]) -> PiecewiseLinear:
        """The linear interpolant of ``(xs[i], ys[i])`` on ``[xs[0], xs[-1]]``.

        Parameters
        ----------
        xs : sequence of exact numbers
            At least two, strictly increasing.
        ys : sequence of exact numbers
            As many as ``xs``.

        Examples
        --------
        >>> tri = PiecewiseLinear.from_points([0, "1/2", 1], [0, 1, 0])
        >>> tri.pieces()
        (Piece(lo=0, hi=1/2, slope=2, intercept=0), Piece(lo=1/2, hi=1, slope=-2, intercept=2))
        >>> PiecewiseLinear.from_points([0, 1, 2], [0, 1, 2]).num_pieces
        1
        """
        px = _fractions(xs, "xs")
        py = _fractions(ys, "ys")
        if len(px) != len(py):
            raise PWLValueError(f"ys: expected {len(px)} values (one per x), got {len(py)}")
        if len(px) < 2:
            raise PWLValueError(f"xs: need at least 2 points, got {len(px)}")
        for i in range(1, len(px)):
            if not px[i - 1] < px[i]:
                raise PWLValueError(
                    f"xs must increase strictly: xs[{i}] = {format_exact(px[i])} is not "
                    f"above xs[{i - 1}] = {format_exact(px[i - 1])}")
        slopes = [(y1 - y0) / (x1 - x0) for x0, x1, y0, y1 in zip(px, px[1:], py, py[1:])]
        icpts = [y0 - s * x0 for s, x0, y0 in zip(slopes, px, py)]
        return cls._merged((px[0], px[-1]), px[1:-1], slopes, icpts)

    # -- the data -----------------------------------------------------------
    @property
    def domain(self) -> Domain:
        """``None`` (the whole line) or ``(lo, hi)``."""
        return self._domain

    @property
    def breakpoints(self) -> tuple[Fraction, ...]:
        """The kinks, strictly increasing, strictly inside the domain."""
        return self._breakpoints

    @property
    def slopes(self) -> tuple[Fraction, ...]:
        return self._slopes

    @property
    def intercepts(self) -> tuple[Fraction, ...]:
        return self._intercepts

    @property
    def num_pieces(self) -> int:
        """The number of linear pieces, ``kappa(f)``."""
        return len(self._slopes)

    def pieces(self) -> tuple[Piece, ...]:
        """Each piece as a :class:`Piece` ``(lo, hi, slope, intercept)``,
        ``None`` for an infinite end.

        >>> PiecewiseLinear.affine(0).relu().pieces()
        (Piece(lo=-inf, hi=inf, slope=0, intercept=0),)
        >>> PiecewiseLinear.from_points([0, 1, 2], [0, 1, 0]).pieces()[1].slope
        Fraction(-1, 1)
        """
        lo_end, hi_end = self._domain if self._domain is not None else (None, None)
        los = (lo_end,) + self._breakpoints
        his = self._breakpoints + (hi_end,)
        return tuple(Piece(*p) for p in zip(los, his, self._slopes, self._intercepts))

    def _vertices(self) -> tuple[list[Fraction], list[Fraction]]:
        """The breakpoints and the finite domain ends, with their values."""
        xs = list(self._breakpoints)
        ys = [s * b + c for s, c, b in zip(self._slopes, self._intercepts, xs)]
        if self._domain is not None:
            lo, hi = self._domain
            xs = [lo] + xs + [hi]
            ys = ([self._slopes[0] * lo + self._intercepts[0]] + ys
                  + [self._slopes[-1] * hi + self._intercepts[-1]])
        return xs, ys

    # -- evaluation ---------------------------------------------------------
    @overload
    def __call__(self, x: np.ndarray) -> np.ndarray: ...

    @overload
    def __call__(self, x: Number) -> Fraction: ...

    def __call__(self, x: "Number | np.ndarray") -> "Fraction | np.ndarray":
        """The exact value at an exact number ``x``; at a numpy array of
        floats (or integers), the float64 values of the exact function, each
        within a few ulps of the exact value at that float (for plotting and
        quick comparisons; nothing exact is computed from them).

        >>> f = PiecewiseLinear.from_points([0, 2], [1, 0])
        >>> f("1/2")
        Fraction(3, 4)
        >>> f(np.array([0.0, 0.5, 2.0]))
        array([1.  , 0.75, 0.  ])
        """
        if isinstance(x, np.ndarray):
            return self._float_values(x)
        x = to_fraction(x, "x")
        if self._domain is not None and not self._domain[0] <= x <= self._domain[1]:
            raise DomainError(f"x = {format_exact(x)} is outside the domain "
                              f"{_fmt_domain(self._domain)}")
        # At a breakpoint either neighbouring piece gives the value (continuity).
        p = bisect_left(self._breakpoints, x)
        return self._slopes[p] * x + self._intercepts[p]

    def _float_values(self, x: np.ndarray, check: bool = True) -> np.ndarray:
        """Float64 values at ``x``; ``check=False`` skips the exact domain
        check (for drawing at rounded domain ends)."""
        if x.dtype.kind not in "fiu":
            raise PWLTypeError(f"x: an array of {x.dtype} values; give floats or integers "
                               "(or exact numbers one at a time)")
        xs = np.asarray(x, dtype=np.float64)
        if not np.isfinite(xs).all():
            raise PWLValueError("x: the array holds a nan or an infinity")
        if check and self._domain is not None and xs.size:
            lo, hi = self._domain
            low, high = Fraction(float(xs.min())), Fraction(float(xs.max()))
            if low < lo or high > hi:
                bad = low if low < lo else high
                raise DomainError(f"x = {float(bad)!r} is outside the domain "
                                  f"{_fmt_domain(self._domain)}")
        cuts = np.array([float(b) for b in self._breakpoints], dtype=np.float64)
        piece = np.searchsorted(cuts, xs, side="left")
        slopes = np.array([float(v) for v in self._slopes], dtype=np.float64)
        icpts = np.array([float(v) for v in self._intercepts], dtype=np.float64)
        return slopes[piece] * xs + icpts[piece]

    # -- comparison and display ---------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PiecewiseLinear):
            return NotImplemented
        return (self._domain == other._domain and self._breakpoints == other._breakpoints
                and self._slopes == other._slopes and self._intercepts == other._intercepts)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._domain, self._breakpoints, self._slopes, self._intercepts))
        return self._hash

    def __repr__(self) -> str:
        dom = "None" if self._domain is None else _fmt_domain(self._domain)
        return f"{type(self).__name__}(pieces={self.num_pieces}, domain={dom})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self)._from_canonical,
                (self._domain, self._breakpoints, self._slopes, self._intercepts))

    def __copy__(self) -> PiecewiseLinear:
        return self

    def __deepcopy__(self, memo: object) -> PiecewiseLinear:
        return self

    # -- arithmetic -----------------------------------------------------------
    def _overlay(self, other: PiecewiseLinear
                 ) -> tuple[Domain, list[Fraction], list[int], list[int]]:
        """The common refinement on the intersection of the domains.

        Returns the domain, the merged breakpoints, and for each interval
        between them the index of the piece of ``self`` and of ``other``.
        """
        dom = _intersect(self._domain, other._domain)
        fb, gb = self._breakpoints, other._breakpoints
        i, fi1 = _inner_span(fb, dom)
        j, gj1 = _inner_span(gb, dom)
        # Invariant: i (j) is both the next breakpoint of self (other) and the
        # index of its piece on the current interval.
        bps: list[Fraction] = []
        fi, gj = [i], [j]
        while i < fi1 or j < gj1:
            if j >= gj1 or (i < fi1 and fb[i] < gb[j]):
                bps.append(fb[i])
                i += 1
            elif i >= fi1 or gb[j] < fb[i]:
                bps.append(gb[j])
                j += 1
            else:
                bps.append(fb[i])
                i += 1
                j += 1
            fi.append(i)
            gj.append(j)
        return dom, bps, fi, gj

    def _linear_combination(self, other: PiecewiseLinear, sign: int) -> PiecewiseLinear:
        dom, bps, fi, gj = self._overlay(other)
        fs, fc, gs, gc = self._slopes, self._intercepts, other._slopes, other._intercepts
        if sign > 0:
            slopes = [fs[i] + gs[j] for i, j in zip(fi, gj)]
            icpts = [fc[i] + gc[j] for i, j in zip(fi, gj)]
        else:
            slopes = [fs[i] - gs[j] for i, j in zip(fi, gj)]
            icpts = [fc[i] - gc[j] for i, j in zip(fi, gj)]
        return self._merged(dom, bps, slopes, icpts)

    def _shift(self, c: Fraction) -> PiecewiseLinear:
        return self._from_canonical(self._domain, self._breakpoints, self._slopes,
                                    tuple(v + c for v in self._intercepts))

    def _scale(self, c: Fraction) -> PiecewiseLinear:
        if c == 0:
            return self._from_canonical(self._domain, (), (_ZERO,), (_ZERO,))
        # Scaling by c != 0 keeps neighbouring pieces distinct.
        return self._from_canonical(self._domain, self._breakpoints,
                                    tuple(c * s for s in self._slopes),
                                    tuple(c * v for v in self._intercepts))

    def __add__(self, other: object) -> PiecewiseLinear:
        """``f + g`` on the intersection of the domains, or ``f + c``.

        >>> f = PiecewiseLinear.from_points([0, 1, 2], [0, 1, 0])
        >>> g = PiecewiseLinear.affine(1)
        >>> (f + g).breakpoints, (f + g)(2)
        ((Fraction(1, 1),), Fraction(2, 1))
        >>> (f + "1/2")(0)
        Fraction(1, 2)
        """
        if isinstance(other, PiecewiseLinear):
            return self._linear_combination(other, 1)
        c = _operand(other, "added constant")
        return NotImplemented if c is None else self._shift(c)

    def __radd__(self, other: object) -> PiecewiseLinear:
        c = _operand(other, "added constant")
        return NotImplemented if c is None else self._shift(c)

    def __sub__(self, other: object) -> PiecewiseLinear:
        if isinstance(other, PiecewiseLinear):
            return self._linear_combination(other, -1)
        c = _operand(other, "subtracted constant")
        return NotImplemented if c is None else self._shift(-c)

    def __rsub__(self, other: object) -> PiecewiseLinear:
        c = _operand(other, "constant")
        return NotImplemented if c is None else (-self)._shift(c)

    def __neg__(self) -> PiecewiseLinear:
        return self._scale(Fraction(-1))

    def __pos__(self) -> PiecewiseLinear:
        return self

    def __mul__(self, other: object) -> PiecewiseLinear:
        """``c * f``: scale by an exact number.

        >>> (PiecewiseLinear.affine(1, 1) * "2/3")(1)
        Fraction(4, 3)
        >>> PiecewiseLinear.affine(1) * 0.5
        Traceback (most recent call last):
        ...
        pwl.errors.PWLTypeError: factor: 0.5 is a float; give exact numbers as strings ('0.5' is read as the decimal 0.5), or take floats at their exact binary value with Network.from_arrays, Layer.from_floats or from_float_exact
        """
        if isinstance(other, PiecewiseLinear):
            raise PWLTypeError("the product of two piecewise-linear functions is not "
                               "piecewise linear; multiply by a number")
        c = _operand(other, "factor")
        return NotImplemented if c is None else self._scale(c)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> PiecewiseLinear:
        if isinstance(other, PiecewiseLinear):
            raise PWLTypeError("the quotient of two piecewise-linear functions is not "
                               "piecewise linear; divide by a number")
        c = _operand(other, "divisor")
        if c is None:
            return NotImplemented
        if c == 0:
            raise PWLValueError("divisor: cannot divide a function by 0")
        return self._scale(1 / c)

    # -- pointwise maximum and minimum ----------------------------------------
    def _extremum(self, other: PiecewiseLinear, take_max: bool) -> PiecewiseLinear:
        dom, cuts, fi, gj = self._overlay(other)
        lo_end, hi_end = dom if dom is not None else (None, None)
        fs, fc, gs, gc = self._slopes, self._intercepts, other._slopes, other._intercepts
        bps: list[Fraction] = []
        slopes: list[Fraction] = []
        icpts: list[Fraction] = []
        for k, (i, j) in enumerate(zip(fi, gj)):
            if k:
                bps.append(cuts[k - 1])
            lo = cuts[k - 1] if k else lo_end
            hi = cuts[k] if k < len(cuts) else hi_end
            # d(x) = f(x) - g(x) = da * x + dc on the interval (lo, hi).
            da, dc = fs[i] - gs[j], fc[i] - gc[j]
            if da == 0:
                f_wins = (dc >= 0) == take_max
                first = second = f_wins
                cross = None
            else:
                cross = -dc / da
                # Left of the zero d has the sign of -da, right of it that of da.
                first = (da < 0) == take_max
                second = not first
                if lo is not None and cross <= lo:
                    first = second
                    cross = None
                elif hi is not None and cross >= hi:
                    second = first
                    cross = None
            slopes.append(fs[i] if first else gs[j])
            icpts.append(fc[i] if first else gc[j])
            if cross is not None:
                bps.append(cross)
                slopes.append(fs[i] if second else gs[j])
                icpts.append(fc[i] if second else gc[j])
        return self._merged(dom, bps, slopes, icpts)

    def maximum(self, other: PiecewiseLinear) -> PiecewiseLinear:
        """The pointwise maximum, on the intersection of the domains.

        >>> f = PiecewiseLinear.affine(1).maximum(PiecewiseLinear.affine(-1))
        >>> f == PiecewiseLinear.affine(1).abs()
        True
        """
        return self._extremum(_as_function(other, "maximum"), True)

    def minimum(self, other: PiecewiseLinear) -> PiecewiseLinear:
        """The pointwise minimum, on the intersection of the domains.

        >>> PiecewiseLinear.affine(1).minimum(PiecewiseLinear.affine(0))(5)
        Fraction(0, 1)
        """
        return self._extremum(_as_function(other, "minimum"), False)

    # -- composition ------------------------------------------------------------
    def _range(self) -> Interval:
        """``(min, max)`` of the function on its domain; ``None`` if unbounded."""
        xs, ys = self._vertices()
        lo_v: Optional[Fraction]
        hi_v: Optional[Fraction]
        if self._domain is None and not xs:
            ys = [self._intercepts[0]]
        lo_v, hi_v = min(ys), max(ys)
        if self._domain is None:
            # A ray with slope s != 0 sweeps a half-line of values.
            for s in (-self._slopes[0], self._slopes[-1]):
                if s > 0:
                    hi_v = None
                elif s < 0:
                    lo_v = None
        return lo_v, hi_v

    def compose(self, inner: PiecewiseLinear) -> PiecewiseLinear:
        """``x -> self(inner(x))`` on the domain of ``inner``.

        Parameters
        ----------
        inner : PiecewiseLinear
            Its values must lie in the domain of ``self``.

        Raises
        ------
        DomainError
            If ``inner`` takes a value outside the domain of ``self``.

        Examples
        --------
        >>> tri = PiecewiseLinear.from_points([0, "1/2", 1], [0, 1, 0])
        >>> tri.compose(tri).num_pieces, tri.compose(tri).compose(tri).num_pieces
        (4, 8)
        >>> (tri.compose(tri) - "1/2").abs().integral()
        Fraction(1, 4)
        """
        inner = _as_function(inner, "compose")
        if self._domain is not None:
            lo_v, hi_v = inner._range()
            lo, hi = self._domain
            if lo_v is None or hi_v is None or lo_v < lo or hi_v > hi:
                low = "-inf" if lo_v is None else format_exact(lo_v)
                raise DomainError(
                    f"compose: the inner function takes values in [{low}, {_fmt(hi_v)}], "
                    f"not inside the outer domain {_fmt_domain(self._domain)}")
        return _compose(self, inner)

    def apply(self, activation: Union[str, Activation], **params: Number) -> PiecewiseLinear:
        """``activation(f(x))``, exactly.

        Parameters
        ----------
        activation : str or Activation
            A name known to :func:`pwl.values.activations.get_activation` or an
            :class:`~pwl.values.activations.Activation`.
        **params
            Parameters for a named activation (``alpha`` of ``leaky_relu``).

        Examples
        --------
        >>> f = PiecewiseLinear.affine(2, -1, domain=(0, 1))
        >>> f.apply("hardtanh", min="-1/2", max="1/2").breakpoints
        (Fraction(1, 4), Fraction(3, 4))
        >>> f.apply("leaky_relu", alpha="1/10")(0)
        Fraction(-1, 10)
        """
        act = get_activation(activation, **params)
        outer = self._from_canonical(None, act.kinks, act.slopes, act.intercepts)
        return _compose(outer, self)

    def relu(self) -> PiecewiseLinear:
        """``max(f, 0)``.

        >>> PiecewiseLinear.affine(1).relu().pieces()
        (Piece(lo=-inf, hi=0, slope=0, intercept=0), Piece(lo=0, hi=inf, slope=1, intercept=0))
        """
        return self.apply("relu")

    def abs(self) -> PiecewiseLinear:
        """``|f|``.

        >>> PiecewiseLinear.affine(1, -1, domain=(0, 3)).abs()(0)
        Fraction(1, 1)
        """
        return self.apply("abs")

    # -- domains ----------------------------------------------------------------
    def restrict(self, lo: Number, hi: Number) -> PiecewiseLinear:
        """The function on ``[lo, hi]``, a sub-interval of its domain.

        >>> f = PiecewiseLinear.from_points([0, 1, 2], [0, 1, 0])
        >>> f.restrict(0, 1) == PiecewiseLinear.affine(1, domain=(0, 1))
        True
        """
        dom = as_domain((lo, hi))
        assert dom is not None
        if self._domain is not None and not (self._domain[0] <= dom[0]
                                             and dom[1] <= self._domain[1]):
            raise DomainError(f"restrict: {_fmt_domain(dom)} is not inside the domain "
                              f"{_fmt_domain(self._domain)}")
        i0, i1 = _inner_span(self._breakpoints, dom)
        # Restriction keeps neighbouring pieces distinct: still canonical.
        return self._from_canonical(dom, self._breakpoints[i0:i1], self._slopes[i0:i1 + 1],
                                    self._intercepts[i0:i1 + 1])

    def join(self, other: PiecewiseLinear) -> PiecewiseLinear:
        """Glue functions on ``[a, b]`` and ``[b, c]`` into one on ``[a, c]``.

        The two may come in either order; they must agree at ``b``.

        >>> f = PiecewiseLinear.from_points([0, 1, 2, 3], [0, 1, 0, 1])
        >>> f.restrict(0, "3/2").join(f.restrict("3/2", 3)) == f
        True
        """
        other = _as_function(other, "join")
        sdom, odom = self._domain, other._domain
        if sdom is None or odom is None:
            raise DomainError("join: both functions need a bounded domain")
        if sdom[1] == odom[0]:
            left, right, ldom, rdom = self, other, sdom, odom
        elif odom[1] == sdom[0]:
            left, right, ldom, rdom = other, self, odom, sdom
        else:
            raise DomainError(f"join: the domains {_fmt_domain(sdom)} and "
                              f"{_fmt_domain(odom)} do not touch")
        b = ldom[1]
        lv = left._slopes[-1] * b + left._intercepts[-1]
        rv = right._slopes[0] * b + right._intercepts[0]
        if lv != rv:
            raise PWLValueError(f"join: the functions disagree at {format_exact(b)} "
                                f"({format_exact(lv)} against {format_exact(rv)})")
        dom = (ldom[0], rdom[1])
        if left._slopes[-1] == right._slopes[0] and left._intercepts[-1] == right._intercepts[0]:
            return self._from_canonical(dom, left._breakpoints + right._breakpoints,
                                        left._slopes + right._slopes[1:],
                                        left._intercepts + right._intercepts[1:])
        return self._from_canonical(dom, left._breakpoints + (b,) + right._breakpoints,
                                    left._slopes + right._slopes,
                                    left._intercepts + right._intercepts)

    # -- integrals and norms ------------------------------------------------------
    def _finite_vertices(self, what: str) -> tuple[list[Fraction], list[Fraction]]:
        """Vertices of a function whose ``what`` is finite; on the whole line the
        function must vanish on both rays (a nonzero ray contributes infinity)."""
        if self._domain is None and not (
                self._slopes[0] == 0 == self._intercepts[0]
                and self._slopes[-1] == 0 == self._intercepts[-1]):
            raise DomainError(f"{what} is infinite on the whole line unless the function is "
                              "0 on both end rays; restrict it to a bounded domain")
        return self._vertices()

    def integral(self) -> Fraction:
        """The exact integral over the domain.

        Raises
        ------
        DomainError
            On the whole line, unless the function is 0 on both end rays.

        Examples
        --------
        >>> PiecewiseLinear.from_points([0, 1, 3], [0, 2, 0]).integral()
        Fraction(3, 1)
        >>> PiecewiseLinear.from_points([0, 1, 2], [0, 1, 0]).relu().integral()
        Fraction(1, 1)
        """
        xs, ys = self._finite_vertices("integral")
        # The trapezoid rule is exact on each linear piece.
        total = sum(((x1 - x0) * (y0 + y1) for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])),
                    _ZERO)
        return total / 2

    def integral_of_square(self) -> Fraction:
        """The exact integral of ``f(x)**2`` over the domain.

        Same finiteness rule as :meth:`integral`.

        >>> PiecewiseLinear.affine(1, domain=(0, 1)).integral_of_square()
        Fraction(1, 3)
        """
        xs, ys = self._finite_vertices("integral of the square")
        # For a linear u -> v on [x0, x1], int (piece)^2 = (x1 - x0)(u^2 + uv + v^2)/3
        # (Simpson's rule, exact for quadratics).
        total = sum(((x1 - x0) * (y0 * y0 + y0 * y1 + y1 * y1)
                     for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:])), _ZERO)
        return total / 3

    def sup_abs(self) -> Fraction:
        """``max |f|`` over the domain, reached at a breakpoint or a domain end.

        Raises
        ------
        DomainError
            If ``|f|`` is unbounded (a nonzero end slope on the whole line).

        Examples
        --------
        >>> PiecewiseLinear.from_points([0, 1, 2], [1, -3, 2]).sup_abs()
        Fraction(3, 1)
        >>> PiecewiseLinear.affine(1).relu().minimum(PiecewiseLinear.affine(0, 1)).sup_abs()
        Fraction(1, 1)
        """
        lo_v, hi_v = self._range()
        if lo_v is None or hi_v is None:
            raise DomainError("sup_abs: |f| is unbounded on the whole line "
                              "(an end ray has a nonzero slope)")
        return max(-lo_v, hi_v)

    # -- symbolic -------------------------------------------------------------------
    def to_sympy(self, x: Optional[Union[str, "sympy.Symbol"]] = None) -> "sympy.Expr":
        """A :class:`sympy.Piecewise` in the symbol ``x`` with exact rationals.

        Each piece holds on its closed interval; outside the domain the result
        is ``nan``.  A single affine piece on the whole line is returned as the
        affine expression itself (sympy folds ``Piecewise((e, True))``).

        Examples
        --------
        >>> import sympy
        >>> e = PiecewiseLinear.from_points([0, 1, 3], [0, 2, 0]).to_sympy()
        >>> e.subs(sympy.Symbol("x"), sympy.Rational(1, 2))
        1
        """
        import sympy

        if x is None:
            x = "x"
        if isinstance(x, str):
            symbol = sympy.Symbol(x)
        elif isinstance(x, sympy.Symbol):
            symbol = x
        else:
            raise PWLTypeError(f"to_sympy: x must be a sympy Symbol or a name, got {x!r:.60}")

        def rational(q: Fraction) -> sympy.Rational:
            return sympy.Rational(q.numerator, q.denominator)

        args = []
        for lo, hi, s, c in self.pieces():
            expr = rational(s) * symbol + rational(c)
            cond: Any
            if lo is not None and hi is not None:
                cond = sympy.And(symbol >= rational(lo), symbol <= rational(hi))
            elif lo is not None:
                cond = symbol >= rational(lo)
            elif hi is not None:
                cond = symbol <= rational(hi)
            else:
                cond = sympy.true
            args.append((expr, cond))
        return sympy.Piecewise(*args)


def _as_function(value: object, where: str) -> PiecewiseLinear:
    if not isinstance(value, PiecewiseLinear):
        raise PWLTypeError(f"{where}: expected a PiecewiseLinear, got {value!r:.60}")
    return value


def _compose(outer: PiecewiseLinear, inner: PiecewiseLinear) -> PiecewiseLinear:
    """``outer(inner(x))``, trusting that inner's values lie in outer's domain.

    On an inner piece ``z = a x + c`` over ``(lo, hi)`` the value ``z`` sweeps
    ``(a lo + c, a hi + c)`` monotonically, so the outer breakpoints it crosses
    are a contiguous run found by bisection, met in increasing order if
    ``a > 0`` and in decreasing order if ``a < 0``.
    """
    ob, os_, oc = outer._breakpoints, outer._slopes, outer._intercepts
    ib, is_, ic = inner._breakpoints, inner._slopes, inner._intercepts
    dom = inner._domain
    n_out = len(ob)
    bps: list[Fraction] = []
    slopes: list[Fraction] = []
    icpts: list[Fraction] = []
    for p, (a, c) in enumerate(zip(is_, ic)):
        if p:
            bps.append(ib[p - 1])
        lo = ib[p - 1] if p else (dom[0] if dom is not None else None)
        hi = ib[p] if p < len(ib) else (dom[1] if dom is not None else None)
        if a == 0:
            q = bisect_left(ob, c)
            slopes.append(_ZERO)
            icpts.append(os_[q] * c + oc[q])
            continue
        z_lo = None if lo is None else a * lo + c
        z_hi = None if hi is None else a * hi + c
        if a > 0:
            # Just right of lo, z is just above z_lo.
            q = 0 if z_lo is None else bisect_right(ob, z_lo)
            q_end = n_out if z_hi is None else bisect_left(ob, z_hi)
            run = range(q, q_end)
            step = 1
        else:
            # Just right of lo, z is just below z_lo.
            q = n_out if z_lo is None else bisect_left(ob, z_lo)
            q_end = 0 if z_hi is None else bisect_right(ob, z_hi)
            run = range(q - 1, q_end - 1, -1)
            step = 0
        slopes.append(os_[q] * a)
        icpts.append(os_[q] * c + oc[q])
        for k in run:
            # Crossing ob[k] upwards enters outer piece k + 1, downwards piece k.
            bps.append((ob[k] - c) / a)
            slopes.append(os_[k + step] * a)
            icpts.append(os_[k + step] * c + oc[k + step])
    return PiecewiseLinear._merged(dom, bps, slopes, icpts)
