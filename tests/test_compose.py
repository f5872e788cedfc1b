"""Counting through rank-1 bottlenecks (:mod:`pwl.engine.compose`) against
enumeration (:func:`pwl.engine.propagate`) and the Fraction reference, on the
lectures' constructions and on random networks with rank-1 layers; the front
end's choice between the two methods and its errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
import pwl.engine.compose
from pwl.engine.compose import applies, bottlenecks, compose_count
from pwl.theory.constructions import sawtooth, telgarsky
from pwl.values.domain import as_domain
from reference import RefNet, spec_of
from strategies import activations, domains, network_specs

UNIT = (Fraction(0), Fraction(1))

# -- helpers -----------------------------------------------------------------


def enumerated(net: pwl.Network, domain, output: int = 0) -> tuple[int, int]:
    part = pwl.propagate(net, domain)
    return part.pieces(output), part.activation_regions


def check_methods_agree(net: pwl.Network, domain, output: int = 0) -> tuple[int, int]:
    """compose_count, enumeration and both front-end methods give one answer."""
    expected = enumerated(net, domain, output)
    assert compose_count(net, as_domain(domain), output) == expected
    for method in ("compose", "enumerate", None):
        result = pwl.count(net, domain, output=output, method=method)
        assert (result.pieces, result.activation_regions) == expected, method
        assert result.method == (method or "compose")
    return expected


@st.composite
def rank1_specs(draw, max_depth: int = 4, max_width: int = 4, max_outputs: int = 3) -> list:
    """A random network (see :func:`strategies.network_specs`) with at least one
    hidden layer after the first replaced by a rank-<=1 matrix: an integer
    outer product ``u v^T`` or zero.  Later layers may be rank 1 as well,
    the output layer included, and the output activation is sometimes relu."""
    spec = draw(network_specs(min_depth=2, max_depth=max_depth, max_width=max_width,
                              max_outputs=max_outputs))
    depth = len(spec) - 1
    chosen = draw(st.sets(st.integers(1, depth), min_size=1))
    chosen.add(draw(st.integers(1, depth - 1)))   # at least one hidden bottleneck
    for k in chosen:
        layer = spec[k]
        n_out, n_in = len(layer["weights"]), len(layer["weights"][0])
        if draw(st.integers(0, 4)) == 0:
            layer["weights"] = [[Fraction(0)] * n_in for _ in range(n_out)]
        else:
            u = draw(st.lists(st.integers(-3, 3), min_size=n_out, max_size=n_out))
            v = draw(st.lists(st.integers(-3, 3), min_size=n_in, max_size=n_in))
            layer["weights"] = [[Fraction(a * b) for b in v] for a in u]
        if draw(st.booleans()) and k < depth:
            for key in ("alpha", "min", "max"):
                layer.pop(key, None)
            layer.update(draw(activations()))
    if draw(st.integers(0, 3)) == 0:
        out = spec[-1]
        for key in ("alpha", "min", "max"):
            out.pop(key, None)
        out["activation"] = "relu"
    return spec


# -- the triangle network ------------------------------------------------------


@pytest.mark.parametrize("depth", range(1, 19))
def test_triangle_on_unit_interval(depth: int) -> None:
    net = telgarsky(depth)
    assert compose_count(net, UNIT) == enumerated(net, UNIT) == (2**depth, 2**depth)


@pytest.fixture
def slow_selected(request: pytest.FixtureRequest) -> None:
    """Slow tests run when asked for (``-m slow``), not in the default run."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: select with -m slow")


@pytest.mark.slow
@pytest.mark.parametrize("depth", range(19, 25))
def test_triangle_on_unit_interval_deep(depth: int, slow_selected: None) -> None:
    """Enumeration lists up to 2^24 pieces here: several seconds each."""
    net = telgarsky(depth)
    assert compose_count(net, UNIT) == enumerated(net, UNIT) == (2**depth, 2**depth)


@pytest.mark.parametrize("depth", range(1, 13))
def test_triangle_on_the_line(depth: int) -> None:
    """Outside [0, 1] tri^D is 0 for D >= 2, and tri is 2 - 2x right of 1
    (continuing its last piece), so the line adds two pieces (one for D = 1)."""
    expected = 2**depth + (2 if depth >= 2 else 1)
    net = telgarsky(depth)
    assert compose_count(net, None) == enumerated(net, None) == (expected, expected)


