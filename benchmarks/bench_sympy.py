"""Telgarsky's triangle network on [0, 1]: how deep sympy gets within a
time limit, beside pwl's time at the same depths.

For depth 1, 2, ... the network is written as nested sympy ``Piecewise``
expressions (relu(z) = Piecewise((z, z > 0), (0, True))), flattened with
``sympy.piecewise_fold``, and its distinct consecutive pieces on [0, 1] are
counted.  Each depth runs in a child process that is abandoned after
``--timeout`` seconds; the first depth that times out ends the run (deeper
ones only take longer).  pwl's time is the median of ``--repeat`` runs.

    python benchmarks/bench_sympy.py                 # --timeout 60
    python benchmarks/bench_sympy.py --timeout 10 --max-depth 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from networks import triangle  # noqa: E402
from reference import sympy_count, timed  # noqa: E402


def pwl_pieces(net) -> int:
    import pwl  # at the call site: whatever pwl is installed now

    return pwl.propagate(net, (0, 1)).pieces()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds sympy gets per depth (default 60)")
    parser.add_argument("--max-depth", type=int, default=8,
                        help="deepest network tried (default 8)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed pwl runs per depth; the median is shown (default 5)")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.max_depth < 1 or args.repeat < 1:
        parser.error("--timeout, --max-depth and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"triangle network on [0, 1]; sympy gets {args.timeout:g} s per depth "
          "(in a child process, start-up included)")
    print(f"{'depth':>5} {'expected':>8} {'sympy':>6} {'sympy s':>9} {'fold s':>8} "
          f"{'pwl':>6} {'pwl s':>9} {'sympy/pwl':>10}")
    largest = 0
    failures = 0
    for depth in range(1, args.max_depth + 1):
        net = triangle(depth)
        pwl_pieces(net)
        times = []
        pieces = -1
        for _ in range(args.repeat):
            t, pieces = timed(lambda: pwl_pieces(net))
            times.append(t)
        pwl_s = statistics.median(times)
        result = sympy_count(net, timeout=args.timeout)
        if result.timed_out:
            print(f"{depth:>5} {2**depth:>8} {'-':>6} {f'>{args.timeout:g}':>9} {'-':>8} "
                  f"{pieces:>6} {pwl_s:>9.5f} {f'>{args.timeout / pwl_s:,.0f}':>10}")
            break
        largest = depth
        ok = result.pieces == pieces == 2**depth
        failures += not ok
        print(f"{depth:>5} {2**depth:>8} {result.pieces:>6} {result.seconds:>9.2f} "
              f"{result.fold_seconds:>8.2f} {pieces:>6} {pwl_s:>9.5f} "
              f"{result.seconds / pwl_s:>10,.0f}{'' if ok else '  MISMATCH'}", flush=True)
    print()
    print(f"largest depth sympy finished within {args.timeout:g} s: {largest or 'none'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
