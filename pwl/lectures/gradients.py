"""Vanishing gradients (lecture 001): exact derivatives, a proved bound, and
an illustration with random networks.

The one-unit chain ``y = s(w_D s(... s(w_2 s(w_1 x))))`` has, by the chain
rule,

    dy/dw_1 = x * prod_{i=1..D} s'(u_i) * prod_{i=2..D} w_i,
    u_1 = w_1 x,  u_i = w_i s(u_{i-1}).

For the sigmoid ``s' = s (1 - s) = 1/4 - (s - 1/2)^2 <= 1/4``, so with
``|w_i| <= 1`` the lecture's bound ``|dy/dw_1| <= (1/4)^D |x|`` follows;
for tanh, relu and leaky relu ``|s'| <= 1`` gives only ``|x|``.

:func:`check_chain` derives ``dy/dw_1`` with sympy, verifies the chain-rule
form for an undefined ``s`` (sympy's derivative and the product are the same
expression), verifies the identity bounding ``s'``, and evaluates the exact
derivative at seeded rational points: exactly for relu and leaky relu,
as a rigorous interval (mpmath, outward rounding) for sigmoid and tanh.

:func:`layer_gradients` is the float illustration of Glorot and Bengio
(2010): per-layer gradient magnitudes of a wider network over seeded random
initialisations, computed in float64 numpy.  It is a picture, not a proof.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Optional

from .approx import Enclosure
from ..errors import PWLValueError
from ..values.numbers import format_exact

if TYPE_CHECKING:
    import numpy as np
    import sympy

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LEAKY_ALPHA",
    "derivative_bound",
    "chain",
    "GradientSample",
    "ChainReport",
    "check_chain",
    "LayerGradients",
    "layer_gradients",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
INITS = ("standard", "glorot", "he")

#: The slope of leaky relu left of 0, as in :mod:`pwl.values.activations`.
LEAKY_ALPHA = Fraction(1, 100)

#: ``sup |s'|`` and the identity that proves it, per activation.
_BOUNDS: dict[str, tuple[Fraction, str]] = {
    "sigmoid": (Fraction(1, 4), "s' = s(1 - s) = 1/4 - (s - 1/2)^2 <= 1/4"),
    "tanh": (Fraction(1), "s' = 1 - s^2 <= 1"),
    "relu": (Fraction(1), "s' is 0 (z <= 0) or 1 (z > 0)"),
    "leaky_relu": (Fraction(1), "s' is 1/100 (z <= 0) or 1 (z > 0)"),
}

#: Deepest chain :func:`check_chain` builds (the expression grows as D^2).
MAX_DEPTH = 50


def _check_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise PWLValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    return name


def derivative_bound(name: str) -> Fraction:
    """``sup |s'(z)|`` over all real ``z``.

    >>> derivative_bound("sigmoid")
    Fraction(1, 4)
    """
    return _BOUNDS[_check_activation(name)][0]


@lru_cache(maxsize=None)
def _piecewise_linear_function(name: str) -> tuple[Any, Any]:
    """sympy functions ``relu``/``leaky_relu`` and their derivatives, kept
    unevaluated on symbols (a nested ``Piecewise`` grows without bound) and
    exact on numbers.  ``relu'(0) = 0``: the kink belongs to the piece below,
    as everywhere in pwl."""
    import sympy

    low = sympy.Integer(0) if name == "relu" else sympy.Rational(LEAKY_ALPHA.numerator,
                                                                  LEAKY_ALPHA.denominator)

    def slope_eval(cls: Any, z: Any) -> Any:
        if z.is_Number:
            return low if z <= 0 else sympy.Integer(1)
        return None

    def value_eval(cls: Any, z: Any) -> Any:
        if z.is_Number:
            return low * z if z <= 0 else z
        return None

    slope = type(f"{name}_prime", (sympy.Function,), {"eval": classmethod(slope_eval)})

    def fdiff(self: Any, argindex: int = 1) -> Any:
        return slope(self.args[0])

    value = type(name, (sympy.Function,), {"eval": classmethod(value_eval), "fdiff": fdiff})
    return value, slope


@lru_cache(maxsize=None)
def _sigmoid_function() -> Any:
    """sympy's ``sigmoid(z) = 1/(1 + exp(-z))``, kept as one node (nested
    ``exp`` quotients exhaust the recursion limit of sympy's walkers at depth
    30), with derivative ``sigmoid (1 - sigmoid)``; ``.rewrite(sympy.exp)``
    spells it out, and :func:`_bound_identity_holds` checks the two agree."""
    import sympy

    def fdiff(self: Any, argindex: int = 1) -> Any:
        return self * (1 - self)

    def rewrite_exp(self: Any, z: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-z))

    def value_eval(cls: Any, z: Any) -> Any:
        return sympy.Rational(1, 2) if z.is_zero else None

    return type("sigmoid", (sympy.Function,), {
        "eval": classmethod(value_eval), "fdiff": fdiff, "_eval_rewrite_as_exp": rewrite_exp})


def _activation(name: str) -> Callable[["sympy.Expr"], "sympy.Expr"]:
    import sympy

    if name == "sigmoid":
        return _sigmoid_function()
    if name == "tanh":
        return sympy.tanh
    return _piecewise_linear_function(name)[0]


def chain(name: str, depth: int) -> tuple["sympy.Expr", "sympy.Symbol", tuple["sympy.Symbol", ...]]:
    """``y = s(w_D s(... s(w_1 x)))`` as a sympy expression, with ``x`` and ``w``.

    >>> y, x, w = chain("sigmoid", 2)
    >>> y, y.rewrite("exp")
    (sigmoid(w2*sigmoid(w1*x)), 1/(1 + exp(-w2/(1 + exp(-w1*x)))))
    """
    import sympy

    s = _activation(_check_activation(name))
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise PWLValueError(f"depth must be an integer in [1, {MAX_DEPTH}], got {depth!r}")
    x = sympy.Symbol("x", real=True)
    w = sympy.symbols(f"w1:{depth + 1}", real=True)
    y = s(w[0] * x)
    for wi in w[1:]:
        y = s(wi * y)
    return y, x, w


def _chain_rule_holds(depth: int) -> bool:
    """sympy's ``d/dw_1`` of the chain with an undefined ``s`` is the product
    ``x prod s'(u_i) prod_{i>=2} w_i``, compared as canonical expressions."""
    import sympy

    s = sympy.Function("s")
    x = sympy.Symbol("x", real=True)
    w = sympy.symbols(f"w1:{depth + 1}", real=True)
    t = sympy.Dummy("t")
    u = [w[0] * x]
    for wi in w[1:]:
        u.append(wi * s(u[-1]))
    y = s(u[-1])
    product = x * sympy.Mul(*(sympy.diff(s(t), t).subs(t, ui) for ui in u)) * sympy.Mul(*w[1:])
    derivative = sympy.diff(y, w[0])
    return bool(derivative == product or sympy.simplify(derivative - product) == 0)


