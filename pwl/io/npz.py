"""Networks as numpy ``.npz`` archives: arrays ``W0, b0, W1, b1, ...``.

``Wk`` has shape ``(n_k, n_{k-1})`` and ``bk`` shape ``(n_k,)`` (a missing
``bk`` is zeros).  An optional string array ``activations`` names each
layer's activation, with exact parameters after the name::

    ["relu", "leaky_relu alpha=1/8", "hardtanh min=-1 max=1", "identity"]

Without it the hidden layers use relu and the last layer the identity.

Float arrays are taken at their exact binary value (``0.1`` as a float64 is
``3602879701896397/36028797018963968``), so pwl's answers are exact for the
network as stored; integer arrays are exact as they are.  The archive is read
with ``allow_pickle=False``: loading it never runs code.

:func:`exact_array` is the door for every binary format's arrays (npz, ONNX,
PyTorch).
"""

from __future__ import annotations

import io
import os
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..values.activations import Activation, get_activation
from ..errors import NetworkFormatError, PWLError, PWLValueError
from ..values.network import Layer, Network
from .files import check_input_file
from ..values.numbers import format_exact, to_fraction

__all__ = ["exact_array", "read_npz", "save_npz", "parse_activation", "activation_text"]


#: Float types whose every value is a double exactly.
_EXACT_IN_DOUBLE = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _index_text(name: str, index: Sequence[int]) -> str:
    return f"{name}[{', '.join(str(int(i)) for i in index)}]" if len(index) else name


def exact_array(array: Any, name: str) -> list[Any]:
    """The entries of a numeric array as exact Fractions, in nested lists.

    Floats (half, single, double, bfloat16, long double) become their exact
    binary value; integers stay exact.  NaN and infinities are refused with
    the array's name and the index.

    >>> exact_array(np.array([0.5, 3]), "b0")
    [Fraction(1, 2), Fraction(3, 1)]
    >>> exact_array(np.array([[1.0, np.nan]]), "W0")
    Traceback (most recent call last):
    ...
    pwl.errors.NetworkFormatError: W0[0, 1]: nan is not a finite number
    """
    arr = np.asarray(array)
    kind = arr.dtype.kind
    if kind == "b":
        raise NetworkFormatError(f"{name}: a boolean array, not numbers")
    if kind in "iu":
        flat = [Fraction(v) for v in arr.reshape(-1).tolist()]
    else:
        if kind != "f":
            # bfloat16 and other small float types (ml_dtypes) widen exactly to float64
            if not arr.dtype.name.startswith(("float", "bfloat")):
                raise NetworkFormatError(f"{name}: dtype {arr.dtype} is not a number type")
            arr = arr.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(np.argwhere(bad)[0])
            raise NetworkFormatError(f"{_index_text(name, where)}: {float(arr[where])!r} "
                                     "is not a finite number")
        if arr.dtype.itemsize > 8:  # long double: more bits than a float64 holds
            flat = [Fraction(*v.as_integer_ratio()) for v in arr.reshape(-1)]
        else:  # half and single widen to float64 exactly
            flat = [Fraction(v) for v in arr.astype(np.float64).reshape(-1).tolist()]
    if arr.ndim == 0:
        return flat[0]  # type: ignore[return-value]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape).tolist()


def parse_activation(text: str, where: str) -> Activation:
    """An activation from its text ``"name key=value ..."``; values are exact.

    >>> parse_activation("leaky_relu alpha=1/8", "activations[0]").slopes
    (Fraction(1, 8), Fraction(1, 1))
    """
    parts = text.split()
    if not parts:
        raise NetworkFormatError(f"{where}: empty activation name")
    params: dict[str, Any] = {}
    for item in parts[1:]:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise NetworkFormatError(f"{where}: expected key=value, got {item!r:.40}")
        params[key] = to_fraction(value, f"{where} {key}")
    try:
        return get_activation(parts[0], **params)
    except PWLError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def activation_text(act: Activation) -> str:
    """The text :func:`parse_activation` reads back.

    >>> activation_text(get_activation("hardtanh", min=0, max="3/2"))
    'hardtanh min=0 max=3/2'
    """
    return " ".join([act.name] + [f"{k}={format_exact(v)}" for k, v in act.params])


def _activations(value: np.ndarray, layers: int) -> list[Activation]:
    if value.dtype.kind == "S":
        value = np.char.decode(value, "ascii")
    if value.dtype.kind != "U" or value.ndim != 1:
        raise NetworkFormatError(f"activations: expected a 1-D array of strings, got "
                                 f"dtype {value.dtype} and shape {value.shape}")
    if len(value) != layers:
        raise NetworkFormatError(f"activations: expected {layers} names (one per layer), "
                                 f"got {len(value)}")
    return [parse_activation(str(v), f"activations[{k}]") for k, v in enumerate(value)]


