"""The hot path: push a domain through a network, exactly, region by region
in bulk.

State between layers (all integers, no Python object per region):

* the cut points ``cn / cd`` (``cd > 0``, reduced, strictly increasing),
  which split the domain into ``R = len(cn) + 1`` regions;
* on region ``r``, neuron ``i`` of the current layer is the affine form
  ``(ha[i, r] * x + hc[i, r]) / den`` with one common positive denominator
  ``den`` per layer.  Rows are neurons and columns regions, so every
  elementwise operation runs along the long axis: with a few neurons and a
  million regions, region-major arrays would make numpy loop over rows of
  two or three entries, several times slower.

Magnitude bounds are carried with the forms and the cuts (``_Forms.bound``,
``_State.bound``), so the int64 routes are chosen without a pass over the
arrays; a bound too loose to choose the fast route is recomputed exactly
before a slower one is taken.

Forms are computed from the weights alone, so their size is bounded by the
weights, whatever the cut points are; a cut point is the ratio of two form
entries and never feeds back into a form.

For a layer ``z = W h + b`` (scaled to integers ``W = A / s``, ``b = B / s``)
followed by an activation with kinks ``t_j``, a neuron's activation piece
can change inside region ``r`` only where ``z_i = t_j``; because ``z_i`` is
affine there, that happens strictly inside the region exactly when the sign
of ``z_i - t_j`` at the left end is the opposite of the sign at the right end.
Those signs are taken at the cut points, where ``z`` is continuous, so one
sign per cut serves both neighbouring regions.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from ..values.domain import DomainLike, as_domain
from ..errors import PWLValueError
from .exact import is_object, to_object
from ..values.network import Network
from ..values.partition import LayerStats, Partition
from .forms import _Forms, _activate, _affine, _common, _initial_state, _sum, _where
from .plans import _RELU, IntAct, IntAffine, compiled_plan
from .refine import Limit, RegionLimit, _refine

if TYPE_CHECKING:
    from ..values.function import PiecewiseLinear

__all__ = ["propagate", "function_of", "forms_at", "RegionLimit", "Limit", "IntAffine", "IntAct"]

def _kappas(ha: np.ndarray, hc: np.ndarray) -> np.ndarray:
    """Pieces of each row's function: 1 + number of cuts where its form changes."""
    if ha.shape[1] <= 1:
        return np.ones(ha.shape[0], dtype=np.int64)
    change = (ha[:, 1:] != ha[:, :-1]) | (hc[:, 1:] != hc[:, :-1])
    return 1 + change.sum(axis=1).astype(np.int64)


def _stats(index: int, z: _Forms, after: _Forms, regions: int) -> LayerStats:
    return LayerStats(
        index=index,
        width=z.a.shape[0],
        regions=regions,
        kappa_pre=tuple(int(k) for k in _kappas(z.a, z.c)),
        kappa_post=tuple(int(k) for k in _kappas(after.a, after.c)),
    )


def propagate(net: Network, domain: DomainLike = None, *, per_layer: bool = False,
              progress: Optional[Callable[[int, int], None]] = None,
              max_regions: Optional[int] = None) -> Partition:
    """Exact partition of ``domain`` (default: the whole line) by ``net``.

    Parameters
    ----------
    net : Network
        A network with one input.
    domain : (lo, hi) or None
        A closed interval with exact ends, or ``None`` for the real line.
    per_layer : bool
        Also record, for each layer, the regions so far and the number of
        pieces of each neuron before and after its activation.
    progress : callable, optional
        Called as ``progress(layer_index, regions)`` after each layer.
    max_regions : int, optional
        Raise :class:`RegionLimit` (with exact split points) instead of
        building a partition with more regions than this.  The output
        layer's own kinks (at most ``m`` per output and region) may exceed it
        when the hidden partition has a single region to split.

    Returns
    -------
    Partition

    Examples
    --------
    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, -1]], [0], "identity")])
    >>> p = propagate(net)
    >>> p.activation_regions, p.pieces()
    (2, 1)
    """
    dom = as_domain(domain)
    limit = None if max_regions is None else Limit(max_regions, max_regions)
    return _propagate(net, dom, per_layer, progress, limit)