def _bound_identity_holds(name: str) -> bool:
    """The identity behind ``sup |s'|``, checked by sympy."""
    import sympy

    z = sympy.Symbol("z", real=True)
    if name == "sigmoid":
        node = _sigmoid_function()(z)
        spelled = 1 / (1 + sympy.exp(-z))
        s = sympy.Symbol("s")
        return (node.rewrite(sympy.exp) == spelled
                # the node's derivative is the derivative of 1/(1 + exp(-z)) ...
                and sympy.simplify(sympy.diff(node, z).rewrite(sympy.exp)
                                   - sympy.diff(spelled, z)) == 0
                # ... and s(1 - s) = 1/4 - (s - 1/2)^2 <= 1/4
                and sympy.expand(sympy.Rational(1, 4) - s * (1 - s)
                                 - (s - sympy.Rational(1, 2))**2) == 0)
    if name == "tanh":
        return sympy.simplify(sympy.diff(sympy.tanh(z), z) - (1 - sympy.tanh(z) ** 2)) == 0
    # s' is the step function: check it is s's derivative and takes two values
    value, slope = _piecewise_linear_function(name)
    low = sympy.Rational(LEAKY_ALPHA.numerator, LEAKY_ALPHA.denominator) if name != "relu" else 0
    return (sympy.diff(value(z), z) == slope(z)
            and {slope(-1), slope(0), slope(1)} == {sympy.sympify(low), sympy.Integer(1)}
            and value(-2) == -2 * low and value(0) == 0 and value(3) == 3)


