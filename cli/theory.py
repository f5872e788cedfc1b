"""Commands for the lectures' depth theorems: telgarsky, bound, distance,
separation."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import click

from pwl import Network, function_of
from pwl.values.numbers import format_decimal, format_exact
from pwl.theory.distances import METRICS
from pwl.theory.separation import COMPETITORS

from .main import (cli, domain_option, domain_text, emit_json, end_progress, format_option,
                   json_option, load_network, plot_option, progress_option, step_reporter,
                   table)
from .types import NETWORK, RATIONAL


@cli.command()
@click.option("--depth", "-D", type=click.IntRange(min=1), required=True,
              help="Number of hidden layers D (2 units each).")
@click.option("--scale", type=RATIONAL, default=Fraction(1), show_default="1",
              help="Output scale S: the network computes S * tri^D.")
@click.option("--save", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the network to this native JSON file.")
@plot_option()
@json_option
def telgarsky(depth: int, scale: Fraction, save: Optional[str], as_json: bool,
              plot_path: Optional[str]) -> None:
    """Build Telgarsky's triangle network, count it on [0, 1] and check it.

    tri(x) = relu(relu(2x) - relu(4x - 2)) composed D times has exactly 2^D
    pieces on [0, 1], values in [0, S] and period 1/2^(D-1).
    """
    from pwl.theory.constructions import check_telgarsky

    from pwl.theory.constructions import LIST_DEPTH
    from pwl.errors import PWLValueError

    if plot_path is not None:
        from pwl.present.plot import figure_format

        figure_format(plot_path)
        if depth > LIST_DEPTH:
            raise PWLValueError(f"--plot draws every piece; at depth {depth} there are 2^{depth}")
    check = check_telgarsky(depth, scale)
    if plot_path is not None:
        from pwl.present.plot import plot_function

        net = check["network"]
        assert isinstance(net, Network)
        f = function_of(net, (0, 1))
        plot_function(f, plot_path,
                      title=f"{format_exact(scale)} tri^{depth} on [0, 1]: kappa = {f.num_pieces}")
    if save is not None:
        check["network"].save(save)  # type: ignore[attr-defined]
    if as_json:
        emit_json({
            "depth": depth, "scale": format_exact(scale), "domain": ["0", "1"],
            "pieces": check["pieces"], "expected": check["expected"],
            "period": format_exact(check["period"]),  # type: ignore[arg-type]
            "min": None if check["min"] is None else format_exact(check["min"]),  # type: ignore[arg-type]
            "max": None if check["max"] is None else format_exact(check["max"]),  # type: ignore[arg-type]
            "periodic": check["periodic"], "holds": check["holds"],
            "saved": save, "figure": plot_path,
        })
        return
    click.echo(table([
        ("network", f"{format_exact(scale)} * tri^{depth} ({depth} hidden layers of 2 units)"),
        ("domain", "[0, 1]"),
        ("pieces", check["pieces"]),
        ("expected 2^D", check["expected"]),
        ("period", format_exact(check["period"])),  # type: ignore[arg-type]
        ("range", "not listed beyond depth 20 (the count is exact)" if check["min"] is None
         else f"[{format_exact(check['min'])}, {format_exact(check['max'])}]"),  # type: ignore[arg-type]
        ("holds", "yes" if check["holds"] else "NO"),
    ] + ([("saved to", save)] if save else [])))


@cli.command()
@click.argument("network", type=NETWORK)
@format_option
@domain_option
@json_option
@click.option("--output", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which output to check, numbered from 0.")
def bound(network: str, domain: Optional[tuple[Fraction, Fraction]], as_json: bool,
          output: int) -> None:
    """Check the piece bounds and the lecture's lemmas on NETWORK.

    Reports kappa, the lecture's bound 2^D prod(n_d), the one-input bound
    prod(n_d + 1) (for activations with m kinks: (m + 1)^D prod n_d and
    prod(m n_d + 1), the formula printed is the one used), and checks
    kappa(act(z)) <= (m + 1) kappa(z) and kappa(z) <= sum of its inputs'
    kappas neuron by neuron.
    """
    from pwl.theory.bounds import check_bounds

    net = load_network(network)
    r = check_bounds(net, domain, output)
    violations = [{"layer": v.layer, "neuron": v.neuron, "lemma": v.lemma,
                   "lhs": v.lhs, "rhs": v.rhs} for v in r.violations]
    if as_json:
        emit_json({
            "network": network,
            "domain": None if r.domain is None else [format_exact(v) for v in r.domain],
            "depth": r.depth, "widths": list(r.widths), "output": output,
            "pieces": r.pieces, "activation_regions": r.activation_regions,
            "bound_lecture": r.bound_lecture, "bound_one_input": r.bound_one_input,
            "formula_lecture": r.formula_lecture, "formula_one_input": r.formula_one_input,
            "holds_lecture": r.holds_lecture, "holds_one_input": r.holds_one_input,
            "ratio_lecture": format_exact(r.ratio("lecture")),
            "ratio_one_input": format_exact(r.ratio("one_input")),
            "violations": violations, "holds": r.holds,
        })
        return
    click.echo(table([
        ("network", network),
        ("domain", domain_text(r.domain)),
        ("depth", r.depth),
        ("widths", ", ".join(map(str, r.widths)) or "-"),
        ("pieces (kappa)", r.pieces),
        ("activation regions", r.activation_regions),
        (f"bound {r.formula_lecture}", f"{r.bound_lecture}  ({'holds' if r.holds_lecture else 'VIOLATED'},"
                               f" kappa/bound = {format_exact(r.ratio('lecture'))})"),
        (f"bound {r.formula_one_input}", f"{r.bound_one_input}  ({'holds' if r.holds_one_input else 'VIOLATED'},"
                                f" kappa/bound = {format_exact(r.ratio('one_input'))})"),
        ("lemmas", "hold for every neuron" if not violations else f"{len(violations)} VIOLATIONS"),
    ]))
    for v in r.violations:
        click.echo(f"  layer {v.layer} neuron {v.neuron}: {v.lemma}: {v.lhs} > {v.rhs}")


@cli.command()
@click.argument("f", type=NETWORK)
@click.argument("g", type=NETWORK)
@format_option
@domain_option
@click.option("--metric", type=click.Choice(METRICS), default="l1",
              show_default=True, help="int |f-g|, int (f-g)^2, or max |f-g|.")
@click.option("--output", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which output of each network, numbered from 0.")
@json_option
def distance(f: str, g: str, domain: Optional[tuple[Fraction, Fraction]], metric: str,
             output: int, as_json: bool) -> None:
    """Exact distance between the networks F and G.

    On the whole line a distance exists only where it is finite; otherwise
    pwl says so and exits 1.
    """
    from pwl.theory.distances import distance as exact_distance

    value = exact_distance(load_network(f), load_network(g), domain, metric, output)
    payload = {"f": f, "g": g, "output": output, "metric": metric,
               "domain": None if domain is None else [format_exact(v) for v in domain],
               "value": format_exact(value), "decimal": format_decimal(value)}
    if as_json:
        emit_json(payload)
        return
    click.echo(table([("metric", metric), ("domain", domain_text(domain)),
                      ("value", format_exact(value)), ("decimal", format_decimal(value))]))


def _separation_row(r: Any) -> dict[str, Any]:
    """One competitor's JSON: a bound below 0 is null and listed in ``vacuous``."""
    from pwl.theory.separation import BOUNDS

    return {
        "depth": r.depth, "width": r.width, "layers": r.layers, "competitor": r.competitor,
        "pieces_competitor": r.kappa_g, "l1": format_exact(r.l1),
        "l1_decimal": format_decimal(r.l1, 8),
        **{name: None if name in r.vacuous else format_exact(getattr(r, name))
           for name in BOUNDS},
        "vacuous": list(r.vacuous),
        "holds": r.holds,
    }


