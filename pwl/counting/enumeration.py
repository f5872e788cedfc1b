"""The ``enumerate`` method: exact propagation of the partition
(:mod:`pwl.engine.propagate`); lists every cut, so it also yields breakpoints and
per-layer statistics.  Past the memory budget the domain is split into
chunks at exact cut points, counted by local processes or a dask cluster
(:mod:`pwl.engine.parallel`) and joined exactly at the seams."""

from __future__ import annotations

import os

from ..values.domain import Domain
from ..values.network import Network
from .base import CountResult, Request

NAME = "enumerate"
LISTS = True
REFUSAL = ""

#: Regions the first, single-process attempt may reach before the work is
#: split into chunks for the workers.
PILOT_REGIONS = 2**18


def applies(net: Network, domain: Domain) -> bool:
    return True


def preferred(net: Network, domain: Domain) -> bool:
    return True


def count(req: Request) -> CountResult:
    from ..engine.parallel import count_chunked, default_memory_budget, regions_for_memory
    from ..engine.propagate import Limit, RegionLimit, _propagate
    from . import check_regions, one_partition

    net, dom = req.net, req.domain
    budget = default_memory_budget() if req.max_memory is None else req.max_memory
    n_workers = (os.cpu_count() or 1) if req.workers is None else req.workers
    if req.wants_listing:
        part = one_partition(net, dom, budget, req.per_layer, req.progress, "listing",
                             "count without --breakpoints/--per-layer to stream in chunks")
        f = part.function(req.output) if req.breakpoints else None
        return req.result(pieces=part.pieces(req.output),
                          activation_regions=part.activation_regions, method=NAME,
                          breakpoints=f.breakpoints if f is not None else None,
                          layers=part.layers, function=f)
    cap = regions_for_memory(net, budget, n_workers)
    parallel = n_workers > 1 or req.scheduler is not None
    pilot = Limit(min(cap, PILOT_REGIONS) if parallel else cap, cap,
                  4 * n_workers if parallel else 2)
    try:
        part = _propagate(net, dom, False, req.progress, pilot)
    except RegionLimit as exc:
        if exc.layer < len(net.nodes) - 1:      # a hidden node: regions only grow from here
            check_regions(exc.regions, req.max_regions, exc.layer)
        chunked = count_chunked(net, dom, output=req.output, max_regions=cap, workers=n_workers,
                                scheduler=req.scheduler, progress=req.chunk_progress,
                                splits=exc.boundaries,
                                max_regions_total=req.max_regions)
        return req.result(pieces=chunked.pieces, activation_regions=chunked.activation_regions,
                          method=NAME, chunks=chunked.chunks)
    return req.result(pieces=part.pieces(req.output), activation_regions=part.activation_regions,
                      method=NAME)
