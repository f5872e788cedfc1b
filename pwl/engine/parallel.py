"""Counting in chunks: bounded memory, local processes, dask clusters.

The domain splits into intervals that are counted independently and joined
at the seams.  Every seam is a cut point of the partition (see
:class:`pwl.engine.propagate.RegionLimit`), so it is an activation-region boundary
of the whole network: activation regions add up exactly.  Pieces add up less
one at each seam where the output's affine form is the same on both sides
(forms share one denominator per network, so that is an integer test).

Chunks are made adaptively.  A pilot counts the whole domain with a cap on
regions; if the cap is hit, the engine hands back exact split points sized
from the growth it has seen, and each part is counted the same way, by a
pool of local processes (default), by a dask.distributed cluster, or in
this process.  Memory per task stays bounded by the cap, whatever the total.

Faults: a local worker counts one chunk at a time, so when it dies (the
out-of-memory killer's SIGKILL) its chunk is known and counted again on a
fresh worker; a chunk lost :data:`MAX_ATTEMPTS` times is a
:class:`~pwl.errors.ResourceLimitError` naming its interval.  Workers
ignore SIGINT, are stopped by the parent on any way out (an error,
Ctrl-C, the command line's SIGTERM), and on Linux exit with a parent that
was killed.  On dask, the scheduler moves a lost worker's chunks; chunks
cancelled because every worker holding the network went away are sent
again with it.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

from ..values.domain import Domain, Interval
from ..errors import MissingExtraError, PWLValueError, RegionLimitError, ResourceLimitError
from ..values.network import Network

__all__ = ["ChunkedCount", "count_chunked", "regions_for_memory", "bytes_per_region",
           "default_memory_budget", "parse_size"]



def parse_size(text: str) -> int:
    """Bytes from ``"512M"``, ``"2G"``, ``"1.5GiB"``, ``"1000000"``.

    >>> parse_size("2G"), parse_size("512M"), parse_size("1024")
    (2147483648, 536870912, 1024)
    """
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1] if t and t[-1] in "KMGT" else ""
    number = t[:-1] if unit else t
    from ..values.numbers import to_fraction

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


#: A task may always hold this many regions, or :data:`MIN_TASK_BYTES` worth
#: if fewer: chunks far smaller cost more in overhead than they save.
MIN_TASK_REGIONS = 1024
MIN_TASK_BYTES = 2**24


def bytes_per_region(net: Network) -> int:
    """Estimated peak bytes one region costs while its chunk is counted.

    Forms that fit int64 (networks whose weights scale to small integers):
    measured about ``100 + 120 n`` bytes for width ``n`` (forms, cut points
    and the temporaries of one layer step).  Forms held as Python integers
    (float weights at their exact binary value, long decimals), about 8
    references per neuron, each to an integer of up to ``b`` bits, ``b``
    bounded by the growth of the forms through the layers (the bits of
    ``max row sum of |A| + max |b|`` per layer, added up); measured 280 KB
    a region at width 512, depth 4 (``benchmarks/bench_scale.py``).
    """
    from .plans import compiled_plan

    width = max((node.size for node in net.nodes), default=1)
    plan = [aff for aff, _ in compiled_plan(net) if aff is not None]
    if all(aff.a.dtype != object for aff in plan):
        return 100 + 120 * width
    bits = sum((aff.a_rowsum + aff.b_max).bit_length() + 1 for aff in plan)
    per_integer = 8 + 28 + 4 * -(-bits // 30)   # a reference, the header, 30-bit digits
    return 100 + 8 * per_integer * width


def regions_for_memory(net: Network, budget: int, workers: int = 1) -> int:
    """Regions one task may hold so that ``workers`` tasks fit in ``budget``
    (:func:`bytes_per_region` each), but never fewer than
    :data:`MIN_TASK_REGIONS`, or than :data:`MIN_TASK_BYTES` worth if those
    cost more, and never fewer than 2.
    """
    per_region = bytes_per_region(net)
    floor = max(2, min(MIN_TASK_REGIONS, MIN_TASK_BYTES // per_region))
    return max(floor, budget // max(1, workers) // per_region)


@dataclass(frozen=True)
class ChunkedCount:
    pieces: int
    activation_regions: int
    chunks: int


def _chunk_task(net_dict: Any, lo: Optional[Fraction],
                hi: Optional[Fraction], max_regions: int, output: int) -> tuple[Any, ...]:
    """Count one interval; runs in a worker (process or dask)."""
    from .propagate import Limit, RegionLimit, _propagate

    # a local worker's inherited network, this process's own, or a dask
    # worker's copy of the native format
    net = (_WORKER_NET if net_dict is None else net_dict if isinstance(net_dict, Network)
           else _network_from(net_dict))
    try:
        part = _propagate(net, (lo, hi), limit=Limit(max_regions, max_regions))
    except RegionLimit as exc:
        return ("split", lo, hi, exc.boundaries)
    first = (int(part.slope_num[0, output]), int(part.icpt_num[0, output]))
    last = (int(part.slope_num[-1, output]), int(part.icpt_num[-1, output]))
    return ("ok", lo, hi, part.pieces(output), part.activation_regions, first, last)


_NET_CACHE: dict[int, tuple[dict[str, Any], Network]] = {}
_WORKER_NET: Any = None   # a local worker's network (inherited from its parent)


def _network_from(net_dict: dict[str, Any]) -> Network:
    key = id(net_dict)
    hit = _NET_CACHE.get(key)
    if hit is not None and hit[0] is net_dict:
        return hit[1]
    net = Network.from_dict(net_dict)
    _NET_CACHE.clear()
    _NET_CACHE[key] = (net_dict, net)
    return net


def _drop_pilot_frames() -> None:
    """Called while a caller handles the :class:`~pwl.engine.propagate.RegionLimit`
    of a pilot count (the usual way to get here), free what that count's
    finished frames still hold (its forms, up to a whole task's worth of
    regions), which the traceback would keep alive, and forked workers
    would copy, for the whole count."""
    import sys
    import traceback

    from .propagate import RegionLimit

    handled = sys.exc_info()[1]
    if isinstance(handled, RegionLimit):
        traceback.clear_frames(handled.__traceback__)


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
    :class:`~pwl.engine.propagate.RegionLimit`).  Counting stops with
    :class:`~pwl.errors.ResourceLimitError` once more than
    ``max_regions_total`` activation regions have been counted.

    >>> from pwl.theory.constructions import telgarsky
    >>> r = count_chunked(telgarsky(12), (Fraction(0), Fraction(1)), max_regions=1024)
    >>> r.pieces, r.activation_regions, r.chunks > 1
    (4096, 4096, True)
    """
    if max_regions < 2:
        raise PWLValueError("max_regions must be at least 2")
    _drop_pilot_frames()
    start: Interval = (None, None) if domain is None else (domain[0], domain[1])
    executor = _Executor(workers, scheduler, net)
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


