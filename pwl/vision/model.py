"""Convolutional networks as a validated graph of operators.

A :class:`VisionNetwork` is a list of :class:`Op` in topological order, the
first one the input.  Every tensor is held as ``(channels, height, width)``
(a 1-D signal ``(channels, length)`` is ``(channels, 1, length)``; a flat
vector of ``n`` features is ``(n, 1, 1)``), one image, no batch axis.

Operators (``Op.kind``) and what they compute:

* ``conv``: ``Conv1d``/``Conv2d`` with stride, padding (zeros), dilation,
  groups and bias; ``linear``: a matrix on a flat tensor;
* ``channel_affine``: ``scale[c] * x + (beta[c] - scale[c] * mean[c])``,
  batch normalisation at inference, its scale ``gamma / sqrt(var + eps)``
  rounded once in float64 exactly as :func:`pwl.io.torch_io.batchnorm_affine`
  does it (the one stated rounding), the shift exact from there;
* ``avgpool``: window means (zero padding counted or not, as the model says;
  ``AdaptiveAvgPool2d``/``GlobalAveragePool`` with sizes that divide are
  windows too);
* ``maxpool``: the maximum over each window, as a running maximum over the
  window's entries in row-major order (each step is a kink, as for pwl's
  ``maxgroup`` nodes); padding takes no part;
* ``activation``: an elementwise :class:`~pwl.values.activations.Activation`
  (relu, leaky_relu, hardtanh, relu6);
* ``add``: the sum of its inputs (residual connections);
* ``flatten``: the tensor as ``(C*H*W, 1, 1)``, row-major.

Weights are float64 arrays, taken at their exact binary value; ``Identity``
and ``Dropout`` (inference) are dropped by the loaders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..values.activations import Activation
from ..errors import NetworkFormatError, PWLValueError

__all__ = ["Op", "VisionNetwork", "KINDS", "Shape"]

Shape = tuple[int, int, int]

#: Operator kinds of a vision network.
KINDS = ("input", "conv", "linear", "channel_affine", "avgpool", "maxpool", "activation",
         "add", "flatten")


@dataclass(frozen=True, eq=False)
class Op:
    """One operator: ``kind``, the names of the ops it reads, its output
    ``shape`` and its parameters (arrays are float64, read-only)."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: Shape
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def is_nonlinear(self) -> bool:
        if self.kind == "activation":
            return bool(self.params["activation"].kinks)
        return self.kind == "maxpool"


def _pair(value: object, where: str, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return int(value[0]), int(value[1])
    raise NetworkFormatError(f"{where}: {name} must be an integer or a pair, got {value!r:.40}")


def _floats(value: object, where: str, shape: Optional[tuple[int, ...]] = None) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)
    if shape is not None and arr.shape != shape:
        raise NetworkFormatError(f"{where}: expected shape {shape}, got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise PWLValueError(f"{where}[{', '.join(map(str, index))}]: "
                            f"{float(arr[index])!r} is not a finite number")
    arr.setflags(write=False)
    return arr


def _window_out(n: int, k: int, s: int, p: int, d: int, where: str) -> int:
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if out < 1:
        raise NetworkFormatError(f"{where}: a window of {k} (dilation {d}) does not fit an "
                                 f"input of {n} with padding {p}")
    return out


