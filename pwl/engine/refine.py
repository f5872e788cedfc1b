"""Cutting the regions where pre-activations cross their kinks, exactly:
signs at the cuts, the new cut points (sorted and deduplicated exactly),
the new partition, and the region limit that splits big jobs into chunks."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from . import _jit
from .exact import FLOAT_EXACT, INT64_SAFE, is_object, ratio_keys, sign_of_sum, to_object
from .forms import _Forms, _State, _iota, _scalar_array, _scaled, _take
from .plans import IntAct


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
    of the whole network) that divide the domain into smaller parts.
    ``layer`` is the node's index in the network, 1 for the first layer."""

    def __init__(self, layer: int, regions: int, boundaries: list[Fraction]):
        super().__init__(f"layer {layer} would make {regions} regions")
        self.layer = layer
        self.regions = regions
        self.boundaries = boundaries


#: A split never makes more parts than this at once (parts split again if needed).
MAX_PARTS = 4096

#: The most growth of regions per later layer a split plans for.
MAX_GROWTH = 4.0


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
    # the regions' growth per later layer, as this layer grew them; but a
    # first cut (one region into up to n + 1) says nothing of later layers,
    # and too high a guess makes needlessly many tiny parts (a part that
    # outgrows its budget is split again, so guessing low is safe)
    ratio = total / n_regions if n_regions > 1 else 2.0
    growth = min(min(ratio, MAX_GROWTH) ** remaining, 1e15)
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
    if n_kinks == 1 and sign_bound < INT64_SAFE and zt_max <= FLOAT_EXACT:
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
    """:func:`_refine` for one kink by the compiled kernel (:mod:`pwl.engine._jit`),
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
              cand_num: list[np.ndarray], cand_den: list[np.ndarray], bound: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def _exact_sort_runs(num: np.ndarray, den: np.ndarray, r: np.ndarray, i: np.ndarray,
                     keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
