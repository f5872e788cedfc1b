"""PyTorch convolutional networks as :class:`VisionNetwork`, read through
``torch.fx`` symbolic tracing, so custom ``nn.Module`` classes with a
``forward`` (ResNet basic blocks written the usual way) load as well as
``nn.Sequential`` trees.

Modules: ``Conv1d``/``Conv2d`` (zero padding), ``Linear``, ``BatchNorm1d``/
``BatchNorm2d`` (eval mode; scale rounded once in float64 as in
:func:`pwl.io.torch_io.batchnorm_affine`), ``ReLU``, ``ReLU6``,
``LeakyReLU``, ``Hardtanh``, ``MaxPool1d``/``MaxPool2d``, ``AvgPool1d``/
``AvgPool2d``, ``AdaptiveAvgPool1d``/``AdaptiveAvgPool2d`` (output sizes that
divide the input), ``Flatten``, ``Identity``, ``Dropout``; functions and
methods ``+`` / ``torch.add``, ``relu``, ``F.relu6``, ``F.leaky_relu``,
``F.hardtanh``, ``F.max_pool2d``, ``F.avg_pool2d``,
``F.adaptive_avg_pool2d``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)``.
Anything else is refused with the traced node's name:
``node 'up' (Upsample): unsupported module``.

Files: ``torch.save(model)`` of an ``nn.Sequential`` of those modules is
read with ``torch.load(weights_only=True)``, allowing exactly those module
classes, so no code runs.  A whole custom module cannot be unpickled
without running its class's code: export it to ONNX
(``torch.onnx.export(model, x, "model.onnx", dynamo=False)``) or pass the
module to :func:`from_torch` from Python.
"""

from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import NetworkFormatError, PWLError, PWLValueError
from .model import VisionNetwork
from ..io.torch_io import batchnorm_scale

__all__ = ["from_torch", "read_torch", "SAFE_MODULES"]

#: torch.nn module classes a ``torch.save(model)`` file may hold.
SAFE_MODULES = ("Sequential", "Conv1d", "Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d",
                "ReLU", "ReLU6", "LeakyReLU", "Hardtanh", "MaxPool1d", "MaxPool2d",
                "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Flatten",
                "Identity", "Dropout")


class _T:
    def __init__(self, name: str, rank: int):
        self.name = name
        self.rank = rank


class _Batch:
    """The batch size (``x.size(0)``, ``x.shape[0]``): only for flattening."""


class _Shape:
    def __init__(self, t: _T):
        self.t = t


def _import_torch() -> Any:
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        raise PWLValueError("reading PyTorch models needs torch: pip install torch") from None
    return torch


def _array(t: Any) -> np.ndarray:
    import torch

    return np.array(t.detach().cpu().to(torch.float64).numpy())