class VisionNetwork:
    """A convolutional network, validated once; build it with :meth:`build`
    (or a loader: :func:`pwl.vision.from_torch`, :func:`pwl.vision.read_onnx`).

    >>> net = VisionNetwork.build((1, 4, 4), [
    ...     {"kind": "conv", "weight": np.ones((2, 1, 3, 3)), "padding": 1},
    ...     {"kind": "activation", "activation": "relu"},
    ...     {"kind": "maxpool", "kernel": 2},
    ...     {"kind": "flatten"},
    ...     {"kind": "linear", "weight": np.ones((1, 8))}])
    >>> net.output_size, [op.kind for op in net.ops][1:3]
    (1, ['conv', 'activation'])
    """

    __slots__ = ("ops", "input_shape", "output", "cache", "_index")

    def __init__(self, ops: Sequence[Op], input_shape: tuple[int, ...]):
        self.ops = tuple(ops)
        self.input_shape = tuple(input_shape)
        self.output = self.ops[-1].name
        self._index = {op.name: k for k, op in enumerate(self.ops)}
        #: derived data computed once (index arrays of windows, integer weights)
        self.cache: dict[str, Any] = {}

    @property
    def input_size(self) -> int:
        return self.ops[0].size

    @property
    def output_size(self) -> int:
        return self.ops[-1].size

    def op(self, name: str) -> Op:
        return self.ops[self._index[name]]

    def readers(self) -> dict[str, int]:
        """How many ops read each op's output."""
        out: dict[str, int] = {op.name: 0 for op in self.ops}
        for op in self.ops:
            for name in op.inputs:
                out[name] += 1
        return out

    @property
    def nonlinear(self) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.is_nonlinear)

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for op in self.ops[1:]:
            kinds[op.kind] = kinds.get(op.kind, 0) + 1
        text = ", ".join(f"{k} x{v}" for k, v in kinds.items())
        return (f"VisionNetwork(input {self.input_shape}, {len(self.ops) - 1} ops: {text}, "
                f"outputs={self.output_size})")

    # -- construction -------------------------------------------------------
    @classmethod
    def build(cls, input_shape: Sequence[int], specs: Sequence[Mapping[str, Any]]
              ) -> "VisionNetwork":
        """A network from an input shape ``(C, H, W)``, ``(C, L)`` or ``(n,)``
        and op descriptions in order.  Each description has a ``kind`` and
        its parameters; ``inputs`` (names) defaults to the previous op and
        ``name`` to ``"<kind><k>"``.  See the module notes for the kinds;
        parameters: ``conv`` ``weight`` (out, in/groups, kh, kw) or (out,
        in/groups, k), ``bias``, ``stride``, ``padding``, ``dilation``,
        ``groups``; ``linear`` ``weight`` (out, in), ``bias``;
        ``channel_affine`` ``scale``, ``mean``, ``beta``; ``avgpool``
        ``kernel``, ``stride``, ``padding``, ``count_include_pad``;
        ``maxpool`` ``kernel``, ``stride``, ``padding``, ``dilation``;
        ``activation`` ``activation`` (a name or an Activation) and its
        ``alpha``/``min``/``max``."""
        shape = tuple(int(s) for s in input_shape)
        if not 1 <= len(shape) <= 3 or any(s < 1 for s in shape):
            raise NetworkFormatError(f"input shape {shape}: expected (C, H, W), (C, L) or (n,)")
        internal: Shape = ((shape[0], 1, 1) if len(shape) == 1 else
                           (shape[0], 1, shape[1]) if len(shape) == 2 else
                           (shape[0], shape[1], shape[2]))
        ops: list[Op] = [Op("input", "input", (), internal)]
        names = {"input"}
        for k, spec in enumerate(specs):
            kind = spec.get("kind")
            name = str(spec.get("name") or f"{kind}{k}")
            where = f"op {name!r} ({kind})"
            if name in names:
                raise NetworkFormatError(f"{where}: duplicate name")
            if kind not in KINDS or kind == "input":
                raise NetworkFormatError(f"{where}: unknown kind (known: {', '.join(KINDS[1:])})")
            inputs = tuple(spec.get("inputs") or (ops[-1].name,))
            for i in inputs:
                if i not in names:
                    raise NetworkFormatError(f"{where}: unknown input {i!r}")
            shapes = [next(o.shape for o in ops if o.name == i) for i in inputs]
            if kind != "add" and len(inputs) != 1:
                raise NetworkFormatError(f"{where}: takes one input, got {len(inputs)}")
            op = _make_op(name, str(kind), inputs, shapes, spec, where)
            ops.append(op)
            names.add(name)
        if len(ops) < 2:
            raise NetworkFormatError("a network needs at least one op after its input")
        return cls(ops, shape)

    # -- evaluation ---------------------------------------------------------
    def forward_float(self, x: np.ndarray) -> np.ndarray:
        """The float64 forward pass of a batch ``(B, *input_shape)`` with torch,
        no guarantees (a reference for tests and benchmarks)."""
        from .floatops import forward_float

        return forward_float(self, x)

    def evaluate(self, x: object) -> tuple[Fraction, ...]:
        """The exact outputs at one input (an array of the input shape, or a
        flat sequence of numbers; floats at their exact binary value)."""
        from .exact import evaluate_exact

        return evaluate_exact(self, x)


