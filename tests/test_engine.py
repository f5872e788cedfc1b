"""The engine (:func:`pwl.engine.propagate`) against the reference, exact evaluation,
and the lectures' bounds, on random and on deliberately degenerate networks."""

from __future__ import annotations

import importlib.util
from bisect import bisect_left
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import pwl
from pwl.engine.parallel import count_chunked
from pwl.engine.propagate import RegionLimit, _propagate
from reference import RefNet, spec_of
from strategies import big_network_specs, cases, domains, network_specs, rational_in

# -- helpers -----------------------------------------------------------------


def engine_form(part: pwl.Partition, r: int, k: int) -> tuple:
    """Output ``k``'s affine form on region ``r``, as exact (slope, intercept)."""
    den = part.den
    return (Fraction(int(part.slope_num[r, k]), den), Fraction(int(part.icpt_num[r, k]), den))


def engine_value(part: pwl.Partition, x: Fraction, k: int) -> list:
    """Output ``k`` at ``x`` by the form of each region that contains ``x``
    (two of them when ``x`` is a cut point)."""
    cuts = part.cuts()
    r = bisect_left(cuts, x)
    regions = [r, r + 1] if r < len(cuts) and cuts[r] == x else [r]
    values = []
    for q in regions:
        a, c = engine_form(part, q, k)
        values.append(a * x + c)
    return values


def check_against_reference(spec: list, domain, per_layer: bool = True) -> pwl.Partition:
    """Every count, point and per-layer statistic of the engine equals the
    reference's; returns the engine's partition."""
    net = pwl.Network.sequential(spec)
    part = pwl.propagate(net, domain, per_layer=per_layer)
    ref = RefNet(spec).partition(domain)
    ref.self_check()
    outputs = len(spec[-1]["weights"])
    assert part.outputs == outputs
    assert part.cuts() == ref.cuts()
    assert part.regions == len(ref.intervals)
    for k in range(outputs):
        assert part.breakpoints(k) == ref.breakpoints(k), f"output {k}"
        assert part.pieces(k) == ref.pieces(k), f"output {k}"
        assert [engine_form(part, r, k) for r in range(part.regions)] == \
            [ref.output_form(r, k) for r in range(len(ref.intervals))]
    assert part.breakpoints(None) == ref.breakpoints(None)
    assert part.joint_pieces() == ref.joint_pieces()
    assert part.activation_regions == ref.activation_regions()
    if per_layer:
        assert part.layers is not None and len(part.layers) == len(spec)
        for k, stats in enumerate(part.layers):
            width = len(spec[k]["weights"])
            assert (stats.index, stats.width) == (k, width)
            assert stats.regions == ref.regions_after(k), f"layer {k}"
            assert stats.kappa_pre == tuple(ref.kappa(k, i, post=False) for i in range(width))
            assert stats.kappa_post == tuple(ref.kappa(k, i, post=True) for i in range(width))
    return part


def sample_points(part: pwl.Partition, domain, draw) -> list:
    """Every cut, the domain's ends, and random rationals in every region."""
    cuts = list(part.cuts())
    ends = [None if domain is None else Fraction(domain[0])] + cuts + \
        [None if domain is None else Fraction(domain[1])]
    xs = cuts + [e for e in (ends[0], ends[-1]) if e is not None]
    for lo, hi in zip(ends, ends[1:]):
        xs.append(draw(rational_in(lo, hi)))
    return xs


def telgarsky(depth: int) -> list:
    """The triangle map composed ``depth`` times: 2^depth pieces on [0, 1]."""
    layers = [{"weights": [[2], [4]], "bias": [0, -2], "activation": "relu"}]
    for _ in range(depth - 1):
        layers.append({"weights": [[2, -2], [4, -4]], "bias": [0, -2], "activation": "relu"})
    layers.append({"weights": [[1, -1]], "bias": [0], "activation": "identity"})
    return layers


# -- engine against the reference --------------------------------------------


@settings(max_examples=300)
@given(cases())
def test_engine_matches_reference(case):
    spec, domain = case
    check_against_reference(spec, domain)


@settings(max_examples=150)
@given(cases(network_specs(min_depth=1, max_depth=3, max_width=3,
                           entries=st.integers(-2, 2).map(Fraction))))
