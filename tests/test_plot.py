"""Figures: the files are written (atomically, PNG or SVG by suffix) and hold
what they should: breakpoint markers counted in the SVG, curves read back
from the returned Figure and compared with the exact functions, titles
with the exact kappa the engine counts."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib")

from pwl import function_of, propagate
import pwl  # noqa: E402
from pwl.present import plot  # noqa: E402
from pwl.theory.constructions import telgarsky  # noqa: E402
from pwl.errors import PWLTypeError, PWLValueError  # noqa: E402
from pwl.values.function import PiecewiseLinear  # noqa: E402
from pwl.theory.growth import growth  # noqa: E402
from pwl.lectures.interpolation import zhang  # noqa: E402
from pwl.theory.separation import separation  # noqa: E402
from cli_helpers import run  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TELGARSKY3 = str(EXAMPLES / "telgarsky-3.json")
SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: the lecture's illustration: kappa(f) = 16, kappa(relu(f)) = 14 on [0, 15]
LECTURE_YS = [2, 1, 2, 3, 3, 2, -2, -2, -2, 1, 3, 3, 1, -2, -1, 2]




def markers_in_svg(path: Path, gid: str) -> int:
    """Marker instances drawn by the artist whose gid is ``gid``."""
    root = ET.parse(path).getroot()
    groups = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    assert len(groups) == 1, f"expected one group {gid!r}"
    return sum(1 for _ in groups[0].iter(f"{SVG}use"))


def line(fig, gid: str, axes: int = 0):
    found = [ln for ln in fig.axes[axes].get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


# -- plot_function ----------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 3, 5])
def test_function_svg_marks_every_breakpoint(tmp_path: Path, depth: int) -> None:
    f = function_of(telgarsky(depth), (0, 1))
    path = tmp_path / "f.svg"
    fig = plot.plot_function(f, path)
    assert markers_in_svg(path, "breakpoints") == len(f.breakpoints) == 2**depth - 1
    assert fig.axes[0].get_title() == f"κ(f) = {2**depth} pieces on [0, 1]"
    # the curve goes through the exact vertices
    xs, ys = line(fig, "function").get_data()
    knots = [Fraction(0), *f.breakpoints, Fraction(1)]
    assert list(xs) == [float(x) for x in knots]
    assert list(ys) == [float(f(x)) for x in knots]


def test_function_png_and_title(tmp_path: Path) -> None:
    path = tmp_path / "f.png"
    f = function_of(telgarsky(3), (0, 1))
    fig = plot.plot_function(f, path, title="tri^3")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert fig.axes[0].get_title() == "tri^3\nκ(f) = 8 pieces on [0, 1]"


def test_function_without_breakpoints(tmp_path: Path) -> None:
    fig = plot.plot_function(function_of(telgarsky(2), (0, 1)), tmp_path / "f.svg",
                             breakpoints=False)
    assert [ln.get_gid() for ln in fig.axes[0].get_lines()] == ["function"]


def test_whole_line_window_shows_every_breakpoint(tmp_path: Path) -> None:
    f = function_of(telgarsky(3))
    fig = plot.plot_function(f, tmp_path / "f.svg")
    xs, _ = line(fig, "function").get_data()
    assert xs[0] < float(f.breakpoints[0]) and xs[-1] > float(f.breakpoints[-1])
    assert "on the whole line" in fig.axes[0].get_title()
    assert f"κ(f) = {f.num_pieces} " in fig.axes[0].get_title()


def test_affine_function_has_no_markers(tmp_path: Path) -> None:
    fig = plot.plot_function(PiecewiseLinear.affine(2, 1), tmp_path / "f.svg")
    assert fig.axes[0].get_title() == "κ(f) = 1 piece on the whole line"


def test_relu_figure_reproduces_the_lecture(tmp_path: Path) -> None:
    f = function_of(zhang(range(16), LECTURE_YS), (0, 15))
    fig = plot.plot_relu(f, tmp_path / "relu.svg")
    assert [ax.get_title() for ax in fig.axes] == ["κ(f) = 16", "κ(relu(f)) = 14"]
    assert f.relu().num_pieces == 14
    assert f.relu().num_pieces <= 2 * f.num_pieces


# -- plot_layers ------------------------------------------------------------------
@pytest.mark.parametrize("net,domain", [
    (telgarsky(3), (0, 1)),
    (telgarsky(2), None),
    (zhang([0, 1, 3, 4], [1, -1, 2, 0]), (-1, 5)),
])
def test_layer_kappas_agree_with_the_engine(tmp_path: Path, net, domain) -> None:
    fig = plot.plot_layers(net, tmp_path / "layers.png", domain)
    part = propagate(net, domain, per_layer=True)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == sum(net.widths) + 1
    k = 0
    for stats, layer in zip(part.layers, net.layers[:-1]):
        for pre, post in zip(stats.kappa_pre, stats.kappa_post):
            assert titles[k].endswith(f"κ(z) = {pre}, κ({layer.activation.name}) = {post}")
            k += 1
    assert titles[-1].endswith(f"κ = {part.pieces()}")


def test_layers_of_a_wide_network_show_the_first_units(tmp_path: Path) -> None:
    net = zhang(range(12), [i % 3 for i in range(12)])
    fig = plot.plot_layers(net, tmp_path / "layers.png", (0, 11))
    assert sum(ax.get_visible() for ax in fig.axes) == plot.MAX_NEURONS + 1
    assert f"first {plot.MAX_NEURONS} of 12 units" in fig.get_suptitle()


# -- growth and separation ----------------------------------------------------------
def test_growth_curves(tmp_path: Path) -> None:
    rows = list(growth("sawtooth", 5, 3, (0, 1)))
    path = tmp_path / "growth.svg"
    fig = plot.plot_growth(rows, path)
    assert list(line(fig, "pieces").get_ydata()) == [math.log2(3**d) for d in range(1, 6)]
    assert list(line(fig, "bound_lecture").get_ydata()) == [math.log2(6**d) for d in range(1, 6)]
    assert list(line(fig, "bound_one_input").get_ydata()) == [math.log2(4**d)
                                                              for d in range(1, 6)]
    assert markers_in_svg(path, "pieces") == 5
    assert "243 pieces" in fig.axes[0].get_title()


def test_separation_curves(tmp_path: Path) -> None:
    reports = [separation(4, n) for n in (4, 1, 2)]
    fig = plot.plot_separation(reports, tmp_path / "sep.png")
    l1 = line(fig, "l1")
    assert list(l1.get_xdata()) == [1, 2, 4]
    assert list(l1.get_ydata()) == [float(r.l1) for r in sorted(reports, key=lambda r: r.width)]
    for r, bound in zip(sorted(reports, key=lambda r: r.width),
                        line(fig, "bound_sharp").get_ydata()):
        assert bound == float(r.bound_sharp) and r.l1 >= r.bound_sharp


# -- files --------------------------------------------------------------------------
@pytest.mark.parametrize("name,message", [
    ("f.jpg", "unsupported figure format '.jpg'"),
    ("f", "unsupported figure format '(none)'"),
    ("missing/f.png", "does not exist"),
])
def test_bad_paths_are_refused_before_drawing(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(PWLValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plot.plot_function(function_of(telgarsky(1), (0, 1)), tmp_path / name)


def test_not_a_function_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(PWLTypeError):
        plot.plot_function(telgarsky(1), tmp_path / "f.png")  # type: ignore[arg-type]
    with pytest.raises(PWLTypeError):
        plot.plot_layers(function_of(telgarsky(1)), tmp_path / "f.png")  # type: ignore[arg-type]


def test_writes_are_atomic_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "f.svg"
    path.write_text("old")
    plot.plot_function(function_of(telgarsky(2), (0, 1)), path)
    first = path.read_bytes()
    assert first.startswith(b"<?xml")
    plot.plot_function(function_of(telgarsky(2), (0, 1)), path)
    assert path.read_bytes() == first, "the same figure gives the same SVG bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["f.svg"], "no temporary file left"


def test_importing_pwl_does_not_import_matplotlib() -> None:
    code = ("import sys, pwl, pwl.present.plot, pwl.lectures.approx, pwl.lectures.interpolation, pwl.lectures.gradients, cli.main; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    assert out.stdout.strip() == "False"


# -- pwl plot -----------------------------------------------------------------------
def test_cli_plot_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "tri3.svg"
    result = run(runner, "plot", TELGARSKY3, "--domain", "0", "1", "-o", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["pieces"] == 8 and out["kind"] == "function"
    assert out["breakpoints"] == ["1/8", "1/4", "3/8", "1/2", "5/8", "3/4", "7/8"]
    assert markers_in_svg(path, "breakpoints") == 7


def test_cli_plot_text_layers_and_relu(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "plot", TELGARSKY3, "-o", str(tmp_path / "l.png"), "--layers")
    assert result.exit_code == 0 and "pieces (kappa)  10" in result.stdout
    assert (tmp_path / "l.png").read_bytes()[:8] == PNG_MAGIC
    net = tmp_path / "f.json"
    zhang(range(16), LECTURE_YS).save(net)
    out = json.loads(run(runner, "plot", str(net), "--domain", "0", "15", "--relu",
                         "-o", str(tmp_path / "r.svg"), "--json").stdout)
    assert (out["pieces"], out["pieces_relu"]) == (16, 14)


@pytest.mark.parametrize("args,status,text", [
    (["-o", "f.gif"], 1, "unsupported figure format '.gif'"),
    (["-o", "f.png", "--layers", "--relu"], 2, "choose one"),
    ([], 2, "Missing option"),
    (["-o", "f.png", "--domain", "1", "0"], 1, "must be below"),
    (["-o", ""], 1, "the figure path is empty"),
    (["-o", "missing/f.svg"], 1, "the folder 'missing' does not exist"),
    (["-o", "."], 2, "is a directory"),
])
def test_cli_plot_errors(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         args: list, status: int, text: str) -> None:
    monkeypatch.chdir(tmp_path)   # relative output paths land there
    result = run(runner, "plot", TELGARSKY3, *args)
    assert result.exit_code == status
    assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("pwl: ")


def test_pwl_load_and_plot_agree(tmp_path: Path) -> None:
    net = pwl.load(TELGARSKY3)
    fig = plot.plot_function(function_of(net, (0, 1)), tmp_path / "f.png")
    assert fig.axes[0].get_title().startswith(f"κ(f) = {pwl.count(net, (0, 1)).pieces} ")