def _make_op(name: str, kind: str, inputs: tuple[str, ...], shapes: list[Shape],
             spec: Mapping[str, Any], where: str) -> Op:
    c, h, w = shapes[0]
    known = {"kind", "name", "inputs"}
    params: dict[str, Any] = {}

    def check(keys: set[str]) -> None:
        extra = sorted(set(spec) - known - keys)
        if extra:
            raise NetworkFormatError(f"{where}: unknown parameter {extra[0]!r}")

    if kind == "conv":
        check({"weight", "bias", "stride", "padding", "dilation", "groups"})
        weight = _floats(spec.get("weight"), f"{where}.weight")
        if weight.ndim == 3:          # Conv1d: (out, in, k) on (C, 1, L)
            weight = _floats(weight[:, :, None, :], f"{where}.weight")
            one_d = True
        elif weight.ndim == 4:
            one_d = False
        else:
            raise NetworkFormatError(f"{where}.weight: expected (out, in/groups, kh, kw) or "
                                     f"(out, in/groups, k), got shape {weight.shape}")
        groups = int(spec.get("groups", 1))
        cout, cin_g, kh, kw = weight.shape
        if groups < 1 or c % groups or cout % groups or cin_g * groups != c:
            raise NetworkFormatError(f"{where}: weight {weight.shape} with groups={groups} does "
                                     f"not read {c} channels")
        pairs = {}
        for key, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
            value = spec.get(key, default)
            if one_d and isinstance(value, (tuple, list)) and len(value) == 1:
                value = value[0]
            p = _pair(value, where, key)
            pairs[key] = (0 if key == "padding" else 1, p[0]) if one_d else p
        (sh, sw), (ph, pw), (dh, dw) = pairs["stride"], pairs["padding"], pairs["dilation"]
        if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
            raise NetworkFormatError(f"{where}: stride and dilation must be positive, padding "
                                     "not negative")
        ho = _window_out(h, kh, sh, ph, dh, where)
        wo = _window_out(w, kw, sw, pw, dw, where)
        bias = spec.get("bias")
        params = {"weight": weight, "bias": None if bias is None else
                  _floats(bias, f"{where}.bias", (cout,)),
                  "stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw),
                  "groups": groups}
        return Op(name, kind, inputs, (cout, ho, wo), params)
    if kind == "linear":
        check({"weight", "bias"})
        weight = _floats(spec.get("weight"), f"{where}.weight")
        if weight.ndim != 2 or weight.shape[1] != c * h * w:
            raise NetworkFormatError(f"{where}.weight: expected shape (out, {c * h * w}), got "
                                     f"{weight.shape}")
        if (h, w) != (1, 1):
            raise NetworkFormatError(f"{where}: the input {(c, h, w)} is not flat (flatten it "
                                     "first)")
        bias = spec.get("bias")
        params = {"weight": weight, "bias": None if bias is None else
                  _floats(bias, f"{where}.bias", (weight.shape[0],))}
        return Op(name, kind, inputs, (weight.shape[0], 1, 1), params)
    if kind == "channel_affine":
        check({"scale", "mean", "beta"})
        params = {key: _floats(spec.get(key, default), f"{where}.{key}", (c,))
                  for key, default in (("scale", np.ones(c)), ("mean", np.zeros(c)),
                                       ("beta", np.zeros(c)))}
        return Op(name, kind, inputs, (c, h, w), params)
    if kind in ("avgpool", "maxpool"):
        check({"kernel", "stride", "padding", "dilation", "count_include_pad"})
        kh, kw = _pair(spec.get("kernel"), where, "kernel")
        stride = spec.get("stride")
        sh, sw = _pair((kh, kw) if stride is None else stride, where, "stride")
        ph, pw = _pair(spec.get("padding", 0), where, "padding")
        dh, dw = _pair(spec.get("dilation", 1), where, "dilation")
        if kind == "avgpool" and (dh, dw) != (1, 1):
            raise NetworkFormatError(f"{where}: average pooling has no dilation")
        if min(kh, kw, sh, sw, dh, dw) < 1 or min(ph, pw) < 0 or ph * 2 > kh or pw * 2 > kw:
            raise NetworkFormatError(f"{where}: kernel {kh, kw}, stride {sh, sw}, padding "
                                     f"{ph, pw}: padding at most half the kernel")
        if h == 1 and kh > 1:
            raise NetworkFormatError(f"{where}: a {kh}x{kw} window on a 1-D signal")
        ho = _window_out(h, kh, sh, ph, dh, where)
        wo = _window_out(w, kw, sw, pw, dw, where)
        params = {"kernel": (kh, kw), "stride": (sh, sw), "padding": (ph, pw),
                  "dilation": (dh, dw),
                  "count_include_pad": bool(spec.get("count_include_pad", True))}
        return Op(name, kind, inputs, (c, ho, wo), params)
    if kind == "activation":
        check({"activation", "alpha", "min", "max"})
        from ..values.activations import get_activation
        from ..errors import PWLError

        act = spec.get("activation", "relu")
        from ..values.numbers import from_float_exact

        # float parameters (a module's negative_slope, min_val) at their exact binary value
        extra = {k: from_float_exact(spec[k], f"{where}.{k}") if isinstance(spec[k], float)
                 else spec[k] for k in ("alpha", "min", "max") if k in spec}
        try:
            activation: Activation = get_activation(act, **extra)
        except PWLError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        return Op(name, kind, inputs, (c, h, w), {"activation": activation})
    if kind == "add":
        check(set())
        if len(inputs) < 2:
            raise NetworkFormatError(f"{where}: needs at least two inputs")
        if len(set(shapes)) != 1:
            raise NetworkFormatError(f"{where}: inputs have different shapes {shapes}")
        return Op(name, kind, inputs, (c, h, w))
    check(set())   # flatten
    return Op(name, kind, inputs, (c * h * w, 1, 1))


