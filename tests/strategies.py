"""Hypothesis strategies: random networks with one input, and domains.

A network is drawn as its *specification*, the list of layer dicts that
:meth:`pwl.Network.sequential` accepts, so that the engine and the reference
(:mod:`tests.reference`) read the same data.  Besides plain random weights the
strategies deliberately build the cases an engine gets wrong:

* a neuron whose pre-activation meets a kink exactly at an existing cut point
  (it touches or crosses there, and its sign at that cut is an exact zero);
* duplicate neurons (a row repeated, possibly scaled), and zero rows whose
  constant may sit exactly on a kink (the ``relu'(0) = 0`` convention);
* dead layers (every neuron off on the whole line);
* pairs ``f(z)``, ``-f(-z)`` added by the next layer, so that the output merges
  back into fewer pieces (``relu(x) - relu(-x) = x``);
* domains whose ends are cut points of the network.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from reference import RefNet

__all__ = [
    "small_entries",
    "medium_entries",
    "big_entries",
    "activations",
    "network_specs",
    "big_network_specs",
    "domains",
    "cases",
    "rational_in",
]

#: Magnitudes at the engine's thresholds: 2^31, 2^53 (float64), 2^62
#: (its int64-safe bound), 2^63 (int64), and a few beyond.
BOUNDARY_INTS = sorted({s * v for s in (1, -1) for v in (
    10**12, 2**31 - 1, 2**31 + 1, 2**53 - 1, 2**53, 2**53 + 1, 2**62 - 1, 2**62,
    2**62 + 1, 2**63 - 1, 2**63 + 1, 2**64 + 3, 10**20 + 7, 3**40)})


def small_rationals(max_num: int = 6, max_den: int = 4) -> st.SearchStrategy[Fraction]:
    return st.builds(Fraction, st.integers(-max_num, max_num), st.integers(1, max_den))


def small_entries() -> st.SearchStrategy[Fraction]:
    """Small integers (zero often) and small rationals."""
    return st.one_of(
        st.integers(-3, 3).map(Fraction),
        st.just(Fraction(0)),
        small_rationals(),
    )


def big_entries() -> st.SearchStrategy[Fraction]:
    """Entries that push the engine's integers across 2^53, 2^62 and 2^63."""
    return st.one_of(
        st.sampled_from(BOUNDARY_INTS).map(Fraction),
        st.integers(-(2**64), 2**64).map(Fraction),
        st.builds(Fraction, st.integers(-(10**6), 10**6),
                  st.sampled_from([2**31 - 1, 2**53 + 1, 2**61 - 1, 2**62 + 1, 10**19 + 9])),
        st.builds(Fraction, st.sampled_from(BOUNDARY_INTS), st.integers(1, 2**40)),
        small_entries(),
    )


def medium_entries() -> st.SearchStrategy[Fraction]:
    """Integers whose products over a few layers land between 2^53 and 2^63,
    where the engine works in int64 behind its float filter."""
    return st.one_of(
        st.integers(2**17, 2**32).map(Fraction),
        st.integers(-(2**32), -(2**17)).map(Fraction),
        st.sampled_from([2**31 - 1, -(2**31) + 1, 2**26 + 1, 10**6 + 3, -(3**19)]).map(Fraction),
        st.integers(-3, 3).map(Fraction),
    )


_ALPHAS = [Fraction(0), Fraction(1, 100), Fraction(1, 10), Fraction(1, 2), Fraction(1),
           Fraction(2), Fraction(-1), Fraction(-1, 3)]


@st.composite
def activations(draw, output: bool = False) -> dict:
    """An activation as the spec's keys; relu most often, identity most often
    at the output."""
    names = (["identity"] * 4 + ["relu", "leaky_relu", "hardtanh", "relu6", "abs"] if output
             else ["relu"] * 4 + ["identity", "linear", "leaky_relu", "hardtanh", "relu6", "abs"])
    name = draw(st.sampled_from(names))
    if name == "leaky_relu":
        return {"activation": name, "alpha": draw(st.sampled_from(_ALPHAS))}
    if name == "hardtanh":
        lo = draw(small_rationals(3, 2))
        width = draw(small_rationals(3, 2).filter(lambda v: v > 0))
        return {"activation": name, "min": lo, "max": lo + width}
    return {"activation": name}


def _kinks(layer: dict) -> list:
    name = layer["activation"]
    if name in ("relu", "abs") or (name == "leaky_relu" and layer["alpha"] != 1):
        return [Fraction(0)]
    if name == "relu6":
        return [Fraction(0), Fraction(6)]
    if name == "hardtanh":
        return [layer["min"], layer["max"]]
    return []


