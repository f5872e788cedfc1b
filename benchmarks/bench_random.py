"""Random relu networks on the whole real line: pwl's exact count against
the float64 numpy reference, cross-checked with exact Fraction propagation.

Two families, seeded (see networks.py): integer weights in [-3, 3] with
biases in [-5, 5] ("int"), and He-scaled normal weights with normal biases
written as 17-significant-digit decimals ("float").  Every hidden layer of a
network has the same width.

For each network it prints pwl's pieces and activation regions, the median
times of pwl and of the float reference and their ratio, where the float
reference's counts differ from pwl's (it is inexact: that is information,
not a failure), and, on networks with at most ``--fraction-max-neurons``
hidden neurons, whether the Fraction reference agrees with pwl exactly (a
disagreement there is a bug in one of them, and the exit status is 1).

    python benchmarks/bench_random.py
    python benchmarks/bench_random.py --widths 64 128 --depths 8 --seeds 0 --fraction-max-neurons 0
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from networks import float_layers, random_float, random_int  # noqa: E402
from reference import float_count, fraction_count, pwl_kernel_note, timed  # noqa: E402

BUILDERS = {"int": random_int, "float": random_float}
#: The speed goals: at most this many times the float reference's time.
GOALS = {"int": 1.0, "float": 3.0}


def pwl_count(net) -> tuple[int, int]:
    import pwl  # at the call site: whatever pwl is installed now

    # the library's front end, one process: it picks the method (exact
    # enumeration for integer weights, certified floats for long decimals)
    result = pwl.count(net, workers=1)
    return result.pieces, result.activation_regions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", choices=sorted(BUILDERS), default=["int", "float"],
                        help="weight families (default: int float)")
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32],
                        help="hidden widths (default 8 16 32)")
    parser.add_argument("--depths", type=int, nargs="+", default=[4, 6, 8],
                        help="numbers of hidden layers (default 4 6 8)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds, one network per (kind, width, depth, seed) (default 0 1 2)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs of pwl and of the float reference; median shown (default 5)")
    parser.add_argument("--fraction-max-neurons", type=int, default=128,
                        help="run the Fraction check on networks with at most this many "
                             "hidden neurons; 0 skips it (default 128)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if min(args.widths) < 1 or min(args.depths) < 1:
        parser.error("widths and depths must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"random relu networks on the whole line; median of {args.repeat} run(s); "
          f"Fraction check up to {args.fraction_max_neurons} hidden neurons")
    print(pwl_kernel_note())
    print(f"{'kind':>5} {'widths':>7} {'seed':>4} {'pieces':>7} {'regions':>7} "
          f"{'pwl ms':>8} {'float ms':>8} {'pwl/fl':>7} {'float says':>11} "
          f"{'Fraction':>9} {'Frac s':>7}")
    ratios: dict[str, list[float]] = {kind: [] for kind in args.kinds}
    float_diffs: list[str] = []
    bugs: list[str] = []
    errors: list[str] = []
    for kind in args.kinds:
        for width in args.widths:
            for depth in args.depths:
                for seed in args.seeds:
                    widths = [width] * depth
                    net = BUILDERS[kind](widths, seed)
                    label = f"{kind}({widths[0]}x{depth}, seed {seed})"
                    head = f"{kind:>5} {f'{width}x{depth}':>7} {seed:>4}"
                    layers = float_layers(net)
                    try:
                        exact = pwl_count(net)
                    except Exception as exc:  # report and go on: this is a benchmark
                        print(f"{head} pwl raised {type(exc).__name__}: {exc}", flush=True)
                        errors.append(f"{label}: pwl raised {type(exc).__name__}: {exc}")
                        exact = None
                    times_pwl, times_float = [], []
                    approx = float_count(layers)
                    for _ in range(args.repeat):
                        if exact is not None:
                            times_pwl.append(timed(lambda: pwl_count(net))[0])
                        times_float.append(timed(lambda: float_count(layers))[0])
                    float_ms = 1e3 * statistics.median(times_float)
                    frac = None
                    frac_s = math.nan
                    if width * depth <= args.fraction_max_neurons:
                        frac_s, frac = timed(lambda: fraction_count(net))
                    if exact is None:
                        if frac is not None:
                            errors[-1] += (f" (Fraction reference: {frac.pieces} pieces, "
                                           f"{frac.activation_regions} regions)")
                        continue
                    pwl_ms = 1e3 * statistics.median(times_pwl)
                    ratios[kind].append(pwl_ms / float_ms)
                    pieces, regions = exact
                    if (approx.pieces, approx.activation_regions) == exact:
                        says = "same"
                    else:
                        says = f"{approx.pieces}/{approx.activation_regions}"
                        float_diffs.append(
                            f"{label}: exact {pieces} pieces / {regions} regions, float "
                            f"{approx.pieces} / {approx.activation_regions}")
                    if frac is None:
                        check, frac_text = "-", "-"
                    else:
                        frac_text = f"{frac_s:.3f}"
                        if (frac.pieces, frac.activation_regions) == exact:
                            check = "agrees"
                        else:
                            check = "DIFFERS"
                            bugs.append(
                                f"{label}: pwl {pieces} pieces / {regions} regions, Fraction "
                                f"{frac.pieces} / {frac.activation_regions}")
                    print(f"{head} {pieces:>7} {regions:>7} {pwl_ms:>8.2f} {float_ms:>8.2f} "
                          f"{pwl_ms / float_ms:>7.1f} {says:>11} {check:>9} {frac_text:>7}",
                          flush=True)
    print()
    for kind, values in ratios.items():
        if not values:
            continue
        gmean = math.exp(sum(math.log(r) for r in values) / len(values))
        goal = GOALS[kind]
        met = sum(r <= goal for r in values)
        print(f"pwl/float time ratio, {kind}: geometric mean {gmean:.2f}, min {min(values):.2f}, "
              f"max {max(values):.2f} over {len(values)} networks; goal <= {goal:.1f}: met on "
              f"{met} of {len(values)}")
    print(f"float reference differs from the exact count on {len(float_diffs)} network(s)"
          + ("" if not float_diffs else ":"))
    for line in float_diffs:
        print(f"  {line}")
    print(f"pwl disagrees with the Fraction reference on {len(bugs)} network(s)"
          + ("" if not bugs else ":"))
    for line in bugs:
        print(f"  {line}")
    if errors:
        print(f"pwl failed on {len(errors)} network(s):")
        for line in errors:
            print(f"  {line}")
    return 1 if bugs or errors else 0


if __name__ == "__main__":
    sys.exit(main())