def conv_index(op: Op, in_shape: Shape) -> np.ndarray:
    """For each group, the im2col gather: an int array ``(K, P)`` of flat
    indices into the input (``C*H*W`` for a padding zero), ``K`` the
    kernel's inputs per group, ``P`` the output positions; stacked as
    ``(groups, K, P)``."""
    c, h, w = in_shape
    kh, kw = op.params["weight"].shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = op.params["stride"], op.params["padding"], op.params["dilation"]
    _, ho, wo = op.shape
    groups = op.params["groups"]
    cg = c // groups
    oy = np.arange(ho)[:, None] * sh - ph       # (ho, 1)
    ox = np.arange(wo)[None, :] * sw - pw       # (1, wo)
    out = np.empty((groups, cg * kh * kw, ho * wo), dtype=np.int64)
    for g in range(groups):
        rows = []
        for ci in range(cg):
            for i in range(kh):
                for j in range(kw):
                    y = oy + i * dh
                    x = ox + j * dw
                    ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
                    flat = (g * cg + ci) * h * w + np.clip(y, 0, h - 1) * w + np.clip(x, 0, w - 1)
                    rows.append(np.where(ok, flat, c * h * w).reshape(-1))
        out[g] = np.stack(rows)
    return out


def pool_groups(op: Op, in_shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """For a pooling op, per output entry (channel-major, row-major), the flat
    input indices of its window's valid entries in row-major order, padded
    with -1 to ``(outputs, k)``; and each window's divisor (for means)."""
    c, h, w = in_shape
    kh, kw = op.params["kernel"]
    (sh, sw), (ph, pw), (dh, dw) = op.params["stride"], op.params["padding"], op.params["dilation"]
    _, ho, wo = op.shape
    n = kh * kw
    spatial = np.full((ho * wo, n), -1, dtype=np.int64)
    divisor = np.empty(ho * wo, dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            entries = []
            for i in range(kh):
                for j in range(kw):
                    y, x = oy * sh - ph + i * dh, ox * sw - pw + j * dw
                    if 0 <= y < h and 0 <= x < w:
                        entries.append(y * w + x)
            spatial[oy * wo + ox, :len(entries)] = entries
            divisor[oy * wo + ox] = n if op.params["count_include_pad"] else len(entries)
    chan = np.arange(c)[:, None, None] * (h * w)
    idx = np.where(spatial[None] >= 0, spatial[None] + chan, -1).reshape(c * ho * wo, n)
    return idx, np.tile(divisor, c)
