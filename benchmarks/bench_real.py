"""Networks as people train them: pwl's exact count against a float64 numpy
reference and regioncam, in the same process and the same run.

The rows (all seeded; ``--seed`` changes every network and point):

* ``he WxD``: one input, one output, ``D`` hidden relu layers of width
  ``W`` (64, 256, 512, 1024 x 4, 8, 16), He-initialised float64: weights
  ``N(0, 2 / fan_in)``, biases ``0.1 * N(0, 1)``; counted on ``[-10, 10]``
  and on the whole line.
* ``int 512x8``: integer weights and biases uniform in ``[-5, 5]`` (held as
  float64 arrays of integer values), on the whole line.
* ``line 784-256-256-10``, ``line 784-512x6-10``, ``line 3072-1024x4-10``:
  He-initialised MLPs restricted to the segment between two seeded points of
  ``[0, 1)^n0``, ``t`` in ``[0, 1]``; once for output 0 and once for every
  output and jointly (``joint``: the pieces of the whole output vector).
* ``again 784-256-256-10``, ...: the next line through the same MLP (two
  more seeded points), output 0, counted the way a user counts many lines
  through one model: the model is not forgotten between runs, so its hidden
  layers' floats, norms and spectral bounds, kept with the layers, are
  reused; the line's own first layer is made anew in every run.  These rows
  are reported beside the targets, not in them.

The counters:

* **pwl** (exact): ``pwl.Network.from_arrays`` (every float at its exact
  binary value), then ``pwl.count(net, domain, workers=1)`` for output 0 or
  ``pwl.counting.count_outputs`` for the joint rows.  ``net.forget()`` runs
  before every run (but on the ``again`` rows), so each time includes pwl's
  per-network precomputation, the bounds kept with the layers included;
  line rows time ``pwl.restrict_to_line`` (given the two points as float64
  arrays, at their exact binary value) and the count together, building
  the line network anew in every run.
* **float** (float64, inexact; the speed reference):
  :func:`reference.float_count` on the same arrays.  Line rows restrict the
  first layer in float64 (``W1 @ (b - a)``, ``W1 @ a + c1``) inside the
  timed run.  Joint rows use :func:`float_count_outputs` below: the same
  propagation, counting changes of each output column and of any output, in
  one pass.
* **regioncam** (float32, inexact; only for this benchmark, imported when
  used, ``n/a`` if it is not installed): ``Regioncam1D((lo, hi))`` and one
  ``linear`` (plus ``relu`` on hidden layers) per layer; its ``num_edges``
  is its count of activation regions.  It needs finite ends: ``n/a`` on the
  whole line.  Its float32 weights are converted before timing.

Region counts of both references are compared with pwl's activation
regions (``=`` or the reference's count minus pwl's); pwl's count is exact,
so where they differ the exact count decides.  Times are medians over
``--repeat`` runs, the three counters taking turns; each counter first runs
once untimed (pwl's untimed run is traced by tracemalloc for its peak
memory).  The ``>f64`` column is the share of pwl's sign decisions that
float64 could not prove (``(ball + exact) / (float64 + ball + exact)`` of
``CountResult.decisions``; ``-`` when pwl did not use floats).

The exit status is 1 only if pwl raises, or if pwl disagrees with itself:
a repeated run giving another count, or ``count_outputs`` and ``count``
differing on the same network (an untimed ``count_outputs`` run on the
one-output rows, ``--no-cross-check`` skips it; the output-0 and joint rows
of each line).  Missed speed targets are reported, not errors.

    python benchmarks/bench_real.py                  # every row: hours (the 16-layer rows)
    python benchmarks/bench_real.py --quick          # about 10 s
    python benchmarks/bench_real.py --rows he --widths 256 --depths 8 --repeat 5
    python benchmarks/bench_real.py --rows line --lines 784-512x6-10 --json rows.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference import (  # noqa: E402
    _product,
    _relu_step,
    float_count,
    max_rss_mb,
    pwl_kernel_note,
    timed,
    traced_peak_mb,
)

#: One layer for the references: weights (n_out, n_in), bias, activation.
FloatLayer = tuple[np.ndarray, np.ndarray, str]
#: One layer for regioncam: float32 weights transposed (n_in, n_out), bias.
Float32Layer = tuple[np.ndarray, np.ndarray, str]

HE_WIDTHS = [64, 256, 512, 1024]
HE_DEPTHS = [4, 8, 16]
#: The MLPs whose lines are counted: name -> layer sizes, input first.
MLPS: dict[str, list[int]] = {
    "784-256-256-10": [784, 256, 256, 10],
    "784-512x6-10": [784] + [512] * 6 + [10],
    "3072-1024x4-10": [3072] + [1024] * 4 + [10],
}
#: What --quick keeps (and it drops the int row).
QUICK_WIDTHS = [64, 256]
QUICK_DEPTHS = [4, 8]
QUICK_LINES = ["784-256-256-10"]
BOX = (-10.0, 10.0)

#: The targets printed beside the summary.
TARGET_GMEAN = 1.0         # pwl/float, geometric mean over all rows
TARGET_MAX = 1.5           # pwl/float, every row
TARGET_RC = 3.0            # pwl/regioncam, every row of width >= TARGET_RC_WIDTH
TARGET_RC_WIDTH = 256
TARGET_BEYOND = 1.0        # per cent of decisions beyond float64, He rows


# ---------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------

def he_arrays(sizes: Sequence[int], rng: np.random.Generator
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """He-initialised float64 layers: ``N(0, 2 / fan_in)`` weights,
    ``0.1 * N(0, 1)`` biases, for layer sizes ``sizes`` (input first)."""
    weights, biases = [], []
    for n_in, n_out in zip(sizes, sizes[1:]):
        weights.append(rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_out, n_in)))
        biases.append(0.1 * rng.normal(0.0, 1.0, size=n_out))
    return weights, biases


def int_arrays(sizes: Sequence[int], rng: np.random.Generator, limit: int = 5
               ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Integer weights and biases uniform in ``[-limit, limit]``, as float64."""
    weights, biases = [], []
    for n_in, n_out in zip(sizes, sizes[1:]):
        weights.append(rng.integers(-limit, limit, size=(n_out, n_in), endpoint=True)
                       .astype(np.float64))
        biases.append(rng.integers(-limit, limit, size=n_out, endpoint=True)
                      .astype(np.float64))
    return weights, biases


