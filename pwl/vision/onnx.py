"""ONNX graphs of convolutional networks as :class:`VisionNetwork`.

Operators: ``Conv`` (strides, symmetric pads, dilations, group, bias),
``MaxPool`` and ``AveragePool`` (``ceil_mode`` 0, symmetric pads),
``GlobalAveragePool``, ``BatchNormalization`` (inference; its scale rounded
once in float64 as :func:`pwl.io.torch_io.batchnorm_affine` does), ``Add``
(of two tensors, or of a per-channel constant), ``Relu``, ``LeakyRelu``,
``Clip``, ``Flatten`` (axis 1), ``Reshape`` when it only flattens, ``Gemm``
and ``MatMul`` by constants, ``Identity``, ``Dropout`` (inference); on
constants ``Constant``, ``Shape``, ``Gather``, ``Unsqueeze``, ``Squeeze``,
``Concat``, ``Cast`` (the ``x.view(x.size(0), -1)`` pattern).  Anything else
is refused with the node's name and operator:
``node '/up/Resize' (Resize): unsupported operator``.

Initializers and attributes are floats, taken at their exact binary value
(``Gemm``'s float32 ``alpha`` times float32 weights is exact in float64).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..errors import NetworkFormatError, PWLError, PWLValueError
from ..io.onnx_io import GraphReader
from ..io.torch_io import batchnorm_scale
from .model import VisionNetwork

__all__ = ["from_onnx", "read_onnx", "is_vision_onnx", "VISION_OPS"]

#: ONNX operators that make a graph a vision network (routed here).
VISION_OPS = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool")


def is_vision_onnx(model: Any) -> bool:
    """Does the graph hold a convolution or a spatial pooling?"""
    return any(node.op_type in VISION_OPS for node in model.graph.node)


class _T:
    """A tensor computed from the input: the op that holds it and the
    tensor's rank in ONNX (batch axis included)."""

    def __init__(self, name: str, rank: int):
        self.name = name
        self.rank = rank


Value = Union[_T, np.ndarray]


class _Reader(GraphReader):
    def __init__(self, onnx: Any, graph: Any):
        super().__init__(onnx, graph, taken=("input",))
        self.specs: list[dict[str, Any]] = []
        self.values: dict[str, Value] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}

    def emit(self, hint: str, rank: int, **spec: Any) -> _T:
        name = self.fresh(hint)
        self.specs.append({"name": name, **spec})
        return _T(name, rank)

    def tensor(self, name: str) -> _T:
        v = self.values.get(name)
        if v is None:
            raise NetworkFormatError(f"{self.where}: unknown input {name!r}")
        if not isinstance(v, _T):
            raise NetworkFormatError(f"{self.where}: expected a value computed from the input, "
                                     f"got the constant {name!r}")
        return v

    def run(self) -> VisionNetwork:
        self.read_initializers()
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise NetworkFormatError(f"the graph has {len(inputs)} inputs; pwl reads graphs "
                                     "with one")
        dims = list(inputs[0].type.tensor_type.shape.dim)
        shape = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
        feature = shape[1:] if len(shape) >= 2 else shape
        if not feature or any(s < 1 for s in feature) or len(feature) > 3:
            raise NetworkFormatError(f"input {inputs[0].name!r}: shape {shape} is not (batch, "
                                     "C, H, W), (batch, C, L) or (batch, n) with fixed sizes")
        self.input_shape = tuple(feature)
        self.values[inputs[0].name] = _T("input", len(shape))
        for index, node in enumerate(self.graph.node):
            name = node.name or f"{node.op_type}_{index}"
            self.where = f"node {name!r} ({node.op_type})"
            if node.domain not in ("", "ai.onnx"):
                raise NetworkFormatError(f"{self.where}: unsupported operator (domain "
                                         f"{node.domain!r})")
            attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
            ins = list(node.input)
            handler = _OPS.get(node.op_type)
            consts = all(i == "" or isinstance(self.values.get(i), np.ndarray) for i in ins)
            if node.op_type == "Constant":
                from onnx import numpy_helper

                out: Value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else \
                    np.asarray(next(iter(attrs.values())))
            elif node.op_type in _CONST_OPS and consts and ins:
                out = _const_op(self, node.op_type, ins, attrs)
            elif node.op_type == "Shape":
                t = self.tensor(ins[0])
                out = np.array((1,) + self.shape_of(t), dtype=np.int64)
            elif handler is None:
                raise NetworkFormatError(f"{self.where}: unsupported operator")
            else:
                try:
                    out = handler(self, name, ins, attrs)
                except PWLError:
                    raise
                except (IndexError, ValueError, TypeError, KeyError):
                    raise NetworkFormatError(f"{self.where}: malformed node (inputs "
                                             f"{ins[:4]})") from None
            self.values[node.output[0]] = out
            for extra in node.output[1:]:
                if extra:
                    self.values[extra] = _Unused(self.where)  # type: ignore[assignment]
        result = self.tensor(self.graph.output[0].name)
        specs = self.specs
        if not specs:
            raise NetworkFormatError("the graph computes nothing from its input")
        if result.name != specs[-1]["name"]:     # the output is an earlier value: copy it
            self.emit("output", result.rank, kind="channel_affine", inputs=[result.name])
        return VisionNetwork.build(self.input_shape, specs)

    def shape_of(self, t: _T) -> tuple[int, ...]:
        """The ONNX shape of a tensor without its batch axis (built so far)."""
        net = VisionNetwork.build(self.input_shape, self.specs) if self.specs else None
        if net is None:
            return tuple(self.input_shape)
        c, h, w = net.op(t.name).shape
        if t.rank == 2:
            return (c * h * w,)
        if t.rank == 3:
            return (c, w)
        return (c, h, w)


