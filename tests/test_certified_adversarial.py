"""The certified route on networks built so that float64 cannot decide.

Every network here has an exact answer worked out by hand (in the comments
next to it), checked against the exact engine (:func:`pwl.propagate`) and
the plain-Fraction reference (``tests/reference.py``).  Each test also
checks *how* the answer was reached: the undecidable decisions must leave
float64 (``decisions["exact"] > 0``), and only for the few regions around
the tie (``escalated_regions`` at most a small stated number).

The deliberate-bug tests then break one tier at a time (the error bounds,
the exact tier, the escalation) and show that these networks catch it: the
sabotaged run gives a wrong count.

Last, property tests compare the certified route with both oracles on
generated float networks (weights at their exact binary value), on lines
through networks with many inputs, and check that escalation stays rare on
He-initialised networks.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl import certified
from pwl.certified import Undecided, certified_counts
from pwl.errors import PWLValueError
from reference import RefNet, spec_of

F = Fraction
Domain = Optional[tuple[Fraction, Fraction]]


# -- the oracles ------------------------------------------------------------------

def exact_counts(net: pwl.Network, domain: Domain = None) -> tuple[tuple[int, ...], int, int]:
    """(pieces per output, joint pieces, activation regions) by the exact engine."""
    part = pwl.propagate(net, domain)
    return (tuple(part.pieces(k) for k in range(part.outputs)), part.joint_pieces(),
            part.activation_regions)


def reference_counts(net: pwl.Network, domain: Domain = None) -> tuple[tuple[int, ...], int, int]:
    """The same numbers by the slow Fraction reference (which checks itself)."""
    part = RefNet(spec_of(net)).partition(domain)
    part.self_check()
    outputs = net.output_size
    return (tuple(part.pieces(k) for k in range(outputs)), part.joint_pieces(),
            part.activation_regions())


def certified_triple(net: pwl.Network, domain: Domain = None) -> tuple[tuple[int, ...], int, int]:
    r = certified_counts(net, domain)
    return r.pieces, r.joint_pieces, r.activation_regions


def check_adversarial(net: pwl.Network, domain: Domain, pieces: tuple[int, ...], regions: int,
                      joint: int, max_regions: int) -> dict[str, int]:
    """The hand answer, both oracles and the certified route agree; some
    decisions were escalated, for at most ``max_regions`` regions, and the
    exact decisions stay within those regions' neurons and the output cuts."""
    expected = (pieces, joint, regions)
    assert exact_counts(net, domain) == expected
    assert reference_counts(net, domain) == expected
    result = certified_counts(net, domain)
    assert (result.pieces, result.joint_pieces, result.activation_regions) == expected
    d = result.decisions
    assert d["exact"] > 0, d
    assert d["escalated_regions"] <= max_regions, d
    widest = max(net.widths)
    assert d["exact"] <= d["escalated_regions"] * widest + len(pieces) * (regions - 1), d
    # the front end, told to take this route, says the same
    front = pwl.count(net, domain, method="certified", workers=1)
    assert (front.method, front.pieces, front.activation_regions) == ("certified", pieces[0],
                                                                       regions)
    assert front.decisions == d
    return d


# -- 1. a root exactly on an earlier cut ---------------------------------------------

def root_on_cut() -> pwl.Network:
    # Layer 1: n1 = relu(0.3x - 0.1) (root 1/3), n2 = relu(0.7x + 0.2) (root -2/7).
    # Layer 2: m = relu(0.5 n1 + 1.1 n2 - 143/300).  Right of -2/7, n2 = 0.7x + 0.2
    # and 1.1 n2 = 0.77x + 0.22; at x = 1/3 that is 0.77/3 + 0.22 = 143/300, and
    # n1(1/3) = 0: m's pre-activation vanishes exactly at the cut 1/3 on both of
    # its sides, reached through n2 instead of n1.  Left of -2/7 it is the
    # constant -143/300.  So no new cut: cuts {-2/7, 1/3}, 3 regions.
    # Output 2.5 m: 0 up to 1/3 (m off), then 2.5 (0.92x - 0.31...) > 0: 2 pieces.
    return pwl.Network.sequential([
        ([["0.3"], ["0.7"]], ["-0.1", "0.2"], "relu"),
        ([["0.5", "1.1"]], [F(-143, 300)], "relu"),
        ([["2.5"]], ["0"], "identity")])


