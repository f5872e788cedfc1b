"""Telgarsky's triangle network on [0, 1]: pwl's exact count against a
float64 numpy reference (and, once, against exact Fraction propagation).

The triangle network of depth D has exactly 2**D pieces on [0, 1]; both
counts are checked against it.  Times are medians over ``--repeat`` runs,
pwl and the float reference taking turns so that both see the same machine
load.  Memory is the tracemalloc peak of one extra, untimed run of each.

    python benchmarks/bench_triangle.py                     # depths 16 18 20
    python benchmarks/bench_triangle.py --depths 22 24 --repeat 1
    python benchmarks/bench_triangle.py --fraction-depth 0  # skip Fractions
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from networks import float_layers, triangle  # noqa: E402
from reference import (  # noqa: E402
    float_count,
    fraction_count,
    max_rss_mb,
    pwl_kernel_note,
    timed,
    traced_peak_mb,
)


def pwl_pieces(net) -> int:
    import pwl  # at the call site: whatever pwl is installed now

    return pwl.propagate(net, (0, 1)).pieces()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[16, 18, 20],
                        help="triangle depths to run (1..24; default 16 18 20)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per method and depth; the median is shown (default 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed runs of each method before timing (default 1)")
    parser.add_argument("--fraction-depth", type=int, default=14,
                        help="depth at which the Fraction reference runs once against "
                             "pwl; 0 skips it (default 14)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the extra tracemalloc runs")
    args = parser.parse_args(argv)
    for d in args.depths + ([args.fraction_depth] if args.fraction_depth else []):
        if not 1 <= d <= 24:
            parser.error(f"depth {d} is outside 1..24")
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    return args


def run_depth(depth: int, repeat: int, warmup: int, memory: bool) -> dict[str, object]:
    net = triangle(depth)
    layers = float_layers(net)
    expected = 2**depth

    def run_pwl() -> int:
        return pwl_pieces(net)

    def run_float() -> int:
        return float_count(layers, 0.0, 1.0).pieces

    for _ in range(warmup):
        run_pwl()
        run_float()
    pwl_times, float_times = [], []
    pwl_result = float_result = -1
    for _ in range(repeat):
        t, pwl_result = timed(run_pwl)
        pwl_times.append(t)
        t, float_result = timed(run_float)
        float_times.append(t)
    row: dict[str, object] = {
        "depth": depth,
        "pieces": pwl_result,
        "ok": pwl_result == expected and float_result == expected,
        "float_pieces": float_result,
        "pwl_s": statistics.median(pwl_times),
        "float_s": statistics.median(float_times),
    }
    if memory:
        row["pwl_mb"], _ = traced_peak_mb(run_pwl)
        row["float_mb"], _ = traced_peak_mb(run_float)
    return row


def fraction_row(depth: int, repeat: int) -> dict[str, object]:
    net = triangle(depth)
    frac_s, frac = timed(lambda: fraction_count(net, (0, 1)).pieces)
    pwl_pieces(net)
    times = []
    pieces = -1
    for _ in range(repeat):
        t, pieces = timed(lambda: pwl_pieces(net))
        times.append(t)
    pwl_s = statistics.median(times)
    return {"depth": depth, "pieces": pieces, "fraction_pieces": frac,
            "ok": pieces == frac == 2**depth, "fraction_s": frac_s, "pwl_s": pwl_s}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    memory = not args.no_memory
    print(f"triangle network on [0, 1]; median of {args.repeat} run(s) after "
          f"{args.warmup} warm-up run(s)")
    print(pwl_kernel_note())
    header = (f"{'depth':>5} {'pieces':>10} {'check':>5} {'pwl s':>9} {'float s':>9} "
              f"{'pwl/float':>9} {'pwl Mpc/s':>9}")
    if memory:
        header += f" {'pwl MiB':>9} {'float MiB':>9}"
    print(header)
    failures = 0
    for depth in args.depths:
        row = run_depth(depth, args.repeat, args.warmup, memory)
        pwl_s, float_s = float(row["pwl_s"]), float(row["float_s"])
        line = (f"{depth:>5} {row['pieces']:>10} {'ok' if row['ok'] else 'FAIL':>5} "
                f"{pwl_s:>9.4f} {float_s:>9.4f} {pwl_s / float_s:>9.2f} "
                f"{int(row['pieces']) / pwl_s / 1e6:>9.2f}")
        if memory:
            line += f" {row['pwl_mb']:>9.1f} {row['float_mb']:>9.1f}"
        print(line, flush=True)
        if not row["ok"]:
            failures += 1
            print(f"      expected {2**depth}: pwl {row['pieces']}, float {row['float_pieces']}")
    if args.fraction_depth:
        row = fraction_row(args.fraction_depth, args.repeat)
        ratio = float(row["fraction_s"]) / float(row["pwl_s"])
        print()
        print(f"Fraction reference at depth {row['depth']}: {row['fraction_pieces']} pieces "
              f"in {row['fraction_s']:.3f} s "
              f"({int(row['fraction_pieces']) / float(row['fraction_s']):,.0f} pieces/s); "
              f"pwl {row['pieces']} pieces in {row['pwl_s']:.4f} s")
        print(f"Fraction/pwl time ratio: {ratio:.0f}x "
              f"({'meets' if ratio >= 250 else 'BELOW'} the 250x goal)"
              f"{'' if row['ok'] else '  COUNT MISMATCH'}")
        if not row["ok"]:
            failures += 1
        # pwl's default method on this network counts through its rank-1 layers
        import pwl

        net = triangle(args.fraction_depth)
        pwl.count(net, (0, 1))
        auto_s, auto = timed(lambda: pwl.count(net, (0, 1)))
        print(f"pwl count with its default method ({auto.method}): {auto.pieces} pieces in "
              f"{auto_s:.4f} s; Fraction/pwl time ratio {float(row['fraction_s']) / auto_s:.0f}x")
        if auto.pieces != 2**args.fraction_depth:
            failures += 1
    print(f"\nprocess peak RSS {max_rss_mb():.0f} MiB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
