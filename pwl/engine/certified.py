"""Counting in float64 with proven error bounds, undecided cases settled
locally and exactly.

This is the route for the networks people train: float weights (taken at
their exact binary value), decimals with many digits, wide layers, lines
through many-input models.  The bulk of the work is float64 BLAS; every
quantity carries a rigorous bound on its distance to the exact value, and a
decision is taken only when the bounds prove it.  What the bounds cannot
prove is settled by :mod:`pwl.engine.escalate`, for the regions concerned only.

Error analysis
--------------
Unit roundoff ``u = 2^-53``, ``gamma_n = n u / (1 - n u)``.  Arrays hold one
row per neuron; a neuron's slopes on the ``R`` regions and its intercepts sit
side by side in one row (``f = [a | c]``), so a layer is one product
``z~ = fl(fl(W~ h~) + [0 | b~])`` for both.  Each column ``j`` of ``f``
(one region's slopes, or its intercepts) carries

* per entry, ``|f~_ij - f_ij| <= e_ij``, and
* for the whole column, ``||f~_:j - f_:j||_2 <= E_j``.

With ``H_j = ||h~_:j||_2`` and ``delta = h~ - h`` (so ``||delta_:j|| <= E_j``),

    z~ - z = [fl(W~h~) - W~h~] + [(W~ - W) h~] + [W delta] + [b~ - b] + rounding of the add.

Higham's bound ``|fl(W~h~) - W~h~| <= gamma_n |W~||h~|`` (any order of
summation, BLAS included) and Cauchy-Schwarz per row ``w_i`` give, entry by
entry,

    e'_ij = ||w~_i|| (E_j + gamma_n H_j) + ||dw_i|| (H_j + E_j) + eb_i + u/(1-u) |z~_ij|,

and for the column, with the spectral norm ``||W||_2``,

    E'_j = ||W~||_2 E_j + gamma_n ||W~||_F H_j + ||dW||_F (H_j + E_j) + ||eb|| + u/(1-u) ||z~_:j||,

(``dW = W~ - W``: zero for weights that are floats, ``u |W~|`` for correctly
rounded others).  In deep networks the products' own rounding, grown
through the later layers, dominates; there the product is a sum of BLAS
products over blocks of ``b = 64`` inputs, and ``gamma_n`` becomes
``gamma_b + gamma_(n/b) (1 + gamma_b)`` (each block's product, then the
sum of the ``n/b`` partial products; 72u instead of 512u for 512 inputs).  The column bound grows by ``||W||_2`` per layer (about
2.8 for He-initialised layers of any width), where a componentwise bound
``|W| e`` grows by the row sums of ``|W|`` (about ``0.8 sqrt(n)``); that is
what keeps wide, deep networks decidable.  ``||W||_2`` is bounded
rigorously once per layer: with ``G~ = fl(W W^T)`` (``||G~ - G||_2 <=
gamma_n ||W||_F^2``), any approximate Cholesky factor ``L`` of
``B = fl(s I - G~)`` proves ``lambda_max(G~) <= s + delta + u max |B_ii|``
with ``delta = ||fl(B - fl(L L^T))||_F (1 + 2u) + gamma_m ||L||_F^2``, since
``L L^T`` is positive semidefinite and ``||B - L L^T||_2`` is at most
``delta`` (the residual as computed, plus the product's rounding): an a
posteriori certificate that holds whatever algorithm computed ``L``.
Where spectral bounds are asked for but the inherited error is at most a
tenth of the layer's own rounding (``E <= gamma_n H / 10``, a first wide
layer), ``||W||_F`` serves without a certificate: the column bound is then
at most a tenth above what the certificate would give.  The
certificate costs a Cholesky factorisation, more than the layer's product
when the partition has few regions, so ``||W||_F`` (free) stands in for
``||W||_2`` while it is good enough: while the bounds it would give, grown by
the Frobenius norms of all the remaining layers, leave fewer than
:data:`_ESCALATION_BUDGET` decisions expected to escalate (a decision fails
about as often as its bound's share of the form's norm).  Either factor
is a rigorous bound; the choice moves only the speed.  The expectation is
a guess, so it is checked: if a decision after a guessed layer needs
escalation, the run goes back to the first guessed layer and continues
with spectral bounds throughout.  A wrong guess costs the recomputation of
the layers after it, never an escalation that spectral bounds avoid.  The
first layer of a one-input network, applied to the form ``x``, has its
floats themselves as forms: no bound at all.  An
activation with slopes in ``{0, 1}`` (relu) multiplies exactly and can only
shrink both bounds; other slopes add their own rounding.  Every bound is
inflated by ``1 + 2^-30`` for the rounding of the bounds themselves, and
nonzero entries get an absolute slack of ``10^-290`` for underflow.

Decisions (each proven from the bounds, or escalated):

* a pre-activation's slope is nonzero if ``|a~| > e_a``, exactly zero if
  ``a~ = e_a = 0``; a constant's sign likewise;
* its root ``-c/a`` lies strictly inside, left of or right of a region if
  the root's interval and the region's end intervals are disjoint;
* two roots in one region are ordered if their intervals are disjoint;
* an output's form changes across a cut if the difference exceeds the
  bounds; it is the same if every neuron keeps its piece across the cut, or
  a whole relu layer is off on both sides (exact zeros).

Local escalation, for the regions with an undecided decision only, in two
tiers; each starts from a float point strictly inside the region, whose
activation pattern is read off layer by layer:

1. Balls (:meth:`_Run._ball_layers`): the region's forms recomputed in
   ``np.longdouble`` (unit roundoff 2^-64 on x86) under the same rigorous
   bounds as above, its ends tightened from their origin neurons' roots
   (each cut remembers the layer and neuron whose root it is); the float
   decisions are taken again on the rounded ball forms.  Skipped where
   ``np.longdouble`` is no more precise than float64.
2. Exact forms (:class:`pwl.engine.escalate.ExactChain`: float layers as
   exact products of 16-bit limbs in float64 BLAS, other layers as
   python-flint integer matrices) and exact ends for what is still undecided; after the floats
   are retried once more, the exact ties left (a root exactly on a cut,
   equal roots, a slope exactly 0) are decided in exact rational arithmetic
   for that region.

Output cuts the bounds cannot settle go first to float64 forms of their
two regions recomputed from a point inside each with spectral bounds
(:meth:`_Run._float_outputs`: BLAS products of two columns per region, and
bounds that hold whatever norms the run guessed), then to the balls
(which can prove that two forms differ) and then to exact output forms on
both sides.

From the second layer on, a network of wide relu layers is counted on
points rather than forms (:mod:`pwl.engine.vertex`: values at the
partition's points, half the product), under the same kind of bounds; a
decision the points cannot prove sends the count back to this route from
the layer where points began.  So the
counts are exact, and the cost of an undecided decision is one region's
forms through the network.

:class:`Undecided` remains only for numbers outside the float range (weights
or forms beyond 2^1023, or near the underflow); the front end then counts
with the exact engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np

from . import _jit
from ..values.domain import Domain
from ..values.network import Layer, Network

__all__ = ["Undecided", "CertifiedResult", "certified_count", "certified_counts", "applies"]

_U = 2.0**-53
_SAFE = 1.0 + 2.0**-30      # inflates every bound: covers rounding of the bounds themselves
_TINY = 1e-290              # absolute slack for underflow
_SMALLEST = 2.0**-900       # values below this could underflow: not decided here


def _gamma(n: int, u: Optional[float] = None) -> float:
    """``gamma_n`` for unit roundoff ``u`` (float64's, read at call time)."""
    u = _U if u is None else u
    return n * u / (1 - n * u)


class Undecided(Exception):
    """Numbers outside the float range: count with the exact engine instead."""


class _Rollback(Exception):
    """A decision needs escalation after a Frobenius guess: run again from
    the checkpoint (:meth:`_Run.run`)."""

    def __init__(self, snapshot: tuple[Any, ...]):
        super().__init__("rollback")
        self.snapshot = snapshot


@dataclass
class Decisions:
    """How the decisions were settled: by the first float64 pass, after a
    region's forms were recomputed in extended-precision balls (``ball``), or
    from its exact forms (``exact``); ``regions`` escalated in all; and the
    layers counted on points (:mod:`pwl.engine.vertex`), 0 on forms."""

    float64: int = 0
    ball: int = 0
    exact: int = 0
    regions: int = 0
    point_layers: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"float64": self.float64, "ball": self.ball, "exact": self.exact,
                "escalated_regions": self.regions, "point_layers": self.point_layers}


@dataclass(frozen=True)
class CertifiedResult:
    """Exact counts from the certified route, for every output."""

    pieces: tuple[int, ...]
    joint_pieces: int
    activation_regions: int
    decisions: dict[str, int] = field(default_factory=dict)


