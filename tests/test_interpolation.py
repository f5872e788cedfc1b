"""Zhang et al.'s finite-sample expressivity: the networks take every value
exactly (checked by exact evaluation), have the advertised sizes, and the
deep variant computes the same function as the shallow one everywhere."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl import function_of
import pwl
from pwl.errors import PWLTypeError, PWLValueError
from pwl.lectures.interpolation import (
    interpolate,
    nonzero_parameters,
    parse_points,
    read_points,
    stored_parameters,
    zhang,
    zhang_deep,
)
from cli_helpers import run

exact = st.fractions(min_value=-50, max_value=50, max_denominator=30)
samples = st.lists(st.tuples(exact, exact), min_size=1, max_size=25,
                   unique_by=lambda p: p[0])


# -- the networks ---------------------------------------------------------------------
@settings(max_examples=60)
@given(samples)
def test_two_layers_take_every_value(points: list) -> None:
    xs, ys = zip(*points)
    net = zhang(xs, ys)
    n = len(xs)
    assert net.depth == 1 and net.widths == (n,)
    for x, y in points:
        assert net.evaluate(x) == (y,)
    # the free parameters: a (the first layer's weights, all equal), b and w
    first = net.layers[0]
    assert {row[0] for row in first.weights} == {1}
    assert len(set(first.bias)) == n
    assert stored_parameters(net) == 3 * n + 1
    assert net.layers[1].bias == (0,)
    # kinks at the thresholds only, one per unit at most
    assert function_of(net).num_pieces <= n + 1


@settings(max_examples=40)
@given(samples, st.integers(min_value=1, max_value=8))
def test_deep_variant_is_the_same_function(points: list, depth: int) -> None:
    xs, ys = zip(*points)
    n = len(xs)
    if depth > n:
        with pytest.raises(PWLValueError, match="needs at least"):
            zhang_deep(xs, ys, depth)
        return
    deep = zhang_deep(xs, ys, depth)
    assert deep.depth == depth
    assert max(deep.widths) <= math.ceil(n / depth) + 4
    assert function_of(deep) == function_of(zhang(xs, ys))
    for x, y in points:
        assert deep.evaluate(x) == (y,)
    # O(N + n) nonzero weights: each point costs a bounded number
    assert nonzero_parameters(deep) <= 6 * n + 8 * depth


def test_report() -> None:
    r = interpolate(["3", "-1/2", "0.25"], [1, 2, "-7/3"], depth=1)
    assert r.exact and r.points == 3 and r.mismatches == ()
    assert r.xs == (Fraction(-1, 2), Fraction(1, 4), Fraction(3))  # sorted
    assert r.ys == (2, Fraction(-7, 3), 1)
    assert r.zhang_parameters == 7 and r.stored == 10
    deep = interpolate(range(10), [i * i for i in range(10)], depth=3)
    assert deep.exact and deep.widths == (6, 7, 5) and deep.zhang_parameters == 21


def test_one_point() -> None:
    net = zhang([5], [-2])
    assert net.evaluate(5) == (-2,) and net.widths == (1,)


@pytest.mark.parametrize("xs,ys,error,message", [
    ([0, 1, 0], [1, 2, 3], PWLValueError, "both 0"),
    ([], [], PWLValueError, "at least one point"),
    ([0, 1], [1], PWLValueError, "expected 2 values"),
    ([0.5], [1], PWLTypeError, "is a float"),
])
def test_bad_points(xs: list, ys: list, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        zhang(xs, ys)


def test_bad_depth() -> None:
    with pytest.raises(PWLValueError, match="integer >= 1"):
        zhang_deep([0, 1], [0, 1], 0)


# -- the CSV file ---------------------------------------------------------------------------
def test_parse_points_reads_exact_numbers() -> None:
    text = "x,y\n# comment\n\n0.1, -3/7\n 1e-3 ,2\n-5,0\n"
    xs, ys = parse_points(text)
    assert xs == [Fraction(1, 10), Fraction(1, 1000), Fraction(-5)]
    assert ys == [Fraction(-3, 7), Fraction(2), Fraction(0)]


@pytest.mark.parametrize("text,message", [
    ("0,1\n2\n", "pts.csv: row 2: expected 'x,y', got '2'"),
    ("0,1\n2,3,4\n", "pts.csv: row 2: expected 'x,y', got '2,3,4'"),
    ("0,1\nabc,3\n", "pts.csv: row 2: x: 'abc' is not an exact number"),
    ("0,1\n\n1,nan\n", "pts.csv: row 3: y: 'nan' is not a finite number"),
    ("0,1\n1/0,1\n", "pts.csv: row 2: x: '1/0' has a zero denominator"),
    ("1/2,1\n0.5,2\n", "pts.csv: rows 1 and 2 have the same x = 1/2"),
    ("x,y\n", "pts.csv: no points"),
    ("0,1\nx,y\n", "pts.csv: row 2: x: 'x' is not an exact number"),
])
def test_parse_points_errors(text: str, message: str) -> None:
    with pytest.raises(PWLValueError) as info:
        parse_points(text, "pts.csv")
    assert str(info.value).startswith(message)


def test_read_points_errors(tmp_path: Path) -> None:
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe0,1\n")
    with pytest.raises(PWLValueError, match="not a UTF-8 text file"):
        read_points(binary)
    with pytest.raises(PWLValueError, match="No such file"):
        read_points(tmp_path / "missing.csv")


# -- pwl interpolate ------------------------------------------------------------------------


@pytest.fixture
def points(tmp_path: Path) -> Path:
    path = tmp_path / "points.csv"
    path.write_text("x,y\n0,1\n1/3,-2\n1,0.5\n2,3\n5/2,-1\n3,1e-1\n")
    return path


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_cli_json_and_saved_network(runner: CliRunner, points: Path, tmp_path: Path,
                                    depth: int) -> None:
    saved = tmp_path / "net.json"
    result = run(runner, "interpolate", str(points), "--depth", str(depth), "--save", str(saved),
                 "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n"] == 6 and out["exact"] and out["mismatches"] == []
    assert out["zhang_parameters"] == 13 and out["depth"] == depth
    net = pwl.load(saved)
    assert list(net.widths) == out["widths"]
    assert stored_parameters(net) == out["stored_parameters"]
    for x, y in zip(*read_points(points)):
        assert net.evaluate(x) == (y,)


def test_cli_text(runner: CliRunner, points: Path) -> None:
    result = run(runner, "interpolate", str(points))
    assert result.exit_code == 0
    assert "Zhang's 2N + n   13" in result.stdout
    assert "exact at         6 of 6 points" in result.stdout


@pytest.mark.parametrize("text,args,status,message", [
    ("0,1\n1,abc\n", [], 1, "row 2: y: 'abc' is not an exact number"),
    ("0,1\n0,2\n", [], 1, "rows 1 and 2 have the same x = 0"),
    ("0,1\n1,2\n", ["--depth", "3"], 1, "depth 3 needs at least 3 points"),
    ("0,1\n1,2\n", ["--depth", "0"], 2, "0 is not in the range"),
    ("0,1\n1,2\n", ["--plot", "p.jpg"], 1, "unsupported figure format"),
    ("0,1\n1,2\n", ["--save", "missing/net.json"], 1, "does not exist"),
])
def test_cli_errors(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    text: str, args: list, status: int, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)   # relative output paths land there
    result = run(runner, "interpolate", str(path), *args)
    assert result.exit_code == status
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_plot(runner: CliRunner, points: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    figure = tmp_path / "points.svg"
    result = run(runner, "interpolate", str(points), "--plot", str(figure))
    assert result.exit_code == 0
    import xml.etree.ElementTree as ET

    root = ET.parse(figure).getroot()
    group = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id") == "points"]
    assert sum(1 for _ in group[0].iter("{http://www.w3.org/2000/svg}use")) == 6
