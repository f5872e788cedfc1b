"""Plain float64 evaluation of a vision network with torch, no guarantees:
the reference the exact answers are compared with in tests and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import VisionNetwork

__all__ = ["forward_float", "apply_float"]


def apply_float(net: VisionNetwork, k: int, ins: list[Any], torch: Any) -> Any:
    """Op ``k`` on a batch of float64 tensors ``(B, C, H, W)`` (torch's own kernels)."""
    F = torch.nn.functional
    op = net.ops[k]
    p = op.params
    if op.kind == "conv":
        bias = None if p["bias"] is None else torch.from_numpy(np.array(p["bias"]))
        return F.conv2d(ins[0], torch.from_numpy(np.array(p["weight"])), bias, p["stride"],
                        p["padding"], p["dilation"], p["groups"])
    if op.kind == "linear":
        x = ins[0].reshape(ins[0].shape[0], -1)
        bias = None if p["bias"] is None else torch.from_numpy(np.array(p["bias"]))
        return F.linear(x, torch.from_numpy(np.array(p["weight"])), bias)[:, :, None, None]
    if op.kind == "channel_affine":
        scale = torch.from_numpy(np.array(p["scale"]))[None, :, None, None]
        mean = torch.from_numpy(np.array(p["mean"]))[None, :, None, None]
        beta = torch.from_numpy(np.array(p["beta"]))[None, :, None, None]
        return (ins[0] - mean) * scale + beta
    if op.kind == "avgpool":
        return F.avg_pool2d(ins[0], p["kernel"], p["stride"], p["padding"],
                            count_include_pad=p["count_include_pad"])
    if op.kind == "maxpool":
        return F.max_pool2d(ins[0], p["kernel"], p["stride"], p["padding"], p["dilation"])
    if op.kind == "activation":
        act = p["activation"]
        x = ins[0]
        if act.name == "relu":
            return torch.relu(x)
        out = torch.zeros_like(x)
        kinks = [float(t) for t in act.kinks]
        piece = sum((x > t).to(torch.int64) for t in kinks) if kinks else torch.zeros_like(
            x, dtype=torch.int64)
        for j, (s, c) in enumerate(zip(act.slopes, act.intercepts)):
            out = torch.where(piece == j, float(s) * x + float(c), out)
        return out
    if op.kind == "add":
        out = ins[0]
        for t in ins[1:]:
            out = out + t
        return out
    if op.kind == "flatten":
        return ins[0].reshape(ins[0].shape[0], -1, 1, 1)
    raise AssertionError(op.kind)


def forward_float(net: VisionNetwork, x: np.ndarray) -> np.ndarray:
    """Outputs ``(B, outputs)`` of a batch ``(B, *input_shape)`` in float64."""
    import torch

    batch = np.asarray(x, dtype=np.float64)
    values: dict[str, Any] = {}
    c, h, w = net.ops[0].shape
    values["input"] = torch.from_numpy(batch.reshape(-1, c, h, w).copy())
    for k, op in enumerate(net.ops[1:], start=1):
        values[op.name] = apply_float(net, k, [values[i] for i in op.inputs], torch)
    out = values[net.output]
    return np.asarray(out.reshape(out.shape[0], -1).numpy())
