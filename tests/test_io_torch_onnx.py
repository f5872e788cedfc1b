"""PyTorch and ONNX loaders: every route to one trained model gives the same
exact pieces; graphs (residual additions, maxima, a zoo of operators) agree
with exact forward passes written out by hand; torch's own forward pass
agrees to float rounding; bad models give one-line errors naming the place.
"""

from __future__ import annotations

import importlib
import random
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pwl import function_of, propagate
import pwl
from pwl.errors import NetworkFormatError, PWLValueError

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import models  # noqa: E402  (needs torch)
from models import F64, forward  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

from pwl.io.onnx_io import from_onnx  # noqa: E402
from pwl.io.torch_io import from_architecture, from_torch, save_torch  # noqa: E402
from cli_helpers import run


def forms(part: pwl.Partition) -> list[tuple[Fraction, Fraction]]:
    """Output 0's exact affine form on every region."""
    return [(Fraction(int(a), part.den), Fraction(int(c), part.den))
            for a, c in zip(part.slope_num[:, 0].tolist(), part.icpt_num[:, 0].tolist())]


def close(exact: Fraction, approx: float, rel: float = 1e-9) -> bool:
    return abs(float(exact) - approx) <= rel * max(1.0, abs(approx))


def random_points(seed: int, n: int = 30, span: int = 4) -> list[Fraction]:
    rng = random.Random(seed)
    return [Fraction(rng.randint(-span * 10**6, span * 10**6), rng.randint(1, 10**6))
            for _ in range(n)]


# -- one trained chain, five routes ----------------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The trained model and the networks pwl reads from it by every route."""
    model = models.train_mixed()
    d = tmp_path_factory.mktemp("mixed")
    models.export_onnx(model, d / "m.onnx")
    models.save_npz_chain(model, d / "m.npz")
    save_torch(model, d / "m.pt")
    models.save_script(model, d / "script.pth")
    nets = {
        "module": from_torch(model),
        "onnx": pwl.load(d / "m.onnx"),
        "npz": pwl.load(d / "m.npz"),
        "state_dict": pwl.load(d / "m.pt"),
        "torchscript": pwl.load(d / "script.pth"),
    }
    return {"model": model, "nets": nets, "dir": d,
            "parts": {k: propagate(net) for k, net in nets.items()}}


def test_every_route_gives_the_same_exact_pieces(mixed: dict[str, Any]) -> None:
    parts = mixed["parts"]
    ref = parts["module"]
    assert ref.pieces() > 5  # a trained model with kinks, not a degenerate one
    for name, part in parts.items():
        assert part.cuts() == ref.cuts(), name
        assert forms(part) == forms(ref), name
        assert part.pieces() == ref.pieces(), name
        assert part.activation_regions == ref.activation_regions, name
        assert part.function().pieces() == ref.function().pieces(), name


def test_module_network_folds_batchnorm(mixed: dict[str, Any]) -> None:
    # Linear+BN1+LeakyReLU, Linear+Hardtanh, Linear+ReLU, BN2+Linear: four layers
    net = mixed["nets"]["module"]
    assert net.widths == (12, 10, 8)
    assert [layer.activation.name for layer in net.layers] == \
        ["leaky_relu", "hardtanh", "relu", "identity"]
    assert net.layers[0].activation.params == (("alpha", Fraction(1, 8)),)


def test_exact_evaluation_matches_torch(mixed: dict[str, Any]) -> None:
    model, net = mixed["model"], mixed["nets"]["module"]
    f = mixed["parts"]["module"].function()
    rng = np.random.default_rng(3)
    points = [float(v) for v in rng.uniform(-3, 3, 40)]
    points += [float(b) for b in f.breakpoints]
    for x in points:
        exact = net.evaluate(pwl.from_float_exact(x))[0]
        assert f(pwl.from_float_exact(x)) == exact
        assert close(exact, forward(model, x)), x


def test_region_forms_are_exact_evaluation(mixed: dict[str, Any]) -> None:
    """The engine's form on every region is the network there: checked at
    each cut and at two points inside each region, in Fractions."""
    net, part = mixed["nets"]["module"], mixed["parts"]["module"]
    cuts = list(part.cuts())
    ends = [cuts[0] - 1, *cuts, cuts[-1] + 1]
    for (lo, hi), (a, c) in zip(zip(ends, ends[1:]), forms(part)):
        for x in (lo, (2 * lo + hi) / 3, (lo + 2 * hi) / 3, hi):
            assert net.evaluate(x)[0] == a * x + c


