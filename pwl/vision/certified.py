"""Counting a vision network along a line in float64 with proven error bounds.

On each region of ``t`` in [0, 1] every entry of every tensor is an affine
form ``alpha + beta t``.  The forms of a batch of regions go through the
operators in float64 with torch (a convolution is ``unfold`` and one matrix
product per group, so every entry is a plain dot product), and every entry
carries a rigorous bound on its distance to the exact form.  A decision (a
neuron's sign at a region's ends, a root's place, two roots' order) is taken
when the bounds prove it; a region with a decision they cannot prove at
an op's first step is taken again from before that op, re-anchored in
double-double (below), unless its batch was just re-anchored there; what is
still open leaves the batch and is finished exactly by
:class:`pwl.vision.exact.ExactRun`, from
one exact point strictly inside it (its pattern read off there) and its ends
recomputed exactly from the neurons whose roots they are.  Between the two,
batches whose bounds have grown loose are re-anchored in double-double.

Error analysis
--------------
Unit roundoff ``u = 2^-53``, ``gamma_n = n u / (1 - n u)``.  Bounds are kept
per neuron for a whole batch of regions (the maximum over its regions):
``|alpha~ - alpha| <= ea`` and ``|beta~ - beta| <= eb`` on every region of the
batch; ``M`` is the batch's largest ``|alpha~|`` (``|beta~|``) per neuron.

* convolution / linear, ``n`` products per entry plus the bias:
  ``|fl(W x~ + b) - (W x~ + b)| <= gamma_{n+2} (|W| |x~| + |b|)`` (Higham, any
  order of summation), so ``e' = |W| e + gamma (|W| M + |b|)``; the two
  products by ``|W|`` are float convolutions of one image each, rounded up
  by ``1 + 2 gamma``;
* ``channel_affine`` ``(x - mean) scale + beta``, three roundings:
  ``e' = |scale| e + gamma_4 (|scale| (M + |mean|) + |beta|)``;
* means over ``n`` entries: ``e' = mean(e) + gamma_{n+2} mean(M)``;
  additions of ``k`` tensors: ``e' = sum(e) + gamma_k sum(M)``;
* relu and max selections copy forms exactly (a bound stays, or drops to
  zero for a neuron off on every region); other slopes ``s`` add
  ``u |s| M``; a kink ``k`` moved to 0 adds ``u (M + |k|)``.

Every bound is inflated by ``1 + 2^-30`` for its own rounding, plus
``10^-290`` for underflow.  The value of a form at a region's end
``t in [t_lo, t_hi]`` is within ``ea + eb T + |beta~| (t_hi - t_lo) + 3u
(|alpha~| + |beta~| T)`` of ``alpha~ + beta~ t_lo`` (``T`` the largest end);
a root ``-alpha/beta`` of a form with proven opposite signs at the ends
lies within ``(ea + eb T) / |beta~|`` of ``-alpha~/beta~``.

Re-anchoring.  Componentwise bounds grow by about the row sums of ``|W|``
per convolution (8 to 10 times on He-initialised ResNets); once a batch's
bounds pass 2^-20 of its values, before a nonlinear op, its forms are
recomputed in double-double (:mod:`pwl.vision.dd`; from the input, or from
the batch's last re-anchoring, so that each op is computed in double-double
once along a batch) and the batch goes on in float64 with bounds back at
one rounding.  Output slopes the bounds leave undecided are also retried in
double-double, from the deepest re-anchoring, before the exact route.

Lead.  Where the float64 bounds could not last from the input to the
output (:meth:`_Engine._lead_until`: about ``0.3 log2 K`` bits per affine op
of ``K`` inputs, against :data:`LEAD_BITS`), the first batch takes the ops up
to a point in double-double only (:func:`pwl.vision.dd.lead`): each
nonlinear op cut by this route's own decisions on the double-doubles' heads
(within ``|lo|`` plus the double-double bound), the patterns then read off in
double-double; float64 from there, with the lead as the batch's anchor.  The
float pass over the led ops, which a re-anchoring would recompute anyway, is
not made at all.

Exact zeros are known without bounds: a relu that is off gives the exact
form 0, so a max pooling of relu outputs compares a dead entry with a live
one (positive inside the region) structurally.

Pieces.  Across a cut the output is continuous, so two neighbouring regions
belong to one piece exactly when the output's slopes agree.  They differ
when the float slopes differ by more than their bounds; they agree when the
cut neuron's change is cancelled exactly before any arithmetic (a relu that
is off on the region, a max pooling that does not select the neuron: the
regions' forms agree from there on, since no other neuron changes piece at
a float cut); anything else is compared in exact arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np

from .exact import ExactRun, _pool, stages_of
from .model import VisionNetwork

__all__ = ["certified_line", "LineRun", "Undecided"]

U = 2.0**-53
SAFE = 1 + 2.0**-30
TINY = 1e-290
NONE, KILLED, DENSE = -3, -2, -1
#: A batch whose bounds pass this share of its values is re-anchored.
RELATIVE_LOOSE = 2.0**-20
#: Memory kept for double-double anchors (later re-anchorings start there).
ANCHOR_BYTES = 2**30
#: A batch holds at most this many bytes per float64 form tensor: ResNet-20
#: (16384 neurons in stage 1) goes in batches of 32 regions, LeNet-5 of 111;
#: on a 505-region ResNet-20 line the float64 propagation took 2.5 s so
#: against 3.9 s in batches of 256, and LeNet-5 the same or less.
BATCH_BYTES = 2**22
#: The growth of float64 bounds, in bits, that the float64 tail of a network
#: may take after a double-double lead (:meth:`_Engine._lead_until`): from
#: about 2^-44 after its first product to 2^-20 at the output, where a batch
#: would be re-anchored (output slopes closer than that are retried from the
#: lead's anchor).  Measured on ResNet-20 lines: 2 bits less leaves more in
#: double-double than needed, 2 bits more re-anchors every batch.
LEAD_BITS = 24.0


class Undecided(Exception):
    """The certified route does not apply (numbers the floats cannot hold)."""


def _gamma(n: int) -> float:
    return n * U / (1 - n * U)


@dataclass
class _Regions:
    """A batch of regions: end enclosures, the origin of each end (stage,
    decision index; stage -1 is an exact end of the line), and the state of
    the left cut's change (NONE, KILLED, DENSE, or the op whose output holds
    it alone, at ``d_i``)."""

    l_lo: np.ndarray
    l_hi: np.ndarray
    r_lo: np.ndarray
    r_hi: np.ndarray
    l_org: np.ndarray
    r_org: np.ndarray
    d_t: np.ndarray
    d_i: np.ndarray

    def __len__(self) -> int:
        return len(self.l_lo)

    def take(self, idx: np.ndarray) -> "_Regions":
        return _Regions(*(getattr(self, f)[idx] for f in _FIELDS))


_FIELDS = ("l_lo", "l_hi", "r_lo", "r_hi", "l_org", "r_org", "d_t", "d_i")


@dataclass
class _FT:
    """Forms of one tensor on a batch: ``a``, ``b`` ``(R, N)`` torch float64,
    bounds ``ea``, ``eb`` ``(N,)``; ``zeros`` when an exactly zero form is
    known to be one (relu outputs)."""

    a: Any
    b: Any
    ea: Any
    eb: Any
    zeros: bool = False

    def take(self, idx: Any) -> "_FT":
        return _FT(self.a[idx], self.b[idx], self.ea, self.eb, self.zeros)


@dataclass
class _Final:
    """Final float regions of one batch."""

    key: np.ndarray
    l_hi: np.ndarray
    r_lo: np.ndarray
    out_a: np.ndarray
    out_b: np.ndarray
    eb: np.ndarray
    killed: np.ndarray


@dataclass
class LineRun:
    """Everything the certified route found along one line."""

    regions: int
    hidden_regions: int
    pieces: tuple[int, ...]
    joint_pieces: int
    cuts: dict[int, int]
    decisions: dict[str, int]
    cut_points: Optional[list[float]] = None
    outputs_float: Optional[np.ndarray] = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Engine:
    def __init__(self, net: VisionNetwork, a: np.ndarray, b: np.ndarray, max_regions: int,
                 certify: bool, progress: Optional[Callable[[int, int], None]]):
        import torch

        from ..engine.exactsum import two_sum

        self.torch = torch
        self.net = net
        self.certify = certify
        # small batches: tensors that stay well below the allocator's mmap
        # threshold are reused instead of faulted in anew
        widest = max(op.size for op in net.ops)
        self.max_regions = max(1, min(max_regions, BATCH_BYTES // (8 * widest)))
        self.progress = progress
        self.a = a
        self.b = b
        hi, lo = two_sum(b, -a)
        if not (np.isfinite(hi).all() and np.isfinite(lo).all()):
            raise Undecided("b - a overflows")
        self.dir_hi = hi
        self.dir_lo = lo
        self.stages = stages_of(net)
        self.stage_of = {}
        for s, (k, step) in enumerate(self.stages):
            self.stage_of[(k, step)] = s
        self.readers = net.readers()
        self.index = {op.name: k for k, op in enumerate(net.ops)}
        self.cuts: dict[int, int] = {}
        self.decisions = {"float64": 0, "exact": 0, "escalated_regions": 0}
        self.finals: list[_Final] = []
        self.exact_finals: list[tuple[Fraction, Fraction, tuple[Fraction, ...],
                                      tuple[Fraction, ...]]] = []
        self.hidden = 0
        self._exact: Optional[ExactRun] = None
        self._abs: dict[Any, Any] = {}
        self.anchors: list[Any] = []
        self._deferred: Optional[tuple[int, list[np.ndarray]]] = None
        self.pool = {}
        for k, op in enumerate(net.ops):
            if op.kind in ("avgpool", "maxpool"):
                groups, divisor = _pool(net, k)
                self.pool[k] = (torch.from_numpy(groups), torch.from_numpy(divisor))

    # -- exact help -------------------------------------------------------------
    def exact(self) -> ExactRun:
        if self._exact is None:
            pa = [Fraction(v) for v in self.a.tolist()]
            pb = [Fraction(v) for v in self.b.tolist()]
            self._exact = ExactRun(self.net, pa, pb)
        return self._exact

    # -- the batches --------------------------------------------------------------
    def run(self) -> None:
        torch = self.torch
        n0 = self.net.input_size
        one = np.ones(1)
        zero = np.zeros(1)
        regions = _Regions(zero.copy(), zero.copy(), one.copy(), one.copy(),
                           np.full((1, 2), -1, dtype=np.int64), np.full((1, 2), -1, dtype=np.int64),
                           np.full(1, NONE, dtype=np.int64), np.zeros(1, dtype=np.int64))
        a = torch.from_numpy(self.a.reshape(1, n0).copy())
        b = torch.from_numpy(self.dir_hi.reshape(1, n0).copy())
        eb = torch.from_numpy(np.abs(self.dir_lo) * SAFE)
        ea = torch.zeros(n0, dtype=torch.float64)
        live = {"input": _FT(a, b, ea, eb)}
        stack: list[tuple[_Regions, dict[str, _FT], int, int]] = [(regions, live, 1, 0)]
        until = self._lead_until() if self.certify else 1
        if until > 1:
            # float64 bounds would not last from the input to the output: the
            # first ops in double-double only, float64 from there
            from .dd import lead

            stack = []
            for regions, live, anchor, k0 in lead(self, regions, until):
                self._keep(anchor)
                stack.append((regions, live, k0, k0))
            self.decisions["double_double_ops"] = until - 1
        while stack:
            regions, live, start, fresh = stack.pop()
            self._batch(regions, live, start, stack, fresh)

    def _batch(self, reg: _Regions, live: dict[str, _FT], start: int,
               stack: list[tuple[_Regions, dict[str, _FT], int, int]], fresh: int = 0) -> None:
        """Take a batch through ops ``start`` on (``fresh``: the op before which
        it was just re-anchored for an undecided decision)."""
        net = self.net
        last = len(net.ops) - 1
        for k in range(start, len(net.ops)):
            op = net.ops[k]
            if k == last:
                self.hidden += len(reg)
            if self.certify and op.is_nonlinear and self._loose(live[op.inputs[0]]):
                reg, live = self._reanchor(k, op, reg, live)
                fresh = k
                if len(reg) == 0:
                    return
            ins = [live[name] for name in op.inputs]
            before = (reg, dict(live))
            for name in op.inputs:
                if not any(name in o.inputs for o in net.ops[k + 1:]):
                    live.pop(name, None)
            self._deferred = None
            first = self.stage_of.get((k, 0 if op.kind == "activation" else 1))
            if self.certify and first is not None and fresh != k and self._can_anchor(k):
                self._deferred = (first, [])
            reg, live, out = self._op(k, op, ins, reg, live)
            if self._deferred is not None and self._deferred[1]:
                # decisions the float bounds left open at the op's first step:
                # those regions again from before the op, re-anchored in
                # double-double, and only what that leaves open goes exact
                idx = np.concatenate(self._deferred[1])
                sub = before[0].take(idx)
                tidx = self.torch.from_numpy(idx)
                sub_live = {n: t.take(tidx) for n, t in before[1].items()}
                self.decisions["retried_regions"] = (self.decisions.get("retried_regions", 0)
                                                     + len(idx))
                sub, sub_live = self._reanchor(k, op, sub, sub_live)
                if len(sub):
                    stack.append((sub, sub_live, k, k))
            self._deferred = None
            live[op.name] = out
            if self.progress is not None:
                self.progress(k, len(reg))
            if len(reg) == 0:
                return
            if len(reg) > self.max_regions and k < last:
                half = len(reg) // 2
                right = np.arange(half, len(reg))
                left = np.arange(half)
                tr = self.torch.from_numpy(right)
                stack.append((reg.take(right), {n: t.take(tr) for n, t in live.items()}, k + 1,
                              fresh))
                tl = self.torch.from_numpy(left)
                reg = reg.take(left)
                live = {n: t.take(tl) for n, t in live.items()}
        out = live[net.output]
        d_t = reg.d_t.copy()
        killed = d_t == KILLED
        key = reg.l_hi.copy()
        self.finals.append(_Final(key, reg.l_hi.copy(), reg.r_lo.copy(), out.a.numpy().copy(),
                                  out.b.numpy().copy(),
                                  np.broadcast_to(out.eb.numpy(), out.b.shape).copy(), killed))

    def _loose(self, x: _FT) -> bool:
        """Have the bounds grown past 2^-20 of the values (so that float64
        signs start to fail)?  Then the batch is re-anchored."""
        if len(x.a) == 0:
            return False
        return (float(x.ea.max()) > RELATIVE_LOOSE * float(x.a.abs().max())
                or float(x.eb.max()) > RELATIVE_LOOSE * float(x.b.abs().max()))

    def _reanchor(self, k: int, op: Any, reg: _Regions, live: dict[str, _FT]
                  ) -> tuple[_Regions, dict[str, _FT]]:
        """The batch's forms recomputed in double-double with fresh bounds
        (:mod:`pwl.vision.dd`); regions it cannot re-anchor go exact."""
        from .dd import reanchor

        if not self._can_anchor(k):
            return reg, live
        new, bad, anchor = reanchor(self, k, reg, live, self._start(k, reg.l_hi, reg.r_lo))
        self._keep(anchor)
        self.decisions["reanchored_regions"] = (self.decisions.get("reanchored_regions", 0)
                                                + int((~bad).sum()))
        if bad.any():
            first = 0 if op.kind == "activation" else 1
            self._escalate(reg, np.nonzero(bad)[0], self.stage_of[(k, first)])
            keep = np.nonzero(~bad)[0]
            tk = self.torch.from_numpy(keep)
            reg = reg.take(keep)
            new = {name: t.take(tk) for name, t in new.items()}
        return reg, new

    def _lead_until(self) -> int:
        """The op from which float64 takes the first batch over, after the
        ops before it in double-double (:func:`pwl.vision.dd.lead`); 1 for
        none.  Float64 bounds grow by about ``0.3 log2 K`` bits through an
        affine op of ``K`` inputs (``sqrt K`` for a sum of ``K`` terms of
        random signs, a little less after relus): the float64 part is the
        longest tail of ops within :data:`LEAD_BITS` of that.  A guess: where
        it is short, the batch is re-anchored on the way as without a lead."""
        ops = self.net.ops
        bits = 0.0
        for k in range(len(ops) - 1, 0, -1):
            op = ops[k]
            if op.kind in ("conv", "linear"):
                bits += 0.3 * math.log2(max(2, int(np.prod(op.params["weight"].shape[1:]))))
                if bits > LEAD_BITS:
                    until = min(k + 1, len(ops) - 1)     # the output op in float64
                    return until if self._can_anchor(until) else 1
        return 1

    def _keep(self, anchor: Any) -> None:
        """Keep an anchor for later re-anchorings; anchors only save work, so
        the oldest go first past the memory budget."""
        self.anchors.append(anchor)
        while sum(a.nbytes for a in self.anchors) > ANCHOR_BYTES and len(self.anchors) > 1:
            self.anchors.pop(0)

    def _can_anchor(self, k: int) -> bool:
        """Is there an affine op before op ``k`` (something to gain) and are
        all of them short enough for exact limb sums?"""
        affine = [o for o in self.net.ops[1:k] if o.kind in ("conv", "linear")]
        return bool(affine) and all(int(np.prod(o.params["weight"].shape[1:])) <= 2000
                                    for o in affine)

    def _start(self, k: int, l_hi: np.ndarray, r_lo: np.ndarray) -> Optional[tuple[Any, Any]]:
        """The deepest anchor before op ``k`` holding every one of these regions
        (by a point inside), and the region of it holding each; None if none."""
        mid = (l_hi + r_lo) / 2
        for anchor in sorted(self.anchors, key=lambda a: -a.k):
            if anchor.k < k:
                which = anchor.find(mid)
                if (which >= 0).all():
                    return anchor, which
        return None

    def _starts(self, k: int, l_hi: np.ndarray, r_lo: np.ndarray
                ) -> list[tuple[np.ndarray, Optional[tuple[Any, Any]]]]:
        """These regions in groups, each with the deepest anchor before op
        ``k`` holding all of it and the region of it holding each (as
        :meth:`_start`; None for the regions no anchor holds)."""
        mid = (l_hi + r_lo) / 2
        left = np.arange(len(mid))
        groups: list[tuple[np.ndarray, Optional[tuple[Any, Any]]]] = []
        for anchor in sorted(self.anchors, key=lambda a: -a.k):
            if anchor.k < k and len(left):
                which = anchor.find(mid[left])
                held = which >= 0
                if held.any():
                    groups.append((left[held], (anchor, which[held])))
                    left = left[~held]
        if len(left):
            groups.append((left, None))
        return groups

    # -- bounds -------------------------------------------------------------------
    def _absop(self, k: int, rows: list[Any], bias: bool) -> list[Any]:
        """``|W| v`` for each bound image ``v`` ``(N,)`` (one float product,
        rounded up), plus ``|b|`` on request."""
        torch = self.torch
        op = self.net.ops[k]
        w, babs = self._abs_weights(k)
        x = torch.stack(rows)
        out = self._linear(k, x, w, None)
        n = int(np.prod(op.params["weight"].shape[1:])) + 2
        out = out * (1 + 2 * _gamma(n))
        res = [out[i] for i in range(len(rows))]
        if bias and babs is not None:
            res.append(self._bias_image(op, babs))
        return res

    def _abs_weights(self, k: int) -> tuple[Any, Optional[Any]]:
        """``|W|`` and ``|b|`` (None without a bias) of op ``k``, made once."""
        if k not in self._abs:
            torch = self.torch
            op = self.net.ops[k]
            w = torch.from_numpy(np.abs(np.array(op.params["weight"])))
            bb = op.params["bias"]
            self._abs[k] = (w, None if bb is None else torch.from_numpy(np.abs(np.array(bb))))
        result: tuple[Any, Optional[Any]] = self._abs[k]
        return result

    def _bias_image(self, op: Any, bias: Any) -> Any:
        c, h, w = op.shape
        return bias.repeat_interleave(h * w)

    def _linear(self, k: int, x: Any, weight: Any, bias: Optional[Any]) -> Any:
        """Conv or linear op ``k`` on rows ``x`` ``(B, N_in)``, as dot products."""
        torch = self.torch
        op = self.net.ops[k]
        if op.kind == "linear":
            out = x @ weight.T
            return out if bias is None else out + bias
        src = self.net.op(op.inputs[0])
        c, h, w = src.shape
        _, ho, wo = op.shape
        cout = weight.shape[0]      # more than the op's when weights are stacked
        groups = op.params["groups"]
        kh, kw = op.params["weight"].shape[2:]
        F = torch.nn.functional
        xs = x.reshape(-1, c, h, w)
        args = (op.params["stride"], op.params["padding"], op.params["dilation"], groups)
        if self._dot_products(k, xs[:1], weight, args):
            out = F.conv2d(xs, weight, None, *args).reshape(x.shape[0], cout * ho * wo)
            return out if bias is None else out + bias.repeat_interleave(ho * wo)
        wmat = weight.reshape(groups, cout // groups, -1)
        outs = []
        step = max(1, int(2**23 // max(1, wmat.shape[2] * ho * wo)))   # 64 MiB of columns
        for s in range(0, x.shape[0], step):
            cols = F.unfold(xs[s:s + step], (kh, kw), dilation=op.params["dilation"],
                            padding=op.params["padding"], stride=op.params["stride"])
            cols = cols.reshape(cols.shape[0], groups, -1, ho * wo)
            res = torch.matmul(wmat[None], cols)          # (B, groups, cout_g, P)
            outs.append(res.reshape(cols.shape[0], cout * ho * wo))
        out = torch.cat(outs) if len(outs) > 1 else outs[0]
        if bias is not None:
            out = out + bias.repeat_interleave(ho * wo)
        return out

    def _dot_products(self, k: int, x: Any, weight: Any, args: tuple[Any, ...]) -> bool:
        """Does torch run this convolution as im2col and a matrix product
        (its ``Slow2d`` / ``SlowDilated2d`` kernels, the float64 CPU ones), so
        that every entry is a dot product and Higham's bound holds?  Else
        pwl unfolds and multiplies itself."""
        key = ("dot", k, weight.shape[0])
        if key not in self._abs:
            torch = self.torch
            try:
                backend = torch._C._select_conv_backend(
                    x, weight, None, list(args[0]), list(args[1]), list(args[2]), False,
                    [0, 0], args[3], None)
                ok = str(backend).split(".")[-1] in ("Slow2d", "SlowDilated2d")
            except (AttributeError, RuntimeError, TypeError):
                ok = False
            self._abs[key] = ok
        return bool(self._abs[key])

    # -- operators ----------------------------------------------------------------
    def _op(self, k: int, op: Any, ins: list[_FT], reg: _Regions, live: dict[str, _FT]
            ) -> tuple[_Regions, dict[str, _FT], _FT]:
        torch = self.torch
        p = op.params
        x = ins[0] if ins else None
        self._track(k, op, reg)
        if op.kind in ("conv", "linear"):
            assert x is not None
            w = torch.from_numpy(np.array(p["weight"]))
            bias = None if p["bias"] is None else torch.from_numpy(np.array(p["bias"]))
            r = x.a.shape[0]
            both = self._linear(k, torch.cat([x.a, x.b]), w, None)
            oa, ob = both[:r], both[r:]
            if bias is not None:
                oa = oa + self._bias_image(op, bias)
            if not self.certify:
                nothing = torch.zeros(oa.shape[1], dtype=torch.float64)
                return reg, live, _FT(oa, ob, nothing, nothing)
            n = int(np.prod(p["weight"].shape[1:])) + 2
            g = _gamma(n)
            ma = x.a.abs().amax(0) if r else x.ea * 0
            mb = x.b.abs().amax(0) if r else x.eb * 0
            parts = self._absop(k, [x.ea, x.eb, ma, mb], True)
            ea_, eb_, wa, wb = parts[:4]
            babs = parts[4] if len(parts) > 4 else 0.0
            new_ea = (ea_ + g * (wa + babs)) * SAFE + TINY
            new_eb = (eb_ + g * wb) * SAFE + TINY
            return reg, live, _FT(oa, ob, new_ea, new_eb)
        if op.kind == "channel_affine":
            assert x is not None
            c, h, w_ = op.shape
            rep = h * w_
            scale = torch.from_numpy(np.array(p["scale"])).repeat_interleave(rep)
            mean = torch.from_numpy(np.array(p["mean"])).repeat_interleave(rep)
            beta = torch.from_numpy(np.array(p["beta"])).repeat_interleave(rep)
            oa = (x.a - mean) * scale + beta
            ob = x.b * scale
            g = _gamma(4)
            ma = x.a.abs().amax(0)
            mb = x.b.abs().amax(0)
            new_ea = (scale.abs() * x.ea + g * (scale.abs() * (ma + mean.abs()) + beta.abs())) \
                * SAFE + TINY
            new_eb = (scale.abs() * x.eb + g * scale.abs() * mb) * SAFE + TINY
            return reg, live, _FT(oa, ob, new_ea, new_eb)
        if op.kind == "avgpool":
            assert x is not None
            groups, divisor = self.pool[k]
            n = groups.shape[1]
            idx = torch.where(groups >= 0, groups, x.a.shape[1])
            div = divisor.to(torch.float64)

            def mean(v: Any) -> Any:
                padded = torch.cat([v, torch.zeros(v.shape[:-1] + (1,), dtype=v.dtype)], -1)
                return padded[..., idx].sum(-1) / div

            oa, ob = mean(x.a), mean(x.b)
            g = _gamma(n + 2)
            ma = x.a.abs().amax(0)
            mb = x.b.abs().amax(0)
            new_ea = (mean(x.ea) + g * mean(ma)) * (1 + 2 * g) * SAFE + TINY
            new_eb = (mean(x.eb) + g * mean(mb)) * (1 + 2 * g) * SAFE + TINY
            return reg, live, _FT(oa, ob, new_ea, new_eb)
        if op.kind == "add":
            oa = ins[0].a
            ob = ins[0].b
            for t in ins[1:]:
                oa = oa + t.a
                ob = ob + t.b
            g = _gamma(len(ins))
            ea = sum(t.ea for t in ins)
            eb = sum(t.eb for t in ins)
            ma = sum(t.a.abs().amax(0) for t in ins)
            mb = sum(t.b.abs().amax(0) for t in ins)
            return reg, live, _FT(oa, ob, (ea + g * ma) * SAFE + TINY, (eb + g * mb) * SAFE + TINY)
        if op.kind == "flatten":
            assert x is not None
            return reg, live, x
        if op.kind == "activation":
            assert x is not None
            return self._activation(k, op, x, reg, live)
        assert x is not None
        return self._maxpool(k, op, x, reg, live)

    def _track(self, k: int, op: Any, reg: _Regions) -> None:
        """Follow each region's left cut change into op ``k``: it stays alone
        in one entry through selections and nonzero scalings, dies where a
        relu is off or a pooling drops it, and is DENSE after any sum."""
        if len(reg) == 0:
            return
        for name in op.inputs:
            src = self.index[name]
            here = reg.d_t == src
            if not here.any():
                continue
            if self.readers[name] > 1 or op.kind not in ("activation", "flatten",
                                                          "channel_affine", "maxpool"):
                reg.d_t[here] = DENSE
            elif op.kind == "flatten":
                reg.d_t[here] = k
            elif op.kind == "channel_affine":
                c, h, w = op.shape
                scale = np.array(op.params["scale"])[reg.d_i[here] // (h * w)]
                reg.d_t[here] = np.where(scale == 0, KILLED, k)
            # activation and maxpool: decided with their patterns, in their methods

    def _split(self, k: int, step: int, da: Any, db: Any, ea: Any, eb: Any, reg: _Regions,
               known: Optional[Any] = None, known_sign: Optional[Any] = None
               ) -> tuple[_Regions, Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cut the batch where the decision forms ``da + db t`` ``(R, M)``
        change sign.  Returns the new regions, their signs ``(R', M)`` (int8:
        -1, 0, +1 strictly inside), each new region's parent, whether its
        left end is a new cut and that cut's decision index, and the regions
        left for the exact route."""
        torch = self.torch
        stage = self.stage_of[(k, step)]
        r, m = da.shape
        l_lo = torch.from_numpy(reg.l_lo)[:, None]
        r_hi = torch.from_numpy(reg.r_hi)[:, None]
        fl = da + db * l_lo
        fr = da + db * r_hi
        if self.certify:
            tmax = torch.from_numpy(np.maximum(np.abs(reg.l_lo), np.abs(reg.r_hi)))[:, None]
            base = ea + eb * tmax
            rnd = 3 * U * (da.abs() + db.abs() * tmax)
            wl = torch.from_numpy(reg.l_hi - reg.l_lo)[:, None]
            wr = torch.from_numpy(reg.r_hi - reg.r_lo)[:, None]
            el = (base + db.abs() * wl + rnd) * SAFE + TINY
            er = (base + db.abs() * wr + rnd) * SAFE + TINY
            zero = (da == 0) & (db == 0) & (ea == 0) & (eb == 0)
            sl = torch.where(fl > el, 1, torch.where(fl < -el, -1, 0)).to(torch.int8)
            sr = torch.where(fr > er, 1, torch.where(fr < -er, -1, 0)).to(torch.int8)
            unsure = ((sl == 0) | (sr == 0)) & ~zero
        else:
            sl = torch.sign(fl).to(torch.int8)
            sr = torch.sign(fr).to(torch.int8)
            unsure = torch.zeros_like(sl, dtype=torch.bool)
        if known is not None:
            sl = torch.where(known, known_sign, sl)
            sr = torch.where(known, known_sign, sr)
            unsure = unsure & ~known
        interior = torch.where(sl != 0, sl, sr)
        root = (sl.to(torch.int16) * sr.to(torch.int16)) < 0
        bad = unsure.any(1).numpy().copy()
        self.decisions["float64"] += int(r * m)
        rr, mm = (t.numpy() for t in torch.nonzero(root, as_tuple=True))
        if len(rr):
            va, vb = da[root].numpy(), db[root].numpy()
            that = -va / vb
            if self.certify:
                tm = np.maximum(np.abs(reg.l_lo), np.abs(reg.r_hi))[rr]
                eam = ea.expand(r, m)[root].numpy()
                ebm = eb.expand(r, m)[root].numpy()
                rho = ((eam + ebm * tm) / np.abs(vb) * (1 + 4 * U) * SAFE
                       + 2 * U * np.abs(that) + TINY)
            else:
                rho = np.zeros_like(that)
            lo = np.nextafter(that - rho, -np.inf)
            hi = np.nextafter(that + rho, np.inf)
            order = np.lexsort((that, rr))
            rr, mm, that, lo, hi = rr[order], mm[order], that[order], lo[order], hi[order]
            same = rr[1:] == rr[:-1]
            if self.certify:
                clash = same & (hi[:-1] >= lo[1:])
                bad[rr[1:][clash]] = True
                first = np.ones(len(rr), dtype=bool)
                first[1:] = ~same
                lastm = np.ones(len(rr), dtype=bool)
                lastm[:-1] = ~same
                bad[rr[first & (lo <= reg.l_hi[rr])]] = True
                bad[rr[lastm & (hi >= reg.r_lo[rr])]] = True
            keep = ~bad[rr]
            rr, mm, that, lo, hi = rr[keep], mm[keep], that[keep], lo[keep], hi[keep]
        else:
            lo = hi = that = np.zeros(0)
        kept = np.nonzero(~bad)[0]
        escalate = np.nonzero(bad)[0]
        counts = np.bincount(rr, minlength=r)[kept] if len(rr) else np.zeros(len(kept), np.int64)
        sizes = counts + 1
        parent = np.repeat(kept, sizes)
        n_new = int(sizes.sum())
        starts = (np.cumsum(sizes) - sizes).astype(np.int64)
        pos = np.arange(n_new) - np.repeat(starts, sizes)      # place inside the parent
        newcut = pos > 0
        # the roots, in order, of the kept regions
        l_lo, l_hi = reg.l_lo[parent].copy(), reg.l_hi[parent].copy()
        r_lo, r_hi = reg.r_lo[parent].copy(), reg.r_hi[parent].copy()
        l_org, r_org = reg.l_org[parent].copy(), reg.r_org[parent].copy()
        d_t, d_i = reg.d_t[parent].copy(), reg.d_i[parent].copy()
        cut_m = np.full(n_new, -1, dtype=np.int64)
        if len(rr):
            # roots belong to kept regions only, sorted by region then place
            slot = np.nonzero(newcut)[0]                   # region whose left end is root j
            l_lo[slot], l_hi[slot] = lo, hi
            l_org[slot] = np.stack([np.full(len(mm), stage), mm], 1)
            cut_m[slot] = mm
            prev = slot - 1
            r_lo[prev], r_hi[prev] = lo, hi
            r_org[prev] = np.stack([np.full(len(mm), stage), mm], 1)
        self.cuts[stage] = self.cuts.get(stage, 0) + int(len(rr))
        signs = interior[torch.from_numpy(parent)]
        if len(rr):
            # a root's neuron has the other sign on the regions after it
            slot = np.nonzero(newcut)[0]
            region_end = np.repeat(starts + sizes, sizes)[slot]
            reps = region_end - slot
            rows = np.repeat(slot, reps) + (np.arange(int(reps.sum())) -
                                             np.repeat(np.cumsum(reps) - reps, reps))
            cols = np.repeat(mm, reps)
            tr, tc = torch.from_numpy(rows), torch.from_numpy(cols)
            signs[tr, tc] = -signs[tr, tc]
        new = _Regions(l_lo, l_hi, r_lo, r_hi, l_org, r_org, d_t, d_i)
        if len(escalate):
            if self._deferred is not None and self._deferred[0] == stage:
                self._deferred[1].append(escalate)
            else:
                self._escalate(reg, escalate, stage)
        return new, signs, parent, newcut, cut_m, escalate

    def _escalate(self, reg: _Regions, which: np.ndarray, stage: int) -> None:
        """Finish regions exactly from ``stage`` on."""
        run = self.exact()
        for r in which.tolist():
            self.decisions["escalated_regions"] += 1
            point = (Fraction(float(reg.l_hi[r])) + Fraction(float(reg.r_lo[r]))) / 2
            ends: list[Optional[Fraction]] = []
            origins: list[Optional[tuple[int, int]]] = []
            for org, lo in ((reg.l_org[r], reg.l_lo[r]), (reg.r_org[r], reg.r_lo[r])):
                if org[0] < 0:
                    ends.append(Fraction(float(lo)))
                    origins.append(None)
                else:
                    ends.append(None)
                    origins.append((int(org[0]), int(org[1])))
            res = run.run(ends=(ends[0], ends[1]), point=point,  # type: ignore[arg-type]
                          split_from=stage, origins=origins)
            lo_e, hi_e = res.ends[0][0], res.ends[-1][1]
            if not (Fraction(float(reg.l_lo[r])) <= lo_e <= Fraction(float(reg.l_hi[r]))
                    and Fraction(float(reg.r_lo[r])) <= hi_e <= Fraction(float(reg.r_hi[r]))):
                raise AssertionError("an exact end lies outside its float enclosure")
            for s, c in res.cuts.items():
                self.cuts[s] = self.cuts.get(s, 0) + c
                self.decisions["exact"] += c + 1
            if self.stages[stage][0] < len(self.net.ops) - 1:
                self.hidden += res.hidden_regions   # else counted with its batch
            for (lo_, hi_), (oa, ob) in zip(res.ends, res.outputs):
                self.exact_finals.append((lo_, hi_, oa, ob))

    def _activation(self, k: int, op: Any, x: _FT, reg: _Regions, live: dict[str, _FT]
                    ) -> tuple[_Regions, dict[str, _FT], _FT]:
        torch = self.torch
        act = op.params["activation"]
        n = op.size
        kinks = [float(t) for t in act.kinks]
        if any(Fraction(t) != q for t, q in zip(kinks, act.kinks)) or any(
                Fraction(float(v)) != v for v in act.slopes + act.intercepts):
            raise Undecided(f"op {op.name!r}: activation parameters that are not floats")
        ma = x.a.abs().amax(0) if len(reg) else x.ea * 0
        if kinks == [0.0]:
            da, db, ea, eb = x.a, x.b, x.ea, x.eb
        else:
            da = torch.cat([x.a - t for t in kinks], 1)
            db = torch.cat([x.b] * len(kinks), 1)
            ea = torch.cat([(x.ea + U * (ma + abs(t))) * SAFE if t else x.ea for t in kinks])
            eb = torch.cat([x.eb] * len(kinks))
        known = None
        known_sign = None
        if x.zeros:
            zero = (x.a == 0) & (x.b == 0)
            known = torch.cat([zero] * len(kinks), 1)
            known_sign = torch.cat([torch.zeros_like(zero, dtype=torch.int8) if t == 0 else
                                    torch.full_like(zero, -1 if t > 0 else 1, dtype=torch.int8)
                                    for t in kinks], 1)
        new, signs, parent, newcut, cut_m, _ = self._split(k, 0, da, db, ea, eb, reg,
                                                           known, known_sign)
        tp = torch.from_numpy(parent)
        live = {name: t.take(tp) for name, t in live.items()}
        x = x.take(tp)
        pieces = sum((signs[:, j * n:(j + 1) * n] > 0).to(torch.int64)
                     for j in range(len(kinks)))
        slopes = [float(s) for s in act.slopes]
        icpts = [float(c) for c in act.intercepts]
        if act.name == "relu":
            on = pieces > 0
            oa = torch.where(on, x.a, 0.0)
            ob = torch.where(on, x.b, 0.0)
            alive = on.any(0) if len(new) else torch.zeros(n, dtype=torch.bool)
            out = _FT(oa, ob, torch.where(alive, x.ea, 0.0), torch.where(alive, x.eb, 0.0), True)
        else:
            st = torch.tensor(slopes, dtype=torch.float64)[pieces]
            ct = torch.tensor(icpts, dtype=torch.float64)[pieces]
            oa = st * x.a + ct
            ob = st * x.b
            smax = max(abs(s) for s in slopes)
            mb = x.b.abs().amax(0) if len(new) else x.eb * 0
            zero_based = act.kinks[0] == 0 and slopes[0] == 0 and icpts[0] == 0 and all(
                c >= 0 for c in icpts) and len(new) > 0
            out = _FT(oa, ob, (smax * x.ea + 2 * U * smax * ma) * SAFE + TINY,
                      (smax * x.eb + 2 * U * smax * mb) * SAFE + TINY, bool(zero_based))
        # the left cut's change: alone at neuron d_i of this op, or off
        src = self.index[op.inputs[0]]
        here = np.nonzero(new.d_t == src)[0]
        if len(here):
            piece = pieces[torch.from_numpy(here), torch.from_numpy(new.d_i[here])].numpy()
            slope = np.array(slopes)[piece]
            new.d_t[here] = np.where(slope == 0, KILLED, k)
        cuts = np.nonzero(newcut)[0]
        if len(cuts):
            new.d_t[cuts] = k
            new.d_i[cuts] = cut_m[cuts] % n
        return new, live, out

    def _maxpool(self, k: int, op: Any, x: _FT, reg: _Regions, live: dict[str, _FT]
                 ) -> tuple[_Regions, dict[str, _FT], _FT]:
        torch = self.torch
        groups, _ = self.pool[k]
        src_name = op.inputs[0]
        first = groups[:, 0]
        cur = _FT(x.a[:, first], x.b[:, first], x.ea[first], x.eb[first], x.zeros)
        argsrc = first[None, :].expand(len(reg), -1).clone()
        argstage = torch.zeros_like(argsrc, dtype=torch.int16)
        mp_stage = np.full(len(reg), -1, dtype=np.int64)
        mp_out = np.zeros(len(reg), dtype=np.int64)
        for step in range(1, groups.shape[1]):
            cols_np = np.nonzero(groups[:, step].numpy() >= 0)[0]
            cols = torch.from_numpy(cols_np)
            pick = groups[cols, step]
            ca, cb = x.a[:, pick], x.b[:, pick]
            da = cur.a[:, cols] - ca
            db = cur.b[:, cols] - cb
            ma = torch.maximum(cur.a[:, cols].abs().amax(0), ca.abs().amax(0)) \
                if len(reg) else cur.ea[cols] * 0
            mb = torch.maximum(cur.b[:, cols].abs().amax(0), cb.abs().amax(0)) \
                if len(reg) else cur.eb[cols] * 0
            ea = (cur.ea[cols] + x.ea[pick] + 2 * U * ma) * SAFE + TINY
            eb = (cur.eb[cols] + x.eb[pick] + 2 * U * mb) * SAFE + TINY
            known = known_sign = None
            if x.zeros:
                # relu outputs: an exact zero is dead, anything else positive inside
                z_cur = (cur.a[:, cols] == 0) & (cur.b[:, cols] == 0)
                z_c = (ca == 0) & (cb == 0)
                known = z_cur | z_c
                known_sign = torch.where(z_cur & z_c, 0, torch.where(z_cur, -1, 1)).to(torch.int8)
            new, signs, parent, newcut, cut_m, _ = self._split(k, step, da, db, ea, eb, reg,
                                                               known, known_sign)
            tp = torch.from_numpy(parent)
            live = {name: t.take(tp) for name, t in live.items()}
            x = x.take(tp)
            cur = cur.take(tp)
            argsrc, argstage = argsrc[tp], argstage[tp]
            mp_stage, mp_out = mp_stage[parent], mp_out[parent]
            take_c = signs <= 0
            ca, cb = x.a[:, pick], x.b[:, pick]
            na, nb = cur.a.clone(), cur.b.clone()
            na[:, cols] = torch.where(take_c, ca, cur.a[:, cols])
            nb[:, cols] = torch.where(take_c, cb, cur.b[:, cols])
            sub_s = argsrc[:, cols]
            sub_t = argstage[:, cols]
            argsrc = argsrc.clone()
            argstage = argstage.clone()
            argsrc[:, cols] = torch.where(take_c, pick[None, :].expand_as(sub_s), sub_s)
            argstage[:, cols] = torch.where(take_c, torch.full_like(sub_t, step), sub_t)
            cur = _FT(na, nb, torch.maximum(cur.ea, torch.zeros_like(cur.ea).index_put(
                (cols,), x.ea[pick])), torch.maximum(cur.eb, torch.zeros_like(cur.eb).index_put(
                    (cols,), x.eb[pick])), x.zeros)
            cuts = np.nonzero(newcut)[0]
            if len(cuts):
                new.d_t[cuts] = -4          # decided below, once the maximum is known
                mp_stage[cuts] = step
                mp_out[cuts] = cols_np[cut_m[cuts]]
            reg = new
        # left cut changes: from this pooling's own steps, or from the input
        if len(reg):
            mine = np.nonzero(reg.d_t == -4)[0]
            if len(mine):
                later = argstage[torch.from_numpy(mine), torch.from_numpy(mp_out[mine])].numpy()
                reg.d_t[mine] = np.where(later > mp_stage[mine], KILLED, k)
                reg.d_i[mine] = mp_out[mine]
            src = self.index[src_name]
            here = np.nonzero(reg.d_t == src)[0]
            if len(here):
                hits = (argsrc[torch.from_numpy(here)] ==
                        torch.from_numpy(reg.d_i[here])[:, None])
                count = hits.sum(1).numpy()
                where = hits.to(torch.int64).argmax(1).numpy()
                reg.d_t[here] = np.where(count == 0, KILLED, np.where(count == 1, k, DENSE))
                reg.d_i[here] = np.where(count == 1, where, reg.d_i[here])
        return reg, live, cur