#: How many times one chunk may be lost (its worker process died, or ran out
#: of memory) before the count gives up on it.
MAX_ATTEMPTS = 3

#: Seconds to wait for a dask scheduler to answer before giving up.
SCHEDULER_TIMEOUT = 10


def _interval_text(lo: Optional[Fraction], hi: Optional[Fraction]) -> str:
    from ..values.numbers import format_exact

    return (f"[{'-inf' if lo is None else format_exact(lo)}, "
            f"{'inf' if hi is None else format_exact(hi)}]")


def _lost_error(task: tuple[Any, ...], attempts: int, reason: str) -> ResourceLimitError:
    return ResourceLimitError(
        f"the chunk {_interval_text(task[0], task[1])} failed {attempts} times ({reason}); "
        "try a smaller --max-memory or fewer --workers")


def _signal_name(exitcode: Optional[int]) -> str:
    import signal

    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"its worker process was killed by {name}, perhaps out of memory"
    return f"its worker process exited with status {exitcode}"


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (so a
    parent killed by SIGKILL leaves no workers behind); elsewhere a no-op."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:   # the parent died before the request took hold
        os._exit(1)


def _worker_main(conn: Any, net: Network, parent: int) -> None:
    """A worker process: count the chunks sent on ``conn`` one at a time,
    until told to stop (``None``) or the parent goes away."""
    import signal

    # the parent decides what Ctrl-C and SIGTERM mean, and stops its workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    global _WORKER_NET
    _WORKER_NET = net
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        reply: tuple[str, Any]
        try:
            reply = ("done", _chunk_task(None, *task))
        except BaseException as exc:  # sent to the parent, which decides
            reply = ("error", exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:   # an exception that does not pickle
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))


