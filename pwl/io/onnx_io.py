"""ONNX graphs as exact pwl networks.

The graph has one input, ``(batch, features)``, ``(features,)`` or an image
``(batch, c, h, w, ...)`` whose non-batch entries, in row-major order, are the
features (it must be flattened before a matrix product).

Supported operators: ``Gemm`` (``alpha``, ``beta``, ``transB``; the
network's value is ``A``, not transposed), ``MatMul`` by a constant, ``Add``/``Sum``/``Sub``/``Neg``, ``Mul``/``Div`` by constants,
``BatchNormalization`` (inference), ``Relu``, ``LeakyRelu``, ``PRelu`` with
one slope, ``HardSigmoid``, ``Clip`` (bounds from inputs or, before opset 11,
attributes), ``Abs``, ``Max``, ``Min``, ``Concat`` on the feature axis,
``Identity``, ``Dropout`` (inference), ``Flatten`` and ``Reshape`` that keep
``(batch, features)``; on constants also ``Constant``, ``Transpose``,
``Reshape``, ``Flatten``, ``Squeeze``, ``Unsqueeze``, ``Neg`` and exact
``Cast``.  Any other operator is refused, naming the node:
``node '/3/Conv' (Conv): unsupported operator``.

How the graph becomes a :class:`~pwl.values.network.Network` (``from_nodes``):
every value that depends on the input is kept as an exact affine map
``W h + b`` of some node ``h`` of the pwl graph, so consecutive affine
operators (``Gemm``, ``MatMul``, ``Add`` of a constant, ``Mul``,
``BatchNormalization``, ...) compose into one map; an activation after it
becomes one ``dense`` node (affine map and activation), an activation of a
plain node an ``activation`` node; ``Add`` of two values of different nodes
(residual connections) an ``add`` node, ``Max``/``Min`` a ``max`` node,
``Concat`` a ``concat`` node (or one map when all parts read the same node).
Re-using an affine value in two places computes it twice, which changes no
answer.

Exactness: initializers and attributes are floats, taken at their exact
binary value (``LeakyRelu``'s ``alpha`` and ``Gemm``'s ``alpha``/``beta``
are float32 attributes, so ``alpha=0.01`` is float32(0.01) exactly, not the
float64 a PyTorch module stores); the arithmetic after that is exact, except
``BatchNormalization``'s scale, rounded once in float64 as in
:func:`pwl.io.torch_io.batchnorm_affine`.

onnx is imported only when a file is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..errors import MissingExtraError, NetworkFormatError, PWLError
from ..values.network import Network
from .files import check_input_file
from ..values.numbers import from_float_exact
from .npz import exact_array
from .torch_io import batchnorm_affine

__all__ = ["read_onnx", "from_onnx"]

Vector = list[Fraction]
Matrix = list[list[Fraction]]
_ZERO, _ONE = Fraction(0), Fraction(1)


def _import_onnx() -> Any:
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
    except ImportError:
        raise MissingExtraError("reading ONNX files", "onnx", "onnx") from None
    return onnx


@dataclass(eq=False)
class _Sym:
    """A value that depends on the input: ``W h + b`` for the pwl node ``h``
    (``W`` None is the identity, ``b`` None is zero), with ``rank`` the
    ONNX tensor's rank (batch axis included when there is one)."""

    base: str
    weights: Optional[Matrix]
    bias: Optional[Vector]
    size: int
    rank: int

    @property
    def is_plain(self) -> bool:
        return self.weights is None and (self.bias is None or not any(self.bias))


Value = Union[_Sym, np.ndarray]


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    columns = list(zip(*b))
    return [[sum((x * y for x, y in zip(row, col)), _ZERO) for col in columns] for row in a]


def _matvec(a: Matrix, v: Vector) -> Vector:
    return [sum((x * y for x, y in zip(row, v)), _ZERO) for row in a]


def _eye(n: int) -> Matrix:
    return [[_ONE if i == j else _ZERO for j in range(n)] for i in range(n)]


