"""Vision networks from PyTorch and ONNX: a tiny CNN trained on synthetic
8x8 images counts the same from the module, its ONNX export and its
torch.save file; ResNet blocks written with a custom forward load through
torch.fx; unsupported operators are refused by name; the command line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pwl.errors import NetworkFormatError
from pwl.vision import count_line, from_torch, read_onnx, read_torch

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn
F = torch.nn.functional


def _images(n: int, seed: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Two classes of 8x8 images: a bright bar, horizontal or vertical, in noise."""
    g = torch.Generator().manual_seed(seed)
    x = 0.3 * torch.randn(n, 1, 8, 8, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    pos = torch.randint(1, 7, (n,), generator=g)
    for i in range(n):
        if y[i]:
            x[i, 0, pos[i], :] += 1.0
        else:
            x[i, 0, :, pos[i]] += 1.0
    return x, y


def _trained() -> "nn.Module":
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 2),
                          nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
    x, y = _images(256, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.9     # it learned something
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vision")
    model = _trained()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, 8, 8), str(d / "cnn.onnx"), dynamo=False)
    torch.save(model, d / "cnn.pt")
    x, _ = _images(4, 2)
    np.save(d / "a.npy", x[0].numpy())
    np.save(d / "b.npy", x[1].numpy())
    np.save(d / "data.npy", x.numpy())
    torch.save(model.state_dict(), d / "state.pt")
    return {"dir": d, "model": model, "onnx": d / "cnn.onnx", "pt": d / "cnn.pt",  # type: ignore[dict-item]
            "a": d / "a.npy", "b": d / "b.npy", "data": d / "data.npy", "state": d / "state.pt"}


def _key(r: object) -> tuple:
    return (r.activation_regions, r.pieces, r.joint_pieces,  # type: ignore[attr-defined]
            tuple((s.kind, s.neurons, s.cuts, s.regions) for s in r.layers))  # type: ignore[attr-defined]


def test_module_onnx_and_saved_file_agree(files: dict) -> None:
    a, b = np.load(files["a"]), np.load(files["b"])
    nets = [from_torch(files["model"], (1, 8, 8)), read_onnx(files["onnx"]),
            read_torch(files["pt"], (1, 8, 8))]
    counts = [count_line(net, a, b) for net in nets]
    assert len({_key(r) for r in counts}) == 1
    assert counts[0].activation_regions > 5
    assert _key(count_line(nets[1], a, b, method="exact")) == _key(counts[0])
    dense = count_line(nets[0], a, b, method="dense")
    assert (dense.activation_regions, dense.pieces) == (counts[0].activation_regions,
                                                        counts[0].pieces)
    with torch.no_grad():
        ref = files["model"].double()(torch.from_numpy(np.stack([a, b]).astype(np.float64)))
        files["model"].float()
    for net in nets:
        assert np.allclose(net.forward_float(np.stack([a, b])), ref.numpy(), atol=1e-12)


class _Block(nn.Module):
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

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class _ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.layer1 = _Block(3, 3, 1)
        self.layer2 = _Block(3, 4, 2)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        x = self.layer2(self.layer1(F.relu(self.conv(x))))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(x.view(x.size(0), -1))


def test_resnet_blocks_through_fx(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = _ResNet()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    model.eval()
    net = from_torch(model, (2, 6, 6))
    assert [op.kind for op in net.ops].count("add") == 2
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(x)).numpy()
    assert np.allclose(net.forward_float(x), ref, atol=1e-12)
    assert [float(v) for v in net.evaluate(x[0])] == pytest.approx(ref[0].tolist(), abs=1e-12)
    r = count_line(net, x[0], x[1])
    d = count_line(net, x[0], x[1], method="dense")
    assert (r.activation_regions, r.pieces, r.joint_pieces) == (d.activation_regions,
                                                                d.pieces, d.joint_pieces)
    model.train()
    with pytest.raises(NetworkFormatError, match="training mode; call model.eval"):
        from_torch(model, (2, 6, 6))
    model.eval()
    torch.save(model, tmp_path / "resnet.pt")
    with pytest.raises(NetworkFormatError, match="export it to ONNX"):
        read_torch(tmp_path / "resnet.pt", (2, 6, 6))