@pytest.mark.parametrize("domain", [UNIT, None])
def test_triangle_depth_1000(domain) -> None:
    """2^1000 pieces, which no enumeration could list, counted exactly."""
    net = telgarsky(1000)
    extra = 0 if domain is not None else 2
    assert compose_count(net, domain) == (2**1000 + extra, 2**1000 + extra)
    result = pwl.count(net, domain)
    assert (result.method, result.pieces, result.activation_regions) == \
        ("compose", 2**1000 + extra, 2**1000 + extra)


@settings(max_examples=60)
@given(st.integers(1, 10), st.data())
def test_triangle_on_random_intervals(depth: int, data: st.DataObject) -> None:
    net = telgarsky(depth)
    # ends often on the dyadic breakpoints, where the composition's
    # sub-intervals start exactly on a block's cut
    dyadic = tuple(Fraction(k, 2**depth) for k in range(-2, 2**depth + 3))
    domain = data.draw(domains(points=dyadic))
    expected = check_methods_agree(net, domain) if depth >= 2 else enumerated(net, domain)
    assert compose_count(net, as_domain(domain)) == expected
    if depth <= 4:
        ref = RefNet(spec_of(net)).partition(domain)
        assert expected == (ref.pieces(), ref.activation_regions())


# -- sawtooth ------------------------------------------------------------------


@pytest.mark.parametrize("depth", range(1, 6))
@pytest.mark.parametrize("n", range(1, 5))
def test_sawtooth(depth: int, n: int) -> None:
    net = sawtooth(depth, n)
    assert compose_count(net, UNIT)[0] == n**depth
    assert compose_count(net, UNIT) == enumerated(net, UNIT)
    assert compose_count(net, None) == enumerated(net, None)
    assert applies(net) == (depth >= 2)


# -- random networks with rank-1 layers ------------------------------------------


@settings(max_examples=150)
@given(rank1_specs(), st.data())
def test_random_rank1_networks(spec: list, data: st.DataObject) -> None:
    net = pwl.Network.sequential(spec)
    assert applies(net)
    ref_line = RefNet(spec).partition(None)
    domain = data.draw(domains(points=ref_line.cuts()[:20]))
    ref = RefNet(spec).partition(domain)
    for output in range(net.output_size):
        expected = check_methods_agree(net, domain, output)
        assert expected == (ref.pieces(output), ref.activation_regions()), f"output {output}"


@settings(max_examples=40)
@given(rank1_specs(max_depth=8, max_width=3, max_outputs=1), st.data())
def test_random_deep_rank1_networks(spec: list, data: st.DataObject) -> None:
    net = pwl.Network.sequential(spec)
    domain = data.draw(domains())
    check_methods_agree(net, domain)


def test_zero_bottleneck_makes_a_constant() -> None:
    """A zero hidden matrix: the rest is a constant, the regions are the
    first layer's."""
    net = pwl.Network.sequential([
        ([[1], [-1], [2]], [0, 1, -3], "relu"),
        ([[0, 0, 0], [0, 0, 0]], [1, -1], "abs"),
        ([[1, 1]], [0], "identity"),
    ])
    assert bottlenecks(net) == [1, 2] and applies(net)
    assert compose_count(net, None) == enumerated(net, None) == (1, 4)


def test_negative_slope_block_reverses_order() -> None:
    """A block with slope -1 maps the rest's pieces in reverse: a relu after a
    reflection counts from the other side."""
    net = pwl.Network.sequential([
        ([[1]], [0], "relu"),                         # s = relu(x)
        ([[-1], [-2]], [1, 3], "relu"),               # rank 1: u = (-1, -2)
        ([[1, -1]], [0], "identity"),
    ])
    for domain in (None, (-1, 4), (Fraction(1, 2), Fraction(3, 2)), (0, 1)):
        check_methods_agree(net, domain)


# -- bottleneck detection --------------------------------------------------------

_RELU1 = ([[1], [-1]], [0, 1], "relu")
_OUT2 = ([[1, 1]], [0], "identity")

