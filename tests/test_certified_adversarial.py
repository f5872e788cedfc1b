"""The certified route on networks built so that float64 cannot decide.

Every network here has an exact answer worked out by hand (in the comments
next to it), checked against the exact engine (:func:`pwl.engine.propagate`) and
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
from pwl.engine import certified
from pwl.engine.certified import Undecided, certified_counts
from pwl.errors import PWLValueError
from reference import RefNet, spec_of

F = Fraction
Domain = Optional[tuple[Fraction, Fraction]]
Build = Callable[[], pwl.Network]


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
    decisions were escalated, for at most ``max_regions`` regions (summed over
    layers), and the exact decisions stay within those regions' neurons and
    the output cuts."""
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


# Each case: (build, domain, pieces per output, activation regions, joint pieces,
# ties, dead).  ``ties`` counts the (layer, region) pairs with a decision no
# error bound can prove: a root on a region's end, two equal or sub-ulp roots in
# one region, a slope that is exactly 0 while the row-norm bound is not.  ``dead``
# counts the regions behind a relu layer that is off on the whole region: the
# next layer's forms are exact constants there (see
# test_regions_behind_a_dead_layer_are_not_escalated).
CASE_ARGS = "build, domain, pieces, regions, joint, ties, dead"


def check_case(build, domain, pieces, regions, joint, ties,  # type: ignore[no-untyped-def]
               dead) -> pwl.Network:
    net = build()
    check_adversarial(net, domain, pieces, regions, joint, ties + dead)
    return net


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
    # ties: m on both sides of 1/3; dead: x < -2/7 (resp. -1/2), both off
    pytest.param(root_on_cut, None, (2,), 3, 2, 2, 1, id="decimals"),
    # the domain starts at the tie: n1's root (layer 1) and m's root (layer 2)
    # are its end 1/3; inside [1/3, 1] everything is on: 1 region, 1 piece
    pytest.param(root_on_cut, (F(1, 3), F(1)), (1,), 1, 1, 2, 0, id="decimals-domain-end"),
    pytest.param(root_on_cut_floats, None, (2, 2), 3, 2, 2, 1, id="floats"),
]


@pytest.mark.parametrize(CASE_ARGS, ROOT_ON_CUT)
def test_root_exactly_on_an_earlier_cut(build, domain, pieces, regions, joint, ties,
                                        dead) -> None:  # type: ignore[no-untyped-def]
    check_case(build, domain, pieces, regions, joint, ties, dead)


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
    # m2 = relu(-0.7p + 0.42) and m3 = relu(1.5p + 2n - 0.9).  All three vanish
    # at 1/3: no new cut; cuts {-2/3, 1/3}, 3 regions.  Output m1 + m2 - m3:
    # x < -2/3: m2 = 0.42 (p = 0), so 0.42;  (-2/3, 1/3): m2 = -0.42x + 0.14 only;
    # x > 1/3: m1 = 0.6x - 0.2, m3 = 0.9x - 0.3 + 0.6x - 0.2 = 1.5x - 0.5:
    # -0.9x + 0.3.  Three different forms: 3 pieces.
    return pwl.Network.sequential([
        ([["0.3"], ["0.6"]], ["-0.1", "0.4"], "relu"),
        ([["0", "1"], ["0", "-0.7"], ["2", "1.5"]], ["-0.6", "0.42", "-0.9"], "relu"),
        ([["1", "1", "-1"]], ["0"], "identity")])


EQUAL_ROOTS = [
    # ties: the one region holding both roots
    pytest.param(equal_roots_first_layer, None, (2,), 2, 2, 1, 0, id="first-layer"),
    # ties: (-2/7, oo) holds both roots; on (-1/3, -2/7) m2's slope is an exact 0
    # (n2 off, n1 on) that the bound ||(0, 1.3)|| E cannot prove.  dead: x < -1/3
    pytest.param(equal_roots_second_layer, None, (2, 2), 4, 2, 2, 1, id="second-layer"),
    # ties: both sides of 1/3; dead: x < -2/3
    pytest.param(equal_roots_on_a_cut, None, (3,), 3, 3, 2, 1, id="three-on-a-cut"),
]


