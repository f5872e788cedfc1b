"""Exports: every format read back gives the same exact function or network;
``pwl export`` through CliRunner, ``-o`` written atomically."""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Optional

import pytest
import sympy
from click.testing import CliRunner
from hypothesis import given, settings

from pwl import function_of
import pwl
from cli.main import cli
from pwl.present.export import FORMATS, export, to_csv, to_json, to_latex, to_sympy
from pwl.io.native import parse_native
from strategies import domains, network_specs
from cli_helpers import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TELGARSKY3 = str(EXAMPLES / "telgarsky-3.json")


def from_csv(text: str, domain: Optional[tuple]) -> pwl.PiecewiseLinear:
    """Rebuild the function from its CSV rows (exact strings)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    breakpoints = [Fraction(r["hi"]) for r in rows[:-1]]
    assert all(r["lo"] == prev["hi"] for prev, r in zip(rows, rows[1:]))
    f = pwl.PiecewiseLinear(breakpoints, [r["slope"] for r in rows],
                            [r["intercept"] for r in rows], domain)
    return f


def from_latex(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    assert lines[0] == r"\begin{cases}" and lines[-1] == r"\end{cases}"
    return [tuple(part.strip() for part in line.rstrip(" \\").split("&"))  # type: ignore[misc]
            for line in lines[1:-1]]


def latex_number(text: str) -> Fraction:
    m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text)
    if m:
        return Fraction(int(m[2]), int(m[3])) * (-1 if m[1] else 1)
    return Fraction(int(text))


@settings(max_examples=80)
@given(network_specs(max_depth=3, max_width=4), domains())
def test_every_export_reads_back_exactly(spec: list, domain: Optional[tuple]) -> None:
    net = pwl.Network.sequential(spec)
    f = function_of(net, domain)
    # csv: the same function, rebuilt from exact strings
    assert from_csv(to_csv(f), f.domain) == f
    # sympy: the text parses to the expression pwl builds
    assert sympy.sympify(to_sympy(f)) == f.to_sympy()
    # latex: one row per piece, the ends of each row's interval exact
    rows = from_latex(to_latex(f))
    assert len(rows) == f.num_pieces
    for (expr, cond), (lo, hi, _, _) in zip(rows, f.pieces()):
        ends = re.findall(r"-?\\frac\{\d+\}\{\d+\}|-?\d+", cond)
        assert [latex_number(e) for e in ends] == [v for v in (lo, hi) if v is not None]
    # json: the same network
    assert parse_native(to_json(net)) == net


def test_latex_formats_forms() -> None:
    f = pwl.PiecewiseLinear([Fraction(-1, 2), 3], ["-3/2", 0, 1], ["-3/4", 0, -3])
    assert to_latex(f) == "\n".join([
        r"\begin{cases}",
        r"  -\frac{3}{2} x - \frac{3}{4} & \text{if } x \le -\frac{1}{2} \\",
        r"  0 & \text{if } -\frac{1}{2} \le x \le 3 \\",
        r"  x - 3 & \text{if } x \ge 3",
        r"\end{cases}"])
    line = pwl.PiecewiseLinear([], [-1], [Fraction(1, 3)])
    assert to_latex(line) == "\\begin{cases}\n  -x + \\frac{1}{3} & \\text{if } x \\in " \
                             "\\mathbb{R}\n\\end{cases}"
    assert to_csv(line) == "lo,hi,slope,intercept\n,,-1,1/3\n"


def test_export_front_end() -> None:
    net = pwl.load(TELGARSKY3)
    assert export(net, "csv", (0, 1)).count("\n") == 9
    assert export(net, "sympy", (0, 1)).endswith(")\n")
    with pytest.raises(pwl.PWLValueError, match="unknown format 'svg'"):
        export(net, "svg")
    with pytest.raises(pwl.PWLValueError, match="output 1 does not exist"):
        export(net, "csv", output=1)
    assert FORMATS == ("json", "sympy", "latex", "csv")


# -- pwl export -------------------------------------------------------------------------
@pytest.mark.parametrize("to", ["sympy", "latex", "csv"])
def test_cli_export_function(runner: CliRunner, to: str) -> None:
    result = run(runner, *["export", TELGARSKY3, "--to", to, "--domain", "0", "1"])
    assert result.exit_code == 0 and result.stderr == ""
    f = function_of(pwl.load(TELGARSKY3), (0, 1))
    assert result.stdout == export(pwl.load(TELGARSKY3), to, (0, 1))
    if to == "csv":
        assert from_csv(result.stdout, (Fraction(0), Fraction(1))) == f
        assert result.stdout.splitlines()[:2] == ["lo,hi,slope,intercept", "0,1/8,8,0"]


def test_cli_export_json_converts_formats(runner: CliRunner, tmp_path: Path) -> None:
    from pwl.io.npz import save_npz

    net = pwl.load(TELGARSKY3)
    save_npz(net, tmp_path / "t.npz")
    result = run(runner, *["export", str(tmp_path / "t.npz"), "--to", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"] == "pwl-network/1"
    assert parse_native(result.stdout) == net


def test_cli_export_writes_atomically(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "f.tex"
    target.write_text("old")
    result = run(runner, *["export", TELGARSKY3, "--to", "latex", "--domain", "0", "1",
                                 "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text() == export(pwl.load(TELGARSKY3), "latex", (0, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tex"]  # no temporary left


@pytest.mark.parametrize("args, code, message", [
    (["--to", "json", "--domain", "0", "1"], 2, "--domain and --output apply to sympy"),
    (["--to", "json", "--output", "0"], 2, "--domain and --output apply to sympy"),
    (["--to", "svg"], 2, "'svg' is not one of"),
    ([], 2, "missing option --to (json, sympy, latex or csv)"),
    (["--to", "csv", "--output", "4"], 1, "output 4 does not exist"),
    (["--to", "csv", "--domain", "1", "0"], 1, "domain: lo = 1 must be below hi = 0"),
])
def test_cli_export_errors(runner: CliRunner, args: list, code: int, message: str) -> None:
    result = run(runner, *["export", TELGARSKY3, *args])
    assert result.exit_code == code
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1 and message in lines[0]
    assert result.stdout == ""
