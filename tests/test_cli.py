"""The command line through click's CliRunner: answers cross-checked against
the library and against exact evaluation; bad input gives one line on stderr
and exit status 1 (bad input) or 2 (bad usage), never a traceback."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pwl import function_of, propagate
import pwl
from pwl.theory.bounds import check_bounds
from pwl.theory.constructions import telgarsky
from pwl.theory.distances import distance
from pwl.theory.separation import min_width, separation
from cli_helpers import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TELGARSKY3 = str(EXAMPLES / "telgarsky-3.json")
IDENTITY = str(EXAMPLES / "identity-relu.json")




def ok_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, "--json prints one object on one line"
    return json.loads(lines[0])


def write_net(path: Path, layers: list) -> str:
    path.write_text(json.dumps({"format": "pwl-network/1", "layers": layers}))
    return str(path)


def q(text: str) -> Fraction:
    return Fraction(text)


# -- pwl count ----------------------------------------------------------------------
@pytest.mark.parametrize("method", [[], ["--method", "auto"], ["--method", "enumerate"],
                                    ["--method", "compose"]])
def test_count_telgarsky_3_on_the_unit_interval(runner: CliRunner, method: list) -> None:
    out = ok_json(runner, "count", TELGARSKY3, "--domain", "0", "1", *method)
    assert out["pieces"] == 8 and out["activation_regions"] == 8
    assert out["domain"] == ["0", "1"] and out["depth"] == 3 and out["widths"] == [2, 2, 2]
    assert out["network"] == TELGARSKY3 and out["output"] == 0


@pytest.mark.parametrize("method", ["enumerate", "compose"])
def test_count_telgarsky_3_on_the_whole_line(runner: CliRunner, method: str) -> None:
    out = ok_json(runner, "count", TELGARSKY3, "--method", method)
    assert out["domain"] is None
    assert out["pieces"] == 10
    assert out["pieces"] == function_of(pwl.load(TELGARSKY3), None).num_pieces


def test_count_text_output(runner: CliRunner) -> None:
    result = run(runner, "count", TELGARSKY3, "--domain", "0", "1")
    assert result.exit_code == 0 and result.stderr == ""
    rows = dict(line.split(None, 1) if " " in line else (line, "")
                for line in result.stdout.splitlines())
    assert rows["pieces"].strip() == "8"
    assert "[0, 1]" in result.stdout
    assert "activation regions  8" in result.stdout


@pytest.mark.parametrize("domain", [["0", "1"], ["-3/7", "1/2"], ["-2", "3"], []])
def test_count_breakpoints_are_exact_and_are_kinks(runner: CliRunner, domain: list) -> None:
    args = ["--domain", *domain] if domain else []
    out = ok_json(runner, "count", TELGARSKY3, *args, "--breakpoints")
    bps = [q(b) for b in out["breakpoints"]]
    assert all(isinstance(b, str) for b in out["breakpoints"])
    assert bps == sorted(set(bps)) and len(bps) == out["pieces"] - 1
    net = pwl.load(TELGARSKY3)

    def f(x: Fraction) -> Fraction:
        return net.evaluate(x)[0]

    # each is a kink (the slopes on its two sides differ), and f is affine between
    for b in bps:
        h = Fraction(1, 10**6)
        assert f(b) - f(b - h) != f(b + h) - f(b)
    lo, hi = (q(domain[0]), q(domain[1])) if domain else (bps[0] - 1, bps[-1] + 1)
    xs = [lo, *bps, hi]
    for a, b in zip(xs, xs[1:]):
        assert f((a + b) / 2) == (f(a) + f(b)) / 2
    if domain == ["0", "1"]:
        assert out["breakpoints"] == ["1/8", "1/4", "3/8", "1/2", "5/8", "3/4", "7/8"]


def test_count_per_layer(runner: CliRunner) -> None:
    out = ok_json(runner, "count", TELGARSKY3, "--domain", "0", "1", "--per-layer")
    layers = out["layers"]
    assert [s["layer"] for s in layers] == [1, 2, 3]
    part = propagate(pwl.load(TELGARSKY3), (0, 1), per_layer=True)
    assert part.layers is not None
    regions = []
    for s, stats in zip(layers, part.layers):
        assert s["width"] == 2 == len(s["kappa_pre"]) == len(s["kappa_post"])
        assert s["max_kappa"] == max(s["kappa_post"])
        assert s["kappa_post"] == list(stats.kappa_post)
        assert all(post <= 2 * pre for pre, post in zip(s["kappa_pre"], s["kappa_post"]))
        regions.append(s["activation_regions"])
    assert regions == sorted(regions) and regions[-1] == out["activation_regions"] == 8
    # the last neuron pair of tri^3: h1 - h2 is the output, with 8 pieces
    assert layers[-1]["kappa_post"][0] == 4


def test_count_identity_relu(runner: CliRunner) -> None:
    out = ok_json(runner, "count", IDENTITY)
    assert out["pieces"] == 1 and out["activation_regions"] == 2


def test_count_a_second_output(runner: CliRunner, tmp_path: Path) -> None:
    path = write_net(tmp_path / "two.json", [
        {"weights": [[1], [1]], "bias": [0, -1]},
        {"weights": [[1, 0], [1, -2]], "bias": [0, 0], "activation": "identity"}])
    assert ok_json(runner, "count", path, "--output", "0")["pieces"] == 2
    assert ok_json(runner, "count", path, "--output", "1")["pieces"] == 3


def test_count_a_weight_beyond_int64(runner: CliRunner, tmp_path: Path) -> None:
    """relu(2^64 x + 1): one kink at -1/2^64, integers past the int64 fast path."""
    path = write_net(tmp_path / "big.json", [
        {"weights": [[2**64]], "bias": [1]},
        {"weights": [[1]], "bias": [0], "activation": "identity"}])
    out = ok_json(runner, "count", path, "--breakpoints", "--method", "enumerate")
    assert out["pieces"] == 2 and out["breakpoints"] == [f"-1/{2**64}"]


# -- pwl telgarsky ----------------------------------------------------------------
def test_telgarsky_depth_12(runner: CliRunner) -> None:
    out = ok_json(runner, "telgarsky", "--depth", "12")
    assert out["pieces"] == 4096 == out["expected"]
    assert out["holds"] is True and out["periodic"] is True
    assert out["period"] == "1/2048"
    assert (out["min"], out["max"]) == ("0", "1")


def test_telgarsky_scale_zero_does_not_hold(runner: CliRunner) -> None:
    out = ok_json(runner, "telgarsky", "--depth", "3", "--scale", "0")
    assert out["holds"] is False and out["pieces"] == 1


@pytest.mark.parametrize("depth,scale", [(3, "1"), (5, "16"), (4, "-3/7")])
def test_telgarsky_save_is_loadable_and_counts_the_same(runner: CliRunner, tmp_path: Path,
                                                        depth: int, scale: str) -> None:
    path = str(tmp_path / "tri.json")
    out = ok_json(runner, "telgarsky", "--depth", str(depth), "--scale", scale, "--save", path)
    assert out["saved"] == path and out["scale"] == scale
    assert pwl.load(path) == telgarsky(depth, scale)
    counted = ok_json(runner, "count", path, "--domain", "0", "1")
    assert counted["pieces"] == out["pieces"] == 2**depth


# -- pwl bound --------------------------------------------------------------------
def test_bound_telgarsky_3(runner: CliRunner) -> None:
    out = ok_json(runner, "bound", TELGARSKY3, "--domain", "0", "1")
    r = check_bounds(pwl.load(TELGARSKY3), (0, 1))
    assert out["pieces"] == r.pieces == 8
    assert out["bound_lecture"] == 2**3 * 2**3 and out["bound_one_input"] == 3**3
    assert out["ratio_lecture"] == "1/8" and out["ratio_one_input"] == "8/27"
    assert out["holds"] is True and out["violations"] == []


def test_bound_text_output(runner: CliRunner) -> None:
    result = run(runner, "bound", IDENTITY)
    assert result.exit_code == 0
    assert "hold for every neuron" in result.stdout
    assert "VIOLATED" not in result.stdout


# -- pwl distance -----------------------------------------------------------------
@pytest.fixture
def three_x_and_one(tmp_path: Path) -> tuple[str, str]:
    f = write_net(tmp_path / "f.json", [{"weights": [[3]], "bias": [0], "activation": "identity"}])
    g = write_net(tmp_path / "g.json", [{"weights": [[0]], "bias": ["1"], "activation": "identity"}])
    return f, g


@pytest.mark.parametrize("metric,value", [("l1", "5/6"), ("l2sq", "1"), ("sup", "2")])
def test_distance_value(runner: CliRunner, three_x_and_one, metric: str, value: str) -> None:
    """On [0, 1]: int |3x - 1| = 1/6 + 2/3, int (3x - 1)^2 = 1, max |3x - 1| = 2."""
    f, g = three_x_and_one
    out = ok_json(runner, "distance", f, g, "--domain", "0", "1", "--metric", metric)
    assert out["value"] == value and out["metric"] == metric
    assert q(out["value"]) == distance(pwl.load(f), pwl.load(g), (0, 1), metric)
    assert out["domain"] == ["0", "1"]


def test_distance_text_and_default_metric(runner: CliRunner, three_x_and_one) -> None:
    f, g = three_x_and_one
    result = run(runner, "distance", f, g, "--domain", "0", "1")
    assert result.exit_code == 0
    assert "5/6" in result.stdout and "l1" in result.stdout


def test_distance_on_the_whole_line(runner: CliRunner, tmp_path: Path, three_x_and_one) -> None:
    hat = write_net(tmp_path / "hat.json", [
        {"weights": [[1], [1], [1]], "bias": [0, -1, -2]},
        {"weights": [[1, -2, 1]], "bias": [0], "activation": "identity"}])
    zero = write_net(tmp_path / "zero.json", [{"weights": [[0]], "bias": [0], "activation": "identity"}])
    assert ok_json(runner, "distance", hat, zero)["value"] == "1"
    f, _ = three_x_and_one
    result = run(runner, "distance", hat, f)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "infinite" in result.stderr


# -- pwl separation ---------------------------------------------------------------------
def test_separation_depth_4_width_2(runner: CliRunner) -> None:
    out = ok_json(runner, "separation", "--depth", "4", "--width", "2")["rows"][0]
    r = separation(4, 2)
    assert out["pieces_competitor"] == r.kappa_g == 2
    assert q(out["l1"]) == r.l1 and out["holds"] is True
    assert q(out["l1"]) >= q(out["bound_sharp"]) >= q(out["bound_lecture"]) >= 0
    assert q(out["bound_lecture"]) == 1 - Fraction(out["pieces_competitor"], 16)


def test_separation_sweep(runner: CliRunner) -> None:
    out = ok_json(runner, "separation", "--depth", "4", "--sweep", "--competitor", "lstsq")
    rows = out["rows"]
    assert [r["width"] for r in rows] == [1, 2, 4, 8, 16]
    for row in rows:
        r = separation(4, row["width"], name="lstsq")
        assert row["holds"] is True and q(row["l1"]) == r.l1 and row["pieces_competitor"] == r.kappa_g
    assert q(rows[-1]["l1"]) == 0  # 16 knots: the exact function
    l1s = [q(r["l1"]) for r in rows]
    assert l1s == sorted(l1s, reverse=True)  # nested knots, so never worse


@pytest.mark.parametrize("depth,eps,layers", [(4, "1/2", 1), (6, "1/4", 1), (5, "1", 2)])
def test_separation_epsilon(runner: CliRunner, depth: int, eps: str, layers: int) -> None:
    out = ok_json(runner, "separation", "--depth", str(depth), "--epsilon", eps,
                  "--layers", str(layers))
    n = out["min_width"]
    assert n == min_width(depth, q(eps), layers)

    def allowed(w: int) -> bool:
        kappa_max = min(2**layers * w**layers, (w + 1) ** layers)
        return 2 * (1 - Fraction(kappa_max, 2**depth)) <= q(eps)

    assert allowed(n) and (n == 1 or not allowed(n - 1))
    if (depth, eps, layers) == (4, "1/2", 1):
        assert n == 11


@pytest.mark.parametrize("competitor", ["interp", "lstsq", "random", "trained"])
def test_saved_competitor_distance_matches_the_report(runner: CliRunner, tmp_path: Path,
                                                      competitor: str) -> None:
    g = str(tmp_path / "g.json")
    f = str(tmp_path / "f.json")
    whole = ok_json(runner, "separation", "--depth", "4", "--width", "3", "--competitor",
                    competitor, "--steps", "10", "--seed", "7", "--save-competitor", g)
    assert whole["saved"] == g
    out = whole["rows"][0]
    ok_json(runner, "telgarsky", "--depth", "4", "--scale", "16", "--save", f)
    d = ok_json(runner, "distance", f, g, "--domain", "0", "1")
    assert d["value"] == out["l1"]
    assert ok_json(runner, "count", g, "--domain", "0", "1")["pieces"] == out["pieces_competitor"]


def test_separation_without_a_width_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, "separation", "--depth", "4")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--width" in result.stderr


# -- bad input ---------------------------------------------------------------------
GOOD_HIDDEN = {"weights": [[1], [2]], "bias": [0, 0]}
BAD_FILES = {
    "malformed": ('{"layers": [', "malformed JSON at line 1"),
    "shape": (json.dumps({"layers": [GOOD_HIDDEN, {"weights": [[1, 2, 3]], "bias": [0],
                                                   "activation": "identity"}]}),
              "layers[1].weights"),
    "bias_length": (json.dumps({"layers": [{"weights": [[1]], "bias": [0, 1]}]}),
                    "layers[0].bias"),
    "null_weight": (json.dumps({"layers": [{"weights": [[None]], "bias": [0]}]}),
                    "layers[0].weights[0][0]"),
    "bool_weight": (json.dumps({"layers": [{"weights": [[True]], "bias": [0]}]}),
                    "layers[0].weights[0][0]"),
    "nested_weight": (json.dumps({"layers": [{"weights": [[[1]]], "bias": [0]}]}),
                      "layers[0].weights[0][0]"),
    "nan": ('{"layers": [{"weights": [[NaN]], "bias": [0]}]}', "NaN"),
    "infinity": ('{"layers": [{"weights": [[1]], "bias": [-Infinity]}]}', "Infinity"),
    "abc": (json.dumps({"layers": [{"weights": [["abc"]], "bias": [0]}]}),
            "layers[0].weights[0][0]: 'abc'"),
    "zero_denominator": (json.dumps({"layers": [{"weights": [["1/0"]], "bias": [0]}]}),
                         "layers[0].weights[0][0]"),
    "activation": (json.dumps({"layers": [{"weights": [[1]], "bias": [0],
                                           "activation": "swish"}]}), "'swish'"),
    "empty_layers": (json.dumps({"layers": []}), "layers"),
    "no_layers": (json.dumps({"format": "pwl-network/1"}), "layers"),
    "not_an_object": ("[1, 2, 3]", ""),
}


@pytest.mark.parametrize("command", ["count", "bound"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_network_file(runner: CliRunner, tmp_path: Path, command: str, name: str) -> None:
    text, place = BAD_FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    result = run(runner, command, str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pwl: error: ")
    assert str(path) in lines[0] and place in lines[0]


def test_bad_second_file_of_distance_is_named(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": [')
    result = run(runner, "distance", IDENTITY, str(bad))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and str(bad) in result.stderr


# (arguments, exit status, text the one line must contain)
BAD_ARGS = [
    (["count", TELGARSKY3, "--domain", "1", "0"], 1, "domain"),
    (["count", TELGARSKY3, "--domain", "1", "1"], 1, "domain"),
    (["count", TELGARSKY3, "--domain", "a", "1"], 2, "'a'"),
    (["count", TELGARSKY3, "--domain", "0"], 2, "--domain"),
    (["count", "no-such-file.json"], 1, "no such file"),
    (["count", TELGARSKY3, "--output", "5"], 1, "output 5"),
    (["count", TELGARSKY3, "--output", "-1"], 2, "--output"),
    (["count", TELGARSKY3, "--method", "guess"], 2, "guess"),
    (["count", TELGARSKY3, "--method", "compose", "--breakpoints"], 1, "enumerate"),
    (["distance", TELGARSKY3, IDENTITY, "--metric", "l3"], 2, "l3"),
    (["telgarsky", "--depth", "0"], 2, "--depth"),
    (["telgarsky", "--depth", "3", "--scale", "0.1.2"], 2, "0.1.2"),
    (["separation", "--depth", "4", "--width", "0"], 2, "--width"),
    (["separation", "--depth", "4", "--epsilon", "-1/2"], 1, "epsilon"),
    (["frobnicate"], 2, "frobnicate"),
]


@pytest.mark.parametrize("args,status,text", BAD_ARGS,
                         ids=[" ".join(Path(v).name if v.endswith(".json") else v for v in a)
                              for a, _, _ in BAD_ARGS])
def test_bad_arguments(runner: CliRunner, args: list, status: int, text: str) -> None:
    result = run(runner, *args)
    assert result.exit_code == status
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert text in lines[0]


def test_help_and_version(runner: CliRunner) -> None:
    for command in ("count", "bound", "distance", "telgarsky", "separation"):
        result = run(runner, command, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout
    result = run(runner, "--version")
    assert result.exit_code == 0 and "0.1.0" in result.stdout
