"""docs/tutorial.md runs top to bottom.

In document order, every fenced block is

* a file (info string ``... file=NAME``): written to the working folder;
* ``python``: executed, all blocks sharing one namespace;
* anything else: each line ``$ pwl ...`` is run through click's CliRunner
  and must exit 0; output lines printed under a command in the tutorial
  must be exactly what it prints.

The folder is a fresh temporary one holding a copy of ``examples/``.  Every
figure a command or block names must exist afterwards, non-empty.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
FIGURE = re.compile(r"[\w./-]+\.(?:png|svg)\b")


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(TUTORIAL.read_text())]


def commands(body: str) -> list[tuple[str, list[str]]]:
    """``(command line, expected output lines)`` for each ``$ pwl`` line."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line.rstrip())
    return out


def test_the_tutorial_has_commands_for_every_topic() -> None:
    lines = [c for info, body in blocks() for c, _ in commands(body)]
    for name in ("count", "telgarsky", "bound", "separation", "bench growth", "plot",
                 "approx rect", "approx sin", "approx barron", "approx budget",
                 "interpolate", "gradients"):
        assert any(c.startswith(f"pwl {name}") for c in lines), name


def test_the_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    namespace: dict[str, object] = {"__name__": "tutorial"}
    figures: list[str] = []
    ran = 0
    for info, body in blocks():
        words = info.split()
        target = next((w[5:] for w in words if w.startswith("file=")), None)
        if target is not None:
            (tmp_path / target).write_text(body)
            continue
        if words[:1] == ["python"]:
            exec(compile(body, f"{TUTORIAL}:python", "exec"), namespace)
            figures += FIGURE.findall(body)
            continue
        for line, expected in commands(body):
            argv = shlex.split(line)
            assert argv[0] == "pwl", line
            result = runner.invoke(cli, argv[1:], prog_name="pwl")
            assert result.exit_code == 0, f"{line}\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stdout + result.stderr
            if any(expected):
                while expected and not expected[-1]:
                    expected.pop()
                actual = [s.rstrip() for s in result.stdout.splitlines()]
                assert actual == expected, line
            figures += FIGURE.findall(line)
            ran += 1
    assert ran >= 20
    assert figures
    for name in figures:
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 1000, name
