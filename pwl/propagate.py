"""The hot path: push a domain through a network, exactly, region by region
in bulk.

State between layers (all integers, no Python object per region):

* the cut points ``cn / cd`` (``cd > 0``, reduced, strictly increasing),
  which split the domain into ``R = len(cn) + 1`` regions;
* on region ``r``, neuron ``i`` of the current layer is the affine form
  ``(ha[i, r] * x + hc[i, r]) / den`` with one common positive denominator
  ``den`` per layer.  Rows are neurons and columns regions, so every
  elementwise operation runs along the long axis: with a few neurons and a
  million regions, region-major arrays would make numpy loop over rows of
  two or three entries, several times slower.

Magnitude bounds are carried with the forms and the cuts (``_Forms.bound``,
``_State.bound``), so the int64 routes are chosen without a pass over the
arrays; a bound too loose to choose the fast route is recomputed exactly
before a slower one is taken.

Forms are computed from the weights alone, so their size is bounded by the
weights, whatever the cut points are; a cut point is the ratio of two form
entries and never feeds back into a form.

For a layer ``z = W h + b`` (scaled to integers ``W = A / s``, ``b = B / s``)
followed by an activation with kinks ``t_j``, a neuron's activation piece
can change inside region ``r`` only where ``z_i = t_j``; because ``z_i`` is
affine there, that happens strictly inside the region exactly when the sign
of ``z_i - t_j`` at the left end is the opposite of the sign at the right end.
Those signs are taken at the cut points, where ``z`` is continuous, so one
sign per cut serves both neighbouring regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Callable, Optional, Sequence

import numpy as np

from .domain import DomainLike, as_domain
from .errors import PWLValueError
from .exact import (
    int_array,
    is_object,
    matmul_exact_pair,
    maxabs,
    ratio_keys,
    sign_of_sum,
    to_object,
    INT64_SAFE,
)

_FLOAT_EXACT = 2**53
from . import _jit
from .activations import Activation
from .network import Layer, Network
from .partition import LayerStats, Partition

__all__ = ["propagate", "forms_at", "RegionLimit", "Limit", "IntAffine", "IntAct"]


@dataclass(frozen=True)
class IntAct:
    """An activation scaled to integers: kinks ``kink_num[j] / kink_den`` and
    pieces ``(slope_num[p] * z + icpt_num[p] * den_z) / act_den``."""

    kink_num: list[int]
    kink_den: int
    slope_num: list[int]
    icpt_num: list[int]
    act_den: int
    is_relu: bool          # slopes (0, 1), no intercepts

    @classmethod
    def of(cls, act: Activation) -> "IntAct":
        kink_den = lcm(*(t.denominator for t in act.kinks)) if act.kinks else 1
        act_den = lcm(*(v.denominator for v in act.slopes + act.intercepts))
        return cls(
            kink_num=[int(t * kink_den) for t in act.kinks],
            kink_den=kink_den,
            slope_num=[int(v * act_den) for v in act.slopes],
            icpt_num=[int(v * act_den) for v in act.intercepts],
            act_den=act_den,
            is_relu=(act_den == 1 and act.kinks == (Fraction(0),)
                     and act.slopes == (0, 1) and act.intercepts == (0, 0)),
        )


#: max(a, b) = b + relu(a - b): the choice between two branches is a relu kink.
_RELU = IntAct([0], 1, [0, 1], [0, 0], 1, True)


@dataclass(frozen=True)
class IntAffine:
    """An affine map scaled to integers: ``z = (A h + B * den_h) / (scale * den_h)``."""

    a: np.ndarray          # (n_out, n_in) integers
    b: list[int]           # n_out Python ints
    scale: int
    a_rowsum: int
    b_array: np.ndarray    # b as an integer array
    b_max: int             # max |b|
    b_column: np.ndarray   # b as an integer column (n_out x 1)
    a_float: Optional[np.ndarray]   # a as float64, if exact

    @classmethod
    def of(cls, layer: Layer) -> "IntAffine":
        if layer.floats is not None:
            return cls._of_floats(*layer.floats)
        entries = [w for row in layer.weights for w in row] + list(layer.bias)
        scale = lcm(*(f.denominator for f in entries))
        a_int = [[int(w * scale) for w in row] for row in layer.weights]
        b_int = [int(v * scale) for v in layer.bias]
        return cls(a=int_array(a_int), b=b_int, scale=scale,
                   a_rowsum=max(sum(abs(w) for w in row) for row in a_int),
                   b_array=int_array(b_int), b_max=max(abs(v) for v in b_int),
                   b_column=int_array(b_int).reshape(-1, 1),
                   a_float=None if max(abs(w) for row in a_int for w in row) > 2**53
                   else np.array(a_int, dtype=np.float64))


    @classmethod
    def _of_floats(cls, w: np.ndarray, b: np.ndarray) -> "IntAffine":
        """From float arrays: integers over one power of two, without Fractions."""
        from .escalate import dyadic_array

        ints, scale = dyadic_array(np.concatenate([w.ravel(), b]))
        k = w.size
        a = ints[:k].reshape(w.shape)
        if a.dtype != object and maxabs(a) >= INT64_SAFE:
            a = a.astype(object)
        b_int = [int(v) for v in ints[k:].tolist()]
        top = maxabs(a)
        if a.dtype != object and top < 2**52:
            rowsum = int(np.abs(a).sum(axis=1).max())   # n_in * 2^52 < 2^63 for n_in < 2^11
            if w.shape[1] >= 2**11:
                rowsum = max(sum(abs(int(v)) for v in row) for row in a.tolist())
        else:
            rowsum = max(sum(abs(int(v)) for v in row) for row in a.tolist())
        return cls(a=a, b=b_int, scale=scale, a_rowsum=rowsum,
                   b_array=int_array(b_int), b_max=max(abs(v) for v in b_int),
                   b_column=int_array(b_int).reshape(-1, 1),
                   a_float=None if top > 2**53 else a.astype(np.float64))


def _compiled(net: Network) -> list[tuple[Optional[IntAffine], Optional[IntAct]]]:
    """Each node's integer affine map and activation, computed once per network."""
    plan = net.cache.get("engine")
    if plan is None:
        affines: dict[Layer, IntAffine] = {}
        acts: dict[Activation, IntAct] = {}
        plan = []
        for node in net.nodes:
            act = node.layer.activation if node.layer is not None else node.activation
            aff = None
            if node.layer is not None:
                key = node.layer
                aff = affines.get(key) if len(affines) < 64 else None
                if aff is None:
                    aff = affines.setdefault(key, IntAffine.of(key))
            plan.append((aff, None if act is None else acts.setdefault(act, IntAct.of(act))))
        net.cache["engine"] = plan
    return plan