class _Unused:
    def __init__(self, where: str):
        self.where = where


def _ints(attrs: dict[str, Any], key: str, n: int, default: int) -> list[int]:
    value = attrs.get(key)
    return [default] * n if value is None else [int(v) for v in value]


def _spatial(r: _Reader, attrs: dict[str, Any], rank: int, kernel: Optional[list[int]] = None
             ) -> dict[str, Any]:
    """kernel, stride, padding (symmetric), dilation as (h, w) pairs."""
    n = rank - 2
    k = kernel if kernel is not None else [int(v) for v in attrs["kernel_shape"]]
    strides = _ints(attrs, "strides", n, 1)
    dil = _ints(attrs, "dilations", n, 1)
    pads = _ints(attrs, "pads", 2 * n, 0)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto not in ("NOTSET", "VALID"):
        raise NetworkFormatError(f"{r.where}: auto_pad {auto} is not supported (export with "
                                 "explicit pads)")
    if pads[:n] != pads[n:]:
        raise NetworkFormatError(f"{r.where}: asymmetric pads {pads}")
    if attrs.get("ceil_mode", 0):
        raise NetworkFormatError(f"{r.where}: ceil_mode=1 is not supported")
    if n == 1:
        return {"kernel": (1, k[0]), "stride": (1, strides[0]), "padding": (0, pads[0]),
                "dilation": (1, dil[0])}
    if n != 2:
        raise NetworkFormatError(f"{r.where}: {n}-D windows are not supported")
    return {"kernel": tuple(k), "stride": tuple(strides), "padding": tuple(pads[:2]),
            "dilation": tuple(dil)}


