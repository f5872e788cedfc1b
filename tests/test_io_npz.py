"""The .npz loader and writer: floats at their exact binary value, round
trips, a table of bad archives with one-line errors naming the array and
the index, and the loader through ``pwl count``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from pwl import function_of
import pwl
from cli.main import cli
from pwl.errors import NetworkFormatError, PWLValueError
from pwl.io.npz import exact_array, parse_activation, read_npz, save_npz
from strategies import network_specs
from cli_helpers import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


def tri_arrays(**extra: Any) -> dict[str, Any]:
    """Telgarsky's triangle map on [0, 1] as arrays."""
    arrays = {"W0": np.array([[2], [4]], dtype=np.int64), "b0": np.array([0, -2]),
              "W1": np.array([[1.0, -1.0]]), "b1": np.array([0.0])}
    arrays.update(extra)
    return arrays


# -- exact values ----------------------------------------------------------------
def test_floats_are_taken_at_their_exact_binary_value(tmp_path: Path) -> None:
    net = read_npz(write(tmp_path / "n.npz", W0=np.array([[0.1]]), b0=np.array([0.1], np.float32),
                         W1=np.array([[1.0]], np.float16), b1=np.array([-3])))
    (layer0, layer1) = net.layers
    assert layer0.weights[0][0] == Fraction(3602879701896397, 36028797018963968)
    assert layer0.weights[0][0] != Fraction(1, 10)
    assert layer0.bias[0] == Fraction(13421773, 134217728)  # float32(0.1), exactly
    assert layer1.weights[0][0] == 1 and layer1.bias[0] == -3


def test_integer_arrays_are_exact_beyond_float64(tmp_path: Path) -> None:
    big = 2**62 + 1  # no float64 holds it
    net = read_npz(write(tmp_path / "n.npz", W0=np.array([[big]], dtype=np.int64),
                         b0=np.array([-big], dtype=np.int64)))
    assert net.layers[0].weights[0][0] == big and net.layers[0].bias[0] == -big


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="long double is double here")
def test_long_double_keeps_its_extra_bits() -> None:
    value = np.longdouble(1) + np.longdouble(2) ** -60
    assert exact_array(np.array([value]), "b")[0] == 1 + Fraction(1, 2**60)


def test_default_activations_relu_then_identity(tmp_path: Path) -> None:
    net = read_npz(write(tmp_path / "tri.npz", **tri_arrays()))
    assert [layer.activation.name for layer in net.layers] == ["relu", "identity"]
    f = function_of(net, (0, 1))
    assert f.breakpoints == (Fraction(1, 2),) and f(Fraction(1, 2)) == 1


def test_activations_with_exact_parameters(tmp_path: Path) -> None:
    acts = np.array(["leaky_relu alpha=1/3", "hardtanh min=-1/2 max=0.25"])
    net = read_npz(write(tmp_path / "a.npz", **tri_arrays(activations=acts)))
    assert net.layers[0].activation.params == (("alpha", Fraction(1, 3)),)
    assert net.layers[1].activation.params == (("min", Fraction(-1, 2)), ("max", Fraction(1, 4)))
    as_bytes = read_npz(write(tmp_path / "b.npz", **tri_arrays(activations=acts.astype("S"))))
    assert as_bytes == net


def test_missing_bias_is_zero(tmp_path: Path) -> None:
    arrays = tri_arrays()
    del arrays["b1"]
    assert read_npz(write(tmp_path / "n.npz", **arrays)).layers[1].bias == (0,)


# -- round trips --------------------------------------------------------------------
def _float_exact(v: Fraction) -> bool:
    try:
        return Fraction(float(v)) == v
    except OverflowError:
        return False


@settings(max_examples=60)
@given(network_specs(max_depth=3, max_width=4))
def test_save_npz_round_trip_or_refusal(tmp_path_factory: pytest.TempPathFactory,
                                        spec: list) -> None:
    """Saving succeeds exactly when every number is an integer or a float64,
    and then reads back as the same network."""
    net = pwl.Network.sequential(spec)
    path = tmp_path_factory.mktemp("rt") / "n.npz"
    numbers = [v for layer in net.layers for row in layer.weights for v in row]
    numbers += [v for layer in net.layers for v in layer.bias]
    if all(_float_exact(v) for v in numbers):
        save_npz(net, path)
        assert read_npz(path) == net
    else:
        with pytest.raises(PWLValueError, match=r"is not exactly a float64"):
            save_npz(net, path)
        assert not path.exists()