def _pairs(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


class _Builder:
    def __init__(self, input_shape: tuple[int, ...]):
        self.input_shape = input_shape
        self.specs: list[dict[str, Any]] = []
        self.names = {"input"}
        self.where = "model"

    def emit(self, hint: str, rank: int, **spec: Any) -> _T:
        name, k = hint or "op", 1
        while name in self.names:
            k += 1
            name = f"{hint}#{k}"
        self.names.add(name)
        self.specs.append({"name": name, **spec})
        return _T(name, rank)

    def shape(self, t: _T) -> tuple[int, ...]:
        if t.name == "input":
            return self.input_shape
        net = VisionNetwork.build(self.input_shape, self.specs)
        c, h, w = net.op(t.name).shape
        return (c * h * w,) if t.rank == 2 else (c, w) if t.rank == 3 else (c, h, w)

    def window(self, kind: str, x: _T, kernel: Any, stride: Any, padding: Any,
               dilation: Any = 1, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None, hint: str = "pool") -> _T:
        n = x.rank - 2
        if n not in (1, 2):
            raise NetworkFormatError(f"{self.where}: pooling needs (batch, C, L) or (batch, C, "
                                     "H, W)")
        if ceil_mode:
            raise NetworkFormatError(f"{self.where}: ceil_mode=True is not supported")
        if divisor_override is not None:
            raise NetworkFormatError(f"{self.where}: divisor_override is not supported")
        k = _pairs(kernel, n)
        s = _pairs(stride if stride not in (None, []) else kernel, n)
        p = _pairs(padding, n)
        d = _pairs(dilation, n)
        if n == 1:
            k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
        spec: dict[str, Any] = {"kind": kind, "inputs": [x.name], "kernel": k, "stride": s,
                                "padding": p}
        if kind == "maxpool":
            spec["dilation"] = d
        else:
            spec["count_include_pad"] = bool(count_include_pad)
        return self.emit(hint, x.rank, **spec)

    def adaptive(self, x: _T, size: Any, hint: str) -> _T:
        shape = self.shape(x)
        spatial = shape[1:]
        out = _pairs(size, len(spatial)) if size is not None else spatial
        out = tuple(o if o is not None else i for o, i in zip(out, spatial))
        if any(i % o for i, o in zip(spatial, out)):
            raise NetworkFormatError(f"{self.where}: adaptive pooling from {spatial} to {out}: "
                                     "only sizes that divide are supported")
        kernel = tuple(i // o for i, o in zip(spatial, out))
        return self.window("avgpool", x, kernel, kernel, 0, hint=hint)


def from_torch(module: Any, input_shape: Sequence[int]) -> VisionNetwork:
    """The exact network a PyTorch module computes at inference on inputs of
    ``input_shape`` (no batch axis: ``(C, H, W)``, ``(C, L)`` or ``(n,)``).

    Example (torch is an optional extra, so this is shown, not run; the
    tests run it)::

        model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(),
                                    torch.nn.Flatten(), torch.nn.Linear(8, 1))
        from_torch(model, (1, 4, 4)).output_size        # 1
    """
    torch = _import_torch()
    for name, m in module.named_modules():
        if m.training and type(m).__name__.startswith("BatchNorm"):
            raise NetworkFormatError(f"model.{name}: {type(m).__name__} is in training mode; "
                                     "call model.eval() first")
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as exc:  # fx raises many kinds (TraceError, TypeError, ...)
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise NetworkFormatError(f"model: torch.fx cannot trace it ({text}); export it to ONNX "
                                 "instead") from None
    shape = tuple(int(s) for s in input_shape)
    b = _Builder(shape)
    modules = dict(gm.named_modules())
    env: dict[Any, Any] = {}
    result: Any = None
    F = torch.nn.functional
    for node in gm.graph.nodes:
        b.where = f"node {node.name!r}"
        args = [env[a] if isinstance(a, torch.fx.Node) else a for a in node.args]
        kwargs = {k: env[v] if isinstance(v, torch.fx.Node) else v
                  for k, v in node.kwargs.items()}
        if node.op == "placeholder":
            if "input" in [getattr(v, "name", None) for v in env.values()]:
                raise NetworkFormatError(f"{b.where}: a second input; pwl reads one")
            env[node] = _T("input", len(shape) + 1)
        elif node.op == "call_module":
            m = modules[node.target]
            b.where = f"node {node.name!r} ({type(m).__name__})"
            env[node] = _module(b, str(node.target), m, args[0])
        elif node.op == "call_function":
            b.where = f"node {node.name!r} ({getattr(node.target, '__name__', node.target)})"
            env[node] = _function(b, node.name, node.target, args, kwargs, torch, F)
        elif node.op == "call_method":
            b.where = f"node {node.name!r} (.{node.target})"
            env[node] = _method(b, node.name, node.target, args, kwargs)
        elif node.op == "output":
            result = args[0]
        else:
            raise NetworkFormatError(f"{b.where}: {node.op} {node.target!r} is not supported "
                                     "(parameters used outside modules)")
    if not isinstance(result, _T) or not b.specs:
        raise NetworkFormatError("model: the output is not a tensor computed from the input")
    if result.name != b.specs[-1]["name"]:
        b.emit("output", result.rank, kind="channel_affine", inputs=[result.name])
    return VisionNetwork.build(shape, b.specs)


def _tensor(b: _Builder, x: Any) -> _T:
    if not isinstance(x, _T):
        raise NetworkFormatError(f"{b.where}: expected a tensor computed from the input, got "
                                 f"{type(x).__name__}")
    return x


def _module(b: _Builder, name: str, m: Any, x: Any) -> Any:
    kind = type(m).__name__
    if not type(m).__module__.startswith("torch.nn.modules."):
        raise NetworkFormatError(f"{b.where}: unsupported module {kind}")
    x = _tensor(b, x)
    if kind in ("Conv1d", "Conv2d"):
        if m.padding_mode != "zeros":
            raise NetworkFormatError(f"{b.where}: padding_mode {m.padding_mode!r}")
        padding = m.padding
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            else:   # "same": symmetric when the kernel is odd
                total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
                if any(t % 2 for t in total):
                    raise NetworkFormatError(f"{b.where}: padding='same' pads asymmetrically")
                padding = tuple(t // 2 for t in total)
        stride, dilation = m.stride, m.dilation
        if kind == "Conv1d":
            padding, stride, dilation = _pairs(padding, 1)[0], stride[0], dilation[0]
        return b.emit(name, x.rank, kind="conv", inputs=[x.name], weight=_array(m.weight),
                      bias=None if m.bias is None else _array(m.bias), stride=stride,
                      padding=padding, dilation=dilation, groups=m.groups)
    if kind == "Linear":
        return b.emit(name, 2, kind="linear", inputs=[x.name], weight=_array(m.weight),
                      bias=None if m.bias is None else _array(m.bias))
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        if m.running_mean is None:
            raise NetworkFormatError(f"{b.where}: no running statistics (track_running_stats="
                                     "False normalises by the batch)")
        var = _array(m.running_var)
        gamma = np.ones_like(var) if m.weight is None else _array(m.weight)
        beta = np.zeros_like(var) if m.bias is None else _array(m.bias)
        return b.emit(name, x.rank, kind="channel_affine", inputs=[x.name],
                      scale=batchnorm_scale(gamma, var, float(m.eps), b.where),
                      mean=_array(m.running_mean), beta=beta)
    if kind in ("ReLU", "ReLU6"):
        return b.emit(name, x.rank, kind="activation", inputs=[x.name], activation=kind.lower())
    if kind == "LeakyReLU":
        return b.emit(name, x.rank, kind="activation", inputs=[x.name], activation="leaky_relu",
                      alpha=float(m.negative_slope))
    if kind == "Hardtanh":
        return b.emit(name, x.rank, kind="activation", inputs=[x.name], activation="hardtanh",
                      min=float(m.min_val), max=float(m.max_val))
    if kind in ("MaxPool1d", "MaxPool2d"):
        if m.return_indices:
            raise NetworkFormatError(f"{b.where}: return_indices=True")
        return b.window("maxpool", x, m.kernel_size, m.stride, m.padding, m.dilation,
                        m.ceil_mode, hint=name)
    if kind in ("AvgPool1d", "AvgPool2d"):
        return b.window("avgpool", x, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode,
                        m.count_include_pad, getattr(m, "divisor_override", None), hint=name)
    if kind in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d"):
        return b.adaptive(x, m.output_size, name)
    if kind == "Flatten":
        return _flatten(b, name, x, m.start_dim, m.end_dim)
    if kind in ("Identity", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout"):
        return x
    raise NetworkFormatError(f"{b.where}: unsupported module {kind}")


def _flatten(b: _Builder, name: str, x: _T, start: int = 1, end: int = -1) -> _T:
    if start != 1 or end not in (-1, x.rank - 1):
        raise NetworkFormatError(f"{b.where}: flattening dimensions {start}..{end}; only "
                                 "(batch, features) is supported")
    if x.rank == 2:
        return x
    return b.emit(name, 2, kind="flatten", inputs=[x.name])


def _act(b: _Builder, name: str, x: Any, activation: str, **params: Any) -> _T:
    x = _tensor(b, x)
    return b.emit(name, x.rank, kind="activation", inputs=[x.name], activation=activation,
                  **params)


def _function(b: _Builder, name: str, target: Any, args: list[Any], kwargs: dict[str, Any],
              torch: Any, F: Any) -> Any:
    if target in (operator.add, torch.add, operator.iadd):
        if len(args) == 2 and all(isinstance(a, _T) for a in args) and not kwargs:
            return b.emit(name, max(a.rank for a in args), kind="add",
                          inputs=[a.name for a in args])
        raise NetworkFormatError(f"{b.where}: only the sum of two tensors is supported")
    if target in (torch.relu, F.relu):
        return _act(b, name, args[0], "relu")
    if target is F.relu6:
        return _act(b, name, args[0], "relu6")
    if target is F.leaky_relu:
        slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
        return _act(b, name, args[0], "leaky_relu", alpha=float(slope))
    if target is F.hardtanh:
        lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
        hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
        return _act(b, name, args[0], "hardtanh", min=float(lo), max=float(hi))
    if target is torch.flatten:
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        return _flatten(b, name, _tensor(b, args[0]), start, end)
    if target in (F.max_pool2d, F.max_pool1d, F.avg_pool2d, F.avg_pool1d):
        names = (["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
                 if target in (F.max_pool2d, F.max_pool1d) else
                 ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"])
        values = dict(zip(names, args[1:]))
        values.update(kwargs)
        x = _tensor(b, args[0])
        if target in (F.max_pool2d, F.max_pool1d):
            if values.get("return_indices"):
                raise NetworkFormatError(f"{b.where}: return_indices=True")
            return b.window("maxpool", x, values["kernel_size"], values.get("stride"),
                            values.get("padding", 0), values.get("dilation", 1),
                            bool(values.get("ceil_mode", False)), hint=name)
        return b.window("avgpool", x, values["kernel_size"], values.get("stride"),
                        values.get("padding", 0), 1, bool(values.get("ceil_mode", False)),
                        bool(values.get("count_include_pad", True)),
                        values.get("divisor_override"), hint=name)
    if target in (F.adaptive_avg_pool2d, F.adaptive_avg_pool1d):
        size = args[1] if len(args) > 1 else kwargs.get("output_size")
        return b.adaptive(_tensor(b, args[0]), size, name)
    if target is F.dropout:
        return _tensor(b, args[0])
    if target is getattr and len(args) == 2 and args[1] == "shape":
        return _Shape(_tensor(b, args[0]))
    if target is operator.getitem and isinstance(args[0], _Shape) and args[1] == 0:
        return _Batch()
    raise NetworkFormatError(f"{b.where}: unsupported function "
                             f"{getattr(target, '__name__', target)}")


def _method(b: _Builder, name: str, target: str, args: list[Any], kwargs: dict[str, Any]
            ) -> Any:
    if target in ("relu", "relu_"):
        return _act(b, name, args[0], "relu")
    if target == "size":
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        if dim == 0:
            return _Batch()
        return _Shape(_tensor(b, args[0]))
    if target in ("contiguous", "clone"):
        return _tensor(b, args[0])
    if target == "flatten":
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        return _flatten(b, name, _tensor(b, args[0]), start, end)
    if target in ("view", "reshape"):
        x = _tensor(b, args[0])
        dims = list(args[1:])
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = list(dims[0])
        size = int(np.prod(b.shape(x)))
        if len(dims) == 2 and (isinstance(dims[0], _Batch) or dims[0] in (-1, 1)) \
                and dims[1] in (-1, size):
            return _flatten(b, name, x)
        raise NetworkFormatError(f"{b.where}: a reshape that does not only flatten")
    if target in ("add", "add_") and len(args) == 2 and all(isinstance(a, _T) for a in args):
        return b.emit(name, max(a.rank for a in args), kind="add",
                      inputs=[a.name for a in args])
    raise NetworkFormatError(f"{b.where}: unsupported method .{target}()")


def read_torch(path: str | os.PathLike[str], input_shape: Sequence[int]) -> VisionNetwork:
    """Read a ``torch.save(model)`` file of an ``nn.Sequential`` of supported
    modules, safely (``weights_only=True``, only those classes allowed)."""
    from ..io.files import check_input_file

    p = Path(path)
    check_input_file(p)
    torch = _import_torch()
    allowed = [getattr(torch.nn, n) for n in SAFE_MODULES]
    route = ("a whole custom module cannot be read without running its code: export it to "
             "ONNX (torch.onnx.export(model, x, 'model.onnx', dynamo=False)) and count the "
             ".onnx file, or pass the module to pwl.vision.from_torch from Python")
    try:
        with torch.serialization.safe_globals(allowed + [set]):
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds, with long texts
        text = " ".join(str(exc).split())
        found = ""
        if "Unsupported global" in text or "GLOBAL" in text:
            start = text.find("GLOBAL")
            found = f" (it holds {text[start:start + 80].split(' was not')[0]})" if start >= 0 \
                else ""
        raise NetworkFormatError(f"{p}: torch.load(weights_only=True) cannot read it{found}; "
                                 f"{route}") from None
    if not isinstance(obj, torch.nn.Module):
        what = type(obj).__name__
        raise NetworkFormatError(f"{p}: holds a {what}, not a module (a state dict has no "
                                 f"architecture); {route}")
    try:
        return from_torch(obj.eval(), input_shape)
    except PWLError as exc:
        raise type(exc)(f"{p}: {exc}") from None
