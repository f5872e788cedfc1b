"""Fuzzing the command line with malformed files and random arguments.

Whatever the file and the arguments, ``pwl`` must answer exactly or refuse
clearly: no traceback, no exception but the exit, exit status 0, 1 or 2, a
``pwl: ...`` line on stderr when it refuses, and a refusal whenever the file
is not a valid network.  When it answers, the answer is checked against the
slow exact reference (:mod:`tests.reference`), so a file that is misread
(a number parsed wrongly, a malformed layer accepted) fails too.

Files are drawn three ways: random JSON trees; valid networks (from
:mod:`tests.strategies`) written with every spelling the format allows;
and such networks mutated so that they are known to be invalid (a key
deleted, an entry of the wrong type, the text truncated, NaN inserted, a
shape broken, a number too large, a stray unicode character), known to stay
valid (rows swapped, activations changed), or either.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Optional

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import cli
from reference import RefNet
from strategies import network_specs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GOOD_FILES = ["telgarsky-3.json", "identity-relu.json", "small-rational.json"]
IDENTITY = str(EXAMPLES / "identity-relu.json")

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def make_runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


RUNNER = make_runner()


def invoke(args: list[str]) -> Result:
    """Run ``pwl ARGS`` and check what holds for any input."""
    result = RUNNER.invoke(cli, args, prog_name="pwl")
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (args, result.exc_info)
    assert "Traceback" not in result.stdout + result.stderr, args
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr[-500:])
    if result.exit_code:
        last = result.stderr.splitlines()[-1] if result.stderr else ""
        assert last.startswith(("pwl: error: ", "pwl: usage error: ")), (args, result.stderr)
    return result


# -- writing JSON with any token ------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A token written into the JSON text as it is: ``NaN``, ``1e999999``, ``0.25``."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    if isinstance(value, Fraction):
        return dump(value.numerator if value.denominator == 1 else str(value))
    return json.dumps(value, ensure_ascii=False)


def parse(text: str) -> Any:
    """The JSON tree as the reference reads it: decimals stay text."""
    return json.loads(text, parse_float=str)


# -- exact numbers, spelt every way the format allows ------------------------------------------


@st.composite
def spellings(draw, q: Fraction) -> Any:
    """``q`` as a JSON integer, a JSON decimal, or a string (``"p/q"``, a
    decimal, an exponent form, with spaces or a plus sign)."""
    forms: list[Any] = [f"{q.numerator}/{q.denominator}", f" {q.numerator} / {q.denominator} "]
    if q.denominator == 1:
        n = q.numerator
        forms += [n, str(n), Raw(f"{n}.0"), Raw(f"{n * 10}e-1"), f"{n}e0",
                  f"+{n}" if n >= 0 else str(n)]
    else:
        d, k = q.denominator, 0
        while d % 2 == 0 or d % 5 == 0:
            d //= 2 if d % 2 == 0 else 5
            k += 1
        if d == 1:  # a finite decimal
            scaled = q * 10**k
            digits = f"{abs(scaled.numerator):0{k + 1}d}"
            text = ("-" if q < 0 else "") + digits[:-k] + "." + digits[-k:]
            forms += [Raw(text), text, Raw(f"{scaled.numerator}e-{k}")]
    return draw(st.sampled_from(forms))


@st.composite
def spelt(draw, spec: list) -> dict:
    """A native file (as a tree) of the network ``spec``."""
    out_layers = []
    for layer in spec:
        d: dict[str, Any] = {"weights": [[draw(spellings(w)) for w in row]
                                         for row in layer["weights"]]}
        if any(layer["bias"]) or draw(st.booleans()):
            d["bias"] = [draw(spellings(b)) for b in layer["bias"]]
        if layer["activation"] != "relu" or draw(st.booleans()):
            d["activation"] = draw(st.sampled_from([layer["activation"],
                                                    layer["activation"].upper()]))
        for key in ("alpha", "min", "max"):
            if key in layer:
                d[key] = draw(spellings(layer[key]))
        out_layers.append(d)
    tree: dict[str, Any] = {"layers": out_layers}
    if draw(st.booleans()):
        tree = {"format": "pwl-network/1", **tree}
    return tree


small_specs = network_specs(max_depth=3, max_width=3, max_outputs=2)

# -- mutations -------------------------------------------------------------------------------------

BAD_ENTRIES = [None, True, False, [], [1], {}, {"n": 1}, "", "abc", "1/0", "0x1", "1..2", "½",
               Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), "NaN", "inf", "-Infinity",
               Raw("1e999999"), Raw("-1e999999"), "1e999999", Raw("1" * 4400),
               Raw("-" + "7" * 5000), "9" * 4100, "1/" + "3" * 4100, Raw("0." + "0" * 4100 + "1"),
               Raw("1e" + "9" * 12), "1e-99999"]
#: Valid numbers far from 1, to be read exactly.
EXTREME_ENTRIES = [Raw("1e-300"), "-1e-300", Raw("-2.5e-120"), Raw("1" + "0" * 300), "-1e300",
                   "7/" + "9" * 60, "123456789" * 10, Raw("0." + "0" * 200 + "3"), "1e4000",
                   Raw("9" * 4000), "-" + "3" * 3999 + "/7"]
BAD_ACTIVATIONS = ["swish", "", "rélu", "ｒｅｌｕ", "relu\u200b", "relu ", None, 1, ["relu"], "tanh"]
VALID_ACTIVATIONS = [{"activation": "relu"}, {"activation": "identity"}, {"activation": "abs"},
                     {"activation": "relu6"}, {"activation": "leaky_relu", "alpha": "1/3"},
                     {"activation": "hardtanh", "min": -2, "max": "1/2"}, {}]


def entry_paths(tree: dict) -> list[tuple]:
    """Paths (layer, key, row[, col]) of every number of the network."""
    paths: list[tuple] = []
    for k, layer in enumerate(tree["layers"]):
        for i, row in enumerate(layer["weights"]):
            paths += [(k, "weights", i, j) for j in range(len(row))]
        paths += [(k, "bias", i) for i in range(len(layer.get("bias", [])))]
    return paths


def put(tree: dict, path: tuple, value: Any) -> None:
    k, key, *idx = path
    target = tree["layers"][k][key]
    for i in idx[:-1]:
        target = target[i]
    target[idx[-1]] = value


@st.composite
def valid_mutation(draw, tree: dict) -> None:
    """Change the network and keep the file valid (in place)."""
    layers = tree["layers"]
    k = draw(st.integers(0, len(layers) - 1))
    layer = layers[k]
    kind = draw(st.sampled_from(["swap_rows", "activation", "drop_bias", "drop_format",
                                 "extreme"]))
    if kind == "swap_rows" and len(layer["weights"]) >= 2:
        i, j = draw(st.integers(0, len(layer["weights"]) - 1)), 0
        layer["weights"][i], layer["weights"][j] = layer["weights"][j], layer["weights"][i]
        if "bias" in layer:
            layer["bias"][i], layer["bias"][j] = layer["bias"][j], layer["bias"][i]
    elif kind == "activation":
        for key in ("activation", "alpha", "min", "max"):
            layer.pop(key, None)
        layer.update(draw(st.sampled_from(VALID_ACTIVATIONS)))
    elif kind == "drop_bias":
        layer.pop("bias", None)
    elif kind == "extreme":
        put(tree, draw(st.sampled_from(entry_paths(tree))), draw(st.sampled_from(EXTREME_ENTRIES)))
    else:
        tree.pop("format", None)


@st.composite
def invalid_mutation(draw, tree: dict) -> Optional[str]:
    """Break the file (in place); returns the text when the break is one of
    the text itself (truncation), else None."""
    layers = tree["layers"]
    k = draw(st.integers(0, len(layers) - 1))
    layer = layers[k]
    kind = draw(st.sampled_from(["delete", "entry", "entry", "truncate", "activation", "key",
                                 "bias_length", "row_length", "extra_row", "container",
                                 "format", "empty"]))
    if kind == "delete":
        victim = draw(st.sampled_from(["layers", "weights"]))
        if victim == "layers":
            del tree["layers"]
        else:
            del layer["weights"]
    elif kind == "entry":
        put(tree, draw(st.sampled_from(entry_paths(tree))), draw(st.sampled_from(BAD_ENTRIES)))
    elif kind == "truncate":
        text = dump(tree)
        return text[:draw(st.integers(0, len(text) - 1))]
    elif kind == "activation":
        for key in ("alpha", "min", "max"):
            layer.pop(key, None)
        layer["activation"] = draw(st.sampled_from(BAD_ACTIVATIONS))
    elif kind == "key":
        layer[draw(st.sampled_from(["wéights", "Weights", "bias ", "activations", "α", ""]))] = [1]
    elif kind == "bias_length":
        bias = layer.setdefault("bias", [0] * len(layer["weights"]))
        if draw(st.booleans()) or not bias:
            bias.append(0)
        else:
            bias.pop()
    elif kind == "row_length":
        row = layer["weights"][draw(st.integers(0, len(layer["weights"]) - 1))]
        # one longer row of a one-row first layer is a valid network of two inputs
        if draw(st.booleans()) and (k > 0 or len(layer["weights"]) > 1):
            row.append(1)
        else:
            row.pop()
    elif kind == "extra_row" and k < len(layers) - 1:
        layer["weights"].append(list(layer["weights"][0]))
        if "bias" in layer:
            layer["bias"].append(0)
    elif kind == "extra_row" or kind == "container":
        container = draw(st.sampled_from(["weights", "bias", "layer", "layers"]))
        junk = draw(st.sampled_from([None, 1, "x", {}, True]))
        if container == "layers":
            tree["layers"] = junk if junk != {} else {"weights": [[1]]}
        elif container == "layer":
            layers[k] = junk if junk != {} else []
        else:
            layer[container] = junk if junk is not None else {"0": [1]}
    elif kind == "format":
        tree["format"] = draw(st.sampled_from(["pwl-network/2", "pwl-network/1 ", "PWL-NETWORK/1",
                                               "pwl‐network/1", None, 1, ["pwl-network/1"]]))
    else:
        layer["weights"] = draw(st.sampled_from([[], [[]]]))
    return None


@st.composite
def network_files(draw) -> tuple[str, Optional[bool]]:
    """``(text, invalid)``: ``invalid`` is True when the file is known to be
    invalid, False when known to be valid, None when either may be."""
    how = draw(st.sampled_from(["valid", "invalid", "invalid", "random", "unicode"]))
    if how == "random":
        tree = draw(json_trees)
        known = not isinstance(tree, dict) or not ({"layers", "nodes"} & set(tree))
        return dump(tree), (True if known else None)
    tree = draw(spelt(draw(small_specs)))
    for _ in range(draw(st.integers(0, 2))):
        draw(valid_mutation(tree))
    if how == "valid":
        return dump(tree), False
    if how == "unicode":
        # a unicode character in a place that takes text or a number
        ch = draw(st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF,
                                blacklist_categories=("Cs", "Nd")))
        put(tree, draw(st.sampled_from(entry_paths(tree))), draw(st.sampled_from(
            [ch, "1" + ch, ch + "1", "1/" + ch])))
        # unicode spaces around a number are read as spaces (then checked exactly)
        return dump(tree), (None if ch.isspace() else True)
    truncated = draw(invalid_mutation(tree))
    return (dump(tree) if truncated is None else truncated), True


json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("1e999999"), Raw("0.5"), "relu",
                       "pwl-network/1", "1/2"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["layers", "nodes", "weights", "bias", "activation",
                                       "format", "name", "op", "inputs", "output", "size",
                                       "alpha", "groups"]) | st.text(max_size=4),
                      children, max_size=4),
    max_leaves=20,
)


# -- checking answers against the reference ----------------------------------------------------


def _unspaced(value: Any) -> Any:
    """Numbers as :class:`fractions.Fraction` reads them (no inner spaces)."""
    if isinstance(value, str):
        return "".join(value.split())
    if isinstance(value, list):
        return [_unspaced(v) for v in value]
    return value


def _layer(spec: Any) -> dict:
    """A layer object; ``Network.sequential`` also takes ``[weights, bias, activation]``."""
    if isinstance(spec, list):
        spec = dict(zip(["weights", "bias", "activation"], spec))
    return {k: (v if k == "activation" else _unspaced(v)) for k, v in spec.items()}


def reference_of(text: str) -> Optional[RefNet]:
    """The reference for a file pwl accepted: its layers, or None for a graph."""
    tree = parse(text)
    if "layers" not in tree:
        return None
    return RefNet([_layer(layer) for layer in tree["layers"]])


def domain_of(payload: dict) -> Any:
    d = payload.get("domain")
    return None if d is None else (Fraction(d[0]), Fraction(d[1]))


@contextmanager
def long_integers() -> Iterator[None]:
    """Lift Python's limit on digits in int <-> str conversion, for reading
    an exact answer pwl printed (valid files may hold 4000-digit numbers)."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit:
        sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        if limit:
            sys.set_int_max_str_digits(limit)


