"""Seeded network builders for the benchmarks.

Every builder is deterministic: the same arguments give the same network,
on every machine (numpy's ``default_rng`` with an explicit seed).  Each
returns a :class:`pwl.Network`; :func:`float_layers` exports any such
network as plain float64 arrays for the float reference in
:mod:`benchmarks.reference`.

* :func:`triangle` -- Telgarsky's triangle network of depth ``D``, whose
  output has exactly ``2**D`` pieces on ``[0, 1]``.
* :func:`random_int` -- integer weights uniform in ``[-3, 3]``, integer
  biases uniform in ``[-5, 5]``.
* :func:`random_float` -- He-scaled normal weights, ``N(0, 2 / fan_in)``,
  and standard normal biases, written as decimal strings with 17 significant
  digits (``format(x, '.17g')``).  pwl reads those decimals exactly; the
  float reference reads them back as the float64 they came from.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

__all__ = ["triangle", "random_int", "random_float", "float_layers", "describe"]

#: One exported layer: weights (n_out, n_in), bias (n_out,), activation name.
FloatLayer = tuple[np.ndarray, np.ndarray, str]


def _build(layers: list[tuple[object, object, str]]):
    import pwl

    return pwl.Network.sequential(layers)


def triangle(depth: int):
    """Telgarsky's triangle network with ``depth`` hidden layers of width 2.

    Hidden layer 1 is ``relu([2x, 4x - 2])``; each further hidden layer maps
    ``(u, v)`` to ``relu([2(u - v), 4(u - v) - 2])``; the output is ``u - v``.
    ``u - v`` after layer k is the k-fold tent map, with ``2**k`` pieces on
    ``[0, 1]``.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    layers: list[tuple[object, object, str]] = [([[2], [4]], [0, -2], "relu")]
    for _ in range(depth - 1):
        layers.append(([[2, -2], [4, -4]], [0, -2], "relu"))
    layers.append(([[1, -1]], [0], "identity"))
    return _build(layers)


def _widths(widths: Sequence[int]) -> list[int]:
    widths = [int(w) for w in widths]
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"hidden widths must be positive, got {widths}")
    return widths


def random_int(widths: Sequence[int], seed: int, weight_range: int = 3,
               bias_range: int = 5):
    """A relu network with integer weights and biases, one input, one output.

    ``widths`` are the hidden widths ``n_1..n_D``.  Weights are uniform
    integers in ``[-weight_range, weight_range]``, biases uniform integers in
    ``[-bias_range, bias_range]``; the output layer is an identity.
    """
    rng = np.random.default_rng(seed)
    sizes = [1] + _widths(widths) + [1]
    layers: list[tuple[object, object, str]] = []
    for k in range(1, len(sizes)):
        w = rng.integers(-weight_range, weight_range, size=(sizes[k], sizes[k - 1]),
                         endpoint=True)
        b = rng.integers(-bias_range, bias_range, size=sizes[k], endpoint=True)
        act = "relu" if k < len(sizes) - 1 else "identity"
        layers.append((w.tolist(), b.tolist(), act))
    return _build(layers)


def random_float(widths: Sequence[int], seed: int):
    """A relu network with He-scaled normal weights and normal biases.

    Each number is written as ``format(x, '.17g')``, 17 significant digits,
    which pwl reads as the exact decimal it spells and which reads back as
    the same float64 ``x``.
    """
    rng = np.random.default_rng(seed)
    sizes = [1] + _widths(widths) + [1]
    layers: list[tuple[object, object, str]] = []
    for k in range(1, len(sizes)):
        w = rng.normal(0.0, np.sqrt(2.0 / sizes[k - 1]), size=(sizes[k], sizes[k - 1]))
        b = rng.normal(0.0, 1.0, size=sizes[k])
        act = "relu" if k < len(sizes) - 1 else "identity"
        layers.append(([[format(float(x), ".17g") for x in row] for row in w],
                       [format(float(x), ".17g") for x in b], act))
    return _build(layers)


def _to_float(v: Fraction) -> float:
    # int / int is correctly rounded in Python, for any size
    return v.numerator / v.denominator


def float_layers(net) -> list[FloatLayer]:
    """``(W, b, activation)`` per layer as float64 arrays (nearest floats).

    Only ``relu`` and ``identity`` layers are exported; the float reference
    knows no other activation.
    """
    out: list[FloatLayer] = []
    for k, layer in enumerate(net.layers):
        name = layer.activation.name
        if name == "linear" or layer.activation.is_identity:
            name = "identity"
        if name not in ("relu", "identity"):
            raise ValueError(f"layer {k}: the float reference has no {name!r}")
        w = np.array([[_to_float(x) for x in row] for row in layer.weights], dtype=np.float64)
        b = np.array([_to_float(x) for x in layer.bias], dtype=np.float64)
        out.append((w, b, name))
    return out


def describe(net) -> str:
    """``widths 8x8x8`` style label of a network's hidden layers."""
    return "x".join(str(w) for w in net.widths)
