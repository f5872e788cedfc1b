"""Figures of planar partitions: regions filled by activation pattern or by
linear piece, region edges, the decision boundary, training points.

Drawing is the one place where floats stand in for the exact vertices
(screen coordinates); the counts in titles are the exact ones.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..errors import PWLValueError
from ..present.plot import FORMATS, figure_format, save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .partition import PlanarPartition

__all__ = ["FORMATS", "figure_format", "draw_partition", "plot_partition", "save_figure"]

def new_figure(cols: int = 1, size: Optional[tuple[float, float]] = None) -> tuple["Figure", Any]:
    from ..present.plot import _new_figure

    fig, axes = _new_figure(1, cols, size or (5.2 * cols, 5.0))
    return fig, axes[0]


def _clip(poly: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """The part of a convex polygon (k x 2) where ``a x + b y + c >= 0`` (floats)."""
    if len(poly) == 0:
        return poly
    v = poly @ np.array([a, b]) + c
    out = []
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        if v[i] >= 0:
            out.append(poly[i])
        if (v[i] > 0 > v[j]) or (v[i] < 0 < v[j]):
            t = v[i] / (v[i] - v[j])
            out.append(poly[i] + t * (poly[j] - poly[i]))
    return np.array(out).reshape(-1, 2)


def _segment(poly: np.ndarray, a: float, b: float, c: float) -> Optional[np.ndarray]:
    """Where the line ``a x + b y + c = 0`` crosses a convex polygon (floats)."""
    if a == 0 and b == 0:
        return None
    v = poly @ np.array([a, b]) + c
    pts = []
    n = len(poly)
    for i in range(n):
        j = (i + 1) % n
        if v[i] == 0:
            pts.append(poly[i])
        elif (v[i] > 0 > v[j]) or (v[i] < 0 < v[j]):
            t = v[i] / (v[i] - v[j])
            pts.append(poly[i] + t * (poly[j] - poly[i]))
    if len(pts) < 2:
        return None
    pts_a = np.array(pts)
    d = np.array([-b, a])
    proj = pts_a @ d
    return np.array([pts_a[int(np.argmin(proj))], pts_a[int(np.argmax(proj))]])


def decision_segments(p: "PlanarPartition") -> list[np.ndarray]:
    """The decision boundary as float segments: output 0 = 0 for one output,
    the ties of the two largest outputs for several."""
    polys = p.float_polygons()
    forms = np.asarray(p._raw.out, dtype=np.float64)     # regions x outputs x 3
    segs = []
    K = p.outputs
    for r, poly in enumerate(polys):
        f = forms[r]
        if K == 1:
            s = _segment(poly, *f[0])
            if s is not None:
                segs.append(s)
            continue
        for i in range(K):
            for j in range(i + 1, K):
                cell = poly
                for k in range(K):
                    if k not in (i, j):
                        cell = _clip(cell, *(f[i] - f[k]))
                        if len(cell) < 3:
                            break
                if len(cell) >= 3:
                    s = _segment(cell, *(f[i] - f[j]))
                    if s is not None:
                        segs.append(s)
    return segs


def _colors(labels: np.ndarray, seed: int = 7) -> np.ndarray:
    """One pleasant, well-mixed colour per label (neighbours rarely alike)."""
    import matplotlib

    uniq, inv = np.unique(labels, return_inverse=True)
    rng = np.random.default_rng(seed)
    cmap = matplotlib.colormaps["tab20"]
    base = np.array([cmap(i % 20) for i in range(20)])
    pick = rng.permutation(max(len(uniq), 1)) % 20
    jitter = rng.uniform(-0.08, 0.08, (len(uniq), 3))
    cols = np.clip(base[pick][:, :3] + jitter, 0, 1)
    return np.concatenate([cols, np.full((len(uniq), 1), 0.85)], axis=1)[inv.reshape(-1)]


def draw_partition(ax: "Axes", p: "PlanarPartition", color: str = "pattern",
                   output: Optional[int] = 0, edges: bool = True, boundary: bool = True,
                   points: Optional[np.ndarray] = None, labels: Optional[np.ndarray] = None,
                   wrong: Optional[np.ndarray] = None, title: Optional[str] = None) -> None:
    """Draw a partition on ``ax``: regions filled by activation pattern
    (``color="pattern"``), by linear piece (``"piece"``) or by the sign /
    argmax class (``"class"``); edges; the decision boundary; points."""
    from matplotlib.collections import LineCollection, PolyCollection

    polys = p.float_polygons()
    if color == "pattern":
        pats = np.asarray(p.patterns)
        keys = np.unique(pats, axis=0, return_inverse=True)[1].reshape(-1) if pats.size else \
            np.zeros(len(polys), dtype=np.int64)
        face = _colors(keys)
    elif color == "piece":
        face = _colors(p.piece_labels(output))
    elif color == "class":
        # each region split where the class changes: output 0 > 0, or the argmax
        forms = np.asarray(p._raw.out, dtype=np.float64)
        palette = np.array([[0.62, 0.76, 0.93, 1.0], [0.97, 0.73, 0.58, 1.0],
                            [0.70, 0.88, 0.66, 1.0], [0.85, 0.75, 0.92, 1.0]])
        parts, part_cls = [], []
        for r, poly in enumerate(polys):
            f = forms[r]
            if p.outputs == 1:
                cells = [(0, _clip(poly, *(-f[0]))), (1, _clip(poly, *f[0]))]
            else:
                cells = []
                for i in range(p.outputs):
                    cell = poly
                    for k in range(p.outputs):
                        if k != i and len(cell) >= 3:
                            cell = _clip(cell, *(f[i] - f[k]))
                    cells.append((i, cell))
            for cls, cell in cells:
                if len(cell) >= 3:
                    parts.append(cell)
                    part_cls.append(cls)
        ax.add_collection(PolyCollection(parts, facecolors=palette[np.array(part_cls, dtype=int)
                                                                    % len(palette)],
                                         edgecolors="none"))
        face = np.zeros((len(polys), 4))
    else:
        raise PWLValueError(f"color: expected 'pattern', 'piece' or 'class', got {color!r}")
    ax.add_collection(PolyCollection(polys, facecolors=face,
                                     edgecolors=(0.15, 0.15, 0.15, 0.55) if edges else "none",
                                     linewidths=0.35 if len(polys) < 3000 else 0.15))
    if boundary:
        segs = decision_segments(p)
        if segs:
            ax.add_collection(LineCollection(segs, colors="black", linewidths=1.8,
                                             label="decision boundary"))
    if points is not None:
        pts = np.asarray(points, dtype=np.float64)
        lab = np.zeros(len(pts), dtype=int) if labels is None else np.asarray(labels)
        for k, (mk, col) in enumerate(((("o", "#1f4e9c")), ("s", "#b3431b"))):
            sel = lab == k
            ax.scatter(pts[sel, 0], pts[sel, 1], s=9, marker=mk, c=col, linewidths=0,
                       alpha=0.8, zorder=3)
        if wrong is not None and np.any(wrong):
            w = np.asarray(wrong, dtype=bool)
            ax.scatter(pts[w, 0], pts[w, 1], s=60, facecolors="none", edgecolors="red",
                       linewidths=1.3, zorder=4, label=f"misclassified ({int(w.sum())})")
            ax.legend(loc="lower left", fontsize=8)
    verts = np.array([[float(x), float(y)] for x, y in p.polygon.vertices])
    ax.plot(np.append(verts[:, 0], verts[0, 0]), np.append(verts[:, 1], verts[0, 1]),
            color="black", linewidth=0.8)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    pad = 0.02 * (hi - lo)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_aspect("equal")
    if title is not None:
        ax.set_title(title, fontsize=10)


def plot_partition(p: "PlanarPartition", path: str | os.PathLike[str], color: str = "pattern",
                   output: Optional[int] = 0, title: Optional[str] = None,
                   points: Optional[np.ndarray] = None,
                   labels: Optional[Sequence[int]] = None) -> "Figure":
    """One partition in one figure, its exact counts in the title.

    >>> import os, tempfile
    >>> from pwl import Network
    >>> net = Network.sequential([([[1, 0], [0, 1]], [0, 0]), ([[1, -1]], [0], "identity")])
    >>> from pwl import partition2d
    >>> part = partition2d(net, box=(-1, 1, -1, 1))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fig = plot_partition(part, os.path.join(d, "r.svg"))
    """
    figure_format(path)
    fig, axes = new_figure(1)
    head = f"{p.num_regions} regions, {p.pieces(output)} pieces"
    draw_partition(axes[0], p, color=color, output=output, points=points,
                   labels=None if labels is None else np.asarray(labels),
                   title=head if title is None else f"{title}\n{head}")
    save_figure(fig, path)
    return fig