def applies(net: Network) -> bool:
    """Chains whose activations all have one kink, at 0, and no intercepts
    (relu, leaky_relu, abs); the output layer is affine."""
    if not net.is_chain or net.input_size != 1:
        return False
    layers = net.layers
    if layers[-1].activation.kinks:
        return False
    for layer in layers[:-1]:
        act = layer.activation
        if act.kinks and (act.kinks != (Fraction(0),) or any(act.intercepts)):
            return False
    return True


def _to_floats(values: list[Fraction]) -> tuple[np.ndarray, np.ndarray]:
    """Correctly rounded floats and bounds on their rounding errors: 0 where
    the number is a float (power-of-two denominator, at most 53 bits)."""
    try:
        # int / int is correctly rounded in Python, for any size
        approx = np.array([v.numerator / v.denominator for v in values], dtype=np.float64)
    except OverflowError:
        raise Undecided("a number beyond the float range") from None
    exact = np.array([(v.denominator & (v.denominator - 1)) == 0
                      and v.numerator.bit_length() <= 53 for v in values], dtype=bool)
    tiny = np.abs(approx) < 2.0**-1021
    if tiny.any():      # near the subnormals: decide exactness exactly
        for k in np.nonzero(tiny)[0].tolist():
            exact[k] = Fraction(float(approx[k])) == values[k]
    err = np.where(exact, 0.0, _U * np.abs(approx) + np.where(tiny, 2.0**-1073, 0.0))
    return approx, err


def _round_up(value: Fraction) -> float:
    """The least float at or above ``value`` (inf beyond the float range)."""
    try:
        f = value.numerator / value.denominator
    except OverflowError:
        return math.inf
    return f if Fraction(f) >= value else math.nextafter(f, math.inf)


def _norm_up(x: np.ndarray, axis: int) -> np.ndarray:
    """Upper bounds on the 2-norms along ``axis`` (float sum of squares:
    relative error at most gamma_n, the root adds u)."""
    n = x.shape[axis]
    sq = np.einsum("ij,ij->j" if axis == 0 else "ij,ij->i", x, x)
    out = np.sqrt(sq * (1 + 2 * _gamma(n + 2))) * (1 + 4 * _U)
    odd = (sq < 2.0**-900) | (sq > 2.0**1000)
    if odd.any():
        # squares may have underflowed or overflowed: sqrt(n) max |x| bounds
        # the norm too (over those columns or rows only: zero ones are common)
        part = x[:, odd] if axis == 0 else x[odd]
        top = np.abs(part).max(axis=axis, initial=0.0)
        out[odd] = top * (math.sqrt(n) * (1 + 4 * _U))
    return out


def _norm_from(sq: np.ndarray, top: np.ndarray, n: int) -> np.ndarray:
    """:func:`_norm_up` from sums of squares and largest magnitudes."""
    out = np.sqrt(sq * (1 + 2 * _gamma(n + 2))) * (1 + 4 * _U)
    odd = (sq < 2.0**-900) | (sq > 2.0**1000)
    if odd.any():
        out[odd] = top[odd] * (math.sqrt(n) * (1 + 4 * _U))
    return out


#: Block size of :func:`_cholesky`: LAPACK's factorisation of small blocks
#: runs on one thread; the updates are matrix products.
_BLOCK = 64


def _cholesky(a: np.ndarray) -> np.ndarray:
    """A lower-triangular ``L`` with ``L L^T`` close to ``a`` (right-looking,
    blocked, in ``a``'s precision); :class:`numpy.linalg.LinAlgError` if
    ``a`` is not numerically positive definite.  Only the residual check in
    :func:`spectral_bound` makes it rigorous, so any accurate factor will
    do; LAPACK's threaded factorisation of a whole matrix can stall on a
    busy machine."""
    n = a.shape[0]
    work = a.copy()
    low = np.zeros_like(a)
    for k in range(0, n, _BLOCK):
        e = min(k + _BLOCK, n)
        l11 = np.linalg.cholesky(work[k:e, k:e])
        low[k:e, k:e] = l11
        if e < n:
            l21 = work[e:, k:e] @ np.linalg.inv(l11).T
            low[e:, k:e] = l21
            work[e:, e:] -= l21 @ l21.T
    return low


def spectral_bound(w: np.ndarray, fro: float) -> float:
    """A rigorous upper bound on ``||W||_2`` for the float matrix ``w``,
    given an upper bound ``fro`` on its Frobenius norm (see the module notes).

    >>> b = spectral_bound(np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]]), 5.0)
    >>> 4.0 <= b < 4.1
    True
    """
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        return _spectral_bound(w, fro)


#: Lanczos steps for the estimate of the largest eigenvalue.
_LANCZOS_STEPS = 24

#: Matrices whose smaller side has at least this many rows, and the larger
#: at most twice as many, are certified in float32 (0.6 times the time of
#: float64, a bound 1 to 5 per cent above the norm instead of 1).
_SINGLE_MIN = 128

#: Unit roundoffs and smallest subnormals of float32 and float64.
_U32 = 2.0**-24
_TINY32 = 2.0**-149
_TINY64 = 2.0**-1074


def _ritz_top(g: np.ndarray) -> float:
    """An estimate from below of the largest eigenvalue of the symmetric
    positive semidefinite ``g``: the largest Ritz value of a Lanczos run
    with full reorthogonalisation (Ritz values interlace the eigenvalues, so
    the estimate is at most ``lambda_max`` up to rounding; at the dense edge
    of a random matrix's spectrum it converges far faster than the power
    method).  Products in ``g``'s precision.  Not rigorous and not meant to
    be: :func:`_spectral_bound` certifies whatever it is given."""
    m = g.shape[0]
    steps = min(m, _LANCZOS_STEPS)
    basis = np.zeros((steps, m))
    q = np.ones(m) / math.sqrt(m) + np.linspace(0, 1e-3, m)
    q /= np.linalg.norm(q)
    alpha, beta = [], []
    for j in range(steps):
        basis[j] = q
        w = (g @ q.astype(g.dtype)).astype(np.float64)
        a = float(q @ w)
        w -= basis[:j + 1].T @ (basis[:j + 1] @ w)     # full reorthogonalisation
        alpha.append(a)
        b = float(np.linalg.norm(w))
        if not b > 1e-12 * max(abs(a), 1e-300) or j == steps - 1:
            break
        beta.append(b)
        q = w / b
    k = len(alpha)
    tri = np.diag(alpha) + np.diag(beta[:k - 1], 1) + np.diag(beta[:k - 1], -1)
    top = float(np.linalg.eigvalsh(tri)[-1]) if k else 0.0
    return top if math.isfinite(top) else 0.0


def _fro_up(x: np.ndarray) -> float:
    """An upper bound on the Frobenius norm of a float32 or float64 matrix
    whose entries are at most 2^500 in magnitude: squares summed in
    float64 (exact squares of float32 entries; a float64 square that
    underflows loses less than the smallest subnormal)."""
    sq = float(np.einsum("ij,ij->", x, x, dtype=np.float64)) + x.size * _TINY64
    return math.sqrt(sq * (1 + 2 * _gamma(x.size + 2))) * (1 + 4 * _U)


def _spectral_bound(w: np.ndarray, fro: float) -> float:
    m = min(w.shape)
    if m <= 1 or not 0 < fro < math.inf:
        return fro
    k = max(w.shape)
    # scaled by a power of two to a Frobenius norm in [1/2, 1]: no overflow
    # anywhere below, and underflow only in amounts the bounds carry
    scale = math.frexp(fro)[1]
    # exact, but entries below 2^-1074 vanish (a product: ldexp is slower)
    ws = w * 2.0**-scale if abs(scale) < 1000 else np.ldexp(w, -scale)
    fs = math.ldexp(fro, -scale)
    dtype: Any
    if m >= _SINGLE_MIN and k <= 2 * m:
        dtype, u, tiny = np.float32, _U32, _TINY32
        wd = ws.astype(np.float32)
        # rounding to float32: |ws - wd| <= u |ws| + tiny / 2 per entry
        conv = (_U32 * fs + math.sqrt(m * k) * tiny) * (1 + 4 * _U)
    else:
        dtype, u, tiny = np.float64, _U, _TINY64
        wd = ws
        conv = math.sqrt(m * k) * tiny
    top = _certified_norm(wd, fs + conv, dtype, u, tiny)
    if top is None:
        return fro
    # ||ws||_2 <= ||wd||_2 + ||ws - wd||_F, and the scaling back is exact
    return min(fro, math.ldexp((top + conv) * (1 + 4 * _U), scale))


