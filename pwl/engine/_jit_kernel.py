"""The numba kernel behind :mod:`pwl.engine._jit` (imported only when used)."""

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



#: What :func:`_entry` found: a root, decided; a constant, decided; undecided.
ROOT, CONSTANT, UNSURE = 0, 1, 2


@numba.njit(cache=True, nogil=True, inline="always")
def _entry(za, zc, eza, ezc, left, eleft, right, eright, safe, unit, tiny):
    """One neuron on one region, as :func:`pwl.engine.certified._decide` decides it
    (the same float operations in the same order): ``(kind, below, inside,
    on just right of the left end, root, its bound)``."""
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
        b = upper < left - eleft
        a = lower > right + eright
        w = lower > left + eleft and upper < right - eright
        kind = ROOT if (b or a or w) else UNSURE       # UNSURE: a root on a region's end
        return kind, b, w, (za > 0) == b, v, er
    if za == 0 and eza == 0:
        # a constant: certified sign, or exactly zero (below the kink)
        kind = CONSTANT if (abs(zc) > ezc or (zc == 0 and ezc == 0)) else UNSURE
        return kind, False, False, zc > ezc, 0.0, 0.0
    return UNSURE, False, False, not (za > 0), 0.0, 0.0   # a slope indistinguishable from 0


@numba.njit(cache=True, nogil=True)
def decide_certified(f, e, left, eleft, right, eright, safe, unit, tiny):
    """The certified route's decisions for one cut
    (:func:`pwl.engine.certified._decide`): the same float operations in the same
    order, so the same proven decisions, in one pass along each neuron's row.

    ``f`` and ``e`` are ``[a | c]`` rows and their bounds; the regions' ends
    and their bounds come as arrays (infinities for rays).  Returns, per
    neuron and region: root left of the region (``below``), root strictly
    inside, on just right of the left end, the root and its bound, and
    whether anything is undecided."""
    width = f.shape[0]
    n = left.size
    below = np.zeros((width, n), np.bool_)
    inside = np.zeros((width, n), np.bool_)
    on = np.zeros((width, n), np.bool_)
    undecided = np.zeros((width, n), np.bool_)
    root = np.zeros((width, n))
    bound = np.zeros((width, n))
    for i in range(width):
        for r in range(n):
            kind, b, w, o, v, er = _entry(f[i, r], f[i, n + r], e[i, r], e[i, n + r],
                                          left[r], eleft[r], right[r], eright[r],
                                          safe, unit, tiny)
            below[i, r], inside[i, r], on[i, r] = b, w, o
            root[i, r], bound[i, r] = v, er
            undecided[i, r] = kind == UNSURE
    return below, inside, on, root, bound, undecided


@numba.njit(cache=True, nogil=True)
def affine_bounds(z, row, drow, col, cold, eb, regions, coef, safe, tiny, live, colslack, ebslack):
    """The certified route's entry bounds after an affine step
    (:func:`pwl.engine.certified._affine`), in one pass along each neuron's row:
    ``(row_i col_j + drow_i cold_j + [eb_i]) + coef |z_ij|``, inflated by
    ``safe``, plus ``tiny`` where an entry may not be an exact zero; also
    each column's sum of squares and largest magnitude of ``z``."""
    n, m = z.shape
    err = np.empty((n, m))
    zsq = np.zeros(m)
    zmax = np.zeros(m)
    with_d = cold.size > 0
    for i in range(n):
        ri = row[i]
        di = drow[i] if with_d else 0.0
        bi = eb[i]
        li = live[i]
        bs = ebslack[i]
        for j in range(m):
            v = ri * col[j]
            if with_d:
                v += di * cold[j]
            if j >= regions:
                v += bi
            zz = z[i, j]
            a = abs(zz)
            v += coef * a
            v *= safe
            if (li and colslack[j]) or (j >= regions and bs):
                v += tiny
            err[i, j] = v
            zsq[j] += zz * zz
            if a > zmax[j]:
                zmax[j] = a
    return err, zsq, zmax


