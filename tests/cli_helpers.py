"""Running the command line in tests."""

from __future__ import annotations

from click.testing import CliRunner, Result

from cli.main import cli


def run(runner: CliRunner, *args: str) -> Result:
    """Run ``pwl ARGS``; whatever happens, no exception escapes but the exit."""
    result = runner.invoke(cli, list(args), prog_name="pwl")
    # an exception other than the exit click raises would be a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exc_info
    assert "Traceback" not in result.stdout + result.stderr
    return result