def _certified_norm(w: np.ndarray, fro: float, dtype: Any, u: float, tiny: float
                    ) -> Optional[float]:
    """A rigorous upper bound on ``||w||_2`` for ``w`` held in ``dtype``
    (unit roundoff ``u``, smallest subnormal ``tiny``), its entries at most
    1 in magnitude and ``fro`` above its Frobenius norm, from a Cholesky
    factor of ``s I - w w^T`` computed in ``dtype`` and checked a
    posteriori; None if no certificate was found."""
    m, k = min(w.shape), max(w.shape)
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    # ||fl(w w^T) - w w^T||_F <= gamma_k ||w||_F^2, plus k tiny per entry for underflow
    eg = (_gamma(k, u) * fro * fro + m * k * tiny) * (1 + 4 * _U)
    # a lower estimate (the largest Ritz value of a Lanczos run), then a
    # certificate above it; the estimate only chooses where to look
    lam = _ritz_top(g)
    diag = np.diagonal(g).astype(np.float64)
    s = max(lam, 0.0) * 1.02 + eg + 1e-30
    for _ in range(12):
        s = float(np.nextafter(dtype(s), dtype(np.inf)))   # a number of dtype, at or above s
        b = -g
        b[np.diag_indices(m)] = s - diag
        try:
            low = _cholesky(b)
        except np.linalg.LinAlgError:
            s = s * 1.25
            continue
        # B = L L^T + (B - L L^T), and L L^T is positive semidefinite, so
        # lambda_min(B) >= -||B - L L^T||_2: bounded from the computed
        # residual D = fl(B - fl(L L^T)) and the product's rounding
        # (gamma_m ||L||_F^2, m tiny per entry for underflow), whatever
        # algorithm produced L
        resid = b - low @ low.T
        fl = _fro_up(low)
        # (a product, not a power: a float power raises OverflowError)
        delta = ((_fro_up(resid) * (1 + 2 * u) + _gamma(m, u) * (fl * fl) + m * m * tiny)
                 * (1 + 4 * _U))
        # B's diagonal s - g_ii was rounded once
        bd = np.diagonal(b).astype(np.float64)
        top = s + delta + 2 * u * float(np.abs(bd).max())
        if not math.isfinite(top):
            return None
        return math.sqrt((top + eg) * (1 + 8 * _U)) * (1 + 4 * _U)
    return None


#: The layer's spectral norm is certified once the Frobenius norm, grown
#: through the remaining layers, would leave more than this many decisions
#: expected to escalate (module notes); the Frobenius norm serves until then.
#: The expectation is crude, so a wrong guess is caught: an escalation after
#: a Frobenius layer sends the run back to it with spectral bounds
#: (:meth:`_Run.run`).
_ESCALATION_BUDGET = 1.0

#: Column bounds at or below this are the underflow slack of exact zeros.
_FLOOR = 1e-280


_SLOPES: dict[tuple[Fraction, ...], list[tuple[float, float]]] = {}


def _slope_floats(slopes: tuple[Fraction, ...]) -> list[tuple[float, float]]:
    """An activation's slopes as (float, bound on its rounding), made once."""
    found = _SLOPES.get(slopes)
    if found is None:
        pairs = [_to_floats([v]) for v in slopes]
        found = _SLOPES[slopes] = [(float(f[0]), float(e[0])) for f, e in pairs]
    return found


class _LayerFloats:
    """A layer's weights, biases and activation slopes as floats with
    bounds, and the norms the error bounds need, computed once per network."""

    def __init__(self, layer: Layer) -> None:
        n_out, n_in = layer.n_out, layer.n_in
        ew: Optional[np.ndarray]
        eb: Optional[np.ndarray]
        if layer.approx is not None:
            # floats with rigorous bounds, exact entries deferred (a line's first layer)
            w, ew, b, eb = (np.asarray(x, dtype=np.float64).ravel() for x in layer.approx)
        elif layer.floats is not None:
            # the layer's exact entries are these floats: no rounding at all
            w, b = (np.asarray(a, dtype=np.float64).ravel() for a in layer.floats)
            ew = eb = None
        else:
            w, ew = _to_floats([v for row in layer.weights for v in row])
            b, eb = _to_floats(list(layer.bias))
        for m in (np.abs(w), np.abs(b)):
            if not m.max(initial=0.0) < np.inf:     # also catches a nan
                raise Undecided("weights beyond the float range")
            # (the smallest nonzero magnitude; the plain minimum settles most layers)
            if m.min(initial=np.inf) < _SMALLEST and \
                    np.min(m, where=m > 0, initial=np.inf) < _SMALLEST:
                raise Undecided("values too close to the float underflow")
        self.w = w.reshape(n_out, n_in)
        self.b = b[:, None]
        self.eb = np.zeros_like(self.b) if eb is None else eb[:, None]
        self.gamma = _gamma(n_in)
        self.row = _norm_up(self.w, axis=1)[:, None]          # ||w~_i||
        fro = float(_norm_up(self.row.T, axis=1)[0])          # ||W~||_F
        self.fro = fro
        if ew is None or not ew.any():
            self.drow = np.zeros_like(self.row)               # ||dw_i|| = 0
            self.dfro = 0.0
        else:
            self.drow = _norm_up(ew.reshape(n_out, n_in), axis=1)[:, None]   # ||dw_i||
            self.dfro = float(_norm_up(self.drow.T, axis=1)[0])              # ||dW||_F
        self._spectral: Optional[float] = None
        self.ebn = float(_norm_up(self.eb.T, axis=1)[0]) if eb is not None else 0.0  # ||eb||
        self.live = self.row > 0
        act = layer.activation
        self.kinked = bool(act.kinks)
        self.relu = act.is_relu
        self.slopes = _slope_floats(act.slopes)

    @property
    def spectral(self) -> float:
        """A rigorous upper bound on ``||W||_2``, computed on first use."""
        if self._spectral is None:
            self._spectral = spectral_bound(self.w, self.fro)
        return self._spectral

    def growth(self, E: np.ndarray, Ez: np.ndarray, tail: tuple[float, int],
               spectral: bool = False) -> tuple[float, bool]:
        """The factor for the inherited error ``E`` in the column bound, and
        whether it is the Frobenius norm standing in for the spectral one
        while the error is not zero: ``||W||_F`` while the decisions it
        would leave to escalation, to the last layer, stay below
        :data:`_ESCALATION_BUDGET` (module notes) and ``spectral`` is not
        asked for, else the spectral bound (a Cholesky certificate, computed
        once per layer, only where it is needed).  ``tail``: the product of
        the later layers' Frobenius norms, and the neurons from this layer on."""
        tail_fro, tail_width = tail
        if self._spectral is not None:
            return self._spectral, False
        if not E.max(initial=0.0) > 0:
            return self.fro, False          # nothing inherited: the factor does not matter
        if not spectral:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                share = np.where(Ez > 0, self.fro * E / np.where(Ez > 0, Ez, 1.0),
                                 np.where(E > _FLOOR, np.inf, 0.0))
                expected = float(share.max(initial=0.0)) * tail_fro * tail_width * E.size
            if expected <= _ESCALATION_BUDGET:
                return self.fro, True
        return self.spectral, False


def _layer_floats(layer: Layer) -> _LayerFloats:
    """The layer's floats and norms, made once and kept with the layer."""
    floats = layer._derived.get("certified")
    if floats is None:
        floats = layer._derived["certified"] = _LayerFloats(layer)
    return floats


#: The entry bounds after a relu: not kept (the next layer reads only the
#: column bounds ``E``).
_NO_BOUNDS = np.zeros((0, 0))


#: Inputs per block of a blocked product (:func:`_affine`).
_BLOCK_INPUTS = 64

#: Blocked products from the first layer on where :func:`_rounding_reach`
#: exceeds this: about where He-initialised networks begin to escalate.
_BLOCKED_ABOVE = 1e-8


def _rounding_reach(floats: list[_LayerFloats]) -> float:
    """A guess (not a bound) of the relative error the products' rounding
    leaves at the last layer: each layer adds ``gamma_n ||W||_F`` and
    multiplies what it inherits by about ``||W||_2``, guessed as
    ``||W||_F (1/sqrt(m) + 1/sqrt(n))`` (the edge of a random matrix's
    spectrum).  It only chooses the cheaper or the tighter product."""
    reach = 0.0
    for lf in floats:
        m, n = lf.w.shape
        grow = lf.fro * (1 / math.sqrt(m) + 1 / math.sqrt(n)) if min(m, n) > 1 else lf.fro
        reach = reach * grow + lf.gamma * lf.fro
    return reach


