"""Bounds on the number of activation regions with ``n0`` inputs.

* Upper (Serra, Tjandraatmadja and Ramalingam 2018, Theorem 1): a relu
  network with widths ``n_1 .. n_L`` and ``n0`` inputs has at most

      sum over (j_1, ..., j_L) in J of prod_l C(n_l, j_l)

  activation regions, where ``J`` holds the integer vectors with
  ``0 <= j_l <= min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)``.  With
  ``n0 = 1`` it is ``prod (n_l + 1)``, the one-input bound of
  :mod:`pwl.theory.bounds`.  Activation regions are convex, so a convex polygon
  meets each at most once: the bound holds on every polygon and plane.
* Lower (Montufar, Pascanu, Cho and Bengio 2014, Theorem 5): for widths
  ``n_l >= n0`` some network of these widths has at least

      prod_{l < L} floor(n_l / n0)^n0 * sum_{j=0}^{n0} C(n_L, j)

  regions: a bound on the *maximum* over networks, printed beside the count
  to show how far a given network is from the best of its widths.
"""

from __future__ import annotations

from math import comb, prod
from typing import Optional, Sequence

from ..values.network import Network

__all__ = ["serra_upper_bound", "montufar_lower_bound", "region_bounds"]


def serra_upper_bound(widths: Sequence[int], n0: int) -> int:
    """Serra et al.'s bound, by dynamic programming over the layers: the
    state is the cap ``min(n0, n_1 - j_1, ...)`` on the next ``j``.

    >>> serra_upper_bound([3, 3], 1), serra_upper_bound([2], 2), serra_upper_bound([4], 2)
    (16, 4, 11)
    """
    states = {n0: 1}
    for n in widths:
        nxt: dict[int, int] = {}
        for cap, ways in states.items():
            for j in range(min(cap, n) + 1):
                key = min(cap, n - j)
                nxt[key] = nxt.get(key, 0) + ways * comb(n, j)
        states = nxt
    return sum(states.values())


def montufar_lower_bound(widths: Sequence[int], n0: int) -> Optional[int]:
    """Montufar et al.'s lower bound on the maximal number of regions, or
    None when some width is below ``n0`` (the theorem does not apply).

    >>> montufar_lower_bound([4, 4], 2), montufar_lower_bound([1], 2)
    (44, None)
    """
    if not widths or min(widths) < n0:
        return None
    head = prod((n // n0) ** n0 for n in widths[:-1])
    return head * sum(comb(widths[-1], j) for j in range(n0 + 1))


def region_bounds(net: Network, n0: int = 2) -> tuple[Optional[int], Optional[int]]:
    """Both bounds for a chain whose kinked layers all have one kink (relu,
    leaky relu, abs ...); the output layer counts when it has a kink.
    ``(None, None)`` otherwise."""
    kinked = [layer for layer in net.layers if layer.activation.kinks]
    if any(len(layer.activation.kinks) != 1 for layer in kinked):
        return None, None
    widths = [layer.n_out for layer in kinked]
    if not widths:
        return 1, 1
    return serra_upper_bound(widths, n0), montufar_lower_bound(widths, n0)