def test_breakpoints_are_kinks_of_the_model(mixed: dict[str, Any]) -> None:
    """At each breakpoint the exact slopes on both sides differ, and torch's
    slopes measured just beside it agree with them."""
    model = mixed["model"]
    f = mixed["parts"]["module"].function()
    for b, (left, right) in zip(f.breakpoints, zip(f.slopes, f.slopes[1:])):
        assert left != right
        h = 1e-7 * max(1.0, abs(float(b)))
        nearby = [float(v) for v in f.breakpoints if v != b]
        if nearby and min(abs(float(b) - v) for v in nearby) < 4 * h:
            continue
        x = float(b)
        measured = (forward(model, x + h) - forward(model, x)) / h
        assert abs(measured - float(right)) <= 1e-4 * max(1.0, abs(float(right)))


# -- graphs in ONNX -----------------------------------------------------------------
@pytest.mark.parametrize("cls, seed", [
    (models.Residual, 1), (models.Residual, 2),
    (models.MaxOfBranches, 1), (models.MaxOfBranches, 5),
    (models.Zoo, 1), (models.Zoo, 4),
])
def test_onnx_graph_is_exact(tmp_path: Path, cls: Any, seed: int) -> None:
    model = models.seeded(cls, seed)
    models.export_onnx(model, tmp_path / "g.onnx")
    net = pwl.load(tmp_path / "g.onnx")
    assert not net.is_chain
    f = function_of(net)
    for x in random_points(seed):
        assert net.evaluate(x)[0] == model.exact(x) == f(x)
        xf = float(x)
        assert close(model.exact(Fraction(xf)), forward(model, xf))
    part = propagate(net)
    for cut in part.cuts():
        assert f(cut) == model.exact(cut) == net.evaluate(cut)[0]
    # between neighbouring cuts the function is the region's form
    for (lo, hi), (a, c) in zip(zip(part.cuts(), part.cuts()[1:]), forms(part)[1:-1]):
        for t in (Fraction(1, 3), Fraction(1, 2)):
            x = lo + t * (hi - lo)
            assert model.exact(x) == a * x + c


def test_residual_onnx_has_add_nodes(tmp_path: Path) -> None:
    models.export_onnx(models.seeded(models.Residual, 1), tmp_path / "r.onnx")
    ops = [n.op for n in pwl.load(tmp_path / "r.onnx").nodes]
    assert ops.count("add") == 2 and "max" not in ops


def test_max_onnx_has_max_node(tmp_path: Path) -> None:
    models.export_onnx(models.seeded(models.MaxOfBranches, 1), tmp_path / "m.onnx")
    assert [n.op for n in pwl.load(tmp_path / "m.onnx").nodes].count("max") == 1


def test_float32_onnx_and_module_agree(tmp_path: Path) -> None:
    """A float32 model: the ONNX file and the module are the same exact network."""
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(1, 9), nn.ReLU(), nn.Linear(9, 9), nn.LeakyReLU(0.0625),
                          nn.Linear(9, 1)).eval()
    models.export_onnx(model, tmp_path / "f32.onnx", dtype=torch.float32)
    a, b = propagate(from_torch(model)), propagate(pwl.load(tmp_path / "f32.onnx"))
    assert a.cuts() == b.cuts() and forms(a) == forms(b)


def test_json_export_of_onnx_graph_round_trips(tmp_path: Path) -> None:
    models.export_onnx(models.seeded(models.MaxOfBranches, 2), tmp_path / "m.onnx")
    net = pwl.load(tmp_path / "m.onnx")
    net.save(tmp_path / "m.json")
    again = pwl.load(tmp_path / "m.json")
    assert again == net and function_of(again) == function_of(net)


# -- PyTorch errors ---------------------------------------------------------------------
def _seq(*mods: nn.Module) -> nn.Sequential:
    return nn.Sequential(*mods).to(F64).eval()