class GraphReader:
    """What every reader of an ONNX graph shares: the graph's named values
    (initializers as arrays, computed values as the reader's own type),
    fresh names for the nodes it makes, and ``where`` for its messages."""

    def __init__(self, onnx: Any, graph: Any, taken: tuple[str, ...] = ()):
        self.onnx = onnx
        self.graph = graph
        self.values: dict[str, Any] = {}
        self.used: set[str] = set(taken)
        self.where = "graph"

    def fresh(self, hint: str) -> str:
        """``hint``, or ``hint#2``, ``hint#3``, ...: a name not used yet."""
        name, k = hint or "node", 1
        while name in self.used:
            k += 1
            name = f"{hint}#{k}"
        self.used.add(name)
        return name

    def const(self, name: str, what: str) -> np.ndarray:
        v = self.values.get(name)
        if not isinstance(v, np.ndarray):
            if name and name not in self.values:
                raise NetworkFormatError(f"{self.where}: unknown input {name!r}")
            raise NetworkFormatError(f"{self.where}: {what} must be a constant")
        return v

    def read_initializers(self) -> None:
        """Every initializer as a numpy array; an unreadable one is refused."""
        from onnx import numpy_helper

        for init in self.graph.initializer:
            try:
                self.values[init.name] = numpy_helper.to_array(init)
            except Exception as exc:
                raise NetworkFormatError(f"initializer {init.name!r}: unreadable "
                                         f"({str(exc).splitlines()[0][:80]})") from None


