"""Reference piece counters that pwl is measured against (not part of pwl).

Three independent ways to count the linear pieces of a one-input network:

* :func:`float_count` -- float64 breakpoint propagation in numpy, vectorised
  over regions.  The speed reference: fast, but inexact (two neighbouring
  regions whose forms are equal in exact arithmetic may differ in the last
  bit, and crossing points that coincide exactly may be computed an ulp
  apart).
* :func:`fraction_count` -- the same propagation, exact, with
  :class:`fractions.Fraction`, region by region in pure Python.  The
  correctness reference, and the "naive exact" speed reference.
* :func:`sympy_count` -- the network as a nested sympy ``Piecewise``
  expression, flattened by :func:`sympy.piecewise_fold`.  The symbolic
  reference; it gives up very early, so it runs in a child process that is
  abandoned at a timeout.

All three use the same conventions as pwl: *pieces* are the maximal
intervals on which the output is one affine function; *activation regions*
are the intervals cut by the hidden layers' crossing points (a neuron at its
kink over a whole interval counts as below the kink, ``relu'(0) = 0``).
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import resource
import time
import tracemalloc
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Sequence, TypeVar

import numpy as np

__all__ = ["Count", "float_count", "fraction_count", "sympy_count", "SympyResult",
           "timed", "traced_peak_mb", "max_rss_mb", "pwl_kernel_note"]

T = TypeVar("T")


@dataclass(frozen=True)
class Count:
    """What a reference counter found."""

    pieces: int               # kappa of the chosen output
    activation_regions: int   # regions cut by the hidden layers
    regions: int              # regions of the final partition


# ---------------------------------------------------------------------------
# (a) float64, vectorised
# ---------------------------------------------------------------------------

def float_count(layers: Sequence[tuple[np.ndarray, np.ndarray, str]],
                lo: float = -math.inf, hi: float = math.inf, output: int = 0) -> Count:
    """Count pieces with float64 breakpoint propagation.

    Parameters
    ----------
    layers : sequence of (W, b, activation)
        ``W`` of shape ``(n_k, n_{k-1})`` with ``n_0 = 1``, ``b`` of length
        ``n_k``, activation ``"relu"`` or ``"identity"``; the last layer is
        the output layer (see :func:`networks.float_layers`).
    lo, hi : float
        The domain; ``-inf`` / ``inf`` (the defaults) give the whole line.
    output : int
        The output whose pieces are counted.

    Notes
    -----
    State between layers: sorted cut points ``cuts`` (``R - 1`` of them,
    splitting the domain into ``R`` regions) and, per region ``r`` and
    neuron ``i``, the affine form ``A[r, i] * x + C[r, i]``.

    A layer computes the pre-activation forms with one matrix product per
    coefficient, the root ``X = -ZC / ZA`` of every (region, neuron), and
    keeps the roots strictly inside their region.  Those come out of
    ``np.nonzero`` region by region, so the new cuts only need sorting
    *within* regions: a sortedness check settles the common case (at most
    one crossing per region) in O(n), otherwise a stable sort of the
    nearly-sorted values.  The new cuts are then scattered into place next
    to the old ones by position arithmetic (no re-sort of the old cuts).

    Every form is repeated into its region's sub-regions, and a relu is on
    in a sub-region ``[L, R]`` iff ``ZA > 0`` and the root is ``<= L``, or
    ``ZA < 0`` and the root is ``>= R``, or ``ZA == 0`` and ``ZC > 0``.  The
    cut values are the very floats the roots were computed as, so those
    comparisons agree with the cuts.

    Examples
    --------
    >>> import numpy as np
    >>> tent = [(np.array([[2.0], [4.0]]), np.array([0.0, -2.0]), "relu"),
    ...         (np.array([[1.0, -1.0]]), np.array([0.0]), "identity")]
    >>> float_count(tent, 0.0, 1.0)
    Count(pieces=2, activation_regions=2, regions=2)
    >>> float_count(tent)
    Count(pieces=3, activation_regions=3, regions=3)
    """
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise ValueError(f"domain: lo = {lo} must be below hi = {hi}")
    cuts = np.empty(0, dtype=np.float64)
    a = np.ones((1, 1), dtype=np.float64)
    c = np.zeros((1, 1), dtype=np.float64)
    activation_regions = 1
    last = len(layers) - 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k, (w, b, act) in enumerate(layers):
            wt = np.ascontiguousarray(np.asarray(w, dtype=np.float64).T)
            za = _product(a, wt)
            zc = _product(c, wt)
            zc += np.asarray(b, dtype=np.float64)
            if act == "identity":
                a, c = za, zc
            elif act == "relu":
                cuts, a, c = _relu_step(cuts, za, zc, lo, hi)
            else:
                raise ValueError(f"layer {k}: unknown activation {act!r}")
            if k < last:
                activation_regions = a.shape[0]
    a_out, c_out = a[:, output], c[:, output]
    changes = np.count_nonzero((a_out[1:] != a_out[:-1]) | (c_out[1:] != c_out[:-1]))
    return Count(pieces=1 + int(changes), activation_regions=activation_regions,
                 regions=a.shape[0])


#: Below this many inputs per neuron a layer's product is an einsum: BLAS
#: gains nothing on so few columns and its thread start-up dominates.
_EINSUM_MAX_INPUTS = 16


def _product(h: np.ndarray, wt: np.ndarray) -> np.ndarray:
    if wt.shape[0] <= _EINSUM_MAX_INPUTS:
        return np.einsum("ri,ij->rj", h, wt)
    return h @ wt


def _bounds(cuts: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    left = np.empty(cuts.size + 1, dtype=np.float64)
    right = np.empty(cuts.size + 1, dtype=np.float64)
    left[0] = lo
    left[1:] = cuts
    right[:-1] = cuts
    right[-1] = hi
    return left, right


def _relu_step(cuts: np.ndarray, za: np.ndarray, zc: np.ndarray, lo: float, hi: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_regions = za.shape[0]
    left, right = _bounds(cuts, lo, hi)
    root = np.negative(zc)
    root /= za                      # +-inf or nan where za == 0: never inside
    inside = (root > left[:, None]) & (root < right[:, None])
    r, i = np.nonzero(inside)       # region-major, so region r's roots are contiguous
    if r.size:
        v = root[r, i]
        if not (v[1:] >= v[:-1]).all():
            # roots lie strictly inside their regions and regions are ordered,
            # so sorting by value keeps the region order
            order = np.argsort(v, kind="stable")
            v = v[order]
            r = r[order]
        fresh = np.empty(v.size, dtype=bool)
        fresh[0] = True
        np.not_equal(v[1:], v[:-1], out=fresh[1:])
        if not fresh.all():
            v, r = v[fresh], r[fresh]
        per_region = np.bincount(r, minlength=n_regions)
        cum = np.cumsum(per_region)
        merged = np.empty(n_regions - 1 + v.size, dtype=np.float64)
        # old cut c follows the new cuts of regions 0..c; the u-th new cut
        # (region r) follows r old cuts and u - 1 new ones
        merged[np.arange(n_regions - 1) + cum[:-1]] = cuts
        merged[r + np.arange(v.size)] = v
        cuts = merged
        source = np.repeat(np.arange(n_regions), per_region + 1)
        za = np.take(za, source, axis=0)
        zc = np.take(zc, source, axis=0)
        root = np.take(root, source, axis=0)
        left, right = _bounds(cuts, lo, hi)
    on = (za > 0) & (root <= left[:, None])
    on |= (za < 0) & (root >= right[:, None])
    on |= (za == 0) & (zc > 0)
    za *= on
    zc *= on
    return cuts, za, zc


# ---------------------------------------------------------------------------
# (b) exact, Fraction, pure Python
# ---------------------------------------------------------------------------

def _interior(left: Optional[Fraction], right: Optional[Fraction]) -> Fraction:
    """A point strictly inside the interval (``None`` is an infinite end)."""
    if left is None and right is None:
        return Fraction(0)
    if left is None:
        return right - 1
    if right is None:
        return left + 1
    return (left + right) / 2


def fraction_count(net, domain: Optional[Sequence[object]] = None, output: int = 0) -> Count:
    """Count pieces exactly with Fractions, one region at a time.

    ``net`` is a :class:`pwl.Network` (only its exact weights and its
    activations' kinks, slopes and intercepts are read); ``domain`` is
    ``None`` (the whole line) or ``(lo, hi)`` of ints, Fractions or exact
    strings.

    Each region is an interval with a list of exact affine forms, one per
    neuron.  For a layer, every pre-activation form is solved for every kink
    of the activation; the roots strictly inside the region split it, and
    each sub-region takes the activation piece found at an interior point.

    >>> import pwl
    >>> tent = pwl.Network.sequential([([[2], [4]], [0, -2], "relu"),
    ...                                ([[1, -1]], [0], "identity")])
    >>> fraction_count(tent, (0, 1))
    Count(pieces=2, activation_regions=2, regions=2)
    """
    if domain is None:
        lo: Optional[Fraction] = None
        hi: Optional[Fraction] = None
    else:
        lo, hi = (Fraction(v) for v in domain)
    bounds: list[Optional[Fraction]] = [lo, hi]   # region r is [bounds[r], bounds[r + 1]]
    forms: list[list[tuple[Fraction, Fraction]]] = [[(Fraction(1), Fraction(0))]]
    activation_regions = 1
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers):
        weights, bias, act = layer.weights, layer.bias, layer.activation
        kinks, slopes, icpts = act.kinks, act.slopes, act.intercepts
        new_bounds: list[Optional[Fraction]] = [bounds[0]]
        new_forms: list[list[tuple[Fraction, Fraction]]] = []
        for r, h in enumerate(forms):
            left, right = bounds[r], bounds[r + 1]
            z = []
            for row, b in zip(weights, bias):
                za = sum((w * ha for w, (ha, _) in zip(row, h)), Fraction(0))
                zc = sum((w * hc for w, (_, hc) in zip(row, h)), b)
                z.append((za, zc))
            roots = set()
            for za, zc in z:
                if za:
                    for t in kinks:
                        x = (t - zc) / za
                        if (left is None or x > left) and (right is None or x < right):
                            roots.add(x)
            pieces_bounds = [left, *sorted(roots), right]
            for s in range(len(pieces_bounds) - 1):
                point = _interior(pieces_bounds[s], pieces_bounds[s + 1])
                hs = []
                for za, zc in z:
                    p = act.piece(za * point + zc)
                    hs.append((slopes[p] * za, slopes[p] * zc + icpts[p]))
                new_forms.append(hs)
                new_bounds.append(pieces_bounds[s + 1])
        bounds, forms = new_bounds, new_forms
        if k < last:
            activation_regions = len(forms)
    pieces = 1 + sum(1 for f, g in zip(forms, forms[1:]) if f[output] != g[output])
    return Count(pieces=pieces, activation_regions=activation_regions, regions=len(forms))


# ---------------------------------------------------------------------------
# (c) sympy, in a child process with a timeout
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SympyResult:
    """``pieces`` is None when sympy did not finish within the timeout."""

    pieces: Optional[int]
    seconds: float
    fold_seconds: Optional[float]   # piecewise_fold alone
    timed_out: bool


def sympy_expression(net, output: int = 0):
    """``(x, expr)``: the network's output as nested ``Piecewise`` in sympy.

    A relu neuron is ``Piecewise((z, z > 0), (0, True))`` (which is
    ``Max(0, z)`` rewritten), identity neurons are ``z``.
    """
    import sympy

    x = sympy.Symbol("x", real=True)
    h = [x]
    for k, layer in enumerate(net.layers):
        name = layer.activation.name
        z = [sum((sympy.Rational(w.numerator, w.denominator) * v for w, v in zip(row, h)),
                 sympy.Rational(b.numerator, b.denominator))
             for row, b in zip(layer.weights, layer.bias)]
        if layer.activation.is_identity:
            h = z
        elif name == "relu":
            h = [sympy.Piecewise((zi, zi > 0), (0, True)) for zi in z]
        else:
            raise ValueError(f"layer {k}: sympy reference has no {name!r}")
    return x, h[output]


def _count_folded(folded, x, lo: Fraction, hi: Fraction) -> int:
    """Distinct consecutive pieces of a folded expression in ``x`` on ``[lo, hi]``.

    Every condition is built from relations linear in ``x``; between two
    consecutive roots of those relations each condition keeps its truth
    value, so one affine form holds there, read off at the midpoint.
    """
    import sympy

    a = sympy.Rational(lo.numerator, lo.denominator)
    b = sympy.Rational(hi.numerator, hi.denominator)
    points = {a, b}
    for rel in folded.atoms(sympy.core.relational.Relational):
        for root in sympy.solve(rel.lhs - rel.rhs, x):
            if root.is_real and a < root < b:
                points.add(root)
    ordered = sorted(points)
    branches = folded.args if isinstance(folded, sympy.Piecewise) else ((folded, sympy.true),)
    forms = []
    for left, right in zip(ordered, ordered[1:]):
        mid = (left + right) / 2
        expr = next(e for e, cond in branches if bool(cond.subs(x, mid)))
        poly = sympy.Poly(sympy.expand(expr), x)
        forms.append((poly.coeff_monomial(x), poly.coeff_monomial(1)))
    return 1 + sum(1 for f, g in zip(forms, forms[1:]) if f != g)


def _sympy_child(net, lo: Fraction, hi: Fraction, conn) -> None:
    import sympy

    start = time.perf_counter()
    x, expr = sympy_expression(net)
    folded = sympy.piecewise_fold(expr)
    fold_seconds = time.perf_counter() - start
    pieces = _count_folded(folded, x, lo, hi)
    conn.send((pieces, fold_seconds))
    conn.close()


def sympy_count(net, timeout: float = 60.0, domain: Sequence[object] = (0, 1)) -> SympyResult:
    """Count pieces with sympy, abandoning it after ``timeout`` seconds.

    ``net`` is a :class:`pwl.Network` or an int ``D`` (the triangle network
    of depth ``D``).  sympy runs in a child process, which is terminated at
    the timeout; the time includes starting the child.
    """
    if isinstance(net, int):
        from networks import triangle

        net = triangle(net)
    lo, hi = Fraction(domain[0]), Fraction(domain[1])
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    recv, send = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    child = ctx.Process(target=_sympy_child, args=(net, lo, hi, send), daemon=True)
    child.start()
    send.close()
    ready = recv.poll(timeout)
    seconds = time.perf_counter() - start
    if not ready:
        child.terminate()
        child.join()
        recv.close()
        return SympyResult(None, seconds, None, True)
    try:
        pieces, fold_seconds = recv.recv()
    except EOFError:   # the child died without an answer
        child.join()
        raise RuntimeError(f"sympy child exited with code {child.exitcode}") from None
    child.join()
    recv.close()
    return SympyResult(pieces, seconds, fold_seconds, False)


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------

def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """``(seconds, result)`` of one call, by :func:`time.perf_counter`."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def traced_peak_mb(fn: Callable[[], T]) -> tuple[float, T]:
    """``(MiB, result)``: the peak of memory traced by :mod:`tracemalloc`
    during one call (numpy reports its array buffers to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20, result


def max_rss_mb() -> float:
    """This process's peak resident set so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pwl_kernel_note() -> str:
    """Whether pwl runs its compiled kernel here (the ``fast`` extra)."""
    from pwl.engine import _jit  # at the call site: whatever pwl is installed now

    if _jit.kernels() is not None:
        return "pwl's compiled kernel: on (numba; PWL_JIT=off measures numpy alone)"
    return "pwl's compiled kernel: off (numpy alone; pip install -e '.[fast]' adds it)"

