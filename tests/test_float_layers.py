"""Float-array layers, their integer forms, the spectral bound and the
big-integer products: each cross-checked against exact Fractions."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pwl
from pwl.engine.certified import spectral_bound
from pwl.engine.escalate import ExactChain, dyadic_integers
from pwl.engine.exact import matmul_exact
from pwl.engine.propagate import IntAffine

from click.testing import CliRunner

from cli_helpers import run as run_cli


def run(*args: str):  # type: ignore[no-untyped-def]
    return run_cli(CliRunner(), *args)

FLOATS = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.builds(lambda m, e: m * 2.0**e, st.integers(-2**20, 2**20), st.integers(-200, 200)),
)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 40), elements=FLOATS))
def test_dyadic_integers_are_exact(values: np.ndarray) -> None:
    ints, den = dyadic_integers(values)
    assert den & (den - 1) == 0
    assert [Fraction(i, den) for i in ints] == [Fraction(v) for v in values.tolist()]
    # the least such denominator: some entry is odd over it, unless den is 1
    assert den == 1 or any(i % 2 for i in ints)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_float_layer_is_its_fractions(n_out: int, n_in: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n_out, n_in)) * 2.0 ** rng.integers(-30, 30, size=(n_out, n_in))
    b = rng.normal(size=n_out)
    layer = pwl.Layer.from_floats(w, b)
    exact = pwl.Layer.make([[Fraction(x) for x in row] for row in w.tolist()],
                           [Fraction(x) for x in b.tolist()])
    assert layer == exact and exact == layer and hash(layer) == hash(exact)
    assert layer.weights == exact.weights and layer.bias == exact.bias
    fa, fb = IntAffine.of(layer), IntAffine._of_floats(pwl.Layer.from_floats(w, b))
    ea = IntAffine.of(exact)
    # the same map: A / scale and b / scale agree entry by entry
    for i in range(n_out):
        assert Fraction(int(fb.b[i]), fb.scale) == Fraction(int(ea.b[i]), ea.scale)
        for j in range(n_in):
            assert Fraction(int(fa.a[i, j]), fa.scale) == Fraction(int(ea.a[i, j]), ea.scale)
    assert fa.a_rowsum >= max(sum(abs(int(v)) for v in row) for row in fa.a.tolist())


def test_from_arrays_counts_as_the_exact_network() -> None:
    rng = np.random.default_rng(3)
    ws = [rng.normal(size=(6, 1)), rng.normal(size=(5, 6)), rng.normal(size=(2, 5))]
    bs = [rng.normal(size=6), rng.normal(size=5), rng.normal(size=2)]
    net = pwl.Network.from_arrays(ws, bs)
    twin = pwl.Network.sequential(
        [([[Fraction(x) for x in row] for row in w.tolist()], [Fraction(x) for x in b.tolist()],
          act) for w, b, act in zip(ws, bs, ["relu", "relu", "identity"])])
    assert net == twin
    for method in ("certified", "enumerate"):
        a = pwl.count(net, (-5, 5), method=method, workers=1)
        b = pwl.propagate(twin, (-5, 5))
        assert (a.pieces, a.activation_regions) == (b.pieces(), b.activation_regions)


@pytest.mark.parametrize("weights, biases, acts, message", [
    ([np.array([[1.0, np.nan]])], None, None, r"layers\[0\].weights\[0, 1\]: nan"),
    ([np.array([1.0])], None, None, "2-D array"),
    ([np.ones((2, 1))], [np.ones(3)], None, r"expected shape \(2,\)"),
    ([np.ones((2, 1))], [np.ones(2), np.ones(2)], None, "expected 1 arrays"),
    ([np.ones((2, 1))], None, ["relu", "relu"], "expected 1 "),
    ([], None, None, "at least one layer"),
])
def test_from_arrays_refuses_bad_input(weights, biases, acts, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(pwl.PWLError, match=message):
        pwl.Network.from_arrays(weights, biases, acts)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(2, 40), st.integers(0, 2**32 - 1))
def test_spectral_bound_is_above_the_norm(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(m, n)) * rng.choice([1e-3, 1.0, 1e3])
    fro = float(np.linalg.norm(w)) * (1 + 1e-12)
    bound = spectral_bound(w, fro)
    # the exact 2-norm is below the bound: check with a much more accurate
    # estimate (the float SVD is within a few ulps of it)
    assert bound >= np.linalg.norm(w, 2) * (1 + 1e-12)
    assert bound <= fro * (1 + 1e-9)


@settings(max_examples=12, deadline=None)
@given(st.integers(128, 260), st.integers(0, 2), st.sampled_from([1e-300, 1e-30, 1.0, 1e30, 1e300]),
       st.sampled_from(["normal", "rank1", "spread"]), st.integers(0, 2**32 - 1))
def test_single_precision_certificate_is_above_the_norm(m: int, extra: int, scale: float,
                                                        kind: str, seed: int) -> None:
    # matrices of 128 rows and more are certified in float32: scaled by a
    # power of two first, so huge and tiny matrices, rank-one ones and
    # entries that fall into float32's subnormals are all bounded
    rng = np.random.default_rng(seed)
    n = m + extra * m // 2
    if kind == "normal":
        w = rng.normal(size=(m, n)) * math.sqrt(2 / n)
    elif kind == "rank1":
        w = np.outer(rng.normal(size=m), rng.normal(size=n))
    else:
        w = rng.normal(size=(m, n)) * 2.0 ** rng.integers(-140, 4, size=(m, n)).astype(float)
    # norms of the unscaled matrix, scaled: numpy's own would overflow or underflow
    fro = float(np.linalg.norm(w)) * scale * (1 + 1e-10)
    norm = float(np.linalg.norm(w, 2)) * scale
    bound = spectral_bound(w * scale, fro)
    assert bound >= norm * (1 + 1e-12)
    assert bound <= fro * (1 + 1e-9)
    if kind == "normal":
        assert bound <= norm * 1.1      # and it is a useful bound


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_flint_products_are_exact(n: int, k: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.array([[int(x) * 2**100 + 1 for x in row] for row in rng.integers(-9, 9, (n, k))],
                 dtype=object)
    h = np.array([[int(x) ** 7 for x in row] for row in rng.integers(-99, 99, (k, m))],
                 dtype=object)
    got = matmul_exact(a, h, 10**40)
    want = [[sum(a[i, t] * h[t, j] for t in range(k)) for j in range(m)] for i in range(n)]
    assert got.tolist() == want


def test_exact_forms_match_evaluation() -> None:
    rng = np.random.default_rng(5)
    net = pwl.Network.from_arrays([rng.normal(size=(4, 1)), rng.normal(size=(3, 4)),
                                   rng.normal(size=(1, 3))])
    points = [Fraction(-7, 3), Fraction(1, 7), Fraction(5, 2)]
    forms = ExactChain(net).forms(points, 2)
    for j, x in enumerate(points):
        a, c, den = forms.a[2][0, j], forms.c[2][0, j], forms.den[2]
        assert Fraction(int(a) * x.numerator + int(c) * x.denominator,
                        den * x.denominator) == net.evaluate(x)[0]


def test_count_json_says_how_decisions_were_settled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    path = tmp_path / "net.npz"
    np.savez(path, W0=rng.normal(size=(16, 1)), b0=rng.normal(size=16),
             W1=rng.normal(size=(16, 16)) / 4, b1=rng.normal(size=16),
             W2=rng.normal(size=(2, 16)), b2=rng.normal(size=2))
    result = run("count", str(path), "--domain", "-3", "3", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["method"] == "certified"
    assert set(data["decisions"]) == {"float64", "ball", "exact", "escalated_regions",
                                      "point_layers"}
    assert data["decisions"]["float64"] > 0
    part = pwl.propagate(pwl.load(str(path)), (-3, 3))
    assert (data["pieces"], data["activation_regions"]) == (part.pieces(), part.activation_regions)
    forced = json.loads(run("count", str(path), "--domain", "-3", "3", "--json",
                            "--method", "enumerate").stdout)
    assert forced["decisions"] is None and forced["pieces"] == data["pieces"]
    every = json.loads(run("count", str(path), "--domain", "-3", "3", "--json",
                           "--output", "all").stdout)
    assert every["method"] == "certified"
    assert every["pieces_per_output"] == [part.pieces(0), part.pieces(1)]
    assert every["pieces"] == part.joint_pieces()
    assert set(every) == set(data)


def test_progress_off_a_terminal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pwl.theory.constructions import telgarsky

    path = tmp_path / "t.json"
    telgarsky(3).save(path)
    quiet = run("count", str(path), "--domain", "0", "1", "--no-progress")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_certified_method_refuses_what_it_cannot_count() -> None:
    net = pwl.Network.sequential([([[1]], [0], "hardtanh"), ([[1]], [0], "identity")])
    with pytest.raises(pwl.PWLValueError, match="certified method needs"):
        pwl.count(net, method="certified")
    with pytest.raises(pwl.PWLValueError, match="counts without listing"):
        pwl.count(pwl.Network.sequential([([[1]], [0]), ([[1]], [0], "identity")]),
                  method="certified", breakpoints=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(0, 2**32 - 1),
       st.sampled_from([0, 20, 60]))
def test_exact_float_products_match_fractions(n: int, k: int, seed: int, spread: int) -> None:
    from pwl.engine.exactsum import exact_matmul

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, k)) * 2.0 ** rng.integers(-spread, spread + 1, size=(n, k))
    v = rng.normal(size=(k, 2)) * 2.0 ** rng.integers(-spread, spread + 1, size=(k, 2))
    w[rng.random(size=w.shape) < 0.2] = 0.0
    got = exact_matmul(w, v)
    assert got == [[sum((Fraction(w[i, j]) * Fraction(v[j, c]) for j in range(k)), Fraction(0))
                    for c in range(2)] for i in range(n)]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans())
def test_lines_through_float_layers_are_exact(n0: int, seed: int, float_points: bool) -> None:
    from pwl.engine.line import _float_restricted

    rng = np.random.default_rng(seed)
    net = pwl.Network.from_arrays([rng.normal(size=(5, n0)), rng.normal(size=(2, 5))],
                                  [rng.normal(size=5), rng.normal(size=2)])
    if float_points:
        a = [Fraction(x) for x in rng.uniform(-1, 1, n0)]
        b = [Fraction(x) for x in rng.uniform(-1, 1, n0)]
    else:
        a = [Fraction(int(x), 7) for x in rng.integers(-9, 9, n0)]
        b = [Fraction(int(x), 3) for x in rng.integers(-9, 9, n0)]
    if a == b:                               # a line needs two distinct points
        b[0] += 1
    line = pwl.restrict_to_line(net, a, b)
    floats = all(Fraction(float(x)) == x for x in a + b)   # sevenths may still be floats
    assert (_float_restricted(net.layers[0], a, b) is None) \
        == (not floats)
    for t in (Fraction(0), Fraction(1, 3), Fraction(1)):
        point = [p + t * (q - p) for p, q in zip(a, b)]
        assert line.evaluate(t) == net.evaluate(point)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_a_line_counts_without_its_exact_first_layer(n0: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = pwl.Network.from_arrays([rng.normal(size=(12, n0)), rng.normal(size=(8, 12)),
                                   rng.normal(size=(3, 8))],
                                  [rng.normal(size=12), rng.normal(size=8), rng.normal(size=3)])
    a = [Fraction(x) for x in rng.uniform(-1, 1, n0)]
    b = [Fraction(x) for x in rng.uniform(-1, 1, n0)]
    line = pwl.restrict_to_line(net, a, b)
    first = line.layers[0]
    assert first.approx is not None
    result = pwl.count(line, (0, 1), workers=1)
    assert result.method == "certified"
    lazy = first._weights is None        # not made unless escalation needed it
    exact = pwl.propagate(line, (0, 1))  # the exact engine makes it
    assert (result.pieces, result.activation_regions) == (exact.pieces(), exact.activation_regions)
    assert first._weights is not None
    if result.decisions and result.decisions["exact"] == 0:
        assert lazy
    w_approx, w_err = first.approx[0][:, 0], first.approx[1][:, 0]
    for x, e, (w,) in zip(w_approx.tolist(), w_err.tolist(), first.weights):
        assert abs(Fraction(x) - w) <= Fraction(e)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1.0, 1e150, 1e300])
def test_extreme_float_layers_count_exactly(scale: float) -> None:
    # squares of such norms leave the float range: bounds must stay finite
    # or refuse (and the front end then counts exactly), never raise
    w = np.array([[1.0, -2.0], [0.5, 3.0]]) * scale
    fro = float(np.abs(w).sum())             # above the Frobenius norm
    assert spectral_bound(w, fro) >= float(np.abs(w).max())
    net = pwl.Network.from_arrays([np.array([[1.0], [-1.0]]), w, np.array([[1.0, 1.0]])],
                                  [np.array([0.5, 0.25]), np.zeros(2), np.zeros(1)])
    exact = pwl.propagate(net)
    result = pwl.count(net, workers=1)
    assert (result.pieces, result.activation_regions) == (exact.pieces(), exact.activation_regions)


def test_subnormal_weights_route_without_overflow() -> None:
    net = pwl.Network.from_arrays([np.array([[5e-324], [1.0]]), np.array([[1.0, 2.0]])])
    result = pwl.count(net, workers=1)
    assert (result.pieces, result.activation_regions) == (2, 2)


# -- exact products of float layers from limbs (local escalation) --------------
from pwl.engine.escalate import _ExactLayer, _join_digits  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**32 - 1),
       st.sampled_from([0, 40, 150]), st.integers(0, 900), st.booleans())
def test_limb_product_is_the_exact_product(n_in: int, n_out: int, seed: int, spread: int,
                                           hbits: int, sparse: bool) -> None:
    """A float layer's exact product through limbs equals the big-integer
    product of the same layer given as Fractions (the python-flint route),
    on integers of up to ~960 bits of both signs, zeros included."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n_out, n_in)) * 2.0 ** rng.integers(-spread, spread + 1, size=(n_out, n_in))
    b = rng.normal(size=n_out)
    if sparse:
        w[rng.random(w.shape) < 0.5] = 0.0
    fast = _ExactLayer(pwl.Layer.from_floats(w, b))
    slow = _ExactLayer(pwl.Layer.make([[Fraction(float(x)) for x in row] for row in w],
                                      [Fraction(float(x)) for x in b]))
    assert fast.limbs is not None and slow.limbs is None
    h = np.array([[int(v) << hbits for v in rng.integers(-2**62, 2**62, size=3)]
                  for _ in range(n_in + 1)], dtype=object)
    h[:, 0] = 0
    hmax = max(abs(int(v)) for v in h.ravel())
    za, bound = fast.product(h, hmax)
    zb, _ = slow.product(h, hmax)
    assert all(Fraction(int(x), fast.den) == Fraction(int(y), slow.den)
               for x, y in zip(za.ravel(), zb.ravel()))
    assert max(abs(int(v)) for v in za.ravel()) <= bound


