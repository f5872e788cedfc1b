"""Networks: validated once, at construction, then trusted by the engine.

A :class:`Network` is a :class:`networkx.DiGraph` of nodes with an ``op``
attribute.  Today the engine runs chains ``input -> dense -> ... -> dense``
(:meth:`Network.sequential`); the graph is there so that residual, max and
concatenation nodes are new node kinds, not a rewrite.

A dense node holds a :class:`Layer`: exact weights ``W`` of shape
``(n_k, n_{k-1})``, bias ``b`` of length ``n_k`` and an activation, and
computes ``act(W h + b)``.  The last layer is the output layer; the ones
before it are the hidden layers, whose number is the depth ``D``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import networkx as nx

from .activations import Activation, get_activation
from .errors import NetworkFormatError, PWLError, PWLTypeError
from .numbers import format_exact, to_fraction

if TYPE_CHECKING:
    from .domain import DomainLike
    from .function import PiecewiseLinear
    from .partition import Partition

__all__ = ["Layer", "Network", "load", "FORMAT"]

#: The ``"format"`` tag of the native network file.
FORMAT = "pwl-network/1"

#: Input files larger than this (bytes) are refused; see :func:`load`.
MAX_FILE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Layer:
    """One affine map followed by an activation, with exact entries.

    Build it with :meth:`Layer.make`, which validates; the plain constructor
    trusts its arguments.
    """

    weights: tuple[tuple[Fraction, ...], ...]
    bias: tuple[Fraction, ...]
    activation: Activation

    @property
    def n_in(self) -> int:
        return len(self.weights[0])

    @property
    def n_out(self) -> int:
        return len(self.weights)

    @classmethod
    def make(cls, weights: object, bias: object = None, activation: object = "relu",
             where: str = "layer", **params: object) -> "Layer":
        """Validate and build a layer from nested sequences of exact numbers.

        ``bias`` defaults to zeros.  ``activation`` is a name (with ``params``
        such as ``alpha``) or an :class:`Activation`.

        >>> Layer.make([[2], [4]], [0, -2]).n_out
        2
        >>> Layer.make([[1, 2], [3]], [0, 0])
        Traceback (most recent call last):
        ...
        pwl.errors.NetworkFormatError: layer.weights[1]: expected 2 weights, got 1
        """
        rows = _as_list(weights, f"{where}.weights")
        if not rows:
            raise NetworkFormatError(f"{where}.weights: a layer needs at least one neuron")
        matrix = []
        width = None
        for i, row in enumerate(rows):
            entries = _as_list(row, f"{where}.weights[{i}]")
            if width is None:
                width = len(entries)
                if width == 0:
                    raise NetworkFormatError(f"{where}.weights[0]: a row needs at least one weight")
            elif len(entries) != width:
                raise NetworkFormatError(
                    f"{where}.weights[{i}]: expected {width} weights, got {len(entries)}")
            matrix.append(tuple(to_fraction(v, f"{where}.weights[{i}][{j}]")
                                for j, v in enumerate(entries)))
        if bias is None:
            vector = tuple(Fraction(0) for _ in matrix)
        else:
            entries = _as_list(bias, f"{where}.bias")
            if len(entries) != len(matrix):
                raise NetworkFormatError(
                    f"{where}.bias: expected {len(matrix)} entries, got {len(entries)}")
            vector = tuple(to_fraction(v, f"{where}.bias[{i}]") for i, v in enumerate(entries))
        try:
            act = get_activation(activation, **params)
        except PWLError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        return cls(tuple(matrix), vector, act)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "weights": [[format_exact(w) for w in row] for row in self.weights],
            "bias": [format_exact(b) for b in self.bias],
        }
        out.update(self.activation.to_dict())
        return out


def _as_list(value: object, where: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise NetworkFormatError(f"{where}: expected a list, got {value!r:.60}")
    return list(value)


class Network:
    """A ReLU-type network with exact weights, as a graph of nodes.

    Examples
    --------
    >>> tri = Network.sequential([
    ...     ([[2], [4]], [0, -2], "relu"),
    ...     ([[1, -1]], [0], "identity"),
    ... ])
    >>> tri.depth, tri.widths
    (1, (2,))
    >>> tri.evaluate(Fraction(1, 4))
    (Fraction(1, 2),)
    >>> tri.function(domain=(0, 1)).num_pieces
    2
    """

    __slots__ = ("_graph", "_layers")

    def __init__(self, graph: nx.DiGraph):
        """Wrap a graph already validated; use the class methods to build one."""
        self._graph = graph
        self._layers = tuple(graph.nodes[n]["layer"] for n in self._chain())

    # -- construction -------------------------------------------------------
    @classmethod
    def sequential(cls, layers: Iterable[object]) -> "Network":
        """A chain of layers; each a :class:`Layer`, a mapping like the native
        format's layer objects, or a tuple ``(weights, bias, activation)``."""
        built: list[Layer] = []
        for k, spec in enumerate(layers):
            where = f"layers[{k}]"
            if isinstance(spec, Layer):
                built.append(spec)
            elif isinstance(spec, Mapping):
                built.append(_layer_from_mapping(spec, where))
            elif isinstance(spec, (tuple, list)) and 1 <= len(spec) <= 3:
                built.append(Layer.make(*spec, where=where))
            else:
                raise NetworkFormatError(f"{where}: expected a layer, got {spec!r:.60}")
        if not built:
            raise NetworkFormatError("layers: a network needs at least one layer")
        for k in range(1, len(built)):
            if built[k].n_in != built[k - 1].n_out:
                raise NetworkFormatError(
                    f"layers[{k}].weights: rows have {built[k].n_in} weights but "
                    f"layers[{k - 1}] has {built[k - 1].n_out} neurons")
        graph = nx.DiGraph()
        graph.add_node("input", op="input", size=built[0].n_in)
        previous = "input"
        for k, layer in enumerate(built):
            name = f"dense{k}"
            graph.add_node(name, op="dense", layer=layer)
            graph.add_edge(previous, name)
            previous = name
        graph.graph["output"] = previous
        return cls(graph)

    @classmethod
    def from_dict(cls, data: object) -> "Network":
        """A network from the native format (a parsed JSON object)."""
        if not isinstance(data, Mapping):
            raise NetworkFormatError("expected a JSON object with a 'layers' list")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise NetworkFormatError(f"format: expected {FORMAT!r}, got {fmt!r:.60}")
        if "layers" not in data:
            raise NetworkFormatError("missing 'layers'")
        return cls.sequential(_as_list(data["layers"], "layers"))

    def to_dict(self) -> dict[str, Any]:
        """The native format, exact numbers as strings."""
        return {"format": FORMAT, "layers": [layer.to_dict() for layer in self._layers]}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the native JSON file atomically (temporary file, then rename)."""
        from .io.files import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    # -- structure ----------------------------------------------------------
    def _chain(self) -> list[str]:
        order = list(nx.topological_sort(self._graph))
        return [n for n in order if self._graph.nodes[n]["op"] == "dense"]

    @property
    def graph(self) -> nx.DiGraph:
        """The underlying graph (do not modify)."""
        return self._graph

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers in order; the last one is the output layer."""
        return self._layers

    @property
    def depth(self) -> int:
        """Number of hidden layers D."""
        return len(self._layers) - 1

    @property
    def widths(self) -> tuple[int, ...]:
        """Widths n_1..n_D of the hidden layers."""
        return tuple(layer.n_out for layer in self._layers[:-1])

    @property
    def input_size(self) -> int:
        return self._layers[0].n_in

    @property
    def output_size(self) -> int:
        return self._layers[-1].n_out

    def __repr__(self) -> str:
        return (f"Network(depth={self.depth}, widths={list(self.widths)}, "
                f"inputs={self.input_size}, outputs={self.output_size})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and self._layers == other._layers

    def __hash__(self) -> int:
        return hash(self._layers)

    # -- exact evaluation ---------------------------------------------------
    def evaluate(self, x: object) -> tuple[Fraction, ...]:
        """Exact forward pass at one input point (a number, or a sequence of
        ``input_size`` numbers)."""
        if isinstance(x, (list, tuple)):
            h = [to_fraction(v, "x") for v in x]
        else:
            h = [to_fraction(x, "x")]
        if len(h) != self.input_size:
            raise PWLTypeError(f"x: expected {self.input_size} inputs, got {len(h)}")
        for layer in self._layers:
            act = layer.activation
            h = [act(sum((w * v for w, v in zip(row, h)), b))
                 for row, b in zip(layer.weights, layer.bias)]
        return tuple(h)

    # -- the engine ---------------------------------------------------------
    def partition(self, domain: "DomainLike" = None, *, per_layer: bool = False) -> "Partition":
        """The exact partition of the domain (see :func:`pwl.propagate.propagate`)."""
        from .propagate import propagate

        return propagate(self, domain, per_layer=per_layer)

    def function(self, domain: "DomainLike" = None, output: int = 0) -> "PiecewiseLinear":
        """The exact piecewise-linear function computed by output ``output``."""
        return self.partition(domain).function(output)


def _layer_from_mapping(spec: Mapping[str, Any], where: str) -> Layer:
    known = {"weights", "bias", "activation", "alpha", "min", "max", "name"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise NetworkFormatError(f"{where}: unknown key {unknown[0]!r}")
    if "weights" not in spec:
        raise NetworkFormatError(f"{where}: missing 'weights'")
    params = {k: spec[k] for k in ("alpha", "min", "max") if k in spec}
    return Layer.make(spec["weights"], spec.get("bias"), spec.get("activation", "relu"),
                      where=where, **params)


def load(path: str | os.PathLike[str]) -> Network:
    """Read a network file in the native JSON format.

    Numbers are read exactly: JSON decimals as the decimal they spell
    (``0.1`` is 1/10), strings ``"p/q"``.  NaN and infinities are refused.
    Errors name the file and the place in it.
    """
    from .io.native import read_native

    return read_native(Path(path))