def check_count_answer(ref: RefNet, payload: dict, output: int = 0) -> None:
    with long_integers():
        part = ref.partition(domain_of(payload))
        assert payload["pieces"] == part.pieces(output), payload
        assert payload["activation_regions"] == part.activation_regions(), payload
        if payload["breakpoints"] is not None:
            assert [Fraction(b) for b in payload["breakpoints"]] == \
                list(part.breakpoints(output))


# -- the fuzz: malformed and valid files ---------------------------------------------------------


DOMAINS = [[], ["--domain", "0", "1"], ["--domain", "-3/7", "5/2"]]


@FUZZ
@given(network_files(), st.sampled_from(DOMAINS), st.booleans())
def test_network_files(file, domain, listing):
    text, invalid = file
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "net.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        runs = {
            "count": invoke(["count", path, "--json", *domain,
                             *(["--breakpoints"] if listing else [])]),
            "bound": invoke(["bound", path, "--json", *domain]),
            "distance": invoke(["distance", IDENTITY, path, "--domain", "0", "1", "--json"]),
        }
        assert os.listdir(folder) == ["net.json"]
    for name, result in runs.items():
        if invalid:
            assert result.exit_code == 1, (name, text[:300], result.stdout)
            assert "net.json" in result.stderr, (name, result.stderr)
        elif invalid is False:
            assert result.exit_code == 0, (name, text[:300], result.stderr)
    count = runs["count"]
    if count.exit_code == 0:
        ref = reference_of(text)   # pwl accepted it: the reference must read it the same way
        if ref is not None:
            check_count_answer(ref, json.loads(count.stdout))
            bound = json.loads(runs["bound"].stdout)
            with long_integers():
                assert bound["pieces"] == ref.partition(domain_of(bound)).pieces(0)