def root_on_cut_floats() -> pwl.Network:
    # The same shape at float values (1/3 itself is no float):
    # n1 = relu(0.75x - 0.25) (root 1/3), n2 = relu(x + 0.5) (root -1/2);
    # m = relu(0.5 n1 + 3 n2 - 2.5).  Right of -1/2, 3 n2 - 2.5 = 3x - 1 vanishes
    # at 1/3, where n1 = 0: m's root is the cut 1/3 on both sides.  Left of -1/2
    # m's pre-activation is -2.5.  Cuts {-1/2, 1/3}: 3 regions.
    # Outputs m and -m: 0 | 0 | 3.375x - 1.125: 2 pieces each, joint 2.
    return pwl.Network.from_arrays(
        [np.array([[0.75], [1.0]]), np.array([[0.5, 3.0]]), np.array([[1.0], [-1.0]])],
        [np.array([-0.25, 0.5]), np.array([-2.5]), np.array([0.0, 0.0])],
        ["relu", "relu", "identity"])


ROOT_ON_CUT = [
    pytest.param(root_on_cut, None, (2,), 3, 2, 2, id="decimals"),
    # the domain starts at the tie: n1, n2 and m are all on inside [1/3, 1]
    pytest.param(root_on_cut, (F(1, 3), F(1)), (1,), 1, 1, 1, id="decimals-domain-end"),
    pytest.param(root_on_cut_floats, None, (2, 2), 3, 2, 2, id="floats"),
]


@pytest.mark.parametrize("build, domain, pieces, regions, joint, max_regions", ROOT_ON_CUT)
def test_root_exactly_on_an_earlier_cut(build, domain, pieces, regions, joint,
                                        max_regions) -> None:  # type: ignore[no-untyped-def]
    check_adversarial(build(), domain, pieces, regions, joint, max_regions)


# -- 2. equal roots along different paths ---------------------------------------------

def equal_roots_first_layer() -> pwl.Network:
    # relu(0.3x - 0.06) and relu(-1.1x + 0.22): both roots are exactly 1/5 (the
    # floats of 0.06/0.3 and 0.22/1.1 need not agree).  ONE cut, 2 regions.
    # Output n1 + n2: -1.1x + 0.22 left of 1/5, 0.3x - 0.06 right: 2 pieces.
    return pwl.Network.sequential([
        ([["0.3"], ["-1.1"]], ["-0.06", "0.22"], "relu"),
        ([["1", "1"]], ["0"], "identity")])


def equal_roots_second_layer() -> pwl.Network:
    # Layer 1: n1 = relu(0.3x + 0.1) (root -1/3), n2 = relu(0.7x + 0.2) (root -2/7).
    # Layer 2: m1 = relu(1.1 n1 - 0.176), m2 = relu(1.3 n2 - 0.442).  At x = 1/5:
    # n1 = 0.16, 1.1 * 0.16 = 0.176; n2 = 0.34, 1.3 * 0.34 = 0.442: both roots are
    # 1/5, through different neurons.  Left of -2/7 (resp. -1/3) the constants
    # are negative, so no other roots: cuts {-1/3, -2/7, 1/5}, 4 regions.
    # Outputs m1 - m2 and m1 + m2: 0 left of 1/5; right of it
    # 0.33x - 0.066 - (0.91x - 0.182) = -0.58x + 0.116 and 1.24x - 0.248: 2 pieces each.
    return pwl.Network.sequential([
        ([["0.3"], ["0.7"]], ["0.1", "0.2"], "relu"),
        ([["1.1", "0"], ["0", "1.3"]], ["-0.176", "-0.442"], "relu"),
        ([["1", "-1"], ["1", "1"]], ["0", "0"], "identity")])