def test_engine_matches_reference_integer_weights(case):
    # integer weights in a small range make coincident cuts and exact ties common
    spec, domain = case
    check_against_reference(spec, domain)


@settings(max_examples=150)
@given(cases(big_network_specs()))
def test_engine_matches_reference_large_magnitudes(case):
    spec, domain = case
    check_against_reference(spec, domain)


# -- exact evaluation ----------------------------------------------------------


@settings(max_examples=200)
@given(cases(), st.data())
def test_forms_evaluate_exactly(case, data):
    spec, domain = case
    net = pwl.Network.sequential(spec)
    part = pwl.propagate(net, domain)
    for x in sample_points(part, domain, data.draw):
        value = net.evaluate(x)
        assert value == RefNet(spec).evaluate(x)
        for k in range(net.output_size):
            assert set(engine_value(part, x, k)) == {value[k]}, (x, k)


@settings(max_examples=100)
@given(cases(big_network_specs()), st.data())
def test_forms_evaluate_exactly_large_magnitudes(case, data):
    spec, domain = case
    net = pwl.Network.sequential(spec)
    part = pwl.propagate(net, domain)
    for x in sample_points(part, domain, data.draw):
        value = net.evaluate(x)
        for k in range(net.output_size):
            assert set(engine_value(part, x, k)) == {value[k]}, (x, k)


# -- invariants ----------------------------------------------------------------


@settings(max_examples=200)
@given(cases())
def test_partition_invariants(case):
    spec, domain = case
    part = pwl.propagate(pwl.Network.sequential(spec), domain)
    cuts = part.cuts()
    assert all(a < b for a, b in zip(cuts, cuts[1:]))
    if domain is not None and cuts:
        assert Fraction(domain[0]) < cuts[0] and cuts[-1] < Fraction(domain[1])
    assert part.regions == len(cuts) + 1 and part.den > 0
    union = set()
    for k in range(part.outputs):
        bps = part.breakpoints(k)
        assert set(bps) <= set(cuts)
        assert part.pieces(k) == len(bps) + 1
        union |= set(bps)
    assert part.breakpoints(None) == tuple(sorted(union))
    assert part.joint_pieces() == len(union) + 1
    assert 1 <= part.activation_regions <= part.regions


@settings(max_examples=200)
@given(cases(allow_line=False), st.data())
def test_splitting_the_domain(case, data):
    """Breakpoints on [lo, m] and [m, hi], with m where the whole has one,
    are the breakpoints on [lo, hi]."""
    spec, (lo, hi) = case
    net = pwl.Network.sequential(spec)
    whole = pwl.propagate(net, (lo, hi))
    m = data.draw(st.one_of(rational_in(lo, hi), st.sampled_from(whole.cuts() or ((lo + hi) / 2,))))
    assume(lo < m < hi)
    left, right = pwl.propagate(net, (lo, m)), pwl.propagate(net, (m, hi))
    for k in range(net.output_size):
        expected = whole.breakpoints(k)
        middle = (m,) if m in expected else ()
        assert left.breakpoints(k) + middle + right.breakpoints(k) == expected


@settings(max_examples=200)
@given(cases())
def test_layer_bounds(case):
    """kappa(relu(f)) <= 2 kappa(f), kappa(act(f)) <= (kinks + 1) kappa(f), and a
    pre-activation has at most 1 + sum (kappa - 1) over the neurons it reads."""
    spec, domain = case
    net = pwl.Network.sequential(spec)
    part = pwl.propagate(net, domain, per_layer=True)
    previous = None
    for k, (layer, stats) in enumerate(zip(net.layers, part.layers)):
        factor = len(layer.activation.kinks) + 1
        for i, (pre, post) in enumerate(zip(stats.kappa_pre, stats.kappa_post)):
            assert post <= factor * pre
            if layer.activation.name == "relu":
                assert post <= 2 * pre
            if previous is None:
                assert pre == 1  # affine in the input
            else:
                used = [kp for w, kp in zip(layer.weights[i], previous) if w != 0]
                assert pre <= 1 + sum(kp - 1 for kp in used)
                assert pre <= sum(previous)
        previous = stats.kappa_post
    regions = [s.regions for s in part.layers]
    assert regions == sorted(regions) and regions[-1] == part.regions
    if net.depth:
        assert part.activation_regions == regions[net.depth - 1]


