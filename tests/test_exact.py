"""The integer kernels of :mod:`pwl.engine.exact` against Python-int ground truth,
with values at the float64 (2^53) and int64 (2^62, 2^63) boundaries."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwl.engine.exact import (
    INT64_SAFE,
    int_array,
    matmul_exact,
    maxabs,
    ratio_keys,
    sign_of_sum,
    to_object,
)

INT64_MAX = 2**63 - 1


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def near(centre: int, spread: int = 3) -> st.SearchStrategy[int]:
    return st.integers(-spread, spread).map(lambda d: centre + d)


def _clamp(v: int) -> int:
    return max(-INT64_MAX, min(INT64_MAX, v))


#: int64 values, concentrated next to the thresholds the kernels test against.
int64s = st.one_of(
    st.sampled_from([0, 1, -1]),
    st.one_of(*(near(c) for c in (2**31, 2**53, 2**62, 2**63 - 4))).flatmap(
        lambda v: st.sampled_from([_clamp(v), _clamp(-v)])),
    st.integers(-INT64_MAX, INT64_MAX),
    st.integers(-(2**40), 2**40),
)


def arr(values, dtype=np.int64) -> np.ndarray:
    if dtype == object:
        out = np.empty(len(values), dtype=object)
        out[:] = list(values)
        return out
    return np.array(values, dtype=dtype)


def truth(terms: list) -> list:
    return [_sign(sum(int(a[i]) * int(b[i]) for a, b in terms)) for i in range(len(terms[0][0]))]


# -- sign_of_sum ---------------------------------------------------------------


@settings(max_examples=200)
@given(st.integers(1, 20), st.integers(1, 4), st.data())
def test_sign_of_sum_random(k, n, data):
    terms = [(arr(data.draw(st.lists(int64s, min_size=n, max_size=n))),
              arr(data.draw(st.lists(int64s, min_size=n, max_size=n)))) for _ in range(k)]
    out = sign_of_sum(terms)
    assert out.dtype == np.int8 and out.shape == (n,)
    assert out.tolist() == truth(terms)


factor = st.integers(-(2**31) + 1, 2**31 - 1)


@settings(max_examples=300)
@given(st.lists(st.tuples(factor, factor, factor, factor, st.integers(-1, 1)), min_size=1,
                max_size=6))
def test_sign_of_sum_huge_cancellation(rows):
    """pq * rs - pr * qs + e = e, with products near 2^124 that cancel."""
    p, q, r, s, e = (list(c) for c in zip(*rows))
    terms = [
        (arr([a * b for a, b in zip(p, q)]), arr([a * b for a, b in zip(r, s)])),
        (arr([-a * b for a, b in zip(p, r)]), arr([a * b for a, b in zip(q, s)])),
        (arr(e), arr([1] * len(e))),
    ]
    assert sign_of_sum(terms).tolist() == [_sign(v) for v in e]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.one_of(near(2**62 - 8), near(2**63 - 8), st.integers(2**50, 2**62)),
                          st.one_of(near(2**62 - 8), near(2**63 - 8), st.integers(2**50, 2**62)),
                          st.integers(-(2**24), 2**24), st.booleans()),
                min_size=1, max_size=6))
def test_sign_of_sum_large_near_cancellation(rows):
    """a*b - a*(b - d) = a*d: cancels to within the float filter's error but
    is far beyond int64, so neither float nor wrapped int64 may decide it."""
    a = [r[0] if r[3] else -r[0] for r in rows]
    b = [r[1] for r in rows]
    b2 = [_clamp(r[1] - r[2]) for r in rows]
    terms = [(arr(a), arr(b)), (arr([-v for v in a]), arr(b2))]
    assert sign_of_sum(terms).tolist() == truth(terms)


@pytest.mark.parametrize("n", [2**31, 2**53 - 1, 2**53, 2**53 + 1, 2**62 - 1, 2**62, 2**62 + 1,
                               2**63 - 3, 2**63 - 2])
@pytest.mark.parametrize("e", [-1, 0, 1])
def test_sign_of_sum_difference_of_squares(n, e):
    """(n + 1)(n - 1) - n * n + 1 + e = e."""
    terms = [(arr([n + 1]), arr([n - 1])), (arr([-n]), arr([n])), (arr([1 + e]), arr([1]))]
    assert sign_of_sum(terms).tolist() == [e]


@pytest.mark.parametrize("a, b, expected", [
    (INT64_MAX, INT64_MAX, 1),
    (INT64_MAX, -INT64_MAX, -1),
    (0, INT64_MAX, 0),
    (2**53 + 1, 2**53 - 1, 1),
])
def test_sign_of_sum_single_products(a, b, expected):
    assert sign_of_sum([(arr([a]), arr([b]))]).tolist() == [expected]


@settings(max_examples=150)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_sign_of_sum_broadcasts(rows, cols, data):
    """The engine's shapes: (R, n) forms against (R, 1) cut columns and 0-d ends."""
    values = st.lists(int64s, min_size=rows * cols, max_size=rows * cols)
    za = np.array(data.draw(values), dtype=np.int64).reshape(rows, cols)
    zc = np.array(data.draw(values), dtype=np.int64).reshape(rows, cols)
    cn = np.array(data.draw(st.lists(int64s, min_size=rows, max_size=rows)), dtype=np.int64)[:, None]
    cd = np.array(data.draw(st.lists(st.integers(1, INT64_MAX), min_size=rows, max_size=rows)),
                  dtype=np.int64)[:, None]
    out = sign_of_sum([(za, cn), (zc, cd)])
    assert out.shape == (rows, cols)
    assert out.tolist() == [[_sign(int(za[r, c]) * int(cn[r, 0]) + int(zc[r, c]) * int(cd[r, 0]))
                             for c in range(cols)] for r in range(rows)]
    pn, pd = data.draw(int64s), data.draw(st.integers(1, INT64_MAX))
    out = sign_of_sum([(za, np.array(pn, dtype=np.int64)), (zc, np.array(pd, dtype=np.int64))])
    assert out.tolist() == [[_sign(int(za[r, c]) * pn + int(zc[r, c]) * pd) for c in range(cols)]
                            for r in range(rows)]


