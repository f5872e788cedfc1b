"""Bad input through the command line, one table per kind of error.

Whatever file and whatever arguments a user gives, pwl answers exactly or
refuses clearly: one short line on stderr that names the file and the place
in it (layer, row, node) where there is one, exit status 1 for bad input and
2 for bad usage, nothing on stdout, never a traceback, and never a partial
or temporary file left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Union

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from cli_helpers import run as invoke

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TELGARSKY3 = str(EXAMPLES / "telgarsky-3.json")
IDENTITY = str(EXAMPLES / "identity-relu.json")

#: A refusal is a line a person reads, not an echo of a megabyte of input.
MAX_LINE = 500
#: Huge numbers are refused (or answered) within this many seconds.
QUICK = 2.0

MILLION_DIGITS = "1" * 10**6

#: Commands of this build (others are being added alongside these tests).
COMMANDS = set(cli.commands)  # type: ignore[attr-defined]




def assert_refused(result: Result, status: Union[int, tuple[int, ...]], *names: str) -> str:
    """One short line on stderr containing every one of ``names``, nothing on
    stdout, exit ``status``; returns the line."""
    statuses = (status,) if isinstance(status, int) else status
    assert result.exit_code in statuses, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout[:MAX_LINE]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:2000]
    line = lines[0]
    assert line.startswith(("pwl: error: ", "pwl: usage error: ")), line[:MAX_LINE]
    assert "internal error" not in line
    assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:MAX_LINE]}..."
    for name in names:
        assert name in line, (name, line)
    return line


def layers(*specs: Any) -> str:
    return json.dumps({"format": "pwl-network/1", "layers": list(specs)})


def nodes(*specs: Any, **extra: Any) -> str:
    return json.dumps({"format": "pwl-network/1", "nodes": list(specs), **extra})


X = {"name": "x", "op": "input", "size": 1}
H = {"name": "h", "op": "dense", "inputs": ["x"], "weights": [[1], [-1]], "bias": [0, 0]}


def check_bad_file(runner: CliRunner, tmp_path: Path, name: str, content: Union[str, bytes],
                   places: tuple[str, ...], suffix: str = ".json") -> None:
    """Every command that reads a network refuses the file, naming it and
    ``places``, with exit 1; ``distance`` names the bad one of its two files."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / f"{name.replace(' ', '_')}{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    commands = [["count", str(path)], ["count", str(path), "--domain", "0", "1"],
                ["bound", str(path)], ["distance", IDENTITY, str(path), "--domain", "0", "1"],
                ["distance", str(path), IDENTITY, "--domain", "0", "1"]]
    if "export" in COMMANDS:
        commands.append(["export", str(path), "--to", "json"])
    if "plot" in COMMANDS:
        commands.append(["plot", str(path), "-o", str(tmp_path / "figure.png")])
    for args in commands:
        assert_refused(invoke(runner, *args), 1, str(path), *places)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# -- wrong shapes ----------------------------------------------------------------------
SHAPES = {
    "bias longer than the layer": (layers({"weights": [[1]], "bias": [0, 1]}),
                                   ("layers[0].bias",)),
    "bias shorter than the layer": (layers({"weights": [[1], [2]], "bias": [0]}),
                                    ("layers[0].bias",)),
    "rows of different lengths": (layers({"weights": [[1, 2], [1]], "bias": [0, 0]}),
                                  ("layers[0].weights[1]",)),
    "layers that do not chain": (layers({"weights": [[1], [2]], "bias": [0, 0]},
                                        {"weights": [[1, 2, 3]], "bias": [0]}),
                                 ("layers[1].weights",)),
    "weights a number": (layers({"weights": 3, "bias": [0]}), ("layers[0].weights",)),
    "weights a string": (layers({"weights": "[[1]]", "bias": [0]}), ("layers[0].weights",)),
    "weights an object": (layers({"weights": {"0": [1]}, "bias": [0]}),
                          ("layers[0].weights",)),
    "a row that is a number": (layers({"weights": [1], "bias": [0]}),
                               ("layers[0].weights[0]",)),
    "an empty row": (layers({"weights": [[]], "bias": [0]}), ("layers[0].weights[0]",)),
    "no rows": (layers({"weights": [], "bias": []}), ("layers[0].weights",)),
    "an entry nested too deep": (layers({"weights": [[[1]]], "bias": [0]}),
                                 ("layers[0].weights[0][0]",)),
    "bias a number": (layers({"weights": [[1]], "bias": 0}), ("layers[0].bias",)),
    "a layer that is a number": (layers(5), ("layers[0]",)),
    "layers an object": (json.dumps({"layers": {"weights": [[1]], "bias": [0]}}), ("layers",)),
    "missing weights": (layers({"bias": [0]}), ("layers[0]", "weights")),
    "a misspelt key": (layers({"weights": [[1]], "bias": [0], "activaton": "relu"}),
                       ("layers[0]", "activaton")),
    "a dense node of the wrong width": (
        nodes(X, H, {"name": "y", "op": "dense", "inputs": ["h"], "weights": [[1]]}),
        ("node 'y'",)),
    "an add of different sizes": (nodes(X, H, {"name": "y", "op": "add", "inputs": ["x", "h"]}),
                                  ("node 'y'",)),
    "a group index out of range": (
        nodes(X, H, {"name": "y", "op": "maxgroup", "inputs": ["h"], "groups": [[0, 5]]}),
        ("node 'y'.groups[0]",)),
    "a dense node with two inputs": (
        nodes(X, H, {"name": "y", "op": "dense", "inputs": ["x", "h"], "weights": [[1]]}),
        ("node 'y'",)),
    "inputs a string": (nodes(X, {"name": "y", "op": "add", "inputs": "x"}),
                        ("node 'y'.inputs",)),
    "an input name that is a list": (nodes(X, {"name": "y", "op": "add", "inputs": [["x"]]}),
                                     ("node 'y'",)),
    "an input size of zero": (nodes({"name": "x", "op": "input", "size": 0}, H), ("node 'x'",)),
    "nodes an object": (json.dumps({"nodes": {"x": X}}), ("nodes",)),
    "a node without a name": (nodes({"op": "input"}), ("nodes[0]",)),
    "a duplicate node name": (nodes(X, dict(H, name="x")), ("nodes[1]", "'x'")),
    "an unknown output node": (nodes(X, H, output="y"), ("output", "'y'")),
    "an unknown input node": (nodes(X, dict(H, inputs=["z"])), ("node 'h'", "'z'")),
    "not an object": ("[1, 2, 3]", ()),
    "a wrong format tag": (json.dumps({"format": "keras/2", "layers": []}), ("format",)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_wrong_shapes(runner: CliRunner, tmp_path: Path, name: str) -> None:
    content, places = SHAPES[name]
    check_bad_file(runner, tmp_path, name, content, places)


# -- NaN and infinities --------------------------------------------------------------
NON_FINITE = {
    "NaN in a weight": ('{"layers": [{"weights": [[NaN]], "bias": [0]}]}',
                        ("layers[0].weights[0][0]", "NaN")),
    "Infinity in a bias": ('{"layers": [{"weights": [[1]], "bias": [Infinity]}]}',
                           ("layers[0].bias[0]", "Infinity")),
    "-Infinity in a weight": ('{"layers": [{"weights": [[1], [-Infinity]], "bias": [0, 0]}]}',
                              ("layers[0].weights[1][0]", "Infinity")),
    "the string NaN": (layers({"weights": [["NaN"]], "bias": [0]}), ("layers[0].weights[0][0]",)),
    "the string nan": (layers({"weights": [[1]], "bias": ["nan"]}), ("layers[0].bias[0]",)),
    "the string inf": (layers({"weights": [["inf"]], "bias": [0]}), ("layers[0].weights[0][0]",)),
    "the string -Infinity": (layers({"weights": [[1]], "bias": ["-Infinity"]}),
                             ("layers[0].bias[0]",)),
    "the string +inf with spaces": (layers({"weights": [[" +inf "]], "bias": [0]}),
                                    ("layers[0].weights[0][0]",)),
    "NaN as leaky_relu's alpha": (
        '{"layers": [{"weights": [[1]], "bias": [0], "activation": "leaky_relu", "alpha": NaN}]}',
        ("layers[0]", "alpha")),
    "Infinity as hardtanh's max": (
        '{"layers": [{"weights": [[1]], "bias": [0], "activation": "hardtanh", "max": Infinity}]}',
        ("layers[0]",)),
    "NaN in a dense node": (
        '{"nodes": [{"name": "x", "op": "input"}, {"name": "h", "op": "dense", '
        '"inputs": ["x"], "weights": [[NaN]]}]}', ("node 'h'",)),
}


@pytest.mark.parametrize("name", sorted(NON_FINITE))
def test_nan_and_infinity(runner: CliRunner, tmp_path: Path, name: str) -> None:
    content, places = NON_FINITE[name]
    check_bad_file(runner, tmp_path, name, content, places)


# -- things that are not numbers -------------------------------------------------------
NOT_NUMBERS = [None, "abc", {}, [], "", " ", "1/0", "0x10", "1e", "1/2/3", "1.2.3", "½", "--1",
               "1_000", "1,5", "3j", "e5", ".", "/2", "1/-2"]


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=[repr(v) for v in NOT_NUMBERS])
def test_non_numbers(runner: CliRunner, tmp_path: Path, value: Any) -> None:
    content = layers({"weights": [[1], [value]], "bias": [0, 0]})
    check_bad_file(runner, tmp_path, "value", content, ("layers[0].weights[1][0]",))


# -- booleans ------------------------------------------------------------------------
BOOLEANS = {
    "a weight": (layers({"weights": [[True]], "bias": [0]}), ("layers[0].weights[0][0]",)),
    "a bias": (layers({"weights": [[1]], "bias": [False]}), ("layers[0].bias[0]",)),
    "alpha": (layers({"weights": [[1]], "bias": [0], "activation": "leaky_relu",
                      "alpha": True}), ("layers[0]", "alpha")),
    "hardtanh's min": (layers({"weights": [[1]], "bias": [0], "activation": "hardtanh",
                               "min": False}), ("layers[0]",)),
    "an input size": (nodes({"name": "x", "op": "input", "size": True}, H), ("node 'x'",)),
    "a group index": (nodes(X, H, {"name": "y", "op": "maxgroup", "inputs": ["h"],
                                   "groups": [[True, 0]]}), ("node 'y'.groups[0]",)),
}


@pytest.mark.parametrize("name", sorted(BOOLEANS))
def test_booleans(runner: CliRunner, tmp_path: Path, name: str) -> None:
    content, places = BOOLEANS[name]
    check_bad_file(runner, tmp_path, name, content, places)


# -- huge numbers: refused, and quickly --------------------------------------------------
def _weight(literal: str) -> str:
    return '{"layers": [{"weights": [[1], [' + literal + ']], "bias": [0, 0]}]}'


HUGE_IN_FILES = {
    "a 10^6-digit integer literal": _weight(MILLION_DIGITS),
    "a 10^6-digit negative integer literal": _weight("-" + MILLION_DIGITS),
    "a 10^6-digit integer string": _weight(f'"{MILLION_DIGITS}"'),
    "the literal 1e999999": _weight("1e999999"),
    "the string 1e999999": _weight('"1e999999"'),
    "the literal -1.5e-999999": _weight("-1.5e-999999"),
    "a 10^6-digit decimal literal": _weight("0." + "0" * 10**6 + "1"),
    "a 10^6-digit denominator": _weight(f'"1/{MILLION_DIGITS}"'),
    "an exponent of 10^6 digits": _weight("1e" + MILLION_DIGITS),
}


@pytest.mark.parametrize("name", sorted(HUGE_IN_FILES))
def test_huge_numbers_in_files(runner: CliRunner, tmp_path: Path, name: str) -> None:
    path = tmp_path / "huge.json"
    path.write_text(HUGE_IN_FILES[name])
    start = time.perf_counter()
    result = invoke(runner, "count", str(path))
    seconds = time.perf_counter() - start
    assert_refused(result, 1, str(path), "layers[0].weights[1][0]")
    assert seconds < QUICK, f"{seconds:.1f} s"


# (arguments, accepted exit statuses): refused (or, for a budget, answered) quickly
HUGE_IN_ARGUMENTS = [
    (["count", TELGARSKY3, "--domain", "0", "1e999999"], (2,)),
    (["count", TELGARSKY3, "--domain", "-" + MILLION_DIGITS, "0"], (2,)),
    (["count", TELGARSKY3, "--domain", "0", "1e" + MILLION_DIGITS], (2,)),
    (["count", TELGARSKY3, "--output", MILLION_DIGITS], (1, 2)),
    (["count", TELGARSKY3, "--line", "[1e999999]", "[1]"], (1,)),
    (["count", TELGARSKY3, "--line", f"[{MILLION_DIGITS}]", "[1]"], (1,)),
    (["count", TELGARSKY3, "--line", "[0]", f'["{MILLION_DIGITS}"]'], (1,)),
    (["count", TELGARSKY3, "--max-memory", "1e999999"], (0, 1, 2)),
    (["count", TELGARSKY3, "--max-memory", "1e9999999"], (0, 1, 2)),
    (["count", TELGARSKY3, "--max-memory", MILLION_DIGITS], (0, 1, 2)),
    (["count", TELGARSKY3, "--workers", MILLION_DIGITS], (2,)),
    (["telgarsky", "--depth", "3", "--scale", "1e999999"], (2,)),
    (["telgarsky", "--depth", MILLION_DIGITS], (2,)),
    (["separation", "--depth", "3", "--epsilon", "-1e999999"], (1, 2)),
    (["separation", "--depth", "3", "--width", MILLION_DIGITS], (1, 2)),
    (["bench", "growth", "--max-depth", "2", "--domain", "0", "1e999999"], (2,)),
]


@pytest.mark.parametrize("args,statuses", HUGE_IN_ARGUMENTS,
                         ids=[" ".join(a if len(a) < 20 else a[:12] + "..." for a in args[2:]
                                       if not a.endswith(".json")) or args[0]
                              for args, _ in HUGE_IN_ARGUMENTS])
def test_huge_numbers_in_arguments(runner: CliRunner, args: list, statuses: tuple) -> None:
    start = time.perf_counter()
    result = invoke(runner, *args)
    seconds = time.perf_counter() - start
    if result.exit_code != 0 or 0 not in statuses:
        assert_refused(result, statuses)
    assert seconds < QUICK, f"{seconds:.1f} s"


def test_long_exact_results_are_answered_or_refused(runner: CliRunner, tmp_path: Path) -> None:
    """Weights of 4000 digits are accepted; a breakpoint or a distance made
    of two of them has 8000, beyond what Python turns into text by default.
    pwl prints it exactly or refuses it, and never half-prints it."""
    n, d = "9" * 4000, "7" * 4000
    path = tmp_path / "long.json"
    path.write_text(layers({"weights": [[1]], "bias": [0]},
                           {"weights": [[n]], "bias": [f"-1/{d}"]},
                           {"weights": [[n]], "bias": [0], "activation": "identity"}))
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit:  # the expected text, with Python's limit lifted for this line only
        sys.set_int_max_str_digits(0)
    try:
        breakpoint_text = f"1/{int(n) * int(d)}"
    finally:
        if limit:
            sys.set_int_max_str_digits(limit)
    cases = [(["count", str(path), "--json", "--breakpoints"], breakpoint_text),
             (["count", str(path), "--breakpoints"], breakpoint_text),
             (["distance", IDENTITY, str(path), "--domain", "0", "1", "--json"], None)]
    if "export" in COMMANDS:
        cases += [(["export", str(path), "--to", "csv"], None),
                  (["export", str(path), "--to", "json"], n)]
    for args, expected in cases:
        result = invoke(runner, *args)
        if result.exit_code == 0:
            assert expected is None or expected in result.stdout, args
        else:
            assert_refused(result, 1)


def test_huge_depth_is_answered_or_refused_quickly() -> None:
    """``pwl telgarsky --depth 1000`` has 2^1000 pieces: pwl must count them
    without listing them, or refuse, rather than fill the memory.  Run in a
    child process with 2 GiB of address space and a time limit, so that a
    failure cannot take the test run down with it."""
    pytest.importorskip("resource")  # POSIX only
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31))\n"
            "from cli.main import cli\n"
            "cli(sys.argv[1:], prog_name='pwl')\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    try:
        proc = subprocess.run([sys.executable, "-c", code, "telgarsky", "--depth", "1000"],
                              capture_output=True, text=True, timeout=10, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("pwl telgarsky --depth 1000 neither answered nor refused within 10 s")
    assert "Traceback" not in proc.stdout + proc.stderr
    if proc.returncode == 0:
        assert "1000" in proc.stdout
    else:
        assert proc.returncode in (1, 2) and proc.stdout == ""
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "out of memory" not in proc.stderr, "refused only after filling the memory"


# -- activations and node kinds that do not exist ------------------------------------------
UNKNOWN_ACTIVATIONS = ["swish", "", "relu ", "gelu", "softmax", 5, None, ["relu"], {"name": "relu"}]


@pytest.mark.parametrize("activation", UNKNOWN_ACTIVATIONS,
                         ids=[repr(a) for a in UNKNOWN_ACTIVATIONS])
def test_unknown_activations(runner: CliRunner, tmp_path: Path, activation: Any) -> None:
    check_bad_file(runner, tmp_path / "layer", "act",
                   layers({"weights": [[1]], "bias": [0], "activation": activation}),
                   ("layers[0]", "activation"))
    check_bad_file(runner, tmp_path / "node", "act",
                   nodes(X, {"name": "a", "op": "activation", "inputs": ["x"],
                             "activation": activation}), ("node 'a'", "activation"))


def test_activation_parameters_that_do_not_belong(runner: CliRunner, tmp_path: Path) -> None:
    check_bad_file(runner, tmp_path, "param",
                   layers({"weights": [[1]], "bias": [0], "activation": "relu", "alpha": 1}),
                   ("layers[0]", "alpha"))


UNKNOWN_OPS = ["conv", "", "Dense", "lstm", 5, None, ["dense"]]


@pytest.mark.parametrize("op", UNKNOWN_OPS, ids=[repr(o) for o in UNKNOWN_OPS])
def test_unknown_node_ops(runner: CliRunner, tmp_path: Path, op: Any) -> None:
    check_bad_file(runner, tmp_path, "op",
                   nodes(X, {"name": "a", "op": op, "inputs": ["x"], "weights": [[1]]}),
                   ("node 'a'", "op"))


# -- cycles in a graph -----------------------------------------------------------------------
def _add(name: str, *inputs: str) -> dict[str, Any]:
    return {"name": name, "op": "add", "inputs": list(inputs)}


CYCLES = {
    "a node reading itself": nodes(X, _add("a", "x", "a")),
    "two nodes reading each other": nodes(X, _add("a", "x", "b"), _add("b", "a")),
    "a cycle of three dense nodes": nodes(
        X, {"name": "a", "op": "dense", "inputs": ["c"], "weights": [[1]]},
        {"name": "b", "op": "dense", "inputs": ["a"], "weights": [[1]]},
        {"name": "c", "op": "dense", "inputs": ["b"], "weights": [[1]]}),
    "a cycle away from the output": nodes(X, _add("a", "b"), _add("b", "a"), _add("y", "x")),
}


@pytest.mark.parametrize("name", sorted(CYCLES))
def test_cycles(runner: CliRunner, tmp_path: Path, name: str) -> None:
    check_bad_file(runner, tmp_path, name, CYCLES[name], ("nodes", "cycle"))


# -- empty networks and empty files --------------------------------------------------------
EMPTY_NETWORKS = {
    "no layers": (json.dumps({"layers": []}), ("layers",)),
    "no nodes": (json.dumps({"nodes": []}), ("nodes",)),
    "an empty object": ("{}", ("layers",)),
    "only the format": (json.dumps({"format": "pwl-network/1"}), ("layers",)),
    "only an input node": (nodes(X), ("nodes",)),
    "no input node": (nodes({"name": "h", "op": "dense", "inputs": [], "weights": [[1]]}),
                      ("node 'h'",)),
    "null layers": (json.dumps({"layers": None}), ("layers",)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_NETWORKS))
def test_empty_networks(runner: CliRunner, tmp_path: Path, name: str) -> None:
    content, places = EMPTY_NETWORKS[name]
    check_bad_file(runner, tmp_path, name, content, places)


EMPTY_FILES = {"empty": "", "blank": " \n\t\n", "a newline": "\n", "a byte-order mark": "\ufeff",
               "null": "null", "a number": "0", "a string": '"layers"', "true": "true",
               "an empty list": "[]"}


@pytest.mark.parametrize("name", sorted(EMPTY_FILES))
def test_empty_files(runner: CliRunner, tmp_path: Path, name: str) -> None:
    check_bad_file(runner, tmp_path, name, EMPTY_FILES[name], ())


# -- binary garbage ---------------------------------------------------------------------------
GARBAGE = {
    "NUL bytes": b"\x00" * 64,
    "every byte": bytes(range(256)),
    "a PNG header": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "a gzip header": b"\x1f\x8b\x08\x00" + bytes(32),
    "a zip header": b"PK\x03\x04" + bytes(40),
    "UTF-16 JSON": layers({"weights": [[1]], "bias": [0]}).encode("utf-16"),
    "Latin-1 text": '{"layers": [{"weights": [["é"]]}]}'.encode("latin-1"),
    "valid JSON then garbage": layers({"weights": [[1]], "bias": [0]}).encode() + b"\xff\x00",
    "truncated JSON": layers({"weights": [[1]], "bias": [0]})[:25].encode(),
    "JSON nested 10^5 deep": b"[" * 10**5 + b"]" * 10**5,
}


@pytest.mark.parametrize("suffix", [".json", ".npz", ".onnx", ".pt", ".bin", ""])
@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_binary_garbage(runner: CliRunner, tmp_path: Path, name: str, suffix: str) -> None:
    check_bad_file(runner, tmp_path, name, GARBAGE[name], (), suffix=suffix)


# -- directories ------------------------------------------------------------------------------
def test_directories(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "net.json"
    folder.mkdir()
    for args in (["count", str(folder)], ["bound", str(folder)],
                 ["distance", IDENTITY, str(folder)], ["distance", str(folder), IDENTITY],
                 ["count", str(tmp_path)]):
        assert_refused(invoke(runner, *args), (1, 2), "directory")
    for args in (["telgarsky", "--depth", "2", "--save", str(folder)],
                 ["separation", "--depth", "2", "--width", "2", "--save-competitor", str(folder)],
                 ["bench", "growth", "--max-depth", "2", "--csv", str(folder)]):
        assert_refused(invoke(runner, *args), (1, 2), str(folder))
    assert list(folder.iterdir()) == []


def test_missing_files(runner: CliRunner, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    for args in (["count", missing], ["bound", missing], ["distance", IDENTITY, missing],
                 ["count", TELGARSKY3, "--line", str(tmp_path / "a.npy"), "[1]"]):
        assert_refused(invoke(runner, *args), (1, 2), str(tmp_path))


# -- domains ------------------------------------------------------------------------------------
BAD_DOMAINS = [
    (["1", "0"], 1, "domain"), (["1", "1"], 1, "domain"), (["1/2", "0.5"], 1, "domain"),
    (["nan", "1"], 2, "'nan'"), (["0", "inf"], 2, "'inf'"), (["-Infinity", "0"], 2, "--domain"),
    (["", "1"], 2, "--domain"), (["1/0", "1"], 2, "'1/0'"), (["a", "1"], 2, "'a'"),
    (["0", "1e"], 2, "--domain"), (["0x1", "2"], 2, "--domain"), (["true", "2"], 2, "--domain"),
    (["[0]", "2"], 2, "--domain"), (["0"], 2, "--domain"),
]


@pytest.mark.parametrize("ends,status,text", BAD_DOMAINS,
                         ids=[" ".join(repr(e) for e in ends) for ends, _, _ in BAD_DOMAINS])
def test_bad_domains(runner: CliRunner, ends: list, status: int, text: str) -> None:
    for args in (["count", TELGARSKY3], ["bound", TELGARSKY3],
                 ["distance", TELGARSKY3, IDENTITY],
                 ["bench", "growth", "--max-depth", "2"]):
        assert_refused(invoke(runner, *args, "--domain", *ends), status, text)


# -- contradictory options ------------------------------------------------------------------------
CONTRADICTIONS = [
    ["count", TELGARSKY3, "--method", "compose", "--breakpoints"],
    ["count", TELGARSKY3, "--method", "compose", "--per-layer"],
    ["count", IDENTITY, "--method", "compose"],             # no rank-1 layer to compose through
    ["count", TELGARSKY3, "--output", "all", "--breakpoints"],
    ["count", TELGARSKY3, "--output", "all", "--per-layer"],
    ["separation", "--depth", "3", "--sweep", "--save-competitor", "{tmp}/g.json"],
    ["separation", "--depth", "3", "--epsilon", "1/2", "--save-competitor", "{tmp}/g.json"],
    ["bench", "growth", "--min-depth", "3", "--max-depth", "2"],
]


@pytest.mark.parametrize("args", CONTRADICTIONS,
                         ids=[" ".join(a for a in args if not a.endswith(".json"))
                              for args in CONTRADICTIONS])
def test_contradictory_options(runner: CliRunner, tmp_path: Path, args: list) -> None:
    """Options that cannot all be honoured are refused, not silently dropped."""
    result = invoke(runner, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert_refused(result, (1, 2))
    assert list(tmp_path.iterdir()) == []


# -- --line points ------------------------------------------------------------------------------
BAD_LINES = [
    (["[0, 1]", "[1, 2]"], "a"), (["[0]", "[1, 2]"], "b"), (["[]", "[]"], "a"),
    (["abc", "[1]"], "--line A"), (["[1, 2", "[1]"], "--line A"), (["[0]", ""], "--line B"),
    (["[NaN]", "[1]"], "a[0]"), (["[0]", "[Infinity]"], "b[0]"), (["[0]", '["inf"]'], "b[0]"),
    (["[true]", "[1]"], "a[0]"), (["[null]", "[1]"], "a[0]"), (['["x"]', "[1]"], "a[0]"),
    (["[[0]]", "[1]"], "a[0]"), (['{"a": 1}', "[1]"], "a"), (["[0]", "[0]"], "same point"),
    (["[1/2]", "[1]"], "--line A"), (["[0]", "[1e999999]"], "b[0]"),
]


@pytest.mark.parametrize("points,text", BAD_LINES,
                         ids=[" ".join(p) or "empty" for p, _ in BAD_LINES])
def test_bad_line_points(runner: CliRunner, points: list, text: str) -> None:
    assert_refused(invoke(runner, "count", TELGARSKY3, "--line", *points), 1, text)


def test_bad_line_files(runner: CliRunner, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "nan.npy", np.array([float("nan")]))
    np.save(tmp_path / "text.npy", np.array(["a"]))
    np.save(tmp_path / "two.npy", np.array([0.0, 1.0]))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp_path / "pickle.npy").write_bytes(b"\x80\x04K\x01.")
    for name, text in (("nan.npy", "nan.npy"), ("text.npy", "text.npy"), ("two.npy", "a"),
                       ("garbage.npy", "garbage.npy"), ("pickle.npy", "pickle.npy"),
                       ("missing.npy", "missing.npy")):
        assert_refused(invoke(runner, "count", TELGARSKY3, "--line",
                              str(tmp_path / name), "[1]"), 1, text)
    assert_refused(invoke(runner, "count", TELGARSKY3, "--line", "[0]"), 2, "--line")


# -- --max-memory and --workers ------------------------------------------------------------------
BAD_SIZES = ["abc", "0", "0G", "-1G", "-1", "1X", "", " ", "nan", "inf", "1/0", "G", "KB", "1e",
             "2G2", "0.5", "1e-999999", "0x10"]


@pytest.mark.parametrize("size", BAD_SIZES, ids=[repr(s) for s in BAD_SIZES])
def test_bad_max_memory(runner: CliRunner, size: str) -> None:
    """Sizes that are not a positive number of bytes (at least one byte) are refused."""
    start = time.perf_counter()
    result = invoke(runner, "count", TELGARSKY3, "--max-memory", size)
    assert_refused(result, (1, 2), "size")
    assert time.perf_counter() - start < QUICK


@pytest.mark.parametrize("workers", ["0", "-1", "-99999999999", "x", "1.5", "", "nan"])
def test_bad_workers(runner: CliRunner, workers: str) -> None:
    for method in ("auto", "enumerate"):
        result = invoke(runner, "count", TELGARSKY3, "--method", method, "--workers", workers)
        assert_refused(result, 2, "--workers")


# -- other arguments -------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    (["count", TELGARSKY3, "--output", "x"], 2, "--output"),
    (["count", TELGARSKY3, "--output", "-1"], 2, "--output"),
    (["count", TELGARSKY3, "--output", "1"], 1, "output 1"),
    (["count", TELGARSKY3, "--method", "fast"], 2, "fast"),
    (["bound", TELGARSKY3, "--output", "3"], 1, "output 3"),
    (["distance", TELGARSKY3, IDENTITY, "--metric", "l7"], 2, "l7"),
    (["distance", TELGARSKY3], 2, "G"),
    (["telgarsky"], 2, "--depth"),
    (["telgarsky", "--depth", "-1"], 2, "--depth"),
    (["telgarsky", "--depth", "2", "--scale", "nan"], 2, "--scale"),
    (["separation", "--depth", "0", "--width", "2"], 2, "--depth"),
    (["separation", "--depth", "25", "--width", "2"], 2, "--depth"),
    (["separation", "--depth", "3", "--width", "2", "--competitor", "magic"], 2, "magic"),
    (["separation", "--depth", "3", "--width", "2", "--steps", "0"], 2, "--steps"),
    (["separation", "--depth", "3", "--width", "2", "--layers", "0"], 2, "--layers"),
    (["separation", "--depth", "3", "--width", "2", "--seed", "x"], 2, "--seed"),
    (["separation", "--depth", "3", "--width", str(2**21)], 1, "--width"),
    (["bench", "growth", "--family", "hexagon"], 2, "hexagon"),
    (["bench", "growth", "--max-depth", "0"], 2, "--max-depth"),
    (["bench", "growth", "--width", "0"], 2, "--width"),
    (["bench", "frobnicate"], 2, "frobnicate"),
    (["--format", "xml", "count", TELGARSKY3], 2, "xml"),
    (["count", TELGARSKY3, "--frobnicate"], 2, "--frobnicate"),
]


@pytest.mark.parametrize("args,status,text", BAD_ARGUMENTS,
                         ids=[" ".join(a for a in args if not a.endswith(".json"))
                              for args, _, _ in BAD_ARGUMENTS])
def test_bad_arguments(runner: CliRunner, args: list, status: int, text: str) -> None:
    assert_refused(invoke(runner, *args), status, text)


SEEDS = [
    ["separation", "--depth", "3", "--width", "2", "--competitor", "random", "--seed", "-1"],
    ["separation", "--depth", "3", "--width", "2", "--competitor", "trained", "--steps", "3",
     "--seed", "-1"],
    ["separation", "--depth", "3", "--width", "2", "--competitor", "trained", "--steps", "3",
     "--seed", str(2**200)],
    ["bench", "growth", "--family", "random", "--width", "2", "--max-depth", "2", "--seed", "-5"],
    ["bench", "growth", "--family", "random", "--width", "2", "--max-depth", "2",
     "--seed", str(2**200)],
]


@pytest.mark.parametrize("args", SEEDS, ids=[" ".join(a[-6:]) for a in SEEDS])
def test_any_integer_seed_is_answered_or_refused(runner: CliRunner, args: list) -> None:
    result = invoke(runner, *args)
    if result.exit_code != 0:
        assert_refused(result, (1, 2), "--seed")


# -- unwritable outputs: a clear line, and no partial or temporary file ----------------
# (arguments with {out} for the output file, the file's suffix)
SAVES = [
    (["telgarsky", "--depth", "2", "--save", "{out}"], ".json"),
    (["telgarsky", "--depth", "2", "--json", "--save", "{out}"], ".json"),
    (["separation", "--depth", "2", "--width", "2", "--save-competitor", "{out}"], ".json"),
    (["separation", "--depth", "2", "--width", "2", "--json", "--save-competitor", "{out}"],
     ".json"),
    (["bench", "growth", "--max-depth", "2", "--csv", "{out}"], ".csv"),
    (["bench", "growth", "--max-depth", "2", "--json", "--csv", "{out}"], ".csv"),
]
if "export" in COMMANDS:
    SAVES += [(["export", TELGARSKY3, "--to", "json", "-o", "{out}"], ".json"),
              (["export", TELGARSKY3, "--to", "csv", "--domain", "0", "1", "-o", "{out}"], ".csv")]
if "plot" in COMMANDS:
    SAVES += [(["plot", TELGARSKY3, "--domain", "0", "1", "-o", "{out}"], ".png")]
SAVE_IDS = [" ".join(a for a in args[:-1] if not a.endswith(".json")) for args, _ in SAVES]
UNWRITABLE = {
    "in a missing folder": "missing/out",
    "in missing folders": "missing/deeper/out",
    "inside a file": "file.txt/out",
    "an empty path": "",
}


@pytest.mark.parametrize("where", sorted(UNWRITABLE))
@pytest.mark.parametrize("args,suffix", SAVES, ids=SAVE_IDS)
def test_unwritable_outputs(runner: CliRunner, tmp_path: Path, args: list, suffix: str,
                            where: str) -> None:
    if args[0] == "plot":
        pytest.importorskip("matplotlib")
    (tmp_path / "file.txt").write_text("keep me")
    target = str(tmp_path / UNWRITABLE[where]) + suffix if UNWRITABLE[where] else ""
    result = invoke(runner, *(a.replace("{out}", target) for a in args))
    assert_refused(result, (1, 2), *([target] if target else []))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["file.txt"]
    assert (tmp_path / "file.txt").read_text() == "keep me"
    assert not list(Path.cwd().glob("*.tmp"))


@pytest.mark.parametrize("args,suffix", SAVES, ids=SAVE_IDS)
def test_writable_outputs_leave_one_file(runner: CliRunner, tmp_path: Path, args: list,
                                         suffix: str) -> None:
    if args[0] == "plot":
        pytest.importorskip("matplotlib")
    target = tmp_path / f"out{suffix}"
    target.write_text("old")
    result = invoke(runner, *(a.replace("{out}", str(target)) for a in args))
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert target.read_bytes() not in (b"", b"old")