# -- the fuzz: random arguments ----------------------------------------------------------------

def mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """A good value three times in four, else a bad one."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good),
                     st.sampled_from(bad))


GOOD_NUMBERS = ["0", "1", "-1", "2", "1/2", "-3/7", "0.25", "1e-3", "-0", "+1", " 1 ", "3/3",
                "5", "-2.5"]
BAD_NUMBERS = ["1/0", "nan", "NaN", "inf", "-inf", "Infinity", "1e999999", "-1e999999",
               "9" * 5000, "", " ", "x", "1.2.3", "0x10", "½", "1_0", "[0]", "true", "1e",
               "--json"]
BAD_INTS = ["0", "-1", "x", "", "1.5", "1e1", "--json"]
numbers = mostly(GOOD_NUMBERS, BAD_NUMBERS)
seeds = mostly(["0", "1", "42", str(2**70)], ["-1", "x", ""])
sizes = mostly(["1", "1K", "2G", "512M", "1.5GiB", "1e3", "100"],
               ["0", "-1", "x", "0.5", "", "1/2", "G"])
points = mostly(["[0]", "[1]", "[-2]", '["1/2"]', "[0.5]", "7"],
                ["[0, 1]", "[]", "x", "[NaN]", "[1/2]", "[true]", "[[0]]", "{}", "[1e999999]"])


def maybe(option: str, values: st.SearchStrategy, n: int = 1) -> st.SearchStrategy[list[str]]:
    """Either nothing, or ``option`` followed by ``n`` values."""
    return st.one_of(st.just([]), st.tuples(*[values] * n).map(lambda v: [option, *v]))


def given_(option: str, values: st.SearchStrategy) -> st.SearchStrategy[list[str]]:
    """``option`` and a value, nine times in ten."""
    return st.one_of(*[values.map(lambda v: [option, v])] * 9, st.just([]))


def flag(option: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [option]])


def shuffled(parts: list) -> st.SearchStrategy[list[str]]:
    """The option groups in any order."""
    return st.tuples(*parts).flatmap(
        lambda groups: st.permutations(list(groups)).map(lambda gs: [a for g in gs for a in g]))


@st.composite
def file_argument(draw, folder: str) -> tuple[str, bool]:
    """``(path, valid)``: an example, or a broken file, a missing one, a folder."""
    name = draw(st.one_of(st.sampled_from(GOOD_FILES), st.sampled_from(GOOD_FILES),
                          st.sampled_from(["broken", "missing", "folder", "empty"])))
    if name in GOOD_FILES:
        return str(EXAMPLES / name), True
    path = os.path.join(folder, name + ".json")
    if name == "broken":
        with open(path, "w") as handle:
            handle.write('{"layers": [{"weights": [[1], [2]]}, {"weights": [[1, 2, 3]]}]}')
    elif name == "empty":
        open(path, "w").close()
    elif name == "folder":
        os.mkdir(path)
    return path, False


def output_path(folder: str) -> st.SearchStrategy[str]:
    return mostly([os.path.join(folder, "out.dat")],
                  [os.path.join(folder, "no", "out.dat"), folder, ""])


@st.composite
def command_lines(draw, folder: str) -> tuple[list[str], Optional[str], bool]:
    """``(args, network file or None, whether that file is valid)``."""
    command = draw(st.sampled_from(["count", "bound", "distance", "telgarsky", "separation",
                                    "growth"]))
    path, valid = draw(file_argument(folder))
    domain = maybe("--domain", numbers, 2)
    json_flag = st.sampled_from([[], ["--json"], ["--json"]])
    if command == "count":
        rest = draw(shuffled([domain, json_flag, flag("--breakpoints"), flag("--per-layer"),
                              maybe("--output", mostly(["0", "all"], ["1", "-1", "x", ""])),
                              maybe("--method", mostly(["auto", "enumerate", "compose"], ["x"])),
                              maybe("--max-memory", sizes),
                              maybe("--workers", mostly(["1", "2"], BAD_INTS)),
                              maybe("--line", points, 2)]))
        return ["count", path, *rest], path, valid
    if command == "bound":
        rest = draw(shuffled([domain, json_flag, maybe("--output", mostly(["0"], BAD_INTS))]))
        return ["bound", path, *rest], path, valid
    if command == "distance":
        other = str(EXAMPLES / draw(st.sampled_from(GOOD_FILES)))
        pair = draw(st.sampled_from([[path, other], [other, path]]))
        rest = draw(shuffled([domain, json_flag, maybe("--output", mostly(["0"], BAD_INTS)),
                              maybe("--metric", mostly(["l1", "l2sq", "sup"], ["l3", ""]))]))
        return ["distance", *pair, *rest], path, valid
    if command == "telgarsky":
        rest = draw(shuffled([given_("--depth", mostly(["1", "2", "3", "5"], BAD_INTS)),
                              maybe("--scale", numbers), json_flag,
                              maybe("--save", output_path(folder))]))
        return ["telgarsky", *rest], None, True
    if command == "separation":
        rest = draw(shuffled([
            given_("--depth", mostly(["1", "2", "3", "4"], ["0", "x", "25"])),
            given_("--width", mostly(["1", "2", "3", "5"], BAD_INTS + [str(2**21)])),
            maybe("--layers", mostly(["1", "2"], BAD_INTS)),
            maybe("--competitor", mostly(["interp", "lstsq", "random", "trained"], ["x"])),
            maybe("--seed", seeds), maybe("--steps", mostly(["1", "3"], BAD_INTS)),
            st.sampled_from([[], [], [], ["--sweep"]]),
            st.one_of(st.just([]), st.just([]), st.just([]), maybe("--epsilon", numbers)),
            json_flag, maybe("--save-competitor", output_path(folder))]))
        return ["separation", *rest], None, True
    rest = draw(shuffled([
        maybe("--family", mostly(["triangle", "sawtooth", "random"], ["x"])),
        st.tuples(st.just("--max-depth"), mostly(["1", "2", "3"], BAD_INTS)).map(list),
        maybe("--min-depth", mostly(["1", "2"], BAD_INTS)),
        maybe("--width", mostly(["1", "2", "3"], BAD_INTS)),
        domain, maybe("--seed", seeds),
        maybe("--method", mostly(["auto", "enumerate", "compose"], ["x"])),
        maybe("--csv", output_path(folder)), json_flag]))
    return ["bench", "growth", *rest], None, True


@FUZZ
@given(st.data())
def test_random_arguments(data):
    with tempfile.TemporaryDirectory() as folder:
        args, path, valid = data.draw(command_lines(folder))
        result = invoke(args)
        if path is not None and path in args and not valid:
            assert result.exit_code != 0, args
        leftovers = [n for _, _, names in os.walk(folder) for n in names
                     if n.endswith(".tmp")]
        assert not leftovers, (args, leftovers)
        if result.exit_code == 0 and "--json" in args:
            lines = result.stdout.splitlines()
            payload = json.loads(lines[-1])
            if args[0] == "count" and "--line" not in args and payload.get("output") != "all":
                with open(path) as handle:
                    ref = reference_of(handle.read())
                assert ref is not None
                check_count_answer(ref, payload, payload["output"])
        if result.exit_code == 0:
            for option in ("--save", "--save-competitor", "--csv"):
                if option in args:
                    target = args[args.index(option) + 1]
                    saved = Path(target)
                    assert saved.is_file() and saved.stat().st_size > 0, (args, target)