@pytest.mark.parametrize("width", [8, 16])
def test_join_digits_is_the_sum_of_shifted_digits(width: int) -> None:
    rng = np.random.default_rng(width)
    diag = rng.integers(-2**57, 2**57, size=(3, 9, 4))
    joined = _join_digits(diag.copy(), width, 5)
    for i in range(3):
        for j in range(4):
            want = sum(int(diag[i, d, j]) << (width * d) for d in range(9)) << 5
            assert joined[i, j] == want


def test_lines_through_one_model_share_its_layer_bounds() -> None:
    # the hidden layers' floats, norms and spectral bounds are kept with the
    # layers: a second line through the model reuses them (its own first
    # layer is new), forget() drops them, and the counts do not depend on it
    from pwl.engine import certified

    rng = np.random.default_rng(5)
    sizes = [30, 140, 140, 3]
    ws = [rng.normal(0, math.sqrt(2 / n), (m, n)) for n, m in zip(sizes, sizes[1:])]
    bs = [0.1 * rng.normal(size=m) for m in sizes[1:]]
    net = pwl.Network.from_arrays(ws, bs)
    points = [rng.random(30) for _ in range(4)]
    first = pwl.restrict_to_line(net, points[0], points[1])
    one = pwl.count(first, (0, 1), method="certified", workers=1)
    hidden = [layer._derived.get("certified") for layer in net.layers[1:]]
    assert all(isinstance(f, certified._LayerFloats) for f in hidden)
    second = pwl.restrict_to_line(net, points[2], points[3])
    two = pwl.count(second, (0, 1), method="certified", workers=1)
    assert all(layer._derived.get("certified") is f for layer, f in zip(net.layers[1:], hidden))
    assert second.layers[0]._derived["certified"] is not first.layers[0]._derived["certified"]
    net.forget()
    assert all(not layer._derived for layer in net.layers)
    for line, result in ((first, one), (second, two)):
        line.forget()
        again = pwl.count(line, (0, 1), method="certified", workers=1)
        exact = pwl.count(line, (0, 1), method="enumerate", workers=1)
        assert (again.pieces, again.activation_regions) == (result.pieces,
                                                            result.activation_regions)
        assert (exact.pieces, exact.activation_regions) == (result.pieces,
                                                            result.activation_regions)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 12), st.integers(0, 2**32 - 1),
       st.sampled_from([1e-250, 1e-20, 1.0, 1e20, 1e200]),
       st.sampled_from([1e-200, 1.0, 1e150]), st.sampled_from(["normal", "zeros", "spread"]))
