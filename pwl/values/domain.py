"""Domains: a closed interval ``[lo, hi]`` with exact ends, or the whole line."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence, Tuple, Union

from ..errors import DomainError
from .numbers import format_exact, to_fraction

__all__ = ["Domain", "DomainLike", "Interval", "as_domain", "format_domain"]

#: ``None`` is the whole real line; otherwise ``(lo, hi)`` with ``lo < hi``.
Domain = Optional[Tuple[Fraction, Fraction]]
DomainLike = Union[None, Sequence[object]]
#: An interval of the line, ``None`` for an infinite end: a region of a
#: partition, a chunk of a count, the image of a piece.  The one interval
#: type of the package.
Interval = Tuple[Optional[Fraction], Optional[Fraction]]


def as_domain(domain: DomainLike) -> Domain:
    """Validate a domain.

    >>> as_domain((0, "1/2"))
    (Fraction(0, 1), Fraction(1, 2))
    >>> as_domain(None) is None
    True
    >>> as_domain((1, 0))
    Traceback (most recent call last):
    ...
    pwl.errors.DomainError: domain: lo = 1 must be below hi = 0
    """
    if domain is None:
        return None
    if isinstance(domain, (str, bytes)) or len(domain) != 2:
        raise DomainError(f"domain: expected (lo, hi), got {domain!r:.60}")
    lo = to_fraction(domain[0], "domain lo")
    hi = to_fraction(domain[1], "domain hi")
    if not lo < hi:
        raise DomainError(f"domain: lo = {format_exact(lo)} must be below hi = {format_exact(hi)}")
    return (lo, hi)


def format_domain(domain: Domain) -> Optional[list[str]]:
    """``None`` or ``["lo", "hi"]`` as exact strings (the JSON form)."""
    if domain is None:
        return None
    return [format_exact(domain[0]), format_exact(domain[1])]
