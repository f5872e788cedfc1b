"""Exact affine forms through a vision network, along a line.

On a line ``x(t) = a + t (b - a)`` every entry of every tensor is, on each
region of ``t``, an affine form ``alpha + beta t`` with rational
coefficients.  Here they are held exactly: integer arrays (numpy object
arrays of python-flint ``fmpz``) over one common denominator per tensor,
rows ``0..R-1`` the ``alpha`` of the ``R`` regions and rows ``R..2R-1`` their
``beta``.  A convolution is one ``fmpz_mat`` product per group (im2col), so
its cost is a few integer matrix products, never a Fraction per weight.

Decisions are *stages*: one per activation op (all its kinks at once) and
one per step of each max pooling's running maximum.  Each stage has
decision forms (a pre-activation minus a kink, a running maximum minus the
next candidate) whose roots cut the regions.  :class:`ExactRun` runs the
stages in one of two modes:

* split mode: regions with exact ends, cut exactly at every root strictly
  inside (the fully exact route, and the tail of an escalation);
* pattern mode: one region known by an exact point strictly inside it; the
  pattern (which piece, which candidate) is read off there, nothing is cut
  (the head of an escalation, exact outputs on a region, exact evaluation).

The certified route (:mod:`pwl.vision.certified`) calls it for the few
regions whose float decisions its bounds cannot prove.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import PWLValueError
from ..values.numbers import to_fraction
from .model import Op, VisionNetwork, conv_index, pool_groups

__all__ = ["ExactRun", "ExactResult", "evaluate_exact", "count_exact", "stages_of"]


def stages_of(net: VisionNetwork) -> list[tuple[int, int]]:
    """The decision stages in order, as ``(op index, step)``: one step per
    activation op, ``k - 1`` per max pooling with windows of ``k`` entries."""
    key = "vision_stages"
    if key not in net.cache:
        out = []
        for k, op in enumerate(net.ops):
            if op.kind == "activation" and op.params["activation"].kinks:
                out.append((k, 0))
            elif op.kind == "maxpool":
                groups, _ = _pool(net, k)
                for step in range(1, groups.shape[1]):
                    out.append((k, step))
        net.cache[key] = out
    return list(net.cache[key])


def _pool(net: VisionNetwork, k: int) -> tuple[np.ndarray, np.ndarray]:
    key = f"pool{k}"
    if key not in net.cache:
        op = net.ops[k]
        net.cache[key] = pool_groups(op, net.op(op.inputs[0]).shape)
    result: tuple[np.ndarray, np.ndarray] = net.cache[key]
    return result


def _dyadic_ints(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Floats as an object array of integers over one power-of-two denominator."""
    from ..engine.escalate import dyadic_integers

    ints, den = dyadic_integers(np.asarray(values, dtype=np.float64).ravel())
    return np.array(ints, dtype=object).reshape(np.shape(values)), int(den)


def _fractions_ints(values: Sequence[Fraction]) -> tuple[np.ndarray, int]:
    den = 1
    for v in values:
        den = lcm(den, v.denominator)
    return np.array([int(v * den) for v in values], dtype=object), den


class _IntOps:
    """Integer forms of one network's parameters, made once."""

    def __init__(self, net: VisionNetwork):
        import flint

        self.flint = flint
        self.net = net
        self.data: dict[int, Any] = {}
        for k, op in enumerate(net.ops):
            if op.kind in ("conv", "linear"):
                w = op.params["weight"]
                ints, wden = _dyadic_ints(w)
                b = op.params["bias"]
                bint, bden = _dyadic_ints(b) if b is not None else (None, 1)
                if op.kind == "conv":
                    groups = op.params["groups"]
                    cout = w.shape[0] // groups
                    mats = [flint.fmpz_mat(cout, int(np.prod(w.shape[1:])),
                                           ints[g * cout:(g + 1) * cout].ravel().tolist())
                            for g in range(groups)]
                    index = conv_index(op, net.op(op.inputs[0]).shape)
                else:
                    mats = [flint.fmpz_mat(w.shape[0], w.shape[1], ints.ravel().tolist())]
                    index = None
                self.data[k] = (mats, wden, bint, bden, index)
            elif op.kind == "channel_affine":
                scale = op.params["scale"]
                sint, sden = _dyadic_ints(scale)
                shift = [Fraction(float(bb)) - Fraction(float(s)) * Fraction(float(m))
                         for s, m, bb in zip(scale, op.params["mean"], op.params["beta"])]
                hint, hden = _fractions_ints(shift)
                self.data[k] = (sint, sden, hint, hden)

    def matmul(self, mat: Any, cols: np.ndarray) -> np.ndarray:
        """``mat @ cols`` exactly, ``cols`` an object array ``(K, M)``."""
        k, m = cols.shape
        prod = mat * self.flint.fmpz_mat(k, m, cols.ravel().tolist())
        return np.array(prod.entries(), dtype=object).reshape(mat.nrows(), m)