def _release_memory() -> None:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``),
    after a collection; elsewhere only the collection."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Worker:
    """One worker process, its end of the pipe, and the chunk it is counting."""

    def __init__(self, ctx: Any, net: Network):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, net, os.getpid()),
                                daemon=True, name="pwl-chunk-worker")
        self.proc.start()
        child.close()
        self.task: Optional[tuple[Any, ...]] = None

    def send(self, task: tuple[Any, ...]) -> None:
        self.task = task
        self.conn.send(task)


class _LocalPool:
    """Local worker processes, one chunk each at a time.  A worker that dies
    (killed by the out-of-memory killer, say) is replaced by a fresh one,
    which counts the lost chunk again; a chunk lost :data:`MAX_ATTEMPTS`
    times stops the count with a :class:`~pwl.errors.ResourceLimitError`."""

    def __init__(self, workers: int, net: Network):
        import multiprocessing as mp

        self.ctx = mp.get_context("fork")
        self.net = net
        self.attempts: dict[tuple[Any, ...], int] = {}
        _release_memory()   # a forked worker starts with a copy of what the parent holds
        self.workers = [_Worker(self.ctx, net) for _ in range(workers)]

    @property
    def in_flight(self) -> int:
        return sum(w.task is not None for w in self.workers)

    @property
    def can_submit(self) -> bool:
        return any(w.task is None for w in self.workers)

    def submit(self, task: tuple[Any, ...]) -> None:
        worker = next(w for w in self.workers if w.task is None)
        if not worker.proc.is_alive():   # it died between two chunks: nothing lost
            self._stop(worker)
            worker = self.workers[self.workers.index(worker)] = _Worker(self.ctx, self.net)
        try:
            worker.send(task)
        except (BrokenPipeError, EOFError, OSError):
            self._lost(worker, _signal_name(worker.proc.exitcode))

    def next_result(self) -> tuple[Any, ...]:
        from multiprocessing.connection import wait

        while True:
            busy = [w for w in self.workers if w.task is not None]
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
            for worker in busy:
                if worker.conn in ready:
                    try:
                        kind, value = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.proc.join(1)
                        self._lost(worker, _signal_name(worker.proc.exitcode))
                        continue
                    task, worker.task = worker.task, None
                    if kind == "done":
                        return value
                    if isinstance(value, MemoryError):
                        worker.task = task
                        self._lost(worker, "its worker process ran out of memory")
                        continue
                    raise value
                if worker.proc.sentinel in ready:
                    worker.proc.join(1)
                    self._lost(worker, _signal_name(worker.proc.exitcode))

    def _lost(self, worker: _Worker, reason: str) -> None:
        """``worker``'s chunk is lost: count it again on a fresh worker."""
        task = worker.task
        assert task is not None
        attempts = self.attempts[task] = self.attempts.get(task, 0) + 1
        self._stop(worker)
        if attempts >= MAX_ATTEMPTS:
            raise _lost_error(task, attempts, reason)
        fresh = _Worker(self.ctx, self.net)
        self.workers[self.workers.index(worker)] = fresh
        fresh.send(task)

    @staticmethod
    def _stop(worker: _Worker) -> None:
        if worker.proc.is_alive():
            worker.proc.terminate()
        worker.conn.close()

    def close(self) -> None:
        for worker in self.workers:
            if worker.task is None and worker.proc.is_alive():
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                self._stop(worker)
        for worker in self.workers:
            worker.proc.join(2)
            if worker.proc.is_alive():
                worker.proc.kill()
                worker.proc.join()
            worker.conn.close()


