"""Counting pieces and activation regions: one front end, several methods.

``count(net, domain, method=None)`` picks a method:

* ``"enumerate"``: exact propagation of the partition (:mod:`pwl.propagate`);
  lists every cut, so it also yields breakpoints and per-layer statistics.
* ``"compose"``: through rank-1 bottlenecks (:mod:`pwl.compose`); counts
  without listing, so ``2^1000`` pieces take milliseconds.  The default
  whenever it applies and neither breakpoints nor per-layer statistics are
  asked for.
* ``"certified"``: for networks whose exact integer forms outgrow int64
  (float weights at their exact binary value, long decimals, wide or deep
  integer networks), float64 with proven error bounds
  (:mod:`pwl.certified`); the few decisions the bounds cannot prove are
  settled exactly for the regions concerned only.  The default for such
  networks; ``decisions`` says how every decision was settled.

Every method returns the same exact numbers; they differ in what else they
can report and in how they scale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from .domain import Domain, DomainLike, as_domain
from .errors import PWLValueError, ResourceLimitError
from .network import Network
from .partition import LayerStats, Partition

__all__ = ["CountResult", "count", "METHODS"]

METHODS = ("enumerate", "compose", "certified")


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
    #: How the certified route settled its decisions (``float64``, ``exact``,
    #: ``escalated_regions``); None for the exact methods, where every
    #: decision is exact arithmetic.
    decisions: Optional[dict[str, int]] = None


#: Weights with denominators beyond this make exact integer forms outgrow
#: int64 at once; such networks are counted with certified floats.
BIG_DENOMINATOR = 2**20

def _big_numbers(net: Network) -> bool:
    """Do the weights have large denominators (floats with fractional
    parts at their exact binary value, long decimals), so that exact
    integer forms outgrow int64 at once?  Integer networks, however wide or
    deep, enumerate faster exactly (int64, then python-flint integers).
    Only the route depends on this, never the answer."""
    big = net.cache.get("big_numbers")
    if big is None:
        big = False
        if net.is_chain:
            for layer in net.layers:
                if layer.floats is not None:
                    big = _float_denominator(*layer.floats) > BIG_DENOMINATOR
                else:
                    big = any(w.denominator > BIG_DENOMINATOR
                              for row in layer.weights + (layer.bias,) for w in row)
                if big:
                    break
        net.cache["big_numbers"] = big
    return bool(big)


def _float_denominator(w, b) -> float:
    """The least power of two that makes every entry of a float layer an integer."""
    import numpy as np

    values = np.concatenate([w.ravel(), b])
    mant, expo = np.frexp(values)
    ints = (mant * 2.0**53).astype(np.int64)
    nonzero = ints != 0
    if not nonzero.any():
        return 1.0
    low = ints[nonzero] & -ints[nonzero]
    den_exp = -(expo[nonzero] - 53 + np.round(np.log2(np.abs(low).astype(np.float64))))
    return 2.0 ** max(float(den_exp.max()), 0.0)


#: Enumeration stops past this many regions unless told otherwise: about an
#: hour of counting on one core of a small machine.
DEFAULT_MAX_PIECES = 2**33

#: Regions the first, single-process attempt may reach before the work is
#: split into chunks for the workers.
PILOT_REGIONS = 2**18


def count(net: Network, domain: DomainLike = None, *, output: int = 0,
          method: Optional[str] = None, breakpoints: bool = False,
          per_layer: bool = False, max_memory: Optional[int] = None,
          workers: Optional[int] = None, scheduler: Optional[str] = None,
          progress: Optional[Callable[[int, int], None]] = None,
          chunk_progress: Optional[Callable[[int, int, int], None]] = None,
          max_pieces: Optional[int] = DEFAULT_MAX_PIECES) -> CountResult:
    """Count the pieces of output ``output`` and the activation regions.

    Parameters
    ----------
    net, domain, output
        The network, the domain (default: the whole line), which output.
    method : {None, "enumerate", "compose"}
        ``None`` picks ``compose`` when it applies and nothing needs listing.
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
    max_pieces : int, optional
        Enumeration stops with :class:`ResourceLimitError` once it has
        counted more regions than this (only possible when the one-input
        bound ``prod(n_d + 1)`` exceeds it).  ``None`` removes the limit.

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
    if workers is not None and workers < 1:
        raise PWLValueError(f"workers must be at least 1, got {workers}")
    from . import compose

    wants_listing = breakpoints or per_layer
    if method == "compose" and wants_listing:
        raise PWLValueError("the compose method counts without listing: breakpoints and "
                            "per-layer statistics need --method enumerate")
    if method == "compose" and not compose.applies(net):
        raise PWLValueError("the compose method needs a chain of layers with a hidden "
                            "layer after the first whose weight matrix has rank 1"
                            + ("" if net.is_chain else "; this network is a graph"))
    from . import certified

    if method == "certified":
        if wants_listing:
            raise PWLValueError("the certified method counts without listing: breakpoints and "
                                "per-layer statistics need --method enumerate")
        if not certified.applies(net):
            raise PWLValueError("the certified method needs a chain of layers whose "
                                "activations have one kink, at 0 (relu, leaky_relu, abs), "
                                "and an affine output layer")
    common = dict(domain=dom, depth=net.depth, widths=net.widths, output=output)
    if method == "compose" or (method is None and not wants_listing and compose.applies(net)):
        try:
            pieces, regions = compose.compose_count(net, dom, output)
        except ResourceLimitError:
            if method == "compose":
                raise
        else:
            return CountResult(pieces=pieces, activation_regions=regions, method="compose",
                               **common)  # type: ignore[arg-type]
    from .parallel import count_chunked, default_memory_budget, regions_for_memory
    from .propagate import Limit, RegionLimit, _propagate

    if method == "certified" or (method is None and not wants_listing
                                 and certified.applies(net) and _big_numbers(net)):
        try:
            res = certified.certified_counts(net, dom, progress)
        except certified.Undecided:
            if method == "certified":
                raise PWLValueError("the certified method needs numbers within the float "
                                    "range (about 2^-900 to 2^1000); use --method "
                                    "enumerate") from None
            # numbers beyond the float range: count exactly
        else:
            return CountResult(pieces=res.pieces[output],
                               activation_regions=res.activation_regions,
                               method="certified", decisions=res.decisions,
                               **common)  # type: ignore[arg-type]

    budget = default_memory_budget() if max_memory is None else max_memory
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    if wants_listing:
        part = _one_partition(net, dom, budget, per_layer, progress, "listing",
                              "count without --breakpoints/--per-layer to stream in chunks")
        return CountResult(pieces=part.pieces(output),
                           activation_regions=part.activation_regions, method="enumerate",
                           breakpoints=part.breakpoints(output) if breakpoints else None,
                           layers=part.layers, **common)  # type: ignore[arg-type]
    cap = regions_for_memory(net, budget, n_workers)
    parallel = n_workers > 1 or scheduler is not None
    pilot = Limit(min(cap, PILOT_REGIONS) if parallel else cap, cap,
                  4 * n_workers if parallel else 2)
    try:
        part = _propagate(net, dom, False, progress, pilot)
    except RegionLimit as exc:
        chunked = count_chunked(net, dom, output=output, max_regions=cap, workers=n_workers,
                                scheduler=scheduler, progress=chunk_progress,
                                splits=exc.boundaries, max_pieces=max_pieces)
        return CountResult(pieces=chunked.pieces, activation_regions=chunked.activation_regions,
                           method="enumerate", chunks=chunked.chunks,
                           **common)  # type: ignore[arg-type]
    return CountResult(pieces=part.pieces(output), activation_regions=part.activation_regions,
                       method="enumerate", **common)  # type: ignore[arg-type]