def certified_line(net: VisionNetwork, a: np.ndarray, b: np.ndarray, *,
                   max_regions: int = 256, certify: bool = True,
                   progress: Optional[Callable[[int, int], None]] = None) -> LineRun:
    """Count ``t -> net(a + t (b - a))`` on [0, 1]; ``a``, ``b`` float64 arrays.

    At most ``max_regions`` regions go through the operators together, and
    no more than :data:`BATCH_BYTES` per form tensor (memory is about that
    many times the live tensors' forms); ``certify=False`` drops
    the bounds and the exact route: the plain float64 propagation, no
    guarantees, for benchmarks.
    """
    import torch

    eng = _Engine(net, np.asarray(a, dtype=np.float64).reshape(-1),
                  np.asarray(b, dtype=np.float64).reshape(-1), max_regions, certify, progress)
    with torch.no_grad():
        eng.run()
    return _pieces(eng)


def _pieces(eng: _Engine) -> LineRun:
    """Sort the final regions and compare each neighbour's output slopes."""
    outs = eng.net.output_size
    parts = eng.finals
    exact = eng.exact_finals
    n_f = sum(len(p.key) for p in parts)
    keys = np.concatenate([p.key for p in parts] + [np.array(
        [_up(lo) for lo, _, _, _ in exact])]) if n_f + len(exact) else np.zeros(0)
    out_b = np.concatenate([p.out_b.reshape(-1, outs) for p in parts] +
                           [np.array([[float(v) for v in ob] for _, _, _, ob in exact]
                                     ).reshape(-1, outs)])
    err = np.concatenate([p.eb.reshape(-1, outs) for p in parts] +
                         [np.array([[abs(float(v)) * 2 * U + TINY for v in ob]
                                    for _, _, _, ob in exact]).reshape(-1, outs)])
    out_a = np.concatenate([p.out_a.reshape(-1, outs) for p in parts] +
                           [np.array([[float(v) for v in oa] for _, _, oa, _ in exact]
                                     ).reshape(-1, outs)])
    killed = np.concatenate([p.killed for p in parts] + [np.zeros(len(exact), dtype=bool)])
    is_exact = np.concatenate([np.zeros(n_f, dtype=bool), np.ones(len(exact), dtype=bool)])
    l_hi = np.concatenate([p.l_hi for p in parts] + [np.zeros(len(exact))])
    r_lo = np.concatenate([p.r_lo for p in parts] + [np.zeros(len(exact))])
    total = len(keys)
    order = np.argsort(keys, kind="stable")
    if total > 1 and (np.diff(keys[order]) <= 0).any():
        def point(i: int) -> Fraction:
            if is_exact[i]:
                lo, hi, _, _ = exact[i - n_f]
                return (lo + hi) / 2
            return (Fraction(float(l_hi[i])) + Fraction(float(r_lo[i]))) / 2
        order = np.array(sorted(range(total), key=point), dtype=np.int64)
    ob = out_b[order]
    eb = err[order]
    diff = np.abs(ob[1:] - ob[:-1])
    bound = (eb[1:] + eb[:-1]) * SAFE + 2 * U * diff + TINY
    if eng.certify:
        differ = diff > bound
        same = np.repeat(killed[order][1:, None], outs, 1) & ~differ
        unsure = ~(differ | same)
    else:
        differ = diff > 0
        unsure = np.zeros_like(differ)
    if unsure.any() and eng.certify:
        # the float regions of undecided pairs: their outputs again in double-double
        involved = sorted({int(order[j + d]) for j in np.nonzero(unsure.any(1))[0].tolist()
                           for d in (0, 1)} - set(range(n_f, total)))
        affine = [o for o in eng.net.ops if o.kind in ("conv", "linear")]
        if involved and affine and all(int(np.prod(o.params["weight"].shape[1:])) <= 2000
                                       for o in affine):
            from .dd import reanchor

            every = np.array(involved, dtype=np.int64)
            end = len(eng.net.ops)
            # each group of them from the deepest anchor holding it (regions
            # of several batches lie in several anchors)
            for pos, start in eng._starts(end, l_hi[every], r_lo[every]):
                idx = every[pos]
                pseudo = _Regions(l_hi[idx], l_hi[idx], r_lo[idx], r_lo[idx],
                                  np.zeros((len(idx), 2), np.int64),
                                  np.zeros((len(idx), 2), np.int64),
                                  np.zeros(len(idx), np.int64), np.zeros(len(idx), np.int64))
                forms, bad, _ = reanchor(eng, end, pseudo, {eng.net.output: None}, start)
                tight = forms[eng.net.output]
                good = ~bad
                out_b[idx[good]] = tight.b.numpy()[good]
                err[idx[good]] = np.broadcast_to(tight.eb.numpy(), (len(idx), outs))[good]
            ob = out_b[order]
            eb = err[order]
            diff = np.abs(ob[1:] - ob[:-1])
            bound = (eb[1:] + eb[:-1]) * SAFE + 2 * U * diff + TINY
            differ = differ | (unsure & (diff > bound))
            unsure = unsure & ~differ
    if unsure.any():
        cache: dict[int, tuple[Fraction, ...]] = {}

        def slopes(i: int) -> tuple[Fraction, ...]:
            if i not in cache:
                if is_exact[i]:
                    cache[i] = exact[i - n_f][3]
                else:
                    point = (Fraction(float(l_hi[i])) + Fraction(float(r_lo[i]))) / 2
                    run = eng.exact()
                    res = run.run(point=point, split_from=len(run.stages) + 1)
                    cache[i] = res.outputs[0][1]
            return cache[i]

        for j in np.nonzero(unsure.any(1))[0].tolist():
            left, right = slopes(int(order[j])), slopes(int(order[j + 1]))
            for o in range(outs):
                if unsure[j, o]:
                    differ[j, o] = left[o] != right[o]
                    eng.decisions["exact"] += 1
    eng.decisions["float64"] += int(differ.size)
    pieces = tuple(int(differ[:, o].sum()) + 1 for o in range(outs)) if total else (0,) * outs
    joint = int(differ.any(1).sum()) + 1 if total else 0
    starts = np.where(is_exact[order], keys[order], l_hi[order])
    t = np.concatenate([[0.0], starts[1:], [1.0]]) if total else np.zeros(0)
    oa_s, ob_s = out_a[order], out_b[order]
    values = np.concatenate([oa_s + ob_s * starts[:, None], oa_s[-1:] + ob_s[-1:]]) \
        if total else np.zeros((0, outs))
    return LineRun(regions=total, hidden_regions=eng.hidden, pieces=pieces, joint_pieces=joint,
                   cuts=dict(eng.cuts), decisions=dict(eng.decisions),
                   extra={"profile": (t, values), "order": order, "l_hi": l_hi, "r_lo": r_lo,
                          "is_exact": is_exact,
                          "exact": exact, "n_float": n_f})


def _up(value: Fraction) -> float:
    f = float(value)
    return f if Fraction(f) >= value else math.nextafter(f, math.inf)