@pytest.mark.parametrize(CASE_ARGS, EQUAL_ROOTS)
def test_equal_roots_make_one_cut(build, domain, pieces, regions, joint, ties,
                                  dead) -> None:  # type: ignore[no-untyped-def]
    net = check_case(build, domain, pieces, regions, joint, ties, dead)
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
    # ties: the one first-layer region holding the triple root 1/2 (the output
    # cuts the bounds cannot settle are decided exactly too, without escalation)
    pytest.param(cancel_decimals("1"), None, (3,), 4, 3, 1, 0, id="decimals"),
    pytest.param(cancel_decimals("0"), None, (2,), 4, 2, 1, 0, id="decimals-zero-after"),
    pytest.param(cancel_floats(1.0), None, (4,), 4, 4, 1, 0, id="floats"),
    pytest.param(cancel_floats(0.0), None, (3,), 4, 3, 1, 0, id="floats-zero-after"),
]


@pytest.mark.parametrize(CASE_ARGS, CANCELLATION)
def test_output_forms_cancelling_across_a_cut(build, domain, pieces, regions, joint, ties,
                                              dead) -> None:  # type: ignore[no-untyped-def]
    net = check_case(build, domain, pieces, regions, joint, ties, dead)
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
    # ties: x > 1 (the exact-0 slope), and for b = -0.8 also (-1, 1), whose
    # root is the cut 1; dead: x < -2, where the whole first layer is off
    #
    # b = -0.5: constant +0.3 right of 1; root 0 inside (-1, 1); (-2, -1): 0.2x - 0.1
    # < 0.  Cuts {-2, -1, 0, 1}: 5 regions; m = 0 | 0 | 0 | 0.3x | 0.3: 3 pieces.
    pytest.param(zero_slope("-0.5"), None, (3,), 5, 3, 1, 1, id="positive-constant"),
    # b = -1.1: constant -0.3 right of 1, and negative on every other region
    # (roots 2 and 3.5 lie outside theirs): m = 0, 1 piece; cuts {-2, -1, 1}: 4 regions.
    pytest.param(zero_slope("-1.1"), None, (1,), 4, 1, 1, 1, id="negative-constant"),
    # b = -0.8: exactly 0 right of 1 (off: relu'(0) = 0), and 0.3x - 0.3 on (-1, 1)
    # vanishes exactly at the cut 1: m = 0, 1 piece; 4 regions.
    pytest.param(zero_slope("-0.8"), None, (1,), 4, 1, 2, 1, id="zero-constant"),
    # leaky_relu (alpha 0.1), b = -0.5: m = -0.05 | 0.02x - 0.01 | 0.03x | 0.3x | 0.3:
    # 5 pieces, 5 regions.
    pytest.param(zero_slope("-0.5", "leaky_relu"), None, (5,), 5, 5, 1, 1,
                 id="leaky-positive"),
    # leaky_relu, b = -0.8: -0.08 | 0.02x - 0.04 | 0.03x - 0.03 | 0: 4 pieces, 4 regions.
    pytest.param(zero_slope("-0.8", "leaky_relu"), None, (4,), 4, 4, 2, 1, id="leaky-zero"),
    # abs, b = -0.8: 0.8 | -0.2x + 0.4 | -0.3x + 0.3 (root at the cut 1) | 0: 4 pieces;
    # abs of a pre-activation that vanishes on a cut makes no cut: 4 regions.
    pytest.param(zero_slope("-0.8", "abs"), None, (4,), 4, 4, 2, 1, id="abs-zero"),
]


@pytest.mark.parametrize(CASE_ARGS, ZERO_SLOPE)
def test_slope_cancelling_to_zero(build, domain, pieces, regions, joint, ties,
                                  dead) -> None:  # type: ignore[no-untyped-def]
    check_case(build, domain, pieces, regions, joint, ties, dead)