@dataclass
class Subject:
    """One network, its domain, and how each counter reads them."""

    kind: str                       # "he", "int", "line" or "again"
    name: str                       # "he 256x8", "line 784-256-256-10"
    width: int                      # narrowest hidden layer
    domain: Optional[tuple[float, float]]   # None: the whole line
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    points: Optional[tuple[np.ndarray, np.ndarray]] = None   # a, b of a line
    net: Any = None                 # the pwl.Network, built once
    layers: list[FloatLayer] = field(default_factory=list)
    layers32: list[Float32Layer] = field(default_factory=list)

    def __post_init__(self) -> None:
        import pwl  # at the call site: whatever pwl is installed now

        self.net = pwl.Network.from_arrays(self.weights, self.biases)
        last = len(self.weights) - 1
        acts = ["relu" if k < last else "identity" for k in range(last + 1)]
        self.layers = list(zip(self.weights, self.biases, acts))
        self.layers32 = [(np.ascontiguousarray(w.T, dtype=np.float32), b.astype(np.float32), act)
                         for w, b, act in self.layers]

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    @property
    def domain_label(self) -> str:
        if self.points is not None:
            return "t:[0,1]"
        if self.domain is None:
            return "R"
        return f"[{self.domain[0]:g},{self.domain[1]:g}]"

    @property
    def float_domain(self) -> tuple[float, float]:
        return (-math.inf, math.inf) if self.domain is None else self.domain

    @property
    def pwl_domain(self) -> Optional[tuple[Fraction, Fraction]]:
        if self.domain is None:
            return None
        return Fraction(self.domain[0]), Fraction(self.domain[1])