def equal_roots_on_a_cut() -> pwl.Network:
    # Three second-layer neurons whose roots all fall on the first layer's cut
    # 1/3 of n = relu(0.3x - 0.1), reached through the other neuron
    # p = relu(0.6x + 0.4) (root -2/3; p(1/3) = 0.6): m1 = relu(p - 0.6),
    # m2 = relu(-0.7p + 0.42) and m3 = relu(1.5p + 2n - 0.9).  All vanish at 1/3: 3 ties at one cut, no new
    # cut; cuts {-2/3, 1/3}, 3 regions.  Output m1 + m2 - m3:
    # x < -2/3: m2 = 0.42 (p = 0), so 0.42;  (-2/3, 1/3): m2 = -0.42x + 0.14 only;
    # x > 1/3: m1 = 0.6x - 0.2, m3 = 0.9x - 0.3 + 0.6x - 0.2 = 1.5x - 0.5:
    # -0.9x + 0.3.  Three different forms: 3 pieces.
    return pwl.Network.sequential([
        ([["0.3"], ["0.6"]], ["-0.1", "0.4"], "relu"),
        ([["0", "1"], ["0", "-0.7"], ["2", "1.5"]], ["-0.6", "0.42", "-0.9"], "relu"),
        ([["1", "1", "-1"]], ["0"], "identity")])


EQUAL_ROOTS = [
    pytest.param(equal_roots_first_layer, (2,), 2, 2, 1, id="first-layer"),
    pytest.param(equal_roots_second_layer, (2, 2), 4, 2, 3, id="second-layer"),
    pytest.param(equal_roots_on_a_cut, (3,), 3, 3, 3, id="three-on-a-cut"),
]


@pytest.mark.parametrize("build, pieces, regions, joint, max_regions", EQUAL_ROOTS)
def test_equal_roots_make_one_cut(build, pieces, regions, joint,
                                  max_regions) -> None:  # type: ignore[no-untyped-def]
    net = build()
    check_adversarial(net, None, pieces, regions, joint, max_regions)
    # the exact engine lists the shared root once
    cuts = pwl.propagate(net).cuts()
    assert len(cuts) == regions - 1 == len(set(cuts))


# -- 3. output forms equal across a cut after cancellation ------------------------------

# Five first-layer neurons: u1 = u2 = u3 = relu(x - 0.5) (root 1/2), p = relu(x + 2)
# (root -2) and w = relu(-x - 1) (root -1): cuts {-2, -1, 1/2}, 4 regions.
_L0 = ([["1"], ["1"], ["1"], ["1"], ["-1"]], ["-0.5", "-0.5", "-0.5", "2", "-1"], "relu")
_W0 = np.array([[1.0], [1.0], [1.0], [1.0], [-1.0]])
_B0 = np.array([-0.5, -0.5, -0.5, 2.0, -1.0])


def cancel_decimals(p_weight: str) -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # y = 0.1 u1 + 0.2 u2 - 0.3 u3 + c p + w with exact decimals: across 1/2
        # the form changes by (0.1 + 0.2 - 0.3)(x - 1/2) = 0, so 1/2 is no breakpoint.
        # c = 1: y = -x - 1 | 1 | x + 2 | x + 2: 3 pieces.
        # c = 0: y = -x - 1 | 0 | 0 | 0: 2 pieces.
        return pwl.Network.sequential([_L0, ([["0.1", "0.2", "-0.3", p_weight, "1"]], ["0"],
                                             "identity")])
    return build


def cancel_floats(p_weight: float) -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # The same with the float64 weights 0.1, 0.2, -0.3 at their binary values:
        # 0.1 + 0.2 - 0.3 = 2^-55 exactly (checked below), so the form changes by
        # 2^-55 (x - 1/2) at 1/2: one more piece than with decimals.
        return pwl.Network.from_arrays([_W0, np.array([[0.1, 0.2, -0.3, p_weight, 1.0]])],
                                       [_B0, np.zeros(1)])
    return build


def test_float_cancellation_leaves_two_to_the_minus_55() -> None:
    assert F(0.1) + F(0.2) - F(0.3) == F(1, 2**55)
    assert F("0.1") + F("0.2") - F("0.3") == 0


CANCELLATION = [
    pytest.param(cancel_decimals("1"), (3,), 4, 3, 1, id="decimals"),
    pytest.param(cancel_decimals("0"), (2,), 4, 2, 1, id="decimals-zero-after"),
    pytest.param(cancel_floats(1.0), (4,), 4, 4, 1, id="floats"),
    pytest.param(cancel_floats(0.0), (3,), 4, 3, 1, id="floats-zero-after"),
]


