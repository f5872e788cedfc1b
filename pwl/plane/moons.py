"""Lecture 001's "Deeper is better?" figure, reproduced exactly.

Two moons (generated with numpy, seeded), a shallow network with 20 hidden
units and a deep one with two layers of 10, both trained in numpy (full
batch Adam on the logistic loss, seeded).  The trained float64 weights are
then the networks pwl analyses, each float at its exact binary value: their
exact linear regions on a box around the data, their decision boundaries,
and the training points each misclassifies (decided by exact evaluation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

import numpy as np

from . import partition2d
from ..values.network import Network

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .partition import PlanarPartition

__all__ = ["two_moons", "train_mlp", "MoonsModel", "moons", "plot_moons", "BOX"]

#: The box around the two moons on which the regions are counted.
BOX = (Fraction(-3, 2), Fraction(5, 2), Fraction(-1), Fraction(3, 2))


def two_moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on two interleaving half circles with Gaussian noise;
    labels 0 (upper moon) and 1 (lower moon).

    >>> x, y = two_moons(10)
    >>> x.shape, sorted(set(y.tolist()))
    ((10, 2), [0, 1])
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    t0 = rng.uniform(0, np.pi, half)
    t1 = rng.uniform(0, np.pi, n - half)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(half, dtype=np.int64), np.ones(n - half, dtype=np.int64)])
    return x, y


def train_mlp(x: np.ndarray, y: np.ndarray, widths: Sequence[int], seed: int = 0,
              epochs: int = 3000, lr: float = 0.01) -> list[tuple[np.ndarray, np.ndarray]]:
    """A relu network ``2 - widths - 1`` trained by full-batch Adam on the
    logistic loss; He initialisation, seeded.  Returns ``(W, b)`` per layer."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], *widths, 1]
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params.append([rng.normal(0, np.sqrt(2 / n_in), (n_out, n_in)), np.zeros(n_out)])
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    target = y.astype(np.float64)
    for step in range(1, epochs + 1):
        hs = [x]
        for k, (W, b) in enumerate(params):
            z = hs[-1] @ W.T + b
            hs.append(np.maximum(z, 0) if k < len(params) - 1 else z)
        logit = hs[-1][:, 0]
        # d/dlogit of mean log(1 + exp(-s logit)), s = 2 y - 1
        grad = (1 / (1 + np.exp(-logit)) - target)[:, None] / len(x)
        for k in range(len(params) - 1, -1, -1):
            W, b = params[k]
            gW, gb = grad.T @ hs[k], grad.sum(axis=0)
            if k:
                grad = (grad @ W) * (hs[k] > 0)
            for i, g in enumerate((gW, gb)):
                m[k][i] = b1 * m[k][i] + (1 - b1) * g
                v[k][i] = b2 * v[k][i] + (1 - b2) * g * g
                mh = m[k][i] / (1 - b1 ** step)
                vh = v[k][i] / (1 - b2 ** step)
                params[k][i] = params[k][i] - lr * mh / (np.sqrt(vh) + eps)
    return [(W.copy(), b.copy()) for W, b in params]


@dataclass(frozen=True)
class MoonsModel:
    """One trained network with its exact partition and exact predictions."""

    name: str
    network: Network
    partition: "PlanarPartition"
    parameters: int
    wrong: np.ndarray          # misclassified training points (exact evaluation)

    @property
    def regions(self) -> int:
        return self.partition.num_regions

    @property
    def pieces(self) -> int:
        return self.partition.pieces(0)


def _exact_wrong(net: Network, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points whose exact output has the wrong sign (0 counts as wrong)."""
    out = []
    for (px, py), label in zip(x.tolist(), y.tolist()):
        value = net.evaluate([Fraction(px), Fraction(py)])[0]
        out.append((value > 0) != bool(label) or value == 0)
    return np.array(out, dtype=bool)


def moons(n: int = 200, noise: float = 0.2, seed: int = 0, epochs: int = 3000,
          specs: Sequence[Sequence[int]] = ((20,), (10, 10))
          ) -> tuple[np.ndarray, np.ndarray, list[MoonsModel]]:
    """The data and, for each hidden-width list in ``specs``, the trained
    network with its exact partition of :data:`BOX`."""
    x, y = two_moons(n, noise, seed)
    models = []
    for widths in specs:
        layers = train_mlp(x, y, widths, seed, epochs)
        net = Network.from_arrays([w for w, _ in layers], [b for _, b in layers])
        part = partition2d(net, box=BOX)
        params = sum(w.size + b.size for w, b in layers)
        name = "-".join(map(str, [2, *widths, 1]))
        models.append(MoonsModel(name, net, part, params, _exact_wrong(net, x, y)))
    return x, y, models


def plot_moons(x: np.ndarray, y: np.ndarray, models: Sequence[MoonsModel],
               path: str | os.PathLike[str]) -> "Figure":
    """The models side by side: regions (by class, edges drawn), decision
    boundary, training points, misclassified points circled; exact region
    and parameter counts in the titles."""
    from .draw import draw_partition, figure_format, new_figure, save_figure

    figure_format(path)
    fig, axes = new_figure(len(models), size=(5.6 * len(models), 4.2))
    for ax, model in zip(axes, models):
        title = (f"{model.name}: {model.parameters} parameters\n{model.regions} linear regions "
                 f"({model.pieces} pieces), {int(model.wrong.sum())} misclassified")
        draw_partition(ax, model.partition, color="class", points=x, labels=y,
                       wrong=model.wrong, title=title)
    save_figure(fig, path)
    return fig