def _one_partition(net: Network, dom: Domain, budget: int, per_layer: bool,
                   progress: Optional[Callable[[int, int], None]], what: str,
                   advice: str) -> Partition:
    """The whole domain's partition in one process, within ``budget`` bytes,
    or :class:`ResourceLimitError` saying ``what`` needs more and ``advice``."""
    from .parallel import regions_for_memory
    from .propagate import Limit, RegionLimit, _propagate

    cap = regions_for_memory(net, budget, 1)
    try:
        return _propagate(net, dom, per_layer, progress, Limit(cap, cap))
    except RegionLimit as exc:
        raise ResourceLimitError(
            f"{what} needs more than {cap} regions (layer {exc.layer + 1} makes "
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


def count_outputs(net: Network, domain: DomainLike = None, *,
                  max_memory: Optional[int] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> OutputsCount:
    """Pieces of each output, and joint pieces (the union of all outputs'
    breakpoints), from one pass: certified floats for networks with large
    numbers (:mod:`pwl.certified`), one enumeration otherwise.

    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, 0], [1, -1]], [0, 0], "identity")])
    >>> count_outputs(net).pieces, count_outputs(net).joint_pieces
    ((2, 1), 2)
    """
    from . import certified
    from .parallel import default_memory_budget

    dom = as_domain(domain)
    if certified.applies(net) and _big_numbers(net):
        try:
            res = certified.certified_counts(net, dom, progress)
        except certified.Undecided:
            pass    # numbers beyond the float range: count exactly
        else:
            return OutputsCount(dom, res.pieces, res.joint_pieces, res.activation_regions,
                                "certified", res.decisions)
    budget = default_memory_budget() if max_memory is None else max_memory
    part = _one_partition(net, dom, budget, False, progress, "counting every output",
                          "count one output at a time")
    return OutputsCount(dom, tuple(part.pieces(k) for k in range(part.outputs)),
                        part.joint_pieces(), part.activation_regions)
