"""The compiled kernels' Python bodies: with ``NUMBA_DISABLE_JIT=1`` numba
runs :mod:`pwl.engine._jit_kernel` as plain Python, which coverage can see and a
debugger can step through.  Those bodies must give the answers numpy gives
(``PWL_JIT=off``) on integer networks (the exact kernel) and float networks
(the certified kernels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, sys
from fractions import Fraction
import numpy as np
import numba
import pwl
from pwl.engine import _jit
from pwl.theory.constructions import telgarsky

assert numba.config.DISABLE_JIT == int(sys.argv[1])
kernels = _jit.kernels(1 << 30)
assert (kernels is not None) == (sys.argv[2] == "on")
calls = {}
if kernels is not None:
    for name in ("refine", "refine_certified", "decide_certified", "affine_bounds", "gather_on"):
        def counted(*args, _f=getattr(kernels, name), _n=name):
            calls[_n] = calls.get(_n, 0) + 1
            return _f(*args)
        setattr(kernels, name, counted)
rng = np.random.default_rng(11)
nets = [("tri6", telgarsky(6), (0, 1), None)]
ints = [rng.integers(-3, 4, (6, 1)), rng.integers(-3, 4, (6, 6)), rng.integers(-3, 4, (1, 6))]
nets.append(("int", pwl.Network.sequential(
    [(w.tolist(), [1] * w.shape[0], "relu" if k < 2 else "identity")
     for k, w in enumerate(ints)]), (-5, 5), "enumerate"))
for seed in range(3):
    r = np.random.default_rng(seed)
    ws = [r.standard_normal((10, 1)), r.standard_normal((10, 10)) / 3, r.standard_normal((2, 10))]
    bs = [r.standard_normal(10), r.standard_normal(10), np.zeros(2)]
    nets.append((f"float{seed}", pwl.Network.from_arrays(ws, bs), (-4, 4), "certified"))
out = {}
for name, net, dom, method in nets:
    res = pwl.count(net, dom, method=method, workers=1)
    out[name] = [res.pieces, res.activation_regions, res.method]
print(json.dumps({"counts": out, "calls": calls}))
"""


def run_counts(disable_jit: bool, policy: str) -> dict[str, list[object]]:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0", PWL_JIT=policy)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(int(disable_jit)), policy],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_kernel_python_bodies_agree_with_numpy() -> None:
    bodies = run_counts(disable_jit=True, policy="on")
    numpy_only = run_counts(disable_jit=False, policy="off")
    assert bodies["counts"] == numpy_only["counts"]
    assert numpy_only["calls"] == {}
    # the Python bodies did the work: the exact and the certified kernels ran
    assert bodies["calls"].get("refine", 0) > 0, bodies["calls"]
    assert bodies["calls"].get("refine_certified", 0) + \
        bodies["calls"].get("decide_certified", 0) > 0, bodies["calls"]
    assert {v[2] for v in bodies["counts"].values()} >= {"certified", "enumerate"}