BOTTLENECK_CASES = [
    ("triangle depth 1", telgarsky(1), [1], False),
    ("triangle depth 3", telgarsky(3), [1, 2, 3], True),
    ("full rank hidden", pwl.Network.sequential([_RELU1, ([[1, 0], [0, 1]], [0, 0]), _OUT2]),
     [2], False),
    ("rank 1 with fractions", pwl.Network.sequential(
        [_RELU1, ([["1/2", 1], [1, 2]], [0, 0]), _OUT2]), [1, 2], True),
    ("rank 2 by one entry", pwl.Network.sequential(
        [_RELU1, ([[1, 2], [2, 5]], [0, 0]), _OUT2]), [2], False),
    ("zero matrix", pwl.Network.sequential([_RELU1, ([[0, 0], [0, 0]], [1, 2]), _OUT2]),
     [1, 2], True),
    ("zero first row", pwl.Network.sequential([_RELU1, ([[0, 0], [3, -1]], [1, 2]), _OUT2]),
     [1, 2], True),
    ("width-1 hidden layer", pwl.Network.sequential(
        [_RELU1, ([[1, -1]], [0]), ([[2]], [0], "identity")]), [1, 2], True),
    ("first layer is never a cut", pwl.Network.sequential([_RELU1, _OUT2]), [1], False),
    ("two inputs", pwl.Network.sequential(
        [([[1, 1], [1, -1]], [0, 0]), ([[1, 1], [2, 2]], [0, 0]), _OUT2]), [1, 2], False),
]


@pytest.mark.parametrize("name, net, expected, does_apply", BOTTLENECK_CASES,
                         ids=[c[0] for c in BOTTLENECK_CASES])
def test_bottleneck_detection(name: str, net: pwl.Network, expected: list,
                              does_apply: bool) -> None:
    assert bottlenecks(net) == expected
    assert applies(net) is does_apply
    if does_apply:
        check_methods_agree(net, None)


# -- the front end: choice and errors ------------------------------------------


@pytest.mark.parametrize("net, options, method", [
    (telgarsky(5), {}, "compose"),
    (telgarsky(5), {"breakpoints": True}, "enumerate"),
    (telgarsky(5), {"per_layer": True}, "enumerate"),
    (telgarsky(5), {"method": "enumerate"}, "enumerate"),
    (telgarsky(1), {}, "enumerate"),
    (BOTTLENECK_CASES[2][1], {}, "enumerate"),
    (sawtooth(3, 3), {}, "compose"),
])
def test_automatic_choice(net: pwl.Network, options: dict, method: str) -> None:
    result = pwl.count(net, (0, 1), **options)
    assert result.method == method
    assert (result.pieces, result.activation_regions) == enumerated(net, (0, 1))


@pytest.mark.parametrize("net, options, error, match", [
    (telgarsky(3), {"method": "compose", "breakpoints": True}, pwl.PWLValueError,
     "counts without listing"),
    (telgarsky(3), {"method": "compose", "per_layer": True}, pwl.PWLValueError,
     "counts without listing"),
    (telgarsky(1), {"method": "compose"}, pwl.PWLValueError, "rank 1"),
    (BOTTLENECK_CASES[2][1], {"method": "compose"}, pwl.PWLValueError, "rank 1"),
    (BOTTLENECK_CASES[-1][1], {"method": "compose"}, pwl.PWLValueError, "2 inputs|rank 1"),
    (telgarsky(3), {"method": "Compose"}, pwl.PWLValueError, "unknown method 'Compose'"),
    (telgarsky(3), {"method": "compose", "output": 1}, pwl.PWLValueError,
     "output 1 does not exist"),
])
def test_compose_errors(net: pwl.Network, options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        pwl.count(net, (0, 1), **options)


def test_too_many_intervals_falls_back_to_enumeration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_INTERVALS the automatic choice enumerates; a forced compose
    says why it stopped."""
    monkeypatch.setattr(pwl.engine.compose, "MAX_INTERVALS", 1)
    net = telgarsky(6)
    result = pwl.count(net, (0, 1))
    assert (result.method, result.pieces, result.activation_regions) == ("enumerate", 64, 64)
    with pytest.raises(pwl.ResourceLimitError, match="intervals"):
        pwl.count(net, (0, 1), method="compose")
