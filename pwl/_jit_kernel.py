"""The numba kernel behind :mod:`pwl._jit` (imported only when used)."""

from __future__ import annotations

import numba
import numpy as np

OK, UNDECIDED, OVER_LIMIT = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _less(n1: int, d1: int, n2: int, d2: int, exact: bool) -> int:
    """-1, 0, 1 as n1/d1 <, ==, > n2/d2; 2 if floats cannot tell."""
    if exact:
        lhs = n1 * d2
        rhs = n2 * d1
        return -1 if lhs < rhs else (1 if lhs > rhs else 0)
    k1 = n1 / d1
    k2 = n2 / d2
    if k1 < k2:
        return -1
    if k1 > k2:
        return 1
    return 2


@numba.njit(cache=True, nogil=True)
def _fail(status, za, zc):
    empty = np.empty(0, np.int64)
    return (status, empty, empty, empty, np.empty((0, 0), np.bool_),
            np.empty((0, 0), za.dtype), np.empty((0, 0), zc.dtype))


# one signature (any memory layout), so that one compilation serves all calls
@numba.njit("Tuple((int64, int64[:], int64[:], int64[:], boolean[:, :], int64[:, :], "
            "int64[:, :]))(int64[:, :], int64[:, :], int64[:, :], int64[:, :], int64[:], "
            "int64[:], int64[:], boolean, int64, boolean)", cache=True, nogil=True)
def refine(za, zc, za_t, zc_t, cn, cd, ends, exact, max_regions, relu):
    width, n_regions = za_t.shape
    lo_num, lo_den, hi_num, hi_den = ends[0], ends[1], ends[2], ends[3]
    # signs of z - t at the cuts, the domain's ends first and last (an end
    # with denominator 0 is an infinity: there the slope's sign leads)
    signs = np.empty((width, n_regions + 1), np.int8)
    for i in range(width):
        a, c = za_t[i, 0], zc_t[i, 0]
        if lo_den == 0:
            v = -a if a != 0 else c
        else:
            v = a * lo_num + c * lo_den
        signs[i, 0] = 1 if v > 0 else (-1 if v < 0 else 0)
        a, c = za_t[i, n_regions - 1], zc_t[i, n_regions - 1]
        if hi_den == 0:
            v = a if a != 0 else c
        else:
            v = a * hi_num + c * hi_den
        signs[i, n_regions] = 1 if v > 0 else (-1 if v < 0 else 0)
        for k in range(n_regions - 1):
            v = za_t[i, k] * cn[k] + zc_t[i, k] * cd[k]
            signs[i, k + 1] = 1 if v > 0 else (-1 if v < 0 else 0)
    # crossings strictly inside each region, grouped by region
    count = np.zeros(n_regions + 1, np.int64)
    for i in range(width):
        for r in range(n_regions):
            if signs[i, r] * signs[i, r + 1] < 0:
                count[r + 1] += 1
    for r in range(n_regions):
        count[r + 1] += count[r]
    total = count[n_regions]
    num = np.empty(total, np.int64)
    den = np.empty(total, np.int64)
    who = np.empty(total, np.int64)
    fill = count[:-1].copy()
    for i in range(width):
        for r in range(n_regions):
            if signs[i, r] * signs[i, r + 1] < 0:
                k = fill[r]
                fill[r] += 1
                d = za_t[i, r]
                if d < 0:
                    num[k] = zc_t[i, r]
                    den[k] = -d
                else:
                    num[k] = -zc_t[i, r]
                    den[k] = d
                who[k] = i
    # sort each region's crossings (insertion sort: few per region) and
    # count the distinct points
    distinct = 0
    for r in range(n_regions):
        start, end = count[r], count[r + 1]
        for k in range(start + 1, end):
            n1, d1, w1 = num[k], den[k], who[k]
            m = k - 1
            while m >= start:
                c = _less(n1, d1, num[m], den[m], exact)
                if c == 2:
                    return _fail(UNDECIDED, za, zc)
                if c >= 0:
                    break
                num[m + 1], den[m + 1], who[m + 1] = num[m], den[m], who[m]
                m -= 1
            num[m + 1], den[m + 1], who[m + 1] = n1, d1, w1
        for k in range(start, end):
            if k == start:
                distinct += 1
            else:
                c = _less(num[k], den[k], num[k - 1], den[k - 1], exact)
                if c == 2:
                    return _fail(UNDECIDED, za, zc)
                if c != 0:
                    distinct += 1
    new_regions = n_regions + distinct
    if 0 <= max_regions < new_regions:
        return _fail(OVER_LIMIT, za, zc)
    out_cn = np.empty(new_regions - 1, np.int64)
    out_cd = np.empty(new_regions - 1, np.int64)
    source = np.empty(new_regions, np.int64)
    on = np.empty((width, new_regions), np.bool_)
    out_za = np.empty((width, new_regions), za.dtype)
    out_zc = np.empty((width, new_regions), zc.dtype)
    state = np.empty(width, np.bool_)
    row = 0
    pos = 0
    for r in range(n_regions):
        for i in range(width):
            s = signs[i, r]
            # above the kink just right of the left end (a tie counts as below)
            state[i] = s > 0 or (s == 0 and za_t[i, r] > 0)
        k, end = count[r], count[r + 1]
        while True:
            source[row] = r
            for i in range(width):
                on[i, row] = state[i]
                if relu and not state[i]:   # the relu applied: 0 below the kink
                    out_za[i, row] = 0
                    out_zc[i, row] = 0
                else:
                    out_za[i, row] = za[i, r]
                    out_zc[i, row] = zc[i, r]
            row += 1
            if k >= end:
                break
            first = k
            out_cn[pos] = num[first]
            out_cd[pos] = den[first]
            pos += 1
            while k < end and (k == first or _less(num[k], den[k], num[first],
                                                   den[first], exact) == 0):
                state[who[k]] = not state[who[k]]
                k += 1
        if r < n_regions - 1:
            out_cn[pos] = cn[r]
            out_cd[pos] = cd[r]
            pos += 1
    return OK, out_cn, out_cd, source, on, out_za, out_zc



