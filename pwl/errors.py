"""The one error family of pwl.

Every bad input raises a subclass of :class:`PWLError`.  Wrong types raise a
subclass that is also a :class:`TypeError`; wrong values one that is also a
:class:`ValueError`, so callers may catch either the family or the builtin.
"""

from __future__ import annotations

__all__ = [
    "PWLError",
    "PWLTypeError",
    "PWLValueError",
    "NetworkFormatError",
    "DomainError",
    "ResourceLimitError",
]


class PWLError(Exception):
    """Base class of every error pwl raises on purpose."""


class PWLTypeError(PWLError, TypeError):
    """An input has the wrong type (a string where a number belongs, ...)."""


class PWLValueError(PWLError, ValueError):
    """An input has the right type but an unusable value."""


class NetworkFormatError(PWLValueError):
    """A network description is malformed (shape, activation, number, ...)."""


class DomainError(PWLValueError):
    """A domain is empty, reversed, or a quantity is infinite on it."""


class MissingExtraError(PWLValueError):
    """An optional dependency is not installed; the message says how to get
    it, from the package index and from a checkout of pwl."""

    def __init__(self, what: str, package: str, extra: str):
        spelled = f"'{package}'" if "[" in package else package    # quoted for the shell
        super().__init__(f"{what} needs {package}: pip install {spelled} (or, in a checkout "
                         f"of pwl, pip install -e '.[{extra}]')")
        self.package, self.extra = package, extra


class ResourceLimitError(PWLValueError):
    """A computation would exceed a configured limit (pieces, memory, size)."""


class RegionLimitError(ResourceLimitError):
    """A count has more activation regions than ``limit``: at least
    ``regions`` (after layer ``layer``, or in the finished count when
    ``layer`` is None)."""

    def __init__(self, regions: int, limit: int, layer: "int | None" = None,
                 advice: str = "raise --max-regions (max_regions=) or count a smaller domain"):
        where = "the count has" if layer is None else f"layer {layer} already makes"
        super().__init__(f"stopped: {where} {regions} activation regions, more than the "
                         f"limit of {limit}; {advice}")
        self.regions, self.limit, self.layer = regions, limit, layer
