"""Small seeded PyTorch models for the loader tests, their exports, and exact
forward passes written out by hand (in Fractions, from the models' own
parameters) to check the loaders against.

Import this module only after ``pytest.importorskip("torch")``.

Choices that keep every route to the same exact network:

* ``LeakyReLU`` slopes, ``Hardtanh`` bounds and BatchNorm ``eps`` are
  powers of two or short dyadic numbers: ONNX stores ``alpha`` and
  ``epsilon`` as float32 attributes, the torch module as float64, and only
  numbers exact in both give the same network;
* models are float64 (``.double()``), so that torch's forward pass is close
  to the exact one and a tolerance of 1e-9 (relative) is tight.
"""

from __future__ import annotations

import contextlib
import warnings
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

F64 = torch.float64

# These models are tiny: one thread trains them in a fraction of a second,
# where two threads contend and take seconds.
torch.set_num_threads(1)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the deprecation notes of torch.jit and the TorchScript ONNX exporter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def q(value: float) -> Fraction:
    """A float at its exact binary value (the tests' own door, not pwl's)."""
    return Fraction(float(value))


def exact_linear(layer: nn.Linear, x: Sequence[Fraction]) -> list[Fraction]:
    w = layer.weight.detach().tolist()
    b = layer.bias.detach().tolist() if layer.bias is not None else [0.0] * len(w)
    return [sum((q(wij) * xj for wij, xj in zip(row, x)), q(bi)) for row, bi in zip(w, b)]


def relu(v: Sequence[Fraction]) -> list[Fraction]:
    return [max(t, Fraction(0)) for t in v]


# -- a trained chain: Linear, BatchNorm1d, LeakyReLU, Hardtanh, ReLU, Dropout ------
def train_mixed(seed: int = 0, steps: int = 80) -> nn.Sequential:
    """A float64 chain trained for a moment on sin(3x) + |x|/3, in eval mode.

    BatchNorm1d appears twice: after a Linear (folded into it) and after a
    ReLU (folded into the Linear that follows).
    """
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(1, 12), nn.BatchNorm1d(12, eps=2**-16), nn.LeakyReLU(0.125),
        nn.Sequential(nn.Linear(12, 10), nn.Hardtanh(-0.75, 1.5)),
        nn.Dropout(0.1),
        nn.Linear(10, 8), nn.ReLU(), nn.BatchNorm1d(8, eps=2**-10),
        nn.Flatten(), nn.Identity(),
        nn.Linear(8, 1),
    ).to(F64)
    x = torch.linspace(-2, 2, 128, dtype=F64).unsqueeze(1)
    y = torch.sin(3 * x) + x.abs() / 3
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return model.eval()


def bn_scale(bn: nn.BatchNorm1d) -> np.ndarray:
    """gamma / sqrt(var + eps) in float64: the formula pwl documents."""
    assert bn.running_var is not None
    var = bn.running_var.detach().to(F64).numpy()
    gamma = bn.weight.detach().to(F64).numpy()
    return gamma / np.sqrt(var + np.float64(bn.eps))


