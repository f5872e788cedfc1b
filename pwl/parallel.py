"""Counting in chunks: bounded memory, local processes, dask clusters.

The domain splits into intervals that are counted independently and joined
at the seams.  Every seam is a cut point of the partition (see
:class:`pwl.propagate.RegionLimit`), so it is an activation-region boundary
of the whole network: activation regions add up exactly.  Pieces add up less
one at each seam where the output's affine form is the same on both sides
(forms share one denominator per network, so that is an integer test).

Chunks are made adaptively.  A pilot counts the whole domain with a cap on
regions; if the cap is hit, the engine hands back exact split points sized
from the growth it has seen, and each part is counted the same way, by a
pool of local processes (default), by a dask.distributed cluster, or in
this process.  Memory per task stays bounded by the cap, whatever the total.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

from .domain import Domain
from .errors import PWLValueError, RegionLimitError, ResourceLimitError
from .network import Network

__all__ = ["ChunkedCount", "count_chunked", "regions_for_memory", "default_memory_budget",
           "parse_size"]

Interval = tuple[Optional[Fraction], Optional[Fraction]]


def parse_size(text: str) -> int:
    """Bytes from ``"512M"``, ``"2G"``, ``"1.5GiB"``, ``"1000000"``.

    >>> parse_size("2G"), parse_size("512M"), parse_size("1024")
    (2147483648, 536870912, 1024)
    """
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1] if t and t[-1] in "KMGT" else ""
    number = t[:-1] if unit else t
    from .numbers import to_fraction

    try:
        value = to_fraction(number, "size")
    except PWLValueError:
        raise PWLValueError(f"size {text[:40]!r}: expected a number with an optional unit "
                            "K, M, G or T") from None
    if value > 2**80:
        raise PWLValueError(f"size {text[:40]!r} is beyond any machine's memory")
    size = int(value * units[unit])
    if size < 1:
        raise PWLValueError(f"size {text!r} must be positive (at least one byte)")
    return size


def default_memory_budget() -> int:
    """A quarter of physical memory (1 GiB if it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 2**30


def regions_for_memory(net: Network, budget: int, workers: int = 1) -> int:
    """Regions one task may hold so that ``workers`` tasks fit in ``budget``.

    Measured peak memory per region is about ``100 + 120 n`` bytes for width
    ``n`` (forms, cut points and the temporaries of one layer step).
    """
    width = max((node.size for node in net.nodes), default=1)
    per_region = 100 + 120 * width
    return max(1024, budget // max(1, workers) // per_region)


@dataclass(frozen=True)
class ChunkedCount:
    pieces: int
    activation_regions: int
    chunks: int


def _chunk_task(net_dict: Optional[dict[str, Any]], lo: Optional[Fraction],
                hi: Optional[Fraction], max_regions: int, output: int) -> tuple[Any, ...]:
    """Count one interval; runs in a worker (process or dask)."""
    from .propagate import Limit, RegionLimit, _propagate

    net = _WORKER_NET if net_dict is None else _network_from(net_dict)
    try:
        part = _propagate(net, (lo, hi), limit=Limit(max_regions, max_regions))
    except RegionLimit as exc:
        return ("split", lo, hi, exc.boundaries)
    first = (int(part.slope_num[0, output]), int(part.icpt_num[0, output]))
    last = (int(part.slope_num[-1, output]), int(part.icpt_num[-1, output]))
    return ("ok", lo, hi, part.pieces(output), part.activation_regions, first, last)


_NET_CACHE: dict[int, tuple[dict[str, Any], Network]] = {}
_WORKER_NET: Any = None


def _init_worker(net_dict: dict[str, Any]) -> None:
    """Process-pool initialiser: build the network once per worker."""
    global _WORKER_NET
    _WORKER_NET = Network.from_dict(net_dict)


def _network_from(net_dict: dict[str, Any]) -> Network:
    key = id(net_dict)
    hit = _NET_CACHE.get(key)
    if hit is not None and hit[0] is net_dict:
        return hit[1]
    net = Network.from_dict(net_dict)
    _NET_CACHE.clear()
    _NET_CACHE[key] = (net_dict, net)
    return net


def _key(interval: Interval) -> tuple[int, Fraction]:
    lo = interval[0]
    return (0, Fraction(0)) if lo is None else (1, lo)


def count_chunked(net: Network, domain: Domain, *, output: int = 0, max_regions: int,
                  workers: int = 1, scheduler: Optional[str] = None,
                  progress: Optional[Callable[[int, int, int], None]] = None,
                  splits: Sequence[Fraction] = (),
                  max_regions_total: Optional[int] = None) -> ChunkedCount:
    """Exact pieces and activation regions, counted in chunks of at most
    ``max_regions`` regions each.

    ``workers > 1`` uses a local process pool; ``scheduler`` (an address such
    as ``tcp://host:8786``) a dask.distributed cluster.  ``progress`` is
    called as ``progress(done, pending, pieces_so_far)``.  ``splits`` are
    cut points of the partition to start from (from a
    :class:`~pwl.propagate.RegionLimit`).  Counting stops with
    :class:`~pwl.errors.ResourceLimitError` once more than
    ``max_regions_total`` activation regions have been counted.

    >>> from pwl.constructions import telgarsky
    >>> r = count_chunked(telgarsky(12), (Fraction(0), Fraction(1)), max_regions=1024)
    >>> r.pieces, r.activation_regions, r.chunks > 1
    (4096, 4096, True)
    """
    if max_regions < 2:
        raise PWLValueError("max_regions must be at least 2")
    net_dict = net.to_dict()
    start: Interval = (None, None) if domain is None else (domain[0], domain[1])
    executor = _Executor(workers, scheduler, net_dict)
    done: dict[tuple[int, Fraction], tuple[Any, ...]] = {}
    ends = [start[0], *splits, start[1]]
    pending: deque[Interval] = deque(zip(ends[:-1], ends[1:]))
    pieces_so_far = 0
    regions_so_far = 0
    try:
        while pending or executor.busy:
            while pending and executor.can_submit:
                lo, hi = pending.popleft()
                executor.submit(lo, hi, max_regions, output)
            result = executor.next_result()
            if result[0] == "split":
                _, lo, hi, bounds = result
                ends = [lo] + list(bounds) + [hi]
                pending.extend(zip(ends[:-1], ends[1:]))
            else:
                done[_key((result[1], result[2]))] = result
                pieces_so_far += result[3]
                regions_so_far += result[4]
                if max_regions_total is not None and regions_so_far > max_regions_total:
                    raise RegionLimitError(
                        regions_so_far, max_regions_total, None,
                        f"{len(done)} chunks done, {len(pending) + executor.in_flight} to "
                        "go; raise --max-regions to go on")
            if progress is not None:
                progress(len(done), len(pending) + executor.in_flight, pieces_so_far)
    finally:
        executor.close()
    ordered = [done[k] for k in sorted(done)]
    pieces = sum(r[3] for r in ordered)
    regions = sum(r[4] for r in ordered)
    for left, right in zip(ordered, ordered[1:]):
        if left[2] != right[1]:
            raise ResourceLimitError("internal error: chunks do not tile the domain")
        if left[6] == right[5]:
            pieces -= 1   # the output's form continues across the seam
    return ChunkedCount(pieces, regions, len(ordered))


class _Executor:
    """Runs chunk tasks here, in a process pool, or on a dask cluster."""

    def __init__(self, workers: int, scheduler: Optional[str], net_dict: dict[str, Any]):
        self.net_dict = net_dict
        self.workers = max(1, workers)
        self.local: deque[tuple[Any, ...]] = deque()
        self.futures: dict[Any, None] = {}
        self.pool: Any = None
        self.client: Any = None
        self.completed: Any = None
        if scheduler is not None:
            try:
                from dask.distributed import Client, as_completed
            except ImportError:
                raise PWLValueError("--scheduler needs dask.distributed: "
                                    "pip install 'pwl[distributed]'") from None
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise PWLValueError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
            self.remote_net = self.client.scatter(net_dict, broadcast=True)
            self.completed = as_completed()
            self.workers = max(1, 2 * sum(self.client.nthreads().values()))
        elif self.workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"),
                                            initializer=_init_worker, initargs=(net_dict,))

    @property
    def in_flight(self) -> int:
        return len(self.futures) + len(self.local)

    @property
    def busy(self) -> bool:
        return self.in_flight > 0

    @property
    def can_submit(self) -> bool:
        if self.pool is None and self.client is None:
            return not self.local
        return len(self.futures) < 2 * self.workers

    def submit(self, lo: Any, hi: Any, max_regions: int, output: int) -> None:
        if self.client is not None:
            fut = self.client.submit(_chunk_task, self.remote_net, lo, hi, max_regions, output,
                                     pure=False)
            self.futures[fut] = None
            self.completed.add(fut)
        elif self.pool is not None:
            fut = self.pool.submit(_chunk_task, None, lo, hi, max_regions, output)
            self.futures[fut] = None
        else:
            self.local.append(_chunk_task(self.net_dict, lo, hi, max_regions, output))

    def next_result(self) -> tuple[Any, ...]:
        if self.local:
            return self.local.popleft()
        if self.client is not None:
            fut = next(self.completed)
            del self.futures[fut]
            return fut.result()
        from concurrent.futures import FIRST_COMPLETED, wait

        finished, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
        fut = next(iter(finished))
        del self.futures[fut]
        return fut.result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.client is not None:
            self.client.close()