def test_save_npz_names_the_inexact_weight(tmp_path: Path) -> None:
    net = pwl.Network.sequential([([[1], ["1/3"]], [0, 0]), ([[1, 1]], [0], "identity")])
    with pytest.raises(PWLValueError, match=r"^layers\[0\]\.weights\[1\]\[0\]: 1/3 is not "
                                            r"exactly a float64"):
        save_npz(net, tmp_path / "n.npz")


def test_save_npz_refuses_graphs(tmp_path: Path) -> None:
    net = pwl.Network.from_nodes([
        {"name": "x", "op": "input", "size": 1},
        {"name": "h", "op": "dense", "inputs": ["x"], "weights": [[1]], "bias": [0]},
        {"name": "y", "op": "add", "inputs": ["x", "h"]}])
    with pytest.raises(PWLValueError, match="holds a chain of layers"):
        save_npz(net, tmp_path / "g.npz")


def test_save_npz_keeps_integers_as_int64(tmp_path: Path) -> None:
    net = pwl.load(EXAMPLES / "telgarsky-3.json")
    save_npz(net, tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as data:
        assert data["W0"].dtype == np.int64
    assert read_npz(tmp_path / "t.npz") == net


# -- bad archives --------------------------------------------------------------------
def bad(case_id: str, arrays: dict[str, Any], message: str) -> Any:
    return pytest.param(arrays, message, id=case_id)


BAD_ARCHIVES = [
    bad("no-W0", {"W1": np.eye(1)}, r"no array 'W0' \(expected W0, b0, W1, b1, \.\.\.\)"),
    bad("W-1d", {"W0": np.ones(2)}, r"W0: expected a non-empty 2-D array, got shape \(2,\)"),
    bad("W-empty", {"W0": np.ones((0, 1))}, r"W0: expected a non-empty 2-D array"),
    bad("b-shape", tri_arrays(b0=np.zeros(3)), r"b0: expected shape \(2,\), got \(3,\)"),
    bad("b-2d", tri_arrays(b1=np.zeros((1, 1))), r"b1: expected shape \(1,\), got \(1, 1\)"),
    bad("chain", tri_arrays(W1=np.ones((1, 3))),
        r"W1: expected 2 columns \(the rows of W0\), got shape \(1, 3\)"),
    bad("unknown", tri_arrays(foo=np.ones(1)), r"unknown array 'foo'"),
    bad("gap", {"W0": np.eye(1), "W2": np.eye(1)},
        r"unknown array 'W2' \(there is no W1, so layers end at W0\)"),
    bad("nan-bias", tri_arrays(b1=np.array([np.nan])), r"b1\[0\]: nan is not a finite number"),
    bad("inf-weight", tri_arrays(W0=np.array([[2.0], [-np.inf]])),
        r"W0\[1, 0\]: -inf is not a finite number"),
    bad("nan-float32", tri_arrays(W1=np.array([[1, np.nan]], np.float32)),
        r"W1\[0, 1\]: nan is not a finite number"),
    bad("bool", tri_arrays(W1=np.array([[True, False]])), r"W1: a boolean array"),
    bad("complex", tri_arrays(W1=np.array([[1j, 1]])), r"W1: dtype complex128 is not a number"),
    bad("string-weights", tri_arrays(W1=np.array([["1", "2"]])), r"W1: dtype <U1 is not"),
    bad("activations-length", tri_arrays(activations=np.array(["relu"])),
        r"activations: expected 2 names \(one per layer\), got 1"),
    bad("activations-unknown", tri_arrays(activations=np.array(["relu", "softplus"])),
        r"activations\[1\]: unknown activation 'softplus'"),
    bad("activations-syntax", tri_arrays(activations=np.array(["leaky_relu 0.1", "relu"])),
        r"activations\[0\]: expected key=value, got '0.1'"),
    bad("activations-value", tri_arrays(activations=np.array(["leaky_relu alpha=x", "relu"])),
        r"activations\[0\] alpha: 'x' is not an exact number"),
    bad("activations-param", tri_arrays(activations=np.array(["relu beta=1", "relu"])),
        r"activations\[0\]: activation 'relu' takes no parameter 'beta'"),
    bad("activations-numbers", tri_arrays(activations=np.array([1, 2])),
        r"activations: expected a 1-D array of strings"),
    bad("activations-empty", tri_arrays(activations=np.array(["relu", " "])),
        r"activations\[1\]: empty activation name"),
]


@pytest.mark.parametrize("arrays, message", BAD_ARCHIVES)
def test_bad_archives(tmp_path: Path, arrays: dict[str, Any], message: str) -> None:
    path = write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(PWLValueError, match=r"^" + str(path).replace(".", r"\.") + ": "
                       + message) as info:
        read_npz(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda p: np.savez(p, W0=np.array([[None]], dtype=object)),
                 r"not a readable \.npz archive \(.*allow_pickle", id="pickled-objects"),
    pytest.param(lambda p: p.write_text("W0 = [[1]]"), r"not a readable \.npz archive",
                 id="text"),
    pytest.param(lambda p: p.write_bytes(b""), r"not a readable \.npz archive", id="empty"),
    pytest.param(lambda p: p.mkdir(), r"is a directory", id="directory"),
])
def test_unreadable_files(tmp_path: Path, make: Any, message: str) -> None:
    path = tmp_path / "x.npz"
    make(path)
    with pytest.raises(NetworkFormatError, match=message) as info:
        read_npz(path)
    assert "\n" not in str(info.value)


