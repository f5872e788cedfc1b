"""Figures (matplotlib, the optional extra ``plot``).

Every function draws one figure, writes it to ``path`` (PNG or SVG, chosen
by the suffix) atomically, and returns the :class:`matplotlib.figure.Figure`
so that callers and tests can read what was drawn.  matplotlib is imported
inside the functions, never when pwl is imported, and only through its
object-oriented API on an Agg canvas: no pyplot, no global backend.

Exact values become floats only to be drawn; every number written in a
title or label is exact (an integer, a rational, or a decimal bound rounded
outward).  Artists carry a ``gid`` (``"function"``, ``"breakpoints"``,
``"pieces"``, ...), which SVG output keeps as the ``id`` of their group.
"""

from __future__ import annotations

import io
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import numpy as np

from ..engine.propagate import function_of, propagate
from ..values.domain import DomainLike, as_domain
from ..errors import MissingExtraError, PWLTypeError, PWLValueError
from ..values.function import PiecewiseLinear
from ..values.network import Layer, Network
from ..values.numbers import format_decimal, format_exact

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..lectures.approx import BarronRow, BudgetRow, SineRow
    from ..lectures.gradients import LayerGradients
    from ..theory.growth import GrowthRow
    from ..lectures.interpolation import InterpolationReport
    from ..theory.separation import SeparationReport

__all__ = [
    "FORMATS",
    "figure_format",
    "save_figure",
    "plot_function",
    "plot_relu",
    "plot_layers",
    "plot_growth",
    "plot_separation",
    "plot_sine",
    "plot_barron",
    "plot_budget",
    "plot_interpolation",
    "plot_gradients",
]

FORMATS = ("png", "svg", "pdf")

#: A function with more vertices than this is drawn as its envelope: the
#: least and largest value in each of :data:`COLUMNS` columns (the count and
#: the title stay exact; the figure says so).
DRAW_VERTICES = 20_000
COLUMNS = 1200
#: Breakpoints are marked when there are at most this many.
MARK_BREAKPOINTS = 2_000
#: Pieces the zoom panel of a dense function shows.
ZOOM_PIECES = 32
#: Exact numbers longer than this are shown as decimals in titles.
EXACT_TEXT = 12

#: Neurons drawn per layer by :func:`plot_layers`; wider layers show the first ones.
MAX_NEURONS = 8

_KAPPA = "\u03ba"


# -- files and figures --------------------------------------------------------------
def figure_format(path: str | os.PathLike[str]) -> str:
    """``"png"``, ``"svg"`` or ``"pdf"`` from the suffix of ``path``
    (``"-"``, standard output, is a PNG); anything else is refused.

    >>> figure_format("f.SVG"), figure_format("f.pdf")
    ('svg', 'pdf')
    >>> figure_format("f.jpg")
    Traceback (most recent call last):
    ...
    pwl.errors.PWLValueError: f.jpg: unsupported figure format '.jpg' (use .png, .svg or .pdf)
    """
    if not str(path):
        raise PWLValueError("the figure path is empty")
    if str(path) == "-":
        return "png"            # standard output: a PNG, as nothing names another format
    suffix = Path(path).suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise PWLValueError(f"{path}: unsupported figure format {suffix or '(none)'!r} "
                            "(use .png, .svg or .pdf)")
    folder = Path(path).parent
    if not folder.is_dir():
        raise PWLValueError(f"{path}: the folder {str(folder)!r} does not exist")
    if Path(path).is_dir():
        raise PWLValueError(f"{path}: is a folder")
    return suffix[1:]


def _new_figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (7.0, 4.2),
                **subplot_kw: Any) -> tuple["Figure", Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("figures", "matplotlib", "plot") from None
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, **subplot_kw)
    return fig, axes


def _one_panel(path: str | os.PathLike[str], items: Sequence[Any], empty: str
               ) -> tuple["Figure", "Axes"]:
    """A one-panel figure for ``path``; ``empty`` is the error for no ``items``."""
    if not items:
        raise PWLValueError(empty)
    figure_format(path)
    fig, axes = _new_figure()
    return fig, axes[0][0]


def _finish(fig: "Figure", ax: "Axes", path: str | os.PathLike[str]) -> "Figure":
    """Legend and grid on ``ax``, then ``fig`` written to ``path``."""
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    return fig


