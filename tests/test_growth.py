"""Growth of exact piece counts with depth (:mod:`pwl.theory.growth`) and its
command ``pwl bench growth``: every row cross-checked against enumeration
and the lectures' bounds; the CSV and JSON outputs against each other."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl.theory.bounds import lecture_bound, one_input_bound
from pwl.theory.constructions import sawtooth, telgarsky
from pwl.theory.growth import FAMILIES, GrowthRow, family_network, growth
from cli_helpers import run as run_pwl

# -- the library ---------------------------------------------------------------


def check_row(row: GrowthRow, net: pwl.Network, domain) -> None:
    """A row's counts are enumeration's; its bounds are the network's and hold."""
    part = pwl.propagate(net, domain)
    assert (row.pieces, row.activation_regions) == (part.pieces(), part.activation_regions)
    assert row.bound_lecture == lecture_bound(net)
    assert row.bound_one_input == one_input_bound(net)
    assert row.pieces <= row.bound_lecture and row.pieces <= row.bound_one_input
    assert row.activation_regions <= row.bound_one_input
    assert row.width == max(net.widths)
    assert row.seconds >= 0 and row.peak_bytes >= 0


def test_triangle_rows() -> None:
    rows = list(growth("triangle", 12, 2, (0, 1)))
    assert [r.depth for r in rows] == list(range(1, 13))
    for r in rows:
        d = r.depth
        assert (r.pieces, r.activation_regions) == (2**d, 2**d)
        # relu, width 2: 2^D prod n = 4^D and prod (n + 1) = 3^D
        assert (r.bound_lecture, r.bound_one_input) == (4**d, 3**d)
        assert r.method == ("enumerate" if d == 1 else "compose")
        check_row(r, telgarsky(d), (0, 1))


def test_triangle_deep_rows_by_composition() -> None:
    rows = list(growth("triangle", 300, 2, (0, 1), min_depth=298))
    assert [(r.depth, r.pieces, r.method) for r in rows] == \
        [(d, 2**d, "compose") for d in (298, 299, 300)]
    assert all(r.bound_one_input == 3**r.depth for r in rows)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_sawtooth_rows(n: int) -> None:
    rows = list(growth("sawtooth", 4, n, (0, 1)))
    assert [r.pieces for r in rows] == [n**d for d in range(1, 5)]
    for r in rows:
        check_row(r, sawtooth(r.depth, n), (0, 1))


def test_methods_agree_row_by_row() -> None:
    auto = list(growth("sawtooth", 4, 3, (0, 1)))
    enum = list(growth("sawtooth", 4, 3, (0, 1), method="enumerate"))
    assert {r.method for r in enum} == {"enumerate"}
    assert [(r.pieces, r.activation_regions) for r in auto] == \
        [(r.pieces, r.activation_regions) for r in enum]


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 5),
       st.sampled_from([None, (-1, 1), ("-1/3", "5/2")]))
def test_random_rows(seed: int, width: int, max_depth: int, domain) -> None:
    rows = list(growth("random", max_depth, width, domain, seed))
    assert [r.depth for r in rows] == list(range(1, max_depth + 1))
    for r in rows:
        net = family_network("random", r.depth, width, seed)
        assert net.depth == r.depth and net.widths == (width,) * r.depth
        check_row(r, net, domain)


def test_random_family_is_seeded_and_dyadic() -> None:
    a = family_network("random", 4, 5, seed=11)
    assert a == family_network("random", 4, 5, seed=11)
    assert a != family_network("random", 4, 5, seed=12)
    # a deeper network keeps the first layers (it is truncated, not redrawn)
    assert family_network("random", 6, 5, seed=11).layers[:4] == a.layers[:4]
    for layer in a.layers:
        for v in [w for row in layer.weights for w in row] + list(layer.bias):
            assert isinstance(v, Fraction) and 64 % v.denominator == 0


def test_min_depth() -> None:
    rows = list(growth("sawtooth", 5, 2, (0, 1), min_depth=3))
    assert [(r.depth, r.pieces) for r in rows] == [(3, 8), (4, 16), (5, 32)]
    assert list(growth("triangle", 2, 2, (0, 1), min_depth=3)) == []


def test_unknown_family() -> None:
    assert FAMILIES == ("triangle", "sawtooth", "random")
    with pytest.raises(pwl.PWLValueError, match="unknown family 'zigzag'"):
        list(growth("zigzag", 3, 2))


# -- the command line ----------------------------------------------------------


def run(runner: CliRunner, *args: str) -> Result:
    return run_pwl(runner, "bench", "growth", *args)


def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "--json prints one object on one line"
    return json.loads(lines[0])


EXACT_FIELDS = ("depth", "width", "pieces", "activation_regions", "method")


