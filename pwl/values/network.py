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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from .activations import Activation, get_activation
from ..errors import NetworkFormatError, PWLError, PWLTypeError, PWLValueError
from .numbers import format_exact, from_float_exact, to_fraction

if TYPE_CHECKING:
    import networkx as nx


__all__ = ["Layer", "Node", "Network", "FORMAT", "OPS"]

#: The ``"format"`` tag of the native network file.
FORMAT = "pwl-network/1"


class _Memo:
    """What the engine derives once per network, so that counting the same
    network again does not repeat it: private to the engine (each field is
    written by one module), dropped by :meth:`Network.forget`.  A network's
    meaning never depends on it."""

    __slots__ = ("plan", "after", "bottlenecks", "certified", "exact_chain", "big_numbers")

    def __init__(self) -> None:
        #: pwl.engine.plans: each node's integer affine map and activation
        self.plan: Optional[list[Any]] = None
        #: pwl.engine.propagate: the nonlinear nodes after each node
        self.after: Optional[list[int]] = None
        #: pwl.engine.compose: the rank-1 layers
        self.bottlenecks: Optional[list[int]] = None
        #: pwl.engine.certified: each layer's floats and norms (kept with the
        #: layers) and the growth of the layers after it
        self.certified: Optional[list[Any]] = None
        #: pwl.engine.certified: the exact chain for local escalation
        self.exact_chain: Optional[Any] = None
        #: pwl.counting: whether the weights have large denominators
        self.big_numbers: Optional[bool] = None


