"""PyTorch models: ``nn.Sequential`` trees, TorchScript files, and state
dicts saved with a small architecture description.

Supported modules: ``Sequential`` (nested ones are flattened), ``Linear``,
``ReLU``, ``ReLU6``, ``LeakyReLU``, ``Hardtanh``, ``Identity``, ``Flatten``
(inputs are ``(batch, features)``), ``Dropout`` (ignored: the network is
read as it runs at inference) and ``BatchNorm1d`` in eval mode.  Anything
else is refused with its place in the tree: ``model.3: unsupported module
Conv1d``.

Exactness.  Every weight, bias and parameter is a float, taken at its exact
binary value, and everything after that is exact: consecutive affine maps
(``Linear``, ``BatchNorm1d``) are composed in rational arithmetic.  The one
place pwl rounds is BatchNorm's scale ``gamma / sqrt(running_var + eps)``,
whose square root is not rational in general: it is evaluated in float64
(``var + eps``, ``sqrt`` and the division each rounded once, as numpy does
them) and the float64 result is then taken at its exact binary value.  The
shift ``beta - scale * running_mean`` is exact from there.

File convention (:func:`save_torch` writes it, :func:`read_torch` reads it)::

    torch.save({"architecture": [{"type": "Linear", "in": 1, "out": 8},
                                 {"type": "ReLU"},
                                 {"type": "Linear", "in": 8, "out": 1}],
                "state_dict": model.state_dict()}, "model.pt")

with state-dict keys ``"<index>.weight"`` etc. (the keys of an
``nn.Sequential`` built from that list).  It is read with
``torch.load(weights_only=True)``, which unpickles no code.  A TorchScript
file (``torch.jit.save``) is read with ``torch.jit.load``; TorchScript is
code, so load only files you trust.

torch is imported only when one of these functions runs.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..values.activations import Activation, get_activation
from ..errors import MissingExtraError, NetworkFormatError, PWLError
from ..values.network import Layer, Network
from .files import check_input_file
from ..values.numbers import from_float_exact, to_fraction
from .npz import exact_array

__all__ = ["from_torch", "read_torch", "save_torch", "architecture_of", "from_architecture",
           "batchnorm_affine", "batchnorm_scale"]

Vector = list[Fraction]
Matrix = list[list[Fraction]]


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtraError("reading PyTorch models", "torch", "torch") from None
    return torch


# -- exact affine maps --------------------------------------------------------
@dataclass
class _Affine:
    """``x -> W x + b``; a diagonal map keeps only its diagonal ``diag``."""

    weights: Optional[Matrix]
    diag: Optional[Vector]
    bias: Vector
    n_in: int
    where: str

    @property
    def n_out(self) -> int:
        return len(self.bias)

    def matrix(self) -> Matrix:
        if self.weights is not None:
            return self.weights
        assert self.diag is not None
        zero = Fraction(0)
        return [[d if i == j else zero for j in range(self.n_in)]
                for i, d in enumerate(self.diag)]


def _identity(width: int, where: str) -> _Affine:
    return _Affine(None, [Fraction(1)] * width, [Fraction(0)] * width, width, where)


def _then(inner: _Affine, outer: _Affine) -> _Affine:
    """``outer(inner(x))``, exactly; diagonal factors cost one product per entry."""
    bias = _apply(outer, inner.bias)
    if outer.diag is not None and inner.diag is not None:
        return _Affine(None, [a * b for a, b in zip(outer.diag, inner.diag)], bias,
                       inner.n_in, outer.where)
    if outer.diag is not None:
        assert inner.weights is not None
        weights = [[d * w for w in row] for d, row in zip(outer.diag, inner.weights)]
    elif inner.diag is not None:
        assert outer.weights is not None
        weights = [[w * d for w, d in zip(row, inner.diag)] for row in outer.weights]
    else:
        assert outer.weights is not None and inner.weights is not None
        columns = list(zip(*inner.weights))
        weights = [[sum((a * b for a, b in zip(row, col)), Fraction(0)) for col in columns]
                   for row in outer.weights]
    return _Affine(weights, None, bias, inner.n_in, outer.where)


def _apply(affine: _Affine, x: Vector) -> Vector:
    if affine.diag is not None:
        return [d * v + c for d, v, c in zip(affine.diag, x, affine.bias)]
    assert affine.weights is not None
    return [sum((w * v for w, v in zip(row, x)), c)
            for row, c in zip(affine.weights, affine.bias)]


class _Chain:
    """Collects affine maps and activations into layers ``act(W x + b)``:
    consecutive affine maps are composed, an activation closes a layer."""

    def __init__(self, input_size: Optional[int]):
        self.layers: list[Layer] = []
        self.pending: Optional[_Affine] = None
        self.width = input_size

    def affine(self, step: _Affine) -> None:
        if self.width is not None and step.n_in != self.width:
            raise NetworkFormatError(f"{step.where}: expects {step.n_in} inputs but the layers "
                                     f"before it give {self.width}")
        self.pending = step if self.pending is None else _then(self.pending, step)
        self.width = step.n_out

    def activation(self, act: Activation, where: str) -> None:
        if self.pending is None:
            if self.width is None:
                raise NetworkFormatError(f"{where}: the network starts with an activation, so "
                                         "its input size is unknown (pass input_size)")
            self.pending = _identity(self.width, where)
        self._close(act)

    def _close(self, act: Activation) -> None:
        assert self.pending is not None
        weights = tuple(tuple(row) for row in self.pending.matrix())
        self.layers.append(Layer(weights, tuple(self.pending.bias), act))
        self.pending = None

    def network(self, where: str) -> Network:
        if self.pending is not None:
            self._close(get_activation("identity"))
        if not self.layers:
            raise NetworkFormatError(f"{where}: no Linear or BatchNorm1d layer: the network "
                                     "has no weights")
        return Network.sequential(self.layers)


def _linear(weight: np.ndarray, bias: Optional[np.ndarray], where: str) -> _Affine:
    if weight.ndim != 2 or 0 in weight.shape:
        raise NetworkFormatError(f"{where}: weight has shape {tuple(weight.shape)}, expected "
                                 "(out, in)")
    rows = exact_array(weight, f"{where}.weight")
    if bias is None:
        vector = [Fraction(0)] * weight.shape[0]
    else:
        if bias.shape != (weight.shape[0],):
            raise NetworkFormatError(f"{where}: bias has shape {tuple(bias.shape)}, expected "
                                     f"({weight.shape[0]},)")
        vector = exact_array(bias, f"{where}.bias")
    return _Affine(rows, None, vector, weight.shape[1], where)


def batchnorm_scale(gamma: np.ndarray, var: np.ndarray, eps: float, where: str) -> np.ndarray:
    """``gamma / sqrt(var + eps)`` in float64, the one rounded step of batch
    norm at inference (every loader folds it this way); refused where it is
    not finite.

    >>> batchnorm_scale(np.array([2.0]), np.array([3.0]), 1.0, "bn")
    array([1.])
    """
    with np.errstate(all="ignore"):
        scale = gamma / np.sqrt(var + np.float64(eps))
    bad = ~np.isfinite(scale)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise NetworkFormatError(f"{where}: running_var[{i}] + eps = "
                                 f"{float(var[i]) + eps!r} is not positive")
    return np.asarray(scale, dtype=np.float64)


def batchnorm_affine(mean: Any, var: Any, gamma: Optional[Any], beta: Optional[Any],
                     eps: float, where: str) -> tuple[Vector, Vector]:
    """BatchNorm at inference as ``scale * x + shift``: the one rounded step.

    ``scale = gamma / sqrt(var + eps)`` is evaluated in float64 and taken at
    its exact binary value; ``shift = beta - scale * mean`` is exact.
    ``gamma``/``beta`` ``None`` mean 1 and 0 (``affine=False``).

    >>> scale, shift = batchnorm_affine([1.0], [3.0], [2.0], [0.5], 1.0, "bn")
    >>> scale, shift
    ([Fraction(1, 1)], [Fraction(-1, 2)])
    """
    arrays = {"running_mean": mean, "running_var": var, "weight": gamma, "bias": beta}
    values = {}
    width = None
    for name, arr in arrays.items():
        if arr is None:
            continue
        a = np.asarray(arr)
        if a.ndim != 1 or (width is not None and len(a) != width):
            raise NetworkFormatError(f"{where}: {name} has shape {a.shape}, expected "
                                     f"({width if width is not None else 'n'},)")
        width = len(a)
        exact_array(a, f"{where}.{name}")  # refuses NaN and infinities, with the index
        values[name] = a.astype(np.float64)
    assert width is not None
    scale = batchnorm_scale(values.get("weight", np.ones(width)), values["running_var"], eps,
                            where)
    s = exact_array(scale, f"{where}.scale")
    m = exact_array(values["running_mean"], f"{where}.running_mean")
    b = (exact_array(values["bias"], f"{where}.bias") if "bias" in values
         else [Fraction(0)] * width)
    return s, [bb - ss * mm for ss, mm, bb in zip(s, m, b)]


def _batchnorm(mean: Any, var: Any, gamma: Optional[Any], beta: Optional[Any], eps: float,
               where: str) -> _Affine:
    scale, shift = batchnorm_affine(mean, var, gamma, beta, eps, where)
    return _Affine(None, scale, shift, len(scale), where)


def _number(value: object, where: str) -> Fraction:
    """A module parameter: floats at their exact binary value, ints and
    exact strings as they are."""
    if isinstance(value, float):
        return from_float_exact(value, where)
    return to_fraction(value, where)


# -- modules ------------------------------------------------------------------
_IGNORED = ("Identity", "Flatten", "Dropout")


def _kind(module: Any, torch: Any) -> Optional[str]:
    if isinstance(module, torch.jit.ScriptModule):
        return str(getattr(module, "original_name", type(module).__name__))
    cls = type(module)
    if cls.__module__.startswith("torch.nn.modules."):
        return cls.__name__
    return None


def _attr(module: Any, name: str, kind: str, where: str) -> Any:
    try:
        return getattr(module, name)
    except AttributeError:
        raise NetworkFormatError(
            f"{where}: this TorchScript {kind} does not keep its {name} (a traced module?); "
            "save it with torch.jit.script, or as a state dict with an architecture") from None


def _array(tensor: Any, torch: Any) -> np.ndarray:
    t = tensor.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float64)  # half, bfloat16 and single widen exactly
    return t.numpy()


def _walk(module: Any, where: str, chain: _Chain, torch: Any) -> None:
    kind = _kind(module, torch)
    if kind == "Sequential":
        for name, child in module.named_children():
            _walk(child, f"{where}.{name}", chain, torch)
    elif kind == "Linear":
        bias = getattr(module, "bias", None)
        chain.affine(_linear(_array(module.weight, torch),
                             None if bias is None else _array(bias, torch), where))
    elif kind == "BatchNorm1d":
        if module.training:
            raise NetworkFormatError(f"{where}: BatchNorm1d is in training mode; call "
                                     "model.eval() first")
        if getattr(module, "running_mean", None) is None:
            raise NetworkFormatError(f"{where}: BatchNorm1d without running statistics "
                                     "normalises by the batch, not a fixed function")
        gamma, beta = getattr(module, "weight", None), getattr(module, "bias", None)
        chain.affine(_batchnorm(
            _array(module.running_mean, torch), _array(module.running_var, torch),
            None if gamma is None else _array(gamma, torch),
            None if beta is None else _array(beta, torch),
            float(_attr(module, "eps", kind, where)), where))
    elif kind in ("ReLU", "ReLU6"):
        chain.activation(get_activation(kind.lower()), where)
    elif kind == "LeakyReLU":
        alpha = _number(_attr(module, "negative_slope", kind, where), f"{where}.negative_slope")
        chain.activation(get_activation("leaky_relu", alpha=alpha), where)
    elif kind == "Hardtanh":
        lo = _number(_attr(module, "min_val", kind, where), f"{where}.min_val")
        hi = _number(_attr(module, "max_val", kind, where), f"{where}.max_val")
        try:
            act = get_activation("hardtanh", min=lo, max=hi)
        except PWLError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        chain.activation(act, where)
    elif kind in _IGNORED:
        pass
    else:
        raise NetworkFormatError(f"{where}: unsupported module {kind or type(module).__name__}")


def from_torch(module: Any, input_size: Optional[int] = None) -> Network:
    """The exact network computed by a PyTorch ``nn.Sequential`` tree (or a
    TorchScript module of one), at inference.

    Floats are taken at their exact binary value; BatchNorm1d (eval mode)
    is folded into the neighbouring affine maps, its scale rounded once in
    float64 (see the module's notes).  ``input_size`` is needed only when
    the first module is an activation.

    Example (torch is an optional extra, so this is shown, not run; the
    tests run it)::

        model = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU(),
                                    torch.nn.Linear(2, 1))
        from_torch(model).widths          # (2,)
        from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1)))
        # NetworkFormatError: model.0: unsupported module Conv1d
    """
    torch = _import_torch()
    chain = _Chain(input_size)
    _walk(module, "model", chain, torch)
    return chain.network("model")


# -- the file convention --------------------------------------------------------
def _flat(module: Any, where: str, torch: Any, out: list[tuple[str, Any]]) -> None:
    kind = _kind(module, torch)
    if kind == "Sequential":
        for name, child in module.named_children():
            _flat(child, f"{where}.{name}", torch, out)
    else:
        out.append((where, module))


def architecture_of(module: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The architecture list and the state dict that :func:`from_architecture`
    reads, for an ``nn.Sequential`` tree (nested ones flattened)."""
    torch = _import_torch()
    flat: list[tuple[str, Any]] = []
    _flat(module, "model", torch, flat)
    arch: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    for k, (where, m) in enumerate(flat):
        kind = _kind(m, torch)
        if kind == "Linear":
            spec = {"type": kind, "in": m.in_features, "out": m.out_features,
                    "bias": m.bias is not None}
        elif kind == "BatchNorm1d":
            spec = {"type": kind, "num_features": m.num_features, "eps": float(m.eps),
                    "affine": m.weight is not None}
        elif kind == "LeakyReLU":
            spec = {"type": kind, "negative_slope": float(m.negative_slope)}
        elif kind == "Hardtanh":
            spec = {"type": kind, "min_val": float(m.min_val), "max_val": float(m.max_val)}
        elif kind in ("ReLU", "ReLU6") or kind in _IGNORED:
            spec = {"type": kind}
        else:
            raise NetworkFormatError(f"{where}: unsupported module "
                                     f"{kind or type(m).__name__}")
        arch.append(spec)
        for name, tensor in m.state_dict().items():
            state[f"{k}.{name}"] = tensor
    return arch, state


