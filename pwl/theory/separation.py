"""Depth separation (lecture 001): no shallow network is close to ``16 tri^D``.

With ``f = 16 tri^D`` on [0, 1] and any piecewise-linear ``g``, ``g`` crosses
8 at most ``kappa(g)`` times, so on at least ``2^D - kappa(g)`` of the ``2^D``
pieces of ``f`` it stays on one side of 8.  On such a piece ``f`` runs
linearly between 0 and 16, and ``g`` misses the half of it on the other side
of 8 by at least ``int |f - 8|`` over that half, which is ``2 / 2^D``.  Hence

    int_0^1 |f - g| >= 2 (1 - kappa(g) / 2^D),

twice the lecture's ``1 - kappa(g)/2^D`` (which counts half of that error).
Bounding ``kappa(g)`` by the architecture gives ``1 - 2^k prod(n_d) / 2^D``
and ``1 - prod(n_d + 1) / 2^D``.

Competitors are real networks whose weights pwl builds or trains:

* ``interp``: the interpolant of ``f`` at ``n + 1`` knots, a width-``n`` net;
  with ``k > 1`` hidden layers, a composition that uses the depth: each of
  the first ``k - 1`` layers computes ``tri^e`` exactly (``e = floor(log2
  n)``, the most a width-``n`` layer holds) and the last interpolates
  ``16 tri^r`` for the remaining ``r = D - e (k - 1)`` (exact when ``r <=
  e``), since ``tri^D = tri^r o tri^e o ... o tri^e``;
* ``lstsq``: the L2-best combination of the same knots' hat functions,
  solved exactly in rationals (composed the same way for ``k > 1``);
* ``random``: a seeded random initialisation;
* ``trained``: seeded gradient descent in numpy, then taken at its exact
  binary value.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import TYPE_CHECKING, Optional

from ..engine.propagate import function_of
from .constructions import shallow_from_function, telgarsky
from .distances import distance
from ..errors import PWLValueError
from ..values.function import PiecewiseLinear
from ..values.network import Layer, Network
from ..values.numbers import from_float_exact

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BOUNDS", "COMPETITORS", "SeparationReport", "separation", "competitor", "min_width"]

COMPETITORS = ("interp", "lstsq", "random", "trained")
#: The lower bounds a :class:`SeparationReport` holds, by attribute name.
BOUNDS = ("bound_lecture", "bound_sharp", "bound_arch_lecture", "bound_arch_one_input")
UNIT = (Fraction(0), Fraction(1))


@dataclass(frozen=True)
class SeparationReport:
    depth: int
    width: int
    layers: int
    competitor: str
    kappa_g: int
    l1: Fraction
    bound_lecture: Fraction         # 1 - kappa(g) / 2^D
    bound_sharp: Fraction           # 2 (1 - kappa(g) / 2^D)
    bound_arch_lecture: Fraction    # 1 - 2^k prod(n_d) / 2^D
    bound_arch_one_input: Fraction  # 1 - prod(n_d + 1) / 2^D
    network: Network

    @property
    def holds(self) -> bool:
        return self.l1 >= max(self.bound_lecture, self.bound_sharp,
                              self.bound_arch_lecture, self.bound_arch_one_input)

    @property
    def vacuous(self) -> tuple[str, ...]:
        """The bounds that are below 0, so say nothing about ``int |f - g|``
        (a competitor with ``2^D`` pieces or more may equal ``f``).

        >>> separation(2, 4).vacuous
        ('bound_arch_lecture', 'bound_arch_one_input')
        """
        return tuple(name for name in BOUNDS if getattr(self, name) < 0)


def _knots(depth: int, n: int) -> list[Fraction]:
    """``n + 1`` knots 0 = x_0 < ... < x_n = 1 that do not alias with f's period.

    With ``n >= 2^D`` the knots ``j / 2^D`` make the interpolant exact.  With
    fewer, uniform knots ``i/n`` would sample ``f`` only at its zeros when
    ``n`` divides ``2^(D-1)``; instead knot ``i`` is moved to the multiple of
    ``1 / 2^D`` nearest to ``i/n`` whose parity is that of ``i``, so that the
    knots alternate between zeros and peaks of ``f`` and the interpolant has
    ``n`` pieces.
    """
    m = 2**depth
    if n >= m:
        return [Fraction(j, m) for j in range(m + 1)]
    picks = [0]
    for i in range(1, n + 1):
        j = round(Fraction(i * m, n))
        if i == n:
            j = m
        elif j % 2 != i % 2:
            j += 1 if Fraction(i * m, n) > j else -1
        j = max(picks[-1] + 1, j)
        picks.append(j)
    picks = [min(j, m) for j in picks]
    return [Fraction(j, m) for j in sorted(set(picks))]


def _widen(net: Network, width: int) -> Network:
    """Add hidden units with zero output weight until the hidden layer has ``width``."""
    hidden, out = net.layers
    extra = width - hidden.n_out
    if extra <= 0:
        return net
    h = Layer.make([list(r) for r in hidden.weights] + [[0]] * extra,
                   list(hidden.bias) + [0] * extra)
    o = Layer.make([list(out.weights[0]) + [0] * extra], list(out.bias), "identity")
    return Network.sequential([h, o])


def _interp(f: PiecewiseLinear, depth: int, n: int) -> PiecewiseLinear:
    xs = _knots(depth, n)
    return PiecewiseLinear.from_points(xs, [f(x) for x in xs])


def _hat_integrals(f: PiecewiseLinear, xs: list[Fraction]) -> list[Fraction]:
    """``[int f phi_i]`` for the hat functions ``phi_i`` of the knots ``xs``
    (``phi_i(x_i) = 1``, 0 at the other knots, linear between), exactly, in
    one sweep over the pieces of ``f`` (``f`` defined on ``[xs[0], xs[-1]]``).

    >>> f = PiecewiseLinear.from_points([0, 1], [0, 1])
    >>> _hat_integrals(f, [Fraction(0), Fraction(1, 2), Fraction(1)])
    [Fraction(1, 24), Fraction(1, 4), Fraction(5, 24)]
    """
    bps, slopes, icpts = f.breakpoints, f.slopes, f.intercepts
    out = [Fraction(0)] * len(xs)
    p = bisect_right(bps, xs[0])            # the piece of f just right of xs[0]
    for j in range(len(xs) - 1):
        x0, x1 = xs[j], xs[j + 1]
        h = x1 - x0
        a = x0
        while True:
            b = bps[p] if p < len(bps) and bps[p] < x1 else x1
            s, c = slopes[p], icpts[p]
            # on [a, b] f is affine and each hat is affine: Simpson's rule is
            # exact for their quadratic product
            m = (a + b) / 2
            fa, fm, fb = s * a + c, s * m + c, s * b + c
            w = (b - a) / (6 * h)
            out[j] += w * (fa * (x1 - a) + 4 * fm * (x1 - m) + fb * (x1 - b))
            out[j + 1] += w * (fa * (a - x0) + 4 * fm * (m - x0) + fb * (b - x0))
            if b == x1:
                if p < len(bps) and bps[p] == x1:
                    p += 1
                break
            p += 1
            a = b
    return out


def _lstsq(f: PiecewiseLinear, depth: int, n: int) -> PiecewiseLinear:
    """Exact L2 projection of ``f`` on the hat functions at the knots."""
    xs = _knots(depth, n)
    k = len(xs)
    h = [xs[i + 1] - xs[i] for i in range(k - 1)]
    zero = Fraction(0)
    diag = [(h[i - 1] if i > 0 else zero) / 3 + (h[i] if i < k - 1 else zero) / 3
            for i in range(k)]
    off = [hi / 6 for hi in h]
    rhs = _hat_integrals(f, xs)
    # tridiagonal solve (Thomas), exact in rationals; the Gram matrix is
    # symmetric positive definite, so no pivot vanishes
    c, d = off[:], rhs[:]
    b = diag[:]
    for i in range(1, k):
        w = off[i - 1] / b[i - 1]
        b[i] -= w * c[i - 1]
        d[i] -= w * d[i - 1]
    y = [Fraction(0)] * k
    y[-1] = d[-1] / b[-1]
    for i in range(k - 2, -1, -1):
        y[i] = (d[i] - c[i] * y[i + 1]) / b[i]
    return PiecewiseLinear.from_points(xs, y)


#: A float network's parameters: one (weights, biases) pair per layer.
FloatParams = list[tuple["np.ndarray", "np.ndarray"]]


def _random_layers(widths: list[int], seed: int) -> FloatParams:
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = [1] + widths + [1]
    params = []
    for k in range(len(sizes) - 1):
        w = rng.normal(0.0, (2.0 / sizes[k]) ** 0.5, size=(sizes[k + 1], sizes[k]))
        b = rng.normal(0.0, 0.5, size=sizes[k + 1])
        params.append((w, b))
    return params


def _to_network(params: FloatParams) -> Network:
    layers = []
    for k, (w, b) in enumerate(params):
        act = "identity" if k == len(params) - 1 else "relu"
        layers.append(Layer.make([[from_float_exact(v) for v in row] for row in w.tolist()],
                                 [from_float_exact(v) for v in b.tolist()], act))
    return Network.sequential(layers)


def _train(f: PiecewiseLinear, depth: int, widths: list[int], seed: int, steps: int
           ) -> FloatParams:
    """Seeded full-batch Adam on samples of f; returns float64 parameters."""
    import numpy as np

    params = _random_layers(widths, seed)
    samples = max(256, 4 * 2**depth)
    xs = np.linspace(0.0, 1.0, samples)
    ys = np.array([float(f(Fraction(x))) for x in xs])
    flat = [p for wb in params for p in wb]
    m = [np.zeros_like(p) for p in flat]
    v = [np.zeros_like(p) for p in flat]
    lr, b1, b2 = 1e-2, 0.9, 0.999
    for t in range(1, steps + 1):
        acts = [xs[None, :]]
        pres = []
        h = acts[0]
        for k, (w, b) in enumerate(params):
            z = w @ h + b[:, None]
            pres.append(z)
            h = z if k == len(params) - 1 else np.maximum(z, 0.0)
            acts.append(h)
        grad_h = 2.0 * (h - ys[None, :]) / samples
        grads = []
        for k in range(len(params) - 1, -1, -1):
            w, _ = params[k]
            gz = grad_h if k == len(params) - 1 else grad_h * (pres[k] > 0)
            grads.append((gz @ acts[k].T, gz.sum(axis=1)))
            grad_h = w.T @ gz
        grads.reverse()
        flat_g = [g for wb in grads for g in wb]
        for i, (p, g) in enumerate(zip(flat, flat_g)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p -= lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + 1e-8)
    return params


def competitor(name: str, depth: int, width: int, layers: int = 1, seed: int = 0,
               steps: int = 300) -> Network:
    """The competitor network ``g`` with ``layers`` hidden layers of ``width`` units."""
    if name not in COMPETITORS:
        raise PWLValueError(f"unknown competitor {name!r} (known: {', '.join(COMPETITORS)})")
    if width < 1 or layers < 1:
        raise PWLValueError("width and layers must be at least 1")
    widths = [width] * layers
    if name == "random":
        return _to_network(_random_layers(widths, seed))
    f = function_of(telgarsky(depth, 16), UNIT)
    if name == "trained":
        return _to_network(_train(f, depth, widths, seed, steps))
    if layers == 1:
        g = _interp(f, depth, width) if name == "interp" else _lstsq(f, depth, width)
        return _widen(shallow_from_function(g), width)
    return _composed(name, depth, width, layers)


def _composed(name: str, depth: int, width: int, layers: int) -> Network:
    """``layers`` hidden layers of ``width`` units computing an
    approximation of ``16 tri^depth`` on [0, 1] that uses its depth: exact
    ``tri^e`` layers, then an interpolant (or L2 projection) of what is left."""
    e = width.bit_length() - 1              # tri^e has 2^e <= width pieces
    parts: list[Network] = []
    rest = depth
    for _ in range(layers - 1):
        d = min(e, rest)
        rest -= d
        tri_d = (function_of(telgarsky(d), UNIT) if d
                 else PiecewiseLinear.from_points([0, 1], [0, 1]))
        parts.append(_widen(shallow_from_function(tri_d), width))
    last = (function_of(telgarsky(rest, 16), UNIT) if rest
            else PiecewiseLinear.from_points([0, 1], [0, 16]))
    g = _interp(last, rest, width) if name == "interp" else _lstsq(last, rest, width)
    parts.append(_widen(shallow_from_function(g), width))
    return _chain(parts)


def _chain(nets: list[Network]) -> Network:
    """The composition ``nets[-1] o ... o nets[0]`` of one-input, one-output
    networks with one hidden layer each and an affine output: each output
    layer is folded into the next network's hidden layer."""
    layers = [nets[0].layers[0]]
    out = nets[0].layers[1]
    for net in nets[1:]:
        hidden, next_out = net.layers
        # hidden(out(h)) = W (v . h + c) + b = (W v) . h + (W c + b)
        v, c = out.weights[0], out.bias[0]
        weights = [[w[0] * vj for vj in v] for w in hidden.weights]
        bias = [w[0] * c + b for w, b in zip(hidden.weights, hidden.bias)]
        layers.append(Layer.make(weights, bias, hidden.activation))
        out = next_out
    layers.append(out)
    return Network.sequential(layers)


