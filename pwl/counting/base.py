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
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..values.domain import Domain
from ..values.network import Network
from ..values.numbers import format_exact
from ..values.partition import LayerStats

if TYPE_CHECKING:
    from ..values.function import PiecewiseLinear

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
    #: The output as an exact function, when the breakpoints were listed.
    function: Optional["PiecewiseLinear"] = None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data, the schema of ``pwl count --json``
        (without the ``network`` and ``line`` keys the command adds): every
        key is always present, numbers exact as strings where rational.

        >>> from pwl.values.network import Network
        >>> from pwl.counting import count
        >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, 1]], [0], "identity")])
        >>> d = count(net, (-1, 1), breakpoints=True).to_dict()
        >>> d["pieces"], d["pieces_per_output"], d["breakpoints"], d["domain"]
        (2, None, ['0'], ['-1', '1'])
        """
        return {
            "domain": None if self.domain is None else [format_exact(v) for v in self.domain],
            "depth": self.depth,
            "widths": list(self.widths),
            "output": self.output,
            "pieces": self.pieces,
            "pieces_per_output": None,
            "activation_regions": self.activation_regions,
            "method": self.method,
            "decisions": self.decisions,
            "chunks": self.chunks,
            "breakpoints": (None if self.breakpoints is None
                            else [format_exact(b) for b in self.breakpoints]),
            "layers": None if self.layers is None else [layer_dict(s) for s in self.layers
                                                        if s.index < self.depth],
        }


def layer_dict(s: LayerStats) -> dict[str, Any]:
    """One hidden layer's statistics as JSON-ready data."""
    return {"layer": s.index + 1, "width": s.width, "activation_regions": s.regions,
            "max_kappa": s.max_kappa, "kappa_pre": list(s.kappa_pre),
            "kappa_post": list(s.kappa_post)}


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
    max_regions: Optional[int] = None
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
