"""``--plot`` on count, telgarsky, separation and bench growth writes the figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from cli_helpers import run

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
TRI3 = str(ROOT / "examples" / "telgarsky-3.json")


@pytest.mark.parametrize("args", [
    ["count", TRI3, "--domain", "0", "1"],
    ["telgarsky", "--depth", "4"],
    ["separation", "--depth", "4", "--width", "2"],
    ["separation", "--depth", "4", "--sweep"],
    ["bench", "growth", "--max-depth", "4"],
])
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_option_writes_a_figure(tmp_path: Path, args: list[str], suffix: str) -> None:
    path = tmp_path / f"figure{suffix}"
    result = run(CliRunner(), *[*args, "--plot", str(path)])
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:2000]
    assert not list(tmp_path.glob("*.tmp"))


def test_count_plot_marks_every_breakpoint(tmp_path: Path) -> None:
    from test_plot import markers_in_svg

    path = tmp_path / "f.svg"
    result = run(CliRunner(), *["count", TRI3, "--domain", "0", "1", "--plot", str(path)])
    assert result.exit_code == 0
    assert markers_in_svg(path, "breakpoints") == 7   # tri^3 on [0, 1]: 8 pieces


@pytest.mark.parametrize("args", [
    ["count", TRI3, "--plot", "f.gif"],
    ["telgarsky", "--depth", "21", "--plot", "f.png"],
])
def test_bad_plot_requests_are_refused_before_work(tmp_path: Path, args: list[str]) -> None:
    result = run(CliRunner(), *args)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