class _Executor:
    """Runs chunk tasks here, in local worker processes, or on a dask cluster."""

    def __init__(self, workers: int, scheduler: Optional[str], net: Network):
        self.net = net
        self.workers = max(1, workers)
        self.local: deque[tuple[Any, ...]] = deque()
        self.futures: dict[Any, tuple[Any, ...]] = {}
        self.attempts: dict[tuple[Any, ...], int] = {}
        self.pool: Optional[_LocalPool] = None
        self.client: Any = None
        self.completed: Any = None
        if scheduler is not None:
            try:
                from dask.distributed import Client, as_completed
            except ImportError:
                raise MissingExtraError("--scheduler", "dask[distributed]",
                                        "distributed") from None
            try:
                self.client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT}s")  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError, ValueError) as exc:
                raise PWLValueError(f"cannot reach the dask scheduler at {scheduler} within "
                                    f"{SCHEDULER_TIMEOUT} s: {exc}") from None
            self.remote_net = self._scatter()
            # bound to pwl's client's loop, not another client's
            self.completed = as_completed(loop=self.client.loop)  # type: ignore[no-untyped-call]
            self.workers = max(1, 2 * sum(self.client.nthreads().values()))
        elif self.workers > 1:
            self.pool = _LocalPool(self.workers, net)

    @property
    def in_flight(self) -> int:
        if self.pool is not None:
            return self.pool.in_flight
        return len(self.futures) + len(self.local)

    @property
    def busy(self) -> bool:
        return self.in_flight > 0

    @property
    def can_submit(self) -> bool:
        if self.pool is not None:
            return self.pool.can_submit
        if self.client is None:
            return not self.local
        return len(self.futures) < 2 * self.workers

    def submit(self, lo: Any, hi: Any, max_regions: int, output: int) -> None:
        task = (lo, hi, max_regions, output)
        if self.client is not None:
            self._submit_remote(task)
        elif self.pool is not None:
            self.pool.submit(task)
        else:
            self.local.append(_chunk_task(self.net, *task))

    def _scatter(self) -> Any:
        """The network on every dask worker, as one future."""
        return self.client.scatter([self.net.to_dict()], broadcast=True)[0]

    def _submit_remote(self, task: tuple[Any, ...]) -> None:
        fut = self.client.submit(_chunk_task, self.remote_net, *task, pure=False)
        self.futures[fut] = task
        self.completed.add(fut)

    def next_result(self) -> tuple[Any, ...]:
        if self.local:
            return self.local.popleft()
        if self.pool is not None:
            return self.pool.next_result()
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        while True:
            fut = next(self.completed)
            task = self.futures.pop(fut)
            try:
                return fut.result()
            except KilledWorker:
                # dask moved the chunk to other workers until too many had died
                raise _lost_error(task, MAX_ATTEMPTS, "its dask workers died") from None
            except CancelledError:
                # every worker holding the network went away (dask cancels
                # what depends on lost data): send it again, count again
                attempts = self.attempts[task] = self.attempts.get(task, 0) + 1
                if attempts >= MAX_ATTEMPTS:
                    raise _lost_error(task, attempts, "the dask workers holding the network "
                                                      "went away") from None
                if self.remote_net.status != "finished":
                    self.remote_net = self._scatter()
                self._submit_remote(task)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self.client is not None:
            if self.futures:
                self.client.cancel(list(self.futures))
            self.client.close()