def _separation_json(depth: int, layers: int, competitor: str, rows: list[Any],
                     epsilon: Optional[Fraction], min_width: Optional[int],
                     saved: Optional[str], figure: Optional[str]) -> dict[str, Any]:
    """``separation --json``, the same keys for one width, ``--sweep`` (a row
    per width) and ``--epsilon`` (no rows, ``min_width``)."""
    return {"depth": depth, "layers": layers, "competitor": competitor,
            "epsilon": None if epsilon is None else format_exact(epsilon),
            "min_width": min_width, "rows": [_separation_row(r) for r in rows],
            "saved": saved, "figure": figure}


def _bound_text(r: Any, name: str, digits: Optional[int] = None) -> str:
    """A lower bound for the text output: its value, or "vacuous" below 0."""
    value = getattr(r, name)
    if name in r.vacuous:
        return "vacuous" if digits is not None else "vacuous (below 0)"
    return format_exact(value) if digits is None else format_decimal(value, digits)


@cli.command()
@click.option("--depth", "-D", type=click.IntRange(min=1, max=24), required=True,
              help="f = 16 tri^D on [0, 1].")
@click.option("--width", "-n", type=click.IntRange(min=1), default=None,
              help="Width n of the competitor's hidden layers (required unless --sweep or --epsilon).")
@click.option("--layers", "-k", type=click.IntRange(min=1), default=1, show_default=True,
              help="Hidden layers of the competitor.")
@click.option("--competitor", type=click.Choice(COMPETITORS),
              default="interp", show_default=True, help="How the competitor g is made.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed for random/trained.")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Gradient steps for trained.")