# -- 5. weights from 2^-1000 to 2^1000 -----------------------------------------------------

TINY, HUGE = F(2) ** -1000, F(2) ** 1000

THREE = ((3,), 3, 3)

EXTREMES = [
    # n1 = relu(t x - t) (root 1), n2 = relu(T x + T) (root -1); y = T n1 + t n2:
    # 0 | x + 1 | 2x: 3 pieces, 3 regions.
    pytest.param([([[TINY], [HUGE]], [-TINY, HUGE], "relu"), ([[HUGE, TINY]], [0], "identity")],
                 None, THREE, False, id="tiny-and-huge"),
    pytest.param([([[TINY], [HUGE]], [-TINY, HUGE], "relu"), ([[HUGE, TINY]], [0], "identity")],
                 (-HUGE, HUGE), THREE, False, id="tiny-and-huge-domain"),
    # n1 = relu(t x + t), n2 = relu(x - 1); y = t n1 + n2: 0 | t^2 (x + 1) | + x - 1.
    pytest.param([([[TINY], [1]], [TINY, -1], "relu"), ([[TINY, 1]], [0], "identity")],
                 None, THREE, False, id="tiny-product"),
    # n1 = relu(T x - T), n2 = relu(T x - 2T); m = relu(t n1 - t n2 + t) is t, then
    # x - 1 + t, then 1 + t (always on); y = T m = 1 | T x - T + 1 | T + 1.
    pytest.param([([[HUGE], [HUGE]], [-HUGE, -2 * HUGE], "relu"),
                  ([[TINY, -TINY]], [TINY], "relu"), ([[HUGE]], [0], "identity")],
                 None, THREE, False, id="cancel-in-between"),
    # within the float range: n1 = relu(2^-400 (x + 3)), n2 = relu(2^400 (x - 1));
    # y = 2^400 n1 + 2^-400 n2 = 0 | x + 3 | 2x + 2.
    pytest.param([([[F(2) ** -400], [F(2) ** 400]], [3 * F(2) ** -400, -F(2) ** 400], "relu"),
                  ([[F(2) ** 400, F(2) ** -400]], [0], "identity")],
                 None, THREE, True, id="2^-400..2^400"),
    # n1 = relu(T x + T), n2 = relu(x - 1); y = T n1 + n2: 0 | T^2 (x + 1) | + x - 1.
    # (Integer weights of 2^512 and more once made pwl.count's choice of route
    # square a float beyond the float range.)
    pytest.param([([[HUGE], [1]], [HUGE, -1], "relu"), ([[HUGE, 1]], [0], "identity")],
                 None, THREE, False, id="huge-product"),
    # n = relu(2^e x), read by outputs n and 1 - n: 2 pieces each, 2 regions
    pytest.param([([[2**511]], [0], "relu"), ([[1], [-1]], [0, 1], "identity")],
                 None, ((2, 2), 2, 2), True, id="integer-2^511"),
    pytest.param([([[2**512]], [0], "relu"), ([[1], [-1]], [0, 1], "identity")],
                 None, ((2, 2), 2, 2), True, id="integer-2^512"),
]


@pytest.mark.parametrize("spec, domain, expected, in_float_range", EXTREMES)
def test_extreme_magnitudes_are_counted_exactly(spec, domain, expected,
                                                in_float_range) -> None:  # type: ignore[no-untyped-def]
    """``in_float_range``: every weight and form lies within 2^-900 .. 2^1000,
    so the certified route must decide; otherwise it may refuse (Undecided,
    its documented answer there), and the front end then enumerates exactly."""
    net = pwl.Network.sequential(spec)
    assert exact_counts(net, domain) == expected
    assert reference_counts(net, domain) == expected
    result = pwl.count(net, domain, workers=1)
    assert (result.pieces, result.activation_regions) == (expected[0][0], expected[2])
    try:
        assert certified_triple(net, domain) == expected
    except Undecided:
        with pytest.raises(PWLValueError, match="float range"):
            pwl.count(net, domain, method="certified", workers=1)
        assert not in_float_range, "Undecided within the float range"


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