def _nan_linear() -> nn.Sequential:
    model = _seq(nn.Linear(1, 3))
    with torch.no_grad():
        model[0].weight[1, 0] = float("nan")
    return model


def _training_bn() -> nn.Sequential:
    model = _seq(nn.Linear(1, 2), nn.BatchNorm1d(2))
    model[1].train()
    return model


def _empty_hardtanh() -> nn.Hardtanh:
    act = nn.Hardtanh()
    act.min_val = act.max_val = 1.0  # torch refuses this in the constructor, not later
    return act


class Custom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda: _seq(nn.Linear(1, 2), nn.Sequential(nn.ReLU(), nn.Conv1d(1, 1, 1))),
                 r"^model\.1\.1: unsupported module Conv1d$", id="conv-nested"),
    pytest.param(lambda: _seq(nn.Linear(1, 2), nn.Tanh()), r"^model\.1: unsupported module Tanh$",
                 id="tanh"),
    pytest.param(lambda: _seq(nn.Linear(1, 2), Custom()), r"^model\.1: unsupported module Custom$",
                 id="custom"),
    pytest.param(lambda: Custom(), r"^model: unsupported module Custom$", id="custom-top"),
    pytest.param(_nan_linear, r"^model\.0\.weight\[1, 0\]: nan is not a finite number$", id="nan"),
    pytest.param(lambda: _seq(nn.Linear(1, 3), nn.Linear(2, 1)),
                 r"^model\.1: expects 2 inputs but the layers before it give 3$", id="shapes"),
    pytest.param(_training_bn, r"^model\.1: BatchNorm1d is in training mode", id="bn-training"),
    pytest.param(lambda: _seq(nn.Linear(1, 2), nn.BatchNorm1d(2, track_running_stats=False)),
                 r"^model\.1: BatchNorm1d without running statistics", id="bn-no-stats"),
    pytest.param(lambda: _seq(nn.ReLU(), nn.Linear(1, 1)),
                 r"^model\.0: the network starts with an activation", id="activation-first"),
    pytest.param(lambda: _seq(nn.Dropout()), r"^model: no Linear or BatchNorm1d", id="no-weights"),
    pytest.param(lambda: _seq(nn.Linear(1, 2), _empty_hardtanh()),
                 r"^model\.1: hardtanh: min 1 must be below max 1$", id="hardtanh-empty"),
])
def test_torch_errors(make: Any, message: str) -> None:
    with pytest.raises(NetworkFormatError, match=message):
        from_torch(make())


def test_bn_zero_variance_is_named() -> None:
    model = _seq(nn.Linear(1, 2), nn.BatchNorm1d(2, eps=0.0))
    with torch.no_grad():
        model[1].running_var[1] = 0.0
    with pytest.raises(NetworkFormatError, match=r"^model\.1: running_var\[1\] \+ eps = 0\.0 "
                                                 "is not positive$"):
        from_torch(model)


def test_activation_first_with_input_size() -> None:
    net = from_torch(_seq(nn.ReLU(), nn.Linear(1, 1)), input_size=1)
    assert net.depth == 1 and net.widths == (1,)


def test_relu6_and_batchnorm_without_affine() -> None:
    model = _seq(nn.Linear(1, 3), nn.BatchNorm1d(3, affine=False), nn.ReLU6(), nn.Linear(3, 1))
    net = from_torch(model)
    assert net.layers[0].activation.name == "relu6"
    for x in random_points(0, 10):
        assert close(net.evaluate(x)[0], forward(model, float(x)))


def test_traced_torchscript_without_parameters_is_named(tmp_path: Path) -> None:
    model = _seq(nn.Linear(1, 2), nn.LeakyReLU(0.125), nn.Linear(2, 1))
    models.save_traced(model, tmp_path / "t.pt")
    with pytest.raises(NetworkFormatError, match=r"t\.pt: model\.1: this TorchScript LeakyReLU "
                                                 "does not keep its negative_slope"):
        pwl.load(tmp_path / "t.pt")


def test_traced_relu_chain_loads(tmp_path: Path) -> None:
    model = _seq(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1))
    models.save_traced(model, tmp_path / "t.pt")
    assert function_of(pwl.load(tmp_path / "t.pt")) == function_of(from_torch(model))


