"""Vanishing gradients: sympy's derivative against an independent chain-rule
computation (exact for relu, high-precision for sigmoid and tanh), the
lecture's (1/4)^D bound, and the float illustration's qualitative shape."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from mpmath.libmp import to_rational
import sympy
from click.testing import CliRunner

from pwl.errors import PWLValueError
from pwl.lectures.gradients import (
    ACTIVATIONS,
    LEAKY_ALPHA,
    chain,
    check_chain,
    derivative_bound,
    layer_gradients,
)
from cli_helpers import run


# -- independent chain rule ------------------------------------------------------------
def chain_rule_exact(name: str, x: Fraction, w: tuple[Fraction, ...]) -> Fraction:
    """dy/dw_1 for relu / leaky relu by the chain rule, in Fractions:
    x prod s'(u_i) prod_{i>=2} w_i with s'(0) the slope below the kink."""
    low = Fraction(0) if name == "relu" else LEAKY_ALPHA
    grad, h = x, x
    for i, wi in enumerate(w):
        u = wi * h
        if i:
            grad *= wi
        grad *= Fraction(1) if u > 0 else low
        h = u if u > 0 else low * u
    return grad


def chain_rule_mp(name: str, x: Fraction, w: tuple[Fraction, ...]) -> Fraction:
    """dy/dw_1 for sigmoid / tanh by the chain rule at 60 digits (error far
    below the enclosures' widths of about 10^-38), as a Fraction."""
    with mpmath.workdps(60):
        def s(z):
            return 1 / (1 + mpmath.exp(-z)) if name == "sigmoid" else mpmath.tanh(z)

        def ds(z):
            return s(z) * (1 - s(z)) if name == "sigmoid" else 1 - mpmath.tanh(z) ** 2

        X = mpmath.mpf(x.numerator) / x.denominator
        W = [mpmath.mpf(v.numerator) / v.denominator for v in w]
        u = W[0] * X
        grad = X * ds(u)
        for wi in W[1:]:
            u = wi * s(u)
            grad *= wi * ds(u)
        return Fraction(*to_rational(grad._mpf_))


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_piecewise_linear_derivatives_are_exact(name: str, depth: int) -> None:
    r = check_chain(name, depth, samples=30, seed=depth)
    for s in r.samples:
        assert s.value.lo == s.value.hi == chain_rule_exact(name, s.x, s.weights)
        assert abs(s.value.lo) <= s.bound == abs(s.x)
    # the bound |x| is reached: all w_i = 1, x = 1
    assert r.samples[0].value.lo == 1 == r.samples[0].bound


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("depth", [1, 3, 6])
def test_smooth_derivatives_are_enclosed(name: str, depth: int) -> None:
    r = check_chain(name, depth, samples=12, seed=depth)
    for s in r.samples:
        value = chain_rule_mp(name, s.x, s.weights)
        assert s.value.hi - s.value.lo < Fraction(1, 10**30)
        slack = Fraction(1, 10**50)
        assert s.value.lo - slack <= value <= s.value.hi + slack


@pytest.mark.parametrize("depth", [1, 2, 3, 8])
def test_the_lectures_sigmoid_bound(depth: int) -> None:
    r = check_chain("sigmoid", depth, samples=20)
    assert r.factor == Fraction(1, 4**depth) == derivative_bound("sigmoid") ** depth
    assert r.chain_rule and r.bound_identity_holds and r.holds
    assert all(s.holds for s in r.samples)
    # with every |w_i| <= 1 it is not reached: sigma' < 1/4 away from 0
    assert all(s.value.hi < s.bound for s in r.samples if s.x != 0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_sympy_derivative_evaluates_like_the_chain_rule(name: str) -> None:
    y, x, w = chain(name, 3)
    # sympy differentiates the explicit formula, independently of the node's fdiff
    d = sympy.diff(y.rewrite(sympy.exp), w[0]) if name == "sigmoid" else sympy.diff(y, w[0])
    r = check_chain(name, 3, samples=4, seed=7)
    for s in r.samples:
        subs = {x: sympy.Rational(s.x.numerator, s.x.denominator)}
        subs.update({wi: sympy.Rational(v.numerator, v.denominator)
                     for wi, v in zip(w, s.weights)})
        value = Fraction(str(sympy.N(d.subs(subs), 50)))
        slack = Fraction(1, 10**40)
        assert s.value.lo - slack <= value <= s.value.hi + slack


def test_relu_derivative_at_the_kink_is_zero() -> None:
    y, x, w = chain("relu", 1)
    d = sympy.diff(y, w[0])
    assert d.subs({x: 1, w[0]: 0}) == 0 and d.subs({x: 1, w[0]: 1}) == 1


@pytest.mark.parametrize("args,message", [
    (("softplus", 3), "unknown activation 'softplus'"),
    (("sigmoid", 0), "depth must be an integer in"),
    (("sigmoid", 51), "depth must be an integer in"),
])
def test_errors(args: tuple, message: str) -> None:
    with pytest.raises(PWLValueError, match=message):
        check_chain(*args)


@pytest.mark.parametrize("kwargs,message", [
    ({"init": "zeros"}, "unknown init"),
    ({"width": 0}, "width must be"),
])
def test_illustration_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(PWLValueError, match=message):
        layer_gradients("relu", 3, **kwargs)


# -- the float illustration --------------------------------------------------------------
def test_sigmoid_gradients_vanish_towards_the_input() -> None:
    g = layer_gradients("sigmoid", 6, width=16, seeds=3, batch=64)
    means = g.mean_backprop()
    assert all(a < b for a, b in zip(means, means[1:]))
    assert means[-1] / means[0] > 1000
    assert g.zero_share() == [0.0] * 6


def test_relu_with_he_init_keeps_its_gradients() -> None:
    g = layer_gradients("relu", 6, width=32, init="he", seeds=3, batch=64)
    means = g.mean_backprop()
    assert max(means) / min(means) < 10
    assert all(0.2 < z < 0.8 for z in g.zero_share())


def test_illustration_is_seeded() -> None:
    a = layer_gradients("tanh", 3, width=8, seeds=2, batch=16, seed=5)
    b = layer_gradients("tanh", 3, width=8, seeds=2, batch=16, seed=5)
    assert a.mean_backprop() == b.mean_backprop() and a.mean_weights() == b.mean_weights()


# -- pwl gradients --------------------------------------------------------------------------


def test_cli_json(runner: CliRunner) -> None:
    result = run(runner, "gradients", "--activation", "sigmoid", "--depth", "3", "--seeds", "2",
                 "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["factor"] == "1/64" and out["bound"] == "1/64 |x|"
    assert out["chain_rule"] and out["bound_identity_holds"] and out["holds"]
    assert len(out["samples"]) == 8 and all(s["holds"] for s in out["samples"])
    assert "(1 - sigmoid(w1*x))*" in out["derivative"]
    assert len(out["illustration"]["mean_abs_backprop"]) == 3
    assert out["illustration"]["note"].startswith("float64")


def test_cli_text_and_plot(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    figure = tmp_path / "g.png"
    result = run(runner, "gradients", "-a", "relu", "-D", "4", "--init", "he", "--seeds", "2",
                 "--plot", str(figure))
    assert result.exit_code == 0
    assert "|dy/dw_1| <= 1 |x| when |w_i| <= 1" in result.stdout
    assert "illustration (float64)" in result.stdout
    assert figure.stat().st_size > 1000


def test_cli_long_expression_is_cut(runner: CliRunner) -> None:
    result = run(runner, "gradients", "-a", "sigmoid", "-D", "12", "--seeds", "1")
    assert "characters; --expression or --json prints it all" in result.stdout
    full = run(runner, "gradients", "-a", "sigmoid", "-D", "12", "--seeds", "1", "--expression")
    assert "characters;" not in full.stdout


@pytest.mark.parametrize("args,status,text", [
    (["--depth", "0"], 2, "not in the range"),
    (["--depth", "3", "--activation", "elu"], 2, "'elu' is not one of"),
    ([], 2, "Missing option"),
    (["--depth", "2", "--plot", "g.bmp"], 1, "unsupported figure format"),
])
def test_cli_errors(runner: CliRunner, args: list, status: int, text: str) -> None:
    result = run(runner, "gradients", *args)
    assert result.exit_code == status
    assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1