class _State:
    """The current partition: cut points ``cn / cd``, the domain's ends, and
    ``bound``, an upper bound on every ``|cn|`` and ``cd`` (None: unknown)."""

    __slots__ = ("cn", "cd", "lo", "hi", "bound")

    def __init__(self, cn: np.ndarray, cd: np.ndarray,
                 lo: Optional[tuple[int, int]], hi: Optional[tuple[int, int]],
                 bound: Optional[int] = None):
        self.cn, self.cd, self.lo, self.hi, self.bound = cn, cd, lo, hi, bound

    @property
    def regions(self) -> int:
        return len(self.cn) + 1

    def cut_bound(self) -> int:
        if self.bound is None:
            self.bound = max(maxabs(self.cn), maxabs(self.cd))
        return self.bound


@dataclass
class _Forms:
    """A node's values on every region: ``(a[i, r] * x + c[i, r]) / den`` for
    neuron ``i`` on region ``r`` (one row per neuron, so that operations run
    along the regions).  ``bound`` is an upper bound on every ``|a|`` and
    ``|c|`` entry, or None if unknown; it spares passes over the arrays."""

    a: np.ndarray
    c: np.ndarray
    den: int
    bound: Optional[int] = None

    def take(self, source: np.ndarray) -> "_Forms":
        """The forms on a refined partition: new region ``k`` lies in old
        region ``source[k]``."""
        return _Forms(_take(self.a, source), _take(self.c, source), self.den, self.bound)

    def over(self, den: int) -> "_Forms":
        """The same values over a multiple ``den`` of the denominator."""
        factor = den // self.den
        return _Forms(_scaled(self.a, factor), _scaled(self.c, factor), den,
                      None if self.bound is None else self.bound * factor)

    def max_abs(self) -> int:
        """The carried bound, or the exact largest magnitude, then carried."""
        if self.bound is None:
            self.bound = max(maxabs(self.a), maxabs(self.c))
        return self.bound

    def tight(self) -> int:
        """The exact largest magnitude (a carried bound may be loose)."""
        self.bound = max(maxabs(self.a), maxabs(self.c))
        return self.bound