def _arrays_to_network(arrays: dict[str, np.ndarray]) -> Network:
    count = 0
    while f"W{count}" in arrays:
        count += 1
    if count == 0:
        raise NetworkFormatError("no array 'W0' (expected W0, b0, W1, b1, ...)")
    known = {f"W{k}" for k in range(count)} | {f"b{k}" for k in range(count)} | {"activations"}
    for key in sorted(arrays):
        if key not in known:
            hint = ""
            if key[:1] in ("W", "b") and key[1:].isdigit():
                hint = f" (there is no W{count}, so layers end at W{count - 1})"
            raise NetworkFormatError(f"unknown array {key!r}{hint}; expected W0, b0, W1, b1, "
                                     "... and optionally activations")
    if "activations" in arrays:
        acts = _activations(arrays["activations"], count)
    else:
        acts = [get_activation("relu")] * (count - 1) + [get_activation("identity")]
    layers = []
    width: Optional[int] = None
    for k in range(count):
        w = arrays[f"W{k}"]
        if w.ndim != 2 or 0 in w.shape:
            raise NetworkFormatError(f"W{k}: expected a non-empty 2-D array, got shape {w.shape}")
        if width is not None and w.shape[1] != width:
            raise NetworkFormatError(f"W{k}: expected {width} columns (the rows of W{k - 1}), "
                                     f"got shape {w.shape}")
        b = arrays.get(f"b{k}")
        if b is not None and b.shape != (w.shape[0],):
            raise NetworkFormatError(f"b{k}: expected shape ({w.shape[0]},), got {b.shape}")
        if w.dtype in _EXACT_IN_DOUBLE and (b is None or b.dtype in _EXACT_IN_DOUBLE):
            # half, single and double floats are doubles exactly: the layer
            # keeps the arrays and makes Fractions only when asked
            layers.append(Layer.from_floats(w.astype(np.float64),
                                            None if b is None else b.astype(np.float64),
                                            acts[k], where=f"W{k}",
                                            names=(f"W{k}", f"b{k}")))
        else:
            weights = exact_array(w, f"W{k}")
            bias = exact_array(b, f"b{k}") if b is not None else [Fraction(0)] * w.shape[0]
            layers.append(Layer(tuple(map(tuple, weights)), tuple(bias), acts[k]))
        width = w.shape[0]
    return Network.sequential(layers)


def read_npz(path: str | os.PathLike[str]) -> Network:
    """Read a network from an ``.npz`` archive; errors start with the path.

    Floats are taken at their exact binary value (see the module's notes).
    """
    p = Path(path)
    check_input_file(p)
    try:
        data = np.load(p, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise NetworkFormatError(f"{p}: a single .npy array, not an .npz archive")
        with data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise NetworkFormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise NetworkFormatError(f"{p}: is a directory") from None
    except PWLError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NetworkFormatError(f"{p}: not a readable .npz archive ({text:.100})") from None
    try:
        return _arrays_to_network(arrays)
    except PWLError as exc:
        raise type(exc)(f"{p}: {exc}") from None


def _as_array(values: Sequence[Fraction], where: str, width: int = 0) -> np.ndarray:
    """int64 if every entry is an integer that fits, else float64 if every
    entry is exactly a float64; anything else would be rounded: refused.
    ``width`` > 0 names entries ``[i][j]`` of a matrix with that many columns."""
    if all(v.denominator == 1 and -2**63 <= v.numerator < 2**63 for v in values):
        return np.array([int(v) for v in values], dtype=np.int64)
    out = []
    for k, v in enumerate(values):
        try:
            f = float(v)
        except OverflowError:
            f = float("inf")
        if not np.isfinite(f) or Fraction(f) != v:
            place = f"[{k // width}][{k % width}]" if width else f"[{k}]"
            raise PWLValueError(f"{where}{place}: {format_exact(v)} is not exactly a float64; "
                                "an .npz file would round it (save the native JSON instead)")
        out.append(f)
    return np.array(out, dtype=np.float64)


def save_npz(net: Network, path: str | os.PathLike[str]) -> None:
    """Write a chain of layers as an ``.npz`` archive, atomically.

    Each array is int64 when its entries are integers, float64 when each is
    exactly a float64; a weight that neither holds exactly (``1/3``) is
    refused, since the archive would round it.

    >>> import tempfile, os
    >>> net = Network.sequential([([[2], [4]], [0, -2]), ([[1, "-1/2"]], [0], "identity")])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_npz(net, os.path.join(d, "n.npz"))
    ...     read_npz(os.path.join(d, "n.npz")) == net
    True
    """
    from .files import write_bytes_atomic

    if not net.is_chain:
        raise PWLValueError("save_npz: an .npz archive holds a chain of layers; this network "
                            "is a graph (save the native JSON instead)")
    arrays: dict[str, np.ndarray] = {}
    for k, layer in enumerate(net.layers):
        flat = [w for row in layer.weights for w in row]
        arrays[f"W{k}"] = _as_array(flat, f"layers[{k}].weights", layer.n_in).reshape(
            layer.n_out, layer.n_in)
        arrays[f"b{k}"] = _as_array(layer.bias, f"layers[{k}].bias")
    arrays["activations"] = np.array([activation_text(layer.activation)
                                      for layer in net.layers])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    write_bytes_atomic(path, buffer.getvalue())
