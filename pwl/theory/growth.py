"""Growth of piece counts with depth: one exact row per depth.

Families:

* ``triangle``: Telgarsky's network ``tri^D`` (width 2), on [0, 1] by default;
* ``sawtooth``: ``D`` folds of width ``n`` (``n^D`` pieces on [0, 1]);
* ``random``: a seeded random initialisation of width ``n``, truncated to
  its first ``D`` hidden layers.  Weights are He-normal draws rounded to
  multiples of 1/64 (exact dyadic rationals), so counts stay exact and fast;
  Hanin and Rolnick (2019) predict pieces roughly linear in the number of
  neurons, far below both bounds.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional

from .bounds import lecture_bound, one_input_bound
from .constructions import sawtooth, telgarsky
from ..counting import count
from ..values.domain import DomainLike, as_domain
from ..errors import PWLValueError
from ..values.network import Layer, Network

__all__ = ["FAMILIES", "GrowthRow", "family_network", "growth"]

FAMILIES = ("triangle", "sawtooth", "random")


@dataclass(frozen=True)
class GrowthRow:
    depth: int
    width: int
    pieces: int
    activation_regions: Optional[int]
    bound_lecture: int
    bound_one_input: int
    seconds: float
    peak_bytes: int
    method: str


def _random_layers(width: int, depth: int, seed: int) -> list[Layer]:
    import numpy as np

    rng = np.random.default_rng(seed)
    layers = []
    fan_in = 1
    for _ in range(depth + 1):
        w = np.rint(rng.normal(0.0, (2.0 / fan_in) ** 0.5, size=(width, fan_in)) * 64)
        b = np.rint(rng.normal(0.0, 0.5, size=width) * 64)
        layers.append(Layer.make([[Fraction(int(v), 64) for v in row] for row in w.tolist()],
                                 [Fraction(int(v), 64) for v in b.tolist()]))
        fan_in = width
    return layers


def family_network(family: str, depth: int, width: int, seed: int = 0) -> Network:
    """The network of ``family`` with ``depth`` hidden layers."""
    if family == "triangle":
        return telgarsky(depth)
    if family == "sawtooth":
        return sawtooth(depth, width)
    if family == "random":
        import numpy as np

        hidden = _random_layers(width, depth, seed)[:depth]
        readout = np.rint(np.random.default_rng(seed + 1).normal(0.0, 1.0, width) * 64)
        head = Layer.make([[Fraction(int(v), 64) for v in readout.tolist()]], [0], "identity")
        return Network.sequential(hidden + [head])
    raise PWLValueError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})")


def growth(family: str, max_depth: int, width: int, domain: DomainLike = None,
           seed: int = 0, method: Optional[str] = None, min_depth: int = 1,
           **count_options: object) -> Iterator[GrowthRow]:
    """Yield one exact row per depth ``min_depth..max_depth``.

    >>> [r.pieces for r in growth("triangle", 4, 2, (0, 1))]
    [2, 4, 8, 16]
    """
    dom = as_domain(domain)
    for depth in range(min_depth, max_depth + 1):
        net = family_network(family, depth, width, seed)
        tracemalloc.start()
        start = time.perf_counter()
        try:
            result = count(net, dom, method=method, **count_options)  # type: ignore[arg-type]
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        yield GrowthRow(depth, max(net.widths), result.pieces, result.activation_regions,
                        lecture_bound(net), one_input_bound(net), seconds, peak, result.method)