def test_line_first_layer_bounds_hold(n0: int, n1: int, seed: int, wscale: float,
                                      xscale: float, kind: str) -> None:
    # the restricted first layer's floats lie within their stated bounds of
    # the exact W (b - a) and W a + c, at any scale, with zero rows, a zero
    # point and weights spanning many binades; and the bounds are about one
    # rounding of the value where the splitting applies, not gamma_k |W| |x|
    from pwl.engine.line import _deferred_restriction, _split_direction

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n1, n0)) * wscale
    if kind == "zeros":
        w[rng.random(n1) < 0.4] = 0.0
    elif kind == "spread":
        w *= 2.0 ** rng.integers(-60, 60, size=w.shape).astype(float)
    c = rng.normal(size=n1) * wscale
    a = rng.normal(size=n0) * xscale * (0.0 if kind == "zeros" and seed % 2 else 1.0)
    b = a + rng.normal(size=n0) * xscale
    layer = pwl.Layer.from_floats(w, c, "relu")
    points = _split_direction(a, b)
    if points is None or not np.isfinite(w).all():
        return
    fa, fb = [Fraction(x) for x in a.tolist()], [Fraction(x) for x in b.tolist()]
    deferred = _deferred_restriction(layer, points, lambda: (fa, fb, [q - p for p, q in zip(fa, fb)]))
    if deferred is None:            # beyond the float range: the exact layer is used instead
        return
    slope, es, icpt, ei = deferred.approx
    rows = [[Fraction(v) for v in row] for row in w.tolist()]
    for i in range(n1):
        exact_slope = sum((wij * (q - p) for wij, p, q in zip(rows[i], fa, fb)), Fraction(0))
        exact_icpt = sum((wij * p for wij, p in zip(rows[i], fa)), Fraction(0)) + Fraction(c[i])
        assert abs(Fraction(float(slope[i, 0])) - exact_slope) <= Fraction(float(es[i, 0]))
        assert abs(Fraction(float(icpt[i])) - exact_icpt) <= Fraction(float(ei[i]))
        if kind == "normal" and wscale == 1.0 and xscale == 1.0 and n0 >= 50:
            # a few roundings of the value itself (the splitting), far below gamma_k |W||x|
            assert float(es[i, 0]) <= 1e-13 * float(abs(exact_slope)) + 1e-290
