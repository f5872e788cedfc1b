"""A slow, obviously correct reference for the engine, in plain Fractions.

Nothing here imports the engine (``pwl.engine.propagate``, ``pwl.engine.exact``,
``pwl.values.activations``): a network is read from its *specification*, the list
of layer dicts ``{"weights", "bias", "activation", [alpha | min | max]}``
that :meth:`pwl.Network.sequential` accepts, and the activations are written
out again below from their textbook definitions.

The method is the definition, one interval at a time:

* start with the domain as one interval (ends ``None`` stand for -oo / +oo);
* for each layer, on each interval every neuron of the previous layer is an
  affine form ``a x + c``; so is each pre-activation ``z_i``.  Split the
  interval at every point strictly inside it where some ``z_i`` equals a
  kink, then on each part read the activation piece at an interior point;
* an output's breakpoints are the interval ends where its form changes.

Activation regions are found a second way, from patterns: the pattern at
``x`` (the tuple of piece indices of the hidden neurons, each the number of
kinks ``t`` with ``z_i(x) > t``) is computed by a plain forward pass at an
interior point of each interval, and a boundary counts when the patterns on
its two sides differ.  :meth:`RefPartition.self_check` verifies that the
splitting missed nothing: patterns and forward values agree with the stored
forms at several points of every interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Optional, Sequence

Form = tuple  # (slope, intercept): the map x -> slope * x + intercept
End = Optional[Fraction]  # None is -oo on the left, +oo on the right

__all__ = ["RefLayer", "RefNet", "RefPartition", "interior_point", "spec_of"]


def _q(value: object) -> Fraction:
    """Fractions, ints and 'p/q' or decimal strings (the spec's numbers)."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"reference: inexact number {value!r}")
    return Fraction(value)  # type: ignore[arg-type]


# -- activations, from their definitions ----------------------------------------
# Each: (kinks, [(slope, intercept) of the activation on each piece], function).
def _activation(name: str, params: Mapping[str, Any]):
    zero, one = Fraction(0), Fraction(1)
    if name in ("identity", "linear"):
        return (), ((one, zero),), (lambda z: z)
    if name == "relu":
        return (zero,), ((zero, zero), (one, zero)), (lambda z: max(z, zero))
    if name == "leaky_relu":
        alpha = _q(params.get("alpha", Fraction(1, 100)))
        fn = (lambda z: z if z > 0 else alpha * z)
        if alpha == 1:  # no kink at all: one linear piece
            return (), ((one, zero),), fn
        return (zero,), ((alpha, zero), (one, zero)), fn
    if name == "hardtanh":
        lo, hi = _q(params.get("min", -1)), _q(params.get("max", 1))
        return (lo, hi), ((zero, lo), (one, zero), (zero, hi)), (lambda z: min(max(z, lo), hi))
    if name == "relu6":
        six = Fraction(6)
        return (zero, six), ((zero, zero), (one, zero), (zero, six)), (lambda z: min(max(z, zero), six))
    if name == "abs":
        return (zero,), ((-one, zero), (one, zero)), (lambda z: abs(z))
    raise ValueError(f"reference: unknown activation {name!r}")


@dataclass
class RefLayer:
    weights: list  # n_out rows of n_in Fractions
    bias: list
    name: str
    params: dict

    def __post_init__(self) -> None:
        self.kinks, self.pieces, self.fn = _activation(self.name, self.params)

    def piece(self, z: Fraction) -> int:
        """Piece index: the number of kinks strictly below ``z``."""
        return sum(1 for t in self.kinks if z > t)


def spec_of(net: Any) -> list:
    """The layer specification of a built :class:`pwl.Network` (its data only)."""
    out = []
    for layer in net.layers:
        d = {"weights": [list(r) for r in layer.weights], "bias": list(layer.bias),
             "activation": layer.activation.name}
        d.update(dict(layer.activation.params))
        out.append(d)
    return out


def interior_point(lo: End, hi: End) -> Fraction:
    if lo is None and hi is None:
        return Fraction(0)
    if lo is None:
        return hi - 1
    if hi is None:
        return lo + 1
    return (lo + hi) / 2


def _inside(x: Fraction, lo: End, hi: End) -> bool:
    return (lo is None or lo < x) and (hi is None or x < hi)


class RefNet:
    """A network given by its specification, evaluated one point at a time."""

    def __init__(self, spec: Sequence[Mapping[str, Any]]):
        self.layers = []
        for d in spec:
            params = {k: d[k] for k in ("alpha", "min", "max") if k in d}
            self.layers.append(RefLayer(
                weights=[[_q(w) for w in row] for row in d["weights"]],
                bias=[_q(b) for b in d.get("bias") or [0] * len(d["weights"])],
                name=str(d.get("activation", "relu")).lower(),
                params=params,
            ))

    @property
    def depth(self) -> int:
        return len(self.layers) - 1

    def forward(self, x: Fraction) -> list:
        """Per layer, the lists ``(z, h)`` of pre- and post-activations at ``x``."""
        h = [Fraction(x)]
        out = []
        for layer in self.layers:
            z = [sum((w * v for w, v in zip(row, h)), b) for row, b in zip(layer.weights, layer.bias)]
            h = [layer.fn(v) for v in z]
            out.append((z, h))
        return out

    def evaluate(self, x: Fraction) -> tuple:
        return tuple(self.forward(x)[-1][1])

    def pattern(self, x: Fraction, upto: Optional[int] = None) -> tuple:
        """Piece indices of every neuron of layers ``0 .. upto-1`` (default:
        the hidden layers) at ``x``."""
        upto = self.depth if upto is None else upto
        trace = self.forward(x)
        return tuple(self.layers[k].piece(z) for k in range(upto) for z in trace[k][0])

    def partition(self, domain: Optional[tuple] = None) -> "RefPartition":
        if domain is None:
            domain = (None, None)
        lo, hi = (None if e is None else _q(e) for e in domain)  # None ends: half-lines
        assert lo is None or hi is None or lo < hi
        intervals: list = [(lo, hi)]
        forms: list = [[]]  # per interval, per layer so far: (z forms, h forms)
        for layer in self.layers:
            new_intervals, new_forms = [], []
            for (lo, hi), past in zip(intervals, forms):
                h = past[-1][1] if past else [(Fraction(1), Fraction(0))]
                z = []
                for row, b in zip(layer.weights, layer.bias):
                    a = sum((w * f[0] for w, f in zip(row, h)), Fraction(0))
                    c = sum((w * f[1] for w, f in zip(row, h)), b)
                    z.append((a, c))
                points = set()
                for a, c in z:
                    if a != 0:
                        for t in layer.kinks:
                            x0 = (t - c) / a
                            if _inside(x0, lo, hi):
                                points.add(x0)
                ends = [lo] + sorted(points) + [hi]
                for sub_lo, sub_hi in zip(ends, ends[1:]):
                    xm = interior_point(sub_lo, sub_hi)
                    hf = []
                    for a, c in z:
                        s, d = layer.pieces[layer.piece(a * xm + c)]
                        hf.append((s * a, s * c + d))
                    new_intervals.append((sub_lo, sub_hi))
                    new_forms.append(past + [(z, hf)])
            intervals, forms = new_intervals, new_forms
        return RefPartition(self, domain, intervals, forms)


class RefPartition:
    """Intervals of the domain and, on each, every neuron's affine form."""

    def __init__(self, net: RefNet, domain, intervals: list, forms: list):
        self.net = net
        self.domain = domain
        self.intervals = intervals
        self.forms = forms

    # -- cut points and forms ---------------------------------------------------
    def cuts(self) -> tuple:
        """Interval ends strictly inside the domain, increasing."""
        return tuple(hi for lo, hi in self.intervals[:-1])

    def _changes(self, key) -> tuple:
        return tuple(self.intervals[r][1] for r in range(len(self.intervals) - 1)
                     if key(r) != key(r + 1))

    def output_form(self, r: int, k: int) -> Form:
        return self.forms[r][-1][1][k]

    def breakpoints(self, output: Optional[int] = 0) -> tuple:
        if output is None:
            return self._changes(lambda r: tuple(self.forms[r][-1][1]))
        return self._changes(lambda r: self.output_form(r, output))

    def pieces(self, output: int = 0) -> int:
        return 1 + len(self.breakpoints(output))

    def joint_pieces(self) -> int:
        return 1 + len(self.breakpoints(None))

    def kappa(self, layer: int, neuron: int, post: bool = True) -> int:
        """Pieces of one neuron's pre- or post-activation on the domain."""
        side = 1 if post else 0
        return 1 + len(self._changes(lambda r: self.forms[r][layer][side][neuron]))

    # -- patterns -------------------------------------------------------------
    def pattern_boundaries(self, upto: Optional[int] = None) -> tuple:
        """Interval ends where the pattern of layers ``0 .. upto-1`` changes,
        each pattern read by a forward pass at an interior point."""
        pats = [self.net.pattern(interior_point(lo, hi), upto) for lo, hi in self.intervals]
        return tuple(self.intervals[r][1] for r in range(len(pats) - 1) if pats[r] != pats[r + 1])

    def activation_regions(self) -> int:
        return 1 + len(self.pattern_boundaries())

    def regions_after(self, k: int) -> int:
        """Regions cut out by the neurons of layers ``0 .. k``."""
        return 1 + len(self.pattern_boundaries(k + 1))

    # -- the reference checks itself --------------------------------------------
    def sample_points(self, r: int) -> list:
        lo, hi = self.intervals[r]
        if lo is None and hi is None:
            return [Fraction(-3), Fraction(0), Fraction(5, 2)]
        if lo is None:
            return [hi - Fraction(1, 3), hi - 1, hi - 7]
        if hi is None:
            return [lo + Fraction(1, 3), lo + 1, lo + 7]
        w = hi - lo
        return [lo + w / 5, lo + w / 2, lo + 4 * w / 5]

    def self_check(self) -> None:
        """Forms match a forward pass, and no neuron changes piece, at several
        points of every interval; cut points are sorted and inside the domain."""
        cuts = self.cuts()
        assert all(a < b for a, b in zip(cuts, cuts[1:]))
        if cuts:
            assert _inside(cuts[0], self.intervals[0][0], None)
            assert _inside(cuts[-1], None, self.intervals[-1][1])
        every = len(self.net.layers)
        for r in range(len(self.intervals)):
            xs = self.sample_points(r)
            pats = {self.net.pattern(x, every) for x in xs}
            assert len(pats) == 1, (self.intervals[r], pats)
            for x in xs:
                trace = self.net.forward(x)
                for k, (z, h) in enumerate(trace):
                    zf, hf = self.forms[r][k]
                    assert [a * x + c for a, c in zf] == z
                    assert [a * x + c for a, c in hf] == h