@dataclass(frozen=True)
class GradientSample:
    """``dy/dw_1`` at one exact point: ``value`` encloses it (``lo == hi`` when
    exact); ``bound`` is ``sup|s'|^D |x|``."""

    x: Fraction
    weights: tuple[Fraction, ...]
    value: Enclosure
    bound: Fraction

    @property
    def holds(self) -> bool:
        return max(-self.value.lo, self.value.hi) <= self.bound

    @property
    def ratio(self) -> Optional[Fraction]:
        """An upper bound of ``|dy/dw_1| / bound`` (``None`` when ``x = 0``)."""
        if self.bound == 0:
            return None
        return max(-self.value.lo, self.value.hi) / self.bound


@dataclass(frozen=True)
class ChainReport:
    activation: str
    depth: int
    derivative: "sympy.Expr"
    chain_rule: bool
    sup_derivative: Fraction
    bound_identity: str
    bound_identity_holds: bool
    factor: Fraction
    samples: tuple[GradientSample, ...]

    @property
    def holds(self) -> bool:
        """The chain rule and the identity verified, and every sample within
        ``sup|s'|^D |x|``."""
        return (self.chain_rule and self.bound_identity_holds
                and all(s.holds for s in self.samples))


def _sample_points(depth: int, count: int, seed: int) -> list[tuple[Fraction, tuple[Fraction, ...]]]:
    """Seeded exact points: ``x`` in [-4, 4], ``w_i`` in [-1, 1] (multiples of
    1/64), plus ``x = 1`` with every ``w_i = 1``."""
    rng = random.Random(seed)
    points = [(Fraction(1), tuple(Fraction(1) for _ in range(depth)))]
    for _ in range(count - 1):
        x = Fraction(rng.randint(-256, 256), 64)
        w = tuple(Fraction(rng.randint(-64, 64), 64) for _ in range(depth))
        points.append((x, w))
    return points


def _walk(expr: "sympy.Expr", leaves: dict[Any, Any], number: Callable[[Fraction], Any],
          functions: dict[str, Callable[[Any], Any]]) -> Any:
    """Evaluate a sympy expression tree in another arithmetic (Fractions or
    intervals): symbols from ``leaves``, rationals through ``number``, named
    functions from ``functions``.  Shared subtrees are evaluated once."""
    import sympy

    memo: dict[Any, Any] = {}

    def go(e: Any) -> Any:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            v = leaves[e]
        elif e.is_Rational:
            v = number(Fraction(int(e.p), int(e.q)))
        elif e.is_Add:
            terms = [go(a) for a in e.args]
            v = terms[0]
            for t in terms[1:]:
                v = v + t
        elif e.is_Mul:
            factors = [go(a) for a in e.args]
            v = factors[0]
            for f in factors[1:]:
                v = v * f
        elif e.is_Pow and e.exp.is_Integer:
            base, k = go(e.base), int(e.exp)
            v = base**k if k >= 0 else 1 / base**-k
        elif isinstance(e, sympy.Function) and e.func.__name__ in functions:
            (arg,) = e.args
            v = functions[e.func.__name__](go(arg))
        else:  # pragma: no cover - the chains use nothing else
            raise PWLValueError(f"cannot evaluate {type(e).__name__} in {str(expr)[:60]}")
        memo[e] = v
        return v

    return go(expr)