def he_subject(width: int, depth: int, domain: Optional[tuple[float, float]],
               seed: int) -> Subject:
    weights, biases = he_arrays([1] + [width] * depth + [1], np.random.default_rng(seed))
    return Subject("he", f"he {width}x{depth}", width, domain, weights, biases)


def int_subject(width: int, depth: int, seed: int) -> Subject:
    weights, biases = int_arrays([1] + [width] * depth + [1], np.random.default_rng(seed))
    return Subject("int", f"int {width}x{depth}", width, None, weights, biases)


def line_subject(name: str, seed: int, again: bool = False) -> Subject:
    """The line row of an MLP; ``again``: the next line through the same
    model (two more seeded points), counted with the model's layer bounds
    kept from earlier counts."""
    sizes = MLPS[name]
    rng = np.random.default_rng(seed)
    weights, biases = he_arrays(sizes, rng)
    a = rng.random(sizes[0])
    b = rng.random(sizes[0])
    if again:
        a, b = rng.random(sizes[0]), rng.random(sizes[0])
        return Subject("again", f"again {name}", min(sizes[1:-1]), (0.0, 1.0), weights, biases,
                       points=(a, b))
    return Subject("line", f"line {name}", min(sizes[1:-1]), (0.0, 1.0), weights, biases,
                   points=(a, b))


# ---------------------------------------------------------------------------
# the counters
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PwlOutcome:
    pieces: int                     # output 0's pieces, or the joint pieces
    per_output: tuple[int, ...]
    activation_regions: int
    method: str
    decisions: Optional[dict[str, int]]

    @property
    def key(self) -> tuple[int, tuple[int, ...], int]:
        return self.pieces, self.per_output, self.activation_regions


def float_count_outputs(layers: Sequence[FloatLayer], lo: float = -math.inf,
                        hi: float = math.inf) -> tuple[tuple[int, ...], int, int]:
    """``(pieces per output, joint pieces, activation regions)`` by the
    propagation of :func:`reference.float_count`, in one pass: a piece of an
    output ends where its column's slope or intercept changes, a joint
    piece where any column's does."""
    cuts = np.empty(0, dtype=np.float64)
    a = np.ones((1, 1), dtype=np.float64)
    c = np.zeros((1, 1), dtype=np.float64)
    activation_regions = 1
    last = len(layers) - 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k, (w, b, act) in enumerate(layers):
            wt = np.ascontiguousarray(w.T)
            za = _product(a, wt)
            zc = _product(c, wt)
            zc += b
            if act == "relu":
                cuts, a, c = _relu_step(cuts, za, zc, float(lo), float(hi))
            else:
                a, c = za, zc
            if k < last:
                activation_regions = a.shape[0]
    change = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
    pieces = tuple(1 + int(n) for n in np.count_nonzero(change, axis=0))
    return pieces, 1 + int(np.count_nonzero(change.any(axis=1))), activation_regions


def restrict_float(layers: Sequence[FloatLayer], a: np.ndarray, b: np.ndarray
                   ) -> list[FloatLayer]:
    """The layers of ``t -> net(a + t (b - a))`` in float64."""
    w1, c1, act = layers[0]
    return [((w1 @ (b - a))[:, None], w1 @ a + c1, act), *layers[1:]]


def pwl_runner(s: Subject, joint: bool) -> Callable[[], PwlOutcome]:
    import pwl
    from pwl.counting import count_outputs

    def network() -> Any:
        if s.kind != "again":       # an "again" row keeps the model's layer bounds
            s.net.forget()
        if s.points is None:
            return s.net
        return pwl.restrict_to_line(s.net, *s.points)   # float64 arrays, as users hold them

    def run() -> PwlOutcome:
        net = network()
        if joint:
            r = count_outputs(net, s.pwl_domain)
            return PwlOutcome(r.joint_pieces, tuple(r.pieces), r.activation_regions,
                              r.method, r.decisions)
        c = pwl.count(net, s.pwl_domain, workers=1)
        return PwlOutcome(c.pieces, (c.pieces,), c.activation_regions, c.method, c.decisions)

    return run