@settings(max_examples=100)
@given(network_specs(max_depth=3, max_width=3), st.data())
def test_domain_ends_on_breakpoints(spec, data):
    """A domain that ends at breakpoints keeps exactly the breakpoints strictly inside."""
    net = pwl.Network.sequential(spec)
    bps = pwl.propagate(net).breakpoints(0)
    ends = [min(bps, default=0) - 1] + list(bps) + [max(bps, default=0) + 1]
    i = data.draw(st.integers(0, len(ends) - 2))
    j = data.draw(st.integers(i + 1, len(ends) - 1))
    part = pwl.propagate(net, (ends[i], ends[j]))
    assert part.breakpoints(0) == tuple(ends[i + 1:j])


@settings(max_examples=150)
@given(cases(network_specs(max_depth=3, max_width=3)), st.data())
def test_half_lines(case, data):
    """Chunks of the line are half-lines (an internal domain of the engine)."""
    spec, _ = case
    net = pwl.Network.sequential(spec)
    c = data.draw(st.sampled_from(RefNet(spec).partition(None).cuts() or (Fraction(0),)))
    for dom in ((None, c), (c, None)):
        part = _propagate(net, dom)
        ref = RefNet(spec).partition(dom)
        assert part.cuts() == ref.cuts()
        assert part.breakpoints(0) == ref.breakpoints(0)
        assert part.activation_regions == ref.activation_regions()


@settings(max_examples=200)
@given(cases(), st.integers(2, 6))
def test_region_limit(case, max_regions):
    """Past ``max_regions`` the engine hands back split points that are
    activation-region boundaries of the whole network: counts on the parts
    add up to the counts on the whole."""
    spec, domain = case
    net = pwl.Network.sequential(spec)
    whole = pwl.propagate(net, domain)
    try:
        part = pwl.propagate(net, domain, max_regions=max_regions)
    except RegionLimit as exc:
        split = list(exc.boundaries)
        assert exc.regions > max_regions and split
        assert split == sorted(set(split)) and set(split) <= set(whole.cuts())
        assert set(split) <= set(RefNet(spec).partition(domain).pattern_boundaries())
        ends = [None, *split, None] if domain is None else [domain[0], *split, domain[1]]
        parts = [_propagate(net, (a, b)) for a, b in zip(ends, ends[1:])]
        assert sum(p.activation_regions for p in parts) == whole.activation_regions
        for k in range(net.output_size):
            glued = []
            for p, seam in zip(parts, split + [None]):
                glued += p.breakpoints(k)
                if seam in whole.breakpoints(k):
                    glued.append(seam)
            assert tuple(glued) == whole.breakpoints(k)
    else:
        # the output layer's own kinks may exceed the limit only when the
        # hidden partition offers no boundary to split at
        assert part.regions <= max_regions or part.activation_regions == 1
        assert part.cuts() == whole.cuts() and part.pieces() == whole.pieces()


# -- fixed examples ------------------------------------------------------------


@pytest.mark.parametrize("depth", range(1, 11))
def test_telgarsky_on_unit_interval(depth):
    part = pwl.propagate(pwl.Network.sequential(telgarsky(depth)), (0, 1))
    assert part.pieces() == 2**depth
    assert part.activation_regions == 2**depth
    assert part.breakpoints() == tuple(Fraction(k, 2**depth) for k in range(1, 2**depth))
    if depth <= 5:
        check_against_reference(telgarsky(depth), (0, 1))


def test_telgarsky_on_the_line():
    spec = telgarsky(3)
    part = check_against_reference(spec, None)
    assert part.pieces() == 10


def test_relu_minus_relu_is_one_piece():
    spec = [{"weights": [[1], [-1]], "bias": [0, 0], "activation": "relu"},
            {"weights": [[1, -1]], "bias": [0], "activation": "identity"}]
    part = check_against_reference(spec, None)
    assert (part.pieces(), part.activation_regions, part.breakpoints()) == (1, 2, ())
    assert engine_form(part, 0, 0) == engine_form(part, 1, 0) == (1, 0)


@pytest.mark.parametrize("domain", [None, (-1, 1), (0, 1), (-1, 0), ("1/3", "1/2")])
def test_constant_neuron_on_kink_counts_below(domain):
    """z = 0 everywhere: relu'(0) = 0, the neuron is off, nothing is cut."""
    spec = [{"weights": [[0], [1]], "bias": [0, 0], "activation": "relu"},
            {"weights": [[1, 1]], "bias": [0], "activation": "identity"}]
    part = check_against_reference(spec, domain)
    assert part.activation_regions == (2 if domain in (None, (-1, 1)) else 1)


