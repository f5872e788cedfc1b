"""Counting pieces and activation regions: one front end, several methods.

Each method is a module of this package, listed in :data:`REGISTRY` (as
networkx's flow algorithms are): it says whether it ``applies`` to a
network and whether the front end should prefer it, and counts a
:class:`~pwl.counting.base.Request` (see :mod:`pwl.counting.base`).

* ``"compose"`` (:mod:`pwl.counting.compose`): through rank-1 bottlenecks;
  counts without listing, so ``2^1000`` pieces take milliseconds.
* ``"certified"`` (:mod:`pwl.counting.certified`): float64 with proven
  error bounds, undecided regions settled locally (balls, then exact); the
  default for weights with large denominators (floats at their exact binary
  value, long decimals, lines through many-input models).  ``decisions``
  says how every decision was settled.
* ``"enumerate"`` (:mod:`pwl.counting.enumeration`): exact propagation of
  the partition; lists every cut, so it also yields breakpoints and
  per-layer statistics; chunked past the memory budget.

``count(net, domain, method=None)`` tries the preferred methods in the
registry's order, the first that applies and finishes; every method returns
the same exact numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..values.domain import Domain, DomainLike, as_domain
from ..errors import PWLValueError, RegionLimitError, ResourceLimitError
from ..values.network import Layer, Network
from ..values.numbers import format_exact
from ..values.partition import Partition
from . import certified as _certified, compose as _compose, enumeration as _enumeration
from .base import CountResult, NotApplicable, Request

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CountResult", "OutputsCount", "count", "count_outputs", "METHODS", "REGISTRY"]

#: The counting methods, in the order the front end tries them unasked.
REGISTRY: dict[str, ModuleType] = {m.NAME: m for m in (_compose, _certified, _enumeration)}

#: Every method's name, as ``--method`` accepts them.
METHODS = tuple(REGISTRY)


#: Weights with denominators beyond this make exact integer forms outgrow
#: int64 at once; such networks are counted with certified floats.
BIG_DENOMINATOR = 2**20

def big_numbers(net: Network) -> bool:
    """Do the weights have large denominators (floats with fractional
    parts at their exact binary value, long decimals), so that exact
    integer forms outgrow int64 at once?  Integer networks, however wide or
    deep, enumerate faster exactly (int64, then python-flint integers).
    Only the route depends on this, never the answer."""
    big = net._memo.big_numbers
    if big is None:
        big = False
        if net.is_chain:
            for layer in net.layers:
                if layer.approx is not None:
                    big = True          # a line's first layer: dyadic, huge denominators
                elif layer.floats is not None:
                    big = _float_denominator(layer) > BIG_DENOMINATOR
                else:
                    big = any(w.denominator > BIG_DENOMINATOR
                              for row in layer.weights + (layer.bias,) for w in row)
                if big:
                    break
        net._memo.big_numbers = big
    return bool(big)


def _float_denominator(layer: Layer) -> float:
    """The least power of two that makes every entry of a float layer an integer."""
    from ..engine.escalate import layer_dyadic_parts

    _, expo, nonzero = layer_dyadic_parts(layer)
    if not nonzero.any():
        return 1.0
    top = max(-int(expo[nonzero].min()), 0)
    return math.inf if top > 1000 else 2.0 ** top


#: Counting stops past this many activation regions unless told otherwise:
#: about an hour of enumeration on one core of a small machine.
DEFAULT_MAX_REGIONS = 2**33


def region_guard(net: Network, max_regions: Optional[int],
                 progress: Optional[Callable[[int, int], None]]
                 ) -> Optional[Callable[[int, int], None]]:
    """``progress`` that also stops, with :class:`ResourceLimitError`, once
    a hidden layer has cut the domain into more than ``max_regions``
    activation regions (later layers only add regions, so the count would
    exceed the limit too).  The output layer's cuts are kinks of the
    output, not region boundaries, and are not counted."""
    if max_regions is None:
        return progress
    last = len(net.nodes) - 2       # the output node's index in progress reports

    def guarded(layer: int, regions: int) -> None:
        if progress is not None:
            progress(layer, regions)
        if layer < last and regions > max_regions:
            raise RegionLimitError(regions, max_regions, layer + 1)

    return guarded


def check_regions(regions: Optional[int], max_regions: Optional[int],
                  layer: Optional[int] = None) -> None:
    """Refuse a finished count whose activation regions exceed the limit."""
    if max_regions is not None and regions is not None and regions > max_regions:
        raise RegionLimitError(regions, max_regions, layer)


def count(net: Network, domain: DomainLike = None, *, output: int = 0,
          method: Optional[str] = None, breakpoints: bool = False,
          per_layer: bool = False, max_memory: Optional[int] = None,
          workers: Optional[int] = None, scheduler: Optional[str] = None,
          progress: Optional[Callable[[int, int], None]] = None,
          chunk_progress: Optional[Callable[[int, int, int], None]] = None,
          max_regions: Optional[int] = None) -> CountResult:
    """Count the pieces of output ``output`` and the activation regions.

    Parameters
    ----------
    net, domain, output
        The network, the domain (default: the whole line), which output.
    method : {None, "compose", "certified", "enumerate"}
        ``None`` tries the preferred methods in :data:`REGISTRY`'s order:
        ``compose`` when it applies and nothing needs listing, ``certified``
        for weights with large denominators, ``enumerate`` otherwise.
    breakpoints, per_layer : bool
        Also list the breakpoints / per-layer statistics (enumeration in one
        piece; refused with :class:`ResourceLimitError` beyond ``max_memory``).
    max_memory : int, optional
        Bytes the counting may use (default: a quarter of RAM).  Larger jobs
        are counted in chunks joined exactly at the seams.
    workers : int, optional
        Local processes for chunked counting (default: the machine's cores).
    scheduler : str, optional
        Address of a dask.distributed scheduler to run the chunks on.
    progress : callable, optional
        Called as ``progress(layer_index, regions)`` after each layer.
    max_regions : int, optional
        Every method stops with :class:`ResourceLimitError` once the count
        has more activation regions than this (a hidden layer's cut, a
        chunk's total or the finished count shows it).  By default only
        chunked enumeration is limited, to :data:`DEFAULT_MAX_REGIONS`
        (about an hour); the other methods are not.

    Examples
    --------
    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, -1]], [0], "identity")])
    >>> r = count(net)
    >>> r.pieces, r.activation_regions, r.method
    (1, 2, 'enumerate')
    """
    dom = as_domain(domain)
    if method is not None and method not in REGISTRY:
        raise PWLValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    if not 0 <= output < net.output_size:
        raise PWLValueError(f"output {output} does not exist (the network has "
                            f"{net.output_size} output(s), numbered from 0)")
    if workers is not None and workers < 1:
        raise PWLValueError(f"workers must be at least 1, got {workers}")
    if net.input_size != 1:
        raise PWLValueError(
            f"the network has {net.input_size} inputs; pwl analyses one input "
            "(restrict it to a line through its input space: pwl count --line A B)")
    if max_regions is not None and max_regions < 1:
        raise PWLValueError(f"max_regions must be at least 1, got {max_regions}")
    req = Request(net, dom, output, breakpoints, per_layer, max_memory, workers, scheduler,
                  region_guard(net, max_regions, progress), chunk_progress,
                  DEFAULT_MAX_REGIONS if max_regions is None else max_regions,
                  forced=method is not None)
    if method is not None:
        chosen = REGISTRY[method]
        if req.wants_listing and not chosen.LISTS:
            raise PWLValueError(f"the {method} method counts without listing: breakpoints and "
                                "per-layer statistics need --method enumerate")
        if not chosen.applies(net, dom):
            raise PWLValueError(chosen.REFUSAL
                                + ("; this network is a graph" if not net.is_chain else ""))
        return _checked(chosen.count(req), max_regions)
    for candidate in REGISTRY.values():
        if req.wants_listing and not candidate.LISTS:
            continue
        if candidate.applies(net, dom) and candidate.preferred(net, dom):
            try:
                return _checked(candidate.count(req), max_regions)
            except NotApplicable:
                continue    # this one cannot finish here: the next one can
    raise AssertionError("enumeration applies to every network")  # pragma: no cover


def _checked(result: CountResult, max_regions: Optional[int]) -> CountResult:
    check_regions(result.activation_regions, max_regions)
    return result


def one_partition(net: Network, dom: Domain, budget: int, per_layer: bool,
                   progress: Optional[Callable[[int, int], None]], what: str,
                   advice: str) -> Partition:
    """The whole domain's partition in one process, within ``budget`` bytes,
    or :class:`ResourceLimitError` saying ``what`` needs more and ``advice``."""
    from ..engine.parallel import regions_for_memory
    from ..engine.propagate import Limit, RegionLimit, _propagate

    cap = regions_for_memory(net, budget, 1)
    try:
        return _propagate(net, dom, per_layer, progress, Limit(cap, cap))
    except RegionLimit as exc:
        raise ResourceLimitError(
            f"{what} needs more than {cap} regions (layer {exc.layer} makes "
            f"{exc.regions}), over the memory budget of {budget} bytes; {advice}, or raise "
            "--max-memory") from None


@dataclass(frozen=True)
class OutputsCount:
    """Pieces of every output and of all of them jointly."""

    domain: Domain
    pieces: tuple[int, ...]
    joint_pieces: int
    activation_regions: int
    method: str = "enumerate"
    decisions: Optional[dict[str, int]] = None
    depth: int = 0
    widths: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data in the schema of ``pwl count --output all --json``
        (the keys of :meth:`CountResult.to_dict`): ``pieces`` is the joint
        count, the pieces of the vector of all outputs, and
        ``pieces_per_output`` lists each output's.

        >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, 0], [1, -1]], [0, 0], "identity")])
        >>> d = count_outputs(net).to_dict()
        >>> d["output"], d["pieces"], d["pieces_per_output"]
        ('all', 2, [2, 1])
        """
        return {
            "domain": None if self.domain is None else [format_exact(v) for v in self.domain],
            "depth": self.depth,
            "widths": list(self.widths),
            "output": "all",
            "pieces": self.joint_pieces,
            "pieces_per_output": list(self.pieces),
            "activation_regions": self.activation_regions,
            "method": self.method,
            "decisions": self.decisions,
            "chunks": 1,
            "breakpoints": None,
            "layers": None,
        }


