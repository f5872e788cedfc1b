"""Commands for figures and for the lectures' other constructions:
plot, approx (rect, sin, barron, budget), interpolate, gradients."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import click

from pwl import function_of
from pwl.lectures.gradients import ACTIVATIONS as GRADIENT_ACTIVATIONS, INITS
from pwl.values.numbers import format_decimal, format_exact

from .main import (cli, domain_option, domain_text, emit_json, end_progress, exact_list,
                   format_option, json_option, load_network, plot_option, progress_option,
                   step_reporter, table)
from .types import NETWORK, RATIONAL


def two_input_options(f: Any) -> Any:
    """``--box``, ``--plane`` and ``--polygon``, as ``pwl regions`` takes them."""
    from .plane import _domain_options

    return _domain_options(f)


def _up(value: Fraction, digits: int = 6) -> str:
    """A decimal at least ``value`` (an upper bound stays one when printed)."""
    from pwl.lectures.approx import Enclosure

    return format_decimal(Enclosure(value, value).rounded(digits).hi, digits + 2)


def _save_network(net: Any, path: str) -> None:
    """Write a network file; an unwritable path is one line, exit 1."""
    net.save(path)   # errors are one line already (pwl.io.files)


def _check_figure(path: Optional[str]) -> None:
    """Refuse a bad figure path before any work is done."""
    if path is not None:
        from pwl.present.plot import figure_format

        figure_format(path)


# -- pwl plot -----------------------------------------------------------------------
@cli.command()
@click.argument("network", type=NETWORK)
@format_option
@click.option("-o", "--out", "path", type=click.Path(dir_okay=False, writable=True),
              required=True, metavar="FILE", help="The figure to write (.png, .svg or .pdf).")
@domain_option
@click.option("--layers", is_flag=True,
              help="Every neuron's pre-activation and activation, layer by layer.")
@click.option("--relu", is_flag=True, help="The output f beside relu(f), each with its kappa.")
@click.option("--output", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which output to draw, numbered from 0.")
@click.option("--title", type=str, default=None, help="A title above the kappa line.")
@click.option("--no-breakpoints", is_flag=True, help="Do not mark the breakpoints.")
@json_option
@progress_option
@two_input_options
@click.option("--color", type=click.Choice(("pattern", "piece", "class")), default="pattern",
              show_default=True,
              help="With --box, --plane or --polygon: fill regions by activation pattern, "
                   "linear piece or class.")
@click.pass_context
def plot(ctx: click.Context, network: str, path: str,
         domain: Optional[tuple[Fraction, Fraction]], layers: bool, relu: bool, output: int,
         title: Optional[str], no_breakpoints: bool, as_json: bool, progress: Optional[bool],
         box: Optional[tuple[Fraction, ...]], plane: Optional[tuple[str, str, str]],
         polygon: Optional[str], color: str) -> None:
    """Draw the function NETWORK computes, its breakpoints marked and kappa
    in the title; with --box, --plane or --polygon, its linear regions in
    the plane (as pwl plot2d draws them).

    Without --domain the window shows every breakpoint on the whole line
    (kappa is then that of the whole line).

    Example: pwl plot examples/telgarsky-3.json --domain 0 1 -o tri3.png
    """
    from pwl.present import plot as figures

    if box is not None or plane is not None or polygon is not None:
        given = [name for name, on in (("--domain", domain is not None), ("--layers", layers),
                                       ("--relu", relu), ("--json", as_json),
                                       ("--no-breakpoints", no_breakpoints)) if on]
        if given:
            raise click.UsageError(f"the plane's figure does not take {given[0]}")
        from .plane import plot2d

        ctx.invoke(plot2d, network=network, path=path, box=box, plane=plane, polygon=polygon,
                   color=color, output=output, points_file=None, title=title)
        return
    if layers and relu:
        raise click.UsageError("--layers and --relu draw different figures; choose one")
    figures.figure_format(path)
    net = load_network(network)
    report = step_reporter(progress)
    try:
        if report is not None:
            report("listing the pieces")
        f = function_of(net, domain, output)
        if report is not None:
            report(f"drawing {f.num_pieces:,} pieces")
        if layers:
            figures.plot_layers(net, path, domain)
        elif relu:
            figures.plot_relu(f, path, domain)
        else:
            figures.plot_function(f, path, title, not no_breakpoints, domain)
    finally:
        end_progress(report)
    kind = "layers" if layers else "relu" if relu else "function"
    if as_json:
        payload: dict[str, Any] = {
            "network": network, "figure": path, "kind": kind,
            "domain": None if domain is None else exact_list(domain),
            "output": output, "pieces": f.num_pieces,
            "breakpoints": exact_list(f.breakpoints),
            "pieces_relu": f.relu().num_pieces if relu else None}
        emit_json(payload)
        return
    rows = [("network", network), ("domain", domain_text(domain)),
            ("pieces (kappa)", f.num_pieces)]
    if relu:
        rows.append(("pieces of relu(f)", f.relu().num_pieces))
    rows.append(("figure", f"{path} ({kind})"))
    click.echo(table(rows))


# -- pwl approx ---------------------------------------------------------------------
@cli.group()
def approx() -> None:
    """Approximation with ReLU networks (Lelarge and Bursuc's lecture): rects, sine, Barron,
    and depth against a parameter budget."""


@approx.command()
@click.option("--rect", "rects", type=(RATIONAL, RATIONAL, RATIONAL), multiple=True,
              required=True, metavar="A B H",
              help="A rect from A to B of height H (repeat to sum several).")
@click.option("--eps", type=RATIONAL, default=Fraction(1, 10**7), show_default="1e-7",
              help="Width of the ramps.")
@click.option("--save", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the network to this native JSON file.")
@plot_option()
@json_option
def rect(rects: tuple[tuple[Fraction, Fraction, Fraction], ...], eps: Fraction,
         save: Optional[str], plot_path: Optional[str], as_json: bool) -> None:
    """The slides' rect: h/eps (relu(x-a) - relu(x-a-eps) - relu(x-b) +
    relu(x-b-eps)), four ReLUs per rect, summed in one hidden layer.

    Example: pwl approx rect --rect -1 0 0.4 --rect 0 1 1.3 --rect 1 2 0.8
    """
    from pwl.lectures.approx import rect_sum

    _check_figure(plot_path)
    net = rect_sum(rects, eps)
    f = function_of(net)
    if save is not None:
        _save_network(net, save)
    if plot_path:
        from pwl.present.plot import plot_function

        lo = min(r[0] for r in rects) - 1
        hi = max(r[1] for r in rects) + eps + 1
        plot_function(f, plot_path, f"{len(rects)} rect{'s' if len(rects) != 1 else ''}, "
                                    f"eps = {format_exact(eps)}", domain=(lo, hi))
    if as_json:
        emit_json({"rects": [exact_list(r) for r in rects], "eps": format_exact(eps),
                   "units": net.widths[0], "pieces": f.num_pieces,
                   "breakpoints": exact_list(f.breakpoints),
                   "saved": save,
                   "figure": plot_path})
        return
    click.echo(table([("rects", len(rects)), ("eps", format_exact(eps)),
                      ("hidden units", net.widths[0]),
                      ("pieces on the whole line", f.num_pieces),
                      ("breakpoints", ", ".join(exact_list(f.breakpoints)))]
                     + ([("saved to", save)] if save else [])
                     + ([("figure", plot_path)] if plot_path else [])))


@approx.command()
@click.option("--rects", "-N", "ns", type=click.IntRange(min=4, max=2000), multiple=True,
              metavar="N", help="The slides' N (# 10, # 20, ...): samples 5i/N, N - 3 rects. "
                                "Repeat for a table; default 10, 20, 50, 500.")
@click.option("--digits", type=click.IntRange(min=1, max=60), default=12, show_default=True,
              help="Decimal places of the heights sin(x_i).")
@click.option("--eps", type=RATIONAL, default=Fraction(1, 10**7), show_default="1e-7",
              help="Width of the ramps.")
@plot_option()
@json_option
@progress_option
def sin(ns: tuple[int, ...], digits: int, eps: Fraction, plot_path: Optional[str],
        as_json: bool, progress: Optional[bool]) -> None:
    """The slides' approximation of sin on [0, 5] by rects, with its exact
    pieces and a rigorous enclosure of int_0^5 |sin - g|.

    For x_i = 5i/N and i = 2..N-2 a rect of height sin(x_i) (rounded to
    --digits places) spans the midpoints around x_i.  The enclosure comes
    from interval arithmetic with outward rounding, sign changes of sin - g
    isolated and counted piece by piece.
    """
    from pwl.lectures.approx import sine_table

    _check_figure(plot_path)
    report = step_reporter(progress)
    try:
        rows = sine_table(ns or (10, 20, 50, 500), digits, eps, report)
    finally:
        end_progress(report)
    if plot_path:
        from pwl.present.plot import plot_sine

        plot_sine(rows, plot_path)
    if as_json:
        emit_json({"function": "sin", "domain": ["0", "5"], "digits": digits,
                   "eps": format_exact(eps),
                   "rows": [{"N": r.n, "rects": r.rects, "units": r.units, "pieces": r.pieces,
                             "l1": r.l1.to_json()} for r in rows],
                   "figure": plot_path})
        return
    click.echo(f"sin on [0, 5]: rects at x_i = 5i/N, heights sin(x_i) to {digits} places, "
               f"eps = {format_exact(eps)}")
    click.echo(f"{'N':>5} {'rects':>6} {'units':>6} {'pieces':>7}  "
               f"{'L1 = int |sin - g|, rigorous enclosure':<40} {'N * L1':>22}")
    for r in rows:
        scaled = r.l1.scaled(Fraction(r.n)).text(5)
        click.echo(f"{r.n:>5} {r.rects:>6} {r.units:>6} {r.pieces:>7}  {r.l1.text(12):<40} "
                   f"{scaled:>22}")
    if plot_path:
        click.echo(f"figure: {plot_path}")


@approx.command()
@click.option("--units", "-q", "qs", type=click.IntRange(min=1, max=4096), multiple=True,
              metavar="Q", help="Hidden units (repeat); default 1, 2, 4, ..., 64.")
@click.option("--digits", type=click.IntRange(min=1, max=60), default=12, show_default=True,
              help="Decimal places of the values sin(x_i).")
@plot_option()
@json_option
@progress_option
def barron(qs: tuple[int, ...], digits: int, plot_path: Optional[str], as_json: bool,
           progress: Optional[bool]) -> None:
    """One hidden layer of q ReLUs (the interpolant of sin at q + 1 knots on
    [0, 5]) against Barron's O(C_f^2 / q).

    The mean integrated squared error (1/5) int_0^5 (sin - g)^2 is a rigorous
    enclosure.  C_f = 1 for sin; Barron's theorem promises C_f^2/q up to a
    constant in any dimension, the interpolant in one dimension does O(q^-4).
    """
    from pwl.lectures.approx import barron_table

    _check_figure(plot_path)
    report = step_reporter(progress)
    try:
        rows = barron_table(qs or (1, 2, 4, 8, 16, 32, 64), digits, report)
    finally:
        end_progress(report)
    if plot_path:
        from pwl.present.plot import plot_barron

        plot_barron(rows, plot_path)
    if as_json:
        emit_json({"function": "sin", "domain": ["0", "5"], "c_f": "1",
                   "rows": [{"q": r.q, "units": r.units, "pieces": r.pieces,
                             "mise": r.mise.to_json(), "barron": format_exact(r.barron)}
                            for r in rows],
                   "figure": plot_path})
        return
    click.echo("sin on [0, 5], one hidden layer of q units (interpolant at 5i/q); C_f = 1")
    click.echo(f"{'q':>5} {'pieces':>7}  {'MISE = (1/5) int (sin - g)^2, enclosure':<42} "
               f"{'C_f^2/q':>8} {'MISE / (C_f^2/q)':>22}")
    for r in rows:
        ratio = r.mise.scaled(1 / r.barron).text(5)
        click.echo(f"{r.q:>5} {r.pieces:>7}  {r.mise.text(10):<42} {format_exact(r.barron):>8} "
                   f"{ratio:>22}")
    if plot_path:
        click.echo(f"figure: {plot_path}")


@approx.command()
@click.option("--params", "budget", type=click.IntRange(min=10, max=10**6), default=100,
              show_default=True, help="Parameter budget (weights and biases).")
@click.option("--max-depth", type=click.IntRange(min=1), default=None,
              help="Deepest network (default: as deep as width 3 fits the budget).")
@plot_option()
@json_option
@progress_option
def budget(budget: int, max_depth: Optional[int], plot_path: Optional[str],
           as_json: bool, progress: Optional[bool]) -> None:
    """For a fixed parameter budget deeper is better (Montufar et al. 2014).

    For each depth D the widest uniform zigzag network within the budget;
    its pieces and activation regions on the whole line are counted by the
    engine and reach prod(n_d + 1), the one-input bound.  The sawtooth of
    the same widths (n^D pieces on [0, 1]) is counted beside it.
    """
    from pwl.lectures.approx import budget_table

    _check_figure(plot_path)
    report = step_reporter(progress)
    try:
        rows = budget_table(budget, max_depth, report)
    finally:
        end_progress(report)
    if plot_path:
        from pwl.present.plot import plot_budget

        plot_budget(rows, plot_path, budget)
    if as_json:
        emit_json({"budget": budget, "rows": [{
            "depth": r.depth, "width": r.width, "parameters": r.parameters,
            "pieces": r.pieces, "activation_regions": r.activation_regions,
            "prod_n_plus_1": str(r.prod_n_plus_1), "bound_lecture": str(r.bound_lecture),
            "sawtooth_pieces": r.sawtooth_pieces, "method": r.method} for r in rows],
            "figure": plot_path})
        return
    click.echo(f"at most {budget} parameters; pieces counted on the whole line (zigzag) "
               "and on [0, 1] (sawtooth)")
    click.echo(f"{'depth':>5} {'width':>5} {'params':>6} {'zigzag pieces':>14} "
               f"{'prod(n+1)':>12} {'2^D prod n':>14} {'sawtooth':>10}")
    for r in rows:
        click.echo(f"{r.depth:>5} {r.width:>5} {r.parameters:>6} {r.pieces:>14} "
                   f"{r.prod_n_plus_1:>12} {r.bound_lecture:>14} {r.sawtooth_pieces:>10}")
    if plot_path:
        click.echo(f"figure: {plot_path}")


# -- pwl interpolate ------------------------------------------------------------------
@cli.command()
@click.argument("points", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--depth", "-k", type=click.IntRange(min=1), default=1, show_default=True,
              help="Hidden layers (1: Zhang's two-layer network; k: width about N/k).")
@click.option("--save", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the network to this native JSON file.")
@plot_option()
@json_option
def interpolate(points: str, depth: int, save: Optional[str], plot_path: Optional[str],
                as_json: bool) -> None:
    """A ReLU network taking the given values at the given points, exactly
    (Zhang et al. 2017: 2N + n weights).

    POINTS is a CSV file of rows x,y with exact numbers (3, -3/7, 0.25);
    a header x,y, blank lines and # comments are allowed.  The network is
    evaluated exactly at every point.
    """
    from pwl.lectures.interpolation import interpolate as build, read_points

    _check_figure(plot_path)
    xs, ys = read_points(points)
    r = build(xs, ys, depth)
    if save is not None:
        _save_network(r.network, save)
    if plot_path:
        from pwl.present.plot import plot_interpolation

        plot_interpolation(r, plot_path)
    if as_json:
        emit_json({"points": points, "n": r.points, "depth": r.depth, "widths": list(r.widths),
                   "zhang_parameters": r.zhang_parameters, "nonzero_parameters": r.nonzero,
                   "stored_parameters": r.stored, "exact": r.exact,
                   "mismatches": [format_exact(r.xs[i]) for i in r.mismatches],
                   "saved": save,
                   "figure": plot_path})
        return
    click.echo(table([
        ("points", f"{points} ({r.points} points)"),
        ("depth", r.depth),
        ("widths", ", ".join(map(str, r.widths))),
        ("Zhang's 2N + n", f"{r.zhang_parameters}  (a shared by the units, b, w)"),
        ("nonzero weights", r.nonzero),
        ("stored weights", f"{r.stored}  (every entry of the dense layers)"),
        ("exact at", f"{r.points - len(r.mismatches)} of {r.points} points"
                     + ("" if r.exact else "  MISMATCH")),
    ] + ([("saved to", save)] if save else []) + ([("figure", plot_path)] if plot_path else [])))


# -- pwl gradients ----------------------------------------------------------------------
@cli.command()
@click.option("--activation", "-a", type=click.Choice(GRADIENT_ACTIVATIONS),
              default="sigmoid", show_default=True)
@click.option("--depth", "-D", type=click.IntRange(min=1, max=50), required=True,
              help="Units in the chain y = s(w_D s(... s(w_1 x))).")
@click.option("--samples", type=click.IntRange(min=1, max=1000), default=8, show_default=True,
              help="Exact points (x, w) at which the derivative is evaluated.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--width", type=click.IntRange(min=1, max=512), default=32, show_default=True,
              help="Width of the random network of the illustration.")
@click.option("--init", type=click.Choice(INITS), default="standard",
              show_default=True, help="Initialisation of the random network.")
@click.option("--seeds", type=click.IntRange(min=1, max=200), default=10, show_default=True,
              help="Random initialisations in the illustration.")
@click.option("--expression", is_flag=True, help="Print dy/dw_1 in full however long.")
@plot_option()
@json_option
def gradients(activation: str, depth: int, samples: int, seed: int, width: int, init: str,
              seeds: int, expression: bool, plot_path: Optional[str], as_json: bool) -> None:
    """Vanishing gradients: the exact dy/dw_1 of a one-unit chain, the bound
    sup|s'|^D |x| for |w_i| <= 1 ((1/4)^D |x| for the sigmoid), and per-layer
    gradient magnitudes of random networks (float64, an illustration).
    """
    from pwl.lectures.gradients import check_chain, describe_samples, layer_gradients

    _check_figure(plot_path)
    r = check_chain(activation, depth, samples, seed)
    g = layer_gradients(activation, depth, width, init, seeds, seed=seed)
    backprop, weights, zeros = g.mean_backprop(), g.mean_weights(), g.zero_share()
    if plot_path:
        from pwl.present.plot import plot_gradients

        plot_gradients(g, plot_path)
    ratios = [s.ratio for s in r.samples if s.ratio is not None]
    worst = max(ratios) if ratios else None
    if as_json:
        emit_json({
            "activation": activation, "depth": depth, "derivative": str(r.derivative),
            "chain_rule": r.chain_rule, "sup_derivative": format_exact(r.sup_derivative),
            "bound_identity": r.bound_identity, "bound_identity_holds": r.bound_identity_holds,
            "bound": f"{format_exact(r.factor)} |x|", "factor": format_exact(r.factor),
            "samples": describe_samples(r),
            "max_ratio": None if worst is None else _up(worst),
            "holds": r.holds,
            "illustration": {"width": width, "init": init, "seeds": seeds,
                             "mean_abs_backprop": [float(f"{m:.6g}") for m in backprop],
                             "mean_abs_weight_gradient": [float(f"{m:.6g}") for m in weights],
                             "zero_share": [round(z, 6) for z in zeros],
                             "note": "float64, an illustration"},
            "figure": plot_path})
        return
    text = str(r.derivative)
    if len(text) > 600 and not expression:
        text = f"{text[:600]}... ({len(text)} characters; --expression or --json prints it all)"
    click.echo(f"y = s(w_{depth} s(... s(w_1 x))), s = {activation}")
    click.echo(f"dy/dw_1 = {text}")
    click.echo(table([
        ("chain rule", "dy/dw_1 = x prod s'(u_i) prod_{i>=2} w_i  (verified by sympy: "
                       f"{'yes' if r.chain_rule else 'NO'})"),
        ("sup |s'|", f"{format_exact(r.sup_derivative)}  ({r.bound_identity}; "
                     f"{'verified' if r.bound_identity_holds else 'NOT verified'})"),
        ("bound", f"|dy/dw_1| <= {format_exact(r.factor)} |x| when |w_i| <= 1"),
        ("samples", f"{sum(s.holds for s in r.samples)} of {len(r.samples)} within the bound"
                    + ("" if worst is None else
                       f", largest |dy/dw_1| / bound <= {_up(worst)}")),
        ("holds", "yes" if r.holds else "NO"),
    ]))
    click.echo(f"\nillustration (float64): {depth} layers of {width}, {init} init, {seeds} seeds")
    click.echo(f"{'layer':>7} {'mean |dL/dz|':>13} {'mean |dL/dW|':>13} {'zero dL/dz':>11}")
    for layer, (b, w, z) in enumerate(zip(backprop, weights, zeros), 1):
        click.echo(f"{layer:>7} {b:>13.3e} {w:>13.3e} {z:>11.1%}")
    if plot_path:
        click.echo(f"figure: {plot_path}")