def _evaluator(name: str, derivative: "sympy.Expr", x: "sympy.Symbol",
               w: tuple["sympy.Symbol", ...]) -> Callable[[Fraction, tuple[Fraction, ...]], Enclosure]:
    """Exact values (relu, leaky relu) or rigorous enclosures (sigmoid, tanh)
    of ``derivative`` at rational points."""
    symbols = (x, *w)
    if name in ("relu", "leaky_relu"):
        low = Fraction(0) if name == "relu" else LEAKY_ALPHA
        functions: dict[str, Callable[[Any], Any]] = {
            name: lambda z: low * z if z <= 0 else z,
            f"{name}_prime": lambda z: low if z <= 0 else Fraction(1),
        }

        def exact(xv: Fraction, wv: tuple[Fraction, ...]) -> Enclosure:
            q = _walk(derivative, dict(zip(symbols, (xv, *wv))), lambda v: v, functions)
            return Enclosure(q, q)
        return exact

    from mpmath.ctx_iv import MPIntervalContext
    from mpmath.libmp import to_rational

    iv = MPIntervalContext()
    iv.prec = 128

    def number(v: Fraction) -> Any:
        return iv.mpf(v.numerator) / iv.mpf(v.denominator)

    # tanh(z) = 1 - 2/(exp(2z) + 1): the interval context has exp, not tanh
    functions = {"exp": iv.exp, "tanh": lambda z: 1 - 2 / (iv.exp(2 * z) + 1),
                 "sigmoid": lambda z: 1 / (1 + iv.exp(-z))}

    def interval(xv: Fraction, wv: tuple[Fraction, ...]) -> Enclosure:
        value = _walk(derivative, dict(zip(symbols, map(number, (xv, *wv)))), number, functions)
        lo, hi = value._mpi_
        return Enclosure(Fraction(*to_rational(lo)), Fraction(*to_rational(hi)))
    return interval


def check_chain(name: str, depth: int, samples: int = 8, seed: int = 0) -> ChainReport:
    """Derive ``dy/dw_1`` and check the bound ``sup|s'|^D |x|`` (``|w_i| <= 1``).

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "leaky_relu"}
    depth : int
        Number of units ``D`` in the chain.
    samples, seed : int
        How many exact points to evaluate at, and their seed.

    Examples
    --------
    >>> r = check_chain("sigmoid", 3)
    >>> r.factor, r.chain_rule, r.bound_identity_holds, r.holds
    (Fraction(1, 64), True, True, True)
    >>> check_chain("relu", 2, samples=1).samples[0].value
    Enclosure(lo=Fraction(1, 1), hi=Fraction(1, 1))
    """
    import sympy

    _check_activation(name)
    y, x, w = chain(name, depth)
    derivative = sympy.diff(y, w[0])
    sup, identity = _BOUNDS[name]
    factor = sup**depth
    evaluate = _evaluator(name, derivative, x, w)
    points = tuple(GradientSample(x=xv, weights=wv, value=evaluate(xv, wv), bound=factor * abs(xv))
                   for xv, wv in _sample_points(depth, samples, seed))
    return ChainReport(activation=name, depth=depth, derivative=derivative,
                       chain_rule=_chain_rule_holds(depth), sup_derivative=sup,
                       bound_identity=identity, bound_identity_holds=_bound_identity_holds(name),
                       factor=factor, samples=points)


# -- the float illustration ------------------------------------------------------------
@dataclass(frozen=True)
class LayerGradients:
    """Gradient magnitudes per hidden layer ``l = 1..D`` (float64), gathered
    over ``seeds`` random initialisations: an illustration, not exact.

    ``backprop[l]`` holds a sample of ``|dL/dz_l|`` over units and inputs
    (the back-propagated gradients of Glorot and Bengio's histograms), at
    most :data:`SAMPLE` per layer and seed; ``weights[l]`` a sample of
    ``|dL/dW_l|``.  The means and zero shares are over every entry.
    """

    activation: str
    depth: int
    width: int
    init: str
    seeds: int
    batch: int
    backprop: tuple["np.ndarray", ...]
    weights: tuple["np.ndarray", ...]
    backprop_means: tuple[float, ...]
    weight_means: tuple[float, ...]
    zero_shares: tuple[float, ...]

    def mean_backprop(self) -> list[float]:
        return list(self.backprop_means)

    def mean_weights(self) -> list[float]:
        return list(self.weight_means)

    def zero_share(self) -> list[float]:
        """Share of exactly-zero back-propagated gradients (dead relu units)."""
        return list(self.zero_shares)


#: Entries per layer and seed kept for the histograms.
SAMPLE = 4096


def _act_np(name: str) -> tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]:
    """The activation and its derivative (given pre-activation and output)."""
    import numpy as np

    alpha = float(LEAKY_ALPHA)
    if name == "sigmoid":
        return (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a))
    if name == "tanh":
        return (np.tanh, lambda z, a: 1.0 - a * a)
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float))
    return (lambda z: np.where(z > 0, z, alpha * z), lambda z, a: np.where(z > 0, 1.0, alpha))


