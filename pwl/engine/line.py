"""Networks with many inputs, restricted to a line through input space.

For input points ``a`` and ``b``, the function ``t -> net(a + t (b - a))``
is computed by a one-input network: every dense node that reads the input,
``W x + c``, becomes ``(W (b - a)) t + (W a + c)``, exactly.  Counting its
pieces on ``t`` in [0, 1] counts the linear regions the segment from ``a``
to ``b`` crosses (Hanin and Rolnick 2019; Novak et al. 2018), here exactly.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Callable, Optional, Sequence

import numpy as np

from ..values.activations import get_activation
from ..errors import PWLValueError
from ..values.network import Layer, Network, Node
from ..values.numbers import from_float_exact, to_fraction

__all__ = ["restrict_to_line"]


def _point(values: "Sequence[object] | np.ndarray", size: int, name: str) -> list[Fraction]:
    """Exact coordinates: exact numbers, or a numpy array (floats at their
    exact binary value)."""
    array = _float_array(values, size, name)
    if array is not None:
        return [from_float_exact(v, f"{name}[{i}]") for i, v in enumerate(array.tolist())]
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise PWLValueError(f"{name}: expected a list of {size} numbers")
    if len(values) != size:
        raise PWLValueError(f"{name}: expected {size} coordinates (the network's inputs), "
                            f"got {len(values)}")
    return [to_fraction(v, f"{name}[{i}]") for i, v in enumerate(values)]


def _float_array(values: object, size: int, name: str) -> Optional[np.ndarray]:
    """A numpy array of ``size`` finite numbers as float64 (every float and
    every integer below 2^53 exactly), or None for anything else."""
    import numpy as np

    if not isinstance(values, np.ndarray):
        return None
    flat = values.reshape(-1)
    if flat.dtype.kind not in "fiu":
        raise PWLValueError(f"{name}: an array of {flat.dtype}, not numbers")
    if flat.size != size:
        raise PWLValueError(f"{name}: expected {size} coordinates (the network's inputs), "
                            f"got {flat.size}")
    if flat.dtype.kind in "iu" and flat.size and int(np.abs(flat).max()) >= 2**53:
        return None
    out = flat.astype(np.float64)
    if not np.isfinite(out).all():
        raise PWLValueError(f"{name}: the point holds a nan or an infinity")
    return out


def _restricted(layer: Layer, pa: list[Fraction], pb: list[Fraction],
                direction: list[Fraction]
                ) -> tuple[tuple[tuple[Fraction], ...], tuple[Fraction, ...]]:
    """``W d`` and ``W a + c`` exactly: one integer matrix product (python-flint)
    over common denominators, instead of a Fraction per weight."""
    import flint

    from .escalate import dyadic_integers, rational_integers

    fast = _float_restricted(layer, pa, pb)
    if fast is not None:
        return fast
    if layer.floats is not None:
        w, c = layer.floats
        ints, wden = dyadic_integers(w.ravel())
        wm = flint.fmpz_mat(w.shape[0], w.shape[1], ints)
    else:
        ints, wden = rational_integers([v for row in layer.weights for v in row])
        wm = flint.fmpz_mat(layer.n_out, layer.n_in, ints)
    pden = 1
    for v in pa + direction:
        if v.denominator != 1:
            pden = lcm(pden, v.denominator)
    pm = flint.fmpz_mat(len(pa), 2, [x for p, d in zip(pa, direction)
                                     for x in (int(d * pden), int(p * pden))])
    out = (wm * pm).entries()
    den = wden * pden
    weights = tuple((Fraction(int(out[2 * i]), den),) for i in range(layer.n_out))
    bias = tuple(Fraction(int(out[2 * i + 1]), den) + b for i, b in enumerate(layer.bias))
    return weights, bias


#: ``(a, hi, lo)``: a point and the direction ``b - a = hi + lo``, exactly.
FloatPoints = tuple[np.ndarray, np.ndarray, np.ndarray]
#: The points and the direction as Fractions.
ExactPoints = tuple[list[Fraction], list[Fraction], list[Fraction]]


def _float_points(pa: list[Fraction], pb: list[Fraction]) -> Optional[FloatPoints]:
    """``(a, hi, lo)`` as float64 arrays with ``b - a = hi + lo`` exactly,
    if every coordinate of both points is a float (``.npy`` inputs); else None."""
    import numpy as np

    try:
        a = np.array([p.numerator / p.denominator for p in pa])
        b = np.array([q.numerator / q.denominator for q in pb])
    except OverflowError:
        return None
    if not (all(Fraction(x) == p for x, p in zip(a.tolist(), pa))
            and all(Fraction(y) == q for y, q in zip(b.tolist(), pb))):
        return None
    return _split_direction(a, b)


def _split_direction(a: np.ndarray, b: np.ndarray) -> Optional[FloatPoints]:
    """``(a, hi, lo)`` with ``b - a = hi + lo`` exactly, or None on overflow."""
    import numpy as np

    from .exactsum import two_sum

    with np.errstate(over="ignore", invalid="ignore"):
        hi, lo = two_sum(b, -a)
    if not (np.isfinite(hi).all() and np.isfinite(lo).all()):
        return None
    return a, hi, lo


def _float_restricted(layer: Layer, pa: list[Fraction], pb: list[Fraction]
                      ) -> Optional[tuple[tuple[tuple[Fraction], ...], tuple[Fraction, ...]]]:
    """The same for a float layer and float points: exact float64 BLAS
    products of integer limbs (:mod:`pwl.engine.exactsum`); None if the layer or
    the points are not floats."""
    points = _float_points(pa, pb) if layer.floats is not None else None
    if points is None:
        return None
    import numpy as np

    from .exactsum import exact_matmul

    a, hi, lo = points
    w, c = layer.floats  # type: ignore[misc]
    rows = exact_matmul(w, np.column_stack([hi, lo, a]))
    if rows is None:
        return None
    weights = tuple((r[0] + r[1],) for r in rows)
    bias = tuple(r[2] + Fraction(x) for r, x in zip(rows, c.tolist()))
    return weights, bias


#: Lines through models with at least this many dense layers after the
#: first get the first layer within about one rounding
#: (:func:`_accurate_products`): the bounds' growth through the later layers
#: would otherwise cost spectral certificates.  Shallower models take one
#: product and Higham's bound, which is cheaper and enough there.
ACCURATE_DEPTH = 3


def _deferred_restriction(layer: Layer, points: Optional[FloatPoints],
                          exact_points: Callable[[], ExactPoints],
                          accurate: bool = True) -> Optional[Layer]:
    """For a float layer and float points ``(a, hi, lo)``, the restricted
    layer with its exact entries deferred (:meth:`Layer._deferred`):
    ``W (b - a)`` and ``W a + c`` in float64 with rigorous error bounds now
    (:func:`_accurate_products` if ``accurate``, else one product and
    Higham's bound), exactly (from ``exact_points()``, the points as
    Fractions, by :func:`_restricted`) only if asked for."""
    if points is None or layer.floats is None:
        return None
    import numpy as np

    a, hi, lo = points
    w, c = layer.floats
    u = 2.0**-53
    k = w.shape[1]
    gamma = (k + 2) * u / (1 - (k + 2) * u)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        products = _accurate_products(layer, hi, lo, a) if accurate else None
        if products is not None:
            slope, es, prod_a, ea = products
            icpt = prod_a + c
            ei = ea + 2 * u * np.abs(icpt)
        else:
            prod = w @ np.column_stack([hi, lo, a])         # one product for the three
            slope = prod[:, 0] + prod[:, 1]
            icpt = prod[:, 2] + c
            # |fl(W x) - W x| <= gamma_k |W||x|, the float product of |W||x|
            # rounded up by (1 + 2 gamma); one more rounding for each sum
            mags = np.abs(w) @ np.column_stack([np.abs(hi) + np.abs(lo), np.abs(a)])
            es = gamma * (1 + 2 * gamma) * mags[:, 0] + 2 * u * np.abs(slope)
            ei = gamma * (1 + 2 * gamma) * (mags[:, 1] + np.abs(c)) + 2 * u * np.abs(icpt)
    if not all(np.isfinite(x).all() for x in (slope, icpt, es, ei)):
        return None
    safe = 1 + 2.0**-30
    approx = (slope[:, None], (es * safe + 1e-300)[:, None], icpt, ei * safe + 1e-300)

    def exact() -> tuple[tuple[tuple[Fraction], ...], tuple[Fraction, ...]]:
        return _restricted(layer, *exact_points())

    return Layer._deferred(approx, exact, layer.activation)


def _split_bits(k: int) -> int:
    """Bits per part so that a sum of ``k`` products of two parts is exact."""
    return (53 - max(k - 1, 1).bit_length()) // 2


def _split(x: np.ndarray, expo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = hi + lo`` exactly, ``hi`` an integer multiple of ``2^expo``
    (``|lo| <= 2^(expo - 1)``)."""
    import numpy as np

    if int(np.abs(expo).max(initial=0)) < 1000:
        # products by powers of two (exact but for underflow, which only
        # makes a part of hi zero: lo = x - hi stays exact); ldexp is slower
        hi = np.round(x * np.ldexp(1.0, -expo)) * np.ldexp(1.0, expo)
    else:
        hi = np.ldexp(np.round(np.ldexp(x, -expo)), expo)
    return hi, x - hi


