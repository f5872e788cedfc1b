"""The vision engine along lines: certified counts against two independent
exact references (exact integer forms op by op, and pwl's dense engine on the
network expanded into matrices), exact evaluation at every region's midpoint
against the exact forward pass and torch's float64 one, and the exact route
forced by ties."""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pwl.errors import NetworkFormatError, PWLValueError
from pwl.vision import VisionNetwork, count_line, to_dense
from pwl.vision.certified import certified_line
from pwl.vision.exact import ExactRun, count_exact

torch = pytest.importorskip("torch")


def _residual_net(seed: int, act: str = "relu") -> VisionNetwork:
    rng = np.random.default_rng(seed)
    return VisionNetwork.build((2, 6, 6), [
        {"kind": "conv", "weight": rng.standard_normal((3, 2, 3, 3)),
         "bias": rng.standard_normal(3), "padding": 1},
        {"kind": "channel_affine", "scale": rng.random(3) + 0.5,
         "mean": rng.standard_normal(3), "beta": rng.standard_normal(3)},
        {"kind": "activation", "activation": act, "name": "r1"},
        {"kind": "conv", "weight": rng.standard_normal((3, 3, 3, 3)), "padding": 1,
         "name": "c2"},
        {"kind": "add", "inputs": ["c2", "r1"]},
        {"kind": "activation", "activation": "leaky_relu", "alpha": 0.125},
        {"kind": "maxpool", "kernel": 2},
        {"kind": "avgpool", "kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False},
        {"kind": "flatten"},
        {"kind": "linear", "weight": rng.standard_normal((2, 27)), "bias": rng.standard_normal(2)},
    ])


def _dense_counts(net: VisionNetwork, a: np.ndarray, b: np.ndarray) -> tuple[int, tuple[int, ...], int]:
    r = count_line(net, a, b, method="dense")
    return r.activation_regions, r.pieces, r.joint_pieces


@pytest.mark.parametrize("seed, act", [(0, "relu"), (1, "relu6"), (2, "hardtanh"), (3, "relu")])
def test_certified_matches_dense_and_exact(seed: int, act: str) -> None:
    net = _residual_net(seed, act)
    rng = np.random.default_rng(100 + seed)
    a, b = rng.standard_normal((2, 6, 6)), rng.standard_normal((2, 6, 6))
    cert = count_line(net, a, b, max_regions=5)      # small batches: the stack is used
    exact = count_line(net, a, b, method="exact")
    assert cert.method == "certified" and exact.method == "exact"
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)
    assert (exact.activation_regions, exact.pieces, exact.joint_pieces) == _dense_counts(net, a, b)
    assert cert.layers == exact.layers
    assert cert.activation_regions > 20          # the line is cut: the test means something
    assert sum(s.cuts for s in cert.layers or ()) == cert.regions - 1


def test_midpoints_exact_and_float() -> None:
    """On every region the output is the region's exact form: exact evaluation
    at the midpoint agrees exactly, torch's float64 forward to rounding."""
    net = _residual_net(5)
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(72), rng.standard_normal(72)
    res = count_exact(net, a, b)
    assert len(res.ends) == len(res.outputs) > 10
    pa = [Fraction(v) for v in a.tolist()]
    pb = [Fraction(v) for v in b.tolist()]
    points, exact_values = [], []
    for (lo, hi), (alpha, beta) in zip(res.ends, res.outputs):
        t = (lo + hi) / 2
        x = [p + t * (q - p) for p, q in zip(pa, pb)]
        value = net.evaluate(x)
        assert value == tuple(al + be * t for al, be in zip(alpha, beta))
        points.append([float(v) for v in x])
        exact_values.append([float(v) for v in value])
    flt = net.forward_float(np.array(points))
    assert np.allclose(flt, np.array(exact_values), rtol=1e-9, atol=1e-9)
    # the regions tile [0, 1] in order
    assert res.ends[0][0] == 0 and res.ends[-1][1] == 1
    assert all(h == l2 for (_, h), (l2, _) in zip(res.ends, res.ends[1:]))