@pytest.mark.parametrize("build, pieces, regions, joint, max_regions", CANCELLATION)
def test_output_forms_cancelling_across_a_cut(build, pieces, regions, joint,
                                              max_regions) -> None:  # type: ignore[no-untyped-def]
    net = build()
    check_adversarial(net, None, pieces, regions, joint, max_regions)
    # 1/2 is a breakpoint exactly when the float weights leave 2^-55
    assert (F(1, 2) in pwl.propagate(net).breakpoints()) == (net.layers[0].floats is not None)


# -- 4. slopes cancelling to exactly 0 ----------------------------------------------------

def zero_slope(bias: str, activation: str = "relu") -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # Layer 1: u = relu(0.1x + 0.1) (root -1), v = relu(0.2x + 0.4) (root -2),
        # w = relu(0.3x - 0.3) (root 1).  Layer 2: m = act(u + v - w + b).
        # m's pre-activation, region by region:
        #   x < -2: b;  (-2, -1): 0.2x + 0.4 + b;  (-1, 1): 0.3x + 0.5 + b;
        #   x > 1: (0.1 + 0.2 - 0.3) x + 0.8 + b = 0.8 + b, slope exactly 0.
        return pwl.Network.sequential([
            ([["0.1"], ["0.2"], ["0.3"]], ["0.1", "0.4", "-0.3"], "relu"),
            {"weights": [["1", "1", "-1"]], "bias": [bias], "activation": activation,
             **({"alpha": "0.1"} if activation == "leaky_relu" else {})},
            ([["1"]], ["0"], "identity")])
    return build


ZERO_SLOPE = [
    # b = -0.5: constant +0.3 right of 1; root 0 inside (-1, 1); (-2, -1): 0.2x - 0.1
    # < 0.  Cuts {-2, -1, 0, 1}: 5 regions; m = 0 | 0 | 0 | 0.3x | 0.3: 3 pieces.
    pytest.param(zero_slope("-0.5"), (3,), 5, 3, 2, id="positive-constant"),
    # b = -1.1: constant -0.3 right of 1, and negative on every other region
    # (roots 2 and 3.5 lie outside theirs): m = 0, 1 piece; cuts {-2, -1, 1}: 4 regions.
    pytest.param(zero_slope("-1.1"), (1,), 4, 1, 2, id="negative-constant"),
    # b = -0.8: exactly 0 right of 1 (off: relu'(0) = 0), and 0.3x - 0.3 on (-1, 1)
    # vanishes exactly at the cut 1: m = 0, 1 piece; 4 regions.
    pytest.param(zero_slope("-0.8"), (1,), 4, 1, 3, id="zero-constant"),
    # leaky_relu (alpha 0.1), b = -0.5: m = -0.05 | 0.02x - 0.01 | 0.03x | 0.3x | 0.3:
    # 5 pieces, 5 regions.
    pytest.param(zero_slope("-0.5", "leaky_relu"), (5,), 5, 5, 2, id="leaky-positive"),
    # leaky_relu, b = -0.8: -0.08 | 0.02x - 0.04 | 0.03x - 0.03 | 0: 4 pieces, 4 regions.
    pytest.param(zero_slope("-0.8", "leaky_relu"), (4,), 4, 4, 3, id="leaky-zero"),
    # abs, b = -0.8: 0.8 | -0.2x + 0.4 | -0.3x + 0.3 (root at the cut 1) | 0: 4 pieces;
    # abs of a pre-activation that vanishes on a cut makes no cut: 4 regions.
    pytest.param(zero_slope("-0.8", "abs"), (4,), 4, 4, 3, id="abs-zero"),
]


@pytest.mark.parametrize("build, pieces, regions, joint, max_regions", ZERO_SLOPE)
def test_slope_cancelling_to_zero(build, pieces, regions, joint,
                                  max_regions) -> None:  # type: ignore[no-untyped-def]
    check_adversarial(build(), None, pieces, regions, joint, max_regions)


# -- 5. weights from 2^-1000 to 2^1000 -----------------------------------------------------

TINY, HUGE = F(2) ** -1000, F(2) ** 1000