def save_figure(fig: "Figure", path: str | os.PathLike[str]) -> None:
    """Render to memory, then write atomically (temporary file, rename)."""
    import matplotlib

    from ..io.files import write_bytes_atomic

    fmt = figure_format(path)
    buf = io.BytesIO()
    # fixed ids and no date: the same figure gives the same SVG bytes
    with matplotlib.rc_context({"svg.hashsalt": "pwl", "svg.fonttype": "path"}):
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "Producer": None}
                    }.get(fmt, {"Software": None})
        fig.savefig(buf, format=fmt, dpi=120, metadata=metadata)
    try:
        write_bytes_atomic(path, buf.getvalue())
    except OSError as exc:
        raise PWLValueError(f"{path}: cannot write the figure: {exc.strerror or exc}") from None


def _floats(values: Iterable[Fraction]) -> list[float]:
    return [float(v) for v in values]


def _window(functions: Sequence[PiecewiseLinear], domain: DomainLike = None
            ) -> tuple[Fraction, Fraction]:
    """The interval to draw: ``domain``, the functions' common domain, or on
    the whole line one that shows every breakpoint with a margin."""
    dom = as_domain(domain)
    if dom is not None:
        return dom
    bounded = [f.domain for f in functions if f.domain is not None]
    if bounded:
        return max(d[0] for d in bounded), min(d[1] for d in bounded)
    kinks = [b for f in functions for b in f.breakpoints]
    if not kinks:
        return Fraction(-1), Fraction(1)
    lo, hi = min(kinks), max(kinks)
    pad = (hi - lo) / 4 if hi > lo else Fraction(1)
    return lo - pad, hi + pad


def _on(f: PiecewiseLinear, window: tuple[Fraction, Fraction]) -> PiecewiseLinear:
    if f.domain == window:
        return f
    return f.restrict(*window)


def _vertices(f: PiecewiseLinear) -> tuple[np.ndarray, np.ndarray]:
    """The domain ends and breakpoints of ``f`` and its values there, as
    floats for drawing (each vertex is exact; only its drawing rounds)."""
    assert f.domain is not None
    lo, hi = f.domain
    xs = np.array([float(lo), *map(float, f.breakpoints), float(hi)])
    slopes = np.array([float(s) for s in f.slopes])
    icpts = np.array([float(c) for c in f.intercepts])
    # vertex k > 0 ends piece k - 1; the first is the start of piece 0
    piece = np.concatenate([[0], np.arange(len(xs) - 1)])
    return xs, slopes[piece] * xs + icpts[piece]


def _draw(ax: "Axes", f: PiecewiseLinear, breakpoints: bool = True, gid: str = "function",
          **style: Any) -> Optional[str]:
    """The polyline through the domain ends and breakpoints (exact vertices);
    past :data:`DRAW_VERTICES` vertices its envelope, column by column.
    Returns a note for the figure when the drawing is thinned, else None."""
    xs, ys = _vertices(f)
    notes = []
    if len(xs) <= DRAW_VERTICES:
        ax.plot(xs, ys, gid=gid, **style)
    else:
        edges = np.linspace(xs[0], xs[-1], COLUMNS + 1)
        column = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, COLUMNS - 1)
        starts = np.concatenate([[0], np.nonzero(np.diff(column))[0] + 1])
        low = np.minimum.reduceat(ys, starts)
        high = np.maximum.reduceat(ys, starts)
        centre = (edges[column[starts]] + edges[column[starts] + 1]) / 2
        color = style.get("color", "C0")
        ax.fill_between(centre, low, high, step="mid", color=color, alpha=0.55, linewidth=0,
                        gid=gid)
        notes.append(f"drawn as its envelope over {COLUMNS} columns ({len(xs):,} vertices)")
    if breakpoints and f.breakpoints:
        if len(f.breakpoints) <= MARK_BREAKPOINTS:
            ax.plot(xs[1:-1], ys[1:-1], linestyle="none", marker="o", markersize=3.5,
                    color="C3", gid="breakpoints")
        else:
            notes.append("breakpoints not marked")
    return "; ".join(notes) or None