def test_a_single_npy_array_is_not_an_archive(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.eye(2))
    with pytest.raises(NetworkFormatError, match=r"a single \.npy array, not an \.npz archive"):
        read_npz(tmp_path / "w.npy")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkFormatError, match=r"none\.npz: no such file"):
        pwl.load(tmp_path / "none.npz")


def test_parse_activation_round_trips_every_activation() -> None:
    from pwl.io.npz import activation_text

    for name, params in [("relu", {}), ("identity", {}), ("leaky_relu", {"alpha": "-1/3"}),
                         ("hardtanh", {"min": "-7/2", "max": 0}), ("relu6", {}), ("abs", {})]:
        act = pwl.get_activation(name, **params)
        assert parse_activation(activation_text(act), "a") == act


# -- through pwl count ------------------------------------------------------------------
def test_count_reads_npz_like_native(tmp_path: Path) -> None:
    net = pwl.load(EXAMPLES / "telgarsky-3.json")
    save_npz(net, tmp_path / "t.npz")
    runner = CliRunner()
    native = run(runner, *["count", str(EXAMPLES / "telgarsky-3.json"), "--domain", "0",
                                 "1", "--json", "--breakpoints"])
    via_npz = run(runner, *["count", str(tmp_path / "t.npz"), "--domain", "0", "1",
                                  "--json", "--breakpoints"])
    assert native.exit_code == via_npz.exit_code == 0
    a, b = json.loads(native.output), json.loads(via_npz.output)
    del a["network"], b["network"]
    assert a == b and a["pieces"] == 8
    # --format overrides the suffix
    (tmp_path / "t.bin").write_bytes((tmp_path / "t.npz").read_bytes())
    forced = run(runner, *["--format", "npz", "count", str(tmp_path / "t.bin"), "--json"])
    assert forced.exit_code == 0 and json.loads(forced.output)["pieces"] == 10


def test_count_npz_error_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.npz", **tri_arrays(W0=np.array([[np.nan], [1.0]])))
    result = run(CliRunner(), *["count", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line]
    assert lines == [f"pwl: error: {path}: W0[0, 0]: nan is not a finite number"]


def test_unknown_format_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "t.npz", **tri_arrays())
    with pytest.raises(NetworkFormatError, match=r"unknown format 'csv' \(known: json, npz, "
                                                 r"onnx, torch\)"):
        pwl.load(path, "csv")
