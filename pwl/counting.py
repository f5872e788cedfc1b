"""Counting pieces and activation regions: one front end, several methods.

``count(net, domain, method=None)`` picks a method:

* ``"enumerate"``: exact propagation of the partition (:mod:`pwl.propagate`);
  lists every cut, so it also yields breakpoints and per-layer statistics.
* ``"compose"``: through rank-1 bottlenecks (:mod:`pwl.compose`); counts
  without listing, so ``2^1000`` pieces take milliseconds.  The default
  whenever it applies and neither breakpoints nor per-layer statistics are
  asked for.

Every method returns the same exact numbers; they differ in what else they
can report and in how they scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from .domain import Domain, DomainLike, as_domain
from .errors import PWLValueError, ResourceLimitError
from .network import Network
from .partition import LayerStats

__all__ = ["CountResult", "count", "METHODS"]

METHODS = ("enumerate", "compose")


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
    if method is not None and method not in METHODS:
        raise PWLValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    if not 0 <= output < net.output_size:
        raise PWLValueError(f"output {output} does not exist (the network has "
                            f"{net.output_size} output(s), numbered from 0)")
    from . import compose

    wants_listing = breakpoints or per_layer
    if method == "compose" and wants_listing:
        raise PWLValueError("the compose method counts without listing: breakpoints and "
                            "per-layer statistics need --method enumerate")
    if method == "compose" and not compose.applies(net):
        raise PWLValueError("the compose method needs a hidden layer after the first "
                            "whose weight matrix has rank 1")
    if method == "compose" or (method is None and not wants_listing and compose.applies(net)):
        try:
            pieces, regions = compose.compose_count(net, dom, output)
        except ResourceLimitError:
            if method == "compose":
                raise
        else:
            return CountResult(domain=dom, depth=net.depth, widths=net.widths, output=output,
                               pieces=pieces, activation_regions=regions, method="compose")
    from .propagate import propagate

    part = propagate(net, dom, per_layer=per_layer, progress=progress)
    return CountResult(
        domain=dom,
        depth=net.depth,
        widths=net.widths,
        output=output,
        pieces=part.pieces(output),
        activation_regions=part.activation_regions,
        method="enumerate",
        breakpoints=part.breakpoints(output) if breakpoints else None,
        layers=part.layers,
    )