def test_dead_network():
    spec = [{"weights": [[1], [2]], "bias": [-1, 3], "activation": "relu"},
            {"weights": [[-1, -2]], "bias": [-1], "activation": "relu"},
            {"weights": [[5]], "bias": [7], "activation": "identity"}]
    part = check_against_reference(spec, None)
    assert part.pieces() == 1 and engine_form(part, 0, 0) == (0, 7)


def test_zero_at_an_existing_cut():
    # layer 2's first neuron is relu(x) - 0 with zero at x = 0, where layer 1 cuts
    spec = [{"weights": [[1], [-1]], "bias": [0, 0], "activation": "relu"},
            {"weights": [[1, -3], [1, 1]], "bias": [0, 0], "activation": "hardtanh",
             "min": 0, "max": 1},
            {"weights": [[1, 1]], "bias": [0], "activation": "identity"}]
    check_against_reference(spec, None)
    check_against_reference(spec, (0, 2))


def test_cuts_within_an_ulp_across_regions():
    """Two hardtanh neurons cross different kinks at 1 - e and 1 + e, on both
    sides of the cut at 1, closer than float64 can tell apart."""
    for e in (Fraction(1, 2**60), Fraction(1, 2**70), Fraction(1, 3**40)):
        spec = [{"weights": [[1], [1]], "bias": [-1, 10], "activation": "relu"},
                {"weights": [[0, 1], [0, 1]], "bias": [-10 + e, -11 - e], "activation": "hardtanh",
                 "min": 0, "max": 1},
                {"weights": [[1, 1]], "bias": [0], "activation": "identity"}]
        part = check_against_reference(spec, None)
        assert part.cuts() == (-10, -e, 1 - e, 1, 1 + e, 2 + e)


def test_progress_and_output_index():
    spec = telgarsky(3)
    seen = []
    part = pwl.propagate(pwl.Network.sequential(spec), (0, 1), per_layer=True,
                         progress=lambda k, regions: seen.append((k, regions)))
    assert seen == [(s.index, s.regions) for s in part.layers]
    with pytest.raises(pwl.PWLValueError, match="output 1 does not exist"):
        part.pieces(1)
    with pytest.raises(pwl.PWLValueError, match="output -1 does not exist"):
        part.breakpoints(-1)


def test_region_limit_at_the_output_layer():
    """The output layer's kinks are not activation-region boundaries: a split
    there would count the one hidden region on both sides of it."""
    spec = [{"weights": [[1]], "bias": [0], "activation": "identity"},
            {"weights": [[1]] * 6, "bias": [0, -1, -2, -3, -4, -5], "activation": "relu"}]
    net = pwl.Network.sequential(spec)
    whole = pwl.propagate(net)
    assert whole.activation_regions == 1
    capped = pwl.propagate(net, max_regions=2)   # no hidden boundary to split at
    assert capped.activation_regions == 1 and capped.cuts() == whole.cuts()
    chunked = count_chunked(net, None, max_regions=2)
    assert (chunked.pieces, chunked.activation_regions) == (whole.pieces(), 1)
    # behind a relu layer the hidden cut at 0 is the only admissible seam
    spec2 = [{"weights": [[1], [-1]], "bias": [0, 0], "activation": "relu"},
             {"weights": [[1, 0]] * 6, "bias": [0, -1, -2, -3, -4, -5], "activation": "relu"}]
    net2 = pwl.Network.sequential(spec2)
    whole2 = pwl.propagate(net2)
    with pytest.raises(RegionLimit) as info:
        pwl.propagate(net2, max_regions=2)
    assert set(info.value.boundaries) <= set(RefNet(spec2).partition(None).pattern_boundaries())
    chunked2 = count_chunked(net2, None, max_regions=2)
    assert chunked2.activation_regions == whole2.activation_regions == 2
    assert chunked2.pieces == whole2.pieces()


def test_engine_rejects_two_inputs():
    net = pwl.Network.sequential([([[1, 1]], [0], "identity")])
    with pytest.raises(pwl.PWLValueError, match="2 inputs"):
        pwl.propagate(net)