def _arch_state() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    model = _seq(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    return [{"type": "Linear", "in": 1, "out": 2}, {"type": "ReLU"},
            {"type": "Linear", "in": 2, "out": 1}], dict(model.state_dict())


def _edit(change: Any) -> tuple[Any, Any]:
    arch, state = _arch_state()
    change(arch, state)
    return arch, state


@pytest.mark.parametrize("change, message", [
    pytest.param(lambda a, s: a.append({"type": "Conv1d"}),
                 r"^architecture\[3\] \(Conv1d\): unsupported module Conv1d", id="conv"),
    pytest.param(lambda a, s: a[0].update(width=3),
                 r"^architecture\[0\] \(Linear\): unknown key 'width'$", id="unknown-key"),
    pytest.param(lambda a, s: a[0].update({"out": 3}),
                 r"^architecture\[0\] \(Linear\): out = 3 but the weight has shape \(2, 1\)$",
                 id="out-mismatch"),
    pytest.param(lambda a, s: s.pop("2.weight"),
                 r"^architecture\[2\] \(Linear\): state_dict has no '2.weight'$", id="missing"),
    pytest.param(lambda a, s: s.update({"5.weight": s["0.weight"]}),
                 r"^state_dict: unexpected key '5.weight'", id="extra"),
    pytest.param(lambda a, s: a.__setitem__(1, "ReLU"),
                 r"^architecture\[1\]: expected a dict with a 'type'$", id="not-a-dict"),
    pytest.param(lambda a, s: a.__setitem__(1, {"type": "LeakyReLU", "negative_slope": "x"}),
                 r"negative_slope: 'x' is not an exact number", id="bad-slope"),
])
def test_architecture_errors(change: Any, message: str) -> None:
    arch, state = _edit(change)
    with pytest.raises(PWLValueError, match=message):
        from_architecture(arch, state)


def test_architecture_exact_strings() -> None:
    arch, state = _arch_state()
    arch[1] = {"type": "LeakyReLU", "negative_slope": "1/3"}
    net = from_architecture(arch, state)
    assert net.layers[0].activation.params == (("alpha", Fraction(1, 3)),)


@pytest.mark.parametrize("payload, message", [
    pytest.param(lambda: {"weight": torch.zeros(1)}, "expected a dict with 'architecture' and "
                 "'state_dict'", id="bare-state-dict"),
    pytest.param(lambda: [1, 2], r"expected a dict .* got list", id="list"),
])
def test_torch_file_errors(tmp_path: Path, payload: Any, message: str) -> None:
    torch.save(payload(), tmp_path / "x.pt")
    with pytest.raises(NetworkFormatError, match=r"x\.pt: " + message):
        pwl.load(tmp_path / "x.pt")


def test_whole_pickled_module_is_refused_without_unpickling(tmp_path: Path) -> None:
    torch.save(_seq(nn.Linear(1, 1)), tmp_path / "whole.pt")
    with pytest.raises(NetworkFormatError, match=r"whole\.pt: torch\.load\(weights_only=True\) "
                                                 "cannot read it"):
        pwl.load(tmp_path / "whole.pt")


# -- ONNX errors: graphs built by hand ----------------------------------------------------
def _graph(nodes: list[Any], inits: dict[str, np.ndarray], inputs: Any = None,
           output: str = "y") -> Any:
    ins = inputs if inputs is not None else [
        helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 1])]
    graph = helper.make_graph(
        nodes, "g", ins, [helper.make_tensor_value_info(output, TensorProto.DOUBLE, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


W = np.array([[1.0], [-2.0]])
B = np.array([0.5, 0.25])


@pytest.mark.parametrize("model, message", [
    pytest.param(_graph([helper.make_node("Sigmoid", ["x"], ["y"], name="sig")], {}),
                 r"^node 'sig' \(Sigmoid\): unsupported operator$", id="sigmoid"),
    pytest.param(_graph([helper.make_node("Conv", ["x", "w"], ["y"])], {"w": W}),
                 r"^node 'Conv_0' \(Conv\): unsupported operator$", id="conv-unnamed"),
    pytest.param(_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                        {"w": np.array([[1.0], [np.inf]]), "b": B}),
                 r"^w\[1, 0\]: inf is not a finite number$", id="inf-weight"),
    pytest.param(_graph([helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)], {"w": W.T}),
                 r"transA = 1 would transpose the batch axis", id="transA"),
    pytest.param(_graph([helper.make_node("Mul", ["x", "x"], ["y"], name="sq")], {}),
                 r"^node 'sq' \(Mul\): a product of two values", id="square"),
    pytest.param(_graph([helper.make_node("Div", ["w", "x"], ["y"], name="inv")], {"w": B}),
                 r"^node 'inv' \(Div\): expected a value computed from the network's input",
                 id="divide-by-input"),
    pytest.param(_graph([helper.make_node("Concat", ["x", "x"], ["y"], name="c", axis=0)], {}),
                 r"^node 'c' \(Concat\): axis 0 is not the feature axis", id="concat-batch"),
    pytest.param(_graph([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
                        {"s": np.array([1, 1, 1], dtype=np.int64)}),
                 r"^node 'r' \(Reshape\): reshaping 1 features to \[1, 1, 1\]", id="reshape"),
    pytest.param(_graph([helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="cl")],
                        {"lo": np.array(2.0), "hi": np.array(1.0)}),
                 r"^node 'cl' \(Clip\): min 2 is not below max 1$", id="clip-reversed"),
    pytest.param(_graph([helper.make_node("Div", ["x", "z"], ["y"], name="d")],
                        {"z": np.array(0.0)}), r"division by zero", id="div-zero"),
    pytest.param(_graph([helper.make_node("Relu", ["x"], ["y"])], {},
                        inputs=[helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1]),
                                helper.make_tensor_value_info("x2", TensorProto.DOUBLE, [1])]),
                 r"^the graph has 2 inputs", id="two-inputs"),
    pytest.param(_graph([helper.make_node("Relu", ["x"], ["y"])], {},
                        inputs=[helper.make_tensor_value_info("x", TensorProto.DOUBLE,
                                                              ["N", "F"])]),
                 r"^input 'x': the number of features is not fixed$", id="symbolic-features"),
    pytest.param(_graph([helper.make_node("Identity", ["w"], ["y"])], {"w": B}),
                 r"^output 'y': expected a value computed from the network's input",
                 id="constant-output"),
    pytest.param(_graph([helper.make_node("Sub", ["x"], ["y"], name="s")], {}),
                 r"^node 's' \(Sub\): malformed node \(inputs \['x'\]\)$", id="malformed"),
    pytest.param(_graph([helper.make_node("Relu", ["x"], ["y"], domain="com.example")], {}),
                 r"unsupported operator \(domain 'com.example'\)", id="custom-domain"),
])
def test_onnx_errors(model: Any, message: str) -> None:
    with pytest.raises(NetworkFormatError, match=message):
        from_onnx(model)