@numba.njit(cache=True, nogil=True, inline="always")
def _note_bounds(esq, emax, j, p, a, c):
    """A gathered entry's bounds ``a`` (slope, column ``j``) and ``c``
    (intercept, column ``p``) into the columns' sums of squares and maxima."""
    esq[j] += a * a
    esq[p] += c * c
    if a > emax[j]:
        emax[j] = a
    if c > emax[p]:
        emax[p] = c


@numba.njit(cache=True, nogil=True)
def gather_on(f, e, source, on):
    """Forms gathered onto the new regions (``source``: each new region's
    old one), times each neuron's piece (relu: 0 or 1), one pass; and each
    new column's sum of squared bounds and largest bound, over the entries
    left on (the bounds themselves are not needed after a relu: the next
    layer reads only the column bounds)."""
    n = f.shape[0]
    old = f.shape[1] // 2
    m = source.size
    nf = np.zeros((n, 2 * m))
    esq = np.zeros(2 * m)
    emax = np.zeros(2 * m)
    for i in range(n):
        for j in range(m):
            if on[i, j]:
                s = source[j]
                nf[i, j] = f[i, s]
                nf[i, m + j] = f[i, old + s]
                _note_bounds(esq, emax, j, m + j, e[i, s], e[i, old + s])
    return nf, esq, emax


@numba.njit(cache=True, nogil=True)
def _certified_fail(width):
    return (UNDECIDED, np.empty(0), np.empty(0), np.empty(0, np.int64),
            np.empty((width, 0), np.bool_), np.empty((width, 0)), np.empty((width, 0)),
            np.empty(0, np.bool_), np.empty(0, np.int64), np.empty(0), np.empty(0))


