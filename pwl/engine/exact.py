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

from typing import Optional, Sequence

import numpy as np

__all__ = [
    "INT64_SAFE",
    "FLOAT_EXACT",
    "maxabs",
    "is_object",
    "to_object",
    "int_array",
    "matmul_exact",
    "matmul_exact_pair",
    "sign_of_sum",
    "ratio_keys",
]

#: Magnitudes below this keep int64 sums of two products' partial results safe.
INT64_SAFE = 2**62
#: Integers below this are exact in float64, and so are sums of products
#: whose partial sums stay below it.
FLOAT_EXACT = 2**53
_REL_ERR = 2.0**-48
#: Up to this many inputs per neuron, products are int64 einsums, not BLAS.
_SMALL_INNER = 4


def is_object(*arrays: np.ndarray) -> bool:
    for a in arrays:
        if a.dtype == object:
            return True
    return False


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
    # two reductions without a temporary; Python ints, so -min cannot wrap
    return max(int(a.max()), -int(a.min()))


def int_array(values: Sequence[object] | np.ndarray, force_object: bool = False) -> np.ndarray:
    """An integer array, int64 if every entry is below the safe bound."""
    obj = np.array(values, dtype=object)
    if not force_object and (obj.size == 0 or maxabs(obj) < INT64_SAFE):
        return obj.astype(np.int64)
    return obj


def matmul_exact(a: np.ndarray, h: np.ndarray, a_rowsum: int,
                 h_max: Optional[int] = None) -> np.ndarray:
    """Exact ``a @ h`` for integer arrays (``h`` holds one column per region).

    ``a_rowsum`` is ``max_i sum_j |a_ij|`` (a Python int), so every partial
    sum of a result entry is at most ``maxabs(h) * a_rowsum`` in magnitude;
    ``h_max``, if given, is an upper bound on ``maxabs(h)`` that saves a pass.
    """
    if is_object(h, a):
        return _flint_matmul(a, h)
    bound = (maxabs(h) if h_max is None or h_max * a_rowsum >= FLOAT_EXACT
             else h_max) * a_rowsum
    if bound < INT64_SAFE and a.shape[1] <= _SMALL_INNER:
        # a few inputs: int64 products summed in place beat BLAS and its threads
        return np.einsum("ij,jr->ir", a, h)
    if bound < FLOAT_EXACT:
        return (a.astype(np.float64) @ h.astype(np.float64)).astype(np.int64)
    if bound < INT64_SAFE:
        return a @ h
    return _flint_matmul(a, h)


def _flint_matmul(a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Exact ``a @ h`` of big integers as one python-flint ``fmpz_mat``
    product (multi-modular, far faster than numpy's object loops)."""
    import flint

    if a.size == 0 or h.size == 0:
        return to_object(a) @ to_object(h)
    fa = flint.fmpz_mat(a.shape[0], a.shape[1], [int(v) for v in a.ravel().tolist()])
    fh = flint.fmpz_mat(h.shape[0], h.shape[1], [int(v) for v in h.ravel().tolist()])
    out = np.empty(a.shape[0] * h.shape[1], dtype=object)
    out[:] = [int(v) for v in (fa * fh).entries()]
    return out.reshape(a.shape[0], h.shape[1])


def matmul_exact_pair(a: np.ndarray, h1: np.ndarray, h2: np.ndarray, a_rowsum: int,
                      h_max: Optional[int] = None, a_float: Optional[np.ndarray] = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(a @ h1, a @ h2)``, as :func:`matmul_exact`; when floats are
    exact, one BLAS product over both side by side.  ``h_max`` bounds both
    ``maxabs(h1)`` and ``maxabs(h2)``; ``a_float`` is ``a`` as float64, if at hand."""
    if a.shape[1] <= _SMALL_INNER or is_object(a, h1, h2):
        return (matmul_exact(a, h1, a_rowsum, h_max), matmul_exact(a, h2, a_rowsum, h_max))
    if h_max is None or h_max * a_rowsum >= FLOAT_EXACT:
        h_max = max(maxabs(h1), maxabs(h2))
    if h_max * a_rowsum >= FLOAT_EXACT:
        return (matmul_exact(a, h1, a_rowsum, h_max), matmul_exact(a, h2, a_rowsum, h_max))
    n = h1.shape[1]
    both = np.empty((h1.shape[0], 2 * n), dtype=np.float64)
    both[:, :n] = h1
    both[:, n:] = h2
    out = ((a.astype(np.float64) if a_float is None else a_float) @ both).astype(np.int64)
    return out[:, :n], out[:, n:]


def sign_of_sum(terms: Sequence[tuple[np.ndarray, np.ndarray]],
                bound: Optional[int] = None) -> np.ndarray:
    """Exact sign (int8 -1, 0, 1) of ``sum_i a_i * b_i``, elementwise.

    Each pair broadcasts to the result's shape.  int64 inputs go through the
    float filter and the wrapped int64 sum (see the module docstring); object
    inputs are computed with Python ints.  ``bound``, if given, is an upper
    bound on ``sum_i maxabs(a_i) * maxabs(b_i)`` that saves those passes.
    """
    if is_object(*(x for pair in terms for x in pair)):
        total = sum(to_object(a) * to_object(b) for a, b in terms)
        return np.sign(total).astype(np.int8)
    if bound is None or bound >= INT64_SAFE:
        bound = sum(maxabs(a) * maxabs(b) for a, b in terms)
    if bound < INT64_SAFE:
        # every partial sum fits: plain int64 arithmetic is exact
        total = None
        for a, b in terms:
            prod = a * b
            if total is None:
                total = prod
            elif isinstance(total, np.ndarray) and total.shape == np.shape(prod):
                total += prod
            else:
                total = total + prod
        if not isinstance(total, np.ndarray):   # 0-d operands give numpy scalars
            return np.sign(total).astype(np.int8)
        np.sign(total, out=total)
        return total.astype(np.int8)
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


def ratio_keys(num: np.ndarray, den: np.ndarray, bound: Optional[int] = None) -> np.ndarray:
    """float64 keys of the rationals ``num/den`` (``den > 0``), rounded so
    that ``p < q`` implies ``key(p) <= key(q)``.

    IEEE division of two exactly represented integers is correctly rounded,
    hence monotone; Python's ``int / int`` is correctly rounded for any size.
    ``bound``, if given, is an upper bound on every ``|num|`` and ``den``.
    """
    if is_object(num, den):
        bound = None
    elif bound is None or bound > FLOAT_EXACT:
        bound = max(maxabs(num), maxabs(den))
    if bound is not None and bound <= FLOAT_EXACT:
        # int64 / int64 converts both to float64 (exactly, below 2^53) and divides
        return np.true_divide(num, den, dtype=np.float64)
    return np.array([_true_div(int(p), int(q)) for p, q in zip(num.tolist(), den.tolist())],
                    dtype=np.float64)


def _true_div(p: int, q: int) -> float:
    """Correctly rounded ``p / q``; beyond the float range, an infinity
    (still monotone: ties among infinities are settled exactly by callers)."""
    try:
        return p / q
    except OverflowError:
        return float("inf") if (p > 0) == (q > 0) else float("-inf")