def separation(depth: int, width: int, layers: int = 1, name: str = "interp",
               seed: int = 0, steps: int = 300,
               network: Optional[Network] = None) -> SeparationReport:
    """Distance from ``16 tri^D`` to a competitor, with every lower bound.

    >>> r = separation(4, 2)
    >>> r.kappa_g, r.l1 >= r.bound_sharp, r.holds
    (2, True, True)
    """
    if depth < 1:
        raise PWLValueError("depth must be at least 1")
    g = network if network is not None else competitor(name, depth, width, layers, seed, steps)
    f = telgarsky(depth, 16)
    kappa_g = function_of(g, UNIT).num_pieces
    m = Fraction(2**depth)
    widths = g.widths
    return SeparationReport(
        depth=depth,
        width=width,
        layers=layers,
        competitor=name,
        kappa_g=kappa_g,
        l1=distance(f, g, UNIT, "l1"),
        bound_lecture=1 - kappa_g / m,
        bound_sharp=2 * (1 - kappa_g / m),
        bound_arch_lecture=1 - 2 ** len(widths) * prod(widths) / m,
        bound_arch_one_input=1 - prod(n + 1 for n in widths) / m,
        network=g,
    )


def min_width(depth: int, epsilon: Fraction, layers: int = 1) -> int:
    """Smallest width ``n`` for which the lower bounds allow an L1 error
    ``<= epsilon`` with ``layers`` hidden layers of width ``n``; the bounds
    rule out every smaller width.

    >>> min_width(4, Fraction(1, 2))
    11
    """
    if epsilon < 0:
        raise PWLValueError("epsilon must be at least 0")
    m = Fraction(2**depth)

    def allowed(n: int) -> bool:
        kappa_max = min(2**layers * n**layers, (n + 1) ** layers)
        return 2 * (1 - kappa_max / m) <= epsilon

    lo, hi = 1, 2**depth  # allowed(hi) holds: (hi + 1)^k > 2^D
    while lo < hi:
        mid = (lo + hi) // 2
        if allowed(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