class Layer:
    """One affine map followed by an activation, with exact entries.

    Build it with :meth:`Layer.make`, which validates, or with
    :meth:`Layer.from_floats` for float64 arrays taken at their exact binary
    value; the plain constructor trusts its arguments.  A layer built from
    floats keeps its arrays, and makes its Fractions only when asked for
    them: the certified route and the exact escalation read the arrays.
    """

    __slots__ = ("_weights", "_bias", "activation", "_w", "_b", "_approx", "_exact", "_derived")

    def __init__(self, weights: tuple[tuple[Fraction, ...], ...], bias: tuple[Fraction, ...],
                 activation: Activation):
        self._weights: Optional[tuple[tuple[Fraction, ...], ...]] = weights
        self._bias: Optional[tuple[Fraction, ...]] = bias
        self.activation = activation
        self._w: Optional[np.ndarray] = None
        self._b: Optional[np.ndarray] = None
        self._approx: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = None
        self._exact: Optional[Callable[[], tuple[tuple[tuple[Fraction, ...], ...],
                                                 tuple[Fraction, ...]]]] = None
        #: what the engine derives from the layer alone, kept with it so that
        #: every network holding it (the lines through one model) shares it:
        #: "certified" (pwl.engine.certified: floats, norms, spectral
        #: bound), "rank1" (pwl.engine.compose: a rank-one factorisation or
        #: None), "dyadic" (pwl.engine.escalate: the entries as integers
        #: over powers of two), "row_split" (pwl.engine.line: the rows split
        #: for exact products); dropped by :meth:`Network.forget`
        self._derived: dict[str, Any] = {}

    @classmethod
    def _deferred(cls, approx: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                  exact: Callable[[], tuple[tuple[tuple[Fraction, ...], ...],
                                            tuple[Fraction, ...]]],
                  activation: Activation) -> "Layer":
        """A layer whose exact entries ``exact()`` computes when first asked
        for; meanwhile ``approx = (W, |W - W~| bound, b, |b - b~| bound)``
        (floats with rigorous error bounds) serves the certified route."""
        layer = cls(None, None, activation)  # type: ignore[arg-type]
        layer._approx, layer._exact = approx, exact
        return layer

    @property
    def approx(self) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``(W~, eW, b~, eb)``: floats within ``eW``, ``eb`` of the exact
        entries, for a layer whose exact entries are deferred; else None."""
        return self._approx

    def _materialise(self) -> None:
        assert self._exact is not None
        self._weights, self._bias = self._exact()

    @classmethod
    def from_floats(cls, weights: object, bias: object = None, activation: object = "relu",
                    where: str = "layer", names: Optional[tuple[str, str]] = None,
                    **params: object) -> "Layer":
        """A layer from float arrays, each float taken at its exact binary
        value (``0.1`` is 3602879701896397/2^55, not 1/10).

        >>> layer = Layer.from_floats(np.array([[0.5], [-2.0]]), np.array([0.25, 0.0]))
        >>> layer.weights, layer.bias
        (((Fraction(1, 2),), (Fraction(-2, 1),)), (Fraction(1, 4), Fraction(0, 1)))
        """
        w = np.array(weights, dtype=np.float64)
        if w.ndim != 2 or 0 in w.shape:
            raise NetworkFormatError(f"{where}.weights: expected a non-empty 2-D array, "
                                     f"got shape {w.shape}")
        b = np.zeros(w.shape[0]) if bias is None else np.array(bias, dtype=np.float64)
        if b.shape != (w.shape[0],):
            raise NetworkFormatError(f"{where}.bias: expected shape ({w.shape[0]},), "
                                     f"got {b.shape}")
        wname, bname = names or (f"{where}.weights", f"{where}.bias")
        for name, arr in ((wname, w), (bname, b)):
            bad = ~np.isfinite(arr)
            if bad.any():
                index = tuple(int(i) for i in np.argwhere(bad)[0])
                raise PWLValueError(f"{name}[{', '.join(map(str, index))}]: "
                                    f"{float(arr[index])!r} is not a finite number")
        try:
            act = get_activation(activation, **params)
        except PWLError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        layer = cls(None, None, act)  # type: ignore[arg-type]
        w.setflags(write=False)
        b.setflags(write=False)
        layer._w, layer._b = w, b
        return layer

    @property
    def weights(self) -> tuple[tuple[Fraction, ...], ...]:
        if self._weights is None:
            if self._exact is not None:
                self._materialise()
            else:
                assert self._w is not None
                self._weights = tuple(tuple(map(Fraction, row)) for row in self._w.tolist())
        assert self._weights is not None
        return self._weights

    @property
    def bias(self) -> tuple[Fraction, ...]:
        if self._bias is None:
            if self._exact is not None:
                self._materialise()
            else:
                assert self._b is not None
                self._bias = tuple(map(Fraction, self._b.tolist()))
        assert self._bias is not None
        return self._bias

    @property
    def floats(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """``(W, b)`` as float64 arrays whose values are the layer's exact
        entries, for a layer built from floats; None otherwise."""
        return None if self._w is None else (self._w, self._b)  # type: ignore[return-value]

    @property
    def n_in(self) -> int:
        if self._approx is not None:
            return int(self._approx[0].shape[1])
        return int(self._w.shape[1]) if self._w is not None else len(self.weights[0])

    @property
    def n_out(self) -> int:
        if self._approx is not None:
            return int(self._approx[0].shape[0])
        return int(self._w.shape[0]) if self._w is not None else len(self.weights)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        if self.activation != other.activation or self.n_out != other.n_out \
                or self.n_in != other.n_in:
            return False
        if self._w is not None and other._w is not None:
            return bool(np.array_equal(self._w, other._w)
                        and np.array_equal(self._b, other._b))  # type: ignore[arg-type]
        return self.weights == other.weights and self.bias == other.bias

    def __hash__(self) -> int:
        # equal layers have equal shapes and activations (their entries may
        # be held as floats on one side and Fractions on the other)
        return hash((self.n_out, self.n_in, self.activation))

    def __repr__(self) -> str:
        return f"Layer(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation.name!r})"

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
            matrix.append(tuple(_number(v, f"{where}.weights[{i}][{j}]")
                                for j, v in enumerate(entries)))
        if bias is None:
            vector = tuple(Fraction(0) for _ in matrix)
        else:
            entries = _as_list(bias, f"{where}.bias")
            if len(entries) != len(matrix):
                raise NetworkFormatError(
                    f"{where}.bias: expected {len(matrix)} entries, got {len(entries)}")
            vector = tuple(_number(v, f"{where}.bias[{i}]") for i, v in enumerate(entries))
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


def _number(value: object, where: str) -> Fraction:
    """A weight: an exact number, or a :class:`NetworkFormatError` saying where."""
    try:
        return to_fraction(value, where)
    except PWLTypeError:
        raise
    except PWLValueError as exc:
        raise NetworkFormatError(str(exc)) from None


def _as_list(value: object, where: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise NetworkFormatError(f"{where}: expected a list, got {value!r:.60}")
    return list(value)


#: Node kinds of the graph.  ``dense`` is an affine map and an activation;
#: ``activation`` applies one elementwise; ``add`` sums its inputs (residual
#: connections); ``concat`` stacks them; ``max`` takes their elementwise
#: maximum; ``maxgroup`` takes the maximum over groups of its input's
#: entries (maxout, 1-D max pooling).
OPS = ("input", "dense", "activation", "add", "concat", "max", "maxgroup")


@dataclass(frozen=True)
class Node:
    """One node of a network graph, validated by :meth:`Network.from_nodes`."""

    name: str
    op: str
    inputs: tuple[str, ...]
    size: int
    layer: Optional[Layer] = None
    activation: Optional[Activation] = None
    groups: tuple[tuple[int, ...], ...] = ()

    @property
    def is_nonlinear(self) -> bool:
        if self.op == "dense":
            assert self.layer is not None
            return bool(self.layer.activation.kinks)
        if self.op == "activation":
            assert self.activation is not None
            return bool(self.activation.kinks)
        return self.op in ("max", "maxgroup")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "op": self.op}
        if self.op == "input":
            out["size"] = self.size
        else:
            out["inputs"] = list(self.inputs)
        if self.layer is not None:
            out.update(self.layer.to_dict())
        if self.activation is not None:
            out.update(self.activation.to_dict())
        if self.groups:
            out["groups"] = [list(g) for g in self.groups]
        return out


class Network:
    """A ReLU-type network with exact weights, as a graph of nodes.

    Chains of layers come from :meth:`sequential`; graphs with residual
    additions, maxima and concatenations from :meth:`from_nodes`.

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
    >>> from pwl import function_of
    >>> function_of(tri, domain=(0, 1)).num_pieces
    2
    """

    __slots__ = ("_nodes", "_output", "_layers", "_graph", "_memo")

    def __init__(self, nodes: Sequence[Node], output: str):
        """Wrap nodes already validated, in topological order; use the class
        methods to build a network."""
        self._nodes = tuple(nodes)
        self._output = output
        self._graph: Optional[nx.DiGraph] = None
        self._memo = _Memo()
        chain = [n for n in self._nodes if n.op == "dense"]
        is_chain = (len(self._nodes) == len(chain) + 1 and self._nodes[0].op == "input"
                    and all(n.inputs == (p.name,) for p, n in zip(self._nodes, self._nodes[1:])))
        self._layers: Optional[tuple[Layer, ...]] = (
            tuple(n.layer for n in chain if n.layer is not None) if is_chain else None)

    def forget(self) -> None:
        """Drop what the engine derived from this network (integer plans,
        float norms, exact chains), as if it were new; the next count
        computes them again (the benchmarks time that).  What the engine
        keeps with the layers themselves, shared by the networks holding
        them, is dropped too."""
        self._memo = _Memo()
        for node in self._nodes:
            if node.layer is not None:
                node.layer._derived.clear()

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
                weights, bias, act = list(spec) + [None, None, "relu"][len(spec):]
                built.append(Layer.make(weights, bias, act, where=where))
            else:
                raise NetworkFormatError(f"{where}: expected a layer, got {spec!r:.60}")
        if not built:
            raise NetworkFormatError("layers: a network needs at least one layer")
        for k in range(1, len(built)):
            if built[k].n_in != built[k - 1].n_out:
                raise NetworkFormatError(
                    f"layers[{k}].weights: rows have {built[k].n_in} weights but "
                    f"layers[{k - 1}] has {built[k - 1].n_out} neurons")
        nodes = [Node("input", "input", (), built[0].n_in)]
        for k, layer in enumerate(built):
            nodes.append(Node(f"dense{k}", "dense", (nodes[-1].name,), layer.n_out, layer=layer))
        return cls(nodes, nodes[-1].name)

    @classmethod
    def from_arrays(cls, weights: Sequence[object], biases: Optional[Sequence[object]] = None,
                    activations: Optional[Sequence[object]] = None) -> "Network":
        """A chain from numpy float arrays, as researchers hold their weights:
        ``weights[k]`` of shape ``(n_k, n_{k-1})``, ``biases[k]`` of length
        ``n_k`` (default zeros); ``activations`` default to relu on the
        hidden layers and identity on the output layer.

        Every float is taken at its exact binary value (``0.1`` is the double
        nearest 1/10, exactly 3602879701896397/2^55): pwl analyses the
        network the arrays hold.  For exact decimals, pass strings to
        :meth:`sequential` instead.

        >>> import numpy as np
        >>> net = Network.from_arrays([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
        >>> from pwl import function_of
        >>> function_of(net).num_pieces
        2
        """
        ws = list(weights)
        if not ws:
            raise NetworkFormatError("weights: a network needs at least one layer")
        bs = [None] * len(ws) if biases is None else list(biases)
        if len(bs) != len(ws):
            raise NetworkFormatError(f"biases: expected {len(ws)} arrays (one per layer), "
                                     f"got {len(bs)}")
        acts = (["relu"] * (len(ws) - 1) + ["identity"]) if activations is None \
            else list(activations)
        if len(acts) != len(ws):
            raise NetworkFormatError(f"activations: expected {len(ws)} (one per layer), "
                                     f"got {len(acts)}")
        layers = [Layer.from_floats(w, b, a, where=f"layers[{k}]")
                  for k, (w, b, a) in enumerate(zip(ws, bs, acts))]
        return cls.sequential(layers)

    @classmethod
    def from_nodes(cls, nodes: Iterable[object], output: Optional[str] = None) -> "Network":
        """A network graph from node descriptions (the native format's
        ``"nodes"`` objects), in any order; ``output`` defaults to the last.

        >>> net = Network.from_nodes([
        ...     {"name": "x", "op": "input", "size": 1},
        ...     {"name": "h", "op": "dense", "inputs": ["x"], "weights": [[1], [-1]],
        ...      "bias": [0, 0], "activation": "identity"},
        ...     {"name": "y", "op": "maxgroup", "inputs": ["h"], "groups": [[0, 1]]}])
        >>> from pwl import function_of
        >>> net.evaluate(-3), function_of(net).num_pieces
        ((Fraction(3, 1),), 2)
        """
        specs = _as_list(nodes, "nodes")
        if not specs:
            raise NetworkFormatError("nodes: a network needs at least one node")
        by_name: dict[str, Mapping[str, Any]] = {}
        for k, spec in enumerate(specs):
            where = f"nodes[{k}]"
            if not isinstance(spec, Mapping):
                raise NetworkFormatError(f"{where}: expected an object, got {spec!r:.60}")
            name = spec.get("name")
            if not isinstance(name, str) or not name:
                raise NetworkFormatError(f"{where}: missing 'name'")
            if name in by_name:
                raise NetworkFormatError(f"{where}: duplicate node name {name!r}")
            by_name[name] = spec
        out_name = output if output is not None else specs[-1]["name"]
        if out_name not in by_name:
            raise NetworkFormatError(f"output: no node named {out_name!r}")
        import networkx as nx   # imported here: it costs a tenth of a second at start-up

        graph = nx.DiGraph()
        for name, spec in by_name.items():
            graph.add_node(name)
            inputs = spec.get("inputs", [])
            for src in _as_list(inputs, f"node {name!r}.inputs"):
                if not isinstance(src, str):
                    raise NetworkFormatError(f"node {name!r}.inputs: expected node names, "
                                             f"got {src!r:.40}")
                if src not in by_name:
                    raise NetworkFormatError(f"node {name!r}: unknown input {src!r}")
                graph.add_edge(src, name)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = nx.find_cycle(graph)
            raise NetworkFormatError(f"nodes: the graph has a cycle through {cycle[0][0]!r}")
        needed = nx.ancestors(graph, out_name) | {out_name}
        order = [n for n in nx.topological_sort(graph) if n in needed]
        built: dict[str, Node] = {}
        for name in order:
            built[name] = _node_from_mapping(by_name[name], built)
        inputs = [n for n in built.values() if n.op == "input"]
        if len(inputs) != 1:
            raise NetworkFormatError(f"nodes: expected one input node, found {len(inputs)}")
        if built[out_name].op == "input":
            raise NetworkFormatError("nodes: the output is the input node; a network needs "
                                     "at least one node after its input")
        return cls([built[n] for n in order], out_name)

    @classmethod
    def from_dict(cls, data: object) -> "Network":
        """A network from the native format (a parsed JSON object)."""
        if not isinstance(data, Mapping):
            raise NetworkFormatError("expected a JSON object with a 'layers' list")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise NetworkFormatError(f"format: expected {FORMAT!r}, got {fmt!r:.60}")
        if "nodes" in data:
            output = data.get("output")
            if output is not None and not isinstance(output, str):
                raise NetworkFormatError("output: expected a node name")
            return cls.from_nodes(_as_list(data["nodes"], "nodes"), output)
        if "layers" not in data:
            raise NetworkFormatError("missing 'layers' (or 'nodes')")
        return cls.sequential(_as_list(data["layers"], "layers"))

    def to_dict(self) -> dict[str, Any]:
        """The native format, exact numbers as strings."""
        if self._layers is not None:
            return {"format": FORMAT, "layers": [layer.to_dict() for layer in self._layers]}
        return {"format": FORMAT, "nodes": [n.to_dict() for n in self._nodes],
                "output": self._output}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the native JSON file atomically (temporary file, then rename)."""
        from ..io.files import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    # -- structure ----------------------------------------------------------
    @property
    def graph(self) -> nx.DiGraph:
        """The network as a networkx graph; each node's ``"node"`` attribute
        is its :class:`Node` (do not modify)."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph(output=self._output)
            for node in self._nodes:
                graph.add_node(node.name, node=node, op=node.op)
                for src in node.inputs:
                    graph.add_edge(src, node.name)
            self._graph = graph
        return self._graph

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes in topological order; the last is the output."""
        return self._nodes

    @property
    def is_chain(self) -> bool:
        """True for a plain chain of layers."""
        return self._layers is not None

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers in order (chains only); the last one is the output layer."""
        if self._layers is None:
            raise PWLValueError("this network is a graph, not a chain of layers")
        return self._layers

    def _hidden(self) -> list[Node]:
        return [n for n in self._nodes[:-1] if n.is_nonlinear]

    @property
    def depth(self) -> int:
        """Number of hidden layers D (for a graph: of nonlinear nodes before the output)."""
        if self._layers is not None:
            return len(self._layers) - 1
        return len(self._hidden())

    @property
    def widths(self) -> tuple[int, ...]:
        """Widths n_1..n_D of the hidden layers (for a graph: of its hidden
        nonlinear nodes, in topological order)."""
        if self._layers is not None:
            return tuple(layer.n_out for layer in self._layers[:-1])
        return tuple(n.size for n in self._hidden())

    @property
    def input_size(self) -> int:
        return self._nodes[0].size

    @property
    def output_size(self) -> int:
        return self._nodes[-1].size

    def __repr__(self) -> str:
        kind = "" if self.is_chain else f"graph of {len(self._nodes)} nodes, "
        return (f"Network({kind}depth={self.depth}, widths={list(self.widths)}, "
                f"inputs={self.input_size}, outputs={self.output_size})")

    def __eq__(self, other: object) -> bool:
        """Chains are equal when their layers are; graphs when their nodes
        (names included) and output are."""
        if not isinstance(other, Network):
            return NotImplemented
        if self._layers is not None or other._layers is not None:
            return self._layers == other._layers
        return self._nodes == other._nodes and self._output == other._output

    def __hash__(self) -> int:
        if self._layers is not None:
            return hash(self._layers)
        return hash((self._nodes, self._output))

    # -- exact evaluation ---------------------------------------------------
    def evaluate(self, x: object) -> tuple[Fraction, ...]:
        """Exact forward pass at one input point: a number, a sequence of
        ``input_size`` exact numbers, or a numpy array of ``input_size``
        floats, taken at their exact binary value (as
        :meth:`from_arrays` takes weights).

        >>> import numpy as np
        >>> net = Network.sequential([([[1, -1]], [0], "relu")])
        >>> net.evaluate(["1/2", 0]), net.evaluate(np.array([0.75, 0.5]))
        ((Fraction(1, 2),), (Fraction(1, 4),))
        """
        if isinstance(x, np.ndarray):
            flat = x.reshape(-1)
            if flat.dtype.kind not in "fiu":
                raise PWLTypeError(f"x: an array of {flat.dtype} values; give floats or integers")
            h = [from_float_exact(float(v), f"x[{i}]") if flat.dtype.kind == "f"
                 else Fraction(int(v)) for i, v in enumerate(flat.tolist())]
        elif isinstance(x, (list, tuple)):
            h = [to_fraction(v, "x") for v in x]
        else:
            h = [to_fraction(x, "x")]
        if len(h) != self.input_size:
            raise PWLTypeError(f"x: expected {self.input_size} inputs, got {len(h)}")
        values: dict[str, list[Fraction]] = {}
        for node in self._nodes:
            ins = [values[name] for name in node.inputs]
            if node.op == "input":
                out = h
            elif node.op == "dense":
                layer = node.layer
                assert layer is not None
                act = layer.activation
                out = [act(sum((w * v for w, v in zip(row, ins[0])), b))
                       for row, b in zip(layer.weights, layer.bias)]
            elif node.op == "activation":
                assert node.activation is not None
                out = [node.activation(v) for v in ins[0]]
            elif node.op == "add":
                out = [sum(col, Fraction(0)) for col in zip(*ins)]
            elif node.op == "concat":
                out = [v for part in ins for v in part]
            elif node.op == "max":
                out = [max(col) for col in zip(*ins)]
            else:  # maxgroup
                out = [max(ins[0][i] for i in group) for group in node.groups]
            values[node.name] = out
        return tuple(values[self._output])


def _node_from_mapping(spec: Mapping[str, Any], built: Mapping[str, Node]) -> Node:
    """Validate one node description against the nodes it reads."""
    name = spec["name"]
    where = f"node {name!r}"
    op = spec.get("op", "dense")
    if op not in OPS:
        raise NetworkFormatError(f"{where}: unknown op {op!r:.40} (known: {', '.join(OPS)})")
    if op == "input":
        size = spec.get("size", 1)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise NetworkFormatError(f"{where}: size must be a positive integer")
        return Node(name, "input", (), size)
    inputs = tuple(_as_list(spec.get("inputs"), f"{where}.inputs"))
    sizes = [built[i].size for i in inputs]
    single = op in ("dense", "activation", "maxgroup")
    if single and len(inputs) != 1:
        raise NetworkFormatError(f"{where}: {op} takes one input, got {len(inputs)}")
    if not single and len(inputs) < 1:
        raise NetworkFormatError(f"{where}: {op} needs at least one input")
    if op == "dense":
        layer = _layer_from_mapping({k: v for k, v in spec.items()
                                     if k not in ("op", "inputs")}, where)
        if layer.n_in != sizes[0]:
            raise NetworkFormatError(f"{where}.weights: rows have {layer.n_in} weights but "
                                     f"input {inputs[0]!r} has {sizes[0]} entries")
        return Node(name, op, inputs, layer.n_out, layer=layer)
    if op == "activation":
        params = {k: spec[k] for k in ("alpha", "min", "max") if k in spec}
        try:
            act = get_activation(spec.get("activation", "relu"), **params)
        except PWLError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        return Node(name, op, inputs, sizes[0], activation=act)
    if op in ("add", "max"):
        if len(set(sizes)) != 1:
            raise NetworkFormatError(f"{where}: inputs have different sizes {sizes}")
        return Node(name, op, inputs, sizes[0])
    if op == "concat":
        return Node(name, op, inputs, sum(sizes))
    groups = []
    for g, group in enumerate(_as_list(spec.get("groups"), f"{where}.groups")):
        idx = _as_list(group, f"{where}.groups[{g}]")
        if not idx or any(isinstance(i, bool) or not isinstance(i, int)
                          or not 0 <= i < sizes[0] for i in idx):
            raise NetworkFormatError(f"{where}.groups[{g}]: expected indices in 0..{sizes[0] - 1}")
        groups.append(tuple(idx))
    if not groups:
        raise NetworkFormatError(f"{where}.groups: at least one group is needed")
    return Node(name, op, inputs, len(groups), groups=tuple(groups))


def _layer_from_mapping(spec: Mapping[str, Any], where: str) -> Layer:
    known = {"weights", "bias", "activation", "alpha", "min", "max", "name", "op", "inputs"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise NetworkFormatError(f"{where}: unknown key {unknown[0]!r}")
    if "weights" not in spec:
        raise NetworkFormatError(f"{where}: missing 'weights'")
    params = {k: spec[k] for k in ("alpha", "min", "max") if k in spec}
    return Layer.make(spec["weights"], spec.get("bias"), spec.get("activation", "relu"),
                      where=where, **params)
