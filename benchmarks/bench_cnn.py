"""Vision networks along a line: pwl's exact counts against a float64 reference.

Networks (PyTorch modules, seeded He initialisation, float32 parameters as
torch keeps them, read through :func:`pwl.vision.from_torch`):

* ``lenet``: LeNet-5 on 28x28x1 (conv 6@5x5 pad 2, max pool, conv 16@5x5,
  max pool, 120, 84, 10);
* ``resnet20``: the CIFAR ResNet-20 (3 stages of 3 basic blocks, 16/32/64
  channels, batch norm at its initial statistics, 1x1 convolution
  shortcuts) on 32x32x3.

The line runs from a seeded random input ``a`` towards another one ``b``:
``t -> net(a + t s (b - a))`` on [0, 1], ``s`` the ``--fraction`` of the
segment (1 is the whole segment).  Each row times, in fresh processes:

* ``float64``: the same propagation of affine forms in float64 with torch,
  no error bounds, no exact route (``certified_line(certify=False)``): no
  guarantees;
* ``pwl``: :func:`pwl.vision.count_line`, exact (float64 with proven
  bounds, undecided regions finished in exact arithmetic).

and prints regions, pieces of output 0, time, peak resident memory, and the
ratio.  Run::

    python benchmarks/bench_cnn.py                     # both networks
    python benchmarks/bench_cnn.py --net resnet20 --repeat 5
    python benchmarks/bench_cnn.py --net lenet --fraction 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np


def lenet(torch: Any) -> Any:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def resnet20(torch: Any) -> Any:
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            blocks = []
            cin = 16
            for stage, cout in enumerate((16, 32, 64)):
                for k in range(3):
                    blocks.append(Block(cin, cout, 2 if (k == 0 and stage > 0) else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(64, 10)

        def forward(self, x: Any) -> Any:
            x = self.blocks(F.relu(self.bn(self.conv(x))))
            x = F.adaptive_avg_pool2d(x, 1)
            return self.fc(torch.flatten(x, 1))

    return ResNet()


NETS = {"lenet": (lenet, (1, 28, 28)), "resnet20": (resnet20, (3, 32, 32))}


def build(name: str, seed: int) -> tuple[Any, tuple[int, ...]]:
    import torch

    from pwl.vision import from_torch

    make, shape = NETS[name]
    torch.manual_seed(seed)
    model = make(torch)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    model.eval()
    return from_torch(model, shape), shape


def one(name: str, method: str, seed: int, fraction: float) -> dict[str, Any]:
    """One measurement, in this process."""
    import torch

    from pwl.vision import count_line
    from pwl.vision.certified import certified_line

    torch.set_num_threads(2)
    net, shape = build(name, seed)
    rng = np.random.default_rng(seed + 1)
    a = rng.standard_normal(shape)
    b = a + fraction * (rng.standard_normal(shape) - a)
    start = time.perf_counter()
    if method == "float64":
        run = certified_line(net, a, b, certify=False)
        out = {"regions": run.regions, "pieces": run.pieces[0], "escalated": 0}
    else:
        res = count_line(net, a, b)
        d = res.decisions or {}
        out = {"regions": res.activation_regions, "pieces": res.pieces[0],
               "escalated": d.get("escalated_regions", 0)}
    out["seconds"] = time.perf_counter() - start
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure(name: str, method: str, seed: int, fraction: float, timeout: float
            ) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", name, method, str(seed), repr(fraction)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:100]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time (a failed run, if any failed: it is reported)."""
    bad = [r for r in runs if "seconds" not in r]
    if bad:
        return bad[0]
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--net", choices=[*NETS, "all"], default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fraction", type=float, default=None,
                        help="part of the segment a -> b (default: 1 for lenet, 0.002 for "
                             "resnet20)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each method, taking turns; the median time is printed "
                             "and the ratio is the median of the runs' paired ratios")
    parser.add_argument("--one", nargs=4, metavar=("NET", "METHOD", "SEED", "FRACTION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, method, seed, fraction = args.one
        print(json.dumps(one(name, method, int(seed), float(fraction))))
        return
    names = list(NETS) if args.net == "all" else [args.net]
    print(f"{'network':<9} {'fraction':>8} {'method':<8} {'regions':>8} {'pieces':>7} "
          f"{'escal.':>6} {'seconds':>9} {'peak MiB':>9} {'ratio':>6}")
    for name in names:
        fraction = args.fraction if args.fraction is not None else (
            1.0 if name == "lenet" else 0.002)
        runs: dict[str, list[dict[str, Any]]] = {"float64": [], "pwl": []}
        for _ in range(max(1, args.repeat)):
            for m in runs:
                runs[m].append(measure(name, m, args.seed, fraction, args.timeout))
        rows = {m: median_run(rs) for m, rs in runs.items()}
        paired = sorted(p["seconds"] / f["seconds"] for p, f in zip(runs["pwl"], runs["float64"])
                        if "seconds" in p and "seconds" in f)
        for method, r in rows.items():
            if "seconds" not in r:
                print(f"{name:<9} {fraction:>8g} {method:<8} {json.dumps(r)}")
                continue
            ratio = 1.0 if method == "float64" else (
                paired[len(paired) // 2] if paired else float("nan"))
            print(f"{name:<9} {fraction:>8g} {method:<8} {r['regions']:>8} {r['pieces']:>7} "
                  f"{r['escalated']:>6} {r['seconds']:>9.2f} {r['peak_mib']:>9.0f} "
                  f"{ratio:>6.2f}")


if __name__ == "__main__":
    main()
