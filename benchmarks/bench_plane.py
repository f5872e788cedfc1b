"""The exact planar partition against regioncam, in the same process and run.

Rows (all seeded; ``--seed`` changes every network and point):

* ``he WxD``: 2 inputs, ``D`` hidden relu layers of width ``W`` (16 .. 256,
  depths 2 .. 8), one output; He initialisation (weights ``N(0, 2 / fan_in)``,
  biases ``0.1 N(0, 1)``), rounded to float32 so that both tools analyse the
  same network (every float32 is a float64, taken at its exact value by pwl);
  on the square ``[-s, s]^2`` (``s`` per row, printed).
* ``int WxD``: integer weights and biases uniform in ``[-3, 3]``.
* ``plane 784-...``: a He-initialised MLP with 784 inputs, restricted to the
  plane through three seeded points of ``[0, 1)^784``,
  ``P0 + s (P1 - P0) + t (P2 - P0)`` for ``(s, t)`` in ``[-1, 1]^2``.  pwl
  restricts exactly (in the timed run); regioncam gets the restricted first
  layer ``W1 [P1 - P0, P2 - P0]``, ``W1 P0 + b1`` computed in float64 and
  rounded to float32 (its only precision), before timing.

The counters:

* **pwl**: ``pwl.plane.partition2d`` (certified float64 signs, exact
  rationals for the rest); the ``pwl`` column times the regions, the
  ``+graph`` column adds the vertices, edges, adjacency and pieces.
* **regioncam** (float32, Rust): ``Regioncam(s)``, then ``linear(W.T, b)`` and
  ``relu()`` per hidden layer; ``num_faces`` is its count of regions.

Times are medians over ``--repeat`` runs.  Where the counts differ the
exact side is checked, and the row says which count is right: pwl's
partition must satisfy Euler's relation ``V - E + F = 1``, have one region
per activation pattern, and every region of a seeded sample must have its
pattern confirmed by exact evaluation at its vertex centroid; regioncam's
faces are checked for repeated activation patterns (two faces with one
pattern are one convex region counted twice) and for their areas' sum.

    python benchmarks/bench_plane.py --quick        # about a minute
    python benchmarks/bench_plane.py                # every row: many minutes
    python benchmarks/bench_plane.py --rows he --widths 64 --depths 4 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np


def he_layers(widths: list[int], n0: int, rng: np.random.Generator
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    layers = []
    n = n0
    for w in widths + [1]:
        W = rng.normal(0, np.sqrt(2 / n), (w, n)).astype(np.float32).astype(np.float64)
        b = (0.1 * rng.normal(0, 1, w)).astype(np.float32).astype(np.float64)
        layers.append((W, b))
        n = w
    return layers


def int_layers(widths: list[int], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    layers = []
    n = 2
    for w in widths + [1]:
        layers.append((rng.integers(-3, 4, (w, n)).astype(np.float64),
                       rng.integers(-3, 4, w).astype(np.float64)))
        n = w
    return layers


def network(layers: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    import pwl

    return pwl.Network.from_arrays([w for w, _ in layers], [b for _, b in layers])


def regioncam_count(layers: list[tuple[np.ndarray, np.ndarray]], size: float
                    ) -> Callable[[], Any]:
    import regioncam

    w32 = [(np.ascontiguousarray(W.T, dtype=np.float32), b.astype(np.float32))
           for W, b in layers[:-1]]

    def run() -> Any:
        rc = regioncam.Regioncam(size)
        for W, b in w32:
            rc.linear(W, b)
            rc.relu()
        return rc

    return run


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def check_pwl(p: Any, net: Any, sample: int, rng: np.random.Generator) -> dict[str, Any]:
    """Exact checks of a pwl partition: Euler, one region per pattern, and
    patterns confirmed at exact interior points of a sample of regions."""
    pats = np.asarray(p.patterns)
    unique = len(np.unique(pats, axis=0)) if pats.size else 1
    euler = p.num_vertices - p.num_edges + p.num_regions
    picks = rng.choice(p.num_regions, size=min(sample, p.num_regions), replace=False)
    confirmed = 0
    hidden = sum(layer.n_out for layer in net.layers[:-1])
    for r in picks.tolist():
        reg = p.region(int(r))
        c = reg.centroid
        h = list(c)
        got = []
        for layer in net.layers[:-1]:
            z = [sum((w * v for w, v in zip(row, h)), Fraction(0)) + bb
                 for row, bb in zip(layer.weights, layer.bias)]
            got.extend(layer.activation.piece(v) for v in z)
            h = [layer.activation(v) for v in z]
        confirmed += tuple(got) == reg.pattern[:hidden]
    return {"euler": euler, "unique_patterns": unique == p.num_regions,
            "sample": len(picks), "confirmed": confirmed}


def check_regioncam(rc: Any, size: float) -> dict[str, Any]:
    """regioncam's faces: repeated activation patterns, and the sum of areas."""
    pats = []
    for layer in range(2, rc.num_layers, 2):       # the relu layers
        acts = np.asarray(rc.face_activations(layer))   # faces x 3 x width: the forms
        pats.append(np.any(acts != 0, axis=1))
    pat = np.concatenate(pats, axis=1) if pats else np.zeros((rc.num_faces, 0), dtype=bool)
    distinct = len(np.unique(pat, axis=0))
    area = float(sum(f.area for f in rc.faces))
    return {"faces": rc.num_faces, "distinct_patterns": distinct, "area": area,
            "area_expected": 4 * size * size}