def count_outputs(net: Network, domain: DomainLike = None, *,
                  max_memory: Optional[int] = None,
                  progress: Optional[Callable[[int, int], None]] = None,
                  max_regions: Optional[int] = None) -> OutputsCount:
    """Pieces of each output, and joint pieces (the union of all outputs'
    breakpoints), from one pass: certified floats for networks with large
    numbers (:mod:`pwl.engine.certified`), one enumeration otherwise.

    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, 0], [1, -1]], [0, 0], "identity")])
    >>> count_outputs(net).pieces, count_outputs(net).joint_pieces
    ((2, 1), 2)
    """
    from ..engine import certified
    from ..engine.parallel import default_memory_budget

    dom = as_domain(domain)
    progress = region_guard(net, max_regions, progress)
    if _certified.preferred(net, dom):
        try:
            res = certified.certified_counts(net, dom, progress)
        except certified.Undecided:
            pass    # numbers beyond the float range: count exactly
        else:
            check_regions(res.activation_regions, max_regions)
            return OutputsCount(dom, res.pieces, res.joint_pieces, res.activation_regions,
                                "certified", res.decisions, net.depth, net.widths)
    budget = default_memory_budget() if max_memory is None else max_memory
    part = one_partition(net, dom, budget, False, progress, "counting every output",
                          "count one output at a time")
    check_regions(part.activation_regions, max_regions)
    return OutputsCount(dom, tuple(part.pieces(k) for k in range(part.outputs)),
                        part.joint_pieces(), part.activation_regions, "enumerate", None,
                        net.depth, net.widths)
