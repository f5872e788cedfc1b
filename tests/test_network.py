"""Building networks: validation at the door, the native JSON reader, round trips."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings

import pwl
from pwl.errors import NetworkFormatError, PWLError, PWLTypeError, PWLValueError
from pwl.io.native import parse_native
from strategies import network_specs

NFE, TE, VE = NetworkFormatError, PWLTypeError, PWLValueError


def bad(case_id, layers, error, message):
    return pytest.param(layers, error, message, id=case_id)


def one(weights, bias=(0,), activation="relu"):
    """A network of one layer given as a tuple."""
    return [(weights, list(bias), activation)]


# (layers, error class, message): every message names the place, with the value
BAD_NETWORKS = [
    bad("no-layers", [], NFE, "a network needs at least one layer"),
    bad("empty-weights", one([], ()), NFE, r"layers\[0\].weights: a layer needs at least one neuron"),
    bad("empty-row", one([[]]), NFE, r"layers\[0\].weights\[0\]: a row needs at least one weight"),
    bad("ragged-rows", one([[1, 2], [3]], (0, 0)), NFE,
        r"layers\[0\].weights\[1\]: expected 2 weights, got 1"),
    bad("bias-too-short", one([[1], [2]]), NFE, r"layers\[0\].bias: expected 2 entries, got 1"),
    bad("bias-too-long", one([[1]], (0, 0)), NFE, r"layers\[0\].bias: expected 1 entries, got 2"),
    bad("mismatch", [([[1], [1]], [0, 0], "relu"), ([[1, 1, 1]], [0], "identity")], NFE,
        r"layers\[1\].weights: rows have 3 weights but layers\[0\] has 2 neurons"),
    bad("mismatch-later", one([[1]]) + one([[1], [2]], (0, 0)) + one([[1]]), NFE,
        r"layers\[2\].weights: rows have 1 weights but layers\[1\] has 2 neurons"),
    bad("float-weight", one([[0.5]]), TE, r"layers\[0\].weights\[0\]\[0\]: 0.5 is a float"),
    bad("float-bias", one([[1]], (0.1,)), TE, r"layers\[0\].bias\[0\]: 0.1 is a float"),
    bad("float-nan", one([[float("nan")]]), TE, "nan is not a finite number"),
    bad("float-inf", one([[float("inf")]]), TE, "inf is not a finite number"),
    bad("nan-string", one([["nan"]]), VE, r"weights\[0\]\[0\]: 'nan' is not a finite number"),
    bad("infinity-string", one([["-Infinity"]]), VE, "'-Infinity' is not a finite number"),
    bad("zero-denominator", one([["1/0"]]), VE, "zero denominator"),
    bad("junk-string", one([["x"]]), VE, "'x' is not an exact number"),
    bad("too-many-digits", one([["1" * 4001]]), VE, "too long"),
    bad("huge-exponent", one([["1e99999"]]), VE, "too long|beyond"),
    bad("bool-weight", one([[True]]), TE, r"weights\[0\]\[0\]: True is a boolean"),
    bad("bool-bias", one([[1]], (False,)), TE, r"bias\[0\]: False is a boolean"),
    bad("none-weight", one([[None]]), TE, "None is not a number"),
    bad("unknown-activation", one([[1]], (0,), "softplus"), NFE,
        r"layers\[0\]: unknown activation 'softplus'"),
    bad("activation-not-a-name", one([[1]], (0,), 3), NFE, "unknown activation 3"),
    bad("weights-string", [("abc", [0], "relu")], NFE, r"layers\[0\].weights: expected a list"),
    bad("row-string", [(["ab"], [0], "relu")], NFE, r"layers\[0\].weights\[0\]: expected a list"),
    bad("bias-scalar", [([[1]], 5, "relu")], NFE, r"layers\[0\].bias: expected a list"),
    bad("layer-number", [5], NFE, r"layers\[0\]: expected a layer"),
    bad("layer-tuple-too-long", [([[1]], [0], "relu", "extra")], NFE, r"layers\[0\]: expected a layer"),
    bad("unknown-key", [{"weights": [[1]], "colour": "red"}], NFE, r"layers\[0\]: unknown key 'colour'"),
    bad("missing-weights", [{"bias": [0]}], NFE, r"layers\[0\]: missing 'weights'"),
    bad("param-not-taken", [{"weights": [[1]], "activation": "relu", "alpha": 1}], NFE,
        "activation 'relu' takes no parameter 'alpha'"),
    bad("float-alpha", [{"weights": [[1]], "activation": "leaky_relu", "alpha": 0.1}], TE,
        "leaky_relu alpha: 0.1 is a float"),
    bad("hardtanh-empty", [{"weights": [[1]], "activation": "hardtanh", "min": 1, "max": 1}], NFE,
        "min 1 must be below max 1"),
    bad("hardtanh-reversed", [{"weights": [[1]], "activation": "hardtanh", "min": "1/2", "max": "-1"}],
        NFE, "min 1/2 must be below max -1"),
]


@pytest.mark.parametrize("layers, error, message", BAD_NETWORKS)
def test_bad_networks_are_refused(layers, error, message):
    with pytest.raises(error, match=message):
        pwl.Network.sequential(layers)


@pytest.mark.parametrize("error, builtin", [
    (PWLTypeError, TypeError), (PWLValueError, ValueError), (NetworkFormatError, ValueError),
    (pwl.DomainError, ValueError), (pwl.ResourceLimitError, ValueError),
])
def test_error_family(error, builtin):
    assert issubclass(error, PWLError) and issubclass(error, builtin)


@pytest.mark.parametrize("x, error, message", [
    (0.5, PWLTypeError, "x: 0.5 is a float"),
    ([1, 2], PWLTypeError, "expected 1 inputs, got 2"),
    ("1/0", PWLValueError, "zero denominator"),
    (True, PWLTypeError, "boolean"),
])
def test_evaluate_refuses(x, error, message):
    net = pwl.Network.sequential([([[1]], [0], "relu")])
    with pytest.raises(error, match=message):
        net.evaluate(x)


@pytest.mark.parametrize("domain, error, message", [
    ((1, 0), pwl.DomainError, "lo = 1 must be below hi = 0"),
    ((1, 1), pwl.DomainError, "must be below"),
    ((0, 1, 2), pwl.DomainError, "expected"),
    ("01", pwl.DomainError, "expected"),
    ((0, 0.5), PWLTypeError, "domain hi: 0.5 is a float"),
    (("nan", 1), PWLValueError, "domain lo"),
])
def test_bad_domains(domain, error, message):
    net = pwl.Network.sequential([([[1]], [0], "relu")])
    with pytest.raises(error, match=message):
        pwl.propagate(net, domain)


def test_building_and_properties():
    net = pwl.Network.sequential([
        ([[2], [4]], [0, -2], "relu"),
        {"weights": [["1/2", "-0.25"]], "activation": "leaky_relu", "alpha": "1/10"},
    ])
    assert (net.depth, net.widths, net.input_size, net.output_size) == (1, (2,), 1, 1)
    assert net.layers[1].weights == ((Fraction(1, 2), Fraction(-1, 4)),)
    assert net.layers[1].bias == (0,)  # bias defaults to zeros
    assert net.layers[1].activation.params == (("alpha", Fraction(1, 10)),)
    assert net.evaluate("1/4") == (Fraction(1, 4),)  # relu(1/2)/2 - relu(-1)/4
    assert repr(net) == "Network(depth=1, widths=[2], inputs=1, outputs=1)"


def test_exact_numbers_accepted():
    net = pwl.Network.sequential([([["1e-3", "-3/7", Fraction(5, 2)]], ["0.1"], "identity")])
    assert net.layers[0].weights[0] == (Fraction(1, 1000), Fraction(-3, 7), Fraction(5, 2))
    assert net.layers[0].bias == (Fraction(1, 10),)


# -- the native JSON reader ------------------------------------------------------


def test_json_decimals_are_exact():
    net = parse_native(json.dumps({"format": "pwl-network/1", "layers": [
        {"weights": [[0.1], [-2.5e-3]], "bias": [0.3, 1e2], "activation": "relu"},
        {"weights": [["1/3", 7]], "activation": "identity"},
    ]}))
    assert net.layers[0].weights == ((Fraction(1, 10),), (Fraction(-1, 400),))
    assert net.layers[0].bias == (Fraction(3, 10), Fraction(100))
    assert net.layers[1].weights == ((Fraction(1, 3), Fraction(7)),)


def test_json_text_decimal_is_not_binary():
    net = parse_native('{"layers": [{"weights": [[0.1]], "bias": [0.2]}]}')
    # 0.1 + 0.2 == 3/10 exactly, unlike the floats
    assert net.evaluate(1) == (Fraction(3, 10),)


def test_json_big_integers_are_exact():
    net = parse_native('{"layers": [{"weights": [[123456789012345678901234567890]], "bias": [-1]}]}')
    assert net.layers[0].weights[0][0] == 123456789012345678901234567890


@pytest.mark.parametrize("text, error, message", [
    pytest.param('{"layers": [{"weights": [[NaN]]}]}', PWLValueError,
                 r"layers\[0\].weights\[0\]\[0\]: 'NaN' is not a finite number", id="nan"),
    pytest.param('{"layers": [{"weights": [[Infinity]]}]}', PWLValueError,
                 "'Infinity' is not a finite number", id="inf"),
    pytest.param('{"layers": [{"weights": [[1]], "bias": [-Infinity]}]}', PWLValueError,
                 r"bias\[0\]: '-Infinity' is not a finite number", id="minus-inf"),
    pytest.param('{"layers": [\n  {"weights": [[1]],}\n]}', NetworkFormatError,
                 "malformed JSON at line 2, column 21", id="trailing-comma"),
    pytest.param('{"layers": [{"weights": [[1]]}]', NetworkFormatError,
                 r"malformed JSON at line 1, column \d+", id="unclosed"),
    pytest.param("", NetworkFormatError, "malformed JSON at line 1, column 1", id="empty"),
    pytest.param("[" * 100000, NetworkFormatError, "nested too deeply|malformed", id="deep"),
    pytest.param('{"layers": [{"weights": [[1' + "0" * 5000 + "]]}]}", NetworkFormatError, "number",
                 id="integer-too-long"),
    pytest.param("[1]", NetworkFormatError, "expected a JSON object", id="not-an-object"),
    pytest.param('{"format": "onnx", "layers": []}', NetworkFormatError,
                 "format: expected 'pwl-network/1', got 'onnx'", id="format"),
    pytest.param('{"weights": [[1]]}', NetworkFormatError, "missing 'layers'", id="no-layers"),
    pytest.param('{"layers": {"weights": [[1]]}}', NetworkFormatError, "layers: expected a list",
                 id="layers-object"),
    pytest.param('{"layers": []}', NetworkFormatError, "at least one layer", id="layers-empty"),
    pytest.param('{"layers": [{"weights": [["0x10"]]}]}', PWLValueError,
                 r"layers\[0\].weights\[0\]\[0\]: '0x10' is not an exact number", id="hex-string"),
    pytest.param('{"layers": [{"weights": [[true]]}]}', PWLTypeError, "True is a boolean", id="boolean"),
    pytest.param('{"layers": [{"weights": [[null]]}]}', PWLTypeError, "None is not a number", id="null"),
])
def test_native_json_refusals(text, error, message):
    with pytest.raises(error, match=message):
        parse_native(text)


def test_two_inputs_are_read_then_refused_by_the_engine():
    net = parse_native('{"layers": [{"weights": [[1, 2]]}]}')
    assert net.input_size == 2
    with pytest.raises(PWLValueError, match="2 inputs"):
        pwl.propagate(net)


def test_load_and_save(tmp_path):
    net = pwl.Network.sequential([([[2], [4]], [0, -2], "relu"), ([[1, -1]], ["1/3"], "identity")])
    path = tmp_path / "net.json"
    net.save(path)
    assert pwl.load(path) == net
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]  # no temporary left behind
    with pytest.raises(NetworkFormatError, match="no such file"):
        pwl.load(tmp_path / "missing.json")
    with pytest.raises(NetworkFormatError, match="is a directory"):
        pwl.load(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [{"weights": [[0.5]]}, {"weights": [[1, 2]]}]}')
    with pytest.raises(NetworkFormatError, match=r"bad\.json: layers\[1\]\.weights"):
        pwl.load(bad)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"layers": [{"weights": [[1]], "name": "\xe9"}]}')
    with pytest.raises(NetworkFormatError, match="not UTF-8"):
        pwl.load(latin)


# -- round trips -----------------------------------------------------------------


@settings(max_examples=150)
@given(network_specs())
def test_dict_round_trip(spec):
    net = pwl.Network.sequential(spec)
    data = net.to_dict()
    assert data["format"] == "pwl-network/1"
    assert all(isinstance(w, str) for layer in data["layers"] for row in layer["weights"] for w in row)
    again = pwl.Network.from_dict(data)
    assert again == net and hash(again) == hash(net)
    assert parse_native(json.dumps(data)) == net
    assert again.to_dict() == data


def test_round_trip_keeps_parameters():
    net = pwl.Network.sequential([
        {"weights": [[1]], "activation": "hardtanh", "min": "-1/2", "max": "3"},
        {"weights": [[1]], "activation": "leaky_relu", "alpha": "1/10"},
        {"weights": [[1]], "activation": "linear"},
    ])
    data = net.to_dict()
    assert data["layers"][0]["min"] == "-1/2" and data["layers"][0]["max"] == "3"
    assert data["layers"][1]["alpha"] == "1/10"
    assert pwl.Network.from_dict(data) == net
