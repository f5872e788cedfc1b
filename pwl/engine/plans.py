"""Integer plans: each layer's affine map and activation scaled to
integers once per network (:class:`IntAffine`, :class:`IntAct`), which the
exact engine (:mod:`pwl.engine.propagate`) runs on."""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm
from typing import Optional

import numpy as np

from ..values.activations import Activation
from .exact import INT64_SAFE, int_array, maxabs
from ..values.network import Layer, Network

__all__ = ["IntAct", "IntAffine", "compiled_plan"]


@dataclass(frozen=True)
class IntAct:
    """An activation scaled to integers: kinks ``kink_num[j] / kink_den`` and
    pieces ``(slope_num[p] * z + icpt_num[p] * den_z) / act_den``."""

    kink_num: list[int]
    kink_den: int
    slope_num: list[int]
    icpt_num: list[int]
    act_den: int
    is_relu: bool          # slopes (0, 1), no intercepts

    @classmethod
    def of(cls, act: Activation) -> "IntAct":
        kink_den = lcm(*(t.denominator for t in act.kinks)) if act.kinks else 1
        act_den = lcm(*(v.denominator for v in act.slopes + act.intercepts))
        return cls(
            kink_num=[int(t * kink_den) for t in act.kinks],
            kink_den=kink_den,
            slope_num=[int(v * act_den) for v in act.slopes],
            icpt_num=[int(v * act_den) for v in act.intercepts],
            act_den=act_den,
            is_relu=act_den == 1 and act.is_relu,
        )


#: max(a, b) = b + relu(a - b): the choice between two branches is a relu kink.
_RELU = IntAct([0], 1, [0, 1], [0, 0], 1, True)


@dataclass(frozen=True)
class IntAffine:
    """An affine map scaled to integers: ``z = (A h + B * den_h) / (scale * den_h)``."""

    a: np.ndarray          # (n_out, n_in) integers
    b: list[int]           # n_out Python ints
    scale: int
    a_rowsum: int
    b_array: np.ndarray    # b as an integer array
    b_max: int             # max |b|
    b_column: np.ndarray   # b as an integer column (n_out x 1)
    a_float: Optional[np.ndarray]   # a as float64, if exact

    @classmethod
    def of(cls, layer: Layer) -> "IntAffine":
        if layer.floats is not None:
            return cls._of_floats(layer)
        entries = [w for row in layer.weights for w in row] + list(layer.bias)
        scale = lcm(*(f.denominator for f in entries))
        a_int = [[int(w * scale) for w in row] for row in layer.weights]
        b_int = [int(v * scale) for v in layer.bias]
        return cls(a=int_array(a_int), b=b_int, scale=scale,
                   a_rowsum=max(sum(abs(w) for w in row) for row in a_int),
                   b_array=int_array(b_int), b_max=max(abs(v) for v in b_int),
                   b_column=int_array(b_int).reshape(-1, 1),
                   a_float=None if max(abs(w) for row in a_int for w in row) > 2**53
                   else np.array(a_int, dtype=np.float64))


    @classmethod
    def _of_floats(cls, layer: Layer) -> "IntAffine":
        """From a float layer: integers over one power of two, without Fractions."""
        from .escalate import dyadic_from_parts, layer_dyadic_parts

        w, b = layer.floats  # type: ignore[misc]
        ints, scale = dyadic_from_parts(layer_dyadic_parts(layer))
        k = w.size
        a = ints[:k].reshape(w.shape)
        if a.dtype != object and maxabs(a) >= INT64_SAFE:
            a = a.astype(object)
        b_int = [int(v) for v in ints[k:].tolist()]
        top = maxabs(a)
        if a.dtype != object and top < 2**52:
            rowsum = int(np.abs(a).sum(axis=1).max())   # n_in * 2^52 < 2^63 for n_in < 2^11
            if w.shape[1] >= 2**11:
                rowsum = max(sum(abs(int(v)) for v in row) for row in a.tolist())
        else:
            rowsum = max(sum(abs(int(v)) for v in row) for row in a.tolist())
        return cls(a=a, b=b_int, scale=scale, a_rowsum=rowsum,
                   b_array=int_array(b_int), b_max=max(abs(v) for v in b_int),
                   b_column=int_array(b_int).reshape(-1, 1),
                   a_float=None if top > 2**53 else a.astype(np.float64))


def compiled_plan(net: Network) -> list[tuple[Optional[IntAffine], Optional[IntAct]]]:
    """Each node's integer affine map and activation, computed once per network."""
    plan = net._memo.plan
    if plan is None:
        affines: dict[Layer, IntAffine] = {}
        acts: dict[Activation, IntAct] = {}
        plan = []
        for node in net.nodes:
            act = node.layer.activation if node.layer is not None else node.activation
            aff = None
            if node.layer is not None:
                key = node.layer
                aff = affines.get(key) if len(affines) < 64 else None
                if aff is None:
                    aff = affines.setdefault(key, IntAffine.of(key))
            plan.append((aff, None if act is None else acts.setdefault(act, IntAct.of(act))))
        net._memo.plan = plan
    return plan
