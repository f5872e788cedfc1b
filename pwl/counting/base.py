"""What every counting method shares: the request, the result, the refusal.

A method is a module of :mod:`pwl.counting` with

* ``NAME``: its name in the registry (``--method NAME``);
* ``LISTS``: whether it can list breakpoints and per-layer statistics;
* ``applies(net, domain) -> bool``: whether it can count this network;
* ``preferred(net, domain) -> bool``: whether the front end picks it
  unasked (tried in the registry's order);
* ``REFUSAL``: why it does not apply, for a user who asked for it;
* ``count(request) -> CountResult``, raising :class:`NotApplicable` when it
  turns out it cannot finish (the front end then tries the next method,
  unless this one was asked for).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from ..domain import Domain
from ..network import Network
from ..partition import LayerStats

__all__ = ["CountResult", "Request", "NotApplicable"]


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
    chunks: int = 1
    #: How the certified route settled its decisions (``float64``, ``ball``,
    #: ``exact``, ``escalated_regions``); None for the exact methods, where
    #: every decision is exact arithmetic.
    decisions: Optional[dict[str, int]] = None


@dataclass(frozen=True)
class Request:
    """One count, as the front end hands it to a method."""

    net: Network
    domain: Domain
    output: int = 0
    breakpoints: bool = False
    per_layer: bool = False
    max_memory: Optional[int] = None
    workers: Optional[int] = None
    scheduler: Optional[str] = None
    progress: Optional[Callable[[int, int], None]] = None
    chunk_progress: Optional[Callable[[int, int, int], None]] = None
    max_pieces: Optional[int] = None
    forced: bool = False

    @property
    def wants_listing(self) -> bool:
        return self.breakpoints or self.per_layer

    def result(self, **fields: object) -> CountResult:
        """A :class:`CountResult` with this request's domain and network shape."""
        return CountResult(domain=self.domain, depth=self.net.depth, widths=self.net.widths,
                           output=self.output, **fields)  # type: ignore[arg-type]


class NotApplicable(Exception):
    """A method cannot finish this count (the next one may)."""
