"""The README's JSON tables are every command's schema: each command, run
with different flags, prints exactly the documented keys (and each of its
``rows`` exactly the documented ``rows[]`` keys)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_helpers import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "telgarsky-3.json")


def documented() -> dict[str, tuple[set[str], set[str]]]:
    """``command -> (top-level keys, rows[] keys)`` from the README."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## JSON output\n", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, tuple[set[str], set[str]]] = {}
    for block in section.split("\n### ")[1:]:
        command = re.match(r"`pwl ([a-z -]+)`", block)
        assert command is not None, block[:40]
        keys = re.findall(r"^\| `([A-Za-z_0-9\[\].]+)` \|", block, flags=re.M)
        top = {k for k in keys if "." not in k}
        rows = {k.split(".", 1)[1] for k in keys if k.startswith("rows[].")}
        tables[command.group(1)] = (top, rows)
    return tables


SCHEMAS = documented()


def cnn(tmp: Path) -> list[str]:
    """A tiny convolutional model saved with torch.save, and two images."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(8, 2)).double()
    torch.save(model, tmp / "cnn.pt")
    rng = np.random.default_rng(0)
    np.save(tmp / "a.npy", rng.random((1, 4, 4)))
    np.save(tmp / "b.npy", rng.random((1, 4, 4)))
    return [str(tmp / "cnn.pt"), "--line", str(tmp / "a.npy"), str(tmp / "b.npy")]


def invocations(tmp: Path) -> dict[str, list[list[str]]]:
    points = tmp / "points.csv"
    points.write_text("0,0\n1,1\n2,0\n")
    two = tmp / "two.json"
    two.write_text(json.dumps({"format": "pwl-network/1", "layers": [
        {"weights": [[1, 0], [0, 1], [1, 1]], "bias": [0, 0, -1], "activation": "relu"},
        {"weights": [[1, -1, 1], [0, 1, 0]], "bias": [0, 0], "activation": "identity"}]}))
    box = ["--box", "-2", "2", "-2", "2"]
    return {
        "count --line": ([["count", *cnn(tmp)], ["count", *cnn(tmp), "--output", "all",
                                                  "--per-layer"]]
                         if _has_torch() else []),
        "regions": [["regions", str(two), *box], ["regions", str(two), *box, "--per-layer",
                                                    "--output", "all"]],
        "count": [["count", EXAMPLE], ["count", EXAMPLE, "--domain", "0", "1", "--breakpoints"],
                  ["count", EXAMPLE, "--per-layer", "--method", "enumerate"],
                  ["count", EXAMPLE, "--output", "all"]],
        "bound": [["bound", EXAMPLE], ["bound", EXAMPLE, "--domain", "0", "1"]],
        "distance": [["distance", EXAMPLE, EXAMPLE, "--domain", "0", "1"],
                     ["distance", EXAMPLE, EXAMPLE, "--domain", "0", "1", "--metric", "sup"]],
        "separation": [["separation", "-D", "3", "-n", "2"],
                       ["separation", "-D", "3", "--sweep"],
                       ["separation", "-D", "3", "--epsilon", "1/2"],
                       ["separation", "-D", "3", "-n", "3", "--save-competitor",
                        str(tmp / "g.json")]],
        "telgarsky": [["telgarsky", "-D", "3"], ["telgarsky", "-D", "2", "--save",
                                                 str(tmp / "t.json")]],
        "plot": [["plot", EXAMPLE, "-o", str(tmp / "f.png")],
                 ["plot", EXAMPLE, "-o", str(tmp / "r.svg"), "--relu", "--domain", "0", "1"]],
        "approx rect": [["approx", "rect", "--rect", "0", "1", "1"]],
        "approx sin": [["approx", "sin", "-N", "10"]],
        "approx barron": [["approx", "barron", "-q", "2", "-q", "4"]],
        "approx budget": [["approx", "budget", "--params", "40"]],
        "interpolate": [["interpolate", str(points)],
                        ["interpolate", str(points), "--save", str(tmp / "i.json")]],
        "gradients": [["gradients", "-D", "2"]],
        "bench growth": [["bench", "growth", "--max-depth", "2"],
                         ["bench", "growth", "--max-depth", "2", "--csv", str(tmp / "g.csv")]],
    }


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_every_json_command_is_documented(tmp_path: Path) -> None:
    assert set(invocations(tmp_path)) <= set(SCHEMAS)
    assert set(SCHEMAS) <= set(invocations(tmp_path)), "a documented command is not checked"


@pytest.mark.parametrize("command", sorted(SCHEMAS))
def test_json_keys_are_the_documented_ones(runner: CliRunner, tmp_path: Path,
                                           command: str) -> None:
    if command == "plot":
        pytest.importorskip("matplotlib")
    if command == "count --line":
        pytest.importorskip("torch")
    top, row_keys = SCHEMAS[command]
    for args in invocations(tmp_path)[command]:
        result = run(runner, *args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        payload = json.loads(result.stdout.splitlines()[-1])
        assert set(payload) == top, (args, set(payload) ^ top)
        for row in payload.get("rows", []):
            assert set(row) == row_keys, (args, set(row) ^ row_keys)
        if row_keys:
            assert "rows" in top