# ties: the one region holding both roots; dead: x < 0 in the second-layer variant
CLOSE_ROOTS = []
for _r in (F(1, 3), F("0.1"), F(10**6, 7)):
    CLOSE_ROOTS += [
        pytest.param(close_roots(_r, GAP), None, (3,), 3, 3, 1, 0, id=f"distinct-{_r}"),
        pytest.param(close_roots(_r, F(0)), None, (1,), 2, 1, 1, 0, id=f"equal-{_r}"),
        pytest.param(close_roots_scaled(_r, GAP), None, (3,), 3, 3, 1, 0,
                     id=f"scaled-distinct-{_r}"),
        pytest.param(close_roots_scaled(_r, F(0)), None, (2,), 2, 2, 1, 0,
                     id=f"scaled-equal-{_r}"),
        pytest.param(close_roots_second_layer(_r, GAP), None, (3,), 4, 3, 1, 1,
                     id=f"second-layer-distinct-{_r}"),
        pytest.param(close_roots_second_layer(_r, F(0)), None, (2,), 3, 2, 1, 1,
                     id=f"second-layer-equal-{_r}"),
    ]


@pytest.mark.parametrize(CASE_ARGS, CLOSE_ROOTS)
def test_roots_closer_than_one_ulp(build, domain, pieces, regions, joint, ties,
                                   dead) -> None:  # type: ignore[no-untyped-def]
    check_case(build, domain, pieces, regions, joint, ties, dead)


def test_sub_ulp_cuts_are_distinct_and_exact() -> None:
    r = F(1, 3)
    assert float(r) == float(r + GAP)       # one float for both roots
    assert pwl.propagate(close_roots(r, GAP)()).cuts() == (r, r + GAP)
    assert pwl.propagate(close_roots(r, F(0))()).cuts() == (r,)


# -- locality: what a dead layer leaves behind needs no exact work ---------------------------

DEAD_CASES = [p for p in ROOT_ON_CUT + EQUAL_ROOTS + ZERO_SLOPE + CLOSE_ROOTS if p.values[-1] > 0]


@pytest.mark.parametrize(CASE_ARGS, DEAD_CASES)
def test_regions_behind_a_dead_layer_are_not_escalated(build, domain, pieces, regions, joint,
                                                       ties, dead) -> None:  # type: ignore[no-untyped-def]
    # where a whole relu layer is off, its outputs are exact zeros (no error at
    # all): the next layer's slopes there are exact zeros, proven without escalation
    result = certified_counts(build(), domain)
    assert (result.pieces, result.joint_pieces, result.activation_regions) == (pieces, joint,
                                                                               regions)
    assert result.decisions["escalated_regions"] <= ties, result.decisions


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


def _outcome(build: Build) -> object:
    """The certified counts of a freshly built network (no cached floats), or
    the exception a sabotaged run raised."""
    try:
        return certified_triple(build())
    except Exception as exc:  # a sabotaged run may also crash: that is caught too
        return type(exc).__name__


def _assert_sabotage_caught(monkeypatch: pytest.MonkeyPatch, build: Build, attribute: str,
                            target: object, value: object) -> None:
    """The run is right, wrong with the sabotage in place, and right again
    once it is undone."""
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
def test_bug_zero_unit_roundoff_is_caught(monkeypatch: pytest.MonkeyPatch, build: Build) -> None:
    """Bounds without the rounding terms (u = 0) take float ties for decisions."""
    _assert_sabotage_caught(monkeypatch, build, "_U", certified, 0.0)


def test_bug_spectral_bound_too_small_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A far too small ||W||_2 drops the inherited error from the column
    bounds: the amplifier's float root 2048 is then taken as proven."""
    _assert_sabotage_caught(monkeypatch, amplifier, "spectral_bound", certified,
                            lambda w, fro: 1e-30)


