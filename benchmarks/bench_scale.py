"""Counting at scale: composition through bottlenecks, bounded memory, workers.

    python benchmarks/bench_scale.py                 # about a minute
    python benchmarks/bench_scale.py --memory-depth 30 --memory-budget 1536M

1. ``compose``: the triangle network at depth ``--compose-depth`` (default
   1000) counted without listing its ``2^D`` pieces, beside enumeration at
   the largest depth enumeration finishes quickly, as the reference.
2. ``memory``: ``pwl count --method enumerate`` on the triangle network at
   ``--memory-depth`` in a child process with ``--max-memory``; the peak
   resident memory of the whole process tree (the parent and its workers,
   summed) is sampled from /proc every 0.2 s.
3. ``workers``: the same enumeration at ``--workers-depth`` with 1 and with
   2 worker processes; the speed-up is their time ratio.

Every count is checked against ``2^D``; the script exits 1 if one is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_count(net_path: str, depth: int, extra: list[str]) -> tuple[float, int, dict]:
    """Run ``pwl count`` in a child; return seconds, peak tree RSS, JSON."""
    cmd = [sys.executable, "-m", "cli.main", "count", net_path, "--domain", "0", "1",
           "--method", "enumerate", "--json", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"pwl count failed: {err.strip()}")
    return seconds, peak, json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compose-depth", type=int, default=1000)
    parser.add_argument("--memory-depth", type=int, default=24)
    parser.add_argument("--memory-budget", default="1536M")
    parser.add_argument("--workers-depth", type=int, default=22)
    args = parser.parse_args()

    import pwl
    from pwl.constructions import telgarsky

    ok = True
    # 1. composition
    net = telgarsky(args.compose_depth)
    start = time.perf_counter()
    result = pwl.count(net, (0, 1))
    t_compose = time.perf_counter() - start
    ok &= result.pieces == 2**args.compose_depth
    ref_depth = 18
    start = time.perf_counter()
    ref = pwl.count(telgarsky(ref_depth), (0, 1), method="enumerate", workers=1)
    t_ref = time.perf_counter() - start
    ok &= ref.pieces == 2**ref_depth
    print(f"compose: depth {args.compose_depth}: 2^{args.compose_depth} pieces "
          f"({'ok' if result.pieces == 2**args.compose_depth else 'WRONG'}) in {t_compose:.3f} s "
          f"[{result.method}]; enumeration of depth {ref_depth} ({2**ref_depth} pieces) "
          f"takes {t_ref:.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        # 2. bounded memory
        path = str(Path(tmp) / "tri.json")
        telgarsky(args.memory_depth).save(path)
        seconds, peak, out = run_count(path, args.memory_depth,
                                       ["--max-memory", args.memory_budget])
        good = out["pieces"] == 2**args.memory_depth == out["activation_regions"]
        ok &= good
        print(f"memory: depth {args.memory_depth}: {out['pieces']} pieces "
              f"({'ok' if good else 'WRONG'}) in {seconds:.1f} s, {out['chunks']} chunks, "
              f"peak RSS of the process tree {peak / 2**20:.0f} MiB "
              f"(budget {args.memory_budget})")
        # 3. workers
        path = str(Path(tmp) / "tri-w.json")
        telgarsky(args.workers_depth).save(path)
        times = {}
        for workers in (1, 2):
            seconds, peak, out = run_count(path, args.workers_depth,
                                           ["--workers", str(workers), "--max-memory", "256M"])
            ok &= out["pieces"] == 2**args.workers_depth
            times[workers] = seconds
            print(f"workers: depth {args.workers_depth}, {workers} worker(s): {seconds:.2f} s, "
                  f"{out['chunks']} chunks, peak {peak / 2**20:.0f} MiB")
        print(f"speed-up with 2 workers: {times[1] / times[2]:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