def _as_function(f: object, where: str) -> PiecewiseLinear:
    if not isinstance(f, PiecewiseLinear):
        raise PWLTypeError(f"{where}: expected a PiecewiseLinear, got {f!r:.60}")
    return f


def _number_text(value: Fraction) -> str:
    """An exact number for a title: exact when short, else a decimal."""
    text = format_exact(value)
    return text if len(text) <= EXACT_TEXT else f"~{format_decimal(value, 6)}"


def _domain_text(window: tuple[Fraction, Fraction]) -> str:
    """``[0, 1/3]``, or decimals for long rationals.

    >>> _domain_text((Fraction(0), Fraction(1, 3)))
    '[0, 1/3]'
    >>> _domain_text((Fraction(0), Fraction(314159265358, 100000000000)))
    '[0, ~3.14159]'
    """
    return f"[{_number_text(window[0])}, {_number_text(window[1])}]"


# -- functions and networks -----------------------------------------------------------
def plot_function(f: PiecewiseLinear, path: str | os.PathLike[str], title: Optional[str] = None,
                  breakpoints: bool = True, domain: DomainLike = None) -> "Figure":
    """``f`` with its breakpoints marked and ``kappa(f)`` in the title.

    On the whole line the window shows every breakpoint (``domain`` chooses
    another).  kappa is that of ``f`` on its own domain.

    >>> import tempfile, os
    >>> from pwl.theory.constructions import telgarsky
    >>> f = function_of(telgarsky(3), (0, 1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_function(f, os.path.join(d, "tri3.svg"))
    >>> fig.axes[0].get_title()
    'κ(f) = 8 pieces on [0, 1]'
    """
    f = _as_function(f, "plot_function")
    figure_format(path)
    window = _window([f], domain)
    shown = _on(f, window)
    dense = shown.num_pieces + 1 > DRAW_VERTICES
    fig, axes = _new_figure(1, 2 if dense else 1, size=(11.0, 4.2) if dense else (7.0, 4.2))
    ax = axes[0][0]
    note = _draw(ax, shown, breakpoints, color="C0", linewidth=1.4)
    where = "the whole line" if f.domain is None else _domain_text(f.domain)
    info = f"{_KAPPA}(f) = {f.num_pieces:,} piece{'s' if f.num_pieces != 1 else ''} on {where}"
    ax.set_title(info if title is None else f"{title}\n{info}")
    ax.set_xlabel("x")
    ax.grid(alpha=0.3)
    if note is not None:
        ax.text(0.5, -0.2, f"{note}; the count is exact", transform=ax.transAxes,
                ha="center", va="top", fontsize=7, color="0.35")
    if dense:
        # the first pieces at full resolution, where they can be seen
        assert shown.domain is not None
        end = shown.breakpoints[ZOOM_PIECES - 1]
        zoom = shown.restrict(shown.domain[0], end)
        _draw(axes[0][1], zoom, breakpoints, color="C0", linewidth=1.2, gid="zoom")
        axes[0][1].set_title(f"zoom: the first {ZOOM_PIECES} pieces, on {_domain_text(zoom.domain)}"
                             if zoom.domain is not None else "zoom", fontsize=9)
        axes[0][1].set_xlabel("x")
        axes[0][1].grid(alpha=0.3)
    save_figure(fig, path)
    return fig


def plot_relu(f: PiecewiseLinear, path: str | os.PathLike[str], domain: DomainLike = None
              ) -> "Figure":
    """``f`` and ``relu(f)`` side by side, each with its kappa (lecture 001's
    illustration of ``kappa(relu(f)) <= 2 kappa(f)``).

    >>> import tempfile, os
    >>> f = PiecewiseLinear.from_points([0, 1, 2, 3], [1, -1, 1, -1])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_relu(f, os.path.join(d, "relu.png"))
    >>> [ax.get_title() for ax in fig.axes]
    ['κ(f) = 3', 'κ(relu(f)) = 5']
    """
    f = _as_function(f, "plot_relu")
    figure_format(path)
    g = f.relu()
    window = _window([f, g], domain)
    fig, axes = _new_figure(1, 2, size=(10.0, 3.8), sharey=True)
    for ax, h, name in ((axes[0][0], f, "f"), (axes[0][1], g, "relu(f)")):
        _draw(ax, _on(h, window), color="C0" if h is f else "C2", linewidth=1.4)
        ax.axhline(0.0, color="0.5", linewidth=0.6)
        ax.set_title(f"{_KAPPA}({name}) = {h.num_pieces}")
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    save_figure(fig, path)
    return fig