def he_size(width: int, depth: int) -> str:
    # squares holding thousands to a few hundred thousand regions (the count
    # grows with the neurons and with the square's side)
    table = {2: {16: "2", 32: "1", 64: "1", 128: "1/2", 256: "1/4"},
             4: {16: "1", 32: "1", 64: "1/2", 128: "1/4", 256: "1/8"},
             8: {16: "1", 32: "1/2", 64: "1/4", 128: "1/8", 256: "1/16"}}
    return table[min(table, key=lambda d: abs(d - depth))].get(width, "1/16")


def int_size(width: int, depth: int) -> str:
    table = {2: {16: "8", 32: "4", 64: "4", 128: "2", 256: "1"},
             4: {16: "4", 32: "2", 64: "1", 128: "1/2", 256: "1/4"},
             8: {16: "2", 32: "1", 64: "1/2", 128: "1/4", 256: "1/8"}}
    return table[min(table, key=lambda d: abs(d - depth))].get(width, "1/8")


def chord(size: Fraction, rng: np.random.Generator) -> tuple[list[Fraction], list[Fraction]]:
    """The chord of the square ``[-s, s]^2`` on the line through two seeded
    rational points inside it (regioncam slices whole chords)."""
    while True:
        a = [Fraction(int(v), 10**6) * size for v in rng.integers(-10**6, 10**6, 2)]
        b = [Fraction(int(v), 10**6) * size for v in rng.integers(-10**6, 10**6, 2)]
        if a != b:
            break
    d = [q - p for p, q in zip(a, b)]
    ts = []
    for i in range(2):
        if d[i] != 0:
            for end in (-size, size):
                t = (end - a[i]) / d[i]
                q = [p + t * e for p, e in zip(a, d)]
                if all(-size <= v <= size for v in q):
                    ts.append(t)
    t0, t1 = min(ts), max(ts)
    return [p + t0 * e for p, e in zip(a, d)], [p + t1 * e for p, e in zip(a, d)]


