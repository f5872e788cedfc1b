"""Counting at scale: composition through bottlenecks, bounded memory, workers.

    python benchmarks/bench_scale.py                 # a few minutes
    python benchmarks/bench_scale.py --memory-only --skip-float
    python benchmarks/bench_scale.py --memory-depth 30 --memory-budget 1536M

1. ``compose``: the triangle network at depth ``--compose-depth`` (default
   1000) counted without listing its ``2^D`` pieces, beside enumeration at
   the largest depth enumeration finishes quickly, as the reference.
2. ``memory``: ``pwl count --method enumerate --max-memory M --workers W``
   in a child process, on the triangle network at ``--memory-depth``
   (default 27, M = 256M) and on a He-initialised float64 network of
   ``--float-width`` x ``--float-depth`` (default 512 x 4 on [-10, 10],
   M = 512M), W = ``--memory-workers`` (default 2).  The resident memory of
   the whole process tree (pwl and its workers, found through
   /proc/<pid>/task/*/children) is sampled from /proc every 0.05 s: RSS
   from /proc/<pid>/status summed (a page a forked worker shares with its
   parent counts in both) and PSS from /proc/<pid>/smaps_rollup summed
   (shared pages split between their sharers).  The fixed overhead is the
   peak RSS of the same network counted on a tiny interval in one process;
   a row is ``within`` when the peak RSS sum is at most
   ``M + (W + 1) x overhead``.  The float network is also counted in one
   chunk without a budget, the reference its chunked count must equal.
3. ``workers``: the same enumeration at ``--workers-depth`` with 1 and with
   2 worker processes; the speed-up is their time ratio.

Every count is checked (``2^D`` on the triangle network, the one-chunk
count on the float network); the script exits 1 if one is wrong or a
memory row is over its bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc/<pid>/task/*/children (Linux)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(p) for p in handle.read().split())
        except OSError:
            pass
    return found


def _kib(path: str, field: str) -> int:
    """``field`` (in kB) of a /proc file such as status or smaps_rollup; 0 if gone."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory(pid: int) -> tuple[int, int, int]:
    """Resident bytes of ``pid`` and all its descendants, summed: RSS (pages
    shared between a parent and its forked workers count once per process,
    so this over-counts), PSS (shared pages split between their sharers:
    the memory the tree really holds), and the number of processes."""
    rss = pss = count = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        rss += _kib(f"/proc/{p}/status", "VmRSS:")
        pss += _kib(f"/proc/{p}/smaps_rollup", "Pss:")
        count += 1
        stack.extend(_children(p))
    return rss * 1024, pss * 1024, count


@dataclass
class Run:
    seconds: float
    peak_rss: int       # summed over the process tree, bytes
    peak_pss: int
    processes: int      # most processes seen at once
    out: dict


def run_count(net_path: str, domain: tuple[str, str], extra: list[str],
              env: Optional[dict[str, str]] = None) -> Run:
    """``pwl count --method enumerate`` in a child; the process tree's memory
    is sampled every 0.05 s."""
    cmd = [sys.executable, "-m", "cli.main", "count", net_path, "--domain", *domain,
           "--method", "enumerate", "--json", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=None if env is None else {**os.environ, **env})
    peak_rss = peak_pss = most = 0
    while proc.poll() is None:
        rss, pss, count = tree_memory(proc.pid)
        peak_rss, peak_pss, most = max(peak_rss, rss), max(peak_pss, pss), max(most, count)
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"pwl count failed: {err.strip()}")
    return Run(seconds, peak_rss, peak_pss, most, json.loads(out))


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f}"


def memory_row(label: str, path: str, domain: tuple[str, str], budget: str,
               workers: int, expected: Optional[int]) -> bool:
    """One bounded-memory count beside its fixed overhead: the same network
    counted on a tiny interval in one process, with the compiled kernel
    loaded (the interpreter, numpy, numba, the network and its exact
    tables; a forked worker starts as a copy of it).  The bound is
    ``budget + (workers + 1) * overhead`` on the RSS summed over the tree."""
    from pwl.engine.parallel import parse_size

    tiny = (domain[0], str(Fraction(domain[0]) + Fraction(1, 2**60)))
    base = run_count(path, tiny, ["--workers", "1"], env={"PWL_JIT": "on"})
    run = run_count(path, domain, ["--max-memory", budget, "--workers", str(workers)])
    good = expected is None or run.out["pieces"] == expected
    bound = parse_size(budget) + (workers + 1) * base.peak_rss
    within = run.peak_rss <= bound
    print(f"{label:<24} {budget:>6} {workers:>2} {run.out['chunks']:>6} {run.seconds:>7.1f} "
          f"{_mib(run.peak_rss):>8} {_mib(run.peak_pss):>8} {run.processes:>5} "
          f"{_mib(base.peak_rss):>8} {_mib(bound):>8}  {'within' if within else 'OVER'}"
          f"{'' if good else '  WRONG COUNT'}")
    return good and within