def test_onnx_opset10_clip_attributes_and_one_sided_clips() -> None:
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
             helper.make_node("Clip", ["h"], ["c"], min=-0.5, max=0.75),
             helper.make_node("Clip", ["c", "lo"], ["d"]),
             helper.make_node("Clip", ["d", "", "hi"], ["y"])]
    model = _graph(nodes, {"w": W, "b": B, "lo": np.array(-0.25), "hi": np.array(0.5)})
    net = from_onnx(model)
    for x in random_points(1, 20, 2):
        expect = [min(max(min(max(w * x + b, Fraction(-1, 2)), Fraction(3, 4)),
                              Fraction(-1, 4)), Fraction(1, 2))
                  for w, b in zip((1, -2), (Fraction(1, 2), Fraction(1, 4)))]
        assert list(net.evaluate(x)) == expect


def test_onnx_constant_folding_and_fused_concat() -> None:
    """Transpose, Cast and Constant on constants; Sum, PRelu, Neg, a Concat of
    two maps of one node (fused into one map), Max and Min with constants,
    MatMul by a vector: against the function written out by hand."""
    nodes = [
        helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Sum", ["h", "h", "b"], ["s"]),
        helper.make_node("PRelu", ["s", "slope"], ["p"]),
        helper.make_node("Neg", ["p"], ["np"]),
        helper.make_node("Concat", ["p", "np"], ["c"], axis=-1),
        helper.make_node("Constant", [], ["lo"], value_floats=[0.125]),
        helper.make_node("Max", ["c", "lo"], ["m"]),
        helper.make_node("Constant", [], ["three"], value_int=3),
        helper.make_node("Cast", ["three"], ["hi"], to=TensorProto.DOUBLE),
        helper.make_node("Min", ["m", "hi"], ["n"]),
        helper.make_node("MatMul", ["n", "ones"], ["y"]),
    ]
    model = _graph(nodes, {"wt": np.array([[1.0], [-2.0], [0.5]]),
                           "b": np.array([0.25, 0.0, -1.0]), "slope": np.array([0.5]),
                           "ones": np.ones(6)})
    net = from_onnx(model)
    assert sum(1 for n in net.nodes if n.op == "concat") == 0  # fused into one map

    def expect(x: Fraction) -> Fraction:
        s = [2 * w * x + b for w, b in zip((1, -2, Fraction(1, 2)), (Fraction(1, 4), 0, -1))]
        p = [v if v > 0 else v / 2 for v in s]
        c = p + [-v for v in p]
        return sum((min(max(v, Fraction(1, 8)), Fraction(3)) for v in c), Fraction(0))

    f = function_of(net)
    for x in random_points(2, 25, 3) + list(f.breakpoints):
        assert net.evaluate(x)[0] == expect(x) == f(x)