TIES_EXACT = [pytest.param(b, id=i) for b, i in [
    (root_on_cut, "root-on-cut"), (equal_roots_first_layer, "equal-roots"),
    (equal_roots_second_layer, "equal-roots-2"), (cancel_decimals("1"), "cancellation"),
    (cancel_floats(1.0), "cancellation-floats"), (close_roots(F(1, 3), F(0)), "equal-sub-ulp")]]


@pytest.mark.parametrize("build", TIES_EXACT)
def test_bug_skipped_exact_tier_is_caught(monkeypatch: pytest.MonkeyPatch, build: Build) -> None:
    """Escalated regions whose exact ties are left to the float decisions."""
    _assert_sabotage_caught(monkeypatch, build, "_exact_region", certified._Run,
                            lambda self, *args: [])


TIES_ESCALATION = [pytest.param(b, id=i) for b, i in [
    (equal_roots_first_layer, "equal-roots"), (equal_roots_second_layer, "equal-roots-2"),
    (cancel_decimals("1"), "cancellation"), (cancel_floats(1.0), "cancellation-floats"),
    (close_roots(F(1, 3), F(0)), "equal-sub-ulp")]]
# (the zero-slope cases sit behind a dead layer, whose exact zeros the bounds
# prove without escalation, so skipping it changes nothing there)


@pytest.mark.parametrize("build", TIES_ESCALATION)
def test_bug_skipped_escalation_is_caught(monkeypatch: pytest.MonkeyPatch, build: Build) -> None:
    """No region escalated: the undecided float decisions are used as they are."""
    _assert_sabotage_caught(monkeypatch, build, "_undecided_regions", certified._Run,
                            staticmethod(lambda d: np.zeros(0, dtype=np.int64)))


def tie_after_cuts() -> pwl.Network:
    # n0 = relu(x) (exact: no bound), n = relu(n0) (the first rounding
    # bound, so the next layer is a guess); p = relu(n - 1), q = relu(n - 2),
    # r = relu(n + 5); m = relu(r - 6): m's root is x = 1, exactly p's cut,
    # made a layer earlier than the tie.  Cuts {0, 1, 2}: 4 regions;
    # y = m: 2 pieces.
    return pwl.Network.from_arrays(
        [np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0], [1.0], [1.0]]),
         np.array([[0.0, 0.0, 1.0]]), np.array([[1.0]])],
        [np.array([0.0]), np.array([0.0]), np.array([-1.0, -2.0, 5.0]), np.array([-6.0]),
         np.array([0.0])])


GUESSES = [pytest.param(b, id=i) for b, i in [
    (root_on_cut, "root-on-cut"), (equal_roots_second_layer, "equal-roots-2"),
    (cancel_floats(1.0), "cancellation-floats"), (amplifier, "amplifier"),
    (tie_after_cuts, "tie-after-cuts")]]


def _run_counting_rollbacks(monkeypatch: pytest.MonkeyPatch, build: Build, budget: float
                            ) -> tuple[object, int]:
    """The certified result with the Frobenius guess taken below ``budget``
    expected escalations, and how many times the run went back."""
    back = []
    restore = certified._Run._restore

    def counted(self: certified._Run, snapshot: tuple[object, ...]) -> None:
        back.append(snapshot)
        restore(self, snapshot)

    monkeypatch.setattr(certified, "_ESCALATION_BUDGET", budget)
    monkeypatch.setattr(certified._Run, "_restore", counted)
    r = certified_counts(build(), None)
    monkeypatch.undo()
    return (r.pieces, r.joint_pieces, r.activation_regions, r.decisions), len(back)


@pytest.mark.parametrize("build", GUESSES)
def test_a_wrong_frobenius_guess_goes_back_to_the_spectral_run(monkeypatch: pytest.MonkeyPatch,
                                                               build: Build) -> None:
    # budget 0: spectral bounds wherever an error is inherited; budget inf:
    # the Frobenius norm guessed everywhere, then, at the first escalation,
    # back to the first guess and spectral from there: the very same floats,
    # so the same decisions, settled the same way
    spectral, none_back = _run_counting_rollbacks(monkeypatch, build, 0.0)
    guessed, went_back = _run_counting_rollbacks(monkeypatch, build, float("inf"))
    assert none_back == 0
    assert went_back == 1
    assert guessed == spectral
    assert spectral[:3] == exact_counts(build())