def _conv(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    w = r.const(ins[1], "the weight").astype(np.float64)
    if x.rank != w.ndim:
        raise NetworkFormatError(f"{r.where}: a rank-{w.ndim} weight on a rank-{x.rank} input")
    sp = _spatial(r, attrs, x.rank, list(w.shape[2:]))
    bias = r.const(ins[2], "the bias").astype(np.float64) if len(ins) > 2 and ins[2] else None
    return r.emit(name, x.rank, kind="conv", inputs=[x.name], weight=w, bias=bias,
                  stride=sp["stride"], padding=sp["padding"], dilation=sp["dilation"],
                  groups=int(attrs.get("group", 1)))


def _pool(kind: str) -> Any:
    def op(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
        x = r.tensor(ins[0])
        sp = _spatial(r, attrs, x.rank)
        spec: dict[str, Any] = {"kind": kind, "inputs": [x.name], "kernel": sp["kernel"],
                                "stride": sp["stride"], "padding": sp["padding"]}
        if kind == "maxpool":
            spec["dilation"] = sp["dilation"]
        else:
            if sp["dilation"] != (1, 1):
                raise NetworkFormatError(f"{r.where}: average pooling with dilations")
            spec["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
        return r.emit(name, x.rank, **spec)
    return op


def _global_avg(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    shape = r.shape_of(x)
    kernel = (1, shape[1]) if len(shape) == 2 else (shape[1], shape[2])
    return r.emit(name, x.rank, kind="avgpool", inputs=[x.name], kernel=kernel)


def _batchnorm(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    if attrs.get("training_mode", 0):
        raise NetworkFormatError(f"{r.where}: batch normalisation in training mode")
    gamma, beta, mean, var = (r.const(i, k).astype(np.float64) for i, k in
                              zip(ins[1:5], ("scale", "B", "mean", "var")))
    eps = float(attrs.get("epsilon", float(np.float32(1e-5))))
    scale = batchnorm_scale(gamma, var, eps, r.where)
    return r.emit(name, x.rank, kind="channel_affine", inputs=[x.name], scale=scale,
                  mean=mean, beta=beta)


def _add(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    vals = [r.values.get(i) for i in ins]
    tensors = [v for v in vals if isinstance(v, _T)]
    if len(tensors) == len(vals):
        return r.emit(name, max(t.rank for t in tensors), kind="add",
                      inputs=[t.name for t in tensors])
    if len(tensors) != 1:
        raise NetworkFormatError(f"{r.where}: an addition of constants")
    x = tensors[0]
    const = next(v for v in vals if isinstance(v, np.ndarray)).astype(np.float64)
    shape = r.shape_of(x)
    channels = shape[0]
    flat = const.reshape(-1)
    if flat.size == 1:
        beta = np.full(channels, flat[0])
    elif (const.ndim >= len(shape) and flat.size == channels
          and const.shape[-len(shape)] == channels):
        beta = flat
    elif len(shape) == 1 and flat.size == channels:
        beta = flat
    else:
        raise NetworkFormatError(f"{r.where}: a constant of shape {const.shape} is not one "
                                 "value per channel")
    return r.emit(name, x.rank, kind="channel_affine", inputs=[x.name], beta=beta)


def _act(kind: str) -> Any:
    def op(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
        x = r.tensor(ins[0])
        if kind == "relu":
            return r.emit(name, x.rank, kind="activation", inputs=[x.name], activation="relu")
        if kind == "leaky_relu":
            alpha = float(attrs.get("alpha", float(np.float32(0.01))))
            return r.emit(name, x.rank, kind="activation", inputs=[x.name],
                          activation="leaky_relu", alpha=alpha)
        # Clip
        lo = _scalar(r, ins, 1, attrs, "min")
        hi = _scalar(r, ins, 2, attrs, "max")
        if lo is None or hi is None:
            if lo == 0.0 and hi is None:
                return r.emit(name, x.rank, kind="activation", inputs=[x.name],
                              activation="relu")
            raise NetworkFormatError(f"{r.where}: Clip needs both bounds (or min 0)")
        return r.emit(name, x.rank, kind="activation", inputs=[x.name], activation="hardtanh",
                      min=lo, max=hi)
    return op


def _scalar(r: _Reader, ins: list[str], k: int, attrs: dict[str, Any], key: str
            ) -> Optional[float]:
    if len(ins) > k and ins[k]:
        return float(r.const(ins[k], key).reshape(-1)[0])
    if key in attrs:
        return float(attrs[key])
    return None


def _flatten(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    if attrs.get("axis", 1) != 1:
        raise NetworkFormatError(f"{r.where}: flattening at axis {attrs.get('axis')} mixes the "
                                 "batch axis in")
    if x.rank == 2:
        return x
    return r.emit(name, 2, kind="flatten", inputs=[x.name])


def _reshape(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    target = r.const(ins[1], "the shape").astype(np.int64).reshape(-1).tolist()
    size = int(np.prod(r.shape_of(x)))
    if len(target) == 2 and target[0] in (1, -1, 0) and target[1] in (size, -1):
        return x if x.rank == 2 else r.emit(name, 2, kind="flatten", inputs=[x.name])
    raise NetworkFormatError(f"{r.where}: a reshape to {target} that does not only flatten")


def _gemm(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    if attrs.get("transA", 0) or x.rank != 2:
        raise NetworkFormatError(f"{r.where}: expected a (batch, features) operand")
    b = r.const(ins[1], "B").astype(np.float64)
    bt = b if attrs.get("transB", 0) else b.T
    alpha = float(attrs.get("alpha", 1.0))
    beta = float(attrs.get("beta", 1.0))
    weight = bt * alpha        # float32 alpha times float32 weights: exact in float64
    bias = None
    if len(ins) > 2 and ins[2]:
        c = r.const(ins[2], "C").astype(np.float64).reshape(-1)
        bias = np.broadcast_to(c, (bt.shape[0],)) * beta
    if (alpha != 1 and not np.array_equal(weight / alpha, bt)) or (
            bias is not None and beta != 1 and not np.array_equal(bias / beta, np.broadcast_to(
                r.const(ins[2], "C").astype(np.float64).reshape(-1), (bt.shape[0],)))):
        raise NetworkFormatError(f"{r.where}: alpha or beta would round the weights")
    return r.emit(name, 2, kind="linear", inputs=[x.name], weight=weight, bias=bias)


def _matmul(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    x = r.tensor(ins[0])
    b = r.const(ins[1], "the second operand").astype(np.float64)
    if x.rank != 2 or b.ndim != 2:
        raise NetworkFormatError(f"{r.where}: expected (batch, features) @ matrix")
    return r.emit(name, 2, kind="linear", inputs=[x.name], weight=b.T)


def _same(r: _Reader, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    if name and attrs.get("training_mode"):
        raise NetworkFormatError(f"{r.where}: dropout in training mode")
    return r.tensor(ins[0])


_OPS = {
    "Conv": _conv, "MaxPool": _pool("maxpool"), "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _global_avg, "BatchNormalization": _batchnorm, "Add": _add,
    "Relu": _act("relu"), "LeakyRelu": _act("leaky_relu"), "Clip": _act("clip"),
    "Flatten": _flatten, "Reshape": _reshape, "Gemm": _gemm, "MatMul": _matmul,
    "Identity": _same, "Dropout": _same,
}

_CONST_OPS = ("Identity", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Reshape")


def _const_op(r: _Reader, op: str, ins: list[str], attrs: dict[str, Any]) -> np.ndarray:
    a = r.const(ins[0], "the operand")
    if op == "Identity":
        return a
    if op == "Gather":
        idx = r.const(ins[1], "the indices")
        return np.take(a, idx, axis=int(attrs.get("axis", 0)))
    if op in ("Unsqueeze", "Squeeze"):
        axes = attrs.get("axes")
        if axes is None and len(ins) > 1 and ins[1]:
            axes = r.const(ins[1], "axes").astype(np.int64).tolist()
        if op == "Squeeze":
            return np.squeeze(a, axis=None if axes is None else tuple(axes))
        out = a
        for axis in sorted(int(x) % (a.ndim + len(axes or [])) for x in axes or []):
            out = np.expand_dims(out, axis)
        return out
    if op == "Concat":
        parts = [r.const(i, "a part") for i in ins]
        return np.concatenate([np.atleast_1d(p) for p in parts], axis=int(attrs.get("axis", 0)))
    if op == "Reshape":
        return a.reshape(r.const(ins[1], "the shape").astype(np.int64).tolist())
    # Cast between integer types only: exact
    if a.dtype.kind not in "iu":
        raise NetworkFormatError(f"{r.where}: a cast of floats")
    return a


def from_onnx(model: Any) -> VisionNetwork:
    """The vision network of an in-memory ``onnx.ModelProto``."""
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
    except ImportError:
        raise PWLValueError("reading ONNX files needs onnx: pip install onnx") from None
    return _Reader(onnx, model.graph).run()


def read_onnx(path: str | os.PathLike[str]) -> VisionNetwork:
    """Read an ``.onnx`` file of a convolutional network; errors start with
    the path and name the node."""
    from ..io.files import check_input_file

    p = Path(path)
    check_input_file(p)
    try:
        import onnx
    except ImportError:
        raise PWLValueError("reading ONNX files needs onnx: pip install onnx") from None
    try:
        model = onnx.load(str(p))
    except Exception as exc:  # protobuf's DecodeError and friends
        text = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise NetworkFormatError(f"{p}: not a readable ONNX file ({text})") from None
    try:
        return from_onnx(model)
    except PWLError as exc:
        raise type(exc)(f"{p}: {exc}") from None