def save_torch(module: Any, path: str | os.PathLike[str]) -> None:
    """Save an ``nn.Sequential`` tree as ``{"architecture", "state_dict"}``
    with ``torch.save``, atomically; :func:`read_torch` reads it back."""
    from .files import write_bytes_atomic

    torch = _import_torch()
    arch, state = architecture_of(module)
    buffer = io.BytesIO()
    torch.save({"architecture": arch, "state_dict": state}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


# (type, accepted keys, state-dict entries: required, optional)
_SPECS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "Linear": (("in", "out", "bias"), ("weight",), ("bias",)),
    "BatchNorm1d": (("num_features", "eps", "affine", "momentum"),
                    ("running_mean", "running_var"), ("weight", "bias", "num_batches_tracked")),
    "LeakyReLU": (("negative_slope",), (), ()),
    "Hardtanh": (("min_val", "max_val"), (), ()),
    "ReLU": ((), (), ()),
    "ReLU6": ((), (), ()),
    "Identity": ((), (), ()),
    "Flatten": (("start_dim", "end_dim"), (), ()),
    "Dropout": (("p",), (), ()),
}


def from_architecture(architecture: object, state_dict: Mapping[str, Any],
                      input_size: Optional[int] = None) -> Network:
    """The network of an architecture list and its state dict (see the
    module's notes for the convention)."""
    torch = _import_torch()
    if isinstance(architecture, (str, bytes)) or not isinstance(architecture, Sequence):
        raise NetworkFormatError("architecture: expected a list of modules")
    if not isinstance(state_dict, Mapping):
        raise NetworkFormatError("state_dict: expected a mapping of names to tensors")
    chain = _Chain(input_size)
    used: set[str] = set()

    def tensor(k: int, name: str, where: str, required: bool) -> Optional[np.ndarray]:
        key = f"{k}.{name}"
        if key not in state_dict:
            if required:
                raise NetworkFormatError(f"{where}: state_dict has no {key!r}")
            return None
        used.add(key)
        value = state_dict[key]
        if not isinstance(value, torch.Tensor):
            raise NetworkFormatError(f"state_dict[{key!r}]: expected a tensor")
        return _array(value, torch)

    for k, spec in enumerate(architecture):
        where = f"architecture[{k}]"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
            raise NetworkFormatError(f"{where}: expected a dict with a 'type'")
        kind = spec["type"]
        where = f"{where} ({kind})"
        if kind not in _SPECS:
            raise NetworkFormatError(f"{where}: unsupported module {kind} (known: "
                                     f"{', '.join(_SPECS)})")
        keys, _, optional = _SPECS[kind]
        unknown = sorted(set(spec) - set(keys) - {"type"})
        if unknown:
            raise NetworkFormatError(f"{where}: unknown key {unknown[0]!r}")
        if kind == "Linear":
            weight = tensor(k, "weight", where, True)
            assert weight is not None
            bias = tensor(k, "bias", where, bool(spec.get("bias", True)))
            for key, size in (("in", weight.shape[-1]), ("out", weight.shape[0])):
                if key in spec and spec[key] != size:
                    raise NetworkFormatError(f"{where}: {key} = {spec[key]!r} but the weight "
                                             f"has shape {tuple(weight.shape)}")
            chain.affine(_linear(weight, bias, where))
        elif kind == "BatchNorm1d":
            mean = tensor(k, "running_mean", where, True)
            var = tensor(k, "running_var", where, True)
            affine = bool(spec.get("affine", True))
            gamma = tensor(k, "weight", where, affine)
            beta = tensor(k, "bias", where, affine)
            tensor(k, "num_batches_tracked", where, False)
            eps = float(_number(spec.get("eps", 1e-5), f"{where}.eps"))
            chain.affine(_batchnorm(mean, var, gamma, beta, eps, where))
        elif kind in ("ReLU", "ReLU6"):
            chain.activation(get_activation(kind.lower()), where)
        elif kind == "LeakyReLU":
            alpha = _number(spec.get("negative_slope", 0.01), f"{where}.negative_slope")
            chain.activation(get_activation("leaky_relu", alpha=alpha), where)
        elif kind == "Hardtanh":
            lo = _number(spec.get("min_val", -1.0), f"{where}.min_val")
            hi = _number(spec.get("max_val", 1.0), f"{where}.max_val")
            try:
                act = get_activation("hardtanh", min=lo, max=hi)
            except PWLError as exc:
                raise type(exc)(f"{where}: {exc}") from None
            chain.activation(act, where)
    extra = sorted(set(state_dict) - used)
    if extra:
        raise NetworkFormatError(f"state_dict: unexpected key {extra[0]!r} (not read by the "
                                 "architecture)")
    return chain.network("architecture")


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any("/code/" in f"/{n}" or n.endswith("constants.pkl") for n in names)


