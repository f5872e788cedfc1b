"""The counting methods as a registry: one protocol, one answer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

import pwl
from pwl.theory.constructions import telgarsky
from pwl.counting import METHODS, REGISTRY

from cli_helpers import run


def test_every_method_has_the_protocol() -> None:
    for name, module in REGISTRY.items():
        assert module.NAME == name
        assert isinstance(module.LISTS, bool) and isinstance(module.REFUSAL, str)
        for attr in ("applies", "preferred", "count"):
            assert callable(getattr(module, attr))
    assert METHODS == tuple(REGISTRY)


def test_the_command_line_offers_every_method() -> None:
    result = run(CliRunner(), "count", "--help")
    for name in METHODS:
        assert name in result.stdout


@pytest.mark.parametrize("net, domain", [
    (telgarsky(5), (Fraction(0), Fraction(1))),
    (pwl.Network.from_arrays([np.array([[1.5], [-0.75], [0.3]]),
                              np.outer([1.0, -2.0, 0.5], [0.25, 1.0, -1.0]),
                              np.array([[1.0, 1.0, -0.5]])],
                             [np.array([0.1, 0.2, -0.3]), np.array([0.0, 0.5, -0.25]),
                              np.array([0.0])]), None),
])
def test_every_method_that_applies_gives_the_same_count(net, domain) -> None:  # type: ignore[no-untyped-def]
    exact = pwl.propagate(net, domain)
    seen = set()
    for name, module in REGISTRY.items():
        if not module.applies(net, domain):
            continue
        result = pwl.count(net, domain, method=name, workers=1)
        assert (result.pieces, result.activation_regions) == \
            (exact.pieces(), exact.activation_regions), name
        assert result.method == name
        seen.add(name)
    assert seen == set(METHODS)      # both networks admit all three


def test_the_front_end_prefers_in_registry_order() -> None:
    floats = pwl.Network.from_arrays([np.array([[0.1], [0.7]]), np.array([[0.3, -0.2]])])
    assert pwl.count(telgarsky(4), (0, 1)).method == "compose"
    assert pwl.count(floats).method == "certified"
    assert pwl.count(floats, breakpoints=True).method == "enumerate"
    assert pwl.count(pwl.Network.sequential([([[1], [2]], [0, 1]), ([[1, -1]], [0], "identity")])
                     ).method == "enumerate"


@pytest.mark.parametrize("method", [None, *METHODS])
def test_many_inputs_are_refused_whatever_the_method(method) -> None:  # type: ignore[no-untyped-def]
    net = pwl.Network.from_arrays([np.ones((2, 3)), np.ones((1, 2))])
    with pytest.raises(pwl.PWLValueError, match="has 3 inputs.*--line"):
        pwl.count(net, method=method)