class _Up(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.up(F.relu(self.conv(x)))


def test_unsupported_operator_named(tmp_path: Path) -> None:
    model = _Up().eval()
    with pytest.raises(NetworkFormatError, match=r"^node 'up' \(Upsample\): unsupported module "
                                                 r"Upsample$"):
        from_torch(model, (1, 4, 4))
    path = tmp_path / "up.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, 4, 4), str(path), dynamo=False)
    with pytest.raises(NetworkFormatError, match=r"node '/up/\w+' \((Resize|Upsample)\): "
                                                 r"unsupported operator$"):
        read_onnx(path)


def test_state_dict_needs_the_architecture(files: dict) -> None:
    with pytest.raises(NetworkFormatError, match="not a module.*export it to ONNX"):
        read_torch(files["state"], (1, 8, 8))


def _cli(*args: str) -> object:
    from cli.main import cli

    return CliRunner().invoke(cli, list(args), prog_name="pwl")


def test_cli_line_through_a_cnn(files: dict, tmp_path: Path) -> None:
    a, b = str(files["a"]), str(files["b"])
    res = _cli("count", str(files["onnx"]), "--line", a, b, "--json", "--per-layer",
               "--output", "all")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    direct = count_line(read_onnx(files["onnx"]), np.load(a), np.load(b))
    assert payload["pieces_per_output"] == list(direct.pieces)
    assert payload["pieces"] == direct.joint_pieces
    assert payload["activation_regions"] == direct.activation_regions
    assert [s["cuts"] for s in payload["layers"]] == [s.cuts for s in direct.layers or ()]
    res = _cli("count", str(files["pt"]), "--line-from", str(files["data"]), "--pair", "0", "1",
               "--plot", str(tmp_path / "line.png"))
    assert res.exit_code == 0, res.output
    assert f"activation regions  {direct.activation_regions}" in res.output
    assert "busiest layer" in res.output and "density" in res.output
    assert (tmp_path / "line.png").stat().st_size > 1000


@pytest.mark.parametrize("args, message", [
    (["--line", "{a}", "{short}"], "--line B: 3 numbers"),
    (["--line-from", "{data}", "--pair", "0", "9"], "row 9 does not exist"),
    (["--line-from", "{data}"], "needs --pair"),
    (["--line", "{a}", "{b}", "--output", "5"], "output 5 does not exist"),
])
def test_cli_errors(files: dict, args: list[str], message: str) -> None:
    short = files["dir"] / "short.npy"
    np.save(short, np.zeros(3))
    values = {"a": str(files["a"]), "b": str(files["b"]), "data": str(files["data"]),
              "short": str(short)}
    res = _cli("count", str(files["onnx"]), *[a.format(**values) for a in args])
    assert res.exit_code in (1, 2)
    assert message in res.output
    assert "Traceback" not in res.output


def test_conv1d_groups_and_pools() -> None:
    """Conv1d with dilation and groups, 1-D pools, LeakyReLU and Hardtanh
    through torch.fx: the float64 forward agrees with torch's, the counts
    with the dense expansion."""
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1, groups=2), nn.ReLU(), nn.AvgPool1d(2),
                          nn.Conv1d(4, 3, 2, dilation=2), nn.LeakyReLU(0.2), nn.MaxPool1d(2),
                          nn.Hardtanh(-0.5, 0.5), nn.Dropout(0.3), nn.Flatten(),
                          nn.Linear(6, 2)).eval()
    net = from_torch(model, (2, 12))
    x = np.random.default_rng(2).standard_normal((2, 2, 12))
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(x)).numpy()
    assert np.allclose(net.forward_float(x), ref, atol=1e-12)
    r = count_line(net, x[0], x[1])
    d = count_line(net, x[0], x[1], method="dense")
    assert (r.activation_regions, r.pieces, r.joint_pieces) == (d.activation_regions,
                                                                d.pieces, d.joint_pieces)
    assert r.activation_regions > 3