def neuron_functions(net: Network, domain: DomainLike = None
                     ) -> list[list[tuple[PiecewiseLinear, PiecewiseLinear]]]:
    """For each layer (the output layer last), each neuron's pre-activation and
    activation as exact functions, computed by the engine on truncated networks.

    >>> from pwl.theory.constructions import telgarsky
    >>> layers = neuron_functions(telgarsky(2), (0, 1))
    >>> [[(z.num_pieces, h.num_pieces) for z, h in layer] for layer in layers]
    [[(1, 1), (1, 2)], [(2, 2), (2, 4)], [(4, 4)]]
    """
    from ..values.activations import get_activation

    dom = as_domain(domain)
    identity = get_activation("identity")
    out = []
    for k, layer in enumerate(net.layers):
        pre = Network.sequential(list(net.layers[:k]) + [
            Layer(layer.weights, layer.bias, identity)])
        part = propagate(pre, dom)
        row = []
        for i in range(layer.n_out):
            z = part.function(i)
            row.append((z, z.apply(layer.activation)))
        out.append(row)
    return out


def plot_layers(net: Network, path: str | os.PathLike[str], domain: DomainLike = None
                ) -> "Figure":
    """Each neuron's pre-activation ``z`` (dashed) and activation ``act(z)``
    (solid), layer by layer, with ``kappa`` of both in each panel's title.

    One row per layer (the output layer last), at most :data:`MAX_NEURONS`
    panels per row.

    >>> import tempfile, os
    >>> from pwl.theory.constructions import telgarsky
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_layers(telgarsky(2), os.path.join(d, "layers.png"), (0, 1))
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()][2:4]
    ['layer 2, unit 1\\nκ(z) = 2, κ(relu) = 2', 'layer 2, unit 2\\nκ(z) = 2, κ(relu) = 4']
    """
    if not isinstance(net, Network):
        raise PWLTypeError(f"plot_layers: expected a Network, got {net!r:.60}")
    figure_format(path)
    layers = neuron_functions(net, domain)
    window = _window([f for row in layers for pair in row for f in pair], domain)
    cols = min(MAX_NEURONS, max(len(row) for row in layers))
    fig, axes = _new_figure(len(layers), cols, size=(2.6 * cols + 1.0, 2.2 * len(layers) + 0.6))
    for r, (row, layer) in enumerate(zip(layers, net.layers)):
        name = layer.activation.name
        kind = "output" if r == len(layers) - 1 else f"layer {r + 1}"
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(row):
                ax.set_visible(False)
                continue
            z, h = row[c]
            if layer.activation.is_identity:
                _draw(ax, _on(h, window), color="C0", linewidth=1.2, gid=f"h-{r + 1}-{c + 1}")
                ax.set_title(f"{kind}, unit {c + 1}\n{_KAPPA} = {h.num_pieces}", fontsize=8)
            else:
                _draw(ax, _on(z, window), False, color="0.55", linestyle="--", linewidth=1.0,
                      gid=f"z-{r + 1}-{c + 1}")
                _draw(ax, _on(h, window), color="C0", linewidth=1.3, gid=f"h-{r + 1}-{c + 1}")
                ax.set_title(f"{kind}, unit {c + 1}\n{_KAPPA}(z) = {z.num_pieces}, "
                             f"{_KAPPA}({name}) = {h.num_pieces}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    hidden = len(layers) - 1
    widest = max(len(row) for row in layers)
    note = f" (first {cols} of {widest} units per layer)" if widest > cols else ""
    fig.suptitle(f"{hidden} hidden layer{'s' if hidden != 1 else ''} on "
                 f"{_domain_text(window)}: dashed z, solid act(z){note}", fontsize=10)
    save_figure(fig, path)
    return fig


# -- the lectures' tables as figures ----------------------------------------------------
def _log2(n: int) -> float:
    return math.log2(n) if n > 0 else float("nan")


def plot_growth(rows: Sequence["GrowthRow"], path: str | os.PathLike[str],
                title: Optional[str] = None) -> "Figure":
    """log2 of the pieces against depth, with the bounds ``2^D prod n_d`` and
    ``prod(n_d + 1)``.

    >>> import tempfile, os
    >>> from pwl.theory.growth import growth
    >>> rows = list(growth("triangle", 6, 2, (0, 1)))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_growth(rows, os.path.join(d, "growth.png"))
    >>> [line.get_gid() for line in fig.axes[0].get_lines()]
    ['pieces', 'bound_lecture', 'bound_one_input']
    """
    rows = list(rows)
    fig, ax = _one_panel(path, rows, "plot_growth: no rows")
    depths = [r.depth for r in rows]
    ax.plot(depths, [_log2(r.pieces) for r in rows], marker="o", gid="pieces",
            label="pieces (exact count)")
    ax.plot(depths, [_log2(r.bound_lecture) for r in rows], linestyle="--", gid="bound_lecture",
            label="2^D prod n_d (lecture)")
    ax.plot(depths, [_log2(r.bound_one_input) for r in rows], linestyle=":",
            gid="bound_one_input", label="prod(n_d + 1) (one input)")
    ax.set_xlabel("depth D (hidden layers)")
    ax.set_ylabel("log2")
    widths = sorted({r.width for r in rows})
    last = rows[-1]
    info = (f"width {', '.join(map(str, widths))}; depth {last.depth}: "
            f"{last.pieces} pieces")
    ax.set_title(info if title is None else f"{title}\n{info}")
    return _finish(fig, ax, path)


def plot_separation(reports: Sequence["SeparationReport"], path: str | os.PathLike[str],
                    title: Optional[str] = None) -> "Figure":
    """The exact L1 distance from ``16 tri^D`` against the competitor's width,
    with the lower bounds of lecture 001.

    >>> import tempfile, os
    >>> from pwl.theory.separation import separation
    >>> reports = [separation(5, n) for n in (1, 2, 4, 8)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_separation(reports, os.path.join(d, "sep.svg"))
    >>> fig.axes[0].get_title()
    'f = 16 tri^5 on [0, 1], competitor interp, 1 hidden layer(s)'
    """
    reports = sorted(reports, key=lambda r: r.width)
    if len(reports) == 1:
        return _plot_one_competitor(reports[0], path, title)
    fig, ax = _one_panel(path, reports, "plot_separation: no reports")
    widths = [r.width for r in reports]
    ax.plot(widths, _floats(r.l1 for r in reports), marker="o", gid="l1",
            label="int |f - g| (exact)")
    for attr, style, label in (
            ("bound_sharp", "--", "2 (1 - kappa(g)/2^D)"),
            ("bound_lecture", "-.", "1 - kappa(g)/2^D (lecture)"),
            ("bound_arch_lecture", ":", "1 - 2^k prod n / 2^D"),
            ("bound_arch_one_input", (0, (1, 3)), "1 - prod(n+1) / 2^D")):
        ax.plot(widths, _floats(getattr(r, attr) for r in reports), linestyle=style, gid=attr,
                label=label)
    ax.axhline(0.0, color="0.5", linewidth=0.6)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width n of g")
    ax.set_ylabel("L1 distance")
    depths = sorted({r.depth for r in reports})
    layers = sorted({r.layers for r in reports})
    names = sorted({r.competitor for r in reports})
    info = (f"f = 16 tri^{', '.join(map(str, depths))} on [0, 1], competitor "
            f"{', '.join(names)}, {', '.join(map(str, layers))} hidden layer(s)")
    ax.set_title(info if title is None else f"{title}\n{info}")
    return _finish(fig, ax, path)


_BOUND_LABELS = (("bound_sharp", "2 (1 - {k}(g)/2^D)"),
                 ("bound_lecture", "1 - {k}(g)/2^D  (lecture)"),
                 ("bound_arch_lecture", "1 - 2^k prod n / 2^D"),
                 ("bound_arch_one_input", "1 - prod(n + 1) / 2^D"))


def _plot_one_competitor(r: "SeparationReport", path: str | os.PathLike[str],
                         title: Optional[str]) -> "Figure":
    """f = 16 tri^D and one competitor g on [0, 1], the gap between them
    shaded, the exact distance and every lower bound written out (a bound
    below 0 as vacuous)."""
    from ..theory.constructions import telgarsky

    unit = (Fraction(0), Fraction(1))
    f = function_of(telgarsky(r.depth, 16), unit)
    g = function_of(r.network, unit)
    figure_format(path)
    fig, axes = _new_figure(size=(10.0, 4.2))
    ax = axes[0][0]
    notes = [n for n in (_draw(ax, f, False, color="C0", linewidth=1.0, gid="f", label="f"),
                         _draw(ax, g, False, color="C1", linewidth=1.4, gid="g", label="g"))
             if n is not None]
    xs = np.union1d(_vertices(f)[0], _vertices(g)[0])
    if len(xs) <= DRAW_VERTICES:
        inside = np.clip(xs, 0.0, 1.0)
        ax.fill_between(inside, f._float_values(inside, check=False),
                        g._float_values(inside, check=False), color="C3", alpha=0.2,
                        linewidth=0, gid="gap", label="f - g")
    exact_l1 = len(format_exact(r.l1)) <= EXACT_TEXT and r.l1.denominator != 1
    lines = [f"int |f - g| = {_number_text(r.l1)}"
             + (f"  (~{format_decimal(r.l1, 6)})" if exact_l1 else ""), "lower bounds:"]
    for attr, label in _BOUND_LABELS:
        value = getattr(r, attr)
        shown = "vacuous (below 0)" if value < 0 else _number_text(value)
        lines.append(f"{label.format(k=_KAPPA)} = {shown}")
    ax.text(1.02, 1.0, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
            fontsize=7.5, family="monospace", gid="bounds",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"})
    ax.set_xlabel("x")
    info = (f"f = 16 tri^{r.depth} ({f.num_pieces:,} pieces) and g: {r.competitor}, "
            f"{r.layers} hidden layer(s) of {r.width}, {_KAPPA}(g) = {r.kappa_g:,}")
    ax.set_title(info if title is None else f"{title}\n{info}", fontsize=9)
    if notes:
        ax.text(0.5, -0.16, "; ".join(notes), transform=ax.transAxes, ha="center", va="top",
                fontsize=7, color="0.35")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    return fig


def plot_sine(rows: Sequence["SineRow"], path: str | os.PathLike[str]) -> "Figure":
    """The slides' sine approximations, one panel each, with pieces and the
    rigorous L1 enclosure in the titles."""
    import numpy as np

    rows = list(rows)
    if not rows:
        raise PWLValueError("plot_sine: no rows")
    figure_format(path)
    cols = min(2, len(rows))
    nrows = -(-len(rows) // cols)
    fig, axes = _new_figure(nrows, cols, size=(5.2 * cols, 3.4 * nrows))
    for k, row in enumerate(rows):
        ax = axes[k // cols][k % cols]
        f = row.function
        assert f.domain is not None
        z = np.linspace(float(f.domain[0]), float(f.domain[1]), 1001)
        ax.plot(z, np.sin(z), color="0.6", linewidth=1.0, gid="sin", label="sin")
        _draw(ax, f, False, color="C0", linewidth=1.2, gid=f"g-{row.n}", label="network")
        ax.set_title(f"N = {row.n}: {row.rects} rects, {_KAPPA} = {row.pieces}\n"
                     f"L1 error in {row.l1.text(5)}", fontsize=9)
        ax.grid(alpha=0.3)
    for k in range(len(rows), nrows * cols):
        axes[k // cols][k % cols].set_visible(False)
    save_figure(fig, path)
    return fig


def plot_barron(rows: Sequence["BarronRow"], path: str | os.PathLike[str]) -> "Figure":
    """The interpolant's mean squared error against ``q`` (log-log) beside
    Barron's ``C_f^2 / q``."""
    rows = list(rows)
    fig, ax = _one_panel(path, rows, "plot_barron: no rows")
    qs = [r.q for r in rows]
    ax.plot(qs, _floats(r.mise.hi for r in rows), marker="o", gid="mise",
            label="(1/5) int (sin - g)^2 (upper end of the enclosure)")
    ax.plot(qs, _floats(r.barron for r in rows), linestyle="--", gid="barron",
            label="C_f^2 / q, C_f = 1")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("q hidden units")
    ax.set_title("sin on [0, 5], one hidden layer (interpolant at q + 1 knots)")
    return _finish(fig, ax, path)


def plot_budget(rows: Sequence["BudgetRow"], path: str | os.PathLike[str],
                budget: Optional[int] = None) -> "Figure":
    """log2 pieces against depth for networks within one parameter budget."""
    rows = list(rows)
    fig, ax = _one_panel(path, rows, "plot_budget: no rows")
    depths = [r.depth for r in rows]
    ax.plot(depths, [_log2(r.prod_n_plus_1) for r in rows], linewidth=7, alpha=0.25,
            color="C2", gid="prod", label="prod(n_d + 1), the one-input bound")
    ax.plot(depths, [_log2(r.pieces) for r in rows], marker="o", color="C0", gid="zigzag",
            label="zigzag, whole line (counted)")
    ax.plot(depths, [_log2(r.sawtooth_pieces) for r in rows], marker="s", color="C1",
            gid="sawtooth", label="sawtooth n^D on [0, 1] (counted)")
    for r in rows:
        ax.annotate(f"{r.width}", (r.depth, _log2(r.pieces)), textcoords="offset points",
                    xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xlabel("depth D (width written above each point)")
    ax.set_ylabel("log2 pieces")
    limit = budget if budget is not None else max(r.parameters for r in rows)
    ax.set_title(f"at most {limit} parameters: deeper is better")
    return _finish(fig, ax, path)


def plot_interpolation(report: "InterpolationReport", path: str | os.PathLike[str]) -> "Figure":
    """The points and the network through them."""
    figure_format(path)
    xs = report.xs
    lo, hi = xs[0], xs[-1]
    pad = (hi - lo) / 8 if hi > lo else Fraction(1)
    f = function_of(report.network, (lo - pad, hi + pad))
    fig, axes = _new_figure()
    ax = axes[0][0]
    _draw(ax, f, False, color="C0", linewidth=1.3, label="network")
    ax.plot(_floats(xs), _floats(report.ys), linestyle="none", marker="o", color="C3",
            gid="points", label="points")
    ax.set_title(f"{report.points} points, depth {report.depth}, widths "
                 f"{', '.join(map(str, report.widths))}; Zhang's 2N + 1 = "
                 f"{report.zhang_parameters} parameters\nexact at "
                 f"{report.points - len(report.mismatches)} of {report.points} points",
                 fontsize=9)
    return _finish(fig, ax, path)


def plot_gradients(g: "LayerGradients", path: str | os.PathLike[str]) -> "Figure":
    """Histograms of the back-propagated gradients ``log10 |dL/dz_l|`` per
    layer, and the mean magnitudes per layer (float64: an illustration in
    the manner of Glorot and Bengio 2010)."""
    import numpy as np

    figure_format(path)
    fig, axes = _new_figure(1, 2, size=(11.0, 4.0))
    hist, trend = axes[0][0], axes[0][1]
    logs = [np.log10(m[m > 0]) for m in g.backprop]
    present = [v for v in logs if v.size]
    if present:
        values = np.concatenate(present)
        bins = np.linspace(float(values.min()), float(values.max()), 60)
        colors = _colormap(g.depth)
        for layer, v in enumerate(logs):
            hist.hist(v, bins=bins, histtype="step", density=True, color=colors[layer],
                      gid=f"layer-{layer + 1}", label=f"layer {layer + 1}")
    hist.set_xlabel("log10 |dL/dz| (back-propagated, nonzero ones)")
    hist.set_ylabel("density")
    hist.legend(fontsize=7, ncol=2)
    layers = range(1, g.depth + 1)
    trend.plot(layers, g.mean_backprop(), marker="o", gid="mean-backprop", label="mean |dL/dz|")
    trend.plot(layers, g.mean_weights(), marker="s", gid="mean-weights", label="mean |dL/dW|")
    trend.set_yscale("log")
    trend.set_xlabel("layer (1 = next to the input)")
    trend.legend(fontsize=8)
    for ax in (hist, trend):
        ax.grid(alpha=0.3)
    fig.suptitle(f"{g.activation}: {g.depth} layers of {g.width}, {g.init} init, "
                 f"{g.seeds} seeds (float64 illustration)", fontsize=10)
    save_figure(fig, path)
    return fig


def _colormap(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(k / max(1, n - 1)) for k in range(n)]