@numba.njit(cache=True, nogil=True)
def _certified_fail(width):
    return (UNDECIDED, np.empty(0), np.empty(0), np.empty(0, np.int64),
            np.empty((width, 0), np.bool_), np.empty((width, 0)), np.empty((width, 0)),
            np.empty(0, np.bool_))


@numba.njit(cache=True, nogil=True)
def refine_certified(f, e, xs, ex, ends, same, safe, unit, tiny):
    """The certified route's cut (:func:`pwl.certified._refine`): the same
    float operations in the same order, so the same proven decisions;
    status UNDECIDED where that function raises Undecided.

    ``f`` and ``e`` are ``[a | c]`` rows and their bounds, ``xs`` and ``ex``
    the cuts and their bounds, ``ends`` the domain's ends as (lo, its bound,
    hi, its bound), infinities for rays."""
    width = f.shape[0]
    n_regions = xs.size + 1
    on_left = np.empty((width, n_regions), np.bool_)
    root = np.empty((width, n_regions))
    bound = np.empty((width, n_regions))
    inside = np.zeros((width, n_regions), np.bool_)
    count = np.zeros(n_regions + 1, np.int64)
    for r in range(n_regions):
        if r == 0:
            left, eleft = ends[0], ends[1]
        else:
            left, eleft = xs[r - 1], ex[r - 1]
        if r == n_regions - 1:
            right, eright = ends[2], ends[3]
        else:
            right, eright = xs[r], ex[r]
        for i in range(width):
            za, zc = f[i, r], f[i, n_regions + r]
            eza, ezc = e[i, r], e[i, n_regions + r]
            aa = abs(za)
            if aa > eza:
                v = -zc / za
                av = abs(v)
                er = av * eza
                er = er + ezc
                er = er / (aa - eza)
                er = er * safe
                er = er + (2 * unit) * av
                er = er + tiny
                lower = v - er
                upper = v + er
                below = upper < left - eleft
                above = lower > right + eright
                within = lower > left + eleft and upper < right - eright
                if not (below or above or within):
                    return _certified_fail(width)      # a root on a region's end
                on_left[i, r] = (za > 0) == below
                if within:
                    inside[i, r] = True
                    root[i, r] = v
                    bound[i, r] = er
                    count[r + 1] += 1
            elif za == 0 and eza == 0:
                # a constant: certified sign, or exactly zero (below the kink)
                if not (abs(zc) > ezc or (zc == 0 and ezc == 0)):
                    return _certified_fail(width)
                on_left[i, r] = zc > ezc
            else:
                return _certified_fail(width)          # a slope indistinguishable from 0
    for r in range(n_regions):
        count[r + 1] += count[r]
    total = count[n_regions]
    value = np.empty(total)
    err = np.empty(total)
    who = np.empty(total, np.int64)
    fill = count[:-1].copy()
    for i in range(width):
        for r in range(n_regions):
            if inside[i, r]:
                k = fill[r]
                fill[r] += 1
                value[k], err[k], who[k] = root[i, r], bound[i, r], i
    # each region's roots in increasing order (stable), certified apart
    for r in range(n_regions):
        start, end = count[r], count[r + 1]
        for k in range(start + 1, end):
            v, ev, w = value[k], err[k], who[k]
            m = k - 1
            while m >= start and value[m] > v:
                value[m + 1], err[m + 1], who[m + 1] = value[m], err[m], who[m]
                m -= 1
            value[m + 1], err[m + 1], who[m + 1] = v, ev, w
        for k in range(start + 1, end):
            if value[k - 1] + err[k - 1] >= value[k] - err[k]:
                return _certified_fail(width)          # two roots too close to order
    new_regions = n_regions + total
    out_x = np.empty(new_regions - 1)
    out_ex = np.empty(new_regions - 1)
    out_same = np.empty(new_regions - 1, np.bool_)
    source = np.empty(new_regions, np.int64)
    on = np.empty((width, new_regions), np.bool_)
    out_f = np.empty((width, 2 * new_regions))
    out_e = np.empty((width, 2 * new_regions))
    state = np.empty(width, np.bool_)
    row = 0
    pos = 0
    for r in range(n_regions):
        for i in range(width):
            state[i] = on_left[i, r]
        k, end = count[r], count[r + 1]
        while True:
            source[row] = r
            for i in range(width):
                on[i, row] = state[i]
                out_f[i, row] = f[i, r]
                out_f[i, new_regions + row] = f[i, n_regions + r]
                out_e[i, row] = e[i, r]
                out_e[i, new_regions + row] = e[i, n_regions + r]
            row += 1
            if k >= end:
                break
            # a new cut, inside one old region: the same forms on both sides
            out_x[pos], out_ex[pos], out_same[pos] = value[k], err[k], True
            pos += 1
            state[who[k]] = not state[who[k]]
            k += 1
        if r < n_regions - 1:
            out_x[pos], out_ex[pos], out_same[pos] = xs[r], ex[r], same[r]
            pos += 1
    return OK, out_x, out_ex, source, on, out_f, out_e, out_same