def test_cli_json(runner: CliRunner) -> None:
    out = run_json(runner, "--max-depth", "5")
    assert (out["family"], out["width"], out["seed"], out["domain"]) == \
        ("triangle", 2, 0, ["0", "1"])
    assert [r["depth"] for r in out["rows"]] == [1, 2, 3, 4, 5]
    for r, lib in zip(out["rows"], growth("triangle", 5, 2, (0, 1))):
        assert r["pieces"] == r["activation_regions"] == 2 ** r["depth"]
        assert {k: r[k] for k in EXACT_FIELDS} == {k: getattr(lib, k) for k in EXACT_FIELDS}
        # bounds are exact integers, written as strings
        assert (r["bound_lecture"], r["bound_one_input"]) == \
            (str(4 ** r["depth"]), str(3 ** r["depth"]))
        assert isinstance(r["seconds"], float) and isinstance(r["peak_bytes"], int)


def test_cli_csv_matches_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    out = run_json(runner, "--max-depth", "5", "--csv", str(path))
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["depth", "width", "pieces", "activation_regions", "bound_lecture",
                             "bound_one_input", "seconds", "peak_bytes", "method"]
    assert len(rows) == len(out["rows"]) == 5
    for c, j in zip(rows, out["rows"]):
        for key in ("depth", "width", "pieces", "activation_regions", "peak_bytes"):
            assert int(c[key]) == j[key], key
        assert (c["bound_lecture"], c["bound_one_input"], c["method"]) == \
            (j["bound_lecture"], j["bound_one_input"], j["method"])
        assert float(c["seconds"]) == pytest.approx(j["seconds"], abs=1e-6)


def test_cli_csv_with_table(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    result = run(runner, "--family", "sawtooth", "--max-depth", "3", "--csv", str(path))
    assert result.exit_code == 0, result.stderr
    # rows start with a carriage return (over the progress bar on a terminal)
    lines = [line.lstrip("\r") for line in result.stdout.split("\n") if line]
    assert lines[0].split()[:3] == ["depth", "pieces", "regions"]
    assert [line.split()[:3] for line in lines[1:]] == \
        [[str(d), str(3**d), str(3**d)] for d in (1, 2, 3)]
    with path.open(newline="") as f:
        assert [int(r["pieces"]) for r in csv.DictReader(f)] == [3, 9, 27]


@pytest.mark.parametrize("args, family, max_depth, width, domain, seed, method, min_depth", [
    (["--family", "random", "--width", "4", "--seed", "7", "--max-depth", "4"],
     "random", 4, 4, None, 7, None, 1),
    (["--family", "random", "--width", "3", "--max-depth", "3", "--domain", "-1", "1/2"],
     "random", 3, 3, (Fraction(-1), Fraction(1, 2)), 0, None, 1),
    (["--family", "sawtooth", "--width", "4", "--min-depth", "2", "--max-depth", "3",
      "--method", "enumerate"], "sawtooth", 3, 4, (0, 1), 0, "enumerate", 2),
    (["--family", "triangle", "--max-depth", "4", "--domain", "-1", "2"],
     "triangle", 4, 2, (-1, 2), 0, None, 1),
])
def test_cli_matches_library(runner: CliRunner, args: list, family: str, max_depth: int,
                             width: int, domain, seed: int, method, min_depth: int) -> None:
    out = run_json(runner, *args)
    lib = list(growth(family, max_depth, width, domain, seed, method, min_depth))
    assert [{k: r[k] for k in EXACT_FIELDS} for r in out["rows"]] == \
        [{k: getattr(r, k) for k in EXACT_FIELDS} for r in lib]
    assert [r["depth"] for r in out["rows"]] == list(range(min_depth, max_depth + 1))
    for r, row in zip(out["rows"], lib):
        net = family_network(family, row.depth, width, seed)
        assert (r["bound_lecture"], r["bound_one_input"]) == \
            (str(lecture_bound(net)), str(one_input_bound(net)))
        part = pwl.propagate(net, domain)
        assert (r["pieces"], r["activation_regions"]) == (part.pieces(), part.activation_regions)


@pytest.mark.parametrize("args, needle", [
    (["--min-depth", "6", "--max-depth", "3"], "--min-depth"),
    (["--max-depth", "0"], "--max-depth"),
    (["--min-depth", "0"], "--min-depth"),
    (["--width", "0"], "--width"),
    (["--family", "zigzag"], "--family"),
    (["--method", "guess"], "--method"),
    (["--domain", "0"], "--domain"),
    (["--domain", "0", "one"], "--domain"),
    (["--seed", "x"], "--seed"),
])
def test_cli_bad_options(runner: CliRunner, args: list, needle: str) -> None:
    result = run(runner, *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pwl: usage error:"), result.stderr
    assert needle in lines[0]