@click.option("--sweep", is_flag=True, help="Table over widths 1, 2, 4, ..., 2^D.")
@click.option("--epsilon", type=RATIONAL, default=None,
              help="Print the smallest width the bounds allow for L1 error <= EPSILON.")
@click.option("--save-competitor", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the competitor g as a native network file.")
@plot_option()
@json_option
@progress_option
def separation(depth: int, width: Optional[int], layers: int, competitor: str, seed: int,
               steps: int, sweep: bool, epsilon: Optional[Fraction],
               save_competitor: Optional[str], as_json: bool, plot_path: Optional[str],
               progress: Optional[bool]) -> None:
    """Depth separation: how far a shallow network g stays from f = 16 tri^D.

    Reports kappa(g) (counted), the exact L1 distance int_0^1 |f - g| and the
    lower bounds 1 - kappa(g)/2^D (lecture), 2 (1 - kappa(g)/2^D) (the same
    argument, counted once), 1 - 2^k prod(n_d)/2^D and 1 - prod(n_d + 1)/2^D.
    """
    from pwl.errors import PWLValueError
    from pwl.theory.separation import min_width, separation as run

    if (sweep or epsilon is not None) and (save_competitor or width is not None):
        raise click.UsageError(f"{'--sweep' if sweep else '--epsilon'} ranges over widths; "
                               "it does not take --width or --save-competitor")
    if sweep and epsilon is not None:
        raise click.UsageError("give --sweep or --epsilon, not both")
    if save_competitor is not None and not save_competitor:
        raise click.UsageError("--save-competitor: the path is empty")
    if plot_path is not None:
        from pwl.present.plot import figure_format

        figure_format(plot_path)
    if epsilon is not None:
        n = min_width(depth, epsilon, layers)
        if as_json:
            emit_json(_separation_json(depth, layers, competitor, [], epsilon, n, None, None))
        else:
            click.echo(f"smallest width with {layers} hidden layer(s) that the bounds allow "
                       f"for L1 error <= {format_exact(epsilon)} against 16 tri^{depth}: {n}")
        return
    if sweep:
        rows = []
        report = step_reporter(progress)
        try:
            for i in range(depth + 1):
                if report is not None:
                    report(f"width {2**i} ({i + 1} of {depth + 1}): the {competitor} "
                           "competitor and its exact distance")
                rows.append(run(depth, 2**i, layers, competitor, seed, steps))
        finally:
            end_progress(report)
        if plot_path is not None:
            from pwl.present.plot import plot_separation

            plot_separation(rows, plot_path)
        if as_json:
            emit_json(_separation_json(depth, layers, competitor, rows, None, None, None,
                                       plot_path))
            return
        click.echo(f"f = 16 tri^{depth} on [0, 1], competitor {competitor}, {layers} hidden layer(s)")
        click.echo(f"{'width':>6} {'kappa(g)':>9} {'L1':>12} {'2(1-k/2^D)':>11} "
                   f"{'1-k/2^D':>9} {'holds':>6}")
        for r in rows:
            click.echo(f"{r.width:>6} {r.kappa_g:>9} {format_decimal(r.l1, 8):>12} "
                       f"{_bound_text(r, 'bound_sharp', 6):>11} "
                       f"{_bound_text(r, 'bound_lecture', 6):>9} {'yes' if r.holds else 'NO':>6}")
        return
    if width is None:
        raise click.UsageError("give --width, or --sweep, or --epsilon")
    if width > 2**20:
        raise PWLValueError(f"--width {width} is beyond the supported 2^20")
    report = step_reporter(progress)
    try:
        if report is not None:
            report(f"the {competitor} competitor and its exact distance")
        r = run(depth, width, layers, competitor, seed, steps)
    finally:
        end_progress(report)
    if plot_path is not None:
        from pwl.present.plot import plot_separation

        plot_separation([r], plot_path)
    if save_competitor is not None:
        r.network.save(save_competitor)
    if as_json:
        emit_json(_separation_json(depth, layers, competitor, [r], None, None, save_competitor,
                                   plot_path))
        return
    click.echo(table([
        ("f", f"16 tri^{depth} on [0, 1] ({2**depth} pieces)"),
        ("g", f"{competitor}, {layers} hidden layer(s) of width {width}"),
        ("kappa(g)", r.kappa_g),
        ("L1 distance", f"{format_exact(r.l1)}  ~ {format_decimal(r.l1, 8)}"),
        ("2 (1 - kappa(g)/2^D)", _bound_text(r, "bound_sharp")),
        ("1 - kappa(g)/2^D", _bound_text(r, "bound_lecture")),
        ("1 - 2^k prod n / 2^D", _bound_text(r, "bound_arch_lecture")),
        ("1 - prod(n+1) / 2^D", _bound_text(r, "bound_arch_one_input")),
        ("holds", "yes" if r.holds else "NO"),
    ] + ([("saved to", save_competitor)] if save_competitor else [])))