EXTREMES = [
    # n1 = relu(t x - t) (root 1), n2 = relu(T x + T) (root -1); y = T n1 + t n2:
    # 0 | x + 1 | 2x: 3 pieces, 3 regions.
    pytest.param([([[TINY], [HUGE]], [-TINY, HUGE], "relu"), ([[HUGE, TINY]], [0], "identity")],
                 None, id="tiny-and-huge"),
    pytest.param([([[TINY], [HUGE]], [-TINY, HUGE], "relu"), ([[HUGE, TINY]], [0], "identity")],
                 (-HUGE, HUGE), id="tiny-and-huge-domain"),
    # n1 = relu(t x + t), n2 = relu(x - 1); y = t n1 + n2: 0 | t^2 (x + 1) | + x - 1.
    pytest.param([([[TINY], [1]], [TINY, -1], "relu"), ([[TINY, 1]], [0], "identity")],
                 None, id="tiny-product"),
    # n1 = relu(T x - T), n2 = relu(T x - 2T); m = relu(t n1 - t n2 + t) is t, then
    # x - 1 + t, then 1 + t (always on); y = T m = 1 | T x - T + 1 | T + 1.
    pytest.param([([[HUGE], [HUGE]], [-HUGE, -2 * HUGE], "relu"),
                  ([[TINY, -TINY]], [TINY], "relu"), ([[HUGE]], [0], "identity")],
                 None, id="cancel-in-between"),
    # within the float range: n1 = relu(2^-400 (x + 3)), n2 = relu(2^400 (x - 1));
    # y = 2^400 n1 + 2^-400 n2 = 0 | x + 3 | 2x + 2.
    pytest.param([([[F(2) ** -400], [F(2) ** 400]], [3 * F(2) ** -400, -F(2) ** 400], "relu"),
                  ([[F(2) ** 400, F(2) ** -400]], [0], "identity")], None, id="2^-400..2^400"),
    # n1 = relu(T x + T), n2 = relu(x - 1); y = T n1 + n2: 0 | T^2 (x + 1) | + x - 1.
    # Integer weights of 2^512 and more make pwl.count's route choice square a
    # float beyond the float range (counting._big_numbers): OverflowError.
    pytest.param([([[HUGE], [1]], [HUGE, -1], "relu"), ([[HUGE, 1]], [0], "identity")],
                 None, id="huge-product",
                 marks=pytest.mark.xfail(strict=True, raises=OverflowError,
                                         reason="pwl.count: float(w)**2 overflows in "
                                                "_big_numbers for integer weights >= 2^512")),
]


@pytest.mark.parametrize("spec, domain", EXTREMES)
def test_extreme_magnitudes_are_counted_exactly(spec, domain) -> None:  # type: ignore[no-untyped-def]
    net = pwl.Network.sequential(spec)
    expected = ((3,), 3, 3)
    assert exact_counts(net, domain) == expected
    assert reference_counts(net, domain) == expected
    try:
        assert certified_triple(net, domain) == expected
    except Undecided:
        # documented: only for numbers outside the float range
        with pytest.raises(PWLValueError, match="float range"):
            pwl.count(net, domain, method="certified", workers=1)
    result = pwl.count(net, domain, workers=1)
    assert (result.pieces, result.activation_regions) == (3, 3)


# -- 6. roots closer than one ulp -----------------------------------------------------------

GAP = F(2) ** -70


def close_roots(r: Fraction, gap: Fraction) -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # n1 = relu(x - r), n2 = relu(x - r - gap); y = n1 - n2.
        # gap > 0: 0 | x - r | gap: cuts {r, r + gap}, 3 regions, 3 pieces.
        # gap = 0: n1 = n2, y = 0: one cut, 2 regions, 1 piece.
        return pwl.Network.sequential([([[1], [1]], [-r, -(r + gap)], "relu"),
                                       ([[1, -1]], [0], "identity")])
    return build


def close_roots_scaled(r: Fraction, gap: Fraction) -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # The same roots reached differently: n1 = relu(0.7 (x - r)) and
        # n2 = relu(-3 (x - r - gap)).  y = n1 + n2:
        # gap > 0: -3x + 3r + 3 gap | 0.7x - 0.7r - 3x + 3r + 3gap | 0.7 (x - r)
        #          (the middle form differs from both): 3 pieces, 3 regions;
        # gap = 0: -3 (x - r) | 0.7 (x - r): 2 pieces, 2 regions.
        return pwl.Network.sequential([
            ([["0.7"], [-3]], [-F("0.7") * r, 3 * (r + gap)], "relu"),
            ([[1, 1]], [0], "identity")])
    return build