huge = st.one_of(st.integers(-(10**40), 10**40), int64s)


@settings(max_examples=200)
@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_sign_of_sum_object_and_mixed(k, n, data):
    terms = []
    for _ in range(k):
        a = data.draw(st.lists(huge, min_size=n, max_size=n))
        b = data.draw(st.lists(int64s, min_size=n, max_size=n))
        terms.append((arr(a, object), arr(b, data.draw(st.sampled_from([np.int64, object])))))
    assert sign_of_sum(terms).tolist() == truth(terms)


@pytest.mark.parametrize("shape", [(0,), (0, 1), (0, 3), (2, 0)])
@pytest.mark.parametrize("dtypes", [(np.int64, np.int64), (object, np.int64), (object, object)])
def test_sign_of_sum_empty(shape, dtypes):
    """No regions yet (no cut points): the engine asks for signs of empty arrays."""
    a = np.zeros(shape, dtype=dtypes[0])
    b = np.zeros(shape, dtype=dtypes[1])
    out = sign_of_sum([(a, b), (a, b)])
    assert out.shape == shape


# -- matmul_exact --------------------------------------------------------------


@settings(max_examples=200)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.integers(0, 61), st.integers(0, 61), st.data())
def test_matmul_exact(rows, inner, cols, eh, ea, data):
    """Magnitudes 2^eh and 2^ea put the bound on either side of 2^53 and 2^62."""
    def values(e, count):
        top = 2**e
        return data.draw(st.lists(st.one_of(st.integers(-top, top), near(top, 1), near(-top, 1)),
                                  min_size=count, max_size=count))
    hv = [max(min(v, INT64_SAFE - 1), -INT64_SAFE + 1) for v in values(eh, rows * inner)]
    av = [max(min(v, INT64_SAFE - 1), -INT64_SAFE + 1) for v in values(ea, cols * inner)]
    h = np.array(hv, dtype=np.int64).reshape(rows, inner)
    a = np.array(av, dtype=np.int64).reshape(cols, inner)
    rowsum = max(sum(abs(int(w)) for w in row) for row in a)
    out = matmul_exact(a, h.T, rowsum).T
    expected = [[sum(int(h[r, j]) * int(a[c, j]) for j in range(inner)) for c in range(cols)]
                for r in range(rows)]
    assert [[int(v) for v in row] for row in out] == expected
    if maxabs(h) * rowsum < INT64_SAFE:
        assert out.dtype == np.int64


