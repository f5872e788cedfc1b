"""Commands for two inputs: regions (the exact planar partition), plot2d, moons."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import click

from pwl.errors import PWLValueError
from pwl.values.numbers import format_exact

from .main import cli, emit_json, json_option, load_network, table
from .types import NETWORK, RATIONAL


def _points(texts: tuple[str, str, str]) -> list[list[Any]]:
    from .main import read_point      # defined after the commands are registered

    out = []
    for name, text in zip(("P0", "P1", "P2"), texts):
        try:
            out.append(read_point(text, name))
        except PWLValueError as exc:     # read_point names the option it was written for
            raise PWLValueError(str(exc).replace("--line", "--plane", 1)) from None
    return out


def _polygon(text: Optional[str]) -> Optional[list[Any]]:
    if text is None:
        return None
    import json

    try:
        value = json.loads(text, parse_float=str, parse_constant=str)
    except (ValueError, RecursionError):
        raise PWLValueError(f"--polygon: {text[:40]!r} is not a JSON list of points "
                            "(e.g. '[[0, 0], [1, 0], [0, 1]]')") from None
    if not isinstance(value, list):
        raise PWLValueError("--polygon: expected a JSON list of points [x, y]")
    return value


def _domain_options(f: Any) -> Any:
    f = click.option("--polygon", type=str, default=None, metavar="JSON",
                     help="A convex polygon instead of a box: '[[x, y], ...]' in order "
                          "(with --plane: in (s, t)).")(f)
    f = click.option("--plane", nargs=3, type=str, default=None, metavar="P0 P1 P2",
                     help="For a network with many inputs: the plane "
                          "P0 + s (P1 - P0) + t (P2 - P0), points as JSON lists or .npy "
                          "files; (s, t) on the unit square unless --box or --polygon.")(f)
    f = click.option("--box", nargs=4, type=RATIONAL, default=None,
                     metavar="X0 X1 Y0 Y1", help="The rectangle [X0, X1] x [Y0, Y1].")(f)
    return f


def _partition(network: str, box: Optional[tuple[Fraction, ...]], plane: Optional[tuple[str, str, str]],
               polygon: Optional[str], progress: bool = False) -> tuple[Any, Any, str]:
    from pwl.plane import partition2d

    net = load_network(network)
    if box is None and plane is None and polygon is None:
        raise click.UsageError("give the domain: --box X0 X1 Y0 Y1, --polygon or --plane P0 P1 P2")
    if box is not None and polygon is not None:
        raise click.UsageError("--box and --polygon both give the domain; choose one")
    pts = _points(plane) if plane is not None else None
    poly = _polygon(polygon)
    report = None
    if progress:
        from .main import progress_reporter

        report = progress_reporter(None)
    part = partition2d(net, box=box, plane=pts, polygon=poly,
                       progress=None if report is None else (lambda k, n: report(k, n)))
    if box is not None:
        shape = (f"box [{format_exact(box[0])}, {format_exact(box[1])}] x "
                 f"[{format_exact(box[2])}, {format_exact(box[3])}]")
    else:
        shape = "polygon " + ", ".join(f"({format_exact(x)}, {format_exact(y)})"
                                       for x, y in part.polygon.vertices)
    where = shape if plane is None else \
        f"plane {plane[0]} {plane[1]} {plane[2]}, (s, t) in {shape}"
    if plane is not None and box is None and poly is None:
        where = f"plane {plane[0]} {plane[1]} {plane[2]}, (s, t) in [0, 1] x [0, 1]"

    return part, net, where


def _output_choice(output: str, outputs: int) -> Optional[int]:
    if output == "all":
        return None
    try:
        k = int(output)
    except ValueError:
        raise click.BadParameter(f"{output!r} is neither an output number nor 'all'",
                                 param_hint="'--output'") from None
    if not 0 <= k < outputs:
        raise click.BadParameter(f"{k}: the network has {outputs} output(s), numbered from 0",
                                 param_hint="'--output'")
    return k


@cli.command()
@click.argument("network", type=NETWORK)
@_domain_options
@json_option
@click.option("--per-layer", is_flag=True, help="Regions after each layer.")
@click.option("--output", type=str, default="0", show_default=True,
              help="Which output's pieces to count, numbered from 0, or 'all' (each output "
                   "and all jointly).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Also draw the regions to FILE (.png, .svg or .pdf; "
                                   "extra 'plot').")
@click.option("--color", type=click.Choice(("pattern", "piece", "class")), default="pattern",
              show_default=True, help="Fill regions by activation pattern, linear piece or class.")
@click.option("--regions-json", "regions_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Write every region's exact polygon, pattern and forms "
                                   "(JSON, or CSV if FILE ends in .csv).")
def regions(network: str, box: Optional[tuple[Fraction, ...]],
            plane: Optional[tuple[str, str, str]], polygon: Optional[str], as_json: bool,
            per_layer: bool, output: str, plot_path: Optional[str], color: str,
            regions_file: Optional[str]) -> None:
    """The exact linear regions of NETWORK on a polygon of the input plane.

    A network with 2 inputs on --box or --polygon, or any network on the
    plane through three input points (--plane).  Prints the activation
    regions (convex polygons with exact rational vertices), the linear
    pieces of the output (connected unions of adjacent regions with the
    same affine form), the vertices and edges of the planar subdivision
    (V - E + F = 1), regions after each layer, and the bounds on regions
    for two inputs (Serra et al. 2018 above, Montufar et al. 2014's lower
    bound on the maximum).

    Example: pwl regions net.json --box -1 1 -1 1 --plot regions.png
    """
    from pwl.plane.bounds import region_bounds

    if plot_path is not None:
        from pwl.plane.draw import figure_format

        figure_format(plot_path)
    part, net, where = _partition(network, box, plane, polygon, progress=not as_json)
    flat = part
    k = _output_choice(output, part.outputs)
    upper, lower = region_bounds(net, 2)      # widths and activations: the plane keeps them
    V, E, F = flat.num_vertices, flat.num_edges, flat.num_regions
    if k is None:
        pieces: Any = {"outputs": [flat.pieces(i) for i in range(flat.outputs)],
                       "joint": flat.pieces(None)}
    else:
        pieces = flat.pieces(k)
    if plot_path is not None:
        from pwl.plane.draw import plot_partition

        plot_partition(flat, plot_path, color=color, output=0 if k is None else k,
                       title=f"{network}")
    if regions_file is not None:
        from pwl.io.files import write_text_atomic

        text = flat.to_csv(k) if regions_file.lower().endswith(".csv") else flat.to_json(k)
        write_text_atomic(regions_file, text)
    if as_json:
        payload: dict[str, Any] = {
            "network": network, "domain": where,
            "polygon": [[format_exact(x), format_exact(y)] for x, y in flat.polygon.vertices],
            "widths": list(net.widths), "regions": F, "pieces": pieces,
            "vertices": V, "edges": E, "euler": V - E + F,
            "bound_serra": upper, "lower_bound_montufar": lower,
            "decisions": flat.decisions,
            "layers": [{"layer": i + 1, "width": layer.n_out, "regions": n}
                       for i, (layer, n) in enumerate(zip(net.layers, flat.layer_regions))]
            if per_layer else None,
            "figure": plot_path, "regions_file": regions_file}
        emit_json(payload)
        return
    rows: list[tuple[str, Any]] = [("network", network), ("domain", where),
                                   ("widths", ", ".join(map(str, net.widths)) or "-"),
                                   ("regions", F)]
    if k is None:
        rows += [(f"pieces of output {i}", n) for i, n in enumerate(pieces["outputs"])]
        rows.append(("joint pieces", pieces["joint"]))
    else:
        rows.append((f"pieces of output {k}", pieces))
    rows += [("vertices", V), ("edges", E), ("V - E + F", V - E + F),
             ("bound (Serra et al. 2018)", "n/a" if upper is None else f"{upper:,}"),
             ("max >= (Montufar et al. 2014)", "n/a" if lower is None else f"{lower:,}"),
             ("decisions", f"{flat.decisions['float64']:,} float64, "
                           f"{flat.decisions['exact']:,} exact")]
    if plot_path is not None:
        rows.append(("figure", plot_path))
    click.echo(table(rows))
    if per_layer:
        click.echo("\nlayer  width  regions")
        for i, (layer, n) in enumerate(zip(net.layers, flat.layer_regions)):
            click.echo(f"{i + 1:>5}  {layer.n_out:>5}  {n:>7}")


@cli.command()
@click.argument("network", type=NETWORK)
@click.option("-o", "--out", "path", type=click.Path(dir_okay=False), required=True,
              metavar="FILE", help="The figure to write (.png, .svg or .pdf).")
@_domain_options
@click.option("--color", type=click.Choice(("pattern", "piece", "class")), default="pattern",
              show_default=True, help="Fill regions by activation pattern, linear piece or class.")
@click.option("--output", type=click.IntRange(min=0), default=0, show_default=True,
              help="The output whose pieces colour the regions (--color piece).")
@click.option("--points", "points_file", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="FILE",
              help="Training points to draw: a .npy (n x 2) or .npz with arrays 'x' and 'y'.")
@click.option("--title", type=str, default=None, help="A title above the counts.")
def plot2d(network: str, path: str, box: Optional[tuple[Fraction, ...]],
           plane: Optional[tuple[str, str, str]], polygon: Optional[str], color: str,
           output: int, points_file: Optional[str], title: Optional[str]) -> None:
    """Draw the linear regions of NETWORK on a polygon: regions, edges and the
    decision boundary (output 0 = 0, or the argmax of several outputs).

    Example: pwl plot2d net.json --box -1 1 -1 1 --color piece -o regions.png
    """
    from pwl.plane.draw import figure_format, plot_partition

    figure_format(path)
    part, _, _ = _partition(network, box, plane, polygon)
    pts = labels = None
    if points_file is not None:
        import numpy as np

        try:
            if points_file.endswith(".npz"):
                with np.load(points_file, allow_pickle=False) as data:
                    pts, labels = data["x"], data["y"] if "y" in data else None
            else:
                pts = np.load(points_file, allow_pickle=False)
        except (OSError, ValueError, KeyError) as exc:
            raise PWLValueError(f"--points: cannot read {points_file}: {exc}") from None
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise PWLValueError(f"--points: expected an n x 2 array, got shape {pts.shape}")
    plot_partition(part, path, color=color, output=output, title=title or network,
                   points=pts, labels=labels)
    click.echo(table([("network", network), ("regions", part.num_regions),
                      (f"pieces of output {output}", part.pieces(output)), ("figure", path)]))


@cli.command()
@click.option("-o", "--out", "path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="The side-by-side figure (.png, .svg or .pdf).")
@click.option("--points", "n", type=click.IntRange(min=4, max=100000), default=200,
              show_default=True, help="Training points (half on each moon).")
@click.option("--noise", type=click.FloatRange(min=0.0, max=2.0), default=0.2,
              show_default=True, help="Standard deviation of the Gaussian noise on the moons.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds the data, the initialisation and so the training.")
@click.option("--epochs", type=click.IntRange(min=1, max=10**6), default=3000,
              show_default=True, help="Full-batch Adam steps.")
@json_option
def moons(path: Optional[str], n: int, noise: float, seed: int, epochs: int,
          as_json: bool) -> None:
    """Lecture 001's "Deeper is better?": a 2-20-1 and a 2-10-10-1 network
    trained on two moons, their exact linear regions side by side.

    Both networks are trained in numpy (seeded); their float64 weights are
    then analysed exactly: regions and pieces on the box [-3/2, 5/2] x
    [-1, 3/2], and the training points each misclassifies (exact sign of
    the output at each point).

    Example: pwl moons -o moons.png
    """
    from pwl.plane.moons import BOX, moons as run_moons, plot_moons

    if path is not None:
        from pwl.plane.draw import figure_format

        figure_format(path)
    x, y, models = run_moons(n, noise, seed, epochs)
    if path is not None:
        plot_moons(x, y, models, path)
    box = [format_exact(v) for v in BOX]
    if as_json:
        emit_json({"points": n, "noise": noise, "seed": seed, "epochs": epochs, "box": box,
                   "figure": path,
                   "models": [{"network": m.name, "parameters": m.parameters,
                               "regions": m.regions, "pieces": m.pieces,
                               "misclassified": int(m.wrong.sum())} for m in models]})
        return
    click.echo(f"two moons: {n} points, noise {noise}, seed {seed}; regions on "
               f"[{box[0]}, {box[1]}] x [{box[2]}, {box[3]}]")
    click.echo(f"{'network':<10} {'params':>6} {'regions':>8} {'pieces':>7} {'misclassified':>13}")
    for m in models:
        click.echo(f"{m.name:<10} {m.parameters:>6} {m.regions:>8} {m.pieces:>7} "
                   f"{int(m.wrong.sum()):>13}")
    if path is not None:
        click.echo(f"figure: {path}")