def float_runner(s: Subject, joint: bool) -> Callable[[], tuple[int, int]]:
    """``(pieces, activation regions)`` of the float reference."""
    lo, hi = s.float_domain

    def layers() -> list[FloatLayer]:
        return s.layers if s.points is None else restrict_float(s.layers, *s.points)

    def run() -> tuple[int, int]:
        if joint:
            _, pieces, regions = float_count_outputs(layers(), lo, hi)
            return pieces, regions
        r = float_count(layers(), lo, hi)
        return r.pieces, r.activation_regions

    return run


def regioncam_available() -> bool:
    return importlib.util.find_spec("regioncam") is not None


def regioncam_runner(s: Subject) -> Optional[Callable[[], int]]:
    """Activation regions by regioncam, or None where it cannot count."""
    if s.domain is None:
        return None

    def layers32() -> list[Float32Layer]:
        if s.points is None:
            return s.layers32
        a, b = s.points
        w1, c1, _ = s.layers[0]
        first = (np.ascontiguousarray((w1 @ (b - a))[None, :], dtype=np.float32),
                 (w1 @ a + c1).astype(np.float32), s.layers32[0][2])
        return [first, *s.layers32[1:]]

    def run() -> int:
        import regioncam

        rc = regioncam.Regioncam1D(s.domain)
        for wt, b, act in layers32():
            rc.linear(wt, b)
            if act == "relu":
                rc.relu()
        return int(rc.num_edges)

    return run


# ---------------------------------------------------------------------------
# one row
# ---------------------------------------------------------------------------

@dataclass
class Row:
    network: str
    kind: str
    width: int
    depth: int
    domain: str
    output: str                     # "0" or "joint"
    pieces: Optional[int] = None
    pieces_per_output: Optional[list[int]] = None
    activation_regions: Optional[int] = None
    method: Optional[str] = None
    decisions: Optional[dict[str, int]] = None
    beyond_float64_pct: Optional[float] = None
    pwl_s: Optional[float] = None
    pwl_peak_mib: Optional[float] = None
    float_s: Optional[float] = None
    float_pieces: Optional[int] = None
    float_regions: Optional[int] = None
    regioncam_s: Optional[float] = None
    regioncam_regions: Optional[int] = None
    error: Optional[str] = None
    inconsistent: list[str] = field(default_factory=list)

    def ratio(self, other: Optional[float]) -> Optional[float]:
        if self.pwl_s is None or other is None or other <= 0:
            return None
        return self.pwl_s / other


def beyond_float64(decisions: Optional[dict[str, int]]) -> Optional[float]:
    if not decisions:
        return None
    beyond = decisions.get("ball", 0) + decisions.get("exact", 0)
    total = decisions.get("float64", 0) + beyond
    return 100.0 * beyond / total if total else 0.0


def measure(s: Subject, joint: bool, repeat: int, memory: bool, use_regioncam: bool,
            cross_check: bool) -> Row:
    row = Row(s.name, s.kind, s.width, s.depth, s.domain_label, "joint" if joint else "0")
    run_pwl = pwl_runner(s, joint)
    run_float = float_runner(s, joint)
    run_rc = regioncam_runner(s) if use_regioncam else None
    try:
        if memory:
            row.pwl_peak_mib, first = traced_peak_mb(run_pwl)
        else:
            first = run_pwl()
    except Exception as exc:  # report and go on: this is a benchmark
        row.error = f"{type(exc).__name__}: {exc}"
        return row
    row.pieces, row.activation_regions = first.pieces, first.activation_regions
    row.pieces_per_output = list(first.per_output)
    row.method, row.decisions = first.method, first.decisions
    row.beyond_float64_pct = beyond_float64(first.decisions)
    row.float_pieces, row.float_regions = run_float()
    if run_rc is not None:
        row.regioncam_regions = run_rc()
    times: dict[str, list[float]] = {"pwl": [], "float": [], "rc": []}
    for _ in range(repeat):
        try:
            t, again = timed(run_pwl)
        except Exception as exc:
            row.error = f"{type(exc).__name__}: {exc}"
            return row
        times["pwl"].append(t)
        if again.key != first.key:
            row.inconsistent.append(f"a repeated run counted {again.key}, the first {first.key}")
        times["float"].append(timed(run_float)[0])
        if run_rc is not None:
            times["rc"].append(timed(run_rc)[0])
    row.pwl_s = statistics.median(times["pwl"])
    row.float_s = statistics.median(times["float"])
    if times["rc"]:
        row.regioncam_s = statistics.median(times["rc"])
    if cross_check and s.points is None and not joint:
        from pwl.counting import count_outputs

        s.net.forget()
        try:
            other = count_outputs(s.net, s.pwl_domain)
        except Exception as exc:
            row.error = f"count_outputs raised {type(exc).__name__}: {exc}"
            return row
        if (other.pieces[0], other.activation_regions) != (row.pieces, row.activation_regions):
            row.inconsistent.append(
                f"count_outputs: {other.pieces[0]} pieces / {other.activation_regions} regions, "
                f"count: {row.pieces} / {row.activation_regions}")
    return row