def line_checks(p: Any, net: Any, rc: Any, size: Fraction, rng: np.random.Generator,
                lines: int = 3) -> list[tuple[int, int, int]]:
    """On seeded chords of the square: the exact 1-D engine's regions
    (``pwl.count`` on the restricted network), the pwl regions the chord
    crosses (clipped in floats, vectorised), and regioncam's regions on its
    slice along the same chord."""
    import pwl

    b = p._b
    x, y = b.X / b.W, b.Y / b.W
    nxt = p._nxt
    first = b.start[:-1]
    out = []
    for _ in range(lines):
        a, c = chord(size, rng)
        one = pwl.count(pwl.restrict_to_line(net, a, c), (0, 1)).activation_regions
        fa, fc = [float(v) for v in a], [float(v) for v in c]
        ex, ey = x[nxt] - x, y[nxt] - y
        f0 = ex * (fa[1] - y) - ey * (fa[0] - x)
        f1 = ex * (fc[1] - fa[1]) - ey * (fc[0] - fa[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            r = -f0 / f1
        lo = np.where(f1 > 0, r, -np.inf)
        hi = np.where(f1 < 0, r, np.inf)
        hi = np.where((f1 == 0) & (f0 < 0), -np.inf, hi)
        lo = np.maximum(np.maximum.reduceat(lo, first), 0.0)
        hi = np.minimum(np.minimum.reduceat(hi, first), 1.0)
        crossed = int(np.sum(hi - lo > 1e-12))
        sl = rc.slice(np.array([fa, fc], dtype=np.float32))
        out.append((one, crossed, int(sl.num_edges)))
    return out


def run_row(name: str, layers: list[tuple[np.ndarray, np.ndarray]], size: str, repeat: int,
            rng: np.random.Generator, sample: int, plane: Optional[tuple[list[np.ndarray],
                                                                          Any]] = None
            ) -> dict[str, Any]:
    from pwl.plane import partition2d

    s = Fraction(size)
    if plane is None:
        net = network(layers)

        def pwl_run() -> Any:
            net.forget()
            return partition2d(net, box=(-s, s, -s, s))
        rc_layers = layers
        check_net = net
    else:
        points, big = plane
        exact_points = [[Fraction(v) for v in p.tolist()] for p in points]

        def pwl_run() -> Any:
            return partition2d(big, plane=exact_points, box=(-s, s, -s, s))
        W1, b1 = layers[0]
        d1, d2 = points[1] - points[0], points[2] - points[0]
        rc_layers = [(np.stack([W1 @ d1, W1 @ d2], axis=1), W1 @ points[0] + b1)] + layers[1:]
        from pwl.plane import restrict_to_plane

        check_net = restrict_to_plane(big, *exact_points)
    rc_run = regioncam_count(rc_layers, float(s))
    t_pwl, p = median_time(pwl_run, repeat)
    t = time.perf_counter()
    graph = (p.num_vertices, p.num_edges, p.pieces())
    t_graph = time.perf_counter() - t
    t_rc, rc = median_time(rc_run, repeat)
    row: dict[str, Any] = {
        "row": name, "square": f"[-{size}, {size}]^2", "pwl_regions": p.num_regions,
        "pwl_pieces": graph[2], "rc_regions": rc.num_faces, "pwl_s": t_pwl,
        "pwl_graph_s": t_pwl + t_graph, "rc_s": t_rc, "ratio": t_pwl / t_rc,
        "exact_decisions": p.decisions["exact"], "euler": graph[0] - graph[1] + p.num_regions}
    if rc.num_faces != p.num_regions:
        row["check_pwl"] = check_pwl(p, check_net, sample, rng)
        row["check_regioncam"] = check_regioncam(rc, float(s))
        row["lines"] = line_checks(p, check_net, rc, s, rng)
    return row


def verdict(row: dict[str, Any]) -> str:
    if row["rc_regions"] == row["pwl_regions"]:
        return "="
    cp, cr = row["check_pwl"], row["check_regioncam"]
    pwl_ok = cp["euler"] == 1 and cp["unique_patterns"] and cp["confirmed"] == cp["sample"]
    why = []
    if cr["distinct_patterns"] < cr["faces"]:
        why.append(f"{cr['faces'] - cr['distinct_patterns']} repeated patterns")
    if cr["faces"] < row["pwl_regions"]:
        why.append(f"{row['pwl_regions'] - cr['faces']} regions missing")
    delta = row["rc_regions"] - row["pwl_regions"]
    lines = row.get("lines", [])
    agree = sum(one == crossed for one, crossed, _ in lines)
    rc_agree = sum(one == sliced for one, _, sliced in lines)
    if lines:
        why.append(f"chords: 1-D engine = pwl on {agree}/{len(lines)}, "
                   f"= regioncam on {rc_agree}/{len(lines)}")
    return (f"{delta:+d}: pwl {'verified' if pwl_ok else 'CHECK FAILED'}"
            f"{'; regioncam ' + ', '.join(why) if why else ''}")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", nargs="+", default=["he", "int", "plane"],
                    choices=["he", "int", "plane"])
    ap.add_argument("--widths", nargs="+", type=int, default=[16, 64, 128, 256])
    ap.add_argument("--depths", nargs="+", type=int, default=[2, 4, 8])
    ap.add_argument("--planes", nargs="+", default=["784-256-256-10", "784-512-512-512-10"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=100,
                    help="Regions checked exactly where the counts differ.")
    ap.add_argument("--size", type=str, default=None, help="Half side s of every square.")
    ap.add_argument("--quick", action="store_true", help="A few rows, about a minute.")
    ap.add_argument("--json", type=str, default=None, help="Also write the rows to this file.")
    args = ap.parse_args(argv)
    if args.quick:
        args.widths, args.depths, args.planes = [16, 64], [2, 4], ["784-256-256-10"]
    rng = np.random.default_rng(args.seed)
    # imports and first calls outside the timed runs (python-flint, regioncam)
    run_row("warm-up", he_layers([8, 8], 2, np.random.default_rng(1)), "1", 1,
            np.random.default_rng(1), 0)
    rows = []
    header = (f"{'row':<26} {'square':<14} {'pwl':>8} {'regioncam':>9} {'pwl s':>7} "
              f"{'+graph s':>8} {'rc s':>7} {'ratio':>6} {'pieces':>7}  counts")
    print(header)
    print("-" * len(header))

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        print(f"{row['row']:<26} {row['square']:<14} {row['pwl_regions']:>8} "
              f"{row['rc_regions']:>9} {row['pwl_s']:>7.3f} {row['pwl_graph_s']:>8.3f} "
              f"{row['rc_s']:>7.3f} {row['ratio']:>6.2f} {row['pwl_pieces']:>7}  "
              f"{verdict(row)}", flush=True)

    for kind in ("he", "int"):
        if kind not in args.rows:
            continue
        for depth in args.depths:
            for width in args.widths:
                # each row seeded on its own: a subset of rows builds the same networks
                net_rng = np.random.default_rng([args.seed, kind == "int", width, depth])
                layers = he_layers([width] * depth, 2, net_rng) if kind == "he" else \
                    int_layers([width] * depth, net_rng)
                size = args.size or (he_size(width, depth) if kind == "he" else
                                     int_size(width, depth))
                emit(run_row(f"{kind} {width}x{depth}", layers, size, args.repeat, rng,
                             args.sample))
    if "plane" in args.rows:
        import pwl

        for spec in args.planes:
            sizes = [int(v) for v in spec.split("-")]
            net_rng = np.random.default_rng([args.seed, 2, *sizes])
            layers = he_layers(sizes[1:-1], sizes[0], net_rng)
            layers[-1] = (net_rng.normal(0, np.sqrt(2 / sizes[-2]), (sizes[-1], sizes[-2]))
                          .astype(np.float32).astype(np.float64), np.zeros(sizes[-1]))
            big = pwl.Network.from_arrays([w for w, _ in layers], [b for _, b in layers])
            points = [net_rng.random(sizes[0]).astype(np.float32).astype(np.float64)
                      for _ in range(3)]
            # wider planes hold many more regions: a smaller square
            size = args.size or ("1" if max(sizes[1:-1]) <= 256 else "1/4")
            emit(run_row(f"plane {spec}", layers, size, args.repeat, rng,
                         args.sample, plane=(points, big)))
    slow = [r for r in rows if int(r["row"].split()[1].split("x")[0].split("-")[-2]
                                   if r["row"].startswith("plane") else
                                   r["row"].split()[1].split("x")[0]) >= 64 and r["ratio"] > 3]
    print(f"\nrows with width >= 64 slower than 3x regioncam: {len(slow)}"
          + ("" if not slow else " (" + ", ".join(r["row"] for r in slow) + ")"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    bad = [r for r in rows if r["euler"] != 1]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
