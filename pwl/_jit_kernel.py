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
            "int64[:], int64[:], boolean, int64)", cache=True, nogil=True)
def refine(za, zc, za_t, zc_t, cn, cd, ends, exact, max_regions):
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

