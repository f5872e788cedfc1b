"""Differential fuzz of the engine against the slow exact reference.

On random networks, the degenerate ones of :mod:`strategies` included, every
route pwl has to a count must give the reference's numbers exactly:

* :func:`pwl.engine.propagate`: cut points, breakpoints and pieces of every output,
  joint pieces, activation regions, the output's affine form on every region
  and the per-layer statistics;
* :func:`pwl.count` with its automatic method choice (composition through a
  rank-1 layer whenever one exists, else enumeration), and with breakpoints
  asked for (enumeration, which must list the reference's breakpoints);
* :func:`pwl.engine.parallel.count_chunked` with a cap of a few regions, so that
  most cases are cut into many chunks joined at the seams.

The CI runs a few hundred cases of each property; ``PWL_SLOW=1`` runs the
same property on 10,000 cases.
"""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl.engine import compose
from pwl.engine.parallel import count_chunked
from reference import RefNet
from strategies import big_network_specs, cases, network_specs, small_entries

# -- networks ----------------------------------------------------------------------


@st.composite
def bottleneck_specs(draw, max_depth: int = 4, max_width: int = 4) -> list:
    """Networks with a rank-1 hidden layer after the first, so that the
    automatic method composes; the factors may be zero (rank 0)."""
    spec = draw(network_specs(min_depth=2, max_depth=max_depth, max_width=max_width))
    k = draw(st.integers(1, len(spec) - 2))
    layer = spec[k]
    u = [draw(small_entries()) for _ in layer["weights"]]
    v = [draw(small_entries()) for _ in layer["weights"][0]]
    layer["weights"] = [[a * b for b in v] for a in u]
    return spec


def any_case() -> st.SearchStrategy[tuple]:
    """A network spec and a domain, from every family of networks."""
    return st.one_of(
        cases(),
        cases(network_specs(min_depth=1, max_depth=3, max_width=3,
                            entries=st.integers(-2, 2).map(Fraction))),
        cases(network_specs(max_depth=5, max_width=1)),     # every layer a bottleneck
        cases(bottleneck_specs()),
        cases(big_network_specs(max_depth=4, max_width=3)),
    )


# -- the comparison ----------------------------------------------------------------


def output_forms(part: pwl.Partition, k: int) -> list:
    den = part.den
    return [(Fraction(int(part.slope_num[r, k]), den), Fraction(int(part.icpt_num[r, k]), den))
            for r in range(part.regions)]


def check_case(spec: list, domain, max_regions: int) -> None:
    """Every count pwl makes of ``spec`` on ``domain`` equals the reference's."""
    net = pwl.Network.sequential(spec)
    ref = RefNet(spec).partition(domain)
    ref.self_check()
    regions = ref.activation_regions()
    outputs = len(spec[-1]["weights"])

    part = pwl.propagate(net, domain, per_layer=True)
    assert part.cuts() == ref.cuts()
    assert part.outputs == outputs and part.regions == len(ref.intervals)
    assert part.activation_regions == regions
    assert part.breakpoints(None) == ref.breakpoints(None)
    assert part.joint_pieces() == ref.joint_pieces()
    for k in range(outputs):
        assert part.breakpoints(k) == ref.breakpoints(k), f"output {k}"
        assert part.pieces(k) == ref.pieces(k), f"output {k}"
        assert output_forms(part, k) == [ref.output_form(r, k) for r in range(len(ref.intervals))]
    assert part.layers is not None
    for k, stats in enumerate(part.layers):
        width = len(spec[k]["weights"])
        assert stats.regions == ref.regions_after(k), f"layer {k}"
        assert stats.kappa_pre == tuple(ref.kappa(k, i, post=False) for i in range(width))
        assert stats.kappa_post == tuple(ref.kappa(k, i, post=True) for i in range(width))

    composes = compose.applies(net)
    for k in range(outputs):
        auto = pwl.count(net, domain, output=k)
        assert (auto.pieces, auto.activation_regions) == (ref.pieces(k), regions), \
            f"output {k}, method {auto.method}"
        if not composes:
            # weights with large denominators go through certified floats first
            assert auto.method in ("enumerate", "certified")
        listed = pwl.count(net, domain, output=k, breakpoints=True)
        assert listed.method == "enumerate"
        assert listed.breakpoints == ref.breakpoints(k), f"output {k}"
        assert (listed.pieces, listed.activation_regions) == (ref.pieces(k), regions)
        chunked = count_chunked(net, domain, output=k, max_regions=max_regions)
        assert (chunked.pieces, chunked.activation_regions) == (ref.pieces(k), regions), \
            f"output {k}, {chunked.chunks} chunks of at most {max_regions} regions"


def test_the_automatic_choice_composes_where_it_applies():
    """The fuzz below reaches the composition route: a spec with a rank-1
    hidden layer is counted by ``compose`` and agrees with the reference."""
    spec = [{"weights": [[1], [-1]], "bias": [0, 1], "activation": "relu"},
            {"weights": [[1, 1], [2, 2]], "bias": [-1, 0], "activation": "relu"},
            {"weights": [[1, -1]], "bias": [0], "activation": "identity"}]
    net = pwl.Network.sequential(spec)
    assert compose.applies(net)
    assert pwl.count(net).method == "compose"
    check_case(spec, None, 2)
    check_case(spec, (Fraction(-1), Fraction(2)), 3)


# -- the fuzz ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(any_case(), st.integers(2, 6))
def test_engine_counts_match_the_reference(case, max_regions):
    spec, domain = case
    check_case(spec, domain, max_regions)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PWL_SLOW"),
                    reason="set PWL_SLOW=1 for the 10,000-case fuzz")
@settings(max_examples=10_000, deadline=None)
@given(any_case(), st.integers(2, 6))
def test_engine_counts_match_the_reference_10000_cases(case, max_regions):
    spec, domain = case
    check_case(spec, domain, max_regions)
