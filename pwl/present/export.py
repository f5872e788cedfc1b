"""Exact exports: a network as native JSON, a function as sympy, LaTeX or CSV.

Every number written is exact: rationals as ``p/q`` (``\\frac{p}{q}`` in
LaTeX), never a decimal approximation.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

from ..engine.propagate import function_of
from ..errors import PWLValueError
from ..values.numbers import format_exact

if TYPE_CHECKING:
    from ..values.domain import DomainLike
    from ..values.function import PiecewiseLinear
    from ..values.network import Network

__all__ = ["FORMATS", "export", "to_json", "to_sympy", "to_latex", "to_csv"]

#: The formats :func:`export` writes.
FORMATS = ("json", "sympy", "latex", "csv")


def to_json(net: "Network") -> str:
    """The network in the native format, exact numbers as strings.

    >>> from pwl import Network
    >>> text = to_json(Network.sequential([([["1/2"]], [0], "identity")]))
    >>> json.loads(text)["layers"][0]["weights"]
    [['1/2']]
    """
    return json.dumps(net.to_dict(), indent=1) + "\n"


def to_sympy(f: "PiecewiseLinear", x: str = "x") -> str:
    """The function as the text of a sympy ``Piecewise`` in ``x``.

    >>> from pwl import PiecewiseLinear
    >>> to_sympy(PiecewiseLinear.from_points([0, 1, 3], [0, 2, 0]))
    'Piecewise((2*x, (x >= 0) & (x <= 1)), (3 - x, (x >= 1) & (x <= 3)))'
    """
    return str(f.to_sympy(x))


def _latex_number(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def _latex_affine(slope: Fraction, intercept: Fraction, x: str) -> str:
    if slope == 0:
        return _latex_number(intercept)
    if slope == 1:
        text = x
    elif slope == -1:
        text = f"-{x}"
    else:
        text = f"{_latex_number(slope)} {x}"
    if intercept > 0:
        text += f" + {_latex_number(intercept)}"
    elif intercept < 0:
        text += f" - {_latex_number(-intercept)}"
    return text


def _latex_condition(lo: Optional[Fraction], hi: Optional[Fraction], x: str) -> str:
    if lo is None and hi is None:
        return f"{x} \\in \\mathbb{{R}}"
    if lo is None:
        return f"{x} \\le {_latex_number(hi)}"  # type: ignore[arg-type]
    if hi is None:
        return f"{x} \\ge {_latex_number(lo)}"
    return f"{_latex_number(lo)} \\le {x} \\le {_latex_number(hi)}"


def to_latex(f: "PiecewiseLinear", x: str = "x") -> str:
    """The function as a LaTeX ``cases`` block with exact fractions.

    Each piece holds on its closed interval (neighbours agree at the shared
    end, the function being continuous).

    >>> from pwl import PiecewiseLinear
    >>> print(to_latex(PiecewiseLinear([0], ["-1/2", 1], [0, 0])))
    \\begin{cases}
      -\\frac{1}{2} x & \\text{if } x \\le 0 \\\\
      x & \\text{if } x \\ge 0
    \\end{cases}
    """
    rows = [f"  {_latex_affine(s, c, x)} & \\text{{if }} {_latex_condition(lo, hi, x)}"
            for lo, hi, s, c in f.pieces()]
    return "\\begin{cases}\n" + " \\\\\n".join(rows) + "\n\\end{cases}"


def to_csv(f: "PiecewiseLinear") -> str:
    """The pieces as CSV rows ``lo,hi,slope,intercept`` of exact numbers; an
    infinite end is empty.

    >>> from pwl import PiecewiseLinear
    >>> print(to_csv(PiecewiseLinear([0], ["-1/2", 1], [0, 0])), end="")
    lo,hi,slope,intercept
    ,0,-1/2,0
    0,,1,0
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["lo", "hi", "slope", "intercept"])
    for lo, hi, s, c in f.pieces():
        writer.writerow(["" if lo is None else format_exact(lo),
                         "" if hi is None else format_exact(hi),
                         format_exact(s), format_exact(c)])
    return buffer.getvalue()


def export(net: "Network", to: str, domain: "DomainLike" = None, output: int = 0) -> str:
    """The text of ``net`` in format ``to`` (one of :data:`FORMATS`).

    ``json`` writes the network; the others write the function of output
    ``output`` on ``domain`` (default: the whole line), computed exactly.

    >>> from pwl import Network
    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, 1]], [0], "identity")])
    >>> print(export(net, "csv", domain=(-1, 2)), end="")
    lo,hi,slope,intercept
    -1,0,-1,0
    0,2,1,0
    """
    if to not in FORMATS:
        raise PWLValueError(f"export: unknown format {to!r} (known: {', '.join(FORMATS)})")
    if to == "json":
        return to_json(net)
    f = function_of(net, domain, output)
    if to == "sympy":
        return to_sympy(f) + "\n"
    if to == "latex":
        return to_latex(f) + "\n"
    return to_csv(f)
