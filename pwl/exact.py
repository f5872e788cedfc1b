"""Exact integer kernels on numpy arrays: float speed where a bound proves it.

Arrays hold integers, as ``int64`` while magnitudes allow and as ``object``
arrays of Python ints beyond.  Three facts make ``int64`` and float64 exact:

1. A float64 holds every integer below 2^53 exactly, and a sum of products
   whose absolute partial sums stay below 2^53 is computed exactly, in any
   order (so BLAS may be used for integer matrix products).
2. int64 arithmetic in numpy wraps modulo 2^64.  If the *final* value of an
   expression is known to lie below 2^63 in magnitude, the wrapped result is
   the true one, whatever the intermediate overflows.
3. A float64 estimate ``F`` of ``S = sum a_i b_i`` (integers below 2^63)
   satisfies ``|F - S| <= (k + 3) u sum |a_i b_i|`` with ``u = 2^-53`` for
   ``k`` terms.  So ``|F| > E`` with ``E = 2^-48 sum |a_i b_i|`` proves the
   sign of ``S`` (k <= 20); otherwise ``|S| <= |F| + E`` is small and fact 2
   computes ``S`` exactly.

Only values that neither route settles are handed to Python ints.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "INT64_SAFE",
    "maxabs",
    "is_object",
    "to_object",
    "int_array",
    "matmul_exact",
    "sign_of_sum",
    "ratio_keys",
]

#: Magnitudes below this keep int64 sums of two products' partial results safe.
INT64_SAFE = 2**62
_FLOAT_EXACT = 2**53
_REL_ERR = 2.0**-48
#: Up to this many inputs per neuron, products are column sums, not BLAS.
_SMALL_INNER = 8



def is_object(*arrays: np.ndarray) -> bool:
    return any(a.dtype == object for a in arrays)


def to_object(a: np.ndarray) -> np.ndarray:
    """The same integers as Python ints (exact, unbounded)."""
    if a.dtype == object:
        return a
    return a.astype(object)  # numpy casts int64 entries to Python ints


def maxabs(a: np.ndarray) -> int:
    """Largest absolute value, as a Python int (0 for an empty array)."""
    if a.size == 0:
        return 0
    if a.dtype == object:
        return int(max(abs(v) for v in a.flat))
    return int(np.max(np.abs(a)))


def int_array(values: Sequence[object] | np.ndarray, force_object: bool = False) -> np.ndarray:
    """An integer array, int64 if every entry is below the safe bound."""
    obj = np.array(values, dtype=object)
    if not force_object and (obj.size == 0 or maxabs(obj) < INT64_SAFE):
        return obj.astype(np.int64)
    return obj


def matmul_exact(h: np.ndarray, a: np.ndarray, a_rowsum: int) -> np.ndarray:
    """Exact ``h @ a.T`` for integer arrays.

    ``a_rowsum`` is ``max_i sum_j |a_ij|`` (a Python int), so every partial
    sum of a result entry is at most ``maxabs(h) * a_rowsum`` in magnitude.
    """
    if is_object(h, a):
        return to_object(h) @ to_object(a).T
    bound = maxabs(h) * a_rowsum
    if bound < _FLOAT_EXACT:
        if a.shape[1] <= _SMALL_INNER:
            # a few columns: a sum of scaled columns beats BLAS (and its threads)
            out = h[:, 0:1] * a[:, 0]
            for j in range(1, a.shape[1]):
                out += h[:, j:j + 1] * a[:, j]
            return out
        out = h.astype(np.float64) @ a.astype(np.float64).T
        return out.astype(np.int64)
    if bound < INT64_SAFE:
        return h @ a.T
    return to_object(h) @ to_object(a).T


def sign_of_sum(terms: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Exact sign (int8 -1, 0, 1) of ``sum_i a_i * b_i``, elementwise.

    Each pair broadcasts to the result's shape.  int64 inputs go through the
    float filter and the wrapped int64 sum (see the module docstring); object
    inputs are computed with Python ints.
    """
    if any(is_object(a, b) for a, b in terms):
        total = sum(to_object(a) * to_object(b) for a, b in terms)
        return np.sign(total).astype(np.int8)
    if sum(maxabs(a) * maxabs(b) for a, b in terms) < INT64_SAFE:
        # every partial sum fits: plain int64 arithmetic is exact
        total = None
        for a, b in terms:
            total = a * b if total is None else total + a * b
        return np.sign(total).astype(np.int8)
    est = None
    mag = None
    for a, b in terms:
        prod = a.astype(np.float64) * b.astype(np.float64)
        est = prod if est is None else est + prod
        mag = np.abs(prod) if mag is None else mag + np.abs(prod)
    assert est is not None and mag is not None
    err = mag * _REL_ERR
    sign = np.sign(est).astype(np.int8)
    undecided = np.abs(est) <= err
    if not undecided.any():
        return sign
    idx = np.nonzero(undecided)
    shape = sign.shape
    small = (np.abs(est[idx]) + 2 * err[idx]) < INT64_SAFE
    wrapped = None
    with np.errstate(over="ignore"):
        for a, b in terms:
            prod = np.broadcast_to(a, shape)[idx] * np.broadcast_to(b, shape)[idx]
            wrapped = prod if wrapped is None else wrapped + prod
    assert wrapped is not None
    exact = np.sign(wrapped).astype(np.int8)
    if not small.all():
        big = np.nonzero(~small)[0]
        pieces = [(to_object(np.broadcast_to(a, shape)[idx][big]),
                   to_object(np.broadcast_to(b, shape)[idx][big])) for a, b in terms]
        exact[big] = np.sign(sum(x * y for x, y in pieces)).astype(np.int8)
    sign[idx] = exact
    return sign


def ratio_keys(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """float64 keys of the rationals ``num/den`` (``den > 0``), rounded so
    that ``p < q`` implies ``key(p) <= key(q)``.

    IEEE division of two exactly represented integers is correctly rounded,
    hence monotone; Python's ``int / int`` is correctly rounded for any size.
    """
    if not is_object(num, den) and max(maxabs(num), maxabs(den)) <= _FLOAT_EXACT:
        return num.astype(np.float64) / den.astype(np.float64)
    return np.array([_true_div(int(p), int(q)) for p, q in zip(num.tolist(), den.tolist())],
                    dtype=np.float64)


def _true_div(p: int, q: int) -> float:
    """Correctly rounded ``p / q``; beyond the float range, an infinity
    (still monotone: ties among infinities are settled exactly by callers)."""
    try:
        return p / q
    except OverflowError:
        return float("inf") if (p > 0) == (q > 0) else float("-inf")
