"""The doors hold what they promise: the region limit on every route, one
JSON schema per command whatever the flags, labels that name the formula
used, and results that describe themselves."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pwl import function_of, partition2d, propagate
import pwl
from pwl.theory.constructions import telgarsky
from pwl.counting import count_outputs
from pwl.errors import ResourceLimitError
from cli_helpers import run

UNIT = (Fraction(0), Fraction(1))


def float_net(seed: int = 3, widths: tuple[int, ...] = (1, 12, 12, 2)) -> pwl.Network:
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((m, n)) * np.sqrt(2 / n) for n, m in zip(widths, widths[1:])]
    bs = [rng.standard_normal(m) * 0.1 for m in widths[1:]]
    return pwl.Network.from_arrays(ws, bs)


# -- the region limit holds on every route --------------------------------------------------
@pytest.mark.parametrize("method", ["compose", "enumerate", None])
def test_region_limit_on_the_triangle(method: Any) -> None:
    net = telgarsky(10)
    exact = pwl.count(net, UNIT)
    assert exact.activation_regions == 1024
    with pytest.raises(ResourceLimitError, match="1000"):
        pwl.count(net, UNIT, method=method, max_regions=1000, workers=1)
    # the limit itself is allowed
    ok = pwl.count(net, UNIT, method=method, max_regions=1024, workers=1)
    assert (ok.pieces, ok.activation_regions) == (exact.pieces, exact.activation_regions)


def test_region_limit_when_chunked() -> None:
    net = telgarsky(12)
    with pytest.raises(ResourceLimitError, match="activation regions"):
        pwl.count(net, UNIT, method="enumerate", max_regions=1000, max_memory=2**17,
                  workers=1)


def test_region_limit_on_the_certified_route() -> None:
    net = float_net()
    exact = pwl.count(net, (-4, 4), method="enumerate")
    assert exact.activation_regions is not None and exact.activation_regions > 3
    cert = pwl.count(net, (-4, 4), method="certified")
    assert cert.activation_regions == exact.activation_regions
    with pytest.raises(ResourceLimitError):
        pwl.count(net, (-4, 4), method="certified", max_regions=exact.activation_regions - 1)
    with pytest.raises(ResourceLimitError):
        count_outputs(net, (-4, 4), max_regions=exact.activation_regions - 1)
    assert count_outputs(net, (-4, 4), max_regions=exact.activation_regions).pieces == \
        tuple(pwl.count(net, (-4, 4), output=k).pieces for k in range(2))


def test_region_limit_on_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t12.json"
    telgarsky(12).save(path)
    for extra in (["--method", "enumerate", "--workers", "1"], [],
                  ["--method", "enumerate", "--max-memory", "200K", "--workers", "1"]):
        result = run(runner, "count", str(path), "--domain", "0", "1", "--max-regions", "1000",
                     *extra)
        assert result.exit_code == 1, (extra, result.stdout)
        assert "--max-regions" in result.stderr and len(result.stderr.splitlines()) == 1


def test_region_limit_along_a_line(runner: CliRunner, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    net = pwl.Network.from_arrays([rng.standard_normal((16, 6)), rng.standard_normal((1, 16))],
                                  [rng.standard_normal(16), np.zeros(1)])
    path = tmp_path / "mlp.json"
    net.save(path)
    a, b = json.dumps([-3] * 6), json.dumps([3, 2, 1, -1, -2, -3])
    full = run(runner, "count", str(path), "--line", a, b, "--json")
    assert full.exit_code == 0, full.stderr
    regions = json.loads(full.stdout)["activation_regions"]
    assert regions > 2
    for output in ("0", "all"):
        stopped = run(runner, "count", str(path), "--line", a, b, "--output", output,
                      "--max-regions", str(regions - 1))
        assert stopped.exit_code == 1 and "--max-regions" in stopped.stderr, stopped.stdout


# -- one JSON schema for count, whatever the flags -----------------------------------------
COUNT_KEYS = {"network", "line", "domain", "depth", "widths", "output", "pieces",
              "pieces_per_output", "activation_regions", "method", "decisions", "chunks",
              "breakpoints", "layers", "saved", "figure"}


def test_count_json_keys_do_not_depend_on_the_flags(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t4.json"
    telgarsky(4).save(path)
    two = tmp_path / "two.json"
    float_net().save(two)
    seen = []
    for net, extra in ((path, []), (path, ["--breakpoints"]), (path, ["--per-layer"]),
                       (path, ["--method", "compose"]), (two, ["--output", "all"]),
                       (two, ["--output", "1"]), (two, ["--method", "certified"])):
        result = run(runner, "count", str(net), "--domain", "0", "1", "--json", *extra)
        assert result.exit_code == 0, (extra, result.stderr)
        payload = json.loads(result.stdout)
        assert set(payload) == COUNT_KEYS, extra
        assert isinstance(payload["pieces"], int), extra
        seen.append(payload)
    plain, listed, layered = seen[0], seen[1], seen[2]
    assert plain["breakpoints"] is None and plain["layers"] is None
    f = function_of(telgarsky(4), UNIT)
    assert [Fraction(b) for b in listed["breakpoints"]] == list(f.breakpoints)
    assert [row["activation_regions"] for row in layered["layers"]] == [2, 4, 8, 16]
    every = seen[4]
    net2 = float_net()
    part = propagate(net2, UNIT)
    assert every["output"] == "all" and every["pieces"] == part.joint_pieces()
    assert every["pieces_per_output"] == [part.pieces(0), part.pieces(1)]
    assert seen[5]["pieces"] == part.pieces(1) and seen[5]["pieces_per_output"] is None


def test_count_result_to_dict_is_the_command_schema(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t3.json"
    telgarsky(3).save(path)
    result = run(runner, "count", str(path), "--domain", "0", "1", "--json", "--per-layer")
    payload = json.loads(result.stdout)
    lib = pwl.count(telgarsky(3), UNIT, per_layer=True).to_dict()
    assert {"network": str(path), "line": None, **lib, "saved": None, "figure": None} == payload


# -- figures use the count's own result ---------------------------------------------------
def test_count_plot_refuses_what_it_cannot_draw(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t40.json"
    telgarsky(40).save(path)
    counted = run(runner, "count", str(path), "--domain", "0", "1", "--json")
    assert json.loads(counted.stdout)["pieces"] == 2**40
    out = tmp_path / "t40.png"
    result = run(runner, "count", str(path), "--domain", "0", "1", "--plot", str(out))
    assert result.exit_code == 1 and "--plot" in result.stderr
    assert not out.exists()


def test_count_plot_draws_the_counted_function(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "t5.json"
    telgarsky(5).save(path)
    out = tmp_path / "t5.svg"
    result = run(runner, "count", str(path), "--domain", "0", "1", "--plot", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pieces"] == 32 and out.stat().st_size > 0
    assert str(out) in result.stderr


# -- labels that name the formula used ----------------------------------------------------
def one_unit(activation: str) -> pwl.Network:
    return pwl.Network.sequential([([[1]], [0], activation), ([[1]], [0], "identity")])


@pytest.mark.parametrize("activation, lecture, one_input, kinks", [
    ("relu", "2^D prod n_d", "prod (n_d + 1)", 1),
    ("hardtanh", "3^D prod n_d", "prod (2 n_d + 1)", 2),
    ("relu6", "3^D prod n_d", "prod (2 n_d + 1)", 2),
    ("abs", "2^D prod n_d", "prod (n_d + 1)", 1),
])
def test_bound_names_the_formula_it_evaluates(runner: CliRunner, tmp_path: Path,
                                              activation: str, lecture: str, one_input: str,
                                              kinks: int) -> None:
    net = one_unit(activation)
    path = tmp_path / "one.json"
    net.save(path)
    payload = json.loads(run(runner, "bound", str(path), "--json").stdout)
    assert payload["formula_lecture"] == lecture and payload["formula_one_input"] == one_input
    # the formula, evaluated by hand for one unit, is the bound printed
    assert payload["bound_lecture"] == (kinks + 1) * 1
    assert payload["bound_one_input"] == kinks * 1 + 1
    text = run(runner, "bound", str(path)).stdout
    assert f"bound {lecture} " in text and f"bound {one_input} " in text


def test_bound_formula_for_mixed_activations() -> None:
    from pwl.theory.bounds import check_bounds

    net = pwl.Network.sequential([([[1], [2]], [0, -1], "hardtanh"), ([[1, 1]], [0], "relu"),
                                  ([[1]], [0], "identity")])
    r = check_bounds(net)
    assert (r.formula_lecture, r.formula_one_input) == ("prod_d (m_d + 1) n_d",
                                                        "prod (m_d n_d + 1)")
    assert r.bound_lecture == (3 * 2) * (2 * 1) and r.bound_one_input == (2 * 2 + 1) * (1 + 1)
    assert r.pieces <= r.bound_one_input


# -- separation: a k-layer competitor uses its depth; negative bounds are vacuous ----------
@pytest.mark.parametrize("name", ["interp", "lstsq"])
def test_deeper_competitors_have_more_pieces(name: str) -> None:
    from pwl.theory.separation import separation

    kappas = []
    for layers in (1, 2, 3):
        r = separation(8, 3, layers, name)
        assert r.network.widths == (3,) * layers
        assert r.kappa_g == pwl.count(r.network, UNIT).pieces      # counted by the engine
        kappas.append(r.kappa_g)
        assert r.holds
    assert kappas[0] < kappas[1] < kappas[2], kappas


def test_a_competitor_that_equals_f_makes_the_bounds_vacuous(runner: CliRunner) -> None:
    from pwl.theory.constructions import telgarsky as tri
    from pwl.theory.distances import distance

    result = run(runner, "separation", "-D", "3", "-n", "2", "-k", "3", "--json")
    payload = json.loads(result.stdout)["rows"][0]
    assert payload["l1"] == "0"        # tri^3 = tri o tri o tri, each layer exact at width 2
    from pwl.theory.separation import competitor
    g = competitor("interp", 3, 2, 3)
    assert distance(tri(3, 16), g, UNIT) == 0
    assert "kappa_g" not in payload and payload["pieces_competitor"] == 8
    assert payload["vacuous"] == ["bound_arch_lecture", "bound_arch_one_input"]
    assert payload["bound_arch_lecture"] is None and payload["bound_lecture"] == "0"
    text = run(runner, "separation", "-D", "3", "-n", "2", "-k", "3").stdout
    assert "vacuous" in text and "-" not in text.split("1 - 2^k prod n / 2^D")[1].split("\n")[0]


# -- floats refused with routes that work --------------------------------------------------
def test_numpy_float_error_names_real_routes() -> None:
    with pytest.raises(pwl.PWLTypeError) as info:
        pwl.Network.sequential([([[np.float64(0.1)]], [0])])
    message = str(info.value)
    assert "np.float64" not in message and "'0.1'" in message
    assert "from_arrays" in message and "limit_denominator" not in message
    net = pwl.Network.from_arrays([np.array([[0.1]])], [np.zeros(1)])
    assert net.layers[0].weights[0][0] == Fraction(0.1)     # the exact binary value


# -- the command line, as click intends ----------------------------------------------------
@pytest.mark.parametrize("args", [[], ["approx"], ["bench"]])
def test_a_group_without_a_command_prints_its_help(runner: CliRunner, args: list) -> None:
    result = run(runner, *args)
    text = result.stdout + result.stderr
    assert "Usage:" in text and "Commands:" in text
    assert "usage error" not in text and len(text.splitlines()) > 5


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "t14.json"
    telgarsky(14).save(path)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "count", str(path), "--domain",
                             "0", "1", "--breakpoints"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()                     # what `| head -1` does
    err = proc.stderr.read().decode()
    status = proc.wait(timeout=120)
    assert first.startswith(b"network")
    assert err == "" and status in (0, 1), (status, err)


@pytest.mark.parametrize("command", [["count"], ["bound"], ["export", "--to", "csv"],
                                     ["plot", "-o", "{out}"], ["distance", "{net}"]])
def test_every_command_that_reads_a_network_takes_format(runner: CliRunner, tmp_path: Path,
                                                         command: list) -> None:
    if command[0] == "plot":
        pytest.importorskip("matplotlib")
    path = tmp_path / "t3.network"
    telgarsky(3).save(tmp_path / "t3.json")
    path.write_text((tmp_path / "t3.json").read_text())
    args = [a.format(out=tmp_path / "f.png", net=path) for a in command]
    refused = run(runner, args[0], str(path), *args[1:])
    assert refused.exit_code == 1
    assert "'.network'" in refused.stderr and "json: .json" in refused.stderr
    assert "--format" in refused.stderr and len(refused.stderr.splitlines()) == 1
    ok = run(runner, args[0], str(path), *args[1:], "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    before = run(runner, "--format", "json", args[0], str(path), *args[1:])
    assert before.exit_code == 0 and before.stdout == ok.stdout
    # the format of one command line does not leak into the next
    assert run(runner, args[0], str(path), *args[1:]).exit_code == 1


def test_a_missing_file_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    for command in (["count"], ["bound"], ["export", "--to", "json"], ["plot", "-o", "f.png"]):
        result = run(runner, command[0], str(tmp_path / "missing.json"), *command[1:])
        assert result.exit_code == 1 and "no such file" in result.stderr


# -- a numpy-friendly API -------------------------------------------------------------------
def test_vectorised_float_evaluation_matches_the_exact_function() -> None:
    f = function_of(telgarsky(6, 16), UNIT)
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.random(500), [0.0, 1.0], [float(b) for b in f.breakpoints]])
    values = f(xs)
    assert values.dtype == np.float64 and values.shape == xs.shape
    exact = [f(Fraction(float(x))) for x in xs]         # at the exact binary value of x
    err = np.abs(values - np.array([float(v) for v in exact]))
    assert err.max() <= 1e-12 * 16, err.max()
    with pytest.raises(pwl.DomainError):
        f(np.array([0.5, 1.0 + 2**-50]))
    with pytest.raises(pwl.PWLTypeError):
        f(0.5)                          # one float: exact evaluation needs an exact number
    whole = pwl.PiecewiseLinear.affine(1).relu()
    assert whole(np.arange(3)).tolist() == [0.0, 1.0, 2.0]


def test_pieces_are_named_tuples() -> None:
    f = pwl.PiecewiseLinear.from_points([0, "1/2", 1], [0, 1, 0])
    first, second = f.pieces()
    assert (first.lo, first.hi, first.slope, first.intercept) == (0, Fraction(1, 2), 2, 0)
    lo, hi, slope, intercept = second
    assert (lo, hi, slope, intercept) == (Fraction(1, 2), 1, -2, 2)
    assert repr(second) == "Piece(lo=1/2, hi=1, slope=-2, intercept=2)"
    assert all(p.slope * p.hi + p.intercept == f(p.hi) for p in f.pieces())


def test_operators_return_not_implemented_for_unknown_types() -> None:
    f = pwl.PiecewiseLinear.from_points([0, 1], [0, 1])

    class Other:
        def __radd__(self, other: object) -> str:
            return "other's add"

        def __rmul__(self, other: object) -> str:
            return "other's mul"

    assert f + Other() == "other's add" and f * Other() == "other's mul"
    for op in (lambda: f + [1], lambda: f - {}, lambda: [1] * f, lambda: f / object()):
        with pytest.raises(TypeError):
            op()
    assert (f * np.int64(3))(1) == 3 and (2 + f)(1) == 3 and (f - "1/2")(0) == Fraction(-1, 2)
    with pytest.raises(pwl.PWLTypeError):
        f * 0.5


def test_evaluate_takes_numpy_floats_at_their_exact_value() -> None:
    net = float_net()
    x = np.array([0.1])
    assert net.evaluate(x) == net.evaluate([Fraction(0.1)])
    many = pwl.Network.from_arrays([np.array([[0.5, -0.25, 1.0]])], [np.zeros(1)])
    assert many.evaluate(np.array([0.1, 0.2, 0.3])) == \
        (Fraction(0.1) / 2 - Fraction(0.2) / 4 + Fraction(0.3),)


def test_count_line_save_writes_the_restriction(runner: CliRunner, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    net = pwl.Network.from_arrays([rng.standard_normal((8, 5)), rng.standard_normal((2, 8))],
                                  [rng.standard_normal(8), np.zeros(2)])
    path, saved = tmp_path / "m5.json", tmp_path / "line.json"
    net.save(path)
    a, b = "[0, 0, 0, 0, 0]", "[1, 2, 3, 4, 5]"
    result = run(runner, "count", str(path), "--line", a, b, "--save", str(saved), "--json")
    assert result.exit_code == 0 and str(saved) in result.stderr
    line = pwl.load(saved)
    assert line.input_size == 1
    for t in (Fraction(0), Fraction(1, 3), Fraction(1)):
        assert line.evaluate([t]) == net.evaluate([t * k for k in range(1, 6)])
    again = json.loads(run(runner, "count", str(saved), "--domain", "0", "1", "--json").stdout)
    assert again["pieces"] == json.loads(result.stdout)["pieces"]
    refused = run(runner, "count", str(path), "--save", str(tmp_path / "x.json"))
    assert refused.exit_code == 2 and "--line" in refused.stderr


def test_file_options_say_where_they_wrote(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t3.json"
    telgarsky(3).save(path)
    out = tmp_path / "t3.csv"
    result = run(runner, "export", str(path), "--to", "csv", "--domain", "0", "1", "-o", str(out))
    assert result.exit_code == 0 and str(out) in result.stderr and out.read_text()
    help_text = run(runner, "plot", "--help").stdout
    assert "-o, --out FILE" in help_text and "--output-file" not in help_text


def test_hat_integrals_against_pointwise_simpson() -> None:
    from pwl.theory.separation import _hat_integrals

    rng = np.random.default_rng(7)
    for _ in range(20):
        xs_f = sorted({Fraction(int(v), 64) for v in rng.integers(1, 64, 6)} | {Fraction(0),
                                                                                Fraction(1)})
        f = pwl.PiecewiseLinear.from_points(xs_f, [Fraction(int(v), 7)
                                                   for v in rng.integers(-9, 9, len(xs_f))])
        knots = sorted({Fraction(int(v), 24) for v in rng.integers(1, 24, 4)} | {Fraction(0),
                                                                                 Fraction(1)})
        got = _hat_integrals(f, knots)
        for i in range(len(knots)):
            hat = pwl.PiecewiseLinear.from_points(knots, [int(i == j) for j in range(len(knots))])
            points = sorted(set(f.breakpoints) | set(hat.breakpoints) | {Fraction(0), Fraction(1)})
            want = sum(((b - a) * (f(a) * hat(a) + 4 * f((a + b) / 2) * hat((a + b) / 2)
                                   + f(b) * hat(b)) / 6 for a, b in zip(points, points[1:])),
                       Fraction(0))
            assert got[i] == want


def test_long_steps_report_progress(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import pwl.theory.separation as module

    real = module.separation

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.8)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "separation", slow)
    shown = run(runner, "separation", "-D", "2", "--sweep", "--progress")
    assert shown.exit_code == 0
    assert "width 2 (2 of 3): the interp competitor" in shown.stderr, shown.stderr
    assert "s so far" in shown.stderr
    quiet = run(runner, "separation", "-D", "2", "--sweep", "--no-progress")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == shown.stdout


# -- figures that teach ---------------------------------------------------------------------
def test_figures_in_pdf(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from pwl.present.plot import plot_function

    out = tmp_path / "tri.pdf"
    plot_function(function_of(telgarsky(3), UNIT), out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"CreationDate" not in data


def test_a_dense_function_is_drawn_as_its_envelope(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import pwl.present.plot as plot

    monkeypatch.setattr(plot, "DRAW_VERTICES", 500)
    f = function_of(telgarsky(10), UNIT)
    fig = plot.plot_function(f, tmp_path / "dense.png")
    main, zoom = fig.axes
    assert main.get_title() == "κ(f) = 1,024 pieces on [0, 1]"     # the count, unthinned
    notes = [t.get_text() for t in main.texts]
    assert any("envelope" in t and "1,025 vertices" in t and "exact" in t for t in notes)
    # the envelope spans every value of f: 0 to 1 in every column
    band = [c for c in main.collections if c.get_gid() == "function"][0]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 0.0 and ys.max() == 1.0
    assert "first 32 pieces" in zoom.get_title()
    line = [ln for ln in zoom.lines if ln.get_gid() == "zoom"][0]
    assert len(line.get_xdata()) == 33


def test_separation_figure_for_one_width(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from pwl.present.plot import plot_separation
    from pwl.theory.separation import separation

    r = separation(3, 2, 3)
    fig = plot_separation([r], tmp_path / "one.svg")
    ax = fig.axes[0]
    gids = {ln.get_gid() for ln in ax.lines} | {c.get_gid() for c in ax.collections}
    assert {"f", "g", "gap"} <= gids
    box = [t.get_text() for t in ax.texts if t.get_gid() == "bounds"][0]
    assert "int |f - g| = 0" in box and box.count("vacuous (below 0)") == 2
    assert f"κ(g) = {r.kappa_g}" in ax.get_title()


def test_count_plot_title_has_one_kappa(runner: CliRunner, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import pwl.present.plot as plot

    titles = []
    real = plot.plot_function

    def spy(*args: Any, **kwargs: Any) -> Any:
        fig = real(*args, **kwargs)
        titles.append(fig.axes[0].get_title())
        return fig

    monkeypatch.setattr(plot, "plot_function", spy)
    path = tmp_path / "t3.json"
    telgarsky(3).save(path)
    out = tmp_path / "t3.svg"
    assert run(runner, "count", str(path), "--domain", "0", "1", "--plot", str(out)).exit_code == 0
    assert len(titles) == 1 and out.stat().st_size > 0
    assert titles[0].count("κ") == 1 and "kappa" not in titles[0] and str(path) in titles[0]


# -- deterministic limits and routes --------------------------------------------------------
def test_file_limit_follows_the_environment(runner: CliRunner, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t3.json"
    telgarsky(3).save(path)
    size = path.stat().st_size
    monkeypatch.setenv("PWL_MAX_FILE_BYTES", str(size - 1))
    refused = run(runner, "count", str(path))
    assert refused.exit_code == 1
    assert f"file is {size} bytes, over the limit of {size - 1} (PWL_MAX_FILE_BYTES)" in \
        refused.stderr
    with pytest.raises(pwl.NetworkFormatError):
        pwl.load(path)
    monkeypatch.setenv("PWL_MAX_FILE_BYTES", str(size))
    assert run(runner, "count", str(path)).exit_code == 0
    for junk in ("", "0", "-5", "lots"):        # not a positive integer: the default
        monkeypatch.setenv("PWL_MAX_FILE_BYTES", junk)
        assert run(runner, "count", str(path)).exit_code == 0, junk


@pytest.mark.parametrize("kind", ["integers", "floats"])
def test_output_all_on_both_routes(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(4)
    if kind == "integers":
        net = pwl.Network.sequential([(rng.integers(-3, 4, (7, 1)).tolist(), [1] * 7),
                                      (rng.integers(-3, 4, (7, 7)).tolist(), [0] * 7),
                                      (rng.integers(-3, 4, (3, 7)).tolist(), [0] * 3, "identity")])
        route = "enumerate"
    else:
        net = float_net(9, (1, 9, 9, 3))
        route = "certified"
    path = tmp_path / "net.json"
    net.save(path)
    result = run(runner, "count", str(path), "--domain", "-3", "3", "--output", "all", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    part = propagate(net, (-3, 3))
    assert payload["method"] == route
    assert payload["pieces_per_output"] == [part.pieces(k) for k in range(3)]
    assert payload["pieces"] == part.joint_pieces()
    assert payload["activation_regions"] == part.activation_regions
    singles = [json.loads(run(runner, "count", str(path), "--domain", "-3", "3", "--output",
                              str(k), "--json").stdout)["pieces"] for k in range(3)]
    assert singles == payload["pieces_per_output"]


def test_restrict_to_line_takes_numpy_points() -> None:
    rng = np.random.default_rng(12)
    net = pwl.Network.from_arrays([rng.standard_normal((9, 12)), rng.standard_normal((2, 9))],
                                  [rng.standard_normal(9), np.zeros(2)])
    a, b = rng.random(12), rng.random(12)
    by_array = pwl.restrict_to_line(net, a, b)
    by_image = pwl.restrict_to_line(net, a.reshape(3, 4), b.reshape(3, 4))
    exact = pwl.restrict_to_line(net, [Fraction(x) for x in a.tolist()],
                                 [Fraction(x) for x in b.tolist()])
    for t in (Fraction(0), Fraction(2, 7), Fraction(1)):
        want = net.evaluate([Fraction(x) + t * (Fraction(y) - Fraction(x))
                             for x, y in zip(a.tolist(), b.tolist())])
        assert by_array.evaluate([t]) == by_image.evaluate([t]) == exact.evaluate([t]) == want
    assert pwl.count(by_array, UNIT).pieces == pwl.count(exact, UNIT, method="enumerate").pieces
    ints = pwl.restrict_to_line(net, np.zeros(12, dtype=np.int64), np.arange(12))
    assert ints.evaluate([Fraction(1, 2)]) == net.evaluate([Fraction(k, 2) for k in range(12)])
    with pytest.raises(pwl.PWLValueError, match="same point"):
        pwl.restrict_to_line(net, a, a.copy())
    with pytest.raises(pwl.PWLValueError, match="12 coordinates"):
        pwl.restrict_to_line(net, a[:5], b)
    with pytest.raises(pwl.PWLValueError, match="nan"):
        pwl.restrict_to_line(net, np.full(12, np.nan), b)


def test_a_figure_to_standard_output(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    for args in (["plot", "examples/telgarsky-3.json", "--domain", "0", "1", "-o", "-"],
                 ["count", "examples/telgarsky-3.json", "--domain", "0", "1", "--plot", "-"]):
        done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args],
                              cwd=root,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(b"\x89PNG\r\n\x1a\n"), args      # only the figure
        assert b"pieces" in done.stderr                                  # the report


def test_plot_draws_the_plane_with_box(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    net = pwl.Network.sequential([([[1, 0], [0, 1], [1, 1]], [0, 0, -1]),
                                  ([[1, -1, 1]], [0], "identity")])
    path, out = tmp_path / "two.json", tmp_path / "two.svg"
    net.save(path)
    result = run(runner, "plot", str(path), "--box", "-2", "2", "-2", "2", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    regions = partition2d(net, box=(-2, 2, -2, 2)).num_regions
    assert f"regions             {regions}" in result.stdout and out.stat().st_size > 0
    refused = run(runner, "plot", str(path), "--box", "-2", "2", "-2", "2", "-o", str(out),
                  "--layers")
    assert refused.exit_code == 2 and "--layers" in refused.stderr