def check_line(zero: Row, joint: Row) -> None:
    """The output-0 and joint rows of one line count the same network."""
    if zero.error or joint.error or joint.pieces_per_output is None:
        return
    if (joint.pieces_per_output[0], joint.activation_regions) != \
            (zero.pieces, zero.activation_regions):
        joint.inconsistent.append(
            f"count_outputs: output 0 {joint.pieces_per_output[0]} pieces / "
            f"{joint.activation_regions} regions, count: {zero.pieces} / "
            f"{zero.activation_regions}")


# ---------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------

COLUMNS = (f"{'network':<24} {'out':>5} {'domain':>9} {'pieces':>8} {'regions':>8} "
           f"{'method':>9} {'>f64':>7} {'pwl s':>8} {'float s':>8} {'pwl/fl':>6} "
           f"{'rc s':>8} {'pwl/rc':>6} {'fl rg':>6} {'rc rg':>6} {'pwl MiB':>8}")


def _num(v: Optional[float], spec: str, width: int) -> str:
    return f"{'n/a' if v is None else format(v, spec):>{width}}"


def _diff(ref: Optional[int], exact: Optional[int]) -> str:
    if ref is None or exact is None:
        return "n/a"
    return "=" if ref == exact else f"{ref - exact:+d}"


def format_row(row: Row) -> str:
    head = f"{row.network:<24} {row.output:>5} {row.domain:>9}"
    if row.error is not None:
        return f"{head} pwl raised {row.error}"
    pct = "-" if row.beyond_float64_pct is None else f"{row.beyond_float64_pct:.2f}%"
    return (f"{head} {row.pieces:>8} {row.activation_regions:>8} {row.method:>9} {pct:>7} "
            f"{_num(row.pwl_s, '.4f', 8)} {_num(row.float_s, '.4f', 8)} "
            f"{_num(row.ratio(row.float_s), '.2f', 6)} {_num(row.regioncam_s, '.4f', 8)} "
            f"{_num(row.ratio(row.regioncam_s), '.2f', 6)} "
            f"{_diff(row.float_regions, row.activation_regions):>6} "
            f"{_diff(row.regioncam_regions, row.activation_regions):>6} "
            f"{_num(row.pwl_peak_mib, '.1f', 8)}")


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _where(row: Row) -> str:
    return f"{row.network} {row.output} on {row.domain}"


