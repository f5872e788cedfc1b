"""A vision network expanded into pwl's dense :class:`~pwl.values.network.Network`.

Every convolution, pooling and batch normalisation becomes a matrix (a
``dense`` node), a max pooling a ``maxgroup`` node over the same windows in
the same order, an activation an ``activation`` node, a residual addition
an ``add`` node.  The matrices are ``C_out H_out W_out`` by ``C_in H_in W_in``:
fine for small networks, hopeless at ResNet size; this is the independent
exact reference the vision engine is tested against
(:func:`pwl.engine.line.restrict_to_line`, then :func:`pwl.count`).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..values.activations import get_activation
from ..errors import ResourceLimitError
from ..values.network import Layer, Network, Node
from .model import VisionNetwork, conv_index, pool_groups

__all__ = ["to_dense"]

#: Expansion is refused past this many matrix entries.
MAX_ENTRIES = 4_000_000


def to_dense(net: VisionNetwork) -> Network:
    """The same function as a pwl :class:`~pwl.values.network.Network` on the
    flattened input (row-major ``C, H, W``).

    >>> vnet = VisionNetwork.build((1, 3), [
    ...     {"kind": "conv", "weight": np.array([[[1.0, -1.0]]])},
    ...     {"kind": "activation"}, {"kind": "flatten"},
    ...     {"kind": "linear", "weight": np.array([[1.0, 2.0]])}])
    >>> to_dense(vnet).evaluate([1, 0, 2]) == vnet.evaluate([1, 0, 2])
    True
    """
    nodes: list[Node] = [Node("input", "input", (), net.input_size)]
    alias: dict[str, str] = {"input": "input"}
    identity = get_activation("identity")
    for k, op in enumerate(net.ops[1:], start=1):
        ins = tuple(alias[i] for i in op.inputs)
        src = net.op(op.inputs[0]) if op.inputs else None
        if op.kind == "flatten":
            alias[op.name] = ins[0]
            continue
        alias[op.name] = op.name
        if op.kind in ("conv", "linear"):
            assert src is not None
            if op.size * src.size > MAX_ENTRIES:
                raise ResourceLimitError(f"op {op.name!r}: a {op.size} x {src.size} matrix is "
                                         "too large to expand; use the vision engine")
            w = op.params["weight"]
            b = op.params["bias"]
            if op.kind == "linear":
                matrix = np.array(w, dtype=np.float64)
                bias = np.zeros(op.size) if b is None else np.array(b)
            else:
                index = conv_index(op, src.shape)
                groups, kk, positions = index.shape
                cout = w.shape[0] // groups
                matrix = np.zeros((op.size, src.size + 1))
                for g in range(groups):
                    for o in range(cout):
                        oc = g * cout + o
                        rows = oc * positions + np.arange(positions)
                        for j, wv in enumerate(w[oc].reshape(-1)):
                            np.add.at(matrix, (rows, index[g, j]), wv)   # exact: one term each
                matrix = matrix[:, :-1]
                bias = np.zeros(op.size) if b is None else np.repeat(np.array(b), positions)
            layer = Layer.from_floats(matrix, bias, identity, where=f"op {op.name!r}")
            nodes.append(Node(op.name, "dense", ins, op.size, layer=layer))
        elif op.kind == "channel_affine":
            c, h, w_ = op.shape
            n = op.size
            scale = [Fraction(float(s)) for s in op.params["scale"]]
            shift = [Fraction(float(bb)) - s * Fraction(float(m))
                     for s, m, bb in zip(scale, op.params["mean"], op.params["beta"])]
            zero = Fraction(0)
            weights = tuple(tuple(scale[i // (h * w_)] if j == i else zero for j in range(n))
                            for i in range(n))
            bias_ = tuple(shift[i // (h * w_)] for i in range(n))
            nodes.append(Node(op.name, "dense", ins, n, layer=Layer(weights, bias_, identity)))
        elif op.kind == "avgpool":
            assert src is not None
            groups_, divisor = pool_groups(op, src.shape)
            zero = Fraction(0)
            rows_ = []
            for g, d in zip(groups_.tolist(), divisor.tolist()):
                row = [zero] * src.size
                for i in g:
                    if i >= 0:
                        row[i] = Fraction(1, d)
                rows_.append(tuple(row))
            layer = Layer(tuple(rows_), tuple([zero] * op.size), identity)
            nodes.append(Node(op.name, "dense", ins, op.size, layer=layer))
        elif op.kind == "maxpool":
            assert src is not None
            groups_, _ = pool_groups(op, src.shape)
            groups = tuple(tuple(i for i in g if i >= 0) for g in groups_.tolist())
            nodes.append(Node(op.name, "maxgroup", ins, op.size, groups=groups))
        elif op.kind == "activation":
            nodes.append(Node(op.name, "activation", ins, op.size,
                              activation=op.params["activation"]))
        else:   # add
            nodes.append(Node(op.name, "add", ins, op.size))
    out = alias[net.output]
    if out == "input" or nodes[-1].name != out:
        size = net.output_size
        eye = np.eye(size)
        source = out
        nodes.append(Node("output", "dense", (source,), size,
                          layer=Layer.from_floats(eye, np.zeros(size), identity)))
        out = "output"
    return Network(nodes, out)