def test_onnx_identity_network_and_hardsigmoid() -> None:
    net = from_onnx(_graph([helper.make_node("Identity", ["x"], ["y"])], {}))
    assert net.evaluate(Fraction(-7, 3)) == (Fraction(-7, 3),)
    net = from_onnx(_graph([helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.25,
                                             beta=0.5)], {}))
    assert [net.evaluate(x)[0] for x in (-4, 1, 3)] == [0, Fraction(3, 4), 1]


def test_onnx_file_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07not a protobuf \xff\xff")
    with pytest.raises(NetworkFormatError, match=r"junk\.onnx: not a readable ONNX file"):
        pwl.load(tmp_path / "junk.onnx")
    with pytest.raises(NetworkFormatError, match=r"none\.onnx: no such file"):
        pwl.load(tmp_path / "none.onnx")
    onnx.save(_graph([helper.make_node("Tanh", ["x"], ["y"], name="t")], {}),
              str(tmp_path / "tanh.onnx"))
    with pytest.raises(NetworkFormatError, match=r"tanh\.onnx: node 't' \(Tanh\): unsupported"):
        pwl.load(tmp_path / "tanh.onnx")


# -- missing extras -------------------------------------------------------------------
@pytest.mark.parametrize("module, call, message", [
    ("onnx", lambda p: pwl.load(p / "m.onnx"),
     r"needs onnx: pip install onnx \(or, in a checkout of pwl, pip install -e '\.\[onnx\]'\)$"),
    ("torch", lambda p: pwl.load(p / "m.pt"),
     r"needs torch: pip install torch \(or, in a checkout of pwl, pip install -e '\.\[torch\]'\)$"),
    ("torch", lambda p: from_torch(None), r"needs torch: pip install torch \(or"),
    ("matplotlib", lambda p: importlib.import_module("pwl.present.plot").plot_function(
        pwl.PiecewiseLinear.affine(1), p / "f.png"),
     r"needs matplotlib: pip install matplotlib \(or, in a checkout of pwl, "
     r"pip install -e '\.\[plot\]'\)$"),
])
def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   module: str, call: Any, message: str) -> None:
    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "m.pt").write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` raises ImportError
    for name in [m for m in sys.modules if m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)  # its submodules too, if loaded
    with pytest.raises(PWLValueError, match=message) as info:
        call(tmp_path)
    assert "\n" not in str(info.value)


# -- through the command line -------------------------------------------------------------
def test_cli_counts_every_format(mixed: dict[str, Any]) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    d, pieces = mixed["dir"], mixed["parts"]["module"].pieces()
    runner = CliRunner()
    for name in ("m.onnx", "m.npz", "m.pt", "script.pth"):
        result = run(runner, *["count", str(d / name), "--json"])
        assert result.exit_code == 0, result.output
        assert f'"pieces": {pieces},' in result.output
    (d / "model.bin").write_bytes((d / "m.onnx").read_bytes())
    result = run(runner, *["--format", "onnx", "count", str(d / "model.bin"), "--json"])
    assert result.exit_code == 0 and f'"pieces": {pieces},' in result.output


def test_cli_counts_an_onnx_graph(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    models.export_onnx(models.seeded(models.MaxOfBranches, 1), tmp_path / "max.onnx")
    pieces = propagate(pwl.load(tmp_path / "max.onnx")).pieces()
    result = run(CliRunner(), *["count", str(tmp_path / "max.onnx"), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"pieces": {pieces},' in result.output


def test_cli_error_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    onnx.save(_graph([helper.make_node("Tanh", ["x"], ["y"], name="t")], {}),
              str(tmp_path / "tanh.onnx"))
    result = run(CliRunner(), *["count", str(tmp_path / "tanh.onnx")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("pwl: error: ")
    assert "node 't' (Tanh): unsupported operator" in lines[0]


# -- many inputs, restricted to a line ------------------------------------------------------
def _line_reference(net: pwl.Network, a: list[Fraction], b: list[Fraction],
                    part: pwl.Partition) -> None:
    """Prove the engine's partition of t in [0, 1] region by region, in
    Fractions, for a chain of ReLU layers.

    On each region, the activation pattern at its midpoint fixes an affine
    map t -> net(a + t (b - a)); every hidden pre-activation must keep its
    side of 0 at both ends of the region (so the pattern, hence the map,
    holds on all of it), and the map must be the engine's form there.
    """
    d = [q - p for p, q in zip(a, b)]
    first = net.layers[0]
    # the first layer's pre-activations as forms in t, once
    z0 = [(sum((w * v for w, v in zip(row, d)), Fraction(0)),
           sum((w * v for w, v in zip(row, a)), c)) for row, c in zip(first.weights, first.bias)]
    ends = [Fraction(0), *part.cuts(), Fraction(1)]
    for (lo, hi), (slope, icpt) in zip(zip(ends, ends[1:]), forms(part)):
        mid = (lo + hi) / 2
        z, h = z0, []
        for k, layer in enumerate(net.layers):
            if k > 0:
                z = [(sum((w * s for w, (s, _) in zip(row, h)), Fraction(0)),
                      sum((w * c for w, (_, c) in zip(row, h)), bias))
                     for row, bias in zip(layer.weights, layer.bias)]
            if k == len(net.layers) - 1:
                break
            h = []
            for s, c in z:
                on = s * mid + c > 0
                # the pattern holds on the closed region: the sign never flips inside
                assert all((s * t + c >= 0) if on else (s * t + c <= 0) for t in (lo, hi))
                h.append((s, c) if on else (Fraction(0), Fraction(0)))
        assert z[0] == (slope, icpt), (lo, hi)


def test_784_inputs_counted_along_a_line(tmp_path: Path) -> None:
    line = pytest.importorskip("pwl.engine.line")
    model = models.wide_chain(seed=0)
    net = from_torch(model)
    assert net.input_size == 784
    rng = random.Random(11)
    a = [Fraction(rng.randrange(256), 256) for _ in range(784)]
    b = [Fraction(rng.randrange(256), 256) for _ in range(784)]
    restricted = line.restrict_to_line(net, a, b)
    part = pwl.propagate(restricted, (0, 1))
    assert part.pieces() > 3
    _line_reference(net, a, b, part)
    # the same model as ONNX, reading images (batch, 1, 28, 28)
    models.export_onnx(model, tmp_path / "img.onnx", shape=(1, 1, 28, 28), dtype=torch.float32)
    via_onnx = pwl.propagate(line.restrict_to_line(pwl.load(tmp_path / "img.onnx"), a, b), (0, 1))
    assert via_onnx.cuts() == part.cuts() and forms(via_onnx) == forms(part)
    # and torch's forward pass along the line, at a few points
    for t in (Fraction(0), Fraction(1, 3), Fraction(1)):
        x = torch.tensor([[float(p + t * (q - p)) for p, q in zip(a, b)]], dtype=torch.float32)
        with torch.no_grad():
            expect = float(model(x)[0, 0])
        assert abs(float(restricted.evaluate(t)[0]) - expect) <= 1e-4 * max(1.0, abs(expect))
