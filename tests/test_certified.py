"""Certified float counting against exact enumeration."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl.engine.certified import Undecided, applies, certified_count, certified_counts
from pwl.theory.constructions import telgarsky

# decimals with many digits, exact binary floats, and plain small numbers
NUMBERS = st.one_of(
    st.decimals(min_value=-3, max_value=3, places=17, allow_nan=False).map(lambda d: Fraction(d)),
    st.floats(min_value=-3, max_value=3, allow_nan=False).map(Fraction),
    st.integers(-2, 2).map(Fraction),
)


# exact binary values from near the float underflow to near its overflow
EXTREMES = st.one_of(
    st.builds(lambda m, e: Fraction(m) * Fraction(2) ** e, st.integers(-3, 3),
              st.integers(-1070, 1020)),
    st.integers(-2, 2).map(Fraction),
)


@st.composite
def networks(draw, numbers=NUMBERS, max_width: int = 6):  # type: ignore[no-untyped-def]
    widths = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=4))
    layers = []
    n_in = 1
    for width in widths:
        act = draw(st.sampled_from(["relu", "relu", "leaky_relu", "abs", "identity"]))
        layer = {"weights": [[draw(numbers) for _ in range(n_in)] for _ in range(width)],
                 "bias": [draw(numbers) for _ in range(width)], "activation": act}
        if act == "leaky_relu":
            layer["alpha"] = draw(st.sampled_from(["1/10", "0.0123456789012345678"]))
        layers.append(layer)
        n_in = width
    layers.append({"weights": [[draw(numbers) for _ in range(n_in)]], "bias": [draw(numbers)],
                   "activation": "identity"})
    return pwl.Network.sequential(layers)


DOMAINS = st.sampled_from([None, (Fraction(-1), Fraction(2)),
                           (Fraction(1, 3), Fraction(12345678901, 10**10))])


@settings(max_examples=400)
@given(networks(), DOMAINS)
def test_certified_agrees_with_enumeration(net, domain) -> None:  # type: ignore[no-untyped-def]
    """The certified route decides every case exactly; it may refuse
    (Undecided) only a network with a weight below its documented range
    (2^-900; hypothesis' floats include subnormals), never another."""
    assert applies(net)
    part = pwl.propagate(net, domain)
    try:
        pieces, regions = certified_count(net, domain)
    except Undecided:
        assert _has_tiny(net), "Undecided within the float range"
        return
    assert (pieces, regions) == (part.pieces(), part.activation_regions)


def _has_tiny(net: pwl.Network) -> bool:
    """Could a form of ``net`` come below the certified route's documented
    range (2^-900)?  A weight or bias there, or a product of the smallest
    nonzero magnitudes of successive layers (a form's entries are sums of
    such products) reaching it."""
    tiny = Fraction(2) ** -900
    product = Fraction(1)
    for layer in net.layers:
        values = [abs(w) for row in layer.weights for w in row] + [abs(b) for b in layer.bias]
        nonzero = [v for v in values if v]
        if any(v < tiny for v in nonzero):
            return True
        product *= min(nonzero, default=Fraction(1))
        if product < tiny:
            return True
    return False


#: At weights from 2^-1070 to 2^1020 the certified route may refuse
#: (Undecided) the networks whose forms leave the float range, and no more
#: than this share of the generated cases (seeded: about 0.4 of them).
MAX_UNDECIDED_SHARE = 0.6


def test_certified_agrees_at_extreme_magnitudes() -> None:
    """Underflow and overflow never turn into a wrong count: the bounds
    either prove the answer or refuse, and they refuse at most
    :data:`MAX_UNDECIDED_SHARE` of the cases (a route that refused
    everything would pass a test that only checks its answers)."""
    seen = {"cases": 0, "undecided": 0}

    @settings(max_examples=200, database=None, derandomize=True)
    @given(networks(EXTREMES, max_width=3), DOMAINS)
    def check(net, domain) -> None:  # type: ignore[no-untyped-def]
        part = pwl.propagate(net, domain)
        seen["cases"] += 1
        try:
            pieces, regions = certified_count(net, domain)
        except Undecided:
            seen["undecided"] += 1
            return
        assert (pieces, regions) == (part.pieces(), part.activation_regions)

    check()
    assert seen["cases"] >= 100
    assert seen["undecided"] <= MAX_UNDECIDED_SHARE * seen["cases"], seen


@settings(max_examples=100)
@given(networks(), DOMAINS)
def test_front_end_is_exact_whatever_route(net, domain) -> None:  # type: ignore[no-untyped-def]
    part = pwl.propagate(net, domain)
    result = pwl.count(net, domain, workers=1)
    assert (result.pieces, result.activation_regions) == (part.pieces(), part.activation_regions)


def test_ties_are_settled_exactly_and_locally() -> None:
    # the triangle's pre-activations vanish exactly on earlier cuts: floats
    # cannot decide those, the escalated regions' exact forms do
    net = telgarsky(4)
    result = certified_counts(net, (Fraction(0), Fraction(1)))
    assert (result.pieces[0], result.activation_regions) == (16, 16)
    assert result.decisions["exact"] > 0


def test_long_decimals_take_the_certified_route() -> None:
    net = pwl.Network.sequential([
        ([["0.12345678901234567"], ["-0.98765432109876543"]], ["0.5", "0.25"]),
        ([["1.0000000000000001", "2.0000000000000003"]], [0], "identity")])
    result = pwl.count(net)
    part = pwl.propagate(net)
    assert result.method == "certified"
    assert (result.pieces, result.activation_regions) == (part.pieces(), part.activation_regions)


def test_not_for_graphs_or_hardtanh() -> None:
    assert not applies(pwl.Network.sequential([([[1]], [0], "hardtanh"), ([[1]], [0], "identity")]))
    assert not applies(pwl.Network.sequential([([[1]], [0]), ([[1]], [0], "relu")]))


def test_output_unchanged_across_a_cut_is_settled_exactly() -> None:
    # the second neuron's kink cuts a region but its output weight is 0: the
    # output's float forms agree only within their bounds, so exact forms on
    # both sides settle that one cut, and only that one
    net = pwl.Network.sequential([
        ([["0.1000000000000000001"], ["0.7000000000000000003"]], ["0.3", "-0.2"]),
        ([["1.5000000000000000007", 0]], [0], "identity")])
    result = certified_counts(net, None)
    part = pwl.propagate(net)
    assert (result.pieces[0], result.activation_regions) == (part.pieces(), part.activation_regions) == (2, 3)
    assert result.decisions["exact"] == 1, result.decisions


def test_underflow_is_not_taken_for_an_exact_zero() -> None:
    # 1e-17 * 1.1e-308 underflows to 0.0 in floats; the true slope is not 0
    net = pwl.Network.sequential([
        ([["1/100000000000000000"]], [0], "relu"),
        ([[Fraction(1, 2**1023) / 8]], [0], "identity")])
    part = pwl.propagate(net)
    assert (part.pieces(), part.activation_regions) == (2, 2)
    # the float slope is 0.0, but not an exact 0: the bound must not claim
    # it is one (the count is then undecided, or settled exactly)
    try:
        assert certified_count(net, None) == (2, 2)
    except Undecided:
        pass
    result = pwl.count(net)
    assert (result.pieces, result.activation_regions) == (2, 2)


def test_cuts_behind_a_dead_layer_need_no_exact_work() -> None:
    # the second hidden layer is off on the whole line (negative weights on
    # nonnegative inputs, negative bias), so the first layer's kinks leave the
    # output unchanged; that is proven without exact arithmetic
    net = pwl.Network.sequential([
        ([["0.1000000000000000001"], ["-0.7000000000000000003"]], ["0.3", "-0.2"]),
        ([["-1.5000000000000000007", "-0.25"]], ["-0.1"]),
        ([["2.0000000000000000001"]], ["0.3000000000000000001"], "identity")])
    result = certified_counts(net, None)
    part = pwl.propagate(net)
    assert (result.pieces[0], result.activation_regions) == (part.pieces(), part.activation_regions) == (1, 3)
    assert result.decisions["exact"] == 0


def _outcome(net, domain):  # type: ignore[no-untyped-def]
    try:
        return certified_count(net, domain)
    except Undecided:
        return "undecided"


@settings(max_examples=300)
@given(st.one_of(networks(), networks(EXTREMES, max_width=3)), DOMAINS)
def test_compiled_kernel_decides_as_numpy(net, domain) -> None:  # type: ignore[no-untyped-def]
    """The compiled kernel does the same float operations in the same order:
    the same answers, and Undecided on the same networks."""
    from pwl.engine import _jit

    fast = _outcome(net, domain)
    _jit.set_default_policy("off")
    try:
        slow = _outcome(net, domain)
    finally:
        _jit.set_default_policy("on")
    assert fast == slow