@pytest.mark.parametrize("lead", [False, True])
def test_ties_go_exact(monkeypatch: pytest.MonkeyPatch, lead: bool) -> None:
    """Duplicate channels make equal roots and integer data roots on cuts:
    the floats cannot order them, the exact route settles them (also when
    every op but the output goes in double-double first)."""
    import pwl.vision.certified as certified

    monkeypatch.setattr(certified, "LEAD_BITS", 0.0 if lead else math.inf)
    rng = np.random.default_rng(3)
    w = rng.integers(-2, 3, (2, 1, 2, 2)).astype(float)
    net = VisionNetwork.build((1, 5, 5), [
        {"kind": "conv", "weight": np.concatenate([w, w]),
         "bias": rng.integers(-1, 2, 4).astype(float)},
        {"kind": "activation"},
        {"kind": "maxpool", "kernel": 2, "stride": 1},
        {"kind": "conv", "weight": rng.integers(-2, 3, (2, 4, 2, 2)).astype(float)},
        {"kind": "activation", "activation": "leaky_relu", "alpha": 0.5},
        {"kind": "flatten"},
        {"kind": "linear", "weight": rng.integers(-2, 3, (3, 8)).astype(float)}])
    a = rng.integers(-3, 4, 25).astype(float)
    b = rng.integers(-3, 4, 25).astype(float)
    cert = count_line(net, a, b)
    assert cert.decisions is not None and cert.decisions["escalated_regions"] >= 1
    assert cert.decisions.get("double_double_ops", 0) == (len(net.ops) - 2 if lead else 0)
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)


@pytest.mark.parametrize("lead", [False, True])
def test_escalation_after_float_cuts(monkeypatch: pytest.MonkeyPatch, lead: bool) -> None:
    """A tie deep in the network: the region leaves the float batch with ends
    that are float cuts, recomputed exactly from their origin neurons (also
    out of a double-double lead)."""
    import pwl.vision.certified as certified

    monkeypatch.setattr(certified, "LEAD_BITS", 0.0 if lead else math.inf)
    rng = np.random.default_rng(11)
    w2 = rng.standard_normal((2, 3, 3, 3))
    net = VisionNetwork.build((1, 6, 6), [
        {"kind": "conv", "weight": rng.standard_normal((3, 1, 3, 3)), "padding": 1},
        {"kind": "activation"},
        {"kind": "conv", "weight": np.concatenate([w2, w2]), "padding": 1},
        {"kind": "activation"},
        {"kind": "flatten"},
        {"kind": "linear", "weight": rng.standard_normal((1, 144))}])
    a, b = rng.standard_normal(36), rng.standard_normal(36)
    cert = count_line(net, a, b, max_regions=3)
    assert cert.decisions is not None and cert.decisions["escalated_regions"] >= 1
    assert cert.decisions.get("double_double_ops", 0) == (len(net.ops) - 2 if lead else 0)
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)


