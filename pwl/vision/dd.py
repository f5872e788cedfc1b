"""Re-anchoring a batch of regions in double-double arithmetic.

The certified route's componentwise bounds grow by about the row sums of
``|W|`` per convolution (8 to 10 times on He-initialised ResNets), so after
a dozen convolutions they pass the size of the values and float64 can no
longer prove signs.  Before that happens the batch's forms are recomputed
in double-double (pairs ``hi + lo``, about 106 bits), each region's pattern
read off at a float point strictly inside it, and the float64 batch
continues from there with bounds back at the rounding of one float
(``|lo| + e``), as if it had just started.

Each re-anchoring keeps its double-double tensors (an :class:`Anchor`); the
next one of the batch, and the double-double retry of undecided output
slopes, go on from the deepest anchor whose regions hold theirs (a region
of a later op lies inside one of an earlier op and has its pattern there),
so every op is computed in double-double once along a batch.  Regions with
the same pattern so far share one row of every tensor (``idx`` maps regions
to rows): the products cost what the distinct forms need, as in the float
pass, not what the final regions would.

Convolutions and matrix products are built from products that are exact in
float64.  The weights are cut into three 21-bit limbs ``W_i`` on a
power-of-two grid (what is left, for weights spanning more than 63 bits, is
bounded through ``|W_rem|``; float32 weights within 2^18 of the largest fill
two, and a limb that is zero throughout is skipped).  Each row of the input
``hi + lo`` gives two 21-bit limbs ``x_0``, ``x_1`` below a power of two above
its largest ``|hi|`` and the rest ``t = fl((hi - x_0 - x_1) + lo)`` (the
differences exact, the sum rounded once, so that ``|t|`` is below 2^-42 of
the row).  A limb product ``W_i x_j`` sums at most 2000 products of 42-bit
integers on one grid, so every partial sum is an integer below 2^53 units:
exact, in any order; a level's two (``i + j`` equal) sum exactly for
``K <= 1000``.  The *tails* ``W_i t`` are float64 products, within
``(gamma_K + u) |W_i| |t|`` of ``W_i (hi - x_0 - x_1 + lo)``: about 2^-86 of
``|W| |x|``.  The tails are summed plainly (one rounding more,
``gamma_(K+2)`` in all), then the levels, the highest first, into a
double-double by two-sums.  Each of the three inputs meets every weight limb
in one convolution, the limbs stacked as output channels: in narrow layers
unfolding an input costs more than the product, so three inputs of two
limbs cost far less than more inputs of one.

Nothing of the input is left over; the double-double roundings are bounded
by ``2^-88`` of ``|W| M`` per entry (at most seven two-sums, exact; the float
sum of their six errors within ``30 u^2`` of ``|W| M``).  Elementwise steps use the error-free two-sum and
Dekker's two-product (bounded by ``2^-100`` of their operands).

:func:`lead` runs the first ops of a line in double-double only, cutting
the regions with the certified route's decisions on the heads; each batch it
hands over to float64 keeps its double-doubles as an anchor.

Errors propagate as in :mod:`pwl.vision.certified`: per neuron for the
batch, ``e' = |W| e + local``.  A pattern whose sign the bounds do not prove
at the inside point sends its region to the exact route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["Anchor", "reanchor", "lead"]

DD_LOCAL = 2.0**-88
DD_ELEM = 2.0**-100
SPLIT = 134217729.0      # 2^27 + 1


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """Knuth's two-sum, ``s + e = a + b`` exactly; three new tensors, not
    six (fresh large tensors cost page faults)."""
    import torch

    s = a + b
    bb = s - a
    t = s - bb
    torch.sub(a, t, out=t)          # a - (s - bb)
    torch.sub(b, bb, out=bb)        # b - bb
    return s, t.add_(bb)


def _split(a: Any) -> tuple[Any, Any]:
    c = SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: Any, b: Any) -> tuple[Any, Any]:
    p = a * b
    a1, a2 = _split(a)
    b1, b2 = _split(b)
    return p, ((a1 * b1 - p) + a1 * b2 + a2 * b1) + a2 * b2


def _norm(hi: Any, lo: Any) -> tuple[Any, Any]:
    return _two_sum(hi, lo)


def _add(x: tuple[Any, Any], y: tuple[Any, Any]) -> tuple[Any, Any]:
    s, e = _two_sum(x[0], y[0])
    return _norm(s, e + (x[1] + y[1]))


def _mul(x: tuple[Any, Any], f: Any) -> tuple[Any, Any]:
    p, e = _two_prod(x[0], f)
    return _norm(p, e + x[1] * f)


def _div(x: tuple[Any, Any], n: Any) -> tuple[Any, Any]:
    q1 = x[0] / n
    p, e = _two_prod(q1, n)
    r = ((x[0] - p) - e) + x[1]
    return _norm(q1, r / n)


class _DT:
    """A tensor in double-double on a batch: ``hi``/``lo`` for alpha and beta
    ``(U, N)``, one row per distinct form, ``idx`` ``(R,)`` the row of each
    region; bounds ``ea``/``eb`` ``(N,)``, and whether exact zeros are dead
    relu outputs."""

    def __init__(self, a: tuple[Any, Any], b: tuple[Any, Any], ea: Any, eb: Any,
                 zeros: bool = False, idx: Any = None):
        self.a, self.b, self.ea, self.eb, self.zeros, self.idx = a, b, ea, eb, zeros, idx

    def rows(self, idx: Any) -> "_DT":
        """The tensor with one row per entry of ``idx`` (rows of this one)."""
        return _DT((self.a[0][idx], self.a[1][idx]), (self.b[0][idx], self.b[1][idx]),
                   self.ea, self.eb, self.zeros, None)

    def regions(self) -> "_DT":
        """One row per region."""
        return self.rows(self.idx)


def _subset(torch: Any, d: "_DT", pick: Any) -> "_DT":
    """``d`` for the regions ``pick`` of it, with only the rows they use."""
    used, inverse = torch.unique(d.idx[pick], return_inverse=True)
    return _DT((d.a[0][used], d.a[1][used]), (d.b[0][used], d.b[1][used]), d.ea, d.eb,
               d.zeros, inverse)


def _distinct(torch: Any, keys: Any) -> tuple[Any, Any]:
    """Distinct rows of an integer matrix ``keys``: (first row of each, the
    distinct row of every row)."""
    if keys.shape[0] <= 1:
        return torch.arange(keys.shape[0]), torch.zeros(keys.shape[0], dtype=torch.int64)
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), keys.shape[0], dtype=torch.int64)
    first = first.scatter_reduce(0, inverse, torch.arange(keys.shape[0]), "amin")
    return first, inverse


class _Anchor:
    def __init__(self, eng: Any):
        self.eng = eng
        self.torch = eng.torch
        self.limbs: dict[int, Any] = {}
        self.stacked: dict[Any, Any] = {}

    # -- exact limb products --------------------------------------------------------
    def _wlimbs(self, k: int) -> Any:
        if k not in self.limbs:
            torch = self.torch
            w = np.array(self.eng.net.ops[k].params["weight"], dtype=np.float64)
            top = np.max(np.abs(w))
            e = int(np.frexp(top)[1]) if top > 0 else 0       # 2^e > max |w|
            parts, r = [], w.copy()
            for i in range(3):
                g = np.ldexp(1.0, e - 21 * (i + 1))
                li = np.trunc(r / g) * g
                parts.append(torch.from_numpy(li))
                r = r - li
            self.limbs[k] = (parts, torch.from_numpy(np.abs(r)), float(np.ldexp(1.0, e)))
        return self.limbs[k]

    def linear_op(self, k: int, ins: list[_DT]) -> _DT:
        """Op ``k``, one that cuts nothing (affine, batch norm, average
        pooling, sum, flattening), on its inputs."""
        kind = self.eng.net.ops[k].kind
        if kind in ("conv", "linear"):
            return self.affine(k, ins[0])
        if kind == "channel_affine":
            return self.channel_affine(k, ins[0])
        if kind == "avgpool":
            return self.avgpool(k, ins[0])
        if kind == "add":
            return self.add(ins)
        return ins[0]

    def affine(self, k: int, x: _DT) -> _DT:
        torch = self.torch
        eng = self.eng
        op = eng.net.ops[k]
        parts, wrem, _ = self._wlimbs(k)
        used = [i for i in range(3) if bool(parts[i].any())]
        r = x.a[0].shape[0]
        hi = torch.cat([x.a[0], x.b[0]])
        lo = torch.cat([x.a[1], x.b[1]])
        k_in = int(np.prod(op.params["weight"].shape[1:]))
        zero = x.ea * 0

        def side_max(v: Any) -> tuple[Any, Any]:
            """The largest of ``v`` per entry over alpha's rows and beta's."""
            return (v[:r].amax(0), v[r:].amax(0)) if r else (zero, zero)

        out_hi, out_lo, tails = self._tail_products(k, hi, lo, used, k_in, side_max)
        oa, ob = (out_hi[:r], out_lo[:r]), (out_hi[r:], out_lo[r:])
        bias = op.params["bias"]
        if bias is not None:
            bt = eng._bias_image(op, torch.from_numpy(np.array(bias)))
            oa = _add(oa, (bt.expand_as(oa[0]), torch.zeros_like(oa[0])))
        # bounds, all through |W| in one product (the limbs have the weights'
        # signs, so sum_i |W_i| <= |W|): the inherited e; the double-double
        # roundings, DD_LOCAL M; the tails'; the weights' remainder through
        # |W_rem| where there is one; the images rounded up by 1 + 2^-50
        ma = (x.a[0].abs() + x.a[1].abs()).amax(0) if r else zero
        mb = (x.b[0].abs() + x.b[1].abs()).amax(0) if r else zero
        absw, babs = eng._abs_weights(k)
        imgs = torch.stack([x.ea + DD_LOCAL * ma + tails[0], x.eb + DD_LOCAL * mb + tails[1]])
        wa = eng._linear(k, imgs * (1 + 2.0**-50), absw, None) * (1 + 2.0**-40)
        ea, eb = wa[0], wa[1]
        if bool(wrem.any()):
            rem = eng._linear(k, torch.stack([ma, mb]), wrem, None) * (1 + 2.0**-40)
            ea, eb = ea + rem[0], eb + rem[1]
        if babs is not None:
            ea = ea + DD_ELEM * eng._bias_image(op, babs)
        return _DT(oa, ob, ea * (1 + 2.0**-30) + 1e-290, eb * (1 + 2.0**-30) + 1e-290,
                   idx=x.idx)

    def _products(self, k: int, x: Any, want: list[int]) -> dict[int, Any]:
        """``W_i x`` for the weight limbs ``i`` in ``want``, in one product with
        the limbs stacked as output channels where the op allows it (one
        call of a wider product is cheaper than several)."""
        torch = self.torch
        eng = self.eng
        op = eng.net.ops[k]
        parts, _, _ = self._wlimbs(k)
        if len(want) > 1 and (op.kind == "linear" or op.params["groups"] == 1):
            key = (k, tuple(want))
            if key not in self.stacked:
                self.stacked[key] = torch.cat([parts[i] for i in want])
            outs = eng._linear(k, x, self.stacked[key], None)
            return {i: outs[:, n * op.size:(n + 1) * op.size] for n, i in enumerate(want)}
        return {i: eng._linear(k, x, parts[i], None) for i in want}

    def _sum_levels(self, s: Any, prods: dict[tuple[int, int], Any], used: list[int],
                    exact_levels: bool) -> tuple[Any, Any]:
        """``s`` plus the products of every level ``i + j``, the highest first,
        into a double-double by two-sums; a level's products are summed
        plainly first where ``exact_levels`` says that this is exact."""
        c = self.torch.zeros_like(s)
        for n in range(max(i + j for i, j in prods), -1, -1) if prods else ():
            qs = [prods[i, n - i] for i in used if (i, n - i) in prods]
            if exact_levels and len(qs) > 1:
                p = qs[0]
                for q in qs[1:]:
                    p = p + q
                qs = [p]
            for q in qs:
                s, e = _two_sum(s, q)
                c.add_(e)
        return _norm(s, c)

    def _tail_products(self, k: int, hi: Any, lo: Any, used: list[int], k_in: int,
                       side_max: Any) -> tuple[Any, Any, tuple[Any, Any]]:
        """``W (hi + lo)`` (``used``: the nonzero weight limbs): the exact
        products of two input limbs, and the products with the rest of the
        input in float64, each of the three inputs in one product with the
        weight limbs stacked (module notes); nothing of the input is left
        over."""
        torch = self.torch
        op = self.eng.net.ops[k]
        u = 2.0**-53
        top = hi.abs().amax(1, keepdim=True)
        _, ex = torch.frexp(top)
        ex = ex.to(torch.float64)
        # (in place where the tensors are new: fresh large tensors cost page faults)
        g = torch.pow(2.0, ex - 21)
        x0 = (hi / g).trunc_().mul_(g)
        rest = hi - x0                  # exact, as the next two
        g = torch.pow(2.0, ex - 42)
        x1 = (rest / g).trunc_().mul_(g)
        rest.sub_(x1).add_(lo)          # the sum rounded once
        prods: dict[tuple[int, int], Any] = {}
        for j, x in enumerate((x0, x1)):
            for i, v in self._products(k, x, used).items():
                prods[i, j] = v
        tails = list(self._products(k, rest, used).values())
        n = hi.shape[0]
        s = tails[0] if tails else torch.zeros((n, op.size), dtype=torch.float64)
        for t in tails[1:]:
            s = s + t
        # a level's products share a grid, each below K 2^42 units: two of
        # them sum exactly for K <= 1000
        out_hi, out_lo = self._sum_levels(s, prods, used, k_in <= 1000)
        # each tail within gamma_K |W_i| |rest| of its product and their sum
        # one rounding more (gamma_(K+2) in all), the rest's own rounding
        # u |rest| through |W_i|: the image of (gamma + u) |rest|, for |W|
        gam = (k_in + 2) * u / (1 - (k_in + 2) * u)
        ta, tb = side_max(rest.abs())
        g = (gam + u) * (1 + 2 * u)
        return out_hi, out_lo, (ta * g, tb * g)

    # -- the other operators ----------------------------------------------------------
    def channel_affine(self, k: int, x: _DT) -> _DT:
        torch = self.torch
        op = self.eng.net.ops[k]
        rep = op.shape[1] * op.shape[2]
        scale, mean, beta = (torch.from_numpy(np.array(op.params[n])).repeat_interleave(rep)
                             for n in ("scale", "mean", "beta"))
        zero = torch.zeros_like(x.a[0])
        ca = _add(x.a, (-mean.expand_as(zero), zero))
        oa = _add(_mul(ca, scale), (beta.expand_as(zero), zero))
        ob = _mul(x.b, scale)
        ma = (x.a[0].abs() + x.a[1].abs()).amax(0) if len(zero) else x.ea * 0
        mb = (x.b[0].abs() + x.b[1].abs()).amax(0) if len(zero) else x.eb * 0
        s = scale.abs()
        ea = s * x.ea + 4 * DD_ELEM * (s * (ma + mean.abs()) + beta.abs())
        eb = s * x.eb + 2 * DD_ELEM * s * mb
        return _DT(oa, ob, ea * (1 + 2.0**-30) + 1e-290, eb * (1 + 2.0**-30) + 1e-290,
                   idx=x.idx)

    def add(self, ins: list[_DT]) -> _DT:
        torch = self.torch
        if all(t.idx is ins[0].idx or torch.equal(t.idx, ins[0].idx) for t in ins[1:]):
            idx = ins[0].idx
        else:
            first, idx = _distinct(torch, torch.stack([t.idx for t in ins], 1))
            ins = [t.rows(t.idx[first]) for t in ins]
        oa, ob = ins[0].a, ins[0].b
        ea, eb = ins[0].ea, ins[0].eb
        ma = ins[0].a[0].abs().amax(0) if len(oa[0]) else ea * 0
        mb = ins[0].b[0].abs().amax(0) if len(ob[0]) else eb * 0
        for t in ins[1:]:
            oa, ob = _add(oa, t.a), _add(ob, t.b)
            ea, eb = ea + t.ea, eb + t.eb
            if len(oa[0]):
                ma = ma + t.a[0].abs().amax(0)
                mb = mb + t.b[0].abs().amax(0)
        n = len(ins)
        return _DT(oa, ob, (ea + 4 * n * DD_ELEM * ma) * (1 + 2.0**-30) + 1e-290,
                   (eb + 4 * n * DD_ELEM * mb) * (1 + 2.0**-30) + 1e-290, idx=idx)

    def avgpool(self, k: int, x: _DT) -> _DT:
        torch = self.torch
        groups, divisor = self.eng.pool[k]
        n = groups.shape[1]
        idx = torch.where(groups >= 0, groups, x.a[0].shape[1])
        div = divisor.to(torch.float64)

        def pad(v: Any) -> Any:
            return torch.cat([v, torch.zeros(v.shape[:-1] + (1,), dtype=v.dtype)], -1)[..., idx]

        def mean(v: tuple[Any, Any]) -> tuple[Any, Any]:
            h, l_ = pad(v[0]), pad(v[1])
            acc = (h[..., 0], l_[..., 0])
            for j in range(1, n):
                acc = _add(acc, (h[..., j], l_[..., j]))
            return _div(acc, div.expand_as(acc[0]))

        oa, ob = mean(x.a), mean(x.b)
        ma = (x.a[0].abs() + x.a[1].abs()).amax(0) if len(x.a[0]) else x.ea * 0
        mb = (x.b[0].abs() + x.b[1].abs()).amax(0) if len(x.b[0]) else x.eb * 0

        def avg(v: Any) -> Any:
            return pad(v[None])[0].sum(-1) / div

        g = (4 * n + 4) * DD_ELEM
        return _DT(oa, ob, (avg(x.ea) * (1 + 2.0**-40) + g * avg(ma)) * (1 + 2.0**-30) + 1e-290,
                   (avg(x.eb) * (1 + 2.0**-40) + g * avg(mb)) * (1 + 2.0**-30) + 1e-290,
                   idx=x.idx)

    def signs(self, a: tuple[Any, Any], b: tuple[Any, Any], ea: Any, eb: Any, t: Any,
              known: Optional[Any] = None, known_sign: Optional[Any] = None
              ) -> tuple[Any, Any]:
        """Signs of ``a + b t`` at each region's inside point ``t`` ``(R, 1)``,
        and the regions where one is not proven."""
        torch = self.torch
        v = a[0] + b[0] * t
        err = (3 * 2.0**-53 * (a[0].abs() + (b[0] * t).abs()) + a[1].abs() + (b[1] * t).abs()
               + ea + eb * t.abs()) * (1 + 2.0**-30) + 1e-290
        exact_zero = (a[0] == 0) & (a[1] == 0) & (b[0] == 0) & (b[1] == 0) & (ea == 0) & (eb == 0)
        sign = torch.where(v > err, 1, torch.where(v < -err, -1, 0)).to(torch.int8)
        unsure = (sign == 0) & ~exact_zero
        if known is not None:
            sign = torch.where(known, known_sign, sign)
            unsure = unsure & ~known
        return sign, unsure.any(1)

    def activation(self, k: int, x: _DT, t: Any) -> tuple[_DT, Any]:
        out, pieces, bad = self._activation(k, x.regions(), t)
        return self._distinct_out(out, x.idx, pieces), bad

    def _distinct_out(self, out: _DT, idx: Any, pattern: Any) -> _DT:
        """``out``, one row per region, cut down to one row per distinct
        (input row, pattern)."""
        torch = self.torch
        first, inverse = _distinct(torch, torch.cat([idx[:, None], pattern], 1))
        res = out.rows(first)
        res.idx = inverse
        return res

    def _activation(self, k: int, x: _DT, t: Any) -> tuple[_DT, Any, Any]:
        torch = self.torch
        act = self.eng.net.ops[k].params["activation"]
        n = x.a[0].shape[1]
        zero = torch.zeros_like(x.a[0])
        pieces = torch.zeros(x.a[0].shape, dtype=torch.int64)
        bad = torch.zeros(x.a[0].shape[0], dtype=torch.bool)
        ma = (x.a[0].abs() + x.a[1].abs()).amax(0) if len(zero) else x.ea * 0
        for kink in act.kinks:
            tk = float(kink)
            da = _add(x.a, (torch.full_like(zero, -tk), zero)) if tk else x.a
            ea = x.ea + (2 * DD_ELEM * (ma + abs(tk)) if tk else 0)
            known = known_sign = None
            if x.zeros:
                known = (x.a[0] == 0) & (x.b[0] == 0)
                known_sign = torch.full_like(known, -1 if tk > 0 else 1 if tk < 0 else 0,
                                             dtype=torch.int8)
            s, unsure = self.signs(da, x.b, ea, x.eb, t, known, known_sign)
            pieces += (s > 0).to(torch.int64)
            bad |= unsure
        slopes = [float(v) for v in act.slopes]
        icpts = [float(v) for v in act.intercepts]
        if act.name == "relu":
            on = pieces > 0
            oa = (torch.where(on, x.a[0], 0.0), torch.where(on, x.a[1], 0.0))
            ob = (torch.where(on, x.b[0], 0.0), torch.where(on, x.b[1], 0.0))
            alive = on.any(0) if len(zero) else torch.zeros(n, dtype=torch.bool)
            return _DT(oa, ob, torch.where(alive, x.ea, 0.0), torch.where(alive, x.eb, 0.0),
                       True), pieces, bad
        st = torch.tensor(slopes, dtype=torch.float64)[pieces]
        ct = torch.tensor(icpts, dtype=torch.float64)[pieces]
        oa = _add(_mul(x.a, st), (ct, zero))
        ob = _mul(x.b, st)
        smax = max(abs(v) for v in slopes)
        mb = (x.b[0].abs() + x.b[1].abs()).amax(0) if len(zero) else x.eb * 0
        zero_based = act.kinks[0] == 0 and slopes[0] == 0 and icpts[0] == 0 and all(
            c >= 0 for c in icpts)
        return _DT(oa, ob, (smax * x.ea + 4 * DD_ELEM * smax * ma) * (1 + 2.0**-30) + 1e-290,
                   (smax * x.eb + 4 * DD_ELEM * smax * mb) * (1 + 2.0**-30) + 1e-290,
                   bool(zero_based)), pieces, bad

    def maxpool(self, k: int, x: _DT, t: Any) -> tuple[_DT, Any]:
        torch = self.torch
        idx0 = x.idx
        x = x.regions()
        groups, _ = self.eng.pool[k]
        first = groups[:, 0]
        choice = torch.zeros((x.a[0].shape[0], groups.shape[0]), dtype=torch.int64)
        cur_a = (x.a[0][:, first], x.a[1][:, first])
        cur_b = (x.b[0][:, first], x.b[1][:, first])
        ea, eb = x.ea[first].clone(), x.eb[first].clone()
        bad = torch.zeros(x.a[0].shape[0], dtype=torch.bool)
        for step in range(1, groups.shape[1]):
            cols = torch.nonzero(groups[:, step] >= 0, as_tuple=True)[0]
            pick = groups[cols, step]
            ca = (x.a[0][:, pick], x.a[1][:, pick])
            cb = (x.b[0][:, pick], x.b[1][:, pick])
            sa = (cur_a[0][:, cols], cur_a[1][:, cols])
            sb = (cur_b[0][:, cols], cur_b[1][:, cols])
            da = _add(sa, (-ca[0], -ca[1]))
            db = _add(sb, (-cb[0], -cb[1]))
            mab = (sa[0].abs() + ca[0].abs()).amax(0) if len(bad) else ea[cols] * 0
            mbb = (sb[0].abs() + cb[0].abs()).amax(0) if len(bad) else eb[cols] * 0
            dea = (ea[cols] + x.ea[pick] + 4 * DD_ELEM * mab) * (1 + 2.0**-30) + 1e-290
            deb = (eb[cols] + x.eb[pick] + 4 * DD_ELEM * mbb) * (1 + 2.0**-30) + 1e-290
            known = known_sign = None
            if x.zeros:
                z_cur = (sa[0] == 0) & (sb[0] == 0)
                z_c = (ca[0] == 0) & (cb[0] == 0)
                known = z_cur | z_c
                known_sign = torch.where(z_cur & z_c, 0, torch.where(z_cur, -1, 1)).to(
                    torch.int8)
            s, unsure = self.signs(da, db, dea, deb, t, known, known_sign)
            bad |= unsure
            take = s <= 0
            choice[:, cols] = torch.where(take, step, choice[:, cols])
            new = []
            for cur, cand in ((cur_a, ca), (cur_b, cb)):
                h, l_ = cur[0].clone(), cur[1].clone()
                h[:, cols] = torch.where(take, cand[0], cur[0][:, cols])
                l_[:, cols] = torch.where(take, cand[1], cur[1][:, cols])
                new.append((h, l_))
            cur_a, cur_b = new
            ea[cols] = torch.maximum(ea[cols], x.ea[pick])
            eb[cols] = torch.maximum(eb[cols], x.eb[pick])
        return self._distinct_out(_DT(cur_a, cur_b, ea, eb, x.zeros), idx0, choice), bad


@dataclass
class Anchor:
    """Double-double forms of a batch's live tensors before op ``k``: the
    regions' inside points ``t`` and the tensors (rows by ``idx``)."""

    k: int
    l_hi: np.ndarray
    r_lo: np.ndarray
    values: dict[str, _DT]

    def find(self, t: np.ndarray) -> np.ndarray:
        """The region of this anchor holding each point strictly inside, or -1."""
        if not len(self.l_hi):
            return np.full(len(t), -1, dtype=np.int64)
        order = np.argsort(self.l_hi, kind="stable")
        pos = np.searchsorted(self.l_hi[order], t, side="left") - 1
        cand = order[np.clip(pos, 0, len(order) - 1)]
        inside = (self.l_hi[cand] < t) & (t < self.r_lo[cand])
        return np.where(inside, cand, -1)

    @property
    def nbytes(self) -> int:
        return sum(h.element_size() * h.nelement() for d in self.values.values()
                   for h in (*d.a, *d.b))