# -- large magnitudes: the int64 / float64 boundaries of pwl.engine.exact -------------


def _deep(weight: int, depth: int = 6) -> list:
    """A fixed deep network whose integers grow like ``weight ** depth``."""
    layers = [{"weights": [[weight], [-weight], [weight - 1]], "bias": [1, 2, -3],
               "activation": "relu"}]
    for k in range(depth - 1):
        s = -1 if k % 2 else 1
        layers.append({"weights": [[weight, -weight, 1], [s * weight, weight - 1, -weight],
                                   [1, s, weight]],
                       "bias": [-weight, weight // 2 + k, -1], "activation": "relu"})
    layers.append({"weights": [[1, -1, 2]], "bias": [0], "activation": "identity"})
    return layers


@pytest.mark.parametrize("weight", [1000, 2**10, 10**6, 2**26 + 1, 2**31 - 1, 10**12])
@pytest.mark.parametrize("domain", [None, (-1, 1), ("-1/1000", "1/999")])
def test_deep_large_weights(weight, domain):
    check_against_reference(_deep(weight), domain)


BIG_FIRST_LAYERS = [
    pytest.param([[10**12], [-(10**12)]], [1, 10**12 + 1], id="1e12"),
    pytest.param([[1], [1]], [2**62, -(2**62)], id="bias-2^62"),
    pytest.param([[2**62 + 1], [1]], [0, 1], id="weight-2^62+1"),
    pytest.param([[2**63 - 1], [-(2**63 - 1)]], [2**63 - 2, 1], id="2^63-1"),
    pytest.param([[1], [-1]], [Fraction(1, 2**61 - 1), Fraction(1, 2**61 + 1)], id="big-denominators"),
    pytest.param([[Fraction(2**62 - 1, 2**31)], [Fraction(1, 3**39)]], [1, -1], id="rational-2^62"),
    pytest.param([[2**53 + 1], [2**53]], [-(2**53), -(2**53) - 1], id="2^53"),
]


@pytest.mark.parametrize("weights, bias", BIG_FIRST_LAYERS)
@pytest.mark.parametrize("domain", [None, (-2, 2)])
def test_large_first_layer(weights, bias, domain):
    """Forms that need Python ints from the very first layer (no cut yet)."""
    spec = [{"weights": weights, "bias": bias, "activation": "relu"},
            {"weights": [[1, -1], [3, 1]], "bias": [0, -1], "activation": "relu"},
            {"weights": [[1, 1]], "bias": [0], "activation": "identity"}]
    check_against_reference(spec, domain)


def test_huge_cut_point():
    """A cut at -10^400, beyond float64's range, is still an exact cut."""
    spec = [{"weights": [[1], [1]], "bias": [0, 1], "activation": "relu"},
            {"weights": [[1, 0], [1, 1]], "bias": [0, "-1e400"], "activation": "relu"},
            {"weights": [[1, 1]], "bias": [0], "activation": "identity"}]
    part = check_against_reference(spec, None)
    assert part.cuts()[-1] == Fraction(10**400 - 1, 2)


def test_near_coincident_cuts():
    """Cut points closer than a float64 ulp, and exactly coincident ones."""
    n = 2**60
    spec = [{"weights": [[n], [n + 1], [2 * n], [n - 1]], "bias": [-(n - 1), -n, -(2 * n - 2), -(n - 2)],
             "activation": "relu"},
            {"weights": [[1, -1, 1, 1]], "bias": [0], "activation": "identity"}]
    part = check_against_reference(spec, None)
    assert part.cuts() == (Fraction(n - 2, n - 1), Fraction(n - 1, n), Fraction(n, n + 1))
    check_against_reference(spec, (Fraction(n - 1, n), 1))


def test_exact_zero_with_huge_products():
    """The second layer's neuron vanishes exactly at the first layer's cut,
    with products far beyond 2^63 that cancel."""
    a, b = 2**61 - 1, 2**59 + 5
    spec = [{"weights": [[a], [b]], "bias": [-b, 3], "activation": "relu"},
            # at x = b/a the first neuron is 0 and the second is b*b/a + 3
            {"weights": [[a, a]], "bias": [-(b * b + 3 * a)], "activation": "relu"},
            {"weights": [[1]], "bias": [0], "activation": "identity"}]
    check_against_reference(spec, None)
    check_against_reference(spec, (Fraction(b, a), 1))


# -- guards against silent float conversion --------------------------------------


class Guard(Fraction):
    """A rational that refuses to become a float."""

    def __float__(self):  # pragma: no cover - raising is the point
        raise AssertionError("silent float conversion")


def test_no_float_conversion_of_inputs():
    spec = [{"weights": [[Guard(3, 7)], [Guard(-2)]], "bias": [Guard(1, 5), Guard(1)],
             "activation": "leaky_relu", "alpha": Guard(1, 3)},
            {"weights": [[Guard(1), Guard(5, 2)]], "bias": [Guard(0)], "activation": "identity"}]
    net = pwl.Network.sequential(spec)
    net.evaluate(Guard(1, 3))
    part = pwl.propagate(net, (Guard(-1), Guard(2, 3)))
    assert part.pieces() == RefNet(spec_of(net)).partition((-1, Fraction(2, 3))).pieces()


def test_examples_folder_matches_reference():
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "examples"
    files = sorted(folder.glob("*.json"))
    for path in files:
        net = pwl.load(path)
        check_against_reference(spec_of(net), None)
        check_against_reference(spec_of(net), (-1, 1))


# -- forms at points -----------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.one_of(network_specs(), big_network_specs()), st.data())
def test_forms_at_points_match_the_partition(spec, data) -> None:
    """forms_at, which reads each neuron's piece off its value at a point,
    gives the partition's forms at a point strictly inside each region."""
    from pwl.engine.propagate import forms_at

    net = pwl.Network.sequential(spec)
    part = pwl.propagate(net)
    ends = [None, *part.cuts(), None]
    regions = list(range(part.regions))[:12]
    points = [data.draw(rational_in(ends[r], ends[r + 1])) for r in regions]
    a, c, den = forms_at(net, points)
    for q, r in enumerate(regions):
        for k in range(part.outputs):
            assert (Fraction(int(a[k, q]), den), Fraction(int(c[k, q]), den)) == \
                engine_form(part, r, k)


# -- the compiled kernel -------------------------------------------------------


def _without_kernel(run):
    from pwl.engine import _jit

    _jit.set_default_policy("off")
    try:
        return run()
    finally:
        _jit.set_default_policy("on")


@settings(max_examples=300, deadline=None)
@given(st.one_of(network_specs(), big_network_specs()), domains())
# a neuron exactly at its kink on a cut, rising: above the kink right of it
@example([([[1]], [0]), ([[1]], [0]), ([[1]], [0], "identity")], None)
# two neurons crossing at one point, cut once
@example([([[2], [3]], [-1, -2]), ([[1, 1], [2, -1]], [0, 1]), ([[1, -1]], [0], "identity")],
         None)
def test_compiled_kernel_agrees_with_numpy(spec, domain) -> None:
    """Every cut, form and count is the same with the numba kernel (when
    installed) as with numpy alone."""
    net = pwl.Network.sequential(spec)
    fast = pwl.propagate(net, domain, per_layer=True)
    slow = _without_kernel(lambda: pwl.propagate(pwl.Network.sequential(spec), domain,
                                                 per_layer=True))
    assert fast.cuts() == slow.cuts()
    assert fast.activation_regions == slow.activation_regions
    assert fast.layers == slow.layers
    for r in range(fast.regions):
        for k in range(fast.outputs):
            assert engine_form(fast, r, k) == engine_form(slow, r, k)


def test_huge_domain_ends_with_zero_forms() -> None:
    # every pre-activation is 0, so no product bounds the ends: they must
    # still fit the kernel's integers, or the numpy path takes them
    net = pwl.Network.sequential([([[0]], [0]), ([[1]], [0], "identity")])
    for domain in ((0, 10**30), (-(10**40), Fraction(1, 10**30))):
        assert pwl.count(net, domain).pieces == 1
        assert pwl.propagate(net, domain).activation_regions == 1


def test_kernel_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from pwl.engine import _jit

    monkeypatch.setenv("PWL_JIT", "off")
    assert _jit.kernels(1 << 30) is None
    monkeypatch.setenv("PWL_JIT", "on")
    if importlib.util.find_spec("numba") is not None:
        assert _jit.kernels() is not None
    with pytest.raises(ValueError):
        _jit.set_default_policy("sometimes")