@st.composite
def tiny_cnns(draw: st.DrawFn) -> tuple[VisionNetwork, np.ndarray, np.ndarray]:
    """Channels 1-3, inputs 4x4 to 6x6; integer or float weights, sometimes a
    duplicated channel (equal roots), a residual add, max or average pooling."""
    c = draw(st.integers(1, 3))
    h = draw(st.integers(4, 6))
    w = draw(st.integers(4, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    ints = draw(st.booleans())
    rng = np.random.default_rng(seed)

    def weights(shape: tuple[int, ...]) -> np.ndarray:
        if ints:
            return rng.integers(-2, 3, shape).astype(float)
        return rng.standard_normal(shape)

    c1 = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    pad = draw(st.integers(0, k // 2))
    stride = draw(st.integers(1, 2))
    w1 = weights((c1, c, k, k))
    if draw(st.booleans()):
        w1 = np.concatenate([w1, w1[:1]])            # a duplicate channel
    specs = [{"kind": "conv", "weight": w1, "bias": weights((len(w1),)), "padding": pad,
              "stride": stride, "name": "c1"},
             {"kind": "activation", "activation": draw(st.sampled_from(
                 ["relu", "relu6", "leaky_relu"])), "name": "a1"}]
    if specs[1]["activation"] == "leaky_relu":
        specs[1]["alpha"] = 0.25
    if draw(st.booleans()):
        specs += [{"kind": "conv", "weight": weights((len(w1), len(w1), 3, 3)), "padding": 1,
                   "name": "c2"},
                  {"kind": "add", "inputs": ["c2", "a1"], "name": "sum"},
                  {"kind": "activation", "name": "a2"}]
    ho = (h + 2 * pad - k) // stride + 1
    wo = (w + 2 * pad - k) // stride + 1
    pool = draw(st.sampled_from(["max", "avg", "none"]))
    if pool != "none" and min(ho, wo) >= 2:
        specs.append({"kind": "maxpool" if pool == "max" else "avgpool", "kernel": 2,
                      "stride": draw(st.integers(1, 2))})
    specs += [{"kind": "flatten"}]
    net0 = VisionNetwork.build((c, h, w), specs)
    specs.append({"kind": "linear", "weight": weights((2, net0.output_size)),
                  "bias": weights((2,))})
    net = VisionNetwork.build((c, h, w), specs)
    if ints:
        a = rng.integers(-3, 4, (c, h, w)).astype(float)
        b = rng.integers(-3, 4, (c, h, w)).astype(float)
    else:
        a, b = rng.standard_normal((c, h, w)), rng.standard_normal((c, h, w))
    if (a == b).all():
        b[0, 0, 0] += 1
    return net, a, b


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_cnns(), st.booleans())
def test_tiny_cnns_differential(case: tuple[VisionNetwork, np.ndarray, np.ndarray],
                                lead: bool) -> None:
    """Certified (with every op but the output in double-double first, or
    none) against the dense and the exact routes."""
    import pwl.vision.certified as certified

    net, a, b = case
    with mock.patch.object(certified, "LEAD_BITS", 0.0 if lead else math.inf):
        cert = count_line(net, a, b)
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)
    exact = count_line(net, a, b, method="exact")
    assert exact.layers == cert.layers


def test_uncertified_is_plain_float() -> None:
    """The benchmark's float64 reference: same propagation, no bounds."""
    net = _residual_net(4)
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal(72), rng.standard_normal(72)
    plain = certified_line(net, a, b, certify=False)
    assert plain.decisions["escalated_regions"] == 0
    assert plain.regions == count_line(net, a.reshape(2, 6, 6), b.reshape(2, 6, 6)).regions


@pytest.mark.parametrize("spec, message", [
    ({"kind": "conv", "weight": np.ones((1, 2, 3, 3))}, r"does not read 1 channels"),
    ({"kind": "conv", "weight": np.ones((1, 1, 7, 7))}, r"does not fit"),
    ({"kind": "linear", "weight": np.ones((1, 16))}, r"is not flat"),
    ({"kind": "maxpool", "kernel": 2, "padding": 2}, r"padding at most half"),
    ({"kind": "conv", "weight": np.full((1, 1, 1, 1), np.nan)}, r"weight\[0, 0, 0, 0\]: nan"),
    ({"kind": "upsample"}, r"unknown kind"),
])
def test_build_errors(spec: dict, message: str) -> None:
    with pytest.raises((NetworkFormatError, PWLValueError), match=message):
        VisionNetwork.build((1, 4, 4), [spec])


def test_line_errors() -> None:
    net = _residual_net(0)
    a = np.zeros((2, 6, 6))
    with pytest.raises(PWLValueError, match="same point"):
        count_line(net, a, a)
    with pytest.raises(PWLValueError, match="expected 72 numbers"):
        count_line(net, a, np.zeros(5))
    with pytest.raises(PWLValueError, match="unknown method"):
        count_line(net, a, a + 1, method="sampling")


def test_dense_expansion_is_the_same_function() -> None:
    net = _residual_net(2)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(72)
    assert to_dense(net).evaluate([Fraction(v) for v in x]) == net.evaluate(x)
    run = ExactRun(net, [Fraction(v) for v in x], [Fraction(v) for v in x])
    assert run.run(point=Fraction(0), split_from=10**9).outputs[0][0] == net.evaluate(x)


def test_reanchor_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-anchoring in double-double before every nonlinear op (batch norm,
    residual add, leaky relu, max and average pooling on the way) changes
    no count."""
    import pwl.vision.certified as certified

    monkeypatch.setattr(certified, "RELATIVE_LOOSE", 0.0)
    for seed in (0, 1):
        net = _residual_net(seed, "relu6" if seed else "relu")
        rng = np.random.default_rng(200 + seed)
        a, b = rng.standard_normal((2, 6, 6)), rng.standard_normal((2, 6, 6))
        cert = count_line(net, a, b, max_regions=6)
        assert cert.decisions is not None and cert.decisions.get("reanchored_regions", 0) > 10
        assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)


def test_reanchors_continue_from_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-anchoring before every nonlinear op of one batch: each re-anchor
    goes on from the one before, so every convolution and linear op is
    computed in double-double once, on at most as many rows as the batch has
    distinct forms there, and the counts stay exact."""
    import pwl.vision.certified as certified
    import pwl.vision.dd as dd

    calls: list[tuple[int, int, int]] = []
    affine = dd._Anchor.affine

    def counted(self: dd._Anchor, k: int, x: dd._DT) -> dd._DT:
        calls.append((k, x.a[0].shape[0], len(x.idx)))
        return affine(self, k, x)

    monkeypatch.setattr(certified, "RELATIVE_LOOSE", 0.0)
    monkeypatch.setattr(dd._Anchor, "affine", counted)
    net = _residual_net(3)
    rng = np.random.default_rng(203)
    a, b = rng.standard_normal((2, 6, 6)), rng.standard_normal((2, 6, 6))
    cert = count_line(net, a, b, max_regions=10**6)
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == _dense_counts(net, a, b)
    assert cert.decisions is not None and cert.decisions.get("reanchored_regions", 0) > 3
    ops = [k for k, _, _ in calls]
    assert len(calls) >= 2 and len(ops) == len(set(ops))
    assert all(rows <= regions for _, rows, regions in calls)
    assert calls[0][1] == 1      # the first convolution: one form for all regions


def _deep_net() -> tuple[VisionNetwork, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    specs: list[dict] = []
    for k in range(16):
        specs += [{"kind": "conv", "weight": rng.standard_normal((4, 4 if k else 1, 3, 3))
                   * np.sqrt(2 / (9 * (4 if k else 1))), "padding": 1},
                  {"kind": "activation"}]
    specs += [{"kind": "flatten"}, {"kind": "linear", "weight": rng.standard_normal((2, 64))}]
    net = VisionNetwork.build((1, 4, 4), specs)
    a, b = rng.standard_normal((1, 4, 4)), rng.standard_normal((1, 4, 4))
    return net, a, b


@functools.lru_cache(maxsize=1)
def _deep_exact() -> object:
    net, a, b = _deep_net()
    return count_line(net, a, b, method="exact")


def test_reanchor_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen convolutions, without a double-double lead: the float bounds
    outgrow the values half way, the batch is re-anchored and the count
    stays exact."""
    import pwl.vision.certified as certified

    monkeypatch.setattr(certified, "LEAD_BITS", math.inf)
    net, a, b = _deep_net()
    cert = count_line(net, a, b)
    assert cert.decisions is not None and cert.decisions.get("reanchored_regions", 0) >= 1
    exact: Any = _deep_exact()
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == (
        exact.activation_regions, exact.pieces, exact.joint_pieces)
    assert cert.layers == exact.layers


def test_undecided_regions_retried_in_double_double(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never re-anchoring a batch ahead: the float bounds of sixteen
    convolutions leave decisions open; only those regions are taken again
    from before the op in double-double, which settles them without the
    exact route, and the count is the exact one."""
    import pwl.vision.certified as certified

    net, a, b = _deep_net()
    exact = count_line(net, a, b, method="dense")
    monkeypatch.setattr(certified, "RELATIVE_LOOSE", math.inf)
    monkeypatch.setattr(certified, "LEAD_BITS", math.inf)
    cert = count_line(net, a, b)
    d = cert.decisions or {}
    assert d.get("retried_regions", 0) >= 1 and d.get("escalated_regions", 0) == 0
    assert d.get("reanchored_regions", 0) <= d["retried_regions"]
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == (
        exact.activation_regions, exact.pieces, exact.joint_pieces)


@pytest.mark.parametrize("lead_bits, max_regions, batch_bytes", [
    (22.0, 256, 2**22), (4.0, 256, 2**22), (4.0, 40, 2**22), (4.0, 256, 8 * 64 * 30)])
def test_double_double_lead(monkeypatch: pytest.MonkeyPatch, lead_bits: float,
                            max_regions: int, batch_bytes: int) -> None:
    """Sixteen convolutions: the first ops go in double-double only (no float
    pass over them: the float route's convolutions all come after the lead),
    split in batches like the float route's when they outgrow
    ``max_regions`` or the memory per tensor, and the counts and per-op
    cuts are the exact ones."""
    import pwl.vision.certified as certified

    net, a, b = _deep_net()
    exact: Any = _deep_exact()
    seen: list[int] = []
    op = certified._Engine._op

    def watched(self: certified._Engine, k: int, o: object, *args: object) -> object:
        if getattr(o, "kind") == "conv":
            seen.append(k)
        return op(self, k, o, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(certified, "LEAD_BITS", lead_bits)
    # the last: batches of at most 30 regions of 64 neurons
    monkeypatch.setattr(certified, "BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(certified._Engine, "_op", watched)
    cert = count_line(net, a, b, max_regions=max_regions)
    d = cert.decisions or {}
    led = d.get("double_double_ops", 0)
    assert led >= (3 if lead_bits > 10 else 20)
    assert seen and min(seen) > led
    assert d.get("escalated_regions", 0) == 0
    assert (cert.activation_regions, cert.pieces, cert.joint_pieces) == (
        exact.activation_regions, exact.pieces, exact.joint_pieces)
    assert cert.layers == exact.layers


@pytest.mark.parametrize("lead", [False, True])
def test_anchors_within_their_memory_budget(monkeypatch: pytest.MonkeyPatch, lead: bool) -> None:
    """With no memory for anchors every re-anchoring starts from the input
    again (at most one anchor is kept, also of a lead's several batches) and
    the counts are the same."""
    import torch

    import pwl.vision.certified as certified

    monkeypatch.setattr(certified, "RELATIVE_LOOSE", 0.0)
    monkeypatch.setattr(certified, "ANCHOR_BYTES", 0)
    monkeypatch.setattr(certified, "LEAD_BITS", 0.0 if lead else math.inf)
    net = _residual_net(3)
    rng = np.random.default_rng(203)
    a, b = rng.standard_normal((2, 6, 6)), rng.standard_normal((2, 6, 6))
    eng = certified._Engine(net, a.reshape(-1), b.reshape(-1), 4 if lead else 10**6, True, None)
    with torch.no_grad():
        eng.run()
    run = certified._pieces(eng)
    assert len(eng.anchors) == 1
    assert run.decisions.get("double_double_ops" if lead else "reanchored_regions", 0) > 3
    assert (run.regions, run.pieces, run.joint_pieces) == _dense_counts(net, a, b)


def _exact_matrix(eng: object, k: int, n_in: int) -> list[list[Fraction]]:
    """Op ``k``'s weights as an exact matrix: its float product on each unit
    image is a single weight (no sum, no rounding)."""
    import pwl.vision.certified as certified

    assert isinstance(eng, certified._Engine)
    w = torch.from_numpy(np.array(eng.net.ops[k].params["weight"]))
    cols = eng._linear(k, torch.eye(n_in, dtype=torch.float64), w, None).numpy()
    return [[Fraction(float(v)) for v in row] for row in cols.T]


@pytest.mark.parametrize("float32", [True, False])
def test_double_double_products_enclose_the_exact_ones(float32: bool) -> None:
    """The double-double products of a convolution and a linear op (float32
    weights: two weight limbs; float64 weights: three; exact products with
    two input limbs, float64 tails with the rest) lie
    within their bounds of the exact products, on rows spanning 2^-300 to
    2^300 and a zero row, and the bounds are within 2^-80 of ``|W| M``."""
    import pwl.vision.certified as certified
    import pwl.vision.dd as dd

    rng = np.random.default_rng(11 + float32)

    def weights(*shape: int) -> np.ndarray:
        # float32 weights over 15 binades (two limbs still hold them); float64
        # ones over a few (beyond 2^-63 of the largest their remainder's
        # bound would be the loose one)
        w = rng.standard_normal(shape) * 2.0 ** rng.integers(-12 if float32 else -2, 3, shape)
        return w.astype(np.float32).astype(np.float64) if float32 else w

    net = VisionNetwork.build((2, 4, 4), [
        {"kind": "conv", "weight": weights(3, 2, 3, 3), "bias": rng.standard_normal(3),
         "padding": 1},
        {"kind": "activation"},
        {"kind": "flatten"},
        {"kind": "linear", "weight": weights(2, 48)},
    ])
    eng = certified._Engine(net, np.zeros(32), np.ones(32), 10**6, True, None)
    anchor = dd._Anchor(eng)
    scales = 2.0 ** np.array([0, -300, 300, 17, -5])
    for k, n_in in ((1, 32), (4, 48)):
        parts, _, _ = anchor._wlimbs(k)
        assert bool(parts[2].any()) != float32, "the other scheme than meant"
        rows = []
        for _ in range(2):
            h = rng.standard_normal((5, n_in)) * scales[:, None]
            h[3] = 0.0
            rows.append((torch.from_numpy(h),
                         torch.from_numpy(h * 2.0**-54 * rng.uniform(-1, 1, h.shape))))
        x = dd._DT(rows[0], rows[1], torch.zeros(n_in, dtype=torch.float64),
                   torch.zeros(n_in, dtype=torch.float64), idx=torch.arange(5))
        out = anchor.affine(k, x)
        m = _exact_matrix(eng, k, n_in)
        bias = net.ops[k].params["bias"]
        size = len(m)
        reps = size // len(bias) if bias is not None else 1
        for form, got, err in ((x.a, out.a, out.ea), (x.b, out.b, out.eb)):
            mags = [max(abs(float(form[0][r, j])) for r in range(5)) for j in range(n_in)]
            for r in range(5):
                v = [Fraction(float(form[0][r, j])) + Fraction(float(form[1][r, j]))
                     for j in range(n_in)]
                for i in range(size):
                    exact = sum(wij * vj for wij, vj in zip(m[i], v))
                    if form is x.a and bias is not None:
                        exact += Fraction(float(bias[i // reps]))
                    value = Fraction(float(got[0][r, i])) + Fraction(float(got[1][r, i]))
                    assert abs(value - exact) <= Fraction(float(err[i])), (k, r, i)
            for i in range(size):
                top = sum(abs(float(wij)) * mj for wij, mj in zip(m[i], mags))
                extra = abs(float(bias[i // reps])) if form is x.a and bias is not None else 0.0
                assert float(err[i]) <= 2.0**-80 * (top + extra) + 1e-280


def test_retries_start_from_the_anchor_holding_them() -> None:
    """Regions of several batches are retried in groups, each from the
    deepest anchor holding all of its regions; regions no anchor holds
    start from the input."""
    import pwl.vision.certified as certified
    from pwl.vision.dd import Anchor

    net = _residual_net(0)
    eng = certified._Engine(net, np.zeros(72), np.ones(72), 10**6, True, None)
    eng.anchors = [Anchor(3, np.array([0.0, 0.5]), np.array([0.5, 1.0]), {}),
                   Anchor(5, np.array([0.0]), np.array([0.25]), {}),
                   Anchor(9, np.array([0.0]), np.array([1.0]), {})]
    l_hi = np.array([0.1, 0.3, 0.6, 0.05])
    r_lo = np.array([0.2, 0.4, 0.7, 0.15])
    groups = eng._starts(8, l_hi, r_lo)
    got = [(pos.tolist(), None if s is None else (s[0].k, s[1].tolist())) for pos, s in groups]
    assert got == [([0, 3], (5, [0, 0])), ([1, 2], (3, [0, 1]))]
    groups = eng._starts(3, l_hi, r_lo)
    assert [(pos.tolist(), s) for pos, s in groups] == [([0, 1, 2, 3], None)]