@pytest.mark.parametrize("h, a", [
    ([[2**52 - 1, 1]], [[1, 1]]),            # bound just below 2^53: float route
    ([[2**52 + 1, 2**52 - 1]], [[1, 1]]),    # just above: int64 route, sum 2^53
    ([[2**53 + 1, -(2**53)]], [[1, 1]]),     # float64 would round 2^53 + 1
    ([[2**61, 2**61 - 1]], [[1, 1]]),        # bound 2^62: Python ints
    ([[3, -5], [7, 11]], [[2**60, 2**60], [-(2**59), 1]]),
])
def test_matmul_exact_boundaries(h, a):
    hh, aa = np.array(h, dtype=np.int64), np.array(a, dtype=np.int64)
    rowsum = max(sum(abs(w) for w in row) for row in a)
    expected = [[sum(x * y for x, y in zip(hr, ar)) for ar in a] for hr in h]
    # a loose bound on |h| (as the engine carries) changes the route, never the result
    for h_max in (None, maxabs(hh), 2 * maxabs(hh) + 1, 2**40 * maxabs(hh)):
        out = matmul_exact(aa, hh.T, rowsum, h_max).T
        assert [[int(v) for v in row] for row in out] == expected


def test_matmul_exact_object():
    h = to_object(np.array([[1, 2], [3, 4]], dtype=np.int64))
    h[0, 0] = 10**30
    a = np.array([[5, -6]], dtype=np.int64)
    out = matmul_exact(a, h.T, 11)
    assert out.tolist() == [[5 * 10**30 - 12, 15 - 24]]


# -- ratio_keys ---------------------------------------------------


ratio_parts = st.one_of(
    st.tuples(int64s.map(lambda v: max(min(v, 2**62 - 1), -(2**62) + 1)), st.integers(1, 2**62 - 1)),
    st.tuples(st.integers(-(2**53), 2**53), st.integers(1, 2**53)),
    st.tuples(st.integers(-(10**300), 10**300), st.integers(1, 10**300)),
    st.tuples(st.integers(-50, 50), st.integers(1, 50)),
)


def _keys(pairs, dtype):
    return ratio_keys(arr([p for p, _ in pairs], dtype), arr([q for _, q in pairs], dtype))


@settings(max_examples=300)
@given(st.lists(ratio_parts, min_size=1, max_size=12), st.data())
def test_ratio_keys_monotone(pairs, data):
    # the same rationals, some written unreduced
    pairs = pairs + [(p * m, q * m) for (p, q), m in
                     zip(pairs, data.draw(st.lists(st.integers(2, 7), max_size=len(pairs))))]
    small = all(abs(p) < 2**62 and q < 2**62 for p, q in pairs)
    dtype = data.draw(st.sampled_from([np.int64, object])) if small else object
    keys = _keys(pairs, dtype)
    assert keys.dtype == np.float64
    value = [Fraction(p, q) for p, q in pairs]
    for i in range(len(pairs)):
        for j in range(len(pairs)):
            if value[i] <= value[j]:
                assert keys[i] <= keys[j], (pairs[i], pairs[j])


def test_ratio_keys_separate_within_an_ulp():
    n = 2**60
    keys = _keys([(n - 1, n), (n, n + 1), (1, 1)], object)
    assert keys[0] <= keys[1] <= keys[2]


@pytest.mark.parametrize("pairs", [
    [(-(10**400), 1), (-1, 1), (10**400, 3), (10**401, 1)],
    [(1, 10**400), (0, 1), (-1, 10**400)],
])
def test_ratio_keys_beyond_float_range(pairs):
    """Cut points beyond float64's range still need keys (monotone, say +-inf)."""
    keys = _keys(pairs, object)
    value = [Fraction(p, q) for p, q in pairs]
    for i in range(len(pairs)):
        for j in range(len(pairs)):
            if value[i] <= value[j]:
                assert keys[i] <= keys[j]


# -- storage helpers -----------------------------------------------------------------


@pytest.mark.parametrize("values, dtype", [
    ([], np.int64),
    ([2**62 - 1, -(2**62) + 1], np.int64),
    ([2**62], object),
    ([-(2**62)], object),
    ([1, 10**30], object),
])
def test_int_array_switches_at_the_safe_bound(values, dtype):
    out = int_array(values)
    assert out.dtype == dtype and [int(v) for v in out] == values
    assert int_array(values, force_object=True).dtype == object


def test_maxabs():
    assert maxabs(np.zeros(0, dtype=np.int64)) == 0
    assert maxabs(np.zeros((0, 2), dtype=object)) == 0
    assert maxabs(arr([3, -(10**30)], object)) == 10**30
    assert maxabs(np.array([[-7, 2]], dtype=np.int64)) == 7


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0,), (0, 1), (0, 4), (3, 0)])
def test_to_object_keeps_shape_and_values(shape):
    a = (np.arange(int(np.prod(shape)), dtype=np.int64) - 1).reshape(shape)
    out = to_object(a)
    assert out.dtype == object and out.shape == a.shape
    assert [int(v) for v in out.flat] == [int(v) for v in a.flat]
    assert all(type(v) is int for v in out.flat)
