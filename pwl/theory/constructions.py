"""Networks from the lectures, built exactly.

* :func:`telgarsky`: the triangle map ``tri(x) = relu(relu(2x) - relu(4x - 2))``
  composed ``D`` times (lecture 001, "Triangle wave"): ``D`` hidden layers of
  2 units, ``2^D`` pieces on [0, 1], period ``1/2^(D-1)``.
* :func:`sawtooth`: width-``n`` layers each folding [0, 1] onto itself ``n``
  times (Montufar et al. 2014): ``n^D`` pieces on [0, 1].
* :func:`shallow_from_function`: a one-hidden-layer network computing a given
  piecewise-linear function on its (bounded) domain.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..engine.propagate import function_of
from ..values.domain import as_domain
from ..errors import DomainError, PWLValueError
from ..values.activations import get_activation
from ..values.function import PiecewiseLinear
from ..values.network import Layer, Network
from ..values.numbers import to_fraction

__all__ = ["telgarsky", "sawtooth", "shallow_from_function", "pad_depth"]


def _positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PWLValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def telgarsky(depth: int, scale: object = 1) -> Network:
    """Telgarsky's triangle network: ``scale * tri^D``.

    Hidden layer 1 is ``relu(2x), relu(4x - 2)``; each further hidden layer
    applies the same map to ``h_1 - h_2``; the output is ``scale (h_1 - h_2)``.

    >>> net = telgarsky(3)
    >>> net.depth, net.widths, function_of(net, (0, 1)).num_pieces
    (3, (2, 2, 2), 8)
    """
    depth = _positive_int(depth, "depth")
    s = to_fraction(scale, "scale")
    two, four = Fraction(2), Fraction(4)
    first = Layer.make([[two], [four]], [0, -2])
    inner = Layer.make([[two, -two], [four, -four]], [0, -2])
    out = Layer.make([[s, -s]], [0], "identity")
    return Network.sequential([first] + [inner] * (depth - 1) + [out])


def sawtooth(depth: int, n: int) -> Network:
    """``D`` layers of width ``n``, each folding [0, 1] onto itself ``n`` times.

    The fold is ``s(x) = n x - 2n relu(x - 1/n) + 2n relu(x - 2/n) - ...``:
    on [0, 1] it runs ``n`` times between 0 and 1, so ``s^D`` has ``n^D``
    pieces there.  Hidden unit ``k`` of a layer computes ``relu(y - k/n)``
    where ``y`` is the previous fold.

    >>> function_of(sawtooth(2, 3), (0, 1)).num_pieces
    9
    """
    depth = _positive_int(depth, "depth")
    n = _positive_int(n, "width n", 1)
    coef = [Fraction(n)] + [Fraction(2 * n * (-1) ** k) for k in range(1, n)]
    bias = [Fraction(-k, n) for k in range(n)]
    first = Layer.make([[1]] * n, bias)
    inner = Layer.make([coef for _ in range(n)], bias)
    out = Layer.make([coef], [0], "identity")
    return Network.sequential([first] + [inner] * (depth - 1) + [out])


def shallow_from_function(f: PiecewiseLinear) -> Network:
    """A one-hidden-layer ReLU network equal to ``f`` on its bounded domain.

    With ``f`` having pieces ``p_0, ..., p_{n-1}`` on ``[lo, hi]`` and slopes
    ``s_k``: ``f(x) = f(lo) + s_0 relu(x - lo) + sum_k (s_k - s_{k-1})
    relu(x - b_k)``, so the network has ``n`` hidden units.

    >>> f = PiecewiseLinear.from_points([0, 1, 2], [0, 1, 0])
    >>> net = shallow_from_function(f)
    >>> net.widths, function_of(net, (0, 2)) == f
    ((2,), True)
    """
    if f.domain is None:
        raise DomainError("shallow_from_function needs a bounded domain")
    lo = f.domain[0]
    knots = (lo,) + tuple(f.breakpoints)
    slopes = f.slopes
    out_w = [slopes[0]] + [slopes[k] - slopes[k - 1] for k in range(1, len(slopes))]
    hidden = Layer.make([[1]] * len(knots), [-t for t in knots])
    out = Layer.make([out_w], [f(lo)], "identity")
    return Network.sequential([hidden, out])


def pad_depth(net: Network, layers: int, domain: Sequence[object]) -> Network:
    """The same function on ``domain`` with extra hidden layers of the last
    hidden width, so that it has ``layers`` hidden layers.

    Each added layer passes ``y + c`` through a relu with ``c`` large enough
    to keep it positive on the domain (the other units are 0), and the
    output layer subtracts ``c`` again before its own activation.  Only the
    first output is kept.
    """
    dom = as_domain(domain)
    if dom is None:
        raise DomainError("pad_depth needs a bounded domain")
    if layers <= net.depth:
        return net
    first = net.layers[-1]
    pre = Network.sequential(list(net.layers[:-1]) + [
        Layer(first.weights[:1], first.bias[:1], get_activation("identity"))])
    f = function_of(pre, dom)
    low = min(f(x) for x in (dom[0], dom[1], *f.breakpoints))
    c = max(Fraction(0), -low) + 1
    width = net.widths[-1] if net.widths else 1
    body = list(net.layers[:-1])
    out = net.layers[-1]
    first_pass = Layer.make([list(out.weights[0])] + [[0] * out.n_in] * (width - 1),
                            [out.bias[0] + c] + [0] * (width - 1))
    body.append(first_pass)
    keep = Layer.make([[1] + [0] * (width - 1)] + [[0] * width] * (width - 1), [0] * width)
    while len(body) < layers:
        body.append(keep)
    final = Layer.make([[1] + [0] * (width - 1)], [-c], out.activation)
    return Network.sequential(body + [final])


#: Beyond this depth :func:`check_telgarsky` counts without listing the pieces.
LIST_DEPTH = 20


def check_telgarsky(depth: int, scale: object = 1) -> dict[str, object]:
    """Count ``scale * tri^D`` on [0, 1] with the engine and check the
    lecture's claims exactly: ``2^D`` pieces, values in ``[0, scale]``, period
    ``1 / 2^(D-1)``.  Beyond depth :data:`LIST_DEPTH` only the count is
    checked (through the rank-1 layers); period and range are then ``None``.

    A continuous piecewise-linear function is fixed by its values at its
    knots, so the checks run on the knots ``lo, breakpoints..., hi``.

    >>> c = check_telgarsky(3)
    >>> c["pieces"], c["expected"], c["period"], c["holds"]
    (8, 8, Fraction(1, 4), True)
    """
    net = telgarsky(depth, scale)
    s = to_fraction(scale, "scale")
    expected = 2**depth
    period = Fraction(1, 2 ** (depth - 1))
    if depth > LIST_DEPTH:
        # too many pieces to list: count them through the rank-1 layers; the
        # knot-by-knot checks of period and range need the listing
        from ..engine.compose import compose_count

        pieces, _ = compose_count(net, (Fraction(0), Fraction(1)))
        return {"network": net, "pieces": pieces, "expected": expected, "period": period,
                "min": None, "max": None, "periodic": None, "in_range": None,
                "holds": pieces == expected}
    f = function_of(net, (0, 1))
    knots = (Fraction(0),) + f.breakpoints + (Fraction(1),)
    values = [f(x) for x in knots]
    # with 2^D pieces on knots j / 2^D, shifting by the period maps knots to knots
    uniform = knots == tuple(Fraction(j, expected) for j in range(expected + 1))
    shift = 2  # the period in units of 1 / 2^D
    periodic = uniform and all(values[j] == values[j + shift] for j in range(expected + 1 - shift))
    low, high = min(values), max(values)
    return {
        "network": net,
        "pieces": f.num_pieces,
        "expected": expected,
        "period": period,
        "min": low,
        "max": high,
        "periodic": periodic,
        "in_range": low == min(Fraction(0), s) and high == max(Fraction(0), s),
        "holds": f.num_pieces == expected and periodic and low == min(0, s) and high == max(0, s),
    }