@numba.njit(cache=True, nogil=True)
def refine_certified(f, e, xs, ex, ends, same, safe, unit, tiny, relu):
    """The certified route's whole cut for small layers, in one call: the
    decisions of :func:`decide_certified` (the same float operations in the
    same order), the roots' order, the new partition and the gathered forms
    (times the pieces for relu, with each column's sum of squared bounds and
    largest bound), and each new cut's neuron; status UNDECIDED where
    anything needs escalation (then
    :meth:`pwl.engine.certified._Run.refine` does the layer).

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
    lefts = np.empty(n_regions)
    elefts = np.empty(n_regions)
    rights = np.empty(n_regions)
    erights = np.empty(n_regions)
    for r in range(n_regions):
        if r == 0:
            lefts[r], elefts[r] = ends[0], ends[1]
        else:
            lefts[r], elefts[r] = xs[r - 1], ex[r - 1]
        if r == n_regions - 1:
            rights[r], erights[r] = ends[2], ends[3]
        else:
            rights[r], erights[r] = xs[r], ex[r]
    # along each neuron's row (contiguous), as decide_certified
    for i in range(width):
        for r in range(n_regions):
            kind, b, w, o, v, er = _entry(f[i, r], f[i, n_regions + r], e[i, r],
                                          e[i, n_regions + r], lefts[r], elefts[r],
                                          rights[r], erights[r], safe, unit, tiny)
            if kind == UNSURE:
                return _certified_fail(width)
            on_left[i, r] = o
            if w:
                inside[i, r] = True
                root[i, r] = v
                bound[i, r] = er
                count[r + 1] += 1
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
    out_who = np.full(new_regions - 1, -1, np.int64)   # a new cut's neuron; -1: an old cut
    source = np.empty(new_regions, np.int64)
    on = np.empty((width, new_regions), np.bool_)
    out_f = np.zeros((width, 2 * new_regions))
    # after a relu the bounds are not needed, only their columns' norms
    out_e = np.zeros((width, 0 if relu else 2 * new_regions))
    esq = np.zeros(2 * new_regions)
    emax = np.zeros(2 * new_regions)
    # the new partition, the same for every neuron
    row = 0
    pos = 0
    for r in range(n_regions):
        k, end = count[r], count[r + 1]
        while True:
            source[row] = r
            row += 1
            if k >= end:
                break
            # a new cut, inside one old region: the same forms on both sides
            out_x[pos], out_ex[pos], out_same[pos] = value[k], err[k], True
            out_who[pos] = who[k]
            pos += 1
            k += 1
        if r < n_regions - 1:
            out_x[pos], out_ex[pos], out_same[pos] = xs[r], ex[r], same[r]
            pos += 1
    # then each neuron's row: its piece flips at its own roots
    for i in range(width):
        row = 0
        for r in range(n_regions):
            state = on_left[i, r]
            k, end = count[r], count[r + 1]
            while True:
                on[i, row] = state
                if state or not relu:           # relu: off is an exact zero
                    out_f[i, row] = f[i, r]
                    out_f[i, new_regions + row] = f[i, n_regions + r]
                    a, c = e[i, r], e[i, n_regions + r]
                    if not relu:
                        out_e[i, row] = a
                        out_e[i, new_regions + row] = c
                    _note_bounds(esq, emax, row, new_regions + row, a, c)
                row += 1
                if k >= end:
                    break
                if who[k] == i:
                    state = not state
                k += 1
    return OK, out_x, out_ex, source, on, out_f, out_e, out_same, out_who, esq, emax


@numba.njit(cache=True, nogil=True, inline="always")
def _vsign(v, thr):
    """The sign ``|v~ - v| <= thr`` proves: 1, -1, 0 (exact zero), 2 (not proven)."""
    if v > thr:
        return 1
    if v < -thr:
        return -1
    if v == 0 and thr == 0:
        return 0
    return 2


@numba.njit(cache=True, nogil=True)
def vertex_signs(z, ez, x, ex, nd, left_ray, right_ray, safe, unit):
    """The signs of a layer's cut on points and its relu
    (:func:`pwl.engine.vertex._point_signs`: the same float operations in the
    same order), in one pass along each neuron's row: status, signs,
    crossings, values after the relu, and each column's sum of squares and
    largest value of the bounds kept."""
    width, n_cols = z.shape
    P = n_cols - nd
    s = np.zeros((width, n_cols), np.int8)
    cross = np.zeros((width, max(P - 1, 0)), np.bool_)
    h = np.zeros((width, n_cols))
    esq = np.zeros(n_cols)
    emax = np.zeros(n_cols)
    grow = 1 + 2 * unit
    inv = np.empty(max(P - 1, 0))
    for q in range(P - 1):
        inv[q] = (1 + 4 * unit) / (x[q + 1] - x[q])
    fail = (np.int64(UNDECIDED), s, cross, h, esq, emax)
    for i in range(width):
        for q in range(P - 1):
            zl = z[i, nd + q]
            zr = z[i, nd + q + 1]
            el = ez[i, nd + q]
            er = ez[i, nd + q + 1]
            slope = (abs(zr - zl) * grow + er + el) * inv[q]
            sl = _vsign(zl, (el + slope * ex[q]) * safe)
            sr = _vsign(zr, (er + slope * ex[q + 1]) * safe)
            if sl == 2 or sr == 2 or (sl == 0) != (sr == 0):
                return fail
            s[i, nd + q] = sl
            if q == P - 2:
                s[i, nd + q + 1] = sr
            cross[i, q] = sl * sr < 0
        for side in range(2):
            ray = left_ray if side == 0 else right_ray
            if ray < 0:
                continue
            p = nd if side == 0 else n_cols - 1
            d = z[i, ray]
            ed = ez[i, ray]
            sd = _vsign(d, ed)
            sp = _vsign(z[i, p], (ez[i, p] + (abs(d) + ed) * ex[p - nd]) * safe)
            if sd == 2 or sp == 2 or (sp == 0 and sd != 0):
                return fail
            if P == 1:
                s[i, p] = sp
            s[i, ray] = sd
        for j in range(n_cols):
            sj = s[i, j]
            if j == left_ray:
                on = sj < 0
            else:
                on = sj > 0
            if on:
                h[i, j] = z[i, j]
                e = ez[i, j]
                esq[j] += e * e
                if e > emax[j]:
                    emax[j] = e
    return np.int64(OK), s, cross, h, esq, emax
