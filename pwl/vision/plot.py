"""The outputs of a vision network along a line, with the cuts."""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ..errors import PWLValueError

__all__ = ["plot_line"]


def plot_line(t: np.ndarray, values: np.ndarray, path: str | os.PathLike[str],
              outputs: Optional[Sequence[int]] = None, title: Optional[str] = None) -> None:
    """Draw outputs ``values[:, k]`` at the region ends ``t`` (the function is
    affine between them, so the polyline is exact up to drawing) and a thin
    line at every cut.  Floats here are only for drawing."""
    from ..present.plot import _finish, _new_figure, figure_format

    if len(t) < 2:
        raise PWLValueError("nothing to draw")
    figure_format(path)
    fig, axes = _new_figure()
    ax = axes[0][0]
    cuts = t[1:-1]
    if len(cuts) <= 2000:
        for c in cuts:
            ax.axvline(float(c), color="0.85", linewidth=0.4, zorder=0)
    for k in (range(values.shape[1]) if outputs is None else outputs):
        ax.plot(t, values[:, k], linewidth=1.0, label=f"output {k}")
    ax.set_xlabel("t (a + t (b - a))")
    ax.set_ylabel("output")
    ax.set_title(title or f"{len(t) - 1} regions along the line")
    _finish(fig, ax, path)
