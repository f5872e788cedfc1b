"""The README's examples are true: every ``$ pwl ...`` line in an indented
block is run, and its output must be the lines that follow it."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def _examples() -> list[tuple[str, str]]:
    lines = (ROOT / "README.md").read_text().splitlines()
    out = []
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("    $ pwl "):
            command = line[len("    $ "):]
            expected = []
            k += 1
            while k < len(lines) and lines[k].startswith("    ") and not lines[k].startswith("    $ "):
                expected.append(lines[k][4:])
                k += 1
            out.append((command, "\n".join(expected)))
        else:
            k += 1
    return out


EXAMPLES = _examples()


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("command,expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args)
    if expected.startswith("pwl: error:"):
        assert result.exit_code == 1
        assert result.stderr.strip() == expected
    else:
        assert result.exit_code == 0, result.output
        assert result.stdout.rstrip("\n") == expected
