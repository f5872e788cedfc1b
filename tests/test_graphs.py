"""Graph networks (residual add, concat, max, maxgroup, activation nodes)
against an independent reference: every node's outputs as exact
:class:`PiecewiseLinear` functions, combined with that class's own algebra
(``+``, scaling, ``maximum``, ``apply``), which shares no code with the
engine."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

import pwl
from pwl.values.function import PiecewiseLinear

SMALL = st.integers(-3, 3).map(Fraction) | st.sampled_from([Fraction(1, 2), Fraction(-3, 2)])
ACTS = st.sampled_from(["relu", "identity", "abs", "leaky_relu", "hardtanh"])


@st.composite
def graphs(draw):  # type: ignore[no-untyped-def]
    """A random DAG: dense layers, residual adds, concats, maxima and max-groups."""
    nodes = [{"name": "x", "op": "input", "size": 1}]
    sizes = {"x": 1}
    for k in range(draw(st.integers(1, 6))):
        name = f"n{k}"
        names = list(sizes)
        op = draw(st.sampled_from(["dense", "dense", "add", "concat", "max", "maxgroup",
                                   "activation"]))
        src = draw(st.sampled_from(names))
        if op == "dense":
            width = draw(st.integers(1, 3))
            spec = {"name": name, "op": "dense", "inputs": [src],
                    "weights": [[draw(SMALL) for _ in range(sizes[src])] for _ in range(width)],
                    "bias": [draw(SMALL) for _ in range(width)],
                    "activation": draw(ACTS)}
            sizes[name] = width
        elif op in ("add", "max"):
            same = [n for n in names if sizes[n] == sizes[src]]
            other = draw(st.sampled_from(same))
            spec = {"name": name, "op": op, "inputs": [src, other]}
            sizes[name] = sizes[src]
        elif op == "concat":
            other = draw(st.sampled_from(names))
            spec = {"name": name, "op": "concat", "inputs": [src, other]}
            sizes[name] = sizes[src] + sizes[other]
        elif op == "activation":
            spec = {"name": name, "op": "activation", "inputs": [src],
                    "activation": draw(st.sampled_from(["relu", "abs", "hardtanh"]))}
            sizes[name] = sizes[src]
        else:
            n = sizes[src]
            groups = draw(st.lists(st.lists(st.integers(0, n - 1), min_size=1, max_size=3),
                                   min_size=1, max_size=3))
            spec = {"name": name, "op": "maxgroup", "inputs": [src], "groups": groups}
            sizes[name] = len(groups)
        if spec.get("activation") == "leaky_relu":
            spec["alpha"] = "1/4"
        nodes.append(spec)
    return nodes


def reference_functions(nodes, domain):  # type: ignore[no-untyped-def]
    """Each node's outputs as PiecewiseLinear functions on ``domain``."""
    values: dict[str, list[PiecewiseLinear]] = {}
    for spec in nodes:
        op = spec["op"]
        if op == "input":
            out = [PiecewiseLinear.affine(1, 0, domain)]
        else:
            ins = [values[i] for i in spec["inputs"]]
            if op == "dense":
                params = {"alpha": spec["alpha"]} if "alpha" in spec else {}
                out = []
                for row, b in zip(spec["weights"], spec["bias"]):
                    z = PiecewiseLinear.affine(0, b, domain)
                    for w, h in zip(row, ins[0]):
                        z = z + h * w
                    out.append(z.apply(spec["activation"], **params))
            elif op == "activation":
                out = [h.apply(spec["activation"]) for h in ins[0]]
            elif op == "add":
                out = [a + b for a, b in zip(*ins)]
            elif op == "concat":
                out = [h for part in ins for h in part]
            elif op == "max":
                out = [a.maximum(b) for a, b in zip(*ins)]
            else:
                out = []
                for group in spec["groups"]:
                    m = ins[0][group[0]]
                    for i in group[1:]:
                        m = m.maximum(ins[0][i])
                    out.append(m)
        values[spec["name"]] = out
    return values[nodes[-1]["name"]]


DOMAINS = st.sampled_from([None, (Fraction(-2), Fraction(3)), (Fraction(-1, 3), Fraction(1, 2))])


@settings(max_examples=200)
@given(graphs(), DOMAINS)
def test_graph_engine_matches_piecewise_algebra(nodes, domain) -> None:  # type: ignore[no-untyped-def]
    net = pwl.Network.from_nodes(nodes)
    part = pwl.propagate(net, domain)
    expected = reference_functions(nodes, domain)
    assert part.outputs == len(expected)
    for k, f in enumerate(expected):
        g = part.function(k)
        assert g == f
        assert part.pieces(k) == f.num_pieces
    # every cut is where some nonlinear node changes its piece: the forward
    # pass is exact at points on both sides of each cut
    for x in list(part.cuts())[:20]:
        for y in (x, x + Fraction(1, 997)):
            if domain is None or domain[0] <= y <= domain[1]:
                assert tuple(f(y) for f in expected) == net.evaluate(y)


@settings(max_examples=100)
@given(graphs())
def test_graph_round_trip_and_chunks(nodes) -> None:  # type: ignore[no-untyped-def]
    from pwl.engine.parallel import count_chunked

    net = pwl.Network.from_nodes(nodes)
    again = pwl.Network.from_dict(net.to_dict())
    assert again == net
    whole = pwl.propagate(net)
    chunked = count_chunked(net, None, max_regions=3)
    assert chunked.pieces == whole.pieces()
    assert chunked.activation_regions == whole.activation_regions