def _mutate(draw, layers: list, entries: st.SearchStrategy[Fraction]) -> None:
    """Apply some degenerate constructions, in place (see the module docstring)."""
    depth = len(layers) - 1
    nonzero = entries.filter(lambda v: v != 0)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["duplicate", "zero_row", "dead", "merge", "on_cut"]))
        k = draw(st.integers(0, depth))
        layer = layers[k]
        rows, bias = layer["weights"], layer["bias"]
        n = len(rows)
        if kind == "duplicate" and n >= 2:
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            c = draw(st.sampled_from([Fraction(1), Fraction(2), Fraction(-1), Fraction(1, 3)]))
            rows[j] = [c * w for w in rows[i]]
            bias[j] = c * bias[i]
        elif kind == "zero_row":
            i = draw(st.integers(0, n - 1))
            rows[i] = [Fraction(0)] * len(rows[i])
            bias[i] = draw(st.sampled_from(_kinks(layer) or [Fraction(0)]) | entries)
        elif kind == "dead" and k < depth:
            layer.update(activation="relu")
            layer.pop("alpha", None), layer.pop("min", None), layer.pop("max", None)
            if k >= 1 and layers[k - 1]["activation"] in ("relu", "relu6", "abs"):
                # inputs are >= 0: non-positive weights and bias keep every neuron off
                layer["weights"] = [[-abs(w) for w in row] for row in rows]
                layer["bias"] = [-abs(b) for b in bias]
            else:
                layer["weights"] = [[Fraction(0)] * len(row) for row in rows]
                layer["bias"] = [-abs(b) for b in bias]
        elif kind == "merge" and k < depth and n >= 2:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(0, n - 1).filter(lambda v: v != i))
            rows[j] = [-w for w in rows[i]]
            bias[j] = -bias[i]
            if layer["activation"] not in ("relu", "leaky_relu", "abs"):
                layer.update(activation="relu")
                layer.pop("min", None), layer.pop("max", None)
            for row in layers[k + 1]["weights"]:
                row[j] = -row[i]
        elif kind == "on_cut" and k >= 1:
            cuts = RefNet(layers[:k]).partition(None).cuts()
            if not cuts:
                continue
            c = draw(st.sampled_from(cuts))
            h = RefNet(layers[:k]).forward(c)[-1][1]
            i = draw(st.integers(0, n - 1))
            if all(w == 0 for w in rows[i]):
                rows[i] = [draw(nonzero) for _ in rows[i]]
            t = draw(st.sampled_from(_kinks(layer) or [Fraction(0)]))
            bias[i] = t - sum((w * v for w, v in zip(rows[i], h)), Fraction(0))


@st.composite
def network_specs(draw, max_depth: int = 4, max_width: int = 5, max_outputs: int = 2,
                  min_depth: int = 0, entries: st.SearchStrategy[Fraction] | None = None,
                  degenerate: bool = True) -> list:
    """A random network with one input, as a list of layer dicts."""
    entries = small_entries() if entries is None else entries
    depth = draw(st.integers(min_depth, max_depth))
    widths = ([1] + [draw(st.integers(1, max_width)) for _ in range(depth)]
              + [draw(st.integers(1, max_outputs))])
    layers = []
    for k in range(depth + 1):
        n_in, n_out = widths[k], widths[k + 1]
        layer = {
            "weights": [[draw(entries) for _ in range(n_in)] for _ in range(n_out)],
            "bias": [draw(entries) for _ in range(n_out)],
        }
        layer.update(draw(activations(output=k == depth)))
        layers.append(layer)
    if degenerate:
        _mutate(draw, layers, entries)
    return layers


def big_network_specs(max_depth: int = 6, max_width: int = 3) -> st.SearchStrategy[list]:
    """Networks whose integer forms cross the int64 and float64 bounds."""
    return st.one_of(*(network_specs(max_depth=max_depth, max_width=max_width, max_outputs=1,
                                     entries=entries)
                       for entries in (medium_entries(), big_entries())))


@st.composite
def rational_in(draw, lo: Fraction | None, hi: Fraction | None) -> Fraction:
    """A rational strictly inside ``(lo, hi)`` (ends None: unbounded)."""
    if lo is None and hi is None:
        return draw(small_rationals(40, 7))
    if lo is None:
        return hi - draw(small_rationals(40, 7).filter(lambda v: v > 0))
    if hi is None:
        return lo + draw(small_rationals(40, 7).filter(lambda v: v > 0))
    den = draw(st.integers(1, 50))
    t = Fraction(draw(st.integers(1, den - 1)), den) if den > 1 else Fraction(1, 2)
    return lo + t * (hi - lo)


@st.composite
def domains(draw, allow_line: bool = True, points: tuple = ()) -> tuple | None:
    """``None`` (the whole line) or ``(lo, hi)`` with small rational ends,
    sometimes taken from ``points`` (say, a network's cut points)."""
    if allow_line and draw(st.booleans()):
        return None
    ends = small_rationals(8, 4)
    if points:
        ends = st.one_of(ends, st.sampled_from(points))
    a, b = draw(ends), draw(ends)
    if a == b:
        b = a + draw(small_rationals(8, 4).filter(lambda v: v > 0))
    return (min(a, b), max(a, b))


@st.composite
def cases(draw, specs: st.SearchStrategy[list] | None = None, allow_line: bool = True):
    """A network spec and a domain whose ends are often cut points of it."""
    spec = draw(network_specs() if specs is None else specs)
    cuts = RefNet(spec).partition(None).cuts()
    return spec, draw(domains(allow_line=allow_line, points=cuts[:20]))