def function_of(net: Network, domain: DomainLike = None, output: int = 0) -> PiecewiseLinear:
    """The exact piecewise-linear function computed by output ``output`` of
    ``net`` on ``domain`` (default: the whole line), collinear neighbours
    merged.

    >>> from pwl.theory.constructions import telgarsky
    >>> function_of(telgarsky(3), (0, 1)).num_pieces
    8
    """
    return propagate(net, domain).function(output)


def forms_at(net: Network, points: Sequence[Fraction]) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact affine forms of every output on the activation regions that
    contain ``points`` (each strictly inside its region), for a chain
    network: integer arrays ``a``, ``c`` (outputs x points) and a common
    denominator ``den``, so that output ``k`` is ``(a[k, p] x + c[k, p]) / den``
    around point ``p``.  Each neuron's piece is read off its value at the
    point, with no partition built: one pass for any number of points."""
    if not net.is_chain:
        raise PWLValueError("forms_at needs a chain network")
    plan = compiled_plan(net)
    pn = np.array([p.numerator for p in points], dtype=object)
    pd = np.array([p.denominator for p in points], dtype=object)
    h = _Forms(np.ones((1, len(points)), dtype=object), np.zeros((1, len(points)), dtype=object), 1)
    for aff, act in plan[1:]:
        assert aff is not None and act is not None
        z = _affine(_Forms(to_object(h.a), to_object(h.c), h.den), aff)
        za, zc = to_object(z.a), to_object(z.c)
        piece = np.zeros(za.shape, dtype=np.intp)
        for tn in act.kink_num:
            # the sign of z - t_j at the point, over zden * kink_den * pd > 0
            value = za * act.kink_den * pn + (zc * act.kink_den - tn * z.den) * pd
            piece += value > 0
        pieces = piece.astype(bool) if len(act.kink_num) == 1 else piece
        h = _activate(_Forms(za, zc, z.den), pieces, act)
    return h.a, h.c, h.den


def _propagate(net: Network, dom: object, per_layer: bool = False,
               progress: Optional[Callable[[int, int], None]] = None,
               limit: Optional[Limit] = None) -> Partition:
    """:func:`propagate` on a checked domain; internally a domain may also be
    a half-line ``(None, hi)`` or ``(lo, None)``, as chunks of the line are.

    Nodes run in topological order.  Every live node's forms are kept on the
    current partition; when a nonlinearity cuts regions, all of them are
    repeated onto the new regions, and a node's forms are dropped once its
    last reader has run.
    """
    if net.input_size != 1:
        raise PWLValueError(
            f"the network has {net.input_size} inputs; pwl analyses one input "
            "(restrict it to a line through its input space: pwl count --line A B)")
    state = _initial_state(dom)  # type: ignore[arg-type]
    stats: Optional[list[LayerStats]] = [] if per_layer else None
    nodes = net.nodes
    readers: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            readers[name] = readers.get(name, 0) + 1
    # nonlinear nodes after each node: sizes chunk splits; 0 marks the output
    after = net._memo.after
    if after is None:
        flags = [n.is_nonlinear for n in nodes]
        after = net._memo.after = [sum(flags[k + 1:]) for k in range(len(nodes))]
    live: dict[str, _Forms] = {}
    hidden_regions = 1

    def refine(z: _Forms, act: IntAct, index: int, carry: Sequence[_Forms] = (),
               relu: bool = False) -> tuple[_Forms, np.ndarray, list[_Forms], bool]:
        """Cut the partition where ``z`` crosses ``act``'s kinks; bring ``z``,
        ``carry`` and every live node onto the new regions; return ``z`` and
        ``carry`` there, the activation pieces, and whether ``z`` came back
        with the relu already applied (only if ``relu`` allows it)."""
        nonlocal state
        state, source, pieces, taken = _refine(state, z, act, index, limit, after[index],
                                               index == len(nodes) - 1, relu)
        carried = list(carry)
        if source is not None:
            z = z.take(source) if taken is None else taken
            carried = [f.take(source) for f in carried]
            for key in list(live):
                live[key] = live[key].take(source)
        return z, pieces, carried, relu and taken is not None

    def max2(a: _Forms, b: _Forms, index: int) -> _Forms:
        """Elementwise ``max(a, b) = b + relu(a - b)``: one relu kink on ``a - b``."""
        a, b = _common([a, b])
        diff = _Forms(_sum(a.a, b.a, -1), _sum(a.c, b.c, -1), a.den)
        _, on, (a, b), _ = refine(diff, _RELU, index, (a, b))
        return _Forms(_where(on, a.a, b.a), _where(on, a.c, b.c), a.den)

    plan = compiled_plan(net)
    for index, node in enumerate(nodes):
        if index == len(nodes) - 1:
            hidden_regions = state.regions
        ins = [live[name] for name in node.inputs]
        for name in node.inputs:
            readers[name] -= 1
            if readers[name] == 0:
                del live[name]
        if node.op == "input":
            out = _Forms(np.ones((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64), 1, 1)
        elif node.op in ("dense", "activation"):
            aff, act = plan[index]
            assert act is not None
            z = ins[0] if aff is None else _affine(ins[0], aff)
            before = z
            activated = False
            if act.kink_num:
                z, pieces, _, activated = refine(z, act, index, relu=act.is_relu)
            else:
                pieces = np.zeros(z.a.shape, dtype=np.intp)
            # the activation may overwrite z if z is this node's own
            out = z if activated else _activate(
                z, pieces, act, owned=z is not before or (aff is not None and stats is None))
            if stats is not None and node.op == "dense":
                stats.append(_stats(len(stats), before, out, state.regions))
        elif node.op == "add":
            parts = _common(ins)
            a, c = parts[0].a, parts[0].c
            for f in parts[1:]:
                a, c = _sum(a, f.a), _sum(c, f.c)
            out = _Forms(a, c, parts[0].den)
        elif node.op == "concat":
            parts = _common(ins)
            obj = any(is_object(f.a, f.c) for f in parts)
            conv = to_object if obj else (lambda v: v)
            out = _Forms(np.vstack([conv(f.a) for f in parts]),
                         np.vstack([conv(f.c) for f in parts]), parts[0].den)
        elif node.op == "max":
            out = ins[0]
            for other in ins[1:]:
                out = max2(out, other, index)
        else:  # maxgroup: a running maximum over each group, position by position
            src = ins[0]
            first = [g[0] for g in node.groups]
            out = _Forms(src.a[first], src.c[first], src.den)
            steps = max(len(g) for g in node.groups) - 1
            for t in range(1, steps + 1):
                cols = [k for k, g in enumerate(node.groups) if len(g) > t]
                pick = [node.groups[k][t] for k in cols]
                sub = _Forms(out.a[cols], out.c[cols], out.den)
                cand = _Forms(src.a[pick], src.c[pick], src.den)
                sub, cand = _common([sub, cand])
                diff = _Forms(_sum(sub.a, cand.a, -1), _sum(sub.c, cand.c, -1), sub.den)
                _, on, (sub, cand, out, src), _ = refine(diff, _RELU, index,
                                                         (sub, cand, out.over(sub.den), src))
                a = out.a.astype(object) if is_object(sub.a, cand.a) else out.a.copy()
                c = out.c.astype(object) if is_object(sub.c, cand.c) else out.c.copy()
                a[cols] = _where(on, sub.a, cand.a)
                c[cols] = _where(on, sub.c, cand.c)
                out = _Forms(a, c, sub.den)
        if readers.get(node.name, 0) > 0 or index == len(nodes) - 1:
            live[node.name] = out
        if progress is not None and node.op != "input":
            progress(index - 1, state.regions)
    result = live[nodes[-1].name]
    return Partition(
        domain=dom,  # type: ignore[arg-type]
        cut_num=state.cn,
        cut_den=state.cd,
        slope_num=result.a.T,
        icpt_num=result.c.T,
        den=result.den,
        activation_regions=hidden_regions,
        layers=tuple(stats) if stats is not None else None,
        widths=net.widths,
    )