def _input(eng: Any, regions: int) -> _DT:
    """The line's input in double-double, one row for all ``regions``:
    ``a + t (hi + lo)``, ``b - a = hi + lo`` exactly."""
    torch = eng.torch
    n0 = eng.net.input_size
    zero = torch.zeros((1, n0), dtype=torch.float64)
    a = torch.from_numpy(eng.a.reshape(1, n0).copy())
    bh = torch.from_numpy(eng.dir_hi.reshape(1, n0).copy())
    bl = torch.from_numpy(eng.dir_lo.reshape(1, n0).copy())
    z0 = torch.zeros(n0, dtype=torch.float64)
    return _DT((a, zero), (bh, bl), z0, z0, idx=torch.zeros(regions, dtype=torch.int64))


def reanchor(eng: Any, k: int, reg: Any, live: dict[str, Any],
             start: Optional[tuple[Anchor, np.ndarray]] = None
             ) -> tuple[Any, Any, Anchor]:
    """Recompute the batch's live tensors before op ``k`` in double-double,
    from the input or from ``start`` (an earlier anchor and the region of it
    holding each of the batch's regions).  Returns the new live tensors
    (float64 forms with fresh bounds), the mask of regions that could not be
    re-anchored (no float point strictly inside, or a pattern the bounds leave
    open) and the anchor of the batch before op ``k``.

    Regions with the same pattern so far share one row of every tensor: the
    work per op is that of the distinct forms, as in the float pass."""
    torch = eng.torch
    net = eng.net
    mid = (reg.l_hi + reg.r_lo) / 2
    inside = (reg.l_hi < mid) & (mid < reg.r_lo)
    t = torch.from_numpy(np.where(inside, mid, 0.0))[:, None]
    anchor = _Anchor(eng)
    r = len(reg)
    readers = net.readers()
    if start is None:
        values = {"input": _input(eng, r)}
        first = 1
    else:
        base, which = start
        pick = torch.from_numpy(which)
        # only the anchor's rows these regions use (a few regions retried
        # from a large anchor cost what they need)
        values = {name: _subset(torch, d, pick) for name, d in base.values.items()}
        first = base.k
        for op in net.ops[1:first]:
            for name in op.inputs:
                readers[name] -= 1
    bad = torch.from_numpy(~inside)
    for j in range(first, k):
        op = net.ops[j]
        ins = [values[name] for name in op.inputs]
        if op.kind not in ("activation", "maxpool"):
            out = anchor.linear_op(j, ins)
        elif op.kind == "activation":
            out, unsure = anchor.activation(j, ins[0], t)
            bad |= unsure
        else:
            out, unsure = anchor.maxpool(j, ins[0], t)
            bad |= unsure
        values[op.name] = out
        for name in op.inputs:
            readers[name] -= 1
            if readers[name] == 0 and name not in live:
                values.pop(name, None)
    new: dict[str, Any] = {}
    for name, old in live.items():
        new[name] = _heads(values[name])
        new[name].zeros = old is not None and old.zeros
        if old is None:
            continue
        # both are enclosures of the same exact forms: they must meet
        ok = ((new[name].a - old.a).abs() <= new[name].ea + old.ea + 1e-280).all(1) & (
            (new[name].b - old.b).abs() <= new[name].eb + old.eb + 1e-280).all(1)
        if not bool((ok | bad).all()):
            raise AssertionError(f"re-anchored forms of {name!r} disagree with the float ones")
    good = ~bad.numpy()
    keep = {name: values[name] for name in live}
    return new, bad.numpy(), Anchor(k, np.where(good, reg.l_hi, np.inf),
                                    np.where(good, reg.r_lo, -np.inf), keep)