def _affine(f: np.ndarray, E: np.ndarray, layer: _LayerFloats, regions: int,
            tail: tuple[float, int], spectral: bool = False, blocked: bool = False
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``W f + [0 | b]`` with its entry and column bounds (module notes),
    and whether the Frobenius norm stood in for the spectral one
    (:meth:`_LayerFloats.growth`; ``spectral``: never).  ``blocked``: the
    product as a sum of products over blocks of :data:`_BLOCK_INPUTS`
    inputs, whose rounding is bounded by ``gamma_b + gamma_(n/b)`` instead
    of ``gamma_n`` (seven times less for 512 inputs, at a few tenths more
    time)."""
    n_in = layer.w.shape[1]
    gamma = layer.gamma
    if blocked and n_in > 2 * _BLOCK_INPUTS:
        # each block's product errs by gamma_b |W_blk| |f_blk|, the sum of the
        # nb partial products by gamma_nb times their magnitudes
        z = layer.w[:, :_BLOCK_INPUTS] @ f[:_BLOCK_INPUTS]
        for start in range(_BLOCK_INPUTS, n_in, _BLOCK_INPUTS):
            z += layer.w[:, start:start + _BLOCK_INPUTS] @ f[start:start + _BLOCK_INPUTS]
        gb, gnb = _gamma(_BLOCK_INPUTS), _gamma(-(-n_in // _BLOCK_INPUTS))
        gamma = (gb + gnb * (1 + gb)) * (1 + 4 * _U)
    else:
        z = layer.w @ f
    z[:, regions:] += layer.b
    H = _norm_up(f, axis=0)
    # per entry: ||w_i|| (E + gamma H) + ||dw_i|| (H + E) + eb + u/(1-u)|z|
    col = E + gamma * H
    coef = _U / (1 - _U)
    colslack = (H > 0) | (E > 0)
    compiled = _jit.kernels(z.size)
    if compiled is not None:
        cold = H + E if layer.dfro > 0 else np.zeros(0)
        err, zsq, zmax = compiled.affine_bounds(
            z, layer.row[:, 0], layer.drow[:, 0], col, cold, layer.eb[:, 0], regions, coef,
            _SAFE, _TINY, layer.live[:, 0], colslack, layer.eb[:, 0] > 0)
        Ez = _norm_from(zsq, zmax, z.shape[0])
    else:
        err = layer.row * col
        if layer.dfro > 0:
            err += layer.drow * (H + E)
        err[:, regions:] += layer.eb
        err += coef * np.abs(z)
        err *= _SAFE
        # exact zeros stay exact: a zero row (exact weights) or an exact zero column
        slack = layer.live & colslack
        slack[:, regions:] |= layer.eb > 0
        np.add(err, _TINY, out=err, where=slack)
        Ez = _norm_up(z, axis=0)
    # the column: ||W||_2 E + gamma ||W||_F H + ||dW||_F (H + E) + ||eb|| + u/(1-u)||z||
    if spectral and layer._spectral is None and not (E > 0.1 * gamma * H).any():
        # the inherited error is at most a tenth of this product's rounding:
        # the Frobenius norm costs at most a tenth more than a certificate
        factor, frobenius = layer.fro, False
    else:
        factor, frobenius = layer.growth(E, Ez, tail, spectral)
    En = factor * E + gamma * layer.fro * H + layer.dfro * (H + E)
    En[regions:] += layer.ebn
    En += coef * Ez
    En *= _SAFE
    En += _TINY * math.sqrt(z.shape[0])
    if not En.max(initial=0.0) < np.inf or not Ez.max(initial=0.0) < np.inf:
        raise Undecided("forms beyond the float range")   # also catches a nan
    if H.size and np.min(H, where=H > 0, initial=np.inf) < _SMALLEST:
        raise Undecided("values too close to the float underflow")
    return z, err, En, frobenius


#: Layers of at most this many neurons x regions take the fused kernel
#: (per-call overhead dominates them); larger ones the separate kernels.
_FUSED_MAX = 1 << 16

#: The unit roundoff of ``np.longdouble`` when it is more precise than
#: float64 (x86's 64-bit mantissa: 2^-64), else None (no ball tier).
_BALL_U: Optional[float] = (float(np.finfo(np.longdouble).eps) / 2
                            if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps / 8
                            else None)


def _affine_ld(f: np.ndarray, e: np.ndarray, E: np.ndarray, layer: _LayerFloats, regions: int, u: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_affine` in ``np.longdouble`` with unit roundoff ``u``, for a
    layer whose weights and biases are floats exactly (no rounding of their
    own); the norms of the layer are float64 upper bounds, valid here too."""
    ld = np.longdouble
    n_in = layer.w.shape[1]
    gamma = n_in * u / (1 - n_in * u)
    z = layer.w.astype(ld) @ f
    z[:, regions:] += layer.b.astype(ld)
    H = np.sqrt((f * f).sum(axis=0) * (1 + 2 * (n_in + 2) * u)) * (1 + 4 * u)
    col = E + gamma * H
    err = layer.row.astype(ld) * col + (u / (1 - u)) * np.abs(z)
    err *= _SAFE
    slack = layer.live & ((H > 0) | (E > 0))
    err = np.where(slack, err + _TINY, err)
    n = z.shape[0]
    Ez = np.sqrt((z * z).sum(axis=0) * (1 + 2 * (n + 2) * u)) * (1 + 4 * u)
    En = (layer.spectral * E + gamma * layer.fro * H + (u / (1 - u)) * Ez) * _SAFE
    En += _TINY * math.sqrt(n)
    if not (np.isfinite(En).all() and np.isfinite(err).all()):
        raise Undecided("forms beyond the float range")
    return z, err, En


def _scale(f: np.ndarray, e: np.ndarray, E: np.ndarray, s: float, es: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``s * f`` with its bounds (``s`` within ``es`` of the exact slope)."""
    out = f * s
    err = (e * abs(s) + np.abs(f) * es + _U * np.abs(out)) * _SAFE
    En = (E * abs(s) + _norm_up(f, axis=0) * es + _U * _norm_up(out, axis=0)) * _SAFE
    return out, err, En


def _apply(f: np.ndarray, e: np.ndarray, E: np.ndarray, on: np.ndarray, slopes: list[tuple[float, float]]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each neuron's slope on its piece (``slopes[0]`` below the kink,
    ``slopes[1]`` above) times its form, with bounds."""
    (s0, e0), (s1, e1) = slopes
    s = np.where(on, s1, s0)
    es = np.where(on, e1, e0)
    out = f * s
    err = (e * np.abs(s) + np.abs(f) * es + _U * np.abs(out)) * _SAFE
    smax, esmax = max(abs(s0), abs(s1)), max(e0, e1)
    En = (E * smax + _norm_up(f, axis=0) * esmax + _U * _norm_up(out, axis=0)) * _SAFE
    return out, err, En


def _floats_of(values: Any, den: int) -> np.ndarray:
    """Correctly rounded floats of exact integers over ``den``."""
    try:
        return np.array([int(v) / den for v in values], dtype=np.float64)
    except OverflowError:
        raise Undecided("forms beyond the float range") from None


def _float(value: Fraction) -> float:
    """The correctly rounded float of an exact value, or :class:`Undecided`."""
    try:
        return value.numerator / value.denominator
    except OverflowError:
        raise Undecided("a number beyond the float range") from None


def _rounding(value: Fraction, approx: float) -> float:
    """An upper bound on ``|value - approx|`` (0 when exact)."""
    d = abs(Fraction(approx) - value)
    return 0.0 if d == 0 else _round_up(d)


@dataclass
class _Decided:
    """The float decisions of one layer's cut, for every neuron and region."""

    below: np.ndarray
    inside: np.ndarray
    on: np.ndarray          # on just right of the region's left end
    root: np.ndarray
    er: np.ndarray
    undecided: np.ndarray   # per (neuron, region)
    #: the (neuron, region) pairs of the roots inside, by region then value,
    #: when every decision is proven (:meth:`_Run._undecided_regions`)
    ordered: Optional[tuple[np.ndarray, np.ndarray]] = None


def _decide(za: np.ndarray, zc: np.ndarray, eza: np.ndarray, ezc: np.ndarray, left: np.ndarray, eleft: np.ndarray, right: np.ndarray,
            eright: np.ndarray) -> _Decided:
    """Every decision of a cut that the bounds prove; the rest marked."""
    aa = np.abs(za)
    nonzero = aa > eza
    zero_slope = (za == 0) & (eza == 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.negative(zc)
        root /= za
        # |-c/a - root| <= (ec + |c/a| ea) / (|a| - ea), plus the division's rounding
        ar = np.abs(root)
        er = ar * eza
        er += ezc
        er /= aa - eza
        er *= _SAFE
        er += 2 * _U * ar
        er += _TINY
        lower = root - er
        upper = root + er
        below = nonzero & (upper < left - eleft)        # root left of the region
        above = nonzero & (lower > right + eright)      # root right of the region
        inside = nonzero & (lower > left + eleft) & (upper < right - eright)
    # constant pre-activations: certified sign, or exactly zero (below the kink)
    const_known = zero_slope & ((np.abs(zc) > ezc) | ((zc == 0) & (ezc == 0)))
    decided = below | above | inside | const_known
    # on just right of the left end: for a root left of the region, rising;
    # for a root inside or right of it, falling
    on = np.where(zero_slope, zc > ezc, (za > 0) == below)
    return _Decided(below, inside, on, root, er, ~decided)


class _Run:
    """One certified count: the cuts, their bounds and origins, the forms."""

    def __init__(self, net: Network, domain: Domain,
                 progress: Optional[Callable[[int, int], None]] = None, points: bool = True):
        self.net = net
        self.layers = net.layers
        memo = net._memo.certified
        if memo is None:
            floats = [_layer_floats(layer) for layer in self.layers]
            # per layer: the product of the later layers' Frobenius norms and
            # the neurons from this layer on
            tails: list[tuple[float, int]] = []
            tail_fro, tail_width = 1.0, 0
            for lf in reversed(floats):
                tail_width += lf.w.shape[0]
                tails.append((tail_fro, tail_width))
                tail_fro *= lf.fro
            memo = net._memo.certified = [floats, tails[::-1]]
        self.floats, self.tails = memo
        self.lo: Optional[Fraction] = None if domain is None else domain[0]
        self.hi: Optional[Fraction] = None if domain is None else domain[1]
        self.ends = (self._end(self.lo), self._end(self.hi))
        self.progress = progress
        self.decisions = Decisions()
        self._chain: Optional[Any] = None
        # cuts: floats with bounds, sorted and certified distinct; where a
        # cut came from, for its exact value; exact values known so far
        self.xs = np.zeros(0)
        self.ex = np.zeros(0)
        self.origin_layer = np.zeros(0, dtype=np.int64)
        self.origin_neuron = np.zeros(0, dtype=np.int64)
        self.exact_cuts: dict[int, Fraction] = {}
        # the guess of Frobenius norms (:meth:`run`): where to go back to, and
        # whether the guess is off
        self.checkpoint: Optional[tuple[Any, ...]] = None
        self.resume: Optional[tuple[Any, ...]] = None
        self.spectral_only = False
        # blocked products (:func:`_affine`) for networks deep enough that
        # the products' rounding would reach the decisions, or once a layer
        # has escalated
        self.blocked = _rounding_reach(self.floats) > _BLOCKED_ABOVE
        #: wide layers on points (:mod:`pwl.engine.vertex`) where they apply
        self.points = points

    @staticmethod
    def _end(value: Optional[Fraction]) -> Optional[tuple[float, float]]:
        if value is None:
            return None
        f = _float(value)
        return f, max(_rounding(value, f), 2 * _U * abs(f))

    @property
    def chain(self) -> Any:
        if self._chain is None:
            chain = self.net._memo.exact_chain
            if chain is None:
                from .escalate import ExactChain

                chain = self.net._memo.exact_chain = ExactChain(self.net)
            self._chain = chain
        return self._chain

    # -- region ends -------------------------------------------------------

    def _bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each region's left and right end as (value, bound); infinities for rays."""
        xs, ex = self.xs, self.ex
        n = xs.size + 1
        left, eleft = np.empty(n), np.empty(n)
        right, eright = np.empty(n), np.empty(n)
        left[1:], eleft[1:] = xs, ex
        right[:-1], eright[:-1] = xs, ex
        lo, hi = self.ends
        left[0], eleft[0] = (-math.inf, 0.0) if lo is None else lo
        right[-1], eright[-1] = (math.inf, 0.0) if hi is None else hi
        return left, eleft, right, eright

    def _end_exact(self, region: int, right: bool) -> tuple[Optional[Fraction], Optional[Fraction]]:
        """An end of a region: (exact value if known, else None; a rational
        bound towards the inside, None for an infinite end)."""
        cut = region if right else region - 1
        if cut < 0:
            return self.lo, self.lo
        if cut >= self.xs.size:
            return self.hi, self.hi
        exact = self.exact_cuts.get(cut)
        if exact is not None:
            return exact, exact
        x, e = Fraction(float(self.xs[cut])), Fraction(float(self.ex[cut]))
        return None, (x - e if right else x + e)

    def _interior(self, region: int) -> Fraction:
        """A rational strictly inside a region (a short one where possible)."""
        _, a = self._end_exact(region, False)
        _, b = self._end_exact(region, True)
        if a is None:
            return Fraction(0) if b is None else Fraction(math.floor(b) - 1)
        if b is None:
            return Fraction(math.floor(a) + 1)
        if not a < b:
            raise AssertionError("a region narrower than its ends' bounds")  # pragma: no cover
        mid = (float(a) + float(b)) / 2
        q = Fraction(mid)
        return q if a < q < b else (a + b) / 2

    def _exact_forms(self, regions: list[int], upto: int) -> Any:
        points = [self._interior(r) for r in regions]
        return self.chain.forms(points, upto)

    def _settle_ends(self, regions: list[int], forms: Any) -> None:
        """Exact values of the regions' ends, from their exact forms: a cut
        is the root of its origin neuron at its origin layer, whose form is
        the same on every region inside the region it cut."""
        for j, r in enumerate(regions):
            for cut in (r - 1, r):
                if cut < 0 or cut >= self.xs.size or cut in self.exact_cuts:
                    continue
                value = forms.root(int(self.origin_layer[cut]), int(self.origin_neuron[cut]), j)
                self.exact_cuts[cut] = value
                x = _float(value)
                self.xs[cut] = x
                self.ex[cut] = _rounding(value, x)

    # -- one layer's cut ---------------------------------------------------

    def refine(self, k: int, f: np.ndarray, e: np.ndarray, E: np.ndarray, same: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cut the regions where layer ``k``'s pre-activations ``f`` cross
        their kink: float decisions first; undecided regions escalated to
        balls, then to exact forms, for those regions only."""
        n_regions = self.xs.size + 1
        width = f.shape[0]
        d = self._decide_all(f, e, n_regions)
        escalate = self._undecided_regions(d)
        exact_regions: dict[int, list[Any]] = {}
        if escalate.size:
            self._escalating()
            self.blocked = True
        self.decisions.float64 += width * (n_regions - escalate.size)
        regions = escalate.tolist()
        if regions:
            self.decisions.regions += len(regions)
            done = self._ball(regions, k, f, e, E, n_regions) if _BALL_U is not None else []
            if done:
                self._redecide(d, done, f, e, n_regions)
                regions = self._undecided_regions(d).tolist()
                # a region the balls could not settle counts once, as exact
                self.decisions.ball += width * len(set(done) - set(regions))
        if regions:
            forms = self._exact_forms(regions, k)
            self._settle_ends(regions, forms)
            den = forms.den[k]
            for j, r in enumerate(regions):
                for part, arr in ((0, forms.a[k]), (n_regions, forms.c[k])):
                    exact = arr[:, j].tolist()
                    vals = _floats_of(exact, den)
                    f[:, part + r] = vals
                    # one rounding; an absolute slack for what underflows
                    err = 2 * _U * np.abs(vals)
                    err[np.array([v != 0 for v in exact], dtype=bool)] += _TINY
                    e[:, part + r] = err
                    E[part + r] = float(_norm_up(err[:, None], axis=0)[0]) * _SAFE
            # the float decisions again, on the exact forms' floats and ends
            self._redecide(d, regions, f, e, n_regions)
            for r in self._undecided_regions(d).tolist():
                exact_regions[r] = self._exact_region(r, forms, regions.index(r), k, d)
            self.decisions.exact += width * len(regions)
        return self._splice(k, f, e, E, same, d, exact_regions)

    def _redecide(self, d: _Decided, regions: list[int], f: np.ndarray, e: np.ndarray,
                  n_regions: int) -> None:
        """The float decisions of some regions again, on new forms and ends."""
        cols = np.array(regions)
        left, eleft, right, eright = self._bounds()
        sub = _decide(f[:, cols], f[:, n_regions + cols], e[:, cols], e[:, n_regions + cols],
                      left[cols], eleft[cols], right[cols], eright[cols])
        for name in ("below", "inside", "on", "root", "er", "undecided"):
            getattr(d, name)[:, cols] = getattr(sub, name)

    def _ball_layers(self, regions: list[int], k: int) -> Optional[tuple[Any, ...]]:
        """The forms of layers ``0..k`` on some regions in extended-precision
        balls (``np.longdouble``, unit roundoff :data:`_BALL_U`), with the
        same rigorous bounds as float64, from a float point inside each
        region; ``(regions done, [(z, bounds) per layer])``, columns as
        :func:`_affine`'s, or None where the tier does not apply.  A region
        whose point lies too near a kink to read its pattern is left out."""
        if _BALL_U is None or not self._ball_applies(k):
            return None
        cols, xs = self._float_interiors(regions)   # floats: exact in longdouble
        if not cols:
            return None
        ld = np.longdouble
        u = _BALL_U
        m = len(cols)
        xv = np.array(xs, dtype=ld)
        ax = np.abs(xv)
        h = np.zeros((1, 2 * m), dtype=ld)
        h[0, :m] = 1
        eh = np.zeros((1, 2 * m), dtype=ld)
        Eh = np.zeros(2 * m, dtype=ld)
        ok = np.ones(m, dtype=bool)
        layers_ld = []
        for j in range(k + 1):
            z, ez, Ez = _affine_ld(h, eh, Eh, self.floats[j], m, u)
            layers_ld.append((z, ez))
            if j == k:
                break
            on, read = _pattern_at(z, ez, m, xv, ax, u)
            ok &= read
            on2 = np.concatenate([on, on], axis=1)
            h = np.where(on2, z, 0)
            eh = np.where(on2, ez, 0)
            dead = ~on.any(axis=0)
            Eh = np.where(np.concatenate([dead, dead]), 0, Ez)
        return [r for t, r in enumerate(cols) if ok[t]], [t for t in range(m) if ok[t]], \
            layers_ld, m

    def _ball(self, regions: list[int], k: int, f: np.ndarray, e: np.ndarray, E: np.ndarray,
              n_regions: int) -> list[int]:
        """Re-anchor some regions' layer-``k`` forms from balls
        (:meth:`_ball_layers`) and tighten their ends' bounds likewise;
        returns the regions so re-anchored (the others go to the exact tier)."""
        got = self._ball_layers(regions, k)
        if got is None:
            return []
        done, index, layers_ld, m = got
        z, ez = layers_ld[k]
        u = _BALL_U
        assert u is not None
        for r, t in zip(done, index):
            for part, q in ((0, t), (n_regions, m + t)):
                col = z[:, q]
                vals = col.astype(np.float64)
                # the conversion rounds once; the ball's radius, rounded up
                err = (ez[:, q].astype(np.float64) * (1 + 2**-50) + 2 * _U * np.abs(vals))
                err[(col != 0) | (ez[:, q] != 0)] += _TINY
                f[:, part + r] = vals
                e[:, part + r] = err
                E[part + r] = float(_norm_up(err[:, None], axis=0)[0]) * _SAFE
            for cut in (r - 1, r):
                if 0 <= cut < self.xs.size and cut not in self.exact_cuts:
                    a_l, c_l = layers_ld[int(self.origin_layer[cut])]
                    self._tighten(cut, a_l, c_l, int(self.origin_neuron[cut]), t, m, u)
        return done

    def _float_interiors(self, regions: list[int]) -> tuple[list[int], list[float]]:
        """The regions whose point inside (:meth:`_interior`) is a float, and
        those points."""
        cols, xs = [], []
        for r in regions:
            p = self._interior(r)
            x = _float(p)
            if Fraction(x) == p:
                cols.append(r)
                xs.append(x)
        return cols, xs

    def _ball_applies(self, k: int) -> bool:
        for j in range(k + 1):
            layer = self.floats[j]
            if layer.dfro > 0 or layer.ebn > 0 or (j < k and not layer.relu):
                return False
        return True

    def _tighten(self, cut: int, z: np.ndarray, ez: np.ndarray, neuron: int, t: int, m: int,
                 u: float) -> None:
        """A tighter bound on a cut, the root of its origin neuron's ball form;
        kept only if it lies inside the old one (so cuts stay disjoint)."""
        a, c = z[neuron, t], z[neuron, m + t]
        ea, ec = ez[neuron, t], ez[neuron, m + t]
        if not abs(a) > ea:
            return
        root = -c / a
        er = ((abs(root) * ea + ec) / (abs(a) - ea) * _SAFE + 4 * u * abs(root))
        lo = math.nextafter(float(root - er), -math.inf)
        hi = math.nextafter(float(root + er), math.inf)
        centre = (lo + hi) / 2
        radius = math.nextafter(max(centre - lo, hi - centre, 2 * _U * abs(centre)), math.inf)
        x, ex = float(self.xs[cut]), float(self.ex[cut])
        if not radius < ex:
            return
        fc, fr, fx, fe = Fraction(centre), Fraction(radius), Fraction(x), Fraction(ex)
        if fx - fe <= fc - fr and fc + fr <= fx + fe:
            self.xs[cut], self.ex[cut] = centre, radius

    def _decide_all(self, f: np.ndarray, e: np.ndarray, n_regions: int) -> _Decided:
        left, eleft, right, eright = self._bounds()
        compiled = _jit.kernels(f.size // 2)
        if compiled is not None:
            # the same float operations in the same order, in one pass
            return _Decided(*compiled.decide_certified(f, e, left, eleft, right, eright,
                                                       _SAFE, _U, _TINY))
        return _decide(f[:, :n_regions], f[:, n_regions:], e[:, :n_regions], e[:, n_regions:],
                       left, eleft, right, eright)

    @staticmethod
    def _undecided_regions(d: _Decided) -> np.ndarray:
        """Regions with an undecided entry, or two roots too close to order."""
        bad: np.ndarray = np.asarray(d.undecided.any(axis=0))
        sure = not bad.any()
        i, r = np.nonzero(d.inside if sure else d.inside & ~bad[None, :])
        if r.size > 1:
            v, ev = d.root[i, r], d.er[i, r]
            order = np.lexsort((v, r))
            i, r, v, ev = i[order], r[order], v[order], ev[order]
            close = (r[1:] == r[:-1]) & (v[:-1] + ev[:-1] >= v[1:] - ev[1:])
            bad[r[1:][close]] = True
        out = np.nonzero(bad)[0]
        d.ordered = (i, r) if sure and not out.size else None
        return out

    def _exact_region(self, r: int, forms: Any, j: int, k: int, d: _Decided
                      ) -> list[tuple[Fraction, list[int]]]:
        """Every decision of region ``r`` in exact arithmetic; returns the
        region's roots inside it, grouped by exact value, in order."""
        lo, _ = self._end_exact(r, False)
        hi, _ = self._end_exact(r, True)
        a_col, c_col = forms.a[k][:, j], forms.c[k][:, j]
        groups: dict[Fraction, list[int]] = {}
        for i in range(a_col.shape[0]):
            a, c = int(a_col[i]), int(c_col[i])
            d.undecided[i, r] = False
            if a == 0:
                d.on[i, r] = c > 0
                d.below[i, r] = d.inside[i, r] = False
                continue
            root = Fraction(-c, a)
            below = lo is not None and root <= lo
            above = hi is not None and root >= hi
            d.below[i, r] = below
            d.on[i, r] = (a > 0) == below
            d.inside[i, r] = not (below or above)
            if d.inside[i, r]:
                groups.setdefault(root, []).append(i)
        return sorted(groups.items())

    def _splice(self, k: int, f: np.ndarray, e: np.ndarray, E: np.ndarray, same: np.ndarray, d: _Decided,
                exact_regions: dict[int, list[Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The new partition: cuts, their bounds, origins and exact values;
        forms, bounds and pieces gathered onto the new regions."""
        xs, ex = self.xs, self.ex
        n_regions = xs.size + 1
        on = d.on
        exact_root: dict[tuple[int, int], Fraction] = {}
        if exact_regions:
            d.ordered = None
            key = d.root.copy()
            dup: Optional[np.ndarray] = np.zeros(on.shape, dtype=bool)
        else:
            key, dup = d.root, None
        for region, groups in exact_regions.items():
            assert dup is not None
            for rank, (value, neurons) in enumerate(groups):
                x = _float(value)
                for t, neuron in enumerate(neurons):
                    key[neuron, region] = rank
                    d.root[neuron, region] = x
                    d.er[neuron, region] = _rounding(value, x)
                    dup[neuron, region] = t > 0
                exact_root[(neurons[0], region)] = value
        if d.ordered is not None:       # the float decisions' order, found already
            i, r = d.ordered
        else:
            i, r = np.nonzero(d.inside)
            order = np.lexsort((key[i, r], r))
            i, r = i[order], r[order]
        if r.size == 0:
            return np.arange(n_regions), on, same
        v, ev = d.root[i, r], d.er[i, r]
        uniq = np.ones(r.size, dtype=bool) if dup is None else ~dup[i, r]
        ru, iu = r[uniq], i[uniq]
        per_region = np.bincount(ru, minlength=n_regions)
        cum = np.cumsum(per_region)
        total = n_regions + ru.size
        old_pos = np.arange(n_regions - 1) + cum[:-1]
        new_pos = ru + np.arange(ru.size)
        nx = np.empty(total - 1)
        nex = np.empty(total - 1)
        nx[old_pos], nex[old_pos] = xs, ex
        nx[new_pos], nex[new_pos] = v[uniq], ev[uniq]
        layer_of = np.empty(total - 1, dtype=np.int64)
        neuron_of = np.empty(total - 1, dtype=np.int64)
        layer_of[old_pos], neuron_of[old_pos] = self.origin_layer, self.origin_neuron
        layer_of[new_pos], neuron_of[new_pos] = k, iu
        exact_cuts = {int(old_pos[c]): value for c, value in self.exact_cuts.items()}
        if exact_root:
            for pos, ii, rr in zip(new_pos.tolist(), iu.tolist(), ru.tolist()):
                value = exact_root.get((ii, rr))
                if value is not None:
                    exact_cuts[pos] = value
        self.xs, self.ex = nx, nex
        self.origin_layer, self.origin_neuron = layer_of, neuron_of
        self.exact_cuts = exact_cuts
        new_same = np.ones(total - 1, dtype=bool)
        new_same[old_pos] = same
        source = np.repeat(np.arange(n_regions), per_region + 1)
        # each root flips its neuron from the new region right of its cut to
        # the end of its old region (a neuron crosses 0 at most once per region)
        on = np.take(on, source, axis=1)
        cut_of = np.cumsum(uniq) - 1
        flip_rows = new_pos[cut_of] + 1
        lengths = r + cum[r] - flip_rows + 1
        cells = int(lengths.sum())
        rows = np.arange(cells) + np.repeat(flip_rows - (np.cumsum(lengths) - lengths), lengths)
        on[np.repeat(i, lengths), rows] ^= True
        return source, on, new_same

    # -- the whole network -------------------------------------------------

    def run(self) -> CertifiedResult:
        """The count: layer by layer, in float64 with bounds.  A layer whose
        Frobenius norm stood in for its spectral one (a guess that the
        cheaper bound suffices) leaves a checkpoint; if a decision after it
        then needs escalation, the run goes back to the first checkpoint
        and continues with spectral bounds throughout, so the guess costs
        at most a recomputation and never an escalation."""
        while True:
            try:
                return self._layers()
            except _Rollback as back:
                self._restore(back.snapshot)
                self.spectral_only = True

    def _layers(self) -> CertifiedResult:
        layers = self.layers
        last = len(layers) - 1
        if self.resume is None:
            k0 = 0
            f = np.array([[1.0, 0.0]])
            e = np.zeros((1, 2))
            E = np.zeros(2)
            # per cut: are the current layer's forms exactly the same on both sides?
            same = np.zeros(0, dtype=bool)
        else:
            k0, f, e, E, same = self.resume
            self.resume = None
        hidden_regions = 1
        for k in range(k0, last + 1):
            layer = self.floats[k]
            regions = self.xs.size + 1
            if k == 1 and self.points:
                from . import vertex
                if vertex.applies(self):
                    # wide layers: values at points, half the product (pwl.engine.vertex)
                    return vertex.vertex_layers(self, k, f, E, same)
            snapshot = None if self.spectral_only or self.checkpoint is not None else \
                self._snapshot(k, f, e, E, same)
            if k == 0 and layer.w.shape[1] == 1 and layer.dfro == 0 and layer.ebn == 0:
                # the first layer of a one-input network, on the form x: its
                # forms are its floats themselves, exactly (no bound at all)
                f = np.concatenate([layer.w, layer.b], axis=1)
                e, E, frobenius = np.zeros(f.shape), np.zeros(f.shape[1]), False
            else:
                f, e, E, frobenius = _affine(f, E, layer, regions, self.tails[k],
                                             self.spectral_only, self.blocked)
            if frobenius and snapshot is not None:
                self.checkpoint = snapshot
            if k == last:
                hidden_regions = regions
                break
            if not layer.kinked:
                f, e, E = _scale(f, e, E, *layer.slopes[0])
                continue
            fused = self.refine_fused(k, f, e, E, same, layer.relu)
            if fused is not None:
                f, e, E, on, same = fused
                if not layer.relu:
                    f, e, E = _apply(f, e, E, np.concatenate([on, on], axis=1), layer.slopes)
                self._after_layer(k, layer, on, same)
                continue
            source, on, same = self.refine(k, f, e, E, same)
            E = np.concatenate([E[:regions][source], E[regions:][source]])
            compiled = _jit.kernels(f.shape[0] * source.size)
            if layer.relu and compiled is not None:
                f, esq, emax = compiled.gather_on(f, e, source, on)
                e = _NO_BOUNDS
                # ||D delta|| <= ||D e||: the entries left on bound the error
                np.minimum(E, _norm_from(esq, emax, f.shape[0]) * _SAFE, out=E)
            else:
                both = np.concatenate([source, source + regions])
                f, e = np.take(f, both, axis=1), np.take(e, both, axis=1)
                on2 = np.concatenate([on, on], axis=1)
                if layer.relu:
                    f *= on2
                    e *= on2
                    # ||D delta|| <= ||D e||, as the compiled gather computes it
                    np.minimum(E, _norm_up(e, axis=0) * _SAFE, out=E)
                else:
                    f, e, E = _apply(f, e, E, on2, layer.slopes)
            self._after_layer(k, layer, on, same)
        pieces, joint = self._pieces(f, e, same, last)
        return CertifiedResult(pieces, joint, hidden_regions, self.decisions.as_dict())

    def _snapshot(self, k: int, f: np.ndarray, e: np.ndarray, E: np.ndarray, same: np.ndarray
                  ) -> tuple[Any, ...]:
        """What :meth:`_restore` needs to run again from layer ``k``."""
        return ((k, f, e, E, same.copy()), self.xs.copy(), self.ex.copy(),
                self.origin_layer, self.origin_neuron, dict(self.exact_cuts),
                Decisions(**vars(self.decisions)))

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        (self.resume, self.xs, self.ex, self.origin_layer, self.origin_neuron,
         self.exact_cuts, self.decisions) = snapshot
        self.checkpoint = None

    def _escalating(self) -> None:
        """Called before any escalation: back to the checkpoint, if any."""
        if self.checkpoint is not None:
            raise _Rollback(self.checkpoint)

    def _after_layer(self, k: int, layer: _LayerFloats, on: np.ndarray, same: np.ndarray) -> None:
        """``same`` (in place) and progress, after layer ``k``'s cut."""
        if same.size:
            # the same forms and pieces on both sides give the same outputs,
            # and so does a layer that is off on both sides (all exact zeros)
            same &= (on[:, 1:] == on[:, :-1]).all(axis=0)
            if layer.relu:
                dead: np.ndarray = np.asarray(~on.any(axis=0))
                same |= dead[1:] & dead[:-1]
        if self.progress is not None:
            self.progress(k, self.xs.size + 1)

    def refine_fused(self, k: int, f: np.ndarray, e: np.ndarray, E: np.ndarray, same: np.ndarray, relu: bool
                     ) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The whole cut of a small layer in one compiled call when floats
        decide everything; None (nothing changed) otherwise, and for large
        layers, where the separate kernels are faster."""
        if f.size // 2 > _FUSED_MAX:
            return None
        compiled = _jit.kernels(f.size // 2)
        if compiled is None:
            return None
        lo, hi = self.ends
        bounds = np.array([-math.inf if lo is None else lo[0], 0.0 if lo is None else lo[1],
                           math.inf if hi is None else hi[0], 0.0 if hi is None else hi[1]])
        (status, nx, nex, source, on, nf, ne, new_same, who, esq,
         emax) = compiled.refine_certified(f, e, self.xs, self.ex, bounds, same, _SAFE, _U,
                                           _TINY, relu)
        if status != _jit.OK:
            return None
        n_regions = self.xs.size + 1
        self.decisions.float64 += f.shape[0] * n_regions
        # where the cuts came from: old cuts keep theirs, new ones are this layer's
        old = np.nonzero(who < 0)[0]
        layer_of = np.full(nx.size, k, dtype=np.int64)
        layer_of[old] = self.origin_layer
        who[old] = self.origin_neuron
        if self.exact_cuts:
            self.exact_cuts = {int(old[c]): v for c, v in self.exact_cuts.items()}
        self.xs, self.ex = nx, nex
        self.origin_layer, self.origin_neuron = layer_of, who
        E = np.concatenate([E[:n_regions][source], E[n_regions:][source]])
        if relu:
            # ||D delta|| <= ||D e||: the entries left on bound the error
            np.minimum(E, _norm_from(esq, emax, f.shape[0]) * _SAFE, out=E)
        return nf, ne, E, on, new_same

    def _pieces(self, f: np.ndarray, e: np.ndarray, same: np.ndarray, last: int
                ) -> tuple[tuple[int, ...], int]:
        """Pieces of every output and jointly: 1 + cuts where a form
        provably changes (and not where ``same`` proves it unchanged); cuts
        the bounds cannot settle get exact forms on both sides."""
        n_cuts = self.xs.size
        outputs = f.shape[0]
        if n_cuts == 0:
            return (1,) * outputs, 1
        regions = n_cuts + 1
        a, c = f[:, :regions], f[:, regions:]
        ea, ec = e[:, :regions], e[:, regions:]
        da, dc = np.abs(a[:, 1:] - a[:, :-1]), np.abs(c[:, 1:] - c[:, :-1])
        differ = ((da > (ea[:, 1:] + ea[:, :-1]) * _SAFE + 2 * _U * da)
                  | (dc > (ec[:, 1:] + ec[:, :-1]) * _SAFE + 2 * _U * dc))
        equal = same[None, :] | ((a[:, 1:] == a[:, :-1]) & (c[:, 1:] == c[:, :-1])
                                 & (ea[:, 1:] == 0) & (ea[:, :-1] == 0)
                                 & (ec[:, 1:] == 0) & (ec[:, :-1] == 0))
        return self._settle_outputs(differ, ~differ & ~equal, last)

    def _settle_outputs(self, differ: np.ndarray, unsure: np.ndarray, last: int
                        ) -> tuple[tuple[int, ...], int]:
        """Pieces of every output and jointly from the cuts where an output
        provably changes (``differ``), after settling the ``unsure`` ones
        in balls and then exactly (both in place)."""
        outputs, n_cuts = differ.shape
        self.decisions.float64 += outputs * n_cuts - int(unsure.sum())
        cuts = np.nonzero(unsure.any(axis=0))[0]
        if cuts.size:
            # float64 still, and bounds that hold whatever the guess of norms
            self._float_outputs(cuts, unsure, differ, last)
            cuts = np.nonzero(unsure.any(axis=0))[0]
        if cuts.size:
            self._escalating()
            self._ball_outputs(cuts, unsure, differ, last)
            cuts = np.nonzero(unsure.any(axis=0))[0]
        if cuts.size:
            self.decisions.exact += int(unsure.sum())
            # both sides of every unsure cut, each region once
            regions_needed = sorted(set(cuts.tolist()) | set((cuts + 1).tolist()))
            forms = self._exact_forms(regions_needed, last)
            col = {r: j for j, r in enumerate(regions_needed)}
            fa, fc = forms.a[last], forms.c[last]
            for cut in cuts.tolist():
                jl, jr = col[cut], col[cut + 1]
                for o in np.nonzero(unsure[:, cut])[0].tolist():
                    differ[o, cut] = fa[o, jl] != fa[o, jr] or fc[o, jl] != fc[o, jr]
        pieces = tuple(1 + int(n) for n in differ.sum(axis=1))
        return pieces, 1 + int(differ.any(axis=0).sum())

    def _float_forms(self, regions: list[int], k: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Layer ``k``'s forms on a few regions, recomputed in float64 from
        a float point inside each (its pattern read off layer by layer, as
        :meth:`_ball_layers` does) with the bounds of :func:`_affine`:
        ``(regions done, forms [a | c], entry bounds)``.  Values at points
        (:mod:`pwl.engine.vertex`) know a short region's slope only to their
        own error over its width; its forms know it directly."""
        cols, xs = self._float_interiors(regions)
        m = len(cols)
        xv = np.array(xs)
        ax = np.abs(xv)
        h = np.zeros((1, 2 * m))
        h[0, :m] = 1
        E = np.zeros(2 * m)
        ok = np.ones(m, dtype=bool)
        z = err = np.zeros((0, 2 * m))
        for j in range(k + 1):
            z, err, E, _ = _affine(h, E, self.floats[j], m, self.tails[j], True, True)
            if j == k:
                break
            on, read = _pattern_at(z, err, m, xv, ax, _U)
            ok &= read
            on2 = np.concatenate([on, on], axis=1)
            h = np.where(on2, z, 0.0)
            E = np.minimum(E, _norm_up(np.where(on2, err, 0.0), axis=0) * _SAFE)
        index = np.nonzero(ok)[0]
        return [cols[t] for t in index.tolist()], z[:, np.concatenate([index, m + index])], \
            err[:, np.concatenate([index, m + index])]

    def _float_outputs(self, cuts: np.ndarray, unsure: np.ndarray, differ: np.ndarray,
                       last: int) -> None:
        """Unsure output cuts whose two sides' float64 forms, recomputed
        (:meth:`_float_forms`), provably differ; settles them in place."""
        if not all(lf.relu for lf in self.floats[:last]):
            return
        needed = sorted(set(cuts.tolist()) | set((cuts + 1).tolist()))
        done, z, e = self._float_forms(needed, last)
        col = {r: j for j, r in enumerate(done)}
        self.decisions.float64 += _differ_by_forms(cuts, unsure, differ, col, len(done), z, e,
                                                   2 * _U)

    def _ball_outputs(self, cuts: np.ndarray, unsure: np.ndarray, differ: np.ndarray,
                      last: int) -> None:
        """Unsure output cuts whose two sides' ball forms provably differ
        (equality needs the exact tier); settles them in place."""
        needed = sorted(set(cuts.tolist()) | set((cuts + 1).tolist()))
        got = self._ball_layers(needed, last)
        if got is None:
            return
        done, index, layers_ld, m = got
        z, ez = layers_ld[last]
        col = dict(zip(done, index))
        u = _BALL_U
        assert u is not None
        self.decisions.ball += _differ_by_forms(cuts, unsure, differ, col, m, z, ez, 4 * u)


def _pattern_at(z: np.ndarray, ez: np.ndarray, m: int, x: np.ndarray, ax: np.ndarray,
                u: float) -> tuple[np.ndarray, np.ndarray]:
    """The pieces at the points ``x`` (``ax = |x|``) of forms ``[a | c]``
    (``m`` regions) with entry bounds ``ez`` in unit roundoff ``u``: which
    neurons are above the kink, and for which regions every neuron's side
    is proven (or the neuron exactly zero)."""
    za, zc, eza, ezc = z[:, :m], z[:, m:], ez[:, :m], ez[:, m:]
    v = za * x + zc
    bound = (eza * ax + ezc + 4 * u * (np.abs(za) * ax + np.abs(v))) * _SAFE
    zero = (za == 0) & (zc == 0) & (eza == 0) & (ezc == 0)
    return v > bound, ((np.abs(v) > bound) | zero).all(axis=0)


def _differ_by_forms(cuts: np.ndarray, unsure: np.ndarray, differ: np.ndarray,
                     col: dict[int, int], m: int, z: np.ndarray, e: np.ndarray,
                     rounding: float) -> int:
    """Settles (in place) the unsure output cuts whose two sides' recomputed
    forms provably differ: region ``r``'s slopes in column ``col[r]`` of
    ``z`` and its intercepts in ``m + col[r]``, entry bounds ``e``, the
    difference rounded within ``rounding`` of itself.  Returns how many."""
    settled = 0
    for cut in cuts.tolist():
        if cut not in col or cut + 1 not in col:
            continue
        tl, tr = col[cut], col[cut + 1]
        for o in np.nonzero(unsure[:, cut])[0].tolist():
            for ql, qr in ((tl, tr), (m + tl, m + tr)):
                gap = abs(z[o, ql] - z[o, qr])
                if gap > (e[o, ql] + e[o, qr]) * _SAFE + rounding * gap:
                    differ[o, cut] = True
                    unsure[o, cut] = False
                    settled += 1
                    break
    return settled


def certified_counts(net: Network, domain: Domain,
                     progress: Optional[Callable[[int, int], None]] = None) -> CertifiedResult:
    """Exact pieces of every output, joint pieces and activation regions by
    the certified route, or :class:`Undecided` outside the float range.

    >>> from pwl.values.network import Network
    >>> net = Network.sequential([([["0.1"], ["-0.3"]], ["0.05", "0.2"]),
    ...                           ([["1.5", "0.7"], [1, 0]], [0, 0], "identity")])
    >>> r = certified_counts(net, None)
    >>> r.pieces, r.joint_pieces, r.activation_regions
    ((3, 2), 3, 3)
    """
    # an overflow or invalid operation gives an inf or a nan, which the
    # bounds' finiteness checks turn into Undecided: no warnings needed
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _Run(net, domain, progress).run()


def certified_count(net: Network, domain: Domain, output: int = 0) -> tuple[int, int]:
    """``(pieces, activation_regions)`` of one output, exactly.

    >>> from pwl.values.network import Network
    >>> net = Network.sequential([([["0.1"], ["-0.3"]], ["0.05", "0.2"]),
    ...                           ([["1.5", "0.7"]], [0], "identity")])
    >>> certified_count(net, None)
    (3, 3)
    """
    result = certified_counts(net, domain)
    return result.pieces[output], result.activation_regions