@dataclass
class _Tensor:
    """Forms of one tensor on ``R`` regions: ``num`` ``(2R, N)`` over ``den``."""

    num: np.ndarray
    den: int

    def over(self, den: int) -> np.ndarray:
        return self.num if den == self.den else self.num * (den // self.den)


def _common(parts: Sequence[_Tensor]) -> int:
    den = 1
    for p in parts:
        den = lcm(den, p.den)
    return den


def _take(t: _Tensor, parent: np.ndarray, regions: int) -> _Tensor:
    rows = np.concatenate([parent, parent + regions])
    return _Tensor(t.num[rows], t.den)


def _sign(v: np.ndarray) -> np.ndarray:
    return (v > 0).astype(np.int8) - (v < 0).astype(np.int8)


@dataclass
class ExactResult:
    """What an exact run found: the final regions' exact ends, each region's
    output forms ``(alpha, beta)`` as Fractions, the cuts each stage made,
    and the regions before the output op's own cuts."""

    ends: list[tuple[Fraction, Fraction]]
    outputs: list[tuple[tuple[Fraction, ...], tuple[Fraction, ...]]]
    cuts: dict[int, int]
    hidden_regions: int
    cut_stages: list[int]


class ExactRun:
    """Exact forms of a network along the line ``a + t (b - a)``."""

    def __init__(self, net: VisionNetwork, a: Sequence[Fraction], b: Sequence[Fraction]):
        self.net = net
        ops = net.cache.get("vision_int_ops")
        if ops is None:
            ops = net.cache["vision_int_ops"] = _IntOps(net)
        self.ops: _IntOps = ops
        self.stages = stages_of(net)
        ia, da = _fractions_ints(list(a))
        direction = [q - p for p, q in zip(a, b)]
        idr, dd = _fractions_ints(direction)
        den = lcm(da, dd)
        self.input = _Tensor(np.stack([ia * (den // da), idr * (den // dd)]), den)

    # -- the run ------------------------------------------------------------------
    def run(self, ends: Optional[tuple[Fraction, Fraction]] = None,
            point: Optional[Fraction] = None, split_from: int = 0,
            origins: Sequence[Optional[tuple[int, int]]] = ()) -> ExactResult:
        """Run every op.  Stages before ``split_from`` in pattern mode at
        ``point`` (strictly inside the region); from ``split_from`` on,
        split mode on the region's ends.  An end given as None is the root of
        the decision form named by the matching entry of ``origins``
        (``(stage, index)``), read on the way."""
        net = self.net
        readers = net.readers()
        live: dict[str, _Tensor] = {}
        regions = 1
        lo: list[Optional[Fraction]] = [None if ends is None else ends[0]]
        hi: list[Optional[Fraction]] = [None if ends is None else ends[1]]
        recorded: dict[tuple[int, int], Fraction] = {}
        wanted = {o for o in origins if o is not None}
        cuts: dict[int, int] = {}
        cut_stages: list[int] = []
        stage = 0
        hidden = 1
        last = len(net.ops) - 1

        def decide(da: np.ndarray, db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Signs of the decision forms ``da + db t`` (``(R, M)`` numerators)
            on each new region, and the parent of each new region."""
            nonlocal regions, lo, hi
            if stage < split_from:
                assert point is not None and regions == 1
                for (s, m) in wanted:
                    if s == stage and db[0, m] != 0:
                        recorded[(s, m)] = Fraction(-int(da[0, m]), int(db[0, m]))
                p, q = point.numerator, point.denominator
                return _sign(da * q + db * p), np.zeros(1, dtype=np.int64)
            if stage == split_from and (lo[0] is None or hi[0] is None):
                for side, ends_ in ((0, lo), (1, hi)):
                    if ends_[0] is None:
                        origin = origins[side]
                        if origin is None or origin not in recorded:
                            raise AssertionError("an escalated region's end has no origin root")
                        ends_[0] = recorded[origin]
            parents: list[int] = []
            new_lo: list[Fraction] = []
            new_hi: list[Fraction] = []
            mids: list[Fraction] = []
            made = 0
            for r in range(regions):
                left, right = lo[r], hi[r]
                assert left is not None and right is not None
                roots = _roots_inside(da[r], db[r], left, right)
                bounds = [left] + roots + [right]
                made += len(roots)
                for j in range(len(bounds) - 1):
                    parents.append(r)
                    new_lo.append(bounds[j])
                    new_hi.append(bounds[j + 1])
                    mids.append((bounds[j] + bounds[j + 1]) / 2)
                    if j:
                        cut_stages.append(stage)
            cuts[stage] = cuts.get(stage, 0) + made
            parent = np.array(parents, dtype=np.int64)
            mp = np.array([m.numerator for m in mids], dtype=object)[:, None]
            mq = np.array([m.denominator for m in mids], dtype=object)[:, None]
            signs = _sign(da[parent] * mq + db[parent] * mp)
            lo, hi = list(new_lo), list(new_hi)
            regions = len(parents)
            return signs, parent

        def repeat(parent: np.ndarray, old: int) -> None:
            if len(parent) == old and (parent == np.arange(old)).all():
                return
            for key in list(live):
                live[key] = _take(live[key], parent, old)

        for k, op in enumerate(net.ops):
            if k == last:
                hidden = regions
            ins = [live[name] for name in op.inputs]
            for name in op.inputs:
                readers[name] -= 1
                if readers[name] == 0:
                    del live[name]
            if op.kind == "input":
                out = _Tensor(self.input.num.copy(), self.input.den)
            elif op.kind in ("conv", "linear"):
                out = self._affine(k, op, ins[0], regions)
            elif op.kind == "channel_affine":
                sint, sden, hint, hden = self.ops.data[k]
                c, h, w = op.shape
                den = lcm(ins[0].den * sden, hden)
                fa = den // (ins[0].den * sden)
                scale = np.repeat(sint, h * w)[None, :] * fa
                num = ins[0].num * scale
                num[:regions] = num[:regions] + np.repeat(hint * (den // hden), h * w)[None, :]
                out = _Tensor(num, den)
            elif op.kind == "avgpool":
                groups, divisor = _pool(net, k)
                src = ins[0]
                padded = np.concatenate([src.num, np.zeros((src.num.shape[0], 1), dtype=object)],
                                        axis=1)
                total = padded[:, groups].sum(axis=2)
                common = 1
                for d in set(divisor.tolist()):
                    common = lcm(common, d)
                factor = np.array([common // d for d in divisor.tolist()], dtype=object)
                out = _Tensor(total * factor[None, :], src.den * common)
            elif op.kind == "add":
                den = _common(ins)
                num = ins[0].over(den)
                for t in ins[1:]:
                    num = num + t.over(den)
                out = _Tensor(num, den)
            elif op.kind == "flatten":
                out = ins[0]
            elif op.kind == "activation":
                act = op.params["activation"]
                z = ins[0]
                if act.kinks:
                    da_parts, db_parts = [], []
                    for kink in act.kinks:
                        shift = kink * z.den
                        p, q = shift.numerator, shift.denominator
                        da_parts.append(z.num[:regions] * q - p)
                        db_parts.append(z.num[regions:] * q)
                    signs, parent = decide(np.concatenate(da_parts, axis=1),
                                           np.concatenate(db_parts, axis=1))
                    old = z.num.shape[0] // 2
                    z = _take(z, parent, old)
                    repeat(parent, old)
                    stage += 1
                    n = op.size
                    pieces = np.zeros((regions, n), dtype=np.int64)
                    for j in range(len(act.kinks)):
                        pieces += (signs[:, j * n:(j + 1) * n] > 0).astype(np.int64)
                else:
                    pieces = np.zeros((regions, op.size), dtype=np.int64)
                out = _activate(z, pieces, act, regions)
            else:  # maxpool: a running maximum, one stage per step
                groups, _ = _pool(net, k)
                src = ins[0]
                cur = _Tensor(src.num[:, groups[:, 0]], src.den)
                for step in range(1, groups.shape[1]):
                    cols = np.nonzero(groups[:, step] >= 0)[0]
                    cand = src.num[:, groups[cols, step]]
                    diff = cur.num[:, cols] - cand
                    signs, parent = decide(diff[:regions], diff[regions:])
                    old = src.num.shape[0] // 2
                    rows = np.concatenate([parent, parent + old])
                    src = _Tensor(src.num[rows], src.den)
                    cur = _Tensor(cur.num[rows], cur.den)
                    cand = cand[rows]
                    repeat(parent, old)
                    stage += 1
                    keep = np.concatenate([signs > 0, signs > 0])
                    block = cur.num[:, cols]
                    cur.num = cur.num.copy()
                    cur.num[:, cols] = np.where(keep, block, cand)
                out = cur
            if readers[op.name] > 0 or k == last:
                live[op.name] = out
        result = live[net.output]
        den = result.den
        outputs = []
        for r in range(regions):
            alpha = tuple(Fraction(int(v), den) for v in result.num[r])
            beta = tuple(Fraction(int(v), den) for v in result.num[regions + r])
            outputs.append((alpha, beta))
        ends_out = [(lo_, hi_) for lo_, hi_ in zip(lo, hi)
                    if lo_ is not None and hi_ is not None]
        return ExactResult(ends_out, outputs, cuts, hidden, cut_stages)

    def _affine(self, k: int, op: Op, x: _Tensor, regions: int) -> _Tensor:
        mats, wden, bint, bden, index = self.ops.data[k]
        m = x.num.shape[0]
        if op.kind == "linear":
            prod = self.ops.matmul(mats[0], x.num.T).T
        else:
            padded = np.concatenate([x.num, np.zeros((m, 1), dtype=object)], axis=1)
            parts = []
            for g, mat in enumerate(mats):
                cols = padded[:, index[g]]                     # (M, K, P)
                kk, p = index[g].shape
                flat = cols.transpose(1, 0, 2).reshape(kk, m * p)
                res = self.ops.matmul(mat, flat).reshape(mat.nrows(), m, p)
                parts.append(res.transpose(1, 0, 2).reshape(m, -1))
            prod = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        den = lcm(x.den * wden, bden)
        num = prod if den == x.den * wden else prod * (den // (x.den * wden))
        if bint is not None:
            positions = op.shape[1] * op.shape[2]
            num[:regions] = num[:regions] + np.repeat(bint * (den // bden), positions)[None, :]
        return _Tensor(num, den)


def _activate(z: _Tensor, pieces: np.ndarray, act: Any, regions: int) -> _Tensor:
    """``slope_p z + intercept_p`` on each neuron's piece ``p``."""
    if act.name == "relu":
        on = np.concatenate([pieces, pieces]) > 0
        return _Tensor(np.where(on, z.num, 0), z.den)
    scale = 1
    for v in act.slopes + act.intercepts:
        scale = lcm(scale, v.denominator)
    slopes = np.array([int(s * scale) for s in act.slopes], dtype=object)
    icpts = np.array([int(c * scale) for c in act.intercepts], dtype=object)
    s = slopes[pieces]
    num = np.concatenate([s, s]) * z.num
    num[:regions] = num[:regions] + icpts[pieces] * z.den
    return _Tensor(num, z.den * scale)


def _roots_inside(da: np.ndarray, db: np.ndarray, lo: Fraction, hi: Fraction) -> list[Fraction]:
    """Sorted distinct roots of ``da + db t`` strictly inside ``(lo, hi)``."""
    nz = np.nonzero(db != 0)[0]
    if len(nz) == 0:
        return []
    a, b = da[nz], db[nz]
    neg = b < 0
    num = np.where(neg, a, -a)       # root = num / den with den > 0
    den = np.where(neg, -b, b)
    inside = ((num * lo.denominator > den * lo.numerator)
              & (num * hi.denominator < den * hi.numerator))
    idx = np.nonzero(inside)[0]
    return sorted({Fraction(int(num[i]), int(den[i])) for i in idx})


def _points(net: VisionNetwork, a: object, b: object) -> tuple[list[Fraction], list[Fraction]]:
    return _point(net, a, "a"), _point(net, b, "b")


def _point(net: VisionNetwork, x: object, name: str) -> list[Fraction]:
    if isinstance(x, np.ndarray):
        if x.size != net.input_size:
            raise PWLValueError(f"{name}: expected {net.input_size} numbers (shape "
                                f"{net.input_shape}), got an array of shape {x.shape}")
        flat = x.reshape(-1)
        if flat.dtype.kind == "f":
            bad = ~np.isfinite(flat)
            if bad.any():
                i = int(np.argwhere(bad)[0][0])
                raise PWLValueError(f"{name}[{i}]: {float(flat[i])!r} is not a finite number")
            return [Fraction(v) for v in flat.astype(np.float64).tolist()]
        if flat.dtype.kind in "iu":
            return [Fraction(int(v)) for v in flat.tolist()]
        raise PWLValueError(f"{name}: an array of {flat.dtype}, not numbers")
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise PWLValueError(f"{name}: expected an array of {net.input_size} numbers")
    values = list(x)  # type: ignore[call-overload]
    if len(values) != net.input_size:
        raise PWLValueError(f"{name}: expected {net.input_size} numbers, got {len(values)}")
    return [to_fraction(v, f"{name}[{i}]") for i, v in enumerate(values)]


def evaluate_exact(net: VisionNetwork, x: object) -> tuple[Fraction, ...]:
    """The exact outputs of ``net`` at the input ``x``."""
    p = _point(net, x, "x")
    run = ExactRun(net, p, p)
    res = run.run(point=Fraction(0), split_from=len(run.stages) + 1)
    return res.outputs[0][0]


def count_exact(net: VisionNetwork, a: object, b: object) -> ExactResult:
    """Every region of ``t`` in [0, 1] on the line from ``a`` to ``b``, in
    exact arithmetic from the first op to the last (the slow reference)."""
    pa, pb = _points(net, a, b)
    if pa == pb:
        raise PWLValueError("a and b are the same point: the line needs two distinct points")
    return ExactRun(net, pa, pb).run(ends=(Fraction(0), Fraction(1)))