def close_roots_second_layer(r: Fraction, gap: Fraction) -> Callable[[], pwl.Network]:
    def build() -> pwl.Network:
        # n = relu(x) (root 0); m1 = relu(n - r), m2 = relu(3n - 3r - 3 gap);
        # y = m1 - m2: 0 | x - r | -2x + 2r + 3 gap.  gap > 0: cuts {0, r, r + gap},
        # 4 regions, 3 pieces;  gap = 0: cuts {0, r}, 3 regions, 2 pieces.
        return pwl.Network.sequential([
            ([[1]], [0], "relu"),
            ([[1], [3]], [-r, -3 * (r + gap)], "relu"),
            ([[1, -1]], [0], "identity")])
    return build


CLOSE_ROOTS = []
for _r in (F(1, 3), F("0.1"), F(10**6, 7)):
    CLOSE_ROOTS += [
        pytest.param(close_roots(_r, GAP), (3,), 3, 3, 1, id=f"distinct-{_r}"),
        pytest.param(close_roots(_r, F(0)), (1,), 2, 1, 1, id=f"equal-{_r}"),
        pytest.param(close_roots_scaled(_r, GAP), (3,), 3, 3, 1, id=f"scaled-distinct-{_r}"),
        pytest.param(close_roots_scaled(_r, F(0)), (2,), 2, 2, 1, id=f"scaled-equal-{_r}"),
        pytest.param(close_roots_second_layer(_r, GAP), (3,), 4, 3, 1,
                     id=f"second-layer-distinct-{_r}"),
        pytest.param(close_roots_second_layer(_r, F(0)), (2,), 3, 2, 1,
                     id=f"second-layer-equal-{_r}"),
    ]


@pytest.mark.parametrize("build, pieces, regions, joint, max_regions", CLOSE_ROOTS)
def test_roots_closer_than_one_ulp(build, pieces, regions, joint,
                                   max_regions) -> None:  # type: ignore[no-untyped-def]
    net = build()
    check_adversarial(net, None, pieces, regions, joint, max_regions)


def test_sub_ulp_cuts_are_distinct_and_exact() -> None:
    r = F(1, 3)
    assert float(r) == float(r + GAP)       # one float for both roots
    assert pwl.propagate(close_roots(r, GAP)()).cuts() == (r, r + GAP)
    assert pwl.propagate(close_roots(r, F(0))()).cuts() == (r,)


# -- 7. deliberate bugs: each tier, broken, gives a wrong count here -------------------------

def amplifier() -> pwl.Network:
    # A rounding error made early, carried through a layer of small values, and
    # amplified at a tie: only the column bound's ||W||_2 E term (the error
    # inherited from two layers back) covers it.  All weights are floats.
    #   layer 1: p = relu(2^-30 x + 1 + 2^-20) (root -2^30 - 2^10), t = relu(x - 1024);
    #   layer 2: g = relu(p + 2^40): in floats 2^40 + 1 + 2^-20 rounds to 2^40 + 1;
    #   layer 3: g2 = relu(g - 2^40 + 4): exactly 2^-30 x + 5 + 2^-20, in floats
    #            2^-30 x + 5 (always on: >= 4);
    #   layer 4: g3 = relu(g2) (a pass-through of small values);
    #   layer 5: m = relu(g3 - 5 - 2^-19): exactly 2^-30 (x - 1024), root 1024, the
    #            cut of t; in floats 2^-30 x - 2^-19, root 2048.
    # Exact: cuts {-2^30 - 2^10, 1024}, 3 regions; y = m: 2 pieces.
    W = [np.array([[2.0**-30], [1.0]]), np.array([[1.0, 0.0]]), np.array([[1.0]]),
         np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]])]
    b = [np.array([1 + 2.0**-20, -1024.0]), np.array([2.0**40]), np.array([-(2.0**40 - 4)]),
         np.array([0.0]), np.array([-(5 + 2.0**-19)]), np.array([0.0])]
    return pwl.Network.from_arrays(W, b)


