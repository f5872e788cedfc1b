"""The engine's product: an exact partition of the domain and the output's
affine form on each region."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

import numpy as np

from .domain import Domain
from ..errors import PWLValueError

if TYPE_CHECKING:
    from .function import PiecewiseLinear

__all__ = ["Partition", "LayerStats"]


@dataclass(frozen=True)
class LayerStats:
    """What one layer did: regions of the partition after it, and the number
    of pieces of each of its neurons before (``kappa_pre``, the affine
    pre-activation) and after (``kappa_post``) the activation."""

    index: int
    width: int
    regions: int
    kappa_pre: tuple[int, ...]
    kappa_post: tuple[int, ...]

    @property
    def max_kappa(self) -> int:
        return max(self.kappa_post)


@dataclass(frozen=True, eq=False)
class Partition:
    """Sorted exact cut points and, on each region, every output's affine form.

    Region ``r`` lies between cut ``r - 1`` and cut ``r`` (or a domain end);
    there output ``k`` is ``(slope_num[r, k] * x + icpt_num[r, k]) / den``.
    Every cut is a point where some neuron's activation piece changes, so
    the cuts made by the hidden layers delimit the activation regions.
    """

    domain: Domain
    cut_num: np.ndarray
    cut_den: np.ndarray
    slope_num: np.ndarray
    icpt_num: np.ndarray
    den: int
    activation_regions: int
    layers: Optional[tuple[LayerStats, ...]]
    widths: tuple[int, ...]

    @property
    def regions(self) -> int:
        """Regions of the final partition (the output layer's kinks included)."""
        return int(self.slope_num.shape[0])

    @property
    def outputs(self) -> int:
        return int(self.slope_num.shape[1])

    def _check_output(self, output: int) -> None:
        if not 0 <= output < self.outputs:
            raise PWLValueError(
                f"output {output} does not exist (the network has {self.outputs} "
                f"output{'s' if self.outputs != 1 else ''}, numbered from 0)")

    def _changes(self, output: Optional[int]) -> np.ndarray:
        """Boolean per cut: does the output's form (any output's, if None) change?"""
        a, c = self.slope_num, self.icpt_num
        if output is not None:
            a, c = a[:, output], c[:, output]
        change = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
        if change.ndim == 2:
            change = change.any(axis=1)
        return change

    def pieces(self, output: int = 0) -> int:
        """kappa of output ``output``: regions merged where its form is the same."""
        self._check_output(output)
        return 1 + int(self._changes(output).sum())

    def joint_pieces(self) -> int:
        """Pieces of the vector of all outputs (the union of their breakpoints)."""
        return 1 + int(self._changes(None).sum())

    def breakpoint_indices(self, output: Optional[int] = 0) -> np.ndarray:
        """Indices of the cuts that are breakpoints of ``output`` (all outputs if None)."""
        if output is not None:
            self._check_output(output)
        return np.nonzero(self._changes(output))[0]

    def breakpoints(self, output: Optional[int] = 0) -> tuple[Fraction, ...]:
        """The exact breakpoints of ``output`` (of any output, if None), increasing."""
        idx = self.breakpoint_indices(output)
        return tuple(Fraction(int(self.cut_num[k]), int(self.cut_den[k])) for k in idx)

    def cuts(self) -> tuple[Fraction, ...]:
        """All cut points of the final partition, increasing."""
        return tuple(Fraction(int(p), int(q)) for p, q in zip(self.cut_num.tolist(),
                                                              self.cut_den.tolist()))

    def function(self, output: int = 0) -> "PiecewiseLinear":
        """Output ``output`` as an exact :class:`~pwl.values.function.PiecewiseLinear`."""
        from .function import PiecewiseLinear

        self._check_output(output)
        idx = self.breakpoint_indices(output)
        keep = np.concatenate([[0], idx + 1])  # first region of each piece
        den = self.den
        slopes = tuple(Fraction(int(v), den) for v in self.slope_num[keep, output].tolist())
        icpts = tuple(Fraction(int(v), den) for v in self.icpt_num[keep, output].tolist())
        return PiecewiseLinear._from_canonical(self.domain, self.breakpoints(output),
                                               slopes, icpts)