class _Converter(GraphReader):
    def __init__(self, onnx: Any, graph: Any):
        super().__init__(onnx, graph)
        self.nodes: list[dict[str, Any]] = []
        self.sizes: dict[str, int] = {}
        self.values: dict[str, Value] = {}
        self.done: dict[int, tuple[_Sym, str]] = {}
        self.input = ""

    # -- pwl nodes -------------------------------------------------------------
    def emit(self, hint: str, width: int, **spec: Any) -> str:
        """Add a pwl node description; ``width`` is its number of outputs."""
        name = self.fresh(hint)
        self.nodes.append({"name": name, **spec})
        self.sizes[name] = width
        return name

    def matrix(self, sym: _Sym) -> Matrix:
        return sym.weights if sym.weights is not None else _eye(self.sizes[sym.base])

    def bias(self, sym: _Sym) -> Vector:
        return sym.bias if sym.bias is not None else [_ZERO] * sym.size

    def materialize(self, sym: _Sym, hint: str) -> str:
        """The name of a pwl node computing ``sym`` (a dense node if needed)."""
        if sym.is_plain:
            return sym.base
        if id(sym) not in self.done:
            name = self.emit(hint, sym.size, op="dense", inputs=[sym.base],
                             weights=self.matrix(sym), bias=self.bias(sym),
                             activation="identity")
            self.done[id(sym)] = (sym, name)
        return self.done[id(sym)][1]

    def activate(self, sym: _Sym, hint: str, activation: str, **params: Fraction) -> _Sym:
        if sym.is_plain:
            name = self.emit(hint, sym.size, op="activation", inputs=[sym.base],
                             activation=activation, **params)
        else:
            name = self.emit(hint, sym.size, op="dense", inputs=[sym.base],
                             weights=self.matrix(sym), bias=self.bias(sym),
                             activation=activation, **params)
        return _Sym(name, None, None, sym.size, sym.rank)

    # -- affine maps on values ---------------------------------------------------
    def then(self, sym: _Sym, matrix: Optional[Matrix], bias: Optional[Vector],
             rank: Optional[int] = None) -> _Sym:
        """``matrix @ sym + bias`` (``matrix`` None: the identity)."""
        if matrix is None:
            weights = sym.weights
            new_bias = sym.bias
            size = sym.size
        else:
            weights = matrix if sym.weights is None else _matmul(matrix, sym.weights)
            new_bias = None if sym.bias is None else _matvec(matrix, sym.bias)
            size = len(matrix)
        if bias is not None:
            new_bias = bias if new_bias is None else [a + b for a, b in zip(new_bias, bias)]
        return _Sym(sym.base, weights, new_bias, size, sym.rank if rank is None else rank)

    def scale(self, sym: _Sym, factors: Vector) -> _Sym:
        weights = [[f * w for w in row] for f, row in zip(factors, self.matrix(sym))]
        bias = None if sym.bias is None else [f * b for f, b in zip(factors, sym.bias)]
        return _Sym(sym.base, weights, bias, sym.size, sym.rank)

    def broadcast(self, sym: _Sym, size: int) -> _Sym:
        """A one-feature value repeated ``size`` times (ONNX broadcasting)."""
        if sym.size == size:
            return sym
        if sym.size != 1:
            raise NetworkFormatError(f"{self.where}: operands of {sym.size} and {size} "
                                     "features do not broadcast")
        return self.then(sym, [[_ONE]] * size, None)

    def constant_sym(self, vector: Vector, rank: int) -> _Sym:
        """A constant as a value: zero weights on the input, the constant as bias."""
        zeros = [[_ZERO] * self.sizes[self.input] for _ in vector]
        return _Sym(self.input, zeros, list(vector), len(vector), rank)

    def vector(self, const: np.ndarray, size: int, what: str) -> Vector:
        """A constant broadcast over ``size`` features."""
        arr = np.asarray(const)
        if arr.size == 1:
            return exact_array(arr.reshape(-1), what) * size
        if arr.ndim == 0 or arr.shape[-1] != size or arr.size != size:
            raise NetworkFormatError(f"{self.where}: {what} of shape {arr.shape} does not "
                                     f"broadcast over {size} features")
        return exact_array(arr.reshape(-1), what)

    def value(self, name: str) -> Optional[Value]:
        if name == "":
            return None
        if name not in self.values:
            raise NetworkFormatError(f"{self.where}: unknown input {name!r}")
        return self.values[name]

    def sym(self, name: str) -> _Sym:
        v = self.value(name)
        if not isinstance(v, _Sym):
            raise NetworkFormatError(f"{self.where}: expected a value computed from the "
                                     f"network's input, got the constant {name!r}")
        return v

    # -- the graph ---------------------------------------------------------------
    def run(self) -> Network:
        self.read_initializers()
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise NetworkFormatError(f"the graph has {len(inputs)} inputs "
                                     f"{[i.name for i in inputs]}; pwl reads graphs with one")
        inp = inputs[0]
        dims = list(inp.type.tensor_type.shape.dim)
        if not dims:
            raise NetworkFormatError(f"input {inp.name!r}: a scalar; expected a shape "
                                     "(batch, features) or (features,)")
        # (batch, c, h, w, ...) inputs count their non-batch entries, in row-major
        # order, as the features; they must be flattened before any matrix product
        feature_dims = dims[1:] if len(dims) >= 2 else dims
        size = 1
        for dim in feature_dims:
            size *= dim.dim_value if dim.HasField("dim_value") else 0
        if size < 1:
            raise NetworkFormatError(f"input {inp.name!r}: the number of features is not fixed")
        self.input = self.emit(inp.name, size, op="input", size=size)
        self.values[inp.name] = _Sym(self.input, None, None, size, len(dims))
        for index, node in enumerate(self.graph.node):
            name = node.name or f"{node.op_type}_{index}"
            self.where = f"node {name!r} ({node.op_type})"
            if node.domain not in ("", "ai.onnx"):
                raise NetworkFormatError(f"{self.where}: unsupported operator "
                                         f"(domain {node.domain!r})")
            attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
            ins = list(node.input)
            if node.op_type in _CONST_OPS and ins and all(
                    i == "" or isinstance(self.value(i), np.ndarray) for i in ins):
                out: Value = self.constant_op(node.op_type, ins, attrs)
            elif node.op_type == "Constant":
                out = self.constant_node(attrs)
            else:
                handler = _OPS.get(node.op_type)
                if handler is None:
                    raise NetworkFormatError(f"{self.where}: unsupported operator")
                try:
                    out = handler(self, name, ins, attrs)
                except PWLError:
                    raise
                except (IndexError, ValueError, TypeError):  # wrong number of inputs, ...
                    raise NetworkFormatError(f"{self.where}: malformed node (inputs "
                                             f"{ins[:4]})") from None
            if not node.output:
                raise NetworkFormatError(f"{self.where}: the node has no output")
            self.values[node.output[0]] = out
        if not self.graph.output:
            raise NetworkFormatError("the graph has no output")
        out_name = self.graph.output[0].name
        self.where = f"output {out_name!r}"
        result = self.sym(out_name)
        final = self.materialize(result, out_name)
        if final == self.input:
            final = self.emit(out_name, result.size, op="dense", inputs=[self.input],
                              weights=_eye(result.size), bias=[_ZERO] * result.size,
                              activation="identity")
        return Network.from_nodes(self.nodes, final)

    # -- constants ---------------------------------------------------------------
    def constant_node(self, attrs: dict[str, Any]) -> np.ndarray:
        from onnx import numpy_helper

        if "value" in attrs:
            return numpy_helper.to_array(attrs["value"])
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                           ("value_int", np.int64), ("value_ints", np.int64)):
            if key in attrs:
                return np.asarray(attrs[key], dtype=dtype)
        raise NetworkFormatError(f"{self.where}: unsupported kind of constant "
                                 f"{sorted(attrs)[:1]}")

    def constant_op(self, op: str, ins: list[str], attrs: dict[str, Any]) -> np.ndarray:
        """Operators on constants that are exact in numpy (no rounding)."""
        a = self.const(ins[0], "the operand")
        if op in ("Identity", "Dropout"):
            return a
        if op == "Neg":
            return -a
        if op == "Transpose":
            return np.transpose(a, attrs.get("perm"))
        if op == "Flatten":
            axis = attrs.get("axis", 1)
            axis = axis + a.ndim if axis < 0 else axis
            return a.reshape(int(np.prod(a.shape[:axis])), -1)
        if op == "Reshape":
            shape = self.const(ins[1], "the shape").astype(np.int64).tolist()
            if not attrs.get("allowzero", 0):
                shape = [a.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return a.reshape(shape)
        if op in ("Squeeze", "Unsqueeze"):
            axes = attrs.get("axes")
            if axes is None and len(ins) > 1 and ins[1]:
                axes = self.const(ins[1], "axes").astype(np.int64).tolist()
            if op == "Squeeze":
                return np.squeeze(a, axis=None if axes is None else tuple(axes))
            axes = list(axes or [])
            out = a
            for axis in sorted(int(x) % (a.ndim + len(axes)) for x in axes):
                out = np.expand_dims(out, axis)
            return out
        if op == "Concat":
            return np.concatenate([self.const(i, "an operand") for i in ins],
                                  axis=attrs.get("axis", 0))
        assert op == "Cast"
        dtype = self.onnx.helper.tensor_dtype_to_np_dtype(attrs["to"])
        cast = a.astype(dtype)
        if not np.array_equal(cast.astype(np.float64), a.astype(np.float64)):
            raise NetworkFormatError(f"{self.where}: the cast rounds a constant")
        return cast

    # -- operators on values -------------------------------------------------------
    def operands(self, ins: list[str]) -> list[Value]:
        vals = [self.value(i) for i in ins if i != ""]
        return [v for v in vals if v is not None]

    def as_syms(self, vals: list[Value]) -> list[_Sym]:
        """Values (constants broadcast) of one common number of features."""
        syms = [v for v in vals if isinstance(v, _Sym)]
        size = max(s.size for s in syms)
        rank = max([s.rank for s in syms] + [v.ndim for v in vals if not isinstance(v, _Sym)])
        out = []
        for v in vals:
            if isinstance(v, _Sym):
                out.append(self.broadcast(v, size))
            else:
                out.append(self.constant_sym(self.vector(v, size, "a constant"), rank))
        return out

    def negate(self, sym: _Sym) -> _Sym:
        return self.scale(sym, [-_ONE] * sym.size)

    def add(self, name: str, a: Value, b: Value, sign: int = 1) -> Value:
        if not isinstance(a, _Sym) and not isinstance(b, _Sym):
            raise NetworkFormatError(f"{self.where}: arithmetic on two constants "
                                     "(fold constants when exporting)")
        if isinstance(b, _Sym) and sign < 0:
            b, sign = self.negate(b), 1
        if not isinstance(a, _Sym):  # constant + value
            a, b = b, a
        assert isinstance(a, _Sym)
        if not isinstance(b, _Sym):
            size = a.size if np.size(b) in (1, a.size) else np.size(b)
            a = self.broadcast(a, size)
            shift = self.vector(b, size, "the constant")
            if sign < 0:
                shift = [-v for v in shift]
            return self.then(a, None, shift, max(a.rank, np.ndim(b)))
        a, b = self.as_syms([a, b])
        if a.base == b.base:
            weights = [[x + y for x, y in zip(ra, rb)]
                       for ra, rb in zip(self.matrix(a), self.matrix(b))]
            bias = [x + y for x, y in zip(self.bias(a), self.bias(b))]
            return _Sym(a.base, weights, bias, a.size, max(a.rank, b.rank))
        ia, ib = self.materialize(a, f"{name}.a"), self.materialize(b, f"{name}.b")
        out = self.emit(name, a.size, op="add", inputs=[ia, ib])
        return _Sym(out, None, None, a.size, max(a.rank, b.rank))

    def maximum(self, name: str, vals: list[Value]) -> _Sym:
        if not any(isinstance(v, _Sym) for v in vals):
            raise NetworkFormatError(f"{self.where}: maximum of constants only")
        syms = self.as_syms(vals)
        if len(syms) == 1:
            return syms[0]
        names = [self.materialize(s, f"{name}.{k}") for k, s in enumerate(syms)]
        out = self.emit(name, syms[0].size, op="max", inputs=names)
        return _Sym(out, None, None, syms[0].size, max(s.rank for s in syms))

    def matrix_operand(self, name: str) -> _Sym:
        sym = self.sym(name)
        if sym.rank > 2:
            raise NetworkFormatError(f"{self.where}: expected (batch, features), got a "
                                     f"rank-{sym.rank} tensor (flatten it first)")
        return sym

    def feature_axis(self, axis: int, rank: int) -> None:
        if rank > 2:
            raise NetworkFormatError(f"{self.where}: expected (batch, features), got a "
                                     f"rank-{rank} tensor (flatten it first)")
        if axis not in (-1, rank - 1):
            raise NetworkFormatError(f"{self.where}: axis {axis} is not the feature axis "
                                     f"of a rank-{rank} tensor")


def _float_attr(attrs: dict[str, Any], key: str, default: float, where: str) -> Fraction:
    value = attrs.get(key, default)
    return from_float_exact(float(value), f"{where} {key}")


def _op_gemm(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.matrix_operand(ins[0])
    b = c.const(ins[1], "B")
    if attrs.get("transA", 0):
        raise NetworkFormatError(f"{c.where}: transA = 1 would transpose the batch axis")
    if b.ndim != 2:
        raise NetworkFormatError(f"{c.where}: B has shape {b.shape}, expected a matrix")
    bt = b if attrs.get("transB", 0) else b.T  # (n, k): one row per output
    if bt.shape[1] != a.size:
        raise NetworkFormatError(f"{c.where}: B gives {bt.shape[1]} inputs, the value has "
                                 f"{a.size} features")
    alpha = _float_attr(attrs, "alpha", 1.0, c.where)
    beta = _float_attr(attrs, "beta", 1.0, c.where)
    weights = exact_array(bt, f"{ins[1]}")
    if alpha != 1:
        weights = [[alpha * w for w in row] for row in weights]
    bias = None
    if len(ins) > 2 and ins[2]:
        bias = [beta * v for v in c.vector(c.const(ins[2], "C"), bt.shape[0], ins[2])]
    return c.then(a, weights, bias, 2)


def _op_matmul(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.matrix_operand(ins[0])
    b = c.const(ins[1], "the second operand")
    if b.ndim == 1:  # (..., k) @ (k,) drops the feature axis: one feature remains
        b, rank = b.reshape(-1, 1), max(a.rank - 1, 1)
    elif b.ndim == 2:
        rank = a.rank
    else:
        raise NetworkFormatError(f"{c.where}: the constant has shape {b.shape}, expected a "
                                 "matrix")
    if b.shape[0] != a.size:
        raise NetworkFormatError(f"{c.where}: the constant has {b.shape[0]} rows, the value "
                                 f"has {a.size} features")
    return c.then(a, exact_array(b.T, ins[1]), None, rank)


def _op_add(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    vals = c.operands(ins)
    out = vals[0]
    for k, v in enumerate(vals[1:]):
        out = c.add(name if k == len(vals) - 2 else f"{name}.{k}", out, v)
    return out


def _op_sub(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a, b = c.operands(ins)
    return c.add(name, a, b, -1)


def _op_neg(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    return c.negate(c.sym(ins[0]))


def _op_mul(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a, b = c.operands(ins)
    if isinstance(a, _Sym) and isinstance(b, _Sym):
        raise NetworkFormatError(f"{c.where}: a product of two values computed from the "
                                 "input is not piecewise linear")
    if not isinstance(a, _Sym):
        a, b = b, a
    assert isinstance(a, _Sym) and isinstance(b, np.ndarray)
    size = a.size if b.size in (1, a.size) else b.size
    a = c.broadcast(a, size)
    out = c.scale(a, c.vector(b, size, "the factor"))
    out.rank = max(a.rank, b.ndim)
    return out


def _op_div(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    b = c.const(ins[1], "the divisor")
    size = a.size if b.size in (1, a.size) else b.size
    a = c.broadcast(a, size)
    divisors = c.vector(b, size, "the divisor")
    if any(d == 0 for d in divisors):
        raise NetworkFormatError(f"{c.where}: division by zero")
    out = c.scale(a, [1 / d for d in divisors])
    out.rank = max(a.rank, b.ndim)
    return out


def _op_relu(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    return c.activate(c.sym(ins[0]), name, "relu")


def _op_abs(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    return c.activate(c.sym(ins[0]), name, "abs")


def _op_leaky(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    alpha = _float_attr(attrs, "alpha", float(np.float32(0.01)), c.where)
    return c.activate(c.sym(ins[0]), name, "leaky_relu", alpha=alpha)


def _op_prelu(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    slope = c.const(ins[1], "the slope")
    values = set(exact_array(slope.reshape(-1), ins[1]))
    if len(values) != 1:
        raise NetworkFormatError(f"{c.where}: one slope per channel is not supported, only "
                                 "one slope for all")
    return c.activate(c.sym(ins[0]), name, "leaky_relu", alpha=values.pop())


def _op_hardsigmoid(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    alpha = _float_attr(attrs, "alpha", float(np.float32(0.2)), c.where)
    beta = _float_attr(attrs, "beta", float(np.float32(0.5)), c.where)
    shifted = c.then(c.scale(a, [alpha] * a.size), None, [beta] * a.size)
    return c.activate(shifted, name, "hardtanh", min=_ZERO, max=_ONE)


def _scalar(c: _Converter, ins: list[str], k: int, attrs: dict[str, Any],
            key: str) -> Optional[Fraction]:
    if len(ins) > k and ins[k]:
        arr = c.const(ins[k], key)
        if arr.size != 1:
            raise NetworkFormatError(f"{c.where}: {key} must be a scalar")
        return exact_array(arr.reshape(-1), f"{c.where} {key}")[0]
    if key in attrs:  # opset < 11
        return from_float_exact(float(attrs[key]), f"{c.where} {key}")
    return None


def _op_clip(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    lo, hi = _scalar(c, ins, 1, attrs, "min"), _scalar(c, ins, 2, attrs, "max")
    n = a.size
    if lo is not None and hi is not None:
        if not lo < hi:
            raise NetworkFormatError(f"{c.where}: min {lo} is not below max {hi}")
        return c.activate(a, name, "hardtanh", min=lo, max=hi)
    if lo is not None:  # max(x, lo) = relu(x - lo) + lo
        r = c.activate(c.then(a, None, [-lo] * n), name, "relu")
        return c.then(r, None, [lo] * n)
    if hi is not None:  # min(x, hi) = hi - relu(hi - x)
        r = c.activate(c.then(c.negate(a), None, [hi] * n), name, "relu")
        return c.then(c.negate(r), None, [hi] * n)
    return a


def _op_max(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    return c.maximum(name, c.operands(ins))


def _op_min(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    # min(a, b, ...) = -max(-a, -b, ...)
    vals = [c.negate(v) if isinstance(v, _Sym) else -v for v in c.operands(ins)]
    return c.negate(c.maximum(name, vals))


def _op_identity(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    return c.sym(ins[0])


def _op_dropout(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    if len(ins) > 2 and ins[2]:
        mode = c.const(ins[2], "training_mode")
        if bool(mode.reshape(-1)[0]):
            raise NetworkFormatError(f"{c.where}: dropout in training mode is random")
    return c.sym(ins[0])


def _op_flatten(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    axis = attrs.get("axis", 1)
    if not ((a.rank >= 2 and axis == 1) or (a.rank == 2 and axis == -1)
            or (a.rank == 1 and axis == 0)):
        raise NetworkFormatError(f"{c.where}: flattening at axis {axis} mixes the batch and "
                                 "feature axes")
    return _Sym(a.base, a.weights, a.bias, a.size, 2)


def _op_reshape(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    shape = c.const(ins[1], "the shape").astype(np.int64).reshape(-1).tolist()
    ok = (len(shape) in (1, 2) and shape[-1] in (a.size, -1)
          and all(s in (1, -1, 0) for s in shape[:-1]) and shape.count(-1) <= 1)
    if not ok:
        raise NetworkFormatError(f"{c.where}: reshaping {a.size} features to {shape} is not "
                                 "a (batch, features) tensor")
    return _Sym(a.base, a.weights, a.bias, a.size, len(shape))


def _op_concat(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    vals = c.operands(ins)
    rank = max(v.rank if isinstance(v, _Sym) else v.ndim for v in vals)
    c.feature_axis(attrs.get("axis", 0), rank)
    parts = [v if isinstance(v, _Sym) else
             c.constant_sym(c.vector(v, int(v.shape[-1]) if v.ndim else 1, "a constant"), rank)
             for v in vals]
    size = sum(p.size for p in parts)
    if len({p.base for p in parts}) == 1:
        weights = [row for p in parts for row in c.matrix(p)]
        bias = [v for p in parts for v in c.bias(p)]
        return _Sym(parts[0].base, weights, bias, size, rank)
    names = [c.materialize(p, f"{name}.{k}") for k, p in enumerate(parts)]
    out = c.emit(name, size, op="concat", inputs=names)
    return _Sym(out, None, None, size, rank)


def _op_batchnorm(c: _Converter, name: str, ins: list[str], attrs: dict[str, Any]) -> Value:
    a = c.sym(ins[0])
    if attrs.get("training_mode", 0):
        raise NetworkFormatError(f"{c.where}: batch normalisation in training mode "
                                 "normalises by the batch, not a fixed function")
    gamma, beta, mean, var = (c.const(i, k) for i, k in
                              zip(ins[1:5], ("scale", "B", "input_mean", "input_var")))
    if gamma.shape != (a.size,):
        raise NetworkFormatError(f"{c.where}: scale has shape {gamma.shape}, expected "
                                 f"({a.size},)")
    eps = float(attrs.get("epsilon", float(np.float32(1e-5))))
    scale, shift = batchnorm_affine(mean, var, gamma, beta, eps, c.where)
    return c.then(c.scale(a, scale), None, shift)


_OPS = {
    "Gemm": _op_gemm, "MatMul": _op_matmul, "Add": _op_add, "Sum": _op_add,
    "Sub": _op_sub, "Neg": _op_neg, "Mul": _op_mul, "Div": _op_div,
    "Relu": _op_relu, "LeakyRelu": _op_leaky, "PRelu": _op_prelu, "Abs": _op_abs,
    "HardSigmoid": _op_hardsigmoid, "Clip": _op_clip, "Max": _op_max, "Min": _op_min,
    "Identity": _op_identity, "Dropout": _op_dropout, "Flatten": _op_flatten,
    "Reshape": _op_reshape, "Concat": _op_concat, "BatchNormalization": _op_batchnorm,
}

#: operators evaluated in numpy when every input is a constant (all exact)
_CONST_OPS = ("Identity", "Dropout", "Neg", "Transpose", "Flatten", "Reshape", "Squeeze",
              "Unsqueeze", "Concat", "Cast")


def from_onnx(model: Any) -> Network:
    """The exact network of an in-memory ``onnx.ModelProto`` (see the module's
    notes for the operators and the exactness)."""
    onnx = _import_onnx()
    return _Converter(onnx, model.graph).run()


def read_onnx(path: str | os.PathLike[str]) -> Network:
    """Read an ``.onnx`` file; errors start with the path and name the node."""
    p = Path(path)
    check_input_file(p)
    onnx = _import_onnx()
    try:
        model = onnx.load(str(p))
    except Exception as exc:  # protobuf's DecodeError and friends
        text = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise NetworkFormatError(f"{p}: not a readable ONNX file ({text})") from None
    try:
        return from_onnx(model)
    except PWLError as exc:
        raise type(exc)(f"{p}: {exc}") from None