def _top_exponents(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row (``axis=1``) or column (``axis=0``): the largest magnitude,
    and ``E`` with every magnitude below ``2^E`` (0 for an all-zero one)."""
    top = np.abs(x).max(axis=axis)
    return top, np.frexp(top)[1].astype(np.int64)


def _accurate_products(layer: Layer, hi: np.ndarray, lo: np.ndarray, a: np.ndarray
                       ) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``W (hi + lo)`` and ``W a`` for the float layer ``W``, each within
    about one rounding of its own value instead of ``gamma_k |W| |x|``:
    ``(slope, its bound, W a, its bound)``, or None if the numbers are too
    far out of the float range for the splitting.

    Each row ``w_i`` of ``W`` is split exactly as ``w_hi + w_lo``, ``w_hi``
    an integer multiple of ``2^p_i`` below ``2^(p_i + b)`` in magnitude
    (kept with the layer), and each vector ``x`` likewise with ``2^q``.  A
    product of two high parts is then an integer multiple of
    ``2^(p_i + q)`` below ``2^(2b)`` of them, and a sum of ``k`` below
    ``2^53`` for ``b = (53 - log2 k) / 2``: BLAS computes ``w_hi x_hi``
    exactly, in any order.  The three other products are smaller by
    ``2^-b`` at least; computed in float64 they err by at most
    ``(gamma_k + 2u) k 2^(p_i + q) (2^b + 1/4)`` (every part bounded by its
    grid), and the sum of the exact and the rest rounds once more.
    ``W lo`` (``|lo| <= u |hi|``) gets Higham's bound by the rows' largest
    magnitudes."""
    import numpy as np

    w, _ = layer.floats  # type: ignore[misc]
    k = w.shape[1]
    b = _split_bits(k)
    split = layer._derived.get("row_split")
    if split is None:
        top, e_w = _top_exponents(w, axis=1)
        p = e_w - b
        w_hi, w_lo = _split(w, p[:, None])
        split = layer._derived["row_split"] = (w_hi, w_lo, p, top)
    w_hi, w_lo, p, top = split
    x = np.column_stack([hi, a])
    x_top, e_x = _top_exponents(x, axis=0)
    q = e_x - b
    grid = p[:, None] + q[None, :]
    if int(grid.min()) < -1000 or int(grid.max()) > 900:
        return None
    x_hi, x_lo = _split(x, q[None, :])
    u = 2.0**-53
    gamma = k * u / (1 - k * u)
    exact = w_hi @ x_hi
    rest = (w_hi @ x_lo + w_lo @ x_hi) + w_lo @ x_lo
    both = exact + rest
    unit = np.ldexp(1.0, grid)
    # (a zero row or a zero vector has exact zero products)
    unit[(top == 0)[:, None] | (x_top == 0)[None, :]] = 0.0
    bound = ((gamma + 2 * u) * (1 + 4 * u) * k * (2.0**b + 0.25)) * unit
    err = u * np.abs(both) + bound * (1 + 2 * u)
    # W lo: |fl(W lo) - W lo| <= gamma_k |W| |lo| <= gamma_k k max|w_i| max|lo|
    small = w @ lo
    e_small = (gamma * (1 + 4 * u) * k * float(np.abs(lo).max(initial=0.0))) * top
    slope = both[:, 0] + small
    e_slope = (err[:, 0] + e_small + u * np.abs(slope)) * (1 + 4 * u)
    return slope, e_slope, both[:, 1], err[:, 1] * (1 + 4 * u)


def restrict_to_line(net: Network, a: "Sequence[object] | np.ndarray",
                     b: "Sequence[object] | np.ndarray") -> Network:
    """The one-input network ``t -> net(a + t (b - a))``, exactly.

    ``a`` and ``b`` are sequences of exact numbers or numpy arrays (of any
    shape with ``net.input_size`` entries, an image for instance), whose
    floats are taken at their exact binary value.  With float points and
    float weights the first layer is computed in float64 with rigorous
    error bounds, its exact entries made only if a decision needs them.

    >>> net = Network.sequential([([[1, 1], [1, -1]], [0, 0]), ([[1, 1]], [0], "identity")])
    >>> line = restrict_to_line(net, [0, 0], [1, 2])
    >>> line.evaluate("1/2") == net.evaluate(["1/2", 1])
    True
    >>> line = restrict_to_line(net, np.array([0.0, 0.5]), np.array([0.25, 1.0]))
    >>> line.evaluate(0) == net.evaluate(["0", "1/2"])
    True
    """
    n0 = net.input_size
    fa, fb = _float_array(a, n0, "a"), _float_array(b, n0, "b")
    cached: list[tuple[list[Fraction], list[Fraction], list[Fraction]]] = []

    def exact_points() -> tuple[list[Fraction], list[Fraction], list[Fraction]]:
        """The points and the direction as Fractions, made once, when needed."""
        if not cached:
            pa, pb = _point(a, n0, "a"), _point(b, n0, "b")
            cached.append((pa, pb, [q - p for p, q in zip(pa, pb)]))
        return cached[0]

    if fa is not None and fb is not None:       # numpy floats: no Fraction unless needed
        if np.array_equal(fa, fb):
            raise PWLValueError("a and b are the same point: the line needs two distinct points")
        points = _split_direction(fa, fb)
    else:
        pa, pb, _ = exact_points()
        if pa == pb:
            raise PWLValueError("a and b are the same point: the line needs two distinct points")
        points = _float_points(pa, pb)
    source = net.nodes[0]
    accurate = sum(node.op == "dense" for node in net.nodes) - 1 >= ACCURATE_DEPTH
    nodes: list[Node] = [Node(source.name, "input", (), 1)]
    helper = f"{source.name}.line"
    need_helper = False
    for node in net.nodes[1:]:
        if source.name not in node.inputs:
            nodes.append(node)
            continue
        if node.op == "dense" and node.inputs == (source.name,):
            layer = node.layer
            assert layer is not None
            deferred = _deferred_restriction(layer, points, exact_points, accurate)
            if deferred is None:
                weights, bias = _restricted(layer, *exact_points())
                deferred = Layer(weights, bias, layer.activation)
            nodes.append(Node(node.name, "dense", (source.name,), node.size, layer=deferred))
        else:
            need_helper = True
            inputs = tuple(helper if i == source.name else i for i in node.inputs)
            nodes.append(Node(node.name, node.op, inputs, node.size, node.layer,
                              node.activation, node.groups))
    if need_helper:
        pa, _, direction = exact_points()
        point = Layer(tuple((d,) for d in direction), tuple(pa), get_activation("identity"))
        nodes.insert(1, Node(helper, "dense", (source.name,), n0, layer=point))
    return Network(nodes, nodes[-1].name)