def summary(rows: list[Row]) -> list[str]:
    counted = [r for r in rows if r.error is None and r.pwl_s is not None]
    # the targets are on cold counts; the "again" rows are reported apart
    done = [r for r in counted if r.kind != "again"]
    lines: list[str] = []
    again = [r for r in counted if r.kind == "again"]
    if again:
        lines.append("again rows (a second line through a model already counted, not in the "
                     "targets): " + ", ".join(
                         f"{r.network} pwl/float {_num(r.ratio(r.float_s), '.2f', 0)} "
                         f"pwl/regioncam {_num(r.ratio(r.regioncam_s), '.2f', 0)}"
                         for r in again))
    fl = [(r.ratio(r.float_s), r) for r in done if r.ratio(r.float_s) is not None]
    if fl:
        gmean = math.exp(sum(math.log(v) for v, _ in fl) / len(fl))
        worst, at = max(fl, key=lambda p: p[0])
        lines.append(f"pwl/float geometric mean {gmean:.2f} over {len(fl)} rows "
                     f"(target <= {TARGET_GMEAN}): {_met(gmean <= TARGET_GMEAN)}")
        lines.append(f"pwl/float max {worst:.2f} ({_where(at)}) "
                     f"(target <= {TARGET_MAX} on every row): {_met(worst <= TARGET_MAX)}")
    rc = [(r.ratio(r.regioncam_s), r) for r in done
          if r.width >= TARGET_RC_WIDTH and r.ratio(r.regioncam_s) is not None]
    if rc:
        worst, at = max(rc, key=lambda p: p[0])
        lines.append(f"pwl/regioncam max {worst:.2f} ({_where(at)}) over {len(rc)} rows of "
                     f"width >= {TARGET_RC_WIDTH} (target <= {TARGET_RC} on every row): "
                     f"{_met(worst <= TARGET_RC)}")
    else:
        lines.append(f"pwl/regioncam: no row of width >= {TARGET_RC_WIDTH} with a regioncam time")
    beyond = [(r.beyond_float64_pct, r) for r in done
              if r.kind == "he" and r.beyond_float64_pct is not None]
    if beyond:
        worst_pct, at = max(beyond, key=lambda p: p[0])
        lines.append(f"decisions beyond float64, He rows: max {worst_pct:.3f} % ({_where(at)}) "
                     f"(target <= {TARGET_BEYOND} %): {_met(worst_pct <= TARGET_BEYOND)}")
    differ = []
    for r in counted:
        for who, pieces, regions in (("float", r.float_pieces, r.float_regions),
                                     ("regioncam", None, r.regioncam_regions)):
            if regions is not None and regions != r.activation_regions:
                differ.append(f"{_where(r)}: {who} {regions} regions, exact "
                              f"{r.activation_regions}")
            if pieces is not None and pieces != r.pieces:
                differ.append(f"{_where(r)}: {who} {pieces} pieces, exact {r.pieces}")
    lines.append(f"reference counts that differ from pwl's exact count (the exact count "
                 f"decides): {len(differ)}")
    lines.extend(f"  {d}" for d in differ)
    bad = [r for r in rows if r.error is not None or r.inconsistent]
    lines.append(f"rows where pwl raised or disagreed with itself: {len(bad)}")
    for r in bad:
        for problem in ([f"raised {r.error}"] if r.error else []) + r.inconsistent:
            lines.append(f"  {_where(r)}: {problem}")
    return lines


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small subset: he widths 64 256, depths 4 8, the "
                             "784-256-256-10 line (no int row)")
    parser.add_argument("--rows", nargs="+", choices=["he", "int", "line", "again"],
                        default=["he", "int", "line", "again"],
                        help="row families (default: all; 'again' counts a second line "
                             "through each MLP of --lines, the model's layer bounds kept)")
    parser.add_argument("--widths", type=int, nargs="+", default=None,
                        help=f"he hidden widths (default {' '.join(map(str, HE_WIDTHS))})")
    parser.add_argument("--depths", type=int, nargs="+", default=None,
                        help=f"he depths (default {' '.join(map(str, HE_DEPTHS))})")
    parser.add_argument("--domains", nargs="+", choices=["box", "whole"],
                        default=["box", "whole"],
                        help="he domains: box is [-10, 10], whole the real line (default both)")
    parser.add_argument("--lines", nargs="+", choices=sorted(MLPS), default=None,
                        help="MLPs whose lines are counted (default all three)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every network (default 0)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per counter and row; median shown (default 3)")
    parser.add_argument("--skip-regioncam", action="store_true", help="do not run regioncam")
    parser.add_argument("--no-memory", action="store_true",
                        help="do not trace pwl's first run with tracemalloc")
    parser.add_argument("--no-cross-check", action="store_true",
                        help="skip the untimed count_outputs run on one-output rows")
    parser.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.widths = args.widths or (QUICK_WIDTHS if args.quick else HE_WIDTHS)
    args.depths = args.depths or (QUICK_DEPTHS if args.quick else HE_DEPTHS)
    args.lines = args.lines or (QUICK_LINES if args.quick else list(MLPS))
    if args.quick and "int" in args.rows:
        args.rows = [r for r in args.rows if r != "int"]
    if min(args.widths) < 1 or min(args.depths) < 1:
        parser.error("widths and depths must be positive")
    return args


