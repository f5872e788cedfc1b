"""Two inputs, exactly: the linear regions of a network on a polygon or a plane.

:func:`partition2d` cuts a convex polygon by every layer of a two-input
network (or of any network restricted to a plane through three input
points) and returns a :class:`PlanarPartition`: the activation regions as
convex polygons with exact rational vertices, their activation patterns,
the exact affine form of every output on each, the planar graph's vertices
and edges, the regions' adjacency and the linear pieces.

>>> from pwl import Network
>>> net = Network.sequential([([[1, 1]], [0])])
>>> partition2d(net, box=(-1, 1, -1, 1)).num_regions
2
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from ..errors import PWLValueError
from ..values.network import Network
from .domain import UNIT_SQUARE, Polygon, as_polygon, box, restrict_to_plane
from .partition import PlanarPartition, Region

__all__ = ["partition2d", "PlanarPartition", "Region", "Polygon", "box", "restrict_to_plane"]


def partition2d(net: Network, box: Optional[Sequence[object]] = None,
                plane: Optional[Sequence[Sequence[object]]] = None,
                polygon: Optional[object] = None,
                progress: Optional[Callable[[int, int], None]] = None) -> PlanarPartition:
    """The exact planar partition of ``net``.

    Parameters
    ----------
    net : Network
        A chain of layers; with ``box`` or ``polygon`` it must have 2 inputs.
    box : (x0, x1, y0, y1), optional
        The rectangle ``[x0, x1] x [y0, y1]`` of the input plane.
    plane : (P0, P1, P2), optional
        Three input points: the network is restricted to
        ``P0 + s (P1 - P0) + t (P2 - P0)`` and partitioned in ``(s, t)``, on
        ``polygon`` or ``box`` if given, else on the unit square.
    polygon : list of points or Polygon, optional
        A convex polygon (vertices in order) instead of a box.
    """
    from .engine import check_network, planar_run

    if box is not None and polygon is not None:
        raise PWLValueError("give a box or a polygon, not both")
    domain = as_polygon(box) if box is not None else \
        as_polygon(polygon) if polygon is not None else None
    if plane is not None:
        if isinstance(plane, (str, bytes)) or len(plane) != 3:
            raise PWLValueError("plane: expected three points P0, P1, P2")
        net = restrict_to_plane(net, *plane)
        if domain is None:
            domain = UNIT_SQUARE
    elif domain is None:
        raise PWLValueError("a planar partition needs box=..., polygon=... or plane=...")
    check_network(net)
    raw = planar_run(net, domain, progress)
    return PlanarPartition(raw, net.widths, net.output_size)
