"""``pwl bench``: growth of exact piece counts with depth."""

from __future__ import annotations

import csv
import sys
import io
from typing import Optional

import click

from pwl.counting import METHODS
from pwl.theory.growth import FAMILIES
from pwl.values.numbers import format_exact

from .main import cli, emit_json, plot_option
from .types import RATIONAL


@cli.group()
def bench() -> None:
    """Benchmarks of the exponential growth of pieces with depth."""


@bench.command()
@click.option("--family", type=click.Choice(FAMILIES),
              default="triangle", show_default=True, help="Which networks to grow.")
@click.option("--max-depth", type=click.IntRange(min=1), default=None,
              help="Deepest network (default: 20 for triangle and sawtooth, 8 for random).")
@click.option("--min-depth", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--width", "-n", type=click.IntRange(min=1), default=None,
              help="Width n (sawtooth default 3, random default 16; the triangle has 2).")
@click.option("--domain", nargs=2, type=RATIONAL, default=None, metavar="LO HI",
              help="Default [0, 1] for triangle and sawtooth, the whole line for random.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of random networks.")
@click.option("--method", type=click.Choice(("auto",) + METHODS), default="auto",
              show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the rows to this CSV file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@plot_option("log2(pieces) against depth with both bounds")
def growth(family: str, max_depth: Optional[int], min_depth: int, width: Optional[int],
           domain: Optional[tuple], seed: int, method: str, csv_path: Optional[str],
           as_json: bool, plot_path: Optional[str]) -> None:
    """One row per depth: pieces, activation regions, both bounds, time, memory.

    Counts are exact.  Time and peak memory (traced allocations) are those of
    the count alone.
    """
    from pwl.theory.growth import growth as run
    from pwl.io.files import write_text_atomic

    import os

    from pwl.values.domain import as_domain

    if plot_path is not None:
        from pwl.present.plot import figure_format

        figure_format(plot_path)
    if domain is not None:
        as_domain(domain)   # refuse a bad domain before printing anything
    if csv_path is not None:
        folder = os.path.dirname(csv_path) or "."
        if not csv_path or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise click.BadParameter(f"cannot write {csv_path!r} (no such writable folder)",
                                     param_hint="'--csv'")
    if max_depth is None:
        max_depth = 8 if family == "random" else 20
    if min_depth > max_depth:
        raise click.UsageError("--min-depth is above --max-depth")
    if width is None:
        width = {"triangle": 2, "sawtooth": 3, "random": 16}[family]
    if domain is None and family != "random":
        domain = (0, 1)
    rows = []
    header = ["depth", "width", "pieces", "activation_regions", "bound_lecture",
              "bound_one_input", "seconds", "peak_bytes", "method"]
    if not as_json:
        click.echo(f"{'depth':>5} {'pieces':>20} {'regions':>20} {'2^D prod n':>14} "
                   f"{'prod(n+1)':>14} {'seconds':>8} {'peak MB':>8}")
    stderr = sys.stderr
    with click.progressbar(length=max_depth - min_depth + 1, label="depth", file=stderr,
                           hidden=not stderr.isatty()) as bar:
        for r in run(family, max_depth, width, domain, seed,
                     None if method == "auto" else method, min_depth):
            rows.append(r)
            bar.update(1)
            if not as_json:
                click.echo(f"{r.depth:>5} {_short(r.pieces):>20} {_short(r.activation_regions):>20} "
                           f"{_short(r.bound_lecture):>14} {_short(r.bound_one_input):>14} "
                           f"{r.seconds:>8.3f} {r.peak_bytes / 2**20:>8.1f}")
    if plot_path is not None:
        from pwl.present.plot import plot_growth

        plot_growth(rows, plot_path)
    if csv_path:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.depth, r.width, r.pieces, r.activation_regions, r.bound_lecture,
                             r.bound_one_input, f"{r.seconds:.6f}", r.peak_bytes, r.method])
        write_text_atomic(csv_path, buf.getvalue())
        if csv_path != "-":
            click.echo(f"table saved to {csv_path}", err=True)
    if as_json:
        emit_json({"family": family, "width": width, "seed": seed,
                   "domain": None if domain is None else [format_exact(v) for v in domain],
                   "rows": [{"depth": r.depth, "width": r.width, "pieces": r.pieces,
                             "activation_regions": r.activation_regions,
                             "bound_lecture": str(r.bound_lecture),
                             "bound_one_input": str(r.bound_one_input),
                             "seconds": round(r.seconds, 6), "peak_bytes": r.peak_bytes,
                             "method": r.method} for r in rows],
                   "csv": csv_path, "figure": plot_path})


def _short(n: Optional[int]) -> str:
    """Integers as they are up to 20 digits, else as 'd digits: 1234...'."""
    if n is None:
        return "-"
    text = str(n)
    return text if len(text) <= 20 else f"{text[:6]}...({len(text)} digits)"