def test_bug_incomplete_rollback_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Going back to the guessed layer but keeping the cuts made after it
    gives a wrong count (or a crash)."""
    monkeypatch.setattr(certified, "_ESCALATION_BUDGET", float("inf"))
    expected = exact_counts(tie_after_cuts())
    assert expected == ((2,), 2, 4)
    assert _outcome(tie_after_cuts) == expected

    def keep_cuts(self: certified._Run, snapshot: tuple[object, ...]) -> None:
        self.resume = snapshot[0]
        self.checkpoint = None

    monkeypatch.setenv("PWL_JIT", "off")
    monkeypatch.setattr(certified._Run, "_restore", keep_cuts)
    assert _outcome(tie_after_cuts) != expected


def test_spectral_bound_is_an_upper_bound() -> None:
    # the honest bound on the matrices the sabotage above replaces it on
    rng = np.random.default_rng(7)
    mats = [rng.standard_normal((32, 32)) * np.sqrt(2 / 32), rng.standard_normal((5, 64)),
            np.outer(rng.standard_normal(20), rng.standard_normal(9)), np.eye(12),
            np.diag(2.0 ** np.arange(-20, 20))]
    for w in mats:
        fro = float(np.sqrt((w * w).sum())) * (1 + 1e-12)
        bound = certified.spectral_bound(w, fro)
        assert np.linalg.norm(w, 2) * (1 - 1e-12) <= bound <= fro


# -- 8. differential properties on generated float networks ----------------------------------

STYLES = ("he", "ties", "dyadic", "scaled")


def float_layers(rng: np.random.Generator, widths: list[int], style: str, n_in: int = 1,
                 outputs: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """He-initialised float arrays, with the cases float64 cannot decide built in:

    * ``ties``: rows copied, scaled by powers of two (the same root exactly) or
      by 3 (a root within rounding of the other), negated (the same root, the
      other side), or zero; output weights that cancel a copied neuron's pair;
    * ``dyadic``: weights and biases on a grid of 1/8, so float arithmetic is
      exact and ties are exact float ties;
    * ``scaled``: each layer scaled by 2^k, |k| <= 30.
    """
    Ws, bs = [], []
    sizes = widths + [outputs]
    for k, n_out in enumerate(sizes):
        w = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        b = rng.standard_normal(n_out) * 0.5
        if style == "dyadic":
            w, b = np.round(w * 8) / 8, np.round(b * 8) / 8
        elif style == "scaled":
            scale = 2.0 ** int(rng.integers(-30, 31))
            w, b = w * scale, b * scale
        elif style == "ties" and n_out > 1:
            for _ in range(int(rng.integers(1, n_out))):
                i, j = (int(v) for v in rng.choice(n_out, 2, replace=False))
                kind = int(rng.integers(0, 5))
                factor = [2.0 ** int(rng.integers(-3, 4)), 3.0, -1.0, -0.5, 0.0][kind]
                w[j], b[j] = w[i] * factor, b[i] * factor
                if k == len(widths) - 1 and factor > 0 and kind != 1:
                    # the output layer adds the copy so that the pair cancels exactly
                    w2 = rng.standard_normal((outputs, n_out)) * np.sqrt(2.0 / n_out)
                    w2[:, j] = -w2[:, i] / factor
                    return Ws + [w, w2], bs + [b, rng.standard_normal(outputs) * 0.5]
        Ws.append(w)
        bs.append(b)
        n_in = n_out
    return Ws, bs


@st.composite
def float_networks(draw, max_width: int, min_width: int = 1, max_depth: int = 3):  # type: ignore[no-untyped-def]
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(min_width, max_width)) for _ in range(depth)]
    style = draw(st.sampled_from(STYLES))
    outputs = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Ws, bs = float_layers(rng, widths, style, outputs=outputs)
    return pwl.Network.from_arrays(Ws, bs)


FLOAT_DOMAINS = st.sampled_from([None, (F(-1), F(2)), (F(0), F(1)),
                                 (F(-0.3), F(1.7)), (F(1, 3), F(12345678901, 10**10))])


def assert_certified_exact(net: pwl.Network, domain: Domain, reference: bool) -> dict[str, int]:
    """The certified counts equal the exact engine's (and the reference's);
    Undecided is a failure here, every number being well inside the float range."""
    expected = exact_counts(net, domain)
    if reference:
        assert reference_counts(net, domain) == expected
    result = certified_counts(net, domain)
    assert (result.pieces, result.joint_pieces, result.activation_regions) == expected
    return result.decisions


@settings(max_examples=500, deadline=None)
@given(float_networks(max_width=6), FLOAT_DOMAINS)
def test_small_float_networks_against_both_oracles(net, domain) -> None:  # type: ignore[no-untyped-def]
    assert_certified_exact(net, domain, reference=True)


@settings(max_examples=100, deadline=None)
@given(float_networks(max_width=64, min_width=7), FLOAT_DOMAINS)
def test_wide_float_networks_against_the_exact_engine(net, domain) -> None:  # type: ignore[no-untyped-def]
    assert_certified_exact(net, domain, reference=False)


@st.composite
def lines(draw):  # type: ignore[no-untyped-def]
    """A line through a float network with up to 20 inputs, between two
    random float points."""
    n0 = draw(st.integers(2, 20))
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 24)) for _ in range(depth)]
    style = draw(st.sampled_from(STYLES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Ws, bs = float_layers(rng, widths, style, n_in=n0)
    net = pwl.Network.from_arrays(Ws, bs)
    a = [F(float(v)) for v in rng.standard_normal(n0) * draw(st.sampled_from([1.0, 10.0]))]
    b = [F(float(v)) for v in rng.standard_normal(n0)]
    if draw(st.booleans()):
        b[0] = a[0]     # a line parallel to a coordinate plane
    return pwl.restrict_to_line(net, a, b), max(widths) <= 6


@settings(max_examples=300, deadline=None)
@given(lines(), st.sampled_from([(F(0), F(1)), None, (F(-1, 2), F(3, 2))]))
def test_lines_through_many_input_networks(case, domain) -> None:  # type: ignore[no-untyped-def]
    line, small = case
    assert_certified_exact(line, domain, reference=small)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 4), st.lists(st.integers(16, 64), min_size=4, max_size=4),
       st.integers(0, 2**32 - 1), st.sampled_from([None, (F(-1), F(1))]))
def test_escalation_is_rare_on_he_networks(depth, widths, seed, domain) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    Ws, bs = float_layers(rng, widths[:depth], "he")
    result = certified_counts(pwl.Network.from_arrays(Ws, bs), domain)
    d = result.decisions
    total = d["float64"] + d["exact"]
    assert total > 0
    assert d["exact"] < 0.01 * total, d


@pytest.mark.parametrize("style, seed", [("he", 0), ("ties", 1), ("dyadic", 2)])
def test_blocked_products_count_exactly(monkeypatch: pytest.MonkeyPatch, style: str,
                                        seed: int) -> None:
    # products summed over blocks of 64 inputs (their rounding bounded by
    # gamma_64 + gamma_(n/64)), forced on layers of 150 inputs: the counts are
    # the exact engine's, and the blocked run is the one that happened
    monkeypatch.setattr(certified, "_BLOCKED_ABOVE", -1.0)
    calls = []
    affine = certified._affine

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("blocked", args[6] if len(args) > 6 else False))
        return affine(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(certified, "_affine", spy)
    rng = np.random.default_rng(seed)
    Ws, bs = float_layers(rng, [150, 150, 150], style)
    net = pwl.Network.from_arrays(Ws, bs)
    assert_certified_exact(net, (F(-1), F(1)), reference=False)
    assert any(calls)