def _take(arr: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``arr[:, source]``; row by row on long rows, where that is faster."""
    if arr.shape[0] > 16 or source.size < 4096 or arr.dtype == object:
        return np.take(arr, source, axis=1)
    out = np.empty((arr.shape[0], source.size), dtype=arr.dtype)
    for row, dest in zip(arr, out):
        np.take(row, source, out=dest)
    return out


_IOTA = np.arange(1 << 16)


def _iota(n: int) -> np.ndarray:
    """``np.arange(n)`` as a read-only view of a cached array."""
    global _IOTA
    if n > _IOTA.size:
        grown = np.arange(max(n, 2 * _IOTA.size))
        grown.flags.writeable = False
        _IOTA = grown
    return _IOTA[:n]


_IOTA.flags.writeable = False


def _initial_state(domain: Optional[tuple[Optional[Fraction], Optional[Fraction]]]) -> _State:
    empty = np.zeros(0, dtype=np.int64)
    lo, hi = (None, None) if domain is None else domain
    return _State(empty, empty.copy(),
                  None if lo is None else (lo.numerator, lo.denominator),
                  None if hi is None else (hi.numerator, hi.denominator), 0)


def _affine(h: _Forms, layer: IntAffine) -> _Forms:
    """Pre-activation forms over ``h.den * scale``."""
    h_max = h.max_abs()
    za, zc = matmul_exact_pair(layer.a, h.a, h.c, layer.a_rowsum, h_max, layer.a_float)
    bound = h_max * layer.a_rowsum + h.den * layer.b_max
    if layer.b_max:
        if bound >= INT64_SAFE and not is_object(za, zc, layer.b_array):
            bound = max(maxabs(za), maxabs(zc) + h.den * layer.b_max)
        if is_object(zc, layer.b_array) or bound >= INT64_SAFE:
            zc = to_object(zc) + np.array([[h.den * v] for v in layer.b], dtype=object)
        elif h.den == 1:
            zc += layer.b_column
        else:
            zc += layer.b_column * np.int64(h.den)
    return _Forms(za, zc, h.den * layer.scale, bound)


def _scalar_array(value: int, like: np.ndarray) -> np.ndarray:
    """``value`` as a 0-d array matching ``like``'s integer kind."""
    if is_object(like) or abs(value) >= INT64_SAFE:
        return np.array(value, dtype=object)
    return np.array(value, dtype=np.int64)


def _scaled(arr: np.ndarray, factor: int, shift: int = 0, bound: Optional[int] = None
            ) -> np.ndarray:
    """Exact ``arr * factor + shift``, int64 when the result provably fits;
    ``bound``, if given, bounds ``maxabs(arr)``."""
    if factor == 1 and shift == 0:
        return arr
    if not is_object(arr):
        if bound is None or bound * abs(factor) + abs(shift) >= INT64_SAFE:
            bound = maxabs(arr)
        if bound * abs(factor) + abs(shift) < INT64_SAFE:
            return arr * np.int64(factor) + np.int64(shift)
    return to_object(arr) * factor + shift


def _end_signs(signs: np.ndarray, za: np.ndarray, zc: np.ndarray,
               lo: Optional[tuple[int, int]], hi: Optional[tuple[int, int]]) -> None:
    """Fill the first and last columns of ``signs`` with the sign of
    ``za * x + zc`` at the domain's ends (points or infinities)."""
    if lo is None and hi is None:   # the whole line: both at once
        ends = [0, -1]
        s_a = np.sign(za[:, ends])
        s_a[:, 0] *= -1             # at -infinity, a positive slope means negative
        s_c = np.sign(zc[:, ends])
        signs[:, ends] = np.where(s_a != 0, s_a, s_c)
        return
    signs[:, 0] = _end_sign(za[:, 0], zc[:, 0], lo, False)
    signs[:, -1] = _end_sign(za[:, -1], zc[:, -1], hi, True)


def _end_sign(za: np.ndarray, zc: np.ndarray, point: Optional[tuple[int, int]],
              at_plus_infinity: bool) -> np.ndarray:
    """Sign of ``za * x + zc`` at a domain end: a finite point or an infinity."""
    if point is None:
        s_a = np.sign(za).astype(np.int8)
        s_c = np.sign(zc).astype(np.int8)
        lead = s_a if at_plus_infinity else -s_a
        return np.where(s_a != 0, lead, s_c).astype(np.int8)
    pn, pd = point
    return sign_of_sum([(za, _scalar_array(pn, za)), (zc, _scalar_array(pd, zc))])


class RegionLimit(Exception):
    """Raised when a layer would exceed ``max_regions``; carries exact split
    points (cut points of the partition, hence activation-region boundaries
    of the whole network) that divide the domain into smaller parts."""

    def __init__(self, layer: int, regions: int, boundaries: list[Fraction]):
        super().__init__(f"layer {layer + 1} would make {regions} regions")
        self.layer = layer
        self.regions = regions
        self.boundaries = boundaries


#: A split never makes more parts than this at once (parts split again if needed).
MAX_PARTS = 4096


@dataclass(frozen=True)
class Limit:
    """Stop past ``max_regions`` regions; then split into parts expected to
    end with at most ``split_regions / 2`` regions each, and into at least
    ``min_parts`` parts (so that workers have enough to share)."""

    max_regions: int
    split_regions: int
    min_parts: int = 2


def _split_points(state: _State, new_cn: np.ndarray, new_cd: np.ndarray,
                  region_of_cut: np.ndarray, limit: Limit, remaining: int,
                  is_output: bool) -> list[Fraction]:
    """Every ``step``-th cut of the merged partition, with ``step`` sized so that
    each part should stay under ``split_regions / 2`` after the remaining
    layers, if they keep multiplying the regions as this layer did.

    At the output layer (``is_output``) its own cuts are kinks of the
    output, not activation-region boundaries, so only earlier cuts are used."""
    n_regions = state.regions
    total = n_regions + new_cn.size
    if is_output:
        per_old = total / n_regions
        step = int(limit.split_regions / 2 / per_old)
        step = max(step, 1, -(-n_regions // MAX_PARTS))
        step = min(step, max(1, n_regions // max(2, limit.min_parts)))
        pick = np.arange(step - 1, n_regions - 1, step)
        return [Fraction(int(state.cn[k]), int(state.cd[k])) for k in pick]
    growth = min((total / n_regions) ** remaining, 1e15)
    step = int(limit.split_regions / 2 / growth)
    step = max(step, 1, -(-total // MAX_PARTS))
    step = min(step, max(1, total // max(2, limit.min_parts)))
    per_region = np.bincount(region_of_cut, minlength=n_regions)
    old_pos = np.arange(n_regions - 1) + np.cumsum(per_region)[:-1]
    new_pos = region_of_cut + np.arange(new_cn.size)
    old_pick = np.nonzero(old_pos % step == step - 1)[0]
    new_pick = np.nonzero(new_pos % step == step - 1)[0]
    points = [(int(old_pos[k]), int(state.cn[k]), int(state.cd[k])) for k in old_pick]
    points += [(int(new_pos[k]), int(new_cn[k]), int(new_cd[k])) for k in new_pick]
    points.sort()
    return [Fraction(p, q) for _, p, q in points]


def _refine(state: _State, z: _Forms, act: IntAct, index: int, limit: Optional[Limit],
            remaining: int, is_output: bool = False, relu: bool = False
            ) -> tuple[_State, Optional[np.ndarray], np.ndarray, Optional["_Forms"]]:
    """Cut the partition where the pre-activations ``z`` cross the kinks.

    Returns the new partition, the old region of every new region (None if
    no region was cut), on every new region the activation piece of each
    neuron (a boolean array, on: above the kink, for one kink; an integer
    array of piece indices otherwise; both n x R'), and ``z`` on the new
    regions if that came for free (else None: ``z.take(source)``); with
    ``relu`` (for a relu), those forms come with the relu applied.
    """
    za, zc, zden = z.a, z.c, z.den
    width, n_regions = za.shape
    kd = act.kink_den
    n_kinks = len(act.kink_num)
    z_max = z.max_abs()
    shift_max = max(abs(t) for t in act.kink_num) * zden
    # Per kink j: z_i - t_j has the integer form (za_t x + zc_j) / (zden * kd).
    zt_max = z_max * kd + shift_max
    za_t = _scaled(za, kd, bound=z_max)
    cn, cd = state.cn, state.cd
    sign_bound = zt_max * 2 * state.cut_bound()
    if sign_bound >= INT64_SAFE and n_regions > 1:
        zt_max = z.tight() * kd + shift_max
        sign_bound = zt_max * 2 * state.cut_bound()
    if n_kinks == 1 and sign_bound < INT64_SAFE and zt_max <= _FLOAT_EXACT:
        done = _refine_compiled(state, z, za_t, _scaled(zc, kd, -act.kink_num[0] * zden,
                                                        bound=z_max), zt_max,
                                limit.max_regions if limit is not None
                                and (not is_output or n_regions > 1) else -1, relu)
        if done is not None:
            return done
    rising = za_t > 0
    cand_r, cand_i, cand_num, cand_den = [], [], [], []
    on: Optional[np.ndarray] = None
    piece: Optional[np.ndarray] = None
    # one sign row per cut, with the domain's ends first and last, so that a
    # region's left and right signs are two views of the same array
    signs = np.empty((width, n_regions + 1), dtype=np.int8)
    left, right = signs[:, :-1], signs[:, 1:]
    for j, tn in enumerate(act.kink_num):
        zc_j = _scaled(zc, kd, -tn * zden, bound=z_max)
        # sign of z_i - t_j at each cut, computed with the region on its left
        if n_regions > 1:
            if sign_bound < INT64_SAFE and za_t.dtype == zc_j.dtype == cn.dtype == np.int64:
                # every partial sum fits: the int64 sums are exact
                total = za_t[:, :-1] * cn
                total += zc_j[:, :-1] * cd
                signs[:, 1:-1] = np.sign(total, out=total)
            else:
                signs[:, 1:-1] = sign_of_sum([(za_t[:, :-1], cn), (zc_j[:, :-1], cd)],
                                             sign_bound)
        _end_signs(signs, za_t, zc_j, state.lo, state.hi)
        # above t_j just right of the left end (a tie counts as below, see activations):
        # left > 0, or left == 0 and rising
        above = (left + rising) > 0
        if n_kinks == 1:
            on = above
        else:
            piece = above.astype(np.int32) if piece is None else piece + above
        i, r = np.nonzero((left * right) < 0)
        if r.size:
            num = np.negative(zc_j[i, r])
            den = za_t[i, r]
            if is_object(den):
                flip = den < 0
                num = np.where(flip, -num, num)
                den = np.where(flip, -den, den)
            else:
                sd = np.sign(den)
                num *= sd
                den = den * sd
            cand_r.append(r)
            cand_i.append(i)
            cand_num.append(num)
            cand_den.append(den)

    pieces = on if piece is None else piece
    assert pieces is not None
    if not cand_r:
        return state, None, pieces, None
    new_cn, new_cd, region_of_cut, flip_rows, cand_r_all, cand_i_all = _new_cuts(
        cand_r, cand_i, cand_num, cand_den, zt_max)
    if (limit is not None and n_regions + new_cn.size > limit.max_regions
            and (not is_output or n_regions > 1)):
        raise RegionLimit(index, n_regions + new_cn.size,
                          _split_points(state, new_cn, new_cd, region_of_cut, limit, remaining,
                                        is_output))
    per_region = np.bincount(region_of_cut, minlength=n_regions)
    cum = np.cumsum(per_region)
    total = n_regions + new_cn.size
    # old cut c sits after the new cuts of regions 0..c; new cut u of
    # region r sits after r old cuts and u new ones
    old_pos = _iota(n_regions - 1) + cum[:-1]
    new_pos = region_of_cut + _iota(new_cn.size)
    cn = _merge(state.cn, new_cn, old_pos, new_pos, total - 1)
    cd = _merge(state.cd, new_cd, old_pos, new_pos, total - 1)
    per_region += 1
    source = np.repeat(_iota(n_regions), per_region)
    bound = None if state.bound is None or is_object(cn, cd) else max(state.bound, zt_max)
    new_state = _State(cn, cd, state.lo, state.hi, bound)
    # each crossing changes its neuron's piece from the new region right of
    # its cut (flip_rows) to the last new region of its old region
    last_row = cand_r_all + cum[cand_r_all]
    if on is not None:   # one kink: each neuron crosses at most once per region
        on = _take(on, source)
        lengths = last_row - flip_rows + 1
        cells = int(lengths.sum())
        if cells == lengths.size:
            flat = on.reshape(-1)
            cell = cand_i_all * total + flip_rows
            flat[cell] = ~flat[cell]
        elif cells <= on.size:
            rows = (np.arange(cells) + np.repeat(flip_rows - (np.cumsum(lengths) - lengths),
                                                 lengths))
            on[np.repeat(cand_i_all, lengths), rows] ^= True
        else:
            change = np.zeros((width, total + 1), dtype=np.int8)
            change[cand_i_all, flip_rows] = 1
            change[cand_i_all, last_row + 1] = -1
            on ^= np.cumsum(change[:, :-1], axis=1, dtype=np.int8).view(bool)
        return new_state, source, on, None
    assert piece is not None
    # several kinks: a crossing moves the piece one up (rising) or down
    step = np.where(rising[cand_i_all, cand_r_all], 1, -1).astype(np.int32)
    change = np.zeros((width, total + 1), dtype=np.int32)
    np.add.at(change, (cand_i_all, flip_rows), step)
    np.add.at(change, (cand_i_all, last_row + 1), -step)
    piece = _take(piece, source) + np.cumsum(change[:, :-1], axis=1)
    return new_state, source, piece, None


def _refine_compiled(state: _State, z: _Forms, za_t: np.ndarray, zc_t: np.ndarray,
                     zt_max: int, max_regions: int, relu: bool = False
                     ) -> Optional[tuple[_State, Optional[np.ndarray], np.ndarray, Optional[_Forms]]]:
    """:func:`_refine` for one kink by the compiled kernel (:mod:`pwl._jit`),
    when numba is at hand and the int64 arithmetic provably fits; None if
    the kernel is not used or leaves a decision (ties beyond its exact
    range, a region limit) to the numpy path."""
    if is_object(z.a, z.c, za_t, zc_t, state.cn, state.cd):
        return None
    compiled = _jit.kernels(za_t.size)
    if compiled is None:
        return None
    # the domain's ends as num, den (den 0: an infinity), if their products fit
    ends = [0, 0, 0, 0]
    for k, point in ((0, state.lo), (2, state.hi)):
        if point is not None:
            if max(zt_max, 1) * (abs(point[0]) + point[1]) >= INT64_SAFE:
                return None
            ends[k], ends[k + 1] = point
    status, cn, cd, source, on, za, zc = compiled.refine(
        z.a, z.c, za_t, zc_t, state.cn, state.cd, np.array(ends, dtype=np.int64),
        zt_max * zt_max < INT64_SAFE, max_regions, relu)
    if status != _jit.OK:
        return None
    if source.size == state.regions:
        return state, None, on, None
    bound = None if state.bound is None else max(state.bound, zt_max)
    return (_State(cn, cd, state.lo, state.hi, bound), source, on,
            _Forms(za, zc, z.den, z.bound))


def _merge(old: np.ndarray, new: np.ndarray, old_pos: np.ndarray, new_pos: np.ndarray,
           size: int) -> np.ndarray:
    dtype = object if is_object(old, new) else np.int64
    out = np.empty(size, dtype=dtype)
    out[old_pos] = old
    out[new_pos] = new
    return out


def _new_cuts(cand_r: list[np.ndarray], cand_i: list[np.ndarray],
              cand_num: list[np.ndarray], cand_den: list[np.ndarray], bound: int):
    """Sort and deduplicate the crossing points; each lies strictly inside its
    region, and regions are ordered, so sorting by value sorts by region too.
    ``bound`` bounds every ``|num|`` and ``den``.

    Returns the new cuts (numerators, denominators, regions), and for every
    candidate its flip row (the new region just right of its cut), region
    and neuron."""
    if len(cand_r) == 1:
        r, i, num, den = cand_r[0], cand_i[0], cand_num[0], cand_den[0]
    else:
        r = np.concatenate(cand_r)
        i = np.concatenate(cand_i)
        if any(is_object(a) for a in cand_num + cand_den):
            num = np.concatenate([to_object(a) for a in cand_num])
            den = np.concatenate([to_object(a) for a in cand_den])
        else:
            num = np.concatenate(cand_num)
            den = np.concatenate(cand_den)
    keys = ratio_keys(num, den, bound)
    # key order implies value order (ratio_keys is monotone); the candidates
    # come region by region, so they are often sorted already
    if keys.size > 1 and not (keys[1:] >= keys[:-1]).all():
        # a stable sort keeps the region order among equal keys, so only
        # runs of equal keys inside a region can be out of order, and those
        # are settled exactly below
        order = np.argsort(keys, kind="stable")
        r, i, num, den, keys = r[order], i[order], num[order], den[order], keys[order]
    tie = np.nonzero(keys[1:] == keys[:-1])[0]
    if not tie.size:
        flip_rows = r + _iota(r.size + 1)[1:]
        return num, den, r, flip_rows, r, i
    same = np.zeros(num.size, dtype=bool)   # same[k]: candidate k equals candidate k-1
    cmp = sign_of_sum([(num[tie], den[tie + 1]), (-num[tie + 1], den[tie])], 2 * bound * bound)
    if (cmp > 0).any():
        num, den, r, i = _exact_sort_runs(num, den, r, i, keys)
        cmp = sign_of_sum([(num[tie], den[tie + 1]), (-num[tie + 1], den[tie])],
                          2 * bound * bound)
    same[tie + 1] = cmp == 0
    unique = ~same
    uid = np.cumsum(unique) - 1
    flip_rows = r + uid + 1     # the new region just right of the candidate's cut
    return num[unique], den[unique], r[unique], flip_rows, r, i


def _exact_sort_runs(num, den, r, i, keys):
    """Sort runs of equal float keys by exact value (rare: values within an ulp)."""
    order = np.arange(num.size)
    start = 0
    n = num.size
    while start < n:
        end = start + 1
        while end < n and keys[end] == keys[start]:
            end += 1
        if end - start > 1:
            run = list(range(start, end))
            run.sort(key=lambda k: Fraction(int(num[k]), int(den[k])))
            order[start:end] = run
        start = end
    return num[order], den[order], r[order], i[order]


def _activate(z: _Forms, pieces: np.ndarray, act: IntAct, owned: bool = False) -> _Forms:
    """Apply each neuron's activation piece to its pre-activation form
    (``pieces``: booleans for one kink, piece indices otherwise); ``owned``:
    ``z``'s arrays are not shared and may be overwritten."""
    za, zc, zden = z.a, z.c, z.den
    if act.is_relu:
        if is_object(za, zc):
            zero = np.zeros((), dtype=object)
            return _Forms(np.where(pieces, za, zero), np.where(pieces, zc, zero), zden, z.bound)
        if owned:
            np.multiply(za, pieces, out=za)
            np.multiply(zc, pieces, out=zc)
            return _Forms(za, zc, zden, z.bound)
        return _Forms(za * pieces, zc * pieces, zden, z.bound)
    if len(act.slope_num) == 1:    # no kinks: one affine map for every neuron
        return _affine_scalar(z, act.slope_num[0], act.icpt_num[0], act.act_den, owned)
    index = pieces.astype(np.intp)
    slope = np.array(act.slope_num, dtype=object)[index]
    icpt = np.array(act.icpt_num, dtype=object)[index] * zden
    z_max = z.max_abs()
    bound = (max(abs(v) for v in act.slope_num) * z_max
             + max(abs(v) for v in act.icpt_num) * zden)
    if bound < INT64_SAFE and not is_object(za, zc):
        slope64, icpt64 = slope.astype(np.int64), icpt.astype(np.int64)
        return _Forms(slope64 * za, slope64 * zc + icpt64, zden * act.act_den, bound)
    return _Forms(slope * to_object(za), slope * to_object(zc) + icpt, zden * act.act_den)


def _affine_scalar(z: _Forms, slope: int, icpt: int, den: int, owned: bool) -> _Forms:
    """``(slope * z + icpt) / den`` for integers, over ``z.den * den``."""
    if slope == 1 and icpt == 0 and den == 1:
        return z
    z_max = z.max_abs()
    shift = icpt * z.den
    bound = abs(slope) * z_max + abs(shift)
    if bound < INT64_SAFE and not is_object(z.a, z.c):
        za = z.a * np.int64(slope)
        zc = z.c * np.int64(slope)
        if shift:
            zc += np.int64(shift)
        return _Forms(za, zc, z.den * den, bound)
    return _Forms(to_object(z.a) * slope, to_object(z.c) * slope + shift, z.den * den)


def _kappas(ha: np.ndarray, hc: np.ndarray) -> np.ndarray:
    """Pieces of each row's function: 1 + number of cuts where its form changes."""
    if ha.shape[1] <= 1:
        return np.ones(ha.shape[0], dtype=np.int64)
    change = (ha[:, 1:] != ha[:, :-1]) | (hc[:, 1:] != hc[:, :-1])
    return 1 + change.sum(axis=1).astype(np.int64)


def _stats(index: int, z: _Forms, after: _Forms, regions: int) -> LayerStats:
    return LayerStats(
        index=index,
        width=z.a.shape[0],
        regions=regions,
        kappa_pre=tuple(int(k) for k in _kappas(z.a, z.c)),
        kappa_post=tuple(int(k) for k in _kappas(after.a, after.c)),
    )


def propagate(net: Network, domain: DomainLike = None, *, per_layer: bool = False,
              progress: Optional[Callable[[int, int], None]] = None,
              max_regions: Optional[int] = None) -> Partition:
    """Exact partition of ``domain`` (default: the whole line) by ``net``.

    Parameters
    ----------
    net : Network
        A network with one input.
    domain : (lo, hi) or None
        A closed interval with exact ends, or ``None`` for the real line.
    per_layer : bool
        Also record, for each layer, the regions so far and the number of
        pieces of each neuron before and after its activation.
    progress : callable, optional
        Called as ``progress(layer_index, regions)`` after each layer.
    max_regions : int, optional
        Raise :class:`RegionLimit` (with exact split points) instead of
        building a partition with more regions than this.  The output
        layer's own kinks (at most ``m`` per output and region) may exceed it
        when the hidden partition has a single region to split.

    Returns
    -------
    Partition

    Examples
    --------
    >>> net = Network.sequential([([[1], [-1]], [0, 0]), ([[1, -1]], [0], "identity")])
    >>> p = propagate(net)
    >>> p.activation_regions, p.pieces()
    (2, 1)
    """
    dom = as_domain(domain)
    limit = None if max_regions is None else Limit(max_regions, max_regions)
    return _propagate(net, dom, per_layer, progress, limit)


def forms_at(net: Network, points: Sequence[Fraction]) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact affine forms of every output on the activation regions that
    contain ``points`` (each strictly inside its region), for a chain
    network: integer arrays ``a``, ``c`` (outputs x points) and a common
    denominator ``den``, so that output ``k`` is ``(a[k, p] x + c[k, p]) / den``
    around point ``p``.  Each neuron's piece is read off its value at the
    point, with no partition built: one pass for any number of points."""
    if not net.is_chain:
        raise PWLValueError("forms_at needs a chain network")
    plan = _compiled(net)
    pn = np.array([p.numerator for p in points], dtype=object)
    pd = np.array([p.denominator for p in points], dtype=object)
    h = _Forms(np.ones((1, len(points)), dtype=object), np.zeros((1, len(points)), dtype=object), 1)
    for aff, act in plan[1:]:
        assert aff is not None and act is not None
        z = _affine(_Forms(to_object(h.a), to_object(h.c), h.den), aff)
        za, zc = to_object(z.a), to_object(z.c)
        piece = np.zeros(za.shape, dtype=np.intp)
        for tn in act.kink_num:
            # the sign of z - t_j at the point, over zden * kink_den * pd > 0
            value = za * act.kink_den * pn + (zc * act.kink_den - tn * z.den) * pd
            piece += value > 0
        pieces = piece.astype(bool) if len(act.kink_num) == 1 else piece
        h = _activate(_Forms(za, zc, z.den), pieces, act)
    return h.a, h.c, h.den


def _common(forms: list[_Forms]) -> list[_Forms]:
    """The forms over one common denominator."""
    den = lcm(*(f.den for f in forms))
    return [f.over(den) for f in forms]


def _sum(a: np.ndarray, b: np.ndarray, sign: int = 1) -> np.ndarray:
    """Exact ``a + sign * b``, int64 when the result provably fits."""
    if not is_object(a, b) and maxabs(a) + maxabs(b) < INT64_SAFE:
        return a + b if sign > 0 else a - b
    return to_object(a) + to_object(b) if sign > 0 else to_object(a) - to_object(b)


def _propagate(net: Network, dom: object, per_layer: bool = False,
               progress: Optional[Callable[[int, int], None]] = None,
               limit: Optional[Limit] = None) -> Partition:
    """:func:`propagate` on a checked domain; internally a domain may also be
    a half-line ``(None, hi)`` or ``(lo, None)``, as chunks of the line are.

    Nodes run in topological order.  Every live node's forms are kept on the
    current partition; when a nonlinearity cuts regions, all of them are
    repeated onto the new regions, and a node's forms are dropped once its
    last reader has run.
    """
    if net.input_size != 1:
        raise PWLValueError(
            f"the network has {net.input_size} inputs; pwl analyses one input "
            "(restrict it to a line through its input space: pwl count --line A B)")
    state = _initial_state(dom)  # type: ignore[arg-type]
    stats: Optional[list[LayerStats]] = [] if per_layer else None
    nodes = net.nodes
    readers: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            readers[name] = readers.get(name, 0) + 1
    # nonlinear nodes after each node: sizes chunk splits; 0 marks the output
    after = net.cache.get("after")
    if after is None:
        flags = [n.is_nonlinear for n in nodes]
        after = net.cache["after"] = [sum(flags[k + 1:]) for k in range(len(nodes))]
    live: dict[str, _Forms] = {}
    hidden_regions = 1

    def refine(z: _Forms, act: IntAct, index: int, carry: Sequence[_Forms] = (),
               relu: bool = False) -> tuple[_Forms, np.ndarray, list[_Forms], bool]:
        """Cut the partition where ``z`` crosses ``act``'s kinks; bring ``z``,
        ``carry`` and every live node onto the new regions; return ``z`` and
        ``carry`` there, the activation pieces, and whether ``z`` came back
        with the relu already applied (only if ``relu`` allows it)."""
        nonlocal state
        state, source, pieces, taken = _refine(state, z, act, index, limit, after[index],
                                               index == len(nodes) - 1, relu)
        carried = list(carry)
        if source is not None:
            z = z.take(source) if taken is None else taken
            carried = [f.take(source) for f in carried]
            for key in list(live):
                live[key] = live[key].take(source)
        return z, pieces, carried, relu and taken is not None

    def max2(a: _Forms, b: _Forms, index: int) -> _Forms:
        """Elementwise ``max(a, b) = b + relu(a - b)``: one relu kink on ``a - b``."""
        a, b = _common([a, b])
        diff = _Forms(_sum(a.a, b.a, -1), _sum(a.c, b.c, -1), a.den)
        _, on, (a, b), _ = refine(diff, _RELU, index, (a, b))
        return _Forms(_where(on, a.a, b.a), _where(on, a.c, b.c), a.den)

    plan = _compiled(net)
    for index, node in enumerate(nodes):
        if index == len(nodes) - 1:
            hidden_regions = state.regions
        ins = [live[name] for name in node.inputs]
        for name in node.inputs:
            readers[name] -= 1
            if readers[name] == 0:
                del live[name]
        if node.op == "input":
            out = _Forms(np.ones((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64), 1, 1)
        elif node.op in ("dense", "activation"):
            aff, act = plan[index]
            assert act is not None
            z = ins[0] if aff is None else _affine(ins[0], aff)
            before = z
            activated = False
            if act.kink_num:
                z, pieces, _, activated = refine(z, act, index, relu=act.is_relu)
            else:
                pieces = np.zeros(z.a.shape, dtype=np.intp)
            # the activation may overwrite z if z is this node's own
            out = z if activated else _activate(
                z, pieces, act, owned=z is not before or (aff is not None and stats is None))
            if stats is not None and node.op == "dense":
                stats.append(_stats(len(stats), before, out, state.regions))
        elif node.op == "add":
            parts = _common(ins)
            a, c = parts[0].a, parts[0].c
            for f in parts[1:]:
                a, c = _sum(a, f.a), _sum(c, f.c)
            out = _Forms(a, c, parts[0].den)
        elif node.op == "concat":
            parts = _common(ins)
            obj = any(is_object(f.a, f.c) for f in parts)
            conv = to_object if obj else (lambda v: v)
            out = _Forms(np.vstack([conv(f.a) for f in parts]),
                         np.vstack([conv(f.c) for f in parts]), parts[0].den)
        elif node.op == "max":
            out = ins[0]
            for other in ins[1:]:
                out = max2(out, other, index)
        else:  # maxgroup: a running maximum over each group, position by position
            src = ins[0]
            first = [g[0] for g in node.groups]
            out = _Forms(src.a[first], src.c[first], src.den)
            steps = max(len(g) for g in node.groups) - 1
            for t in range(1, steps + 1):
                cols = [k for k, g in enumerate(node.groups) if len(g) > t]
                pick = [node.groups[k][t] for k in cols]
                sub = _Forms(out.a[cols], out.c[cols], out.den)
                cand = _Forms(src.a[pick], src.c[pick], src.den)
                sub, cand = _common([sub, cand])
                diff = _Forms(_sum(sub.a, cand.a, -1), _sum(sub.c, cand.c, -1), sub.den)
                _, on, (sub, cand, out, src), _ = refine(diff, _RELU, index,
                                                         (sub, cand, out.over(sub.den), src))
                a = out.a.astype(object) if is_object(sub.a, cand.a) else out.a.copy()
                c = out.c.astype(object) if is_object(sub.c, cand.c) else out.c.copy()
                a[cols] = _where(on, sub.a, cand.a)
                c[cols] = _where(on, sub.c, cand.c)
                out = _Forms(a, c, sub.den)
        if readers.get(node.name, 0) > 0 or index == len(nodes) - 1:
            live[node.name] = out
        if progress is not None and node.op != "input":
            progress(index - 1, state.regions)
    result = live[nodes[-1].name]
    return Partition(
        domain=dom,  # type: ignore[arg-type]
        cut_num=state.cn,
        cut_den=state.cd,
        slope_num=result.a.T,
        icpt_num=result.c.T,
        den=result.den,
        activation_regions=hidden_regions,
        layers=tuple(stats) if stats is not None else None,
        widths=net.widths,
    )


def _where(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if is_object(a, b):
        return np.where(cond, to_object(a), to_object(b))
    return np.where(cond, a, b)