def plan(args: argparse.Namespace) -> list[tuple[Callable[[], Subject], list[bool]]]:
    """Subjects to build (lazily: the large ones hold tens of MiB) and,
    for each, the rows to measure: False for output 0, True for joint."""
    todo: list[tuple[Callable[[], Subject], list[bool]]] = []
    domains = ([BOX] if "box" in args.domains else []) + \
        ([None] if "whole" in args.domains else [])
    if "he" in args.rows:
        for width in args.widths:
            for depth in args.depths:
                for dom in domains:
                    todo.append((lambda w=width, d=depth, o=dom: he_subject(w, d, o, args.seed),
                                 [False]))
    if "int" in args.rows:
        todo.append((lambda: int_subject(512, 8, args.seed), [False]))
    if "line" in args.rows:
        for name in args.lines:
            todo.append((lambda n=name: line_subject(n, args.seed), [False, True]))
    if "again" in args.rows:
        for name in args.lines:
            todo.append((lambda n=name: line_subject(n, args.seed, again=True), [False]))
    return todo


def warm_up() -> None:
    """Load (and if need be compile) pwl's kernels before any row."""
    import pwl
    from pwl.counting import count_outputs

    small = he_subject(16, 4, BOX, 1)
    for dom in (small.pwl_domain, None):
        pwl.count(small.net, dom, workers=1)
        small.net.forget()
        count_outputs(small.net, dom)
        small.net.forget()
    rng = np.random.default_rng(1)
    weights, biases = he_arrays([8, 16, 16, 3], rng)
    net = pwl.Network.from_arrays(weights, biases)
    pwl.count(pwl.restrict_to_line(net, [Fraction(float(x)) for x in rng.random(8)],
                                   [Fraction(float(x)) for x in rng.random(8)]), (0, 1),
              workers=1)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    use_rc = not args.skip_regioncam and regioncam_available()
    if args.skip_regioncam:
        rc_note = "skipped"
    elif use_rc:
        rc_note = getattr(importlib.import_module("regioncam"), "__version__", "installed")
    else:
        rc_note = "not installed (n/a)"
    todo = plan(args)
    n_rows = sum(len(outputs) for _, outputs in todo)
    print(f"trained-style networks; seed {args.seed}; median of {args.repeat} run(s); "
          f"regioncam: {rc_note}")
    print(pwl_kernel_note())
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} (1 steadies "
          "both methods' times when the other core is busy)")
    start = time.perf_counter()
    warm_up()
    print(f"warm-up {time.perf_counter() - start:.1f} s (kernels loaded before any row)")
    print("fl rg / rc rg: the reference's activation regions minus pwl's exact count "
          "('=' when equal)")
    print(COLUMNS, flush=True)
    rows: list[Row] = []
    done = 0
    for build, outputs in todo:
        subject = build()
        line_rows: list[Row] = []
        for joint in outputs:
            done += 1
            print(f"[{done}/{n_rows}] {subject.name} {'joint' if joint else 'output 0'} on "
                  f"{subject.domain_label} ...", file=sys.stderr, flush=True)
            row = measure(subject, joint, args.repeat, not args.no_memory, use_rc,
                          not args.no_cross_check)
            rows.append(row)
            line_rows.append(row)
            if len(line_rows) == 2:
                check_line(*line_rows)
            print(format_row(row), flush=True)
    print()
    for line in summary(rows):
        print(line)
    print(f"process peak RSS {max_rss_mb():.0f} MiB; total {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"seed": args.seed, "repeat": args.repeat,
                                               "rows": [asdict(r) for r in rows]}, indent=1)
                                   + "\n")
    return 1 if any(r.error is not None or r.inconsistent for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
