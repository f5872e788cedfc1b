"""Test configuration: hypothesis profiles, and the test helpers' folder on the path.

Profiles (choose with ``PWL_HYPOTHESIS_PROFILE``):

* ``ci`` (default): no deadline (exact arithmetic has a long tail), the
  example counts the tests set for themselves; derandomized when ``CI`` is
  set;
* ``thorough``: ten times as many examples, for a run before a release.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # `import reference`, `import strategies` however pytest imports us
    sys.path.insert(0, _HERE)

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # on a CI machine (CI=true) the examples are the same every run, so that a
    # landing never depends on luck; locally every run explores new ones
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("ci"),
    max_examples=2000,
)
settings.load_profile(os.environ.get("PWL_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner that keeps stderr apart from stdout."""
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Tests marked ``slow`` run only when asked for: ``-m slow`` or PWL_SLOW=1."""
    if "slow" in (config.getoption("markexpr") or "") or os.environ.get("PWL_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: select with -m slow or PWL_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
