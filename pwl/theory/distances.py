"""Exact distances between piecewise-linear functions and networks.

* ``l1``: ``int |f - g|``;
* ``l2sq``: ``int (f - g)^2`` (the squared L2 distance, rational);
* ``sup``: ``max |f - g|``.

All are exact rationals.  On the whole line a distance is finite only when
``f - g`` vanishes on both end rays (``sup`` needs both end slopes 0); an
infinite one is refused with :class:`~pwl.errors.DomainError`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Union

from ..engine.propagate import function_of
from ..values.domain import DomainLike, as_domain
from ..errors import PWLValueError
from ..values.function import PiecewiseLinear
from ..values.network import Network

__all__ = ["distance", "METRICS"]

_METRICS: dict[str, Callable[[PiecewiseLinear], Fraction]] = {
    "l1": lambda d: d.abs().integral(),
    "l2sq": lambda d: d.integral_of_square(),
    "sup": lambda d: d.sup_abs(),
}
METRICS = tuple(_METRICS)


def _as_function(obj: Union[Network, PiecewiseLinear], domain: DomainLike,
                 output: int) -> PiecewiseLinear:
    if isinstance(obj, Network):
        return function_of(obj, domain, output)
    if domain is not None:
        dom = as_domain(domain)
        assert dom is not None
        return obj.restrict(*dom)
    return obj


def distance(f: Union[Network, PiecewiseLinear], g: Union[Network, PiecewiseLinear],
             domain: DomainLike = None, metric: str = "l1", output: int = 0) -> Fraction:
    """Exact distance between two networks or functions on ``domain``.

    >>> from pwl.theory.constructions import telgarsky
    >>> half = PiecewiseLinear.affine(0, "1/2")
    >>> distance(telgarsky(4), half, (0, 1))
    Fraction(1, 4)
    """
    if metric not in _METRICS:
        raise PWLValueError(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    ff = _as_function(f, domain, output)
    gg = _as_function(g, domain, output)
    return _METRICS[metric](ff - gg)
