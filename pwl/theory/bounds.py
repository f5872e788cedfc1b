"""Piece-count bounds of lecture 001, checked on actual networks.

For an activation with ``m`` kinks (relu: ``m = 1``) the lecture's lemmas read

* ``kappa(act(z)) <= (m + 1) kappa(z)``: each piece of ``z`` crosses each
  kink at most once (relu: ``kappa(relu(z)) <= 2 kappa(z)``);
* ``kappa(sum_j w_j h_j + b) <= sum_{j: w_j != 0} kappa(h_j)``.

Chaining them gives the lecture's bound ``kappa(y) <= prod_d (m_d + 1) n_d``,
which is ``2^D prod n_d`` for relu.  With one input there is a sharper one:
each region of layer ``d - 1`` is an interval on which each of the ``n_d``
pre-activations of layer ``d`` is affine, so it is cut at most ``m_d n_d``
times, and the activation regions number at most ``prod_d (m_d n_d + 1)``
(``prod (n_d + 1)`` for relu; Serra, Tjandraatmadja and Ramalingam 2018
show it is attained when every ``n_d >= 3``).  The output is affine on each
activation region, so ``kappa(y)`` obeys both.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Optional

from ..values.domain import DomainLike, as_domain, Domain
from ..errors import PWLValueError
from ..values.network import Network
from ..engine.propagate import propagate

__all__ = ["BoundReport", "Violation", "lecture_bound", "one_input_bound", "check_bounds",
           "lecture_formula", "one_input_formula"]


def _kinks(net: Network) -> list[int]:
    return [len(layer.activation.kinks) for layer in net.layers]


def lecture_bound(net: Network) -> int:
    """``prod_d (m_d + 1) n_d`` over the hidden layers (``2^D prod n_d`` for relu),
    times ``m + 1`` for an output activation with ``m`` kinks."""
    kinks = _kinks(net)
    hidden = prod((m + 1) * n for m, n in zip(kinks, net.widths))
    return hidden * (kinks[-1] + 1)


def one_input_bound(net: Network) -> int:
    """``prod_d (m_d n_d + 1)`` (``prod (n_d + 1)`` for relu), the most activation
    regions a one-input network of these widths can have; the output layer's
    kinks, if any, are counted as one more layer."""
    kinks = _kinks(net)
    regions = prod(m * n + 1 for m, n in zip(kinks, net.widths))
    return regions * (kinks[-1] * net.output_size + 1)


def _hidden_and_output_kinks(net: Network) -> tuple[list[int], int]:
    kinks = _kinks(net)
    return kinks[:-1], kinks[-1]


def lecture_formula(net: Network) -> str:
    """The formula :func:`lecture_bound` evaluates for this network's
    activations: ``2^D prod n_d`` when every hidden activation has one kink,
    ``3^D prod n_d`` for two kinks each (hardtanh, relu6), ``prod (m_d + 1)
    n_d`` for mixed ones, with a factor for a kinked output activation.

    >>> from pwl.values.network import Network
    >>> lecture_formula(Network.sequential([([[1]], [0], "hardtanh"), ([[1]], [0], "identity")]))
    '3^D prod n_d'
    """
    hidden, out = _hidden_and_output_kinks(net)
    if len(set(hidden)) <= 1:
        m = hidden[0] if hidden else 1
        text = f"{m + 1}^D prod n_d" if m else "prod n_d"
    else:
        text = "prod_d (m_d + 1) n_d"
    return text if out == 0 else f"{text} * {out + 1}"


def one_input_formula(net: Network) -> str:
    """The formula :func:`one_input_bound` evaluates: ``prod (n_d + 1)``
    for one kink per activation, ``prod (m n_d + 1)`` for ``m`` kinks each,
    ``prod (m_d n_d + 1)`` for mixed ones, times ``(m n_out + 1)`` for an
    output activation with ``m`` kinks.

    >>> from pwl.values.network import Network
    >>> one_input_formula(Network.sequential([([[1]], [0], "hardtanh"), ([[1]], [0], "identity")]))
    'prod (2 n_d + 1)'
    """
    hidden, out = _hidden_and_output_kinks(net)
    if len(set(hidden)) <= 1:
        m = hidden[0] if hidden else 1
        text = "prod (n_d + 1)" if m == 1 else f"prod ({m} n_d + 1)"
    else:
        text = "prod (m_d n_d + 1)"
    if out:
        text += " * (n_out + 1)" if out == 1 else f" * ({out} n_out + 1)"
    return text


@dataclass(frozen=True)
class Violation:
    """A lemma that failed on one neuron: an engine bug if it ever appears."""

    layer: int
    neuron: int
    lemma: str
    lhs: int
    rhs: int


@dataclass(frozen=True)
class BoundReport:
    domain: Domain
    depth: int
    widths: tuple[int, ...]
    pieces: int
    activation_regions: int
    bound_lecture: int
    bound_one_input: int
    violations: tuple[Violation, ...]
    #: The formulas the two bounds evaluate, for these activations.
    formula_lecture: str = "2^D prod n_d"
    formula_one_input: str = "prod (n_d + 1)"

    @property
    def holds_lecture(self) -> bool:
        return self.pieces <= self.bound_lecture

    @property
    def holds_one_input(self) -> bool:
        return self.pieces <= self.bound_one_input and self.activation_regions <= self.bound_one_input

    @property
    def holds(self) -> bool:
        return self.holds_lecture and self.holds_one_input and not self.violations

    def ratio(self, which: str = "lecture") -> Fraction:
        bound = self.bound_lecture if which == "lecture" else self.bound_one_input
        return Fraction(self.pieces, bound)


def check_bounds(net: Network, domain: DomainLike = None, output: int = 0) -> BoundReport:
    """Count exactly and check every bound and lemma, neuron by neuron.

    >>> from pwl.theory.constructions import telgarsky
    >>> r = check_bounds(telgarsky(3), (0, 1))
    >>> r.pieces, r.bound_lecture, r.bound_one_input, r.holds
    (8, 64, 27, True)
    """
    if not net.is_chain:
        raise PWLValueError("the lecture's bounds are stated for chains of layers; "
                            "this network is a graph")
    dom = as_domain(domain)
    part = propagate(net, dom, per_layer=True)
    assert part.layers is not None
    violations: list[Violation] = []
    previous: Optional[tuple[int, ...]] = None
    for stats, layer in zip(part.layers, net.layers):
        factor = len(layer.activation.kinks) + 1
        for i, (pre, post) in enumerate(zip(stats.kappa_pre, stats.kappa_post)):
            if post > factor * pre:
                violations.append(Violation(stats.index + 1, i, f"kappa(act(z)) <= {factor} kappa(z)",
                                            post, factor * pre))
            inputs = (1,) * layer.n_in if previous is None else previous
            total = sum(k for k, w in zip(inputs, layer.weights[i]) if w != 0)
            if pre > max(total, 1):
                violations.append(Violation(stats.index + 1, i, "kappa(z) <= sum kappa(inputs)",
                                            pre, total))
        previous = stats.kappa_post
    return BoundReport(
        domain=dom,
        depth=net.depth,
        widths=net.widths,
        pieces=part.pieces(output),
        activation_regions=part.activation_regions,
        bound_lecture=lecture_bound(net),
        bound_one_input=one_input_bound(net),
        violations=tuple(violations),
        formula_lecture=lecture_formula(net),
        formula_one_input=one_input_formula(net),
    )