def _heads(x: _DT) -> Any:
    """A double-double tensor as float64 forms, one row per region: the heads,
    within ``|lo|`` plus the double-double bound of the exact forms."""
    from .certified import _FT

    d = x.regions()
    r = d.a[0].shape[0]
    ea = (d.a[1].abs().amax(0) if r else d.ea * 0) + d.ea
    eb = (d.b[1].abs().amax(0) if r else d.eb * 0) + d.eb
    return _FT(d.a[0].contiguous(), d.b[0].contiguous(), ea * (1 + 2.0**-30) + 1e-290,
               eb * (1 + 2.0**-30) + 1e-290, x.zeros)


def lead(eng: Any, reg: Any, until: int) -> list[tuple[Any, dict[str, Any], Anchor, int]]:
    """Take the first batch through ops ``1 .. until - 1`` in double-double
    only, where float64 bounds would not last to the output anyway: an affine
    op in double-double, a nonlinear one cut by the certified route's own
    decisions on the double-doubles' heads (:func:`_heads`), the new regions'
    patterns then read off in double-double at a point inside each (a region
    whose pattern the bounds leave open goes exact, as in :func:`reanchor`).
    A batch that outgrows ``eng.max_regions`` is split in two, as the float
    route splits its batches.  Returns the batches for the float route (those with
    regions left): regions, live tensors as float64 forms, the anchor before
    op ``until``, and ``until``."""
    torch = eng.torch
    net = eng.net
    cap = eng.max_regions
    todo = [(reg, {"input": _input(eng, len(reg))}, 1, net.readers())]
    done = []
    while todo:
        reg, values, k, readers = todo.pop()
        anchor = _Anchor(eng)
        while k < until and len(reg):
            reg, values = _lead_op(eng, anchor, k, reg, values)
            for name in net.ops[k].inputs:
                readers[name] -= 1
                if readers[name] == 0:
                    values.pop(name, None)
            if eng.progress is not None:
                eng.progress(k, len(reg))
            k += 1
            if len(reg) > cap and k < until:
                half = len(reg) // 2
                right = np.arange(half, len(reg))
                tr = torch.from_numpy(right)
                todo.append((reg.take(right), {n: _subset(torch, d, tr) for n, d in values.items()},
                             k, dict(readers)))
                tl = torch.from_numpy(np.arange(half))
                reg = reg.take(np.arange(half))
                values = {n: _subset(torch, d, tl) for n, d in values.items()}
        if len(reg):
            live = {name: _heads(d) for name, d in values.items()}
            done.append((reg, live, Anchor(k, reg.l_hi.copy(), reg.r_lo.copy(), values), k))
    return done