def float_network(path: str, width: int, depth: int, seed: int) -> None:
    """He-initialised float64 weights (N(0, 2 / fan_in)) and biases
    0.1 N(0, 1), one input and one output, as an .npz archive of float64
    arrays, which pwl reads at their exact binary values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = [1] + [width] * depth + [1]
    arrays: dict[str, Any] = {}
    for k in range(1, len(sizes)):
        arrays[f"W{k - 1}"] = rng.normal(0.0, (2.0 / sizes[k - 1]) ** 0.5,
                                         size=(sizes[k], sizes[k - 1]))
        arrays[f"b{k - 1}"] = 0.1 * rng.normal(0.0, 1.0, size=sizes[k])
    arrays["activations"] = np.array(["relu"] * depth + ["identity"])
    np.savez(path, **arrays)


def composition(depth: int) -> bool:
    """The triangle network at ``depth`` by composition, beside enumeration."""
    import pwl
    from pwl.theory.constructions import telgarsky

    start = time.perf_counter()
    result = pwl.count(telgarsky(depth), (0, 1))
    t_compose = time.perf_counter() - start
    ref_depth = 18
    start = time.perf_counter()
    ref = pwl.count(telgarsky(ref_depth), (0, 1), method="enumerate", workers=1)
    t_ref = time.perf_counter() - start
    good = result.pieces == 2**depth
    print(f"compose: depth {depth}: 2^{depth} pieces ({'ok' if good else 'WRONG'}) in "
          f"{t_compose:.3f} s [{result.method}]; enumeration of depth {ref_depth} "
          f"({2**ref_depth} pieces) takes {t_ref:.3f} s")
    return good and ref.pieces == 2**ref_depth


def memory(args: argparse.Namespace, tmp: str) -> bool:
    """Bounded memory on the triangle network and on a wide float network."""
    from pwl.theory.constructions import telgarsky

    print("memory: peak resident memory of the whole process tree (MiB), sampled from /proc; "
          "bound = budget + (workers + 1) x overhead, overhead = the same network counted on "
          "a tiny interval in one process")
    print(f"{'network':<24} {'budget':>6} {'w':>2} {'chunks':>6} {'seconds':>7} "
          f"{'RSS sum':>8} {'PSS sum':>8} {'procs':>5} {'overhead':>8} {'bound':>8}")
    path = str(Path(tmp) / "tri.json")
    telgarsky(args.memory_depth).save(path)
    ok = memory_row(f"triangle {args.memory_depth}", path, ("0", "1"), args.memory_budget,
                    args.memory_workers, 2**args.memory_depth)
    if args.skip_float:
        return ok
    path = str(Path(tmp) / "float.npz")
    float_network(path, args.float_width, args.float_depth, seed=0)
    domain = (args.float_domain[0], args.float_domain[1])
    whole = run_count(path, domain, ["--max-memory", "64G", "--workers", "1"])
    print(f"{'  (one chunk, no budget)':<24} {'-':>6} {1:>2} {whole.out['chunks']:>6} "
          f"{whole.seconds:>7.1f} {_mib(whole.peak_rss):>8} {_mib(whole.peak_pss):>8} "
          f"{whole.processes:>5}")
    return ok & memory_row(f"float {args.float_width}x{args.float_depth} [{domain[0]},{domain[1]}]",
                           path, domain, args.float_budget, args.memory_workers,
                           whole.out["pieces"])


def workers(depth: int, tmp: str) -> bool:
    """The triangle network at ``depth`` with 1 and with 2 worker processes."""
    from pwl.theory.constructions import telgarsky

    path = str(Path(tmp) / "tri-w.json")
    telgarsky(depth).save(path)
    ok = True
    times = {}
    for n in (1, 2):
        run = run_count(path, ("0", "1"), ["--workers", str(n), "--max-memory", "256M"])
        ok &= run.out["pieces"] == 2**depth
        times[n] = run.seconds
        print(f"workers: depth {depth}, {n} worker(s): {run.seconds:.2f} s, "
              f"{run.out['chunks']} chunks, peak {_mib(run.peak_rss)} MiB")
    print(f"speed-up with 2 workers: {times[1] / times[2]:.2f}x")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compose-depth", type=int, default=1000)
    parser.add_argument("--memory-depth", type=int, default=27)
    parser.add_argument("--memory-budget", default="256M")
    parser.add_argument("--memory-workers", type=int, default=2)
    parser.add_argument("--float-width", type=int, default=512)
    parser.add_argument("--float-depth", type=int, default=4)
    parser.add_argument("--float-budget", default="512M")
    parser.add_argument("--float-domain", nargs=2, default=["-10", "10"])
    parser.add_argument("--skip-float", action="store_true")
    parser.add_argument("--workers-depth", type=int, default=22)
    parser.add_argument("--memory-only", action="store_true", help="only the memory rows")
    args = parser.parse_args()

    ok = True
    if not args.memory_only:
        ok &= composition(args.compose_depth)
    with tempfile.TemporaryDirectory() as tmp:
        ok &= memory(args, tmp)
        if not args.memory_only:
            ok &= workers(args.workers_depth, tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
