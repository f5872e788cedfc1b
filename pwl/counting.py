"""Counting pieces and activation regions: one front end, several methods.

``count(net, domain, method=None)`` picks a method:

* ``"enumerate"``: exact propagation of the partition (:mod:`pwl.propagate`);
  lists every cut, so it also yields breakpoints and per-layer statistics.

Every method returns the same exact numbers; they differ in what else they
can report and in how they scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from .domain import Domain, DomainLike, as_domain
from .errors import PWLValueError
from .network import Network
from .partition import LayerStats

__all__ = ["CountResult", "count", "METHODS"]

METHODS = ("enumerate",)


@dataclass(frozen=True)
class CountResult:
    """Exact counts for one output of a network over a domain."""

    domain: Domain
    depth: int
    widths: tuple[int, ...]
    output: int
    pieces: int
    activation_regions: Optional[int]
    method: str
    breakpoints: Optional[tuple[Fraction, ...]] = None
    layers: Optional[tuple[LayerStats, ...]] = None


def count(net: Network, domain: DomainLike = None, *, output: int = 0,
          method: Optional[str] = None, breakpoints: bool = False,
          per_layer: bool = False,
          progress: Optional[Callable[[int, int], None]] = None) -> CountResult:
    """Count the pieces of output ``output`` and the activation regions.

    Examples
    --------
    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, -1]], [0], "identity")])
    >>> r = count(net)
    >>> r.pieces, r.activation_regions
    (1, 2)
    """
    dom = as_domain(domain)
    if method is None:
        method = "enumerate"
    if method not in METHODS:
        raise PWLValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    if not 0 <= output < net.output_size:
        raise PWLValueError(f"output {output} does not exist (the network has "
                            f"{net.output_size} output(s), numbered from 0)")
    from .propagate import propagate

    part = propagate(net, dom, per_layer=per_layer, progress=progress)
    return CountResult(
        domain=dom,
        depth=net.depth,
        widths=net.widths,
        output=output,
        pieces=part.pieces(output),
        activation_regions=part.activation_regions,
        method=method,
        breakpoints=part.breakpoints(output) if breakpoints else None,
        layers=part.layers,
    )