def read_torch(path: str | os.PathLike[str]) -> Network:
    """Read a TorchScript file or a ``{"architecture", "state_dict"}`` file
    saved with ``torch.save``; errors start with the path."""
    p = Path(path)
    check_input_file(p)
    torch = _import_torch()
    try:
        if _is_torchscript(p):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    module = torch.jit.load(str(p), map_location="cpu")
            except Exception as exc:  # torch raises many kinds; name the first line
                raise NetworkFormatError(f"not a readable TorchScript file "
                                         f"({_first_line(exc)})") from None
            return from_torch(module)
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception:  # torch raises many kinds, with multi-line texts
            raise NetworkFormatError(
                "torch.load(weights_only=True) cannot read it (not a torch.save file, or "
                "one that pickles more than tensors, such as a whole nn.Module); pwl reads "
                "TorchScript files and {'architecture': [...], 'state_dict': ...} dicts "
                "(see pwl.io.torch_io.save_torch)") from None
        if not isinstance(obj, Mapping) or "architecture" not in obj or "state_dict" not in obj:
            what = (f"a dict with keys {sorted(map(str, obj))[:4]}" if isinstance(obj, Mapping)
                    else type(obj).__name__)
            raise NetworkFormatError(
                f"expected a dict with 'architecture' and 'state_dict', got {what:.80} "
                "(a bare state dict has no architecture: see pwl.io.torch_io.save_torch)")
        return from_architecture(obj["architecture"], obj["state_dict"])
    except PWLError as exc:
        raise type(exc)(f"{p}: {exc}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:120]