def layer_gradients(name: str, depth: int, width: int = 32, init: str = "standard",
                    seeds: int = 10, batch: int = 256, seed: int = 0) -> LayerGradients:
    """Back-propagated gradients ``dL/dz_l`` and weight gradients ``dL/dW_l``
    of a ``1 -> width^depth -> 1`` network.

    Weights are drawn by ``init``: ``standard`` is Glorot and Bengio's
    ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``, ``glorot`` their normalised
    ``U[-sqrt(6/(fan_in+fan_out)), +...]``, ``he`` is ``N(0, 2/fan_in)``;
    biases 0.  Inputs are uniform on [-1, 1], targets ``sin(3x)``, the loss
    the mean squared error.

    >>> g = layer_gradients("sigmoid", 4, width=16, seeds=2, batch=32)
    >>> m = g.mean_backprop()
    >>> len(m), m[0] < m[-1]
    (4, True)
    """
    import numpy as np

    _check_activation(name)
    if init not in INITS:
        raise PWLValueError(f"unknown init {init!r} (known: {', '.join(INITS)})")
    for value, what in ((depth, "depth"), (width, "width"), (seeds, "seeds"), (batch, "batch")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PWLValueError(f"{what} must be an integer >= 1, got {value!r}")
    act, dact = _act_np(name)
    sizes = [1] + [width] * depth + [1]
    deltas: list[list[Any]] = [[] for _ in range(depth)]
    grads: list[list[Any]] = [[] for _ in range(depth)]
    sums = np.zeros((3, depth))  # sum |dL/dz|, sum |dL/dW|, zeros of dL/dz
    for k in range(seeds):
        rng = np.random.default_rng(seed + k)
        weights = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            if init == "standard":
                r = 1.0 / np.sqrt(fan_in)
                weights.append(rng.uniform(-r, r, size=(fan_out, fan_in)))
            elif init == "glorot":
                r = np.sqrt(6.0 / (fan_in + fan_out))
                weights.append(rng.uniform(-r, r, size=(fan_out, fan_in)))
            else:
                weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in)))
        x = rng.uniform(-1.0, 1.0, size=(1, batch))
        target = np.sin(3.0 * x)
        zs, hs = [], [x]
        h = x
        for W in weights[:-1]:
            z = W @ h
            h = act(z)
            zs.append(z)
            hs.append(h)
        out = weights[-1] @ h
        delta = (out - target) / batch
        back = weights[-1].T @ delta
        for layer in range(depth - 1, -1, -1):
            dz = back * dact(zs[layer], hs[layer + 1])
            dz_abs = np.abs(dz).ravel()
            dw_abs = np.abs(dz @ hs[layer].T).ravel()
            sums[:, layer] += (dz_abs.mean(), dw_abs.mean(), (dz_abs == 0).mean())
            deltas[layer].append(dz_abs[:SAMPLE] if dz_abs.size <= SAMPLE
                                 else rng.choice(dz_abs, SAMPLE, replace=False))
            grads[layer].append(dw_abs[:SAMPLE] if dw_abs.size <= SAMPLE
                                else rng.choice(dw_abs, SAMPLE, replace=False))
            back = weights[layer].T @ dz
    means = sums / seeds
    return LayerGradients(activation=name, depth=depth, width=width, init=init, seeds=seeds,
                          batch=batch,
                          backprop=tuple(np.concatenate(c) for c in deltas),
                          weights=tuple(np.concatenate(c) for c in grads),
                          backprop_means=tuple(float(v) for v in means[0]),
                          weight_means=tuple(float(v) for v in means[1]),
                          zero_shares=tuple(float(v) for v in means[2]))


def describe_samples(report: ChainReport) -> list[dict[str, object]]:
    """The samples as JSON-ready dictionaries (exact numbers as strings)."""
    return [{"x": format_exact(s.x), "w": [format_exact(v) for v in s.weights],
             "value": s.value.to_json(), "bound": format_exact(s.bound), "holds": s.holds}
            for s in report.samples]