def test_amplified_rounding_error_is_covered() -> None:
    net = amplifier()
    assert pwl.propagate(net).cuts() == (-(F(2) ** 30 + 2**10), F(1024))
    assert exact_counts(net) == reference_counts(net) == ((2,), 2, 3)
    result = certified_counts(net, None)
    assert (result.pieces, result.activation_regions) == ((2,), 3)
    assert result.decisions["exact"] > 0


def _outcome(build: Callable[[], pwl.Network]):  # type: ignore[no-untyped-def]
    """The certified counts of a freshly built network (no cached floats), or
    the exception a sabotaged run raised."""
    try:
        return certified_triple(build())
    except Exception as exc:  # a sabotaged run may also crash: that is caught too
        return type(exc).__name__


def _assert_sabotage_caught(monkeypatch, build, attribute, target, value) -> None:  # type: ignore[no-untyped-def]
    expected = exact_counts(build())
    assert _outcome(build) == expected
    monkeypatch.setenv("PWL_JIT", "off")      # the numpy paths that the patches reach
    monkeypatch.setattr(target, attribute, value)
    assert _outcome(build) != expected
    monkeypatch.undo()
    assert _outcome(build) == expected


# the tie networks above that each sabotage gets wrong
TIES_U0 = [pytest.param(b, id=i) for b, i in [
    (root_on_cut, "root-on-cut"), (equal_roots_first_layer, "equal-roots"),
    (equal_roots_second_layer, "equal-roots-2"), (cancel_decimals("0"), "cancellation"),
    (zero_slope("-1.1"), "zero-slope-negative"), (zero_slope("-0.8"), "zero-slope-zero"),
    (amplifier, "amplifier")]]


@pytest.mark.parametrize("build", TIES_U0)
def test_bug_zero_unit_roundoff_is_caught(monkeypatch, build) -> None:  # type: ignore[no-untyped-def]
    """Bounds without the rounding terms (u = 0) take float ties for decisions."""
    _assert_sabotage_caught(monkeypatch, build, "_U", certified, 0.0)


def test_bug_spectral_bound_too_small_is_caught(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A far too small ||W||_2 drops the inherited error from the column
    bounds: the amplifier's float root 2048 is then taken as proven."""
    _assert_sabotage_caught(monkeypatch, amplifier, "spectral_bound", certified,
                            lambda w, fro: 1e-30)


TIES_EXACT = [pytest.param(b, id=i) for b, i in [
    (root_on_cut, "root-on-cut"), (equal_roots_first_layer, "equal-roots"),
    (equal_roots_second_layer, "equal-roots-2"), (equal_roots_on_a_cut, "three-on-a-cut"),
    (cancel_decimals("1"), "cancellation"), (cancel_floats(1.0), "cancellation-floats"),
    (close_roots(F(1, 3), F(0)), "equal-sub-ulp")]]


@pytest.mark.parametrize("build", TIES_EXACT)
def test_bug_skipped_exact_tier_is_caught(monkeypatch, build) -> None:  # type: ignore[no-untyped-def]
    """Escalated regions whose exact ties are left to the float decisions."""
    _assert_sabotage_caught(monkeypatch, build, "_exact_region", certified._Run,
                            lambda self, *args: [])


TIES_ESCALATION = [pytest.param(b, id=i) for b, i in [
    (equal_roots_first_layer, "equal-roots"), (equal_roots_second_layer, "equal-roots-2"),
    (cancel_decimals("1"), "cancellation"), (cancel_floats(1.0), "cancellation-floats"),
    (zero_slope("-0.5"), "zero-slope-positive"), (zero_slope("-0.8"), "zero-slope-zero"),
    (close_roots(F(1, 3), F(0)), "equal-sub-ulp")]]


@pytest.mark.parametrize("build", TIES_ESCALATION)
def test_bug_skipped_escalation_is_caught(monkeypatch, build) -> None:  # type: ignore[no-untyped-def]
    """No region escalated: the undecided float decisions are used as they are."""
    _assert_sabotage_caught(monkeypatch, build, "_undecided_regions", certified._Run,
                            staticmethod(lambda d: np.zeros(0, dtype=np.int64)))