def _flat(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [m for child in module for m in _flat(child)]
    return [module]


def save_npz_chain(model: nn.Sequential, path: Any) -> None:
    """The chain as W0, b0, ... in float64, written without pwl.

    A BatchNorm1d becomes two exact float64 layers, ``x - mean`` and
    ``scale * x + beta`` (folding it would need products no float64 holds).
    """
    layers: list[list[Any]] = []
    for m in _flat(model):
        if isinstance(m, nn.Linear):
            layers.append([m.weight.detach().numpy(), m.bias.detach().numpy(), "identity"])
        elif isinstance(m, nn.BatchNorm1d):
            n = m.num_features
            layers.append([np.eye(n), -m.running_mean.detach().numpy(), "identity"])
            layers.append([np.diag(bn_scale(m)), m.bias.detach().numpy(), "identity"])
        elif isinstance(m, nn.LeakyReLU):
            layers[-1][2] = f"leaky_relu alpha={Fraction(m.negative_slope)}"
        elif isinstance(m, nn.Hardtanh):
            layers[-1][2] = f"hardtanh min={Fraction(m.min_val)} max={Fraction(m.max_val)}"
        elif isinstance(m, nn.ReLU):
            layers[-1][2] = "relu"
    arrays = {}
    for k, (w, b, _) in enumerate(layers):
        arrays[f"W{k}"] = np.asarray(w, dtype=np.float64)
        arrays[f"b{k}"] = np.asarray(b, dtype=np.float64)
    arrays["activations"] = np.array([act for _, _, act in layers])
    np.savez(path, **arrays)


def export_onnx(model: nn.Module, path: Any, shape: tuple[int, ...] = (2, 1),
                dtype: Any = F64) -> None:
    with quiet():
        torch.onnx.export(model.eval(), torch.zeros(*shape, dtype=dtype), str(path),
                          dynamo=False)


def save_script(model: nn.Module, path: Any) -> None:
    with quiet():
        torch.jit.script(model).save(str(path))


def save_traced(model: nn.Module, path: Any) -> None:
    with quiet():
        torch.jit.trace(model, torch.zeros(2, 1, dtype=F64)).save(str(path))


def forward(model: nn.Module, x: float) -> float:
    with torch.no_grad():
        return float(model(torch.tensor([[x]], dtype=F64)).reshape(-1)[0])


# -- graphs: residual additions, maxima, and a zoo of ONNX operators ------------------
class Residual(nn.Module):
    """x + F(x) at the input, then a residual block on a hidden layer."""

    def __init__(self) -> None:
        super().__init__()
        self.a1, self.a2 = nn.Linear(1, 6), nn.Linear(6, 1)
        self.up = nn.Linear(1, 5)
        self.b1, self.b2 = nn.Linear(5, 5), nn.Linear(5, 5)
        self.out = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.a2(torch.relu(self.a1(x)))
        g = torch.relu(self.up(h))
        g = g + self.b2(torch.relu(self.b1(g)))
        return self.out(g)

    def exact(self, x: Fraction) -> Fraction:
        h = [x + exact_linear(self.a2, relu(exact_linear(self.a1, [x])))[0]]
        g = relu(exact_linear(self.up, h))
        g = [u + v for u, v in zip(g, exact_linear(self.b2, relu(exact_linear(self.b1, g))))]
        return exact_linear(self.out, g)[0]


class MaxOfBranches(nn.Module):
    """max(A(x), B(x)) of two ReLU branches, then a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.a1, self.a2 = nn.Linear(1, 6), nn.Linear(6, 3)
        self.b1, self.b2 = nn.Linear(1, 4), nn.Linear(4, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a2(torch.relu(self.a1(x)))
        b = self.b2(torch.relu(self.b1(x)))
        return self.out(torch.maximum(a, b))

    def exact(self, x: Fraction) -> Fraction:
        a = exact_linear(self.a2, relu(exact_linear(self.a1, [x])))
        b = exact_linear(self.b2, relu(exact_linear(self.b1, [x])))
        return exact_linear(self.out, [max(u, v) for u, v in zip(a, b)])[0]


class Zoo(nn.Module):
    """Abs, Mul/Div/Sub by constants, Sub of two values, Clip (both bounds,
    only min, only max), Neg, LeakyRelu, Concat, MatMul, Min and Reshape."""

    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.Linear(1, 4)
        self.m = nn.Parameter(torch.randn(13, 3, dtype=F64))
        self.c = nn.Parameter(torch.randn(3, dtype=F64))
        self.l2 = nn.Linear(3, 3)
        self.leaky = nn.LeakyReLU(0.25)
        self.register_buffer("ones", torch.ones(3, 1, dtype=F64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.l1(x)
        b = torch.abs(a) * 0.5 - x / 4
        c = torch.clamp(b, min=-1.0, max=2.0)
        d = torch.cat([c, self.leaky(-a), torch.clamp(a, min=0.5), x * 3], dim=1)
        e = d @ self.m + self.c
        f = torch.minimum(e, self.l2(torch.relu(e)))
        return torch.reshape(torch.clamp(f, max=1.25) @ self.ones / 2 - 2, (-1, 1))

    def exact(self, x: Fraction) -> Fraction:
        a = exact_linear(self.l1, [x])
        b = [abs(t) / 2 - x / 4 for t in a]
        c = [min(max(t, Fraction(-1)), Fraction(2)) for t in b]
        leaky = [-t if -t > 0 else -t / 4 for t in a]
        d = c + leaky + [max(t, Fraction(1, 2)) for t in a] + [3 * x]
        m = self.m.detach().tolist()
        e = [sum((q(m[i][j]) * d[i] for i in range(len(d))), q(cj))
             for j, cj in enumerate(self.c.detach().tolist())]
        f = [min(u, v) for u, v in zip(e, exact_linear(self.l2, relu(e)))]
        return sum((min(t, Fraction(5, 4)) for t in f), Fraction(0)) / 2 - 2


def seeded(cls: Callable[[], nn.Module], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return cls().to(F64).eval()


def wide_chain(seed: int = 0, widths: Sequence[int] = (784, 64, 32, 1)) -> nn.Sequential:
    """A float32 ReLU chain at PyTorch's default initialisation, reading
    images (batch, 1, 28, 28) through a Flatten."""
    torch.manual_seed(seed)
    mods: list[nn.Module] = [nn.Flatten()]
    for k in range(len(widths) - 1):
        mods.append(nn.Linear(widths[k], widths[k + 1]))
        if k < len(widths) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods).eval()