def _lead_op(eng: Any, anchor: _Anchor, k: int, reg: Any, values: dict[str, _DT]
             ) -> tuple[Any, dict[str, _DT]]:
    """Op ``k`` of :func:`lead` on a batch: the regions after it and the
    double-double tensors."""
    torch = eng.torch
    from .certified import _FT

    op = eng.net.ops[k]
    ins = [values[name] for name in op.inputs]
    if op.kind in ("activation", "maxpool"):
        # the float route's cut, on the heads; a probe carries each new
        # region's old one through it
        r = len(reg)
        z1 = torch.zeros(1, dtype=torch.float64)
        probe = _FT(torch.arange(r, dtype=torch.float64)[:, None],
                    torch.zeros((r, 1), dtype=torch.float64), z1, z1)
        reg, carried, _ = eng._op(k, op, [_heads(ins[0])], reg, {"probe": probe})
        parent = carried["probe"].a[:, 0].to(torch.int64)
        values = {n: _DT(d.a, d.b, d.ea, d.eb, d.zeros, d.idx[parent])
                  for n, d in values.items()}
        mid = (reg.l_hi + reg.r_lo) / 2
        inside = (reg.l_hi < mid) & (mid < reg.r_lo)
        t = torch.from_numpy(np.where(inside, mid, 0.0))[:, None]
        x = values[op.inputs[0]]
        if op.kind == "activation":
            out, unsure = anchor.activation(k, x, t)
        else:
            out, unsure = anchor.maxpool(k, x, t)
        bad = unsure.numpy() | ~inside
        if bad.any():
            first = 0 if op.kind == "activation" else 1
            eng._escalate(reg, np.nonzero(bad)[0], eng.stage_of[(k, first)])
            keep = np.nonzero(~bad)[0]
            tk = torch.from_numpy(keep)
            reg = reg.take(keep)
            values = {n: _DT(d.a, d.b, d.ea, d.eb, d.zeros, d.idx[tk]) for n, d in values.items()}
            out = _DT(out.a, out.b, out.ea, out.eb, out.zeros, out.idx[tk])
    else:
        eng._track(k, op, reg)
        out = anchor.linear_op(k, ins)
    values[op.name] = out
    return reg, values
